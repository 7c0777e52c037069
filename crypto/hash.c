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

esession_status es_hash(es_hash_alg alg, const uint8_t *in, size_t n, uint8_t *out)
{
    const EVP_MD *md;
    uint8_t tmp[ES_HASH_MAX_BYTES];
    unsigned int len = 0;

    if ((in == NULL && n > 0) || out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    switch (alg) {
    case ES_HASH_SHA256:
        md = EVP_sha256();
        break;
    case ES_HASH_SHA512:
        md = EVP_sha512();
        break;
    case ES_HASH_WHIRLPOOL:
        es_whirlpool(in, n, out);
        return ESESSION_OK;
    default:
        return ESESSION_ERR_UNSUPPORTED;
    }
    /* EVP_DigestUpdate returns early on length 0, so in may be NULL. */
    if (EVP_Digest(in, n, tmp, &len, md, NULL) != 1 ||
        len != es_hash_size(alg)) {
        ES_WIPE(tmp);
        return ESESSION_ERR_INTERNAL;
    }
    memcpy(out, tmp, len);
    ES_WIPE(tmp);
    return ESESSION_OK;
}
