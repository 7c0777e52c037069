/* SPDX-License-Identifier: ISC */
/* The one hardened entry point through which every XML text is parsed. */
#ifndef ESESSION_XML_H
#define ESESSION_XML_H

#include "../core/core.h"

#include <libxml/tree.h>

/* Limits for one parsed document (one stanza or one PEP result). */
#define ES_XML_MAX_BYTES (256u * 1024u)
#define ES_XML_MAX_DEPTH 32u
/* Attributes on one element, namespace declarations included; of those,
 * namespace declarations; and declarations in scope at one element (its
 * own and its ancestors'). libxml2's work per attribute grows with each
 * (duplicate checks, prefix lookups). */
#define ES_XML_MAX_ATTRS 64u
#define ES_XML_MAX_NS_DECLS 16u
#define ES_XML_MAX_NS_IN_SCOPE 64u

/* Parse text (len octets, need not be NUL-terminated) into a new document.
 * Never loads a DTD, never substitutes entities, never touches the network;
 * any DOCTYPE or entity declaration, invalid UTF-8, more than
 * ES_XML_MAX_BYTES octets, more than ES_XML_MAX_DEPTH nested elements, or
 * an element beyond ES_XML_MAX_ATTRS, ES_XML_MAX_NS_DECLS or
 * ES_XML_MAX_NS_IN_SCOPE is ESESSION_ERR_MALFORMED with a reason in ctx. On success *out is a document
 * the caller frees with xmlFreeDoc(). */
esession_status es_xml_parse(esession_ctx *ctx, const char *text, size_t len, xmlDocPtr *out);

/* Helpers over parsed trees (namespace-aware, element children only). */
/* First element child of parent with local name `name` in namespace `ns`
 * (ns NULL: any namespace; "": no namespace); NULL if none. */
xmlNodePtr es_xml_child(const xmlNode *parent, const char *name, const char *ns);
/* Is node an element with this local name and namespace (NULL: any)? */
int es_xml_is(const xmlNode *node, const char *name, const char *ns);
/* Serialize node (with the namespace declarations it needs) as UTF-8.
 * Elements, text, comments and PIs; ESESSION_ERR_INVALID_ARGUMENT for other
 * nodes or inconsistent namespaces, ESESSION_ERR_LIMIT beyond 64 levels.
 * No libxml2 buffer is used; a secret out lives in guarded memory. */
esession_status es_xml_serialize(const xmlNode *node, esession_buf *out, int secret);
/* Wipe the text (content and attribute values) of n, its siblings after
 * it and everything below: libxml2 keeps its own copies of a decrypted
 * plaintext's text. Names live in the parser dictionary and are not
 * content. */
void es_xml_wipe_text(const xmlDoc *doc, xmlNode *n);
/* The same with a secret out in ctx's pool of secret memory. */
esession_status es_xml_serialize_in(const esession_ctx *ctx, const xmlNode *node,
                                    esession_buf *out, int secret);

#endif
