/* SPDX-License-Identifier: ISC */
/* Opaque named records of the session engine, kept in guarded memory and
 * encrypted with the rest of the keystore. */
#include "ks.h"

#include <stdlib.h>
#include <string.h>

static esession_status check_name(esession_ctx *ctx, const char *name, size_t *len)
{
    if (name == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL record name");
    size_t n = strnlen(name, ES_BLOB_NAME_MAX + 1);
    if (n > ES_BLOB_NAME_MAX)
        return es_fail(ctx, ESESSION_ERR_LIMIT, "record name longer than %u octets",
                       ES_BLOB_NAME_MAX);
    if (!es_ks_blob_name_ok(name, n))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "empty record name");
    *len = n;
    return ESESSION_OK;
}

static int find(const esession_keystore *ks, const char *name, size_t len, size_t *index)
{
    for (size_t i = 0; i < ks->blobs.n; i++) {
        const es_ks_blob *b = ks->blobs.v[i];
        if (b->name_len == len && memcmp(b->name, name, len) == 0) {
            *index = i;
            return 1;
        }
    }
    return 0;
}

/* Replace the data of an existing record. */
static esession_status replace(esession_keystore *ks, es_ks_blob *b, const uint8_t *data,
                               size_t len)
{
    esession_buf fresh;
    esession_status rc = es_buf_set(&fresh, data, len, 1);
    if (rc != ESESSION_OK)
        return es_fail(ks->ctx, rc, "out of memory");
    esession_buf old = b->data;
    b->data = fresh;
    rc = es_ks_persist(ks);
    if (rc != ESESSION_OK) {
        b->data = old;
        esession_buf_free(&fresh);
        return rc;
    }
    esession_buf_free(&old);
    return ESESSION_OK;
}

esession_status es_ks_blob_put(esession_keystore *ks, const char *name, const uint8_t *data,
                               size_t len)
{
    size_t name_len, at;
    esession_status rc;

    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if ((rc = check_name(ks->ctx, name, &name_len)) != ESESSION_OK)
        return rc;
    if (data == NULL && len > 0)
        return es_fail(ks->ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL data");
    if (len > ES_BLOB_MAX)
        return es_fail(ks->ctx, ESESSION_ERR_LIMIT, "record longer than %u octets",
                       ES_BLOB_MAX);
    if (find(ks, name, name_len, &at))
        return replace(ks, ks->blobs.v[at], data, len);

    if ((rc = es_ks_reserve(ks->ctx, &ks->blobs, ES_KS_MAX_BLOBS, "records")) != ESESSION_OK)
        return rc;
    es_ks_blob *b = calloc(1, sizeof *b);
    if (b == NULL)
        return es_fail(ks->ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    b->name = malloc(name_len + 1);
    if (b->name == NULL || es_buf_set(&b->data, data, len, 1) != ESESSION_OK) {
        es_ks_blob_free(b);
        return es_fail(ks->ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    }
    memcpy(b->name, name, name_len + 1);
    b->name_len = name_len;
    es_vec_push(&ks->blobs, b);
    rc = es_ks_persist(ks);
    if (rc != ESESSION_OK) {
        (void)es_vec_pop(&ks->blobs);
        es_ks_blob_free(b);
    }
    return rc;
}

esession_status es_ks_blob_get(const esession_keystore *ks, const char *name, esession_buf *out)
{
    size_t name_len, at;
    esession_status rc;

    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if ((rc = check_name(ks->ctx, name, &name_len)) != ESESSION_OK)
        return rc;
    if (out == NULL)
        return es_fail(ks->ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL argument");
    if (!find(ks, name, name_len, &at))
        return es_fail(ks->ctx, ESESSION_ERR_NO_SESSION, "no record with this name");
    const es_ks_blob *b = ks->blobs.v[at];
    rc = es_buf_set(out, b->data.data, b->data.len, 1);
    if (rc != ESESSION_OK)
        return es_fail(ks->ctx, rc, "out of memory");
    return ESESSION_OK;
}

esession_status es_ks_blob_delete(esession_keystore *ks, const char *name)
{
    size_t name_len, at;
    esession_status rc;

    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if ((rc = check_name(ks->ctx, name, &name_len)) != ESESSION_OK)
        return rc;
    if (!find(ks, name, name_len, &at))
        return ESESSION_OK;
    void *b = es_vec_take(&ks->blobs, at);
    rc = es_ks_persist(ks);
    if (rc != ESESSION_OK) {
        es_vec_put_back(&ks->blobs, at, b);
        return rc;
    }
    es_ks_blob_free(b);
    return ESESSION_OK;
}

static int has_prefix(const es_ks_blob *b, const char *prefix, size_t plen)
{
    return plen == 0 || (b->name_len >= plen && memcmp(b->name, prefix, plen) == 0);
}

size_t es_ks_blob_count(const esession_keystore *ks, const char *prefix)
{
    size_t n = 0;
    if (ks == NULL)
        return 0;
    size_t plen = prefix != NULL ? strlen(prefix) : 0;
    for (size_t i = 0; i < ks->blobs.n; i++)
        n += has_prefix(ks->blobs.v[i], prefix, plen) ? 1u : 0u;
    return n;
}

const char *es_ks_blob_name_at(const esession_keystore *ks, const char *prefix, size_t index)
{
    if (ks == NULL)
        return NULL;
    size_t plen = prefix != NULL ? strlen(prefix) : 0;
    for (size_t i = 0; i < ks->blobs.n; i++) {
        const es_ks_blob *b = ks->blobs.v[i];
        if (has_prefix(b, prefix, plen) && index-- == 0)
            return b->name;
    }
    return NULL;
}
