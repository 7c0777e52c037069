/* SPDX-License-Identifier: ISC */
/* PEP stanzas (PROFILE §7, XEP-0187 Listings 1-8): every builder parsed
 * back, realistic server answers, every error condition and rejection. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../pep/pep.h"
#include "fixture.h"

#define NS_PUBSUB "http://jabber.org/protocol/pubsub"
#define NS_DATA "jabber:x:data"
#define ALICE "alice@example.org"

static const char *const session_vectors[] = {
    "vectors/esession/offline_session_single_stanza.json",
    "vectors/esession/offline_session_rsa_modp14_aes128.json",
    "vectors/esession/offline_session_dsa_modp5_aes256_rekey.json",
    "vectors/esession/offline_session_match_resource_close.json",
};

/* A small form whose values need escaping. */
static const char escaped_form[] =
    "<x xmlns='jabber:x:data' type='form'>"
    "<field type='hidden' var='FORM_TYPE'><value>urn:xmpp:ssn</value></field>"
    "<field var='note' label='&apos;a&apos; &amp; &quot;b&quot; &lt;c&gt;'>"
    "<value>x &amp; y &lt; z &gt; w</value></field></x>";


static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(NULL, 0, f, ap);
    va_end(ap);
    cr_assert_geq(n, 0);
    char *s = malloc((size_t)n + 1);
    cr_assert_not_null(s);
    va_start(ap, f);
    vsnprintf(s, (size_t)n + 1, f, ap);
    va_end(ap);
    return s;
}

/* optionsFormXml of a session vector (malloc'ed). */
static char *vector_form(const char *path)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    cr_assert_not_null(root, "%s: %s", path, jerr.text);
    json_t *t = json_array_get(json_object_get(json_array_get(
                                   json_object_get(root, "testGroups"), 0), "tests"), 0);
    const char *s = json_string_value(
        json_object_get(json_object_get(t, "expected"), "optionsFormXml"));
    cr_assert_not_null(s, "%s: no optionsFormXml", path);
    char *copy = strdup(s);
    cr_assert_not_null(copy);
    json_decref(root);
    return copy;
}

static xmlDocPtr parse_buf(const esession_buf *b)
{
    xmlDocPtr doc = NULL;
    cr_assert_eq(es_xml_parse(NULL, b->data, b->len, &doc), ESESSION_OK, "%s", b->data);
    cr_assert_eq(strlen(b->data), b->len);
    return doc;
}

static void expect_attr(const xmlNode *n, const char *name, const char *want)
{
    xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
    if (want == NULL) {
        cr_assert_null(v, "unexpected attribute %s", name);
        return;
    }
    cr_assert_not_null(v, "missing attribute %s", name);
    cr_assert_str_eq((const char *)v, want);
    xmlFree(v);
}

static size_t element_count(const xmlNode *parent)
{
    size_t n = 0;
    for (const xmlNode *c = parent->children; c != NULL; c = c->next)
        n += c->type == XML_ELEMENT_NODE;
    return n;
}

/* The single element child of parent, which must be name in ns. */
static xmlNodePtr only_child(const xmlNode *parent, const char *name, const char *ns)
{
    cr_assert_eq(element_count(parent), 1, "<%s> should hold one element", parent->name);
    xmlNodePtr c = es_xml_child(parent, name, ns);
    cr_assert_not_null(c, "<%s> should hold <%s xmlns='%s'>", parent->name, name, ns);
    return c;
}

