/* SPDX-License-Identifier: ISC */
/* Online negotiations in one process (PROFILE §12): both variants across
 * groups, ciphers, hashes, key types and public key modes; the same keys
 * and SAS on both sides; stanzas both ways with re-keys (one side, the
 * other, both at once, up to the 16-set limit); termination. */
#include "online_test.h"

#include "../../crypto/mpint.h"

typedef struct combo {
    ot_params p;
    int verified; /* expected peer status on both sides */
} combo;

static const combo combos[] = {
    {{4, "14", "aes128-ctr", "sha256", "rsa2048.pem", "vec_rsa_bob.pem", "key", "key", 0}, 1},
    {{4, "5", "aes256-ctr", "sha512", "dsa2048.pem", "dsa3072.pem", "key", "key", 0}, 1},
    {{4, "1", "aes192-ctr", "whirlpool", "rsa3072.pem", "rsa2048.pem", "key", "key", 0}, 1},
    {{4, "2", "aes128-ctr", "sha512", "rsa2048.pem", "vec_rsa_bob.pem", "hash", "hash", 0}, 1},
    {{4, "15", "aes256-ctr", "sha256", "dsa2048.pem", "vec_dsa_bob.pem", "none", "none", 0}, 0},
    {{4, "14", "aes256-ctr", "sha256", "rsa2048.pem", "vec_rsa_bob.pem", "key", "key", 1}, 0},
    {{4, "16", "aes128-ctr", "whirlpool", "vec_rsa_alice.pem", "rsa2048.pem", "key", "hash", 0}, 1},
    {{3, "14", "aes256-ctr", "sha256", "rsa2048.pem", "vec_rsa_bob.pem", "key", "key", 0}, 1},
    {{3, "5", "aes128-ctr", "whirlpool", "dsa2048.pem", "vec_dsa_bob.pem", "hash", "hash", 0}, 1},
    {{3, "2", "aes192-ctr", "sha512", "dsa3072.pem", "dsa2048.pem", "hash", "key", 0}, 1},
};

static void one_combo(const combo *c)
{
    ot_pair p;
    ot_init(&p, &c->p);
    ot_negotiate(&p, c->p.variant == 3 ? "<body>in msg3</body>" : NULL,
                 c->p.variant == 4 ? "<body>in msg4</body>" : NULL);
    ot_same_keys(&p);
    cr_assert_eq(es_ol_peer_verified(p.a.s), c->verified, "Alice's status, group %s",
                 c->p.group);
    cr_assert_eq(es_ol_peer_verified(p.b.s), c->verified, "Bob's status, group %s", c->p.group);
    if (c->p.variant == 4) {
        cr_assert_not_null(es_ol_sas_text(p.a.s));
        cr_assert_str_eq(es_ol_sas_text(p.a.s), es_ol_sas_text(p.b.s));
    } else {
        cr_assert_null(es_ol_sas_text(p.a.s));
    }
    ot_send(p.a.s, p.b.s, "<body>one</body>", 0);
    ot_send(p.b.s, p.a.s, "<body>two</body>", 0);
    ot_send(p.a.s, p.b.s, "<body>alice re-keys</body>", 1);
    ot_send(p.b.s, p.a.s, "<body>bob answers with new</body>", 0);
    ot_send(p.b.s, p.a.s, "<body>bob re-keys</body>", 1);
    ot_send(p.a.s, p.b.s, "<body>alice answers with new</body>", 0);
    /* Both at once. */
    esession_buf x = {0}, y = {0};
    es_ol_result r;
    ot_seal(p.a.s, "<body>crossing a</body>", 1, &x);
    ot_seal(p.b.s, "<body>crossing b</body>", 1, &y);
    ot_feed(p.b.s, x.data, NULL, &r);
    cr_assert_eq(r.kind, ES_OL_R_OK);
    es_ol_result_clear(&r);
    ot_feed(p.a.s, y.data, NULL, &r);
    cr_assert_eq(r.kind, ES_OL_R_OK);
    es_ol_result_clear(&r);
    esession_buf_free(&x);
    esession_buf_free(&y);
    ot_send(p.a.s, p.b.s, "<body>after crossing a</body>", 0);
    ot_send(p.b.s, p.a.s, "<body>after crossing b</body>", 0);
    ot_send(p.a.s, p.b.s, "<body>and again</body>", 0);
    /* Termination and its acknowledgement. */
    esession_buf t = {0};
    cr_assert_eq(es_ol_terminate(p.a.s, NULL, &t), ESESSION_OK);
    cr_assert_eq(es_ol_get_state(p.a.s), ES_OL_TERM_SENT);
    ot_feed(p.b.s, t.data, NULL, &r);
    cr_assert_eq(r.kind, ES_OL_R_TERMINATED);
    cr_assert_str_eq(r.plain.data, es_ol_term_text);
    cr_assert_not_null(r.reply.data);
    cr_assert_eq(es_ol_get_state(p.b.s), ES_OL_ENDED);
    es_ol_result ack;
    ot_feed(p.a.s, r.reply.data, NULL, &ack);
    cr_assert_eq(ack.kind, ES_OL_R_ACKNOWLEDGED);
    cr_assert_str_eq(ack.plain.data, es_ol_ack_text);
    cr_assert_eq(es_ol_get_state(p.a.s), ES_OL_ENDED);
    es_ol_result_clear(&ack);
    es_ol_result_clear(&r);
    esession_buf_free(&t);
    ot_free(&p);
}

