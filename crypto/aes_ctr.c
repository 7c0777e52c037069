/* SPDX-License-Identifier: ISC */
/* AES-CTR through OpenSSL EVP with PROFILE §4 counters. The cipher context
 * is keyed once; each call only loads its counter block as the IV. */
#include "aes_ctr.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

struct es_aes_ctr {
    es_cipher_alg alg;
    EVP_CIPHER_CTX *evp; /* holds the key schedule; cleared when freed */
};

/* EVP_EncryptUpdate takes an int length: feed whole blocks per chunk, so
 * the counter carries on from one chunk to the next. */
#define CTR_CHUNK ((size_t)1 << 30)

size_t es_cipher_key_size(es_cipher_alg alg)
{
    switch (alg) {
    case ES_CIPHER_AES128_CTR:
        return 16;
    case ES_CIPHER_AES192_CTR:
        return 24;
    case ES_CIPHER_AES256_CTR:
        return 32;
    }
    return 0;
}

const char *es_cipher_name(es_cipher_alg alg)
{
    switch (alg) {
    case ES_CIPHER_AES128_CTR:
        return "aes128-ctr";
    case ES_CIPHER_AES192_CTR:
        return "aes192-ctr";
    case ES_CIPHER_AES256_CTR:
        return "aes256-ctr";
    }
    return NULL;
}

esession_status es_cipher_from_name(const char *name, size_t len, es_cipher_alg *out)
{
    static const es_cipher_alg all[] = { ES_CIPHER_AES128_CTR, ES_CIPHER_AES192_CTR,
                                         ES_CIPHER_AES256_CTR };

    if ((name == NULL && len > 0) || out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < ES_ARRAY_LEN(all); i++) {
        const char *n = es_cipher_name(all[i]);
        if (strlen(n) == len && memcmp(n, name, len) == 0) {
            *out = all[i];
            return ESESSION_OK;
        }
    }
    return ESESSION_ERR_UNSUPPORTED; /* "none", twofish, serpent, ... */
}

static const EVP_CIPHER *evp_cipher(es_cipher_alg alg)
{
    switch (alg) {
    case ES_CIPHER_AES128_CTR:
        return EVP_aes_128_ctr();
    case ES_CIPHER_AES192_CTR:
        return EVP_aes_192_ctr();
    case ES_CIPHER_AES256_CTR:
        return EVP_aes_256_ctr();
    }
    return NULL;
}

static esession_status check_key(es_cipher_alg alg, const uint8_t *key, size_t keylen)
{
    size_t want = es_cipher_key_size(alg);
    if (want == 0)
        return ESESSION_ERR_UNSUPPORTED;
    if (key == NULL || keylen != want)
        return ESESSION_ERR_INVALID_ARGUMENT;
    return ESESSION_OK;
}

/* A fresh context keyed with key (length already checked). */
static esession_status keyed_ctx(EVP_CIPHER_CTX **out, es_cipher_alg alg, const uint8_t *key)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (c == NULL)
        return ESESSION_ERR_NO_MEMORY;
    if (EVP_EncryptInit_ex(c, evp_cipher(alg), NULL, key, NULL) != 1) {
        EVP_CIPHER_CTX_free(c);
        return ESESSION_ERR_INTERNAL;
    }
    *out = c;
    return ESESSION_OK;
}

esession_status es_aes_ctr_new(es_aes_ctr **out, es_cipher_alg alg, const uint8_t *key, size_t keylen)
{
    esession_status rc;
    es_aes_ctr *c;

    if (out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if ((rc = check_key(alg, key, keylen)) != ESESSION_OK)
        return rc;
    if ((c = calloc(1, sizeof *c)) == NULL)
        return ESESSION_ERR_NO_MEMORY;
    c->alg = alg;
    if ((rc = keyed_ctx(&c->evp, alg, key)) != ESESSION_OK) {
        free(c);
        return rc;
    }
    *out = c;
    return ESESSION_OK;
}

esession_status es_aes_ctr_rekey(es_aes_ctr *c, const uint8_t *key, size_t keylen)
{
    EVP_CIPHER_CTX *fresh = NULL;
    esession_status rc;

    if (c == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if ((rc = check_key(c->alg, key, keylen)) != ESESSION_OK)
        return rc;
    /* Key a new context first: a failure keeps the old key. */
    if ((rc = keyed_ctx(&fresh, c->alg, key)) != ESESSION_OK)
        return rc;
    EVP_CIPHER_CTX_free(c->evp);
    c->evp = fresh;
    return ESESSION_OK;
}

/* Buffers that overlap without being equal would be read after being
 * written; only exact in-place use is allowed. */
static int partial_overlap(const uint8_t *in, const uint8_t *out, size_t n)
{
    uintptr_t a = (uintptr_t)in, b = (uintptr_t)out;
    return a != b && (a < b ? b - a < n : a - b < n);
}

esession_status es_aes_ctr_crypt(es_aes_ctr *c, uint8_t ctr[ES_AES_BLOCK],
                                 const uint8_t *in, uint8_t *out, size_t n)
{
    size_t done = 0;

    if (c == NULL || ctr == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (n == 0)
        return ESESSION_OK; /* no keystream used: the counter stays */
    if (in == NULL || out == NULL || partial_overlap(in, out, n))
        return ESESSION_ERR_INVALID_ARGUMENT;
    /* Loading the IV also drops any partial block left by the last call,
     * so every call starts on a fresh counter value. */
    if (EVP_EncryptInit_ex(c->evp, NULL, NULL, NULL, ctr) != 1)
        return ESESSION_ERR_INTERNAL;
    while (done < n) {
        size_t len = n - done < CTR_CHUNK ? n - done : CTR_CHUNK;
        int outl = 0;
        if (EVP_EncryptUpdate(c->evp, out + done, &outl, in + done, (int)len) != 1 ||
            outl < 0 || (size_t)outl != len)
            return ESESSION_ERR_INTERNAL;
        done += len;
    }
    es_ctr_add(ctr, es_ctr_blocks(n));
    return ESESSION_OK;
}

void es_aes_ctr_free(es_aes_ctr *c)
{
    if (c == NULL)
        return;
    EVP_CIPHER_CTX_free(c->evp);
    free(c);
}

void es_ctr_add(uint8_t ctr[ES_AES_BLOCK], uint64_t k)
{
    /* Big-endian add; the carry out of octet 0 is dropped (mod 2^128). */
    unsigned carry = 0;
    for (int i = ES_AES_BLOCK - 1; i >= 0; i--) {
        unsigned sum = ctr[i] + (unsigned)(k & 0xff) + carry;
        ctr[i] = (uint8_t)sum;
        carry = sum >> 8;
        k >>= 8;
    }
}

uint64_t es_ctr_blocks(size_t n)
{
    return (uint64_t)(n / ES_AES_BLOCK) + (n % ES_AES_BLOCK != 0);
}

int es_ctr_cmp(const uint8_t a[ES_AES_BLOCK], const uint8_t b[ES_AES_BLOCK])
{
    /* Big-endian: octet order is numeric order. */
    int r = memcmp(a, b, ES_AES_BLOCK);
    return (r > 0) - (r < 0);
}
