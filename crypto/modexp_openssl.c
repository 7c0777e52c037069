/* SPDX-License-Identifier: ISC */
/* Constant-time modular exponentiation with OpenSSL's
 * BN_mod_exp_mont_consttime. */
#include "modexp.h"
#include "mpint.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* GMP's limbs, least significant first, are then the number's octets in
 * little-endian order: OpenSSL reads and writes them in place. */
#define LIMBS_AS_OCTETS 1
#endif

/* v into bn through buf (room for v's octets), wiping buf after. */
static int to_bn(BIGNUM *bn, const mpz_t v, uint8_t *buf)
{
#ifdef LIMBS_AS_OCTETS
    (void)buf;
    return BN_lebin2bn((const unsigned char *)mpz_limbs_read(v),
                       (int)(mpz_size(v) * sizeof(mp_limb_t)), bn) != NULL;
#else
    size_t len = es_mpint_size(v);
    es_mpint_write(buf, v);
    int ok = BN_bin2bn(buf, (int)len, bn) != NULL;
    sodium_memzero(buf, len);
    return ok;
#endif
}

/* r = bn, given r's room for mlen octets (bn < m). */
static int from_bn(mpz_t r, const BIGNUM *bn, uint8_t *buf, size_t mlen)
{
#ifdef LIMBS_AS_OCTETS
    (void)buf;
    size_t limbs = (mlen + sizeof(mp_limb_t) - 1) / sizeof(mp_limb_t);
    mp_limb_t *w = mpz_limbs_write(r, (mp_size_t)limbs);
    if (BN_bn2lebinpad(bn, (unsigned char *)w, (int)(limbs * sizeof(mp_limb_t))) < 0)
        return 0;
    mpz_limbs_finish(r, (mp_size_t)limbs); /* leading zero limbs trimmed */
    return 1;
#else
    if (BN_bn2binpad(bn, buf, (int)mlen) != (int)mlen)
        return 0;
    mpz_import(r, mlen, 1, 1, 1, 0, buf);
    return 1;
#endif
}

/* After an OpenSSL failure: no-memory if an allocation failed (the secure
 * heap, when the application set one up, may be exhausted), else internal.
 * Empties this thread's error queue: nothing stale for the next user. */
static esession_status openssl_failure(void)
{
    esession_status rc = ESESSION_ERR_INTERNAL;
    unsigned long err;
    while ((err = ERR_get_error()) != 0) {
        if (ERR_GET_REASON(err) == ERR_R_MALLOC_FAILURE ||
            (ERR_GET_LIB(err) == ERR_LIB_CRYPTO &&
             ERR_GET_REASON(err) == CRYPTO_R_SECURE_MALLOC_FAILURE))
            rc = ESESSION_ERR_NO_MEMORY;
    }
    return rc;
}

/* r = b^e mod m; m_bn and mont are m in OpenSSL's form when the caller
 * keeps them (NULL: made here). Octet copies of the numbers, where the
 * limbs cannot be read in place, are scratch from ctx's pool (a region of
 * its own without a context). */
static esession_status run(const esession_ctx *ctx, mpz_t r, const mpz_t b, const mpz_t e,
                           const mpz_t m, const BIGNUM *m_bn, BN_MONT_CTX *mont)
{
    esession_status rc = es_modexp_check(b, e, m);
    if (rc != ESESSION_OK)
        return rc;

    /* Bounded by ES_MODEXP_MAX_BITS, so every length fits an int. */
    size_t mlen = es_mpint_size(m);
    size_t elen = es_mpint_size(e);
    size_t cap = mlen > elen ? mlen : elen;
#ifdef LIMBS_AS_OCTETS
    (void)cap;
    (void)ctx;
    uint8_t scratch[1], *buf = scratch; /* no octet copies to make */
#else
    uint8_t *buf = ctx != NULL ? es_secret_alloc_in(ctx, cap) : es_secret_alloc(cap);
#endif
    BN_CTX *bctx = BN_CTX_secure_new();
    /* Secure heap (when the application set one up) and wipe-on-free for
     * everything that may be secret: the exponent, and the base and result
     * as the caller may use them for a shared secret. */
    BIGNUM *bb = BN_secure_new();
    BIGNUM *be = BN_secure_new();
    BIGNUM *br = BN_secure_new();
    BIGNUM *bm = m_bn == NULL ? BN_new() : NULL;
    if (buf == NULL || bctx == NULL || bb == NULL || be == NULL || br == NULL ||
        (m_bn == NULL && bm == NULL)) {
        rc = ESESSION_ERR_NO_MEMORY;
        ERR_clear_error();
        goto out;
    }
    BN_set_flags(be, BN_FLG_CONSTTIME);
    BN_set_flags(br, BN_FLG_CONSTTIME);
    if (!to_bn(bb, b, buf) || !to_bn(be, e, buf) || (bm != NULL && !to_bn(bm, m, buf)) ||
        !BN_mod_exp_mont_consttime(br, bb, be, bm != NULL ? bm : m_bn, bctx, mont) ||
        !from_bn(r, br, buf, mlen)) {
        rc = openssl_failure();
        goto out;
    }
    /* The result's length in limbs (leading zero limbs trimmed): public,
     * as mpint(r) would show it anyway. */
    ES_DECLASSIFY(&r->_mp_size, sizeof r->_mp_size);

out:
    BN_clear_free(bb);
    BN_clear_free(be);
    BN_clear_free(br);
    BN_free(bm);
    BN_CTX_free(bctx);
#ifndef LIMBS_AS_OCTETS
    es_secret_free(buf); /* wiped as it is freed */
#endif
    return rc;
}

esession_status es_modexp_openssl(mpz_t r, const mpz_t b, const mpz_t e, const mpz_t m)
{
    return run(NULL, r, b, e, m, NULL, NULL);
}

esession_status es_modexp_openssl_mont(const esession_ctx *ctx, mpz_t r, const mpz_t b,
                                       const mpz_t e, const mpz_t m, const BIGNUM *m_bn,
                                       BN_MONT_CTX *mont)
{
    return run(ctx, r, b, e, m, m_bn, mont);
}
