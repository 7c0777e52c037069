/* SPDX-License-Identifier: ISC */
/* The search for a stanza's start counter within a budget (session/
 * search.c, PROFILE §11): the order candidates are tried in, the number
 * of MAC tries a stanza can cost whatever the gaps, searches that go on
 * where they stopped, and through the receiver, forged stanzas that drain
 * a session's budget without stalling the real ones. Every count here is
 * of MAC tries, never of time. */
#include "ks_test.h"

#include "../../session/receiver.h"

#define BOB "bob@example.com"
#define BOB_FULL "bob@example.com/laptop"
#define ALICE "alice@example.org"
#define THREAD "thread"
#define SUBSCRIBERS_NODE "http://www.xmpp.org/extensions/xep-0187.html#ns"

/* ---- a session made by hand: one epoch, gaps of a chosen width ---------- */

typedef struct fx {
    esession_ctx *ctx;
    es_rx_session *s;
    es_chan *chan;   /* Bob's keys */
    es_chan *forger; /* keys that are not Bob's */
    uint64_t width;  /* of each gap */
} fx;

static es_dir_keys keys_of(uint8_t fill)
{
    es_dir_keys k;
    memset(&k, 0, sizeof k);
    k.suite.hash = ES_HASH_SHA256;
    k.suite.cipher = ES_CIPHER_AES128_CTR;
    k.kc_len = 16;
    k.km_len = 32;
    memset(k.kc, fill, sizeof k.kc);
    memset(k.km, fill ^ 0x5c, sizeof k.km);
    return k;
}

/* Used ranges [0, 2) (IDB), then `gaps` times a gap of `width` counters
 * followed by a used range of 2: N = 2 + gaps * (width + 2). */
