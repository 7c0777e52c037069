/* SPDX-License-Identifier: ISC */
/* dsa_*_rfc6979.txt: a key record (p, q, g, x, y) then signature records
 * (msg, r, s, sig = r||s). For each signature: it verifies under the public
 * key and a corrupted copy does not; signing with x gives a signature that
 * verifies. Reproducing the RFC 6979 deterministic k is not possible with
 * OpenSSL 3.0, so that comparison is a skip. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include "../../core/core.h"
#include "../../crypto/sig.h"
#include "keys.h"

#define RESIGN_SKIP "re-signing: RFC 6979 deterministic k not reproducible with OpenSSL 3.0"

typedef struct dsa_keys {
    esession_key *pub, *priv;
    char why[300]; /* why a key is missing */
} dsa_keys;

static esession_key *load_pem(hv_report *r, char *pem, char *why, size_t cap)
{
    esession_key *key = NULL;
    if (pem == NULL) {
        snprintf(why, cap, "could not build the key PEM");
        return NULL;
    }
    es_clear_detail(r->ctx);
    esession_status st = esession_key_from_pem(r->ctx, &key, pem, strlen(pem));
    if (st != ESESSION_OK) {
        hv_status_text(why, cap, r->ctx, st);
        key = NULL;
    }
    free(pem);
    return key;
}

static void load_keys(hv_report *r, const vec_record *rec, dsa_keys *k)
{
    const char *p = vec_get(rec, "p"), *q = vec_get(rec, "q"), *g = vec_get(rec, "g");
    const char *x = vec_get(rec, "x"), *y = vec_get(rec, "y");
    k->pub = load_pem(r, hv_dsa_pem(p, q, g, y, NULL), k->why, sizeof k->why);
    if (k->pub != NULL)
        k->priv = load_pem(r, hv_dsa_pem(p, q, g, y, x), k->why, sizeof k->why);
}

static void verify_case(hv_report *r, const dsa_keys *k, const uint8_t *msg, size_t mlen,
                        uint8_t *sig, size_t slen, const char *id)
{
    if (k->pub == NULL) {
        hv_fail(r, id, "public key not loaded (%s)", k->why);
        return;
    }
    char why[300];
    es_clear_detail(r->ctx);
    esession_status st = es_verify(r->ctx, k->pub, msg, mlen, sig, slen);
    if (st != ESESSION_OK) {
        hv_status_text(why, sizeof why, r->ctx, st);
        hv_fail(r, id, "signature rejected (%s)", why);
        return;
    }
    /* Corrupt one bit of s: must be rejected, with bad-signature. */
    sig[slen - 1] ^= 0x01;
    st = es_verify(r->ctx, k->pub, msg, mlen, sig, slen);
    sig[slen - 1] ^= 0x01;
    if (st != ESESSION_ERR_BAD_SIGNATURE) {
        hv_fail(r, id, "corrupted signature gave %s, expected bad-signature",
                esession_status_name(st));
        return;
    }
    hv_pass(r, id);
}

static void sign_case(hv_report *r, const dsa_keys *k, const uint8_t *msg, size_t mlen,
                      const char *id)
{
    if (k->priv == NULL) {
        hv_fail(r, id, "private key not loaded (%s)", k->why);
        return;
    }
    uint8_t sig[ES_SIG_MAX_BYTES];
    size_t slen = 0;
    char why[300];
    es_clear_detail(r->ctx);
    esession_status st = es_sign(r->ctx, k->priv, msg, mlen, sig, &slen);
    if (st == ESESSION_OK && slen != 64)
        hv_fail(r, id, "signature of %zu octets, expected r||s of 64", slen);
    else if (st == ESESSION_OK && (st = es_verify(r->ctx, k->pub, msg, mlen, sig, slen)) !=
                                      ESESSION_OK) {
        hv_status_text(why, sizeof why, r->ctx, st);
        hv_fail(r, id, "own signature does not verify (%s)", why);
    } else if (st != ESESSION_OK) {
        hv_status_text(why, sizeof why, r->ctx, st);
        hv_fail(r, id, "es_sign: %s", why);
    } else {
        hv_pass(r, id);
    }
}

static void sig_record(hv_report *r, const dsa_keys *k, const vec_record *rec, const char *id)
{
    size_t mlen = 0, slen = 0, rlen = 0, sl = 0;
    const char *m = vec_get(rec, "msg"), *sg = vec_get(rec, "sig");
    const char *rh = vec_get(rec, "r"), *sh = vec_get(rec, "s");
    uint8_t *msg = m != NULL ? vec_hex(m, &mlen) : NULL;
    uint8_t *sig = sg != NULL ? vec_hex(sg, &slen) : NULL;
    uint8_t *rr = rh != NULL ? vec_hex(rh, &rlen) : NULL;
    uint8_t *ss = sh != NULL ? vec_hex(sh, &sl) : NULL;
    char cid[HV_ID_MAX + 16];
    snprintf(cid, sizeof cid, "%s verify", id);
    if (msg == NULL || sig == NULL || slen == 0) {
        hv_fail(r, cid, "record lacks msg or sig");
        goto out;
    }
    /* The record's r and s, when given, must be the halves of sig. */
    if ((rr != NULL || ss != NULL) &&
        (rr == NULL || ss == NULL || rlen + sl != slen || memcmp(sig, rr, rlen) != 0 ||
         memcmp(sig + rlen, ss, sl) != 0)) {
        hv_fail(r, cid, "sig is not r||s of the record");
        goto out;
    }
    verify_case(r, k, msg, mlen, sig, slen, cid);
    snprintf(cid, sizeof cid, "%s sign", id);
    sign_case(r, k, msg, mlen, cid);
    snprintf(cid, sizeof cid, "%s re-sign", id);
    hv_skip(r, cid, RESIGN_SKIP);
out:
    free(msg);
    free(sig);
    free(rr);
    free(ss);
}

void hv_txt_dsa(hv_report *r, const vec_file *f, const char *base)
{
    (void)base;
    dsa_keys k;
    memset(&k, 0, sizeof k);
    snprintf(k.why, sizeof k.why, "no key record before it");
    for (size_t i = 0; i < f->count; i++) {
        const vec_record *rec = &f->records[i];
        char id[HV_ID_MAX];
        hv_record_id(id, sizeof id, rec, "name");
        if (vec_get(rec, "p") != NULL) {
            esession_key_free(k.pub);
            esession_key_free(k.priv);
            memset(&k, 0, sizeof k);
            load_keys(r, rec, &k);
        } else {
            sig_record(r, &k, rec, id);
        }
    }
    esession_key_free(k.pub);
    esession_key_free(k.priv);
}
