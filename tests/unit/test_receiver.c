/* SPDX-License-Identifier: ISC */
/* Alice's receiver (PROFILE §10, §11) beyond the OfflineAccept vectors:
 * every error code, result fields, events, persistence across a keystore
 * close and reopen, ending and expiry, single-byte damage, the limits, and
 * the internal pieces (stanza reading, content, ranges, epochs, records). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../common/vecfile.h"

#include "../../crypto/dh.h"
#include "../../forms/datetime.h"
#include "../../session/options_sig.h"
#include "../../forms/xml.h"
#include "../../session/receiver.h"
#include "../../session/sender.h"
#include "../../store/store.h"

#define NEG "vectors/esession/offline_accept_negative.json"
#define ORD "vectors/esession/offline_accept_order_loss.json"
#define MAX_EVENTS 256
#define MAX_RESULTS 128

#include "ks_test.h"
#include "fixture.h"

typedef struct event_copy {
    esession_event_type type;
    esession_status status;
    char jid[64], thread[64];
    uint64_t tag;
} event_copy;

typedef struct fx {
    json_t *root, *group;
    esession_ctx *ctx;
    esession_keystore *ks;
    esession_receiver *r;
    char dir[64], path[128];
    int64_t now;
    int trust_answer; /* what the host trust hook says (-1: no opinion) */
    event_copy ev[MAX_EVENTS];
    size_t n_ev;
    esession_result res[MAX_RESULTS];
    size_t n_res;
} fx;

static int64_t fx_now(void *user)
{
    return ((fx *)user)->now;
}

static void fx_event(void *user, const esession_event *e)
{
    fx *f = user;
    if (f->n_ev == MAX_EVENTS)
        return; /* tests that care reset n_ev first */
    event_copy *c = &f->ev[f->n_ev++];
    c->type = e->type;
    c->status = e->status;
    snprintf(c->jid, sizeof c->jid, "%s", e->jid != NULL ? e->jid : "(null)");
    snprintf(c->thread, sizeof c->thread, "%s", e->thread != NULL ? e->thread : "(null)");
    c->tag = e->tag;
}

static int fx_trust(void *user, const char *bare, const esession_key *key)
{
    (void)bare;
    (void)key;
    return ((fx *)user)->trust_answer;
}

/* ---- vectors ------------------------------------------------------- */

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    cr_assert_not_null(s, "vector field %s", key);
    return s;
}

static json_t *test_of(const fx *f, long tc)
{
    json_t *tests = json_object_get(f->group, "tests"), *t;
    size_t i;
    json_array_foreach(tests, i, t)
    {
        if (json_integer_value(json_object_get(t, "tcId")) == tc)
            return t;
    }
    cr_assert_fail("no tcId %ld", tc);
    return NULL;
}

static const char *stanza(const fx *f, long tc, size_t i)
{
    json_t *stanzas = json_object_get(test_of(f, tc), "stanzas");
    const char *s = json_string_value(json_array_get(stanzas, i));
    cr_assert_not_null(s, "tcId %ld stanza %zu", tc, i);
    return s;
}

static const char *plaintext(const fx *f, long tc, size_t i)
{
    json_t *e = json_array_get(json_object_get(test_of(f, tc), "expected"), i);
    return jstr(e, "plaintextXml");
}

/* Alice's option set and Bob's trust, as the harness sets them up. */
static void fx_keystore_content(fx *f)
{
    json_t *alice = json_object_get(f->group, "alice"), *bob = json_object_get(f->group, "bob");
    json_t *opts = json_object_get(alice, "options");
    const char *lists[10][ES_OPT_MAX_LIST];
    es_offer offer;
    memset(&offer, 0, sizeof offer);
    es_strlist *l[10] = {&offer.otr, &offer.disclosure, &offer.security, &offer.modp,
                         &offer.crypt_algs, &offer.hash_algs, &offer.sign_algs, &offer.compress,
                         &offer.stanzas, &offer.ver};
    for (size_t i = 0; i < 10; i++) {
        json_t *arr = json_object_get(opts, es_options_list_fields[i]);
        l[i]->n = json_array_size(arr);
        for (size_t j = 0; j < l[i]->n; j++)
            lists[i][j] = json_string_value(json_array_get(arr, j));
        l[i]->v = lists[i];
    }
    const char *exp = jstr(opts, "expires");
    cr_assert_eq(es_datetime_parse(exp, strlen(exp), &offer.expires, NULL), ESESSION_OK);
    offer.rekey_freq = (uint32_t)strtoul(jstr(opts, "rekey_freq"), NULL, 10);

    size_t nonce_len;
    uint8_t *nonce = vec_hex(jstr(alice, "nonce"), &nonce_len);
    esession_buf x[ES_OPT_MAX_GROUPS], e[ES_OPT_MAX_GROUPS];
    int groups[ES_OPT_MAX_GROUPS];
    memset(x, 0, sizeof x);
    memset(e, 0, sizeof e);
    for (size_t i = 0; i < offer.modp.n; i++) {
        size_t xl;
        uint8_t *xb = vec_hex(jstr(json_object_get(alice, "x"), offer.modp.v[i]), &xl);
        es_dh *dh = NULL;
        groups[i] = atoi(offer.modp.v[i]);
        cr_assert_eq(es_dh_from_private(f->ctx, &dh, groups[i], xb, xl), ESESSION_OK);
        cr_assert_eq(es_dh_public(dh, &e[i]), ESESSION_OK);
        cr_assert_eq(es_dh_private(dh, &x[i]), ESESSION_OK);
        es_dh_free(dh);
        free(xb);
    }
    json_t *keys = json_object_get(alice, "signKeys");
    esession_key *k[8];
    size_t nk = json_array_size(keys);
    for (size_t i = 0; i < nk; i++) {
        const char *pem = jstr(json_array_get(keys, i), "privatePem");
        cr_assert_eq(esession_key_from_pem(f->ctx, &k[i], pem, strlen(pem)), ESESSION_OK);
    }
    esession_buf form = {NULL, 0, 0};
    cr_assert_eq(es_options_build(f->ctx, &offer, nonce, nonce_len, e,
                                  (const esession_key *const *)k, nk, &form),
                 ESESSION_OK);
    cr_assert_eq(es_ks_optset_add(f->ks, nonce, nonce_len, f->now, offer.expires, groups, x,
                                  offer.modp.n, form.data, form.len),
                 ESESSION_OK);
    if (json_is_true(json_object_get(bob, "trusted"))) {
        const char *pem = jstr(bob, "publicKeyPem");
        esession_key *bk = NULL;
        unsigned alerts = 0;
        cr_assert_eq(esession_key_from_pem(f->ctx, &bk, pem, strlen(pem)), ESESSION_OK);
        cr_assert_eq(esession_trust_add(f->ks, "bob@example.com", bk, "", &alerts), ESESSION_OK);
        esession_key_free(bk);
    }
    for (size_t i = 0; i < nk; i++)
        esession_key_free(k[i]);
    for (size_t i = 0; i < ES_OPT_MAX_GROUPS; i++) {
        esession_buf_free(&x[i]);
        esession_buf_free(&e[i]);
    }
    esession_buf_free(&form);
    free(nonce);
}

/* Scenarios that do not measure the window use a small one: a stanza
 * held under the full window costs 2^16 HMACs, seconds under valgrind. */
#define FX_WINDOW 64u

static void fx_new_receiver(fx *f)
{
    esession_status rc = esession_receiver_new(f->ctx, f->ks, &f->r);
    cr_assert_eq(rc, ESESSION_OK, "receiver: %s (%s)", esession_status_name(rc),
                 esession_ctx_error_detail(f->ctx));
    es_rx_set_window(f->r, FX_WINDOW);
}

static void fx_open(fx *f, const char *file, size_t group)
{
    static const esession_host_ops ops = {.now = fx_now, .event = fx_event, .trust = fx_trust};
    esession_ctx_options o = ESESSION_CTX_OPTIONS_INIT;
    json_error_t err;

    memset(f, 0, sizeof *f);
    f->trust_answer = -1;
    f->root = json_load_file(file, 0, &err);
    cr_assert_not_null(f->root, "%s: %s", file, err.text);
    f->group = json_array_get(json_object_get(f->root, "testGroups"), group);
    cr_assert_not_null(f->group);
    const char *now = jstr(f->group, "now");
    cr_assert_eq(es_datetime_parse(now, strlen(now), &f->now, NULL), ESESSION_OK);
    o.ops = &ops;
    o.user = f;
    cr_assert_eq(esession_ctx_new(&f->ctx, &o, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_OK);
    kt_mkdir(f->dir, sizeof f->dir);
    snprintf(f->path, sizeof f->path, "%s/alice.ks", f->dir);
    f->ks = kt_create(f->ctx, f->path);
    fx_keystore_content(f);
    fx_new_receiver(f);
}

static void fx_drop_results(fx *f)
{
    for (size_t i = 0; i < f->n_res; i++)
        esession_result_free(&f->res[i]);
    f->n_res = 0;
}

static void fx_close(fx *f)
{
    fx_drop_results(f);
    esession_receiver_free(f->r);
    esession_keystore_free(f->ks);
    esession_ctx_free(f->ctx);
    json_decref(f->root);
    kt_rmdir(f->dir);
}

/* The names of Alice's session records (sorted; the store lists them in
 * no particular order). */
#define MAX_NAMES 8

typedef struct names {
    size_t n;
    char v[MAX_NAMES][ES_BLOB_NAME_MAX + 1];
} names;

static esession_status add_name(void *arg, const char *name, const uint8_t *data, size_t len,
                                uint64_t version)
{
    names *l = arg;
    (void)data;
    (void)len;
    cr_assert_gt(version, 0);
    cr_assert_lt(l->n, MAX_NAMES);
    snprintf(l->v[l->n++], sizeof l->v[0], "%s", name);
    return ESESSION_OK;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static names rx_records_of(esession_keystore *ks)
{
    names l;
    memset(&l, 0, sizeof l);
    cr_assert_eq(es_ks_blob_list(ks, ES_RX_BLOB_PREFIX, add_name, &l), ESESSION_OK);
    qsort(l.v, l.n, sizeof l.v[0], name_cmp);
    return l;
}

static size_t rx_records(fx *f)
{
    return rx_records_of(f->ks).n;
}

/* Close and reopen keystore and receiver, as after a restart. */
static void fx_restart(fx *f)
{
    esession_receiver_free(f->r);
    f->r = NULL;
    esession_keystore_free(f->ks);
    f->ks = kt_open(f->ctx, f->path);
    fx_new_receiver(f);
}

/* Take every queued result into f->res (appended). */
static void fx_take(fx *f)
{
    esession_result res;
    while (esession_receiver_next(f->r, &res)) {
        cr_assert_lt(f->n_res, MAX_RESULTS);
        f->res[f->n_res++] = res;
    }
}

/* Feed text (tag) and return its own result, which must come first. */
static const esession_result *feed_text(fx *f, const char *text, uint64_t tag)
{
    fx_drop_results(f);
    esession_status rc = esession_receiver_feed(f->r, text, strlen(text), tag);
    cr_assert_eq(rc, ESESSION_OK, "feed: %s", esession_status_name(rc));
    fx_take(f);
    cr_assert_geq(f->n_res, 1, "no result for tag %llu", (unsigned long long)tag);
    cr_assert_eq(f->res[0].tag, tag);
    return &f->res[0];
}

static const esession_result *feed(fx *f, long tc, size_t i, uint64_t tag)
{
    return feed_text(f, stanza(f, tc, i), tag);
}

static void expect_message(const esession_result *res, const char *want)
{
    cr_assert_eq(res->kind, ESESSION_RESULT_MESSAGE, "kind %d (%s)", (int)res->kind,
                 esession_status_name(res->error));
    cr_assert_eq(res->plaintext.len, strlen(want));
    cr_assert(memcmp(res->plaintext.data, want, res->plaintext.len) == 0, "plaintext differs");
    cr_assert(res->plaintext.secret, "plaintext not in guarded memory");
}

static void expect_error(const esession_result *res, esession_status want)
{
    cr_assert_eq(res->kind, ESESSION_RESULT_ERROR, "kind %d, want error %s", (int)res->kind,
                 esession_status_name(want));
    cr_assert_eq(res->error, want, "error %s, want %s", esession_status_name(res->error),
                 esession_status_name(want));
    cr_assert_null(res->plaintext.data);
}

static void expect_kind(const esession_result *res, esession_result_kind kind)
{
    cr_assert_eq(res->kind, kind, "kind %d (error %s), want %d", (int)res->kind,
                 esession_status_name(res->error), (int)kind);
}

static size_t count_events(const fx *f, esession_event_type type)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_ev; i++)
        n += f->ev[i].type == type;
    return n;
}

