/* SPDX-License-Identifier: ISC */
/* Wycheproof MACs (mac_test_schema_v1): HMAC-SHA256 and HMAC-SHA512. The
 * group's tagSize (bits) truncates the tag; the truncated tag is compared
 * in constant time, and an invalid tag must not verify. */
#include "wycheproof.h"

#include <stdlib.h>
#include <string.h>

#include "../../core/core.h"
#include "../../crypto/hash.h"
#include "json_util.h"

/* Tag by the one-shot call and by a reused keyed object fed in two parts;
 * the two must agree. Returns 0, or -1 after recording a failure. */
static int compute(hv_report *r, const char *id, es_hmac **h, es_hash_alg alg,
                   const uint8_t *key, size_t klen, const uint8_t *msg, size_t mlen,
                   uint8_t out[ES_HASH_MAX_BYTES])
{
    uint8_t inc[ES_HASH_MAX_BYTES];
    esession_status st = es_hmac_oneshot(alg, key, klen, msg, mlen, out);
    if (st != ESESSION_OK) {
        hv_fail(r, id, "es_hmac_oneshot: %s", esession_status_name(st));
        return -1;
    }
    if (*h == NULL)
        st = es_hmac_new(h, alg, key, klen);
    else
        st = es_hmac_rekey(*h, key, klen);
    size_t half = mlen / 2;
    if (st == ESESSION_OK)
        st = es_hmac_begin(*h);
    if (st == ESESSION_OK)
        st = es_hmac_update(*h, msg, half);
    if (st == ESESSION_OK)
        st = es_hmac_update(*h, msg + half, mlen - half);
    if (st == ESESSION_OK)
        st = es_hmac_final(*h, inc);
    if (st != ESESSION_OK) {
        hv_fail(r, id, "keyed HMAC object: %s", esession_status_name(st));
        return -1;
    }
    if (memcmp(inc, out, es_hash_size(alg)) != 0) {
        hv_fail(r, id, "incremental HMAC differs from one-shot");
        return -1;
    }
    return 0;
}

static void mac_one(hv_report *r, es_hmac **h, es_hash_alg alg, size_t tagbytes, json_t *test,
                    const char *id, wp_result res)
{
    size_t klen = 0, mlen = 0, tlen = 0;
    uint8_t *key = ju_hex(test, "key", &klen);
    uint8_t *msg = ju_hex(test, "msg", &mlen);
    uint8_t *tag = ju_hex(test, "tag", &tlen);
    uint8_t mac[ES_HASH_MAX_BYTES];
    if (key == NULL || msg == NULL || tag == NULL) {
        hv_fail(r, id, "key, msg or tag missing or not hex");
        goto out;
    }
    if (compute(r, id, h, alg, key, klen, msg, mlen, mac) != 0)
        goto out;
    /* A tag of the wrong length never verifies. */
    int ok = tlen == tagbytes && es_ct_equal(mac, tag, tagbytes);
    wp_verdict(r, id, res, ok, "tag mismatch");
out:
    free(key);
    free(msg);
    free(tag);
}

void hv_wycheproof_mac(hv_report *r, json_t *root)
{
    const char *alg_name = ju_string(root, "algorithm");
    es_hash_alg alg;
    if (alg_name != NULL && strcmp(alg_name, "HMACSHA256") == 0)
        alg = ES_HASH_SHA256;
    else if (alg_name != NULL && strcmp(alg_name, "HMACSHA512") == 0)
        alg = ES_HASH_SHA512;
    else {
        hv_fail(r, "file", "unsupported MAC algorithm \"%s\"",
                alg_name != NULL ? alg_name : "(none)");
        return;
    }
    json_t *groups = wp_groups(r, root);
    if (groups == NULL)
        return;
    es_hmac *h = NULL;
    size_t seen = 0, gi;
    json_t *group;
    json_array_foreach(groups, gi, group) {
        json_t *tests = ju_array(group, "tests");
        if (tests == NULL) {
            hv_fail(r, "file", "group %zu has no tests array", gi);
            continue;
        }
        long long bits = -1;
        char reason[96] = "";
        if (ju_integer(group, "tagSize", &bits) != 0 || bits <= 0 || bits % 8 != 0 ||
            (unsigned long long)bits > 8 * es_hash_size(alg))
            snprintf(reason, sizeof reason, "tag size %lld bits not usable", bits);
        size_t ti;
        json_t *test;
        json_array_foreach(tests, ti, test) {
            char id[HV_ID_MAX];
            wp_result res;
            seen++;
            if (wp_test_header(r, test, id, sizeof id, &res) != 0)
                continue;
            if (reason[0] != '\0')
                wp_unusable(r, id, res, reason, reason);
            else
                mac_one(r, &h, alg, (size_t)bits / 8, test, id, res);
        }
    }
    es_hmac_free(h);
    wp_check_count(r, root, seen);
}
