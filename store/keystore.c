/* SPDX-License-Identifier: ISC */
/* The keystore object: create, open, re-key, close, and writing the whole
 * state back after every change. */
#include "ks.h"

#include <stdlib.h>
#include <string.h>

static esession_keystore *ks_new(esession_ctx *ctx, const char *path)
{
    esession_keystore *ks = calloc(1, sizeof *ks);
    if (ks == NULL)
        return NULL;
    ks->ctx = ctx;
    ks->path = strdup(path);
    if (ks->path == NULL) {
        free(ks);
        return NULL;
    }
    return ks;
}

void esession_keystore_close(esession_keystore *ks)
{
    if (ks == NULL)
        return;
    es_vec_free(&ks->keys, es_ks_key_free);
    es_vec_free(&ks->trust, es_ks_trust_free);
    es_vec_free(&ks->optsets, es_ks_optset_free);
    es_vec_free(&ks->blobs, es_ks_blob_free);
    es_secret_free(ks->key); /* makes it accessible again, wipes, frees */
    free(ks->path);
    sodium_memzero(ks, sizeof *ks);
    free(ks);
}

/* The keystore image goes to the host's storage when it has one, else to
 * the file system. */
static int host_storage(const esession_ctx *ctx)
{
    return ctx->ops.store_load != NULL && ctx->ops.store_save != NULL;
}

static esession_status store_save(esession_keystore *ks, const uint8_t *file, size_t len,
                                  int create)
{
    esession_ctx *ctx = ks->ctx;
    if (!host_storage(ctx))
        return es_file_write(ctx, ks->path, file, len, create, &ks->hooks);
    if (ctx->ops.store_save(ctx->user, ks->path, file, len, create) != 0)
        return es_fail(ctx, ESESSION_ERR_IO, create ? "host storage: cannot create the keystore"
                                                    : "host storage: cannot save the keystore");
    return ESESSION_OK;
}

static esession_status store_load(esession_ctx *ctx, const char *path, uint8_t **file,
                                  size_t *len)
{
    if (!host_storage(ctx))
        return es_file_read(ctx, path, ES_KS_FILE_MAX, file, len);
    uint8_t *data = NULL;
    size_t n = 0;
    int r = ctx->ops.store_load(ctx->user, path, &data, &n);
    if (r != 0) {
        free(data);
        return es_fail(ctx, ESESSION_ERR_IO, r == 1 ? "host storage: no such keystore"
                                                    : "host storage: cannot load the keystore");
    }
    if (data == NULL || n > ES_KS_FILE_MAX) {
        free(data);
        return es_fail(ctx, ESESSION_ERR_CORRUPT, "host storage: keystore image too large");
    }
    *file = data;
    *len = n;
    return ESESSION_OK;
}

/* Serialize, encrypt under (kdf, key) and write the file. */
static esession_status ks_write(esession_keystore *ks, const es_ks_kdf *kdf, uint8_t *key,
                                int create)
{
    uint8_t *body = NULL, *file = NULL;
    size_t body_len = 0, file_len = 0;
    esession_status rc = es_ks_encode(ks, &body, &body_len);
    if (rc != ESESSION_OK)
        return rc;
    rc = es_ks_seal(ks->ctx, kdf, key, body, body_len, &file, &file_len);
    es_secret_free(body);
    if (rc != ESESSION_OK)
        return rc;
    rc = store_save(ks, file, file_len, create);
    free(file);
    return rc;
}

esession_status es_ks_persist(esession_keystore *ks)
{
    if (ks->deferred) {
        ks->dirty = 1;
        return ESESSION_OK;
    }
    return ks_write(ks, &ks->kdf, ks->key, 0);
}

esession_status es_ks_require_durable(esession_ctx *ctx, const esession_keystore *ks)
{
    if (!ks->deferred)
        return ESESSION_OK;
    return es_fail(ctx, ESESSION_ERR_STATE,
                   "not while the keystore's writes are deferred: this must be written at once");
}

esession_status esession_keystore_flush(esession_keystore *ks)
{
    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ks->ctx);
    if (!ks->dirty)
        return ESESSION_OK;
    esession_status rc = ks_write(ks, &ks->kdf, ks->key, 0);
    if (rc == ESESSION_OK)
        ks->dirty = 0;
    return rc;
}

esession_status esession_keystore_defer_writes(esession_keystore *ks, int on)
{
    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (on) {
        es_clear_detail(ks->ctx);
        ks->deferred = 1;
        return ESESSION_OK;
    }
    esession_status rc = esession_keystore_flush(ks);
    if (rc == ESESSION_OK)
        ks->deferred = 0;
    return rc;
}

static esession_status check_pass(esession_ctx *ctx, const char *pass, size_t len)
{
    if (pass == NULL && len > 0)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL passphrase");
    if (len > ES_KS_PASSPHRASE_MAX)
        return es_fail(ctx, ESESSION_ERR_LIMIT, "passphrase longer than %u octets",
                       ES_KS_PASSPHRASE_MAX);
    return ESESSION_OK;
}

