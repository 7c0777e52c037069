/* SPDX-License-Identifier: ISC */
/* HASH: sha256 and sha512 through OpenSSL EVP, whirlpool from whirlpool.c. */
#include "hash.h"

#include <openssl/evp.h>
#include <string.h>

#include "whirlpool.h"

size_t es_hash_size(es_hash_alg alg)
{
    switch (alg) {
    case ES_HASH_SHA256:
        return 32;
    case ES_HASH_SHA512:
    case ES_HASH_WHIRLPOOL:
        return 64;
    }
    return 0;
}

const char *es_hash_name(es_hash_alg alg)
{
    switch (alg) {
    case ES_HASH_SHA256:
        return "sha256";
    case ES_HASH_SHA512:
        return "sha512";
    case ES_HASH_WHIRLPOOL:
        return "whirlpool";
    }
    return NULL;
}

esession_status es_hash_from_name(const char *name, size_t len, es_hash_alg *out)
{
    static const es_hash_alg all[] = { ES_HASH_SHA256, ES_HASH_SHA512, ES_HASH_WHIRLPOOL };

    if ((name == NULL && len > 0) || out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < ES_ARRAY_LEN(all); i++) {
        const char *n = es_hash_name(all[i]);
        if (strlen(n) == len && memcmp(n, name, len) == 0) {
            *out = all[i];
            return ESESSION_OK;
        }
    }
    return ESESSION_ERR_UNSUPPORTED;
}

static const EVP_MD *evp_md(es_hash_alg alg)
{
    switch (alg) {
    case ES_HASH_SHA256:
        return EVP_sha256();
    case ES_HASH_SHA512:
        return EVP_sha512();
    case ES_HASH_WHIRLPOOL:
        break;
    }
    return NULL;
}

static void whirlpool_parts(const es_span *parts, size_t count, uint8_t *out)
{
    es_whirlpool_ctx w;
    es_whirlpool_init(&w);
    for (size_t i = 0; i < count; i++)
        es_whirlpool_update(&w, parts[i].p, parts[i].n);
    es_whirlpool_final(&w, out);
    ES_WIPE(w);
}

static esession_status hash_parts(const EVP_MD *md, es_hash_alg alg, const es_span *parts,
                                  size_t count, uint8_t *out)
{
    uint8_t tmp[ES_HASH_MAX_BYTES];
    unsigned int len = 0;
    int ok;

    if ((parts == NULL && count > 0) || out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < count; i++)
        if (parts[i].p == NULL && parts[i].n > 0)
            return ESESSION_ERR_INVALID_ARGUMENT;
    if (alg == ES_HASH_WHIRLPOOL) {
        whirlpool_parts(parts, count, out);
        return ESESSION_OK;
    }
    if (md == NULL && (md = evp_md(alg)) == NULL)
        return ESESSION_ERR_UNSUPPORTED;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (c == NULL)
        return ESESSION_ERR_NO_MEMORY;
    /* EVP_DigestUpdate returns early on length 0, so a part may be NULL. */
    ok = EVP_DigestInit_ex(c, md, NULL) == 1;
    for (size_t i = 0; ok && i < count; i++)
        ok = EVP_DigestUpdate(c, parts[i].p, parts[i].n) == 1;
    ok = ok && EVP_DigestFinal_ex(c, tmp, &len) == 1 && len == es_hash_size(alg);
    EVP_MD_CTX_free(c); /* the provider clears its state */
    if (ok)
        memcpy(out, tmp, len);
    ES_WIPE(tmp);
    return ok ? ESESSION_OK : ESESSION_ERR_INTERNAL;
}

esession_status es_hash_parts(es_hash_alg alg, const es_span *parts, size_t count, uint8_t *out)
{
    return hash_parts(NULL, alg, parts, count, out);
}

esession_status es_hash(es_hash_alg alg, const uint8_t *in, size_t n, uint8_t *out)
{
    es_span one = { in, n };
    return hash_parts(NULL, alg, &one, 1, out);
}

esession_status es_hash_in(const esession_ctx *ctx, es_hash_alg alg, const uint8_t *in, size_t n,
                           uint8_t *out)
{
    es_span one = { in, n };
    return hash_parts(es_ctx_md(ctx, alg), alg, &one, 1, out);
}
