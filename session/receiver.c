/* SPDX-License-Identifier: ISC */
/* Alice back online (XEP-0187 §3.4, §5; PROFILE §10, §11): received
 * stanzas in, results out. Sessions are keyed by (Bob's bare JID,
 * thread) and kept in the keystore; every stanza gets exactly one result
 * of its own, and held stanzas get theirs when they open or when their
 * session ends. */
#include "receiver.h"

#include <stdlib.h>
#include <string.h>

/* ---- results ------------------------------------------------------- */

static void emit(esession_receiver *r, esession_event_type type, esession_status status,
                 const char *jid, const char *thread, uint64_t tag)
{
    if (r->ctx->ops.event == NULL)
        return;
    esession_event ev = {type, status, jid, thread, 0, tag};
    r->ctx->ops.event(r->ctx->user, &ev);
}

static const char *or_null(const esession_buf *b)
{
    return b->data != NULL && b->len > 0 ? b->data : NULL;
}

esession_status es_rx_queue_reserve(esession_receiver *r, size_t n)
{
    esession_result *q;
    size_t cap;

    if (r->q_cap - r->q_len >= n)
        return ESESSION_OK;
    if (n > SIZE_MAX / 2 / sizeof *q - r->q_len)
        return ESESSION_ERR_NO_MEMORY;
    cap = r->q_cap * 2 > r->q_len + n ? r->q_cap * 2 : r->q_len + n;
    if (cap < 8)
        cap = 8;
    if ((q = calloc(cap, sizeof *q)) == NULL)
        return ESESSION_ERR_NO_MEMORY;
    for (size_t i = 0; i < r->q_len; i++)
        q[i] = r->queue[(r->q_head + i) % r->q_cap];
    free(r->queue);
    r->queue = q;
    r->q_cap = cap;
    r->q_head = 0;
    return ESESSION_OK;
}

void es_rx_queue_push(esession_receiver *r, esession_result *res)
{
    if (r->q_len == r->q_cap) { /* room is reserved first; never reached */
        esession_result_free(res);
        return;
    }
    esession_result *slot = &r->queue[(r->q_head + r->q_len) % r->q_cap];
    *slot = *res;
    memset(res, 0, sizeof *res);
    r->q_len++;
    if (slot->kind == ESESSION_RESULT_ERROR)
        emit(r, ESESSION_EVENT_DISCARDED, slot->error, or_null(&slot->from_bare),
             or_null(&slot->thread), slot->tag);
}

static esession_status set_text(esession_buf *b, const char *s)
{
    return es_buf_set(b, s != NULL ? s : "", s != NULL ? strlen(s) : 0, 0);
}

esession_status es_rx_result_init(esession_result *res, uint64_t tag, esession_result_kind kind,
                                  esession_status error, const es_rx_stanza *st)
{
    esession_result out;
    esession_status rc;

    memset(&out, 0, sizeof out);
    out.tag = tag;
    out.kind = kind;
    out.error = error;
    if (st != NULL && st->has_delay) {
        out.has_delay = 1;
        out.delay = st->delay;
    }
    rc = set_text(&out.from, st != NULL ? st->from : NULL);
    if (rc == ESESSION_OK)
        rc = set_text(&out.from_bare, st != NULL ? st->bare : NULL);
    if (rc == ESESSION_OK)
        rc = set_text(&out.thread, st != NULL ? st->thread : NULL);
    if (rc == ESESSION_OK)
        rc = set_text(&out.delay_from, st != NULL ? st->delay_from : NULL);
    if (rc != ESESSION_OK) {
        esession_result_free(&out);
        return rc;
    }
    *res = out;
    return ESESSION_OK;
}

/* Queue an ERROR result for st (NULL: nothing could be read). */
static esession_status push_error(esession_receiver *r, uint64_t tag, esession_status why,
                                  const es_rx_stanza *st)
{
    esession_result res;
    esession_status rc = es_rx_result_init(&res, tag, ESESSION_RESULT_ERROR, why, st);
    if (rc == ESESSION_OK)
        es_rx_queue_push(r, &res);
    return rc;
}

