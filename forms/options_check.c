/* SPDX-License-Identifier: ISC */
/* Reading a received options form (XEP-0187 §3.2, PROFILE §7, §11): its
 * structure. Signatures and expiry are checked in session/options_sig.c. */
#include "options.h"

#include "datetime.h"
#include "../crypto/base64.h"

#include <stdlib.h>
#include <string.h>

static esession_status bad(esession_ctx *ctx, const char *what)
{
    return es_fail(ctx, ESESSION_ERR_MALFORMED, "options form: %s", what);
}

static es_strlist *opt_list(es_offer *o, size_t i)
{
    es_strlist *lists[10] = {
        &o->otr, &o->disclosure, &o->security, &o->modp, &o->crypt_algs,
        &o->hash_algs, &o->sign_algs, &o->compress, &o->stanzas, &o->ver,
    };
    return lists[i];
}

/* A list field offers its values as <option>s and has no bare value. */
static esession_status read_lists(esession_ctx *ctx, const es_form *form, es_offer *o)
{
    for (size_t i = 0; i < ES_ARRAY_LEN(es_options_list_fields); i++) {
        const es_form_field *f = NULL;
        esession_status rc = es_form_get(ctx, form, es_options_list_fields[i], &f);
        if (rc != ESESSION_OK)
            return rc;
        if (f->n_options == 0 || f->n_options > ES_OPT_MAX_LIST || f->n_values != 0)
            return es_fail(ctx, ESESSION_ERR_MALFORMED,
                           "options form: %s must offer 1..%u options", f->var, ES_OPT_MAX_LIST);
        es_strlist *l = opt_list(o, i);
        l->n = f->n_options;
        l->v = (const char *const *)f->options;
    }
    for (size_t i = 0; i < o->stanzas.n; i++)
        if (strcmp(o->stanzas.v[i], "iq") == 0)
            return bad(ctx, "stanzas offers iq");
    return ESESSION_OK;
}

static esession_status read_u32(esession_ctx *ctx, const char *s, uint32_t *out)
{
    uint64_t v = 0;
    if (*s == '\0' || strlen(s) > 10)
        return bad(ctx, "rekey_freq is not an integer in 1..2^32-1");
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return bad(ctx, "rekey_freq is not an integer in 1..2^32-1");
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v == 0 || v > UINT32_MAX)
        return bad(ctx, "rekey_freq is not an integer in 1..2^32-1");
    *out = (uint32_t)v;
    return ESESSION_OK;
}

static esession_status read_scalars(esession_ctx *ctx, const es_form *form, es_options *opt)
{
    const char *v = NULL;
    esession_status rc = es_form_value(ctx, form, "FORM_TYPE", &v);
    if (rc != ESESSION_OK)
        return rc;
    if (strcmp(v, ES_SSN_FORM_TYPE) != 0)
        return bad(ctx, "FORM_TYPE is not urn:xmpp:ssn");
    static const char *const forbidden[] = {"accept", "init_pubkey", "resp_pubkey"};
    for (size_t i = 0; i < ES_ARRAY_LEN(forbidden); i++)
        if (es_form_find(form, forbidden[i]) != NULL)
            return es_fail(ctx, ESESSION_ERR_MALFORMED, "options form: unexpected field %s",
                           forbidden[i]);

    if ((rc = es_form_value(ctx, form, "rekey_freq", &v)) != ESESSION_OK ||
        (rc = read_u32(ctx, v, &opt->offer.rekey_freq)) != ESESSION_OK)
        return rc;
    if ((rc = es_form_value(ctx, form, "expires", &v)) != ESESSION_OK)
        return rc;
    if (es_datetime_parse(v, strlen(v), &opt->offer.expires, NULL) != ESESSION_OK)
        return bad(ctx, "expires is not a date-time");

    if ((rc = es_form_value(ctx, form, "my_nonce", &v)) != ESESSION_OK)
        return rc;
    uint8_t nonce[ES_OPT_NONCE_MAX + 3];
    size_t n = 0;
    if (strlen(v) > 4 * (ES_OPT_NONCE_MAX / 3 + 1) + 64 ||
        es_base64_decode_public(nonce, sizeof nonce, &n, v, strlen(v)) != ESESSION_OK ||
        n < ES_OPT_NONCE_MIN || n > ES_OPT_NONCE_MAX)
        return bad(ctx, "my_nonce is not base64 of 16..64 octets");
    memcpy(opt->nonce, nonce, n);
    opt->nonce_len = n;

    const es_form_field *mr = es_form_find(form, "match_resource");
    if (mr != NULL) {
        if (mr->n_values != 1 || mr->values[0][0] == '\0')
            return bad(ctx, "match_resource needs one value");
        if (opt->offer.stanzas.n != 1 || strcmp(opt->offer.stanzas.v[0], "message") != 0)
            return bad(ctx, "match_resource allows only message stanzas");
        opt->offer.match_resource = mr->values[0];
    }
    return ESESSION_OK;
}

static esession_status read_dhkeys(esession_ctx *ctx, const es_form *form, es_options *opt)
{
    const es_form_field *f = NULL;
    esession_status rc = es_form_get(ctx, form, "dhkeys", &f);
    if (rc != ESESSION_OK)
        return rc;
    if (f->n_values != opt->offer.modp.n || f->n_options != 0)
        return bad(ctx, "dhkeys must have one value per modp option");
    if (f->n_values > ES_OPT_MAX_GROUPS)
        return bad(ctx, "too many groups");
    for (size_t i = 0; i < f->n_values; i++) {
        size_t len = strlen(f->values[i]), n = 0;
        uint8_t *b = malloc(es_base64_decoded_max(len) + 1);
        if (b == NULL)
            return ESESSION_ERR_NO_MEMORY;
        if (es_base64_decode_public(b, es_base64_decoded_max(len) + 1, &n, f->values[i], len) !=
                ESESSION_OK ||
            (n > 0 && b[0] == 0)) {
            free(b);
            return bad(ctx, "a dhkeys value is not base64 of a minimal mpint");
        }
        opt->dhkeys[i] = b;
        opt->dhkey_len[i] = n;
        opt->n_dhkeys = i + 1;
    }
    return ESESSION_OK;
}

esession_status es_options_read(esession_ctx *ctx, const xmlNode *x, es_options **out)
{
    if (x == NULL || out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "es_options_read: NULL argument");
    es_options *opt = calloc(1, sizeof *opt);
    if (opt == NULL)
        return ESESSION_ERR_NO_MEMORY;
    esession_status rc = es_form_parse(ctx, x, &opt->form);
    if (rc == ESESSION_OK && opt->form->type != ES_FORM_FORM)
        rc = bad(ctx, "not of type 'form'");
    if (rc == ESESSION_OK)
        rc = read_lists(ctx, opt->form, &opt->offer);
    if (rc == ESESSION_OK)
        rc = read_scalars(ctx, opt->form, opt);
    if (rc == ESESSION_OK)
        rc = read_dhkeys(ctx, opt->form, opt);
    if (rc != ESESSION_OK) {
        es_options_free(opt);
        return rc;
    }
    *out = opt;
    return ESESSION_OK;
}

void es_options_free(es_options *opt)
{
    if (opt == NULL)
        return;
    for (size_t i = 0; i < opt->n_dhkeys; i++)
        free(opt->dhkeys[i]);
    es_form_free(opt->form);
    sodium_memzero(opt, sizeof *opt);
    free(opt);
}
