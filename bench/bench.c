/* SPDX-License-Identifier: ISC */
/* esession-bench: the cost of each step of an offline session through the
 * public API, and of sealing and opening with few and with many other
 * sessions in the keystore. Run with `make bench`. Every seal and every open
 * is one committed transaction of the default SQLite store (durable across
 * a process crash), with its outbox or inbox record; BENCH_DIR on a tmpfs
 * shows the computation alone. */
#include "esession.h"

#include "../store/store.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ALICE "alice@example.org"
#define BOB_FULL "bob@example.com/laptop"
#define NODE "http://www.xmpp.org/extensions/xep-0187.html#ns"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, esession_ctx *ctx, esession_status st)
{
    fprintf(stderr, "esession-bench: %s: %s (%s)\n", what, esession_status_name(st),
            ctx ? esession_ctx_error_detail(ctx) : "");
    exit(1);
}

#define CHECK(what, ctx, call) do { esession_status st_ = (call); \
    if (st_ != ESESSION_OK) die(what, ctx, st_); } while (0)

static esession_key *load_key(esession_ctx *ctx, const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        perror(path);
        exit(1);
    }
    char pem[16384];
    size_t n = fread(pem, 1, sizeof pem, fp);
    fclose(fp);
    esession_key *k = NULL;
    CHECK("key", ctx, esession_key_from_pem(ctx, &k, pem, n));
    return k;
}

static void report(const char *what, size_t n, double secs)
{
    printf("%-44s %7zu ops %9.3f ms/op %10.1f ops/s\n", what, n, secs * 1e3 / (double)n,
           (double)n / secs);
}

/* Records standing for Bob's sessions with other contacts: engine
 * records of a session's size under a name no engine object reads. */
static void fill(esession_ctx *ctx, esession_keystore *ks, size_t from, size_t to)
{
    static uint8_t state[2048];
    randombytes_buf(state, sizeof state);
    CHECK("begin", ctx, esession_keystore_begin(ks));
    for (size_t i = from; i < to; i++) {
        char name[64];
        snprintf(name, sizeof name, "bench/session/contact%zu@example.net", i);
        CHECK("fill", ctx, es_ks_blob_put(ks, name, state, sizeof state));
        if (i % 500 == 499) {
            CHECK("commit", ctx, esession_keystore_commit(ks));
            CHECK("begin", ctx, esession_keystore_begin(ks));
        }
    }
    CHECK("commit", ctx, esession_keystore_commit(ks));
}

typedef struct party {
    esession_ctx *ctx;
    esession_keystore *ks;
} party;

/* Real sessions at Alice: a second Bob keystore starts one, seals its
 * first stanza and drops the session (Alice is not told); Alice opens the
 * stanza, so she holds one more open session (JID, thread) each time. */
static void open_sessions(party *a, party *b2, esession_receiver *r, const char *id,
                          const char *result, size_t n)
{
    const char *m = "<message to='" ALICE "' type='chat'><body>hello</body></message>";
    esession_sender_options so = ESESSION_SENDER_OPTIONS_INIT;
    for (size_t i = 0; i < n; i++) {
        esession_sender *s = NULL;
        esession_buf st = {0}, term = {0};
        esession_result res;
        CHECK("start", b2->ctx, esession_sender_start(b2->ctx, b2->ks, BOB_FULL, ALICE, id, result,
                                                      strlen(result), &so, &s));
        CHECK("seal", b2->ctx, esession_sender_seal(s, m, strlen(m), &st));
        CHECK("sent", b2->ctx, esession_sender_sent(b2->ctx, b2->ks, &st));
        CHECK("end", b2->ctx, esession_sender_terminate(s, &term));
        CHECK("sent", b2->ctx, esession_sender_sent(b2->ctx, b2->ks, &term));
        CHECK("open", a->ctx, esession_receiver_feed(r, st.data, st.len, i));
        while (esession_receiver_next(r, &res)) {
            if (res.kind != ESESSION_RESULT_MESSAGE)
                die("open: not a message", a->ctx, res.error);
            CHECK("confirm", a->ctx, esession_receiver_confirm(r, &res));
            esession_result_free(&res);
        }
        esession_buf_free(&st);
        esession_buf_free(&term);
        esession_sender_free(s);
    }
}

/* Seal n messages and open them, one transaction each; then the same
 * opening in batches of 64 (group commit). */
