/* SPDX-License-Identifier: ISC */
/* The public online API (include/esession.h, "Online sessions"): the
 * engine with the keystore's signing keys, its trust store (and the host's
 * trust operation) and its retained secrets. */
#include "ol_api.h"

#include "../core/jid.h"
#include "../session/sender.h"
#include "../store/store.h"
#include "../store/trust_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OWN_KEYS 8u

static const int default_groups[] = {14, 15, 16};
static const char *const default_ciphers[] = {"aes256-ctr", "aes128-ctr"};
static const char *const default_hashes[] = {"sha256", "sha512"};

/* ---- policy from the options ------------------------------------------ */

static esession_status add(es_ol_policy *p, es_ol_field f, const char *v)
{
    return es_ol_policy_add(p, f, v);
}

static esession_status add_list(esession_ctx *ctx, es_ol_policy *p, es_ol_field f,
                                const char *const *v, size_t n, const char *const *dflt,
                                size_t n_dflt)
{
    if (v == NULL) {
        v = dflt;
        n = n_dflt;
    }
    if (n == 0)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "an empty list of %s",
                       es_ol_field_names[f]);
    for (size_t i = 0; i < n; i++) {
        esession_status rc = v[i] != NULL ? add(p, f, v[i]) : ESESSION_ERR_INVALID_ARGUMENT;
        if (rc != ESESSION_OK)
            return es_fail(ctx, rc, "bad %s value", es_ol_field_names[f]);
    }
    return ESESSION_OK;
}

static esession_status check_names(esession_ctx *ctx, const es_ol_policy *p)
{
    es_cipher_alg c;
    es_hash_alg h;
    for (size_t i = 0; i < p->n[ES_OLF_CRYPT]; i++)
        if (es_cipher_from_name(p->v[ES_OLF_CRYPT][i], strlen(p->v[ES_OLF_CRYPT][i]), &c) !=
            ESESSION_OK)
            return es_fail(ctx, ESESSION_ERR_UNSUPPORTED, "unknown cipher %s",
                           p->v[ES_OLF_CRYPT][i]);
    for (size_t i = 0; i < p->n[ES_OLF_HASH]; i++)
        if (es_hash_from_name(p->v[ES_OLF_HASH][i], strlen(p->v[ES_OLF_HASH][i]), &h) !=
            ESESSION_OK)
            return es_fail(ctx, ESESSION_ERR_UNSUPPORTED, "unknown hash %s", p->v[ES_OLF_HASH][i]);
    return ESESSION_OK;
}

/* The pubkey modes offered (initiator) or accepted (responder). */
static esession_status add_modes(es_ol_policy *p, es_ol_field f, esession_pubkey_mode pref,
                                 int hash_ok, int none_ok)
{
    esession_status rc = ESESSION_OK;
    if (pref == ESESSION_PUBKEY_HASH && hash_ok)
        rc = add(p, f, "hash");
    else if (pref == ESESSION_PUBKEY_NONE && none_ok)
        rc = add(p, f, "none");
    return rc == ESESSION_OK ? add(p, f, "key") : rc;
}