/* Each fixture costs a vector file, two exponentiations and a signature
 * (slow under valgrind), so each Test runs several scenarios on one. */

/* ---- error codes, events, trust ------------------------------------- */

typedef struct code_case {
    long tc;
    size_t stanza;
    esession_status want;
} code_case;

static void every_error_code(fx *f)
{
    /* In this order: t55's failed first stanza and t20's accepted init
     * leave replay records behind, which nothing before them may meet. */
    static const code_case cases[] = {
        {23, 0, ESESSION_ERR_UNKNOWN_OPTIONS},
        {1, 0, ESESSION_ERR_EXPIRED}, /* with the clock moved on */
        {24, 0, ESESSION_ERR_UNSUPPORTED_OPTION},
        {33, 0, ESESSION_ERR_INVALID_DH_VALUE},
        {42, 0, ESESSION_ERR_BAD_IDENTITY_MAC},
        {45, 0, ESESSION_ERR_BAD_SIGNATURE},
        {49, 0, ESESSION_ERR_UNTRUSTED_KEY},
        {63, 0, ESESSION_ERR_MALFORMED},
        {11, 0, ESESSION_ERR_NO_SESSION},
        {55, 0, ESESSION_ERR_BAD_MAC},
        {20, 1, ESESSION_ERR_REPLAY}, /* after its stanza 0 opened */
    };
    int64_t now = f->now;
    for (size_t k = 0; k < ES_ARRAY_LEN(cases); k++) {
        const code_case *c = &cases[k];
        for (size_t i = 0; i < c->stanza; i++)
            expect_kind(feed(f, c->tc, i, 100 + i), ESESSION_RESULT_MESSAGE);
        f->now = c->want == ESESSION_ERR_EXPIRED ? now + 24 * 3600 : now;
        f->n_ev = 0;
        const esession_result *res = feed(f, c->tc, c->stanza, 7);
        f->now = now;
        expect_error(res, c->want);
        cr_assert_str_neq(esession_ctx_error_detail(f->ctx), "", "no detail for %s",
                          esession_status_name(c->want));
        cr_assert_eq(count_events(f, ESESSION_EVENT_DISCARDED), 1);
        /* An untrusted key may also raise a key-association alert first. */
        size_t d = 0;
        while (d < f->n_ev && f->ev[d].type != ESESSION_EVENT_DISCARDED)
            d++;
        cr_assert_lt(d, f->n_ev);
        cr_assert_eq(f->ev[d].status, c->want);
        cr_assert_eq(f->ev[d].tag, 7);
        if (c->want != ESESSION_ERR_MALFORMED) { /* tc 63 is cut short before its from */
            cr_assert_str_eq(f->ev[d].jid, "bob@example.com");
            cr_assert_str_eq(res->from.data, "bob@example.com/laptop");
            cr_assert_str_eq(res->from_bare.data, "bob@example.com");
        }
    }
}

static void host_trust_hook_decides_first(fx *f)
{
    /* Bob's key is in the keystore, but the host says no. */
    f->trust_answer = 0;
    expect_error(feed(f, 56, 0, 0), ESESSION_ERR_UNTRUSTED_KEY);
    /* A key the keystore does not trust, but the host does. */
    f->trust_answer = 1;
    const esession_result *res = feed(f, 49, 0, 1);
    expect_kind(res, ESESSION_RESULT_MESSAGE);
    cr_assert_eq(strncmp(res->plaintext.data, "<body>", 6), 0);
    f->trust_answer = -1;
}


/* ---- result fields, termination, misuse ------------------------------ */

static void result_fields(fx *f)
{
    const esession_result *res = feed(f, 1, 0, 1);
    expect_message(res, plaintext(f, 1, 0));
    cr_assert_str_eq(res->from.data, "bob@example.com/laptop");
    cr_assert_str_eq(res->from_bare.data, "bob@example.com");
    cr_assert_str_eq(res->thread.data, "203ab9facad392c16ffc0cc4109f1b73");
    size_t n;
    uint8_t *ctr = vec_hex("d26d52ad706f97cffb5eeb6f02381a00", &n);
    cr_assert_arr_eq(res->counter, ctr, 16);
    free(ctr);
    int64_t created;
    cr_assert_eq(es_datetime_parse("2026-11-30T10:00:00Z", 20, &created, NULL), ESESSION_OK);
    cr_assert(res->has_created);
    cr_assert_eq(res->created, created);
    cr_assert_not(res->has_delay);
    cr_assert_eq(res->profile, ESESSION_PROFILE_IM);
    /* Who signed the session: Bob's key, trusted in the store, not verified. */
    const char *pem = jstr(json_object_get(f->group, "bob"), "publicKeyPem");
    esession_key *bk = NULL;
    uint8_t fp[ESESSION_FINGERPRINT_BYTES];
    cr_assert_eq(esession_key_from_pem(f->ctx, &bk, pem, strlen(pem)), ESESSION_OK);
    cr_assert_eq(esession_key_fingerprint(f->ctx, bk, fp), ESESSION_OK);
    esession_key_free(bk);
    cr_assert_arr_eq(res->key_fingerprint, fp, sizeof fp);
    cr_assert_eq(res->key_state, ESESSION_KEY_STATE_TRUSTED);
    /* Verified since: the next message says so. */
    cr_assert_eq(esession_trust_set_verified(f->ks, "bob@example.com", fp, 1), ESESSION_OK);
    /* The server's delay stamp is reported apart, unauthenticated. */
    res = feed(f, 16, 1, 2);
    expect_message(res, plaintext(f, 16, 1));
    cr_assert(res->has_delay);
    cr_assert_eq(es_datetime_parse("2026-11-30T10:05:00Z", 20, &created, NULL), ESESSION_OK);
    cr_assert_eq(res->delay, created);
    cr_assert_str_eq(res->delay_from.data, "example.org");
    cr_assert_eq(res->profile, ESESSION_PROFILE_IM | ESESSION_PROFILE_CHATSTATES);
    cr_assert_eq(res->key_state, ESESSION_KEY_STATE_VERIFIED);
    cr_assert_arr_eq(res->key_fingerprint, fp, sizeof fp);
    cr_assert_eq(f->n_ev, 0, "no event for delivered messages");
}

static void termination_and_single_stanza(fx *f)
{
    expect_message(feed(f, 8, 0, 0), plaintext(f, 8, 0));
    expect_message(feed(f, 8, 1, 1), plaintext(f, 8, 1));
    const esession_result *res = feed(f, 8, 2, 2);
    expect_kind(res, ESESSION_RESULT_TERMINATED);
    cr_assert_null(res->plaintext.data);
    cr_assert_eq(res->profile, ESESSION_PROFILE_OTHER);
    expect_error(feed(f, 9, 3, 3), ESESSION_ERR_NO_SESSION);
    /* A copy of an opened stanza is still a duplicate after termination. */
    expect_kind(feed(f, 8, 1, 4), ESESSION_RESULT_DUPLICATE);
    /* formB terminate=1: one message, then nothing. */
    expect_message(feed(f, 3, 0, 5), plaintext(f, 3, 0));
    expect_error(feed(f, 5, 1, 6), ESESSION_ERR_NO_SESSION);
}

