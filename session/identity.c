/* SPDX-License-Identifier: ISC */
/* Bob's hidden identity (PROFILE §5, XEP-0116 "Hiding Bob's Identity"):
 * macB, signB, IDB and MB, sealed by Bob and opened by Alice. */
#include "scrypto.h"

#include "../crypto/base64.h"

#include <stdlib.h>
#include <string.h>

#define SV_OPEN "<SignatureValue>"
#define SV_CLOSE "</SignatureValue>"
#define KV_CLOSE "</KeyValue>"

esession_status es_identity_mac_b(esession_ctx *ctx, const es_session_keys *keys,
                                  const es_id_input *in, const char *pubkey_b,
                                  size_t pubkey_b_len, uint8_t *mac)
{
    es_hmac *h = NULL;
    esession_status rc;

    if (keys == NULL || in == NULL || mac == NULL || (pubkey_b == NULL && pubkey_b_len > 0) ||
        (in->n_a == NULL && in->n_a_len > 0) || (in->n_b == NULL && in->n_b_len > 0) ||
        (in->d == NULL && in->d_len > 0) || (in->form_b == NULL && in->form_b_len > 0))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "macB: missing input");
    rc = es_hmac_new_in(ctx, &h, keys->suite.hash, keys->ks_b, keys->k_len);
    if (rc == ESESSION_OK)
        rc = es_hmac_update(h, in->n_a, in->n_a_len);
    if (rc == ESESSION_OK)
        rc = es_hmac_update(h, in->n_b, in->n_b_len);
    if (rc == ESESSION_OK)
        rc = es_hmac_update(h, in->d, in->d_len);
    if (rc == ESESSION_OK)
        rc = es_hmac_update(h, (const uint8_t *)pubkey_b, pubkey_b_len);
    if (rc == ESESSION_OK)
        rc = es_hmac_update(h, (const uint8_t *)in->form_b, in->form_b_len);
    if (rc == ESESSION_OK)
        rc = es_hmac_final(h, mac);
    es_hmac_free(h);
    if (rc != ESESSION_OK)
        return es_fail(ctx, rc, "macB: HMAC failed");
    return ESESSION_OK;
}

/* <SignatureValue>base64(sig)</SignatureValue> */
static esession_status sign_b_xml(esession_ctx *ctx, const esession_key *key,
                                  const uint8_t *mac, size_t mac_len, esession_buf *out)
{
    uint8_t sig[ES_SIG_MAX_BYTES];
    size_t siglen = 0, b64;
    esession_buf tmp;
    esession_status rc;

    rc = es_sign(ctx, key, mac, mac_len, sig, &siglen);
    if (rc != ESESSION_OK)
        return rc; /* es_sign recorded the reason */
    b64 = es_base64_encoded_len(siglen);
    rc = es_buf_alloc(&tmp, strlen(SV_OPEN) + b64 + strlen(SV_CLOSE), 0);
    if (rc != ESESSION_OK)
        return es_fail(ctx, rc, "out of memory for signB");
    memcpy(tmp.data, SV_OPEN, strlen(SV_OPEN));
    es_base64_encode(tmp.data + strlen(SV_OPEN), sig, siglen);
    memcpy(tmp.data + strlen(SV_OPEN) + b64, SV_CLOSE, strlen(SV_CLOSE) + 1);
    *out = tmp;
    return ESESSION_OK;
}

static int valid_input(const es_session_keys *keys, es_chan *chan, const es_id_input *in,
                       const uint8_t *c_b)
{
    return keys != NULL && chan != NULL && in != NULL && c_b != NULL &&
           es_chan_suite(chan).hash == keys->suite.hash &&
           es_chan_suite(chan).cipher == keys->suite.cipher;
}

