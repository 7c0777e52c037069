/* SPDX-License-Identifier: ISC */
/* Accounts, published options and sessions for esession-bench, through
 * the public API only. */
#include "bench.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODE "http://www.xmpp.org/extensions/xep-0187.html#ns"

static esession_key *load_key(esession_ctx *ctx, const char *path)
{
    FILE *fp = fopen(path, "rb");
    char pem[16384];
    esession_key *k = NULL;
    if (fp == NULL)
        bench_fail("%s: cannot open (run from the source tree)", path);
    size_t n = fread(pem, 1, sizeof pem, fp);
    fclose(fp);
    BENCH_CHECK("key", ctx, esession_key_from_pem(ctx, &k, pem, n));
    return k;
}

void bench_party_open(bench_party *p, const char *name, const char *key_file, bench_mem *mem,
                      const char *dir, esession_dh_backend backend)
{
    static esession_host_ops mem_host = {NULL, NULL, NULL, NULL, &bench_mem_ops, NULL, NULL};
    esession_ctx_options o = ESESSION_CTX_OPTIONS_INIT;
    esession_keystore_options ko = ESESSION_KEYSTORE_OPTIONS_INIT;
    char path[1024];

    memset(p, 0, sizeof *p);
    o.dh_backend = backend;
    if (mem != NULL) {
        o.ops = &mem_host;
        o.user = mem;
    }
    BENCH_CHECK("context", NULL,
                esession_ctx_new(&p->ctx, &o, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR));
    ko.kdf_opslimit = crypto_pwhash_argon2id_OPSLIMIT_MIN;
    ko.kdf_memlimit = crypto_pwhash_argon2id_MEMLIMIT_MIN;
    if (mem != NULL)
        snprintf(path, sizeof path, "%s", name);
    else
        snprintf(path, sizeof path, "%s/%s.ks", dir, name);
    BENCH_CHECK("keystore", p->ctx, esession_keystore_create(p->ctx, &p->ks, path, "pw", 2, &ko));
    p->key = load_key(p->ctx, key_file);
    BENCH_CHECK("add key", p->ctx, esession_keystore_add_key(p->ks, p->key));
    p->mem = mem;
}

void bench_party_close(bench_party *p)
{
    esession_key_free(p->key);
    esession_keystore_free(p->ks);
    esession_ctx_free(p->ctx);
    memset(p, 0, sizeof *p);
}

void bench_trust_each_other(bench_party *alice, bench_party *bob)
{
    unsigned alerts = 0;
    BENCH_CHECK("trust", alice->ctx,
                esession_trust_add(alice->ks, BENCH_BOB, bob->key, "", &alerts));
    BENCH_CHECK("trust", bob->ctx,
                esession_trust_add(bob->ks, BENCH_ALICE, alice->key, "", &alerts));
}

void bench_trust_bob_only(bench_party *alice, bench_party *bob)
{
    unsigned alerts = 0;
    BENCH_CHECK("trust", bob->ctx,
                esession_trust_add(bob->ks, BENCH_ALICE, alice->key, "", &alerts));
}

void bench_publish(bench_party *alice, bench_party *bob, const int *groups, size_t n_groups,
                   bench_offer *out)
{
    esession_publish_options po = ESESSION_PUBLISH_OPTIONS_INIT;
    esession_publication pub;
    esession_buf iq = {0};

    po.groups = groups;
    po.n_groups = n_groups;
    po.allow_weak_groups = 1;
    BENCH_CHECK("publish", alice->ctx, esession_publish(alice->ctx, alice->ks, &po, &pub));
    BENCH_CHECK("fetch", bob->ctx,
                esession_fetch_options_iq(bob->ctx, BENCH_ALICE, &iq, out->id));
    esession_buf_free(&iq);
    size_t cap = pub.form.len + 512;
    if ((out->result = malloc(cap)) == NULL)
        bench_fail("out of memory");
    int n = snprintf(out->result, cap,
                     "<iq type='result' from='" BENCH_ALICE "' id='%s'><pubsub "
                     "xmlns='http://jabber.org/protocol/pubsub'><items node='" NODE
                     "'><item id='current'>%s</item></items></pubsub></iq>",
                     out->id, pub.form.data);
    out->len = (size_t)n;
    esession_publication_free(&pub);
}

