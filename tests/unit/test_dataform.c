/* SPDX-License-Identifier: ISC */
/* XEP-0004 data forms: reading the protocol's forms, every rejection,
 * lookups, building, and writing them back byte for byte. */
#include <criterion/criterion.h>
#include <glob.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../../crypto/base64.h"
#include "../../forms/dataform.h"
#include "../common/vecfile.h"
#include "fixture.h"

FX_SUITE_WITH_CTX(dataform);

/* Parse the first <x> of text into a form (doc kept in *doc). */
static es_form *read_form(const char *text, xmlDocPtr *doc)
{
    *doc = fx_parse(ctx, text);
    xmlNodePtr x = fx_find_x(xmlDocGetRootElement(*doc));
    cr_assert_not_null(x);
    es_form *form = NULL;
    cr_assert_eq(es_form_parse(ctx, x, &form), ESESSION_OK, "%s", esession_ctx_error_detail(ctx));
    cr_assert_not_null(form);
    cr_assert_eq(form->node, x);
    return form;
}

static void refused(const char *text, const char *why)
{
    xmlDocPtr doc = fx_parse(ctx, text);
    xmlNodePtr x = fx_find_x(xmlDocGetRootElement(doc));
    if (x == NULL)
        x = xmlDocGetRootElement(doc);
    es_form *form = (es_form *)&ctx;
    cr_assert_eq(es_form_parse(ctx, x, &form), ESESSION_ERR_MALFORMED, "accepted %s", text);
    cr_assert_eq(form, (es_form *)&ctx, "output touched");
    cr_assert(strstr(esession_ctx_error_detail(ctx), why) != NULL, "'%s' lacks '%s'",
              esession_ctx_error_detail(ctx), why);
    xmlFreeDoc(doc);
}

static void assert_strings(char **got, size_t n, const char *const *want, size_t m)
{
    cr_assert_eq(n, m);
    for (size_t i = 0; i < m; i++)
        cr_assert_str_eq(got[i], want[i]);
}

static const char options_form[] =
    "<x xmlns='jabber:x:data' type='form'>\n"
    "  <field type='hidden' var='FORM_TYPE'><value>urn:xmpp:ssn</value></field>\n"
    "  <field type='list-single' var='otr'><option><value>false</value></option>"
    "<option><value>true</value></option></field>\n"
    "  <field type='list-multi' var='stanzas'><option><value>message</value></option></field>\n"
    "  <field type='text-single' var='rekey_freq'><value>1</value></field>\n"
    "  <field var='expires'><value>2026-12-01T00:00:00Z</value></field>\n"
    "  <field var='dhkeys'><value>AAEC</value><value>AwQF</value></field>\n"
    "</x>";

