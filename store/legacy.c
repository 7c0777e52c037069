/* SPDX-License-Identifier: ISC */
/* The earlier single-file keystore (format version 1: one XChaCha20-Poly1305
 * sealed body, docs/keystore.md "Conversion") and its one-time conversion
 * into a record store in place. */
#include "format.h"
#include "sqlite.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define BODY_MAGIC "ESKB"
#define BODY_MAGIC_BYTES 4u
#define REPLAY_ENTRY_BYTES (3u * ES_REPLAY_HASH)
#define TMP_SUFFIX ".converting"
/* Alice's session records were named with N_A in the earlier format
 * ("alice/session/<hex N_A>/..."); they are found by JID and thread now. */
#define RX_PREFIX "alice/session/"

#define CORRUPT(what) es_fail(ctx, ESESSION_ERR_CORRUPT, "keystore body: %s", what)
#define NO_MEMORY() es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory")

void es_legacy_clear(es_legacy *l, size_t n_optsets)
{
    es_vec_free(&l->blobs, es_ks_blob_free);
    for (size_t i = 0; l->replay != NULL && i < n_optsets; i++)
        free(l->replay[i]);
    free(l->replay);
    free(l->n_replay);
    memset(l, 0, sizeof *l);
}

static esession_status push(esession_ctx *ctx, es_vec *vec, size_t max, void *item,
                            void (*item_free)(void *))
{
    if (es_vec_reserve(vec, max) != ESESSION_OK) {
        item_free(item);
        return NO_MEMORY();
    }
    es_vec_push(vec, item);
    return ESESSION_OK;
}

static esession_status decode_optsets(esession_keystore *ks, es_rd *r, es_legacy *l)
{
    esession_ctx *ctx = ks->ctx;
    size_t n;
    if (!es_fmt_count(r, ES_KS_MAX_OPTSETS, 39, &n))
        return CORRUPT("option set count");
    l->replay = calloc(n + 1, sizeof *l->replay);
    l->n_replay = calloc(n + 1, sizeof *l->n_replay);
    if (l->replay == NULL || l->n_replay == NULL)
        return NO_MEMORY();
    for (size_t i = 0; i < n; i++) {
        es_ks_optset *o = NULL;
        size_t n_replay;
        esession_status rc = es_fmt_optset(ctx, r, &o);
        if (rc != ESESSION_OK)
            return rc;
        if ((rc = push(ctx, &ks->optsets, ES_KS_MAX_OPTSETS, o, es_ks_optset_free)) !=
            ESESSION_OK)
            return rc;
        if (!es_fmt_count(r, ES_REPLAY_MAX, REPLAY_ENTRY_BYTES, &n_replay))
            return CORRUPT("replay count");
        const uint8_t *e = es_rd_take(r, n_replay * REPLAY_ENTRY_BYTES);
        if (e == NULL)
            return CORRUPT("replay entry");
        if (n_replay > 0) {
            if ((l->replay[i] = malloc(n_replay * REPLAY_ENTRY_BYTES)) == NULL)
                return NO_MEMORY();
            memcpy(l->replay[i], e, n_replay * REPLAY_ENTRY_BYTES);
        }
        l->n_replay[i] = n_replay;
    }
    return ESESSION_OK;
}

static esession_status decode_blobs(esession_ctx *ctx, es_rd *r, es_legacy *l)
{
    size_t n;
    if (!es_fmt_count(r, ES_KS_MAX_BLOBS, 9, &n))
        return CORRUPT("record count");
    for (size_t i = 0; i < n; i++) {
        const uint8_t *name, *data;
        size_t name_len, data_len;
        if (!es_fmt_bytes(r, 1, ES_BLOB_NAME_MAX, &name, &name_len) ||
            !es_ks_blob_name_ok((const char *)name, name_len) ||
            !es_fmt_bytes(r, 0, ES_BLOB_MAX, &data, &data_len))
            return CORRUPT("record");
        es_ks_blob *b = calloc(1, sizeof *b);
        if (b == NULL)
            return NO_MEMORY();
        b->name = es_fmt_text(name, name_len);
        b->name_len = name_len;
        if (b->name == NULL || es_buf_set(&b->data, data, data_len, 1) != ESESSION_OK) {
            es_ks_blob_free(b);
            return NO_MEMORY();
        }
        esession_status rc = push(ctx, &l->blobs, ES_KS_MAX_BLOBS, b, es_ks_blob_free);
        if (rc != ESESSION_OK)
            return rc;
    }
    return ESESSION_OK;
}

