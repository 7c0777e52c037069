/* SPDX-License-Identifier: ISC */
/* esession-bench (`make bench`): the library's steps beside the floors of
 * the primitives they use and beside libotr and libsignal-protocol-c, all
 * in one process, interleaved round by round, each figure the median of
 * its rounds (thread CPU time); then the whole-run measures (backlog,
 * threads, memory, store size; wall time). It ends with one line per goal:
 *
 *   RATIO <name> <measured> <goal> ok|over
 *
 * Environment: BENCH_DIR (default /tmp) for the on-disk stores,
 * BENCH_ROUNDS (31), BENCH_BACKLOG_SESSIONS (1000; 0 skips),
 * BENCH_BACKLOG_STANZAS (10), BENCH_THREAD_MESSAGES (400; 0 skips),
 * BENCH_MEMORY_SESSIONS (100), BENCH_MEMORY_STANZAS (100000; 0 skips),
 * BENCH_MANY (100000; 0 skips the store-size comparison),
 * BENCH_MANY_MESSAGES (576), BENCH_THREADS_SEPARATE (set: each thread on
 * its own copy of Alice's store). No figure here is asserted anywhere: the
 * goals are reported, never tested.
 *
 * The backlog goal is measured as esession.h tells Alice's client to
 * process one (batches: begin, feed, confirm, commit; 64 stanzas a
 * batch); one transaction per stanza is shown beside it. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    R_PUBLISH, R_BOB_MEM, R_ALICE_MEM, R_BOB_DISK, R_ALICE_DISK, R_MSG_MEM, R_MSG_DISK,
    R_MODEXP5, R_MODEXP14, R_MODEXP15, R_SIGN, R_VERIFY, R_AES_HMAC, R_XML,
    R_OTR_AKE, R_OTR_MSG, R_SIG_INIT, R_SIG_RESP, R_SIG_MSG, R_COUNT
};

static const char *const row_name[R_COUNT] = {
    "esession publish {5,14,15}, RSA-2048",
    "esession Bob start (group 14) + first stanza, mem",
    "esession Alice accept + open first stanza, mem",
    "esession Bob start (group 14) + first stanza, disk",
    "esession Alice accept + open first stanza, disk",
    "esession 1 KiB seal+sent+open+confirm, mem",
    "esession 1 KiB seal+sent+open+confirm, disk",
    "floor modexp group 5 (320-bit exponent)",
    "floor modexp group 14 (320-bit exponent)",
    "floor modexp group 15 (320-bit exponent)",
    "floor RSA-2048 sign (SHA-256, PKCS#1 v1.5)",
    "floor RSA-2048 verify",
    "floor AES-256-CTR + HMAC-SHA-256, 1 KiB",
    "floor libxml2 build + parse <c/>, 1 KiB",
    "libotr AKE (both sides)",
    "libotr 1 KiB one way (send + receive)",
    "libsignal X3DH initiator (+ first message)",
    "libsignal X3DH responder (first message)",
    "libsignal 1 KiB one way (encrypt + decrypt)",
};

typedef struct parts {
    bench_steps *steps;
    bench_floors *floors;
    bench_otr *otr;
    bench_signal *sig;
} parts;

static void one_round(parts *p, double v[R_COUNT])
{
    v[R_PUBLISH] = bench_steps_publish(p->steps);
    bench_steps_handshake(p->steps, 0, &v[R_BOB_MEM], &v[R_ALICE_MEM]);
    bench_steps_handshake(p->steps, 1, &v[R_BOB_DISK], &v[R_ALICE_DISK]);
    v[R_MSG_MEM] = bench_steps_message_mem(p->steps);
    v[R_MSG_DISK] = bench_steps_message_disk(p->steps);
    v[R_MODEXP5] = bench_floor_modexp(p->floors, 5);
    v[R_MODEXP14] = bench_floor_modexp(p->floors, 14);
    v[R_MODEXP15] = bench_floor_modexp(p->floors, 15);
    v[R_SIGN] = bench_floor_rsa_sign(p->floors);
    v[R_VERIFY] = bench_floor_rsa_verify(p->floors);
    v[R_AES_HMAC] = bench_floor_aes_hmac(p->floors);
    v[R_XML] = bench_floor_xml(p->floors);
    v[R_OTR_AKE] = bench_otr_ake(p->otr);
    v[R_OTR_MSG] = bench_otr_message(p->otr);
    bench_signal_x3dh(p->sig, &v[R_SIG_INIT], &v[R_SIG_RESP]);
    v[R_SIG_MSG] = bench_signal_message(p->sig);
}

static void load_average(const char *when)
{
    double l[3] = {0, 0, 0};
    FILE *f = fopen("/proc/loadavg", "r");
    if (f != NULL) {
        if (fscanf(f, "%lf %lf %lf", &l[0], &l[1], &l[2]) != 3)
            l[0] = l[1] = l[2] = 0;
        fclose(f);
    }
    printf("load average %s: %.2f %.2f %.2f (%ld CPUs)\n", when, l[0], l[1], l[2],
           sysconf(_SC_NPROCESSORS_ONLN));
}

typedef struct goal {
    const char *name;
    double measured;
    double limit;
    int at_least; /* the goal is measured >= limit */
    int have;
} goal;

