/* SPDX-License-Identifier: ISC */
/* Alice before going offline and when she comes back (XEP-0187 §3.1,
 * §3.4): option sets are drawn, stored encrypted, then published; coming
 * online withdraws them and, once the offline queue is processed, their
 * exponents are destroyed. */
#include "../core/core.h"
#include "../core/jid.h"
#include "../crypto/aes_ctr.h"
#include "../crypto/dh.h"
#include "../crypto/hash.h"
#include "../crypto/sig.h"
#include "options_sig.h"
#include "../pep/pep.h"
#include "../store/store.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_LIFETIME (7 * 24 * 3600)
#define MAX_LIFETIME (366 * 24 * 3600)
#define SIGNING_KEYS_MAX 8
#define NONCE_BYTES 32
/* Option sets withdrawn by esession_online, waiting for the queue. */
#define RETIRED_BLOB "alice/retired"

static const int default_groups[] = {14, 15, 16};
static const char *const default_ciphers[] = {"aes256-ctr", "aes128-ctr"};
static const char *const default_hashes[] = {"sha256", "sha512"};
static const char *const otr_values[] = {"false", "true"};
static const char *const disclosure_values[] = {"never"};
static const char *const security_values[] = {"e2e"};
static const char *const compress_values[] = {"none"};
static const char *const stanza_values[] = {"message"};
static const char *const ver_values[] = {"1.0"};
static const char *const sign_values[] = {ES_SIGN_ALG_RSA, ES_SIGN_ALG_DSA};

static esession_status check_publish_options(esession_ctx *ctx, const esession_publish_options *o)
{
    if (o->version != ESESSION_PUBLISH_OPTIONS_VERSION)
        return es_fail(ctx, ESESSION_ERR_VERSION, "publish options: unknown version");
    if (o->n_groups > ES_OPT_MAX_GROUPS || (o->groups == NULL && o->n_groups != 0))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "publish: 1..%u groups", ES_OPT_MAX_GROUPS);
    for (size_t i = 0; o->groups != NULL && i < o->n_groups; i++) {
        if (!es_modp_supported(o->groups[i]))
            return es_fail(ctx, ESESSION_ERR_UNSUPPORTED, "publish: MODP group %d is not supported",
                           o->groups[i]);
        if (es_modp_bits(o->groups[i]) < 2048 && !o->allow_weak_groups)
            return es_fail(ctx, ESESSION_ERR_UNSUPPORTED,
                           "publish: group %d is below 2048 bits (allow_weak_groups)", o->groups[i]);
        for (size_t j = 0; j < i; j++)
            if (o->groups[j] == o->groups[i])
                return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "publish: group %d twice",
                               o->groups[i]);
    }
    es_cipher_alg c;
    es_hash_alg h;
    if (o->n_ciphers > ES_OPT_MAX_LIST || o->n_hashes > ES_OPT_MAX_LIST ||
        (o->ciphers == NULL && o->n_ciphers) || (o->hashes == NULL && o->n_hashes))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "publish: bad cipher or hash list");
    for (size_t i = 0; o->ciphers != NULL && i < o->n_ciphers; i++)
        if (o->ciphers[i] == NULL ||
            es_cipher_from_name(o->ciphers[i], strlen(o->ciphers[i]), &c) != ESESSION_OK)
            return es_fail(ctx, ESESSION_ERR_UNSUPPORTED, "publish: unsupported cipher");
    for (size_t i = 0; o->hashes != NULL && i < o->n_hashes; i++)
        if (o->hashes[i] == NULL ||
            es_hash_from_name(o->hashes[i], strlen(o->hashes[i]), &h) != ESESSION_OK)
            return es_fail(ctx, ESESSION_ERR_UNSUPPORTED, "publish: unsupported hash");
    if (o->lifetime < 0 || o->lifetime > MAX_LIFETIME)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "publish: lifetime out of range");
    if (o->match_resource != NULL)
        return es_jid_check(ctx, o->match_resource, ESESSION_JID_RESOURCE);
    return ESESSION_OK;
}

