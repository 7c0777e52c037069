/* SPDX-License-Identifier: ISC */
/* Alice, the initiator (PROFILE §12.2-§12.8): msg1, then msg2 checked in
 * the order of §12.8 and answered with msg3, then (4-message) msg4. */
#include "ol_session.h"

#include "../core/bytes.h"
#include "../crypto/base64.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- msg1 ------------------------------------------------------------- */

static esession_status check_policy(es_ol *s)
{
    const es_ol_policy *p = &s->policy;
    if (p->variant != 3 && p->variant != 4)
        return es_fail(s->ctx, ESESSION_ERR_INVALID_ARGUMENT, "variant must be 3 or 4");
    for (size_t f = 0; f < ES_OLF_COUNT; f++) {
        if (f == ES_OLF_SAS && p->variant == 3) {
            if (p->n[f] != 0)
                return es_fail(s->ctx, ESESSION_ERR_INVALID_ARGUMENT,
                               "a 3-message request has no sas_algs");
            continue;
        }
        if (p->n[f] == 0)
            return es_fail(s->ctx, ESESSION_ERR_INVALID_ARGUMENT, "nothing offered for %s",
                           es_ol_field_names[f]);
    }
    if (p->n[ES_OLF_MODP] > ES_OL_MAX_GROUPS)
        return es_fail(s->ctx, ESESSION_ERR_LIMIT, "more than %u groups", ES_OL_MAX_GROUPS);
    for (size_t i = 0; i < p->n[ES_OLF_MODP]; i++) {
        uint32_t g = ol_decimal(p->v[ES_OLF_MODP][i]);
        if (!es_modp_supported((int)g))
            return es_fail(s->ctx, ESESSION_ERR_UNSUPPORTED, "MODP group %s is not supported",
                           p->v[ES_OLF_MODP][i]);
    }
    if (p->variant == 3 && (es_ol_policy_has(p, ES_OLF_INIT_PUBKEY, "none") ||
                            es_ol_policy_has(p, ES_OLF_RESP_PUBKEY, "none")))
        return es_fail(s->ctx, ESESSION_ERR_INVALID_ARGUMENT,
                       "a 3-message request does not offer none");
    if (p->rekey_freq == 0)
        return es_fail(s->ctx, ESESSION_ERR_INVALID_ARGUMENT, "rekey_freq must be at least 1");
    return ESESSION_OK;
}

/* T, N_A and one x per group. */
static esession_status draw_msg1(es_ol *s, const es_ol_fixed *fx)
{
    uint8_t t[ES_OL_THREAD_HEX / 2];
    esession_status rc;

    if (fx != NULL && fx->thread != NULL) {
        if (strlen(fx->thread) == 0 || strlen(fx->thread) > ES_OL_THREAD_MAX)
            return es_fail(s->ctx, ESESSION_ERR_INVALID_ARGUMENT, "bad fixed thread");
        snprintf(s->thread, sizeof s->thread, "%s", fx->thread);
    } else {
        if ((rc = ol_draw(s, t, sizeof t)) != ESESSION_OK)
            return rc;
        es_hex(s->thread, t, sizeof t);
    }
    if ((rc = ol_nonce(s, fx != NULL ? fx->n_a : NULL, fx != NULL ? fx->n_a_len : 0, "N_A",
                       s->n_a, &s->n_a_len)) != ESESSION_OK)
        return rc;
    s->n_groups = s->policy.n[ES_OLF_MODP];
    for (size_t i = 0; i < s->n_groups; i++) {
        s->groups[i] = (int)ol_decimal(s->policy.v[ES_OLF_MODP][i]);
        if (fx != NULL && fx->x[i] != NULL)
            rc = es_dh_from_private(s->ctx, &s->dh[i], s->groups[i], fx->x[i], fx->x_len[i]);
        else
            rc = es_dh_generate(s->ctx, &s->dh[i], s->groups[i]);
        if (rc != ESESSION_OK)
            return rc;
    }
    return ESESSION_OK;
}

