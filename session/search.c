/* SPDX-License-Identifier: ISC */
/* The search for a stanza's start counter S (PROFILE §11), within a
 * budget. A stanza that verifies nowhere, damaged or forged, would cost
 * every candidate: S = N, each S that fits a gap below N, N + k for k = 1
 * .. 2^16. With 32 gaps of 2^16 counters that is over two million MAC
 * tries, close to a second. So a search makes at most a given number of
 * tries, taken from the session's budget, and tries the likely places
 * first: where the next stanza starts (N), where a gap's first or last
 * missing stanza starts, then just above N. A held stanza remembers the
 * counters it was tried at, so a later search goes on where it stopped.
 *
 * Each candidate costs one HMAC finish (mac_scan.c): the keys of every
 * epoch are processed once when the epoch is made, and m_content is
 * absorbed once per search and epoch. */
#include "receiver.h"

#include <string.h>

typedef struct search {
    es_rx_session *s;
    const es_rx_stanza *st;
    const uint8_t *mac;
    size_t mac_len;
    uint64_t blocks;
    uint64_t left;        /* tries this search may still make */
    uint64_t prefix_cost; /* absorbing m_content, in tries */
    es_rx_tried *tried;   /* NULL: nothing is remembered */
    int prefixed[ES_RX_EPOCHS_MAX];
    uint64_t *off;
    es_rx_epoch **ep;
} search;

/* ---- tried spans --------------------------------------------------- */

void es_rx_tried_clear(es_rx_tried *t)
{
    if (t != NULL)
        t->n = 0;
}

/* The end of the span holding S, or 0 when none does. */
static uint64_t tried_end(const es_rx_tried *t, uint64_t S)
{
    for (size_t i = 0; i < t->n && t->v[i].lo <= S; i++)
        if (S < t->v[i].hi)
            return t->v[i].hi;
    return 0;
}

/* The start of the first span above S, or UINT64_MAX. */
static uint64_t tried_next(const es_rx_tried *t, uint64_t S)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].lo > S)
            return t->v[i].lo;
    return UINT64_MAX;
}

static void tried_add(es_rx_tried *t, uint64_t lo, uint64_t hi)
{
    es_rx_range v[ES_RX_TRIED_MAX + 1];
    size_t n = 0, i = 0, k = 0;

    if (lo >= hi)
        return;
    while (i < t->n && t->v[i].hi < lo)
        v[n++] = t->v[i++];
    for (; i < t->n && t->v[i].lo <= hi; i++) { /* overlapping or adjacent */
        lo = t->v[i].lo < lo ? t->v[i].lo : lo;
        hi = t->v[i].hi > hi ? t->v[i].hi : hi;
    }
    v[n].lo = lo;
    v[n++].hi = hi;
    while (i < t->n)
        v[n++] = t->v[i++];
    if (n > ES_RX_TRIED_MAX) { /* forget the smallest span */
        for (size_t j = 1; j < n; j++)
            if (v[j].hi - v[j].lo < v[k].hi - v[k].lo)
                k = j;
        memmove(v + k, v + k + 1, (n - k - 1) * sizeof *v);
        n--;
    }
    memcpy(t->v, v, n * sizeof *v);
    t->n = n;
}

/* ---- trying candidates --------------------------------------------- */

/* Try S = from .. to ascending (none of them tried before, all with keys);
 * *next is the first S not tried. */
static int run(search *q, uint64_t from, uint64_t to, uint64_t *next)
{
    es_rx_core *c = &q->s->core;
    uint8_t ctr[ES_AES_BLOCK];
    size_t e = 0;
    uint64_t S = from;
    int rc;

    es_rx_counter(q->s, from, ctr);
    for (;;) {
        while (e + 1 < c->n_epochs && c->epochs[e + 1]->start <= S)
            e++;
        if (!q->prefixed[e]) {
            if (q->left < q->prefix_cost) {
                rc = ES_RX_STOPPED;
                break;
            }
            q->left -= q->prefix_cost;
            rc = es_rx_epoch_searching(c->epochs[e]);
            if (rc == ESESSION_OK)
                rc = es_rx_scan_prefix(c->epochs[e]->scan, q->st->m_content,
                                       q->st->m_content_len);
            if (rc != ESESSION_OK)
                break;
            q->prefixed[e] = 1;
        }
        if (q->left == 0) {
            rc = ES_RX_STOPPED;
            break;
        }
        q->left--;
        rc = es_rx_scan_try(c->epochs[e]->scan, ctr, q->mac, q->mac_len);
        if (rc > 0) {
            *q->off = S;
            *q->ep = c->epochs[e];
            rc = ES_RX_FOUND;
        }
        if (rc != 0 || S++ == to)
            break;
        es_ctr_add(ctr, 1);
    }
    *next = S;
    return rc;
}

