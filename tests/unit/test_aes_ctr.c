/* SPDX-License-Identifier: ISC */
/* AES-CTR with PROFILE §4 counters: SP 800-38A, RFC 3686, carry vectors,
 * counter arithmetic and wraps, call boundaries, in-place, rekey, names. */
#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "../../crypto/aes_ctr.h"
#include "../common/vecfile.h"

static const uint8_t key128[16] = { 0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
                                    0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c };

/* Independent keystream: AES_K(C + i) block by block through ECB, with the
 * counter added here by hand. */
static void ref_keystream(const uint8_t *key, size_t keylen, const uint8_t ctr[16],
                          uint8_t *ks, size_t blocks)
{
    const EVP_CIPHER *ecb = keylen == 16 ? EVP_aes_128_ecb()
                            : keylen == 24 ? EVP_aes_192_ecb() : EVP_aes_256_ecb();
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    uint8_t block[16];
    int outl;
    cr_assert_not_null(c);
    cr_assert_eq(EVP_EncryptInit_ex(c, ecb, NULL, key, NULL), 1);
    EVP_CIPHER_CTX_set_padding(c, 0);
    memcpy(block, ctr, 16);
    for (size_t i = 0; i < blocks; i++) {
        cr_assert_eq(EVP_EncryptUpdate(c, ks + 16 * i, &outl, block, 16), 1);
        cr_assert_eq(outl, 16);
        for (int k = 15; k >= 0 && ++block[k] == 0; k--)
            ;
    }
    EVP_CIPHER_CTX_free(c);
}

static es_cipher_alg alg_for_keylen(size_t keylen)
{
    return keylen == 16 ? ES_CIPHER_AES128_CTR
           : keylen == 24 ? ES_CIPHER_AES192_CTR : ES_CIPHER_AES256_CTR;
}

/* Records with key, icb, plaintext, ciphertext: both directions, out of
 * place and in place, and the counter after the call. */
static size_t run_file(const char *path)
{
    vec_file f;
    size_t seen = 0;
    cr_assert_eq(vec_file_load(&f, path), 0, "%s", path);
    for (size_t i = 0; i < f.count; i++) {
        const vec_record *r = &f.records[i];
        const char *name = vec_get(r, "name");
        size_t keylen, icblen, ptlen, ctlen;
        uint8_t *key = vec_hex(vec_get(r, "key"), &keylen);
        uint8_t *icb = vec_hex(vec_get(r, "icb"), &icblen);
        uint8_t *pt = vec_hex(vec_get(r, "plaintext"), &ptlen);
        uint8_t *ct = vec_hex(vec_get(r, "ciphertext"), &ctlen);
        uint8_t ctr[16], want_ctr[16];
        es_aes_ctr *c = NULL;

        cr_assert(key && icb && pt && ct && icblen == 16 && ptlen == ctlen, "%s", name);
        uint8_t *buf = malloc(ptlen + 1);
        cr_assert_not_null(buf);
        cr_assert_eq(es_aes_ctr_new(&c, alg_for_keylen(keylen), key, keylen), ESESSION_OK, "%s", name);

        memcpy(want_ctr, icb, 16);
        es_ctr_add(want_ctr, es_ctr_blocks(ptlen));

        /* Encrypt. */
        memcpy(ctr, icb, 16);
        memset(buf, 0, ptlen + 1);
        cr_assert_eq(es_aes_ctr_crypt(c, ctr, pt, buf, ptlen), ESESSION_OK, "%s", name);
        cr_assert_arr_eq(buf, ct, ctlen, "%s: ciphertext", name);
        cr_assert_arr_eq(ctr, want_ctr, 16, "%s: counter after", name);
        /* Decrypt in place. */
        memcpy(ctr, icb, 16);
        cr_assert_eq(es_aes_ctr_crypt(c, ctr, buf, buf, ptlen), ESESSION_OK, "%s", name);
        cr_assert_arr_eq(buf, pt, ptlen, "%s: plaintext", name);
        cr_assert_arr_eq(ctr, want_ctr, 16, "%s: counter after", name);
        if (ptlen == 0)
            cr_assert_arr_eq(ctr, icb, 16, "%s: zero length leaves the counter", name);

        /* SP 800-38A also lists the counter blocks and the keystream. */
        const char *blocks_hex = vec_get(r, "counter_blocks"), *ks_hex = vec_get(r, "keystream");
        if (blocks_hex != NULL && ks_hex != NULL) {
            size_t blen, kslen;
            uint8_t *blocks = vec_hex(blocks_hex, &blen);
            uint8_t *ks = vec_hex(ks_hex, &kslen);
            uint8_t *zero = calloc(1, kslen + 1), *got = malloc(kslen + 1);
            cr_assert(blocks && ks && zero && got && kslen == ptlen && blen == kslen);
            for (size_t b = 0; b < blen / 16; b++) {
                /* Block b uses C + b. */
                uint8_t cb[16];
                memcpy(cb, icb, 16);
                es_ctr_add(cb, b);
                cr_assert_arr_eq(cb, blocks + 16 * b, 16, "%s: counter block %zu", name, b);
            }
            memcpy(ctr, icb, 16);
            cr_assert_eq(es_aes_ctr_crypt(c, ctr, zero, got, kslen), ESESSION_OK);
            cr_assert_arr_eq(got, ks, kslen, "%s: keystream", name);
            free(blocks);
            free(ks);
            free(zero);
            free(got);
        }
        es_aes_ctr_free(c);
        free(buf);
        free(key);
        free(icb);
        free(pt);
        free(ct);
        seen++;
    }
    vec_file_free(&f);
    return seen;
}

