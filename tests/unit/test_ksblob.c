/* SPDX-License-Identifier: ISC */
/* Opaque engine records in the keystore (store/store.h): put, replace,
 * get, delete, listing by prefix, bounds, persistence and rollback. */
#include "ks_test.h"

static esession_ctx *ctx;
static char dir[64];
static char path[128];
static esession_keystore *ks;

static void setup(void)
{
    cr_assert_eq(esession_ctx_new(&ctx, NULL, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_OK);
    kt_mkdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/blob.ks", dir);
    ks = kt_create(ctx, path);
}

static void teardown(void)
{
    esession_keystore_close(ks);
    kt_rmdir(dir);
    esession_ctx_free(ctx);
}

TestSuite(ksblob, .init = setup, .fini = teardown);

static void reopen(void)
{
    esession_keystore_close(ks);
    ks = kt_open(ctx, path);
}

static void put(const char *name, const char *data)
{
    esession_status rc = es_ks_blob_put(ks, name, (const uint8_t *)data, strlen(data));
    cr_assert_eq(rc, ESESSION_OK, "put %s: %s", name, esession_status_name(rc));
}

static void expect(const char *name, const char *data)
{
    esession_buf b = {NULL, 0, 0};
    cr_assert_eq(es_ks_blob_get(ks, name, &b), ESESSION_OK, "get %s", name);
    cr_assert_eq(b.len, strlen(data));
    cr_assert(memcmp(b.data, data, b.len) == 0);
    cr_assert_eq(b.data[b.len], '\0');
    cr_assert(b.secret, "records come back in guarded memory");
    esession_buf_free(&b);
}

static void absent(const char *name)
{
    esession_buf b = {(char *)(uintptr_t)0x5a5a, 7, 0};
    cr_assert_eq(es_ks_blob_get(ks, name, &b), ESESSION_ERR_NO_SESSION);
    cr_assert_eq(b.data, (char *)(uintptr_t)0x5a5a, "output untouched");
    cr_assert_eq(b.len, 7);
}

Test(ksblob, put_get_replace_delete)
{
    absent("s/bob@example.net/t1");
    put("s/bob@example.net/t1", "range 0-10");
    put("s/bob@example.net/t2", "range 0-3");
    put("other", "");
    expect("s/bob@example.net/t1", "range 0-10");
    expect("other", "");
    put("s/bob@example.net/t1", "range 0-20");
    expect("s/bob@example.net/t1", "range 0-20");
    cr_assert_eq(es_ks_blob_count(ks, NULL), 3);
    reopen();
    expect("s/bob@example.net/t1", "range 0-20");
    expect("s/bob@example.net/t2", "range 0-3");
    expect("other", "");

    cr_assert_eq(es_ks_blob_delete(ks, "s/bob@example.net/t2"), ESESSION_OK);
    absent("s/bob@example.net/t2");
    cr_assert_eq(es_ks_blob_delete(ks, "s/bob@example.net/t2"), ESESSION_OK, "absent is ok");
    cr_assert_eq(es_ks_blob_delete(ks, "never"), ESESSION_OK);
    reopen();
    absent("s/bob@example.net/t2");
    cr_assert_eq(es_ks_blob_count(ks, NULL), 2);

    /* Binary data with NULs survives. */
    static const uint8_t bin[] = {0, 1, 0, 255, 0};
    cr_assert_eq(es_ks_blob_put(ks, "bin", bin, sizeof bin), ESESSION_OK);
    cr_assert_eq(es_ks_blob_put(ks, "nil", NULL, 0), ESESSION_OK);
    reopen();
    esession_buf b = {NULL, 0, 0};
    cr_assert_eq(es_ks_blob_get(ks, "bin", &b), ESESSION_OK);
    cr_assert_eq(b.len, sizeof bin);
    cr_assert(memcmp(b.data, bin, sizeof bin) == 0);
    esession_buf_free(&b);
    expect("nil", "");
}

Test(ksblob, listing_by_prefix)
{
    put("s/a/1", "x");
    put("s/b/1", "x");
    put("s/a/2", "x");
    put("t/a/1", "x");
    cr_assert_eq(es_ks_blob_count(ks, "s/a/"), 2);
    cr_assert_str_eq(es_ks_blob_name_at(ks, "s/a/", 0), "s/a/1");
    cr_assert_str_eq(es_ks_blob_name_at(ks, "s/a/", 1), "s/a/2");
    cr_assert_null(es_ks_blob_name_at(ks, "s/a/", 2));
    cr_assert_eq(es_ks_blob_count(ks, "s/"), 3);
    cr_assert_eq(es_ks_blob_count(ks, ""), 4);
    cr_assert_eq(es_ks_blob_count(ks, NULL), 4);
    cr_assert_str_eq(es_ks_blob_name_at(ks, NULL, 3), "t/a/1");
    cr_assert_eq(es_ks_blob_count(ks, "s/a/1/longer"), 0);
    cr_assert_eq(es_ks_blob_count(ks, "u"), 0);
    cr_assert_null(es_ks_blob_name_at(ks, "u", 0));
    cr_assert_eq(es_ks_blob_count(NULL, ""), 0);
    cr_assert_null(es_ks_blob_name_at(NULL, "", 0));
}

Test(ksblob, bounds)
{
    char name[ES_BLOB_NAME_MAX + 2];
    memset(name, 'n', sizeof name);
    name[ES_BLOB_NAME_MAX + 1] = '\0';
    esession_buf b = {NULL, 0, 0};
    cr_assert_eq(es_ks_blob_put(ks, name, (const uint8_t *)"x", 1), ESESSION_ERR_LIMIT);
    cr_assert_eq(es_ks_blob_get(ks, name, &b), ESESSION_ERR_LIMIT);
    cr_assert_eq(es_ks_blob_delete(ks, name), ESESSION_ERR_LIMIT);
    cr_assert_eq(es_ks_blob_put(ks, "", (const uint8_t *)"x", 1), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_ks_blob_put(ks, NULL, (const uint8_t *)"x", 1),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_ks_blob_put(ks, "a", NULL, 1), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_ks_blob_get(ks, "a", NULL), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_ks_blob_get(ks, NULL, &b), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_ks_blob_delete(ks, ""), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_ks_blob_put(NULL, "a", NULL, 0), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_ks_blob_get(NULL, "a", &b), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_ks_blob_delete(NULL, "a"), ESESSION_ERR_INVALID_ARGUMENT);

    uint8_t *big = malloc(ES_BLOB_MAX + 1);
    cr_assert_not_null(big);
    memset(big, 0x77, ES_BLOB_MAX + 1);
    cr_assert_eq(es_ks_blob_put(ks, "big", big, ES_BLOB_MAX + 1), ESESSION_ERR_LIMIT);
    cr_assert_eq(es_ks_blob_count(ks, NULL), 0);

    /* Exactly at the bounds. */
    name[ES_BLOB_NAME_MAX] = '\0';
    cr_assert_eq(es_ks_blob_put(ks, name, (const uint8_t *)"x", 1), ESESSION_OK);
    cr_assert_eq(es_ks_blob_put(ks, "big", big, ES_BLOB_MAX), ESESSION_OK);
    reopen();
    expect(name, "x");
    cr_assert_eq(es_ks_blob_get(ks, "big", &b), ESESSION_OK);
    cr_assert_eq(b.len, ES_BLOB_MAX);
    cr_assert(memcmp(b.data, big, ES_BLOB_MAX) == 0);
    esession_buf_free(&b);
    free(big);
}

Test(ksblob, failed_writes_change_nothing)
{
    put("keep", "old");
    size_t len;
    uint8_t *before = kt_slurp(path, &len);
    int calls = 0;
    kt_break_writes(ks, &calls);
    cr_assert_eq(es_ks_blob_put(ks, "new", (const uint8_t *)"n", 1), ESESSION_ERR_IO);
    cr_assert_eq(es_ks_blob_put(ks, "keep", (const uint8_t *)"new", 3), ESESSION_ERR_IO);
    cr_assert_eq(es_ks_blob_delete(ks, "keep"), ESESSION_ERR_IO);
    cr_assert_eq(calls, 3);
    absent("new");
    expect("keep", "old");
    cr_assert_eq(es_ks_blob_count(ks, NULL), 1);
    kt_expect_file(path, before, len);
    free(before);
}
