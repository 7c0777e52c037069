/* SPDX-License-Identifier: ISC */
/* An ordinary, unencrypted message among the encrypted ones: handed to the
 * client as it came, marked PLAIN, so that nothing somebody sent is dropped
 * for not being an ESession stanza. */
#include "receiver.h"

#include "../forms/xml.h"

#include "../core/bytes.h"
#include "../crypto/hash.h"

#include <string.h>

static esession_status append(esession_buf *to, const esession_buf *piece)
{
    esession_buf grown = {NULL, 0, 0};
    esession_status rc = es_buf_alloc(&grown, to->len + piece->len, 0);
    if (rc != ESESSION_OK)
        return rc;
    if (to->len > 0)
        memcpy(grown.data, to->data, to->len);
    memcpy(grown.data + to->len, piece->data, piece->len);
    grown.len = to->len + piece->len;
    esession_buf_free(to);
    *to = grown;
    return ESESSION_OK;
}

esession_status es_rx_plain_result(esession_ctx *ctx, const es_rx_stanza *st, const char *text,
                                   size_t len, uint64_t tag, esession_result *out)
{
    const xmlNode *msg = xmlDocGetRootElement(st->doc);
    esession_buf m = {NULL, 0, 0};
    esession_status rc = ESESSION_OK;

    for (const xmlNode *e = msg->children; rc == ESESSION_OK && e != NULL; e = e->next) {
        if (e->type != XML_ELEMENT_NODE || es_rx_server_mark(e) || es_xml_is(e, "thread", NULL))
            continue;
        esession_buf piece = {NULL, 0, 0};
        if ((rc = es_xml_serialize(e, &piece, 0)) == ESESSION_OK)
            rc = append(&m, &piece);
        esession_buf_free(&piece);
    }
    es_rx_content content;
    memset(&content, 0, sizeof content);
    if (rc == ESESSION_OK && m.len > 0 &&
        es_rx_content_read(ctx, (const uint8_t *)m.data, m.len, &content) != ESESSION_OK)
        content.profile = ESESSION_PROFILE_OTHER; /* unknown to the reader, still delivered */
    if (rc == ESESSION_OK)
        rc = es_rx_result_init(out, tag, ESESSION_RESULT_PLAIN, ESESSION_OK, st);
    if (rc != ESESSION_OK) {
        esession_buf_free(&m);
        return es_fail(ctx, rc == ESESSION_ERR_LIMIT ? rc : ESESSION_ERR_NO_MEMORY,
                       "cannot copy an unencrypted message");
    }
    es_clear_detail(ctx);
    /* The same stored stanza delivered again has the same id (the first
     * 16 octets of its SHA-256, as a message's id is made). */
    uint8_t h[ES_HASH_MAX_BYTES];
    if (es_hash(ES_HASH_SHA256, (const uint8_t *)text, len, h) != ESESSION_OK) {
        esession_result_free(out);
        esession_buf_free(&m);
        return es_fail(ctx, ESESSION_ERR_INTERNAL, "cannot hash an unencrypted message");
    }
    es_hex(out->id, h, (ESESSION_MESSAGE_ID_MAX - 1) / 2);
    out->plaintext = m;
    out->profile = content.profile;
    return ESESSION_OK;
}
