/* SPDX-License-Identifier: ISC */
/* Arrays of owned item pointers, with the undo steps a failed write needs. */
#include "ks.h"

#include <stdlib.h>
#include <string.h>

esession_status es_vec_reserve(es_vec *vec, size_t max)
{
    if (vec->n >= max)
        return ESESSION_ERR_LIMIT;
    if (vec->n < vec->cap)
        return ESESSION_OK;
    size_t cap = vec->cap == 0 ? 8 : vec->cap * 2;
    if (cap > max)
        cap = max;
    void **v = realloc(vec->v, cap * sizeof *v);
    if (v == NULL)
        return ESESSION_ERR_NO_MEMORY;
    vec->v = v;
    vec->cap = cap;
    return ESESSION_OK;
}

void es_vec_push(es_vec *vec, void *item)
{
    vec->v[vec->n++] = item;
}

void *es_vec_pop(es_vec *vec)
{
    return vec->v[--vec->n];
}

void *es_vec_take(es_vec *vec, size_t i)
{
    void *item = vec->v[i];
    memmove(&vec->v[i], &vec->v[i + 1], (vec->n - i - 1) * sizeof *vec->v);
    vec->n--;
    return item;
}

void es_vec_put_back(es_vec *vec, size_t i, void *item)
{
    memmove(&vec->v[i + 1], &vec->v[i], (vec->n - i) * sizeof *vec->v);
    vec->v[i] = item;
    vec->n++;
}

void es_vec_free(es_vec *vec, void (*item_free)(void *))
{
    for (size_t i = 0; i < vec->n; i++)
        item_free(vec->v[i]);
    free(vec->v);
    vec->v = NULL;
    vec->n = 0;
    vec->cap = 0;
}

esession_status es_ks_reserve(esession_ctx *ctx, es_vec *vec, size_t max, const char *what)
{
    esession_status rc = es_vec_reserve(vec, max);
    if (rc == ESESSION_ERR_LIMIT)
        return es_fail(ctx, rc, "cannot hold more than %zu %s", max, what);
    if (rc != ESESSION_OK)
        return es_fail(ctx, rc, "out of memory");
    return ESESSION_OK;
}
