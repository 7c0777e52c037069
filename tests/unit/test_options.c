/* SPDX-License-Identifier: ISC */
/* The signed options form: rebuilt from the public vectors byte for byte,
 * verified (RSA and DSA), and every rejection. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "../../crypto/dh.h"
#include "../../crypto/sig.h"
#include "../../forms/datetime.h"
#include "../../session/options_sig.h"
#include "../common/vecfile.h"
#include "fixture.h"

static const char *const session_files[] = {
    "vectors/esession/offline_session_rsa_modp14_aes128.json",
    "vectors/esession/offline_session_dsa_modp5_aes256_rekey.json",
    "vectors/esession/offline_session_match_resource_close.json",
    "vectors/esession/offline_session_single_stanza.json",
};


/* One vector group's Alice, as the builder takes it. */
typedef struct alice_in {
    json_t *root, *group, *expected;
    const char *lists[10][ES_OPT_MAX_LIST];
    es_offer offer;
    uint8_t *nonce;
    size_t nonce_len;
    esession_buf dhkeys[ES_OPT_MAX_GROUPS];
    esession_key *keys[4];
    size_t n_keys;
    int all_rsa;
} alice_in;

static void load_alice(esession_ctx *ctx, const char *path, alice_in *a)
{
    memset(a, 0, sizeof *a);
    json_error_t jerr;
    a->root = json_load_file(path, 0, &jerr);
    cr_assert_not_null(a->root, "%s: %s", path, jerr.text);
    a->group = json_array_get(json_object_get(a->root, "testGroups"), 0);
    a->expected = json_object_get(json_array_get(json_object_get(a->group, "tests"), 0), "expected");
    json_t *alice = json_object_get(a->group, "alice");
    json_t *opts = json_object_get(alice, "options");
    es_strlist *lists[10] = {
        &a->offer.otr, &a->offer.disclosure, &a->offer.security, &a->offer.modp,
        &a->offer.crypt_algs, &a->offer.hash_algs, &a->offer.sign_algs, &a->offer.compress,
        &a->offer.stanzas, &a->offer.ver,
    };
    for (size_t i = 0; i < 10; i++) {
        json_t *arr = json_object_get(opts, es_options_list_fields[i]);
        cr_assert(json_is_array(arr));
        lists[i]->n = json_array_size(arr);
        for (size_t j = 0; j < lists[i]->n; j++)
            a->lists[i][j] = json_string_value(json_array_get(arr, j));
        lists[i]->v = a->lists[i];
    }
    a->offer.rekey_freq = (uint32_t)strtoul(json_string_value(json_object_get(opts, "rekey_freq")), NULL, 10);
    const char *exp = json_string_value(json_object_get(opts, "expires"));
    cr_assert_eq(es_datetime_parse(exp, strlen(exp), &a->offer.expires, NULL), ESESSION_OK);
    a->offer.match_resource = json_string_value(json_object_get(opts, "match_resource"));
    a->nonce = vec_hex(json_string_value(json_object_get(alice, "nonce")), &a->nonce_len);
    cr_assert_not_null(a->nonce);
    json_t *x = json_object_get(alice, "x");
    for (size_t i = 0; i < a->offer.modp.n; i++) {
        size_t xl;
        uint8_t *xb = vec_hex(json_string_value(json_object_get(x, a->offer.modp.v[i])), &xl);
        es_dh *dh = NULL;
        cr_assert_eq(es_dh_from_private(ctx, &dh, atoi(a->offer.modp.v[i]), xb, xl), ESESSION_OK);
        cr_assert_eq(es_dh_public(dh, &a->dhkeys[i]), ESESSION_OK);
        es_dh_free(dh);
        free(xb);
    }
    json_t *keys = json_object_get(alice, "signKeys");
    a->all_rsa = 1;
    for (size_t i = 0; i < json_array_size(keys); i++) {
        const char *pem = json_string_value(json_object_get(json_array_get(keys, i), "privatePem"));
        cr_assert_eq(esession_key_from_pem(ctx, &a->keys[i], pem, strlen(pem)), ESESSION_OK);
        if (esession_key_get_type(a->keys[i]) != ESESSION_KEY_RSA)
            a->all_rsa = 0;
        a->n_keys++;
    }
}

