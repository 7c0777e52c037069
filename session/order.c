/* SPDX-License-Identifier: ISC */
/* Order, loss and damage (PROFILE §11): the counter ranges a session has
 * used, the gaps below N, the key epochs and the a_macs already accepted
 * (the search for a stanza's start counter S is in search.c). */
#include "receiver.h"

#include <stdlib.h>
#include <string.h>

esession_status es_rx_session_new(const uint8_t *n_a, size_t n_a_len, const char *bare,
                                  const char *thread, es_suite suite, int group,
                                  es_rx_session **out)
{
    es_rx_session *s;
    size_t mac_len = es_hash_size(suite.hash);

    if (n_a == NULL || n_a_len == 0 || n_a_len > ES_NONCE_MAX || bare == NULL ||
        thread == NULL || out == NULL || mac_len == 0)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if ((s = calloc(1, sizeof *s)) == NULL)
        return ESESSION_ERR_NO_MEMORY;
    memcpy(s->n_a, n_a, n_a_len);
    s->n_a_len = n_a_len;
    s->suite = suite;
    s->group = group;
    s->mac_len = mac_len;
    s->tries_left = ES_RX_TRIES_BURST;
    s->bare = strdup(bare);
    s->thread = strdup(thread);
    if (s->bare == NULL || s->thread == NULL) {
        es_rx_session_free(s);
        return ESESSION_ERR_NO_MEMORY;
    }
    *out = s;
    return ESESSION_OK;
}

void es_rx_held_free(es_rx_held *h)
{
    if (h == NULL)
        return;
    es_rx_stanza_free(h->st);
    free(h->text);
    free(h);
}

void es_rx_session_free(es_rx_session *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->core.n_epochs; i++)
        es_rx_epoch_free(s->core.epochs[i]);
    for (size_t i = 0; i < s->core.n_held; i++)
        es_rx_held_free(s->core.held[i]);
    free(s->macs);
    free(s->bare);
    free(s->thread);
    sodium_memzero(s, sizeof *s);
    free(s);
}

esession_status es_rx_epoch_new(esession_ctx *ctx, const es_dir_keys *keys, uint64_t start,
                                es_rx_epoch **out)
{
    es_rx_epoch *e;

    if (keys == NULL || out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "no keys");
    /* What keying them would check, so that a bad epoch fails where it
     * is made, not when a stanza first needs it. */
    if (keys->kc_len != es_cipher_key_size(keys->suite.cipher) ||
        keys->km_len != es_hash_size(keys->suite.hash) || keys->km_len == 0)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "direction keys of the wrong size");
    if ((e = calloc(1, sizeof *e)) == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    e->start = start;
    e->ctx = ctx;
    if ((e->keys = es_secret_alloc_in(ctx, sizeof *e->keys)) == NULL) {
        free(e);
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of secure memory");
    }
    memcpy(e->keys, keys, sizeof *e->keys);
    *out = e;
    return ESESSION_OK;
}

esession_status es_rx_epoch_keyed(es_rx_epoch *e)
{
    esession_ctx *ctx = (esession_ctx *)(uintptr_t)e->ctx; /* for es_fail's detail */
    if (e->chan != NULL)
        return ESESSION_OK;
    return es_chan_new(ctx, e->keys, &e->chan);
}

esession_status es_rx_epoch_searching(es_rx_epoch *e)
{
    esession_ctx *ctx = (esession_ctx *)(uintptr_t)e->ctx;
    esession_status rc;
    if (e->scan != NULL)
        return ESESSION_OK;
    if ((rc = es_rx_scan_new(ctx, e->keys, &e->scan)) != ESESSION_OK)
        return es_fail(ctx, rc, "cannot key the MAC search");
    return ESESSION_OK;
}

/* Let the keyed states go; the keys stay. */
static void unkey(es_rx_epoch *e)
{
    es_rx_scan_free(e->scan);
    es_chan_free(e->chan);
    e->scan = NULL;
    e->chan = NULL;
}

void es_rx_epoch_free(es_rx_epoch *e)
{
    if (e == NULL)
        return;
    unkey(e);
    es_dir_keys_free(e->keys);
    free(e);
}

uint64_t es_rx_next(const es_rx_core *c)
{
    return c->n_ranges > 0 ? c->ranges[c->n_ranges - 1].hi : 0;
}

void es_rx_counter(const es_rx_session *s, uint64_t off, uint8_t out[ES_AES_BLOCK])
{
    memcpy(out, s->c_b, ES_AES_BLOCK);
    es_ctr_add(out, off);
}

/* ---- used ranges --------------------------------------------------- */

