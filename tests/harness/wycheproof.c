/* SPDX-License-Identifier: ISC */
/* Shared Wycheproof logic: headers, verdicts, counts, verify loop.
 *
 * Policy for "acceptable" (legacy or debatable inputs): the case passes
 * whichever verdict the library gives; the verdicts are tallied per file.
 * The library is strict, so it is expected to reject most of them. */
#include "wycheproof.h"

#include <stdlib.h>
#include <string.h>

#include "../../core/core.h"
#include "../../crypto/sig.h"
#include "json_util.h"

int wp_test_header(hv_report *r, json_t *test, char *id, size_t idlen, wp_result *res)
{
    long long tc;
    if (!json_is_object(test) || ju_integer(test, "tcId", &tc) != 0) {
        hv_fail(r, "test", "test without a tcId");
        return -1;
    }
    snprintf(id, idlen, "tcId %lld", tc);
    const char *s = ju_string(test, "result");
    if (s != NULL && strcmp(s, "valid") == 0)
        *res = WP_VALID;
    else if (s != NULL && strcmp(s, "invalid") == 0)
        *res = WP_INVALID;
    else if (s != NULL && strcmp(s, "acceptable") == 0)
        *res = WP_ACCEPTABLE;
    else {
        hv_fail(r, id, "unknown result \"%s\"", s != NULL ? s : "(none)");
        return -1;
    }
    return 0;
}

void wp_verdict(hv_report *r, const char *id, wp_result res, int accepted, const char *why)
{
    switch (res) {
    case WP_VALID:
        if (accepted)
            hv_pass(r, id);
        else
            hv_fail(r, id, "valid case rejected (%s)", why != NULL ? why : "?");
        break;
    case WP_INVALID:
        if (accepted)
            hv_fail(r, id, "invalid case accepted");
        else
            hv_pass(r, id);
        break;
    case WP_ACCEPTABLE:
        hv_acceptable(r, id, accepted);
        break;
    }
}

void wp_unusable(hv_report *r, const char *id, wp_result res, const char *reason,
                 const char *detail)
{
    if (res == WP_VALID)
        hv_fail(r, id, "valid case not run: %s", detail);
    else
        hv_skip(r, id, reason);
}

json_t *wp_groups(hv_report *r, json_t *root)
{
    json_t *groups = ju_array(root, "testGroups");
    if (groups == NULL)
        hv_fail(r, "file", "no testGroups array");
    return groups;
}

void wp_check_count(hv_report *r, json_t *root, size_t seen)
{
    long long declared;
    if (ju_integer(root, "numberOfTests", &declared) != 0)
        return;
    if (declared < 0 || (unsigned long long)declared != seen)
        hv_fail(r, "file", "numberOfTests is %lld but the file holds %zu tests", declared, seen);
}

static const char *key_type_name(esession_key_type t)
{
    return t == ESESSION_KEY_RSA ? "RSA" : t == ESESSION_KEY_DSA ? "DSA" : "unknown";
}

/* Load the group key; on failure fill reason (aggregated in the summary)
 * and detail (shown with failures). */
static esession_key *load_group_key(hv_report *r, json_t *group, esession_key_type type,
                                    char *reason, size_t rcap, char *detail, size_t dcap)
{
    const char *pem = ju_string(group, "publicKeyPem");
    if (pem == NULL) {
        snprintf(reason, rcap, "group has no publicKeyPem");
        snprintf(detail, dcap, "group has no publicKeyPem");
        return NULL;
    }
    esession_key *key = NULL;
    es_clear_detail(r->ctx);
    esession_status st = esession_key_from_pem(r->ctx, &key, pem, strlen(pem));
    if (st != ESESSION_OK) {
        char why[240];
        hv_status_text(why, sizeof why, r->ctx, st);
        snprintf(reason, rcap, "key refused by the library (%s)", esession_status_name(st));
        snprintf(detail, dcap, "key refused (%s)", why);
        return NULL;
    }
    long long size;
    if (esession_key_get_type(key) != type) {
        snprintf(reason, rcap, "key loaded with the wrong type");
        snprintf(detail, dcap, "key loaded as %s, expected %s", key_type_name(esession_key_get_type(key)),
                 key_type_name(type));
        esession_key_free(key);
        return NULL;
    }
    if (ju_integer(group, "keySize", &size) == 0 && (long long)esession_key_bits(key) != size) {
        snprintf(reason, rcap, "key loaded with the wrong size");
        snprintf(detail, dcap, "key loaded with %u bits, group says %lld",
                 esession_key_bits(key), size);
        esession_key_free(key);
        return NULL;
    }
    return key;
}

static void verify_one(hv_report *r, const esession_key *key, json_t *test, const char *id,
                       wp_result res)
{
    size_t mlen = 0, slen = 0;
    uint8_t *msg = ju_hex(test, "msg", &mlen);
    uint8_t *sig = ju_hex(test, "sig", &slen);
    if (msg == NULL || sig == NULL) {
        hv_fail(r, id, "msg or sig missing or not hex");
        goto out;
    }
    es_clear_detail(r->ctx);
    esession_status st = es_verify(r->ctx, key, msg, mlen, sig, slen);
    if (st == ESESSION_OK) {
        wp_verdict(r, id, res, 1, NULL);
    } else if (st == ESESSION_ERR_BAD_SIGNATURE) {
        char why[300];
        hv_status_text(why, sizeof why, r->ctx, st);
        wp_verdict(r, id, res, 0, why);
    } else {
        /* The contract allows only the two codes above. */
        char why[300];
        hv_status_text(why, sizeof why, r->ctx, st);
        hv_fail(r, id, "es_verify returned %s (only ok or bad-signature allowed)", why);
    }
out:
    free(msg);
    free(sig);
}

void wp_run_verify(hv_report *r, json_t *root, esession_key_type type)
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
        char reason[160], detail[300];
        esession_key *key = load_group_key(r, group, type, reason, sizeof reason, detail,
                                           sizeof detail);
        size_t ti;
        json_t *test;
        json_array_foreach(tests, ti, test) {
            char id[HV_ID_MAX];
            wp_result res;
            seen++;
            if (wp_test_header(r, test, id, sizeof id, &res) != 0)
                continue;
            if (key == NULL)
                wp_unusable(r, id, res, reason, detail);
            else
                verify_one(r, key, test, id, res);
        }
        esession_key_free(key);
    }
    wp_check_count(r, root, seen);
}
