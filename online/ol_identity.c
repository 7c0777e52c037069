/* SPDX-License-Identifier: ISC */
/* Identities of an online negotiation (PROFILE §12.5): macX over the
 * exchange, signX, and the hidden P_X of init_pubkey / resp_pubkey `key`,
 * `hash` or `none`, sealed as IDX and MX and opened in the order of §12.8. */
#include "online.h"

#include "../crypto/base64.h"

#include <stdlib.h>
#include <string.h>

#define SV_OPEN "<SignatureValue>"
#define SV_CLOSE "</SignatureValue>"
#define FP_OPEN "<fingerprint>"
#define FP_CLOSE "</fingerprint>"
#define KV_OPEN "<KeyValue>"
#define KV_CLOSE "</KeyValue>"

static esession_status mac_x(const es_ol_id_keys *k, const es_ol_mac_in *in, const char *pub,
                             size_t pub_len, uint8_t *out)
{
    es_hmac *h = NULL;
    esession_status rc = es_hmac_new(&h, k->hash, k->ks, k->ks_len);
    if (rc == ESESSION_OK)
        rc = es_hmac_update(h, in->n1, in->n1_len);
    if (rc == ESESSION_OK)
        rc = es_hmac_update(h, in->n2, in->n2_len);
    if (rc == ESESSION_OK)
        rc = es_hmac_update(h, in->dh, in->dh_len);
    if (rc == ESESSION_OK)
        rc = es_hmac_update(h, (const uint8_t *)pub, pub_len);
    if (rc == ESESSION_OK)
        rc = es_hmac_update(h, (const uint8_t *)in->form1, in->form1_len);
    if (rc == ESESSION_OK)
        rc = es_hmac_update(h, (const uint8_t *)in->form2, in->form2_len);
    if (rc == ESESSION_OK)
        rc = es_hmac_final(h, out);
    es_hmac_free(h);
    return rc;
}

