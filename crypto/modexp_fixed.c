/* SPDX-License-Identifier: ISC */
/* 2^x modulo a MODP prime (g = 2 is every MODP group's generator) with a
 * table of 2^(j·16^i) for each 4-bit window i of the exponent and each
 * digit j, in Montgomery form: one Montgomery multiplication per window
 * and no squaring, where a generic constant-time exponentiation spends a
 * squaring on every exponent bit. The table depends only on the group
 * (public); it is made once per context and group (crypto/ctx_cache.c).
 *
 * Constant time: each window's digit is read with shifts and masks, its
 * table entry by scanning all sixteen under a mask (no address depends on
 * the digit), and the multiplication (CIOS, 64-bit limbs) has no branch
 * on its operands: its last subtraction is kept or dropped by a mask.
 * `make ct` runs it with a secret exponent. */
#include "modexp.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

__extension__ typedef unsigned __int128 u128;

#define WINDOW 4u
#define DIGITS 16u
/* The product (2n limbs) and mpn_sec_mul's scratch. */
#define SCRATCH (2u * ES_FIXED_BASE_LIMBS + 2u * ES_FIXED_BASE_LIMBS + 64u)

struct es_fixed_base {
    size_t n;        /* limbs of p */
    size_t windows;  /* of the exponent covered */
    mp_limb_t n0;     /* -p^-1 mod 2^64 */
    mp_limb_t p[ES_FIXED_BASE_LIMBS];
    mp_limb_t one[ES_FIXED_BASE_LIMBS]; /* R mod p: 1 in Montgomery form */
    mp_limb_t *table; /* windows × DIGITS entries of n limbs */
};

/* r = a·b·R^-1 mod p, for a, b < p; r may be a or b. t: SCRATCH limbs.
 * The product by GMP's side-channel-silent multiplication, then one
 * Montgomery reduction step per limb (mpn_addmul_1 runs the same for any
 * values) with its carries kept in a word rather than propagated, so no
 * loop ends early on a carry. */
static void mont_mul(mp_limb_t *r, const mp_limb_t *a, const mp_limb_t *b,
                     const es_fixed_base *fb, mp_limb_t *t)
{
    const size_t n = fb->n;
    const mp_limb_t *p = fb->p;
    mpn_sec_mul(t, a, (mp_size_t)n, b, (mp_size_t)n, t + 2 * n);
    mp_limb_t carry = 0; /* 0 or 1, owed to t[i + n + 1] */
    for (size_t i = 0; i < n; i++) {
        mp_limb_t m = t[i] * fb->n0;
        mp_limb_t c = mpn_addmul_1(t + i, p, (mp_size_t)n, m);
        u128 s = (u128)t[i + n] + c + carry;
        t[i + n] = (mp_limb_t)s;
        carry = (mp_limb_t)(s >> 64);
    }
    /* carry:t[n..2n) < 2p: less p unless that borrows from carry. */
    mp_limb_t d[ES_FIXED_BASE_LIMBS];
    mp_limb_t borrow = mpn_sub_n(d, t + n, p, (mp_size_t)n);
    mp_limb_t keep_t = 0u - ((~carry & borrow) & 1u);
    for (size_t j = 0; j < n; j++)
        r[j] = (t[n + j] & keep_t) | (d[j] & ~keep_t);
    sodium_memzero(d, sizeof d);
}

/* The n limbs of v (< 2^(64n)), least significant first. */
static void limbs_of(mp_limb_t *out, const mpz_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (mp_limb_t)mpz_getlimbn(v, (mp_size_t)i);
}

