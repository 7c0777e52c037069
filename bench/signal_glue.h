/* SPDX-License-Identifier: ISC */
/* What libsignal-protocol-c needs from its host, for esession-bench: a
 * crypto provider over OpenSSL (signal_crypto.c) and in-memory stores
 * (signal_store.c). */
#ifndef ESESSION_BENCH_SIGNAL_GLUE_H
#define ESESSION_BENCH_SIGNAL_GLUE_H

#include <signal_protocol.h>

extern const signal_crypto_provider bench_signal_crypto;

/* One account's stores: identity, registration id, pre-keys, signed
 * pre-keys and sessions, all in memory. */
typedef struct bench_signal_account bench_signal_account;
bench_signal_account *bench_signal_account_new(signal_context *gc, uint32_t registration_id);
void bench_signal_account_free(bench_signal_account *a);
signal_protocol_store_context *bench_signal_stores(bench_signal_account *a);
ratchet_identity_key_pair *bench_signal_identity(bench_signal_account *a);
uint32_t bench_signal_registration(bench_signal_account *a);
/* Forget every session (a new X3DH starts from nothing). */
void bench_signal_forget_sessions(bench_signal_account *a);

#endif
