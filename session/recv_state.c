/* SPDX-License-Identifier: ISC */
/* A receiving session's state as one keystore record (encrypted with the
 * keystore), so that a receiver created again on the same keystore goes
 * on where the last one stopped. Format version 4, big-endian:
 *
 *   "ESRX" u8 version=4
 *   u8 len N_A | u16 len bare JID | u16 len thread
 *   init_hash[32] key_fp[32] u8 key_by_host
 *   i64 opened C_B[16] u8 hash u8 cipher u16 group u8 flags
 *   u8 n_ranges  × (u64 lo, u64 hi)
 *   u8 n_epochs  × (u64 start, u8 len KC, KC, u8 len KM, KM)
 *   u8 print_len=8 u16 n × first 8 octets of an a_mac (oldest first; the
 *                          newest, at most ES_RX_MACS_JOURNAL)
 *   u64 ring_version (0: no ring record)
 *   u8 n_held    × (u64 tag, u32 len, stanza text)
 *
 * The older prints are in the ring record (ES_RX_RING_PREFIX and the
 * same name), at the version the session record names:
 *
 *   "ESRM" u8 version=1 u16 n × print (oldest first, at most ES_RX_MACS_MAX)
 *
 * so that a stanza rewrites a few hundred octets, not the whole ring
 * (8 KiB when full). The ring record is rewritten with every print the
 * session remembers when more than ES_RX_MACS_JOURNAL have gathered
 * outside it; both records are written in one transaction.
 *
 * Version 3 kept every print in the session record, without ring_version;
 * versions 1 (no key_fp, key_by_host) and 2 kept whole a_macs (u8 mac_len
 * u16 n × a_mac), read as their first octets. All three are still read.
 *
 * Decoding is strict and bounded; anything unexpected is
 * ESESSION_ERR_CORRUPT (the record is authenticated by the keystore, so
 * that means a bug, not an attack). */
#include "../core/bytes.h"
#include "receiver.h"

#include "../crypto/dh.h"

#include <stdlib.h>
#include <string.h>

#define MAGIC "ESRX"
#define VERSION 4
#define VERSION_WHOLE_RING 3 /* every print in the session record: read, never written */
#define VERSION_WHOLE_MACS 2 /* a_macs kept whole: read, never written */
#define VERSION_NO_KEY 1     /* before the key was kept: read, never written */
#define RING_MAGIC "ESRM"
#define RING_VERSION 1
#define FLAG_TERMINATED 1u
#define HEX_NA_MAX (2 * ES_NONCE_MAX)

/* ---- name ---------------------------------------------------------- */

esession_status es_rx_name_for(const char *bare, const char *thread,
                               char name[ES_BLOB_NAME_MAX + 1])
{
    size_t bl = strlen(bare), tl = strlen(thread);
    size_t fixed = strlen(ES_RX_BLOB_PREFIX) + 1;

    if (fixed + bl + tl <= ES_BLOB_NAME_MAX) {
        const char *const parts[] = {ES_RX_BLOB_PREFIX, bare, "/", thread};
        (void)es_join(name, ES_BLOB_NAME_MAX + 1, parts, ES_ARRAY_LEN(parts));
        return ESESSION_OK;
    }
    /* Too long to spell out: a bare JID never holds '/' nor '#' first, so
     * "#…" names cannot meet the spelt-out ones. */
    const es_span parts[] = {{bare, bl + 1}, {thread, tl}}; /* the JID with its NUL */
    uint8_t d[32];
    char dh[2 * sizeof d + 1];
    esession_status rc = es_hash_parts(ES_HASH_SHA256, parts, ES_ARRAY_LEN(parts), d);
    if (rc != ESESSION_OK)
        return rc;
    es_hex(dh, d, sizeof d);
    snprintf(name, ES_BLOB_NAME_MAX + 1, "%s#%s", ES_RX_BLOB_PREFIX, dh);
    return ESESSION_OK;
}

esession_status es_rx_state_name(es_rx_session *s)
{
    return es_rx_name_for(s->bare, s->thread, s->name);
}

esession_status es_rx_ring_name(const char *name, char out[ES_BLOB_NAME_MAX + 1])
{
    size_t pl = strlen(ES_RX_BLOB_PREFIX);
    if (strncmp(name, ES_RX_BLOB_PREFIX, pl) != 0)
        return ESESSION_ERR_INTERNAL;
    /* The ring prefix is the shorter: the name always fits. */
    const char *const parts[] = {ES_RX_RING_PREFIX, name + pl};
    (void)es_join(out, ES_BLOB_NAME_MAX + 1, parts, ES_ARRAY_LEN(parts));
    return ESESSION_OK;
}

