/* SPDX-License-Identifier: ISC */
/* Strict base64 (PROFILE §1): RFC 4648 vectors both ways, whitespace, every
 * rejected octet, padding, trailing bits, buffer sizes. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../crypto/base64.h"
#include "../common/vecfile.h"

/* Decode text (of length n) expecting success and the octets want. */
static void decodes_to(const char *text, size_t n, const char *want, size_t wlen)
{
    uint8_t out[64];
    size_t len = 999;
    cr_assert_eq(es_base64_decode(out, sizeof out, &len, text, n), ESESSION_OK,
                 "\"%.*s\" should decode", (int)n, text);
    cr_assert_eq(len, wlen, "\"%.*s\": length", (int)n, text);
    cr_assert_arr_eq(out, want, wlen, "\"%.*s\"", (int)n, text);
}

/* Decode text expecting code, with out and outlen untouched. */
static void rejects(const char *text, size_t n, esession_status code)
{
    uint8_t out[64], before[64];
    size_t len = 777;
    memset(out, 0xc3, sizeof out);
    memcpy(before, out, sizeof out);
    cr_assert_eq(es_base64_decode(out, sizeof out, &len, text, n), code,
                 "\"%.*s\" (%zu octets) should be refused", (int)n, text, n);
    cr_assert_eq(len, 777, "outlen untouched");
    cr_assert_arr_eq(out, before, sizeof out, "out untouched");
}

#define DECODES(text, want) decodes_to(text, sizeof(text) - 1, want, sizeof(want) - 1)
#define REJECTS(text) rejects(text, sizeof(text) - 1, ESESSION_ERR_MALFORMED)

static void rfc4648_both_ways(void)
{
    vec_file f;
    size_t seen = 0;
    cr_assert_eq(vec_file_load(&f, "vectors/base64_rfc4648.txt"), 0);
    for (size_t i = 0; i < f.count; i++) {
        const vec_record *r = &f.records[i];
        if (strcmp(vec_get(r, "encoding"), "base64") != 0)
            continue;
        const char *name = vec_get(r, "name"), *text = vec_get(r, "output");
        size_t n, tlen = strlen(text), len = 999;
        uint8_t *bin = vec_hex(vec_get(r, "input_hex"), &n);
        cr_assert_not_null(bin);
        cr_assert_eq(n, strlen(vec_get(r, "input")), "%s", name);

        /* Encode. */
        char enc[32];
        memset(enc, 'x', sizeof enc);
        cr_assert_eq(es_base64_encoded_len(n), tlen, "%s", name);
        es_base64_encode(enc, bin, n);
        cr_assert_str_eq(enc, text, "%s", name);
        esession_buf b = { 0 };
        cr_assert_eq(es_base64_encode_buf(&b, bin, n), ESESSION_OK);
        cr_assert_eq(b.len, tlen);
        cr_assert_str_eq(b.data, text, "%s", name);
        esession_buf_free(&b);

        /* Decode, with exactly enough room and with the documented bound. */
        uint8_t dec[16];
        cr_assert_leq(n, es_base64_decoded_max(tlen));
        cr_assert_eq(es_base64_decode(dec, n, &len, text, tlen), ESESSION_OK, "%s", name);
        cr_assert_eq(len, n, "%s", name);
        cr_assert_arr_eq(dec, bin, n, "%s", name);
        cr_assert_eq(es_base64_decode(dec, es_base64_decoded_max(tlen), &len, text, tlen),
                     ESESSION_OK);
        cr_assert_eq(len, n);
        free(bin);
        seen++;
    }
    cr_assert_eq(seen, 7);
    vec_file_free(&f);
}

/* Round trips over every length up to 100 and all octet values. */
static void round_trip(void)
{
    uint8_t in[256], out[260];
    char text[400];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)(255 - i);
    for (size_t n = 0; n <= sizeof in; n += (n < 100 ? 1 : 39)) {
        size_t len = 0;
        es_base64_encode(text, in, n);
        cr_assert_eq(strlen(text), es_base64_encoded_len(n));
        cr_assert_eq(es_base64_decode(out, sizeof out, &len, text, strlen(text)), ESESSION_OK);
        cr_assert_eq(len, n);
        cr_assert_arr_eq(out, in, n);
    }
}

