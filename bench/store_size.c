/* SPDX-License-Identifier: ISC */
/* Does the cost of a stanza depend on what else the store holds? Bob's
 * and Alice's SQLite keystores (on disk, default durability) with `small`
 * and then with `large` other records of a session's size each (named so
 * that no engine object reads them), and the same messages sealed and
 * opened: one transaction each, and opened in batches of 64. */
#include "bench.h"

#include "../store/store.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_REKEY 1000000u
#define GROUP_COMMIT 64u

static void fill(bench_party *p, size_t from, size_t to)
{
    static uint8_t state[2048];
    randombytes_buf(state, sizeof state);
    BENCH_CHECK("begin", p->ctx, esession_keystore_begin(p->ks));
    for (size_t i = from; i < to; i++) {
        char name[64];
        snprintf(name, sizeof name, "bench/filler/contact%zu@example.net", i);
        BENCH_CHECK("fill", p->ctx, es_ks_blob_put(p->ks, name, state, sizeof state));
        if (i % 500 == 499) {
            BENCH_CHECK("commit", p->ctx, esession_keystore_commit(p->ks));
            BENCH_CHECK("begin", p->ctx, esession_keystore_begin(p->ks));
        }
    }
    BENCH_CHECK("commit", p->ctx, esession_keystore_commit(p->ks));
}

static void report(const char *what, size_t records, double us)
{
    char label[96];
    snprintf(label, sizeof label, "%s, %zu other records", what, records);
    printf("  %-52s %9.1f us/stanza\n", label, us);
}

static void open_one(bench_pair *p, const esession_buf *st, uint64_t tag)
{
    esession_result res;
    BENCH_CHECK("open", p->alice->ctx, esession_receiver_feed(p->r, st->data, st->len, tag));
    while (esession_receiver_next(p->r, &res)) {
        if (res.kind != ESESSION_RESULT_MESSAGE)
            bench_die("open: not a message", p->alice->ctx, res.error);
        BENCH_CHECK("confirm", p->alice->ctx, esession_receiver_confirm(p->r, &res));
        esession_result_free(&res);
    }
}

/* 2n stanzas sealed (and marked sent) one transaction each; n opened one
 * transaction each, n in batches. Returns wall µs of a seal and an open. */
static double round_trip(bench_pair *p, const char *m, size_t len, size_t n, size_t records)
{
    esession_buf *st = calloc(2 * n, sizeof *st);
    if (st == NULL)
        bench_fail("out of memory");
    double t0 = bench_wall_us();
    for (size_t i = 0; i < 2 * n; i++) {
        BENCH_CHECK("seal", p->bob->ctx, esession_sender_seal(p->s, m, len, &st[i]));
        BENCH_CHECK("sent", p->bob->ctx, esession_sender_sent(p->bob->ctx, p->bob->ks, &st[i]));
    }
    double t1 = bench_wall_us();
    for (size_t i = 0; i < n; i++)
        open_one(p, &st[i], i);
    double t2 = bench_wall_us();
    for (size_t i = n; i < 2 * n; i++) {
        if ((i - n) % GROUP_COMMIT == 0)
            BENCH_CHECK("begin", p->alice->ctx, esession_keystore_begin(p->alice->ks));
        open_one(p, &st[i], i);
        if ((i - n) % GROUP_COMMIT == GROUP_COMMIT - 1 || i + 1 == 2 * n)
            BENCH_CHECK("commit", p->alice->ctx, esession_keystore_commit(p->alice->ks));
    }
    double t3 = bench_wall_us();
    double seal = (t1 - t0) / (double)(2 * n), open = (t2 - t1) / (double)n;
    report("seal + sent", records, seal);
    report("open + confirm", records, open);
    report("open + confirm, committed every 64", records, (t3 - t2) / (double)n);
    for (size_t i = 0; i < 2 * n; i++)
        esession_buf_free(&st[i]);
    free(st);
    return seal + open;
}

void bench_store_size(const char *dir, size_t small, size_t large, size_t messages,
                      double *cost_small, double *cost_large)
{
    static const int groups[] = {14};
    static const char m[] = "<message to='" BENCH_ALICE "' type='chat'><body>A message of "
                            "about a hundred octets, as people type them into a chat window."
                            "</body></message>";
    bench_party alice, bob;
    bench_offer offer;
    bench_pair p;

    bench_party_open(&alice, "size-alice", "tests/data/vec_rsa_alice.pem", NULL, dir,
                     ESESSION_DH_DEFAULT);
    bench_party_open(&bob, "size-bob", "tests/data/vec_rsa_bob.pem", NULL, dir, ESESSION_DH_DEFAULT);
    bench_trust_each_other(&alice, &bob);
    bench_publish(&alice, &bob, groups, 1, &offer);
    bench_pair_start(&p, &alice, &bob, &offer, BENCH_BOB_FULL, NO_REKEY, NULL);
    fill(&alice, 0, small);
    fill(&bob, 0, small);
    *cost_small = round_trip(&p, m, sizeof m - 1, messages, small);
    double t0 = bench_wall_us();
    fill(&alice, small, large);
    fill(&bob, small, large);
    printf("  (%zu more records at each side in %.1f s)\n", large - small,
           (bench_wall_us() - t0) / 1e6);
    *cost_large = round_trip(&p, m, sizeof m - 1, messages, large);
    esession_receiver *r2 = NULL;
    t0 = bench_wall_us();
    BENCH_CHECK("receiver", alice.ctx, esession_receiver_new(alice.ctx, alice.ks, &r2));
    printf("  %-52s %9.1f ms\n", "receiver start over them", (bench_wall_us() - t0) / 1e3);
    esession_receiver_free(r2);
    bench_pair_end(&p);
    bench_offer_free(&offer);
    bench_party_close(&alice);
    bench_party_close(&bob);
}