/* Everything drawn for one option set; wiped by release(). */
typedef struct draw {
    uint8_t nonce[NONCE_BYTES];
    int groups[ES_OPT_MAX_GROUPS];
    size_t n_groups;
    esession_buf x[ES_OPT_MAX_GROUPS];
    esession_buf e[ES_OPT_MAX_GROUPS];
    const esession_key *keys[SIGNING_KEYS_MAX]; /* borrowed from the keystore */
    size_t n_keys;
    char group_names[ES_OPT_MAX_GROUPS][8];
    const char *group_list[ES_OPT_MAX_GROUPS];
} draw;

static void release(draw *d)
{
    for (size_t i = 0; i < ES_OPT_MAX_GROUPS; i++) {
        esession_buf_free(&d->x[i]);
        esession_buf_free(&d->e[i]);
    }
    sodium_memzero(d, sizeof *d);
}

static esession_status draw_secrets(esession_ctx *ctx, esession_keystore *ks,
                                    const esession_publish_options *o, draw *d)
{
    size_t nk = esession_keystore_key_count(ks);
    if (nk == 0)
        return es_fail(ctx, ESESSION_ERR_STATE, "publish: the keystore has no signing key");
    if (nk > SIGNING_KEYS_MAX)
        nk = SIGNING_KEYS_MAX;
    esession_status rc = ESESSION_OK;
    for (size_t i = 0; rc == ESESSION_OK && i < nk; i++) {
        rc = es_ks_signing_key(ks, i, &d->keys[i]);
        if (rc == ESESSION_OK)
            d->n_keys++;
    }
    const int *groups = o->groups ? o->groups : default_groups;
    d->n_groups = o->groups ? o->n_groups : ES_ARRAY_LEN(default_groups);
    if (rc == ESESSION_OK && d->n_groups == 0)
        rc = es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "publish: no group");
    if (rc == ESESSION_OK)
        rc = es_random(ctx, d->nonce, sizeof d->nonce);
    for (size_t i = 0; rc == ESESSION_OK && i < d->n_groups; i++) {
        es_dh *dh = NULL;
        d->groups[i] = groups[i];
        rc = es_dh_generate(ctx, &dh, groups[i]);
        if (rc == ESESSION_OK)
            rc = es_dh_private_in(ctx, dh, &d->x[i]);
        if (rc == ESESSION_OK)
            rc = es_dh_public(dh, &d->e[i]);
        es_dh_free(dh);
        snprintf(d->group_names[i], sizeof d->group_names[i], "%d", groups[i]);
        d->group_list[i] = d->group_names[i];
    }
    return rc;
}

static void fill_offer(const esession_publish_options *o, const draw *d, int64_t expires,
                       es_offer *offer)
{
    memset(offer, 0, sizeof *offer);
    offer->otr = (es_strlist){ES_ARRAY_LEN(otr_values), otr_values};
    offer->disclosure = (es_strlist){ES_ARRAY_LEN(disclosure_values), disclosure_values};
    offer->security = (es_strlist){ES_ARRAY_LEN(security_values), security_values};
    offer->modp = (es_strlist){d->n_groups, d->group_list};
    offer->crypt_algs = o->ciphers ? (es_strlist){o->n_ciphers, o->ciphers}
                                   : (es_strlist){ES_ARRAY_LEN(default_ciphers), default_ciphers};
    offer->hash_algs = o->hashes ? (es_strlist){o->n_hashes, o->hashes}
                                 : (es_strlist){ES_ARRAY_LEN(default_hashes), default_hashes};
    offer->sign_algs = (es_strlist){ES_ARRAY_LEN(sign_values), sign_values};
    offer->compress = (es_strlist){ES_ARRAY_LEN(compress_values), compress_values};
    offer->stanzas = (es_strlist){ES_ARRAY_LEN(stanza_values), stanza_values};
    offer->ver = (es_strlist){ES_ARRAY_LEN(ver_values), ver_values};
    offer->rekey_freq = o->rekey_freq ? o->rekey_freq : 1;
    offer->expires = expires;
    offer->match_resource = o->match_resource;
}

