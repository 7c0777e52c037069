/* SPDX-License-Identifier: ISC */
/* XEP-0004: reading a received data form into typed fields. Strict on
 * purpose: normalization drops namespaces, so an element of another
 * namespace that looks like a form element is refused rather than
 * skipped. */
#include "dataform.h"

#include "xmlchars.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const field_type_names[] = {
    NULL, "boolean", "fixed", "hidden", "jid-multi", "jid-single", "list-multi",
    "list-single", "text-multi", "text-private", "text-single",
};

static const char *const form_type_names[] = { NULL, "form", "submit", "result", "cancel" };

const char *es_field_type_name(es_field_type type)
{
    if ((unsigned)type >= ES_ARRAY_LEN(field_type_names))
        return NULL;
    return field_type_names[type];
}

const char *es_form_type_name(es_form_type type)
{
    if ((unsigned)type >= ES_ARRAY_LEN(form_type_names))
        return NULL;
    return form_type_names[type];
}

static void free_strings(char **v, size_t n)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void es_form_free(es_form *form)
{
    if (form == NULL)
        return;
    for (size_t i = 0; i < form->n_fields; i++) {
        es_form_field *f = &form->fields[i];
        free(f->var);
        free_strings(f->values, f->n_values);
        free_strings(f->options, f->n_options);
    }
    sodium_memzero(form, sizeof *form);
    free(form);
}

/* ---- reading ------------------------------------------------------ */

