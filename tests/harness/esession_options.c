/* SPDX-License-Identifier: ISC */
/* OfflineSession vectors, step (1) of VECTORS.md: rebuild Alice's options
 * form from `alice` and check optionsFormNormalized, e and (RSA) signsB64;
 * and verify the published optionsFormXml under each of Alice's keys
 * (DSA included) with the receiver's checks. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include "json_util.h"
#include "../../crypto/dh.h"
#include "../../crypto/sig.h"
#include "../../forms/datetime.h"
#include "../../session/options_sig.h"

typedef struct opt_alice {
    const char *lists[10][ES_OPT_MAX_LIST];
    es_offer offer;
    uint8_t *nonce;
    size_t nonce_len;
    esession_buf e[ES_OPT_MAX_GROUPS];
    esession_key *keys[8];
    size_t n_keys;
} opt_alice;

static void alice_free(opt_alice *a)
{
    for (size_t i = 0; i < ES_OPT_MAX_GROUPS; i++)
        esession_buf_free(&a->e[i]);
    for (size_t i = 0; i < a->n_keys; i++)
        esession_key_free(a->keys[i]);
    free(a->nonce);
}

/* Read `alice` of a group; returns NULL on success or the reason. */
static const char *alice_load(esession_ctx *ctx, json_t *group, opt_alice *a)
{
    memset(a, 0, sizeof *a);
    json_t *al = ju_object(group, "alice");
    json_t *opts = al ? ju_object(al, "options") : NULL;
    if (opts == NULL)
        return "no alice.options";
    es_strlist *lists[10] = {
        &a->offer.otr, &a->offer.disclosure, &a->offer.security, &a->offer.modp,
        &a->offer.crypt_algs, &a->offer.hash_algs, &a->offer.sign_algs, &a->offer.compress,
        &a->offer.stanzas, &a->offer.ver,
    };
    for (size_t i = 0; i < 10; i++) {
        json_t *arr = ju_array(opts, es_options_list_fields[i]);
        if (arr == NULL || json_array_size(arr) > ES_OPT_MAX_LIST)
            return "bad option list";
        lists[i]->n = json_array_size(arr);
        for (size_t j = 0; j < lists[i]->n; j++)
            if ((a->lists[i][j] = json_string_value(json_array_get(arr, j))) == NULL)
                return "non-string option";
        lists[i]->v = a->lists[i];
    }
    const char *freq = ju_string(opts, "rekey_freq"), *exp = ju_string(opts, "expires");
    if (freq == NULL || exp == NULL || es_datetime_parse(exp, strlen(exp), &a->offer.expires, NULL))
        return "bad rekey_freq or expires";
    a->offer.rekey_freq = (uint32_t)strtoul(freq, NULL, 10);
    a->offer.match_resource = ju_string(opts, "match_resource");
    if ((a->nonce = ju_hex(al, "nonce", &a->nonce_len)) == NULL)
        return "bad alice.nonce";
    json_t *x = ju_object(al, "x");
    if (x == NULL || a->offer.modp.n > ES_OPT_MAX_GROUPS)
        return "bad alice.x";
    for (size_t i = 0; i < a->offer.modp.n; i++) {
        size_t xl;
        uint8_t *xb = ju_hex(x, a->offer.modp.v[i], &xl);
        es_dh *dh = NULL;
        esession_status st = xb ? es_dh_from_private(ctx, &dh, atoi(a->offer.modp.v[i]), xb, xl)
                                : ESESSION_ERR_MALFORMED;
        if (xb != NULL) {
            sodium_memzero(xb, xl);
            free(xb);
        }
        if (st == ESESSION_OK)
            st = es_dh_public(dh, &a->e[i]);
        es_dh_free(dh);
        if (st != ESESSION_OK)
            return "cannot load an x";
    }
    json_t *keys = ju_array(al, "signKeys");
    if (keys == NULL || json_array_size(keys) > 8)
        return "bad alice.signKeys";
    for (size_t i = 0; i < json_array_size(keys); i++) {
        const char *pem = ju_string(json_array_get(keys, i), "privatePem");
        if (pem == NULL ||
            esession_key_from_pem(ctx, &a->keys[a->n_keys], pem, strlen(pem)) != ESESSION_OK)
            return "cannot load a signing key";
        a->n_keys++;
    }
    return NULL;
}