static esession_status make_policy(esession_ctx *ctx, const esession_online_options *o,
                                   int initiator, const esession_key *const *mine, size_t n_mine,
                                   size_t n_trusted, es_ol_policy *p)
{
    static const char *const otr[] = {"false", "true"};
    char g[16];
    esession_status rc = ESESSION_OK;

    es_ol_policy_init(p);
    p->variant = initiator && o->three_message ? 3 : 4;
    p->allow3 = !o->refuse_three_message;
    p->rekey_freq = o->rekey_freq > 0 ? o->rekey_freq : 1;
    p->publish_old = o->publish_old_keys != 0;
    if ((unsigned)o->my_key > ESESSION_PUBKEY_NONE || (unsigned)o->peer_key > ESESSION_PUBKEY_NONE)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "unknown public key mode");
    if (initiator && p->variant == 3 &&
        (o->my_key == ESESSION_PUBKEY_NONE || o->peer_key == ESESSION_PUBKEY_NONE))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT,
                       "a 3-message negotiation always sends keys");
    const int *groups = o->groups != NULL ? o->groups : default_groups;
    size_t n_groups = o->groups != NULL ? o->n_groups : ES_ARRAY_LEN(default_groups);
    if (n_groups == 0 || n_groups > ES_OL_MAX_GROUPS)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "1 to 8 groups");
    for (size_t i = 0; i < n_groups && rc == ESESSION_OK; i++) {
        if (!es_modp_supported(groups[i]))
            return es_fail(ctx, ESESSION_ERR_UNSUPPORTED, "MODP group %d", groups[i]);
        if (es_modp_bits(groups[i]) < 2048 && !o->allow_weak_groups)
            return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT,
                           "group %d is below 2048 bits (allow_weak_groups)", groups[i]);
        snprintf(g, sizeof g, "%d", groups[i]);
        rc = add(p, ES_OLF_MODP, g);
    }
    if (rc == ESESSION_OK)
        rc = add_list(ctx, p, ES_OLF_CRYPT, o->ciphers, o->n_ciphers, default_ciphers,
                      ES_ARRAY_LEN(default_ciphers));
    if (rc == ESESSION_OK)
        rc = add_list(ctx, p, ES_OLF_HASH, o->hashes, o->n_hashes, default_hashes,
                      ES_ARRAY_LEN(default_hashes));
    if (rc == ESESSION_OK)
        rc = check_names(ctx, p);
    for (size_t i = 0; rc == ESESSION_OK && i < 2; i++)
        rc = add(p, ES_OLF_OTR, otr[i]);
    if (rc == ESESSION_OK)
        rc = add(p, ES_OLF_DISCLOSURE, "never");
    if (rc == ESESSION_OK)
        rc = add(p, ES_OLF_SECURITY, "e2e");
    if (rc == ESESSION_OK)
        rc = add(p, ES_OLF_COMPRESS, "none");
    if (rc == ESESSION_OK)
        rc = add(p, ES_OLF_STANZAS, "message");
    if (rc == ESESSION_OK)
        rc = add(p, ES_OLF_VER, "1.0");
    if (rc == ESESSION_OK && p->variant == 4)
        rc = add(p, ES_OLF_SAS, "sas28x5");
    /* Signatures: the types of our keys (an initiator offers only those). */
    for (int type = ESESSION_KEY_RSA; rc == ESESSION_OK && type <= ESESSION_KEY_DSA; type++) {
        int have = 0;
        for (size_t i = 0; i < n_mine; i++)
            have |= esession_key_get_type(mine[i]) == (esession_key_type)type;
        if (have || !initiator)
            rc = add(p, ES_OLF_SIGN, es_key_sign_alg((esession_key_type)type));
    }
    if (rc != ESESSION_OK)
        return rc == ESESSION_ERR_NO_MEMORY ? es_fail(ctx, rc, "out of memory") : rc;
    if (initiator) {
        int none_ok = p->variant == 4;
        rc = add_modes(p, ES_OLF_INIT_PUBKEY, o->my_key, 1, none_ok);
        if (rc == ESESSION_OK)
            rc = add_modes(p, ES_OLF_RESP_PUBKEY, o->peer_key, n_trusted > 0, none_ok);
    } else {
        rc = add(p, ES_OLF_INIT_PUBKEY, "key");
        if (rc == ESESSION_OK)
            rc = add(p, ES_OLF_INIT_PUBKEY, "hash");
        if (rc == ESESSION_OK && o->peer_key == ESESSION_PUBKEY_NONE)
            rc = add(p, ES_OLF_INIT_PUBKEY, "none");
        if (rc == ESESSION_OK)
            rc = add(p, ES_OLF_RESP_PUBKEY, "key");
        if (rc == ESESSION_OK)
            rc = add(p, ES_OLF_RESP_PUBKEY, "hash");
        if (rc == ESESSION_OK && o->my_key == ESESSION_PUBKEY_NONE)
            rc = add(p, ES_OLF_RESP_PUBKEY, "none");
    }
    return rc;
}

/* ---- the keystore's part ----------------------------------------------- */

typedef struct loaded {
    esession_key *mine[MAX_OWN_KEYS];
    size_t n_mine;
    esession_key *trusted[ES_SENDER_TRUSTED_MAX];
    size_t n_trusted;
    es_ol_rs_list rs;
    es_ol_policy policy;
} loaded;

static void loaded_clear(loaded *l)
{
    for (size_t i = 0; i < l->n_mine; i++)
        esession_key_free(l->mine[i]);
    for (size_t i = 0; i < l->n_trusted; i++)
        esession_key_free(l->trusted[i]);
    es_ol_rs_list_clear(&l->rs);
    es_ol_policy_clear(&l->policy);
    memset(l, 0, sizeof *l);
}

/* Our keys, the keys trusted for the peer (the host may veto one), and the
 * retained secrets. */