static void free_alice(alice_in *a)
{
    for (size_t i = 0; i < ES_OPT_MAX_GROUPS; i++)
        esession_buf_free(&a->dhkeys[i]);
    for (size_t i = 0; i < a->n_keys; i++)
        esession_key_free(a->keys[i]);
    free(a->nonce);
    json_decref(a->root);
}

static const char *expected_str(const alice_in *a, const char *name)
{
    const char *s = json_string_value(json_object_get(a->expected, name));
    cr_assert_not_null(s, "vector lacks %s", name);
    return s;
}

static xmlDocPtr parse(esession_ctx *ctx, const char *text)
{
    xmlDocPtr doc = NULL;
    cr_assert_eq(es_xml_parse(ctx, text, strlen(text), &doc), ESESSION_OK, "%s",
                 esession_ctx_error_detail(ctx));
    return doc;
}

static void normalized(esession_ctx *ctx, const char *text, esession_buf *out)
{
    static const char *const excl[] = {"signs"};
    xmlDocPtr doc = parse(ctx, text);
    cr_assert_eq(es_form_normalize(ctx, xmlDocGetRootElement(doc), excl, 1, out), ESESSION_OK);
    xmlFreeDoc(doc);
}

Test(options, rebuilt_from_every_vector)
{
    esession_ctx *ctx = fx_ctx_new();
    for (size_t f = 0; f < ES_ARRAY_LEN(session_files); f++) {
        alice_in a;
        load_alice(ctx, session_files[f], &a);

        /* e values */
        json_t *e = json_object_get(a.expected, "e");
        for (size_t i = 0; i < a.offer.modp.n; i++) {
            size_t el;
            uint8_t *eb = vec_hex(json_string_value(json_object_get(e, a.offer.modp.v[i])), &el);
            cr_assert_eq(el, a.dhkeys[i].len, "%s: e length", session_files[f]);
            cr_assert_eq(memcmp(eb, a.dhkeys[i].data, el), 0, "%s: e", session_files[f]);
            free(eb);
        }

        esession_buf form = {0}, norm = {0};
        cr_assert_eq(es_options_build(ctx, &a.offer, a.nonce, a.nonce_len, a.dhkeys,
                                      (const esession_key *const *)a.keys, a.n_keys, &form),
                     ESESSION_OK, "%s: %s", session_files[f], esession_ctx_error_detail(ctx));
        normalized(ctx, form.data, &norm);
        cr_assert_str_eq(norm.data, expected_str(&a, "optionsFormNormalized"), "%s", session_files[f]);
        /* RSA signatures are deterministic: the whole form matches. */
        if (a.all_rsa)
            cr_assert_str_eq(form.data, expected_str(&a, "optionsFormXml"), "%s", session_files[f]);

        /* Our signs values: RSA ones equal signsB64, every one verifies. */
        xmlDocPtr doc = parse(ctx, form.data);
        es_form *parsed = NULL;
        cr_assert_eq(es_form_parse(ctx, xmlDocGetRootElement(doc), &parsed), ESESSION_OK);
        const es_form_field *signs = es_form_find(parsed, "signs");
        cr_assert_not_null(signs);
        cr_assert_eq(signs->n_values, a.n_keys);
        json_t *want = json_object_get(a.expected, "signsB64");
        for (size_t k = 0; k < a.n_keys; k++) {
            if (esession_key_get_type(a.keys[k]) == ESESSION_KEY_RSA)
                cr_assert_str_eq(signs->values[k], json_string_value(json_array_get(want, k)));
            es_options *opt = NULL;
            const esession_key *one[1] = {a.keys[k]};
            cr_assert_eq(es_options_check(ctx, xmlDocGetRootElement(doc), one, 1, 0, &opt),
                         ESESSION_OK, "%s key %zu: %s", session_files[f], k,
                         esession_ctx_error_detail(ctx));
            es_options_free(opt);
        }
        /* What the signatures cover: the same text from the unsigned form
         * as built and from the signed form as received, the vector's. */
        es_form *unsigned_form = NULL;
        esession_buf built = {0}, received = {0};
        cr_assert_eq(es_options_form_new(ctx, &a.offer, a.nonce, a.nonce_len, a.dhkeys,
                                         &unsigned_form),
                     ESESSION_OK);
        cr_assert_null(es_form_find(unsigned_form, "signs"));
        cr_assert_eq(es_options_signed_text(ctx, unsigned_form, 1, &built), ESESSION_OK);
        cr_assert_eq(es_options_signed_text(ctx, parsed, 0, &received), ESESSION_OK);
        cr_assert_str_eq(built.data, received.data, "%s", session_files[f]);
        cr_assert_str_eq(built.data, expected_str(&a, "optionsFormNormalized"), "%s", session_files[f]);
        esession_buf_free(&built);
        esession_buf_free(&received);
        es_form_free(unsigned_form);
        es_form_free(parsed);
        xmlFreeDoc(doc);
        esession_buf_free(&form);
        esession_buf_free(&norm);
        free_alice(&a);
    }
    esession_ctx_free(ctx);
}

