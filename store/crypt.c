/* SPDX-License-Identifier: ISC */
/* Keystore envelope: header, Argon2id, XChaCha20-Poly1305 (libsodium). */
#include "crypt.h"

#include "../core/bytes.h"

#include <stdlib.h>
#include <string.h>

/* Header offsets (docs/keystore.md). */
#define OFF_VERSION 8u
#define OFF_KDF 10u
#define OFF_AEAD 11u
#define OFF_OPSLIMIT 12u
#define OFF_MEMLIMIT 20u
#define OFF_SALT 28u
#define OFF_NONCE (OFF_SALT + ES_KS_SALT_BYTES)
#define OFF_CTLEN (OFF_NONCE + ES_KS_NONCE_BYTES)

_Static_assert(OFF_CTLEN + 4u == ES_KS_HEADER_BYTES, "header layout");
_Static_assert(sizeof ES_KS_MAGIC - 1u == ES_KS_MAGIC_BYTES, "magic length");
_Static_assert(ES_KS_SALT_BYTES == crypto_pwhash_argon2id_SALTBYTES, "salt size");
_Static_assert(ES_KS_NONCE_BYTES == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce");
_Static_assert(ES_KS_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "key size");
_Static_assert(ES_KS_TAG_BYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag size");
_Static_assert(ES_KS_BODY_MAX + (uint64_t)ES_KS_TAG_BYTES <= UINT32_MAX, "length field");

int es_kdf_params_ok(uint64_t opslimit, uint64_t memlimit)
{
    return opslimit >= crypto_pwhash_argon2id_OPSLIMIT_MIN && opslimit <= ES_KS_OPSLIMIT_MAX &&
           memlimit >= crypto_pwhash_argon2id_MEMLIMIT_MIN && memlimit <= ES_KS_MEMLIMIT_MAX;
}

esession_status es_kdf_resolve(esession_ctx *ctx, const esession_keystore_options *opt,
                               const es_ks_kdf *base, es_ks_kdf *out)
{
    uint64_t ops = base->opslimit;
    uint64_t mem = base->memlimit;

    if (opt != NULL) {
        if (opt->version != ESESSION_KEYSTORE_OPTIONS_VERSION)
            return es_fail(ctx, ESESSION_ERR_VERSION, "unknown keystore options version %u",
                           opt->version);
        ops = opt->kdf_opslimit != 0 ? opt->kdf_opslimit
                                     : crypto_pwhash_argon2id_OPSLIMIT_MODERATE;
        mem = opt->kdf_memlimit != 0 ? (uint64_t)opt->kdf_memlimit
                                     : crypto_pwhash_argon2id_MEMLIMIT_MODERATE;
    }
    if (!es_kdf_params_ok(ops, mem))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT,
                       "KDF cost outside opslimit %u..%u, memlimit %u..%u",
                       (unsigned)crypto_pwhash_argon2id_OPSLIMIT_MIN, ES_KS_OPSLIMIT_MAX,
                       (unsigned)crypto_pwhash_argon2id_MEMLIMIT_MIN, ES_KS_MEMLIMIT_MAX);
    out->opslimit = ops;
    out->memlimit = mem;
    return ESESSION_OK;
}

esession_status es_kdf_derive(esession_ctx *ctx, const es_ks_kdf *kdf, const char *pass,
                              size_t pass_len, uint8_t **key)
{
    static const char empty[1] = "";
    if (!es_kdf_params_ok(kdf->opslimit, kdf->memlimit))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "KDF cost out of range");
    uint8_t *k = es_guarded_alloc(ES_KS_KEY_BYTES);
    if (k == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    if (crypto_pwhash(k, ES_KS_KEY_BYTES, pass != NULL ? pass : empty, pass_len, kdf->salt,
                      (unsigned long long)kdf->opslimit, (size_t)kdf->memlimit,
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
        es_guarded_free(k);
        /* Argon2id fails only when it cannot get its memory. */
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "Argon2id could not run");
    }
    (void)sodium_mprotect_noaccess(k);
    *key = k;
    return ESESSION_OK;
}

static void write_header(uint8_t *h, const es_ks_kdf *kdf, const uint8_t *nonce, uint32_t ct_len)
{
    memcpy(h, ES_KS_MAGIC, ES_KS_MAGIC_BYTES);
    es_be_put(h + OFF_VERSION, ES_KS_FORMAT_VERSION, 2);
    h[OFF_KDF] = ES_KS_KDF_ARGON2ID13;
    h[OFF_AEAD] = ES_KS_AEAD_XCHACHA20POLY1305;
    es_be_put(h + OFF_OPSLIMIT, kdf->opslimit, 8);
    es_be_put(h + OFF_MEMLIMIT, kdf->memlimit, 8);
    memcpy(h + OFF_SALT, kdf->salt, ES_KS_SALT_BYTES);
    memcpy(h + OFF_NONCE, nonce, ES_KS_NONCE_BYTES);
    es_be_put(h + OFF_CTLEN, ct_len, 4);
}

esession_status es_ks_seal(esession_ctx *ctx, const es_ks_kdf *kdf, uint8_t *key,
                           const uint8_t *body, size_t body_len, uint8_t **file,
                           size_t *file_len)
{
    uint8_t nonce[ES_KS_NONCE_BYTES];
    unsigned long long clen = 0;

    if (body_len > ES_KS_BODY_MAX)
        return es_fail(ctx, ESESSION_ERR_LIMIT, "keystore larger than %u octets",
                       ES_KS_BODY_MAX);
    esession_status rc = es_random(ctx, nonce, sizeof nonce);
    if (rc != ESESSION_OK)
        return rc;
    size_t total = ES_KS_HEADER_BYTES + body_len + ES_KS_TAG_BYTES;
    uint8_t *out = malloc(total);
    if (out == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    write_header(out, kdf, nonce, (uint32_t)(body_len + ES_KS_TAG_BYTES));
    (void)sodium_mprotect_readonly(key);
    int r = crypto_aead_xchacha20poly1305_ietf_encrypt(out + ES_KS_HEADER_BYTES, &clen, body,
                                                       body_len, out, ES_KS_HEADER_BYTES,
                                                       NULL, nonce, key);
    (void)sodium_mprotect_noaccess(key);
    if (r != 0 || clen != body_len + ES_KS_TAG_BYTES) {
        free(out);
        return es_fail(ctx, ESESSION_ERR_INTERNAL, "XChaCha20-Poly1305 failed");
    }
    *file = out;
    *file_len = total;
    return ESESSION_OK;
}

esession_status es_ks_parse_header(esession_ctx *ctx, const uint8_t *file, size_t len,
                                   es_ks_kdf *kdf)
{
    if (len < ES_KS_MAGIC_BYTES || memcmp(file, ES_KS_MAGIC, ES_KS_MAGIC_BYTES) != 0)
        return es_fail(ctx, ESESSION_ERR_CORRUPT, "not a keystore");
    if (len < ES_KS_HEADER_BYTES)
        return es_fail(ctx, ESESSION_ERR_CORRUPT, "truncated keystore header");
    uint64_t version = es_be_get(file + OFF_VERSION, 2);
    if (version != ES_KS_FORMAT_VERSION)
        return es_fail(ctx, ESESSION_ERR_CORRUPT, "unknown keystore format version %u",
                       (unsigned)version);
    if (file[OFF_KDF] != ES_KS_KDF_ARGON2ID13 || file[OFF_AEAD] != ES_KS_AEAD_XCHACHA20POLY1305)
        return es_fail(ctx, ESESSION_ERR_CORRUPT, "unknown keystore algorithm");
    uint64_t ops = es_be_get(file + OFF_OPSLIMIT, 8);
    uint64_t mem = es_be_get(file + OFF_MEMLIMIT, 8);
    if (!es_kdf_params_ok(ops, mem))
        return es_fail(ctx, ESESSION_ERR_CORRUPT, "keystore KDF cost out of bounds");
    uint64_t ct_len = es_be_get(file + OFF_CTLEN, 4);
    if (ct_len < ES_KS_TAG_BYTES || ct_len > (uint64_t)ES_KS_BODY_MAX + ES_KS_TAG_BYTES)
        return es_fail(ctx, ESESSION_ERR_CORRUPT, "keystore body length out of bounds");
    if (len - ES_KS_HEADER_BYTES != ct_len)
        return es_fail(ctx, ESESSION_ERR_CORRUPT, "keystore truncated or extended");
    kdf->opslimit = ops;
    kdf->memlimit = mem;
    memcpy(kdf->salt, file + OFF_SALT, ES_KS_SALT_BYTES);
    return ESESSION_OK;
}

esession_status es_ks_unseal(esession_ctx *ctx, const uint8_t *file, size_t len,
                             uint8_t *key, uint8_t **body, size_t *body_len)
{
    unsigned long long mlen = 0;
    if (len < ES_KS_HEADER_BYTES + ES_KS_TAG_BYTES)
        return es_fail(ctx, ESESSION_ERR_CORRUPT, "truncated keystore");
    size_t n = len - ES_KS_HEADER_BYTES - ES_KS_TAG_BYTES;
    uint8_t *m = es_secret_alloc_in(ctx, n);
    if (m == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    (void)sodium_mprotect_readonly(key);
    int r = crypto_aead_xchacha20poly1305_ietf_decrypt(
        m, &mlen, NULL, file + ES_KS_HEADER_BYTES, len - ES_KS_HEADER_BYTES, file,
        ES_KS_HEADER_BYTES, file + OFF_NONCE, key);
    (void)sodium_mprotect_noaccess(key);
    if (r != 0 || mlen != n) {
        es_secret_free(m);
        return es_fail(ctx, ESESSION_ERR_BAD_PASSPHRASE, "wrong passphrase or altered file");
    }
    *body = m;
    *body_len = n;
    return ESESSION_OK;
}
