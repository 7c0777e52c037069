/* SPDX-License-Identifier: ISC */
/* Bob's stanzas (PROFILE §8, §9, §11): the <message/> around each sealed
 * <c>, re-keys, the block bound, and termination. The advanced state is
 * stored before a stanza is handed out, so a counter is never used twice
 * even across a crash. */
#include "sender.h"

#include "../core/xmlesc.h"
#include "../forms/xml.h"

#include <string.h>

#define AMP_RULE "<amp xmlns='http://jabber.org/protocol/amp'>" \
                 "<rule action='error' condition='match-resource' value='other'/></amp>"

const char es_sender_term_content[] =
    "<feature xmlns='http://jabber.org/protocol/feature-neg'>"
    "<x xmlns='jabber:x:data' type='submit'>"
    "<field var='FORM_TYPE'><value>urn:xmpp:ssn</value></field>"
    "<field var='terminate'><value>1</value></field></x></feature>";

/* ---- stanza text ------------------------------------------------------ */

/* Measures when p is NULL, writes otherwise. */
typedef struct tw {
    char *p;
    size_t len;
} tw;

static void tw_put(tw *w, const char *s, size_t n)
{
    if (w->p != NULL && n > 0)
        memcpy(w->p + w->len, s, n);
    w->len += n;
}

static void tw_puts(tw *w, const char *s)
{
    tw_put(w, s, strlen(s));
}

static void put_sink(void *w, const char *s, size_t n)
{
    tw_put(w, s, n);
}

/* Attribute text (between single quotes). */
static void tw_attr(tw *w, const char *s)
{
    es_xml_escape(s, strlen(s), ES_XML_ATTR, put_sink, w);
}

/* The layout of the reference stanzas: one child per line, indented by
 * two spaces (PROFILE §8). */
static void write_stanza(tw *w, const es_sender_info *info, const char *type, int with_init,
                         const char *c, size_t c_len)
{
    tw_puts(w, "<message from='");
    tw_attr(w, info->bob_jid);
    tw_puts(w, "' to='");
    tw_attr(w, info->alice_jid);
    if (info->match_resource != NULL) {
        tw_puts(w, "/");
        tw_attr(w, info->match_resource);
    }
    tw_puts(w, "' type='");
    tw_puts(w, type);
    tw_puts(w, "'>\n  <thread>");
    tw_puts(w, info->thread);
    tw_puts(w, "</thread>\n");
    if (with_init) {
        tw_puts(w, "  ");
        tw_put(w, info->init, info->init_len);
        tw_puts(w, "\n");
    }
    tw_puts(w, "  ");
    tw_put(w, c, c_len);
    tw_puts(w, "\n");
    if (!info->no_fallback)
        tw_puts(w, "  <body>" ESESSION_FALLBACK_BODY "</body>\n");
    if (info->match_resource != NULL)
        tw_puts(w, "  " AMP_RULE "\n");
    tw_puts(w, "</message>");
}

static esession_status build_stanza(esession_ctx *ctx, const es_sender_info *info,
                                    const char *type, int with_init, const esession_buf *c,
                                    esession_buf *out)
{
    tw w = {NULL, 0};
    write_stanza(&w, info, type, with_init, c->data, c->len);
    /* Alice parses at most ES_XML_MAX_BYTES (es_xml_parse). */
    if (w.len > ES_XML_MAX_BYTES)
        return es_fail(ctx, ESESSION_ERR_LIMIT, "stanza longer than %u octets",
                       ES_XML_MAX_BYTES);
    esession_buf tmp;
    esession_status rc = es_buf_alloc(&tmp, w.len, 0);
    if (rc != ESESSION_OK)
        return es_fail(ctx, rc, "out of memory for the stanza");
    w.p = tmp.data;
    w.len = 0;
    write_stanza(&w, info, type, with_init, c->data, c->len);
    *out = tmp;
    return ESESSION_OK;
}

/* ---- state checks ----------------------------------------------------- */

/* Take the stored state when it is not the one this handle holds:
 * another handle or process sealed meanwhile (its counters are used, so
 * ours must move on), or a transaction of ours was rolled back. Called
 * inside the transaction that then advances it, so nobody slips in. */