static void misuse(fx *f)
{
    esession_receiver *r = (esession_receiver *)(uintptr_t)0x5a5a;
    esession_result res;
    fx_drop_results(f);
    cr_assert_eq(esession_receiver_new(NULL, f->ks, &r), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_receiver_new(f->ctx, NULL, &r), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_receiver_new(f->ctx, f->ks, NULL), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(r, (esession_receiver *)(uintptr_t)0x5a5a);
    cr_assert_eq(esession_receiver_feed(NULL, "x", 1, 0), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_receiver_feed(f->r, NULL, 1, 0), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_receiver_next(NULL, &res), 0);
    cr_assert_eq(esession_receiver_next(f->r, NULL), 0);
    cr_assert_eq(esession_receiver_next(f->r, &res), 0);
    cr_assert_eq(esession_receiver_end(NULL, NULL, NULL), ESESSION_ERR_INVALID_ARGUMENT);
    esession_receiver_free(NULL);
    esession_result_free(NULL);
    /* Not stanzas at all: one malformed result each, never a failure. */
    expect_error(feed_text(f, "", 1), ESESSION_ERR_MALFORMED);
    expect_error(feed_text(f, "<iq/>", 2), ESESSION_ERR_MALFORMED);
    /* An ESession element without the rest is damage, not a plain message. */
    expect_error(feed_text(f, "<message from='b@x/r'><thread>t</thread><init xmlns='"
                              ES_RX_INIT_NS "'/></message>", 3),
                 ESESSION_ERR_MALFORMED);
}

/* Somebody's ordinary message among the encrypted ones is handed over,
 * marked PLAIN, with a stable id and nothing of the server's marks. */
static void plain_messages(fx *f)
{
    static const char msg[] =
        "<message from='carol@example.net/phone' to='alice@example.org' type='chat'>"
        "<body>hi &amp; bye</body><thread>t-1</thread>"
        "<delay xmlns='urn:xmpp:delay' from='example.org' stamp='2026-09-01T10:00:00Z'/>"
        "<active xmlns='http://jabber.org/protocol/chatstates'/></message>";
    const esession_result *res = feed_text(f, msg, 41);
    expect_kind(res, ESESSION_RESULT_PLAIN);
    cr_assert_eq(f->n_res, 1);
    cr_assert_str_eq(res->plaintext.data,
                     "<body>hi &amp; bye</body>"
                     "<active xmlns=\"http://jabber.org/protocol/chatstates\"/>");
    cr_assert_str_eq(res->from.data, "carol@example.net/phone");
    cr_assert_str_eq(res->from_bare.data, "carol@example.net");
    cr_assert_str_eq(res->thread.data, "t-1");
    cr_assert(res->has_delay);
    cr_assert_eq(res->profile, ESESSION_PROFILE_IM | ESESSION_PROFILE_CHATSTATES);
    cr_assert_eq(strlen(res->id), 32);
    char id[ESESSION_MESSAGE_ID_MAX];
    memcpy(id, res->id, sizeof id);
    /* The same stanza again: the same id, so a client can keep it once. */
    res = feed_text(f, msg, 42);
    expect_kind(res, ESESSION_RESULT_PLAIN);
    cr_assert_str_eq(res->id, id);
    /* No from, a server notice: still delivered. */
    res = feed_text(f, "<message><subject>maintenance</subject></message>", 43);
    expect_kind(res, ESESSION_RESULT_PLAIN);
    cr_assert_eq(res->from.len, 0);
    cr_assert_str_neq(res->id, id);
    /* A body beside a <c> does not make an encrypted stanza plain. */
    res = feed_text(f, "<message from='b@x/r'><body>?</body><thread>t</thread><c xmlns='"
                       ES_C_NS "'/></message>", 44);
    expect_error(res, ESESSION_ERR_MALFORMED);
    /* Nothing of it was stored. */
    cr_assert_eq(rx_records(f), 0);
}

/* The server stores a stanza Bob sent twice (a resend after a crash) as
 * two copies, each with its own delay stamp and, with XEP-0013, its own
 * marker: the second copy of a first stanza is a duplicate, not a replay.
 * A change of Bob's own octets still is one (vector tcId 19). */
static char *with_marks(const char *stanza, const char *marks)
{
    const char *end = strstr(stanza, "</message>");
    cr_assert_not_null(end);
    size_t head = (size_t)(end - stanza), n = strlen(stanza) + strlen(marks) + 1;
    char *out = malloc(n);
    cr_assert_not_null(out);
    snprintf(out, n, "%.*s%s%s", (int)head, stanza, marks, end);
    return out;
}

Test(receiver, a_first_stanza_stored_twice_by_the_server_is_a_duplicate)
{
    fx f;
    fx_open(&f, NEG, 0);
    const char *init = stanza(&f, 18, 0);
    char *one = with_marks(init, "<delay xmlns='urn:xmpp:delay' from='example.org' "
                                 "stamp='2026-09-01T10:00:00Z'/>");
    char *two = with_marks(init, "<offline xmlns='http://jabber.org/protocol/offline'><item "
                                 "node='2026-09-01T10:00:01.000001Z'/></offline><delay "
                                 "xmlns='urn:xmpp:delay' from='example.org' "
                                 "stamp='2026-09-01T10:00:01.000001Z'/>");
    char *changed = with_marks(init, "<delay xmlns='urn:xmpp:delay' stamp='2026-09-01T10:00:02Z'/>"
                                     "<body>not the server's</body>");
    expect_kind(feed_text(&f, one, 1), ESESSION_RESULT_MESSAGE);
    expect_kind(feed_text(&f, two, 2), ESESSION_RESULT_DUPLICATE);
    expect_kind(feed_text(&f, init, 3), ESESSION_RESULT_DUPLICATE);
    expect_error(feed_text(&f, changed, 4), ESESSION_ERR_REPLAY);
    free(one);
    free(two);
    free(changed);
    fx_close(&f);
}

Test(receiver, plain_messages_are_delivered_marked)
{
    fx f;
    fx_open(&f, NEG, 0);
    plain_messages(&f);
    fx_close(&f);
}

Test(receiver, result_fields_termination_misuse)
{
    fx f;
    fx_open(&f, NEG, 0);
    result_fields(&f);
    termination_and_single_stanza(&f);
    misuse(&f);
    fx_close(&f);
}

/* Apart: its replay records would meet the stanzas above. */
Test(receiver, every_error_code_events_and_trust)
{
    fx f;
    fx_open(&f, NEG, 0);
    every_error_code(&f);
    host_trust_hook_decides_first(&f);
    fx_close(&f);
}

/* ---- persistence, ending, expiry -------------------------------------- */

static void state_survives_keystore_close_and_reopen(fx *f)
{
    expect_message(feed(f, 1, 0, 0), plaintext(f, 1, 0));
    expect_message(feed(f, 1, 2, 2), plaintext(f, 1, 2)); /* stanza 1 lost so far */
    fx_restart(f);
    /* Replays are still known; opened stanzas are duplicates, never
     * delivered twice; the gap still takes its stanza. */
    expect_kind(feed(f, 1, 0, 10), ESESSION_RESULT_DUPLICATE);
    expect_kind(feed(f, 1, 2, 12), ESESSION_RESULT_DUPLICATE);
    expect_error(feed(f, 19, 1, 13), ESESSION_ERR_REPLAY);
    expect_message(feed(f, 1, 1, 11), plaintext(f, 1, 1));
    fx_restart(f);
    expect_kind(feed(f, 1, 1, 21), ESESSION_RESULT_DUPLICATE);
    expect_error(feed(f, 20, 1, 22), ESESSION_ERR_REPLAY);
}

static void end_and_reopen_by_the_same_init(fx *f)
{
    f->n_ev = 0;
    cr_assert_eq(esession_receiver_end(f->r, "bob@example.com", "other"), ESESSION_ERR_NO_SESSION);
    cr_assert_eq(esession_receiver_end(f->r, "carol@example.com", NULL), ESESSION_ERR_NO_SESSION);
    cr_assert_eq(esession_receiver_end(f->r, NULL, "thread"), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_receiver_end(f->r, "bob@example.com", "203ab9facad392c16ffc0cc4109f1b73"),
                 ESESSION_OK);
    cr_assert_eq(count_events(f, ESESSION_EVENT_SESSION_ENDED), 1);
    cr_assert_eq(rx_records(f), 0, "state erased");
    cr_assert_eq(esession_receiver_end(f->r, NULL, NULL), ESESSION_OK, "nothing to end is fine");
    expect_error(feed(f, 1, 1, 1), ESESSION_ERR_NO_SESSION);
    /* The byte-identical init opens the same session again, silently; what
     * follows opens again (the caller ended the session). */
    expect_kind(feed(f, 1, 0, 2), ESESSION_RESULT_DUPLICATE);
    expect_message(feed(f, 1, 1, 3), plaintext(f, 1, 1));
    expect_kind(feed(f, 1, 0, 4), ESESSION_RESULT_DUPLICATE);
}

static void option_set_expiry_ends_sessions(fx *f)
{
    int64_t now = f->now;
    f->now += 24 * 3600; /* past 2026-12-01T00:00:00Z */
    f->n_ev = 0;
    expect_error(feed(f, 1, 2, 1), ESESSION_ERR_EXPIRED);
    cr_assert_eq(count_events(f, ESESSION_EVENT_SESSION_ENDED), 1);
    cr_assert_eq(count_events(f, ESESSION_EVENT_DISCARDED), 1);
    expect_error(feed(f, 1, 2, 2), ESESSION_ERR_NO_SESSION);
    f->now = now;
}

/* esession_offline_queue_done destroys x: nothing new opens, a re-key
 * cannot be followed, and the receiver keeps no copy of x either. */
static void destroyed_exponents(fx *f)
{
    expect_message(feed(f, 2, 0, 0), plaintext(f, 2, 0));
    cr_assert_geq(f->r->n_dh, 1, "x kept ready while the set has it");
    size_t nl;
    uint8_t *nonce = vec_hex(jstr(json_object_get(f->group, "alice"), "nonce"), &nl);
    cr_assert_eq(es_ks_optset_destroy_secrets(f->ks, nonce, nl), ESESSION_OK);
    free(nonce);
    expect_message(feed(f, 2, 1, 1), plaintext(f, 2, 1)); /* carries <key> */
    cr_assert_eq(f->r->n_dh, 0, "the receiver's copy of x is gone too");
    expect_kind(feed(f, 2, 2, 2), ESESSION_RESULT_HELD);
    expect_error(feed(f, 10, 0, 3), ESESSION_ERR_UNKNOWN_OPTIONS);
}

/* What a second handle on the same store sees of Alice's sessions: the
 * number of session records and of sessions in the option set's replay
 * memory (what is committed, not what a running batch did). */
static void committed_state(fx *f, size_t *records, size_t *replay)
{
    esession_keystore *other = kt_open(f->ctx, f->path);
    *records = rx_records_of(other).n;
    cr_assert_eq(es_ks_optset_count(other), 1);
    *replay = es_ks_optset_at(other, 0)->n_replay;
    esession_keystore_free(other);
}

static uint64_t commits(fx *f)
{
    esession_keystore_info info;
    cr_assert_eq(esession_keystore_get_info(f->ks, &info), ESESSION_OK);
    return info.commits;
}

/* A client batch (esession_keystore_begin .. commit) is one transaction:
 * nothing of it is committed until the commit, so a crash (a close) or a
 * rollback before it leaves the stanzas unopened, and they open again
 * (the client had not stored them yet); after the commit they are
 * duplicates. What must be durable first refuses inside a batch. */
static void batches(fx *f)
{
    size_t records, replay;
    /* A batch that writes nothing commits nothing. */
    uint64_t c0 = commits(f);
    cr_assert_eq(esession_keystore_begin(f->ks), ESESSION_OK);
    cr_assert_eq(esession_keystore_commit(f->ks), ESESSION_OK);
    cr_assert_eq(commits(f), c0, "nothing due: nothing written");

    cr_assert_eq(esession_keystore_begin(f->ks), ESESSION_OK);
    expect_message(feed(f, 1, 0, 0), plaintext(f, 1, 0));
    expect_message(feed(f, 1, 1, 1), plaintext(f, 1, 1));
    committed_state(f, &records, &replay);
    cr_assert_eq(records, 0, "a session record was committed inside the batch");
    cr_assert_eq(replay, 0, "replay memory was committed inside the batch");
    esession_buf iq = {0};
    char id[ESESSION_IQ_ID_MAX] = "untouched";
    cr_assert_eq(esession_online(f->ctx, f->ks, &iq, id), ESESSION_ERR_STATE);
    cr_assert_str_neq(esession_ctx_error_detail(f->ctx), "");
    cr_assert_eq(esession_offline_queue_done(f->ctx, f->ks), ESESSION_ERR_STATE);
    size_t removed = 99;
    cr_assert_eq(esession_purge_expired(f->ctx, f->ks, &removed), ESESSION_ERR_STATE);
    cr_assert_eq(removed, 99);
    esession_publication pub;
    memset(&pub, 0, sizeof pub);
    cr_assert_eq(esession_publish(f->ctx, f->ks, NULL, &pub), ESESSION_ERR_STATE);
    cr_assert_null(iq.data);
    cr_assert_str_eq(id, "untouched");
    cr_assert_null(pub.publish_iq.data);
    cr_assert_eq(esession_keystore_begin(f->ks), ESESSION_ERR_STATE, "a batch is running");

    fx_restart(f); /* closed without a commit: as after a crash */
    expect_message(feed(f, 1, 0, 10), plaintext(f, 1, 0));
    expect_message(feed(f, 1, 1, 11), plaintext(f, 1, 1));
    fx_restart(f);
    expect_kind(feed(f, 1, 0, 12), ESESSION_RESULT_DUPLICATE);
    expect_kind(feed(f, 1, 1, 13), ESESSION_RESULT_DUPLICATE);

    /* Rolled back: the same receiver goes back to the stored session, so
     * the stanza opens again (and the refusals above did not doom it). */
    cr_assert_eq(esession_keystore_begin(f->ks), ESESSION_OK);
    expect_message(feed(f, 1, 2, 14), plaintext(f, 1, 2));
    expect_kind(feed(f, 1, 2, 15), ESESSION_RESULT_DUPLICATE);
    cr_assert_eq(esession_online(f->ctx, f->ks, &iq, id), ESESSION_ERR_STATE);
    esession_keystore_rollback(f->ks);
    expect_message(feed(f, 1, 2, 16), plaintext(f, 1, 2));
    fx_restart(f);
    expect_kind(feed(f, 1, 2, 17), ESESSION_RESULT_DUPLICATE);

    /* A failed commit keeps nothing of the batch, and says so; the batch
     * is over, and the stanzas open again. */
    cr_assert_eq(esession_receiver_end(f->r, NULL, NULL), ESESSION_OK);
    fx_restart(f);
    cr_assert_eq(esession_keystore_begin(f->ks), ESESSION_OK);
    expect_kind(feed(f, 1, 0, 20), ESESSION_RESULT_DUPLICATE); /* reopened, silently */
    expect_message(feed(f, 1, 1, 21), plaintext(f, 1, 1));
    int calls = 0;
    kt_break_writes(f->ks, &calls);
    cr_assert_eq(esession_keystore_commit(f->ks), ESESSION_ERR_IO);
    cr_assert_eq(calls, 1);
    cr_assert_str_neq(esession_ctx_error_detail(f->ctx), "");
    cr_assert_eq(esession_keystore_commit(f->ks), ESESSION_ERR_STATE, "the batch is over");
    es_ks_set_hooks(f->ks, NULL);
    expect_error(feed(f, 1, 1, 22), ESESSION_ERR_NO_SESSION); /* the reopening went too */
    expect_kind(feed(f, 1, 0, 23), ESESSION_RESULT_DUPLICATE);
    expect_message(feed(f, 1, 1, 24), plaintext(f, 1, 1));
    fx_restart(f);
    expect_kind(feed(f, 1, 1, 25), ESESSION_RESULT_DUPLICATE);

    /* Ending sessions inside a batch: committed with it. */
    cr_assert_eq(esession_keystore_begin(f->ks), ESESSION_OK);
    cr_assert_eq(esession_receiver_end(f->r, NULL, NULL), ESESSION_OK);
    committed_state(f, &records, &replay);
    cr_assert_eq(records, 1, "ended before the commit");
    cr_assert_eq(esession_keystore_commit(f->ks), ESESSION_OK);
    committed_state(f, &records, &replay);
    cr_assert_eq(records, 0);
    cr_assert_eq(replay, 1, "replay memory stays");
    fx_restart(f);
    expect_error(feed(f, 1, 2, 26), ESESSION_ERR_NO_SESSION);
}

Test(receiver, persistence_ending_expiry)
{
    fx f;
    fx_open(&f, NEG, 0);
    batches(&f);
    fx_close(&f);
    fx_open(&f, NEG, 0);
    state_survives_keystore_close_and_reopen(&f);
    end_and_reopen_by_the_same_init(&f);
    option_set_expiry_ends_sessions(&f);
    destroyed_exponents(&f);
    fx_close(&f);
}

static void held_stanzas_survive_a_restart(fx *f)
{
    expect_message(feed(f, 15, 0, 0), plaintext(f, 15, 0));
    expect_kind(feed(f, 15, 1, 1), ESESSION_RESULT_HELD);
    expect_kind(feed(f, 15, 2, 2), ESESSION_RESULT_HELD);
    fx_restart(f);
    /* The late re-key stanza releases both, in order, with their tags. */
    const esession_result *res = feed(f, 15, 3, 3);
    json_t *rel = json_object_get(json_array_get(json_object_get(test_of(f, 15), "expected"), 3),
                                  "released");
    expect_message(res, plaintext(f, 15, 3));
    cr_assert_eq(f->n_res, 3);
    cr_assert_eq(f->res[1].tag, 1);
    cr_assert_eq(f->res[2].tag, 2);
    expect_message(&f->res[1], jstr(json_array_get(rel, 0), "plaintextXml"));
    expect_message(&f->res[2], jstr(json_array_get(rel, 1), "plaintextXml"));
}

static void held_then_ended_after_restart_is_bad_mac(fx *f)
{
    expect_message(feed(f, 5, 0, 0), plaintext(f, 5, 0));
    expect_kind(feed(f, 5, 1, 41), ESESSION_RESULT_HELD);
    fx_restart(f);
    f->n_ev = 0;
    fx_drop_results(f);
    cr_assert_eq(esession_receiver_end(f->r, "bob@example.com", "d5036a72a5e5b8d8c1d33a3e5aeec4c4"),
                 ESESSION_ERR_NO_SESSION, "no such thread");
    es_rx_stanza *st = NULL;
    const char *text = stanza(f, 5, 0);
    cr_assert_eq(es_rx_stanza_read(f->ctx, text, strlen(text), &st), ESESSION_OK);
    cr_assert_eq(esession_receiver_end(f->r, "bob@example.com", st->thread), ESESSION_OK);
    es_rx_stanza_free(st);
    fx_take(f);
    cr_assert_eq(f->n_res, 1);
    expect_error(&f->res[0], ESESSION_ERR_BAD_MAC);
    cr_assert_eq(f->res[0].tag, 41);
    cr_assert_eq(count_events(f, ESESSION_EVENT_DISCARDED), 1);
    cr_assert_eq(count_events(f, ESESSION_EVENT_SESSION_ENDED), 1);
    /* State erased: a further stanza finds no session, even after a restart. */
    fx_restart(f);
    expect_error(feed(f, 5, 2, 42), ESESSION_ERR_NO_SESSION);
}

static void sessions_of_a_purged_set_end_when_loaded(fx *f)
{
    expect_message(feed(f, 14, 0, 0), plaintext(f, 14, 0));
    expect_kind(feed(f, 14, 1, 9), ESESSION_RESULT_HELD);
    size_t sessions = rx_records(f);
    cr_assert_geq(sessions, 1);
    esession_receiver_free(f->r);
    f->r = NULL;
    f->now += 30 * 24 * 3600;
    cr_assert_eq(esession_purge_expired(f->ctx, f->ks, NULL), ESESSION_OK);
    f->n_ev = 0;
    fx_new_receiver(f);
    fx_drop_results(f);
    fx_take(f);
    cr_assert_eq(f->n_res, 1);
    expect_error(&f->res[0], ESESSION_ERR_BAD_MAC);
    cr_assert_eq(f->res[0].tag, 9);
    cr_assert_eq(count_events(f, ESESSION_EVENT_SESSION_ENDED), sessions);
    cr_assert_eq(rx_records(f), 0);
}

/* ---- one session per JID and thread -------------------------------- */

#define SAME_THREAD "0123456789abcdef0123456789abcdef"
#define TO_ALICE(body) "<message to='alice@example.org' type='chat'><body>" body "</body></message>"

/* Bob, on f's context and clock, starts a session on SAME_THREAD against
 * Alice's published option set, and seals one message per body. The
 * session then ends on Bob's side (its stanzas are in hand), so that the
 * next call can start another one on the same thread. */
static void bob_session_on(fx *f, esession_keystore *bob, const char *thread,
                           const char *const *bodies, size_t n, esession_buf *out)
{
    const es_optset *set = es_ks_optset_at(f->ks, 0);
    cr_assert_not_null(set);
    xmlDocPtr doc = NULL;
    cr_assert_eq(es_xml_parse(f->ctx, set->form.data, set->form.len, &doc), ESESSION_OK);
    json_t *keys = json_object_get(json_object_get(f->group, "alice"), "signKeys");
    esession_key *alice = NULL;
    const char *pem = jstr(json_array_get(keys, 0), "privatePem");
    cr_assert_eq(esession_key_from_pem(f->ctx, &alice, pem, strlen(pem)), ESESSION_OK);
    const esession_key *trusted[1] = {alice};
    es_sender_fixed fixed = {NULL, 0, NULL, 0, NULL, thread};
    esession_sender *s = NULL;
    esession_status rc = es_sender_start_form(f->ctx, bob, "bob@example.com/laptop",
                                              "alice@example.org", xmlDocGetRootElement(doc),
                                              trusted, 1, f->now, NULL, &fixed, NULL, &s);
    cr_assert_eq(rc, ESESSION_OK, "start: %s (%s)", esession_status_name(rc),
                 esession_ctx_error_detail(f->ctx));
    cr_assert_str_eq(esession_sender_thread(s), thread);
    for (size_t i = 0; i < n; i++) {
        out[i] = (esession_buf){NULL, 0, 0};
        rc = esession_sender_seal(s, bodies[i], strlen(bodies[i]), &out[i]);
        cr_assert_eq(rc, ESESSION_OK, "seal: %s (%s)", esession_status_name(rc),
                     esession_ctx_error_detail(f->ctx));
    }
    esession_buf end = {NULL, 0, 0};
    cr_assert_eq(esession_sender_terminate(s, &end), ESESSION_OK); /* not delivered */
    esession_buf_free(&end);
    esession_sender_free(s);
    esession_key_free(alice);
    xmlFreeDoc(doc);
}

static void bob_session(fx *f, esession_keystore *bob, const char *const *bodies, size_t n,
                        esession_buf *out)
{
    bob_session_on(f, bob, SAME_THREAD, bodies, n, out);
}

static int has_body(const esession_result *res, const char *body)
{
    return res->kind == ESESSION_RESULT_MESSAGE && strstr(res->plaintext.data, body) != NULL;
}

/* A session record is named by (bare JID, thread) alone: a new session on
 * a thread that has one replaces it (the old one ends, reported), and
 * after a restart only the new one is there. */
static void a_new_session_replaces_the_old_one(fx *f)
{
    char bob_path[160];
    snprintf(bob_path, sizeof bob_path, "%s/bob.ks", f->dir);
    esession_keystore *bob = kt_create(f->ctx, bob_path);
    esession_key *bk = kt_key(f->ctx, "vec_rsa_bob.pem");
    cr_assert_eq(esession_keystore_add_key(bob, bk), ESESSION_OK);
    esession_key_free(bk);
    f->trust_answer = 1; /* this Bob's key is not the vectors' */
    static const char *const first[] = {TO_ALICE("old one"), TO_ALICE("old two")};
    static const char *const second[] = {TO_ALICE("new one"), TO_ALICE("new two")};
    esession_buf a[2], b[2];
    bob_session(f, bob, first, 2, a);
    bob_session(f, bob, second, 2, b);
    esession_keystore_free(bob);

    const esession_result *res = feed_text(f, a[0].data, 1);
    cr_assert(has_body(res, "old one"));
    cr_assert_eq(rx_records(f), 1);
    names before = rx_records_of(f->ks);
    cr_assert_str_eq(before.v[0], ES_RX_BLOB_PREFIX "bob@example.com/" SAME_THREAD);
    f->n_ev = 0;
    res = feed_text(f, b[0].data, 2);
    cr_assert(has_body(res, "new one"));
    cr_assert_eq(count_events(f, ESESSION_EVENT_SESSION_ENDED), 1, "the old session ended");
    for (size_t i = 0; i < f->n_ev; i++)
        if (f->ev[i].type == ESESSION_EVENT_SESSION_ENDED) {
            cr_assert_str_eq(f->ev[i].jid, "bob@example.com");
            cr_assert_str_eq(f->ev[i].thread, SAME_THREAD);
        }
    names after = rx_records_of(f->ks);
    cr_assert_eq(after.n, 1, "one record per JID and thread");
    cr_assert_str_eq(after.v[0], before.v[0]);
    /* The old session's next stanza verifies under no key of the new one:
     * held (and given up with it); the old init again is a copy of a
     * stanza already opened, and leaves the new session in place. */
    expect_kind(feed_text(f, a[1].data, 3), ESESSION_RESULT_HELD);
    expect_kind(feed_text(f, a[0].data, 4), ESESSION_RESULT_DUPLICATE);
    res = feed_text(f, b[1].data, 5);
    cr_assert(has_body(res, "new two"));
    fx_restart(f);
    cr_assert_eq(rx_records(f), 1);
    expect_kind(feed_text(f, b[1].data, 6), ESESSION_RESULT_DUPLICATE);
    expect_kind(feed_text(f, b[0].data, 7), ESESSION_RESULT_DUPLICATE);
    fx_drop_results(f);
    cr_assert_eq(esession_receiver_end(f->r, "bob@example.com", SAME_THREAD), ESESSION_OK);
    fx_take(f);
    cr_assert_eq(f->n_res, 1);
    expect_error(&f->res[0], ESESSION_ERR_BAD_MAC);
    cr_assert_eq(f->res[0].tag, 3);
    cr_assert_eq(rx_records(f), 0);
    f->trust_answer = -1;
    for (size_t i = 0; i < 2; i++) {
        esession_buf_free(&a[i]);
        esession_buf_free(&b[i]);
    }
}

/* With room for one session in memory, two sessions fed in turns are read
 * back from the store each time: every message opens once, past a gap and
 * into it too, and copies are duplicates. */
static void sessions_beyond_the_cache_are_read_back(fx *f)
{
    char bob_path[160];
    snprintf(bob_path, sizeof bob_path, "%s/bob.ks", f->dir);
    esession_keystore *bob = kt_create(f->ctx, bob_path);
    esession_key *bk = kt_key(f->ctx, "vec_rsa_bob.pem");
    cr_assert_eq(esession_keystore_add_key(bob, bk), ESESSION_OK);
    esession_key_free(bk);
    f->trust_answer = 1;
    static const char *const xs[] = {TO_ALICE("x one"), TO_ALICE("x two"), TO_ALICE("x three")};
    static const char *const ys[] = {TO_ALICE("y one"), TO_ALICE("y two"), TO_ALICE("y three")};
    esession_buf x[3], y[3];
    bob_session_on(f, bob, "11111111111111111111111111111111", xs, 3, x);
    bob_session_on(f, bob, "22222222222222222222222222222222", ys, 3, y);
    esession_keystore_free(bob);
    es_rx_set_cache_max(f->r, 1);

    cr_assert(has_body(feed_text(f, x[0].data, 1), "x one"));
    cr_assert(has_body(feed_text(f, y[0].data, 2), "y one"));
    cr_assert_leq(f->r->n_sessions, 1);
    cr_assert(has_body(feed_text(f, x[1].data, 3), "x two"));
    cr_assert(has_body(feed_text(f, y[2].data, 4), "y three")); /* past a gap */
    cr_assert(has_body(feed_text(f, x[2].data, 5), "x three"));
    cr_assert(has_body(feed_text(f, y[1].data, 6), "y two")); /* into the gap */
    cr_assert_leq(f->r->n_sessions, 1);
    for (size_t i = 0; i < 3; i++) {
        expect_kind(feed_text(f, x[i].data, 10 + i), ESESSION_RESULT_DUPLICATE);
        expect_kind(feed_text(f, y[i].data, 20 + i), ESESSION_RESULT_DUPLICATE);
    }
    cr_assert_eq(rx_records(f), 2);
    f->trust_answer = -1;
    for (size_t i = 0; i < 3; i++) {
        esession_buf_free(&x[i]);
        esession_buf_free(&y[i]);
    }
}

Test(receiver, sessions_beyond_the_cache)
{
    fx f;
    fx_open(&f, NEG, 0);
    sessions_beyond_the_cache_are_read_back(&f);
    fx_close(&f);
}

Test(receiver, a_new_session_on_the_same_thread)
{
    fx f;
    fx_open(&f, NEG, 0);
    a_new_session_replaces_the_old_one(&f);
    fx_close(&f);
}

Test(receiver, held_stanzas_across_restarts)
{
    fx f;
    fx_open(&f, ORD, 0);
    held_stanzas_survive_a_restart(&f);
    held_then_ended_after_restart_is_bad_mac(&f);
    sessions_of_a_purged_set_end_when_loaded(&f);
    fx_close(&f);
}

/* ---- damage ---------------------------------------------------------- */

/* Outcome of a damaged copy: an error, held, a duplicate, or the very
 * same plaintext (for octets outside what is authenticated, like 'to'). */
static void expect_no_other_plaintext(const fx *f, const char *orig)
{
    for (size_t i = 0; i < f->n_res; i++) {
        const esession_result *res = &f->res[i];
        if (res->kind == ESESSION_RESULT_MESSAGE)
            cr_assert(res->plaintext.len == strlen(orig) &&
                          memcmp(res->plaintext.data, orig, res->plaintext.len) == 0,
                      "a damaged stanza opened to other content");
        else
            cr_assert(res->kind != ESESSION_RESULT_TERMINATED);
    }
}

/* Feed orig with octet i changed by flip; tally the outcome. */
typedef struct tally {
    size_t opened, dup, held, malformed, no_session, bad_mac;
} tally;

static void flip_one(fx *f, const char *orig, const char *want, size_t i, uint8_t flip, tally *t)
{
    size_t n = strlen(orig);
    char *copy = malloc(n + 1);
    memcpy(copy, orig, n + 1);
    copy[i] = (char)(copy[i] ^ flip);
    fx_drop_results(f);
    cr_assert_eq(esession_receiver_feed(f->r, copy, n, 1000 + i), ESESSION_OK);
    free(copy);
    fx_take(f);
    expect_no_other_plaintext(f, want);
    const esession_result *res = &f->res[0];
    t->opened += res->kind == ESESSION_RESULT_MESSAGE;
    t->dup += res->kind == ESESSION_RESULT_DUPLICATE;
    t->held += res->kind == ESESSION_RESULT_HELD;
    t->malformed += res->kind == ESESSION_RESULT_ERROR && res->error == ESESSION_ERR_MALFORMED;
    t->no_session += res->kind == ESESSION_RESULT_ERROR && res->error == ESESSION_ERR_NO_SESSION;
    t->bad_mac += res->kind == ESESSION_RESULT_ERROR && res->error == ESESSION_ERR_BAD_MAC;
}

static void sampled_byte_changes_of_an_init_stanza(fx *f)
{
    const char *orig = stanza(f, 1, 0), *want = plaintext(f, 1, 0);
    size_t n = strlen(orig);
    tally t;
    memset(&t, 0, sizeof t);
    /* Every region (envelope, each field, identity, mac, <c>) is hit. */
    for (size_t i = 0; i < n; i += 97)
        flip_one(f, orig, want, i, 0x04, &t);
    cr_log_info("init: %zu opened, %zu malformed, %zu other", t.opened, t.malformed,
                (n + 96) / 97 - t.opened - t.malformed);
    cr_assert_gt(t.malformed, 0);
    cr_assert_leq(t.opened, 1);
    /* The genuine one opens, unless a copy changed where nothing is
     * authenticated opened first: then its d and N_B came with another
     * text, and it is a replay (the session is the same). */
    const esession_result *res = feed(f, 1, 0, 0);
    if (t.opened)
        expect_error(res, ESESSION_ERR_REPLAY);
    else
        expect_message(res, want);
}

static void every_single_byte_change_of_a_c_stanza(fx *f)
{
    static const uint8_t flips[] = {0x01, 0x80, 0x20};
    tally in_c, outside;
    memset(&in_c, 0, sizeof in_c);
    memset(&outside, 0, sizeof outside);
    es_rx_set_window(f->r, 4); /* every damaged copy is searched for */
    /* Another session than the init flips': a copy of that init with its
     * (unauthenticated) thread changed may have opened it elsewhere. */
    expect_message(feed(f, 8, 0, 0), plaintext(f, 8, 0));
    const char *orig = stanza(f, 8, 1), *want = plaintext(f, 8, 1);
    size_t n = strlen(orig);
    size_t c_lo = (size_t)(strstr(orig, "<c ") - orig);
    size_t c_hi = (size_t)(strstr(orig, "</c>") - orig) + 4;
    /* The sealed <c> first: nothing there may open. */
    for (size_t i = c_lo; i < c_hi; i++)
        for (size_t k = 0; k < ES_ARRAY_LEN(flips); k++)
            flip_one(f, orig, want, i, flips[k], &in_c);
    cr_log_info("<c>: %zu held, %zu bad-mac, %zu malformed", in_c.held, in_c.bad_mac,
                in_c.malformed);
    cr_assert_eq(in_c.opened + in_c.dup + in_c.no_session, 0);
    cr_assert_eq(in_c.held, ES_RX_HELD_MAX, "held up to the limit, then bad-mac");
    cr_assert_gt(in_c.bad_mac, 400);
    cr_assert_gt(in_c.malformed, 0);
    /* Then the envelope: 'to' and whitespace are not authenticated, so a
     * copy may open, but only to the same plaintext. */
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; (i < c_lo || i >= c_hi) && k < ES_ARRAY_LEN(flips); k++)
            flip_one(f, orig, want, i, flips[k], &outside);
    cr_log_info("envelope: %zu opened, %zu duplicate, %zu malformed, %zu no-session",
                outside.opened, outside.dup, outside.malformed, outside.no_session);
    cr_assert_gt(outside.no_session, 0);
    cr_assert_gt(outside.malformed, 0);
    cr_assert_leq(outside.opened, 1, "one copy opens, the rest are its duplicates");
    cr_assert_eq(outside.held + outside.bad_mac, 0);
}

