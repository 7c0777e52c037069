/* SPDX-License-Identifier: ISC */
/* Opaque named records of the session engine (a session's state), each a
 * record of its own: reading or writing one costs the same whatever else
 * the store holds. Those under the queue's prefixes (store.h) are of kind
 * ES_REC_QUEUE, the others ES_REC_BLOB; a store whose generation record
 * is older than format 2 may still hold queue records as ES_REC_BLOB, and
 * its first write moves them (es_ks_queue_upgrade). */
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

static const char *const queue_prefixes[] = {ES_KS_OUTBOX_PREFIX, ES_KS_INBOX_PREFIX};

static int starts_with(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(s, prefix, n) == 0;
}

es_rec_kind es_ks_blob_kind(const char *name, size_t len)
{
    for (size_t i = 0; i < ES_ARRAY_LEN(queue_prefixes); i++)
        if (starts_with(name, len, queue_prefixes[i]))
            return ES_REC_QUEUE;
    return ES_REC_BLOB;
}

/* Queue records still kept as engine records: a store not yet upgraded. */
static int queue_in_blobs(const esession_keystore *ks)
{
    return ks->gens_format < ES_KS_GENS_FORMAT_QUEUE;
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
    rc = es_rec_put(ks, es_ks_blob_kind(name, name_len), name, name_len, NULL, data, len, version);
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
    es_rec_kind kind = es_ks_blob_kind(name, name_len);
    rc = es_rec_get(ks, kind, name, name_len, out, version);
    if (rc == ESESSION_ERR_NO_SESSION && kind == ES_REC_QUEUE && queue_in_blobs(ks))
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
    es_rec_kind kind = es_ks_blob_kind(name, name_len);
    rc = es_rec_version(ks, kind, name, name_len, version);
    if (rc == ESESSION_ERR_NO_SESSION && kind == ES_REC_QUEUE && queue_in_blobs(ks))
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
    return es_tx_end(ks, es_rec_del(ks, es_ks_blob_kind(name, name_len), name, name_len));
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

/* Does some name under a begin with b, or some name under b with a? */
static int overlap(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    return memcmp(a, b, na < nb ? na : nb) == 0;
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
    /* Only the kinds that can hold such names are read: the queue's
     * records are not decrypted to list sessions, nor the sessions' to
     * list the queue. */
    int queue = 0;
    for (size_t i = 0; i < ES_ARRAY_LEN(queue_prefixes); i++)
        queue |= overlap(prefix, queue_prefixes[i]);
    int blobs = es_ks_blob_kind(prefix, a.plen) == ES_REC_BLOB || queue_in_blobs(ks);
    if (queue)
        rc = es_rec_list(ks, ES_REC_QUEUE, NULL, list_one, &a);
    if (rc == ESESSION_OK && blobs)
        rc = es_rec_list(ks, ES_REC_BLOB, NULL, list_one, &a);
    esession_status end = es_tx_end(ks, ESESSION_OK);
    return rc != ESESSION_OK ? rc : end;
}

/* ---- the upgrade to format 2 ----------------------------------------- */

typedef struct held {
    char *name;
    esession_buf data; /* secret */
} held;

typedef struct moved {
    esession_ctx *ctx;
    held *v;
    uint64_t *version; /* as written: the queue's order, kept */
    size_t n, cap;
} moved;

static esession_status take_queue_record(void *p, const uint8_t *name, size_t name_len,
                                         const uint8_t *data, size_t len, uint64_t version)
{
    moved *m = p;
    if (es_ks_blob_kind((const char *)name, name_len) != ES_REC_QUEUE)
        return ESESSION_OK;
    if (m->n == m->cap) {
        held *v = es_order_grow(m->v, sizeof *v, &m->version, &m->cap);
        if (v == NULL)
            return es_fail(m->ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
        m->v = v;
    }
    held h = {malloc(name_len + 1), {NULL, 0, 0}};
    if (h.name == NULL || es_buf_set_in(m->ctx, &h.data, data, len, 1) != ESESSION_OK) {
        free(h.name);
        return es_fail(m->ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    }
    memcpy(h.name, name, name_len);
    h.name[name_len] = '\0';
    m->version[m->n] = version;
    m->v[m->n++] = h;
    return ESESSION_OK;
}

esession_status es_ks_queue_upgrade(esession_keystore *ks)
{
    moved m = {ks->ctx, NULL, NULL, 0, 0};
    if (!queue_in_blobs(ks))
        return ESESSION_OK;
    esession_status rc = es_rec_list(ks, ES_REC_BLOB, NULL, take_queue_record, &m);
    for (size_t i = 0; i < m.n; i++) {
        size_t n = strlen(m.v[i].name);
        if (rc == ESESSION_OK)
            rc = es_rec_del(ks, ES_REC_BLOB, m.v[i].name, n);
        if (rc == ESESSION_OK)
            rc = es_rec_put_at(ks, ES_REC_QUEUE, m.v[i].name, n, m.v[i].data.data,
                               m.v[i].data.len, m.version[i]);
        free(m.v[i].name);
        esession_buf_free(&m.v[i].data);
    }
    free(m.v);
    free(m.version);
    return rc;
}