static void reads_an_options_form(void)
{
    xmlDocPtr doc;
    es_form *f = read_form(options_form, &doc);
    cr_assert_eq(f->type, ES_FORM_FORM);
    cr_assert_eq(f->n_fields, 6);
    const es_form_field *ft = es_form_find(f, "FORM_TYPE");
    cr_assert_eq(ft, &f->fields[0]);
    cr_assert_eq(ft->type, ES_FIELD_HIDDEN);
    cr_assert_eq(ft->node, f->node->children->next);
    const char *v;
    cr_assert_eq(es_form_value(ctx, f, "FORM_TYPE", &v), ESESSION_OK);
    cr_assert_str_eq(v, "urn:xmpp:ssn");
    const es_form_field *otr;
    cr_assert_eq(es_form_get(ctx, f, "otr", &otr), ESESSION_OK);
    cr_assert_eq(otr->type, ES_FIELD_LIST_SINGLE);
    cr_assert_eq(otr->n_values, 0);
    assert_strings(otr->options, otr->n_options, (const char *[]){ "false", "true" }, 2);
    cr_assert_eq(es_form_find(f, "stanzas")->type, ES_FIELD_LIST_MULTI);
    cr_assert_eq(es_form_find(f, "rekey_freq")->type, ES_FIELD_TEXT_SINGLE);
    const es_form_field *dh = es_form_find(f, "dhkeys");
    cr_assert_eq(dh->type, ES_FIELD_NONE);
    assert_strings(dh->values, dh->n_values, (const char *[]){ "AAEC", "AwQF" }, 2);
    cr_assert_eq(es_form_value(ctx, f, "expires", &v), ESESSION_OK);
    cr_assert_str_eq(v, "2026-12-01T00:00:00Z");

    /* missing and multi-valued lookups */
    const es_form_field *none = (const es_form_field *)&ctx;
    cr_assert_null(es_form_find(f, "signs"));
    cr_assert_eq(es_form_get(ctx, f, "signs", &none), ESESSION_ERR_MALFORMED);
    cr_assert_str_eq(esession_ctx_error_detail(ctx), "data form: missing field signs");
    cr_assert_eq(none, (const es_form_field *)&ctx);
    v = "untouched";
    cr_assert_eq(es_form_value(ctx, f, "dhkeys", &v), ESESSION_ERR_MALFORMED);
    cr_assert(strstr(esession_ctx_error_detail(ctx), "2 values") != NULL);
    cr_assert_eq(es_form_value(ctx, f, "otr", &v), ESESSION_ERR_MALFORMED);
    cr_assert_eq(es_form_value(ctx, f, "signs", &v), ESESSION_ERR_MALFORMED);
    cr_assert_str_eq(v, "untouched");
    cr_assert_eq(es_form_value(ctx, f, "expires", NULL), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_form_get(ctx, NULL, "x", &none), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_null(es_form_find(NULL, "x"));
    cr_assert_null(es_form_find(f, NULL));

    /* normalization of the received tree */
    static const char *const excl[] = { "dhkeys" };
    esession_buf out = { 0 };
    cr_assert_eq(es_form_normalize_received(ctx, f, excl, 1, &out), ESESSION_OK);
    cr_assert(strncmp(out.data, "<field type=\"hidden\" var=\"FORM_TYPE\">", 37) == 0);
    cr_assert_null(strstr(out.data, "dhkeys"));
    esession_buf_free(&out);
    es_form_free(f);
    xmlFreeDoc(doc);
}

/* The unusual serialization of OfflineAccept tcId 62, read as a form. */
static void reads_an_unusual_but_valid_form(void)
{
    xmlDocPtr doc;
    es_form *f = read_form(
        "<r><xd:x xmlns:xd=\"jabber:x:data\" type=\"submit\">\r\n\t"
        "<xd:field type=\"hidden\" var=\"FORM_TYPE\"><xd:value>&#117;rn:xmpp:ssn</xd:value>"
        "<xd:required/></xd:field>\n<xd:field var='otr' label='a &amp; b'><xd:value>"
        "<![CDATA[false]]></xd:value><xd:desc>x &gt; y</xd:desc></xd:field>"
        "<xd:field var='x-unknown' type='text-single'><xd:value>&lt;kept&gt;</xd:value></xd:field>"
        "<xd:field var='my_nonce'><xd:value> Mf5d\n  j1i0= </xd:value><!-- c --></xd:field>"
        "<xd:title>t</xd:title><xd:instructions>i</xd:instructions><xd:instructions/>"
        "<xd:field type='fixed'><xd:value>section</xd:value></xd:field>"
        "<xd:field type='boolean' var='b'><xd:value>1</xd:value></xd:field>"
        "<xd:field type='jid-multi' var='j'><xd:value>a@b</xd:value><xd:value>c@d</xd:value>"
        "</xd:field><xd:field type='text-multi' var='tm'/>"
        "<xd:field type='hidden' var='h'><xd:value>1</xd:value><xd:value>2</xd:value></xd:field>"
        "</xd:x></r>",
        &doc);
    cr_assert_eq(f->type, ES_FORM_SUBMIT);
    cr_assert_eq(f->n_fields, 9);
    const char *v;
    cr_assert_eq(es_form_value(ctx, f, "FORM_TYPE", &v), ESESSION_OK);
    cr_assert_str_eq(v, "urn:xmpp:ssn");
    cr_assert(es_form_find(f, "FORM_TYPE")->required);
    cr_assert(!es_form_find(f, "otr")->required);
    cr_assert_eq(es_form_value(ctx, f, "otr", &v), ESESSION_OK);
    cr_assert_str_eq(v, "false");
    cr_assert_eq(es_form_value(ctx, f, "x-unknown", &v), ESESSION_OK);
    cr_assert_str_eq(v, "<kept>");
    cr_assert_eq(es_form_value(ctx, f, "my_nonce", &v), ESESSION_OK);
    cr_assert_str_eq(v, " Mf5d\n  j1i0= ");
    cr_assert_null(f->fields[4].var);
    cr_assert_eq(f->fields[4].type, ES_FIELD_FIXED);
    cr_assert_eq(es_form_find(f, "b")->type, ES_FIELD_BOOLEAN);
    cr_assert_eq(es_form_find(f, "j")->n_values, 2);
    cr_assert_eq(es_form_find(f, "tm")->n_values, 0);
    cr_assert_eq(es_form_find(f, "h")->n_values, 2);
    es_form_free(f);
    xmlFreeDoc(doc);
}

static void every_field_and_form_type(void)
{
    static const char *const types[] = { "boolean", "fixed", "hidden", "jid-multi",
                                          "jid-single", "list-multi", "list-single",
                                          "text-multi", "text-private", "text-single" };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        char xml[256];
        snprintf(xml, sizeof xml, "<x xmlns='jabber:x:data' type='result'><field type='%s' "
                 "var='v'/></x>", types[i]);
        xmlDocPtr doc;
        es_form *f = read_form(xml, &doc);
        cr_assert_eq(f->type, ES_FORM_RESULT);
        cr_assert_eq(f->fields[0].type, (es_field_type)(i + 1));
        cr_assert_str_eq(es_field_type_name(f->fields[0].type), types[i]);
        es_form_free(f);
        xmlFreeDoc(doc);
    }
    cr_assert_null(es_field_type_name(ES_FIELD_NONE));
    cr_assert_null(es_field_type_name((es_field_type)99));
    xmlDocPtr doc;
    es_form *f = read_form("<x xmlns='jabber:x:data' type='cancel'/>", &doc);
    cr_assert_eq(f->type, ES_FORM_CANCEL);
    cr_assert_eq(f->n_fields, 0);
    cr_assert_str_eq(es_form_type_name(ES_FORM_CANCEL), "cancel");
    cr_assert_null(es_form_type_name((es_form_type)0));
    cr_assert_null(es_form_type_name((es_form_type)5));
    es_form_free(f);
    xmlFreeDoc(doc);
}

