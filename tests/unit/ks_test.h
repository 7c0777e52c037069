/* SPDX-License-Identifier: ISC */
/* Helpers shared by the keystore tests: a private temporary directory per
 * test, cheap KDF costs, fixture keys, raw file access and write failure
 * injection. Header-only so that only the keystore tests link the store. */
#ifndef ESESSION_TEST_KS_H
#define ESESSION_TEST_KS_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../store/ks.h"
#include "../common/vecfile.h"
#include "fixture.h"

#define KT_PASS "correct horse battery staple"
#define KT_PASS_LEN (sizeof KT_PASS - 1)
#define KT_SENTINEL ((esession_keystore *)(uintptr_t)0x5a5a)

/* The cheapest Argon2id libsodium allows: tests stay fast everywhere. */
static inline esession_keystore_options kt_fast(void)
{
    esession_keystore_options o = ESESSION_KEYSTORE_OPTIONS_INIT;
    o.kdf_opslimit = crypto_pwhash_argon2id_OPSLIMIT_MIN;
    o.kdf_memlimit = crypto_pwhash_argon2id_MEMLIMIT_MIN;
    return o;
}

/* A listing callback that counts what it is shown (arg: size_t *). */
static inline esession_status kt_count_one(void *arg, const char *name, const uint8_t *data,
                                           size_t len, uint64_t version)
{
    (void)name;
    (void)data;
    (void)len;
    (void)version;
    (*(size_t *)arg)++;
    return ESESSION_OK;
}

static inline void kt_mkdir(char *dir, size_t n)
{
    snprintf(dir, n, "/tmp/esession-ks-XXXXXX");
    cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
}

/* Remove dir and the plain files in it. */
static inline void kt_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) != 0)
            (void)rmdir(path);
    }
    closedir(d);
    (void)chmod(dir, 0700);
    (void)rmdir(dir);
}

static inline size_t kt_count_files(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static inline esession_keystore *kt_create(esession_ctx *ctx, const char *path)
{
    esession_keystore_options o = kt_fast();
    esession_keystore *ks = NULL;
    esession_status rc = esession_keystore_create(ctx, &ks, path, KT_PASS, KT_PASS_LEN, &o);
    cr_assert_eq(rc, ESESSION_OK, "create: %s (%s)", esession_status_name(rc),
                 esession_ctx_error_detail(ctx));
    cr_assert_not_null(ks);
    return ks;
}

static inline esession_keystore *kt_open(esession_ctx *ctx, const char *path)
{
    esession_keystore *ks = NULL;
    esession_status rc = esession_keystore_open(ctx, &ks, path, KT_PASS, KT_PASS_LEN);
    cr_assert_eq(rc, ESESSION_OK, "open: %s (%s)", esession_status_name(rc),
                 esession_ctx_error_detail(ctx));
    cr_assert_not_null(ks);
    return ks;
}

/* A new keystore `file` in a new private directory (dir, path filled):
 * the set-up of the suites that work on one store. */
static inline esession_keystore *kt_fresh_store(esession_ctx *ctx, char *dir, size_t dir_len,
                                                char *path, size_t path_len, const char *file)
{
    kt_mkdir(dir, dir_len);
    snprintf(path, path_len, "%s/%s", dir, file);
    return kt_create(ctx, path);
}

/* Its tear-down: the handle released, the directory removed. */
static inline void kt_drop_store(esession_keystore *ks, const char *dir)
{
    esession_keystore_free(ks);
    kt_rmdir(dir);
}

/* A Criterion suite `name` whose every test has a fresh context `ctx` and
 * a new keystore `ks` at `path` (file `file` in the private directory
 * `dir`), released and removed after it. */
#define KT_SUITE_WITH_STORE(name, file)                                                        \
    static esession_ctx *ctx;                                                                   \
    static char dir[64];                                                                        \
    static char path[128];                                                                      \
    static esession_keystore *ks;                                                               \
    static void kt_setup_##name(void)                                                           \
    {                                                                                           \
        ctx = fx_ctx_new();                                                                     \
        ks = kt_fresh_store(ctx, dir, sizeof dir, path, sizeof path, file);                     \
    }                                                                                           \
    static void kt_teardown_##name(void)                                                        \
    {                                                                                           \
        kt_drop_store(ks, dir);                                                                 \
        esession_ctx_free(ctx);                                                                 \
    }                                                                                           \
    TestSuite(name, .init = kt_setup_##name, .fini = kt_teardown_##name)

/* A Criterion suite `name` whose every test has a context `ctx` made by
 * new_ctx and an empty private directory `dir` with `path` naming `file`
 * in it (not created), removed after it. */
#define KT_SUITE_WITH_DIR(name, file, new_ctx)                                                  \
    static esession_ctx *ctx;                                                                   \
    static char dir[64];                                                                        \
    static char path[128];                                                                      \
    static void kt_setup_##name(void)                                                           \
    {                                                                                           \
        ctx = (new_ctx);                                                                        \
        kt_mkdir(dir, sizeof dir);                                                              \
        snprintf(path, sizeof path, "%s/%s", dir, file);                                        \
    }                                                                                           \
    static void kt_teardown_##name(void)                                                        \
    {                                                                                           \
        kt_rmdir(dir);                                                                          \
        esession_ctx_free(ctx);                                                                 \
    }                                                                                           \
    TestSuite(name, .init = kt_setup_##name, .fini = kt_teardown_##name)

/* Open must fail with want, leave *out alone and explain itself. */
static inline void kt_open_fails(esession_ctx *ctx, const char *path, const char *pass,
                                 esession_status want)
{
    esession_keystore *ks = KT_SENTINEL;
    esession_status rc = esession_keystore_open(ctx, &ks, path, pass, strlen(pass));
    cr_assert_eq(rc, want, "open: %s (%s), want %s", esession_status_name(rc),
                 esession_ctx_error_detail(ctx), esession_status_name(want));
    cr_assert_eq(ks, KT_SENTINEL, "output touched on failure");
    cr_assert_str_neq(esession_ctx_error_detail(ctx), "");
}

static inline esession_key *kt_key(esession_ctx *ctx, const char *name)
{
    return fx_key(ctx, name);
}

static inline void kt_fingerprint(esession_ctx *ctx, const esession_key *k,
                                  uint8_t fp[ESESSION_FINGERPRINT_BYTES])
{
    cr_assert_eq(esession_key_fingerprint(ctx, k, fp), ESESSION_OK);
}

static inline uint8_t *kt_slurp(const char *path, size_t *len)
{
    char *s = vec_read_file(path, len);
    cr_assert_not_null(s, "read %s", path);
    return (uint8_t *)s;
}

static inline void kt_spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "write %s", path);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

/* The file at path holds exactly data. */
static inline void kt_expect_file(const char *path, const uint8_t *data, size_t len)
{
    size_t n;
    uint8_t *now = kt_slurp(path, &n);
    cr_assert_eq(n, len, "file length changed");
    cr_assert(memcmp(now, data, len) == 0, "file content changed");
    free(now);
}

/* A before_commit hook that counts its calls and fails the write. */
/* Make every later commit of ks fail (counted in *calls). */
static inline int kt_fail_commit(void *user)
{
    int *calls = user;
    if (calls != NULL)
        (*calls)++;
    return -1;
}

static inline void kt_break_writes(esession_keystore *ks, int *calls)
{
    es_ks_hooks h = {kt_fail_commit, calls};
    es_ks_set_hooks(ks, &h);
}

static inline void kt_hash(uint8_t out[ES_REPLAY_HASH], const char *s)
{
    crypto_hash_sha256(out, (const uint8_t *)s, strlen(s));
}

#endif
