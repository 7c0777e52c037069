/* SPDX-License-Identifier: ISC */
/* Whirlpool: the ISO/IEC 10118-3 vectors, padding boundaries, incremental
 * equals one-shot, the 128-bit length counter. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../crypto/hash.h"
#include "../../crypto/whirlpool.h"
#include "../common/vecfile.h"

/* The full message of a record: the unit repeated `repeat` times. */
static uint8_t *record_message(const vec_record *r, size_t *len, uint8_t **unit, size_t *unitlen)
{
    const char *hex = vec_get(r, "message"), *rep = vec_get(r, "repeat");
    cr_assert(hex != NULL && rep != NULL, "record at line %u lacks message/repeat", r->line);
    *unit = vec_hex(hex, unitlen);
    cr_assert_not_null(*unit);
    unsigned long times = strtoul(rep, NULL, 10);
    cr_assert(times >= 1);
    uint8_t *m = malloc(*unitlen * times + 1);
    cr_assert_not_null(m);
    for (unsigned long i = 0; i < times; i++)
        memcpy(m + i * *unitlen, *unit, *unitlen);
    *len = *unitlen * times;
    return m;
}

Test(whirlpool, iso_vectors)
{
    vec_file f;
    size_t seen = 0;
    int million = 0;

    cr_assert_eq(vec_file_load(&f, "vectors/whirlpool_iso.txt"), 0);
    for (size_t i = 0; i < f.count; i++) {
        const vec_record *r = &f.records[i];
        size_t len, unitlen, dlen;
        uint8_t *unit, out[ES_WHIRLPOOL_BYTES], out2[ES_WHIRLPOOL_BYTES];
        uint8_t *msg = record_message(r, &len, &unit, &unitlen);
        uint8_t *want = vec_hex(vec_get(r, "digest"), &dlen);
        cr_assert_eq(dlen, ES_WHIRLPOOL_BYTES);

        /* One-shot, through hash.h. */
        memset(out, 0, sizeof out);
        cr_assert_eq(es_hash(ES_HASH_WHIRLPOOL, msg, len, out), ESESSION_OK);
        cr_assert_arr_eq(out, want, dlen, "%s (one-shot)", vec_get(r, "name"));

        /* Streaming, one unit per update. */
        es_whirlpool_ctx w;
        es_whirlpool_init(&w);
        for (size_t off = 0; off < len; off += unitlen)
            es_whirlpool_update(&w, msg + off, unitlen);
        es_whirlpool_final(&w, out2);
        cr_assert_arr_eq(out2, want, dlen, "%s (streamed)", vec_get(r, "name"));

        if (len == 1000000)
            million = 1;
        seen++;
        free(want);
        free(unit);
        free(msg);
    }
    cr_assert_eq(seen, 9, "every ISO record is used");
    cr_assert(million, "the 10^6 x 'a' record is present");
    vec_file_free(&f);
}

/* "a" repeated n times, around the 256-bit length field and the block size.
 * Digests from OpenSSL 3's legacy provider (an independent implementation). */
Test(whirlpool, padding_boundaries)
{
    static const struct {
        size_t n;
        const char *digest;
    } kat[] = {
        { 31, "698d25826e50bfd1f4e67a1ddbe0d40fac00c4b8f49bd17f706e2f4c5c813249"
              "a8a2b771acec2a7425c20406acbc672a2bc83a62150af78f0d804d382658af05" },
        { 33, "d547ada2351b1985947133a7a638ddd9d7fe0efd3838c9aef606be5e6a86b72b"
              "c356e4c66d0a53556685bd825b8c60c4acdd437dacbf69ac35fc946d30c66c48" },
        { 63, "dca98612630df22697eedc2f25976f52304a5de1b320311b52642c8bbf3896ab"
              "a26066b65f9aa212219f6535ece25b418013fdb9590a48f2dd3df63f33fa7b68" },
        { 64, "3ab1400670b9c37bc24274578aac331eb7150167c598c6c247bcdd8ae54be548"
              "470fcdc3718f276cebc324d2c9b35b6b4748d9a26985d9b79563f7e2890da38a" },
        { 65, "4cf0a9f4bdcbe068aaf8fe2217ff1b812d76df2344cd63a976182ca6aa19f3d4"
              "98cedec7cfecac6ac37402884f50068d269f6781684e1f261189b42ba8581d42" },
        { 127, "6271b0e36589373495b3b19797f158545802c5ec7d802b55934e6f82e64857e9"
               "090a92819f4709b64fb4c59096ebf1896adb7ee1417dbc24047429fb97c27d3d" },
        { 128, "1c46b0b72c3cedeacbe2c964729d96510baf44f490a0ec42259bf574d8110f24"
               "7c0bfd14aae2423ab56a48c5a1329fef1d657acd06ce5118450347263d56896d" },
    };
    uint8_t msg[128], out[ES_WHIRLPOOL_BYTES];
    memset(msg, 'a', sizeof msg);
    for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        size_t dlen;
        uint8_t *want = vec_hex(kat[i].digest, &dlen);
        es_whirlpool(msg, kat[i].n, out);
        cr_assert_arr_eq(out, want, sizeof out, "length %zu", kat[i].n);
        free(want);
    }
}