Test(base64, whitespace_is_skipped_anywhere)
{
    DECODES("Zm9v YmFy", "foobar");
    DECODES(" Zm9vYmFy", "foobar");
    DECODES("Zm9vYmFy\n", "foobar");
    DECODES("\r\nZ\tm\r9\nv Y m F y \r\n", "foobar");
    DECODES("Zg= =", "f");    /* between the two padding octets */
    DECODES("Zg=\r\n=\t", "f");
    DECODES("Zm8 =", "fo");
    DECODES("Zm8=    ", "fo");
    DECODES("  \t\r\n", "");  /* whitespace only: the empty string */
    DECODES("", "");
    /* Line-wrapped, as other encoders produce it. */
    DECODES("Zm9v\r\nYmFy\r\nZm9v\r\nYg==\r\n", "foobarfoob");
}

/* Every octet outside the alphabet, '=' and the four whitespace characters
 * is refused wherever it appears. */
static void every_other_octet_is_refused(void)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t refused = 0;
    for (int c = 0; c < 256; c++) {
        if ((c != 0 && memchr(alphabet, c, 64) != NULL) || c == '=' || c == ' ' || c == '\t' ||
            c == '\r' || c == '\n')
            continue;
        char t[8];
        /* At the start, in the middle, at the end, after padding. */
        memcpy(t, "Zm9v", 4);
        t[4] = (char)c;
        rejects(t, 5, ESESSION_ERR_MALFORMED);
        t[0] = (char)c;
        memcpy(t + 1, "Zm9v", 4);
        rejects(t, 5, ESESSION_ERR_MALFORMED);
        memcpy(t, "Zm", 2);
        t[2] = (char)c;
        memcpy(t + 3, "9v", 2);
        rejects(t, 5, ESESSION_ERR_MALFORMED);
        memcpy(t, "Zg==", 4);
        t[4] = (char)c;
        rejects(t, 5, ESESSION_ERR_MALFORMED);
        /* Completing a quantum: libsodium alone took 0x80..0xff for '/'. */
        memcpy(t, "AAA", 3);
        t[3] = (char)c;
        rejects(t, 4, ESESSION_ERR_MALFORMED);
        refused++;
    }
    /* 256 - 64 alphabet - '=' - 4 whitespace */
    cr_assert_eq(refused, 187);
    /* The URL-safe alphabet is not base64 here. */
    REJECTS("ab-_");
    REJECTS("-w==");
    /* Other Unicode spaces (UTF-8 NBSP) and form feed / vertical tab. */
    REJECTS("Zm9v\xc2\xa0YmFy");
    REJECTS("Zm9v\fYmFy");
    REJECTS("Zm9v\vYmFy");
}

static void missing_or_bad_padding(void)
{
    REJECTS("Zg");      /* missing "==" */
    REJECTS("Zg=");     /* half the padding */
    REJECTS("Zm8");     /* missing "=" */
    REJECTS("Zm9vYg");
    REJECTS("Zm9vYmE");
    REJECTS("Z");       /* a lone sextet is never valid */
    REJECTS("Z===");
    REJECTS("Zm9vY");
    REJECTS("Zm8==");   /* one pad too many */
    REJECTS("Zg===");
    REJECTS("Zm9v=");
    REJECTS("=");
    REJECTS("==");
    REJECTS("====");
    REJECTS("=Zm9v");
    REJECTS("Zm=v");    /* '=' inside the data */
    REJECTS("Z=9v");
}

/* The bits after the last full octet must be zero: one encoding per value. */
static void nonzero_trailing_bits(void)
{
    DECODES("QQ==", "A");
    REJECTS("QR==");
    REJECTS("QX==");
    REJECTS("QT==");
    DECODES("QUI=", "AB");
    REJECTS("QUJ=");
    REJECTS("QUL=");
    DECODES("Zm8=", "fo");
    REJECTS("Zm9=");
    REJECTS("Zh==");
}

static void data_after_padding(void)
{
    REJECTS("Zg==Zg==");
    REJECTS("Zm8=Zm8=");
    REJECTS("Zg==a");
    REJECTS("Zg== a");
    REJECTS("Zm8=\nZm9v");
    REJECTS("Zg==\n=");
}

