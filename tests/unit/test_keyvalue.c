/* SPDX-License-Identifier: ISC */
/* The normalized <KeyValue> (PROFILE §5): protocol vectors, strict
 * parsing, key limits, fingerprints. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <stdlib.h>
#include <string.h>

#include "../../crypto/base64.h"
#include "../../crypto/sig.h"
#include "../common/vecfile.h"
#include "fixture.h"

#define SENTINEL ((esession_key *)(uintptr_t)0x5a5a)

FX_SUITE_WITH_CTX(keyvalue);

static esession_key *pem_key(const char *pem)
{
    esession_key *k = NULL;
    cr_assert_eq(esession_key_from_pem(ctx, &k, pem, strlen(pem)), ESESSION_OK, "%s",
                 esession_ctx_error_detail(ctx));
    return k;
}

static esession_key *parse(const char *xml, size_t len, esession_status rc)
{
    esession_key *k = SENTINEL;
    esession_status got = esession_key_from_keyvalue(ctx, &k, xml, len);
    cr_assert_eq(got, rc, "from_keyvalue: %s (%s), want %s\n%.*s", esession_status_name(got),
                 esession_ctx_error_detail(ctx), esession_status_name(rc), (int)len, xml);
    if (rc != ESESSION_OK) {
        cr_assert_eq(k, SENTINEL, "output touched on failure");
        return NULL;
    }
    cr_assert_eq(esession_key_has_private(k), 0);
    return k;
}

static void parse_str(const char *xml, esession_status rc)
{
    esession_key_free(parse(xml, strlen(xml), rc));
}

static esession_buf keyvalue(const esession_key *k)
{
    esession_buf b = {NULL, 0, 0};
    cr_assert_eq(esession_key_to_keyvalue(ctx, k, &b), ESESSION_OK);
    cr_assert_eq(strlen(b.data), b.len);
    cr_assert_eq(b.secret, 0u);
    return b;
}

static void fingerprint(const esession_key *k, uint8_t fp[ESESSION_FINGERPRINT_BYTES])
{
    cr_assert_eq(esession_key_fingerprint(ctx, k, fp), ESESSION_OK);
}

/* Bob's key in the session vectors gives exactly expected.pubKeyBXml; the
 * parsed KeyValue gives the same text, fingerprint and SPKI back. */
static size_t check_vector_file(const char *path)
{
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    size_t checked = 0, gi, ti;
    json_t *group, *test;
    cr_assert_not_null(root, "%s: %s", path, err.text);

    json_array_foreach(json_object_get(root, "testGroups"), gi, group) {
        const json_t *bob = json_object_get(group, "bob");
        const char *pem = json_string_value(
            json_object_get(json_object_get(bob, "signKey"), "privatePem"));
        cr_assert_not_null(pem, "%s: bob.signKey.privatePem", path);
        esession_key *k = pem_key(pem);
        esession_buf kv = keyvalue(k);
        json_array_foreach(json_object_get(group, "tests"), ti, test) {
            const char *want = json_string_value(
                json_object_get(json_object_get(test, "expected"), "pubKeyBXml"));
            cr_assert_not_null(want);
            cr_assert_eq(kv.len, strlen(want), "%s: pubKeyBXml length", path);
            cr_assert_arr_eq(kv.data, want, kv.len, "%s: pubKeyBXml", path);

            esession_key *pub = parse(want, strlen(want), ESESSION_OK);
            esession_buf kv2 = keyvalue(pub);
            cr_assert_arr_eq(kv2.data, want, kv.len);
            uint8_t f1[32], f2[32];
            fingerprint(k, f1);
            fingerprint(pub, f2);
            cr_assert_arr_eq(f1, f2, 32);
            esession_buf p1 = {NULL, 0, 0}, p2 = {NULL, 0, 0};
            cr_assert_eq(esession_key_to_pem(ctx, k, 0, &p1), ESESSION_OK);
            cr_assert_eq(esession_key_to_pem(ctx, pub, 0, &p2), ESESSION_OK);
            cr_assert_eq(p1.len, p2.len);
            cr_assert_arr_eq(p1.data, p2.data, p1.len);
            esession_buf_free(&p1);
            esession_buf_free(&p2);
            esession_buf_free(&kv2);
            esession_key_free(pub);
            checked++;
        }
        esession_buf_free(&kv);
        esession_key_free(k);
    }
    json_decref(root);
    return checked;
}

