/* SPDX-License-Identifier: ISC */
/* Exponentiation modulo a MODP prime with what depends only on the group
 * set up once per context: the prime (for GMP) and OpenSSL's Montgomery
 * form of it, made at the group's first use, and from its second 2^x (a
 * context that drew one exponent is likely to draw more: Bob at each
 * start, Alice at each publication) the window table of modexp_fixed.c,
 * for the groups of up to 3072 bits with the OpenSSL backend; a context
 * that computes 2^x once never pays for the table. The same table keeps the
 * context's SHA-2 digests, fetched from OpenSSL's providers once (a
 * built-in handle such as EVP_sha256() is looked up again at every use),
 * and RSA verification contexts for the last few public keys verified
 * with (crypto/sig.c). All of it is public. A context is used by one thread at a time, so its
 * table needs no lock. */
#include "dh.h"
#include "hash.h"
#include "modexp.h"
#include "sig.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <stdlib.h>

static const int group_ids[ES_MODEXP_GROUPS] = {1, 2, 5, 14, 15, 16, 17, 18};

typedef struct group_entry {
    int ready;
    mpz_t p;
    BIGNUM *bn_p;
    BN_MONT_CTX *mont;
    unsigned powers_of_2; /* 2^x computed so far (until the table is made) */
    int fixed_tried;      /* made once: out of memory then, the generic way since */
    es_fixed_base *fixed; /* the window table, or NULL */
} group_entry;

struct es_crypto_cache {
    group_entry g[ES_MODEXP_GROUPS];
    EVP_MD *md[2];   /* sha256, sha512 once fetched */
    int md_tried[2]; /* a failed fetch is not retried */
    /* Each holds a reference to its key, so no other key can take its
     * address while it is here. */
    EVP_PKEY_CTX *verifier[ES_VERIFIERS];
    size_t next_verifier;
};

es_crypto_cache *es_crypto_cache_new(void)
{
    return calloc(1, sizeof(es_crypto_cache));
}

void es_crypto_cache_free(es_crypto_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < ES_MODEXP_GROUPS; i++) {
        if (!c->g[i].ready)
            continue;
        mpz_clear(c->g[i].p);
        BN_free(c->g[i].bn_p);
        BN_MONT_CTX_free(c->g[i].mont);
        es_fixed_base_free(c->g[i].fixed);
    }
    for (size_t i = 0; i < ES_VERIFIERS; i++)
        EVP_PKEY_CTX_free(c->verifier[i]);
    EVP_MD_free(c->md[0]); /* objects keyed with them hold references of their own */
    EVP_MD_free(c->md[1]);
    free(c);
}

const EVP_MD *es_ctx_md(const esession_ctx *ctx, es_hash_alg alg)
{
    if (ctx == NULL || ctx->crypto == NULL ||
        (alg != ES_HASH_SHA256 && alg != ES_HASH_SHA512))
        return NULL;
    es_crypto_cache *c = ctx->crypto;
    size_t i = alg == ES_HASH_SHA256 ? 0 : 1;
    if (!c->md_tried[i]) {
        c->md_tried[i] = 1;
        c->md[i] = EVP_MD_fetch(NULL, i == 0 ? "SHA256" : "SHA512", NULL);
        if (c->md[i] == NULL)
            ERR_clear_error();
    }
    return c->md[i];
}


/* Fill e for group; 0 when out of memory (e stays unready). */
static int fill(group_entry *e, int group)
{
    size_t bits = es_modp_bits(group);
    size_t len = (bits + 7) / 8;
    uint8_t *buf = malloc(len);
    BN_CTX *bn = BN_CTX_new();
    mpz_init2(e->p, (mp_bitcnt_t)bits);
    e->bn_p = BN_new();
    e->mont = BN_MONT_CTX_new();
    size_t n = 0;
    int ok = buf != NULL && bn != NULL && e->bn_p != NULL && e->mont != NULL &&
             es_modp_prime(group, e->p) == ESESSION_OK;
    if (ok) {
        mpz_export(buf, &n, 1, 1, 1, 0, e->p);
        ok = BN_bin2bn(buf, (int)n, e->bn_p) != NULL && BN_MONT_CTX_set(e->mont, e->bn_p, bn) == 1;
    }
    free(buf);
    BN_CTX_free(bn);
    if (!ok) {
        ERR_clear_error();
        mpz_clear(e->p);
        BN_free(e->bn_p);
        BN_MONT_CTX_free(e->mont);
        e->bn_p = NULL;
        e->mont = NULL;
        return 0;
    }
    e->ready = 1;
    return 1;
}

