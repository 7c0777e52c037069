/* SPDX-License-Identifier: ISC */
/* Buffers handed to the caller, and secret scratch memory. */
#include "core.h"

#include <stdlib.h>
#include <string.h>

void *es_secret_alloc(size_t len)
{
    return es_arena_alloc(NULL, len);
}

void *es_secret_alloc_in(const esession_ctx *ctx, size_t len)
{
    return es_arena_alloc(ctx != NULL ? ctx->arena : NULL, len);
}

void es_secret_free(void *p)
{
    es_arena_free(p); /* wipes; NULL-safe */
}

void *es_guarded_alloc(size_t len)
{
    /* sodium_malloc needs sodium_init (idempotent, thread-safe) even when
     * no context was created yet. */
    if (sodium_init() < 0)
        return NULL;
    return sodium_malloc(len == 0 ? 1 : len);
}

void es_guarded_free(void *p)
{
    sodium_free(p); /* wipes before unmapping; NULL-safe */
}

esession_status es_buf_alloc_in(const esession_ctx *ctx, esession_buf *b, size_t len,
                                int secret)
{
    if (len == SIZE_MAX)
        return ESESSION_ERR_LIMIT;
    char *p = secret ? es_secret_alloc_in(ctx, len + 1) : malloc(len + 1);
    if (p == NULL)
        return ESESSION_ERR_NO_MEMORY;
    if (!secret)
        memset(p, 0, len + 1); /* secret memory comes zeroed */
    b->data = p;
    b->len = len;
    b->secret = secret ? 1u : 0u;
    return ESESSION_OK;
}

esession_status es_buf_alloc(esession_buf *b, size_t len, int secret)
{
    return es_buf_alloc_in(NULL, b, len, secret);
}

esession_status es_buf_set(esession_buf *b, const void *data, size_t len, int secret)
{
    return es_buf_set_in(NULL, b, data, len, secret);
}

esession_status es_buf_set_in(const esession_ctx *ctx, esession_buf *b, const void *data,
                              size_t len, int secret)
{
    esession_buf tmp;
    esession_status rc = es_buf_alloc_in(ctx, &tmp, len, secret);
    if (rc != ESESSION_OK)
        return rc;
    if (len > 0)
        memcpy(tmp.data, data, len);
    *b = tmp;
    return ESESSION_OK;
}

void esession_buf_free(esession_buf *b)
{
    if (b == NULL || b->data == NULL)
        return;
    if (b->secret) {
        es_secret_free(b->data);
    } else {
        sodium_memzero(b->data, b->len);
        free(b->data);
    }
    b->data = NULL;
    b->len = 0;
    b->secret = 0;
}
