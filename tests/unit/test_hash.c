/* SPDX-License-Identifier: ISC */
/* HASH: names, sizes, SHA-256 (FIPS 180-2, NIST CAVP), SHA-512, whirlpool,
 * and argument errors. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../crypto/hash.h"
#include "../common/vecfile.h"

static const es_hash_alg all_algs[] = { ES_HASH_SHA256, ES_HASH_SHA512, ES_HASH_WHIRLPOOL };

static void sizes_and_names(void)
{
    cr_assert_eq(es_hash_size(ES_HASH_SHA256), 32);
    cr_assert_eq(es_hash_size(ES_HASH_SHA512), 64);
    cr_assert_eq(es_hash_size(ES_HASH_WHIRLPOOL), 64);
    cr_assert_eq(es_hash_size((es_hash_alg)0), 0);
    cr_assert_eq(es_hash_size((es_hash_alg)4), 0);
    cr_assert_str_eq(es_hash_name(ES_HASH_SHA256), "sha256");
    cr_assert_str_eq(es_hash_name(ES_HASH_SHA512), "sha512");
    cr_assert_str_eq(es_hash_name(ES_HASH_WHIRLPOOL), "whirlpool");
    cr_assert_null(es_hash_name((es_hash_alg)0));
    cr_assert_null(es_hash_name((es_hash_alg)99));
    for (size_t i = 0; i < sizeof all_algs / sizeof all_algs[0]; i++)
        cr_assert_leq(es_hash_size(all_algs[i]), ES_HASH_MAX_BYTES);
}

static void from_name(void)
{
    es_hash_alg a = (es_hash_alg)0;
    cr_assert_eq(es_hash_from_name("sha256", 6, &a), ESESSION_OK);
    cr_assert_eq(a, ES_HASH_SHA256);
    cr_assert_eq(es_hash_from_name("sha512", 6, &a), ESESSION_OK);
    cr_assert_eq(a, ES_HASH_SHA512);
    cr_assert_eq(es_hash_from_name("whirlpool", 9, &a), ESESSION_OK);
    cr_assert_eq(a, ES_HASH_WHIRLPOOL);
    /* The length bounds the name: no NUL needed, trailing text ignored. */
    cr_assert_eq(es_hash_from_name("sha256,sha512", 6, &a), ESESSION_OK);
    cr_assert_eq(a, ES_HASH_SHA256);

    static const char *const bad[] = { "SHA256", "Sha512", "sha", "sha2", "sha25", "sha2566",
                                       "sha256 ", " sha256", "sha-256", "sha1", "md5",
                                       "WHIRLPOOL", "whirlpoo", "none", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        a = ES_HASH_SHA512;
        cr_assert_eq(es_hash_from_name(bad[i], strlen(bad[i]), &a), ESESSION_ERR_UNSUPPORTED,
                     "\"%s\"", bad[i]);
        cr_assert_eq(a, ES_HASH_SHA512, "output untouched for \"%s\"", bad[i]);
    }
    /* An embedded NUL is part of the name. */
    cr_assert_eq(es_hash_from_name("sha256\0", 7, &a), ESESSION_ERR_UNSUPPORTED);
    cr_assert_eq(es_hash_from_name(NULL, 0, &a), ESESSION_ERR_UNSUPPORTED);
    cr_assert_eq(es_hash_from_name(NULL, 6, &a), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_hash_from_name("sha256", 6, NULL), ESESSION_ERR_INVALID_ARGUMENT);
}

Test(hash, sha256_vectors)
{
    vec_file f;
    size_t seen = 0;
    int million = 0;

    cr_assert_eq(vec_file_load(&f, "vectors/sha256.txt"), 0);
    for (size_t i = 0; i < f.count; i++) {
        const vec_record *r = &f.records[i];
        const char *name = vec_get(r, "name");
        size_t unitlen, dlen;
        uint8_t *unit = vec_hex(vec_get(r, "message"), &unitlen);
        uint8_t *want = vec_hex(vec_get(r, "digest"), &dlen);
        unsigned long times = strtoul(vec_get(r, "repeat"), NULL, 10);
        unsigned long bits = strtoul(vec_get(r, "len_bits"), NULL, 10);
        cr_assert(unit != NULL && want != NULL && dlen == 32, "%s", name);
        cr_assert_eq((unsigned long)unitlen * times * 8, bits, "%s: len_bits", name);

        uint8_t *msg = malloc(unitlen * times + 1);
        cr_assert_not_null(msg);
        for (unsigned long k = 0; k < times; k++)
            memcpy(msg + k * unitlen, unit, unitlen);
        uint8_t out[32];
        memset(out, 0, sizeof out);
        cr_assert_eq(es_hash(ES_HASH_SHA256, msg, unitlen * times, out), ESESSION_OK, "%s", name);
        cr_assert_arr_eq(out, want, 32, "%s", name);
        if (unitlen * times == 1000000)
            million = 1;
        seen++;
        free(msg);
        free(unit);
        free(want);
    }
    cr_assert_gt(seen, 100);
    cr_assert(million);
    vec_file_free(&f);
}