Test(online_nego, every_combination)
{
    for (size_t i = 0; i < sizeof combos / sizeof combos[0]; i++)
        one_combo(&combos[i]);
}

Test(online_nego, largest_groups)
{
    static const char *const groups[] = {"17", "18"};
    for (size_t i = 0; i < 2; i++) {
        ot_params o = {4, groups[i], "aes256-ctr", "sha512", "rsa2048.pem", "vec_rsa_bob.pem",
                       "key", "key", 0};
        ot_pair p;
        ot_init(&p, &o);
        ot_negotiate(&p, NULL, NULL);
        ot_same_keys(&p);
        ot_send(p.a.s, p.b.s, "<body>x</body>", 1);
        ot_send(p.b.s, p.a.s, "<body>y</body>", 0);
        ot_free(&p);
    }
}

/* Bob picks the first of Alice's values that he accepts (§12.2). */
Test(online_nego, bob_picks_alices_first_acceptable)
{
    ot_params o = {4, "14", "aes256-ctr", "sha256", "rsa2048.pem", "vec_rsa_bob.pem", "key", "key",
                   0};
    ot_pair p;
    ot_init(&p, &o);
    /* Alice offers 18, then 5; Bob takes neither 18 (not his) ... */
    es_ol_policy_clear(&p.a.pol);
    ot_alice_policy(&p.a.pol, &o, p.a.key);
    es_ol_policy_clear(&p.a.pol);
    es_ol_policy_init(&p.a.pol);
    p.a.pol.variant = 4;
    p.a.pol.rekey_freq = 7;
    ot_common(&p.a.pol, 4);
    ot_add(&p.a.pol, ES_OLF_MODP, "18");
    ot_add(&p.a.pol, ES_OLF_MODP, "5");
    ot_add(&p.a.pol, ES_OLF_CRYPT, "aes192-ctr");
    ot_add(&p.a.pol, ES_OLF_CRYPT, "aes128-ctr");
    ot_add(&p.a.pol, ES_OLF_HASH, "sha512");
    ot_add(&p.a.pol, ES_OLF_HASH, "sha256");
    ot_add(&p.a.pol, ES_OLF_SIGN, ES_SIGN_ALG_RSA);
    ot_add(&p.a.pol, ES_OLF_INIT_PUBKEY, "key");
    ot_add(&p.a.pol, ES_OLF_RESP_PUBKEY, "key");
    es_ol_policy_clear(&p.b.pol);
    ot_bob_policy(&p.b.pol);
    /* ... Bob knows only 5 and 14, aes128, sha256, and wants re-keys spaced by 20. */
    for (size_t i = 0; i < p.b.pol.n[ES_OLF_MODP]; i++)
        free(p.b.pol.v[ES_OLF_MODP][i]);
    p.b.pol.n[ES_OLF_MODP] = 0;
    ot_add(&p.b.pol, ES_OLF_MODP, "14");
    ot_add(&p.b.pol, ES_OLF_MODP, "5");
    for (size_t f = ES_OLF_CRYPT; f <= ES_OLF_HASH; f++) {
        for (size_t i = 0; i < p.b.pol.n[f]; i++)
            free(p.b.pol.v[f][i]);
        p.b.pol.n[f] = 0;
    }
    ot_add(&p.b.pol, ES_OLF_CRYPT, "aes128-ctr");
    ot_add(&p.b.pol, ES_OLF_HASH, "sha256");
    p.b.pol.rekey_freq = 20;
    ot_negotiate(&p, NULL, NULL);
    const es_ol_trace *t = es_ol_get_trace(p.b.s);
    cr_assert_str_eq(t->choice.value[ES_OLF_MODP], "5");
    cr_assert_str_eq(t->choice.value[ES_OLF_CRYPT], "aes128-ctr");
    cr_assert_str_eq(t->choice.value[ES_OLF_HASH], "sha256");
    cr_assert_eq(t->choice.rekey_freq, 20);
    /* rekey_freq 20: the 19th stanza may not re-key, the 20th may. */
    for (int i = 0; i < 18; i++)
        ot_send(p.a.s, p.b.s, "<body>.</body>", 0);
    es_ol_seal_in in;
    esession_buf out = {0};
    memset(&in, 0, sizeof in);
    in.m = (const uint8_t *)"<body>19</body>";
    in.m_len = strlen("<body>19</body>");
    in.rekey = 1;
    cr_assert_eq(es_ol_seal(p.a.s, &in, "chat", NULL, &out), ESESSION_ERR_STATE);
    cr_assert_null(out.data);
    ot_send(p.a.s, p.b.s, "<body>19</body>", 0); /* nothing moved: the same counter opens */
    ot_send(p.a.s, p.b.s, "<body>20 re-keys</body>", 1);
    ot_send(p.b.s, p.a.s, "<body>new</body>", 0);
    ot_free(&p);
}

