/* SPDX-License-Identifier: ISC */
/* Bob's side of an offline ESession: option selection, every refusal,
 * re-key spacing and the 2^32-block bound, state persistence (resume,
 * reopen, write failures), termination, peer_online and single-stanza
 * sessions. Each stanza is opened by a small Alice built on the crypto
 * layer, so content and counters are checked, not only return codes. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../crypto/base64.h"
#include "../../forms/datetime.h"
#include "../../pep/pep.h"
#include "../../session/sender.h"
#include "../../store/file.h"
#include "ks_test.h"
#include "../common/vecfile.h"

#include "ks_test.h"
#include "fixture.h"

#define ALICE "alice@example.org"
#define BOB "bob@example.com/laptop"
#define T0 1800000000 /* 2027-01-15T08:00:00Z */
#define T0_TEXT "2027-01-15T08:00:00Z"
#define MAX_GROUPS 4

static uint8_t *find_bytes(uint8_t *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; k <= n && i <= n - k; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return hay + i;
    return NULL;
}

/* ---- fixture ---------------------------------------------------------- */

typedef struct fx {
    char dir[64];
    char path[128];
    int64_t now;
    int hook_trust;      /* use the trust hook with this verdict */
    int trust_verdict;
    unsigned trust_calls;
    unsigned ended;      /* SESSION_ENDED events */
    esession_ctx *ctx;
    esession_keystore *ks;
    esession_key *alice_key;
    esession_key *bob_key;
    /* Alice's published option set */
    es_offer offer;
    const char *modp[MAX_GROUPS];
    es_dh *x[MAX_GROUPS];
    uint8_t nonce[32];
    esession_buf form;
} fx;

static int64_t hook_now(void *user)
{
    return ((fx *)user)->now;
}

static int hook_trust(void *user, const char *jid, const esession_key *key)
{
    fx *f = user;
    (void)key;
    cr_assert_str_eq(jid, ALICE);
    f->trust_calls++;
    return f->hook_trust ? f->trust_verdict : -1;
}

static void hook_event(void *user, const esession_event *ev)
{
    fx *f = user;
    if (ev->type == ESESSION_EVENT_SESSION_ENDED) {
        cr_assert_str_eq(ev->jid, ALICE);
        cr_assert_eq(strlen(ev->thread), 32);
        f->ended++;
    }
}

static const char *const otr_v[] = {"false", "true"};
static const char *const disclosure_v[] = {"never"};
static const char *const security_v[] = {"e2e"};
static const char *const crypt_v[] = {"aes128-ctr"};
static const char *const hash_v[] = {"sha256"};
static const char *const sign_v[] = {ES_SIGN_ALG_RSA, ES_SIGN_ALG_DSA};
static const char *const compress_v[] = {"none"};
static const char *const stanzas_v[] = {"message"};
static const char *const ver_v[] = {"1.0"};

static void default_offer(fx *f, int64_t expires)
{
    memset(&f->offer, 0, sizeof f->offer);
    f->offer.otr = (es_strlist){2, otr_v};
    f->offer.disclosure = (es_strlist){1, disclosure_v};
    f->offer.security = (es_strlist){1, security_v};
    f->modp[0] = "14";
    f->offer.modp = (es_strlist){1, f->modp};
    f->offer.crypt_algs = (es_strlist){1, crypt_v};
    f->offer.hash_algs = (es_strlist){1, hash_v};
    f->offer.sign_algs = (es_strlist){2, sign_v};
    f->offer.compress = (es_strlist){1, compress_v};
    f->offer.stanzas = (es_strlist){1, stanzas_v};
    f->offer.ver = (es_strlist){1, ver_v};
    f->offer.rekey_freq = 1;
    f->offer.expires = expires;
}

