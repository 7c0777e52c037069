/* SPDX-License-Identifier: ISC */
/* Helpers of the online engine tests: two parties in one process, their
 * policies, a negotiation run step by step, and stanzas both ways.
 * Header-only, like ks_test.h. */
#ifndef ESESSION_TEST_ONLINE_H
#define ESESSION_TEST_ONLINE_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../online/online.h"
#include "../common/vecfile.h"

#define OT_ALICE "alice@example.org/pda"
#define OT_BOB "bob@example.com/laptop"
#define OT_ALICE_BARE "alice@example.org"
#define OT_BOB_BARE "bob@example.com"

typedef struct ot_party {
    esession_ctx *ctx;
    esession_key *key;
    es_ol_policy pol;
    es_ol_rs_list rs;
    es_ol *s;
    int trusts_peer;
    esession_key *trusted_instead; /* trust this key instead of the peer's */
} ot_party;

typedef struct ot_pair {
    ot_party a, b;
    int variant;
    esession_buf msg[4];   /* the negotiation as it went */
} ot_pair;

/* What a pair negotiates. */
typedef struct ot_params {
    int variant;
    const char *group;     /* Alice's only group */
    const char *cipher;
    const char *hash;
    const char *alice_key; /* tests/data files */
    const char *bob_key;
    const char *init_pk;   /* Alice's only offer */
    const char *resp_pk;
    int untrusted;         /* neither trusts the other's key */
} ot_params;

static inline esession_key *ot_key(esession_ctx *ctx, const char *file)
{
    char path[256];
    snprintf(path, sizeof path, "tests/data/%s", file);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "open %s", path);
    char pem[16384];
    size_t n = fread(pem, 1, sizeof pem, f);
    fclose(f);
    esession_key *k = NULL;
    cr_assert_eq(esession_key_from_pem(ctx, &k, pem, n), ESESSION_OK, "load %s", path);
    return k;
}

static inline void ot_add(es_ol_policy *p, es_ol_field f, const char *v)
{
    cr_assert_eq(es_ol_policy_add(p, f, v), ESESSION_OK);
}

/* The fields every party offers or accepts the same way. */
static inline void ot_common(es_ol_policy *p, int variant)
{
    ot_add(p, ES_OLF_OTR, "false");
    ot_add(p, ES_OLF_OTR, "true");
    ot_add(p, ES_OLF_DISCLOSURE, "never");
    ot_add(p, ES_OLF_SECURITY, "e2e");
    ot_add(p, ES_OLF_COMPRESS, "none");
    ot_add(p, ES_OLF_STANZAS, "message");
    ot_add(p, ES_OLF_VER, "1.0");
    if (variant == 4)
        ot_add(p, ES_OLF_SAS, "sas28x5");
}

static inline const char *ot_sign_alg(const esession_key *k)
{
    return es_key_sign_alg(esession_key_get_type(k));
}

/* Bob accepts everything the library knows. */
static inline void ot_bob_policy(es_ol_policy *p)
{
    static const char *const groups[] = {"1", "2", "5", "14", "15", "16", "17", "18"};
    static const char *const ciphers[] = {"aes128-ctr", "aes192-ctr", "aes256-ctr"};
    static const char *const hashes[] = {"sha256", "sha512", "whirlpool"};
    static const char *const pks[] = {"key", "hash", "none"};
    es_ol_policy_init(p);
    ot_common(p, 4);
    for (size_t i = 0; i < 8; i++)
        ot_add(p, ES_OLF_MODP, groups[i]);
    for (size_t i = 0; i < 3; i++) {
        ot_add(p, ES_OLF_CRYPT, ciphers[i]);
        ot_add(p, ES_OLF_HASH, hashes[i]);
        ot_add(p, ES_OLF_INIT_PUBKEY, pks[i]);
        ot_add(p, ES_OLF_RESP_PUBKEY, pks[i]);
    }
    ot_add(p, ES_OLF_SIGN, ES_SIGN_ALG_RSA);
    ot_add(p, ES_OLF_SIGN, ES_SIGN_ALG_DSA);
    p->allow3 = 1;
    p->rekey_freq = 1;
}

