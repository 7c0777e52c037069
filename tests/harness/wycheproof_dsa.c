/* SPDX-License-Identifier: ISC */
/* Wycheproof DSA verification with IEEE P1363 (r||s) signatures
 * (dsa_p1363_verify_schema_v1), the layout of XML-DSig dsa-sha256. */
#include "wycheproof.h"

void hv_wycheproof_dsa_verify(hv_report *r, json_t *root)
{
    wp_run_verify(r, root, ESESSION_KEY_DSA);
}
