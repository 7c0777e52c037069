/* SPDX-License-Identifier: ISC */
/* The keystore body: a length-prefixed binary serialization of the items
 * (docs/keystore.md), decoded with a bound check before every read. The
 * body is authenticated before it is decoded, so a malformed one means a
 * bug or a hostile passphrase holder; either way it is only ever CORRUPT. */
#include "../core/bytes.h"
#include "ks.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define BODY_MAGIC "ESKB"
#define BODY_MAGIC_BYTES 4u
#define REPLAY_ENTRY_BYTES (3u * ES_REPLAY_HASH)

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

static void emit(const esession_keystore *ks, es_wr *w)
{
    es_wr_put(w, BODY_MAGIC, BODY_MAGIC_BYTES);

    es_wr_be(w, ks->keys.n, 4);
    for (size_t i = 0; i < ks->keys.n; i++) {
        const es_ks_key *k = ks->keys.v[i];
        es_wr_put(w, k->fp, sizeof k->fp);
        put_bytes(w, k->pem.data, k->pem.len);
    }

    es_wr_be(w, ks->trust.n, 4);
    for (size_t i = 0; i < ks->trust.n; i++) {
        const es_ks_trust *t = ks->trust.v[i];
        put_bytes(w, t->jid, strlen(t->jid));
        put_bytes(w, t->petname, strlen(t->petname));
        put_bytes(w, t->keyvalue, t->keyvalue_len);
        es_wr_put(w, t->fp, sizeof t->fp);
        es_wr_be(w, t->verified ? 1u : 0u, 1);
    }

    es_wr_be(w, ks->optsets.n, 4);
    for (size_t i = 0; i < ks->optsets.n; i++) {
        const es_ks_optset *o = ks->optsets.v[i];
        const es_optset *p = &o->pub;
        put_bytes(w, p->nonce, p->nonce_len);
        es_wr_be(w, (uint64_t)p->created, 8);
        es_wr_be(w, (uint64_t)p->expires, 8);
        es_wr_be(w, p->secrets_destroyed ? 1u : 0u, 1);
        es_wr_be(w, p->n_groups, 1);
        for (size_t g = 0; g < p->n_groups; g++) {
            es_wr_be(w, (uint32_t)p->groups[g], 4);
            if (p->secrets_destroyed)
                put_bytes(w, NULL, 0);
            else
                put_bytes(w, p->x[g].data, p->x[g].len);
        }
        put_bytes(w, p->form.data, p->form.len);
        es_wr_be(w, p->n_replay, 4);
        for (size_t r = 0; r < p->n_replay; r++) {
            es_wr_put(w, o->replay[r].d, ES_REPLAY_HASH);
            es_wr_put(w, o->replay[r].nb, ES_REPLAY_HASH);
            es_wr_put(w, o->replay[r].init, ES_REPLAY_HASH);
        }
    }

    es_wr_be(w, ks->blobs.n, 4);
    for (size_t i = 0; i < ks->blobs.n; i++) {
        const es_ks_blob *b = ks->blobs.v[i];
        put_bytes(w, b->name, b->name_len);
        put_bytes(w, b->data.data, b->data.len);
    }
}

