/* SPDX-License-Identifier: ISC */
/* Opening received stanza content (PROFILE §9, XEP-0200 "Decrypting a
 * Stanza"): the <c> is checked and decoded once, then verified at any
 * number of candidate counters and decrypted at the one that verifies. */
#include "scrypto.h"

#include "../crypto/base64.h"
#include "../forms/normalize.h"

#include <stdlib.h>
#include <string.h>

enum { CH_DATA, CH_KEY, CH_NEW, CH_OLD, CH_MAC, CH_COUNT };

static const char *const child_names[CH_COUNT] = {"data", "key", "new", "old", "mac"};

struct es_c_open {
    uint8_t *m_content;   /* the MACed text, prepared once */
    size_t m_content_len;
    uint8_t *m_final;     /* decoded <data>; NULL when there is no data */
    size_t m_final_len;
    uint8_t *key;         /* decoded <key>; NULL when absent */
    size_t key_len;
    uint32_t new_count;
    uint8_t *mac;
    size_t mac_len;
};

static int is_text(const xmlNode *n)
{
    return n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE;
}

static int is_ignored(const xmlNode *n)
{
    return n->type == XML_COMMENT_NODE || n->type == XML_PI_NODE;
}

static int all_space(const char *s)
{
    for (; *s != '\0'; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            return 0;
    return 1;
}

static int which_child(const xmlNode *e)
{
    for (int i = 0; i < CH_COUNT; i++)
        if (es_xml_is(e, child_names[i], ES_C_NS))
            return i;
    return -1;
}

/* The text of a leaf child (its text nodes concatenated) into a fresh
 * NUL-terminated string; MALFORMED for attributes or element content. */
static esession_status leaf_text(esession_ctx *ctx, const xmlNode *e, char **out, size_t *len)
{
    size_t n = 0;
    char *t;

    if (e->properties != NULL)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "<c>: attribute on <%s>", (const char *)e->name);
    for (const xmlNode *k = e->children; k != NULL; k = k->next) {
        if (is_text(k))
            n += k->content != NULL ? strlen((const char *)k->content) : 0;
        else if (!is_ignored(k))
            return es_fail(ctx, ESESSION_ERR_MALFORMED, "<c>: <%s> is not a text element",
                           (const char *)e->name);
    }
    if ((t = malloc(n + 1)) == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    n = 0;
    for (const xmlNode *k = e->children; k != NULL; k = k->next) {
        if (is_text(k) && k->content != NULL) {
            size_t l = strlen((const char *)k->content);
            memcpy(t + n, k->content, l);
            n += l;
        }
    }
    t[n] = '\0';
    *out = t;
    *len = n;
    return ESESSION_OK;
}

static esession_status decode(esession_ctx *ctx, const char *name, const char *t, size_t n,
                              uint8_t **out, size_t *len)
{
    size_t cap = es_base64_decoded_max(n);
    uint8_t *b = malloc(cap == 0 ? 1 : cap);

    if (b == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    if (es_base64_decode_public_into(b, len, t, n) != ESESSION_OK) {
        free(b);
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "<c>: <%s> is not base64", name);
    }
    *out = b;
    return ESESSION_OK;
}

/* <new>: a decimal number 1 .. 2^32-1. */
static esession_status parse_new(esession_ctx *ctx, const char *t, size_t n, uint32_t *out)
{
    uint64_t v = 0;

    if (n == 0 || n > 10)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "<c>: <new> is not a count");
    for (size_t i = 0; i < n; i++) {
        if (t[i] < '0' || t[i] > '9')
            return es_fail(ctx, ESESSION_ERR_MALFORMED, "<c>: <new> is not a count");
        v = v * 10 + (uint64_t)(t[i] - '0');
    }
    if (v == 0 || v > UINT32_MAX)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "<c>: <new> out of range");
    *out = (uint32_t)v;
    return ESESSION_OK;
}

/* Append canon(e) (= <name>escaped text</name> for a checked leaf) to
 * the m_content being built. */
static esession_status append_canon(esession_ctx *ctx, const xmlNode *e, uint8_t **buf,
                                    size_t *len)
{
    esession_buf piece = {NULL, 0, 0};
    esession_status rc = es_canon_element(ctx, e, &piece);
    uint8_t *grown;

    if (rc != ESESSION_OK)
        return rc;
    grown = realloc(*buf, *len + piece.len + 1);
    if (grown == NULL) {
        esession_buf_free(&piece);
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    }
    memcpy(grown + *len, piece.data, piece.len);
    *buf = grown;
    *len += piece.len;
    esession_buf_free(&piece);
    return ESESSION_OK;
}

/* One element child: its kind checked and counted, its text decoded into
 * o, and its canonical form added to m_content unless it is <mac>. */
static esession_status take_child(esession_ctx *ctx, const xmlNode *e, es_c_open *o,
                                  unsigned count[CH_COUNT])
{
    int kind = which_child(e);
    char *t = NULL;
    size_t n = 0;
    uint8_t *bin = NULL;
    size_t bin_len = 0;
    esession_status rc;

    if (kind < 0)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "<c>: unexpected child <%s>",
                       (const char *)e->name);
    if (++count[kind] > (kind == CH_OLD ? ES_C_MAX_OLD : 1u))
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "<c>: too many <%s>", child_names[kind]);
    if ((rc = leaf_text(ctx, e, &t, &n)) != ESESSION_OK)
        return rc;
    if (kind == CH_NEW)
        rc = parse_new(ctx, t, n, &o->new_count);
    else
        rc = decode(ctx, child_names[kind], t, n, &bin, &bin_len);
    free(t);
    if (rc != ESESSION_OK)
        return rc;
    switch (kind) {
    case CH_DATA:
        o->m_final = bin;
        o->m_final_len = bin_len;
        break;
    case CH_KEY:
        o->key = bin;
        o->key_len = bin_len;
        break;
    case CH_MAC:
        o->mac = bin;
        o->mac_len = bin_len;
        break;
    default:
        free(bin); /* <old>: checked, otherwise ignored (XEP-0200) */
        break;
    }
    if (kind == CH_MAC)
        return ESESSION_OK;
    return append_canon(ctx, e, &o->m_content, &o->m_content_len);
}

