/* SPDX-License-Identifier: ISC */
/* Form normalization (PROFILE §6, XEP-0116 "XML Normalization"). */
#ifndef ESESSION_NORMALIZE_H
#define ESESSION_NORMALIZE_H

#include "xml.h"

#define ES_XDATA_NS "jabber:x:data"

/* normalize(x, excluded): the concatenation of canon(c) for every element
 * child c of x, in document order, skipping each jabber:x:data <field>
 * whose var equals one of the n_excluded strings. x must be the
 * <x xmlns='jabber:x:data'> element of a tree as received (es_xml_parse).
 * canon: local names only, namespace declarations and prefixes dropped,
 * attributes sorted by name (byte order) as ` name="value"`, empty elements
 * as start-end pairs, whitespace-only text between elements dropped, leaf
 * text kept exactly, Canonical XML 1.0 escaping. Comments and processing
 * instructions are ignored (like C14N without comments, and like the text
 * of a value, which is the concatenation of its text). Returns
 * ESESSION_ERR_MALFORMED (reason in ctx) for: x not a jabber:x:data <x>,
 * non-whitespace text directly in x, an element with both non-whitespace
 * text and element children, two attributes with the same local name,
 * more than ES_CANON_MAX_ATTRS attributes on one element, an entity
 * reference node. On success out holds the octets (not NUL-counted). */
esession_status es_form_normalize(esession_ctx *ctx, const xmlNode *x,
                                  const char *const *excluded, size_t n_excluded,
                                  esession_buf *out);

/* canon(elem) of one element, with the same rules (for example the
 * children of an XEP-0200 <c>, PROFILE §9). */
esession_status es_canon_element(esession_ctx *ctx, const xmlNode *elem, esession_buf *out);

#define ES_CANON_MAX_ATTRS 32u

#endif