/* Append to the secret builder: <SignatureValue>base64(SIG)</SignatureValue>. */
static esession_status put_sign(esession_ctx *ctx, const es_ol_id_keys *k, es_sb *b,
                                const esession_key *key, const uint8_t *mac, size_t mac_len)
{
    uint8_t sig[ES_SIG_MAX_BYTES];
    size_t siglen = 0;
    esession_status rc = k->sign != NULL ? k->sign(k->sign_arg, key, mac, mac_len, sig, &siglen)
                                         : es_sign(ctx, key, mac, mac_len, sig, &siglen);
    if (rc != ESESSION_OK)
        return es_fail(ctx, rc, "identity: signing failed");
    char *b64 = malloc(es_base64_encoded_len(siglen) + 1);
    if (b64 == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    es_base64_encode(b64, sig, siglen);
    es_sb_puts(b, SV_OPEN);
    es_sb_puts(b, b64);
    es_sb_puts(b, SV_CLOSE);
    free(b64);
    return ESESSION_OK;
}

static esession_status fingerprint_b64(es_hash_alg hash, const char *kv, size_t len,
                                       char out[128])
{
    uint8_t d[ES_HASH_MAX_BYTES];
    esession_status rc = es_hash(hash, (const uint8_t *)kv, len, d);
    if (rc == ESESSION_OK)
        es_base64_encode(out, d, es_hash_size(hash));
    return rc;
}

esession_status es_ol_id_seal(esession_ctx *ctx, const es_ol_id_keys *k, es_ol_pubkey pk,
                              const esession_key *key, const es_ol_mac_in *in,
                              const uint8_t c_x[ES_AES_BLOCK], es_ol_id_out *out)
{
    es_ol_id_out o;
    esession_buf pub = {NULL, 0, 0}, plain = {NULL, 0, 0};
    es_chan *chan = NULL;
    es_sb b;
    esession_status rc;

    if (k == NULL || in == NULL || out == NULL || c_x == NULL || k->dir == NULL ||
        (pk != ES_OL_PK_NONE && key == NULL))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "identity: bad arguments");
    memset(&o, 0, sizeof o);
    o.mac_len = es_hash_size(k->hash);
    es_sb_init(&b, ES_XML_MAX_BYTES, 1);
    if (pk != ES_OL_PK_NONE && (rc = esession_key_to_keyvalue(ctx, key, &pub)) != ESESSION_OK)
        goto out;
    if ((rc = mac_x(k, in, pub.data, pub.len, o.mac_x)) != ESESSION_OK) {
        rc = es_fail(ctx, rc, "identity: HMAC failed");
        goto out;
    }
    if (pk == ES_OL_PK_NONE) {
        es_sb_put(&b, (const char *)o.mac_x, o.mac_len);
    } else {
        if (pk == ES_OL_PK_KEY) {
            es_sb_put(&b, pub.data, pub.len);
        } else {
            char fp[128];
            if ((rc = fingerprint_b64(k->hash, pub.data, pub.len, fp)) != ESESSION_OK)
                goto out;
            es_sb_puts(&b, FP_OPEN);
            es_sb_puts(&b, fp);
            es_sb_puts(&b, FP_CLOSE);
        }
        if ((rc = put_sign(ctx, k, &b, key, o.mac_x, o.mac_len)) != ESESSION_OK)
            goto out;
    }
    if ((rc = es_sb_finish(&b, &plain)) != ESESSION_OK) {
        rc = es_fail(ctx, rc, "out of memory for the identity");
        goto out;
    }
    if ((rc = es_chan_new(ctx, k->dir, &chan)) != ESESSION_OK)
        goto out;
    if ((rc = es_buf_alloc(&o.idx, plain.len, 0)) != ESESSION_OK) {
        rc = es_fail(ctx, rc, "out of memory for IDX");
        goto out;
    }
    memcpy(o.ctr_after, c_x, ES_AES_BLOCK);
    rc = es_chan_crypt(chan, o.ctr_after, (const uint8_t *)plain.data, (uint8_t *)o.idx.data,
                       plain.len);
    if (rc == ESESSION_OK)
        rc = es_chan_mac(chan, c_x, ES_AES_BLOCK, (const uint8_t *)o.idx.data, o.idx.len, o.mx);
    if (rc != ESESSION_OK) {
        rc = es_fail(ctx, rc, "identity: IDX or MX failed");
        goto out;
    }
    *out = o;
    memset(&o, 0, sizeof o);
out:
    es_sb_free(&b);
    esession_buf_free(&pub);
    esession_buf_free(&plain);
    es_chan_free(chan);
    es_ol_id_out_clear(&o);
    return rc;
}

void es_ol_id_out_clear(es_ol_id_out *o)
{
    if (o == NULL)
        return;
    esession_buf_free(&o->idx);
    sodium_memzero(o, sizeof *o);
}

/* ---- opening ------------------------------------------------------ */

/* Decode base64 text of n characters into a fresh buffer. */
static esession_status b64(esession_ctx *ctx, const char *t, size_t n, uint8_t **out,
                           size_t *len, const char *what)
{
    size_t cap = es_base64_decoded_max(n);
    uint8_t *buf = malloc(cap == 0 ? 1 : cap);
    if (buf == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    if (es_base64_decode(buf, cap, len, t, n) != ESESSION_OK) {
        free(buf);
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "identity: %s is not base64", what);
    }
    *out = buf;
    return ESESSION_OK;
}

/* P_X = head ‖ <SignatureValue>base64</SignatureValue>, head ending at
 * the first `close`: *head_len and the decoded signature. */
static esession_status split(esession_ctx *ctx, const char *p, size_t n, const char *open,
                             const char *close, size_t *head_len, uint8_t **sig,
                             size_t *sig_len)
{
    const size_t so = strlen(SV_OPEN), sc = strlen(SV_CLOSE);
    const char *end = es_identity_find(p, n, close);
    if (n < strlen(open) || memcmp(p, open, strlen(open)) != 0 || end == NULL)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "identity: no %s element", open);
    *head_len = (size_t)(end - p) + strlen(close);
    size_t rest = n - *head_len;
    const char *t = p + *head_len;
    if (rest < so + sc || memcmp(t, SV_OPEN, so) != 0 || memcmp(t + rest - sc, SV_CLOSE, sc) != 0)
        return es_fail(ctx, ESESSION_ERR_MALFORMED,
                       "identity: not followed by exactly one <SignatureValue>");
    /* '<' is no base64 character: a second element fails here. */
    return b64(ctx, t + so, rest - so - sc, sig, sig_len, "<SignatureValue>");
}