static void sp800_38a(void)
{
    cr_assert_eq(run_file("vectors/aes_ctr_sp800_38a.txt"), 3);
}

static void rfc3686(void)
{
    cr_assert_eq(run_file("vectors/aes_ctr_rfc3686.txt"), 9);
}

static void counter_carry_vectors(void)
{
    cr_assert_eq(run_file("vectors/aes_ctr_counter_carry_nettle.txt"), 7);
}

/* es_ctr_add against a two-word reference, including both wraps. */
static void ref_add(uint8_t out[16], const uint8_t in[16], uint64_t k)
{
    uint64_t hi = 0, lo = 0;
    for (int i = 0; i < 8; i++) {
        hi = hi << 8 | in[i];
        lo = lo << 8 | in[8 + i];
    }
    uint64_t nlo = lo + k;
    hi += nlo < lo; /* carry from the low 8 octets into the high 8 */
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)hi;
        out[8 + i] = (uint8_t)nlo;
        hi >>= 8;
        nlo >>= 8;
    }
}

static void counter_add(void)
{
    static const uint8_t starts[][16] = {
        { 0 },
        { 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
        { 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe },
        { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
          0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
        { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
          0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0 },
        { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
          0x0f, 0xed, 0xcb, 0xa9, 0x87, 0x65, 0x43, 0x21 },
    };
    static const uint64_t ks[] = { 0, 1, 2, 15, 16, 255, 256, 0x10000, UINT64_C(0xffffffff),
                                   UINT64_C(0x100000000), UINT64_C(0x8000000000000000),
                                   UINT64_MAX - 1, UINT64_MAX };
    for (size_t s = 0; s < sizeof starts / sizeof starts[0]; s++) {
        for (size_t k = 0; k < sizeof ks / sizeof ks[0]; k++) {
            uint8_t got[16], want[16];
            memcpy(got, starts[s], 16);
            es_ctr_add(got, ks[k]);
            ref_add(want, starts[s], ks[k]);
            cr_assert_arr_eq(got, want, 16, "start %zu + %llu", s, (unsigned long long)ks[k]);
        }
    }

    /* The two wraps spelled out. */
    uint8_t c[16], want[16];
    memcpy(c, starts[1], 16); /* 2^64 - 1 */
    es_ctr_add(c, 1);
    memset(want, 0, 16);
    want[7] = 1;
    cr_assert_arr_eq(c, want, 16, "2^64 - 1 + 1 = 2^64");
    memcpy(c, starts[3], 16); /* 2^128 - 1 */
    es_ctr_add(c, 1);
    memset(want, 0, 16);
    cr_assert_arr_eq(c, want, 16, "2^128 - 1 + 1 wraps to 0");
    memcpy(c, starts[3], 16);
    es_ctr_add(c, UINT64_MAX);
    memset(want, 0xff, 16);
    memset(want, 0, 8);
    want[15] = 0xfe;
    cr_assert_arr_eq(c, want, 16, "2^128 - 1 + 2^64 - 1 = 2^64 - 2 mod 2^128");
}

static void blocks_and_compare(void)
{
    cr_assert_eq(es_ctr_blocks(0), 0);
    cr_assert_eq(es_ctr_blocks(1), 1);
    cr_assert_eq(es_ctr_blocks(15), 1);
    cr_assert_eq(es_ctr_blocks(16), 1);
    cr_assert_eq(es_ctr_blocks(17), 2);
    cr_assert_eq(es_ctr_blocks(20), 2);
    cr_assert_eq(es_ctr_blocks(32), 2);
    cr_assert_eq(es_ctr_blocks(33), 3);
    cr_assert_eq(es_ctr_blocks(SIZE_MAX), (uint64_t)(SIZE_MAX / 16) + 1);

    uint8_t a[16] = { 0 }, b[16] = { 0 };
    cr_assert_eq(es_ctr_cmp(a, b), 0);
    b[15] = 1;
    cr_assert_lt(es_ctr_cmp(a, b), 0);
    cr_assert_gt(es_ctr_cmp(b, a), 0);
    a[0] = 1; /* the first octet is the most significant */
    cr_assert_gt(es_ctr_cmp(a, b), 0);
    cr_assert_lt(es_ctr_cmp(b, a), 0);
    memset(a, 0xff, 16);
    memset(b, 0xff, 16);
    b[8] = 0x7f;
    cr_assert_gt(es_ctr_cmp(a, b), 0);
    /* 2^64 > 2^64 - 1 although its low octets are smaller. */
    memset(a, 0, 16);
    a[7] = 1;
    memset(b, 0, 16);
    memset(b + 8, 0xff, 8);
    cr_assert_gt(es_ctr_cmp(a, b), 0);
}

/* Encryption across the 2^64 and 2^128 wraps matches AES_K(C + i). */
Test(aes_ctr, wraps_through_encryption)
{
    static const uint8_t starts[][16] = {
        { 0xa5, 0, 0, 0, 0, 0, 0, 0x07, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe },
        { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
          0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe },
        { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff },
    };
    uint8_t pt[70], ct[70], ks[80];
    for (size_t i = 0; i < sizeof pt; i++)
        pt[i] = (uint8_t)(i * 13);
    es_aes_ctr *c = NULL;
    cr_assert_eq(es_aes_ctr_new(&c, ES_CIPHER_AES128_CTR, key128, 16), ESESSION_OK);
    for (size_t s = 0; s < sizeof starts / sizeof starts[0]; s++) {
        uint8_t ctr[16], want_ctr[16];
        ref_keystream(key128, 16, starts[s], ks, 5);
        memcpy(ctr, starts[s], 16);
        cr_assert_eq(es_aes_ctr_crypt(c, ctr, pt, ct, sizeof pt), ESESSION_OK);
        for (size_t i = 0; i < sizeof pt; i++)
            cr_assert_eq(ct[i], pt[i] ^ ks[i], "start %zu octet %zu", s, i);
        ref_add(want_ctr, starts[s], 5);
        cr_assert_arr_eq(ctr, want_ctr, 16, "start %zu: counter advanced by 5", s);
    }
    /* From 2^128 - 2, five blocks end at 3. */
    uint8_t ctr[16], three[16] = { 0 };
    three[15] = 3;
    memcpy(ctr, starts[1], 16);
    cr_assert_eq(es_aes_ctr_crypt(c, ctr, pt, ct, sizeof pt), ESESSION_OK);
    cr_assert_arr_eq(ctr, three, 16);
    es_aes_ctr_free(c);
}

/* 20 octets then 12: the second call starts at C + 2, not inside the
 * partly used block. */
static void partial_block_uses_up_a_counter(void)
{
    static const uint8_t c0[16] = { 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
                                    0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xfd };
    uint8_t pt[32], ct[32], ks[48], ctr[16], want[16];
    for (size_t i = 0; i < sizeof pt; i++)
        pt[i] = (uint8_t)(0x30 + i);
    ref_keystream(key128, 16, c0, ks, 3);

    es_aes_ctr *c = NULL;
    cr_assert_eq(es_aes_ctr_new(&c, ES_CIPHER_AES128_CTR, key128, 16), ESESSION_OK);
    memcpy(ctr, c0, 16);
    cr_assert_eq(es_aes_ctr_crypt(c, ctr, pt, ct, 20), ESESSION_OK);
    memcpy(want, c0, 16);
    es_ctr_add(want, 2);
    cr_assert_arr_eq(ctr, want, 16, "20 octets use two counter values");
    cr_assert_eq(es_aes_ctr_crypt(c, ctr, pt + 20, ct + 20, 12), ESESSION_OK);
    es_ctr_add(want, 1);
    cr_assert_arr_eq(ctr, want, 16);
    for (size_t i = 0; i < 20; i++)
        cr_assert_eq(ct[i], pt[i] ^ ks[i]);
    for (size_t i = 0; i < 12; i++)
        cr_assert_eq(ct[20 + i], pt[20 + i] ^ ks[32 + i], "second call octet %zu", i);

    /* Same as a separate call starting at C + 2. */
    uint8_t alone[12], c2[16];
    memcpy(c2, c0, 16);
    es_ctr_add(c2, 2);
    cr_assert_eq(es_aes_ctr_crypt(c, c2, pt + 20, alone, 12), ESESSION_OK);
    cr_assert_arr_eq(alone, ct + 20, 12);

    /* Zero length: nothing happens, the counter stays, NULL buffers are fine. */
    memcpy(c2, ctr, 16);
    cr_assert_eq(es_aes_ctr_crypt(c, ctr, NULL, NULL, 0), ESESSION_OK);
    cr_assert_arr_eq(ctr, c2, 16);
    es_aes_ctr_free(c);
}

static void in_place_equals_out_of_place(void)
{
    uint8_t buf[100], ref[100], ctr1[16] = { 1, 2, 3 }, ctr2[16] = { 1, 2, 3 };
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)i;
    es_aes_ctr *c = NULL;
    cr_assert_eq(es_aes_ctr_new(&c, ES_CIPHER_AES256_CTR, (const uint8_t *)
                                "0123456789abcdef0123456789abcdef", 32), ESESSION_OK);
    cr_assert_eq(es_aes_ctr_crypt(c, ctr1, buf, ref, sizeof buf), ESESSION_OK);
    cr_assert_eq(es_aes_ctr_crypt(c, ctr2, buf, buf, sizeof buf), ESESSION_OK);
    cr_assert_arr_eq(buf, ref, sizeof buf);
    cr_assert_arr_eq(ctr1, ctr2, 16);
    es_aes_ctr_free(c);
}

Test(aes_ctr, key_lengths_and_rekey)
{
    static const es_cipher_alg algs[] = { ES_CIPHER_AES128_CTR, ES_CIPHER_AES192_CTR,
                                          ES_CIPHER_AES256_CTR };
    static const size_t sizes[] = { 16, 24, 32 };
    uint8_t k1[64], k2[64], pt[40] = { 0 }, ref1[40], ref2[40], out[40];
    for (size_t i = 0; i < sizeof k1; i++) {
        k1[i] = (uint8_t)i;
        k2[i] = (uint8_t)(0x80 + i);
    }
    for (size_t a = 0; a < 3; a++) {
        es_aes_ctr *c = NULL;
        static int dummy;
        es_aes_ctr *const sentinel = (es_aes_ctr *)(void *)&dummy;
        es_aes_ctr *untouched = sentinel;
        uint8_t ctr[16] = { 0 }, ks[48];

        cr_assert_eq(es_cipher_key_size(algs[a]), sizes[a]);
        /* Every other length (the other AES sizes too) is refused; *out
         * is untouched. */
        for (size_t w = 0; w <= sizeof k1; w++)
            if (w != sizes[a])
                cr_assert_eq(es_aes_ctr_new(&untouched, algs[a], k1, w),
                             ESESSION_ERR_INVALID_ARGUMENT, "alg %zu keylen %zu", a, w);
        cr_assert_eq(es_aes_ctr_new(&untouched, algs[a], NULL, sizes[a]),
                     ESESSION_ERR_INVALID_ARGUMENT);
        cr_assert_eq(untouched, sentinel);

        ref_keystream(k1, sizes[a], ctr, ks, 3);
        for (size_t i = 0; i < sizeof pt; i++)
            ref1[i] = ks[i];
        ref_keystream(k2, sizes[a], ctr, ks, 3);
        for (size_t i = 0; i < sizeof pt; i++)
            ref2[i] = ks[i];

        cr_assert_eq(es_aes_ctr_new(&c, algs[a], k1, sizes[a]), ESESSION_OK);
        cr_assert_eq(es_aes_ctr_crypt(c, ctr, pt, out, sizeof pt), ESESSION_OK);
        cr_assert_arr_eq(out, ref1, sizeof out);

        /* A failed rekey leaves the object as it was. */
        for (size_t w = 0; w <= sizeof k2; w++)
            if (w != sizes[a])
                cr_assert_eq(es_aes_ctr_rekey(c, k2, w), ESESSION_ERR_INVALID_ARGUMENT);
        cr_assert_eq(es_aes_ctr_rekey(c, NULL, sizes[a]), ESESSION_ERR_INVALID_ARGUMENT);
        memset(ctr, 0, 16);
        cr_assert_eq(es_aes_ctr_crypt(c, ctr, pt, out, sizeof pt), ESESSION_OK);
        cr_assert_arr_eq(out, ref1, sizeof out, "old key kept after failed rekey");

        cr_assert_eq(es_aes_ctr_rekey(c, k2, sizes[a]), ESESSION_OK);
        memset(ctr, 0, 16);
        cr_assert_eq(es_aes_ctr_crypt(c, ctr, pt, out, sizeof pt), ESESSION_OK);
        cr_assert_arr_eq(out, ref2, sizeof out, "new key after rekey");
        es_aes_ctr_free(c);
    }
    es_aes_ctr_free(NULL);
}

static void argument_errors(void)
{
    es_aes_ctr *c = NULL;
    uint8_t buf[32] = { 0 }, ctr[16] = { 9, 9 }, before[16];
    cr_assert_eq(es_aes_ctr_new(&c, (es_cipher_alg)0, key128, 16), ESESSION_ERR_UNSUPPORTED);
    cr_assert_eq(es_aes_ctr_new(&c, (es_cipher_alg)4, key128, 16), ESESSION_ERR_UNSUPPORTED);
    cr_assert_eq(es_aes_ctr_new(NULL, ES_CIPHER_AES128_CTR, key128, 16),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_null(c);
    cr_assert_eq(es_aes_ctr_rekey(NULL, key128, 16), ESESSION_ERR_INVALID_ARGUMENT);

    cr_assert_eq(es_aes_ctr_new(&c, ES_CIPHER_AES128_CTR, key128, 16), ESESSION_OK);
    memcpy(before, ctr, 16);
    cr_assert_eq(es_aes_ctr_crypt(NULL, ctr, buf, buf, 16), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_aes_ctr_crypt(c, NULL, buf, buf, 16), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_aes_ctr_crypt(c, ctr, NULL, buf, 16), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_aes_ctr_crypt(c, ctr, buf, NULL, 16), ESESSION_ERR_INVALID_ARGUMENT);
    /* Partly overlapping buffers (either direction) are refused. */
    cr_assert_eq(es_aes_ctr_crypt(c, ctr, buf, buf + 1, 16), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_aes_ctr_crypt(c, ctr, buf + 15, buf, 16), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_arr_eq(ctr, before, 16, "counter untouched by refused calls");
    /* Adjacent buffers are fine. */
    cr_assert_eq(es_aes_ctr_crypt(c, ctr, buf, buf + 16, 16), ESESSION_OK);
    es_aes_ctr_free(c);
}

static void names(void)
{
    es_cipher_alg a = (es_cipher_alg)0;
    cr_assert_str_eq(es_cipher_name(ES_CIPHER_AES128_CTR), "aes128-ctr");
    cr_assert_str_eq(es_cipher_name(ES_CIPHER_AES192_CTR), "aes192-ctr");
    cr_assert_str_eq(es_cipher_name(ES_CIPHER_AES256_CTR), "aes256-ctr");
    cr_assert_null(es_cipher_name((es_cipher_alg)0));
    cr_assert_eq(es_cipher_key_size((es_cipher_alg)0), 0);

    cr_assert_eq(es_cipher_from_name("aes128-ctr", 10, &a), ESESSION_OK);
    cr_assert_eq(a, ES_CIPHER_AES128_CTR);
    cr_assert_eq(es_cipher_from_name("aes192-ctr", 10, &a), ESESSION_OK);
    cr_assert_eq(a, ES_CIPHER_AES192_CTR);
    cr_assert_eq(es_cipher_from_name("aes256-ctr", 10, &a), ESESSION_OK);
    cr_assert_eq(a, ES_CIPHER_AES256_CTR);
    cr_assert_eq(es_cipher_from_name("aes128-ctr aes256-ctr", 10, &a), ESESSION_OK);
    cr_assert_eq(a, ES_CIPHER_AES128_CTR);

    static const char *const bad[] = { "none", "aes128", "aes128-cbc", "AES128-CTR", "aes-128-ctr",
                                       "aes128-ctr ", "aes512-ctr", "twofish256-ctr",
                                       "serpent256-ctr", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        a = ES_CIPHER_AES192_CTR;
        cr_assert_eq(es_cipher_from_name(bad[i], strlen(bad[i]), &a), ESESSION_ERR_UNSUPPORTED,
                     "\"%s\"", bad[i]);
        cr_assert_eq(a, ES_CIPHER_AES192_CTR);
    }
    cr_assert_eq(es_cipher_from_name("aes128-ctr", 9, &a), ESESSION_ERR_UNSUPPORTED);
    cr_assert_eq(es_cipher_from_name(NULL, 3, &a), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_cipher_from_name("aes128-ctr", 10, NULL), ESESSION_ERR_INVALID_ARGUMENT);
}

/* Grouped: each Criterion test is its own process, which valgrind pays for. */
Test(aes_ctr, vectors)
{
    sp800_38a();
    rfc3686();
    counter_carry_vectors();
}

Test(aes_ctr, counter_arithmetic)
{
    counter_add();
    blocks_and_compare();
}

Test(aes_ctr, call_boundaries_and_in_place)
{
    partial_block_uses_up_a_counter();
    in_place_equals_out_of_place();
}

Test(aes_ctr, names_and_argument_errors)
{
    names();
    argument_errors();
}
