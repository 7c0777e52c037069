/* SPDX-License-Identifier: ISC */
/* Text against the XML 1.0 Char production (decoded by core/utf8.c). */
#include "xmlchars.h"

#include "../core/utf8.h"

#include <stdint.h>
#include <string.h>

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* Do the 8 octets at p hold only ASCII at or above U+0020 (all Chars)?
 * A high bit flags a non-ASCII octet; (w - 0x20..) & ~w flags a byte
 * below 0x20 when all are ASCII (a borrow only runs from such a byte).
 * A word with a TAB, LF or CR goes the slow way, which accepts them. */
static int plain_word(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return ((w | ((w - 0x20 * ONES) & ~w)) & HIGHS) == 0;
}

int es_xml_chars_ok(const char *s, size_t n, size_t *bad)
{
    const uint8_t *p = (const uint8_t *)s;
    for (size_t i = 0; i < n;) {
        /* Text is mostly plain ASCII: eight octets at a time. */
        while (n - i >= 8 && plain_word(p + i))
            i += 8;
        if (i == n)
            break;
        uint32_t c = p[i];
        size_t k = 1;
        if (c >= 0x80)
            k = es_utf8_next(p + i, n - i, &c);
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