static esession_status push_kind(esession_receiver *r, uint64_t tag, esession_result_kind kind,
                                 const es_rx_stanza *st)
{
    esession_result res;
    esession_status rc = es_rx_result_init(&res, tag, kind, ESESSION_OK, st);
    if (rc == ESESSION_OK)
        es_rx_queue_push(r, &res);
    return rc;
}

void esession_result_free(esession_result *res)
{
    if (res == NULL)
        return;
    esession_buf_free(&res->plaintext);
    esession_buf_free(&res->from);
    esession_buf_free(&res->from_bare);
    esession_buf_free(&res->thread);
    esession_buf_free(&res->delay_from);
    sodium_memzero(res, sizeof *res);
}

int esession_receiver_next(esession_receiver *r, esession_result *out)
{
    if (r == NULL || out == NULL || r->q_len == 0)
        return 0;
    *out = r->queue[r->q_head];
    memset(&r->queue[r->q_head], 0, sizeof r->queue[r->q_head]);
    r->q_head = (r->q_head + 1) % r->q_cap;
    r->q_len--;
    return 1;
}

/* ---- sessions ------------------------------------------------------ */

/* The thread first: drawn at random, it tells sessions apart at its first
 * characters, where one contact's sessions all share the JID. */
static long session_index(const esession_receiver *r, const char *bare, const char *thread)
{
    for (size_t i = 0; i < r->n_sessions; i++)
        if (strcmp(r->sessions[i]->thread, thread) == 0 && strcmp(r->sessions[i]->bare, bare) == 0)
            return (long)i;
    return -1;
}

es_rx_session *es_rx_find_session(const esession_receiver *r, const char *bare,
                                  const char *thread)
{
    long i = bare != NULL && thread != NULL ? session_index(r, bare, thread) : -1;
    return i >= 0 ? r->sessions[i] : NULL;
}

esession_status es_rx_sessions_reserve(esession_receiver *r)
{
    es_rx_session **v;
    size_t cap;

    if (r->n_sessions < r->cap_sessions)
        return ESESSION_OK;
    cap = r->cap_sessions ? r->cap_sessions * 2 : 8;
    if ((v = realloc(r->sessions, cap * sizeof *v)) == NULL)
        return ESESSION_ERR_NO_MEMORY;
    r->sessions = v;
    r->cap_sessions = cap;
    return ESESSION_OK;
}

/* Everything of a session is in its record: the least recently read
 * copies go (the newest, last, always stays), so that memory is bounded
 * whatever the store holds. */
static void evict(esession_receiver *r)
{
    while (r->n_sessions > r->cache_max && r->n_sessions > 1) {
        es_rx_session_free(r->sessions[0]);
        memmove(r->sessions, r->sessions + 1, (r->n_sessions - 1) * sizeof *r->sessions);
        r->n_sessions--;
    }
}

/* A copy read again from the store keeps the budget spent by this one
 * (reading it again does not make it rested). */
static void keep_budget(es_rx_session *fresh, const es_rx_session *old)
{
    fresh->tries_left = old->tries_left;
    fresh->tries = old->tries;
}

/* Make the cached copy of the (bare, thread) session the stored one:
 * another process, or a transaction rolled back, may have advanced,
 * ended or replaced it since this receiver last looked. */
