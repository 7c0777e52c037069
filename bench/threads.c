/* SPDX-License-Identifier: ISC */
/* Threads in one process on disjoint sessions: each thread has its own
 * context, its own handle on Alice's one keystore (SQLite, on disk) and
 * its own Bob (a keystore of his own), and seals and opens `messages`
 * 1 KiB messages. Returns messages per second over all threads (wall
 * time from a common start to the last thread's end), and prints each
 * thread's CPU time per message beside its wall time and its time
 * waiting for a CPU (other work on the machine). With
 * BENCH_THREADS_SEPARATE set, each thread but the first opens a copy of
 * Alice's store instead: the library's own scaling, without the store's
 * one writer at a time. */
#include "bench.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS_MAX 8u
#define NO_REKEY 1000000u

typedef struct worker {
    bench_party alice; /* this thread's context and handle on Alice's store */
    bench_party bob;
    bench_pair pair;
    size_t messages;
    pthread_barrier_t *start;
    char *msg;
    size_t msg_len;
    double cpu_us;   /* this thread's CPU time over its messages */
    double queue_us; /* and its time ready to run but without a CPU */
} worker;

/* Time the calling thread has spent runnable, waiting for a CPU (Linux
 * schedstat; 0 where there is none). */
static double run_queue_us(void)
{
    unsigned long long run = 0, wait = 0;
    FILE *f = fopen("/proc/thread-self/schedstat", "r");
    if (f == NULL)
        return 0;
    if (fscanf(f, "%llu %llu", &run, &wait) != 2)
        wait = 0;
    fclose(f);
    return (double)wait / 1e3;
}

static void *run(void *arg)
{
    worker *w = arg;
    pthread_barrier_wait(w->start);
    double c0 = bench_cpu_us(), q0 = run_queue_us();
    for (size_t i = 0; i < w->messages; i++)
        bench_pair_message(&w->pair, w->msg, w->msg_len);
    w->cpu_us = bench_cpu_us() - c0;
    w->queue_us = run_queue_us() - q0;
    return NULL;
}

double bench_threads(const char *dir, unsigned threads, size_t messages)
{
    static const int groups[] = {14};
    worker w[THREADS_MAX];
    pthread_t tid[THREADS_MAX];
    pthread_barrier_t start;
    bench_party alice;
    bench_offer offer;
    char name[64], path[1024], jid[64], full[96];
    size_t len = 0;
    char *msg = bench_message(1024, &len);

    if (threads == 0 || threads > THREADS_MAX)
        bench_fail("threads: 1 to %u", THREADS_MAX);
    memset(w, 0, sizeof w);
    snprintf(name, sizeof name, "threads%u-alice", threads);
    bench_party_open(&alice, name, "tests/data/vec_rsa_alice.pem", NULL, dir, ESESSION_DH_DEFAULT);
    snprintf(path, sizeof path, "%s/%s.ks", dir, name);
    for (unsigned t = 0; t < threads; t++) {
        unsigned alerts = 0;
        snprintf(name, sizeof name, "threads%u-bob%u", threads, t);
        bench_party_open(&w[t].bob, name, "tests/data/vec_rsa_bob.pem", NULL, dir,
                         ESESSION_DH_DEFAULT);
        snprintf(jid, sizeof jid, "bob%u@example.com", t);
        BENCH_CHECK("trust", alice.ctx, esession_trust_add(alice.ks, jid, w[t].bob.key, "", &alerts));
        bench_trust_bob_only(&alice, &w[t].bob);
    }
    bench_publish(&alice, &w[0].bob, groups, 1, &offer);
    for (unsigned t = 0; t < threads; t++) {
        BENCH_CHECK("context", NULL, esession_ctx_new(&w[t].alice.ctx, NULL, ESESSION_VERSION_MAJOR,
                                                      ESESSION_VERSION_MINOR));
        char own[1100];
        snprintf(own, sizeof own, "%s.%u", path, t);
        if (getenv("BENCH_THREADS_SEPARATE") != NULL && t > 0) {
            char cmd[4800];
            snprintf(cmd, sizeof cmd, "cp '%s' '%s'; cp '%s-wal' '%s-wal'", path, own, path, own);
            if (system(cmd) != 0)
                bench_fail("cp");
        }
        BENCH_CHECK("open", w[t].alice.ctx,
                    esession_keystore_open(w[t].alice.ctx, &w[t].alice.ks,
                                           getenv("BENCH_THREADS_SEPARATE") != NULL && t > 0 ? own : path, "pw", 2));
        snprintf(full, sizeof full, "bob%u@example.com/laptop", t);
        bench_pair_start(&w[t].pair, &w[t].alice, &w[t].bob, &offer, full, NO_REKEY, NULL);
        w[t].messages = messages;
        w[t].start = &start;
        w[t].msg = msg;
        w[t].msg_len = len;
    }

    pthread_barrier_init(&start, NULL, threads + 1);
    for (unsigned t = 0; t < threads; t++)
        if (pthread_create(&tid[t], NULL, run, &w[t]) != 0)
            bench_fail("threads: cannot start a thread");
    pthread_barrier_wait(&start);
    double t0 = bench_wall_us();
    for (unsigned t = 0; t < threads; t++)
        pthread_join(tid[t], NULL);
    double t1 = bench_wall_us();
    pthread_barrier_destroy(&start);
    /* CPU against wall time per message: a thread that waited (for the
     * store's lock, or for a CPU that other work held) shows the gap. */
    double cpu = 0, queue = 0, per = (double)threads * (double)messages;
    for (unsigned t = 0; t < threads; t++) {
        cpu += w[t].cpu_us;
        queue += w[t].queue_us;
    }
    printf("  %u thread%s, per message and thread: %.1f us wall, %.1f us CPU, %.1f us "
           "waiting for a CPU\n", threads, threads > 1 ? "s" : "", (t1 - t0) / (double)messages,
           cpu / per, queue / per);

    for (unsigned t = 0; t < threads; t++) {
        bench_pair_end(&w[t].pair);
        esession_keystore_free(w[t].alice.ks);
        esession_ctx_free(w[t].alice.ctx);
        bench_party_close(&w[t].bob);
    }
    bench_offer_free(&offer);
    bench_party_close(&alice);
    free(msg);
    return (double)threads * (double)messages / ((t1 - t0) / 1e6);
}
