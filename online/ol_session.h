/* SPDX-License-Identifier: ISC */
/* The online session object, shared by the files that implement its
 * steps (ol_session.c, ol_alice.c, ol_bob.c, ol_nego.c). Private to online/. */
#ifndef ESESSION_OL_SESSION_H
#define ESESSION_OL_SESSION_H

#include "online.h"

/* What a negotiation step is waiting for. */
typedef enum ol_await {
    OL_AWAIT_NONE = 0, OL_AWAIT_MSG2, OL_AWAIT_MSG3, OL_AWAIT_MSG4
} ol_await;

/* Copies of the fixed inputs that outlive the call that gave them. */
typedef struct ol_fixed {
    int has_rsh_order;
    size_t n_rsh_order;
    size_t rsh_order[ES_OL_RSHASHES_MAX];
    size_t n_rsh_random;
    size_t rsh_random_len[ES_OL_RSHASHES_MAX];
    uint8_t rsh_random[ES_OL_RSHASHES_MAX][ES_HASH_MAX_BYTES];
    int has_srshash_random;
    size_t srshash_random_len;
    uint8_t srshash_random[ES_HASH_MAX_BYTES];
    size_t n_z, next_z;
    uint8_t *z[64];          /* guarded copies */
    size_t z_len[64];
} ol_fixed;

struct es_ol {
    esession_ctx *ctx;
    es_ol_role role;
    int variant;
    es_ol_state state;
    ol_await await;
    es_ol_policy policy;
    char *my_jid;
    char *peer_jid;          /* the peer's full JID once known, else where msg1 went */
    char *peer_bare;
    int peer_full_known;
    char thread[ES_OL_THREAD_MAX + 1];
    esession_key **my_keys;
    size_t n_my_keys;
    esession_key **trusted;
    size_t n_trusted;
    es_ol_trust_fn trust;
    void *trust_arg;
    es_ol_sign_fn sign;
    void *sign_arg;
    es_ol_rs_list rs;        /* RS kept for the peer (working copy) */
    es_ol_rs_op *pending;    /* RS changes for the caller (guarded) */
    size_t n_pending;
    int64_t now;
    ol_fixed *fixed;         /* guarded */

    /* negotiation */
    es_ol_choice choice;
    uint8_t n_a[ES_OL_NONCE_MAX], n_b[ES_OL_NONCE_MAX];
    size_t n_a_len, n_b_len;
    uint8_t c_a[ES_AES_BLOCK];
    size_t n_groups;         /* Alice: offered groups, one x each; Bob: 1 (y) */
    int groups[ES_OL_MAX_GROUPS];
    es_dh *dh[ES_OL_MAX_GROUPS];
    uint8_t he[ES_OL_MAX_GROUPS][ES_OL_HE_BYTES]; /* Bob: received commitments */
    size_t n_he;
    esession_buf e;          /* mpint(e) of the chosen group */
    esession_buf d;          /* mpint(d) */
    esession_buf form_a, form_b;
    es_session_keys *k0keys; /* keys from K0 (3-message: the final keys) */
    es_session_keys *keys;   /* 4-message final keys */
    uint8_t ma[ES_HASH_MAX_BYTES];
    size_t ma_len;
    uint8_t ctr_after_a[ES_AES_BLOCK], ctr_after_b[ES_AES_BLOCK];
    uint64_t id_blocks_a;    /* blocks of IDA under KC_A (3-message: the content key) */
    size_t n_listed;         /* Alice: the RS she listed in msg3 */
    uint8_t listed[ES_OL_RS_LISTED_MAX][ES_HASH_MAX_BYTES];
    int has_srs;
    uint8_t srs[ES_HASH_MAX_BYTES];
    int srs_verified;
    int has_new_rs;
    uint8_t new_rs[ES_HASH_MAX_BYTES];
    int rs_confirm_pending;  /* Bob: confirm when Alice's first stanza verifies */
    int has_sas;
    char sas[ES_OL_SAS_LEN + 1];
    int has_peer_status;
    int peer_verified;
    int peer_trusted;
    int has_peer_fp;
    uint8_t peer_fp[ESESSION_FINGERPRINT_BYTES];
    int single_stanza;

