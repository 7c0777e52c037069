/* SPDX-License-Identifier: ISC */
/* The encrypted stream of an online session, both directions (PROFILE
 * §12.9-§12.11, XEP-0200): one pair of sending keys, an ordered list of
 * the peer's key sets, re-keys initiated and accepted, <new>, duplicates
 * and old MAC keys. Everything is checked before anything is applied. */
#include "online.h"

#include "../crypto/mpint.h"

#include <stdlib.h>
#include <string.h>

typedef struct ol_set {
    es_dir_keys peer;  /* the peer's KC, KM for stanzas verified with this set */
    es_dh *z;          /* our exponent */
    es_chan *chan;     /* keyed with peer */
} ol_set;

struct es_ol_stream {
    es_suite suite;
    int group;
    uint32_t rekey_freq;
    int publish_old;
    es_dir_keys send;
    es_chan *send_chan;
    uint8_t send_ctr[ES_AES_BLOCK];
    uint64_t sent;            /* s: stanzas under the current sending keys */
    uint64_t blocks;          /* counter values under the current sending keys */
    uint8_t recv_ctr[ES_AES_BLOCK];
    uint8_t v_peer[ES_OL_E_MAX];
    size_t v_peer_len;
    ol_set sets[ES_OL_MAX_SETS];
    size_t n_sets;
    uint32_t keys_received;   /* <key>s since our last stanza: the next <new> */
    size_t n_seen, seen_next; /* accepted a_macs (a ring) */
    uint8_t seen[ES_OL_DUP_RING][ES_HASH_MAX_BYTES];
    size_t n_old;             /* retired peer MAC keys to publish */
    uint8_t old[ES_OL_MAX_OLD][ES_HASH_MAX_BYTES];
};

static void set_clear(ol_set *s)
{
    es_dh_free(s->z);
    es_chan_free(s->chan);
    sodium_memzero(s, sizeof *s);
}

void es_ol_stream_free(es_ol_stream *st)
{
    if (st == NULL)
        return;
    for (size_t i = 0; i < st->n_sets; i++)
        set_clear(&st->sets[i]);
    es_chan_free(st->send_chan);
    es_secret_free(st); /* wipes the keys */
}

esession_status es_ol_stream_new(esession_ctx *ctx, es_suite suite, int group,
                                 const es_dir_keys *send, const uint8_t send_ctr[ES_AES_BLOCK],
                                 uint64_t send_blocks, const es_dir_keys *recv,
                                 const uint8_t recv_ctr[ES_AES_BLOCK], es_dh *own,
                                 const uint8_t *v_peer, size_t v_peer_len, uint32_t rekey_freq,
                                 int publish_old, es_ol_stream **out)
{
    if (send == NULL || recv == NULL || own == NULL || out == NULL || v_peer == NULL ||
        v_peer_len > ES_OL_E_MAX)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "stream: bad arguments");
    es_ol_stream *st = es_secret_alloc_in(ctx, sizeof *st);
    if (st == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of secure memory for a session");
    memset(st, 0, sizeof *st);
    esession_status rc = es_chan_new(ctx, send, &st->send_chan);
    if (rc == ESESSION_OK)
        rc = es_chan_new(ctx, recv, &st->sets[0].chan);
    if (rc != ESESSION_OK) {
        es_chan_free(st->send_chan);
        es_chan_free(st->sets[0].chan);
        es_secret_free(st);
        return rc;
    }
    st->suite = suite;
    st->group = group;
    st->rekey_freq = rekey_freq;
    st->publish_old = publish_old;
    st->send = *send;
    memcpy(st->send_ctr, send_ctr, ES_AES_BLOCK);
    st->blocks = send_blocks;
    memcpy(st->recv_ctr, recv_ctr, ES_AES_BLOCK);
    memcpy(st->v_peer, v_peer, v_peer_len);
    st->v_peer_len = v_peer_len;
    st->sets[0].peer = *recv;
    st->sets[0].z = own;
    st->n_sets = 1;
    *out = st;
    return ESESSION_OK;
}