static void fx_init(fx *f)
{
    memset(f, 0, sizeof *f);
    f->now = T0;
    esession_host_ops ops = {0};
    ops.now = hook_now;
    ops.trust = hook_trust;
    ops.event = hook_event;
    esession_ctx_options o = ESESSION_CTX_OPTIONS_INIT;
    o.ops = &ops;
    o.user = f;
    cr_assert_eq(esession_ctx_new(&f->ctx, &o, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_OK);
    kt_mkdir(f->dir, sizeof f->dir);
    snprintf(f->path, sizeof f->path, "%s/bob.ks", f->dir);
    f->ks = kt_create(f->ctx, f->path);
    f->bob_key = kt_key(f->ctx, "vec_rsa_bob.pem");
    f->alice_key = kt_key(f->ctx, "vec_rsa_alice.pem");
    cr_assert_eq(esession_keystore_add_key(f->ks, f->bob_key), ESESSION_OK);
    unsigned alerts = 0;
    cr_assert_eq(esession_trust_add(f->ks, ALICE, f->alice_key, "alice", &alerts), ESESSION_OK);
    default_offer(f, T0 + 3600);
}

static void fx_free(fx *f)
{
    for (size_t i = 0; i < MAX_GROUPS; i++)
        es_dh_free(f->x[i]);
    esession_buf_free(&f->form);
    esession_keystore_free(f->ks);
    esession_key_free(f->alice_key);
    esession_key_free(f->bob_key);
    esession_ctx_free(f->ctx);
    kt_rmdir(f->dir);
}

/* Alice publishes f->offer, signed with her key. */
static void fx_publish(fx *f)
{
    esession_buf e[MAX_GROUPS];
    memset(e, 0, sizeof e);
    cr_assert_leq(f->offer.modp.n, MAX_GROUPS);
    for (size_t i = 0; i < f->offer.modp.n; i++) {
        es_dh_free(f->x[i]);
        f->x[i] = NULL;
        cr_assert_eq(es_dh_generate(f->ctx, &f->x[i], atoi(f->offer.modp.v[i])), ESESSION_OK);
        cr_assert_eq(es_dh_public(f->x[i], &e[i]), ESESSION_OK);
    }
    randombytes_buf(f->nonce, sizeof f->nonce);
    const esession_key *keys[1] = {f->alice_key};
    esession_buf_free(&f->form);
    cr_assert_eq(es_options_build(f->ctx, &f->offer, f->nonce, sizeof f->nonce, e, keys, 1,
                                  &f->form),
                 ESESSION_OK, "%s", esession_ctx_error_detail(f->ctx));
    for (size_t i = 0; i < MAX_GROUPS; i++)
        esession_buf_free(&e[i]);
}

/* How many of Bob's session records the keystore holds. */
static size_t bob_records(esession_keystore *ks)
{
    size_t n = 0;
    cr_assert_eq(es_ks_blob_list(ks, ES_SENDER_BLOB_PREFIX, kt_count_one, &n), ESESSION_OK);
    return n;
}

static esession_status fx_start_with(fx *f, const char *form, const esession_sender_options *o,
                                     esession_sender **s)
{
    esession_buf iq = {0};
    char id[ESESSION_IQ_ID_MAX];
    cr_assert_eq(esession_fetch_options_iq(f->ctx, ALICE, &iq, id), ESESSION_OK);
    cr_assert(strstr(iq.data, ES_PEP_NODE_SUBSCRIBERS_NAME) != NULL);
    cr_assert(strstr(iq.data, id) != NULL);
    char *res = fx_items_result(ALICE, BOB, id, form);
    esession_status rc = esession_sender_start(f->ctx, f->ks, BOB, ALICE, id, res, strlen(res),
                                               o, s);
    free(res);
    esession_buf_free(&iq);
    return rc;
}

static esession_sender *fx_start(fx *f, const esession_sender_options *o)
{
    esession_sender *s = NULL;
    esession_status rc = fx_start_with(f, f->form.data, o, &s);
    cr_assert_eq(rc, ESESSION_OK, "start: %s (%s)", esession_status_name(rc),
                 esession_ctx_error_detail(f->ctx));
    cr_assert_not_null(s);
    return s;
}

static void expect_start_fails(fx *f, const char *form, const esession_sender_options *o,
                               esession_status want)
{
    esession_sender *s = (esession_sender *)(uintptr_t)0x5a5a;
    esession_status rc = fx_start_with(f, form, o, &s);
    cr_assert_eq(rc, want, "start gave %s (%s), want %s", esession_status_name(rc),
                 esession_ctx_error_detail(f->ctx), esession_status_name(want));
    cr_assert_eq(s, (esession_sender *)(uintptr_t)0x5a5a, "output touched on failure");
    cr_assert_str_neq(esession_ctx_error_detail(f->ctx), "");
    cr_assert_eq(bob_records(f->ks), 0, "a state was stored");
}

static esession_buf seal(esession_sender *s, const char *msg)
{
    esession_buf out = {0};
    esession_status rc = esession_sender_seal(s, msg, strlen(msg), &out);
    cr_assert_eq(rc, ESESSION_OK, "seal: %s (%s)", esession_status_name(rc),
                 esession_ctx_error_detail(s->ctx));
    cr_assert_not_null(out.data);
    return out;
}

#define MSG(body) "<message xmlns='jabber:client' to='" ALICE "' type='chat'>" body "</message>"

/* ---- a small Alice ---------------------------------------------------- */

typedef struct alice {
    fx *f;
    es_dh *x;
    es_suite suite;
    es_session_keys *keys;
    es_chan *chan;
    uint8_t ctr[ES_AES_BLOCK];
    char thread[33];
} alice;

static uint8_t *b64(const char *s, size_t *n)
{
    uint8_t *out = malloc(es_base64_decoded_max(strlen(s)) + 1);
    cr_assert_not_null(out);
    cr_assert_eq(es_base64_decode(out, es_base64_decoded_max(strlen(s)) + 1, n, s, strlen(s)),
                 ESESSION_OK);
    return out;
}

static const char *fval(fx *f, const es_form *form, const char *var)
{
    const char *v = NULL;
    cr_assert_eq(es_form_value(f->ctx, form, var, &v), ESESSION_OK, "formB field %s", var);
    return v;
}

/* Bob's <init>: keys, identity (must be Bob's key) and the counter. */
static void alice_accept(alice *a, const xmlNode *init)
{
    static const char *const excl[] = {"identity", "mac"};
    fx *f = a->f;
    const xmlNode *x = es_xml_child(init, "x", ES_XDATA_NS);
    es_form *form = NULL;
    cr_assert_not_null(x);
    cr_assert_eq(es_form_parse(f->ctx, x, &form), ESESSION_OK);
    int group = atoi(fval(f, form, "modp"));
    for (size_t i = 0; i < f->offer.modp.n; i++)
        if (atoi(f->offer.modp.v[i]) == group)
            a->x = f->x[i];
    cr_assert_not_null(a->x, "Bob chose a group Alice did not offer");
    const char *cn = fval(f, form, "crypt_algs"), *hn = fval(f, form, "hash_algs");
    cr_assert_eq(es_cipher_from_name(cn, strlen(cn), &a->suite.cipher), ESESSION_OK);
    cr_assert_eq(es_hash_from_name(hn, strlen(hn), &a->suite.hash), ESESSION_OK);
    size_t dl, cl, il, ml, nbl, nal;
    uint8_t *d = b64(fval(f, form, "dhkeys"), &dl);
    uint8_t *c_a = b64(fval(f, form, "counter"), &cl);
    uint8_t *idb = b64(fval(f, form, "identity"), &il);
    uint8_t *mb = b64(fval(f, form, "mac"), &ml);
    uint8_t *n_b = b64(fval(f, form, "my_nonce"), &nbl);
    uint8_t *n_a = b64(fval(f, form, "nonce"), &nal);
    cr_assert_eq(cl, ES_AES_BLOCK);
    cr_assert_eq(nbl, 32);
    cr_assert(nal == sizeof f->nonce && memcmp(n_a, f->nonce, nal) == 0);
    esession_buf form_b = {0};
    cr_assert_eq(es_form_normalize(f->ctx, x, excl, 2, &form_b), ESESSION_OK);
    cr_assert_eq(es_session_keys_dh(f->ctx, a->suite, a->x, d, dl, &a->keys), ESESSION_OK);
    cr_assert_eq(es_chan_new(f->ctx, &a->keys->b, &a->chan), ESESSION_OK);
    uint8_t c_b[ES_AES_BLOCK];
    es_counter_b(c_a, c_b);
    es_id_input in = {n_a, nal, n_b, nbl, d, dl, form_b.data, form_b.len};
    esession_key *bob = NULL;
    esession_status rc = es_identity_open(f->ctx, a->keys, a->chan, ESESSION_KEY_RSA, &in, c_b,
                                          idb, il, mb, ml, &bob, a->ctr);
    cr_assert_eq(rc, ESESSION_OK, "identity: %s", esession_ctx_error_detail(f->ctx));
    uint8_t fp1[32], fp2[32];
    kt_fingerprint(f->ctx, bob, fp1);
    kt_fingerprint(f->ctx, f->bob_key, fp2);
    cr_assert(memcmp(fp1, fp2, 32) == 0, "the identity is not Bob's key");
    esession_key_free(bob);
    esession_buf_free(&form_b);
    es_form_free(form);
    free(d);
    free(c_a);
    free(idb);
    free(mb);
    free(n_b);
    free(n_a);
}

/* Open one stanza in order; *plain gets the content, *rekeyed whether it
 * carried <key>. The form of the first one is returned in *had_init. */
static void alice_open(alice *a, const esession_buf *stanza, esession_buf *plain, int *rekeyed,
                       int *had_init)
{
    fx *f = a->f;
    xmlDocPtr doc = NULL;
    cr_assert_eq(es_xml_parse(f->ctx, stanza->data, stanza->len, &doc), ESESSION_OK,
                 "stanza does not parse: %s", stanza->data);
    xmlNode *msg = xmlDocGetRootElement(doc);
    xmlNode *th = es_xml_child(msg, "thread", "");
    cr_assert_not_null(th);
    char *tt = (char *)xmlNodeGetContent(th);
    if (a->thread[0] == '\0')
        snprintf(a->thread, sizeof a->thread, "%s", tt);
    cr_assert_str_eq(tt, a->thread, "thread changed");
    xmlFree(tt);
    const xmlNode *init = es_xml_child(msg, "init", ES_INIT_NS);
    if (had_init != NULL)
        *had_init = init != NULL;
    if (a->chan == NULL) {
        cr_assert_not_null(init, "first stanza without <init>");
        alice_accept(a, init);
    } else {
        cr_assert_null(init, "<init> in a later stanza");
    }
    es_c_open *c = NULL;
    const xmlNode *ce = es_xml_child(msg, "c", ES_C_NS);
    cr_assert_not_null(ce);
    cr_assert_eq(es_c_parse(f->ctx, ce, &c), ESESSION_OK);
    cr_assert_eq(es_c_decrypt(f->ctx, c, a->chan, a->ctr, plain), ESESSION_OK,
                 "a stanza does not open at the expected counter");
    es_ctr_add(a->ctr, es_c_blocks(c));
    size_t kl = 0;
    const uint8_t *key = es_c_key(c, &kl);
    if (rekeyed != NULL)
        *rekeyed = key != NULL;
    if (key != NULL) {
        es_dir_keys *nk = NULL;
        cr_assert_eq(es_rekey_accept(f->ctx, a->suite, a->x, key, kl, &nk), ESESSION_OK);
        cr_assert_eq(es_chan_rekey(f->ctx, a->chan, nk), ESESSION_OK);
        es_dir_keys_free(nk);
    }
    es_c_free(c);
    xmlFreeDoc(doc);
}

static void alice_free(alice *a)
{
    es_session_keys_free(a->keys);
    es_chan_free(a->chan);
    memset(a, 0, sizeof *a);
}

static void expect_plain(alice *a, const esession_buf *stanza, const char *want_content,
                         int64_t created)
{
    char date[ES_DATETIME_LEN + 1], want[1024];
    cr_assert_eq(es_datetime_format(created, date), ESESSION_OK);
    snprintf(want, sizeof want,
             "%s<headers xmlns='http://jabber.org/protocol/shim'><header name='Created'>%s"
             "</header></headers>",
             want_content, date);
    esession_buf plain = {0};
    alice_open(a, stanza, &plain, NULL, NULL);
    cr_assert_eq(plain.len, strlen(want), "plaintext %s", plain.data);
    cr_assert(memcmp(plain.data, want, plain.len) == 0, "plaintext %s", plain.data);
    esession_buf_free(&plain);
}

/* ---- selection (PROFILE §2, §11) -------------------------------------- */

static es_offer plain_offer(void)
{
    fx f;
    memset(&f, 0, sizeof f);
    default_offer(&f, T0);
    es_offer o = f.offer;
    o.modp = (es_strlist){0, NULL}; /* set by each test */
    return o;
}

static esession_status choose(const es_offer *o, int weak, uint32_t freq, unsigned types,
                              es_choice *c)
{
    es_bob_caps caps = {weak, freq, types};
    return es_sender_choose(NULL, o, &caps, c);
}

#define RSA_ONLY (1u << ESESSION_KEY_RSA)
#define DSA_ONLY (1u << ESESSION_KEY_DSA)

static void choose_first_supported(void)
{
    char fifteen[] = "15"; /* not a literal: Bob must return his own copy */
    const char *const modp[] = {"3", "4", fifteen, "14"};
    static const char *const crypt[] = {"twofish256-ctr", "none", "aes192-ctr", "aes128-ctr"};
    static const char *const hash[] = {"md5", "sha512", "sha256"};
    static const char *const otr[] = {"true", "false"};
    static const char *const stanzas[] = {"iq", "presence", "message"};
    es_offer o = plain_offer();
    o.modp = (es_strlist){4, modp};
    o.crypt_algs = (es_strlist){4, crypt};
    o.hash_algs = (es_strlist){3, hash};
    o.otr = (es_strlist){2, otr};
    o.stanzas = (es_strlist){3, stanzas};
    es_choice c;
    cr_assert_eq(choose(&o, 0, 0, RSA_ONLY | DSA_ONLY, &c), ESESSION_OK);
    cr_assert_str_eq(c.value[ES_CH_MODP], "15"); /* 3 and 4 are EC groups */
    cr_assert_eq(c.group, 15);
    cr_assert_str_eq(c.value[ES_CH_CRYPT], "aes192-ctr");
    cr_assert_eq(c.suite.cipher, ES_CIPHER_AES192_CTR);
    cr_assert_str_eq(c.value[ES_CH_HASH], "sha512");
    cr_assert_eq(c.suite.hash, ES_HASH_SHA512);
    cr_assert_str_eq(c.value[ES_CH_OTR], "true");
    cr_assert_str_eq(c.value[ES_CH_STANZAS], "message");
    cr_assert_str_eq(c.value[ES_CH_SIGN], ES_SIGN_ALG_RSA);
    cr_assert_eq(c.sign_type, ESESSION_KEY_RSA);
    /* sign_algs: only a type Bob holds a key for. */
    cr_assert_eq(choose(&o, 0, 0, DSA_ONLY, &c), ESESSION_OK);
    cr_assert_str_eq(c.value[ES_CH_SIGN], ES_SIGN_ALG_DSA);
    cr_assert_eq(c.sign_type, ESESSION_KEY_DSA);
    /* The chosen strings are Bob's own, not the offer's. */
    cr_assert_neq((const void *)c.value[ES_CH_MODP], (const void *)fifteen);
}

static void choose_weak_groups(void)
{
    static const char *const weak_first[] = {"2", "5", "14"};
    static const char *const only_weak[] = {"1", "2", "5"};
    es_offer o = plain_offer();
    es_choice c;
    o.modp = (es_strlist){3, weak_first};
    cr_assert_eq(choose(&o, 0, 0, RSA_ONLY, &c), ESESSION_OK);
    cr_assert_eq(c.group, 14);
    cr_assert_eq(choose(&o, 1, 0, RSA_ONLY, &c), ESESSION_OK);
    cr_assert_eq(c.group, 2);
    o.modp = (es_strlist){3, only_weak};
    cr_assert_eq(choose(&o, 0, 0, RSA_ONLY, &c), ESESSION_ERR_UNSUPPORTED_OPTION);
    cr_assert_eq(choose(&o, 1, 0, RSA_ONLY, &c), ESESSION_OK);
    cr_assert_eq(c.group, 1);
}

static void choose_rekey_freq(void)
{
    static const char *const modp[] = {"14"};
    es_offer o = plain_offer();
    es_choice c;
    o.modp = (es_strlist){1, modp};
    o.rekey_freq = 5;
    cr_assert_eq(choose(&o, 0, 0, RSA_ONLY, &c), ESESSION_OK);
    cr_assert_eq(c.rekey_freq, ES_SENDER_DEFAULT_REKEY); /* 0: Bob's default */
    cr_assert_eq(choose(&o, 0, 2, RSA_ONLY, &c), ESESSION_OK);
    cr_assert_eq(c.rekey_freq, 5); /* never below Alice's */
    cr_assert_eq(choose(&o, 0, 7, RSA_ONLY, &c), ESESSION_OK);
    cr_assert_eq(c.rekey_freq, 7);
    o.rekey_freq = UINT32_MAX;
    cr_assert_eq(choose(&o, 0, 7, RSA_ONLY, &c), ESESSION_OK);
    cr_assert_eq(c.rekey_freq, UINT32_MAX);
}

static void choose_no_common_value(void)
{
    static const char *const modp[] = {"14"};
    static const char *const bad[] = {"always", "c2s", "zlib", "iq", "1.3", "rsa", "md5",
                                      "des-ctr", "3"};
    es_strlist one[9];
    for (size_t i = 0; i < 9; i++)
        one[i] = (es_strlist){1, &bad[i]};
    es_strlist *fields[9];
    es_offer o;
    es_choice c;
    for (size_t i = 0; i < 9; i++) {
        o = plain_offer();
        o.modp = (es_strlist){1, modp};
        es_strlist *lists[9] = {&o.disclosure, &o.security, &o.compress, &o.stanzas, &o.ver,
                                &o.sign_algs, &o.hash_algs, &o.crypt_algs, &o.modp};
        memcpy(fields, lists, sizeof lists);
        *fields[i] = one[i];
        cr_assert_eq(choose(&o, 1, 0, RSA_ONLY | DSA_ONLY, &c), ESESSION_ERR_UNSUPPORTED_OPTION,
                     "accepted %s", bad[i]);
    }
    /* A sign_algs Bob knows but holds no key for. */
    o = plain_offer();
    o.modp = (es_strlist){1, modp};
    o.sign_algs = (es_strlist){1, &sign_v[1]};
    cr_assert_eq(choose(&o, 0, 0, RSA_ONLY, &c), ESESSION_ERR_UNSUPPORTED_OPTION);
    /* An empty list. */
    o.sign_algs = (es_strlist){0, NULL};
    cr_assert_eq(choose(&o, 0, 0, RSA_ONLY, &c), ESESSION_ERR_UNSUPPORTED_OPTION);
}

/* ---- the whole flow --------------------------------------------------- */

static void start_seal_open(void)
{
    fx f;
    fx_init(&f);
    fx_publish(&f);
    esession_sender *s = fx_start(&f, NULL);
    const char *thread = esession_sender_thread(s);
    cr_assert_eq(strlen(thread), 32);
    cr_assert_eq(bob_records(f.ks), 1, "stored at start");

    esession_buf s1 = seal(s, MSG("<body>Hello, Alice!</body>"));
    char head[400];
    snprintf(head, sizeof head,
             "<message from='" BOB "' to='" ALICE "' type='chat'>\n  <thread>%s</thread>\n"
             "  <init xmlns='" ES_INIT_NS "'>\n    <x xmlns='jabber:x:data' type='submit'>\n"
             "      <field var='FORM_TYPE'><value>urn:xmpp:ssn</value></field>\n",
             thread);
    cr_assert(strncmp(s1.data, head, strlen(head)) == 0, "layout: %s", s1.data);
    cr_assert(strstr(s1.data, "</x>\n  </init>\n  <c xmlns='" ES_C_NS "'><data>") != NULL);
    /* The clear fallback for clients that cannot open it (XEP-0226). */
    cr_assert(strstr(s1.data, "</c>\n  <body>" ESESSION_FALLBACK_BODY "</body>\n</message>") !=
              NULL);
    cr_assert_null(strstr(s1.data, "<amp"));
    cr_assert_null(strstr(s1.data, "var='terminate'"));
    cr_assert(strstr(s1.data, "<field var='rekey_freq'><value>100</value></field>") != NULL);

    f.now = T0 + 61;
    esession_buf s2 = seal(s, MSG("<body>again</body>"));
    cr_assert_null(strstr(s2.data, "<init"));

    alice a = {.f = &f};
    expect_plain(&a, &s1, "<body>Hello, Alice!</body>", T0);
    expect_plain(&a, &s2, "<body>again</body>", T0 + 61);
    cr_assert_str_eq(a.thread, thread);
    alice_free(&a);
    esession_buf_free(&s1);
    esession_buf_free(&s2);
    esession_sender_free(s);
    cr_assert_eq(f.ended, 0);
    fx_free(&f);
}

/* Without the clear fallback <body>, asked for once at start: kept for
 * the whole session, resumed or not; a version 1 options struct (before
 * the field) has it. */
static void fallback_body_choice(void)
{
    fx f;
    fx_init(&f);
    fx_publish(&f);
    esession_sender_options o = ESESSION_SENDER_OPTIONS_INIT;
    o.no_fallback_body = 1;
    esession_sender *s = fx_start(&f, &o);
    esession_buf s1 = seal(s, MSG("<body>one</body>"));
    cr_assert_null(strstr(s1.data, ESESSION_FALLBACK_BODY));
    cr_assert(strstr(s1.data, "</c>\n</message>") != NULL);
    esession_sender_free(s);
    s = NULL;
    cr_assert_eq(esession_sender_resume(f.ctx, f.ks, ALICE, &s), ESESSION_OK);
    esession_buf s2 = seal(s, MSG("<body>two</body>"));
    cr_assert_null(strstr(s2.data, "<body>["));
    alice a = {.f = &f};
    expect_plain(&a, &s1, "<body>one</body>", T0);
    expect_plain(&a, &s2, "<body>two</body>", T0);
    alice_free(&a);
    esession_buf_free(&s1);
    esession_buf_free(&s2);
    esession_buf t = {0};
    cr_assert_eq(esession_sender_terminate(s, &t), ESESSION_OK);
    esession_buf_free(&t);
    esession_sender_free(s);

    o = (esession_sender_options)ESESSION_SENDER_OPTIONS_INIT;
    o.version = 1;
    o.no_fallback_body = 1; /* not part of a version 1 struct: ignored */
    s = fx_start(&f, &o);
    s1 = seal(s, MSG("<body>three</body>"));
    cr_assert(strstr(s1.data, "<body>" ESESSION_FALLBACK_BODY "</body>") != NULL);
    esession_buf_free(&s1);
    esession_sender_free(s);
    fx_free(&f);
}

/* A non-subscriber reads the open node: the request names it, and the
 * answer is taken for it only when the options say so. */
static void open_node_start(void)
{
    fx f;
    fx_init(&f);
    fx_publish(&f);
    esession_buf iq = {0};
    char id[ESESSION_IQ_ID_MAX];
    cr_assert_eq(esession_fetch_open_options_iq(f.ctx, ALICE, &iq, id), ESESSION_OK);
    cr_assert(strstr(iq.data, "node='" ES_PEP_NODE_OPEN_NAME "'") != NULL);
    static const char head[] =
        "<iq type='result' from='" ALICE "' to='" BOB "' id='%s'>"
        "<pubsub xmlns='http://jabber.org/protocol/pubsub'>"
        "<items node='" ES_PEP_NODE_OPEN_NAME "'><item id='current'>%s</item></items>"
        "</pubsub></iq>";
    size_t n = strlen(head) + strlen(id) + f.form.len + 1;
    char *res = malloc(n);
    cr_assert_not_null(res);
    snprintf(res, n, head, id, f.form.data);
    esession_sender *s = NULL;
    esession_sender_options o = ESESSION_SENDER_OPTIONS_INIT;
    cr_assert_eq(esession_sender_start(f.ctx, f.ks, BOB, ALICE, id, res, strlen(res), &o, &s),
                 ESESSION_ERR_MALFORMED, "an open node's answer taken for the subscribers'");
    cr_assert_null(s);
    o.open_node = 1;
    cr_assert_eq(esession_sender_start(f.ctx, f.ks, BOB, ALICE, id, res, strlen(res), &o, &s),
                 ESESSION_OK, "%s", esession_ctx_error_detail(f.ctx));
    esession_buf s1 = seal(s, MSG("<body>from a stranger</body>"));
    alice a = {.f = &f};
    expect_plain(&a, &s1, "<body>from a stranger</body>", T0);
    alice_free(&a);
    esession_buf_free(&s1);
    esession_sender_free(s);
    free(res);
    esession_buf_free(&iq);
    fx_free(&f);
}

static void message_content(void)
{
    fx f;
    fx_init(&f);
    fx_publish(&f);
    esession_sender *s = fx_start(&f, NULL);
    /* Routing, delivery, errors and ESession elements are not content;
     * foreign namespaces keep their declarations; chat states ride along
     * with real content; no type means normal; a full JID of Alice. */
    const char *msg =
        "<message to='alice@EXAMPLE.org/pda' id='m1'>\n"
        "  <thread>t-1</thread>\n"
        "  <body>x &amp; y</body>\n"
        "  <amp xmlns='http://jabber.org/protocol/amp'><rule action='drop' condition='deliver' "
        "value='stored'/></amp>\n"
        "  <delay xmlns='urn:xmpp:delay' stamp='2002-09-10T23:08:25Z'/>\n"
        "  <x xmlns='jabber:x:delay' stamp='20020910T23:08:25'/>\n"
        "  <error type='cancel'/>\n"
        "  <c xmlns='" ES_C_NS "'/>\n"
        "  <init xmlns='" ES_INIT_NS "'/>\n"
        "  <active xmlns='http://jabber.org/protocol/chatstates'/>\n"
        "  <html xmlns='http://jabber.org/protocol/xhtml-im'><body "
        "xmlns='http://www.w3.org/1999/xhtml'><p>x</p></body></html>\n"
        "</message>";
    esession_buf out = seal(s, msg);
    cr_assert(strstr(out.data, "' type='normal'>") != NULL);
    alice a = {.f = &f};
    expect_plain(&a, &out,
                 "<body>x &amp; y</body>"
                 "<active xmlns=\"http://jabber.org/protocol/chatstates\"/>"
                 "<html xmlns=\"http://jabber.org/protocol/xhtml-im\"><body "
                 "xmlns=\"http://www.w3.org/1999/xhtml\"><p>x</p></body></html>",
                 T0);
    esession_buf_free(&out);
    /* A child in jabber:client declared on itself keeps the declaration. */
    out = seal(s, "<message to='" ALICE "' type='chat'><body xmlns='jabber:client'>b</body>"
                  "</message>");
    expect_plain(&a, &out, "<body xmlns=\"jabber:client\">b</body>", T0);
    esession_buf_free(&out);
    alice_free(&a);
    esession_sender_free(s);
    fx_free(&f);
}

/* Nothing consumed: same counter, same record, output untouched. */
static void expect_refused(fx *f, esession_sender *s, const char *msg, esession_status want,
                           const char *detail)
{
    uint8_t before[16], after[16];
    uint64_t st0, st1;
    es_sender_get_usage(s, &st0, NULL, NULL, before);
    esession_buf out = {(char *)(uintptr_t)0x1, 7, 0};
    esession_status rc = esession_sender_seal(s, msg, strlen(msg), &out);
    cr_assert_eq(rc, want, "%s gave %s (%s)", msg, esession_status_name(rc),
                 esession_ctx_error_detail(f->ctx));
    cr_assert_eq(out.data, (char *)(uintptr_t)0x1);
    cr_assert_eq(out.len, 7);
    if (detail != NULL)
        cr_assert(strstr(esession_ctx_error_detail(f->ctx), detail) != NULL, "detail: %s",
                  esession_ctx_error_detail(f->ctx));
    es_sender_get_usage(s, &st1, NULL, NULL, after);
    cr_assert(memcmp(before, after, 16) == 0 && st0 == st1, "a refused message used a counter");
}

static void refusals(void)
{
    fx f;
    fx_init(&f);
    fx_publish(&f);
    esession_sender *s = fx_start(&f, NULL);
    const esession_status UNS = ESESSION_ERR_UNSUPPORTED, ST = ESESSION_ERR_STATE,
                          INV = ESESSION_ERR_INVALID_ARGUMENT;
    expect_refused(&f, s, "<message to='" ALICE "' type='groupchat'><body>x</body></message>",
                   UNS, NULL);
    expect_refused(&f, s, "<message to='" ALICE "' type='headline'><body>x</body></message>",
                   UNS, NULL);
    expect_refused(&f, s, "<message to='" ALICE "' type='error'><body>x</body></message>", UNS,
                   NULL);
    expect_refused(&f, s,
                   MSG("<composing xmlns='http://jabber.org/protocol/chatstates'/>"
                       "<thread>x</thread>"),
                   ST, "not sent: chat states only");
    expect_refused(&f, s, MSG("<thread>x</thread>"), ST, "not sent");
    expect_refused(&f, s, MSG(""), ST, "not sent");
    expect_refused(&f, s, "<message to='mallory@example.org' type='chat'><body>x</body></message>",
                   INV, NULL);
    expect_refused(&f, s,
                   "<message to='alice@example.org.evil' type='chat'><body>x</body></message>",
                   INV, NULL);
    expect_refused(&f, s, "<message to='alice@example.org/' type='chat'><body>x</body></message>",
                   INV, NULL);
    expect_refused(&f, s, "<message type='chat'><body>x</body></message>", INV, NULL);
    expect_refused(&f, s, "<message to='" ALICE "' type='bogus'><body>x</body></message>",
                   ESESSION_ERR_MALFORMED, NULL);
    expect_refused(&f, s, "<presence to='" ALICE "'/>", ESESSION_ERR_MALFORMED, NULL);
    expect_refused(&f, s, "<message xmlns='jabber:server' to='" ALICE "'><body>x</body></message>",
                   ESESSION_ERR_MALFORMED, NULL);
    expect_refused(&f, s, "<message to='" ALICE "'><body>x</body>", ESESSION_ERR_MALFORMED, NULL);
    /* Raw sealing checks its arguments too. */
    esession_buf out = {0};
    cr_assert_eq(es_sender_seal_raw(s, (const uint8_t *)"x", 1, "groupchat", NULL, NULL, &out),
                 INV);
    cr_assert_eq(es_sender_seal_raw(s, NULL, 1, "chat", NULL, NULL, &out), INV);
    cr_assert_eq(esession_sender_seal(NULL, "x", 1, &out), INV);
    cr_assert_eq(esession_sender_seal(s, NULL, 1, &out), INV);
    /* Still usable, and the first stanza still carries <init>. */
    out = seal(s, MSG("<body>ok</body>"));
    alice a = {.f = &f};
    expect_plain(&a, &out, "<body>ok</body>", T0);
    alice_free(&a);
    esession_buf_free(&out);
    esession_sender_free(s);
    fx_free(&f);
}

static void start_refusals(void)
{
    fx f;
    fx_init(&f);
    /* Expired: now > expires (now == expires is still valid). */
    default_offer(&f, T0 - 1);
    fx_publish(&f);
    expect_start_fails(&f, f.form.data, NULL, ESESSION_ERR_EXPIRED);

    /* Tampered: one signed value changed. */
    default_offer(&f, T0);
    fx_publish(&f);
    char *bad = malloc(f.form.len + 1);
    memcpy(bad, f.form.data, f.form.len + 1);
    char *p = strstr(bad, "<value>urn:xmpp:ssn</value>");
    cr_assert_not_null(p);
    memcpy(p + strlen("<value>urn:xmpp:"), "SSN", 3);
    expect_start_fails(&f, bad, NULL, ESESSION_ERR_MALFORMED); /* FORM_TYPE checked first */
    memcpy(bad, f.form.data, f.form.len + 1);
    p = strstr(bad, "<value>never</value>");
    cr_assert_not_null(p);
    memcpy(p + strlen("<value>"), "NEVER", 5);
    expect_start_fails(&f, bad, NULL, ESESSION_ERR_BAD_SIGNATURE);
    free(bad);

    /* No supported value. */
    static const char *const weak[] = {"5"};
    default_offer(&f, T0 + 60);
    f.offer.modp = (es_strlist){1, weak};
    fx_publish(&f);
    expect_start_fails(&f, f.form.data, NULL, ESESSION_ERR_UNSUPPORTED_OPTION);

    /* Untrusted: the host vetoes Alice's only key. */
    default_offer(&f, T0 + 60);
    fx_publish(&f);
    f.hook_trust = 1;
    f.trust_verdict = 0;
    f.trust_calls = 0;
    expect_start_fails(&f, f.form.data, NULL, ESESSION_ERR_UNTRUSTED_KEY);
    cr_assert_eq(f.trust_calls, 1);
    f.trust_verdict = 1;
    esession_sender *s = fx_start(&f, NULL);
    esession_sender_free(s);
    esession_buf gone = {0};
    cr_assert_eq(esession_sender_peer_online(f.ctx, f.ks, ALICE, &gone), ESESSION_OK);
    cr_assert_null(gone.data, "nothing was sent: nothing to terminate");
    f.hook_trust = 0;

    /* Untrusted: no key for Alice at all; then another key than hers. */
    uint8_t fp[32];
    kt_fingerprint(f.ctx, f.alice_key, fp);
    cr_assert_eq(esession_trust_remove(f.ks, ALICE, fp), ESESSION_OK);
    expect_start_fails(&f, f.form.data, NULL, ESESSION_ERR_UNTRUSTED_KEY);
    esession_key *other = kt_key(f.ctx, "rsa2048.pem");
    unsigned alerts;
    cr_assert_eq(esession_trust_add(f.ks, ALICE, other, "", &alerts), ESESSION_OK);
    cr_assert_eq(esession_trust_add(f.ks, "mallory@example.org", f.alice_key, "", &alerts),
                 ESESSION_OK);
    expect_start_fails(&f, f.form.data, NULL, ESESSION_ERR_BAD_SIGNATURE);
    esession_key_free(other);
    fx_free(&f);
}

static void start_pep_answers(void)
{
    fx f;
    fx_init(&f);
    fx_publish(&f);
    esession_buf iq = {0};
    char id[ESESSION_IQ_ID_MAX];
    cr_assert_eq(esession_fetch_options_iq(f.ctx, ALICE, &iq, id), ESESSION_OK);
    esession_buf_free(&iq);
    char text[1024];
    esession_sender *s = NULL;
    /* The empty item Alice publishes when she is back online. */
    snprintf(text, sizeof text,
             "<iq type='result' from='" ALICE "' id='%s'><pubsub "
             "xmlns='http://jabber.org/protocol/pubsub'><items node='" ES_PEP_NODE_SUBSCRIBERS_NAME
             "'><item id='current'/></items></pubsub></iq>",
             id);
    cr_assert_eq(esession_sender_start(f.ctx, f.ks, BOB, ALICE, id, text, strlen(text), NULL, &s),
                 ESESSION_ERR_NO_OPTIONS);
    snprintf(text, sizeof text,
             "<iq type='error' from='" ALICE "' id='%s'><error type='auth'><forbidden "
             "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
             id);
    cr_assert_eq(esession_sender_start(f.ctx, f.ks, BOB, ALICE, id, text, strlen(text), NULL, &s),
                 ESESSION_ERR_PUBSUB);
    /* An answer to another request, or from someone else. */
    char *res = fx_items_result(ALICE, BOB, "0123", f.form.data);
    cr_assert_eq(esession_sender_start(f.ctx, f.ks, BOB, ALICE, id, res, strlen(res), NULL, &s),
                 ESESSION_ERR_MALFORMED);
    free(res);
    res = fx_items_result(ALICE, BOB, id, f.form.data);
    cr_assert_eq(esession_sender_start(f.ctx, f.ks, BOB, "carol@example.org", id, res,
                                       strlen(res), NULL, &s),
                 ESESSION_ERR_MALFORMED);
    /* Bad arguments. */
    esession_sender_options o = ESESSION_SENDER_OPTIONS_INIT;
    o.version = 99;
    cr_assert_eq(esession_sender_start(f.ctx, f.ks, BOB, ALICE, id, res, strlen(res), &o, &s),
                 ESESSION_ERR_VERSION);
    cr_assert_eq(esession_sender_start(f.ctx, f.ks, "bob@example.com", ALICE, id, res,
                                       strlen(res), NULL, &s),
                 ESESSION_ERR_INVALID_ARGUMENT, "Bob needs a full JID");
    cr_assert_eq(esession_sender_start(f.ctx, f.ks, BOB, "alice@example.org/pda", id, res,
                                       strlen(res), NULL, &s),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_sender_start(f.ctx, f.ks, BOB, ALICE, "", res, strlen(res), NULL, &s),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_sender_start(f.ctx, NULL, BOB, ALICE, id, res, strlen(res), NULL, &s),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_null(s);
    free(res);
    cr_assert_eq(esession_fetch_options_iq(f.ctx, "alice@example.org/pda", &iq, id),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(bob_records(f.ks), 0);
    fx_free(&f);
}

static void start_invalid_e(void)
{
    fx f;
    fx_init(&f);
    /* A correctly signed form whose e is 1. */
    const uint8_t one = 1;
    esession_buf e = {(char *)(uintptr_t)&one, 1, 0};
    const esession_key *keys[1] = {f.alice_key};
    esession_buf form = {0};
    randombytes_buf(f.nonce, sizeof f.nonce);
    cr_assert_eq(es_options_build(f.ctx, &f.offer, f.nonce, sizeof f.nonce, &e, keys, 1, &form),
                 ESESSION_OK);
    expect_start_fails(&f, form.data, NULL, ESESSION_ERR_INVALID_DH_VALUE);
    esession_buf_free(&form);
    fx_free(&f);
}

static void second_session_and_resume_of_nothing(void)
{
    fx f;
    fx_init(&f);
    fx_publish(&f);
    esession_sender *s = NULL;
    cr_assert_eq(esession_sender_resume(f.ctx, f.ks, ALICE, &s), ESESSION_ERR_NO_SESSION);
    cr_assert_null(s);
    s = fx_start(&f, NULL);
    esession_sender *t = NULL;
    cr_assert_eq(fx_start_with(&f, f.form.data, NULL, &t), ESESSION_ERR_STATE);
    cr_assert_null(t);
    cr_assert_eq(esession_sender_resume(f.ctx, f.ks, "carol@example.org", &t),
                 ESESSION_ERR_NO_SESSION);
    cr_assert_eq(esession_sender_resume(f.ctx, f.ks, "alice@example.org/x", &t),
                 ESESSION_ERR_INVALID_ARGUMENT);
    esession_sender_free(s);
    fx_free(&f);
}

/* ---- re-keys and the block bound (PROFILE §9, §11) -------------------- */

static void rekey_spacing(void)
{
    fx f;
    fx_init(&f);
    f.offer.rekey_freq = 3;
    fx_publish(&f);
    esession_sender_options o = ESESSION_SENDER_OPTIONS_INIT;
    o.rekey_freq = 2; /* Alice's 3 wins */
    esession_sender *s = fx_start(&f, &o);
    alice a = {.f = &f};
    uint32_t epoch = 9;
    for (int i = 1; i <= 7; i++) {
        esession_buf out = seal(s, MSG("<body>tick</body>"));
        esession_buf plain = {0};
        int rekeyed = -1;
        alice_open(&a, &out, &plain, &rekeyed, NULL);
        /* The 3rd stanza under each key carries <key>; the next uses the new one. */
        cr_assert_eq(rekeyed, i % 3 == 0, "stanza %d", i);
        es_sender_get_usage(s, NULL, NULL, &epoch, NULL);
        cr_assert_eq(epoch, (uint32_t)(i / 3));
        esession_buf_free(&plain);
        esession_buf_free(&out);
    }
    /* A forced re-key before it is allowed (k = 2) is refused. */
    esession_buf out = {0};
    es_sender_rekey now = {ES_REKEY_NOW, NULL, 0};
    cr_assert_eq(es_sender_seal_raw(s, (const uint8_t *)"<b/>", 4, "chat", &now, NULL, &out),
                 ESESSION_ERR_STATE);
    cr_assert_null(out.data);
    /* NEVER keeps the keys, also at k = 3 where a re-key is allowed. */
    es_sender_rekey never = {ES_REKEY_NEVER, NULL, 0};
    esession_buf plain = {0};
    int rekeyed = -1;
    for (int k = 2; k <= 3; k++) {
        cr_assert_eq(es_sender_seal_raw(s, (const uint8_t *)"<b/>", 4, "chat", &never, NULL,
                                        &out),
                     ESESSION_OK);
        alice_open(&a, &out, &plain, &rekeyed, NULL);
        cr_assert_eq(rekeyed, 0);
        cr_assert_eq(plain.len, 4);
        esession_buf_free(&plain);
        esession_buf_free(&out);
    }
    /* k = 4: NOW with a drawn y' is allowed. */
    es_sender_seal_trace t;
    cr_assert_eq(es_sender_seal_raw(s, (const uint8_t *)"<b/>", 4, "chat", &now, &t, &out),
                 ESESSION_OK);
    cr_assert_eq(t.rekeyed, 1);
    cr_assert_not_null(t.keys_after);
    cr_assert_gt(t.d_prime.len, 200);
    alice_open(&a, &out, &plain, &rekeyed, NULL);
    cr_assert_eq(rekeyed, 1);
    es_sender_seal_trace_clear(&t);
    esession_buf_free(&plain);
    esession_buf_free(&out);
    out = seal(s, MSG("<body>after</body>"));
    alice_open(&a, &out, &plain, &rekeyed, NULL);
    esession_buf_free(&plain);
    esession_buf_free(&out);
    alice_free(&a);
    esession_sender_free(s);
    fx_free(&f);
}

static void block_bound(void)
{
    fx f;
    fx_init(&f);
    f.offer.rekey_freq = 4;
    fx_publish(&f);
    esession_sender_options o = ESESSION_SENDER_OPTIONS_INIT;
    o.rekey_freq = 4;
    esession_sender *s = fx_start(&f, &o);
    alice a = {.f = &f};
    esession_buf out = seal(s, MSG("<body>first</body>"));
    esession_buf plain = {0};
    alice_open(&a, &out, &plain, NULL, NULL);
    esession_buf_free(&plain);
    esession_buf_free(&out);

    const uint8_t m[16] = "<b>0123456789/>"; /* one block */
    const uint64_t top = ES_SENDER_BLOCK_LIMIT - ES_SENDER_TERM_RESERVE;
    es_sender_rekey never = {ES_REKEY_NEVER, NULL, 0};
    es_sender_seal_trace t;
    uint64_t stanzas, blocks;
    uint32_t epoch;
    /* The last block that fits (no re-key allowed: k = 2 < 4)... */
    cr_assert_eq(es_sender_set_usage(s, 0, top - 2), ESESSION_OK);
    cr_assert_eq(es_sender_seal_raw(s, m, sizeof m, "chat", NULL, &t, &out), ESESSION_OK);
    cr_assert_eq(t.rekeyed, 0);
    es_sender_seal_trace_clear(&t);
    alice_open(&a, &out, &plain, NULL, NULL);
    esession_buf_free(&plain);
    esession_buf_free(&out);
    es_sender_get_usage(s, &stanzas, &blocks, &epoch, NULL);
    cr_assert_eq(blocks, top - 1);
    /* ...then the bound: nothing sealed, nothing changed. */
    uint8_t c0[16], c1[16];
    es_sender_get_usage(s, NULL, NULL, NULL, c0);
    out = (esession_buf){0};
    cr_assert_eq(es_sender_seal_raw(s, m, sizeof m, "chat", NULL, NULL, &out),
                 ESESSION_ERR_COUNTER_EXHAUSTED);
    cr_assert_null(out.data);
    es_sender_get_usage(s, NULL, NULL, NULL, c1);
    cr_assert(memcmp(c0, c1, 16) == 0);
    /* Near the bound with a re-key allowed (k = 4): the stanza re-keys
     * under the old key, and the count restarts under the new one. */
    cr_assert_eq(es_sender_set_usage(s, 3, top - 2), ESESSION_OK);
    cr_assert_eq(es_sender_seal_raw(s, m, sizeof m, "chat", NULL, &t, &out), ESESSION_OK);
    cr_assert_eq(t.rekeyed, 1);
    es_sender_seal_trace_clear(&t);
    int rekeyed = 0;
    alice_open(&a, &out, &plain, &rekeyed, NULL);
    cr_assert_eq(rekeyed, 1);
    esession_buf_free(&plain);
    esession_buf_free(&out);
    es_sender_get_usage(s, &stanzas, &blocks, &epoch, NULL);
    cr_assert_eq(stanzas, 0);
    cr_assert_eq(blocks, 0);
    cr_assert_eq(epoch, 1);
    /* Exhausted again; the termination still fits in the reserve. */
    cr_assert_eq(es_sender_set_usage(s, 0, top - 1), ESESSION_OK);
    cr_assert_eq(es_sender_seal_raw(s, m, sizeof m, "chat", &never, NULL, &out),
                 ESESSION_ERR_COUNTER_EXHAUSTED);
    cr_assert_eq(es_sender_set_usage(s, 0, ES_SENDER_BLOCK_LIMIT), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_sender_terminate(s, &out), ESESSION_OK);
    alice_open(&a, &out, &plain, NULL, NULL);
    cr_assert_str_eq(plain.data, es_sender_term_content);
    esession_buf_free(&plain);
    esession_buf_free(&out);
    alice_free(&a);
    esession_sender_free(s);
    fx_free(&f);
}

/* ---- persistence ------------------------------------------------------ */

static void counter_of(esession_sender *s, uint8_t c[16])
{
    es_sender_get_usage(s, NULL, NULL, NULL, c);
}

static void counters_survive_resume_and_reopen(void)
{
    fx f;
    fx_init(&f);
    fx_publish(&f);
    esession_sender *s = fx_start(&f, NULL);
    alice a = {.f = &f};
    uint8_t last[16] = {0}, c[16];
    es_sender_seal_trace t;
    esession_buf out, plain;
    for (int round = 0; round < 4; round++) {
        cr_assert_eq(es_sender_seal_raw(s, (const uint8_t *)"<body>x</body>", 14, "chat", NULL,
                                        &t, &out),
                     ESESSION_OK);
        if (round > 0) /* exactly where the last one ended: no reuse, no gap */
            cr_assert_eq(es_ctr_cmp(t.counter_before, last), 0, "counter moved");
        counter_of(s, last);
        cr_assert_gt(es_ctr_cmp(last, t.counter_before), 0);
        es_sender_seal_trace_clear(&t);
        alice_open(&a, &out, &plain, NULL, NULL);
        esession_buf_free(&plain);
        esession_buf_free(&out);
        esession_sender_free(s);
        s = NULL;
        if (round % 2 == 1) {
            /* From the file: close and open the keystore again. */
            esession_keystore_free(f.ks);
            f.ks = kt_open(f.ctx, f.path);
        }
        cr_assert_eq(esession_sender_resume(f.ctx, f.ks, ALICE, &s), ESESSION_OK);
        counter_of(s, c);
        cr_assert(memcmp(c, last, 16) == 0, "resumed at another counter");
    }
    /* The first stanza after a resume that follows the start carries <init>. */
    esession_sender_free(s);
    alice_free(&a);
    fx_free(&f);
}

static void init_survives_resume(void)
{
    fx f;
    fx_init(&f);
    fx_publish(&f);
    esession_sender *s = fx_start(&f, NULL);
    char thread[33];
    snprintf(thread, sizeof thread, "%s", esession_sender_thread(s));
    esession_sender_free(s);
    cr_assert_eq(esession_sender_resume(f.ctx, f.ks, ALICE, &s), ESESSION_OK);
    cr_assert_str_eq(esession_sender_thread(s), thread);
    esession_buf out = seal(s, MSG("<body>late</body>"));
    alice a = {.f = &f};
    int had_init = 0;
    esession_buf plain = {0};
    alice_open(&a, &out, &plain, NULL, &had_init);
    cr_assert(had_init);
    esession_buf_free(&plain);
    esession_buf_free(&out);
    alice_free(&a);
    esession_sender_free(s);
    fx_free(&f);
}

static void write_failure_leaves_no_stanza(void)
{
    fx f;
    fx_init(&f);
    fx_publish(&f);
    int calls = 0;
    /* Start: nothing stored, nothing returned. */
    kt_break_writes(f.ks, &calls);
    esession_sender *s = (esession_sender *)(uintptr_t)0x5a5a;
    cr_assert_eq(fx_start_with(&f, f.form.data, NULL, &s), ESESSION_ERR_IO);
    cr_assert_eq(s, (esession_sender *)(uintptr_t)0x5a5a);
    cr_assert_gt(calls, 0);
    es_ks_set_hooks(f.ks, NULL);
    cr_assert_eq(bob_records(f.ks), 0);
    s = fx_start(&f, NULL);
    esession_buf s1 = seal(s, MSG("<body>one</body>"));

    /* Seal, re-key seal and terminate: no stanza, state unchanged. */
    uint8_t c0[16], c1[16];
    counter_of(s, c0);
    calls = 0;
    kt_break_writes(f.ks, &calls);
    esession_buf out = {0};
    cr_assert_eq(esession_sender_seal(s, MSG("<body>x</body>"), strlen(MSG("<body>x</body>")),
                                      &out),
                 ESESSION_ERR_IO);
    cr_assert_null(out.data);
    es_sender_rekey now = {ES_REKEY_NOW, NULL, 0};
    cr_assert_eq(es_sender_seal_raw(s, (const uint8_t *)"<x/>", 4, "chat", &now, NULL, &out),
                 ESESSION_ERR_STATE, "rekey_freq 100: not yet");
    cr_assert_eq(esession_sender_terminate(s, &out), ESESSION_ERR_IO);
    cr_assert_null(out.data);
    cr_assert_eq(calls, 2);
    counter_of(s, c1);
    cr_assert(memcmp(c0, c1, 16) == 0, "a failed seal moved the counter in memory");
    cr_assert_eq(f.ended, 0, "a termination that was not committed ended the session");
    es_ks_set_hooks(f.ks, NULL);

    /* The keystore file still holds the same state. */
    esession_keystore *re = kt_open(f.ctx, f.path);
    esession_sender *r = NULL;
    cr_assert_eq(esession_sender_resume(f.ctx, re, ALICE, &r), ESESSION_OK);
    counter_of(r, c1);
    cr_assert(memcmp(c0, c1, 16) == 0);
    esession_sender_free(r);
    esession_keystore_free(re);

    esession_buf s2 = seal(s, MSG("<body>two</body>"));
    alice a = {.f = &f};
    expect_plain(&a, &s1, "<body>one</body>", T0);
    expect_plain(&a, &s2, "<body>two</body>", T0);
    alice_free(&a);
    esession_buf_free(&s1);
    esession_buf_free(&s2);
    esession_sender_free(s);
    fx_free(&f);
}

/* Client batches are for Alice's receiver: nothing of Bob's may leave
 * before its counter is committed, so inside a batch every call of his
 * that writes refuses (nothing used, the batch still usable), and works
 * again once the batch is over. */
static void batches_are_refused(void)
{
    fx f;
    fx_init(&f);
    fx_publish(&f);
    esession_sender *s = fx_start(&f, NULL);
    esession_buf first = seal(s, MSG("<body>one</body>"));
    cr_assert_eq(esession_keystore_begin(f.ks), ESESSION_OK);
    uint8_t c0[16], c1[16];
    counter_of(s, c0);
    esession_buf out = {0};
    cr_assert_eq(esession_sender_seal(s, MSG("<body>two</body>"), strlen(MSG("<body>two</body>")),
                                      &out),
                 ESESSION_ERR_STATE);
    cr_assert_null(out.data);
    cr_assert(strstr(esession_ctx_error_detail(f.ctx), "batch") != NULL, "detail: %s",
              esession_ctx_error_detail(f.ctx));
    cr_assert_eq(esession_sender_terminate(s, &out), ESESSION_ERR_STATE);
    cr_assert_eq(esession_sender_peer_online(f.ctx, f.ks, ALICE, &out), ESESSION_ERR_STATE);
    cr_assert_null(out.data);
    counter_of(s, c1);
    cr_assert_arr_eq(c0, c1, 16, "a refused seal moved the counter");
    esession_sender *again = (esession_sender *)(uintptr_t)0x5a5a;
    cr_assert_eq(fx_start_with(&f, f.form.data, NULL, &again), ESESSION_ERR_STATE);
    cr_assert_eq(again, (esession_sender *)(uintptr_t)0x5a5a);
    /* Reading is fine inside a batch. */
    esession_sender *r = NULL;
    cr_assert_eq(esession_sender_resume(f.ctx, f.ks, ALICE, &r), ESESSION_OK);
    counter_of(r, c1);
    cr_assert_arr_eq(c0, c1, 16);
    esession_sender_free(r);
    /* The refusals wrote nothing, so they did not doom the batch. */
    cr_assert_eq(esession_keystore_commit(f.ks), ESESSION_OK);
    esession_buf second = seal(s, MSG("<body>two</body>"));
    /* Rolled back the same way. */
    cr_assert_eq(esession_keystore_begin(f.ks), ESESSION_OK);
    cr_assert_eq(esession_sender_seal(s, MSG("<body>x</body>"), strlen(MSG("<body>x</body>")),
                                      &out),
                 ESESSION_ERR_STATE);
    esession_keystore_rollback(f.ks);
    esession_buf third = seal(s, MSG("<body>three</body>"));
    alice a = {.f = &f};
    expect_plain(&a, &first, "<body>one</body>", T0);
    expect_plain(&a, &second, "<body>two</body>", T0);
    expect_plain(&a, &third, "<body>three</body>", T0);
    alice_free(&a);
    esession_buf_free(&first);
    esession_buf_free(&second);
    esession_buf_free(&third);
    esession_sender_free(s);
    fx_free(&f);
}

/* Two handles on one session (two processes, say) never use the same
 * counters: each seal reads the stored state in its transaction and goes
 * on from whatever the other sealed, so Alice opens every stanza, in
 * order, at consecutive counters. Once one ends the session, the other
 * refuses. */
static void two_handles_never_share_counters(void)
{
    fx f;
    fx_init(&f);
    fx_publish(&f);
    esession_sender *s = fx_start(&f, NULL);
    esession_sender *t = NULL;
    cr_assert_eq(esession_sender_resume(f.ctx, f.ks, ALICE, &t), ESESSION_OK);
    esession_keystore *other = kt_open(f.ctx, f.path);
    esession_sender *u = NULL; /* through another keystore handle */
    cr_assert_eq(esession_sender_resume(f.ctx, other, ALICE, &u), ESESSION_OK);
    es_sender_seal_trace tr;
    esession_buf out[4];
    uint8_t end[16];
    esession_sender *order[4] = {t, s, u, s};
    for (size_t i = 0; i < 4; i++) {
        cr_assert_eq(es_sender_seal_raw(order[i], (const uint8_t *)"<body>x</body>", 14, "chat",
                                        NULL, &tr, &out[i]),
                     ESESSION_OK, "stanza %zu", i);
        if (i > 0)
            cr_assert_eq(es_ctr_cmp(tr.counter_before, end), 0,
                         "stanza %zu does not start where the last one ended", i);
        counter_of(order[i], end);
        es_sender_seal_trace_clear(&tr);
    }
    cr_assert_not_null(strstr(out[0].data, "<init"), "the first stanza carries <init>");
    for (size_t i = 1; i < 4; i++)
        cr_assert_null(strstr(out[i].data, "<init"), "stanza %zu carries <init> again", i);
    alice a = {.f = &f};
    for (size_t i = 0; i < 4; i++) {
        esession_buf plain = {0};
        alice_open(&a, &out[i], &plain, NULL, NULL); /* in order, at the expected counter */
        cr_assert(strstr(plain.data, "<body>x</body>") == plain.data);
        esession_buf_free(&plain);
        esession_buf_free(&out[i]);
    }
    alice_free(&a);
    /* t ends the session: s and u learn it from the store. */
    esession_buf term = {0};
    cr_assert_eq(esession_sender_terminate(t, &term), ESESSION_OK);
    cr_assert_not_null(term.data);
    esession_buf_free(&term);
    esession_buf x = {0};
    cr_assert_eq(esession_sender_seal(s, MSG("<body>late</body>"),
                                      strlen(MSG("<body>late</body>")), &x),
                 ESESSION_ERR_STATE);
    cr_assert_eq(esession_sender_terminate(u, &x), ESESSION_ERR_STATE);
    cr_assert_null(x.data);
    esession_sender_free(s);
    esession_sender_free(t);
    esession_sender_free(u);
    esession_keystore_free(other);
    fx_free(&f);
}

static void state_record_is_checked(void)
{
    fx f;
    fx_init(&f);
    fx_publish(&f);
    esession_sender *s = fx_start(&f, NULL);
    esession_buf rec = {0};
    cr_assert_eq(es_ks_blob_get(f.ks, ES_SENDER_BLOB_PREFIX ALICE, &rec), ESESSION_OK);
    es_sender_info info;
    es_sender_progress *prog = es_secret_alloc(sizeof *prog);
    cr_assert_not_null(prog);
    memset(&info, 0, sizeof info);
    const uint8_t *d = (const uint8_t *)rec.data;
    cr_assert_eq(es_sender_state_decode(f.ctx, d, rec.len, &info, prog), ESESSION_OK);
    cr_assert_str_eq(info.thread, esession_sender_thread(s));
    cr_assert_str_eq(info.bob_jid, BOB);
    cr_assert_eq(prog->init_pending, 1);
    cr_assert_not_null(info.init);
    /* Re-encoding gives the same octets. */
    esession_buf again = {0};
    cr_assert_eq(es_sender_state_encode(f.ctx, &info, prog, &again), ESESSION_OK);
    cr_assert_eq(again.len, rec.len);
    cr_assert(memcmp(again.data, rec.data, rec.len) == 0);
    esession_buf_free(&again);
    es_sender_info_clear(&info);
    /* Every truncation, a trailing octet and flipped header octets. */
    uint8_t *b = malloc(rec.len + 1);
    memcpy(b, d, rec.len);
    for (size_t n = 0; n < rec.len; n += (n < 200 ? 1 : 97))
        cr_assert_eq(es_sender_state_decode(f.ctx, b, n, &info, prog), ESESSION_ERR_CORRUPT,
                     "truncated to %zu accepted", n);
    b[rec.len] = 0;
    cr_assert_eq(es_sender_state_decode(f.ctx, b, rec.len + 1, &info, prog),
                 ESESSION_ERR_CORRUPT);
    const size_t flip[] = {0, 4, 5};
    for (size_t i = 0; i < 3; i++) {
        b[flip[i]] ^= 0x40;
        cr_assert_eq(es_sender_state_decode(f.ctx, b, rec.len, &info, prog),
                     ESESSION_ERR_CORRUPT, "octet %zu", flip[i]);
        b[flip[i]] ^= 0x40;
    }
    /* An unknown chosen value ("sha256" -> "sha257"). */
    uint8_t *p = find_bytes(b, rec.len, "sha256");
    cr_assert_not_null(p);
    p[5] = '7';
    cr_assert_eq(es_sender_state_decode(f.ctx, b, rec.len, &info, prog), ESESSION_ERR_CORRUPT);
    p[5] = '6';
    /* A damaged record is reported by resume, not used. */
    cr_assert_eq(es_ks_blob_put(f.ks, ES_SENDER_BLOB_PREFIX ALICE, b, rec.len - 1), ESESSION_OK);
    esession_sender *r = NULL;
    cr_assert_eq(esession_sender_resume(f.ctx, f.ks, ALICE, &r), ESESSION_ERR_CORRUPT);
    cr_assert_null(r);
    free(b);
    es_secret_free(prog);
    esession_buf_free(&rec);
    esession_sender_free(s);
    fx_free(&f);
}

/* ---- ending ----------------------------------------------------------- */

static void terminate_erases_state(void)
{
    fx f;
    fx_init(&f);
    fx_publish(&f);
    esession_sender *s = fx_start(&f, NULL);
    esession_buf s1 = seal(s, MSG("<body>bye soon</body>"));
    esession_buf end = {0};
    cr_assert_eq(esession_sender_terminate(s, &end), ESESSION_OK);
    cr_assert_not_null(end.data);
    cr_assert_eq(f.ended, 1);
    cr_assert_eq(bob_records(f.ks), 0);
    alice a = {.f = &f};
    esession_buf plain = {0};
    alice_open(&a, &s1, &plain, NULL, NULL);
    esession_buf_free(&plain);
    alice_open(&a, &end, &plain, NULL, NULL);
    cr_assert_str_eq(plain.data, es_sender_term_content);
    esession_buf_free(&plain);
    alice_free(&a);
    /* Over: no more stanzas, no second termination, nothing to resume. */
    esession_buf out = {0};
    cr_assert_eq(esession_sender_seal(s, MSG("<body>x</body>"), strlen(MSG("<body>x</body>")),
                                      &out),
                 ESESSION_ERR_STATE);
    cr_assert_eq(esession_sender_terminate(s, &out), ESESSION_ERR_STATE);
    cr_assert_null(out.data);
    esession_sender *r = NULL;
    cr_assert_eq(esession_sender_resume(f.ctx, f.ks, ALICE, &r), ESESSION_ERR_NO_SESSION);
    /* A new session may start. */
    esession_sender_free(s);
    s = fx_start(&f, NULL);
    esession_sender_free(s);
    esession_buf_free(&s1);
    esession_buf_free(&end);
    fx_free(&f);
}

static void terminate_before_any_stanza(void)
{
    fx f;
    fx_init(&f);
    fx_publish(&f);
    esession_sender *s = fx_start(&f, NULL);
    esession_buf out = {(char *)(uintptr_t)0x1, 3, 0};
    cr_assert_eq(esession_sender_terminate(s, &out), ESESSION_OK);
    cr_assert_null(out.data, "Alice never heard of it: nothing to send");
    cr_assert_eq(out.len, 0);
    cr_assert_eq(f.ended, 1);
    cr_assert_eq(bob_records(f.ks), 0);
    esession_sender_free(s);
    fx_free(&f);
}

static void peer_online(void)
{
    fx f;
    fx_init(&f);
    fx_publish(&f);
    esession_buf out = {(char *)(uintptr_t)0x1, 3, 0};
    cr_assert_eq(esession_sender_peer_online(f.ctx, f.ks, ALICE, &out), ESESSION_OK);
    cr_assert_null(out.data);
    cr_assert_eq(out.len, 0);
    esession_sender *s = fx_start(&f, NULL);
    esession_buf s1 = seal(s, MSG("<body>while you were out</body>"));
    esession_sender_free(s);
    cr_assert_eq(esession_sender_peer_online(f.ctx, f.ks, ALICE, &out), ESESSION_OK);
    cr_assert_not_null(out.data);
    cr_assert_eq(bob_records(f.ks), 0);
    alice a = {.f = &f};
    esession_buf plain = {0};
    alice_open(&a, &s1, &plain, NULL, NULL);
    esession_buf_free(&plain);
    alice_open(&a, &out, &plain, NULL, NULL);
    cr_assert_str_eq(plain.data, es_sender_term_content);
    esession_buf_free(&plain);
    alice_free(&a);
    esession_buf_free(&out);
    cr_assert_eq(esession_sender_peer_online(f.ctx, f.ks, ALICE, &out), ESESSION_OK);
    cr_assert_null(out.data);
    cr_assert_eq(esession_sender_peer_online(f.ctx, f.ks, "x/y", &out),
                 ESESSION_ERR_INVALID_ARGUMENT);
    esession_buf_free(&s1);
    fx_free(&f);
}

static void single_stanza(void)
{
    fx f;
    fx_init(&f);
    f.offer.rekey_freq = 1;
    fx_publish(&f);
    esession_sender_options o = ESESSION_SENDER_OPTIONS_INIT;
    o.single_stanza = 1;
    o.rekey_freq = 1;
    esession_sender *s = fx_start(&f, &o);
    esession_buf out = seal(s, MSG("<body>just this</body>"));
    cr_assert(strstr(out.data, "<field var='counter'><value>") != NULL);
    cr_assert(strstr(out.data, "<field var='terminate'><value>1</value></field>\n"
                               "      <field var='identity'>") != NULL);
    cr_assert_null(strstr(out.data, "<key>"), "no re-key in the only stanza");
    cr_assert_eq(f.ended, 1);
    cr_assert_eq(bob_records(f.ks), 0);
    alice a = {.f = &f};
    expect_plain(&a, &out, "<body>just this</body>", T0);
    alice_free(&a);
    esession_buf_free(&out);
    cr_assert_eq(esession_sender_seal(s, MSG("<body>x</body>"), strlen(MSG("<body>x</body>")),
                                      &out),
                 ESESSION_ERR_STATE);
    esession_sender *r = NULL;
    cr_assert_eq(esession_sender_resume(f.ctx, f.ks, ALICE, &r), ESESSION_ERR_NO_SESSION);
    esession_sender_free(s);
    fx_free(&f);
}

static void match_resource(void)
{
    static const char *const weak[] = {"2", "14"};
    fx f;
    fx_init(&f);
    f.offer.match_resource = "pda";
    f.offer.modp = (es_strlist){2, weak};
    fx_publish(&f);
    esession_sender_options o = ESESSION_SENDER_OPTIONS_INIT;
    o.allow_weak_groups = 1;
    esession_sender *s = fx_start(&f, &o);
    esession_buf s1 = seal(s, MSG("<body>pda only</body>"));
    cr_assert(strncmp(s1.data, "<message from='" BOB "' to='" ALICE "/pda' type='chat'>", 60) ==
              0);
    cr_assert(strstr(s1.data, "<field var='modp'><value>2</value></field>") != NULL);
    static const char tail[] =
        "</c>\n  <body>" ESESSION_FALLBACK_BODY "</body>\n"
        "  <amp xmlns='http://jabber.org/protocol/amp'><rule action='error' "
        "condition='match-resource' value='other'/></amp>\n</message>";
    cr_assert_str_eq(s1.data + s1.len - strlen(tail), tail);
    esession_sender_free(s); /* the resource and the group come back from the record */
    cr_assert_eq(esession_sender_resume(f.ctx, f.ks, ALICE, &s), ESESSION_OK);
    esession_buf s2 = seal(s, MSG("<body>again</body>"));
    cr_assert(strncmp(s2.data, "<message from='" BOB "' to='" ALICE "/pda' type='chat'>", 60) ==
              0);
    cr_assert_str_eq(s2.data + s2.len - strlen(tail), tail);
    alice a = {.f = &f};
    expect_plain(&a, &s1, "<body>pda only</body>", T0);
    expect_plain(&a, &s2, "<body>again</body>", T0);
    alice_free(&a);
    esession_buf_free(&s1);
    esession_buf_free(&s2);
    esession_sender_free(s);
    fx_free(&f);
}

static void dsa_identity(void)
{
    fx f;
    fx_init(&f);
    /* Bob holds only a DSA key: dsa-sha256 is chosen from Alice's list. */
    uint8_t fp[32];
    kt_fingerprint(f.ctx, f.bob_key, fp);
    cr_assert_eq(esession_keystore_delete_key(f.ks, fp), ESESSION_OK);
    esession_key_free(f.bob_key);
    f.bob_key = kt_key(f.ctx, "vec_dsa_bob.pem");
    cr_assert_eq(esession_keystore_add_key(f.ks, f.bob_key), ESESSION_OK);
    fx_publish(&f);
    esession_sender *s = fx_start(&f, NULL);
    esession_buf out = seal(s, MSG("<body>dsa</body>"));
    cr_assert(strstr(out.data, "<value>" ES_SIGN_ALG_DSA "</value>") != NULL);
    esession_sender_free(s);
    esession_buf_free(&out);
    /* Without any signing key Bob cannot start. */
    kt_fingerprint(f.ctx, f.bob_key, fp);
    cr_assert_eq(esession_keystore_delete_key(f.ks, fp), ESESSION_OK);
    esession_buf end = {0};
    cr_assert_eq(esession_sender_peer_online(f.ctx, f.ks, ALICE, &end), ESESSION_OK);
    esession_buf_free(&end);
    expect_start_fails(&f, f.form.data, NULL, ESESSION_ERR_STATE);
    fx_free(&f);
}

static void long_jid_and_null_safety(void)
{
    fx f;
    fx_init(&f);
    char jid[400];
    memset(jid, 'a', sizeof jid - 1);
    jid[sizeof jid - 1] = '\0';
    jid[10] = '@';
    esession_sender *s = NULL;
    cr_assert_eq(esession_sender_resume(f.ctx, f.ks, jid, &s), ESESSION_ERR_LIMIT);
    esession_buf out = {0};
    cr_assert_eq(esession_sender_terminate(NULL, &out), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_sender_peer_online(NULL, f.ks, ALICE, &out),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_null(esession_sender_thread(NULL));
    esession_sender_free(NULL);
    fx_free(&f);
}

/* Alice's options expire during the session (T0 + 3600): Bob seals up to
 * that second, not after it, and nothing changes when he is refused; the
 * termination still goes, and the record keeps the expiry across a
 * reopen. */
static void expiry_is_checked_before_every_seal(void)
{
    fx f;
    fx_init(&f);
    fx_publish(&f);
    esession_sender *s = fx_start(&f, NULL);
    esession_buf s1 = seal(s, MSG("<body>before</body>"));
    f.now = T0 + 3600;
    esession_buf s2 = seal(s, MSG("<body>at the last second</body>"));
    esession_sender_free(s);
    esession_keystore_free(f.ks);
    f.ks = kt_open(f.ctx, f.path);
    cr_assert_eq(esession_sender_resume(f.ctx, f.ks, ALICE, &s), ESESSION_OK);
    uint8_t before[16], after[16];
    counter_of(s, before);
    f.now = T0 + 3601;
    esession_buf out = {NULL, 0, 0};
    const char *m = MSG("<body>too late</body>");
    cr_assert_eq(esession_sender_seal(s, m, strlen(m), &out), ESESSION_ERR_EXPIRED);
    cr_assert_null(out.data);
    cr_assert_not_null(strstr(esession_ctx_error_detail(f.ctx), "expired"));
    counter_of(s, after);
    cr_assert_arr_eq(before, after, 16, "nothing used");
    esession_buf end = {NULL, 0, 0};
    cr_assert_eq(esession_sender_terminate(s, &end), ESESSION_OK);
    cr_assert_not_null(end.data);
    cr_assert_eq(bob_records(f.ks), 0);
    esession_buf_free(&end);
    esession_buf_free(&s1);
    esession_buf_free(&s2);
    esession_sender_free(s);
    fx_free(&f);
}

/* ---- the tests (grouped: each Criterion test runs in a process of its
 * own, and few processes keep the valgrind run short) ------------------ */

Test(sender, selection_flow_and_content)
{
    choose_first_supported();
    choose_weak_groups();
    choose_rekey_freq();
    choose_no_common_value();
    start_seal_open();
    fallback_body_choice();
    open_node_start();
    message_content();
    match_resource();
    dsa_identity();
}

Test(sender, refusals_of_messages_and_starts)
{
    refusals();
    start_refusals();
    start_pep_answers();
    start_invalid_e();
    second_session_and_resume_of_nothing();
    long_jid_and_null_safety();
}

Test(sender, rekeys_block_bound_and_persistence)
{
    rekey_spacing();
    block_bound();
    counters_survive_resume_and_reopen();
    init_survives_resume();
    write_failure_leaves_no_stanza();
    two_handles_never_share_counters();
    batches_are_refused();
    state_record_is_checked();
}

Test(sender, ending)
{
    expiry_is_checked_before_every_seal();
    terminate_erases_state();
    terminate_before_any_stanza();
    peer_online();
    single_stanza();
}
