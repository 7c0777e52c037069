/* SPDX-License-Identifier: ISC */
/* Bob, the responder (PROFILE §12.2-§12.8): msg1 checked and answered
 * with msg2, then msg3 checked and answered (4-message) with msg4. */
#include "ol_session.h"

#include "../core/bytes.h"
#include "../crypto/base64.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The offers of a request field: its options, or its values. */
static size_t offers(const es_form_field *fd, const char *const **v)
{
    if (fd->n_options > 0) {
        *v = (const char *const *)fd->options;
        return fd->n_options;
    }
    *v = (const char *const *)fd->values;
    return fd->n_values;
}

static const char *const known_fields[] = {"FORM_TYPE", "accept", "rekey_freq", "my_nonce",
                                           "dhhashes", "dhkeys"};

static int known(const char *var)
{
    for (size_t i = 0; i < ES_ARRAY_LEN(known_fields); i++)
        if (strcmp(var, known_fields[i]) == 0)
            return 1;
    for (size_t i = 0; i < ES_OLF_COUNT; i++)
        if (strcmp(var, es_ol_field_names[i]) == 0)
            return 1;
    return 0;
}

/* Can Bob accept value v for field f? */
static int acceptable(const es_ol *s, es_ol_field f, const char *v, es_ol_pubkey resp)
{
    esession_key_type type;
    es_cipher_alg cipher;
    es_hash_alg hash;
    es_ol_pubkey pk;

    if (!es_ol_policy_has(&s->policy, f, v))
        return 0;
    switch (f) {
    case ES_OLF_MODP:
        return es_modp_supported((int)ol_decimal(v));
    case ES_OLF_CRYPT:
        return es_cipher_from_name(v, strlen(v), &cipher) == ESESSION_OK;
    case ES_OLF_HASH:
        return es_hash_from_name(v, strlen(v), &hash) == ESESSION_OK;
    case ES_OLF_INIT_PUBKEY:
    case ES_OLF_RESP_PUBKEY:
        pk = es_ol_pubkey_from_name(v);
        if (pk == 0 || (s->variant == 3 && pk == ES_OL_PK_NONE))
            return 0;
        /* hash only for a peer whose key we hold (§12.5). */
        return !(f == ES_OLF_INIT_PUBKEY && pk == ES_OL_PK_HASH && s->n_trusted == 0);
    case ES_OLF_SIGN:
        if (es_key_type_for_alg(v, strlen(v), &type) != ESESSION_OK)
            return 0;
        return resp == ES_OL_PK_NONE || ol_my_key(s, type) != NULL;
    default:
        return 1;
    }
}

/* Step 2 of msg1: the first acceptable offer of every field; the fields
 * without one go into bad, in form order. */
static void choose(es_ol *s, const es_form *f, const char **bad, size_t *n_bad)
{
    es_ol_choice *c = &s->choice;
    es_ol_pubkey resp = (es_ol_pubkey)0;
    memset(c, 0, sizeof *c);
    *n_bad = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < ES_OLF_COUNT; i++) {
            if (i == ES_OLF_SAS && s->variant == 3)
                continue;
            /* resp_pubkey first: sign_algs depends on it. */
            if ((pass == 0) != (i == ES_OLF_RESP_PUBKEY))
                continue;
            const es_form_field *fd = es_form_find(f, es_ol_field_names[i]);
            const char *const *v = NULL;
            size_t n = fd != NULL ? offers(fd, &v) : 0, k = 0;
            while (k < n && !acceptable(s, (es_ol_field)i, v[k], resp))
                k++;
            if (k < n)
                snprintf(c->value[i], sizeof c->value[i], "%s", v[k]);
            if (i == ES_OLF_RESP_PUBKEY && k < n)
                resp = es_ol_pubkey_from_name(v[k]);
        }
    }
    for (size_t i = 0; i < ES_OLF_COUNT; i++)
        if (!(i == ES_OLF_SAS && s->variant == 3) && c->value[i][0] == '\0')
            bad[(*n_bad)++] = es_ol_field_names[i];
    if (*n_bad > 0)
        return;
    c->group = (int)ol_decimal(c->value[ES_OLF_MODP]);
    (void)es_cipher_from_name(c->value[ES_OLF_CRYPT], strlen(c->value[ES_OLF_CRYPT]),
                              &c->suite.cipher);
    (void)es_hash_from_name(c->value[ES_OLF_HASH], strlen(c->value[ES_OLF_HASH]), &c->suite.hash);
    (void)es_key_type_for_alg(c->value[ES_OLF_SIGN], strlen(c->value[ES_OLF_SIGN]),
                              &c->sign_type);
    c->init_pk = es_ol_pubkey_from_name(c->value[ES_OLF_INIT_PUBKEY]);
    c->resp_pk = resp;
}

