/* SPDX-License-Identifier: ISC */
/* The session crypto layer (PROFILE §3-§5, §9, §11) against every
 * OfflineSession vector file: Bob's side reproduces each intermediate
 * value and each <c> byte for byte, Alice's side opens each stanza as
 * received; then every rejection. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../../crypto/base64.h"
#include "../../crypto/mpint.h"
#include "../../forms/dataform.h"
#include "../../session/scrypto.h"
#include "../common/vecfile.h"
#include "fixture.h"

#define INIT_NS "http://www.xmpp.org/extensions/xep-0116.html#ns-init"
#define C_OPEN "<c xmlns='" ES_C_NS "'>"

static const char *const session_files[] = {
    "vectors/esession/offline_session_rsa_modp14_aes128.json",
    "vectors/esession/offline_session_dsa_modp5_aes256_rekey.json",
    "vectors/esession/offline_session_single_stanza.json",
    "vectors/esession/offline_session_match_resource_close.json",
};
#define RSA_FILE (session_files[0])
#define DSA_FILE (session_files[1])

FX_SUITE_WITH_CTX(scrypto);

/* ---- small helpers -------------------------------------------------- */

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    cr_assert_not_null(s, "vector field %s", key);
    return s;
}

static uint8_t *jhex(const json_t *o, const char *key, size_t *len)
{
    uint8_t *b = vec_hex(jstr(o, key), len);
    cr_assert_not_null(b, "bad hex in %s", key);
    return b;
}

static void expect_hex(const json_t *o, const char *key, const uint8_t *got, size_t n)
{
    size_t len;
    uint8_t *want = jhex(o, key, &len);
    cr_assert_eq(n, len, "%s: length %zu, expected %zu", key, n, len);
    cr_assert_arr_eq(got, want, n, "%s differs", key);
    free(want);
}

static void expect_text(const char *want, const char *got, size_t n, const char *what)
{
    cr_assert_eq(n, strlen(want), "%s: length %zu, expected %zu", what, n, strlen(want));
    cr_assert_arr_eq(got, want, n, "%s differs", what);
}

static uint8_t *b64(const char *text, size_t *len)
{
    size_t n = strlen(text), cap = es_base64_decoded_max(n);
    uint8_t *b = malloc(cap + 1);
    cr_assert_not_null(b);
    cr_assert_eq(es_base64_decode(b, cap, len, text, n), ESESSION_OK, "bad base64");
    return b;
}

static char *b64_encode(const uint8_t *b, size_t n)
{
    char *s = malloc(es_base64_encoded_len(n) + 1);
    cr_assert_not_null(s);
    es_base64_encode(s, b, n);
    return s;
}

static void check(esession_status rc, esession_status want, const char *what)
{
    cr_assert_eq(rc, want, "%s: %s (%s), expected %s", what, esession_status_name(rc),
                 esession_ctx_error_detail(ctx), esession_status_name(want));
}

static void ok(esession_status rc, const char *what)
{
    check(rc, ESESSION_OK, what);
}

/* The <c>…</c> of a stanza text, as a fresh string. */
static char *c_text_of(const char *stanza)
{
    const char *a = strstr(stanza, C_OPEN);
    cr_assert_not_null(a, "stanza without <c>");
    const char *b = strstr(a, "</c>");
    cr_assert_not_null(b);
    size_t n = (size_t)(b - a) + 4;
    char *s = malloc(n + 1);
    cr_assert_not_null(s);
    memcpy(s, a, n);
    s[n] = '\0';
    return s;
}

/* Text of <name>…</name> inside s, base64-decoded. */
static uint8_t *elem_b64(const char *s, const char *name, size_t *len)
{
    char open[32], close[32];
    snprintf(open, sizeof open, "<%s>", name);
    snprintf(close, sizeof close, "</%s>", name);
    const char *a = strstr(s, open), *b;
    cr_assert_not_null(a, "no <%s>", name);
    a += strlen(open);
    b = strstr(a, close);
    cr_assert_not_null(b);
    char *t = strndup(a, (size_t)(b - a));
    cr_assert_not_null(t);
    uint8_t *v = b64(t, len);
    free(t);
    return v;
}

/* ---- the fixture: one OfflineSession test ---------------------------- */

typedef struct fx {
    json_t *root, *group, *test, *exp, *stanzas, *messages;
    es_suite suite;
    int modp;
    esession_key_type sign_type;
    es_dh *alice_dh, *bob_dh;
    esession_buf e, d;
    uint8_t *n_a, *n_b, *c_a;
    size_t n_a_len, n_b_len, c_a_len;
    uint8_t c_b[ES_AES_BLOCK];
    esession_key *bob_key;
    const char *form_b;
    es_id_input in;
} fx;

static void fx_load(fx *f, const char *path)
{
    json_error_t err;
    memset(f, 0, sizeof *f);
    f->root = json_load_file(path, 0, &err);
    cr_assert_not_null(f->root, "%s: %s", path, err.text);
    f->group = json_array_get(json_object_get(f->root, "testGroups"), 0);
    cr_assert_str_eq(jstr(f->group, "type"), "OfflineSession");
    f->test = json_array_get(json_object_get(f->group, "tests"), 0);
    f->exp = json_object_get(f->test, "expected");
    f->stanzas = json_object_get(f->exp, "stanzas");
    f->messages = json_object_get(f->test, "messages");
    cr_assert_eq(json_array_size(f->stanzas), json_array_size(f->messages));

    const json_t *chosen = json_object_get(f->exp, "chosen");
    const char *h = jstr(chosen, "hash_algs"), *c = jstr(chosen, "crypt_algs");
    const char *s = jstr(chosen, "sign_algs");
    ok(es_hash_from_name(h, strlen(h), &f->suite.hash), "hash name");
    ok(es_cipher_from_name(c, strlen(c), &f->suite.cipher), "cipher name");
    ok(es_key_type_for_alg(s, strlen(s), &f->sign_type), "sign_algs");
    f->modp = atoi(jstr(chosen, "modp"));

    const json_t *alice = json_object_get(f->group, "alice");
    const json_t *bob = json_object_get(f->group, "bob");
    size_t n;
    uint8_t *v = jhex(json_object_get(f->exp, "e"), jstr(chosen, "modp"), &n);
    ok(es_buf_set(&f->e, v, n, 0), "e");
    free(v);
    v = jhex(f->exp, "d", &n);
    ok(es_buf_set(&f->d, v, n, 0), "d");
    free(v);

    f->n_a = jhex(alice, "nonce", &f->n_a_len);
    f->n_b = jhex(bob, "nonce", &f->n_b_len);
    f->c_a = jhex(bob, "counter", &f->c_a_len);
    cr_assert_eq(f->c_a_len, ES_AES_BLOCK);
    es_counter_b(f->c_a, f->c_b);

    const char *pem = jstr(json_object_get(bob, "signKey"), "privatePem");
    ok(esession_key_from_pem(ctx, &f->bob_key, pem, strlen(pem)), "Bob's key");
    f->form_b = jstr(f->exp, "formBNormalized");
    f->in = (es_id_input){f->n_a, f->n_a_len, f->n_b, f->n_b_len, (const uint8_t *)f->d.data,
                          f->d.len, f->form_b, strlen(f->form_b)};
}

/* The DH objects from the vector's exponents (one modexp each: made only
 * where needed, as they dominate the run time under valgrind). */
static es_dh *fx_dh(fx *f, int alice)
{
    es_dh **dh = alice ? &f->alice_dh : &f->bob_dh;
    if (*dh == NULL) {
        const json_t *who = json_object_get(f->group, alice ? "alice" : "bob");
        const json_t *holder = alice ? json_object_get(who, "x") : who;
        const char *key = alice ? jstr(json_object_get(f->exp, "chosen"), "modp") : "y";
        size_t n;
        uint8_t *v = jhex(holder, key, &n);
        ok(es_dh_from_private(ctx, dh, f->modp, v, n), "DH exponent");
        free(v);
    }
    return *dh;
}

static void fx_free(fx *f)
{
    es_dh_free(f->alice_dh);
    es_dh_free(f->bob_dh);
    esession_buf_free(&f->e);
    esession_buf_free(&f->d);
    free(f->n_a);
    free(f->n_b);
    free(f->c_a);
    esession_key_free(f->bob_key);
    json_decref(f->root);
}

static const json_t *stanza_at(const fx *f, size_t i)
{
    return json_array_get(f->stanzas, i);
}

static const char *plaintext_at(const fx *f, size_t i)
{
    return jstr(json_array_get(f->messages, i), "plaintextXml");
}

static void counter_at(const fx *f, size_t i, uint8_t out[ES_AES_BLOCK])
{
    size_t n;
    uint8_t *c = jhex(stanza_at(f, i), "counterBefore", &n);
    cr_assert_eq(n, ES_AES_BLOCK);
    memcpy(out, c, n);
    free(c);
}

static es_session_keys *bob_keys_dh(fx *f)
{
    es_session_keys *k = NULL;
    ok(es_session_keys_dh(ctx, f->suite, fx_dh(f, 0), (const uint8_t *)f->e.data, f->e.len, &k),
       "Bob's keys");
    return k;
}

