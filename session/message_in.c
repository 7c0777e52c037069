/* SPDX-License-Identifier: ISC */
/* The client's <message/> as Bob would have sent it in the clear, turned
 * into the plaintext m of PROFILE §9 (XEP-0187 §4): its content elements
 * and a SHIM Created header. Types and content that an offline contact
 * should not get (XEP-0160) are refused here. */
#include "sender.h"

#include "../forms/datetime.h"
#include "../forms/xml.h"

#include <string.h>

#define NS_CLIENT "jabber:client"
#define NS_AMP "http://jabber.org/protocol/amp"
#define NS_DELAY "urn:xmpp:delay"
#define NS_LEGACY_DELAY "jabber:x:delay"
#define NS_CHATSTATES "http://jabber.org/protocol/chatstates"

#define SHIM_OPEN "<headers xmlns='http://jabber.org/protocol/shim'><header name='Created'>"
#define SHIM_CLOSE "</header></headers>"

static const char *ns_of(const xmlNode *n)
{
    return n->ns != NULL && n->ns->href != NULL ? (const char *)n->ns->href : NULL;
}

/* No namespace, or the client stream's. */
static int stanza_ns(const xmlNode *n)
{
    const char *ns = ns_of(n);
    return ns == NULL || strcmp(ns, NS_CLIENT) == 0;
}

static int ascii_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* to is alice's bare JID or alice/resource (ASCII case-insensitive in the
 * bare part, as servers compare domains). */
static int to_alice(const char *to, const char *alice)
{
    size_t n = strlen(alice);
    if (strlen(to) < n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (ascii_lower((unsigned char)to[i]) != ascii_lower((unsigned char)alice[i]))
            return 0;
    return to[n] == '\0' || (to[n] == '/' && to[n + 1] != '\0');
}

/* Elements that are not content: routing, delivery, errors, ESession. */
static int excluded(const xmlNode *c)
{
    if (stanza_ns(c) && (es_xml_is(c, "thread", NULL) || es_xml_is(c, "error", NULL)))
        return 1;
    return es_xml_is(c, "amp", NS_AMP) || es_xml_is(c, "delay", NS_DELAY) ||
           es_xml_is(c, "x", NS_LEGACY_DELAY) || es_xml_is(c, "init", ES_INIT_NS) ||
           es_xml_is(c, "c", ES_C_NS);
}

/* Leave the stanza's own namespace implicit in the plaintext: content
 * elements in jabber:client that inherit it (default namespace, no other
 * default in between) are written without a declaration, as the content
 * of XEP-0187 §4 is. Only this document (our own parse) is changed. */
static void drop_client_ns(xmlNode *e)
{
    if (e->ns == NULL || e->ns->prefix != NULL || e->ns->href == NULL ||
        strcmp((const char *)e->ns->href, NS_CLIENT) != 0)
        return;
    for (const xmlNs *d = e->nsDef; d != NULL; d = d->next)
        if (d->prefix == NULL)
            return; /* declares jabber:client itself: keep it as written */
    e->ns = NULL;
    for (xmlNode *c = e->children; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            drop_client_ns(c);
}

/* Append to m (*len octets used of m->len), growing it in ctx's pool up
 * to ES_XML_MAX_BYTES: sized to the message, not to the largest one. */
static esession_status append(esession_ctx *ctx, esession_buf *m, size_t *len, const char *s,
                              size_t n)
{
    if (n > ES_XML_MAX_BYTES - *len)
        return ESESSION_ERR_LIMIT;
    if (m->data == NULL || n > m->len - *len) {
        size_t cap = m->len > 0 ? m->len : 512;
        while (cap < *len + n)
            cap *= 2;
        if (cap > ES_XML_MAX_BYTES)
            cap = ES_XML_MAX_BYTES;
        esession_buf grown = {NULL, 0, 0};
        esession_status rc = es_buf_alloc_in(ctx, &grown, cap, 1);
        if (rc != ESESSION_OK)
            return rc;
        if (*len > 0)
            memcpy(grown.data, m->data, *len);
        esession_buf_free(m); /* wiped */
        *m = grown;
    }
    memcpy(m->data + *len, s, n);
    *len += n;
    return ESESSION_OK;
}

/* Serialize the content children into m. */
static esession_status collect(esession_ctx *ctx, xmlNode *msg, esession_buf *m, size_t *len,
                               size_t *content, size_t *states)
{
    esession_status rc = ESESSION_OK;
    for (xmlNode *c = msg->children; rc == ESESSION_OK && c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || excluded(c))
            continue;
        if (ns_of(c) != NULL && strcmp(ns_of(c), NS_CHATSTATES) == 0)
            (*states)++;
        else
            (*content)++;
        drop_client_ns(c);
        esession_buf one = {NULL, 0, 0};
        rc = es_xml_serialize_in(ctx, c, &one, 1);
        if (rc != ESESSION_OK)
            return es_fail(ctx, rc == ESESSION_ERR_NO_MEMORY ? rc : ESESSION_ERR_MALFORMED,
                           "message: a content element cannot be serialized");
        rc = append(ctx, m, len, one.data, one.len);
        esession_buf_free(&one);
        if (rc == ESESSION_ERR_NO_MEMORY)
            return es_fail(ctx, rc, "out of memory for the plaintext");
        if (rc != ESESSION_OK)
            return es_fail(ctx, rc, "message: content longer than %u octets", ES_XML_MAX_BYTES);
    }
    return rc;
}

static esession_status check_envelope(esession_ctx *ctx, const xmlNode *msg,
                                      const char *alice, char type[ES_SENDER_TYPE_MAX])
{
    if (msg == NULL || !es_xml_is(msg, "message", NULL) || !stanza_ns(msg))
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "message: not a jabber:client <message/>");
    char *t = (char *)xmlGetNoNsProp(msg, (const xmlChar *)"type");
    esession_status rc = ESESSION_OK;
    if (t == NULL || strcmp(t, "normal") == 0)
        memcpy(type, "normal", sizeof "normal");
    else if (strcmp(t, "chat") == 0)
        memcpy(type, "chat", sizeof "chat");
    else if (strcmp(t, "groupchat") == 0 || strcmp(t, "headline") == 0 ||
             strcmp(t, "error") == 0)
        rc = es_fail(ctx, ESESSION_ERR_UNSUPPORTED,
                     "message: type %s is not sent in an ESession", t);
    else
        rc = es_fail(ctx, ESESSION_ERR_MALFORMED, "message: unknown type");
    xmlFree(t);
    if (rc != ESESSION_OK)
        return rc;
    char *to = (char *)xmlGetNoNsProp(msg, (const xmlChar *)"to");
    int ok = to != NULL && to_alice(to, alice);
    xmlFree(to);
    if (!ok)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT,
                       "message: 'to' is not the contact of this session");
    return ESESSION_OK;
}

