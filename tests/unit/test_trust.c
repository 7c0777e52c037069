/* SPDX-License-Identifier: ISC */
/* The trust store: associations of keys with bare JIDs, the two alerts,
 * verification flags, removal, checks, persistence and rollback. */
#include "ks_test.h"
#include "fixture.h"

#include "../../store/trust_keys.h"

static esession_ctx *ctx;
static char dir[64];
static char path[128];
static esession_keystore *ks;
static esession_key *alice, *bob, *carol_priv;
static uint8_t fp_alice[32], fp_bob[32], fp_carol[32];

static void setup(void)
{
    ctx = fx_ctx_new();
    ks = kt_fresh_store(ctx, dir, sizeof dir, path, sizeof path, "trust.ks");
    alice = kt_key(ctx, "rsa2048_pub.pem");
    bob = kt_key(ctx, "dsa2048_pub.pem");
    carol_priv = kt_key(ctx, "vec_rsa_alice.pem");
    kt_fingerprint(ctx, alice, fp_alice);
    kt_fingerprint(ctx, bob, fp_bob);
    kt_fingerprint(ctx, carol_priv, fp_carol);
}

static void teardown(void)
{
    esession_keystore_free(ks);
    esession_key_free(alice);
    esession_key_free(bob);
    esession_key_free(carol_priv);
    kt_rmdir(dir);
    esession_ctx_free(ctx);
}

TestSuite(trust, .init = setup, .fini = teardown);

/* A fresh keystore for the next part of a grouped test. */
static void reset(void)
{
    kt_drop_store(ks, dir);
    ks = kt_fresh_store(ctx, dir, sizeof dir, path, sizeof path, "trust.ks");
}

static unsigned add(const char *jid, const esession_key *k, const char *pet)
{
    unsigned alerts = 0xdead;
    esession_status rc = esession_trust_add(ks, jid, k, pet, &alerts);
    cr_assert_eq(rc, ESESSION_OK, "trust_add %s: %s (%s)", jid, esession_status_name(rc),
                 esession_ctx_error_detail(ctx));
    cr_assert_neq(alerts, 0xdead);
    return alerts;
}

static void reopen(void)
{
    esession_keystore_free(ks);
    ks = kt_open(ctx, path);
}

static void entry(size_t i, esession_trust_entry *e)
{
    cr_assert_eq(esession_trust_at(ks, i, e), ESESSION_OK);
}

