/* SPDX-License-Identifier: ISC */
/* The one XML escaper of the library. Every writer of XML text (forms,
 * PEP requests, stanzas, the canonical form of PROFILE §6, esessionctl)
 * escapes through it. */
#ifndef ESESSION_XMLESC_H
#define ESESSION_XMLESC_H

#include <stddef.h>

#define ES_XML_TEXT 0u      /* element text */
#define ES_XML_ATTR 1u      /* an attribute value */
#define ES_XML_CANONICAL 2u /* Canonical XML 1.0, PROFILE §6 (attributes in '"') */

/* Where escaped text goes: called with each run of output in order. */
typedef void (*es_xml_sink)(void *sink, const char *p, size_t n);

/* Write s (n octets) escaped so that a parser reads back exactly s.
 * Text: & < > as entities, CR as &#xD; (a parser would make it LF).
 * Attribute values also escape " ' as entities and TAB, LF as &#x9;
 * &#xA; (attribute-value normalization would make them spaces), so the
 * value may stand between either quote. ES_XML_CANONICAL keeps Canonical
 * XML's choices: in attribute values (between '"') > and ' stay as they
 * are. */
void es_xml_escape(const char *s, size_t n, unsigned flags, es_xml_sink put, void *sink);

#endif