esession_status ol_alice_msg1(es_ol *s, esession_buf *out)
{
    static const char *const one[] = {"1"}, *const ssn[] = {ES_OL_FORM_TYPE};
    const es_ol_policy *p = &s->policy;
    es_ol_fdef f[ES_OLF_COUNT + 5];
    const char *dh_vals[ES_OL_MAX_GROUPS];
    char freq[16];
    ol_strs k = {{NULL}, 0};
    size_t n = 0;
    esession_status rc = ESESSION_OK;

    memset(f, 0, sizeof f);
    f[n++] = (es_ol_fdef){"FORM_TYPE", "hidden", NULL, 0, ssn, 1, 0};
    f[n++] = (es_ol_fdef){"accept", "boolean", NULL, 0, one, 1, 1};
    for (size_t i = 0; i < ES_OLF_SAS; i++) {
        int req = i <= ES_OLF_SECURITY;
        const char *type = i == ES_OLF_STANZAS ? "list-multi" : "list-single";
        f[n++] = (es_ol_fdef){es_ol_field_names[i], type, (const char *const *)p->v[i], p->n[i],
                              NULL, 0, req};
    }
    snprintf(freq, sizeof freq, "%lu", (unsigned long)p->rekey_freq);
    const char *freq_v[] = {freq};
    f[n++] = (es_ol_fdef){"rekey_freq", "text-single", NULL, 0, freq_v, 1, 0};
    const char *nonce_v[] = {ol_keep(&k, ol_b64(s->n_a, s->n_a_len))};
    f[n++] = (es_ol_fdef){"my_nonce", "hidden", NULL, 0, nonce_v, 1, 0};
    if (s->variant == 4)
        f[n++] = (es_ol_fdef){"sas_algs", "list-single", (const char *const *)p->v[ES_OLF_SAS],
                              p->n[ES_OLF_SAS], NULL, 0, 0};
    es_ol_trace *t = ol_trace(s);
    for (size_t i = 0; i < s->n_groups && rc == ESESSION_OK; i++) {
        esession_buf e = {NULL, 0, 0};
        uint8_t he[ES_OL_HE_BYTES] = {0};
        if ((rc = es_dh_public(s->dh[i], &e)) != ESESSION_OK)
            break;
        if (s->variant == 4) {
            rc = es_hash(ES_HASH_SHA256, (const uint8_t *)e.data, e.len, he);
            dh_vals[i] = ol_keep(&k, ol_b64(he, sizeof he));
        } else {
            dh_vals[i] = ol_keep(&k, ol_b64((const uint8_t *)e.data, e.len));
        }
        if (dh_vals[i] == NULL && rc == ESESSION_OK)
            rc = ESESSION_ERR_NO_MEMORY;
        if (t != NULL) {
            t->groups[i] = s->groups[i];
            memcpy(t->he[i], he, sizeof he);
            t->e[i] = e;
            t->n_e = i + 1;
        } else {
            esession_buf_free(&e);
        }
    }
    f[n++] = (es_ol_fdef){s->variant == 4 ? "dhhashes" : "dhkeys", "hidden", NULL, 0, dh_vals,
                          s->n_groups, 0};
    if (rc != ESESSION_OK || nonce_v[0] == NULL) {
        ol_strs_free(&k);
        return es_fail(s->ctx, rc != ESESSION_OK ? rc : ESESSION_ERR_NO_MEMORY,
                       "cannot write msg1");
    }
    rc = ol_fields_normalized(s, "form", f, n, NULL, 0, &s->form_a);
    if (rc == ESESSION_OK && t != NULL)
        rc = es_buf_set(&t->form_a, s->form_a.data, s->form_a.len, 0);
    if (rc == ESESSION_OK)
        rc = ol_nego_stanza(s, "feature", ES_OL_NS_FEATURE, "form", f, n, 1, NULL, out);
    ol_strs_free(&k);
    return rc;
}

