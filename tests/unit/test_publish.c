/* SPDX-License-Identifier: ISC */
/* Alice's publication, coming back online, the queue and expiry
 * (XEP-0187 §3.1, §3.4). */
#include "ks_test.h"

#include "../../crypto/dh.h"
#include "../../session/options_sig.h"
#include "../../pep/pep.h"
#include "../../store/store.h"

static int64_t clock_now = 1790000000; /* 2026-09 */
static int events_expired;

static int64_t fixed_now(void *user)
{
    (void)user;
    return clock_now;
}

static void count_event(void *user, const esession_event *ev)
{
    (void)user;
    if (ev->type == ESESSION_EVENT_EXPIRED)
        events_expired++;
}

typedef struct fixture {
    char dir[64], path[128];
    esession_ctx *ctx;
    esession_keystore *ks;
    esession_key *key;
} fixture;

static void setup(fixture *f, int with_key)
{
    static const esession_host_ops ops = {.now = fixed_now, .event = count_event};
    esession_ctx_options o = ESESSION_CTX_OPTIONS_INIT;
    o.ops = &ops;
    cr_assert_eq(esession_ctx_new(&f->ctx, &o, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_OK);
    kt_mkdir(f->dir, sizeof f->dir);
    snprintf(f->path, sizeof f->path, "%s/alice.ks", f->dir);
    f->ks = kt_create(f->ctx, f->path);
    char *pem = vec_read_file("tests/data/vec_rsa_alice.pem", NULL);
    cr_assert_not_null(pem);
    cr_assert_eq(esession_key_from_pem(f->ctx, &f->key, pem, strlen(pem)), ESESSION_OK);
    free(pem);
    if (with_key)
        cr_assert_eq(esession_keystore_add_key(f->ks, f->key), ESESSION_OK);
}

static void teardown(fixture *f)
{
    esession_key_free(f->key);
    esession_keystore_free(f->ks);
    esession_ctx_free(f->ctx);
    kt_rmdir(f->dir);
}

/* The published form verifies under Alice's public key, names her stored
 * option set, and its e values are g^x of the stored exponents. */
Test(publish, stores_then_publishes_a_verifiable_form)
{
    fixture f;
    setup(&f, 1);
    esession_publication p;
    cr_assert_eq(esession_publish(f.ctx, f.ks, NULL, &p), ESESSION_OK, "%s",
                 esession_ctx_error_detail(f.ctx));
    cr_assert_eq(p.nonce_len, 32);
    cr_assert_eq(p.expires, clock_now + 7 * 24 * 3600);

    const es_optset *set = es_ks_optset_find(f.ks, p.nonce, p.nonce_len);
    cr_assert_not_null(set);
    cr_assert_eq(set->n_groups, 3);
    cr_assert_eq(set->groups[0], 14);
    cr_assert_eq(set->groups[1], 15);
    cr_assert_eq(set->groups[2], 16);
    cr_assert_eq(set->expires, p.expires);
    cr_assert_eq(set->form.len, p.form.len);
    cr_assert_eq(memcmp(set->form.data, p.form.data, p.form.len), 0);

    xmlDocPtr doc = NULL;
    cr_assert_eq(es_xml_parse(f.ctx, p.form.data, p.form.len, &doc), ESESSION_OK);
    esession_buf pem = {0};
    esession_key *pub = NULL;
    cr_assert_eq(esession_key_to_pem(f.ctx, f.key, 0, &pem), ESESSION_OK);
    cr_assert_eq(esession_key_from_pem(f.ctx, &pub, pem.data, pem.len), ESESSION_OK);
    const esession_key *trusted[1] = {pub};
    es_options *opt = NULL;
    cr_assert_eq(es_options_check(f.ctx, xmlDocGetRootElement(doc), trusted, 1, clock_now, &opt),
                 ESESSION_OK, "%s", esession_ctx_error_detail(f.ctx));
    cr_assert_eq(memcmp(opt->nonce, p.nonce, p.nonce_len), 0);
    cr_assert_str_eq(opt->offer.crypt_algs.v[0], "aes256-ctr");
    cr_assert_str_eq(opt->offer.hash_algs.v[0], "sha256");
    for (size_t i = 0; i < set->n_groups; i++) {
        es_dh *dh = NULL;
        esession_buf e = {0};
        cr_assert_eq(es_dh_from_private(f.ctx, &dh, set->groups[i], (const uint8_t *)set->x[i].data,
                                        set->x[i].len), ESESSION_OK);
        cr_assert_eq(es_dh_public(dh, &e), ESESSION_OK);
        cr_assert_eq(e.len, opt->dhkey_len[i]);
        cr_assert_eq(memcmp(e.data, opt->dhkeys[i], e.len), 0);
        esession_buf_free(&e);
        es_dh_free(dh);
    }
    es_options_free(opt);
    xmlFreeDoc(doc);

    /* The IQs: create for the subscribers' node, publish carrying the form. */
    cr_assert_not_null(strstr(p.create_iq.data, "<create node='http://www.xmpp.org/extensions/xep-0187.html#ns'"));
    cr_assert_not_null(strstr(p.create_iq.data, p.create_id));
    cr_assert_not_null(strstr(p.publish_iq.data, p.form.data));
    cr_assert_not_null(strstr(p.publish_iq.data, p.publish_id));
    cr_assert_str_neq(p.create_id, p.publish_id);

    /* The option set survives close and reopen. */
    esession_keystore_free(f.ks);
    cr_assert_eq(esession_keystore_open(f.ctx, &f.ks, f.path, KT_PASS, KT_PASS_LEN), ESESSION_OK);
    cr_assert_not_null(es_ks_optset_find(f.ks, p.nonce, p.nonce_len));

    esession_publication_free(&p);
    esession_key_free(pub);
    esession_buf_free(&pem);
    teardown(&f);
}

Test(publish, refusals_leave_nothing_stored)
{
    fixture f;
    setup(&f, 0);
    esession_publication p;
    memset(&p, 0, sizeof p);
    cr_assert_eq(esession_publish(f.ctx, f.ks, NULL, &p), ESESSION_ERR_STATE);
    cr_assert_eq(esession_keystore_add_key(f.ks, f.key), ESESSION_OK);

    esession_publish_options o = ESESSION_PUBLISH_OPTIONS_INIT;
    static const int weak[] = {5, 14};
    o.groups = weak;
    o.n_groups = 2;
    cr_assert_eq(esession_publish(f.ctx, f.ks, &o, &p), ESESSION_ERR_UNSUPPORTED);
    static const int elliptic[] = {3};
    o.groups = elliptic;
    o.n_groups = 1;
    o.allow_weak_groups = 1;
    cr_assert_eq(esession_publish(f.ctx, f.ks, &o, &p), ESESSION_ERR_UNSUPPORTED);
    static const int twice[] = {14, 14};
    o.groups = twice;
    o.n_groups = 2;
    cr_assert_eq(esession_publish(f.ctx, f.ks, &o, &p), ESESSION_ERR_INVALID_ARGUMENT);
    o = (esession_publish_options)ESESSION_PUBLISH_OPTIONS_INIT;
    static const char *const none[] = {"none"};
    o.ciphers = none;
    o.n_ciphers = 1;
    cr_assert_eq(esession_publish(f.ctx, f.ks, &o, &p), ESESSION_ERR_UNSUPPORTED);
    o = (esession_publish_options)ESESSION_PUBLISH_OPTIONS_INIT;
    o.lifetime = -1;
    cr_assert_eq(esession_publish(f.ctx, f.ks, &o, &p), ESESSION_ERR_INVALID_ARGUMENT);
    o = (esession_publish_options)ESESSION_PUBLISH_OPTIONS_INIT;
    o.version = 99;
    cr_assert_eq(esession_publish(f.ctx, f.ks, &o, &p), ESESSION_ERR_VERSION);
    cr_assert_null(p.form.data);
    cr_assert_eq(es_ks_optset_count(f.ks), 0);

    /* A keystore is used with the context that opened it: another one
     * (its own clock and random source) is misuse, refused everywhere. */
    esession_ctx *other = NULL;
    cr_assert_eq(esession_ctx_new(&other, NULL, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_OK);
    cr_assert_eq(esession_publish(other, f.ks, NULL, &p), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_not_null(strstr(esession_ctx_error_detail(other), "another context"));
    esession_receiver *r = NULL;
    cr_assert_eq(esession_receiver_new(other, f.ks, &r), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_null(r);
    esession_sender *s = NULL;
    cr_assert_eq(esession_sender_resume(other, f.ks, "alice@example.org", &s),
                 ESESSION_ERR_INVALID_ARGUMENT);
    esession_buf iq = {NULL, 0, 0};
    char id[ESESSION_IQ_ID_MAX];
    cr_assert_eq(esession_online(other, f.ks, &iq, id), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_offline_queue_done(other, f.ks), ESESSION_ERR_INVALID_ARGUMENT);
    size_t removed = 0;
    cr_assert_eq(esession_purge_expired(other, f.ks, &removed), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_null(p.form.data);
    cr_assert_eq(es_ks_optset_count(f.ks), 0);
    esession_ctx_free(other);

    /* Weak groups when asked for, with match_resource. */
    o = (esession_publish_options)ESESSION_PUBLISH_OPTIONS_INIT;
    static const int g5[] = {5};
    o.groups = g5;
    o.n_groups = 1;
    o.allow_weak_groups = 1;
    o.match_resource = "pda";
    o.lifetime = 3600;
    cr_assert_eq(esession_publish(f.ctx, f.ks, &o, &p), ESESSION_OK);
    cr_assert_not_null(strstr(p.form.data, "<field var='match_resource'><value>pda</value></field>"));
    cr_assert_eq(p.expires, clock_now + 3600);
    esession_publication_free(&p);
    cr_assert_eq(es_ks_optset_count(f.ks), 1);
    teardown(&f);
}

/* Online withdraws the options; the queue being processed destroys the
 * exponents of what was withdrawn, and nothing published later. */
Test(publish, online_then_queue_done_destroys_withdrawn_exponents)
{
    fixture f;
    setup(&f, 1);
    esession_publication first, later;
    cr_assert_eq(esession_publish(f.ctx, f.ks, NULL, &first), ESESSION_OK);
    esession_buf iq = {0};
    char id[ESESSION_IQ_ID_MAX];
    cr_assert_eq(esession_online(f.ctx, f.ks, &iq, id), ESESSION_OK);
    cr_assert_not_null(strstr(iq.data, "<item id='current'/>"));
    cr_assert_not_null(strstr(iq.data, id));
    cr_assert_eq(esession_publish(f.ctx, f.ks, NULL, &later), ESESSION_OK);

    /* Until the queue is done, the exponents stay (Bob's stanzas may wait). */
    cr_assert_eq(es_ks_optset_find(f.ks, first.nonce, first.nonce_len)->secrets_destroyed, 0);
    cr_assert_eq(esession_offline_queue_done(f.ctx, f.ks), ESESSION_OK);
    const es_optset *a = es_ks_optset_find(f.ks, first.nonce, first.nonce_len);
    const es_optset *b = es_ks_optset_find(f.ks, later.nonce, later.nonce_len);
    cr_assert_not_null(a);
    cr_assert_eq(a->secrets_destroyed, 1);
    for (size_t i = 0; i < a->n_groups; i++)
        cr_assert_eq(a->x[i].len, 0);
    cr_assert_eq(b->secrets_destroyed, 0);
    /* Idempotent. */
    cr_assert_eq(esession_offline_queue_done(f.ctx, f.ks), ESESSION_OK);
    cr_assert_eq(es_ks_optset_find(f.ks, later.nonce, later.nonce_len)->secrets_destroyed, 0);

    esession_buf_free(&iq);
    esession_publication_free(&first);
    esession_publication_free(&later);
    teardown(&f);
}

/* Options on the open node are for non-subscribers while Alice is online
 * too (XEP-0187 §6): coming online withdraws only the subscribers' node,
 * and the queue being done destroys only what was withdrawn. The node is
 * remembered with the set. */
Test(publish, coming_online_keeps_the_open_nodes_options)
{
    fixture f;
    setup(&f, 1);
    esession_publish_options o = ESESSION_PUBLISH_OPTIONS_INIT;
    o.open_node = 1;
    esession_publication open_set, subs_set;
    cr_assert_eq(esession_publish(f.ctx, f.ks, &o, &open_set), ESESSION_OK);
    cr_assert_not_null(strstr(open_set.publish_iq.data, "xep-0116.html#ns"));
    cr_assert_eq(esession_publish(f.ctx, f.ks, NULL, &subs_set), ESESSION_OK);
    esession_buf iq = {0};
    char id[ESESSION_IQ_ID_MAX];
    cr_assert_eq(esession_online(f.ctx, f.ks, &iq, id), ESESSION_OK);
    cr_assert_not_null(strstr(iq.data, "xep-0187.html#ns"));
    cr_assert_eq(esession_offline_queue_done(f.ctx, f.ks), ESESSION_OK);

    /* Reopened: the node came back from the record. */
    esession_keystore_free(f.ks);
    f.ks = kt_open(f.ctx, f.path);
    const es_optset *a = es_ks_optset_find(f.ks, open_set.nonce, open_set.nonce_len);
    const es_optset *b = es_ks_optset_find(f.ks, subs_set.nonce, subs_set.nonce_len);
    cr_assert(a != NULL && b != NULL);
    cr_assert_eq(a->open_node, 1);
    cr_assert_eq(a->secrets_destroyed, 0);
    cr_assert_eq(b->open_node, 0);
    cr_assert_eq(b->secrets_destroyed, 1);
    size_t n = esession_optset_count(f.ks), open_seen = 0;
    for (size_t i = 0; i < n; i++) {
        esession_optset_info info;
        cr_assert_eq(esession_optset_at(f.ks, i, &info), ESESSION_OK);
        open_seen += info.open_node;
        cr_assert_eq(info.withdrawn, 0);
        cr_assert_eq(info.secrets_destroyed, !info.open_node);
    }
    cr_assert_eq(open_seen, 1);
    esession_buf_free(&iq);
    esession_publication_free(&open_set);
    esession_publication_free(&subs_set);
    teardown(&f);
}

Test(publish, expired_sets_are_purged_with_an_event)
{
    fixture f;
    setup(&f, 1);
    esession_publish_options o = ESESSION_PUBLISH_OPTIONS_INIT;
    o.lifetime = 60;
    esession_publication p;
    cr_assert_eq(esession_publish(f.ctx, f.ks, &o, &p), ESESSION_OK);
    size_t removed = 99;
    events_expired = 0;
    clock_now += 60; /* now == expires: still valid */
    cr_assert_eq(esession_purge_expired(f.ctx, f.ks, &removed), ESESSION_OK);
    cr_assert_eq(removed, 0);
    cr_assert_eq(events_expired, 0);
    clock_now += 1;
    cr_assert_eq(esession_purge_expired(f.ctx, f.ks, &removed), ESESSION_OK);
    cr_assert_eq(removed, 1);
    cr_assert_eq(events_expired, 1);
    cr_assert_null(es_ks_optset_find(f.ks, p.nonce, p.nonce_len));
    esession_publication_free(&p);
    teardown(&f);
}

Test(publish, option_sets_are_listed_with_their_state)
{
    fixture f;
    setup(&f, 1);
    cr_assert_eq(esession_optset_count(f.ks), 0);
    esession_optset_info info;
    cr_assert_eq(esession_optset_at(f.ks, 0, &info), ESESSION_ERR_INVALID_ARGUMENT);
    esession_publication p;
    cr_assert_eq(esession_publish(f.ctx, f.ks, NULL, &p), ESESSION_OK);
    cr_assert_eq(esession_optset_count(f.ks), 1);
    cr_assert_eq(esession_optset_at(f.ks, 0, &info), ESESSION_OK);
    cr_assert_eq(info.nonce_len, p.nonce_len);
    cr_assert_eq(memcmp(info.nonce, p.nonce, p.nonce_len), 0);
    cr_assert_eq(info.created, clock_now);
    cr_assert_eq(info.expires, p.expires);
    cr_assert_eq(info.n_groups, 3);
    cr_assert_eq(info.groups[2], 16);
    cr_assert_eq(info.withdrawn, 0);
    cr_assert_eq(info.secrets_destroyed, 0);
    cr_assert_eq(info.sessions, 0);

    esession_buf iq = {0};
    char id[ESESSION_IQ_ID_MAX];
    cr_assert_eq(esession_online(f.ctx, f.ks, &iq, id), ESESSION_OK);
    cr_assert_eq(esession_optset_at(f.ks, 0, &info), ESESSION_OK);
    cr_assert_eq(info.withdrawn, 1);
    cr_assert_eq(esession_offline_queue_done(f.ctx, f.ks), ESESSION_OK);
    cr_assert_eq(esession_optset_at(f.ks, 0, &info), ESESSION_OK);
    cr_assert_eq(info.withdrawn, 0);
    cr_assert_eq(info.secrets_destroyed, 1);
    esession_buf_free(&iq);
    esession_publication_free(&p);
    teardown(&f);
}