static esession_status sync_current(esession_sender *s)
{
    if (s->ended)
        return es_fail(s->ctx, ESESSION_ERR_STATE, "the session has ended");
    /* The version alone tells whether the copy is current: the record is
     * read and decrypted only when someone else wrote it. */
    uint64_t version = 0;
    esession_status rc = es_ks_blob_version(s->ks, s->name, &version);
    if (rc == ESESSION_ERR_NO_SESSION)
        return es_fail(s->ctx, ESESSION_ERR_STATE, "the session was ended elsewhere");
    if (rc != ESESSION_OK)
        return es_fail(s->ctx, rc, "cannot read the session record");
    if (version == s->version && s->rollbacks == es_tx_rollbacks(s->ks))
        return ESESSION_OK;
    esession_buf rec = {NULL, 0, 0};
    rc = es_ks_blob_get_v(s->ks, s->name, &rec, &version);
    if (rc == ESESSION_OK)
        rc = es_sender_reload(s, (const uint8_t *)rec.data, rec.len, version);
    esession_buf_free(&rec);
    if (rc != ESESSION_OK)
        return es_fail(s->ctx, rc, "the stored session record is damaged");
    return ESESSION_OK;
}

static int type_ok(const char *type)
{
    return type != NULL && (strcmp(type, "chat") == 0 || strcmp(type, "normal") == 0);
}

/* Does a stanza of b blocks fit under the current keys, keeping the
 * termination reserve (not needed by the termination itself)? */
static int fits(const es_sender_progress *p, uint64_t b, int terminating)
{
    uint64_t reserve = terminating ? 0 : ES_SENDER_TERM_RESERVE;
    return b < ES_SENDER_BLOCK_LIMIT - reserve && p->blocks < ES_SENDER_BLOCK_LIMIT - reserve - b;
}

/* ---- sealing ---------------------------------------------------------- */

typedef struct seal_work {
    es_sender_progress *next;  /* guarded memory */
    es_dir_keys *new_keys;
    es_chan *new_chan;
    esession_buf d_prime;
    esession_buf c;
    esession_buf stanza;
    uint8_t before[ES_AES_BLOCK];
    uint8_t a_mac[ES_HASH_MAX_BYTES];
} seal_work;

static void work_clear(seal_work *w)
{
    es_secret_free(w->next);
    es_dir_keys_free(w->new_keys);
    es_chan_free(w->new_chan);
    esession_buf_free(&w->d_prime);
    esession_buf_free(&w->c);
    esession_buf_free(&w->stanza);
    sodium_memzero(w, sizeof *w);
}

/* Decide whether this stanza carries <key> (PROFILE §11: the k-th stanza
 * under the current keys only if k >= rekey_freq; never in the last
 * stanza of a session). */
static esession_status decide_rekey(esession_sender *s, const es_sender_rekey *rk,
                                    int terminating, int *rekey)
{
    uint64_t k = s->prog->stanzas + 1;
    int allowed = !terminating && !s->info.single_stanza && k >= s->info.choice.rekey_freq;
    es_rekey_mode mode = rk != NULL ? rk->mode : ES_REKEY_AUTO;
    switch (mode) {
    case ES_REKEY_AUTO:
        *rekey = allowed;
        return ESESSION_OK;
    case ES_REKEY_NEVER:
        *rekey = 0;
        return ESESSION_OK;
    case ES_REKEY_NOW:
        if (!allowed)
            return es_fail(s->ctx, ESESSION_ERR_STATE,
                           "a re-key is not allowed in this stanza (rekey_freq)");
        *rekey = 1;
        return ESESSION_OK;
    default:
        return es_fail(s->ctx, ESESSION_ERR_INVALID_ARGUMENT, "unknown re-key mode");
    }
}

static void fill_trace(es_sender_seal_trace *t, seal_work *w, size_t mac_len, int rekey)
{
    memset(t, 0, sizeof *t);
    memcpy(t->counter_before, w->before, ES_AES_BLOCK);
    t->mac_len = mac_len;
    memcpy(t->a_mac, w->a_mac, mac_len);
    t->rekeyed = rekey;
    if (rekey) {
        t->d_prime = w->d_prime;
        w->d_prime = (esession_buf){NULL, 0, 0};
        t->keys_after = es_secret_alloc(sizeof *t->keys_after);
        if (t->keys_after != NULL)
            *t->keys_after = *w->new_keys;
    }
}

/* Seal one stanza and write the state after it (or erase it when the
 * session ends) with the stanza in the outbox, inside the caller's
 * transaction; *wp holds the outcome. Nothing of s changes here: that
 * waits for the commit (seal_apply). */
