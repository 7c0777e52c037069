/* SPDX-License-Identifier: ISC */
/* Strict base64 on libsodium's constant-time codec (PROFILE §1). */
#include "base64.h"

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
    size_t len = 0;
    size_t i;

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
    /* b64_end = NULL: trailing or embedded garbage is an error, not a stop.
     * libsodium also rejects missing padding and non-zero trailing bits. */
    if (sodium_base642bin(out, cap, in, n, xml_space, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return ESESSION_ERR_MALFORMED;
    *outlen = len;
    return ESESSION_OK;
}

esession_status es_base64_encode_buf(esession_buf *out, const uint8_t *in, size_t n)
{
    esession_buf tmp;
    esession_status rc = es_buf_alloc(&tmp, es_base64_encoded_len(n), 0);
    if (rc != ESESSION_OK)
        return rc;
    es_base64_encode(tmp.data, in, n);
    *out = tmp;
    return ESESSION_OK;
}