typedef struct reader {
    esession_ctx *ctx;
    esession_status rc;
} reader;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int bad(reader *r, const char *fmt, ...)
{
    if (r->rc == ESESSION_OK) {
        char msg[ES_DETAIL_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        r->rc = es_fail(r->ctx, ESESSION_ERR_MALFORMED, "data form: %s", msg);
    }
    return -1;
}

static int nomem(reader *r)
{
    if (r->rc == ESESSION_OK)
        r->rc = es_fail(r->ctx, ESESSION_ERR_NO_MEMORY, "data form: no memory");
    return -1;
}

static const char *str(const xmlChar *s)
{
    return s != NULL ? (const char *)s : "";
}

static int is_text(const xmlNode *n)
{
    return n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE;
}

static int is_ignored(const xmlNode *n)
{
    return n->type == XML_COMMENT_NODE || n->type == XML_PI_NODE;
}

/* Concatenate text pieces into a fresh string. */
static char *join(const xmlNode *first)
{
    size_t len = 0;
    for (const xmlNode *t = first; t != NULL; t = t->next)
        if (is_text(t))
            len += strlen(str(t->content));
    char *s = malloc(len + 1);
    if (s == NULL)
        return NULL;
    size_t at = 0;
    for (const xmlNode *t = first; t != NULL; t = t->next)
        if (is_text(t)) {
            size_t n = strlen(str(t->content));
            memcpy(s + at, str(t->content), n);
            at += n;
        }
    s[at] = '\0';
    return s;
}

/* The text of a leaf element (no element children allowed). */
static int leaf_text(reader *r, const xmlNode *e, char **out)
{
    for (const xmlNode *k = e->children; k != NULL; k = k->next)
        if (!is_text(k) && !is_ignored(k))
            return bad(r, "<%s> must contain only text", str(e->name));
    if (out == NULL)
        return 0;
    *out = join(e->children);
    return *out == NULL ? nomem(r) : 0;
}

/* Only whitespace text (and comments/PIs) besides the child elements. */
static int container_ok(reader *r, const xmlNode *e)
{
    for (const xmlNode *k = e->children; k != NULL; k = k->next) {
        if (k->type == XML_ELEMENT_NODE || is_ignored(k))
            continue;
        const char *t = str(k->content);
        if (!is_text(k) || !es_xml_all_space(t, strlen(t)))
            return bad(r, "unexpected text or node inside <%s>", str(e->name));
    }
    return 0;
}

/* The value of the unprefixed attribute `name`; *out NULL if absent. */
static int attr_text(reader *r, const xmlNode *e, const char *name, char **out)
{
    *out = NULL;
    for (const xmlAttr *a = e->properties; a != NULL; a = a->next) {
        if ((a->ns != NULL && str(a->ns->href)[0] != '\0') || strcmp(str(a->name), name) != 0)
            continue;
        for (const xmlNode *t = a->children; t != NULL; t = t->next)
            if (t->type != XML_TEXT_NODE)
                return bad(r, "entity reference in attribute %s", name);
        *out = join(a->children);
        return *out == NULL ? nomem(r) : 0;
    }
    return 0;
}

static const char *var_of(const es_form_field *f)
{
    return f->var != NULL ? f->var : "(no var)";
}

static int push_string(reader *r, char ***v, size_t *n, char *s, const char *what)
{
    if (*n >= ES_FORM_MAX_VALUES) {
        free(s);
        return bad(r, "too many %s in one field", what);
    }
    char **p = realloc(*v, (*n + 1) * sizeof *p);
    if (p == NULL) {
        free(s);
        return nomem(r);
    }
    p[(*n)++] = s;
    *v = p;
    return 0;
}

static int parse_option(reader *r, es_form_field *f, const xmlNode *opt)
{
    if (f->type != ES_FIELD_LIST_SINGLE && f->type != ES_FIELD_LIST_MULTI)
        return bad(r, "<option> in field %s, which is not a list", var_of(f));
    if (container_ok(r, opt) != 0)
        return -1;
    const xmlNode *value = NULL;
    for (const xmlNode *k = opt->children; k != NULL; k = k->next) {
        if (k->type != XML_ELEMENT_NODE)
            continue;
        if (!es_xml_is(k, "value", ES_XDATA_NS) || value != NULL)
            return bad(r, "<option> in field %s needs exactly one <value>", var_of(f));
        value = k;
    }
    if (value == NULL)
        return bad(r, "<option> in field %s needs exactly one <value>", var_of(f));
    char *s;
    if (leaf_text(r, value, &s) != 0)
        return -1;
    for (size_t i = 0; i < f->n_options; i++)
        if (strcmp(f->options[i], s) == 0) {
            free(s);
            return bad(r, "repeated option in field %s", var_of(f));
        }
    return push_string(r, &f->options, &f->n_options, s, "options");
}

static int parse_field_type(reader *r, es_form_field *f, const char *type)
{
    f->type = ES_FIELD_NONE;
    if (type == NULL)
        return 0;
    for (size_t i = 1; i < ES_ARRAY_LEN(field_type_names); i++)
        if (strcmp(type, field_type_names[i]) == 0) {
            f->type = (es_field_type)i;
            return 0;
        }
    return bad(r, "unknown field type '%s'", type);
}

static int single_valued(es_field_type t)
{
    return t == ES_FIELD_BOOLEAN || t == ES_FIELD_FIXED || t == ES_FIELD_JID_SINGLE ||
           t == ES_FIELD_LIST_SINGLE || t == ES_FIELD_TEXT_PRIVATE || t == ES_FIELD_TEXT_SINGLE;
}

static int parse_field(reader *r, es_form_field *f, const xmlNode *e)
{
    f->node = e;
    char *type = NULL;
    if (attr_text(r, e, "var", &f->var) != 0 || attr_text(r, e, "type", &type) != 0)
        return -1;
    int rc = parse_field_type(r, f, type);
    free(type);
    if (rc != 0)
        return -1;
    if (f->var == NULL && f->type != ES_FIELD_FIXED)
        return bad(r, "field without var");
    if (f->var != NULL && f->var[0] == '\0')
        return bad(r, "field with an empty var");
    if (container_ok(r, e) != 0)
        return -1;

    int n_desc = 0;
    for (const xmlNode *k = e->children; k != NULL; k = k->next) {
        if (k->type != XML_ELEMENT_NODE)
            continue;
        if (es_xml_is(k, "value", ES_XDATA_NS)) {
            char *s;
            if (leaf_text(r, k, &s) != 0 || push_string(r, &f->values, &f->n_values, s, "values") != 0)
                return -1;
        } else if (es_xml_is(k, "option", ES_XDATA_NS)) {
            if (parse_option(r, f, k) != 0)
                return -1;
        } else if (es_xml_is(k, "desc", ES_XDATA_NS)) {
            if (n_desc++ > 0)
                return bad(r, "two <desc> in field %s", var_of(f));
            if (leaf_text(r, k, NULL) != 0)
                return -1;
        } else if (es_xml_is(k, "required", ES_XDATA_NS)) {
            if (f->required)
                return bad(r, "two <required> in field %s", var_of(f));
            f->required = 1;
            for (const xmlNode *c = k->children; c != NULL; c = c->next)
                if (!is_ignored(c))
                    return bad(r, "<required> in field %s is not empty", var_of(f));
        } else {
            return bad(r, "unexpected <%s> in a field", str(k->name));
        }
    }
    if (single_valued(f->type) && f->n_values > 1)
        return bad(r, "several values in single-valued field %s", var_of(f));
    if (f->type == ES_FIELD_BOOLEAN && f->n_values == 1) {
        const char *v = f->values[0];
        if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0 && strcmp(v, "false") != 0 &&
            strcmp(v, "true") != 0)
            return bad(r, "boolean field %s is not 0, 1, false or true", var_of(f));
    }
    return 0;
}

