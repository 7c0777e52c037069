/* SPDX-License-Identifier: ISC */
/* Online vectors: a party's keys, policy, retained secrets and fixed
 * inputs, read from the group and the test. */
#include "online_vec.h"

#include <stdlib.h>
#include <string.h>

#include "json_util.h"
#include "rfc6979.h"

static void ohv_bare_of(const char *jid, char *out, size_t cap)
{
    size_t n = strcspn(jid, "/");
    if (n >= cap)
        n = cap - 1;
    memcpy(out, jid, n);
    out[n] = '\0';
}

static const char *ohv_load_keys(ohv_party *p, esession_ctx *ctx, json_t *party)
{
    json_t *keys = ju_array(party, "signKeys");
    if (keys == NULL || json_array_size(keys) > OHV_MAX_KEYS)
        return "signKeys missing or too many";
    for (size_t i = 0; i < json_array_size(keys); i++) {
        const char *pem = ju_string(json_array_get(keys, i), "privatePem");
        if (pem == NULL ||
            esession_key_from_pem(ctx, &p->keys[p->n_keys], pem, strlen(pem)) != ESESSION_OK)
            return "a signing key does not load";
        p->n_keys++;
    }
    return NULL;
}

/* The lists of a party's options or supports. */
static const char *ohv_load_policy(ohv_party *p, json_t *lists, int variant, int alice)
{
    es_ol_policy_init(&p->policy);
    p->policy.variant = variant;
    for (size_t f = 0; f < ES_OLF_COUNT; f++) {
        json_t *a = ju_array(lists, es_ol_field_names[f]);
        if (a == NULL) {
            if (f == ES_OLF_SAS && (variant == 3 || !alice))
                continue;
            return "a list field is missing";
        }
        for (size_t i = 0; i < json_array_size(a); i++) {
            const char *v = json_string_value(json_array_get(a, i));
            if (v == NULL || es_ol_policy_add(&p->policy, (es_ol_field)f, v) != ESESSION_OK)
                return "a list value does not load";
        }
    }
    /* A 3-message request has no sas_algs even if the file lists them. */
    if (alice && variant == 3) {
        for (size_t i = 0; i < p->policy.n[ES_OLF_SAS]; i++)
            free(p->policy.v[ES_OLF_SAS][i]);
        p->policy.n[ES_OLF_SAS] = 0;
    }
    const char *freq = ju_string(lists, "rekey_freq");
    if (freq == NULL)
        return "rekey_freq missing";
    p->policy.rekey_freq = (uint32_t)strtoul(freq, NULL, 10);
    long long count = 1;
    if (ju_integer(lists, "rshashesRandomCount", &count) == 0 && count >= 1)
        p->policy.rshashes_random = (unsigned)count;
    return NULL;
}

static const char *ohv_load_rs(ohv_party *p, json_t *test, const char *peer_bare)
{
    json_t *ret = ju_object(test, "retained");
    json_t *mine = ret != NULL ? ju_object(ret, p->name) : NULL;
    json_t *list = mine != NULL ? ju_array(mine, peer_bare) : NULL;
    es_ol_rs_list_init(&p->rs);
    for (size_t i = 0; list != NULL && i < json_array_size(list); i++) {
        json_t *e = json_array_get(list, i);
        size_t len = 0;
        uint8_t *rs = ju_hex(e, "rs", &len);
        const char *client = ju_string(e, "client");
        int ok = rs != NULL && client != NULL &&
                 es_ol_rs_append(&p->rs, rs, len, json_is_true(json_object_get(e, "verified")), 0,
                                 client) == ESESSION_OK;
        free(rs);
        if (!ok)
            return "a retained secret does not load";
    }
    return NULL;
}

