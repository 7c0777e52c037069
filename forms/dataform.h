/* SPDX-License-Identifier: ISC */
/* XEP-0004 data forms: typed fields read from a received <x>, and forms
 * built and written as text. */
#ifndef ESESSION_DATAFORM_H
#define ESESSION_DATAFORM_H

#include "normalize.h"

#define ES_FORM_MAX_FIELDS 64u
#define ES_FORM_MAX_VALUES 64u  /* <value>s per field, and <option>s per field */

typedef enum es_form_type {
    ES_FORM_FORM = 1,
    ES_FORM_SUBMIT,
    ES_FORM_RESULT,
    ES_FORM_CANCEL
} es_form_type;

typedef enum es_field_type {
    ES_FIELD_NONE = 0, /* no type attribute */
    ES_FIELD_BOOLEAN,
    ES_FIELD_FIXED,
    ES_FIELD_HIDDEN,
    ES_FIELD_JID_MULTI,
    ES_FIELD_JID_SINGLE,
    ES_FIELD_LIST_MULTI,
    ES_FIELD_LIST_SINGLE,
    ES_FIELD_TEXT_MULTI,
    ES_FIELD_TEXT_PRIVATE,
    ES_FIELD_TEXT_SINGLE
} es_field_type;

typedef struct es_form_field {
    char *var;              /* NULL only for a fixed field without var */
    es_field_type type;
    int required;           /* carries <required/> */
    size_t n_values;
    char **values;          /* the text of each <value>, in order */
    size_t n_options;
    char **options;         /* the <value> text of each <option>, in order */
    const xmlNode *node;    /* the <field> as received; NULL when built */
} es_form_field;

typedef struct es_form {
    es_form_type type;
    const xmlNode *node;    /* the <x> as received; NULL when built */
    size_t n_fields;
    es_form_field fields[ES_FORM_MAX_FIELDS];
} es_form;

/* Read a received <x xmlns='jabber:x:data'>. The form points into x's
 * tree (node members), which must outlive it; values are copies.
 * ESESSION_ERR_MALFORMED (reason in ctx) for: x not a jabber:x:data <x>;
 * a type other than form/submit/result/cancel or none; a child of <x>
 * other than <title>, <instructions>, <field> (so <reported>/<item> and
 * any element of another namespace); a field type outside XEP-0004; a
 * missing var (non-fixed field) or an empty one; two fields with one var;
 * a child of <field> other than <desc>, <required>, <value>, <option>; two
 * <desc> or <required>; a non-empty <required>; an <option> without
 * exactly one <value>, or in a field that is not list-single/list-multi;
 * two options with one value; more than one <value> in a field of type
 * boolean, fixed, jid-single, list-single, text-private or text-single; a
 * boolean value other than 0, 1, false, true; an element inside <value>,
 * <desc>, <title> or <instructions>; non-whitespace text between elements;
 * more than ES_FORM_MAX_FIELDS fields or ES_FORM_MAX_VALUES values or
 * options in one field. Comments and processing instructions are skipped
 * and the text of an element is the concatenation of its text (as in
 * es_form_normalize). */
esession_status es_form_parse(esession_ctx *ctx, const xmlNode *x, es_form **out);

/* normalize(the received <x>, excluded); ESESSION_ERR_STATE for a built form. */
esession_status es_form_normalize_received(esession_ctx *ctx, const es_form *form,
                                           const char *const *excluded, size_t n_excluded,
                                           esession_buf *out);

/* Lookups by var. es_form_find: NULL when absent (optional fields).
 * es_form_get: ESESSION_ERR_MALFORMED "missing field" when absent.
 * es_form_value: the one value of the field; ESESSION_ERR_MALFORMED when
 * the field is missing or has no value or several. (Duplicated vars never
 * reach a lookup: es_form_parse refuses them.) */
const es_form_field *es_form_find(const es_form *form, const char *var);
esession_status es_form_get(esession_ctx *ctx, const es_form *form, const char *var,
                            const es_form_field **out);
esession_status es_form_value(esession_ctx *ctx, const es_form *form, const char *var,
                              const char **value);

/* Building. es_form_add_field: var NULL only with ES_FIELD_FIXED; a var
 * already present is ESESSION_ERR_INVALID_ARGUMENT; more than
 * ES_FORM_MAX_FIELDS is ESESSION_ERR_LIMIT. The returned field stays valid
 * as long as the form. Values and options must be UTF-8 made of XML
 * characters (else ESESSION_ERR_INVALID_ARGUMENT); a second value in a
 * single-valued type or an option outside list types is
 * ESESSION_ERR_INVALID_ARGUMENT; more than ES_FORM_MAX_VALUES is
 * ESESSION_ERR_LIMIT. On failure the form is unchanged. */
esession_status es_form_new(esession_ctx *ctx, es_form_type type, es_form **out);
esession_status es_form_add_field(esession_ctx *ctx, es_form *form, const char *var,
                                  es_field_type type, es_form_field **out);
esession_status es_form_add_value(esession_ctx *ctx, es_form_field *field, const char *value);
esession_status es_form_add_option(esession_ctx *ctx, es_form_field *field, const char *value);

/* Write the form (built or parsed) as XML text:
 *   <x xmlns='jabber:x:data' type='T'><field type='..' var='..'>
 *   <value>v</value>...<option><value>o</value></option>...</field>...</x>
 * single-quoted attributes, type before var, no type attribute for
 * ES_FIELD_NONE, <required/> before the values when set, text escaped so
 * it reads back identically (& < > CR in text; & < ' TAB LF CR in
 * attributes). indent NULL: no whitespace at all; otherwise each <field>
 * starts on a new line indented by indent plus two spaces and </x> on a
 * new line indented by indent (indent "" gives the layout of XEP-0187
 * Listing 3, "    " that of Listing 7 inside <init>). */
esession_status es_form_serialize(esession_ctx *ctx, const es_form *form, const char *indent,
                                  esession_buf *out);

/* normalize(x, excluded) (es_form_normalize) of the <x> that
 * es_form_serialize writes for a built or parsed form, made from the form
 * itself without writing and parsing it: the same octets, whatever the
 * indent. */
esession_status es_form_normalize_built(esession_ctx *ctx, const es_form *form,
                                        const char *const *excluded, size_t n_excluded,
                                        esession_buf *out);

/* Names used on the wire ("list-single", "submit"); NULL for none/unknown. */
const char *es_field_type_name(es_field_type type);
const char *es_form_type_name(es_form_type type);

void es_form_free(es_form *form);

#endif