static int parse_form_type(reader *r, es_form *form, const xmlNode *x)
{
    char *type = NULL;
    if (attr_text(r, x, "type", &type) != 0)
        return -1;
    if (type == NULL)
        return bad(r, "<x> without type");
    for (size_t i = 1; i < ES_ARRAY_LEN(form_type_names); i++)
        if (strcmp(type, form_type_names[i]) == 0) {
            form->type = (es_form_type)i;
            free(type);
            return 0;
        }
    bad(r, "unknown form type '%s'", type);
    free(type);
    return -1;
}

static int parse_children(reader *r, es_form *form, const xmlNode *x)
{
    int n_title = 0;
    if (container_ok(r, x) != 0)
        return -1;
    for (const xmlNode *k = x->children; k != NULL; k = k->next) {
        if (k->type != XML_ELEMENT_NODE)
            continue;
        if (es_xml_is(k, "field", ES_XDATA_NS)) {
            if (form->n_fields >= ES_FORM_MAX_FIELDS)
                return bad(r, "too many fields");
            es_form_field *f = &form->fields[form->n_fields++];
            if (parse_field(r, f, k) != 0)
                return -1;
            if (f->var != NULL)
                for (size_t i = 0; i + 1 < form->n_fields; i++)
                    if (form->fields[i].var != NULL && strcmp(form->fields[i].var, f->var) == 0)
                        return bad(r, "field %s appears twice", var_of(f));
        } else if (es_xml_is(k, "title", ES_XDATA_NS)) {
            if (n_title++ > 0)
                return bad(r, "two <title>");
            if (leaf_text(r, k, NULL) != 0)
                return -1;
        } else if (es_xml_is(k, "instructions", ES_XDATA_NS)) {
            if (leaf_text(r, k, NULL) != 0)
                return -1;
        } else {
            return bad(r, "unexpected <%s> in <x>", str(k->name));
        }
    }
    return 0;
}

esession_status es_form_parse(esession_ctx *ctx, const xmlNode *x, es_form **out)
{
    if (x == NULL || out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "es_form_parse: bad arguments");
    if (!es_xml_is(x, "x", ES_XDATA_NS))
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "data form: not a jabber:x:data <x>");
    es_form *form = calloc(1, sizeof *form);
    if (form == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "data form: no memory");
    form->node = x;
    reader r = { ctx, ESESSION_OK };
    if (parse_form_type(&r, form, x) != 0 || parse_children(&r, form, x) != 0) {
        es_form_free(form);
        return r.rc;
    }
    *out = form;
    return ESESSION_OK;
}

/* ---- lookups ------------------------------------------------------ */

const es_form_field *es_form_find(const es_form *form, const char *var)
{
    if (form == NULL || var == NULL)
        return NULL;
    for (size_t i = 0; i < form->n_fields; i++)
        if (form->fields[i].var != NULL && strcmp(form->fields[i].var, var) == 0)
            return &form->fields[i];
    return NULL;
}

esession_status es_form_get(esession_ctx *ctx, const es_form *form, const char *var,
                            const es_form_field **out)
{
    if (form == NULL || var == NULL || out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "es_form_get: bad arguments");
    const es_form_field *f = es_form_find(form, var);
    if (f == NULL)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "data form: missing field %s", var);
    *out = f;
    return ESESSION_OK;
}

esession_status es_form_value(esession_ctx *ctx, const es_form *form, const char *var,
                              const char **value)
{
    const es_form_field *f;
    if (value == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "es_form_value: bad arguments");
    esession_status rc = es_form_get(ctx, form, var, &f);
    if (rc != ESESSION_OK)
        return rc;
    if (f->n_values != 1)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "data form: field %s has %zu values, not one",
                       var, f->n_values);
    *value = f->values[0];
    return ESESSION_OK;
}

esession_status es_form_normalize_received(esession_ctx *ctx, const es_form *form,
                                           const char *const *excluded, size_t n_excluded,
                                           esession_buf *out)
{
    if (form == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "es_form_normalize_received: no form");
    if (form->node == NULL)
        return es_fail(ctx, ESESSION_ERR_STATE, "a built form has no received tree to normalize");
    return es_form_normalize(ctx, form->node, excluded, n_excluded, out);
}
