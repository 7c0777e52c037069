/* SPDX-License-Identifier: ISC */
/* The earlier single-file keystore (format 1) and its one-time conversion:
 * header bounds checked before any derivation, malformed bodies, a real
 * pair of format-1 keystores with sessions in flight (tests/data/v1)
 * carried on after conversion, a failed conversion that leaves the old
 * file as it was, and two processes converting at once. */
#include "ks_test.h"

#include "../../session/receiver.h"
#include "../../session/sender.h"

#include <sys/wait.h>

static esession_ctx *ctx;
static char dir[64];
static char path[128];

/* tests/data/v1 was made at this time (see tests/data/README.md). */
#define FIXTURE_NOW 1796615100

static int64_t fixture_now(void *user)
{
    (void)user;
    return FIXTURE_NOW;
}

static void setup(void)
{
    static const esession_host_ops ops = {.now = fixture_now};
    esession_ctx_options o = ESESSION_CTX_OPTIONS_INIT;
    o.ops = &ops;
    cr_assert_eq(esession_ctx_new(&ctx, &o, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_OK);
    kt_mkdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/alice.ks", dir);
}

static void teardown(void)
{
    kt_rmdir(dir);
    esession_ctx_free(ctx);
}

TestSuite(ksconvert, .init = setup, .fini = teardown);

/* A header with these fields and a body of body_len zero octets. */
static void write_header(uint16_t version, uint64_t ops, uint64_t mem, uint32_t ct_len,
                         size_t body_len)
{
    uint8_t *f = calloc(1, ES_KS_HEADER_BYTES + body_len);
    cr_assert_not_null(f);
    memcpy(f, ES_KS_MAGIC, ES_KS_MAGIC_BYTES);
    f[8] = (uint8_t)(version >> 8);
    f[9] = (uint8_t)version;
    f[10] = 1;
    f[11] = 1;
    for (int i = 0; i < 8; i++) {
        f[12 + i] = (uint8_t)(ops >> (56 - 8 * i));
        f[20 + i] = (uint8_t)(mem >> (56 - 8 * i));
    }
    for (int i = 0; i < 4; i++)
        f[68 + i] = (uint8_t)(ct_len >> (24 - 8 * i));
    kt_spit(path, f, ES_KS_HEADER_BYTES + body_len);
    free(f);
}

static void t_header_bounds_are_enforced_before_derivation(void)
{
    const uint64_t ops = crypto_pwhash_argon2id_OPSLIMIT_MIN;
    const uint64_t mem = crypto_pwhash_argon2id_MEMLIMIT_MIN;
    /* A well-formed header with a wrong tag: the passphrase is blamed. */
    write_header(1, ops, mem, 32, 32);
    kt_open_fails(ctx, path, KT_PASS, ESESSION_ERR_BAD_PASSPHRASE);
    /* Each of these must be refused without running Argon2id at all: a
     * 2^60-octet memlimit could not be run. */
    write_header(2, ops, mem, 32, 32);
    kt_open_fails(ctx, path, KT_PASS, ESESSION_ERR_CORRUPT);
    write_header(0, ops, mem, 32, 32);
    kt_open_fails(ctx, path, KT_PASS, ESESSION_ERR_CORRUPT);
    write_header(1, ES_KS_OPSLIMIT_MAX + 1, mem, 32, 32);
    kt_open_fails(ctx, path, KT_PASS, ESESSION_ERR_CORRUPT);
    write_header(1, UINT64_MAX, mem, 32, 32);
    kt_open_fails(ctx, path, KT_PASS, ESESSION_ERR_CORRUPT);
    write_header(1, 0, mem, 32, 32);
    kt_open_fails(ctx, path, KT_PASS, ESESSION_ERR_CORRUPT);
    write_header(1, ops, (uint64_t)ES_KS_MEMLIMIT_MAX + 1, 32, 32);
    kt_open_fails(ctx, path, KT_PASS, ESESSION_ERR_CORRUPT);
    write_header(1, ops, (uint64_t)1 << 60, 32, 32);
    kt_open_fails(ctx, path, KT_PASS, ESESSION_ERR_CORRUPT);
    write_header(1, ops, mem - 1, 32, 32);
    kt_open_fails(ctx, path, KT_PASS, ESESSION_ERR_CORRUPT);
    /* Body length: shorter than a tag, over the bound, not the file's. */
    write_header(1, ops, mem, 15, 15);
    kt_open_fails(ctx, path, KT_PASS, ESESSION_ERR_CORRUPT);
    write_header(1, ops, mem, UINT32_MAX, 32);
    kt_open_fails(ctx, path, KT_PASS, ESESSION_ERR_CORRUPT);
    write_header(1, ops, mem, 33, 32);
    kt_open_fails(ctx, path, KT_PASS, ESESSION_ERR_CORRUPT);
    write_header(1, ops, mem, 31, 32);
    kt_open_fails(ctx, path, KT_PASS, ESESSION_ERR_CORRUPT);
}


/* Seal body with the format-1 envelope (right passphrase) so that only
 * the body decoder can object. */
static void write_sealed(const uint8_t *body, size_t len)
{
    es_ks_kdf kdf = {crypto_pwhash_argon2id_OPSLIMIT_MIN, crypto_pwhash_argon2id_MEMLIMIT_MIN, {0}};
    uint8_t *key = NULL, *file = NULL;
    size_t file_len = 0;
    randombytes_buf(kdf.salt, sizeof kdf.salt);
    cr_assert_eq(es_kdf_derive(ctx, &kdf, KT_PASS, KT_PASS_LEN, &key), ESESSION_OK);
    cr_assert_eq(es_ks_seal(ctx, &kdf, key, body, len, &file, &file_len), ESESSION_OK);
    kt_spit(path, file, file_len);
    free(file);
    es_guarded_free(key);
}

static void t_malformed_bodies_are_corrupt(void)
{
    static const struct {
        const char *what;
        const uint8_t *body;
        size_t len;
    } cases[] = {
        {"nothing", (const uint8_t *)"", 0},
        {"wrong magic", (const uint8_t *)"ESKA\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20},
        {"short", (const uint8_t *)"ESKB\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 19},
        {"trailing", (const uint8_t *)"ESKB\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 21},
        {"key count with no keys", (const uint8_t *)"ESKB\0\0\0\1\0\0\0\0\0\0\0\0\0\0\0\0", 20},
        {"huge trust count", (const uint8_t *)"ESKB\0\0\0\0\xff\xff\xff\xff\0\0\0\0\0\0\0\0", 20},
        {"option set count", (const uint8_t *)"ESKB\0\0\0\0\0\0\0\0\0\0\0\7\0\0\0\0", 20},
        {"record count", (const uint8_t *)"ESKB\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1\0", 20},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_sealed(cases[i].body, cases[i].len);
        size_t len;
        uint8_t *before = kt_slurp(path, &len);
        esession_keystore *out = KT_SENTINEL;
        esession_status rc = esession_keystore_open(ctx, &out, path, KT_PASS, KT_PASS_LEN);
        cr_assert_eq(rc, ESESSION_ERR_CORRUPT, "%s: %s", cases[i].what, esession_status_name(rc));
        cr_assert_eq(out, KT_SENTINEL);
        kt_expect_file(path, before, len);
        cr_assert_eq(kt_count_files(dir), 1, "%s: nothing left beside it", cases[i].what);
        free(before);
    }
    /* An empty but well-formed body converts into an empty store. */
    write_sealed((const uint8_t *)"ESKB\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
    esession_keystore *ks = kt_open(ctx, path);
    cr_assert_eq(esession_keystore_key_count(ks), 0);
    esession_keystore_free(ks);
}

/* The fixture files, with their passphrases (first line of *.pass). */
static void copy_fixture(const char *name, char *out, size_t n, char *pass, size_t pn)
{
    char src[128];
    snprintf(src, sizeof src, "tests/data/v1/%s.ks", name);
    size_t len;
    uint8_t *f = kt_slurp(src, &len);
    snprintf(out, n, "%s/%s.ks", dir, name);
    kt_spit(out, f, len);
    cr_assert_eq(chmod(out, 0600), 0);
    free(f);
    snprintf(src, sizeof src, "tests/data/v1/%s.pass", name);
    f = kt_slurp(src, &len);
    cr_assert_lt(len, pn);
    memcpy(pass, f, len);
    pass[len] = '\0';
    pass[strcspn(pass, "\n")] = '\0';
    free(f);
}

static int is_sqlite(const char *p)
{
    size_t len;
    uint8_t *f = kt_slurp(p, &len);
    int yes = len >= 16 && memcmp(f, "SQLite format 3", 16) == 0;
    free(f);
    return yes;
}

static void expect_message(esession_receiver *r, const char *text)
{
    esession_result res;
    cr_assert_eq(esession_receiver_next(r, &res), 1, "no result for \"%s\"", text);
    cr_assert_eq(res.kind, ESESSION_RESULT_MESSAGE, "\"%s\": kind %d (%s)", text, res.kind,
                 esession_status_name(res.error));
    cr_assert_not_null(strstr(res.plaintext.data, text), "%s", res.plaintext.data);
    /* Sessions opened by 0.1 did not keep Bob's key: said so, not guessed. */
    cr_assert_eq(res.key_state, ESESSION_KEY_STATE_UNKNOWN);
    esession_result_free(&res);
}

static void feed_file(esession_receiver *r, const char *name, uint64_t tag)
{
    char p[128];
    snprintf(p, sizeof p, "tests/data/v1/%s", name);
    size_t len;
    char *s = vec_read_file(p, &len);
    cr_assert_not_null(s);
    /* The stanza as esessionctl open read it: without the final newline. */
    while (len > 0 && s[len - 1] == '\n')
        len--;
    cr_assert_eq(esession_receiver_feed(r, s, len, tag), ESESSION_OK);
    free(s);
}

/* Alice opened m1 and holds m3 (a re-key) waiting for m2; Bob's session
 * is open. Both go on after conversion as if nothing happened. */
static void t_sessions_in_flight_survive(void)
{
    char apath[128], bpath[128], apass[64], bpass[64];
    copy_fixture("alice", apath, sizeof apath, apass, sizeof apass);
    copy_fixture("bob", bpath, sizeof bpath, bpass, sizeof bpass);

    esession_keystore *aks = NULL, *bks = NULL;
    cr_assert_eq(esession_keystore_open(ctx, &aks, apath, apass, strlen(apass)), ESESSION_OK,
                 "%s", esession_ctx_error_detail(ctx));
    cr_assert_eq(esession_keystore_open(ctx, &bks, bpath, bpass, strlen(bpass)), ESESSION_OK);
    cr_assert(is_sqlite(apath) && is_sqlite(bpath), "converted in place");
    cr_assert_eq(esession_keystore_key_count(aks), 1);
    cr_assert_eq(esession_trust_count(aks), 1);
    cr_assert_eq(esession_optset_count(aks), 1);
    esession_optset_info info;
    cr_assert_eq(esession_optset_at(aks, 0, &info), ESESSION_OK);
    cr_assert_eq(info.sessions, 1, "replay memory carried over");

    /* Bob goes on where he stopped: his next counter follows m3's. */
    esession_sender *s = NULL;
    cr_assert_eq(esession_sender_resume(ctx, bks, "alice@example.org", &s), ESESSION_OK);
    esession_buf m4 = {NULL, 0, 0};
    static const char msg[] = "<message to='alice@example.org' type='chat'>"
                              "<body>message four</body></message>";
    cr_assert_eq(esession_sender_seal(s, msg, sizeof msg - 1, &m4), ESESSION_OK,
                 "%s", esession_ctx_error_detail(ctx));
    esession_sender_free(s);

    esession_receiver *r = NULL;
    cr_assert_eq(esession_receiver_new(ctx, aks, &r), ESESSION_OK);
    feed_file(r, "m2.xml", 2);
    expect_message(r, "message two");
    expect_message(r, "message three (re-key)"); /* released from the held list */
    cr_assert_eq(esession_receiver_feed(r, m4.data, m4.len, 4), ESESSION_OK);
    expect_message(r, "message four");
    /* And what was opened before the conversion stays opened. */
    feed_file(r, "m1.xml", 1);
    esession_result res;
    cr_assert_eq(esession_receiver_next(r, &res), 1);
    cr_assert_eq(res.kind, ESESSION_RESULT_DUPLICATE, "kind %d (%s): %s", res.kind,
                 esession_status_name(res.error), esession_ctx_error_detail(ctx));
    esession_result_free(&res);
    cr_assert_eq(esession_receiver_next(r, &res), 0);
    esession_receiver_free(r);
    esession_buf_free(&m4);
    esession_keystore_free(aks);
    esession_keystore_free(bks);
    /* Converted once: opening again is an ordinary open. */
    cr_assert_eq(esession_keystore_open(ctx, &aks, apath, apass, strlen(apass)), ESESSION_OK);
    esession_keystore_free(aks);
    cr_assert_eq(kt_count_files(dir), 2, "no file left from the conversion");
}

/* A wrong passphrase converts nothing and leaves the old file as it was. */
static void t_failed_conversion_keeps_the_old_file(void)
{
    char apath[128], apass[64];
    copy_fixture("alice", apath, sizeof apath, apass, sizeof apass);
    size_t len;
    uint8_t *before = kt_slurp(apath, &len);
    kt_open_fails(ctx, apath, "not it", ESESSION_ERR_BAD_PASSPHRASE);
    kt_expect_file(apath, before, len);
    cr_assert_eq(kt_count_files(dir), 1);
    /* A stale half-built store from an interrupted conversion is rebuilt. */
    char stale[160];
    snprintf(stale, sizeof stale, "%s.converting", apath);
    kt_spit(stale, "half", 4);
    esession_keystore *ks = NULL;
    cr_assert_eq(esession_keystore_open(ctx, &ks, apath, apass, strlen(apass)), ESESSION_OK);
    cr_assert_eq(esession_keystore_key_count(ks), 1);
    esession_keystore_free(ks);
    cr_assert(!es_file_exists(stale));
    free(before);
}

/* Two processes opening the old file at once: one converts, the other
 * waits and opens the new store; both changes survive. */
static void t_concurrent_conversion(void)
{
    char apath[128], apass[64];
    copy_fixture("alice", apath, sizeof apath, apass, sizeof apass);
    pid_t kids[2];
    for (int i = 0; i < 2; i++) {
        kids[i] = fork();
        cr_assert_neq(kids[i], -1);
        if (kids[i] == 0) {
            esession_keystore *ks = NULL;
            char name[16];
            snprintf(name, sizeof name, "child/%d", i);
            int ok = esession_keystore_open(ctx, &ks, apath, apass, strlen(apass)) == ESESSION_OK &&
                     es_ks_blob_put(ks, name, (const uint8_t *)"x", 1) == ESESSION_OK;
            esession_keystore_free(ks);
            _exit(ok ? 0 : 1);
        }
    }
    for (int i = 0; i < 2; i++) {
        int status = 0;
        cr_assert_eq(waitpid(kids[i], &status, 0), kids[i]);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d failed", i);
    }
    esession_keystore *ks = NULL;
    cr_assert_eq(esession_keystore_open(ctx, &ks, apath, apass, strlen(apass)), ESESSION_OK);
    esession_buf b = {NULL, 0, 0};
    cr_assert_eq(es_ks_blob_get(ks, "child/0", &b), ESESSION_OK);
    esession_buf_free(&b);
    cr_assert_eq(es_ks_blob_get(ks, "child/1", &b), ESESSION_OK);
    esession_buf_free(&b);
    cr_assert_eq(esession_keystore_key_count(ks), 1);
    esession_keystore_free(ks);
}

Test(ksconvert, headers_and_bodies)
{
    t_header_bounds_are_enforced_before_derivation();
    kt_rmdir(dir);
    kt_mkdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/alice.ks", dir);
    t_malformed_bodies_are_corrupt();
}

Test(ksconvert, sessions_in_flight_survive)
{
    t_sessions_in_flight_survive();
}

Test(ksconvert, failed_and_concurrent_conversion)
{
    t_failed_conversion_keeps_the_old_file();
    kt_rmdir(dir);
    kt_mkdir(dir, sizeof dir);
    t_concurrent_conversion();
}
