/* SPDX-License-Identifier: ISC */
/* MODP group constants and properties (PROFILE §2, §3) against
 * vectors/modp_groups.txt (RFC 2409, RFC 3526). */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../../crypto/dh.h"
#include "../../crypto/mpint.h"
#include "../common/vecfile.h"

static const int supported[] = {1, 2, 5, 14, 15, 16, 17, 18};

static int parse_int(const char *s)
{
    cr_assert_not_null(s);
    char *end = NULL;
    long v = strtol(s, &end, 10);
    cr_assert(end != s && *end == '\0', "bad integer '%s'", s);
    return (int)v;
}

Test(modp, primes_match_the_rfc_vectors)
{
    vec_file f;
    cr_assert_eq(vec_file_load(&f, "vectors/modp_groups.txt"), 0);
    int seen[ES_ARRAY_LEN(supported)] = {0};
    mpz_t p, want, q;
    mpz_inits(p, want, q, NULL);
    for (size_t i = 0; i < f.count; i++) {
        const vec_record *r = &f.records[i];
        int group = parse_int(vec_get(r, "group"));
        unsigned bits = (unsigned)parse_int(vec_get(r, "bits"));
        cr_assert_eq(parse_int(vec_get(r, "g")), 2);
        cr_assert_eq(mpz_set_str(want, vec_get(r, "p"), 16), 0);
        cr_assert_eq(mpz_set_str(q, vec_get(r, "q"), 16), 0);
        cr_assert_str_eq(vec_get(r, "safe_prime"), "pass");

        cr_assert(es_modp_supported(group), "group %d", group);
        cr_assert_eq(es_modp_bits(group), bits, "group %d", group);
        mpz_set_ui(p, 0);
        cr_assert_eq(es_modp_prime(group, p), ESESSION_OK);
        cr_assert_eq(mpz_cmp(p, want), 0, "group %d: p differs from the vector", group);
        cr_assert_eq(mpz_sizeinbase(p, 2), bits, "group %d", group);
        cr_assert_eq(es_mpint_size(p), bits / 8);
        /* q = (p-1)/2 as recorded */
        mpz_mul_2exp(q, q, 1);
        mpz_add_ui(q, q, 1);
        cr_assert_eq(mpz_cmp(p, q), 0, "group %d: q", group);

        for (size_t j = 0; j < ES_ARRAY_LEN(supported); j++)
            if (supported[j] == group)
                seen[j]++;
    }
    for (size_t j = 0; j < ES_ARRAY_LEN(supported); j++)
        cr_assert_eq(seen[j], 1, "group %d appears %d times", supported[j], seen[j]);
    cr_assert_eq(f.count, ES_ARRAY_LEN(supported));
    mpz_clears(p, want, q, NULL);
    vec_file_free(&f);
}

/* What es_dh_check_public relies on: p = 7 mod 8, so -1 is a non-residue
 * (p-1 fails the Jacobi test) and g = 2 is a residue (in the subgroup). */
Test(modp, primes_are_7_mod_8_and_2_is_a_residue)
{
    mpz_t p;
    mpz_init(p);
    for (size_t i = 0; i < ES_ARRAY_LEN(supported); i++) {
        cr_assert_eq(es_modp_prime(supported[i], p), ESESSION_OK);
        cr_assert_eq(mpz_fdiv_ui(p, 8), 7, "group %d", supported[i]);
        cr_assert_eq(mpz_ui_kronecker(2, p), 1, "group %d", supported[i]);
        cr_assert_eq(mpz_si_kronecker(-1, p), -1, "group %d", supported[i]);
    }
    mpz_clear(p);
}

/* An independent look at the small groups: p and q prime, g^q = 1. */
Test(modp, small_groups_are_safe_primes_generated_by_2)
{
    static const int groups[] = {1, 2};
    mpz_t p, q, r, two;
    mpz_inits(p, q, r, NULL);
    mpz_init_set_ui(two, 2);
    for (size_t i = 0; i < ES_ARRAY_LEN(groups); i++) {
        cr_assert_eq(es_modp_prime(groups[i], p), ESESSION_OK);
        mpz_sub_ui(q, p, 1);
        mpz_fdiv_q_2exp(q, q, 1);
        cr_assert_neq(mpz_probab_prime_p(p, 4), 0);
        cr_assert_neq(mpz_probab_prime_p(q, 4), 0);
        mpz_powm(r, two, q, p);
        cr_assert_eq(mpz_cmp_ui(r, 1), 0, "group %d", groups[i]);
    }
    mpz_clears(p, q, r, two, NULL);
}

Test(modp, strengths_and_exponent_sizes)
{
    static const struct {
        int group;
        unsigned bits, strength, exp_bits;
    } t[] = {
        {1, 768, 64, 320},     {2, 1024, 80, 320},    {5, 1536, 96, 320},
        {14, 2048, 112, 320},  {15, 3072, 128, 320},  {16, 4096, 152, 320},
        {17, 6144, 176, 352},  {18, 8192, 200, 400},
    };
    for (size_t i = 0; i < ES_ARRAY_LEN(t); i++) {
        cr_assert_eq(es_modp_bits(t[i].group), t[i].bits);
        cr_assert_eq(es_modp_strength(t[i].group), t[i].strength, "group %d", t[i].group);
        unsigned eb = es_dh_exponent_bits(t[i].group);
        cr_assert_eq(eb, t[i].exp_bits, "group %d", t[i].group);
        /* max(2n + 64, 2s) with n = 128, and below p's size */
        cr_assert_geq(eb, 2 * 128 + 64);
        cr_assert_geq(eb, 2 * t[i].strength);
        cr_assert_lt(eb, t[i].bits);
    }
    cr_assert_eq(ES_ARRAY_LEN(t), ES_ARRAY_LEN(supported));
}

Test(modp, unsupported_groups)
{
    /* 3 and 4 are the elliptic Oakley groups; the rest do not exist. */
    static const int bad[] = {0, 3, 4, 6, 13, 19, 20, 24, -1, -14, INT_MAX, INT_MIN};
    mpz_t p;
    mpz_init_set_ui(p, 77);
    for (size_t i = 0; i < ES_ARRAY_LEN(bad); i++) {
        cr_assert_eq(es_modp_supported(bad[i]), 0, "group %d", bad[i]);
        cr_assert_eq(es_modp_bits(bad[i]), 0);
        cr_assert_eq(es_modp_strength(bad[i]), 0);
        cr_assert_eq(es_dh_exponent_bits(bad[i]), 0);
        cr_assert_eq(es_modp_prime(bad[i], p), ESESSION_ERR_UNSUPPORTED);
        cr_assert_eq(mpz_cmp_ui(p, 77), 0, "p changed");
    }
    mpz_clear(p);
}
