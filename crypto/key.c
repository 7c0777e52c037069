/* SPDX-License-Identifier: ISC */
/* Long-term signing keys: the PROFILE §5 limits every key passes through,
 * generation, accessors. PEM is in key_pem.c, <KeyValue> in keyvalue.c. */
#include "sig.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/dsa.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192
#define DSA_Q_BITS 256

static int get_bn(const EVP_PKEY *pkey, const char *name, BIGNUM **out)
{
    *out = NULL;
    return EVP_PKEY_get_bn_param(pkey, name, out) == 1 && *out != NULL;
}

static esession_status check_rsa(esession_ctx *ctx, const EVP_PKEY *pkey, unsigned *bits)
{
    BIGNUM *n = NULL, *e = NULL;
    esession_status rc = ESESSION_ERR_BAD_KEY;

    if (!get_bn(pkey, OSSL_PKEY_PARAM_RSA_N, &n) || !get_bn(pkey, OSSL_PKEY_PARAM_RSA_E, &e)) {
        es_fail(ctx, rc, "RSA key without modulus or exponent");
        goto out;
    }
    int nbits = BN_num_bits(n);
    if (nbits < RSA_MIN_BITS || nbits > RSA_MAX_BITS) {
        es_fail(ctx, rc, "RSA modulus of %d bits (2048..8192 allowed)", nbits);
        goto out;
    }
    /* Cheap sanity: an even modulus or exponent, e = 1 or e >= n is no key. */
    if (!BN_is_odd(n) || !BN_is_odd(e) || BN_is_one(e) || BN_cmp(e, n) >= 0) {
        es_fail(ctx, rc, "RSA modulus or exponent out of range");
        goto out;
    }
    *bits = (unsigned)nbits;
    rc = ESESSION_OK;
out:
    BN_free(n);
    BN_free(e);
    return rc;
}

/* 1 < v < p and v^q = 1 (mod p): v lies in the order-q subgroup. Rejects
 * degenerate g and y (0, 1, p-1) for which any signature verifies. */
static int in_subgroup(const BIGNUM *v, const BIGNUM *p, const BIGNUM *q, BIGNUM *t, BN_CTX *bn)
{
    return BN_cmp(v, BN_value_one()) > 0 && BN_cmp(v, p) < 0 &&
           BN_mod_exp(t, v, q, p, bn) == 1 && BN_is_one(t);
}

static esession_status check_dsa(esession_ctx *ctx, const EVP_PKEY *pkey, unsigned *bits)
{
    BIGNUM *p = NULL, *q = NULL, *g = NULL, *y = NULL, *t = NULL;
    BN_CTX *bn = NULL;
    esession_status rc = ESESSION_ERR_BAD_KEY;

    if (!get_bn(pkey, OSSL_PKEY_PARAM_FFC_P, &p) || !get_bn(pkey, OSSL_PKEY_PARAM_FFC_Q, &q) ||
        !get_bn(pkey, OSSL_PKEY_PARAM_FFC_G, &g) || !get_bn(pkey, OSSL_PKEY_PARAM_PUB_KEY, &y)) {
        es_fail(ctx, rc, "DSA key without p, q, g or y");
        goto out;
    }
    int pbits = BN_num_bits(p), qbits = BN_num_bits(q);
    if ((pbits != 2048 && pbits != 3072) || qbits != DSA_Q_BITS) {
        es_fail(ctx, rc, "DSA (L, N) = (%d, %d): (2048|3072, 256) allowed", pbits, qbits);
        goto out;
    }
    /* Structure only: p and q are not tested for primality (costly); a
     * key is trusted through its fingerprint, not through these checks. */
    t = BN_new();
    bn = BN_CTX_new();
    if (t == NULL || bn == NULL) {
        rc = es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory checking a DSA key");
        goto out;
    }
    if (!BN_is_odd(p) || !BN_is_odd(q) || BN_sub(t, p, BN_value_one()) != 1 ||
        BN_mod(t, t, q, bn) != 1 || !BN_is_zero(t)) {
        es_fail(ctx, rc, "DSA q does not divide p - 1");
        goto out;
    }
    if (!in_subgroup(g, p, q, t, bn) || !in_subgroup(y, p, q, t, bn)) {
        es_fail(ctx, rc, "DSA g or y not in the order-q subgroup");
        goto out;
    }
    *bits = (unsigned)pbits;
    rc = ESESSION_OK;
out:
    BN_free(p);
    BN_free(q);
    BN_free(g);
    BN_free(y);
    BN_free(t);
    BN_CTX_free(bn);
    return rc;
}

