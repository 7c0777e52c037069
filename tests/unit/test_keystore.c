/* SPDX-License-Identifier: ISC */
/* The keystore file: round trip, passphrases, tamper and truncation
 * detection, refusal of foreign files, atomic and crash-safe writing,
 * file mode, KDF costs, signing keys, limits. */
#include "ks_test.h"

#include <signal.h>
#include <sys/resource.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

static esession_ctx *ctx;
static char dir[64];
static char path[128];

static void setup(void)
{
    cr_assert_eq(esession_ctx_new(&ctx, NULL, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_OK);
    kt_mkdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/alice.ks", dir);
}

static void teardown(void)
{
    kt_rmdir(dir);
    esession_ctx_free(ctx);
}

TestSuite(keystore, .init = setup, .fini = teardown);

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

static void check_small(const esession_keystore *ks)
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
    esession_keystore_close(ks);

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
    esession_keystore_close(ks);
    esession_key_free(rsa);
    esession_key_free(dsa);
    esession_key_free(pub);
}

static void t_empty_keystore_and_empty_passphrase(void)
{
    esession_keystore_options o = kt_fast();
    esession_keystore *ks = NULL;
    cr_assert_eq(esession_keystore_create(ctx, &ks, path, NULL, 0, &o), ESESSION_OK);
    esession_keystore_close(ks);
    ks = NULL;
    cr_assert_eq(esession_keystore_open(ctx, &ks, path, "", 0), ESESSION_OK);
    cr_assert_eq(esession_keystore_key_count(ks), 0);
    cr_assert_eq(esession_trust_count(ks), 0);
    cr_assert_eq(es_ks_optset_count(ks), 0);
    cr_assert_eq(es_ks_blob_count(ks, NULL), 0);
    esession_keystore_close(ks);
    kt_open_fails(ctx, path, "x", ESESSION_ERR_BAD_PASSPHRASE);
}

static void t_wrong_passphrase(void)
{
    esession_keystore *ks = kt_create(ctx, path);
    fill_small(ks);
    esession_keystore_close(ks);
    size_t len;
    uint8_t *before = kt_slurp(path, &len);
    kt_open_fails(ctx, path, "correct horse battery stapl", ESESSION_ERR_BAD_PASSPHRASE);
    kt_open_fails(ctx, path, "Correct horse battery staple", ESESSION_ERR_BAD_PASSPHRASE);
    kt_open_fails(ctx, path, "", ESESSION_ERR_BAD_PASSPHRASE);
    kt_expect_file(path, before, len);
    /* Open is read-only: a successful one does not rewrite the file. */
    ks = kt_open(ctx, path);
    esession_keystore_close(ks);
    kt_expect_file(path, before, len);
    free(before);
}

/* Header fields (docs/keystore.md): which error each damaged octet gives. */
static esession_status flip_expectation(size_t pos)
{
    if (pos < 12)
        return ESESSION_ERR_CORRUPT; /* magic, version, algorithms */
    if (pos >= 68 && pos < 72)
        return ESESSION_ERR_CORRUPT; /* length no longer matches the file */
    if (pos >= 28)
        return ESESSION_ERR_BAD_PASSPHRASE; /* salt, nonce, ciphertext, tag */
    return 0;                               /* KDF costs: out of bounds or wrong key */
}