static group_entry *entry(es_crypto_cache *c, int group)
{
    for (size_t i = 0; c != NULL && i < ES_MODEXP_GROUPS; i++) {
        if (group_ids[i] != group)
            continue;
        if (!c->g[i].ready && !fill(&c->g[i], group))
            return NULL;
        return &c->g[i];
    }
    return NULL;
}

esession_status es_modexp_group_sec(const esession_ctx *ctx, mpz_t r, const mpz_t b,
                                    const mpz_t e, int group)
{
    if (!es_modp_supported(group))
        return ESESSION_ERR_UNSUPPORTED;
    group_entry *g = ctx != NULL ? entry(ctx->crypto, group) : NULL;
    if (ctx != NULL && g == NULL)
        return ESESSION_ERR_NO_MEMORY;
    if (g == NULL) {
        /* No context: the prime afresh, the generic path. */
        mpz_t p;
        mpz_init2(p, es_modp_bits(group));
        esession_status rc = es_modp_prime(group, p);
        if (rc == ESESSION_OK)
            rc = es_modexp_sec(ctx, r, b, e, p);
        mpz_clear(p);
        return rc;
    }
    if (mpz_sgn(b) < 0 || mpz_cmp(b, g->p) >= 0)
        return ESESSION_ERR_INVALID_ARGUMENT; /* a DH base is already reduced */
    if (ctx->dh_backend == ESESSION_DH_GMP)
        return es_modexp_gmp(r, b, e, g->p);
    if (ctx->dh_backend != ESESSION_DH_OPENSSL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (mpz_cmp_ui(b, 2) == 0 && es_modp_bits(group) <= 64u * ES_FIXED_BASE_LIMBS) {
        if (!g->fixed_tried && ++g->powers_of_2 >= 2) {
            g->fixed_tried = 1;
            g->fixed = es_fixed_base_new(g->p, es_dh_exponent_bits(group));
        }
        if (g->fixed != NULL) {
            esession_status rc = es_fixed_base_pow(g->fixed, r, e);
            if (rc != ESESSION_ERR_LIMIT)
                return rc;
            /* A longer exponent (one given to the library) goes the generic way. */
        }
    }
    return es_modexp_openssl_mont(ctx, r, b, e, g->p, g->bn_p, g->mont);
}

int es_modexp_group_prime(const esession_ctx *ctx, int group, mpz_srcptr *p)
{
    group_entry *g = ctx != NULL ? entry(ctx->crypto, group) : NULL;
    if (g == NULL)
        return 0;
    *p = g->p;
    return 1;
}

int es_modexp_fixed_ready(const esession_ctx *ctx, int group)
{
    for (size_t i = 0; ctx != NULL && ctx->crypto != NULL && i < ES_MODEXP_GROUPS; i++)
        if (group_ids[i] == group)
            return ctx->crypto->g[i].fixed != NULL;
    return 0;
}

EVP_PKEY_CTX *es_ctx_rsa_verifier(const esession_ctx *ctx, EVP_PKEY *pkey)
{
    const EVP_MD *sha256 = es_ctx_md(ctx, ES_HASH_SHA256);
    if (sha256 == NULL || pkey == NULL)
        return NULL;
    es_crypto_cache *c = ctx->crypto;
    for (size_t i = 0; i < ES_VERIFIERS; i++)
        if (c->verifier[i] != NULL && EVP_PKEY_CTX_get0_pkey(c->verifier[i]) == pkey)
            return c->verifier[i];
    EVP_PKEY_CTX *v = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (v == NULL || EVP_PKEY_verify_init(v) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(v, RSA_PKCS1_PADDING) != 1 ||
        EVP_PKEY_CTX_set_signature_md(v, sha256) != 1) {
        EVP_PKEY_CTX_free(v);
        ERR_clear_error();
        return NULL;
    }
    size_t slot = c->next_verifier;
    c->next_verifier = (slot + 1) % ES_VERIFIERS;
    EVP_PKEY_CTX_free(c->verifier[slot]);
    c->verifier[slot] = v;
    return v;
}
