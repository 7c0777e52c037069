/* SPDX-License-Identifier: ISC */
/* Pieces both roles of a negotiation use: reading form values, the keys
 * of each identity, the first <c> of msg3 / msg4, and the trace. */
#include "ol_session.h"

#include "../crypto/base64.h"

#include <stdlib.h>
#include <string.h>

const char *ol_value(const es_form *f, const char *var, int *multi)
{
    const es_form_field *fd = es_form_find(f, var);
    *multi = 0;
    if (fd == NULL)
        return NULL;
    if (fd->n_values != 1) {
        *multi = 1;
        return NULL;
    }
    return fd->values[0];
}

esession_status ol_b64_field(esession_ctx *ctx, const es_form *f, const char *var, uint8_t *out,
                             size_t cap, size_t *len)
{
    int multi = 0;
    const char *v = ol_value(f, var, &multi);
    if (v == NULL)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "field %s %s", var,
                       multi ? "has not exactly one value" : "is missing");
    size_t n = strlen(v), max = es_base64_decoded_max(n);
    uint8_t *tmp = malloc(max == 0 ? 1 : max);
    if (tmp == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    esession_status rc = es_base64_decode(tmp, max, len, v, n);
    if (rc != ESESSION_OK || *len > cap) {
        free(tmp);
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "field %s: %s", var,
                       rc != ESESSION_OK ? "not base64" : "too long");
    }
    memcpy(out, tmp, *len);
    free(tmp);
    return ESESSION_OK;
}

esession_status ol_b64_field_buf(esession_ctx *ctx, const es_form *f, const char *var,
                                 esession_buf *out)
{
    int multi = 0;
    const char *v = ol_value(f, var, &multi);
    if (v == NULL)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "field %s %s", var,
                       multi ? "has not exactly one value" : "is missing");
    size_t n = strlen(v);
    esession_buf b = {NULL, 0, 0};
    esession_status rc = es_buf_alloc(&b, es_base64_decoded_max(n), 0);
    if (rc != ESESSION_OK)
        return es_fail(ctx, rc, "out of memory");
    rc = es_base64_decode((uint8_t *)b.data, b.len + 1, &b.len, v, n);
    if (rc != ESESSION_OK) {
        esession_buf_free(&b);
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "field %s: not base64", var);
    }
    *out = b;
    return ESESSION_OK;
}

int ol_bool(const char *v)
{
    if (v == NULL)
        return -1;
    if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
        return 1;
    if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
        return 0;
    return -1;
}

esession_status ol_check_form_type(esession_ctx *ctx, const es_form *f)
{
    int multi = 0;
    const char *v = ol_value(f, "FORM_TYPE", &multi);
    if (v == NULL || strcmp(v, ES_OL_FORM_TYPE) != 0)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "FORM_TYPE is not %s", ES_OL_FORM_TYPE);
    return ESESSION_OK;
}

char *ol_b64(const uint8_t *v, size_t n)
{
    char *out = malloc(es_base64_encoded_len(n) + 1);
    if (out != NULL)
        es_base64_encode(out, v, n);
    return out;
}

void ol_id_keys(const es_ol *s, const es_session_keys *keys, int alice, es_ol_id_keys *out)
{
    out->sign = s->sign;
    out->sign_arg = s->sign_arg;
    out->hash = keys->suite.hash;
    out->ks = alice ? keys->ks_a : keys->ks_b;
    out->ks_len = keys->k_len;
    out->dir = alice ? &keys->a : &keys->b;
}

const esession_key *ol_my_key(const es_ol *s, esession_key_type type)
{
    for (size_t i = 0; i < s->n_my_keys; i++)
        if (esession_key_get_type(s->my_keys[i]) == type && esession_key_has_private(s->my_keys[i]))
            return s->my_keys[i];
    return NULL;
}

void ol_id_peer(const es_ol *s, es_ol_id_peer *p)
{
    memset(p, 0, sizeof *p);
    p->sign_type = s->choice.sign_type;
    p->stored = (const esession_key *const *)s->trusted;
    p->n_stored = s->n_trusted;
    p->trusted = s->trust;
    p->trust_arg = s->trust_arg;
    p->require_trust = s->variant == 3;
}

static void peer_opened(es_ol *s, esession_key *key, int trusted)
{
    s->has_peer_status = 1;
    s->peer_trusted = trusted;
    /* 4-message: an untrusted key or none is confirmed by a verified chain
     * of retained secrets or, later, by the SAS (§12.5). */
    s->peer_verified = trusted || (s->has_srs && s->srs_verified);
    if (key != NULL && esession_key_fingerprint(NULL, key, s->peer_fp) == ESESSION_OK)
        s->has_peer_fp = 1;
}

