/* SPDX-License-Identifier: ISC */
/* Form normalization (PROFILE §6): the public vectors byte for byte, then
 * each rule on its own. */
#include <criterion/criterion.h>
#include <glob.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../../forms/normalize.h"
#include "../common/vecfile.h"
#include "fixture.h"

FX_SUITE_WITH_CTX(normalize);

static void normalizes_to(const char *xml, const char *const *excl, size_t n, const char *want)
{
    xmlDocPtr doc = fx_parse(ctx, xml);
    xmlNodePtr x = fx_find_x(xmlDocGetRootElement(doc));
    cr_assert_not_null(x);
    esession_buf out = { 0 };
    esession_status rc = es_form_normalize(ctx, x, excl, n, &out);
    cr_assert_eq(rc, ESESSION_OK, "%s", esession_ctx_error_detail(ctx));
    cr_assert_eq(out.len, strlen(want), "got %s", out.data);
    cr_assert_eq(memcmp(out.data, want, out.len), 0, "got %s\nwant %s", out.data, want);
    cr_assert_eq(out.data[out.len], '\0');
    esession_buf_free(&out);
    xmlFreeDoc(doc);
}

static void plain(const char *xml, const char *want)
{
    normalizes_to(xml, NULL, 0, want);
}

static void malformed(const char *xml, const char *why)
{
    xmlDocPtr doc = fx_parse(ctx, xml);
    xmlNodePtr x = fx_find_x(xmlDocGetRootElement(doc));
    if (x == NULL)
        x = xmlDocGetRootElement(doc);
    esession_buf out = { 0 };
    cr_assert_eq(es_form_normalize(ctx, x, NULL, 0, &out), ESESSION_ERR_MALFORMED, "%s", xml);
    cr_assert_null(out.data);
    cr_assert(strstr(esession_ctx_error_detail(ctx), why) != NULL, "%s",
              esession_ctx_error_detail(ctx));
    xmlFreeDoc(doc);
}

static const char *jstr(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    cr_assert_not_null(s, "no string %s", key);
    return s;
}

/* Every OfflineSession vector: the options form (as published, excluding
 * signs) and Bob's form inside his first stanza (excluding identity, mac). */
static void public_protocol_vectors(void)
{
    static const char *const options_excl[] = { "signs" };
    static const char *const formb_excl[] = { "identity", "mac" };
    glob_t g;
    cr_assert_eq(glob("vectors/esession/*.json", 0, NULL, &g), 0);
    size_t checked = 0;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        json_error_t err;
        json_t *root = json_load_file(g.gl_pathv[i], 0, &err);
        cr_assert_not_null(root, "%s: %s", g.gl_pathv[i], err.text);
        json_t *groups = json_object_get(root, "testGroups");
        for (size_t gi = 0; gi < json_array_size(groups); gi++) {
            json_t *grp = json_array_get(groups, gi);
            if (strcmp(jstr(grp, "type"), "OfflineSession") != 0)
                continue;
            json_t *tests = json_object_get(grp, "tests");
            for (size_t ti = 0; ti < json_array_size(tests); ti++) {
                json_t *exp = json_object_get(json_array_get(tests, ti), "expected");
                normalizes_to(jstr(exp, "optionsFormXml"), options_excl, 1,
                              jstr(exp, "optionsFormNormalized"));
                json_t *st0 = json_array_get(json_object_get(exp, "stanzas"), 0);
                normalizes_to(jstr(st0, "stanzaXml"), formb_excl, 2,
                              jstr(exp, "formBNormalized"));
                checked++;
            }
        }
        json_decref(root);
    }
    globfree(&g);
    cr_assert_geq(checked, 4, "only %zu OfflineSession vectors", checked);
}

/* OfflineAccept tcId 62: Bob's form written with a prefix, both quote
 * styles, CDATA, character references, escapes, <required/>, a label with
 * TAB/LF/CR references, an unknown field and a value with inner
 * whitespace. Alice accepts it, so formB must be exactly this (checked
 * independently: the signature in its identity verifies over the macB
 * computed from this text). */
