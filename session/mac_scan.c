/* SPDX-License-Identifier: ISC */
/* Trying many start counters for one stanza (PROFILE §11): a_mac =
 * HMAC(KM, m_content || S) shares the prefix m_content, so it is hashed
 * once per stanza and epoch and each candidate S costs one HMAC finish.
 * SHA-256 and SHA-512 use libsodium's HMAC states, plain data copied by
 * assignment (no allocation per candidate); whirlpool goes through
 * es_hmac_copy_message. */
#include "receiver.h"

#include <stdlib.h>
#include <string.h>

typedef union sha2_state {
    crypto_auth_hmacsha256_state s256;
    crypto_auth_hmacsha512_state s512;
} sha2_state;

/* Keyed and prefixed states live in guarded memory: they are as good as
 * the MAC key. */
typedef struct sha2_states {
    sha2_state keyed, prefix, work;
} sha2_states;

struct es_rx_scan {
    es_hash_alg alg;
    size_t mac_len;
    sha2_states *sha2;    /* sha256, sha512 */
    es_hmac *prefix;      /* whirlpool: holds m_content once prefixed */
    es_hmac *work;
    int ready;
};

esession_status es_rx_scan_new(const esession_ctx *ctx, const es_dir_keys *keys,
                               es_rx_scan **out)
{
    es_rx_scan *s;
    esession_status rc = ESESSION_OK;

    if (keys == NULL || out == NULL || keys->km_len == 0 ||
        keys->km_len != es_hash_size(keys->suite.hash))
        return ESESSION_ERR_INVALID_ARGUMENT;
    if ((s = calloc(1, sizeof *s)) == NULL)
        return ESESSION_ERR_NO_MEMORY;
    s->alg = keys->suite.hash;
    s->mac_len = keys->km_len;
    if (s->alg == ES_HASH_SHA256 || s->alg == ES_HASH_SHA512) {
        if ((s->sha2 = es_secret_alloc_in(ctx, sizeof *s->sha2)) == NULL)
            rc = ESESSION_ERR_NO_MEMORY;
        else if (s->alg == ES_HASH_SHA256)
            (void)crypto_auth_hmacsha256_init(&s->sha2->keyed.s256, keys->km, keys->km_len);
        else
            (void)crypto_auth_hmacsha512_init(&s->sha2->keyed.s512, keys->km, keys->km_len);
    } else {
        rc = es_hmac_new_in(ctx, &s->prefix, s->alg, keys->km, keys->km_len);
        if (rc == ESESSION_OK)
            rc = es_hmac_new_in(ctx, &s->work, s->alg, keys->km, keys->km_len);
    }
    if (rc != ESESSION_OK) {
        es_rx_scan_free(s);
        return rc;
    }
    *out = s;
    return ESESSION_OK;
}

esession_status es_rx_scan_prefix(es_rx_scan *s, const uint8_t *m, size_t n)
{
    esession_status rc = ESESSION_OK;

    if (s == NULL || (m == NULL && n > 0))
        return ESESSION_ERR_INVALID_ARGUMENT;
    s->ready = 0;
    if (s->sha2 != NULL) {
        s->sha2->prefix = s->sha2->keyed;
        if (s->alg == ES_HASH_SHA256)
            (void)crypto_auth_hmacsha256_update(&s->sha2->prefix.s256, m, n);
        else
            (void)crypto_auth_hmacsha512_update(&s->sha2->prefix.s512, m, n);
    } else {
        rc = es_hmac_begin(s->prefix);
        if (rc == ESESSION_OK && n > 0)
            rc = es_hmac_update(s->prefix, m, n);
    }
    if (rc == ESESSION_OK)
        s->ready = 1;
    return rc;
}

int es_rx_scan_try(es_rx_scan *s, const uint8_t ctr[ES_AES_BLOCK], const uint8_t *mac,
                   size_t mac_len)
{
    uint8_t want[ES_HASH_MAX_BYTES];
    esession_status rc = ESESSION_OK;
    int same;

    if (s == NULL || !s->ready || ctr == NULL || mac == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (mac_len != s->mac_len)
        return 0;
    if (s->sha2 != NULL && s->alg == ES_HASH_SHA256) {
        s->sha2->work = s->sha2->prefix;
        (void)crypto_auth_hmacsha256_update(&s->sha2->work.s256, ctr, ES_AES_BLOCK);
        (void)crypto_auth_hmacsha256_final(&s->sha2->work.s256, want);
    } else if (s->sha2 != NULL) {
        s->sha2->work = s->sha2->prefix;
        (void)crypto_auth_hmacsha512_update(&s->sha2->work.s512, ctr, ES_AES_BLOCK);
        (void)crypto_auth_hmacsha512_final(&s->sha2->work.s512, want);
    } else {
        rc = es_hmac_copy_message(s->work, s->prefix);
        if (rc == ESESSION_OK)
            rc = es_hmac_update(s->work, ctr, ES_AES_BLOCK);
        if (rc == ESESSION_OK)
            rc = es_hmac_final(s->work, want);
        if (rc != ESESSION_OK) {
            (void)es_hmac_begin(s->work);
            return rc;
        }
    }
    same = es_ct_equal(want, mac, mac_len);
    sodium_memzero(want, sizeof want);
    return same;
}

void es_rx_scan_free(es_rx_scan *s)
{
    if (s == NULL)
        return;
    es_secret_free(s->sha2); /* wiped */
    es_hmac_free(s->prefix);
    es_hmac_free(s->work);
    free(s);
}
