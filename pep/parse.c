/* SPDX-License-Identifier: ISC */
/* The server's answers to the PEP IQs: results, errors, Alice's options. */
#include "pep.h"

#include <string.h>

#define NS_PUBSUB "http://jabber.org/protocol/pubsub"
#define NS_PUBSUB_ERRORS "http://jabber.org/protocol/pubsub#errors"
#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"
#define NS_RSM "http://jabber.org/protocol/rsm"
#define NS_DATA "jabber:x:data"

static esession_status malformed(esession_ctx *ctx, const char *why)
{
    return es_fail(ctx, ESESSION_ERR_MALFORMED, "pep: %s", why);
}

static const char *ns_of(const xmlNode *n)
{
    return n->ns != NULL ? (const char *)n->ns->href : NULL;
}

static int in_ns(const xmlNode *n, const char *ns)
{
    return n->ns != NULL && n->ns->href != NULL && strcmp((const char *)n->ns->href, ns) == 0;
}

static int same_ns(const xmlNode *a, const xmlNode *b)
{
    const char *x = ns_of(a), *y = ns_of(b);
    if (x == NULL || y == NULL)
        return x == y;
    return strcmp(x, y) == 0;
}

/* Attribute without namespace, or NULL; the caller xmlFree()s it. */
static char *attr(const xmlNode *n, const char *name)
{
    return (char *)xmlGetNoNsProp(n, (const xmlChar *)name);
}

static int attr_is(const xmlNode *n, const char *name, const char *want)
{
    char *v = attr(n, name);
    int eq = v != NULL && strcmp(v, want) == 0;
    xmlFree(v);
    return eq;
}

/* Children other than elements may only be whitespace (stanzas carry no
 * comments or processing instructions, RFC 6120 §11.1). Counts elements. */
static int only_elements(const xmlNode *parent, size_t *count)
{
    size_t k = 0;
    for (const xmlNode *c = parent->children; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) {
            k++;
        } else if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
            if (!xmlIsBlankNode(c))
                return 0;
        } else {
            return 0;
        }
    }
    *count = k;
    return 1;
}

static const xmlNode *first_element(const xmlNode *parent)
{
    for (const xmlNode *c = parent->children; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE)
            return c;
    }
    return NULL;
}

static int ascii_caseeq(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++) {
        unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return *a == *b;
}

/* Copy a short printable-ASCII value; anything else stays "". */
static void copy_name(char dst[ES_PEP_NAME_MAX], const char *src)
{
    dst[0] = '\0';
    if (src == NULL)
        return;
    size_t n = strlen(src);
    if (n == 0 || n >= ES_PEP_NAME_MAX)
        return;
    for (size_t i = 0; i < n; i++) {
        if (src[i] < 0x21 || src[i] > 0x7e)
            return;
    }
    memcpy(dst, src, n + 1);
}

static void read_error(const xmlNode *iq, es_pep_error *e)
{
    memset(e, 0, sizeof *e);
    e->cond = ES_PEP_COND_OTHER;
    const xmlNode *error = NULL;
    for (const xmlNode *c = iq->children; c != NULL && error == NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && es_xml_is(c, "error", NULL) && same_ns(c, iq))
            error = c;
    }
    if (error == NULL)
        return;
    char *type = attr(error, "type");
    copy_name(e->type, type);
    xmlFree(type);
    int have_cond = 0, have_app = 0;
    for (const xmlNode *c = error->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (!have_cond && in_ns(c, NS_STANZAS) &&
            strcmp((const char *)c->name, "text") != 0) {
            have_cond = 1;
            copy_name(e->name, (const char *)c->name);
            e->cond = es_pep_cond_from_name((const char *)c->name);
        } else if (!have_app && in_ns(c, NS_PUBSUB_ERRORS)) {
            have_app = 1;
            copy_name(e->app, (const char *)c->name);
            char *feature = attr(c, "feature");
            copy_name(e->feature, feature);
            xmlFree(feature);
        }
    }
}

/* The envelope every answer shares. Returns OK for a result, PUBSUB (err
 * filled) for an error, MALFORMED otherwise. */
static esession_status check_iq(esession_ctx *ctx, const es_pep_request *req,
                                const xmlNode *iq, es_pep_error *err)
{
    if (iq == NULL || iq->type != XML_ELEMENT_NODE || !es_xml_is(iq, "iq", NULL))
        return malformed(ctx, "response is not an <iq>");
    const char *ns = ns_of(iq);
    if (ns != NULL && strcmp(ns, "jabber:client") != 0 && strcmp(ns, "jabber:server") != 0)
        return malformed(ctx, "<iq> in a foreign namespace");
    if (!attr_is(iq, "id", req->id))
        return malformed(ctx, "iq id does not match the request");

    char *from = attr(iq, "from");
    int from_ok;
    if (req->kind == ES_PEP_ITEMS)
        from_ok = from != NULL && ascii_caseeq(from, req->to);
    else
        from_ok = from == NULL || (from[0] != '\0' && strchr(from, '/') == NULL);
    xmlFree(from);
    if (!from_ok)
        return malformed(ctx, "response 'from' is not the entity asked");

    char *type = attr(iq, "type");
    esession_status rc;
    if (type != NULL && strcmp(type, "result") == 0) {
        rc = ESESSION_OK;
    } else if (type != NULL && strcmp(type, "error") == 0) {
        es_pep_error e;
        read_error(iq, &e);
        rc = es_fail(ctx, ESESSION_ERR_PUBSUB, "pep: server error %s%s%s",
                     e.name[0] != '\0' ? e.name : "(no condition)",
                     e.app[0] != '\0' ? " / " : "", e.app);
        if (err != NULL)
            *err = e;
    } else {
        rc = malformed(ctx, "iq type is neither result nor error");
    }
    xmlFree(type);
    return rc;
}