static esession_status seal_core(esession_sender *s, const uint8_t *m, size_t m_len,
                                 const char *type, const es_sender_rekey *rk, int terminating,
                                 seal_work *wp, int *rekey_out, int *ending_out)
{
    seal_work w;
    int rekey = 0;
    esession_status rc;

    memset(&w, 0, sizeof w);
    if ((rc = sync_current(s)) != ESESSION_OK)
        return rc;
    /* XEP-0187 §3.2: never on expired options (the termination excepted:
     * it only ends what Alice could no longer read anyway). */
    if (!terminating && es_now(s->ctx) > s->info.expires)
        return es_fail(s->ctx, ESESSION_ERR_EXPIRED,
                       "the contact's options expired: end this session and fetch them again");
    if ((rc = decide_rekey(s, rk, terminating, &rekey)) != ESESSION_OK)
        return rc;
    uint64_t blocks = m_len > 0 ? es_ctr_blocks(m_len) : 1;
    if (!fits(s->prog, blocks, terminating))
        return es_fail(s->ctx, ESESSION_ERR_COUNTER_EXHAUSTED,
                       "2^32 blocks under one key reached and no re-key allowed yet: "
                       "only termination is possible");
    if ((w.next = es_secret_alloc_in(s->ctx, sizeof *w.next)) == NULL)
        return es_fail(s->ctx, ESESSION_ERR_NO_MEMORY, "out of secure memory");
    *w.next = *s->prog;

    es_suite suite = s->info.choice.suite;
    if (rekey) {
        const uint8_t *y = rk != NULL && rk->mode == ES_REKEY_NOW ? rk->y : NULL;
        size_t y_len = y != NULL ? rk->y_len : 0;
        rc = es_rekey_initiate(s->ctx, suite, s->info.choice.group, s->info.e, s->info.e_len, y,
                               y_len, &w.d_prime, &w.new_keys);
        if (rc == ESESSION_OK)
            rc = es_chan_new(s->ctx, w.new_keys, &w.new_chan);
    }
    es_c_extras extras = {NULL, 0, 0, NULL, NULL, 0};
    if (rekey && rc == ESESSION_OK) {
        extras.key = (const uint8_t *)w.d_prime.data;
        extras.key_len = w.d_prime.len;
    }
    memcpy(w.before, w.next->ctr, ES_AES_BLOCK);
    if (rc == ESESSION_OK)
        rc = es_c_seal(s->ctx, s->chan, w.next->ctr, m, m_len, &extras, &w.c, w.a_mac);
    if (rc == ESESSION_OK)
        rc = build_stanza(s->ctx, &s->info, type, w.next->init_pending, &w.c, &w.stanza);
    if (rc != ESESSION_OK)
        goto out;

    /* The state after this stanza; counters continue across re-keys. */
    w.next->init_pending = 0;
    w.next->seq++;
    if (rekey) {
        w.next->keys = *w.new_keys;
        w.next->stanzas = 0;
        w.next->blocks = 0;
        w.next->epoch++;
    } else {
        w.next->stanzas++;
        w.next->blocks += blocks;
    }
    int ending = terminating || s->info.single_stanza;
    if (ending)
        rc = es_ks_blob_delete(s->ks, s->name);
    else
        rc = es_sender_store(s, w.next);
    /* In the same transaction: kept until the client marks it sent. */
    if (rc == ESESSION_OK)
        rc = es_outbox_put(s->ks, s->info.alice_jid, &w.stanza);
    if (rc != ESESSION_OK)
        goto out; /* nothing leaves, nothing changes */
    *wp = w;
    *rekey_out = rekey;
    *ending_out = ending;
    return ESESSION_OK;
out:
    work_clear(&w);
    return rc;
}

/* Committed: the same in memory (nothing here can fail). */
static void seal_apply(esession_sender *s, seal_work *w, int rekey, int ending,
                       es_sender_seal_trace *trace, esession_buf *out)
{
    *s->prog = *w->next;
    if (rekey) {
        es_chan *old = s->chan;
        s->chan = w->new_chan;
        w->new_chan = old;
    }
    if (s->info.init != NULL) {
        free(s->info.init);
        s->info.init = NULL;
        s->info.init_len = 0;
    }
    if (trace != NULL)
        fill_trace(trace, w, es_chan_mac_size(s->chan), rekey);
    *out = w->stanza;
    w->stanza = (esession_buf){NULL, 0, 0};
    if (ending)
        es_sender_end(s);
}

/* seal_core in its own transaction: the stanza is handed out only once
 * the state that used its counters is committed. */
