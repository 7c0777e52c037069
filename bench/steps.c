/* SPDX-License-Identifier: ISC */
/* The project's own steps, each one operation through the public API:
 * Alice publishing, Bob starting (with his first stanza), Alice accepting
 * it, and a 1 KiB message sealed and opened, over the in-memory host store
 * and over the default SQLite store. */
#include "bench.h"

#include "../store/store.h"

#include <stdlib.h>
#include <string.h>

#define BATCH 8u           /* messages per sample */
#define MESSAGE_BYTES 1024u
#define NO_REKEY 1000000u  /* messages are measured without re-keys */

struct bench_steps {
    bench_mem *mem;
    bench_party alice_m, bob_m, alice_d, bob_d;
    bench_party bob2_m, bob2_d;  /* Bob's messages: a keystore holds one session per contact */
    bench_offer offer_m, offer_d;
    esession_receiver *inbox_m, *inbox_d; /* Alice's, for the handshakes */
    bench_pair msg_m, msg_d;
    char *msg;
    size_t msg_len;
    uint64_t tag;
};

static const int groups[] = {5, 14, 15};

bench_steps *bench_steps_new(const char *dir)
{
    bench_steps *s = calloc(1, sizeof *s);
    if (s == NULL)
        bench_fail("out of memory");
    s->mem = bench_mem_new();
    bench_party_open(&s->alice_m, "alice", "tests/data/vec_rsa_alice.pem", s->mem, dir,
                     ESESSION_DH_DEFAULT);
    bench_party_open(&s->bob_m, "bob", "tests/data/vec_rsa_bob.pem", s->mem, dir,
                     ESESSION_DH_DEFAULT);
    bench_party_open(&s->alice_d, "alice", "tests/data/vec_rsa_alice.pem", NULL, dir,
                     ESESSION_DH_DEFAULT);
    bench_party_open(&s->bob_d, "bob", "tests/data/vec_rsa_bob.pem", NULL, dir,
                     ESESSION_DH_DEFAULT);
    bench_party_open(&s->bob2_m, "bob2", "tests/data/vec_rsa_bob.pem", s->mem, dir,
                     ESESSION_DH_DEFAULT);
    bench_party_open(&s->bob2_d, "bob2", "tests/data/vec_rsa_bob.pem", NULL, dir,
                     ESESSION_DH_DEFAULT);
    bench_trust_each_other(&s->alice_m, &s->bob_m);
    bench_trust_each_other(&s->alice_d, &s->bob_d);
    bench_trust_bob_only(&s->alice_m, &s->bob2_m);
    bench_trust_bob_only(&s->alice_d, &s->bob2_d);
    bench_publish(&s->alice_m, &s->bob_m, groups, 3, &s->offer_m);
    bench_publish(&s->alice_d, &s->bob_d, groups, 3, &s->offer_d);
    BENCH_CHECK("receiver", s->alice_m.ctx,
                esession_receiver_new(s->alice_m.ctx, s->alice_m.ks, &s->inbox_m));
    BENCH_CHECK("receiver", s->alice_d.ctx,
                esession_receiver_new(s->alice_d.ctx, s->alice_d.ks, &s->inbox_d));
    /* The message sessions come from another device of Bob's (another
     * keystore), so that the handshakes can start and end theirs beside
     * them. */
    bench_pair_start(&s->msg_m, &s->alice_m, &s->bob2_m, &s->offer_m, "bob@example.com/phone",
                     NO_REKEY, s->inbox_m);
    s->msg = bench_message(MESSAGE_BYTES, &s->msg_len);
    return s;
}

void bench_steps_free(bench_steps *s)
{
    if (s == NULL)
        return;
    bench_pair_end(&s->msg_m);
    if (s->msg_d.s != NULL)
        bench_pair_end(&s->msg_d);
    esession_receiver_free(s->inbox_m);
    esession_receiver_free(s->inbox_d);
    bench_offer_free(&s->offer_m);
    bench_offer_free(&s->offer_d);
    bench_party_close(&s->alice_m);
    bench_party_close(&s->bob_m);
    bench_party_close(&s->alice_d);
    bench_party_close(&s->bob_d);
    bench_party_close(&s->bob2_m);
    bench_party_close(&s->bob2_d);
    bench_mem_free(s->mem);
    free(s->msg);
    free(s);
}

