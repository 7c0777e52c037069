/* SPDX-License-Identifier: ISC */
/* Memory of open sessions at Alice (what her receiver holds for each):
 * heap octets and locked (guarded) octets, and memory mappings, per
 * session with `sessions` open; and how much one session grows over
 * `stanzas` messages. The stores are in memory: what they hold is the
 * host's database, not the session's memory, and is left out by loading
 * the sessions into a fresh receiver on a fresh context and keystore
 * handle (its own pool of secret memory), by a copy of a stanza already
 * opened, which changes nothing stored. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_REKEY 1000000u

static size_t locked(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kb = 0;
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmLck: %zu kB", &kb) == 1)
            break;
    fclose(f);
    return kb * 1024;
}

typedef struct reading {
    double heap, lck, maps;
} reading;

static reading now(void)
{
    reading r = {(double)bench_heap(), (double)locked(), (double)bench_mappings()};
    return r;
}

/* Octets from before to after (heap and locked). */
static double grown(reading before, reading after)
{
    return (after.heap - before.heap) + (after.lck - before.lck);
}

/* Alice on a context and handle of their own. */
typedef struct fresh {
    esession_ctx *ctx;
    esession_keystore *ks;
    esession_receiver *r;
} fresh;

static void fresh_free(fresh *f)
{
    esession_receiver_free(f->r);
    esession_keystore_free(f->ks);
    esession_ctx_free(f->ctx);
}

/* Open Alice's store afresh and load into a new receiver the sessions of
 * the n stanzas given; what that took is *used. */
static void load(bench_mem *mem, esession_buf *st, size_t n, fresh *f, double *used,
                 double *maps)
{
    static esession_host_ops host = {NULL, NULL, NULL, NULL, &bench_mem_ops, NULL, NULL};
    esession_ctx_options o = ESESSION_CTX_OPTIONS_INIT;
    esession_result res;
    o.ops = &host;
    o.user = mem;
    BENCH_CHECK("context", NULL,
                esession_ctx_new(&f->ctx, &o, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR));
    BENCH_CHECK("open", f->ctx, esession_keystore_open(f->ctx, &f->ks, "mem-alice", "pw", 2));
    BENCH_CHECK("receiver", f->ctx, esession_receiver_new(f->ctx, f->ks, &f->r));
    reading before = now();
    for (size_t i = 0; i < n; i++) {
        BENCH_CHECK("feed", f->ctx, esession_receiver_feed(f->r, st[i].data, st[i].len, i));
        while (esession_receiver_next(f->r, &res)) {
            if (res.kind != ESESSION_RESULT_DUPLICATE)
                bench_fail("memory: a copy came out as %d", (int)res.kind);
            esession_result_free(&res);
        }
    }
    reading after = now();
    *used = grown(before, after);
    *maps = after.maps - before.maps;
}

/* Seal m on s and keep a copy of the stanza (marked sent). */
static void seal_keep(bench_party *bob, esession_sender *s, const char *m, size_t len,
                      esession_buf *keep)
{
    BENCH_CHECK("seal", bob->ctx, esession_sender_seal(s, m, len, keep));
    BENCH_CHECK("sent", bob->ctx, esession_sender_sent(bob->ctx, bob->ks, keep));
}

static void open_all(bench_party *alice, esession_receiver *r, const esession_buf *st)
{
    esession_result res;
    BENCH_CHECK("feed", alice->ctx, esession_receiver_feed(r, st->data, st->len, 0));
    while (esession_receiver_next(r, &res)) {
        if (res.kind == ESESSION_RESULT_MESSAGE)
            BENCH_CHECK("confirm", alice->ctx, esession_receiver_confirm(r, &res));
        esession_result_free(&res);
    }
}

void bench_memory_measure(size_t sessions, size_t stanzas, bench_memory *out)
{
    static const int groups[] = {14};
    static const char m[] = "<message to='" BENCH_ALICE "' type='chat'><body>hi</body></message>";
    bench_mem *mem = bench_mem_new();
    bench_party alice, bob;
    bench_offer offer;
    esession_buf *st = calloc(sessions, sizeof *st);
    esession_receiver *r = NULL;
    if (st == NULL)
        bench_fail("out of memory");

    bench_party_open(&alice, "mem-alice", "tests/data/vec_rsa_alice.pem", mem, ".",
                     ESESSION_DH_DEFAULT);
    bench_party_open(&bob, "mem-bob", "tests/data/vec_rsa_bob.pem", mem, ".", ESESSION_DH_DEFAULT);
    bench_trust_each_other(&alice, &bob);
    bench_publish(&alice, &bob, groups, 1, &offer);
    BENCH_CHECK("receiver", alice.ctx, esession_receiver_new(alice.ctx, alice.ks, &r));

    /* `sessions` sessions, one stanza each, opened. */
    for (size_t i = 0; i < sessions; i++) {
        esession_sender *s = NULL;
        esession_buf term = {0};
        BENCH_CHECK("start", bob.ctx,
                    esession_sender_start(bob.ctx, bob.ks, BENCH_BOB_FULL, BENCH_ALICE, offer.id,
                                          offer.result, offer.len, NULL, &s));
        seal_keep(&bob, s, m, sizeof m - 1, &st[i]);
        open_all(&alice, r, &st[i]);
        BENCH_CHECK("end", bob.ctx, esession_sender_terminate(s, &term));
        esession_buf_free(&term);
        esession_sender_free(s);
    }
    esession_receiver_free(r);
    fresh f;
    double used = 0, maps = 0;
    load(mem, st, sessions, &f, &used, &maps);
    out->per_session = used / (double)sessions;
    out->maps_per_session = maps / (double)sessions;
    fresh_free(&f);

    /* One session over `stanzas` messages: its memory when new and after. */
    esession_sender *s = NULL;
    esession_sender_options so = ESESSION_SENDER_OPTIONS_INIT;
    esession_buf first = {0}, last = {0};
    so.rekey_freq = NO_REKEY;
    BENCH_CHECK("start", bob.ctx,
                esession_sender_start(bob.ctx, bob.ks, BENCH_BOB_FULL, BENCH_ALICE, offer.id,
                                      offer.result, offer.len, &so, &s));
    BENCH_CHECK("receiver", alice.ctx, esession_receiver_new(alice.ctx, alice.ks, &r));
    seal_keep(&bob, s, m, sizeof m - 1, &first);
    open_all(&alice, r, &first);
    esession_receiver_free(r);
    double young = 0;
    load(mem, &first, 1, &f, &young, &maps);
    fresh_free(&f);
    BENCH_CHECK("receiver", alice.ctx, esession_receiver_new(alice.ctx, alice.ks, &r));
    for (size_t i = 1; i < stanzas; i++) {
        esession_buf b = {0};
        seal_keep(&bob, s, m, sizeof m - 1, &b);
        open_all(&alice, r, &b);
        if (i + 1 == stanzas)
            last = b;
        else
            esession_buf_free(&b);
    }
    esession_receiver_free(r);
    double old = 0;
    load(mem, stanzas > 1 ? &last : &first, 1, &f, &old, &maps);
    fresh_free(&f);
    out->growth = old - young;
    esession_sender_free(s);

    for (size_t i = 0; i < sessions; i++)
        esession_buf_free(&st[i]);
    free(st);
    esession_buf_free(&first);
    esession_buf_free(&last);
    bench_offer_free(&offer);
    bench_party_close(&alice);
    bench_party_close(&bob);
    bench_mem_free(mem);
}
