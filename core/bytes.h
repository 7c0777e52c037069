/* SPDX-License-Identifier: ISC */
/* Big-endian writing and reading of the stored records (keystore body,
 * Bob's and Alice's session records). Both sides keep going after a fault
 * and remember it, so a format is written or read as straight-line code
 * and checked once at the end. */
#ifndef ESESSION_BYTES_H
#define ESESSION_BYTES_H

#include <stddef.h>
#include <stdint.h>

/* With p == NULL only counts; err is set, and stays, once anything would
 * pass cap. */
typedef struct es_wr {
    uint8_t *p;
    size_t pos;
    size_t cap;
    int err;
} es_wr;

void es_wr_put(es_wr *w, const void *data, size_t n);
/* v in n octets (1..8), most significant first. */
void es_wr_be(es_wr *w, uint64_t v, unsigned n);

/* bad is set, and stays, once anything is short. */
typedef struct es_rd {
    const uint8_t *p;
    size_t len;
    size_t pos;
    int bad;
} es_rd;

/* The next n octets, or NULL (and bad) if fewer remain. */
const uint8_t *es_rd_take(es_rd *r, size_t n);
/* An n-octet (1..8) big-endian number; 0 (and bad) if short. */
uint64_t es_rd_be(es_rd *r, unsigned n);

/* v into n octets (1..8) at p, most significant first; and back. */
void es_be_put(uint8_t *p, uint64_t v, unsigned n);
uint64_t es_be_get(const uint8_t *p, unsigned n);

/* n octets as 2n lowercase hex digits and a NUL (out: 2n + 1 octets). */
void es_hex(char *out, const uint8_t *in, size_t n);

#endif