static void fx_open(fx *f, unsigned gaps, uint64_t width)
{
    static const uint8_t n_a[16] = {1};
    es_dir_keys k = keys_of(0x11), other = keys_of(0x22);
    es_rx_epoch *e = NULL, *dropped = NULL;

    memset(f, 0, sizeof *f);
    f->width = width;
    cr_assert_eq(esession_ctx_new(&f->ctx, NULL, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_OK);
    cr_assert_eq(es_rx_session_new(n_a, sizeof n_a, BOB, THREAD, k.suite, 14, &f->s), ESESSION_OK);
    memset(f->s->c_b, 0xff, sizeof f->s->c_b); /* the 2^128 wrap is crossed on the way */
    cr_assert_eq(es_rx_epoch_new(f->ctx, &k, 0, &e), ESESSION_OK);
    es_rx_epoch_add(&f->s->core, e, &dropped);
    cr_assert_null(dropped);
    cr_assert_eq(es_chan_new(f->ctx, &k, &f->chan), ESESSION_OK);
    cr_assert_eq(es_chan_new(f->ctx, &other, &f->forger), ESESSION_OK);
    es_rx_range_add(&f->s->core, 0, 2);
    for (unsigned i = 0; i < gaps; i++) {
        uint64_t lo = 2 + i * (width + 2) + width;
        es_rx_range_add(&f->s->core, lo, lo + 2);
    }
    cr_assert_eq(f->s->core.n_ranges, gaps + 1);
    cr_assert_eq(es_rx_next(&f->s->core), 2 + gaps * (width + 2));
    sodium_memzero(&k, sizeof k);
}

static void fx_close(fx *f)
{
    es_chan_free(f->chan);
    es_chan_free(f->forger);
    es_rx_session_free(f->s);
    esession_ctx_free(f->ctx);
}

/* The first counter of gap i. */
static uint64_t gap_start(const fx *f, unsigned i)
{
    return 2 + i * (f->width + 2);
}

/* A <message/> whose <c> holds `plain_len` octets sealed at offset S with
 * chan: blocks = ceil(plain_len / 16). */
static es_rx_stanza *stanza_at(fx *f, es_chan *chan, uint64_t S, size_t plain_len)
{
    uint8_t ctr[ES_AES_BLOCK];
    uint8_t *m = calloc(1, plain_len);
    esession_buf c = {NULL, 0, 0};
    es_rx_stanza *st = NULL;

    cr_assert_not_null(m);
    es_rx_counter(f->s, S, ctr);
    cr_assert_eq(es_c_seal(f->ctx, chan, ctr, m, plain_len, NULL, &c, NULL), ESESSION_OK);
    size_t cap = c.len + 128;
    char *text = malloc(cap);
    cr_assert_not_null(text);
    int n = snprintf(text, cap, "<message from='" BOB_FULL "'><thread>" THREAD "</thread>%s</message>",
                     c.data);
    cr_assert_eq(es_rx_stanza_read(f->ctx, text, (size_t)n, &st), ESESSION_OK);
    cr_assert_eq(st->valid, ESESSION_OK, "%s", esession_ctx_error_detail(f->ctx));
    free(text);
    free(m);
    esession_buf_free(&c);
    return st;
}

/* One search of st; its result, *off where it opened and the tries it
 * made. */
static int search_once(fx *f, const es_rx_stanza *st, uint64_t limit, int exact_only,
                       es_rx_tried *tried, uint64_t *off, uint64_t *tries)
{
    es_rx_reach reach = {ES_RX_WINDOW, limit, exact_only};
    es_rx_epoch *ep = NULL;
    uint64_t before = f->s->tries, left = f->s->tries_left;
    int rc = es_rx_search(f->s, st, &reach, tried, off, &ep);
    cr_assert_geq(rc, 0);
    *tries = f->s->tries - before;
    /* Charged to the session's budget unless found. */
    cr_assert_eq(left - f->s->tries_left, rc == ES_RX_FOUND ? 0 : *tries);
    cr_assert_leq(*tries, limit);
    cr_assert_eq(ep != NULL, rc == ES_RX_FOUND);
    return rc;
}

#define WIDE ((1u << 16) - 2) /* gaps as wide as the window allows */

Test(search, a_forged_stanza_costs_one_search_whatever_the_gaps)
{
    static const unsigned gaps[] = {0, 1, 8, 32};
    for (size_t g = 0; g < sizeof gaps / sizeof gaps[0]; g++) {
        fx f;
        uint64_t off = 0, tries = 0;
        es_rx_tried tried;
        memset(&tried, 0, sizeof tried);
        fx_open(&f, gaps[g], WIDE);
        es_rx_stanza *forged = stanza_at(&f, f.forger, es_rx_next(&f.s->core), 10);
        int rc = search_once(&f, forged, ES_RX_TRIES_SEARCH, 0, &tried, &off, &tries);
        if (gaps[g] == 0) {
            /* Absorbing m_content, S = N, N + 1 .. N + 2^16: all of it. */
            cr_assert_eq(rc, 0);
            cr_assert_eq(tries, 1 + 1 + ES_RX_WINDOW);
        } else if (gaps[g] == 1) {
            /* N, the gap's two ends, the window, the rest of the gap:
             * one search exactly. */
            cr_assert_eq(rc, 0);
            cr_assert_eq(tries, 1 + 1 + ES_RX_WINDOW + WIDE);
        } else {
            /* Before, 32 gaps cost over two million tries. */
            cr_assert_eq(rc, ES_RX_STOPPED);
            cr_assert_eq(tries, ES_RX_TRIES_SEARCH);
        }
        cr_assert_eq(f.s->tries_left, ES_RX_TRIES_BURST - tries);
        es_rx_stanza_free(forged);
        fx_close(&f);
    }
}

Test(search, the_likely_places_come_first)
{
    fx f;
    uint64_t off = 0, tries = 0, n;
    fx_open(&f, 32, WIDE);
    n = es_rx_next(&f.s->core);
    /* Each with what one fed stanza adds to a spent budget. */
    struct {
        uint64_t S;
        uint64_t tries; /* m_content once, then its place in the order */
    } at[] = {
        {n, 1 + 1},                                    /* N */
        {gap_start(&f, 0), 1 + 2},                     /* gap 0's first S */
        {gap_start(&f, 0) + WIDE - 1, 1 + 3},          /* gap 0's last S */
        {gap_start(&f, 17), 1 + 1 + 2 * 17 + 1},
        {gap_start(&f, 31) + WIDE - 1, 1 + 1 + 2 * 32}, /* the last exact place */
        {n + 1, 1 + 1 + 2 * 32 + 1},                   /* then the window */
        {n + 1000, 1 + 1 + 2 * 32 + 1000},
    };
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        es_rx_stanza *st = stanza_at(&f, f.chan, at[i].S, 16);
        f.s->tries_left = ES_RX_TRIES_FEED;
        cr_assert_eq(search_once(&f, st, ES_RX_TRIES_SEARCH, 0, NULL, &off, &tries), ES_RX_FOUND,
                     "case %zu", i);
        cr_assert_eq(off, at[i].S);
        cr_assert_eq(tries, at[i].tries, "case %zu: %llu tries", i, (unsigned long long)tries);
        es_rx_stanza_free(st);
    }
    /* The exact places alone: found there, and nowhere else looked at. */
    es_rx_stanza *st = stanza_at(&f, f.chan, gap_start(&f, 5), 16);
    cr_assert_eq(search_once(&f, st, ES_RX_TRIES_SEARCH, 1, NULL, &off, &tries), ES_RX_FOUND);
    es_rx_stanza_free(st);
    st = stanza_at(&f, f.chan, n + 1, 16);
    cr_assert_eq(search_once(&f, st, ES_RX_TRIES_SEARCH, 1, NULL, &off, &tries), 0);
    cr_assert_eq(tries, 1 + 1 + 2 * 32);
    es_rx_stanza_free(st);
    /* A stanza of two blocks does not fit a gap of one... */
    fx_close(&f);
    fx_open(&f, 2, 1);
    st = stanza_at(&f, f.chan, gap_start(&f, 1), 17);
    cr_assert_eq(search_once(&f, st, ES_RX_TRIES_SEARCH, 0, NULL, &off, &tries), 0);
    cr_assert_eq(tries, 1 + 1 + ES_RX_WINDOW, "N and the window only");
    es_rx_stanza_free(st);
    /* ... and with an empty budget nothing is tried. */
    st = stanza_at(&f, f.chan, es_rx_next(&f.s->core), 16);
    f.s->tries_left = 0;
    cr_assert_eq(search_once(&f, st, ES_RX_TRIES_SEARCH, 0, NULL, &off, &tries), ES_RX_STOPPED);
    cr_assert_eq(tries, 0);
    es_rx_stanza_free(st);
    fx_close(&f);
}

