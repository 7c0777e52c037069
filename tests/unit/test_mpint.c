/* SPDX-License-Identifier: ISC */
/* mpint (PROFILE §1): minimal big-endian octets, 0 as the empty string, and
 * wiping of GMP integers. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../crypto/mpint.h"

/* Encode v and compare with the expected octets. */
static void expect_encoding(const mpz_t v, const uint8_t *want, size_t wlen)
{
    uint8_t out[64];
    memset(out, 0xee, sizeof out);
    size_t n = es_mpint_size(v);
    cr_assert_eq(n, wlen);
    cr_assert_leq(n, sizeof out);
    es_mpint_write(out, v);
    cr_assert_arr_eq(out, want, wlen);
    cr_assert_eq(out[wlen], 0xee, "wrote past es_mpint_size");
}

Test(mpint, zero_is_the_empty_string)
{
    mpz_t v;
    mpz_init(v);
    expect_encoding(v, (const uint8_t *)"", 0);

    mpz_set_ui(v, 12345);
    cr_assert_eq(es_mpint_read(v, NULL, 0), ESESSION_OK);
    cr_assert_eq(mpz_sgn(v), 0);
    mpz_set_ui(v, 12345);
    cr_assert_eq(es_mpint_read(v, (const uint8_t *)"x", 0), ESESSION_OK);
    cr_assert_eq(mpz_sgn(v), 0);
    mpz_clear(v);
}

Test(mpint, minimal_encodings_at_byte_boundaries)
{
    static const struct {
        unsigned long value;
        uint8_t octets[8];
        size_t len;
    } cases[] = {
        {0x01, {0x01}, 1},
        {0x7f, {0x7f}, 1},
        {0x80, {0x80}, 1}, /* unsigned: no sign octet */
        {0xff, {0xff}, 1},
        {0x100, {0x01, 0x00}, 2},
        {0x101, {0x01, 0x01}, 2},
        {0x7fff, {0x7f, 0xff}, 2},
        {0x8000, {0x80, 0x00}, 2},
        {0xffff, {0xff, 0xff}, 2},
        {0x10000, {0x01, 0x00, 0x00}, 3},
        {0xffffffffUL, {0xff, 0xff, 0xff, 0xff}, 4},
    };
    mpz_t v, back;
    mpz_init(v);
    mpz_init(back);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mpz_set_ui(v, cases[i].value);
        expect_encoding(v, cases[i].octets, cases[i].len);
        mpz_set_ui(back, 999);
        cr_assert_eq(es_mpint_read(back, cases[i].octets, cases[i].len), ESESSION_OK);
        cr_assert_eq(mpz_cmp(back, v), 0, "case %zu", i);
    }
    mpz_clear(back);
    mpz_clear(v);
}

Test(mpint, limb_boundary_2_to_the_64)
{
    static const uint8_t two64[] = {0x01, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t two64m1[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    mpz_t v;
    mpz_init_set_ui(v, 1);
    mpz_mul_2exp(v, v, 64);
    expect_encoding(v, two64, sizeof two64);
    mpz_sub_ui(v, v, 1);
    expect_encoding(v, two64m1, sizeof two64m1);
    mpz_clear(v);
}

/* 2^k - 1, 2^k, 2^k + 1 for k up to 520: size, first octet, round trip. */
Test(mpint, round_trips_around_powers_of_two)
{
    uint8_t buf[80];
    mpz_t v, back;
    mpz_init(v);
    mpz_init(back);
    for (unsigned k = 0; k <= 520; k++) {
        for (int d = -1; d <= 1; d++) {
            mpz_set_ui(v, 0);
            mpz_setbit(v, k);
            if (d < 0)
                mpz_sub_ui(v, v, 1);
            else if (d > 0)
                mpz_add_ui(v, v, 1);
            size_t bits = mpz_sgn(v) == 0 ? 0 : mpz_sizeinbase(v, 2);
            size_t n = es_mpint_size(v);
            cr_assert_eq(n, (bits + 7) / 8, "k=%u d=%d", k, d);
            es_mpint_write(buf, v);
            if (n > 0)
                cr_assert_neq(buf[0], 0, "leading zero for k=%u d=%d", k, d);
            cr_assert_eq(es_mpint_read(back, buf, n), ESESSION_OK);
            cr_assert_eq(mpz_cmp(back, v), 0, "k=%u d=%d", k, d);
        }
    }
    mpz_clear(back);
    mpz_clear(v);
}

Test(mpint, leading_zero_is_malformed_and_leaves_v)
{
    static const uint8_t zero[] = {0x00};
    static const uint8_t zero_one[] = {0x00, 0x01};
    static const uint8_t zero_80[] = {0x00, 0x80};
    static const uint8_t zero_zero[] = {0x00, 0x00};
    const struct {
        const uint8_t *p;
        size_t n;
    } bad[] = {{zero, 1}, {zero_one, 2}, {zero_80, 2}, {zero_zero, 2}};
    mpz_t v;
    mpz_init_set_ui(v, 4242);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(es_mpint_read(v, bad[i].p, bad[i].n), ESESSION_ERR_MALFORMED, "case %zu", i);
        cr_assert_eq(mpz_cmp_ui(v, 4242), 0, "v changed by a rejected read");
    }
    mpz_clear(v);
}

/* GMP allocation hooks that record whether freed blocks were all zero. */
static int freed_blocks;
static int freed_nonzero;

static void *hook_alloc(size_t n)
{
    return malloc(n);
}

static void *hook_realloc(void *p, size_t old, size_t n)
{
    (void)old;
    return realloc(p, n);
}

static void hook_free(void *p, size_t n)
{
    const uint8_t *b = p;
    int nonzero = 0;
    for (size_t i = 0; i < n; i++)
        nonzero |= b[i];
    freed_blocks++;
    if (nonzero)
        freed_nonzero++;
    free(p);
}

/* Each Criterion test runs in its own process: the global hooks stay local. */
static void fill(mpz_t v)
{
    mpz_init2(v, 1024);
    mpz_set_str(v, "c90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b139b22", 16);
}

Test(mpint, clear_secret_wipes_the_limbs)
{
    mp_set_memory_functions(hook_alloc, hook_realloc, hook_free);
    mpz_t v;
    fill(v);
    freed_blocks = freed_nonzero = 0;
    es_mpz_clear_secret(v);
    cr_assert_eq(freed_blocks, 1);
    cr_assert_eq(freed_nonzero, 0, "limbs were freed unwiped");
    mp_set_memory_functions(NULL, NULL, NULL);
}

/* The control for the test above: the hook does see a plain clear. */
Test(mpint, plain_clear_leaves_limbs)
{
    mp_set_memory_functions(hook_alloc, hook_realloc, hook_free);
    mpz_t v;
    fill(v);
    freed_blocks = freed_nonzero = 0;
    mpz_clear(v);
    cr_assert_eq(freed_blocks, 1);
    cr_assert_eq(freed_nonzero, 1);
    mp_set_memory_functions(NULL, NULL, NULL);
}

Test(mpint, clear_secret_of_fresh_and_zero_values)
{
    mpz_t a, b;
    mpz_init(a);
    mpz_init2(b, 4096);
    es_mpz_clear_secret(a);
    es_mpz_clear_secret(b);
}