    es_ol_stream *st;
    int64_t term_sent_at;
    int ack_timed_out;
    es_ol_trace *trace;      /* guarded; NULL unless asked for */
};

/* ol_session.c */
esession_status ol_make(esession_ctx *ctx, es_ol_role role, const es_ol_policy *policy,
                        const es_ol_env *env, const es_ol_fixed *fixed, int trace, es_ol **out);
/* Keys, exponents and sets wiped at once (an end or a failure). */
void ol_destroy_keys(es_ol *s);
/* Queue an RS change for the caller and apply it to the working copy. */
esession_status ol_rs_op(es_ol *s, const es_ol_rs_op *op);
/* Random or fixed octets. */
esession_status ol_draw(es_ol *s, uint8_t *out, size_t len);
/* A nonce: the fixed one (its length checked) or ES_OL_NONCE_BYTES drawn. */
esession_status ol_nonce(es_ol *s, const uint8_t *fixed, size_t fixed_len, const char *what,
                         uint8_t *out, size_t *out_len);
/* A whole stanza: head (from us to the peer), then body, then </message>. */
esession_status ol_stanza(es_ol *s, const char *type, const char *body, size_t body_len,
                          esession_buf *out);
/* The error stanza to the peer. */
esession_status ol_error_reply(es_ol *s, const char *condition, const char *const *fields,
                               size_t n_fields, esession_buf *out);
/* Start the stream after a negotiation. */
esession_status ol_stream_start(es_ol *s, const es_dir_keys *send, const uint8_t *send_ctr,
                                uint64_t send_blocks, const es_dir_keys *recv,
                                const uint8_t *recv_ctr, const uint8_t *v_peer, size_t v_len);
/* A failure of the stream (§12.9): termination reply (unless one was
 * sent), keys destroyed, state failed. */
void ol_stream_fail(es_ol *s, esession_status code, es_ol_step step, es_ol_result *res);
/* Open a <c> of the stream into res (content, control, duplicate or error). */
void ol_open_c(es_ol *s, const xmlNode *c, es_ol_step step, es_ol_result *res);
/* A form's text through es_form_parse, with the value of var (NULL when
 * absent) and strict single-value reading. */
const char *ol_value(const es_form *f, const char *var, int *multi);
/* The trace, if kept. */
static inline es_ol_trace *ol_trace(es_ol *s)
{
    return s->trace;
}

/* ol_alice.c */
esession_status ol_alice_msg1(es_ol *s, esession_buf *out);
void ol_alice_msg2(es_ol *s, const es_ol_in *in, const char *content, size_t content_len,
                   es_ol_result *res);
void ol_alice_msg4(es_ol *s, const es_ol_in *in, es_ol_result *res);

/* ol_bob.c */
esession_status ol_bob_msg1(es_ol *s, const es_ol_in *in, esession_buf *reply);
void ol_bob_msg3(es_ol *s, const es_ol_in *in, const char *content, size_t content_len,
                 es_ol_result *res);

/* ol_nego.c: shared pieces of both roles. */
/* Strings of one form, freed together. */
typedef struct ol_strs {
    char *v[ES_OL_RSHASHES_MAX + 8];
    size_t n;
} ol_strs;
/* Keep v (NULL stays NULL); the value, or NULL when out of room or memory. */
const char *ol_keep(ol_strs *k, char *v);
void ol_strs_free(ol_strs *k);

/* Base64 value of a field into out (cap octets): MALFORMED if absent,
 * several, not base64 or longer than cap; *len gets the length. */
esession_status ol_b64_field(esession_ctx *ctx, const es_form *f, const char *var, uint8_t *out,
                             size_t cap, size_t *len);
