/* SPDX-License-Identifier: ISC */
/* MODP Diffie-Hellman (PROFILE §3): private exponents, public values, their
 * validation and the shared secret. */
#include "dh.h"
#include "mpint.h"

#include <stdlib.h>
#include <string.h>

struct es_dh {
    int group;
    uint8_t *x; /* mpint(x), in es_secret_alloc memory */
    size_t xlen;
    uint8_t *e; /* mpint(g^x mod p) */
    size_t elen;
};

/* n: the cipher block size in bits (XEP-0116: the largest block among the
 * offered ciphers; every cipher PROFILE §2 offers is AES). */
#define ES_DH_BLOCK_BITS 128u

unsigned es_dh_exponent_bits(int group)
{
    unsigned pbits = es_modp_bits(group);
    if (pbits == 0)
        return 0;
    /* Short exponents (PROFILE §3): max(2n + 64, 2s). */
    unsigned bits = 2 * ES_DH_BLOCK_BITS + 64;
    if (2 * es_modp_strength(group) > bits)
        bits = 2 * es_modp_strength(group);
    /* x < 2^(pbits-1) < p-1 keeps the upper bound. */
    if (bits > pbits - 1)
        bits = pbits - 1;
    return bits;
}

/* Octets of p; a longer minimal mpint is at least p. */
static size_t prime_octets(int group)
{
    return (es_modp_bits(group) + 7) / 8;
}

/* Build the object from a checked exponent; takes x (secret memory) in all
 * cases. */
static esession_status dh_new(esession_ctx *ctx, es_dh **out, int group, uint8_t *x,
                              size_t xlen)
{
    mp_bitcnt_t pbits = es_modp_bits(group);
    mpz_t g, xz, ez;
    uint8_t *e = NULL;
    es_dh *dh = NULL;
    /* Sized up front so GMP never reallocates and leaves a copy of x. */
    mpz_init_set_ui(g, 2);
    mpz_init2(xz, (mp_bitcnt_t)xlen * 8);
    mpz_init2(ez, pbits);

    esession_status rc = es_mpint_read(xz, x, xlen);
    if (rc != ESESSION_OK) {
        rc = es_fail(ctx, rc, "cannot load DH group %d or exponent", group);
        goto out;
    }
    rc = es_modexp_group_sec(ctx, ez, g, xz, group);
    if (rc != ESESSION_OK) {
        rc = es_fail(ctx, rc, "modular exponentiation failed");
        goto out;
    }
    /* g has order q = (p-1)/2; only x = q gives g^x = 1. */
    if (mpz_cmp_ui(ez, 1) <= 0) {
        rc = es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "DH exponent is a multiple of the group order");
        goto out;
    }
    size_t elen = es_mpint_size(ez);
    e = malloc(elen);
    dh = calloc(1, sizeof *dh);
    if (e == NULL || dh == NULL) {
        rc = es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory for a DH key");
        goto out;
    }
    es_mpint_write(e, ez);
    dh->group = group;
    dh->x = x;
    dh->xlen = xlen;
    dh->e = e;
    dh->elen = elen;
    *out = dh;
    x = NULL;
    e = NULL;
    dh = NULL;

out:
    free(dh);
    free(e);
    es_secret_free(x);
    es_mpz_clear_secret(xz);
    mpz_clear(ez);
    mpz_clear(g);
    return rc;
}

