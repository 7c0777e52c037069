/* SPDX-License-Identifier: ISC */
/* libsignal-protocol-c's crypto provider over OpenSSL 3: random octets,
 * HMAC-SHA-256, SHA-512 and AES (CTR without padding, CBC with PKCS#5). */
#include "bench.h"
#include "signal_glue.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdlib.h>
#include <string.h>

static int random_octets(uint8_t *data, size_t len, void *user)
{
    (void)user;
    return RAND_bytes(data, (int)len) == 1 ? 0 : SG_ERR_UNKNOWN;
}

static int hmac_init(void **ctx, const uint8_t *key, size_t key_len, void *user)
{
    static char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *c = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
    (void)user;
    EVP_MAC_free(mac); /* the context keeps its own reference */
    if (c == NULL || EVP_MAC_init(c, key, key_len, params) != 1) {
        EVP_MAC_CTX_free(c);
        return SG_ERR_UNKNOWN;
    }
    *ctx = c;
    return 0;
}

static int hmac_update(void *ctx, const uint8_t *data, size_t len, void *user)
{
    (void)user;
    return EVP_MAC_update(ctx, data, len) == 1 ? 0 : SG_ERR_UNKNOWN;
}

static int hmac_final(void *ctx, signal_buffer **out, void *user)
{
    uint8_t tag[EVP_MAX_MD_SIZE];
    size_t len = 0;
    (void)user;
    if (EVP_MAC_final(ctx, tag, &len, sizeof tag) != 1)
        return SG_ERR_UNKNOWN;
    *out = signal_buffer_create(tag, len);
    return *out != NULL ? 0 : SG_ERR_NOMEM;
}

static void hmac_cleanup(void *ctx, void *user)
{
    (void)user;
    EVP_MAC_CTX_free(ctx);
}

static int sha512_init(void **ctx, void *user)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    (void)user;
    if (c == NULL || EVP_DigestInit_ex(c, EVP_sha512(), NULL) != 1) {
        EVP_MD_CTX_free(c);
        return SG_ERR_UNKNOWN;
    }
    *ctx = c;
    return 0;
}

static int sha512_update(void *ctx, const uint8_t *data, size_t len, void *user)
{
    (void)user;
    return EVP_DigestUpdate(ctx, data, len) == 1 ? 0 : SG_ERR_UNKNOWN;
}

/* Finish, and start again: the provider's contract. */
static int sha512_final(void *ctx, signal_buffer **out, void *user)
{
    uint8_t d[64];
    unsigned len = 0;
    (void)user;
    if (EVP_DigestFinal_ex(ctx, d, &len) != 1 || EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) != 1)
        return SG_ERR_UNKNOWN;
    *out = signal_buffer_create(d, len);
    return *out != NULL ? 0 : SG_ERR_NOMEM;
}

static void sha512_cleanup(void *ctx, void *user)
{
    (void)user;
    EVP_MD_CTX_free(ctx);
}

static const EVP_CIPHER *aes(int cipher, size_t key_len)
{
    int ctr = cipher == SG_CIPHER_AES_CTR_NOPADDING;
    if (cipher != SG_CIPHER_AES_CTR_NOPADDING && cipher != SG_CIPHER_AES_CBC_PKCS5)
        return NULL;
    switch (key_len) {
    case 16:
        return ctr ? EVP_aes_128_ctr() : EVP_aes_128_cbc();
    case 24:
        return ctr ? EVP_aes_192_ctr() : EVP_aes_192_cbc();
    case 32:
        return ctr ? EVP_aes_256_ctr() : EVP_aes_256_cbc();
    }
    return NULL;
}

static int aes_crypt(int enc, signal_buffer **out, int cipher, const uint8_t *key, size_t key_len,
                 const uint8_t *iv, size_t iv_len, const uint8_t *in, size_t in_len)
{
    const EVP_CIPHER *c = aes(cipher, key_len);
    EVP_CIPHER_CTX *x = NULL;
    uint8_t *buf = NULL;
    int len = 0, fin = 0, rc = SG_ERR_UNKNOWN;
    if (c == NULL || iv_len != 16 || in_len > INT32_MAX - 32)
        return SG_ERR_UNKNOWN;
    if ((x = EVP_CIPHER_CTX_new()) == NULL || (buf = malloc(in_len + 32)) == NULL)
        goto out;
    if (EVP_CipherInit_ex(x, c, NULL, key, iv, enc) == 1 &&
        EVP_CipherUpdate(x, buf, &len, in, (int)in_len) == 1 &&
        EVP_CipherFinal_ex(x, buf + len, &fin) == 1) {
        *out = signal_buffer_create(buf, (size_t)(len + fin));
        rc = *out != NULL ? 0 : SG_ERR_NOMEM;
    }
out:
    EVP_CIPHER_CTX_free(x);
    free(buf);
    return rc;
}

static int encrypt_fn(signal_buffer **out, int cipher, const uint8_t *key, size_t key_len,
                      const uint8_t *iv, size_t iv_len, const uint8_t *plain, size_t plain_len,
                      void *user)
{
    (void)user;
    return aes_crypt(1, out, cipher, key, key_len, iv, iv_len, plain, plain_len);
}

static int decrypt_fn(signal_buffer **out, int cipher, const uint8_t *key, size_t key_len,
                      const uint8_t *iv, size_t iv_len, const uint8_t *ct, size_t ct_len,
                      void *user)
{
    (void)user;
    return aes_crypt(0, out, cipher, key, key_len, iv, iv_len, ct, ct_len);
}

const signal_crypto_provider bench_signal_crypto = {
    .random_func = random_octets,
    .hmac_sha256_init_func = hmac_init,
    .hmac_sha256_update_func = hmac_update,
    .hmac_sha256_final_func = hmac_final,
    .hmac_sha256_cleanup_func = hmac_cleanup,
    .sha512_digest_init_func = sha512_init,
    .sha512_digest_update_func = sha512_update,
    .sha512_digest_final_func = sha512_final,
    .sha512_digest_cleanup_func = sha512_cleanup,
    .encrypt_func = encrypt_fn,
    .decrypt_func = decrypt_fn,
    .user_data = NULL,
};