/* Ask for the size of the private component only: with data NULL,
 * OpenSSL reports its length without copying the secret out. */
static int pkey_has_private(const EVP_PKEY *pkey, esession_key_type type)
{
    OSSL_PARAM q[2];
    q[0] = OSSL_PARAM_construct_BN(type == ESESSION_KEY_RSA ? OSSL_PKEY_PARAM_RSA_D
                                                            : OSSL_PKEY_PARAM_PRIV_KEY,
                                   NULL, 0);
    q[1] = OSSL_PARAM_construct_end();
    return EVP_PKEY_get_params(pkey, q) == 1 && OSSL_PARAM_modified(&q[0]) &&
           q[0].return_size > 0;
}

esession_status es_key_wrap(esession_ctx *ctx, esession_key **out, EVP_PKEY *pkey)
{
    esession_key_type type = ESESSION_KEY_RSA;
    unsigned bits = 0;
    esession_status rc;

    if (out == NULL || pkey == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "no key");
    ERR_set_mark();
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        type = ESESSION_KEY_RSA;
        rc = check_rsa(ctx, pkey, &bits);
    } else if (EVP_PKEY_is_a(pkey, "DSA")) {
        type = ESESSION_KEY_DSA;
        rc = check_dsa(ctx, pkey, &bits);
    } else {
        /* EC, Ed25519, RSA-PSS, DH, ...: not a sign_algs key type. */
        rc = es_fail(ctx, ESESSION_ERR_BAD_KEY, "key type is neither RSA nor DSA");
    }
    if (rc == ESESSION_OK) {
        esession_key *k = calloc(1, sizeof *k);
        if (k == NULL) {
            rc = es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
        } else {
            k->pkey = pkey;
            k->type = type;
            k->bits = bits;
            k->has_private = pkey_has_private(pkey, type);
            /* Kept: every identity, fingerprint and trust check needs it. */
            rc = es_key_keyvalue_encode(k, &k->kv);
            if (rc == ESESSION_OK) {
                /* Kept too: trust checks and sessions both name the key by it. */
                crypto_hash_sha256(k->fp, (const uint8_t *)k->kv.data, k->kv.len);
                k->has_fp = 1;
            }
            if (rc != ESESSION_OK) {
                free(k);
                rc = es_fail(ctx, rc, "cannot encode the key as <KeyValue>");
            } else {
                *out = k;
            }
        }
    }
    ERR_pop_to_mark();
    return rc;
}

const char *es_key_sign_alg(esession_key_type type)
{
    switch (type) {
    case ESESSION_KEY_RSA:
        return ES_SIGN_ALG_RSA;
    case ESESSION_KEY_DSA:
        return ES_SIGN_ALG_DSA;
    }
    return NULL;
}

esession_status es_key_type_for_alg(const char *uri, size_t len, esession_key_type *type)
{
    static const esession_key_type all[] = {ESESSION_KEY_RSA, ESESSION_KEY_DSA};

    if (uri == NULL || type == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < ES_ARRAY_LEN(all); i++) {
        const char *name = es_key_sign_alg(all[i]);
        if (strlen(name) == len && memcmp(name, uri, len) == 0) {
            *type = all[i];
            return ESESSION_OK;
        }
    }
    return ESESSION_ERR_UNSUPPORTED;
}

