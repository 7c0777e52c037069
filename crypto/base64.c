/* SPDX-License-Identifier: ISC */
/* Strict base64 on libsodium's constant-time codec (PROFILE §1). */
#include "base64.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* XML whitespace is skipped anywhere; everything else must be alphabet. */
static const char xml_space[] = " \t\r\n";

size_t es_base64_encoded_len(size_t n)
{
    return ((n + 2) / 3) * 4;
}

void es_base64_encode(char *out, const uint8_t *in, size_t n)
{
    if (n == 0) {
        out[0] = '\0';
        return;
    }
    sodium_bin2base64(out, es_base64_encoded_len(n) + 1, in, n,
                      sodium_base64_VARIANT_ORIGINAL);
}

size_t es_base64_decoded_max(size_t n)
{
    return (n / 4) * 3 + 3;
}

esession_status es_base64_decode(uint8_t *out, size_t cap, size_t *outlen,
                                 const char *in, size_t n)
{
    uint8_t small[256];
    uint8_t *tmp = small;
    size_t max, len = 0;
    size_t i;
    esession_status rc = ESESSION_OK;

    if (outlen == NULL || (in == NULL && n > 0) || (out == NULL && cap > 0))
        return ESESSION_ERR_INVALID_ARGUMENT;
    /* An all-whitespace (or empty) text is the empty string. */
    for (i = 0; i < n && in[i] != '\0' && strchr(xml_space, in[i]) != NULL; i++)
        ;
    if (i == n) {
        *outlen = 0;
        return ESESSION_OK;
    }
    /* NUL inside the text is never valid; libsodium would stop there. */
    if (memchr(in, '\0', n) != NULL)
        return ESESSION_ERR_MALFORMED;
    /* Nor any octet above 0x7f: libsodium 1.0.18 reads them as signed
     * chars and takes every one for '/', which would make a stanza's text
     * malleable without changing its meaning. */
    for (i = 0; i < n; i++)
        if ((unsigned char)in[i] >= 0x80)
            return ESESSION_ERR_MALFORMED;
    /* libsodium writes as it goes: decode aside so that out stays untouched
     * on failure, and so that a short out is told apart from bad text. */
    max = es_base64_decoded_max(n);
    if (max > sizeof small && (tmp = malloc(max)) == NULL)
        return ESESSION_ERR_NO_MEMORY;
    /* b64_end = NULL: trailing or embedded garbage is an error, not a stop.
     * libsodium also rejects missing padding and non-zero trailing bits. */
    if (sodium_base642bin(tmp, max, in, n, xml_space, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
        rc = ESESSION_ERR_MALFORMED;
    } else if (len > cap) {
        rc = ESESSION_ERR_BUFFER_TOO_SMALL;
    } else {
        if (len > 0)
            memcpy(out, tmp, len);
        *outlen = len;
    }
    sodium_memzero(tmp, max); /* the decoded octets may be secret */
    if (tmp != small)
        free(tmp);
    return rc;
}

/* ---- the public-data codec: the same rules through tables -------------- */

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void es_base64_encode_public(char *out, const uint8_t *in, size_t n)
{
    size_t i = 0;
    char *p = out;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        p[0] = alphabet[v >> 18];
        p[1] = alphabet[(v >> 12) & 63];
        p[2] = alphabet[(v >> 6) & 63];
        p[3] = alphabet[v & 63];
        p += 4;
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        p[0] = alphabet[v >> 18];
        p[1] = alphabet[(v >> 12) & 63];
        p[2] = p[3] = '=';
        p += 4;
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        p[0] = alphabet[v >> 18];
        p[1] = alphabet[(v >> 12) & 63];
        p[2] = alphabet[(v >> 6) & 63];
        p[3] = '=';
        p += 4;
    }
    *p = '\0';
}

/* Six bits per alphabet character; SKIP for XML whitespace, BAD else. */
#define B64_SKIP 0x40u
#define B64_BAD 0x80u

/* Six bits per alphabet octet, B64_SKIP for XML whitespace, B64_BAD for
 * every other octet (built per call: no state between calls). */
typedef struct b64_table {
    uint8_t v[256];
} b64_table;

static b64_table make_table(void)
{
    b64_table t;
    memset(t.v, B64_BAD, sizeof t.v);
    for (unsigned i = 0; i < 64; i++)
        t.v[(unsigned char)alphabet[i]] = (uint8_t)i;
    t.v[' '] = t.v['\t'] = t.v['\r'] = t.v['\n'] = B64_SKIP;
    return t;
}