void bench_offer_free(bench_offer *o)
{
    free(o->result);
    memset(o, 0, sizeof *o);
}

char *bench_message(size_t n, size_t *len)
{
    static const char head[] = "<message to='" BENCH_ALICE "' type='chat'><body>";
    static const char tail[] = "</body></message>";
    size_t total = sizeof head - 1 + n + sizeof tail - 1;
    char *m = malloc(total + 1);
    if (m == NULL)
        bench_fail("out of memory");
    memcpy(m, head, sizeof head - 1);
    for (size_t i = 0; i < n; i++)
        m[sizeof head - 1 + i] = (char)('a' + i % 26);
    memcpy(m + sizeof head - 1 + n, tail, sizeof tail);
    *len = total;
    return m;
}

/* Feed one stanza and take its one result, which must be a message. */
static void open_one(bench_pair *p, const esession_buf *st)
{
    esession_result res;
    int got = 0;
    BENCH_CHECK("open", p->alice->ctx, esession_receiver_feed(p->r, st->data, st->len, p->tag++));
    while (esession_receiver_next(p->r, &res)) {
        if (res.kind != ESESSION_RESULT_MESSAGE)
            bench_die("open: not a message", p->alice->ctx, res.error);
        BENCH_CHECK("confirm", p->alice->ctx, esession_receiver_confirm(p->r, &res));
        esession_result_free(&res);
        got++;
    }
    if (got != 1)
        bench_fail("open: %d results for one stanza", got);
}

void bench_pair_start(bench_pair *p, bench_party *alice, bench_party *bob,
                      const bench_offer *offer, const char *bob_jid, uint32_t rekey_freq,
                      esession_receiver *r)
{
    esession_sender_options so = ESESSION_SENDER_OPTIONS_INIT;
    esession_buf st = {0};
    size_t len;
    char *m = bench_message(16, &len);

    memset(p, 0, sizeof *p);
    p->alice = alice;
    p->bob = bob;
    so.rekey_freq = rekey_freq;
    BENCH_CHECK("start", bob->ctx,
                esession_sender_start(bob->ctx, bob->ks, bob_jid, BENCH_ALICE, offer->id,
                                      offer->result, offer->len, &so, &p->s));
    p->r = r;
    if (r == NULL) {
        BENCH_CHECK("receiver", alice->ctx, esession_receiver_new(alice->ctx, alice->ks, &p->r));
        p->own_r = 1;
    }
    BENCH_CHECK("seal", bob->ctx, esession_sender_seal(p->s, m, len, &st));
    BENCH_CHECK("sent", bob->ctx, esession_sender_sent(bob->ctx, bob->ks, &st));
    open_one(p, &st);
    esession_buf_free(&st);
    free(m);
}

void bench_pair_message(bench_pair *p, const char *msg, size_t len)
{
    esession_buf st = {0};
    BENCH_CHECK("seal", p->bob->ctx, esession_sender_seal(p->s, msg, len, &st));
    BENCH_CHECK("sent", p->bob->ctx, esession_sender_sent(p->bob->ctx, p->bob->ks, &st));
    open_one(p, &st);
    esession_buf_free(&st);
}

void bench_pair_end(bench_pair *p)
{
    esession_buf term = {0};
    if (p->s != NULL) {
        BENCH_CHECK("terminate", p->bob->ctx, esession_sender_terminate(p->s, &term));
        if (term.data != NULL)
            BENCH_CHECK("sent", p->bob->ctx, esession_sender_sent(p->bob->ctx, p->bob->ks, &term));
        esession_buf_free(&term);
        esession_sender_free(p->s);
    }
    if (p->own_r)
        esession_receiver_free(p->r);
    memset(p, 0, sizeof *p);
}
