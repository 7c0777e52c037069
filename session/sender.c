/* SPDX-License-Identifier: ISC */
/* Bob starts an offline ESession (XEP-0187 §3.2-3.3): Alice's options are
 * fetched and verified, options chosen, the Diffie-Hellman and key
 * schedule run, his identity hidden in <init>, and the session stored
 * before anything is handed out. Also the public wrappers of the sender
 * API; the stanzas themselves are in sender_seal.c. */
#include "sender.h"

#include "../core/bytes.h"
#include "../core/jid.h"
#include "../crypto/base64.h"
#include "../forms/xml.h"
#include "../pep/pep.h"
#include "../store/trust_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BOB_KEYS_MAX 64u /* the keystore's limit */

/* ---- inputs ----------------------------------------------------------- */

static int thread_ok(const char *t)
{
    if (t == NULL || strlen(t) != ES_SENDER_THREAD_HEX)
        return 0;
    for (size_t i = 0; i < ES_SENDER_THREAD_HEX; i++)
        if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
            return 0;
    return 1;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (p != NULL)
        memcpy(p, s, n + 1);
    return p;
}

/* ---- Bob's keys and Alice's ------------------------------------------- */

/* The first keystore key of each type, and the set of types. */
typedef struct bob_keys {
    const esession_key *by_type[3]; /* borrowed from the keystore (es_ks_signing_key) */
    unsigned types;
} bob_keys;

static void bob_keys_free(bob_keys *b)
{
    memset(b, 0, sizeof *b);
}

static esession_status load_bob_keys(esession_ctx *ctx, esession_keystore *ks, bob_keys *b)
{
    size_t n = esession_keystore_key_count(ks);
    memset(b, 0, sizeof *b);
    for (size_t i = 0; i < n && i < BOB_KEYS_MAX; i++) {
        const esession_key *k = NULL;
        esession_status rc = es_ks_signing_key(ks, i, &k);
        if (rc != ESESSION_OK) {
            bob_keys_free(b);
            return es_fail(ctx, rc, "cannot load a signing key from the keystore");
        }
        unsigned t = (unsigned)esession_key_get_type(k);
        if (t < ES_ARRAY_LEN(b->by_type) && b->by_type[t] == NULL) {
            b->by_type[t] = k;
            b->types |= 1u << t;
        }
    }
    if (b->types == 0)
        return es_fail(ctx, ESESSION_ERR_STATE, "the keystore has no signing key");
    return ESESSION_OK;
}

/* Keys trusted for Alice: the trust store's entries for her bare JID,
 * each confirmed or vetoed by the host's trust hook when there is one
 * (1 or -1, "ask the trust store", keep it; 0 drops it). */
static esession_status alice_keys(esession_ctx *ctx, esession_keystore *ks, const char *alice,
                                  esession_key **keys, size_t *n)
{
    size_t found = 0, kept = 0;
    esession_status rc = es_ks_trusted_keys(ks, alice, keys, ES_SENDER_TRUSTED_MAX, &found);
    if (rc != ESESSION_OK)
        return es_fail(ctx, rc, "cannot read the trust store");
    for (size_t i = 0; i < found; i++) {
        int verdict = ctx->ops.trust != NULL ? ctx->ops.trust(ctx->user, alice, keys[i]) : -1;
        if (verdict == 0)
            esession_key_free(keys[i]);
        else
            keys[kept++] = keys[i];
    }
    *n = kept;
    return ESESSION_OK;
}

/* ---- formB and <init> ------------------------------------------------- */

typedef struct form_in {
    const es_choice *choice;
    const uint8_t *n_b;
    size_t n_b_len;
    const esession_buf *d;
    const uint8_t *n_a;
    size_t n_a_len;
    const uint8_t *c_a;
    int terminate;
} form_in;

static esession_status add_text(esession_ctx *ctx, es_form *f, const char *var, const char *v)
{
    es_form_field *fld = NULL;
    esession_status rc = es_form_add_field(ctx, f, var, ES_FIELD_NONE, &fld);
    if (rc == ESESSION_OK)
        rc = es_form_add_value(ctx, fld, v);
    return rc;
}