void es_ol_ctrace_clear(es_ol_ctrace *t)
{
    if (t == NULL)
        return;
    esession_buf_free(&t->z);
    esession_buf_free(&t->z_pub);
    esession_buf_free(&t->k_prime);
    sodium_memzero(t, sizeof *t);
}

int es_ol_stream_may_rekey(const es_ol_stream *st)
{
    return st != NULL && st->sent + 1 >= st->rekey_freq && st->n_sets < ES_OL_MAX_SETS;
}

uint64_t es_ol_stream_sent(const es_ol_stream *st)
{
    return st != NULL ? st->sent : 0;
}

static uint64_t blocks_of(size_t m_len)
{
    return m_len > 0 ? es_ctr_blocks(m_len) : 1;
}

int es_ol_stream_needs_rekey(const es_ol_stream *st, size_t m_len)
{
    const uint64_t due = ES_OL_BLOCK_LIMIT - ES_OL_TERM_RESERVE - ES_OL_REKEY_MARGIN;
    uint64_t b = blocks_of(m_len);
    return st != NULL && (st->blocks > due || b > due - st->blocks);
}

void es_ol_stream_set_usage(es_ol_stream *st, uint64_t sent, uint64_t blocks)
{
    if (st != NULL) {
        st->sent = sent;
        st->blocks = blocks;
    }
}

/* What a re-key makes before anything is applied. */
typedef struct rekey_parts {
    es_dh *z;
    esession_buf z_pub, k_prime;
    es_dir_keys *send_after, *new_set;
    es_chan *send_chan, *set_chan;
} rekey_parts;

static void rekey_parts_clear(rekey_parts *p)
{
    es_dh_free(p->z);
    esession_buf_free(&p->z_pub);
    esession_buf_free(&p->k_prime);
    es_dir_keys_free(p->send_after);
    es_dir_keys_free(p->new_set);
    es_chan_free(p->send_chan);
    es_chan_free(p->set_chan);
    memset(p, 0, sizeof *p);
}

/* §12.10 steps 1-3 of the initiator, computed aside. */
static esession_status rekey_make(esession_ctx *ctx, const es_ol_stream *st,
                                  const es_ol_seal_in *in, rekey_parts *p)
{
    esession_status rc;
    memset(p, 0, sizeof *p);
    if (in->z != NULL)
        rc = es_dh_from_private(ctx, &p->z, st->group, in->z, in->z_len);
    else
        rc = es_dh_generate(ctx, &p->z, st->group);
    if (rc == ESESSION_OK)
        rc = es_dh_shared(ctx, p->z, st->v_peer, st->v_peer_len, &p->k_prime);
    if (rc == ESESSION_OK) {
        if (in->force_z != NULL)
            rc = es_buf_set(&p->z_pub, in->force_z, in->force_z_len, 0);
        else
            rc = es_dh_public(p->z, &p->z_pub);
    }
    if (rc == ESESSION_OK)
        rc = es_rekey_derive(ctx, st->suite, (const uint8_t *)p->k_prime.data, p->k_prime.len,
                             &p->send_after);
    if (rc == ESESSION_OK)
        rc = es_ol_rekey_acceptor(ctx, st->suite, (const uint8_t *)p->k_prime.data,
                                  p->k_prime.len, &p->new_set);
    if (rc == ESESSION_OK)
        rc = es_chan_new(ctx, p->send_after, &p->send_chan);
    if (rc == ESESSION_OK)
        rc = es_chan_new(ctx, p->new_set, &p->set_chan);
    if (rc != ESESSION_OK)
        rekey_parts_clear(p);
    return rc;
}