static void ratio(const goal *g)
{
    if (!g->have) {
        printf("RATIO %s - %s%.2f skipped\n", g->name, g->at_least ? ">=" : "", g->limit);
        return;
    }
    int ok = g->at_least ? g->measured >= g->limit : g->measured <= g->limit;
    printf("RATIO %s %.2f %s%.2f %s\n", g->name, g->measured, g->at_least ? ">=" : "", g->limit,
           ok ? "ok" : "over");
}

int main(void)
{
    const char *base = getenv("BENCH_DIR") != NULL ? getenv("BENCH_DIR") : "/tmp";
    size_t rounds = bench_env("BENCH_ROUNDS", 31);
    char dir[512];
    double med[R_COUNT];
    parts p;

    snprintf(dir, sizeof dir, "%s/esession-bench-XXXXXX", base);
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("esession-bench %s: %zu rounds, stores under %s\n", esession_version(), rounds, dir);
    load_average("at start");

    p.steps = bench_steps_new(dir);
    p.floors = bench_floors_new();
    p.otr = bench_otr_new();
    p.sig = bench_signal_new();
    double *samples = calloc(rounds * R_COUNT, sizeof *samples);
    if (samples == NULL || rounds == 0)
        bench_fail("no rounds");
    double warm[R_COUNT];
    one_round(&p, warm); /* caches, lazy set-up */
    for (size_t r = 0; r < rounds; r++) {
        double v[R_COUNT];
        one_round(&p, v);
        for (size_t k = 0; k < R_COUNT; k++)
            samples[k * rounds + r] = v[k];
    }
    printf("\n%-54s %12s\n", "median of rounds, thread CPU", "us");
    for (size_t k = 0; k < R_COUNT; k++) {
        med[k] = bench_median(&samples[k * rounds], rounds);
        printf("%-54s %12.1f\n", row_name[k], med[k]);
    }
    free(samples);
    bench_steps_free(p.steps);
    bench_floors_free(p.floors);
    bench_otr_free(p.otr);
    bench_signal_free(p.sig);

    /* What each step cannot avoid: its primitives, called directly. */
    double f_bob = med[R_VERIFY] + 2 * med[R_MODEXP14] + med[R_SIGN] + 2 * med[R_AES_HMAC] +
                   2 * med[R_XML];
    double f_alice = med[R_MODEXP14] + med[R_VERIFY] + 2 * med[R_AES_HMAC] + 2 * med[R_XML];
    double f_publish = med[R_MODEXP5] + med[R_MODEXP14] + med[R_MODEXP15] + med[R_SIGN];
    double f_msg = 2 * med[R_AES_HMAC] + med[R_XML];
    printf("\n%-44s %10s %10s %8s\n", "step (mem: in-memory host store)", "esession", "floor",
           "x floor");
    printf("%-44s %10.1f %10.1f %8.2f\n", "Bob start + first stanza, mem", med[R_BOB_MEM], f_bob,
           med[R_BOB_MEM] / f_bob);
    printf("%-44s %10.1f %10.1f %8.2f\n", "Bob start + first stanza, disk", med[R_BOB_DISK],
           f_bob, med[R_BOB_DISK] / f_bob);
    printf("%-44s %10.1f %10.1f %8.2f\n", "Alice accept + open first, mem", med[R_ALICE_MEM],
           f_alice, med[R_ALICE_MEM] / f_alice);
    printf("%-44s %10.1f %10.1f %8.2f\n", "Alice accept + open first, disk", med[R_ALICE_DISK],
           f_alice, med[R_ALICE_DISK] / f_alice);
    printf("%-44s %10.1f %10.1f %8.2f\n", "publish {5,14,15}", med[R_PUBLISH], f_publish,
           med[R_PUBLISH] / f_publish);
    printf("%-44s %10.1f %10.1f %8.2f\n", "1 KiB seal+open, mem", med[R_MSG_MEM], f_msg,
           med[R_MSG_MEM] / f_msg);
    printf("%-44s %10.1f %10.1f %8.2f\n", "1 KiB seal+open, disk", med[R_MSG_DISK], f_msg,
           med[R_MSG_DISK] / f_msg);
    printf("floors: Bob = verify + 2 modexp + sign + 2 (AES+HMAC) + 2 XML; Alice = modexp + "
           "verify + 2 (AES+HMAC) + 2 XML;\n        publish = 3 modexp + sign; message = 2 "
           "(AES+HMAC) + XML\n");

    goal g[] = {
        {"bob_start_vs_floor", med[R_BOB_MEM] / f_bob, 1.15, 0, 1},
        {"alice_accept_vs_floor", med[R_ALICE_MEM] / f_alice, 1.15, 0, 1},
        {"publish_vs_floor", med[R_PUBLISH] / f_publish, 1.15, 0, 1},
        {"message_mem_vs_libotr", med[R_MSG_MEM] / med[R_OTR_MSG], 1.0, 0, 1},
        {"message_sqlite_vs_libsignal", med[R_MSG_DISK] / med[R_SIG_MSG], 1.0, 0, 1},
        {"backlog_1000x10_batched_seconds", 0, 2.0, 0, 0},
        {"threads_2_vs_1", 0, 1.8, 1, 0},
        {"memory_per_session_kib", 0, 16.0, 0, 0},
        {"memory_after_100k_stanzas_kib", 0, 16.0, 0, 0},
        {"store_100k_vs_10", 0, 1.10, 0, 0},
    };

    size_t b_sessions = bench_env("BENCH_BACKLOG_SESSIONS", 1000);
    size_t b_stanzas = bench_env("BENCH_BACKLOG_STANZAS", 10);
    if (b_sessions > 0 && b_stanzas > 0) {
        printf("\nbacklog: %zu sessions x %zu stanzas, SQLite on disk, wall time\n", b_sessions,
               b_stanzas);
        double cpu1 = 0, cpu64 = 0;
        double one = bench_backlog(dir, b_sessions, b_stanzas, 1, &cpu1);
        printf("  %-52s %9.2f s (%.2f s CPU)\n", "one transaction per stanza", one, cpu1);
        double batched = bench_backlog(dir, b_sessions, b_stanzas, 64, &cpu64);
        printf("  %-52s %9.2f s (%.2f s CPU)\n", "batches of 64 stanzas (esession.h)", batched,
               cpu64);
        g[5].measured = batched;
        g[5].have = b_sessions == 1000 && b_stanzas == 10;
    }
    size_t t_msgs = bench_env("BENCH_THREAD_MESSAGES", 400);
    if (t_msgs > 0) {
        printf("\nthreads: disjoint sessions, one Alice store (SQLite), 1 KiB messages\n");
        double one = bench_threads(dir, 1, t_msgs);
        double two = bench_threads(dir, 2, t_msgs);
        printf("  %-52s %9.0f msg/s\n", "one thread", one);
        printf("  %-52s %9.0f msg/s\n", "two threads", two);
        g[6].measured = two / one;
        g[6].have = 1;
    }
    size_t m_sessions = bench_env("BENCH_MEMORY_SESSIONS", 100);
    size_t m_stanzas = bench_env("BENCH_MEMORY_STANZAS", 100000);
    if (m_sessions > 0 && m_stanzas > 0) {
        bench_memory mm;
        printf("\nmemory at Alice, %zu open sessions; one session over %zu stanzas\n",
               m_sessions, m_stanzas);
        bench_memory_measure(m_sessions, m_stanzas, &mm);
        printf("  %-52s %9.1f KiB\n", "heap + locked memory per open session",
               mm.per_session / 1024);
        printf("  %-52s %9.2f\n", "memory mappings per open session", mm.maps_per_session);
        printf("  %-52s %9.1f KiB\n", "growth of one session over the stanzas",
               mm.growth / 1024);
        g[7].measured = mm.per_session / 1024;
        g[7].have = 1;
        g[8].measured = (mm.per_session + mm.growth) / 1024;
        g[8].have = m_stanzas >= 100000;
    }
    size_t many = bench_env("BENCH_MANY", 100000);
    if (many > 10) {
        double small = 0, large = 0;
        printf("\nstore size: 10 and %zu other records at each side, SQLite on disk, wall time\n",
               many);
        bench_store_size(dir, 10, many, bench_env("BENCH_MANY_MESSAGES", 576), &small, &large);
        g[9].measured = large / small;
        g[9].have = many >= 100000;
    }

    printf("\n");
    load_average("at the end");
    for (size_t k = 0; k < sizeof g / sizeof g[0]; k++)
        ratio(&g[k]);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "esession-bench: could not remove %s\n", dir);
    return 0;
}
