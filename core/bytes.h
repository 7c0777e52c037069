/* SPDX-License-Identifier: ISC */
/* Big-endian writing and reading of the stored records (keystore body,
 * Bob's and Alice's session records). Both sides keep going after a fault
 * and remember it, so a format is written or read as straight-line code
 * and checked once at the end. */
#ifndef ESESSION_BYTES_H
#define ESESSION_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* With p == NULL only counts; err is set, and stays, once anything would
 * pass cap. */
typedef struct es_wr {
    uint8_t *p;
    size_t pos;
    size_t cap;
    int err;
} es_wr;

/* Inline: records are written and read a field at a time, mostly with
 * constant widths, which then compile to a byte swap and a store or load. */

/* v into n octets (1..8) at p, most significant first; and back. */
static inline void es_be_put(uint8_t *p, uint64_t v, unsigned n)
{
    if (n == 8u) { /* spelt out: compilers make it one byte swap and store */
        p[0] = (uint8_t)(v >> 56);
        p[1] = (uint8_t)(v >> 48);
        p[2] = (uint8_t)(v >> 40);
        p[3] = (uint8_t)(v >> 32);
        p[4] = (uint8_t)(v >> 24);
        p[5] = (uint8_t)(v >> 16);
        p[6] = (uint8_t)(v >> 8);
        p[7] = (uint8_t)v;
        return;
    }
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8u * (n - 1u - i)));
}

static inline uint64_t es_be_get(const uint8_t *p, unsigned n)
{
    if (n == 8u)
        return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 |
               (uint64_t)p[3] << 32 | (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
               (uint64_t)p[6] << 8 | p[7];
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static inline void es_wr_put(es_wr *w, const void *data, size_t n)
{
    if (w->err || n > w->cap - w->pos) {
        w->err = 1;
        return;
    }
    if (w->p != NULL && n > 0)
        memcpy(w->p + w->pos, data, n);
    w->pos += n;
}

/* v in n octets (1..8), most significant first. */
static inline void es_wr_be(es_wr *w, uint64_t v, unsigned n)
{
    unsigned m = n <= 8u ? n : 8u;
    if (w->err || m > w->cap - w->pos) {
        w->err = 1;
        return;
    }
    if (w->p != NULL)
        es_be_put(w->p + w->pos, v, m);
    w->pos += m;
}

/* bad is set, and stays, once anything is short. */
typedef struct es_rd {
    const uint8_t *p;
    size_t len;
    size_t pos;
    int bad;
} es_rd;

/* The next n octets, or NULL (and bad) if fewer remain. */
static inline const uint8_t *es_rd_take(es_rd *r, size_t n)
{
    if (r->bad || n > r->len - r->pos) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *p = r->p + r->pos;
    r->pos += n;
    return p;
}

/* An n-octet (1..8) big-endian number; 0 (and bad) if short. */
static inline uint64_t es_rd_be(es_rd *r, unsigned n)
{
    const uint8_t *b = es_rd_take(r, n);
    return b != NULL ? es_be_get(b, n) : 0;
}

/* n octets as 2n lowercase hex digits and a NUL (out: 2n + 1 octets). */
void es_hex(char *out, const uint8_t *in, size_t n);

/* The strings parts[0..n) one after the other into out (cap octets, cap >
 * 0), cut to cap - 1 octets and ended by a NUL, as snprintf("%s%s...")
 * would, without its format parsing; returns the whole length. */
size_t es_join(char *out, size_t cap, const char *const *parts, size_t n);

#endif
