/* SPDX-License-Identifier: ISC */
/* Opaque named records of the session engine (a session's state), each a
 * record of its own: reading or writing one costs the same whatever else
 * the store holds. */
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

esession_status es_ks_blob_put_v(esession_keystore *ks, const char *name, const uint8_t *data,
                                 size_t len, uint64_t *version)
{
    size_t name_len;
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
    if ((rc = es_tx_begin(ks, 1)) != ESESSION_OK)
        return rc;
    rc = es_rec_put(ks, ES_REC_BLOB, name, name_len, NULL, data, len, version);
    return es_tx_end(ks, rc);
}

esession_status es_ks_blob_put(esession_keystore *ks, const char *name, const uint8_t *data,
                               size_t len)
{
    return es_ks_blob_put_v(ks, name, data, len, NULL);
}

esession_status es_ks_blob_get_v(esession_keystore *ks, const char *name, esession_buf *out,
                                 uint64_t *version)
{
    size_t name_len;
    esession_status rc;

    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if ((rc = check_name(ks->ctx, name, &name_len)) != ESESSION_OK)
        return rc;
    if (out == NULL)
        return es_fail(ks->ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL argument");
    if ((rc = es_tx_begin(ks, 0)) != ESESSION_OK)
        return rc;
    rc = es_rec_get(ks, ES_REC_BLOB, name, name_len, out, version);
    esession_status end = es_tx_end(ks, ESESSION_OK);
    return rc != ESESSION_OK ? rc : end;
}

esession_status es_ks_blob_get(esession_keystore *ks, const char *name, esession_buf *out)
{
    return es_ks_blob_get_v(ks, name, out, NULL);
}

esession_status es_ks_blob_version(esession_keystore *ks, const char *name, uint64_t *version)
{
    size_t name_len;
    esession_status rc;

    if (ks == NULL || version == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if ((rc = check_name(ks->ctx, name, &name_len)) != ESESSION_OK)
        return rc;
    if ((rc = es_tx_begin(ks, 0)) != ESESSION_OK)
        return rc;
    rc = es_rec_version(ks, ES_REC_BLOB, name, name_len, version);
    esession_status end = es_tx_end(ks, ESESSION_OK);
    return rc != ESESSION_OK ? rc : end;
}

esession_status es_ks_blob_delete(esession_keystore *ks, const char *name)
{
    size_t name_len;
    esession_status rc;

    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if ((rc = check_name(ks->ctx, name, &name_len)) != ESESSION_OK)
        return rc;
    if ((rc = es_tx_begin(ks, 1)) != ESESSION_OK)
        return rc;
    return es_tx_end(ks, es_rec_del(ks, ES_REC_BLOB, name, name_len));
}

typedef struct list_arg {
    const char *prefix;
    size_t plen;
    es_ks_blob_each each;
    void *arg;
} list_arg;

static esession_status list_one(void *p, const uint8_t *name, size_t name_len,
                                const uint8_t *data, size_t len, uint64_t version)
{
    list_arg *a = p;
    char copy[ES_BLOB_NAME_MAX + 1];
    if (name_len < a->plen || memcmp(name, a->prefix, a->plen) != 0)
        return ESESSION_OK;
    if (name_len > ES_BLOB_NAME_MAX || !es_ks_blob_name_ok((const char *)name, name_len))
        return ESESSION_ERR_CORRUPT;
    memcpy(copy, name, name_len);
    copy[name_len] = '\0';
    return a->each(a->arg, copy, data, len, version);
}

esession_status es_ks_blob_list(esession_keystore *ks, const char *prefix, es_ks_blob_each each,
                                void *arg)
{
    if (ks == NULL || prefix == NULL || each == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    list_arg a = {prefix, strlen(prefix), each, arg};
    esession_status rc = es_tx_begin(ks, 0);
    if (rc != ESESSION_OK)
        return rc;
    rc = es_rec_list(ks, ES_REC_BLOB, NULL, list_one, &a);
    esession_status end = es_tx_end(ks, ESESSION_OK);
    return rc != ESESSION_OK ? rc : end;
}
