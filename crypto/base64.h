/* SPDX-License-Identifier: ISC */
/* Strict base64 (PROFILE §1), constant-time through libsodium. */
#ifndef ESESSION_BASE64_H
#define ESESSION_BASE64_H

#include "../core/core.h"

/* Length of the encoding of n octets, without the NUL. */
size_t es_base64_encoded_len(size_t n);

/* Encode n octets; out must hold es_base64_encoded_len(n) + 1 octets
 * (NUL-terminated). Standard alphabet, '=' padding, no line breaks. */
void es_base64_encode(char *out, const uint8_t *in, size_t n);

/* Upper bound of the decoded size of a text of n characters. */
size_t es_base64_decoded_max(size_t n);

/* Decode: XML whitespace (SP, TAB, CR, LF) is skipped anywhere; any other
 * non-alphabet octet, missing or bad padding, or non-zero trailing bits is
 * ESESSION_ERR_MALFORMED. out must hold es_base64_decoded_max(n) octets. */
esession_status es_base64_decode(uint8_t *out, size_t cap, size_t *outlen,
                                 const char *in, size_t n);

/* The same two for octets that are not secret (ciphertext, MACs, public
 * values): table-driven, several times faster, not constant-time. The
 * same output and the same verdict on every input as the two above. */
void es_base64_encode_public(char *out, const uint8_t *in, size_t n);
esession_status es_base64_decode_public(uint8_t *out, size_t cap, size_t *outlen,
                                        const char *in, size_t n);
/* The same verdict and octets in one pass, for an out of
 * es_base64_decoded_max(n) octets the caller throws away on failure
 * (which leaves it partly written). */
esession_status es_base64_decode_public_into(uint8_t *out, size_t *outlen, const char *in,
                                             size_t n);

/* Convenience: encode into a fresh library buffer. */
esession_status es_base64_encode_buf(esession_buf *out, const uint8_t *in, size_t n);

#endif
