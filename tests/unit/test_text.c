/* SPDX-License-Identifier: ISC */
/* The text rules every part of the library shares: the UTF-8 decoder
 * (core/utf8.c). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/utf8.h"
#include "esession.h"

/* ---- UTF-8 ------------------------------------------------------------ */

static size_t next(const char *s, size_t n, uint32_t *cp)
{
    return es_utf8_next((const uint8_t *)s, n, cp);
}

Test(utf8, decodes_every_length_at_its_bounds)
{
    static const struct {
        const char *s;
        size_t len;
        uint32_t cp;
    } good[] = {
        {"\x00", 1, 0x0},
        {"\x7f", 1, 0x7f},
        {"\xc2\x80", 2, 0x80},
        {"\xdf\xbf", 2, 0x7ff},
        {"\xe0\xa0\x80", 3, 0x800},
        {"\xed\x9f\xbf", 3, 0xd7ff},
        {"\xee\x80\x80", 3, 0xe000},
        {"\xef\xbf\xbf", 3, 0xffff},
        {"\xf0\x90\x80\x80", 4, 0x10000},
        {"\xf4\x8f\xbf\xbf", 4, 0x10ffff},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint32_t cp = 0xdeadbeef;
        cr_assert_eq(next(good[i].s, good[i].len, &cp), good[i].len, "case %zu", i);
        cr_assert_eq(cp, good[i].cp, "case %zu", i);
        /* Only the first character is read; what follows does not matter. */
        char two[8];
        memcpy(two, good[i].s, good[i].len);
        two[good[i].len] = '\xff';
        cr_assert_eq(next(two, good[i].len + 1, NULL), good[i].len, "case %zu", i);
        cr_assert_eq(esession_utf8_char_len(two, good[i].len + 1), good[i].len);
    }
}

Test(utf8, refuses_ill_formed_sequences)
{
    static const struct {
        const char *s;
        size_t len;
    } bad[] = {
        {"\x80", 1},                 /* stray continuation */
        {"\xbf", 1},
        {"\xc0\x80", 2},             /* overlong NUL */
        {"\xc1\xbf", 2},             /* overlong, 2 octets */
        {"\xe0\x80\xaf", 3},         /* overlong '/', 3 octets */
        {"\xe0\x9f\xbf", 3},         /* overlong U+07FF */
        {"\xf0\x8f\xbf\xbf", 4},     /* overlong U+FFFF */
        {"\xed\xa0\x80", 3},         /* surrogate U+D800 */
        {"\xed\xbf\xbf", 3},         /* surrogate U+DFFF */
        {"\xf4\x90\x80\x80", 4},     /* U+110000 */
        {"\xf5\x80\x80\x80", 4},     /* lead F5 */
        {"\xff", 1},
        {"\xc3\x28", 2},             /* bad continuation */
        {"\xe2\x82", 2},             /* truncated */
        {"\xf0\x9f\x98", 3},         /* truncated, 4 octets */
        {"\xe2\x82\xac", 2},         /* complete, but only 2 octets available */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint32_t cp = 7;
        cr_assert_eq(next(bad[i].s, bad[i].len, &cp), 0, "case %zu", i);
        cr_assert_eq(cp, 7, "case %zu: cp written", i);
        cr_assert_eq(esession_utf8_char_len(bad[i].s, bad[i].len), 0, "case %zu", i);
    }
    cr_assert_eq(next("a", 0, NULL), 0);
    cr_assert_eq(esession_utf8_char_len(NULL, 4), 0);
}

Test(utf8, xml_chars)
{
    static const uint32_t yes[] = {0x9, 0xa, 0xd, 0x20, 0xd7ff, 0xe000, 0xfffd, 0x10000, 0x10ffff};
    static const uint32_t no[] = {0x0, 0x8, 0xb, 0x1f, 0xd800, 0xdfff, 0xfffe, 0xffff, 0x110000};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        cr_assert(es_xml_char(yes[i]), "U+%04X", (unsigned)yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        cr_assert_not(es_xml_char(no[i]), "U+%04X", (unsigned)no[i]);
}
