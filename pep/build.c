/* SPDX-License-Identifier: ISC */
/* The IQs Alice and Bob send (PROFILE §7, XEP-0187 Listings 1-8). */
#include "pep.h"

#include "../core/jid.h"
#include "../core/xmlesc.h"

#include <stdlib.h>
#include <string.h>

#define NS_PUBSUB "http://jabber.org/protocol/pubsub"
#define NS_DATA "jabber:x:data"

/* Largest stanza built: the payload plus room for the wrapper. */
#define STANZA_MAX (ES_PEP_PAYLOAD_MAX + 4096u)

/* Growing text with a sticky error, bounded by STANZA_MAX. */
typedef struct sb {
    char *p;
    size_t len;
    size_t cap;
    esession_status rc;
} sb;

static void sb_put(sb *s, const char *t, size_t n)
{
    if (s->rc != ESESSION_OK || n == 0)
        return;
    if (n > STANZA_MAX - s->len) {
        s->rc = ESESSION_ERR_LIMIT;
        return;
    }
    if (s->len + n > s->cap) {
        size_t cap = s->cap == 0 ? 1024u : s->cap;
        while (cap < s->len + n)
            cap *= 2u;
        if (cap > STANZA_MAX)
            cap = STANZA_MAX;
        char *q = realloc(s->p, cap);
        if (q == NULL) {
            s->rc = ESESSION_ERR_NO_MEMORY;
            return;
        }
        s->p = q;
        s->cap = cap;
    }
    memcpy(s->p + s->len, t, n);
    s->len += n;
}

static void sb_str(sb *s, const char *t)
{
    sb_put(s, t, strlen(t));
}

static void put_sink(void *s, const char *t, size_t n)
{
    sb_put(s, t, n);
}

/* An attribute value, escaped for either quote character. */
static void sb_attr(sb *s, const char *t, size_t n)
{
    es_xml_escape(t, n, ES_XML_ATTR, put_sink, s);
}

/* Hand the text over as a library buffer and fill req. */
static esession_status sb_finish(esession_ctx *ctx, sb *s, esession_buf *out,
                                 es_pep_request *req, const es_pep_request *made)
{
    esession_status rc = s->rc;
    if (rc == ESESSION_OK)
        rc = es_buf_set(out, s->p, s->len, 0);
    free(s->p);
    s->p = NULL;
    if (rc != ESESSION_OK)
        return es_fail(ctx, rc, "pep: cannot build the stanza");
    *req = *made;
    return ESESSION_OK;
}

/* Common start: arguments, a fresh id, and `<iq type='T' [to='J'] id='ID'>
 * <pubsub xmlns='...'>`. */
static esession_status begin(esession_ctx *ctx, es_pep_kind kind, es_pep_node node,
                             esession_buf *out, es_pep_request *req,
                             const char *jid, size_t jid_len,
                             sb *s, es_pep_request *made)
{
    if (out == NULL || req == NULL || es_pep_node_name(node) == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "pep: bad arguments");
    memset(made, 0, sizeof *made);
    made->kind = kind;
    made->node = node;
    if (jid != NULL)
        memcpy(made->to, jid, jid_len); /* checked by the caller; NUL kept */
    esession_status rc = es_pep_new_id(ctx, made->id);
    if (rc != ESESSION_OK)
        return rc;

    sb_str(s, kind == ES_PEP_ITEMS ? "<iq type='get'" : "<iq type='set'");
    if (jid != NULL) {
        sb_str(s, " to='");
        sb_attr(s, jid, jid_len);
        sb_str(s, "'");
    }
    sb_str(s, " id='");
    sb_str(s, made->id);
    sb_str(s, "'><pubsub xmlns='" NS_PUBSUB "'>");
    return ESESSION_OK;
}

static void field(sb *s, const char *var, const char *value)
{
    sb_str(s, "<field var='");
    sb_str(s, var);
    sb_str(s, "'><value>");
    sb_str(s, value);
    sb_str(s, "</value></field>");
}

