/* SPDX-License-Identifier: ISC */
/* Alice accepting Bob's first stanza (XEP-0187 §3.4; PROFILE §10, §11):
 * the structure of formB, then the steps of §10 in their order, each
 * failure with its own code; d and N_B are recorded before anything is
 * decrypted, and the first <c> is opened at its one known counter. */
#include "receiver.h"

#include "../crypto/base64.h"
#include "../forms/dataform.h"
#include "../forms/options.h"
#include "../store/trust_keys.h"

#include <stdlib.h>
#include <string.h>

#define REKEY_DIGITS_MAX 10

/* formB as received. */
typedef struct init_form {
    es_form *form;
    const char *value[ES_ARRAY_LEN(es_options_list_fields)]; /* NULL for stanzas */
    const es_form_field *stanzas;
    const char *rekey_freq;
    uint8_t *n_a, *n_b, *d, *c_a, *idb, *mb;
    size_t n_a_len, n_b_len, d_len, c_a_len, idb_len, mb_len;
    int terminate;
    esession_buf form_b;
} init_form;

static void init_form_clear(init_form *f)
{
    es_form_free(f->form);
    free(f->n_a);
    free(f->n_b);
    free(f->d);
    free(f->c_a);
    free(f->idb);
    free(f->mb);
    esession_buf_free(&f->form_b);
    memset(f, 0, sizeof *f);
}

static esession_status b64_field(esession_ctx *ctx, const es_form *form, const char *var,
                                 size_t min, size_t max, uint8_t **out, size_t *len)
{
    const char *v = NULL;
    esession_status rc = es_form_value(ctx, form, var, &v);
    size_t cap, n = 0;
    uint8_t *b;

    if (rc != ESESSION_OK)
        return rc;
    cap = es_base64_decoded_max(strlen(v));
    if ((b = malloc(cap == 0 ? 1 : cap)) == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    /* All public: nonces, d, counter, IDB (ciphertext), MB. */
    if (es_base64_decode_public(b, cap, &n, v, strlen(v)) != ESESSION_OK) {
        free(b);
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "formB: %s is not base64", var);
    }
    if (n < min || n > max) {
        free(b);
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "formB: %s of %zu octets", var, n);
    }
    *out = b;
    *len = n;
    return ESESSION_OK;
}

/* Structure (PROFILE §8, §11): anything wrong here is malformed. */
static esession_status read_form(esession_ctx *ctx, const xmlNode *x, init_form *f)
{
    static const char *const excluded[] = {"identity", "mac"};
    const char *v = NULL;
    esession_status rc;

    if ((rc = es_form_parse(ctx, x, &f->form)) != ESESSION_OK)
        return rc;
    if (f->form->type != ES_FORM_SUBMIT)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "formB is not of type submit");
    if ((rc = es_form_value(ctx, f->form, "FORM_TYPE", &v)) != ESESSION_OK)
        return rc;
    if (strcmp(v, ES_SSN_FORM_TYPE) != 0)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "formB: FORM_TYPE is not urn:xmpp:ssn");
    for (size_t i = 0; i < ES_ARRAY_LEN(es_options_list_fields); i++) {
        if (strcmp(es_options_list_fields[i], "stanzas") == 0)
            continue;
        rc = es_form_value(ctx, f->form, es_options_list_fields[i], &f->value[i]);
        if (rc != ESESSION_OK)
            return rc;
    }
    if ((rc = es_form_get(ctx, f->form, "stanzas", &f->stanzas)) != ESESSION_OK)
        return rc;
    if (f->stanzas->n_values == 0)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "formB: stanzas has no value");
    if ((rc = es_form_value(ctx, f->form, "rekey_freq", &f->rekey_freq)) != ESESSION_OK)
        return rc;
    if ((rc = b64_field(ctx, f->form, "my_nonce", ES_OPT_NONCE_MIN, ES_OPT_NONCE_MAX, &f->n_b,
                        &f->n_b_len)) != ESESSION_OK ||
        (rc = b64_field(ctx, f->form, "nonce", ES_OPT_NONCE_MIN, ES_OPT_NONCE_MAX, &f->n_a,
                        &f->n_a_len)) != ESESSION_OK ||
        (rc = b64_field(ctx, f->form, "dhkeys", 0, SIZE_MAX, &f->d, &f->d_len)) != ESESSION_OK ||
        (rc = b64_field(ctx, f->form, "counter", ES_AES_BLOCK, ES_AES_BLOCK, &f->c_a,
                        &f->c_a_len)) != ESESSION_OK ||
        (rc = b64_field(ctx, f->form, "identity", 0, SIZE_MAX, &f->idb, &f->idb_len)) !=
            ESESSION_OK ||
        (rc = b64_field(ctx, f->form, "mac", 0, SIZE_MAX, &f->mb, &f->mb_len)) != ESESSION_OK)
        return rc;
    if (f->d_len > 0 && f->d[0] == 0)
        return es_fail(ctx, ESESSION_ERR_MALFORMED, "formB: dhkeys is not a minimal mpint");
    if (es_form_find(f->form, "terminate") != NULL) {
        if ((rc = es_form_value(ctx, f->form, "terminate", &v)) != ESESSION_OK)
            return rc;
        if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
            f->terminate = 1;
        else if (strcmp(v, "0") != 0 && strcmp(v, "false") != 0)
            return es_fail(ctx, ESESSION_ERR_MALFORMED, "formB: terminate is not a boolean");
    }
    return es_form_normalize(ctx, x, excluded, 2, &f->form_b);
}

