/* SPDX-License-Identifier: ISC */
/* The secrets of §12 that §3-§5 do not have: K of a 4-message exchange,
 * the retained-secret values (§12.6), the SAS (§12.7) and the acceptor's
 * keys of a re-key (§12.10). */
#include "online.h"

#include <string.h>

#define LABEL_SRS "Shared Retained Secret"
#define LABEL_NEW_RS "New Retained Secret"
#define LABEL_SAS "Short Authentication String"
#define LABEL_ACC_CRYPT "Rekey Acceptor Crypt"
#define LABEL_ACC_MAC "Rekey Acceptor MAC"

/* sas28x5 digits, value i is character i. */
static const char sas_alphabet[] = "acdefghikmopqruvwxy123456789";

esession_status es_ol_k_final(es_hash_alg hash, const uint8_t *k0, const uint8_t *srs,
                              size_t srs_len, uint8_t *k)
{
    uint8_t in[2 * ES_HASH_MAX_BYTES];
    size_t hl = es_hash_size(hash);
    if (hl == 0 || srs_len > ES_HASH_MAX_BYTES || (srs == NULL && srs_len > 0))
        return ESESSION_ERR_INVALID_ARGUMENT;
    memcpy(in, k0, hl);
    if (srs_len > 0)
        memcpy(in + hl, srs, srs_len);
    esession_status rc = es_hash(hash, in, hl + srs_len, k);
    ES_WIPE(in);
    return rc;
}

esession_status es_ol_rshash(es_hash_alg hash, const uint8_t *n_a, size_t n_a_len,
                             const uint8_t *rs, size_t rs_len, uint8_t *out)
{
    return es_hmac_oneshot(hash, n_a, n_a_len, rs, rs_len, out);
}

esession_status es_ol_srshash(es_hash_alg hash, const uint8_t *srs, size_t len, uint8_t *out)
{
    return es_kdf(hash, srs, len, LABEL_SRS, out);
}

esession_status es_ol_new_rs(es_hash_alg hash, const uint8_t *k, size_t len, uint8_t *out)
{
    return es_kdf(hash, k, len, LABEL_NEW_RS, out);
}

void es_ol_sas_string(uint32_t v, char out[ES_OL_SAS_LEN + 1])
{
    /* Most significant digit first, padded on the left with digit 0. */
    for (size_t i = ES_OL_SAS_LEN; i-- > 0;) {
        out[i] = sas_alphabet[v % 28u];
        v /= 28u;
    }
    out[ES_OL_SAS_LEN] = '\0';
}

esession_status es_ol_sas(es_hash_alg hash, const uint8_t *ma, size_t ma_len,
                          const char *form_b, size_t form_b_len, uint32_t *v,
                          char out[ES_OL_SAS_LEN + 1])
{
    uint8_t digest[ES_HASH_MAX_BYTES];
    size_t hl = es_hash_size(hash), n = ma_len + form_b_len + strlen(LABEL_SAS);
    if (hl < 3)
        return ESESSION_ERR_INVALID_ARGUMENT;
    uint8_t *in = es_secret_alloc(n);
    if (in == NULL)
        return ESESSION_ERR_NO_MEMORY;
    memcpy(in, ma, ma_len);
    memcpy(in + ma_len, form_b, form_b_len);
    memcpy(in + ma_len + form_b_len, LABEL_SAS, strlen(LABEL_SAS));
    esession_status rc = es_hash(hash, in, n, digest);
    es_secret_free(in);
    if (rc != ESESSION_OK)
        return rc;
    uint32_t value = ((uint32_t)digest[hl - 3] << 16) | ((uint32_t)digest[hl - 2] << 8) |
                     (uint32_t)digest[hl - 1];
    es_ol_sas_string(value, out);
    *v = value;
    ES_WIPE(digest);
    return ESESSION_OK;
}

esession_status es_ol_rekey_acceptor(esession_ctx *ctx, es_suite suite, const uint8_t *kp,
                                     size_t kp_len, es_dir_keys **out)
{
    return es_rekey_derive_labelled(ctx, suite, kp, kp_len, LABEL_ACC_CRYPT, LABEL_ACC_MAC, out);
}