/* One pass as libsodium's decoder makes it (sodium_base642bin, original
 * variant, XML whitespace ignored, no early end): out NULL only counts.
 * Returns 0, or -1 for text it would refuse. */
static int decode_pass(const b64_table *t, uint8_t *out, size_t *outlen, const char *in,
                       size_t n)
{
    uint32_t acc = 0;
    unsigned acc_len = 0;
    size_t pos = 0, len = 0;
    for (; pos < n; pos++) {
        /* On a group boundary, whole groups of four alphabet characters
         * (the bulk of a text) make three octets at once. */
        while (acc_len == 0 && n - pos >= 4) {
            uint32_t a = t->v[(unsigned char)in[pos]], b = t->v[(unsigned char)in[pos + 1]];
            uint32_t c = t->v[(unsigned char)in[pos + 2]], e = t->v[(unsigned char)in[pos + 3]];
            if ((a | b | c | e) & (B64_SKIP | B64_BAD))
                break;
            uint32_t v = a << 18 | b << 12 | c << 6 | e;
            if (out != NULL) {
                out[len] = (uint8_t)(v >> 16);
                out[len + 1] = (uint8_t)(v >> 8);
                out[len + 2] = (uint8_t)v;
            }
            len += 3;
            pos += 4;
        }
        if (pos == n)
            break;
        uint8_t d = t->v[(unsigned char)in[pos]];
        if (d == B64_SKIP)
            continue;
        if (d == B64_BAD)
            break; /* '=' or garbage: padding is looked at below */
        acc = (acc << 6) | d;
        acc_len += 6;
        if (acc_len >= 8) {
            acc_len -= 8;
            if (out != NULL)
                out[len] = (uint8_t)(acc >> acc_len);
            len++;
        }
    }
    if (acc_len > 4 || (acc & ((1u << acc_len) - 1u)) != 0)
        return -1;
    for (unsigned pad = acc_len / 2; pad > 0; pos++) {
        if (pos >= n)
            return -1;
        if (in[pos] == '=')
            pad--;
        else if (t->v[(unsigned char)in[pos]] != B64_SKIP)
            return -1;
    }
    while (pos < n && t->v[(unsigned char)in[pos]] == B64_SKIP)
        pos++;
    if (pos != n)
        return -1;
    *outlen = len;
    return 0;
}

esession_status es_base64_decode_public(uint8_t *out, size_t cap, size_t *outlen,
                                        const char *in, size_t n)
{
    size_t len = 0;
    if (outlen == NULL || (in == NULL && n > 0) || (out == NULL && cap > 0))
        return ESESSION_ERR_INVALID_ARGUMENT;
    /* Counted first: out stays untouched unless the text is good. NUL and
     * octets above 0x7f are not in the tables, so they are refused. */
    const b64_table t = make_table();
    if (decode_pass(&t, NULL, &len, in, n) != 0)
        return ESESSION_ERR_MALFORMED;
    if (len > cap)
        return ESESSION_ERR_BUFFER_TOO_SMALL;
    (void)decode_pass(&t, out, &len, in, n);
    *outlen = len;
    return ESESSION_OK;
}

esession_status es_base64_decode_public_into(uint8_t *out, size_t *outlen, const char *in,
                                             size_t n)
{
    size_t len = 0;
    if (outlen == NULL || out == NULL || (in == NULL && n > 0))
        return ESESSION_ERR_INVALID_ARGUMENT;
    const b64_table t = make_table();
    /* Never more than es_base64_decoded_max(n): six bits per character. */
    if (decode_pass(&t, out, &len, in, n) != 0)
        return ESESSION_ERR_MALFORMED;
    *outlen = len;
    return ESESSION_OK;
}

esession_status es_base64_encode_buf(esession_buf *out, const uint8_t *in, size_t n)
{
    esession_buf tmp;
    esession_status rc;

    /* Beyond this es_base64_encoded_len(n) + 1 overflows, and libsodium
     * aborts on a short output buffer. */
    if (n > (SIZE_MAX / 4 - 1) * 3)
        return ESESSION_ERR_LIMIT;
    rc = es_buf_alloc(&tmp, es_base64_encoded_len(n), 0);
    if (rc != ESESSION_OK)
        return rc;
    es_base64_encode(tmp.data, in, n);
    *out = tmp;
    return ESESSION_OK;
}
