/* SPDX-License-Identifier: ISC */
/* es_xml_serialize: a node as self-contained UTF-8 XML. Written by hand
 * (not xmlNodeDump) so that a secret output never passes through a libxml2
 * buffer, and so that exactly the namespace declarations the subtree needs
 * from its ancestors are added. */
#include "xml.h"

#include "strbuf.h"

#include <stdlib.h>
#include <string.h>

#define SER_MAX_DEPTH 64u
#define SER_MAX_OUT (8u * ES_XML_MAX_BYTES)

/* One in-scope binding of the output: prefix (NULL: default) -> href. */
typedef struct ns_bind {
    const char *prefix;
    const char *href;
} ns_bind;

typedef struct ser {
    es_sb sb;
    ns_bind *scope;
    size_t n;
    size_t cap;
    esession_status status;
} ser;

static const char *str(const xmlChar *s)
{
    return (const char *)s;
}

static int same_prefix(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Current binding of prefix in the output ("" for an unbound default). */
static const char *lookup(const ser *s, const char *prefix, size_t *where)
{
    for (size_t i = s->n; i-- > 0;)
        if (same_prefix(s->scope[i].prefix, prefix)) {
            *where = i;
            return s->scope[i].href;
        }
    *where = SIZE_MAX;
    if (prefix == NULL)
        return "";
    if (strcmp(prefix, "xml") == 0)
        return (const char *)XML_XML_NAMESPACE;
    return NULL;
}

static int push(ser *s, const char *prefix, const char *href)
{
    if (s->n == s->cap) {
        size_t cap = s->cap == 0 ? 8 : s->cap * 2;
        ns_bind *p = realloc(s->scope, cap * sizeof *p);
        if (p == NULL) {
            s->status = ESESSION_ERR_NO_MEMORY;
            return -1;
        }
        s->scope = p;
        s->cap = cap;
    }
    s->scope[s->n].prefix = prefix;
    s->scope[s->n].href = href;
    s->n++;
    return 0;
}

static void put_qname(es_sb *b, const xmlNs *ns, const xmlChar *name)
{
    if (ns != NULL && ns->prefix != NULL) {
        es_sb_puts(b, str(ns->prefix));
        es_sb_put(b, ":", 1);
    }
    es_sb_puts(b, str(name));
}

static void put_decl(es_sb *b, const char *prefix, const char *href)
{
    es_sb_puts(b, " xmlns");
    if (prefix != NULL) {
        es_sb_put(b, ":", 1);
        es_sb_puts(b, prefix);
    }
    es_sb_puts(b, "=\"");
    es_sb_put_escaped(b, href, ES_XML_ATTR);
    es_sb_put(b, "\"", 1);
}

/* Bind prefix to href in the output unless it already is; level is the
 * first scope slot of the element being written. */
static int need(ser *s, const char *prefix, const char *href, size_t level)
{
    size_t where;
    const char *cur = lookup(s, prefix, &where);
    if (cur != NULL && strcmp(cur, href) == 0)
        return 0;
    if (prefix != NULL && strcmp(prefix, "xml") == 0)
        return -1; /* the xml prefix cannot be rebound */
    if (where != SIZE_MAX && where >= level)
        return -1; /* this element already binds the prefix differently */
    if (push(s, prefix, href) != 0)
        return -1;
    put_decl(&s->sb, prefix, href);
    return 0;
}

static const char *href_of(const xmlNs *ns)
{
    return ns != NULL && ns->href != NULL ? str(ns->href) : "";
}

static int write_node(ser *s, const xmlNode *node, unsigned depth);

static int write_attr_value(ser *s, const xmlAttr *a)
{
    for (const xmlNode *c = a->children; c != NULL; c = c->next) {
        if (c->type != XML_TEXT_NODE)
            return -1;
        if (c->content != NULL)
            es_sb_put_escaped(&s->sb, str(c->content), ES_XML_ATTR);
    }
    return 0;
}

static int write_element(ser *s, const xmlNode *e, unsigned depth)
{
    if (depth >= SER_MAX_DEPTH) {
        s->status = ESESSION_ERR_LIMIT;
        return -1;
    }
    size_t level = s->n;
    const char *eh = href_of(e->ns);
    const xmlNs *ens = *eh != '\0' ? e->ns : NULL;
    es_sb_put(&s->sb, "<", 1);
    put_qname(&s->sb, ens, e->name);

    for (const xmlNs *d = e->nsDef; d != NULL; d = d->next) {
        size_t where;
        const char *prefix = str(d->prefix);
        (void)lookup(s, prefix, &where);
        if (where != SIZE_MAX && where >= level)
            return -1; /* declared twice on one element */
        if (push(s, prefix, href_of(d)) != 0)
            return -1;
        put_decl(&s->sb, prefix, href_of(d));
    }
    if (need(s, ens != NULL ? str(ens->prefix) : NULL, eh, level) != 0)
        return -1;
    for (const xmlAttr *a = e->properties; a != NULL; a = a->next) {
        const char *ah = href_of(a->ns);
        if (*ah == '\0')
            continue;
        if (a->ns->prefix == NULL || need(s, str(a->ns->prefix), ah, level) != 0)
            return -1;
    }
    for (const xmlAttr *a = e->properties; a != NULL; a = a->next) {
        es_sb_put(&s->sb, " ", 1);
        put_qname(&s->sb, *href_of(a->ns) != '\0' ? a->ns : NULL, a->name);
        es_sb_puts(&s->sb, "=\"");
        if (write_attr_value(s, a) != 0)
            return -1;
        es_sb_put(&s->sb, "\"", 1);
    }

    if (e->children == NULL) {
        es_sb_puts(&s->sb, "/>");
    } else {
        es_sb_put(&s->sb, ">", 1);
        for (const xmlNode *c = e->children; c != NULL; c = c->next)
            if (write_node(s, c, depth + 1) != 0)
                return -1;
        es_sb_puts(&s->sb, "</");
        put_qname(&s->sb, ens, e->name);
        es_sb_put(&s->sb, ">", 1);
    }
    s->n = level;
    return 0;
}

static int write_node(ser *s, const xmlNode *node, unsigned depth)
{
    switch (node->type) {
    case XML_ELEMENT_NODE:
        return write_element(s, node, depth);
    case XML_TEXT_NODE:
    case XML_CDATA_SECTION_NODE:
        if (node->content != NULL)
            es_sb_put_escaped(&s->sb, str(node->content), ES_XML_TEXT);
        return 0;
    case XML_COMMENT_NODE:
        es_sb_puts(&s->sb, "<!--");
        if (node->content != NULL)
            es_sb_puts(&s->sb, str(node->content));
        es_sb_puts(&s->sb, "-->");
        return 0;
    case XML_PI_NODE:
        es_sb_puts(&s->sb, "<?");
        es_sb_puts(&s->sb, str(node->name));
        if (node->content != NULL && node->content[0] != '\0') {
            es_sb_put(&s->sb, " ", 1);
            es_sb_puts(&s->sb, str(node->content));
        }
        es_sb_puts(&s->sb, "?>");
        return 0;
    default:
        return -1; /* entity references, DTD nodes: never in a parsed tree */
    }
}

esession_status es_xml_serialize(const xmlNode *node, esession_buf *out, int secret)
{
    return es_xml_serialize_in(NULL, node, out, secret);
}

esession_status es_xml_serialize_in(const esession_ctx *ctx, const xmlNode *node,
                                    esession_buf *out, int secret)
{
    if (node == NULL || out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    ser s;
    memset(&s, 0, sizeof s);
    es_sb_init_in(&s.sb, ctx, SER_MAX_OUT, secret);
    int rc = write_node(&s, node, 0);
    free(s.scope);
    if (rc != 0) {
        es_sb_free(&s.sb);
        if (s.status != ESESSION_OK)
            return s.status;
        return s.sb.status != ESESSION_OK ? s.sb.status : ESESSION_ERR_INVALID_ARGUMENT;
    }
    return es_sb_finish(&s.sb, out);
}
