/* SPDX-License-Identifier: ISC */
/* OfflineSession vectors, steps (2) and (3) of VECTORS.md: Bob's side run
 * with the vector's inputs and checked value by value, then Alice opening
 * every stanza. */
#ifndef ESESSION_HARNESS_SESSION_H
#define ESESSION_HARNESS_SESSION_H

#include "harness.h"

/* One result per test for Bob's start ("group G tcId N bob"), one per
 * stanza ("... stanza K"), and one per stanza for Alice ("... alice K"). */
void hv_esession_session(hv_report *r, json_t *group, size_t gi);

#endif
