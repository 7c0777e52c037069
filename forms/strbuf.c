/* SPDX-License-Identifier: ISC */
/* Growable output buffer; a secret one never leaves a copy behind. */
#include "strbuf.h"

#include <stdlib.h>
#include <string.h>

void es_sb_init(es_sb *b, size_t max, int secret)
{
    es_sb_init_in(b, NULL, max, secret);
}

void es_sb_init_in(es_sb *b, const esession_ctx *ctx, size_t max, int secret)
{
    b->ctx = ctx;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->secret = secret ? 1 : 0;
    b->status = ESESSION_OK;
}

static void sb_release(char *p, size_t cap, int secret)
{
    if (p == NULL)
        return;
    if (secret) {
        es_secret_free(p);
    } else {
        sodium_memzero(p, cap);
        free(p);
    }
}

/* Make room for need octets plus a NUL. */
static int sb_reserve(es_sb *b, size_t need)
{
    if (need <= b->cap && b->data != NULL)
        return 0;
    size_t cap = b->cap < 64 ? 64 : b->cap;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            b->status = ESESSION_ERR_LIMIT;
            return -1;
        }
        cap *= 2;
    }
    if (cap > b->max + 1)
        cap = b->max + 1;
    char *p = b->secret ? es_secret_alloc_in(b->ctx, cap) : malloc(cap);
    if (p == NULL) {
        b->status = ESESSION_ERR_NO_MEMORY;
        return -1;
    }
    if (b->len > 0)
        memcpy(p, b->data, b->len);
    sb_release(b->data, b->cap, b->secret);
    b->data = p;
    b->cap = cap;
    return 0;
}

void es_sb_put(es_sb *b, const char *s, size_t n)
{
    if (b->status != ESESSION_OK || n == 0)
        return;
    if (n > b->max || b->len > b->max - n) {
        b->status = ESESSION_ERR_LIMIT;
        return;
    }
    if (sb_reserve(b, b->len + n + 1) != 0)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

void es_sb_puts(es_sb *b, const char *s)
{
    es_sb_put(b, s, strlen(s));
}

esession_status es_sb_finish(es_sb *b, esession_buf *out)
{
    if (b->status == ESESSION_OK)
        (void)sb_reserve(b, b->len + 1);
    if (b->status != ESESSION_OK) {
        esession_status rc = b->status;
        es_sb_free(b);
        return rc;
    }
    b->data[b->len] = '\0';
    out->data = b->data;
    out->len = b->len;
    out->secret = (unsigned)b->secret;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return ESESSION_OK;
}

void es_sb_free(es_sb *b)
{
    sb_release(b->data, b->cap, b->secret);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

static void put_sink(void *b, const char *p, size_t n)
{
    es_sb_put(b, p, n);
}

void es_sb_put_escaped(es_sb *b, const char *s, unsigned flags)
{
    es_xml_escape(s, strlen(s), flags, put_sink, b);
}