static esession_status add_b64(esession_ctx *ctx, es_form *f, const char *var,
                               const uint8_t *v, size_t n)
{
    /* Every octet here is sent as is (nonces, d, counter, IDB, MB): the
     * table-driven encoder. */
    esession_buf b = {NULL, 0, 0};
    esession_status rc = es_buf_alloc(&b, es_base64_encoded_len(n), 0);
    if (rc != ESESSION_OK)
        return es_fail(ctx, rc, "out of memory for base64");
    es_base64_encode_public(b.data, v, n);
    rc = add_text(ctx, f, var, b.data);
    esession_buf_free(&b);
    return rc;
}

/* Bob's form, XEP-0187 Listing 7 / PROFILE §8 order, without identity
 * and mac (added once macB is known, see add_identity). */
static esession_status form_b_build(esession_ctx *ctx, const form_in *in, es_form **out)
{
    static const char *const vars[ES_CH_COUNT] = {
        "otr", "disclosure", "security", "modp", "crypt_algs",
        "hash_algs", "sign_algs", "compress", "stanzas", "ver",
    };
    char freq[16];
    es_form *f = NULL;
    esession_status rc = es_form_new(ctx, ES_FORM_SUBMIT, &f);
    if (rc != ESESSION_OK)
        return rc;
    rc = add_text(ctx, f, "FORM_TYPE", ES_SSN_FORM_TYPE);
    for (size_t i = 0; rc == ESESSION_OK && i < ES_CH_COUNT; i++)
        rc = add_text(ctx, f, vars[i], in->choice->value[i]);
    snprintf(freq, sizeof freq, "%lu", (unsigned long)in->choice->rekey_freq);
    if (rc == ESESSION_OK)
        rc = add_text(ctx, f, "rekey_freq", freq);
    if (rc == ESESSION_OK)
        rc = add_b64(ctx, f, "my_nonce", in->n_b, in->n_b_len);
    if (rc == ESESSION_OK)
        rc = add_b64(ctx, f, "dhkeys", (const uint8_t *)in->d->data, in->d->len);
    if (rc == ESESSION_OK)
        rc = add_b64(ctx, f, "nonce", in->n_a, in->n_a_len);
    if (rc == ESESSION_OK)
        rc = add_b64(ctx, f, "counter", in->c_a, ES_AES_BLOCK);
    if (rc == ESESSION_OK && in->terminate)
        rc = add_text(ctx, f, "terminate", "1");
    if (rc != ESESSION_OK) {
        es_form_free(f);
        return rc;
    }
    *out = f;
    return ESESSION_OK;
}

/* identity and mac, last: normalize(x, {identity, mac}) of the text sent
 * is then the formB that macB covers. */
static esession_status add_identity(esession_ctx *ctx, es_form *f, const es_id_sealed *id)
{
    esession_status rc = add_b64(ctx, f, "identity", (const uint8_t *)id->idb.data, id->idb.len);
    return rc == ESESSION_OK ? add_b64(ctx, f, "mac", id->mb, id->mac_len) : rc;
}

