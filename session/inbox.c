/* SPDX-License-Identifier: ISC */
/* Alice's inbox: every opened message stays in the keystore (encrypted)
 * from the transaction that opened it until the client confirms it
 * stored it, so that no crash between the two can lose it. Record
 * "alice/inbox/<id>", format version 1, big-endian:
 *
 *   "ESIN" u8 version=1 u64 tag
 *   u16 len from | u16 len from_bare | u16 len thread | u16 len delay_from
 *   counter[16] u8 has_created i64 created u8 has_delay i64 delay
 *   u32 profile key_fingerprint[32] u8 key_state u32 len plaintext
 */
#include "../core/bytes.h"
#include "receiver.h"

#include <stdlib.h>
#include <string.h>

#define MAGIC "ESIN"
#define VERSION 1
#define ID_BYTES 16u

esession_status es_rx_message_id(const char *bare, const char *thread,
                                 const uint8_t S[ES_AES_BLOCK], char id[ESESSION_MESSAGE_ID_MAX])
{
    static const char label[] = "esession message id";
    /* label, bare JID and thread each with its NUL, then S. */
    const es_span parts[] = {
        {label, sizeof label}, {bare, strlen(bare) + 1}, {thread, strlen(thread) + 1},
        {S, ES_AES_BLOCK}};
    uint8_t d[32];
    esession_status rc = es_hash_parts(ES_HASH_SHA256, parts, ES_ARRAY_LEN(parts), d);
    if (rc == ESESSION_OK)
        es_hex(id, d, ID_BYTES);
    return rc;
}

static int id_ok(const char *id)
{
    size_t n = strnlen(id, ESESSION_MESSAGE_ID_MAX);
    if (n != 2 * ID_BYTES)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return 0;
    return 1;
}

static void record_name(const char *id, char name[ES_BLOB_NAME_MAX + 1])
{
    const char *const parts[] = {ES_RX_INBOX_PREFIX, id};
    (void)es_join(name, ES_BLOB_NAME_MAX + 1, parts, ES_ARRAY_LEN(parts));
}

static void put_text(es_wr *w, const esession_buf *b)
{
    es_wr_be(w, b->len, 2);
    es_wr_put(w, b->data, b->len);
}

static void emit(es_wr *w, const esession_result *res)
{
    es_wr_put(w, MAGIC, 4);
    es_wr_be(w, VERSION, 1);
    es_wr_be(w, res->tag, 8);
    put_text(w, &res->from);
    put_text(w, &res->from_bare);
    put_text(w, &res->thread);
    put_text(w, &res->delay_from);
    es_wr_put(w, res->counter, ES_AES_BLOCK);
    es_wr_be(w, res->has_created ? 1u : 0u, 1);
    es_wr_be(w, (uint64_t)res->created, 8);
    es_wr_be(w, res->has_delay ? 1u : 0u, 1);
    es_wr_be(w, (uint64_t)res->delay, 8);
    es_wr_be(w, res->profile, 4);
    es_wr_put(w, res->key_fingerprint, ESESSION_FINGERPRINT_BYTES);
    es_wr_be(w, (uint64_t)res->key_state, 1);
    es_wr_be(w, res->plaintext.len, 4);
    es_wr_put(w, res->plaintext.data, res->plaintext.len);
}

esession_status es_rx_inbox_put(esession_keystore *ks, const esession_result *res)
{
    char name[ES_BLOB_NAME_MAX + 1];
    es_wr size = {NULL, 0, ES_BLOB_MAX, 0};
    emit(&size, res);
    if (size.err)
        return es_fail(es_ks_ctx(ks), ESESSION_ERR_LIMIT, "message too large for the inbox");
    esession_buf b;
    esession_status rc = es_buf_alloc_in(es_ks_ctx(ks), &b, size.pos, 1);
    if (rc != ESESSION_OK)
        return es_fail(es_ks_ctx(ks), rc, "out of memory");
    es_wr w = {(uint8_t *)b.data, 0, size.pos, 0};
    emit(&w, res);
    record_name(res->id, name);
    if (w.err || w.pos != size.pos)
        rc = es_fail(es_ks_ctx(ks), ESESSION_ERR_INTERNAL, "inbox record size mismatch");
    else
        rc = es_ks_blob_put(ks, name, (const uint8_t *)b.data, b.len);
    esession_buf_free(&b);
    return rc;
}

static int get_text(es_rd *r, esession_buf *b)
{
    size_t n = (size_t)es_rd_be(r, 2);
    const uint8_t *p = es_rd_take(r, n);
    return p != NULL && !memchr(p, '\0', n) && es_buf_set(b, p, n, 0) == ESESSION_OK;
}