static es_session_keys *alice_keys_dh(fx *f)
{
    es_session_keys *k = NULL;
    ok(es_session_keys_dh(ctx, f->suite, fx_dh(f, 1), (const uint8_t *)f->d.data, f->d.len, &k),
       "Alice's keys");
    return k;
}

/* The session keys from the vector's K (no DH). */
static es_session_keys *bob_keys(const fx *f)
{
    es_session_keys *k = NULL;
    size_t n;
    uint8_t *kk = jhex(f->exp, "K", &n);
    ok(es_session_keys_from_k(ctx, f->suite, kk, n, &k), "keys from K");
    free(kk);
    return k;
}

static es_chan *chan_of(const es_dir_keys *keys)
{
    es_chan *c = NULL;
    ok(es_chan_new(ctx, keys, &c), "chan");
    return c;
}

static void expect_keys(const json_t *exp, const es_session_keys *k)
{
    expect_hex(exp, "K", k->k, k->k_len);
    expect_hex(exp, "KC_A", k->a.kc, k->a.kc_len);
    expect_hex(exp, "KM_A", k->a.km, k->a.km_len);
    expect_hex(exp, "KS_A", k->ks_a, k->k_len);
    expect_hex(exp, "KC_B", k->b.kc, k->b.kc_len);
    expect_hex(exp, "KM_B", k->b.km, k->b.km_len);
    expect_hex(exp, "KS_B", k->ks_b, k->k_len);
}

/* ---- Bob's side: every expected value --------------------------------- */

static void bob_side(const char *path)
{
    fx f;
    fx_load(&f, path);
    esession_buf pub = {NULL, 0, 0};
    ok(es_dh_public(fx_dh(&f, 1), &pub), "e");
    expect_hex(json_object_get(f.exp, "e"), jstr(json_object_get(f.exp, "chosen"), "modp"),
               (const uint8_t *)pub.data, pub.len);
    esession_buf_free(&pub);
    ok(es_dh_public(fx_dh(&f, 0), &pub), "d");
    expect_hex(f.exp, "d", (const uint8_t *)pub.data, pub.len);
    esession_buf_free(&pub);

    es_session_keys *k = bob_keys_dh(&f), *ka = alice_keys_dh(&f);
    expect_keys(f.exp, k);
    expect_keys(f.exp, ka); /* d^x gives the same K as e^y */
    es_session_keys_free(ka);
    expect_hex(f.exp, "C_B", f.c_b, ES_AES_BLOCK);

    es_chan *chan = chan_of(&k->b);
    es_id_sealed id;
    ok(es_identity_seal(ctx, k, chan, f.bob_key, &f.in, f.c_b, &id), "identity seal");
    expect_text(jstr(f.exp, "pubKeyBXml"), id.pubkey_b.data, id.pubkey_b.len, "pubKeyB");
    expect_hex(f.exp, "macB", id.mac_b, id.mac_len);
    size_t idb_len;
    uint8_t *idb = jhex(f.exp, "IDB", &idb_len);
    cr_assert_eq(id.idb.len, idb_len, "IDB length");
    if (f.sign_type == ESESSION_KEY_RSA) {
        expect_text(jstr(f.exp, "signBXml"), id.sign_b.data, id.sign_b.len, "signB");
        expect_hex(f.exp, "IDB", (const uint8_t *)id.idb.data, id.idb.len);
        expect_hex(f.exp, "MB", id.mb, id.mac_len);
    } else {
        /* DSA draws k: check the signature instead of its octets. */
        const char *t = id.sign_b.data + strlen("<SignatureValue>");
        char *inner = strndup(t, id.sign_b.len - strlen("<SignatureValue></SignatureValue>"));
        size_t sl;
        uint8_t *sig = b64(inner, &sl);
        ok(es_verify(ctx, f.bob_key, id.mac_b, id.mac_len, sig, sl), "signB verifies");
        free(sig);
        free(inner);
    }
    free(idb);

    uint8_t ctr[ES_AES_BLOCK], want[ES_AES_BLOCK];
    memcpy(ctr, id.ctr_after, ES_AES_BLOCK);
    for (size_t i = 0; i < json_array_size(f.stanzas); i++) {
        const json_t *st = stanza_at(&f, i), *msg = json_array_get(f.messages, i);
        counter_at(&f, i, want);
        cr_assert_arr_eq(ctr, want, ES_AES_BLOCK, "counterBefore of stanza %zu", i);

        es_c_extras x = {NULL, 0, 0, NULL, NULL, 0};
        esession_buf dp = {NULL, 0, 0};
        es_dir_keys *nk = NULL;
        const char *ry = json_string_value(json_object_get(msg, "rekeyY"));
        if (ry != NULL) {
            size_t yl;
            uint8_t *y = vec_hex(ry, &yl);
            ok(es_rekey_initiate(ctx, f.suite, f.modp, (const uint8_t *)f.e.data, f.e.len, y, yl,
                                 &dp, &nk),
               "re-key");
            free(y);
            expect_hex(st, "dPrime", (const uint8_t *)dp.data, dp.len);
            expect_hex(st, "KC_BAfter", nk->kc, nk->kc_len);
            expect_hex(st, "KM_BAfter", nk->km, nk->km_len);
            x.key = (const uint8_t *)dp.data;
            x.key_len = dp.len;
        } else {
            cr_assert_null(json_object_get(st, "dPrime"));
        }

        const char *m = plaintext_at(&f, i);
        esession_buf c = {NULL, 0, 0};
        uint8_t a_mac[ES_HASH_MAX_BYTES];
        ok(es_c_seal(ctx, chan, ctr, (const uint8_t *)m, strlen(m), &x, &c, a_mac), "seal");
        expect_hex(st, "aMac", a_mac, es_chan_mac_size(chan));
        size_t mf_len;
        uint8_t *mf = elem_b64(c.data, "data", &mf_len);
        expect_hex(st, "mFinal", mf, mf_len);
        free(mf);
        char *want_c = c_text_of(jstr(st, "stanzaXml"));
        expect_text(want_c, c.data, c.len, "<c> element");
        free(want_c);
        esession_buf_free(&c);
        esession_buf_free(&dp);
        if (nk != NULL)
            ok(es_chan_rekey(ctx, chan, nk), "chan re-key");
        es_dir_keys_free(nk);
    }
    es_id_sealed_clear(&id);
    es_chan_free(chan);
    es_session_keys_free(k);
    fx_free(&f);
}


/* ---- Alice's side: each stanza as received ---------------------------- */

typedef struct received {
    xmlDocPtr doc;
    es_form *form;
    esession_buf form_b;
    uint8_t *n_a, *n_b, *d, *c_a, *idb, *mb;
    size_t n_a_len, n_b_len, d_len, c_a_len, idb_len, mb_len;
} received;

static uint8_t *form_b64(const es_form *form, const char *var, size_t *len)
{
    const char *v = NULL;
    ok(es_form_value(ctx, form, var, &v), var);
    return b64(v, len);
}

static xmlNodePtr parse_stanza(const char *text, xmlDocPtr *doc)
{
    ok(es_xml_parse(ctx, text, strlen(text), doc), "stanza XML");
    return xmlDocGetRootElement(*doc);
}

static void read_init(const char *stanza, received *r)
{
    static const char *const excluded[] = {"identity", "mac"};
    memset(r, 0, sizeof *r);
    xmlNodePtr msg = parse_stanza(stanza, &r->doc);
    xmlNodePtr init = es_xml_child(msg, "init", INIT_NS);
    cr_assert_not_null(init);
    xmlNodePtr x = es_xml_child(init, "x", ES_XDATA_NS);
    cr_assert_not_null(x);
    ok(es_form_parse(ctx, x, &r->form), "formB");
    ok(es_form_normalize(ctx, x, excluded, 2, &r->form_b), "normalize formB");
    r->n_a = form_b64(r->form, "nonce", &r->n_a_len);
    r->n_b = form_b64(r->form, "my_nonce", &r->n_b_len);
    r->d = form_b64(r->form, "dhkeys", &r->d_len);
    r->c_a = form_b64(r->form, "counter", &r->c_a_len);
    r->idb = form_b64(r->form, "identity", &r->idb_len);
    r->mb = form_b64(r->form, "mac", &r->mb_len);
    cr_assert_eq(r->c_a_len, ES_AES_BLOCK);
}

static void received_free(received *r)
{
    free(r->n_a);
    free(r->n_b);
    free(r->d);
    free(r->c_a);
    free(r->idb);
    free(r->mb);
    esession_buf_free(&r->form_b);
    es_form_free(r->form);
    xmlFreeDoc(r->doc);
}

static es_id_input input_of(const received *r)
{
    return (es_id_input){r->n_a, r->n_a_len, r->n_b, r->n_b_len, r->d, r->d_len,
                         r->form_b.data, r->form_b.len};
}

