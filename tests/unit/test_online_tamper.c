/* SPDX-License-Identifier: ISC */
/* Every octet of every negotiation message, changed on the wire: the
 * negotiation must then fail, or the session at its first stanza each way
 * (a <c> turned into an unknown element leaves the counters apart, so the
 * next stanza does not verify, §12.9), or it must end exactly as it does
 * untouched (same keys, SAS, peer status, first stanza and stanzas both
 * ways), which proves the octet irrelevant (an attribute nobody reads,
 * text between stanza children). The inputs are fixed, so each run
 * replays the same messages. */
#include "online_test.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif

/* Under valgrind every octet would take an hour: there every 16th one
 * (the native and ASan runs take them all). */
static size_t octet_step(void)
{
#ifdef RUNNING_ON_VALGRIND
    return RUNNING_ON_VALGRIND ? 16 : 1;
#else
    return 1;
#endif
}

typedef struct outcome {
    int done;                        /* both open */
    uint8_t k[ES_HASH_MAX_BYTES];
    uint8_t kc_a[ES_CIPHER_KEY_MAX], kc_b[ES_CIPHER_KEY_MAX];
    char sas[8];
    int verified_a, verified_b;
    char first[64];                  /* the content of msg3 / msg4 as opened */
} outcome;

typedef struct inputs {
    uint8_t x[40], y[40], n_a[32], n_b[32], c_a[16], rnd[64], srs[64];
    const uint8_t *rnd_v[1];
    size_t rnd_len[1];
    size_t order[1];
    es_ol_fixed fa, fb;
} inputs;

static void make_inputs(inputs *in, size_t hash_len)
{
    memset(in, 0, sizeof *in);
    for (size_t i = 0; i < 40; i++) {
        in->x[i] = (uint8_t)(0x80 | (i * 7));
        in->y[i] = (uint8_t)(0x90 | (i * 11));
    }
    for (size_t i = 0; i < 32; i++) {
        in->n_a[i] = (uint8_t)(i + 1);
        in->n_b[i] = (uint8_t)(0xa0 + i);
    }
    for (size_t i = 0; i < 64; i++) {
        in->rnd[i] = (uint8_t)(0x55 ^ i);
        in->srs[i] = (uint8_t)(0x33 + i);
    }
    for (size_t i = 0; i < 16; i++)
        in->c_a[i] = (uint8_t)(0x10 * i + 3);
    in->rnd_v[0] = in->rnd;
    in->rnd_len[0] = hash_len;
    in->fa.thread = "0123456789abcdef0123456789abcdef";
    in->fa.n_a = in->n_a;
    in->fa.n_a_len = 32;
    in->fa.x[0] = in->x;
    in->fa.x_len[0] = 40;
    in->fa.rsh_random = in->rnd_v;
    in->fa.rsh_random_len = in->rnd_len;
    in->fa.n_rsh_random = 1;
    in->fa.rsh_order = in->order;
    in->fa.n_rsh_order = 1;
    in->fb.n_b = in->n_b;
    in->fb.n_b_len = 32;
    in->fb.c_a = in->c_a;
    in->fb.y = in->y;
    in->fb.y_len = 40;
    in->fb.srshash_random = in->srs;
    in->fb.srshash_random_len = hash_len;
}

#define C3 "<body>first from alice</body>"
#define C4 "<body>first from bob</body>"

static char *flip(const char *s, size_t at)
{
    char *t = strdup(s);
    cr_assert_not_null(t);
    t[at] = (char)(t[at] ^ 0x01);
    return t;
}

/* Take what a step handed over; 0 when the negotiation stopped there. */
static int step_ok(esession_status rc, es_ol_result *r)
{
    return rc == ESESSION_OK && r->kind != ES_OL_R_ERROR && r->kind != ES_OL_R_IGNORED;
}

/* The parties (contexts, keys, policies) made once per test: a run only
 * makes new sessions. */
static ot_pair cached;
static const ot_params *cached_for;

static void fresh_sessions(ot_pair *p, const ot_params *o)
{
    if (cached_for != o) {
        if (cached_for != NULL)
            ot_free(&cached);
        ot_init(&cached, o);
        cached_for = o;
    }
    *p = cached;
    p->a.s = p->b.s = NULL;
    memset(p->msg, 0, sizeof p->msg);
}

static void done_sessions(ot_pair *p)
{
    es_ol_free(p->a.s);
    es_ol_free(p->b.s);
    p->a.s = p->b.s = NULL;
    for (size_t i = 0; i < 4; i++)
        esession_buf_free(&p->msg[i]);
    cached = *p;
}

/* A run: the messages sent untouched (base), the fixed inputs, and each
 * party's session made only when a step needs it, by replaying the
 * untouched messages up to that step (they replay exactly). */
typedef struct trial {
    const ot_params *o;
    const inputs *in;
    const esession_buf *base;
    ot_pair p;
    es_ol_result r;
    int alice_took_msg2;
} trial;