esession_status es_ks_encode(const esession_keystore *ks, uint8_t **body, size_t *len)
{
    es_wr size = {NULL, 0, ES_KS_BODY_MAX, 0};
    emit(ks, &size);
    if (size.err)
        return es_fail(ks->ctx, ESESSION_ERR_LIMIT, "keystore larger than %u octets",
                       ES_KS_BODY_MAX);
    uint8_t *p = es_secret_alloc(size.pos);
    if (p == NULL)
        return es_fail(ks->ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    es_wr w = {p, 0, size.pos, 0};
    emit(ks, &w);
    if (w.err || w.pos != size.pos) {
        es_secret_free(p);
        return es_fail(ks->ctx, ESESSION_ERR_INTERNAL, "keystore serialization mismatch");
    }
    *body = p;
    *len = w.pos;
    return ESESSION_OK;
}

/* ---- reading ------------------------------------------------------- */

static int get_be(es_rd *r, unsigned n, uint64_t *v)
{
    *v = es_rd_be(r, n);
    return !r->bad;
}

/* A length-prefixed field of min..max octets. */
static int get_bytes(es_rd *r, size_t min, size_t max, const uint8_t **data, size_t *n)
{
    uint64_t len;
    if (!get_be(r, 4, &len) || len < min || len > max)
        return 0;
    const uint8_t *p = es_rd_take(r, (size_t)len);
    if (p == NULL)
        return 0;
    *data = p;
    *n = (size_t)len;
    return 1;
}

/* A count of at most max items of at least item_min octets each. */
static int get_count(es_rd *r, size_t max, size_t item_min, size_t *count)
{
    uint64_t n;
    if (!get_be(r, 4, &n) || n > max || n > (r->len - r->pos) / item_min)
        return 0;
    *count = (size_t)n;
    return 1;
}

static char *dup_text(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s != NULL) {
        if (n > 0)
            memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

#define CORRUPT(what) es_fail(ks->ctx, ESESSION_ERR_CORRUPT, "keystore body: %s", what)
#define NO_MEMORY() es_fail(ks->ctx, ESESSION_ERR_NO_MEMORY, "out of memory")

static esession_status decode_keys(esession_keystore *ks, es_rd *r)
{
    size_t n;
    if (!get_count(r, ES_KS_MAX_KEYS, ESESSION_FINGERPRINT_BYTES + 5, &n))
        return CORRUPT("key count");
    for (size_t i = 0; i < n; i++) {
        const uint8_t *fp = es_rd_take(r, ESESSION_FINGERPRINT_BYTES);
        const uint8_t *pem;
        size_t len;
        if (fp == NULL || !get_bytes(r, 1, ES_KS_PEM_MAX, &pem, &len) ||
            !es_ks_text_ok((const char *)pem, len))
            return CORRUPT("signing key");
        es_ks_key *k = calloc(1, sizeof *k);
        if (k == NULL)
            return NO_MEMORY();
        memcpy(k->fp, fp, sizeof k->fp);
        if (es_buf_set(&k->pem, pem, len, 1) != ESESSION_OK ||
            es_vec_reserve(&ks->keys, ES_KS_MAX_KEYS) != ESESSION_OK) {
            es_ks_key_free(k);
            return NO_MEMORY();
        }
        es_vec_push(&ks->keys, k);
    }
    return ESESSION_OK;
}

static esession_status decode_trust(esession_keystore *ks, es_rd *r)
{
    size_t n;
    if (!get_count(r, ES_KS_MAX_TRUST, 13 + ESESSION_FINGERPRINT_BYTES, &n))
        return CORRUPT("trust count");
    for (size_t i = 0; i < n; i++) {
        const uint8_t *jid, *pet, *kv, *fp;
        size_t jid_len, pet_len, kv_len;
        uint64_t verified;
        uint8_t md[crypto_hash_sha256_BYTES];
        if (!get_bytes(r, 1, ES_KS_JID_MAX, &jid, &jid_len) ||
            !es_ks_jid_ok((const char *)jid, jid_len) ||
            !get_bytes(r, 0, ES_KS_PETNAME_MAX, &pet, &pet_len) ||
            !es_ks_text_ok((const char *)pet, pet_len) ||
            !get_bytes(r, 1, ES_KS_KEYVALUE_MAX, &kv, &kv_len) ||
            !es_ks_text_ok((const char *)kv, kv_len) ||
            (fp = es_rd_take(r, ESESSION_FINGERPRINT_BYTES)) == NULL || !get_be(r, 1, &verified) ||
            verified > 1)
            return CORRUPT("trust entry");
        /* The fingerprint is the SHA-256 of the stored <KeyValue>. */
        crypto_hash_sha256(md, kv, kv_len);
        if (memcmp(md, fp, sizeof md) != 0)
            return CORRUPT("trust fingerprint");
        es_ks_trust *t = calloc(1, sizeof *t);
        if (t == NULL)
            return NO_MEMORY();
        t->jid = dup_text(jid, jid_len);
        t->petname = dup_text(pet, pet_len);
        t->keyvalue = dup_text(kv, kv_len);
        t->keyvalue_len = kv_len;
        memcpy(t->fp, fp, sizeof t->fp);
        t->verified = (int)verified;
        if (t->jid == NULL || t->petname == NULL || t->keyvalue == NULL ||
            es_vec_reserve(&ks->trust, ES_KS_MAX_TRUST) != ESESSION_OK) {
            es_ks_trust_free(t);
            return NO_MEMORY();
        }
        es_vec_push(&ks->trust, t);
    }
    return ESESSION_OK;
}

/* The fixed part of one option set, groups and replay memory aside. */
static esession_status decode_optset_head(esession_keystore *ks, es_rd *r, es_optset *p)
{
    const uint8_t *nonce;
    uint64_t created, expires, destroyed, n_groups;
    if (!get_bytes(r, 1, ES_NONCE_MAX, &nonce, &p->nonce_len) || !get_be(r, 8, &created) ||
        !get_be(r, 8, &expires) || !get_be(r, 1, &destroyed) || destroyed > 1 ||
        !get_be(r, 1, &n_groups) || n_groups < 1 || n_groups > ES_OPTSET_MAX_GROUPS)
        return CORRUPT("option set");
    memcpy(p->nonce, nonce, p->nonce_len);
    /* Two's complement on every platform C11 lets us build on. */
    p->created = (int64_t)created;
    p->expires = (int64_t)expires;
    p->secrets_destroyed = (int)destroyed;
    p->n_groups = (size_t)n_groups;
    return ESESSION_OK;
}

static esession_status decode_optset(esession_keystore *ks, es_rd *r, es_ks_optset *o)
{
    es_optset *p = &o->pub;
    esession_status rc = decode_optset_head(ks, r, p);
    if (rc != ESESSION_OK)
        return rc;
    for (size_t g = 0; g < p->n_groups; g++) {
        uint64_t group;
        const uint8_t *x;
        size_t x_len;
        size_t min = p->secrets_destroyed ? 0 : 1;
        size_t max = p->secrets_destroyed ? 0 : ES_KS_X_MAX;
        if (!get_be(r, 4, &group) || group > INT32_MAX || group > INT_MAX ||
            !get_bytes(r, min, max, &x, &x_len))
            return CORRUPT("option set group");
        p->groups[g] = (int)group;
        for (size_t h = 0; h < g; h++)
            if (p->groups[h] == p->groups[g])
                return CORRUPT("duplicate option set group");
        if (!p->secrets_destroyed && es_buf_set(&p->x[g], x, x_len, 1) != ESESSION_OK)
            return NO_MEMORY();
    }
    const uint8_t *form;
    size_t form_len, n_replay;
    if (!get_bytes(r, 0, ES_KS_FORM_MAX, &form, &form_len))
        return CORRUPT("option set form");
    if (es_buf_set(&p->form, form, form_len, 0) != ESESSION_OK)
        return NO_MEMORY();
    if (!get_count(r, ES_REPLAY_MAX, REPLAY_ENTRY_BYTES, &n_replay))
        return CORRUPT("replay count");
    if (n_replay > 0) {
        o->replay = malloc(n_replay * sizeof *o->replay);
        if (o->replay == NULL)
            return NO_MEMORY();
        o->replay_cap = n_replay;
    }
    for (size_t i = 0; i < n_replay; i++) {
        const uint8_t *e = es_rd_take(r, REPLAY_ENTRY_BYTES);
        if (e == NULL) /* get_count checked the room already */
            return CORRUPT("replay entry");
        memcpy(o->replay[i].d, e, ES_REPLAY_HASH);
        memcpy(o->replay[i].nb, e + ES_REPLAY_HASH, ES_REPLAY_HASH);
        memcpy(o->replay[i].init, e + 2 * ES_REPLAY_HASH, ES_REPLAY_HASH);
    }
    p->n_replay = n_replay;
    return ESESSION_OK;
}

static esession_status decode_optsets(esession_keystore *ks, es_rd *r)
{
    size_t n;
    if (!get_count(r, ES_KS_MAX_OPTSETS, 39, &n))
        return CORRUPT("option set count");
    for (size_t i = 0; i < n; i++) {
        es_ks_optset *o = calloc(1, sizeof *o);
        if (o == NULL)
            return NO_MEMORY();
        esession_status rc = decode_optset(ks, r, o);
        if (rc == ESESSION_OK && es_vec_reserve(&ks->optsets, ES_KS_MAX_OPTSETS) != ESESSION_OK)
            rc = NO_MEMORY();
        if (rc != ESESSION_OK) {
            es_ks_optset_free(o);
            return rc;
        }
        es_vec_push(&ks->optsets, o);
    }
    return ESESSION_OK;
}

static esession_status decode_blobs(esession_keystore *ks, es_rd *r)
{
    size_t n;
    if (!get_count(r, ES_KS_MAX_BLOBS, 9, &n))
        return CORRUPT("record count");
    for (size_t i = 0; i < n; i++) {
        const uint8_t *name, *data;
        size_t name_len, data_len;
        if (!get_bytes(r, 1, ES_BLOB_NAME_MAX, &name, &name_len) ||
            !es_ks_blob_name_ok((const char *)name, name_len) ||
            !get_bytes(r, 0, ES_BLOB_MAX, &data, &data_len))
            return CORRUPT("record");
        es_ks_blob *b = calloc(1, sizeof *b);
        if (b == NULL)
            return NO_MEMORY();
        b->name = dup_text(name, name_len);
        b->name_len = name_len;
        if (b->name == NULL || es_buf_set(&b->data, data, data_len, 1) != ESESSION_OK ||
            es_vec_reserve(&ks->blobs, ES_KS_MAX_BLOBS) != ESESSION_OK) {
            es_ks_blob_free(b);
            return NO_MEMORY();
        }
        es_vec_push(&ks->blobs, b);
    }
    return ESESSION_OK;
}

/* ---- uniqueness ---------------------------------------------------- */

static int cmp_key(const void *a, const void *b)
{
    const es_ks_key *x = *(void *const *)a, *y = *(void *const *)b;
    return memcmp(x->fp, y->fp, ESESSION_FINGERPRINT_BYTES);
}

static int cmp_trust(const void *a, const void *b)
{
    const es_ks_trust *x = *(void *const *)a, *y = *(void *const *)b;
    int c = memcmp(x->fp, y->fp, ESESSION_FINGERPRINT_BYTES);
    return c != 0 ? c : strcmp(x->jid, y->jid);
}

static int cmp_optset(const void *a, const void *b)
{
    const es_optset *x = &((const es_ks_optset *)*(void *const *)a)->pub;
    const es_optset *y = &((const es_ks_optset *)*(void *const *)b)->pub;
    if (x->nonce_len != y->nonce_len)
        return x->nonce_len < y->nonce_len ? -1 : 1;
    return memcmp(x->nonce, y->nonce, x->nonce_len);
}

static int cmp_blob(const void *a, const void *b)
{
    const es_ks_blob *x = *(void *const *)a, *y = *(void *const *)b;
    return strcmp(x->name, y->name);
}

/* 1 if two items of vec compare equal (sorted copy: n log n even for
 * thousands of items); -1 if out of memory. */
static int has_duplicates(const es_vec *vec, int (*cmp)(const void *, const void *))
{
    if (vec->n < 2)
        return 0;
    void **v = malloc(vec->n * sizeof *v);
    if (v == NULL)
        return -1;
    memcpy(v, vec->v, vec->n * sizeof *v);
    qsort(v, vec->n, sizeof *v, cmp);
    int dup = 0;
    for (size_t i = 1; i < vec->n && !dup; i++)
        dup = cmp(&v[i - 1], &v[i]) == 0;
    free(v);
    return dup;
}

static esession_status unique(esession_keystore *ks, const es_vec *vec,
                              int (*cmp)(const void *, const void *), const char *what)
{
    int d = has_duplicates(vec, cmp);
    if (d < 0)
        return NO_MEMORY();
    if (d > 0)
        return CORRUPT(what);
    return ESESSION_OK;
}

esession_status es_ks_decode(esession_keystore *ks, const uint8_t *body, size_t len)
{
    es_rd r = {body, len, 0, 0};
    const uint8_t *magic = es_rd_take(&r, BODY_MAGIC_BYTES);
    if (magic == NULL || memcmp(magic, BODY_MAGIC, BODY_MAGIC_BYTES) != 0)
        return CORRUPT("magic");
    esession_status rc = decode_keys(ks, &r);
    if (rc == ESESSION_OK)
        rc = decode_trust(ks, &r);
    if (rc == ESESSION_OK)
        rc = decode_optsets(ks, &r);
    if (rc == ESESSION_OK)
        rc = decode_blobs(ks, &r);
    if (rc == ESESSION_OK && r.pos != r.len)
        rc = CORRUPT("trailing octets");
    /* Each item is found by its key: two with the same key cannot be. */
    if (rc == ESESSION_OK)
        rc = unique(ks, &ks->keys, cmp_key, "duplicate signing key");
    if (rc == ESESSION_OK)
        rc = unique(ks, &ks->trust, cmp_trust, "duplicate trust entry");
    if (rc == ESESSION_OK)
        rc = unique(ks, &ks->optsets, cmp_optset, "duplicate option set nonce");
    if (rc == ESESSION_OK)
        rc = unique(ks, &ks->blobs, cmp_blob, "duplicate record name");
    return rc;
}