static int normalized(esession_ctx *ctx, const char *text, esession_buf *out)
{
    static const char *const excluded[] = {"signs"};
    xmlDocPtr doc = NULL;
    int ok = es_xml_parse(ctx, text, strlen(text), &doc) == ESESSION_OK &&
             es_form_normalize(ctx, xmlDocGetRootElement(doc), excluded, 1, out) == ESESSION_OK;
    xmlFreeDoc(doc);
    return ok;
}

/* Rebuild the form; compare e, the normalized text and RSA signatures. */
static const char *check_rebuilt(esession_ctx *ctx, const opt_alice *a, json_t *expected)
{
    json_t *e = ju_object(expected, "e");
    for (size_t i = 0; i < a->offer.modp.n; i++) {
        size_t el;
        uint8_t *eb = e ? ju_hex(e, a->offer.modp.v[i], &el) : NULL;
        int same = eb != NULL && el == a->e[i].len && memcmp(eb, a->e[i].data, el) == 0;
        free(eb);
        if (!same)
            return "e differs";
    }
    esession_buf form = {0}, norm = {0};
    const char *why = NULL;
    if (es_options_build(ctx, &a->offer, a->nonce, a->nonce_len, a->e,
                         (const esession_key *const *)a->keys, a->n_keys, &form) != ESESSION_OK)
        why = "the form could not be built";
    else if (!normalized(ctx, form.data, &norm))
        why = "the built form does not normalize";
    else if (ju_string(expected, "optionsFormNormalized") == NULL ||
             strcmp(norm.data, ju_string(expected, "optionsFormNormalized")) != 0)
        why = "optionsFormNormalized differs";
    json_t *signs = ju_array(expected, "signsB64");
    for (size_t k = 0; why == NULL && k < a->n_keys; k++) {
        if (esession_key_get_type(a->keys[k]) != ESESSION_KEY_RSA)
            continue; /* DSA signatures are randomized */
        const char *want = json_string_value(json_array_get(signs, k));
        if (want == NULL || strstr(form.data, want) == NULL)
            why = "an RSA signs value differs";
    }
    esession_buf_free(&form);
    esession_buf_free(&norm);
    return why;
}

/* The published form verifies under each of Alice's public keys. */
static const char *check_published(esession_ctx *ctx, const opt_alice *a, json_t *expected)
{
    const char *text = ju_string(expected, "optionsFormXml");
    xmlDocPtr doc = NULL;
    if (text == NULL || es_xml_parse(ctx, text, strlen(text), &doc) != ESESSION_OK)
        return "optionsFormXml does not parse";
    const char *why = NULL;
    for (size_t k = 0; why == NULL && k < a->n_keys; k++) {
        esession_buf pem = {0};
        esession_key *pub = NULL;
        es_options *opt = NULL;
        if (esession_key_to_pem(ctx, a->keys[k], 0, &pem) != ESESSION_OK ||
            esession_key_from_pem(ctx, &pub, pem.data, pem.len) != ESESSION_OK)
            why = "cannot take a public key";
        const esession_key *trusted[1] = {pub};
        if (why == NULL && es_options_check(ctx, xmlDocGetRootElement(doc), trusted, 1,
                                            a->offer.expires, &opt) != ESESSION_OK)
            why = esession_key_get_type(pub) == ESESSION_KEY_RSA
                      ? "the published form does not verify (RSA key)"
                      : "the published form does not verify (DSA key)";
        es_options_free(opt);
        esession_key_free(pub);
        esession_buf_free(&pem);
    }
    xmlFreeDoc(doc);
    return why;
}

void hv_esession_options(hv_report *r, json_t *group, size_t gi)
{
    json_t *tests = ju_array(group, "tests");
    opt_alice a;
    const char *load = alice_load(r->ctx, group, &a);
    size_t ti;
    json_t *test;
    json_array_foreach(tests, ti, test) {
        char id[HV_ID_MAX];
        long long tc = -1;
        (void)ju_integer(test, "tcId", &tc);
        json_t *expected = ju_object(test, "expected");
        snprintf(id, sizeof id, "group %zu tcId %lld options form", gi, tc);
        const char *why = load;
        if (why == NULL && expected == NULL)
            why = "no expected object";
        if (why == NULL)
            why = check_rebuilt(r->ctx, &a, expected);
        if (why == NULL)
            why = check_published(r->ctx, &a, expected);
        if (why == NULL)
            hv_pass(r, id);
        else
            hv_fail(r, id, "%s", why);
    }
    alice_free(&a);
}
