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

void ol_peer_opened(es_ol *s, esession_key *key, int trusted)
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