/* Every two-part split and a set of odd three-part splits of a 300-octet
 * message give the one-shot digest. */
Test(whirlpool, incremental_equals_oneshot)
{
    uint8_t msg[300], ref[ES_WHIRLPOOL_BYTES], out[ES_WHIRLPOOL_BYTES];
    static const size_t cuts[] = { 1, 7, 31, 32, 33, 63, 64, 65, 127, 129, 191 };
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 151 + 7);
    es_whirlpool(msg, sizeof msg, ref);

    for (size_t k = 0; k <= sizeof msg; k++) {
        es_whirlpool_ctx w;
        es_whirlpool_init(&w);
        es_whirlpool_update(&w, msg, k);
        es_whirlpool_update(&w, msg + k, sizeof msg - k);
        es_whirlpool_final(&w, out);
        cr_assert_arr_eq(out, ref, sizeof ref, "split at %zu", k);
    }
    for (size_t a = 0; a < sizeof cuts / sizeof cuts[0]; a++) {
        for (size_t b = 0; b < sizeof cuts / sizeof cuts[0]; b++) {
            size_t x = cuts[a], y = x + cuts[b];
            if (y > sizeof msg)
                continue;
            es_whirlpool_ctx w;
            es_whirlpool_init(&w);
            es_whirlpool_update(&w, msg, x);
            es_whirlpool_update(&w, NULL, 0);
            es_whirlpool_update(&w, msg + x, y - x);
            es_whirlpool_update(&w, msg + y, sizeof msg - y);
            es_whirlpool_final(&w, out);
            cr_assert_arr_eq(out, ref, sizeof ref, "splits at %zu, %zu", x, y);
        }
    }
    /* One octet at a time. */
    es_whirlpool_ctx w;
    es_whirlpool_init(&w);
    for (size_t i = 0; i < sizeof msg; i++)
        es_whirlpool_update(&w, msg + i, 1);
    es_whirlpool_final(&w, out);
    cr_assert_arr_eq(out, ref, sizeof ref);
}

static void state_copy_and_wipe(void)
{
    uint8_t a[ES_WHIRLPOOL_BYTES], b[ES_WHIRLPOOL_BYTES], ref[ES_WHIRLPOOL_BYTES];
    static const uint8_t zero[sizeof(es_whirlpool_ctx)];
    es_whirlpool_ctx w, copy;

    /* A copied state continues independently (HMAC relies on this). */
    es_whirlpool_init(&w);
    es_whirlpool_update(&w, (const uint8_t *)"abcdefghij", 10);
    copy = w;
    es_whirlpool_update(&w, (const uint8_t *)"klmnopqrstuvwxyz", 16);
    es_whirlpool_update(&copy, (const uint8_t *)"klmnopqrstuvwxyz", 16);
    es_whirlpool_final(&w, a);
    es_whirlpool_final(&copy, b);
    es_whirlpool((const uint8_t *)"abcdefghijklmnopqrstuvwxyz", 26, ref);
    cr_assert_arr_eq(a, ref, sizeof ref);
    cr_assert_arr_eq(b, ref, sizeof ref);
    /* final wipes the state. */
    cr_assert_arr_eq(&w, zero, sizeof w);
}

/* The octet count is 128 bits wide: a carry out of the low word is kept and
 * lands in the encoded bit length. */
static void length_counter_carry(void)
{
    es_whirlpool_ctx w, v;
    uint8_t a[ES_WHIRLPOOL_BYTES], b[ES_WHIRLPOOL_BYTES];

    es_whirlpool_init(&w);
    w.len_lo = UINT64_MAX - 4;
    es_whirlpool_update(&w, (const uint8_t *)"0123456789", 10);
    cr_assert_eq(w.len_hi, 1);
    cr_assert_eq(w.len_lo, 5);

    /* The high word changes the digest (it is hashed into the last block). */
    v = w;
    v.len_hi = 0;
    es_whirlpool_final(&w, a);
    es_whirlpool_final(&v, b);
    cr_assert_arr_neq(a, b, sizeof a);

    /* The top bits of each word of the octet count reach the next word of
     * the 256-bit bit length (8 * 2^61 = 2^64, 8 * 2^125 = 2^128): bit
     * lengths 0, 2^64 .. 2^66, 2^128 .. 2^130 give seven different digests. */
    static const uint64_t lens[][2] = {
        { 0, 0 }, { 0, UINT64_C(1) << 61 }, { 0, UINT64_C(1) << 62 }, { 0, UINT64_C(1) << 63 },
        { UINT64_C(1) << 61, 0 }, { UINT64_C(1) << 62, 0 }, { UINT64_C(1) << 63, 0 },
    };
    uint8_t d[7][ES_WHIRLPOOL_BYTES];
    for (size_t i = 0; i < 7; i++) {
        es_whirlpool_init(&w);
        w.len_hi = lens[i][0];
        w.len_lo = lens[i][1];
        es_whirlpool_final(&w, d[i]);
        for (size_t j = 0; j < i; j++)
            cr_assert_arr_neq(d[i], d[j], sizeof d[i], "lengths %zu and %zu", i, j);
    }
}

/* Grouped: each Criterion test is its own process, which valgrind pays for. */
Test(whirlpool, state)
{
    state_copy_and_wipe();
    length_counter_carry();
}
