/* SPDX-License-Identifier: ISC */
/* Online stanzas as text: the received <message/> taken apart once, and
 * the negotiation forms, envelopes and error stanzas written in the
 * layout of the vectors (PROFILE §12.2, §12.8). */
#include "online.h"

#include "../forms/normalize.h"
#include "../forms/xml.h"

#include <stdlib.h>
#include <string.h>

static int in_client_ns(const xmlNode *n)
{
    return n->ns == NULL || n->ns->href == NULL ||
           strcmp((const char *)n->ns->href, ES_OL_NS_CLIENT) == 0;
}

static char *attr(const xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
    if (v == NULL)
        return NULL;
    char *copy = strdup((const char *)v);
    xmlFree(v);
    return copy;
}

/* The text of <thread> (text children only). */
static char *thread_text(const xmlNode *t)
{
    size_t n = 0;
    for (const xmlNode *k = t->children; k != NULL; k = k->next) {
        if (k->type == XML_ELEMENT_NODE)
            return NULL;
        if (k->type == XML_TEXT_NODE && k->content != NULL)
            n += strlen((const char *)k->content);
    }
    char *out = malloc(n + 1);
    if (out == NULL)
        return NULL;
    n = 0;
    for (const xmlNode *k = t->children; k != NULL; k = k->next) {
        if (k->type == XML_TEXT_NODE && k->content != NULL) {
            size_t l = strlen((const char *)k->content);
            memcpy(out + n, k->content, l);
            n += l;
        }
    }
    out[n] = '\0';
    return out;
}

/* <feature> or <init> must hold exactly one jabber:x:data <x>. */
static xmlNode *only_form(const xmlNode *wrap)
{
    xmlNode *x = NULL;
    for (xmlNode *k = wrap->children; k != NULL; k = k->next) {
        if (k->type != XML_ELEMENT_NODE)
            continue;
        if (x != NULL || !es_xml_is(k, "x", ES_XDATA_NS))
            return NULL;
        x = k;
    }
    return x;
}

static esession_status take(esession_ctx *ctx, xmlNode **slot, xmlNode *n, const char *what)
{
    if (*slot != NULL)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "stanza: two %s", what);
    *slot = n;
    return ESESSION_OK;
}

esession_status es_ol_in_parse(esession_ctx *ctx, const char *text, size_t len, es_ol_in *out)
{
    es_ol_in in;
    xmlNode *feature = NULL, *init = NULL, *thread = NULL;
    esession_status rc;

    if (text == NULL || out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "stanza: no text");
    memset(&in, 0, sizeof in);
    if ((rc = es_xml_parse(ctx, text, len, &in.doc)) != ESESSION_OK)
        return rc;
    in.msg = xmlDocGetRootElement(in.doc);
    if (in.msg == NULL || !es_xml_is(in.msg, "message", NULL) || !in_client_ns(in.msg)) {
        rc = es_fail(ctx, ESESSION_ERR_MALFORMED, "stanza: not a jabber:client <message/>");
        goto fail;
    }
    for (xmlNode *k = in.msg->children; k != NULL && rc == ESESSION_OK; k = k->next) {
        if (k->type != XML_ELEMENT_NODE)
            continue;
        if (in_client_ns(k) && es_xml_is(k, "thread", NULL))
            rc = take(ctx, &thread, k, "<thread>");
        else if (in_client_ns(k) && es_xml_is(k, "error", NULL))
            rc = take(ctx, &in.error, k, "<error>");
        else if (es_xml_is(k, "feature", ES_OL_NS_FEATURE))
            rc = take(ctx, &feature, k, "<feature>");
        else if (es_xml_is(k, "init", ES_OL_NS_INIT))
            rc = take(ctx, &init, k, "<init>");
        else if (es_xml_is(k, "c", ES_C_NS))
            rc = take(ctx, &in.c, k, "<c>");
    }
    if (rc != ESESSION_OK)
        goto fail;
    if (feature != NULL && init != NULL) {
        rc = es_fail(ctx, ESESSION_ERR_MALFORMED, "stanza: both <feature> and <init>");
        goto fail;
    }
    if (feature != NULL || init != NULL) {
        in.form = only_form(feature != NULL ? feature : init);
        in.in_init = init != NULL;
        if (in.form == NULL) {
            rc = es_fail(ctx, ESESSION_ERR_MALFORMED, "stanza: a negotiation without one form");
            goto fail;
        }
    }
    in.from = attr(in.msg, "from");
    in.to = attr(in.msg, "to");
    in.type = attr(in.msg, "type");
    if (thread != NULL && (in.thread = thread_text(thread)) == NULL) {
        rc = es_fail(ctx, ESESSION_ERR_MALFORMED, "stanza: <thread> is not text");
        goto fail;
    }
    *out = in;
    return ESESSION_OK;
fail:
    es_ol_in_free(&in);
    return rc;
}

