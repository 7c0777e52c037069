/* SPDX-License-Identifier: ISC */
/* `make ct`: does any branch or memory address depend on a secret? The
 * secrets given to the code below are marked undefined for valgrind's
 * memcheck (VALGRIND_MAKE_MEM_UNDEFINED, as Monocypher's ctgrind and
 * BearSSL's checks do); memcheck then reports every conditional jump and
 * every memory access whose outcome depends on them. The library built
 * for this (ES_CT_CHECK) declares the results that are public by design
 * (es_ct_equal's verdict) with ES_DECLASSIFY, so what remains reported is
 * a leak.
 *
 * Checked: both exponentiation backends and the window table of 2^x with
 * a secret exponent (in the MODP groups the profile uses most and the
 * largest), the whole
 * es_modexp_sec path with a secret base and exponent, Diffie-Hellman's
 * shared secret with a secret stored exponent, es_ct_equal, and the MAC
 * checks of received content (es_c_verify, the search states of
 * es_rx_scan_try) under secret MAC keys and a secret expected MAC.
 *
 * `esession-ct canary` branches on a secret on purpose: make ct checks that
 * memcheck reports it, so a check that cannot fail is noticed. */
#include "esession.h"

#include "../../crypto/dh.h"
#include "../../crypto/modexp.h"
#include "../../crypto/mpint.h"
#include "../../session/receiver.h"

#include <stdio.h>
#include <string.h>
#include <valgrind/memcheck.h>

#define SECRET(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#define PUBLIC(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))

static int failures;

static void expect(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "esession-ct: %s\n", what);
        failures++;
    }
}

/* A secret exponent of `bits` bits: its top limb public and exactly
 * 2^(bits-1 mod 64) (the bit length shows, by design; nothing else of that
 * limb is then hidden by calling it public), every other limb random and
 * secret. */
static void secret_exponent(mpz_t e, unsigned bits, uint8_t seed)
{
    size_t limbs = (bits + 63) / 64;
    mpz_init2(e, (mp_bitcnt_t)limbs * 64);
    mpz_setbit(e, bits - 1);
    mp_limb_t *d = mpz_limbs_modify(e, (mp_size_t)limbs);
    for (size_t i = 0; i + 1 < limbs; i++)
        d[i] = (mp_limb_t)0x9e3779b97f4a7c15u * (mp_limb_t)(i + 1 + seed);
    mpz_limbs_finish(e, (mp_size_t)limbs);
    SECRET(d, (limbs - 1) * sizeof *d);
}

/* Both backends, group by group: the result is not looked at (its value
 * is secret); only how it was computed is checked. */
static void exponentiation(void)
{
    static const int groups[] = {5, 14, 15, 18};
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        mpz_t p, b, e, r;
        unsigned bits = es_dh_exponent_bits(groups[g]);
        mpz_init(p);
        expect(es_modp_prime(groups[g], p) == ESESSION_OK, "no prime");
        mpz_init2(r, (mp_bitcnt_t)mpz_sizeinbase(p, 2));
        mpz_init_set_ui(b, 3);
        mpz_mul_2exp(b, b, (mp_bitcnt_t)mpz_sizeinbase(p, 2) - 8); /* a public base < p */
        secret_exponent(e, bits, (uint8_t)g);
        expect(es_modexp_gmp(r, b, e, p) == ESESSION_OK, "GMP backend failed");
        expect(es_modexp_openssl(r, b, e, p) == ESESSION_OK, "OpenSSL backend failed");
        /* 2^e from the window table, where a group has one (up to 3072 bits). */
        es_fixed_base *fb = es_fixed_base_new(p, bits);
        if (mpz_sizeinbase(p, 2) <= 64u * ES_FIXED_BASE_LIMBS)
            expect(fb != NULL && es_fixed_base_pow(fb, r, e) == ESESSION_OK,
                   "window table failed");
        es_fixed_base_free(fb);
        mpz_clear(r);
        mpz_clear(e);
        mpz_clear(b);
        mpz_clear(p);
    }
}

/* es_dh_shared with the stored exponent secret (all but its first octet,
 * whose top bit is set by construction and whose value the mpint form
 * shows by its length) and a peer value: the secret reaches the
 * exponentiation through the mpint conversions. */
static void shared_secret(esession_dh_backend backend)
{
    esession_ctx_options o = ESESSION_CTX_OPTIONS_INIT;
    esession_ctx *ctx = NULL;
    es_dh *mine = NULL, *peer = NULL;
    esession_buf e = {0}, s = {0};
    uint8_t x[40];
    o.dh_backend = backend;
    expect(esession_ctx_new(&ctx, &o, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR) ==
               ESESSION_OK,
           "no context");
    for (size_t i = 0; i < sizeof x; i++)
        x[i] = (uint8_t)(0x5a ^ (i * 29));
    x[0] = 0x80;
    expect(es_dh_generate(ctx, &peer, 14) == ESESSION_OK, "no peer key");
    expect(es_dh_public(peer, &e) == ESESSION_OK, "no peer value");
    /* es_dh_from_private_only checks the range (on the public length and
     * top octet) before anything else; the rest is secret from here. */
    SECRET(x + 1, sizeof x - 1);
    expect(es_dh_from_private_only(ctx, &mine, 14, x, sizeof x) == ESESSION_OK, "no key");
    expect(es_dh_shared(ctx, mine, (const uint8_t *)e.data, e.len, &s) == ESESSION_OK,
           "no shared secret");
    esession_buf_free(&s);
    esession_buf_free(&e);
    es_dh_free(mine);
    es_dh_free(peer);
    esession_ctx_free(ctx);
}

