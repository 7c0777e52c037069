/* SPDX-License-Identifier: ISC */
/* XEP-0004: building data forms and writing them as XML text. */
#include "dataform.h"

#include "strbuf.h"
#include "xmlchars.h"

#include <stdlib.h>
#include <string.h>

#define FORM_MAX_OUT (4u * ES_XML_MAX_BYTES)

esession_status es_form_new(esession_ctx *ctx, es_form_type type, es_form **out)
{
    if (out == NULL || es_form_type_name(type) == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "es_form_new: bad arguments");
    es_form *form = calloc(1, sizeof *form);
    if (form == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "data form: no memory");
    form->type = type;
    *out = form;
    return ESESSION_OK;
}

static int text_ok(const char *s)
{
    return s != NULL && es_xml_chars_ok(s, strlen(s), NULL);
}

esession_status es_form_add_field(esession_ctx *ctx, es_form *form, const char *var,
                                  es_field_type type, es_form_field **out)
{
    if (form == NULL || (type != ES_FIELD_NONE && es_field_type_name(type) == NULL))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "es_form_add_field: bad arguments");
    if (var == NULL ? type != ES_FIELD_FIXED : (var[0] == '\0' || !text_ok(var)))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "es_form_add_field: bad var");
    if (var != NULL && es_form_find(form, var) != NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "data form: field %s already present",
                       var);
    if (form->n_fields >= ES_FORM_MAX_FIELDS)
        return es_fail(ctx, ESESSION_ERR_LIMIT, "data form: more than %u fields",
                       ES_FORM_MAX_FIELDS);
    char *copy = NULL;
    if (var != NULL && (copy = strdup(var)) == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "data form: no memory");
    es_form_field *f = &form->fields[form->n_fields++];
    memset(f, 0, sizeof *f);
    f->var = copy;
    f->type = type;
    if (out != NULL)
        *out = f;
    return ESESSION_OK;
}

static esession_status append(esession_ctx *ctx, char ***v, size_t *n, const char *value)
{
    if (*n >= ES_FORM_MAX_VALUES)
        return es_fail(ctx, ESESSION_ERR_LIMIT, "data form: more than %u values",
                       ES_FORM_MAX_VALUES);
    char *copy = strdup(value);
    if (copy == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "data form: no memory");
    char **p = realloc(*v, (*n + 1) * sizeof *p);
    if (p == NULL) {
        free(copy);
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "data form: no memory");
    }
    p[(*n)++] = copy;
    *v = p;
    return ESESSION_OK;
}

static int multi_valued(es_field_type t)
{
    return t == ES_FIELD_NONE || t == ES_FIELD_HIDDEN || t == ES_FIELD_JID_MULTI ||
           t == ES_FIELD_LIST_MULTI || t == ES_FIELD_TEXT_MULTI;
}

esession_status es_form_add_value(esession_ctx *ctx, es_form_field *field, const char *value)
{
    if (field == NULL || !text_ok(value))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "es_form_add_value: bad arguments");
    if (field->n_values > 0 && !multi_valued(field->type))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT,
                       "data form: a %s field takes one value", es_field_type_name(field->type));
    if (field->type == ES_FIELD_BOOLEAN && strcmp(value, "0") != 0 && strcmp(value, "1") != 0 &&
        strcmp(value, "false") != 0 && strcmp(value, "true") != 0)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "data form: not a boolean value");
    return append(ctx, &field->values, &field->n_values, value);
}

esession_status es_form_add_option(esession_ctx *ctx, es_form_field *field, const char *value)
{
    if (field == NULL || !text_ok(value))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "es_form_add_option: bad arguments");
    if (field->type != ES_FIELD_LIST_SINGLE && field->type != ES_FIELD_LIST_MULTI)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "data form: options need a list field");
    for (size_t i = 0; i < field->n_options; i++)
        if (strcmp(field->options[i], value) == 0)
            return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "data form: repeated option");
    return append(ctx, &field->options, &field->n_options, value);
}

static void put_value(es_sb *b, const char *v)
{
    es_sb_puts(b, "<value>");
    es_sb_put_escaped(b, v, ES_XML_TEXT);
    es_sb_puts(b, "</value>");
}

