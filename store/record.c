/* SPDX-License-Identifier: ISC */
/* Sealed records and transactions over the storage operations. */
#include "../core/bytes.h"
#include "ks.h"
#include "vindex.h"

#include <stdlib.h>
#include <string.h>

/* Envelope: u64 version | nonce[24] | XChaCha20-Poly1305(plain) where
 * plain = u16 name length | name | payload. */
#define ENV_VERSION 8u
#define ENV_HEAD (ENV_VERSION + ES_KS_NONCE_BYTES)
#define AD_MAGIC "ESR2"
#define AD_BYTES (4u + ES_STORE_ID_BYTES + 1u + ES_REC_ID_BYTES + 8u)
#define NAME_MAX_BYTES 0xffffu
#define ENV_MAX (ENV_HEAD + 2u + NAME_MAX_BYTES + ES_REC_PAYLOAD_MAX + ES_KS_TAG_BYTES)
/* The generation counters: the META record named "gens". */
static const char gens_name[] = "gens";

/* The keys are readable for the keystore's life (store/keystore.c). */
static const es_ks_keys *keys_open(const esession_keystore *ks)
{
    return ks->keys_mem;
}

void es_rec_id(const esession_keystore *ks, es_rec_kind kind, const void *name, size_t name_len,
               uint8_t out[ES_REC_ID_BYTES])
{
    crypto_generichash_state h;
    uint8_t k = (uint8_t)kind;
    const es_ks_keys *keys = keys_open(ks);
    memcpy(&h, keys->id_state, sizeof h); /* = crypto_generichash_init(&h, id key, ...) */
    crypto_generichash_update(&h, &k, 1);
    crypto_generichash_update(&h, name, name_len);
    crypto_generichash_final(&h, out, ES_REC_ID_BYTES);
    sodium_memzero(&h, sizeof h);
}

/* The id of (kind, name) through the handle's cache (see ks.h):
 * direct-mapped by an FNV-1a hash of kind and name. */
static void rec_id(esession_keystore *ks, es_rec_kind kind, const void *name, size_t name_len,
                   uint8_t out[ES_REC_ID_BYTES])
{
    const uint8_t *n = name;
    if (name_len == 0 || name_len > ES_KS_ID_NAME_MAX) {
        es_rec_id(ks, kind, name, name_len, out);
        return;
    }
    uint32_t h = (2166136261u ^ (uint32_t)kind) * 16777619u;
    for (size_t i = 0; i < name_len; i++)
        h = (h ^ n[i]) * 16777619u;
    es_ks_id_slot *slot = &ks->id_cache[h % ES_KS_ID_CACHE];
    if (slot->len == name_len && slot->kind == (uint8_t)kind &&
        memcmp(slot->name, n, name_len) == 0) {
        memcpy(out, slot->id, ES_REC_ID_BYTES);
        return;
    }
    es_rec_id(ks, kind, name, name_len, out);
    slot->len = (uint8_t)name_len;
    slot->kind = (uint8_t)kind;
    memcpy(slot->name, n, name_len);
    memcpy(slot->id, out, ES_REC_ID_BYTES);
}

static void make_ad(const esession_keystore *ks, es_rec_kind kind, const uint8_t *id,
                    uint64_t version, uint8_t ad[AD_BYTES])
{
    memcpy(ad, AD_MAGIC, 4);
    memcpy(ad + 4, ks->store_id, ES_STORE_ID_BYTES);
    ad[4 + ES_STORE_ID_BYTES] = (uint8_t)kind;
    memcpy(ad + 5 + ES_STORE_ID_BYTES, id, ES_REC_ID_BYTES);
    es_be_put(ad + 5 + ES_STORE_ID_BYTES + ES_REC_ID_BYTES, version, 8);
}

/* A fresh nonce, made in batches from a seed drawn from the context's
 * random source. A child process never uses nonces its parent made (both
 * would). */
