/* SPDX-License-Identifier: ISC */
/* The retained secrets kept for one peer (PROFILE §12.6): a list in
 * guarded memory and the three changes a session makes to it. */
#include "online.h"

#include <stdlib.h>
#include <string.h>

void es_ol_rs_list_init(es_ol_rs_list *l)
{
    memset(l, 0, sizeof *l);
}

void es_ol_rs_list_clear(es_ol_rs_list *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].client);
    es_secret_free(l->v); /* wipes the secrets */
    es_ol_rs_list_init(l);
}

static esession_status grow(es_ol_rs_list *l)
{
    if (l->n < l->cap)
        return ESESSION_OK;
    if (l->cap >= ES_OL_RS_KEEP_MAX)
        return ESESSION_ERR_LIMIT;
    size_t cap = l->cap == 0 ? 4 : l->cap * 2;
    if (cap > ES_OL_RS_KEEP_MAX)
        cap = ES_OL_RS_KEEP_MAX;
    es_ol_rs *v = es_secret_alloc(cap * sizeof *v);
    if (v == NULL)
        return ESESSION_ERR_NO_MEMORY;
    memset(v, 0, cap * sizeof *v);
    if (l->n > 0)
        memcpy(v, l->v, l->n * sizeof *v);
    es_secret_free(l->v);
    l->v = v;
    l->cap = cap;
    return ESESSION_OK;
}

/* Insert a copy at position at (0..n). */
static esession_status insert(es_ol_rs_list *l, size_t at, const uint8_t *rs, size_t len,
                              int verified, int64_t created, const char *client)
{
    if (len == 0 || len > ES_HASH_MAX_BYTES || client == NULL || at > l->n)
        return ESESSION_ERR_INVALID_ARGUMENT;
    esession_status rc = grow(l);
    if (rc != ESESSION_OK)
        return rc;
    char *c = strdup(client);
    if (c == NULL)
        return ESESSION_ERR_NO_MEMORY;
    memmove(&l->v[at + 1], &l->v[at], (l->n - at) * sizeof l->v[0]);
    es_ol_rs *e = &l->v[at];
    memset(e, 0, sizeof *e);
    memcpy(e->rs, rs, len);
    e->len = len;
    e->verified = verified;
    e->created = created;
    e->client = c;
    l->n++;
    return ESESSION_OK;
}

esession_status es_ol_rs_append(es_ol_rs_list *l, const uint8_t *rs, size_t len, int verified,
                                int64_t created, const char *client)
{
    if (l == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    return insert(l, l->n, rs, len, verified, created, client);
}

esession_status es_ol_rs_list_copy(es_ol_rs_list *dst, const es_ol_rs_list *src)
{
    es_ol_rs_list tmp;
    es_ol_rs_list_init(&tmp);
    for (size_t i = 0; src != NULL && i < src->n; i++) {
        const es_ol_rs *e = &src->v[i];
        esession_status rc = es_ol_rs_append(&tmp, e->rs, e->len, e->verified, e->created,
                                             e->client);
        if (rc != ESESSION_OK) {
            es_ol_rs_list_clear(&tmp);
            return rc;
        }
    }
    *dst = tmp;
    return ESESSION_OK;
}

static void remove_at(es_ol_rs_list *l, size_t i)
{
    free(l->v[i].client);
    sodium_memzero(&l->v[i], sizeof l->v[i]);
    memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof l->v[0]);
    l->n--;
    sodium_memzero(&l->v[l->n], sizeof l->v[0]);
}

static int same(const es_ol_rs *e, const uint8_t *rs, size_t len)
{
    return e->len == len && es_ct_equal(e->rs, rs, len);
}

static size_t find(const es_ol_rs_list *l, const uint8_t *rs, size_t len)
{
    for (size_t i = 0; i < l->n; i++)
        if (same(&l->v[i], rs, len))
            return i;
    return l->n;
}

/* Drop every RS of client except the one equal to keep. */
static void keep_one(es_ol_rs_list *l, const char *client, const uint8_t *keep, size_t len)
{
    for (size_t i = l->n; i-- > 0;)
        if (strcmp(l->v[i].client, client) == 0 && !same(&l->v[i], keep, len))
            remove_at(l, i);
}

static esession_status store(es_ol_rs_list *l, const es_ol_rs_op *op)
{
    size_t at = op->has_srs ? find(l, op->srs, op->len) : l->n;
    esession_status rc;

    if (at < l->n) {
        /* Put the new RS where the SRS was; keep the SRS right after it as
         * the second candidate, or let it go. */
        rc = insert(l, at, op->rs, op->len, op->verified, op->created, op->client);
        if (rc != ESESSION_OK)
            return rc;
        if (!op->keep_candidate)
            remove_at(l, at + 1);
    } else {
        for (at = 0; at < l->n && strcmp(l->v[at].client, op->client) != 0; at++)
            ;
        rc = insert(l, at, op->rs, op->len, op->verified, op->created, op->client);
        if (rc != ESESSION_OK)
            return rc;
        if (at + 1 < l->n && strcmp(l->v[at + 1].client, op->client) == 0)
            remove_at(l, at + 1); /* the RS of that client it replaces */
    }
    if (!op->keep_candidate)
        keep_one(l, op->client, op->rs, op->len);
    return ESESSION_OK;
}

esession_status es_ol_rs_apply(es_ol_rs_list *l, const es_ol_rs_op *op)
{
    size_t i;
    if (l == NULL || op == NULL || op->len == 0 || op->len > ES_HASH_MAX_BYTES)
        return ESESSION_ERR_INVALID_ARGUMENT;
    switch (op->kind) {
    case ES_OL_RS_STORE:
        return store(l, op);
    case ES_OL_RS_CONFIRM:
        if (find(l, op->rs, op->len) < l->n)
            keep_one(l, op->client, op->rs, op->len);
        return ESESSION_OK;
    case ES_OL_RS_VERIFIED:
        if ((i = find(l, op->rs, op->len)) < l->n)
            l->v[i].verified = op->verified;
        return ESESSION_OK;
    }
    return ESESSION_ERR_INVALID_ARGUMENT;
}