static const char tc62_formb[] =
    "<field type=\"hidden\" var=\"FORM_TYPE\"><value>urn:xmpp:ssn</value><required></required"
    "></field>"
    "<field label=\"a &amp; b &lt; &quot;c&quot; > &#x9;tab &#xA;nl &#xD;cr\" var=\"otr\"><va"
    "lue>false</value><desc>x &gt; y &amp; z</desc></field>"
    "<field var=\"disclosure\"><value>never</value></field>"
    "<field var=\"security\"><value>e2e</value></field>"
    "<field var=\"modp\"><value>14</value></field>"
    "<field var=\"crypt_algs\"><value>aes256-ctr</value></field>"
    "<field var=\"hash_algs\"><value>sha256</value></field>"
    "<field var=\"sign_algs\"><value>http://www.w3.org/2000/09/xmldsig#rsa-sha256</value></fi"
    "eld>"
    "<field var=\"compress\"><value>none</value></field>"
    "<field var=\"stanzas\"><value>message</value></field>"
    "<field var=\"ver\"><value>1.0</value></field>"
    "<field type=\"text-single\" var=\"x-unknown\"><value>&lt;kept&gt;</value></field>"
    "<field var=\"rekey_freq\"><value>50</value></field>"
    "<field var=\"my_nonce\"><value> Mf5doToufscmxHUFL/ZW\n  j1i0KU+FCu0jPcVVhz7z5+E= </value"
    "></field>"
    "<field var=\"dhkeys\"><value>ua8gR1zD0jnnJ3iI/ByIOKQtStvBJap0oYZWdoC96Z/BmeCKr6YDO6sGnvy"
    "Xzn/ORsQeawjZ7byyCPAxZWDKYZSNyxPAGHXItGW5O/GmCEXEPi56HqVNLqspghaGgyYsQHwl7XDJP8sLcZNWA8y"
    "8l6kCD4UblFiAPtyPLqdqjZZazWJRYlN5b+/IeU/uKz1JRxxEM+Q7wI/yR8xyeQpRrmLdXR8iGCnmJZRkZODlSw8"
    "u40r6z0VM/hX5P9c346/7FfLjjhfwoCSCEEIZ6foxH+alUKvnaWbzuVAE8GptvCWWeMp2065wWp8cU84KNuBuHzr"
    "/lqVVj31LhvdtNIrn4A==</value></field>"
    "<field var=\"nonce\"><value>0NShBv5gtvEOT2p/owVldMbeNgk1XfTBBbj/CBKnBD8=</value></field>"
    "<field var=\"counter\"><value>4wc3XNdHVeGNT0C/wuh7cA==</value></field>"
    ;

static void unusual_serialization_vector(void)
{
    static const char *const formb_excl[] = { "identity", "mac" };
    json_error_t err;
    json_t *root = json_load_file("vectors/esession/offline_accept_negative.json", 0, &err);
    cr_assert_not_null(root, "%s", err.text);
    json_t *tests = json_object_get(json_array_get(json_object_get(root, "testGroups"), 0), "tests");
    json_t *tc = NULL;
    for (size_t i = 0; i < json_array_size(tests); i++)
        if (json_integer_value(json_object_get(json_array_get(tests, i), "tcId")) == 62)
            tc = json_array_get(tests, i);
    cr_assert_not_null(tc);
    const char *stanza = json_string_value(json_array_get(json_object_get(tc, "stanzas"), 0));
    cr_assert_not_null(stanza);
    cr_assert_not_null(strstr(stanza, "<![CDATA[false]]>"));
    normalizes_to(stanza, formb_excl, 2, tc62_formb);
    json_decref(root);
}

