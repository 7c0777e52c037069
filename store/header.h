/* SPDX-License-Identifier: ISC */
/* The store header: the one record kept in clear. It holds the KDF costs
 * and salt, the store's random id, and the store key wrapped
 * (XChaCha20-Poly1305) under the passphrase key, with every header octet
 * before the wrap nonce as associated data. Layout: docs/keystore.md. */
#ifndef ESESSION_STORE_HEADER_H
#define ESESSION_STORE_HEADER_H

#include "crypt.h"
#include "record.h"

#define ES_HDR_MAGIC "\x89" "ESDB\r\n\x1a"
#define ES_HDR_FORMAT 2u
#define ES_HDR_BYTES 132u

/* Fill h: a fresh wrap nonce, store_key wrapped under pass_key. */
esession_status es_hdr_write(esession_ctx *ctx, const es_ks_kdf *kdf,
                             const uint8_t store_id[ES_STORE_ID_BYTES], uint8_t *pass_key,
                             const uint8_t *store_key, uint8_t h[ES_HDR_BYTES]);
/* Check h's form and read its KDF costs and store id; bounded costs, so a
 * header cannot make an open spend unbounded time or memory. Anything
 * else: ESESSION_ERR_CORRUPT. */
esession_status es_hdr_read(esession_ctx *ctx, const uint8_t *h, size_t len, es_ks_kdf *kdf,
                            uint8_t store_id[ES_STORE_ID_BYTES]);
/* Unwrap the store key (a wrong passphrase or an altered header:
 * ESESSION_ERR_BAD_PASSPHRASE). */
esession_status es_hdr_unwrap(esession_ctx *ctx, const uint8_t h[ES_HDR_BYTES],
                              uint8_t *pass_key, uint8_t *store_key);

#endif