/* 16 sets at most (§12.9): a party that re-keyed 15 times without hearing
 * from its peer may not re-key again; the peer's <new> collapses them. */
Test(online_nego, sixteen_sets)
{
    ot_params o = {4, "1", "aes128-ctr", "sha256", "rsa2048.pem", "vec_rsa_bob.pem", "key", "key",
                   0};
    ot_pair p;
    ot_init(&p, &o);
    ot_negotiate(&p, NULL, NULL);
    for (int i = 0; i < 15; i++)
        ot_send(p.a.s, p.b.s, "<body>re-key</body>", 1);
    es_ol_seal_in in;
    esession_buf out = {0};
    memset(&in, 0, sizeof in);
    in.m = (const uint8_t *)"<body>16</body>";
    in.m_len = 15;
    in.rekey = 1;
    cr_assert_eq(es_ol_seal(p.a.s, &in, "chat", NULL, &out), ESESSION_ERR_STATE);
    cr_assert_eq(es_ol_may_rekey(p.a.s), 0);
    /* Bob received 15 keys: his <new>15 names Alice's newest set. */
    esession_buf b = {0};
    ot_seal(p.b.s, "<body>new 15</body>", 0, &b);
    cr_assert_not_null(strstr(b.data, "<new>15</new>"));
    es_ol_result r;
    ot_feed(p.a.s, b.data, NULL, &r);
    cr_assert_eq(r.kind, ES_OL_R_OK);
    es_ol_result_clear(&r);
    esession_buf_free(&b);
    cr_assert_eq(es_ol_may_rekey(p.a.s), 1);
    ot_send(p.a.s, p.b.s, "<body>re-key again</body>", 1);
    ot_send(p.b.s, p.a.s, "<body>fine</body>", 0);
    ot_free(&p);
}

