/* SPDX-License-Identifier: ISC */
/* Context, status names, buffers, host operations, big-endian fields. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/bytes.h"
#include "../../core/core.h"

static int fixed_random(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    memset(buf, 0xab, len);
    return 0;
}

static int failing_random(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    memset(buf, 0x11, len);
    return -1;
}

static int64_t fixed_now(void *user)
{
    return *(const int64_t *)user;
}

Test(core, every_status_has_a_distinct_name)
{
    const esession_status all[] = {
        ESESSION_OK, ESESSION_ERR_INVALID_ARGUMENT, ESESSION_ERR_NO_MEMORY, ESESSION_ERR_RANDOM,
        ESESSION_ERR_BUFFER_TOO_SMALL, ESESSION_ERR_UNSUPPORTED, ESESSION_ERR_INTERNAL,
        ESESSION_ERR_VERSION, ESESSION_ERR_STATE, ESESSION_ERR_LIMIT, ESESSION_ERR_BAD_KEY,
        ESESSION_ERR_BAD_PEM, ESESSION_ERR_COUNTER_EXHAUSTED, ESESSION_ERR_MALFORMED,
        ESESSION_ERR_UNKNOWN_OPTIONS, ESESSION_ERR_EXPIRED, ESESSION_ERR_UNSUPPORTED_OPTION,
        ESESSION_ERR_INVALID_DH_VALUE, ESESSION_ERR_REPLAY, ESESSION_ERR_BAD_IDENTITY_MAC,
        ESESSION_ERR_BAD_SIGNATURE, ESESSION_ERR_UNTRUSTED_KEY, ESESSION_ERR_BAD_MAC,
        ESESSION_ERR_NO_SESSION, ESESSION_ERR_PUBSUB, ESESSION_ERR_NO_OPTIONS, ESESSION_ERR_IO,
        ESESSION_ERR_BAD_PASSPHRASE, ESESSION_ERR_CORRUPT,
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        cr_assert_str_neq(esession_status_name(all[i]), "unknown");
        cr_assert_str_neq(esession_status_string(all[i]), "unknown status code");
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(esession_status_name(all[i]), esession_status_name(all[j]));
    }
    cr_assert_str_eq(esession_status_name((esession_status)-9999), "unknown");
}

Test(core, vector_reason_codes)
{
    cr_assert_str_eq(esession_status_name(ESESSION_ERR_UNKNOWN_OPTIONS), "unknown-options");
    cr_assert_str_eq(esession_status_name(ESESSION_ERR_EXPIRED), "expired");
    cr_assert_str_eq(esession_status_name(ESESSION_ERR_UNSUPPORTED_OPTION), "unsupported-option");
    cr_assert_str_eq(esession_status_name(ESESSION_ERR_INVALID_DH_VALUE), "invalid-dh-value");
    cr_assert_str_eq(esession_status_name(ESESSION_ERR_REPLAY), "replay");
    cr_assert_str_eq(esession_status_name(ESESSION_ERR_BAD_IDENTITY_MAC), "bad-identity-mac");
    cr_assert_str_eq(esession_status_name(ESESSION_ERR_BAD_SIGNATURE), "bad-signature");
    cr_assert_str_eq(esession_status_name(ESESSION_ERR_UNTRUSTED_KEY), "untrusted-key");
    cr_assert_str_eq(esession_status_name(ESESSION_ERR_MALFORMED), "malformed");
    cr_assert_str_eq(esession_status_name(ESESSION_ERR_BAD_MAC), "bad-mac");
    cr_assert_str_eq(esession_status_name(ESESSION_ERR_NO_SESSION), "no-session");
}

Test(core, version_mismatch_is_refused)
{
    esession_ctx *ctx = NULL;
    cr_assert_eq(esession_ctx_new(&ctx, NULL, ESESSION_VERSION_MAJOR + 1, 0), ESESSION_ERR_VERSION);
    cr_assert_eq(esession_ctx_new(&ctx, NULL, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR + 1),
                 ESESSION_ERR_VERSION);
    cr_assert_null(ctx);
    cr_assert_eq(esession_ctx_new(NULL, NULL, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_ERR_INVALID_ARGUMENT);
    esession_ctx_options o = ESESSION_CTX_OPTIONS_INIT;
    o.version = 99;
    cr_assert_eq(esession_ctx_new(&ctx, &o, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_ERR_VERSION);
    o.version = ESESSION_CTX_OPTIONS_VERSION;
    o.dh_backend = (esession_dh_backend)7;
    cr_assert_eq(esession_ctx_new(&ctx, &o, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_null(ctx);
}

Test(core, host_random_and_clock_are_used)
{
    int64_t t = 1234567890;
    esession_host_ops ops = {.random = fixed_random, .now = fixed_now};
    esession_ctx_options o = ESESSION_CTX_OPTIONS_INIT;
    o.ops = &ops;
    o.user = &t;
    esession_ctx *ctx = NULL;
    cr_assert_eq(esession_ctx_new(&ctx, &o, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR), ESESSION_OK);
    uint8_t buf[8];
    cr_assert_eq(es_random(ctx, buf, sizeof buf), ESESSION_OK);
    for (size_t i = 0; i < sizeof buf; i++)
        cr_assert_eq(buf[i], 0xab);
    cr_assert_eq(es_now(ctx), 1234567890);
    esession_ctx_free(ctx);
}

Test(core, failing_random_source_is_reported_and_output_wiped)
{
    esession_host_ops ops = {.random = failing_random};
    esession_ctx_options o = ESESSION_CTX_OPTIONS_INIT;
    o.ops = &ops;
    esession_ctx *ctx = NULL;
    cr_assert_eq(esession_ctx_new(&ctx, &o, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR), ESESSION_OK);
    uint8_t buf[8];
    cr_assert_eq(es_random(ctx, buf, sizeof buf), ESESSION_ERR_RANDOM);
    for (size_t i = 0; i < sizeof buf; i++)
        cr_assert_eq(buf[i], 0);
    cr_assert_str_neq(esession_ctx_error_detail(ctx), "");
    es_clear_detail(ctx);
    cr_assert_str_eq(esession_ctx_error_detail(ctx), "");
    esession_ctx_free(ctx);
}

Test(core, default_random_differs_between_calls)
{
    esession_ctx *ctx = NULL;
    cr_assert_eq(esession_ctx_new(&ctx, NULL, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR), ESESSION_OK);
    uint8_t a[32], b[32];
    cr_assert_eq(es_random(ctx, a, sizeof a), ESESSION_OK);
    cr_assert_eq(es_random(ctx, b, sizeof b), ESESSION_OK);
    cr_assert_neq(memcmp(a, b, sizeof a), 0);
    esession_ctx_free(ctx);
}

Test(core, buffers_plain_and_secret)
{
    esession_buf b = {0};
    cr_assert_eq(es_buf_set(&b, "hello", 5, 0), ESESSION_OK);
    cr_assert_eq(b.len, 5);
    cr_assert_str_eq(b.data, "hello");
    cr_assert_eq(b.secret, 0);
    esession_buf_free(&b);
    cr_assert_null(b.data);
    cr_assert_eq(b.len, 0);

    cr_assert_eq(es_buf_set(&b, "key", 3, 1), ESESSION_OK);
    cr_assert_eq(b.secret, 1);
    cr_assert_str_eq(b.data, "key");
    esession_buf_free(&b);
    cr_assert_null(b.data);
    esession_buf_free(&b);   /* twice: no-op */
    esession_buf_free(NULL); /* NULL-safe */
}

