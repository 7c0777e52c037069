/* SPDX-License-Identifier: ISC */
/* What Alice learns from a decrypted plaintext m (PROFILE §9, XEP-0187
 * §4, §5, XEP-0226): Bob's termination, the signed SHIM Created header,
 * and which message profiles the content uses. m is a sequence of
 * elements; it is parsed inside a jabber:client wrapper, so that an
 * unqualified <body/> means what it means in the stanza. */
#include "receiver.h"

#include "../forms/dataform.h"
#include "../forms/options.h"
#include "../forms/datetime.h"

#include <libxml/dict.h>
#include <string.h>

#define SHIM_NS "http://jabber.org/protocol/shim"
#define FEATURE_NS "http://jabber.org/protocol/feature-neg"
#define CHATSTATES_NS "http://jabber.org/protocol/chatstates"
#define WRAP_OPEN "<m xmlns='" ES_RX_CLIENT_NS "'>"
#define WRAP_CLOSE "</m>"

typedef struct ns_name {
    const char *ns;   /* NULL: jabber:client or no namespace */
    const char *name; /* NULL: any element of ns */
} ns_name;

/* XEP-0226 §4.8: metadata never decides a profile. */
static const ns_name metadata[] = {
    {SHIM_NS, "headers"},
    {"urn:xmpp:delay", "delay"},
    {"jabber:x:delay", "x"},
    {"http://jabber.org/protocol/amp", "amp"},
    {"http://jabber.org/protocol/address", "addresses"},
};

/* XEP-0226 §4.1 (chat states, XEP-0085, get a bit of their own). */
static const ns_name im[] = {
    {NULL, "body"},
    {NULL, "subject"},
    {NULL, "thread"},
    {"http://jabber.org/protocol/xhtml-im", "html"},
    {"jabber:x:oob", "x"},
    {"http://jabber.org/protocol/muc#user", "x"},
    {"http://jabber.org/protocol/rosterx", "x"},
    {"http://jabber.org/protocol/nick", "nick"},
};

static int matches(const xmlNode *e, const ns_name *m)
{
    const char *href = e->ns != NULL && e->ns->href != NULL ? (const char *)e->ns->href : "";
    if (m->ns == NULL) {
        if (href[0] != '\0' && strcmp(href, ES_RX_CLIENT_NS) != 0)
            return 0;
    } else if (strcmp(href, m->ns) != 0) {
        return 0;
    }
    return m->name == NULL || strcmp((const char *)e->name, m->name) == 0;
}

static int in_table(const xmlNode *e, const ns_name *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (matches(e, &t[i]))
            return 1;
    return 0;
}

static unsigned profile_of(const xmlNode *e)
{
    static const ns_name forms = {ES_XDATA_NS, "x"}, states = {CHATSTATES_NS, NULL};
    if (in_table(e, im, ES_ARRAY_LEN(im)))
        return ESESSION_PROFILE_IM;
    if (matches(e, &forms))
        return ESESSION_PROFILE_DATAFORMS;
    if (matches(e, &states))
        return ESESSION_PROFILE_CHATSTATES;
    return ESESSION_PROFILE_OTHER;
}

/* <feature xmlns='…feature-neg'> with one submit form: FORM_TYPE
 * urn:xmpp:ssn and terminate 1 or true (PROFILE §9, XEP-0116). */
static int is_termination(esession_ctx *ctx, const xmlNode *f)
{
    const xmlNode *x = NULL;
    es_form *form = NULL;
    const char *type = NULL, *term = NULL;
    int yes = 0;

    if (!es_xml_is(f, "feature", FEATURE_NS))
        return 0;
    for (const xmlNode *k = f->children; k != NULL; k = k->next) {
        if (k->type != XML_ELEMENT_NODE)
            continue;
        if (x != NULL || !es_xml_is(k, "x", ES_XDATA_NS))
            return 0;
        x = k;
    }
    if (x == NULL || es_form_parse(ctx, x, &form) != ESESSION_OK)
        return 0;
    if (form->type == ES_FORM_SUBMIT &&
        es_form_value(ctx, form, "FORM_TYPE", &type) == ESESSION_OK &&
        strcmp(type, ES_SSN_FORM_TYPE) == 0 &&
        es_form_value(ctx, form, "terminate", &term) == ESESSION_OK)
        yes = strcmp(term, "1") == 0 || strcmp(term, "true") == 0;
    es_form_free(form);
    return yes;
}

