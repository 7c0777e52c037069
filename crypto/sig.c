/* SPDX-License-Identifier: ISC */
/* SIG of PROFILE §5: rsa-sha256 (RSASSA-PKCS1-v1_5, RFC 8017) and
 * dsa-sha256 (FIPS 186-4, r || s as in XML-DSig 1.1), SHA-256 inside the
 * scheme whatever the protocol HASH. DSA signing draws k from OpenSSL's
 * generator: OpenSSL 3.0 offers no RFC 6979 deterministic nonces, so DSA
 * signatures differ from call to call (each still verifies). */
#include "sig.h"

#include "hash.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/dsa.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <string.h>

#define DSA_HALF (ES_DSA_SIG_BYTES / 2)

static const uint8_t empty_msg[1];

/* A digest-sign or digest-verify context over SHA-256 for key. */
static EVP_MD_CTX *start(const esession_key *key, int sign)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    int ok;

    if (md == NULL)
        return NULL;
    if (sign)
        ok = EVP_DigestSignInit_ex(md, &pc, "SHA256", NULL, NULL, key->pkey, NULL) == 1;
    else
        ok = EVP_DigestVerifyInit_ex(md, &pc, "SHA256", NULL, NULL, key->pkey, NULL) == 1;
    if (ok && key->type == ESESSION_KEY_RSA)
        ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1;
    if (!ok) {
        EVP_MD_CTX_free(md);
        return NULL;
    }
    return md;
}

/* DER SEQUENCE { r, s } from OpenSSL to fixed-width r || s. */
static int der_to_rs(const uint8_t *der, size_t len, uint8_t rs[ES_DSA_SIG_BYTES])
{
    const unsigned char *p = der;
    const BIGNUM *r = NULL, *s = NULL;
    DSA_SIG *ds = d2i_DSA_SIG(NULL, &p, (long)len);
    int ok = ds != NULL && p == der + len;

    if (ok) {
        DSA_SIG_get0(ds, &r, &s);
        ok = BN_bn2binpad(r, rs, DSA_HALF) == DSA_HALF &&
             BN_bn2binpad(s, rs + DSA_HALF, DSA_HALF) == DSA_HALF;
    }
    DSA_SIG_free(ds);
    return ok;
}

esession_status es_sign(esession_ctx *ctx, const esession_key *key,
                        const uint8_t *msg, size_t n, uint8_t *sig, size_t *siglen)
{
    uint8_t buf[ES_SIG_MAX_BYTES], rs[ES_DSA_SIG_BYTES];
    size_t len = sizeof buf;
    EVP_MD_CTX *md;
    esession_status rc = ESESSION_ERR_INTERNAL;

    if (key == NULL || sig == NULL || siglen == NULL || (msg == NULL && n > 0))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL argument");
    if (!key->has_private)
        return es_fail(ctx, ESESSION_ERR_STATE, "signing needs the private key");
    if (msg == NULL)
        msg = empty_msg;

    ERR_set_mark();
    md = start(key, 1);
    if (md == NULL || EVP_DigestSign(md, buf, &len, msg, n) != 1) {
        es_fail(ctx, rc, "OpenSSL signing failed%s", es_secure_heap_hint());
    } else if (key->type == ESESSION_KEY_RSA) {
        /* PKCS#1 v1.5 output is always k octets, leading zeros kept. */
        if (len == (size_t)EVP_PKEY_get_size(key->pkey)) {
            memcpy(sig, buf, len);
            *siglen = len;
            rc = ESESSION_OK;
        } else {
            es_fail(ctx, rc, "RSA signature of unexpected length");
        }
    } else if (der_to_rs(buf, len, rs)) {
        memcpy(sig, rs, sizeof rs);
        *siglen = sizeof rs;
        rc = ESESSION_OK;
    } else {
        es_fail(ctx, rc, "DSA signature not convertible to r || s");
    }
    EVP_MD_CTX_free(md);
    ERR_pop_to_mark();
    return rc;
}

/* r || s to DER, after the range check 0 < r, s < q. NULL if out of range. */
static uint8_t *rs_to_der(const esession_key *key, const uint8_t *rs, int *derlen)
{
    BIGNUM *q = NULL;
    BIGNUM *r = BN_bin2bn(rs, DSA_HALF, NULL), *s = BN_bin2bn(rs + DSA_HALF, DSA_HALF, NULL);
    DSA_SIG *ds = NULL;
    uint8_t *der = NULL;

    if (r == NULL || s == NULL ||
        EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_FFC_Q, &q) != 1 || BN_is_zero(r) ||
        BN_is_zero(s) || BN_cmp(r, q) >= 0 || BN_cmp(s, q) >= 0)
        goto out;
    ds = DSA_SIG_new();
    if (ds == NULL || DSA_SIG_set0(ds, r, s) != 1)
        goto out;
    r = s = NULL; /* owned by ds now */
    *derlen = i2d_DSA_SIG(ds, &der);
    if (*derlen <= 0) {
        OPENSSL_free(der);
        der = NULL;
    }
out:
    DSA_SIG_free(ds);
    BN_free(q);
    BN_free(r);
    BN_free(s);
    return der;
}

esession_status es_verify(esession_ctx *ctx, const esession_key *key,
                          const uint8_t *msg, size_t n, const uint8_t *sig, size_t siglen)
{
    uint8_t *der = NULL;
    const uint8_t *s = sig;
    int derlen = 0, ok = 0, done = 0;
    size_t slen = siglen;
    EVP_MD_CTX *md = NULL;

    if (key == NULL || (sig == NULL && siglen > 0) || (msg == NULL && n > 0))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL argument");
    if (msg == NULL)
        msg = empty_msg;

    ERR_set_mark();
    if (key->type == ESESSION_KEY_RSA) {
        ok = siglen == (size_t)EVP_PKEY_get_size(key->pkey);
        /* The context's verifier for this key, set up once: SHA-256 of
         * msg checked against the signature's DigestInfo, as
         * EVP_DigestVerify does. Only for public keys: a kept verifier
         * keeps its key, and a private key must go when it is freed. */
        EVP_PKEY_CTX *v =
            ok && !key->has_private ? es_ctx_rsa_verifier(ctx, key->pkey) : NULL;
        if (v != NULL) {
            uint8_t h[32];
            ok = es_hash_in(ctx, ES_HASH_SHA256, msg, n, h) == ESESSION_OK &&
                 EVP_PKEY_verify(v, sig, siglen, h, sizeof h) == 1;
            done = 1;
        }
    } else {
        ok = siglen == ES_DSA_SIG_BYTES && (der = rs_to_der(key, sig, &derlen)) != NULL;
        s = der;
        slen = (size_t)derlen;
    }
    if (ok && !done) {
        md = start(key, 0);
        ok = md != NULL && EVP_DigestVerify(md, s, slen, msg, n) == 1;
    }
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ERR_pop_to_mark();
    if (!ok)
        return es_fail(ctx, ESESSION_ERR_BAD_SIGNATURE, "%s signature does not verify",
                       key->type == ESESSION_KEY_RSA ? "RSA" : "DSA");
    return ESESSION_OK;
}