/* A request as a builder fills it, of the kind the parser handles. */
static int req_ok(const es_pep_request *req, int items)
{
    if (req == NULL || es_pep_node_name(req->node) == NULL)
        return 0;
    if (memchr(req->id, '\0', sizeof req->id) == NULL || req->id[0] == '\0' ||
        memchr(req->to, '\0', sizeof req->to) == NULL)
        return 0;
    if (items)
        return req->kind == ES_PEP_ITEMS && req->to[0] != '\0';
    return req->kind == ES_PEP_CREATE || req->kind == ES_PEP_PUBLISH ||
           req->kind == ES_PEP_PUBLISH_EMPTY || req->kind == ES_PEP_RETRACT;
}

esession_status es_pep_check_ack(esession_ctx *ctx, const es_pep_request *req,
                                 const xmlNode *iq, es_pep_error *err)
{
    if (!req_ok(req, 0))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "pep: not a create or publish");
    esession_status rc = check_iq(ctx, req, iq, err);
    /* A result may echo what was done (<publish><item id=.../>); not needed. */
    if (rc == ESESSION_OK && err != NULL)
        memset(err, 0, sizeof *err);
    return rc;
}

esession_status es_pep_check_items(esession_ctx *ctx, const es_pep_request *req,
                                   xmlNode *iq, xmlNodePtr *x_out, es_pep_error *err)
{
    if (!req_ok(req, 1) || x_out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "pep: not an items request");
    const char *node = es_pep_node_name(req->node);
    esession_status rc = check_iq(ctx, req, iq, err);
    if (rc != ESESSION_OK)
        return rc;

    size_t n;
    if (!only_elements(iq, &n) || n != 1)
        return malformed(ctx, "result must hold exactly one <pubsub>");
    const xmlNode *pubsub = first_element(iq);
    if (!es_xml_is(pubsub, "pubsub", NS_PUBSUB) || !only_elements(pubsub, &n))
        return malformed(ctx, "result must hold exactly one <pubsub>");

    /* <items>, and at most a result-set-management <set> beside it. */
    const xmlNode *items = NULL;
    int rsm = 0;
    for (const xmlNode *c = pubsub->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (items == NULL && es_xml_is(c, "items", NS_PUBSUB))
            items = c;
        else if (!rsm && es_xml_is(c, "set", NS_RSM))
            rsm = 1;
        else
            return malformed(ctx, "unexpected element in <pubsub>");
    }
    if (items == NULL)
        return malformed(ctx, "result has no <items>");
    if (!attr_is(items, "node", node))
        return malformed(ctx, "<items> is for another node");
    if (!only_elements(items, &n))
        return malformed(ctx, "text in <items>");
    for (const xmlNode *c = items->children; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && !es_xml_is(c, "item", NS_PUBSUB))
            return malformed(ctx, "unexpected element in <items>");
    }
    if (n == 0)
        return es_fail(ctx, ES_PEP_NO_OPTIONS, "pep: no published options");
    if (n > 1)
        return malformed(ctx, "more than one item");

    const xmlNode *item = first_element(items);
    if (!only_elements(item, &n))
        return malformed(ctx, "item payload is not a data form");
    if (n == 0)
        return es_fail(ctx, ES_PEP_NO_OPTIONS, "pep: no published options (empty item)");
    if (n > 1)
        return malformed(ctx, "item holds more than one element");
    /* Found by walking iq's own children: no const is cast away. */
    xmlNode *x = item->children;
    while (x->type != XML_ELEMENT_NODE)
        x = x->next;
    if (!es_xml_is(x, "x", NS_DATA))
        return malformed(ctx, "item payload is not a data form");

    if (err != NULL)
        memset(err, 0, sizeof *err);
    *x_out = x;
    return ESESSION_OK;
}

esession_status es_pep_parse_ack(esession_ctx *ctx, const es_pep_request *req,
                                 const char *text, size_t len, es_pep_error *err)
{
    if (!req_ok(req, 0) || text == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "pep: bad arguments");
    xmlDocPtr doc = NULL;
    esession_status rc = es_xml_parse(ctx, text, len, &doc);
    if (rc != ESESSION_OK)
        return rc;
    rc = es_pep_check_ack(ctx, req, xmlDocGetRootElement(doc), err);
    xmlFreeDoc(doc);
    return rc;
}

esession_status es_pep_parse_items(esession_ctx *ctx, const es_pep_request *req,
                                   const char *text, size_t len,
                                   xmlDocPtr *doc_out, xmlNodePtr *x_out, es_pep_error *err)
{
    if (!req_ok(req, 1) || text == NULL || doc_out == NULL || x_out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "pep: bad arguments");
    xmlDocPtr doc = NULL;
    esession_status rc = es_xml_parse(ctx, text, len, &doc);
    if (rc != ESESSION_OK)
        return rc;
    xmlNodePtr x = NULL;
    rc = es_pep_check_items(ctx, req, xmlDocGetRootElement(doc), &x, err);
    if (rc != ESESSION_OK) {
        xmlFreeDoc(doc);
        return rc;
    }
    *doc_out = doc;
    *x_out = x;
    return ESESSION_OK;
}
