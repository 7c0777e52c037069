/* SPDX-License-Identifier: ISC */
/* Opaque engine records in the keystore (store/store.h): put, replace,
 * get, delete, listing by prefix, versions, bounds, persistence, failed
 * commits and client batches (begin, commit, rollback). */
#include <stdarg.h>

#include "ks_test.h"
#include "fixture.h"

KT_SUITE_WITH_STORE(ksblob, "blob.ks");

static void reopen(void)
{
    esession_keystore_free(ks);
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

/* What es_ks_blob_list reports: every name (sorted here: the store lists
 * in no particular order), with each record's data checked against get. */
#define MAX_LISTED 16

typedef struct listed {
    char name[ES_BLOB_NAME_MAX + 1];
    size_t len;
    uint64_t version;
} listed;

typedef struct listing {
    size_t n;
    listed e[MAX_LISTED];
    int stop_after; /* > 0: answer ESESSION_ERR_LIMIT after that many */
} listing;

static esession_status collect(void *arg, const char *name, const uint8_t *data, size_t len,
                               uint64_t version)
{
    listing *l = arg;
    cr_assert_lt(l->n, MAX_LISTED);
    cr_assert_leq(strlen(name), ES_BLOB_NAME_MAX);
    cr_assert(len == 0 || data != NULL);
    snprintf(l->e[l->n].name, sizeof l->e[0].name, "%s", name);
    l->e[l->n].version = version;
    l->e[l->n++].len = len;
    if (l->stop_after > 0 && l->n == (size_t)l->stop_after)
        return ESESSION_ERR_LIMIT;
    return ESESSION_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const listed *)a)->name, ((const listed *)b)->name);
}

static listing list(const char *prefix)
{
    listing l;
    memset(&l, 0, sizeof l);
    esession_status rc = es_ks_blob_list(ks, prefix, collect, &l);
    cr_assert_eq(rc, ESESSION_OK, "list %s: %s", prefix, esession_status_name(rc));
    qsort(l.e, l.n, sizeof l.e[0], by_name);
    return l;
}

static size_t count(const char *prefix)
{
    return list(prefix).n;
}

