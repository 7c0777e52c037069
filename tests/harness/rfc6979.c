/* SPDX-License-Identifier: ISC */
/* DSA with SHA-256 and RFC 6979's deterministic k, for the vectors only:
 * the online reference signs this way, and OpenSSL 3.0 offers no
 * deterministic k. With it the harness reproduces the reference's DSA
 * identities byte for byte. The library itself signs with a random k. */
#include "rfc6979.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "../../crypto/hash.h"

#define QB 32 /* N = 256 bits */

/* K = HMAC_K(V ‖ sep ‖ x ‖ h) (sep < 0: just V), V = HMAC_K(V). */
static int step(uint8_t k[32], uint8_t v[32], int sep, const uint8_t *x, const uint8_t *h)
{
    uint8_t in[32 + 1 + 2 * QB];
    size_t n = 32;
    memcpy(in, v, 32);
    if (sep >= 0) {
        in[n++] = (uint8_t)sep;
        if (x != NULL) {
            memcpy(in + n, x, QB);
            memcpy(in + n + QB, h, QB);
            n += 2 * QB;
        }
        if (es_hmac_oneshot(ES_HASH_SHA256, k, 32, in, n, k) != ESESSION_OK)
            return -1;
    }
    return es_hmac_oneshot(ES_HASH_SHA256, k, 32, v, 32, v) == ESESSION_OK ? 0 : -1;
}

static int to_octets(const BIGNUM *b, uint8_t out[QB])
{
    return BN_bn2binpad(b, out, QB) == QB ? 0 : -1;
}

esession_status hv_rfc6979_dsa_sign(const esession_key *key, const uint8_t *msg, size_t n,
                                    uint8_t *sig, size_t *siglen)
{
    BIGNUM *p = NULL, *q = NULL, *g = NULL, *x = NULL, *h = NULL, *kk = NULL, *r = NULL,
           *s = NULL, *t = NULL;
    BN_CTX *bc = BN_CTX_new();
    uint8_t hash[32], xo[QB], ho[QB], kv[32], vv[32];
    esession_status rc = ESESSION_ERR_INTERNAL;

    if (bc == NULL || key == NULL || esession_key_get_type(key) != ESESSION_KEY_DSA ||
        EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_FFC_P, &p) != 1 ||
        EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_FFC_Q, &q) != 1 ||
        EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_FFC_G, &g) != 1 ||
        EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_PRIV_KEY, &x) != 1 ||
        BN_num_bits(q) != 8 * QB)
        goto out;
    if (es_hash(ES_HASH_SHA256, msg, n, hash) != ESESSION_OK)
        goto out;
    /* bits2octets(H(m)) = int2octets(bits2int(H(m)) mod q). */
    h = BN_bin2bn(hash, 32, NULL);
    kk = BN_new();
    r = BN_new();
    s = BN_new();
    t = BN_new();
    if (h == NULL || kk == NULL || r == NULL || s == NULL || t == NULL ||
        BN_nnmod(t, h, q, bc) != 1 || to_octets(t, ho) != 0 || to_octets(x, xo) != 0)
        goto out;
    memset(vv, 0x01, sizeof vv);
    memset(kv, 0x00, sizeof kv);
    if (step(kv, vv, 0x00, xo, ho) != 0 || step(kv, vv, 0x01, xo, ho) != 0)
        goto out;
    for (;;) {
        if (step(kv, vv, -1, NULL, NULL) != 0 || BN_bin2bn(vv, 32, kk) == NULL)
            goto out;
        if (!BN_is_zero(kk) && BN_cmp(kk, q) < 0) {
            /* r = (g^k mod p) mod q; s = k^-1 (H + x r) mod q. */
            if (BN_mod_exp(t, g, kk, p, bc) != 1 || BN_nnmod(r, t, q, bc) != 1)
                goto out;
            if (!BN_is_zero(r)) {
                if (BN_mod_mul(t, x, r, q, bc) != 1 || BN_mod_add(t, t, h, q, bc) != 1 ||
                    BN_mod_inverse(s, kk, q, bc) == NULL || BN_mod_mul(s, s, t, q, bc) != 1)
                    goto out;
                if (!BN_is_zero(s))
                    break;
            }
        }
        if (step(kv, vv, 0x00, NULL, NULL) != 0)
            goto out;
    }
    if (to_octets(r, sig) != 0 || to_octets(s, sig + QB) != 0)
        goto out;
    *siglen = 2 * QB;
    rc = ESESSION_OK;
out:
    BN_free(p);
    BN_free(q);
    BN_free(g);
    BN_clear_free(x);
    BN_free(h);
    BN_clear_free(kk);
    BN_free(r);
    BN_free(s);
    BN_clear_free(t);
    BN_CTX_free(bc);
    return rc;
}