esession_status es_dh_generate(esession_ctx *ctx, es_dh **out, int group)
{
    if (out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "no output for the DH key");
    if (!es_modp_supported(group))
        return es_fail(ctx, ESESSION_ERR_UNSUPPORTED, "MODP group %d is not supported", group);

    unsigned bits = es_dh_exponent_bits(group);
    size_t xlen = (bits + 7) / 8;
    uint8_t *x = es_secret_alloc_in(ctx, xlen);
    if (x == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of secure memory for a DH exponent");
    esession_status rc = es_random(ctx, x, xlen);
    if (rc != ESESSION_OK) {
        es_secret_free(x);
        return rc; /* es_random recorded the reason */
    }
    /* Exactly `bits` bits: x >= 2^(bits-1) > 2^(2n-1), and x < p-1 because
     * bits < p's bit length. The top octet is non-zero: x is minimal. */
    unsigned top = (bits - 1) % 8;
    x[0] = (uint8_t)((x[0] & ((1u << top) - 1u)) | (1u << top));
    return dh_new(ctx, out, group, x, xlen);
}

/* 2^(2n-1) < x < p-1. */
static int exponent_in_range(int group, const uint8_t *x, size_t xlen)
{
    mp_bitcnt_t pbits = es_modp_bits(group);
    mpz_t lo, hi, xz;
    mpz_init2(lo, 2 * ES_DH_BLOCK_BITS);
    mpz_init2(hi, pbits);
    mpz_init2(xz, (mp_bitcnt_t)xlen * 8);
    mpz_setbit(lo, 2 * ES_DH_BLOCK_BITS - 1);
    int ok = es_modp_prime(group, hi) == ESESSION_OK && es_mpint_read(xz, x, xlen) == ESESSION_OK;
    if (ok) {
        mpz_sub_ui(hi, hi, 1);
        ok = mpz_cmp(xz, lo) > 0 && mpz_cmp(xz, hi) < 0;
    }
    es_mpz_clear_secret(xz);
    mpz_clear(hi);
    mpz_clear(lo);
    return ok;
}

/* x != q = (p-1)/2: in 2^255 < x < p-1, the only multiple of the order. */
static int exponent_not_order(int group, const uint8_t *x, size_t xlen)
{
    mp_bitcnt_t pbits = es_modp_bits(group);
    mpz_t q, xz;
    mpz_init2(q, pbits);
    mpz_init2(xz, (mp_bitcnt_t)xlen * 8);
    int ok = es_modp_prime(group, q) == ESESSION_OK && es_mpint_read(xz, x, xlen) == ESESSION_OK;
    if (ok) {
        mpz_sub_ui(q, q, 1);
        mpz_tdiv_q_2exp(q, q, 1);
        ok = mpz_cmp(xz, q) != 0;
    }
    es_mpz_clear_secret(xz);
    mpz_clear(q);
    return ok;
}

/* What every exponent given from outside must be (PROFILE §3). */
static esession_status check_exponent(esession_ctx *ctx, es_dh **out, int group,
                                      const uint8_t *x, size_t xlen)
{
    if (out == NULL || (x == NULL && xlen > 0))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "no DH exponent or output");
    if (!es_modp_supported(group))
        return es_fail(ctx, ESESSION_ERR_UNSUPPORTED, "MODP group %d is not supported", group);
    if (xlen > 0 && x[0] == 0)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "DH exponent is not a minimal mpint");
    if (xlen > prime_octets(group) || !exponent_in_range(group, x, xlen))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT,
                       "DH exponent outside 2^255 < x < p-1");
    return ESESSION_OK;
}

esession_status es_dh_from_private_only(esession_ctx *ctx, es_dh **out, int group,
                                        const uint8_t *x, size_t xlen)
{
    esession_status rc = check_exponent(ctx, out, group, x, xlen);
    if (rc != ESESSION_OK)
        return rc;
    if (!exponent_not_order(group, x, xlen))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT,
                       "DH exponent is a multiple of the group order");
    es_dh *dh = calloc(1, sizeof *dh);
    uint8_t *copy = es_secret_alloc_in(ctx, xlen);
    if (dh == NULL || copy == NULL) {
        free(dh);
        es_secret_free(copy);
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of secure memory for a DH exponent");
    }
    memcpy(copy, x, xlen);
    dh->group = group;
    dh->x = copy;
    dh->xlen = xlen;
    *out = dh;
    return ESESSION_OK;
}