static void put_field(es_sb *b, const es_form_field *f)
{
    es_sb_puts(b, "<field");
    if (f->type != ES_FIELD_NONE) {
        es_sb_puts(b, " type='");
        es_sb_puts(b, es_field_type_name(f->type));
        es_sb_puts(b, "'");
    }
    if (f->var != NULL) {
        es_sb_puts(b, " var='");
        es_sb_put_escaped(b, f->var, ES_XML_ATTR);
        es_sb_puts(b, "'");
    }
    if (!f->required && f->n_values == 0 && f->n_options == 0) {
        es_sb_puts(b, "/>");
        return;
    }
    es_sb_puts(b, ">");
    if (f->required)
        es_sb_puts(b, "<required/>");
    for (size_t i = 0; i < f->n_values; i++)
        put_value(b, f->values[i]);
    for (size_t i = 0; i < f->n_options; i++) {
        es_sb_puts(b, "<option>");
        put_value(b, f->options[i]);
        es_sb_puts(b, "</option>");
    }
    es_sb_puts(b, "</field>");
}

/* canon() of a built field as a receiver sees it once the text from
 * es_form_serialize is parsed: attributes sorted (type before var) and
 * double-quoted, empty elements as start-end pairs, no whitespace between
 * elements, text with Canonical XML escaping. The writer escapes so that
 * every value and var reads back exactly, so nothing else can differ. */
static void canon_value(es_sb *b, const char *v)
{
    es_sb_puts(b, "<value>");
    es_sb_put_escaped(b, v, ES_XML_CANONICAL | ES_XML_TEXT);
    es_sb_puts(b, "</value>");
}

static void canon_field(es_sb *b, const es_form_field *f)
{
    es_sb_puts(b, "<field");
    if (f->type != ES_FIELD_NONE) {
        es_sb_puts(b, " type=\"");
        es_sb_puts(b, es_field_type_name(f->type));
        es_sb_puts(b, "\"");
    }
    if (f->var != NULL) {
        es_sb_puts(b, " var=\"");
        es_sb_put_escaped(b, f->var, ES_XML_CANONICAL | ES_XML_ATTR);
        es_sb_puts(b, "\"");
    }
    es_sb_puts(b, ">");
    if (f->required)
        es_sb_puts(b, "<required></required>");
    for (size_t i = 0; i < f->n_values; i++)
        canon_value(b, f->values[i]);
    for (size_t i = 0; i < f->n_options; i++) {
        es_sb_puts(b, "<option>");
        canon_value(b, f->options[i]);
        es_sb_puts(b, "</option>");
    }
    es_sb_puts(b, "</field>");
}

static int excluded_var(const es_form_field *f, const char *const *excluded, size_t n)
{
    for (size_t i = 0; f->var != NULL && i < n; i++)
        if (excluded[i] != NULL && strcmp(f->var, excluded[i]) == 0)
            return 1;
    return 0;
}

esession_status es_form_normalize_built(esession_ctx *ctx, const es_form *form,
                                        const char *const *excluded, size_t n_excluded,
                                        esession_buf *out)
{
    if (form == NULL || out == NULL || (excluded == NULL && n_excluded > 0))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "es_form_normalize_built: bad arguments");
    es_sb b;
    es_sb_init(&b, FORM_MAX_OUT, 0);
    for (size_t i = 0; i < form->n_fields; i++)
        if (!excluded_var(&form->fields[i], excluded, n_excluded))
            canon_field(&b, &form->fields[i]);
    esession_status rc = es_sb_finish(&b, out);
    if (rc != ESESSION_OK)
        return es_fail(ctx, rc, "form normalization: output too large or no memory");
    return ESESSION_OK;
}

esession_status es_form_serialize(esession_ctx *ctx, const es_form *form, const char *indent,
                                  esession_buf *out)
{
    if (form == NULL || out == NULL || es_form_type_name(form->type) == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "es_form_serialize: bad arguments");
    if (indent != NULL && strspn(indent, " \t") != strlen(indent))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "es_form_serialize: indent not blank");
    es_sb b;
    es_sb_init(&b, FORM_MAX_OUT, 0);
    es_sb_puts(&b, "<x xmlns='jabber:x:data' type='");
    es_sb_puts(&b, es_form_type_name(form->type));
    es_sb_puts(&b, "'>");
    for (size_t i = 0; i < form->n_fields; i++) {
        if (indent != NULL) {
            es_sb_puts(&b, "\n");
            es_sb_puts(&b, indent);
            es_sb_puts(&b, "  ");
        }
        put_field(&b, &form->fields[i]);
    }
    if (indent != NULL && form->n_fields > 0) {
        es_sb_puts(&b, "\n");
        es_sb_puts(&b, indent);
    }
    es_sb_puts(&b, "</x>");
    esession_status rc = es_sb_finish(&b, out);
    if (rc != ESESSION_OK)
        return es_fail(ctx, rc, "data form: output too large or no memory");
    return ESESSION_OK;
}