esession_status es_ol_initiate(esession_ctx *ctx, const es_ol_policy *policy,
                               const es_ol_env *env, const es_ol_fixed *fixed, int trace,
                               es_ol **out, esession_buf *msg1)
{
    es_ol *s = NULL;
    esession_buf m = {NULL, 0, 0};
    if (out == NULL || msg1 == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "initiate: no output");
    esession_status rc = ol_make(ctx, ES_OL_ALICE, policy, env, fixed, trace, &s);
    if (rc != ESESSION_OK)
        return rc;
    s->variant = s->policy.variant;
    if ((rc = check_policy(s)) == ESESSION_OK && (rc = draw_msg1(s, fixed)) == ESESSION_OK)
        rc = ol_alice_msg1(s, &m);
    if (rc != ESESSION_OK) {
        es_ol_free(s);
        return rc;
    }
    s->await = OL_AWAIT_MSG2;
    *out = s;
    *msg1 = m;
    return ESESSION_OK;
}

/* ---- msg2 ------------------------------------------------------------- */

static const char *const nonlist_msg2[] = {"rekey_freq", "my_nonce", "dhkeys", "nonce",
                                           "counter"};

/* Step 2: structure. */
static esession_status msg2_structure(es_ol *s, const es_form *f, uint8_t *n_b, size_t *n_b_len,
                                      esession_buf *d, esession_buf *idb, uint8_t *mb,
                                      size_t *mb_len)
{
    uint8_t buf[ES_OL_NONCE_MAX + 1];
    size_t len = 0;
    int multi = 0;
    esession_status rc = ol_check_form_type(s->ctx, f);
    if (rc != ESESSION_OK)
        return rc;
    if (ol_bool(ol_value(f, "accept", &multi)) != 1)
        return es_fail(s->ctx, ESESSION_ERR_MALFORMED, "accept is not 1");
    for (size_t i = 0; i < ES_OLF_COUNT; i++) {
        if (i == ES_OLF_SAS && s->variant == 3)
            continue;
        if (ol_value(f, es_ol_field_names[i], &multi) == NULL)
            return es_fail(s->ctx, ESESSION_ERR_MALFORMED, "field %s missing or multi-valued",
                           es_ol_field_names[i]);
    }
    for (size_t i = 0; i < ES_ARRAY_LEN(nonlist_msg2); i++)
        if (ol_value(f, nonlist_msg2[i], &multi) == NULL)
            return es_fail(s->ctx, ESESSION_ERR_MALFORMED, "field %s missing or multi-valued",
                           nonlist_msg2[i]);
    if ((rc = ol_b64_field(s->ctx, f, "nonce", buf, sizeof buf, &len)) != ESESSION_OK)
        return rc;
    if (len != s->n_a_len || !es_ct_equal(buf, s->n_a, len))
        return es_fail(s->ctx, ESESSION_ERR_MALFORMED, "nonce is not N_A");
    if ((rc = ol_b64_field(s->ctx, f, "counter", buf, sizeof buf, &len)) != ESESSION_OK)
        return rc;
    if (len != ES_AES_BLOCK)
        return es_fail(s->ctx, ESESSION_ERR_MALFORMED, "counter is not 16 octets");
    memcpy(s->c_a, buf, ES_AES_BLOCK);
    if ((rc = ol_b64_field(s->ctx, f, "my_nonce", n_b, ES_OL_NONCE_MAX, n_b_len)) != ESESSION_OK)
        return rc;
    if (*n_b_len < ES_OL_NONCE_MIN)
        return es_fail(s->ctx, ESESSION_ERR_MALFORMED, "my_nonce outside 16..64 octets");
    if ((rc = ol_b64_field_buf(s->ctx, f, "dhkeys", d)) != ESESSION_OK)
        return rc;
    if (d->len > 0 && ((const uint8_t *)d->data)[0] == 0)
        return es_fail(s->ctx, ESESSION_ERR_MALFORMED, "dhkeys is not a minimal mpint");
    if (s->variant == 3 && (rc = ol_b64_field_buf(s->ctx, f, "identity", idb)) == ESESSION_OK &&
        (rc = ol_b64_field(s->ctx, f, "mac", mb, ES_HASH_MAX_BYTES, mb_len)) != ESESSION_OK)
        esession_buf_free(idb);
    return rc;
}

/* Step 3: every chosen value one Alice offered; the fields that are not
 * go into bad. */
