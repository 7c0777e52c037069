/* SPDX-License-Identifier: ISC */
/* The keystore handle: create, open (converting the earlier single-file
 * format), change passphrase, batches, close; the cached kinds. */
#include "../core/bytes.h"
#include "header.h"
#include "ks.h"
#include "sqlite.h"
#include "vindex.h"

#include <stdlib.h>
#include <string.h>

/* The header's id: all zero, where keyed ids never fall in practice. */
static const uint8_t header_id[ES_REC_ID_BYTES];

static esession_status check_pass(esession_ctx *ctx, const char *pass, size_t len)
{
    if (pass == NULL && len > 0)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL passphrase");
    if (len > ES_KS_PASSPHRASE_MAX)
        return es_fail(ctx, ESESSION_ERR_LIMIT, "passphrase longer than %u octets",
                       ES_KS_PASSPHRASE_MAX);
    return ESESSION_OK;
}

static esession_status check_options(esession_ctx *ctx, const esession_keystore_options *opt)
{
    if (opt == NULL)
        return ESESSION_OK;
    if (opt->version != ESESSION_KEYSTORE_OPTIONS_VERSION)
        return es_fail(ctx, ESESSION_ERR_VERSION, "unknown keystore options version %u",
                       opt->version);
    if (opt->durability != ESESSION_DURABILITY_PROCESS &&
        opt->durability != ESESSION_DURABILITY_FULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "unknown durability");
    return ESESSION_OK;
}

static unsigned open_flags(const esession_keystore_options *opt)
{
    return opt != NULL && opt->durability == ESESSION_DURABILITY_FULL ? ESESSION_STORE_SYNC_FULL
                                                                      : 0u;
}

static esession_keystore *ks_new(esession_ctx *ctx, const char *path)
{
    esession_keystore *ks = calloc(1, sizeof *ks);
    if (ks == NULL)
        return NULL;
    ks->ctx = ctx;
    ks->ops = ctx->ops.store != NULL ? ctx->ops.store : &es_sqlite_ops;
    ks->path = strdup(path);
    ks->keys_mem = es_guarded_alloc(sizeof *ks->keys_mem);
    if (ks->path == NULL || ks->keys_mem == NULL || es_ks_nonces_new(ks) != ESESSION_OK) {
        es_guarded_free(ks->keys_mem);
        free(ks->path);
        free(ks);
        return NULL;
    }
    (void)sodium_mprotect_noaccess(ks->keys_mem); /* until set_keys */
    for (unsigned k = 0; k < ES_REC_KINDS; k++)
        ks->gen_seen[k] = UINT64_MAX;
    return ks;
}

void esession_keystore_free(esession_keystore *ks)
{
    if (ks == NULL)
        return;
    if (ks->depth > 0 && ks->store != NULL)
        ks->ops->rollback(ks->ctx->user, ks->store);
    if (ks->store != NULL)
        ks->ops->close(ks->ctx->user, ks->store);
    es_vec_free(&ks->keys, es_ks_key_free);
    es_vec_free(&ks->trust, es_ks_trust_free);
    es_vec_free(&ks->optsets, es_ks_optset_free);
    es_vidx_free(ks);
    free(ks->gens_env);
    es_ks_nonces_free(ks);
    es_guarded_free(ks->keys_mem);
    free(ks->path);
    sodium_memzero(ks, sizeof *ks);
    free(ks);
}

/* The record and id keys follow from the store key. The block stays
 * readable (never writable) for the keystore's life: every transaction
 * reads it, and opening and shutting it cost two system calls each time. */
static void set_keys(esession_keystore *ks, const uint8_t *store_key)
{
    (void)sodium_mprotect_readwrite(ks->keys_mem);
    es_ks_keys *k = ks->keys_mem;
    memcpy(k->store, store_key, sizeof k->store);
    crypto_kdf_derive_from_key(k->record, sizeof k->record, 1, "esrecord", k->store);
    crypto_kdf_derive_from_key(k->id, sizeof k->id, 2, "esrecord", k->store);
    crypto_generichash_state h;
    crypto_generichash_init(&h, k->id, sizeof k->id, ES_REC_ID_BYTES);
    memcpy(k->id_state, &h, sizeof k->id_state);
    sodium_memzero(&h, sizeof h);
    (void)sodium_mprotect_readonly(ks->keys_mem);
}