esession_status es_ks_decode(esession_keystore *ks, const uint8_t *body, size_t len,
                             es_legacy *l)
{
    esession_ctx *ctx = ks->ctx;
    es_rd r = {body, len, 0, 0};
    size_t n;
    esession_status rc = ESESSION_OK;
    const uint8_t *magic = es_rd_take(&r, BODY_MAGIC_BYTES);
    if (magic == NULL || memcmp(magic, BODY_MAGIC, BODY_MAGIC_BYTES) != 0)
        return CORRUPT("magic");
    if (!es_fmt_count(&r, ES_KS_MAX_KEYS, ESESSION_FINGERPRINT_BYTES + 5, &n))
        return CORRUPT("key count");
    for (size_t i = 0; rc == ESESSION_OK && i < n; i++) {
        es_ks_key *k = NULL;
        if ((rc = es_fmt_key(ctx, &r, &k)) == ESESSION_OK)
            rc = push(ctx, &ks->keys, ES_KS_MAX_KEYS, k, es_ks_key_free);
    }
    if (rc == ESESSION_OK && !es_fmt_count(&r, ES_KS_MAX_TRUST, 13 + ESESSION_FINGERPRINT_BYTES, &n))
        rc = CORRUPT("trust count");
    for (size_t i = 0; rc == ESESSION_OK && i < n; i++) {
        es_ks_trust *t = NULL;
        if ((rc = es_fmt_trust(ctx, &r, &t)) == ESESSION_OK)
            rc = push(ctx, &ks->trust, ES_KS_MAX_TRUST, t, es_ks_trust_free);
    }
    if (rc == ESESSION_OK)
        rc = decode_optsets(ks, &r, l);
    if (rc == ESESSION_OK)
        rc = decode_blobs(ctx, &r, l);
    if (rc == ESESSION_OK && r.pos != r.len)
        rc = CORRUPT("trailing octets");
    return rc;
}

/* ---- conversion --------------------------------------------------------- */

/* The name a record has in the new store. */
static const char *new_name(const es_ks_blob *b, char *buf, size_t cap)
{
    size_t plen = strlen(RX_PREFIX);
    if (b->name_len <= plen || strncmp(b->name, RX_PREFIX, plen) != 0)
        return b->name;
    const char *rest = strchr(b->name + plen, '/');
    if (rest == NULL)
        return b->name;
    snprintf(buf, cap, "%s%s", RX_PREFIX, rest + 1);
    return buf;
}

/* Write every item of old into the new store, in one transaction. */
static esession_status copy_all(esession_keystore *to, const esession_keystore *old,
                                const es_legacy *l)
{
    esession_status rc = es_tx_begin(to, 1);
    for (size_t i = 0; rc == ESESSION_OK && i < old->keys.n; i++)
        rc = es_ks_put_key(to, old->keys.v[i]);
    for (size_t i = 0; rc == ESESSION_OK && i < old->trust.n; i++)
        rc = es_ks_put_trust(to, old->trust.v[i]);
    for (size_t i = 0; rc == ESESSION_OK && i < old->optsets.n; i++) {
        es_ks_optset *o = old->optsets.v[i];
        o->pub.n_replay = l->n_replay[i];
        rc = es_ks_put_optset(to, o);
        for (size_t e = 0; rc == ESESSION_OK && e < l->n_replay[i]; e++)
            rc = es_ks_replay_put(to, &o->pub, l->replay[i] + e * REPLAY_ENTRY_BYTES);
    }
    for (size_t i = 0; rc == ESESSION_OK && i < l->blobs.n; i++) {
        const es_ks_blob *b = l->blobs.v[i];
        char buf[ES_BLOB_NAME_MAX + 1];
        const char *name = new_name(b, buf, sizeof buf);
        rc = es_rec_put(to, es_ks_blob_kind(name, strlen(name)), name, strlen(name), NULL,
                        b->data.data, b->data.len, NULL);
    }
    return to->depth > 0 ? es_tx_end(to, rc) : rc;
}