/* FIPS 180-2 C.1 ("abc") and the empty message, for SHA-512. */
static void sha512_known_answers(void)
{
    static const char abc[] =
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";
    static const char empty[] =
        "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
        "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";
    uint8_t out[64];
    size_t len;
    uint8_t *want = vec_hex(abc, &len);
    cr_assert_eq(es_hash(ES_HASH_SHA512, (const uint8_t *)"abc", 3, out), ESESSION_OK);
    cr_assert_arr_eq(out, want, 64);
    free(want);
    want = vec_hex(empty, &len);
    cr_assert_eq(es_hash(ES_HASH_SHA512, NULL, 0, out), ESESSION_OK);
    cr_assert_arr_eq(out, want, 64);
    free(want);
}

static void whirlpool_through_hash_h(void)
{
    static const char abc[] =
        "4e2448a4c6f486bb16b6562c73b4020bf3043e3a731bce721ae1b303d97e6d4c"
        "7181eebdb6c57e277d0e34957114cbd6c797fc9d95d8b582d225292076d4eef5";
    uint8_t out[64];
    size_t len;
    uint8_t *want = vec_hex(abc, &len);
    cr_assert_eq(es_hash(ES_HASH_WHIRLPOOL, (const uint8_t *)"abc", 3, out), ESESSION_OK);
    cr_assert_arr_eq(out, want, 64);
    free(want);
}

static void argument_errors_leave_output_untouched(void)
{
    uint8_t out[ES_HASH_MAX_BYTES], before[ES_HASH_MAX_BYTES];
    memset(out, 0x5a, sizeof out);
    memcpy(before, out, sizeof out);

    cr_assert_eq(es_hash((es_hash_alg)0, (const uint8_t *)"x", 1, out), ESESSION_ERR_UNSUPPORTED);
    cr_assert_eq(es_hash((es_hash_alg)7, (const uint8_t *)"x", 1, out), ESESSION_ERR_UNSUPPORTED);
    for (size_t i = 0; i < sizeof all_algs / sizeof all_algs[0]; i++) {
        cr_assert_eq(es_hash(all_algs[i], NULL, 1, out), ESESSION_ERR_INVALID_ARGUMENT);
        cr_assert_eq(es_hash(all_algs[i], (const uint8_t *)"x", 1, NULL),
                     ESESSION_ERR_INVALID_ARGUMENT);
    }
    cr_assert_arr_eq(out, before, sizeof out);
    /* NULL with length 0 is the empty message. */
    for (size_t i = 0; i < sizeof all_algs / sizeof all_algs[0]; i++) {
        uint8_t a[ES_HASH_MAX_BYTES], b[ES_HASH_MAX_BYTES];
        cr_assert_eq(es_hash(all_algs[i], NULL, 0, a), ESESSION_OK);
        cr_assert_eq(es_hash(all_algs[i], (const uint8_t *)"", 0, b), ESESSION_OK);
        cr_assert_arr_eq(a, b, es_hash_size(all_algs[i]));
    }
}

/* Only the digest's own octets are written. */
static void writes_exactly_the_digest_size(void)
{
    for (size_t i = 0; i < sizeof all_algs / sizeof all_algs[0]; i++) {
        uint8_t out[ES_HASH_MAX_BYTES + 8];
        size_t size = es_hash_size(all_algs[i]);
        memset(out, 0xee, sizeof out);
        cr_assert_eq(es_hash(all_algs[i], (const uint8_t *)"abc", 3, out), ESESSION_OK);
        for (size_t k = size; k < sizeof out; k++)
            cr_assert_eq(out[k], 0xee, "%s wrote past its size", es_hash_name(all_algs[i]));
    }
}

/* Grouped: each Criterion test is its own process, which valgrind pays for. */
Test(hash, names_and_sizes)
{
    sizes_and_names();
    from_name();
}

Test(hash, known_answers)
{
    sha512_known_answers();
    whirlpool_through_hash_h();
}

Test(hash, argument_errors_and_output_size)
{
    argument_errors_leave_output_untouched();
    writes_exactly_the_digest_size();
}

