/* SPDX-License-Identifier: ISC */
/* Trusted public keys of one JID, decoded from the stored <KeyValue>s once
 * per entry and handle. */
#include "trust_keys.h"

#include "ks.h"

#include "../crypto/sig.h"

#include <string.h>

/* t's key, decoded at its first use and kept with the entry. */
static esession_status decoded(const esession_keystore *ks, es_ks_trust *t)
{
    if (t->decoded != NULL)
        return ESESSION_OK;
    return esession_key_from_keyvalue(ks->ctx, &t->decoded, t->keyvalue, t->keyvalue_len);
}

esession_status es_ks_trusted_keys(const esession_keystore *ks, const char *bare_jid,
                                   esession_key **out, size_t max, size_t *n)
{
    if (ks == NULL || bare_jid == NULL || (out == NULL && max > 0) || n == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    size_t found = 0;
    esession_status rc = es_ks_fresh(ks);
    if (rc != ESESSION_OK)
        return rc;
    for (size_t i = 0; i < ks->trust.n && found < max; i++) {
        es_ks_trust *t = ks->trust.v[i];
        if (strcmp(t->jid, bare_jid) != 0)
            continue;
        esession_key *k = NULL;
        /* Each caller gets its own handle on the kept key. */
        rc = decoded(ks, t);
        if (rc == ESESSION_OK)
            rc = es_key_dup(ks->ctx, t->decoded, &k);
        if (rc == ESESSION_ERR_NO_MEMORY) {
            while (found > 0)
                esession_key_free(out[--found]);
            return es_fail(ks->ctx, rc, "out of memory for a trusted key");
        }
        if (rc == ESESSION_OK)
            out[found++] = k;
    }
    *n = found;
    return ESESSION_OK;
}

esession_status es_ks_trusted_key_by_text(const esession_keystore *ks, const char *kv, size_t n,
                                          esession_key **out)
{
    if (ks == NULL || (kv == NULL && n > 0) || out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    esession_status rc = es_ks_fresh(ks);
    if (rc != ESESSION_OK)
        return rc;
    for (size_t i = 0; i < ks->trust.n; i++) {
        es_ks_trust *t = ks->trust.v[i];
        if (t->keyvalue_len != n || memcmp(t->keyvalue, kv, n) != 0)
            continue;
        if ((rc = decoded(ks, t)) != ESESSION_OK)
            return rc;
        return es_key_dup(ks->ctx, t->decoded, out);
    }
    return ESESSION_ERR_UNTRUSTED_KEY;
}