esession_status es_identity_seal(esession_ctx *ctx, const es_session_keys *keys, es_chan *chan,
                                 const esession_key *bob_key, const es_id_input *in,
                                 const uint8_t c_b[ES_AES_BLOCK], es_id_sealed *out)
{
    es_id_sealed s;
    esession_buf plain = {NULL, 0, 0};
    esession_status rc;

    if (!valid_input(keys, chan, in, c_b) || bob_key == NULL || out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "identity: bad arguments");
    memset(&s, 0, sizeof s);
    s.mac_len = keys->k_len;
    memcpy(s.ctr_after, c_b, ES_AES_BLOCK);

    rc = esession_key_to_keyvalue(ctx, bob_key, &s.pubkey_b);
    if (rc == ESESSION_OK)
        rc = es_identity_mac_b(ctx, keys, in, s.pubkey_b.data, s.pubkey_b.len, s.mac_b);
    if (rc == ESESSION_OK)
        rc = sign_b_xml(ctx, bob_key, s.mac_b, s.mac_len, &s.sign_b);
    if (rc != ESESSION_OK)
        goto out;

    /* pubKeyB || signB reveals Bob: assemble it in guarded memory. */
    rc = es_buf_alloc_in(ctx, &plain, s.pubkey_b.len + s.sign_b.len, 1);
    if (rc == ESESSION_OK)
        rc = es_buf_alloc(&s.idb, plain.len, 0);
    if (rc != ESESSION_OK) {
        rc = es_fail(ctx, rc, "out of memory for IDB");
        goto out;
    }
    memcpy(plain.data, s.pubkey_b.data, s.pubkey_b.len);
    memcpy(plain.data + s.pubkey_b.len, s.sign_b.data, s.sign_b.len);
    rc = es_chan_crypt(chan, s.ctr_after, (const uint8_t *)plain.data, (uint8_t *)s.idb.data,
                       plain.len);
    if (rc == ESESSION_OK) /* MB over C_B as it was before IDB */
        rc = es_chan_mac(chan, c_b, ES_AES_BLOCK, (const uint8_t *)s.idb.data, s.idb.len, s.mb);
    if (rc != ESESSION_OK) {
        rc = es_fail(ctx, rc, "IDB or MB computation failed");
        goto out;
    }
    *out = s;
    memset(&s, 0, sizeof s); /* ownership moved */
out:
    esession_buf_free(&plain);
    es_id_sealed_clear(&s);
    return rc;
}

void es_id_sealed_clear(es_id_sealed *s)
{
    if (s == NULL)
        return;
    esession_buf_free(&s->pubkey_b);
    esession_buf_free(&s->sign_b);
    esession_buf_free(&s->idb);
    sodium_memzero(s, sizeof *s);
}

const char *es_identity_find(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; k <= n && i <= n - k; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return hay + i;
    return NULL;
}

/* Split pubKeyB || signB: the <KeyValue> text ends at its first
 * </KeyValue> (the normalized form has no nested one); what follows must be
 * one <SignatureValue> whose text is base64. */
static esession_status split_plain(esession_ctx *ctx, const char *p, size_t n, size_t *kv_len,
                                   uint8_t **sig, size_t *sig_len)
{
    const size_t so = strlen(SV_OPEN), sc = strlen(SV_CLOSE);
    const char *end = es_identity_find(p, n, KV_CLOSE), *t;
    size_t rest, tn, cap;
    uint8_t *buf;

    if (end == NULL)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "identity: no </KeyValue>");
    *kv_len = (size_t)(end - p) + strlen(KV_CLOSE);
    rest = n - *kv_len;
    t = p + *kv_len;
    if (rest < so + sc || memcmp(t, SV_OPEN, so) != 0 || memcmp(t + rest - sc, SV_CLOSE, sc) != 0)
        return es_fail(ctx, ESESSION_ERR_MALFORMED,
                       "identity: <KeyValue> not followed by exactly one <SignatureValue>");
    t += so;
    tn = rest - so - sc;
    cap = es_base64_decoded_max(tn);
    if ((buf = malloc(cap == 0 ? 1 : cap)) == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    /* '<' is no base64 character: a second element inside fails here. */
    if (es_base64_decode(buf, cap, sig_len, t, tn) != ESESSION_OK) {
        free(buf);
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "identity: <SignatureValue> is not base64");
    }
    *sig = buf;
    return ESESSION_OK;
}

/* The key of kv: a handle on a known one, or decoded. */
static esession_status import_key(esession_ctx *ctx, const char *kv, size_t n,
                                  esession_key_type sign_type, const es_id_known *known,
                                  esession_key **out)
{
    esession_key *k = NULL;
    esession_status rc = ESESSION_ERR_UNTRUSTED_KEY;

    if (known != NULL && known->find != NULL &&
        (rc = known->find(known->user, kv, n, &k)) != ESESSION_OK)
        es_clear_detail(ctx); /* not known: decoded below */
    if (rc != ESESSION_OK)
        rc = esession_key_from_keyvalue(ctx, &k, kv, n);
    if (rc == ESESSION_ERR_MALFORMED || rc == ESESSION_ERR_LIMIT)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "identity: <KeyValue> is not normalized");
    if (rc == ESESSION_ERR_BAD_KEY)
        return es_fail(ctx, ESESSION_ERR_BAD_SIGNATURE, "identity: key outside the limits");
    if (rc != ESESSION_OK)
        return rc;
    if (esession_key_get_type(k) != sign_type) {
        esession_key_free(k);
        return es_fail(ctx, ESESSION_ERR_BAD_SIGNATURE, "identity: key type differs from sign_algs");
    }
    *out = k;
    return ESESSION_OK;
}

