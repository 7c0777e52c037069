/* SPDX-License-Identifier: ISC */
/* Constant-time modular exponentiation backends behind es_modexp_sec. */
#ifndef ESESSION_MODEXP_H
#define ESESSION_MODEXP_H

#include "../core/core.h"

#include <gmp.h>
#include <openssl/bn.h>

/* Largest modulus, exponent or base accepted, in bits (MODP stops at 8192). */
#define ES_MODEXP_MAX_BITS 16384u

/* The backends' preconditions: m odd and > 1, e > 0, 0 <= b < m.
 * ESESSION_ERR_INVALID_ARGUMENT if one fails, ESESSION_ERR_LIMIT if m or e
 * has more than ES_MODEXP_MAX_BITS bits. */
esession_status es_modexp_check(const mpz_t b, const mpz_t e, const mpz_t m);

/* r = b^e mod m in time independent of e's value (its bit length shows).
 * Both check es_modexp_check first and leave r untouched on failure. r may
 * be reallocated: give it room for m's bits so no secret copy is left. */
esession_status es_modexp_gmp(mpz_t r, const mpz_t b, const mpz_t e, const mpz_t m);
esession_status es_modexp_openssl(mpz_t r, const mpz_t b, const mpz_t e, const mpz_t m);
/* The same with m also given in OpenSSL's form (m_bn, and its Montgomery
 * context, set up once by the caller) and scratch from ctx's pool. */
esession_status es_modexp_openssl_mont(const esession_ctx *ctx, mpz_t r, const mpz_t b,
                                       const mpz_t e, const mpz_t m, const BIGNUM *m_bn,
                                       BN_MONT_CTX *mont);

/* 2^e modulo p from a table made once for p (modexp_fixed.c): for p of up
 * to ES_FIXED_BASE_LIMBS 64-bit limbs (3072 bits) and exponents of up to
 * max_bits bits, whose window table takes max_bits/4 × 16 × p's size
 * (320 KiB for 2048 bits and 320-bit exponents). new: NULL when out of
 * memory or p is not such a prime. pow: in time independent of e's value
 * (its bit length shows); ESESSION_ERR_LIMIT when e is longer than the
 * table covers, ESESSION_ERR_INVALID_ARGUMENT when e <= 0. */
#define ES_FIXED_BASE_LIMBS 48u
typedef struct es_fixed_base es_fixed_base;
es_fixed_base *es_fixed_base_new(const mpz_t p, unsigned max_bits);
void es_fixed_base_free(es_fixed_base *fb);
esession_status es_fixed_base_pow(const es_fixed_base *fb, mpz_t r, const mpz_t e);

/* Per-context set-up of the MODP groups (ctx_cache.c): made at a
 * group's first use, freed with the context. */
#define ES_MODEXP_GROUPS 8
/* RSA verification contexts kept per context (es_ctx_rsa_verifier). */
#define ES_VERIFIERS 4
es_crypto_cache *es_crypto_cache_new(void);
void es_crypto_cache_free(es_crypto_cache *c);

#endif