static esession_status sync_session(esession_receiver *r, const char *bare, const char *thread)
{
    char name[ES_BLOB_NAME_MAX + 1];
    long i = session_index(r, bare, thread);
    uint64_t version = 0;
    esession_status rc = es_rx_name_for(bare, thread, name);
    if (rc == ESESSION_OK)
        rc = es_ks_blob_version(r->ks, name, &version);
    if (rc == ESESSION_ERR_NO_SESSION) {
        es_clear_detail(r->ctx);
        if (i >= 0) { /* ended elsewhere, which reported its stanzas */
            es_rx_session_free(r->sessions[i]);
            memmove(r->sessions + i, r->sessions + i + 1,
                    (r->n_sessions - (size_t)i - 1) * sizeof *r->sessions);
            r->n_sessions--;
        }
        return ESESSION_OK;
    }
    if (rc != ESESSION_OK)
        return rc;
    if (i >= 0 && r->sessions[i]->version == version &&
        r->sessions[i]->rollbacks == es_tx_rollbacks(r->ks)) {
        es_rx_session *hit = r->sessions[i]; /* most recently read: last */
        memmove(r->sessions + i, r->sessions + i + 1,
                (r->n_sessions - (size_t)i - 1) * sizeof *r->sessions);
        r->sessions[r->n_sessions - 1] = hit;
        return ESESSION_OK;
    }
    esession_buf b = {NULL, 0, 0};
    es_rx_session *s = NULL;
    if ((rc = es_rx_sessions_reserve(r)) == ESESSION_OK &&
        (rc = es_ks_blob_get_v(r->ks, name, &b, &version)) == ESESSION_OK)
        rc = es_rx_state_load(r->ctx, name, (const uint8_t *)b.data, b.len, &s);
    esession_buf_free(&b);
    if (rc == ESESSION_OK && (rc = es_rx_state_attach_ring(r->ks, s)) != ESESSION_OK)
        es_rx_session_free(s);
    if (rc != ESESSION_OK)
        return rc;
    s->version = version;
    s->rollbacks = es_tx_rollbacks(r->ks);
    if (i >= 0) {
        keep_budget(s, r->sessions[i]);
        es_rx_session_free(r->sessions[i]);
        r->sessions[i] = s;
        return ESESSION_OK;
    }
    r->sessions[r->n_sessions++] = s;
    evict(r);
    return ESESSION_OK;
}

esession_status es_rx_end_session(esession_receiver *r, size_t i, int erase)
{
    es_rx_session *s = r->sessions[i];
    esession_result res[ES_RX_HELD_MAX];
    size_t n = s->core.n_held, made = 0;
    esession_status rc = es_rx_queue_reserve(r, n);

    /* Everything that can fail comes before the record goes. */
    while (rc == ESESSION_OK && made < n) {
        const es_rx_held *h = s->core.held[made];
        rc = es_rx_result_init(&res[made], h->tag, ESESSION_RESULT_ERROR, ESESSION_ERR_BAD_MAC,
                               h->st);
        if (rc == ESESSION_OK)
            made++;
    }
    if (rc == ESESSION_OK && erase)
        rc = es_rx_state_erase(r->ks, s);
    if (rc != ESESSION_OK) {
        for (size_t k = 0; k < made; k++)
            esession_result_free(&res[k]);
        return rc;
    }
    for (size_t k = 0; k < n; k++)
        es_rx_queue_push(r, &res[k]);
    memmove(r->sessions + i, r->sessions + i + 1, (r->n_sessions - i - 1) * sizeof *r->sessions);
    r->n_sessions--;
    emit(r, ESESSION_EVENT_SESSION_ENDED, ESESSION_OK, s->bare, s->thread, 0);
    es_rx_session_free(s); /* keys wiped */
    return ESESSION_OK;
}

void es_rx_add_session(esession_receiver *r, es_rx_session *s)
{
    long i = session_index(r, s->bare, s->thread);

    if (i >= 0) {
        /* A new session on the same thread replaces the old one; its
         * record goes unless the new one took its name. */
        int erase = strcmp(r->sessions[i]->name, s->name) != 0;
        /* Without erasing (room for its results is reserved) this cannot
         * fail; a record left behind loses to the newer one at loading. */
        if (es_rx_end_session(r, (size_t)i, erase) != ESESSION_OK)
            (void)es_rx_end_session(r, (size_t)i, 0);
    }
    r->sessions[r->n_sessions++] = s;
    evict(r);
}

