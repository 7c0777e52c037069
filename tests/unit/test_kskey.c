/* SPDX-License-Identifier: ISC */
/* Opening a keystore with a key derived earlier from its passphrase
 * (esession_keystore_derive_key, _open_with_key): the key is the store's
 * id and salt and the Argon2id output, it opens its own store and nothing
 * else, it stops working when the passphrase changes, and every refusal
 * leaves the outputs and the file alone. */
#include "ks_test.h"

static esession_ctx *ctx;
static char dir[64];
static char path_a[128], path_b[128];

static void setup(void)
{
    cr_assert_eq(esession_ctx_new(&ctx, NULL, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_OK);
    kt_mkdir(dir, sizeof dir);
    snprintf(path_a, sizeof path_a, "%s/a.ks", dir);
    snprintf(path_b, sizeof path_b, "%s/b.ks", dir);
}

static void teardown(void)
{
    kt_rmdir(dir);
    esession_ctx_free(ctx);
}

TestSuite(kskey, .init = setup, .fini = teardown);

/* A key buffer in guarded memory, as a client would hold it. */
static uint8_t *key_alloc(void)
{
    uint8_t *k = sodium_malloc(ESESSION_KEYSTORE_KEY_BYTES);
    cr_assert_not_null(k);
    memset(k, 0xA5, ESESSION_KEYSTORE_KEY_BYTES);
    return k;
}

static void derive(const char *path, const char *pass, uint8_t *key)
{
    esession_status rc = esession_keystore_derive_key(ctx, path, pass, strlen(pass), key);
    cr_assert_eq(rc, ESESSION_OK, "derive: %s (%s)", esession_status_name(rc),
                 esession_ctx_error_detail(ctx));
}

static esession_keystore *open_key(const char *path, const uint8_t *key)
{
    esession_keystore *ks = NULL;
    esession_status rc = esession_keystore_open_with_key(ctx, &ks, path, key, NULL);
    cr_assert_eq(rc, ESESSION_OK, "open with key: %s (%s)", esession_status_name(rc),
                 esession_ctx_error_detail(ctx));
    cr_assert_not_null(ks);
    return ks;
}

static void open_key_fails(const char *path, const uint8_t *key, esession_status want)
{
    esession_keystore *ks = KT_SENTINEL;
    esession_status rc = esession_keystore_open_with_key(ctx, &ks, path, key, NULL);
    cr_assert_eq(rc, want, "open with key: %s (%s), want %s", esession_status_name(rc),
                 esession_ctx_error_detail(ctx), esession_status_name(want));
    cr_assert_eq(ks, KT_SENTINEL, "output touched on failure");
    cr_assert_str_neq(esession_ctx_error_detail(ctx), "");
}

static int untouched(const uint8_t *key)
{
    for (size_t i = 0; i < ESESSION_KEYSTORE_KEY_BYTES; i++)
        if (key[i] != 0xA5)
            return 0;
    return 1;
}

Test(kskey, the_key_is_id_salt_and_argon2id_output_and_opens_its_store)
{
    esession_keystore *ks = kt_create(ctx, path_a);
    esession_key *k = kt_key(ctx, "rsa2048.pem");
    cr_assert_eq(esession_keystore_add_key(ks, k), ESESSION_OK);
    /* What the key must be, computed here from the open store's header. */
    uint8_t expect[ESESSION_KEYSTORE_KEY_BYTES];
    memcpy(expect, ks->store_id, ES_STORE_ID_BYTES);
    memcpy(expect + ES_STORE_ID_BYTES, ks->kdf.salt, ES_KS_SALT_BYTES);
    cr_assert_eq(crypto_pwhash(expect + 32, 32, KT_PASS, KT_PASS_LEN, ks->kdf.salt,
                               ks->kdf.opslimit, (size_t)ks->kdf.memlimit,
                               crypto_pwhash_ALG_ARGON2ID13),
                 0);
    esession_keystore_free(ks);

    uint8_t *key = key_alloc();
    derive(path_a, KT_PASS, key);
    cr_assert(memcmp(key, expect, sizeof expect) == 0, "the key is id, salt, Argon2id output");
    ks = open_key(path_a, key);
    cr_assert_eq(esession_keystore_key_count(ks), 1);
    /* It writes like any handle, and the passphrase still opens the store. */
    uint8_t fp[ESESSION_FINGERPRINT_BYTES];
    kt_fingerprint(ctx, k, fp);
    cr_assert_eq(esession_keystore_delete_key(ks, fp), ESESSION_OK);
    esession_keystore_free(ks);
    ks = kt_open(ctx, path_a);
    cr_assert_eq(esession_keystore_key_count(ks), 0);
    esession_keystore_free(ks);
    esession_key_free(k);
    sodium_memzero(expect, sizeof expect);
    sodium_free(key);
}

Test(kskey, a_wrong_passphrase_gives_no_key)
{
    esession_keystore_free(kt_create(ctx, path_a));
    uint8_t *key = key_alloc();
    cr_assert_eq(esession_keystore_derive_key(ctx, path_a, "wrong", 5, key),
                 ESESSION_ERR_BAD_PASSPHRASE);
    cr_assert(untouched(key));
    cr_assert_str_neq(esession_ctx_error_detail(ctx), "");
    sodium_free(key);
}

Test(kskey, a_key_opens_no_other_store)
{
    /* Same passphrase, same costs: only the salt and id differ. */
    esession_keystore_free(kt_create(ctx, path_a));
    esession_keystore_free(kt_create(ctx, path_b));
    uint8_t *ka = key_alloc(), *kb = key_alloc(), *mix = key_alloc();
    derive(path_a, KT_PASS, ka);
    derive(path_b, KT_PASS, kb);
    cr_assert(memcmp(ka, kb, ESESSION_KEYSTORE_KEY_BYTES) != 0);
    open_key_fails(path_b, ka, ESESSION_ERR_BAD_PASSPHRASE);
    cr_assert_not_null(strstr(esession_ctx_error_detail(ctx), "another keystore"));
    open_key_fails(path_a, kb, ESESSION_ERR_BAD_PASSPHRASE);
    /* B's id and salt in front of A's passphrase key: the header's wrap
     * refuses it. */
    memcpy(mix, kb, 32);
    memcpy(mix + 32, ka + 32, 32);
    open_key_fails(path_b, mix, ESESSION_ERR_BAD_PASSPHRASE);
    /* Every octet matters: a flipped bit in the id, salt or key. */
    for (size_t i = 0; i < ESESSION_KEYSTORE_KEY_BYTES; i += 21) {
        memcpy(mix, ka, ESESSION_KEYSTORE_KEY_BYTES);
        mix[i] ^= 0x01;
        open_key_fails(path_a, mix, ESESSION_ERR_BAD_PASSPHRASE);
    }
    esession_keystore_free(open_key(path_a, ka));
    sodium_free(ka);
    sodium_free(kb);
    sodium_free(mix);
}

Test(kskey, a_new_passphrase_retires_the_old_key)
{
    esession_keystore *ks = kt_create(ctx, path_a);
    uint8_t *old = key_alloc(), *fresh = key_alloc();
    derive(path_a, KT_PASS, old);
    esession_keystore *held = open_key(path_a, old);
    cr_assert_eq(esession_keystore_change_passphrase(ks, "new secret", 10, NULL), ESESSION_OK);
    esession_keystore_free(ks);
    open_key_fails(path_a, old, ESESSION_ERR_BAD_PASSPHRASE);
    derive(path_a, "new secret", fresh);
    /* Same store, same id; a new salt. */
    cr_assert(memcmp(old, fresh, ES_STORE_ID_BYTES) == 0);
    cr_assert(memcmp(old + 16, fresh + 16, ES_KS_SALT_BYTES) != 0);
    esession_keystore_free(open_key(path_a, fresh));
    /* A handle opened before the change keeps working. */
    cr_assert_eq(esession_keystore_key_count(held), 0);
    esession_keystore_free(held);
    sodium_free(old);
    sodium_free(fresh);
}

Test(kskey, bad_arguments_are_refused)
{
    esession_keystore_free(kt_create(ctx, path_a));
    uint8_t *key = key_alloc();
    esession_keystore *ks = KT_SENTINEL;
    cr_assert_eq(esession_keystore_derive_key(NULL, path_a, KT_PASS, KT_PASS_LEN, key),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_keystore_derive_key(ctx, path_a, KT_PASS, KT_PASS_LEN, NULL),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_keystore_derive_key(ctx, NULL, KT_PASS, KT_PASS_LEN, key),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_keystore_derive_key(ctx, path_a, NULL, 3, key),
                 ESESSION_ERR_INVALID_ARGUMENT);
    char *long_pass = malloc(ES_KS_PASSPHRASE_MAX + 1);
    cr_assert_not_null(long_pass);
    memset(long_pass, 'p', ES_KS_PASSPHRASE_MAX + 1);
    cr_assert_eq(esession_keystore_derive_key(ctx, path_a, long_pass, ES_KS_PASSPHRASE_MAX + 1,
                                              key),
                 ESESSION_ERR_LIMIT);
    free(long_pass);
    cr_assert(untouched(key));
    derive(path_a, KT_PASS, key);
    cr_assert_eq(esession_keystore_open_with_key(NULL, &ks, path_a, key, NULL),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_keystore_open_with_key(ctx, NULL, path_a, key, NULL),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_keystore_open_with_key(ctx, &ks, path_a, NULL, NULL),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_keystore_open_with_key(ctx, &ks, NULL, key, NULL),
                 ESESSION_ERR_INVALID_ARGUMENT);
    esession_keystore_options bad = ESESSION_KEYSTORE_OPTIONS_INIT;
    bad.version = 99;
    cr_assert_eq(esession_keystore_open_with_key(ctx, &ks, path_a, key, &bad),
                 ESESSION_ERR_VERSION);
    cr_assert_eq(ks, KT_SENTINEL);
    /* No store there. */
    open_key_fails(path_b, key, ESESSION_ERR_IO);
    cr_assert_eq(access(path_b, F_OK), -1, "nothing created");
    sodium_free(key);
}

Test(kskey, the_earlier_format_is_converted_by_deriving_not_by_a_key)
{
    char pass[128];
    size_t len, plen;
    uint8_t *v1 = kt_slurp("tests/data/v1/bob.ks", &len);
    uint8_t *p = kt_slurp("tests/data/v1/bob.pass", &plen);
    cr_assert_lt(plen, sizeof pass);
    memcpy(pass, p, plen);
    pass[plen] = '\0';
    pass[strcspn(pass, "\n")] = '\0';
    free(p);
    kt_spit(path_a, v1, len);
    uint8_t *key = key_alloc();
    /* A key from another store cannot convert it, and leaves it as it was. */
    esession_keystore_free(kt_create(ctx, path_b));
    derive(path_b, KT_PASS, key);
    open_key_fails(path_a, key, ESESSION_ERR_STATE);
    kt_expect_file(path_a, v1, len);
    /* Deriving with the passphrase converts it; the key then opens it. */
    derive(path_a, pass, key);
    esession_keystore *ks = open_key(path_a, key);
    cr_assert_eq(esession_keystore_key_count(ks), 1);
    esession_keystore_free(ks);
    free(v1);
    sodium_free(key);
}