/* The published form of each vector verifies here, whichever key signed. */
Test(options, published_vectors_verify)
{
    esession_ctx *ctx = fx_ctx_new();
    for (size_t f = 0; f < ES_ARRAY_LEN(session_files); f++) {
        alice_in a;
        load_alice(ctx, session_files[f], &a);
        xmlDocPtr doc = parse(ctx, expected_str(&a, "optionsFormXml"));
        for (size_t k = 0; k < a.n_keys; k++) {
            esession_buf pem = {0};
            esession_key *pub = NULL;
            cr_assert_eq(esession_key_to_pem(ctx, a.keys[k], 0, &pem), ESESSION_OK);
            cr_assert_eq(esession_key_from_pem(ctx, &pub, pem.data, pem.len), ESESSION_OK);
            const esession_key *trusted[1] = {pub};
            es_options *opt = NULL;
            cr_assert_eq(es_options_check(ctx, xmlDocGetRootElement(doc), trusted, 1,
                                          a.offer.expires, &opt), ESESSION_OK, "%s: %s",
                         session_files[f], esession_ctx_error_detail(ctx));
            cr_assert_eq(opt->signer, 0);
            cr_assert_eq(opt->nonce_len, a.nonce_len);
            cr_assert_eq(memcmp(opt->nonce, a.nonce, a.nonce_len), 0);
            cr_assert_eq(opt->offer.rekey_freq, a.offer.rekey_freq);
            cr_assert_eq(opt->offer.expires, a.offer.expires);
            cr_assert_eq(opt->n_dhkeys, a.offer.modp.n);
            for (size_t i = 0; i < opt->n_dhkeys; i++) {
                cr_assert_eq(opt->dhkey_len[i], a.dhkeys[i].len);
                cr_assert_eq(memcmp(opt->dhkeys[i], a.dhkeys[i].data, a.dhkeys[i].len), 0);
            }
            cr_assert_eq(opt->offer.modp.n, a.offer.modp.n);
            cr_assert_str_eq(opt->offer.modp.v[0], a.offer.modp.v[0]);
            if (a.offer.match_resource)
                cr_assert_str_eq(opt->offer.match_resource, a.offer.match_resource);
            else
                cr_assert_null(opt->offer.match_resource);
            es_options_free(opt);

            /* Expiry: now == expires is fine, one second later is not. */
            cr_assert_eq(es_options_check(ctx, xmlDocGetRootElement(doc), trusted, 1,
                                          a.offer.expires + 1, &opt), ESESSION_ERR_EXPIRED);
            esession_key_free(pub);
            esession_buf_free(&pem);
        }
        xmlFreeDoc(doc);
        free_alice(&a);
    }
    esession_ctx_free(ctx);
}

/* Replace the first occurrence of `from` in text (which must contain it). */
static char *edit(const char *text, const char *from, const char *to)
{
    const char *p = strstr(text, from);
    cr_assert_not_null(p, "edit: '%s' not found", from);
    size_t n = strlen(text) - strlen(from) + strlen(to);
    char *out = malloc(n + 1);
    size_t head = (size_t)(p - text);
    memcpy(out, text, head);
    strcpy(out + head, to);
    strcat(out, p + strlen(from));
    return out;
}

