/* SPDX-License-Identifier: ISC */
/* OfflineAccept vectors (VECTORS.md): Alice's side alone. For every test a
 * fresh keystore holds the option set of `alice` (its form rebuilt from
 * alice.options and alice.signKeys) and, if bob.trusted, Bob's key for his
 * bare JID; a context whose clock says `now` feeds each stanza (tag = its
 * index) and every result is compared with `expected`, `released` and,
 * after esession_receiver_end, `finally`. */
#include "harness.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "json_util.h"
#include "../../crypto/dh.h"
#include "../../forms/datetime.h"
#include "../../session/options_sig.h"
#include "../../store/store.h"

#define ACC_LISTS 10
#define ACC_KEYS 8
#define ACC_PASS "vector keystore"
#define WHY_MAX 512

typedef struct acc_group {
    const char *lists[ACC_LISTS][ES_OPT_MAX_LIST];
    es_offer offer;
    uint8_t *nonce;
    size_t nonce_len;
    int groups[ES_OPT_MAX_GROUPS];
    esession_buf x[ES_OPT_MAX_GROUPS], e[ES_OPT_MAX_GROUPS];
    esession_key *keys[ACC_KEYS];
    size_t n_keys;
    esession_buf form;
    char *bob_bare;
    esession_key *bob_key;
    int trusted;
    int64_t now;
    unsigned discarded; /* ESESSION_EVENT_DISCARDED seen */
} acc_group;

static int64_t acc_now(void *user)
{
    return ((const acc_group *)user)->now;
}

static void acc_event(void *user, const esession_event *ev)
{
    if (ev->type == ESESSION_EVENT_DISCARDED)
        ((acc_group *)user)->discarded++;
}

static void group_free(acc_group *g)
{
    for (size_t i = 0; i < ES_OPT_MAX_GROUPS; i++) {
        esession_buf_free(&g->x[i]);
        esession_buf_free(&g->e[i]);
    }
    for (size_t i = 0; i < g->n_keys; i++)
        esession_key_free(g->keys[i]);
    esession_key_free(g->bob_key);
    esession_buf_free(&g->form);
    free(g->nonce);
    free(g->bob_bare);
}

static const char *load_lists(json_t *opts, acc_group *g)
{
    es_strlist *lists[ACC_LISTS] = {
        &g->offer.otr, &g->offer.disclosure, &g->offer.security, &g->offer.modp,
        &g->offer.crypt_algs, &g->offer.hash_algs, &g->offer.sign_algs, &g->offer.compress,
        &g->offer.stanzas, &g->offer.ver,
    };
    for (size_t i = 0; i < ACC_LISTS; i++) {
        json_t *arr = ju_array(opts, es_options_list_fields[i]);
        if (arr == NULL || json_array_size(arr) == 0 || json_array_size(arr) > ES_OPT_MAX_LIST)
            return "bad option list";
        lists[i]->n = json_array_size(arr);
        for (size_t j = 0; j < lists[i]->n; j++)
            if ((g->lists[i][j] = json_string_value(json_array_get(arr, j))) == NULL)
                return "non-string option";
        lists[i]->v = g->lists[i];
    }
    const char *freq = ju_string(opts, "rekey_freq"), *exp = ju_string(opts, "expires");
    if (freq == NULL || exp == NULL ||
        es_datetime_parse(exp, strlen(exp), &g->offer.expires, NULL) != ESESSION_OK)
        return "bad rekey_freq or expires";
    g->offer.rekey_freq = (uint32_t)strtoul(freq, NULL, 10);
    g->offer.match_resource = ju_string(opts, "match_resource");
    return NULL;
}

/* x and e of each offered group. */
static const char *load_exponents(esession_ctx *ctx, json_t *alice, acc_group *g)
{
    json_t *x = ju_object(alice, "x");
    if (x == NULL || g->offer.modp.n > ES_OPT_MAX_GROUPS)
        return "bad alice.x";
    for (size_t i = 0; i < g->offer.modp.n; i++) {
        size_t xl = 0;
        uint8_t *xb = ju_hex(x, g->offer.modp.v[i], &xl);
        es_dh *dh = NULL;
        g->groups[i] = atoi(g->offer.modp.v[i]);
        esession_status st = xb != NULL ? es_dh_from_private(ctx, &dh, g->groups[i], xb, xl)
                                        : ESESSION_ERR_MALFORMED;
        if (xb != NULL) {
            sodium_memzero(xb, xl);
            free(xb);
        }
        if (st == ESESSION_OK)
            st = es_dh_public(dh, &g->e[i]);
        if (st == ESESSION_OK)
            st = es_dh_private(dh, &g->x[i]);
        es_dh_free(dh);
        if (st != ESESSION_OK)
            return "cannot load an x";
    }
    return NULL;
}

