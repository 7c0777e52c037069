/* SPDX-License-Identifier: ISC */
/* OfflineSession vectors, step (2): Bob's side with the vector's y, N_B,
 * C_A, thread and re-key exponents, every intermediate value and every
 * stanza compared with the reference (byte for byte; with a DSA key only
 * the randomized identity and mac of the first stanza are left out, and
 * the identity is opened and verified instead). Step (3): Alice's
 * receiver opens each stanza and must give back each plaintext. */
#include "esession_session.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json_util.h"
#include "../../crypto/base64.h"
#include "../../crypto/dh.h"
#include "../../forms/datetime.h"
#include "../../session/sender.h"
#include "../../store/store.h"
#include "../../store/trust_keys.h"

/* Step (3) needs Alice's receiver (esession_receiver_*). */
#define HV_RECEIVER 1

#define PASS "vector passphrase"
#define MAX_MSGS 64

typedef struct run {
    char dir[64];
    char bob_ks[128];
    char alice_ks[128];
    int64_t now;
    esession_ctx *ctx;
    esession_keystore *ks;
    esession_key *bob_key;
    char alice_bare[512];
    char bob_bare[512];
    esession_buf stanza[MAX_MSGS]; /* what Bob sent */
    size_t n_stanzas;
} run;

static int64_t fixed_now(void *user)
{
    return *(const int64_t *)user;
}

static void bare_of(const char *jid, char *out, size_t cap)
{
    size_t n = strcspn(jid, "/");
    if (n >= cap)
        n = cap - 1;
    memcpy(out, jid, n);
    out[n] = '\0';
}

static esession_keystore *make_ks(esession_ctx *ctx, const char *path)
{
    esession_keystore_options o = ESESSION_KEYSTORE_OPTIONS_INIT;
    o.kdf_opslimit = crypto_pwhash_argon2id_OPSLIMIT_MIN;
    o.kdf_memlimit = crypto_pwhash_argon2id_MEMLIMIT_MIN;
    esession_keystore *ks = NULL;
    if (esession_keystore_create(ctx, &ks, path, PASS, strlen(PASS), &o) != ESESSION_OK)
        return NULL;
    return ks;
}

static void run_free(run *x)
{
    for (size_t i = 0; i < x->n_stanzas; i++)
        esession_buf_free(&x->stanza[i]);
    esession_keystore_free(x->ks);
    esession_key_free(x->bob_key);
    esession_ctx_free(x->ctx);
    if (x->dir[0] != '\0') {
        (void)unlink(x->bob_ks);
        (void)unlink(x->alice_ks);
        (void)rmdir(x->dir);
    }
    memset(x, 0, sizeof *x);
}

/* Context with the vector's clock, temporary keystore with Bob's key and
 * Alice's keys trusted. NULL or the reason. */