/* The listing under prefix is exactly the n names given. */
static void expect_names(const char *prefix, size_t n, ...)
{
    listing l = list(prefix);
    va_list ap;
    cr_assert_eq(l.n, n, "%zu records under '%s', want %zu", l.n, prefix, n);
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(l.e[i].name, va_arg(ap, const char *));
    va_end(ap);
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
    cr_assert_eq(count(""), 3, "a replaced record is one record");
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
    expect_names("", 2, "other", "s/bob@example.net/t1");

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
    put("s/b/1", "xy");
    put("s/a/2", "xyz");
    put("t/a/1", "");
    expect_names("s/a/", 2, "s/a/1", "s/a/2");
    expect_names("s/", 3, "s/a/1", "s/a/2", "s/b/1");
    expect_names("", 4, "s/a/1", "s/a/2", "s/b/1", "t/a/1");
    expect_names("t/a/1", 1, "t/a/1"); /* a name is a prefix of itself */
    expect_names("s/a/1/longer", 0);
    expect_names("u", 0);
    /* The data comes with each name. */
    listing l = list("");
    for (size_t i = 0; i < l.n; i++) {
        const char *nm = l.e[i].name;
        size_t want = strcmp(nm, "s/a/1") == 0 ? 1 : strcmp(nm, "s/b/1") == 0 ? 2
                      : strcmp(nm, "s/a/2") == 0 ? 3 : 0;
        cr_assert_eq(l.e[i].len, want, "%s", nm);
        uint64_t v = 0;
        cr_assert_eq(es_ks_blob_version(ks, nm, &v), ESESSION_OK);
        cr_assert_eq(l.e[i].version, v, "%s: listed with another version", nm);
    }
    /* The callback's refusal stops the listing and is what it returns. */
    memset(&l, 0, sizeof l);
    l.stop_after = 1;
    cr_assert_eq(es_ks_blob_list(ks, "s/", collect, &l), ESESSION_ERR_LIMIT);
    cr_assert_eq(l.n, 1);
    /* Other kinds of record (keys, option sets) are not listed. */
    esession_key *k = kt_key(ctx, "vec_rsa_bob.pem");
    cr_assert_eq(esession_keystore_add_key(ks, k), ESESSION_OK);
    esession_key_free(k);
    reopen();
    cr_assert_eq(count(""), 4);
    memset(&l, 0, sizeof l);
    cr_assert_eq(es_ks_blob_list(NULL, "", collect, &l), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_ks_blob_list(ks, NULL, collect, &l), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_ks_blob_list(ks, "", NULL, &l), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(l.n, 0);
}

/* A record's version changes with every write of it, by any handle, and
 * only then: what an engine object compares to know its copy is current. */
Test(ksblob, versions)
{
    uint64_t v1 = 0, v2 = 0, v = 0;
    esession_buf b = {NULL, 0, 0};
    cr_assert_eq(es_ks_blob_put_v(ks, "r", (const uint8_t *)"one", 3, &v1), ESESSION_OK);
    cr_assert_gt(v1, 0);
    cr_assert_eq(es_ks_blob_version(ks, "r", &v), ESESSION_OK);
    cr_assert_eq(v, v1);
    v = 0;
    cr_assert_eq(es_ks_blob_get_v(ks, "r", &b, &v), ESESSION_OK);
    cr_assert_eq(v, v1);
    cr_assert_eq(b.len, 3);
    esession_buf_free(&b);
    /* Writing another record leaves this one's version alone. */
    put("other", "x");
    cr_assert_eq(es_ks_blob_version(ks, "r", &v), ESESSION_OK);
    cr_assert_eq(v, v1);
    cr_assert_eq(es_ks_blob_put_v(ks, "r", (const uint8_t *)"two", 3, &v2), ESESSION_OK);
    cr_assert_gt(v2, v1);
    /* A second handle on the same store sees the same version, and its
     * write is seen by the first. */
    esession_keystore *other = kt_open(ctx, path);
    cr_assert_eq(es_ks_blob_version(other, "r", &v), ESESSION_OK);
    cr_assert_eq(v, v2);
    uint64_t v3 = 0;
    cr_assert_eq(es_ks_blob_put_v(other, "r", (const uint8_t *)"three", 5, &v3), ESESSION_OK);
    cr_assert_gt(v3, v2);
    esession_keystore_free(other);
    cr_assert_eq(es_ks_blob_get_v(ks, "r", &b, &v), ESESSION_OK);
    cr_assert_eq(v, v3);
    cr_assert_eq(b.len, 5);
    cr_assert(memcmp(b.data, "three", 5) == 0);
    esession_buf_free(&b);
    reopen();
    cr_assert_eq(es_ks_blob_version(ks, "r", &v), ESESSION_OK);
    cr_assert_eq(v, v3);
    /* Absent, and bad arguments. */
    v = 77;
    cr_assert_eq(es_ks_blob_version(ks, "none", &v), ESESSION_ERR_NO_SESSION);
    cr_assert_eq(v, 77);
    cr_assert_eq(es_ks_blob_get_v(ks, "none", &b, &v), ESESSION_ERR_NO_SESSION);
    cr_assert_eq(v, 77);
    cr_assert_null(b.data);
    cr_assert_eq(es_ks_blob_version(ks, "r", NULL), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_ks_blob_version(NULL, "r", &v), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_ks_blob_version(ks, "", &v), ESESSION_ERR_INVALID_ARGUMENT);
    /* The version may be left out. */
    cr_assert_eq(es_ks_blob_put_v(ks, "r", (const uint8_t *)"x", 1, NULL), ESESSION_OK);
    cr_assert_eq(es_ks_blob_get_v(ks, "r", &b, NULL), ESESSION_OK);
    esession_buf_free(&b);
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
    cr_assert_eq(count(""), 0);

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
    expect_names("", 2, "big", name);
    free(big);
}

/* A commit that fails leaves the store as it was: the same records for
 * this handle and after a reopen, and (compared while no handle has it
 * open) the very same database file. */
Test(ksblob, failed_writes_change_nothing)
{
    put("keep", "old");
    esession_keystore_free(ks);
    size_t len;
    uint8_t *before = kt_slurp(path, &len);
    ks = kt_open(ctx, path);
    int calls = 0;
    kt_break_writes(ks, &calls);
    cr_assert_eq(es_ks_blob_put(ks, "new", (const uint8_t *)"n", 1), ESESSION_ERR_IO);
    cr_assert_str_neq(esession_ctx_error_detail(ctx), "");
    cr_assert_eq(es_ks_blob_put(ks, "keep", (const uint8_t *)"new", 3), ESESSION_ERR_IO);
    cr_assert_eq(es_ks_blob_delete(ks, "keep"), ESESSION_ERR_IO);
    cr_assert_eq(calls, 3);
    /* Reads commit nothing: the hook is not asked. */
    absent("new");
    expect("keep", "old");
    expect_names("", 1, "keep");
    cr_assert_eq(calls, 3);
    esession_keystore_free(ks);
    ks = NULL;
    kt_expect_file(path, before, len);
    free(before);
    ks = kt_open(ctx, path);
    absent("new");
    expect("keep", "old");
    put("new", "n"); /* a new handle has no hook: writes work */
}

/* A client batch is one transaction: its writes are seen inside it, kept
 * by commit, dropped by rollback (or by closing before the commit, as a
 * crash would); a failed commit keeps nothing. */
Test(ksblob, batches)
{
    put("keep", "old");
    cr_assert_eq(esession_keystore_begin(ks), ESESSION_OK);
    cr_assert_eq(esession_keystore_begin(ks), ESESSION_ERR_STATE, "batches do not nest");
    put("a", "1");
    put("keep", "changed");
    cr_assert_eq(es_ks_blob_delete(ks, "a"), ESESSION_OK);
    put("b", "2");
    expect("keep", "changed");
    expect_names("", 2, "b", "keep");
    esession_keystore_rollback(ks);
    expect("keep", "old");
    absent("b");
    expect_names("", 1, "keep");

    /* Committed: kept. */
    cr_assert_eq(esession_keystore_begin(ks), ESESSION_OK);
    put("b", "2");
    put("c", "3");
    cr_assert_eq(esession_keystore_commit(ks), ESESSION_OK);
    cr_assert_eq(esession_keystore_commit(ks), ESESSION_ERR_STATE, "no batch is running");
    esession_keystore_rollback(ks); /* none running: nothing happens */
    reopen();
    expect_names("", 3, "b", "c", "keep");

    /* A refusal before anything was written does not doom the batch. */
    cr_assert_eq(esession_keystore_begin(ks), ESESSION_OK);
    put("d", "4");
    cr_assert_eq(es_ks_blob_put(ks, "", (const uint8_t *)"x", 1), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_keystore_commit(ks), ESESSION_OK);
    expect("d", "4");

    /* Closed before the commit: as after a crash, nothing of it is kept. */
    cr_assert_eq(esession_keystore_begin(ks), ESESSION_OK);
    put("e", "5");
    cr_assert_eq(es_ks_blob_delete(ks, "keep"), ESESSION_OK);
    reopen();
    absent("e");
    expect("keep", "old");

    /* The commit itself fails: nothing of the batch is kept. */
    int calls = 0;
    cr_assert_eq(esession_keystore_begin(ks), ESESSION_OK);
    put("f", "6");
    kt_break_writes(ks, &calls);
    cr_assert_eq(calls, 0, "nothing commits inside the batch");
    cr_assert_eq(esession_keystore_commit(ks), ESESSION_ERR_IO);
    cr_assert_eq(calls, 1);
    es_ks_set_hooks(ks, NULL);
    absent("f");
    cr_assert_eq(esession_keystore_commit(ks), ESESSION_ERR_STATE, "the batch is over");
    reopen();
    absent("f");
    expect_names("", 4, "b", "c", "d", "keep");
    cr_assert_eq(esession_keystore_begin(NULL), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_keystore_commit(NULL), ESESSION_ERR_INVALID_ARGUMENT);
    esession_keystore_rollback(NULL);
}
