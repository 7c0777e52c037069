/* SPDX-License-Identifier: ISC */
/* The floors: what the primitives a step needs cost when called directly,
 * each keyed or set up once, as a library doing only that work would:
 * OpenSSL's constant-time exponentiation with the exponent sizes the
 * protocol draws, RSA-2048 PKCS#1 v1.5 signing and verifying over
 * SHA-256, AES-256-CTR with HMAC-SHA-256 of 1 KiB (OpenSSL's SHA-256,
 * which uses the CPU's SHA instructions where there are any, as the
 * library does), and libxml2 building and parsing a <c/> element of 1 KiB.
 * The floors of a few microseconds are timed FLOOR_BATCH at a time: one
 * reading of the thread's CPU clock is itself a system call of about a
 * microsecond and a half on the bench's machine. */
#include "bench.h"

#include "../crypto/dh.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATA_BYTES 1024u
#define FLOOR_BATCH 16u
#define C_NS "http://www.xmpp.org/extensions/xep-0200.html#ns"

typedef struct group_floor {
    int group;
    BIGNUM *p, *g, *x, *r;
} group_floor;

struct bench_floors {
    BN_CTX *bn;
    group_floor gf[3];
    EVP_PKEY *key;
    EVP_MD_CTX *md;
    uint8_t sig[512];
    size_t sig_len;
    EVP_CIPHER_CTX *aes;
    EVP_MD_CTX *h_inner, *h_outer, *h_work; /* HMAC's keyed states, and a copy */
    uint8_t data[DATA_BYTES], out[DATA_BYTES];
    char *c_text;
    size_t c_len;
};

static const int floor_groups[3] = {5, 14, 15};

static BIGNUM *bn_of(const mpz_t v)
{
    size_t n = (mpz_sizeinbase(v, 2) + 7) / 8;
    uint8_t *b = malloc(n);
    size_t count = 0;
    if (b == NULL)
        bench_fail("out of memory");
    mpz_export(b, &count, 1, 1, 1, 0, v);
    BIGNUM *bn = BN_bin2bn(b, (int)count, NULL);
    free(b);
    if (bn == NULL)
        bench_fail("BN_bin2bn");
    return bn;
}

static void group_setup(group_floor *g, int group, BN_CTX *bn)
{
    mpz_t p;
    unsigned bits = es_dh_exponent_bits(group);
    mpz_init(p);
    if (es_modp_prime(group, p) != ESESSION_OK)
        bench_fail("group %d", group);
    g->group = group;
    g->p = bn_of(p);
    mpz_clear(p);
    g->g = BN_new();
    g->x = BN_new();
    g->r = BN_new();
    if (g->g == NULL || g->x == NULL || g->r == NULL || !BN_set_word(g->g, 2) ||
        !BN_rand(g->x, (int)bits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY))
        bench_fail("BN set-up");
    BN_set_flags(g->x, BN_FLG_CONSTTIME);
    /* The base of the shared secret is a peer's value: any element. */
    if (!BN_mod_exp_mont_consttime(g->g, g->g, g->x, g->p, bn, NULL))
        bench_fail("BN_mod_exp");
}

static EVP_PKEY *read_key(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        bench_fail("%s: cannot open", path);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (k == NULL)
        bench_fail("%s: not a private key", path);
    return k;
}