Test(core, constant_time_equal)
{
    const uint8_t a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 5};
    cr_assert(es_ct_equal(a, a, 4));
    cr_assert_not(es_ct_equal(a, b, 4));
    cr_assert(es_ct_equal(a, b, 3));
}

/* The default exponentiation is OpenSSL's (the faster in every group);
 * GMP stays selectable. */
Test(core, dh_backend_default_and_choice)
{
    const struct {
        esession_dh_backend asked, used;
    } cases[] = {{ESESSION_DH_DEFAULT, ESESSION_DH_OPENSSL},
                 {ESESSION_DH_OPENSSL, ESESSION_DH_OPENSSL},
                 {ESESSION_DH_GMP, ESESSION_DH_GMP}};
    esession_ctx *ctx = NULL;
    cr_assert_eq(esession_ctx_new(&ctx, NULL, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_OK);
    cr_assert_eq(ctx->dh_backend, ESESSION_DH_OPENSSL);
    esession_ctx_free(ctx);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        esession_ctx_options o = ESESSION_CTX_OPTIONS_INIT;
        o.dh_backend = cases[i].asked;
        cr_assert_eq(esession_ctx_new(&ctx, &o, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                     ESESSION_OK);
        cr_assert_eq(ctx->dh_backend, cases[i].used, "case %zu", i);
        esession_ctx_free(ctx);
    }
}

/* The context's pool of secret memory: zero when handed out, a freed
 * block wiped and handed out again, each request its own block, large
 * ones a region of their own, and a pool that outlives its context until
 * its last block is back (freed from another thread here). */
static void *free_elsewhere(void *p)
{
    es_secret_free(p);
    return NULL;
}

Test(core, secret_pool)
{
    esession_ctx *ctx = NULL;
    cr_assert_eq(esession_ctx_new(&ctx, NULL, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_OK);
    static const size_t sizes[] = {0, 1, 47, 48, 49, 100, 1000, 4000, 32752, 32753, 100000};
    uint8_t *p[sizeof sizes / sizeof sizes[0]];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        p[i] = es_secret_alloc_in(ctx, sizes[i]);
        cr_assert_not_null(p[i]);
        cr_assert_eq((uintptr_t)p[i] % 16, 0, "blocks are 16-aligned");
        for (size_t k = 0; k < sizes[i]; k++)
            cr_assert_eq(p[i][k], 0, "secret memory comes zeroed");
        memset(p[i], 0xa5, sizes[i]);
    }
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (size_t j = i + 1; j < sizeof sizes / sizeof sizes[0]; j++)
            cr_assert_neq(p[i], p[j]);
    /* A freed block comes back for the next request of its size, wiped. */
    uint8_t *again;
    es_secret_free(p[5]);
    again = es_secret_alloc_in(ctx, sizes[5]);
    cr_assert_eq(again, p[5]);
    for (size_t k = 0; k < sizes[5]; k++)
        cr_assert_eq(again[k], 0, "a freed block is wiped");
    p[5] = again;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        es_secret_free(p[i]);
    es_secret_free(NULL);

    /* Outliving the context; the last block freed in another thread. */
    uint8_t *late = es_secret_alloc_in(ctx, 64);
    cr_assert_not_null(late);
    memset(late, 1, 64);
    esession_ctx_free(ctx);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, free_elsewhere, late), 0);
    cr_assert_eq(pthread_join(t, NULL), 0);

    /* Without a context: a region of its own, freed the same way. */
    uint8_t *own = es_secret_alloc(10);
    cr_assert_not_null(own);
    es_secret_free(own);
}