/* Open the <c> of stanza text at s: verify, not at s+1, decrypt. */
static es_c_open *open_c(const char *stanza, xmlDocPtr *doc)
{
    xmlNodePtr msg = parse_stanza(stanza, doc);
    xmlNodePtr c = es_xml_child(msg, "c", ES_C_NS);
    cr_assert_not_null(c);
    es_c_open *o = NULL;
    ok(es_c_parse(ctx, c, &o), "<c> parse");
    return o;
}

/* A finder that knows one key (user), or none (user NULL). */
static esession_status find_one(void *user, const char *kv, size_t n, esession_key **out)
{
    const esession_key *k = user;
    if (k == NULL || k->kv.len != n || memcmp(k->kv.data, kv, n) != 0)
        return ESESSION_ERR_UNTRUSTED_KEY;
    return es_key_dup(ctx, k, out);
}

/* With the key known, and with a finder that knows nothing (decoded
 * then), the same key and counter come out. */
static void known_both_ways(const es_session_keys *k, es_chan *chan, esession_key_type type,
                            const es_id_input *in, const uint8_t *c_b, const received *r,
                            esession_key *bob, const uint8_t *ctr)
{
    for (int i = 0; i < 2; i++) {
        es_id_known known = {find_one, i == 0 ? (void *)bob : NULL};
        esession_key *got = NULL;
        uint8_t after[ES_AES_BLOCK];
        ok(es_identity_open_known(ctx, k, chan, type, in, c_b, r->idb, r->idb_len, r->mb,
                                  r->mb_len, &known, &got, after),
           "identity open, known keys");
        cr_assert_eq(got->kv.len, bob->kv.len);
        cr_assert_arr_eq(got->kv.data, bob->kv.data, bob->kv.len);
        cr_assert_arr_eq(after, ctr, ES_AES_BLOCK);
        esession_key_free(got);
    }
}

static void alice_side(const char *path)
{
    fx f;
    fx_load(&f, path);
    received r;
    read_init(jstr(stanza_at(&f, 0), "stanzaXml"), &r);
    expect_text(f.form_b, r.form_b.data, r.form_b.len, "formB as received");

    es_session_keys *k = NULL;
    ok(es_session_keys_dh(ctx, f.suite, fx_dh(&f, 1), r.d, r.d_len, &k), "Alice's keys");
    expect_keys(f.exp, k);
    uint8_t c_b[ES_AES_BLOCK], ctr[ES_AES_BLOCK], want[ES_AES_BLOCK];
    es_counter_b(r.c_a, c_b);
    expect_hex(f.exp, "C_B", c_b, ES_AES_BLOCK);
    expect_hex(f.exp, "IDB", r.idb, r.idb_len);
    expect_hex(f.exp, "MB", r.mb, r.mb_len);

    es_chan *chan = chan_of(&k->b);
    es_id_input in = input_of(&r);
    esession_key *bob = NULL;
    ok(es_identity_open(ctx, k, chan, f.sign_type, &in, c_b, r.idb, r.idb_len, r.mb, r.mb_len,
                        &bob, ctr),
       "identity open");
    esession_buf kv = {NULL, 0, 0};
    ok(esession_key_to_keyvalue(ctx, bob, &kv), "Bob's KeyValue");
    expect_text(jstr(f.exp, "pubKeyBXml"), kv.data, kv.len, "pubKeyB received");
    esession_buf_free(&kv);
    known_both_ways(k, chan, f.sign_type, &in, c_b, &r, bob, ctr);
    esession_key_free(bob);

    for (size_t i = 0; i < json_array_size(f.stanzas); i++) {
        const json_t *st = stanza_at(&f, i);
        counter_at(&f, i, want);
        cr_assert_arr_eq(ctr, want, ES_AES_BLOCK, "counter of stanza %zu", i);
        xmlDocPtr doc = NULL;
        es_c_open *o = open_c(jstr(st, "stanzaXml"), &doc);

        uint8_t other[ES_AES_BLOCK];
        memcpy(other, ctr, ES_AES_BLOCK);
        es_ctr_add(other, 1);
        cr_assert_eq(es_c_verify(o, chan, other), ESESSION_ERR_BAD_MAC, "verifies at S+1");
        ok(es_c_verify(o, chan, ctr), "verify at S");
        size_t ml;
        const uint8_t *mac = es_c_mac(o, &ml);
        expect_hex(st, "aMac", mac, ml);

        esession_buf plain = {NULL, 0, 0};
        ok(es_c_decrypt(ctx, o, chan, ctr, &plain), "decrypt");
        expect_text(plaintext_at(&f, i), plain.data, plain.len, "plaintextXml");
        cr_assert(plain.secret);
        esession_buf_free(&plain);
        cr_assert(es_c_has_data(o));
        es_ctr_add(ctr, es_c_blocks(o));

        size_t kl;
        const uint8_t *key = es_c_key(o, &kl);
        if (json_object_get(st, "dPrime") != NULL) {
            cr_assert_not_null(key, "stanza %zu should carry <key>", i);
            expect_hex(st, "dPrime", key, kl);
            es_dir_keys *nk = NULL;
            ok(es_rekey_accept(ctx, f.suite, fx_dh(&f, 1), key, kl, &nk), "re-key accept");
            expect_hex(st, "KC_BAfter", nk->kc, nk->kc_len);
            expect_hex(st, "KM_BAfter", nk->km, nk->km_len);
            ok(es_chan_rekey(ctx, chan, nk), "chan re-key");
            es_dir_keys_free(nk);
        } else {
            cr_assert_null(key);
        }
        es_c_free(o);
        xmlFreeDoc(doc);
    }
    es_chan_free(chan);
    es_session_keys_free(k);
    received_free(&r);
    fx_free(&f);
}


/* DSA identity: Bob's fresh signature opens on Alice's side too. */
static void dsa_identity_round_trip(void)
{
    fx f;
    fx_load(&f, DSA_FILE);
    es_session_keys *k = bob_keys(&f);
    es_chan *chan = chan_of(&k->b);
    es_id_sealed id;
    ok(es_identity_seal(ctx, k, chan, f.bob_key, &f.in, f.c_b, &id), "seal");
    esession_key *bob = NULL;
    uint8_t ctr[ES_AES_BLOCK], want[ES_AES_BLOCK];
    ok(es_identity_open(ctx, k, chan, ESESSION_KEY_DSA, &f.in, f.c_b,
                        (const uint8_t *)id.idb.data, id.idb.len, id.mb, id.mac_len, &bob, ctr),
       "open");
    counter_at(&f, 0, want);
    cr_assert_arr_eq(ctr, want, ES_AES_BLOCK);
    cr_assert_arr_eq(id.ctr_after, want, ES_AES_BLOCK);
    cr_assert_eq(esession_key_get_type(bob), ESESSION_KEY_DSA);
    esession_key_free(bob);
    es_id_sealed_clear(&id);
    es_chan_free(chan);
    es_session_keys_free(k);
    fx_free(&f);
}

/* ---- identity rejections ----------------------------------------------- */

typedef struct idfx {
    fx f;
    es_session_keys *k;
    es_chan *chan;
    uint8_t *idb, *mb;
    size_t idb_len, mb_len;
} idfx;

static void idfx_load(idfx *t, const char *path)
{
    fx_load(&t->f, path);
    t->k = bob_keys(&t->f);
    t->chan = chan_of(&t->k->b);
    t->idb = jhex(t->f.exp, "IDB", &t->idb_len);
    t->mb = jhex(t->f.exp, "MB", &t->mb_len);
}

static void idfx_free(idfx *t)
{
    free(t->idb);
    free(t->mb);
    es_chan_free(t->chan);
    es_session_keys_free(t->k);
    fx_free(&t->f);
}

/* Open, expecting want; outputs must stay untouched on failure. */
static void open_expect(idfx *t, esession_key_type type, const es_id_input *in,
                        const uint8_t *idb, size_t idb_len, const uint8_t *mb, size_t mb_len,
                        esession_status want)
{
    esession_key *sentinel = (esession_key *)(uintptr_t)0x1, *bob = sentinel;
    uint8_t ctr[ES_AES_BLOCK];
    memset(ctr, 0xa5, sizeof ctr);
    esession_status rc =
        es_identity_open(ctx, t->k, t->chan, type, in, t->f.c_b, idb, idb_len, mb, mb_len, &bob, ctr);
    check(rc, want, "identity open");
    if (rc == ESESSION_OK) {
        esession_key_free(bob);
        return;
    }
    cr_assert_eq(bob, sentinel, "key output written on failure");
    for (size_t i = 0; i < ES_AES_BLOCK; i++)
        cr_assert_eq(ctr[i], 0xa5, "counter output written on failure");
}

/* IDB and MB for a chosen plaintext, sealed like Bob would. */
static void seal_plain(idfx *t, const char *plain, size_t n, uint8_t **idb, uint8_t *mb)
{
    uint8_t ctr[ES_AES_BLOCK];
    *idb = malloc(n + 1);
    cr_assert_not_null(*idb);
    memcpy(ctr, t->f.c_b, ES_AES_BLOCK);
    ok(es_chan_crypt(t->chan, ctr, (const uint8_t *)plain, *idb, n), "crypt");
    ok(es_chan_mac(t->chan, t->f.c_b, ES_AES_BLOCK, *idb, n, mb), "MB");
}