static char *text_copy(const xmlNode *e, char *buf, size_t cap)
{
    size_t n = 0;
    for (const xmlNode *k = e->children; k != NULL; k = k->next) {
        if (k->type == XML_ELEMENT_NODE)
            return NULL;
        if ((k->type == XML_TEXT_NODE || k->type == XML_CDATA_SECTION_NODE) && k->content != NULL) {
            size_t l = strlen((const char *)k->content);
            if (l >= cap - n)
                return NULL;
            memcpy(buf + n, k->content, l);
            n += l;
        }
    }
    buf[n] = '\0';
    return buf;
}

/* Every <header name='Created'> of a SHIM <headers>: counted, the value
 * of the last one parsed into out. */
static void created_headers(const xmlNode *h, unsigned *count, int *ok, int64_t *out)
{
    for (const xmlNode *k = h->children; k != NULL; k = k->next) {
        if (!es_xml_is(k, "header", SHIM_NS))
            continue;
        xmlChar *name = xmlGetNoNsProp(k, (const xmlChar *)"name");
        int created = name != NULL && strcmp((const char *)name, "Created") == 0;
        if (name != NULL)
            xmlFree(name);
        if (!created)
            continue;
        char buf[64];
        const char *t = text_copy(k, buf, sizeof buf);
        (*count)++;
        *ok = t != NULL && es_datetime_parse(t, strlen(t), out, NULL) == ESESSION_OK;
        sodium_memzero(buf, sizeof buf);
    }
}


esession_status es_rx_content_parse(esession_ctx *ctx, const uint8_t *m, size_t n,
                                    xmlDocPtr *doc)
{
    const size_t lo = strlen(WRAP_OPEN), lc = strlen(WRAP_CLOSE);
    esession_buf wrapped = {NULL, 0, 0};
    esession_status rc;

    if (n > ES_XML_MAX_BYTES - lo - lc)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "decrypted content too long");
    if ((rc = es_buf_alloc_in(ctx, &wrapped, lo + n + lc, 1)) != ESESSION_OK)
        return es_fail(ctx, rc, "out of secure memory");
    memcpy(wrapped.data, WRAP_OPEN, lo);
    memcpy(wrapped.data + lo, m, n);
    memcpy(wrapped.data + lo + n, WRAP_CLOSE, lc);
    rc = es_xml_parse(ctx, wrapped.data, wrapped.len, doc);
    esession_buf_free(&wrapped);
    if (rc != ESESSION_OK)
        return es_fail(ctx, rc == ESESSION_ERR_NO_MEMORY ? rc : ESESSION_ERR_MALFORMED,
                       "the decrypted content is not a sequence of XML elements");
    return ESESSION_OK;
}

esession_status es_rx_content_read(esession_ctx *ctx, const uint8_t *m, size_t n,
                                   es_rx_content *out)
{
    es_rx_content c;
    xmlDocPtr doc = NULL;
    esession_status rc;
    unsigned n_created = 0, n_payload = 0;
    int created_ok = 0, term = 0;

    if (out == NULL || (m == NULL && n > 0))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "no content or output");
    memset(&c, 0, sizeof c);
    if (n == 0) {
        *out = c;
        return ESESSION_OK;
    }
    if ((rc = es_rx_content_parse(ctx, m, n, &doc)) != ESESSION_OK)
        return rc;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    for (const xmlNode *e = root->children; e != NULL; e = e->next) {
        if (e->type == XML_TEXT_NODE || e->type == XML_CDATA_SECTION_NODE) {
            for (const xmlChar *p = e->content; p != NULL && *p != '\0'; p++)
                if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
                    rc = ESESSION_ERR_MALFORMED;
            continue;
        }
        if (e->type != XML_ELEMENT_NODE)
            continue;
        if (in_table(e, metadata, ES_ARRAY_LEN(metadata))) {
            if (matches(e, &metadata[0]))
                created_headers(e, &n_created, &created_ok, &c.created);
            continue;
        }
        n_payload++;
        c.profile |= profile_of(e);
        if (n_payload == 1)
            term = is_termination(ctx, e);
    }
    c.terminate = term && n_payload == 1;
    c.has_created = n_created == 1 && created_ok;
    if (!c.has_created)
        c.created = 0;
    es_xml_wipe_text(doc, root);
    xmlFreeDoc(doc);
    if (rc != ESESSION_OK)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "text outside the elements of the content");
    *out = c;
    return ESESSION_OK;
}