static esession_status open_backend(esession_keystore *ks, unsigned flags)
{
    int r = ks->ops->open(ks->ctx->user, ks->path, flags, &ks->store);
    if (r == 0)
        return ESESSION_OK;
    ks->store = NULL;
    if (flags & ESESSION_STORE_CREATE)
        return es_fail(ks->ctx, ESESSION_ERR_IO, "cannot create the keystore (does it exist?)");
    if (r == 2)
        return es_fail(ks->ctx, ESESSION_ERR_CORRUPT, "not a keystore, or a damaged one");
    return es_fail(ks->ctx, ESESSION_ERR_IO, r == 1 ? "no such keystore"
                                                    : "cannot open the keystore");
}

/* Write the header for the store key under (kdf, pass_key). */
static esession_status put_header(esession_keystore *ks, const es_ks_kdf *kdf, uint8_t *pass_key);

/* A new store with a random id and store key. */
static esession_status create_keyed(esession_ctx *ctx, const char *path, const es_ks_kdf *kdf,
                                    uint8_t *pass_key, unsigned flags, esession_keystore **out)
{
    uint8_t *store_key = NULL;
    esession_keystore *ks = ks_new(ctx, path);
    esession_status rc = ESESSION_OK;
    if (ks == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    if ((store_key = es_secret_alloc_in(ctx, ES_KS_KEY_BYTES)) == NULL)
        rc = es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    if (rc == ESESSION_OK && (rc = es_random(ctx, ks->store_id, sizeof ks->store_id)) ==
                                 ESESSION_OK &&
        (rc = es_random(ctx, store_key, ES_KS_KEY_BYTES)) == ESESSION_OK) {
        ks->kdf = *kdf;
        set_keys(ks, store_key);
        rc = open_backend(ks, ESESSION_STORE_CREATE | flags);
    }
    es_secret_free(store_key);
    int created = rc == ESESSION_OK;
    if (rc == ESESSION_OK && (rc = es_tx_begin_new(ks)) == ESESSION_OK)
        rc = es_tx_end(ks, put_header(ks, kdf, pass_key));
    if (rc != ESESSION_OK) {
        esession_keystore_free(ks);
        if (created && ctx->ops.store == NULL)
            es_sqlite_remove(path);
        return rc;
    }
    *out = ks;
    return ESESSION_OK;
}

static esession_status put_header(esession_keystore *ks, const es_ks_kdf *kdf, uint8_t *pass_key)
{
    uint8_t h[ES_HDR_BYTES];
    /* The keys are readable once set (set_keys). */
    esession_status rc = es_hdr_write(ks->ctx, kdf, ks->store_id, pass_key,
                                      ks->keys_mem->store, h);
    if (rc == ESESSION_OK)
        rc = es_rec_put_raw(ks, ES_REC_META, header_id, h, sizeof h);
    return rc;
}

esession_status es_ks_create_keyed(esession_ctx *ctx, const char *path, const es_ks_kdf *kdf,
                                   uint8_t *pass_key, esession_keystore **out)
{
    return create_keyed(ctx, path, kdf, pass_key, 0, out);
}

esession_status esession_keystore_create(esession_ctx *ctx, esession_keystore **out,
                                         const char *path, const char *passphrase,
                                         size_t passphrase_len,
                                         const esession_keystore_options *opt)
{
    static const es_ks_kdf moderate = {crypto_pwhash_argon2id_OPSLIMIT_MODERATE,
                                       crypto_pwhash_argon2id_MEMLIMIT_MODERATE, {0}};
    es_ks_kdf kdf = moderate;
    uint8_t *pass_key = NULL;
    esession_status rc;

    if (ctx == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ctx);
    if (out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL argument");
    if ((rc = check_pass(ctx, passphrase, passphrase_len)) != ESESSION_OK ||
        (rc = es_file_check_path(ctx, path)) != ESESSION_OK ||
        (rc = check_options(ctx, opt)) != ESESSION_OK ||
        (rc = es_kdf_resolve(ctx, opt, &moderate, &kdf)) != ESESSION_OK)
        return rc;
    /* Fail before the costly derivation; the backend's create is what
     * actually guarantees that nothing is replaced. */
    if (ctx->ops.store == NULL && es_file_exists(path))
        return es_fail(ctx, ESESSION_ERR_IO, "the file already exists");
    if ((rc = es_random(ctx, kdf.salt, sizeof kdf.salt)) != ESESSION_OK ||
        (rc = es_kdf_derive(ctx, &kdf, passphrase, passphrase_len, &pass_key)) != ESESSION_OK)
        return rc;
    rc = create_keyed(ctx, path, &kdf, pass_key, open_flags(opt), out);
    es_guarded_free(pass_key);
    return rc;
}

/* Read the header in a short read transaction. */
static esession_status read_header(esession_keystore *ks, uint8_t h[ES_HDR_BYTES])
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (ks->ops->begin(ks->ctx->user, ks->store, 0) != 0)
        return es_fail(ks->ctx, ESESSION_ERR_IO, "storage: cannot start a transaction");
    int r = ks->ops->get(ks->ctx->user, ks->store, ES_REC_META, header_id, &data, &len);
    ks->ops->rollback(ks->ctx->user, ks->store);
    esession_status rc = ESESSION_OK;
    if (r < 0)
        rc = es_fail(ks->ctx, ESESSION_ERR_IO, "storage: cannot read the header");
    else if (r == 1)
        rc = es_fail(ks->ctx, ESESSION_ERR_CORRUPT, "not a keystore: no header");
    else
        rc = es_hdr_read(ks->ctx, data, len, &ks->kdf, ks->store_id);
    if (rc == ESESSION_OK)
        memcpy(h, data, ES_HDR_BYTES);
    free(data);
    return rc;
}

/* What is at path: 0 a store (or something for SQLite to judge), 1 a
 * keystore of the earlier format, -1 nothing readable. */
static int file_kind(const char *path)
{
    uint8_t head[ES_KS_MAGIC_BYTES];
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    return n == sizeof head && memcmp(head, ES_KS_MAGIC, sizeof head) == 0;
}

/* An older copy of the whole store, put back, has fewer commits than the
 * host's anchor remembers (the store's own records cannot tell). */
static esession_status check_anchor(esession_keystore *ks)
{
    char id[2 * ES_STORE_ID_BYTES + 1];
    uint64_t anchor = 0;
    if (ks->ctx->ops.anchor_get == NULL)
        return ESESSION_OK;
    es_hex(id, ks->store_id, ES_STORE_ID_BYTES);
    int r = ks->ctx->ops.anchor_get(ks->ctx->user, id, &anchor);
    if (r < 0)
        return es_fail(ks->ctx, ESESSION_ERR_IO, "the host cannot read the store's anchor");
    if (r == 0 && anchor > ks->total)
        return es_fail(ks->ctx, ESESSION_ERR_CORRUPT,
                       "the store has %llu commits, its anchor %llu: an older copy was put back",
                       (unsigned long long)ks->total, (unsigned long long)anchor);
    return ESESSION_OK;
}

/* What opens a store: its passphrase, or a key derived from it earlier
 * (esession_keystore_derive_key: store id, salt, passphrase key). */
typedef struct open_secret {
    const char *pass;
    size_t pass_len;
    const uint8_t *key; /* NULL: derive from pass */
} open_secret;

#define KEY_OFF_ID 0u
#define KEY_OFF_SALT ES_STORE_ID_BYTES
#define KEY_OFF_PASS (ES_STORE_ID_BYTES + ES_KS_SALT_BYTES)
_Static_assert(KEY_OFF_PASS + ES_KS_KEY_BYTES == ESESSION_KEYSTORE_KEY_BYTES, "key layout");

/* The passphrase key for the header just read: derived, or taken from a
 * given key, which must name this store's id and salt (a key for another
 * store, or from before a change of passphrase, opens nothing). */
static esession_status pass_key_for(esession_keystore *ks, const open_secret *s,
                                    uint8_t **pass_key)
{
    if (s->key == NULL)
        return es_kdf_derive(ks->ctx, &ks->kdf, s->pass, s->pass_len, pass_key);
    if (sodium_memcmp(s->key + KEY_OFF_ID, ks->store_id, ES_STORE_ID_BYTES) != 0 ||
        sodium_memcmp(s->key + KEY_OFF_SALT, ks->kdf.salt, ES_KS_SALT_BYTES) != 0)
        return es_fail(ks->ctx, ESESSION_ERR_BAD_PASSPHRASE,
                       "the key was derived for another keystore, or before its passphrase "
                       "changed");
    uint8_t *k = es_guarded_alloc(ES_KS_KEY_BYTES);
    if (k == NULL)
        return es_fail(ks->ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    memcpy(k, s->key + KEY_OFF_PASS, ES_KS_KEY_BYTES);
    (void)sodium_mprotect_noaccess(k);
    *pass_key = k;
    return ESESSION_OK;
}

/* Open the store at path; with key_out, also hand out the key that opened
 * it (ESESSION_KEYSTORE_KEY_BYTES). */
static esession_status open_store(esession_ctx *ctx, esession_keystore **out, const char *path,
                                  const open_secret *s, const esession_keystore_options *opt,
                                  uint8_t *key_out)
{
    uint8_t h[ES_HDR_BYTES];
    uint8_t *pass_key = NULL, *store_key = NULL;
    esession_status rc;

    if ((rc = es_file_check_path(ctx, path)) != ESESSION_OK ||
        (rc = check_options(ctx, opt)) != ESESSION_OK)
        return rc;
    if (ctx->ops.store == NULL && file_kind(path) == 1) {
        if (s->key != NULL)
            return es_fail(ctx, ESESSION_ERR_STATE,
                           "a keystore of the earlier format is converted by an open with its "
                           "passphrase first");
        if ((rc = es_ks_migrate(ctx, path, s->pass, s->pass_len)) != ESESSION_OK)
            return rc;
    }

    esession_keystore *ks = ks_new(ctx, path);
    if (ks == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    rc = open_backend(ks, open_flags(opt));
    /* The header is checked before any derivation, so a store cannot make
     * us spend more than the bounded KDF cost. */
    if (rc == ESESSION_OK)
        rc = read_header(ks, h);
    if (rc == ESESSION_OK)
        rc = pass_key_for(ks, s, &pass_key);
    if (rc == ESESSION_OK && (store_key = es_secret_alloc(ES_KS_KEY_BYTES)) == NULL)
        rc = es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    if (rc == ESESSION_OK && (rc = es_hdr_unwrap(ctx, h, pass_key, store_key)) == ESESSION_OK)
        set_keys(ks, store_key);
    /* Check the generation record and load the cached kinds. */
    if (rc == ESESSION_OK && (rc = es_tx_begin(ks, 0)) == ESESSION_OK)
        rc = es_tx_end(ks, ESESSION_OK);
    if (rc == ESESSION_OK)
        rc = check_anchor(ks);
    if (rc == ESESSION_OK && key_out != NULL) {
        memcpy(key_out + KEY_OFF_ID, ks->store_id, ES_STORE_ID_BYTES);
        memcpy(key_out + KEY_OFF_SALT, ks->kdf.salt, ES_KS_SALT_BYTES);
        (void)sodium_mprotect_readonly(pass_key);
        memcpy(key_out + KEY_OFF_PASS, pass_key, ES_KS_KEY_BYTES);
    }
    es_guarded_free(pass_key);
    es_secret_free(store_key);
    if (rc != ESESSION_OK) {
        esession_keystore_free(ks);
        return rc;
    }
    *out = ks;
    return ESESSION_OK;
}

esession_status esession_keystore_open_with(esession_ctx *ctx, esession_keystore **out,
                                            const char *path, const char *passphrase,
                                            size_t passphrase_len,
                                            const esession_keystore_options *opt)
{
    esession_status rc;
    if (ctx == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ctx);
    if (out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL argument");
    if ((rc = check_pass(ctx, passphrase, passphrase_len)) != ESESSION_OK)
        return rc;
    open_secret s = {passphrase, passphrase_len, NULL};
    return open_store(ctx, out, path, &s, opt, NULL);
}

esession_status esession_keystore_derive_key(esession_ctx *ctx, const char *path,
                                             const char *passphrase, size_t passphrase_len,
                                             uint8_t key[ESESSION_KEYSTORE_KEY_BYTES])
{
    esession_keystore *ks = NULL;
    esession_status rc;
    if (ctx == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ctx);
    if (key == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL argument");
    if ((rc = check_pass(ctx, passphrase, passphrase_len)) != ESESSION_OK)
        return rc;
    /* Opening is what proves the passphrase right: a key is handed out only
     * once it has unwrapped the store key. */
    open_secret s = {passphrase, passphrase_len, NULL};
    rc = open_store(ctx, &ks, path, &s, NULL, key);
    esession_keystore_free(ks);
    return rc;
}

esession_status esession_keystore_open_with_key(esession_ctx *ctx, esession_keystore **out,
                                                const char *path,
                                                const uint8_t key[ESESSION_KEYSTORE_KEY_BYTES],
                                                const esession_keystore_options *opt)
{
    if (ctx == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ctx);
    if (out == NULL || key == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL argument");
    open_secret s = {NULL, 0, key};
    return open_store(ctx, out, path, &s, opt, NULL);
}

esession_status esession_keystore_open(esession_ctx *ctx, esession_keystore **out,
                                       const char *path, const char *passphrase,
                                       size_t passphrase_len)
{
    return esession_keystore_open_with(ctx, out, path, passphrase, passphrase_len, NULL);
}

esession_status esession_keystore_change_passphrase(esession_keystore *ks,
                                                    const char *passphrase,
                                                    size_t passphrase_len,
                                                    const esession_keystore_options *opt)
{
    es_ks_kdf kdf;
    uint8_t *pass_key = NULL;
    esession_status rc;

    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ks->ctx);
    if (ks->batch)
        return es_fail(ks->ctx, ESESSION_ERR_STATE, "not inside a batch");
    if ((rc = check_pass(ks->ctx, passphrase, passphrase_len)) != ESESSION_OK ||
        (rc = check_options(ks->ctx, opt)) != ESESSION_OK ||
        (rc = es_kdf_resolve(ks->ctx, opt, &ks->kdf, &kdf)) != ESESSION_OK ||
        (rc = es_random(ks->ctx, kdf.salt, sizeof kdf.salt)) != ESESSION_OK ||
        (rc = es_kdf_derive(ks->ctx, &kdf, passphrase, passphrase_len, &pass_key)) !=
            ESESSION_OK)
        return rc;
    if ((rc = es_tx_begin(ks, 1)) == ESESSION_OK)
        rc = es_tx_end(ks, put_header(ks, &kdf, pass_key));
    es_guarded_free(pass_key);
    if (rc == ESESSION_OK)
        ks->kdf = kdf;
    return rc;
}

/* ---- batches ------------------------------------------------------------ */

esession_status esession_keystore_begin(esession_keystore *ks)
{
    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ks->ctx);
    if (ks->batch || ks->depth > 0)
        return es_fail(ks->ctx, ESESSION_ERR_STATE, "a batch is already running");
    esession_status rc = es_tx_begin(ks, 1);
    if (rc == ESESSION_OK)
        ks->batch = 1;
    return rc;
}

esession_status esession_keystore_begin_read(esession_keystore *ks)
{
    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ks->ctx);
    if (ks->batch || ks->depth > 0)
        return es_fail(ks->ctx, ESESSION_ERR_STATE, "a batch is already running");
    esession_status rc = es_tx_begin(ks, 0);
    if (rc == ESESSION_OK)
        ks->batch = 1;
    return rc;
}

esession_status esession_keystore_commit(esession_keystore *ks)
{
    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ks->ctx);
    if (!ks->batch)
        return es_fail(ks->ctx, ESESSION_ERR_STATE, "no batch is running");
    ks->batch = 0;
    return es_tx_end(ks, ESESSION_OK);
}

void esession_keystore_rollback(esession_keystore *ks)
{
    if (ks == NULL || !ks->batch)
        return;
    ks->batch = 0;
    ks->tx_doomed = 1;
    (void)es_tx_end(ks, ESESSION_ERR_STATE);
    es_clear_detail(ks->ctx);
}

esession_status es_ks_check(esession_ctx *ctx, const esession_keystore *ks)
{
    if (ctx == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (ks == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL keystore");
    /* Errors, clocks and random sources are the keystore's context's: a
     * keystore opened under another context is misuse, not a second clock. */
    if (ks->ctx != ctx)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT,
                       "the keystore was opened with another context");
    return ESESSION_OK;
}

esession_status es_ks_require_durable(esession_ctx *ctx, const esession_keystore *ks)
{
    if (!ks->batch)
        return ESESSION_OK;
    return es_fail(ctx, ESESSION_ERR_STATE,
                   "not inside a batch: this must be committed before its result is used");
}

/* ---- cached kinds --------------------------------------------------------- */

static void (*item_free(es_rec_kind kind))(void *)
{
    return kind == ES_REC_KEY ? es_ks_key_free
           : kind == ES_REC_TRUST ? es_ks_trust_free : es_ks_optset_free;
}

typedef struct load_arg {
    esession_keystore *ks;
    es_rec_kind kind;
    es_vec vec;
    uint64_t *order; /* per item: its version, or its creation for option sets */
    size_t order_cap;
} load_arg;

static esession_status load_one(void *p, const uint8_t *name, size_t name_len,
                                const uint8_t *data, size_t len, uint64_t version)
{
    load_arg *a = p;
    esession_ctx *ctx = a->ks->ctx;
    void *item = NULL;
    size_t max = a->kind == ES_REC_KEY ? ES_KS_MAX_KEYS
                 : a->kind == ES_REC_TRUST ? ES_KS_MAX_TRUST : ES_KS_MAX_OPTSETS;
    esession_status rc = es_vec_reserve(&a->vec, max);
    if (rc != ESESSION_OK)
        return es_fail(ctx, rc == ESESSION_ERR_LIMIT ? ESESSION_ERR_CORRUPT : rc,
                       "storage: too many items of one kind");
    (void)name;
    (void)name_len;
    switch (a->kind) {
    case ES_REC_KEY:
        rc = es_ks_key_decode(ctx, data, len, (es_ks_key **)&item);
        break;
    case ES_REC_TRUST:
        rc = es_ks_trust_decode(ctx, data, len, (es_ks_trust **)&item);
        break;
    default:
        rc = es_ks_optset_decode(ctx, data, len, (es_ks_optset **)&item);
        break;
    }
    if (rc == ESESSION_OK && a->vec.n >= a->order_cap) {
        size_t cap = a->order_cap ? a->order_cap * 2 : 16;
        uint64_t *o = realloc(a->order, cap * sizeof *o);
        if (o == NULL) {
            item_free(a->kind)(item);
            return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
        }
        a->order = o;
        a->order_cap = cap;
    }
    if (rc == ESESSION_OK) {
        a->order[a->vec.n] = a->kind == ES_REC_OPTSET
                                 ? (uint64_t)((es_ks_optset *)item)->pub.created ^ (1ull << 63)
                                 : version; /* trust entries: by JID, below */
        es_vec_push(&a->vec, item);
    }
    return rc;
}

static int trust_cmp(const void *x, const void *y)
{
    const es_ks_trust *a = *(void *const *)x, *b = *(void *const *)y;
    int c = strcmp(a->jid, b->jid);
    return c != 0 ? c : memcmp(a->fp, b->fp, sizeof a->fp);
}

/* A stable order, not the storage's order of keyed ids: signing keys as
 * they were added, trust entries by JID and fingerprint, option sets by
 * creation. */
static esession_status sort_loaded(load_arg *a)
{
    if (a->kind == ES_REC_TRUST) {
        if (a->vec.n > 1)
            qsort(a->vec.v, a->vec.n, sizeof *a->vec.v, trust_cmp);
        return ESESSION_OK;
    }
    if (es_sort_by_order(a->vec.v, sizeof *a->vec.v, a->order, a->vec.n) != ESESSION_OK)
        return es_fail(a->ks->ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    return ESESSION_OK;
}

esession_status es_ks_load_kind(esession_keystore *ks, es_rec_kind kind)
{
    load_arg a = {ks, kind, {NULL, 0, 0}, NULL, 0};
    es_vec *target = kind == ES_REC_KEY ? &ks->keys
                     : kind == ES_REC_TRUST ? &ks->trust : &ks->optsets;
    esession_status rc = es_rec_list(ks, kind, NULL, load_one, &a);
    if (rc == ESESSION_OK)
        rc = sort_loaded(&a);
    free(a.order);
    if (rc != ESESSION_OK) {
        es_vec_free(&a.vec, item_free(kind));
        return rc;
    }
    es_vec_free(target, item_free(kind));
    *target = a.vec;
    return ESESSION_OK;
}

esession_status es_ks_fresh(const esession_keystore *cks)
{
    /* The cache is the handle's, not the caller's: reading the store again
     * does not change what the keystore holds. */
    esession_keystore *ks = (esession_keystore *)(uintptr_t)cks;
    if (ks == NULL || ks->depth > 0)
        return ESESSION_OK;
    esession_status rc = es_tx_begin(ks, 0);
    return rc == ESESSION_OK ? es_tx_end(ks, ESESSION_OK) : rc;
}

esession_status esession_keystore_get_info(esession_keystore *ks, esession_keystore_info *out)
{
    if (ks == NULL || out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ks->ctx);
    esession_status rc = es_tx_begin(ks, 0); /* reads the commit count */
    if (rc != ESESSION_OK)
        return rc;
    esession_keystore_info info = {ES_HDR_FORMAT, ks->kdf.opslimit, ks->kdf.memlimit, ks->total};
    rc = es_tx_end(ks, ESESSION_OK);
    if (rc == ESESSION_OK)
        *out = info;
    return rc;
}

esession_ctx *es_ks_ctx(const esession_keystore *ks)
{
    return ks != NULL ? ks->ctx : NULL;
}