/* One inbox record back into a MESSAGE result. */
static esession_status decode(esession_ctx *ctx, const char *id, const uint8_t *data, size_t len,
                              esession_result *out)
{
    esession_result res;
    es_rd r = {data, len, 0, 0};
    memset(&res, 0, sizeof res);
    const uint8_t *magic = es_rd_take(&r, 4);
    int ok = magic != NULL && memcmp(magic, MAGIC, 4) == 0 && es_rd_be(&r, 1) == VERSION;
    res.tag = es_rd_be(&r, 8);
    ok = ok && get_text(&r, &res.from) && get_text(&r, &res.from_bare) &&
         get_text(&r, &res.thread) && get_text(&r, &res.delay_from);
    const uint8_t *ctr = es_rd_take(&r, ES_AES_BLOCK);
    if (ctr != NULL)
        memcpy(res.counter, ctr, ES_AES_BLOCK);
    uint64_t has_created = es_rd_be(&r, 1);
    res.created = (int64_t)es_rd_be(&r, 8);
    uint64_t has_delay = es_rd_be(&r, 1);
    res.delay = (int64_t)es_rd_be(&r, 8);
    res.profile = (unsigned)es_rd_be(&r, 4);
    const uint8_t *fp = es_rd_take(&r, ESESSION_FINGERPRINT_BYTES);
    if (fp != NULL)
        memcpy(res.key_fingerprint, fp, ESESSION_FINGERPRINT_BYTES);
    uint64_t key_state = es_rd_be(&r, 1);
    size_t n = (size_t)es_rd_be(&r, 4);
    const uint8_t *plain = es_rd_take(&r, n);
    ok = ok && !r.bad && plain != NULL && r.pos == r.len && has_created <= 1 && has_delay <= 1 &&
         key_state <= ESESSION_KEY_STATE_HOST;
    if (ok && es_buf_set(&res.plaintext, plain, n, 1) != ESESSION_OK) {
        esession_result_free(&res);
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    }
    if (!ok) {
        esession_result_free(&res);
        return es_fail(ctx, ESESSION_ERR_CORRUPT, "damaged inbox record");
    }
    res.kind = ESESSION_RESULT_MESSAGE;
    res.has_created = (int)has_created;
    res.has_delay = (int)has_delay;
    res.key_state = (esession_key_state)key_state;
    res.redelivered = 1;
    memcpy(res.id, id, 2 * ID_BYTES + 1);
    *out = res;
    return ESESSION_OK;
}

esession_status esession_receiver_confirm(esession_receiver *r, const esession_result *res)
{
    char name[ES_BLOB_NAME_MAX + 1];
    if (r == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(r->ctx);
    if (res == NULL || res->kind != ESESSION_RESULT_MESSAGE || !id_ok(res->id))
        return es_fail(r->ctx, ESESSION_ERR_INVALID_ARGUMENT, "confirm: not a message result");
    record_name(res->id, name);
    return es_ks_blob_delete(r->ks, name);
}

typedef struct pending {
    esession_receiver *r;
    esession_result *v;
    uint64_t *order;
    size_t n, cap;
} pending;

static esession_status take_one(void *arg, const char *name, const uint8_t *data, size_t len,
                                uint64_t version)
{
    pending *p = arg;
    const char *id = name + strlen(ES_RX_INBOX_PREFIX);
    if (!id_ok(id))
        return es_fail(p->r->ctx, ESESSION_ERR_CORRUPT, "inbox record with a bad name");
    if (p->n == p->cap) {
        esession_result *v = es_order_grow(p->v, sizeof *v, &p->order, &p->cap);
        if (v == NULL)
            return es_fail(p->r->ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
        p->v = v;
    }
    esession_status rc = decode(p->r->ctx, id, data, len, &p->v[p->n]);
    if (rc == ESESSION_OK)
        p->order[p->n++] = version;
    return rc;
}

esession_status esession_receiver_pending(esession_receiver *r, size_t *n)
{
    pending p = {r, NULL, NULL, 0, 0};
    if (r == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(r->ctx);
    esession_status rc = es_ks_blob_list(r->ks, ES_RX_INBOX_PREFIX, take_one, &p);
    if (rc == ESESSION_OK && es_rx_queue_reserve(r, p.n) != ESESSION_OK)
        rc = es_fail(r->ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    /* Oldest first: the order they were opened in. */
    if (rc == ESESSION_OK && es_sort_by_order(p.v, sizeof *p.v, p.order, p.n) != ESESSION_OK)
        rc = es_fail(r->ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    if (rc == ESESSION_OK) {
        for (size_t i = 0; i < p.n; i++)
            es_rx_queue_push(r, &p.v[i]);
        if (n != NULL)
            *n = p.n;
    } else {
        for (size_t i = 0; i < p.n; i++)
            esession_result_free(&p.v[i]);
    }
    free(p.v);
    free(p.order);
    return rc;
}
