/* SPDX-License-Identifier: ISC */
/* The one UTF-8 decoder (RFC 3629) of the library. */
#ifndef ESESSION_UTF8_H
#define ESESSION_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decode the character at s (n octets available, n >= 1): its length in
 * octets (1..4) with *cp set (cp may be NULL), or 0 if the octets there
 * are not well-formed UTF-8: a stray continuation octet, a lead octet
 * C0, C1 or F5..FF, a truncated sequence, an overlong form, a surrogate
 * (U+D800..U+DFFF) or a code point above U+10FFFF. */
size_t es_utf8_next(const uint8_t *s, size_t n, uint32_t *cp);

/* Is c a Char of XML 1.0 (TAB, LF, CR, U+0020..U+D7FF, U+E000..U+FFFD,
 * U+10000..U+10FFFF)? */
int es_xml_char(uint32_t c);

#endif