static const char *ohv_load_fixed(ohv_party *p, json_t *in, int alice)
{
    es_ol_fixed *f = &p->fixed;
    memset(f, 0, sizeof *f);
    if (in == NULL)
        return "inputs missing";
    json_t *z = ju_array(in, "rekeyZ");
    for (size_t i = 0; z != NULL && i < json_array_size(z) && i < OHV_MAX_Z; i++) {
        const char *hex = json_string_value(json_array_get(z, i));
        json_t *wrap = json_pack("{ss}", "v", hex != NULL ? hex : "");
        p->z[i] = wrap != NULL ? ju_hex(wrap, "v", &p->z_len[i]) : NULL;
        json_decref(wrap);
        if (p->z[i] == NULL)
            return "bad rekeyZ";
        p->n_z = i + 1;
    }
    f->z = (const uint8_t *const *)p->z;
    f->z_len = p->z_len;
    f->n_z = p->n_z;
    if (alice) {
        const char *thread = ju_string(in, "thread");
        json_t *xs = ju_object(in, "x");
        p->n_a = ju_hex(in, "N_A", &p->n_a_len);
        if (thread == NULL || xs == NULL || p->n_a == NULL ||
            (p->thread = strdup(thread)) == NULL)
            return "alice inputs incomplete";
        f->thread = p->thread;
        f->n_a = p->n_a;
        f->n_a_len = p->n_a_len;
        for (size_t i = 0; i < p->policy.n[ES_OLF_MODP]; i++) {
            p->x[i] = ju_hex(xs, p->policy.v[ES_OLF_MODP][i], &p->x_len[i]);
            if (p->x[i] == NULL)
                return "alice x missing for a group";
            f->x[i] = p->x[i];
            f->x_len[i] = p->x_len[i];
        }
        json_t *rr = ju_array(in, "rshashesRandom");
        for (size_t i = 0; rr != NULL && i < json_array_size(rr) && i < ES_OL_RSHASHES_MAX; i++) {
            json_t *wrap = json_pack("{ss}", "v", json_string_value(json_array_get(rr, i)));
            p->rsh_random[i] = wrap != NULL ? ju_hex(wrap, "v", &p->rsh_len[i]) : NULL;
            json_decref(wrap);
            if (p->rsh_random[i] == NULL)
                return "bad rshashesRandom";
            p->n_rsh_random = i + 1;
        }
        f->rsh_random = (const uint8_t *const *)p->rsh_random;
        f->rsh_random_len = p->rsh_len;
        f->n_rsh_random = p->n_rsh_random;
        json_t *order = ju_array(in, "rshashesOrder");
        if (order != NULL) {
            for (size_t i = 0; i < json_array_size(order) && i < ES_OL_RSHASHES_MAX; i++)
                p->rsh_order[i] = (size_t)json_integer_value(json_array_get(order, i));
            p->n_order = json_array_size(order);
            p->has_order = 1;
            f->rsh_order = p->rsh_order;
            f->n_rsh_order = p->n_order;
        }
        return NULL;
    }
    /* Bob's inputs are absent when he never answers msg1. */
    p->n_b = ju_hex(in, "N_B", &p->n_b_len);
    p->c_a = ju_hex(in, "C_A", &p->c_a_len);
    p->y = ju_hex(in, "y", &p->y_len);
    if (p->c_a != NULL && p->c_a_len != ES_AES_BLOCK)
        return "bob's C_A is not 16 octets";
    p->srs_random = ju_hex(in, "srshashRandom", &p->srs_random_len);
    f->n_b = p->n_b;
    f->n_b_len = p->n_b_len;
    f->c_a = p->c_a;
    f->y = p->y;
    f->y_len = p->y_len;
    f->srshash_random = p->srs_random;
    f->srshash_random_len = p->srs_random_len;
    return NULL;
}

const char *ohv_party_load(ohv_party *p, esession_ctx *ctx, json_t *group, json_t *test,
                           const char *name, const char *peer_jid)
{
    int alice = strcmp(name, "alice") == 0;
    long long variant = 0;
    memset(p, 0, sizeof *p);
    es_ol_policy_init(&p->policy);
    es_ol_rs_list_init(&p->rs);
    p->name = name;
    json_t *party = ju_object(group, name);
    if (party == NULL || (p->jid = ju_string(party, "jid")) == NULL ||
        ju_integer(group, "variant", &variant) != 0 || (variant != 3 && variant != 4))
        return "group incomplete (party, jid or variant)";
    ohv_bare_of(p->jid, p->bare, sizeof p->bare);
    const char *why = ohv_load_keys(p, ctx, party);
    if (why != NULL)
        return why;
    p->trusts_peer = json_is_true(json_object_get(party, alice ? "trustsBob" : "trustsAlice"));
    json_t *lists = ju_object(party, alice ? "options" : "supports");
    if (lists == NULL)
        return "options or supports missing";
    if ((why = ohv_load_policy(p, lists, (int)variant, alice)) != NULL)
        return why;
    if (!alice)
        p->policy.allow3 = json_is_true(json_object_get(party, "allow3"));
    char peer_bare[512];
    ohv_bare_of(peer_jid, peer_bare, sizeof peer_bare);
    if ((why = ohv_load_rs(p, test, peer_bare)) != NULL)
        return why;
    json_t *inputs = ju_object(test, "inputs");
    return ohv_load_fixed(p, inputs != NULL ? ju_object(inputs, name) : NULL, alice);
}

void ohv_party_free(ohv_party *p)
{
    for (size_t i = 0; i < p->n_keys; i++)
        esession_key_free(p->keys[i]);
    es_ol_policy_clear(&p->policy);
    es_ol_rs_list_clear(&p->rs);
    free(p->thread);
    free(p->n_a);
    free(p->n_b);
    free(p->c_a);
    free(p->y);
    free(p->srs_random);
    for (size_t i = 0; i < ES_OL_MAX_GROUPS; i++)
        free(p->x[i]);
    for (size_t i = 0; i < ES_OL_RSHASHES_MAX; i++)
        free(p->rsh_random[i]);
    for (size_t i = 0; i < OHV_MAX_Z; i++)
        free(p->z[i]);
    memset(p, 0, sizeof *p);
}

void ohv_env(const ohv_party *me, const ohv_party *peer, es_ol_env *env,
             const esession_key **mine, const esession_key **trusted)
{
    memset(env, 0, sizeof *env);
    for (size_t i = 0; i < me->n_keys; i++)
        mine[i] = me->keys[i];
    for (size_t i = 0; i < peer->n_keys; i++)
        trusted[i] = peer->keys[i];
    env->my_jid = me->jid;
    env->peer_jid = peer->jid;
    env->my_keys = mine;
    env->n_my_keys = me->n_keys;
    env->trusted = trusted;
    env->n_trusted = me->trusts_peer ? peer->n_keys : 0;
    env->rs = &me->rs;
    env->sign = ohv_sign;
    env->sign_arg = NULL;
}

esession_status ohv_sign(void *arg, const esession_key *key, const uint8_t *msg, size_t n,
                         uint8_t *sig, size_t *siglen)
{
    (void)arg;
    if (esession_key_get_type(key) == ESESSION_KEY_DSA)
        return hv_rfc6979_dsa_sign(key, msg, n, sig, siglen);
    return es_sign(NULL, key, msg, n, sig, siglen); /* RSA PKCS#1 v1.5 is deterministic */
}