/* What msg1 carries that Bob keeps. */
typedef struct req {
    size_t n_groups;
    const char *const *modp;
    esession_buf dh[ES_OL_MAX_GROUPS]; /* e_i (3-message) or He_i (4-message) */
    uint32_t rekey_freq;
} req;

static void req_clear(req *r)
{
    for (size_t i = 0; i < ES_OL_MAX_GROUPS; i++)
        esession_buf_free(&r->dh[i]);
}

/* Step 1: structure. */
static esession_status msg1_structure(es_ol *s, const es_form *f, req *r)
{
    int multi = 0;
    esession_status rc = ol_check_form_type(s->ctx, f);
    if (rc != ESESSION_OK)
        return rc;
    if (ol_bool(ol_value(f, "accept", &multi)) != 1)
        return es_fail(s->ctx, ESESSION_ERR_MALFORMED, "accept is not 1");
    const es_form_field *hashes = es_form_find(f, "dhhashes"), *keys = es_form_find(f, "dhkeys");
    if ((hashes == NULL) == (keys == NULL))
        return es_fail(s->ctx, ESESSION_ERR_MALFORMED, "need exactly one of dhhashes, dhkeys");
    s->variant = hashes != NULL ? 4 : 3;
    if ((es_form_find(f, "sas_algs") != NULL) != (s->variant == 4))
        return es_fail(s->ctx, ESESSION_ERR_MALFORMED,
                       s->variant == 4 ? "sas_algs missing in a 4-message request"
                                       : "sas_algs in a 3-message request");
    for (size_t i = 0; i < ES_OLF_COUNT; i++)
        if (es_form_find(f, es_ol_field_names[i]) == NULL && !(i == ES_OLF_SAS && s->variant == 3))
            return es_fail(s->ctx, ESESSION_ERR_MALFORMED, "field %s missing",
                           es_ol_field_names[i]);
    if ((r->rekey_freq = ol_decimal(ol_value(f, "rekey_freq", &multi))) == 0)
        return es_fail(s->ctx, ESESSION_ERR_MALFORMED, "rekey_freq is not a number 1..2^32-1");
    rc = ol_b64_field(s->ctx, f, "my_nonce", s->n_a, ES_OL_NONCE_MAX, &s->n_a_len);
    if (rc != ESESSION_OK)
        return rc;
    if (s->n_a_len < ES_OL_NONCE_MIN)
        return es_fail(s->ctx, ESESSION_ERR_MALFORMED, "my_nonce outside 16..64 octets");
    const es_form_field *modp = es_form_find(f, "modp"), *dh = hashes != NULL ? hashes : keys;
    r->n_groups = offers(modp, &r->modp);
    if (r->n_groups > ES_OL_MAX_GROUPS || dh->n_values != r->n_groups)
        return es_fail(s->ctx, ESESSION_ERR_MALFORMED, "%s: not one value per modp option",
                       dh->var);
    for (size_t i = 0; i < r->n_groups; i++) {
        const char *v = dh->values[i];
        size_t n = strlen(v);
        if ((rc = es_buf_alloc(&r->dh[i], es_base64_decoded_max(n), 0)) != ESESSION_OK)
            return es_fail(s->ctx, rc, "out of memory");
        if (es_base64_decode((uint8_t *)r->dh[i].data, r->dh[i].len + 1, &r->dh[i].len, v, n) !=
            ESESSION_OK)
            return es_fail(s->ctx, ESESSION_ERR_MALFORMED, "%s: not base64", dh->var);
        if (s->variant == 4 && r->dh[i].len != ES_OL_HE_BYTES)
            return es_fail(s->ctx, ESESSION_ERR_MALFORMED, "dhhashes: a value is not 32 octets");
        if (s->variant == 3 && r->dh[i].len > 0 && r->dh[i].data[0] == 0)
            return es_fail(s->ctx, ESESSION_ERR_MALFORMED, "dhkeys: not a minimal mpint");
        if (r->dh[i].len > ES_OL_E_MAX)
            return es_fail(s->ctx, ESESSION_ERR_MALFORMED, "dhkeys: value too long");
    }
    return ESESSION_OK;
}