static EVP_PKEY *generate_rsa(unsigned bits)
{
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    BIGNUM *e = BN_new();

    if (pc == NULL || e == NULL || BN_set_word(e, 65537) != 1 ||
        EVP_PKEY_keygen_init(pc) != 1 || EVP_PKEY_CTX_set_rsa_keygen_bits(pc, (int)bits) != 1 ||
        EVP_PKEY_CTX_set1_rsa_keygen_pubexp(pc, e) != 1 || EVP_PKEY_generate(pc, &pkey) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    BN_free(e);
    EVP_PKEY_CTX_free(pc);
    return pkey;
}

/* FIPS 186-4 domain parameters (L, 256) with SHA-256, then a key pair. */
static EVP_PKEY *generate_dsa(unsigned bits)
{
    EVP_PKEY *params = NULL, *pkey = NULL;
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "DSA", NULL);
    EVP_PKEY_CTX *kc = NULL;

    if (pc == NULL || EVP_PKEY_paramgen_init(pc) != 1 ||
        EVP_PKEY_CTX_set_dsa_paramgen_bits(pc, (int)bits) != 1 ||
        EVP_PKEY_CTX_set_dsa_paramgen_q_bits(pc, DSA_Q_BITS) != 1 ||
        EVP_PKEY_CTX_set_dsa_paramgen_md_props(pc, "SHA256", NULL) != 1 ||
        EVP_PKEY_paramgen(pc, &params) != 1)
        goto out;
    kc = EVP_PKEY_CTX_new_from_pkey(NULL, params, NULL);
    if (kc == NULL || EVP_PKEY_keygen_init(kc) != 1 || EVP_PKEY_generate(kc, &pkey) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
out:
    EVP_PKEY_free(params);
    EVP_PKEY_CTX_free(kc);
    EVP_PKEY_CTX_free(pc);
    return pkey;
}

esession_status esession_key_generate(esession_ctx *ctx, esession_key **out,
                                      esession_key_type type, unsigned bits)
{
    EVP_PKEY *pkey;
    esession_key *k = NULL;

    es_clear_detail(ctx);
    if (out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "out is NULL");
    switch (type) {
    case ESESSION_KEY_RSA:
        if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS || bits % 8 != 0)
            return es_fail(ctx, ESESSION_ERR_UNSUPPORTED,
                           "RSA keys are 2048..8192 bits, a multiple of 8");
        break;
    case ESESSION_KEY_DSA:
        if (bits != 2048 && bits != 3072)
            return es_fail(ctx, ESESSION_ERR_UNSUPPORTED, "DSA keys are 2048 or 3072 bits");
        break;
    default:
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "unknown key type");
    }

    ERR_set_mark();
    pkey = type == ESESSION_KEY_RSA ? generate_rsa(bits) : generate_dsa(bits);
    ERR_pop_to_mark();
    if (pkey == NULL)
        return es_fail(ctx, ESESSION_ERR_INTERNAL, "OpenSSL key generation failed%s",
                       es_secure_heap_hint());
    if (es_key_wrap(ctx, &k, pkey) != ESESSION_OK) {
        EVP_PKEY_free(pkey);
        return es_fail(ctx, ESESSION_ERR_INTERNAL, "generated key failed the key checks");
    }
    *out = k;
    return ESESSION_OK;
}

esession_key_type esession_key_get_type(const esession_key *key)
{
    return key != NULL ? key->type : (esession_key_type)0;
}

unsigned esession_key_bits(const esession_key *key)
{
    return key != NULL ? key->bits : 0;
}

int esession_key_has_private(const esession_key *key)
{
    return key != NULL && key->has_private;
}

esession_status es_key_dup(esession_ctx *ctx, const esession_key *key, esession_key **out)
{
    if (key == NULL || out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "no key");
    esession_key *k = calloc(1, sizeof *k);
    if (k == NULL || es_buf_set(&k->kv, key->kv.data, key->kv.len, 0) != ESESSION_OK) {
        free(k);
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    }
    if (EVP_PKEY_up_ref(key->pkey) != 1) {
        esession_buf_free(&k->kv);
        free(k);
        return es_fail(ctx, ESESSION_ERR_INTERNAL, "cannot share the key");
    }
    k->pkey = key->pkey;
    k->type = key->type;
    k->bits = key->bits;
    k->has_private = key->has_private;
    memcpy(k->fp, key->fp, sizeof k->fp);
    k->has_fp = key->has_fp;
    *out = k;
    return ESESSION_OK;
}

void esession_key_free(esession_key *key)
{
    if (key == NULL)
        return;
    esession_buf_free(&key->kv);
    /* OpenSSL clears the key's integers as it frees them. */
    EVP_PKEY_free(key->pkey);
    sodium_memzero(key, sizeof *key);
    free(key);
}