static const char *run_setup(run *x, json_t *group)
{
    memset(x, 0, sizeof *x);
    json_t *alice = ju_object(group, "alice"), *bob = ju_object(group, "bob");
    json_t *bob_sk = bob != NULL ? ju_object(bob, "signKey") : NULL;
    const char *now = ju_string(group, "now");
    const char *ajid = alice != NULL ? ju_string(alice, "jid") : NULL;
    const char *bjid = bob != NULL ? ju_string(bob, "jid") : NULL;
    const char *pem = bob_sk != NULL ? ju_string(bob_sk, "privatePem") : NULL;
    json_t *akeys = alice != NULL ? ju_array(alice, "signKeys") : NULL;
    if (now == NULL || ajid == NULL || bjid == NULL || pem == NULL || akeys == NULL ||
        es_datetime_parse(now, strlen(now), &x->now, NULL) != ESESSION_OK)
        return "incomplete alice, bob or now";
    bare_of(ajid, x->alice_bare, sizeof x->alice_bare);
    bare_of(bjid, x->bob_bare, sizeof x->bob_bare);

    esession_host_ops ops = {0};
    ops.now = fixed_now;
    esession_ctx_options co = ESESSION_CTX_OPTIONS_INIT;
    co.ops = &ops;
    co.user = &x->now;
    if (esession_ctx_new(&x->ctx, &co, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR) !=
        ESESSION_OK)
        return "cannot create a context";
    snprintf(x->dir, sizeof x->dir, "/tmp/esession-vec-XXXXXX");
    if (mkdtemp(x->dir) == NULL) {
        x->dir[0] = '\0';
        return "mkdtemp failed";
    }
    snprintf(x->bob_ks, sizeof x->bob_ks, "%s/bob.ks", x->dir);
    snprintf(x->alice_ks, sizeof x->alice_ks, "%s/alice.ks", x->dir);
    if ((x->ks = make_ks(x->ctx, x->bob_ks)) == NULL)
        return "cannot create Bob's keystore";
    if (esession_key_from_pem(x->ctx, &x->bob_key, pem, strlen(pem)) != ESESSION_OK ||
        esession_keystore_add_key(x->ks, x->bob_key) != ESESSION_OK)
        return "cannot store Bob's key";
    for (size_t i = 0; i < json_array_size(akeys); i++) {
        const char *apem = ju_string(json_array_get(akeys, i), "privatePem");
        esession_key *k = NULL;
        unsigned alerts = 0;
        esession_status st = apem != NULL
                                 ? esession_key_from_pem(x->ctx, &k, apem, strlen(apem))
                                 : ESESSION_ERR_MALFORMED;
        if (st == ESESSION_OK)
            st = esession_trust_add(x->ks, x->alice_bare, k, "alice", &alerts);
        esession_key_free(k);
        if (st != ESESSION_OK)
            return "cannot trust one of Alice's keys";
    }
    return NULL;
}

/* ---- comparisons ------------------------------------------------------ */

typedef struct diffs {
    char text[400];
} diffs;

static void differs(diffs *d, const char *name)
{
    size_t n = strlen(d->text);
    snprintf(d->text + n, sizeof d->text - n, "%s%s", n ? ", " : "", name);
}

static void cmp_hex(diffs *d, json_t *obj, const char *key, const uint8_t *v, size_t n)
{
    size_t len = 0;
    uint8_t *want = ju_hex(obj, key, &len);
    if (want == NULL || len != n || (n > 0 && memcmp(want, v, n) != 0))
        differs(d, key);
    free(want);
}

static void cmp_text(diffs *d, json_t *obj, const char *key, const char *v, size_t n)
{
    const char *want = ju_string(obj, key);
    if (want == NULL || strlen(want) != n || memcmp(want, v, n) != 0)
        differs(d, key);
}

static void cmp_chosen(diffs *d, json_t *chosen, const es_choice *c)
{
    const char *key;
    json_t *val;
    if (chosen == NULL) {
        differs(d, "chosen (absent)");
        return;
    }
    json_object_foreach(chosen, key, val) {
        const char *want = json_string_value(val);
        char mine[16];
        const char *have = NULL;
        if (strcmp(key, "rekey_freq") == 0) {
            snprintf(mine, sizeof mine, "%lu", (unsigned long)c->rekey_freq);
            have = mine;
        }
        for (size_t i = 0; have == NULL && i < ES_CH_COUNT; i++)
            if (strcmp(key, es_options_list_fields[i]) == 0)
                have = c->value[i];
        if (want == NULL || have == NULL || strcmp(want, have) != 0) {
            char name[64];
            snprintf(name, sizeof name, "chosen.%s", key);
            differs(d, name);
        }
    }
}

/* A DSA identity is randomized: open it as Alice would instead, and
 * check that it names Bob's key. */
