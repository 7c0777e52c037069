/* SPDX-License-Identifier: ISC */
/* A received <message/> read once (PROFILE §8, §9; XEP-0203): addresses,
 * thread, <init>, <c> and the server's delay stamp. The stamp is kept for
 * display only: nothing authenticates it (XEP-0203 §Security). */
#include "receiver.h"

#include "../crypto/hash.h"
#include "../forms/datetime.h"
#include "../forms/xmlattrs.h"

#include <stdlib.h>
#include <string.h>

#define DELAY_NS "urn:xmpp:delay"
#define LEGACY_DELAY_NS "jabber:x:delay"
#define LEGACY_STAMP_LEN 17 /* CCYYMMDDThh:mm:ss (XEP-0091) */

static int client_ns(const xmlNode *n)
{
    return n->ns == NULL || n->ns->href == NULL ||
           strcmp((const char *)n->ns->href, ES_RX_CLIENT_NS) == 0;
}

static int is_text(const xmlNode *n)
{
    return n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE;
}

static int all_space(const xmlChar *s)
{
    for (; s != NULL && *s != '\0'; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            return 0;
    return 1;
}

/* The text children of a node concatenated into a fresh string; NULL for
 * an element child inside or no memory (*bad says which). */
static char *text_of(const xmlNode *first, int *bad)
{
    size_t n = 0;
    char *t;

    *bad = 0;
    for (const xmlNode *k = first; k != NULL; k = k->next) {
        if (k->type == XML_ELEMENT_NODE) {
            *bad = 1;
            return NULL;
        }
        if (is_text(k) && k->content != NULL)
            n += strlen((const char *)k->content);
    }
    if ((t = malloc(n + 1)) == NULL)
        return NULL;
    n = 0;
    for (const xmlNode *k = first; k != NULL; k = k->next) {
        if (is_text(k) && k->content != NULL) {
            size_t l = strlen((const char *)k->content);
            memcpy(t + n, k->content, l);
            n += l;
        }
    }
    t[n] = '\0';
    return t;
}

/* An unqualified attribute's value, or NULL (absent or no memory). */
static char *attr_of(const xmlNode *e, const char *name)
{
    for (const xmlAttr *a = e->properties; a != NULL; a = a->next) {
        if (a->ns == NULL && a->name != NULL && strcmp((const char *)a->name, name) == 0) {
            int bad;
            return text_of(a->children, &bad);
        }
    }
    return NULL;
}

static int has_attr(const xmlNode *e, const char *name)
{
    for (const xmlAttr *a = e->properties; a != NULL; a = a->next)
        if (a->ns == NULL && a->name != NULL && strcmp((const char *)a->name, name) == 0)
            return 1;
    return 0;
}

/* XEP-0091 CCYYMMDDThh:mm:ss (UTC) through the XEP-0082 parser. */
static esession_status legacy_stamp(const char *s, int64_t *out)
{
    static const char shape[] = "ddddddddTdd:dd:dd";
    char iso[ES_DATETIME_LEN + 1];

    if (strlen(s) != LEGACY_STAMP_LEN)
        return ESESSION_ERR_MALFORMED;
    for (size_t i = 0; i < LEGACY_STAMP_LEN; i++)
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return ESESSION_ERR_MALFORMED;
    snprintf(iso, sizeof iso, "%.4s-%.2s-%.2sT%.8sZ", s, s + 4, s + 6, s + 9);
    return es_datetime_parse(iso, ES_DATETIME_LEN, out, NULL);
}

/* The delay stamp: urn:xmpp:delay first; jabber:x:delay only without it.
 * An unreadable stamp is no stamp (it is never more than a hint). */
static void read_delay(const xmlNode *msg, es_rx_stanza *s)
{
    const xmlNode *d = es_xml_child(msg, "delay", DELAY_NS);
    int legacy = d == NULL;
    char *stamp;
    int64_t t;

    if (legacy)
        d = es_xml_child(msg, "x", LEGACY_DELAY_NS);
    if (d == NULL || (stamp = attr_of(d, "stamp")) == NULL)
        return;
    esession_status rc = legacy ? legacy_stamp(stamp, &t)
                                : es_datetime_parse(stamp, strlen(stamp), &t, NULL);
    free(stamp);
    if (rc != ESESSION_OK)
        return;
    s->has_delay = 1;
    s->delay = t;
    s->delay_from = attr_of(d, "from");
}

static esession_status read_from(esession_ctx *ctx, const xmlNode *msg, es_rx_stanza *s)
{
    char *from = attr_of(msg, "from");
    size_t n, bn;

    if (from == NULL)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "stanza without a from address");
    s->from = from;
    n = strlen(from);
    bn = strcspn(from, "/");
    if (n > ES_RX_FULL_JID_MAX || bn == 0 || bn > ES_RX_JID_MAX)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "unusable from address");
    if ((s->bare = malloc(bn + 1)) == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    memcpy(s->bare, from, bn);
    s->bare[bn] = '\0';
    return ESESSION_OK;
}

