/* SPDX-License-Identifier: ISC */
/* Bob's choice among Alice's offered options (PROFILE §2, §11): for every
 * list field the first of her values he supports. */
#include "sender.h"

#include <string.h>

static const char *const otr_ok[] = {"false", "true"};
static const char *const disclosure_ok[] = {"never"};
static const char *const security_ok[] = {"e2e"};
/* Groups 3 and 4 are elliptic-curve Oakley groups: never chosen. */
static const char *const modp_ok[] = {"1", "2", "5", "14", "15", "16", "17", "18"};
static const char *const crypt_ok[] = {"aes128-ctr", "aes192-ctr", "aes256-ctr"};
static const char *const hash_ok[] = {"sha256", "sha512", "whirlpool"};
static const char *const sign_ok[] = {ES_SIGN_ALG_RSA, ES_SIGN_ALG_DSA};
static const char *const compress_ok[] = {"none"};
static const char *const stanzas_ok[] = {"message"};
static const char *const ver_ok[] = {"1.0"};

static const struct {
    const char *const *v;
    size_t n;
} supported[ES_CH_COUNT] = {
    {otr_ok, ES_ARRAY_LEN(otr_ok)},
    {disclosure_ok, ES_ARRAY_LEN(disclosure_ok)},
    {security_ok, ES_ARRAY_LEN(security_ok)},
    {modp_ok, ES_ARRAY_LEN(modp_ok)},
    {crypt_ok, ES_ARRAY_LEN(crypt_ok)},
    {hash_ok, ES_ARRAY_LEN(hash_ok)},
    {sign_ok, ES_ARRAY_LEN(sign_ok)},
    {compress_ok, ES_ARRAY_LEN(compress_ok)},
    {stanzas_ok, ES_ARRAY_LEN(stanzas_ok)},
    {ver_ok, ES_ARRAY_LEN(ver_ok)},
};

static const es_strlist *offer_list(const es_offer *o, size_t i)
{
    const es_strlist *lists[ES_CH_COUNT] = {
        &o->otr, &o->disclosure, &o->security, &o->modp, &o->crypt_algs,
        &o->hash_algs, &o->sign_algs, &o->compress, &o->stanzas, &o->ver,
    };
    return lists[i];
}

/* Bob's static copy of value, if he supports it at all. */
static const char *known(size_t field, const char *value)
{
    for (size_t k = 0; value != NULL && k < supported[field].n; k++)
        if (strcmp(supported[field].v[k], value) == 0)
            return supported[field].v[k];
    return NULL;
}

/* Field-specific conditions beyond the name: group size, a key to sign. */
static int usable(size_t field, const char *value, const es_bob_caps *caps)
{
    if (field == ES_CH_MODP) {
        int group = 0;
        for (const char *p = value; *p != '\0'; p++)
            group = group * 10 + (*p - '0'); /* one of modp_ok: short digits */
        return es_modp_supported(group) &&
               (caps->allow_weak_groups || es_modp_bits(group) >= 2048);
    }
    if (field == ES_CH_SIGN) {
        esession_key_type t;
        if (es_key_type_for_alg(value, strlen(value), &t) != ESESSION_OK)
            return 0;
        return (caps->key_types & (1u << (unsigned)t)) != 0;
    }
    return 1;
}

esession_status es_sender_choose(esession_ctx *ctx, const es_offer *offer,
                                 const es_bob_caps *caps, es_choice *out)
{
    es_choice c;

    if (offer == NULL || caps == NULL || out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "choose: bad arguments");
    memset(&c, 0, sizeof c);
    for (size_t f = 0; f < ES_CH_COUNT; f++) {
        const es_strlist *l = offer_list(offer, f);
        for (size_t i = 0; c.value[f] == NULL && l->v != NULL && i < l->n; i++) {
            const char *v = known(f, l->v[i]);
            if (v != NULL && usable(f, v, caps))
                c.value[f] = v;
        }
        if (c.value[f] == NULL)
            return es_fail(ctx, ESESSION_ERR_UNSUPPORTED_OPTION,
                           "no supported value offered for %s", es_options_list_fields[f]);
    }
    for (const char *p = c.value[ES_CH_MODP]; *p != '\0'; p++)
        c.group = c.group * 10 + (*p - '0');
    if (es_cipher_from_name(c.value[ES_CH_CRYPT], strlen(c.value[ES_CH_CRYPT]),
                            &c.suite.cipher) != ESESSION_OK ||
        es_hash_from_name(c.value[ES_CH_HASH], strlen(c.value[ES_CH_HASH]), &c.suite.hash) !=
            ESESSION_OK ||
        es_key_type_for_alg(c.value[ES_CH_SIGN], strlen(c.value[ES_CH_SIGN]), &c.sign_type) !=
            ESESSION_OK)
        return es_fail(ctx, ESESSION_ERR_INTERNAL, "choose: a supported name is unknown");
    uint32_t mine = caps->rekey_freq != 0 ? caps->rekey_freq : ES_SENDER_DEFAULT_REKEY;
    if (offer->rekey_freq == 0)
        return es_fail(ctx, ESESSION_ERR_UNSUPPORTED_OPTION, "rekey_freq 0 offered");
    c.rekey_freq = mine > offer->rekey_freq ? mine : offer->rekey_freq;
    *out = c;
    return ESESSION_OK;
}