Test(receiver, single_byte_changes)
{
    fx f;
    fx_open(&f, NEG, 0);
    sampled_byte_changes_of_an_init_stanza(&f);
    every_single_byte_change_of_a_c_stanza(&f);
    fx_close(&f);
}

/* ---- limits and the stored record --------------------------------------- */

static void hold_limit(fx *f)
{
    es_rx_set_window(f->r, 8);
    expect_message(feed(f, 12, 0, 0), plaintext(f, 12, 0));
    for (size_t i = 1; i <= ES_RX_HELD_MAX; i++)
        expect_kind(feed(f, 12, i, i), ESESSION_RESULT_HELD);
    expect_error(feed(f, 12, ES_RX_HELD_MAX + 1, 99), ESESSION_ERR_BAD_MAC);
    fx_drop_results(f);
    cr_assert_eq(esession_receiver_end(f->r, NULL, NULL), ESESSION_OK);
    fx_take(f);
    cr_assert_eq(f->n_res, ES_RX_HELD_MAX);
    for (size_t i = 0; i < ES_RX_HELD_MAX; i++) {
        expect_error(&f->res[i], ESESSION_ERR_BAD_MAC);
        cr_assert_eq(f->res[i].tag, i + 1, "held stanzas end in arrival order");
    }
    es_rx_set_window(f->r, FX_WINDOW);
}

