/* SPDX-License-Identifier: ISC */
/* Constant-time modular exponentiation with GMP's mpz_powm_sec. */
#include "modexp.h"

esession_status es_modexp_gmp(mpz_t r, const mpz_t b, const mpz_t e, const mpz_t m)
{
    /* mpz_powm_sec is undefined for an even modulus or e <= 0. */
    esession_status rc = es_modexp_check(b, e, m);
    if (rc != ESESSION_OK)
        return rc;
    mpz_powm_sec(r, b, e, m);
    /* GMP keeps the result's length in limbs (leading zero limbs trimmed):
     * public, as mpint(r) would show it anyway. */
    ES_DECLASSIFY(&r->_mp_size, sizeof r->_mp_size);
    return ESESSION_OK;
}