static esession_status init_text(esession_ctx *ctx, const esession_buf *x, char **out,
                                 size_t *out_len)
{
    static const char open[] = "<init xmlns='" ES_INIT_NS "'>\n    ";
    static const char close[] = "\n  </init>";
    size_t n = strlen(open) + x->len + strlen(close);
    char *p = malloc(n + 1);
    if (p == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory for <init>");
    memcpy(p, open, strlen(open));
    memcpy(p + strlen(open), x->data, x->len);
    memcpy(p + strlen(open) + x->len, close, strlen(close) + 1);
    *out = p;
    *out_len = n;
    return ESESSION_OK;
}

/* ---- start ------------------------------------------------------------ */

/* Everything a start holds; released (and wiped) by start_clear. */
typedef struct start_work {
    es_options *opt;
    bob_keys bob;
    es_choice choice;
    es_dh *dh;
    esession_buf d;
    es_session_keys *keys;
    es_chan *chan;
    uint8_t n_b[ES_OPT_NONCE_MAX];
    size_t n_b_len;
    uint8_t c_a[ES_AES_BLOCK];
    uint8_t c_b[ES_AES_BLOCK];
    es_form *x;            /* formB, with identity and mac once sealed */
    esession_buf form_b;   /* normalize(formB, {identity, mac}) */
    esession_buf x_full;   /* the text of x with identity and mac */
    es_id_sealed id;
    es_sender_info info;
    es_sender_progress *prog;
} start_work;

static void start_clear(start_work *w)
{
    es_options_free(w->opt);
    bob_keys_free(&w->bob);
    es_dh_free(w->dh);
    esession_buf_free(&w->d);
    es_session_keys_free(w->keys);
    es_chan_free(w->chan);
    es_form_free(w->x);
    esession_buf_free(&w->form_b);
    esession_buf_free(&w->x_full);
    es_id_sealed_clear(&w->id);
    es_sender_info_clear(&w->info);
    es_secret_free(w->prog);
    sodium_memzero(w, sizeof *w);
}

static esession_status check_start_args(esession_ctx *ctx, const char *bob, const char *alice,
                                        const esession_sender_options *o,
                                        const es_sender_fixed *fx)
{
    if (o->version != ESESSION_SENDER_OPTIONS_VERSION && o->version != 1)
        return es_fail(ctx, ESESSION_ERR_VERSION, "sender options: unknown version");
    esession_status rc = es_jid_check(ctx, bob, ESESSION_JID_FULL);
    if (rc != ESESSION_OK || (rc = es_jid_check(ctx, alice, ESESSION_JID_BARE)) != ESESSION_OK)
        return rc;
    if (fx == NULL)
        return ESESSION_OK;
    if ((fx->y == NULL && fx->y_len > 0) ||
        (fx->n_b != NULL && (fx->n_b_len < ES_OPT_NONCE_MIN || fx->n_b_len > ES_OPT_NONCE_MAX)) ||
        (fx->thread != NULL && !thread_ok(fx->thread)))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "bad fixed inputs");
    return ESESSION_OK;
}

/* y, N_B, C_A and the thread: given or drawn. */
static esession_status draw(esession_ctx *ctx, start_work *w, const es_sender_fixed *fx)
{
    esession_status rc;
    if (fx != NULL && fx->y != NULL)
        rc = es_dh_from_private(ctx, &w->dh, w->choice.group, fx->y, fx->y_len);
    else
        rc = es_dh_generate(ctx, &w->dh, w->choice.group);
    if (rc != ESESSION_OK)
        return rc;
    if (fx != NULL && fx->n_b != NULL) {
        memcpy(w->n_b, fx->n_b, fx->n_b_len);
        w->n_b_len = fx->n_b_len;
    } else {
        w->n_b_len = ES_SENDER_NONCE_BYTES;
        if ((rc = es_random(ctx, w->n_b, w->n_b_len)) != ESESSION_OK)
            return rc;
    }
    if (fx != NULL && fx->c_a != NULL)
        memcpy(w->c_a, fx->c_a, ES_AES_BLOCK);
    else if ((rc = es_random(ctx, w->c_a, ES_AES_BLOCK)) != ESESSION_OK)
        return rc;
    if (fx != NULL && fx->thread != NULL) {
        memcpy(w->info.thread, fx->thread, ES_SENDER_THREAD_HEX + 1);
    } else {
        uint8_t t[ES_SENDER_THREAD_HEX / 2];
        if ((rc = es_random(ctx, t, sizeof t)) != ESESSION_OK)
            return rc;
        es_hex(w->info.thread, t, sizeof t); /* lower-case, NUL-terminated */
    }
    return ESESSION_OK;
}

/* Alice's e for the chosen group, checked (PROFILE §3). */
static esession_status take_e(esession_ctx *ctx, start_work *w)
{
    const es_offer *o = &w->opt->offer;
    for (size_t i = 0; i < o->modp.n && i < w->opt->n_dhkeys; i++) {
        if (strcmp(o->modp.v[i], w->choice.value[ES_CH_MODP]) != 0)
            continue;
        if (w->opt->dhkey_len[i] > ES_SENDER_E_MAX)
            return es_fail(ctx, ESESSION_ERR_INVALID_DH_VALUE, "Alice's e is too long");
        esession_status rc = es_dh_check_public_in(ctx, w->choice.group, w->opt->dhkeys[i],
                                                w->opt->dhkey_len[i]);
        if (rc != ESESSION_OK)
            return es_fail(ctx, rc, "Alice's e for group %d is not valid", w->choice.group);
        memcpy(w->info.e, w->opt->dhkeys[i], w->opt->dhkey_len[i]);
        w->info.e_len = w->opt->dhkey_len[i];
        return ESESSION_OK;
    }
    return es_fail(ctx, ESESSION_ERR_INTERNAL, "no e for the chosen group");
}

