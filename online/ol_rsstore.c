/* SPDX-License-Identifier: ISC */
/* Retained secrets in the keystore (PROFILE §12.6): one encrypted record
 * per peer bare JID, "online/rs/<bare JID>", holding its list. A change
 * is applied to the stored list inside one transaction, so two sessions
 * with one peer do not undo each other. */
#include "ol_api.h"

#include "../core/bytes.h"
#include "../store/store.h"

#include <stdio.h>
#include <string.h>

#define RS_PREFIX "online/rs/"
#define RS_FORMAT 1u

static esession_status rs_name(esession_ctx *ctx, const char *bare, char name[ES_BLOB_NAME_MAX + 1])
{
    int n = snprintf(name, ES_BLOB_NAME_MAX + 1, "%s%s", RS_PREFIX, bare);
    if (n < 0 || (size_t)n > ES_BLOB_NAME_MAX)
        return es_fail(ctx, ESESSION_ERR_LIMIT, "JID too long for a record name");
    return ESESSION_OK;
}

/* format 1 | count (2) | per RS: len (1) rs | verified (1) | created (8) |
 * client length (2) client */
static esession_status encode(esession_ctx *ctx, const es_ol_rs_list *l, esession_buf *out)
{
    es_wr w = {NULL, 0, ES_BLOB_MAX, 0};
    esession_status rc;
    for (int pass = 0; pass < 2; pass++) {
        es_wr_be(&w, RS_FORMAT, 1);
        es_wr_be(&w, l->n, 2);
        for (size_t i = 0; i < l->n; i++) {
            const es_ol_rs *e = &l->v[i];
            size_t cl = strlen(e->client);
            es_wr_be(&w, e->len, 1);
            es_wr_put(&w, e->rs, e->len);
            es_wr_be(&w, e->verified ? 1 : 0, 1);
            es_wr_be(&w, (uint64_t)e->created, 8);
            es_wr_be(&w, cl, 2);
            es_wr_put(&w, e->client, cl);
        }
        if (w.err)
            return es_fail(ctx, ESESSION_ERR_LIMIT, "retained secrets: record too large");
        if (pass == 0) {
            if ((rc = es_buf_alloc(out, w.pos, 1)) != ESESSION_OK)
                return es_fail(ctx, rc, "out of secure memory");
            w = (es_wr){(uint8_t *)out->data, 0, out->len, 0};
        }
    }
    return ESESSION_OK;
}

static esession_status decode(esession_ctx *ctx, const uint8_t *p, size_t n, es_ol_rs_list *out)
{
    es_rd r = {p, n, 0, 0};
    es_ol_rs_list l;
    char client[ES_OL_JID_MAX + 1];
    es_ol_rs_list_init(&l);
    if (es_rd_be(&r, 1) != RS_FORMAT)
        return es_fail(ctx, ESESSION_ERR_CORRUPT, "retained secrets: unknown record format");
    size_t count = (size_t)es_rd_be(&r, 2);
    for (size_t i = 0; i < count && !r.bad; i++) {
        size_t len = (size_t)es_rd_be(&r, 1);
        const uint8_t *rs = es_rd_take(&r, len);
        int verified = (int)es_rd_be(&r, 1);
        int64_t created = (int64_t)es_rd_be(&r, 8);
        size_t cl = (size_t)es_rd_be(&r, 2);
        const uint8_t *c = es_rd_take(&r, cl);
        if (r.bad || len == 0 || len > ES_HASH_MAX_BYTES || verified > 1 || cl == 0 ||
            cl > ES_OL_JID_MAX) {
            r.bad = 1;
            break;
        }
        memcpy(client, c, cl);
        client[cl] = '\0';
        if (strlen(client) != cl || es_ol_rs_append(&l, rs, len, verified, created, client) !=
                                        ESESSION_OK)
            r.bad = 1;
    }
    if (r.bad || r.pos != n) {
        es_ol_rs_list_clear(&l);
        return es_fail(ctx, ESESSION_ERR_CORRUPT, "retained secrets: damaged record");
    }
    *out = l;
    return ESESSION_OK;
}

esession_status ol_rs_load(esession_ctx *ctx, esession_keystore *ks, const char *bare,
                           es_ol_rs_list *out)
{
    char name[ES_BLOB_NAME_MAX + 1];
    esession_buf data = {NULL, 0, 0};
    esession_status rc = rs_name(ctx, bare, name);
    if (rc != ESESSION_OK)
        return rc;
    rc = es_ks_blob_get(ks, name, &data);
    if (rc == ESESSION_ERR_NO_SESSION) {
        es_ol_rs_list_init(out);
        return ESESSION_OK;
    }
    if (rc == ESESSION_OK)
        rc = decode(ctx, (const uint8_t *)data.data, data.len, out);
    esession_buf_free(&data);
    return rc;
}

esession_status ol_rs_store(esession_ctx *ctx, esession_keystore *ks, const char *bare,
                            const es_ol_rs_op *ops, size_t n)
{
    char name[ES_BLOB_NAME_MAX + 1];
    es_ol_rs_list l;
    esession_buf data = {NULL, 0, 0};
    esession_status rc = rs_name(ctx, bare, name);
    es_ol_rs_list_init(&l);
    if (rc != ESESSION_OK || n == 0)
        return rc;
    if ((rc = es_tx_begin(ks, 1)) != ESESSION_OK)
        return rc;
    rc = ol_rs_load(ctx, ks, bare, &l);
    for (size_t i = 0; rc == ESESSION_OK && i < n; i++)
        rc = es_ol_rs_apply(&l, &ops[i]);
    if (rc == ESESSION_OK)
        rc = encode(ctx, &l, &data);
    if (rc == ESESSION_OK)
        rc = l.n == 0 ? es_ks_blob_delete(ks, name)
                      : es_ks_blob_put(ks, name, (const uint8_t *)data.data, data.len);
    es_ol_rs_list_clear(&l);
    esession_buf_free(&data);
    return es_tx_end(ks, rc);
}