static void t_add_and_read_back(void)
{
    cr_assert_eq(add("alice@example.org", alice, "Alice"), 0);
    cr_assert_eq(add("bob@example.net", bob, NULL), 0);
    cr_assert_eq(esession_trust_count(ks), 2);
    reopen();
    cr_assert_eq(esession_trust_count(ks), 2);
    esession_trust_entry e;
    entry(0, &e);
    cr_assert_str_eq(e.jid, "alice@example.org");
    cr_assert_str_eq(e.petname, "Alice");
    cr_assert(memcmp(e.fingerprint, fp_alice, 32) == 0);
    cr_assert_eq(e.verified, 0, "new associations are unverified");
    entry(1, &e);
    cr_assert_str_eq(e.jid, "bob@example.net");
    cr_assert_str_eq(e.petname, "");
    cr_assert(memcmp(e.fingerprint, fp_bob, 32) == 0);

    e.jid = "untouched";
    cr_assert_eq(esession_trust_at(ks, 2, &e), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_str_eq(e.jid, "untouched");
    cr_assert_eq(esession_trust_at(ks, 0, NULL), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_trust_at(NULL, 0, &e), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_trust_count(NULL), 0);
    /* NULL alerts is allowed. */
    cr_assert_eq(esession_trust_add(ks, "dave@example.com", carol_priv, "", NULL), ESESSION_OK);
}

static void t_duplicate_association_is_state(void)
{
    add("alice@example.org", alice, "Alice");
    unsigned alerts = 77;
    cr_assert_eq(esession_trust_add(ks, "alice@example.org", alice, "again", &alerts),
                 ESESSION_ERR_STATE);
    cr_assert_eq(alerts, 77, "alerts untouched on failure");
    cr_assert_eq(esession_trust_count(ks), 1);
}

static void t_alerts(void)
{
    cr_assert_eq(add("alice@example.org", alice, ""), 0);
    /* The JID already has a different key. */
    cr_assert_eq(add("alice@example.org", bob, ""), ESESSION_ALERT_JID_NEW_KEY);
    /* The key is already trusted for another JID. */
    cr_assert_eq(add("mallory@example.org", alice, ""), ESESSION_ALERT_KEY_OTHER_JID);
    /* Both at once. */
    cr_assert_eq(add("mallory@example.org", bob, ""),
                 ESESSION_ALERT_JID_NEW_KEY | ESESSION_ALERT_KEY_OTHER_JID);
    /* A fresh JID with a fresh key raises nothing; the private key of a
     * pair counts as its public key. */
    cr_assert_eq(add("carol@example.com", carol_priv, ""), 0);
    cr_assert_eq(esession_trust_count(ks), 5);
    /* JIDs compare exactly (callers pass them normalized). */
    cr_assert_eq(add("Carol@example.com", carol_priv, ""), ESESSION_ALERT_KEY_OTHER_JID);
}

static void t_check(void)
{
    add("alice@example.org", alice, "");
    add("carol@example.com", carol_priv, "");
    cr_assert_eq(esession_trust_check(ks, "alice@example.org", alice), ESESSION_OK);
    cr_assert_eq(esession_trust_check(ks, "alice@example.org", bob), ESESSION_ERR_UNTRUSTED_KEY);
    cr_assert_str_neq(esession_ctx_error_detail(ctx), "");
    cr_assert_eq(esession_trust_check(ks, "bob@example.net", alice), ESESSION_ERR_UNTRUSTED_KEY);
    cr_assert_eq(esession_trust_check(ks, "alice@example.or", alice), ESESSION_ERR_UNTRUSTED_KEY);
    cr_assert_eq(esession_trust_check(ks, "alice@example.orgg", alice),
                 ESESSION_ERR_UNTRUSTED_KEY);
    /* The public half of carol's key matches what was trusted. */
    esession_buf pem = {NULL, 0, 0};
    esession_key *carol_pub = NULL;
    cr_assert_eq(esession_key_to_pem(ctx, carol_priv, 0, &pem), ESESSION_OK);
    cr_assert_eq(esession_key_from_pem(ctx, &carol_pub, pem.data, pem.len), ESESSION_OK);
    cr_assert_eq(esession_trust_check(ks, "carol@example.com", carol_pub), ESESSION_OK);
    esession_key_free(carol_pub);
    esession_buf_free(&pem);
    cr_assert_eq(esession_trust_check(ks, "alice@example.org/phone", alice),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_trust_check(ks, "alice@example.org", NULL),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_trust_check(NULL, "alice@example.org", alice),
                 ESESSION_ERR_INVALID_ARGUMENT);
    reopen();
    cr_assert_eq(esession_trust_check(ks, "alice@example.org", alice), ESESSION_OK);
    cr_assert_eq(esession_trust_check(ks, "carol@example.com", carol_priv), ESESSION_OK);
}

static void t_bare_jids_and_lengths(void)
{
    char jid[ES_KS_JID_MAX + 2];
    char pet[ES_KS_PETNAME_MAX + 2];
    unsigned alerts = 5;

    cr_assert_eq(esession_trust_add(ks, "alice@example.org/home", alice, "", &alerts),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_str_neq(esession_ctx_error_detail(ctx), "");
    cr_assert_eq(esession_trust_add(ks, "/", alice, "", &alerts), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_trust_add(ks, "", alice, "", &alerts), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_trust_add(ks, NULL, alice, "", &alerts), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_trust_add(ks, "a@b", NULL, "", &alerts), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_trust_add(NULL, "a@b", alice, "", &alerts),
                 ESESSION_ERR_INVALID_ARGUMENT);

    memset(jid, 'j', sizeof jid);
    jid[ES_KS_JID_MAX + 1] = '\0';
    cr_assert_eq(esession_trust_add(ks, jid, alice, "", &alerts), ESESSION_ERR_INVALID_ARGUMENT);
    memset(pet, 'p', sizeof pet);
    pet[ES_KS_PETNAME_MAX + 1] = '\0';
    cr_assert_eq(esession_trust_add(ks, "a@b", alice, pet, &alerts), ESESSION_ERR_LIMIT);
    cr_assert_eq(alerts, 5);
    cr_assert_eq(esession_trust_count(ks), 0);

    /* Exactly at the bounds. */
    jid[ES_KS_JID_MAX] = '\0';
    pet[ES_KS_PETNAME_MAX] = '\0';
    cr_assert_eq(add(jid, alice, pet), 0);
    reopen();
    esession_trust_entry e;
    entry(0, &e);
    cr_assert_eq(strlen(e.jid), ES_KS_JID_MAX);
    cr_assert_eq(strlen(e.petname), ES_KS_PETNAME_MAX);
    cr_assert_eq(esession_trust_check(ks, jid, alice), ESESSION_OK);
}

/* The keystore takes exactly the JIDs the sender can use: the same
 * status and the same detail from both, for each way a JID can be wrong. */
static void t_same_rule_as_the_sender(void)
{
    static const char *const bad[] = {
        "alice @example.org", "alice@example.org\t", "@example.org", "alice@",
        "a@b@example.org", "\xc0\xafx@example.org", "alice\xc2\x85@example.org",
    };
    unsigned alerts = 5;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char detail[256];
        esession_buf iq = {0};
        char id[ESESSION_IQ_ID_MAX];
        cr_assert_eq(esession_fetch_options_iq(ctx, bad[i], &iq, id),
                     ESESSION_ERR_INVALID_ARGUMENT, "jid %zu", i);
        snprintf(detail, sizeof detail, "%s", esession_ctx_error_detail(ctx));
        cr_assert_str_neq(detail, "");
        cr_assert_eq(esession_trust_add(ks, bad[i], alice, "", &alerts),
                     ESESSION_ERR_INVALID_ARGUMENT, "jid %zu", i);
        cr_assert_str_eq(esession_ctx_error_detail(ctx), detail, "jid %zu", i);
        cr_assert_eq(esession_trust_check(ks, bad[i], alice), ESESSION_ERR_INVALID_ARGUMENT);
        cr_assert_str_eq(esession_ctx_error_detail(ctx), detail, "jid %zu", i);
        cr_assert_eq(esession_jid_check(NULL, bad[i], ESESSION_JID_BARE),
                     ESESSION_ERR_INVALID_ARGUMENT);
    }
    cr_assert_eq(alerts, 5);
    cr_assert_eq(esession_trust_count(ks), 0);
}

static void t_set_verified(void)
{
    add("alice@example.org", alice, "");
    add("bob@example.net", bob, "");
    cr_assert_eq(esession_trust_set_verified(ks, "alice@example.org", fp_alice, 7), ESESSION_OK);
    esession_trust_entry e;
    entry(0, &e);
    cr_assert_eq(e.verified, 1);
    entry(1, &e);
    cr_assert_eq(e.verified, 0);
    reopen();
    entry(0, &e);
    cr_assert_eq(e.verified, 1, "verified flag persisted");

    cr_assert_eq(esession_trust_set_verified(ks, "alice@example.org", fp_bob, 1),
                 ESESSION_ERR_UNTRUSTED_KEY);
    cr_assert_eq(esession_trust_set_verified(ks, "bob@example.net", fp_alice, 1),
                 ESESSION_ERR_UNTRUSTED_KEY);
    cr_assert_eq(esession_trust_set_verified(ks, "alice@example.org/x", fp_alice, 1),
                 ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(esession_trust_set_verified(ks, "alice@example.org", NULL, 1),
                 ESESSION_ERR_INVALID_ARGUMENT);

    int calls = 0;
    kt_break_writes(ks, &calls);
    cr_assert_eq(esession_trust_set_verified(ks, "alice@example.org", fp_alice, 0),
                 ESESSION_ERR_IO);
    entry(0, &e);
    cr_assert_eq(e.verified, 1, "rolled back");
    es_ks_set_hooks(ks, NULL);
    cr_assert_eq(esession_trust_set_verified(ks, "alice@example.org", fp_alice, 0), ESESSION_OK);
    reopen();
    entry(0, &e);
    cr_assert_eq(e.verified, 0);
}

static void t_remove(void)
{
    add("alice@example.org", alice, "A");
    add("alice@example.org", bob, "B");
    add("bob@example.net", bob, "C");
    cr_assert_eq(esession_trust_remove(ks, "alice@example.org", fp_carol),
                 ESESSION_ERR_UNTRUSTED_KEY);
    cr_assert_eq(esession_trust_remove(ks, "carol@example.com", fp_bob),
                 ESESSION_ERR_UNTRUSTED_KEY);
    cr_assert_eq(esession_trust_remove(ks, NULL, fp_bob), ESESSION_ERR_INVALID_ARGUMENT);

    int calls = 0;
    kt_break_writes(ks, &calls);
    cr_assert_eq(esession_trust_remove(ks, "alice@example.org", fp_bob), ESESSION_ERR_IO);
    cr_assert_eq(esession_trust_count(ks), 3);
    esession_trust_entry e;
    entry(1, &e);
    cr_assert_str_eq(e.petname, "B", "order kept on rollback");
    es_ks_set_hooks(ks, NULL);

    cr_assert_eq(esession_trust_remove(ks, "alice@example.org", fp_bob), ESESSION_OK);
    cr_assert_eq(esession_trust_count(ks), 2);
    cr_assert_eq(esession_trust_check(ks, "alice@example.org", bob), ESESSION_ERR_UNTRUSTED_KEY);
    cr_assert_eq(esession_trust_check(ks, "bob@example.net", bob), ESESSION_OK);
    reopen();
    cr_assert_eq(esession_trust_count(ks), 2);
    entry(0, &e);
    cr_assert_str_eq(e.petname, "A");
    entry(1, &e);
    cr_assert_str_eq(e.petname, "C");
    /* Removed, so adding it again raises only what is left to raise. */
    cr_assert_eq(add("alice@example.org", bob, ""),
                 ESESSION_ALERT_JID_NEW_KEY | ESESSION_ALERT_KEY_OTHER_JID);
}

static void t_failed_add_changes_nothing(void)
{
    add("alice@example.org", alice, "");
    size_t len;
    uint8_t *before = kt_slurp(path, &len);
    int calls = 0;
    kt_break_writes(ks, &calls);
    unsigned alerts = 42;
    cr_assert_eq(esession_trust_add(ks, "bob@example.net", bob, "", &alerts), ESESSION_ERR_IO);
    cr_assert_eq(alerts, 42);
    cr_assert_eq(calls, 1);
    cr_assert_eq(esession_trust_count(ks), 1);
    kt_expect_file(path, before, len);
    free(before);
}

static void t_count_limit(void)
{
    /* Fill the table through the API, in one batch (one real key). */
    cr_assert_eq(esession_keystore_begin(ks), ESESSION_OK);
    for (unsigned i = 0; i < ES_KS_MAX_TRUST; i++) {
        char jid[32];
        snprintf(jid, sizeof jid, "u%u@example.org", i);
        cr_assert_eq(esession_trust_add(ks, jid, alice, "", NULL), ESESSION_OK);
    }
    cr_assert_eq(esession_keystore_commit(ks), ESESSION_OK);
    unsigned alerts = 3;
    cr_assert_eq(esession_trust_add(ks, "last@example.org", bob, "", &alerts),
                 ESESSION_ERR_LIMIT);
    cr_assert_eq(alerts, 3);
    /* Such a table still writes and reads back. */
    cr_assert_eq(esession_trust_remove(ks, "u0@example.org", fp_alice), ESESSION_OK);
    reopen();
    cr_assert_eq(esession_trust_count(ks), ES_KS_MAX_TRUST - 1);
    cr_assert_eq(add("last@example.org", bob, ""), 0);
    cr_assert_eq(esession_trust_check(ks, "u4095@example.org", alice), ESESSION_OK);
}

/* The keys handed to the sender: decoded once per entry, each call a
 * handle of its own (freeing one leaves the next call's intact), and gone
 * with the entry. */
static void t_trusted_keys_kept_per_entry(void)
{
    add("alice@example.com", alice, "a");
    add("alice@example.com", bob, "b");
    add("carol@example.com", carol_priv, "c");
    for (int round = 0; round < 3; round++) {
        esession_key *keys[4] = {NULL};
        size_t n = 0;
        cr_assert_eq(es_ks_trusted_keys(ks, "alice@example.com", keys, 4, &n), ESESSION_OK);
        cr_assert_eq(n, 2);
        uint8_t fp[32];
        kt_fingerprint(ctx, keys[0], fp);
        cr_assert_arr_eq(fp, fp_alice, 32);
        kt_fingerprint(ctx, keys[1], fp);
        cr_assert_arr_eq(fp, fp_bob, 32);
        cr_assert_not(esession_key_has_private(keys[0]));
        cr_assert_eq(esession_key_get_type(keys[1]), ESESSION_KEY_DSA);
        esession_key_free(keys[0]);
        esession_key_free(keys[1]);
    }
    esession_key *keys[1] = {NULL};
    size_t n = 0;
    cr_assert_eq(esession_trust_remove(ks, "alice@example.com", fp_alice), ESESSION_OK);
    cr_assert_eq(es_ks_trusted_keys(ks, "alice@example.com", keys, 1, &n), ESESSION_OK);
    cr_assert_eq(n, 1);
    uint8_t fp[32];
    kt_fingerprint(ctx, keys[0], fp);
    cr_assert_arr_eq(fp, fp_bob, 32);
    esession_key_free(keys[0]);

    /* By the exact text of a <KeyValue>, whichever JID. */
    esession_buf kv = {0};
    esession_key *k = NULL;
    cr_assert_eq(esession_key_to_keyvalue(ctx, carol_priv, &kv), ESESSION_OK);
    cr_assert_eq(es_ks_trusted_key_by_text(ks, kv.data, kv.len, &k), ESESSION_OK);
    kt_fingerprint(ctx, k, fp);
    cr_assert_arr_eq(fp, fp_carol, 32);
    cr_assert_not(esession_key_has_private(k));
    esession_key_free(k);
    k = NULL;
    cr_assert_eq(es_ks_trusted_key_by_text(ks, kv.data, kv.len - 1, &k),
                 ESESSION_ERR_UNTRUSTED_KEY);
    cr_assert_null(k);
    esession_buf_free(&kv);
    cr_assert_eq(esession_key_to_keyvalue(ctx, alice, &kv), ESESSION_OK);
    cr_assert_eq(es_ks_trusted_key_by_text(ks, kv.data, kv.len, &k), ESESSION_ERR_UNTRUSTED_KEY);
    esession_buf_free(&kv);
}

/* Grouped: each Criterion test is its own process, which valgrind pays for. */

Test(trust, add_and_alerts)
{
    t_add_and_read_back();
    reset();
    t_duplicate_association_is_state();
    reset();
    t_alerts();
}

Test(trust, check_and_jids)
{
    t_check();
    reset();
    t_bare_jids_and_lengths();
    reset();
    t_same_rule_as_the_sender();
}

Test(trust, verify_and_remove)
{
    t_set_verified();
    reset();
    t_remove();
    reset();
    t_failed_add_changes_nothing();
}

Test(trust, trusted_keys_for_the_sender)
{
    t_trusted_keys_kept_per_entry();
}

Test(trust, count_limit)
{
    t_count_limit();
}