/* Keys, formB, identity and <init> (XEP-0116 "Hiding Identity"). */
static esession_status derive_and_seal(esession_ctx *ctx, start_work *w,
                                       const esession_sender_options *o)
{
    esession_status rc = es_dh_public(w->dh, &w->d);
    if (rc != ESESSION_OK)
        return es_fail(ctx, rc, "out of memory for d");
    /* e was checked by take_e. */
    rc = es_session_keys_dh_checked(ctx, w->choice.suite, w->dh, w->info.e, w->info.e_len,
                                    &w->keys);
    es_dh_free(w->dh); /* y is needed no more */
    w->dh = NULL;
    if (rc == ESESSION_OK)
        rc = es_chan_new(ctx, &w->keys->b, &w->chan);
    if (rc != ESESSION_OK)
        return rc;
    es_counter_b(w->c_a, w->c_b);

    /* formB's normalized text straight from the form: the octets
     * Alice's normalization of the text sent gives (es_form_normalize_built). */
    static const char *const excluded[] = {"identity", "mac"};
    form_in fin = {&w->choice, w->n_b, w->n_b_len, &w->d, w->opt->nonce, w->opt->nonce_len,
                   w->c_a, o->single_stanza != 0};
    if ((rc = form_b_build(ctx, &fin, &w->x)) != ESESSION_OK ||
        (rc = es_form_normalize_built(ctx, w->x, excluded, ES_ARRAY_LEN(excluded),
                                      &w->form_b)) != ESESSION_OK)
        return rc;
    es_id_input in = {w->opt->nonce, w->opt->nonce_len, w->n_b, w->n_b_len,
                      (const uint8_t *)w->d.data, w->d.len, w->form_b.data, w->form_b.len};
    rc = es_identity_seal(ctx, w->keys, w->chan, w->bob.by_type[w->choice.sign_type], &in,
                          w->c_b, &w->id);
    if (rc != ESESSION_OK || (rc = add_identity(ctx, w->x, &w->id)) != ESESSION_OK ||
        (rc = es_form_serialize(ctx, w->x, "    ", &w->x_full)) != ESESSION_OK)
        return rc;
    return init_text(ctx, &w->x_full, &w->info.init, &w->info.init_len);
}

