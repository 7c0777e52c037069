/* SPDX-License-Identifier: ISC */
/* AES-CTR record files (aes_ctr_*.txt): fields key, icb, plaintext,
 * ciphertext, and optionally counter_blocks and keystream. Each record is
 * encrypted and decrypted (in place); the counter must end at
 * icb + ceil(n/16) mod 2^128; where counter blocks are given, the data is
 * also processed block by block and the counter checked before each. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include "../../core/core.h"
#include "../../crypto/aes_ctr.h"

/* The expected counter, computed here rather than by the library. */
static void ctr_add_ref(uint8_t c[ES_AES_BLOCK], uint64_t k)
{
    for (int i = ES_AES_BLOCK - 1; i >= 0 && k != 0; i--) {
        uint64_t s = (uint64_t)c[i] + (k & 0xff);
        c[i] = (uint8_t)s;
        k = (k >> 8) + (s >> 8);
    }
}

static void hex_block(char out[2 * ES_AES_BLOCK + 1], const uint8_t b[ES_AES_BLOCK])
{
    for (size_t i = 0; i < ES_AES_BLOCK; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

typedef struct aes_rec {
    uint8_t *key, *icb, *pt, *ct, *blocks, *stream;
    size_t klen, icblen, ptlen, ctlen, blen, slen;
} aes_rec;

static void aes_rec_free(aes_rec *a)
{
    free(a->key);
    free(a->icb);
    free(a->pt);
    free(a->ct);
    free(a->blocks);
    free(a->stream);
}

/* One pass over `in` into `out` from counter icb, comparing with want and
 * the final counter. in may equal out. */
static int run_pass(hv_report *r, const char *id, const char *what, es_aes_ctr *c,
                    const uint8_t *icb, const uint8_t *in, uint8_t *out, size_t n,
                    const uint8_t *want)
{
    uint8_t ctr[ES_AES_BLOCK], end[ES_AES_BLOCK];
    memcpy(ctr, icb, ES_AES_BLOCK);
    memcpy(end, icb, ES_AES_BLOCK);
    ctr_add_ref(end, ((uint64_t)n + ES_AES_BLOCK - 1) / ES_AES_BLOCK);
    esession_status st = es_aes_ctr_crypt(c, ctr, in, out, n);
    if (st != ESESSION_OK) {
        hv_fail(r, id, "%s: es_aes_ctr_crypt: %s", what, esession_status_name(st));
        return -1;
    }
    if (n > 0 && memcmp(out, want, n) != 0) {
        hv_fail(r, id, "%s: output differs", what);
        return -1;
    }
    if (memcmp(ctr, end, ES_AES_BLOCK) != 0) {
        char got[33], exp[33];
        hex_block(got, ctr);
        hex_block(exp, end);
        hv_fail(r, id, "%s: counter after is %s, expected %s", what, got, exp);
        return -1;
    }
    return 0;
}

/* Block by block: the counter before block i must be T_i, and the
 * keystream block (pt xor ct) must match when given. */
static int run_blocks(hv_report *r, const char *id, es_aes_ctr *c, const aes_rec *a)
{
    size_t nblocks = a->blen / ES_AES_BLOCK;
    if (a->blen % ES_AES_BLOCK != 0 || nblocks * ES_AES_BLOCK != a->ptlen ||
        (a->stream != NULL && a->slen != a->ptlen)) {
        hv_fail(r, id, "counter_blocks/keystream do not match the data length");
        return -1;
    }
    uint8_t ctr[ES_AES_BLOCK], out[ES_AES_BLOCK];
    memcpy(ctr, a->icb, ES_AES_BLOCK);
    for (size_t i = 0; i < nblocks; i++) {
        const uint8_t *t = a->blocks + i * ES_AES_BLOCK;
        if (memcmp(ctr, t, ES_AES_BLOCK) != 0) {
            char got[33], exp[33];
            hex_block(got, ctr);
            hex_block(exp, t);
            hv_fail(r, id, "block %zu: counter is %s, expected %s", i, got, exp);
            return -1;
        }
        esession_status st = es_aes_ctr_crypt(c, ctr, a->pt + i * ES_AES_BLOCK, out,
                                              ES_AES_BLOCK);
        if (st != ESESSION_OK) {
            hv_fail(r, id, "block %zu: es_aes_ctr_crypt: %s", i, esession_status_name(st));
            return -1;
        }
        if (memcmp(out, a->ct + i * ES_AES_BLOCK, ES_AES_BLOCK) != 0) {
            hv_fail(r, id, "block %zu: ciphertext differs", i);
            return -1;
        }
        if (a->stream != NULL) {
            for (size_t k = 0; k < ES_AES_BLOCK; k++) {
                if ((uint8_t)(out[k] ^ a->pt[i * ES_AES_BLOCK + k]) !=
                    a->stream[i * ES_AES_BLOCK + k]) {
                    hv_fail(r, id, "block %zu: keystream differs", i);
                    return -1;
                }
            }
        }
    }
    return 0;
}

static void aes_record(hv_report *r, const vec_record *rec, const char *id)
{
    aes_rec a;
    memset(&a, 0, sizeof a);
    es_aes_ctr *c = NULL;
    uint8_t *buf = NULL;
    const char *f[6] = { vec_get(rec, "key"), vec_get(rec, "icb"), vec_get(rec, "plaintext"),
                         vec_get(rec, "ciphertext"), vec_get(rec, "counter_blocks"),
                         vec_get(rec, "keystream") };
    if (f[0] == NULL || f[1] == NULL || f[2] == NULL || f[3] == NULL) {
        hv_fail(r, id, "record lacks key, icb, plaintext or ciphertext");
        return;
    }
    a.key = vec_hex(f[0], &a.klen);
    a.icb = vec_hex(f[1], &a.icblen);
    a.pt = vec_hex(f[2], &a.ptlen);
    a.ct = vec_hex(f[3], &a.ctlen);
    if (f[4] != NULL)
        a.blocks = vec_hex(f[4], &a.blen);
    if (f[5] != NULL)
        a.stream = vec_hex(f[5], &a.slen);
    if (a.key == NULL || a.icb == NULL || a.pt == NULL || a.ct == NULL ||
        (f[4] != NULL && a.blocks == NULL) || (f[5] != NULL && a.stream == NULL)) {
        hv_fail(r, id, "bad hex");
        goto out;
    }
    if (a.icblen != ES_AES_BLOCK || a.ptlen != a.ctlen) {
        hv_fail(r, id, "icb is not 16 octets or plaintext and ciphertext lengths differ");
        goto out;
    }
    es_cipher_alg alg = a.klen == 16 ? ES_CIPHER_AES128_CTR
                        : a.klen == 24 ? ES_CIPHER_AES192_CTR
                        : a.klen == 32 ? ES_CIPHER_AES256_CTR
                                       : (es_cipher_alg)0;
    if (alg == 0) {
        hv_fail(r, id, "key of %zu octets is not an AES key", a.klen);
        goto out;
    }
    esession_status st = es_aes_ctr_new(&c, alg, a.key, a.klen);
    if (st != ESESSION_OK) {
        hv_fail(r, id, "es_aes_ctr_new: %s", esession_status_name(st));
        goto out;
    }
    buf = malloc(a.ptlen + 1);
    if (buf == NULL) {
        hv_fail(r, id, "out of memory");
        goto out;
    }
    if (run_pass(r, id, "encrypt", c, a.icb, a.pt, buf, a.ptlen, a.ct) != 0)
        goto out;
    /* Decrypt in place over a copy of the ciphertext. */
    if (a.ctlen > 0)
        memcpy(buf, a.ct, a.ctlen);
    if (run_pass(r, id, "decrypt", c, a.icb, buf, buf, a.ctlen, a.pt) != 0)
        goto out;
    if (a.blocks != NULL && run_blocks(r, id, c, &a) != 0)
        goto out;
    hv_pass(r, id);
out:
    free(buf);
    es_aes_ctr_free(c);
    aes_rec_free(&a);
}

void hv_txt_aes_ctr(hv_report *r, const vec_file *f, const char *base)
{
    (void)base;
    for (size_t i = 0; i < f->count; i++) {
        char id[HV_ID_MAX];
        hv_record_id(id, sizeof id, &f->records[i], "name");
        aes_record(r, &f->records[i], id);
    }
}