static void search_window(fx *f)
{
    /* t2: stanza 1 starts at N + 11 (stanza 2, of 11 blocks, is late). */
    es_rx_set_window(f->r, 10);
    /* Its init is t12's, opened (and ended) before: opened again. */
    expect_kind(feed(f, 2, 0, 0), ESESSION_RESULT_DUPLICATE);
    expect_kind(feed(f, 2, 1, 1), ESESSION_RESULT_HELD);
    es_rx_set_window(f->r, 11); /* k = 1 .. window, inclusive */
    const esession_result *res = feed(f, 2, 1, 2);
    expect_message(res, plaintext(f, 2, 1));
    cr_assert_eq(f->n_res, 2);
    expect_kind(&f->res[1], ESESSION_RESULT_DUPLICATE);
    cr_assert_eq(f->res[1].tag, 1, "the held copy is released as a duplicate");
    cr_assert_eq(esession_receiver_end(f->r, NULL, NULL), ESESSION_OK);
    /* The real window: t20's stanza 1 starts at N + 2^16 (one search of
     * 2^16 candidates; N + 2^16 + 1 is the harness's t22). */
    es_rx_set_window(f->r, ES_RX_WINDOW);
    cr_assert_eq(ES_RX_WINDOW, 65536u);
    expect_message(feed(f, 20, 0, 3), plaintext(f, 20, 0));
    expect_message(feed(f, 20, 1, 4), plaintext(f, 20, 1));
    cr_assert_eq(esession_receiver_end(f->r, NULL, NULL), ESESSION_OK);
    es_rx_set_window(f->r, FX_WINDOW);
}

/* Where the remembered a_macs start in a record of version 3 or 4. */
static size_t macs_at(const uint8_t *p)
{
    size_t at = 5 + 1 + p[5];
    at += 2 + ((size_t)p[at] << 8 | p[at + 1]);
    at += 2 + ((size_t)p[at] << 8 | p[at + 1]);
    at += ES_REPLAY_HASH + ESESSION_FINGERPRINT_BYTES + 1 + 8 + ES_AES_BLOCK + 1 + 1 + 2 + 1;
    at += 1 + (size_t)p[at] * 16; /* ranges */
    size_t n = p[at++];
    for (size_t i = 0; i < n; i++) { /* epochs */
        at += 8;
        at += 1 + p[at];
        at += 1 + p[at];
    }
    return at;
}

/* Versions 1 (no signing key), 2 (whole a_macs) and 3 (every print in
 * the session record) still load: the same session, its a_macs
 * remembered by their first octets. */