static esession_status check_text(esession_ctx *ctx, const char *text, const esession_key *key,
                                  int64_t now)
{
    xmlDocPtr doc = parse(ctx, text);
    const esession_key *trusted[1] = {key};
    es_options *opt = NULL;
    esession_status rc = es_options_check(ctx, xmlDocGetRootElement(doc), trusted,
                                          key ? 1 : 0, now, &opt);
    if (rc == ESESSION_OK)
        cr_assert_not_null(opt);
    else
        cr_assert_null(opt);
    es_options_free(opt);
    xmlFreeDoc(doc);
    return rc;
}

Test(options, rejections)
{
    esession_ctx *ctx = fx_ctx_new();
    alice_in a;
    load_alice(ctx, session_files[0], &a);
    const char *form = expected_str(&a, "optionsFormXml");
    int64_t now = a.offer.expires - 3600;
    cr_assert_eq(check_text(ctx, form, a.keys[0], now), ESESSION_OK);

    struct { const char *from, *to, *why; esession_status want; } cases[] = {
        {"<field var='expires'>", "<field var='expired'>", "missing expires", ESESSION_ERR_MALFORMED},
        {"<field type='list-single' var='otr'>", "<field type='list-single' var='ver'>",
         "duplicated field", ESESSION_ERR_MALFORMED},
        {"type='form'", "type='submit'", "not a form", ESESSION_ERR_MALFORMED},
        {"urn:xmpp:ssn", "urn:xmpp:ssn2", "FORM_TYPE", ESESSION_ERR_MALFORMED},
        {"<option><value>message</value></option>",
         "<option><value>message</value></option><option><value>iq</value></option>",
         "iq in stanzas", ESESSION_ERR_MALFORMED},
        {"<field var='dhkeys'><value>", "<field var='dhkeys'><value>AAAA</value><value>",
         "dhkeys count", ESESSION_ERR_MALFORMED},
        {"<field var='dhkeys'><value>", "<field var='dhkeys'><value>AA", "non-minimal mpint",
         ESESSION_ERR_MALFORMED},
        {"<field var='dhkeys'><value>", "<field var='dhkeys'><value>!", "dhkeys base64",
         ESESSION_ERR_MALFORMED},
        {"<field var='my_nonce'><value>", "<field var='my_nonce'><value>*", "nonce base64",
         ESESSION_ERR_MALFORMED},
        {"<field var='signs'><value>", "<field var='signs'><value>%", "signs base64",
         ESESSION_ERR_MALFORMED},
        {"<value>1</value></field>\n  <field var='expires'>",
         "<value>0</value></field>\n  <field var='expires'>", "rekey_freq 0", ESESSION_ERR_MALFORMED},
        {"<value>1</value></field>\n  <field var='expires'>",
         "<value>4294967296</value></field>\n  <field var='expires'>", "rekey_freq 2^32",
         ESESSION_ERR_MALFORMED},
        {"<value>1</value></field>\n  <field var='expires'>",
         "<value>1x</value></field>\n  <field var='expires'>", "rekey_freq text", ESESSION_ERR_MALFORMED},
        {"2026-12-01T00:00:00Z", "2026-02-30T00:00:00Z", "impossible date", ESESSION_ERR_MALFORMED},
        {"<field var='signs'>", "<field var='accept'><value>1</value></field><field var='signs'>",
         "accept field", ESESSION_ERR_MALFORMED},
        {"<field var='signs'>", "<field var='match_resource'><value>pda</value></field><field var='signs'>",
         "match_resource is authenticated", ESESSION_ERR_BAD_SIGNATURE},
        {"<option><value>never</value></option>", "<option><value>always</value></option>",
         "tampered value", ESESSION_ERR_BAD_SIGNATURE},
        {"<value>2026-12-01T00:00:00Z</value>", "<value>2027-12-01T00:00:00Z</value>",
         "extended expiry", ESESSION_ERR_BAD_SIGNATURE},
        {"<field type='list-single' var='otr'>", "<field type='list-multi' var='otr'>",
         "field type is signed", ESESSION_ERR_BAD_SIGNATURE},
    };
    for (size_t i = 0; i < ES_ARRAY_LEN(cases); i++) {
        char *t = edit(form, cases[i].from, cases[i].to);
        esession_status rc = check_text(ctx, t, a.keys[0], now);
        cr_assert_eq(rc, cases[i].want, "%s: got %s (%s)", cases[i].why, esession_status_name(rc),
                     esession_ctx_error_detail(ctx));
        free(t);
    }

    /* Short nonce: 15 octets. */
    char *t = edit(form, "<field var='my_nonce'><value>", "<field var='my_nonce'><value>AAAAAAAAAAAAAAAAAAAA</value></field><field var='x'><value>");
    cr_assert_eq(check_text(ctx, t, a.keys[0], now), ESESSION_ERR_MALFORMED);
    free(t);

    /* No trusted key at all; a trusted key that did not sign. */
    cr_assert_eq(check_text(ctx, form, NULL, now), ESESSION_ERR_UNTRUSTED_KEY);
    esession_key *other = NULL;
    char *pem = vec_read_file("tests/data/rsa2048_pub.pem", NULL);
    cr_assert_eq(esession_key_from_pem(ctx, &other, pem, strlen(pem)), ESESSION_OK);
    cr_assert_eq(check_text(ctx, form, other, now), ESESSION_ERR_BAD_SIGNATURE);
    esession_key_free(other);
    free(pem);

    /* Expired, after the signature checks out. */
    cr_assert_eq(check_text(ctx, form, a.keys[0], a.offer.expires + 1), ESESSION_ERR_EXPIRED);
    cr_assert_eq(check_text(ctx, form, a.keys[0], a.offer.expires), ESESSION_OK);
    free_alice(&a);
    esession_ctx_free(ctx);
}

