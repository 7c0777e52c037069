/* SPDX-License-Identifier: ISC */
/* HMAC over sha256, sha512, whirlpool: RFC 4231 and HMAC-Whirlpool vectors,
 * reuse of one keyed object, rekey, key-length boundaries, errors. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../crypto/hash.h"
#include "../common/vecfile.h"

static const es_hash_alg all_algs[] = { ES_HASH_SHA256, ES_HASH_SHA512, ES_HASH_WHIRLPOOL };
#define N_ALGS (sizeof all_algs / sizeof all_algs[0])

static size_t block_of(es_hash_alg alg)
{
    return alg == ES_HASH_SHA512 ? 128 : 64;
}

/* The object and the one-shot both give mac (mac_len octets, possibly a
 * truncation of the full tag). */
static void check_record(es_hash_alg alg, const vec_record *r)
{
    const char *name = vec_get(r, "name");
    size_t keylen, datalen, maclen;
    uint8_t *key = vec_hex(vec_get(r, "key"), &keylen);
    uint8_t *data = vec_hex(vec_get(r, "data"), &datalen);
    uint8_t *mac = vec_hex(vec_get(r, "mac"), &maclen);
    unsigned long want_len = strtoul(vec_get(r, "mac_len"), NULL, 10);
    uint8_t out[ES_HASH_MAX_BYTES];
    es_hmac *h = NULL;

    cr_assert(key != NULL && data != NULL && mac != NULL, "%s", name);
    cr_assert_eq(maclen, want_len, "%s: mac_len", name);
    cr_assert_leq(maclen, es_hash_size(alg), "%s", name);

    memset(out, 0, sizeof out);
    cr_assert_eq(es_hmac_oneshot(alg, key, keylen, data, datalen, out), ESESSION_OK, "%s", name);
    cr_assert_arr_eq(out, mac, maclen, "%s (one-shot)", name);

    cr_assert_eq(es_hmac_new(&h, alg, key, keylen), ESESSION_OK, "%s", name);
    cr_assert_eq(es_hmac_alg(h), alg);
    /* Twice with the same object: final leaves it ready. */
    for (int round = 0; round < 2; round++) {
        memset(out, 0, sizeof out);
        cr_assert_eq(es_hmac_begin(h), ESESSION_OK);
        cr_assert_eq(es_hmac_update(h, data, datalen), ESESSION_OK);
        cr_assert_eq(es_hmac_final(h, out), ESESSION_OK);
        cr_assert_arr_eq(out, mac, maclen, "%s (object, round %d)", name, round);
    }
    es_hmac_free(h);
    free(key);
    free(data);
    free(mac);
}

static void rfc4231(void)
{
    vec_file f;
    size_t n256 = 0, n512 = 0, truncated = 0;
    cr_assert_eq(vec_file_load(&f, "vectors/hmac_rfc4231.txt"), 0);
    for (size_t i = 0; i < f.count; i++) {
        es_hash_alg alg;
        const char *hash = vec_get(&f.records[i], "hash");
        cr_assert_not_null(hash);
        cr_assert_eq(es_hash_from_name(hash, strlen(hash), &alg), ESESSION_OK);
        check_record(alg, &f.records[i]);
        if (strtoul(vec_get(&f.records[i], "mac_len"), NULL, 10) < es_hash_size(alg))
            truncated++;
        if (alg == ES_HASH_SHA256)
            n256++;
        else
            n512++;
    }
    cr_assert_eq(n256, 7);
    cr_assert_eq(n512, 7);
    cr_assert_eq(truncated, 2, "case 5 is compared on its 16 octets");
    vec_file_free(&f);
}

static void whirlpool_vectors(void)
{
    vec_file f;
    size_t seen = 0, external = 0;
    cr_assert_eq(vec_file_load(&f, "vectors/hmac_whirlpool.txt"), 0);
    for (size_t i = 0; i < f.count; i++) {
        check_record(ES_HASH_WHIRLPOOL, &f.records[i]);
        if (strcmp(vec_get(&f.records[i], "origin"), "libalgo-test") == 0)
            external++;
        seen++;
    }
    cr_assert_eq(seen, 9);
    cr_assert_eq(external, 2);
    vec_file_free(&f);
}

