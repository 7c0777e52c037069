/* SPDX-License-Identifier: ISC */
/* The library context: host operations and error detail. */
#include "core.h"

#include "../crypto/modexp.h"

#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

esession_status esession_ctx_new(esession_ctx **out, const esession_ctx_options *opt,
                                 int major, int minor)
{
    if (out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    /* Same major, and a header no newer than the library. */
    if (major != ESESSION_VERSION_MAJOR || minor > ESESSION_VERSION_MINOR)
        return ESESSION_ERR_VERSION;
    if (opt != NULL && opt->version != ESESSION_CTX_OPTIONS_VERSION)
        return ESESSION_ERR_VERSION;
    if (opt != NULL && opt->dh_backend != ESESSION_DH_DEFAULT && opt->dh_backend != ESESSION_DH_GMP &&
        opt->dh_backend != ESESSION_DH_OPENSSL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (sodium_init() < 0)
        return ESESSION_ERR_INTERNAL;
    /* libxml2 2.9's one-time set-up is not safe against a first call from
     * two threads at once; do it here, where callers create contexts. */
    xmlInitParser();

    esession_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return ESESSION_ERR_NO_MEMORY;
    if ((ctx->arena = es_arena_new()) == NULL || (ctx->crypto = es_crypto_cache_new()) == NULL) {
        es_arena_release(ctx->arena);
        free(ctx);
        return ESESSION_ERR_NO_MEMORY;
    }
    ctx->dh_backend = ESESSION_DH_OPENSSL; /* the default (docs/performance.md) */
    if (opt != NULL) {
        if (opt->ops != NULL)
            ctx->ops = *opt->ops;
        ctx->user = opt->user;
        if (opt->dh_backend != ESESSION_DH_DEFAULT)
            ctx->dh_backend = opt->dh_backend;
    }
    *out = ctx;
    return ESESSION_OK;
}

void esession_ctx_free(esession_ctx *ctx)
{
    if (ctx == NULL)
        return;
    es_arena_release(ctx->arena); /* gone once its last block is freed */
    es_crypto_cache_free(ctx->crypto);
    sodium_memzero(ctx, sizeof *ctx);
    free(ctx);
}

const char *esession_ctx_error_detail(const esession_ctx *ctx)
{
    return ctx != NULL ? ctx->detail : "";
}

esession_status es_fail(esession_ctx *ctx, esession_status code, const char *fmt, ...)
{
    if (ctx != NULL && fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->detail, sizeof ctx->detail, fmt, ap);
        va_end(ap);
    }
    return code;
}

void es_clear_detail(esession_ctx *ctx)
{
    if (ctx != NULL)
        ctx->detail[0] = '\0';
}

esession_status es_random(esession_ctx *ctx, uint8_t *buf, size_t len)
{
    if (len == 0)
        return ESESSION_OK;
    if (ctx != NULL && ctx->ops.random != NULL) {
        if (ctx->ops.random(ctx->user, buf, len) != 0) {
            sodium_memzero(buf, len);
            return es_fail(ctx, ESESSION_ERR_RANDOM, "host random source failed");
        }
        return ESESSION_OK;
    }
    randombytes_buf(buf, len);
    return ESESSION_OK;
}

int64_t es_now(const esession_ctx *ctx)
{
    if (ctx != NULL && ctx->ops.now != NULL)
        return ctx->ops.now(ctx->user);
    return (int64_t)time(NULL);
}

int es_ct_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
    int r = sodium_memcmp(a, b, len);
    ES_DECLASSIFY(&r, sizeof r); /* the verdict is the caller's to act on */
    return r == 0;
}