Test(search, gaps_in_ascending_order_after_the_window)
{
    fx f;
    uint64_t off = 0, tries = 0;
    fx_open(&f, 32, WIDE);
    /* Inside gap 5: after the exact places, the window, gaps 0 .. 4 and
     * 100 counters of gap 5 (without memory the exact places come again). */
    uint64_t S = gap_start(&f, 5) + 100;
    es_rx_stanza *st = stanza_at(&f, f.chan, S, 16);
    f.s->tries_left = UINT64_MAX;
    cr_assert_eq(search_once(&f, st, UINT64_MAX, 0, NULL, &off, &tries), ES_RX_FOUND);
    cr_assert_eq(off, S);
    cr_assert_eq(tries, 1 + 1 + 2 * 32 + ES_RX_WINDOW + 5 * (uint64_t)WIDE + 101);
    es_rx_stanza_free(st);
    fx_close(&f);
}

Test(search, a_search_goes_on_where_it_stopped)
{
    fx f;
    uint64_t off = 0, tries = 0, total = 0, searches = 0;
    es_rx_tried tried;
    fx_open(&f, 32, 1u << 14);
    memset(&tried, 0, sizeof tried);
    /* Deep in gap 20: more candidates before it than three searches may
     * try. */
    uint64_t S = gap_start(&f, 20) + 3000;
    uint64_t before = 1 + ES_RX_WINDOW + 20 * (uint64_t)f.width + 3000; /* distinct candidates */
    es_rx_stanza *st = stanza_at(&f, f.chan, S, 16);
    int rc;
    f.s->tries_left = UINT64_MAX;
    do {
        rc = search_once(&f, st, ES_RX_TRIES_SEARCH, 0, &tried, &off, &tries);
        total += tries;
        searches++;
        cr_assert_leq(tried.n, ES_RX_TRIED_MAX);
        cr_assert_leq(searches, 8, "no progress");
    } while (rc == ES_RX_STOPPED);
    cr_assert_geq(searches, 4);
    cr_assert_eq(rc, ES_RX_FOUND);
    cr_assert_eq(off, S);
    /* Each candidate tried once; only the exact places (65) and m_content
     * may come again in each search. */
    cr_assert_geq(total, before + 1);
    cr_assert_leq(total, before + 1 + searches * (1 + 2 * 32 + 1));
    cr_assert_eq(searches, (total + ES_RX_TRIES_SEARCH - 1) / ES_RX_TRIES_SEARCH);
    es_rx_stanza_free(st);

    /* A forged stanza searched to the end costs nothing more while the
     * epochs stay, and everything again when they change. */
    st = stanza_at(&f, f.forger, 0, 16);
    fx_close(&f);
    fx_open(&f, 0, 0);
    memset(&tried, 0, sizeof tried);
    cr_assert_eq(search_once(&f, st, ES_RX_TRIES_SEARCH, 0, &tried, &off, &tries), 0);
    cr_assert_eq(tries, 1 + 1 + ES_RX_WINDOW);
    cr_assert_eq(tried.n, 1, "one span: N and the window");
    cr_assert_eq(search_once(&f, st, ES_RX_TRIES_SEARCH, 0, &tried, &off, &tries), 0);
    cr_assert_eq(tries, 0);
    es_dir_keys k = keys_of(0x33);
    es_rx_epoch *e = NULL, *dropped = NULL;
    cr_assert_eq(es_rx_epoch_new(f.ctx, &k, UINT64_C(1) << 40, &e), ESESSION_OK);
    es_rx_epoch_add(&f.s->core, e, &dropped);
    cr_assert_eq(search_once(&f, st, ES_RX_TRIES_SEARCH, 0, &tried, &off, &tries), 0);
    cr_assert_eq(tries, 1 + 1 + ES_RX_WINDOW);
    es_rx_stanza_free(st);
    fx_close(&f);
}

