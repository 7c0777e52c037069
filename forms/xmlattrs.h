/* SPDX-License-Identifier: ISC */
/* Attribute and namespace declaration counts of start tags, read before
 * libxml2 parses, and the byte spans of the root's children (for the
 * receiver's copies-of-one-stanza check). */
#ifndef ESESSION_XMLATTRS_H
#define ESESSION_XMLATTRS_H

#include <stddef.h>

/* What es_xml_attrs_ok found over a limit. */
typedef struct es_xml_attr_count {
    size_t offset;   /* of the start tag */
    size_t attrs;    /* its attributes, namespace declarations included */
    size_t ns;       /* its namespace declarations (xmlns, xmlns:p) */
    size_t in_scope; /* declarations in scope there, its own included */
} es_xml_attr_count;

/* Does every start tag of s (n octets, the text es_xml_parse is given)
 * stay within ES_XML_MAX_ATTRS, ES_XML_MAX_NS_DECLS and
 * ES_XML_MAX_NS_IN_SCOPE? One linear pass. Returns 1, or 0 with *over (may
 * be NULL) describing the first tag beyond a limit. */
int es_xml_attrs_ok(const char *s, size_t n, es_xml_attr_count *over);

/* Where each element child of the root element of s starts and ends, in
 * document order: octets [start, end) hold the child's markup. s must be
 * a document es_xml_parse accepted. Fills at most max spans and returns
 * how many children there are. */
typedef struct es_xml_span {
    size_t start, end;
} es_xml_span;

size_t es_xml_child_spans(const char *s, size_t n, es_xml_span *out, size_t max);

#endif