#define X(body) "<x xmlns='jabber:x:data' type='submit'>" body "</x>"

static void bad_input_is_malformed(void)
{
    refused("<x xmlns='urn:other' type='submit'/>", "not a jabber:x:data <x>");
    refused("<y xmlns='jabber:x:data' type='submit'/>", "not a jabber:x:data <x>");
    refused("<x xmlns='jabber:x:data'/>", "without type");
    refused("<x xmlns='jabber:x:data' type='error'/>", "unknown form type");
    refused(X("<field var='a'/><field var='a'/>"), "field a appears twice");
    refused(X("<field var='a'/><field var='b'/><field var='a'><value>1</value></field>"),
            "appears twice");
    refused(X("<field type='text-single'/>"), "field without var");
    refused(X("<field/>"), "field without var");
    refused(X("<field var=''/>"), "empty var");
    refused(X("<field var='a' type='list'/>"), "unknown field type 'list'");
    refused(X("<field var='a' type=''/>"), "unknown field type");
    refused(X("<reported><field var='a'/></reported>"), "unexpected <reported>");
    refused(X("<item><field var='a'/></item>"), "unexpected <item>");
    refused(X("<field xmlns='urn:evil' var='terminate'><value>1</value></field>"),
            "unexpected <field>");
    refused(X("<title>a</title><title>b</title>"), "two <title>");
    refused(X("<title><b/></title>"), "<title> must contain only text");
    refused(X("<instructions><b/></instructions>"), "only text");
    refused(X("stray<field var='a'/>"), "unexpected text");
    refused(X("<field var='a'>stray<value>1</value></field>"), "unexpected text");
    refused(X("<field var='a'><value>1<b/></value></field>"), "<value> must contain only text");
    refused(X("<field var='a'><desc>1</desc><desc>2</desc></field>"), "two <desc>");
    refused(X("<field var='a'><desc><b/></desc></field>"), "only text");
    refused(X("<field var='a'><required/><required/></field>"), "two <required>");
    refused(X("<field var='a'><required>x</required></field>"), "<required> in field a is not empty");
    refused(X("<field var='a'><required> </required></field>"), "not empty");
    refused(X("<field var='a'><required><b/></required></field>"), "not empty");
    refused(X("<field var='a'><label>x</label></field>"), "unexpected <label>");
    refused(X("<field var='a'><validate xmlns='http://jabber.org/protocol/xdata-validate'/>"
              "</field>"), "unexpected <validate>");
    refused(X("<field var='a' type='text-private'><value>1</value><value>2</value></field>"),
            "several values in single-valued field a");
    refused(X("<field var='a' type='jid-single'><value>1</value><value>2</value></field>"),
            "several values");
    refused(X("<field var='a' type='text-single'><value/><value/></field>"), "several values");
    refused(X("<field var='a' type='text-single'><option><value>1</value></option></field>"),
            "not a list");
    refused(X("<field var='a'><option><value>1</value></option></field>"), "not a list");
    refused(X("<field var='a' type='list-single'><option/></field>"), "exactly one <value>");
    refused(X("<field var='a' type='list-single'><option><value>1</value><value>2</value>"
              "</option></field>"), "exactly one <value>");
    refused(X("<field var='a' type='list-single'><option><value>1</value><desc/></option>"
              "</field>"), "exactly one <value>");
    refused(X("<field var='a' type='list-multi'><option>t<value>1</value></option></field>"),
            "unexpected text");
    refused(X("<field var='a' type='list-multi'><option><value>1</value></option>"
              "<option label='again'><value>1</value></option></field>"), "repeated option");
    refused(X("<field var='b' type='boolean'><value>yes</value></field>"), "boolean field b");
    refused(X("<field var='b' type='boolean'><value>0</value><value>1</value></field>"),
            "several values");
    refused(X("<field var='a' type='list-single'><value>1</value><value>2</value></field>"),
            "several values");
    refused(X("<field type='fixed'><value>1</value><value>2</value></field>"),
            "several values in single-valued field (no var)");
    refused(X("<field var='a' xmlns:p='urn:p' p:type='hidden' type='bogus'/>"), "unknown field");
}