static void plain_expect(idfx *t, const char *plain, esession_status want)
{
    uint8_t *idb, mb[ES_HASH_MAX_BYTES];
    size_t n = strlen(plain);
    seal_plain(t, plain, n, &idb, mb);
    open_expect(t, t->f.sign_type, &t->f.in, idb, n, mb, es_chan_mac_size(t->chan), want);
    free(idb);
}

/* The genuine plaintext pubKeyB || signB with its parts, as strings. */
static char *genuine(const idfx *t, const char *before, const char *between, const char *after)
{
    const char *kv = jstr(t->f.exp, "pubKeyBXml"), *sv = jstr(t->f.exp, "signBXml");
    size_t n = strlen(before) + strlen(kv) + strlen(between) + strlen(sv) + strlen(after);
    char *s = malloc(n + 1);
    cr_assert_not_null(s);
    snprintf(s, n + 1, "%s%s%s%s%s", before, kv, between, sv, after);
    return s;
}

static void identity_vector_opens(void)
{
    idfx t;
    idfx_load(&t, RSA_FILE);
    open_expect(&t, ESESSION_KEY_RSA, &t.f.in, t.idb, t.idb_len, t.mb, t.mb_len, ESESSION_OK);
    char *p = genuine(&t, "", "", "");
    plain_expect(&t, p, ESESSION_OK); /* the helper itself seals correctly */
    free(p);
    idfx_free(&t);
}

static void identity_flipped_idb_or_mb_is_bad_identity_mac(void)
{
    idfx t;
    idfx_load(&t, RSA_FILE);
    size_t positions[] = {0, t.idb_len / 2, t.idb_len - 1};
    for (size_t i = 0; i < ES_ARRAY_LEN(positions); i++) {
        t.idb[positions[i]] ^= 0x01;
        open_expect(&t, ESESSION_KEY_RSA, &t.f.in, t.idb, t.idb_len, t.mb, t.mb_len,
                    ESESSION_ERR_BAD_IDENTITY_MAC);
        t.idb[positions[i]] ^= 0x01;
    }
    for (size_t i = 0; i < t.mb_len; i += 7) {
        t.mb[i] ^= 0x80;
        open_expect(&t, ESESSION_KEY_RSA, &t.f.in, t.idb, t.idb_len, t.mb, t.mb_len,
                    ESESSION_ERR_BAD_IDENTITY_MAC);
        t.mb[i] ^= 0x80;
    }
    /* wrong lengths: MB truncated, IDB truncated, wrong C_B */
    open_expect(&t, ESESSION_KEY_RSA, &t.f.in, t.idb, t.idb_len, t.mb, t.mb_len - 1,
                ESESSION_ERR_BAD_IDENTITY_MAC);
    open_expect(&t, ESESSION_KEY_RSA, &t.f.in, t.idb, t.idb_len, t.mb, 0,
                ESESSION_ERR_BAD_IDENTITY_MAC);
    open_expect(&t, ESESSION_KEY_RSA, &t.f.in, t.idb, t.idb_len - 1, t.mb, t.mb_len,
                ESESSION_ERR_BAD_IDENTITY_MAC);
    t.f.c_b[15] ^= 1;
    open_expect(&t, ESESSION_KEY_RSA, &t.f.in, t.idb, t.idb_len, t.mb, t.mb_len,
                ESESSION_ERR_BAD_IDENTITY_MAC);
    idfx_free(&t);
}

static void identity_macb_inputs_are_bad_signature(void)
{
    idfx t;
    idfx_load(&t, RSA_FILE);
    es_id_input in = t.f.in;
    uint8_t nb[64];
    memcpy(nb, in.n_b, in.n_b_len);
    nb[3] ^= 0x10;
    in.n_b = nb;
    open_expect(&t, ESESSION_KEY_RSA, &in, t.idb, t.idb_len, t.mb, t.mb_len,
                ESESSION_ERR_BAD_SIGNATURE);
    in = t.f.in;
    in.form_b_len--;
    open_expect(&t, ESESSION_KEY_RSA, &in, t.idb, t.idb_len, t.mb, t.mb_len,
                ESESSION_ERR_BAD_SIGNATURE);
    in = t.f.in;
    in.n_a_len--;
    open_expect(&t, ESESSION_KEY_RSA, &in, t.idb, t.idb_len, t.mb, t.mb_len,
                ESESSION_ERR_BAD_SIGNATURE);
    idfx_free(&t);
}

static void identity_signature_rejections(void)
{
    idfx t;
    idfx_load(&t, RSA_FILE);
    const char *kv = jstr(t.f.exp, "pubKeyBXml"), *sv = jstr(t.f.exp, "signBXml");
    char *inner = strndup(sv + 16, strlen(sv) - 33);
    size_t sl;
    uint8_t *sig = b64(inner, &sl);
    char buf[8192];

    sig[sl / 2] ^= 0x04; /* flipped signature bit */
    char *s1 = b64_encode(sig, sl);
    snprintf(buf, sizeof buf, "%s<SignatureValue>%s</SignatureValue>", kv, s1);
    plain_expect(&t, buf, ESESSION_ERR_BAD_SIGNATURE);
    sig[sl / 2] ^= 0x04;
    char *s2 = b64_encode(sig, sl - 1); /* one octet short */
    snprintf(buf, sizeof buf, "%s<SignatureValue>%s</SignatureValue>", kv, s2);
    plain_expect(&t, buf, ESESSION_ERR_BAD_SIGNATURE);
    snprintf(buf, sizeof buf, "%s<SignatureValue></SignatureValue>", kv);
    plain_expect(&t, buf, ESESSION_ERR_BAD_SIGNATURE);
    /* §1 base64: whitespace inside the text is skipped */
    snprintf(buf, sizeof buf, "%s<SignatureValue>%.40s\n%s</SignatureValue>", kv, inner,
             inner + 40);
    plain_expect(&t, buf, ESESSION_OK);
    free(s1);
    free(s2);
    free(sig);
    free(inner);
    idfx_free(&t);
}

static void identity_plaintext_structure_is_malformed(void)
{
    idfx t;
    idfx_load(&t, RSA_FILE);
    const char *kv = jstr(t.f.exp, "pubKeyBXml"), *sv = jstr(t.f.exp, "signBXml");
    struct {
        const char *before, *between, *after;
    } cases[] = {
        {"", "", "\n"},  {"\n", "", ""},   {" ", "", ""},   {"", " ", ""},
        {"", "\n", ""},  {"", "", " "},    {"", "", "<SignatureValue></SignatureValue>"},
        {"", "<x/>", ""}, {"<KeyValue></KeyValue>", "", ""},
    };
    for (size_t i = 0; i < ES_ARRAY_LEN(cases); i++) {
        char *p = genuine(&t, cases[i].before, cases[i].between, cases[i].after);
        plain_expect(&t, p, ESESSION_ERR_MALFORMED);
        free(p);
    }
    char buf[16384];
    /* a second <KeyValue>, two <SignatureValue> starts, none at all */
    snprintf(buf, sizeof buf, "%s%s%s", kv, kv, sv);
    plain_expect(&t, buf, ESESSION_ERR_MALFORMED);
    snprintf(buf, sizeof buf, "%s<SignatureValue>%s", kv, sv);
    plain_expect(&t, buf, ESESSION_ERR_MALFORMED);
    plain_expect(&t, kv, ESESSION_ERR_MALFORMED);
    plain_expect(&t, sv, ESESSION_ERR_MALFORMED);
    plain_expect(&t, "", ESESSION_ERR_MALFORMED);
    /* signature text that is not base64; an entity in it */
    snprintf(buf, sizeof buf, "%s<SignatureValue>AB!D</SignatureValue>", kv);
    plain_expect(&t, buf, ESESSION_ERR_MALFORMED);
    snprintf(buf, sizeof buf, "%s<SignatureValue>&#x41;AAA</SignatureValue>", kv);
    plain_expect(&t, buf, ESESSION_ERR_MALFORMED);
    /* a namespace, an attribute, a space inside <KeyValue> */
    snprintf(buf, sizeof buf, "<KeyValue xmlns='http://www.w3.org/2000/09/xmldsig#'>%s%s",
             kv + strlen("<KeyValue>"), sv);
    plain_expect(&t, buf, ESESSION_ERR_MALFORMED);
    snprintf(buf, sizeof buf, "<KeyValue><RSAKeyValue> %s%s",
             kv + strlen("<KeyValue><RSAKeyValue>"), sv);
    plain_expect(&t, buf, ESESSION_ERR_MALFORMED);
    /* other element names */
    snprintf(buf, sizeof buf, "%s<Signature>%s</Signature>", kv, sv + 16);
    plain_expect(&t, buf, ESESSION_ERR_MALFORMED);
    idfx_free(&t);
}

