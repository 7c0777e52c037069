/* SPDX-License-Identifier: ISC */
/* Wycheproof RSASSA-PKCS1-v1_5: verification (rsassa_pkcs1_verify_schema_v1)
 * and generation (rsassa_pkcs1_generate_schema_v1: PKCS#1 v1.5 is
 * deterministic, so a signature must match byte for byte). */
#include "wycheproof.h"

#include <stdlib.h>
#include <string.h>

#include "../../core/core.h"
#include "../../crypto/sig.h"
#include "json_util.h"
#include "keys.h"

void hv_wycheproof_rsa_verify(hv_report *r, json_t *root)
{
    wp_run_verify(r, root, ESESSION_KEY_RSA);
}

/* The group's private key: privateKeyPem (PKCS#1 in these files), and if the
 * library takes only PKCS#8, the same key from privateKeyPkcs8 (DER hex). */
static esession_status load_private(hv_report *r, json_t *group, esession_key **key,
                                    char *why, size_t cap)
{
    esession_status st = ESESSION_ERR_BAD_PEM;
    const char *pem = ju_string(group, "privateKeyPem");
    if (pem != NULL) {
        es_clear_detail(r->ctx);
        st = esession_key_from_pem(r->ctx, key, pem, strlen(pem));
        if (st == ESESSION_OK)
            return st;
        hv_status_text(why, cap, r->ctx, st);
        if (st != ESESSION_ERR_BAD_PEM)
            return st;
    }
    size_t n = 0;
    uint8_t *der = ju_hex(group, "privateKeyPkcs8", &n);
    if (der == NULL) {
        if (pem == NULL)
            snprintf(why, cap, "group has no private key");
        return st;
    }
    char *p8 = hv_pem_from_der("PRIVATE KEY", der, n);
    free(der);
    if (p8 == NULL) {
        snprintf(why, cap, "out of memory");
        return ESESSION_ERR_NO_MEMORY;
    }
    es_clear_detail(r->ctx);
    st = esession_key_from_pem(r->ctx, key, p8, strlen(p8));
    if (st != ESESSION_OK)
        hv_status_text(why, cap, r->ctx, st);
    else if (r->verbose && pem != NULL)
        printf("  (privateKeyPem refused: %s; loaded privateKeyPkcs8 instead)\n", why);
    free(p8);
    return st;
}

static void sign_one(hv_report *r, const esession_key *key, json_t *test, const char *id,
                     wp_result res)
{
    size_t mlen = 0, slen = 0;
    uint8_t *msg = ju_hex(test, "msg", &mlen);
    uint8_t *want = ju_hex(test, "sig", &slen);
    uint8_t sig[ES_SIG_MAX_BYTES];
    size_t siglen = 0;
    if (msg == NULL || want == NULL) {
        hv_fail(r, id, "msg or sig missing or not hex");
        goto out;
    }
    es_clear_detail(r->ctx);
    esession_status st = es_sign(r->ctx, key, msg, mlen, sig, &siglen);
    if (st != ESESSION_OK) {
        char why[300];
        hv_status_text(why, sizeof why, r->ctx, st);
        wp_verdict(r, id, res, 0, why);
        goto out;
    }
    int same = siglen == slen && memcmp(sig, want, slen) == 0;
    if (same && res == WP_VALID) {
        /* What we sign must also verify under the same key. */
        es_clear_detail(r->ctx);
        st = es_verify(r->ctx, key, msg, mlen, sig, siglen);
        if (st != ESESSION_OK) {
            char why[300];
            hv_status_text(why, sizeof why, r->ctx, st);
            hv_fail(r, id, "own signature does not verify (%s)", why);
            goto out;
        }
    }
    wp_verdict(r, id, res, same, same ? NULL : "signature differs from the expected one");
out:
    free(msg);
    free(want);
}

void hv_wycheproof_rsa_generate(hv_report *r, json_t *root)
{
    json_t *groups = wp_groups(r, root);
    if (groups == NULL)
        return;
    size_t seen = 0, gi;
    json_t *group;
    json_array_foreach(groups, gi, group) {
        json_t *tests = ju_array(group, "tests");
        if (tests == NULL) {
            hv_fail(r, "file", "group %zu has no tests array", gi);
            continue;
        }
        const char *sha = ju_string(group, "sha");
        int used = sha != NULL && strcmp(sha, "SHA-256") == 0;
        char skip[96];
        snprintf(skip, sizeof skip, "group hash %s: only SHA-256 is signed",
                 sha != NULL ? sha : "(none)");

        esession_key *key = NULL;
        char reason[160], detail[300], why[240];
        if (used) {
            esession_status st = load_private(r, group, &key, why, sizeof why);
            if (st != ESESSION_OK) {
                snprintf(reason, sizeof reason, "key refused by the library (%s)",
                         esession_status_name(st));
                snprintf(detail, sizeof detail, "private key refused (%s)", why);
            } else if (esession_key_get_type(key) != ESESSION_KEY_RSA ||
                       !esession_key_has_private(key)) {
                snprintf(reason, sizeof reason, "key loaded without an RSA private part");
                snprintf(detail, sizeof detail, "private key loaded as type %d, private part %d",
                         (int)esession_key_get_type(key), esession_key_has_private(key));
                esession_key_free(key);
                key = NULL;
            }
        }
        size_t ti;
        json_t *test;
        json_array_foreach(tests, ti, test) {
            char id[HV_ID_MAX];
            wp_result res;
            seen++;
            if (wp_test_header(r, test, id, sizeof id, &res) != 0)
                continue;
            if (!used)
                hv_skip(r, id, skip);
            else if (key == NULL)
                wp_unusable(r, id, res, reason, detail);
            else
                sign_one(r, key, test, id, res);
        }
        esession_key_free(key);
    }
    wp_check_count(r, root, seen);
}