static esession_status read_thread(esession_ctx *ctx, const xmlNode *t, es_rx_stanza *s)
{
    int bad;
    size_t n;

    if ((s->thread = text_of(t->children, &bad)) == NULL)
        return es_fail(ctx, bad ? ESESSION_ERR_MALFORMED : ESESSION_ERR_NO_MEMORY,
                       "<thread> is not text");
    n = strlen(s->thread);
    if (n == 0 || n > ES_RX_THREAD_MAX)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "<thread> empty or longer than %u octets",
                       ES_RX_THREAD_MAX);
    return ESESSION_OK;
}

/* <init>: exactly one jabber:x:data <x>, nothing else but whitespace. */
static esession_status read_init(esession_ctx *ctx, const xmlNode *init, es_rx_stanza *s)
{
    for (const xmlNode *k = init->children; k != NULL; k = k->next) {
        if (k->type == XML_ELEMENT_NODE) {
            if (s->init_x != NULL || !es_xml_is(k, "x", ES_XDATA_NS))
                return es_fail(ctx, ESESSION_ERR_MALFORMED, "<init> holds more than one form");
            s->init_x = k;
        } else if (is_text(k) && !all_space(k->content)) {
            return es_fail(ctx, ESESSION_ERR_MALFORMED, "text inside <init>");
        }
    }
    if (s->init_x == NULL)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "<init> without a form");
    return ESESSION_OK;
}

/* Any element of an ESession namespace among the children: such a stanza
 * is never mistaken for an ordinary message. */
static int any_esession(const xmlNode *msg)
{
    for (const xmlNode *k = msg->children; k != NULL; k = k->next) {
        const char *href = k->type == XML_ELEMENT_NODE && k->ns != NULL && k->ns->href != NULL
                               ? (const char *)k->ns->href
                               : "";
        if (strcmp(href, ES_RX_INIT_NS) == 0 || strcmp(href, ES_C_NS) == 0)
            return 1;
    }
    return 0;
}

/* Everything PROFILE §8 and §9 ask of the envelope. */
static esession_status check(esession_ctx *ctx, const xmlNode *msg, es_rx_stanza *s)
{
    const xmlNode *thread = NULL, *init = NULL;
    unsigned n_thread = 0, n_init = 0, n_c = 0;
    esession_status rc;
    char *type;

    /* The sender first, so that even a broken stanza can be attributed. */
    esession_status from_rc = read_from(ctx, msg, s);
    if (from_rc == ESESSION_ERR_NO_MEMORY)
        return from_rc;
    unsigned n_text = 0;
    for (const xmlNode *k = msg->children; k != NULL; k = k->next) {
        /* A <message/> has no text of its own (RFC 6120): stray text is
         * outside every MAC, so it is refused rather than ignored. */
        if (is_text(k) && !all_space(k->content))
            n_text++;
        if (es_xml_is(k, "thread", NULL) && client_ns(k)) {
            n_thread++;
            thread = thread != NULL ? thread : k;
        } else if (es_xml_is(k, "init", ES_RX_INIT_NS)) {
            n_init++;
            init = k;
        } else if (es_xml_is(k, "c", ES_C_NS)) {
            n_c++;
            s->c = k;
        }
    }
    if (n_c == 0 && n_init == 0 && !any_esession(msg)) {
        /* Delivered as it is, marked as not encrypted: whatever its
         * addresses, thread or text, it is somebody's message. */
        s->plain = 1;
        if (thread != NULL && read_thread(ctx, thread, s) != ESESSION_OK) {
            free(s->thread); /* an odd thread does not make it undeliverable */
            s->thread = NULL;
            es_clear_detail(ctx);
        }
        return ESESSION_OK;
    }
    if (thread != NULL && (rc = read_thread(ctx, thread, s)) != ESESSION_OK)
        return rc;
    if (n_text != 0)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "text directly inside <message>");
    if (from_rc != ESESSION_OK)
        return es_fail(ctx, from_rc, "stanza without a usable from address");

    if (n_thread != 1)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "%s <thread>",
                       n_thread ? "more than one" : "no");
    if (has_attr(msg, "type")) {
        if ((type = attr_of(msg, "type")) == NULL)
            return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
        int ok = strcmp(type, "chat") == 0 || strcmp(type, "normal") == 0;
        free(type);
        if (!ok)
            return es_fail(ctx, ESESSION_ERR_MALFORMED, "message type is not chat or normal");
    }
    if (n_c != 1)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "%s <c>", n_c ? "more than one" : "no");
    if (n_init > 1)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "more than one <init>");
    if (init != NULL && (rc = read_init(ctx, init, s)) != ESESSION_OK)
        return rc;
    if ((rc = es_c_parse(ctx, s->c, &s->copen)) != ESESSION_OK)
        return rc;
    /* m_content (PROFILE §9), built once by es_c_parse. */
    s->m_content = es_c_m_content(s->copen, &s->m_content_len);
    return ESESSION_OK;
}

