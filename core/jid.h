/* SPDX-License-Identifier: ISC */
/* The one JID rule of the library; the public call with its detail is
 * esession_jid_check. */
#ifndef ESESSION_JID_H
#define ESESSION_JID_H

#include "core.h"

/* Why jid is not of the kind (a short English phrase), or NULL if it is. */
const char *es_jid_problem(const char *jid, esession_jid_kind kind);
/* ESESSION_OK, or ESESSION_ERR_INVALID_ARGUMENT with the detail every
 * entry point gives ("not a bare JID: empty"). */
esession_status es_jid_check(esession_ctx *ctx, const char *jid, esession_jid_kind kind);
/* 1 if jid is of the kind: for JIDs received rather than given, whose
 * failure is the caller's to name. */
int es_jid_ok(const char *jid, esession_jid_kind kind);

#endif