static void older_records(fx *f, const char *name, const esession_buf *b4)
{
    const uint8_t *p4 = (const uint8_t *)b4->data;
    size_t m = macs_at(p4), n = (size_t)p4[m + 1] << 8 | p4[m + 2], k = 32;
    cr_assert_eq(p4[4], 4);
    cr_assert_eq(p4[m], ES_RX_MAC_PRINT);
    cr_assert_gt(n, 0);
    /* Version 3: the same without the ring record's version. */
    size_t after = m + 3 + n * ES_RX_MAC_PRINT;
    for (size_t i = 0; i < 8; i++)
        cr_assert_eq(p4[after + i], 0, "no ring record yet");
    esession_buf v3 = {NULL, 0, 0};
    cr_assert_eq(es_buf_alloc(&v3, b4->len - 8, 0), ESESSION_OK);
    memcpy(v3.data, p4, after);
    memcpy(v3.data + after, p4 + after + 8, b4->len - after - 8);
    v3.data[4] = 3;
    const esession_buf *b = &v3;
    const uint8_t *p = (const uint8_t *)b->data;
    size_t v2_len = b->len + n * (k - ES_RX_MAC_PRINT);
    uint8_t *v2 = calloc(1, v2_len), *v1 = calloc(1, v2_len);
    size_t tail = m + 3 + n * ES_RX_MAC_PRINT;
    memcpy(v2, p, m);
    v2[4] = 2;
    v2[m] = (uint8_t)k;
    v2[m + 1] = p[m + 1];
    v2[m + 2] = p[m + 2];
    for (size_t i = 0; i < n; i++) /* each a_mac: its print, then other octets */
        memcpy(v2 + m + 3 + i * k, p + m + 3 + i * ES_RX_MAC_PRINT, ES_RX_MAC_PRINT);
    memcpy(v2 + m + 3 + n * k, p + tail, b->len - tail);
    {
        es_rx_session *s3 = NULL, *s4 = NULL;
        cr_assert_eq(es_rx_state_load(f->ctx, name, p4, b4->len, &s4), ESESSION_OK);
        cr_assert_eq(es_rx_state_load(f->ctx, name, p, b->len, &s3), ESESSION_OK);
        cr_assert_eq(s3->core.n_macs, s4->core.n_macs);
        cr_assert_eq(s3->core.ring_version, 0);
        cr_assert_eq(s3->core.macs_journal, s3->core.n_macs, "not in a ring record");
        for (size_t i = 0; i < n; i++)
            cr_assert_arr_eq(s3->macs[i], s4->macs[i], ES_RX_MAC_PRINT);
        es_rx_session_free(s3);
        es_rx_session_free(s4);
    }
    es_rx_session *s = NULL, *now = NULL;
    cr_assert_eq(es_rx_state_load(f->ctx, name, p, b->len, &now), ESESSION_OK);
    cr_assert_eq(es_rx_state_load(f->ctx, name, v2, v2_len, &s), ESESSION_OK);
    cr_assert(s->key_known);
    cr_assert_eq(s->core.n_macs, now->core.n_macs);
    for (size_t i = 0; i < n; i++)
        cr_assert_arr_eq(s->macs[i], now->macs[i], ES_RX_MAC_PRINT);
    es_rx_session_free(s);
    s = NULL;
    /* Version 1: the same without the key's 33 octets after the init hash. */
    size_t at = 5 + 1 + p[5];
    at += 2 + ((size_t)p[at] << 8 | p[at + 1]);
    at += 2 + ((size_t)p[at] << 8 | p[at + 1]);
    at += ES_REPLAY_HASH;
    memcpy(v1, v2, at);
    memcpy(v1 + at, v2 + at + ESESSION_FINGERPRINT_BYTES + 1, v2_len - at - 33);
    v1[4] = 1;
    cr_assert_eq(es_rx_state_load(f->ctx, name, v1, v2_len - 33, &s), ESESSION_OK);
    cr_assert_not(s->key_known);
    cr_assert_eq(s->core.n_macs, now->core.n_macs);
    es_rx_session_free(s);
    s = NULL;
    /* A whole a_mac of another length is corrupt. */
    v2[m] = (uint8_t)(k - 1);
    cr_assert_eq(es_rx_state_load(f->ctx, name, v2, v2_len, &s), ESESSION_ERR_CORRUPT);
    cr_assert_null(s);
    es_rx_session_free(now);
    free(v1);
    free(v2);
    esession_buf_free(&v3);
}

static void record_decoding_is_strict(fx *f)
{
    expect_message(feed(f, 17, 0, 0), plaintext(f, 17, 0));
    expect_message(feed(f, 17, 1, 1), plaintext(f, 17, 1)); /* re-keys */
    expect_message(feed(f, 15, 0, 2), plaintext(f, 15, 0));
    expect_kind(feed(f, 15, 1, 3), ESESSION_RESULT_HELD);
    names rec = rx_records_of(f->ks);
    cr_assert_eq(rec.n, 2);
    size_t epochs = 0, held = 0, macs = 0;
    es_rx_session *s = NULL;
    for (size_t i = 0; i < 2; i++) {
        const char *nm = rec.v[i];
        esession_buf bb = {NULL, 0, 0};
        cr_assert_eq(es_ks_blob_get(f->ks, nm, &bb), ESESSION_OK);
        cr_assert_eq(es_rx_state_load(f->ctx, nm, (const uint8_t *)bb.data, bb.len, &s),
                     ESESSION_OK);
        epochs += s->core.n_epochs;
        held += s->core.n_held;
        macs += s->core.n_macs;
        es_rx_session_free(s);
        esession_buf_free(&bb);
    }
    cr_assert_eq(epochs, 3);
    cr_assert_eq(held, 1);
    cr_assert_eq(macs, 3);
    const char *name = rec.v[0];
    esession_buf b = {NULL, 0, 0};
    cr_assert_eq(es_ks_blob_get(f->ks, name, &b), ESESSION_OK);
    /* Every truncation, and any octet more, is corrupt. */
    for (size_t n = 0; n < b.len; n++) {
        s = NULL;
        cr_assert_eq(es_rx_state_load(f->ctx, name, (const uint8_t *)b.data, n, &s),
                     ESESSION_ERR_CORRUPT, "truncated to %zu", n);
        cr_assert_null(s);
    }
    uint8_t *longer = malloc(b.len + 1);
    memcpy(longer, b.data, b.len);
    longer[b.len] = 0;
    cr_assert_eq(es_rx_state_load(f->ctx, name, longer, b.len + 1, &s), ESESSION_ERR_CORRUPT);
    /* Under another name, or with another version. */
    cr_assert_eq(es_rx_state_load(f->ctx, "alice/session/x", (const uint8_t *)b.data, b.len, &s),
                 ESESSION_ERR_CORRUPT);
    longer[4] = 5;
    cr_assert_eq(es_rx_state_load(f->ctx, name, longer, b.len, &s), ESESSION_ERR_CORRUPT);
    free(longer);
    older_records(f, name, &b);
    esession_buf_free(&b);
}

/* Load the stored session called name, with its ring record. */
static es_rx_session *load_stored(fx *f, const char *name, size_t *record_len)
{
    esession_buf b = {NULL, 0, 0};
    es_rx_session *s = NULL;
    cr_assert_eq(es_ks_blob_get(f->ks, name, &b), ESESSION_OK);
    cr_assert_eq(es_rx_state_load(f->ctx, name, (const uint8_t *)b.data, b.len, &s),
                 ESESSION_OK);
    cr_assert_eq(es_rx_state_attach_ring(f->ks, s), ESESSION_OK);
    if (record_len != NULL)
        *record_len = b.len;
    esession_buf_free(&b);
    return s;
}

/* Prints numbered from..to-1 accepted by s. */
static void add_prints(es_rx_session *s, uint32_t from, uint32_t to)
{
    uint8_t mac[64], saved[64];
    for (uint32_t i = from; i < to; i++) {
        memset(mac, 0xee, sizeof mac);
        memcpy(mac, &i, sizeof i);
        cr_assert_eq(es_rx_mac_reserve(s), ESESSION_OK);
        es_rx_mac_add(s, mac, s->mac_len, saved);
    }
}

/* The stored session remembers exactly the prints of s, oldest first. */
static void same_prints(fx *f, const char *name, const es_rx_session *s, size_t *record_len)
{
    es_rx_session *back = load_stored(f, name, record_len);
    cr_assert_eq(back->core.n_macs, s->core.n_macs);
    cr_assert_eq(back->core.mac_head, 0);
    cr_assert_eq(back->core.ring_version, s->core.ring_version);
    cr_assert_eq(back->core.macs_journal, s->core.macs_journal);
    for (size_t k = 0; k < s->core.n_macs; k++)
        cr_assert_arr_eq(back->macs[k], s->macs[(s->core.mac_head + k) % s->macs_cap],
                         ES_RX_MAC_PRINT, "entry %zu", k);
    es_rx_session_free(back);
}

/* The prints in the session record while few, in the ring record once
 * more than ES_RX_MACS_JOURNAL gather; a full ring that has wrapped is
 * stored oldest first and loads back in the same order; the ring record
 * goes with the session. */
static void ring_record_round_trip(fx *f)
{
    names rec = rx_records_of(f->ks);
    cr_assert_gt(rec.n, 0);
    const char *name = rec.v[0];
    char ring[ES_BLOB_NAME_MAX + 1];
    esession_buf b = {NULL, 0, 0};
    size_t len = 0, small = 0;
    cr_assert_eq(es_rx_ring_name(name, ring), ESESSION_OK);
    cr_assert_eq(strncmp(ring, ES_RX_RING_PREFIX, strlen(ES_RX_RING_PREFIX)), 0);
    cr_assert_str_eq(ring + strlen(ES_RX_RING_PREFIX), name + strlen(ES_RX_BLOB_PREFIX));
    es_rx_session *s = load_stored(f, name, NULL);
    uint32_t next = 1000000;
    cr_assert_leq(s->core.n_macs, ES_RX_MACS_JOURNAL);
    /* Up to the journal's size: no ring record. */
    add_prints(s, next, next + (uint32_t)(ES_RX_MACS_JOURNAL - s->core.n_macs));
    next += (uint32_t)(ES_RX_MACS_JOURNAL - s->core.n_macs);
    cr_assert_eq(es_rx_state_save(f->ks, s), ESESSION_OK);
    cr_assert_eq(s->core.ring_version, 0);
    cr_assert_eq(es_ks_blob_get(f->ks, ring, &b), ESESSION_ERR_NO_SESSION);
    same_prints(f, name, s, &small);
    /* One more: all of them go to the ring record. */
    add_prints(s, next, next + 1);
    next++;
    cr_assert_eq(es_rx_state_save(f->ks, s), ESESSION_OK);
    cr_assert_neq(s->core.ring_version, 0);
    cr_assert_eq(s->core.macs_journal, 0);
    same_prints(f, name, s, &len);
    cr_assert_lt(len, small, "the prints left the session record");
    /* A wrapped ring, saved at every step of a journal's length. */
    for (int round = 0; round < 3; round++) {
        add_prints(s, next, next + ES_RX_MACS_MAX / 2 + 37);
        next += ES_RX_MACS_MAX / 2 + 37;
        cr_assert_eq(es_rx_state_save(f->ks, s), ESESSION_OK);
        same_prints(f, name, s, &len);
        cr_assert_leq(len, small, "only the newest in the session record");
        add_prints(s, next, next + 5);
        next += 5;
        cr_assert_eq(es_rx_state_save(f->ks, s), ESESSION_OK);
        cr_assert_eq(s->core.macs_journal, 5);
        same_prints(f, name, s, NULL);
    }
    cr_assert_neq(s->core.mac_head, 0, "the ring has wrapped");
    cr_assert_eq(s->core.n_macs, ES_RX_MACS_MAX);
    /* The session record names the ring record's version: an older copy,
     * or none, is corrupt. */
    uint64_t named = s->core.ring_version;
    s->core.ring_version = named + 1000;
    esession_buf rec_now = {NULL, 0, 0};
    cr_assert_eq(es_rx_state_save(f->ks, s), ESESSION_OK);
    cr_assert_eq(es_ks_blob_get(f->ks, name, &rec_now), ESESSION_OK);
    es_rx_session *bad = NULL;
    cr_assert_eq(es_rx_state_load(f->ctx, name, (const uint8_t *)rec_now.data, rec_now.len, &bad),
                 ESESSION_OK);
    cr_assert_eq(es_rx_state_attach_ring(f->ks, bad), ESESSION_ERR_CORRUPT);
    es_rx_session_free(bad);
    esession_buf_free(&rec_now);
    s->core.ring_version = named;
    cr_assert_eq(es_rx_state_save(f->ks, s), ESESSION_OK);
    same_prints(f, name, s, NULL);
    /* Erased: both records. */
    cr_assert_eq(es_rx_state_erase(f->ks, s), ESESSION_OK);
    cr_assert_eq(es_ks_blob_get(f->ks, name, &b), ESESSION_ERR_NO_SESSION);
    cr_assert_eq(es_ks_blob_get(f->ks, ring, &b), ESESSION_ERR_NO_SESSION);
    es_rx_session_free(s);
}

