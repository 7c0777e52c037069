/* SPDX-License-Identifier: ISC */
/* mpint: big-endian, minimal-length integers (XEP-0116, PROFILE §1). */
#ifndef ESESSION_MPINT_H
#define ESESSION_MPINT_H

#include "../core/core.h"

#include <gmp.h>

/* Octets needed for mpint(v); 0 for v = 0. v must be non-negative. */
size_t es_mpint_size(const mpz_t v);

/* Write mpint(v) into out (es_mpint_size(v) octets). */
void es_mpint_write(uint8_t *out, const mpz_t v);

/* Read an mpint. A leading zero octet (non-minimal form) is
 * ESESSION_ERR_MALFORMED; the empty string is 0. v must be initialized. */
esession_status es_mpint_read(mpz_t v, const uint8_t *in, size_t n);

/* Wipe v's limbs, then clear it. */
void es_mpz_clear_secret(mpz_t v);

#endif
