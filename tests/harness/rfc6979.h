/* SPDX-License-Identifier: ISC */
/* DSA-SHA256 with RFC 6979 deterministic k (vectors only). */
#ifndef ESESSION_HARNESS_RFC6979_H
#define ESESSION_HARNESS_RFC6979_H

#include "../../crypto/sig.h"

/* r ‖ s (64 octets) of msg under a DSA key with N = 256, k from RFC 6979
 * §3.2 with HMAC-SHA-256; ESESSION_ERR_INTERNAL for any other key. */
esession_status hv_rfc6979_dsa_sign(const esession_key *key, const uint8_t *msg, size_t n,
                                    uint8_t *sig, size_t *siglen);

#endif