static esession_status load(esession_ctx *ctx, esession_keystore *ks, const char *bare,
                            int retain, loaded *l)
{
    esession_status rc;
    memset(l, 0, sizeof *l);
    es_ol_rs_list_init(&l->rs);
    es_ol_policy_init(&l->policy);
    size_t n = esession_keystore_key_count(ks);
    for (size_t i = 0; i < n && l->n_mine < MAX_OWN_KEYS; i++) {
        if ((rc = esession_keystore_key_at(ks, i, &l->mine[l->n_mine])) != ESESSION_OK)
            return rc;
        l->n_mine++;
    }
    if (l->n_mine == 0)
        return es_fail(ctx, ESESSION_ERR_STATE, "the keystore holds no signing key");
    size_t found = 0;
    if ((rc = es_ks_trusted_keys(ks, bare, l->trusted, ES_SENDER_TRUSTED_MAX, &found)) !=
        ESESSION_OK)
        return es_fail(ctx, rc, "cannot read the trust store");
    for (size_t i = 0; i < found; i++) {
        int verdict = ctx->ops.trust != NULL ? ctx->ops.trust(ctx->user, bare, l->trusted[i]) : -1;
        if (verdict == 0)
            esession_key_free(l->trusted[i]);
        else
            l->trusted[l->n_trusted++] = l->trusted[i];
    }
    if (retain && (rc = ol_rs_load(ctx, ks, bare, &l->rs)) != ESESSION_OK)
        return rc;
    return ESESSION_OK;
}

/* `key` identities: the host decides, else the trust store. */
static int trusted_key(void *arg, const esession_key *key)
{
    esession_online_session *o = arg;
    esession_ctx *ctx = o->ctx;
    int v = ctx->ops.trust != NULL ? ctx->ops.trust(ctx->user, o->peer_bare, key) : -1;
    if (v >= 0)
        return v == 1;
    return esession_trust_check(o->ks, o->peer_bare, key) == ESESSION_OK;
}

/* §12.13: no online negotiation while an offline session to the peer is open. */
static esession_status no_offline_session(esession_ctx *ctx, esession_keystore *ks,
                                          const char *bare)
{
    char name[ES_BLOB_NAME_MAX + 1];
    uint64_t version = 0;
    esession_status rc = es_sender_blob_name(ctx, bare, name, sizeof name);
    if (rc != ESESSION_OK)
        return rc;
    rc = es_ks_blob_version(ks, name, &version);
    if (rc == ESESSION_ERR_NO_SESSION)
        return ESESSION_OK;
    if (rc != ESESSION_OK)
        return rc;
    return es_fail(ctx, ESESSION_ERR_STATE,
                   "an offline session to %s is open: end it first (esession_sender_peer_online)",
                   bare);
}

static char *bare_copy(const char *jid)
{
    return strndup(jid, strcspn(jid, "/"));
}