/* The worked example of docs/forms.md, character for character. */
static const char doc_example_in[] =
    "<x xmlns='jabber:x:data' xmlns:xd='jabber:x:data' type='submit'>\n"
    "  <!-- Bob's answer -->\n"
    "  <xd:field var=\"FORM_TYPE\" type='hidden'>\n"
    "    <xd:value>urn:xmpp:ssn</xd:value>\n"
    "  </xd:field>\n"
    "  <field var='note' label='Tom &amp; \"Jerry\"&#9;&#10;'>\n"
    "    <value> a &lt; b &amp;&amp; c &gt; d&#xD;\n"
    "</value>\n"
    "    <required/>\n"
    "  </field>\n"
    "  <field xmlns:e='urn:example' e:z='2' var='n' a='1'><value><![CDATA[x]]></value></field>\n"
    "  <field var='mac'><value>3gefp0gTnbVM</value></field>\n"
    "  <field var='empty'><value/></field>\n"
    "</x>";

static const char doc_example_out[] =
    "<field type=\"hidden\" var=\"FORM_TYPE\"><value>urn:xmpp:ssn</value></field>"
    "<field label=\"Tom &amp; &quot;Jerry&quot;&#x9;&#xA;\" var=\"note\">"
    "<value> a &lt; b &amp;&amp; c &gt; d&#xD;\n</value><required></required></field>"
    "<field a=\"1\" var=\"n\" z=\"2\"><value>x</value></field>"
    "<field var=\"empty\"><value></value></field>";

/* The fenced block that follows `marker` in the document. */
static char *doc_block(const char *doc, const char *marker)
{
    const char *m = strstr(doc, marker);
    cr_assert_not_null(m, "docs/forms.md lacks %s", marker);
    const char *start = strstr(m, "```");
    cr_assert_not_null(start);
    start = strchr(start, '\n');
    cr_assert_not_null(start);
    start++;
    const char *end = strstr(start, "\n```");
    cr_assert_not_null(end);
    return strndup(start, (size_t)(end - start));
}

static void documented_example(void)
{
    static const char *const excl[] = { "mac" };
    normalizes_to(doc_example_in, excl, 1, doc_example_out);
    /* and the document shows exactly these texts */
    size_t len;
    char *doc = vec_read_file("docs/forms.md", &len);
    cr_assert_not_null(doc);
    char *in = doc_block(doc, "<!-- example-input -->");
    char *out = doc_block(doc, "<!-- example-output -->");
    cr_assert_str_eq(in, doc_example_in);
    cr_assert_str_eq(out, doc_example_out);
    free(in);
    free(out);
    free(doc);
}

static void namespaces_and_prefixes_are_dropped(void)
{
    plain("<r><d:x xmlns:d='jabber:x:data' xmlns:o='urn:other'><d:field o:k='1' var='v'>"
          "<d:value xmlns='urn:default'>t</d:value><o:ext xmlns:o='urn:o2'/></d:field></d:x></r>",
          "<field k=\"1\" var=\"v\"><value>t</value><ext></ext></field>");
    /* The <x> itself and its attributes are not part of the text. */
    plain("<x xmlns='jabber:x:data' type='form' xml:lang='en'/>", "");
}

static void attributes_sorted_by_name_in_byte_order(void)
{
    plain("<x xmlns='jabber:x:data'><f z='1' a='2' B='3' _='4' \xc3\xa9='5' ab='6' a-='7'/></x>",
          "<f B=\"3\" _=\"4\" a=\"2\" a-=\"7\" ab=\"6\" z=\"1\" \xc3\xa9=\"5\"></f>");
    plain("<x xmlns='jabber:x:data'><field var='v' type='t' label='l'/></x>",
          "<field label=\"l\" type=\"t\" var=\"v\"></field>");
}

