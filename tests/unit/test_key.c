/* SPDX-License-Identifier: ISC */
/* Signing keys: PEM import/export, the PROFILE §5 limits, generation. */
#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "../../crypto/sig.h"
#include "../common/vecfile.h"
#include "fixture.h"

/* RSA key generation costs about a minute under valgrind: that run skips
 * it (natively and under ASan it always runs). */

#define SENTINEL ((esession_key *)(uintptr_t)0x5a5a)

FX_SUITE_WITH_CTX(key);

/* Import text and expect rc; on failure *out stays as it was. */
static esession_key *import_text(const char *text, size_t len, esession_status rc)
{
    esession_key *k = SENTINEL;
    esession_status got = esession_key_from_pem(ctx, &k, text, len);
    cr_assert_eq(got, rc, "from_pem: %s (%s), want %s", esession_status_name(got),
                 esession_ctx_error_detail(ctx), esession_status_name(rc));
    if (rc != ESESSION_OK) {
        cr_assert_eq(k, SENTINEL, "output touched on failure");
        cr_assert_str_neq(esession_ctx_error_detail(ctx), "");
        return NULL;
    }
    cr_assert_neq(k, SENTINEL);
    return k;
}

static esession_key *import(const char *name, esession_status rc)
{
    size_t len;
    char *text = fx_data(name, &len);
    esession_key *k = import_text(text, len, rc);
    free(text);
    return k;
}

static void expect_key(const char *name, esession_key_type type, unsigned bits, int priv)
{
    esession_key *k = import(name, ESESSION_OK);
    cr_assert_eq(esession_key_get_type(k), type, "%s type", name);
    cr_assert_eq(esession_key_bits(k), bits, "%s bits", name);
    cr_assert_eq(esession_key_has_private(k), priv, "%s private", name);
    esession_key_free(k);
}

static void accepted_fixtures(void)
{
    expect_key("rsa2048.pem", ESESSION_KEY_RSA, 2048, 1);
    expect_key("rsa2048_pub.pem", ESESSION_KEY_RSA, 2048, 0);
    expect_key("rsa3072.pem", ESESSION_KEY_RSA, 3072, 1);
    expect_key("rsa8192_pub.pem", ESESSION_KEY_RSA, 8192, 0);
    expect_key("dsa2048.pem", ESESSION_KEY_DSA, 2048, 1);
    expect_key("dsa2048_pub.pem", ESESSION_KEY_DSA, 2048, 0);
    expect_key("dsa3072.pem", ESESSION_KEY_DSA, 3072, 1);
}

static void protocol_vector_keys(void)
{
    expect_key("vec_rsa_bob.pem", ESESSION_KEY_RSA, 2048, 1);
    expect_key("vec_rsa_alice.pem", ESESSION_KEY_RSA, 2048, 1);
    expect_key("vec_dsa_bob.pem", ESESSION_KEY_DSA, 2048, 1);
    expect_key("vec_dsa_alice.pem", ESESSION_KEY_DSA, 2048, 1);
}

static void limits_reject_parsed_keys(void)
{
    static const char *const bad[] = {
        "rsa1024.pem",      /* below 2048 */
        "rsa2047.pem",      /* one bit short */
        "rsa8200_pub.pem",  /* above 8192 */
        "dsa1024_160.pem",  /* (1024, 160) */
        "dsa2048_224.pem",  /* N = 224 */
        "ec_p256.pem",      /* other key types */
        "ec_p256_pub.pem",
        "ed25519.pem",
        "rsapss2048.pem",   /* RSA-PSS key, not rsaEncryption */
    };
    for (size_t i = 0; i < ES_ARRAY_LEN(bad); i++)
        import(bad[i], ESESSION_ERR_BAD_KEY);
}

static char *concat(const char *a, size_t an, const char *b, size_t bn, size_t *len)
{
    char *s = malloc(an + bn + 1);
    cr_assert_not_null(s);
    memcpy(s, a, an);
    memcpy(s + an, b, bn);
    s[an + bn] = '\0';
    *len = an + bn;
    return s;
}

