/* SPDX-License-Identifier: ISC */
/* Bob's outbox: every stanza handed out is kept in the keystore
 * (encrypted), recorded in the transaction that used its counters, until
 * the client marks it sent. Record "bob/outbox/<first 16 octets of
 * SHA-256(stanza), hex>", format version 1, big-endian:
 *
 *   "ESOB" u8 version=1 u16 len Alice's bare JID, JID, u32 len stanza, stanza
 */
#include "../core/bytes.h"
#include "../core/jid.h"
#include "sender.h"

#include <stdlib.h>
#include <string.h>

#define MAGIC "ESOB"
#define VERSION 1
#define ID_BYTES 16u

/* The record's name: a digest of the stanza. */
static esession_status record_name(esession_ctx *ctx, const uint8_t *stanza, size_t len,
                                   char name[ES_BLOB_NAME_MAX + 1])
{
    uint8_t d[32];
    char id[2 * ID_BYTES + 1];
    if (es_hash(ES_HASH_SHA256, stanza, len, d) != ESESSION_OK)
        return es_fail(ctx, ESESSION_ERR_INTERNAL, "outbox: cannot hash the stanza");
    es_hex(id, d, ID_BYTES);
    const char *const parts[] = {ES_SENDER_OUTBOX_PREFIX, id};
    (void)es_join(name, ES_BLOB_NAME_MAX + 1, parts, ES_ARRAY_LEN(parts));
    return ESESSION_OK;
}

static void emit(es_wr *w, const char *alice, const esession_buf *stanza)
{
    size_t al = strlen(alice);
    es_wr_put(w, MAGIC, 4);
    es_wr_be(w, VERSION, 1);
    es_wr_be(w, al, 2);
    es_wr_put(w, alice, al);
    es_wr_be(w, stanza->len, 4);
    es_wr_put(w, stanza->data, stanza->len);
}

esession_status es_outbox_put(esession_keystore *ks, const char *alice_bare_jid,
                              const esession_buf *stanza)
{
    char name[ES_BLOB_NAME_MAX + 1];
    es_wr size = {NULL, 0, ES_BLOB_MAX, 0};
    emit(&size, alice_bare_jid, stanza);
    if (size.err)
        return es_fail(es_ks_ctx(ks), ESESSION_ERR_LIMIT, "stanza too large for the outbox");
    esession_buf b;
    /* From the context's pool: a region of its own per stanza costs system calls. */
    esession_status rc = es_buf_alloc_in(es_ks_ctx(ks), &b, size.pos, 1);
    if (rc != ESESSION_OK)
        return es_fail(es_ks_ctx(ks), rc, "out of memory");
    es_wr w = {(uint8_t *)b.data, 0, size.pos, 0};
    emit(&w, alice_bare_jid, stanza);
    if (w.err || w.pos != size.pos)
        rc = es_fail(es_ks_ctx(ks), ESESSION_ERR_INTERNAL, "outbox record size mismatch");
    else
        rc = record_name(es_ks_ctx(ks), (const uint8_t *)stanza->data, stanza->len, name);
    if (rc == ESESSION_OK)
        rc = es_ks_blob_put(ks, name, (const uint8_t *)b.data, b.len);
    esession_buf_free(&b);
    return rc;
}

esession_status esession_sender_sent(esession_ctx *ctx, esession_keystore *ks,
                                     const esession_buf *stanza)
{
    char name[ES_BLOB_NAME_MAX + 1];
    if (es_ks_check(ctx, ks) != ESESSION_OK)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ctx);
    if (stanza == NULL || stanza->data == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "sent: bad arguments");
    esession_status rc =
        record_name(es_ks_ctx(ks), (const uint8_t *)stanza->data, stanza->len, name);
    return rc != ESESSION_OK ? rc : es_ks_blob_delete(ks, name);
}

typedef struct unsent {
    esession_ctx *ctx;
    const char *alice;
    esession_buf *v;
    uint64_t *order;
    size_t n, cap;
} unsent;

static esession_status take_one(void *arg, const char *name, const uint8_t *data, size_t len,
                                uint64_t version)
{
    unsent *u = arg;
    es_rd r = {data, len, 0, 0};
    (void)name;
    const uint8_t *magic = es_rd_take(&r, 4);
    int ok = magic != NULL && memcmp(magic, MAGIC, 4) == 0 && es_rd_be(&r, 1) == VERSION;
    size_t al = (size_t)es_rd_be(&r, 2);
    const uint8_t *alice = es_rd_take(&r, al);
    size_t sl = (size_t)es_rd_be(&r, 4);
    const uint8_t *stanza = es_rd_take(&r, sl);
    if (!ok || r.bad || alice == NULL || stanza == NULL || r.pos != r.len)
        return es_fail(u->ctx, ESESSION_ERR_CORRUPT, "damaged outbox record");
    if (u->alice != NULL && (strlen(u->alice) != al || memcmp(u->alice, alice, al) != 0))
        return ESESSION_OK;
    if (u->n == u->cap) {
        esession_buf *v = es_order_grow(u->v, sizeof *v, &u->order, &u->cap);
        if (v == NULL)
            return es_fail(u->ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
        u->v = v;
    }
    if (es_buf_set(&u->v[u->n], stanza, sl, 0) != ESESSION_OK)
        return es_fail(u->ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    u->order[u->n++] = version;
    return ESESSION_OK;
}

esession_status esession_outbox_unsent(esession_ctx *ctx, esession_keystore *ks,
                                       const char *alice_bare_jid, esession_buf **out, size_t *n)
{
    if (es_ks_check(ctx, ks) != ESESSION_OK)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ctx);
    if (out == NULL || n == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "unsent: bad arguments");
    if (alice_bare_jid != NULL && es_jid_check(ctx, alice_bare_jid, ESESSION_JID_BARE) != ESESSION_OK)
        return ESESSION_ERR_INVALID_ARGUMENT;
    unsent u = {ctx, alice_bare_jid, NULL, NULL, 0, 0};
    esession_status rc = es_ks_blob_list(ks, ES_SENDER_OUTBOX_PREFIX, take_one, &u);
    if (rc != ESESSION_OK) {
        esession_outbox_free(u.v, u.n);
        free(u.order);
        return rc;
    }
    /* In the order they were sealed (each in a commit of its own). */
    rc = es_sort_by_order(u.v, sizeof *u.v, u.order, u.n);
    free(u.order);
    if (rc != ESESSION_OK) {
        esession_outbox_free(u.v, u.n);
        return es_fail(ctx, rc, "out of memory");
    }
    *out = u.v;
    *n = u.n;
    return ESESSION_OK;
}

void esession_outbox_free(esession_buf *stanzas, size_t n)
{
    for (size_t i = 0; stanzas != NULL && i < n; i++)
        esession_buf_free(&stanzas[i]);
    free(stanzas);
}
