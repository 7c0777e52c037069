/* SPDX-License-Identifier: ISC */
/* MODP Diffie-Hellman (PROFILE §3): exponent drawing and bounds, public
 * value validation, the shared secret, and the two constant-time backends
 * against each other and against plain mpz_powm. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../../crypto/dh.h"
#include "../../crypto/modexp.h"
#include "../../crypto/mpint.h"
#include "../common/vecfile.h"

#include <openssl/crypto.h>
#include <openssl/err.h>

static const int all_groups[] = {1, 2, 5, 14, 15, 16, 17, 18};

/* ---- helpers -------------------------------------------------------- */

/* Reproducible random source: libsodium's deterministic stream keyed by a
 * seed and a call counter. */
typedef struct det_rng {
    uint8_t seed[randombytes_SEEDBYTES];
    uint64_t calls;
    int fail;
} det_rng;

static int det_random(void *user, uint8_t *buf, size_t len)
{
    det_rng *r = user;
    if (r->fail) {
        memset(buf, 0x5c, len);
        return -1;
    }
    uint8_t seed[randombytes_SEEDBYTES];
    memcpy(seed, r->seed, sizeof seed);
    for (int i = 0; i < 8; i++)
        seed[i] ^= (uint8_t)(r->calls >> (8 * i));
    r->calls++;
    randombytes_buf_deterministic(buf, len, seed);
    return 0;
}

static void rng_init(det_rng *r, uint8_t tag)
{
    memset(r, 0, sizeof *r);
    memset(r->seed, tag, sizeof r->seed);
}