static const char *load_group(esession_ctx *ctx, json_t *group, acc_group *g)
{
    json_t *alice = ju_object(group, "alice"), *bob = ju_object(group, "bob");
    json_t *opts = alice != NULL ? ju_object(alice, "options") : NULL;
    const char *why, *now = ju_string(group, "now");

    if (opts == NULL || bob == NULL || now == NULL)
        return "no alice.options, bob or now";
    if (es_datetime_parse(now, strlen(now), &g->now, NULL) != ESESSION_OK)
        return "bad now";
    if ((why = load_lists(opts, g)) != NULL || (why = load_exponents(ctx, alice, g)) != NULL)
        return why;
    if ((g->nonce = ju_hex(alice, "nonce", &g->nonce_len)) == NULL)
        return "bad alice.nonce";
    json_t *keys = ju_array(alice, "signKeys");
    if (keys == NULL || json_array_size(keys) == 0 || json_array_size(keys) > ACC_KEYS)
        return "bad alice.signKeys";
    for (size_t i = 0; i < json_array_size(keys); i++) {
        const char *pem = ju_string(json_array_get(keys, i), "privatePem");
        if (pem == NULL ||
            esession_key_from_pem(ctx, &g->keys[g->n_keys], pem, strlen(pem)) != ESESSION_OK)
            return "cannot load a signing key of Alice";
        g->n_keys++;
    }
    if (es_options_build(ctx, &g->offer, g->nonce, g->nonce_len, g->e,
                         (const esession_key *const *)g->keys, g->n_keys, &g->form) != ESESSION_OK)
        return "cannot build Alice's options form";
    const char *jid = ju_string(bob, "jid"), *pem = ju_string(bob, "publicKeyPem");
    json_t *trusted = json_object_get(bob, "trusted");
    if (jid == NULL || pem == NULL || !json_is_boolean(trusted))
        return "bad bob.jid, bob.publicKeyPem or bob.trusted";
    g->trusted = json_is_true(trusted);
    g->bob_bare = strndup(jid, strcspn(jid, "/"));
    if (g->bob_bare == NULL ||
        esession_key_from_pem(ctx, &g->bob_key, pem, strlen(pem)) != ESESSION_OK)
        return "cannot load Bob's public key";
    return NULL;
}

/* ---- one test ------------------------------------------------------ */

typedef struct acc_run {
    esession_ctx *ctx;
    acc_group *g;
    char dir[64];
    char path[96];
    esession_keystore *ks;
    esession_receiver *r;
    char why[WHY_MAX];
} acc_run;

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        (void)unlink(p);
    }
    closedir(d);
    (void)rmdir(dir);
}

static int set_up(acc_run *t)
{
    acc_group *g = t->g;
    esession_keystore_options o = ESESSION_KEYSTORE_OPTIONS_INIT;
    unsigned alerts = 0;
    esession_status st;

    o.kdf_opslimit = crypto_pwhash_argon2id_OPSLIMIT_MIN;
    o.kdf_memlimit = crypto_pwhash_argon2id_MEMLIMIT_MIN;
    snprintf(t->dir, sizeof t->dir, "/tmp/esession-accept-XXXXXX");
    if (mkdtemp(t->dir) == NULL) {
        snprintf(t->why, sizeof t->why, "mkdtemp failed");
        t->dir[0] = '\0';
        return 0;
    }
    snprintf(t->path, sizeof t->path, "%s/keystore", t->dir);
    st = esession_keystore_create(t->ctx, &t->ks, t->path, ACC_PASS, strlen(ACC_PASS), &o);
    if (st == ESESSION_OK)
        st = es_ks_optset_add(t->ks, g->nonce, g->nonce_len, g->now, g->offer.expires, g->groups,
                              g->x, g->offer.modp.n, g->form.data, g->form.len);
    if (st == ESESSION_OK && g->trusted)
        st = esession_trust_add(t->ks, g->bob_bare, g->bob_key, "", &alerts);
    if (st == ESESSION_OK)
        st = esession_receiver_new(t->ctx, t->ks, &t->r);
    if (st != ESESSION_OK) {
        char s[200];
        hv_status_text(s, sizeof s, t->ctx, st);
        snprintf(t->why, sizeof t->why, "set-up: %s", s);
        return 0;
    }
    return 1;
}

