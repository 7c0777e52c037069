/* SPDX-License-Identifier: ISC */
/* The key schedule (PROFILE §3, §4): K from the shared secret, the six
 * labelled keys, and C_B. */
#include "scrypto.h"

#include <string.h>

static const char *const labels[6] = {
    "Initiator Cipher Key", "Initiator MAC Key", "Initiator SIGMA Key",
    "Responder Cipher Key", "Responder MAC Key", "Responder SIGMA Key",
};

esession_status es_kdf(es_hash_alg hash, const uint8_t *key, size_t key_len,
                       const char *label, uint8_t *out)
{
    if (label == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    return es_hmac_oneshot(hash, key, key_len, (const uint8_t *)label, strlen(label), out);
}

/* A cipher key of L octets: the last L octets of its HMAC output. */
static void set_dir(es_dir_keys *d, es_suite suite, const uint8_t *kc_full,
                    const uint8_t *km_full)
{
    size_t hl = es_hash_size(suite.hash);
    d->suite = suite;
    d->kc_len = es_cipher_key_size(suite.cipher);
    d->km_len = hl;
    memcpy(d->kc, kc_full + (hl - d->kc_len), d->kc_len);
    memcpy(d->km, km_full, hl);
}

static esession_status check_suite(esession_ctx *ctx, es_suite suite)
{
    size_t hl = es_hash_size(suite.hash), kl = es_cipher_key_size(suite.cipher);
    if (hl == 0 || kl == 0)
        return es_fail(ctx, ESESSION_ERR_UNSUPPORTED, "unknown hash or cipher");
    /* Every supported hash is at least as long as every AES key. */
    if (kl > hl)
        return es_fail(ctx, ESESSION_ERR_UNSUPPORTED, "cipher key longer than the hash");
    return ESESSION_OK;
}

esession_status es_session_keys_from_k(esession_ctx *ctx, es_suite suite,
                                       const uint8_t *k, size_t k_len,
                                       es_session_keys **out)
{
    uint8_t kx[6][ES_HASH_MAX_BYTES];
    esession_status rc;
    es_session_keys *s;

    if (out == NULL || k == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "no K or output");
    if ((rc = check_suite(ctx, suite)) != ESESSION_OK)
        return rc;
    if (k_len != es_hash_size(suite.hash))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "K is not a %s output",
                       es_hash_name(suite.hash));
    if ((s = es_secret_alloc_in(ctx, sizeof *s)) == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of secure memory for keys");
    memset(s, 0, sizeof *s);
    /* HMAC(K, label) six times: K's keyed states are made once. */
    es_hmac *h = NULL;
    rc = es_hmac_new_in(ctx, &h, suite.hash, k, k_len);
    for (size_t i = 0; i < 6 && rc == ESESSION_OK; i++) {
        rc = es_hmac_update(h, (const uint8_t *)labels[i], strlen(labels[i]));
        if (rc == ESESSION_OK)
            rc = es_hmac_final(h, kx[i]);
    }
    es_hmac_free(h);
    if (rc != ESESSION_OK) {
        es_secret_free(s);
        ES_WIPE(kx);
        return es_fail(ctx, rc, "key derivation failed");
    }
    s->suite = suite;
    s->k_len = k_len;
    memcpy(s->k, k, k_len);
    set_dir(&s->a, suite, kx[0], kx[1]);
    memcpy(s->ks_a, kx[2], k_len);
    set_dir(&s->b, suite, kx[3], kx[4]);
    memcpy(s->ks_b, kx[5], k_len);
    ES_WIPE(kx);
    *out = s;
    return ESESSION_OK;
}

esession_status es_session_keys_derive(esession_ctx *ctx, es_suite suite,
                                       const uint8_t *shared, size_t n,
                                       es_session_keys **out)
{
    uint8_t k[ES_HASH_MAX_BYTES];
    esession_status rc;

    if (out == NULL || (shared == NULL && n > 0))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "no shared secret or output");
    if ((rc = check_suite(ctx, suite)) != ESESSION_OK)
        return rc;
    rc = es_hash_in(ctx, suite.hash, shared, n, k);
    if (rc != ESESSION_OK)
        rc = es_fail(ctx, rc, "HASH of the shared secret failed");
    else
        rc = es_session_keys_from_k(ctx, suite, k, es_hash_size(suite.hash), out);
    ES_WIPE(k);
    return rc;
}

static esession_status keys_dh(esession_ctx *ctx, es_suite suite, const es_dh *mine,
                               const uint8_t *peer, size_t peer_len, int checked,
                               es_session_keys **out)
{
    esession_buf shared = {NULL, 0, 0};
    esession_status rc;

    if (out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "no output");
    if ((rc = check_suite(ctx, suite)) != ESESSION_OK)
        return rc;
    rc = checked ? es_dh_shared_checked(ctx, mine, peer, peer_len, &shared)
                 : es_dh_shared(ctx, mine, peer, peer_len, &shared);
    if (rc != ESESSION_OK)
        return rc; /* es_dh_shared recorded the reason */
    rc = es_session_keys_derive(ctx, suite, (const uint8_t *)shared.data, shared.len, out);
    esession_buf_free(&shared);
    return rc;
}

esession_status es_session_keys_dh(esession_ctx *ctx, es_suite suite, const es_dh *mine,
                                   const uint8_t *peer, size_t peer_len,
                                   es_session_keys **out)
{
    return keys_dh(ctx, suite, mine, peer, peer_len, 0, out);
}

esession_status es_session_keys_dh_checked(esession_ctx *ctx, es_suite suite,
                                           const es_dh *mine, const uint8_t *peer,
                                           size_t peer_len, es_session_keys **out)
{
    return keys_dh(ctx, suite, mine, peer, peer_len, 1, out);
}

void es_session_keys_free(es_session_keys *keys)
{
    es_secret_free(keys); /* sodium_free wipes */
}

void es_dir_keys_free(es_dir_keys *keys)
{
    es_secret_free(keys);
}

void es_counter_b(const uint8_t c_a[ES_AES_BLOCK], uint8_t c_b[ES_AES_BLOCK])
{
    memmove(c_b, c_a, ES_AES_BLOCK);
    c_b[0] ^= 0x80;
}