/* A well-formed <KeyValue> of a 1024-bit modulus: outside the limits. */
static void identity_key_outside_limits_is_bad_signature(void)
{
    idfx t;
    idfx_load(&t, RSA_FILE);
    uint8_t n[128];
    for (size_t i = 0; i < sizeof n; i++)
        n[i] = (uint8_t)(0xc3 + 7 * i);
    n[sizeof n - 1] |= 1;
    char *mod = b64_encode(n, sizeof n);
    char buf[4096];
    snprintf(buf, sizeof buf,
             "<KeyValue><RSAKeyValue><Modulus>%s</Modulus><Exponent>AQAB</Exponent>"
             "</RSAKeyValue></KeyValue>%s",
             mod, jstr(t.f.exp, "signBXml"));
    plain_expect(&t, buf, ESESSION_ERR_BAD_SIGNATURE);
    free(mod);
    idfx_free(&t);
}

static void identity_key_type_must_match_sign_algs(void)
{
    idfx t;
    idfx_load(&t, DSA_FILE); /* Bob's key is DSA */
    open_expect(&t, ESESSION_KEY_DSA, &t.f.in, t.idb, t.idb_len, t.mb, t.mb_len, ESESSION_OK);
    open_expect(&t, ESESSION_KEY_RSA, &t.f.in, t.idb, t.idb_len, t.mb, t.mb_len,
                ESESSION_ERR_BAD_SIGNATURE);
    idfx_free(&t);

    idfx_load(&t, RSA_FILE);
    open_expect(&t, ESESSION_KEY_DSA, &t.f.in, t.idb, t.idb_len, t.mb, t.mb_len,
                ESESSION_ERR_BAD_SIGNATURE);
    idfx_free(&t);
}

static void identity_dsa_signature_flipped(void)
{
    idfx t;
    idfx_load(&t, DSA_FILE);
    /* decrypt the vector IDB, flip a signature bit, seal it again */
    uint8_t ctr[ES_AES_BLOCK];
    char *p = malloc(t.idb_len + 1);
    memcpy(ctr, t.f.c_b, ES_AES_BLOCK);
    ok(es_chan_crypt(t.chan, ctr, t.idb, (uint8_t *)p, t.idb_len), "decrypt IDB");
    p[t.idb_len] = '\0';
    const char *kv = jstr(t.f.exp, "pubKeyBXml");
    cr_assert_eq(strncmp(p, kv, strlen(kv)), 0);
    char *sv = p + strlen(kv);
    cr_assert_eq(strncmp(sv, "<SignatureValue>", 16), 0);
    char *inner = strndup(sv + 16, strlen(sv) - 33);
    size_t sl;
    uint8_t *sig = b64(inner, &sl);
    cr_assert_eq(sl, ES_DSA_SIG_BYTES);
    plain_expect(&t, p, ESESSION_OK);
    sig[40] ^= 0x01;
    char *s1 = b64_encode(sig, sl);
    char buf[8192];
    snprintf(buf, sizeof buf, "%s<SignatureValue>%s</SignatureValue>", kv, s1);
    plain_expect(&t, buf, ESESSION_ERR_BAD_SIGNATURE);
    free(s1);
    free(sig);
    free(inner);
    free(p);
    idfx_free(&t);
}

static void identity_seal_needs_private_key(void)
{
    idfx t;
    idfx_load(&t, RSA_FILE);
    esession_key *pub = NULL;
    const char *kv = jstr(t.f.exp, "pubKeyBXml");
    ok(esession_key_from_keyvalue(ctx, &pub, kv, strlen(kv)), "public key");
    es_id_sealed id;
    memset(&id, 0x5a, sizeof id);
    check(es_identity_seal(ctx, t.k, t.chan, pub, &t.f.in, t.f.c_b, &id), ESESSION_ERR_STATE,
          "seal with a public key");
    for (size_t i = 0; i < sizeof id; i++)
        cr_assert_eq(((const uint8_t *)&id)[i], 0x5a, "output written on failure");
    check(es_identity_seal(ctx, t.k, t.chan, NULL, &t.f.in, t.f.c_b, &id),
          ESESSION_ERR_INVALID_ARGUMENT, "no key");
    esession_key_free(pub);
    idfx_free(&t);
}

/* ---- stanza content ---------------------------------------------------- */

/* A keyed channel and a known counter from the RSA vector. */
typedef struct cfx {
    fx f;
    es_session_keys *k;
    es_chan *chan;
    uint8_t s[ES_AES_BLOCK];
} cfx;

static void cfx_load(cfx *t)
{
    fx_load(&t->f, RSA_FILE);
    t->k = bob_keys(&t->f);
    t->chan = chan_of(&t->k->b);
    counter_at(&t->f, 0, t->s);
}

static void cfx_free(cfx *t)
{
    es_chan_free(t->chan);
    es_session_keys_free(t->k);
    fx_free(&t->f);
}

/* Parse text as a stanza holding one <c>; return the parse status. */
static esession_status parse_c_text(const char *text, es_c_open **o, xmlDocPtr *doc)
{
    ok(es_xml_parse(ctx, text, strlen(text), doc), "XML");
    xmlNodePtr root = xmlDocGetRootElement(*doc);
    xmlNodePtr c = es_xml_child(root, "c", ES_C_NS);
    if (c == NULL)
        c = root; /* the text is the <c> itself (or a wrong element) */
    return es_c_parse(ctx, c, o);
}

static void c_expect(const char *text, esession_status want)
{
    es_c_open *o = (es_c_open *)(uintptr_t)0x1;
    xmlDocPtr doc = NULL;
    check(parse_c_text(text, &o, &doc), want, text);
    if (want == ESESSION_OK)
        es_c_free(o);
    else
        cr_assert_eq(o, (es_c_open *)(uintptr_t)0x1, "output written on failure");
    xmlFreeDoc(doc);
}

/* A <c> whose a_mac is computed over m_content exactly as given. */
static char *c_with_mac(es_chan *chan, const uint8_t s[ES_AES_BLOCK], const char *m_content,
                        const char *between)
{
    uint8_t mac[ES_HASH_MAX_BYTES];
    ok(es_chan_mac(chan, (const uint8_t *)m_content, strlen(m_content), s, ES_AES_BLOCK, mac),
       "mac");
    char *m64 = b64_encode(mac, es_chan_mac_size(chan));
    size_t n = strlen(C_OPEN) + 2 * strlen(m_content) + strlen(m64) + 64;
    char *t = malloc(n);
    cr_assert_not_null(t);
    snprintf(t, n, "%s%s%s<mac>%s</mac></c>", C_OPEN, m_content, between, m64);
    free(m64);
    return t;
}

static void seal_open_round_trip_all_suites(void)
{
    static const es_hash_alg hashes[] = {ES_HASH_SHA256, ES_HASH_SHA512, ES_HASH_WHIRLPOOL};
    static const es_cipher_alg ciphers[] = {ES_CIPHER_AES128_CTR, ES_CIPHER_AES192_CTR,
                                            ES_CIPHER_AES256_CTR};
    uint8_t k[ES_HASH_MAX_BYTES];
    for (size_t i = 0; i < sizeof k; i++)
        k[i] = (uint8_t)(i * 13 + 1);
    for (size_t h = 0; h < 3; h++) {
        for (size_t c = 0; c < 3; c++) {
            es_suite suite = {hashes[h], ciphers[c]};
            es_session_keys *sk = NULL;
            ok(es_session_keys_from_k(ctx, suite, k, es_hash_size(hashes[h]), &sk), "keys");
            /* the cipher key is the tail of HMAC(K, label) */
            uint8_t full[ES_HASH_MAX_BYTES];
            ok(es_kdf(hashes[h], k, es_hash_size(hashes[h]), "Responder Cipher Key", full),
               "kdf");
            cr_assert_arr_eq(sk->b.kc, full + es_hash_size(hashes[h]) - sk->b.kc_len,
                             sk->b.kc_len);
            cr_assert_eq(sk->b.kc_len, es_cipher_key_size(ciphers[c]));
            es_chan *chan = chan_of(&sk->b);
            uint8_t ctr[ES_AES_BLOCK] = {0}, s[ES_AES_BLOCK];
            memset(ctr, 0xff, sizeof ctr); /* wraps to 0 */
            memcpy(s, ctr, sizeof s);
            const char *m = "<body>a &amp; b</body>";
            esession_buf out = {NULL, 0, 0};
            ok(es_c_seal(ctx, chan, ctr, (const uint8_t *)m, strlen(m), NULL, &out, NULL),
               "seal");
            es_c_open *o = NULL;
            xmlDocPtr doc = NULL;
            ok(parse_c_text(out.data, &o, &doc), "parse");
            cr_assert_eq(es_c_blocks(o), 2);
            uint8_t after[ES_AES_BLOCK] = {0};
            after[15] = 1;
            cr_assert_arr_eq(ctr, after, ES_AES_BLOCK, "counter wraps mod 2^128");
            esession_buf plain = {NULL, 0, 0};
            ok(es_c_decrypt(ctx, o, chan, s, &plain), "decrypt");
            expect_text(m, plain.data, plain.len, "round trip");
            esession_buf_free(&plain);
            es_c_free(o);
            xmlFreeDoc(doc);
            esession_buf_free(&out);
            es_chan_free(chan);
            es_session_keys_free(sk);
        }
    }
}