static void build_c(bench_floors *f, char **text, size_t *len)
{
    char data64[sodium_base64_ENCODED_LEN(DATA_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    char mac64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
    static const uint8_t mac[32] = {7}; /* what the MAC costs is in the AES floor */
    sodium_bin2base64(data64, sizeof data64, f->out, DATA_BYTES, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(mac64, sizeof mac64, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
    size_t cap = sizeof data64 + sizeof mac64 + 128;
    char *t = malloc(cap);
    if (t == NULL)
        bench_fail("out of memory");
    *len = (size_t)snprintf(t, cap, "<c xmlns='" C_NS "'><data>%s</data><mac>%s</mac></c>", data64,
                            mac64);
    *text = t;
}

/* HMAC-SHA-256's states after the padded key (RFC 2104), made once. */
static void hmac_keyed(bench_floors *f, const uint8_t key[32])
{
    uint8_t pad[64];
    if ((f->h_inner = EVP_MD_CTX_new()) == NULL || (f->h_outer = EVP_MD_CTX_new()) == NULL ||
        (f->h_work = EVP_MD_CTX_new()) == NULL)
        bench_fail("out of memory");
    memset(pad, 0x36, sizeof pad);
    for (size_t i = 0; i < 32; i++)
        pad[i] ^= key[i];
    if (EVP_DigestInit_ex(f->h_inner, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(f->h_inner, pad, sizeof pad) != 1)
        bench_fail("HMAC set-up");
    for (size_t i = 0; i < sizeof pad; i++)
        pad[i] ^= 0x36 ^ 0x5c;
    if (EVP_DigestInit_ex(f->h_outer, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(f->h_outer, pad, sizeof pad) != 1)
        bench_fail("HMAC set-up");
}

bench_floors *bench_floors_new(void)
{
    bench_floors *f = calloc(1, sizeof *f);
    uint8_t key[32], iv[16];
    if (f == NULL || (f->bn = BN_CTX_new()) == NULL)
        bench_fail("out of memory");
    for (size_t i = 0; i < 3; i++)
        group_setup(&f->gf[i], floor_groups[i], f->bn);
    f->key = read_key("tests/data/vec_rsa_bob.pem");
    if ((f->md = EVP_MD_CTX_new()) == NULL || (f->aes = EVP_CIPHER_CTX_new()) == NULL)
        bench_fail("out of memory");
    randombytes_buf(key, sizeof key);
    randombytes_buf(iv, sizeof iv);
    randombytes_buf(f->data, sizeof f->data);
    if (EVP_EncryptInit_ex(f->aes, EVP_aes_256_ctr(), NULL, key, iv) != 1)
        bench_fail("AES set-up");
    hmac_keyed(f, key);
    (void)bench_floor_rsa_sign(f); /* a signature to verify */
    build_c(f, &f->c_text, &f->c_len);
    return f;
}

void bench_floors_free(bench_floors *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < 3; i++) {
        BN_free(f->gf[i].p);
        BN_free(f->gf[i].g);
        BN_clear_free(f->gf[i].x);
        BN_clear_free(f->gf[i].r);
    }
    BN_CTX_free(f->bn);
    EVP_PKEY_free(f->key);
    EVP_MD_CTX_free(f->md);
    EVP_CIPHER_CTX_free(f->aes);
    EVP_MD_CTX_free(f->h_inner);
    EVP_MD_CTX_free(f->h_outer);
    EVP_MD_CTX_free(f->h_work);
    free(f->c_text);
    free(f);
}

double bench_floor_modexp(bench_floors *f, int group)
{
    group_floor *g = NULL;
    for (size_t i = 0; i < 3; i++)
        if (f->gf[i].group == group)
            g = &f->gf[i];
    if (g == NULL)
        bench_fail("no floor for group %d", group);
    double t0 = bench_cpu_us();
    if (!BN_mod_exp_mont_consttime(g->r, g->g, g->x, g->p, f->bn, NULL))
        bench_fail("BN_mod_exp");
    return bench_cpu_us() - t0;
}

static const uint8_t signed_msg[64] = {1, 2, 3}; /* a macB's size */

double bench_floor_rsa_sign(bench_floors *f)
{
    size_t len = sizeof f->sig;
    double t0 = bench_cpu_us();
    if (EVP_DigestSignInit(f->md, NULL, EVP_sha256(), NULL, f->key) != 1 ||
        EVP_DigestSign(f->md, f->sig, &len, signed_msg, sizeof signed_msg) != 1)
        bench_fail("RSA sign");
    double t1 = bench_cpu_us();
    f->sig_len = len;
    return t1 - t0;
}

double bench_floor_rsa_verify(bench_floors *f)
{
    double t0 = bench_cpu_us();
    for (unsigned i = 0; i < FLOOR_BATCH; i++)
        if (EVP_DigestVerifyInit(f->md, NULL, EVP_sha256(), NULL, f->key) != 1 ||
            EVP_DigestVerify(f->md, f->sig, f->sig_len, signed_msg, sizeof signed_msg) != 1)
            bench_fail("RSA verify");
    return (bench_cpu_us() - t0) / FLOOR_BATCH;
}

double bench_floor_aes_hmac(bench_floors *f)
{
    static const uint8_t ctr[16] = {0};
    uint8_t inner[32], mac[32];
    unsigned n = 0;
    int outl = 0;
    double t0 = bench_cpu_us();
    for (unsigned i = 0; i < FLOOR_BATCH; i++)
        if (EVP_EncryptInit_ex(f->aes, NULL, NULL, NULL, ctr) != 1 ||
            EVP_EncryptUpdate(f->aes, f->out, &outl, f->data, DATA_BYTES) != 1 ||
            EVP_MD_CTX_copy_ex(f->h_work, f->h_inner) != 1 ||
            EVP_DigestUpdate(f->h_work, f->out, DATA_BYTES) != 1 ||
            EVP_DigestUpdate(f->h_work, ctr, sizeof ctr) != 1 ||
            EVP_DigestFinal_ex(f->h_work, inner, &n) != 1 ||
            EVP_MD_CTX_copy_ex(f->h_work, f->h_outer) != 1 ||
            EVP_DigestUpdate(f->h_work, inner, sizeof inner) != 1 ||
            EVP_DigestFinal_ex(f->h_work, mac, &n) != 1)
            bench_fail("AES-CTR + HMAC");
    return (bench_cpu_us() - t0) / FLOOR_BATCH;
}

double bench_floor_xml(bench_floors *f)
{
    uint8_t bin[DATA_BYTES + 64];
    size_t bin_len = 0;
    char *text;
    size_t len;
    double t0 = bench_cpu_us();
    for (unsigned i = 0; i < FLOOR_BATCH; i++) {
        build_c(f, &text, &len);
        xmlDocPtr doc = xmlReadMemory(text, (int)len, NULL, NULL, XML_PARSE_NONET);
        xmlNodePtr c = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
        xmlNodePtr data = c != NULL ? c->children : NULL;
        if (data == NULL || data->children == NULL ||
            sodium_base642bin(bin, sizeof bin, (const char *)data->children->content,
                              strlen((const char *)data->children->content), NULL, &bin_len,
                              NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
            bench_fail("<c> parse");
        xmlFreeDoc(doc);
        free(text);
    }
    return (bench_cpu_us() - t0) / FLOOR_BATCH;
}