static esession_status fill_info(esession_ctx *ctx, start_work *w, const char *bob,
                                 const char *alice, const esession_sender_options *o)
{
    const char *res = w->opt->offer.match_resource;
    w->info.choice = w->choice;
    w->info.expires = w->opt->offer.expires;
    w->info.single_stanza = o->single_stanza != 0;
    /* Version 1 options end before the field: the default, a body. */
    w->info.no_fallback = o->version >= 2 && o->no_fallback_body != 0;
    if (res != NULL) {
        if (!es_jid_ok(res, ESESSION_JID_RESOURCE))
            return es_fail(ctx, ESESSION_ERR_MALFORMED, "match_resource is not a resource");
        if ((w->info.match_resource = dup_str(res)) == NULL)
            return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    }
    w->info.bob_jid = dup_str(bob);
    w->info.alice_jid = dup_str(alice);
    if (w->info.bob_jid == NULL || w->info.alice_jid == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    return ESESSION_OK;
}

static void give_trace(start_work *w, es_sender_start_trace *t)
{
    memset(t, 0, sizeof *t);
    t->chosen = w->choice;
    t->d = w->d;
    w->d = (esession_buf){NULL, 0, 0};
    t->keys = w->keys;
    w->keys = NULL;
    memcpy(t->c_b, w->c_b, ES_AES_BLOCK);
    t->form_b = w->form_b;
    w->form_b = (esession_buf){NULL, 0, 0};
    t->id = w->id;
    memset(&w->id, 0, sizeof w->id);
}

static esession_status start_form_tx(esession_ctx *ctx, esession_keystore *ks,
                                     const char *bob_full_jid, const char *alice_bare_jid,
                                     const xmlNode *x, const esession_key *const *trusted,
                                     size_t n_trusted, int64_t now,
                                     const esession_sender_options *opt,
                                     const es_sender_fixed *fixed,
                                     es_sender_start_trace *trace, esession_sender **out)
{
    static const esession_sender_options defaults = ESESSION_SENDER_OPTIONS_INIT;
    const esession_sender_options *o = opt != NULL ? opt : &defaults;
    char name[ES_BLOB_NAME_MAX + 1];
    esession_buf existing = {NULL, 0, 0};
    esession_sender *s = NULL;
    start_work w;
    esession_status rc;

    if (ctx == NULL || ks == NULL || x == NULL || out == NULL ||
        (trusted == NULL && n_trusted > 0))
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "start: bad arguments");
    if ((rc = check_start_args(ctx, bob_full_jid, alice_bare_jid, o, fixed)) != ESESSION_OK ||
        (rc = es_sender_blob_name(ctx, alice_bare_jid, name, sizeof name)) != ESESSION_OK)
        return rc;
    rc = es_ks_blob_get(ks, name, &existing);
    esession_buf_free(&existing);
    if (rc == ESESSION_OK)
        return es_fail(ctx, ESESSION_ERR_STATE,
                       "a session with this contact is open: resume or end it");
    if (rc != ESESSION_ERR_NO_SESSION)
        return es_fail(ctx, rc, "cannot read the keystore");

    memset(&w, 0, sizeof w);
    rc = es_options_check(ctx, x, trusted, n_trusted, now, &w.opt);
    if (rc == ESESSION_OK)
        rc = load_bob_keys(ctx, ks, &w.bob);
    if (rc == ESESSION_OK) {
        es_bob_caps caps = {o->allow_weak_groups, o->rekey_freq, w.bob.types};
        rc = es_sender_choose(ctx, &w.opt->offer, &caps, &w.choice);
    }
    if (rc == ESESSION_OK)
        rc = take_e(ctx, &w);
    if (rc == ESESSION_OK)
        rc = fill_info(ctx, &w, bob_full_jid, alice_bare_jid, o);
    if (rc == ESESSION_OK)
        rc = draw(ctx, &w, fixed);
    if (rc == ESESSION_OK)
        rc = derive_and_seal(ctx, &w, o);
    if (rc == ESESSION_OK && (w.prog = es_secret_alloc_in(ctx, sizeof *w.prog)) == NULL)
        rc = es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of secure memory");
    if (rc != ESESSION_OK)
        goto out;

    memset(w.prog, 0, sizeof *w.prog);
    w.prog->seq = 1;
    w.prog->init_pending = 1;
    memcpy(w.prog->ctr, w.id.ctr_after, ES_AES_BLOCK);
    w.prog->blocks = es_ctr_blocks(w.id.idb.len); /* IDB used KC_B first */
    w.prog->keys = w.keys->b;

    rc = es_sender_make(ctx, ks, &w.info, w.prog, w.chan, &s);
    if (rc != ESESSION_OK)
        goto out;
    w.chan = NULL;
    memset(&w.info, 0, sizeof w.info);
    /* Stored before the caller can send anything. */
    rc = es_sender_store(s, s->prog);
    if (rc != ESESSION_OK) {
        esession_sender_free(s);
        goto out;
    }
    if (trace != NULL)
        give_trace(&w, trace);
    *out = s;
out:
    start_clear(&w);
    return rc;
}

/* The check that no session is open and the new session's record, in one
 * transaction: two starts at once cannot both open one. */
esession_status es_sender_start_form(esession_ctx *ctx, esession_keystore *ks,
                                     const char *bob_full_jid, const char *alice_bare_jid,
                                     const xmlNode *x, const esession_key *const *trusted,
                                     size_t n_trusted, int64_t now,
                                     const esession_sender_options *opt,
                                     const es_sender_fixed *fixed,
                                     es_sender_start_trace *trace, esession_sender **out)
{
    esession_sender *s = NULL;
    if (ctx == NULL || ks == NULL || out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "start: bad arguments");
    esession_status rc = es_tx_begin(ks, 1);
    if (rc != ESESSION_OK)
        return rc;
    esession_status inner = start_form_tx(ctx, ks, bob_full_jid, alice_bare_jid, x, trusted,
                                          n_trusted, now, opt, fixed, trace, &s);
    rc = es_tx_end(ks, inner);
    if (rc == ESESSION_OK)
        *out = s;
    else if (inner == ESESSION_OK)
        esession_sender_free(s); /* not committed: no session */
    return rc;
}