/* A duplicate (same a_mac) changes nothing (§12.10 step 0), even one that
 * carries <new> or <key>. */
Test(online_nego, duplicates)
{
    ot_params o = {3, "1", "aes128-ctr", "sha256", "rsa2048.pem", "vec_rsa_bob.pem", "key", "key",
                   0};
    ot_pair p;
    ot_init(&p, &o);
    ot_negotiate(&p, NULL, NULL);
    esession_buf k = {0}, n = {0};
    es_ol_result r;
    ot_seal(p.a.s, "<body>key</body>", 1, &k);
    ot_feed(p.b.s, k.data, NULL, &r);
    cr_assert_eq(r.kind, ES_OL_R_OK);
    es_ol_result_clear(&r);
    ot_feed(p.b.s, k.data, NULL, &r);
    cr_assert_eq(r.kind, ES_OL_R_DUPLICATE);
    cr_assert_null(r.reply.data);
    es_ol_result_clear(&r);
    ot_seal(p.b.s, "<body>new</body>", 0, &n);
    ot_send(p.a.s, p.b.s, "<body>a key again</body>", 1);
    ot_feed(p.a.s, n.data, NULL, &r);
    cr_assert_eq(r.kind, ES_OL_R_OK);
    es_ol_result_clear(&r);
    ot_feed(p.a.s, n.data, NULL, &r);
    cr_assert_eq(r.kind, ES_OL_R_DUPLICATE);
    es_ol_result_clear(&r);
    ot_send(p.b.s, p.a.s, "<body>still in step</body>", 0);
    ot_send(p.a.s, p.b.s, "<body>both ways</body>", 0);
    esession_buf_free(&k);
    esession_buf_free(&n);
    ot_free(&p);
}

/* The peer's stanzas sent before it saw our terminate still open; its
 * terminate crossing ours ends both without acknowledgement. */
Test(online_nego, termination_crossing_and_in_flight)
{
    ot_params o = {4, "2", "aes256-ctr", "sha512", "rsa2048.pem", "vec_rsa_bob.pem", "key", "key",
                   0};
    ot_pair p;
    ot_init(&p, &o);
    ot_negotiate(&p, NULL, NULL);
    esession_buf fly = {0}, ta = {0}, tb = {0};
    es_ol_result r;
    ot_seal(p.b.s, "<body>in flight</body>", 0, &fly);
    cr_assert_eq(es_ol_terminate(p.a.s, NULL, &ta), ESESSION_OK);
    cr_assert_eq(es_ol_terminate(p.b.s, NULL, &tb), ESESSION_OK);
    /* A terminator sends nothing more. */
    es_ol_seal_in in;
    esession_buf no = {0};
    memset(&in, 0, sizeof in);
    cr_assert_eq(es_ol_seal(p.a.s, &in, "chat", NULL, &no), ESESSION_ERR_STATE);
    cr_assert_eq(es_ol_terminate(p.a.s, NULL, &no), ESESSION_ERR_STATE);
    ot_feed(p.a.s, fly.data, NULL, &r);
    cr_assert_eq(r.kind, ES_OL_R_OK);
    es_ol_result_clear(&r);
    ot_feed(p.a.s, tb.data, NULL, &r);
    cr_assert_eq(r.kind, ES_OL_R_TERMINATED_CROSSING);
    cr_assert_null(r.reply.data);
    es_ol_result_clear(&r);
    ot_feed(p.b.s, ta.data, NULL, &r);
    cr_assert_eq(r.kind, ES_OL_R_TERMINATED_CROSSING);
    es_ol_result_clear(&r);
    cr_assert_eq(es_ol_get_state(p.a.s), ES_OL_ENDED);
    cr_assert_eq(es_ol_get_state(p.b.s), ES_OL_ENDED);
    /* After the end, everything on the thread is ignored. */
    ot_feed(p.b.s, ta.data, NULL, &r);
    cr_assert_eq(r.kind, ES_OL_R_IGNORED);
    es_ol_result_clear(&r);
    esession_buf_free(&fly);
    esession_buf_free(&ta);
    esession_buf_free(&tb);
    ot_free(&p);
}

