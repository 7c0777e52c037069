/* SPDX-License-Identifier: ISC */
/* SIG (PROFILE §5): rsa-sha256 and dsa-sha256 against RFC 6979, Wycheproof
 * and the protocol vectors; round trips and every rejection. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "../../crypto/base64.h"
#include "../../crypto/modexp.h"
#include "../../crypto/sig.h"
#include "../common/vecfile.h"
#include "fixture.h"

/* Under valgrind the larger Wycheproof files are left out (the same code
 * paths as the 2048-bit ones, many times slower there). */

#define SENTINEL_LEN ((size_t)0xdead)

FX_SUITE_WITH_CTX(sig);

static esession_key *pem_key(const char *pem, size_t len)
{
    esession_key *k = NULL;
    cr_assert_eq(esession_key_from_pem(ctx, &k, pem, len), ESESSION_OK, "%s",
                 esession_ctx_error_detail(ctx));
    return k;
}

static uint8_t *hex(const char *h, size_t *len)
{
    uint8_t *b = vec_hex(h, len);
    cr_assert_not_null(b, "bad hex");
    return b;
}

static void verify_ok(const esession_key *k, const uint8_t *m, size_t n, const uint8_t *s,
                      size_t sl)
{
    esession_status rc = es_verify(ctx, k, m, n, s, sl);
    cr_assert_eq(rc, ESESSION_OK, "verify: %s (%s)", esession_status_name(rc),
                 esession_ctx_error_detail(ctx));
}

static void verify_bad(const esession_key *k, const uint8_t *m, size_t n, const uint8_t *s,
                       size_t sl)
{
    cr_assert_eq(es_verify(ctx, k, m, n, s, sl), ESESSION_ERR_BAD_SIGNATURE);
}

/* Flipped bits, a changed message and wrong lengths are all rejected;
 * sig itself verifies. */