void es_sender_start_trace_clear(es_sender_start_trace *t)
{
    if (t == NULL)
        return;
    esession_buf_free(&t->d);
    es_session_keys_free(t->keys);
    esession_buf_free(&t->form_b);
    es_id_sealed_clear(&t->id);
    sodium_memzero(t, sizeof *t);
}

/* ---- the sender object ------------------------------------------------ */

esession_status es_sender_make(esession_ctx *ctx, esession_keystore *ks, es_sender_info *info,
                               const es_sender_progress *prog, es_chan *chan,
                               esession_sender **out)
{
    esession_sender *s = calloc(1, sizeof *s);
    if (s == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    esession_status rc = es_sender_blob_name(ctx, info->alice_jid, s->name, sizeof s->name);
    if (rc == ESESSION_OK && (s->prog = es_secret_alloc_in(ctx, sizeof *s->prog)) == NULL)
        rc = es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of secure memory");
    if (rc == ESESSION_OK && chan == NULL)
        rc = es_chan_new(ctx, &prog->keys, &s->chan);
    if (rc != ESESSION_OK) {
        es_secret_free(s->prog);
        es_chan_free(s->chan);
        free(s);
        return rc;
    }
    if (chan != NULL)
        s->chan = chan;
    *s->prog = *prog;
    s->ctx = ctx;
    s->ks = ks;
    s->info = *info;
    s->rollbacks = es_tx_rollbacks(ks);
    *out = s;
    return ESESSION_OK;
}

esession_status es_sender_reload(esession_sender *s, const uint8_t *data, size_t len,
                                 uint64_t version)
{
    es_sender_info info;
    es_sender_progress *prog = es_secret_alloc_in(s->ctx, sizeof *prog);
    es_chan *chan = NULL;
    memset(&info, 0, sizeof info);
    if (prog == NULL)
        return es_fail(s->ctx, ESESSION_ERR_NO_MEMORY, "out of secure memory");
    esession_status rc = es_sender_state_decode(s->ctx, data, len, &info, prog);
    if (rc == ESESSION_OK && strcmp(info.alice_jid, s->info.alice_jid) != 0)
        rc = es_fail(s->ctx, ESESSION_ERR_CORRUPT, "the session record names another contact");
    if (rc == ESESSION_OK)
        rc = es_chan_new(s->ctx, &prog->keys, &chan);
    if (rc == ESESSION_OK) {
        es_sender_info_clear(&s->info);
        s->info = info;
        memset(&info, 0, sizeof info);
        *s->prog = *prog;
        es_chan_free(s->chan);
        s->chan = chan;
        s->version = version;
        s->rollbacks = es_tx_rollbacks(s->ks);
    }
    es_sender_info_clear(&info);
    es_secret_free(prog);
    return rc;
}

esession_status es_sender_store(esession_sender *s, const es_sender_progress *prog)
{
    esession_buf rec = {NULL, 0, 0};
    esession_status rc = es_sender_state_encode(s->ctx, &s->info, prog, &rec);
    if (rc != ESESSION_OK)
        return rc;
    /* The version follows the record; should the transaction roll back,
     * the rollback count makes the next seal read the record again. */
    rc = es_ks_blob_put_v(s->ks, s->name, (const uint8_t *)rec.data, rec.len, &s->version);
    esession_buf_free(&rec);
    if (rc != ESESSION_OK)
        return es_fail(s->ctx, rc, "cannot store the session state");
    return ESESSION_OK;
}

void es_sender_end(esession_sender *s)
{
    if (s->ended)
        return;
    s->ended = 1;
    es_chan_free(s->chan);
    s->chan = NULL;
    sodium_memzero(s->prog, sizeof *s->prog);
    if (s->ctx->ops.event != NULL) {
        esession_event ev = {ESESSION_EVENT_SESSION_ENDED, ESESSION_OK, s->info.alice_jid,
                             s->info.thread, 0, 0};
        s->ctx->ops.event(s->ctx->user, &ev);
    }
}

/* ---- public API ------------------------------------------------------- */

static esession_status fetch_iq(esession_ctx *ctx, const char *alice_bare_jid, es_pep_node node,
                                esession_buf *iq, char id[ESESSION_IQ_ID_MAX])
{
    if (ctx == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ctx);
    if (iq == NULL || id == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "fetch: bad arguments");
    es_pep_request req;
    esession_buf out = {NULL, 0, 0};
    esession_status rc = es_pep_build_items(ctx, alice_bare_jid, node, &out, &req);
    if (rc != ESESSION_OK)
        return rc;
    *iq = out;
    memcpy(id, req.id, sizeof req.id);
    return ESESSION_OK;
}

esession_status esession_fetch_options_iq(esession_ctx *ctx, const char *alice_bare_jid,
                                          esession_buf *iq, char id[ESESSION_IQ_ID_MAX])
{
    return fetch_iq(ctx, alice_bare_jid, ES_PEP_NODE_SUBSCRIBERS, iq, id);
}

esession_status esession_fetch_open_options_iq(esession_ctx *ctx, const char *alice_bare_jid,
                                               esession_buf *iq, char id[ESESSION_IQ_ID_MAX])
{
    return fetch_iq(ctx, alice_bare_jid, ES_PEP_NODE_OPEN, iq, id);
}

esession_status esession_sender_start(esession_ctx *ctx, esession_keystore *ks,
                                      const char *bob_full_jid, const char *alice_bare_jid,
                                      const char *iq_id, const char *items_result, size_t len,
                                      const esession_sender_options *opt,
                                      esession_sender **out)
{
    esession_key *keys[ES_SENDER_TRUSTED_MAX];
    size_t n_keys = 0;
    xmlDocPtr doc = NULL;
    xmlNodePtr x = NULL;
    es_pep_request req;

    if (es_ks_check(ctx, ks) != ESESSION_OK)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ctx);
    if (iq_id == NULL || items_result == NULL || out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "start: bad arguments");
    if (es_ks_require_durable(ctx, ks) != ESESSION_OK)
        return ESESSION_ERR_STATE;
    if (es_jid_check(ctx, alice_bare_jid, ESESSION_JID_BARE) != ESESSION_OK)
        return ESESSION_ERR_INVALID_ARGUMENT;
    size_t id_len = strnlen(iq_id, ES_PEP_ID_LEN + 1);
    if (id_len == 0 || id_len > ES_PEP_ID_LEN)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "start: bad IQ id");

    /* The request esession_fetch_options_iq built, rebuilt. */
    memset(&req, 0, sizeof req);
    req.kind = ES_PEP_ITEMS;
    req.node = opt != NULL && opt->version >= 2 && opt->open_node ? ES_PEP_NODE_OPEN
                                                                  : ES_PEP_NODE_SUBSCRIBERS;
    memcpy(req.id, iq_id, id_len);
    memcpy(req.to, alice_bare_jid, strlen(alice_bare_jid));
    esession_status rc = es_pep_parse_items(ctx, &req, items_result, len, &doc, &x, NULL);
    if (rc == ESESSION_OK)
        rc = alice_keys(ctx, ks, alice_bare_jid, keys, &n_keys);
    if (rc == ESESSION_OK)
        rc = es_sender_start_form(ctx, ks, bob_full_jid, alice_bare_jid, x,
                                  (const esession_key *const *)keys, n_keys, es_now(ctx), opt,
                                  NULL, NULL, out);
    for (size_t i = 0; i < n_keys; i++)
        esession_key_free(keys[i]);
    xmlFreeDoc(doc);
    return rc;
}

