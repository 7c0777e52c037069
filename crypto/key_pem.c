/* SPDX-License-Identifier: ISC */
/* PEM import and export of signing keys: PKCS#8 "PRIVATE KEY" and
 * SubjectPublicKeyInfo "PUBLIC KEY", one block, nothing around it. */
#include "sig.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>

/* An RSA-8192 PKCS#8 PEM is about 6.4 KB. */
#define ES_PEM_MAX 16384

#define PEM_PRIVATE "PRIVATE KEY"
#define PEM_PUBLIC "PUBLIC KEY"
#define PEM_ENCRYPTED "ENCRYPTED PRIVATE KEY"

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int all_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_space(s[i]))
            return 0;
    return 1;
}

/* DER of one PKCS#8 PrivateKeyInfo or SPKI, every octet consumed. The
 * decoders are given no passphrase callback: nothing here can prompt. */
static EVP_PKEY *decode_der(const unsigned char *der, long len, int private_part)
{
    const unsigned char *p = der;
    EVP_PKEY *pkey = NULL;

    if (private_part) {
        PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, len);
        if (p8 != NULL && p == der + len)
            pkey = EVP_PKCS82PKEY(p8);
        PKCS8_PRIV_KEY_INFO_free(p8); /* clears the key octets */
    } else {
        pkey = d2i_PUBKEY(NULL, &p, len);
        if (pkey != NULL && p != der + len) {
            EVP_PKEY_free(pkey);
            pkey = NULL;
        }
    }
    return pkey;
}

/* Parse one PEM block into an EVP_PKEY; BAD_PEM for anything unparseable. */
static esession_status parse_pem(esession_ctx *ctx, const char *pem, size_t len, EVP_PKEY **out)
{
    static const char begin[] = "-----BEGIN ";
    BIO *bio = NULL;
    char *name = NULL, *header = NULL, *rest = NULL;
    unsigned char *der = NULL;
    long derlen = 0, restlen;
    EVP_PKEY *pkey = NULL;
    esession_status rc = ESESSION_ERR_BAD_PEM;
    size_t i = 0;

    /* Only whitespace may precede the block (OpenSSL would skip any text). */
    while (i < len && is_space(pem[i]))
        i++;
    if (len - i < sizeof begin - 1 || memcmp(pem + i, begin, sizeof begin - 1) != 0)
        return es_fail(ctx, rc, "not a PEM block");
    if (memchr(pem, '\0', len) != NULL)
        return es_fail(ctx, rc, "NUL in PEM text");

    /* OpenSSL wants the BEGIN line at a line start: hand it the block. */
    bio = BIO_new_mem_buf(pem + i, (int)(len - i));
    if (bio == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    /* PEM_FLAG_SECURE: line buffers and the DER are cleared when freed. */
    if (PEM_read_bio_ex(bio, &name, &header, &der, &derlen, PEM_FLAG_SECURE) != 1) {
        es_fail(ctx, rc, "PEM block truncated or not base64");
        goto out;
    }
    restlen = BIO_get_mem_data(bio, &rest);
    if (restlen < 0 || (restlen > 0 && !all_space(rest, (size_t)restlen))) {
        es_fail(ctx, rc, "data after the PEM block");
        goto out;
    }
    if (strcmp(name, PEM_ENCRYPTED) == 0 || (header != NULL && header[0] != '\0')) {
        es_fail(ctx, rc, "encrypted PEM is not supported");
        goto out;
    }
    int private_part = strcmp(name, PEM_PRIVATE) == 0;
    if (!private_part && strcmp(name, PEM_PUBLIC) != 0) {
        es_fail(ctx, rc, "PEM type is not PRIVATE KEY (PKCS#8) or PUBLIC KEY");
        goto out;
    }
    pkey = decode_der(der, derlen, private_part);
    if (pkey == NULL) {
        es_fail(ctx, rc, "PEM contents are not a %s", private_part ? "PKCS#8 key" : "SPKI key");
        goto out;
    }
    *out = pkey;
    rc = ESESSION_OK;
out:
    OPENSSL_secure_clear_free(der, derlen > 0 ? (size_t)derlen : 0);
    OPENSSL_secure_free(name);
    OPENSSL_secure_free(header);
    BIO_free(bio);
    return rc;
}

esession_status esession_key_from_pem(esession_ctx *ctx, esession_key **out,
                                      const char *pem, size_t len)
{
    EVP_PKEY *pkey = NULL;
    esession_key *k = NULL;
    esession_status rc;

    es_clear_detail(ctx);
    if (out == NULL || (pem == NULL && len > 0))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL argument");
    if (len > ES_PEM_MAX)
        return es_fail(ctx, ESESSION_ERR_LIMIT, "PEM text longer than %d octets", ES_PEM_MAX);
    if (len == 0)
        return es_fail(ctx, ESESSION_ERR_BAD_PEM, "empty PEM text");

    ERR_set_mark();
    rc = parse_pem(ctx, pem, len, &pkey);
    ERR_pop_to_mark();
    if (rc != ESESSION_OK)
        return rc;
    rc = es_key_wrap(ctx, &k, pkey);
    if (rc != ESESSION_OK) {
        EVP_PKEY_free(pkey);
        return rc;
    }
    *out = k;
    return ESESSION_OK;
}

esession_status esession_key_to_pem(esession_ctx *ctx, const esession_key *key,
                                    int private_part, esession_buf *out)
{
    BIO *bio;
    char *data = NULL;
    long n;
    int ok;
    esession_status rc;

    es_clear_detail(ctx);
    if (key == NULL || out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL argument");
    if (private_part && !key->has_private)
        return es_fail(ctx, ESESSION_ERR_STATE, "the key has no private part");

    /* A secure-memory BIO clears its buffer whenever it grows or is freed. */
    ERR_set_mark();
    bio = BIO_new(private_part ? BIO_s_secmem() : BIO_s_mem());
    if (bio == NULL) {
        ERR_pop_to_mark();
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    }
    if (private_part)
        ok = PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL);
    else
        ok = PEM_write_bio_PUBKEY(bio, key->pkey);
    n = BIO_get_mem_data(bio, &data);
    if (ok != 1 || n <= 0 || data == NULL)
        rc = es_fail(ctx, ESESSION_ERR_INTERNAL, "OpenSSL PEM encoding failed");
    else
        rc = es_buf_set(out, data, (size_t)n, private_part);
    BIO_free(bio);
    ERR_pop_to_mark();
    return rc;
}
