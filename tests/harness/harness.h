/* SPDX-License-Identifier: ISC */
/* esession-vectors: per-file results and the entry point of each vector
 * family. Every case ends in exactly one of pass, fail, skip (with a
 * reason) or acceptable (counted as passed, tallied apart). */
#ifndef ESESSION_HARNESS_H
#define ESESSION_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "esession.h"
#include "../common/vecfile.h"

#if defined(__GNUC__)
#define HV_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define HV_PRINTF(f, a)
#endif

/* Case identifiers ("tcId 12", "line 40 (F.5.1 ...)") fit in this. */
#define HV_ID_MAX 160

typedef struct hv_reason {
    char *text;
    unsigned count;
} hv_reason;

typedef struct hv_report {
    const char *path;
    esession_ctx *ctx; /* shared by every case of the run */
    int verbose;
    unsigned passed, failed, skipped;
    unsigned acceptable, accepted, rejected;
    char **failures; /* "id: reason", in order */
    size_t nfailures, capfailures;
    hv_reason *skips; /* distinct skip reasons with counts */
    size_t nskips, capskips;
    unsigned unrecorded; /* failure texts lost to an allocation failure */
} hv_report;

void hv_report_init(hv_report *r, const char *path, esession_ctx *ctx, int verbose);
void hv_report_free(hv_report *r);
/* The per-file block: the counts line, failures, acceptable, skip reasons. */
void hv_report_print(const hv_report *r, FILE *out);

void hv_pass(hv_report *r, const char *id);
void hv_fail(hv_report *r, const char *id, const char *fmt, ...) HV_PRINTF(3, 4);
void hv_skip(hv_report *r, const char *id, const char *reason);
/* A Wycheproof "acceptable" case: passed whichever verdict we give. */
void hv_acceptable(hv_report *r, const char *id, int accepted);

/* "name" or "name: detail" of a failed library call, for reasons. */
void hv_status_text(char *out, size_t cap, esession_ctx *ctx, esession_status st);

/* Families reading JSON (root already loaded). */
void hv_wycheproof_rsa_verify(hv_report *r, json_t *root);
void hv_wycheproof_rsa_generate(hv_report *r, json_t *root);
void hv_wycheproof_dsa_verify(hv_report *r, json_t *root);
void hv_wycheproof_mac(hv_report *r, json_t *root);
void hv_esession_offline(hv_report *r, json_t *root);
/* Step (1) of an OfflineSession group: Alice's options form. */
void hv_esession_options(hv_report *r, json_t *group, size_t gi);
/* An OfflineAccept group: Alice opens the stanzas she is given. */
void hv_esession_accept(hv_report *r, json_t *group, size_t gi);
/* An OnlineSession or OnlineNegative group (schema v1.1): both roles of
 * every test, each against the file. */
void hv_esession_online(hv_report *r, json_t *group, size_t gi);

/* Families reading `name = value` record files; base is the file name. */
void hv_txt_aes_ctr(hv_report *r, const vec_file *f, const char *base);
void hv_txt_hash(hv_report *r, const vec_file *f, const char *base);
void hv_txt_hmac(hv_report *r, const vec_file *f, const char *base);
void hv_txt_base64(hv_report *r, const vec_file *f, const char *base);
void hv_txt_modp(hv_report *r, const vec_file *f, const char *base);
void hv_txt_dsa(hv_report *r, const vec_file *f, const char *base);
void hv_txt_datetime(hv_report *r, const vec_file *f, const char *base);

/* Record id: "line N (name)", the name taken from the first of the given
 * fields that the record has. */
void hv_record_id(char *out, size_t cap, const vec_record *rec, const char *field);

#endif