static esession_status start(esession_ctx *ctx, esession_keystore *ks, const char *my_jid,
                             const char *peer_jid, const esession_online_options *opt,
                             int initiator, esession_online_session **o_out, loaded *l, es_ol_env *env)
{
    static const esession_online_options dflt = ESESSION_ONLINE_OPTIONS_INIT;
    const esession_online_options *o = opt != NULL ? opt : &dflt;
    esession_status rc;

    memset(l, 0, sizeof *l);
    es_ol_rs_list_init(&l->rs);
    es_ol_policy_init(&l->policy);
    if (o->version != ESESSION_ONLINE_OPTIONS_VERSION)
        return es_fail(ctx, ESESSION_ERR_VERSION, "esession_online_options version");
    esession_online_session *w = calloc(1, sizeof *w);
    if (w == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    w->ctx = ctx;
    w->ks = ks;
    w->retain = !o->no_retained_secrets;
    if ((w->peer_bare = bare_copy(peer_jid)) == NULL) {
        free(w);
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    }
    rc = no_offline_session(ctx, ks, w->peer_bare);
    if (rc == ESESSION_OK)
        rc = load(ctx, ks, w->peer_bare, w->retain, l);
    if (rc == ESESSION_OK)
        rc = make_policy(ctx, o, initiator, (const esession_key *const *)l->mine, l->n_mine,
                         l->n_trusted, &l->policy);
    if (rc != ESESSION_OK) {
        loaded_clear(l);
        free(w->peer_bare);
        free(w);
        return rc;
    }
    memset(env, 0, sizeof *env);
    env->my_jid = my_jid;
    env->peer_jid = peer_jid;
    env->my_keys = (const esession_key *const *)l->mine;
    env->n_my_keys = l->n_mine;
    env->trusted = (const esession_key *const *)l->trusted;
    env->n_trusted = l->n_trusted;
    env->trust = trusted_key;
    env->trust_arg = w;
    env->rs = &l->rs;
    env->now = es_now(ctx);
    *o_out = w;
    return ESESSION_OK;
}

/* The library's one JID rule: a bare or a full JID. */
static int jid_arg(const char *jid)
{
    return (es_jid_ok(jid, ESESSION_JID_BARE) || es_jid_ok(jid, ESESSION_JID_FULL)) &&
           strlen(jid) <= ES_OL_JID_MAX;
}

esession_status esession_online_initiate(esession_ctx *ctx, esession_keystore *ks,
                                         const char *my_full_jid, const char *peer_jid,
                                         const esession_online_options *opt,
                                         esession_online_session **out, esession_buf *msg1)
{
    esession_online_session *w = NULL;
    loaded l;
    es_ol_env env;
    esession_buf m = {NULL, 0, 0};
    esession_status rc;

    if (ctx == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ctx);
    if ((rc = es_ks_check(ctx, ks)) != ESESSION_OK)
        return rc;
    if (!es_jid_ok(my_full_jid, ESESSION_JID_FULL) || !jid_arg(my_full_jid) ||
        !jid_arg(peer_jid) ||
        out == NULL || msg1 == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "initiate: bad arguments");
    if ((rc = start(ctx, ks, my_full_jid, peer_jid, opt, 1, &w, &l, &env)) != ESESSION_OK)
        return rc;
    rc = es_ol_initiate(ctx, &l.policy, &env, NULL, 0, &w->s, &m);
    loaded_clear(&l);
    if (rc != ESESSION_OK) {
        esession_online_free(w);
        return rc;
    }
    *out = w;
    *msg1 = m;
    return ESESSION_OK;
}

esession_status esession_online_respond(esession_ctx *ctx, esession_keystore *ks,
                                        const char *my_full_jid, const char *msg1, size_t len,
                                        const esession_online_options *opt,
                                        esession_online_session **out, esession_buf *reply)
{
    esession_online_session *w = NULL;
    es_ol_in in;
    loaded l;
    es_ol_env env;
    esession_buf r = {NULL, 0, 0};
    esession_status rc;

    if (ctx == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ctx);
    if ((rc = es_ks_check(ctx, ks)) != ESESSION_OK)
        return rc;
    if (!es_jid_ok(my_full_jid, ESESSION_JID_FULL) || !jid_arg(my_full_jid) || msg1 == NULL ||
        out == NULL || reply == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "respond: bad arguments");
    /* The sender first: its keys, trust and retained secrets. */
    if ((rc = es_ol_in_parse(ctx, msg1, len, &in)) != ESESSION_OK)
        return rc;
    if (!jid_arg(in.from)) {
        es_ol_in_free(&in);
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "a request without its sender");
    }
    rc = start(ctx, ks, my_full_jid, in.from, opt, 0, &w, &l, &env);
    es_ol_in_free(&in);
    if (rc != ESESSION_OK)
        return rc;
    rc = es_ol_respond(ctx, &l.policy, &env, NULL, msg1, len, 0, &w->s, &r);
    loaded_clear(&l);
    if (rc != ESESSION_OK) {
        esession_online_free(w);
        if (r.data != NULL)
            *reply = r;
        return rc;
    }
    *out = w;
    *reply = r;
    return ESESSION_OK;
}

/* Retained-secret changes of the engine, into the keystore. */
static esession_status persist(esession_online_session *w)
{
    es_ol_rs_op ops[4];
    size_t n = 0;
    if (es_ol_rs_pending(w->s) == 0)
        return ESESSION_OK;
    esession_status rc = es_ol_rs_take(w->s, ops, ES_ARRAY_LEN(ops), &n);
    if (rc == ESESSION_OK && w->retain)
        rc = ol_rs_store(w->ctx, w->ks, w->peer_bare, ops, n);
    sodium_memzero(ops, sizeof ops);
    return rc;
}