static void encrypted_and_other_pem_types(void)
{
    import("rsa2048_enc.pem", ESESSION_ERR_BAD_PEM);       /* ENCRYPTED PRIVATE KEY */
    import("rsa2048_pkcs1.pem", ESESSION_ERR_BAD_PEM);     /* RSA PRIVATE KEY */
    import("rsa2048_pkcs1_enc.pem", ESESSION_ERR_BAD_PEM); /* Proc-Type: 4,ENCRYPTED */

    /* RFC 1421 headers on a PKCS#8 block: refused, whatever they say. */
    size_t len, hl;
    char *pem = fx_data("rsa2048.pem", &len);
    static const char hdr[] = "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,"
                              "0EEB2BE016B42623D1E2972685C2DBB9\n\n";
    const char *body = strchr(pem, '\n') + 1;
    char *with = concat(pem, (size_t)(body - pem), hdr, strlen(hdr), &hl);
    char *full = concat(with, hl, body, len - (size_t)(body - pem), &hl);
    import_text(full, hl, ESESSION_ERR_BAD_PEM);
    free(full);
    free(with);
    free(pem);
}

static void import_concat(const char *a, size_t an, const char *b, esession_status rc)
{
    size_t len;
    char *s = concat(a, an, b, strlen(b), &len);
    esession_key_free(import_text(s, len, rc));
    free(s);
}

static void surrounding_text(void)
{
    size_t len;
    char *pem = fx_data("rsa2048_pub.pem", &len);

    import_concat(pem, len, "\n \t\r\n", ESESSION_OK);  /* trailing whitespace */
    import_concat("\n  ", 3, pem, ESESSION_OK);          /* leading whitespace */
    import_concat(pem, len, "junk\n", ESESSION_ERR_BAD_PEM);
    import_concat("junk\n", 5, pem, ESESSION_ERR_BAD_PEM);
    import_concat(pem, len, pem, ESESSION_ERR_BAD_PEM);  /* two blocks */
    import_text(pem, len + 1, ESESSION_ERR_BAD_PEM);     /* the NUL counted */
    free(pem);
}

static void truncated_pem(void)
{
    size_t len;
    char *pem = fx_data("rsa2048.pem", &len);
    /* Every cut inside the block fails (a cut in the trailing newline is
     * still a whole block). */
    for (size_t cut = 0; cut + 1 < len; cut += 7)
        import_text(pem, cut, ESESSION_ERR_BAD_PEM);
    import_text(pem, len - 2, ESESSION_ERR_BAD_PEM);
    esession_key_free(import_text(pem, len - 1, ESESSION_OK)); /* no final newline */
    free(pem);
}

static void damaged_pem(void)
{
    static const char *const texts[] = {
        "garbage",
        "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",          /* not DER */
        "-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n",      /* empty SEQUENCE */
        "-----BEGIN PUBLIC KEY-----\nM*A=\n-----END PUBLIC KEY-----\n",          /* not base64 */
        "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PUBLIC KEY-----\n",         /* labels differ */
        "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
    };
    for (size_t i = 0; i < ES_ARRAY_LEN(texts); i++)
        import_text(texts[i], strlen(texts[i]), ESESSION_ERR_BAD_PEM);
    import_text("", 0, ESESSION_ERR_BAD_PEM);
}

/* Swap the label: SPKI DER under "PRIVATE KEY" and PKCS#8 under "PUBLIC KEY". */
static void relabel(const char *name, const char *from, const char *to)
{
    size_t len;
    char *pem = fx_data(name, &len);
    char out[8192];
    const char *b64 = strchr(pem, '\n') + 1;
    const char *end = strstr(pem, "-----END");
    int n = snprintf(out, sizeof out, "-----BEGIN %s-----\n%.*s-----END %s-----\n", to,
                     (int)(end - b64), b64, to);
    cr_assert(n > 0 && (size_t)n < sizeof out);
    cr_assert_not_null(strstr(pem, from));
    import_text(out, (size_t)n, ESESSION_ERR_BAD_PEM);
    free(pem);
}

static void wrong_label_for_contents(void)
{
    relabel("rsa2048_pub.pem", "PUBLIC KEY", "PRIVATE KEY");
    relabel("rsa2048.pem", "PRIVATE KEY", "PUBLIC KEY");
}

