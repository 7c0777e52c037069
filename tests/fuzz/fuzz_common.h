/* SPDX-License-Identifier: ISC */
/* Shared set-up of the fuzz targets (tests/fuzz/README.md): a context with
 * a fixed clock and a deterministic random source, keystores in a private
 * temporary directory, the test keys of tests/data, and the one offline
 * session that fuzz_stanza_open and the seed generator both build. Every
 * helper aborts on failure: a target that cannot set itself up must not
 * fuzz anything. */
#ifndef ESESSION_FUZZ_COMMON_H
#define ESESSION_FUZZ_COMMON_H

#include "esession.h"

#include <stddef.h>
#include <stdint.h>

#define FZ_ALICE "alice@example.org"
#define FZ_BOB_BARE "bob@example.com"
#define FZ_BOB "bob@example.com/laptop"
#define FZ_IQ_ID "fuzz0001"
#define FZ_NOW ((int64_t)1767225600) /* 2026-01-01T00:00:00Z */
#define FZ_NODE "http://www.xmpp.org/extensions/xep-0187.html#ns"
/* Alice's N + k window in the targets (the library's is 2^16): a stanza
 * whose MAC verifies nowhere costs FZ_WINDOW HMACs, not 65,536, and the
 * sessions fuzzed never skip more stanzas than this. */
#define FZ_WINDOW 256u

/* Restart the random stream: everything drawn after this is a function
 * of seed alone. */
void fz_reseed(uint64_t seed);

/* Print what failed (with ctx's detail) and abort unless st is ESESSION_OK. */
void fz_check(esession_status st, esession_ctx *ctx, const char *what);
/* Print a message and abort. */
void fz_die(const char *what);

/* A context with the fixed clock FZ_NOW and the deterministic random. */
esession_ctx *fz_ctx(void);

/* This process's temporary directory (on /dev/shm when writable), made on
 * first use and removed with its files at exit. */
const char *fz_dir(void);

/* A new keystore named name in fz_dir(), with the cheapest Argon2id. */
esession_keystore *fz_keystore(esession_ctx *ctx, const char *name);

/* A key read from tests/data/file. */
esession_key *fz_key(esession_ctx *ctx, const char *file);

/* One side of a session: Alice (signs with vec_rsa_alice, trusts Bob's
 * key) or Bob (signs with vec_rsa_bob, trusts Alice's key). */
typedef struct fz_party {
    esession_ctx *ctx;
    esession_keystore *ks;
} fz_party;

fz_party fz_alice(const char *ks_name);
fz_party fz_bob(const char *ks_name);
void fz_party_free(fz_party *p);

/* The server's answer to Bob's items request (id FZ_IQ_ID) holding one
 * item with payload; malloc'ed, NUL-terminated. */
char *fz_items_result(const char *payload);

/* Alice's publication for the fuzzed sessions: one MODP group (weak ones
 * allowed), rekey_freq 1. */
void fz_publish(fz_party *alice, int group, esession_publication *pub);

/* Bob starts a session from Alice's publication (weak groups allowed). */
esession_sender *fz_start(fz_party *bob, const esession_publication *pub, uint32_t rekey_freq);

/* The message a client would send Alice with body text (escaped here);
 * malloc'ed. */
char *fz_message(const char *body, size_t len);

/* Seal one client message: the stanza (marked sent), or an empty buffer
 * when the library refused it (the status is returned). */
esession_status fz_seal(fz_party *bob, esession_sender *s, const char *msg, esession_buf *out);

/* End any session Bob's keystore holds with Alice and empty his outbox,
 * so that the next fz_start finds it as new. */
void fz_bob_reset(fz_party *bob);

/* A receiver on ks with the FZ_WINDOW window. */
esession_receiver *fz_receiver(fz_party *p);

/* Feed one stanza to r and free every result; returns how many were
 * MESSAGE results. */
size_t fz_feed_drain(esession_receiver *r, const char *stanza, size_t len, uint64_t tag);

/* The session of fuzz_stanza_open, built the same way in every process:
 * Alice publishes, Bob starts (re-key every second stanza) and seals
 * FZ_OPEN_STANZAS stanzas (the last is his termination), Alice opens the
 * first (the <init>). The stanzas are kept for the seed generator. */
#define FZ_OPEN_STANZAS 8
typedef struct fz_open_session {
    fz_party alice;
    esession_receiver *receiver;
    esession_buf stanza[FZ_OPEN_STANZAS];
    esession_buf other_init; /* a second session's first stanza (another thread) */
} fz_open_session;

void fz_open_session_make(fz_open_session *o);

#endif
