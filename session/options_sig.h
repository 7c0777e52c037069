/* SPDX-License-Identifier: ISC */
/* Alice's options form signed, and a received one verified (XEP-0187
 * §3.1-3.2, PROFILE §7): the signatures and the expiry; the form itself is
 * forms/options.h's. */
#ifndef ESESSION_OPTIONS_SIG_H
#define ESESSION_OPTIONS_SIG_H

#include "../crypto/sig.h"
#include "../forms/options.h"

/* The options form text (es_options_form_new) with one signs value per
 * key: base64(SIG(key, normalize(x, {signs}))), the normalized text
 * computed from the form as parsed back, exactly as a receiver will.
 * Invalid offers (see es_options_form_new), no key or a key without its
 * private part are ESESSION_ERR_INVALID_ARGUMENT. */
esession_status es_options_build(esession_ctx *ctx, const es_offer *offer,
                                 const uint8_t *nonce, size_t nonce_len,
                                 const esession_buf *dhkeys, const esession_key *const *keys,
                                 size_t n_keys, esession_buf *out);

/* Check a received <x> as received (x must outlive the result): its
 * structure (es_options_read) → ESESSION_ERR_MALFORMED, a signs value
 * that is not base64 of a signature included; then the signatures:
 * accepted when any signs value verifies under any of the n_trusted keys
 * (no key at all: ESESSION_ERR_UNTRUSTED_KEY, none verifies:
 * ESESSION_ERR_BAD_SIGNATURE); then expiry: now > expires is
 * ESESSION_ERR_EXPIRED (now == expires is not expired). */
esession_status es_options_check(esession_ctx *ctx, const xmlNode *x,
                                 const esession_key *const *trusted, size_t n_trusted,
                                 int64_t now, es_options **out);

#endif