void es_c_free(es_c_open *c)
{
    if (c == NULL)
        return;
    free(c->m_content);
    free(c->m_final);
    free(c->key);
    free(c->mac);
    free(c);
}

esession_status es_c_parse(esession_ctx *ctx, const xmlNode *c, es_c_open **out)
{
    unsigned count[CH_COUNT] = {0};
    esession_status rc = ESESSION_OK;
    es_c_open *o;

    if (c == NULL || out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "no <c> or output");
    if (!es_xml_is(c, "c", ES_C_NS))
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "not an XEP-0200 <c>");
    if ((o = calloc(1, sizeof *o)) == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    for (const xmlNode *k = c->children; k != NULL && rc == ESESSION_OK; k = k->next) {
        if (k->type == XML_ELEMENT_NODE)
            rc = take_child(ctx, k, o, count);
        else if (is_text(k) && !all_space(k->content != NULL ? (const char *)k->content : ""))
            rc = es_fail(ctx, ESESSION_ERR_MALFORMED, "<c>: text between its children");
        else if (!is_text(k) && !is_ignored(k))
            rc = es_fail(ctx, ESESSION_ERR_MALFORMED, "<c>: unexpected node");
    }
    if (rc == ESESSION_OK && count[CH_MAC] == 0)
        rc = es_fail(ctx, ESESSION_ERR_MALFORMED, "<c>: no <mac>");
    if (rc != ESESSION_OK) {
        es_c_free(o);
        return rc;
    }
    if (o->m_final != NULL && o->m_final_len == 0) {
        free(o->m_final); /* <data></data>: like no data */
        o->m_final = NULL;
    }
    *out = o;
    return ESESSION_OK;
}

uint64_t es_c_blocks(const es_c_open *c)
{
    if (c == NULL)
        return 0;
    return c->m_final != NULL ? es_ctr_blocks(c->m_final_len) : 1;
}

int es_c_has_data(const es_c_open *c)
{
    return c != NULL && c->m_final != NULL;
}

const uint8_t *es_c_key(const es_c_open *c, size_t *len)
{
    if (c == NULL || c->key == NULL)
        return NULL;
    if (len != NULL)
        *len = c->key_len;
    return c->key;
}

uint32_t es_c_new_count(const es_c_open *c)
{
    return c != NULL ? c->new_count : 0;
}

const uint8_t *es_c_m_content(const es_c_open *c, size_t *len)
{
    if (c == NULL)
        return NULL;
    if (len != NULL)
        *len = c->m_content_len;
    return c->m_content;
}

const uint8_t *es_c_mac(const es_c_open *c, size_t *len)
{
    if (c == NULL)
        return NULL;
    if (len != NULL)
        *len = c->mac_len;
    return c->mac;
}

esession_status es_c_verify(const es_c_open *c, es_chan *chan, const uint8_t s[ES_AES_BLOCK])
{
    uint8_t want[ES_HASH_MAX_BYTES];
    esession_status rc;

    if (c == NULL || chan == NULL || s == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (c->mac_len != es_chan_mac_size(chan))
        return ESESSION_ERR_BAD_MAC;
    rc = es_chan_mac(chan, c->m_content, c->m_content_len, s, ES_AES_BLOCK, want);
    if (rc == ESESSION_OK && !es_ct_equal(want, c->mac, c->mac_len))
        rc = ESESSION_ERR_BAD_MAC;
    ES_WIPE(want);
    return rc;
}

esession_status es_c_decrypt(esession_ctx *ctx, const es_c_open *c, es_chan *chan,
                             const uint8_t s[ES_AES_BLOCK], esession_buf *plain)
{
    if (c == NULL || chan == NULL || s == NULL || plain == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "decrypt: bad arguments");
    esession_status rc = es_c_verify(c, chan, s);
    if (rc != ESESSION_OK)
        return es_fail(ctx, rc, "a_mac does not verify at this counter");
    return es_c_decrypt_verified(ctx, c, chan, s, plain);
}

esession_status es_c_decrypt_verified(esession_ctx *ctx, const es_c_open *c, es_chan *chan,
                                      const uint8_t s[ES_AES_BLOCK], esession_buf *plain)
{
    uint8_t ctr[ES_AES_BLOCK];
    esession_buf tmp = {NULL, 0, 0};
    esession_status rc;

    if (c == NULL || chan == NULL || s == NULL || plain == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "decrypt: bad arguments");
    if ((rc = es_buf_alloc_in(ctx, &tmp, c->m_final_len, 1)) != ESESSION_OK)
        return es_fail(ctx, rc, "out of secure memory for the plaintext");
    memcpy(ctr, s, ES_AES_BLOCK);
    rc = es_chan_crypt(chan, ctr, c->m_final, (uint8_t *)tmp.data, c->m_final_len);
    if (rc != ESESSION_OK) {
        esession_buf_free(&tmp);
        return es_fail(ctx, rc, "decryption failed");
    }
    *plain = tmp;
    return ESESSION_OK;
}