static void reject_damage(const esession_key *k, const uint8_t *m, size_t n,
                          const uint8_t *sig, size_t sl)
{
    uint8_t s[ES_SIG_MAX_BYTES + 1];
    uint8_t *m2 = malloc(n + 1);
    cr_assert_not_null(m2);
    cr_assert(sl <= ES_SIG_MAX_BYTES);
    verify_ok(k, m, n, sig, sl);

    /* 17 positions spread over the signature, first and last bit included
     * (every bit would be slow under valgrind). */
    for (size_t i = 0; i <= 16; i++) {
        size_t bit = i * (8 * sl - 1) / 16;
        memcpy(s, sig, sl);
        s[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        verify_bad(k, m, n, s, sl);
    }

    if (n > 0) {
        memcpy(m2, m, n);
        m2[n - 1] ^= 0x01;
        verify_bad(k, m2, n, sig, sl);
        m2[n - 1] ^= 0x01;
        verify_bad(k, m2, n - 1, sig, sl); /* truncated message */
    }
    m2[n] = 0;
    if (n > 0)
        memcpy(m2, m, n);
    verify_bad(k, m2, n + 1, sig, sl); /* extended message */

    /* Lengths: one short, one long (valid prefix + 0), empty. */
    memcpy(s, sig, sl);
    s[sl] = 0;
    verify_bad(k, m, n, s, sl - 1);
    verify_bad(k, m, n, s, sl + 1);
    verify_bad(k, m, n, s, 0);
    verify_bad(k, m, n, NULL, 0);
    free(m2);
}

static void sign(const esession_key *k, const uint8_t *m, size_t n, uint8_t *sig, size_t *sl)
{
    esession_status rc = es_sign(ctx, k, m, n, sig, sl);
    cr_assert_eq(rc, ESESSION_OK, "sign: %s (%s)", esession_status_name(rc),
                 esession_ctx_error_detail(ctx));
}

/* ---- RFC 6979 A.2.2 (DSA 2048/256, SHA-256) ------------------------- */

static const char *b64_of_hex(const char *h, char *out)
{
    size_t n;
    uint8_t *b = hex(h, &n);
    size_t skip = 0;
    while (skip < n && b[skip] == 0)
        skip++;
    es_base64_encode(out, b + skip, n - skip);
    free(b);
    return out;
}

static esession_key *rfc6979_key(const vec_record *r)
{
    static char p[600], q[64], g[600], y[600];
    char xml[2048];
    esession_key *k = NULL;
    int n = snprintf(xml, sizeof xml,
                     "<KeyValue><DSAKeyValue><P>%s</P><Q>%s</Q><G>%s</G><Y>%s</Y>"
                     "</DSAKeyValue></KeyValue>",
                     b64_of_hex(vec_get(r, "p"), p), b64_of_hex(vec_get(r, "q"), q),
                     b64_of_hex(vec_get(r, "g"), g), b64_of_hex(vec_get(r, "y"), y));
    cr_assert(n > 0 && (size_t)n < sizeof xml);
    cr_assert_eq(esession_key_from_keyvalue(ctx, &k, xml, (size_t)n), ESESSION_OK, "%s",
                 esession_ctx_error_detail(ctx));
    cr_assert_eq(esession_key_bits(k), 2048u);
    return k;
}

Test(sig, rfc6979_dsa_2048_256)
{
    vec_file f;
    size_t checked = 0;
    cr_assert_eq(vec_file_load(&f, "vectors/dsa_2048_256_sha256_rfc6979.txt"), 0);
    cr_assert(f.count >= 3);
    esession_key *k = rfc6979_key(&f.records[0]);
    size_t qn;
    uint8_t *q = hex(vec_get(&f.records[0], "q"), &qn);
    cr_assert_eq(qn, 32u);

    for (size_t i = 1; i < f.count; i++) {
        size_t mn, sn, rn, ssn;
        uint8_t *m = hex(vec_get(&f.records[i], "msg"), &mn);
        uint8_t *sig = hex(vec_get(&f.records[i], "sig"), &sn);
        uint8_t *r = hex(vec_get(&f.records[i], "r"), &rn);
        uint8_t *s = hex(vec_get(&f.records[i], "s"), &ssn);
        cr_assert_eq(sn, 64u);
        cr_assert_arr_eq(sig, r, 32);
        cr_assert_arr_eq(sig + 32, s, 32);
        reject_damage(k, m, mn, sig, sn);

        /* r or s zero, equal to q, or all ones (> q). */
        uint8_t t[64];
        for (int half = 0; half < 2; half++) {
            memcpy(t, sig, 64);
            memset(t + 32 * half, 0, 32);
            verify_bad(k, m, mn, t, 64);
            memcpy(t + 32 * half, q, 32);
            verify_bad(k, m, mn, t, 64);
            memset(t + 32 * half, 0xff, 32);
            verify_bad(k, m, mn, t, 64);
        }
        /* s and r swapped. */
        memcpy(t, sig + 32, 32);
        memcpy(t + 32, sig, 32);
        verify_bad(k, m, mn, t, 64);

        free(m);
        free(sig);
        free(r);
        free(s);
        checked++;
    }
    cr_assert_eq(checked, 2u);
    free(q);
    esession_key_free(k);
    vec_file_free(&f);
}

/* ---- Wycheproof ------------------------------------------------------- */

static json_t *load_json(const char *path)
{
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    cr_assert_not_null(root, "%s: %s", path, err.text);
    return root;
}

static const char *jstr(const json_t *o, const char *name)
{
    const char *s = json_string_value(json_object_get(o, name));
    cr_assert_not_null(s, "JSON field %s", name);
    return s;
}

/* Verify every case: valid → OK, invalid → BAD_SIGNATURE, acceptable →
 * either. Returns the number of cases. */
static size_t wycheproof_verify(const char *path)
{
    json_t *root = load_json(path), *g, *t;
    size_t gi, ti, count = 0, valid = 0, invalid = 0;

    json_array_foreach(json_object_get(root, "testGroups"), gi, g) {
        cr_assert_str_eq(jstr(g, "sha"), "SHA-256");
        const char *pem = jstr(g, "publicKeyPem");
        esession_key *k = pem_key(pem, strlen(pem));
        json_array_foreach(json_object_get(g, "tests"), ti, t) {
            size_t mn, sn;
            uint8_t *m = hex(jstr(t, "msg"), &mn), *s = hex(jstr(t, "sig"), &sn);
            const char *result = jstr(t, "result");
            esession_status rc = es_verify(ctx, k, m, mn, s, sn);
            cr_assert(rc == ESESSION_OK || rc == ESESSION_ERR_BAD_SIGNATURE);
            if (strcmp(result, "valid") == 0) {
                cr_assert_eq(rc, ESESSION_OK, "%s tcId %lld", path,
                             (long long)json_integer_value(json_object_get(t, "tcId")));
                valid++;
            } else if (strcmp(result, "invalid") == 0) {
                cr_assert_eq(rc, ESESSION_ERR_BAD_SIGNATURE, "%s tcId %lld", path,
                             (long long)json_integer_value(json_object_get(t, "tcId")));
                invalid++;
            }
            free(m);
            free(s);
            count++;
        }
        esession_key_free(k);
    }
    json_decref(root);
    cr_assert_gt(valid, 0u);
    cr_assert_gt(invalid, 0u);
    return count;
}

Test(sig, wycheproof_verify)
{
    cr_assert_eq(wycheproof_verify("vectors/wycheproof/rsa_signature_2048_sha256_test.json"), 259u);
    cr_assert_eq(wycheproof_verify("vectors/wycheproof/dsa_2048_256_sha256_p1363_test.json"), 139u);
    if (RUNNING_ON_VALGRIND)
        return;
    cr_assert_eq(wycheproof_verify("vectors/wycheproof/rsa_signature_3072_sha256_test.json"), 259u);
    cr_assert_eq(wycheproof_verify("vectors/wycheproof/rsa_signature_4096_sha256_test.json"), 258u);
    cr_assert_eq(wycheproof_verify("vectors/wycheproof/dsa_3072_256_sha256_p1363_test.json"), 139u);
}

/* PKCS#8 DER (hex) as a PEM text. */
static char *pkcs8_pem(const char *der_hex, size_t *len)
{
    size_t dn;
    uint8_t *der = hex(der_hex, &dn);
    size_t bn = es_base64_encoded_len(dn);
    char *b64 = malloc(bn + 1), *pem = malloc(bn + bn / 64 + 64);
    cr_assert(b64 != NULL && pem != NULL);
    es_base64_encode(b64, der, dn);
    size_t n = (size_t)sprintf(pem, "-----BEGIN PRIVATE KEY-----\n");
    for (size_t i = 0; i < bn; i += 64) {
        size_t line = bn - i < 64 ? bn - i : 64;
        memcpy(pem + n, b64 + i, line);
        n += line;
        pem[n++] = '\n';
    }
    n += (size_t)sprintf(pem + n, "-----END PRIVATE KEY-----\n");
    *len = n;
    free(der);
    free(b64);
    return pem;
}

/* RSASSA-PKCS1-v1_5 is deterministic: es_sign reproduces the signatures. */
static size_t wycheproof_sign(const char *path)
{
    json_t *root = load_json(path), *g, *t;
    size_t gi, ti, count = 0;

    json_array_foreach(json_object_get(root, "testGroups"), gi, g) {
        if (strcmp(jstr(g, "sha"), "SHA-256") != 0)
            continue;
        size_t pl;
        char *pem = pkcs8_pem(jstr(g, "privateKeyPkcs8"), &pl);
        esession_key *k = pem_key(pem, pl);
        cr_assert(esession_key_has_private(k));
        json_array_foreach(json_object_get(g, "tests"), ti, t) {
            size_t mn, sn, got = 0;
            uint8_t *m = hex(jstr(t, "msg"), &mn), *want = hex(jstr(t, "sig"), &sn);
            uint8_t sig[ES_SIG_MAX_BYTES];
            sign(k, m, mn, sig, &got);
            cr_assert_eq(got, sn);
            cr_assert_arr_eq(sig, want, sn, "%s tcId %lld", path,
                             (long long)json_integer_value(json_object_get(t, "tcId")));
            verify_ok(k, m, mn, sig, got);
            free(m);
            free(want);
            count++;
        }
        esession_key_free(k);
        free(pem);
    }
    json_decref(root);
    return count;
}

Test(sig, wycheproof_rsa_pkcs1_sha256_sign)
{
    cr_assert_eq(wycheproof_sign("vectors/wycheproof/rsa_pkcs1_2048_sig_gen_test.json"), 10u);
    if (RUNNING_ON_VALGRIND)
        return;
    cr_assert_eq(wycheproof_sign("vectors/wycheproof/rsa_pkcs1_3072_sig_gen_test.json"), 9u);
    cr_assert_eq(wycheproof_sign("vectors/wycheproof/rsa_pkcs1_4096_sig_gen_test.json"), 8u);
}

/* ---- protocol vectors ------------------------------------------------- */

static uint8_t *b64dec(const char *text, size_t n, size_t *len)
{
    uint8_t *out = malloc(es_base64_decoded_max(n) + 1);
    cr_assert_not_null(out);
    cr_assert_eq(es_base64_decode(out, es_base64_decoded_max(n), len, text, n), ESESSION_OK);
    return out;
}

/* "<SignatureValue>b64</SignatureValue>" → the signature octets. */
static uint8_t *signature_value(const char *xml, size_t n, size_t *len)
{
    static const char open[] = "<SignatureValue>", close[] = "</SignatureValue>";
    cr_assert(n > sizeof open + sizeof close - 2);
    cr_assert_eq(memcmp(xml, open, sizeof open - 1), 0);
    cr_assert_eq(memcmp(xml + n - (sizeof close - 1), close, sizeof close - 1), 0);
    return b64dec(xml + sizeof open - 1, n - (sizeof open - 1) - (sizeof close - 1), len);
}

/* RSA: es_sign(macB) == signB exactly. */
static void check_signB(const json_t *group, const json_t *e)
{
    const char *pem = jstr(json_object_get(json_object_get(group, "bob"), "signKey"), "privatePem");
    esession_key *k = pem_key(pem, strlen(pem));
    size_t mn, sl = 0;
    uint8_t *mac = hex(jstr(e, "macB"), &mn), sig[ES_SIG_MAX_BYTES];
    const char *want = jstr(e, "signBXml");

    cr_assert_eq(esession_key_get_type(k), ESESSION_KEY_RSA);
    sign(k, mac, mn, sig, &sl);
    cr_assert_eq(sl, 256u);
    char *b64 = malloc(es_base64_encoded_len(sl) + 1);
    es_base64_encode(b64, sig, sl);
    size_t n = strlen(b64) + 33;
    char *xml = malloc(n + 1);
    sprintf(xml, "<SignatureValue>%s</SignatureValue>", b64);
    cr_assert_eq(strlen(want), n);
    cr_assert_str_eq(xml, want);
    reject_damage(k, mac, mn, sig, sl);
    free(xml);
    free(b64);
    free(mac);
    esession_key_free(k);
}

/* Alice's signs values over the normalized options form: RSA ones are
 * reproduced; every value in the published form verifies. */
static void check_signs(const json_t *group, const json_t *e)
{
    const char *form = jstr(e, "optionsFormNormalized");
    const char *xml = jstr(e, "optionsFormXml");
    const json_t *keys = json_object_get(json_object_get(group, "alice"), "signKeys");
    const json_t *expect = json_object_get(e, "signsB64");
    const char *v = strstr(xml, "<field var='signs'>");
    cr_assert_not_null(v);
    cr_assert_eq(json_array_size(keys), json_array_size(expect));

    for (size_t i = 0; i < json_array_size(keys); i++) {
        const char *pem = jstr(json_array_get(keys, i), "privatePem");
        esession_key *k = pem_key(pem, strlen(pem));
        /* The i-th <value> of the published signs field. */
        v = strstr(v, "<value>");
        cr_assert_not_null(v);
        v += 7;
        const char *end = strstr(v, "</value>");
        size_t sl, ol = 0;
        uint8_t *pub = b64dec(v, (size_t)(end - v), &sl), own[ES_SIG_MAX_BYTES];
        verify_ok(k, (const uint8_t *)form, strlen(form), pub, sl);

        const char *want = json_string_value(json_array_get(expect, i));
        sign(k, (const uint8_t *)form, strlen(form), own, &ol);
        verify_ok(k, (const uint8_t *)form, strlen(form), own, ol);
        if (esession_key_get_type(k) == ESESSION_KEY_RSA) {
            cr_assert_not_null(want);
            char *b64 = malloc(es_base64_encoded_len(ol) + 1);
            es_base64_encode(b64, own, ol);
            cr_assert_str_eq(b64, want);
            free(b64);
        } else {
            cr_assert_eq(sl, 64u);
            cr_assert_eq(ol, 64u);
        }
        free(pub);
        esession_key_free(k);
    }
}

/* DSA signB is randomized, so the vector has no signBXml: decrypt IDB
 * (AES-CTR under KC_B from C_B, PROFILE §4-5) and verify what Bob sent. */
static void check_dsa_identity(const json_t *group, const json_t *e)
{
    const char *pem = jstr(json_object_get(json_object_get(group, "bob"), "signKey"), "privatePem");
    esession_key *k = pem_key(pem, strlen(pem));
    size_t kn, cn, idn, mn;
    uint8_t *kc = hex(jstr(e, "KC_B"), &kn), *cb = hex(jstr(e, "C_B"), &cn);
    uint8_t *idb = hex(jstr(e, "IDB"), &idn), *mac = hex(jstr(e, "macB"), &mn);
    const char *kv = jstr(e, "pubKeyBXml");
    char *plain = malloc(idn + 1);
    int outl = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    const EVP_CIPHER *alg = kn == 16   ? EVP_aes_128_ctr()
                            : kn == 24 ? EVP_aes_192_ctr()
                                       : EVP_aes_256_ctr();

    cr_assert_eq(cn, 16u);
    cr_assert(c != NULL && plain != NULL);
    cr_assert_eq(EVP_EncryptInit_ex(c, alg, NULL, kc, cb), 1);
    cr_assert_eq(EVP_EncryptUpdate(c, (uint8_t *)plain, &outl, idb, (int)idn), 1);
    cr_assert_eq((size_t)outl, idn);
    plain[idn] = '\0';
    EVP_CIPHER_CTX_free(c);

    size_t kvl = strlen(kv), sl;
    cr_assert_eq(memcmp(plain, kv, kvl), 0, "IDB starts with pubKeyB");
    uint8_t *sig = signature_value(plain + kvl, idn - kvl, &sl);
    cr_assert_eq(esession_key_get_type(k), ESESSION_KEY_DSA);
    cr_assert_eq(sl, 64u);
    reject_damage(k, mac, mn, sig, sl);

    /* The public key from pubKeyB verifies it too. */
    esession_key *pub = NULL;
    cr_assert_eq(esession_key_from_keyvalue(ctx, &pub, kv, kvl), ESESSION_OK);
    verify_ok(pub, mac, mn, sig, sl);

    esession_key_free(pub);
    free(sig);
    free(plain);
    free(kc);
    free(cb);
    free(idb);
    free(mac);
    esession_key_free(k);
}

Test(sig, protocol_vectors)
{
    static const char *const files[] = {
        "vectors/esession/offline_session_rsa_modp14_aes128.json",
        "vectors/esession/offline_session_single_stanza.json",
        "vectors/esession/offline_session_match_resource_close.json",
        "vectors/esession/offline_session_dsa_modp5_aes256_rekey.json",
    };
    size_t rsa = 0, dsa = 0, signs = 0;
    for (size_t f = 0; f < ES_ARRAY_LEN(files); f++) {
        json_t *root = load_json(files[f]), *g, *t;
        size_t gi, ti;
        json_array_foreach(json_object_get(root, "testGroups"), gi, g) {
            json_array_foreach(json_object_get(g, "tests"), ti, t) {
                const json_t *e = json_object_get(t, "expected");
                if (json_object_get(e, "signBXml") != NULL) {
                    check_signB(g, e);
                    rsa++;
                } else {
                    check_dsa_identity(g, e);
                    dsa++;
                }
                check_signs(g, e);
                signs++;
            }
        }
        json_decref(root);
    }
    cr_assert_eq(rsa, 3u);
    cr_assert_eq(dsa, 1u);
    cr_assert_eq(signs, 4u);
}

/* ---- round trips and rejections ------------------------------------ */

static void round_trip(const char *name, size_t want_len)
{
    static const uint8_t msg[] = "an offline message to sign";
    uint8_t s1[ES_SIG_MAX_BYTES], s2[ES_SIG_MAX_BYTES];
    size_t l1 = 0, l2 = 0;
    esession_key *k = fx_key(ctx, name);

    sign(k, msg, sizeof msg - 1, s1, &l1);
    cr_assert_eq(l1, want_len, "%s signature length", name);
    reject_damage(k, msg, sizeof msg - 1, s1, l1);
    sign(k, msg, sizeof msg - 1, s2, &l2);
    cr_assert_eq(l2, l1);
    if (esession_key_get_type(k) == ESESSION_KEY_RSA)
        cr_assert_arr_eq(s1, s2, l1, "PKCS#1 v1.5 is deterministic");
    else
        cr_assert_arr_neq(s1, s2, l1, "DSA draws a fresh k");
    verify_ok(k, msg, sizeof msg - 1, s2, l2);

    /* The empty message. */
    sign(k, NULL, 0, s1, &l1);
    verify_ok(k, NULL, 0, s1, l1);
    verify_ok(k, (const uint8_t *)"", 0, s1, l1);
    verify_bad(k, msg, 1, s1, l1);
    esession_key_free(k);
}

Test(sig, round_trips)
{
    round_trip("rsa2048.pem", 256);
    round_trip("rsa3072.pem", 384);
    round_trip("dsa2048.pem", 64);
    round_trip("dsa3072.pem", 64);
}

static void public_key_verifies_private_signs(void)
{
    static const uint8_t msg[] = "m";
    uint8_t s[ES_SIG_MAX_BYTES];
    size_t l = SENTINEL_LEN;
    esession_key *priv = fx_key(ctx, "dsa2048.pem"), *pub = fx_key(ctx, "dsa2048_pub.pem");

    sign(priv, msg, 1, s, &l);
    verify_ok(pub, msg, 1, s, l);

    /* Signing with a public-only key is a state error; outputs untouched. */
    uint8_t before[ES_SIG_MAX_BYTES];
    memset(s, 0x77, sizeof s);
    memcpy(before, s, sizeof s);
    l = SENTINEL_LEN;
    cr_assert_eq(es_sign(ctx, pub, msg, 1, s, &l), ESESSION_ERR_STATE);
    cr_assert_eq(l, SENTINEL_LEN);
    cr_assert_arr_eq(s, before, sizeof s);
    esession_key_free(priv);
    esession_key_free(pub);
}

static void wrong_key_or_type(void)
{
    static const uint8_t msg[] = "m";
    uint8_t rs[ES_SIG_MAX_BYTES], ds[ES_SIG_MAX_BYTES], big[ES_SIG_MAX_BYTES] = {0};
    size_t rl = 0, dl = 0;
    esession_key *rsa = fx_key(ctx, "rsa2048.pem"), *rsa2 = fx_key(ctx, "vec_rsa_bob.pem");
    esession_key *dsa = fx_key(ctx, "dsa2048.pem"), *dsa2 = fx_key(ctx, "vec_dsa_bob.pem");

    sign(rsa, msg, 1, rs, &rl);
    sign(dsa, msg, 1, ds, &dl);
    /* Another key of the same type. */
    verify_bad(rsa2, msg, 1, rs, rl);
    verify_bad(dsa2, msg, 1, ds, dl);
    /* A signature of the other type (lengths 64 and 256). */
    verify_bad(rsa, msg, 1, ds, dl);
    verify_bad(dsa, msg, 1, rs, rl);
    /* A DSA signature padded to the RSA length. */
    memcpy(big, ds, dl);
    verify_bad(rsa, msg, 1, big, rl);
    /* The RSA signature's first 64 octets as r || s. */
    verify_bad(dsa, msg, 1, rs, 64);
    esession_key_free(rsa);
    esession_key_free(rsa2);
    esession_key_free(dsa);
    esession_key_free(dsa2);
}

static void null_arguments(void)
{
    uint8_t s[ES_SIG_MAX_BYTES];
    size_t l = SENTINEL_LEN;
    esession_key *k = fx_key(ctx, "rsa2048.pem");
    cr_assert_eq(es_sign(ctx, NULL, s, 1, s, &l), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_sign(ctx, k, NULL, 1, s, &l), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_sign(ctx, k, s, 1, NULL, &l), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_sign(ctx, k, s, 1, s, NULL), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(l, SENTINEL_LEN);
    cr_assert_eq(es_verify(ctx, NULL, s, 1, s, 1), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_verify(ctx, k, NULL, 1, s, 1), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_verify(ctx, k, s, 1, NULL, 1), ESESSION_ERR_INVALID_ARGUMENT);
    esession_key_free(k);
}

Test(sig, rejections)
{
    public_key_verifies_private_signs();
    wrong_key_or_type();
    null_arguments();
}

/* RSA verification through the context's kept verifiers: more keys than
 * it keeps, each key again after others pushed it out, a key freed while
 * kept, and the same verdicts without a context. */
Test(sig, kept_rsa_verifiers)
{
    enum { N = ES_VERIFIERS + 2 };
    esession_key *signer = fx_key(ctx, "vec_rsa_bob.pem");
    esession_key *same[N], *other = NULL;
    static const uint8_t msg[] = "macB of some session";
    uint8_t sig[ES_SIG_MAX_BYTES], bad[ES_SIG_MAX_BYTES];
    size_t sl = 0;
    cr_assert_eq(es_sign(ctx, signer, msg, sizeof msg, sig, &sl), ESESSION_OK);
    memcpy(bad, sig, sl);
    bad[sl / 2] ^= 1;
    /* Public keys, each its own OpenSSL key (a private one is not kept). */
    esession_buf pem = {NULL, 0, 0};
    cr_assert_eq(esession_key_to_pem(ctx, signer, 0, &pem), ESESSION_OK);
    for (size_t i = 0; i < N; i++)
        cr_assert_eq(esession_key_from_pem(ctx, &same[i], pem.data, pem.len), ESESSION_OK);
    esession_key *rsa = fx_key(ctx, "rsa2048.pem");
    esession_buf opem = {NULL, 0, 0};
    cr_assert_eq(esession_key_to_pem(ctx, rsa, 0, &opem), ESESSION_OK);
    cr_assert_eq(esession_key_from_pem(ctx, &other, opem.data, opem.len), ESESSION_OK);
    esession_buf_free(&opem);
    esession_key_free(rsa);
    /* And the signer itself, private: verified the usual way. */
    cr_assert_eq(es_verify(ctx, signer, msg, sizeof msg, sig, sl), ESESSION_OK);
    cr_assert_eq(es_verify(ctx, signer, msg, sizeof msg, bad, sl), ESESSION_ERR_BAD_SIGNATURE);
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < N; i++) {
            esession_ctx *c = round == 2 ? NULL : ctx;
            cr_assert_eq(es_verify(c, same[i], msg, sizeof msg, sig, sl), ESESSION_OK);
            cr_assert_eq(es_verify(c, same[i], msg, sizeof msg - 1, sig, sl),
                         ESESSION_ERR_BAD_SIGNATURE);
            cr_assert_eq(es_verify(c, same[i], msg, sizeof msg, bad, sl),
                         ESESSION_ERR_BAD_SIGNATURE);
            cr_assert_eq(es_verify(c, other, msg, sizeof msg, sig, sl),
                         ESESSION_ERR_BAD_SIGNATURE);
            cr_assert_eq(es_verify(c, same[i], msg, sizeof msg, sig, sl - 1),
                         ESESSION_ERR_BAD_SIGNATURE);
        }
    }
    esession_key_free(same[0]); /* kept by the context: still safe */
    cr_assert_eq(esession_key_from_pem(ctx, &same[0], pem.data, pem.len), ESESSION_OK);
    esession_buf_free(&pem);
    cr_assert_eq(es_verify(ctx, same[0], msg, sizeof msg, sig, sl), ESESSION_OK);
    for (size_t i = 0; i < N; i++)
        esession_key_free(same[i]);
    esession_key_free(other);
    esession_key_free(signer);
}
