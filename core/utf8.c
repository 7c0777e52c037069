/* SPDX-License-Identifier: ISC */
/* Strict UTF-8 decoding: every check of text in the library (XML
 * characters, JIDs, JSON output of the tool) goes through here. */
#include "utf8.h"

#include "core.h"

size_t es_utf8_next(const uint8_t *s, size_t n, uint32_t *cp)
{
    uint32_t c, min;
    size_t len;

    if (n == 0)
        return 0;
    if (s[0] < 0x80) {
        if (cp != NULL)
            *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2;
        c = s[0] & 0x1Fu;
        min = 0x80;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3;
        c = s[0] & 0x0Fu;
        min = 0x800;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4;
        c = s[0] & 0x07u;
        min = 0x10000;
    } else {
        return 0; /* continuation octet, C0/C1 (always overlong), F5..FF */
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0u) != 0x80u)
            return 0;
        c = (c << 6) | (s[i] & 0x3Fu);
    }
    if (c < min || (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
        return 0;
    if (cp != NULL)
        *cp = c;
    return len;
}

int es_xml_char(uint32_t c)
{
    if (c < 0x20)
        return c == 0x9 || c == 0xA || c == 0xD;
    if (c <= 0xD7FF)
        return 1;
    if (c >= 0xE000 && c <= 0xFFFD)
        return 1;
    return c >= 0x10000 && c <= 0x10FFFF;
}

size_t esession_utf8_char_len(const char *s, size_t n)
{
    return s != NULL ? es_utf8_next((const uint8_t *)s, n, NULL) : 0;
}