static void namespaced_attributes_are_not_form_attributes(void)
{
    /* p:var is not var: the field has none. */
    refused("<x xmlns='jabber:x:data' xmlns:p='urn:p' type='submit'><field p:var='a'/></x>",
            "field without var");
    refused("<x xmlns='jabber:x:data' xmlns:p='urn:p' p:type='submit'/>", "without type");
}

static void too_many(const char *open, const char *pre, const char *post, const char *close,
                     unsigned n, const char *why)
{
    size_t cap = strlen(open) + strlen(close) + n * (strlen(pre) + strlen(post) + 8) + 1;
    char *xml = malloc(cap);
    cr_assert_not_null(xml);
    strcpy(xml, open);
    for (unsigned i = 0; i < n; i++)
        snprintf(xml + strlen(xml), cap - strlen(xml), "%s%u%s", pre, i, post);
    strcat(xml, close);
    if (why == NULL) {
        xmlDocPtr doc;
        es_form_free(read_form(xml, &doc));
        xmlFreeDoc(doc);
    } else {
        refused(xml, why);
    }
    free(xml);
}

static void limits(void)
{
    const char *xo = "<x xmlns='jabber:x:data' type='form'>";
    too_many(xo, "<field var='f", "'/>", "</x>", ES_FORM_MAX_FIELDS, NULL);
    too_many(xo, "<field var='f", "'/>", "</x>", ES_FORM_MAX_FIELDS + 1, "too many fields");
    const char *fo = "<x xmlns='jabber:x:data' type='form'><field var='v' type='list-multi'>";
    too_many(fo, "<value>", "</value>", "</field></x>", ES_FORM_MAX_VALUES, NULL);
    too_many(fo, "<value>", "</value>", "</field></x>", ES_FORM_MAX_VALUES + 1,
             "too many values in one field");
    too_many(fo, "<option><value>", "</value></option>", "</field></x>", ES_FORM_MAX_VALUES, NULL);
    too_many(fo, "<option><value>", "</value></option>", "</field></x>", ES_FORM_MAX_VALUES + 1,
             "too many options in one field");
}

static void parse_arguments(void)
{
    xmlDocPtr doc = fx_parse(ctx, "<x xmlns='jabber:x:data' type='form'/>");
    es_form *f = NULL;
    cr_assert_eq(es_form_parse(ctx, NULL, &f), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_form_parse(ctx, xmlDocGetRootElement(doc), NULL),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_null(f);
    es_form_free(NULL);
    xmlFreeDoc(doc);
}

/* ---- building and writing -------------------------------------------- */

static void add(es_form *f, const char *var, es_field_type t, const char *const *values,
                size_t nv, const char *const *options, size_t no)
{
    es_form_field *fld = NULL;
    cr_assert_eq(es_form_add_field(ctx, f, var, t, &fld), ESESSION_OK, "%s",
                 esession_ctx_error_detail(ctx));
    for (size_t i = 0; i < nv; i++)
        cr_assert_eq(es_form_add_value(ctx, fld, values[i]), ESESSION_OK);
    for (size_t i = 0; i < no; i++)
        cr_assert_eq(es_form_add_option(ctx, fld, options[i]), ESESSION_OK);
}

static char *b64_of_hex(const char *hex)
{
    size_t n;
    uint8_t *raw = vec_hex(hex, &n);
    cr_assert_not_null(raw);
    char *out = malloc(es_base64_encoded_len(n) + 1);
    cr_assert_not_null(out);
    es_base64_encode(out, raw, n);
    free(raw);
    return out;
}

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    cr_assert_not_null(s, "no %s", key);
    return s;
}

static void add_list(es_form *f, json_t *options, const char *var, es_field_type t)
{
    json_t *arr = json_object_get(options, var);
    const char *vals[16];
    size_t n = json_array_size(arr);
    cr_assert(n > 0 && n <= 16);
    for (size_t i = 0; i < n; i++)
        vals[i] = json_string_value(json_array_get(arr, i));
    add(f, var, t, NULL, 0, vals, n);
}

/* Alice's options form built from the vector's inputs in the layout of
 * PROFILE §11 and written with indent "" is the published text exactly;
 * Bob's form read from his stanza and written with indent "    " is the
 * text inside <init> exactly. */
