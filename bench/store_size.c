/* SPDX-License-Identifier: ISC */
/* Does the cost of a stanza depend on what else the store holds? Two
 * pairs of SQLite keystores (on disk, default durability), one pair with
 * `small` and one with `large` other records of a session's size each
 * (named so that no engine object reads them), and the same messages
 * sealed and opened over each pair in turn: one transaction each, and
 * opened in batches of 64. */
#define _DEFAULT_SOURCE 1 /* sync() */
#include "bench.h"

#include "../store/store.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NO_REKEY 1000000u
#define GROUP_COMMIT 64u
#define ROUNDS 9u /* alternate rounds of the two stores; medians */

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

/* Wall µs per stanza of one round: a seal (and sent), an open (and
 * confirm) in its own transaction, an open in a batch of 64. */
typedef struct cost {
    double seal, open, batched;
} cost;

/* 2n stanzas sealed (and marked sent) one transaction each; n opened one
 * transaction each, n in batches. */
static cost round_trip(bench_pair *p, const char *m, size_t len, size_t n, uint64_t tag)
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
        open_one(p, &st[i], tag + i);
    double t2 = bench_wall_us();
    for (size_t i = n; i < 2 * n; i++) {
        if ((i - n) % GROUP_COMMIT == 0)
            BENCH_CHECK("begin", p->alice->ctx, esession_keystore_begin(p->alice->ks));
        open_one(p, &st[i], tag + i);
        if ((i - n) % GROUP_COMMIT == GROUP_COMMIT - 1 || i + 1 == 2 * n)
            BENCH_CHECK("commit", p->alice->ctx, esession_keystore_commit(p->alice->ks));
    }
    double t3 = bench_wall_us();
    for (size_t i = 0; i < 2 * n; i++)
        esession_buf_free(&st[i]);
    free(st);
    cost c = {(t1 - t0) / (double)(2 * n), (t2 - t1) / (double)n, (t3 - t2) / (double)n};
    return c;
}

/* One side of the comparison: Alice and Bob, each with a keystore of
 * their own holding `records` other records. */
typedef struct side {
    bench_party alice, bob;
    bench_offer offer;
    bench_pair pair;
    size_t records;
    double seal[ROUNDS], open[ROUNDS], batched[ROUNDS];
} side;

static void side_open(side *sd, const char *dir, const char *tag, size_t records)
{
    static const int groups[] = {14};
    char a[48], b[48];
    snprintf(a, sizeof a, "size-alice-%s", tag);
    snprintf(b, sizeof b, "size-bob-%s", tag);
    bench_party_open(&sd->alice, a, "tests/data/vec_rsa_alice.pem", NULL, dir,
                     ESESSION_DH_DEFAULT);
    bench_party_open(&sd->bob, b, "tests/data/vec_rsa_bob.pem", NULL, dir, ESESSION_DH_DEFAULT);
    bench_trust_each_other(&sd->alice, &sd->bob);
    bench_publish(&sd->alice, &sd->bob, groups, 1, &sd->offer);
    bench_pair_start(&sd->pair, &sd->alice, &sd->bob, &sd->offer, BENCH_BOB_FULL, NO_REKEY,
                     NULL);
    fill(&sd->alice, 0, records);
    fill(&sd->bob, 0, records);
    sd->records = records;
}

static void side_close(side *sd)
{
    bench_pair_end(&sd->pair);
    bench_offer_free(&sd->offer);
    bench_party_close(&sd->alice);
    bench_party_close(&sd->bob);
}

static void side_report(side *sd)
{
    static const char *const what[] = {"seal + sent", "open + confirm",
                                       "open + confirm, committed every 64"};
    double *v[] = {sd->seal, sd->open, sd->batched};
    for (size_t k = 0; k < 3; k++) {
        char label[96];
        snprintf(label, sizeof label, "%s, %zu other records", what[k], sd->records);
        printf("  %-52s %9.1f us/stanza\n", label, bench_median(v[k], ROUNDS));
    }
}

void bench_store_size(const char *dir, size_t small, size_t large, size_t messages,
                      double *cost_small, double *cost_large)
{
    static const char m[] = "<message to='" BENCH_ALICE "' type='chat'><body>A message of "
                            "about a hundred octets, as people type them into a chat window."
                            "</body></message>";
    side *sd = calloc(2, sizeof *sd);
    if (sd == NULL)
        bench_fail("out of memory");
    double t0 = bench_wall_us();
    side_open(&sd[0], dir, "small", small);
    side_open(&sd[1], dir, "large", large);
    printf("  (%zu and %zu records at each side in %.1f s)\n", small, large,
           (bench_wall_us() - t0) / 1e6);
    /* The filling's writes reach the disk before anything is timed, the
     * two stores take turns (each first in every other round), and each
     * round starts with nothing left to write, so that neither pays for
     * the other's writes (a checkpoint's fsync on this file system also
     * flushed what the other store had written). */
    sync();
    size_t n = messages / ROUNDS > 0 ? messages / ROUNDS : 1;
    for (size_t r = 0; r < ROUNDS; r++) {
        for (size_t k = 0; k < 2; k++) {
            side *x = &sd[(r + k) % 2];
            sync(); /* what the other store left to write is not this one's */
            cost c = round_trip(&x->pair, m, sizeof m - 1, n, (uint64_t)r * 2 * n);
            x->seal[r] = c.seal;
            x->open[r] = c.open;
            x->batched[r] = c.batched;
        }
    }
    side_report(&sd[0]);
    side_report(&sd[1]);
    for (size_t k = 0; k < 2; k++) {
        double sum[ROUNDS];
        for (size_t r = 0; r < ROUNDS; r++)
            sum[r] = sd[k].seal[r] + sd[k].open[r];
        *(k == 0 ? cost_small : cost_large) = bench_median(sum, ROUNDS);
    }
    esession_receiver *r2 = NULL;
    t0 = bench_wall_us();
    BENCH_CHECK("receiver", sd[1].alice.ctx,
                esession_receiver_new(sd[1].alice.ctx, sd[1].alice.ks, &r2));
    printf("  %-52s %9.1f ms\n", "receiver start over them", (bench_wall_us() - t0) / 1e3);
    esession_receiver_free(r2);
    side_close(&sd[0]);
    side_close(&sd[1]);
    free(sd);
}