/* A valid DER key followed by two more DER octets inside the base64. */
static void trailing_octets(const char *name, const char *label)
{
    size_t len, n = 0;
    char *pem = fx_data(name, &len);
    char b64[4096], out[8192];
    unsigned char der[4096], b64out[8192];
    for (const char *p = strchr(pem, '\n') + 1; p < strstr(pem, "-----END"); p++)
        if (*p != '\n')
            b64[n++] = *p;
    int dn = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)n);
    cr_assert(dn > 4 && der[0] == 0x30 && der[1] == 0x82);
    /* DecodeBlock keeps pad octets; the true length is in the header. */
    dn = 4 + ((der[2] << 8) | der[3]);
    der[dn] = 0x05;
    der[dn + 1] = 0x00;
    cr_assert(EVP_EncodeBlock(b64out, der, dn + 2) > 0);
    int m = snprintf(out, sizeof out, "-----BEGIN %s-----\n%s\n-----END %s-----\n", label,
                     (const char *)b64out, label);
    cr_assert(m > 0 && (size_t)m < sizeof out);
    import_text(out, (size_t)m, ESESSION_ERR_BAD_PEM);
    /* The same without the extra octets imports: the test sees the cause. */
    cr_assert(EVP_EncodeBlock(b64out, der, dn) > 0);
    m = snprintf(out, sizeof out, "-----BEGIN %s-----\n%s\n-----END %s-----\n", label,
                 (const char *)b64out, label);
    esession_key_free(import_text(out, (size_t)m, ESESSION_OK));
    free(pem);
}

static void der_with_trailing_octets(void)
{
    trailing_octets("rsa2048_pub.pem", "PUBLIC KEY");
    trailing_octets("rsa2048.pem", "PRIVATE KEY");
    trailing_octets("dsa2048.pem", "PRIVATE KEY");
}

static void crlf_line_ends(void)
{
    size_t len, n = 0;
    char *pem = fx_data("dsa2048_pub.pem", &len);
    char *crlf = malloc(2 * len + 1);
    cr_assert_not_null(crlf);
    for (size_t i = 0; i < len; i++) {
        if (pem[i] == '\n')
            crlf[n++] = '\r';
        crlf[n++] = pem[i];
    }
    esession_key_free(import_text(crlf, n, ESESSION_OK));
    free(crlf);
    free(pem);
}