static void builds_the_vector_forms_byte_for_byte(void)
{
    glob_t g;
    cr_assert_eq(glob("vectors/esession/*.json", 0, NULL, &g), 0);
    size_t checked = 0;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        json_error_t err;
        json_t *root = json_load_file(g.gl_pathv[i], 0, &err);
        cr_assert_not_null(root, "%s", err.text);
        json_t *grp = json_array_get(json_object_get(root, "testGroups"), 0);
        if (strcmp(jstr(grp, "type"), "OfflineSession") != 0) {
            json_decref(root);
            continue;
        }
        json_t *alice = json_object_get(grp, "alice");
        json_t *opts = json_object_get(alice, "options");
        json_t *exp = json_object_get(json_array_get(json_object_get(grp, "tests"), 0), "expected");

        es_form *f = NULL;
        cr_assert_eq(es_form_new(ctx, ES_FORM_FORM, &f), ESESSION_OK);
        add(f, "FORM_TYPE", ES_FIELD_HIDDEN, (const char *[]){ "urn:xmpp:ssn" }, 1, NULL, 0);
        static const char *const lists[] = { "otr", "disclosure", "security", "modp",
                                             "crypt_algs", "hash_algs", "sign_algs",
                                             "compress", "stanzas", "ver" };
        for (size_t k = 0; k < sizeof lists / sizeof lists[0]; k++)
            add_list(f, opts, lists[k],
                     strcmp(lists[k], "stanzas") == 0 ? ES_FIELD_LIST_MULTI : ES_FIELD_LIST_SINGLE);
        add(f, "rekey_freq", ES_FIELD_TEXT_SINGLE, (const char *[]){ jstr(opts, "rekey_freq") }, 1,
            NULL, 0);
        add(f, "expires", ES_FIELD_NONE, (const char *[]){ jstr(opts, "expires") }, 1, NULL, 0);
        char *nonce = b64_of_hex(jstr(alice, "nonce"));
        add(f, "my_nonce", ES_FIELD_NONE, (const char *[]){ nonce }, 1, NULL, 0);
        free(nonce);
        es_form_field *dh = NULL;
        cr_assert_eq(es_form_add_field(ctx, f, "dhkeys", ES_FIELD_NONE, &dh), ESESSION_OK);
        json_t *modp = json_object_get(opts, "modp");
        for (size_t k = 0; k < json_array_size(modp); k++) {
            const char *grpname = json_string_value(json_array_get(modp, k));
            char *e = b64_of_hex(jstr(json_object_get(exp, "e"), grpname));
            cr_assert_eq(es_form_add_value(ctx, dh, e), ESESSION_OK);
            free(e);
        }
        if (json_object_get(opts, "match_resource") != NULL)
            add(f, "match_resource", ES_FIELD_NONE,
                (const char *[]){ jstr(opts, "match_resource") }, 1, NULL, 0);
        /* signsB64 leaves randomized (DSA) signatures open: those come
         * from the published form. */
        xmlDocPtr pubdoc;
        es_form *published = read_form(jstr(exp, "optionsFormXml"), &pubdoc);
        const es_form_field *pubsigns = es_form_find(published, "signs");
        es_form_field *signs = NULL;
        cr_assert_eq(es_form_add_field(ctx, f, "signs", ES_FIELD_NONE, &signs), ESESSION_OK);
        json_t *sv = json_object_get(exp, "signsB64");
        cr_assert_eq(json_array_size(sv), pubsigns->n_values);
        for (size_t k = 0; k < json_array_size(sv); k++) {
            const char *sig = json_string_value(json_array_get(sv, k));
            cr_assert_eq(es_form_add_value(ctx, signs, sig != NULL ? sig : pubsigns->values[k]),
                         ESESSION_OK);
        }
        es_form_free(published);
        xmlFreeDoc(pubdoc);

        esession_buf out = { 0 };
        cr_assert_eq(es_form_serialize(ctx, f, "", &out), ESESSION_OK);
        cr_assert_str_eq(out.data, jstr(exp, "optionsFormXml"), "%s", g.gl_pathv[i]);
        esession_buf_free(&out);
        es_form_free(f);

        /* Bob's form: read, then written back as it was sent. */
        const char *stanza = jstr(json_array_get(json_object_get(exp, "stanzas"), 0), "stanzaXml");
        xmlDocPtr doc;
        es_form *b = read_form(stanza, &doc);
        cr_assert_eq(b->type, ES_FORM_SUBMIT);
        for (size_t k = 0; k < b->n_fields; k++) {
            cr_assert_eq(b->fields[k].type, ES_FIELD_NONE);
            cr_assert_eq(b->fields[k].n_values, 1);
        }
        cr_assert_eq(es_form_serialize(ctx, b, "    ", &out), ESESSION_OK);
        const char *start = strstr(stanza, "<x xmlns='jabber:x:data'");
        cr_assert_not_null(start);
        cr_assert_eq(strncmp(start, out.data, out.len), 0, "%s", out.data);
        cr_assert_eq(strncmp(start + out.len, "\n  </init>", 10), 0);
        esession_buf_free(&out);
        es_form_free(b);
        xmlFreeDoc(doc);
        json_decref(root);
        checked++;
    }
    globfree(&g);
    cr_assert_geq(checked, 4);
}