static esession_ctx *new_ctx(esession_dh_backend backend, det_rng *rng)
{
    static const esession_host_ops ops = {.random = det_random};
    esession_ctx_options o = ESESSION_CTX_OPTIONS_INIT;
    o.ops = &ops;
    o.user = rng;
    o.dh_backend = backend;
    esession_ctx *ctx = NULL;
    cr_assert_eq(esession_ctx_new(&ctx, &o, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_OK);
    return ctx;
}

/* mpint(v) in a malloc'ed buffer (never NULL). */
static uint8_t *to_mpint(const mpz_t v, size_t *len)
{
    *len = es_mpint_size(v);
    uint8_t *out = malloc(*len + 1);
    cr_assert_not_null(out);
    es_mpint_write(out, v);
    return out;
}

static void load_p(int group, mpz_t p)
{
    cr_assert_eq(es_modp_prime(group, p), ESESSION_OK);
}

/* A uniformly random value below m from the test rng. */
static void random_below(det_rng *rng, mpz_t out, const mpz_t m)
{
    size_t n = es_mpint_size(m);
    uint8_t *buf = malloc(n);
    cr_assert_not_null(buf);
    do {
        cr_assert_eq(det_random(rng, buf, n), 0);
        mpz_import(out, n, 1, 1, 1, 0, buf);
        mpz_fdiv_r_2exp(out, out, mpz_sizeinbase(m, 2));
    } while (mpz_cmp(out, m) >= 0);
    free(buf);
}

static esession_status check_mpz(int group, const mpz_t v)
{
    size_t n;
    uint8_t *b = to_mpint(v, &n);
    esession_status rc = es_dh_check_public(group, b, n);
    /* With a context's set-up of the group: the same verdict. */
    esession_ctx *c = NULL;
    cr_assert_eq(esession_ctx_new(&c, NULL, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_OK);
    cr_assert_eq(es_dh_check_public_in(c, group, b, n), rc, "group %d", group);
    cr_assert_eq(es_dh_check_public_in(c, group, b, n), rc, "group %d, set up", group);
    esession_ctx_free(c);
    free(b);
    return rc;
}

static esession_status from_private_mpz(esession_ctx *ctx, es_dh **out, int group,
                                        const mpz_t x)
{
    size_t n;
    uint8_t *b = to_mpint(x, &n);
    esession_status rc = es_dh_from_private(ctx, out, group, b, n);
    /* The key without e refuses exactly what the full one refuses. */
    es_dh *only = NULL;
    esession_status rc_only = es_dh_from_private_only(ctx, &only, group, b, n);
    cr_assert_eq(rc_only, rc, "es_dh_from_private_only disagrees");
    if (only != NULL) {
        esession_buf e = {0}, x2 = {0};
        cr_assert_eq(es_dh_public(only, &e), ESESSION_ERR_STATE, "no e without g^x");
        cr_assert_eq(es_dh_private(only, &x2), ESESSION_OK);
        cr_assert_eq(x2.len, n);
        cr_assert_arr_eq(x2.data, b, n);
        esession_buf_free(&x2);
        es_dh_free(only);
    }
    free(b);
    return rc;
}

static void public_mpz(const es_dh *dh, mpz_t e)
{
    esession_buf b = {0};
    cr_assert_eq(es_dh_public(dh, &b), ESESSION_OK);
    cr_assert_eq(b.secret, 0);
    cr_assert_eq(es_mpint_read(e, (const uint8_t *)b.data, b.len), ESESSION_OK);
    esession_buf_free(&b);
}

static void private_mpz(const es_dh *dh, mpz_t x)
{
    esession_buf b = {0};
    cr_assert_eq(es_dh_private(dh, &b), ESESSION_OK);
    cr_assert_neq(b.secret, 0, "the private exponent must come in a secret buffer");
    cr_assert_eq(es_mpint_read(x, (const uint8_t *)b.data, b.len), ESESSION_OK);
    esession_buf_free(&b);
}

/* es_dh_shared with a peer's public value, as a secret buffer. */
static void shared_with(esession_ctx *ctx, const es_dh *mine, const es_dh *peer,
                        esession_buf *out)
{
    esession_buf pub = {0};
    cr_assert_eq(es_dh_public(peer, &pub), ESESSION_OK);
    cr_assert_eq(es_dh_shared(ctx, mine, (const uint8_t *)pub.data, pub.len, out), ESESSION_OK);
    cr_assert_neq(out->secret, 0, "the shared secret must come in a secret buffer");
    esession_buf_free(&pub);
}

/* a and b hold the same octets; both freed. */
static void same_then_free(esession_buf *a, esession_buf *b)
{
    cr_assert_eq(a->len, b->len);
    cr_assert_arr_eq(a->data, b->data, a->len);
    esession_buf_free(a);
    esession_buf_free(b);
}

static uint8_t *hex(const char *h, size_t *len)
{
    uint8_t *b = vec_hex(h, len);
    cr_assert_not_null(b);
    return b;
}

/* ---- groups --------------------------------------------------------- */

Test(dh, unsupported_groups_everywhere)
{
    static const int bad[] = {0, 3, 4, 19, -1, INT_MIN};
    static const uint8_t two[] = {0x02};
    uint8_t x[40];
    memset(x, 0xa5, sizeof x);
    det_rng rng;
    rng_init(&rng, 1);
    esession_ctx *ctx = new_ctx(ESESSION_DH_GMP, &rng);
    for (size_t i = 0; i < ES_ARRAY_LEN(bad); i++) {
        es_dh *dh = (es_dh *)&rng; /* sentinel: must stay */
        cr_assert_eq(es_dh_generate(ctx, &dh, bad[i]), ESESSION_ERR_UNSUPPORTED, "group %d", bad[i]);
        cr_assert_eq(dh, (es_dh *)&rng);
        cr_assert_str_neq(esession_ctx_error_detail(ctx), "");
        cr_assert_eq(es_dh_from_private(ctx, &dh, bad[i], x, sizeof x), ESESSION_ERR_UNSUPPORTED);
        cr_assert_eq(dh, (es_dh *)&rng);
        cr_assert_eq(es_dh_check_public(bad[i], two, 1), ESESSION_ERR_UNSUPPORTED);
    }
    cr_assert_eq(rng.calls, 0, "randomness drawn for an unsupported group");
    esession_ctx_free(ctx);
}

/* ---- exponent drawing ----------------------------------------------- */

static void generate_draws_exponent_bits_with_top_bit(void)
{
    det_rng rng;
    rng_init(&rng, 2);
    esession_ctx *ctx = new_ctx(ESESSION_DH_GMP, &rng);
    mpz_t x, lo;
    mpz_init(x);
    mpz_init(lo);
    mpz_setbit(lo, 255);
    for (int round = 0; round < 4; round++) {
        es_dh *dh = NULL;
        cr_assert_eq(es_dh_generate(ctx, &dh, 2), ESESSION_OK);
        cr_assert_eq(es_dh_group(dh), 2);
        private_mpz(dh, x);
        cr_assert_eq(mpz_sizeinbase(x, 2), es_dh_exponent_bits(2));
        cr_assert_gt(mpz_cmp(x, lo), 0);
        es_dh_free(dh);
    }
    cr_assert_eq(rng.calls, 4, "one draw per exponent");
    mpz_clear(lo);
    mpz_clear(x);
    esession_ctx_free(ctx);
}

static void generate_is_reproducible_from_the_host_source(void)
{
    det_rng r1, r2, r3;
    rng_init(&r1, 3);
    rng_init(&r2, 3);
    rng_init(&r3, 4);
    esession_ctx *c1 = new_ctx(ESESSION_DH_GMP, &r1);
    esession_ctx *c2 = new_ctx(ESESSION_DH_OPENSSL, &r2);
    esession_ctx *c3 = new_ctx(ESESSION_DH_GMP, &r3);
    es_dh *a = NULL, *b = NULL, *c = NULL;
    cr_assert_eq(es_dh_generate(c1, &a, 1), ESESSION_OK);
    cr_assert_eq(es_dh_generate(c2, &b, 1), ESESSION_OK);
    cr_assert_eq(es_dh_generate(c3, &c, 1), ESESSION_OK);
    esession_buf pa = {0}, pb = {0}, pc = {0};
    cr_assert_eq(es_dh_public(a, &pa), ESESSION_OK);
    cr_assert_eq(es_dh_public(b, &pb), ESESSION_OK);
    cr_assert_eq(es_dh_public(c, &pc), ESESSION_OK);
    cr_assert_eq(pa.len, pb.len);
    cr_assert_arr_eq(pa.data, pb.data, pa.len, "same seed, other backend: same e");
    cr_assert(pa.len != pc.len || memcmp(pa.data, pc.data, pa.len) != 0);
    esession_buf_free(&pa);
    esession_buf_free(&pb);
    esession_buf_free(&pc);
    es_dh_free(a);
    es_dh_free(b);
    es_dh_free(c);
    esession_ctx_free(c1);
    esession_ctx_free(c2);
    esession_ctx_free(c3);
}

Test(dh, generate_draws_exponents)
{
    generate_draws_exponent_bits_with_top_bit();
    generate_is_reproducible_from_the_host_source();
}

static void failing_random_source_gives_no_object(void)
{
    det_rng rng;
    rng_init(&rng, 5);
    rng.fail = 1;
    esession_ctx *ctx = new_ctx(ESESSION_DH_GMP, &rng);
    es_dh *dh = NULL;
    cr_assert_eq(es_dh_generate(ctx, &dh, 14), ESESSION_ERR_RANDOM);
    cr_assert_null(dh);
    cr_assert_str_neq(esession_ctx_error_detail(ctx), "");
    esession_ctx_free(ctx);
}

static void argument_errors(void)
{
    det_rng rng;
    rng_init(&rng, 6);
    esession_ctx *ctx = new_ctx(ESESSION_DH_GMP, &rng);
    es_dh *dh = NULL;
    esession_buf out = {0};
    static const uint8_t two[] = {0x02};
    cr_assert_eq(es_dh_generate(ctx, NULL, 14), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_dh_from_private(ctx, NULL, 14, two, 1), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_dh_from_private(ctx, &dh, 14, NULL, 40), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_null(dh);
    cr_assert_eq(es_dh_check_public(14, NULL, 1), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_dh_public(NULL, &out), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_dh_private(NULL, &out), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_dh_shared(ctx, NULL, two, 1, &out), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_null(out.data);
    cr_assert_eq(es_dh_group(NULL), 0);
    es_dh_free(NULL);

    cr_assert_eq(es_dh_generate(ctx, &dh, 1), ESESSION_OK);
    cr_assert_eq(es_dh_public(dh, NULL), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_dh_private(dh, NULL), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_dh_shared(ctx, dh, two, 1, NULL), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_dh_shared(ctx, dh, NULL, 1, &out), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_null(out.data);
    es_dh_free(dh);
    esession_ctx_free(ctx);
}

Test(dh, argument_and_random_source_errors)
{
    failing_random_source_gives_no_object();
    argument_errors();
}

/* Without a context: libsodium's random source and the default backend. */
Test(dh, null_context_uses_defaults)
{
    es_dh *a = NULL, *b = NULL;
    cr_assert_eq(es_dh_generate(NULL, &a, 1), ESESSION_OK);
    cr_assert_eq(es_dh_generate(NULL, &b, 1), ESESSION_OK);
    esession_buf s1 = {0}, s2 = {0};
    shared_with(NULL, a, b, &s1);
    shared_with(NULL, b, a, &s2);
    same_then_free(&s1, &s2);
    es_dh_free(a);
    es_dh_free(b);
}

/* ---- private exponents ---------------------------------------------- */

Test(dh, private_round_trip)
{
    static const int groups[] = {2, 14};
    det_rng rng;
    rng_init(&rng, 7);
    esession_ctx *ctx = new_ctx(ESESSION_DH_GMP, &rng);
    for (size_t i = 0; i < ES_ARRAY_LEN(groups); i++) {
        es_dh *a = NULL, *b = NULL;
        esession_buf xa = {0}, xb = {0}, ea = {0}, eb = {0};
        cr_assert_eq(es_dh_generate(ctx, &a, groups[i]), ESESSION_OK);
        cr_assert_eq(es_dh_private(a, &xa), ESESSION_OK);
        cr_assert_eq(xa.len, es_dh_exponent_bits(groups[i]) / 8);
        cr_assert_neq((uint8_t)xa.data[0], 0);
        cr_assert_eq(es_dh_from_private(ctx, &b, groups[i], (const uint8_t *)xa.data, xa.len),
                     ESESSION_OK);
        cr_assert_eq(es_dh_group(b), groups[i]);
        cr_assert_eq(es_dh_private(b, &xb), ESESSION_OK);
        cr_assert_eq(es_dh_public(a, &ea), ESESSION_OK);
        cr_assert_eq(es_dh_public(b, &eb), ESESSION_OK);
        cr_assert_eq(xa.len, xb.len);
        cr_assert_arr_eq(xa.data, xb.data, xa.len);
        cr_assert_eq(ea.len, eb.len);
        cr_assert_arr_eq(ea.data, eb.data, ea.len);
        cr_assert_eq(es_dh_check_public(groups[i], (const uint8_t *)ea.data, ea.len), ESESSION_OK);
        /* Without e, the same shared secrets. */
        es_dh *only = NULL, *peer = NULL;
        esession_buf s1 = {0}, s2 = {0};
        cr_assert_eq(es_dh_from_private_only(ctx, &only, groups[i], (const uint8_t *)xa.data,
                                             xa.len), ESESSION_OK);
        cr_assert_eq(es_dh_generate(ctx, &peer, groups[i]), ESESSION_OK);
        shared_with(ctx, a, peer, &s1);
        shared_with(ctx, only, peer, &s2);
        same_then_free(&s1, &s2);
        es_dh_free(only);
        es_dh_free(peer);
        esession_buf_free(&xa);
        esession_buf_free(&xb);
        esession_buf_free(&ea);
        esession_buf_free(&eb);
        es_dh_free(a);
        es_dh_free(b);
    }
    esession_ctx_free(ctx);
}

/* Known answer: e = 2^x mod p, d = 2^y mod p, s = d^x mod p in group 1,
 * computed with Python's built-in pow(). */
static const char kat_x[] = "a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5";
static const char kat_e[] =
    "38212a9a848c6f200e39cec46622160f50b6fecd10dbd830b99ebad88d2483f23ffa8210a3e9f495"
    "b525b48b68bc3c76b1c9fb730c2f28c7dc04f4e030f293e3045cbebf849196fb43885cb8d077e9c0"
    "0a67c6362d25e3a7a49181b7066beada";
static const char kat_d[] =
    "8e129ab3e75fc9e5f4002f30cf72923ea8f4e9e4472f5fff4f4649c4fab73f09d6af7603d7527781"
    "adb93cd8611a6fc780df507c69259576b975a0253f2e4900ec15017a98a6eceb17ab31447c7ce439"
    "8100d7348448c303d52df17f97bfa624";
static const char kat_s[] =
    "aaf16ab682b746d78e985d1953e1f877d5c46a4c276e9a7555cf3a7e35d39a4f955f67e733afc262"
    "2897f95aace9a250d28ada652d9c2e318c2a92269d886b8f2d63d5e4ac2062a8b57450f548164d3c"
    "4f932e2f82bc2f9e571063c86c6b11c5";

static void known_answer(esession_dh_backend backend)
{
    det_rng rng;
    rng_init(&rng, 8);
    esession_ctx *ctx = new_ctx(backend, &rng);
    size_t xl, el, dl, sl;
    uint8_t *x = hex(kat_x, &xl), *e = hex(kat_e, &el), *d = hex(kat_d, &dl),
            *s = hex(kat_s, &sl);
    es_dh *dh = NULL;
    cr_assert_eq(es_dh_from_private(ctx, &dh, 1, x, xl), ESESSION_OK);
    esession_buf pub = {0}, sec = {0};
    cr_assert_eq(es_dh_public(dh, &pub), ESESSION_OK);
    cr_assert_eq(pub.len, el);
    cr_assert_arr_eq(pub.data, e, el);
    cr_assert_eq(es_dh_shared(ctx, dh, d, dl, &sec), ESESSION_OK);
    cr_assert_eq(sec.len, sl);
    cr_assert_arr_eq(sec.data, s, sl);
    esession_buf_free(&pub);
    esession_buf_free(&sec);
    es_dh_free(dh);
    free(x);
    free(e);
    free(d);
    free(s);
    esession_ctx_free(ctx);
}

Test(dh, known_answer_group1_both_backends)
{
    known_answer(ESESSION_DH_GMP);
    known_answer(ESESSION_DH_OPENSSL);
}

Test(dh, private_exponent_bounds)
{
    det_rng rng;
    rng_init(&rng, 9);
    esession_ctx *ctx = new_ctx(ESESSION_DH_GMP, &rng);
    mpz_t p, v, e, ref, two;
    mpz_inits(p, v, e, ref, NULL);
    mpz_init_set_ui(two, 2);
    load_p(1, p);
    es_dh *dh = NULL;

    /* rejected: 0 (empty), 1, 2^255, p-1, p, p+1, 2^768, q (g^q = 1) */
    const struct {
        const char *what;
        int kind;
    } bad[] = {{"0", 0}, {"1", 1}, {"2^255", 2}, {"p-1", 3}, {"p", 4},
               {"p+1", 5}, {"2^768", 6}, {"q", 7}, {"2^255-1", 8}};
    for (size_t i = 0; i < ES_ARRAY_LEN(bad); i++) {
        mpz_set_ui(v, 0);
        switch (bad[i].kind) {
        case 1: mpz_set_ui(v, 1); break;
        case 2: mpz_setbit(v, 255); break;
        case 3: mpz_sub_ui(v, p, 1); break;
        case 4: mpz_set(v, p); break;
        case 5: mpz_add_ui(v, p, 1); break;
        case 6: mpz_setbit(v, 768); break;
        case 7: mpz_sub_ui(v, p, 1); mpz_fdiv_q_2exp(v, v, 1); break;
        case 8: mpz_setbit(v, 255); mpz_sub_ui(v, v, 1); break;
        default: break;
        }
        ctx->detail[0] = '\0';
        cr_assert_eq(from_private_mpz(ctx, &dh, 1, v), ESESSION_ERR_INVALID_ARGUMENT,
                     "x = %s accepted", bad[i].what);
        cr_assert_null(dh);
        cr_assert_str_neq(esession_ctx_error_detail(ctx), "");
    }

    /* accepted: 2^255 + 1, q + 1 (g^(q+1) = g), p-2; e checked by mpz_powm */
    for (int kind = 0; kind < 3; kind++) {
        if (kind == 0) {
            mpz_set_ui(v, 0);
            mpz_setbit(v, 255);
            mpz_add_ui(v, v, 1);
        } else if (kind == 1) {
            mpz_sub_ui(v, p, 1);
            mpz_fdiv_q_2exp(v, v, 1);
            mpz_add_ui(v, v, 1);
        } else {
            mpz_sub_ui(v, p, 2);
        }
        cr_assert_eq(from_private_mpz(ctx, &dh, 1, v), ESESSION_OK, "kind %d", kind);
        public_mpz(dh, e);
        mpz_powm(ref, two, v, p);
        cr_assert_eq(mpz_cmp(e, ref), 0, "kind %d", kind);
        if (kind == 1)
            cr_assert_eq(mpz_cmp_ui(e, 2), 0);
        es_dh_free(dh);
        dh = NULL;
    }

    /* non-minimal mpint: malformed, before any range check */
    static const uint8_t lead0[] = {0x00, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
    static const uint8_t zero[] = {0x00};
    cr_assert_eq(es_dh_from_private(ctx, &dh, 1, lead0, sizeof lead0), ESESSION_ERR_MALFORMED);
    cr_assert_eq(es_dh_from_private(ctx, &dh, 1, zero, 1), ESESSION_ERR_MALFORMED);
    cr_assert_null(dh);
    /* the same value without the zero octet is fine */
    cr_assert_eq(es_dh_from_private(ctx, &dh, 1, lead0 + 1, sizeof lead0 - 1), ESESSION_OK);
    es_dh_free(dh);

    mpz_clears(p, v, e, ref, two, NULL);
    esession_ctx_free(ctx);
}

/* ---- public value validation ---------------------------------------- */

Test(dh, check_public_rejections_in_every_group)
{
    det_rng rng;
    rng_init(&rng, 10);
    mpz_t p, v, r;
    mpz_inits(p, v, r, NULL);
    static const uint8_t lead0[] = {0x00, 0x02};
    static const uint8_t zero[] = {0x00};
    for (size_t i = 0; i < ES_ARRAY_LEN(all_groups); i++) {
        int g = all_groups[i];
        load_p(g, p);
        cr_assert_eq(es_dh_check_public(g, (const uint8_t *)"", 0), ESESSION_ERR_INVALID_DH_VALUE,
                     "empty mpint (0), group %d", g);
        cr_assert_eq(es_dh_check_public(g, NULL, 0), ESESSION_ERR_INVALID_DH_VALUE);
        cr_assert_eq(es_dh_check_public(g, zero, 1), ESESSION_ERR_MALFORMED);
        cr_assert_eq(es_dh_check_public(g, lead0, 2), ESESSION_ERR_MALFORMED);
        /* non-minimal wins over "too long": p's length plus a zero octet */
        size_t plen = es_modp_bits(g) / 8 + 1;
        uint8_t *longv = calloc(plen, 1);
        cr_assert_not_null(longv);
        longv[1] = 0x02;
        cr_assert_eq(es_dh_check_public(g, longv, plen), ESESSION_ERR_MALFORMED);
        free(longv);

        mpz_set_ui(v, 1);
        cr_assert_eq(check_mpz(g, v), ESESSION_ERR_INVALID_DH_VALUE, "1, group %d", g);
        mpz_sub_ui(v, p, 1);
        cr_assert_eq(check_mpz(g, v), ESESSION_ERR_INVALID_DH_VALUE, "p-1, group %d", g);
        mpz_set(v, p);
        cr_assert_eq(check_mpz(g, v), ESESSION_ERR_INVALID_DH_VALUE, "p, group %d", g);
        mpz_add_ui(v, p, 1);
        cr_assert_eq(check_mpz(g, v), ESESSION_ERR_INVALID_DH_VALUE, "p+1, group %d", g);
        mpz_add_ui(v, p, 4); /* a square mod p, but not below p */
        cr_assert_eq(check_mpz(g, v), ESESSION_ERR_INVALID_DH_VALUE, "p+4, group %d", g);
        mpz_set_ui(v, 0);
        mpz_setbit(v, es_modp_bits(g) + 8);
        cr_assert_eq(check_mpz(g, v), ESESSION_ERR_INVALID_DH_VALUE, "too long, group %d", g);
        /* p-2 = -2: Jacobi(-1)Jacobi(2) = -1 */
        mpz_sub_ui(v, p, 2);
        cr_assert_eq(mpz_jacobi(v, p), -1);
        cr_assert_eq(check_mpz(g, v), ESESSION_ERR_INVALID_DH_VALUE, "p-2, group %d", g);

        /* a random quadratic non-residue */
        do
            random_below(&rng, v, p);
        while (mpz_jacobi(v, p) != -1 || mpz_cmp_ui(v, 1) <= 0);
        cr_assert_eq(check_mpz(g, v), ESESSION_ERR_INVALID_DH_VALUE, "non-residue, group %d", g);
        /* its square is a residue: accepted */
        mpz_mul(v, v, v);
        mpz_mod(v, v, p);
        cr_assert_eq(check_mpz(g, v), ESESSION_OK, "square, group %d", g);
    }
    mpz_clears(p, v, r, NULL);
}

Test(dh, check_public_accepts_powers_of_g)
{
    static const unsigned long ks[] = {1, 2, 3, 7, 255, 65537, 0xfedcba98UL};
    mpz_t p, v, two, k;
    mpz_inits(p, v, k, NULL);
    mpz_init_set_ui(two, 2);
    for (size_t i = 0; i < ES_ARRAY_LEN(all_groups); i++) {
        int g = all_groups[i];
        load_p(g, p);
        for (size_t j = 0; j < ES_ARRAY_LEN(ks); j++) {
            mpz_set_ui(k, ks[j]);
            mpz_powm(v, two, k, p);
            cr_assert_eq(check_mpz(g, v), ESESSION_OK, "g^%lu, group %d", ks[j], g);
        }
        /* and a 64-bit exponent */
        mpz_set_str(k, "f123456789abcdef", 16);
        mpz_powm(v, two, k, p);
        cr_assert_eq(check_mpz(g, v), ESESSION_OK, "group %d", g);
    }
    mpz_clears(p, v, two, k, NULL);
}

/* ---- shared secret -------------------------------------------------- */

Test(dh, shared_rejects_invalid_peer_values)
{
    det_rng rng;
    rng_init(&rng, 11);
    esession_ctx *ctx = new_ctx(ESESSION_DH_GMP, &rng);
    es_dh *dh = NULL;
    cr_assert_eq(es_dh_generate(ctx, &dh, 2), ESESSION_OK);
    mpz_t p, v;
    mpz_inits(p, v, NULL);
    load_p(2, p);
    esession_buf out = {0};

    cr_assert_eq(es_dh_shared(ctx, dh, (const uint8_t *)"", 0, &out), ESESSION_ERR_INVALID_DH_VALUE);
    cr_assert_null(out.data);
    cr_assert_str_neq(esession_ctx_error_detail(ctx), "");
    static const uint8_t lead0[] = {0x00, 0x04};
    cr_assert_eq(es_dh_shared(ctx, dh, lead0, 2, &out), ESESSION_ERR_MALFORMED);
    cr_assert_null(out.data);

    const unsigned long subtract[] = {1, 2, 0}; /* p-1, p-2, p */
    for (size_t i = 0; i < ES_ARRAY_LEN(subtract); i++) {
        mpz_sub_ui(v, p, subtract[i]);
        size_t n;
        uint8_t *b = to_mpint(v, &n);
        cr_assert_eq(es_dh_shared(ctx, dh, b, n, &out), ESESSION_ERR_INVALID_DH_VALUE);
        cr_assert_null(out.data);
        free(b);
    }
    static const uint8_t one[] = {0x01};
    cr_assert_eq(es_dh_shared(ctx, dh, one, 1, &out), ESESSION_ERR_INVALID_DH_VALUE);
    cr_assert_null(out.data);

    mpz_clears(p, v, NULL);
    es_dh_free(dh);
    esession_ctx_free(ctx);
}

/* Both sides agree in every group, and the value is peer^x mod p. */
Test(dh, exchange_agrees_in_every_group, .timeout = 120)
{
    det_rng rng;
    rng_init(&rng, 12);
    esession_ctx *ctx = new_ctx(ESESSION_DH_GMP, &rng);
    mpz_t p, x, d, s, ref;
    mpz_inits(p, x, d, s, ref, NULL);
    for (size_t i = 0; i < ES_ARRAY_LEN(all_groups); i++) {
        int g = all_groups[i];
        es_dh *alice = NULL, *bob = NULL;
        cr_assert_eq(es_dh_generate(ctx, &alice, g), ESESSION_OK);
        cr_assert_eq(es_dh_generate(ctx, &bob, g), ESESSION_OK);
        esession_buf ka = {0}, kb = {0};
        shared_with(ctx, alice, bob, &ka);
        shared_with(ctx, bob, alice, &kb);
        cr_assert_eq(ka.len, kb.len, "group %d", g);
        cr_assert_arr_eq(ka.data, kb.data, ka.len, "group %d: sides disagree", g);
        cr_assert_leq(ka.len, es_modp_bits(g) / 8);
        cr_assert_neq((uint8_t)ka.data[0], 0, "shared secret not a minimal mpint");

        /* it lies in the subgroup, and (an independent check, skipped for
         * the two largest groups to keep valgrind runs short) s = d^x */
        load_p(g, p);
        cr_assert_eq(es_mpint_read(s, (const uint8_t *)ka.data, ka.len), ESESSION_OK);
        cr_assert_eq(mpz_jacobi(s, p), 1);
        if (es_modp_bits(g) <= 4096) {
            private_mpz(alice, x);
            public_mpz(bob, d);
            mpz_powm(ref, d, x, p);
            cr_assert_eq(mpz_cmp(s, ref), 0, "group %d", g);
        }

        esession_buf_free(&ka);
        esession_buf_free(&kb);
        es_dh_free(alice);
        es_dh_free(bob);
    }
    mpz_clears(p, x, d, s, ref, NULL);
    esession_ctx_free(ctx);
}

/* Alice on GMP, Bob on OpenSSL. */
Test(dh, exchange_across_backends)
{
    static const int groups[] = {2, 14};
    det_rng ra, rb;
    rng_init(&ra, 13);
    rng_init(&rb, 14);
    esession_ctx *ca = new_ctx(ESESSION_DH_GMP, &ra);
    esession_ctx *cb = new_ctx(ESESSION_DH_OPENSSL, &rb);
    for (size_t i = 0; i < ES_ARRAY_LEN(groups); i++) {
        es_dh *alice = NULL, *bob = NULL;
        cr_assert_eq(es_dh_generate(ca, &alice, groups[i]), ESESSION_OK);
        cr_assert_eq(es_dh_generate(cb, &bob, groups[i]), ESESSION_OK);
        esession_buf ka = {0}, kb = {0};
        shared_with(ca, alice, bob, &ka);
        shared_with(cb, bob, alice, &kb);
        cr_assert_eq(ka.len, kb.len);
        cr_assert_arr_eq(ka.data, kb.data, ka.len, "group %d", groups[i]);
        esession_buf_free(&ka);
        esession_buf_free(&kb);
        es_dh_free(alice);
        es_dh_free(bob);
    }
    esession_ctx_free(ca);
    esession_ctx_free(cb);
}

/* ---- backends ------------------------------------------------------- */

/* GMP, OpenSSL and mpz_powm agree on r = b^e mod m. */
static void compare_backends(esession_ctx *cg, esession_ctx *co, const mpz_t b, const mpz_t e,
                             const mpz_t m, const char *what)
{
    mpz_t rg, ro, ref;
    mpz_init2(rg, (mp_bitcnt_t)mpz_sizeinbase(m, 2));
    mpz_init2(ro, (mp_bitcnt_t)mpz_sizeinbase(m, 2));
    mpz_init(ref);
    cr_assert_eq(es_modexp_sec(cg, rg, b, e, m), ESESSION_OK, "%s", what);
    cr_assert_eq(es_modexp_sec(co, ro, b, e, m), ESESSION_OK, "%s", what);
    mpz_powm(ref, b, e, m);
    cr_assert_eq(mpz_cmp(rg, ref), 0, "GMP backend differs: %s", what);
    cr_assert_eq(mpz_cmp(ro, ref), 0, "OpenSSL backend differs: %s", what);
    mpz_clears(rg, ro, ref, NULL);
}

static void backends_agree_on_random_values(void)
{
    static const int groups[] = {1, 2, 5, 14};
    det_rng rng, unused;
    rng_init(&rng, 15);
    rng_init(&unused, 16);
    esession_ctx *cg = new_ctx(ESESSION_DH_GMP, &unused);
    esession_ctx *co = new_ctx(ESESSION_DH_OPENSSL, &unused);
    mpz_t p, b, e, bound;
    mpz_inits(p, b, e, bound, NULL);
    for (size_t i = 0; i < ES_ARRAY_LEN(groups); i++) {
        int g = groups[i];
        load_p(g, p);
        /* exponent sizes: 1, 2, 64, 320 bits, and p's size for small p */
        const unsigned sizes[] = {1, 2, 64, es_dh_exponent_bits(g), es_modp_bits(g)};
        size_t nsizes = es_modp_bits(g) <= 1024 ? 5 : 4;
        for (size_t j = 0; j < nsizes; j++) {
            mpz_set_ui(bound, 0);
            mpz_setbit(bound, sizes[j]);
            do
                random_below(&rng, e, bound);
            while (mpz_sgn(e) == 0);
            random_below(&rng, b, p);
            compare_backends(cg, co, b, e, p, "random base");
        }
        /* edge bases: 0, 1, 2, p-1 */
        mpz_set_ui(e, 0);
        mpz_setbit(e, 319);
        mpz_add_ui(e, e, 12345);
        mpz_set_ui(b, 0);
        compare_backends(cg, co, b, e, p, "b = 0");
        mpz_set_ui(b, 1);
        compare_backends(cg, co, b, e, p, "b = 1");
        mpz_set_ui(b, 2);
        compare_backends(cg, co, b, e, p, "b = 2");
        mpz_sub_ui(b, p, 1);
        compare_backends(cg, co, b, e, p, "b = p-1");
    }
    mpz_clears(p, b, e, bound, NULL);
    esession_ctx_free(cg);
    esession_ctx_free(co);
}

/* One exponentiation in the largest group on each backend. */
static void backends_agree_in_group_18(void)
{
    det_rng rng, unused;
    rng_init(&rng, 17);
    rng_init(&unused, 18);
    esession_ctx *cg = new_ctx(ESESSION_DH_GMP, &unused);
    esession_ctx *co = new_ctx(ESESSION_DH_OPENSSL, &unused);
    mpz_t p, b, e, bound;
    mpz_inits(p, b, e, bound, NULL);
    load_p(18, p);
    mpz_setbit(bound, es_dh_exponent_bits(18));
    random_below(&rng, e, bound);
    mpz_setbit(e, es_dh_exponent_bits(18) - 1);
    random_below(&rng, b, p);
    compare_backends(cg, co, b, e, p, "group 18");
    mpz_clears(p, b, e, bound, NULL);
    esession_ctx_free(cg);
    esession_ctx_free(co);
}

Test(dh, backends_agree_with_each_other_and_mpz_powm, .timeout = 120)
{
    backends_agree_on_random_values();
    backends_agree_in_group_18();
}

/* Small known answers and bases outside [0, m) on both backends. */
Test(dh, modexp_small_values_and_reduction)
{
    det_rng unused;
    rng_init(&unused, 19);
    const esession_dh_backend backends[] = {ESESSION_DH_GMP, ESESSION_DH_OPENSSL};
    mpz_t r, b, e, m;
    mpz_inits(r, b, e, m, NULL);
    for (size_t i = 0; i < ES_ARRAY_LEN(backends); i++) {
        esession_ctx *ctx = new_ctx(backends[i], &unused);
        mpz_set_ui(b, 4);
        mpz_set_ui(e, 13);
        mpz_set_ui(m, 497);
        cr_assert_eq(es_modexp_sec(ctx, r, b, e, m), ESESSION_OK);
        cr_assert_eq(mpz_cmp_ui(r, 445), 0);
        mpz_set_ui(b, 3);
        mpz_set_ui(e, 5);
        mpz_set_ui(m, 7);
        cr_assert_eq(es_modexp_sec(ctx, r, b, e, m), ESESSION_OK);
        cr_assert_eq(mpz_cmp_ui(r, 5), 0);
        /* b = 3 + 7*1000 and b = -4 = 3 mod 7 */
        mpz_set_ui(b, 7003);
        cr_assert_eq(es_modexp_sec(ctx, r, b, e, m), ESESSION_OK);
        cr_assert_eq(mpz_cmp_ui(r, 5), 0);
        mpz_set_si(b, -4);
        cr_assert_eq(es_modexp_sec(ctx, r, b, e, m), ESESSION_OK);
        cr_assert_eq(mpz_cmp_ui(r, 5), 0);
        mpz_set_ui(b, 7); /* b = m: 0 */
        cr_assert_eq(es_modexp_sec(ctx, r, b, e, m), ESESSION_OK);
        cr_assert_eq(mpz_sgn(r), 0);
        esession_ctx_free(ctx);
    }
    /* without a context: GMP */
    mpz_set_ui(b, 4);
    mpz_set_ui(e, 13);
    mpz_set_ui(m, 497);
    cr_assert_eq(es_modexp_sec(NULL, r, b, e, m), ESESSION_OK);
    cr_assert_eq(mpz_cmp_ui(r, 445), 0);
    mpz_clears(r, b, e, m, NULL);
}

static void modexp_argument_errors(void)
{
    det_rng unused;
    rng_init(&unused, 20);
    const esession_dh_backend backends[] = {ESESSION_DH_GMP, ESESSION_DH_OPENSSL};
    mpz_t r, b, e, m, big;
    mpz_inits(r, b, e, m, big, NULL);
    mpz_setbit(big, ES_MODEXP_MAX_BITS); /* one bit too many */
    mpz_add_ui(big, big, 1);             /* odd */
    for (size_t i = 0; i < ES_ARRAY_LEN(backends); i++) {
        esession_ctx *ctx = new_ctx(backends[i], &unused);
        const struct {
            long b, e, m;
            esession_status want;
        } t[] = {
            {2, 5, 8, ESESSION_ERR_INVALID_ARGUMENT},  /* even modulus */
            {2, 5, 1, ESESSION_ERR_INVALID_ARGUMENT},  /* m = 1 */
            {2, 5, 0, ESESSION_ERR_INVALID_ARGUMENT},  /* m = 0 */
            {2, 5, -7, ESESSION_ERR_INVALID_ARGUMENT}, /* negative modulus */
            {2, 0, 7, ESESSION_ERR_INVALID_ARGUMENT},  /* e = 0 */
            {2, -3, 7, ESESSION_ERR_INVALID_ARGUMENT}, /* negative exponent */
        };
        for (size_t j = 0; j < ES_ARRAY_LEN(t); j++) {
            mpz_set_si(b, t[j].b);
            mpz_set_si(e, t[j].e);
            mpz_set_si(m, t[j].m);
            mpz_set_ui(r, 99);
            cr_assert_eq(es_modexp_sec(ctx, r, b, e, m), t[j].want, "backend %zu case %zu", i, j);
            cr_assert_eq(mpz_cmp_ui(r, 99), 0, "r changed on failure");
        }
        /* size limits on m, e and b */
        mpz_set_ui(b, 2);
        mpz_set_ui(e, 5);
        cr_assert_eq(es_modexp_sec(ctx, r, b, e, big), ESESSION_ERR_LIMIT);
        mpz_set_ui(m, 7);
        cr_assert_eq(es_modexp_sec(ctx, r, b, big, m), ESESSION_ERR_LIMIT);
        cr_assert_eq(es_modexp_sec(ctx, r, big, e, m), ESESSION_ERR_LIMIT);
        cr_assert_eq(mpz_cmp_ui(r, 99), 0);
        esession_ctx_free(ctx);
    }
    /* an unknown backend */
    esession_ctx *ctx = new_ctx(ESESSION_DH_GMP, &unused);
    ctx->dh_backend = (esession_dh_backend)7;
    mpz_set_ui(b, 2);
    mpz_set_ui(e, 5);
    mpz_set_ui(m, 7);
    cr_assert_eq(es_modexp_sec(ctx, r, b, e, m), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(mpz_cmp_ui(r, 99), 0);
    /* generate reports the failure and returns no object */
    es_dh *dh = NULL;
    cr_assert_eq(es_dh_generate(ctx, &dh, 1), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_null(dh);
    esession_ctx_free(ctx);
    mpz_clears(r, b, e, m, big, NULL);
}

/* The backends check their own preconditions (es_modexp_sec reduces b, so
 * a base outside [0, m) reaches them only when called directly). */
static void backends_check_their_preconditions(void)
{
    esession_status (*const fns[])(mpz_t, const mpz_t, const mpz_t, const mpz_t) = {
        es_modexp_gmp, es_modexp_openssl};
    const struct {
        long b, e, m;
        esession_status want;
    } t[] = {
        {7, 5, 7, ESESSION_ERR_INVALID_ARGUMENT},   /* b = m */
        {-1, 5, 7, ESESSION_ERR_INVALID_ARGUMENT},  /* b < 0 */
        {2, 5, 10, ESESSION_ERR_INVALID_ARGUMENT},  /* even m */
        {2, 0, 7, ESESSION_ERR_INVALID_ARGUMENT},   /* e = 0 */
        {3, 5, 7, ESESSION_OK},
    };
    mpz_t r, b, e, m;
    mpz_inits(r, b, e, m, NULL);
    for (size_t i = 0; i < ES_ARRAY_LEN(fns); i++) {
        for (size_t j = 0; j < ES_ARRAY_LEN(t); j++) {
            mpz_set_si(b, t[j].b);
            mpz_set_si(e, t[j].e);
            mpz_set_si(m, t[j].m);
            mpz_set_ui(r, 99);
            cr_assert_eq(fns[i](r, b, e, m), t[j].want, "backend %zu case %zu", i, j);
            cr_assert_eq(mpz_cmp_ui(r, t[j].want == ESESSION_OK ? 5 : 99), 0);
        }
    }
    mpz_clears(r, b, e, m, NULL);
}

Test(dh, modexp_argument_errors_and_preconditions)
{
    modexp_argument_errors();
    backends_check_their_preconditions();
}

/* The context picks the backend. Seen from outside: with OpenSSL's secure
 * heap set up too small for a BN_CTX, only the OpenSSL backend fails (and
 * says so as no-memory, leaving r alone). */
Test(dh, context_selects_the_backend)
{
    cr_assert_neq(CRYPTO_secure_malloc_init(128, 16), 0);
    det_rng unused;
    rng_init(&unused, 21);
    mpz_t r, b, e, m;
    mpz_inits(r, b, e, m, NULL);
    mpz_set_ui(b, 4);
    mpz_set_ui(e, 13);
    mpz_set_ui(m, 497);

    esession_ctx *cg = new_ctx(ESESSION_DH_GMP, &unused);
    esession_ctx *co = new_ctx(ESESSION_DH_OPENSSL, &unused);
    cr_assert_eq(es_modexp_sec(cg, r, b, e, m), ESESSION_OK);
    cr_assert_eq(mpz_cmp_ui(r, 445), 0);
    mpz_set_ui(r, 99);
    esession_status rc = es_modexp_sec(co, r, b, e, m);
    cr_assert_eq(rc, ESESSION_ERR_NO_MEMORY, "rc %d", rc);
    cr_assert_eq(mpz_cmp_ui(r, 99), 0);
    cr_assert_eq(ERR_peek_error(), 0, "OpenSSL error left queued");
    /* and through DH: no object */
    es_dh *dh = NULL;
    cr_assert_eq(es_dh_generate(co, &dh, 1), ESESSION_ERR_NO_MEMORY);
    cr_assert_null(dh);

    esession_ctx_free(cg);
    esession_ctx_free(co);
    mpz_clears(r, b, e, m, NULL);
}

/* With a working secure heap the OpenSSL backend uses it and returns it. */
Test(dh, openssl_backend_with_a_secure_heap)
{
    cr_assert_neq(CRYPTO_secure_malloc_init(1 << 16, 16), 0);
    det_rng rng;
    rng_init(&rng, 22);
    esession_ctx *co = new_ctx(ESESSION_DH_OPENSSL, &rng);
    es_dh *a = NULL, *b = NULL;
    cr_assert_eq(es_dh_generate(co, &a, 14), ESESSION_OK);
    cr_assert_eq(es_dh_generate(co, &b, 14), ESESSION_OK);
    esession_buf ka = {0}, kb = {0};
    shared_with(co, a, b, &ka);
    shared_with(co, b, a, &kb);
    cr_assert_eq(ka.len, kb.len);
    cr_assert_arr_eq(ka.data, kb.data, ka.len);
    cr_assert_eq(CRYPTO_secure_used(), 0, "secure heap not returned");
    esession_buf_free(&ka);
    esession_buf_free(&kb);
    es_dh_free(a);
    es_dh_free(b);
    esession_ctx_free(co);
}

/* The per-context set-up of a group gives what the generic path gives,
 * with either backend, again and again (the second use is the set-up
 * kept), and without a context; a base outside [0, p) is refused. */
Test(dh, group_modexp_matches_the_generic_path)
{
    static const int groups[] = {1, 5, 14};
    det_rng rng, unused;
    rng_init(&rng, 31);
    rng_init(&unused, 32);
    esession_ctx *cs[] = {new_ctx(ESESSION_DH_GMP, &unused), new_ctx(ESESSION_DH_OPENSSL, &unused),
                          NULL};
    mpz_t p, b, e, r, ref;
    mpz_inits(p, b, e, r, ref, NULL);
    for (size_t i = 0; i < ES_ARRAY_LEN(groups); i++) {
        load_p(groups[i], p);
        for (int round = 0; round < 2; round++) {
            random_below(&rng, b, p);
            random_below(&rng, e, p);
            mpz_add_ui(e, e, 1);
            mpz_powm(ref, b, e, p);
            for (size_t c = 0; c < ES_ARRAY_LEN(cs); c++) {
                mpz_set_ui(r, 0);
                cr_assert_eq(es_modexp_group_sec(cs[c], r, b, e, groups[i]), ESESSION_OK);
                cr_assert_eq(mpz_cmp(r, ref), 0, "group %d context %zu", groups[i], c);
            }
        }
        for (size_t c = 0; c < 2; c++) {
            mpz_set_ui(r, 99);
            cr_assert_eq(es_modexp_group_sec(cs[c], r, p, e, groups[i]),
                         ESESSION_ERR_INVALID_ARGUMENT);
            cr_assert_eq(mpz_cmp_ui(r, 99), 0);
        }
    }
    cr_assert_eq(es_modexp_group_sec(cs[0], r, b, e, 3), ESESSION_ERR_UNSUPPORTED);
    mpz_clears(p, b, e, r, ref, NULL);
    esession_ctx_free(cs[0]);
    esession_ctx_free(cs[1]);
}

/* es_dh_shared_checked agrees with es_dh_shared and still refuses values
 * out of range (only the Jacobi symbol is left to the caller's check). */
Test(dh, shared_checked_agrees_and_checks_the_range)
{
    det_rng rng;
    rng_init(&rng, 33);
    esession_ctx *ctx = new_ctx(ESESSION_DH_OPENSSL, &rng);
    es_dh *a = NULL, *b = NULL;
    cr_assert_eq(es_dh_generate(ctx, &a, 14), ESESSION_OK);
    cr_assert_eq(es_dh_generate(ctx, &b, 14), ESESSION_OK);
    esession_buf e = {0}, k1 = {0}, k2 = {0};
    cr_assert_eq(es_dh_public(b, &e), ESESSION_OK);
    cr_assert_eq(es_dh_shared(ctx, a, (const uint8_t *)e.data, e.len, &k1), ESESSION_OK);
    cr_assert_eq(es_dh_shared_checked(ctx, a, (const uint8_t *)e.data, e.len, &k2), ESESSION_OK);
    cr_assert_eq(k1.len, k2.len);
    cr_assert_arr_eq(k1.data, k2.data, k1.len);

    mpz_t p, v;
    mpz_inits(p, v, NULL);
    load_p(14, p);
    const unsigned long subtract[] = {1, 0}; /* p-1, p */
    esession_buf out = {0};
    for (size_t i = 0; i < ES_ARRAY_LEN(subtract); i++) {
        mpz_sub_ui(v, p, subtract[i]);
        size_t n;
        uint8_t *m = to_mpint(v, &n);
        cr_assert_eq(es_dh_shared_checked(ctx, a, m, n, &out), ESESSION_ERR_INVALID_DH_VALUE);
        cr_assert_null(out.data);
        free(m);
    }
    static const uint8_t one[] = {0x01}, lead0[] = {0x00, 0x04};
    cr_assert_eq(es_dh_shared_checked(ctx, a, one, 1, &out), ESESSION_ERR_INVALID_DH_VALUE);
    cr_assert_eq(es_dh_shared_checked(ctx, a, lead0, 2, &out), ESESSION_ERR_MALFORMED);
    cr_assert_eq(es_dh_shared_checked(ctx, a, one, 0, &out), ESESSION_ERR_INVALID_DH_VALUE);
    cr_assert_null(out.data);
    mpz_clears(p, v, NULL);
    esession_buf_free(&e);
    esession_buf_free(&k1);
    esession_buf_free(&k2);
    es_dh_free(a);
    es_dh_free(b);
    esession_ctx_free(ctx);
}

/* ---- the window table of 2^x ---------------------------------------- */

/* Against GMP's mpz_powm in each group it serves: exponents of every length
 * up to the table's, all ones, a single bit, 1; a longer exponent is the
 * caller's to compute (LIMIT) and a non-positive one refused; a group
 * beyond 3072 bits gets no table. */
Test(dh, window_table_agrees_with_gmp, .timeout = 120)
{
    static const int groups[] = {1, 2, 5, 14, 15};
    gmp_randstate_t rs;
    gmp_randinit_default(rs);
    gmp_randseed_ui(rs, 187);
    mpz_t p, two, e, want, got;
    mpz_inits(p, two, e, want, got, NULL);
    mpz_set_ui(two, 2);
    for (size_t g = 0; g < ES_ARRAY_LEN(groups); g++) {
        unsigned bits = es_dh_exponent_bits(groups[g]);
        load_p(groups[g], p);
        es_fixed_base *fb = es_fixed_base_new(p, bits);
        cr_assert_not_null(fb, "group %d", groups[g]);
        for (unsigned len = 1; len <= bits; len += (len < 70 ? 1 : 13)) {
            for (int kind = 0; kind < 3; kind++) {
                mpz_set_ui(e, 0);
                if (kind == 0) {
                    mpz_urandomb(e, rs, len);
                    mpz_setbit(e, len - 1);
                } else if (kind == 1) {
                    mpz_setbit(e, len);
                    mpz_sub_ui(e, e, 1); /* all ones */
                } else {
                    mpz_setbit(e, len - 1);
                }
                mpz_powm(want, two, e, p);
                cr_assert_eq(es_fixed_base_pow(fb, got, e), ESESSION_OK);
                cr_assert_eq(mpz_cmp(got, want), 0, "group %d, %u bits, kind %d", groups[g], len,
                             kind);
            }
        }
        mpz_set_ui(e, 0);
        mpz_setbit(e, bits); /* bits + 1 bits: longer than 4 × windows when bits % 4 == 0 */
        if (bits % 4 == 0)
            cr_assert_eq(es_fixed_base_pow(fb, got, e), ESESSION_ERR_LIMIT);
        mpz_set_ui(e, 0);
        cr_assert_eq(es_fixed_base_pow(fb, got, e), ESESSION_ERR_INVALID_ARGUMENT);
        es_fixed_base_free(fb);
    }
    load_p(16, p);
    cr_assert_null(es_fixed_base_new(p, es_dh_exponent_bits(16)), "4096 bits: no table");
    mpz_set_ui(p, 1000);
    cr_assert_null(es_fixed_base_new(p, 64), "an even modulus");
    es_fixed_base_free(NULL);
    mpz_clears(p, two, e, want, got, NULL);
    gmp_randclear(rs);
}

/* a and b have the same public value; both freed. */
static void same_public_then_free(es_dh *a, es_dh *b)
{
    esession_buf ea = {0}, eb = {0};
    cr_assert_eq(es_dh_public(a, &ea), ESESSION_OK);
    cr_assert_eq(es_dh_public(b, &eb), ESESSION_OK);
    same_then_free(&ea, &eb);
    es_dh_free(a);
    es_dh_free(b);
}

/* Through a context: the first 2^x goes the generic way, later ones use
 * the table; every result, and a longer exponent given to the library,
 * agrees with the GMP backend. */
Test(dh, window_table_in_a_context)
{
    det_rng ra, rb;
    rng_init(&ra, 0x42);
    rng_init(&rb, 0x42);
    esession_ctx *co = new_ctx(ESESSION_DH_OPENSSL, &ra);
    esession_ctx *cg = new_ctx(ESESSION_DH_GMP, &rb);
    for (int i = 0; i < 4; i++) {
        es_dh *a = NULL, *b = NULL;
        cr_assert_eq(es_dh_generate(co, &a, 14), ESESSION_OK);
        cr_assert_eq(es_dh_generate(cg, &b, 14), ESESSION_OK);
        /* Made at the second 2^x, used from then on; never with GMP. */
        cr_assert_eq(es_modexp_fixed_ready(co, 14), i >= 1, "after %d", i + 1);
        cr_assert_eq(es_modexp_fixed_ready(cg, 14), 0);
        same_public_then_free(a, b); /* same draws, same e */
    }
    cr_assert_eq(es_modexp_fixed_ready(co, 5), 0, "a group not used");
    /* An exponent longer than the table's: 600 bits. */
    uint8_t x[75];
    for (size_t k = 0; k < sizeof x; k++)
        x[k] = (uint8_t)(0x3c + 7 * k);
    x[0] |= 0x80;
    es_dh *a = NULL, *b = NULL;
    cr_assert_eq(es_dh_from_private(co, &a, 14, x, sizeof x), ESESSION_OK);
    cr_assert_eq(es_dh_from_private(cg, &b, 14, x, sizeof x), ESESSION_OK);
    same_public_then_free(a, b);
    esession_ctx_free(co);
    esession_ctx_free(cg);
}
