/* SPDX-License-Identifier: ISC */
/* Text against the XML 1.0 Char production (decoded by core/utf8.c). */
#include "xmlchars.h"

#include "../core/utf8.h"

#include <stdint.h>

int es_xml_chars_ok(const char *s, size_t n, size_t *bad)
{
    const uint8_t *p = (const uint8_t *)s;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t k = es_utf8_next(p + i, n - i, &c);
        if (k == 0 || !es_xml_char(c)) {
            if (bad != NULL)
                *bad = i;
            return 0;
        }
        i += k;
    }
    return 1;
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