static esession_status publish_tx(esession_ctx *ctx, esession_keystore *ks,
                                  const esession_publish_options *opt, esession_publication *out)
{
    static const esession_publish_options defaults = ESESSION_PUBLISH_OPTIONS_INIT;
    if (ctx == NULL || ks == NULL || out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ctx);
    if (es_ks_require_durable(ctx, ks) != ESESSION_OK)
        return ESESSION_ERR_STATE;
    const esession_publish_options *o = opt ? opt : &defaults;
    esession_status rc = check_publish_options(ctx, o);
    if (rc != ESESSION_OK)
        return rc;

    draw d;
    memset(&d, 0, sizeof d);
    esession_publication p;
    memset(&p, 0, sizeof p);
    es_offer offer;
    es_pep_request create_req, publish_req;
    es_pep_node node = o->open_node ? ES_PEP_NODE_OPEN : ES_PEP_NODE_SUBSCRIBERS;
    int64_t now = es_now(ctx);
    int stored = 0;

    p.expires = now + (o->lifetime ? o->lifetime : DEFAULT_LIFETIME);
    rc = draw_secrets(ctx, ks, o, &d);
    if (rc == ESESSION_OK) {
        fill_offer(o, &d, p.expires, &offer);
        rc = es_options_build(ctx, &offer, d.nonce, sizeof d.nonce, d.e,
                              d.keys, d.n_keys, &p.form);
    }
    /* The exponents are stored before any stanza leaves this function. */
    if (rc == ESESSION_OK)
        rc = (o->open_node ? es_ks_optset_add_open : es_ks_optset_add)(
            ks, d.nonce, sizeof d.nonce, now, p.expires, d.groups, d.x, d.n_groups, p.form.data,
            p.form.len);
    stored = rc == ESESSION_OK;
    if (rc == ESESSION_OK)
        rc = es_pep_build_create(ctx, node, &p.create_iq, &create_req);
    if (rc == ESESSION_OK)
        rc = es_pep_build_publish_built(ctx, node, p.form.data, p.form.len, &p.publish_iq,
                                        &publish_req);
    if (rc == ESESSION_OK) {
        memcpy(p.create_id, create_req.id, sizeof create_req.id);
        memcpy(p.publish_id, publish_req.id, sizeof publish_req.id);
        memcpy(p.nonce, d.nonce, sizeof d.nonce);
        p.nonce_len = sizeof d.nonce;
        *out = p;
    } else {
        /* The first error is the answer; a failed rollback is told too
         * (the set was never published and only waits for its expiry). */
        if (stored && es_ks_optset_remove(ks, d.nonce, sizeof d.nonce) != ESESSION_OK) {
            char first[ES_DETAIL_MAX];
            memcpy(first, ctx->detail, sizeof first);
            first[sizeof first - 1] = '\0';
            es_fail(ctx, rc, "%s (and the unpublished option set stays stored until it expires)",
                    first);
        }
        esession_publication_free(&p);
    }
    release(&d);
    return rc;
}

/* The set and its exponents are committed before the IQs are handed out. */
esession_status esession_publish(esession_ctx *ctx, esession_keystore *ks,
                                 const esession_publish_options *opt, esession_publication *out)
{
    esession_publication p;
    esession_status chk = es_ks_check(ctx, ks);
    if (chk != ESESSION_OK)
        return chk;
    if (out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    memset(&p, 0, sizeof p);
    esession_status rc = es_tx_begin(ks, 1);
    if (rc != ESESSION_OK)
        return rc;
    esession_status inner = publish_tx(ctx, ks, opt, &p);
    rc = es_tx_end(ks, inner);
    if (rc == ESESSION_OK)
        *out = p;
    else if (inner == ESESSION_OK)
        esession_publication_free(&p); /* the commit failed: nothing was stored */
    return rc;
}

void esession_publication_free(esession_publication *p)
{
    if (p == NULL)
        return;
    esession_buf_free(&p->create_iq);
    esession_buf_free(&p->publish_iq);
    esession_buf_free(&p->form);
    sodium_memzero(p, sizeof *p);
}

static esession_status online_tx(esession_ctx *ctx, esession_keystore *ks, esession_buf *iq,
                                 char id[ESESSION_IQ_ID_MAX])
{
    if (ctx == NULL || ks == NULL || iq == NULL || id == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ctx);
    if (es_ks_require_durable(ctx, ks) != ESESSION_OK)
        return ESESSION_ERR_STATE;
    /* Remember which sets were offered while offline: their nonces, one
     * after another, each preceded by its length. */
    size_t n = es_ks_optset_count(ks);
    uint8_t *list = malloc(n * (1 + ES_NONCE_MAX) + 1);
    if (list == NULL)
        return ESESSION_ERR_NO_MEMORY;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        const es_optset *set = es_ks_optset_at(ks, i);
        /* The open node's sets stay until replaced (XEP-0187 §6). */
        if (set == NULL || set->secrets_destroyed || set->open_node)
            continue;
        list[len++] = (uint8_t)set->nonce_len;
        memcpy(list + len, set->nonce, set->nonce_len);
        len += set->nonce_len;
    }
    esession_buf out = {0};
    es_pep_request req;
    esession_status rc = es_pep_build_publish_empty(ctx, ES_PEP_NODE_SUBSCRIBERS, &out, &req);
    if (rc == ESESSION_OK)
        rc = es_ks_blob_put(ks, RETIRED_BLOB, list, len);
    free(list);
    if (rc != ESESSION_OK) {
        esession_buf_free(&out);
        return rc;
    }
    *iq = out;
    memcpy(id, req.id, sizeof req.id);
    return ESESSION_OK;
}