/* Sessions whose option set expired (or is gone) end (PROFILE §11). */
static void sweep_expired(esession_receiver *r)
{
    int64_t now = es_now(r->ctx);
    size_t i = 0;

    while (i < r->n_sessions) {
        const es_rx_session *s = r->sessions[i];
        const es_optset *set = es_ks_optset_find(r->ks, s->n_a, s->n_a_len);
        if ((set == NULL || now > set->expires) && es_rx_end_session(r, i, 1) == ESESSION_OK)
            continue;
        i++;
    }
}

/* ---- held stanzas -------------------------------------------------- */

/* Release held[i] as a copy of a stanza accepted meanwhile. */
static esession_status release_duplicate(esession_receiver *r, es_rx_session *s, size_t i)
{
    esession_result res;
    es_rx_core before = s->core;
    es_rx_held *h = s->core.held[i];
    esession_status rc =
        es_rx_result_init(&res, h->tag, ESESSION_RESULT_DUPLICATE, ESESSION_OK, h->st);

    if (rc != ESESSION_OK)
        return rc;
    (void)es_rx_held_take(&s->core, i);
    if ((rc = es_rx_state_save(r->ks, s)) != ESESSION_OK) {
        s->core = before;
        esession_result_free(&res);
        return rc;
    }
    es_rx_queue_push(r, &res);
    es_rx_held_free(h);
    return ESESSION_OK;
}

/* What a search may do: at most limit tries. */
static es_rx_reach reach_of(const esession_receiver *r, uint64_t limit, int exact_only)
{
    es_rx_reach reach = {r->window, limit, exact_only};
    return reach;
}

/* Try held[i] (exact_only: at the exact places only) with at most limit
 * tries; 1 if it opened or turned out to be a duplicate (the session
 * changed), 0 if not, -1 when a storage error stops the retries until the
 * next change. */
static int retry_one(esession_receiver *r, es_rx_session *s, size_t i, uint64_t limit,
                     int exact_only)
{
    es_rx_held *h = s->core.held[i];
    size_t mac_len = 0;
    const uint8_t *mac = es_c_mac(h->st->copen, &mac_len);
    es_rx_reach reach = reach_of(r, limit, exact_only);
    esession_result res;
    es_rx_epoch *ep = NULL;
    uint64_t off = 0;
    esession_status rc;

    if (es_rx_mac_seen(s, mac, mac_len))
        return release_duplicate(r, s, i) == ESESSION_OK ? 1 : -1;
    int hit = es_rx_search(s, h->st, &reach, &h->tried, &off, &ep);
    if (hit < 0)
        return -1;
    if (!exact_only)
        h->pending = hit == ES_RX_STOPPED;
    if (hit != ES_RX_FOUND)
        return 0;
    rc = es_rx_accept(r, s, h->st, off, ep, 0, 1, (long)i, 0, h->tag, &res);
    if (rc == ESESSION_ERR_BAD_MAC) {
        es_rx_tried_clear(&h->tried); /* the search and the reference check disagreed */
        return 0;
    }
    if (rc != ESESSION_OK)
        return -1;
    es_rx_queue_push(r, &res);
    return 1;
}

void es_rx_retry_held(esession_receiver *r, es_rx_session *s, int changed)
{
    /* All the retries of one stanza fed make one search's worth of tries
     * at most (besides the stanza's own search). */
    uint64_t start = s->tries;
    int progress = 1;

    /* Each change may let any held stanza open: the exact places of every
     * one first (a few tries each), then the rest of each search. Without
     * a change only searches that ran out of tries go on. */
    while (progress) {
        progress = 0;
        for (int pass = changed ? 0 : 1; !progress && pass < 2; pass++) {
            for (size_t i = 0; !progress && i < s->core.n_held; i++) {
                uint64_t spent = s->tries - start;
                if (spent >= r->search_tries)
                    return;
                if (pass == 1 && !changed && !s->core.held[i]->pending)
                    continue;
                int done = retry_one(r, s, i, r->search_tries - spent, pass == 0);
                if (done < 0)
                    return; /* kept held; tried again later */
                progress = done;
            }
        }
        changed |= progress;
    }
}

