/* SPDX-License-Identifier: ISC */
/* libxml2 trees in and out, for clients that already hold parsed stanzas:
 * thin wrappers over the text interface, which stays the one code path. */
#include "receiver.h"
#include "sender.h"

#include "../forms/xml.h"

esession_status esession_receiver_feed_node(esession_receiver *r, const xmlNode *message,
                                            uint64_t tag)
{
    if (r == NULL || message == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    esession_buf text = {0};
    esession_status rc = es_xml_serialize(message, &text, 0);
    if (rc == ESESSION_OK)
        rc = esession_receiver_feed(r, text.data, text.len, tag);
    esession_buf_free(&text);
    return rc;
}

esession_status esession_sender_seal_node(esession_sender *s, const xmlNode *message,
                                          xmlDoc **out)
{
    if (s == NULL || message == NULL || out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    /* The plaintext is secret: serialize it into guarded memory. */
    esession_buf text = {0}, stanza = {0};
    xmlDocPtr doc = NULL;
    esession_status rc = es_xml_serialize(message, &text, 1);
    if (rc == ESESSION_OK)
        rc = esession_sender_seal(s, text.data, text.len, &stanza);
    if (rc == ESESSION_OK)
        rc = es_xml_parse(s->ctx, stanza.data, stanza.len, &doc);
    if (rc == ESESSION_OK)
        *out = doc;
    esession_buf_free(&text);
    esession_buf_free(&stanza);
    return rc;
}