static int is_lower_hex(const char *s, size_t len)
{
    if (strlen(s) != len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return 1;
}

/* The <pubsub> of a built IQ after checking the envelope. */
static xmlNodePtr check_envelope(xmlDocPtr doc, const es_pep_request *req, const char *type,
                                 const char *to)
{
    xmlNodePtr iq = xmlDocGetRootElement(doc);
    cr_assert(es_xml_is(iq, "iq", NULL));
    cr_assert_null(iq->ns, "an IQ for the client's stream carries no namespace of its own");
    expect_attr(iq, "type", type);
    expect_attr(iq, "id", req->id);
    expect_attr(iq, "to", to);
    expect_attr(iq, "from", NULL);
    cr_assert(is_lower_hex(req->id, ES_PEP_ID_LEN), "id %s", req->id);
    return only_child(iq, "pubsub", NS_PUBSUB);
}

/* ---- names ------------------------------------------------------------ */

static void node_names_and_access_models(void)
{
    cr_assert_str_eq(es_pep_node_name(ES_PEP_NODE_SUBSCRIBERS),
                     "http://www.xmpp.org/extensions/xep-0187.html#ns");
    cr_assert_str_eq(es_pep_node_name(ES_PEP_NODE_OPEN),
                     "http://www.xmpp.org/extensions/xep-0116.html#ns");
    cr_assert_str_eq(es_pep_node_access_model(ES_PEP_NODE_SUBSCRIBERS), "presence");
    cr_assert_str_eq(es_pep_node_access_model(ES_PEP_NODE_OPEN), "open");
    cr_assert_null(es_pep_node_name((es_pep_node)2));
    cr_assert_null(es_pep_node_access_model((es_pep_node)-1));
}

static void condition_names_round_trip(void)
{
    for (int c = ES_PEP_COND_BAD_REQUEST; c < ES_PEP_COND_OTHER; c++) {
        const char *name = es_pep_cond_name((es_pep_cond)c);
        cr_assert_neq(strcmp(name, "other"), 0, "condition %d has no name", c);
        cr_assert_eq(es_pep_cond_from_name(name), (es_pep_cond)c, "%s", name);
    }
    cr_assert_str_eq(es_pep_cond_name(ES_PEP_COND_FORBIDDEN), "forbidden");
    cr_assert_str_eq(es_pep_cond_name(ES_PEP_COND_NONE), "none");
    cr_assert_str_eq(es_pep_cond_name(ES_PEP_COND_OTHER), "other");
    cr_assert_str_eq(es_pep_cond_name((es_pep_cond)999), "other");
    cr_assert_eq(es_pep_cond_from_name("payment-required"), ES_PEP_COND_OTHER);
    cr_assert_eq(es_pep_cond_from_name(""), ES_PEP_COND_OTHER);
    cr_assert_eq(es_pep_cond_from_name(NULL), ES_PEP_COND_OTHER);
}

/* ---- ids -------------------------------------------------------------- */

static int counting_random(void *user, uint8_t *buf, size_t len)
{
    unsigned *next = user;
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(*next)++;
    return 0;
}

static int failing_random(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    memset(buf, 0, len);
    return -1;
}

static void id_is_the_hex_of_16_random_octets(void)
{
    unsigned next = 0xf0;
    esession_host_ops ops = {.random = counting_random};
    esession_ctx_options opt = ESESSION_CTX_OPTIONS_INIT;
    opt.ops = &ops;
    opt.user = &next;
    esession_ctx *ctx = NULL;
    cr_assert_eq(esession_ctx_new(&ctx, &opt, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_OK);
    char id[ES_PEP_ID_LEN + 1];
    cr_assert_eq(es_pep_new_id(ctx, id), ESESSION_OK);
    cr_assert_str_eq(id, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
    /* The builders draw from the same source. */
    esession_buf out = {0};
    es_pep_request req;
    cr_assert_eq(es_pep_build_create(ctx, ES_PEP_NODE_OPEN, &out, &req), ESESSION_OK);
    cr_assert_str_eq(req.id, "000102030405060708090a0b0c0d0e0f");
    cr_assert_not_null(strstr(out.data, " id='000102030405060708090a0b0c0d0e0f'"));
    esession_buf_free(&out);
    cr_assert_eq(es_pep_new_id(ctx, NULL), ESESSION_ERR_INVALID_ARGUMENT);
    esession_ctx_free(ctx);
}

static int cmp_ids(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void ids_are_unique_over_many_calls(void)
{
    enum { N = 2000 };
    esession_ctx *ctx = fx_ctx_new();
    char (*ids)[ES_PEP_ID_LEN + 1] = calloc(N, sizeof *ids);
    cr_assert_not_null(ids);
    for (size_t i = 0; i < N; i++) {
        esession_buf out = {0};
        es_pep_request req;
        esession_status rc;
        switch (i % 4) {
        case 0: rc = es_pep_build_create(ctx, ES_PEP_NODE_OPEN, &out, &req); break;
        case 1: rc = es_pep_build_publish_empty(ctx, ES_PEP_NODE_SUBSCRIBERS, &out, &req); break;
        case 2:
            rc = es_pep_build_items(ctx, ALICE, ES_PEP_NODE_OPEN, &out, &req);
            break;
        default:
            rc = es_pep_build_publish(ctx, ES_PEP_NODE_OPEN, escaped_form,
                                      strlen(escaped_form), &out, &req);
            break;
        }
        cr_assert_eq(rc, ESESSION_OK);
        cr_assert(is_lower_hex(req.id, ES_PEP_ID_LEN));
        memcpy(ids[i], req.id, sizeof ids[i]);
        esession_buf_free(&out);
    }
    qsort(ids, N, sizeof ids[0], cmp_ids);
    for (size_t i = 1; i < N; i++)
        cr_assert_neq(strcmp(ids[i - 1], ids[i]), 0, "repeated id %s", ids[i]);
    free(ids);
    esession_ctx_free(ctx);
}

static void failing_random_source_leaves_outputs_untouched(void)
{
    esession_host_ops ops = {.random = failing_random};
    esession_ctx_options opt = ESESSION_CTX_OPTIONS_INIT;
    opt.ops = &ops;
    esession_ctx *ctx = NULL;
    cr_assert_eq(esession_ctx_new(&ctx, &opt, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_OK);
    esession_buf out = {0};
    es_pep_request req, before;
    memset(&req, 0x5a, sizeof req);
    before = req;
    cr_assert_eq(es_pep_build_create(ctx, ES_PEP_NODE_OPEN, &out, &req), ESESSION_ERR_RANDOM);
    cr_assert_eq(es_pep_build_items(ctx, ALICE, ES_PEP_NODE_OPEN, &out, &req),
                 ESESSION_ERR_RANDOM);
    cr_assert_eq(es_pep_build_publish(ctx, ES_PEP_NODE_OPEN, escaped_form,
                                      strlen(escaped_form), &out, &req),
                 ESESSION_ERR_RANDOM);
    cr_assert_eq(es_pep_build_publish_empty(ctx, ES_PEP_NODE_OPEN, &out, &req),
                 ESESSION_ERR_RANDOM);
    cr_assert_null(out.data);
    cr_assert_eq(memcmp(&req, &before, sizeof req), 0);
    char id[ES_PEP_ID_LEN + 1] = "unchanged";
    cr_assert_eq(es_pep_new_id(ctx, id), ESESSION_ERR_RANDOM);
    cr_assert_str_eq(id, "unchanged");
    esession_ctx_free(ctx);
}

/* ---- create ----------------------------------------------------------- */

static void check_create(es_pep_node node, const char *node_name, const char *access)
{
    esession_ctx *ctx = fx_ctx_new();
    esession_buf out = {0};
    es_pep_request req;
    cr_assert_eq(es_pep_build_create(ctx, node, &out, &req), ESESSION_OK);
    cr_assert_eq(req.kind, ES_PEP_CREATE);
    cr_assert_eq(req.node, node);
    cr_assert_str_eq(req.to, "");
    cr_assert_eq(out.secret, 0u);

    xmlDocPtr doc = parse_buf(&out);
    xmlNodePtr pubsub = check_envelope(doc, &req, "set", NULL);
    cr_assert_eq(element_count(pubsub), 2);
    xmlNodePtr create = es_xml_child(pubsub, "create", NS_PUBSUB);
    cr_assert_not_null(create);
    cr_assert_eq(create->next, es_xml_child(pubsub, "configure", NS_PUBSUB),
                 "<configure> follows <create>");
    expect_attr(create, "node", node_name);
    cr_assert_eq(element_count(create), 0);
    xmlNodePtr x = only_child(es_xml_child(pubsub, "configure", NS_PUBSUB), "x", NS_DATA);
    expect_attr(x, "type", "submit");

    static const char *const vars[] = {
        "FORM_TYPE", "pubsub#access_model", "pubsub#deliver_notifications",
        "pubsub#send_last_published_item", "pubsub#persist_items", "pubsub#max_items",
    };
    const char *values[] = {
        "http://jabber.org/protocol/pubsub#node_config", access, "0", "never", "1", "1",
    };
    size_t i = 0;
    for (xmlNodePtr f = x->children; f != NULL; f = f->next) {
        cr_assert_eq(f->type, XML_ELEMENT_NODE, "no text in the generated form");
        cr_assert(es_xml_is(f, "field", NS_DATA));
        cr_assert_lt(i, sizeof vars / sizeof vars[0]);
        expect_attr(f, "var", vars[i]);
        expect_attr(f, "type", i == 0 ? "hidden" : NULL);
        /* A plain <value>, never <option><value>. */
        xmlNodePtr v = only_child(f, "value", NS_DATA);
        cr_assert_null(es_xml_child(f, "option", NULL));
        xmlChar *text = xmlNodeGetContent(v);
        cr_assert_str_eq((const char *)text, values[i]);
        xmlFree(text);
        i++;
    }
    cr_assert_eq(i, sizeof vars / sizeof vars[0]);
    xmlFreeDoc(doc);
    esession_buf_free(&out);
    esession_ctx_free(ctx);
}

static void create_subscribers_node(void)
{
    check_create(ES_PEP_NODE_SUBSCRIBERS, ES_PEP_NODE_SUBSCRIBERS_NAME, "presence");
}

static void create_open_node(void)
{
    check_create(ES_PEP_NODE_OPEN, ES_PEP_NODE_OPEN_NAME, "open");
}

static void builders_reject_bad_arguments(void)
{
    esession_ctx *ctx = fx_ctx_new();
    esession_buf out = {0};
    es_pep_request req;
    cr_assert_eq(es_pep_build_create(ctx, (es_pep_node)2, &out, &req),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_pep_build_create(ctx, ES_PEP_NODE_OPEN, NULL, &req),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_pep_build_create(ctx, ES_PEP_NODE_OPEN, &out, NULL),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_pep_build_publish_empty(ctx, (es_pep_node)-1, &out, &req),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_pep_build_publish(ctx, (es_pep_node)5, escaped_form, strlen(escaped_form),
                                      &out, &req),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_pep_build_publish(ctx, ES_PEP_NODE_OPEN, escaped_form,
                                      strlen(escaped_form), NULL, &req),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_pep_build_items(ctx, ALICE, (es_pep_node)3, &out, &req),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_pep_build_items(ctx, ALICE, ES_PEP_NODE_OPEN, &out, NULL),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_null(out.data);
    cr_assert_str_neq(esession_ctx_error_detail(ctx), "");
    esession_ctx_free(ctx);
}

/* ---- publish ---------------------------------------------------------- */

/* es_xml_serialize of a form parsed on its own. */
static void serialize_standalone(const char *form, esession_buf *out)
{
    xmlDocPtr doc = NULL;
    cr_assert_eq(es_xml_parse(NULL, form, strlen(form), &doc), ESESSION_OK);
    cr_assert_eq(es_xml_serialize(xmlDocGetRootElement(doc), out, 0), ESESSION_OK);
    xmlFreeDoc(doc);
}

static void expect_same_form(const xmlNode *x, const char *published)
{
    esession_buf got = {0}, want = {0};
    cr_assert_eq(es_xml_serialize(x, &got, 0), ESESSION_OK);
    serialize_standalone(published, &want);
    cr_assert_eq(got.len, want.len, "got %s\nwant %s", got.data, want.data);
    cr_assert_str_eq(got.data, want.data);
    esession_buf_free(&got);
    esession_buf_free(&want);
}

static xmlNodePtr check_publish_envelope(xmlDocPtr doc, const es_pep_request *req,
                                         const char *node_name)
{
    xmlNodePtr pubsub = check_envelope(doc, req, "set", NULL);
    xmlNodePtr publish = only_child(pubsub, "publish", NS_PUBSUB);
    expect_attr(publish, "node", node_name);
    xmlNodePtr item = only_child(publish, "item", NS_PUBSUB);
    expect_attr(item, "id", ES_PEP_ITEM_ID);
    return item;
}

static void check_publish(es_pep_node node, const char *node_name, const char *form)
{
    esession_ctx *ctx = fx_ctx_new();
    esession_buf out = {0};
    es_pep_request req;
    cr_assert_eq(es_pep_build_publish(ctx, node, form, strlen(form), &out, &req), ESESSION_OK);
    cr_assert_eq(req.kind, ES_PEP_PUBLISH);
    cr_assert_eq(req.node, node);
    cr_assert_str_eq(req.to, "");
    /* Verbatim: the signed text is inside <item> byte for byte. */
    char *expect = fmt("<item id='%s'>%s</item>", ES_PEP_ITEM_ID, form);
    cr_assert_not_null(strstr(out.data, expect), "payload not inserted verbatim");
    free(expect);

    xmlDocPtr doc = parse_buf(&out);
    xmlNodePtr item = check_publish_envelope(doc, &req, node_name);
    xmlNodePtr x = only_child(item, "x", NS_DATA);
    expect_same_form(x, form);
    xmlFreeDoc(doc);
    esession_buf_free(&out);
    esession_ctx_free(ctx);
}

static void publish_vector_forms_to_both_nodes(void)
{
    for (size_t i = 0; i < sizeof session_vectors / sizeof session_vectors[0]; i++) {
        char *form = vector_form(session_vectors[i]);
        check_publish(ES_PEP_NODE_SUBSCRIBERS, ES_PEP_NODE_SUBSCRIBERS_NAME, form);
        check_publish(ES_PEP_NODE_OPEN, ES_PEP_NODE_OPEN_NAME, form);
        free(form);
    }
}

static void publish_keeps_escaped_payload(void)
{
    check_publish(ES_PEP_NODE_SUBSCRIBERS, ES_PEP_NODE_SUBSCRIBERS_NAME, escaped_form);
    esession_ctx *ctx = fx_ctx_new();
    esession_buf out = {0};
    es_pep_request req;
    cr_assert_eq(es_pep_build_publish(ctx, ES_PEP_NODE_OPEN, escaped_form,
                                      strlen(escaped_form), &out, &req),
                 ESESSION_OK);
    xmlDocPtr doc = parse_buf(&out);
    xmlNodePtr item = check_publish_envelope(doc, &req, ES_PEP_NODE_OPEN_NAME);
    xmlNodePtr x = only_child(item, "x", NS_DATA);
    xmlNodePtr f = x->children->next;
    expect_attr(f, "label", "'a' & \"b\" <c>");
    xmlChar *text = xmlNodeGetContent(f);
    cr_assert_str_eq((const char *)text, "x & y < z > w");
    xmlFree(text);
    xmlFreeDoc(doc);
    esession_buf_free(&out);
    esession_ctx_free(ctx);
}

static void publish_empty_item(void)
{
    esession_ctx *ctx = fx_ctx_new();
    esession_buf out = {0};
    es_pep_request req;
    cr_assert_eq(es_pep_build_publish_empty(ctx, ES_PEP_NODE_SUBSCRIBERS, &out, &req),
                 ESESSION_OK);
    cr_assert_eq(req.kind, ES_PEP_PUBLISH_EMPTY);
    cr_assert_eq(req.node, ES_PEP_NODE_SUBSCRIBERS);
    xmlDocPtr doc = parse_buf(&out);
    xmlNodePtr item = check_publish_envelope(doc, &req, ES_PEP_NODE_SUBSCRIBERS_NAME);
    cr_assert_null(item->children, "the empty item has no content at all");
    xmlFreeDoc(doc);
    esession_buf_free(&out);
    esession_ctx_free(ctx);
}

/* The retraction, for servers that refuse the empty item; and the public
 * call that hands it out. */
static void retract_item(void)
{
    esession_ctx *ctx = fx_ctx_new();
    esession_buf out = {0};
    es_pep_request req;
    cr_assert_eq(es_pep_build_retract(ctx, ES_PEP_NODE_SUBSCRIBERS, &out, &req), ESESSION_OK);
    cr_assert_eq(req.kind, ES_PEP_RETRACT);
    xmlDocPtr doc = parse_buf(&out);
    xmlNodePtr pubsub = check_envelope(doc, &req, "set", NULL);
    xmlNodePtr retract = only_child(pubsub, "retract", NS_PUBSUB);
    expect_attr(retract, "node", ES_PEP_NODE_SUBSCRIBERS_NAME);
    xmlNodePtr item = only_child(retract, "item", NS_PUBSUB);
    expect_attr(item, "id", ES_PEP_ITEM_ID);
    cr_assert_null(item->children);
    xmlFreeDoc(doc);
    esession_buf_free(&out);

    char id[ESESSION_IQ_ID_MAX];
    cr_assert_eq(esession_online_retract(ctx, &out, id), ESESSION_OK);
    cr_assert_not_null(strstr(out.data, "<retract node='" ES_PEP_NODE_SUBSCRIBERS_NAME "'>"));
    cr_assert_not_null(strstr(out.data, id));
    esession_buf_free(&out);
    for (int open_node = 0; open_node <= 1; open_node++) {
        cr_assert_eq(esession_node_create_iq(ctx, open_node, &out, id), ESESSION_OK);
        char *want = fmt("<create node='%s'/>", open_node ? ES_PEP_NODE_OPEN_NAME
                                                          : ES_PEP_NODE_SUBSCRIBERS_NAME);
        cr_assert_not_null(strstr(out.data, want), "%s", out.data);
        cr_assert_not_null(strstr(out.data, open_node ? "<value>open</value>"
                                                      : "<value>presence</value>"));
        free(want);
        esession_buf_free(&out);
    }
    cr_assert_eq(esession_node_create_iq(ctx, 0, NULL, id), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_online_retract(ctx, NULL, id), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_online_retract(NULL, &out, id), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_pep_build_retract(ctx, (es_pep_node)99, &out, &req),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_null(out.data);
    esession_ctx_free(ctx);
}

static void expect_bad_payload(const char *form, size_t len, esession_status want)
{
    esession_ctx *ctx = fx_ctx_new();
    esession_buf out = {0};
    es_pep_request req, before;
    memset(&req, 0x33, sizeof req);
    before = req;
    cr_assert_eq(es_pep_build_publish(ctx, ES_PEP_NODE_OPEN, form, len, &out, &req), want,
                 "payload %.60s", form != NULL ? form : "(null)");
    cr_assert_null(out.data);
    cr_assert_eq(memcmp(&req, &before, sizeof req), 0);
    cr_assert_str_neq(esession_ctx_error_detail(ctx), "");
    esession_ctx_free(ctx);
}

#define BAD_PAYLOAD(s) expect_bad_payload((s), strlen(s), ESESSION_ERR_INVALID_ARGUMENT)

static void publish_rejects_what_is_not_one_bare_data_form(void)
{
    expect_bad_payload(NULL, 5, ESESSION_ERR_INVALID_ARGUMENT);
    expect_bad_payload("<x xmlns='jabber:x:data'/>", 0, ESESSION_ERR_INVALID_ARGUMENT);
    BAD_PAYLOAD("<?xml version='1.0'?><x xmlns='jabber:x:data'/>");
    BAD_PAYLOAD(" <x xmlns='jabber:x:data'/>");
    BAD_PAYLOAD("<x xmlns='jabber:x:data'/>\n");
    BAD_PAYLOAD("\xef\xbb\xbf<x xmlns='jabber:x:data'/>");
    BAD_PAYLOAD("<!-- c --><x xmlns='jabber:x:data'/>");
    BAD_PAYLOAD("<x xmlns='jabber:x:data'/><!-- c -->");
    BAD_PAYLOAD("<x xmlns='jabber:x:data'/><?pi x?>");
    BAD_PAYLOAD("<!DOCTYPE x [<!ENTITY e 'z'>]><x xmlns='jabber:x:data'>&e;</x>");
    BAD_PAYLOAD("<x xmlns='jabber:x:data'/><x xmlns='jabber:x:data'/>");
    BAD_PAYLOAD("<x xmlns='jabber:x:data'>");
    BAD_PAYLOAD("<y xmlns='jabber:x:data'/>");
    BAD_PAYLOAD("<x xmlns='jabber:x:oob'/>");
    BAD_PAYLOAD("<x/>");
    BAD_PAYLOAD("<d:x xmlns:d='jabber:x:data'/>");
    BAD_PAYLOAD("<x xmlns='jabber:x:data'/></item></publish><x xmlns='jabber:x:data'/>");
    BAD_PAYLOAD("<x xmlns='jabber:x:data'><value>\xc3\x28</value></x>");
    BAD_PAYLOAD("<x xmlns='jabber:x:data'><value>&bogus;</value></x>");
    /* An embedded NUL: the text is not one element of len octets. */
    expect_bad_payload("<x xmlns='jabber:x:data'>\0</x>", 30, ESESSION_ERR_INVALID_ARGUMENT);
}

/* <x> holding `levels - 1` nested <a> elements. */
static char *nested_form(size_t levels)
{
    size_t cap = 64 + levels * 8;
    char *s = malloc(cap);
    cr_assert_not_null(s);
    strcpy(s, "<x xmlns='jabber:x:data'>");
    for (size_t i = 1; i < levels; i++)
        strcat(s, "<a>");
    for (size_t i = 1; i < levels; i++)
        strcat(s, "</a>");
    strcat(s, "</x>");
    return s;
}

/* <x> with one value making the text exactly len octets. */
static char *sized_form(size_t len)
{
    static const char head[] = "<x xmlns='jabber:x:data'><field var='v'><value>";
    static const char tail[] = "</value></field></x>";
    size_t fixed = sizeof head - 1 + sizeof tail - 1;
    cr_assert_gt(len, fixed);
    char *s = malloc(len + 1);
    cr_assert_not_null(s);
    memcpy(s, head, sizeof head - 1);
    memset(s + sizeof head - 1, 'A', len - fixed);
    memcpy(s + len - (sizeof tail - 1), tail, sizeof tail);
    return s;
}

static char *items_result(const es_pep_request *req, const char *form);

static void publish_limits_size_and_depth_so_bob_can_parse_the_result(void)
{
    char *big = sized_form(ES_PEP_PAYLOAD_MAX + 1);
    expect_bad_payload(big, strlen(big), ESESSION_ERR_LIMIT);
    free(big);
    char *deep = nested_form(ES_PEP_PAYLOAD_DEPTH_MAX + 1);
    expect_bad_payload(deep, strlen(deep), ESESSION_ERR_LIMIT);
    free(deep);

    /* The largest and the deepest accepted still fit Bob's parser. */
    char *forms[] = {sized_form(ES_PEP_PAYLOAD_MAX), nested_form(ES_PEP_PAYLOAD_DEPTH_MAX)};
    esession_ctx *ctx = fx_ctx_new();
    for (size_t i = 0; i < 2; i++) {
        esession_buf out = {0};
        es_pep_request pub, req;
        cr_assert_eq(es_pep_build_publish(ctx, ES_PEP_NODE_OPEN, forms[i], strlen(forms[i]),
                                          &out, &pub),
                     ESESSION_OK);
        xmlDocPtr doc = parse_buf(&out);
        xmlFreeDoc(doc);
        esession_buf_free(&out);

        cr_assert_eq(es_pep_build_items(ctx, ALICE, ES_PEP_NODE_OPEN, &out,
                                        &req),
                     ESESSION_OK);
        esession_buf_free(&out);
        char *resp = items_result(&req, forms[i]);
        xmlNodePtr x = NULL;
        cr_assert_eq(es_pep_parse_items(ctx, &req, resp, strlen(resp), &doc, &x, NULL),
                     ESESSION_OK);
        expect_same_form(x, forms[i]);
        xmlFreeDoc(doc);
        free(resp);
        free(forms[i]);
    }
    esession_ctx_free(ctx);
}

/* ---- items request ---------------------------------------------------- */

static void check_items_request(const char *jid, es_pep_node node, const char *escaped_to)
{
    esession_ctx *ctx = fx_ctx_new();
    esession_buf out = {0};
    es_pep_request req;
    size_t jid_len = strlen(jid);
    cr_assert_eq(es_pep_build_items(ctx, jid, node, &out, &req), ESESSION_OK);
    cr_assert_eq(req.kind, ES_PEP_ITEMS);
    cr_assert_eq(req.node, node);
    cr_assert_eq(strlen(req.to), jid_len);
    cr_assert_eq(memcmp(req.to, jid, jid_len), 0);
    if (escaped_to != NULL) {
        char *want = fmt(" to='%s'", escaped_to);
        cr_assert_not_null(strstr(out.data, want), "%s", out.data);
        free(want);
    }
    xmlDocPtr doc = parse_buf(&out);
    xmlNodePtr pubsub = check_envelope(doc, &req, "get", req.to);
    xmlNodePtr items = only_child(pubsub, "items", NS_PUBSUB);
    expect_attr(items, "node", es_pep_node_name(node));
    expect_attr(items, "max_items", "1");
    cr_assert_null(items->children);
    xmlFreeDoc(doc);
    esession_buf_free(&out);
    esession_ctx_free(ctx);
}

static void items_request_for_both_nodes(void)
{
    check_items_request(ALICE, ES_PEP_NODE_SUBSCRIBERS, ALICE);
    check_items_request(ALICE, ES_PEP_NODE_OPEN, ALICE);
    const char *utf8 = "\xe7\xbe\x8e\xe5\x92\xb2@\xc3\xa9xample.org";
    check_items_request(utf8, ES_PEP_NODE_OPEN, utf8);
}

static void items_request_escapes_the_jid(void)
{
    const char *jid = "a&b<c>d'e\"f@example.org";
    check_items_request(jid, ES_PEP_NODE_SUBSCRIBERS,
                        "a&amp;b&lt;c&gt;d&apos;e&quot;f@example.org");
}

static void items_request_longest_jid(void)
{
    char *jid = malloc(ES_PEP_JID_MAX + 2);
    cr_assert_not_null(jid);
    memset(jid, 'a', ES_PEP_JID_MAX);
    jid[ES_PEP_JID_MAX] = '\0';
    check_items_request(jid, ES_PEP_NODE_OPEN, NULL);

    esession_ctx *ctx = fx_ctx_new();
    esession_buf out = {0};
    es_pep_request req;
    jid[ES_PEP_JID_MAX] = 'a';
    jid[ES_PEP_JID_MAX + 1] = '\0';
    cr_assert_eq(es_pep_build_items(ctx, jid, ES_PEP_NODE_OPEN, &out, &req),
                 ESESSION_ERR_INVALID_ARGUMENT);
    esession_ctx_free(ctx);
    free(jid);
}

static void items_request_rejects_what_is_not_a_bare_jid(void)
{
    static const char *const bad[] = {
        "",
        "alice@example.org/pda",
        "alice @example.org",
        "alice@example.org\n",
        "al\tice@example.org",
        "alice\x7f@example.org",
        "\xc3\x28@example.org",         /* bad continuation */
        "\xc0\xaf@example.org",         /* overlong */
        "\xe0\x80\xaf@example.org",     /* overlong, 3 octets */
        "\xed\xa0\x80@example.org",     /* surrogate */
        "\xef\xbf\xbe@example.org",     /* U+FFFE */
        "\xf4\x90\x80\x80@example.org", /* beyond U+10FFFF */
        "alice@example.org\xe2\x82",    /* truncated */
        "\xff@example.org",
    };
    esession_ctx *ctx = fx_ctx_new();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        esession_buf out = {0};
        es_pep_request req;
        cr_assert_eq(es_pep_build_items(ctx, bad[i], ES_PEP_NODE_OPEN, &out,
                                        &req),
                     ESESSION_ERR_INVALID_ARGUMENT, "jid %zu accepted", i);
        cr_assert_null(out.data);
    }
    esession_buf out = {0};
    es_pep_request req;
    cr_assert_eq(es_pep_build_items(ctx, NULL, ES_PEP_NODE_OPEN, &out, &req),
                 ESESSION_ERR_INVALID_ARGUMENT);
    esession_ctx_free(ctx);
}

/* ---- items results ---------------------------------------------------- */

static es_pep_request items_req(esession_ctx *ctx, es_pep_node node)
{
    esession_buf out = {0};
    es_pep_request req;
    cr_assert_eq(es_pep_build_items(ctx, ALICE, node, &out, &req), ESESSION_OK);
    esession_buf_free(&out);
    return req;
}

/* ejabberd 23.01 as a client library hands it over: no whitespace. */
static char *items_result(const es_pep_request *req, const char *form)
{
    return fmt("<iq xml:lang='en' to='bob@example.com/laptop' from='%s' type='result' "
               "id='%s'><pubsub xmlns='" NS_PUBSUB "'><items node='%s'><item id='current'>"
               "%s</item></items></pubsub></iq>",
               req->to, req->id, es_pep_node_name(req->node), form);
}

/* Realistic answers; @I@ id, @N@ node, @F@ form. */
static const char *const result_templates[] = {
    /* ejabberd, stream namespace carried over by the client library */
    "<iq xmlns='jabber:client' xml:lang='en' to='bob@example.com/laptop' "
    "from='alice@example.org' type='result' id='@I@'><pubsub "
    "xmlns='http://jabber.org/protocol/pubsub'><items node='@N@'><item "
    "id='current'>@F@</item></items></pubsub></iq>",
    /* Prosody 0.12: double quotes, publisher attribute */
    "<iq id=\"@I@\" type=\"result\" to=\"bob@example.com/laptop\" from=\"alice@example.org\">"
    "<pubsub xmlns=\"http://jabber.org/protocol/pubsub\"><items node=\"@N@\">"
    "<item id=\"current\" publisher=\"alice@example.org\">@F@</item></items></pubsub></iq>",
    /* pretty-printed, as in the XEP examples */
    "<iq type='result'\n    from='alice@example.org'\n    to='bob@example.com/laptop'\n"
    "    id='@I@'>\n  <pubsub xmlns='http://jabber.org/protocol/pubsub'>\n"
    "    <items node='@N@'>\n      <item id='current'>\n        @F@\n      </item>\n"
    "    </items>\n  </pubsub>\n</iq>\n",
    /* a JID as the server spells it, and result-set management after <items> */
    "<iq type='result' from='Alice@Example.ORG' id='@I@'><pubsub "
    "xmlns='http://jabber.org/protocol/pubsub'><items node='@N@'><item id='5f2a'>@F@</item>"
    "</items><set xmlns='http://jabber.org/protocol/rsm'><first index='0'>5f2a</first>"
    "<last>5f2a</last><count>1</count></set></pubsub></iq>",
    /* server-to-server namespace, CDATA whitespace */
    "<iq xmlns='jabber:server' type='result' from='alice@example.org' id='@I@'>"
    "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='@N@'>"
    "<item id='current'><![CDATA[ ]]>@F@</item></items></pubsub></iq>",
};

/* tmpl with @I@ -> the request's id, @N@ -> its node, @F@ -> form. */
static char *fill(const char *tmpl, const es_pep_request *req, const char *form)
{
    const char *node = es_pep_node_name(req->node);
    size_t cap = strlen(tmpl) + 1, fl = strlen(form);
    for (const char *p = tmpl; (p = strchr(p, '@')) != NULL; p++)
        cap += strlen(node) + fl + ES_PEP_ID_LEN;
    char *out = malloc(cap), *o = out;
    cr_assert_not_null(out);
    for (const char *p = tmpl; *p != '\0';) {
        const char *rep = NULL;
        if (strncmp(p, "@I@", 3) == 0)
            rep = req->id;
        else if (strncmp(p, "@N@", 3) == 0)
            rep = node;
        else if (strncmp(p, "@F@", 3) == 0)
            rep = form;
        if (rep != NULL) {
            size_t n = strlen(rep);
            memcpy(o, rep, n);
            o += n;
            p += 3;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

static void expect_form_from(const char *tmpl, es_pep_node node, const char *form)
{
    esession_ctx *ctx = fx_ctx_new();
    es_pep_request req = items_req(ctx, node);
    char *resp = fill(tmpl, &req, form);
    xmlDocPtr doc = NULL;
    xmlNodePtr x = NULL;
    es_pep_error err;
    memset(&err, 0x77, sizeof err);
    cr_assert_eq(es_pep_parse_items(ctx, &req, resp, strlen(resp), &doc, &x, &err), ESESSION_OK,
                 "%s: %s", esession_ctx_error_detail(ctx), resp);
    cr_assert_not_null(doc);
    cr_assert_eq(x->doc, doc, "the form lives in the returned document");
    cr_assert(es_xml_is(x, "x", NS_DATA));
    cr_assert_eq(err.cond, ES_PEP_COND_NONE);
    cr_assert_str_eq(err.name, "");
    expect_same_form(x, form);
    xmlFreeDoc(doc);
    free(resp);
    esession_ctx_free(ctx);
}

static void items_result_yields_the_published_form(void)
{
    char *vform = vector_form(session_vectors[0]);
    const char *forms[] = {vform, escaped_form};
    for (size_t f = 0; f < 2; f++) {
        for (size_t t = 0; t < sizeof result_templates / sizeof result_templates[0]; t++) {
            expect_form_from(result_templates[t], ES_PEP_NODE_SUBSCRIBERS, forms[f]);
            expect_form_from(result_templates[t], ES_PEP_NODE_OPEN, forms[f]);
        }
    }
    free(vform);
}

static void items_result_from_the_publish_we_built(void)
{
    /* What Alice publishes is what Bob gets, through a server that echoes
     * the item. */
    esession_ctx *ctx = fx_ctx_new();
    char *form = vector_form(session_vectors[2]);
    esession_buf pub = {0};
    es_pep_request preq;
    cr_assert_eq(es_pep_build_publish(ctx, ES_PEP_NODE_SUBSCRIBERS, form, strlen(form), &pub,
                                      &preq),
                 ESESSION_OK);
    const char *start = strstr(pub.data, "<item id='current'>") + strlen("<item id='current'>");
    const char *end = strstr(pub.data, "</item>");
    cr_assert_eq((size_t)(end - start), strlen(form));
    cr_assert_eq(memcmp(start, form, strlen(form)), 0);

    es_pep_request req = items_req(ctx, ES_PEP_NODE_SUBSCRIBERS);
    char *resp = items_result(&req, form);
    xmlDocPtr doc = NULL;
    xmlNodePtr x = NULL;
    cr_assert_eq(es_pep_parse_items(ctx, &req, resp, strlen(resp), &doc, &x, NULL), ESESSION_OK);
    expect_same_form(x, form);
    /* check_items over the same tree gives the same node. */
    xmlNodePtr again = NULL;
    cr_assert_eq(es_pep_check_items(ctx, &req, xmlDocGetRootElement(doc), &again, NULL),
                 ESESSION_OK);
    cr_assert_eq(again, x);
    xmlFreeDoc(doc);
    free(resp);
    esession_buf_free(&pub);
    free(form);
    esession_ctx_free(ctx);
}

static void items_result_for_an_escaped_jid(void)
{
    esession_ctx *ctx = fx_ctx_new();
    const char *jid = "a&b<c>d'e\"f@example.org";
    esession_buf out = {0};
    es_pep_request req;
    cr_assert_eq(es_pep_build_items(ctx, jid, ES_PEP_NODE_OPEN, &out, &req),
                 ESESSION_OK);
    esession_buf_free(&out);
    char *resp = fmt("<iq type='result' from='a&amp;b&lt;c&gt;d&apos;e&quot;f@example.org' "
                     "id='%s'><pubsub xmlns='" NS_PUBSUB "'><items node='" ES_PEP_NODE_OPEN_NAME
                     "'><item id='current'>%s</item></items></pubsub></iq>",
                     req.id, escaped_form);
    xmlDocPtr doc = NULL;
    xmlNodePtr x = NULL;
    cr_assert_eq(es_pep_parse_items(ctx, &req, resp, strlen(resp), &doc, &x, NULL), ESESSION_OK);
    xmlFreeDoc(doc);
    free(resp);
    esession_ctx_free(ctx);
}

/* Expect code from the response built by tmpl (@I@ id, @N@ node); doc,
 * x and err stay untouched unless the code is PUBSUB. */
static void expect_items_code(const char *tmpl, const es_pep_request *req,
                              esession_status want)
{
    esession_ctx *ctx = fx_ctx_new();
    char *resp = fill(tmpl, req, "");
    xmlDocPtr doc = (xmlDocPtr)(uintptr_t)0x1;
    xmlNodePtr x = (xmlNodePtr)(uintptr_t)0x2;
    es_pep_error err, before;
    memset(&err, 0x77, sizeof err);
    before = err;
    esession_status rc = es_pep_parse_items(ctx, req, resp, strlen(resp), &doc, &x, &err);
    cr_assert_eq(rc, want, "got %s, want %s: %s (%s)", esession_status_name(rc),
                 esession_status_name(want), resp, esession_ctx_error_detail(ctx));
    cr_assert_eq(doc, (xmlDocPtr)(uintptr_t)0x1);
    cr_assert_eq(x, (xmlNodePtr)(uintptr_t)0x2);
    if (want != ESESSION_ERR_PUBSUB)
        cr_assert_eq(memcmp(&err, &before, sizeof err), 0, "err changed");
    cr_assert_str_neq(esession_ctx_error_detail(ctx), "");
    free(resp);
    esession_ctx_free(ctx);
}

#define RESULT_HEAD "<iq type='result' from='alice@example.org' id='@I@'>"
#define PUBSUB_OPEN "<pubsub xmlns='http://jabber.org/protocol/pubsub'>"
#define FORM "<x xmlns='jabber:x:data' type='form'/>"

static void no_options_is_told_apart(void)
{
    static const char *const none[] = {
        /* ejabberd: node exists, no item */
        RESULT_HEAD PUBSUB_OPEN "<items node='@N@'/></pubsub></iq>",
        "<iq type='result' from='alice@example.org' id='@I@'>\n " PUBSUB_OPEN
        "\n  <items node='@N@'>\n  </items>\n </pubsub>\n</iq>",
        /* Alice came back online (Listing 8) */
        RESULT_HEAD PUBSUB_OPEN "<items node='@N@'><item id='current'/></items></pubsub></iq>",
        RESULT_HEAD PUBSUB_OPEN "<items node='@N@'><item id='current'>\n  </item></items>"
        "</pubsub></iq>",
        RESULT_HEAD PUBSUB_OPEN "<items node='@N@'><item id='x'></item></items></pubsub></iq>",
    };
    esession_ctx *ctx = fx_ctx_new();
    es_pep_request req = items_req(ctx, ES_PEP_NODE_SUBSCRIBERS);
    cr_assert_neq(ES_PEP_NO_OPTIONS, ESESSION_ERR_MALFORMED);
    cr_assert_neq(ES_PEP_NO_OPTIONS, ESESSION_ERR_PUBSUB);
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
        expect_items_code(none[i], &req, ES_PEP_NO_OPTIONS);
    esession_ctx_free(ctx);
}

static void malformed_items_results(void)
{
    static const char *const bad[] = {
        /* two items */
        RESULT_HEAD PUBSUB_OPEN "<items node='@N@'><item id='a'>" FORM "</item><item id='b'>"
        FORM "</item></items></pubsub></iq>",
        /* an empty and a full item */
        RESULT_HEAD PUBSUB_OPEN "<items node='@N@'><item id='a'/><item id='b'>" FORM
        "</item></items></pubsub></iq>",
        /* two forms in one item */
        RESULT_HEAD PUBSUB_OPEN "<items node='@N@'><item id='a'>" FORM FORM
        "</item></items></pubsub></iq>",
        /* payloads that are not a data form */
        RESULT_HEAD PUBSUB_OPEN "<items node='@N@'><item id='a'><foo xmlns='urn:example'/>"
        "</item></items></pubsub></iq>",
        RESULT_HEAD PUBSUB_OPEN "<items node='@N@'><item id='a'><x xmlns='jabber:x:oob'>"
        "<url>http://example.org/</url></x></item></items></pubsub></iq>",
        RESULT_HEAD PUBSUB_OPEN "<items node='@N@'><item id='a'><x type='form'/>"
        "</item></items></pubsub></iq>",
        RESULT_HEAD PUBSUB_OPEN "<items node='@N@'><item id='a'>options</item></items>"
        "</pubsub></iq>",
        RESULT_HEAD PUBSUB_OPEN "<items node='@N@'><item id='a'>" FORM "trailing</item>"
        "</items></pubsub></iq>",
        RESULT_HEAD PUBSUB_OPEN "<items node='@N@'><item id='a'><!-- c -->" FORM
        "</item></items></pubsub></iq>",
        /* wrong node */
        RESULT_HEAD PUBSUB_OPEN "<items node='" ES_PEP_NODE_OPEN_NAME "'><item id='a'>" FORM
        "</item></items></pubsub></iq>",
        RESULT_HEAD PUBSUB_OPEN "<items><item id='a'>" FORM "</item></items></pubsub></iq>",
        /* structure around the items */
        RESULT_HEAD "</iq>",
        RESULT_HEAD PUBSUB_OPEN "</pubsub></iq>",
        RESULT_HEAD "<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><items "
        "node='@N@'><item id='a'>" FORM "</item></items></pubsub></iq>",
        RESULT_HEAD PUBSUB_OPEN "<items node='@N@'><item id='a'>" FORM "</item></items>"
        "</pubsub><extra xmlns='urn:example'/></iq>",
        RESULT_HEAD "text" PUBSUB_OPEN "<items node='@N@'><item id='a'>" FORM "</item></items>"
        "</pubsub></iq>",
        RESULT_HEAD PUBSUB_OPEN "<items node='@N@'><item id='a'>" FORM "</item></items>"
        "<items node='@N@'/></pubsub></iq>",
        RESULT_HEAD PUBSUB_OPEN "<items xmlns='urn:other' node='@N@'><item id='a'>" FORM
        "</item></items></pubsub></iq>",
        RESULT_HEAD PUBSUB_OPEN "<items node='@N@'><retract id='a'/></items></pubsub></iq>",
        RESULT_HEAD PUBSUB_OPEN "<items node='@N@'><item xmlns='urn:other'>" FORM
        "</item></items></pubsub></iq>",
        RESULT_HEAD PUBSUB_OPEN "<items node='@N@'>x<item id='a'>" FORM "</item></items>"
        "</pubsub></iq>",
        RESULT_HEAD PUBSUB_OPEN "<items node='@N@'><item id='a'>" FORM "</item></items>"
        "<set xmlns='http://jabber.org/protocol/rsm'/><set xmlns='http://jabber.org/protocol/rsm'/>"
        "</pubsub></iq>",
        RESULT_HEAD PUBSUB_OPEN "<!-- c --><items node='@N@'/></pubsub></iq>",
        /* envelope: id, type, from, element, namespace */
        "<iq type='result' from='alice@example.org' id='0123'>" PUBSUB_OPEN
        "<items node='@N@'/></pubsub></iq>",
        "<iq type='result' from='alice@example.org'>" PUBSUB_OPEN
        "<items node='@N@'/></pubsub></iq>",
        "<iq type='result' from='alice@example.org' id='@I@x'>" PUBSUB_OPEN
        "<items node='@N@'/></pubsub></iq>",
        "<iq type='set' from='alice@example.org' id='@I@'>" PUBSUB_OPEN
        "<items node='@N@'/></pubsub></iq>",
        "<iq type='get' from='alice@example.org' id='@I@'>" PUBSUB_OPEN
        "<items node='@N@'/></pubsub></iq>",
        "<iq type='RESULT' from='alice@example.org' id='@I@'>" PUBSUB_OPEN
        "<items node='@N@'/></pubsub></iq>",
        "<iq from='alice@example.org' id='@I@'>" PUBSUB_OPEN "<items node='@N@'/></pubsub></iq>",
        "<iq type='result' from='mallory@example.org' id='@I@'>" PUBSUB_OPEN
        "<items node='@N@'/></pubsub></iq>",
        "<iq type='result' from='alice@example.org/pda' id='@I@'>" PUBSUB_OPEN
        "<items node='@N@'/></pubsub></iq>",
        "<iq type='result' id='@I@'>" PUBSUB_OPEN "<items node='@N@'/></pubsub></iq>",
        "<iq type='error' from='mallory@example.org' id='@I@'><error type='auth'>"
        "<forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
        "<iq type='error' from='alice@example.org' id='other'><error type='auth'>"
        "<forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
        "<message type='result' from='alice@example.org' id='@I@'>" PUBSUB_OPEN
        "<items node='@N@'/></pubsub></message>",
        "<iq xmlns='jabber:component:accept' type='result' from='alice@example.org' id='@I@'>"
        PUBSUB_OPEN "<items node='@N@'/></pubsub></iq>",
        /* not XML */
        RESULT_HEAD PUBSUB_OPEN "<items node='@N@'>",
        "",
        "<!DOCTYPE iq [<!ENTITY a 'b'>]>" RESULT_HEAD "</iq>",
    };
    esession_ctx *ctx = fx_ctx_new();
    es_pep_request req = items_req(ctx, ES_PEP_NODE_SUBSCRIBERS);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_items_code(bad[i], &req, ESESSION_ERR_MALFORMED);
    esession_ctx_free(ctx);
}

static void items_parsers_reject_bad_arguments(void)
{
    esession_ctx *ctx = fx_ctx_new();
    es_pep_request req = items_req(ctx, ES_PEP_NODE_OPEN);
    char *resp = items_result(&req, FORM);
    xmlDocPtr doc = NULL;
    xmlNodePtr x = NULL;
    size_t len = strlen(resp);
    cr_assert_eq(es_pep_parse_items(ctx, NULL, resp, len, &doc, &x, NULL),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_pep_parse_items(ctx, &req, NULL, len, &doc, &x, NULL),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_pep_parse_items(ctx, &req, resp, len, NULL, &x, NULL),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_pep_parse_items(ctx, &req, resp, len, &doc, NULL, NULL),
                 ESESSION_ERR_INVALID_ARGUMENT);
    es_pep_request other = req;
    other.kind = ES_PEP_CREATE;
    cr_assert_eq(es_pep_parse_items(ctx, &other, resp, len, &doc, &x, NULL),
                 ESESSION_ERR_INVALID_ARGUMENT);
    other = req;
    other.node = (es_pep_node)9;
    cr_assert_eq(es_pep_parse_items(ctx, &other, resp, len, &doc, &x, NULL),
                 ESESSION_ERR_INVALID_ARGUMENT);
    other = req;
    other.to[0] = '\0';
    cr_assert_eq(es_pep_parse_items(ctx, &other, resp, len, &doc, &x, NULL),
                 ESESSION_ERR_INVALID_ARGUMENT);
    other = req;
    other.id[0] = '\0';
    cr_assert_eq(es_pep_parse_items(ctx, &other, resp, len, &doc, &x, NULL),
                 ESESSION_ERR_INVALID_ARGUMENT);
    other = req;
    memset(other.id, 'a', sizeof other.id);
    cr_assert_eq(es_pep_parse_items(ctx, &other, resp, len, &doc, &x, NULL),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_pep_check_items(ctx, &req, NULL, &x, NULL), ESESSION_ERR_MALFORMED);
    cr_assert_null(doc);
    cr_assert_null(x);
    /* The request itself still parses. */
    cr_assert_eq(es_pep_parse_items(ctx, &req, resp, len, &doc, &x, NULL), ESESSION_OK);
    xmlFreeDoc(doc);
    free(resp);
    esession_ctx_free(ctx);
}

/* ---- errors ----------------------------------------------------------- */

typedef struct error_case {
    const char *tmpl; /* @I@ id, @N@ node */
    es_pep_cond cond;
    const char *name, *type, *app, *feature;
} error_case;

#define STANZAS "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'"
#define PSERR "xmlns='http://jabber.org/protocol/pubsub#errors'"
#define ERROR_HEAD "<iq type='error' from='alice@example.org' to='bob@example.com/laptop' " \
                   "id='@I@'>"

static const error_case item_errors[] = {
    /* Prosody 0.12: Bob has no presence subscription */
    {ERROR_HEAD "<error type='auth'><forbidden " STANZAS "/></error></iq>",
     ES_PEP_COND_FORBIDDEN, "forbidden", "auth", "", ""},
    /* ejabberd 23.01: request echoed, legacy code, application condition */
    {"<iq xml:lang='en' to='bob@example.com/laptop' from='alice@example.org' type='error' "
     "id='@I@'>" PUBSUB_OPEN "<items node='@N@' max_items='1'/></pubsub><error code='401' "
     "type='auth'><not-authorized " STANZAS "/><presence-subscription-required " PSERR
     "/><text xml:lang='en' " STANZAS ">Not subscribed</text></error></iq>",
     ES_PEP_COND_NOT_AUTHORIZED, "not-authorized", "auth", "presence-subscription-required", ""},
    /* no such node, pretty-printed */
    {ERROR_HEAD "\n  <error type='cancel'>\n    <item-not-found " STANZAS "/>\n  </error>\n</iq>",
     ES_PEP_COND_ITEM_NOT_FOUND, "item-not-found", "cancel", "", ""},
    /* <text> first */
    {ERROR_HEAD "<error type='wait'><text " STANZAS ">Too many nodes</text><resource-constraint "
     STANZAS "/></error></iq>",
     ES_PEP_COND_RESOURCE_CONSTRAINT, "resource-constraint", "wait", "", ""},
    {"<iq xmlns='jabber:client' type='error' from='alice@example.org' id='@I@'><error "
     "type='cancel'><service-unavailable " STANZAS "/></error></iq>",
     ES_PEP_COND_SERVICE_UNAVAILABLE, "service-unavailable", "cancel", "", ""},
    {ERROR_HEAD "<error type='cancel'><feature-not-implemented " STANZAS
     "/><unsupported " PSERR " feature='retrieve-items'/></error></iq>",
     ES_PEP_COND_FEATURE_NOT_IMPLEMENTED, "feature-not-implemented", "cancel", "unsupported",
     "retrieve-items"},
    {ERROR_HEAD "<error type='auth'><not-authorized " STANZAS "/><not-subscribed " PSERR
     "/></error></iq>",
     ES_PEP_COND_NOT_AUTHORIZED, "not-authorized", "auth", "not-subscribed", ""},
    {ERROR_HEAD "<error type='cancel'><remote-server-not-found " STANZAS "/></error></iq>",
     ES_PEP_COND_REMOTE_SERVER_NOT_FOUND, "remote-server-not-found", "cancel", "", ""},
    {ERROR_HEAD "<error type='cancel'><not-allowed " STANZAS "/><closed-node " PSERR
     "/></error></iq>",
     ES_PEP_COND_NOT_ALLOWED, "not-allowed", "cancel", "closed-node", ""},
    /* names the enum does not know */
    {ERROR_HEAD "<error type='auth'><payment-required " STANZAS "/></error></iq>",
     ES_PEP_COND_OTHER, "payment-required", "auth", "", ""},
    {ERROR_HEAD "<error code='404' type='cancel'/></iq>", ES_PEP_COND_OTHER, "", "cancel", "", ""},
    {ERROR_HEAD "</iq>", ES_PEP_COND_OTHER, "", "", "", ""},
    {ERROR_HEAD "<error type='cancel'><forbidden xmlns='urn:other'/></error></iq>",
     ES_PEP_COND_OTHER, "", "cancel", "", ""},
    /* the error element must be in the stanza's namespace */
    {ERROR_HEAD "<error xmlns='urn:other' type='cancel'><forbidden " STANZAS "/></error></iq>",
     ES_PEP_COND_OTHER, "", "", "", ""},
    /* values that are not short printable names are not stored */
    {ERROR_HEAD "<error type='can cel'><an-unknown-condition-name-that-is-far-longer-than-"
     "sixty-three-octets-in-all " STANZAS "/><unsupported " PSERR " feature='a&#10;b'/>"
     "</error></iq>",
     ES_PEP_COND_OTHER, "", "", "unsupported", ""},
};

static void expect_error(const error_case *c, const es_pep_request *req, int items)
{
    esession_ctx *ctx = fx_ctx_new();
    char *resp = fill(c->tmpl, req, "");
    es_pep_error err;
    memset(&err, 0x77, sizeof err);
    esession_status rc;
    if (items) {
        xmlDocPtr doc = (xmlDocPtr)(uintptr_t)0x1;
        xmlNodePtr x = NULL;
        rc = es_pep_parse_items(ctx, req, resp, strlen(resp), &doc, &x, &err);
        cr_assert_eq(doc, (xmlDocPtr)(uintptr_t)0x1);
        cr_assert_null(x);
    } else {
        rc = es_pep_parse_ack(ctx, req, resp, strlen(resp), &err);
    }
    cr_assert_eq(rc, ESESSION_ERR_PUBSUB, "%s: %s", esession_status_name(rc), resp);
    cr_assert_eq(err.cond, c->cond, "%s: cond %d", resp, err.cond);
    cr_assert_str_eq(err.name, c->name);
    cr_assert_str_eq(err.type, c->type);
    cr_assert_str_eq(err.app, c->app);
    cr_assert_str_eq(err.feature, c->feature);
    cr_assert_not_null(strstr(esession_ctx_error_detail(ctx), "server error"));
    /* err is optional. */
    if (items) {
        xmlDocPtr doc = NULL;
        xmlNodePtr x = NULL;
        rc = es_pep_parse_items(ctx, req, resp, strlen(resp), &doc, &x, NULL);
    } else {
        rc = es_pep_parse_ack(ctx, req, resp, strlen(resp), NULL);
    }
    cr_assert_eq(rc, ESESSION_ERR_PUBSUB);
    free(resp);
    esession_ctx_free(ctx);
}

static void items_errors_yield_their_condition(void)
{
    esession_ctx *ctx = fx_ctx_new();
    es_pep_request sub = items_req(ctx, ES_PEP_NODE_SUBSCRIBERS);
    es_pep_request open = items_req(ctx, ES_PEP_NODE_OPEN);
    for (size_t i = 0; i < sizeof item_errors / sizeof item_errors[0]; i++) {
        expect_error(&item_errors[i], &sub, 1);
        expect_error(&item_errors[i], &open, 1);
    }
    esession_ctx_free(ctx);
}

static void error_names_are_kept_up_to_63_octets(void)
{
    esession_ctx *ctx = fx_ctx_new();
    es_pep_request req = items_req(ctx, ES_PEP_NODE_OPEN);
    for (size_t len = ES_PEP_NAME_MAX - 2; len <= ES_PEP_NAME_MAX; len++) {
        char name[ES_PEP_NAME_MAX + 1];
        memset(name, 'q', len);
        name[len] = '\0';
        char *resp = fmt("<iq type='error' from='alice@example.org' id='%s'><error type='%s'>"
                         "<%s " STANZAS "/><%s " PSERR " feature='%s'/></error></iq>",
                         req.id, name, name, name, name);
        es_pep_error err;
        xmlDocPtr doc = NULL;
        xmlNodePtr x = NULL;
        cr_assert_eq(es_pep_parse_items(ctx, &req, resp, strlen(resp), &doc, &x, &err),
                     ESESSION_ERR_PUBSUB);
        const char *want = len < ES_PEP_NAME_MAX ? name : "";
        cr_assert_eq(err.cond, ES_PEP_COND_OTHER);
        cr_assert_str_eq(err.name, want, "length %zu", len);
        cr_assert_str_eq(err.type, want);
        cr_assert_str_eq(err.app, want);
        cr_assert_str_eq(err.feature, want);
        free(resp);
    }
    esession_ctx_free(ctx);
}

/* ---- create and publish answers ---------------------------------------- */

static es_pep_request alice_req(esession_ctx *ctx, es_pep_kind kind)
{
    esession_buf out = {0};
    es_pep_request req;
    esession_status rc;
    if (kind == ES_PEP_CREATE)
        rc = es_pep_build_create(ctx, ES_PEP_NODE_SUBSCRIBERS, &out, &req);
    else if (kind == ES_PEP_PUBLISH)
        rc = es_pep_build_publish(ctx, ES_PEP_NODE_SUBSCRIBERS, escaped_form,
                                  strlen(escaped_form), &out, &req);
    else if (kind == ES_PEP_PUBLISH_EMPTY)
        rc = es_pep_build_publish_empty(ctx, ES_PEP_NODE_SUBSCRIBERS, &out, &req);
    else
        rc = es_pep_build_retract(ctx, ES_PEP_NODE_SUBSCRIBERS, &out, &req);
    cr_assert_eq(rc, ESESSION_OK);
    esession_buf_free(&out);
    return req;
}

static const es_pep_kind alice_kinds[] = {ES_PEP_CREATE, ES_PEP_PUBLISH, ES_PEP_PUBLISH_EMPTY,
                                          ES_PEP_RETRACT};
#define N_ALICE_KINDS (sizeof alice_kinds / sizeof alice_kinds[0])

static void ack_results(void)
{
    static const char *const ok[] = {
        /* ejabberd: from the account's bare JID */
        "<iq xml:lang='en' to='alice@example.org/pda' from='alice@example.org' type='result' "
        "id='@I@'/>",
        /* Prosody: no from */
        "<iq type='result' id='@I@' to='alice@example.org/pda'/>",
        /* echo of what was published */
        "<iq type='result' id='@I@'>" PUBSUB_OPEN "<publish node='@N@'><item id='current'/>"
        "</publish></pubsub></iq>",
        "<iq xmlns='jabber:client' type='result' id='@I@'>\n</iq>",
    };
    esession_ctx *ctx = fx_ctx_new();
    for (size_t k = 0; k < N_ALICE_KINDS; k++) {
        es_pep_request req = alice_req(ctx, alice_kinds[k]);
        for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
            char *resp = fill(ok[i], &req, "");
            es_pep_error err;
            memset(&err, 0x77, sizeof err);
            cr_assert_eq(es_pep_parse_ack(ctx, &req, resp, strlen(resp), &err), ESESSION_OK,
                         "%s (%s)", resp, esession_ctx_error_detail(ctx));
            cr_assert_eq(err.cond, ES_PEP_COND_NONE);
            cr_assert_str_eq(err.name, "");
            cr_assert_eq(es_pep_parse_ack(ctx, &req, resp, strlen(resp), NULL), ESESSION_OK);

            xmlDocPtr doc = NULL;
            cr_assert_eq(es_xml_parse(ctx, resp, strlen(resp), &doc), ESESSION_OK);
            cr_assert_eq(es_pep_check_ack(ctx, &req, xmlDocGetRootElement(doc), NULL),
                         ESESSION_OK);
            xmlFreeDoc(doc);
            free(resp);
        }
    }
    esession_ctx_free(ctx);
}

static void ack_errors_yield_their_condition(void)
{
    static const error_case cases[] = {
        /* create: the node exists already */
        {"<iq type='error' from='alice@example.org' id='@I@'>" PUBSUB_OPEN "<create node='@N@'/>"
         "</pubsub><error type='cancel'><conflict " STANZAS "/></error></iq>",
         ES_PEP_COND_CONFLICT, "conflict", "cancel", "", ""},
        /* ejabberd with <option>-wrapped configuration */
        {"<iq type='error' id='@I@'><error type='wait'><resource-constraint " STANZAS
         "/></error></iq>",
         ES_PEP_COND_RESOURCE_CONSTRAINT, "resource-constraint", "wait", "", ""},
        {"<iq type='error' id='@I@'><error type='modify'><bad-request " STANZAS
         "/><payload-required " PSERR "/></error></iq>",
         ES_PEP_COND_BAD_REQUEST, "bad-request", "modify", "payload-required", ""},
        {"<iq type='error' id='@I@'><error type='modify'><not-acceptable " STANZAS
         "/><unsupported-access-model " PSERR "/></error></iq>",
         ES_PEP_COND_NOT_ACCEPTABLE, "not-acceptable", "modify", "unsupported-access-model", ""},
        {"<iq type='error' id='@I@'><error type='auth'><forbidden " STANZAS "/></error></iq>",
         ES_PEP_COND_FORBIDDEN, "forbidden", "auth", "", ""},
        {"<iq type='error' id='@I@'><error type='cancel'><feature-not-implemented " STANZAS
         "/><unsupported " PSERR " feature='create-nodes'/></error></iq>",
         ES_PEP_COND_FEATURE_NOT_IMPLEMENTED, "feature-not-implemented", "cancel", "unsupported",
         "create-nodes"},
        {"<iq type='error' id='@I@'><error type='cancel'><service-unavailable " STANZAS
         "/></error></iq>",
         ES_PEP_COND_SERVICE_UNAVAILABLE, "service-unavailable", "cancel", "", ""},
    };
    esession_ctx *ctx = fx_ctx_new();
    for (size_t k = 0; k < N_ALICE_KINDS; k++) {
        es_pep_request req = alice_req(ctx, alice_kinds[k]);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            expect_error(&cases[i], &req, 0);
    }
    esession_ctx_free(ctx);
}

static void malformed_acks(void)
{
    static const char *const bad[] = {
        "<iq type='result' id='@I@x'/>",
        "<iq type='result'/>",
        "<iq type='get' id='@I@'/>",
        "<iq type='set' id='@I@'/>",
        "<iq id='@I@'/>",
        "<iq type='result' from='alice@example.org/pda' id='@I@'/>",
        "<iq type='result' from='' id='@I@'/>",
        "<iq type='error' from='mallory@example.org/x' id='@I@'><error type='cancel'>"
        "<conflict " STANZAS "/></error></iq>",
        "<message type='result' id='@I@'/>",
        "<iq xmlns='urn:other' type='result' id='@I@'/>",
        "<iq type='result' id='@I@'>",
        "not xml",
    };
    esession_ctx *ctx = fx_ctx_new();
    for (size_t k = 0; k < N_ALICE_KINDS; k++) {
        es_pep_request req = alice_req(ctx, alice_kinds[k]);
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            char *resp = fill(bad[i], &req, "");
            es_pep_error err, before;
            memset(&err, 0x77, sizeof err);
            before = err;
            cr_assert_eq(es_pep_parse_ack(ctx, &req, resp, strlen(resp), &err),
                         ESESSION_ERR_MALFORMED, "%s", resp);
            cr_assert_eq(memcmp(&err, &before, sizeof err), 0);
            free(resp);
        }
    }
    /* Wrong kind of request, missing arguments. */
    es_pep_request items = items_req(ctx, ES_PEP_NODE_OPEN);
    const char *resp = "<iq type='result' id='x'/>";
    cr_assert_eq(es_pep_parse_ack(ctx, &items, resp, strlen(resp), NULL),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_pep_parse_ack(ctx, NULL, resp, strlen(resp), NULL),
                 ESESSION_ERR_INVALID_ARGUMENT);
    es_pep_request req = alice_req(ctx, ES_PEP_CREATE);
    cr_assert_eq(es_pep_parse_ack(ctx, &req, NULL, 3, NULL), ESESSION_ERR_INVALID_ARGUMENT);
    req.kind = (es_pep_kind)0;
    cr_assert_eq(es_pep_parse_ack(ctx, &req, resp, strlen(resp), NULL),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_pep_check_ack(ctx, &items, NULL, NULL), ESESSION_ERR_INVALID_ARGUMENT);
    esession_ctx_free(ctx);
}

/* ---- grouped: each Test() costs a process start (slow under valgrind) */

Test(pep, names)
{
    node_names_and_access_models();
    condition_names_round_trip();
}

Test(pep, iq_ids)
{
    id_is_the_hex_of_16_random_octets();
    ids_are_unique_over_many_calls();
    failing_random_source_leaves_outputs_untouched();
}

Test(pep, create)
{
    create_subscribers_node();
    create_open_node();
    builders_reject_bad_arguments();
}

Test(pep, publish)
{
    publish_vector_forms_to_both_nodes();
    publish_keeps_escaped_payload();
    publish_empty_item();
    retract_item();
}

Test(pep, publish_rejections)
{
    publish_rejects_what_is_not_one_bare_data_form();
    publish_limits_size_and_depth_so_bob_can_parse_the_result();
}

Test(pep, items_request)
{
    items_request_for_both_nodes();
    items_request_escapes_the_jid();
    items_request_longest_jid();
    items_request_rejects_what_is_not_a_bare_jid();
}

Test(pep, items_result)
{
    items_result_yields_the_published_form();
    items_result_from_the_publish_we_built();
    items_result_for_an_escaped_jid();
}

Test(pep, items_rejections)
{
    no_options_is_told_apart();
    malformed_items_results();
    items_parsers_reject_bad_arguments();
}

Test(pep, items_errors)
{
    items_errors_yield_their_condition();
    error_names_are_kept_up_to_63_octets();
}

Test(pep, acks)
{
    ack_results();
    ack_errors_yield_their_condition();
    malformed_acks();
}

/* A form the library wrote: the same request as through the full check
 * (apart from its id), and only such a form's two ends are accepted. */
Test(pep, publish_of_a_built_form)
{
    static const char form[] = "<x xmlns='jabber:x:data' type='form'><field var='FORM_TYPE'>"
                               "<value>urn:xmpp:ssn</value></field></x>";
    esession_ctx *ctx = fx_ctx_new();
    esession_buf a = {0}, b = {0};
    es_pep_request ra, rb;
    cr_assert_eq(es_pep_build_publish(ctx, ES_PEP_NODE_SUBSCRIBERS, form, strlen(form), &a, &ra),
                 ESESSION_OK);
    cr_assert_eq(es_pep_build_publish_built(ctx, ES_PEP_NODE_SUBSCRIBERS, form, strlen(form), &b,
                                            &rb),
                 ESESSION_OK);
    cr_assert_eq(rb.kind, ES_PEP_PUBLISH);
    cr_assert_eq(a.len, b.len);
    char *expect = fmt("<item id='%s'>%s</item>", ES_PEP_ITEM_ID, form);
    cr_assert_not_null(strstr(b.data, expect));
    free(expect);
    esession_buf_free(&a);
    esession_buf_free(&b);
    static const char *const bad[] = {"<x xmlns='jabber:x:data'/>", "<y/>",
                                      "<x xmlns='jabber:x:data' type='form'></y>"};
    for (size_t i = 0; i < ES_ARRAY_LEN(bad); i++) {
        cr_assert_neq(es_pep_build_publish_built(ctx, ES_PEP_NODE_SUBSCRIBERS, bad[i],
                                                 strlen(bad[i]), &b, &rb),
                      ESESSION_OK, "%s", bad[i]);
        cr_assert_null(b.data);
    }
    esession_ctx_free(ctx);
}