static void protocol_vectors_pubKeyB(void)
{
    static const char *const files[] = {
        "vectors/esession/offline_session_rsa_modp14_aes128.json",
        "vectors/esession/offline_session_dsa_modp5_aes256_rekey.json",
        "vectors/esession/offline_session_single_stanza.json",
        "vectors/esession/offline_session_match_resource_close.json",
    };
    for (size_t i = 0; i < ES_ARRAY_LEN(files); i++)
        cr_assert_gt(check_vector_file(files[i]), 0u, "%s has no test", files[i]);
}

static void hex_to(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        cr_assert_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

/* SHA-256 of the pubKeyBXml texts, computed outside the library. */
static void fingerprint_known_answers(void)
{
    static const struct {
        const char *pem;
        const char *sha256;
    } cases[] = {
        {"vec_rsa_bob.pem", "78db1fbce2dfe8b805988ddc11c06e9e4cd3fadae44434e727766d3e9dfb065f"},
        {"vec_dsa_bob.pem", "35d462e16353c8005731319afd3be3852e7be29167bfbc1d3a373f55cceaf112"},
    };
    for (size_t i = 0; i < ES_ARRAY_LEN(cases); i++) {
        uint8_t want[32], got[32];
        hex_to(cases[i].sha256, want, 32);
        esession_key *k = fx_key(ctx, cases[i].pem);
        fingerprint(k, got);
        cr_assert_arr_eq(got, want, 32, "%s", cases[i].pem);
        esession_key_free(k);
    }
}

static void round_trip_fixtures(void)
{
    static const char *const names[] = {"rsa2048_pub.pem", "rsa8192_pub.pem", "dsa2048.pem",
                                        "dsa3072.pem", "vec_dsa_alice.pem", "vec_rsa_alice.pem"};
    for (size_t i = 0; i < ES_ARRAY_LEN(names); i++) {
        esession_key *k = fx_key(ctx, names[i]);
        esession_buf kv = keyvalue(k);
        cr_assert(kv.len < ES_KEYVALUE_MAX);
        esession_key *pub = parse(kv.data, kv.len, ESESSION_OK);
        cr_assert_eq(esession_key_get_type(pub), esession_key_get_type(k));
        cr_assert_eq(esession_key_bits(pub), esession_key_bits(k));
        esession_buf kv2 = keyvalue(pub);
        cr_assert_eq(kv2.len, kv.len);
        cr_assert_arr_eq(kv2.data, kv.data, kv.len);
        esession_buf_free(&kv);
        esession_buf_free(&kv2);
        esession_key_free(pub);
        esession_key_free(k);
    }
}

/* Replace the first occurrence of from in base; a fresh string. */
static char *replace(const char *base, const char *from, const char *to)
{
    const char *at = strstr(base, from);
    cr_assert_not_null(at, "'%s' not in the base text", from);
    size_t pre = (size_t)(at - base), fl = strlen(from), tl = strlen(to);
    size_t n = strlen(base) - fl + tl;
    char *s = malloc(n + 1);
    cr_assert_not_null(s);
    memcpy(s, base, pre);
    memcpy(s + pre, to, tl);
    strcpy(s + pre + tl, at + fl);
    return s;
}

static void mutate(const char *base, const char *from, const char *to, esession_status rc)
{
    char *s = replace(base, from, to);
    parse_str(s, rc);
    free(s);
}

static char *rsa_base(void)
{
    esession_key *k = fx_key(ctx, "rsa2048_pub.pem");
    esession_buf kv = keyvalue(k);
    esession_key_free(k);
    char *s = strdup(kv.data);
    esession_buf_free(&kv);
    cr_assert_not_null(s);
    return s;
}

static void malformed_rsa(void)
{
    char *b = rsa_base();
    cr_assert_not_null(strstr(b, "<Exponent>AQAB</Exponent></RSAKeyValue></KeyValue>"));
    parse_str(b, ESESSION_OK);

    static const char *const muts[][2] = {
        {"<KeyValue>", "<KeyValue xmlns=\"http://www.w3.org/2000/09/xmldsig#\">"},
        {"<KeyValue>", "<KeyValue xmlns='http://www.w3.org/2000/09/xmldsig#'>"},
        {"<KeyValue>", "<ds:KeyValue>"},
        {"<KeyValue>", "<?xml version=\"1.0\"?><KeyValue>"},
        {"<KeyValue>", " <KeyValue>"},
        {"<KeyValue>", "<KeyValue >"},
        {"<RSAKeyValue>", "<RSAKeyValue a=\"1\">"},
        {"<RSAKeyValue>", "\n<RSAKeyValue>"},
        {"</Modulus><Exponent>", "</Modulus>\n<Exponent>"},
        {"</Modulus><Exponent>", "</Modulus> <Exponent>"},
        {"<Exponent>AQAB", "<Exponent> AQAB"},
        {"AQAB</Exponent>", "AQAB\n</Exponent>"},
        {"AQAB</Exponent>", "AQAB\r\n</Exponent>"},
        {"<Exponent>AQAB", "<Exponent>AAEAAQ=="},             /* 00 01 00 01: non-minimal */
        {"<Exponent>AQAB", "<Exponent>AQA*"},                 /* not base64 */
        {"<Exponent>AQAB", "<Exponent>AQF="},                 /* non-zero trailing bits */
        {"<Exponent>AQAB", "<Exponent>AQE"},                  /* missing padding */
        {"<Exponent>AQAB", "<Exponent>AQAB="},
        {"<Exponent>AQAB", "<Exponent>AQ==AB"},
        {"<Exponent>AQAB", "<Exponent>&#65;QAB"},             /* entity */
        {"<Exponent>AQAB</Exponent>", "<Exponent><![CDATA[AQAB]]></Exponent>"},
        {"<Exponent>AQAB</Exponent>", "<Exponent/>"},
        {"<Exponent>AQAB</Exponent>", ""},                    /* missing element */
        {"<Exponent>AQAB</Exponent>", "<Exponent>AQAB</Exponent><Exponent>AQAB</Exponent>"},
        {"</Exponent>", "</Exponent><Extra></Extra>"},
        {"<Exponent>AQAB</Exponent>", "<exponent>AQAB</exponent>"},
        {"<Exponent>AQAB</Exponent>", "<Exponent>AQAB</exponent>"},
        {"</KeyValue>", "</KeyValue>\n"},
        {"</KeyValue>", "</KeyValue><x/>"},
        {"</KeyValue>", "</KeyValue >"},
        {"</RSAKeyValue></KeyValue>", "</RSAKeyValue>"},
        {"<RSAKeyValue>", "<DSAKeyValue>"},
        {"<Modulus>", "<P>"},
    };
    for (size_t i = 0; i < ES_ARRAY_LEN(muts); i++)
        mutate(b, muts[i][0], muts[i][1], ESESSION_ERR_MALFORMED);

    /* Modulus broken into base64 lines. */
    char *at = strstr(b, "<Modulus>") + 9 + 76;
    char *lines = malloc(strlen(b) + 2);
    cr_assert_not_null(lines);
    memcpy(lines, b, (size_t)(at - b));
    lines[at - b] = '\n';
    strcpy(lines + (at - b) + 1, at);
    parse_str(lines, ESESSION_ERR_MALFORMED);
    free(lines);

    /* Modulus and exponent swapped. */
    const char *mod = strstr(b, "<Modulus>"), *exp = strstr(b, "<Exponent>");
    const char *end = strstr(b, "</RSAKeyValue>");
    char swapped[2048];
    int n = snprintf(swapped, sizeof swapped,
                     "<KeyValue><RSAKeyValue>%.*s%.*s</RSAKeyValue></KeyValue>",
                     (int)(end - exp), exp, (int)(exp - mod), mod);
    cr_assert(n > 0 && (size_t)n < sizeof swapped);
    parse_str(swapped, ESESSION_ERR_MALFORMED);
    free(b);
}

/* Every prefix, every one-octet deletion and every inserted space fails. */
static void exhaustive_damage(void)
{
    char *b = rsa_base();
    size_t len = strlen(b);
    char *s = malloc(len + 2);
    cr_assert_not_null(s);

    for (size_t i = 0; i < len; i++)
        parse(b, i, ESESSION_ERR_MALFORMED);
    for (size_t i = 0; i < len; i++) {
        memcpy(s, b, i);
        memcpy(s + i, b + i + 1, len - i - 1);
        parse(s, len - 1, ESESSION_ERR_MALFORMED);
    }
    for (size_t i = 0; i <= len; i++) {
        memcpy(s, b, i);
        s[i] = ' ';
        memcpy(s + i + 1, b + i, len - i);
        parse(s, len + 1, ESESSION_ERR_MALFORMED);
    }
    /* An embedded NUL, and the terminating NUL counted in the length. */
    memcpy(s, b, len + 1);
    s[len / 2] = '\0';
    parse(s, len, ESESSION_ERR_MALFORMED);
    parse(b, len + 1, ESESSION_ERR_MALFORMED);
    free(s);
    free(b);
}

/* RFC 6979 A.2.2 domain parameters and public key. */
static const char rfc_p[] =
    "9db6fb5951b66bb6fe1e140f1d2ce5502374161fd6538df1648218642f0b5c48c8f7a41aadfa1873"
    "24b87674fa1822b00f1ecf8136943d7c55757264e5a1a44ffe012e9936e00c1d3e9310b01c7d1798"
    "05d3058b2a9f4bb6f9716bfe6117c6b5b3cc4d9be341104ad4a80ad6c94e005f4b993e14f091eb51"
    "743bf33050c38de235567e1b34c3d6a5c0ceaa1a0f368213c3d19843d0b4b09dcb9fc72d39c8de41"
    "f1bf14d4bb4563ca28371621cad3324b6a2d392145bebfac748805236f5ca2fe92b871cd8f9c36d3"
    "292b5509ca8caa77a2adfc7bfd77dda6f71125a7456fea153e433256a2261c6a06ed3693797e7995"
    "fad5aabbcfbe3eda2741e375404ae25b";
static const char rfc_q[] = "f2c3119374ce76c9356990b465374a17f23f9ed35089bd969f61c6dde9998c1f";
static const char rfc_g[] =
    "5c7ff6b06f8f143fe8288433493e4769c4d988ace5be25a0e24809670716c613d7b0cee6932f8faa"
    "7c44d2cb24523da53fbe4f6ec3595892d1aa58c4328a06c46a15662e7eaa703a1decf8bbb2d05dbe"
    "2eb956c142a338661d10461c0d135472085057f3494309ffa73c611f78b32adbb5740c361c9f35be"
    "90997db2014e2ef5aa61782f52abeb8bd6432c4dd097bc5423b285dafb60dc364e8161f4a2a35aca"
    "3a10b1c4d203cc76a470a33afdcbdd92959859abd8b56e1725252d78eac66e71ba9ae3f1dd248719"
    "9874393cd4d832186800654760e1e34c09e4d155179f9ec0dc4473f996bdce6eed1cabed8b6f116f"
    "7ad9cf505df0f998e34ab27514b0ffe7";
static const char rfc_y[] =
    "667098c654426c78d7f8201eac6c203ef030d43605032c2f1fa937e5237dbd949f34a0a2564fe126"
    "dc8b715c5141802ce0979c8246463c40e6b6bdaa2513fa611728716c2e4fd53bc95b89e69949d965"
    "12e873b9c8f8dfd499cc312882561adecb31f658e934c0c197f2c4d96b05cbad67381e7b768891e4"
    "da3843d24d94cdfb5126e9b8bf21e8358ee0e0a30ef13fd6a664c0dce3731f7fb49a4845a4fd8254"
    "687972a2d382599c9bac4e0ed7998193078913032558134976410b89d2c171d123ac35fd97721959"
    "7aa7d15c1a9a428e59194f75c721ebcbcfae44696a499afa74e04299f132026601638cb87ab79190"
    "d4a0986315da8eec6561c938996beadf";

/* <KeyValue> text from big-endian hex integers (normalized: minimal). */
static char *kv_hex(esession_key_type type, const char *const hex[])
{
    static const char *const rsa_tags[] = {"Modulus", "Exponent"};
    static const char *const dsa_tags[] = {"P", "Q", "G", "Y"};
    const char *const *tags = type == ESESSION_KEY_RSA ? rsa_tags : dsa_tags;
    size_t count = type == ESESSION_KEY_RSA ? 2 : 4;
    char *out = malloc(ES_KEYVALUE_MAX + 1);
    size_t n;
    cr_assert_not_null(out);

    n = (size_t)sprintf(out, "<KeyValue><%sKeyValue>", type == ESESSION_KEY_RSA ? "RSA" : "DSA");
    for (size_t i = 0; i < count; i++) {
        BIGNUM *v = NULL;
        uint8_t bin[8192];
        cr_assert(strlen(hex[i]) <= 2 * sizeof bin);
        if (hex[i][0] != '\0')
            cr_assert(BN_hex2bn(&v, hex[i]) > 0);
        int len = v != NULL ? BN_bn2bin(v, bin) : 0;
        BN_free(v);
        n += (size_t)sprintf(out + n, "<%s>", tags[i]);
        es_base64_encode(out + n, bin, (size_t)len);
        n += strlen(out + n);
        n += (size_t)sprintf(out + n, "</%s>", tags[i]);
    }
    sprintf(out + n, "</%sKeyValue></KeyValue>", type == ESESSION_KEY_RSA ? "RSA" : "DSA");
    return out;
}

static void expect_hex(esession_key_type type, const char *const hex[], esession_status rc)
{
    char *xml = kv_hex(type, hex);
    parse_str(xml, rc);
    free(xml);
}

static void rsa_hex(const char *n, const char *e, esession_status rc)
{
    const char *const v[] = {n, e};
    expect_hex(ESESSION_KEY_RSA, v, rc);
}

static void dsa_hex(const char *p, const char *q, const char *g, const char *y, esession_status rc)
{
    const char *const v[] = {p, q, g, y};
    expect_hex(ESESSION_KEY_DSA, v, rc);
}

/* A string of n hex digits: first digit lead, then f's, last digit last. */
static char *hexnum(char lead, size_t n, char last)
{
    char *s = malloc(n + 1);
    cr_assert_not_null(s);
    memset(s, 'f', n);
    s[0] = lead;
    s[n - 1] = last;
    s[n] = '\0';
    return s;
}

static void rsa_limits(void)
{
    char *n2048 = hexnum('8', 512, '1');       /* 2048 bits, odd */
    char *n2047 = hexnum('4', 512, '1');       /* 2047 bits */
    char *n8192 = hexnum('8', 2048, 'f');
    char *n8193 = hexnum('1', 2049, 'f');
    char *n8200 = hexnum('8', 2050, 'f');
    char *even = hexnum('8', 512, '2');

    rsa_hex(n2048, "010001", ESESSION_OK);
    rsa_hex(n8192, "03", ESESSION_OK);
    rsa_hex(n2047, "010001", ESESSION_ERR_BAD_KEY);
    rsa_hex(n8193, "010001", ESESSION_ERR_BAD_KEY);
    rsa_hex(n8200, "010001", ESESSION_ERR_BAD_KEY);
    rsa_hex("c5", "03", ESESSION_ERR_BAD_KEY);
    rsa_hex(even, "010001", ESESSION_ERR_BAD_KEY);
    rsa_hex(n2048, "01", ESESSION_ERR_BAD_KEY);
    rsa_hex(n2048, "010000", ESESSION_ERR_BAD_KEY);
    rsa_hex(n2048, "", ESESSION_ERR_BAD_KEY);
    rsa_hex("", "010001", ESESSION_ERR_BAD_KEY);
    rsa_hex(n2048, n2048, ESESSION_ERR_BAD_KEY);
    free(n2048);
    free(n2047);
    free(n8192);
    free(n8193);
    free(n8200);
    free(even);
}

static char *bn_hex_op(const char *a, long add)
{
    BIGNUM *v = NULL;
    cr_assert(BN_hex2bn(&v, a) > 0);
    cr_assert(add >= 0 ? BN_add_word(v, (BN_ULONG)add) : BN_sub_word(v, (BN_ULONG)-add));
    char *h = BN_bn2hex(v);
    char *s = strdup(h);
    OPENSSL_free(h);
    BN_free(v);
    return s;
}

static void dsa_limits(void)
{
    char *p_minus_1 = bn_hex_op(rfc_p, -1);
    char *q_plus_2 = bn_hex_op(rfc_q, 2);
    char *p1024 = hexnum('8', 256, 'f');
    const char *q160 = "f2c3119374ce76c9356990b465374a17f23f9ed3";

    dsa_hex(rfc_p, rfc_q, rfc_g, rfc_y, ESESSION_OK);
    /* Wrong sizes. */
    dsa_hex(rfc_p, q160, rfc_g, rfc_y, ESESSION_ERR_BAD_KEY);
    dsa_hex(p1024, rfc_q, rfc_g, rfc_y, ESESSION_ERR_BAD_KEY);
    /* q not a divisor of p - 1. */
    dsa_hex(rfc_p, q_plus_2, rfc_g, rfc_y, ESESSION_ERR_BAD_KEY);
    /* Degenerate or out-of-subgroup g and y. */
    dsa_hex(rfc_p, rfc_q, "01", rfc_y, ESESSION_ERR_BAD_KEY);
    dsa_hex(rfc_p, rfc_q, "", rfc_y, ESESSION_ERR_BAD_KEY);
    dsa_hex(rfc_p, rfc_q, p_minus_1, rfc_y, ESESSION_ERR_BAD_KEY);
    dsa_hex(rfc_p, rfc_q, rfc_g, "01", ESESSION_ERR_BAD_KEY);
    dsa_hex(rfc_p, rfc_q, rfc_g, "02", ESESSION_ERR_BAD_KEY);
    dsa_hex(rfc_p, rfc_q, rfc_g, p_minus_1, ESESSION_ERR_BAD_KEY);
    dsa_hex(rfc_p, rfc_q, rfc_g, rfc_p, ESESSION_ERR_BAD_KEY);
    dsa_hex(rfc_p, rfc_q, rfc_g, "", ESESSION_ERR_BAD_KEY);
    free(p_minus_1);
    free(q_plus_2);
    free(p1024);
}

static void malformed_dsa(void)
{
    char *b = kv_hex(ESESSION_KEY_DSA, (const char *const[]){rfc_p, rfc_q, rfc_g, rfc_y});
    parse_str(b, ESESSION_OK);
    /* Optional XML-DSig parts (J, Seed, PgenCounter) are not normalized. */
    mutate(b, "</Y>", "</Y><J>AQ==</J>", ESESSION_ERR_MALFORMED);
    mutate(b, "</Y>", "</Y><Seed>AQ==</Seed><PgenCounter>AQ==</PgenCounter>",
           ESESSION_ERR_MALFORMED);
    mutate(b, "<DSAKeyValue>", "<DSAKeyValue xmlns=\"\">", ESESSION_ERR_MALFORMED);
    mutate(b, "<P>", "<P>AA", ESESSION_ERR_MALFORMED);
    mutate(b, "<Q>", "<Q>AAAA", ESESSION_ERR_MALFORMED); /* leading zero octets */
    mutate(b, "</Q><G>", "</Q> <G>", ESESSION_ERR_MALFORMED);
    mutate(b, "<KeyValue><DSAKeyValue>", "<KeyValue><RSAKeyValue>", ESESSION_ERR_MALFORMED);
    /* Q and G swapped. */
    const char *q = strstr(b, "<Q>"), *g = strstr(b, "<G>"), *y = strstr(b, "<Y>");
    char *sw = malloc(strlen(b) + 1);
    cr_assert_not_null(sw);
    size_t n = (size_t)(q - b);
    memcpy(sw, b, n);
    memcpy(sw + n, g, (size_t)(y - g));
    n += (size_t)(y - g);
    memcpy(sw + n, q, (size_t)(g - q));
    n += (size_t)(g - q);
    strcpy(sw + n, y);
    parse_str(sw, ESESSION_ERR_MALFORMED);
    free(sw);
    free(b);
}

Test(keyvalue, length_bound_and_arguments)
{
    char *big = malloc(ES_KEYVALUE_MAX + 1);
    cr_assert_not_null(big);
    memset(big, 'A', ES_KEYVALUE_MAX + 1);
    parse(big, ES_KEYVALUE_MAX + 1, ESESSION_ERR_LIMIT);
    parse(big, ES_KEYVALUE_MAX, ESESSION_ERR_MALFORMED);
    /* Well-formed but longer than the bound: a limit, not a key check. */
    char *huge = hexnum('8', 24700, 'f');
    char *xml = malloc(2 * ES_KEYVALUE_MAX);
    cr_assert_not_null(xml);
    BIGNUM *v = NULL;
    cr_assert(BN_hex2bn(&v, huge) > 0);
    uint8_t *bin = malloc((size_t)BN_num_bytes(v));
    int bl = BN_bn2bin(v, bin);
    char *b64 = malloc(es_base64_encoded_len((size_t)bl) + 1);
    es_base64_encode(b64, bin, (size_t)bl);
    int n = snprintf(xml, 2 * ES_KEYVALUE_MAX,
                     "<KeyValue><RSAKeyValue><Modulus>%s</Modulus><Exponent>AQAB</Exponent>"
                     "</RSAKeyValue></KeyValue>", b64);
    cr_assert(n > ES_KEYVALUE_MAX && n < 2 * ES_KEYVALUE_MAX);
    parse(xml, (size_t)n, ESESSION_ERR_LIMIT);
    BN_free(v);
    free(bin);
    free(b64);
    free(xml);
    free(huge);
    free(big);

    /* Well-formed, within the bound, far too large a modulus. */
    char *n36000 = hexnum('8', 9000, 'f');
    rsa_hex(n36000, "010001", ESESSION_ERR_BAD_KEY);
    free(n36000);

    esession_key *k = SENTINEL;
    parse("", 0, ESESSION_ERR_MALFORMED);
    cr_assert_eq(esession_key_from_keyvalue(ctx, NULL, "<KeyValue>", 10),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_key_from_keyvalue(ctx, &k, NULL, 10), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(k, SENTINEL);

    esession_buf kv = {NULL, 0, 0};
    uint8_t fp[32] = {0}, zero[32] = {0};
    esession_key *key = fx_key(ctx, "rsa2048_pub.pem");
    cr_assert_eq(esession_key_to_keyvalue(ctx, NULL, &kv), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_key_to_keyvalue(ctx, key, NULL), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_null(kv.data);
    cr_assert_eq(esession_key_fingerprint(ctx, NULL, fp), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_key_fingerprint(ctx, key, NULL), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_arr_eq(fp, zero, 32);
    esession_key_free(key);
}

static void private_and_public_share_fingerprint(void)
{
    esession_key *priv = fx_key(ctx, "dsa2048.pem"), *pub = fx_key(ctx, "dsa2048_pub.pem");
    esession_key *other = fx_key(ctx, "dsa3072.pem");
    uint8_t a[32], b[32], c[32];
    fingerprint(priv, a);
    fingerprint(pub, b);
    fingerprint(other, c);
    cr_assert_arr_eq(a, b, 32);
    cr_assert_arr_neq(a, c, 32);
    esession_key_free(priv);
    esession_key_free(pub);
    esession_key_free(other);
}

Test(keyvalue, vectors_and_fingerprints)
{
    protocol_vectors_pubKeyB();
    fingerprint_known_answers();
    round_trip_fixtures();
    private_and_public_share_fingerprint();
}

Test(keyvalue, malformed)
{
    malformed_rsa();
    malformed_dsa();
    exhaustive_damage();
}

Test(keyvalue, key_limits)
{
    rsa_limits();
    dsa_limits();
}

/* The fingerprint kept from wrapping is SHA-256 of the <KeyValue>, for a
 * key and for a second handle on it. */
Test(keyvalue, kept_fingerprint_is_the_hash_of_the_keyvalue)
{
    esession_key *k = fx_key(ctx, "vec_rsa_bob.pem"), *d = NULL;
    uint8_t want[32], fp[ESESSION_FINGERPRINT_BYTES];
    esession_buf kv = { 0 };
    cr_assert_eq(esession_key_to_keyvalue(ctx, k, &kv), ESESSION_OK);
    crypto_hash_sha256(want, (const uint8_t *)kv.data, kv.len);
    cr_assert_eq(esession_key_fingerprint(ctx, k, fp), ESESSION_OK);
    cr_assert_eq(memcmp(fp, want, sizeof want), 0);
    cr_assert_eq(es_key_dup(ctx, k, &d), ESESSION_OK);
    memset(fp, 0, sizeof fp);
    cr_assert_eq(esession_key_fingerprint(ctx, d, fp), ESESSION_OK);
    cr_assert_eq(memcmp(fp, want, sizeof want), 0);
    esession_buf_free(&kv);
    esession_key_free(d);
    esession_key_free(k);
}