int es_rx_server_mark(const xmlNode *e)
{
    return es_xml_is(e, "delay", "urn:xmpp:delay") || es_xml_is(e, "x", "jabber:x:delay") ||
           es_xml_is(e, "offline", "http://jabber.org/protocol/offline") ||
           es_xml_is(e, "stanza-id", "urn:xmpp:sid:0");
}

esession_status es_rx_sender_text_hash(const es_rx_stanza *st, const char *text, size_t len,
                                       uint8_t out[32])
{
    const xmlNode *msg = xmlDocGetRootElement(st->doc);
    size_t n_el = 0;
    for (const xmlNode *k = msg->children; k != NULL; k = k->next)
        n_el += k->type == XML_ELEMENT_NODE;
    es_xml_span *spans = calloc(n_el + 1, sizeof *spans);
    es_span *parts = calloc(n_el + 1, sizeof *parts);
    esession_status rc = ESESSION_ERR_NO_MEMORY;
    if (spans != NULL && parts != NULL) {
        size_t np = 0, pos = 0, j = 0;
        /* The scanner and the parser read the same document; should they
         * ever disagree, the whole text is hashed (a replay, never a
         * false duplicate). */
        if (es_xml_child_spans(text, len, spans, n_el) == n_el) {
            for (const xmlNode *k = msg->children; k != NULL; k = k->next) {
                if (k->type != XML_ELEMENT_NODE)
                    continue;
                if (es_rx_server_mark(k)) {
                    parts[np++] = (es_span){text + pos, spans[j].start - pos};
                    pos = spans[j].end;
                }
                j++;
            }
        }
        parts[np++] = (es_span){text + pos, len - pos};
        rc = es_hash_parts(ES_HASH_SHA256, parts, np, out);
    }
    free(spans);
    free(parts);
    return rc;
}

esession_status es_rx_stanza_read(esession_ctx *ctx, const char *text, size_t len,
                                  es_rx_stanza **out)
{
    xmlDocPtr doc = NULL;
    es_rx_stanza *s;
    xmlNodePtr msg;
    esession_status rc;

    if (out == NULL || (text == NULL && len > 0))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "no stanza or output");
    if ((rc = es_xml_parse(ctx, text, len, &doc)) != ESESSION_OK)
        return rc;
    msg = xmlDocGetRootElement(doc);
    if (!es_xml_is(msg, "message", NULL) || !client_ns(msg)) {
        xmlFreeDoc(doc);
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "not a <message/> stanza");
    }
    if ((s = calloc(1, sizeof *s)) == NULL) {
        xmlFreeDoc(doc);
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    }
    s->doc = doc;
    read_delay(msg, s);
    rc = check(ctx, msg, s);
    if (rc == ESESSION_ERR_NO_MEMORY) {
        es_rx_stanza_free(s);
        return rc;
    }
    if (rc != ESESSION_OK) {
        /* Keep only what identifies the sender for the report. */
        s->valid = ESESSION_ERR_MALFORMED;
        s->init_x = NULL;
        s->c = NULL;
        es_c_free(s->copen);
        s->copen = NULL;
        s->m_content = NULL;
        s->m_content_len = 0;
    }
    *out = s;
    return ESESSION_OK;
}

void es_rx_stanza_free(es_rx_stanza *s)
{
    if (s == NULL)
        return;
    es_c_free(s->copen);
    free(s->from);
    free(s->bare);
    free(s->thread);
    free(s->delay_from);
    xmlFreeDoc(s->doc);
    free(s);
}