Test(receiver, limits_and_the_stored_record)
{
    fx f;
    fx_open(&f, ORD, 0);
    hold_limit(&f);
    search_window(&f);
    record_decoding_is_strict(&f);
    ring_record_round_trip(&f);
    fx_close(&f);
}

/* ---- stanza reading ----------------------------------------------------- */

static es_rx_stanza *read_ok(esession_ctx *ctx, const char *text)
{
    es_rx_stanza *s = NULL;
    cr_assert_eq(es_rx_stanza_read(ctx, text, strlen(text), &s), ESESSION_OK, "%s", text);
    return s;
}

#define C_NS "http://www.xmpp.org/extensions/xep-0200.html#ns"
#define C_OK "<c xmlns='" C_NS "'><data>AAAA</data><mac>AAAA</mac></c>"

static void stanza_envelope(void)
{
    esession_ctx *ctx = NULL;
    ctx = fx_ctx_new();
    static const struct {
        const char *text;
        int valid;
    } cases[] = {
        {"<message from='b@x/r'><thread>t</thread>" C_OK "</message>", 1},
        {"<message xmlns='jabber:client' from='b@x' type='normal'><thread>t</thread>" C_OK
         "</message>", 1},
        {"<message from='b@x/r' type='groupchat'><thread>t</thread>" C_OK "</message>", 0},
        {"<message from='b@x/r' type='error'><thread>t</thread>" C_OK "</message>", 0},
        {"<message><thread>t</thread>" C_OK "</message>", 0},
        {"<message from='/r'><thread>t</thread>" C_OK "</message>", 0},
        {"<message from='b@x/r'>" C_OK "</message>", 0},
        {"<message from='b@x/r'><thread>t</thread><thread>u</thread>" C_OK "</message>", 0},
        {"<message from='b@x/r'><thread></thread>" C_OK "</message>", 0},
        {"<message from='b@x/r'><thread>t<b/></thread>" C_OK "</message>", 0},
        {"<message from='b@x/r'><thread>t</thread></message>", 2}, /* no ESession element */
        {"<message><body>x</body>text</message>", 2},
        {"<message from='b@x/r'><thread>t</thread>" C_OK C_OK "</message>", 0},
        {"<message from='b@x/r'><thread>t</thread><init xmlns='" ES_RX_INIT_NS "'/>" C_OK
         "</message>", 0},
        {"<message from='b@x/r'><thread>t</thread><c xmlns='" C_NS
         "'><data>A</data><mac>AAAA</mac></c></message>", 0},
    };
    for (size_t i = 0; i < ES_ARRAY_LEN(cases); i++) {
        es_rx_stanza *s = read_ok(ctx, cases[i].text);
        cr_assert_eq(s->valid == ESESSION_OK, cases[i].valid != 0, "case %zu: %s", i,
                     cases[i].text);
        cr_assert_eq(s->plain, cases[i].valid == 2, "case %zu: %s", i, cases[i].text);
        if (!cases[i].valid)
            cr_assert_null(s->copen);
        es_rx_stanza_free(s);
    }
    es_rx_stanza *s = NULL;
    cr_assert_eq(es_rx_stanza_read(ctx, "<presence/>", 11, &s), ESESSION_ERR_MALFORMED);
    cr_assert_eq(es_rx_stanza_read(ctx, "<message xmlns='jabber:server'/>", 32, &s),
                 ESESSION_ERR_MALFORMED);
    cr_assert_null(s);
    esession_ctx_free(ctx);
}

static void stanza_delay_stamps(void)
{
    esession_ctx *ctx = NULL;
    ctx = fx_ctx_new();
    int64_t t1, t2;
    cr_assert_eq(es_datetime_parse("2002-09-10T23:08:25Z", 20, &t1, NULL), ESESSION_OK);
    cr_assert_eq(es_datetime_parse("2002-09-10T23:41:07Z", 20, &t2, NULL), ESESSION_OK);
    es_rx_stanza *s = read_ok(ctx, "<message from='b@x/r'><thread>t</thread>" C_OK
                                   "<x xmlns='jabber:x:delay' stamp='20020910T23:08:25'/>"
                                   "</message>");
    cr_assert(s->has_delay);
    cr_assert_eq(s->delay, t1);
    cr_assert_null(s->delay_from);
    es_rx_stanza_free(s);
    /* urn:xmpp:delay wins over the legacy element. */
    s = read_ok(ctx, "<message from='b@x/r'><thread>t</thread>" C_OK
                     "<x xmlns='jabber:x:delay' stamp='20020910T23:08:25'/>"
                     "<delay xmlns='urn:xmpp:delay' from='s.example'"
                     " stamp='2002-09-10T23:41:07Z'/></message>");
    cr_assert_eq(s->delay, t2);
    cr_assert_str_eq(s->delay_from, "s.example");
    es_rx_stanza_free(s);
    /* An unreadable stamp is no stamp. */
    s = read_ok(ctx, "<message from='b@x/r'><thread>t</thread>" C_OK
                     "<delay xmlns='urn:xmpp:delay' stamp='yesterday'/></message>");
    cr_assert_not(s->has_delay);
    cr_assert_eq(s->valid, ESESSION_OK);
    es_rx_stanza_free(s);
    s = read_ok(ctx, "<message from='b@x/r'><thread>t</thread>" C_OK
                     "<x xmlns='jabber:x:delay' stamp='2002091T23:08:25'/></message>");
    cr_assert_not(s->has_delay);
    es_rx_stanza_free(s);
    esession_ctx_free(ctx);
}

/* ---- content ------------------------------------------------------------ */

static es_rx_content content_of(esession_ctx *ctx, const char *m, esession_status want)
{
    es_rx_content c;
    memset(&c, 0xa5, sizeof c);
    cr_assert_eq(es_rx_content_read(ctx, (const uint8_t *)m, strlen(m), &c), want, "%s", m);
    return c;
}

#define TERM_V(v)                                                                   \
    "<feature xmlns='http://jabber.org/protocol/feature-neg'>"                      \
    "<x xmlns='jabber:x:data' type='submit'>"                                       \
    "<field var='FORM_TYPE'><value>urn:xmpp:ssn</value></field>"                    \
    "<field var='terminate'><value>" v "</value></field></x></feature>"
#define TERM TERM_V("1")
#define SHIM(t)                                                                     \
    "<headers xmlns='http://jabber.org/protocol/shim'><header name='Created'>" t    \
    "</header></headers>"

static void content_profiles_created_and_termination(void)
{
    esession_ctx *ctx = NULL;
    ctx = fx_ctx_new();
    es_rx_content c = content_of(ctx, "", ESESSION_OK);
    cr_assert_eq(c.profile, 0);
    cr_assert_not(c.terminate);
    c = content_of(ctx, "<body>hi</body><subject>s</subject>" SHIM("2026-11-30T10:00:00Z"),
                   ESESSION_OK);
    cr_assert_eq(c.profile, ESESSION_PROFILE_IM);
    cr_assert(c.has_created);
    c = content_of(ctx, "<x xmlns='jabber:x:data' type='form'/>", ESESSION_OK);
    cr_assert_eq(c.profile, ESESSION_PROFILE_DATAFORMS);
    c = content_of(ctx, "<composing xmlns='http://jabber.org/protocol/chatstates'/>", ESESSION_OK);
    cr_assert_eq(c.profile, ESESSION_PROFILE_CHATSTATES);
    c = content_of(ctx, "<html xmlns='http://jabber.org/protocol/xhtml-im'/><data xmlns='urn:x'/>",
                   ESESSION_OK);
    cr_assert_eq(c.profile, ESESSION_PROFILE_IM | ESESSION_PROFILE_OTHER);
    c = content_of(ctx, "<body xmlns='urn:not-client'>x</body>", ESESSION_OK);
    cr_assert_eq(c.profile, ESESSION_PROFILE_OTHER);
    /* Metadata only: no profile. */
    c = content_of(ctx,
                   SHIM("2026-11-30T10:00:00+02:00")
                   "<amp xmlns='http://jabber.org/protocol/amp'/>",
                   ESESSION_OK);
    cr_assert_eq(c.profile, 0);
    cr_assert(c.has_created);
    int64_t t;
    cr_assert_eq(es_datetime_parse("2026-11-30T08:00:00Z", 20, &t, NULL), ESESSION_OK);
    cr_assert_eq(c.created, t);
    /* Two Created headers, or an unreadable one: none. */
    c = content_of(ctx, "<body>x</body>" SHIM("2026-11-30T10:00:00Z") SHIM("2026-11-30T11:00:00Z"),
                   ESESSION_OK);
    cr_assert_not(c.has_created);
    c = content_of(ctx, "<body>x</body>" SHIM("tomorrow"), ESESSION_OK);
    cr_assert_not(c.has_created);
    /* Termination: that form alone (metadata aside). */
    c = content_of(ctx, TERM, ESESSION_OK);
    cr_assert(c.terminate);
    c = content_of(ctx, TERM SHIM("2026-11-30T10:00:00Z"), ESESSION_OK);
    cr_assert(c.terminate);
    c = content_of(ctx, TERM "<body>x</body>", ESESSION_OK);
    cr_assert_not(c.terminate);
    c = content_of(ctx, TERM_V("0"), ESESSION_OK);
    cr_assert_not(c.terminate);
    /* Not a sequence of elements. */
    (void)content_of(ctx, "<body>x", ESESSION_ERR_MALFORMED);
    (void)content_of(ctx, "text<body/>", ESESSION_ERR_MALFORMED);
    (void)content_of(ctx, "<?xml version='1.0'?><body/>", ESESSION_ERR_MALFORMED);
    cr_assert_null(strstr(esession_ctx_error_detail(ctx), "body"), "detail quotes the content");
    esession_ctx_free(ctx);
}

/* ---- bookkeeping ------------------------------------------------------- */

