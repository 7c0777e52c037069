/* SPDX-License-Identifier: ISC */
/* Trying many start counters for one stanza (PROFILE §11): a_mac =
 * HMAC(KM, m_content || S) shares the prefix m_content, so it is hashed
 * once per stanza and epoch and each candidate S costs one HMAC finish
 * (es_hmac_copy_message: no allocation per candidate). */
#include "receiver.h"

#include <stdlib.h>
#include <string.h>

struct es_rx_scan {
    size_t mac_len;
    es_hmac *prefix; /* holds m_content once prefixed */
    es_hmac *work;
    int ready;
};

esession_status es_rx_scan_new(const esession_ctx *ctx, const es_dir_keys *keys,
                               es_rx_scan **out)
{
    es_rx_scan *s;
    esession_status rc;

    if (keys == NULL || out == NULL || keys->km_len == 0 ||
        keys->km_len != es_hash_size(keys->suite.hash))
        return ESESSION_ERR_INVALID_ARGUMENT;
    if ((s = calloc(1, sizeof *s)) == NULL)
        return ESESSION_ERR_NO_MEMORY;
    s->mac_len = keys->km_len;
    rc = es_hmac_new_in(ctx, &s->prefix, keys->suite.hash, keys->km, keys->km_len);
    if (rc == ESESSION_OK)
        rc = es_hmac_new_in(ctx, &s->work, keys->suite.hash, keys->km, keys->km_len);
    if (rc != ESESSION_OK) {
        es_rx_scan_free(s);
        return rc;
    }
    *out = s;
    return ESESSION_OK;
}

esession_status es_rx_scan_prefix(es_rx_scan *s, const uint8_t *m, size_t n)
{
    esession_status rc;

    if (s == NULL || (m == NULL && n > 0))
        return ESESSION_ERR_INVALID_ARGUMENT;
    s->ready = 0;
    rc = es_hmac_begin(s->prefix);
    if (rc == ESESSION_OK && n > 0)
        rc = es_hmac_update(s->prefix, m, n);
    if (rc == ESESSION_OK)
        s->ready = 1;
    return rc;
}

int es_rx_scan_try(es_rx_scan *s, const uint8_t ctr[ES_AES_BLOCK], const uint8_t *mac,
                   size_t mac_len)
{
    uint8_t want[ES_HASH_MAX_BYTES];
    esession_status rc;
    int same;

    if (s == NULL || !s->ready || ctr == NULL || mac == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (mac_len != s->mac_len)
        return 0;
    rc = es_hmac_copy_message(s->work, s->prefix);
    if (rc == ESESSION_OK)
        rc = es_hmac_update(s->work, ctr, ES_AES_BLOCK);
    if (rc == ESESSION_OK)
        rc = es_hmac_final(s->work, want);
    if (rc != ESESSION_OK) {
        (void)es_hmac_begin(s->work);
        return rc;
    }
    same = es_ct_equal(want, mac, mac_len);
    sodium_memzero(want, sizeof want);
    return same;
}

void es_rx_scan_free(es_rx_scan *s)
{
    if (s == NULL)
        return;
    es_hmac_free(s->prefix);
    es_hmac_free(s->work);
    free(s);
}
