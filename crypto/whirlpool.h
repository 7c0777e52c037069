/* SPDX-License-Identifier: ISC */
/* Whirlpool, final 2003 version (ISO/IEC 10118-3). Private to crypto/: the
 * rest of the library reaches it through hash.h. */
#ifndef ESESSION_WHIRLPOOL_H
#define ESESSION_WHIRLPOOL_H

#include <stddef.h>
#include <stdint.h>

#define ES_WHIRLPOOL_BYTES 64
#define ES_WHIRLPOOL_BLOCK 64

/* Plain data: a state may be copied by assignment (HMAC keeps its inner and
 * outer states that way). */
typedef struct es_whirlpool_ctx {
    uint64_t h[8];
    uint64_t len_lo, len_hi; /* octets hashed so far, 128 bits */
    uint8_t buf[ES_WHIRLPOOL_BLOCK];
    size_t buflen;
} es_whirlpool_ctx;

void es_whirlpool_init(es_whirlpool_ctx *w);
void es_whirlpool_update(es_whirlpool_ctx *w, const uint8_t *in, size_t n);
/* Writes the digest and wipes w (init again to reuse it). */
void es_whirlpool_final(es_whirlpool_ctx *w, uint8_t out[ES_WHIRLPOOL_BYTES]);
/* One-shot; the state lives on the stack and is wiped. */
void es_whirlpool(const uint8_t *in, size_t n, uint8_t out[ES_WHIRLPOOL_BYTES]);

#endif