static void msg2_choice(es_ol *s, const es_form *f, const char **bad, size_t *n_bad)
{
    es_ol_choice *c = &s->choice;
    int multi = 0;
    memset(c, 0, sizeof *c);
    *n_bad = 0;
    for (size_t i = 0; i < ES_OLF_COUNT; i++) {
        if (i == ES_OLF_SAS && s->variant == 3)
            continue;
        const char *v = ol_value(f, es_ol_field_names[i], &multi);
        int ok = v != NULL && es_ol_policy_has(&s->policy, (es_ol_field)i, v);
        if (ok && (i == ES_OLF_INIT_PUBKEY || i == ES_OLF_RESP_PUBKEY) &&
            (es_ol_pubkey_from_name(v) == 0 ||
             (s->variant == 3 && es_ol_pubkey_from_name(v) == ES_OL_PK_NONE)))
            ok = 0;
        if (ok)
            snprintf(c->value[i], sizeof c->value[i], "%s", v);
        else
            bad[(*n_bad)++] = es_ol_field_names[i];
    }
    if (*n_bad == 0) {
        c->init_pk = es_ol_pubkey_from_name(c->value[ES_OLF_INIT_PUBKEY]);
        c->resp_pk = es_ol_pubkey_from_name(c->value[ES_OLF_RESP_PUBKEY]);
        c->group = (int)ol_decimal(c->value[ES_OLF_MODP]);
        int ok_sign =
            es_key_type_for_alg(c->value[ES_OLF_SIGN], strlen(c->value[ES_OLF_SIGN]),
                                &c->sign_type) == ESESSION_OK &&
            (c->init_pk == ES_OL_PK_NONE || ol_my_key(s, c->sign_type) != NULL);
        if (!ok_sign)
            bad[(*n_bad)++] = "sign_algs";
        if (es_cipher_from_name(c->value[ES_OLF_CRYPT], strlen(c->value[ES_OLF_CRYPT]),
                                &c->suite.cipher) != ESESSION_OK)
            bad[(*n_bad)++] = "crypt_algs";
        if (es_hash_from_name(c->value[ES_OLF_HASH], strlen(c->value[ES_OLF_HASH]),
                              &c->suite.hash) != ESESSION_OK)
            bad[(*n_bad)++] = "hash_algs";
    }
    uint32_t freq = ol_decimal(ol_value(f, "rekey_freq", &multi));
    if (freq == 0 || freq < s->policy.rekey_freq)
        bad[(*n_bad)++] = "rekey_freq";
    c->rekey_freq = freq;
}

/* The random values and order of rshashes (§12.6) and the RS listed. */
static esession_status rshashes(es_ol *s, uint8_t (*vals)[ES_HASH_MAX_BYTES], size_t *n)
{
    es_hash_alg h = s->choice.suite.hash;
    size_t hl = es_hash_size(h), total = 0;
    uint8_t all[ES_OL_RSHASHES_MAX][ES_HASH_MAX_BYTES];
    const ol_fixed *fx = s->fixed;
    esession_status rc = ESESSION_OK;

    s->n_listed = 0;
    for (size_t i = 0; i < s->rs.n && s->n_listed < ES_OL_RS_LISTED_MAX; i++) {
        if (s->rs.v[i].len != hl)
            continue; /* an RS of another hash cannot be shared */
        memcpy(s->listed[s->n_listed], s->rs.v[i].rs, hl);
        rc = es_ol_rshash(h, s->n_a, s->n_a_len, s->rs.v[i].rs, hl, all[total++]);
        s->n_listed++;
        if (rc != ESESSION_OK)
            return rc;
    }
    size_t n_random = fx->n_rsh_random > 0 ? fx->n_rsh_random : s->policy.rshashes_random;
    if (n_random == 0)
        n_random = 1;
    if (total + n_random > ES_OL_RSHASHES_MAX)
        n_random = ES_OL_RSHASHES_MAX - total;
    for (size_t i = 0; i < n_random; i++, total++) {
        if (i < fx->n_rsh_random && fx->rsh_random_len[i] != hl)
            return es_fail(s->ctx, ESESSION_ERR_INVALID_ARGUMENT,
                           "fixed rshashes value of another length");
        if (i < fx->n_rsh_random)
            memcpy(all[total], fx->rsh_random[i], hl);
        else if ((rc = ol_draw(s, all[total], hl)) != ESESSION_OK)
            return rc;
    }
    if (fx->has_rsh_order) {
        if (fx->n_rsh_order != total)
            return es_fail(s->ctx, ESESSION_ERR_INVALID_ARGUMENT, "fixed rshashes order size");
        for (size_t i = 0; i < total; i++) {
            if (fx->rsh_order[i] >= total)
                return es_fail(s->ctx, ESESSION_ERR_INVALID_ARGUMENT, "fixed rshashes order");
            memcpy(vals[i], all[fx->rsh_order[i]], hl);
        }
    } else {
        /* Fisher-Yates with the context's random source. */
        for (size_t i = total; i-- > 1;) {
            uint8_t r[4];
            if ((rc = ol_draw(s, r, sizeof r)) != ESESSION_OK)
                return rc;
            size_t j = (size_t)(es_be_get(r, 4) % (i + 1));
            uint8_t tmp[ES_HASH_MAX_BYTES];
            memcpy(tmp, all[i], hl);
            memcpy(all[i], all[j], hl);
            memcpy(all[j], tmp, hl);
        }
        memcpy(vals, all, total * sizeof all[0]);
    }
    *n = total;
    ES_WIPE(all);
    return ESESSION_OK;
}