/* Try every S = from .. to not tried before that has keys (to <
 * UINT64_MAX), and remember them. */
static int sweep(search *q, uint64_t from, uint64_t to)
{
    const es_rx_core *c = &q->s->core;
    uint64_t end, stop, next;
    int rc;

    if (c->n_epochs == 0)
        return 0;
    if (from < c->epochs[0]->start)
        from = c->epochs[0]->start; /* keys given up with their epoch */
    while (from <= to) {
        if (q->tried != NULL && (end = tried_end(q->tried, from)) != 0) {
            from = end;
            continue;
        }
        stop = q->tried != NULL ? tried_next(q->tried, from) : UINT64_MAX;
        stop = stop <= to ? stop - 1 : to;
        rc = run(q, from, stop, &next);
        if (q->tried != NULL)
            tried_add(q->tried, from, next);
        if (rc != 0)
            return rc;
        from = next;
    }
    return 0;
}

/* Where a stanza most likely starts: N (the next one Bob sent), and the
 * first and the last S that fit each gap (the first or the last stanza
 * lost in it). */
static int exact(search *q, uint64_t n)
{
    const es_rx_core *c = &q->s->core;
    int rc = c->terminated ? 0 : sweep(q, n, n);

    for (size_t i = 0; rc == 0 && i + 1 < c->n_ranges; i++) {
        uint64_t a = c->ranges[i].hi, b = c->ranges[i + 1].lo;
        if (b - a < q->blocks)
            continue;
        rc = sweep(q, a, a);
        if (rc == 0 && b - q->blocks != a)
            rc = sweep(q, b - q->blocks, b - q->blocks);
    }
    return rc;
}

/* N + k for k = 1 .. window, then every S that fits a gap. */
static int further(search *q, uint64_t n, uint64_t window)
{
    const es_rx_core *c = &q->s->core;
    int rc = 0;

    if (!c->terminated && n < UINT64_MAX - q->blocks) {
        uint64_t top = UINT64_MAX - q->blocks - n < window ? UINT64_MAX - q->blocks : n + window;
        rc = sweep(q, n + 1, top);
    }
    for (size_t i = 0; rc == 0 && i + 1 < c->n_ranges; i++) {
        uint64_t a = c->ranges[i].hi, b = c->ranges[i + 1].lo;
        if (b - a >= q->blocks)
            rc = sweep(q, a, b - q->blocks);
        /* The rest of the gap cannot hold this stanza and the range after
         * it is used: one span, so that the spans of a finished search
         * join up. */
        if (rc == 0 && q->tried != NULL)
            tried_add(q->tried, a, c->ranges[i + 1].hi);
    }
    return rc;
}

int es_rx_search(es_rx_session *s, const es_rx_stanza *st, const es_rx_reach *reach,
                 es_rx_tried *tried, uint64_t *off, es_rx_epoch **epoch)
{
    es_rx_core *c = &s->core;
    uint64_t n = es_rx_next(c);
    uint64_t limit = reach->limit < s->tries_left ? reach->limit : s->tries_left;
    search q;
    int rc = 0;

    memset(&q, 0, sizeof q);
    q.s = s;
    q.st = st;
    q.mac = es_c_mac(st->copen, &q.mac_len);
    q.blocks = es_c_blocks(st->copen);
    q.left = limit;
    q.prefix_cost = 1 + st->m_content_len / 128;
    q.tried = tried;
    q.off = off;
    q.ep = epoch;
    if (tried != NULL && tried->gen != c->epoch_gen) {
        es_rx_tried_clear(tried);
        tried->gen = c->epoch_gen;
    }
    /* A MAC of the wrong size or a range past 2^64 verifies nowhere. */
    if (q.mac != NULL && q.mac_len == s->mac_len && q.blocks > 0 && q.blocks <= UINT64_MAX - n) {
        rc = exact(&q, n);
        if (rc == 0 && !reach->exact_only)
            rc = further(&q, n, reach->window);
    }
    /* Only stanzas that open nowhere spend the budget: an attacker without
     * the keys cannot make a search succeed, and Bob's own stanzas, however
     * far they had to be looked for, leave it for the next ones. */
    if (rc != ES_RX_FOUND)
        s->tries_left -= limit - q.left;
    s->tries += limit - q.left;
    for (size_t i = 0; i < c->n_epochs; i++)
        if (q.prefixed[i])
            (void)es_rx_scan_prefix(c->epochs[i]->scan, NULL, 0); /* drop m_content */
    return rc;
}