static void ranges_merge_and_the_gap_limit(void)
{
    es_rx_core c;
    memset(&c, 0, sizeof c);
    es_rx_range_add(&c, 0, 10);
    es_rx_range_add(&c, 20, 30);
    es_rx_range_add(&c, 10, 20); /* fills the gap exactly */
    cr_assert_eq(c.n_ranges, 1);
    cr_assert_eq(c.ranges[0].hi, 30);
    es_rx_range_add(&c, 40, 50);
    es_rx_range_add(&c, 35, 36);
    cr_assert_eq(c.n_ranges, 3);
    cr_assert_eq(es_rx_next(&c), 50);
    es_rx_range_add(&c, 25, 45); /* overlaps two */
    cr_assert_eq(c.n_ranges, 1);
    cr_assert_eq(c.ranges[0].lo, 0);
    cr_assert_eq(c.ranges[0].hi, 50);
    es_rx_range_add(&c, 5, 5); /* empty: nothing */
    cr_assert_eq(c.n_ranges, 1);
    /* Beyond ES_RX_GAPS_MAX gaps the lowest gap is given up. */
    for (uint64_t k = 1; k <= ES_RX_GAPS_MAX + 3; k++)
        es_rx_range_add(&c, 50 + 10 * k, 55 + 10 * k);
    cr_assert_eq(c.n_ranges, ES_RX_RANGES_MAX);
    cr_assert_eq(c.ranges[0].lo, 0);
    cr_assert_eq(c.ranges[0].hi, 55 + 10 * 3);
    for (size_t i = 1; i < c.n_ranges; i++)
        cr_assert_lt(c.ranges[i - 1].hi, c.ranges[i].lo);
}

static void at_most_seventeen_epochs(void)
{
    es_rx_core c;
    es_rx_epoch e[ES_RX_EPOCHS_MAX + 2], *dropped = NULL;
    memset(&c, 0, sizeof c);
    memset(e, 0, sizeof e);
    for (size_t i = 0; i < ES_RX_EPOCHS_MAX; i++) {
        e[i].start = 100 * (i + 1);
        es_rx_epoch_add(&c, &e[i], &dropped);
        cr_assert_null(dropped);
    }
    uint64_t gen = c.epoch_gen;
    e[ES_RX_EPOCHS_MAX].start = 50; /* older than everything kept */
    es_rx_epoch_add(&c, &e[ES_RX_EPOCHS_MAX], &dropped);
    cr_assert_eq(dropped, &e[ES_RX_EPOCHS_MAX]);
    cr_assert_eq(c.epoch_gen, gen);
    e[ES_RX_EPOCHS_MAX + 1].start = 10000;
    es_rx_epoch_add(&c, &e[ES_RX_EPOCHS_MAX + 1], &dropped);
    cr_assert_eq(dropped, &e[0], "the oldest epoch goes");
    cr_assert_eq(c.n_epochs, ES_RX_EPOCHS_MAX);
    cr_assert_eq(c.epochs[0], &e[1]);
    cr_assert_eq(c.epochs[ES_RX_EPOCHS_MAX - 1], &e[ES_RX_EPOCHS_MAX + 1]);
    cr_assert_neq(c.epoch_gen, gen);
}

static void remembered_a_macs_are_bounded(void)
{
    es_suite suite = {ES_HASH_SHA256, ES_CIPHER_AES128_CTR};
    es_rx_session *s = NULL;
    uint8_t n_a[16] = {1}, mac[32], saved[32];
    cr_assert_eq(es_rx_session_new(n_a, sizeof n_a, "b@x", "t", suite, 14, &s), ESESSION_OK);
    for (uint32_t i = 0; i < ES_RX_MACS_MAX + 5; i++) {
        memset(mac, 0, sizeof mac);
        memcpy(mac, &i, sizeof i);
        cr_assert_eq(es_rx_mac_reserve(s), ESESSION_OK);
        es_rx_core before = s->core;
        es_rx_mac_add(s, mac, sizeof mac, saved);
        if (i == 7) { /* and undone */
            s->core = before;
            es_rx_mac_undo(s, &before, saved);
            cr_assert_not(es_rx_mac_seen(s, mac, sizeof mac));
            es_rx_mac_add(s, mac, sizeof mac, saved);
        }
        /* The ring grows with what the session has seen. */
        cr_assert_leq(s->macs_cap, i < 16 ? 16 : 2 * (size_t)(i + 1));
    }
    cr_assert_eq(s->core.n_macs, ES_RX_MACS_MAX);
    cr_assert_eq(s->macs_cap, ES_RX_MACS_MAX);
    uint32_t oldest = 4, kept = 5, last = ES_RX_MACS_MAX + 4;
    memset(mac, 0, sizeof mac);
    memcpy(mac, &oldest, sizeof oldest);
    cr_assert_not(es_rx_mac_seen(s, mac, sizeof mac), "the oldest are forgotten");
    memcpy(mac, &kept, sizeof kept);
    cr_assert(es_rx_mac_seen(s, mac, sizeof mac));
    memcpy(mac, &last, sizeof last);
    cr_assert(es_rx_mac_seen(s, mac, sizeof mac));
    cr_assert_not(es_rx_mac_seen(s, mac, 31), "another length never matches");
    mac[31] ^= 1; /* only the first octets are remembered */
    cr_assert(es_rx_mac_seen(s, mac, sizeof mac));
    mac[0] ^= 1;
    cr_assert_not(es_rx_mac_seen(s, mac, sizeof mac));
    es_rx_session_free(s);
}

/* One record per (bare JID, thread), whatever the option set: the name
 * spells both out, or hashes them when that would be too long. */
static void record_names(void)
{
    es_suite suite = {ES_HASH_SHA256, ES_CIPHER_AES128_CTR};
    uint8_t n_a[64], other_n_a[16];
    char thread[300], name[ES_BLOB_NAME_MAX + 1], name2[ES_BLOB_NAME_MAX + 1];
    memset(n_a, 0xab, sizeof n_a);
    memset(other_n_a, 0x01, sizeof other_n_a);
    memset(thread, 'z', sizeof thread - 1);
    thread[sizeof thread - 1] = '\0';
    es_rx_session *s = NULL;
    cr_assert_eq(es_rx_session_new(n_a, sizeof n_a, "bob@example.com", "short", suite, 14, &s),
                 ESESSION_OK);
    cr_assert_eq(es_rx_state_name(s), ESESSION_OK);
    cr_assert_str_eq(s->name, ES_RX_BLOB_PREFIX "bob@example.com/short");
    es_rx_session_free(s);
    /* Another option set, the same JID and thread: the same record. */
    cr_assert_eq(es_rx_session_new(other_n_a, sizeof other_n_a, "bob@example.com", "short",
                                   suite, 14, &s),
                 ESESSION_OK);
    cr_assert_eq(es_rx_state_name(s), ESESSION_OK);
    cr_assert_str_eq(s->name, ES_RX_BLOB_PREFIX "bob@example.com/short");
    es_rx_session_free(s);
    cr_assert_eq(es_rx_name_for("bob@example.com", "short", name), ESESSION_OK);
    cr_assert_str_eq(name, ES_RX_BLOB_PREFIX "bob@example.com/short");

    /* Too long to spell out: "#" and the SHA-256 of JID and thread. */
    cr_assert_eq(es_rx_session_new(n_a, sizeof n_a, "bob@example.com", thread, suite, 14, &s),
                 ESESSION_OK);
    cr_assert_eq(es_rx_state_name(s), ESESSION_OK);
    cr_assert_eq(strlen(s->name), strlen(ES_RX_BLOB_PREFIX) + 1 + 64);
    cr_assert_eq(strncmp(s->name, ES_RX_BLOB_PREFIX "#", strlen(ES_RX_BLOB_PREFIX) + 1), 0);
    cr_assert_null(strstr(s->name, "bob@"), "the JID is not spelt out");
    cr_assert_null(strstr(s->name, "zzzz"), "the thread is not spelt out");
    cr_assert_eq(es_rx_name_for("bob@example.com", thread, name), ESESSION_OK);
    cr_assert_str_eq(name, s->name);
    es_rx_session_free(s);
    /* Another thread or another JID: another name. */
    thread[0] = 'y';
    cr_assert_eq(es_rx_name_for("bob@example.com", thread, name2), ESESSION_OK);
    cr_assert_str_neq(name, name2);
    thread[0] = 'z';
    cr_assert_eq(es_rx_name_for("bob@example.net", thread, name2), ESESSION_OK);
    cr_assert_str_neq(name, name2);

    /* The boundary: a name of exactly ES_BLOB_NAME_MAX octets is spelt
     * out, one octet more is hashed. */
    const char *bare = "bob@example.com";
    size_t fits = ES_BLOB_NAME_MAX - strlen(ES_RX_BLOB_PREFIX) - strlen(bare) - 1;
    cr_assert_lt(fits, sizeof thread);
    thread[fits] = '\0';
    cr_assert_eq(es_rx_name_for(bare, thread, name), ESESSION_OK);
    cr_assert_eq(strlen(name), ES_BLOB_NAME_MAX);
    cr_assert_not_null(strstr(name, thread));
    thread[fits] = 'z';
    thread[fits + 1] = '\0';
    cr_assert_eq(es_rx_name_for(bare, thread, name), ESESSION_OK);
    cr_assert_eq(strncmp(name, ES_RX_BLOB_PREFIX "#", strlen(ES_RX_BLOB_PREFIX) + 1), 0);
}

/* The search's HMAC finish agrees with es_hmac for every hash, at every
 * counter, with the prefix absorbed once. */
static void mac_scan_matches_hmac(void)
{
    static const es_hash_alg algs[] = {ES_HASH_SHA256, ES_HASH_SHA512, ES_HASH_WHIRLPOOL};
    uint8_t m[300], msg[300 + ES_AES_BLOCK], ctr[ES_AES_BLOCK], mac[ES_HASH_MAX_BYTES];
    for (size_t i = 0; i < sizeof m; i++)
        m[i] = (uint8_t)(i * 7);
    for (size_t a = 0; a < ES_ARRAY_LEN(algs); a++) {
        es_dir_keys k;
        memset(&k, 0, sizeof k);
        k.suite.hash = algs[a];
        k.suite.cipher = ES_CIPHER_AES128_CTR;
        k.kc_len = 16;
        k.km_len = es_hash_size(algs[a]);
        memset(k.km, 0x5c + (int)a, k.km_len);
        es_rx_scan *sc = NULL;
        cr_assert_eq(es_rx_scan_new(NULL, &k, &sc), ESESSION_OK);
        cr_assert_eq(es_rx_scan_try(sc, ctr, mac, k.km_len), ESESSION_ERR_INVALID_ARGUMENT,
                     "no prefix yet");
        for (size_t len = 0; len <= sizeof m; len += 150) {
            cr_assert_eq(es_rx_scan_prefix(sc, m, len), ESESSION_OK);
            for (uint8_t c = 0; c < 3; c++) {
                memset(ctr, 0xee, sizeof ctr);
                ctr[15] = c;
                memcpy(msg, m, len);
                memcpy(msg + len, ctr, sizeof ctr);
                cr_assert_eq(es_hmac_oneshot(algs[a], k.km, k.km_len, msg, len + sizeof ctr, mac),
                             ESESSION_OK);
                cr_assert_eq(es_rx_scan_try(sc, ctr, mac, k.km_len), 1, "alg %d len %zu",
                             (int)algs[a], len);
                cr_assert_eq(es_rx_scan_try(sc, ctr, mac, k.km_len - 1), 0, "a shorter mac");
                mac[k.km_len - 1] ^= 1;
                cr_assert_eq(es_rx_scan_try(sc, ctr, mac, k.km_len), 0);
                ctr[0] ^= 0x80;
                mac[k.km_len - 1] ^= 1;
                cr_assert_eq(es_rx_scan_try(sc, ctr, mac, k.km_len), 0, "another counter");
            }
        }
        es_rx_scan_free(sc);
    }
    es_dir_keys bad;
    es_rx_scan *sc = NULL;
    memset(&bad, 0, sizeof bad);
    bad.suite.hash = ES_HASH_SHA256;
    bad.km_len = 20;
    cr_assert_eq(es_rx_scan_new(NULL, &bad, &sc), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_null(sc);
}

Test(receiver, readers_and_bookkeeping)
{
    mac_scan_matches_hmac();
    stanza_envelope();
    stanza_delay_stamps();
    content_profiles_created_and_termination();
    ranges_merge_and_the_gap_limit();
    at_most_seventeen_epochs();
    remembered_a_macs_are_bounded();
    record_names();
}