static const char *content_for(const trial *t, int step)
{
    if (step == 1 && t->o->variant == 3)
        return C3;
    if (step == 2 && t->o->variant == 4)
        return C4;
    return NULL;
}

/* Feed step's message (msg1 to Bob is his respond); 0 when it stopped. */
static int take(trial *t, int step, const char *text, esession_buf *reply)
{
    const char *c = content_for(t, step);
    es_ol *to = step % 2 == 0 ? t->p.b.s : t->p.a.s;
    esession_status rc;
    es_ol_result_clear(&t->r);
    if (step == 0)
        return ot_respond(&t->p, text, &t->in->fb, reply) == ESESSION_OK;
    rc = es_ol_feed(to, text, strlen(text), c, c != NULL ? strlen(c) : 0, &t->r);
    if (!step_ok(rc, &t->r))
        return 0;
    if (step == 1)
        t->alice_took_msg2 = 1;
    *reply = t->r.reply;
    t->r.reply.data = NULL;
    return 1;
}

/* Replay a party to just before it takes step's message. */
static void replay(trial *t, int step)
{
    esession_buf discard = {0};
    if (step % 2 == 1) {
        if (t->p.a.s == NULL)
            ot_msg1(&t->p, &t->in->fa);
        if (step == 3 && !t->alice_took_msg2)
            cr_assert(take(t, 1, t->base[1].data, &discard));
    } else if (step == 2 && t->p.b.s == NULL) {
        cr_assert(take(t, 0, t->base[0].data, &discard));
    }
    esession_buf_free(&discard);
}

/* The negotiation with message `which` replaced by `wire`; which < 0: the
 * untouched run, its messages into sent[]. */
static void run(const ot_params *o, const inputs *in, int which, const char *wire, outcome *out,
                esession_buf *sent)
{
    trial t;
    esession_buf m[4] = {{0}};
    memset(out, 0, sizeof *out);
    memset(&t, 0, sizeof t);
    t.o = o;
    t.in = in;
    t.base = sent;
    fresh_sessions(&t.p, o);
    int first = which < 0 ? 0 : which;
    const char *text = NULL;
    if (which < 0) {
        ot_msg1(&t.p, &in->fa);
        m[0] = t.p.msg[0];
        t.p.msg[0].data = NULL;
        text = m[0].data;
    } else {
        text = wire;
    }
    for (int step = first; step < o->variant; step++) {
        esession_buf reply = {0};
        replay(&t, step);
        if (!take(&t, step, text, &reply)) {
            esession_buf_free(&reply); /* an error stanza */
            goto out;
        }
        if (step == 2 && o->variant == 3 && t.r.has_content)
            snprintf(out->first, sizeof out->first, "%s", t.r.plain.data);
        if (step == 3 && t.r.has_content)
            snprintf(out->first, sizeof out->first, "%s", t.r.plain.data);
        if (step + 1 < o->variant) {
            if (reply.data == NULL)
                goto out;
            m[step + 1] = reply;
            text = m[step + 1].data;
        } else {
            esession_buf_free(&reply);
        }
    }
    /* The party that took no message since the change, replayed to the end. */
    if (t.p.a.s == NULL || !t.alice_took_msg2) {
        esession_buf discard = {0};
        replay(&t, 1);
        cr_assert(take(&t, 1, t.base[1].data, &discard));
        esession_buf_free(&discard);
    }
    if (t.p.b.s == NULL) {
        esession_buf discard = {0};
        replay(&t, 2);
        if (o->variant == 4)
            cr_assert(take(&t, 2, t.base[2].data, &discard));
        esession_buf_free(&discard);
    }
    ot_pair *p = &t.p;
    es_ol_result *r = &t.r;
    esession_status rc;
    if (es_ol_get_state(p->a.s) != ES_OL_OPEN || es_ol_get_state(p->b.s) != ES_OL_OPEN)
        goto out;
    /* The first stanza each way must open. */
    const char *const said[2] = {"<body>then bob</body>", "<body>then alice</body>"};
    es_ol *from[2] = {p->b.s, p->a.s}, *to[2] = {p->a.s, p->b.s};
    for (size_t i = 0; i < 2; i++) {
        esession_buf st = {0};
        ot_seal(from[i], said[i], 0, &st);
        es_ol_result_clear(r);
        rc = es_ol_feed(to[i], st.data, st.len, NULL, 0, r);
        esession_buf_free(&st);
        if (rc != ESESSION_OK || r->kind != ES_OL_R_OK)
            goto out;
        cr_assert_str_eq(r->plain.data, said[i]);
    }
    const es_ol_trace *ta = es_ol_get_trace(p->a.s), *tb = es_ol_get_trace(p->b.s);
    /* Open on both sides: they must agree with each other. */
    cr_assert_arr_eq(ta->k, tb->k, ta->k_len);
    out->done = 1;
    memcpy(out->k, ta->k, ta->k_len);
    memcpy(out->kc_a, ta->keys.a.kc, ta->keys.a.kc_len);
    memcpy(out->kc_b, tb->keys.b.kc, tb->keys.b.kc_len);
    if (es_ol_sas_text(p->a.s) != NULL)
        snprintf(out->sas, sizeof out->sas, "%s", es_ol_sas_text(p->a.s));
    out->verified_a = es_ol_peer_verified(p->a.s);
    out->verified_b = es_ol_peer_verified(p->b.s);
out:
    if (which < 0 && !out->done)
        cr_log_warn("stopped: kind %d %s | a: %s | b: %s", t.r.kind,
                    esession_status_name(t.r.error), esession_ctx_error_detail(t.p.a.ctx),
                    esession_ctx_error_detail(t.p.b.ctx));
    es_ol_result_clear(&t.r);
    for (size_t i = 0; i < 4; i++) {
        if (which < 0)
            sent[i] = m[i];
        else
            esession_buf_free(&m[i]);
    }
    done_sessions(&t.p);
}

