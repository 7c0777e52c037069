/* SPDX-License-Identifier: ISC */
/* The hardened XML entry point: libxml2 with no DTD, no entities, no
 * network, a depth limit enforced while parsing, and errors kept off
 * stderr (a structured handler on the parser context, no global state). */
#include "xml.h"

#include "xmlattrs.h"
#include "xmlchars.h"

#include <libxml/dict.h>
#include <libxml/SAX2.h>
#include <libxml/entities.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define REASON_MAX 160

typedef struct parse_state {
    unsigned depth;
    int refused; /* we stopped the parser ourselves */
    int failed;  /* libxml2 reported an error */
    char reason[REASON_MAX];
} parse_state;

static parse_state *state_of(void *user)
{
    return ((xmlParserCtxtPtr)user)->_private;
}

static void set_reason(parse_state *st, const char *msg, int line)
{
    if (st->reason[0] != '\0')
        return; /* keep the first one */
    if (line > 0)
        snprintf(st->reason, sizeof st->reason, "XML line %d: %s", line, msg);
    else
        snprintf(st->reason, sizeof st->reason, "XML: %s", msg);
    /* libxml2 messages end with a newline; keep one line. */
    st->reason[strcspn(st->reason, "\r\n")] = '\0';
}

static void refuse(void *user, const char *msg)
{
    xmlParserCtxtPtr p = user;
    parse_state *st = state_of(user);
    st->refused = 1;
    set_reason(st, msg, xmlSAX2GetLineNumber(p));
    xmlStopParser(p);
}

/* Structured errors of this parser context only. The first error stops
 * the parser: the document is refused anyway, and libxml2 would otherwise
 * go on reading what follows (es_xml_attrs_ok relies on this). */
static void on_error(void *user, xmlErrorPtr err)
{
    if (err == NULL || err->level < XML_ERR_ERROR)
        return; /* warnings are dropped, never printed */
    parse_state *st = state_of(user);
    st->failed = 1;
    set_reason(st, err->message != NULL ? err->message : "not well-formed", err->line);
    xmlStopParser(user);
}

static void on_internal_subset(void *user, const xmlChar *name, const xmlChar *ext_id,
                               const xmlChar *sys_id)
{
    (void)name;
    (void)ext_id;
    (void)sys_id;
    refuse(user, "DOCTYPE is not allowed");
}

static void on_entity_decl(void *user, const xmlChar *name, int type, const xmlChar *pub_id,
                           const xmlChar *sys_id, xmlChar *content)
{
    (void)name;
    (void)type;
    (void)pub_id;
    (void)sys_id;
    (void)content;
    refuse(user, "entity declaration is not allowed");
}

static void on_element_decl(void *user, const xmlChar *name, int type,
                            xmlElementContentPtr content)
{
    (void)name;
    (void)type;
    (void)content;
    refuse(user, "DTD declaration is not allowed");
}

static void on_attribute_decl(void *user, const xmlChar *elem, const xmlChar *fullname, int type,
                              int def, const xmlChar *default_value, xmlEnumerationPtr tree)
{
    (void)elem;
    (void)fullname;
    (void)type;
    (void)def;
    (void)default_value;
    xmlFreeEnumeration(tree); /* the handler owns it */
    refuse(user, "DTD declaration is not allowed");
}

static void on_notation_decl(void *user, const xmlChar *name, const xmlChar *pub_id,
                             const xmlChar *sys_id)
{
    (void)name;
    (void)pub_id;
    (void)sys_id;
    refuse(user, "DTD declaration is not allowed");
}

static void on_unparsed_entity_decl(void *user, const xmlChar *name, const xmlChar *pub_id,
                                    const xmlChar *sys_id, const xmlChar *notation)
{
    (void)name;
    (void)pub_id;
    (void)sys_id;
    (void)notation;
    refuse(user, "entity declaration is not allowed");
}

/* Only the five predefined entities exist. */
static xmlEntityPtr on_get_entity(void *user, const xmlChar *name)
{
    (void)user;
    return xmlGetPredefinedEntity(name);
}

static xmlEntityPtr on_get_parameter_entity(void *user, const xmlChar *name)
{
    (void)user;
    (void)name;
    return NULL;
}

static xmlParserInputPtr on_resolve_entity(void *user, const xmlChar *pub_id, const xmlChar *sys_id)
{
    (void)pub_id;
    (void)sys_id;
    refuse(user, "external entities are not allowed");
    return NULL;
}

/* Count depth before a node exists, so a deep document stops early. */
static void on_start_element(void *user, const xmlChar *localname, const xmlChar *prefix,
                             const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                             int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    parse_state *st = state_of(user);
    if (st->depth >= ES_XML_MAX_DEPTH) {
        refuse(user, "elements nested too deeply");
        return;
    }
    st->depth++;
    /* libxml2 keeps "&amp;" in a namespace name as "&#38;", which then
     * serializes as another name: such a namespace could not be carried
     * intact, so it is refused rather than altered. */
    for (int i = 0; i < nb_namespaces; i++)
        if (namespaces[2 * i + 1] != NULL && strchr((const char *)namespaces[2 * i + 1], '&')) {
            refuse(user, "a namespace name with '&' is not supported");
            return;
        }
    xmlSAX2StartElementNs(user, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
                          nb_defaulted, attributes);
}

static void on_end_element(void *user, const xmlChar *localname, const xmlChar *prefix,
                           const xmlChar *uri)
{
    parse_state *st = state_of(user);
    if (st->depth > 0)
        st->depth--;
    xmlSAX2EndElementNs(user, localname, prefix, uri);
}

