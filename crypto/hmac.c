/* SPDX-License-Identifier: ISC */
/* HMAC (RFC 2104) over sha256, sha512 and whirlpool. The inner and outer
 * states after the padded key are computed once per key; each message then
 * starts from a copy of them. */
#include "hash.h"

#include <openssl/evp.h>
#include <string.h>

#include "whirlpool.h"

#define HMAC_MAX_BLOCK 128

struct es_hmac {
    es_hash_alg alg;
    int started; /* work holds a message in progress */
    /* sha256, sha512: keyed states and the per-message copy. */
    EVP_MD_CTX *inner, *outer, *work;
    /* whirlpool: the same, as plain structs. */
    es_whirlpool_ctx w_inner, w_outer, w_work;
};

static size_t block_size(es_hash_alg alg)
{
    switch (alg) {
    case ES_HASH_SHA256:
    case ES_HASH_WHIRLPOOL:
        return 64;
    case ES_HASH_SHA512:
        return 128;
    }
    return 0;
}

static const EVP_MD *evp_md(es_hash_alg alg)
{
    return alg == ES_HASH_SHA512 ? EVP_sha512() : EVP_sha256();
}

/* md: fetched once by the caller's context, or NULL for OpenSSL's
 * built-in handle (fetched again at every use). */
static esession_status evp_state(EVP_MD_CTX **out, es_hash_alg alg, const EVP_MD *md,
                                 const uint8_t *pad, size_t bs)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (c == NULL)
        return ESESSION_ERR_NO_MEMORY;
    if (EVP_DigestInit_ex(c, md != NULL ? md : evp_md(alg), NULL) != 1 ||
        EVP_DigestUpdate(c, pad, bs) != 1) {
        EVP_MD_CTX_free(c); /* the provider clears its state */
        return ESESSION_ERR_INTERNAL;
    }
    *out = c;
    return ESESSION_OK;
}

/* Keyed states for key: into inner and outer (sha-2) or wi and wo
 * (whirlpool). Nothing is written on failure. */
static esession_status keyed_states(es_hash_alg alg, const EVP_MD *md, const uint8_t *key,
                                    size_t keylen, EVP_MD_CTX **inner, EVP_MD_CTX **outer,
                                    es_whirlpool_ctx *wi, es_whirlpool_ctx *wo)
{
    uint8_t k0[HMAC_MAX_BLOCK] = { 0 }, pad[HMAC_MAX_BLOCK] = { 0 };
    size_t bs = block_size(alg), i;
    EVP_MD_CTX *ci = NULL, *co = NULL;
    esession_status rc = ESESSION_OK;

    if (keylen > bs)
        rc = es_hash(alg, key, keylen, k0); /* long keys are hashed first */
    else if (keylen > 0)
        memcpy(k0, key, keylen);
    if (rc != ESESSION_OK)
        goto out;

    for (i = 0; i < bs; i++)
        pad[i] = k0[i] ^ 0x36;
    if (alg == ES_HASH_WHIRLPOOL) {
        es_whirlpool_init(wi);
        es_whirlpool_update(wi, pad, bs);
    } else if ((rc = evp_state(&ci, alg, md, pad, bs)) != ESESSION_OK) {
        goto out;
    }
    for (i = 0; i < bs; i++)
        pad[i] = k0[i] ^ 0x5c;
    if (alg == ES_HASH_WHIRLPOOL) {
        es_whirlpool_init(wo);
        es_whirlpool_update(wo, pad, bs);
    } else if ((rc = evp_state(&co, alg, md, pad, bs)) != ESESSION_OK) {
        EVP_MD_CTX_free(ci);
        goto out;
    } else {
        *inner = ci;
        *outer = co;
    }
out:
    ES_WIPE(k0);
    ES_WIPE(pad);
    return rc;
}

/* Drop any message in progress (wiping it). */
static void discard(es_hmac *h)
{
    if (h->work != NULL)
        EVP_MD_CTX_reset(h->work);
    ES_WIPE(h->w_work);
    h->started = 0;
}