es_fixed_base *es_fixed_base_new(const mpz_t p, unsigned max_bits)
{
    size_t bits = mpz_sizeinbase(p, 2);
    size_t n = (bits + 63) / 64;
    if (GMP_NUMB_BITS != 64 || n < 2 || n > ES_FIXED_BASE_LIMBS || mpz_even_p(p) ||
        max_bits == 0 || (size_t)mpn_sec_mul_itch((mp_size_t)n, (mp_size_t)n) > SCRATCH - 2 * n)
        return NULL;
    es_fixed_base *fb = calloc(1, sizeof *fb);
    if (fb == NULL)
        return NULL;
    fb->n = n;
    fb->windows = (max_bits + WINDOW - 1) / WINDOW;
    fb->table = malloc(fb->windows * DIGITS * n * sizeof *fb->table);
    if (fb->table == NULL) {
        free(fb);
        return NULL;
    }
    limbs_of(fb->p, p, n);
    /* -p^-1 mod 2^64 by Newton's iteration (each step doubles the bits). */
    mp_limb_t inv = fb->p[0];
    for (int k = 0; k < 6; k++)
        inv *= 2u - fb->p[0] * inv;
    fb->n0 = 0u - inv;
    /* R mod p and 2R mod p (2 in Montgomery form), R = 2^(64n). */
    mpz_t v;
    mpz_init(v);
    mpz_setbit(v, (mp_bitcnt_t)(64 * n));
    mpz_mod(v, v, p);
    limbs_of(fb->one, v, n);
    mp_limb_t base[ES_FIXED_BASE_LIMBS], t[SCRATCH];
    mpz_mul_2exp(v, v, 1);
    mpz_mod(v, v, p);
    limbs_of(base, v, n);
    mpz_clear(v);
    /* Window i: entry j is base_i^j, base_i = 2^(16^i). */
    for (size_t i = 0; i < fb->windows; i++) {
        mp_limb_t *row = fb->table + i * DIGITS * n;
        memcpy(row, fb->one, n * sizeof *row);
        for (size_t j = 1; j < DIGITS; j++)
            mont_mul(row + j * n, row + (j - 1) * n, base, fb, t);
        for (unsigned s = 0; s < WINDOW; s++)
            mont_mul(base, base, base, fb, t);
    }
    return fb;
}

void es_fixed_base_free(es_fixed_base *fb)
{
    if (fb == NULL)
        return;
    free(fb->table);
    free(fb);
}

esession_status es_fixed_base_pow(const es_fixed_base *fb, mpz_t r, const mpz_t e)
{
    const size_t n = fb->n;
    if (mpz_sgn(e) <= 0)
        return ESESSION_ERR_INVALID_ARGUMENT;
    /* The exponent's length is public (as for every backend). */
    if (mpz_sizeinbase(e, 2) > fb->windows * WINDOW)
        return ESESSION_ERR_LIMIT;
    mp_limb_t acc[ES_FIXED_BASE_LIMBS], pick[ES_FIXED_BASE_LIMBS], t[SCRATCH];
    memcpy(acc, fb->one, n * sizeof *acc);
    for (size_t i = 0; i < fb->windows; i++) {
        mp_limb_t limb = (mp_limb_t)mpz_getlimbn(e, (mp_size_t)(i * WINDOW / 64));
        mp_limb_t digit = (limb >> ((i * WINDOW) % 64)) & (DIGITS - 1);
        const mp_limb_t *row = fb->table + i * DIGITS * n;
        memset(pick, 0, n * sizeof *pick);
        for (mp_limb_t j = 0; j < DIGITS; j++) {
            mp_limb_t x = j ^ digit;
            mp_limb_t mask = ((x | (0u - x)) >> 63) - 1u; /* all ones when j == digit */
            for (size_t k = 0; k < n; k++)
                pick[k] |= row[j * n + k] & mask;
        }
        mont_mul(acc, acc, pick, fb, t);
    }
    /* Out of Montgomery form: times 1, divided by R. */
    memset(pick, 0, n * sizeof *pick);
    pick[0] = 1;
    mont_mul(acc, acc, pick, fb, t);
    mp_limb_t *d = mpz_limbs_write(r, (mp_size_t)n);
    memcpy(d, acc, n * sizeof *d);
    mpz_limbs_finish(r, (mp_size_t)n); /* 2^x is public */
    sodium_memzero(acc, sizeof acc);
    sodium_memzero(pick, sizeof pick);
    sodium_memzero(t, sizeof t);
    return ESESSION_OK;
}