/* ---- encoding ------------------------------------------------------ */

static size_t encoded_size(const es_rx_session *s, size_t journal)
{
    const es_rx_core *c = &s->core;
    size_t n = 4 + 1 + 1 + s->n_a_len + 2 + strlen(s->bare) + 2 + strlen(s->thread) +
               ES_REPLAY_HASH + ESESSION_FINGERPRINT_BYTES + 1 + 8 + ES_AES_BLOCK + 1 + 1 + 2 +
               1;
    n += 1 + c->n_ranges * 16;
    n += 1;
    for (size_t i = 0; i < c->n_epochs; i++)
        n += 8 + 1 + c->epochs[i]->keys->kc_len + 1 + c->epochs[i]->keys->km_len;
    n += 1 + 2 + journal * ES_RX_MAC_PRINT + 8;
    n += 1;
    for (size_t i = 0; i < c->n_held; i++)
        n += 8 + 4 + c->held[i]->len;
    return n;
}

_Static_assert(ES_RX_MACS_JOURNAL < ES_RX_MACS_MAX, "the journal is part of the ring");

/* count prints from the from-th oldest on, in order. */
static void put_prints(es_wr *w, const es_rx_session *s, size_t from, size_t count)
{
    if (count == 0)
        return;
    size_t at = (s->core.mac_head + from) % s->macs_cap;
    size_t first = s->macs_cap - at < count ? s->macs_cap - at : count;
    es_wr_put(w, s->macs[at], first * ES_RX_MAC_PRINT);
    es_wr_put(w, s->macs[0], (count - first) * ES_RX_MAC_PRINT);
}

/* Every print the session remembers into its ring record. */
static esession_status ring_save(esession_keystore *ks, es_rx_session *s)
{
    const es_rx_core *c = &s->core;
    char name[ES_BLOB_NAME_MAX + 1];
    esession_buf b = {NULL, 0, 0};
    esession_status rc = es_rx_ring_name(s->name, name);
    if (rc != ESESSION_OK)
        return es_fail(es_ks_ctx(ks), rc, "session record name without its prefix");
    if ((rc = es_buf_alloc_in(es_ks_ctx(ks), &b, 4 + 1 + 2 + c->n_macs * ES_RX_MAC_PRINT, 0)) !=
        ESESSION_OK)
        return es_fail(es_ks_ctx(ks), rc, "out of memory");
    es_wr w = {(uint8_t *)b.data, 0, b.len, 0};
    es_wr_put(&w, RING_MAGIC, 4);
    es_wr_be(&w, RING_VERSION, 1);
    es_wr_be(&w, c->n_macs, 2);
    put_prints(&w, s, 0, c->n_macs);
    uint64_t version = 0;
    if (w.err || w.pos != b.len)
        rc = es_fail(es_ks_ctx(ks), ESESSION_ERR_INTERNAL, "ring record size mismatch");
    else
        rc = es_ks_blob_put_v(ks, name, (const uint8_t *)b.data, b.len, &version);
    esession_buf_free(&b);
    if (rc == ESESSION_OK) {
        s->core.ring_version = version;
        s->core.macs_journal = 0;
    }
    return rc;
}

