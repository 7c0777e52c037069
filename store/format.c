/* SPDX-License-Identifier: ISC */
/* Item payloads (docs/keystore.md): a length-prefixed binary form of one
 * signing key, trust entry or option set, decoded with a bound check
 * before every read. Records are authenticated before they are decoded,
 * so a malformed one means a bug or a hostile passphrase holder; either
 * way it is only ever CORRUPT. The earlier single-file body used the same
 * forms (legacy.c). */
#include "../core/bytes.h"
#include "format.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing ------------------------------------------------------- */

static void put_bytes(es_wr *w, const void *data, size_t n)
{
    if (n > UINT32_MAX) {
        w->err = 1;
        return;
    }
    es_wr_be(w, n, 4);
    es_wr_put(w, data, n);
}

static void emit_key(es_wr *w, const void *item)
{
    const es_ks_key *k = item;
    es_wr_put(w, k->fp, sizeof k->fp);
    put_bytes(w, k->pem.data, k->pem.len);
}

static void emit_trust(es_wr *w, const void *item)
{
    const es_ks_trust *t = item;
    put_bytes(w, t->jid, strlen(t->jid));
    put_bytes(w, t->petname, strlen(t->petname));
    put_bytes(w, t->keyvalue, t->keyvalue_len);
    es_wr_put(w, t->fp, sizeof t->fp);
    es_wr_be(w, t->verified ? 1u : 0u, 1);
}

static void emit_optset(es_wr *w, const void *item)
{
    const es_optset *p = &((const es_ks_optset *)item)->pub;
    put_bytes(w, p->nonce, p->nonce_len);
    es_wr_be(w, (uint64_t)p->created, 8);
    es_wr_be(w, (uint64_t)p->expires, 8);
    /* flags: 1 exponents destroyed, 2 published on the open node */
    es_wr_be(w, (p->secrets_destroyed ? 1u : 0u) | (p->open_node ? 2u : 0u), 1);
    es_wr_be(w, p->n_groups, 1);
    for (size_t g = 0; g < p->n_groups; g++) {
        es_wr_be(w, (uint32_t)p->groups[g], 4);
        if (p->secrets_destroyed)
            put_bytes(w, NULL, 0);
        else
            put_bytes(w, p->x[g].data, p->x[g].len);
    }
    put_bytes(w, p->form.data, p->form.len);
    es_wr_be(w, p->n_replay, 4); /* the entries are records of their own */
}

/* Measure, then write into a secret buffer. */
static esession_status encode(esession_ctx *ctx, void (*emit)(es_wr *, const void *),
                              const void *item, esession_buf *out)
{
    es_wr size = {NULL, 0, ES_REC_PAYLOAD_MAX, 0};
    emit(&size, item);
    if (size.err)
        return es_fail(ctx, ESESSION_ERR_LIMIT, "item larger than %u octets",
                       ES_REC_PAYLOAD_MAX);
    esession_buf b;
    esession_status rc = es_buf_alloc_in(ctx, &b, size.pos, 1);
    if (rc != ESESSION_OK)
        return es_fail(ctx, rc, "out of memory");
    es_wr w = {(uint8_t *)b.data, 0, size.pos, 0};
    emit(&w, item);
    if (w.err || w.pos != size.pos) {
        esession_buf_free(&b);
        return es_fail(ctx, ESESSION_ERR_INTERNAL, "item serialization mismatch");
    }
    *out = b;
    return ESESSION_OK;
}

esession_status es_ks_key_encode(esession_ctx *ctx, const es_ks_key *k, esession_buf *out)
{
    return encode(ctx, emit_key, k, out);
}

esession_status es_ks_trust_encode(esession_ctx *ctx, const es_ks_trust *t, esession_buf *out)
{
    return encode(ctx, emit_trust, t, out);
}

esession_status es_ks_optset_encode(esession_ctx *ctx, const es_ks_optset *o,
                                    esession_buf *out)
{
    return encode(ctx, emit_optset, o, out);
}

/* ---- reading ------------------------------------------------------- */

int es_fmt_be(es_rd *r, unsigned n, uint64_t *v)
{
    *v = es_rd_be(r, n);
    return !r->bad;
}

