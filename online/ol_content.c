/* SPDX-License-Identifier: ISC */
/* Decrypted content of an online stanza (PROFILE §12.9, §12.12): it must
 * be XML elements; one termination form ends the session and one
 * acknowledgement form confirms its end. */
#include "online.h"

#include "../forms/normalize.h"
#include "../forms/xml.h"
#include "../session/receiver.h"

#include <libxml/dict.h>
#include <string.h>

const char es_ol_term_text[] =
    "<feature xmlns='" ES_OL_NS_FEATURE "'><x xmlns='jabber:x:data' type='submit'>"
    "<field var='FORM_TYPE'><value>" ES_OL_FORM_TYPE "</value></field>"
    "<field var='terminate'><value>1</value></field></x></feature>";

const char es_ol_ack_text[] =
    "<feature xmlns='" ES_OL_NS_FEATURE "'><x xmlns='jabber:x:data' type='result'>"
    "<field var='FORM_TYPE'><value>" ES_OL_FORM_TYPE "</value></field>"
    "<field var='terminate'><value>1</value></field></x></feature>";

#define NS_CHATSTATES "http://jabber.org/protocol/chatstates"

/* ES_OL_TERMINATE (submit), ES_OL_ACK (result) or 0. */
static es_ol_kind control_kind(esession_ctx *ctx, const xmlNode *f)
{
    const xmlNode *x = NULL;
    es_form *form = NULL;
    const char *type = NULL, *term = NULL;
    es_ol_kind kind = (es_ol_kind)0;

    if (!es_xml_is(f, "feature", ES_OL_NS_FEATURE))
        return kind;
    for (const xmlNode *k = f->children; k != NULL; k = k->next) {
        if (k->type != XML_ELEMENT_NODE)
            continue;
        if (x != NULL || !es_xml_is(k, "x", ES_XDATA_NS))
            return kind;
        x = k;
    }
    if (x == NULL || es_form_parse(ctx, x, &form) != ESESSION_OK)
        return kind;
    if (es_form_value(ctx, form, "FORM_TYPE", &type) == ESESSION_OK &&
        strcmp(type, ES_OL_FORM_TYPE) == 0 &&
        es_form_value(ctx, form, "terminate", &term) == ESESSION_OK &&
        (strcmp(term, "1") == 0 || strcmp(term, "true") == 0)) {
        if (form->type == ES_FORM_SUBMIT)
            kind = ES_OL_TERMINATE;
        else if (form->type == ES_FORM_RESULT)
            kind = ES_OL_ACK;
    }
    es_form_free(form);
    return kind;
}

static unsigned profile_of(const xmlNode *e)
{
    const char *href = e->ns != NULL && e->ns->href != NULL ? (const char *)e->ns->href : "";
    if (href[0] == '\0' || strcmp(href, ES_OL_NS_CLIENT) == 0)
        return ESESSION_PROFILE_IM;
    if (strcmp(href, ES_XDATA_NS) == 0)
        return ESESSION_PROFILE_DATAFORMS;
    if (strcmp(href, NS_CHATSTATES) == 0)
        return ESESSION_PROFILE_CHATSTATES;
    return ESESSION_PROFILE_OTHER;
}


esession_status es_ol_classify(esession_ctx *ctx, const uint8_t *m, size_t n, es_ol_kind *kind,
                               unsigned *profile)
{
    xmlDocPtr doc = NULL;
    unsigned prof = 0, n_el = 0;
    es_ol_kind k = ES_OL_CONTENT, first = (es_ol_kind)0;
    esession_status rc;

    if (kind == NULL || profile == NULL || (m == NULL && n > 0))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "no content or output");
    if (n == 0) {
        *kind = ES_OL_CONTENT;
        *profile = 0;
        return ESESSION_OK;
    }
    if ((rc = es_rx_content_parse(ctx, m, n, &doc)) != ESESSION_OK)
        return rc;
    xmlNode *root = xmlDocGetRootElement(doc);
    for (const xmlNode *e = root->children; e != NULL; e = e->next) {
        if (e->type == XML_TEXT_NODE || e->type == XML_CDATA_SECTION_NODE) {
            for (const xmlChar *p = e->content; p != NULL && *p != '\0'; p++)
                if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
                    rc = ESESSION_ERR_MALFORMED;
            continue;
        }
        if (e->type != XML_ELEMENT_NODE)
            continue;
        if (++n_el == 1)
            first = control_kind(ctx, e);
        prof |= profile_of(e);
    }
    if (n_el == 1 && first != 0)
        k = first;
    es_xml_wipe_text(doc, root);
    xmlFreeDoc(doc);
    if (rc != ESESSION_OK)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "text outside the elements of the content");
    *kind = k;
    *profile = k == ES_OL_CONTENT ? prof : 0;
    return ESESSION_OK;
}
