/* SPDX-License-Identifier: ISC */
/* The normalized XML-DSig <KeyValue> of a signing key (PROFILE §5) and
 * its fingerprint. Parsing is an exact scanner for the one normalized
 * shape, not an XML parser: the input must equal its own re-encoding. */
#include "sig.h"

#include "base64.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <stdlib.h>
#include <string.h>

#define KV_MAX_PARTS 4
/* Largest integer written: an RSA-8192 modulus; DSA p is at most 3072 bits. */
#define KV_INT_MAX 1024

typedef struct kv_shape {
    esession_key_type type;
    const char *open;
    const char *close;
    size_t count;
    const char *tags[KV_MAX_PARTS];
    const char *params[KV_MAX_PARTS]; /* OpenSSL names of the integers */
} kv_shape;

static const kv_shape shapes[] = {
    {ESESSION_KEY_RSA, "<KeyValue><RSAKeyValue>", "</RSAKeyValue></KeyValue>", 2,
     {"Modulus", "Exponent"}, {OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E}},
    {ESESSION_KEY_DSA, "<KeyValue><DSAKeyValue>", "</DSAKeyValue></KeyValue>", 4,
     {"P", "Q", "G", "Y"},
     {OSSL_PKEY_PARAM_FFC_P, OSSL_PKEY_PARAM_FFC_Q, OSSL_PKEY_PARAM_FFC_G,
      OSSL_PKEY_PARAM_PUB_KEY}},
};

static const kv_shape *shape_of(esession_key_type type)
{
    for (size_t i = 0; i < ES_ARRAY_LEN(shapes); i++)
        if (shapes[i].type == type)
            return &shapes[i];
    return NULL;
}

static void free_ints(BIGNUM *v[KV_MAX_PARTS])
{
    for (size_t i = 0; i < KV_MAX_PARTS; i++) {
        BN_free(v[i]);
        v[i] = NULL;
    }
}

