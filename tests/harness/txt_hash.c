/* SPDX-License-Identifier: ISC */
/* Hash and HMAC record files. sha256.txt and whirlpool_iso.txt: message
 * (hex unit) repeated `repeat` times, digest. hmac_rfc4231.txt (hash field
 * sha256|sha512) and hmac_whirlpool.txt: key, data, mac of mac_len octets,
 * a truncation of the full HMAC compared in constant time. */
#include "harness.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/core.h"
#include "../../crypto/hash.h"

/* Longest message a record may expand to (the largest is 10^6 octets). */
#define MAX_MESSAGE (64u * 1024 * 1024)

static int parse_count(const char *s, unsigned long long *out)
{
    if (s == NULL || s[0] < '0' || s[0] > '9')
        return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || errno != 0)
        return -1;
    *out = v;
    return 0;
}

static int alg_from_file(const char *base, es_hash_alg *alg)
{
    if (strstr(base, "sha256") != NULL)
        *alg = ES_HASH_SHA256;
    else if (strstr(base, "sha512") != NULL)
        *alg = ES_HASH_SHA512;
    else if (strstr(base, "whirlpool") != NULL)
        *alg = ES_HASH_WHIRLPOOL;
    else
        return -1;
    return 0;
}

static void hash_record(hv_report *r, const vec_record *rec, const char *id, es_hash_alg alg)
{
    size_t ulen = 0, dlen = 0;
    unsigned long long repeat = 1, bits;
    uint8_t *unit = NULL, *digest = NULL, *msg = NULL;
    const char *m = vec_get(rec, "message"), *d = vec_get(rec, "digest");
    const char *rep = vec_get(rec, "repeat"), *lb = vec_get(rec, "len_bits");
    if (m == NULL || d == NULL) {
        hv_fail(r, id, "record lacks message or digest");
        return;
    }
    unit = vec_hex(m, &ulen);
    digest = vec_hex(d, &dlen);
    if (unit == NULL || digest == NULL || (rep != NULL && parse_count(rep, &repeat) != 0)) {
        hv_fail(r, id, "bad hex or repeat");
        goto out;
    }
    if (dlen != es_hash_size(alg)) {
        hv_fail(r, id, "digest of %zu octets, the hash gives %zu", dlen, es_hash_size(alg));
        goto out;
    }
    if (ulen != 0 && repeat > MAX_MESSAGE / ulen) {
        hv_fail(r, id, "message longer than the harness allows");
        goto out;
    }
    size_t n = ulen * (size_t)repeat;
    if (lb != NULL && (parse_count(lb, &bits) != 0 || bits != 8ull * n)) {
        hv_fail(r, id, "len_bits disagrees with message x repeat");
        goto out;
    }
    msg = malloc(n + 1);
    if (msg == NULL) {
        hv_fail(r, id, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < (size_t)repeat; i++)
        memcpy(msg + i * ulen, unit, ulen);
    uint8_t out[ES_HASH_MAX_BYTES];
    esession_status st = es_hash(alg, msg, n, out);
    if (st != ESESSION_OK)
        hv_fail(r, id, "es_hash: %s", esession_status_name(st));
    else if (memcmp(out, digest, dlen) != 0)
        hv_fail(r, id, "digest differs");
    else
        hv_pass(r, id);
out:
    free(unit);
    free(digest);
    free(msg);
}

void hv_txt_hash(hv_report *r, const vec_file *f, const char *base)
{
    es_hash_alg alg;
    if (alg_from_file(base, &alg) != 0) {
        hv_fail(r, "file", "cannot tell the hash from the file name");
        return;
    }
    for (size_t i = 0; i < f->count; i++) {
        char id[HV_ID_MAX];
        hv_record_id(id, sizeof id, &f->records[i], "name");
        hash_record(r, &f->records[i], id, alg);
    }
}

/* Full HMAC by the one-shot call and by a keyed object fed in two parts. */
static int hmac_full(hv_report *r, const char *id, es_hash_alg alg, const uint8_t *key,
                     size_t klen, const uint8_t *data, size_t dlen, uint8_t *out)
{
    uint8_t inc[ES_HASH_MAX_BYTES];
    es_hmac *h = NULL;
    esession_status st = es_hmac_oneshot(alg, key, klen, data, dlen, out);
    if (st != ESESSION_OK) {
        hv_fail(r, id, "es_hmac_oneshot: %s", esession_status_name(st));
        return -1;
    }
    st = es_hmac_new(&h, alg, key, klen);
    if (st == ESESSION_OK && es_hmac_alg(h) != alg)
        st = ESESSION_ERR_INTERNAL;
    if (st == ESESSION_OK)
        st = es_hmac_begin(h);
    if (st == ESESSION_OK)
        st = es_hmac_update(h, data, dlen / 3);
    if (st == ESESSION_OK)
        st = es_hmac_update(h, data + dlen / 3, dlen - dlen / 3);
    if (st == ESESSION_OK)
        st = es_hmac_final(h, inc);
    es_hmac_free(h);
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

static void hmac_record(hv_report *r, const vec_record *rec, const char *id, es_hash_alg alg)
{
    size_t klen = 0, dlen = 0, mlen = 0;
    unsigned long long want;
    uint8_t *key = NULL, *data = NULL, *mac = NULL;
    const char *k = vec_get(rec, "key"), *d = vec_get(rec, "data"), *m = vec_get(rec, "mac");
    if (k == NULL || d == NULL || m == NULL || parse_count(vec_get(rec, "mac_len"), &want) != 0) {
        hv_fail(r, id, "record lacks key, data, mac or mac_len");
        return;
    }
    key = vec_hex(k, &klen);
    data = vec_hex(d, &dlen);
    mac = vec_hex(m, &mlen);
    if (key == NULL || data == NULL || mac == NULL) {
        hv_fail(r, id, "bad hex");
        goto out;
    }
    if (mlen != want || mlen == 0 || mlen > es_hash_size(alg)) {
        hv_fail(r, id, "mac of %zu octets, mac_len %llu, hash size %zu", mlen, want,
                es_hash_size(alg));
        goto out;
    }
    uint8_t full[ES_HASH_MAX_BYTES];
    if (hmac_full(r, id, alg, key, klen, data, dlen, full) != 0)
        goto out;
    if (!es_ct_equal(full, mac, mlen))
        hv_fail(r, id, "mac differs");
    else
        hv_pass(r, id);
out:
    free(key);
    free(data);
    free(mac);
}

void hv_txt_hmac(hv_report *r, const vec_file *f, const char *base)
{
    es_hash_alg file_alg = ES_HASH_SHA256;
    int have_file_alg = alg_from_file(base, &file_alg) == 0;
    for (size_t i = 0; i < f->count; i++) {
        const vec_record *rec = &f->records[i];
        char id[HV_ID_MAX];
        hv_record_id(id, sizeof id, rec, "name");
        const char *hn = vec_get(rec, "hash");
        es_hash_alg alg = file_alg;
        if (hn != NULL) {
            esession_status st = es_hash_from_name(hn, strlen(hn), &alg);
            if (st != ESESSION_OK) {
                hv_fail(r, id, "hash \"%s\": %s", hn, esession_status_name(st));
                continue;
            }
        } else if (!have_file_alg) {
            hv_fail(r, id, "no hash field and none in the file name");
            continue;
        }
        hmac_record(r, rec, id, alg);
    }
}