/* es_ct_equal on secret octets: equal, and different in the first, a
 * middle and the last octet. */
static void comparison(void)
{
    uint8_t a[32], b[32];
    for (size_t i = 0; i < sizeof a; i++)
        a[i] = b[i] = (uint8_t)(i * 7);
    SECRET(a, sizeof a);
    SECRET(b, sizeof b);
    expect(es_ct_equal(a, b, sizeof a) == 1, "equal octets compared unequal");
    static const size_t at[] = {0, 16, 31};
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
        PUBLIC(&b[at[k]], 1);
        b[at[k]] ^= 1;
        SECRET(&b[at[k]], 1);
        expect(es_ct_equal(a, b, sizeof a) == 0, "unequal octets compared equal");
        PUBLIC(&b[at[k]], 1);
        b[at[k]] ^= 1;
        SECRET(&b[at[k]], 1);
    }
}

/* The keys of one direction, secret. */
static void direction_keys(es_dir_keys *k, es_hash_alg hash)
{
    memset(k, 0, sizeof *k);
    k->suite.hash = hash;
    k->suite.cipher = ES_CIPHER_AES256_CTR;
    k->kc_len = 32;
    k->km_len = es_hash_size(hash);
    for (size_t i = 0; i < sizeof k->kc; i++)
        k->kc[i] = (uint8_t)(i + 1);
    for (size_t i = 0; i < sizeof k->km; i++)
        k->km[i] = (uint8_t)(3 * i + 5);
    SECRET(k->kc, sizeof k->kc);
    SECRET(k->km, sizeof k->km);
}

/* A received <c> checked under secret keys: at its counter (the MAC
 * matches) and at another (it does not), through the keyed MAC and
 * through the search states. */
static void mac_checks(es_hash_alg hash)
{
    esession_ctx *ctx = NULL;
    es_dir_keys keys;
    es_chan *chan = NULL;
    es_rx_scan *scan = NULL;
    esession_buf c = {0};
    uint8_t ctr[ES_AES_BLOCK] = {0}, at[ES_AES_BLOCK] = {0}, other[ES_AES_BLOCK] = {0};
    static const uint8_t m[] = "<body xmlns='jabber:client'>a message</body>";
    other[15] = 9;
    expect(esession_ctx_new(&ctx, NULL, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR) ==
               ESESSION_OK,
           "no context");
    direction_keys(&keys, hash);
    expect(es_chan_new(ctx, &keys, &chan) == ESESSION_OK, "no channel");
    /* Sealing writes the ciphertext and its MAC: public once sent. */
    expect(es_c_seal(ctx, chan, ctr, m, sizeof m - 1, NULL, &c, NULL) == ESESSION_OK, "no seal");
    PUBLIC(c.data, c.len);
    xmlDocPtr doc = xmlReadMemory(c.data, (int)c.len, NULL, NULL, XML_PARSE_NONET);
    es_c_open *open = NULL;
    expect(doc != NULL && es_c_parse(ctx, xmlDocGetRootElement(doc), &open) == ESESSION_OK,
           "no parse");
    expect(es_c_verify(open, chan, at) == ESESSION_OK, "the MAC does not verify");
    expect(es_c_verify(open, chan, other) == ESESSION_ERR_BAD_MAC, "a wrong counter verifies");
    size_t mac_len = 0, mc_len = 0;
    const uint8_t *mac = es_c_mac(open, &mac_len);
    const uint8_t *mc = es_c_m_content(open, &mc_len);
    expect(es_rx_scan_new(ctx, &keys, &scan) == ESESSION_OK, "no search states");
    expect(es_rx_scan_prefix(scan, mc, mc_len) == ESESSION_OK, "no prefix");
    expect(es_rx_scan_try(scan, at, mac, mac_len) == 1, "the search misses the MAC");
    expect(es_rx_scan_try(scan, other, mac, mac_len) == 0, "the search matches a wrong counter");
    es_rx_scan_free(scan);
    es_c_free(open);
    xmlFreeDoc(doc);
    esession_buf_free(&c);
    es_chan_free(chan);
    esession_ctx_free(ctx);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "canary") == 0) {
        /* A branch on a secret, which memcheck must report. */
        uint8_t s[1] = {1};
        SECRET(s, 1); /* an asm barrier: s is read again below */
        if (s[0] == 1)
            puts("esession-ct canary: branched on a secret");
        return 0;
    }
    if (!RUNNING_ON_VALGRIND)
        fputs("esession-ct: not under valgrind: nothing is checked (run make ct)\n", stderr);
    exponentiation();
    shared_secret(ESESSION_DH_OPENSSL);
    shared_secret(ESESSION_DH_GMP);
    comparison();
    mac_checks(ES_HASH_SHA256);
    mac_checks(ES_HASH_SHA512);
    if (failures == 0)
        puts("esession-ct: every check ran; memcheck reports what depended on a secret");
    return failures == 0 ? 0 : 1;
}
