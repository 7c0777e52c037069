/* SPDX-License-Identifier: ISC */
/* The text parsers below the protocol: one selector octet (mod 6), then
 * the text.
 *   0  XML (es_xml_parse) and, for a jabber:x:data <x>, XEP-0004 parsing
 *      (es_form_parse), normalization, the options structure checks
 *      (es_options_read); round trips: es_xml_serialize and
 *      es_form_serialize read back to the same text
 *   1  XEP-0082 date-time (es_datetime_parse); a parsed value formats and
 *      parses back to itself
 *   2  base64 (es_base64_decode); decoded octets encode back to the input
 *      without its whitespace
 *   3  a decrypted plaintext as Alice reads it (es_rx_content_read)
 *   4  the client's <message/> as Bob reads it (es_sender_message_in)
 *   5  a public key as an XML-DSig <KeyValue> (esession_key_from_keyvalue);
 *      only the normalized form is accepted, so a key read back writes the
 *      input exactly */
#include "fuzz_common.h"

#include "../../crypto/base64.h"
#include "../../forms/datetime.h"
#include "../../forms/options.h"
#include "../../session/receiver.h"
#include "../../session/sender.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static esession_ctx *ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ctx = fz_ctx();
    return 0;
}

static void same(const esession_buf *a, const esession_buf *b, const char *what)
{
    if (a->len != b->len || memcmp(a->data, b->data, a->len) != 0) {
        fprintf(stderr, "%s\n first: [%s]\nsecond: [%s]\n", what, a->data, b->data);
        abort();
    }
}

/* serialize(parse(serialize(node))) == serialize(node). */
static void xml_round_trip(const xmlNode *node)
{
    esession_buf a = {NULL, 0, 0}, b = {NULL, 0, 0};
    xmlDocPtr doc = NULL;
    if (es_xml_serialize(node, &a, 0) != ESESSION_OK)
        return;
    if (es_xml_parse(ctx, a.data, a.len, &doc) != ESESSION_OK) {
        fprintf(stderr, "serialized XML does not parse (%s): [%s]\n",
                esession_ctx_error_detail(ctx), a.data);
        abort();
    }
    if (es_xml_serialize(xmlDocGetRootElement(doc), &b, 0) != ESESSION_OK)
        fz_die("serialized XML does not serialize again");
    same(&a, &b, "es_xml_serialize is not stable");
    xmlFreeDoc(doc);
    esession_buf_free(&a);
    esession_buf_free(&b);
}

/* Parse the text of a written form, then write it again (indent NULL). */
static void reserialize(const esession_buf *text, esession_buf *out)
{
    xmlDocPtr doc = NULL;
    es_form *f = NULL;
    if (es_xml_parse(ctx, text->data, text->len, &doc) != ESESSION_OK ||
        es_form_parse(ctx, xmlDocGetRootElement(doc), &f) != ESESSION_OK ||
        es_form_serialize(ctx, f, NULL, out) != ESESSION_OK) {
        fprintf(stderr, "a written form does not read back (%s): [%s]\n",
                esession_ctx_error_detail(ctx), text->data);
        abort();
    }
    es_form_free(f);
    xmlFreeDoc(doc);
}

static void form_checks(const xmlNode *x)
{
    static const char *const excluded[] = {"signs"};
    esession_buf a = {NULL, 0, 0}, b = {NULL, 0, 0}, c = {NULL, 0, 0};
    es_form *f = NULL;
    es_options *opt = NULL;

    if (es_form_normalize(ctx, x, excluded, 1, &a) == ESESSION_OK)
        esession_buf_free(&a);
    if (es_options_read(ctx, x, &opt) == ESESSION_OK)
        es_options_free(opt);
    if (es_form_parse(ctx, x, &f) != ESESSION_OK)
        return;
    if (es_form_normalize_received(ctx, f, excluded, 1, &a) == ESESSION_OK)
        esession_buf_free(&a);
    if (es_form_serialize(ctx, f, NULL, &a) == ESESSION_OK) {
        reserialize(&a, &b);
        same(&a, &b, "es_form_serialize does not read back the same");
        if (es_form_serialize(ctx, f, "  ", &c) != ESESSION_OK)
            fz_die("indented serialization failed where plain did not");
        esession_buf_free(&b);
        reserialize(&c, &b);
        same(&a, &b, "the indented form reads back differently");
    }
    esession_buf_free(&a);
    esession_buf_free(&b);
    esession_buf_free(&c);
    es_form_free(f);
}

