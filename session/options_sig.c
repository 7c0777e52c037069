/* SPDX-License-Identifier: ISC */
/* Signing Alice's options form and verifying a received one: signatures
 * over the normalized form (PROFILE §7), then expiry (XEP-0187 §3.2). */
#include "options_sig.h"

#include "../crypto/base64.h"

#include <string.h>

static esession_status check_keys(esession_ctx *ctx, const esession_key *const *keys,
                                  size_t n_keys)
{
    if (n_keys == 0 || keys == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "options: no signing key");
    for (size_t i = 0; i < n_keys; i++)
        if (keys[i] == NULL || !keys[i]->has_private)
            return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT,
                           "options: signing key %zu has no private part", i);
    return ESESSION_OK;
}

esession_status es_options_build(esession_ctx *ctx, const es_offer *offer,
                                 const uint8_t *nonce, size_t nonce_len,
                                 const esession_buf *dhkeys, const esession_key *const *keys,
                                 size_t n_keys, esession_buf *out)
{
    es_form *form = NULL;
    esession_buf norm = {0};
    es_form_field *signs = NULL;
    uint8_t sig[ES_SIG_MAX_BYTES];
    size_t siglen = 0;

    if (out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "es_options_build: NULL argument");
    esession_status rc = es_options_form_new(ctx, offer, nonce, nonce_len, dhkeys, &form);
    if (rc == ESESSION_OK)
        rc = check_keys(ctx, keys, n_keys);
    if (rc == ESESSION_OK)
        rc = es_options_signed_text(ctx, form, 1, &norm);
    if (rc == ESESSION_OK)
        rc = es_form_add_field(ctx, form, "signs", ES_FIELD_NONE, &signs);
    for (size_t i = 0; rc == ESESSION_OK && i < n_keys; i++) {
        rc = es_sign(ctx, keys[i], (const uint8_t *)norm.data, norm.len, sig, &siglen);
        if (rc == ESESSION_OK)
            rc = es_options_add_b64(ctx, signs, sig, siglen);
    }
    if (rc == ESESSION_OK)
        rc = es_form_serialize(ctx, form, "", out);
    esession_buf_free(&norm);
    es_form_free(form);
    return rc;
}

static esession_status malformed(esession_ctx *ctx, const char *what)
{
    return es_fail(ctx, ESESSION_ERR_MALFORMED, "options form: %s", what);
}

/* Any signs value verifying under any trusted key accepts the form. */
static esession_status check_signatures(esession_ctx *ctx, const es_form *form,
                                        const esession_key *const *trusted, size_t n_trusted,
                                        es_options *opt)
{
    const es_form_field *signs = NULL;
    esession_status rc = es_form_get(ctx, form, "signs", &signs);
    if (rc != ESESSION_OK)
        return rc;
    if (signs->n_values == 0 || signs->n_options != 0)
        return malformed(ctx, "signs has no value");
    uint8_t sig[ES_SIG_MAX_BYTES];
    size_t siglen;
    for (size_t i = 0; i < signs->n_values; i++) {
        const char *v = signs->values[i];
        if (strlen(v) > 2 * ES_SIG_MAX_BYTES ||
            es_base64_decode_public(sig, sizeof sig, &siglen, v, strlen(v)) != ESESSION_OK)
            return malformed(ctx, "a signs value is not base64 of a signature");
    }
    if (n_trusted == 0)
        return es_fail(ctx, ESESSION_ERR_UNTRUSTED_KEY, "options form: no trusted key for its signer");

    esession_buf norm = {0};
    rc = es_options_signed_text(ctx, form, 0, &norm);
    if (rc != ESESSION_OK)
        return rc;
    rc = ESESSION_ERR_BAD_SIGNATURE;
    for (size_t i = 0; i < signs->n_values && rc != ESESSION_OK; i++) {
        const char *v = signs->values[i];
        if (es_base64_decode_public(sig, sizeof sig, &siglen, v, strlen(v)) != ESESSION_OK)
            continue;
        for (size_t k = 0; k < n_trusted; k++) {
            if (trusted[k] != NULL &&
                es_verify(ctx, trusted[k], (const uint8_t *)norm.data, norm.len, sig, siglen) ==
                    ESESSION_OK) {
                opt->signer = k;
                rc = ESESSION_OK;
                es_clear_detail(ctx);
                break;
            }
        }
    }
    esession_buf_free(&norm);
    if (rc != ESESSION_OK)
        return es_fail(ctx, rc, "options form: no signature verifies under a trusted key");
    return rc;
}

esession_status es_options_check(esession_ctx *ctx, const xmlNode *x,
                                 const esession_key *const *trusted, size_t n_trusted,
                                 int64_t now, es_options **out)
{
    if (x == NULL || out == NULL || (trusted == NULL && n_trusted > 0))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "es_options_check: NULL argument");
    es_options *opt = NULL;
    esession_status rc = es_options_read(ctx, x, &opt);
    if (rc == ESESSION_OK)
        rc = check_signatures(ctx, opt->form, trusted, n_trusted, opt);
    if (rc == ESESSION_OK && now > opt->offer.expires)
        rc = es_fail(ctx, ESESSION_ERR_EXPIRED, "options form: expired");
    if (rc != ESESSION_OK) {
        es_options_free(opt);
        return rc;
    }
    *out = opt;
    return ESESSION_OK;
}
