/* SPDX-License-Identifier: ISC */
/* XML 1.0 character checks on UTF-8 text (private to forms/). */
#ifndef ESESSION_XMLCHARS_H
#define ESESSION_XMLCHARS_H

#include <stddef.h>

/* Is s (n octets) well-formed UTF-8 (no overlongs, surrogates or code
 * points above U+10FFFF) made only of XML 1.0 Chars (so no NUL and no C0
 * control but TAB, LF, CR)? Returns 1, or 0 with *bad set to the offset
 * of the first offending octet (bad may be NULL). */
int es_xml_chars_ok(const char *s, size_t n, size_t *bad);

/* Is c XML whitespace (space, TAB, LF, CR)? */
int es_xml_is_space(unsigned char c);

/* Does s (n octets) consist only of XML whitespace? */
int es_xml_all_space(const char *s, size_t n);

#endif