static esession_status draw_msg2(es_ol *s, const es_ol_fixed *fx)
{
    esession_status rc;
    if ((rc = ol_nonce(s, fx != NULL ? fx->n_b : NULL, fx != NULL ? fx->n_b_len : 0, "N_B",
                       s->n_b, &s->n_b_len)) != ESESSION_OK)
        return rc;
    if (fx != NULL && fx->c_a != NULL)
        memcpy(s->c_a, fx->c_a, ES_AES_BLOCK);
    else if ((rc = ol_draw(s, s->c_a, ES_AES_BLOCK)) != ESESSION_OK)
        return rc;
    s->n_groups = 1;
    s->groups[0] = s->choice.group;
    if (fx != NULL && fx->y != NULL)
        rc = es_dh_from_private(s->ctx, &s->dh[0], s->choice.group, fx->y, fx->y_len);
    else
        rc = es_dh_generate(s->ctx, &s->dh[0], s->choice.group);
    if (rc == ESESSION_OK)
        rc = es_dh_public(s->dh[0], &s->d);
    return rc;
}

/* One field <field var='V'><value>v</value></field> per value pointer. */
static es_ol_fdef plain(const char *var, const char *const *v)
{
    return (es_ol_fdef){var, NULL, NULL, 0, v, 1, 0};
}

static esession_status build_msg2(es_ol *s, esession_buf *out)
{
    static const char *const one[] = {"1"}, *const ssn[] = {ES_OL_FORM_TYPE};
    static const char *const excl[] = {"identity", "mac"};
    const es_ol_choice *c = &s->choice;
    es_ol_fdef f[ES_OLF_COUNT + 10];
    const char *vals[ES_OLF_COUNT][1];
    char freq[16];
    ol_strs k = {{NULL}, 0};
    size_t n = 0;
    es_ol_id_out id;
    es_ol_trace *t = ol_trace(s);
    const char *id_v[2] = {NULL, NULL};
    esession_status rc = ESESSION_OK;

    memset(&id, 0, sizeof id);
    f[n++] = plain("FORM_TYPE", ssn);
    f[n++] = plain("accept", one);
    for (size_t i = 0; i < ES_OLF_SAS; i++) {
        vals[i][0] = c->value[i];
        f[n++] = plain(es_ol_field_names[i], vals[i]);
    }
    snprintf(freq, sizeof freq, "%lu", (unsigned long)c->rekey_freq);
    const char *freq_v[] = {freq};
    f[n++] = plain("rekey_freq", freq_v);
    const char *nb_v[] = {ol_keep(&k, ol_b64(s->n_b, s->n_b_len))};
    f[n++] = plain("my_nonce", nb_v);
    if (s->variant == 4) {
        vals[ES_OLF_SAS][0] = c->value[ES_OLF_SAS];
        f[n++] = plain("sas_algs", vals[ES_OLF_SAS]);
    }
    const char *d_v[] = {ol_keep(&k, ol_b64((const uint8_t *)s->d.data, s->d.len))};
    f[n++] = plain("dhkeys", d_v);
    const char *na_v[] = {ol_keep(&k, ol_b64(s->n_a, s->n_a_len))};
    f[n++] = plain("nonce", na_v);
    const char *ca_v[] = {ol_keep(&k, ol_b64(s->c_a, ES_AES_BLOCK))};
    f[n++] = plain("counter", ca_v);
    if (nb_v[0] == NULL || d_v[0] == NULL || na_v[0] == NULL || ca_v[0] == NULL) {
        rc = es_fail(s->ctx, ESESSION_ERR_NO_MEMORY, "out of memory for msg2");
        goto out;
    }
    if ((rc = ol_fields_normalized(s, "submit", f, n, excl, 2, &s->form_b)) != ESESSION_OK)
        goto out;
    uint8_t c_b[ES_AES_BLOCK];
    es_counter_b(s->c_a, c_b);
    memcpy(s->ctr_after_b, c_b, ES_AES_BLOCK);
    if (s->variant == 3) {
        /* K from e (msg1) and y; Bob's identity now (§12.5, 3-message). */
        if ((rc = ol_seal_identity(s, s->k0keys, NULL, c_b, &id)) != ESESSION_OK ||
            (rc = ol_identity_fields(s, &k, &id, id_v, f, &n)) != ESESSION_OK)
            goto out;
        memcpy(s->ctr_after_b, id.ctr_after, ES_AES_BLOCK);
    }
    rc = ol_nego_stanza(s, "feature", ES_OL_NS_FEATURE, "submit", f, n, 0, NULL, out);
    if (rc == ESESSION_OK && t != NULL) {
        rc = es_buf_set(&t->form_b, s->form_b.data, s->form_b.len, 0);
        if (rc == ESESSION_OK)
            rc = es_buf_set(&t->d, s->d.data, s->d.len, 0);
        t->has_ca = 1;
        memcpy(t->c_a, s->c_a, ES_AES_BLOCK);
        es_counter_b(s->c_a, t->c_b);
    }
out:
    ol_strs_free(&k);
    es_ol_id_out_clear(&id);
    return rc;
}

