/* SPDX-License-Identifier: ISC */
/* Memory of open sessions at Alice (what her receiver holds for each):
 * heap octets and locked (guarded) octets, and memory mappings, per
 * session with `sessions` open; and how much one session grows over
 * `stanzas` messages. The stores are in memory, and what they hold is the
 * host's database, not the session's memory: their own count of octets is
 * taken off. Each measure starts from a fresh context and keystore handle
 * (a pool of its own) and a new receiver, which then opens one new stanza
 * of each session: every session measured is loaded, keyed and has just
 * received a message, as an open session in use. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_REKEY 1000000u

static const char text[] = "<message to='" BENCH_ALICE "' type='chat'><body>hi</body></message>";

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
    double heap, lck, maps, host;
} reading;

static reading now(const bench_mem *mem)
{
    reading r = {(double)bench_heap(), (double)locked(), (double)bench_mappings(),
                 (double)bench_mem_bytes(mem)};
    return r;
}

/* Seal a message on s (marked sent) into *out. */
static void seal(bench_party *bob, esession_sender *s, esession_buf *out)
{
    BENCH_CHECK("seal", bob->ctx, esession_sender_seal(s, text, sizeof text - 1, out));
    BENCH_CHECK("sent", bob->ctx, esession_sender_sent(bob->ctx, bob->ks, out));
}

/* Feed st to r and confirm what opens. */
static void open_one(esession_ctx *ctx, esession_receiver *r, const esession_buf *st)
{
    esession_result res;
    BENCH_CHECK("feed", ctx, esession_receiver_feed(r, st->data, st->len, 0));
    while (esession_receiver_next(r, &res)) {
        if (res.kind != ESESSION_RESULT_MESSAGE)
            bench_die("memory: not a message", ctx, res.error);
        BENCH_CHECK("confirm", ctx, esession_receiver_confirm(r, &res));
        esession_result_free(&res);
    }
}

/* Alice's store opened afresh; the n new stanzas opened by a new
 * receiver; what that left held (host memory taken off) in *used, the
 * mappings it added in *maps. */
static void measure(bench_mem *mem, const esession_buf *st, size_t n, double *used, double *maps)
{
    static esession_host_ops host = {NULL, NULL, NULL, NULL, &bench_mem_ops, NULL, NULL};
    esession_ctx_options o = ESESSION_CTX_OPTIONS_INIT;
    esession_ctx *ctx = NULL;
    esession_keystore *ks = NULL;
    esession_receiver *r = NULL;
    o.ops = &host;
    o.user = mem;
    BENCH_CHECK("context", NULL,
                esession_ctx_new(&ctx, &o, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR));
    BENCH_CHECK("open", ctx, esession_keystore_open(ctx, &ks, "mem-alice", "pw", 2));
    BENCH_CHECK("receiver", ctx, esession_receiver_new(ctx, ks, &r));
    reading before = now(mem);
    for (size_t i = 0; i < n; i++)
        open_one(ctx, r, &st[i]);
    reading after = now(mem);
    *used = (after.heap - before.heap) - (after.host - before.host) + (after.lck - before.lck);
    *maps = after.maps - before.maps;
    esession_receiver_free(r);
    esession_keystore_free(ks);
    esession_ctx_free(ctx);
}

void bench_memory_measure(size_t sessions, size_t stanzas, bench_memory *out)
{
    static const int groups[] = {14};
    bench_mem *mem = bench_mem_new();
    bench_party alice, bob;
    bench_offer offer;
    esession_sender_options so = ESESSION_SENDER_OPTIONS_INIT;
    esession_buf *next = calloc(sessions + 1, sizeof *next);
    esession_receiver *r = NULL;
    if (next == NULL)
        bench_fail("out of memory");
    so.rekey_freq = NO_REKEY;

    bench_party_open(&alice, "mem-alice", "tests/data/vec_rsa_alice.pem", mem, ".",
                     ESESSION_DH_DEFAULT);
    bench_party_open(&bob, "mem-bob", "tests/data/vec_rsa_bob.pem", mem, ".",
                     ESESSION_DH_DEFAULT);
    bench_trust_each_other(&alice, &bob);
    bench_publish(&alice, &bob, groups, 1, &offer);
    BENCH_CHECK("receiver", alice.ctx, esession_receiver_new(alice.ctx, alice.ks, &r));

    /* sessions + 1 sessions: their first stanza opened now, a second kept
     * for the measures (the last session's for the growth below). Bob
     * moves on to the next without ending any. */
    esession_sender *last = NULL;
    for (size_t i = 0; i <= sessions; i++) {
        esession_sender *s = NULL;
        esession_buf first = {0};
        BENCH_CHECK("start", bob.ctx,
                    esession_sender_start(bob.ctx, bob.ks, BENCH_BOB_FULL, BENCH_ALICE, offer.id,
                                          offer.result, offer.len, &so, &s));
        seal(&bob, s, &first);
        open_one(alice.ctx, r, &first);
        esession_buf_free(&first);
        seal(&bob, s, &next[i]);
        if (i == sessions) {
            last = s; /* kept going below */
        } else {
            esession_buf term = {0};
            BENCH_CHECK("end", bob.ctx, esession_sender_terminate(s, &term));
            esession_buf_free(&term); /* never reaches Alice: her session stays open */
            esession_sender_free(s);
        }
    }
    esession_receiver_free(r);

    double used = 0, maps = 0;
    measure(mem, next, sessions, &used, &maps);
    out->per_session = used / (double)sessions;
    out->maps_per_session = maps / (double)sessions;

    /* One session, after 1 stanza and after `stanzas`. */
    double young = 0, old = 0;
    measure(mem, &next[sessions], 1, &young, &maps);
    BENCH_CHECK("receiver", alice.ctx, esession_receiver_new(alice.ctx, alice.ks, &r));
    esession_buf b = {0};
    for (size_t i = 2; i < stanzas; i++) {
        seal(&bob, last, &b);
        open_one(alice.ctx, r, &b);
        esession_buf_free(&b);
    }
    esession_receiver_free(r);
    seal(&bob, last, &b);
    measure(mem, &b, 1, &old, &maps);
    esession_buf_free(&b);
    out->growth = old - young;
    esession_sender_free(last);

    for (size_t i = 0; i <= sessions; i++)
        esession_buf_free(&next[i]);
    free(next);
    bench_offer_free(&offer);
    bench_party_close(&alice);
    bench_party_close(&bob);
    bench_mem_free(mem);
}
