/* SPDX-License-Identifier: ISC */
/* Strict base64 on libsodium's constant-time codec (PROFILE §1). */
#include "base64.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* XML whitespace is skipped anywhere; everything else must be alphabet. */
static const char xml_space[] = " \t\r\n";

size_t es_base64_encoded_len(size_t n)
{
    return ((n + 2) / 3) * 4;
}

void es_base64_encode(char *out, const uint8_t *in, size_t n)
{
    if (n == 0) {
        out[0] = '\0';
        return;
    }
    sodium_bin2base64(out, es_base64_encoded_len(n) + 1, in, n,
                      sodium_base64_VARIANT_ORIGINAL);
}

size_t es_base64_decoded_max(size_t n)
{
    return (n / 4) * 3 + 3;
}

esession_status es_base64_decode(uint8_t *out, size_t cap, size_t *outlen,
                                 const char *in, size_t n)
{
    uint8_t small[256];
    uint8_t *tmp = small;
    size_t max, len = 0;
    size_t i;
    esession_status rc = ESESSION_OK;

    if (outlen == NULL || (in == NULL && n > 0) || (out == NULL && cap > 0))
        return ESESSION_ERR_INVALID_ARGUMENT;
    /* An all-whitespace (or empty) text is the empty string. */
    for (i = 0; i < n && in[i] != '\0' && strchr(xml_space, in[i]) != NULL; i++)
        ;
    if (i == n) {
        *outlen = 0;
        return ESESSION_OK;
    }
    /* NUL inside the text is never valid; libsodium would stop there. */
    if (memchr(in, '\0', n) != NULL)
        return ESESSION_ERR_MALFORMED;
    /* Nor any octet above 0x7f: libsodium 1.0.18 reads them as signed
     * chars and takes every one for '/', which would make a stanza's text
     * malleable without changing its meaning. */
    for (i = 0; i < n; i++)
        if ((unsigned char)in[i] >= 0x80)
            return ESESSION_ERR_MALFORMED;
    /* libsodium writes as it goes: decode aside so that out stays untouched
     * on failure, and so that a short out is told apart from bad text. */
    max = es_base64_decoded_max(n);
    if (max > sizeof small && (tmp = malloc(max)) == NULL)
        return ESESSION_ERR_NO_MEMORY;
    /* b64_end = NULL: trailing or embedded garbage is an error, not a stop.
     * libsodium also rejects missing padding and non-zero trailing bits. */
    if (sodium_base642bin(tmp, max, in, n, xml_space, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
        rc = ESESSION_ERR_MALFORMED;
    } else if (len > cap) {
        rc = ESESSION_ERR_BUFFER_TOO_SMALL;
    } else {
        if (len > 0)
            memcpy(out, tmp, len);
        *outlen = len;
    }
    sodium_memzero(tmp, max); /* the decoded octets may be secret */
    if (tmp != small)
        free(tmp);
    return rc;
}

esession_status es_base64_encode_buf(esession_buf *out, const uint8_t *in, size_t n)
{
    esession_buf tmp;
    esession_status rc;

    /* Beyond this es_base64_encoded_len(n) + 1 overflows, and libsodium
     * aborts on a short output buffer. */
    if (n > (SIZE_MAX / 4 - 1) * 3)
        return ESESSION_ERR_LIMIT;
    rc = es_buf_alloc(&tmp, es_base64_encoded_len(n), 0);
    if (rc != ESESSION_OK)
        return rc;
    es_base64_encode(tmp.data, in, n);
    *out = tmp;
    return ESESSION_OK;
}
