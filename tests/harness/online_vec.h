/* SPDX-License-Identifier: ISC */
/* OnlineSession and OnlineNegative vectors (schema v1.1, PROFILE §12):
 * each test is played once per role, the role's engine against the other
 * role's stanzas from the file. */
#ifndef ESESSION_HARNESS_ONLINE_VEC_H
#define ESESSION_HARNESS_ONLINE_VEC_H

#include "harness.h"

#include "../../online/online.h"

#define OHV_MAX_KEYS 4
#define OHV_MAX_Z 64

/* One party of a group and test: keys, policy, retained secrets, and the
 * values the file fixes instead of drawing them. */
typedef struct ohv_party {
    const char *name;              /* "alice" or "bob" */
    const char *jid;
    char bare[512];
    esession_key *keys[OHV_MAX_KEYS];
    size_t n_keys;
    int trusts_peer;
    es_ol_policy policy;
    es_ol_rs_list rs;
    /* fixed inputs, owned */
    char *thread;
    uint8_t *n_a, *n_b, *c_a, *y, *srs_random;
    size_t n_a_len, n_b_len, c_a_len, y_len, srs_random_len;
    uint8_t *x[ES_OL_MAX_GROUPS];
    size_t x_len[ES_OL_MAX_GROUPS];
    uint8_t *rsh_random[ES_OL_RSHASHES_MAX];
    size_t rsh_len[ES_OL_RSHASHES_MAX];
    size_t n_rsh_random;
    size_t rsh_order[ES_OL_RSHASHES_MAX];
    size_t n_order;
    int has_order;
    uint8_t *z[OHV_MAX_Z];
    size_t z_len[OHV_MAX_Z];
    size_t n_z;
    es_ol_fixed fixed;
} ohv_party;

/* Load the group's side of a party (keys, policy) and the test's (fixed
 * inputs, retained secrets). NULL or the reason. */
const char *ohv_party_load(ohv_party *p, esession_ctx *ctx, json_t *group, json_t *test,
                           const char *name, const char *peer_jid);
void ohv_party_free(ohv_party *p);

/* The env of a party: its keys, the peer's keys if it trusts them, its
 * retained secrets. */
void ohv_env(const ohv_party *me, const ohv_party *peer, es_ol_env *env,
             const esession_key **mine, const esession_key **trusted);

/* The vectors' signer: DSA with RFC 6979's k (as the reference), RSA as
 * the library signs. */
esession_status ohv_sign(void *arg, const esession_key *key, const uint8_t *msg, size_t n,
                         uint8_t *sig, size_t *siglen);

/* Play one role of one test; one result ("<tid> alice" / "<tid> bob"). */
void ohv_play(hv_report *r, esession_ctx *ctx, json_t *group, json_t *test, const char *tid,
              int live_is_alice);

/* Differences found, joined into one reason. */
typedef struct ohv_diffs {
    char text[1600];
    unsigned n;
} ohv_diffs;

void ohv_differs(ohv_diffs *d, const char *fmt, ...) HV_PRINTF(2, 3);
void ohv_cmp_hex(ohv_diffs *d, const char *what, json_t *obj, const char *key,
                 const uint8_t *v, size_t n);
void ohv_cmp_text(ohv_diffs *d, const char *what, json_t *obj, const char *key, const char *v,
                  size_t n);

/* The values a role computed in its negotiation (online_check.c). */
typedef struct ohv_flags {
    int established;    /* the live role completed its negotiation */
    /* The file records the tampered wire value of a tampered stanza: the
     * value is left to the comparison of the stanza text. */
    int ida_wire, ma_wire, idb_wire, mb_wire;
} ohv_flags;

void ohv_check_trace(ohv_diffs *d, json_t *exp, const es_ol *s, int live_is_alice, int variant,
                     const ohv_flags *fl, const char *peer_bare);
/* A sealed <c> against the sender's record. */
void ohv_check_c(ohv_diffs *d, const char *what, json_t *crec, const es_ol_ctrace *t,
                 const char *stanza);
/* An RS list against the layout of `retained` ({bare: [{rs, verified, client}]}). */
void ohv_check_rs(ohv_diffs *d, const char *what, json_t *want, const char *peer_bare,
                  const es_ol_rs_list *l);

#endif
