/* SPDX-License-Identifier: ISC */
/* AES-128/192/256 in CTR mode with PROFILE §4 counter semantics: the whole
 * 16-octet block is a big-endian counter, block i uses C + i mod 2^128, and
 * a call on L octets advances C by ceil(L/16). */
#ifndef ESESSION_AES_CTR_H
#define ESESSION_AES_CTR_H

#include "../core/core.h"

#define ES_AES_BLOCK 16

typedef enum es_cipher_alg {
    ES_CIPHER_AES128_CTR = 1,
    ES_CIPHER_AES192_CTR = 2,
    ES_CIPHER_AES256_CTR = 3
} es_cipher_alg;

/* Key size in octets (16, 24, 32); 0 if unknown. */
size_t es_cipher_key_size(es_cipher_alg alg);
const char *es_cipher_name(es_cipher_alg alg); /* "aes128-ctr", ... */
esession_status es_cipher_from_name(const char *name, size_t len, es_cipher_alg *out);

/* Keyed context, kept and reused across calls. */
typedef struct es_aes_ctr es_aes_ctr;

esession_status es_aes_ctr_new(es_aes_ctr **out, es_cipher_alg alg, const uint8_t *key, size_t keylen);
esession_status es_aes_ctr_rekey(es_aes_ctr *c, const uint8_t *key, size_t keylen);
/* Encrypt or decrypt n octets (in == out allowed) starting at counter ctr,
 * then advance ctr by ceil(n/16) modulo 2^128. n = 0 leaves ctr unchanged. */
esession_status es_aes_ctr_crypt(es_aes_ctr *c, uint8_t ctr[ES_AES_BLOCK],
                                 const uint8_t *in, uint8_t *out, size_t n);
void es_aes_ctr_free(es_aes_ctr *c);

/* Counter arithmetic, modulo 2^128. */
void es_ctr_add(uint8_t ctr[ES_AES_BLOCK], uint64_t k);
/* Number of blocks for n octets: ceil(n/16). */
uint64_t es_ctr_blocks(size_t n);
/* Compare counters as 128-bit unsigned integers: <0, 0, >0. */
int es_ctr_cmp(const uint8_t a[ES_AES_BLOCK], const uint8_t b[ES_AES_BLOCK]);

#endif