void es_ol_in_free(es_ol_in *in)
{
    if (in == NULL)
        return;
    free(in->from);
    free(in->to);
    free(in->type);
    free(in->thread);
    if (in->doc != NULL)
        xmlFreeDoc(in->doc);
    memset(in, 0, sizeof *in);
}

void es_ol_in_condition(const es_ol_in *in, char *out, size_t cap)
{
    const char *cond = "undefined-condition";
    for (const xmlNode *k = in->error != NULL ? in->error->children : NULL; k != NULL;
         k = k->next) {
        if (k->type == XML_ELEMENT_NODE && k->ns != NULL && k->ns->href != NULL &&
            strcmp((const char *)k->ns->href, ES_OL_NS_STANZAS) == 0 &&
            strcmp((const char *)k->name, "text") != 0) {
            cond = (const char *)k->name;
            break;
        }
    }
    snprintf(out, cap, "%s", cond);
}

/* ---- writing ---------------------------------------------------------- */

static void put_attr(es_sb *b, const char *name, const char *value)
{
    es_sb_puts(b, " ");
    es_sb_puts(b, name);
    es_sb_puts(b, "='");
    es_sb_put_escaped(b, value, ES_XML_ATTR);
    es_sb_puts(b, "'");
}

static void put_value(es_sb *b, const char *v)
{
    es_sb_puts(b, "<value>");
    es_sb_put_escaped(b, v, ES_XML_TEXT);
    es_sb_puts(b, "</value>");
}

void es_ol_put_form(es_sb *b, const char *form_type, const es_ol_fdef *f, size_t n)
{
    es_sb_puts(b, "<x xmlns='jabber:x:data'");
    put_attr(b, "type", form_type);
    es_sb_puts(b, ">");
    for (size_t i = 0; i < n; i++) {
        es_sb_puts(b, "\n    <field");
        if (f[i].type != NULL)
            put_attr(b, "type", f[i].type);
        put_attr(b, "var", f[i].var);
        es_sb_puts(b, ">");
        for (size_t k = 0; k < f[i].n_options; k++) {
            es_sb_puts(b, "<option>");
            put_value(b, f[i].options[k]);
            es_sb_puts(b, "</option>");
        }
        for (size_t k = 0; k < f[i].n_values; k++)
            put_value(b, f[i].values[k]);
        if (f[i].required)
            es_sb_puts(b, "<required/>");
        es_sb_puts(b, "</field>");
    }
    es_sb_puts(b, "\n  </x>");
}

esession_status es_ol_form_normalized(esession_ctx *ctx, const char *form, size_t len,
                                      const char *const *excluded, size_t n_excluded,
                                      esession_buf *out)
{
    xmlDocPtr doc = NULL;
    esession_status rc = es_xml_parse(ctx, form, len, &doc);
    if (rc != ESESSION_OK)
        return es_fail(ctx, ESESSION_ERR_INTERNAL, "a form we wrote does not parse back");
    rc = es_form_normalize(ctx, xmlDocGetRootElement(doc), excluded, n_excluded, out);
    xmlFreeDoc(doc);
    return rc;
}

void es_ol_put_head(es_sb *b, const char *from, const char *to, const char *type,
                    const char *thread)
{
    es_sb_puts(b, "<message");
    put_attr(b, "from", from);
    put_attr(b, "to", to);
    if (type != NULL)
        put_attr(b, "type", type);
    es_sb_puts(b, "><thread>");
    es_sb_put_escaped(b, thread, ES_XML_TEXT);
    es_sb_puts(b, "</thread>");
}

esession_status es_ol_error_stanza(esession_ctx *ctx, const char *from, const char *to,
                                   const char *thread, const char *condition,
                                   const char *const *fields, size_t n_fields,
                                   esession_buf *out)
{
    es_sb b;
    es_sb_init(&b, ES_XML_MAX_BYTES, 0);
    es_sb_puts(&b, "<message type='error'");
    put_attr(&b, "from", from);
    put_attr(&b, "to", to);
    es_sb_puts(&b, "><thread>");
    es_sb_put_escaped(&b, thread, ES_XML_TEXT);
    es_sb_puts(&b, "</thread><error type='cancel'><");
    es_sb_puts(&b, condition);
    es_sb_puts(&b, " xmlns='" ES_OL_NS_STANZAS "'/>");
    if (n_fields > 0) {
        es_sb_puts(&b, "<feature xmlns='" ES_OL_NS_FEATURE "'>");
        for (size_t i = 0; i < n_fields; i++) {
            es_sb_puts(&b, "<field");
            put_attr(&b, "var", fields[i]);
            es_sb_puts(&b, "/>");
        }
        es_sb_puts(&b, "</feature>");
    }
    es_sb_puts(&b, "</error></message>");
    esession_status rc = es_sb_finish(&b, out);
    if (rc != ESESSION_OK)
        return es_fail(ctx, rc, "cannot write the error stanza");
    return ESESSION_OK;
}
