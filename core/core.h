/* SPDX-License-Identifier: ISC */
/* Internal foundation shared by every module: the context, error detail,
 * randomness, time, wiping and library-owned buffers. */
#ifndef ESESSION_CORE_H
#define ESESSION_CORE_H

#include "esession.h"

#include <sodium.h>
#include <stdarg.h>

#define ES_DETAIL_MAX 256

struct esession_ctx {
    esession_host_ops ops;
    void *user;
    esession_dh_backend dh_backend;
    char detail[ES_DETAIL_MAX];
};

/* Wipe an object or array in place (not a pointer's target). */
#define ES_WIPE(x) sodium_memzero(&(x), sizeof(x))

/* A number macro as a string literal. */
#define ES_STR_(x) #x
#define ES_STR(x) ES_STR_(x)

#define ES_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Record a failure reason in ctx (if non-NULL) and return code. The detail
 * must never contain secret bytes. */
esession_status es_fail(esession_ctx *ctx, esession_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Clear ctx's detail at the start of a public call. */
void es_clear_detail(esession_ctx *ctx);

/* Random octets from the host source (libsodium by default). */
esession_status es_random(esession_ctx *ctx, uint8_t *buf, size_t len);

/* Seconds since the epoch from the host clock. */
int64_t es_now(const esession_ctx *ctx);

/* Constant-time equality of two equal-length buffers: 1 if equal. */
int es_ct_equal(const uint8_t *a, const uint8_t *b, size_t len);

/* Library-owned buffers. es_buf_alloc reserves len+1 octets (NUL added by
 * the caller or left zero); secret buffers live in sodium_malloc memory. */
esession_status es_buf_alloc(esession_buf *b, size_t len, int secret);
/* Copy len octets (plus a NUL) into a fresh buffer. */
esession_status es_buf_set(esession_buf *b, const void *data, size_t len, int secret);

/* Secret scratch memory: sodium_malloc'ed, wiped on free. */
/* Stable sort of n items of `size` octets each by order[i] (reordered
 * alongside). ESESSION_ERR_NO_MEMORY leaves them as they were. */
esession_status es_sort_by_order(void *items, size_t size, uint64_t *order, size_t n);

void *es_secret_alloc(size_t len);
void es_secret_free(void *p);

#endif