/* created NULL: no SHIM header, and chat states alone are content (an
 * online peer reads them). */
static esession_status message_plain(esession_ctx *ctx, const char *alice_bare_jid,
                                     const char *message, size_t len, const char *created,
                                     char type[ES_SENDER_TYPE_MAX], esession_buf *m)
{
    char ty[ES_SENDER_TYPE_MAX];
    xmlDocPtr doc = NULL;
    esession_buf buf = {NULL, 0, 0};
    size_t used = 0, content = 0, states = 0;
    esession_status rc;

    if (alice_bare_jid == NULL || message == NULL || type == NULL || m == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "message: bad arguments");
    if ((rc = es_xml_parse(ctx, message, len, &doc)) != ESESSION_OK)
        return rc;
    xmlNode *msg = xmlDocGetRootElement(doc);
    rc = check_envelope(ctx, msg, alice_bare_jid, ty);
    if (rc == ESESSION_OK)
        rc = collect(ctx, msg, &buf, &used, &content, &states);
    if (rc == ESESSION_OK && content == 0 && (created != NULL || states == 0))
        rc = es_fail(ctx, ESESSION_ERR_STATE,
                     states > 0 ? "not sent: chat states only" : "not sent: no content");
    if (rc == ESESSION_OK && created != NULL &&
        ((rc = append(ctx, &buf, &used, SHIM_OPEN, strlen(SHIM_OPEN))) != ESESSION_OK ||
         (rc = append(ctx, &buf, &used, created, strlen(created))) != ESESSION_OK ||
         (rc = append(ctx, &buf, &used, SHIM_CLOSE, strlen(SHIM_CLOSE))) != ESESSION_OK))
        rc = rc == ESESSION_ERR_NO_MEMORY
                 ? es_fail(ctx, rc, "out of memory for the plaintext")
                 : es_fail(ctx, rc, "message: content longer than %u octets", ES_XML_MAX_BYTES);
    if (rc == ESESSION_OK) {
        /* The room beyond `used` is zero: the text ends in a NUL. */
        buf.len = used;
        *m = buf;
        buf = (esession_buf){NULL, 0, 0};
        memcpy(type, ty, sizeof ty);
    }
    esession_buf_free(&buf);
    xmlFreeDoc(doc);
    return rc;
}

esession_status es_sender_message_in(esession_ctx *ctx, const char *alice_bare_jid,
                                     const char *message, size_t len, int64_t now,
                                     char type[ES_SENDER_TYPE_MAX], esession_buf *m)
{
    char created[ES_DATETIME_LEN + 1];
    if (es_datetime_format(now, created) != ESESSION_OK)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "message: the clock is out of range");
    return message_plain(ctx, alice_bare_jid, message, len, created, type, m);
}

esession_status es_message_plain_in(esession_ctx *ctx, const char *peer_bare_jid,
                                    const char *message, size_t len,
                                    char type[ES_SENDER_TYPE_MAX], esession_buf *m)
{
    return message_plain(ctx, peer_bare_jid, message, len, NULL, type, m);
}