/* 60 s without acknowledgement: the terminator ends anyway (§12.12). */
Test(online_nego, acknowledgement_timeout)
{
    ot_params o = {3, "1", "aes128-ctr", "sha256", "rsa2048.pem", "vec_rsa_bob.pem", "key", "key",
                   0};
    ot_pair p;
    ot_init(&p, &o);
    ot_negotiate(&p, NULL, NULL);
    esession_buf t = {0};
    cr_assert_eq(es_ol_tick(p.a.s, 1), 0); /* nothing to time out while open */
    cr_assert_eq(es_ol_terminate(p.a.s, NULL, &t), ESESSION_OK);
    int64_t now = es_now(p.a.ctx);
    cr_assert_eq(es_ol_tick(p.a.s, now + 59), 0);
    cr_assert_eq(es_ol_get_state(p.a.s), ES_OL_TERM_SENT);
    cr_assert_eq(es_ol_ack_timed_out(p.a.s), 0);
    cr_assert_eq(es_ol_tick(p.a.s, now + 61), 1);
    cr_assert_eq(es_ol_get_state(p.a.s), ES_OL_ENDED);
    cr_assert_eq(es_ol_ack_timed_out(p.a.s), 1);
    esession_buf_free(&t);
    ot_free(&p);
}

/* Single-stanza session (3-message, terminate=1 in msg3). */
Test(online_nego, single_stanza)
{
    ot_params o = {3, "5", "aes128-ctr", "sha256", "rsa2048.pem", "vec_rsa_bob.pem", "key", "key",
                   0};
    ot_pair p;
    es_ol_result r;
    ot_init(&p, &o);
    ot_msg1(&p, NULL);
    cr_assert_eq(ot_respond(&p, NULL, NULL, &p.msg[1]), ESESSION_OK);
    es_ol_set_single_stanza(p.a.s, 1);
    ot_feed(p.a.s, p.msg[1].data, "<body>only</body>", &r);
    cr_assert_eq(r.kind, ES_OL_R_PROGRESS);
    cr_assert_not_null(strstr(r.reply.data, "<field var='terminate'><value>1</value></field>"));
    cr_assert_eq(es_ol_get_state(p.a.s), ES_OL_ENDED);
    es_ol_result r3;
    ot_feed(p.b.s, r.reply.data, NULL, &r3);
    cr_assert_eq(r3.kind, ES_OL_R_OK);
    cr_assert_str_eq(r3.plain.data, "<body>only</body>");
    cr_assert_null(r3.reply.data);
    cr_assert_eq(es_ol_get_state(p.b.s), ES_OL_ENDED);
    es_ol_result_clear(&r3);
    es_ol_result_clear(&r);
    ot_free(&p);
}

/* §12.7 check values. */
Test(online_nego, sas_check_values)
{
    char s[6];
    es_ol_sas_string(0, s);
    cr_assert_str_eq(s, "aaaaa");
    es_ol_sas_string(27, s);
    cr_assert_str_eq(s, "aaaa9");
    es_ol_sas_string(28 * 28 * 28 * 28, s);
    cr_assert_str_eq(s, "caaaa");
    es_ol_sas_string((1u << 24) - 1, s);
    cr_assert_str_eq(s, "9kiui");
    uint8_t ma[32];
    for (size_t i = 0; i < 32; i++)
        ma[i] = (uint8_t)i;
    const char *form_b = "<field var=\"FORM_TYPE\"><value>urn:xmpp:ssn</value></field>";
    uint32_t v = 0;
    cr_assert_eq(es_ol_sas(ES_HASH_SHA256, ma, 32, form_b, strlen(form_b), &v, s), ESESSION_OK);
    cr_assert_eq(v, 0x9160fd);
    cr_assert_eq(v, 9527549);
    cr_assert_str_eq(s, "vuarx");
    cr_assert_eq(es_ol_sas(ES_HASH_SHA512, ma, 32, form_b, strlen(form_b), &v, s), ESESSION_OK);
    cr_assert_eq(v, 0x51091b);
    cr_assert_str_eq(s, "kx77v");
}

