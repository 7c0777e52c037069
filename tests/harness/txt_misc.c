/* SPDX-License-Identifier: ISC */
/* Small record files: base64_rfc4648.txt (BASE64 records both ways),
 * modp_groups.txt (p and its size against the library's constants) and
 * xep0082_datetimes.txt (the DateTime profile through es_datetime_*). */
#include "harness.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gmp.h>

#include "../../core/core.h"
#include "../../crypto/base64.h"
#include "../../crypto/dh.h"
#include "../../forms/datetime.h"

/* ---- base64 ---------------------------------------------------------- */

static void base64_record(hv_report *r, const vec_record *rec, const char *id)
{
    const char *in = vec_get(rec, "input_hex"), *text = vec_get(rec, "output");
    size_t n = 0, got = 0;
    uint8_t *raw = NULL, *dec = NULL;
    char *enc = NULL;
    if (in == NULL || text == NULL || (raw = vec_hex(in, &n)) == NULL) {
        hv_fail(r, id, "record lacks input_hex or output");
        goto out;
    }
    size_t elen = es_base64_encoded_len(n);
    enc = malloc(elen + 1);
    size_t tlen = strlen(text);
    size_t cap = es_base64_decoded_max(tlen);
    dec = malloc(cap + 1);
    if (enc == NULL || dec == NULL) {
        hv_fail(r, id, "out of memory");
        goto out;
    }
    es_base64_encode(enc, raw, n);
    if (elen != tlen || strcmp(enc, text) != 0) {
        hv_fail(r, id, "encoded \"%s\", expected \"%s\"", enc, text);
        goto out;
    }
    esession_status st = es_base64_decode(dec, cap, &got, text, tlen);
    if (st != ESESSION_OK) {
        hv_fail(r, id, "decode: %s", esession_status_name(st));
        goto out;
    }
    if (got != n || (n > 0 && memcmp(dec, raw, n) != 0)) {
        hv_fail(r, id, "decoded octets differ");
        goto out;
    }
    hv_pass(r, id);
out:
    free(raw);
    free(dec);
    free(enc);
}

void hv_txt_base64(hv_report *r, const vec_file *f, const char *base)
{
    (void)base;
    for (size_t i = 0; i < f->count; i++) {
        const vec_record *rec = &f->records[i];
        char id[HV_ID_MAX];
        hv_record_id(id, sizeof id, rec, "name");
        const char *enc = vec_get(rec, "encoding");
        if (enc != NULL && strcmp(enc, "base64") == 0)
            base64_record(r, rec, id);
        else
            hv_skip(r, id, "not base64");
    }
}

/* ---- MODP groups ----------------------------------------------------- */

static void modp_record(hv_report *r, const vec_record *rec, const char *id, int group)
{
    const char *ph = vec_get(rec, "p"), *bs = vec_get(rec, "bits");
    mpz_t want, got;
    mpz_init(want);
    mpz_init(got);
    char *end = NULL;
    errno = 0;
    unsigned long bits = bs != NULL ? strtoul(bs, &end, 10) : 0;
    if (ph == NULL || bs == NULL || *end != '\0' || errno != 0 || mpz_set_str(want, ph, 16) != 0) {
        hv_fail(r, id, "record lacks a hex p or a decimal bits");
        goto out;
    }
    if (mpz_sizeinbase(want, 2) != bits) {
        hv_fail(r, id, "the vector's p has %zu bits, its bits field says %lu",
                mpz_sizeinbase(want, 2), bits);
        goto out;
    }
    if (!es_modp_supported(group)) {
        hv_fail(r, id, "group %d not supported by the library", group);
        goto out;
    }
    if (es_modp_bits(group) != bits) {
        hv_fail(r, id, "es_modp_bits = %u, expected %lu", es_modp_bits(group), bits);
        goto out;
    }
    esession_status st = es_modp_prime(group, got);
    if (st != ESESSION_OK) {
        hv_fail(r, id, "es_modp_prime: %s", esession_status_name(st));
        goto out;
    }
    if (mpz_cmp(got, want) != 0) {
        hv_fail(r, id, "the library's p differs");
        goto out;
    }
    hv_pass(r, id);
out:
    mpz_clear(want);
    mpz_clear(got);
}

void hv_txt_modp(hv_report *r, const vec_file *f, const char *base)
{
    (void)base;
    for (size_t i = 0; i < f->count; i++) {
        const vec_record *rec = &f->records[i];
        const char *g = vec_get(rec, "group");
        char id[HV_ID_MAX];
        snprintf(id, sizeof id, "line %u (group %s)", rec->line, g != NULL ? g : "?");
        char *end = NULL;
        long group = g != NULL ? strtol(g, &end, 10) : 0;
        if (g == NULL || *end != '\0' || group <= 0 || group > 1000) {
            hv_fail(r, id, "record lacks a group number");
            continue;
        }
        modp_record(r, rec, id, (int)group);
    }
}

/* ---- XEP-0082 DateTime ----------------------------------------------- */

static void datetime_record(hv_report *r, const vec_record *rec, const char *id)
{
    const char *in = vec_get(rec, "input"), *flag = vec_get(rec, "xep0082_datetime");
    if (in == NULL) {
        hv_fail(r, id, "record lacks input");
        return;
    }
    int64_t secs = 0;
    uint32_t micros = 0;
    esession_status st = es_datetime_parse(in, strlen(in), &secs, &micros);
    if (flag != NULL && strcmp(flag, "no") == 0) {
        if (st == ESESSION_ERR_MALFORMED)
            hv_pass(r, id);
        else if (st == ESESSION_OK)
            hv_fail(r, id, "\"%s\" is not an XEP-0082 DateTime but was accepted", in);
        else
            hv_fail(r, id, "\"%s\" rejected with %s, expected malformed", in,
                    esession_status_name(st));
        return;
    }
    const char *ut = vec_get(rec, "unix_time"), *utc = vec_get(rec, "utc");
    char *end = NULL;
    errno = 0;
    long long want = ut != NULL ? strtoll(ut, &end, 10) : 0;
    if (ut == NULL || utc == NULL || *end != '\0' || errno != 0) {
        hv_fail(r, id, "record lacks unix_time or utc");
        return;
    }
    if (st != ESESSION_OK) {
        hv_fail(r, id, "\"%s\" rejected: %s", in, esession_status_name(st));
        return;
    }
    if ((long long)secs != want) {
        hv_fail(r, id, "\"%s\" parsed as %lld, expected %lld", in, (long long)secs, want);
        return;
    }
    char out[ES_DATETIME_LEN + 1];
    st = es_datetime_format(secs, out);
    if (st != ESESSION_OK) {
        hv_fail(r, id, "es_datetime_format(%lld): %s", want, esession_status_name(st));
        return;
    }
    if (strcmp(out, utc) != 0) {
        hv_fail(r, id, "formatted as %s, expected %s", out, utc);
        return;
    }
    hv_pass(r, id);
}

void hv_txt_datetime(hv_report *r, const vec_file *f, const char *base)
{
    (void)base;
    for (size_t i = 0; i < f->count; i++) {
        const vec_record *rec = &f->records[i];
        char id[HV_ID_MAX];
        hv_record_id(id, sizeof id, rec, "name");
        const char *profile = vec_get(rec, "profile");
        if (profile != NULL && strcmp(profile, "datetime") == 0)
            datetime_record(r, rec, id);
        else
            hv_skip(r, id, "not a DateTime");
    }
}