static void check_dsa_identity(diffs *d, esession_ctx *ctx, const es_sender_start_trace *t,
                               json_t *group)
{
    size_t na = 0, nb = 0;
    uint8_t *n_a = ju_hex(ju_object(group, "alice"), "nonce", &na);
    uint8_t *n_b = ju_hex(ju_object(group, "bob"), "nonce", &nb);
    es_chan *chan = NULL;
    esession_key *bob = NULL;
    esession_buf kv = {NULL, 0, 0};
    es_id_input in = {n_a, na, n_b, nb, (const uint8_t *)t->d.data, t->d.len, t->form_b.data,
                      t->form_b.len};
    int ok = n_a != NULL && n_b != NULL && es_chan_new(ctx, &t->keys->b, &chan) == ESESSION_OK &&
             es_identity_open(ctx, t->keys, chan, t->chosen.sign_type, &in, t->c_b,
                              (const uint8_t *)t->id.idb.data, t->id.idb.len, t->id.mb,
                              t->id.mac_len, &bob, NULL) == ESESSION_OK &&
             esession_key_to_keyvalue(ctx, bob, &kv) == ESESSION_OK &&
             kv.len == t->id.pubkey_b.len && memcmp(kv.data, t->id.pubkey_b.data, kv.len) == 0;
    if (!ok)
        differs(d, "IDB/MB (DSA identity does not open)");
    esession_buf_free(&kv);
    esession_key_free(bob);
    es_chan_free(chan);
    free(n_a);
    free(n_b);
}

static void cmp_start(diffs *d, json_t *exp, const es_sender_start_trace *t, int rsa)
{
    const es_session_keys *k = t->keys;
    cmp_chosen(d, ju_object(exp, "chosen"), &t->chosen);
    cmp_hex(d, exp, "d", (const uint8_t *)t->d.data, t->d.len);
    cmp_hex(d, exp, "K", k->k, k->k_len);
    cmp_hex(d, exp, "KC_A", k->a.kc, k->a.kc_len);
    cmp_hex(d, exp, "KM_A", k->a.km, k->a.km_len);
    cmp_hex(d, exp, "KS_A", k->ks_a, k->k_len);
    cmp_hex(d, exp, "KC_B", k->b.kc, k->b.kc_len);
    cmp_hex(d, exp, "KM_B", k->b.km, k->b.km_len);
    cmp_hex(d, exp, "KS_B", k->ks_b, k->k_len);
    cmp_hex(d, exp, "C_B", t->c_b, ES_AES_BLOCK);
    cmp_text(d, exp, "formBNormalized", t->form_b.data, t->form_b.len);
    cmp_text(d, exp, "pubKeyBXml", t->id.pubkey_b.data, t->id.pubkey_b.len);
    cmp_hex(d, exp, "macB", t->id.mac_b, t->id.mac_len);
    if (rsa) {
        cmp_text(d, exp, "signBXml", t->id.sign_b.data, t->id.sign_b.len);
        cmp_hex(d, exp, "IDB", (const uint8_t *)t->id.idb.data, t->id.idb.len);
        cmp_hex(d, exp, "MB", t->id.mb, t->id.mac_len);
    } else {
        /* Same length as the reference's: the counters that follow match. */
        size_t len = 0;
        uint8_t *idb = ju_hex(exp, "IDB", &len);
        if (idb == NULL || len != t->id.idb.len)
            differs(d, "IDB length");
        free(idb);
    }
}

/* m_final: the decoded <data> of a stanza (empty if none). */
static uint8_t *m_final_of(const char *stanza, size_t *len)
{
    const char *a = strstr(stanza, "<data>"), *b = a != NULL ? strstr(a, "</data>") : NULL;
    *len = 0;
    if (a == NULL || b == NULL)
        return calloc(1, 1);
    a += strlen("<data>");
    size_t n = (size_t)(b - a);
    uint8_t *out = malloc(es_base64_decoded_max(n) + 1);
    if (out != NULL && es_base64_decode(out, es_base64_decoded_max(n) + 1, len, a, n) !=
                           ESESSION_OK) {
        free(out);
        return NULL;
    }
    return out;
}

/* A copy of s without the values of the identity and mac fields. */
static char *masked(const char *s)
{
    static const char *const fields[] = {"<field var='identity'><value>",
                                         "<field var='mac'><value>"};
    char *out = malloc(strlen(s) + 1);
    if (out == NULL)
        return NULL;
    strcpy(out, s);
    for (size_t i = 0; i < 2; i++) {
        char *p = strstr(out, fields[i]);
        char *q = p != NULL ? strstr(p, "</value>") : NULL;
        if (p == NULL || q == NULL)
            continue;
        p += strlen(fields[i]);
        memmove(p, q, strlen(q) + 1);
    }
    return out;
}