/* Decode the old file with the passphrase, build the new store beside it,
 * and put it in the old one's place only once complete. */
static esession_status convert(esession_ctx *ctx, const char *path, const char *pass,
                               size_t pass_len)
{
    uint8_t *file = NULL, *body = NULL, *key = NULL;
    size_t file_len = 0, body_len = 0;
    char tmp[ES_FILE_PATH_MAX + sizeof TMP_SUFFIX];
    es_legacy l;
    esession_keystore old, *to = NULL;
    es_ks_kdf kdf;

    memset(&l, 0, sizeof l);
    memset(&old, 0, sizeof old);
    old.ctx = ctx;
    snprintf(tmp, sizeof tmp, "%s%s", path, TMP_SUFFIX);
    esession_status rc = es_file_read(ctx, path, ES_KS_FILE_MAX, &file, &file_len);
    if (rc == ESESSION_OK)
        rc = es_ks_parse_header(ctx, file, file_len, &kdf);
    if (rc == ESESSION_OK)
        rc = es_kdf_derive(ctx, &kdf, pass, pass_len, &key);
    if (rc == ESESSION_OK)
        rc = es_ks_unseal(ctx, file, file_len, key, &body, &body_len);
    if (rc == ESESSION_OK)
        rc = es_ks_decode(&old, body, body_len, &l);
    es_secret_free(body);
    free(file);
    if (rc == ESESSION_OK) {
        /* A conversion interrupted earlier left this; we hold the lock. */
        es_sqlite_remove(tmp);
        /* Same costs and salt: the derived key wraps the new store key. */
        rc = es_ks_create_keyed(ctx, tmp, &kdf, key, &to);
    }
    if (rc == ESESSION_OK)
        rc = copy_all(to, &old, &l);
    /* Closing the only connection folds the journal into the file. */
    esession_keystore_free(to);
    if (rc == ESESSION_OK)
        rc = es_file_sync(ctx, tmp);
    if (rc == ESESSION_OK && rename(tmp, path) != 0)
        rc = es_fail(ctx, ESESSION_ERR_IO, "conversion: cannot replace the old keystore");
    if (rc == ESESSION_OK)
        es_file_sync_dir(path);
    else
        es_sqlite_remove(tmp);
    es_guarded_free(key);
    es_legacy_clear(&l, old.optsets.n);
    es_vec_free(&old.keys, es_ks_key_free);
    es_vec_free(&old.trust, es_ks_trust_free);
    es_vec_free(&old.optsets, es_ks_optset_free);
    return rc;
}

esession_status es_ks_migrate(esession_ctx *ctx, const char *path, const char *pass,
                              size_t pass_len)
{
    uint8_t head[ES_KS_MAGIC_BYTES];
    /* One converter at a time: the others wait, then find the new store. */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return es_fail(ctx, ESESSION_ERR_IO, "cannot open the keystore");
    esession_status rc = ESESSION_OK;
    if (flock(fd, LOCK_EX) != 0) {
        rc = es_fail(ctx, ESESSION_ERR_IO, "cannot lock the keystore for conversion");
    } else {
        /* Still the old file at path (not replaced while we waited)? */
        int again = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        int old = again >= 0 && read(again, head, sizeof head) == (ssize_t)sizeof head &&
                  memcmp(head, ES_KS_MAGIC, sizeof head) == 0;
        if (again >= 0)
            close(again);
        if (old)
            rc = convert(ctx, path, pass, pass_len);
    }
    close(fd); /* releases the lock */
    return rc;
}
