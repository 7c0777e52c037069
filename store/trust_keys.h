/* SPDX-License-Identifier: ISC */
/* The public keys the trust store holds for one bare JID, as key objects
 * (the session engine verifies a contact's signed options with them). */
#ifndef ESESSION_STORE_TRUST_KEYS_H
#define ESESSION_STORE_TRUST_KEYS_H

#include "../core/core.h"

/* Up to max keys trusted for bare_jid (exact match), in trust-store order,
 * each a new public key the caller frees; *n counts them (0 is not an
 * error). An entry whose <KeyValue> no longer parses is skipped. On
 * failure nothing is returned. */
esession_status es_ks_trusted_keys(const esession_keystore *ks, const char *bare_jid,
                                   esession_key **out, size_t max, size_t *n);

/* A new handle on the trusted key whose normalized <KeyValue> is exactly
 * kv (n octets), for whichever JID, decoded once per entry;
 * ESESSION_ERR_UNTRUSTED_KEY when no entry has that text. */
esession_status es_ks_trusted_key_by_text(const esession_keystore *ks, const char *kv, size_t n,
                                          esession_key **out);

#endif
