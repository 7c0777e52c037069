/* SPDX-License-Identifier: ISC */
/* mpint conversions between GMP integers and octet strings. */
#include "mpint.h"

size_t es_mpint_size(const mpz_t v)
{
    if (mpz_sgn(v) == 0)
        return 0;
    return (mpz_sizeinbase(v, 2) + 7) / 8;
}

void es_mpint_write(uint8_t *out, const mpz_t v)
{
    size_t count = 0;
    if (mpz_sgn(v) == 0)
        return;
    mpz_export(out, &count, 1, 1, 1, 0, v);
}

esession_status es_mpint_read(mpz_t v, const uint8_t *in, size_t n)
{
    if (n > 0 && in[0] == 0)
        return ESESSION_ERR_MALFORMED;
    if (n == 0) {
        mpz_set_ui(v, 0);
        return ESESSION_OK;
    }
    mpz_import(v, n, 1, 1, 1, 0, in);
    return ESESSION_OK;
}

void es_mpz_clear_secret(mpz_t v)
{
    /* The limbs GMP allocated, as far as they go: wipe all of them. */
    size_t alloc = (size_t)v->_mp_alloc;
    if (alloc > 0 && v->_mp_d != NULL)
        sodium_memzero(v->_mp_d, alloc * sizeof(mp_limb_t));
    mpz_clear(v);
}