static void cmp_stanza_xml(diffs *d, json_t *exp, const char *mine, int exact)
{
    const char *want = ju_string(exp, "stanzaXml");
    if (want == NULL) {
        differs(d, "stanzaXml (absent)");
        return;
    }
    if (exact) {
        if (strcmp(want, mine) != 0)
            differs(d, "stanzaXml");
        return;
    }
    char *a = masked(want), *b = masked(mine);
    if (a == NULL || b == NULL || strcmp(a, b) != 0)
        differs(d, "stanzaXml (identity and mac aside)");
    free(a);
    free(b);
}

static void cmp_sealed(diffs *d, json_t *exp, const es_sender_seal_trace *t, const char *stanza,
                       int exact)
{
    cmp_hex(d, exp, "counterBefore", t->counter_before, ES_AES_BLOCK);
    cmp_hex(d, exp, "aMac", t->a_mac, t->mac_len);
    size_t n = 0;
    uint8_t *mf = m_final_of(stanza, &n);
    if (mf == NULL)
        differs(d, "mFinal (bad base64)");
    else
        cmp_hex(d, exp, "mFinal", mf, n);
    free(mf);
    int want_rekey = ju_string(exp, "dPrime") != NULL;
    if (want_rekey != t->rekeyed) {
        differs(d, "re-key");
    } else if (t->rekeyed) {
        cmp_hex(d, exp, "dPrime", (const uint8_t *)t->d_prime.data, t->d_prime.len);
        if (t->keys_after == NULL) {
            differs(d, "KC_BAfter, KM_BAfter (not traced)");
        } else {
            cmp_hex(d, exp, "KC_BAfter", t->keys_after->kc, t->keys_after->kc_len);
            cmp_hex(d, exp, "KM_BAfter", t->keys_after->km, t->keys_after->km_len);
        }
    }
    cmp_stanza_xml(d, exp, stanza, exact);
}

/* ---- step (2): Bob ---------------------------------------------------- */

typedef struct bob_in {
    uint8_t *y, *n_b, *c_a;
    size_t y_len, n_b_len, c_a_len;
    const char *thread;
    esession_sender_options opt;
} bob_in;

static void bob_in_free(bob_in *b)
{
    if (b->y != NULL)
        sodium_memzero(b->y, b->y_len);
    free(b->y);
    free(b->n_b);
    free(b->c_a);
    memset(b, 0, sizeof *b);
}

static const char *bob_load(json_t *group, bob_in *b)
{
    memset(b, 0, sizeof *b);
    json_t *bob = ju_object(group, "bob");
    const char *freq = bob != NULL ? ju_string(bob, "rekey_freq") : NULL;
    b->y = bob != NULL ? ju_hex(bob, "y", &b->y_len) : NULL;
    b->n_b = bob != NULL ? ju_hex(bob, "nonce", &b->n_b_len) : NULL;
    b->c_a = bob != NULL ? ju_hex(bob, "counter", &b->c_a_len) : NULL;
    b->thread = bob != NULL ? ju_string(bob, "thread") : NULL;
    if (freq == NULL || b->y == NULL || b->n_b == NULL || b->c_a == NULL ||
        b->c_a_len != ES_AES_BLOCK || b->thread == NULL)
        return "incomplete bob inputs";
    b->opt = (esession_sender_options)ESESSION_SENDER_OPTIONS_INIT;
    b->opt.allow_weak_groups = 1; /* the vectors use groups 2 and 5 */
    b->opt.rekey_freq = (uint32_t)strtoul(freq, NULL, 10);
    b->opt.single_stanza = json_is_true(json_object_get(bob, "terminate"));
    b->opt.no_fallback_body = 1; /* the reference stanzas are PROFILE §8's, without one */
    return NULL;
}