/* Bob: start and seal his first stanza (marked sent); Alice: open it. */
static void handshake(bench_steps *s, bench_party *alice, bench_party *bob,
                      const bench_offer *offer, esession_receiver *inbox, double *bob_us,
                      double *alice_us)
{
    static const char first[] = "<message to='" BENCH_ALICE "' type='chat'><body>hello"
                                "</body></message>";
    esession_sender *snd = NULL;
    esession_buf st = {0}, term = {0};
    esession_result res;
    int got = 0;

    double t0 = bench_cpu_us();
    BENCH_CHECK("start", bob->ctx,
                esession_sender_start(bob->ctx, bob->ks, BENCH_BOB_FULL, BENCH_ALICE, offer->id,
                                      offer->result, offer->len, NULL, &snd));
    BENCH_CHECK("seal", bob->ctx, esession_sender_seal(snd, first, sizeof first - 1, &st));
    BENCH_CHECK("sent", bob->ctx, esession_sender_sent(bob->ctx, bob->ks, &st));
    double t1 = bench_cpu_us();
    BENCH_CHECK("open", alice->ctx, esession_receiver_feed(inbox, st.data, st.len, s->tag++));
    while (esession_receiver_next(inbox, &res)) {
        if (res.kind != ESESSION_RESULT_MESSAGE)
            bench_die("accept: not a message", alice->ctx, res.error);
        BENCH_CHECK("confirm", alice->ctx, esession_receiver_confirm(inbox, &res));
        esession_result_free(&res);
        got++;
    }
    double t2 = bench_cpu_us();
    if (got != 1)
        bench_fail("accept: %d results", got);
    *bob_us = t1 - t0;
    *alice_us = t2 - t1;
    /* Untimed: Bob ends the session so that the next round starts anew. */
    BENCH_CHECK("terminate", bob->ctx, esession_sender_terminate(snd, &term));
    BENCH_CHECK("sent", bob->ctx, esession_sender_sent(bob->ctx, bob->ks, &term));
    esession_buf_free(&term);
    esession_buf_free(&st);
    esession_sender_free(snd);
}

void bench_steps_handshake(bench_steps *s, int disk, double *bob_start, double *alice_accept)
{
    if (disk)
        handshake(s, &s->alice_d, &s->bob_d, &s->offer_d, s->inbox_d, bob_start, alice_accept);
    else
        handshake(s, &s->alice_m, &s->bob_m, &s->offer_m, s->inbox_m, bob_start, alice_accept);
}

double bench_steps_publish(bench_steps *s)
{
    esession_publish_options po = ESESSION_PUBLISH_OPTIONS_INIT;
    esession_publication pub;
    po.groups = groups;
    po.n_groups = 3;
    po.allow_weak_groups = 1;
    double t0 = bench_cpu_us();
    BENCH_CHECK("publish", s->alice_m.ctx, esession_publish(s->alice_m.ctx, s->alice_m.ks, &po,
                                                            &pub));
    double t1 = bench_cpu_us();
    /* Untimed: the set goes again (a keystore holds at most 256). */
    BENCH_CHECK("remove", s->alice_m.ctx,
                es_ks_optset_remove(s->alice_m.ks, pub.nonce, pub.nonce_len));
    esession_publication_free(&pub);
    return t1 - t0;
}

static double messages(bench_steps *s, bench_pair *p)
{
    double t0 = bench_cpu_us();
    for (unsigned i = 0; i < BATCH; i++)
        bench_pair_message(p, s->msg, s->msg_len);
    return (bench_cpu_us() - t0) / BATCH;
}

double bench_steps_message_mem(bench_steps *s)
{
    return messages(s, &s->msg_m);
}

double bench_steps_message_disk(bench_steps *s)
{
    if (s->msg_d.s == NULL)
        bench_pair_start(&s->msg_d, &s->alice_d, &s->bob2_d, &s->offer_d,
                         "bob@example.com/phone", NO_REKEY, s->inbox_d);
    return messages(s, &s->msg_d);
}