static void stanza_flipped_bits_and_wrong_counter_are_bad_mac(void)
{
    cfx t;
    cfx_load(&t);
    char *c = c_text_of(jstr(stanza_at(&t.f, 0), "stanzaXml"));
    es_c_open *o = NULL;
    xmlDocPtr doc = NULL;
    ok(parse_c_text(c, &o, &doc), "genuine");
    ok(es_c_verify(o, t.chan, t.s), "genuine verifies");
    /* wrong counters: near and far */
    for (uint64_t d = 1; d < 300; d++) {
        uint8_t s[ES_AES_BLOCK];
        memcpy(s, t.s, sizeof s);
        es_ctr_add(s, d);
        cr_assert_eq(es_c_verify(o, t.chan, s), ESESSION_ERR_BAD_MAC);
    }
    uint8_t s[ES_AES_BLOCK];
    memcpy(s, t.s, sizeof s);
    s[0] ^= 0x80;
    cr_assert_eq(es_c_verify(o, t.chan, s), ESESSION_ERR_BAD_MAC);
    esession_buf plain = {(char *)(uintptr_t)0x1, 7, 0};
    check(es_c_decrypt(ctx, o, t.chan, s, &plain), ESESSION_ERR_BAD_MAC, "decrypt at S'");
    cr_assert_eq(plain.len, 7, "plaintext written on failure");
    es_c_free(o);
    xmlFreeDoc(doc);

    /* flip a character inside <data> and inside <mac> (still base64) */
    const char *elems[] = {"<data>", "<mac>"};
    for (size_t e = 0; e < 2; e++) {
        char *copy = strdup(c);
        char *p = strstr(copy, elems[e]) + strlen(elems[e]) + 5;
        *p = *p == 'A' ? 'B' : 'A';
        doc = NULL;
        ok(parse_c_text(copy, &o, &doc), "damaged parses");
        cr_assert_eq(es_c_verify(o, t.chan, t.s), ESESSION_ERR_BAD_MAC, "%s", elems[e]);
        check(es_c_decrypt(ctx, o, t.chan, t.s, &plain), ESESSION_ERR_BAD_MAC, "decrypt");
        es_c_free(o);
        xmlFreeDoc(doc);
        free(copy);
    }
    /* other keys */
    es_chan *other = chan_of(&t.k->a);
    doc = NULL;
    ok(parse_c_text(c, &o, &doc), "genuine");
    cr_assert_eq(es_c_verify(o, other, t.s), ESESSION_ERR_BAD_MAC);
    es_c_free(o);
    xmlFreeDoc(doc);
    es_chan_free(other);
    free(c);
    cfx_free(&t);
}

static void stanza_with_key_flipped_is_bad_mac(void)
{
    fx f;
    fx_load(&f, DSA_FILE);
    es_session_keys *k = bob_keys(&f);
    es_chan *chan = chan_of(&k->b);
    uint8_t s[ES_AES_BLOCK];
    counter_at(&f, 1, s); /* stanza 1 carries <key> */
    char *c = c_text_of(jstr(stanza_at(&f, 1), "stanzaXml"));
    es_c_open *o = NULL;
    xmlDocPtr doc = NULL;
    ok(parse_c_text(c, &o, &doc), "genuine");
    ok(es_c_verify(o, chan, s), "genuine");
    es_c_free(o);
    xmlFreeDoc(doc);
    char *p = strstr(c, "<key>") + 10;
    *p = *p == 'A' ? 'B' : 'A';
    doc = NULL;
    ok(parse_c_text(c, &o, &doc), "damaged");
    cr_assert_eq(es_c_verify(o, chan, s), ESESSION_ERR_BAD_MAC);
    es_c_free(o);
    xmlFreeDoc(doc);
    free(c);
    es_chan_free(chan);
    es_session_keys_free(k);
    fx_free(&f);
}

static void malformed_c_children(void)
{
    static const char *const bad[] = {
        C_OPEN "<data>AAAA</data></c>",                          /* no mac */
        C_OPEN "</c>",                                            /* empty */
        C_OPEN "<data>AAAA</data><data>AAAA</data><mac>AAAA</mac></c>",
        C_OPEN "<mac>AAAA</mac><mac>AAAA</mac></c>",
        C_OPEN "<key>AAAA</key><key>AAAA</key><mac>AAAA</mac></c>",
        C_OPEN "<new>1</new><new>1</new><mac>AAAA</mac></c>",
        C_OPEN "<foo>AAAA</foo><mac>AAAA</mac></c>",
        C_OPEN "<data xmlns='urn:other'>AAAA</data><mac>AAAA</mac></c>",
        C_OPEN "<data>AA!A</data><mac>AAAA</mac></c>",
        C_OPEN "<data>AAAA</data><mac>AAA</mac></c>",
        C_OPEN "<data>AAAA</data><mac>A=AA</mac></c>",
        C_OPEN "<key>AB==</key><mac>AAAA</mac></c>",             /* trailing bits */
        C_OPEN "<old>*</old><mac>AAAA</mac></c>",
        C_OPEN "x<data>AAAA</data><mac>AAAA</mac></c>",
        C_OPEN "<data>AAAA</data>text<mac>AAAA</mac></c>",
        C_OPEN "<data>AAAA</data><mac>AAAA</mac>.</c>",
        C_OPEN "<data a='1'>AAAA</data><mac>AAAA</mac></c>",
        C_OPEN "<data>AA<b/>AA</data><mac>AAAA</mac></c>",
        C_OPEN "<new>0</new><mac>AAAA</mac></c>",
        C_OPEN "<new>x</new><mac>AAAA</mac></c>",
        C_OPEN "<new></new><mac>AAAA</mac></c>",
        C_OPEN "<new> 1</new><mac>AAAA</mac></c>",
        C_OPEN "<new>4294967296</new><mac>AAAA</mac></c>",
        "<c xmlns='urn:not-xep-0200'><mac>AAAA</mac></c>",
    };
    for (size_t i = 0; i < ES_ARRAY_LEN(bad); i++)
        c_expect(bad[i], ESESSION_ERR_MALFORMED);

    char buf[2048];
    size_t n = (size_t)snprintf(buf, sizeof buf, "%s", C_OPEN);
    for (unsigned i = 0; i <= ES_C_MAX_OLD; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "<old>AAAA</old>");
    snprintf(buf + n, sizeof buf - n, "<mac>AAAA</mac></c>");
    c_expect(buf, ESESSION_ERR_MALFORMED);

    static const char *const good[] = {
        C_OPEN "<mac>AAAA</mac></c>",
        C_OPEN "<mac></mac></c>",
        C_OPEN "<old>AAAA</old><old>AAAA</old><mac>AAAA</mac></c>",
        C_OPEN "<new>4294967295</new><mac>AAAA</mac></c>",
        C_OPEN "\n  <data>AA\nAA</data>\n  <!-- c --><mac>AAAA</mac>\n</c>",
        C_OPEN "<mac>AAAA</mac><data>AAAA</data></c>",
        "<x:c xmlns:x='" ES_C_NS "'><x:data>AAAA</x:data><x:mac>AAAA</x:mac></x:c>",
    };
    for (size_t i = 0; i < ES_ARRAY_LEN(good); i++)
        c_expect(good[i], ESESSION_OK);
}

