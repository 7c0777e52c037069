/* SPDX-License-Identifier: ISC */
/* PROFILE §6: the canonical text of a data form as received. */
#include "normalize.h"

#include "strbuf.h"
#include "xmlchars.h"

#include <string.h>

#define CANON_MAX_DEPTH 64u
#define CANON_MAX_OUT (8u * ES_XML_MAX_BYTES)

typedef struct canon {
    esession_ctx *ctx;
    es_sb sb;
    esession_status rc;
} canon;

static int bad(canon *c, const char *why)
{
    if (c->rc == ESESSION_OK)
        c->rc = es_fail(c->ctx, ESESSION_ERR_MALFORMED, "form normalization: %s", why);
    return -1;
}

static const char *str(const xmlChar *s)
{
    return s != NULL ? (const char *)s : "";
}

/* PROFILE §6: Canonical XML 1.0 escaping. */
static void put_escaped(es_sb *b, const char *s, int attr)
{
    es_sb_put_escaped(b, s, ES_XML_CANONICAL | (attr ? ES_XML_ATTR : ES_XML_TEXT));
}

static int is_text(const xmlNode *n)
{
    return n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE;
}

static int is_ignored(const xmlNode *n)
{
    return n->type == XML_COMMENT_NODE || n->type == XML_PI_NODE;
}

static int put_attr_value(canon *c, const xmlAttr *a)
{
    for (const xmlNode *t = a->children; t != NULL; t = t->next) {
        if (t->type != XML_TEXT_NODE)
            return bad(c, "entity reference in an attribute");
        put_escaped(&c->sb, str(t->content), 1);
    }
    return 0;
}

static int put_attrs(canon *c, const xmlNode *e)
{
    const xmlAttr *sorted[ES_CANON_MAX_ATTRS];
    size_t n = 0;
    for (const xmlAttr *a = e->properties; a != NULL; a = a->next) {
        if (n == ES_CANON_MAX_ATTRS)
            return bad(c, "too many attributes");
        /* insertion sort by local name, byte order (strcmp is unsigned) */
        size_t k = n++;
        while (k > 0) {
            int cmp = strcmp(str(sorted[k - 1]->name), str(a->name));
            if (cmp == 0)
                return bad(c, "two attributes with the same local name");
            if (cmp < 0)
                break;
            sorted[k] = sorted[k - 1];
            k--;
        }
        sorted[k] = a;
    }
    for (size_t i = 0; i < n; i++) {
        es_sb_put(&c->sb, " ", 1);
        es_sb_puts(&c->sb, str(sorted[i]->name));
        es_sb_puts(&c->sb, "=\"");
        if (put_attr_value(c, sorted[i]) != 0)
            return -1;
        es_sb_put(&c->sb, "\"", 1);
    }
    return 0;
}

static int put_element(canon *c, const xmlNode *e, unsigned depth)
{
    if (depth >= CANON_MAX_DEPTH)
        return bad(c, "elements nested too deeply");
    int has_elem = 0;
    for (const xmlNode *k = e->children; k != NULL; k = k->next) {
        if (k->type == XML_ELEMENT_NODE)
            has_elem = 1;
        else if (!is_text(k) && !is_ignored(k))
            return bad(c, "unexpected node (entity reference?)");
    }
    es_sb_put(&c->sb, "<", 1);
    es_sb_puts(&c->sb, str(e->name));
    if (put_attrs(c, e) != 0)
        return -1;
    es_sb_put(&c->sb, ">", 1);
    for (const xmlNode *k = e->children; k != NULL; k = k->next) {
        if (k->type == XML_ELEMENT_NODE) {
            if (put_element(c, k, depth + 1) != 0)
                return -1;
        } else if (is_text(k)) {
            const char *t = str(k->content);
            if (!has_elem)
                put_escaped(&c->sb, t, 0); /* leaf text, exactly */
            else if (!es_xml_all_space(t, strlen(t)))
                return bad(c, "element with both text and child elements");
        }
    }
    es_sb_puts(&c->sb, "</");
    es_sb_puts(&c->sb, str(e->name));
    es_sb_put(&c->sb, ">", 1);
    return 0;
}

/* Does the unprefixed attribute `var` of e equal one of the excluded? */
static int is_excluded(const xmlNode *e, const char *const *excluded, size_t n)
{
    if (n == 0 || !es_xml_is(e, "field", ES_XDATA_NS))
        return 0;
    const xmlAttr *var = NULL;
    for (const xmlAttr *a = e->properties; a != NULL; a = a->next)
        if ((a->ns == NULL || str(a->ns->href)[0] == '\0') && strcmp(str(a->name), "var") == 0)
            var = a;
    if (var == NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (excluded[i] == NULL)
            continue;
        /* compare the (possibly split) attribute text with excluded[i] */
        const char *want = excluded[i];
        int match = 1;
        for (const xmlNode *t = var->children; t != NULL && match; t = t->next) {
            const char *piece = str(t->content);
            size_t len = strlen(piece);
            if (t->type != XML_TEXT_NODE || strncmp(want, piece, len) != 0)
                match = 0;
            else
                want += len;
        }
        if (match && *want == '\0')
            return 1;
    }
    return 0;
}

static esession_status finish(canon *c, esession_buf *out)
{
    if (c->rc != ESESSION_OK) {
        es_sb_free(&c->sb);
        return c->rc;
    }
    esession_status rc = es_sb_finish(&c->sb, out);
    if (rc != ESESSION_OK)
        return es_fail(c->ctx, rc, "form normalization: output too large or no memory");
    return ESESSION_OK;
}

esession_status es_form_normalize(esession_ctx *ctx, const xmlNode *x,
                                  const char *const *excluded, size_t n_excluded,
                                  esession_buf *out)
{
    if (x == NULL || out == NULL || (excluded == NULL && n_excluded > 0))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "es_form_normalize: bad arguments");
    if (!es_xml_is(x, "x", ES_XDATA_NS))
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "form normalization: not a jabber:x:data <x>");
    canon c = { ctx, { 0 }, ESESSION_OK };
    es_sb_init(&c.sb, CANON_MAX_OUT, 0);
    for (const xmlNode *k = x->children; k != NULL && c.rc == ESESSION_OK; k = k->next) {
        if (k->type == XML_ELEMENT_NODE) {
            if (!is_excluded(k, excluded, n_excluded))
                (void)put_element(&c, k, 1);
        } else if (is_text(k)) {
            const char *t = str(k->content);
            if (!es_xml_all_space(t, strlen(t)))
                (void)bad(&c, "text directly inside <x>");
        } else if (!is_ignored(k)) {
            (void)bad(&c, "unexpected node (entity reference?)");
        }
    }
    return finish(&c, out);
}

esession_status es_canon_element(esession_ctx *ctx, const xmlNode *elem, esession_buf *out)
{
    if (elem == NULL || out == NULL || elem->type != XML_ELEMENT_NODE)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "es_canon_element: bad arguments");
    canon c = { ctx, { 0 }, ESESSION_OK };
    es_sb_init(&c.sb, CANON_MAX_OUT, 0);
    (void)put_element(&c, elem, 0);
    return finish(&c, out);
}