static void writes_compact_and_escaped_text_that_reads_back(void)
{
    es_form *f = NULL;
    cr_assert_eq(es_form_new(ctx, ES_FORM_SUBMIT, &f), ESESSION_OK);
    const char *odd = "a&b<c>d'e\"f\tg\nh\ri ]]> \xc3\xbc";
    add(f, "odd'var\t&", ES_FIELD_TEXT_MULTI, (const char *[]){ odd, "", " " }, 3, NULL, 0);
    add(f, NULL, ES_FIELD_FIXED, (const char *[]){ "fixed" }, 1, NULL, 0);
    add(f, "l", ES_FIELD_LIST_SINGLE, (const char *[]){ "1" }, 1, (const char *[]){ "1", odd }, 2);
    add(f, "empty", ES_FIELD_NONE, NULL, 0, NULL, 0);
    f->fields[3].required = 1;
    esession_buf out = { 0 };
    cr_assert_eq(es_form_serialize(ctx, f, NULL, &out), ESESSION_OK);
    cr_assert_str_eq(out.data,
                     "<x xmlns='jabber:x:data' type='submit'>"
                     "<field type='text-multi' var='odd&apos;var&#x9;&amp;'>"
                     "<value>a&amp;b&lt;c&gt;d'e\"f\tg\nh&#xD;i ]]&gt; \xc3\xbc</value>"
                     "<value></value><value> </value></field>"
                     "<field type='fixed'><value>fixed</value></field>"
                     "<field type='list-single' var='l'><value>1</value>"
                     "<option><value>1</value></option><option><value>a&amp;b&lt;c&gt;d'e\"f\tg\n"
                     "h&#xD;i ]]&gt; \xc3\xbc</value></option></field>"
                     "<field var='empty'><required/></field></x>");
    /* Read back: the same fields, types and values. */
    xmlDocPtr doc;
    es_form *g = read_form(out.data, &doc);
    cr_assert_eq(g->n_fields, 4);
    for (size_t i = 0; i < 4; i++) {
        cr_assert_eq(g->fields[i].type, f->fields[i].type);
        cr_assert_eq(g->fields[i].required, f->fields[i].required);
        if (f->fields[i].var == NULL)
            cr_assert_null(g->fields[i].var);
        else
            cr_assert_str_eq(g->fields[i].var, f->fields[i].var);
        assert_strings(g->fields[i].values, g->fields[i].n_values,
                       (const char *const *)f->fields[i].values, f->fields[i].n_values);
        assert_strings(g->fields[i].options, g->fields[i].n_options,
                       (const char *const *)f->fields[i].options, f->fields[i].n_options);
    }
    esession_buf_free(&out);
    /* A form that was read can be written too. */
    cr_assert_eq(es_form_serialize(ctx, g, "\t", &out), ESESSION_OK);
    cr_assert(strncmp(out.data, "<x xmlns='jabber:x:data' type='submit'>\n\t  <field", 49) == 0);
    cr_assert(strcmp(out.data + out.len - 6, "\n\t</x>") == 0);
    esession_buf_free(&out);
    es_form_free(g);
    xmlFreeDoc(doc);
    /* A built form has no received tree. */
    cr_assert_eq(es_form_normalize_received(ctx, f, NULL, 0, &out), ESESSION_ERR_STATE);
    cr_assert_eq(es_form_normalize_received(ctx, NULL, NULL, 0, &out),
                 ESESSION_ERR_INVALID_ARGUMENT);
    es_form_free(f);

    cr_assert_eq(es_form_new(ctx, ES_FORM_CANCEL, &f), ESESSION_OK);
    cr_assert_eq(es_form_serialize(ctx, f, "  ", &out), ESESSION_OK);
    cr_assert_str_eq(out.data, "<x xmlns='jabber:x:data' type='cancel'></x>");
    esession_buf_free(&out);
    es_form_free(f);
}