/* The retained-secret list changes (§12.6). */
Test(online_nego, retained_list_changes)
{
    es_ol_rs_list l;
    es_ol_rs_list_init(&l);
    uint8_t a[32], b[32], c[32], d[32];
    memset(a, 1, 32);
    memset(b, 2, 32);
    memset(c, 3, 32);
    memset(d, 4, 32);
    cr_assert_eq(es_ol_rs_append(&l, a, 32, 1, 0, "bob@x/phone"), ESESSION_OK);
    cr_assert_eq(es_ol_rs_append(&l, b, 32, 0, 0, "bob@x/laptop"), ESESSION_OK);
    es_ol_rs_op op;
    memset(&op, 0, sizeof op);
    /* Bob's store: c replaces the SRS b, which stays after it. */
    op.kind = ES_OL_RS_STORE;
    op.len = 32;
    memcpy(op.rs, c, 32);
    op.has_srs = 1;
    memcpy(op.srs, b, 32);
    op.keep_candidate = 1;
    snprintf(op.client, sizeof op.client, "bob@x/laptop");
    cr_assert_eq(es_ol_rs_apply(&l, &op), ESESSION_OK);
    cr_assert_eq(l.n, 3);
    cr_assert_arr_eq(l.v[0].rs, a, 32);
    cr_assert_arr_eq(l.v[1].rs, c, 32);
    cr_assert_arr_eq(l.v[2].rs, b, 32);
    /* Confirmed: one RS per client. */
    op.kind = ES_OL_RS_CONFIRM;
    cr_assert_eq(es_ol_rs_apply(&l, &op), ESESSION_OK);
    cr_assert_eq(l.n, 2);
    cr_assert_arr_eq(l.v[1].rs, c, 32);
    /* Alice's store without SRS replaces the client's RS in place. */
    memset(&op, 0, sizeof op);
    op.kind = ES_OL_RS_STORE;
    op.len = 32;
    memcpy(op.rs, d, 32);
    snprintf(op.client, sizeof op.client, "bob@x/phone");
    cr_assert_eq(es_ol_rs_apply(&l, &op), ESESSION_OK);
    cr_assert_eq(l.n, 2);
    cr_assert_arr_eq(l.v[0].rs, d, 32);
    cr_assert_eq(l.v[0].verified, 0); /* the flag follows the SRS only */
    /* A new client is appended; the SAS flag is set on one RS. */
    snprintf(op.client, sizeof op.client, "bob@x/tablet");
    memcpy(op.rs, a, 32);
    cr_assert_eq(es_ol_rs_apply(&l, &op), ESESSION_OK);
    cr_assert_eq(l.n, 3);
    cr_assert_str_eq(l.v[2].client, "bob@x/tablet");
    op.kind = ES_OL_RS_VERIFIED;
    op.verified = 1;
    cr_assert_eq(es_ol_rs_apply(&l, &op), ESESSION_OK);
    cr_assert_eq(l.v[2].verified, 1);
    /* Bad input changes nothing. */
    op.len = 0;
    cr_assert_eq(es_ol_rs_apply(&l, &op), ESESSION_ERR_INVALID_ARGUMENT);
    cr_assert_eq(l.n, 3);
    es_ol_rs_list_clear(&l);
}

/* Retained secrets carried from one session to the next: the SRS is found
 * on both sides and K differs from K0's hash without it. */