/* Big-endian fields of every width, written and read back, and a writer
 * that runs out of room. */
Test(core, big_endian_fields)
{
    const uint64_t v = UINT64_C(0x0102030405060708);
    uint8_t b[8], w8[16];
    es_be_put(b, v, 8);
    for (unsigned i = 0; i < 8; i++)
        cr_assert_eq(b[i], i + 1);
    cr_assert_eq(es_be_get(b, 8), v);
    for (unsigned n = 1; n <= 8; n++) {
        uint64_t want = n == 8 ? v : v & ((UINT64_C(1) << (8 * n)) - 1);
        memset(b, 0, sizeof b);
        es_be_put(b, v, n);
        cr_assert_eq(b[n - 1], 8, "width %u: last octet", n);
        cr_assert_eq(es_be_get(b, n), want, "width %u", n);
        es_wr w = {w8, 0, sizeof w8, 0};
        es_wr_be(&w, 0xee, 1);
        es_wr_be(&w, v, n);
        cr_assert_not(w.err);
        cr_assert_eq(w.pos, 1 + n);
        es_rd r = {w8, w.pos, 0, 0};
        cr_assert_eq(es_rd_be(&r, 1), 0xee);
        cr_assert_eq(es_rd_be(&r, n), want, "width %u read", n);
        cr_assert_eq(es_rd_be(&r, 1), 0, "nothing left");
        cr_assert(r.bad);
    }
    es_wr small = {w8, 0, 7, 0};
    es_wr_be(&small, v, 8);
    cr_assert(small.err);
    cr_assert_eq(small.pos, 0);
    es_wr count = {NULL, 0, 16, 0}; /* sizing only */
    es_wr_be(&count, v, 8);
    es_wr_be(&count, v, 4);
    cr_assert_eq(count.pos, 12);
    cr_assert_not(count.err);
}

/* Joined names: as snprintf with "%s%s..." would give them, cut short
 * with a NUL when they do not fit. */
Test(core, joined_names)
{
    char out[8];
    const char *const two[] = {"ab", "cde"}, *const four[] = {"abc", "", "/", "defghij"};
    cr_assert_eq(es_join(out, sizeof out, two, 2), 5);
    cr_assert_str_eq(out, "abcde");
    cr_assert_eq(es_join(out, sizeof out, four, 4), 11);
    cr_assert_str_eq(out, "abc/def", "cut to 7 octets and a NUL");
    cr_assert_eq(es_join(out, 1, two, 2), 5);
    cr_assert_str_eq(out, "");
    cr_assert_eq(es_join(out, sizeof out, two, 0), 0);
    cr_assert_str_eq(out, "");
}

/* Lists kept with an order each (the outbox, the inbox, a keystore's
 * kinds): grown together, then sorted stably by the order. */
Test(core, ordered_lists_grow_and_sort)
{
    int *items = NULL;
    uint64_t *order = NULL;
    size_t n = 0, cap = 0;
    static const uint64_t keys[] = {5, 1, 4, 1, 3, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4};
    const size_t count = sizeof keys / sizeof keys[0];
    for (size_t i = 0; i < count; i++) {
        if (n == cap) {
            size_t was = cap;
            int *v = es_order_grow(items, sizeof *v, &order, &cap);
            cr_assert_not_null(v);
            cr_assert_eq(cap, was ? 2 * was : 16);
            items = v;
        }
        items[n] = (int)i;
        order[n++] = keys[i];
    }
    cr_assert_eq(cap, 32);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(items[i], (int)i, "kept as they were while growing");
    cr_assert_eq(es_sort_by_order(items, sizeof *items, order, n), ESESSION_OK);
    for (size_t i = 1; i < n; i++) {
        cr_assert_leq(order[i - 1], order[i]);
        if (order[i - 1] == order[i])
            cr_assert_lt(items[i - 1], items[i], "stable among equal keys");
        cr_assert_eq(keys[items[i]], order[i], "each item with its own key");
    }
    free(items);
    free(order);
}