static inline void ot_alice_policy(es_ol_policy *p, const ot_params *o, const esession_key *k)
{
    es_ol_policy_init(p);
    p->variant = o->variant;
    ot_common(p, o->variant);
    ot_add(p, ES_OLF_MODP, o->group);
    ot_add(p, ES_OLF_CRYPT, o->cipher);
    ot_add(p, ES_OLF_HASH, o->hash);
    ot_add(p, ES_OLF_SIGN, ot_sign_alg(k));
    ot_add(p, ES_OLF_INIT_PUBKEY, o->init_pk != NULL ? o->init_pk : "key");
    ot_add(p, ES_OLF_RESP_PUBKEY, o->resp_pk != NULL ? o->resp_pk : "key");
    p->rekey_freq = 1;
}

static inline void ot_party_init(ot_party *p, const char *keyfile)
{
    memset(p, 0, sizeof *p);
    cr_assert_eq(esession_ctx_new(&p->ctx, NULL, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_OK);
    p->key = ot_key(p->ctx, keyfile);
    es_ol_rs_list_init(&p->rs);
}

static inline void ot_init(ot_pair *p, const ot_params *o)
{
    memset(p, 0, sizeof *p);
    p->variant = o->variant;
    ot_party_init(&p->a, o->alice_key);
    ot_party_init(&p->b, o->bob_key);
    ot_alice_policy(&p->a.pol, o, p->a.key);
    ot_bob_policy(&p->b.pol);
    p->a.trusts_peer = p->b.trusts_peer = !o->untrusted;
}

static inline void ot_env(const ot_party *me, const ot_party *peer, const char *my_jid,
                          const char *peer_jid, const esession_key **mine,
                          const esession_key **trusted, es_ol_env *env)
{
    memset(env, 0, sizeof *env);
    mine[0] = me->key;
    trusted[0] = me->trusted_instead != NULL ? me->trusted_instead : peer->key;
    env->my_jid = my_jid;
    env->peer_jid = peer_jid;
    env->my_keys = mine;
    env->n_my_keys = 1;
    env->trusted = trusted;
    env->n_trusted = me->trusts_peer ? 1 : 0;
    env->rs = &me->rs;
}

static inline void ot_free(ot_pair *p)
{
    for (size_t i = 0; i < 4; i++)
        esession_buf_free(&p->msg[i]);
    ot_party *v[2] = {&p->a, &p->b};
    for (size_t i = 0; i < 2; i++) {
        es_ol_free(v[i]->s);
        es_ol_policy_clear(&v[i]->pol);
        es_ol_rs_list_clear(&v[i]->rs);
        esession_key_free(v[i]->key);
        esession_key_free(v[i]->trusted_instead);
        esession_ctx_free(v[i]->ctx);
    }
}

/* Alice's msg1. */
static inline void ot_msg1(ot_pair *p, const es_ol_fixed *fx)
{
    const esession_key *mine[1], *trusted[1];
    es_ol_env env;
    ot_env(&p->a, &p->b, OT_ALICE, OT_BOB, mine, trusted, &env);
    esession_status rc = es_ol_initiate(p->a.ctx, &p->a.pol, &env, fx, 1, &p->a.s, &p->msg[0]);
    cr_assert_eq(rc, ESESSION_OK, "initiate: %s (%s)", esession_status_name(rc),
                 esession_ctx_error_detail(p->a.ctx));
}

/* Bob answers msg (the real msg1 when NULL); the status. */
static inline esession_status ot_respond(ot_pair *p, const char *msg1, const es_ol_fixed *fx,
                                         esession_buf *reply)
{
    const esession_key *mine[1], *trusted[1];
    es_ol_env env;
    ot_env(&p->b, &p->a, OT_BOB, OT_ALICE, mine, trusted, &env);
    const char *m = msg1 != NULL ? msg1 : p->msg[0].data;
    return es_ol_respond(p->b.ctx, &p->b.pol, &env, fx, m, strlen(m), 1, &p->b.s, reply);
}

/* Feed s a stanza; the engine must take it (not a routing refusal). */
static inline void ot_feed(es_ol *s, const char *text, const char *content, es_ol_result *res)
{
    esession_status rc = es_ol_feed(s, text, strlen(text), content,
                                    content != NULL ? strlen(content) : 0, res);
    cr_assert_eq(rc, ESESSION_OK, "feed: %s", esession_status_name(rc));
}

/* A whole negotiation that must succeed. */
static inline void ot_negotiate(ot_pair *p, const char *c3, const char *c4)
{
    es_ol_result r;
    ot_msg1(p, NULL);
    esession_status rc = ot_respond(p, NULL, NULL, &p->msg[1]);
    cr_assert_eq(rc, ESESSION_OK, "respond: %s (%s)", esession_status_name(rc),
                 esession_ctx_error_detail(p->b.ctx));
    ot_feed(p->a.s, p->msg[1].data, c3, &r);
    cr_assert_eq(r.kind, ES_OL_R_PROGRESS, "msg2: kind %d error %s (%s)", r.kind,
                 esession_status_name(r.error), esession_ctx_error_detail(p->a.ctx));
    p->msg[2] = r.reply;
    r.reply.data = NULL;
    es_ol_result_clear(&r);
    ot_feed(p->b.s, p->msg[2].data, c4, &r);
    cr_assert(r.kind == ES_OL_R_PROGRESS || r.kind == ES_OL_R_OK, "msg3: kind %d error %s (%s)",
              r.kind, esession_status_name(r.error), esession_ctx_error_detail(p->b.ctx));
    cr_assert(r.established);
    if (c3 != NULL) {
        cr_assert_eq(r.kind, ES_OL_R_OK);
        cr_assert_str_eq(r.plain.data, c3);
    }
    if (p->variant == 4) {
        p->msg[3] = r.reply;
        r.reply.data = NULL;
    }
    es_ol_result_clear(&r);
    if (p->variant == 4) {
        ot_feed(p->a.s, p->msg[3].data, NULL, &r);
        cr_assert(r.established, "msg4: kind %d error %s (%s)", r.kind,
                  esession_status_name(r.error), esession_ctx_error_detail(p->a.ctx));
        if (c4 != NULL) {
            cr_assert_eq(r.kind, ES_OL_R_OK);
            cr_assert_str_eq(r.plain.data, c4);
        }
        es_ol_result_clear(&r);
    }
    cr_assert_eq(es_ol_get_state(p->a.s), ES_OL_OPEN);
    cr_assert_eq(es_ol_get_state(p->b.s), ES_OL_OPEN);
}

/* Seal m at from and open it at to: the plaintext must come back. */
static inline void ot_send(es_ol *from, es_ol *to, const char *m, int rekey)
{
    es_ol_seal_in in;
    esession_buf out = {0};
    es_ol_result r;
    memset(&in, 0, sizeof in);
    in.m = (const uint8_t *)m;
    in.m_len = strlen(m);
    in.rekey = rekey;
    cr_assert_eq(es_ol_seal(from, &in, "chat", NULL, &out), ESESSION_OK);
    ot_feed(to, out.data, NULL, &r);
    cr_assert_eq(r.kind, ES_OL_R_OK, "open: kind %d error %s", r.kind,
                 esession_status_name(r.error));
    cr_assert_eq(r.plain.len, strlen(m));
    cr_assert_arr_eq(r.plain.data, m, r.plain.len);
    es_ol_result_clear(&r);
    esession_buf_free(&out);
}

/* Seal m at from without delivering it. */
static inline void ot_seal(es_ol *from, const char *m, int rekey, esession_buf *out)
{
    es_ol_seal_in in;
    memset(&in, 0, sizeof in);
    in.m = (const uint8_t *)m;
    in.m_len = strlen(m);
    in.rekey = rekey;
    cr_assert_eq(es_ol_seal(from, &in, "chat", NULL, out), ESESSION_OK);
}

/* Both sides derived the same keys (the traces). */
static inline void ot_same_keys(const ot_pair *p)
{
    const es_ol_trace *ta = es_ol_get_trace(p->a.s), *tb = es_ol_get_trace(p->b.s);
    cr_assert(ta->has_k && tb->has_k);
    cr_assert_eq(ta->k_len, tb->k_len);
    cr_assert_arr_eq(ta->k, tb->k, ta->k_len);
    cr_assert_arr_eq(ta->keys.a.kc, tb->keys.a.kc, ta->keys.a.kc_len);
    cr_assert_arr_eq(ta->keys.b.km, tb->keys.b.km, ta->keys.b.km_len);
}

#endif