/* The same into a fresh buffer (for identity values). */
esession_status ol_b64_field_buf(esession_ctx *ctx, const es_form *f, const char *var,
                                 esession_buf *out);
/* accept/terminate booleans: 1 for 1/true, 0 for 0/false, -1 otherwise. */
int ol_bool(const char *v);
/* FORM_TYPE must be urn:xmpp:ssn. */
esession_status ol_check_form_type(esession_ctx *ctx, const es_form *f);
/* A base64 string of n octets in a fresh malloc'ed NUL-terminated text. */
char *ol_b64(const uint8_t *v, size_t n);
/* Keys of the identity that X seals or opens (and our signer). */
void ol_id_keys(const es_ol *s, const es_session_keys *keys, int alice, es_ol_id_keys *out);
/* The own signing key for sign_type, NULL if none. */
const esession_key *ol_my_key(const es_ol *s, esession_key_type type);
/* Peer identity parameters for es_ol_id_open. */
void ol_id_peer(const es_ol *s, es_ol_id_peer *p);
/* Open the peer's identity (§12.5, §12.8) with keys: Alice's when the
 * peer is Alice (macA over N_B, N_A, e, formA, form2), else Bob's (macB
 * over N_A, N_B, d, formB, form2; form2 NULL in 3-message). On success the
 * peer's status is recorded and ctr_after (may alias c_x) follows IDX. */
esession_status ol_open_identity(es_ol *s, const es_session_keys *keys, int peer_is_alice,
                                 const esession_buf *form2, const uint8_t *c_x,
                                 const esession_buf *idx, const uint8_t *mx, size_t mx_len,
                                 uint8_t *ctr_after);
/* Seal our identity (§12.5) with keys: Alice's when we are Alice (macA
 * over N_B, N_A, e, formA, form2), else Bob's; into id, and the trace. */
esession_status ol_seal_identity(es_ol *s, const es_session_keys *keys, const esession_buf *form2,
                                 const uint8_t *c_x, es_ol_id_out *id);
/* The identity and mac fields of id, appended to f (strings kept in k). */
esession_status ol_identity_fields(es_ol *s, ol_strs *k, const es_ol_id_out *id,
                                   const char **vals, es_ol_fdef *f, size_t *n);

/* The new RS from K (§12.6), stored as a pending change; keep_candidate:
 * Bob keeps the SRS until Alice's first stanza. */
esession_status ol_store_new_rs(es_ol *s, const uint8_t *k, int keep_candidate);
/* The <c> of msg3/msg4: seal content with the stream (s = 1 after it). */
esession_status ol_first_c(es_ol *s, const char *content, size_t content_len,
                           esession_buf *c_out);
/* Copy the session keys into the trace. */
void ol_trace_keys(es_ol *s, const es_session_keys *k, int provisory);
/* Decimal 1..2^32-1 without sign; 0 if v is not one. */
uint32_t ol_decimal(const char *v);
/* A failed negotiation step: the reply of §12.8 (cond NULL: ignore, no
 * reply), keys wiped, state failed. */
void ol_fail(es_ol *s, es_ol_result *res, esession_status code, const char *cond,
             const char *const *fields, size_t n_fields);



/* normalize(the form of these fields, excluded) as a receiver will (§12.3). */
esession_status ol_fields_normalized(es_ol *s, const char *form_type, const es_ol_fdef *f, size_t n,
                                     const char *const *excl, size_t n_excl, esession_buf *out);

/* A negotiation stanza: head, the form inside <wrapper xmlns='ns'>, the
 * AMP rule (msg1), the <c> (msg3, msg4), in the layout of the vectors. */
esession_status ol_nego_stanza(es_ol *s, const char *wrapper, const char *ns,
                               const char *form_type, const es_ol_fdef *f, size_t n, int amp,
                               const esession_buf *c, esession_buf *out);

#endif