esession_status es_dh_from_private(esession_ctx *ctx, es_dh **out, int group,
                                   const uint8_t *x, size_t xlen)
{
    esession_status rc = check_exponent(ctx, out, group, x, xlen);
    if (rc != ESESSION_OK)
        return rc;
    uint8_t *copy = es_secret_alloc_in(ctx, xlen);
    if (copy == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of secure memory for a DH exponent");
    memcpy(copy, x, xlen);
    return dh_new(ctx, out, group, copy, xlen);
}

int es_dh_group(const es_dh *dh)
{
    return dh != NULL ? dh->group : 0;
}

esession_status es_dh_public(const es_dh *dh, esession_buf *out)
{
    if (dh == NULL || out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (dh->e == NULL)
        return ESESSION_ERR_STATE; /* made by es_dh_from_private_only */
    return es_buf_set(out, dh->e, dh->elen, 0);
}

esession_status es_dh_private(const es_dh *dh, esession_buf *out)
{
    return es_dh_private_in(NULL, dh, out);
}

esession_status es_dh_private_in(const esession_ctx *ctx, const es_dh *dh, esession_buf *out)
{
    if (dh == NULL || out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    return es_buf_set_in(ctx, out, dh->x, dh->xlen, 1);
}

esession_status es_dh_check_public_in(const esession_ctx *ctx, int group, const uint8_t *v,
                                      size_t n)
{
    if (!es_modp_supported(group))
        return ESESSION_ERR_UNSUPPORTED;
    if (v == NULL && n > 0)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (n > 0 && v[0] == 0)
        return ESESSION_ERR_MALFORMED;
    if (n > prime_octets(group))
        return ESESSION_ERR_INVALID_DH_VALUE;

    mp_bitcnt_t pbits = es_modp_bits(group);
    mpz_t own, pm1, vz;
    mpz_srcptr p = own;
    mpz_init2(own, pbits);
    mpz_init2(pm1, pbits);
    mpz_init2(vz, pbits);
    esession_status rc = ESESSION_OK;
    if (!es_modexp_group_prime(ctx, group, &p)) {
        p = own;
        rc = es_modp_prime(group, own);
    }
    if (rc == ESESSION_OK)
        rc = es_mpint_read(vz, v, n);
    if (rc == ESESSION_OK) {
        /* Jacobi(v, p) = 1: v is a square, so in the subgroup of prime order
         * (p-1)/2. This alone excludes p-1 = -1 (p = 3 mod 4); the bound is
         * kept so the code reads like PROFILE §3. */
        mpz_sub_ui(pm1, p, 1);
        if (mpz_cmp_ui(vz, 1) <= 0 || mpz_cmp(vz, pm1) >= 0 || mpz_jacobi(vz, p) != 1)
            rc = ESESSION_ERR_INVALID_DH_VALUE;
    }
    mpz_clear(vz);
    mpz_clear(pm1);
    mpz_clear(own);
    return rc;
}

esession_status es_dh_check_public(int group, const uint8_t *v, size_t n)
{
    return es_dh_check_public_in(NULL, group, v, n);
}

/* peer^x for a peer value whose Jacobi symbol was checked (its range is
 * checked again here: a few comparisons). */
static esession_status shared(esession_ctx *ctx, const es_dh *dh, const uint8_t *peer,
                              size_t n, esession_buf *out)
{
    mp_bitcnt_t pbits = es_modp_bits(dh->group);
    mpz_t pm1, v, xz, s;
    esession_buf tmp = {0};
    mpz_init2(pm1, pbits);
    mpz_init2(v, pbits);
    mpz_init2(xz, (mp_bitcnt_t)dh->xlen * 8);
    mpz_init2(s, pbits);
    esession_status rc = ESESSION_OK;
    if (n > 0 && peer[0] == 0)
        rc = ESESSION_ERR_MALFORMED;
    else if (n > prime_octets(dh->group))
        rc = ESESSION_ERR_INVALID_DH_VALUE;
    mpz_srcptr p = NULL;
    if (rc == ESESSION_OK) {
        if (es_modexp_group_prime(ctx, dh->group, &p))
            mpz_set(pm1, p);
        else
            rc = es_modp_prime(dh->group, pm1);
    }
    if (rc == ESESSION_OK && (rc = es_mpint_read(v, peer, n)) == ESESSION_OK) {
        mpz_sub_ui(pm1, pm1, 1);
        if (mpz_cmp_ui(v, 1) <= 0 || mpz_cmp(v, pm1) >= 0)
            rc = ESESSION_ERR_INVALID_DH_VALUE;
    }
    if (rc != ESESSION_OK) {
        rc = es_fail(ctx, rc, "peer DH value rejected (%s)", esession_status_name(rc));
        goto out;
    }
    if ((rc = es_mpint_read(xz, dh->x, dh->xlen)) != ESESSION_OK) {
        rc = es_fail(ctx, rc, "cannot load DH values");
        goto out;
    }
    rc = es_modexp_group_sec(ctx, s, v, xz, dh->group);
    if (rc != ESESSION_OK) {
        rc = es_fail(ctx, rc, "modular exponentiation failed");
        goto out;
    }
    /* mpint(g^xy) shows its length, by the protocol's definition. */
    size_t len = es_mpint_size(s);
    ES_DECLASSIFY(&len, sizeof len);
    rc = es_buf_alloc_in(ctx, &tmp, len, 1);
    if (rc != ESESSION_OK) {
        rc = es_fail(ctx, rc, "out of secure memory for the shared secret");
        goto out;
    }
    es_mpint_write((uint8_t *)tmp.data, s);
    *out = tmp;

out:
    es_mpz_clear_secret(s);
    es_mpz_clear_secret(xz);
    mpz_clear(v);
    mpz_clear(pm1);
    return rc;
}

esession_status es_dh_shared(esession_ctx *ctx, const es_dh *dh, const uint8_t *peer,
                             size_t n, esession_buf *out)
{
    if (dh == NULL || out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "no DH key or output");
    esession_status rc = es_dh_check_public_in(ctx, dh->group, peer, n);
    if (rc != ESESSION_OK)
        return es_fail(ctx, rc, "peer DH value rejected (%s)", esession_status_name(rc));
    return shared(ctx, dh, peer, n, out);
}

esession_status es_dh_shared_checked(esession_ctx *ctx, const es_dh *dh, const uint8_t *peer,
                                     size_t n, esession_buf *out)
{
    if (dh == NULL || out == NULL || (peer == NULL && n > 0))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "no DH key, peer value or output");
    return shared(ctx, dh, peer, n, out);
}

void es_dh_free(es_dh *dh)
{
    if (dh == NULL)
        return;
    es_secret_free(dh->x); /* sodium_free wipes */
    if (dh->e != NULL)
        sodium_memzero(dh->e, dh->elen);
    free(dh->e);
    sodium_memzero(dh, sizeof *dh);
    free(dh);
}
