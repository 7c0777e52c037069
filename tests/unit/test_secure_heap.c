/* SPDX-License-Identifier: ISC */
/* OpenSSL's secure heap on the program's request (esession_secure_heap_init):
 * once it is set up, the private integers of RSA and DSA keys, imported or
 * generated, live there and leave it when the key is freed; public keys
 * take none of it. Each test runs in its own process (Criterion forks), so
 * the process-wide heap of one test is not another's. */
#include "ks_test.h"

#include "../../crypto/sig.h"

#include <openssl/crypto.h>

static esession_ctx *ctx;

static void setup(void)
{
    cr_assert_eq(esession_ctx_new(&ctx, NULL, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_OK);
}

static void teardown(void)
{
    esession_ctx_free(ctx);
}

TestSuite(secure_heap, .init = setup, .fini = teardown);

static esession_key *load(const char *name, esession_status want)
{
    esession_key *k = NULL;
    char path[256];
    size_t len = 0;
    snprintf(path, sizeof path, "tests/data/%s", name);
    char *pem = vec_read_file(path, &len);
    cr_assert_not_null(pem, "fixture %s", path);
    esession_status rc = esession_key_from_pem(ctx, &k, pem, len);
    cr_assert_eq(rc, want, "%s: %s (%s)", name, esession_status_name(rc),
                 esession_ctx_error_detail(ctx));
    free(pem);
    return k;
}

/* The private part of a key goes in when it is loaded and out when it is
 * freed; signing and exporting work from there. */
static size_t private_part_size(const char *name)
{
    size_t before = CRYPTO_secure_used();
    esession_key *k = load(name, ESESSION_OK);
    size_t with = CRYPTO_secure_used();
    uint8_t sig[ES_SIG_MAX_BYTES];
    size_t siglen = 0;
    esession_buf pem = {NULL, 0, 0};
    cr_assert_eq(es_sign(ctx, k, (const uint8_t *)"m", 1, sig, &siglen), ESESSION_OK);
    cr_assert_eq(es_verify(ctx, k, (const uint8_t *)"m", 1, sig, siglen), ESESSION_OK);
    cr_assert_eq(esession_key_to_pem(ctx, k, 1, &pem), ESESSION_OK);
    esession_buf_free(&pem);
    size_t kept = CRYPTO_secure_used(); /* OpenSSL's generator state may stay */
    esession_key_free(k);
    cr_assert_eq(kept - CRYPTO_secure_used(), with - before, "%s leaves with the key", name);
    return with - before;
}

Test(secure_heap, sizes_and_setting_up_once)
{
    static const size_t bad[] = {0, 1, 4095, 3u << 12, (size_t)2 << 30, SIZE_MAX};
    int locked = -1;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(esession_secure_heap_init(bad[i], &locked), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(locked, -1);
    cr_assert_not(CRYPTO_secure_malloc_initialized(), "off until the program asks");
    cr_assert_eq(esession_secure_heap_init(64u * 1024u, &locked), ESESSION_OK);
    cr_assert(locked == 0 || locked == 1);
    cr_assert(CRYPTO_secure_malloc_initialized());
    cr_assert_eq(esession_secure_heap_init(64u * 1024u, NULL), ESESSION_ERR_STATE);
}

Test(secure_heap, private_integers_live_there)
{
    cr_assert_eq(esession_secure_heap_init(64u * 1024u, NULL), ESESSION_OK);
    /* RSA: d (one modulus) and p, q, d mod (p-1), d mod (q-1), q^-1 mod p
     * (half a modulus each). DSA: x, 256 bits. */
    cr_assert_geq(private_part_size("rsa2048.pem"), 256 + 5 * 128);
    cr_assert_geq(private_part_size("rsa3072.pem"), 384 + 5 * 192);
    cr_assert_geq(private_part_size("dsa2048.pem"), 32);
    /* A public key takes none of it. */
    size_t before = CRYPTO_secure_used();
    esession_key *pub = load("rsa2048_pub.pem", ESESSION_OK);
    cr_assert_eq(CRYPTO_secure_used(), before);
    esession_key_free(pub);
    esession_key *k = NULL;
    cr_assert_eq(esession_key_generate(ctx, &k, ESESSION_KEY_RSA, 2048), ESESSION_OK);
    cr_assert_geq(CRYPTO_secure_used() - before, 256 + 5 * 128, "generated keys too");
    esession_key_free(k);
    cr_assert_eq(CRYPTO_secure_used(), before);
}

Test(secure_heap, a_full_heap_is_reported)
{
    /* 4 KiB: two RSA-3072 private parts fill it. */
    esession_key *k[3] = {NULL, NULL, NULL};
    cr_assert_eq(esession_secure_heap_init(4096, NULL), ESESSION_OK);
    k[0] = load("rsa3072.pem", ESESSION_OK);
    k[1] = load("rsa3072.pem", ESESSION_OK);
    k[2] = load("rsa3072.pem", ESESSION_ERR_BAD_PEM);
    cr_assert_null(k[2]);
    cr_assert(strstr(esession_ctx_error_detail(ctx), "secure heap is full") != NULL, "%s",
              esession_ctx_error_detail(ctx));
    /* Room again once a key is freed. */
    esession_key_free(k[1]);
    k[1] = load("rsa3072.pem", ESESSION_OK);
    esession_key_free(k[0]);
    esession_key_free(k[1]);
}

Test(secure_heap, without_it_no_hint)
{
    esession_key *k = NULL;
    static const char bad[] = "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n";
    cr_assert_eq(esession_key_from_pem(ctx, &k, bad, sizeof bad - 1), ESESSION_ERR_BAD_PEM);
    cr_assert_str_eq(esession_ctx_error_detail(ctx), "PEM contents are not a PKCS#8 key");
    cr_assert_eq(esession_secure_heap_init(4096, NULL), ESESSION_OK);
    cr_assert_eq(esession_key_from_pem(ctx, &k, bad, sizeof bad - 1), ESESSION_ERR_BAD_PEM);
    cr_assert_str_eq(esession_ctx_error_detail(ctx),
                     "PEM contents are not a PKCS#8 key (or OpenSSL's secure heap is full)");
}
