/* SPDX-License-Identifier: ISC */
/* The negotiated fields of an online request (PROFILE §12.2) and what a
 * party offers or accepts for each. */
#include "online.h"

#include <stdlib.h>
#include <string.h>

const char *const es_ol_field_names[ES_OLF_COUNT] = {
    "otr", "disclosure", "security", "modp", "crypt_algs", "hash_algs", "sign_algs",
    "compress", "stanzas", "init_pubkey", "resp_pubkey", "ver", "sas_algs",
};

void es_ol_policy_init(es_ol_policy *p)
{
    memset(p, 0, sizeof *p);
    p->variant = 4;
    p->rekey_freq = 1;
    p->rshashes_random = 1;
}

esession_status es_ol_policy_add(es_ol_policy *p, es_ol_field f, const char *value)
{
    if (p == NULL || value == NULL || (unsigned)f >= ES_OLF_COUNT || value[0] == '\0')
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (p->n[f] >= ES_OL_MAX_LIST || strlen(value) > ES_OL_VALUE_MAX)
        return ESESSION_ERR_LIMIT;
    char *copy = strdup(value);
    if (copy == NULL)
        return ESESSION_ERR_NO_MEMORY;
    p->v[f][p->n[f]++] = copy;
    return ESESSION_OK;
}

void es_ol_policy_clear(es_ol_policy *p)
{
    if (p == NULL)
        return;
    for (size_t f = 0; f < ES_OLF_COUNT; f++)
        for (size_t i = 0; i < p->n[f]; i++)
            free(p->v[f][i]);
    es_ol_policy_init(p);
}

esession_status es_ol_policy_copy(es_ol_policy *dst, const es_ol_policy *src)
{
    es_ol_policy tmp;
    es_ol_policy_init(&tmp);
    for (size_t f = 0; f < ES_OLF_COUNT; f++) {
        for (size_t i = 0; i < src->n[f]; i++) {
            esession_status rc = es_ol_policy_add(&tmp, (es_ol_field)f, src->v[f][i]);
            if (rc != ESESSION_OK) {
                es_ol_policy_clear(&tmp);
                return rc;
            }
        }
    }
    tmp.rekey_freq = src->rekey_freq;
    tmp.variant = src->variant;
    tmp.allow3 = src->allow3;
    tmp.rshashes_random = src->rshashes_random;
    tmp.publish_old = src->publish_old;
    *dst = tmp;
    return ESESSION_OK;
}

int es_ol_policy_has(const es_ol_policy *p, es_ol_field f, const char *value)
{
    for (size_t i = 0; i < p->n[f]; i++)
        if (strcmp(p->v[f][i], value) == 0)
            return 1;
    return 0;
}

es_ol_pubkey es_ol_pubkey_from_name(const char *v)
{
    if (strcmp(v, "key") == 0)
        return ES_OL_PK_KEY;
    if (strcmp(v, "hash") == 0)
        return ES_OL_PK_HASH;
    if (strcmp(v, "none") == 0)
        return ES_OL_PK_NONE;
    return (es_ol_pubkey)0;
}

const char *es_ol_pubkey_name(es_ol_pubkey pk)
{
    switch (pk) {
    case ES_OL_PK_KEY: return "key";
    case ES_OL_PK_HASH: return "hash";
    case ES_OL_PK_NONE: return "none";
    }
    return NULL;
}

const char *es_ol_state_name(es_ol_state s)
{
    switch (s) {
    case ES_OL_NEGOTIATING: return "negotiating";
    case ES_OL_OPEN: return "open";
    case ES_OL_TERM_SENT: return "terminate-sent";
    case ES_OL_ENDED: return "ended";
    case ES_OL_FAILED: return "failed";
    }
    return "unknown";
}