static void t_every_byte_flip_is_detected(void)
{
    static const uint8_t masks[] = {0x01, 0x80, 0xff};
    esession_keystore *ks = kt_create(ctx, path);
    fill_small(ks);
    esession_keystore_close(ks);
    size_t len;
    uint8_t *good = kt_slurp(path, &len);
    cr_assert_gt(len, ES_KS_HEADER_BYTES + ES_KS_TAG_BYTES);
    uint8_t *bad = malloc(len);
    cr_assert_not_null(bad);

    for (size_t pos = 0; pos < len; pos++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            memcpy(bad, good, len);
            bad[pos] ^= masks[m];
            kt_spit(path, bad, len);
            esession_keystore *out = KT_SENTINEL;
            esession_status rc = esession_keystore_open(ctx, &out, path, KT_PASS, KT_PASS_LEN);
            esession_status want = flip_expectation(pos);
            if (want != 0)
                cr_assert_eq(rc, want, "byte %zu ^ %02x: %s", pos, masks[m],
                             esession_status_name(rc));
            else
                cr_assert(rc == ESESSION_ERR_CORRUPT || rc == ESESSION_ERR_BAD_PASSPHRASE,
                          "byte %zu ^ %02x: %s", pos, masks[m], esession_status_name(rc));
            cr_assert_eq(out, KT_SENTINEL);
            kt_expect_file(path, bad, len);
        }
    }
    kt_spit(path, good, len);
    ks = kt_open(ctx, path);
    check_small(ks);
    esession_keystore_close(ks);
    free(bad);
    free(good);
}