static esession_status next_nonce(esession_keystore *ks, uint8_t out[ES_KS_NONCE_BYTES])
{
    es_ks_nonces *b = ks->nonces;
    if (b->left == 0) {
        uint8_t seed[randombytes_SEEDBYTES];
        esession_status rc = es_random(ks->ctx, seed, sizeof seed);
        if (rc != ESESSION_OK)
            return rc;
        randombytes_buf_deterministic(b->v, sizeof b->v, seed);
        sodium_memzero(seed, sizeof seed);
        es_ks_nonces_drawn(ks);
    }
    uint8_t *n = b->v + (--b->left) * ES_KS_NONCE_BYTES;
    memcpy(out, n, ES_KS_NONCE_BYTES);
    sodium_memzero(n, ES_KS_NONCE_BYTES); /* never handed out twice */
    return ESESSION_OK;
}

static esession_status backend_fail(esession_keystore *ks, const char *what)
{
    return es_fail(ks->ctx, ESESSION_ERR_IO, "storage: cannot %s", what);
}

/* ---- sealing ----------------------------------------------------------- */

static esession_status seal(esession_keystore *ks, es_rec_kind kind, const uint8_t *id,
                            uint64_t version, const void *name, size_t name_len,
                            const void *data, size_t len, uint8_t **env, size_t *env_len)
{
    if (name_len > NAME_MAX_BYTES || len > ES_REC_PAYLOAD_MAX)
        return es_fail(ks->ctx, ESESSION_ERR_LIMIT, "record too large");
    size_t plain_len = 2 + name_len + len;
    uint8_t *plain = es_secret_alloc_in(ks->ctx, plain_len);
    uint8_t *out = malloc(ENV_HEAD + plain_len + ES_KS_TAG_BYTES);
    uint8_t ad[AD_BYTES];
    esession_status rc = ESESSION_OK;

    if (plain == NULL || out == NULL) {
        es_secret_free(plain);
        free(out);
        return es_fail(ks->ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    }
    es_be_put(plain, name_len, 2);
    if (name_len > 0)
        memcpy(plain + 2, name, name_len);
    if (len > 0)
        memcpy(plain + 2 + name_len, data, len);
    es_be_put(out, version, 8);
    if ((rc = next_nonce(ks, out + ENV_VERSION)) != ESESSION_OK) {
        es_secret_free(plain);
        free(out);
        return rc;
    }
    make_ad(ks, kind, id, version, ad);
    const es_ks_keys *keys = keys_open(ks);
    if (crypto_aead_xchacha20poly1305_ietf_encrypt(out + ENV_HEAD, NULL, plain, plain_len, ad,
                                                   sizeof ad, NULL, out + ENV_VERSION,
                                                   keys->record) != 0)
        rc = es_fail(ks->ctx, ESESSION_ERR_INTERNAL, "record encryption failed");
    es_secret_free(plain);
    if (rc != ESESSION_OK) {
        free(out);
        return rc;
    }
    *env = out;
    *env_len = ENV_HEAD + plain_len + ES_KS_TAG_BYTES;
    return ESESSION_OK;
}

/* Open an envelope into guarded memory: *plain (free with es_secret_free)
 * holding the name at *name and the payload at *data. */
typedef struct opened {
    uint8_t *plain;
    size_t plain_len;
    const uint8_t *name;
    size_t name_len;
    const uint8_t *data;
    size_t len;
    uint64_t version;
} opened;

static esession_status unseal(esession_keystore *ks, es_rec_kind kind, const uint8_t *id,
                              const uint8_t *env, size_t env_len, opened *o)
{
    uint8_t ad[AD_BYTES];
    if (env_len < ENV_HEAD + ES_KS_TAG_BYTES + 2 || env_len > ENV_MAX)
        return es_fail(ks->ctx, ESESSION_ERR_CORRUPT, "storage: record of impossible size");
    uint64_t version = es_be_get(env, 8);
    /* A record can be no newer than the commit writing it. */
    uint64_t newest = ks->total + (ks->tx_write ? 1u : 0u);
    if (version == 0 || version > newest)
        return es_fail(ks->ctx, ESESSION_ERR_CORRUPT,
                       "storage: a record is newer than the store (copied from elsewhere?)");
    size_t plain_len = env_len - ENV_HEAD - ES_KS_TAG_BYTES;
    uint8_t *plain = es_secret_alloc_in(ks->ctx, plain_len);
    if (plain == NULL)
        return es_fail(ks->ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    make_ad(ks, kind, id, version, ad);
    const es_ks_keys *keys = keys_open(ks);
    int bad = crypto_aead_xchacha20poly1305_ietf_decrypt(plain, NULL, NULL, env + ENV_HEAD,
                                                         env_len - ENV_HEAD, ad, sizeof ad,
                                                         env + ENV_VERSION, keys->record);
    size_t name_len = bad ? 0 : (size_t)es_be_get(plain, 2);
    if (bad || name_len > plain_len - 2) {
        es_secret_free(plain);
        return es_fail(ks->ctx, ESESSION_ERR_CORRUPT,
                       "storage: a record fails authentication (altered, swapped or moved)");
    }
    o->plain = plain;
    o->plain_len = plain_len;
    o->name = plain + 2;
    o->name_len = name_len;
    o->data = plain + 2 + name_len;
    o->len = plain_len - 2 - name_len;
    o->version = version;
    return ESESSION_OK;
}

/* ---- records ----------------------------------------------------------- */

static esession_status need_tx(esession_keystore *ks, int write)
{
    if (ks->depth == 0 || (write && !ks->tx_write))
        return es_fail(ks->ctx, ESESSION_ERR_INTERNAL, "storage: %s outside a transaction",
                       write ? "write" : "read");
    return ESESSION_OK;
}

static esession_status fetch(esession_keystore *ks, es_rec_kind kind, const uint8_t *id,
                             uint8_t **env, size_t *env_len)
{
    int r = ks->ops->get(ks->ctx->user, ks->store, (unsigned)kind, id, env, env_len);
    if (r == 1)
        return ESESSION_ERR_NO_SESSION;
    if (r != 0)
        return backend_fail(ks, "read a record");
    return ESESSION_OK;
}

esession_status es_rec_get(esession_keystore *ks, es_rec_kind kind, const void *name,
                           size_t name_len, esession_buf *out, uint64_t *version)
{
    uint8_t id[ES_REC_ID_BYTES];
    uint64_t v = 0;
    esession_buf b = {NULL, 0, 0};
    esession_status rc = es_rec_get_raw(ks, kind, name, name_len, &b, &v);
    if (kind != ES_REC_META && (rc == ESESSION_OK || rc == ESESSION_ERR_NO_SESSION)) {
        /* Present at the version the index names, or absent from both. */
        rec_id(ks, kind, name, name_len, id);
        esession_status chk = es_vidx_check(ks, kind, id, rc == ESESSION_OK, v);
        if (chk != ESESSION_OK) {
            esession_buf_free(&b);
            return chk;
        }
        if (rc == ESESSION_ERR_NO_SESSION)
            (void)es_fail(ks->ctx, rc, "no such record");
    }
    if (rc != ESESSION_OK)
        return rc;
    if (out != NULL)
        *out = b;
    else
        esession_buf_free(&b);
    if (version != NULL)
        *version = v;
    return ESESSION_OK;
}

esession_status es_rec_get_raw(esession_keystore *ks, es_rec_kind kind, const void *name,
                               size_t name_len, esession_buf *out, uint64_t *version)
{
    uint8_t id[ES_REC_ID_BYTES];
    uint8_t *env = NULL;
    size_t env_len = 0;
    opened o;
    esession_status rc = need_tx(ks, 0);
    if (rc != ESESSION_OK)
        return rc;
    rec_id(ks, kind, name, name_len, id);
    if ((rc = fetch(ks, kind, id, &env, &env_len)) != ESESSION_OK)
        return rc == ESESSION_ERR_NO_SESSION ? es_fail(ks->ctx, rc, "no such record") : rc;
    rc = unseal(ks, kind, id, env, env_len, &o);
    free(env);
    if (rc != ESESSION_OK)
        return rc;
    if (o.name_len != name_len || sodium_memcmp(o.name, name, name_len) != 0)
        rc = es_fail(ks->ctx, ESESSION_ERR_CORRUPT, "storage: a record names another");
    if (rc == ESESSION_OK && out != NULL) {
        rc = es_buf_set_in(ks->ctx, out, o.data, o.len, 1);
        if (rc != ESESSION_OK)
            rc = es_fail(ks->ctx, rc, "out of memory");
    }
    if (rc == ESESSION_OK && version != NULL)
        *version = o.version;
    es_secret_free(o.plain);
    return rc;
}

esession_status es_rec_version(esession_keystore *ks, es_rec_kind kind, const void *name,
                               size_t name_len, uint64_t *version)
{
    uint8_t id[ES_REC_ID_BYTES];
    uint8_t *env = NULL;
    size_t env_len = 0;
    esession_status rc = need_tx(ks, 0);
    if (rc != ESESSION_OK)
        return rc;
    rec_id(ks, kind, name, name_len, id);
    if ((rc = fetch(ks, kind, id, &env, &env_len)) != ESESSION_OK)
        return rc == ESESSION_ERR_NO_SESSION ? es_fail(ks->ctx, rc, "no such record") : rc;
    if (env_len < ENV_HEAD)
        rc = es_fail(ks->ctx, ESESSION_ERR_CORRUPT, "storage: record of impossible size");
    else
        *version = es_be_get(env, 8);
    free(env);
    return rc;
}

/* es_rec_put; with keep, the envelope written is handed out (*keep,
 * free()) rather than freed; at (non-zero) is the version to write in
 * place of this commit's. */
static esession_status put_rec(esession_keystore *ks, es_rec_kind kind, const void *name,
                               size_t name_len, const uint8_t *owner, const void *data,
                               size_t len, uint64_t at, uint64_t *version, uint8_t **keep,
                               size_t *keep_len)
{
    uint8_t id[ES_REC_ID_BYTES];
    uint8_t *env = NULL;
    size_t env_len = 0;
    esession_status rc = need_tx(ks, 1);
    if (rc != ESESSION_OK)
        return rc;
    uint64_t v = at != 0 ? at : ks->total + 1;
    rec_id(ks, kind, name, name_len, id);
    if ((rc = seal(ks, kind, id, v, name, name_len, data, len, &env, &env_len)) != ESESSION_OK)
        return rc;
    if (ks->ops->put(ks->ctx->user, ks->store, (unsigned)kind, id, owner, env, env_len) != 0)
        rc = backend_fail(ks, "write a record");
    if (rc == ESESSION_OK && keep != NULL) {
        *keep = env;
        *keep_len = env_len;
    } else {
        free(env);
    }
    if (rc != ESESSION_OK)
        return rc;
    ks->tx_dirty |= 1u << kind;
    ks->tx_writes++;
    if (kind != ES_REC_META && (rc = es_vidx_set(ks, kind, id, 1, v)) != ESESSION_OK)
        return rc;
    if (version != NULL)
        *version = v;
    return ESESSION_OK;
}

esession_status es_rec_put(esession_keystore *ks, es_rec_kind kind, const void *name,
                           size_t name_len, const uint8_t *owner, const void *data, size_t len,
                           uint64_t *version)
{
    return put_rec(ks, kind, name, name_len, owner, data, len, 0, version, NULL, NULL);
}

esession_status es_rec_put_at(esession_keystore *ks, es_rec_kind kind, const void *name,
                              size_t name_len, const void *data, size_t len, uint64_t version)
{
    if (version == 0 || version > ks->total)
        return es_fail(ks->ctx, ESESSION_ERR_INTERNAL, "storage: a version from the future");
    return put_rec(ks, kind, name, name_len, NULL, data, len, version, NULL, NULL, NULL);
}

esession_status es_rec_del(esession_keystore *ks, es_rec_kind kind, const void *name,
                           size_t name_len)
{
    uint8_t id[ES_REC_ID_BYTES];
    esession_status rc = need_tx(ks, 1);
    if (rc != ESESSION_OK)
        return rc;
    rec_id(ks, kind, name, name_len, id);
    if (ks->ops->del(ks->ctx->user, ks->store, (unsigned)kind, id) != 0)
        return backend_fail(ks, "remove a record");
    ks->tx_dirty |= 1u << kind;
    ks->tx_writes++;
    return kind != ES_REC_META ? es_vidx_set(ks, kind, id, 0, 0) : ESESSION_OK;
}

typedef struct list_arg {
    esession_keystore *ks;
    es_rec_kind kind;
    es_rec_each each;
    void *arg;
    esession_status rc;
    uint64_t seen;
} list_arg;

static int list_one(void *p, const uint8_t id[32], const uint8_t *env, size_t env_len)
{
    list_arg *a = p;
    uint8_t check[ES_REC_ID_BYTES];
    opened o;
    a->rc = unseal(a->ks, a->kind, id, env, env_len, &o);
    if (a->rc != ESESSION_OK)
        return -1;
    /* The id must be the one its name gives, or records could be swapped. */
    es_rec_id(a->ks, a->kind, o.name, o.name_len, check);
    a->seen++;
    if (sodium_memcmp(check, id, sizeof check) != 0)
        a->rc = es_fail(a->ks->ctx, ESESSION_ERR_CORRUPT, "storage: a record names another");
    else if (a->kind != ES_REC_META &&
             (a->rc = es_vidx_check(a->ks, a->kind, id, 1, o.version)) != ESESSION_OK)
        ; /* refused: rolled back, or never written here */
    else
        a->rc = a->each(a->arg, o.name, o.name_len, o.data, o.len, o.version);
    es_secret_free(o.plain);
    return a->rc == ESESSION_OK ? 0 : -1;
}

esession_status es_rec_list(esession_keystore *ks, es_rec_kind kind, const uint8_t *owner,
                            es_rec_each each, void *arg)
{
    list_arg a = {ks, kind, each, arg, ESESSION_OK, 0};
    esession_status rc = need_tx(ks, 0);
    if (rc != ESESSION_OK)
        return rc;
    if (ks->ops->list(ks->ctx->user, ks->store, (unsigned)kind, owner, list_one, &a) != 0)
        return a.rc != ESESSION_OK ? a.rc : backend_fail(ks, "list records");
    /* Each listed record is checked; that none is missing, by the count. */
    if (kind != ES_REC_META && owner == NULL && a.seen != ks->count[kind])
        return es_fail(ks->ctx, ESESSION_ERR_CORRUPT,
                       "storage: records are missing (%llu of %llu)", (unsigned long long)a.seen,
                       (unsigned long long)ks->count[kind]);
    return ESESSION_OK;
}

/* ---- generations ------------------------------------------------------- */

#define GENS_BYTES ES_KS_GENS_BYTES
#define GENS_V0 ES_KS_GENS_V0_BYTES
/* Offsets in a payload counting nk kinds. */
#define OFF_COUNT(nk) (8u + 8u * (nk))
#define OFF_ROOT(nk) (8u + 16u * (nk))
/* Format 1 (docs/keystore.md): format 0, then this octet, the number of
 * recent entries, the entries; format 2 the same with ES_REC_KINDS kinds
 * counted, not ES_REC_KINDS_V1. */
#define GENS_FORMAT ES_KS_GENS_FORMAT_QUEUE

/* Keep env (taken over) and its payload as the handle's copy of the
 * generation record. */
static void gens_keep(esession_keystore *ks, uint8_t *env, size_t env_len, const uint8_t *p,
                      size_t len)
{
    free(ks->gens_env);
    ks->gens_env = env;
    ks->gens_env_len = env_len;
    memcpy(ks->gens_plain, p, len);
    ks->gens_plain_len = len;
}

/* Does a payload of this length end with the format octet f, a count of
 * recent entries and that many entries, after a head counting nk kinds? */
static int gens_has_list(const uint8_t *p, size_t len, unsigned f, unsigned nk)
{
    size_t head = ES_KS_GENS_HEAD_BYTES(nk);
    return len >= head + 2 && len <= GENS_BYTES && p[head] == f &&
           len == head + 2 + (size_t)p[head + 1] * ES_VIDX_ENTRY;
}

/* The format of a payload (0: the index root last; 1: a recent list
 * after it; 2: the same counting the queue's kind), or -1. The lengths
 * alone tell them apart: a head of either size plus two octets plus whole
 * entries never gives the other's. */
int es_ks_gens_format(const uint8_t *p, size_t len)
{
    if (len == GENS_V0)
        return 0;
    if (gens_has_list(p, len, 1u, ES_REC_KINDS_V1))
        return 1;
    if (gens_has_list(p, len, 2u, ES_REC_KINDS))
        return 2;
    return -1;
}

/* The generation record's payload and version. The envelope is fetched
 * every time; when its octets are those this handle last wrote or opened
 * (same key, so the same authenticated content), the payload kept with
 * them is used instead of opening them again. */
static esession_status gens_get(esession_keystore *ks, uint8_t p[GENS_BYTES], size_t *len,
                                uint64_t *version)
{
    uint8_t id[ES_REC_ID_BYTES];
    uint8_t *env = NULL;
    size_t env_len = 0;
    opened o;
    rec_id(ks, ES_REC_META, gens_name, sizeof gens_name - 1, id);
    esession_status rc = fetch(ks, ES_REC_META, id, &env, &env_len);
    if (rc == ESESSION_ERR_NO_SESSION)
        return es_fail(ks->ctx, ESESSION_ERR_CORRUPT, "storage: the generation record is missing");
    if (rc != ESESSION_OK)
        return rc;
    if (ks->gens_env != NULL && env_len == ks->gens_env_len &&
        memcmp(env, ks->gens_env, env_len) == 0) {
        free(env);
        memcpy(p, ks->gens_plain, ks->gens_plain_len);
        *len = ks->gens_plain_len;
        *version = es_be_get(ks->gens_env, 8);
        return ESESSION_OK;
    }
    if ((rc = unseal(ks, ES_REC_META, id, env, env_len, &o)) != ESESSION_OK) {
        free(env);
        return rc;
    }
    if (o.name_len != sizeof gens_name - 1 ||
        sodium_memcmp(o.name, gens_name, sizeof gens_name - 1) != 0)
        rc = es_fail(ks->ctx, ESESSION_ERR_CORRUPT, "storage: a record names another");
    else if (es_ks_gens_format(o.data, o.len) < 0)
        rc = es_fail(ks->ctx, ESESSION_ERR_CORRUPT, "storage: damaged generation record");
    if (rc == ESESSION_OK) {
        memcpy(p, o.data, o.len);
        *len = o.len;
        *version = o.version;
        gens_keep(ks, env, env_len, p, o.len);
    } else {
        free(env);
    }
    es_secret_free(o.plain);
    return rc;
}

/* Read the commit counter and the per-kind generations: ks->total first
 * (records are checked against it), then the record itself. */
static esession_status read_gens(esession_keystore *ks)
{
    uint8_t p[GENS_BYTES];
    size_t len = 0;
    uint64_t version = 0;
    ks->total = UINT64_MAX - 1; /* any version passes until the real count is read */
    esession_status rc = gens_get(ks, p, &len, &version);
    /* Written by every commit, as its last record: its version is the count. */
    if (rc == ESESSION_OK && es_be_get(p, 8) != version)
        rc = es_fail(ks->ctx, ESESSION_ERR_CORRUPT, "storage: damaged generation record");
    if (rc == ESESSION_OK) {
        int f = es_ks_gens_format(p, len);
        unsigned nk = f >= 2 ? ES_REC_KINDS : ES_REC_KINDS_V1;
        size_t head = ES_KS_GENS_HEAD_BYTES(nk);
        ks->gens_format = (unsigned)f;
        ks->total = es_be_get(p, 8);
        for (unsigned k = 0; k < ES_REC_KINDS; k++) {
            ks->gen[k] = k < nk ? es_be_get(p + 8 + 8 * k, 8) : 0;
            ks->count[k] = k < nk ? es_be_get(p + OFF_COUNT(nk) + 8 * k, 8) : 0;
        }
        for (unsigned m = 0; m < ES_VIDX_FAN; m++)
            ks->vroot[m] = es_be_get(p + OFF_ROOT(nk) + 8 * m, 8);
        ks->n_vrecent = 0;
        if (len > head)
            rc = es_vidx_recent_read(ks, p + head + 2, len - head - 2);
    }
    return rc;
}

static esession_status write_gens(esession_keystore *ks)
{
    uint8_t p[GENS_BYTES];
    uint8_t *env = NULL;
    size_t env_len = 0;
    esession_status rc = es_vidx_flush(ks, ks->total + 1);
    if (rc != ESESSION_OK)
        return rc;
    const size_t head = ES_KS_GENS_HEAD_BYTES(ES_REC_KINDS);
    es_be_put(p, ks->total + 1, 8);
    for (unsigned k = 0; k < ES_REC_KINDS; k++)
        es_be_put(p + 8 + 8 * k, ks->gen[k] + ((ks->tx_dirty >> k) & 1u), 8);
    for (unsigned k = 0; k < ES_REC_KINDS; k++)
        es_be_put(p + OFF_COUNT(ES_REC_KINDS) + 8 * k, ks->count[k], 8);
    for (unsigned m = 0; m < ES_VIDX_FAN; m++)
        es_be_put(p + OFF_ROOT(ES_REC_KINDS) + 8 * m, ks->vroot[m], 8);
    p[head] = GENS_FORMAT;
    p[head + 1] = (uint8_t)ks->n_vrecent;
    size_t len = head + 2 + es_vidx_recent_write(ks, p + head + 2);
    rc = put_rec(ks, ES_REC_META, gens_name, sizeof gens_name - 1, NULL, p, len, 0, NULL, &env,
                 &env_len);
    if (rc == ESESSION_OK) {
        gens_keep(ks, env, env_len, p, len); /* kept even if the commit fails: it is what it says */
        ks->gens_format = GENS_FORMAT;
    }
    return rc;
}

/* Reload what another handle changed since this one last looked. */
static esession_status refresh(esession_keystore *ks)
{
    static const es_rec_kind cached[] = {ES_REC_KEY, ES_REC_TRUST, ES_REC_OPTSET};
    for (size_t i = 0; i < ES_ARRAY_LEN(cached); i++) {
        es_rec_kind k = cached[i];
        if (ks->gen_seen[k] == ks->gen[k])
            continue;
        esession_status rc = es_ks_load_kind(ks, k);
        if (rc != ESESSION_OK)
            return rc;
        ks->gen_seen[k] = ks->gen[k];
    }
    return ESESSION_OK;
}

static void forget_cache(esession_keystore *ks)
{
    for (unsigned k = 0; k < ES_REC_KINDS; k++)
        ks->gen_seen[k] = UINT64_MAX;
}

/* ---- transactions ------------------------------------------------------ */

static void finish(esession_keystore *ks, int committed)
{
    if (committed)
        es_vidx_keep(ks);
    else
        es_vidx_forget(ks);
    if (committed) {
        /* This handle made the changes, so its caches are current. */
        for (unsigned k = 0; k < ES_REC_KINDS; k++) {
            int dirty = (ks->tx_dirty >> k) & 1u;
            if (dirty && ks->gen_seen[k] == ks->gen[k])
                ks->gen_seen[k] = ks->gen[k] + 1;
        }
    } else {
        forget_cache(ks);
        ks->rollbacks++;
    }
    ks->depth = 0;
    ks->tx_write = 0;
    ks->tx_doomed = 0;
    ks->tx_dirty = 0;
}

esession_status es_tx_begin(esession_keystore *ks, int write)
{
    if (ks->depth > 0) {
        if (write && !ks->tx_write)
            return es_fail(ks->ctx, ESESSION_ERR_STATE, "not in a read-only batch");
        if (ks->depth >= ES_TX_DEPTH_MAX)
            return es_fail(ks->ctx, ESESSION_ERR_INTERNAL, "storage: transactions nested too deep");
        ks->tx_mark[ks->depth++] = ks->tx_writes;
        return ESESSION_OK;
    }
    if (ks->ops->begin(ks->ctx->user, ks->store, write) != 0)
        return backend_fail(ks, "start a transaction");
    es_ks_nonces_check(ks);
    ks->tx_serial++;
    ks->depth = 1;
    ks->tx_write = write;
    ks->tx_doomed = 0;
    ks->tx_dirty = 0;
    ks->tx_writes = 0;
    ks->tx_mark[0] = 0;
    esession_status rc = read_gens(ks);
    if (rc == ESESSION_OK) {
        es_vidx_revalidate(ks);
        rc = refresh(ks);
    }
    /* A store of an older format is brought to the one this commit will
     * write (its generation record counts the queue's kind). */
    if (rc == ESESSION_OK && write && ks->gens_format < ES_KS_GENS_FORMAT_QUEUE)
        rc = es_ks_queue_upgrade(ks);
    if (rc != ESESSION_OK) {
        ks->ops->rollback(ks->ctx->user, ks->store);
        finish(ks, 0);
    }
    return rc;
}

esession_status es_tx_begin_new(esession_keystore *ks)
{
    if (ks->depth > 0)
        return es_fail(ks->ctx, ESESSION_ERR_INTERNAL, "storage: nested creation");
    if (ks->ops->begin(ks->ctx->user, ks->store, 1) != 0)
        return backend_fail(ks, "start a transaction");
    ks->tx_serial++;
    ks->depth = 1;
    ks->tx_write = 1;
    ks->tx_doomed = 0;
    ks->tx_dirty = 0;
    ks->tx_writes = 0;
    ks->tx_mark[0] = 0;
    ks->total = 0;
    ks->gens_format = ES_KS_GENS_FORMAT_QUEUE;
    memset(ks->gen, 0, sizeof ks->gen);
    memset(ks->vroot, 0, sizeof ks->vroot);
    memset(ks->count, 0, sizeof ks->count);
    memset(ks->gen_seen, 0, sizeof ks->gen_seen);
    ks->n_vrecent = 0;
    return ESESSION_OK;
}

esession_status es_rec_put_raw(esession_keystore *ks, es_rec_kind kind,
                               const uint8_t id[ES_REC_ID_BYTES], const uint8_t *data,
                               size_t len)
{
    esession_status rc = need_tx(ks, 1);
    if (rc != ESESSION_OK)
        return rc;
    if (ks->ops->put(ks->ctx->user, ks->store, (unsigned)kind, id, NULL, data, len) != 0)
        return backend_fail(ks, "write the header");
    ks->tx_dirty |= 1u << kind;
    ks->tx_writes++;
    return ESESSION_OK;
}

esession_status es_tx_end(esession_keystore *ks, esession_status rc)
{
    if (ks->depth == 0)
        return rc != ESESSION_OK ? rc : es_fail(ks->ctx, ESESSION_ERR_INTERNAL, "no transaction");
    /* A failure after this level wrote something leaves its change half
     * done: the whole transaction must go. One before any write (a check
     * that said no) leaves nothing behind. */
    --ks->depth;
    if (rc != ESESSION_OK && ks->tx_writes != ks->tx_mark[ks->depth])
        ks->tx_doomed = 1;
    if (ks->depth > 0)
        return rc;
    if (ks->tx_doomed) {
        ks->ops->rollback(ks->ctx->user, ks->store);
        finish(ks, 0);
        return rc != ESESSION_OK ? rc
                                 : es_fail(ks->ctx, ESESSION_ERR_STATE,
                                           "an earlier call in this batch failed: rolled back");
    }
    if (ks->tx_dirty == 0) {
        /* Nothing written: release the snapshot or the lock. */
        ks->ops->rollback(ks->ctx->user, ks->store);
        finish(ks, 1);
        return rc;
    }
    ks->depth = 1; /* write_gens needs the transaction */
    rc = write_gens(ks);
    ks->depth = 0;
    if (rc == ESESSION_OK && ks->hooks.before_commit != NULL &&
        ks->hooks.before_commit(ks->hooks.user) != 0)
        rc = es_fail(ks->ctx, ESESSION_ERR_IO, "storage: commit failed (test hook)");
    if (rc == ESESSION_OK && ks->ops->commit(ks->ctx->user, ks->store) != 0)
        rc = backend_fail(ks, "commit");
    if (rc != ESESSION_OK) {
        ks->ops->rollback(ks->ctx->user, ks->store);
        finish(ks, 0);
        return rc;
    }
    finish(ks, 1);
    /* Committed: the anchor follows (it may lag by one after a crash,
     * never lead). */
    if (ks->ctx->ops.anchor_set != NULL) {
        char id[2 * ES_STORE_ID_BYTES + 1];
        es_hex(id, ks->store_id, ES_STORE_ID_BYTES);
        (void)ks->ctx->ops.anchor_set(ks->ctx->user, id, ks->total + 1);
    }
    return ESESSION_OK;
}

uint64_t es_tx_rollbacks(const esession_keystore *ks)
{
    return ks->rollbacks;
}

void es_ks_set_hooks(esession_keystore *ks, const es_ks_hooks *hooks)
{
    static const es_ks_hooks none = {NULL, NULL};
    ks->hooks = hooks != NULL ? *hooks : none;
}
