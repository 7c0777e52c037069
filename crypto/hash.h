/* SPDX-License-Identifier: ISC */
/* HASH and HMAC: sha256, sha512 (OpenSSL EVP), whirlpool (own code). */
#ifndef ESESSION_HASH_H
#define ESESSION_HASH_H

#include "../core/core.h"

#include <openssl/evp.h>

typedef enum es_hash_alg {
    ES_HASH_SHA256 = 1,
    ES_HASH_SHA512 = 2,
    ES_HASH_WHIRLPOOL = 3
} es_hash_alg;

#define ES_HASH_MAX_BYTES 64

/* Output size in octets (32, 64, 64); 0 for an unknown alg. */
size_t es_hash_size(es_hash_alg alg);
/* Protocol name ("sha256", "sha512", "whirlpool"), NULL if unknown. */
const char *es_hash_name(es_hash_alg alg);
/* From a protocol name (exact, case-sensitive); ESESSION_ERR_UNSUPPORTED. */
esession_status es_hash_from_name(const char *name, size_t len, es_hash_alg *out);

/* One-shot HASH(in) into out (es_hash_size(alg) octets). The library's
 * one hash path: every digest (ids, replay memory, fingerprints) is made
 * here. */
esession_status es_hash(es_hash_alg alg, const uint8_t *in, size_t n, uint8_t *out);

/* The same with the digest ctx fetched once (ctx NULL: as es_hash). */
esession_status es_hash_in(const esession_ctx *ctx, es_hash_alg alg, const uint8_t *in, size_t n,
                           uint8_t *out);

/* sha256 or sha512 as fetched once by ctx (freed with it), or NULL (no
 * context, whirlpool, or the fetch failed: callers use OpenSSL's built-in
 * handle, which is fetched again at each use). */
const EVP_MD *es_ctx_md(const esession_ctx *ctx, es_hash_alg alg);

/* One piece of a message hashed in parts. */
typedef struct es_span {
    const void *p;
    size_t n;
} es_span;

/* HASH(parts[0] || ... || parts[count - 1]) into out. */
esession_status es_hash_parts(es_hash_alg alg, const es_span *parts, size_t count,
                              uint8_t *out);

/* A keyed HMAC: the key is processed once and the object reused for any
 * number of messages (per-message set-up dominates small stanzas). */
typedef struct es_hmac es_hmac;

esession_status es_hmac_new(es_hmac **out, es_hash_alg alg, const uint8_t *key, size_t keylen);
/* The same, the object in ctx's pool of secret memory (NULL: a region of
 * its own, as es_hmac_new). */
esession_status es_hmac_new_in(const esession_ctx *ctx, es_hmac **out, es_hash_alg alg,
                               const uint8_t *key, size_t keylen);
/* Replace the key, keeping the algorithm; on failure the old key stays. */
esession_status es_hmac_rekey(es_hmac *h, const uint8_t *key, size_t keylen);
/* Start a message; then update any number of times; final writes the tag
 * (es_hash_size octets) and leaves h ready for the next message. */
esession_status es_hmac_begin(es_hmac *h);
esession_status es_hmac_update(es_hmac *h, const uint8_t *in, size_t n);
esession_status es_hmac_final(es_hmac *h, uint8_t *out);
/* Copy the message in progress of src (what was fed since its last
 * final) into dst, so a common prefix is hashed once and finished several
 * ways. dst must be keyed with the same key as src (its keyed states are
 * kept, not copied); same algorithm, else ESESSION_ERR_INVALID_ARGUMENT. */
esession_status es_hmac_copy_message(es_hmac *dst, const es_hmac *src);
es_hash_alg es_hmac_alg(const es_hmac *h);
void es_hmac_free(es_hmac *h);

/* One-shot HMAC(key, msg). */
esession_status es_hmac_oneshot(es_hash_alg alg, const uint8_t *key, size_t keylen,
                                const uint8_t *msg, size_t n, uint8_t *out);

#endif