static void building_refuses_misuse(void)
{
    es_form *f = NULL;
    cr_assert_eq(es_form_new(ctx, (es_form_type)0, &f), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_form_new(ctx, ES_FORM_FORM, NULL), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_null(f);
    cr_assert_eq(es_form_new(ctx, ES_FORM_FORM, &f), ESESSION_OK);
    es_form_field *fld = NULL, *keep;
    cr_assert_eq(es_form_add_field(ctx, f, NULL, ES_FIELD_TEXT_SINGLE, &fld),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_form_add_field(ctx, f, "", ES_FIELD_TEXT_SINGLE, &fld),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_form_add_field(ctx, f, "bad\x01", ES_FIELD_TEXT_SINGLE, &fld),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_form_add_field(ctx, f, "a", (es_field_type)42, &fld),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_form_add_field(ctx, NULL, "a", ES_FIELD_NONE, &fld),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_null(fld);
    cr_assert_eq(f->n_fields, 0);
    cr_assert_eq(es_form_add_field(ctx, f, "a", ES_FIELD_TEXT_SINGLE, &fld), ESESSION_OK);
    keep = fld;
    cr_assert_eq(es_form_add_field(ctx, f, "a", ES_FIELD_HIDDEN, &fld),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(fld, keep);
    cr_assert_eq(f->n_fields, 1);

    cr_assert_eq(es_form_add_value(ctx, fld, "1"), ESESSION_OK);
    cr_assert_eq(es_form_add_value(ctx, fld, "2"), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_form_add_value(ctx, NULL, "2"), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_form_add_option(ctx, fld, "o"), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(fld->n_values, 1);
    cr_assert_eq(fld->n_options, 0);

    cr_assert_eq(es_form_add_field(ctx, f, "b", ES_FIELD_BOOLEAN, &fld), ESESSION_OK);
    cr_assert_eq(es_form_add_value(ctx, fld, "yes"), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_form_add_value(ctx, fld, "true"), ESESSION_OK);

    cr_assert_eq(es_form_add_field(ctx, f, "m", ES_FIELD_LIST_MULTI, &fld), ESESSION_OK);
    cr_assert_eq(es_form_add_value(ctx, fld, "\xc3"), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_form_add_value(ctx, fld, NULL), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_form_add_option(ctx, fld, "\xef\xbf\xbf"), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_form_add_option(ctx, fld, "o"), ESESSION_OK);
    cr_assert_eq(es_form_add_option(ctx, fld, "o"), ESESSION_ERR_INVALID_ARGUMENT);
    char v[8];
    for (unsigned i = 0; i < ES_FORM_MAX_VALUES; i++) {
        snprintf(v, sizeof v, "%u", i);
        cr_assert_eq(es_form_add_value(ctx, fld, v), ESESSION_OK);
    }
    cr_assert_eq(es_form_add_value(ctx, fld, "more"), ESESSION_ERR_LIMIT);
    for (unsigned i = 1; i < ES_FORM_MAX_VALUES; i++) {
        snprintf(v, sizeof v, "%u", i);
        cr_assert_eq(es_form_add_option(ctx, fld, v), ESESSION_OK);
    }
    cr_assert_eq(es_form_add_option(ctx, fld, "more"), ESESSION_ERR_LIMIT);
    cr_assert_eq(fld->n_values, ES_FORM_MAX_VALUES);
    cr_assert_eq(fld->n_options, ES_FORM_MAX_VALUES);

    for (unsigned i = (unsigned)f->n_fields; i < ES_FORM_MAX_FIELDS; i++) {
        snprintf(v, sizeof v, "f%u", i);
        cr_assert_eq(es_form_add_field(ctx, f, v, ES_FIELD_NONE, NULL), ESESSION_OK);
    }
    cr_assert_eq(es_form_add_field(ctx, f, "last", ES_FIELD_NONE, NULL), ESESSION_ERR_LIMIT);
    cr_assert_eq(es_form_add_field(ctx, f, NULL, ES_FIELD_FIXED, NULL), ESESSION_ERR_LIMIT);

    esession_buf out = { 0 };
    cr_assert_eq(es_form_serialize(ctx, f, "x", &out), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_form_serialize(ctx, NULL, NULL, &out), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_form_serialize(ctx, f, NULL, NULL), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_null(out.data);
    /* The full form still writes and reads back within the limits. */
    cr_assert_eq(es_form_serialize(ctx, f, NULL, &out), ESESSION_OK);
    xmlDocPtr doc;
    es_form *g = read_form(out.data, &doc);
    cr_assert_eq(g->n_fields, ES_FORM_MAX_FIELDS);
    es_form_free(g);
    xmlFreeDoc(doc);
    esession_buf_free(&out);
    es_form_free(f);
}

Test(dataform, reads_forms)
{
    reads_an_options_form();
    reads_an_unusual_but_valid_form();
    every_field_and_form_type();
}

Test(dataform, refuses_bad_forms)
{
    bad_input_is_malformed();
    namespaced_attributes_are_not_form_attributes();
    parse_arguments();
}

Test(dataform, bounded)
{
    limits();
}

Test(dataform, vector_forms)
{
    builds_the_vector_forms_byte_for_byte();
}

Test(dataform, build_and_write)
{
    writes_compact_and_escaped_text_that_reads_back();
    building_refuses_misuse();
}

/* normalize(parse(serialize(f, indent)), excluded), as a receiver makes it. */
static void normalized_as_received(const es_form *f, const char *indent,
                                   const char *const *excluded, size_t n, esession_buf *out)
{
    esession_buf text = { 0 };
    cr_assert_eq(es_form_serialize(ctx, f, indent, &text), ESESSION_OK);
    xmlDocPtr doc = fx_parse(ctx, text.data);
    cr_assert_eq(es_form_normalize(ctx, xmlDocGetRootElement(doc), excluded, n, out), ESESSION_OK,
                 "%s", esession_ctx_error_detail(ctx));
    xmlFreeDoc(doc);
    esession_buf_free(&text);
}

Test(dataform, built_form_normalized_as_a_receiver_reads_it)
{
    es_form *f = NULL;
    cr_assert_eq(es_form_new(ctx, ES_FORM_SUBMIT, &f), ESESSION_OK);
    const char *odd = "a&b<c>d'e\"f\tg\nh\ri ]]> \xc3\xbc\r\n";
    add(f, "FORM_TYPE", ES_FIELD_HIDDEN, (const char *[]){ "urn:xmpp:ssn" }, 1, NULL, 0);
    add(f, "odd'var\t&\"<>\r\n", ES_FIELD_TEXT_MULTI, (const char *[]){ odd, "", " " }, 3, NULL,
        0);
    add(f, NULL, ES_FIELD_FIXED, (const char *[]){ "fixed" }, 1, NULL, 0);
    add(f, "l", ES_FIELD_LIST_SINGLE, (const char *[]){ "1" }, 1, (const char *[]){ "1", odd }, 2);
    add(f, "empty", ES_FIELD_NONE, NULL, 0, NULL, 0);
    add(f, "req", ES_FIELD_BOOLEAN, (const char *[]){ "true" }, 1, NULL, 0);
    add(f, "identity", ES_FIELD_NONE, (const char *[]){ "aWQ=" }, 1, NULL, 0);
    add(f, "mac", ES_FIELD_NONE, (const char *[]){ "bWFj" }, 1, NULL, 0);
    f->fields[4].required = 1;
    f->fields[5].required = 1;
    static const char *const none[] = { NULL };
    static const char *const id_mac[] = { "identity", "mac" };
    static const char *const others[] = { "empty", "odd'var\t&\"<>\r\n", "absent", NULL };
    const struct {
        const char *const *ex;
        size_t n;
    } cases[] = { { NULL, 0 }, { none, 1 }, { id_mac, 2 }, { others, 4 } };
    const char *indents[] = { NULL, "", "    ", "\t" };
    for (size_t c = 0; c < ES_ARRAY_LEN(cases); c++) {
        esession_buf built = { 0 };
        cr_assert_eq(es_form_normalize_built(ctx, f, cases[c].ex, cases[c].n, &built),
                     ESESSION_OK);
        for (size_t i = 0; i < ES_ARRAY_LEN(indents); i++) {
            esession_buf read = { 0 };
            normalized_as_received(f, indents[i], cases[c].ex, cases[c].n, &read);
            cr_assert_eq(built.len, read.len, "case %zu indent %zu", c, i);
            cr_assert_eq(memcmp(built.data, read.data, read.len), 0, "case %zu: %s / %s", c,
                         built.data, read.data);
            esession_buf_free(&read);
        }
        esession_buf_free(&built);
    }
    /* Known text for the excluded pair: what macB covers in Bob's form. */
    esession_buf out = { 0 };
    cr_assert_eq(es_form_normalize_built(ctx, f, id_mac, 2, &out), ESESSION_OK);
    cr_assert(strstr(out.data, "identity") == NULL && strstr(out.data, "bWFj") == NULL);
    static const char head[] =
        "<field type=\"hidden\" var=\"FORM_TYPE\"><value>urn:xmpp:ssn</value></field>"
        "<field type=\"text-multi\" var=\"odd'var&#x9;&amp;&quot;&lt;>&#xD;&#xA;\">"
        "<value>a&amp;b&lt;c&gt;d'e\"f\tg\nh&#xD;i ]]&gt; \xc3\xbc&#xD;\n</value>";
    cr_assert(strncmp(out.data, head, sizeof head - 1) == 0, "%s", out.data);
    cr_assert(strcmp(out.data + out.len - 8, "</field>") == 0); /* fields only, no <x> */
    esession_buf_free(&out);
    cr_assert_eq(es_form_normalize_built(ctx, NULL, NULL, 0, &out), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_form_normalize_built(ctx, f, NULL, 1, &out), ESESSION_ERR_INVALID_ARGUMENT);
    es_form_free(f);
}