esession_status es_pep_build_create(esession_ctx *ctx, es_pep_node node,
                                    esession_buf *out, es_pep_request *req)
{
    sb s = {0};
    es_pep_request made;
    esession_status rc = begin(ctx, ES_PEP_CREATE, node, out, req, NULL, 0, &s, &made);
    if (rc != ESESSION_OK)
        return rc;
    sb_str(&s, "<create node='");
    sb_str(&s, es_pep_node_name(node));
    sb_str(&s, "'/><configure><x xmlns='" NS_DATA "' type='submit'>"
               "<field var='FORM_TYPE' type='hidden'>"
               "<value>http://jabber.org/protocol/pubsub#node_config</value></field>");
    /* Plain <value>s: servers reject or ignore the <option> wrapping of
     * XEP-0187 Listings 1-2. persist_items keeps the item while Alice is
     * offline; max_items 1 keeps only the current option set. */
    field(&s, "pubsub#access_model", es_pep_node_access_model(node));
    field(&s, "pubsub#deliver_notifications", "0");
    field(&s, "pubsub#send_last_published_item", "never");
    field(&s, "pubsub#persist_items", "1");
    field(&s, "pubsub#max_items", "1");
    sb_str(&s, "</x></configure></pubsub></iq>");
    return sb_finish(ctx, &s, out, req, &made);
}

/* Deepest element nesting below and including n (n itself = 1). Iterative:
 * the tree is already bounded by es_xml_parse, but keep the stack flat. */
static size_t depth_of(const xmlNode *n)
{
    size_t depth = 1, max = 1;
    const xmlNode *cur = n;
    for (;;) {
        const xmlNode *c = cur->children;
        while (c != NULL && c->type != XML_ELEMENT_NODE)
            c = c->next;
        if (c != NULL) {
            cur = c;
            if (++depth > max)
                max = depth;
            continue;
        }
        /* Next element sibling, climbing up as needed. */
        for (;;) {
            if (cur == n)
                return max;
            const xmlNode *sib = cur->next;
            while (sib != NULL && sib->type != XML_ELEMENT_NODE)
                sib = sib->next;
            if (sib != NULL) {
                cur = sib;
                break;
            }
            cur = cur->parent;
            depth--;
        }
    }
}

/* The payload must be exactly one jabber:x:data <x> that declares the
 * default namespace itself: inserted verbatim under <item>, it then means
 * the same thing as on its own. */
static esession_status check_form(esession_ctx *ctx, const char *form, size_t len)
{
    if (form == NULL || len == 0)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "pep: no options form");
    if (len > ES_PEP_PAYLOAD_MAX)
        return es_fail(ctx, ESESSION_ERR_LIMIT, "pep: options form larger than %u octets",
                       (unsigned)ES_PEP_PAYLOAD_MAX);
    /* Nothing before or after the element: no declaration, space or BOM. */
    if (form[0] != '<' || (len > 1 && form[1] == '?') || form[len - 1] != '>')
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT,
                       "pep: options form must be one bare element");
    xmlDocPtr doc = NULL;
    if (es_xml_parse(ctx, form, len, &doc) != ESESSION_OK)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "pep: options form is not XML");
    esession_status rc = ESESSION_OK;
    const xmlNode *root = xmlDocGetRootElement(doc);
    if (root == NULL || doc->children != root || root->next != NULL ||
        doc->intSubset != NULL || !es_xml_is(root, "x", NS_DATA) ||
        root->ns->prefix != NULL) {
        rc = es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT,
                     "pep: payload is not one <x xmlns='jabber:x:data'>");
    } else if (depth_of(root) > ES_PEP_PAYLOAD_DEPTH_MAX) {
        rc = es_fail(ctx, ESESSION_ERR_LIMIT, "pep: options form nested too deeply");
    }
    xmlFreeDoc(doc);
    return rc;
}