static void text_escaping(void)
{
    /* & < > escaped, CR as &#xD;; quotes, TAB and LF kept as they are. */
    plain("<x xmlns='jabber:x:data'><v>&amp;&lt;&gt;&#xD;\"'\t\n&#9;&#10;\xc3\xbc</v></x>",
          "<v>&amp;&lt;&gt;&#xD;\"'\t\n\t\n\xc3\xbc</v>");
    /* A CR reaches the tree only as a reference: CR LF is read as LF. */
    plain("<x xmlns='jabber:x:data'><v>a\r\nb\rc&#13;&#xD;&#xA;</v></x>",
          "<v>a\nb\nc&#xD;&#xD;\n</v>");
    /* CDATA is text, escaped like any other. */
    plain("<x xmlns='jabber:x:data'><v><![CDATA[<a&b>]]>c</v></x>", "<v>&lt;a&amp;b&gt;c</v>");
}

static void attribute_escaping(void)
{
    /* & < " TAB LF CR escaped; > and ' kept. */
    plain("<x xmlns='jabber:x:data'><f a='&amp;&lt;&gt;\"&apos;&#9;&#10;&#13;'/></x>",
          "<f a=\"&amp;&lt;>&quot;'&#x9;&#xA;&#xD;\"></f>");
    /* Literal TAB/LF/CR in an attribute are read as spaces (XML 1.0 §3.3.3). */
    plain("<x xmlns='jabber:x:data'><f a='1\t2\n3\r\n4'/></x>", "<f a=\"1 2 3 4\"></f>");
}

static void whitespace(void)
{
    /* Whitespace between elements is dropped, leaf text kept exactly. */
    plain("<x xmlns='jabber:x:data'>\n\t <field var='a'>\r\n <value> 5 </value>\t</field> \n"
          "<field var='b'><value>\n \t</value></field></x>",
          "<field var=\"a\"><value> 5 </value></field><field var=\"b\"><value>\n \t</value></field>");
    /* &#xD; between elements is whitespace too. */
    plain("<x xmlns='jabber:x:data'>&#xD;<a/>&#x20;</x>", "<a></a>");
}

static void empty_elements_become_pairs(void)
{
    plain("<x xmlns='jabber:x:data'><field var='a'><required/><value/><value></value></field></x>",
          "<field var=\"a\"><required></required><value></value><value></value></field>");
}

static void comments_and_pis_are_ignored(void)
{
    plain("<x xmlns='jabber:x:data'><!--c--><?p i?><field var='a'><!--c--><value>1<!--c-->2"
          "<?p i?>3</value></field></x>",
          "<field var=\"a\"><value>123</value></field>");
}

static void excluded_fields(void)
{
    static const char *const excl[] = { "identity", "mac", NULL };
    static const char form[] =
        "<x xmlns='jabber:x:data'><field var='a'/><field var='mac'/><field var='identity'>"
        "<value>x</value></field><field var='macx'/><field var='ma'/>"
        "<other var='mac'/><field xmlns='urn:not-xdata' var='mac'/>"
        "<field xmlns:p='urn:p' p:var='mac'/></x>";
    normalizes_to(form, excl, 3,
                  "<field var=\"a\"></field><field var=\"macx\"></field><field var=\"ma\"></field>"
                  "<other var=\"mac\"></other><field var=\"mac\"></field><field var=\"mac\"></field>");
    normalizes_to(form, excl, 0,
                  "<field var=\"a\"></field><field var=\"mac\"></field><field var=\"identity\">"
                  "<value>x</value></field><field var=\"macx\"></field><field var=\"ma\"></field>"
                  "<other var=\"mac\"></other><field var=\"mac\"></field><field var=\"mac\"></field>");
}

static void malformed_input(void)
{
    malformed("<x xmlns='jabber:x:data'><field var='a'>text<value>1</value></field></x>",
              "both text and child elements");
    malformed("<x xmlns='jabber:x:data'><field var='a'><value>1</value>text</field></x>",
              "both text and child elements");
    malformed("<x xmlns='jabber:x:data'>stray<field var='a'/></x>", "text directly inside <x>");
    malformed("<x xmlns='jabber:x:data'>stray</x>", "text directly inside <x>");
    malformed("<x xmlns='jabber:x:data' xmlns:p='urn:p' xmlns:q='urn:q'><f p:k='1' q:k='2'/></x>",
              "same local name");
    malformed("<x xmlns='jabber:x:data' xmlns:p='urn:p'><f k='1' p:k='2'/></x>", "same local name");
    malformed("<x xmlns='urn:other'/>", "not a jabber:x:data <x>");
    malformed("<y xmlns='jabber:x:data'/>", "not a jabber:x:data <x>");
}

