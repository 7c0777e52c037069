/* SPDX-License-Identifier: ISC */
/* The generation record's formats: a store written before format 1 (the
 * recent list, docs/keystore.md) opens, reads and writes as before, and a
 * record's version held in the recent list rather than in its leaf is
 * checked as strictly: rolled back, deleted, or put back after its
 * removal, it is refused. tests/data/gens0/ says how the store was made. */
#include "ks_test.h"

#include "../../store/record.h"

#include <sqlite3.h>

KT_SUITE_WITH_DIR(gens0, "store.ks", fx_ctx_new());

static void copy_fixture(void)
{
    FILE *in = fopen("tests/data/gens0/store.ks", "rb");
    cr_assert_not_null(in, "run from the source tree");
    FILE *out = fopen(path, "wb");
    cr_assert_not_null(out);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        cr_assert_eq(fwrite(buf, 1, n, out), n);
    fclose(in);
    cr_assert_eq(fclose(out), 0);
}

/* The stored envelope of a record (NULL if absent). */
static uint8_t *db_get(int kind, const uint8_t id[32], size_t *len)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    uint8_t *v = NULL;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT data FROM record WHERE kind = ?1 AND id = ?2", -1,
                                    &st, NULL), SQLITE_OK);
    sqlite3_bind_int(st, 1, kind);
    sqlite3_bind_blob(st, 2, id, 32, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *len = (size_t)sqlite3_column_bytes(st, 0);
        v = malloc(*len);
        cr_assert_not_null(v);
        memcpy(v, sqlite3_column_blob(st, 0), *len);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Put value in place of the record (v NULL: remove it). */
static void db_set(int kind, const uint8_t id[32], const uint8_t *v, size_t len)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db,
                                    v != NULL ? "INSERT OR REPLACE INTO record (kind, id, data) "
                                                "VALUES (?1, ?2, ?3)"
                                              : "DELETE FROM record WHERE kind = ?1 AND id = ?2",
                                    -1, &st, NULL),
                 SQLITE_OK);
    sqlite3_bind_int(st, 1, kind);
    sqlite3_bind_blob(st, 2, id, 32, SQLITE_STATIC);
    if (v != NULL)
        sqlite3_bind_blob(st, 3, v, (int)len, SQLITE_STATIC);
    cr_assert_eq(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void blob_id(esession_keystore *ks, const char *name, uint8_t id[32])
{
    es_rec_id(ks, ES_REC_BLOB, name, strlen(name), id);
}

static void expect_blob(esession_keystore *ks, const char *name, const char *want)
{
    esession_buf b = {NULL, 0, 0};
    esession_status rc = es_ks_blob_get(ks, name, &b);
    if (want == NULL) {
        cr_assert_eq(rc, ESESSION_ERR_NO_SESSION, "%s: %s", name, esession_status_name(rc));
        return;
    }
    cr_assert_eq(rc, ESESSION_OK, "%s: %s (%s)", name, esession_status_name(rc),
                 esession_ctx_error_detail(ctx));
    cr_assert_eq(b.len, strlen(want), "%s", name);
    cr_assert(memcmp(b.data, want, b.len) == 0, "%s", name);
    esession_buf_free(&b);
}

static size_t blob_count(esession_keystore *ks)
{
    size_t n = 0;
    cr_assert_eq(es_ks_blob_list(ks, "", kt_count_one, &n), ESESSION_OK, "%s",
                 esession_ctx_error_detail(ctx));
    return n;
}

/* Everything the earlier code wrote, as it wrote it. */
static void expect_fixture(esession_keystore *ks)
{
    char name[32], val[32];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "old/%02d", i);
        snprintf(val, sizeof val, "value %02d", i);
        expect_blob(ks, name, i % 5 == 0 ? NULL : i == 1 ? "value 01 again" : val);
    }
    cr_assert_eq(blob_count(ks), 32);
    static const uint8_t nonce[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    const es_optset *o = es_ks_optset_find(ks, nonce, sizeof nonce);
    cr_assert_not_null(o);
    cr_assert_eq(o->n_replay, 1);
    uint8_t d[ES_REPLAY_HASH], nb[ES_REPLAY_HASH], init[ES_REPLAY_HASH];
    memset(d, 'd', sizeof d);
    memset(nb, 'n', sizeof nb);
    memset(init, 'i', sizeof init);
    int dup = 0;
    cr_assert_eq(es_ks_replay_check(ks, nonce, sizeof nonce, d, nb, init, &dup), ESESSION_OK);
    cr_assert(dup);
}