esession_status esession_online(esession_ctx *ctx, esession_keystore *ks, esession_buf *iq,
                                char id[ESESSION_IQ_ID_MAX])
{
    esession_buf out = {NULL, 0, 0};
    char oid[ESESSION_IQ_ID_MAX];
    esession_status chk = es_ks_check(ctx, ks);
    if (chk != ESESSION_OK)
        return chk;
    if (iq == NULL || id == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    esession_status rc = es_tx_begin(ks, 1);
    if (rc != ESESSION_OK)
        return rc;
    rc = es_tx_end(ks, online_tx(ctx, ks, &out, oid));
    if (rc != ESESSION_OK) {
        esession_buf_free(&out);
        return rc;
    }
    *iq = out;
    memcpy(id, oid, sizeof oid);
    return ESESSION_OK;
}

/* One IQ of the builders above, handed out with its id. */
static esession_status hand_out(esession_ctx *ctx, esession_buf *iq, char id[ESESSION_IQ_ID_MAX],
                                esession_status (*build)(esession_ctx *, es_pep_node,
                                                         esession_buf *, es_pep_request *),
                                es_pep_node node)
{
    if (ctx == NULL || iq == NULL || id == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ctx);
    esession_buf out = {0};
    es_pep_request req;
    esession_status rc = build(ctx, node, &out, &req);
    if (rc != ESESSION_OK)
        return rc;
    *iq = out;
    memcpy(id, req.id, sizeof req.id);
    return ESESSION_OK;
}

esession_status esession_online_retract(esession_ctx *ctx, esession_buf *iq,
                                        char id[ESESSION_IQ_ID_MAX])
{
    return hand_out(ctx, iq, id, es_pep_build_retract, ES_PEP_NODE_SUBSCRIBERS);
}

esession_status esession_node_create_iq(esession_ctx *ctx, int open_node, esession_buf *iq,
                                        char id[ESESSION_IQ_ID_MAX])
{
    return hand_out(ctx, iq, id, es_pep_build_create,
                    open_node ? ES_PEP_NODE_OPEN : ES_PEP_NODE_SUBSCRIBERS);
}

/* The withdrawn list: nonces one after another, each preceded by its
 * length. Calls fn for each; ESESSION_ERR_CORRUPT if the list is damaged. */
static esession_status each_withdrawn(esession_ctx *ctx, const esession_buf *list,
                                      esession_status (*fn)(void *, const uint8_t *, size_t),
                                      void *arg)
{
    const uint8_t *p = (const uint8_t *)list->data;
    size_t i = 0;
    esession_status rc = ESESSION_OK;
    while (rc == ESESSION_OK && i < list->len) {
        size_t nl = p[i++];
        if (nl > list->len - i)
            return es_fail(ctx, ESESSION_ERR_CORRUPT, "withdrawn option set list is damaged");
        rc = fn(arg, p + i, nl);
        i += nl;
    }
    return rc;
}

static esession_status destroy_one(void *arg, const uint8_t *nonce, size_t len)
{
    esession_status st = es_ks_optset_destroy_secrets(arg, nonce, len);
    /* A set purged meanwhile is fine. */
    return st == ESESSION_ERR_UNKNOWN_OPTIONS ? ESESSION_OK : st;
}

static esession_status queue_done_tx(esession_ctx *ctx, esession_keystore *ks)
{
    if (ctx == NULL || ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ctx);
    if (es_ks_require_durable(ctx, ks) != ESESSION_OK)
        return ESESSION_ERR_STATE;
    esession_buf list = {0};
    esession_status rc = es_ks_blob_get(ks, RETIRED_BLOB, &list);
    if (rc == ESESSION_ERR_NO_SESSION)
        return ESESSION_OK; /* nothing was withdrawn */
    if (rc != ESESSION_OK)
        return rc;
    rc = each_withdrawn(ctx, &list, destroy_one, ks);
    if (rc == ESESSION_OK)
        rc = es_ks_blob_delete(ks, RETIRED_BLOB);
    esession_buf_free(&list);
    return rc;
}

esession_status esession_offline_queue_done(esession_ctx *ctx, esession_keystore *ks)
{
    esession_status rc = es_ks_check(ctx, ks);
    if (rc != ESESSION_OK)
        return rc;
    rc = es_tx_begin(ks, 1);
    if (rc != ESESSION_OK)
        return rc;
    return es_tx_end(ks, queue_done_tx(ctx, ks));
}

typedef struct find_arg {
    const uint8_t *nonce;
    size_t len;
    int found;
} find_arg;

static esession_status match_one(void *arg, const uint8_t *nonce, size_t len)
{
    find_arg *f = arg;
    if (len == f->len && memcmp(nonce, f->nonce, len) == 0)
        f->found = 1;
    return ESESSION_OK;
}

size_t esession_optset_count(const esession_keystore *ks)
{
    return ks != NULL ? es_ks_optset_count(ks) : 0;
}

esession_status esession_optset_at(const esession_keystore *ks, size_t index,
                                   esession_optset_info *out)
{
    if (ks == NULL || out == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    const es_optset *set = es_ks_optset_at(ks, index);
    if (set == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    esession_optset_info info;
    memset(&info, 0, sizeof info);
    memcpy(info.nonce, set->nonce, set->nonce_len);
    info.nonce_len = set->nonce_len;
    info.created = set->created;
    info.expires = set->expires;
    info.secrets_destroyed = set->secrets_destroyed;
    info.open_node = set->open_node;
    info.n_groups = set->n_groups;
    for (size_t i = 0; i < set->n_groups && i < ES_ARRAY_LEN(info.groups); i++)
        info.groups[i] = set->groups[i];
    info.sessions = set->n_replay;

    /* Reading the store changes nothing the caller holds. */
    esession_keystore *mks = (esession_keystore *)(uintptr_t)ks;
    esession_buf list = {0};
    esession_status rc = es_ks_blob_get(mks, RETIRED_BLOB, &list);
    if (rc == ESESSION_OK) {
        find_arg f = {set->nonce, set->nonce_len, 0};
        rc = each_withdrawn(es_ks_ctx(ks), &list, match_one, &f);
        info.withdrawn = f.found && !set->secrets_destroyed;
        esession_buf_free(&list);
    } else if (rc == ESESSION_ERR_NO_SESSION) {
        rc = ESESSION_OK;
    }
    if (rc == ESESSION_OK)
        *out = info;
    return rc;
}

esession_status esession_purge_expired(esession_ctx *ctx, esession_keystore *ks, size_t *removed)
{
    if (es_ks_check(ctx, ks) != ESESSION_OK)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ctx);
    if (es_ks_require_durable(ctx, ks) != ESESSION_OK)
        return ESESSION_ERR_STATE;
    int64_t now = es_now(ctx);
    size_t gone = 0;
    esession_status rc = es_ks_optset_purge_expired(ks, now, &gone);
    if (rc != ESESSION_OK)
        return rc; /* nothing was removed: no event */
    /* Tell the host once per set actually destroyed. */
    for (size_t i = 0; ctx->ops.event != NULL && i < gone; i++) {
        esession_event ev = {ESESSION_EVENT_EXPIRED, ESESSION_OK, NULL, NULL, 0, 0};
        ctx->ops.event(ctx->user, &ev);
    }
    if (removed != NULL)
        *removed = gone;
    return ESESSION_OK;
}
