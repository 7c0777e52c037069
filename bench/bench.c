/* SPDX-License-Identifier: ISC */
/* esession-bench: the cost of each step of an offline session through the
 * public API, in operations per second. Run with `make bench`. The
 * keystore writes and fsyncs every state change (a counter is never used
 * twice, a replay is never forgotten), so the seal and open figures
 * include one durable write each; BENCH_DIR on a tmpfs shows the
 * computation alone. */
#include "esession.h"

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
    printf("%-34s %8zu ops %9.3f ms/op %10.1f ops/s\n", what, n, secs * 1e3 / (double)n,
           (double)n / secs);
}

int main(int argc, char **argv)
{
    size_t messages = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 200;
    const char *base = getenv("BENCH_DIR") ? getenv("BENCH_DIR") : "/tmp";
    char dir[256], apath[300], bpath[300];
    snprintf(dir, sizeof dir, "%s/esession-bench-XXXXXX", base);
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(apath, sizeof apath, "%s/alice.ks", dir);
    snprintf(bpath, sizeof bpath, "%s/bob.ks", dir);

    esession_ctx *actx = NULL, *bctx = NULL;
    CHECK("ctx", NULL, esession_ctx_new(&actx, NULL, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR));
    CHECK("ctx", NULL, esession_ctx_new(&bctx, NULL, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR));
    esession_keystore_options ko = ESESSION_KEYSTORE_OPTIONS_INIT;
    ko.kdf_opslimit = crypto_pwhash_argon2id_OPSLIMIT_MIN;
    ko.kdf_memlimit = crypto_pwhash_argon2id_MEMLIMIT_MIN;
    esession_keystore *aks = NULL, *bks = NULL;
    CHECK("keystore", actx, esession_keystore_create(actx, &aks, apath, "a", 1, &ko));
    CHECK("keystore", bctx, esession_keystore_create(bctx, &bks, bpath, "b", 1, &ko));
    esession_key *ak = load_key(actx, "tests/data/vec_rsa_alice.pem");
    esession_key *bk = load_key(bctx, "tests/data/vec_rsa_bob.pem");
    unsigned alerts;
    CHECK("add key", actx, esession_keystore_add_key(aks, ak));
    CHECK("add key", bctx, esession_keystore_add_key(bks, bk));
    CHECK("trust", actx, esession_trust_add(aks, "bob@example.com", bk, "", &alerts));
    CHECK("trust", bctx, esession_trust_add(bks, ALICE, ak, "", &alerts));

    /* Alice publishes (groups 14, 15, 16: three exponents, RSA-2048 signing). */
    esession_publication pub;
    double t = now_s();
    CHECK("publish", actx, esession_publish(actx, aks, NULL, &pub));
    report("publish (3 groups, RSA-2048)", 1, now_s() - t);

    /* Bob verifies and starts (group 14, RSA-2048 identity). */
    esession_buf iq = {0};
    char id[ESESSION_IQ_ID_MAX];
    CHECK("fetch", bctx, esession_fetch_options_iq(bctx, ALICE, &iq, id));
    size_t rn = strlen(pub.form.data) + 512;
    char *result = malloc(rn);
    snprintf(result, rn, "<iq type='result' from='" ALICE "' id='%s'><pubsub "
             "xmlns='http://jabber.org/protocol/pubsub'><items node='" NODE "'><item "
             "id='current'>%s</item></items></pubsub></iq>", id, pub.form.data);
    esession_sender_options so = ESESSION_SENDER_OPTIONS_INIT;
    so.rekey_freq = 1000000; /* measure sealing, not re-keying */
    esession_sender *s = NULL;
    t = now_s();
    CHECK("start", bctx, esession_sender_start(bctx, bks, BOB_FULL, ALICE, id, result,
                                              strlen(result), &so, &s));
    report("sender start (group 14)", 1, now_s() - t);

    esession_buf *st = calloc(messages, sizeof *st);
    const char *m = "<message to='" ALICE "' type='chat'><body>A message of about a hundred "
                    "octets, as people type them into a chat window.</body></message>";
    t = now_s();
    for (size_t i = 0; i < messages; i++)
        CHECK("seal", bctx, esession_sender_seal(s, m, strlen(m), &st[i]));
    report("seal (100-octet body)", messages, now_s() - t);

    esession_receiver *r = NULL;
    CHECK("receiver", actx, esession_receiver_new(actx, aks, &r));
    esession_result res;
    t = now_s();
    CHECK("open init", actx, esession_receiver_feed(r, st[0].data, st[0].len, 0));
    while (esession_receiver_next(r, &res))
        esession_result_free(&res);
    report("open first stanza (DH, identity)", 1, now_s() - t);
    /* The first half written one by one, the rest with the keystore's
     * writes deferred and flushed every 64 stanzas (as a client that
     * stores a batch of messages, then records them). */
    size_t half = messages / 2 > 1 ? messages / 2 : 2;
    for (size_t i = 1; i < messages; i++) {
        if (i == 1 || i == half)
            t = now_s();
        if (i == half)
            CHECK("defer", actx, esession_keystore_defer_writes(aks, 1));
        CHECK("open", actx, esession_receiver_feed(r, st[i].data, st[i].len, i));
        while (esession_receiver_next(r, &res)) {
            if (res.kind != ESESSION_RESULT_MESSAGE)
                die("open: not a message", actx, res.error);
            esession_result_free(&res);
        }
        if (i >= half && ((i - half) % 64 == 63 || i + 1 == messages))
            CHECK("flush", actx, esession_keystore_flush(aks));
        if (i + 1 == half)
            report("open following stanzas", half - 1, now_s() - t);
    }
    if (messages > half) {
        report("  same, flushed every 64", messages - half, now_s() - t);
        CHECK("undefer", actx, esession_keystore_defer_writes(aks, 0));
    }

    for (size_t i = 0; i < messages; i++)
        esession_buf_free(&st[i]);
    free(st);
    free(result);
    esession_buf_free(&iq);
    esession_receiver_free(r);
    esession_sender_free(s);
    esession_publication_free(&pub);
    esession_key_free(ak);
    esession_key_free(bk);
    esession_keystore_close(aks);
    esession_keystore_close(bks);
    esession_ctx_free(actx);
    esession_ctx_free(bctx);
    remove(apath);
    remove(bpath);
    remove(dir);
    return 0;
}
