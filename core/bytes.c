/* SPDX-License-Identifier: ISC */
/* Big-endian writing and reading of stored records. */
#include "bytes.h"

#include <string.h>

void es_wr_put(es_wr *w, const void *data, size_t n)
{
    if (w->err || n > w->cap - w->pos) {
        w->err = 1;
        return;
    }
    if (w->p != NULL && n > 0)
        memcpy(w->p + w->pos, data, n);
    w->pos += n;
}

void es_wr_be(es_wr *w, uint64_t v, unsigned n)
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

const uint8_t *es_rd_take(es_rd *r, size_t n)
{
    if (r->bad || n > r->len - r->pos) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *p = r->p + r->pos;
    r->pos += n;
    return p;
}

uint64_t es_rd_be(es_rd *r, unsigned n)
{
    const uint8_t *b = es_rd_take(r, n);
    if (b == NULL)
        return 0;
    if (n <= 8u)
        return es_be_get(b, n);
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = (v << 8) | b[i];
    return v;
}

/* Eight octets (most of what records hold) spelt out, which compilers
 * turn into one byte swap and one load or store. */
void es_be_put(uint8_t *p, uint64_t v, unsigned n)
{
    if (n == 8u) {
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

uint64_t es_be_get(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    if (n == 8u)
        return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 |
               (uint64_t)p[3] << 32 | (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
               (uint64_t)p[6] << 8 | p[7];
    for (unsigned i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

void es_hex(char *out, const uint8_t *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}