Test(options, build_refuses_bad_offers)
{
    esession_ctx *ctx = fx_ctx_new();
    alice_in a;
    load_alice(ctx, session_files[0], &a);
    esession_buf out = {0};
    const esession_key *const *keys = (const esession_key *const *)a.keys;
    es_offer o;
    static const char *const iq[] = {"message", "iq"};
    static const char *const empty[] = {""};

    o = a.offer; o.stanzas.v = iq; o.stanzas.n = 2;
    cr_assert_eq(es_options_build(ctx, &o, a.nonce, a.nonce_len, a.dhkeys, keys, a.n_keys, &out),
                 ESESSION_ERR_INVALID_ARGUMENT);
    o = a.offer; o.otr.n = 0;
    cr_assert_eq(es_options_build(ctx, &o, a.nonce, a.nonce_len, a.dhkeys, keys, a.n_keys, &out),
                 ESESSION_ERR_INVALID_ARGUMENT);
    o = a.offer; o.otr.v = empty; o.otr.n = 1;
    cr_assert_eq(es_options_build(ctx, &o, a.nonce, a.nonce_len, a.dhkeys, keys, a.n_keys, &out),
                 ESESSION_ERR_INVALID_ARGUMENT);
    o = a.offer; o.rekey_freq = 0;
    cr_assert_eq(es_options_build(ctx, &o, a.nonce, a.nonce_len, a.dhkeys, keys, a.n_keys, &out),
                 ESESSION_ERR_INVALID_ARGUMENT);
    o = a.offer; o.match_resource = "pda"; o.stanzas.v = iq; o.stanzas.n = 1;
    cr_assert_eq(es_options_build(ctx, &o, a.nonce, a.nonce_len, a.dhkeys, keys, a.n_keys, &out),
                 ESESSION_OK);
    esession_buf_free(&out);
    cr_assert_eq(es_options_build(ctx, &a.offer, a.nonce, 15, a.dhkeys, keys, a.n_keys, &out),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(es_options_build(ctx, &a.offer, a.nonce, a.nonce_len, a.dhkeys, keys, 0, &out),
                 ESESSION_ERR_INVALID_ARGUMENT);

    /* A public-only key cannot sign. */
    esession_buf pem = {0};
    esession_key *pub = NULL;
    cr_assert_eq(esession_key_to_pem(ctx, a.keys[0], 0, &pem), ESESSION_OK);
    cr_assert_eq(esession_key_from_pem(ctx, &pub, pem.data, pem.len), ESESSION_OK);
    const esession_key *pubs[1] = {pub};
    cr_assert_eq(es_options_build(ctx, &a.offer, a.nonce, a.nonce_len, a.dhkeys, pubs, 1, &out),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_null(out.data);
    esession_key_free(pub);
    esession_buf_free(&pem);
    free_alice(&a);
    esession_ctx_free(ctx);
}