/* ---- feeding ------------------------------------------------------- */

/* Hold st (its search found nothing) if there is room. */
static esession_status hold(esession_receiver *r, es_rx_session *s, es_rx_stanza **stp,
                            es_rx_held *h, const char *text, size_t len, uint64_t tag)
{
    es_rx_core before = s->core;
    esession_status rc;

    if (s->core.n_held == ES_RX_HELD_MAX || len > ES_RX_HELD_BYTES - s->core.held_bytes)
        return push_error(r, tag, ESESSION_ERR_BAD_MAC, *stp);
    if ((h->text = malloc(len + 1)) == NULL)
        return push_error(r, tag, ESESSION_ERR_NO_MEMORY, *stp);
    memcpy(h->text, text, len);
    h->text[len] = '\0';
    h->len = len;
    h->tag = tag;
    h->st = *stp;
    s->core.held[s->core.n_held++] = h;
    s->core.held_bytes += len;
    if ((rc = es_rx_state_save(r->ks, s)) != ESESSION_OK) {
        s->core = before;
        h->st = NULL;
        return push_error(r, tag, rc, *stp);
    }
    *stp = NULL; /* the session owns it now */
    return push_kind(r, tag, ESESSION_RESULT_HELD, h->st);
}

/* A stanza with <c> only (PROFILE §11). */
/* The common case: the stanza follows the last one, at N. The reference
 * check there, under the epoch covering N, finds it as the search would
 * (which tries N first) without the search's MAC states; it counts the
 * tries the search would have made, and is not made when the search could
 * not afford them. 1 with *off and *ep set, else 0 (the search decides). */
static int in_order(es_rx_session *s, const es_rx_stanza *st, uint64_t limit, uint64_t *off,
                    es_rx_epoch **ep)
{
    const es_rx_core *c = &s->core;
    uint64_t n = es_rx_next(c), blocks = es_c_blocks(st->copen);
    uint64_t cost = 1 + st->m_content_len / 128 + 1; /* the search's m_content, then N */
    size_t mac_len = 0;
    uint8_t S[ES_AES_BLOCK];

    if (limit > s->tries_left)
        limit = s->tries_left;
    if (c->terminated || c->n_epochs == 0 || es_c_mac(st->copen, &mac_len) == NULL ||
        mac_len != s->mac_len || blocks == 0 || blocks > UINT64_MAX - n ||
        n < c->epochs[0]->start || limit < cost)
        return 0;
    size_t e = 0;
    while (e + 1 < c->n_epochs && c->epochs[e + 1]->start <= n)
        e++;
    es_rx_counter(s, n, S);
    if (es_rx_epoch_keyed(c->epochs[e]) != ESESSION_OK ||
        es_c_verify(st->copen, c->epochs[e]->chan, S) != ESESSION_OK)
        return 0;
    s->tries += cost;
    *off = n;
    *ep = c->epochs[e];
    return 1;
}