static void every_octet(const ot_params *o)
{
    inputs in;
    outcome base, t;
    esession_buf msg[4] = {{0}};
    size_t refused = 0, irrelevant = 0;
    make_inputs(&in, strcmp(o->hash, "sha256") == 0 ? 32 : 64);
    run(o, &in, -1, NULL, &base, msg);
    cr_assert(base.done, "the untouched negotiation completes");
    cr_assert_str_eq(base.first, o->variant == 3 ? C3 : C4);
    for (int which = 0; which < o->variant; which++) {
        cr_assert_not_null(msg[which].data);
        for (size_t at = 0; at < msg[which].len; at += octet_step()) {
            char *wire = flip(msg[which].data, at);
            run(o, &in, which, wire, &t, msg);
            if (!t.done) {
                refused++;
            } else {
                irrelevant++;
                /* Accepted: nothing that matters may differ. */
                cr_assert_arr_eq(t.k, base.k, sizeof t.k, "msg%d octet %zu changed K", which + 1,
                                 at);
                cr_assert_arr_eq(t.kc_a, base.kc_a, sizeof t.kc_a);
                cr_assert_arr_eq(t.kc_b, base.kc_b, sizeof t.kc_b);
                cr_assert_str_eq(t.sas, base.sas);
                cr_assert_eq(t.verified_a, base.verified_a);
                cr_assert_eq(t.verified_b, base.verified_b);
                cr_assert_str_eq(t.first, base.first, "msg%d octet %zu changed the content",
                                 which + 1, at);
            }
            free(wire);
        }
    }
    for (int i = 0; i < 4; i++)
        esession_buf_free(&msg[i]);
    ot_free(&cached);
    cached_for = NULL;
    /* Nearly every octet is refused; the few accepted were proven inert. */
    cr_assert_gt(refused, 20 * irrelevant, "refused %zu, irrelevant %zu", refused, irrelevant);
}

Test(online_tamper, four_message_every_octet, .timeout = 600)
{
    ot_params o = {4, "1", "aes128-ctr", "sha256", "rsa2048.pem", "vec_rsa_bob.pem", "key", "key",
                   0};
    every_octet(&o);
}

Test(online_tamper, three_message_every_octet, .timeout = 600)
{
    ot_params o = {3, "1", "aes256-ctr", "sha512", "rsa2048.pem", "vec_rsa_bob.pem", "key", "key",
                   0};
    every_octet(&o);
}

Test(online_tamper, four_message_hash_identities_every_octet, .timeout = 600)
{
    ot_params o = {4, "2", "aes192-ctr", "sha512", "rsa2048.pem", "vec_rsa_bob.pem", "hash",
                   "hash", 0};
    every_octet(&o);
}

Test(online_tamper, four_message_no_keys_every_octet, .timeout = 600)
{
    ot_params o = {4, "1", "aes128-ctr", "sha256", "rsa2048.pem", "vec_rsa_bob.pem", "none",
                   "none", 1};
    every_octet(&o);
}

/* Whitespace between the fields of a form is not part of any MAC (§6):
 * other whitespace there changes nothing. */
Test(online_tamper, whitespace_between_fields_is_irrelevant)
{
    ot_params o = {4, "1", "aes128-ctr", "sha256", "rsa2048.pem", "vec_rsa_bob.pem", "key", "key",
                   0};
    inputs in;
    outcome base, t;
    esession_buf msg[4] = {{0}};
    make_inputs(&in, 32);
    run(&o, &in, -1, NULL, &base, msg);
    for (int which = 0; which < 4; which++) {
        char *w = strdup(msg[which].data);
        for (char *p = strstr(w, "\n    <field"); p != NULL; p = strstr(p + 1, "\n    <field"))
            memcpy(p, "\t \r\n", 4); /* other whitespace, same length */
        run(&o, &in, which, w, &t, msg);
        cr_assert(t.done, "msg%d with other whitespace", which + 1);
        cr_assert_arr_eq(t.k, base.k, sizeof t.k);
        cr_assert_str_eq(t.sas, base.sas);
        free(w);
    }
    for (int i = 0; i < 4; i++)
        esession_buf_free(&msg[i]);
    ot_free(&cached);
    cached_for = NULL;
}
