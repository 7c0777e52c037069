/* SPDX-License-Identifier: ISC */
/* Strict UTF-8 decoding against the XML 1.0 Char production. */
#include "xmlchars.h"

#include <stdint.h>

static int is_xml_char(uint32_t c)
{
    if (c < 0x20)
        return c == 0x9 || c == 0xA || c == 0xD;
    if (c <= 0xD7FF)
        return 1;
    if (c >= 0xE000 && c <= 0xFFFD)
        return 1;
    return c >= 0x10000 && c <= 0x10FFFF;
}

int es_xml_chars_ok(const char *s, size_t n, size_t *bad)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char b0 = p[i];
        uint32_t c;
        size_t k; /* continuation octets */
        uint32_t min;
        if (b0 < 0x80) {
            c = b0;
            k = 0;
            min = 0;
        } else if (b0 >= 0xC2 && b0 <= 0xDF) {
            c = b0 & 0x1Fu;
            k = 1;
            min = 0x80;
        } else if (b0 >= 0xE0 && b0 <= 0xEF) {
            c = b0 & 0x0Fu;
            k = 2;
            min = 0x800;
        } else if (b0 >= 0xF0 && b0 <= 0xF4) {
            c = b0 & 0x07u;
            k = 3;
            min = 0x10000;
        } else {
            goto fail; /* continuation octet, C0/C1 overlong lead, F5..FF */
        }
        if (k > n - i - 1)
            goto fail; /* truncated sequence */
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xC0u) != 0x80u)
                goto fail;
            c = (c << 6) | (p[i + j] & 0x3Fu);
        }
        if (c < min || (c >= 0xD800 && c <= 0xDFFF) || !is_xml_char(c))
            goto fail;
        i += k + 1;
    }
    return 1;
fail:
    if (bad != NULL)
        *bad = i;
    return 0;
}

int es_xml_is_space(unsigned char c)
{
    return c == 0x20 || c == 0x9 || c == 0xA || c == 0xD;
}

int es_xml_all_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!es_xml_is_space((unsigned char)s[i]))
            return 0;
    return 1;
}