static esession_status on_c(esession_receiver *r, es_rx_stanza **stp, const char *text, size_t len,
                            uint64_t tag)
{
    es_rx_stanza *st = *stp;
    long i = session_index(r, st->bare, st->thread);
    es_rx_session *s;
    const es_optset *set;
    size_t mac_len = 0;
    const uint8_t *mac = es_c_mac(st->copen, &mac_len);
    es_rx_held *h;
    es_rx_epoch *ep = NULL;
    esession_result res;
    uint64_t off = 0;
    esession_status rc;
    int hit;

    if (i < 0)
        return push_error(r, tag, es_fail(r->ctx, ESESSION_ERR_NO_SESSION,
                                          "no session for this bare JID and thread"), st);
    s = r->sessions[i];
    set = es_ks_optset_find(r->ks, s->n_a, s->n_a_len);
    if (set == NULL || es_now(r->ctx) > set->expires) {
        /* Discarded undecrypted; the session ends with its option set. */
        rc = push_error(r, tag,
                        es_fail(r->ctx, ESESSION_ERR_EXPIRED, "the session's option set expired"),
                        st);
        if (rc == ESESSION_OK)
            (void)es_rx_end_session(r, (size_t)i, 1);
        return rc;
    }
    /* Every stanza fed adds to the session's budget; its own search comes
     * first, then held searches that ran out go on with what is left. */
    s->tries_left = s->tries_left < r->burst_tries - r->feed_tries
                        ? s->tries_left + r->feed_tries
                        : r->burst_tries;
    if (es_rx_mac_seen(s, mac, mac_len)) {
        rc = push_kind(r, tag, ESESSION_RESULT_DUPLICATE, st);
        es_rx_retry_held(r, s, 0);
        return rc;
    }
    if ((h = calloc(1, sizeof *h)) == NULL)
        return push_error(r, tag, ESESSION_ERR_NO_MEMORY, st);
    es_rx_reach reach = reach_of(r, r->search_tries, 0);
    int checked = in_order(s, st, reach.limit, &off, &ep);
    hit = checked ? ES_RX_FOUND : es_rx_search(s, st, &reach, &h->tried, &off, &ep);
    if (hit == ES_RX_FOUND) {
        rc = es_rx_accept(r, s, st, off, ep, checked, 1, -1, 0, tag, &res);
        if (rc == ESESSION_OK) {
            free(h);
            es_rx_queue_push(r, &res);
            es_rx_retry_held(r, s, 1);
            return ESESSION_OK;
        }
        if (rc != ESESSION_ERR_BAD_MAC) {
            free(h);
            return push_error(r, tag, rc, st);
        }
        es_rx_tried_clear(&h->tried); /* the search and the reference check disagreed */
    } else if (hit < 0) {
        free(h);
        return push_error(r, tag, (esession_status)hit, st);
    }
    /* Out of tries, the search is not over: held, also after termination. */
    h->pending = hit == ES_RX_STOPPED;
    if (s->core.terminated && !h->pending) {
        free(h);
        return push_error(r, tag,
                          es_fail(r->ctx, ESESSION_ERR_NO_SESSION,
                                  "the session was terminated and the stanza fits no gap"),
                          st);
    }
    rc = hold(r, s, stp, h, text, len, tag);
    if (*stp != NULL) { /* not held */
        free(h->text);
        free(h);
    }
    es_rx_retry_held(r, s, 0);
    return rc;
}

