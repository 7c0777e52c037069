/* SPDX-License-Identifier: ISC */
/* The keystore file envelope: header, Argon2id key derivation and
 * XChaCha20-Poly1305 over the body with the header as associated data
 * (libsodium). Layout: docs/keystore.md. */
#ifndef ESESSION_STORE_CRYPT_H
#define ESESSION_STORE_CRYPT_H

#include "../core/core.h"

#define ES_KS_FORMAT_VERSION 1u
#define ES_KS_MAGIC "\x89" "ESKS\r\n\x1a"
#define ES_KS_MAGIC_BYTES 8u
#define ES_KS_SALT_BYTES 16u
#define ES_KS_NONCE_BYTES 24u
#define ES_KS_KEY_BYTES 32u
#define ES_KS_TAG_BYTES 16u
#define ES_KS_HEADER_BYTES 72u
#define ES_KS_KDF_ARGON2ID13 1u
#define ES_KS_AEAD_XCHACHA20POLY1305 1u
/* The largest plaintext body written or read. */
#define ES_KS_BODY_MAX (64u * 1024u * 1024u)
#define ES_KS_FILE_MAX (ES_KS_HEADER_BYTES + ES_KS_BODY_MAX + ES_KS_TAG_BYTES)
/* KDF costs a header may ask for; beyond them a file is corrupt (it must
 * not make us spend unbounded memory or time). */
/* The most the library itself would choose (libsodium's SENSITIVE: 4
 * passes, 1 GiB); a header asking for more is damaged or hostile. */
#define ES_KS_OPSLIMIT_MAX 4u
#define ES_KS_MEMLIMIT_MAX (1024u * 1024u * 1024u)

typedef struct es_ks_kdf {
    uint64_t opslimit;
    uint64_t memlimit; /* octets */
    uint8_t salt[ES_KS_SALT_BYTES];
} es_ks_kdf;

/* 1 if the costs are within [libsodium's minimum, our maximum]. */
int es_kdf_params_ok(uint64_t opslimit, uint64_t memlimit);

/* The costs asked for by opt: NULL keeps *base; a zero member means
 * libsodium's MODERATE. Out of range: ESESSION_ERR_INVALID_ARGUMENT; a
 * wrong opt->version: ESESSION_ERR_VERSION. The salt is not touched. */
esession_status es_kdf_resolve(esession_ctx *ctx, const esession_keystore_options *opt,
                               const es_ks_kdf *base, es_ks_kdf *out);

/* Derive the file key into guarded memory (left with no access; free it
 * with es_guarded_free). */
esession_status es_kdf_derive(esession_ctx *ctx, const es_ks_kdf *kdf, const char *pass,
                              size_t pass_len, uint8_t **key);

/* Encrypt body under key with a fresh random nonce: *file (malloc'ed) is
 * the header followed by the ciphertext. */
esession_status es_ks_seal(esession_ctx *ctx, const es_ks_kdf *kdf, uint8_t *key,
                           const uint8_t *body, size_t body_len, uint8_t **file,
                           size_t *file_len);

/* Check the header of a whole file and read its KDF parameters.
 * Anything but a complete version-1 keystore: ESESSION_ERR_CORRUPT. */
esession_status es_ks_parse_header(esession_ctx *ctx, const uint8_t *file, size_t len,
                                   es_ks_kdf *kdf);

/* Authenticate and decrypt a file whose header parsed: *body in guarded
 * memory (es_secret_free). A wrong key or any altered octet:
 * ESESSION_ERR_BAD_PASSPHRASE. */
esession_status es_ks_unseal(esession_ctx *ctx, const uint8_t *file, size_t len,
                             uint8_t *key, uint8_t **body, size_t *body_len);

#endif
