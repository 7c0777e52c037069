/* SPDX-License-Identifier: ISC */
/* Turning vector key material into PEM for esession_key_from_pem. */
#ifndef ESESSION_HARNESS_KEYS_H
#define ESESSION_HARNESS_KEYS_H

#include <stddef.h>
#include <stdint.h>

/* DER wrapped as PEM under label ("PRIVATE KEY", "PUBLIC KEY"), lines of
 * 64 characters. malloc'ed, NUL-terminated; NULL on allocation failure. */
char *hv_pem_from_der(const char *label, const uint8_t *der, size_t n);

/* A DSA key from big-endian hex p, q, g, y (and x, or NULL for a public
 * key) as PKCS#8 or SubjectPublicKeyInfo PEM. malloc'ed; NULL on error. */
char *hv_dsa_pem(const char *p, const char *q, const char *g, const char *y, const char *x);

#endif
