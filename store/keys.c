/* SPDX-License-Identifier: ISC */
/* Long-term signing keys held in the keystore, by fingerprint. */
#include "ks.h"

#include <stdlib.h>
#include <string.h>

static int find_key(const esession_keystore *ks, const uint8_t *fp, size_t *index)
{
    for (size_t i = 0; i < ks->keys.n; i++) {
        const es_ks_key *k = ks->keys.v[i];
        if (es_ct_equal(k->fp, fp, ESESSION_FINGERPRINT_BYTES)) {
            *index = i;
            return 1;
        }
    }
    return 0;
}

static esession_status esession_keystore_add_key_tx(esession_keystore *ks, const esession_key *key)
{
    uint8_t fp[ESESSION_FINGERPRINT_BYTES];
    size_t at;
    esession_status rc;

    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ks->ctx);
    if (key == NULL)
        return es_fail(ks->ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL key");
    if (!esession_key_has_private(key))
        return es_fail(ks->ctx, ESESSION_ERR_INVALID_ARGUMENT,
                       "a signing key needs its private part");
    if ((rc = esession_key_fingerprint(ks->ctx, key, fp)) != ESESSION_OK)
        return rc;
    if (find_key(ks, fp, &at))
        return es_fail(ks->ctx, ESESSION_ERR_STATE, "the key is already in the keystore");
    if ((rc = es_ks_reserve(ks->ctx, &ks->keys, ES_KS_MAX_KEYS, "signing keys")) != ESESSION_OK)
        return rc;

    es_ks_key *k = calloc(1, sizeof *k);
    if (k == NULL)
        return es_fail(ks->ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    memcpy(k->fp, fp, sizeof fp);
    rc = esession_key_to_pem(ks->ctx, key, 1, &k->pem);
    if (rc == ESESSION_OK && k->pem.len > ES_KS_PEM_MAX)
        rc = es_fail(ks->ctx, ESESSION_ERR_LIMIT, "private key PEM too long");
    if (rc == ESESSION_OK) {
        es_vec_push(&ks->keys, k);
        rc = es_ks_put_key(ks, k);
        if (rc != ESESSION_OK)
            (void)es_vec_pop(&ks->keys);
    }
    if (rc != ESESSION_OK)
        es_ks_key_free(k);
    return rc;
}

esession_status esession_keystore_add_key(esession_keystore *ks, const esession_key *key)
{
    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    esession_status rc = es_tx_begin(ks, 1);
    if (rc != ESESSION_OK)
        return rc;
    return es_tx_end(ks, esession_keystore_add_key_tx(ks, key));
}

size_t esession_keystore_key_count(const esession_keystore *ks)
{
    (void)es_ks_fresh(ks); /* no status to report: the cached copy stands */
    return ks != NULL ? ks->keys.n : 0;
}

esession_status esession_keystore_key_at(esession_keystore *ks, size_t index,
                                         esession_key **out)
{
    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ks->ctx);
    if (out == NULL)
        return es_fail(ks->ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL argument");
    esession_status rc = es_ks_fresh(ks);
    if (rc != ESESSION_OK)
        return rc;
    if (index >= ks->keys.n)
        return es_fail(ks->ctx, ESESSION_ERR_INVALID_ARGUMENT, "no key at index %zu", index);
    const es_ks_key *k = ks->keys.v[index];
    return esession_key_from_pem(ks->ctx, out, k->pem.data, k->pem.len);
}

esession_status es_ks_signing_key(esession_keystore *ks, size_t index, const esession_key **out)
{
    if (ks == NULL || out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (ks->depth == 0)
        return es_fail(ks->ctx, ESESSION_ERR_INTERNAL, "signing key outside a transaction");
    if (index >= ks->keys.n)
        return es_fail(ks->ctx, ESESSION_ERR_INVALID_ARGUMENT, "no key at index %zu", index);
    es_ks_key *k = ks->keys.v[index];
    if (k->decoded == NULL) {
        esession_status rc = esession_key_from_pem(ks->ctx, &k->decoded, k->pem.data, k->pem.len);
        if (rc != ESESSION_OK)
            return rc;
    }
    *out = k->decoded;
    return ESESSION_OK;
}

static esession_status esession_keystore_delete_key_tx(esession_keystore *ks,
                                             const uint8_t fingerprint[ESESSION_FINGERPRINT_BYTES])
{
    size_t at;
    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ks->ctx);
    if (fingerprint == NULL)
        return es_fail(ks->ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL fingerprint");
    if (!find_key(ks, fingerprint, &at))
        return es_fail(ks->ctx, ESESSION_ERR_INVALID_ARGUMENT, "no key with this fingerprint");
    es_ks_key *k = es_vec_take(&ks->keys, at);
    esession_status rc = es_rec_del(ks, ES_REC_KEY, k->fp, sizeof k->fp);
    if (rc != ESESSION_OK) {
        es_vec_put_back(&ks->keys, at, k);
        return rc;
    }
    es_ks_key_free(k);
    return ESESSION_OK;
}

esession_status esession_keystore_delete_key(esession_keystore *ks,
                                             const uint8_t fingerprint[ESESSION_FINGERPRINT_BYTES])
{
    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    esession_status rc = es_tx_begin(ks, 1);
    if (rc != ESESSION_OK)
        return rc;
    return es_tx_end(ks, esession_keystore_delete_key_tx(ks, fingerprint));
}

esession_status es_ks_put_key(esession_keystore *ks, const es_ks_key *k)
{
    esession_buf b = {NULL, 0, 0};
    esession_status rc = es_ks_key_encode(ks->ctx, k, &b);
    if (rc == ESESSION_OK)
        rc = es_rec_put(ks, ES_REC_KEY, k->fp, sizeof k->fp, NULL, b.data, b.len, NULL);
    esession_buf_free(&b);
    return rc;
}