esession_status es_ol_stream_seal(esession_ctx *ctx, es_ol_stream *st, const es_ol_seal_in *in,
                                  const char *head, const char *tail, es_ol_ctrace *trace,
                                  esession_buf *out)
{
    uint8_t ctr[ES_AES_BLOCK], mac[ES_HASH_MAX_BYTES];
    const uint8_t *old[ES_OL_MAX_OLD];
    size_t old_len[ES_OL_MAX_OLD];
    rekey_parts rk;
    es_c_extras x;
    esession_buf c = {NULL, 0, 0}, whole = {NULL, 0, 0};
    size_t hl = head != NULL ? strlen(head) : 0, tl = tail != NULL ? strlen(tail) : 0;
    esession_status rc;

    if (st == NULL || in == NULL || out == NULL || (in->m == NULL && in->m_len > 0) ||
        (in->control && in->rekey))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "seal: bad arguments");
    uint64_t b = blocks_of(in->m_len);
    uint64_t room = in->control ? ES_OL_BLOCK_LIMIT : ES_OL_BLOCK_LIMIT - ES_OL_TERM_RESERVE;
    if (st->blocks > room || b > room - st->blocks)
        return es_fail(ctx, ESESSION_ERR_COUNTER_EXHAUSTED,
                       "2^32 blocks under one key: re-key or end the session");
    if (in->rekey && !es_ol_stream_may_rekey(st))
        return es_fail(ctx, ESESSION_ERR_STATE,
                       st->n_sets >= ES_OL_MAX_SETS ? "re-key: 16 key sets are held"
                                                    : "re-key: rekey_freq not reached");
    memset(&rk, 0, sizeof rk);
    if (in->rekey && (rc = rekey_make(ctx, st, in, &rk)) != ESESSION_OK)
        return rc;

    memset(&x, 0, sizeof x);
    if (in->rekey) {
        x.key = (const uint8_t *)rk.z_pub.data;
        x.key_len = rk.z_pub.len;
    }
    x.new_count = st->keys_received;
    size_t n_old = in->control ? 0 : st->n_old;
    for (size_t i = 0; i < n_old; i++) {
        old[i] = st->old[i];
        old_len[i] = st->send.km_len;
    }
    x.old = old;
    x.old_len = old_len;
    x.n_old = n_old;
    memcpy(ctr, st->send_ctr, ES_AES_BLOCK);
    rc = es_c_seal(ctx, st->send_chan, ctr, in->m, in->m_len, &x, &c, mac);
    if (rc == ESESSION_OK && (rc = es_buf_alloc(&whole, hl + c.len + tl, 0)) != ESESSION_OK)
        rc = es_fail(ctx, rc, "out of memory for the stanza");
    if (rc != ESESSION_OK) {
        esession_buf_free(&c);
        rekey_parts_clear(&rk);
        return rc;
    }
    memcpy(whole.data, head != NULL ? head : "", hl);
    memcpy(whole.data + hl, c.data, c.len);
    memcpy(whole.data + hl + c.len, tail != NULL ? tail : "", tl);
    whole.data[whole.len] = '\0';
    esession_buf_free(&c);
    if (trace != NULL) {
        es_ol_ctrace_clear(trace);
        memcpy(trace->counter_before, st->send_ctr, ES_AES_BLOCK);
        trace->keys = st->send;
        trace->mac_len = st->send.km_len;
        memcpy(trace->a_mac, mac, trace->mac_len);
        trace->new_count = st->keys_received;
        if (in->rekey) {
            trace->rekeyed = 1;
            (void)es_dh_private(rk.z, &trace->z);
            (void)es_buf_set(&trace->z_pub, rk.z_pub.data, rk.z_pub.len, 0);
            (void)es_buf_set(&trace->k_prime, rk.k_prime.data, rk.k_prime.len, 1);
            trace->send_after = *rk.send_after;
            trace->new_set = *rk.new_set;
        }
    }
    /* Applied only now that nothing can fail. */
    memcpy(st->send_ctr, ctr, ES_AES_BLOCK);
    st->sent++;
    st->blocks += b;
    st->keys_received = 0;
    if (n_old > 0) {
        sodium_memzero(st->old, sizeof st->old);
        st->n_old = 0;
    }
    if (in->rekey) {
        st->send = *rk.send_after;
        es_chan_free(st->send_chan);
        st->send_chan = rk.send_chan;
        rk.send_chan = NULL;
        st->sent = 0;
        st->blocks = 0;
        ol_set *ns = &st->sets[st->n_sets++];
        ns->peer = *rk.new_set;
        ns->z = rk.z;
        ns->chan = rk.set_chan;
        rk.z = NULL;
        rk.set_chan = NULL;
    }
    rekey_parts_clear(&rk);
    ES_WIPE(mac);
    *out = whole;
    return ESESSION_OK;
}