Test(search, absorbing_a_long_stanza_is_charged)
{
    fx f;
    uint64_t off = 0, tries = 0;
    fx_open(&f, 0, 0);
    es_rx_stanza *st = stanza_at(&f, f.forger, 0, 100000);
    cr_assert_gt(st->m_content_len, 130000);
    cr_assert_eq(search_once(&f, st, ES_RX_TRIES_SEARCH, 0, NULL, &off, &tries), 0);
    cr_assert_eq(tries, 1 + st->m_content_len / 128 + 1 + ES_RX_WINDOW);
    /* Not even that when the budget is smaller than the absorption. */
    f.s->tries_left = st->m_content_len / 128;
    cr_assert_eq(search_once(&f, st, ES_RX_TRIES_SEARCH, 0, NULL, &off, &tries), ES_RX_STOPPED);
    cr_assert_eq(tries, 0);
    es_rx_stanza_free(st);
    fx_close(&f);
}

/* ---- through the receiver ---------------------------------------------- */

typedef struct world {
    char dir[64];
    esession_ctx *actx, *bctx;
    esession_keystore *aks, *bks;
    esession_key *akey, *bkey;
    esession_receiver *r;
    esession_sender *s;
} world;

static void world_open(world *w)
{
    char path[128];
    unsigned alerts = 0;
    esession_publication pub;
    esession_buf iq = {NULL, 0, 0};
    char id[ESESSION_IQ_ID_MAX];

    memset(w, 0, sizeof *w);
    kt_mkdir(w->dir, sizeof w->dir);
    cr_assert_eq(esession_ctx_new(&w->actx, NULL, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_OK);
    cr_assert_eq(esession_ctx_new(&w->bctx, NULL, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_OK);
    snprintf(path, sizeof path, "%s/alice.ks", w->dir);
    w->aks = kt_create(w->actx, path);
    snprintf(path, sizeof path, "%s/bob.ks", w->dir);
    w->bks = kt_create(w->bctx, path);
    w->akey = kt_key(w->actx, "vec_rsa_alice.pem");
    w->bkey = kt_key(w->bctx, "vec_rsa_bob.pem");
    cr_assert_eq(esession_keystore_add_key(w->aks, w->akey), ESESSION_OK);
    cr_assert_eq(esession_keystore_add_key(w->bks, w->bkey), ESESSION_OK);
    cr_assert_eq(esession_trust_add(w->aks, BOB, w->bkey, "", &alerts), ESESSION_OK);
    cr_assert_eq(esession_trust_add(w->bks, ALICE, w->akey, "", &alerts), ESESSION_OK);

    esession_publish_options po = ESESSION_PUBLISH_OPTIONS_INIT;
    int groups[1] = {14};
    po.groups = groups;
    po.n_groups = 1;
    cr_assert_eq(esession_publish(w->actx, w->aks, &po, &pub), ESESSION_OK);
    cr_assert_eq(esession_fetch_options_iq(w->bctx, ALICE, &iq, id), ESESSION_OK);
    size_t cap = strlen(pub.form.data) + 512;
    char *result = malloc(cap);
    cr_assert_not_null(result);
    snprintf(result, cap,
             "<iq type='result' from='" ALICE "' to='" BOB_FULL "' id='%s'><pubsub "
             "xmlns='http://jabber.org/protocol/pubsub'><items node='" SUBSCRIBERS_NODE
             "'><item id='current'>%s</item></items></pubsub></iq>",
             id, pub.form.data);
    esession_sender_options so = ESESSION_SENDER_OPTIONS_INIT;
    so.rekey_freq = 1000;
    cr_assert_eq(esession_sender_start(w->bctx, w->bks, BOB_FULL, ALICE, id, result,
                                       strlen(result), &so, &w->s),
                 ESESSION_OK, "%s", esession_ctx_error_detail(w->bctx));
    free(result);
    esession_buf_free(&iq);
    esession_publication_free(&pub);
    cr_assert_eq(esession_receiver_new(w->actx, w->aks, &w->r), ESESSION_OK);
}

static void world_close(world *w)
{
    esession_receiver_free(w->r);
    esession_sender_free(w->s);
    esession_key_free(w->akey);
    esession_key_free(w->bkey);
    esession_keystore_free(w->aks);
    esession_keystore_free(w->bks);
    esession_ctx_free(w->actx);
    esession_ctx_free(w->bctx);
    kt_rmdir(w->dir);
}

/* Bob seals a message whose body has `body` octets. */
static void bob_seals(world *w, size_t body, esession_buf *out)
{
    char *msg = malloc(body + 128);
    cr_assert_not_null(msg);
    int n = snprintf(msg, body + 128, "<message to='" ALICE "' type='chat'><body>%0*d</body></message>",
                     (int)body, 7);
    cr_assert_eq(esession_sender_seal(w->s, msg, (size_t)n, out), ESESSION_OK);
    free(msg);
}

/* Feed a stanza; the kinds of the results it produced, in order. */
static size_t feed(world *w, const esession_buf *st, uint64_t tag, esession_result_kind *kinds,
                   uint64_t *tags, size_t max)
{
    esession_result res;
    size_t n = 0;
    cr_assert_eq(esession_receiver_feed(w->r, st->data, st->len, tag), ESESSION_OK);
    while (esession_receiver_next(w->r, &res)) {
        cr_assert_lt(n, max);
        kinds[n] = res.kind;
        tags[n++] = res.tag;
        if (res.kind == ESESSION_RESULT_MESSAGE)
            cr_assert_eq(esession_receiver_confirm(w->r, &res), ESESSION_OK);
        esession_result_free(&res);
    }
    return n;
}

static esession_result_kind feed1(world *w, const esession_buf *st, uint64_t tag)
{
    esession_result_kind k[4];
    uint64_t t[4];
    cr_assert_eq(feed(w, st, tag, k, t, 4), 1);
    cr_assert_eq(t[0], tag);
    return k[0];
}

/* A copy of st with its a_mac changed: what someone without Bob's keys
 * can send. The change is within the first 8 octets of the MAC (the 10
 * first base64 characters), so that no copy shares the print a session
 * keeps of each accepted a_mac and is told apart from a duplicate; each
 * copy differs from the others (position i % 10, shifted by 1 + i / 10). */
static void forge(const esession_buf *st, unsigned i, esession_buf *out)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *mac = strstr(st->data, "<mac>");
    cr_assert_not_null(mac);
    cr_assert_eq(es_buf_set(out, st->data, st->len, 0), ESESSION_OK);
    size_t at = (size_t)(mac - st->data) + 5 + i % 10;
    const char *p = strchr(b64, out->data[at]);
    cr_assert_not_null(p);
    out->data[at] = b64[((size_t)(p - b64) + 1 + i / 10) % 64];
}

static es_rx_session *session_of(world *w)
{
    es_rx_session *s = NULL;
    for (size_t i = 0; i < w->r->n_sessions; i++)
        if (strcmp(w->r->sessions[i]->bare, BOB) == 0)
            s = w->r->sessions[i];
    cr_assert_not_null(s);
    return s;
}

Test(search, forged_stanzas_drain_the_budget_not_the_real_ones)
{
    world w;
    esession_buf st[4], bad = {NULL, 0, 0};
    world_open(&w);
    es_rx_set_tries(w.r, 4096, 256, 16384);
    for (size_t i = 0; i < 4; i++) {
        bob_seals(&w, 40, &st[i]);
        cr_assert_eq(esession_sender_sent(w.bctx, w.bks, &st[i]), ESESSION_OK);
    }
    cr_assert_eq(feed1(&w, &st[0], 0), ESESSION_RESULT_MESSAGE); /* the <init> */
    cr_assert_eq(feed1(&w, &st[1], 1), ESESSION_RESULT_MESSAGE);
    es_rx_session *s = session_of(&w);
    uint64_t spent = s->tries, feeds = 1;
    cr_assert_leq(spent, 16384 + 256);
    /* 40 forged copies of stanza 2: 32 held, then bad-mac. None costs more
     * than its own search and one search's worth of retries, and once the
     * budget is spent, not more than one feed adds. */
    for (unsigned i = 0; i < 40; i++) {
        forge(&st[2], i, &bad);
        esession_result_kind k = feed1(&w, &bad, 100 + i);
        cr_assert_eq(k, i < ES_RX_HELD_MAX ? ESESSION_RESULT_HELD : ESESSION_RESULT_ERROR);
        s = session_of(&w);
        uint64_t cost = s->tries - spent;
        spent = s->tries;
        feeds++;
        cr_assert_leq(cost, i < 8 ? 2 * 4096 : 256, "forged stanza %u: %llu tries", i,
                      (unsigned long long)cost);
        esession_buf_free(&bad);
    }
    cr_assert_leq(spent, 16384 + feeds * 256, "never more than the budget");
    /* Stanza 3 is lost; stanza 4 starts a few blocks above N and opens at
     * once; stanza 3 then opens in its gap, from where it starts. */
    esession_result_kind k[4];
    uint64_t t[4];
    cr_assert_eq(feed(&w, &st[3], 4, k, t, 4), 1);
    cr_assert_eq(k[0], ESESSION_RESULT_MESSAGE);
    cr_assert_eq(feed(&w, &st[2], 3, k, t, 4), 1);
    cr_assert_eq(k[0], ESESSION_RESULT_MESSAGE);
    s = session_of(&w);
    /* What two feeds add, besides the two searches that found them (a
     * few dozen tries, given back). */
    cr_assert_leq(s->tries - spent, 2 * 256 + 2 * 64);
    cr_assert_eq(s->core.n_held, ES_RX_HELD_MAX);
    for (size_t i = 0; i < 4; i++)
        esession_buf_free(&st[i]);
    world_close(&w);
}

Test(search, a_held_search_goes_on_at_the_next_stanzas)
{
    world w;
    esession_buf st[4];
    esession_result_kind k[4];
    uint64_t t[4];
    world_open(&w);
    /* Stanza 2 is long (about 700 blocks): stanza 3 starts that far above
     * N, more than one feed's 256 tries reach. */
    es_rx_set_tries(w.r, 4096, 256, 256);
    for (size_t i = 0; i < 4; i++) {
        bob_seals(&w, i == 2 ? 8000 : 40, &st[i]);
        cr_assert_eq(esession_sender_sent(w.bctx, w.bks, &st[i]), ESESSION_OK);
    }
    cr_assert_eq(feed1(&w, &st[0], 0), ESESSION_RESULT_MESSAGE);
    cr_assert_eq(feed1(&w, &st[1], 1), ESESSION_RESULT_MESSAGE);
    cr_assert_eq(feed1(&w, &st[3], 3), ESESSION_RESULT_HELD);
    cr_assert(session_of(&w)->core.held[0]->pending);
    /* Read back from the store (how far it went is not kept), it goes on
     * too: each stanza fed (here copies of stanza 1) lets it go further. */
    esession_receiver_free(w.r);
    cr_assert_eq(esession_receiver_new(w.actx, w.aks, &w.r), ESESSION_OK);
    es_rx_set_tries(w.r, 4096, 256, 256);
    size_t copies = 0, n;
    do {
        n = feed(&w, &st[1], 10 + copies, k, t, 4);
        cr_assert_eq(k[0], ESESSION_RESULT_DUPLICATE);
        copies++;
        cr_assert_leq(copies, 8);
    } while (n == 1);
    cr_assert_eq(n, 2);
    cr_assert_eq(k[1], ESESSION_RESULT_MESSAGE);
    cr_assert_eq(t[1], 3, "the held stanza is released");
    cr_assert_geq(copies, 2);
    /* Stanza 2 opens at the start of the gap it left. */
    cr_assert_eq(feed1(&w, &st[2], 2), ESESSION_RESULT_MESSAGE);
    cr_assert_eq(session_of(&w)->core.n_held, 0);
    for (size_t i = 0; i < 4; i++)
        esession_buf_free(&st[i]);
    world_close(&w);
}

/* The stanzas Bob's outbox holds: n of them, st[want[0]], st[want[1]]... */
static void unsent_are(world *w, const esession_buf *st, const size_t *want, size_t n)
{
    esession_buf *v = NULL;
    size_t got = 0;
    cr_assert_eq(esession_outbox_unsent(w->bctx, w->bks, NULL, &v, &got), ESESSION_OK);
    cr_assert_eq(got, n);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(v[i].len, st[want[i]].len);
        cr_assert_arr_eq(v[i].data, st[want[i]].data, v[i].len);
    }
    esession_outbox_free(v, got);
}