int es_fmt_bytes(es_rd *r, size_t min, size_t max, const uint8_t **data, size_t *n)
{
    uint64_t len;
    if (!es_fmt_be(r, 4, &len) || len < min || len > max)
        return 0;
    const uint8_t *p = es_rd_take(r, (size_t)len);
    if (p == NULL)
        return 0;
    *data = p;
    *n = (size_t)len;
    return 1;
}

int es_fmt_count(es_rd *r, size_t max, size_t item_min, size_t *count)
{
    uint64_t n;
    if (!es_fmt_be(r, 4, &n) || n > max || n > (r->len - r->pos) / item_min)
        return 0;
    *count = (size_t)n;
    return 1;
}

char *es_fmt_text(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s != NULL) {
        if (n > 0)
            memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

#define CORRUPT(what) es_fail(ctx, ESESSION_ERR_CORRUPT, "keystore item: %s", what)
#define NO_MEMORY() es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory")

esession_status es_fmt_key(esession_ctx *ctx, es_rd *r, es_ks_key **out)
{
    const uint8_t *fp = es_rd_take(r, ESESSION_FINGERPRINT_BYTES);
    const uint8_t *pem;
    size_t len;
    if (fp == NULL || !es_fmt_bytes(r, 1, ES_KS_PEM_MAX, &pem, &len) ||
        !es_ks_text_ok((const char *)pem, len))
        return CORRUPT("signing key");
    es_ks_key *k = calloc(1, sizeof *k);
    if (k == NULL)
        return NO_MEMORY();
    memcpy(k->fp, fp, sizeof k->fp);
    if (es_buf_set_in(ctx, &k->pem, pem, len, 1) != ESESSION_OK) {
        es_ks_key_free(k);
        return NO_MEMORY();
    }
    *out = k;
    return ESESSION_OK;
}

esession_status es_fmt_trust(esession_ctx *ctx, es_rd *r, es_ks_trust **out)
{
    const uint8_t *jid, *pet, *kv, *fp;
    size_t jid_len, pet_len, kv_len;
    uint64_t verified;
    uint8_t md[crypto_hash_sha256_BYTES];
    if (!es_fmt_bytes(r, 1, ES_KS_JID_MAX, &jid, &jid_len) ||
        !es_ks_jid_ok((const char *)jid, jid_len) ||
        !es_fmt_bytes(r, 0, ES_KS_PETNAME_MAX, &pet, &pet_len) ||
        !es_ks_text_ok((const char *)pet, pet_len) ||
        !es_fmt_bytes(r, 1, ES_KS_KEYVALUE_MAX, &kv, &kv_len) ||
        !es_ks_text_ok((const char *)kv, kv_len) ||
        (fp = es_rd_take(r, ESESSION_FINGERPRINT_BYTES)) == NULL ||
        !es_fmt_be(r, 1, &verified) || verified > 1)
        return CORRUPT("trust entry");
    /* The fingerprint is the SHA-256 of the stored <KeyValue>. */
    crypto_hash_sha256(md, kv, kv_len);
    if (memcmp(md, fp, sizeof md) != 0)
        return CORRUPT("trust fingerprint");
    es_ks_trust *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NO_MEMORY();
    t->jid = es_fmt_text(jid, jid_len);
    t->petname = es_fmt_text(pet, pet_len);
    t->keyvalue = es_fmt_text(kv, kv_len);
    t->keyvalue_len = kv_len;
    memcpy(t->fp, fp, sizeof t->fp);
    t->verified = (int)verified;
    if (t->jid == NULL || t->petname == NULL || t->keyvalue == NULL) {
        es_ks_trust_free(t);
        return NO_MEMORY();
    }
    *out = t;
    return ESESSION_OK;
}

/* The fixed part of one option set. */
static esession_status optset_head(esession_ctx *ctx, es_rd *r, es_optset *p)
{
    const uint8_t *nonce;
    uint64_t created, expires, flags, n_groups;
    if (!es_fmt_bytes(r, 1, ES_NONCE_MAX, &nonce, &p->nonce_len) ||
        !es_fmt_be(r, 8, &created) || !es_fmt_be(r, 8, &expires) ||
        !es_fmt_be(r, 1, &flags) || flags > 3 || !es_fmt_be(r, 1, &n_groups) ||
        n_groups < 1 || n_groups > ES_OPTSET_MAX_GROUPS)
        return CORRUPT("option set");
    memcpy(p->nonce, nonce, p->nonce_len);
    /* Two's complement on every platform C11 lets us build on. */
    p->created = (int64_t)created;
    p->expires = (int64_t)expires;
    p->secrets_destroyed = (int)(flags & 1u);
    p->open_node = (int)(flags >> 1);
    p->n_groups = (size_t)n_groups;
    return ESESSION_OK;
}

static esession_status optset_body(esession_ctx *ctx, es_rd *r, es_optset *p)
{
    esession_status rc = optset_head(ctx, r, p);
    if (rc != ESESSION_OK)
        return rc;
    for (size_t g = 0; g < p->n_groups; g++) {
        uint64_t group;
        const uint8_t *x;
        size_t x_len;
        size_t min = p->secrets_destroyed ? 0 : 1;
        size_t max = p->secrets_destroyed ? 0 : ES_KS_X_MAX;
        if (!es_fmt_be(r, 4, &group) || group > INT32_MAX || group > INT_MAX ||
            !es_fmt_bytes(r, min, max, &x, &x_len))
            return CORRUPT("option set group");
        p->groups[g] = (int)group;
        for (size_t h = 0; h < g; h++)
            if (p->groups[h] == p->groups[g])
                return CORRUPT("duplicate option set group");
        if (!p->secrets_destroyed && es_buf_set_in(ctx, &p->x[g], x, x_len, 1) != ESESSION_OK)
            return NO_MEMORY();
    }
    const uint8_t *form;
    size_t form_len;
    if (!es_fmt_bytes(r, 0, ES_KS_FORM_MAX, &form, &form_len))
        return CORRUPT("option set form");
    if (es_buf_set(&p->form, form, form_len, 0) != ESESSION_OK)
        return NO_MEMORY();
    return ESESSION_OK;
}

esession_status es_fmt_optset(esession_ctx *ctx, es_rd *r, es_ks_optset **out)
{
    es_ks_optset *o = calloc(1, sizeof *o);
    if (o == NULL)
        return NO_MEMORY();
    esession_status rc = optset_body(ctx, r, &o->pub);
    if (rc != ESESSION_OK) {
        es_ks_optset_free(o);
        return rc;
    }
    *out = o;
    return ESESSION_OK;
}

esession_status es_ks_key_decode(esession_ctx *ctx, const uint8_t *p, size_t n,
                                 es_ks_key **out)
{
    es_rd r = {p, n, 0, 0};
    es_ks_key *item = NULL;
    esession_status rc = es_fmt_key(ctx, &r, &item);
    if (rc == ESESSION_OK && r.pos != r.len) /* the item and nothing after it */
        rc = CORRUPT("trailing octets");
    if (rc != ESESSION_OK) {
        es_ks_key_free(item);
        return rc;
    }
    *out = item;
    return ESESSION_OK;
}

esession_status es_ks_trust_decode(esession_ctx *ctx, const uint8_t *p, size_t n,
                                   es_ks_trust **out)
{
    es_rd r = {p, n, 0, 0};
    es_ks_trust *item = NULL;
    esession_status rc = es_fmt_trust(ctx, &r, &item);
    if (rc == ESESSION_OK && r.pos != r.len)
        rc = CORRUPT("trailing octets");
    if (rc != ESESSION_OK) {
        es_ks_trust_free(item);
        return rc;
    }
    *out = item;
    return ESESSION_OK;
}

esession_status es_ks_optset_decode(esession_ctx *ctx, const uint8_t *p, size_t n,
                                    es_ks_optset **out)
{
    es_rd r = {p, n, 0, 0};
    es_ks_optset *item = NULL;
    uint64_t n_replay = 0;
    esession_status rc = es_fmt_optset(ctx, &r, &item);
    if (rc == ESESSION_OK && (!es_fmt_be(&r, 4, &n_replay) || n_replay > ES_REPLAY_MAX))
        rc = CORRUPT("replay count");
    if (rc == ESESSION_OK && r.pos != r.len)
        rc = CORRUPT("trailing octets");
    if (rc != ESESSION_OK) {
        es_ks_optset_free(item);
        return rc;
    }
    item->pub.n_replay = (size_t)n_replay;
    *out = item;
    return ESESSION_OK;
}
