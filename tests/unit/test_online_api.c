/* SPDX-License-Identifier: ISC */
/* Online sessions through the public API only (esession_online_*), with
 * keystores: both variants, the client's messages sealed and opened,
 * re-keys either way and both at once, termination, SAS and the unverified
 * state, retained secrets kept in the keystore across sessions and
 * reopenings, crossing requests, the offline-to-online handover (PROFILE
 * §12.13), the acknowledgement timeout, and every refusal. */
#include "ks_test.h"

#include "../../online/ol_api.h"

#define ALICE "alice@example.org"
#define ALICE_FULL "alice@example.org/pda"
#define BOB "bob@example.com"
#define BOB_FULL "bob@example.com/laptop"
#define SUBSCRIBERS_NODE "http://www.xmpp.org/extensions/xep-0187.html#ns"

typedef struct party {
    esession_ctx *ctx;
    esession_keystore *ks;
    esession_key *key;
    char path[160];
    int64_t now;          /* the clock, when fixed */
} party;

typedef struct world {
    char dir[64];
    party alice, bob;
} world;

static int64_t clock_of(void *user)
{
    return ((const party *)user)->now;
}

static void party_open(party *p, const char *dir, const char *name, const char *keyfile)
{
    static esession_host_ops ops;
    ops.now = clock_of;
    esession_ctx_options co = ESESSION_CTX_OPTIONS_INIT;
    co.ops = &ops;
    co.user = p;
    p->now = 1800000000;
    cr_assert_eq(esession_ctx_new(&p->ctx, &co, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_OK);
    snprintf(p->path, sizeof p->path, "%s/%s.ks", dir, name);
    p->ks = kt_create(p->ctx, p->path);
    p->key = kt_key(p->ctx, keyfile);
    cr_assert_eq(esession_keystore_add_key(p->ks, p->key), ESESSION_OK);
}

static void world_open(world *w, const char *alice_key, const char *bob_key, int trust)
{
    kt_mkdir(w->dir, sizeof w->dir);
    party_open(&w->alice, w->dir, "alice", alice_key);
    party_open(&w->bob, w->dir, "bob", bob_key);
    unsigned alerts = 0;
    if (trust) {
        cr_assert_eq(esession_trust_add(w->alice.ks, BOB, w->bob.key, "Bob", &alerts),
                     ESESSION_OK);
        cr_assert_eq(esession_trust_add(w->bob.ks, ALICE, w->alice.key, "Alice", &alerts),
                     ESESSION_OK);
    }
}

static void world_close(world *w)
{
    party *v[2] = {&w->alice, &w->bob};
    for (size_t i = 0; i < 2; i++) {
        esession_key_free(v[i]->key);
        esession_keystore_free(v[i]->ks);
        esession_ctx_free(v[i]->ctx);
    }
    kt_rmdir(w->dir);
}

static esession_online_options weak(int three)
{
    static const int groups[] = {2, 14};
    esession_online_options o = ESESSION_ONLINE_OPTIONS_INIT;
    o.groups = groups;
    o.n_groups = 2;
    o.allow_weak_groups = 1;
    o.three_message = three;
    return o;
}

/* Feed a stanza that must be taken; res is filled. */
static void feed(esession_online_session *s, const esession_buf *in, esession_online_result *res)
{
    esession_status rc = esession_online_feed(s, in->data, in->len, res);
    cr_assert_eq(rc, ESESSION_OK, "feed: %s", esession_status_name(rc));
    cr_assert_eq(res->storage, ESESSION_OK, "storage: %s (%s)", esession_status_name(res->storage),
                 esession_ctx_error_detail(s->ctx));
}

/* A whole negotiation through the API. */
static void negotiate(world *w, const esession_online_options *ao,
                      const esession_online_options *bo, esession_online_session **a,
                      esession_online_session **b)
{
    esession_buf m1 = {0}, m2 = {0};
    esession_online_result r;
    esession_status rc = esession_online_initiate(w->alice.ctx, w->alice.ks, ALICE_FULL, BOB, ao,
                                                  a, &m1);
    cr_assert_eq(rc, ESESSION_OK, "initiate: %s (%s)", esession_status_name(rc),
                 esession_ctx_error_detail(w->alice.ctx));
    rc = esession_online_respond(w->bob.ctx, w->bob.ks, BOB_FULL, m1.data, m1.len, bo, b, &m2);
    cr_assert_eq(rc, ESESSION_OK, "respond: %s (%s)", esession_status_name(rc),
                 esession_ctx_error_detail(w->bob.ctx));
    cr_assert_eq(esession_online_get_state(*a), ESESSION_ONLINE_NEGOTIATING);
    feed(*a, &m2, &r);
    cr_assert_eq(r.kind, ESESSION_ONLINE_PROGRESS, "msg2: %d %s", r.kind,
                 esession_status_name(r.error));
    esession_buf m3 = r.reply;
    r.reply.data = NULL;
    esession_online_result_free(&r);
    feed(*b, &m3, &r);
    cr_assert_eq(r.kind, ESESSION_ONLINE_PROGRESS, "msg3: %d %s", r.kind,
                 esession_status_name(r.error));
    cr_assert(r.established);
    if (r.reply.data != NULL) {
        esession_online_result r4;
        feed(*a, &r.reply, &r4);
        cr_assert_eq(r4.kind, ESESSION_ONLINE_PROGRESS);
        cr_assert(r4.established);
        esession_online_result_free(&r4);
    }
    esession_online_result_free(&r);
    cr_assert_eq(esession_online_get_state(*a), ESESSION_ONLINE_OPEN);
    cr_assert_eq(esession_online_get_state(*b), ESESSION_ONLINE_OPEN);
    cr_assert_str_eq(esession_online_thread(*a), esession_online_thread(*b));
    cr_assert_str_eq(esession_online_peer(*a), BOB_FULL);
    cr_assert_str_eq(esession_online_peer(*b), ALICE_FULL);
    esession_buf_free(&m1);
    esession_buf_free(&m2);
    esession_buf_free(&m3);
}

/* The client's <message/> from one to the other: its body comes out. */
static void talk(esession_online_session *from, esession_online_session *to, const char *to_jid,
                 const char *body)
{
    char msg[512];
    esession_buf out = {0};
    esession_online_result r;
    snprintf(msg, sizeof msg, "<message to='%s' type='chat'><body>%s</body></message>", to_jid,
             body);
    cr_assert_eq(esession_online_seal(from, msg, strlen(msg), &out), ESESSION_OK);
    cr_assert_null(strstr(out.data, body), "the body travels encrypted");
    cr_assert_not_null(strstr(out.data, "type='chat'"));
    feed(to, &out, &r);
    cr_assert_eq(r.kind, ESESSION_ONLINE_MESSAGE, "kind %d %s", r.kind,
                 esession_status_name(r.error));
    char want[512];
    snprintf(want, sizeof want, "<body>%s</body>", body);
    cr_assert_str_eq(r.plaintext.data, want);
    cr_assert(r.profile & ESESSION_PROFILE_IM);
    esession_online_result_free(&r);
    esession_buf_free(&out);
}

static void end(esession_online_session *a, esession_online_session *b)
{
    esession_buf t = {0};
    esession_online_result r, ack;
    cr_assert_eq(esession_online_terminate(a, &t), ESESSION_OK);
    cr_assert_eq(esession_online_get_state(a), ESESSION_ONLINE_TERMINATE_SENT);
    feed(b, &t, &r);
    cr_assert_eq(r.kind, ESESSION_ONLINE_TERMINATED);
    cr_assert_eq(r.crossing, 0);
    feed(a, &r.reply, &ack);
    cr_assert_eq(ack.kind, ESESSION_ONLINE_ACKNOWLEDGED);
    cr_assert_eq(esession_online_get_state(a), ESESSION_ONLINE_ENDED);
    cr_assert_eq(esession_online_get_state(b), ESESSION_ONLINE_ENDED);
    esession_online_result_free(&r);
    esession_online_result_free(&ack);
    esession_buf_free(&t);
}

static void a_session(int three, const char *akey, const char *bkey)
{
    world w;
    esession_online_session *a = NULL, *b = NULL;
    world_open(&w, akey, bkey, 1);
    esession_online_options o = weak(three);
    negotiate(&w, &o, &o, &a, &b);
    cr_assert_eq(esession_online_verified(a), 1);
    cr_assert_eq(esession_online_verified(b), 1);
    uint8_t fa[32], fb[32], want[32];
    cr_assert_eq(esession_online_peer_fingerprint(a, fa), ESESSION_OK);
    cr_assert_eq(esession_online_peer_fingerprint(b, fb), ESESSION_OK);
    cr_assert_eq(esession_key_fingerprint(w.bob.ctx, w.bob.key, want), ESESSION_OK);
    cr_assert_arr_eq(fa, want, 32);
    char sa[6], sb[6];
    if (three) {
        cr_assert_eq(esession_online_sas(a, sa), ESESSION_ERR_STATE);
    } else {
        cr_assert_eq(esession_online_sas(a, sa), ESESSION_OK);
        cr_assert_eq(esession_online_sas(b, sb), ESESSION_OK);
        cr_assert_str_eq(sa, sb);
        cr_assert_eq(strlen(sa), 5);
    }
    talk(a, b, BOB, "hello Bob");
    talk(b, a, ALICE_FULL, "hello Alice");
    /* Re-keys on request, by each, then by both at once. */
    cr_assert_eq(esession_online_rekey(a), ESESSION_OK);
    talk(a, b, BOB, "a re-keyed");
    talk(b, a, ALICE, "b answers");
    cr_assert_eq(esession_online_rekey(b), ESESSION_OK);
    talk(b, a, ALICE, "b re-keyed");
    talk(a, b, BOB, "a answers");
    cr_assert_eq(esession_online_rekey(a), ESESSION_OK);
    cr_assert_eq(esession_online_rekey(b), ESESSION_OK);
    char ma[128], mb[128];
    esession_buf xa = {0}, xb = {0};
    esession_online_result r;
    snprintf(ma, sizeof ma, "<message to='" BOB "'><body>cross a</body></message>");
    snprintf(mb, sizeof mb, "<message to='" ALICE "'><body>cross b</body></message>");
    cr_assert_eq(esession_online_seal(a, ma, strlen(ma), &xa), ESESSION_OK);
    cr_assert_eq(esession_online_seal(b, mb, strlen(mb), &xb), ESESSION_OK);
    cr_assert_not_null(strstr(xa.data, "<key>"));
    cr_assert_not_null(strstr(xb.data, "<key>"));
    cr_assert_not_null(strstr(xa.data, "type='normal'"), "no type is normal (RFC 6121)");
    feed(b, &xa, &r);
    cr_assert_eq(r.kind, ESESSION_ONLINE_MESSAGE);
    esession_online_result_free(&r);
    feed(a, &xb, &r);
    cr_assert_eq(r.kind, ESESSION_ONLINE_MESSAGE);
    esession_online_result_free(&r);
    esession_buf_free(&xa);
    esession_buf_free(&xb);
    for (int i = 0; i < 3; i++) {
        talk(a, b, BOB, "after crossing");
        talk(b, a, ALICE, "both ways");
    }
    end(b, a);
    esession_online_free(a);
    esession_online_free(b);
    world_close(&w);
}

Test(online_api, four_message_rsa) { a_session(0, "vec_rsa_alice.pem", "vec_rsa_bob.pem"); }
Test(online_api, four_message_dsa) { a_session(0, "vec_dsa_alice.pem", "dsa2048.pem"); }
Test(online_api, three_message_rsa) { a_session(1, "rsa2048.pem", "vec_rsa_bob.pem"); }
Test(online_api, three_message_dsa) { a_session(1, "vec_dsa_alice.pem", "vec_dsa_bob.pem"); }

/* Untrusted keys (4-message): unverified until the SAS; the confirmed SAS
 * flags the retained secret in each keystore, so the next session, after
 * the keystores were closed and opened again, is verified by it. */
Test(online_api, unverified_sas_and_retained_chain)
{
    world w;
    esession_online_session *a = NULL, *b = NULL;
    world_open(&w, "vec_rsa_alice.pem", "vec_rsa_bob.pem", 0);
    esession_online_options o = weak(0);
    negotiate(&w, &o, &o, &a, &b);
    cr_assert_eq(esession_online_verified(a), 0);
    cr_assert_eq(esession_online_verified(b), 0);
    char sa[6], sb[6];
    cr_assert_eq(esession_online_sas(a, sa), ESESSION_OK);
    cr_assert_eq(esession_online_sas(b, sb), ESESSION_OK);
    cr_assert_str_eq(sa, sb);
    cr_assert_eq(esession_online_confirm_sas(a), ESESSION_OK);
    cr_assert_eq(esession_online_confirm_sas(b), ESESSION_OK);
    cr_assert_eq(esession_online_verified(a), 1);
    cr_assert_eq(esession_online_verified(b), 1);
    talk(a, b, BOB, "confirms Bob's retained secret");
    end(a, b);
    esession_online_free(a);
    esession_online_free(b);
    /* Both keystores closed and opened again. */
    party *v[2] = {&w.alice, &w.bob};
    for (size_t i = 0; i < 2; i++) {
        esession_keystore_free(v[i]->ks);
        v[i]->ks = kt_open(v[i]->ctx, v[i]->path);
    }
    negotiate(&w, &o, &o, &a, &b);
    cr_assert_eq(esession_online_verified(a), 1, "verified by the chain of retained secrets");
    cr_assert_eq(esession_online_verified(b), 1);
    talk(b, a, ALICE_FULL, "still fine");
    esession_online_free(a);
    esession_online_free(b);
    /* Without retained secrets, nothing carries over. */
    esession_online_options none = weak(0);
    none.no_retained_secrets = 1;
    negotiate(&w, &none, &none, &a, &b);
    cr_assert_eq(esession_online_verified(a), 0);
    cr_assert_eq(esession_online_verified(b), 0);
    esession_online_free(a);
    esession_online_free(b);
    world_close(&w);
}

/* Public key modes: fingerprints between parties that trust each other,
 * and no keys at all (unverified, 4-message). */
Test(online_api, key_modes)
{
    world w;
    esession_online_session *a = NULL, *b = NULL;
    world_open(&w, "vec_rsa_alice.pem", "vec_rsa_bob.pem", 1);
    esession_online_options o = weak(0);
    o.my_key = ESESSION_PUBKEY_HASH;
    o.peer_key = ESESSION_PUBKEY_HASH;
    negotiate(&w, &o, &o, &a, &b);
    cr_assert_eq(esession_online_verified(a), 1);
    cr_assert_eq(esession_online_verified(b), 1);
    talk(a, b, BOB, "by fingerprint");
    esession_online_free(a);
    esession_online_free(b);
    o.my_key = ESESSION_PUBKEY_NONE;
    o.peer_key = ESESSION_PUBKEY_NONE;
    negotiate(&w, &o, &o, &a, &b);
    cr_assert_eq(esession_online_verified(a), 0);
    cr_assert_eq(esession_online_verified(b), 0);
    uint8_t fp[32];
    cr_assert_eq(esession_online_peer_fingerprint(a, fp), ESESSION_ERR_STATE);
    talk(b, a, ALICE_FULL, "without keys");
    esession_online_free(a);
    esession_online_free(b);
    world_close(&w);
}

/* Refusals: each a clear status, and nothing made. */
Test(online_api, refusals)
{
    world w;
    esession_online_session *a = NULL, *b = NULL;
    esession_buf m = {0}, reply = {0};
    world_open(&w, "vec_rsa_alice.pem", "vec_rsa_bob.pem", 1);
    esession_online_options o = weak(0);
    esession_ctx *c = w.alice.ctx;
    esession_keystore *ks = w.alice.ks;
    cr_assert_eq(esession_online_initiate(c, ks, ALICE, BOB, &o, &a, &m),
                 ESESSION_ERR_INVALID_ARGUMENT); /* not a full JID */
    cr_assert_eq(esession_online_initiate(c, ks, ALICE_FULL, "", &o, &a, &m),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_online_initiate(c, NULL, ALICE_FULL, BOB, &o, &a, &m),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_online_initiate(w.bob.ctx, ks, ALICE_FULL, BOB, &o, &a, &m),
                 ESESSION_ERR_INVALID_ARGUMENT); /* a keystore of another context */
    esession_online_options bad = o;
    bad.version = 99;
    cr_assert_eq(esession_online_initiate(c, ks, ALICE_FULL, BOB, &bad, &a, &m),
                 ESESSION_ERR_VERSION);
    bad = o;
    bad.allow_weak_groups = 0;
    cr_assert_eq(esession_online_initiate(c, ks, ALICE_FULL, BOB, &bad, &a, &m),
                 ESESSION_ERR_INVALID_ARGUMENT);
    const char *cipher[] = {"aes512-ctr"};
    bad = o;
    bad.ciphers = cipher;
    bad.n_ciphers = 1;
    cr_assert_eq(esession_online_initiate(c, ks, ALICE_FULL, BOB, &bad, &a, &m),
                 ESESSION_ERR_UNSUPPORTED);
    bad = o;
    bad.three_message = 1;
    bad.my_key = ESESSION_PUBKEY_NONE;
    cr_assert_eq(esession_online_initiate(c, ks, ALICE_FULL, BOB, &bad, &a, &m),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_null(a);
    cr_assert_null(m.data);
    /* No signing key. */
    char path[200];
    snprintf(path, sizeof path, "%s/empty.ks", w.dir);
    esession_keystore *empty = kt_create(c, path);
    cr_assert_eq(esession_online_initiate(c, empty, ALICE_FULL, BOB, &o, &a, &m),
                 ESESSION_ERR_STATE);
    esession_keystore_free(empty);
    /* Bob refuses 3-message requests by policy: refused and its error stanza. */
    esession_online_options three = weak(1), refuse = weak(0);
    refuse.refuse_three_message = 1;
    cr_assert_eq(esession_online_initiate(c, ks, ALICE_FULL, BOB, &three, &a, &m), ESESSION_OK);
    cr_assert_eq(esession_online_respond(w.bob.ctx, w.bob.ks, BOB_FULL, m.data, m.len, &refuse,
                                         &b, &reply),
                 ESESSION_ERR_REFUSED);
    cr_assert_null(b);
    cr_assert_not_null(strstr(reply.data, "feature-not-implemented"));
    esession_online_result r;
    feed(a, &reply, &r);
    cr_assert_eq(r.kind, ESESSION_ONLINE_ERROR);
    cr_assert_eq(r.error, ESESSION_ERR_PEER_ERROR);
    cr_assert_str_eq(r.condition, "feature-not-implemented");
    cr_assert_eq(esession_online_get_state(a), ESESSION_ONLINE_FAILED);
    esession_online_result_free(&r);
    esession_buf_free(&reply);
    /* A request that is no request: malformed, nothing to send. */
    cr_assert_eq(esession_online_respond(w.bob.ctx, w.bob.ks, BOB_FULL, "<message/>", 10, &o, &b,
                                         &reply),
                 ESESSION_ERR_MALFORMED);
    cr_assert_null(reply.data);
    esession_online_free(a);
    esession_buf_free(&m);
    world_close(&w);
}

/* What may be sealed, and what a session does with stanzas not its own. */
Test(online_api, sealing_rules)
{
    world w;
    esession_online_session *a = NULL, *b = NULL;
    esession_buf out = {0};
    world_open(&w, "vec_rsa_alice.pem", "vec_rsa_bob.pem", 1);
    esession_online_options o = weak(0);
    negotiate(&w, &o, &o, &a, &b);
    const char *gc = "<message to='" BOB "' type='groupchat'><body>x</body></message>";
    cr_assert_eq(esession_online_seal(a, gc, strlen(gc), &out), ESESSION_ERR_UNSUPPORTED);
    const char *other = "<message to='carol@example.net'><body>x</body></message>";
    cr_assert_eq(esession_online_seal(a, other, strlen(other), &out),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_null(out.data);
    /* Chat states alone do reach an online peer. */
    const char *cs = "<message to='" BOB "' type='chat'><composing "
                     "xmlns='http://jabber.org/protocol/chatstates'/></message>";
    cr_assert_eq(esession_online_seal(a, cs, strlen(cs), &out), ESESSION_OK);
    esession_online_result r;
    feed(b, &out, &r);
    cr_assert_eq(r.kind, ESESSION_ONLINE_MESSAGE);
    cr_assert_eq(r.profile, ESESSION_PROFILE_CHATSTATES);
    esession_online_result_free(&r);
    /* The same stanza again: a duplicate. */
    feed(b, &out, &r);
    cr_assert_eq(r.kind, ESESSION_ONLINE_DUPLICATE);
    esession_online_result_free(&r);
    esession_buf_free(&out);
    /* A stanza of another thread is not this session's: nothing changes. */
    const char *foreign = "<message from='" ALICE_FULL "'><thread>ffff</thread></message>";
    cr_assert_eq(esession_online_feed(b, foreign, strlen(foreign), &r), ESESSION_ERR_NO_SESSION);
    talk(a, b, BOB, "still in step");
    /* After the end nothing more is sealed. */
    end(a, b);
    const char *m = "<message to='" BOB "'><body>late</body></message>";
    cr_assert_eq(esession_online_seal(a, m, strlen(m), &out), ESESSION_ERR_STATE);
    cr_assert_eq(esession_online_rekey(a), ESESSION_ERR_STATE);
    esession_online_free(a);
    esession_online_free(b);
    world_close(&w);
}

/* 60 s without acknowledgement end the session anyway. */
Test(online_api, acknowledgement_timeout)
{
    world w;
    esession_online_session *a = NULL, *b = NULL;
    esession_buf t = {0};
    int timed_out = -1;
    world_open(&w, "vec_rsa_alice.pem", "vec_rsa_bob.pem", 1);
    esession_online_options o = weak(1);
    negotiate(&w, &o, &o, &a, &b);
    cr_assert_eq(esession_online_terminate(a, &t), ESESSION_OK);
    w.alice.now += 59;
    cr_assert_eq(esession_online_poll(a, &timed_out), ESESSION_OK);
    cr_assert_eq(timed_out, 0);
    cr_assert_eq(esession_online_get_state(a), ESESSION_ONLINE_TERMINATE_SENT);
    w.alice.now += 2;
    cr_assert_eq(esession_online_poll(a, &timed_out), ESESSION_OK);
    cr_assert_eq(timed_out, 1);
    cr_assert_eq(esession_online_get_state(a), ESESSION_ONLINE_ENDED);
    /* The acknowledgement, when it comes late, changes nothing. */
    esession_online_result r, ack;
    feed(b, &t, &r);
    feed(a, &r.reply, &ack);
    cr_assert_eq(ack.kind, ESESSION_ONLINE_IGNORED);
    esession_online_result_free(&r);
    esession_online_result_free(&ack);
    esession_buf_free(&t);
    esession_online_free(a);
    esession_online_free(b);
    world_close(&w);
}

/* Both start at once (§12.13 step 4): the lower thread proceeds. */
Test(online_api, crossing_requests)
{
    world w;
    esession_online_session *a = NULL, *b = NULL, *ab = NULL;
    esession_buf ma = {0}, mb = {0}, reply = {0};
    esession_online_info ia, ib;
    int ya = -1, yb = -1;
    world_open(&w, "vec_rsa_alice.pem", "vec_rsa_bob.pem", 1);
    esession_online_options o = weak(0);
    cr_assert_eq(esession_online_initiate(w.alice.ctx, w.alice.ks, ALICE_FULL, BOB, &o, &a, &ma),
                 ESESSION_OK);
    cr_assert_eq(esession_online_initiate(w.bob.ctx, w.bob.ks, BOB_FULL, ALICE, &o, &b, &mb),
                 ESESSION_OK);
    cr_assert_eq(esession_online_inspect(w.alice.ctx, mb.data, mb.len, &ib), ESESSION_OK);
    cr_assert_eq(esession_online_inspect(w.bob.ctx, ma.data, ma.len, &ia), ESESSION_OK);
    cr_assert_eq(ia.request, 1);
    cr_assert_str_eq(ia.from.data, ALICE_FULL);
    cr_assert_str_eq(ia.thread.data, esession_online_thread(a));
    cr_assert_eq(esession_online_crossing(a, mb.data, mb.len, &ya), ESESSION_OK);
    cr_assert_eq(esession_online_crossing(b, ma.data, ma.len, &yb), ESESSION_OK);
    cr_assert_eq(ya + yb, 1, "exactly one yields");
    int alice_wins = yb == 1;
    cr_assert_eq(alice_wins, strcmp(esession_online_thread(a), esession_online_thread(b)) < 0);
    /* The one that yields answers the other's request. */
    esession_online_session *winner = alice_wins ? a : b, *loser = alice_wins ? b : a;
    party *lp = alice_wins ? &w.bob : &w.alice;
    const esession_buf *req = alice_wins ? &ma : &mb;
    esession_online_free(loser);
    cr_assert_eq(esession_online_respond(lp->ctx, lp->ks, alice_wins ? BOB_FULL : ALICE_FULL,
                                         req->data, req->len, &o, &ab, &reply),
                 ESESSION_OK);
    esession_online_result r;
    feed(winner, &reply, &r);
    cr_assert_eq(r.kind, ESESSION_ONLINE_PROGRESS);
    esession_online_result r3;
    feed(ab, &r.reply, &r3);
    esession_online_result r4;
    feed(winner, &r3.reply, &r4);
    cr_assert(r4.established);
    talk(winner, ab, alice_wins ? BOB : ALICE, "after crossing requests");
    /* A response is not a request, and only a waiting initiator crosses. */
    int x;
    cr_assert_eq(esession_online_crossing(winner, mb.data, mb.len, &x), ESESSION_ERR_STATE);
    esession_online_result_free(&r);
    esession_online_result_free(&r3);
    esession_online_result_free(&r4);
    esession_online_info_free(&ia);
    esession_online_info_free(&ib);
    esession_buf_free(&ma);
    esession_buf_free(&mb);
    esession_buf_free(&reply);
    esession_online_free(winner);
    esession_online_free(ab);
    world_close(&w);
}

/* §12.13: Bob holds an offline session with Alice; she comes online and
 * asks for an online one. Bob's offline termination comes first, and the
 * online session reuses nothing of the offline one. */
static char *items_result(const char *id, const char *form)
{
#define ITEMS_FMT "<iq type='result' from='" ALICE "' to='" BOB_FULL "' id='%s'>" \
                  "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='" \
                  SUBSCRIBERS_NODE "'><item id='current'>%s</item></items></pubsub></iq>"
    size_t n = sizeof ITEMS_FMT + strlen(id) + strlen(form);
    char *out = malloc(n);
    cr_assert_not_null(out);
    snprintf(out, n, ITEMS_FMT, id, form);
    return out;
}

Test(online_api, offline_to_online_handover)
{
    world w;
    world_open(&w, "vec_rsa_alice.pem", "vec_rsa_bob.pem", 1);
    /* The offline session: Alice published, Bob started and sent one stanza. */
    esession_publish_options po = ESESSION_PUBLISH_OPTIONS_INIT;
    esession_publication pub;
    cr_assert_eq(esession_publish(w.alice.ctx, w.alice.ks, &po, &pub), ESESSION_OK);
    esession_buf iq = {0}, s1 = {0}, term = {0}, m1 = {0}, reply = {0};
    char id[ESESSION_IQ_ID_MAX];
    cr_assert_eq(esession_fetch_options_iq(w.bob.ctx, ALICE, &iq, id), ESESSION_OK);
    char *result = items_result(id, pub.form.data);
    esession_sender *sender = NULL;
    cr_assert_eq(esession_sender_start(w.bob.ctx, w.bob.ks, BOB_FULL, ALICE, id, result,
                                       strlen(result), NULL, &sender),
                 ESESSION_OK);
    const char *msg = "<message to='" ALICE "' type='chat'><body>offline hello</body></message>";
    cr_assert_eq(esession_sender_seal(sender, msg, strlen(msg), &s1), ESESSION_OK);
    char offline_thread[64];
    snprintf(offline_thread, sizeof offline_thread, "%s", esession_sender_thread(sender));
    esession_sender_free(sender);

    /* Alice is online: her request. Bob may not answer while his offline
     * session is open, nor start one of his own. */
    esession_online_session *a = NULL, *b = NULL;
    esession_online_options o = ESESSION_ONLINE_OPTIONS_INIT;
    cr_assert_eq(esession_online_initiate(w.alice.ctx, w.alice.ks, ALICE_FULL, BOB, &o, &a, &m1),
                 ESESSION_OK);
    cr_assert_eq(esession_online_respond(w.bob.ctx, w.bob.ks, BOB_FULL, m1.data, m1.len, &o, &b,
                                         &reply),
                 ESESSION_ERR_STATE);
    esession_buf none = {0};
    esession_online_session *b2 = NULL;
    cr_assert_eq(esession_online_initiate(w.bob.ctx, w.bob.ks, BOB_FULL, ALICE, &o, &b2, &none),
                 ESESSION_ERR_STATE);
    /* Step 1: his offline termination, before anything else. */
    cr_assert_eq(esession_sender_peer_online(w.bob.ctx, w.bob.ks, ALICE, &term), ESESSION_OK);
    cr_assert_not_null(term.data);
    cr_assert_eq(esession_online_respond(w.bob.ctx, w.bob.ks, BOB_FULL, m1.data, m1.len, &o, &b,
                                         &reply),
                 ESESSION_OK);
    /* Alice's offline receiver opens the offline stanza, then its end. */
    esession_receiver *rcv = NULL;
    esession_result res;
    cr_assert_eq(esession_receiver_new(w.alice.ctx, w.alice.ks, &rcv), ESESSION_OK);
    cr_assert_eq(esession_receiver_feed(rcv, s1.data, s1.len, 1), ESESSION_OK);
    cr_assert_eq(esession_receiver_next(rcv, &res), 1);
    cr_assert_eq(res.kind, ESESSION_RESULT_MESSAGE);
    esession_result_free(&res);
    cr_assert_eq(esession_receiver_feed(rcv, term.data, term.len, 2), ESESSION_OK);
    cr_assert_eq(esession_receiver_next(rcv, &res), 1);
    cr_assert_eq(res.kind, ESESSION_RESULT_TERMINATED);
    esession_result_free(&res);
    esession_receiver_free(rcv);
    /* The online negotiation goes on, on its own new thread. */
    cr_assert_str_neq(esession_online_thread(a), offline_thread);
    esession_online_result r, r3, r4;
    feed(a, &reply, &r);
    feed(b, &r.reply, &r3);
    feed(a, &r3.reply, &r4);
    cr_assert(r4.established);
    talk(a, b, BOB, "online now");
    talk(b, a, ALICE_FULL, "indeed");
    esession_online_result_free(&r);
    esession_online_result_free(&r3);
    esession_online_result_free(&r4);
    esession_online_free(a);
    esession_online_free(b);
    free(result);
    esession_buf_free(&iq);
    esession_buf_free(&s1);
    esession_buf_free(&term);
    esession_buf_free(&m1);
    esession_buf_free(&reply);
    esession_publication_free(&pub);
    world_close(&w);
}

/* A damaged retained-secret record is reported, not taken for none. */
Test(online_api, damaged_retained_record)
{
    world w;
    esession_online_session *a = NULL;
    esession_buf m = {0};
    world_open(&w, "vec_rsa_alice.pem", "vec_rsa_bob.pem", 1);
    static const uint8_t junk[] = {1, 0, 5, 9};
    cr_assert_eq(es_ks_blob_put(w.alice.ks, "online/rs/" BOB, junk, sizeof junk), ESESSION_OK);
    esession_online_options o = weak(0);
    cr_assert_eq(esession_online_initiate(w.alice.ctx, w.alice.ks, ALICE_FULL, BOB, &o, &a, &m),
                 ESESSION_ERR_CORRUPT);
    cr_assert_null(a);
    /* Without retained secrets the record is not read. */
    o.no_retained_secrets = 1;
    cr_assert_eq(esession_online_initiate(w.alice.ctx, w.alice.ks, ALICE_FULL, BOB, &o, &a, &m),
                 ESESSION_OK);
    esession_online_free(a);
    esession_buf_free(&m);
    world_close(&w);
}

/* 2^32 blocks under one key (§12.9): seal re-keys by itself before the
 * bound; when no re-key is allowed yet it refuses, changes nothing, and
 * the termination still fits. */
Test(online_api, key_lifetime)
{
    world w;
    esession_online_session *a = NULL, *b = NULL;
    esession_buf out = {0};
    world_open(&w, "vec_rsa_alice.pem", "vec_rsa_bob.pem", 1);
    esession_online_options o = weak(0);
    negotiate(&w, &o, &o, &a, &b);
    const uint64_t limit = (uint64_t)1 << 32;
    es_ol_set_usage(a->s, 5, limit - 64 - ES_OL_REKEY_MARGIN);
    char msg0[128];
    snprintf(msg0, sizeof msg0, "<message to='" BOB "'><body>forces a re-key</body></message>");
    cr_assert_eq(esession_online_seal(a, msg0, strlen(msg0), &out), ESESSION_OK);
    cr_assert_not_null(strstr(out.data, "<key>"));
    esession_online_result r0;
    feed(b, &out, &r0);
    cr_assert_eq(r0.kind, ESESSION_ONLINE_MESSAGE);
    esession_online_result_free(&r0);
    esession_buf_free(&out);
    talk(b, a, ALICE, "new keys");
    talk(a, b, BOB, "after the re-key");
    char msg[128];
    snprintf(msg, sizeof msg, "<message to='" BOB "'><body>x</body></message>");
    /* Again at the bound, where re-keys are spaced by 1000 stanzas. */
    esession_online_free(a);
    esession_online_free(b);
    o.rekey_freq = 1000;
    negotiate(&w, &o, &o, &a, &b);
    es_ol_set_usage(a->s, 5, limit - 64);
    cr_assert_eq(esession_online_seal(a, msg, strlen(msg), &out), ESESSION_ERR_COUNTER_EXHAUSTED);
    cr_assert_null(out.data);
    cr_assert_eq(esession_online_terminate(a, &out), ESESSION_OK);
    esession_online_result r;
    feed(b, &out, &r);
    cr_assert_eq(r.kind, ESESSION_ONLINE_TERMINATED);
    esession_online_result_free(&r);
    esession_buf_free(&out);
    esession_online_free(a);
    esession_online_free(b);
    world_close(&w);
}
