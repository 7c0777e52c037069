/* SPDX-License-Identifier: ISC */
/* One direction of a session under one key epoch: the cipher and HMAC
 * keyed once, reused for every stanza. */
#include "scrypto.h"

#include <stdlib.h>

struct es_chan {
    es_suite suite;
    es_aes_ctr *cipher;
    es_hmac *mac;
};

/* Both keyed objects for keys, or neither. */
static esession_status keyed(esession_ctx *ctx, const es_dir_keys *keys, es_aes_ctr **cipher,
                             es_hmac **mac)
{
    esession_status rc;

    if (keys->kc_len != es_cipher_key_size(keys->suite.cipher) ||
        keys->km_len != es_hash_size(keys->suite.hash) || keys->km_len == 0)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "direction keys of the wrong size");
    rc = es_aes_ctr_new(cipher, keys->suite.cipher, keys->kc, keys->kc_len);
    if (rc != ESESSION_OK)
        return es_fail(ctx, rc, "cannot key the cipher");
    rc = es_hmac_new_in(ctx, mac, keys->suite.hash, keys->km, keys->km_len);
    if (rc != ESESSION_OK) {
        es_aes_ctr_free(*cipher);
        *cipher = NULL;
        return es_fail(ctx, rc, "cannot key the MAC");
    }
    return ESESSION_OK;
}

esession_status es_chan_new(esession_ctx *ctx, const es_dir_keys *keys, es_chan **out)
{
    es_chan *c;
    esession_status rc;

    if (keys == NULL || out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "no keys or output");
    if ((c = calloc(1, sizeof *c)) == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    rc = keyed(ctx, keys, &c->cipher, &c->mac);
    if (rc != ESESSION_OK) {
        free(c);
        return rc;
    }
    c->suite = keys->suite;
    *out = c;
    return ESESSION_OK;
}

esession_status es_chan_rekey(esession_ctx *ctx, es_chan *chan, const es_dir_keys *keys)
{
    es_aes_ctr *cipher = NULL;
    es_hmac *mac = NULL;
    esession_status rc;

    if (chan == NULL || keys == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "no channel or keys");
    if (keys->suite.hash != chan->suite.hash || keys->suite.cipher != chan->suite.cipher)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "re-key changes the algorithms");
    /* Key new objects aside so that a failure keeps the old keys. */
    if ((rc = keyed(ctx, keys, &cipher, &mac)) != ESESSION_OK)
        return rc;
    es_aes_ctr_free(chan->cipher);
    es_hmac_free(chan->mac);
    chan->cipher = cipher;
    chan->mac = mac;
    return ESESSION_OK;
}

es_suite es_chan_suite(const es_chan *chan)
{
    es_suite none = {(es_hash_alg)0, (es_cipher_alg)0};
    return chan != NULL ? chan->suite : none;
}

size_t es_chan_mac_size(const es_chan *chan)
{
    return chan != NULL ? es_hash_size(chan->suite.hash) : 0;
}

esession_status es_chan_crypt(es_chan *chan, uint8_t ctr[ES_AES_BLOCK], const uint8_t *in,
                              uint8_t *out, size_t n)
{
    if (chan == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    return es_aes_ctr_crypt(chan->cipher, ctr, in, out, n);
}

esession_status es_chan_mac(es_chan *chan, const uint8_t *a, size_t an, const uint8_t *b,
                            size_t bn, uint8_t *out)
{
    esession_status rc;

    if (chan == NULL || out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    rc = es_hmac_begin(chan->mac);
    if (rc == ESESSION_OK)
        rc = es_hmac_update(chan->mac, a, an);
    if (rc == ESESSION_OK)
        rc = es_hmac_update(chan->mac, b, bn);
    if (rc == ESESSION_OK)
        rc = es_hmac_final(chan->mac, out);
    else
        (void)es_hmac_begin(chan->mac); /* drop the partial message */
    return rc;
}

void es_chan_free(es_chan *chan)
{
    if (chan == NULL)
        return;
    es_aes_ctr_free(chan->cipher);
    es_hmac_free(chan->mac);
    free(chan);
}
