/* SPDX-License-Identifier: ISC */
/* The record store: round trip, passphrases, tampered, swapped, moved and
 * truncated records, foreign files, creation, failed commits, batches,
 * several handles and threads on one store, signing keys and limits.
 * The earlier single-file format: test_ksconvert.c. */
#include "ks_test.h"

#include "../../store/header.h"
#include "fixture.h"

#include <pthread.h>
#include <sqlite3.h>
#include <sys/wait.h>

KT_SUITE_WITH_DIR(keystore, "alice.ks", fx_ctx_new());

/* A fresh empty directory for the next part of a grouped test. */
static void reset(void)
{
    kt_rmdir(dir);
    kt_mkdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/alice.ks", dir);
}

static const uint8_t nonce_a[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const char form_a[] = "<x xmlns='jabber:x:data' type='form'/>";

/* One option set (two groups), one accepted session, one record. */
static void fill_small(esession_keystore *ks)
{
    static const uint8_t x0[] = {0x01, 0x23, 0x45, 0x67, 0x89};
    static const uint8_t x1[] = {0x7f, 0xee, 0xdd};
    esession_buf x[2] = {{(char *)(uintptr_t)x0, sizeof x0, 0},
                         {(char *)(uintptr_t)x1, sizeof x1, 0}};
    int groups[2] = {14, 5};
    uint8_t d[ES_REPLAY_HASH], nb[ES_REPLAY_HASH], init[ES_REPLAY_HASH];
    kt_hash(d, "d");
    kt_hash(nb, "nb");
    kt_hash(init, "init");
    cr_assert_eq(es_ks_optset_add(ks, nonce_a, sizeof nonce_a, 1000, 2000, groups, x, 2,
                                  form_a, strlen(form_a)),
                 ESESSION_OK);
    cr_assert_eq(es_ks_replay_record(ks, nonce_a, sizeof nonce_a, d, nb, init), ESESSION_OK);
    cr_assert_eq(es_ks_blob_put(ks, "session/bob", (const uint8_t *)"ranges", 6), ESESSION_OK);
}

static void check_small(esession_keystore *ks)
{
    const es_optset *o = es_ks_optset_find(ks, nonce_a, sizeof nonce_a);
    cr_assert_not_null(o);
    cr_assert_eq(o->created, 1000);
    cr_assert_eq(o->expires, 2000);
    cr_assert_eq(o->n_groups, 2);
    cr_assert_eq(o->groups[0], 14);
    cr_assert_eq(o->groups[1], 5);
    cr_assert_eq(o->x[0].len, 5);
    cr_assert(memcmp(o->x[0].data, "\x01\x23\x45\x67\x89", 5) == 0);
    cr_assert_eq(o->x[1].len, 3);
    cr_assert(o->x[0].secret && o->x[1].secret);
    cr_assert_eq(o->form.len, strlen(form_a));
    cr_assert_str_eq(o->form.data, form_a);
    cr_assert_eq(o->n_replay, 1);
    esession_buf b = {NULL, 0, 0};
    cr_assert_eq(es_ks_blob_get(ks, "session/bob", &b), ESESSION_OK);
    cr_assert_eq(b.len, 6);
    cr_assert(memcmp(b.data, "ranges", 6) == 0);
    esession_buf_free(&b);
}

/* Engine records whose name starts with prefix. */
static size_t blob_count(esession_keystore *ks, const char *prefix)
{
    size_t n = 0;
    cr_assert_eq(es_ks_blob_list(ks, prefix, kt_count_one, &n), ESESSION_OK);
    return n;
}

/* ---- the database underneath ------------------------------------------- */

static sqlite3 *db_open(const char *p)
{
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    return db;
}

/* The stored value of the n-th record (by id) of kind; *id gets its id. */
static uint8_t *db_value(const char *p, int kind, int n, uint8_t id[32], size_t *len)
{
    sqlite3 *db = db_open(p);
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT id, data FROM record WHERE kind = ?1 ORDER BY id "
                                        "LIMIT 1 OFFSET ?2", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_int(st, 1, kind);
    sqlite3_bind_int(st, 2, n);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "no record %d of kind %d", n, kind);
    memcpy(id, sqlite3_column_blob(st, 0), 32);
    *len = (size_t)sqlite3_column_bytes(st, 1);
    uint8_t *v = malloc(*len);
    cr_assert_not_null(v);
    memcpy(v, sqlite3_column_blob(st, 1), *len);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Write value into the record (kind, id), inserting it if absent. */
static void db_put(const char *p, int kind, const uint8_t id[32], const uint8_t *v, size_t len)
{
    sqlite3 *db = db_open(p);
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO record (kind, id, data) "
                                        "VALUES (?1, ?2, ?3)", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_int(st, 1, kind);
    sqlite3_bind_blob(st, 2, id, 32, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, v, (int)len, SQLITE_STATIC);
    cr_assert_eq(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static int db_count(const char *p, int kind)
{
    sqlite3 *db = db_open(p);
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM record WHERE kind = ?1", -1, &st,
                                    NULL), SQLITE_OK);
    sqlite3_bind_int(st, 1, kind);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* The header record (kind 0, id all zero). */
static uint8_t *db_header(const char *p, size_t *len)
{
    uint8_t id[32];
    uint8_t *v = db_value(p, ES_REC_META, 0, id, len);
    uint8_t zero[32] = {0};
    cr_assert(memcmp(id, zero, 32) == 0, "the header sorts first");
    return v;
}

static void t_round_trip_everything(void)
{
    uint8_t fp_rsa[32], fp_dsa[32], fp_pub[32];
    unsigned alerts = 99;
    esession_keystore *ks = kt_create(ctx, path);
    cr_assert_eq(es_ks_ctx(ks), ctx);
    cr_assert_eq(esession_keystore_key_count(ks), 0);
    esession_key *rsa = kt_key(ctx, "vec_rsa_bob.pem");
    esession_key *dsa = kt_key(ctx, "vec_dsa_bob.pem");
    esession_key *pub = kt_key(ctx, "rsa2048_pub.pem");
    kt_fingerprint(ctx, rsa, fp_rsa);
    kt_fingerprint(ctx, dsa, fp_dsa);
    kt_fingerprint(ctx, pub, fp_pub);
    cr_assert_eq(esession_keystore_add_key(ks, rsa), ESESSION_OK);
    cr_assert_eq(esession_keystore_add_key(ks, dsa), ESESSION_OK);
    cr_assert_eq(esession_trust_add(ks, "carol@example.org", pub, "Carol", &alerts), ESESSION_OK);
    cr_assert_eq(alerts, 0);
    cr_assert_eq(esession_trust_set_verified(ks, "carol@example.org", fp_pub, 1), ESESSION_OK);
    fill_small(ks);
    esession_keystore_free(ks);

    ks = kt_open(ctx, path);
    cr_assert_eq(es_ks_ctx(ks), ctx);
    cr_assert_eq(esession_keystore_key_count(ks), 2);
    esession_key *k = NULL;
    uint8_t fp[32];
    cr_assert_eq(esession_keystore_key_at(ks, 0, &k), ESESSION_OK);
    cr_assert(esession_key_has_private(k));
    cr_assert_eq(esession_key_get_type(k), ESESSION_KEY_RSA);
    kt_fingerprint(ctx, k, fp);
    cr_assert(memcmp(fp, fp_rsa, 32) == 0);
    esession_key_free(k);
    cr_assert_eq(esession_keystore_key_at(ks, 1, &k), ESESSION_OK);
    cr_assert_eq(esession_key_get_type(k), ESESSION_KEY_DSA);
    cr_assert(esession_key_has_private(k));
    kt_fingerprint(ctx, k, fp);
    cr_assert(memcmp(fp, fp_dsa, 32) == 0);
    esession_key_free(k);

    esession_trust_entry e;
    cr_assert_eq(esession_trust_count(ks), 1);
    cr_assert_eq(esession_trust_at(ks, 0, &e), ESESSION_OK);
    cr_assert_str_eq(e.jid, "carol@example.org");
    cr_assert_str_eq(e.petname, "Carol");
    cr_assert(memcmp(e.fingerprint, fp_pub, 32) == 0);
    cr_assert_eq(e.verified, 1);
    cr_assert_eq(esession_trust_check(ks, "carol@example.org", pub), ESESSION_OK);
    check_small(ks);
    esession_keystore_free(ks);
    esession_key_free(rsa);
    esession_key_free(dsa);
    esession_key_free(pub);
}
static void t_empty_keystore_and_empty_passphrase(void)
{
    esession_keystore_options o = kt_fast();
    esession_keystore *ks = NULL;
    cr_assert_eq(esession_keystore_create(ctx, &ks, path, NULL, 0, &o), ESESSION_OK);
    esession_keystore_free(ks);
    ks = NULL;
    cr_assert_eq(esession_keystore_open(ctx, &ks, path, "", 0), ESESSION_OK);
    cr_assert_eq(esession_keystore_key_count(ks), 0);
    cr_assert_eq(esession_trust_count(ks), 0);
    cr_assert_eq(es_ks_optset_count(ks), 0);
    cr_assert_eq(blob_count(ks, ""), 0);
    esession_keystore_free(ks);
    kt_open_fails(ctx, path, "x", ESESSION_ERR_BAD_PASSPHRASE);
}
static void t_wrong_passphrase(void)
{
    esession_keystore *ks = kt_create(ctx, path);
    fill_small(ks);
    esession_keystore_free(ks);
    size_t len;
    uint8_t *before = kt_slurp(path, &len);
    kt_open_fails(ctx, path, "correct horse battery stapl", ESESSION_ERR_BAD_PASSPHRASE);
    kt_open_fails(ctx, path, "Correct horse battery staple", ESESSION_ERR_BAD_PASSPHRASE);
    kt_open_fails(ctx, path, "", ESESSION_ERR_BAD_PASSPHRASE);
    kt_expect_file(path, before, len);
    /* Open is read-only: a successful one does not rewrite the file. */
    ks = kt_open(ctx, path);
    esession_keystore_free(ks);
    kt_expect_file(path, before, len);
    free(before);
}
static void t_change_passphrase(void)
{
    esession_keystore *ks = kt_create(ctx, path);
    fill_small(ks);
    size_t len;
    uint8_t *before = db_header(path, &len);
    /* Only the header is written: the records stay as they are. */
    int optsets = db_count(path, ES_REC_OPTSET);
    uint8_t rid[32], rid2[32];
    size_t rlen, rlen2;
    uint8_t *rec = db_value(path, ES_REC_OPTSET, 0, rid, &rlen);
    esession_keystore_options o = kt_fast();
    o.kdf_opslimit = 2;
    o.kdf_memlimit = 16384;
    cr_assert_eq(esession_keystore_change_passphrase(ks, "new secret", 10, &o), ESESSION_OK);
    size_t len2;
    uint8_t *after = db_header(path, &len2);
    cr_assert_eq(len2, ES_HDR_BYTES);
    cr_assert(memcmp(before + 28, after + 28, 16) != 0, "fresh salt");
    cr_assert(memcmp(before + 44, after + 44, 16) == 0, "same store id");
    cr_assert_eq(after[19], 2, "opslimit written");
    cr_assert_eq(after[26], 0x40, "memlimit written");
    uint8_t *rec2 = db_value(path, ES_REC_OPTSET, 0, rid2, &rlen2);
    cr_assert(rlen == rlen2 && memcmp(rec, rec2, rlen) == 0, "records not rewritten");
    cr_assert_eq(db_count(path, ES_REC_OPTSET), optsets);
    free(rec);
    free(rec2);
    /* Later writes keep the new key and costs. */
    cr_assert_eq(es_ks_blob_put(ks, "later", (const uint8_t *)"x", 1), ESESSION_OK);
    esession_keystore_free(ks);

    kt_open_fails(ctx, path, KT_PASS, ESESSION_ERR_BAD_PASSPHRASE);
    esession_keystore *re = NULL;
    cr_assert_eq(esession_keystore_open(ctx, &re, path, "new secret", 10), ESESSION_OK);
    check_small(re);
    cr_assert_eq(blob_count(re, "later"), 1);
    /* NULL options keep the current costs. */
    cr_assert_eq(esession_keystore_change_passphrase(re, KT_PASS, KT_PASS_LEN, NULL),
                 ESESSION_OK);
    esession_keystore_free(re);
    free(after);
    after = db_header(path, &len2);
    cr_assert_eq(after[19], 2);
    cr_assert_eq(after[26], 0x40);
    re = kt_open(ctx, path);
    check_small(re);

    /* Bad arguments change nothing. */
    o.kdf_opslimit = ES_KS_OPSLIMIT_MAX + 1;
    cr_assert_eq(esession_keystore_change_passphrase(re, "x", 1, &o),
                 ESESSION_ERR_INVALID_ARGUMENT);
    o = kt_fast();
    o.version = 99;
    cr_assert_eq(esession_keystore_change_passphrase(re, "x", 1, &o), ESESSION_ERR_VERSION);
    cr_assert_eq(esession_keystore_change_passphrase(re, NULL, 1, NULL),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_keystore_change_passphrase(NULL, "x", 1, NULL),
                 ESESSION_ERR_INVALID_ARGUMENT);

    /* A failed write keeps the old passphrase, on disk and in memory. */
    int calls = 0;
    free(after);
    after = db_header(path, &len2);
    kt_break_writes(re, &calls);
    cr_assert_eq(esession_keystore_change_passphrase(re, "lost", 4, NULL), ESESSION_ERR_IO);
    cr_assert_eq(calls, 1);
    size_t len3;
    uint8_t *still = db_header(path, &len3);
    cr_assert(len3 == len2 && memcmp(still, after, len2) == 0, "header unchanged");
    free(still);
    es_ks_set_hooks(re, NULL);
    cr_assert_eq(es_ks_blob_put(re, "again", (const uint8_t *)"y", 1), ESESSION_OK);
    esession_keystore_free(re);
    re = kt_open(ctx, path);
    cr_assert_eq(blob_count(re, "again"), 1);
    esession_keystore_free(re);
    free(before);
    free(after);
}
static void t_create_never_overwrites(void)
{
    kt_spit(path, "precious", 8);
    esession_keystore_options o = kt_fast();
    esession_keystore *ks = KT_SENTINEL;
    cr_assert_eq(esession_keystore_create(ctx, &ks, path, KT_PASS, KT_PASS_LEN, &o),
                 ESESSION_ERR_IO);
    cr_assert_eq(ks, KT_SENTINEL);
    cr_assert_str_neq(esession_ctx_error_detail(ctx), "");
    kt_expect_file(path, (const uint8_t *)"precious", 8);

    /* Nor over a keystore, nor through a symbolic link. */
    char other[160], link_path[160];
    snprintf(other, sizeof other, "%s/other.ks", dir);
    snprintf(link_path, sizeof link_path, "%s/link.ks", dir);
    esession_keystore *a = kt_create(ctx, other);
    esession_keystore_free(a);
    size_t len;
    uint8_t *before = kt_slurp(other, &len);
    cr_assert_eq(esession_keystore_create(ctx, &ks, other, "other", 5, &o), ESESSION_ERR_IO);
    kt_expect_file(other, before, len);
    cr_assert_eq(symlink("nowhere", link_path), 0);
    cr_assert_eq(esession_keystore_create(ctx, &ks, link_path, KT_PASS, KT_PASS_LEN, &o),
                 ESESSION_ERR_IO);
    cr_assert_eq(ks, KT_SENTINEL);
    cr_assert_eq(kt_count_files(dir), 3, "nothing left beside them");
    free(before);

    char nodir[200];
    snprintf(nodir, sizeof nodir, "%s/no/such/dir.ks", dir);
    cr_assert_eq(esession_keystore_create(ctx, &ks, nodir, KT_PASS, KT_PASS_LEN, &o),
                 ESESSION_ERR_IO);
}
static void t_mode_is_0600_whatever_the_umask(void)
{
    struct stat st;
    mode_t old = umask(0);
    esession_keystore *ks = kt_create(ctx, path);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0600);
    cr_assert_eq(es_ks_blob_put(ks, "a", (const uint8_t *)"1", 1), ESESSION_OK);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0600);
    umask(0277);
    cr_assert_eq(es_ks_blob_put(ks, "a", (const uint8_t *)"2", 1), ESESSION_OK);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0600);
    cr_assert(S_ISREG(st.st_mode));
    /* The journal beside it too, while the store is open. */
    char wal[200];
    snprintf(wal, sizeof wal, "%s-wal", path);
    cr_assert_eq(stat(wal, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0600);
    umask(old);
    esession_keystore_free(ks);
}
static void t_kdf_defaults_are_moderate(void)
{
    static const es_ks_kdf none = {0, 0, {0}};
    es_ks_kdf base = {crypto_pwhash_argon2id_OPSLIMIT_MODERATE,
                   crypto_pwhash_argon2id_MEMLIMIT_MODERATE, {0}};
    es_ks_kdf out = none;
    esession_keystore_options o = ESESSION_KEYSTORE_OPTIONS_INIT;
    cr_assert_eq(es_kdf_resolve(ctx, &o, &none, &out), ESESSION_OK);
    cr_assert_eq(out.opslimit, crypto_pwhash_OPSLIMIT_MODERATE);
    cr_assert_eq(out.memlimit, crypto_pwhash_MEMLIMIT_MODERATE);
    cr_assert_eq(out.memlimit, 256u * 1024 * 1024);
    out = none;
    cr_assert_eq(es_kdf_resolve(ctx, NULL, &base, &out), ESESSION_OK);
    cr_assert_eq(out.opslimit, crypto_pwhash_OPSLIMIT_MODERATE);

    /* A real default keystore header (one MODERATE derivation: skipped
     * under valgrind, where it would take minutes). */
    if (RUNNING_ON_VALGRIND)
        return;
    esession_keystore *ks = NULL;
    cr_assert_eq(esession_keystore_create(ctx, &ks, path, KT_PASS, KT_PASS_LEN, NULL),
                 ESESSION_OK);
    esession_keystore_free(ks);
    size_t len;
    uint8_t *f = db_header(path, &len);
    uint64_t ops = 0, mem = 0;
    for (int i = 0; i < 8; i++) {
        ops = (ops << 8) | f[12 + i];
        mem = (mem << 8) | f[20 + i];
    }
    cr_assert_eq(ops, crypto_pwhash_OPSLIMIT_MODERATE);
    cr_assert_eq(mem, crypto_pwhash_MEMLIMIT_MODERATE);
    free(f);
}
static void t_bad_arguments(void)
{
    esession_keystore_options o = kt_fast();
    esession_keystore *ks = KT_SENTINEL;
    char longp[ES_KS_PASSPHRASE_MAX + 1];
    memset(longp, 'p', sizeof longp);

    cr_assert_eq(esession_keystore_create(NULL, &ks, path, "p", 1, &o),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_keystore_create(ctx, NULL, path, "p", 1, &o),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_keystore_create(ctx, &ks, NULL, "p", 1, &o),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_keystore_create(ctx, &ks, "", "p", 1, &o),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_keystore_create(ctx, &ks, "/tmp/", "p", 1, &o),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_keystore_create(ctx, &ks, "/tmp/..", "p", 1, &o),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_keystore_create(ctx, &ks, path, NULL, 1, &o),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_keystore_create(ctx, &ks, path, longp, sizeof longp, &o),
                 ESESSION_ERR_LIMIT);
    o.version = 1;
    cr_assert_eq(esession_keystore_create(ctx, &ks, path, "p", 1, &o), ESESSION_ERR_VERSION);
    o = kt_fast();
    o.kdf_opslimit = ES_KS_OPSLIMIT_MAX + 1;
    cr_assert_eq(esession_keystore_create(ctx, &ks, path, "p", 1, &o),
                 ESESSION_ERR_INVALID_ARGUMENT);
    o = kt_fast();
    o.kdf_memlimit = (size_t)ES_KS_MEMLIMIT_MAX + 1;
    cr_assert_eq(esession_keystore_create(ctx, &ks, path, "p", 1, &o),
                 ESESSION_ERR_INVALID_ARGUMENT);
    o.kdf_memlimit = crypto_pwhash_argon2id_MEMLIMIT_MIN - 1;
    cr_assert_eq(esession_keystore_create(ctx, &ks, path, "p", 1, &o),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(ks, KT_SENTINEL);
    cr_assert(!es_file_exists(path), "nothing created");
    cr_assert_eq(kt_count_files(dir), 0);

    cr_assert_eq(esession_keystore_open(NULL, &ks, path, "p", 1), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_keystore_open(ctx, NULL, path, "p", 1), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_keystore_open(ctx, &ks, NULL, "p", 1), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_keystore_open(ctx, &ks, path, NULL, 1), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_keystore_open(ctx, &ks, path, longp, sizeof longp), ESESSION_ERR_LIMIT);
    cr_assert_eq(ks, KT_SENTINEL);
    o = kt_fast();
    o.durability = (esession_durability)7;
    cr_assert_eq(esession_keystore_create(ctx, &ks, path, "p", 1, &o),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_keystore_open_with(ctx, &ks, path, "p", 1, &o),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(ks, KT_SENTINEL);
    esession_keystore_free(NULL);
    cr_assert_eq(es_ks_ctx(NULL), NULL);
}
static void t_signing_keys(void)
{
    esession_keystore *ks = kt_create(ctx, path);
    esession_key *rsa = kt_key(ctx, "rsa2048.pem");
    esession_key *dsa = kt_key(ctx, "dsa2048.pem");
    esession_key *pub = kt_key(ctx, "rsa2048_pub.pem");
    uint8_t fp_rsa[32], fp_dsa[32];
    kt_fingerprint(ctx, rsa, fp_rsa);
    kt_fingerprint(ctx, dsa, fp_dsa);

    cr_assert_eq(esession_keystore_add_key(ks, pub), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_keystore_add_key(ks, NULL), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_keystore_add_key(NULL, rsa), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_keystore_add_key(ks, rsa), ESESSION_OK);
    cr_assert_eq(esession_keystore_add_key(ks, rsa), ESESSION_ERR_STATE);
    cr_assert_eq(esession_keystore_add_key(ks, dsa), ESESSION_OK);
    cr_assert_eq(esession_keystore_key_count(ks), 2);
    cr_assert_eq(esession_keystore_key_count(NULL), 0);

    esession_key *k = (esession_key *)(uintptr_t)0x5a5a;
    cr_assert_eq(esession_keystore_key_at(ks, 2, &k), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_keystore_key_at(ks, 0, NULL), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(k, (esession_key *)(uintptr_t)0x5a5a);

    /* The stored key is the same private key. */
    cr_assert_eq(esession_keystore_key_at(ks, 0, &k), ESESSION_OK);
    esession_buf a = {NULL, 0, 0}, b = {NULL, 0, 0};
    cr_assert_eq(esession_key_to_pem(ctx, k, 1, &a), ESESSION_OK);
    cr_assert_eq(esession_key_to_pem(ctx, rsa, 1, &b), ESESSION_OK);
    cr_assert_eq(a.len, b.len);
    cr_assert(memcmp(a.data, b.data, a.len) == 0);
    esession_buf_free(&a);
    esession_buf_free(&b);
    esession_key_free(k);

    uint8_t none[32] = {0};
    cr_assert_eq(esession_keystore_delete_key(ks, none), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_keystore_delete_key(ks, NULL), ESESSION_ERR_INVALID_ARGUMENT);
    int calls = 0;
    kt_break_writes(ks, &calls);
    cr_assert_eq(esession_keystore_delete_key(ks, fp_rsa), ESESSION_ERR_IO);
    cr_assert_eq(esession_keystore_key_count(ks), 2);
    es_ks_set_hooks(ks, NULL);
    cr_assert_eq(esession_keystore_delete_key(ks, fp_rsa), ESESSION_OK);
    cr_assert_eq(esession_keystore_key_count(ks), 1);
    esession_keystore_free(ks);

    ks = kt_open(ctx, path);
    cr_assert_eq(esession_keystore_key_count(ks), 1);
    cr_assert_eq(esession_keystore_key_at(ks, 0, &k), ESESSION_OK);
    uint8_t fp[32];
    kt_fingerprint(ctx, k, fp);
    cr_assert(memcmp(fp, fp_dsa, 32) == 0);
    esession_key_free(k);
    esession_keystore_free(ks);
    esession_key_free(rsa);
    esession_key_free(dsa);
    esession_key_free(pub);
}
static void t_key_count_limit(void)
{
    esession_keystore *ks = kt_create(ctx, path);
    /* Fill the table directly: there are not 64 fixture keys. */
    for (unsigned i = 0; i < ES_KS_MAX_KEYS; i++) {
        es_ks_key *k = calloc(1, sizeof *k);
        cr_assert_not_null(k);
        k->fp[0] = (uint8_t)i;
        k->fp[1] = 0xee;
        cr_assert_eq(es_buf_set(&k->pem, "x", 1, 1), ESESSION_OK);
        cr_assert_eq(es_vec_reserve(&ks->keys, ES_KS_MAX_KEYS), ESESSION_OK);
        es_vec_push(&ks->keys, k);
    }
    esession_key *rsa = kt_key(ctx, "rsa2048.pem");
    cr_assert_eq(esession_keystore_add_key(ks, rsa), ESESSION_ERR_LIMIT);
    cr_assert_eq(esession_keystore_key_count(ks), ES_KS_MAX_KEYS);
    esession_key_free(rsa);
    esession_keystore_free(ks);
}
static void t_foreign_files_are_refused(void)
{
    size_t len;
    char *pem = vec_read_file("tests/data/rsa2048.pem", &len);
    cr_assert_not_null(pem);
    kt_spit(path, pem, len);
    kt_open_fails(ctx, path, KT_PASS, ESESSION_ERR_CORRUPT);
    free(pem);

    kt_spit(path, "", 0);
    kt_open_fails(ctx, path, KT_PASS, ESESSION_ERR_CORRUPT);
    uint8_t junk[300];
    randombytes_buf(junk, sizeof junk);
    junk[0] = 0; /* never the magic */
    kt_spit(path, junk, sizeof junk);
    kt_open_fails(ctx, path, KT_PASS, ESESSION_ERR_CORRUPT);
    /* The magic alone, and the magic followed by junk. */
    kt_spit(path, ES_KS_MAGIC, ES_KS_MAGIC_BYTES);
    kt_open_fails(ctx, path, KT_PASS, ESESSION_ERR_CORRUPT);
    memcpy(junk, ES_KS_MAGIC, ES_KS_MAGIC_BYTES);
    kt_spit(path, junk, sizeof junk);
    kt_open_fails(ctx, path, KT_PASS, ESESSION_ERR_CORRUPT);

    char missing[160];
    snprintf(missing, sizeof missing, "%s/missing.ks", dir);
    kt_open_fails(ctx, missing, KT_PASS, ESESSION_ERR_IO);
    cr_assert(!es_file_exists(missing), "open created a file");
    kt_open_fails(ctx, dir, KT_PASS, ESESSION_ERR_IO);
}
/* ---- damage ----------------------------------------------------------- */

static esession_status try_open(esession_keystore **out)
{
    *out = KT_SENTINEL;
    return esession_keystore_open(ctx, out, path, KT_PASS, KT_PASS_LEN);
}

/* Every octet of a stored trust entry, and of the header, changed: the
 * open is refused with the right reason and hands out nothing. */
static void t_flipped_octets_are_refused(void)
{
    esession_keystore *ks = kt_create(ctx, path);
    esession_key *pub = kt_key(ctx, "dsa2048_pub.pem");
    cr_assert_eq(esession_trust_add(ks, "bob@example.net", pub, "b", NULL), ESESSION_OK);
    esession_key_free(pub);
    esession_keystore_free(ks);

    uint8_t id[32];
    size_t len;
    uint8_t *good = db_value(path, ES_REC_TRUST, 0, id, &len);
    uint8_t *bad = malloc(len);
    cr_assert_not_null(bad);
    size_t step = RUNNING_ON_VALGRIND ? 97 : 1;
    for (size_t pos = 0; pos < len; pos += step) {
        memcpy(bad, good, len);
        bad[pos] ^= 0x01;
        db_put(path, ES_REC_TRUST, id, bad, len);
        esession_keystore *out;
        esession_status rc = try_open(&out);
        cr_assert_eq(rc, ESESSION_ERR_CORRUPT, "octet %zu: %s", pos, esession_status_name(rc));
        cr_assert_eq(out, KT_SENTINEL);
    }
    /* Cut short, or lengthened. */
    db_put(path, ES_REC_TRUST, id, good, len - 1);
    esession_keystore *out;
    cr_assert_eq(try_open(&out), ESESSION_ERR_CORRUPT);
    db_put(path, ES_REC_TRUST, id, good, 10);
    cr_assert_eq(try_open(&out), ESESSION_ERR_CORRUPT);
    db_put(path, ES_REC_TRUST, id, good, len);
    ks = kt_open(ctx, path);
    cr_assert_eq(esession_trust_count(ks), 1);
    esession_keystore_free(ks);
    free(bad);
    free(good);

    /* The header: its form and costs are CORRUPT, the rest (salt, store
     * id, wrap nonce, wrapped key) cannot be told from a wrong passphrase. */
    size_t hlen;
    uint8_t zero[32] = {0};
    uint8_t *h = db_header(path, &hlen);
    uint8_t *hb = malloc(hlen);
    cr_assert_not_null(hb);
    for (size_t pos = 0; pos < hlen; pos++) {
        memcpy(hb, h, hlen);
        hb[pos] ^= 0x80;
        db_put(path, ES_REC_META, zero, hb, hlen);
        esession_status rc = try_open(&out);
        if (pos < 12)
            cr_assert_eq(rc, ESESSION_ERR_CORRUPT, "header octet %zu", pos);
        else if (pos >= 28)
            cr_assert_eq(rc, ESESSION_ERR_BAD_PASSPHRASE, "header octet %zu", pos);
        else
            cr_assert(rc == ESESSION_ERR_CORRUPT || rc == ESESSION_ERR_BAD_PASSPHRASE,
                      "header octet %zu: %s", pos, esession_status_name(rc));
        cr_assert_eq(out, KT_SENTINEL);
    }
    db_put(path, ES_REC_META, zero, h, hlen - 1);
    cr_assert_eq(try_open(&out), ESESSION_ERR_CORRUPT);
    db_put(path, ES_REC_META, zero, h, hlen);
    ks = kt_open(ctx, path);
    esession_keystore_free(ks);
    free(hb);
    free(h);
}

/* A header asking for more than libsodium's SENSITIVE costs (the most the
 * library or esessionctl ever chooses), or less than its minimum, is
 * refused as CORRUPT before Argon2id runs: a derivation under the changed
 * costs would fail the wrap's check (they are its associated data) as a
 * wrong passphrase instead, as costs within the bounds do. */
static void set_costs(uint8_t *h, uint64_t ops, uint64_t mem)
{
    for (int i = 0; i < 8; i++) {
        h[12 + i] = (uint8_t)(ops >> (56 - 8 * i));
        h[20 + i] = (uint8_t)(mem >> (56 - 8 * i));
    }
}

static void t_hostile_kdf_costs_fail_before_derivation(void)
{
    static const struct {
        uint64_t ops, mem;
    } hostile[] = {
        {ES_KS_OPSLIMIT_MAX + 1, crypto_pwhash_argon2id_MEMLIMIT_MIN},
        {UINT64_MAX, crypto_pwhash_argon2id_MEMLIMIT_MIN},
        {0, crypto_pwhash_argon2id_MEMLIMIT_MIN},
        {1, (uint64_t)ES_KS_MEMLIMIT_MAX + 1},
        {1, UINT64_MAX},
        {1, crypto_pwhash_argon2id_MEMLIMIT_MIN - 1},
        {crypto_pwhash_argon2id_OPSLIMIT_MAX, crypto_pwhash_argon2id_MEMLIMIT_MAX},
    };
    uint8_t zero[32] = {0}, id[ES_STORE_ID_BYTES];
    es_ks_kdf kdf;
    size_t hlen;
    esession_keystore *out;

    _Static_assert(ES_KS_OPSLIMIT_MAX == crypto_pwhash_argon2id_OPSLIMIT_SENSITIVE, "bound");
    _Static_assert(ES_KS_MEMLIMIT_MAX == crypto_pwhash_argon2id_MEMLIMIT_SENSITIVE, "bound");
    esession_keystore_free(kt_create(ctx, path));
    uint8_t *h = db_header(path, &hlen);
    uint8_t *hb = malloc(hlen);
    cr_assert_not_null(hb);
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        memcpy(hb, h, hlen);
        set_costs(hb, hostile[i].ops, hostile[i].mem);
        cr_assert_eq(es_hdr_read(ctx, hb, hlen, &kdf, id), ESESSION_ERR_CORRUPT);
        db_put(path, ES_REC_META, zero, hb, hlen);
        cr_assert_eq(try_open(&out), ESESSION_ERR_CORRUPT, "case %zu", i);
        cr_assert_str_eq(esession_ctx_error_detail(ctx), "keystore KDF cost out of bounds");
        cr_assert_eq(out, KT_SENTINEL);
    }
    /* The bounds themselves are read (not derived here: 1 GiB) ... */
    memcpy(hb, h, hlen);
    set_costs(hb, ES_KS_OPSLIMIT_MAX, ES_KS_MEMLIMIT_MAX);
    cr_assert_eq(es_hdr_read(ctx, hb, hlen, &kdf, id), ESESSION_OK);
    cr_assert_eq(kdf.opslimit, crypto_pwhash_argon2id_OPSLIMIT_SENSITIVE);
    cr_assert_eq(kdf.memlimit, crypto_pwhash_argon2id_MEMLIMIT_SENSITIVE);
    /* ... and other costs within them derive, then fail the wrap. */
    set_costs(hb, 2, crypto_pwhash_argon2id_MEMLIMIT_MIN);
    db_put(path, ES_REC_META, zero, hb, hlen);
    cr_assert_eq(try_open(&out), ESESSION_ERR_BAD_PASSPHRASE);
    db_put(path, ES_REC_META, zero, h, hlen);
    esession_keystore_free(kt_open(ctx, path));
    free(hb);
    free(h);
}

/* A record's ciphertext put where another record belongs, or taken from
 * another account's store, or from a later copy of this one. */
static void t_swapped_moved_and_newer_records_are_refused(void)
{
    esession_keystore *ks = kt_create(ctx, path);
    cr_assert_eq(es_ks_blob_put(ks, "session/bob", (const uint8_t *)"bob's", 5), ESESSION_OK);
    cr_assert_eq(es_ks_blob_put(ks, "session/carol", (const uint8_t *)"carol's", 7), ESESSION_OK);
    esession_keystore_free(ks);
    uint8_t id0[32], id1[32];
    size_t l0, l1;
    uint8_t *v0 = db_value(path, ES_REC_BLOB, 0, id0, &l0);
    uint8_t *v1 = db_value(path, ES_REC_BLOB, 1, id1, &l1);
    db_put(path, ES_REC_BLOB, id1, v0, l0); /* both rows now hold record 0 */
    ks = kt_open(ctx, path);
    esession_buf b = {NULL, 0, 0};
    esession_status r0 = es_ks_blob_get(ks, "session/bob", &b);
    esession_buf_free(&b);
    esession_status r1 = es_ks_blob_get(ks, "session/carol", &b);
    esession_buf_free(&b);
    cr_assert(r0 == ESESSION_ERR_CORRUPT || r1 == ESESSION_ERR_CORRUPT, "swap unnoticed");
    cr_assert(r0 == ESESSION_OK || r1 == ESESSION_OK, "the record in its own place still reads");
    size_t n = 0;
    cr_assert_eq(es_ks_blob_list(ks, "", kt_count_one, &n), ESESSION_ERR_CORRUPT);
    esession_keystore_free(ks);
    db_put(path, ES_REC_BLOB, id1, v1, l1);

    /* Another account, same passphrase and names: nothing of it opens
     * here (its store key, store id and record ids differ). */
    char other[160];
    snprintf(other, sizeof other, "%s/other.ks", dir);
    esession_keystore *o = kt_create(ctx, other);
    cr_assert_eq(es_ks_blob_put(o, "session/bob", (const uint8_t *)"other", 5), ESESSION_OK);
    esession_keystore_free(o);
    uint8_t oid[32];
    size_t ol;
    uint8_t *ov = db_value(other, ES_REC_BLOB, 0, oid, &ol);
    db_put(path, ES_REC_BLOB, id0, ov, ol);
    ks = kt_open(ctx, path);
    r0 = es_ks_blob_get(ks, "session/bob", &b);
    r1 = es_ks_blob_get(ks, "session/carol", &b);
    esession_buf_free(&b);
    cr_assert((r0 == ESESSION_ERR_CORRUPT) != (r1 == ESESSION_ERR_CORRUPT), "moved record");
    esession_keystore_free(ks);
    db_put(path, ES_REC_BLOB, id0, v0, l0);
    free(ov);

    /* A copy of the store taken now, then one more commit: the newer
     * record put back into the older copy is refused. */
    char copy[160];
    snprintf(copy, sizeof copy, "%s/copy.ks", dir);
    size_t flen;
    uint8_t *f = kt_slurp(path, &flen);
    kt_spit(copy, f, flen);
    chmod(copy, 0600);
    free(f);
    ks = kt_open(ctx, path);
    cr_assert_eq(es_ks_blob_put(ks, "session/bob", (const uint8_t *)"newer", 5), ESESSION_OK);
    cr_assert_eq(es_ks_blob_put(ks, "session/carol", (const uint8_t *)"newer", 5), ESESSION_OK);
    esession_keystore_free(ks);
    uint8_t nid[32];
    size_t nl;
    uint8_t *nv = db_value(path, ES_REC_BLOB, 0, nid, &nl);
    db_put(copy, ES_REC_BLOB, nid, nv, nl);
    esession_keystore *c = NULL;
    cr_assert_eq(esession_keystore_open(ctx, &c, copy, KT_PASS, KT_PASS_LEN), ESESSION_OK);
    r0 = es_ks_blob_get(c, "session/bob", &b);
    esession_buf_free(&b);
    r1 = es_ks_blob_get(c, "session/carol", &b);
    cr_assert((r0 == ESESSION_ERR_CORRUPT) != (r1 == ESESSION_ERR_CORRUPT), "newer record");
    cr_assert(r0 == ESESSION_OK || r1 == ESESSION_OK);
    cr_assert_str_neq(esession_ctx_error_detail(ctx), "");
    esession_buf_free(&b);
    esession_keystore_free(c);
    free(nv);
    free(v0);
    free(v1);
}

/* One record put back to an older ciphertext of itself, or deleted, or a
 * record that was never written: the version index refuses each. */
static void t_rolled_back_and_deleted_records_are_refused(void)
{
    uint8_t d[ES_REPLAY_HASH], nb[ES_REPLAY_HASH], init[ES_REPLAY_HASH];
    uint8_t id[32], id2[32];
    size_t len, len2;
    esession_keystore *ks = kt_create(ctx, path);
    cr_assert_eq(es_ks_blob_put(ks, "session/bob", (const uint8_t *)"counter 1", 9), ESESSION_OK);
    esession_keystore_free(ks);
    uint8_t *old = db_value(path, ES_REC_BLOB, 0, id, &len);
    ks = kt_open(ctx, path);
    cr_assert_eq(es_ks_blob_put(ks, "session/bob", (const uint8_t *)"counter 2", 9), ESESSION_OK);
    esession_keystore_free(ks);
    db_put(path, ES_REC_BLOB, id, old, len); /* an authentic, older copy */
    ks = kt_open(ctx, path);
    esession_buf b = {NULL, 0, 0};
    cr_assert_eq(es_ks_blob_get(ks, "session/bob", &b), ESESSION_ERR_CORRUPT);
    cr_assert_not_null(strstr(esession_ctx_error_detail(ctx), "rolled back"),
                       "%s", esession_ctx_error_detail(ctx));
    size_t n = 0;
    cr_assert_eq(es_ks_blob_list(ks, "", kt_count_one, &n), ESESSION_ERR_CORRUPT);
    esession_keystore_free(ks);
    free(old);

    /* Replay memory deleted under the option set: refused, not forgotten
     * (forgetting it would let a replayed session in). */
    reset();
    ks = kt_create(ctx, path);
    fill_small(ks);
    esession_keystore_free(ks);
    uint8_t *rep = db_value(path, ES_REC_REPLAY, 0, id2, &len2);
    sqlite3 *db = db_open(path);
    cr_assert_eq(sqlite3_exec(db, "DELETE FROM record WHERE kind = 4", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    ks = kt_open(ctx, path);
    kt_hash(d, "d");
    kt_hash(nb, "nb");
    kt_hash(init, "other init");
    int dup = 0;
    cr_assert_eq(es_ks_replay_check(ks, nonce_a, sizeof nonce_a, d, nb, init, &dup),
                 ESESSION_ERR_CORRUPT);
    cr_assert_not_null(strstr(esession_ctx_error_detail(ctx), "deleted"));
    esession_keystore_free(ks);
    /* Put back, and one more that was never written there. */
    db_put(path, ES_REC_REPLAY, id2, rep, len2);
    uint8_t forged[32];
    memcpy(forged, id2, 32);
    forged[31] ^= 1;
    db_put(path, ES_REC_REPLAY, forged, rep, len2);
    ks = kt_open(ctx, path);
    cr_assert_eq(es_ks_replay_check(ks, nonce_a, sizeof nonce_a, d, nb, init, &dup),
                 ESESSION_ERR_CORRUPT); /* the other of the pair is still gone */
    esession_keystore_free(ks);
    free(rep);
}

/* A value far larger than any record is refused before it is read into
 * memory. */
static void t_oversized_values_are_refused(void)
{
    esession_keystore *ks = kt_create(ctx, path);
    cr_assert_eq(es_ks_blob_put(ks, "session/bob", (const uint8_t *)"s", 1), ESESSION_OK);
    esession_keystore_free(ks);
    uint8_t id[32];
    size_t len;
    uint8_t *v = db_value(path, ES_REC_BLOB, 0, id, &len);
    size_t big = 5u * 1024u * 1024u;
    uint8_t *huge = calloc(1, big);
    cr_assert_not_null(huge);
    memcpy(huge, v, len);
    db_put(path, ES_REC_BLOB, id, huge, big);
    ks = kt_open(ctx, path);
    esession_buf b = {NULL, 0, 0};
    esession_status rc = es_ks_blob_get(ks, "session/bob", &b);
    cr_assert(rc == ESESSION_ERR_IO || rc == ESESSION_ERR_CORRUPT, "%s", esession_status_name(rc));
    cr_assert_null(b.data);
    size_t n = 0;
    cr_assert_neq(es_ks_blob_list(ks, "", kt_count_one, &n), ESESSION_OK);
    esession_keystore_free(ks);
    free(huge);
    free(v);
}

/* A host anchor: the last commit count of each store, by id. */
typedef struct anchor {
    char id[2 * ES_STORE_ID_BYTES + 1];
    uint64_t commits;
    int sets;
} anchor;

static int anchor_get(void *user, const char *id, uint64_t *commits)
{
    const anchor *a = user;
    if (a->sets == 0 || strcmp(a->id, id) != 0)
        return 1;
    *commits = a->commits;
    return 0;
}

static int anchor_set(void *user, const char *id, uint64_t commits)
{
    anchor *a = user;
    snprintf(a->id, sizeof a->id, "%s", id);
    a->commits = commits;
    a->sets++;
    return 0;
}

/* The whole store put back from an older copy: only something outside it
 * can tell, and with the host's anchor it does. */
static void t_anchor_catches_an_older_copy(void)
{
    static const esession_host_ops ops = {.anchor_get = anchor_get, .anchor_set = anchor_set};
    anchor a;
    memset(&a, 0, sizeof a);
    esession_ctx_options co = ESESSION_CTX_OPTIONS_INIT;
    co.ops = &ops;
    co.user = &a;
    esession_ctx *c = NULL;
    cr_assert_eq(esession_ctx_new(&c, &co, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_OK);
    esession_keystore *ks = kt_create(c, path);
    cr_assert_eq(a.commits, 1);
    cr_assert_eq(es_ks_blob_put(ks, "session/bob", (const uint8_t *)"1", 1), ESESSION_OK);
    esession_keystore_free(ks);
    size_t old_len, new_len;
    uint8_t *old = kt_slurp(path, &old_len);
    ks = kt_open(c, path);
    cr_assert_eq(es_ks_blob_put(ks, "session/bob", (const uint8_t *)"2", 1), ESESSION_OK);
    esession_keystore_free(ks);
    cr_assert_eq(a.commits, 3);
    uint8_t *cur = kt_slurp(path, &new_len);
    kt_spit(path, old, old_len);
    esession_keystore *out = KT_SENTINEL;
    cr_assert_eq(esession_keystore_open(c, &out, path, KT_PASS, KT_PASS_LEN), ESESSION_ERR_CORRUPT);
    cr_assert_eq(out, KT_SENTINEL);
    cr_assert_not_null(strstr(esession_ctx_error_detail(c), "older copy"));
    /* Without the anchor the older copy is consistent and opens. */
    ks = kt_open(ctx, path);
    esession_keystore_free(ks);
    kt_spit(path, cur, new_len);
    ks = kt_open(c, path);
    esession_keystore_free(ks);
    /* A new store at the same path has an id of its own. */
    unlink(path);
    ks = kt_create(c, path);
    esession_keystore_free(ks);
    ks = kt_open(c, path);
    esession_keystore_free(ks);
    cr_assert_eq(a.commits, 1);
    free(old);
    free(cur);
    esession_ctx_free(c);
}

/* Truncated database files: a clear error, never a crash. */
static void t_truncated_database(void)
{
    esession_keystore *ks = kt_create(ctx, path);
    fill_small(ks);
    esession_keystore_free(ks);
    size_t len;
    uint8_t *good = kt_slurp(path, &len);
    size_t step = RUNNING_ON_VALGRIND ? len / 3 : 512;
    for (size_t n = 0; n < len; n += step) {
        kt_spit(path, good, n);
        esession_keystore *out;
        esession_status rc = try_open(&out);
        if (rc == ESESSION_OK) {
            /* What open read was intact; what it did not read is either
             * intact too or refused with a clear error, never wrong. */
            const es_optset *o = es_ks_optset_find(out, nonce_a, sizeof nonce_a);
            cr_assert(o != NULL && o->created == 1000 && o->n_replay == 1, "cut at %zu", n);
            esession_buf b = {NULL, 0, 0};
            esession_status g = es_ks_blob_get(out, "session/bob", &b);
            if (g == ESESSION_OK)
                cr_assert(b.len == 6 && memcmp(b.data, "ranges", 6) == 0, "cut at %zu", n);
            else
                cr_assert(g == ESESSION_ERR_CORRUPT || g == ESESSION_ERR_IO, "cut at %zu: %s", n,
                          esession_status_name(g));
            esession_buf_free(&b);
            esession_keystore_free(out);
            continue;
        }
        cr_assert(rc == ESESSION_ERR_CORRUPT || rc == ESESSION_ERR_IO, "cut at %zu: %s", n,
                  esession_status_name(rc));
        cr_assert_eq(out, KT_SENTINEL);
        cr_assert_str_neq(esession_ctx_error_detail(ctx), "");
    }
    kt_spit(path, good, len);
    ks = kt_open(ctx, path);
    check_small(ks);
    esession_keystore_free(ks);
    free(good);
}

/* ---- transactions ------------------------------------------------------ */

/* A commit that fails leaves store and handle as they were. */
static void t_failed_commit_changes_nothing(void)
{
    esession_keystore *ks = kt_create(ctx, path);
    fill_small(ks);
    esession_key *pub = kt_key(ctx, "rsa2048_pub.pem");
    int calls = 0;
    kt_break_writes(ks, &calls);
    cr_assert_eq(esession_trust_add(ks, "dave@example.org", pub, NULL, NULL), ESESSION_ERR_IO);
    cr_assert_eq(esession_trust_count(ks), 0);
    cr_assert_eq(es_ks_blob_put(ks, "session/bob", (const uint8_t *)"lost", 4), ESESSION_ERR_IO);
    cr_assert_eq(es_ks_optset_destroy_secrets(ks, nonce_a, sizeof nonce_a), ESESSION_ERR_IO);
    cr_assert_eq(calls, 3);
    check_small(ks); /* x values still there: reloaded from the store */
    es_ks_set_hooks(ks, NULL);
    esession_keystore_free(ks);
    ks = kt_open(ctx, path);
    check_small(ks);
    cr_assert_eq(esession_trust_count(ks), 0);
    cr_assert_eq(esession_trust_add(ks, "dave@example.org", pub, NULL, NULL), ESESSION_OK);
    esession_keystore_free(ks);
    esession_key_free(pub);
}

static void t_batches(void)
{
    esession_keystore *ks = kt_create(ctx, path);
    fill_small(ks);
    esession_key *pub = kt_key(ctx, "rsa2048_pub.pem");
    /* Rolled back: nothing of it stays, in the store or the handle. */
    cr_assert_eq(esession_keystore_begin(ks), ESESSION_OK);
    cr_assert_eq(esession_keystore_begin(ks), ESESSION_ERR_STATE);
    cr_assert_eq(esession_trust_add(ks, "erin@example.org", pub, NULL, NULL), ESESSION_OK);
    cr_assert_eq(es_ks_blob_put(ks, "session/erin", (const uint8_t *)"e", 1), ESESSION_OK);
    cr_assert_eq(esession_trust_count(ks), 1);
    /* What must be durable at once refuses inside a batch. */
    esession_publication p;
    cr_assert_eq(esession_publish(ctx, ks, NULL, &p), ESESSION_ERR_STATE);
    esession_keystore_rollback(ks);
    cr_assert_eq(esession_trust_count(ks), 0);
    cr_assert_eq(blob_count(ks, "session/erin"), 0);
    cr_assert_eq(esession_keystore_commit(ks), ESESSION_ERR_STATE);
    /* Committed: both, at once. */
    cr_assert_eq(esession_keystore_begin(ks), ESESSION_OK);
    cr_assert_eq(esession_trust_add(ks, "erin@example.org", pub, NULL, NULL), ESESSION_OK);
    cr_assert_eq(es_ks_blob_put(ks, "session/erin", (const uint8_t *)"e", 1), ESESSION_OK);
    /* A refusal that wrote nothing does not doom the batch. */
    cr_assert_eq(esession_trust_add(ks, "erin@example.org", pub, NULL, NULL), ESESSION_ERR_STATE);
    cr_assert_eq(esession_keystore_commit(ks), ESESSION_OK);
    esession_keystore_free(ks);
    ks = kt_open(ctx, path);
    cr_assert_eq(esession_trust_count(ks), 1);
    cr_assert_eq(blob_count(ks, "session/erin"), 1);
    /* A failed commit rolls the batch back. */
    int calls = 0;
    cr_assert_eq(esession_keystore_begin(ks), ESESSION_OK);
    cr_assert_eq(es_ks_blob_put(ks, "session/frank", (const uint8_t *)"f", 1), ESESSION_OK);
    kt_break_writes(ks, &calls);
    cr_assert_eq(esession_keystore_commit(ks), ESESSION_ERR_IO);
    es_ks_set_hooks(ks, NULL);
    cr_assert_eq(blob_count(ks, "session/frank"), 0);
    /* Closing with a batch open rolls it back. */
    cr_assert_eq(esession_keystore_begin(ks), ESESSION_OK);
    cr_assert_eq(es_ks_blob_put(ks, "session/gina", (const uint8_t *)"g", 1), ESESSION_OK);
    esession_keystore_free(ks);
    ks = kt_open(ctx, path);
    cr_assert_eq(blob_count(ks, "session/gina"), 0);
    check_small(ks);
    esession_keystore_free(ks);
    esession_key_free(pub);
    cr_assert_eq(esession_keystore_begin(NULL), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_keystore_commit(NULL), ESESSION_ERR_INVALID_ARGUMENT);
    esession_keystore_rollback(NULL);
}

/* Two handles on one store see each other's commits. */
static void t_handles_share_one_store(void)
{
    esession_keystore *a = kt_create(ctx, path);
    esession_keystore *b = kt_open(ctx, path);
    esession_key *rsa = kt_key(ctx, "rsa2048.pem");
    esession_key *pub = kt_key(ctx, "dsa2048_pub.pem");
    cr_assert_eq(esession_keystore_key_count(b), 0);
    cr_assert_eq(esession_keystore_add_key(a, rsa), ESESSION_OK);
    cr_assert_eq(esession_keystore_key_count(b), 1);
    cr_assert_eq(esession_keystore_add_key(b, rsa), ESESSION_ERR_STATE);
    cr_assert_eq(esession_trust_add(b, "bob@example.net", pub, NULL, NULL), ESESSION_OK);
    cr_assert_eq(esession_trust_check(a, "bob@example.net", pub), ESESSION_OK);
    fill_small(a);
    check_small(b);
    cr_assert_eq(es_ks_optset_destroy_secrets(b, nonce_a, sizeof nonce_a), ESESSION_OK);
    const es_optset *o = es_ks_optset_find(a, nonce_a, sizeof nonce_a);
    cr_assert_not_null(o);
    cr_assert(o->secrets_destroyed);
    cr_assert_eq(o->x[0].len, 0);
    /* A third handle syncing every commit (power-loss durability). */
    esession_keystore_options full = ESESSION_KEYSTORE_OPTIONS_INIT;
    full.durability = ESESSION_DURABILITY_FULL;
    esession_keystore *c = NULL;
    cr_assert_eq(esession_keystore_open_with(ctx, &c, path, KT_PASS, KT_PASS_LEN, &full),
                 ESESSION_OK);
    cr_assert_eq(es_ks_blob_put(c, "session/full", (const uint8_t *)"f", 1), ESESSION_OK);
    esession_keystore_free(c);
    cr_assert_eq(blob_count(a, "session/full"), 1);
    esession_keystore_info info;
    cr_assert_eq(esession_keystore_get_info(a, &info), ESESSION_OK);
    cr_assert_eq(info.format, 2);
    cr_assert_gt(info.commits, 5);
    esession_keystore_free(a);
    esession_keystore_free(b);
    esession_key_free(rsa);
    esession_key_free(pub);
}

#define INCREMENTS 100

/* Each thread its own context and handle: read a counter and write it
 * back increased, in one transaction each time. */
static void *incrementer(void *arg)
{
    (void)arg;
    esession_ctx *c = NULL;
    esession_keystore *ks = NULL;
    if (esession_ctx_new(&c, NULL, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR) != ESESSION_OK ||
        esession_keystore_open(c, &ks, path, KT_PASS, KT_PASS_LEN) != ESESSION_OK)
        return (void *)1;
    uintptr_t bad = 0;
    for (int i = 0; i < INCREMENTS && !bad; i++) {
        esession_buf b = {NULL, 0, 0};
        uint32_t v = 0;
        bad = es_tx_begin(ks, 1) != ESESSION_OK;
        if (!bad && es_ks_blob_get(ks, "counter", &b) == ESESSION_OK && b.len == 4)
            memcpy(&v, b.data, 4);
        esession_buf_free(&b);
        v++;
        esession_status rc = bad ? ESESSION_ERR_STATE
                                 : es_ks_blob_put(ks, "counter", (const uint8_t *)&v, 4);
        bad = es_tx_end(ks, rc) != ESESSION_OK || bad;
    }
    esession_keystore_free(ks);
    esession_ctx_free(c);
    return (void *)bad;
}

static void t_threads_serialize(void)
{
    esession_keystore *ks = kt_create(ctx, path);
    uint32_t zero = 0;
    cr_assert_eq(es_ks_blob_put(ks, "counter", (const uint8_t *)&zero, 4), ESESSION_OK);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, incrementer, NULL), 0);
    for (int i = 0; i < 3; i++) {
        void *res = NULL;
        cr_assert_eq(pthread_join(t[i], &res), 0);
        cr_assert_null(res, "a thread failed");
    }
    esession_buf b = {NULL, 0, 0};
    cr_assert_eq(es_ks_blob_get(ks, "counter", &b), ESESSION_OK);
    uint32_t v = 0;
    memcpy(&v, b.data, 4);
    cr_assert_eq(v, 3 * INCREMENTS, "lost updates: %u of %u", v, 3 * INCREMENTS);
    esession_buf_free(&b);
    esession_keystore_free(ks);
}

static int contains(const uint8_t *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return 1;
    return 0;
}

/* Record names never reach the database: ids are keyed hashes. */
static void t_names_stay_private(void)
{
    esession_keystore *ks = kt_create(ctx, path);
    esession_key *pub = kt_key(ctx, "dsa2048_pub.pem");
    cr_assert_eq(esession_trust_add(ks, "secret-friend@example.net", pub, "Petname", NULL),
                 ESESSION_OK);
    cr_assert_eq(es_ks_blob_put(ks, "bob/session/secret-friend@example.net",
                                (const uint8_t *)"state", 5), ESESSION_OK);
    esession_key_free(pub);
    esession_keystore_free(ks);
    size_t len;
    uint8_t *f = kt_slurp(path, &len);
    static const char *const words[] = {"secret-friend", "Petname", "session", "KeyValue",
                                        "state"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        cr_assert(!contains(f, len, words[i]), "%s in the file", words[i]);
    free(f);
}

Test(keystore, round_trip)
{
    t_round_trip_everything();
    reset();
    t_names_stay_private();
}

Test(keystore, passphrases)
{
    t_wrong_passphrase();
    reset();
    t_empty_keystore_and_empty_passphrase();
    reset();
    t_change_passphrase();
}

Test(keystore, tampering_is_detected)
{
    t_flipped_octets_are_refused();
    reset();
    t_hostile_kdf_costs_fail_before_derivation();
    reset();
    t_swapped_moved_and_newer_records_are_refused();
    reset();
    t_rolled_back_and_deleted_records_are_refused();
    reset();
    t_anchor_catches_an_older_copy();
    reset();
    t_oversized_values_are_refused();
    reset();
    t_truncated_database();
}

Test(keystore, foreign_files)
{
    t_foreign_files_are_refused();
}

Test(keystore, creation)
{
    t_create_never_overwrites();
    reset();
    t_mode_is_0600_whatever_the_umask();
    reset();
    t_bad_arguments();
    reset();
    t_kdf_defaults_are_moderate();
}

Test(keystore, transactions)
{
    t_failed_commit_changes_nothing();
    reset();
    t_batches();
    reset();
    t_handles_share_one_store();
    reset();
    t_threads_serialize();
}

Test(keystore, signing_keys_and_limits)
{
    t_signing_keys();
    reset();
    t_key_count_limit();
}

/* A child process after fork never uses the nonces its parent made
 * ahead: a transaction of its own finds the batch empty (the next record
 * draws a batch from the random source); the parent goes on with its own.
 * The child touches nothing of the store (SQLite's connection is the
 * parent's), and the keystore is kept where valgrind sees it in the child. */
static esession_keystore *forked_ks;

Test(keystore, no_nonce_reuse_after_fork)
{
    forked_ks = kt_create(ctx, path);
    cr_assert_eq(es_ks_blob_put(forked_ks, "before", (const uint8_t *)"x", 1), ESESSION_OK);
    size_t left = forked_ks->nonces->left;
    cr_assert_gt(left, 0, "a batch was made and is in use");
    pid_t kid = fork();
    cr_assert_neq(kid, -1);
    if (kid == 0) {
        es_ks_nonces_check(forked_ks); /* as a transaction's start does */
        int ok = forked_ks->nonces->left == 0;
        for (size_t i = 0; ok && i < sizeof forked_ks->nonces->v; i++)
            ok = forked_ks->nonces->v[i] == 0;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    cr_assert_eq(waitpid(kid, &status, 0), kid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child kept its parent's nonces");
    es_ks_nonces_check(forked_ks);
    cr_assert_eq(forked_ks->nonces->left, left, "the parent keeps its batch");
    cr_assert_eq(es_ks_blob_put(forked_ks, "after", (const uint8_t *)"z", 1), ESESSION_OK);
    cr_assert_lt(forked_ks->nonces->left, left, "and uses it");
    esession_keystore_free(forked_ks);
    forked_ks = NULL;
}