/* Start with the vector's inputs; the options form as Alice published it. */
static const char *bob_start(run *x, json_t *group, json_t *exp, const bob_in *b,
                             es_sender_start_trace *t, esession_sender **s, diffs *d,
                             char *why, size_t why_cap)
{
    const char *form = ju_string(exp, "optionsFormXml");
    xmlDocPtr doc = NULL;
    if (form == NULL || es_xml_parse(x->ctx, form, strlen(form), &doc) != ESESSION_OK)
        return "optionsFormXml does not parse";
    esession_key *trusted[ES_SENDER_TRUSTED_MAX];
    size_t n = 0;
    es_sender_fixed fx = {b->y, b->y_len, b->n_b, b->n_b_len, b->c_a, b->thread};
    const char *bjid = ju_string(ju_object(group, "bob"), "jid");
    esession_status st = es_ks_trusted_keys(x->ks, x->alice_bare, trusted, ES_SENDER_TRUSTED_MAX,
                                            &n);
    if (st == ESESSION_OK)
        st = es_sender_start_form(x->ctx, x->ks, bjid, x->alice_bare, xmlDocGetRootElement(doc),
                                  (const esession_key *const *)trusted, n, x->now, &b->opt, &fx,
                                  t, s);
    for (size_t i = 0; i < n; i++)
        esession_key_free(trusted[i]);
    xmlFreeDoc(doc);
    if (st != ESESSION_OK) {
        snprintf(why, why_cap, "start failed: %s (%s)", esession_status_name(st),
                 esession_ctx_error_detail(x->ctx));
        return why;
    }
    int rsa = esession_key_get_type(x->bob_key) == ESESSION_KEY_RSA;
    cmp_start(d, exp, t, rsa);
    if (!rsa)
        check_dsa_identity(d, x->ctx, t, group);
    return NULL;
}

/* Seal message i (or terminate, for the termination content at the end). */
static esession_status bob_seal(esession_sender *s, json_t *msg, int last,
                                es_sender_seal_trace *t, esession_buf *out)
{
    const char *m = ju_string(msg, "plaintextXml");
    if (m == NULL)
        return ESESSION_ERR_MALFORMED;
    if (last && strcmp(m, es_sender_term_content) == 0)
        return es_sender_terminate_traced(s, t, out);
    size_t y_len = 0;
    uint8_t *y = ju_hex(msg, "rekeyY", &y_len);
    es_sender_rekey rk = {y != NULL ? ES_REKEY_NOW : ES_REKEY_NEVER, y, y_len};
    esession_status st = es_sender_seal_raw(s, (const uint8_t *)m, strlen(m), "chat", &rk, t, out);
    if (y != NULL)
        sodium_memzero(y, y_len);
    free(y);
    return st;
}

static void run_bob(hv_report *r, run *x, json_t *group, json_t *test, const char *tid)
{
    char id[HV_ID_MAX];
    json_t *exp = ju_object(test, "expected");
    json_t *msgs = ju_array(test, "messages");
    json_t *stanzas = exp != NULL ? ju_array(exp, "stanzas") : NULL;
    bob_in b;
    es_sender_start_trace t;
    esession_sender *s = NULL;
    diffs d;

    memset(&t, 0, sizeof t);
    memset(&d, 0, sizeof d);
    snprintf(id, sizeof id, "%s bob", tid);
    const char *why = bob_load(group, &b);
    if (why == NULL && (msgs == NULL || stanzas == NULL ||
                        json_array_size(msgs) != json_array_size(stanzas) ||
                        json_array_size(msgs) > MAX_MSGS))
        why = "messages and expected.stanzas do not match";
    char start_why[300];
    if (why == NULL)
        why = bob_start(x, group, exp, &b, &t, &s, &d, start_why, sizeof start_why);
    if (why != NULL)
        hv_fail(r, id, "%s", why);
    else if (d.text[0] != '\0')
        hv_fail(r, id, "differs: %s", d.text);
    else
        hv_pass(r, id);
    es_sender_start_trace_clear(&t);
    bob_in_free(&b);

    int rsa = esession_key_get_type(x->bob_key) == ESESSION_KEY_RSA;
    size_t n = msgs != NULL ? json_array_size(msgs) : 0;
    for (size_t i = 0; s != NULL && i < n && i < MAX_MSGS; i++) {
        es_sender_seal_trace st;
        esession_buf out = {NULL, 0, 0};
        memset(&st, 0, sizeof st);
        memset(&d, 0, sizeof d);
        snprintf(id, sizeof id, "%s stanza %zu", tid, i + 1);
        esession_status rc = bob_seal(s, json_array_get(msgs, i), i + 1 == n, &st, &out);
        if (rc != ESESSION_OK) {
            hv_fail(r, id, "sealing failed: %s (%s)", esession_status_name(rc),
                    esession_ctx_error_detail(x->ctx));
        } else {
            cmp_sealed(&d, json_array_get(stanzas, i), &st, out.data, rsa || i > 0);
            if (d.text[0] != '\0')
                hv_fail(r, id, "differs: %s", d.text);
            else
                hv_pass(r, id);
        }
        x->stanza[x->n_stanzas++] = out;
        es_sender_seal_trace_clear(&st);
    }
    /* A single-stanza or terminated session leaves nothing stored. */
    if (s != NULL && s->ended) {
        esession_sender *again = NULL;
        esession_status rc = esession_sender_resume(x->ctx, x->ks, x->alice_bare, &again);
        snprintf(id, sizeof id, "%s state erased", tid);
        if (rc == ESESSION_ERR_NO_SESSION)
            hv_pass(r, id);
        else
            hv_fail(r, id, "resume after the end gave %s", esession_status_name(rc));
        esession_sender_free(again);
    }
    esession_sender_free(s);
}