/* Hashing in parts is hashing the concatenation, whatever the cut. */
Test(hash, parts_equal_the_whole)
{
    static const char msg[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    size_t n = strlen(msg);
    /* FIPS 180-2 B.2 */
    static const uint8_t sha256_b2[32] = {
        0x24, 0x8d, 0x6a, 0x61, 0xd2, 0x06, 0x38, 0xb8, 0xe5, 0xc0, 0x26, 0x93, 0x0c, 0x3e, 0x60, 0x39,
        0xa3, 0x3c, 0xe4, 0x59, 0x64, 0xff, 0x21, 0x67, 0xf6, 0xec, 0xed, 0xd4, 0x19, 0xdb, 0x06, 0xc1};
    for (size_t a = 0; a < sizeof all_algs / sizeof all_algs[0]; a++) {
        uint8_t whole[ES_HASH_MAX_BYTES], part[ES_HASH_MAX_BYTES];
        cr_assert_eq(es_hash(all_algs[a], (const uint8_t *)msg, n, whole), ESESSION_OK);
        for (size_t cut = 0; cut <= n; cut += 7) {
            const es_span parts[] = {{msg, cut}, {NULL, 0}, {msg + cut, n - cut}};
            memset(part, 0, sizeof part);
            cr_assert_eq(es_hash_parts(all_algs[a], parts, 3, part), ESESSION_OK);
            cr_assert_eq(memcmp(part, whole, es_hash_size(all_algs[a])), 0, "alg %zu cut %zu",
                         a, cut);
        }
    }
    uint8_t out[32];
    const es_span one[] = {{msg, 20}, {msg + 20, n - 20}};
    cr_assert_eq(es_hash_parts(ES_HASH_SHA256, one, 2, out), ESESSION_OK);
    cr_assert_eq(memcmp(out, sha256_b2, 32), 0);
    /* No part: the hash of the empty message. */
    uint8_t empty[32];
    cr_assert_eq(es_hash(ES_HASH_SHA256, NULL, 0, empty), ESESSION_OK);
    cr_assert_eq(es_hash_parts(ES_HASH_SHA256, NULL, 0, out), ESESSION_OK);
    cr_assert_eq(memcmp(out, empty, 32), 0);
    /* Errors leave out untouched. */
    const es_span bad[] = {{msg, 3}, {NULL, 1}};
    memset(out, 0x5a, sizeof out);
    cr_assert_eq(es_hash_parts(ES_HASH_SHA256, bad, 2, out), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_hash_parts(ES_HASH_SHA256, NULL, 1, out), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_hash_parts(ES_HASH_SHA256, one, 2, NULL), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_hash_parts((es_hash_alg)9, one, 2, out), ESESSION_ERR_UNSUPPORTED);
    for (size_t i = 0; i < sizeof out; i++)
        cr_assert_eq(out[i], 0x5a);
}

Test(hash, context_digests_give_the_same_answers)
{
    esession_ctx *c = NULL;
    cr_assert_eq(esession_ctx_new(&c, NULL, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_OK);
    static const uint8_t msg[] = "abc";
    for (size_t i = 0; i < sizeof all_algs / sizeof all_algs[0]; i++) {
        uint8_t a[ES_HASH_MAX_BYTES], b[ES_HASH_MAX_BYTES], n[ES_HASH_MAX_BYTES];
        cr_assert_eq(es_hash(all_algs[i], msg, 3, a), ESESSION_OK);
        cr_assert_eq(es_hash_in(c, all_algs[i], msg, 3, b), ESESSION_OK);
        cr_assert_eq(es_hash_in(NULL, all_algs[i], msg, 3, n), ESESSION_OK);
        cr_assert_eq(memcmp(a, b, es_hash_size(all_algs[i])), 0);
        cr_assert_eq(memcmp(a, n, es_hash_size(all_algs[i])), 0);
    }
    /* Fetched once: the same handle each time; none for whirlpool or without a context. */
    cr_assert_not_null(es_ctx_md(c, ES_HASH_SHA256));
    cr_assert_eq(es_ctx_md(c, ES_HASH_SHA256), es_ctx_md(c, ES_HASH_SHA256));
    cr_assert_neq(es_ctx_md(c, ES_HASH_SHA512), es_ctx_md(c, ES_HASH_SHA256));
    cr_assert_null(es_ctx_md(c, ES_HASH_WHIRLPOOL));
    cr_assert_null(es_ctx_md(NULL, ES_HASH_SHA256));
    /* SHA-256("abc"), FIPS 180-2 B.1 */
    uint8_t d[32];
    cr_assert_eq(es_hash_in(c, ES_HASH_SHA256, msg, 3, d), ESESSION_OK);
    cr_assert_eq(d[0], 0xba);
    cr_assert_eq(d[31], 0xad);
    esession_ctx_free(c);
}
