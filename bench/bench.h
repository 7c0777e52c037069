/* SPDX-License-Identifier: ISC */
/* esession-bench: shared clocks, samples, checks and the parts' entry
 * points. Every part keeps its state behind an opaque pointer and offers
 * one-operation runs that the driver (bench.c) interleaves. */
#ifndef ESESSION_BENCH_H
#define ESESSION_BENCH_H

#include "esession.h"

#include <stddef.h>
#include <stdint.h>

/* ---- clocks and samples (timing.c) ------------------------------------ */

/* Microseconds of CPU used by the calling thread, and of wall time. */
double bench_cpu_us(void);
double bench_wall_us(void);

/* The median of n samples (sorted in place); 0 for none. */
double bench_median(double *v, size_t n);

/* Resident memory of the process in octets, and its count of mappings. */
size_t bench_rss(void);
size_t bench_mappings(void);
/* Octets of heap in use (malloc arenas). */
size_t bench_heap(void);

/* An environment value as a count, or def when unset or not a number. */
size_t bench_env(const char *name, size_t def);

/* ---- failures: the bench stops at the first one ------------------------- */

void bench_die(const char *what, esession_ctx *ctx, esession_status st);
void bench_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;

#define BENCH_CHECK(what, ctx, call) do { esession_status st_ = (call); \
    if (st_ != ESESSION_OK) bench_die(what, ctx, st_); } while (0)

/* ---- the in-memory host store (memstore.c) ---------------------------- */

/* An esession_store_ops table over a hash table per store name, with an
 * undo journal per transaction: what a host with its own database would
 * give, at the cost of memory operations only. Not thread-safe. */
extern const esession_store_ops bench_mem_ops;
typedef struct bench_mem bench_mem;
bench_mem *bench_mem_new(void);
void bench_mem_free(bench_mem *m);
/* Octets the stores hold (records, journals, tables): the host's memory. */
size_t bench_mem_bytes(const bench_mem *m);

/* ---- two parties and a session between them (parties.c) -------------- */

#define BENCH_ALICE "alice@example.org"
#define BENCH_BOB "bob@example.com"
#define BENCH_BOB_FULL "bob@example.com/laptop"

/* One account: a context, its keystore, its signing key. mem: in the
 * in-memory host store (m), else SQLite under dir. */
typedef struct bench_party {
    esession_ctx *ctx;
    esession_keystore *ks;
    esession_key *key;
    bench_mem *mem;
} bench_party;

void bench_party_open(bench_party *p, const char *name, const char *key_file, bench_mem *mem,
                      const char *dir, esession_dh_backend backend);
void bench_party_close(bench_party *p);
/* Each trusts the other's key for its JID. */
void bench_trust_each_other(bench_party *alice, bench_party *bob);
/* Bob trusts Alice's key (Alice already trusts his). */
void bench_trust_bob_only(bench_party *alice, bench_party *bob);

/* Alice's published options as the PEP answer Bob reads (groups: NULL
 * for the defaults). */
typedef struct bench_offer {
    char id[ESESSION_IQ_ID_MAX];
    char *result;
    size_t len;
} bench_offer;
void bench_publish(bench_party *alice, bench_party *bob, const int *groups, size_t n_groups,
                   bench_offer *out);
void bench_offer_free(bench_offer *o);

/* A started session: Bob's sender, Alice's receiver, its first stanza
 * opened. rekey_freq 0: the library's default. */
typedef struct bench_pair {
    bench_party *alice, *bob;
    esession_sender *s;
    esession_receiver *r;
    int own_r;
    uint64_t tag;
} bench_pair;
/* r: Alice's receiver (one per keystore), or NULL for a new one the pair
 * owns. */
void bench_pair_start(bench_pair *p, bench_party *alice, bench_party *bob,
                      const bench_offer *offer, const char *bob_jid, uint32_t rekey_freq,
                      esession_receiver *r);
void bench_pair_end(bench_pair *p);
/* One message: seal, mark sent, open, confirm. */
void bench_pair_message(bench_pair *p, const char *msg, size_t len);
/* A <message/> to Alice with a body of n octets (malloc'ed). */
char *bench_message(size_t n, size_t *len);

/* ---- the parts ------------------------------------------------------- */

/* Each part returns microseconds of thread CPU for one run of what it
 * names; the driver keeps the medians. */
typedef struct bench_steps bench_steps;
bench_steps *bench_steps_new(const char *dir);
void bench_steps_free(bench_steps *s);
void bench_steps_handshake(bench_steps *s, int disk, double *bob_start, double *alice_accept);
double bench_steps_publish(bench_steps *s);
double bench_steps_message_mem(bench_steps *s);
double bench_steps_message_disk(bench_steps *s);

typedef struct bench_floors bench_floors;
bench_floors *bench_floors_new(void);
void bench_floors_free(bench_floors *f);
double bench_floor_modexp(bench_floors *f, int group);
double bench_floor_rsa_sign(bench_floors *f);
double bench_floor_rsa_verify(bench_floors *f);
double bench_floor_aes_hmac(bench_floors *f);
double bench_floor_xml(bench_floors *f);

typedef struct bench_otr bench_otr;
bench_otr *bench_otr_new(void);
void bench_otr_free(bench_otr *o);
double bench_otr_ake(bench_otr *o);
double bench_otr_message(bench_otr *o);

typedef struct bench_signal bench_signal;
bench_signal *bench_signal_new(void);
void bench_signal_free(bench_signal *s);
void bench_signal_x3dh(bench_signal *s, double *initiator, double *responder);
double bench_signal_message(bench_signal *s);

/* Whole-run measures (seconds of wall time, octets). *cpu (may be NULL)
 * gets the thread CPU seconds of the same span. */
double bench_backlog(const char *dir, size_t sessions, size_t stanzas, size_t batch,
                     double *cpu);
double bench_threads(const char *dir, unsigned threads, size_t messages);
typedef struct bench_memory {
    double per_session;      /* octets of heap and locked memory per open session */
    double maps_per_session; /* memory mappings per open session */
    double growth;           /* octets one session grew over `stanzas` messages */
} bench_memory;
void bench_memory_measure(size_t sessions, size_t stanzas, bench_memory *out);
/* Per-stanza cost (µs) with `small` and with `large` records in the
 * stores: a session's worth of data each. */
void bench_store_size(const char *dir, size_t small, size_t large, size_t messages,
                      double *cost_small, double *cost_large);

#endif