static void t_truncation_and_extension(void)
{
    esession_keystore *ks = kt_create(ctx, path);
    fill_small(ks);
    esession_keystore_close(ks);
    size_t len;
    uint8_t *good = kt_slurp(path, &len);
    for (size_t n = 0; n < len; n++) {
        kt_spit(path, good, n);
        kt_open_fails(ctx, path, KT_PASS, ESESSION_ERR_CORRUPT);
        kt_expect_file(path, good, n);
    }
    uint8_t *longer = malloc(len + 1);
    cr_assert_not_null(longer);
    memcpy(longer, good, len);
    longer[len] = 0;
    kt_spit(path, longer, len + 1);
    kt_open_fails(ctx, path, KT_PASS, ESESSION_ERR_CORRUPT);
    free(longer);
    free(good);
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

/* Seal body with the keystore's envelope (right passphrase) so that only
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
    es_secret_free(key);
}

static void t_authenticated_but_malformed_bodies_are_corrupt(void)
{
    static const uint8_t empty[] = "ESKB\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
    static const struct {
        const char *what;
        const uint8_t *body;
        size_t len;
    } cases[] = {
        {"nothing", (const uint8_t *)"", 0},
        {"wrong magic", (const uint8_t *)"ESKA\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20},
        {"short", empty, 19},
        {"trailing", (const uint8_t *)"ESKB\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 21},
        {"key count with no keys", (const uint8_t *)"ESKB\0\0\0\1\0\0\0\0\0\0\0\0\0\0\0\0", 20},
        {"huge trust count", (const uint8_t *)"ESKB\0\0\0\0\xff\xff\xff\xff\0\0\0\0\0\0\0\0", 20},
        {"option set count", (const uint8_t *)"ESKB\0\0\0\0\0\0\0\0\0\0\0\7\0\0\0\0", 20},
        {"record count", (const uint8_t *)"ESKB\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1\0", 20},
    };
    write_sealed(empty, 20);
    esession_keystore *ks = kt_open(ctx, path);
    esession_keystore_close(ks);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_sealed(cases[i].body, cases[i].len);
        esession_keystore *out = KT_SENTINEL;
        esession_status rc = esession_keystore_open(ctx, &out, path, KT_PASS, KT_PASS_LEN);
        cr_assert_eq(rc, ESESSION_ERR_CORRUPT, "%s: %s", cases[i].what, esession_status_name(rc));
        cr_assert_eq(out, KT_SENTINEL);
    }
}

/* Re-encode a real keystore's body with one octet changed and expect the
 * decoder to notice or to produce a consistent keystore, never to crash. */
static void t_body_mutations_never_crash(void)
{
    esession_keystore *ks = kt_create(ctx, path);
    esession_key *pub = kt_key(ctx, "dsa2048_pub.pem");
    cr_assert_eq(esession_trust_add(ks, "bob@example.net", pub, "b", NULL), ESESSION_OK);
    esession_key_free(pub);
    fill_small(ks);
    uint8_t *body = NULL;
    size_t len = 0;
    cr_assert_eq(es_ks_encode(ks, &body, &len), ESESSION_OK);
    esession_keystore_close(ks);

    uint8_t *copy = malloc(len);
    cr_assert_not_null(copy);
    size_t corrupt = 0;
    for (size_t pos = 0; pos < len; pos++) {
        memcpy(copy, body, len);
        copy[pos] ^= 0x41;
        esession_keystore *t = calloc(1, sizeof *t);
        cr_assert_not_null(t);
        t->ctx = ctx;
        esession_status rc = es_ks_decode(t, copy, len);
        cr_assert(rc == ESESSION_OK || rc == ESESSION_ERR_CORRUPT, "pos %zu: %s", pos,
                  esession_status_name(rc));
        corrupt += rc == ESESSION_ERR_CORRUPT;
        esession_keystore_close(t);
    }
    cr_assert_gt(corrupt, 40);
    free(copy);
    es_secret_free(body);
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
    esession_keystore_close(a);
    size_t len;
    uint8_t *before = kt_slurp(other, &len);
    cr_assert_eq(esession_keystore_create(ctx, &ks, other, "other", 5, &o), ESESSION_ERR_IO);
    kt_expect_file(other, before, len);
    cr_assert_eq(symlink("nowhere", link_path), 0);
    cr_assert_eq(esession_keystore_create(ctx, &ks, link_path, KT_PASS, KT_PASS_LEN, &o),
                 ESESSION_ERR_IO);
    cr_assert_eq(ks, KT_SENTINEL);
    cr_assert_eq(kt_count_files(dir), 3, "no temporary file left");
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
    umask(old);
    esession_keystore_close(ks);
}

static void t_change_passphrase(void)
{
    esession_keystore *ks = kt_create(ctx, path);
    fill_small(ks);
    size_t len;
    uint8_t *before = kt_slurp(path, &len);
    esession_keystore_options o = kt_fast();
    o.kdf_opslimit = 2;
    o.kdf_memlimit = 16384;
    cr_assert_eq(esession_keystore_change_passphrase(ks, "new secret", 10, &o), ESESSION_OK);
    size_t len2;
    uint8_t *after = kt_slurp(path, &len2);
    cr_assert_eq(len2, len);
    cr_assert(memcmp(before + 28, after + 28, 16) != 0, "fresh salt");
    cr_assert_eq(after[19], 2, "opslimit written");
    cr_assert_eq(after[26], 0x40, "memlimit written");
    /* Later writes keep the new key and costs. */
    cr_assert_eq(es_ks_blob_put(ks, "later", (const uint8_t *)"x", 1), ESESSION_OK);
    esession_keystore_close(ks);

    kt_open_fails(ctx, path, KT_PASS, ESESSION_ERR_BAD_PASSPHRASE);
    esession_keystore *re = NULL;
    cr_assert_eq(esession_keystore_open(ctx, &re, path, "new secret", 10), ESESSION_OK);
    check_small(re);
    cr_assert_eq(es_ks_blob_count(re, "later"), 1);
    /* NULL options keep the current costs. */
    cr_assert_eq(esession_keystore_change_passphrase(re, KT_PASS, KT_PASS_LEN, NULL),
                 ESESSION_OK);
    esession_keystore_close(re);
    free(after);
    after = kt_slurp(path, &len2);
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
    after = kt_slurp(path, &len2);
    kt_break_writes(re, &calls);
    cr_assert_eq(esession_keystore_change_passphrase(re, "lost", 4, NULL), ESESSION_ERR_IO);
    cr_assert_eq(calls, 1);
    kt_expect_file(path, after, len2);
    es_ks_set_file_hooks(re, NULL);
    cr_assert_eq(es_ks_blob_put(re, "again", (const uint8_t *)"y", 1), ESESSION_OK);
    esession_keystore_close(re);
    re = kt_open(ctx, path);
    cr_assert_eq(es_ks_blob_count(re, "again"), 1);
    esession_keystore_close(re);
    free(before);
    free(after);
}

static int files_named(const char *prefix)
{
    int n = 0;
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

static void t_failure_before_rename_keeps_the_old_file(void)
{
    esession_keystore *ks = kt_create(ctx, path);
    fill_small(ks);
    esession_key *rsa = kt_key(ctx, "vec_rsa_alice.pem");
    size_t len;
    uint8_t *before = kt_slurp(path, &len);
    int calls = 0;
    kt_break_writes(ks, &calls);

    cr_assert_eq(esession_keystore_add_key(ks, rsa), ESESSION_ERR_IO);
    cr_assert_str_neq(esession_ctx_error_detail(ctx), "");
    cr_assert_eq(esession_keystore_key_count(ks), 0, "memory rolled back");
    cr_assert_eq(es_ks_blob_put(ks, "new", (const uint8_t *)"n", 1), ESESSION_ERR_IO);
    cr_assert_eq(es_ks_blob_count(ks, NULL), 1);
    cr_assert_eq(es_ks_blob_put(ks, "session/bob", (const uint8_t *)"other", 5), ESESSION_ERR_IO);
    cr_assert_eq(es_ks_blob_delete(ks, "session/bob"), ESESSION_ERR_IO);
    cr_assert_eq(calls, 4);
    check_small(ks); /* the record still holds its old data */
    kt_expect_file(path, before, len);
    cr_assert_eq(kt_count_files(dir), 1, "temporary file removed");

    /* Once writes work again, the change goes through. */
    es_ks_set_file_hooks(ks, NULL);
    cr_assert_eq(esession_keystore_add_key(ks, rsa), ESESSION_OK);
    esession_keystore_close(ks);

    ks = kt_open(ctx, path);
    cr_assert_eq(esession_keystore_key_count(ks), 1);
    check_small(ks);
    esession_keystore_close(ks);
    esession_key_free(rsa);
    free(before);
}

/* Simulate a crash after the temporary file was written: keep a copy of
 * it under the temporary name (as a crash would leave it), then fail. */
static int keep_tmp(void *user, const char *tmp_path)
{
    char *kept = user;
    size_t len;
    uint8_t *data = kt_slurp(tmp_path, &len);
    snprintf(kept, 200, "%s.tmp-00112233445566ff", path);
    kt_spit(kept, data, len);
    free(data);
    return 1;
}

static void t_crash_leaves_old_file_and_stale_temp_is_harmless(void)
{
    char kept[200];
    esession_keystore *ks = kt_create(ctx, path);
    fill_small(ks);
    size_t len;
    uint8_t *before = kt_slurp(path, &len);
    es_file_hooks h = {keep_tmp, kept};
    es_ks_set_file_hooks(ks, &h);
    cr_assert_eq(es_ks_blob_put(ks, "lost", (const uint8_t *)"l", 1), ESESSION_ERR_IO);
    es_ks_set_file_hooks(ks, NULL);
    kt_expect_file(path, before, len);
    cr_assert(es_file_exists(kept));

    /* The stale temporary file does not stop later writes. */
    cr_assert_eq(es_ks_blob_put(ks, "kept", (const uint8_t *)"k", 1), ESESSION_OK);
    esession_keystore_close(ks);
    cr_assert(es_file_exists(kept));

    /* The crashed write's file is a whole keystore: what a crash leaves is
     * old or new, never a mix. */
    esession_keystore *t = NULL;
    cr_assert_eq(esession_keystore_open(ctx, &t, kept, KT_PASS, KT_PASS_LEN), ESESSION_OK);
    cr_assert_eq(es_ks_blob_count(t, "lost"), 1);
    esession_keystore_close(t);

    /* A successful open removes this keystore's stale temporaries only. */
    char unrelated[200], almost[200];
    snprintf(unrelated, sizeof unrelated, "%s/other.ks.tmp-00112233445566ff", dir);
    snprintf(almost, sizeof almost, "%s.tmp-0011223344556G", path);
    kt_spit(unrelated, "u", 1);
    kt_spit(almost, "a", 1);
    ks = kt_open(ctx, path);
    cr_assert_eq(es_ks_blob_count(ks, "lost"), 0);
    cr_assert_eq(es_ks_blob_count(ks, "kept"), 1);
    check_small(ks);
    esession_keystore_close(ks);
    cr_assert(!es_file_exists(kept), "stale temporary removed");
    cr_assert(es_file_exists(unrelated));
    cr_assert(es_file_exists(almost));
    cr_assert_eq(files_named("alice.ks"), 2);
    free(before);
}

static void t_write_error_rolls_back(void)
{
    esession_keystore *ks = kt_create(ctx, path);
    fill_small(ks);
    size_t len;
    uint8_t *before = kt_slurp(path, &len);
    static uint8_t big[64 * 1024];
    memset(big, 0x42, sizeof big);

    /* The file size limit makes write() fail part way (EFBIG). */
    struct rlimit lim, old;
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_IGN);
    lim.rlim_cur = 4096;
    lim.rlim_max = old.rlim_max;
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    esession_status rc = es_ks_blob_put(ks, "big", big, sizeof big);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    cr_assert_eq(rc, ESESSION_ERR_IO, "%s", esession_status_name(rc));
    cr_assert_eq(es_ks_blob_count(ks, NULL), 1);
    kt_expect_file(path, before, len);
    cr_assert_eq(kt_count_files(dir), 1, "partial temporary file removed");

    cr_assert_eq(es_ks_blob_put(ks, "big", big, sizeof big), ESESSION_OK);
    esession_keystore_close(ks);
    ks = kt_open(ctx, path);
    esession_buf b = {NULL, 0, 0};
    cr_assert_eq(es_ks_blob_get(ks, "big", &b), ESESSION_OK);
    cr_assert_eq(b.len, sizeof big);
    cr_assert(memcmp(b.data, big, sizeof big) == 0);
    esession_buf_free(&b);
    esession_keystore_close(ks);
    free(before);
}

/* A host random source whose 8-octet draws (temporary file names) are
 * predictable: the first is ab..ab, the next ac..ac. */
static int predictable(void *user, uint8_t *buf, size_t len)
{
    int *draws = user;
    if (len == 8)
        memset(buf, 0xab + (*draws)++, len);
    else
        randombytes_buf(buf, len);
    return 0;
}

static void t_stale_temp_name_is_skipped(void)
{
    int draws = 0;
    esession_host_ops ops = {.random = predictable};
    esession_ctx_options co = ESESSION_CTX_OPTIONS_INIT;
    esession_ctx *c2 = NULL;
    co.ops = &ops;
    co.user = &draws;
    cr_assert_eq(esession_ctx_new(&c2, &co, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_OK);
    char stale[200], next[200];
    snprintf(stale, sizeof stale, "%s.tmp-abababababababab", path);
    snprintf(next, sizeof next, "%s.tmp-acacacacacacacac", path);
    kt_spit(stale, "stale", 5);

    /* Creation draws ab..ab first: taken, so it moves on to ac..ac. */
    esession_keystore_options o = kt_fast();
    esession_keystore *ks = NULL;
    cr_assert_eq(esession_keystore_create(c2, &ks, path, KT_PASS, KT_PASS_LEN, &o), ESESSION_OK);
    cr_assert_eq(draws, 2);
    kt_expect_file(stale, (const uint8_t *)"stale", 5);
    cr_assert(!es_file_exists(next), "the used temporary name is gone");
    /* The same for a replacement. */
    draws = 0;
    cr_assert_eq(es_ks_blob_put(ks, "r", (const uint8_t *)"1", 1), ESESSION_OK);
    cr_assert_eq(draws, 2);
    kt_expect_file(stale, (const uint8_t *)"stale", 5);
    cr_assert_eq(kt_count_files(dir), 2);
    /* Every name taken: an I/O error, and nothing changed. */
    draws = 0;
    for (int i = 0; i < 8; i++) {
        char name[200];
        snprintf(name, sizeof name, "%s.tmp-%02x%02x%02x%02x%02x%02x%02x%02x", path, 0xab + i,
                 0xab + i, 0xab + i, 0xab + i, 0xab + i, 0xab + i, 0xab + i, 0xab + i);
        kt_spit(name, "x", 1);
    }
    cr_assert_eq(es_ks_blob_put(ks, "r", (const uint8_t *)"2", 1), ESESSION_ERR_IO);
    esession_buf b = {NULL, 0, 0};
    cr_assert_eq(es_ks_blob_get(ks, "r", &b), ESESSION_OK);
    cr_assert_eq(b.data[0], '1');
    esession_buf_free(&b);
    esession_keystore_close(ks);
    esession_ctx_free(c2);
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
    esession_keystore_close(ks);
    size_t len;
    uint8_t *f = kt_slurp(path, &len);
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
    o.version = 2;
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
    esession_keystore_close(NULL);
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
    es_ks_set_file_hooks(ks, NULL);
    cr_assert_eq(esession_keystore_delete_key(ks, fp_rsa), ESESSION_OK);
    cr_assert_eq(esession_keystore_key_count(ks), 1);
    esession_keystore_close(ks);

    ks = kt_open(ctx, path);
    cr_assert_eq(esession_keystore_key_count(ks), 1);
    cr_assert_eq(esession_keystore_key_at(ks, 0, &k), ESESSION_OK);
    uint8_t fp[32];
    kt_fingerprint(ctx, k, fp);
    cr_assert(memcmp(fp, fp_dsa, 32) == 0);
    esession_key_free(k);
    esession_keystore_close(ks);
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
    esession_keystore_close(ks);
}

static void t_body_size_is_bounded(void)
{
    esession_keystore *ks = kt_create(ctx, path);
    size_t len;
    uint8_t *before = kt_slurp(path, &len);
    /* A record claiming the whole bound: the size pass refuses it before
     * anything is allocated or read. */
    es_ks_blob *fake = calloc(1, sizeof *fake);
    cr_assert_not_null(fake);
    fake->name = strdup("fake");
    fake->name_len = 4;
    fake->data.len = ES_KS_BODY_MAX;
    cr_assert_eq(es_vec_reserve(&ks->blobs, ES_KS_MAX_BLOBS), ESESSION_OK);
    es_vec_push(&ks->blobs, fake);
    uint8_t *body = NULL;
    size_t blen = 0;
    cr_assert_eq(es_ks_encode(ks, &body, &blen), ESESSION_ERR_LIMIT);
    cr_assert_null(body);
    cr_assert_eq(es_ks_blob_put(ks, "real", (const uint8_t *)"r", 1), ESESSION_ERR_LIMIT);
    cr_assert_eq(es_ks_blob_count(ks, NULL), 1);
    kt_expect_file(path, before, len);
    fake = es_vec_pop(&ks->blobs);
    free(fake->name);
    free(fake);
    cr_assert_eq(es_ks_blob_put(ks, "real", (const uint8_t *)"r", 1), ESESSION_OK);
    esession_keystore_close(ks);
    free(before);
}

/* Grouped: each Criterion test is its own process, which valgrind pays for. */

Test(keystore, round_trip)
{
    t_round_trip_everything();
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
    t_every_byte_flip_is_detected();
    reset();
    t_truncation_and_extension();
}

Test(keystore, foreign_and_malformed_files)
{
    t_foreign_files_are_refused();
    reset();
    t_header_bounds_are_enforced_before_derivation();
    reset();
    t_authenticated_but_malformed_bodies_are_corrupt();
    reset();
    t_body_mutations_never_crash();
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

Test(keystore, crash_safety)
{
    t_failure_before_rename_keeps_the_old_file();
    reset();
    t_crash_leaves_old_file_and_stale_temp_is_harmless();
    reset();
    t_write_error_rolls_back();
    reset();
    t_stale_temp_name_is_skipped();
}

Test(keystore, signing_keys_and_limits)
{
    t_signing_keys();
    reset();
    t_key_count_limit();
    reset();
    t_body_size_is_bounded();
}