/* hash: the stored key whose HASH(<KeyValue>) is fp; its <KeyValue>. */
static esession_status stored_by_hash(esession_ctx *ctx, const es_ol_id_keys *k,
                                      const es_ol_id_peer *peer, const uint8_t *fp,
                                      esession_key **key, esession_buf *kv)
{
    size_t hl = es_hash_size(k->hash);
    for (size_t i = 0; i < peer->n_stored; i++) {
        esession_buf text = {NULL, 0, 0};
        uint8_t d[ES_HASH_MAX_BYTES];
        if (esession_key_to_keyvalue(ctx, peer->stored[i], &text) != ESESSION_OK)
            continue;
        if (es_hash(k->hash, (const uint8_t *)text.data, text.len, d) == ESESSION_OK &&
            es_ct_equal(d, fp, hl)) {
            esession_status rc = esession_key_from_keyvalue(ctx, key, text.data, text.len);
            if (rc != ESESSION_OK) {
                esession_buf_free(&text);
                return rc;
            }
            *kv = text;
            return ESESSION_OK;
        }
        esession_buf_free(&text);
    }
    return es_fail(ctx, ESESSION_ERR_UNTRUSTED_KEY,
                   "identity: no trusted key of the peer has this fingerprint");
}

static int is_trusted(const es_ol_id_peer *peer, const esession_key *key)
{
    if (peer->trusted != NULL)
        return peer->trusted(peer->trust_arg, key) == 1;
    uint8_t a[ESESSION_FINGERPRINT_BYTES], b[ESESSION_FINGERPRINT_BYTES];
    if (esession_key_fingerprint(NULL, key, a) != ESESSION_OK)
        return 0;
    for (size_t i = 0; i < peer->n_stored; i++)
        if (esession_key_fingerprint(NULL, peer->stored[i], b) == ESESSION_OK &&
            sodium_memcmp(a, b, sizeof a) == 0)
            return 1;
    return 0;
}