static void attribute_count_limit(void)
{
    char xml[1024] = "<x xmlns='jabber:x:data'><f";
    for (unsigned i = 0; i < ES_CANON_MAX_ATTRS; i++)
        snprintf(xml + strlen(xml), sizeof xml - strlen(xml), " a%u='1'", i);
    strcat(xml, "/></x>");
    xmlDocPtr doc = fx_parse(ctx, xml);
    esession_buf out = { 0 };
    cr_assert_eq(es_form_normalize(ctx, xmlDocGetRootElement(doc), NULL, 0, &out), ESESSION_OK);
    esession_buf_free(&out);
    xmlFreeDoc(doc);
    strcpy(xml + strlen(xml) - 6, " b='1'/></x>");
    malformed(xml, "too many attributes");
}

static void bad_arguments(void)
{
    xmlDocPtr doc = fx_parse(ctx, "<x xmlns='jabber:x:data'/>");
    xmlNodePtr x = xmlDocGetRootElement(doc);
    esession_buf out = { 0 };
    cr_assert_eq(es_form_normalize(ctx, NULL, NULL, 0, &out), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_form_normalize(ctx, x, NULL, 0, NULL), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_form_normalize(ctx, x, NULL, 1, &out), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_canon_element(ctx, NULL, &out), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_canon_element(ctx, x, NULL), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_null(out.data);
    cr_assert_eq(es_form_normalize(NULL, x, NULL, 0, &out), ESESSION_OK);
    cr_assert_eq(out.len, 0);
    cr_assert_str_eq(out.data, "");
    esession_buf_free(&out);
    xmlFreeDoc(doc);
}

static void canon_of_one_element(void)
{
    xmlDocPtr doc = fx_parse(ctx, "<c xmlns='http://www.xmpp.org/extensions/xep-0200.html#ns'>"
                          "<data>QUJD\r\nREVG&#xD;\n</data><key/><mac>x</mac></c>");
    xmlNodePtr data = xmlDocGetRootElement(doc)->children;
    esession_buf out = { 0 };
    cr_assert_eq(es_canon_element(ctx, data, &out), ESESSION_OK);
    cr_assert_str_eq(out.data, "<data>QUJD\nREVG&#xD;\n</data>");
    esession_buf_free(&out);
    cr_assert_eq(es_canon_element(ctx, data->next, &out), ESESSION_OK);
    cr_assert_str_eq(out.data, "<key></key>");
    esession_buf_free(&out);
    cr_assert_eq(es_canon_element(ctx, xmlDocGetRootElement(doc), &out), ESESSION_OK);
    cr_assert_str_eq(out.data, "<c><data>QUJD\nREVG&#xD;\n</data><key></key><mac>x</mac></c>");
    esession_buf_free(&out);
    xmlFreeDoc(doc);
}

Test(normalize, vectors)
{
    public_protocol_vectors();
    unusual_serialization_vector();
}

Test(normalize, worked_example)
{
    documented_example();
}

Test(normalize, names_and_attribute_order)
{
    namespaces_and_prefixes_are_dropped();
    attributes_sorted_by_name_in_byte_order();
    excluded_fields();
}

Test(normalize, escaping)
{
    text_escaping();
    attribute_escaping();
}

Test(normalize, structure)
{
    whitespace();
    empty_elements_become_pairs();
    comments_and_pis_are_ignored();
    canon_of_one_element();
}

Test(normalize, errors)
{
    malformed_input();
    attribute_count_limit();
    bad_arguments();
}