static void length_bound_and_arguments(void)
{
    size_t big = 16385;
    char *text = malloc(big);
    cr_assert_not_null(text);
    memset(text, ' ', big);
    import_text(text, big, ESESSION_ERR_LIMIT);
    free(text);

    esession_key *k = SENTINEL;
    cr_assert_eq(esession_key_from_pem(ctx, NULL, "x", 1), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_key_from_pem(ctx, &k, NULL, 5), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(k, SENTINEL);
}

static esession_buf export(const esession_key *k, int priv)
{
    esession_buf b = {NULL, 0, 0};
    cr_assert_eq(esession_key_to_pem(ctx, k, priv, &b), ESESSION_OK);
    cr_assert_eq(strlen(b.data), b.len);
    cr_assert_eq(b.secret, priv ? 1u : 0u);
    return b;
}

static void round_trip(const char *priv_name, const char *pub_name)
{
    size_t publen;
    char *pubfile = fx_data(pub_name, &publen);
    esession_key *k = import(priv_name, ESESSION_OK);

    /* Public export equals the openssl command line's SPKI PEM. */
    esession_buf pub = export(k, 0);
    cr_assert_eq(pub.len, publen);
    cr_assert_arr_eq(pub.data, pubfile, publen);

    /* Private export is PKCS#8 and imports to the same key. */
    esession_buf priv = export(k, 1);
    cr_assert_eq(strncmp(priv.data, "-----BEGIN PRIVATE KEY-----\n", 28), 0);
    esession_key *k2 = import_text(priv.data, priv.len, ESESSION_OK);
    cr_assert(esession_key_has_private(k2));
    esession_buf priv2 = export(k2, 1), pub2 = export(k2, 0);
    cr_assert_eq(priv2.len, priv.len);
    cr_assert_arr_eq(priv2.data, priv.data, priv.len);
    cr_assert_arr_eq(pub2.data, pub.data, pub.len);

    /* Public import, public export: the same text; no private part. */
    esession_key *k3 = import_text(pub.data, pub.len, ESESSION_OK);
    esession_buf pub3 = export(k3, 0), none = {NULL, 0, 0};
    cr_assert_arr_eq(pub3.data, pub.data, pub.len);
    cr_assert_eq(esession_key_to_pem(ctx, k3, 1, &none), ESESSION_ERR_STATE);
    cr_assert_null(none.data);

    esession_buf_free(&pub);
    esession_buf_free(&priv);
    esession_buf_free(&priv2);
    esession_buf_free(&pub2);
    esession_buf_free(&pub3);
    esession_key_free(k);
    esession_key_free(k2);
    esession_key_free(k3);
    free(pubfile);
}

Test(key, pem_round_trips)
{
    round_trip("rsa2048.pem", "rsa2048_pub.pem");
    round_trip("dsa2048.pem", "dsa2048_pub.pem");
}

static void to_pem_arguments(void)
{
    esession_buf b = {NULL, 0, 0};
    esession_key *k = import("rsa2048_pub.pem", ESESSION_OK);
    cr_assert_eq(esession_key_to_pem(ctx, NULL, 0, &b), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_key_to_pem(ctx, k, 0, NULL), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_null(b.data);
    esession_key_free(k);
}

static void accessors_on_null(void)
{
    cr_assert_eq((int)esession_key_get_type(NULL), 0);
    cr_assert_eq(esession_key_bits(NULL), 0u);
    cr_assert_eq(esession_key_has_private(NULL), 0);
    esession_key_free(NULL);
}

static void sign_alg_names(void)
{
    esession_key_type t = (esession_key_type)0;
    cr_assert_str_eq(es_key_sign_alg(ESESSION_KEY_RSA),
                     "http://www.w3.org/2000/09/xmldsig#rsa-sha256");
    cr_assert_str_eq(es_key_sign_alg(ESESSION_KEY_DSA),
                     "http://www.w3.org/2000/09/xmldsig#dsa-sha256");
    cr_assert_null(es_key_sign_alg((esession_key_type)9));
    cr_assert_eq(es_key_type_for_alg(ES_SIGN_ALG_DSA, strlen(ES_SIGN_ALG_DSA), &t), ESESSION_OK);
    cr_assert_eq(t, ESESSION_KEY_DSA);
    cr_assert_eq(es_key_type_for_alg(ES_SIGN_ALG_RSA, strlen(ES_SIGN_ALG_RSA), &t), ESESSION_OK);
    cr_assert_eq(t, ESESSION_KEY_RSA);
    /* Exact match only: a prefix, a longer text or the SHA-1 names fail. */
    t = (esession_key_type)0;
    cr_assert_eq(es_key_type_for_alg(ES_SIGN_ALG_RSA, strlen(ES_SIGN_ALG_RSA) - 1, &t),
                 ESESSION_ERR_UNSUPPORTED);
    cr_assert_eq(es_key_type_for_alg("http://www.w3.org/2000/09/xmldsig#rsa-sha1", 42, &t),
                 ESESSION_ERR_UNSUPPORTED);
    cr_assert_eq(es_key_type_for_alg("http://www.w3.org/2000/09/xmldsig#dsa-sha256 ", 46, &t),
                 ESESSION_ERR_UNSUPPORTED);
    cr_assert_eq((int)t, 0);
    cr_assert_eq(es_key_type_for_alg(NULL, 0, &t), ESESSION_ERR_INVALID_ARGUMENT);
}

static void wrap_rejects_and_keeps_ownership(void)
{
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    esession_key *k = SENTINEL;
    cr_assert_not_null(ec);
    cr_assert_eq(es_key_wrap(ctx, &k, ec), ESESSION_ERR_BAD_KEY);
    cr_assert_eq(k, SENTINEL);
    /* Still ours: freeing it is no double free (ASan/valgrind watch). */
    EVP_PKEY_free(ec);
    cr_assert_eq(es_key_wrap(ctx, NULL, NULL), ESESSION_ERR_INVALID_ARGUMENT);
}

static void generate_rejects_sizes(void)
{
    static const unsigned rsa_bad[] = {0, 1024, 2040, 2047, 2049, 2052, 8200, 16384};
    static const unsigned dsa_bad[] = {0, 1024, 2047, 2049, 4096};
    esession_key *k = SENTINEL;
    for (size_t i = 0; i < ES_ARRAY_LEN(rsa_bad); i++)
        cr_assert_eq(esession_key_generate(ctx, &k, ESESSION_KEY_RSA, rsa_bad[i]),
                     ESESSION_ERR_UNSUPPORTED, "RSA %u", rsa_bad[i]);
    for (size_t i = 0; i < ES_ARRAY_LEN(dsa_bad); i++)
        cr_assert_eq(esession_key_generate(ctx, &k, ESESSION_KEY_DSA, dsa_bad[i]),
                     ESESSION_ERR_UNSUPPORTED, "DSA %u", dsa_bad[i]);
    cr_assert_eq(esession_key_generate(ctx, &k, (esession_key_type)7, 2048),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_key_generate(ctx, NULL, ESESSION_KEY_RSA, 2048),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(k, SENTINEL);
}

Test(key, accepted_keys)
{
    accepted_fixtures();
    protocol_vector_keys();
}

Test(key, rejected_keys)
{
    limits_reject_parsed_keys();
    encrypted_and_other_pem_types();
}

Test(key, pem_text)
{
    surrounding_text();
    truncated_pem();
    damaged_pem();
    wrong_label_for_contents();
    der_with_trailing_octets();
    crlf_line_ends();
}

Test(key, arguments_and_helpers)
{
    length_bound_and_arguments();
    to_pem_arguments();
    accessors_on_null();
    sign_alg_names();
    wrap_rejects_and_keeps_ownership();
    generate_rejects_sizes();
}

/* The one key generated in the unit tests (RSA key generation is slow,
 * more so under valgrind). */
Test(key, generate_rsa_2048)
{
    if (RUNNING_ON_VALGRIND)
        cr_skip_test("RSA key generation is not run under valgrind");
    esession_key *k = NULL;
    uint8_t sig[ES_SIG_MAX_BYTES];
    size_t siglen = 0;
    static const uint8_t msg[] = "generated";

    cr_assert_eq(esession_key_generate(ctx, &k, ESESSION_KEY_RSA, 2048), ESESSION_OK);
    cr_assert_eq(esession_key_get_type(k), ESESSION_KEY_RSA);
    cr_assert_eq(esession_key_bits(k), 2048u);
    cr_assert(esession_key_has_private(k));

    cr_assert_eq(es_sign(ctx, k, msg, sizeof msg, sig, &siglen), ESESSION_OK);
    cr_assert_eq(siglen, 256u);
    cr_assert_eq(es_verify(ctx, k, msg, sizeof msg, sig, siglen), ESESSION_OK);

    /* e = 65537 shows in the KeyValue exponent. */
    esession_buf kv = {NULL, 0, 0};
    cr_assert_eq(esession_key_to_keyvalue(ctx, k, &kv), ESESSION_OK);
    cr_assert_not_null(strstr(kv.data, "<Exponent>AQAB</Exponent>"));
    esession_buf_free(&kv);

    esession_buf priv = export(k, 1);
    esession_key *k2 = import_text(priv.data, priv.len, ESESSION_OK);
    cr_assert_eq(es_verify(ctx, k2, msg, sizeof msg, sig, siglen), ESESSION_OK);
    esession_buf_free(&priv);
    esession_key_free(k2);
    esession_key_free(k);
}

/* DSA domain-parameter generation takes seconds natively and minutes under
 * valgrind: run with ESESSION_SLOW_TESTS=1. */
Test(key, generate_dsa_2048_slow)
{
    if (getenv("ESESSION_SLOW_TESTS") == NULL)
        cr_skip_test("set ESESSION_SLOW_TESTS=1 to run DSA parameter generation");
    esession_key *k = NULL;
    uint8_t sig[ES_SIG_MAX_BYTES];
    size_t siglen = 0;
    cr_assert_eq(esession_key_generate(ctx, &k, ESESSION_KEY_DSA, 2048), ESESSION_OK);
    cr_assert_eq(esession_key_get_type(k), ESESSION_KEY_DSA);
    cr_assert_eq(esession_key_bits(k), 2048u);
    cr_assert(esession_key_has_private(k));
    cr_assert_eq(es_sign(ctx, k, (const uint8_t *)"m", 1, sig, &siglen), ESESSION_OK);
    cr_assert_eq(siglen, 64u);
    cr_assert_eq(es_verify(ctx, k, (const uint8_t *)"m", 1, sig, siglen), ESESSION_OK);
    esession_key_free(k);
}