/* msg3: its form (without identity and mac), normalized, then sealed. */
static esession_status build_msg3(es_ol *s, const char *content, size_t content_len,
                                  esession_buf *out)
{
    static const char *const one[] = {"1"}, *const ssn[] = {ES_OL_FORM_TYPE};
    static const char *const excl[] = {"identity", "mac"};
    es_ol_fdef f[8];
    ol_strs k = {{NULL}, 0};
    uint8_t vals[ES_OL_RSHASHES_MAX][ES_HASH_MAX_BYTES];
    const char *rsh_v[ES_OL_RSHASHES_MAX], *id_vals[2];
    size_t n = 0, n_vals = 0, hl = es_hash_size(s->choice.suite.hash);
    esession_buf form_a2 = {NULL, 0, 0}, c = {NULL, 0, 0};
    es_ol_id_out id;
    es_ol_trace *t = ol_trace(s);
    esession_status rc = ESESSION_OK;

    memset(&id, 0, sizeof id);
    f[n++] = (es_ol_fdef){"FORM_TYPE", NULL, NULL, 0, ssn, 1, 0};
    f[n++] = (es_ol_fdef){"accept", NULL, NULL, 0, one, 1, 0};
    const char *nb_v[] = {ol_keep(&k, ol_b64(s->n_b, s->n_b_len))};
    f[n++] = (es_ol_fdef){"nonce", NULL, NULL, 0, nb_v, 1, 0};
    const char *e_v[] = {NULL};
    if (s->variant == 3 && s->single_stanza)
        f[n++] = (es_ol_fdef){"terminate", NULL, NULL, 0, one, 1, 0};
    if (s->variant == 4) {
        e_v[0] = ol_keep(&k, ol_b64((const uint8_t *)s->e.data, s->e.len));
        f[n++] = (es_ol_fdef){"dhkeys", "hidden", NULL, 0, e_v, 1, 0};
        if ((rc = rshashes(s, vals, &n_vals)) != ESESSION_OK)
            goto out;
        for (size_t i = 0; i < n_vals; i++)
            if ((rsh_v[i] = ol_keep(&k, ol_b64(vals[i], hl))) == NULL)
                rc = ESESSION_ERR_NO_MEMORY;
        f[n++] = (es_ol_fdef){"rshashes", "hidden", NULL, 0, rsh_v, n_vals, 0};
        if (t != NULL) {
            memcpy(t->rshashes, vals, n_vals * sizeof vals[0]);
            t->n_rshashes = n_vals;
        }
    }
    if (rc != ESESSION_OK || nb_v[0] == NULL || (s->variant == 4 && e_v[0] == NULL)) {
        rc = es_fail(s->ctx, ESESSION_ERR_NO_MEMORY, "out of memory for msg3");
        goto out;
    }
    if ((rc = ol_fields_normalized(s, "result", f, n, excl, 2, &form_a2)) != ESESSION_OK)
        goto out;

    /* macA, IDA, MA: with the provisory keys of K0 in 4-message. */
    if ((rc = ol_seal_identity(s, s->k0keys, &form_a2, s->c_a, &id)) != ESESSION_OK)
        goto out;
    memcpy(s->ma, id.mx, id.mac_len);
    s->ma_len = id.mac_len;
    memcpy(s->ctr_after_a, id.ctr_after, ES_AES_BLOCK);
    s->id_blocks_a = es_ctr_blocks(id.idx.len);
    if (t != NULL)
        (void)es_buf_set(&t->form_a2, form_a2.data, form_a2.len, 0);
    if (s->variant == 4) {
        /* Alice's SAS, before msg3 leaves (§12.7). */
        uint32_t v = 0;
        rc = es_ol_sas(s->choice.suite.hash, s->ma, s->ma_len, s->form_b.data, s->form_b.len,
                       &v, s->sas);
        if (rc != ESESSION_OK)
            goto out;
        s->has_sas = 1;
        if (t != NULL) {
            t->sas_v = v;
            memcpy(t->sas, s->sas, sizeof s->sas);
            t->has_sas = 1;
        }
    }
    /* The whole form, now with identity and mac. */
    if ((rc = ol_identity_fields(s, &k, &id, id_vals, f, &n)) != ESESSION_OK)
        goto out;
    if (s->variant == 3) {
        const es_session_keys *K = s->k0keys;
        rc = ol_stream_start(s, &K->a, s->ctr_after_a, s->id_blocks_a, &K->b, s->ctr_after_b,
                             (const uint8_t *)s->d.data, s->d.len);
        if (rc == ESESSION_OK && content != NULL)
            rc = ol_first_c(s, content, content_len, &c);
        if (rc != ESESSION_OK)
            goto out;
    }
    rc = ol_nego_stanza(s, "feature", ES_OL_NS_FEATURE, "result", f, n, 0, &c, out);
out:
    ol_strs_free(&k);
    ES_WIPE(vals);
    esession_buf_free(&form_a2);
    esession_buf_free(&c);
    es_ol_id_out_clear(&id);
    return rc;
}

