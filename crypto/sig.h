/* SPDX-License-Identifier: ISC */
/* Signatures over OpenSSL EVP_PKEY: rsa-sha256 (PKCS#1 v1.5) and
 * dsa-sha256 (r||s). The public key API is in esession.h. */
#ifndef ESESSION_SIG_H
#define ESESSION_SIG_H

#include "../core/core.h"

#include <openssl/evp.h>

#define ES_SIG_MAX_BYTES 1024 /* RSA-8192 */
#define ES_DSA_SIG_BYTES 64   /* r || s, N = 256 */

/* Longest <KeyValue> text parsed at all; longer is ESESSION_ERR_LIMIT.
 * The largest acceptable key (RSA-8192) needs under 2,800 characters. */
#define ES_KEYVALUE_MAX 16384

#define ES_SIGN_ALG_RSA "http://www.w3.org/2000/09/xmldsig#rsa-sha256"
#define ES_SIGN_ALG_DSA "http://www.w3.org/2000/09/xmldsig#dsa-sha256"

struct esession_key {
    EVP_PKEY *pkey;
    esession_key_type type;
    unsigned bits;       /* modulus / p size */
    int has_private;
    esession_buf kv;     /* its normalized <KeyValue>, made once by es_key_wrap */
    uint8_t fp[32];      /* SHA-256 of kv (its fingerprint), when has_fp */
    int has_fp;
};

/* Wrap pkey (taking ownership on success) after checking the PROFILE
 * limits: RSA 2048..8192 bits; DSA (2048|3072, 256). Anything else is
 * ESESSION_ERR_BAD_KEY and pkey stays the caller's. */
esession_status es_key_wrap(esession_ctx *ctx, esession_key **out, EVP_PKEY *pkey);

/* A second handle on key (the same OpenSSL key, its reference count
 * raised): freed with esession_key_free like any key. */
esession_status es_key_dup(esession_ctx *ctx, const esession_key *key, esession_key **out);

/* The normalized <KeyValue> of key's public part, encoded from its
 * integers (es_key_wrap keeps it in key->kv). */
esession_status es_key_keyvalue_encode(const esession_key *key, esession_buf *out);

/* The sign_algs URI of a key type; NULL for an unknown type. */
const char *es_key_sign_alg(esession_key_type type);

/* The key type a sign_algs URI names (exact match), or
 * ESESSION_ERR_UNSUPPORTED. PROFILE §11: a key whose type differs from
 * the chosen sign_algs is bad-signature. */
esession_status es_key_type_for_alg(const char *uri, size_t len, esession_key_type *type);

/* "" or, once the program set up OpenSSL's secure heap
 * (esession_secure_heap_init), a note that it may be full: OpenSSL reports
 * that as a failure to decode, encode, generate or sign. */
const char *es_secure_heap_hint(void);

/* Sign msg with SHA-256 inside the scheme. RSA: k octets (modulus size);
 * DSA: r||s, 32 + 32 octets. sig must hold ES_SIG_MAX_BYTES. A key without
 * its private part is ESESSION_ERR_STATE. */
esession_status es_sign(esession_ctx *ctx, const esession_key *key,
                        const uint8_t *msg, size_t n, uint8_t *sig, size_t *siglen);

/* ESESSION_OK or ESESSION_ERR_BAD_SIGNATURE (a wrong length included);
 * ESESSION_ERR_INVALID_ARGUMENT only for NULL pointers. */
/* A context set up to verify RSASSA-PKCS1-v1_5 SHA-256 signatures of
 * the RSA public key pkey over a digest (EVP_PKEY_verify), kept by ctx for
 * its last ES_VERIFIERS keys (holding a reference to each: never give a
 * private key); NULL without a context or on failure. */
EVP_PKEY_CTX *es_ctx_rsa_verifier(const esession_ctx *ctx, EVP_PKEY *pkey);

esession_status es_verify(esession_ctx *ctx, const esession_key *key,
                          const uint8_t *msg, size_t n, const uint8_t *sig, size_t siglen);

#endif