esession_status es_rx_state_save(esession_keystore *ks, es_rx_session *s)
{
    const es_rx_core *c = &s->core;
    esession_buf b = {NULL, 0, 0};
    esession_status rc;
    es_wr w;

    if (ks == NULL || s == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    /* Both records in one transaction (a caller's, or this one). */
    if ((rc = es_tx_begin(ks, 1)) != ESESSION_OK)
        return rc;
    size_t journal = c->macs_journal < c->n_macs ? c->macs_journal : c->n_macs;
    if (journal > ES_RX_MACS_JOURNAL) {
        if ((rc = ring_save(ks, s)) != ESESSION_OK)
            return es_tx_end(ks, rc);
        journal = 0;
    }
    if ((rc = es_buf_alloc_in(es_ks_ctx(ks), &b, encoded_size(s, journal), 1)) != ESESSION_OK)
        return es_tx_end(ks, es_fail(es_ks_ctx(ks), rc, "out of secure memory"));
    w = (es_wr){(uint8_t *)b.data, 0, b.len, 0};
    es_wr_put(&w, MAGIC, 4);
    es_wr_be(&w, VERSION, 1);
    es_wr_be(&w, s->n_a_len, 1);
    es_wr_put(&w, s->n_a, s->n_a_len);
    es_wr_be(&w, strlen(s->bare), 2);
    es_wr_put(&w, s->bare, strlen(s->bare));
    es_wr_be(&w, strlen(s->thread), 2);
    es_wr_put(&w, s->thread, strlen(s->thread));
    es_wr_put(&w, s->init_hash, ES_REPLAY_HASH);
    es_wr_put(&w, s->key_fp, ESESSION_FINGERPRINT_BYTES);
    es_wr_be(&w, s->key_by_host ? 1u : 0u, 1);
    es_wr_be(&w, (uint64_t)s->opened, 8);
    es_wr_put(&w, s->c_b, ES_AES_BLOCK);
    es_wr_be(&w, (uint64_t)s->suite.hash, 1);
    es_wr_be(&w, (uint64_t)s->suite.cipher, 1);
    es_wr_be(&w, (uint64_t)s->group, 2);
    es_wr_be(&w, c->terminated ? FLAG_TERMINATED : 0, 1);
    es_wr_be(&w, c->n_ranges, 1);
    for (size_t i = 0; i < c->n_ranges; i++) {
        es_wr_be(&w, c->ranges[i].lo, 8);
        es_wr_be(&w, c->ranges[i].hi, 8);
    }
    es_wr_be(&w, c->n_epochs, 1);
    for (size_t i = 0; i < c->n_epochs; i++) {
        const es_dir_keys *k = c->epochs[i]->keys;
        es_wr_be(&w, c->epochs[i]->start, 8);
        es_wr_be(&w, k->kc_len, 1);
        es_wr_put(&w, k->kc, k->kc_len);
        es_wr_be(&w, k->km_len, 1);
        es_wr_put(&w, k->km, k->km_len);
    }
    es_wr_be(&w, ES_RX_MAC_PRINT, 1);
    es_wr_be(&w, journal, 2);
    put_prints(&w, s, c->n_macs - journal, journal);
    es_wr_be(&w, c->ring_version, 8);
    es_wr_be(&w, c->n_held, 1);
    for (size_t i = 0; i < c->n_held; i++) {
        es_wr_be(&w, c->held[i]->tag, 8);
        es_wr_be(&w, c->held[i]->len, 4);
        es_wr_put(&w, c->held[i]->text, c->held[i]->len);
    }
    if (w.err || w.pos != b.len)
        rc = es_fail(es_ks_ctx(ks), ESESSION_ERR_INTERNAL, "session record size mismatch");
    else
        rc = es_ks_blob_put_v(ks, s->name, (const uint8_t *)b.data, b.len, &s->version);
    esession_buf_free(&b);
    if ((rc = es_tx_end(ks, rc)) == ESESSION_OK)
        s->rollbacks = es_tx_rollbacks(ks);
    return rc;
}

esession_status es_rx_state_erase(esession_keystore *ks, const es_rx_session *s)
{
    char ring[ES_BLOB_NAME_MAX + 1];
    if (ks == NULL || s == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    esession_status rc = es_rx_ring_name(s->name, ring);
    if (rc != ESESSION_OK)
        return es_fail(es_ks_ctx(ks), rc, "session record name without its prefix");
    if ((rc = es_tx_begin(ks, 1)) != ESESSION_OK)
        return rc;
    rc = es_ks_blob_delete(ks, s->name);
    if (rc == ESESSION_OK)
        rc = es_ks_blob_delete(ks, ring); /* absent is fine */
    return es_tx_end(ks, rc);
}

/* ---- decoding ------------------------------------------------------ */

/* A length-prefixed text of 1..max octets without NUL, as a string. */
static char *get_text(es_rd *r, size_t width, size_t max)
{
    size_t n = (size_t)es_rd_be(r, width);
    const uint8_t *b;
    char *t;

    if (r->bad || n == 0 || n > max || (b = es_rd_take(r, n)) == NULL || memchr(b, '\0', n) != NULL) {
        r->bad = 1;
        return NULL;
    }
    if ((t = malloc(n + 1)) == NULL) {
        r->bad = 1;
        return NULL;
    }
    memcpy(t, b, n);
    t[n] = '\0';
    return t;
}

#define CORRUPT(ctx, what) es_fail((ctx), ESESSION_ERR_CORRUPT, "session record: %s", (what))

static esession_status read_ranges(esession_ctx *ctx, es_rd *r, es_rx_core *c)
{
    size_t n = (size_t)es_rd_be(r, 1);
    if (r->bad || n == 0 || n > ES_RX_RANGES_MAX)
        return CORRUPT(ctx, "range count");
    for (size_t i = 0; i < n; i++) {
        c->ranges[i].lo = es_rd_be(r, 8);
        c->ranges[i].hi = es_rd_be(r, 8);
        if (r->bad || c->ranges[i].lo >= c->ranges[i].hi ||
            (i > 0 && c->ranges[i - 1].hi >= c->ranges[i].lo))
            return CORRUPT(ctx, "ranges");
    }
    c->n_ranges = n;
    return ESESSION_OK;
}

static esession_status read_epochs(esession_ctx *ctx, es_rd *r, es_rx_session *s)
{
    es_rx_core *c = &s->core;
    size_t n = (size_t)es_rd_be(r, 1);
    es_dir_keys *k;
    esession_status rc = ESESSION_OK;

    if (r->bad || n == 0 || n > ES_RX_EPOCHS_MAX)
        return CORRUPT(ctx, "epoch count");
    if ((k = es_secret_alloc_in(ctx, sizeof *k)) == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of secure memory");
    for (size_t i = 0; rc == ESESSION_OK && i < n; i++) {
        memset(k, 0, sizeof *k);
        k->suite = s->suite;
        uint64_t start = es_rd_be(r, 8);
        k->kc_len = (size_t)es_rd_be(r, 1);
        const uint8_t *kc =
            k->kc_len == es_cipher_key_size(s->suite.cipher) ? es_rd_take(r, k->kc_len) : NULL;
        k->km_len = (size_t)es_rd_be(r, 1);
        const uint8_t *km = k->km_len == s->mac_len ? es_rd_take(r, k->km_len) : NULL;
        if (r->bad || kc == NULL || km == NULL || (i > 0 && c->epochs[i - 1]->start >= start)) {
            rc = CORRUPT(ctx, "epoch");
            break;
        }
        memcpy(k->kc, kc, k->kc_len);
        memcpy(k->km, km, k->km_len);
        rc = es_rx_epoch_new(ctx, k, start, &c->epochs[i]);
        if (rc == ESESSION_OK)
            c->n_epochs++;
    }
    es_dir_keys_free(k);
    return rc;
}

/* The remembered a_macs: prints of ES_RX_MAC_PRINT octets, or (versions 1
 * and 2) whole a_macs, of which the newest ES_RX_MACS_MAX are kept. In
 * version 4, only the newest (ES_RX_MACS_JOURNAL at most) and the ring
 * record's version. */
static esession_status read_macs(esession_ctx *ctx, es_rd *r, es_rx_session *s,
                                 uint64_t version)
{
    int whole = version == VERSION_WHOLE_MACS || version == VERSION_NO_KEY;
    size_t len = (size_t)es_rd_be(r, 1), n = (size_t)es_rd_be(r, 2);
    size_t max = whole ? 4096u /* version 2 kept 4,096 */
                       : version == VERSION ? ES_RX_MACS_JOURNAL : ES_RX_MACS_MAX;
    const uint8_t *b;

    if (r->bad || len != (whole ? s->mac_len : ES_RX_MAC_PRINT) || n > max ||
        (b = es_rd_take(r, n * len)) == NULL)
        return CORRUPT(ctx, "a_macs");
    size_t skip = n > ES_RX_MACS_MAX ? n - ES_RX_MACS_MAX : 0;
    for (size_t k = skip; k < n; k++) {
        if (es_rx_mac_reserve(s) != ESESSION_OK)
            return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
        memcpy(s->macs[s->core.n_macs], b + k * len, ES_RX_MAC_PRINT);
        s->core.n_macs++;
    }
    s->core.mac_head = 0;
    /* Not in a ring record: all of them (before version 4), or these. */
    s->core.macs_journal = s->core.n_macs;
    if (version == VERSION) {
        s->core.ring_version = es_rd_be(r, 8);
        if (r->bad)
            return CORRUPT(ctx, "ring version");
    }
    return ESESSION_OK;
}

static esession_status read_held(esession_ctx *ctx, es_rd *r, es_rx_session *s)
{
    es_rx_core *c = &s->core;
    size_t n = (size_t)es_rd_be(r, 1);

    if (r->bad || n > ES_RX_HELD_MAX)
        return CORRUPT(ctx, "held count");
    for (size_t i = 0; i < n; i++) {
        uint64_t tag = es_rd_be(r, 8);
        size_t len = (size_t)es_rd_be(r, 4);
        const uint8_t *b;
        es_rx_held *h;

        if (r->bad || len == 0 || len > ES_XML_MAX_BYTES ||
            len > ES_RX_HELD_BYTES - c->held_bytes || (b = es_rd_take(r, len)) == NULL)
            return CORRUPT(ctx, "held stanza");
        if ((h = calloc(1, sizeof *h)) == NULL || (h->text = malloc(len + 1)) == NULL) {
            free(h);
            return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
        }
        memcpy(h->text, b, len);
        h->text[len] = '\0';
        h->len = len;
        h->tag = tag;
        h->pending = 1; /* how far its search went is not stored: it goes on */
        c->held[c->n_held++] = h;
        c->held_bytes += len;
        esession_status rc = es_rx_stanza_read(ctx, h->text, len, &h->st);
        if (rc == ESESSION_ERR_NO_MEMORY)
            return rc;
        if (rc != ESESSION_OK || h->st->valid != ESESSION_OK || h->st->plain ||
            h->st->init_x != NULL ||
            strcmp(h->st->bare, s->bare) != 0 || strcmp(h->st->thread, s->thread) != 0)
            return CORRUPT(ctx, "held stanza text");
    }
    return ESESSION_OK;
}

int es_rx_state_peek(const uint8_t *data, size_t len, es_rx_peek *out)
{
    es_rd r = {data, len, 0, 0};
    const uint8_t *magic = es_rd_take(&r, 4);
    uint64_t version = es_rd_be(&r, 1);
    if (magic == NULL || memcmp(magic, MAGIC, 4) != 0 ||
        (version != VERSION && version != VERSION_WHOLE_RING && version != VERSION_WHOLE_MACS &&
         version != VERSION_NO_KEY))
        return 0;
    out->n_a_len = (size_t)es_rd_be(&r, 1);
    out->n_a = es_rd_take(&r, out->n_a_len);
    out->bare_len = (size_t)es_rd_be(&r, 2);
    out->bare = (const char *)es_rd_take(&r, out->bare_len);
    return !r.bad && out->n_a != NULL && out->bare != NULL;
}

esession_status es_rx_state_load(esession_ctx *ctx, const char *name, const uint8_t *data,
                                 size_t len, es_rx_session **out)
{
    es_rd r = {data, len, 0, 0};
    const uint8_t *magic, *n_a, *init_hash, *c_b, *key_fp = NULL;
    uint64_t version, by_host = 0;
    size_t n_a_len;
    char *bare = NULL, *thread = NULL;
    es_rx_session *s = NULL;
    esession_status rc;
    es_suite suite;
    int group;

    if (name == NULL || (data == NULL && len > 0) || out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "session record: bad arguments");
    magic = es_rd_take(&r, 4);
    version = es_rd_be(&r, 1);
    if (magic == NULL || memcmp(magic, MAGIC, 4) != 0 ||
        (version != VERSION && version != VERSION_WHOLE_RING && version != VERSION_WHOLE_MACS &&
         version != VERSION_NO_KEY))
        return CORRUPT(ctx, "not a session record of version 1 to 4");
    n_a_len = (size_t)es_rd_be(&r, 1);
    n_a = n_a_len >= 1 && n_a_len <= ES_NONCE_MAX ? es_rd_take(&r, n_a_len) : NULL;
    bare = get_text(&r, 2, ES_RX_JID_MAX);
    thread = get_text(&r, 2, ES_RX_THREAD_MAX);
    init_hash = es_rd_take(&r, ES_REPLAY_HASH);
    if (version != VERSION_NO_KEY) {
        key_fp = es_rd_take(&r, ESESSION_FINGERPRINT_BYTES);
        by_host = es_rd_be(&r, 1);
    }
    int64_t opened = (int64_t)es_rd_be(&r, 8);
    c_b = es_rd_take(&r, ES_AES_BLOCK);
    suite.hash = (es_hash_alg)es_rd_be(&r, 1);
    suite.cipher = (es_cipher_alg)es_rd_be(&r, 1);
    group = (int)es_rd_be(&r, 2);
    uint64_t flags = es_rd_be(&r, 1);
    if (r.bad || n_a == NULL || bare == NULL || thread == NULL || strchr(bare, '/') != NULL ||
        es_hash_size(suite.hash) == 0 || es_cipher_key_size(suite.cipher) == 0 ||
        !es_modp_supported(group) || flags > FLAG_TERMINATED || by_host > 1 ||
        (version != VERSION_NO_KEY && key_fp == NULL)) {
        rc = CORRUPT(ctx, "header");
        goto out;
    }
    if ((rc = es_rx_session_new(n_a, n_a_len, bare, thread, suite, group, &s)) != ESESSION_OK) {
        rc = es_fail(ctx, rc, "out of memory");
        goto out;
    }
    memcpy(s->init_hash, init_hash, ES_REPLAY_HASH);
    if (key_fp != NULL) {
        memcpy(s->key_fp, key_fp, ESESSION_FINGERPRINT_BYTES);
        s->key_by_host = (int)by_host;
        s->key_known = 1;
    }
    memcpy(s->c_b, c_b, ES_AES_BLOCK);
    s->opened = opened;
    s->core.terminated = flags & FLAG_TERMINATED ? 1 : 0;
    if ((rc = read_ranges(ctx, &r, &s->core)) == ESESSION_OK &&
        (rc = read_epochs(ctx, &r, s)) == ESESSION_OK &&
        (rc = read_macs(ctx, &r, s, version)) == ESESSION_OK)
        rc = read_held(ctx, &r, s);
    if (rc == ESESSION_OK && r.pos != r.len)
        rc = CORRUPT(ctx, "trailing octets");
    if (rc == ESESSION_OK && (rc = es_rx_state_name(s)) == ESESSION_OK &&
        strcmp(s->name, name) != 0)
        rc = CORRUPT(ctx, "record name does not match its session");
out:
    free(bare);
    free(thread);
    if (rc != ESESSION_OK) {
        es_rx_session_free(s);
        return rc;
    }
    *out = s;
    return ESESSION_OK;
}

esession_status es_rx_state_attach_ring(esession_keystore *ks, es_rx_session *s)
{
    es_rx_core *c = &s->core;
    char name[ES_BLOB_NAME_MAX + 1];
    esession_buf b = {NULL, 0, 0};
    uint64_t version = 0;
    if (c->ring_version == 0)
        return ESESSION_OK;
    esession_status rc = es_rx_ring_name(s->name, name);
    if (rc != ESESSION_OK)
        return es_fail(es_ks_ctx(ks), rc, "session record name without its prefix");
    rc = es_ks_blob_get_v(ks, name, &b, &version);
    if (rc == ESESSION_ERR_NO_SESSION)
        return CORRUPT(es_ks_ctx(ks), "its ring record is missing");
    if (rc != ESESSION_OK)
        return rc;
    es_rd r = {(const uint8_t *)b.data, b.len, 0, 0};
    const uint8_t *magic = es_rd_take(&r, 4);
    uint64_t rv = es_rd_be(&r, 1);
    size_t n = (size_t)es_rd_be(&r, 2);
    const uint8_t *p = n <= ES_RX_MACS_MAX ? es_rd_take(&r, n * ES_RX_MAC_PRINT) : NULL;
    if (version != c->ring_version)
        rc = CORRUPT(es_ks_ctx(ks), "ring record of another version");
    else if (magic == NULL || memcmp(magic, RING_MAGIC, 4) != 0 || rv != RING_VERSION ||
             p == NULL || r.bad || r.pos != r.len)
        rc = CORRUPT(es_ks_ctx(ks), "ring record");
    /* Its prints, then the newer ones already loaded: the newest
     * ES_RX_MACS_MAX of them, oldest first. */
    size_t have = c->n_macs, total = n + have;
    size_t skip = total > ES_RX_MACS_MAX ? total - ES_RX_MACS_MAX : 0;
    size_t keep = total - skip, cap = 16;
    while (cap < keep)
        cap *= 2;
    uint8_t(*v)[ES_RX_MAC_PRINT] = NULL;
    if (rc == ESESSION_OK && (v = malloc(cap * sizeof *v)) == NULL)
        rc = es_fail(es_ks_ctx(ks), ESESSION_ERR_NO_MEMORY, "out of memory");
    if (rc == ESESSION_OK) {
        size_t from_ring = skip < n ? n - skip : 0, newer = keep - from_ring;
        if (from_ring > 0)
            memcpy(v, p + (n - from_ring) * ES_RX_MAC_PRINT, from_ring * ES_RX_MAC_PRINT);
        if (newer > 0)
            memcpy(v + from_ring, s->macs[have - newer], newer * ES_RX_MAC_PRINT);
        free(s->macs);
        s->macs = v;
        s->macs_cap = cap;
        c->mac_head = 0;
        c->n_macs = keep;
    }
    esession_buf_free(&b);
    return rc;
}