static esession_status seal_tx(esession_sender *s, const uint8_t *m, size_t m_len,
                               const char *type, const es_sender_rekey *rk, int terminating,
                               es_sender_seal_trace *trace, esession_buf *out)
{
    seal_work w;
    int rekey = 0, ending = 0;
    memset(&w, 0, sizeof w);
    /* A counter is durable before its stanza leaves: never in a batch. */
    if (es_ks_require_durable(s->ctx, s->ks) != ESESSION_OK)
        return ESESSION_ERR_STATE;
    esession_status rc = es_tx_begin(s->ks, 1);
    if (rc != ESESSION_OK)
        return rc;
    esession_status inner = seal_core(s, m, m_len, type, rk, terminating, &w, &rekey, &ending);
    rc = es_tx_end(s->ks, inner);
    /* Not committed: the stanza must not leave, and the sender stays as
     * it was (counter, keys, and a session that has not ended). */
    if (rc == ESESSION_OK)
        seal_apply(s, &w, rekey, ending, trace, out);
    work_clear(&w);
    return rc;
}

esession_status es_sender_seal_raw(esession_sender *s, const uint8_t *m, size_t m_len,
                                   const char *type, const es_sender_rekey *rekey,
                                   es_sender_seal_trace *trace, esession_buf *out)
{
    if (s == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if ((m == NULL && m_len > 0) || !type_ok(type) || out == NULL)
        return es_fail(s->ctx, ESESSION_ERR_INVALID_ARGUMENT, "seal: bad arguments");
    return seal_tx(s, m, m_len, type, rekey, 0, trace, out);
}

esession_status es_sender_terminate_traced(esession_sender *s, es_sender_seal_trace *trace,
                                           esession_buf *out)
{
    if (s == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (out == NULL)
        return es_fail(s->ctx, ESESSION_ERR_INVALID_ARGUMENT, "terminate: bad arguments");
    esession_status rc = es_tx_begin(s->ks, 1);
    if (rc != ESESSION_OK)
        return rc;
    rc = sync_current(s);
    if (rc == ESESSION_OK && s->prog->init_pending) {
        /* Nothing was sent: Alice has no session to end. */
        rc = es_tx_end(s->ks, es_ks_blob_delete(s->ks, s->name));
        if (rc != ESESSION_OK)
            return rc;
        es_sender_end(s);
        *out = (esession_buf){NULL, 0, 0};
        return ESESSION_OK;
    }
    if ((rc = es_tx_end(s->ks, rc)) != ESESSION_OK)
        return rc;
    /* Its own transaction, which looks at the stored state again. */
    static const es_sender_rekey never = {ES_REKEY_NEVER, NULL, 0};
    return seal_tx(s, (const uint8_t *)es_sender_term_content, sizeof es_sender_term_content - 1,
                   "chat", &never, 1, trace, out);
}

esession_status es_sender_set_usage(esession_sender *s, uint64_t stanzas, uint64_t blocks)
{
    if (s == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (blocks >= ES_SENDER_BLOCK_LIMIT)
        return es_fail(s->ctx, ESESSION_ERR_INVALID_ARGUMENT, "usage: blocks beyond 2^32");
    esession_status rc = es_tx_begin(s->ks, 1);
    if (rc != ESESSION_OK)
        return rc;
    es_sender_progress *next = NULL;
    if ((rc = sync_current(s)) == ESESSION_OK && (next = es_secret_alloc_in(s->ctx, sizeof *next)) == NULL)
        rc = es_fail(s->ctx, ESESSION_ERR_NO_MEMORY, "out of secure memory");
    if (rc == ESESSION_OK) {
        *next = *s->prog;
        next->stanzas = stanzas;
        next->blocks = blocks;
        next->seq++;
        rc = es_sender_store(s, next);
    }
    rc = es_tx_end(s->ks, rc);
    if (rc == ESESSION_OK)
        *s->prog = *next;
    es_secret_free(next);
    return rc;
}

void es_sender_get_usage(const esession_sender *s, uint64_t *stanzas, uint64_t *blocks,
                         uint32_t *epoch, uint8_t ctr[ES_AES_BLOCK])
{
    if (s == NULL || s->prog == NULL)
        return;
    if (stanzas != NULL)
        *stanzas = s->prog->stanzas;
    if (blocks != NULL)
        *blocks = s->prog->blocks;
    if (epoch != NULL)
        *epoch = s->prog->epoch;
    if (ctr != NULL)
        memcpy(ctr, s->prog->ctr, ES_AES_BLOCK);
}

void es_sender_seal_trace_clear(es_sender_seal_trace *t)
{
    if (t == NULL)
        return;
    esession_buf_free(&t->d_prime);
    es_dir_keys_free(t->keys_after);
    sodium_memzero(t, sizeof *t);
}
