/* SPDX-License-Identifier: ISC */
/* What the Wycheproof families share: test headers, the verdict policy,
 * the count check, and the signature-verify loop. */
#ifndef ESESSION_HARNESS_WYCHEPROOF_H
#define ESESSION_HARNESS_WYCHEPROOF_H

#include "harness.h"

typedef enum wp_result {
    WP_VALID,
    WP_INVALID,
    WP_ACCEPTABLE
} wp_result;

/* Read a test's tcId (into id) and result. On a malformed test, records a
 * failure and returns -1. */
int wp_test_header(hv_report *r, json_t *test, char *id, size_t idlen, wp_result *res);

/* Record the outcome of one case given our verdict (accepted = the input
 * verified, or the output was reproduced). why explains a rejection. */
void wp_verdict(hv_report *r, const char *id, wp_result res, int accepted, const char *why);

/* A case whose key or parameters the library refuses: a failure (showing
 * detail) for a valid case, otherwise a skip with the reason. */
void wp_unusable(hv_report *r, const char *id, wp_result res, const char *reason,
                 const char *detail);

/* The testGroups array, or NULL after recording a failure. */
json_t *wp_groups(hv_report *r, json_t *root);

/* Compare the number of tests seen with numberOfTests (if present). */
void wp_check_count(hv_report *r, json_t *root, size_t seen);

/* Load a group's publicKeyPem and run every test through es_verify; the key
 * must be of the given type, and of the group's keySize when given. */
void wp_run_verify(hv_report *r, json_t *root, esession_key_type type);

#endif