/* Whitespace between children is dropped; text inside is MACed as received. */
static void m_content_as_received(void)
{
    cfx t;
    cfx_load(&t);
    const char *m = "<body>hi</body>";
    uint8_t ctr[ES_AES_BLOCK], mf[32];
    memcpy(ctr, t.s, sizeof ctr);
    ok(es_chan_crypt(t.chan, ctr, (const uint8_t *)m, mf, strlen(m)), "crypt");
    char *d64 = b64_encode(mf, strlen(m));
    char m_content[256], text[512];

    /* pretty-printed <c>: same m_content as the compact one */
    snprintf(m_content, sizeof m_content, "<data>%s</data>", d64);
    char *c = c_with_mac(t.chan, t.s, m_content, "");
    char *pretty = malloc(strlen(c) + 16);
    snprintf(pretty, strlen(c) + 16, "%.*s\n  %s", (int)strlen(C_OPEN), c, c + strlen(C_OPEN));
    es_c_open *o = NULL;
    xmlDocPtr doc = NULL;
    ok(parse_c_text(pretty, &o, &doc), "pretty");
    ok(es_c_verify(o, t.chan, t.s), "whitespace between children is dropped");
    es_c_free(o);
    xmlFreeDoc(doc);
    free(pretty);
    free(c);

    /* base64 wrapped with CR LF (CR sent as &#xD;): MACed with &#xD; */
    snprintf(m_content, sizeof m_content, "<data>%.8s&#xD;\n%s</data>", d64, d64 + 8);
    c = c_with_mac(t.chan, t.s, m_content, "\n");
    doc = NULL;
    ok(parse_c_text(c, &o, &doc), "wrapped");
    ok(es_c_verify(o, t.chan, t.s), "text as received, canonical escaping");
    esession_buf plain = {NULL, 0, 0};
    ok(es_c_decrypt(ctx, o, t.chan, t.s, &plain), "decrypt");
    expect_text(m, plain.data, plain.len, "plaintext");
    esession_buf_free(&plain);
    es_c_free(o);
    xmlFreeDoc(doc);
    free(c);

    /* the same text, but MACed without the wrap: does not verify */
    snprintf(m_content, sizeof m_content, "<data>%s</data>", d64);
    c = c_with_mac(t.chan, t.s, m_content, "");
    char *mac = strstr(c, "<mac>");
    snprintf(text, sizeof text, "%s<data>%.8s\n%s</data>%s", C_OPEN, d64, d64 + 8, mac);
    doc = NULL;
    ok(parse_c_text(text, &o, &doc), "wrapped");
    cr_assert_eq(es_c_verify(o, t.chan, t.s), ESESSION_ERR_BAD_MAC);
    es_c_free(o);
    xmlFreeDoc(doc);
    free(c);

    /* entities and CDATA in <old> are canonicalized, not taken literally */
    snprintf(m_content, sizeof m_content, "<data>%s</data><old>AAAA</old>", d64);
    c = c_with_mac(t.chan, t.s, m_content, "");
    mac = strstr(c, "<mac>");
    snprintf(text, sizeof text, "%s<data>%s</data><old><![CDATA[AA]]>&#x41;A</old>%s", C_OPEN,
             d64, mac);
    doc = NULL;
    ok(parse_c_text(text, &o, &doc), "entities");
    ok(es_c_verify(o, t.chan, t.s), "old text canonicalized");
    es_c_free(o);
    xmlFreeDoc(doc);
    free(c);
    free(d64);
    cfx_free(&t);
}

static void empty_data_is_no_data(void)
{
    cfx t;
    cfx_load(&t);
    char *c = c_with_mac(t.chan, t.s, "<data></data>", "");
    es_c_open *o = NULL;
    xmlDocPtr doc = NULL;
    ok(parse_c_text(c, &o, &doc), "empty data");
    cr_assert_not(es_c_has_data(o));
    cr_assert_eq(es_c_blocks(o), 1);
    ok(es_c_verify(o, t.chan, t.s), "MAC covers <data></data>");
    esession_buf plain = {NULL, 0, 0};
    ok(es_c_decrypt(ctx, o, t.chan, t.s, &plain), "decrypt");
    cr_assert_eq(plain.len, 0);
    esession_buf_free(&plain);
    es_c_free(o);
    xmlFreeDoc(doc);
    free(c);
    cfx_free(&t);
}

static void seal_without_data_with_extras(void)
{
    cfx t;
    cfx_load(&t);
    uint8_t ctr[ES_AES_BLOCK], s[ES_AES_BLOCK], a_mac[ES_HASH_MAX_BYTES];
    memcpy(ctr, t.s, sizeof ctr);
    memcpy(s, t.s, sizeof s);
    const uint8_t key[] = {0x12, 0x34, 0x56}, o1[] = {1, 2, 3, 4}, o2[] = {0xff};
    const uint8_t *olds[] = {o1, o2};
    const size_t old_len[] = {sizeof o1, sizeof o2};
    es_c_extras x = {key, sizeof key, 3, olds, old_len, 2};
    esession_buf out = {NULL, 0, 0};
    ok(es_c_seal(ctx, t.chan, ctr, NULL, 0, &x, &out, a_mac), "seal, no data");
    es_ctr_add(s, 1);
    cr_assert_arr_eq(ctr, s, ES_AES_BLOCK, "no data: C advances by 1");
    char *m64 = b64_encode(a_mac, 32);
    char want[512];
    snprintf(want, sizeof want,
             "%s<key>EjRW</key><new>3</new><old>AQIDBA==</old><old>/w==</old><mac>%s</mac></c>",
             C_OPEN, m64);
    expect_text(want, out.data, out.len, "children in order, no whitespace");
    free(m64);

    es_c_open *o = NULL;
    xmlDocPtr doc = NULL;
    ok(parse_c_text(out.data, &o, &doc), "parse");
    cr_assert_not(es_c_has_data(o));
    cr_assert_eq(es_c_blocks(o), 1);
    cr_assert_eq(es_c_new_count(o), 3);
    size_t kl;
    const uint8_t *k = es_c_key(o, &kl);
    cr_assert_eq(kl, sizeof key);
    cr_assert_arr_eq(k, key, kl);
    ok(es_c_verify(o, t.chan, t.s), "verify");
    es_c_free(o);
    xmlFreeDoc(doc);
    esession_buf_free(&out);

    /* data plus key: order data, key, mac; C by ceil(len/16) */
    memcpy(ctr, t.s, sizeof ctr);
    es_c_extras kx = {key, sizeof key, 0, NULL, NULL, 0};
    const char *m = "0123456789abcdef0";
    ok(es_c_seal(ctx, t.chan, ctr, (const uint8_t *)m, strlen(m), &kx, &out, NULL), "seal");
    memcpy(s, t.s, sizeof s);
    es_ctr_add(s, 2);
    cr_assert_arr_eq(ctr, s, ES_AES_BLOCK);
    const char *dpos = strstr(out.data, "<data>"), *kpos = strstr(out.data, "<key>"),
               *mpos = strstr(out.data, "<mac>");
    cr_assert(dpos != NULL && kpos != NULL && mpos != NULL && dpos < kpos && kpos < mpos);
    cr_assert_eq(dpos, out.data + strlen(C_OPEN));
    esession_buf_free(&out);
    cfx_free(&t);
}

static void seal_failures_leave_outputs(void)
{
    cfx t;
    cfx_load(&t);
    uint8_t ctr[ES_AES_BLOCK], a_mac[ES_HASH_MAX_BYTES];
    memcpy(ctr, t.s, sizeof ctr);
    memset(a_mac, 0x77, sizeof a_mac);
    esession_buf out = {(char *)(uintptr_t)0x1, 5, 0};
    size_t big = ES_XML_MAX_BYTES; /* base64 of it exceeds the limit */
    uint8_t *m = calloc(1, big);
    cr_assert_not_null(m);
    check(es_c_seal(ctx, t.chan, ctr, m, big, NULL, &out, a_mac), ESESSION_ERR_LIMIT, "too long");
    check(es_c_seal(ctx, t.chan, ctr, m, SIZE_MAX, NULL, &out, a_mac), ESESSION_ERR_LIMIT,
          "SIZE_MAX");
    check(es_c_seal(ctx, t.chan, ctr, NULL, 5, NULL, &out, a_mac), ESESSION_ERR_INVALID_ARGUMENT,
          "NULL m");
    es_c_extras x = {NULL, 3, 0, NULL, NULL, 0};
    check(es_c_seal(ctx, t.chan, ctr, m, 5, &x, &out, a_mac), ESESSION_ERR_INVALID_ARGUMENT,
          "NULL key");
    cr_assert_arr_eq(ctr, t.s, ES_AES_BLOCK, "counter moved on failure");
    cr_assert_eq(out.len, 5);
    cr_assert_eq(a_mac[0], 0x77);
    /* the largest that fits works */
    size_t fit = (ES_XML_MAX_BYTES - 200) / 4 * 3;
    ok(es_c_seal(ctx, t.chan, ctr, m, fit, NULL, &out, a_mac), "large");
    cr_assert_leq(out.len, ES_XML_MAX_BYTES);
    es_c_open *o = NULL;
    xmlDocPtr doc = NULL;
    ok(parse_c_text(out.data, &o, &doc), "parse large");
    cr_assert_eq(es_c_blocks(o), es_ctr_blocks(fit));
    ok(es_c_verify(o, t.chan, t.s), "verify large");
    es_c_free(o);
    xmlFreeDoc(doc);
    esession_buf_free(&out);
    free(m);
    cfx_free(&t);
}

/* ---- keys and re-key ----------------------------------------------------- */

static void counter_b_flips_top_bit(void)
{
    uint8_t a[ES_AES_BLOCK] = {0x3b, 1, 2}, b[ES_AES_BLOCK];
    es_counter_b(a, b);
    cr_assert_eq(b[0], 0xbb);
    cr_assert_arr_eq(a + 1, b + 1, ES_AES_BLOCK - 1);
    a[0] = 0xff;
    es_counter_b(a, b);
    cr_assert_eq(b[0], 0x7f);
    es_counter_b(a, a); /* in place */
    cr_assert_eq(a[0], 0x7f);
}