static void tear_down(acc_run *t)
{
    esession_receiver_free(t->r);
    esession_keystore_free(t->ks);
    if (t->dir[0] != '\0')
        remove_dir(t->dir);
}

static const char *kind_name(esession_result_kind k)
{
    switch (k) {
    case ESESSION_RESULT_MESSAGE:
        return "message";
    case ESESSION_RESULT_DUPLICATE:
        return "duplicate";
    case ESESSION_RESULT_HELD:
        return "held";
    case ESESSION_RESULT_TERMINATED:
        return "terminated";
    case ESESSION_RESULT_ERROR:
        return "error";
    case ESESSION_RESULT_PLAIN:
        return "plain"; /* no vector expects it: a mismatch */
    }
    return "?";
}

static void describe(char *out, size_t cap, const esession_result *res)
{
    if (res->kind == ESESSION_RESULT_ERROR)
        snprintf(out, cap, "error %s", esession_status_name(res->error));
    else if (res->kind == ESESSION_RESULT_MESSAGE)
        snprintf(out, cap, "message of %zu octets", res->plaintext.len);
    else
        snprintf(out, cap, "status %s", kind_name(res->kind));
}

/* Compare one result with an expected entry; NULL or the reason. */
static const char *compare(acc_run *t, const esession_result *res, json_t *want, long long index)
{
    const char *text = ju_string(want, "plaintextXml"), *err = ju_string(want, "error");
    const char *status = ju_string(want, "status"), *ctr = ju_string(want, "counter");
    char got[96];

    describe(got, sizeof got, res);
    if ((long long)res->tag != index) {
        snprintf(t->why, sizeof t->why, "result for stanza %llu where stanza %lld was expected",
                 (unsigned long long)res->tag, index);
        return t->why;
    }
    if (text != NULL) {
        if (res->kind != ESESSION_RESULT_MESSAGE) {
            snprintf(t->why, sizeof t->why, "stanza %lld: %s, want a message (%s)", index, got,
                     esession_ctx_error_detail(t->ctx));
            return t->why;
        }
        if (res->plaintext.len != strlen(text) ||
            memcmp(res->plaintext.data, text, res->plaintext.len) != 0) {
            snprintf(t->why, sizeof t->why, "stanza %lld: plaintext differs (%zu octets, want %zu)",
                     index, res->plaintext.len, strlen(text));
            return t->why;
        }
    } else if (err != NULL) {
        if (res->kind != ESESSION_RESULT_ERROR ||
            strcmp(esession_status_name(res->error), err) != 0) {
            snprintf(t->why, sizeof t->why, "stanza %lld: %s, want error %s (%s)", index, got, err,
                     esession_ctx_error_detail(t->ctx));
            return t->why;
        }
    } else if (status != NULL) {
        if (strcmp(kind_name(res->kind), status) != 0) {
            snprintf(t->why, sizeof t->why, "stanza %lld: %s, want status %s (%s)", index, got,
                     status, esession_ctx_error_detail(t->ctx));
            return t->why;
        }
    } else {
        snprintf(t->why, sizeof t->why, "stanza %lld: expected entry names no outcome", index);
        return t->why;
    }
    if (ctr != NULL) {
        size_t n = 0;
        uint8_t *want_ctr = vec_hex(ctr, &n);
        int same = want_ctr != NULL && n == sizeof res->counter &&
                   memcmp(want_ctr, res->counter, n) == 0;
        free(want_ctr);
        if (!same) {
            snprintf(t->why, sizeof t->why, "stanza %lld: counter differs from %s", index, ctr);
            return t->why;
        }
    }
    return NULL;
}

/* Take the queued results; compare them with entries (own first when own
 * is non-NULL, then the list), each entry naming its index. */