static void xml_mode(const char *text, size_t len)
{
    xmlDocPtr doc = NULL;
    esession_buf b = {NULL, 0, 0};
    if (es_xml_parse(ctx, text, len, &doc) != ESESSION_OK)
        return;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xml_round_trip(root);
    if (es_canon_element(ctx, root, &b) == ESESSION_OK)
        esession_buf_free(&b);
    if (es_xml_is(root, "x", ES_XDATA_NS))
        form_checks(root);
    xmlFreeDoc(doc);
}

static void datetime_mode(const char *text, size_t len)
{
    int64_t secs, again;
    uint32_t micros;
    char out[ES_DATETIME_LEN + 1];
    if (es_datetime_parse(text, len, &secs, &micros) != ESESSION_OK)
        return;
    if (micros >= 1000000)
        fz_die("microseconds out of range");
    if (es_datetime_format(secs, out) != ESESSION_OK)
        return; /* a year outside 0000..9999 after the offset */
    if (es_datetime_parse(out, strlen(out), &again, &micros) != ESESSION_OK || again != secs ||
        micros != 0) {
        fprintf(stderr, "date-time [%.*s] -> %lld -> [%s]\n", (int)len, text, (long long)secs,
                out);
        abort();
    }
}

static void base64_mode(const char *text, size_t len)
{
    size_t cap = es_base64_decoded_max(len), n = 0, k = 0;
    uint8_t *bin = malloc(cap + 1);
    char *stripped = malloc(len + 1), *enc;
    if (bin == NULL || stripped == NULL)
        fz_die("out of memory");
    if (es_base64_decode(bin, cap, &n, text, len) == ESESSION_OK) {
        if (n > cap)
            fz_die("decoded more than es_base64_decoded_max");
        for (size_t i = 0; i < len; i++)
            if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r' && text[i] != '\n')
                stripped[k++] = text[i];
        if ((enc = malloc(es_base64_encoded_len(n) + 1)) == NULL)
            fz_die("out of memory");
        es_base64_encode(enc, bin, n);
        if (strlen(enc) != k || memcmp(enc, stripped, k) != 0) {
            fprintf(stderr, "base64 [%.*s] re-encodes as [%s]\n", (int)len, text, enc);
            abort();
        }
        free(enc);
    }
    free(bin);
    free(stripped);
}

static void keyvalue_mode(const char *text, size_t len)
{
    esession_key *key = NULL;
    esession_buf b = {NULL, 0, 0};
    if (esession_key_from_keyvalue(ctx, &key, text, len) != ESESSION_OK)
        return;
    fz_check(esession_key_to_keyvalue(ctx, key, &b), ctx, "to_keyvalue");
    if (b.len != len || memcmp(b.data, text, len) != 0) {
        fprintf(stderr, "<KeyValue> [%.*s] writes back as [%s]\n", (int)len, text, b.data);
        abort();
    }
    esession_buf_free(&b);
    esession_key_free(key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    es_rx_content content;
    esession_buf m = {NULL, 0, 0};
    char type[ES_SENDER_TYPE_MAX];

    switch (data[0] % 6) {
    case 0:
        xml_mode(text, len);
        break;
    case 1:
        datetime_mode(text, len);
        break;
    case 2:
        base64_mode(text, len);
        break;
    case 3:
        (void)es_rx_content_read(ctx, data + 1, len, &content);
        break;
    case 5:
        keyvalue_mode(text, len);
        break;
    default:
        if (es_sender_message_in(ctx, FZ_ALICE, text, len, FZ_NOW, type, &m) == ESESSION_OK)
            esession_buf_free(&m);
        break;
    }
    return 0;
}
