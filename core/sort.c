/* SPDX-License-Identifier: ISC */
/* Items ordered by a key each (the version of the record they came from,
 * a creation time): listings come out of the store in the order of their
 * keyed ids, which means nothing. */
#include "core.h"

#include <stdlib.h>
#include <string.h>

esession_status es_sort_by_order(void *items, size_t size, uint64_t *order, size_t n)
{
    uint8_t *v = items;
    if (n < 2)
        return ESESSION_OK;
    uint8_t *tmp = malloc(size);
    if (tmp == NULL)
        return ESESSION_ERR_NO_MEMORY;
    /* Insertion sort: stable, and the lists are short. */
    for (size_t i = 1; i < n; i++) {
        uint64_t key = order[i];
        size_t j = i;
        memcpy(tmp, v + i * size, size);
        for (; j > 0 && order[j - 1] > key; j--) {
            memcpy(v + j * size, v + (j - 1) * size, size);
            order[j] = order[j - 1];
        }
        memcpy(v + j * size, tmp, size);
        order[j] = key;
    }
    free(tmp);
    return ESESSION_OK;
}

void *es_order_grow(void *items, size_t size, uint64_t **order, size_t *cap)
{
    size_t c = *cap ? 2 * *cap : 16;
    /* The order first: should the items fail, it is only larger. */
    uint64_t *o = realloc(*order, c * sizeof *o);
    if (o == NULL)
        return NULL;
    *order = o;
    void *v = realloc(items, c * size);
    if (v != NULL)
        *cap = c;
    return v;
}
