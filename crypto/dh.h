/* SPDX-License-Identifier: ISC */
/* MODP Diffie-Hellman (RFC 2409, RFC 3526; g = 2) as PROFILE §3. */
#ifndef ESESSION_DH_H
#define ESESSION_DH_H

#include "../core/core.h"

#include <gmp.h>

/* Group ids: 1, 2, 5, 14, 15, 16, 17, 18. */
int es_modp_supported(int group);
/* Bit length of p (768 .. 8192), 0 if unsupported. */
unsigned es_modp_bits(int group);
/* Security strength s (NIST SP 800-57) in bits, 0 if unsupported. */
unsigned es_modp_strength(int group);
/* Bits of a drawn private exponent (PROFILE §3): max(2n + 64, 2s) with
 * n = 128, the AES block size in bits; never more than the group allows. */
unsigned es_dh_exponent_bits(int group);
/* Load p into an initialized mpz. */
esession_status es_modp_prime(int group, mpz_t p);

/* A private exponent and its public value for one group. The exponent is
 * held in guarded memory and wiped on free. */
typedef struct es_dh es_dh;

/* Draw x with the context's random source (top bit of es_dh_exponent_bits
 * set, so 2^(2n-1) < x < p-1 holds), and compute e = g^x mod p. */
esession_status es_dh_generate(esession_ctx *ctx, es_dh **out, int group);
/* Use a given exponent (mpint octets); used by vectors and by storage. */
esession_status es_dh_from_private(esession_ctx *ctx, es_dh **out, int group,
                                   const uint8_t *x, size_t xlen);
/* The same without computing e (an exponentiation): for the side that
 * only needs peer^x (Alice opening sessions with a stored x). x = q (the
 * one exponent with g^x = 1 in range) is refused by comparison instead.
 * es_dh_public is ESESSION_ERR_STATE for such a key. */
esession_status es_dh_from_private_only(esession_ctx *ctx, es_dh **out, int group,
                                        const uint8_t *x, size_t xlen);
int es_dh_group(const es_dh *dh);
/* mpint(e) into a fresh buffer. */
esession_status es_dh_public(const es_dh *dh, esession_buf *out);
/* mpint(x) into a fresh secret buffer (for encrypted storage). */
esession_status es_dh_private(const es_dh *dh, esession_buf *out);
/* The same in ctx's pool of secret memory. */
esession_status es_dh_private_in(const esession_ctx *ctx, const es_dh *dh, esession_buf *out);
/* Validate a received public value (mpint octets): 1 < v < p-1 and
 * Jacobi(v, p) = 1, else ESESSION_ERR_INVALID_DH_VALUE; a non-minimal
 * mpint is ESESSION_ERR_MALFORMED. */
esession_status es_dh_check_public(int group, const uint8_t *v, size_t n);
/* The same with the prime as ctx set it up (ctx NULL: as above). */
esession_status es_dh_check_public_in(const esession_ctx *ctx, int group, const uint8_t *v,
                                      size_t n);
/* mpint(peer^x mod p) into a fresh secret buffer; validates peer first. */
esession_status es_dh_shared(esession_ctx *ctx, const es_dh *dh,
                             const uint8_t *peer, size_t n, esession_buf *out);
/* The same for a peer value the caller has just accepted with
 * es_dh_check_public for dh's group: only its range is checked again, not
 * its Jacobi symbol (a GCD-like computation per call). */
esession_status es_dh_shared_checked(esession_ctx *ctx, const es_dh *dh,
                                     const uint8_t *peer, size_t n, esession_buf *out);
void es_dh_free(es_dh *dh);

/* Constant-time r = b^e mod p of a MODP group (0 <= b < p, e > 0) with the
 * context's backend and its set-up of the group (crypto/ctx_cache.c). */
esession_status es_modexp_group_sec(const esession_ctx *ctx, mpz_t r, const mpz_t b,
                                    const mpz_t e, int group);

/* The group's prime as ctx set it up (valid while ctx lives): 1, or 0
 * without a context or when the set-up fails (use es_modp_prime then). */
int es_modexp_group_prime(const esession_ctx *ctx, int group, mpz_srcptr *p);
/* 1 when ctx holds the window table of 2^x for group (made at its second
 * 2^x with the OpenSSL backend, groups of up to 3072 bits), else 0. */
int es_modexp_fixed_ready(const esession_ctx *ctx, int group);

/* Constant-time r = b^e mod m (m odd, e > 0) with the context's backend. */
esession_status es_modexp_sec(const esession_ctx *ctx, mpz_t r, const mpz_t b,
                              const mpz_t e, const mpz_t m);

#endif