/* A stanza leaves the outbox when marked sent, in whatever order, and
 * only that very stanza (the context remembers the last one put there). */
Test(search, outbox_until_sent)
{
    world w;
    esession_buf st[3], other = {NULL, 0, 0};
    world_open(&w);
    for (size_t i = 0; i < 3; i++)
        bob_seals(&w, 30 + i, &st[i]);
    static const size_t all[] = {0, 1, 2}, two[] = {1, 2}, one[] = {1};
    unsent_are(&w, st, all, 3);
    cr_assert_eq(esession_sender_sent(w.bctx, w.bks, &st[0]), ESESSION_OK);
    unsent_are(&w, st, two, 2);
    /* The same length, one octet changed: another stanza, not in the outbox. */
    cr_assert_eq(es_buf_set(&other, st[2].data, st[2].len, 0), ESESSION_OK);
    other.data[other.len / 2] ^= 1;
    cr_assert_eq(esession_sender_sent(w.bctx, w.bks, &other), ESESSION_OK);
    unsent_are(&w, st, two, 2);
    cr_assert_eq(esession_sender_sent(w.bctx, w.bks, &st[2]), ESESSION_OK);
    unsent_are(&w, st, one, 1);
    cr_assert_eq(esession_sender_sent(w.bctx, w.bks, &st[2]), ESESSION_OK); /* again: nothing */
    unsent_are(&w, st, one, 1);
    cr_assert_eq(esession_sender_sent(w.bctx, w.bks, &st[1]), ESESSION_OK);
    unsent_are(&w, st, NULL, 0);
    esession_buf_free(&other);
    for (size_t i = 0; i < 3; i++)
        esession_buf_free(&st[i]);
    world_close(&w);
}