static void harden(xmlParserCtxtPtr p)
{
    xmlSAXHandlerPtr sax = p->sax;
    sax->internalSubset = on_internal_subset;
    sax->externalSubset = on_internal_subset;
    sax->entityDecl = on_entity_decl;
    sax->elementDecl = on_element_decl;
    sax->attributeDecl = on_attribute_decl;
    sax->notationDecl = on_notation_decl;
    sax->unparsedEntityDecl = on_unparsed_entity_decl;
    sax->getEntity = on_get_entity;
    sax->getParameterEntity = on_get_parameter_entity;
    sax->resolveEntity = on_resolve_entity;
    sax->startElementNs = on_start_element;
    sax->endElementNs = on_end_element;
    sax->serror = on_error;
    sax->warning = NULL;
    sax->error = NULL;
    sax->fatalError = NULL;
    /* Do not inherit process-wide defaults another library may have set. */
    p->options &= ~(XML_PARSE_NOENT | XML_PARSE_DTDLOAD | XML_PARSE_DTDATTR | XML_PARSE_DTDVALID |
                    XML_PARSE_NOBLANKS | XML_PARSE_XINCLUDE | XML_PARSE_HUGE | XML_PARSE_RECOVER);
    p->replaceEntities = 0;
    p->loadsubset = 0;
    p->validate = 0;
    p->pedantic = 0;
    p->keepBlanks = 1;
    sax->ignorableWhitespace = xmlSAX2Characters;
    p->linenumbers = 1;
}

static int count_roots(const xmlDoc *doc)
{
    int n = 0;
    for (const xmlNode *c = doc->children; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            n++;
        else if (c->type == XML_DTD_NODE)
            return -1;
    return n;
}

esession_status es_xml_parse(esession_ctx *ctx, const char *text, size_t len, xmlDocPtr *out)
{
    if (out == NULL || (text == NULL && len > 0))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "es_xml_parse: bad arguments");
    if (len > ES_XML_MAX_BYTES)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "XML: document of %zu octets exceeds %u",
                       len, ES_XML_MAX_BYTES);
    if (len == 0)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "XML: empty document");
    /* Also guarantees libxml2 sees UTF-8 and no NUL (which it would take
     * for the end of input). */
    size_t bad = 0;
    if (!es_xml_chars_ok(text, len, &bad))
        return es_fail(ctx, ESESSION_ERR_MALFORMED,
                       "XML: invalid UTF-8 or non-XML character at offset %zu", bad);
    es_xml_attr_count over;
    if (!es_xml_attrs_ok(text, len, &over))
        return es_fail(ctx, ESESSION_ERR_MALFORMED,
                       "XML: too many attributes: the element at offset %zu has %zu, %zu of them "
                       "namespace declarations, with %zu declarations in scope (at most %u, %u, "
                       "%u)",
                       over.offset, over.attrs, over.ns, over.in_scope, ES_XML_MAX_ATTRS,
                       ES_XML_MAX_NS_DECLS, ES_XML_MAX_NS_IN_SCOPE);

    xmlParserCtxtPtr p = xmlCreateMemoryParserCtxt(text, (int)len);
    if (p == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "XML: no parser context");
    parse_state st;
    memset(&st, 0, sizeof st);
    p->_private = &st;
    /* COMPACT: text of under 16 octets lives in its node, not in an
     * allocation of its own (wiped with it by es_xml_wipe_text); the
     * library reads parsed trees and never edits their text. */
    (void)xmlCtxtUseOptions(p, XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_IGNORE_ENC |
                                   XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_COMPACT);
    harden(p);

    int rc = xmlParseDocument(p);
    xmlDocPtr doc = p->myDoc;
    p->myDoc = NULL;
    int ok = rc == 0 && p->wellFormed && p->nsWellFormed && !st.refused && !st.failed &&
             doc != NULL;
    xmlFreeParserCtxt(p);

    if (ok && (doc->intSubset != NULL || doc->extSubset != NULL)) {
        ok = 0;
        set_reason(&st, "DOCTYPE is not allowed", 0);
    }
    if (ok && count_roots(doc) != 1) {
        ok = 0;
        set_reason(&st, "expected exactly one root element", 0);
    }
    if (!ok) {
        xmlFreeDoc(doc);
        if (st.reason[0] == '\0')
            set_reason(&st, "not well-formed", 0);
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "%s", st.reason);
    }
    *out = doc;
    return ESESSION_OK;
}

/* ---- tree helpers ------------------------------------------------- */

static int ns_matches(const xmlNode *node, const char *ns)
{
    if (ns == NULL)
        return 1;
    const char *href = node->ns != NULL && node->ns->href != NULL ? (const char *)node->ns->href : "";
    return strcmp(href, ns) == 0;
}

int es_xml_is(const xmlNode *node, const char *name, const char *ns)
{
    return node != NULL && node->type == XML_ELEMENT_NODE && node->name != NULL &&
           name != NULL && strcmp((const char *)node->name, name) == 0 && ns_matches(node, ns);
}

xmlNodePtr es_xml_child(const xmlNode *parent, const char *name, const char *ns)
{
    if (parent == NULL)
        return NULL;
    for (xmlNodePtr c = parent->children; c != NULL; c = c->next)
        if (es_xml_is(c, name, ns))
            return c;
    return NULL;
}

void es_xml_wipe_text(const xmlDoc *doc, xmlNode *n)
{
    for (; n != NULL; n = n->next) {
        if (n->content != NULL && (doc->dict == NULL || xmlDictOwns(doc->dict, n->content) != 1))
            sodium_memzero(n->content, strlen((const char *)n->content));
        if (n->type == XML_ELEMENT_NODE) {
            for (xmlAttr *a = n->properties; a != NULL; a = a->next)
                es_xml_wipe_text(doc, a->children);
            es_xml_wipe_text(doc, n->children);
        }
    }
}