static esession_online_kind kind_of(es_ol_rkind k)
{
    switch (k) {
    case ES_OL_R_PROGRESS: return ESESSION_ONLINE_PROGRESS;
    case ES_OL_R_OK: return ESESSION_ONLINE_MESSAGE;
    case ES_OL_R_DUPLICATE: return ESESSION_ONLINE_DUPLICATE;
    case ES_OL_R_TERMINATED:
    case ES_OL_R_TERMINATED_CROSSING: return ESESSION_ONLINE_TERMINATED;
    case ES_OL_R_ACKNOWLEDGED: return ESESSION_ONLINE_ACKNOWLEDGED;
    case ES_OL_R_IGNORED: return ESESSION_ONLINE_IGNORED;
    case ES_OL_R_ERROR: return ESESSION_ONLINE_ERROR;
    }
    return ESESSION_ONLINE_ERROR;
}

esession_status esession_online_feed(esession_online_session *w, const char *stanza, size_t len,
                                     esession_online_result *res)
{
    es_ol_result r;
    if (w == NULL || stanza == NULL || res == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(w->ctx);
    memset(&r, 0, sizeof r);
    esession_status rc = es_ol_feed(w->s, stanza, len, NULL, 0, &r);
    if (rc != ESESSION_OK)
        return rc;
    memset(res, 0, sizeof *res);
    res->kind = kind_of(r.kind);
    res->error = r.kind == ES_OL_R_ERROR ? r.error : ESESSION_OK;
    memcpy(res->condition, r.condition, sizeof res->condition);
    res->established = r.established;
    res->crossing = r.kind == ES_OL_R_TERMINATED_CROSSING;
    res->plaintext = r.plain;
    memcpy(res->counter, r.counter, sizeof res->counter);
    res->profile = r.profile;
    res->reply = r.reply;
    r.plain.data = NULL;
    r.reply.data = NULL;
    es_ol_result_clear(&r);
    res->storage = persist(w);
    return ESESSION_OK;
}

void esession_online_result_free(esession_online_result *res)
{
    if (res == NULL)
        return;
    esession_buf_free(&res->plaintext);
    esession_buf_free(&res->reply);
    sodium_memzero(res, sizeof *res);
}

esession_status esession_online_seal(esession_online_session *w, const char *message, size_t len,
                                     esession_buf *out)
{
    char type[ES_SENDER_TYPE_MAX];
    esession_buf m = {NULL, 0, 0};
    es_ol_seal_in in;
    esession_status rc;

    if (w == NULL || message == NULL || out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(w->ctx);
    if (es_ol_get_state(w->s) != ES_OL_OPEN)
        return es_fail(w->ctx, ESESSION_ERR_STATE, "the session is not open for sending");
    if ((rc = es_message_plain_in(w->ctx, w->peer_bare, message, len, type, &m)) != ESESSION_OK)
        return rc;
    memset(&in, 0, sizeof in);
    in.m = (const uint8_t *)m.data;
    in.m_len = m.len;
    /* The stream refuses (counter-exhausted) once the bound is reached
     * without a re-key: the caller then terminates. */
    int want = es_ol_needs_rekey(w->s, m.len) || w->rekey_next ||
               es_ol_sent(w->s) + 1 >= ES_OL_AUTO_REKEY;
    in.rekey = want && es_ol_may_rekey(w->s);
    rc = es_ol_seal(w->s, &in, type, NULL, out);
    if (rc == ESESSION_OK && in.rekey)
        w->rekey_next = 0;
    esession_buf_free(&m);
    return rc;
}

esession_status esession_online_rekey(esession_online_session *w)
{
    if (w == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_ol_state st = es_ol_get_state(w->s);
    if (st != ES_OL_OPEN && st != ES_OL_NEGOTIATING)
        return es_fail(w->ctx, ESESSION_ERR_STATE, "the session is over");
    w->rekey_next = 1;
    return ESESSION_OK;
}

esession_status esession_online_terminate(esession_online_session *w, esession_buf *out)
{
    if (w == NULL || out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    return es_ol_terminate(w->s, NULL, out);
}

esession_status esession_online_poll(esession_online_session *w, int *timed_out)
{
    if (w == NULL || timed_out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    *timed_out = es_ol_tick(w->s, es_now(w->ctx));
    return ESESSION_OK;
}

esession_online_state esession_online_get_state(const esession_online_session *w)
{
    if (w == NULL)
        return ESESSION_ONLINE_FAILED;
    switch (es_ol_get_state(w->s)) {
    case ES_OL_NEGOTIATING: return ESESSION_ONLINE_NEGOTIATING;
    case ES_OL_OPEN: return ESESSION_ONLINE_OPEN;
    case ES_OL_TERM_SENT: return ESESSION_ONLINE_TERMINATE_SENT;
    case ES_OL_ENDED: return ESESSION_ONLINE_ENDED;
    case ES_OL_FAILED: return ESESSION_ONLINE_FAILED;
    }
    return ESESSION_ONLINE_FAILED;
}

int esession_online_verified(const esession_online_session *w)
{
    return w != NULL && es_ol_has_peer_status(w->s) && es_ol_peer_verified(w->s);
}

esession_status esession_online_sas(const esession_online_session *w, char out[6])
{
    if (w == NULL || out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    const char *sas = es_ol_sas_text(w->s);
    if (sas == NULL)
        return es_fail(w->ctx, ESESSION_ERR_STATE, "no SAS (not yet, or a 3-message session)");
    memcpy(out, sas, ES_OL_SAS_LEN + 1);
    return ESESSION_OK;
}

esession_status esession_online_confirm_sas(esession_online_session *w)
{
    if (w == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(w->ctx);
    esession_status rc = es_ol_confirm_sas(w->s);
    if (rc == ESESSION_OK)
        rc = persist(w);
    return rc;
}

esession_status esession_online_peer_fingerprint(const esession_online_session *w,
                                                 uint8_t out[ESESSION_FINGERPRINT_BYTES])
{
    if (w == NULL || out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (!es_ol_peer_fingerprint(w->s, out))
        return es_fail(w->ctx, ESESSION_ERR_STATE, "no key of the peer");
    return ESESSION_OK;
}

const char *esession_online_thread(const esession_online_session *w)
{
    return w != NULL ? es_ol_thread(w->s) : NULL;
}

const char *esession_online_peer(const esession_online_session *w)
{
    return w != NULL ? es_ol_peer_jid(w->s) : NULL;
}

void esession_online_free(esession_online_session *w)
{
    if (w == NULL)
        return;
    es_ol_free(w->s);
    free(w->peer_bare);
    free(w);
}

/* ---- routing ------------------------------------------------------------ */

static int is_request(const es_ol_in *in)
{
    if (in->form == NULL || in->in_init)
        return 0;
    xmlChar *t = xmlGetNoNsProp(in->form, (const xmlChar *)"type");
    int yes = t != NULL && strcmp((const char *)t, "form") == 0;
    xmlFree(t);
    return yes;
}

esession_status esession_online_inspect(esession_ctx *ctx, const char *stanza, size_t len,
                                        esession_online_info *out)
{
    es_ol_in in;
    esession_online_info info;
    if (ctx == NULL || stanza == NULL || out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ctx);
    esession_status rc = es_ol_in_parse(ctx, stanza, len, &in);
    if (rc != ESESSION_OK)
        return rc;
    memset(&info, 0, sizeof info);
    info.request = is_request(&in);
    const char *from = in.from != NULL ? in.from : "", *thread = in.thread != NULL ? in.thread : "";
    rc = es_buf_set(&info.from, from, strlen(from), 0);
    if (rc == ESESSION_OK)
        rc = es_buf_set(&info.thread, thread, strlen(thread), 0);
    es_ol_in_free(&in);
    if (rc != ESESSION_OK) {
        esession_online_info_free(&info);
        return es_fail(ctx, rc, "out of memory");
    }
    *out = info;
    return ESESSION_OK;
}

void esession_online_info_free(esession_online_info *info)
{
    if (info == NULL)
        return;
    esession_buf_free(&info->from);
    esession_buf_free(&info->thread);
    memset(info, 0, sizeof *info);
}

esession_status esession_online_crossing(const esession_online_session *mine, const char *peer_msg1,
                                         size_t len, int *answer)
{
    es_ol_in in;
    if (mine == NULL || peer_msg1 == NULL || answer == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(mine->ctx);
    if (!es_ol_waiting_answer(mine->s))
        return es_fail(mine->ctx, ESESSION_ERR_STATE, "not a request waiting for its answer");
    esession_status rc = es_ol_in_parse(mine->ctx, peer_msg1, len, &in);
    if (rc != ESESSION_OK)
        return rc;
    size_t bl = strlen(mine->peer_bare);
    if (!is_request(&in) || in.thread == NULL || in.from == NULL ||
        strncmp(in.from, mine->peer_bare, bl) != 0 || (in.from[bl] != '\0' && in.from[bl] != '/'))
        rc = es_fail(mine->ctx, ESESSION_ERR_INVALID_ARGUMENT,
                     "not a request from the peer of this session");
    else
        *answer = strcmp(in.thread, es_ol_thread(mine->s)) < 0;
    es_ol_in_free(&in);
    return rc;
}