static int offered(const es_strlist *l, const char *v)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], v) == 0)
            return 1;
    return 0;
}

static const es_strlist *offer_list(const es_offer *o, size_t i)
{
    const es_strlist *lists[] = {&o->otr,       &o->disclosure, &o->security, &o->modp,
                                 &o->crypt_algs, &o->hash_algs, &o->sign_algs, &o->compress,
                                 &o->stanzas,    &o->ver};
    return lists[i];
}

/* Canonical decimal: no sign, no leading zero. */
static int decimal(const char *s, uint64_t *out)
{
    size_t n = strlen(s);
    uint64_t v = 0;

    if (n == 0 || n > REKEY_DIGITS_MAX || (n > 1 && s[0] == '0'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 1;
}

/* What Bob chose, in terms the library knows. */
typedef struct choice {
    int group;
    es_suite suite;
    esession_key_type sign_type;
} choice;

/* §10 step 3 and §11's further fields, against Alice's stored form. */
static esession_status check_offer(esession_receiver *r, const es_optset *set,
                                   const init_form *f, choice *ch)
{
    esession_ctx *ctx = r->ctx;
    const es_options *opt = NULL;
    uint64_t freq = 0, group = 0;
    esession_status rc = es_rx_offer(r, set, &opt); /* parsed once per option set */

    if (rc != ESESSION_OK)
        return rc;
    for (size_t i = 0; rc == ESESSION_OK && i < ES_ARRAY_LEN(es_options_list_fields); i++) {
        const es_strlist *l = offer_list(&opt->offer, i);
        if (f->value[i] != NULL && !offered(l, f->value[i]))
            rc = es_fail(ctx, ESESSION_ERR_UNSUPPORTED_OPTION, "%s was not offered",
                         es_options_list_fields[i]);
        for (size_t k = 0; f->value[i] == NULL && k < f->stanzas->n_values; k++)
            if (rc == ESESSION_OK && !offered(l, f->stanzas->values[k]))
                rc = es_fail(ctx, ESESSION_ERR_UNSUPPORTED_OPTION, "stanzas: %s was not offered",
                             k == 0 ? "the first value" : "a value");
    }
    if (rc == ESESSION_OK && (!decimal(f->rekey_freq, &freq) || freq < opt->offer.rekey_freq ||
                              freq > UINT32_MAX))
        rc = es_fail(ctx, ESESSION_ERR_UNSUPPORTED_OPTION,
                     "rekey_freq below Alice's or not in 1..2^32-1");
    if (rc != ESESSION_OK)
        return rc;
    /* Offered values the library does not implement are not usable. */
    const char *modp = f->value[3], *crypt = f->value[4], *hash = f->value[5], *sign = f->value[6];
    if (!decimal(modp, &group) || group > 64 || !es_modp_supported((int)group) ||
        es_cipher_from_name(crypt, strlen(crypt), &ch->suite.cipher) != ESESSION_OK ||
        es_hash_from_name(hash, strlen(hash), &ch->suite.hash) != ESESSION_OK ||
        es_key_type_for_alg(sign, strlen(sign), &ch->sign_type) != ESESSION_OK)
        return es_fail(ctx, ESESSION_ERR_UNSUPPORTED_OPTION, "an offered value is not supported");
    ch->group = (int)group;
    return ESESSION_OK;
}

/* XEP-0116 "Key Associations": an untrusted key that contradicts the trust
 * store (the JID has another key, or the key belongs to another JID) is
 * something the user must see, beyond the discarded stanza. */
static void key_alert(esession_receiver *r, const char *bare, const esession_key *key)
{
    esession_ctx *ctx = r->ctx;
    uint8_t fp[ESESSION_FINGERPRINT_BYTES];
    if (ctx->ops.event == NULL || esession_key_fingerprint(ctx, key, fp) != ESESSION_OK)
        return;
    unsigned alerts = 0;
    for (size_t i = 0; i < esession_trust_count(r->ks); i++) {
        esession_trust_entry e;
        if (esession_trust_at(r->ks, i, &e) != ESESSION_OK)
            continue;
        int same_jid = strcmp(e.jid, bare) == 0;
        int same_key = es_ct_equal(e.fingerprint, fp, sizeof fp);
        if (same_jid && !same_key)
            alerts |= ESESSION_ALERT_JID_NEW_KEY;
        if (!same_jid && same_key)
            alerts |= ESESSION_ALERT_KEY_OTHER_JID;
    }
    if (alerts != 0) {
        esession_event ev = {ESESSION_EVENT_KEY_ALERT, ESESSION_ERR_UNTRUSTED_KEY, bare, NULL,
                             alerts, 0};
        ctx->ops.event(ctx->user, &ev);
    }
}

static esession_status trusted(esession_receiver *r, const char *bare, const esession_key *key,
                               int *by_host)
{
    esession_ctx *ctx = r->ctx;
    int t = ctx->ops.trust != NULL ? ctx->ops.trust(ctx->user, bare, key) : -1;

    *by_host = t == 1;
    if (t == 1)
        return ESESSION_OK;
    if (t == 0)
        return es_fail(ctx, ESESSION_ERR_UNTRUSTED_KEY, "the host does not trust Bob's key");
    esession_status rc = esession_trust_check(r->ks, bare, key);
    if (rc == ESESSION_ERR_UNTRUSTED_KEY) {
        key_alert(r, bare, key);
        return es_fail(ctx, rc, "Bob's key is not trusted for his bare JID");
    }
    return rc;
}

/* A key the trust store holds decoded, found by its <KeyValue> text. */
static esession_status known_key(void *ks, const char *kv, size_t n, esession_key **out)
{
    return es_ks_trusted_key_by_text(ks, kv, n, out);
}

/* Steps 6 and 7: keys, MB, IDB, signB, trust. */
static esession_status identity(esession_receiver *r, const es_rx_stanza *st, const init_form *f,
                                const choice *ch, es_session_keys **keys, es_chan **chan,
                                uint8_t c_b[ES_AES_BLOCK], uint8_t after[ES_AES_BLOCK],
                                uint8_t key_fp[ESESSION_FINGERPRINT_BYTES], int *by_host)
{
    esession_ctx *ctx = r->ctx;
    es_id_input in = {f->n_a, f->n_a_len, f->n_b, f->n_b_len, f->d, f->d_len,
                      f->form_b.data, f->form_b.len};
    esession_key *bob = NULL;
    const es_dh *dh = NULL;
    esession_status rc = es_rx_dh(r, f->n_a, f->n_a_len, ch->group, &dh);

    if (rc == ESESSION_OK)
        rc = es_session_keys_dh_checked(ctx, ch->suite, dh, f->d, f->d_len, keys); /* step 4 */
    if (rc == ESESSION_OK && (rc = es_chan_new(ctx, &(*keys)->b, chan)) == ESESSION_OK) {
        es_counter_b(f->c_a, c_b);
        es_id_known known = {known_key, r->ks};
        rc = es_identity_open_known(ctx, *keys, *chan, ch->sign_type, &in, c_b, f->idb,
                                    f->idb_len, f->mb, f->mb_len, &known, &bob, after);
    }
    if (rc == ESESSION_OK)
        rc = trusted(r, st->bare, bob, by_host);
    if (rc == ESESSION_OK)
        rc = esession_key_fingerprint(ctx, bob, key_fp);
    esession_key_free(bob);
    return rc;
}

/* A session from the verified identity; IDB's range is used. */
static esession_status new_session(esession_receiver *r, const es_rx_stanza *st, const init_form *f,
                                   const choice *ch, const es_session_keys *keys,
                                   const uint8_t c_b[ES_AES_BLOCK], const uint8_t init_hash[32],
                                   const uint8_t key_fp[ESESSION_FINGERPRINT_BYTES], int by_host,
                                   es_rx_session **out)
{
    es_rx_session *s = NULL;
    es_rx_epoch *ep = NULL;
    esession_status rc = es_rx_session_new(f->n_a, f->n_a_len, st->bare, st->thread, ch->suite,
                                           ch->group, &s);

    if (rc != ESESSION_OK)
        return es_fail(r->ctx, rc, "out of memory");
    memcpy(s->c_b, c_b, ES_AES_BLOCK);
    memcpy(s->init_hash, init_hash, ES_REPLAY_HASH);
    memcpy(s->key_fp, key_fp, ESESSION_FINGERPRINT_BYTES);
    s->key_by_host = by_host;
    s->key_known = 1;
    s->opened = es_now(r->ctx);
    if ((rc = es_rx_state_name(s)) == ESESSION_OK)
        rc = es_rx_epoch_new(r->ctx, &keys->b, 0, &ep);
    if (rc != ESESSION_OK) {
        es_rx_session_free(s);
        return rc;
    }
    s->core.epochs[0] = ep;
    s->core.n_epochs = 1;
    s->core.ranges[0] = (es_rx_range){0, es_ctr_blocks(f->idb_len)};
    s->core.n_ranges = f->idb_len > 0 ? 1 : 0;
    *out = s;
    return ESESSION_OK;
}

esession_status es_rx_open_init(esession_receiver *r, const es_rx_stanza *st, const char *text,
                                size_t len, uint64_t tag, esession_result *res,
                                es_rx_session **opened)
{
    esession_ctx *ctx = r->ctx;
    init_form f;
    choice ch;
    const es_optset *set;
    uint8_t d_hash[ES_REPLAY_HASH], nb_hash[ES_REPLAY_HASH], init_hash[ES_REPLAY_HASH];
    uint8_t c_b[ES_AES_BLOCK], after[ES_AES_BLOCK], want[ES_AES_BLOCK];
    uint8_t key_fp[ESESSION_FINGERPRINT_BYTES];
    int by_host = 0;
    es_session_keys *keys = NULL;
    es_chan *chan = NULL;
    es_rx_session *s = NULL;
    int dup = 0;
    es_replay_note note;
    esession_status rc;

    memset(&f, 0, sizeof f);
    memset(&note, 0, sizeof note);
    memset(&ch, 0, sizeof ch);
    if ((rc = read_form(ctx, st->init_x, &f)) != ESESSION_OK)
        goto out;
    /* 1. the option set; 2. its expiry, before anything is computed. */
    if ((set = es_ks_optset_find(r->ks, f.n_a, f.n_a_len)) == NULL) {
        rc = es_fail(ctx, ESESSION_ERR_UNKNOWN_OPTIONS, "no option set has this nonce");
        goto out;
    }
    if (es_now(ctx) > set->expires) {
        rc = es_fail(ctx, ESESSION_ERR_EXPIRED, "the option set has expired");
        goto out;
    }
    /* 3. Bob's choices; 4. d. */
    if ((rc = check_offer(r, set, &f, &ch)) != ESESSION_OK)
        goto out;
    if ((rc = es_dh_check_public_in(ctx, ch.group, f.d, f.d_len)) != ESESSION_OK) {
        rc = es_fail(ctx, rc, "d is not a valid public value of group %d", ch.group);
        goto out;
    }
    /* 5. replay: d or N_B seen, unless this very stanza was accepted. */
    if (es_hash_in(ctx, ES_HASH_SHA256, f.d, f.d_len, d_hash) != ESESSION_OK ||
        es_hash_in(ctx, ES_HASH_SHA256, f.n_b, f.n_b_len, nb_hash) != ESESSION_OK ||
        es_rx_sender_text_hash(st, text, len, init_hash) != ESESSION_OK) {
        rc = es_fail(ctx, ESESSION_ERR_INTERNAL, "cannot hash the init");
        goto out;
    }
    /* The feed's transaction spans the check and the record: unless
     * something is written between them, the record need not look again. */
    if ((rc = es_ks_replay_check_noted(r->ks, f.n_a, f.n_a_len, d_hash, nb_hash, init_hash, &dup,
                                       &note)) != ESESSION_OK)
        goto out;
    if (dup && es_rx_find_session(r, st->bare, st->thread) != NULL) {
        rc = es_rx_result_init(res, tag, ESESSION_RESULT_DUPLICATE, ESESSION_OK, st);
        goto out;
    }
    if (set->secrets_destroyed) {
        rc = es_fail(ctx, ESESSION_ERR_UNKNOWN_OPTIONS,
                     "the option set's exponents were destroyed");
        goto out;
    }
    /* 6, 7. */
    if ((rc = identity(r, st, &f, &ch, &keys, &chan, c_b, after, key_fp, &by_host)) !=
        ESESSION_OK)
        goto out;
    /* 8. d and N_B on file before any content is decrypted. */
    if ((rc = es_ks_replay_record_noted(r->ks, f.n_a, f.n_a_len, d_hash, nb_hash, init_hash,
                                        &note)) != ESESSION_OK)
        goto out;
    if ((rc = new_session(r, st, &f, &ch, keys, c_b, init_hash, key_fp, by_host, &s)) !=
        ESESSION_OK)
        goto out;
    es_rx_counter(s, es_rx_next(&s->core), want);
    if (es_ctr_cmp(want, after) != 0) {
        rc = es_fail(ctx, ESESSION_ERR_INTERNAL, "IDB's counter range disagrees");
        goto out;
    }
    /* The first <c> has exactly one counter: after IDB. */
    if ((rc = es_c_verify(st->copen, chan, after)) != ESESSION_OK) {
        rc = es_fail(ctx, ESESSION_ERR_BAD_MAC, "the first stanza does not verify after IDB");
        goto out;
    }
    rc = es_rx_accept(r, s, st, es_rx_next(&s->core), s->core.epochs[0], 0, !dup, -1,
                      f.terminate, tag, res);
    if (rc == ESESSION_OK) {
        *opened = s;
        s = NULL;
    }
out:
    es_rx_session_free(s);
    es_chan_free(chan);
    es_session_keys_free(keys);
    init_form_clear(&f);
    return rc;
}