/* ---- opening ---------------------------------------------------------- */

/* §12.9: <new> is a decimal without sign or leading zeros (es_c_parse
 * already holds it to digits, 1..2^32-1). */
static esession_status new_form(esession_ctx *ctx, const xmlNode *c)
{
    for (const xmlNode *k = c->children; k != NULL; k = k->next) {
        if (!es_xml_is(k, "new", ES_C_NS))
            continue;
        for (const xmlNode *t = k->children; t != NULL; t = t->next) {
            if ((t->type == XML_TEXT_NODE || t->type == XML_CDATA_SECTION_NODE) &&
                t->content != NULL && t->content[0] != '\0') {
                if (t->content[0] == '0')
                    return es_fail(ctx, ESESSION_ERR_MALFORMED, "<c>: <new> has a leading zero");
                break;
            }
        }
    }
    return ESESSION_OK;
}

static int seen_before(const es_ol_stream *st, const uint8_t *mac, size_t len)
{
    if (len != es_hash_size(st->suite.hash))
        return 0;
    int hit = 0;
    for (size_t i = 0; i < st->n_seen; i++)
        hit |= es_ct_equal(st->seen[i], mac, len);
    return hit;
}

static void remember(es_ol_stream *st, const uint8_t *mac, size_t len)
{
    memcpy(st->seen[st->seen_next], mac, len);
    st->seen_next = (st->seen_next + 1) % ES_OL_DUP_RING;
    if (st->n_seen < ES_OL_DUP_RING)
        st->n_seen++;
}

static void retire(es_ol_stream *st, const es_dir_keys *peer)
{
    if (!st->publish_old)
        return;
    if (st->n_old == ES_OL_MAX_OLD) {
        memmove(st->old[0], st->old[1], (ES_OL_MAX_OLD - 1) * sizeof st->old[0]);
        st->n_old--;
    }
    memcpy(st->old[st->n_old++], peer->km, peer->km_len);
}

void es_ol_opened_clear(es_ol_opened *o)
{
    if (o == NULL)
        return;
    esession_buf_free(&o->plain);
    sodium_memzero(o, sizeof *o);
}

/* A received <key>, accepted aside (§12.10 step 3). */
typedef struct accept_parts {
    es_dir_keys *init, *acc;
    es_chan *chans[ES_OL_MAX_SETS];
    es_chan *send_chan;
} accept_parts;

static void accept_parts_clear(accept_parts *p)
{
    es_dir_keys_free(p->init);
    es_dir_keys_free(p->acc);
    for (size_t i = 0; i < ES_OL_MAX_SETS; i++)
        es_chan_free(p->chans[i]);
    es_chan_free(p->send_chan);
    memset(p, 0, sizeof *p);
}

static esession_status accept_make(esession_ctx *ctx, const es_ol_stream *st, size_t k,
                                   const uint8_t *z, size_t z_len, accept_parts *p)
{
    esession_buf kp = {NULL, 0, 0};
    esession_status rc = es_dh_shared(ctx, st->sets[k].z, z, z_len, &kp);
    memset(p, 0, sizeof *p);
    if (rc != ESESSION_OK)
        return rc; /* invalid-dh-value (or malformed for a non-minimal mpint) */
    rc = es_rekey_derive(ctx, st->suite, (const uint8_t *)kp.data, kp.len, &p->init);
    if (rc == ESESSION_OK)
        rc = es_ol_rekey_acceptor(ctx, st->suite, (const uint8_t *)kp.data, kp.len, &p->acc);
    esession_buf_free(&kp);
    for (size_t i = k; rc == ESESSION_OK && i < st->n_sets; i++)
        rc = es_chan_new(ctx, p->init, &p->chans[i]);
    if (rc == ESESSION_OK && st->n_sets - k == 1)
        rc = es_chan_new(ctx, p->acc, &p->send_chan);
    if (rc != ESESSION_OK)
        accept_parts_clear(p);
    return rc;
}