static void embedded_nul(void)
{
    rejects("Zm\0" "9v", 5, ESESSION_ERR_MALFORMED);
    rejects("Zm9v\0", 5, ESESSION_ERR_MALFORMED);
    rejects("\0Zm9v", 5, ESESSION_ERR_MALFORMED);
    rejects("Zg==\0", 5, ESESSION_ERR_MALFORMED);
    rejects("\0", 1, ESESSION_ERR_MALFORMED);
    rejects("  \0", 3, ESESSION_ERR_MALFORMED);
    rejects(" \n\0 ", 4, ESESSION_ERR_MALFORMED);
}

/* A well-formed text that does not fit is buffer-too-small, and nothing is
 * written; a text that fits exactly is fine. */
static void buffer_too_small(void)
{
    uint8_t out[8], before[8];
    size_t len = 555;
    memset(out, 0x3c, sizeof out);
    memcpy(before, out, sizeof out);
    cr_assert_eq(es_base64_decode(out, 5, &len, "Zm9vYmFy", 8), ESESSION_ERR_BUFFER_TOO_SMALL);
    cr_assert_eq(es_base64_decode(out, 0, &len, "Zg==", 4), ESESSION_ERR_BUFFER_TOO_SMALL);
    cr_assert_eq(es_base64_decode(NULL, 0, &len, "Zg==", 4), ESESSION_ERR_BUFFER_TOO_SMALL);
    cr_assert_eq(len, 555);
    cr_assert_arr_eq(out, before, sizeof out);
    /* Malformed text is malformed whatever the room. */
    cr_assert_eq(es_base64_decode(out, 1, &len, "Zm9vYmF!", 8), ESESSION_ERR_MALFORMED);
    cr_assert_arr_eq(out, before, sizeof out);
    /* Exactly enough. */
    cr_assert_eq(es_base64_decode(out, 6, &len, "Zm9vYmFy", 8), ESESSION_OK);
    cr_assert_eq(len, 6);
    cr_assert_arr_eq(out, "foobar", 6);
    cr_assert_eq(out[6], 0x3c, "nothing written past the decoded octets");
    cr_assert_eq(es_base64_decode(NULL, 0, &len, "  ", 2), ESESSION_OK);
    cr_assert_eq(len, 0);
}

/* Decoding a text longer than the internal stack buffer, and failing late
 * in it, still leaves out untouched. */
static void long_text_fails_without_partial_output(void)
{
    uint8_t in[600], out[600], before[600];
    char text[1000];
    size_t len = 0;
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)(i * 7);
    es_base64_encode(text, in, sizeof in);
    size_t tlen = strlen(text);
    cr_assert_eq(es_base64_decode(out, sizeof out, &len, text, tlen), ESESSION_OK);
    cr_assert_eq(len, sizeof in);
    cr_assert_arr_eq(out, in, sizeof in);

    memset(out, 0x11, sizeof out);
    memcpy(before, out, sizeof out);
    text[tlen - 2] = '*';
    cr_assert_eq(es_base64_decode(out, sizeof out, &len, text, tlen), ESESSION_ERR_MALFORMED);
    cr_assert_arr_eq(out, before, sizeof out);
}

Test(base64, lengths_and_arguments)
{
    cr_assert_eq(es_base64_encoded_len(0), 0);
    cr_assert_eq(es_base64_encoded_len(1), 4);
    cr_assert_eq(es_base64_encoded_len(3), 4);
    cr_assert_eq(es_base64_encoded_len(4), 8);
    cr_assert_geq(es_base64_decoded_max(4), 3);
    cr_assert_geq(es_base64_decoded_max(0), 0);
    char empty[1] = { 'x' };
    es_base64_encode(empty, NULL, 0);
    cr_assert_eq(empty[0], '\0');

    esession_buf b = { 0 };
    cr_assert_eq(es_base64_encode_buf(&b, NULL, 0), ESESSION_OK);
    cr_assert_eq(b.len, 0);
    cr_assert_str_eq(b.data, "");
    esession_buf_free(&b);
    cr_assert_eq(es_base64_encode_buf(&b, NULL, SIZE_MAX), ESESSION_ERR_LIMIT);
    cr_assert_null(b.data);

    uint8_t out[4];
    size_t len = 0;
    cr_assert_eq(es_base64_decode(out, sizeof out, NULL, "Zg==", 4), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_base64_decode(out, sizeof out, &len, NULL, 4), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_base64_decode(NULL, 4, &len, "Zg==", 4), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_base64_decode(out, sizeof out, &len, NULL, 0), ESESSION_OK);
    cr_assert_eq(len, 0);
}