/* HMAC(empty key, empty message), from OpenSSL (legacy provider for whirlpool). */
Test(hmac, empty_key_and_message)
{
    static const char *const want_hex[] = {
        "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad",
        "b936cee86c9f87aa5d3c6f2e84cb5a4239a5fe50480a6ec66b70ab5b1f4ac673"
        "0c6c515421b327ec1d69402e53dfb49ad7381eb067b338fd7b0cb22247225d47",
        "57d739903190550defa77309ff7b72406a927bbc54e8fcdc98e145fa4c36ce83"
        "a9cf1605ad01e0d1925f93ac1d12b985a26044e9fb1b9cce24301faa76eaab53",
    };
    for (size_t i = 0; i < N_ALGS; i++) {
        size_t len;
        uint8_t *want = vec_hex(want_hex[i], &len);
        uint8_t out[ES_HASH_MAX_BYTES], zeros[128] = { 0 };
        es_hmac *h = NULL;

        cr_assert_eq(es_hmac_oneshot(all_algs[i], NULL, 0, NULL, 0, out), ESESSION_OK);
        cr_assert_arr_eq(out, want, len);
        /* An empty key is a block of zeros. */
        cr_assert_eq(es_hmac_oneshot(all_algs[i], zeros, block_of(all_algs[i]), NULL, 0, out),
                     ESESSION_OK);
        cr_assert_arr_eq(out, want, len);
        /* final straight after new: the empty message. */
        cr_assert_eq(es_hmac_new(&h, all_algs[i], (const uint8_t *)"", 0), ESESSION_OK);
        cr_assert_eq(es_hmac_final(h, out), ESESSION_OK);
        cr_assert_arr_eq(out, want, len);
        cr_assert_eq(es_hmac_update(h, NULL, 0), ESESSION_OK);
        cr_assert_eq(es_hmac_final(h, out), ESESSION_OK);
        cr_assert_arr_eq(out, want, len);
        es_hmac_free(h);
        free(want);
    }
}

/* Keys up to the block size are used as they are; longer ones are hashed
 * first (so HMAC(k) = HMAC(HASH(k)) exactly when |k| > block size). */
Test(hmac, key_length_boundaries)
{
    uint8_t key[200], hk[ES_HASH_MAX_BYTES], a[ES_HASH_MAX_BYTES], b[ES_HASH_MAX_BYTES];
    static const uint8_t msg[] = "key length";
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (uint8_t)(i + 1);
    for (size_t i = 0; i < N_ALGS; i++) {
        es_hash_alg alg = all_algs[i];
        size_t bs = block_of(alg), size = es_hash_size(alg);
        const size_t lens[] = { bs - 1, bs, bs + 1, sizeof key };
        for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
            cr_assert_eq(es_hash(alg, key, lens[k], hk), ESESSION_OK);
            cr_assert_eq(es_hmac_oneshot(alg, key, lens[k], msg, sizeof msg, a), ESESSION_OK);
            cr_assert_eq(es_hmac_oneshot(alg, hk, size, msg, sizeof msg, b), ESESSION_OK);
            if (lens[k] > bs)
                cr_assert_arr_eq(a, b, size, "%s key %zu", es_hash_name(alg), lens[k]);
            else
                cr_assert_arr_neq(a, b, size, "%s key %zu", es_hash_name(alg), lens[k]);
        }
        /* Zero octets at the end of a short key do not matter (zero padding). */
        uint8_t padded[128] = { 0 };
        memcpy(padded, key, 20);
        cr_assert_eq(es_hmac_oneshot(alg, key, 20, msg, sizeof msg, a), ESESSION_OK);
        cr_assert_eq(es_hmac_oneshot(alg, padded, bs, msg, sizeof msg, b), ESESSION_OK);
        cr_assert_arr_eq(a, b, size);
    }
}

/* One object, many messages, each split at odd points: every tag equals the
 * one-shot tag of its message. */
