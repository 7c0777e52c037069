/* SPDX-License-Identifier: ISC */
/* es_modexp_sec: argument checks and the choice of backend. */
#include "dh.h"
#include "modexp.h"
#include "mpint.h"

esession_status es_modexp_check(const mpz_t b, const mpz_t e, const mpz_t m)
{
    if (mpz_sgn(m) <= 0 || mpz_sgn(e) <= 0)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (mpz_sizeinbase(m, 2) > ES_MODEXP_MAX_BITS || mpz_sizeinbase(e, 2) > ES_MODEXP_MAX_BITS)
        return ESESSION_ERR_LIMIT;
    if (!mpz_odd_p(m) || mpz_cmp_ui(m, 1) == 0)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (mpz_sgn(b) < 0 || mpz_cmp(b, m) >= 0)
        return ESESSION_ERR_INVALID_ARGUMENT;
    return ESESSION_OK;
}

static esession_status run(esession_dh_backend backend, mpz_t r, const mpz_t b,
                           const mpz_t e, const mpz_t m)
{
    return backend == ESESSION_DH_OPENSSL ? es_modexp_openssl(r, b, e, m)
                                          : es_modexp_gmp(r, b, e, m);
}

esession_status es_modexp_sec(const esession_ctx *ctx, mpz_t r, const mpz_t b,
                              const mpz_t e, const mpz_t m)
{
    esession_dh_backend backend = ctx != NULL ? ctx->dh_backend : ESESSION_DH_OPENSSL;
    if (backend != ESESSION_DH_GMP && backend != ESESSION_DH_OPENSSL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (mpz_sizeinbase(b, 2) > ES_MODEXP_MAX_BITS)
        return ESESSION_ERR_LIMIT;
    /* Both backends take 0 <= b < m: reduce any other base first. */
    if (mpz_sgn(m) > 0 && mpz_odd_p(m) && mpz_sizeinbase(m, 2) <= ES_MODEXP_MAX_BITS &&
        (mpz_sgn(b) < 0 || mpz_cmp(b, m) >= 0)) {
        mpz_t bt;
        mpz_init2(bt, (mp_bitcnt_t)mpz_sizeinbase(m, 2));
        mpz_mod(bt, b, m);
        esession_status rc = run(backend, r, bt, e, m);
        es_mpz_clear_secret(bt);
        return rc;
    }
    return run(backend, r, b, e, m);
}