/* Grouped: each Criterion test is its own process, which valgrind pays for. */
Test(base64, rfc4648_and_round_trips)
{
    rfc4648_both_ways();
    round_trip();
}

Test(base64, refused_octets)
{
    every_other_octet_is_refused();
    embedded_nul();
}

Test(base64, padding_and_trailing_bits)
{
    missing_or_bad_padding();
    nonzero_trailing_bits();
    data_after_padding();
}

Test(base64, output_buffer)
{
    buffer_too_small();
    long_text_fails_without_partial_output();
}

/* The public-data codec gives the constant-time one's answers: the same
 * text for every input, and on texts drawn from the alphabet, padding,
 * whitespace and refused octets, the same verdict and octets. */
static void public_codec_agrees(void)
{
    static const char pool[] = "AQgw+/=  \t\r\nZz09x\x80-";
    uint32_t seed = 12345;
    for (int round = 0; round < 20000; round++) {
        uint8_t bin[48], a[64], b[64];
        char t1[80], t2[80], text[40];
        size_t n = (size_t)(round % 48), tn = (size_t)(round % 37);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            bin[i] = (uint8_t)(seed >> 16);
        }
        es_base64_encode(t1, bin, n);
        es_base64_encode_public(t2, bin, n);
        cr_assert_str_eq(t1, t2, "encoding %zu octets", n);
        for (size_t i = 0; i < tn; i++) {
            seed = seed * 1103515245u + 12345u;
            text[i] = pool[(seed >> 16) % (sizeof pool - 1)];
        }
        /* Half the texts start from a valid encoding, then one change. */
        if (round % 2 == 0 && n > 0) {
            tn = strlen(t1) < sizeof text ? strlen(t1) : sizeof text;
            memcpy(text, t1, tn);
            seed = seed * 1103515245u + 12345u;
            if (round % 4 == 0)
                text[(seed >> 16) % tn] = pool[(seed >> 8) % (sizeof pool - 1)];
        }
        size_t la = 999, lb = 999, cap = round % 5 == 0 ? 3 : sizeof a;
        memset(a, 0x5a, sizeof a);
        memset(b, 0x5a, sizeof b);
        esession_status ra = es_base64_decode(a, cap, &la, text, tn);
        esession_status rb = es_base64_decode_public(b, cap, &lb, text, tn);
        cr_assert_eq(ra, rb, "verdict on \"%.*s\"", (int)tn, text);
        cr_assert_eq(la, lb, "length of \"%.*s\"", (int)tn, text);
        cr_assert_arr_eq(a, b, sizeof a, "octets of \"%.*s\"", (int)tn, text);
        /* In one pass into a buffer of the largest size: the same. */
        uint8_t c[64];
        size_t lc = 999, la2 = 999;
        cr_assert_leq(es_base64_decoded_max(tn), sizeof c);
        esession_status rc2 = es_base64_decode_public_into(c, &lc, text, tn);
        esession_status ra2 = es_base64_decode(a, sizeof a, &la2, text, tn);
        cr_assert_eq(rc2, ra2, "one pass: verdict on \"%.*s\"", (int)tn, text);
        if (ra2 == ESESSION_OK) {
            cr_assert_eq(lc, la2);
            cr_assert_arr_eq(c, a, lc, "one pass: octets of \"%.*s\"", (int)tn, text);
        }
    }
}

Test(base64, public_codec)
{
    uint8_t out[8];
    size_t len = 7;
    public_codec_agrees();
    cr_assert_eq(es_base64_decode_public(out, sizeof out, &len, "Zg\0=", 4), ESESSION_ERR_MALFORMED);
    cr_assert_eq(es_base64_decode_public(out, sizeof out, &len, "Zg=\0", 4), ESESSION_ERR_MALFORMED);
    cr_assert_eq(len, 7);
}