esession_status ol_first_c(es_ol *s, const char *content, size_t content_len,
                           esession_buf *c_out)
{
    es_ol_seal_in in;
    memset(&in, 0, sizeof in);
    in.m = (const uint8_t *)content;
    in.m_len = content_len;
    es_ol_trace *t = ol_trace(s);
    esession_status rc = es_ol_stream_seal(s->ctx, s->st, &in, NULL, NULL,
                                           t != NULL ? &t->c : NULL, c_out);
    if (rc == ESESSION_OK && t != NULL)
        t->has_c = 1;
    return rc;
}

void ol_trace_keys(es_ol *s, const es_session_keys *k, int provisory)
{
    es_ol_trace *t = ol_trace(s);
    if (t == NULL)
        return;
    t->k_len = k->k_len;
    if (provisory) {
        t->prov = *k;
        t->has_prov = 1;
    } else {
        t->keys = *k;
        t->has_keys = 1;
    }
}

uint32_t ol_decimal(const char *v)
{
    uint64_t n = 0;
    if (v == NULL || v[0] == '\0' || strlen(v) > 10)
        return 0;
    for (const char *p = v; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        n = n * 10 + (uint64_t)(*p - '0');
    }
    return n > UINT32_MAX ? 0 : (uint32_t)n;
}

void ol_fail(es_ol *s, es_ol_result *res, esession_status code, const char *cond,
             const char *const *fields, size_t n_fields)
{
    res->kind = ES_OL_R_ERROR;
    res->error = code;
    if (cond != NULL)
        (void)ol_error_reply(s, cond, fields, n_fields, &res->reply);
    ol_destroy_keys(s);
    s->state = ES_OL_FAILED;
    s->await = OL_AWAIT_NONE;
}

const char *ol_keep(ol_strs *k, char *v)
{
    if (v == NULL || k->n == ES_ARRAY_LEN(k->v)) {
        free(v);
        return NULL;
    }
    k->v[k->n++] = v;
    return v;
}

void ol_strs_free(ol_strs *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->v[i]);
    k->n = 0;
}

esession_status ol_nego_stanza(es_ol *s, const char *wrapper, const char *ns,
                               const char *form_type, const es_ol_fdef *f, size_t n, int amp,
                               const esession_buf *c, esession_buf *out)
{
    es_sb b;
    es_sb_init(&b, ES_XML_MAX_BYTES, 0);
    es_ol_put_head(&b, s->my_jid, s->peer_jid, NULL, s->thread);
    es_sb_puts(&b, "\n  <");
    es_sb_puts(&b, wrapper);
    es_sb_puts(&b, " xmlns='");
    es_sb_puts(&b, ns);
    es_sb_puts(&b, "'>");
    es_ol_put_form(&b, form_type, f, n);
    es_sb_puts(&b, "</");
    es_sb_puts(&b, wrapper);
    es_sb_puts(&b, ">");
    if (amp)
        es_sb_puts(&b, "\n  <amp xmlns='" ES_OL_NS_AMP "' per-hop='true'><rule action='drop' "
                       "condition='deliver' value='stored'/></amp>");
    if (c != NULL && c->data != NULL) {
        es_sb_puts(&b, "\n  ");
        es_sb_put(&b, c->data, c->len);
    }
    es_sb_puts(&b, "\n</message>");
    esession_status rc = es_sb_finish(&b, out);
    if (rc != ESESSION_OK)
        return es_fail(s->ctx, rc, "cannot write a negotiation message");
    return ESESSION_OK;
}

esession_status ol_fields_normalized(es_ol *s, const char *form_type, const es_ol_fdef *f, size_t n,
                                     const char *const *excl, size_t n_excl, esession_buf *out)
{
    es_sb b;
    esession_buf form = {NULL, 0, 0};
    es_sb_init(&b, ES_XML_MAX_BYTES, 0);
    es_ol_put_form(&b, form_type, f, n);
    esession_status rc = es_sb_finish(&b, &form);
    if (rc != ESESSION_OK)
        return es_fail(s->ctx, rc, "cannot write a form");
    rc = es_ol_form_normalized(s->ctx, form.data, form.len, excl, n_excl, out);
    esession_buf_free(&form);
    return rc;
}