void es_rx_range_add(es_rx_core *c, uint64_t lo, uint64_t hi)
{
    es_rx_range *r = c->ranges;
    size_t n = c->n_ranges, i = 0, j;

    if (lo >= hi)
        return;
    /* Ranges before [lo, hi) that do not touch it stay; so do those after. */
    while (i < n && r[i].hi < lo)
        i++;
    j = i;
    while (j < n && r[j].lo <= hi) {
        lo = r[j].lo < lo ? r[j].lo : lo;
        hi = r[j].hi > hi ? r[j].hi : hi;
        j++;
    }
    if (j == i) { /* no overlap: insert */
        if (n == ES_RX_RANGES_MAX) {
            /* Full: give the lowest gap up rather than lose this range. */
            if (i == 0) {
                r[0].lo = lo; /* below everything: join the first range */
                return;
            }
            r[1].lo = r[0].lo;
            memmove(r, r + 1, (n - 1) * sizeof *r);
            n--;
            i--;
        }
        memmove(r + i + 1, r + i, (n - i) * sizeof *r);
        n++;
    } else {
        memmove(r + i + 1, r + j, (n - j) * sizeof *r);
        n -= j - i - 1;
    }
    r[i].lo = lo;
    r[i].hi = hi;
    c->n_ranges = n;
}

/* ---- epochs -------------------------------------------------------- */

void es_rx_epoch_add(es_rx_core *c, es_rx_epoch *e, es_rx_epoch **dropped)
{
    size_t i = c->n_epochs;

    *dropped = NULL;
    while (i > 0 && c->epochs[i - 1]->start > e->start)
        i--;
    if (c->n_epochs == ES_RX_EPOCHS_MAX) {
        if (i == 0) {
            *dropped = e; /* older than every epoch kept */
            return;
        }
        *dropped = c->epochs[0];
        memmove(c->epochs, c->epochs + 1, (c->n_epochs - 1) * sizeof *c->epochs);
        c->n_epochs--;
        i--;
    }
    memmove(c->epochs + i + 1, c->epochs + i, (c->n_epochs - i) * sizeof *c->epochs);
    c->epochs[i] = e;
    c->n_epochs++;
    c->epoch_gen++;
    for (size_t k = 0; k + 1 < c->n_epochs; k++)
        unkey(c->epochs[k]);
}

/* ---- accepted a_macs ----------------------------------------------- */

_Static_assert(ES_RX_MAC_PRINT == sizeof(uint64_t), "a print is compared as one word");

/* The ring holds n_macs prints from mac_head on; it wraps only once it has
 * grown to ES_RX_MACS_MAX (until then mac_head is 0). */
int es_rx_mac_seen(const es_rx_session *s, const uint8_t *mac, size_t len)
{
    if (mac == NULL || len != s->mac_len || len < ES_RX_MAC_PRINT)
        return 0;
    /* Order does not matter for membership: the whole ring is scanned. */
    uint64_t want, have;
    memcpy(&want, mac, sizeof want);
    for (size_t k = 0; k < s->core.n_macs; k++) {
        memcpy(&have, s->macs[k], sizeof have);
        if (have == want)
            return 1;
    }
    return 0;
}

esession_status es_rx_mac_reserve(es_rx_session *s)
{
    if (s->core.n_macs < s->macs_cap || s->macs_cap == ES_RX_MACS_MAX)
        return ESESSION_OK;
    size_t cap = s->macs_cap ? 2 * s->macs_cap : 16;
    if (cap > ES_RX_MACS_MAX)
        cap = ES_RX_MACS_MAX;
    uint8_t(*v)[ES_RX_MAC_PRINT] = realloc(s->macs, cap * sizeof *v);
    if (v == NULL)
        return ESESSION_ERR_NO_MEMORY;
    s->macs = v;
    s->macs_cap = cap;
    return ESESSION_OK;
}

void es_rx_mac_add(es_rx_session *s, const uint8_t *mac, size_t len, uint8_t *saved)
{
    es_rx_core *c = &s->core;

    if (len != s->mac_len || len < ES_RX_MAC_PRINT || s->macs_cap == 0)
        return;
    size_t slot = (c->mac_head + c->n_macs) % s->macs_cap;
    memcpy(saved, s->macs[slot], ES_RX_MAC_PRINT);
    memcpy(s->macs[slot], mac, ES_RX_MAC_PRINT);
    if (c->n_macs < s->macs_cap)
        c->n_macs++;
    else
        c->mac_head = (c->mac_head + 1) % s->macs_cap; /* forget the oldest */
    if (c->macs_journal < ES_RX_MACS_MAX)
        c->macs_journal++; /* not in the ring record yet */
}

void es_rx_mac_undo(es_rx_session *s, const es_rx_core *before, const uint8_t *saved)
{
    if (s->macs_cap == 0)
        return;
    size_t slot = (before->mac_head + before->n_macs) % s->macs_cap;
    memcpy(s->macs[slot], saved, ES_RX_MAC_PRINT);
}

es_rx_held *es_rx_held_take(es_rx_core *c, size_t i)
{
    es_rx_held *h;

    if (i >= c->n_held)
        return NULL;
    h = c->held[i];
    memmove(c->held + i, c->held + i + 1, (c->n_held - i - 1) * sizeof *c->held);
    c->n_held--;
    c->held_bytes -= h->len;
    return h;
}