static esession_status set_peer(es_ol *s, const es_ol_in *in)
{
    if (in->from == NULL || in->from[0] == '\0' || strlen(in->from) > ES_OL_JID_MAX ||
        in->thread == NULL || in->thread[0] == '\0' || strlen(in->thread) > ES_OL_THREAD_MAX)
        return es_fail(s->ctx, ESESSION_ERR_MALFORMED, "msg1 without a sender or a thread");
    size_t bl = strcspn(in->from, "/");
    if ((s->peer_jid = strdup(in->from)) == NULL || (s->peer_bare = strndup(in->from, bl)) == NULL)
        return es_fail(s->ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    s->peer_full_known = 1;
    snprintf(s->thread, sizeof s->thread, "%s", in->thread);
    return ESESSION_OK;
}

esession_status es_ol_respond(esession_ctx *ctx, const es_ol_policy *policy,
                              const es_ol_env *env, const es_ol_fixed *fixed,
                              const char *msg1, size_t len, int trace, es_ol **out,
                              esession_buf *reply)
{
    es_ol_in in;
    es_ol *s = NULL;
    es_form *f = NULL;
    req r;
    const char *bad[ES_OLF_COUNT];
    size_t n_bad = 0;
    es_ol_result res;
    esession_buf msg2 = {NULL, 0, 0};
    esession_status rc;

    if (out == NULL || reply == NULL || msg1 == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "respond: bad arguments");
    es_clear_detail(ctx);
    memset(&r, 0, sizeof r);
    memset(&res, 0, sizeof res);
    if ((rc = es_ol_in_parse(ctx, msg1, len, &in)) != ESESSION_OK)
        return rc;
    if (in.form == NULL || in.in_init) {
        es_ol_in_free(&in);
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "not a negotiation request");
    }
    if ((rc = ol_make(ctx, ES_OL_BOB, policy, env, fixed, trace, &s)) != ESESSION_OK) {
        es_ol_in_free(&in);
        return rc;
    }
    s->await = OL_AWAIT_MSG3;
    if ((rc = set_peer(s, &in)) != ESESSION_OK || (rc = es_form_parse(ctx, in.form, &f)) !=
                                                        ESESSION_OK ||
        (rc = msg1_structure(s, f, &r)) != ESESSION_OK)
        goto out; /* step 1: ignore */
    /* Step 2: an unknown <required/> field, then the choice. */
    for (size_t i = 0; i < f->n_fields; i++) {
        const es_form_field *fd = &f->fields[i];
        if (fd->required && fd->var != NULL && !known(fd->var)) {
            const char *field[] = {fd->var};
            rc = es_fail(ctx, ESESSION_ERR_UNSUPPORTED_OPTION, "unknown required field %s",
                         fd->var);
            ol_fail(s, &res, rc, "feature-not-implemented", field, 1);
            goto out;
        }
    }
    choose(s, f, bad, &n_bad);
    if (n_bad > 0) {
        rc = es_fail(ctx, ESESSION_ERR_UNSUPPORTED_OPTION, "no acceptable value for %s", bad[0]);
        ol_fail(s, &res, rc, "not-acceptable", bad, n_bad);
        goto out;
    }
    s->choice.rekey_freq = r.rekey_freq > s->policy.rekey_freq ? r.rekey_freq
                                                              : s->policy.rekey_freq;
    /* Step 3: policy. */
    if (s->variant == 3 && !s->policy.allow3) {
        static const char *const field[] = {"dhkeys"};
        rc = es_fail(ctx, ESESSION_ERR_REFUSED, "3-message negotiation refused by policy");
        ol_fail(s, &res, rc, "feature-not-implemented", field, 1);
        goto out;
    }
    size_t at = 0;
    while (at < r.n_groups && (int)ol_decimal(r.modp[at]) != s->choice.group)
        at++;
    if (s->variant == 3) {
        /* Step 4: e of the chosen group. */
        rc = es_dh_check_public(s->choice.group, (const uint8_t *)r.dh[at].data, r.dh[at].len);
        if (rc != ESESSION_OK) {
            es_fail(ctx, rc, "e is not a valid DH value");
            ol_fail(s, &res, rc, "feature-not-implemented", NULL, 0);
            goto out;
        }
        rc = es_buf_set(&s->e, r.dh[at].data, r.dh[at].len, 0);
    } else {
        memcpy(s->he[0], r.dh[at].data, ES_OL_HE_BYTES);
        s->n_he = 1;
    }
    if (rc == ESESSION_OK)
        rc = draw_msg2(s, fixed);
    if (rc == ESESSION_OK)
        rc = es_form_normalize_received(ctx, f, NULL, 0, &s->form_a);
    if (rc == ESESSION_OK && s->variant == 3)
        rc = es_session_keys_dh(ctx, s->choice.suite, s->dh[0], (const uint8_t *)s->e.data,
                                s->e.len, &s->k0keys);
    if (rc == ESESSION_OK && trace && s->variant == 3) {
        s->trace->k_len = s->k0keys->k_len;
        memcpy(s->trace->k0, s->k0keys->k, s->k0keys->k_len);
        memcpy(s->trace->k, s->k0keys->k, s->k0keys->k_len);
        s->trace->has_k = 1;
        ol_trace_keys(s, s->k0keys, 0);
    }
    if (rc == ESESSION_OK)
        rc = build_msg2(s, &msg2);
    if (rc == ESESSION_OK && trace) {
        s->trace->choice = s->choice;
        s->trace->has_choice = 1;
        rc = es_buf_set(&s->trace->form_a, s->form_a.data, s->form_a.len, 0);
    }
out:
    req_clear(&r);
    es_form_free(f);
    es_ol_in_free(&in);
    if (rc != ESESSION_OK) {
        if (res.reply.data != NULL) {
            *reply = res.reply;
            res.reply.data = NULL;
        }
        es_ol_free(s);
        return rc;
    }
    *out = s;
    *reply = msg2;
    return ESESSION_OK;
}