static esession_status publish(esession_ctx *ctx, es_pep_kind kind, es_pep_node node,
                               const char *form, size_t form_len,
                               esession_buf *out, es_pep_request *req)
{
    sb s = {0};
    es_pep_request made;
    esession_status rc = begin(ctx, kind, node, out, req, NULL, 0, &s, &made);
    if (rc != ESESSION_OK)
        return rc;
    sb_str(&s, "<publish node='");
    sb_str(&s, es_pep_node_name(node));
    sb_str(&s, "'><item id='" ES_PEP_ITEM_ID "'");
    if (form != NULL) {
        sb_str(&s, ">");
        sb_put(&s, form, form_len); /* verbatim: its text is what was signed */
        sb_str(&s, "</item>");
    } else {
        sb_str(&s, "/>");
    }
    sb_str(&s, "</publish></pubsub></iq>");
    return sb_finish(ctx, &s, out, req, &made);
}

esession_status es_pep_build_publish(esession_ctx *ctx, es_pep_node node,
                                     const char *form, size_t form_len,
                                     esession_buf *out, es_pep_request *req)
{
    if (out == NULL || req == NULL || es_pep_node_name(node) == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "pep: bad arguments");
    esession_status rc = check_form(ctx, form, form_len);
    if (rc != ESESSION_OK)
        return rc;
    return publish(ctx, ES_PEP_PUBLISH, node, form, form_len, out, req);
}

esession_status es_pep_build_publish_built(esession_ctx *ctx, es_pep_node node,
                                           const char *form, size_t form_len,
                                           esession_buf *out, es_pep_request *req)
{
    static const char open[] = "<x xmlns='jabber:x:data' ", close[] = "</x>";
    if (out == NULL || req == NULL || es_pep_node_name(node) == NULL || form == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "pep: bad arguments");
    if (form_len > ES_PEP_PAYLOAD_MAX)
        return es_fail(ctx, ESESSION_ERR_LIMIT, "pep: options form larger than %u octets",
                       (unsigned)ES_PEP_PAYLOAD_MAX);
    /* What es_form_serialize writes begins and ends so; its nesting is
     * the form's own (field, value, option). */
    if (form_len < strlen(open) + strlen(close) || memcmp(form, open, strlen(open)) != 0 ||
        memcmp(form + form_len - strlen(close), close, strlen(close)) != 0)
        return es_fail(ctx, ESESSION_ERR_INTERNAL, "pep: not a form the library wrote");
    return publish(ctx, ES_PEP_PUBLISH, node, form, form_len, out, req);
}

esession_status es_pep_build_publish_empty(esession_ctx *ctx, es_pep_node node,
                                           esession_buf *out, es_pep_request *req)
{
    /* Same item id as the options: the empty item replaces them. */
    return publish(ctx, ES_PEP_PUBLISH_EMPTY, node, NULL, 0, out, req);
}

esession_status es_pep_build_retract(esession_ctx *ctx, es_pep_node node, esession_buf *out,
                                     es_pep_request *req)
{
    sb s = {0};
    es_pep_request made;
    esession_status rc = begin(ctx, ES_PEP_RETRACT, node, out, req, NULL, 0, &s, &made);
    if (rc != ESESSION_OK)
        return rc;
    sb_str(&s, "<retract node='");
    sb_str(&s, es_pep_node_name(node));
    sb_str(&s, "'><item id='" ES_PEP_ITEM_ID "'/></retract></pubsub></iq>");
    return sb_finish(ctx, &s, out, req, &made);
}

esession_status es_pep_build_items(esession_ctx *ctx, const char *jid, es_pep_node node,
                                   esession_buf *out, es_pep_request *req)
{
    if (es_jid_check(ctx, jid, ESESSION_JID_BARE) != ESESSION_OK)
        return ESESSION_ERR_INVALID_ARGUMENT;
    sb s = {0};
    es_pep_request made;
    esession_status rc = begin(ctx, ES_PEP_ITEMS, node, out, req, jid, strlen(jid), &s, &made);
    if (rc != ESESSION_OK)
        return rc;
    /* max_items: the latest item only, even where the node keeps more. */
    sb_str(&s, "<items node='");
    sb_str(&s, es_pep_node_name(node));
    sb_str(&s, "' max_items='1'/></pubsub></iq>");
    return sb_finish(ctx, &s, out, req, &made);
}
