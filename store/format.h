/* SPDX-License-Identifier: ISC */
/* Private to store/: the bounded readers of item payloads, shared by the
 * record decoders (format.c) and the earlier single-file body (legacy.c). */
#ifndef ESESSION_STORE_FORMAT_H
#define ESESSION_STORE_FORMAT_H

#include "../core/bytes.h"
#include "ks.h"

/* Each returns 0 (and leaves r bad) when the input is short or out of
 * bounds. */
int es_fmt_be(es_rd *r, unsigned n, uint64_t *v);
/* A u32-length-prefixed field of min..max octets. */
int es_fmt_bytes(es_rd *r, size_t min, size_t max, const uint8_t **data, size_t *n);
/* A u32 count of at most max items of at least item_min octets each. */
int es_fmt_count(es_rd *r, size_t max, size_t item_min, size_t *count);
/* A NUL-terminated malloc'ed copy (NULL when out of memory). */
char *es_fmt_text(const uint8_t *p, size_t n);

/* One item, as laid out in a payload or in the earlier body. */
esession_status es_fmt_key(esession_ctx *ctx, es_rd *r, es_ks_key **out);
esession_status es_fmt_trust(esession_ctx *ctx, es_rd *r, es_ks_trust **out);
/* An option set up to its form (the replay part differs between forms). */
esession_status es_fmt_optset(esession_ctx *ctx, es_rd *r, es_ks_optset **out);

#endif