void ol_alice_msg2(es_ol *s, const es_ol_in *in, const char *content, size_t content_len,
                   es_ol_result *res)
{
    es_form *f = NULL;
    const char *bad[ES_OLF_COUNT + 4];
    size_t n_bad = 0;
    int multi = 0;
    esession_buf d = {NULL, 0, 0}, idb = {NULL, 0, 0};
    uint8_t mb[ES_HASH_MAX_BYTES];
    size_t mb_len = 0;
    es_ol_trace *t = ol_trace(s);
    esession_status rc;

    res->step = ES_OL_STEP_MSG2;
    /* The peer's full JID is the sender of msg2. */
    char *from = strdup(in->from);
    if (from == NULL) {
        ol_fail(s, res, es_fail(s->ctx, ESESSION_ERR_NO_MEMORY, "out of memory"), NULL, NULL, 0);
        return;
    }
    free(s->peer_jid);
    s->peer_jid = from;
    s->peer_full_known = 1;

    if ((rc = es_form_parse(s->ctx, in->form, &f)) != ESESSION_OK) {
        ol_fail(s, res, rc, NULL, NULL, 0);
        return;
    }
    /* Step 1: a decline (XEP-0155). */
    if (ol_bool(ol_value(f, "accept", &multi)) == 0) {
        ol_fail(s, res, es_fail(s->ctx, ESESSION_ERR_DECLINED, "the peer declined"), NULL, NULL, 0);
        goto out;
    }
    if ((rc = msg2_structure(s, f, s->n_b, &s->n_b_len, &d, &idb, mb, &mb_len)) != ESESSION_OK) {
        ol_fail(s, res, rc, NULL, NULL, 0);
        goto out;
    }
    msg2_choice(s, f, bad, &n_bad);
    if (n_bad > 0) {
        es_fail(s->ctx, ESESSION_ERR_UNSUPPORTED_OPTION, "a chosen value was not offered: %s",
                bad[0]);
        ol_fail(s, res, ESESSION_ERR_UNSUPPORTED_OPTION, "not-acceptable", bad, n_bad);
        goto out;
    }
    /* Step 4: d, then K0 and its keys. */
    size_t at = 0;
    while (at < s->n_groups && s->groups[at] != s->choice.group)
        at++;
    if (at == s->n_groups) {
        ol_fail(s, res, es_fail(s->ctx, ESESSION_ERR_UNSUPPORTED_OPTION, "group not offered"),
             "not-acceptable", NULL, 0);
        goto out;
    }
    rc = es_dh_check_public(s->choice.group, (const uint8_t *)d.data, d.len);
    if (rc != ESESSION_OK) {
        es_fail(s->ctx, rc, "d is not a valid DH value");
        ol_fail(s, res, rc, rc == ESESSION_ERR_INVALID_DH_VALUE ? "not-acceptable" : NULL, NULL, 0);
        goto out;
    }
    rc = es_dh_public(s->dh[at], &s->e);
    if (rc == ESESSION_OK)
        rc = es_session_keys_dh(s->ctx, s->choice.suite, s->dh[at], (const uint8_t *)d.data,
                                d.len, &s->k0keys);
    if (rc == ESESSION_OK)
        rc = es_form_normalize_received(s->ctx, f, (const char *const[]){"identity", "mac"}, 2,
                                        &s->form_b);
    if (rc != ESESSION_OK) {
        ol_fail(s, res, rc, NULL, NULL, 0);
        goto out;
    }
    s->d = d;
    d.data = NULL;
    es_counter_b(s->c_a, s->ctr_after_b);
    if (t != NULL) {
        t->k_len = s->k0keys->k_len;
        memcpy(t->k0, s->k0keys->k, t->k_len);
        t->has_k0 = 1;
        ol_trace_keys(s, s->k0keys, s->variant == 4);
        if (s->variant == 3) {
            memcpy(t->k, s->k0keys->k, t->k_len);
            t->has_k = 1;
        }
    }

    if (s->variant == 3) {
        /* Step 5: MB, then Bob's identity. */
        rc = ol_open_identity(s, s->k0keys, 0, NULL, s->ctr_after_b, &idb, mb, mb_len,
                              s->ctr_after_b);
        if (rc != ESESSION_OK) {
            ol_fail(s, res, rc, "feature-not-implemented", NULL, 0);
            goto out;
        }
    }
    rc = build_msg3(s, content, content_len, &res->reply);
    if (rc != ESESSION_OK) {
        ol_fail(s, res, rc, NULL, NULL, 0);
        goto out;
    }
    res->kind = ES_OL_R_PROGRESS;
    if (s->variant == 3) {
        res->established = 1;
        s->state = ES_OL_OPEN;
        s->await = OL_AWAIT_NONE;
        if (s->single_stanza) {
            ol_destroy_keys(s);
            s->state = ES_OL_ENDED;
        }
    } else {
        s->await = OL_AWAIT_MSG4;
    }
out:
    esession_buf_free(&d);
    esession_buf_free(&idb);
    es_form_free(f);
}

