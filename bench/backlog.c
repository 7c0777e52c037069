/* SPDX-License-Identifier: ISC */
/* Alice's backlog: `sessions` Bobs each left `stanzas` stanzas while she
 * was offline (the first with its <init>), delivered interleaved, as a
 * server hands out stored messages in arrival order. Alice's keystore is
 * the default SQLite store on disk with the default durability; the
 * stanzas are made beforehand (untimed). Returns the wall time of opening
 * them all, confirming every message, one transaction per stanza or one
 * per `batch` stanzas. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char text[] = "<message to='" BENCH_ALICE "' type='chat'><body>A message of about "
                           "a hundred octets, as people type them into a chat window.</body>"
                           "</message>";

double bench_backlog(const char *dir, size_t sessions, size_t stanzas, size_t batch,
                     double *cpu)
{
    static const int groups[] = {14};
    bench_mem *mem = bench_mem_new();
    bench_party alice, bob;
    bench_offer offer;
    char sub[64];
    esession_buf *st = calloc(sessions * stanzas, sizeof *st);
    if (st == NULL)
        bench_fail("out of memory");

    snprintf(sub, sizeof sub, "backlog%zu-alice", batch);
    bench_party_open(&alice, sub, "tests/data/vec_rsa_alice.pem", NULL, dir,
                     ESESSION_DH_DEFAULT);
    bench_party_open(&bob, "backlog-bob", "tests/data/vec_rsa_bob.pem", mem, dir,
                     ESESSION_DH_DEFAULT);
    bench_trust_each_other(&alice, &bob);
    bench_publish(&alice, &bob, groups, 1, &offer);
    for (size_t i = 0; i < sessions; i++) {
        esession_sender *s = NULL;
        esession_buf term = {0};
        BENCH_CHECK("start", bob.ctx,
                    esession_sender_start(bob.ctx, bob.ks, BENCH_BOB_FULL, BENCH_ALICE, offer.id,
                                          offer.result, offer.len, NULL, &s));
        for (size_t j = 0; j < stanzas; j++) {
            esession_buf *b = &st[j * sessions + i];
            BENCH_CHECK("seal", bob.ctx, esession_sender_seal(s, text, sizeof text - 1, b));
            BENCH_CHECK("sent", bob.ctx, esession_sender_sent(bob.ctx, bob.ks, b));
        }
        /* Bob moves on (the termination never reaches Alice). */
        BENCH_CHECK("end", bob.ctx, esession_sender_terminate(s, &term));
        BENCH_CHECK("sent", bob.ctx, esession_sender_sent(bob.ctx, bob.ks, &term));
        esession_buf_free(&term);
        esession_sender_free(s);
    }

    size_t n = sessions * stanzas, opened = 0;
    esession_receiver *r = NULL;
    esession_result res;
    double t0 = bench_wall_us(), c0 = bench_cpu_us();
    BENCH_CHECK("receiver", alice.ctx, esession_receiver_new(alice.ctx, alice.ks, &r));
    for (size_t k = 0; k < n; k++) {
        if (batch > 1 && k % batch == 0)
            BENCH_CHECK("begin", alice.ctx, esession_keystore_begin(alice.ks));
        BENCH_CHECK("open", alice.ctx, esession_receiver_feed(r, st[k].data, st[k].len, k));
        while (esession_receiver_next(r, &res)) {
            if (res.kind == ESESSION_RESULT_MESSAGE) {
                BENCH_CHECK("confirm", alice.ctx, esession_receiver_confirm(r, &res));
                opened++;
            }
            esession_result_free(&res);
        }
        if (batch > 1 && (k % batch == batch - 1 || k + 1 == n))
            BENCH_CHECK("commit", alice.ctx, esession_keystore_commit(alice.ks));
    }
    double t1 = bench_wall_us(), c1 = bench_cpu_us();
    if (cpu != NULL)
        *cpu = (c1 - c0) / 1e6;
    if (opened != n)
        bench_fail("backlog: %zu of %zu messages opened", opened, n);
    esession_receiver_free(r);
    for (size_t k = 0; k < n; k++)
        esession_buf_free(&st[k]);
    free(st);
    bench_offer_free(&offer);
    bench_party_close(&alice);
    bench_party_close(&bob);
    bench_mem_free(mem);
    return (t1 - t0) / 1e6;
}