static void key_schedule_rejections(void)
{
    es_session_keys *k = (es_session_keys *)(uintptr_t)0x1;
    uint8_t key[64] = {1};
    es_suite bad_hash = {(es_hash_alg)9, ES_CIPHER_AES128_CTR};
    es_suite bad_cipher = {ES_HASH_SHA256, (es_cipher_alg)9};
    es_suite good = {ES_HASH_SHA256, ES_CIPHER_AES256_CTR};
    check(es_session_keys_from_k(ctx, bad_hash, key, 32, &k), ESESSION_ERR_UNSUPPORTED, "hash");
    check(es_session_keys_from_k(ctx, bad_cipher, key, 32, &k), ESESSION_ERR_UNSUPPORTED,
          "cipher");
    check(es_session_keys_from_k(ctx, good, key, 31, &k), ESESSION_ERR_INVALID_ARGUMENT, "K len");
    check(es_session_keys_from_k(ctx, good, key, 64, &k), ESESSION_ERR_INVALID_ARGUMENT, "K len");
    check(es_session_keys_derive(ctx, bad_hash, key, 8, &k), ESESSION_ERR_UNSUPPORTED, "derive");
    cr_assert_eq(k, (es_session_keys *)(uintptr_t)0x1);

    fx f;
    fx_load(&f, RSA_FILE);
    uint8_t one = 1;
    check(es_session_keys_dh(ctx, f.suite, fx_dh(&f, 1), &one, 1, &k), ESESSION_ERR_INVALID_DH_VALUE,
          "d = 1");
    check(es_session_keys_dh(ctx, f.suite, fx_dh(&f, 1), NULL, 0, &k), ESESSION_ERR_INVALID_DH_VALUE,
          "d = 0");
    cr_assert_eq(k, (es_session_keys *)(uintptr_t)0x1);
    fx_free(&f);
}

/* mpint of v into a fresh buffer. */
static uint8_t *mpint_of(const mpz_t v, size_t *n)
{
    *n = es_mpint_size(v);
    uint8_t *b = malloc(*n + 1);
    cr_assert_not_null(b);
    es_mpint_write(b, v);
    return b;
}

static void rekey_accept_validates_d_prime(void)
{
    fx f;
    fx_load(&f, RSA_FILE);
    mpz_t p, v;
    mpz_init(p);
    mpz_init(v);
    ok(es_modp_prime(f.modp, p), "p");
    struct {
        long add; /* v = p + add, or the literal below */
        int literal;
        esession_status want;
    } cases[] = {
        {0, 1, ESESSION_ERR_INVALID_DH_VALUE},   /* 0 */
        {1, 1, ESESSION_ERR_INVALID_DH_VALUE},   /* 1 */
        {-1, 0, ESESSION_ERR_INVALID_DH_VALUE},  /* p - 1 */
        {0, 0, ESESSION_ERR_INVALID_DH_VALUE},   /* p */
        {1, 0, ESESSION_ERR_INVALID_DH_VALUE},   /* p + 1 */
    };
    for (size_t i = 0; i < ES_ARRAY_LEN(cases); i++) {
        if (cases[i].literal)
            mpz_set_si(v, cases[i].add);
        else if (cases[i].add < 0)
            mpz_sub_ui(v, p, (unsigned long)-cases[i].add);
        else
            mpz_add_ui(v, p, (unsigned long)cases[i].add);
        size_t n;
        uint8_t *b = mpint_of(v, &n);
        es_dir_keys *k = (es_dir_keys *)(uintptr_t)0x1;
        check(es_rekey_accept(ctx, f.suite, fx_dh(&f, 1), b, n, &k), cases[i].want, "d'");
        cr_assert_eq(k, (es_dir_keys *)(uintptr_t)0x1);
        free(b);
    }
    /* p - d: a non-residue (p = 3 mod 4) */
    size_t n;
    uint8_t *d = jhex(f.exp, "d", &n);
    ok(es_mpint_read(v, d, n), "d");
    mpz_sub(v, p, v);
    uint8_t *nr = mpint_of(v, &n);
    es_dir_keys *k = NULL;
    check(es_rekey_accept(ctx, f.suite, fx_dh(&f, 1), nr, n, &k), ESESSION_ERR_INVALID_DH_VALUE,
          "non-residue");
    free(nr);
    /* a leading zero octet: not an mpint */
    size_t dl;
    free(d);
    d = jhex(f.exp, "d", &dl);
    uint8_t *padded = malloc(dl + 1);
    padded[0] = 0;
    memcpy(padded + 1, d, dl);
    check(es_rekey_accept(ctx, f.suite, fx_dh(&f, 1), padded, dl + 1, &k), ESESSION_ERR_MALFORMED,
          "non-minimal");
    ok(es_rekey_accept(ctx, f.suite, fx_dh(&f, 1), d, dl, &k), "valid d'");
    es_dir_keys_free(k);
    free(padded);
    free(d);
    mpz_clear(v);
    mpz_clear(p);
    fx_free(&f);
}

static void rekey_round_trip_random_y(void)
{
    fx f;
    fx_load(&f, RSA_FILE);
    esession_buf dp = {NULL, 0, 0};
    es_dir_keys *bk = NULL, *ak = NULL;
    ok(es_rekey_initiate(ctx, f.suite, f.modp, (const uint8_t *)f.e.data, f.e.len, NULL, 0, &dp,
                         &bk),
       "Bob re-keys");
    ok(es_rekey_accept(ctx, f.suite, fx_dh(&f, 1), (const uint8_t *)dp.data, dp.len, &ak),
       "Alice follows");
    cr_assert_eq(bk->kc_len, 16);
    cr_assert_eq(bk->km_len, 32);
    cr_assert_arr_eq(bk->kc, ak->kc, 16);
    cr_assert_arr_eq(bk->km, ak->km, 32);
    es_dir_keys_free(ak);
    es_dir_keys_free(bk);
    esession_buf_free(&dp);

    /* Bob refuses an invalid e; outputs untouched */
    uint8_t one = 1;
    esession_buf out = {(char *)(uintptr_t)0x1, 3, 0};
    bk = (es_dir_keys *)(uintptr_t)0x1;
    check(es_rekey_initiate(ctx, f.suite, f.modp, &one, 1, NULL, 0, &out, &bk),
          ESESSION_ERR_INVALID_DH_VALUE, "e = 1");
    cr_assert_eq(out.len, 3);
    cr_assert_eq(bk, (es_dir_keys *)(uintptr_t)0x1);
    fx_free(&f);
}

static void chan_rekey_keeps_algorithms(void)
{
    cfx t;
    cfx_load(&t);
    es_dir_keys other = t.k->a;
    other.suite.hash = ES_HASH_SHA512;
    other.km_len = 64;
    check(es_chan_rekey(ctx, t.chan, &other), ESESSION_ERR_INVALID_ARGUMENT, "suite change");
    other = t.k->a;
    other.kc_len = 5;
    check(es_chan_rekey(ctx, t.chan, &other), ESESSION_ERR_INVALID_ARGUMENT, "key size");
    /* still the old keys: the genuine stanza verifies */
    char *c = c_text_of(jstr(stanza_at(&t.f, 0), "stanzaXml"));
    es_c_open *o = NULL;
    xmlDocPtr doc = NULL;
    ok(parse_c_text(c, &o, &doc), "parse");
    ok(es_c_verify(o, t.chan, t.s), "old keys kept");
    es_c_free(o);
    xmlFreeDoc(doc);
    free(c);
    cfx_free(&t);
}

/* ---- the tests (few and large: each runs in its own process) ---------- */

static void vector_file(size_t i)
{
    bob_side(session_files[i]);
    alice_side(session_files[i]);
}

Test(scrypto, vectors_rsa_modp14_aes128) { vector_file(0); }
Test(scrypto, vectors_dsa_modp5_aes256_rekey)
{
    vector_file(1);
    dsa_identity_round_trip();
}
Test(scrypto, vectors_single_stanza) { vector_file(2); }
Test(scrypto, vectors_match_resource_sha512_aes192_rekey_close) { vector_file(3); }

Test(scrypto, identity_mac_and_inputs)
{
    identity_vector_opens();
    identity_flipped_idb_or_mb_is_bad_identity_mac();
    identity_macb_inputs_are_bad_signature();
    identity_seal_needs_private_key();
}

Test(scrypto, identity_plaintext_and_key)
{
    identity_plaintext_structure_is_malformed();
    identity_signature_rejections();
    identity_key_outside_limits_is_bad_signature();
    identity_key_type_must_match_sign_algs();
    identity_dsa_signature_flipped();
}

Test(scrypto, stanza_seal)
{
    seal_open_round_trip_all_suites();
    seal_without_data_with_extras();
    seal_failures_leave_outputs();
}

Test(scrypto, stanza_open_rejections)
{
    stanza_flipped_bits_and_wrong_counter_are_bad_mac();
    stanza_with_key_flipped_is_bad_mac();
    malformed_c_children();
    chan_rekey_keeps_algorithms();
    m_content_as_received();
    empty_data_is_no_data();
}

Test(scrypto, keys_and_rekey)
{
    counter_b_flips_top_bit();
    key_schedule_rejections();
    rekey_accept_validates_d_prime();
    rekey_round_trip_random_y();
}
