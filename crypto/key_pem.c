/* SPDX-License-Identifier: ISC */
/* PEM import and export of signing keys: PKCS#8 "PRIVATE KEY" and
 * SubjectPublicKeyInfo "PUBLIC KEY", one block, nothing around it. The
 * armour and base64 are read here rather than by OpenSSL's PEM reader, so
 * that the decoded key lives only in guarded memory (docs/crypto.md,
 * "Private keys in memory"). */
#include "sig.h"

#include "base64.h"

#include <limits.h>
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

/* The armour of one PEM block (RFC 7468, strictly): whitespace, the line
 * "-----BEGIN label-----", base64 lines, the line "-----END label-----"
 * with the same label, whitespace. *label and *body point into pem. */
static esession_status split_pem(esession_ctx *ctx, const char *pem, size_t len,
                                 const char **label, size_t *label_len, const char **body,
                                 size_t *body_len)
{
    static const char begin[] = "-----BEGIN ", end[] = "-----END ", dashes[] = "-----";
    const size_t nb = sizeof begin - 1, ne = sizeof end - 1, nd = sizeof dashes - 1;
    size_t i = 0, j, k;

    while (i < len && is_space(pem[i]))
        i++;
    if (len - i < nb || memcmp(pem + i, begin, nb) != 0)
        return es_fail(ctx, ESESSION_ERR_BAD_PEM, "not a PEM block");
    i += nb;
    for (j = i; j < len && pem[j] != '-' && pem[j] != '\n'; j++)
        ;
    if (len - j < nd || memcmp(pem + j, dashes, nd) != 0)
        return es_fail(ctx, ESESSION_ERR_BAD_PEM, "PEM BEGIN line malformed");
    *label = pem + i;
    *label_len = j - i;
    j += nd;
    if (j < len && pem[j] == '\r')
        j++;
    if (j == len || pem[j] != '\n')
        return es_fail(ctx, ESESSION_ERR_BAD_PEM, "PEM BEGIN line malformed");
    *body = pem + ++j;
    /* base64 has no '-': the next one starts the END line. */
    for (k = j; k < len && pem[k] != '-'; k++)
        ;
    if (k == len || pem[k - 1] != '\n' || len - k < ne + *label_len + nd ||
        memcmp(pem + k, end, ne) != 0 || memcmp(pem + k + ne, *label, *label_len) != 0 ||
        memcmp(pem + k + ne + *label_len, dashes, nd) != 0)
        return es_fail(ctx, ESESSION_ERR_BAD_PEM, "PEM block truncated, or its END line differs");
    *body_len = k - j;
    k += ne + *label_len + nd;
    if (!all_space(pem + k, len - k))
        return es_fail(ctx, ESESSION_ERR_BAD_PEM, "data after the PEM block");
    return ESESSION_OK;
}

static int is_label(const char *label, size_t len, const char *want)
{
    return strlen(want) == len && memcmp(label, want, len) == 0;
}

/* Parse one PEM block into an EVP_PKEY; BAD_PEM for anything unparseable.
 * The DER is decoded into guarded memory and wiped, whatever it holds. */
static esession_status parse_pem(esession_ctx *ctx, const char *pem, size_t len, EVP_PKEY **out)
{
    const char *label = NULL, *body = NULL;
    size_t label_len = 0, body_len = 0, derlen = 0;
    esession_status rc;

    if (memchr(pem, '\0', len) != NULL)
        return es_fail(ctx, ESESSION_ERR_BAD_PEM, "NUL in PEM text");
    if ((rc = split_pem(ctx, pem, len, &label, &label_len, &body, &body_len)) != ESESSION_OK)
        return rc;
    if (is_label(label, label_len, PEM_ENCRYPTED) || memchr(body, ':', body_len) != NULL)
        return es_fail(ctx, ESESSION_ERR_BAD_PEM, "encrypted PEM is not supported");
    int private_part = is_label(label, label_len, PEM_PRIVATE);
    if (!private_part && !is_label(label, label_len, PEM_PUBLIC))
        return es_fail(ctx, ESESSION_ERR_BAD_PEM,
                       "PEM type is not PRIVATE KEY (PKCS#8) or PUBLIC KEY");
    size_t cap = es_base64_decoded_max(body_len);
    uint8_t *der = es_secret_alloc_in(ctx, cap);
    if (der == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of secure memory");
    if (es_base64_decode(der, cap, &derlen, body, body_len) != ESESSION_OK || derlen > LONG_MAX)
        rc = es_fail(ctx, ESESSION_ERR_BAD_PEM, "PEM body is not base64");
    else if ((*out = decode_der(der, (long)derlen, private_part)) == NULL)
        rc = es_fail(ctx, ESESSION_ERR_BAD_PEM, "PEM contents are not a %s%s",
                     private_part ? "PKCS#8 key" : "SPKI key",
                     private_part ? es_secure_heap_hint() : "");
    es_secret_free(der); /* wiped */
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
        rc = es_fail(ctx, ESESSION_ERR_INTERNAL, "OpenSSL PEM encoding failed%s",
                     private_part ? es_secure_heap_hint() : "");
    else
        rc = es_buf_set(out, data, (size_t)n, private_part);
    BIO_free(bio);
    ERR_pop_to_mark();
    return rc;
}