Test(online_nego, retained_secret_next_session)
{
    ot_params o = {4, "1", "aes128-ctr", "sha256", "rsa2048.pem", "vec_rsa_bob.pem", "key", "key",
                   0};
    ot_pair p;
    ot_init(&p, &o);
    ot_negotiate(&p, NULL, NULL);
    ot_send(p.a.s, p.b.s, "<body>confirms</body>", 0);
    es_ol_rs_list ra, rb;
    cr_assert_eq(es_ol_rs_list_copy(&ra, es_ol_rs_kept(p.a.s)), ESESSION_OK);
    cr_assert_eq(es_ol_rs_list_copy(&rb, es_ol_rs_kept(p.b.s)), ESESSION_OK);
    cr_assert_eq(ra.n, 1);
    cr_assert_eq(rb.n, 1);
    cr_assert_arr_eq(ra.v[0].rs, rb.v[0].rs, 32);
    cr_assert_str_eq(ra.v[0].client, OT_BOB);
    cr_assert_str_eq(rb.v[0].client, OT_ALICE);
    ot_free(&p);

    ot_init(&p, &o);
    es_ol_rs_list_clear(&p.a.rs);
    es_ol_rs_list_clear(&p.b.rs);
    p.a.rs = ra;
    p.b.rs = rb;
    ot_negotiate(&p, NULL, NULL);
    ot_same_keys(&p);
    const es_ol_trace *ta = es_ol_get_trace(p.a.s), *tb = es_ol_get_trace(p.b.s);
    cr_assert(ta->has_srs && tb->has_srs);
    cr_assert_arr_eq(ta->srs, tb->srs, 32);
    uint8_t k[32];
    cr_assert_eq(es_ol_k_final(ES_HASH_SHA256, ta->k0, ta->srs, 32, k), ESESSION_OK);
    cr_assert_arr_eq(k, ta->k, 32);
    cr_assert_eq(es_ol_k_final(ES_HASH_SHA256, ta->k0, NULL, 0, k), ESESSION_OK);
    cr_assert(memcmp(k, ta->k, 32) != 0);
    /* Bob keeps the old RS as a second candidate until Alice's first stanza. */
    cr_assert_eq(es_ol_rs_kept(p.b.s)->n, 2);
    ot_send(p.a.s, p.b.s, "<body>first</body>", 0);
    cr_assert_eq(es_ol_rs_kept(p.b.s)->n, 1);
    cr_assert_eq(es_ol_rs_kept(p.a.s)->n, 1);
    ot_free(&p);
}

/* An unverified session (untrusted key) becomes verified by the SAS, and
 * its RS then carries the flag, so the next session is verified by the
 * chain of retained secrets alone. */
Test(online_nego, sas_then_verified_chain)
{
    ot_params o = {4, "1", "aes128-ctr", "sha256", "rsa2048.pem", "vec_rsa_bob.pem", "none",
                   "none", 1};
    ot_pair p;
    ot_init(&p, &o);
    ot_negotiate(&p, NULL, NULL);
    cr_assert_eq(es_ol_peer_verified(p.a.s), 0);
    cr_assert_eq(es_ol_peer_verified(p.b.s), 0);
    cr_assert_eq(es_ol_confirm_sas(p.a.s), ESESSION_OK);
    cr_assert_eq(es_ol_confirm_sas(p.b.s), ESESSION_OK);
    cr_assert_eq(es_ol_peer_verified(p.a.s), 1);
    ot_send(p.a.s, p.b.s, "<body>confirms</body>", 0);
    es_ol_rs_list ra, rb;
    cr_assert_eq(es_ol_rs_list_copy(&ra, es_ol_rs_kept(p.a.s)), ESESSION_OK);
    cr_assert_eq(es_ol_rs_list_copy(&rb, es_ol_rs_kept(p.b.s)), ESESSION_OK);
    cr_assert_eq(ra.v[0].verified, 1);
    cr_assert_eq(rb.v[0].verified, 1);
    ot_free(&p);
    ot_init(&p, &o);
    p.a.rs = ra;
    p.b.rs = rb;
    ot_negotiate(&p, NULL, NULL);
    cr_assert_eq(es_ol_peer_verified(p.a.s), 1);
    cr_assert_eq(es_ol_peer_verified(p.b.s), 1);
    ot_free(&p);
}
