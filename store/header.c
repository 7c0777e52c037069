/* SPDX-License-Identifier: ISC */
/* The store header (header.h). */
#include "header.h"

#include "../core/bytes.h"

#include <string.h>

#define OFF_FORMAT 8u
#define OFF_KDF 10u
#define OFF_AEAD 11u
#define OFF_OPS 12u
#define OFF_MEM 20u
#define OFF_SALT 28u
#define OFF_ID (OFF_SALT + ES_KS_SALT_BYTES)
#define OFF_NONCE (OFF_ID + ES_STORE_ID_BYTES)
#define OFF_WRAP (OFF_NONCE + ES_KS_NONCE_BYTES)

_Static_assert(OFF_WRAP + ES_KS_KEY_BYTES + ES_KS_TAG_BYTES == ES_HDR_BYTES, "header layout");
_Static_assert(sizeof ES_HDR_MAGIC - 1u == 8u, "magic length");
_Static_assert(ES_KS_OPSLIMIT_MAX == crypto_pwhash_argon2id_OPSLIMIT_SENSITIVE, "KDF bound");
_Static_assert(ES_KS_MEMLIMIT_MAX == crypto_pwhash_argon2id_MEMLIMIT_SENSITIVE, "KDF bound");

esession_status es_hdr_write(esession_ctx *ctx, const es_ks_kdf *kdf,
                             const uint8_t store_id[ES_STORE_ID_BYTES], uint8_t *pass_key,
                             const uint8_t *store_key, uint8_t h[ES_HDR_BYTES])
{
    memcpy(h, ES_HDR_MAGIC, 8);
    es_be_put(h + OFF_FORMAT, ES_HDR_FORMAT, 2);
    h[OFF_KDF] = ES_KS_KDF_ARGON2ID13;
    h[OFF_AEAD] = ES_KS_AEAD_XCHACHA20POLY1305;
    es_be_put(h + OFF_OPS, kdf->opslimit, 8);
    es_be_put(h + OFF_MEM, kdf->memlimit, 8);
    memcpy(h + OFF_SALT, kdf->salt, ES_KS_SALT_BYTES);
    memcpy(h + OFF_ID, store_id, ES_STORE_ID_BYTES);
    esession_status rc = es_random(ctx, h + OFF_NONCE, ES_KS_NONCE_BYTES);
    if (rc != ESESSION_OK)
        return rc;
    (void)sodium_mprotect_readonly(pass_key);
    int r = crypto_aead_xchacha20poly1305_ietf_encrypt(h + OFF_WRAP, NULL, store_key,
                                                       ES_KS_KEY_BYTES, h, OFF_NONCE, NULL,
                                                       h + OFF_NONCE, pass_key);
    (void)sodium_mprotect_noaccess(pass_key);
    if (r != 0)
        return es_fail(ctx, ESESSION_ERR_INTERNAL, "XChaCha20-Poly1305 failed");
    return ESESSION_OK;
}

esession_status es_hdr_read(esession_ctx *ctx, const uint8_t *h, size_t len, es_ks_kdf *kdf,
                            uint8_t store_id[ES_STORE_ID_BYTES])
{
    if (len != ES_HDR_BYTES || memcmp(h, ES_HDR_MAGIC, 8) != 0)
        return es_fail(ctx, ESESSION_ERR_CORRUPT, "not a keystore header");
    if (es_be_get(h + OFF_FORMAT, 2) != ES_HDR_FORMAT || h[OFF_KDF] != ES_KS_KDF_ARGON2ID13 ||
        h[OFF_AEAD] != ES_KS_AEAD_XCHACHA20POLY1305)
        return es_fail(ctx, ESESSION_ERR_CORRUPT, "unknown keystore format or algorithm");
    uint64_t ops = es_be_get(h + OFF_OPS, 8), mem = es_be_get(h + OFF_MEM, 8);
    if (!es_kdf_params_ok(ops, mem))
        return es_fail(ctx, ESESSION_ERR_CORRUPT, "keystore KDF cost out of bounds");
    kdf->opslimit = ops;
    kdf->memlimit = mem;
    memcpy(kdf->salt, h + OFF_SALT, ES_KS_SALT_BYTES);
    memcpy(store_id, h + OFF_ID, ES_STORE_ID_BYTES);
    return ESESSION_OK;
}

esession_status es_hdr_unwrap(esession_ctx *ctx, const uint8_t h[ES_HDR_BYTES],
                              uint8_t *pass_key, uint8_t *store_key)
{
    (void)sodium_mprotect_readonly(pass_key);
    int r = crypto_aead_xchacha20poly1305_ietf_decrypt(store_key, NULL, NULL, h + OFF_WRAP,
                                                       ES_KS_KEY_BYTES + ES_KS_TAG_BYTES, h,
                                                       OFF_NONCE, h + OFF_NONCE, pass_key);
    (void)sodium_mprotect_noaccess(pass_key);
    if (r != 0)
        return es_fail(ctx, ESESSION_ERR_BAD_PASSPHRASE,
                       "wrong passphrase, or the keystore header was altered");
    return ESESSION_OK;
}