esession_status esession_sender_resume(esession_ctx *ctx, esession_keystore *ks,
                                       const char *alice_bare_jid, esession_sender **out)
{
    char name[ES_BLOB_NAME_MAX + 1];
    esession_buf rec = {NULL, 0, 0};
    uint64_t version = 0;
    es_sender_info info;
    es_sender_progress *prog = NULL;
    esession_status rc;

    if (es_ks_check(ctx, ks) != ESESSION_OK)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ctx);
    if (out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "resume: bad arguments");
    if (es_jid_check(ctx, alice_bare_jid, ESESSION_JID_BARE) != ESESSION_OK)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if ((rc = es_sender_blob_name(ctx, alice_bare_jid, name, sizeof name)) != ESESSION_OK)
        return rc;
    rc = es_ks_blob_get_v(ks, name, &rec, &version);
    if (rc == ESESSION_ERR_NO_SESSION)
        return es_fail(ctx, rc, "no open session with this contact");
    if (rc != ESESSION_OK)
        return es_fail(ctx, rc, "cannot read the keystore");
    memset(&info, 0, sizeof info);
    if ((prog = es_secret_alloc_in(ctx, sizeof *prog)) == NULL)
        rc = es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of secure memory");
    if (rc == ESESSION_OK)
        rc = es_sender_state_decode(ctx, (const uint8_t *)rec.data, rec.len, &info, prog);
    if (rc == ESESSION_OK && strcmp(info.alice_jid, alice_bare_jid) != 0)
        rc = es_fail(ctx, ESESSION_ERR_CORRUPT, "the session record names another contact");
    if (rc == ESESSION_OK) {
        rc = es_sender_make(ctx, ks, &info, prog, NULL, out);
        if (rc == ESESSION_OK) {
            memset(&info, 0, sizeof info);
            (*out)->version = version;
        }
    }
    es_sender_info_clear(&info);
    es_secret_free(prog);
    esession_buf_free(&rec);
    return rc;
}