static void hmac_clear(es_hmac *h)
{
    EVP_MD_CTX_free(h->inner);
    EVP_MD_CTX_free(h->outer);
    EVP_MD_CTX_free(h->work);
    sodium_memzero(h, sizeof *h);
}

/* Set up a zeroed h. On failure h holds nothing that needs freeing beyond
 * hmac_clear. */
static esession_status hmac_setup(es_hmac *h, es_hash_alg alg, const EVP_MD *md,
                                  const uint8_t *key, size_t keylen)
{
    h->alg = alg;
    if (alg != ES_HASH_WHIRLPOOL && (h->work = EVP_MD_CTX_new()) == NULL)
        return ESESSION_ERR_NO_MEMORY;
    return keyed_states(alg, md, key, keylen, &h->inner, &h->outer, &h->w_inner, &h->w_outer);
}

static esession_status check_args(es_hash_alg alg, const uint8_t *key, size_t keylen)
{
    if (key == NULL && keylen > 0)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (block_size(alg) == 0)
        return ESESSION_ERR_UNSUPPORTED;
    return ESESSION_OK;
}

esession_status es_hmac_new(es_hmac **out, es_hash_alg alg, const uint8_t *key, size_t keylen)
{
    esession_status rc;
    es_hmac *h;

    if (out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if ((rc = check_args(alg, key, keylen)) != ESESSION_OK)
        return rc;
    /* The keyed states are as good as the key: keep them in guarded memory. */
    if ((h = es_secret_alloc(sizeof *h)) == NULL)
        return ESESSION_ERR_NO_MEMORY;
    memset(h, 0, sizeof *h);
    if ((rc = hmac_setup(h, alg, NULL, key, keylen)) != ESESSION_OK) {
        hmac_clear(h);
        es_secret_free(h);
        return rc;
    }
    *out = h;
    return ESESSION_OK;
}

esession_status es_hmac_new_in(const esession_ctx *ctx, es_hmac **out, es_hash_alg alg,
                               const uint8_t *key, size_t keylen)
{
    esession_status rc;
    es_hmac *h;

    if (out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if ((rc = check_args(alg, key, keylen)) != ESESSION_OK)
        return rc;
    /* Pooled secret memory comes zeroed. */
    if ((h = es_secret_alloc_in(ctx, sizeof *h)) == NULL)
        return ESESSION_ERR_NO_MEMORY;
    if ((rc = hmac_setup(h, alg, es_ctx_md(ctx, alg), key, keylen)) != ESESSION_OK) {
        hmac_clear(h);
        es_secret_free(h);
        return rc;
    }
    *out = h;
    return ESESSION_OK;
}

esession_status es_hmac_rekey(es_hmac *h, const uint8_t *key, size_t keylen)
{
    EVP_MD_CTX *ci = NULL, *co = NULL;
    es_whirlpool_ctx wi, wo;
    esession_status rc;

    if (h == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if ((rc = check_args(h->alg, key, keylen)) != ESESSION_OK)
        return rc;
    /* Build the new states aside so that a failure keeps the old key;
     * the digest the old states hold a reference to serves again. */
    const EVP_MD *md = h->inner != NULL ? EVP_MD_CTX_get0_md(h->inner) : NULL;
    rc = keyed_states(h->alg, md, key, keylen, &ci, &co, &wi, &wo);
    if (rc == ESESSION_OK) {
        discard(h);
        if (h->alg == ES_HASH_WHIRLPOOL) {
            h->w_inner = wi;
            h->w_outer = wo;
        } else {
            EVP_MD_CTX_free(h->inner);
            EVP_MD_CTX_free(h->outer);
            h->inner = ci;
            h->outer = co;
        }
    }
    ES_WIPE(wi);
    ES_WIPE(wo);
    return rc;
}

esession_status es_hmac_begin(es_hmac *h)
{
    if (h == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    discard(h);
    return ESESSION_OK;
}

/* Start the message from the inner keyed state, once. */
static esession_status start(es_hmac *h)
{
    if (h->started)
        return ESESSION_OK;
    if (h->alg == ES_HASH_WHIRLPOOL)
        h->w_work = h->w_inner;
    else if (EVP_MD_CTX_copy_ex(h->work, h->inner) != 1)
        return ESESSION_ERR_INTERNAL;
    h->started = 1;
    return ESESSION_OK;
}

esession_status es_hmac_copy_message(es_hmac *dst, const es_hmac *src)
{
    if (dst == NULL || src == NULL || dst->alg != src->alg)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (!src->started) {
        discard(dst);
        return ESESSION_OK;
    }
    if (src->alg == ES_HASH_WHIRLPOOL)
        dst->w_work = src->w_work;
    else if (EVP_MD_CTX_copy_ex(dst->work, src->work) != 1)
        return ESESSION_ERR_INTERNAL;
    dst->started = 1;
    return ESESSION_OK;
}

esession_status es_hmac_update(es_hmac *h, const uint8_t *in, size_t n)
{
    esession_status rc;

    if (h == NULL || (in == NULL && n > 0))
        return ESESSION_ERR_INVALID_ARGUMENT;
    if ((rc = start(h)) != ESESSION_OK)
        return rc;
    if (n == 0)
        return ESESSION_OK;
    if (h->alg == ES_HASH_WHIRLPOOL) {
        es_whirlpool_update(&h->w_work, in, n);
    } else if (EVP_DigestUpdate(h->work, in, n) != 1) {
        discard(h);
        return ESESSION_ERR_INTERNAL;
    }
    return ESESSION_OK;
}

/* HASH(outer key state || HASH(inner key state || message)) into tag. */
static esession_status finish(es_hmac *h, uint8_t tag[ES_HASH_MAX_BYTES])
{
    uint8_t ih[ES_HASH_MAX_BYTES];
    unsigned int ilen = 0, tlen = 0;
    size_t size = es_hash_size(h->alg);
    esession_status rc = ESESSION_OK;

    if (h->alg == ES_HASH_WHIRLPOOL) {
        es_whirlpool_final(&h->w_work, ih);
        h->w_work = h->w_outer;
        es_whirlpool_update(&h->w_work, ih, size);
        es_whirlpool_final(&h->w_work, tag);
    } else if (EVP_DigestFinal_ex(h->work, ih, &ilen) != 1 || ilen != size ||
               EVP_MD_CTX_copy_ex(h->work, h->outer) != 1 ||
               EVP_DigestUpdate(h->work, ih, ilen) != 1 ||
               EVP_DigestFinal_ex(h->work, tag, &tlen) != 1 || tlen != size) {
        rc = ESESSION_ERR_INTERNAL;
    }
    ES_WIPE(ih);
    return rc;
}

esession_status es_hmac_final(es_hmac *h, uint8_t *out)
{
    uint8_t tag[ES_HASH_MAX_BYTES];
    esession_status rc;

    if (h == NULL || out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if ((rc = start(h)) == ESESSION_OK)
        rc = finish(h, tag);
    discard(h); /* ready for the next message */
    if (rc == ESESSION_OK)
        memcpy(out, tag, es_hash_size(h->alg));
    ES_WIPE(tag);
    return rc;
}

es_hash_alg es_hmac_alg(const es_hmac *h)
{
    return h != NULL ? h->alg : (es_hash_alg)0;
}

void es_hmac_free(es_hmac *h)
{
    if (h == NULL)
        return;
    hmac_clear(h);
    es_secret_free(h);
}

esession_status es_hmac_oneshot(es_hash_alg alg, const uint8_t *key, size_t keylen,
                                const uint8_t *msg, size_t n, uint8_t *out)
{
    es_hmac h; /* on the stack: a one-off needs no guarded allocation */
    esession_status rc;

    if ((msg == NULL && n > 0) || out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if ((rc = check_args(alg, key, keylen)) != ESESSION_OK)
        return rc;
    memset(&h, 0, sizeof h);
    rc = hmac_setup(&h, alg, NULL, key, keylen);
    if (rc == ESESSION_OK)
        rc = es_hmac_update(&h, msg, n);
    if (rc == ESESSION_OK)
        rc = es_hmac_final(&h, out);
    hmac_clear(&h);
    return rc;
}