esession_status esession_keystore_create(esession_ctx *ctx, esession_keystore **out,
                                         const char *path, const char *passphrase,
                                         size_t passphrase_len,
                                         const esession_keystore_options *opt)
{
    static const es_ks_kdf moderate = {crypto_pwhash_argon2id_OPSLIMIT_MODERATE,
                                    crypto_pwhash_argon2id_MEMLIMIT_MODERATE, {0}};
    es_ks_kdf kdf = moderate;
    esession_status rc;

    if (ctx == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ctx);
    if (out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL argument");
    if ((rc = check_pass(ctx, passphrase, passphrase_len)) != ESESSION_OK ||
        (rc = es_file_check_path(ctx, path)) != ESESSION_OK ||
        (rc = es_kdf_resolve(ctx, opt, &moderate, &kdf)) != ESESSION_OK)
        return rc;
    /* Fail before the costly derivation; link() in the writer is what
     * actually guarantees that no file is replaced. */
    if (!host_storage(ctx) && es_file_exists(path))
        return es_fail(ctx, ESESSION_ERR_IO, "the file already exists");

    esession_keystore *ks = ks_new(ctx, path);
    if (ks == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    rc = es_random(ctx, kdf.salt, sizeof kdf.salt);
    if (rc == ESESSION_OK) {
        ks->kdf = kdf;
        rc = es_kdf_derive(ctx, &ks->kdf, passphrase, passphrase_len, &ks->key);
    }
    if (rc == ESESSION_OK)
        rc = ks_write(ks, &ks->kdf, ks->key, 1);
    if (rc != ESESSION_OK) {
        esession_keystore_close(ks);
        return rc;
    }
    *out = ks;
    return ESESSION_OK;
}

esession_status esession_keystore_open(esession_ctx *ctx, esession_keystore **out,
                                       const char *path, const char *passphrase,
                                       size_t passphrase_len)
{
    uint8_t *file = NULL, *body = NULL;
    size_t file_len = 0, body_len = 0;
    esession_keystore *ks = NULL;
    esession_status rc;

    if (ctx == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ctx);
    if (out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL argument");
    if ((rc = check_pass(ctx, passphrase, passphrase_len)) != ESESSION_OK ||
        (rc = es_file_check_path(ctx, path)) != ESESSION_OK)
        return rc;

    rc = store_load(ctx, path, &file, &file_len);
    if (rc != ESESSION_OK)
        return rc;
    ks = ks_new(ctx, path);
    if (ks == NULL) {
        rc = es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
        goto out;
    }
    /* The header is checked before any derivation, so a file cannot make
     * us spend more than the bounded KDF cost. */
    rc = es_ks_parse_header(ctx, file, file_len, &ks->kdf);
    if (rc == ESESSION_OK)
        rc = es_kdf_derive(ctx, &ks->kdf, passphrase, passphrase_len, &ks->key);
    if (rc == ESESSION_OK)
        rc = es_ks_unseal(ctx, file, file_len, ks->key, &body, &body_len);
    if (rc == ESESSION_OK)
        rc = es_ks_decode(ks, body, body_len);
    es_secret_free(body);
    if (rc != ESESSION_OK)
        goto out;
    /* Left by a crash between writing and renaming: they may hold option
     * set secrets destroyed since, so they do not outlive an open. */
    if (!host_storage(ctx))
        es_file_remove_stale(path);
    *out = ks;
    ks = NULL;
out:
    esession_keystore_close(ks);
    free(file);
    return rc;
}

esession_status esession_keystore_change_passphrase(esession_keystore *ks,
                                                    const char *passphrase,
                                                    size_t passphrase_len,
                                                    const esession_keystore_options *opt)
{
    es_ks_kdf kdf;
    uint8_t *key = NULL;
    esession_status rc;

    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ks->ctx);
    if ((rc = check_pass(ks->ctx, passphrase, passphrase_len)) != ESESSION_OK ||
        (rc = es_kdf_resolve(ks->ctx, opt, &ks->kdf, &kdf)) != ESESSION_OK ||
        (rc = es_random(ks->ctx, kdf.salt, sizeof kdf.salt)) != ESESSION_OK ||
        (rc = es_kdf_derive(ks->ctx, &kdf, passphrase, passphrase_len, &key)) != ESESSION_OK)
        return rc;
    rc = ks_write(ks, &kdf, key, 0);
    if (rc != ESESSION_OK) {
        es_secret_free(key);
        return rc;
    }
    es_secret_free(ks->key);
    ks->key = key;
    ks->kdf = kdf;
    ks->dirty = 0; /* the whole state was written */
    return ESESSION_OK;
}

esession_ctx *es_ks_ctx(const esession_keystore *ks)
{
    return ks != NULL ? ks->ctx : NULL;
}

void es_ks_set_file_hooks(esession_keystore *ks, const es_file_hooks *hooks)
{
    static const es_file_hooks none = {NULL, NULL};
    ks->hooks = hooks != NULL ? *hooks : none;
}