Test(hmac, reuse_and_splits_equal_oneshot)
{
    uint8_t msg[400], key[37];
    static const size_t lens[] = { 0, 1, 55, 56, 63, 64, 65, 111, 112, 127, 128, 129, 255, 400 };
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 89 + 3);
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (uint8_t)(0xa0 ^ i);

    for (size_t a = 0; a < N_ALGS; a++) {
        es_hash_alg alg = all_algs[a];
        size_t size = es_hash_size(alg);
        es_hmac *h = NULL;
        cr_assert_eq(es_hmac_new(&h, alg, key, sizeof key), ESESSION_OK);
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
            size_t n = lens[l];
            uint8_t ref[ES_HASH_MAX_BYTES], out[ES_HASH_MAX_BYTES];
            cr_assert_eq(es_hmac_oneshot(alg, key, sizeof key, msg, n, ref), ESESSION_OK);
            /* Whole. */
            cr_assert_eq(es_hmac_update(h, msg, n), ESESSION_OK);
            cr_assert_eq(es_hmac_final(h, out), ESESSION_OK);
            cr_assert_arr_eq(out, ref, size, "%s len %zu whole", es_hash_name(alg), n);
            /* Odd three-part splits. */
            for (size_t x = 0; x <= n; x += 7) {
                size_t y = x + (n - x) / 3;
                cr_assert_eq(es_hmac_update(h, msg, x), ESESSION_OK);
                cr_assert_eq(es_hmac_update(h, msg + x, y - x), ESESSION_OK);
                cr_assert_eq(es_hmac_update(h, msg + y, n - y), ESESSION_OK);
                cr_assert_eq(es_hmac_final(h, out), ESESSION_OK);
                cr_assert_arr_eq(out, ref, size, "%s len %zu split %zu/%zu",
                                 es_hash_name(alg), n, x, y);
            }
        }
        es_hmac_free(h);
    }
}

/* begin discards a message in progress. */
static void begin_discards_partial_message(void)
{
    for (size_t a = 0; a < N_ALGS; a++) {
        uint8_t ref[ES_HASH_MAX_BYTES], out[ES_HASH_MAX_BYTES];
        es_hmac *h = NULL;
        cr_assert_eq(es_hmac_new(&h, all_algs[a], (const uint8_t *)"k", 1), ESESSION_OK);
        cr_assert_eq(es_hmac_oneshot(all_algs[a], (const uint8_t *)"k", 1,
                                     (const uint8_t *)"second", 6, ref), ESESSION_OK);
        cr_assert_eq(es_hmac_update(h, (const uint8_t *)"first, abandoned", 16), ESESSION_OK);
        cr_assert_eq(es_hmac_begin(h), ESESSION_OK);
        cr_assert_eq(es_hmac_begin(h), ESESSION_OK);
        cr_assert_eq(es_hmac_update(h, (const uint8_t *)"second", 6), ESESSION_OK);
        cr_assert_eq(es_hmac_final(h, out), ESESSION_OK);
        cr_assert_arr_eq(out, ref, es_hash_size(all_algs[a]));
        es_hmac_free(h);
    }
}

static void rekey(void)
{
    static const uint8_t k1[] = "first key", msg[] = "message under two keys";
    uint8_t k2[150];
    for (size_t i = 0; i < sizeof k2; i++)
        k2[i] = (uint8_t)(255 - i);

    for (size_t a = 0; a < N_ALGS; a++) {
        es_hash_alg alg = all_algs[a];
        size_t size = es_hash_size(alg);
        uint8_t r1[ES_HASH_MAX_BYTES], r2[ES_HASH_MAX_BYTES], r3[ES_HASH_MAX_BYTES];
        uint8_t out[ES_HASH_MAX_BYTES];
        es_hmac *h = NULL;
        cr_assert_eq(es_hmac_oneshot(alg, k1, sizeof k1, msg, sizeof msg, r1), ESESSION_OK);
        cr_assert_eq(es_hmac_oneshot(alg, k2, sizeof k2, msg, sizeof msg, r2), ESESSION_OK);
        cr_assert_eq(es_hmac_oneshot(alg, NULL, 0, msg, sizeof msg, r3), ESESSION_OK);

        cr_assert_eq(es_hmac_new(&h, alg, k1, sizeof k1), ESESSION_OK);
        /* A message in progress is dropped by rekey. */
        cr_assert_eq(es_hmac_update(h, msg, 5), ESESSION_OK);
        cr_assert_eq(es_hmac_rekey(h, k2, sizeof k2), ESESSION_OK); /* long key */
        cr_assert_eq(es_hmac_update(h, msg, sizeof msg), ESESSION_OK);
        cr_assert_eq(es_hmac_final(h, out), ESESSION_OK);
        cr_assert_arr_eq(out, r2, size);

        /* A failed rekey keeps the current key. */
        cr_assert_eq(es_hmac_rekey(h, NULL, 3), ESESSION_ERR_INVALID_ARGUMENT);
        cr_assert_eq(es_hmac_update(h, msg, sizeof msg), ESESSION_OK);
        cr_assert_eq(es_hmac_final(h, out), ESESSION_OK);
        cr_assert_arr_eq(out, r2, size);
        cr_assert_eq(es_hmac_alg(h), alg);

        cr_assert_eq(es_hmac_rekey(h, NULL, 0), ESESSION_OK); /* empty key */
        cr_assert_eq(es_hmac_update(h, msg, sizeof msg), ESESSION_OK);
        cr_assert_eq(es_hmac_final(h, out), ESESSION_OK);
        cr_assert_arr_eq(out, r3, size);

        cr_assert_eq(es_hmac_rekey(h, k1, sizeof k1), ESESSION_OK);
        cr_assert_eq(es_hmac_update(h, msg, sizeof msg), ESESSION_OK);
        cr_assert_eq(es_hmac_final(h, out), ESESSION_OK);
        cr_assert_arr_eq(out, r1, size);
        es_hmac_free(h);
    }
}

