/* SPDX-License-Identifier: ISC */
/* The trust store: public keys trusted for bare JIDs (XEP-0116 "Key
 * Associations"), with the two key-association alerts. */
#include "ks.h"

#include "../core/jid.h"

#include <stdlib.h>
#include <string.h>

/* The library's JID rule: the trust store holds no JID the sender could
 * not use. */
static esession_status check_jid(esession_ctx *ctx, const char *jid, size_t *len)
{
    esession_status rc = es_jid_check(ctx, jid, ESESSION_JID_BARE);
    if (rc == ESESSION_OK)
        *len = strlen(jid);
    return rc;
}

static int same_jid(const es_ks_trust *t, const char *jid, size_t len)
{
    return strlen(t->jid) == len && memcmp(t->jid, jid, len) == 0;
}

static int find_entry(const esession_keystore *ks, const char *jid, size_t len,
                      const uint8_t *fp, size_t *index)
{
    for (size_t i = 0; i < ks->trust.n; i++) {
        const es_ks_trust *t = ks->trust.v[i];
        if (same_jid(t, jid, len) && es_ct_equal(t->fp, fp, ESESSION_FINGERPRINT_BYTES)) {
            *index = i;
            return 1;
        }
    }
    return 0;
}

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* A new entry for (jid, key): its <KeyValue> and the fingerprint. */
static esession_status make_entry(esession_keystore *ks, const char *jid, size_t jid_len,
                                  const esession_key *key, const char *petname,
                                  size_t pet_len, es_ks_trust **out)
{
    esession_buf kv = {NULL, 0, 0};
    esession_status rc = esession_key_to_keyvalue(ks->ctx, key, &kv);
    if (rc != ESESSION_OK)
        return rc;
    if (kv.len == 0 || kv.len > ES_KS_KEYVALUE_MAX || !es_ks_text_ok(kv.data, kv.len)) {
        esession_buf_free(&kv);
        return es_fail(ks->ctx, ESESSION_ERR_LIMIT, "<KeyValue> too long");
    }
    es_ks_trust *t = calloc(1, sizeof *t);
    if (t == NULL) {
        esession_buf_free(&kv);
        return es_fail(ks->ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    }
    /* The fingerprint (esession_key_fingerprint) is SHA-256 of <KeyValue>. */
    crypto_hash_sha256(t->fp, (const uint8_t *)kv.data, kv.len);
    t->keyvalue = dup_n(kv.data, kv.len);
    t->keyvalue_len = kv.len;
    t->jid = dup_n(jid, jid_len);
    t->petname = dup_n(petname, pet_len);
    esession_buf_free(&kv);
    if (t->keyvalue == NULL || t->jid == NULL || t->petname == NULL) {
        es_ks_trust_free(t);
        return es_fail(ks->ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    }
    *out = t;
    return ESESSION_OK;
}

static esession_status esession_trust_add_tx(esession_keystore *ks, const char *bare_jid,
                                   const esession_key *key, const char *petname,
                                   unsigned *alerts)
{
    size_t jid_len, pet_len, at;
    es_ks_trust *t = NULL;
    unsigned found = 0;
    esession_status rc;

    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ks->ctx);
    if ((rc = check_jid(ks->ctx, bare_jid, &jid_len)) != ESESSION_OK)
        return rc;
    if (key == NULL)
        return es_fail(ks->ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL key");
    if (petname == NULL)
        petname = "";
    pet_len = strnlen(petname, ES_KS_PETNAME_MAX + 1);
    if (pet_len > ES_KS_PETNAME_MAX)
        return es_fail(ks->ctx, ESESSION_ERR_LIMIT, "petname longer than %u octets",
                       ES_KS_PETNAME_MAX);
    if ((rc = make_entry(ks, bare_jid, jid_len, key, petname, pet_len, &t)) != ESESSION_OK)
        return rc;

    if (find_entry(ks, bare_jid, jid_len, t->fp, &at)) {
        rc = es_fail(ks->ctx, ESESSION_ERR_STATE, "the key is already trusted for this JID");
        goto out;
    }
    for (size_t i = 0; i < ks->trust.n; i++) {
        const es_ks_trust *o = ks->trust.v[i];
        int jid_eq = same_jid(o, bare_jid, jid_len);
        int fp_eq = es_ct_equal(o->fp, t->fp, ESESSION_FINGERPRINT_BYTES);
        if (jid_eq && !fp_eq)
            found |= ESESSION_ALERT_JID_NEW_KEY;
        if (fp_eq && !jid_eq)
            found |= ESESSION_ALERT_KEY_OTHER_JID;
    }
    if ((rc = es_ks_reserve(ks->ctx, &ks->trust, ES_KS_MAX_TRUST, "trust entries")) !=
        ESESSION_OK)
        goto out;
    es_vec_push(&ks->trust, t);
    rc = es_ks_put_trust(ks, t);
    if (rc != ESESSION_OK) {
        (void)es_vec_pop(&ks->trust);
        goto out;
    }
    t = NULL;
    if (alerts != NULL)
        *alerts = found;
out:
    es_ks_trust_free(t);
    return rc;
}

esession_status esession_trust_add(esession_keystore *ks, const char *bare_jid,
                                   const esession_key *key, const char *petname,
                                   unsigned *alerts)
{
    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    unsigned found = 0;
    esession_status rc = es_tx_begin(ks, 1);
    if (rc != ESESSION_OK)
        return rc;
    rc = es_tx_end(ks, esession_trust_add_tx(ks, bare_jid, key, petname, &found));
    if (rc == ESESSION_OK && alerts != NULL)
        *alerts = found; /* only once committed */
    return rc;
}

size_t esession_trust_count(const esession_keystore *ks)
{
    (void)es_ks_fresh(ks); /* no status to report: the cached copy stands */
    return ks != NULL ? ks->trust.n : 0;
}

esession_status esession_trust_at(const esession_keystore *ks, size_t index,
                                  esession_trust_entry *out)
{
    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ks->ctx);
    if (out == NULL)
        return es_fail(ks->ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL argument");
    esession_status rc = es_ks_fresh(ks);
    if (rc != ESESSION_OK)
        return rc;
    if (index >= ks->trust.n)
        return es_fail(ks->ctx, ESESSION_ERR_INVALID_ARGUMENT, "no trust entry at index %zu",
                       index);
    const es_ks_trust *t = ks->trust.v[index];
    out->jid = t->jid;
    out->petname = t->petname;
    memcpy(out->fingerprint, t->fp, ESESSION_FINGERPRINT_BYTES);
    out->verified = t->verified;
    return ESESSION_OK;
}

/* The entry for (jid, fingerprint), or ESESSION_ERR_UNTRUSTED_KEY. */
static esession_status lookup(const esession_keystore *ks, const char *jid,
                              const uint8_t *fp, size_t *index)
{
    size_t len;
    esession_status rc = check_jid(ks->ctx, jid, &len);
    if (rc != ESESSION_OK)
        return rc;
    if (fp == NULL)
        return es_fail(ks->ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL fingerprint");
    if (!find_entry(ks, jid, len, fp, index))
        return es_fail(ks->ctx, ESESSION_ERR_UNTRUSTED_KEY, "the key is not trusted for this JID");
    return ESESSION_OK;
}

static esession_status esession_trust_set_verified_tx(esession_keystore *ks, const char *bare_jid,
                                            const uint8_t fingerprint[ESESSION_FINGERPRINT_BYTES],
                                            int verified)
{
    size_t at;
    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ks->ctx);
    esession_status rc = lookup(ks, bare_jid, fingerprint, &at);
    if (rc != ESESSION_OK)
        return rc;
    es_ks_trust *t = ks->trust.v[at];
    int old = t->verified;
    t->verified = verified ? 1 : 0;
    rc = es_ks_put_trust(ks, t);
    if (rc != ESESSION_OK)
        t->verified = old;
    return rc;
}

esession_status esession_trust_set_verified(esession_keystore *ks, const char *bare_jid,
                                            const uint8_t fingerprint[ESESSION_FINGERPRINT_BYTES],
                                            int verified)
{
    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    esession_status rc = es_tx_begin(ks, 1);
    if (rc != ESESSION_OK)
        return rc;
    return es_tx_end(ks, esession_trust_set_verified_tx(ks, bare_jid, fingerprint, verified));
}

static esession_status esession_trust_remove_tx(esession_keystore *ks, const char *bare_jid,
                                      const uint8_t fingerprint[ESESSION_FINGERPRINT_BYTES])
{
    size_t at;
    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ks->ctx);
    esession_status rc = lookup(ks, bare_jid, fingerprint, &at);
    if (rc != ESESSION_OK)
        return rc;
    void *t = es_vec_take(&ks->trust, at);
    rc = es_ks_del_trust(ks, t);
    if (rc != ESESSION_OK) {
        es_vec_put_back(&ks->trust, at, t);
        return rc;
    }
    es_ks_trust_free(t);
    return ESESSION_OK;
}

esession_status esession_trust_remove(esession_keystore *ks, const char *bare_jid,
                                      const uint8_t fingerprint[ESESSION_FINGERPRINT_BYTES])
{
    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    esession_status rc = es_tx_begin(ks, 1);
    if (rc != ESESSION_OK)
        return rc;
    return es_tx_end(ks, esession_trust_remove_tx(ks, bare_jid, fingerprint));
}

esession_status esession_trust_check(const esession_keystore *ks, const char *bare_jid,
                                     const esession_key *key)
{
    uint8_t fp[ESESSION_FINGERPRINT_BYTES];
    size_t at;
    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ks->ctx);
    if (key == NULL)
        return es_fail(ks->ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL key");
    esession_status rc = esession_key_fingerprint(ks->ctx, key, fp);
    if (rc != ESESSION_OK || (rc = es_ks_fresh(ks)) != ESESSION_OK)
        return rc;
    return lookup(ks, bare_jid, fp, &at);
}

/* ---- records ------------------------------------------------------- */

/* JID, NUL, fingerprint: one entry per association. */
esession_status es_ks_trust_name(const es_ks_trust *t, uint8_t **name, size_t *len)
{
    size_t jl = strlen(t->jid);
    uint8_t *n = malloc(jl + 1 + ESESSION_FINGERPRINT_BYTES);
    if (n == NULL)
        return ESESSION_ERR_NO_MEMORY;
    memcpy(n, t->jid, jl + 1);
    memcpy(n + jl + 1, t->fp, ESESSION_FINGERPRINT_BYTES);
    *name = n;
    *len = jl + 1 + ESESSION_FINGERPRINT_BYTES;
    return ESESSION_OK;
}

esession_status es_ks_put_trust(esession_keystore *ks, const es_ks_trust *t)
{
    uint8_t *name = NULL;
    size_t name_len = 0;
    esession_buf b = {NULL, 0, 0};
    esession_status rc = es_ks_trust_name(t, &name, &name_len);
    if (rc != ESESSION_OK)
        return es_fail(ks->ctx, rc, "out of memory");
    rc = es_ks_trust_encode(ks->ctx, t, &b);
    if (rc == ESESSION_OK)
        rc = es_rec_put(ks, ES_REC_TRUST, name, name_len, NULL, b.data, b.len, NULL);
    esession_buf_free(&b);
    sodium_memzero(name, name_len); /* who one talks to: private */
    free(name);
    return rc;
}

esession_status es_ks_del_trust(esession_keystore *ks, const es_ks_trust *t)
{
    uint8_t *name = NULL;
    size_t name_len = 0;
    esession_status rc = es_ks_trust_name(t, &name, &name_len);
    if (rc != ESESSION_OK)
        return es_fail(ks->ctx, rc, "out of memory");
    rc = es_rec_del(ks, ES_REC_TRUST, name, name_len);
    sodium_memzero(name, name_len);
    free(name);
    return rc;
}

int es_ks_trust_verified(const esession_keystore *ks, const char *bare_jid,
                         const uint8_t fp[ESESSION_FINGERPRINT_BYTES])
{
    size_t at;
    /* Not known to be verified is what a failed refresh gives. */
    if (ks == NULL || bare_jid == NULL || fp == NULL || es_ks_fresh(ks) != ESESSION_OK)
        return 0;
    return find_entry(ks, bare_jid, strlen(bare_jid), fp, &at) &&
           ((const es_ks_trust *)ks->trust.v[at])->verified;
}
