/* SPDX-License-Identifier: ISC */
/* Re-key with Bob as initiator (PROFILE §9, XEP-0200 "Re-Key"): the
 * unhashed K' = e^y' = d'^x is the HMAC key of the new KC_B and KM_B. */
#include "scrypto.h"

#include <string.h>

#define LABEL_CRYPT "Rekey Initiator Crypt"
#define LABEL_MAC "Rekey Initiator MAC"

esession_status es_rekey_derive_labelled(esession_ctx *ctx, es_suite suite, const uint8_t *kp,
                                         size_t kp_len, const char *crypt_label,
                                         const char *mac_label, es_dir_keys **out)
{
    uint8_t kc[ES_HASH_MAX_BYTES], km[ES_HASH_MAX_BYTES];
    size_t hl = es_hash_size(suite.hash), cl = es_cipher_key_size(suite.cipher);
    es_dir_keys *d;
    esession_status rc;

    if (out == NULL || (kp == NULL && kp_len > 0))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "re-key: no K' or output");
    if (hl == 0 || cl == 0 || cl > hl)
        return es_fail(ctx, ESESSION_ERR_UNSUPPORTED, "re-key: unknown hash or cipher");
    rc = es_kdf(suite.hash, kp, kp_len, crypt_label, kc);
    if (rc == ESESSION_OK)
        rc = es_kdf(suite.hash, kp, kp_len, mac_label, km);
    if (rc != ESESSION_OK) {
        rc = es_fail(ctx, rc, "re-key: key derivation failed");
        goto out;
    }
    if ((d = es_secret_alloc_in(ctx, sizeof *d)) == NULL) {
        rc = es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of secure memory for keys");
        goto out;
    }
    memset(d, 0, sizeof *d);
    d->suite = suite;
    d->kc_len = cl;
    d->km_len = hl;
    memcpy(d->kc, kc + (hl - cl), cl); /* the last L octets */
    memcpy(d->km, km, hl);
    *out = d;
out:
    ES_WIPE(kc);
    ES_WIPE(km);
    return rc;
}

esession_status es_rekey_derive(esession_ctx *ctx, es_suite suite, const uint8_t *kp,
                                size_t kp_len, es_dir_keys **out)
{
    return es_rekey_derive_labelled(ctx, suite, kp, kp_len, LABEL_CRYPT, LABEL_MAC, out);
}

/* K' = peer^mine (peer validated by es_dh_shared), then the keys. */
static esession_status from_dh(esession_ctx *ctx, es_suite suite, const es_dh *mine,
                               const uint8_t *peer, size_t peer_len, es_dir_keys **out)
{
    esession_buf kp = {NULL, 0, 0};
    esession_status rc = es_dh_shared(ctx, mine, peer, peer_len, &kp);

    if (rc != ESESSION_OK)
        return rc; /* es_dh_shared recorded the reason */
    rc = es_rekey_derive(ctx, suite, (const uint8_t *)kp.data, kp.len, out);
    esession_buf_free(&kp);
    return rc;
}

esession_status es_rekey_initiate(esession_ctx *ctx, es_suite suite, int group,
                                  const uint8_t *e, size_t e_len, const uint8_t *y,
                                  size_t y_len, esession_buf *d_prime, es_dir_keys **out)
{
    esession_buf d = {NULL, 0, 0};
    es_dir_keys *keys = NULL;
    es_dh *dh = NULL;
    esession_status rc;

    if (d_prime == NULL || out == NULL || (y == NULL && y_len > 0))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "re-key: bad arguments");
    if (y != NULL)
        rc = es_dh_from_private(ctx, &dh, group, y, y_len);
    else
        rc = es_dh_generate(ctx, &dh, group);
    if (rc != ESESSION_OK)
        return rc;
    rc = es_dh_public(dh, &d);
    if (rc != ESESSION_OK)
        rc = es_fail(ctx, rc, "out of memory for d'");
    else
        rc = from_dh(ctx, suite, dh, e, e_len, &keys);
    es_dh_free(dh); /* y' is not needed again: Alice never answers */
    if (rc != ESESSION_OK) {
        esession_buf_free(&d);
        return rc;
    }
    *d_prime = d;
    *out = keys;
    return ESESSION_OK;
}

esession_status es_rekey_accept(esession_ctx *ctx, es_suite suite, const es_dh *x,
                                const uint8_t *d_prime, size_t d_prime_len,
                                es_dir_keys **out)
{
    if (x == NULL || out == NULL || (d_prime == NULL && d_prime_len > 0))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "re-key: bad arguments");
    return from_dh(ctx, suite, x, d_prime, d_prime_len, out);
}