esession_status es_ol_id_open(esession_ctx *ctx, const es_ol_id_keys *k, es_ol_pubkey pk,
                              const es_ol_id_peer *peer, const es_ol_mac_in *in,
                              const uint8_t c_x[ES_AES_BLOCK], const uint8_t *idx,
                              size_t idx_len, const uint8_t *mx, size_t mx_len,
                              esession_key **key_out, int *trusted, uint8_t *mac_out,
                              uint8_t ctr_after[ES_AES_BLOCK])
{
    uint8_t want[ES_HASH_MAX_BYTES], mac[ES_HASH_MAX_BYTES], ctr[ES_AES_BLOCK];
    size_t hl = es_hash_size(k != NULL ? k->hash : (es_hash_alg)0);
    esession_buf plain = {NULL, 0, 0}, kv = {NULL, 0, 0};
    esession_key *key = NULL;
    es_chan *chan = NULL;
    uint8_t *sig = NULL, *fp = NULL;
    size_t head = 0, sig_len = 0, fp_len = 0;
    int trust = 0;
    esession_status rc;

    if (k == NULL || k->dir == NULL || peer == NULL || in == NULL || c_x == NULL ||
        (idx == NULL && idx_len > 0) || (mx == NULL && mx_len > 0) || key_out == NULL ||
        trusted == NULL || mac_out == NULL || hl == 0)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "identity: bad arguments");
    if ((rc = es_chan_new(ctx, k->dir, &chan)) != ESESSION_OK)
        return rc;
    /* MX first: nothing is decrypted before it verifies. */
    rc = es_chan_mac(chan, c_x, ES_AES_BLOCK, idx, idx_len, want);
    if (rc != ESESSION_OK) {
        rc = es_fail(ctx, rc, "MX computation failed");
        goto out;
    }
    if (mx_len != hl || !es_ct_equal(want, mx, hl)) {
        rc = es_fail(ctx, ESESSION_ERR_BAD_IDENTITY_MAC, "the identity MAC does not verify");
        goto out;
    }
    if (idx_len > ES_IDB_MAX) {
        rc = es_fail(ctx, ESESSION_ERR_MALFORMED, "identity: too long");
        goto out;
    }
    if ((rc = es_buf_alloc(&plain, idx_len, 1)) != ESESSION_OK) {
        rc = es_fail(ctx, rc, "out of secure memory for the identity");
        goto out;
    }
    memcpy(ctr, c_x, ES_AES_BLOCK);
    if ((rc = es_chan_crypt(chan, ctr, idx, (uint8_t *)plain.data, idx_len)) != ESESSION_OK) {
        rc = es_fail(ctx, rc, "identity: decryption failed");
        goto out;
    }

    if (pk == ES_OL_PK_NONE) {
        if (plain.len != hl) {
            rc = es_fail(ctx, ESESSION_ERR_MALFORMED, "identity: not a MAC");
            goto out;
        }
        if ((rc = mac_x(k, in, "", 0, mac)) != ESESSION_OK)
            goto out;
        if (!es_ct_equal(mac, (const uint8_t *)plain.data, hl)) {
            rc = es_fail(ctx, ESESSION_ERR_BAD_SIGNATURE, "identity: macX does not match");
            goto out;
        }
    } else if (pk == ES_OL_PK_KEY) {
        rc = split(ctx, plain.data, plain.len, KV_OPEN, KV_CLOSE, &head, &sig, &sig_len);
        if (rc == ESESSION_OK)
            rc = es_identity_import_key(ctx, plain.data, head, peer->sign_type, &key);
        if (rc == ESESSION_OK)
            rc = mac_x(k, in, plain.data, head, mac);
        if (rc == ESESSION_OK)
            rc = es_verify(ctx, key, mac, hl, sig, sig_len);
        if (rc != ESESSION_OK)
            goto out;
        trust = is_trusted(peer, key);
        if (!trust && peer->require_trust) {
            rc = es_fail(ctx, ESESSION_ERR_UNTRUSTED_KEY, "the peer's key is not trusted");
            goto out;
        }
    } else if (pk == ES_OL_PK_HASH) {
        rc = split(ctx, plain.data, plain.len, FP_OPEN, FP_CLOSE, &head, &sig, &sig_len);
        if (rc == ESESSION_OK)
            rc = b64(ctx, plain.data + strlen(FP_OPEN), head - strlen(FP_OPEN) - strlen(FP_CLOSE),
                     &fp, &fp_len, "<fingerprint>");
        if (rc == ESESSION_OK && fp_len != hl)
            rc = es_fail(ctx, ESESSION_ERR_MALFORMED, "identity: fingerprint of the wrong length");
        if (rc == ESESSION_OK)
            rc = stored_by_hash(ctx, k, peer, fp, &key, &kv);
        if (rc == ESESSION_OK && esession_key_get_type(key) != peer->sign_type)
            rc = es_fail(ctx, ESESSION_ERR_BAD_SIGNATURE, "identity: key type differs from sign_algs");
        if (rc == ESESSION_OK)
            rc = mac_x(k, in, kv.data, kv.len, mac);
        if (rc == ESESSION_OK)
            rc = es_verify(ctx, key, mac, hl, sig, sig_len);
        if (rc != ESESSION_OK)
            goto out;
        trust = 1; /* only trusted keys are stored for the peer */
    } else {
        rc = es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "identity: unknown public key mode");
        goto out;
    }
    *key_out = key;
    key = NULL;
    *trusted = trust;
    memcpy(mac_out, mac, hl);
    if (ctr_after != NULL)
        memcpy(ctr_after, ctr, ES_AES_BLOCK);
out:
    esession_key_free(key);
    esession_buf_free(&plain);
    esession_buf_free(&kv);
    es_chan_free(chan);
    free(sig);
    free(fp);
    ES_WIPE(want);
    ES_WIPE(mac);
    return rc;
}