esession_status esession_sender_seal(esession_sender *s, const char *message, size_t len,
                                     esession_buf *out)
{
    if (s == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(s->ctx);
    if (message == NULL || out == NULL)
        return es_fail(s->ctx, ESESSION_ERR_INVALID_ARGUMENT, "seal: bad arguments");
    if (es_ks_require_durable(s->ctx, s->ks) != ESESSION_OK)
        return ESESSION_ERR_STATE;
    if (s->ended)
        return es_fail(s->ctx, ESESSION_ERR_STATE, "the session has ended");
    char type[ES_SENDER_TYPE_MAX];
    esession_buf m = {NULL, 0, 0};
    esession_status rc = es_sender_message_in(s->ctx, s->info.alice_jid, message, len,
                                              es_now(s->ctx), type, &m);
    if (rc != ESESSION_OK)
        return rc;
    rc = es_sender_seal_raw(s, (const uint8_t *)m.data, m.len, type, NULL, NULL, out);
    esession_buf_free(&m);
    return rc;
}

esession_status esession_sender_terminate(esession_sender *s, esession_buf *out)
{
    if (s == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(s->ctx);
    if (es_ks_require_durable(s->ctx, s->ks) != ESESSION_OK)
        return ESESSION_ERR_STATE;
    return es_sender_terminate_traced(s, NULL, out);
}

esession_status esession_sender_peer_online(esession_ctx *ctx, esession_keystore *ks,
                                            const char *alice_bare_jid, esession_buf *out)
{
    if (es_ks_check(ctx, ks) != ESESSION_OK)
        return ESESSION_ERR_INVALID_ARGUMENT;
    es_clear_detail(ctx);
    if (out == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "peer_online: bad arguments");
    if (es_ks_require_durable(ctx, ks) != ESESSION_OK)
        return ESESSION_ERR_STATE;
    esession_sender *s = NULL;
    esession_status rc = esession_sender_resume(ctx, ks, alice_bare_jid, &s);
    if (rc == ESESSION_ERR_NO_SESSION) {
        es_clear_detail(ctx);
        *out = (esession_buf){NULL, 0, 0};
        return ESESSION_OK;
    }
    if (rc != ESESSION_OK)
        return rc;
    rc = es_sender_terminate_traced(s, NULL, out);
    esession_sender_free(s);
    return rc;
}

const char *esession_sender_thread(const esession_sender *s)
{
    return s != NULL ? s->info.thread : NULL;
}

void esession_sender_free(esession_sender *s)
{
    if (s == NULL)
        return;
    es_chan_free(s->chan);
    es_secret_free(s->prog);
    es_sender_info_clear(&s->info);
    sodium_memzero(s, sizeof *s);
    free(s);
}