/* ---- step (3): Alice -------------------------------------------------- */

#if HV_RECEIVER
/* Alice's keystore: the published option set with her exponents, and
 * Bob's key trusted for his bare JID. */
static const char *alice_store(run *x, json_t *group, json_t *exp, esession_keystore **out)
{
    json_t *alice = ju_object(group, "alice");
    json_t *opts = alice != NULL ? ju_object(alice, "options") : NULL;
    json_t *modp = opts != NULL ? ju_array(opts, "modp") : NULL;
    json_t *xs = alice != NULL ? ju_object(alice, "x") : NULL;
    const char *expires = opts != NULL ? ju_string(opts, "expires") : NULL;
    const char *form = ju_string(exp, "optionsFormXml");
    int64_t exp_at = 0;
    size_t nonce_len = 0, ng = modp != NULL ? json_array_size(modp) : 0;
    if (form == NULL || xs == NULL || expires == NULL || ng == 0 || ng > ES_OPTSET_MAX_GROUPS ||
        es_datetime_parse(expires, strlen(expires), &exp_at, NULL) != ESESSION_OK)
        return "incomplete alice";
    uint8_t *nonce = ju_hex(alice, "nonce", &nonce_len);
    int groups[ES_OPTSET_MAX_GROUPS];
    esession_buf xv[ES_OPTSET_MAX_GROUPS];
    memset(xv, 0, sizeof xv);
    const char *why = nonce == NULL ? "bad alice.nonce" : NULL;
    for (size_t i = 0; why == NULL && i < ng; i++) {
        const char *g = json_string_value(json_array_get(modp, i));
        size_t len = 0;
        uint8_t *v = g != NULL ? ju_hex(xs, g, &len) : NULL;
        if (v == NULL || es_buf_set(&xv[i], v, len, 1) != ESESSION_OK)
            why = "bad alice.x";
        groups[i] = g != NULL ? atoi(g) : 0;
        if (v != NULL)
            sodium_memzero(v, len);
        free(v);
    }
    esession_keystore *ks = why == NULL ? make_ks(x->ctx, x->alice_ks) : NULL;
    if (why == NULL && ks == NULL)
        why = "cannot create Alice's keystore";
    if (why == NULL && es_ks_optset_add(ks, nonce, nonce_len, x->now - 3600, exp_at, groups, xv,
                                        ng, form, strlen(form)) != ESESSION_OK)
        why = "cannot store Alice's option set";
    unsigned alerts = 0;
    if (why == NULL &&
        esession_trust_add(ks, x->bob_bare, x->bob_key, "bob", &alerts) != ESESSION_OK)
        why = "cannot trust Bob's key";
    for (size_t i = 0; i < ng; i++)
        esession_buf_free(&xv[i]);
    free(nonce);
    if (why != NULL) {
        esession_keystore_free(ks);
        return why;
    }
    *out = ks;
    return NULL;
}