Test(gens0, a_store_of_format_0_opens_and_is_used)
{
    copy_fixture();
    esession_keystore *ks = kt_open(ctx, path);
    cr_assert_eq(ks->gens_plain_len, ES_KS_GENS_V0_BYTES, "the fixture is of format 0");
    cr_assert_eq(ks->total, 52, "%llu", (unsigned long long)ks->total);
    expect_fixture(ks);
    /* Written again: the format written now (2), the new version in the
     * recent list. */
    cr_assert_eq(es_ks_blob_put(ks, "old/02", (const uint8_t *)"two", 3), ESESSION_OK);
    cr_assert_eq(ks->gens_plain_len, ES_KS_GENS_HEAD_BYTES(ES_REC_KINDS) + 2 + ES_VIDX_ENTRY);
    cr_assert_eq(ks->gens_format, ES_KS_GENS_FORMAT_QUEUE);
    cr_assert_eq(es_ks_blob_delete(ks, "old/03"), ESESSION_OK);
    cr_assert_eq(es_ks_blob_put(ks, "new/a", (const uint8_t *)"a", 1), ESESSION_OK);
    esession_keystore_free(ks);
    ks = kt_open(ctx, path);
    expect_blob(ks, "old/02", "two");
    expect_blob(ks, "old/03", NULL);
    expect_blob(ks, "new/a", "a");
    expect_blob(ks, "old/04", "value 04");
    cr_assert_eq(blob_count(ks), 32);
    /* More than the recent list holds: its entries go into their leaves. */
    char name[32];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "new/%02d", i);
        cr_assert_eq(es_ks_blob_put(ks, name, (const uint8_t *)name, strlen(name)), ESESSION_OK);
    }
    cr_assert_lt(ks->n_vrecent, ES_VIDX_RECENT);
    esession_keystore_free(ks);
    ks = kt_open(ctx, path);
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "new/%02d", i);
        expect_blob(ks, name, name);
    }
    expect_blob(ks, "old/02", "two");
    cr_assert_eq(blob_count(ks), 72);
    esession_keystore_free(ks);
}

/* old/04 is listed in its format-0 leaf; its later versions in the recent
 * list or in the leaf again: each older copy put back is refused, and so
 * is a removed record put back and a record removed underneath. */
Test(gens0, versions_in_the_recent_list_are_checked)
{
    uint8_t id[32];
    size_t len0 = 0, len1 = 0;
    esession_buf b = {NULL, 0, 0};
    copy_fixture();
    esession_keystore *ks = kt_open(ctx, path);
    blob_id(ks, "old/04", id);
    uint8_t *v0 = db_get(ES_REC_BLOB, id, &len0);
    cr_assert_not_null(v0);
    cr_assert_eq(es_ks_blob_put(ks, "old/04", (const uint8_t *)"four", 4), ESESSION_OK);
    cr_assert_eq(ks->n_vrecent, 1);
    esession_keystore_free(ks);
    uint8_t *v1 = db_get(ES_REC_BLOB, id, &len1);

    /* Rolled back under the recent list. */
    db_set(ES_REC_BLOB, id, v0, len0);
    ks = kt_open(ctx, path);
    cr_assert_eq(es_ks_blob_get(ks, "old/04", &b), ESESSION_ERR_CORRUPT);
    cr_assert_not_null(strstr(esession_ctx_error_detail(ctx), "rolled back"));
    cr_assert_eq(es_ks_blob_list(ks, "", kt_count_one, &(size_t){0}), ESESSION_ERR_CORRUPT);
    esession_keystore_free(ks);

    /* Removed underneath. */
    db_set(ES_REC_BLOB, id, NULL, 0);
    ks = kt_open(ctx, path);
    cr_assert_eq(es_ks_blob_get(ks, "old/04", &b), ESESSION_ERR_CORRUPT);
    cr_assert_not_null(strstr(esession_ctx_error_detail(ctx), "deleted"));
    esession_keystore_free(ks);

    /* Put back as it was; then removed by the store (the leaf still lists
     * it, the recent list says gone): either copy put back is refused. */
    db_set(ES_REC_BLOB, id, v1, len1);
    ks = kt_open(ctx, path);
    expect_blob(ks, "old/04", "four");
    cr_assert_eq(es_ks_blob_delete(ks, "old/04"), ESESSION_OK);
    expect_blob(ks, "old/04", NULL);
    esession_keystore_free(ks);
    for (int k = 0; k < 2; k++) {
        db_set(ES_REC_BLOB, id, k == 0 ? v0 : v1, k == 0 ? len0 : len1);
        ks = kt_open(ctx, path);
        cr_assert_eq(es_ks_blob_get(ks, "old/04", &b), ESESSION_ERR_CORRUPT, "copy %d", k);
        cr_assert_eq(es_ks_blob_list(ks, "", kt_count_one, &(size_t){0}), ESESSION_ERR_CORRUPT);
        esession_keystore_free(ks);
    }
    db_set(ES_REC_BLOB, id, NULL, 0);

    /* The same once the recent list went into the leaves. */
    ks = kt_open(ctx, path);
    char name[32];
    for (int i = 0; i < 2 * (int)ES_VIDX_RECENT; i++) {
        snprintf(name, sizeof name, "more/%02d", i);
        cr_assert_eq(es_ks_blob_put(ks, name, (const uint8_t *)"m", 1), ESESSION_OK);
    }
    esession_keystore_free(ks);
    db_set(ES_REC_BLOB, id, v1, len1);
    ks = kt_open(ctx, path);
    cr_assert_eq(es_ks_blob_get(ks, "old/04", &b), ESESSION_ERR_CORRUPT);
    esession_keystore_free(ks);
    db_set(ES_REC_BLOB, id, NULL, 0);
    ks = kt_open(ctx, path);
    expect_blob(ks, "old/04", NULL);
    cr_assert_eq(blob_count(ks), 31 + 2 * ES_VIDX_RECENT);
    esession_keystore_free(ks);
    free(v0);
    free(v1);
}