/* ---- msg3 ------------------------------------------------------------- */

/* Step 1: structure. */
static esession_status msg3_structure(es_ol *s, const es_ol_in *in, const es_form *f,
                                      esession_buf *ida, uint8_t *ma, size_t *ma_len,
                                      uint8_t (*rsh)[ES_HASH_MAX_BYTES], size_t *n_rsh,
                                      int *terminate)
{
    uint8_t buf[ES_OL_NONCE_MAX + 1];
    size_t len = 0, hl = es_hash_size(s->choice.suite.hash);
    int multi = 0;
    esession_status rc = ol_check_form_type(s->ctx, f);
    if (rc != ESESSION_OK)
        return rc;
    if (ol_bool(ol_value(f, "accept", &multi)) != 1)
        return es_fail(s->ctx, ESESSION_ERR_MALFORMED, "accept is not 1");
    if ((rc = ol_b64_field(s->ctx, f, "nonce", buf, sizeof buf, &len)) != ESESSION_OK)
        return rc;
    if (len != s->n_b_len || !es_ct_equal(buf, s->n_b, len))
        return es_fail(s->ctx, ESESSION_ERR_MALFORMED, "nonce is not N_B");
    const es_form_field *term = es_form_find(f, "terminate");
    *terminate = 0;
    if (s->variant == 4) {
        if (term != NULL)
            return es_fail(s->ctx, ESESSION_ERR_MALFORMED, "terminate in a 4-message msg3");
        if (in->c != NULL)
            return es_fail(s->ctx, ESESSION_ERR_MALFORMED, "<c> in a 4-message msg3");
        if ((rc = ol_b64_field_buf(s->ctx, f, "dhkeys", &s->e)) != ESESSION_OK)
            return rc;
        if (s->e.len > ES_OL_E_MAX || (s->e.len > 0 && s->e.data[0] == 0))
            return es_fail(s->ctx, ESESSION_ERR_MALFORMED, "dhkeys: not a minimal mpint");
        const es_form_field *rs = es_form_find(f, "rshashes");
        if (rs == NULL || rs->n_values < 1 || rs->n_values > ES_OL_RSHASHES_MAX)
            return es_fail(s->ctx, ESESSION_ERR_MALFORMED, "rshashes: not 1..32 values");
        for (size_t i = 0; i < rs->n_values; i++) {
            const char *v = rs->values[i];
            uint8_t tmp[ES_HASH_MAX_BYTES + 4];
            if (strlen(v) > 4 * ((sizeof tmp + 2) / 3) ||
                es_base64_decode(tmp, sizeof tmp, &len, v, strlen(v)) != ESESSION_OK ||
                len != hl)
                return es_fail(s->ctx, ESESSION_ERR_MALFORMED, "rshashes: a bad value");
            memcpy(rsh[i], tmp, hl);
        }
        *n_rsh = rs->n_values;
    } else if (term != NULL) {
        int v = ol_bool(ol_value(f, "terminate", &multi));
        if (v < 0)
            return es_fail(s->ctx, ESESSION_ERR_MALFORMED, "terminate is not a boolean");
        *terminate = v;
    }
    if ((rc = ol_b64_field_buf(s->ctx, f, "identity", ida)) != ESESSION_OK)
        return rc;
    return ol_b64_field(s->ctx, f, "mac", ma, ES_HASH_MAX_BYTES, ma_len);
}

