/* SPDX-License-Identifier: ISC */
/* PEM text for keys the vectors give in other shapes. */
#include "keys.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "../../crypto/base64.h"

char *hv_pem_from_der(const char *label, const uint8_t *der, size_t n)
{
    size_t b64len = es_base64_encoded_len(n);
    char *b64 = malloc(b64len + 1);
    if (b64 == NULL)
        return NULL;
    es_base64_encode(b64, der, n);

    /* header + body with a newline every 64 characters + footer */
    size_t lines = (b64len + 63) / 64;
    size_t cap = 2 * (strlen(label) + 32) + b64len + lines + 1;
    char *pem = malloc(cap);
    if (pem == NULL) {
        free(b64);
        return NULL;
    }
    size_t at = (size_t)snprintf(pem, cap, "-----BEGIN %s-----\n", label);
    for (size_t i = 0; i < b64len; i += 64) {
        size_t k = b64len - i < 64 ? b64len - i : 64;
        memcpy(pem + at, b64 + i, k);
        at += k;
        pem[at++] = '\n';
    }
    snprintf(pem + at, cap - at, "-----END %s-----\n", label);
    free(b64);
    return pem;
}

static int push_hex(OSSL_PARAM_BLD *bld, const char *name, const char *hex, BIGNUM **keep)
{
    *keep = NULL;
    if (hex == NULL || hex[0] == '\0')
        return -1;
    if (BN_hex2bn(keep, hex) != (int)strlen(hex))
        return -1;
    return OSSL_PARAM_BLD_push_BN(bld, name, *keep) == 1 ? 0 : -1;
}

char *hv_dsa_pem(const char *p, const char *q, const char *g, const char *y, const char *x)
{
    char *out = NULL;
    BIGNUM *bn[5] = { NULL, NULL, NULL, NULL, NULL };
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    EVP_PKEY *pkey = NULL;
    BIO *mem = NULL;

    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (bld == NULL)
        goto out;
    if (push_hex(bld, OSSL_PKEY_PARAM_FFC_P, p, &bn[0]) != 0 ||
        push_hex(bld, OSSL_PKEY_PARAM_FFC_Q, q, &bn[1]) != 0 ||
        push_hex(bld, OSSL_PKEY_PARAM_FFC_G, g, &bn[2]) != 0 ||
        push_hex(bld, OSSL_PKEY_PARAM_PUB_KEY, y, &bn[3]) != 0)
        goto out;
    if (x != NULL && push_hex(bld, OSSL_PKEY_PARAM_PRIV_KEY, x, &bn[4]) != 0)
        goto out;
    params = OSSL_PARAM_BLD_to_param(bld);
    pctx = EVP_PKEY_CTX_new_from_name(NULL, "DSA", NULL);
    if (params == NULL || pctx == NULL || EVP_PKEY_fromdata_init(pctx) != 1 ||
        EVP_PKEY_fromdata(pctx, &pkey, x != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                          params) != 1)
        goto out;

    mem = BIO_new(BIO_s_mem());
    if (mem == NULL)
        goto out;
    /* OpenSSL 3 writes private keys as unencrypted PKCS#8. */
    int ok = x != NULL ? PEM_write_bio_PrivateKey(mem, pkey, NULL, NULL, 0, NULL, NULL)
                       : PEM_write_bio_PUBKEY(mem, pkey);
    if (ok != 1)
        goto out;
    char *data = NULL;
    long len = BIO_get_mem_data(mem, &data);
    if (len <= 0 || data == NULL)
        goto out;
    out = malloc((size_t)len + 1);
    if (out != NULL) {
        memcpy(out, data, (size_t)len);
        out[len] = '\0';
    }
out:
    BIO_free(mem);
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    for (size_t i = 0; i < 5; i++)
        BN_clear_free(bn[i]);
    return out;
}