static void round_trip(party *a, party *b, esession_sender *s, esession_receiver *r, size_t n,
                       const char *label)
{
    const char *m = "<message to='" ALICE "' type='chat'><body>A message of about a hundred "
                    "octets, as people type them into a chat window.</body></message>";
    esession_buf *st = calloc(2 * n, sizeof *st);
    char what[96];
    esession_result res;
    if (st == NULL)
        exit(1);
    double t = now_s();
    for (size_t i = 0; i < 2 * n; i++) {
        CHECK("seal", b->ctx, esession_sender_seal(s, m, strlen(m), &st[i]));
        CHECK("sent", b->ctx, esession_sender_sent(b->ctx, b->ks, &st[i]));
    }
    snprintf(what, sizeof what, "seal + sent, %s", label);
    report(what, 2 * n, now_s() - t);

    t = now_s();
    for (size_t i = 0; i < n; i++) {
        CHECK("open", a->ctx, esession_receiver_feed(r, st[i].data, st[i].len, i));
        while (esession_receiver_next(r, &res)) {
            if (res.kind != ESESSION_RESULT_MESSAGE)
                die("open: not a message", a->ctx, res.error);
            CHECK("confirm", a->ctx, esession_receiver_confirm(r, &res));
            esession_result_free(&res);
        }
    }
    snprintf(what, sizeof what, "open + confirm, %s", label);
    report(what, n, now_s() - t);

    t = now_s();
    for (size_t i = n; i < 2 * n; i++) {
        if ((i - n) % 64 == 0)
            CHECK("begin", a->ctx, esession_keystore_begin(a->ks));
        CHECK("open", a->ctx, esession_receiver_feed(r, st[i].data, st[i].len, i));
        while (esession_receiver_next(r, &res)) {
            if (res.kind != ESESSION_RESULT_MESSAGE)
                die("open: not a message", a->ctx, res.error);
            CHECK("confirm", a->ctx, esession_receiver_confirm(r, &res));
            esession_result_free(&res);
        }
        if ((i - n) % 64 == 63 || i + 1 == 2 * n)
            CHECK("commit", a->ctx, esession_keystore_commit(a->ks));
    }
    snprintf(what, sizeof what, "  same, committed every 64, %s", label);
    report(what, n, now_s() - t);
    for (size_t i = 0; i < 2 * n; i++)
        esession_buf_free(&st[i]);
    free(st);
}

