/* SPDX-License-Identifier: ISC */
/* Internal foundation shared by every module: the context, error detail,
 * randomness, time, wiping and library-owned buffers. */
#ifndef ESESSION_CORE_H
#define ESESSION_CORE_H

#include "esession.h"

#include <sodium.h>
#include <stdarg.h>

#define ES_DETAIL_MAX 256

typedef struct es_arena es_arena;
typedef struct es_crypto_cache es_crypto_cache;

struct esession_ctx {
    esession_host_ops ops;
    void *user;
    esession_dh_backend dh_backend;
    es_arena *arena; /* the context's pool of secret memory (core/arena.c) */
    es_crypto_cache *crypto; /* MODP groups, digests, verifiers: set up once (crypto/ctx_cache.c) */
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

/* `make ct` builds the library with ES_CT_CHECK and runs it under
 * valgrind's memcheck with its secrets marked undefined: what is public by
 * design, though computed from secrets (a verdict), is declared so here. */
#if defined(ES_CT_CHECK)
#include <valgrind/memcheck.h>
#define ES_DECLASSIFY(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))
#else
#define ES_DECLASSIFY(p, n) ((void)(p), (void)(n))
#endif

/* Library-owned buffers. es_buf_alloc reserves len+1 octets (NUL added by
 * the caller or left zero); secret buffers live in secret memory (below),
 * in ctx's pool for the _in forms. */
esession_status es_buf_alloc(esession_buf *b, size_t len, int secret);
esession_status es_buf_alloc_in(const esession_ctx *ctx, esession_buf *b, size_t len,
                                int secret);
/* Copy len octets (plus a NUL) into a fresh buffer. */
esession_status es_buf_set(esession_buf *b, const void *data, size_t len, int secret);
esession_status es_buf_set_in(const esession_ctx *ctx, esession_buf *b, const void *data,
                              size_t len, int secret);

/* Stable sort of n items of `size` octets each by order[i] (reordered
 * alongside). ESESSION_ERR_NO_MEMORY leaves them as they were. */
esession_status es_sort_by_order(void *items, size_t size, uint64_t *order, size_t n);
/* Such a list grown (when full): *order and the items (of `size` octets
 * each) to twice *cap. Returns the items' new place, or NULL when out of
 * memory, the list then as it was (*order may have moved). */
void *es_order_grow(void *items, size_t size, uint64_t **order, size_t *cap);

/* Secret memory: locked, out of core dumps, zero when handed out, wiped
 * when freed. es_secret_alloc_in draws from ctx's pool (no system call
 * once the pool has room); es_secret_alloc (or a NULL ctx) maps a region
 * of its own with guard pages. es_secret_free takes either, from any
 * thread, and NULL. */
void *es_secret_alloc(size_t len);
void *es_secret_alloc_in(const esession_ctx *ctx, size_t len);
void es_secret_free(void *p);

/* A key that is kept without access between uses (sodium_mprotect_*):
 * always a region of its own; free it with es_guarded_free. */
void *es_guarded_alloc(size_t len);
void es_guarded_free(void *p);

/* The pools (core/arena.c). release: the context is going; the pool goes
 * with its last block. */
es_arena *es_arena_new(void);
void es_arena_release(es_arena *a);
void *es_arena_alloc(es_arena *a, size_t len);
void es_arena_free(void *p);

#endif