/* SRS: the first RS kept for Alice whose HMAC(N_A, RS) is an rshashes value. */
static esession_status find_srs(es_ol *s, uint8_t (*rsh)[ES_HASH_MAX_BYTES], size_t n_rsh)
{
    es_hash_alg h = s->choice.suite.hash;
    size_t hl = es_hash_size(h);
    uint8_t v[ES_HASH_MAX_BYTES];
    s->has_srs = 0;
    for (size_t i = 0; i < s->rs.n && !s->has_srs; i++) {
        if (s->rs.v[i].len != hl)
            continue;
        esession_status rc = es_ol_rshash(h, s->n_a, s->n_a_len, s->rs.v[i].rs, hl, v);
        if (rc != ESESSION_OK)
            return rc;
        int hit = 0;
        for (size_t j = 0; j < n_rsh; j++)
            hit |= es_ct_equal(v, rsh[j], hl);
        if (hit) {
            s->has_srs = 1;
            s->srs_verified = s->rs.v[i].verified;
            memcpy(s->srs, s->rs.v[i].rs, hl);
        }
    }
    ES_WIPE(v);
    return ESESSION_OK;
}

/* 4-message, after Alice's identity: SAS, SRS, K, the new RS, msg4. */
static esession_status finish4(es_ol *s, uint8_t (*rsh)[ES_HASH_MAX_BYTES], size_t n_rsh,
                               const char *content, size_t content_len, esession_buf *out)
{
    static const char *const ssn[] = {ES_OL_FORM_TYPE};
    static const char *const excl[] = {"identity", "mac"};
    es_hash_alg h = s->choice.suite.hash;
    size_t hl = es_hash_size(h);
    uint8_t k[ES_HASH_MAX_BYTES], srshash[ES_HASH_MAX_BYTES];
    ol_strs keepk = {{NULL}, 0};
    const char *id_v[2] = {NULL, NULL};
    esession_buf form_b2 = {NULL, 0, 0}, c = {NULL, 0, 0};
    es_ol_id_out id;
    es_ol_fdef f[6];
    size_t n = 0;
    es_ol_trace *t = ol_trace(s);
    uint32_t v = 0;
    esession_status rc;

    memset(&id, 0, sizeof id);
    rc = es_ol_sas(h, s->ma, s->ma_len, s->form_b.data, s->form_b.len, &v, s->sas);
    if (rc == ESESSION_OK) {
        s->has_sas = 1;
        rc = find_srs(s, rsh, n_rsh);
    }
    if (rc == ESESSION_OK)
        rc = es_ol_k_final(h, s->k0keys->k, s->has_srs ? s->srs : NULL, s->has_srs ? hl : 0, k);
    if (rc == ESESSION_OK)
        rc = es_session_keys_from_k(s->ctx, s->choice.suite, k, hl, &s->keys);
    if (rc != ESESSION_OK)
        goto out;
    if (t != NULL) {
        t->has_sas = 1;
        t->sas_v = v;
        memcpy(t->sas, s->sas, sizeof s->sas);
        t->srs_reached = 1;
        t->has_srs = s->has_srs;
        memcpy(t->srs, s->srs, hl);
        memcpy(t->k, k, hl);
        t->has_k = 1;
        ol_trace_keys(s, s->keys, 0);
    }
    /* The new RS, keeping the SRS it replaces until Alice's first stanza. */
    /* A verified chain of retained secrets verifies the peer (§12.5). */
    s->peer_verified = s->peer_verified || (s->has_srs && s->srs_verified);
    if ((rc = ol_store_new_rs(s, k, 1)) != ESESSION_OK)
        goto out;
    s->rs_confirm_pending = 1;
    if (t != NULL) {
        t->has_rs_after_msg3 = es_ol_rs_list_copy(&t->rs_after_msg3, &s->rs) == ESESSION_OK;
    }
    if (s->has_srs) {
        rc = es_ol_srshash(h, s->srs, hl, srshash);
    } else if (s->fixed->has_srshash_random) {
        if (s->fixed->srshash_random_len != hl)
            rc = es_fail(s->ctx, ESESSION_ERR_INVALID_ARGUMENT, "fixed srshash of another length");
        memcpy(srshash, s->fixed->srshash_random, hl);
    } else {
        rc = ol_draw(s, srshash, hl);
    }
    if (rc != ESESSION_OK)
        goto out;
    if (t != NULL) {
        memcpy(t->srshash, srshash, hl);
        t->has_srshash = 1;
    }
    const char *na_v[] = {ol_keep(&keepk, ol_b64(s->n_a, s->n_a_len))};
    const char *sr_v[] = {ol_keep(&keepk, ol_b64(srshash, hl))};
    f[n++] = plain("FORM_TYPE", ssn);
    f[n++] = plain("nonce", na_v);
    f[n++] = plain("srshash", sr_v);
    if (na_v[0] == NULL || sr_v[0] == NULL) {
        rc = es_fail(s->ctx, ESESSION_ERR_NO_MEMORY, "out of memory for msg4");
        goto out;
    }
    if ((rc = ol_fields_normalized(s, "result", f, n, excl, 2, &form_b2)) != ESESSION_OK)
        goto out;
    es_counter_b(s->c_a, s->ctr_after_b);
    if ((rc = ol_seal_identity(s, s->keys, &form_b2, s->ctr_after_b, &id)) != ESESSION_OK ||
        (rc = ol_identity_fields(s, &keepk, &id, id_v, f, &n)) != ESESSION_OK)
        goto out;
    memcpy(s->ctr_after_b, id.ctr_after, ES_AES_BLOCK);
    if (t != NULL)
        (void)es_buf_set(&t->form_b2, form_b2.data, form_b2.len, 0);
    rc = ol_stream_start(s, &s->keys->b, s->ctr_after_b, es_ctr_blocks(id.idx.len), &s->keys->a,
                         s->ctr_after_a, (const uint8_t *)s->e.data, s->e.len);
    if (rc == ESESSION_OK && content != NULL)
        rc = ol_first_c(s, content, content_len, &c);
    if (rc != ESESSION_OK)
        goto out;
    rc = ol_nego_stanza(s, "init", ES_OL_NS_INIT, "result", f, n, 0, &c, out);
out:
    ol_strs_free(&keepk);
    esession_buf_free(&form_b2);
    esession_buf_free(&c);
    es_ol_id_out_clear(&id);
    ES_WIPE(k);
    return rc;
}