int main(int argc, char **argv)
{
    size_t messages = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 200;
    size_t many = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 10000;
    const char *base = getenv("BENCH_DIR") ? getenv("BENCH_DIR") : "/tmp";
    char dir[256], apath[300], bpath[300];
    if (messages < 2)
        messages = 2;
    snprintf(dir, sizeof dir, "%s/esession-bench-XXXXXX", base);
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    char b2path[300];
    snprintf(apath, sizeof apath, "%s/alice.ks", dir);
    snprintf(bpath, sizeof bpath, "%s/bob.ks", dir);
    snprintf(b2path, sizeof b2path, "%s/bob2.ks", dir);

    party a = {NULL, NULL}, b = {NULL, NULL}, b2 = {NULL, NULL};
    CHECK("ctx", NULL, esession_ctx_new(&a.ctx, NULL, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR));
    CHECK("ctx", NULL, esession_ctx_new(&b.ctx, NULL, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR));
    esession_keystore_options ko = ESESSION_KEYSTORE_OPTIONS_INIT;
    ko.kdf_opslimit = crypto_pwhash_argon2id_OPSLIMIT_MIN;
    ko.kdf_memlimit = crypto_pwhash_argon2id_MEMLIMIT_MIN;
    CHECK("keystore", a.ctx, esession_keystore_create(a.ctx, &a.ks, apath, "a", 1, &ko));
    CHECK("keystore", b.ctx, esession_keystore_create(b.ctx, &b.ks, bpath, "b", 1, &ko));
    esession_key *ak = load_key(a.ctx, "tests/data/vec_rsa_alice.pem");
    esession_key *bk = load_key(b.ctx, "tests/data/vec_rsa_bob.pem");
    unsigned alerts;
    CHECK("add key", a.ctx, esession_keystore_add_key(a.ks, ak));
    CHECK("add key", b.ctx, esession_keystore_add_key(b.ks, bk));
    CHECK("trust", a.ctx, esession_trust_add(a.ks, "bob@example.com", bk, "", &alerts));
    CHECK("trust", b.ctx, esession_trust_add(b.ks, ALICE, ak, "", &alerts));
    b2.ctx = b.ctx;
    CHECK("keystore", b.ctx, esession_keystore_create(b.ctx, &b2.ks, b2path, "b", 1, &ko));
    CHECK("add key", b.ctx, esession_keystore_add_key(b2.ks, bk));
    CHECK("trust", b.ctx, esession_trust_add(b2.ks, ALICE, ak, "", &alerts));

    /* Alice publishes (groups 14, 15, 16: three exponents, RSA-2048 signing). */
    esession_publication pub;
    double t = now_s();
    CHECK("publish", a.ctx, esession_publish(a.ctx, a.ks, NULL, &pub));
    report("publish (3 groups, RSA-2048)", 1, now_s() - t);

    /* Bob verifies and starts (group 14, RSA-2048 identity). */
    esession_buf iq = {0};
    char id[ESESSION_IQ_ID_MAX];
    CHECK("fetch", b.ctx, esession_fetch_options_iq(b.ctx, ALICE, &iq, id));
    size_t rn = strlen(pub.form.data) + 512;
    char *result = malloc(rn);
    if (result == NULL)
        return 1;
    snprintf(result, rn, "<iq type='result' from='" ALICE "' id='%s'><pubsub "
             "xmlns='http://jabber.org/protocol/pubsub'><items node='" NODE "'><item "
             "id='current'>%s</item></items></pubsub></iq>", id, pub.form.data);
    esession_sender_options so = ESESSION_SENDER_OPTIONS_INIT;
    so.rekey_freq = 1000000; /* measure sealing, not re-keying */
    esession_sender *s = NULL;
    t = now_s();
    CHECK("start", b.ctx, esession_sender_start(b.ctx, b.ks, BOB_FULL, ALICE, id, result,
                                               strlen(result), &so, &s));
    report("sender start (group 14)", 1, now_s() - t);

    const char *m = "<message to='" ALICE "' type='chat'><body>first</body></message>";
    esession_buf first = {0};
    CHECK("seal", b.ctx, esession_sender_seal(s, m, strlen(m), &first));
    CHECK("sent", b.ctx, esession_sender_sent(b.ctx, b.ks, &first));
    esession_receiver *r = NULL;
    CHECK("receiver", a.ctx, esession_receiver_new(a.ctx, a.ks, &r));
    esession_result res;
    t = now_s();
    CHECK("open init", a.ctx, esession_receiver_feed(r, first.data, first.len, 0));
    while (esession_receiver_next(r, &res)) {
        CHECK("confirm", a.ctx, esession_receiver_confirm(r, &res));
        esession_result_free(&res);
    }
    report("open first stanza (DH, identity)", 1, now_s() - t);

    /* The same steps with 10 and with `many` other sessions: real ones at
     * Alice (each opened from its first stanza), records of a session's
     * size at Bob. */
    open_sessions(&a, &b2, r, id, result, 10);
    fill(b.ctx, b.ks, 0, 10);
    round_trip(&a, &b, s, r, messages, "10 other sessions");
    t = now_s();
    open_sessions(&a, &b2, r, id, result, many > 10 ? many - 10 : 0);
    fill(b.ctx, b.ks, 10, many);
    printf("(%zu more sessions opened at Alice, records added at Bob, in %.1f s)\n",
           many > 10 ? many - 10 : 0, now_s() - t);
    char label[64];
    snprintf(label, sizeof label, "%zu other sessions", many);
    round_trip(&a, &b, s, r, messages, label);
    esession_receiver *r2 = NULL;
    t = now_s();
    CHECK("receiver", a.ctx, esession_receiver_new(a.ctx, a.ks, &r2));
    snprintf(label, sizeof label, "receiver start, %zu sessions stored", many);
    report(label, 1, now_s() - t);
    esession_receiver_free(r2);

    esession_buf_free(&first);
    free(result);
    esession_buf_free(&iq);
    esession_receiver_free(r);
    esession_sender_free(s);
    esession_publication_free(&pub);
    esession_key_free(ak);
    esession_key_free(bk);
    esession_keystore_free(a.ks);
    esession_keystore_free(b.ks);
    esession_keystore_free(b2.ks);
    esession_ctx_free(a.ctx);
    esession_ctx_free(b.ctx);
    static const char *const files[] = {"alice.ks", "bob.ks", "bob2.ks", "alice.ks-wal",
                                        "bob.ks-wal", "bob2.ks-wal", "alice.ks-shm",
                                        "bob.ks-shm", "bob2.ks-shm"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[320];
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        remove(p);
    }
    remove(dir);
    return 0;
}
