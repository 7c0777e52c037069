/* SPDX-License-Identifier: ISC */
/* Whirlpool, final 2003 version (ISO/IEC 10118-3), 64-bit table form.
 * OpenSSL 3 keeps Whirlpool in its legacy provider only, so it lives here. */
#include "whirlpool.h"

#include <string.h>

#include "../core/core.h"
#include "whirlpool_tables.h"

static uint64_t load_be64(const uint8_t *p)
{
    return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 |
           (uint64_t)p[3] << 32 | (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
           (uint64_t)p[6] << 8 | (uint64_t)p[7];
}

static void store_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

#define ROTR64(v, n) ((v) >> (n) | (v) << (64 - (n)))
#define C0(x) es_whirlpool_c0[(x) & 0xff]

/* Row i of theta(pi(gamma(x))): column j comes from row i - j (pi shifts
 * column j down by j), through the S-box and row j of the circulant
 * matrix, which is C0 rotated right by 8j bits (one 2 KiB table, not 16). */
#define ROUND_ROW(x, i)                                 \
    (C0((x)[(i)] >> 56) ^                               \
     ROTR64(C0((x)[((i) + 7) & 7] >> 48), 8) ^          \
     ROTR64(C0((x)[((i) + 6) & 7] >> 40), 16) ^         \
     ROTR64(C0((x)[((i) + 5) & 7] >> 32), 24) ^         \
     ROTR64(C0((x)[((i) + 4) & 7] >> 24), 32) ^         \
     ROTR64(C0((x)[((i) + 3) & 7] >> 16), 40) ^         \
     ROTR64(C0((x)[((i) + 2) & 7] >> 8), 48) ^          \
     ROTR64(C0((x)[((i) + 1) & 7]), 56))

/* out = rho(x) without the key addition; all eight rows unrolled. */
static inline void round_rows(uint64_t out[8], const uint64_t x[8])
{
    out[0] = ROUND_ROW(x, 0);
    out[1] = ROUND_ROW(x, 1);
    out[2] = ROUND_ROW(x, 2);
    out[3] = ROUND_ROW(x, 3);
    out[4] = ROUND_ROW(x, 4);
    out[5] = ROUND_ROW(x, 5);
    out[6] = ROUND_ROW(x, 6);
    out[7] = ROUND_ROW(x, 7);
}

/* Miyaguchi-Preneel over the dedicated block cipher W. */
static void compress(uint64_t h[8], const uint8_t *p, size_t nblocks)
{
    uint64_t k[8], s[8], m[8], t[8];
    unsigned i, r;

    for (; nblocks > 0; nblocks--, p += ES_WHIRLPOOL_BLOCK) {
        for (i = 0; i < 8; i++) {
            m[i] = load_be64(p + 8 * i);
            k[i] = h[i];
            s[i] = m[i] ^ k[i];
        }
        for (r = 0; r < 10; r++) {
            round_rows(t, k);
            t[0] ^= es_whirlpool_rc[r];
            memcpy(k, t, sizeof k);
            round_rows(t, s);
            for (i = 0; i < 8; i++)
                s[i] = t[i] ^ k[i];
        }
        for (i = 0; i < 8; i++)
            h[i] ^= s[i] ^ m[i];
    }
    /* Round keys and states derive from the (possibly secret) input. */
    ES_WIPE(k);
    ES_WIPE(s);
    ES_WIPE(m);
    ES_WIPE(t);
}

void es_whirlpool_init(es_whirlpool_ctx *w)
{
    memset(w, 0, sizeof *w);
}

void es_whirlpool_update(es_whirlpool_ctx *w, const uint8_t *in, size_t n)
{
    if (n == 0)
        return;
    w->len_lo += (uint64_t)n;
    if (w->len_lo < (uint64_t)n)
        w->len_hi++;
    if (w->buflen > 0) {
        size_t take = ES_WHIRLPOOL_BLOCK - w->buflen;
        if (take > n)
            take = n;
        memcpy(w->buf + w->buflen, in, take);
        w->buflen += take;
        in += take;
        n -= take;
        if (w->buflen < ES_WHIRLPOOL_BLOCK)
            return;
        compress(w->h, w->buf, 1);
        w->buflen = 0;
    }
    if (n >= ES_WHIRLPOOL_BLOCK) {
        size_t blocks = n / ES_WHIRLPOOL_BLOCK;
        compress(w->h, in, blocks);
        in += blocks * ES_WHIRLPOOL_BLOCK;
        n -= blocks * ES_WHIRLPOOL_BLOCK;
    }
    if (n > 0) {
        memcpy(w->buf, in, n);
        w->buflen = n;
    }
}

void es_whirlpool_final(es_whirlpool_ctx *w, uint8_t out[ES_WHIRLPOOL_BYTES])
{
    uint8_t *b = w->buf;
    size_t n = w->buflen;

    /* Pad with one bit, then zeros up to 256 mod 512 bits, then the 256-bit
     * big-endian bit length. */
    b[n++] = 0x80;
    if (n > 32) {
        memset(b + n, 0, ES_WHIRLPOOL_BLOCK - n);
        compress(w->h, b, 1);
        n = 0;
    }
    memset(b + n, 0, 40 - n);
    store_be64(b + 40, w->len_hi >> 61);
    store_be64(b + 48, w->len_hi << 3 | w->len_lo >> 61);
    store_be64(b + 56, w->len_lo << 3);
    compress(w->h, b, 1);
    for (unsigned i = 0; i < 8; i++)
        store_be64(out + 8 * i, w->h[i]);
    sodium_memzero(w, sizeof *w);
}

void es_whirlpool(const uint8_t *in, size_t n, uint8_t out[ES_WHIRLPOOL_BYTES])
{
    es_whirlpool_ctx w;
    es_whirlpool_init(&w);
    es_whirlpool_update(&w, in, n);
    es_whirlpool_final(&w, out);
}