void ol_bob_msg3(es_ol *s, const es_ol_in *in, const char *content, size_t content_len,
                 es_ol_result *res)
{
    es_form *f = NULL;
    esession_buf ida = {NULL, 0, 0}, form_a2 = {NULL, 0, 0};
    uint8_t ma[ES_HASH_MAX_BYTES], he[ES_OL_HE_BYTES];
    uint8_t rsh[ES_OL_RSHASHES_MAX][ES_HASH_MAX_BYTES];
    size_t ma_len = 0, n_rsh = 0;
    int terminate = 0;
    es_ol_trace *t = ol_trace(s);
    esession_status rc;

    res->step = ES_OL_STEP_MSG3;
    rc = es_form_parse(s->ctx, in->form, &f);
    if (rc == ESESSION_OK)
        rc = msg3_structure(s, in, f, &ida, ma, &ma_len, rsh, &n_rsh, &terminate);
    if (rc == ESESSION_OK)
        rc = es_form_normalize_received(s->ctx, f, (const char *const[]){"identity", "mac"}, 2,
                                        &form_a2);
    if (rc != ESESSION_OK) {
        ol_fail(s, res, rc, NULL, NULL, 0);
        goto out;
    }
    if (s->variant == 4) {
        /* Step 2: the commitment of msg1; step 3: e; then K0. */
        rc = es_hash(ES_HASH_SHA256, (const uint8_t *)s->e.data, s->e.len, he);
        if (rc == ESESSION_OK && !es_ct_equal(he, s->he[0], ES_OL_HE_BYTES))
            rc = es_fail(s->ctx, ESESSION_ERR_BAD_COMMITMENT, "e does not match dhhashes");
        if (rc == ESESSION_OK) {
            rc = es_dh_check_public(s->choice.group, (const uint8_t *)s->e.data, s->e.len);
            if (rc != ESESSION_OK)
                es_fail(s->ctx, rc, "e is not a valid DH value");
        }
        if (rc == ESESSION_ERR_BAD_COMMITMENT || rc == ESESSION_ERR_INVALID_DH_VALUE ||
            rc == ESESSION_ERR_MALFORMED) {
            ol_fail(s, res, rc, "feature-not-implemented", NULL, 0);
            goto out;
        }
        if (rc == ESESSION_OK)
            rc = es_session_keys_dh(s->ctx, s->choice.suite, s->dh[0], (const uint8_t *)s->e.data,
                                    s->e.len, &s->k0keys);
        if (rc != ESESSION_OK) {
            ol_fail(s, res, rc, NULL, NULL, 0);
            goto out;
        }
        if (t != NULL) {
            t->k_len = s->k0keys->k_len;
            memcpy(t->k0, s->k0keys->k, t->k_len);
            t->has_k0 = 1;
            ol_trace_keys(s, s->k0keys, 1);
        }
    }
    /* Step 4: MA, then Alice's identity. */
    rc = ol_open_identity(s, s->k0keys, 1, &form_a2, s->c_a, &ida, ma, ma_len, s->ctr_after_a);
    if (rc != ESESSION_OK) {
        ol_fail(s, res, rc, "feature-not-implemented", NULL, 0);
        goto out;
    }
    memcpy(s->ma, ma, ma_len);
    s->ma_len = ma_len;
    if (t != NULL)
        (void)es_buf_set(&t->form_a2, form_a2.data, form_a2.len, 0);
    if (s->variant == 4) {
        rc = finish4(s, rsh, n_rsh, content, content_len, &res->reply);
        if (rc != ESESSION_OK) {
            ol_fail(s, res, rc, NULL, NULL, 0);
            goto out;
        }
        res->kind = ES_OL_R_PROGRESS;
        res->established = 1;
        s->state = ES_OL_OPEN;
        s->await = OL_AWAIT_NONE;
        goto out;
    }
    rc = ol_stream_start(s, &s->k0keys->b, s->ctr_after_b, 0, &s->k0keys->a, s->ctr_after_a,
                         (const uint8_t *)s->e.data, s->e.len);
    if (rc != ESESSION_OK) {
        ol_fail(s, res, rc, NULL, NULL, 0);
        goto out;
    }
    s->state = ES_OL_OPEN;
    s->await = OL_AWAIT_NONE;
    res->kind = ES_OL_R_PROGRESS;
    res->established = 1;
    /* Step 5: Alice's first stanza, then a single-stanza session ends. */
    if (in->c != NULL)
        ol_open_c(s, in->c, ES_OL_STEP_MSG3, res);
    if (terminate && s->state == ES_OL_OPEN) {
        ol_destroy_keys(s);
        s->state = ES_OL_ENDED;
    }
out:
    esession_buf_free(&ida);
    esession_buf_free(&form_a2);
    es_form_free(f);
    ES_WIPE(ma);
    ES_WIPE(rsh);
}
