/* SPDX-License-Identifier: ISC */
/* Building Alice's options form (PROFILE §7, §11) and the text its
 * signatures cover; signing is session/options_sig.c's. */
#include "options.h"

#include "datetime.h"
#include "normalize.h"
#include "xml.h"
#include "../crypto/base64.h"

#include <libxml/tree.h>
#include <stdio.h>
#include <string.h>

const char *const es_options_list_fields[10] = {
    "otr", "disclosure", "security", "modp", "crypt_algs",
    "hash_algs", "sign_algs", "compress", "stanzas", "ver",
};

static const es_strlist *offer_list(const es_offer *o, size_t i)
{
    const es_strlist *lists[10] = {
        &o->otr, &o->disclosure, &o->security, &o->modp, &o->crypt_algs,
        &o->hash_algs, &o->sign_algs, &o->compress, &o->stanzas, &o->ver,
    };
    return lists[i];
}

static int list_has(const es_strlist *l, const char *v)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], v) == 0)
            return 1;
    return 0;
}

static esession_status check_offer(esession_ctx *ctx, const es_offer *o, size_t nonce_len,
                                   const esession_buf *dhkeys)
{
    for (size_t i = 0; i < ES_ARRAY_LEN(es_options_list_fields); i++) {
        const es_strlist *l = offer_list(o, i);
        if (l->n == 0 || l->n > ES_OPT_MAX_LIST || l->v == NULL)
            return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT,
                           "options: %s needs 1..%u values", es_options_list_fields[i],
                           ES_OPT_MAX_LIST);
        for (size_t j = 0; j < l->n; j++)
            if (l->v[j] == NULL || l->v[j][0] == '\0')
                return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "options: empty %s value",
                               es_options_list_fields[i]);
    }
    if (o->modp.n > ES_OPT_MAX_GROUPS || dhkeys == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "options: at most %u groups",
                       ES_OPT_MAX_GROUPS);
    for (size_t i = 0; i < o->modp.n; i++)
        if (dhkeys[i].data == NULL || dhkeys[i].len == 0)
            return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "options: missing dhkeys value");
    if (list_has(&o->stanzas, "iq"))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "options: offline stanzas exclude iq");
    if (o->match_resource != NULL &&
        (o->match_resource[0] == '\0' || o->stanzas.n != 1 ||
         strcmp(o->stanzas.v[0], "message") != 0))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT,
                       "options: match_resource needs stanzas = message only");
    if (o->rekey_freq == 0)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "options: rekey_freq must be >= 1");
    if (nonce_len < ES_OPT_NONCE_MIN || nonce_len > ES_OPT_NONCE_MAX)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "options: nonce must be 16..64 octets");
    return ESESSION_OK;
}

esession_status es_options_add_b64(esession_ctx *ctx, es_form_field *f, const uint8_t *v,
                                   size_t n)
{
    /* Published values (nonce, e, signatures): the table-driven encoder. */
    esession_buf b = {0};
    esession_status rc = es_buf_alloc(&b, es_base64_encoded_len(n), 0);
    if (rc == ESESSION_OK)
        es_base64_encode_public(b.data, v, n);
    if (rc == ESESSION_OK)
        rc = es_form_add_value(ctx, f, b.data);
    esession_buf_free(&b);
    return rc;
}

/* Every field but signs, in the order of XEP-0187 Listing 3. */
static esession_status build_unsigned(esession_ctx *ctx, const es_offer *o, const uint8_t *nonce,
                                      size_t nonce_len, const esession_buf *dhkeys, es_form *form)
{
    es_form_field *f = NULL;
    esession_status rc = es_form_add_field(ctx, form, "FORM_TYPE", ES_FIELD_HIDDEN, &f);
    if (rc == ESESSION_OK)
        rc = es_form_add_value(ctx, f, ES_SSN_FORM_TYPE);
    for (size_t i = 0; rc == ESESSION_OK && i < ES_ARRAY_LEN(es_options_list_fields); i++) {
        const es_strlist *l = offer_list(o, i);
        es_field_type t = strcmp(es_options_list_fields[i], "stanzas") == 0 ? ES_FIELD_LIST_MULTI
                                                                           : ES_FIELD_LIST_SINGLE;
        rc = es_form_add_field(ctx, form, es_options_list_fields[i], t, &f);
        for (size_t j = 0; rc == ESESSION_OK && j < l->n; j++)
            rc = es_form_add_option(ctx, f, l->v[j]);
    }
    char num[16], when[ES_DATETIME_LEN + 1];
    snprintf(num, sizeof num, "%lu", (unsigned long)o->rekey_freq);
    if (rc == ESESSION_OK)
        rc = es_form_add_field(ctx, form, "rekey_freq", ES_FIELD_TEXT_SINGLE, &f);
    if (rc == ESESSION_OK)
        rc = es_form_add_value(ctx, f, num);
    if (rc == ESESSION_OK && es_datetime_format(o->expires, when) != ESESSION_OK)
        rc = es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "options: expires out of range");
    if (rc == ESESSION_OK)
        rc = es_form_add_field(ctx, form, "expires", ES_FIELD_NONE, &f);
    if (rc == ESESSION_OK)
        rc = es_form_add_value(ctx, f, when);
    if (rc == ESESSION_OK)
        rc = es_form_add_field(ctx, form, "my_nonce", ES_FIELD_NONE, &f);
    if (rc == ESESSION_OK)
        rc = es_options_add_b64(ctx, f, nonce, nonce_len);
    if (rc == ESESSION_OK)
        rc = es_form_add_field(ctx, form, "dhkeys", ES_FIELD_NONE, &f);
    for (size_t i = 0; rc == ESESSION_OK && i < o->modp.n; i++)
        rc = es_options_add_b64(ctx, f, (const uint8_t *)dhkeys[i].data, dhkeys[i].len);
    if (rc == ESESSION_OK && o->match_resource != NULL) {
        rc = es_form_add_field(ctx, form, "match_resource", ES_FIELD_NONE, &f);
        if (rc == ESESSION_OK)
            rc = es_form_add_value(ctx, f, o->match_resource);
    }
    return rc;
}

esession_status es_options_signed_text(esession_ctx *ctx, const es_form *form, int built,
                                       esession_buf *out)
{
    static const char *const excluded[] = {"signs"};
    if (!built)
        return es_form_normalize_received(ctx, form, excluded, 1, out);
    /* As a receiver will see it once written and parsed. */
    return es_form_normalize_built(ctx, form, excluded, 1, out);
}

esession_status es_options_form_new(esession_ctx *ctx, const es_offer *offer,
                                    const uint8_t *nonce, size_t nonce_len,
                                    const esession_buf *dhkeys, es_form **out)
{
    if (offer == NULL || nonce == NULL || out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "es_options_form_new: NULL argument");
    esession_status rc = check_offer(ctx, offer, nonce_len, dhkeys);
    if (rc != ESESSION_OK)
        return rc;
    es_form *form = NULL;
    rc = es_form_new(ctx, ES_FORM_FORM, &form);
    if (rc == ESESSION_OK)
        rc = build_unsigned(ctx, offer, nonce, nonce_len, dhkeys, form);
    if (rc != ESESSION_OK) {
        es_form_free(form);
        return rc;
    }
    *out = form;
    return ESESSION_OK;
}
