/* SPDX-License-Identifier: ISC */
/* Signatures over OpenSSL EVP_PKEY: rsa-sha256 (PKCS#1 v1.5) and
 * dsa-sha256 (r||s). The public key API is in esession.h. */
#ifndef ESESSION_SIG_H
#define ESESSION_SIG_H

#include "../core/core.h"

#include <openssl/evp.h>

#define ES_SIG_MAX_BYTES 1024 /* RSA-8192 */

#define ES_SIGN_ALG_RSA "http://www.w3.org/2000/09/xmldsig#rsa-sha256"
#define ES_SIGN_ALG_DSA "http://www.w3.org/2000/09/xmldsig#dsa-sha256"

struct esession_key {
    EVP_PKEY *pkey;
    esession_key_type type;
    unsigned bits;       /* modulus / p size */
    int has_private;
};

/* Wrap pkey (taking ownership on success) after checking the PROFILE
 * limits: RSA 2048..8192 bits; DSA (2048|3072, 256). */
esession_status es_key_wrap(esession_ctx *ctx, esession_key **out, EVP_PKEY *pkey);

/* The sign_algs URI of a key type. */
const char *es_key_sign_alg(esession_key_type type);

/* Sign msg with SHA-256 inside the scheme. RSA: k octets (modulus size);
 * DSA: r||s, 32 + 32 octets. sig must hold ES_SIG_MAX_BYTES. */
esession_status es_sign(esession_ctx *ctx, const esession_key *key,
                        const uint8_t *msg, size_t n, uint8_t *sig, size_t *siglen);

/* ESESSION_OK or ESESSION_ERR_BAD_SIGNATURE (a wrong length included). */
esession_status es_verify(esession_ctx *ctx, const esession_key *key,
                          const uint8_t *msg, size_t n, const uint8_t *sig, size_t siglen);

#endif