esession_status ol_open_identity(es_ol *s, const es_session_keys *keys, int peer_is_alice,
                                 const esession_buf *form2, const uint8_t *c_x,
                                 const esession_buf *idx, const uint8_t *mx, size_t mx_len,
                                 uint8_t *ctr_after)
{
    es_ol_id_keys ik;
    es_ol_id_peer peer;
    uint8_t mac_x[ES_HASH_MAX_BYTES], c[ES_AES_BLOCK];
    esession_key *key = NULL;
    int trusted = 0;
    es_ol_mac_in mi;

    ol_id_keys(s, keys, peer_is_alice, &ik);
    ol_id_peer(s, &peer);
    if (peer_is_alice)
        mi = (es_ol_mac_in){s->n_b, s->n_b_len, s->n_a, s->n_a_len, (const uint8_t *)s->e.data,
                            s->e.len, s->form_a.data, s->form_a.len, NULL, 0};
    else
        mi = (es_ol_mac_in){s->n_a, s->n_a_len, s->n_b, s->n_b_len, (const uint8_t *)s->d.data,
                            s->d.len, s->form_b.data, s->form_b.len, NULL, 0};
    if (form2 != NULL) {
        mi.form2 = form2->data;
        mi.form2_len = form2->len;
    }
    memcpy(c, c_x, ES_AES_BLOCK);
    esession_status rc = es_ol_id_open(s->ctx, &ik, peer_is_alice ? s->choice.init_pk
                                                                  : s->choice.resp_pk,
                                       &peer, &mi, c, (const uint8_t *)idx->data, idx->len, mx,
                                       mx_len, &key, &trusted, mac_x, ctr_after);
    sodium_memzero(mac_x, sizeof mac_x);
    if (rc != ESESSION_OK)
        return rc;
    peer_opened(s, key, trusted);
    esession_key_free(key);
    return ESESSION_OK;
}

esession_status ol_store_new_rs(es_ol *s, const uint8_t *k, int keep_candidate)
{
    size_t hl = es_hash_size(s->choice.suite.hash);
    es_ol_rs_op op;
    memset(&op, 0, sizeof op);
    op.kind = ES_OL_RS_STORE;
    op.len = hl;
    esession_status rc = es_ol_new_rs(s->choice.suite.hash, k, hl, op.rs);
    if (rc == ESESSION_OK) {
        memcpy(s->new_rs, op.rs, hl);
        s->has_new_rs = 1;
        op.has_srs = s->has_srs;
        memcpy(op.srs, s->srs, hl);
        op.keep_candidate = keep_candidate;
        op.verified = s->has_srs && s->srs_verified;
        op.created = s->now;
        snprintf(op.client, sizeof op.client, "%s", s->peer_jid);
        rc = ol_rs_op(s, &op);
    }
    sodium_memzero(&op, sizeof op);
    es_ol_trace *t = ol_trace(s);
    if (rc == ESESSION_OK && t != NULL) {
        memcpy(t->new_rs, s->new_rs, hl);
        t->has_new_rs = 1;
    }
    return rc;
}

esession_status ol_seal_identity(es_ol *s, const es_session_keys *keys, const esession_buf *form2,
                                 const uint8_t *c_x, es_ol_id_out *id)
{
    int alice = s->role == ES_OL_ALICE;
    es_ol_id_keys ik;
    es_ol_mac_in mi;
    ol_id_keys(s, keys, alice, &ik);
    if (alice)
        mi = (es_ol_mac_in){s->n_b, s->n_b_len, s->n_a, s->n_a_len, (const uint8_t *)s->e.data,
                            s->e.len, s->form_a.data, s->form_a.len, NULL, 0};
    else
        mi = (es_ol_mac_in){s->n_a, s->n_a_len, s->n_b, s->n_b_len, (const uint8_t *)s->d.data,
                            s->d.len, s->form_b.data, s->form_b.len, NULL, 0};
    if (form2 != NULL) {
        mi.form2 = form2->data;
        mi.form2_len = form2->len;
    }
    esession_status rc = es_ol_id_seal(s->ctx, &ik, alice ? s->choice.init_pk : s->choice.resp_pk,
                                       ol_my_key(s, s->choice.sign_type), &mi, c_x, id);
    es_ol_trace *t = ol_trace(s);
    if (rc == ESESSION_OK && t != NULL) {
        memcpy(alice ? t->mac_a : t->mac_b, id->mac_x, id->mac_len);
        memcpy(alice ? t->ma : t->mb, id->mx, id->mac_len);
        (void)es_buf_set(alice ? &t->ida : &t->idb, id->idx.data, id->idx.len, 0);
        if (alice)
            t->has_mac_a = 1;
        else
            t->has_mac_b = 1;
    }
    return rc;
}

esession_status ol_identity_fields(es_ol *s, ol_strs *k, const es_ol_id_out *id,
                                   const char **vals, es_ol_fdef *f, size_t *n)
{
    vals[0] = ol_keep(k, ol_b64((const uint8_t *)id->idx.data, id->idx.len));
    vals[1] = ol_keep(k, ol_b64(id->mx, id->mac_len));
    if (vals[0] == NULL || vals[1] == NULL)
        return es_fail(s->ctx, ESESSION_ERR_NO_MEMORY, "out of memory for the identity");
    f[(*n)++] = (es_ol_fdef){"identity", NULL, NULL, 0, &vals[0], 1, 0};
    f[(*n)++] = (es_ol_fdef){"mac", NULL, NULL, 0, &vals[1], 1, 0};
    return ESESSION_OK;
}