/* Feed each stanza Bob sent; each must open to its plaintext (the
 * termination may be reported as such instead). */
static void run_alice(hv_report *r, run *x, json_t *group, json_t *test, const char *tid)
{
    json_t *exp = ju_object(test, "expected");
    json_t *msgs = ju_array(test, "messages");
    size_t n = msgs != NULL ? json_array_size(msgs) : 0;
    char id[HV_ID_MAX];
    esession_keystore *ks = NULL;
    esession_receiver *rcv = NULL;
    const char *why = exp != NULL ? alice_store(x, group, exp, &ks) : "no expected";
    if (why == NULL && esession_receiver_new(x->ctx, ks, &rcv) != ESESSION_OK)
        why = "esession_receiver_new failed";
    for (size_t i = 0; i < n; i++) {
        snprintf(id, sizeof id, "%s alice %zu", tid, i + 1);
        const char *want = ju_string(json_array_get(msgs, i), "plaintextXml");
        if (why != NULL) {
            hv_fail(r, id, "%s", why);
            continue;
        }
        if (i >= x->n_stanzas || x->stanza[i].data == NULL) {
            hv_fail(r, id, "Bob produced no stanza");
            continue;
        }
        esession_status st = esession_receiver_feed(rcv, x->stanza[i].data, x->stanza[i].len, i);
        esession_result res;
        int got = 0, ok = 0;
        char detail[200] = "no result";
        while (st == ESESSION_OK && esession_receiver_next(rcv, &res)) {
            if (!got && res.tag == i) {
                got = 1;
                if (res.kind == ESESSION_RESULT_MESSAGE)
                    ok = want != NULL && res.plaintext.len == strlen(want) &&
                         memcmp(res.plaintext.data, want, res.plaintext.len) == 0;
                else if (res.kind == ESESSION_RESULT_TERMINATED)
                    ok = want != NULL && strcmp(want, es_sender_term_content) == 0;
                snprintf(detail, sizeof detail, "result kind %d, error %s%s", (int)res.kind,
                         esession_status_name(res.error), ok ? "" : " (plaintext differs?)");
            }
            esession_result_free(&res);
        }
        if (st != ESESSION_OK)
            hv_fail(r, id, "feed: %s", esession_status_name(st));
        else if (!ok)
            hv_fail(r, id, "%s", detail);
        else
            hv_pass(r, id);
    }
    esession_receiver_free(rcv);
    esession_keystore_free(ks);
}
#else
static void run_alice(hv_report *r, run *x, json_t *group, json_t *test, const char *tid)
{
    json_t *msgs = ju_array(test, "messages");
    size_t n = msgs != NULL ? json_array_size(msgs) : 0;
    (void)x;
    (void)group;
    for (size_t i = 0; i < n; i++) {
        char id[HV_ID_MAX];
        snprintf(id, sizeof id, "%s alice %zu", tid, i + 1);
        hv_skip(r, id, "Alice's receiver not available");
    }
}
#endif

void hv_esession_session(hv_report *r, json_t *group, size_t gi)
{
    json_t *tests = ju_array(group, "tests");
    size_t ti;
    json_t *test;
    json_array_foreach(tests, ti, test) {
        char tid[HV_ID_MAX / 2];
        long long tc = -1;
        (void)ju_integer(test, "tcId", &tc);
        snprintf(tid, sizeof tid, "group %zu tcId %lld", gi, tc);
        run x;
        const char *why = run_setup(&x, group);
        if (why != NULL) {
            char id[HV_ID_MAX];
            snprintf(id, sizeof id, "%s bob", tid);
            hv_fail(r, id, "set-up: %s", why);
        } else {
            run_bob(r, &x, group, test, tid);
            run_alice(r, &x, group, test, tid);
        }
        run_free(&x);
    }
}