esession_status esession_receiver_feed(esession_receiver *r, const char *stanza, size_t len,
                                       uint64_t tag)
{
    es_rx_stanza *st = NULL;
    es_rx_session *opened = NULL;
    esession_result res;
    esession_status rc;

    if (r == NULL || (stanza == NULL && len > 0))
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(r->ctx);
    /* The stanza's own result, those it releases, and those of a session
     * it replaces: room first, so that nothing written goes unreported. */
    if (es_rx_queue_reserve(r, 1 + 2 * ES_RX_HELD_MAX) != ESESSION_OK ||
        es_rx_sessions_reserve(r) != ESESSION_OK)
        return ESESSION_ERR_NO_MEMORY;
    /* Every outcome, even running out of memory, is a result; feed fails
     * only when not even that could be queued. */
    rc = es_rx_stanza_read(r->ctx, stanza, len, &st);
    if (rc != ESESSION_OK || st->valid != ESESSION_OK) {
        rc = push_error(r, tag, rc == ESESSION_ERR_NO_MEMORY ? rc : ESESSION_ERR_MALFORMED, st);
        es_rx_stanza_free(st);
        return rc == ESESSION_ERR_NO_MEMORY ? rc : ESESSION_OK;
    }
    if (st->plain) {
        /* Nothing to open and nothing stored: handed over as it came. */
        rc = es_rx_plain_result(r->ctx, st, stanza, len, tag, &res);
        if (rc == ESESSION_OK)
            es_rx_queue_push(r, &res);
        else
            rc = push_error(r, tag, rc, st);
        es_rx_stanza_free(st);
        return rc == ESESSION_ERR_NO_MEMORY ? rc : ESESSION_OK;
    }
    /* One transaction: the stored session is read, advanced and written
     * while no other process can touch it. */
    size_t mark = r->q_len;
    esession_status tx = es_tx_begin(r->ks, 1);
    if (tx == ESESSION_OK)
        tx = sync_session(r, st->bare, st->thread);
    if (tx != ESESSION_OK) {
        rc = push_error(r, tag, tx, st);
        (void)es_tx_end(r->ks, tx); /* nothing when the begin itself failed */
    } else if (st->init_x != NULL) {
        rc = es_rx_open_init(r, st, stanza, len, tag, &res, &opened);
        if (rc == ESESSION_OK) {
            es_rx_queue_push(r, &res);
            if (opened != NULL)
                es_rx_add_session(r, opened);
        } else {
            rc = push_error(r, tag, rc, st);
        }
    } else {
        rc = on_c(r, &st, stanza, len, tag);
    }
    if (tx == ESESSION_OK) {
        sweep_expired(r);
        /* Inside the transaction: outside, looking at the option sets
         * would cost a transaction of its own. */
        es_rx_dh_sweep(r, 0);
        if ((tx = es_tx_end(r->ks, ESESSION_OK)) != ESESSION_OK) {
            /* Nothing of this stanza was kept: its results go, and it
             * will open again when fed again. */
            while (r->q_len > mark)
                esession_result_free(&r->queue[(r->q_head + --r->q_len) % r->q_cap]);
            rc = push_error(r, tag, tx, st);
        }
    }
    es_rx_stanza_free(st);
    return rc == ESESSION_ERR_NO_MEMORY ? rc : ESESSION_OK;
}

/* ---- life cycle ---------------------------------------------------- */

/* Stored sessions into the cache, those that keep() selects (a copy
 * already held is replaced): the others are read and let go, so that
 * memory does not grow with the store. */
typedef struct loader {
    esession_receiver *r;
    int (*keep)(const esession_receiver *r, const es_rx_peek *p, const void *arg);
    const void *arg;
} loader;

static esession_status load_one(void *arg, const char *name, const uint8_t *data, size_t len,
                                uint64_t version)
{
    loader *l = arg;
    esession_receiver *r = l->r;
    es_rx_session *s = NULL;
    es_rx_peek peek;
    /* Most records are not wanted: tell from their start, load the rest. */
    if (es_rx_state_peek(data, len, &peek) && !l->keep(r, &peek, l->arg))
        return ESESSION_OK;
    esession_status rc = es_rx_state_load(r->ctx, name, data, len, &s);
    if (rc == ESESSION_OK && (rc = es_rx_state_attach_ring(r->ks, s)) != ESESSION_OK)
        es_rx_session_free(s);
    if (rc != ESESSION_OK)
        return rc;
    if ((rc = es_rx_sessions_reserve(r)) != ESESSION_OK ||
        (rc = es_rx_queue_reserve(r, ES_RX_HELD_MAX)) != ESESSION_OK) {
        es_rx_session_free(s);
        return rc;
    }
    long i = session_index(r, s->bare, s->thread);
    s->version = version;
    s->rollbacks = es_tx_rollbacks(r->ks);
    if (i >= 0) {
        keep_budget(s, r->sessions[i]);
        es_rx_session_free(r->sessions[i]);
        r->sessions[i] = s;
    } else {
        r->sessions[r->n_sessions++] = s;
    }
    return ESESSION_OK;
}

static int expired(const esession_receiver *r, const es_rx_peek *p, const void *arg)
{
    const es_optset *set = es_ks_optset_find(r->ks, p->n_a, p->n_a_len);
    (void)arg;
    return set == NULL || es_now(r->ctx) > set->expires;
}

static int of_jid(const esession_receiver *r, const es_rx_peek *p, const void *arg)
{
    (void)r;
    return arg == NULL ||
           (strlen(arg) == p->bare_len && memcmp(p->bare, arg, p->bare_len) == 0);
}