static const char *drain(acc_run *t, json_t *own, long long own_index, json_t *list)
{
    esession_result res;
    size_t k = 0, n = list != NULL ? json_array_size(list) : 0;
    const char *why = NULL;
    int first = own != NULL;

    while (esession_receiver_next(t->r, &res)) {
        if (why == NULL) {
            if (first) {
                why = compare(t, &res, own, own_index);
                first = 0;
            } else if (k < n) {
                json_t *e = json_array_get(list, k++);
                long long idx = -1;
                if (ju_integer(e, "index", &idx) != 0) {
                    snprintf(t->why, sizeof t->why, "an entry without an index");
                    why = t->why;
                } else {
                    why = compare(t, &res, e, idx);
                }
            } else {
                char got[96];
                describe(got, sizeof got, &res);
                snprintf(t->why, sizeof t->why, "unexpected extra result for stanza %llu: %s",
                         (unsigned long long)res.tag, got);
                why = t->why;
            }
        }
        esession_result_free(&res);
    }
    if (why == NULL && first) {
        snprintf(t->why, sizeof t->why, "stanza %lld: no result", own_index);
        why = t->why;
    }
    if (why == NULL && k < n) {
        snprintf(t->why, sizeof t->why, "%zu expected %s result(s) missing", n - k,
                 own != NULL ? "released" : "final");
        why = t->why;
    }
    return why;
}

static unsigned count_errors(json_t *test)
{
    unsigned n = 0;
    json_t *exp = ju_array(test, "expected"), *fin = ju_array(test, "finally"), *e;
    size_t i;
    json_array_foreach(exp, i, e)
    {
        json_t *rel = ju_array(e, "released"), *x;
        size_t j;
        n += ju_string(e, "error") != NULL;
        json_array_foreach(rel, j, x) n += ju_string(x, "error") != NULL;
    }
    json_array_foreach(fin, i, e) n += ju_string(e, "error") != NULL;
    return n;
}

static const char *run_test(acc_run *t, json_t *test)
{
    json_t *stanzas = ju_array(test, "stanzas"), *expected = ju_array(test, "expected");
    const char *why = NULL;
    size_t i;
    json_t *s;

    if (stanzas == NULL || expected == NULL ||
        json_array_size(stanzas) != json_array_size(expected))
        return "stanzas and expected missing or of different lengths";
    t->g->discarded = 0;
    if (!set_up(t))
        return t->why;
    json_array_foreach(stanzas, i, s)
    {
        const char *text = json_string_value(s);
        if (text == NULL) {
            why = "a stanza is not a string";
            break;
        }
        esession_status st = esession_receiver_feed(t->r, text, strlen(text), (uint64_t)i);
        if (st != ESESSION_OK) {
            char d[200];
            hv_status_text(d, sizeof d, t->ctx, st);
            snprintf(t->why, sizeof t->why, "stanza %zu: feed failed: %s", i, d);
            why = t->why;
            break;
        }
        json_t *want = json_array_get(expected, i);
        if ((why = drain(t, want, (long long)i, ju_array(want, "released"))) != NULL)
            break;
    }
    if (why == NULL) {
        esession_status st = esession_receiver_end(t->r, NULL, NULL);
        if (st != ESESSION_OK) {
            snprintf(t->why, sizeof t->why, "end: %s", esession_status_name(st));
            why = t->why;
        } else {
            why = drain(t, NULL, -1, ju_array(test, "finally"));
        }
    }
    if (why == NULL && t->g->discarded != count_errors(test)) {
        snprintf(t->why, sizeof t->why, "%u discarded events for %u error results",
                 t->g->discarded, count_errors(test));
        why = t->why;
    }
    tear_down(t);
    return why;
}

void hv_esession_accept(hv_report *r, json_t *group, size_t gi)
{
    json_t *tests = ju_array(group, "tests"), *test;
    acc_group g;
    esession_host_ops ops = {.now = acc_now, .event = acc_event};
    esession_ctx_options co = ESESSION_CTX_OPTIONS_INIT;
    esession_ctx *ctx = NULL;
    const char *load;
    size_t ti;

    memset(&g, 0, sizeof g);
    co.ops = &ops;
    co.user = &g;
    if (esession_ctx_new(&ctx, &co, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR) == ESESSION_OK)
        load = load_group(ctx, group, &g);
    else
        load = "cannot create a context";
    json_array_foreach(tests, ti, test)
    {
        char id[HV_ID_MAX];
        long long tc = -1;
        (void)ju_integer(test, "tcId", &tc);
        snprintf(id, sizeof id, "group %zu tcId %lld", gi, tc);
        acc_run t;
        memset(&t, 0, sizeof t);
        t.ctx = ctx;
        t.g = &g;
        const char *why = load != NULL ? load : run_test(&t, test);
        if (why == NULL)
            hv_pass(r, id);
        else
            hv_fail(r, id, "%s", why);
    }
    group_free(&g);
    esession_ctx_free(ctx);
}