static char *put(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

/* <open><T1>b64</T1>...<close>, integers as base64(mpint). */
static esession_status kv_encode(const kv_shape *s, BIGNUM *const v[], esession_buf *out)
{
    uint8_t bin[KV_INT_MAX];
    size_t total = strlen(s->open) + strlen(s->close);
    esession_buf tmp;
    esession_status rc;

    for (size_t i = 0; i < s->count; i++) {
        size_t nb = (size_t)BN_num_bytes(v[i]);
        if (nb > sizeof bin)
            return ESESSION_ERR_INTERNAL;
        total += 2 * strlen(s->tags[i]) + 5 + es_base64_encoded_len(nb);
    }
    rc = es_buf_alloc(&tmp, total, 0);
    if (rc != ESESSION_OK)
        return rc;
    char *p = put(tmp.data, s->open);
    for (size_t i = 0; i < s->count; i++) {
        int nb = BN_bn2bin(v[i], bin); /* minimal big-endian; 0 is empty */
        *p++ = '<';
        p = put(p, s->tags[i]);
        *p++ = '>';
        es_base64_encode(p, bin, (size_t)nb);
        p += es_base64_encoded_len((size_t)nb);
        p = put(p, "</");
        p = put(p, s->tags[i]);
        *p++ = '>';
    }
    p = put(p, s->close);
    *p = '\0';
    *out = tmp;
    return ESESSION_OK;
}

static esession_status key_ints(const esession_key *key, const kv_shape *s, BIGNUM *v[])
{
    for (size_t i = 0; i < s->count; i++)
        if (EVP_PKEY_get_bn_param(key->pkey, s->params[i], &v[i]) != 1 || v[i] == NULL)
            return ESESSION_ERR_INTERNAL;
    return ESESSION_OK;
}

esession_status es_key_keyvalue_encode(const esession_key *key, esession_buf *out)
{
    BIGNUM *v[KV_MAX_PARTS] = {NULL};
    const kv_shape *s = shape_of(key->type);
    if (s == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    ERR_set_mark();
    esession_status rc = key_ints(key, s, v);
    if (rc == ESESSION_OK)
        rc = kv_encode(s, v, out);
    ERR_pop_to_mark();
    free_ints(v);
    return rc;
}

esession_status esession_key_to_keyvalue(esession_ctx *ctx, const esession_key *key,
                                         esession_buf *out)
{
    es_clear_detail(ctx);
    if (key == NULL || out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL argument");
    if (key->kv.data == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "unknown key type");
    if (es_buf_set(out, key->kv.data, key->kv.len, 0) != ESESSION_OK)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "cannot encode the key as <KeyValue>");
    return ESESSION_OK;
}

/* Match the literal lit at *pos. */
static int expect(const char *xml, size_t len, size_t *pos, const char *lit)
{
    size_t n = strlen(lit);
    if (len - *pos < n || memcmp(xml + *pos, lit, n) != 0)
        return 0;
    *pos += n;
    return 1;
}

static int expect_tag(const char *xml, size_t len, size_t *pos, const char *close, const char *tag)
{
    return expect(xml, len, pos, close ? "</" : "<") && expect(xml, len, pos, tag) &&
           expect(xml, len, pos, ">");
}

/* One integer: canonical base64 (what the encoder writes, no whitespace)
 * of a minimal mpint. */
static esession_status read_int(const char *text, size_t n, BIGNUM **out)
{
    size_t cap = es_base64_decoded_max(n), got = 0;
    uint8_t *bin = malloc(cap);
    char *again = NULL;
    esession_status rc = ESESSION_ERR_MALFORMED;

    if (bin == NULL)
        return ESESSION_ERR_NO_MEMORY;
    if (es_base64_decode(bin, cap, &got, text, n) != ESESSION_OK)
        goto out;
    if (got > 0 && bin[0] == 0)
        goto out; /* non-minimal mpint */
    if (es_base64_encoded_len(got) != n)
        goto out; /* whitespace or line breaks inside */
    again = malloc(n + 1);
    if (again == NULL) {
        rc = ESESSION_ERR_NO_MEMORY;
        goto out;
    }
    es_base64_encode(again, bin, got);
    if (memcmp(again, text, n) != 0)
        goto out;
    *out = BN_bin2bn(bin, (int)got, NULL);
    rc = *out != NULL ? ESESSION_OK : ESESSION_ERR_NO_MEMORY;
out:
    free(again);
    free(bin);
    return rc;
}

/* Scan xml as exactly s's shape; the integers go to v. */
static esession_status kv_scan(const kv_shape *s, const char *xml, size_t len, BIGNUM *v[])
{
    size_t pos = 0;
    esession_status rc;

    if (!expect(xml, len, &pos, s->open))
        return ESESSION_ERR_MALFORMED;
    for (size_t i = 0; i < s->count; i++) {
        if (!expect_tag(xml, len, &pos, NULL, s->tags[i]))
            return ESESSION_ERR_MALFORMED;
        const char *lt = memchr(xml + pos, '<', len - pos);
        if (lt == NULL)
            return ESESSION_ERR_MALFORMED;
        size_t n = (size_t)(lt - (xml + pos));
        rc = read_int(xml + pos, n, &v[i]);
        if (rc != ESESSION_OK)
            return rc;
        pos += n;
        if (!expect_tag(xml, len, &pos, "/", s->tags[i]))
            return ESESSION_ERR_MALFORMED;
    }
    if (!expect(xml, len, &pos, s->close) || pos != len)
        return ESESSION_ERR_MALFORMED;
    return ESESSION_OK;
}

/* A public key from the scanned integers; BAD_KEY if OpenSSL refuses. */
static EVP_PKEY *build_pkey(const kv_shape *s, BIGNUM *const v[])
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pc = NULL;
    EVP_PKEY *pkey = NULL;
    int ok = bld != NULL;

    for (size_t i = 0; ok && i < s->count; i++)
        ok = OSSL_PARAM_BLD_push_BN(bld, s->params[i], v[i]) == 1;
    if (ok)
        params = OSSL_PARAM_BLD_to_param(bld);
    if (params != NULL)
        pc = EVP_PKEY_CTX_new_from_name(NULL, s->type == ESESSION_KEY_RSA ? "RSA" : "DSA", NULL);
    if (pc == NULL || EVP_PKEY_fromdata_init(pc) != 1 ||
        EVP_PKEY_fromdata(pc, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(pc);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

static esession_status from_keyvalue(esession_ctx *ctx, esession_key **out,
                                     const char *xml, size_t len)
{
    BIGNUM *v[KV_MAX_PARTS] = {NULL};
    const kv_shape *s = NULL;
    esession_key *k = NULL;
    EVP_PKEY *pkey;
    esession_status rc;

    for (size_t i = 0; i < ES_ARRAY_LEN(shapes); i++) {
        size_t n = strlen(shapes[i].open);
        if (len >= n && memcmp(xml, shapes[i].open, n) == 0)
            s = &shapes[i];
    }
    if (s == NULL)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "not a normalized RSA or DSA <KeyValue>");
    rc = kv_scan(s, xml, len, v);
    if (rc != ESESSION_OK) {
        es_fail(ctx, rc, rc == ESESSION_ERR_MALFORMED ? "<KeyValue> is not in normalized form"
                                                      : "out of memory");
        goto out;
    }
    pkey = build_pkey(s, v);
    if (pkey == NULL) {
        rc = es_fail(ctx, ESESSION_ERR_BAD_KEY, "OpenSSL refused the <KeyValue> integers");
        goto out;
    }
    rc = es_key_wrap(ctx, &k, pkey);
    if (rc != ESESSION_OK) {
        EVP_PKEY_free(pkey);
        goto out;
    }
    /* The scanner admits only canonical text; say so once more, bytewise,
     * against the re-encoding es_key_wrap made. */
    if (k->kv.len != len || memcmp(k->kv.data, xml, len) != 0)
        rc = es_fail(ctx, ESESSION_ERR_MALFORMED, "<KeyValue> differs from its re-encoding");
    if (rc != ESESSION_OK) {
        esession_key_free(k);
        goto out;
    }
    *out = k;
out:
    free_ints(v);
    return rc;
}

esession_status esession_key_from_keyvalue(esession_ctx *ctx, esession_key **out,
                                           const char *xml, size_t len)
{
    esession_status rc;

    es_clear_detail(ctx);
    if (out == NULL || (xml == NULL && len > 0))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL argument");
    if (len > ES_KEYVALUE_MAX)
        return es_fail(ctx, ESESSION_ERR_LIMIT, "<KeyValue> longer than %d octets",
                       ES_KEYVALUE_MAX);
    if (len == 0)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "empty <KeyValue>");
    ERR_set_mark();
    rc = from_keyvalue(ctx, out, xml, len);
    ERR_pop_to_mark();
    return rc;
}

esession_status esession_key_fingerprint(esession_ctx *ctx, const esession_key *key,
                                         uint8_t out[ESESSION_FINGERPRINT_BYTES])
{
    es_clear_detail(ctx);
    if (key == NULL || out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL argument");
    if (key->kv.data == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "unknown key type");
    /* SHA-256 of the normalized <KeyValue>, made when the key was wrapped. */
    if (key->has_fp)
        memcpy(out, key->fp, ESESSION_FINGERPRINT_BYTES);
    else
        crypto_hash_sha256(out, (const uint8_t *)key->kv.data, key->kv.len);
    return ESESSION_OK;
}