/* ---- msg4 ------------------------------------------------------------- */

void ol_alice_msg4(es_ol *s, const es_ol_in *in, es_ol_result *res)
{
    es_form *f = NULL;
    uint8_t buf[ES_HASH_MAX_BYTES + 1], srshash[ES_HASH_MAX_BYTES], mb[ES_HASH_MAX_BYTES];
    uint8_t k[ES_HASH_MAX_BYTES], want[ES_HASH_MAX_BYTES];
    size_t len = 0, mb_len = 0, hl = es_hash_size(s->choice.suite.hash);
    esession_buf idb = {NULL, 0, 0}, form_b2 = {NULL, 0, 0};
    es_ol_trace *t = ol_trace(s);
    esession_status rc;

    res->step = ES_OL_STEP_MSG4;
    /* Step 1: structure. */
    rc = es_form_parse(s->ctx, in->form, &f);
    if (rc == ESESSION_OK)
        rc = ol_check_form_type(s->ctx, f);
    if (rc == ESESSION_OK && (rc = ol_b64_field(s->ctx, f, "nonce", buf, sizeof buf, &len)) ==
                                 ESESSION_OK &&
        (len != s->n_a_len || !es_ct_equal(buf, s->n_a, len)))
        rc = es_fail(s->ctx, ESESSION_ERR_MALFORMED, "nonce is not N_A");
    if (rc == ESESSION_OK &&
        (rc = ol_b64_field(s->ctx, f, "srshash", srshash, sizeof srshash, &len)) == ESESSION_OK &&
        len != hl)
        rc = es_fail(s->ctx, ESESSION_ERR_MALFORMED, "srshash is not HASH-length");
    if (rc == ESESSION_OK)
        rc = ol_b64_field_buf(s->ctx, f, "identity", &idb);
    if (rc == ESESSION_OK)
        rc = ol_b64_field(s->ctx, f, "mac", mb, sizeof mb, &mb_len);
    if (rc == ESESSION_OK)
        rc = es_form_normalize_received(s->ctx, f, (const char *const[]){"identity", "mac"}, 2,
                                        &form_b2);
    if (rc != ESESSION_OK) {
        ol_fail(s, res, rc, NULL, NULL, 0);
        goto out;
    }
    /* Step 2: SRS, the final keys, MB, Bob's identity, the new RS. */
    s->has_srs = 0;
    for (size_t i = 0; i < s->n_listed && !s->has_srs; i++) {
        if ((rc = es_ol_srshash(s->choice.suite.hash, s->listed[i], hl, want)) != ESESSION_OK)
            break;
        if (es_ct_equal(want, srshash, hl)) {
            s->has_srs = 1;
            memcpy(s->srs, s->listed[i], hl);
            for (size_t j = 0; j < s->rs.n; j++)
                if (s->rs.v[j].len == hl && es_ct_equal(s->rs.v[j].rs, s->srs, hl))
                    s->srs_verified = s->rs.v[j].verified;
        }
    }
    if (rc == ESESSION_OK)
        rc = es_ol_k_final(s->choice.suite.hash, s->k0keys->k, s->has_srs ? s->srs : NULL,
                           s->has_srs ? hl : 0, k);
    if (rc == ESESSION_OK)
        rc = es_session_keys_from_k(s->ctx, s->choice.suite, k, hl, &s->keys);
    if (rc != ESESSION_OK) {
        ol_fail(s, res, rc, NULL, NULL, 0);
        goto out;
    }
    if (t != NULL) {
        memcpy(t->k, k, hl);
        t->has_k = 1;
        ol_trace_keys(s, s->keys, 0);
    }
    rc = ol_open_identity(s, s->keys, 0, &form_b2, s->ctr_after_b, &idb, mb, mb_len,
                          s->ctr_after_b);
    if (rc != ESESSION_OK) {
        ol_fail(s, res, rc, "feature-not-implemented", NULL, 0);
        goto out;
    }
    if (t != NULL) {
        /* The SRS counts once Bob is who he says. */
        t->srs_reached = 1;
        t->has_srs = s->has_srs;
        memcpy(t->srs, s->srs, hl);
    }
    rc = ol_store_new_rs(s, k, 0);
    if (rc == ESESSION_OK)
        rc = ol_stream_start(s, &s->keys->a, s->ctr_after_a, 0, &s->keys->b, s->ctr_after_b,
                             (const uint8_t *)s->d.data, s->d.len);
    if (rc != ESESSION_OK) {
        ol_fail(s, res, rc, NULL, NULL, 0);
        goto out;
    }
    s->state = ES_OL_OPEN;
    s->await = OL_AWAIT_NONE;
    res->established = 1;
    res->kind = ES_OL_R_PROGRESS;
    /* Step 3: Bob's first stanza. */
    if (in->c != NULL)
        ol_open_c(s, in->c, ES_OL_STEP_MSG4, res);
out:
    esession_buf_free(&idb);
    esession_buf_free(&form_b2);
    es_form_free(f);
    ES_WIPE(k);
}