esession_status es_identity_import_key(esession_ctx *ctx, const char *kv, size_t n,
                                       esession_key_type sign_type, esession_key **out)
{
    return import_key(ctx, kv, n, sign_type, NULL, out);
}

esession_status es_identity_open(esession_ctx *ctx, const es_session_keys *keys, es_chan *chan,
                                 esession_key_type sign_type, const es_id_input *in,
                                 const uint8_t c_b[ES_AES_BLOCK], const uint8_t *idb,
                                 size_t idb_len, const uint8_t *mb, size_t mb_len,
                                 esession_key **bob_key, uint8_t ctr_after[ES_AES_BLOCK])
{
    return es_identity_open_known(ctx, keys, chan, sign_type, in, c_b, idb, idb_len, mb, mb_len,
                                  NULL, bob_key, ctr_after);
}

esession_status es_identity_open_known(esession_ctx *ctx, const es_session_keys *keys,
                                       es_chan *chan, esession_key_type sign_type,
                                       const es_id_input *in, const uint8_t c_b[ES_AES_BLOCK],
                                       const uint8_t *idb, size_t idb_len, const uint8_t *mb,
                                       size_t mb_len, const es_id_known *known,
                                       esession_key **bob_key, uint8_t ctr_after[ES_AES_BLOCK])
{
    uint8_t want[ES_HASH_MAX_BYTES], mac_b[ES_HASH_MAX_BYTES], ctr[ES_AES_BLOCK];
    esession_buf plain = {NULL, 0, 0};
    esession_key *k = NULL;
    uint8_t *sig = NULL;
    size_t kv_len = 0, sig_len = 0;
    esession_status rc;

    if (!valid_input(keys, chan, in, c_b) || (idb == NULL && idb_len > 0) ||
        (mb == NULL && mb_len > 0) || bob_key == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "identity: bad arguments");

    /* Step 6: MB, before anything is decrypted. */
    rc = es_chan_mac(chan, c_b, ES_AES_BLOCK, idb, idb_len, want);
    if (rc != ESESSION_OK)
        return es_fail(ctx, rc, "MB computation failed");
    if (mb_len != keys->k_len || !es_ct_equal(want, mb, mb_len))
        return es_fail(ctx, ESESSION_ERR_BAD_IDENTITY_MAC, "MB does not verify");

    /* Step 7: decrypt IDB, parse, check the key, verify signB. */
    if (idb_len > ES_IDB_MAX)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "identity: IDB too long");
    if ((rc = es_buf_alloc_in(ctx, &plain, idb_len, 1)) != ESESSION_OK)
        return es_fail(ctx, rc, "out of secure memory for the identity");
    memcpy(ctr, c_b, ES_AES_BLOCK);
    rc = es_chan_crypt(chan, ctr, idb, (uint8_t *)plain.data, idb_len);
    if (rc != ESESSION_OK) {
        rc = es_fail(ctx, rc, "IDB decryption failed");
        goto out;
    }
    if ((rc = split_plain(ctx, plain.data, plain.len, &kv_len, &sig, &sig_len)) != ESESSION_OK)
        goto out;
    if ((rc = import_key(ctx, plain.data, kv_len, sign_type, known, &k)) != ESESSION_OK)
        goto out;
    rc = es_identity_mac_b(ctx, keys, in, plain.data, kv_len, mac_b);
    if (rc == ESESSION_OK)
        rc = es_verify(ctx, k, mac_b, keys->k_len, sig, sig_len);
    if (rc != ESESSION_OK)
        goto out;
    *bob_key = k;
    k = NULL;
    if (ctr_after != NULL)
        memcpy(ctr_after, ctr, ES_AES_BLOCK);
out:
    esession_key_free(k);
    free(sig);
    esession_buf_free(&plain);
    ES_WIPE(want);
    ES_WIPE(mac_b);
    return rc;
}