esession_status es_ol_stream_open(esession_ctx *ctx, es_ol_stream *st, const xmlNode *c,
                                  es_ol_opened *out)
{
    es_c_open *co = NULL;
    esession_buf plain = {NULL, 0, 0};
    accept_parts ap;
    es_ol_kind kind = ES_OL_CONTENT;
    unsigned profile = 0;
    size_t mac_len = 0, z_len = 0;
    esession_status rc;

    if (st == NULL || c == NULL || out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "open: bad arguments");
    memset(&ap, 0, sizeof ap);
    if ((rc = es_c_parse(ctx, c, &co)) != ESESSION_OK || (rc = new_form(ctx, c)) != ESESSION_OK)
        goto out;
    const uint8_t *mac = es_c_mac(co, &mac_len);
    /* Step 0: a copy of an accepted stanza changes nothing. */
    if (seen_before(st, mac, mac_len)) {
        memset(out, 0, sizeof *out);
        out->duplicate = 1;
        goto out;
    }
    /* Step 1: <new>k selects the set k places after the oldest. */
    size_t k = es_c_new_count(co);
    if (k >= st->n_sets) {
        rc = es_fail(ctx, ESESSION_ERR_BAD_MAC, "<new> names a key set that does not exist");
        goto out;
    }
    /* Step 2: MAC at exactly the next counter, then decrypt. */
    if ((rc = es_c_decrypt(ctx, co, st->sets[k].chan, st->recv_ctr, &plain)) != ESESSION_OK)
        goto out;
    if ((rc = es_ol_classify(ctx, (const uint8_t *)plain.data, plain.len, &kind, &profile)) !=
        ESESSION_OK)
        goto out;
    const uint8_t *z = es_c_key(co, &z_len);
    if (z != NULL && kind != ES_OL_CONTENT) {
        rc = es_fail(ctx, ESESSION_ERR_MALFORMED, "<key> in a termination or acknowledgement");
        goto out;
    }
    /* Step 3, computed aside: K' = Z^z with the oldest remaining set's z. */
    if (z != NULL && (rc = accept_make(ctx, st, k, z, z_len, &ap)) != ESESSION_OK)
        goto out;

    /* Apply. */
    memset(out, 0, sizeof *out);
    memcpy(out->counter, st->recv_ctr, ES_AES_BLOCK);
    for (size_t i = 0; i < k; i++) {
        retire(st, &st->sets[i].peer);
        set_clear(&st->sets[i]);
    }
    if (k > 0) {
        memmove(&st->sets[0], &st->sets[k], (st->n_sets - k) * sizeof st->sets[0]);
        sodium_memzero(&st->sets[st->n_sets - k], k * sizeof st->sets[0]);
        st->n_sets -= k;
    }
    es_ctr_add(st->recv_ctr, es_c_blocks(co));
    remember(st, mac, mac_len);
    if (z != NULL) {
        retire(st, &st->sets[0].peer);
        for (size_t i = 0; i < st->n_sets; i++) {
            st->sets[i].peer = *ap.init;
            es_chan_free(st->sets[i].chan);
            st->sets[i].chan = ap.chans[k + i];
            ap.chans[k + i] = NULL;
        }
        if (ap.send_chan != NULL) {
            st->send = *ap.acc;
            es_chan_free(st->send_chan);
            st->send_chan = ap.send_chan;
            ap.send_chan = NULL;
            st->sent = 0;
            st->blocks = 0;
        }
        memcpy(st->v_peer, z, z_len);
        st->v_peer_len = z_len;
        st->keys_received++;
    }
    out->kind = kind;
    out->profile = profile;
    out->plain = plain;
    plain.data = NULL;
out:
    accept_parts_clear(&ap);
    esession_buf_free(&plain);
    es_c_free(co);
    return rc;
}