static void argument_errors(void)
{
    static int dummy;
    es_hmac *const sentinel = (es_hmac *)(void *)&dummy; /* must survive failures */
    es_hmac *h = sentinel;
    uint8_t out[ES_HASH_MAX_BYTES], before[ES_HASH_MAX_BYTES];
    memset(out, 0x77, sizeof out);
    memcpy(before, out, sizeof out);

    cr_assert_eq(es_hmac_new(&h, (es_hash_alg)0, (const uint8_t *)"k", 1), ESESSION_ERR_UNSUPPORTED);
    cr_assert_eq(es_hmac_new(&h, (es_hash_alg)9, (const uint8_t *)"k", 1), ESESSION_ERR_UNSUPPORTED);
    cr_assert_eq(es_hmac_new(&h, ES_HASH_SHA256, NULL, 1), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_hmac_new(NULL, ES_HASH_SHA256, (const uint8_t *)"k", 1),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(h, sentinel);

    cr_assert_eq(es_hmac_oneshot((es_hash_alg)0, NULL, 0, NULL, 0, out), ESESSION_ERR_UNSUPPORTED);
    cr_assert_eq(es_hmac_oneshot(ES_HASH_SHA256, NULL, 4, NULL, 0, out),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_hmac_oneshot(ES_HASH_SHA256, NULL, 0, NULL, 4, out),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_hmac_oneshot(ES_HASH_SHA256, NULL, 0, NULL, 0, NULL),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_arr_eq(out, before, sizeof out);

    cr_assert_eq(es_hmac_rekey(NULL, NULL, 0), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_hmac_begin(NULL), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_hmac_update(NULL, NULL, 0), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_hmac_final(NULL, out), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_hmac_alg(NULL), (es_hash_alg)0);
    es_hmac_free(NULL);

    for (size_t a = 0; a < N_ALGS; a++) {
        uint8_t ref[ES_HASH_MAX_BYTES];
        cr_assert_eq(es_hmac_new(&h, all_algs[a], (const uint8_t *)"k", 1), ESESSION_OK);
        cr_assert_eq(es_hmac_update(h, (const uint8_t *)"ab", 2), ESESSION_OK);
        /* Rejected calls do not disturb the message in progress. */
        cr_assert_eq(es_hmac_update(h, NULL, 5), ESESSION_ERR_INVALID_ARGUMENT);
        cr_assert_eq(es_hmac_final(h, NULL), ESESSION_ERR_INVALID_ARGUMENT);
        cr_assert_eq(es_hmac_update(h, (const uint8_t *)"c", 1), ESESSION_OK);
        cr_assert_eq(es_hmac_final(h, out), ESESSION_OK);
        cr_assert_eq(es_hmac_oneshot(all_algs[a], (const uint8_t *)"k", 1,
                                     (const uint8_t *)"abc", 3, ref), ESESSION_OK);
        cr_assert_arr_eq(out, ref, es_hash_size(all_algs[a]));
        es_hmac_free(h);
    }
}

/* Only the tag's own octets are written. */
static void writes_exactly_the_tag_size(void)
{
    for (size_t a = 0; a < N_ALGS; a++) {
        uint8_t out[ES_HASH_MAX_BYTES + 8];
        size_t size = es_hash_size(all_algs[a]);
        memset(out, 0xee, sizeof out);
        cr_assert_eq(es_hmac_oneshot(all_algs[a], (const uint8_t *)"k", 1,
                                     (const uint8_t *)"m", 1, out), ESESSION_OK);
        for (size_t k = size; k < sizeof out; k++)
            cr_assert_eq(out[k], 0xee);
    }
}

/* Grouped: each Criterion test is its own process, which valgrind pays for. */
Test(hmac, vectors)
{
    rfc4231();
    whirlpool_vectors();
}

Test(hmac, begin_and_rekey)
{
    begin_discards_partial_message();
    rekey();
}

Test(hmac, argument_errors_and_output_size)
{
    argument_errors();
    writes_exactly_the_tag_size();
}

/* A prefix hashed once and finished several ways equals one-shot MACs. */
Test(hmac, copy_message_finishes_a_shared_prefix)
{
    static const es_hash_alg algs[] = {ES_HASH_SHA256, ES_HASH_SHA512, ES_HASH_WHIRLPOOL};
    const uint8_t key[20] = "0123456789abcdefghij";
    const uint8_t prefix[] = "m_content of a stanza";
    for (size_t a = 0; a < sizeof algs / sizeof algs[0]; a++) {
        es_hmac *base = NULL, *work = NULL, *other = NULL;
        cr_assert_eq(es_hmac_new(&base, algs[a], key, sizeof key), ESESSION_OK);
        cr_assert_eq(es_hmac_new(&work, algs[a], key, sizeof key), ESESSION_OK);
        cr_assert_eq(es_hmac_update(base, prefix, sizeof prefix), ESESSION_OK);
        for (uint8_t s = 0; s < 3; s++) {
            uint8_t msg[sizeof prefix + 1], want[ES_HASH_MAX_BYTES], got[ES_HASH_MAX_BYTES];
            memcpy(msg, prefix, sizeof prefix);
            msg[sizeof prefix] = s;
            cr_assert_eq(es_hmac_oneshot(algs[a], key, sizeof key, msg, sizeof msg, want), ESESSION_OK);
            cr_assert_eq(es_hmac_copy_message(work, base), ESESSION_OK);
            cr_assert_eq(es_hmac_update(work, &s, 1), ESESSION_OK);
            cr_assert_eq(es_hmac_final(work, got), ESESSION_OK);
            cr_assert_eq(memcmp(want, got, es_hash_size(algs[a])), 0);
        }
        /* Another algorithm is refused. */
        cr_assert_eq(es_hmac_new(&other, algs[(a + 1) % 3], key, sizeof key), ESESSION_OK);
        cr_assert_eq(es_hmac_copy_message(other, base), ESESSION_ERR_INVALID_ARGUMENT);
        es_hmac_free(base);
        es_hmac_free(work);
        es_hmac_free(other);
    }
}

/* Keyed with a context's digests: the same tags, and the object still
 * works (rekey included) once the context is gone. */
Test(hmac, keyed_in_a_context_and_outliving_it)
{
    static const es_hash_alg algs[] = { ES_HASH_SHA256, ES_HASH_SHA512, ES_HASH_WHIRLPOOL };
    static const uint8_t key[] = "a key", key2[] = "another key of some length";
    static const uint8_t msg[] = "a message", msg2[] = "and a second one";
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++) {
        esession_ctx *c = NULL;
        cr_assert_eq(esession_ctx_new(&c, NULL, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                     ESESSION_OK);
        uint8_t want[ES_HASH_MAX_BYTES], got[ES_HASH_MAX_BYTES];
        size_t n = es_hash_size(algs[i]);
        es_hmac *h = NULL;
        cr_assert_eq(es_hmac_new_in(c, &h, algs[i], key, sizeof key), ESESSION_OK);
        for (int round = 0; round < 2; round++) {
            cr_assert_eq(es_hmac_oneshot(algs[i], key, sizeof key, msg, sizeof msg, want),
                         ESESSION_OK);
            cr_assert_eq(es_hmac_update(h, msg, sizeof msg), ESESSION_OK);
            cr_assert_eq(es_hmac_final(h, got), ESESSION_OK);
            cr_assert_eq(memcmp(want, got, n), 0, "alg %d round %d", (int)algs[i], round);
        }
        esession_ctx_free(c);
        cr_assert_eq(es_hmac_rekey(h, key2, sizeof key2), ESESSION_OK);
        cr_assert_eq(es_hmac_oneshot(algs[i], key2, sizeof key2, msg2, sizeof msg2, want),
                     ESESSION_OK);
        cr_assert_eq(es_hmac_update(h, msg2, sizeof msg2), ESESSION_OK);
        cr_assert_eq(es_hmac_final(h, got), ESESSION_OK);
        cr_assert_eq(memcmp(want, got, n), 0, "alg %d after rekey", (int)algs[i]);
        es_hmac_free(h);
    }
}