static esession_status load_sessions(esession_receiver *r,
                                     int (*keep)(const esession_receiver *, const es_rx_peek *,
                                                 const void *),
                                     const void *arg)
{
    loader l = {r, keep, arg};
    return es_ks_blob_list(r->ks, ES_RX_BLOB_PREFIX, load_one, &l);
}

esession_status esession_receiver_new(esession_ctx *ctx, esession_keystore *ks,
                                      esession_receiver **out)
{
    esession_receiver *r;
    esession_status rc;

    if ((rc = es_ks_check(ctx, ks)) != ESESSION_OK)
        return rc;
    if (out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ctx);
    if ((r = calloc(1, sizeof *r)) == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    r->ctx = ctx;
    r->ks = ks;
    r->window = ES_RX_WINDOW;
    r->search_tries = ES_RX_TRIES_SEARCH;
    r->feed_tries = ES_RX_TRIES_FEED;
    r->burst_tries = ES_RX_TRIES_BURST;
    r->cache_max = ES_RX_CACHE_MAX;
    /* Sessions are read when a stanza needs them; only those whose option
     * set is gone or expired are taken now, to end them (PROFILE §11). */
    if ((rc = es_tx_begin(ks, 1)) == ESESSION_OK) {
        rc = load_sessions(r, expired, NULL);
        if (rc == ESESSION_OK)
            sweep_expired(r);
        rc = es_tx_end(ks, rc);
    }
    if (rc != ESESSION_OK) {
        esession_receiver_free(r);
        return es_fail(ctx, rc, "cannot load the stored sessions");
    }
    *out = r;
    return ESESSION_OK;
}

static esession_status end_tx(esession_receiver *r, const char *bare_jid, const char *thread)
{
    size_t i = 0, matched = 0;
    esession_status rc = thread != NULL ? sync_session(r, bare_jid, thread)
                                        : load_sessions(r, of_jid, bare_jid);
    if (rc != ESESSION_OK)
        return rc;
    while (i < r->n_sessions) {
        const es_rx_session *s = r->sessions[i];
        int match = bare_jid == NULL || (strcmp(s->bare, bare_jid) == 0 &&
                                         (thread == NULL || strcmp(s->thread, thread) == 0));
        if (match) {
            if ((rc = es_rx_end_session(r, i, 1)) != ESESSION_OK)
                return es_fail(r->ctx, rc, "a session could not be ended");
            matched++;
            continue;
        }
        i++;
    }
    if (bare_jid != NULL && matched == 0)
        return es_fail(r->ctx, ESESSION_ERR_NO_SESSION, "no such session");
    return ESESSION_OK;
}

esession_status esession_receiver_end(esession_receiver *r, const char *bare_jid,
                                      const char *thread)
{
    if (r == NULL || (bare_jid == NULL && thread != NULL))
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(r->ctx);
    esession_status rc = es_tx_begin(r->ks, 1);
    if (rc != ESESSION_OK)
        return rc;
    return es_tx_end(r->ks, end_tx(r, bare_jid, thread));
}

void esession_receiver_free(esession_receiver *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_sessions; i++)
        es_rx_session_free(r->sessions[i]);
    es_rx_dh_sweep(r, 1);
    for (size_t i = 0; i < r->q_len; i++)
        esession_result_free(&r->queue[(r->q_head + i) % r->q_cap]);
    free(r->sessions);
    free(r->queue);
    free(r);
}

void es_rx_set_window(esession_receiver *r, uint64_t window)
{
    if (r != NULL)
        r->window = window;
}

void es_rx_set_tries(esession_receiver *r, uint64_t search, uint64_t feed, uint64_t burst)
{
    if (r == NULL)
        return;
    r->search_tries = search;
    r->feed_tries = feed < burst ? feed : burst;
    r->burst_tries = burst;
}

void es_rx_set_cache_max(esession_receiver *r, size_t n)
{
    if (r != NULL)
        r->cache_max = n > 0 ? n : 1;
}
