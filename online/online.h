/* SPDX-License-Identifier: ISC */
/* Online ESessions (PROFILE §12; XEP-0116 3- and 4-message negotiation,
 * XEP-0200 both ways): the engine. It does no I/O: every call takes the
 * stanza text it received and hands back the stanza text to send. The
 * public functions (ol_api.c) wrap it with the keystore; vectors and tests
 * drive it directly, with their own random values (es_ol_fixed).
 *
 * Roles follow §12: Alice is the initiator, Bob the responder, whatever
 * either was offline. Conventions as in session/scrypto.h: a function that
 * fails leaves its outputs untouched and records a reason in ctx. */
#ifndef ESESSION_ONLINE_H
#define ESESSION_ONLINE_H

#include "../session/scrypto.h"
#include "../forms/dataform.h"
#include "../forms/strbuf.h"

#define ES_OL_NS_FEATURE "http://jabber.org/protocol/feature-neg"
#define ES_OL_NS_INIT "http://www.xmpp.org/extensions/xep-0116.html#ns-init"
#define ES_OL_NS_AMP "http://jabber.org/protocol/amp"
#define ES_OL_NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"
#define ES_OL_NS_CLIENT "jabber:client"
#define ES_OL_FORM_TYPE "urn:xmpp:ssn"

#define ES_OL_THREAD_HEX 32u      /* 16 random octets as lowercase hex */
#define ES_OL_THREAD_MAX 256u     /* longest thread accepted from a peer */
#define ES_OL_NONCE_BYTES 32u     /* N_A, N_B when drawn */
#define ES_OL_NONCE_MIN 16u
#define ES_OL_NONCE_MAX 64u
#define ES_OL_MAX_GROUPS 8u       /* modp offers */
#define ES_OL_MAX_LIST 16u        /* values per list field */
#define ES_OL_VALUE_MAX 95u       /* longest offered value we can choose */
#define ES_OL_MAX_SETS 16u        /* XEP-0200 key sets held (§12.9) */
#define ES_OL_RS_LISTED_MAX 31u   /* RS Alice lists (§12.6) */
#define ES_OL_RSHASHES_MAX 32u    /* rshashes values accepted */
#define ES_OL_RS_KEEP_MAX 64u     /* RS kept per peer bare JID */
#define ES_OL_DUP_RING 256u       /* accepted a_macs remembered (§12.9) */
#define ES_OL_ACK_TIMEOUT 60      /* seconds (§12.12) */
#define ES_OL_JID_MAX 3071u
#define ES_OL_E_MAX 1025u         /* mpint of an 8192-bit value */
#define ES_OL_SAS_LEN 5u
#define ES_OL_HE_BYTES 32u        /* SHA-256 */
#define ES_OL_MAX_OLD 16u         /* old MAC keys published in one stanza */
/* Blocks under one sending key: the total stays below 2^32, with room for
 * a termination (as offline, session/sender.h). */
#define ES_OL_BLOCK_LIMIT ((uint64_t)1 << 32)
#define ES_OL_TERM_RESERVE 64u
/* A re-key is due once this close to the bound, so that the stanza that
 * carries <key> (sealed with the old key) still fits. */
#define ES_OL_REKEY_MARGIN ((uint64_t)1 << 20)

/* ---- negotiated fields (ol_policy.c) ------------------------------- */

/* The list fields of msg1, in form order. */
typedef enum es_ol_field {
    ES_OLF_OTR = 0, ES_OLF_DISCLOSURE, ES_OLF_SECURITY, ES_OLF_MODP, ES_OLF_CRYPT,
    ES_OLF_HASH, ES_OLF_SIGN, ES_OLF_COMPRESS, ES_OLF_STANZAS, ES_OLF_INIT_PUBKEY,
    ES_OLF_RESP_PUBKEY, ES_OLF_VER, ES_OLF_SAS, ES_OLF_COUNT
} es_ol_field;

extern const char *const es_ol_field_names[ES_OLF_COUNT];

typedef enum es_ol_pubkey {
    ES_OL_PK_KEY = 1,  /* the full <KeyValue> */
    ES_OL_PK_HASH = 2, /* a <fingerprint> of it */
    ES_OL_PK_NONE = 3  /* no public key: macX itself (4-message only) */
} es_ol_pubkey;

/* What a party offers (Alice, in her order) or accepts (Bob). Values are
 * owned copies. */
typedef struct es_ol_policy {
    size_t n[ES_OLF_COUNT];
    char *v[ES_OLF_COUNT][ES_OL_MAX_LIST];
    uint32_t rekey_freq;      /* Alice: her minimum; Bob: his preference */
    int variant;              /* Alice: 3 or 4 */
    int allow3;               /* Bob: answer 3-message requests */
    unsigned rshashes_random; /* Alice: random rshashes values added (>= 1) */
    int publish_old;          /* publish the peer's retired MAC keys (§12.11) */
} es_ol_policy;

void es_ol_policy_init(es_ol_policy *p);
/* Append a value; ESESSION_ERR_LIMIT past ES_OL_MAX_LIST values or
 * ES_OL_VALUE_MAX octets, ESESSION_ERR_INVALID_ARGUMENT for an empty one. */
esession_status es_ol_policy_add(es_ol_policy *p, es_ol_field f, const char *value);
esession_status es_ol_policy_copy(es_ol_policy *dst, const es_ol_policy *src);
void es_ol_policy_clear(es_ol_policy *p);
int es_ol_policy_has(const es_ol_policy *p, es_ol_field f, const char *value);

/* The chosen values of msg2 and what they mean. */
typedef struct es_ol_choice {
    char value[ES_OLF_COUNT][ES_OL_VALUE_MAX + 1];
    uint32_t rekey_freq;
    int group;
    es_suite suite;
    esession_key_type sign_type;
    es_ol_pubkey init_pk, resp_pk;
} es_ol_choice;

es_ol_pubkey es_ol_pubkey_from_name(const char *v); /* 0 if unknown */
const char *es_ol_pubkey_name(es_ol_pubkey pk);

/* ---- retained secrets (ol_rs.c, PROFILE §12.6) ---------------------- */

typedef struct es_ol_rs {
    uint8_t rs[ES_HASH_MAX_BYTES];
    size_t len;
    int verified;             /* confirmed by SAS */
    int64_t created;
    char *client;             /* the peer's full JID (malloc'ed) */
} es_ol_rs;

/* The RS kept for one peer bare JID, in list order, in guarded memory. */
typedef struct es_ol_rs_list {
    es_ol_rs *v;
    size_t n, cap;
} es_ol_rs_list;

void es_ol_rs_list_init(es_ol_rs_list *l);
void es_ol_rs_list_clear(es_ol_rs_list *l);
esession_status es_ol_rs_list_copy(es_ol_rs_list *dst, const es_ol_rs_list *src);
/* Append a copy (ESESSION_ERR_LIMIT past ES_OL_RS_KEEP_MAX). */
esession_status es_ol_rs_append(es_ol_rs_list *l, const uint8_t *rs, size_t len, int verified,
                                int64_t created, const char *client);

/* A change of the list, kept so that it can be replayed on the stored
 * copy (the public layer reads, applies and writes in one transaction). */
typedef enum es_ol_rs_op_kind {
    ES_OL_RS_STORE = 1,  /* a new RS after a negotiation */
    ES_OL_RS_CONFIRM,    /* the peer proved it holds it: drop the rest of that client */
    ES_OL_RS_VERIFIED    /* the SAS was confirmed */
} es_ol_rs_op_kind;

typedef struct es_ol_rs_op {
    es_ol_rs_op_kind kind;
    uint8_t rs[ES_HASH_MAX_BYTES];
    size_t len;
    int has_srs;
    uint8_t srs[ES_HASH_MAX_BYTES];
    int keep_candidate;       /* STORE: keep the SRS after the new RS (Bob) */
    int verified;
    int64_t created;
    char client[ES_OL_JID_MAX + 1];
} es_ol_rs_op;

/* STORE: the new RS replaces the SRS (kept right after it when
 * keep_candidate), or else the RS of that client, or else is appended;
 * without a candidate every other RS of that client goes. CONFIRM: every
 * other RS of that client goes. VERIFIED: the RS gets the flag. An RS
 * that is no longer there leaves the list as it is. */
esession_status es_ol_rs_apply(es_ol_rs_list *l, const es_ol_rs_op *op);

/* ---- stanzas in and out (ol_xml.c) ---------------------------------- */

/* A received <message/>, parsed once. */
typedef struct es_ol_in {
    xmlDocPtr doc;
    xmlNode *msg;
    char *from, *to, *type, *thread; /* NULL when absent */
    xmlNode *form;      /* the <x> of <feature> or <init> */
    int in_init;        /* form came in <init> */
    xmlNode *c;         /* XEP-0200 <c> */
    xmlNode *error;     /* <error> of a type='error' message */
} es_ol_in;

/* Parse a <message/> (jabber:client or no namespace): at most one <feature>
 * (holding exactly one jabber:x:data <x>), <init>, <c> and <error>;
 * ESESSION_ERR_MALFORMED otherwise. */
esession_status es_ol_in_parse(esession_ctx *ctx, const char *text, size_t len, es_ol_in *out);
void es_ol_in_free(es_ol_in *in);
/* The condition of an error stanza (local name of the first element in
 * the stanzas namespace) into out; "undefined-condition" if none. */
void es_ol_in_condition(const es_ol_in *in, char *out, size_t cap);

/* One field of a form we write. */
typedef struct es_ol_fdef {
    const char *var;
    const char *type;                 /* NULL: no type attribute */
    const char *const *options;
    size_t n_options;
    const char *const *values;
    size_t n_values;
    int required;
} es_ol_fdef;

/* <x xmlns='jabber:x:data' type='T'> with each field on a line of its own
 * (4 spaces), </x> after 2 spaces: the layout of the vectors. */
void es_ol_put_form(es_sb *b, const char *form_type, const es_ol_fdef *f, size_t n);
/* normalize(the text of a form we wrote, excluded), as a receiver will. */
esession_status es_ol_form_normalized(esession_ctx *ctx, const char *form, size_t len,
                                      const char *const *excluded, size_t n_excluded,
                                      esession_buf *out);
/* <message from='F' to='T'[ type='X']><thread>T</thread> */
void es_ol_put_head(es_sb *b, const char *from, const char *to, const char *type,
                    const char *thread);
/* The error stanza of §12.8 (condition, fields named in <feature>). */
esession_status es_ol_error_stanza(esession_ctx *ctx, const char *from, const char *to,
                                   const char *thread, const char *condition,
                                   const char *const *fields, size_t n_fields,
                                   esession_buf *out);

/* ---- identities (ol_identity.c, PROFILE §12.5) ---------------------- */

/* Signing over macX: es_sign unless a signer is given (the vectors give
 * one with RFC 6979's deterministic k for DSA). */
typedef esession_status (*es_ol_sign_fn)(void *arg, const esession_key *key, const uint8_t *msg,
                                         size_t n, uint8_t *sig, size_t *siglen);

/* What macX covers, in order: n1 ‖ n2 ‖ mpint(dh) ‖ pubKeyX ‖ form1 ‖ form2
 * (form2 may be empty). */
typedef struct es_ol_mac_in {
    const uint8_t *n1; size_t n1_len;
    const uint8_t *n2; size_t n2_len;
    const uint8_t *dh; size_t dh_len;
    const char *form1; size_t form1_len;
    const char *form2; size_t form2_len;
} es_ol_mac_in;

/* The keys of one identity: KS for macX, KC/KM for IDX and MX. */
typedef struct es_ol_id_keys {
    es_hash_alg hash;
    const uint8_t *ks;
    size_t ks_len;
    const es_dir_keys *dir;
    es_ol_sign_fn sign;      /* NULL: es_sign */
    void *sign_arg;
} es_ol_id_keys;

typedef struct es_ol_id_out {
    size_t mac_len;
    uint8_t mac_x[ES_HASH_MAX_BYTES];  /* macX (secret: never sent) */
    esession_buf idx;                  /* IDX */
    uint8_t mx[ES_HASH_MAX_BYTES];     /* MX */
    uint8_t ctr_after[ES_AES_BLOCK];   /* C_X + blocks(IDX) */
} es_ol_id_out;

/* Seal an identity: macX with key (pubkey NULL for none), P_X as pk says,
 * IDX = CIPHER(KC, C_X, P_X), MX = HMAC(KM, C_X ‖ IDX). */
esession_status es_ol_id_seal(esession_ctx *ctx, const es_ol_id_keys *k, es_ol_pubkey pk,
                              const esession_key *key, const es_ol_mac_in *in,
                              const uint8_t c_x[ES_AES_BLOCK], es_ol_id_out *out);

/* Trust of a peer key, asked by the engine. */
typedef int (*es_ol_trust_fn)(void *arg, const esession_key *key);

typedef struct es_ol_id_peer {
    esession_key_type sign_type;
    const esession_key *const *stored; /* keys kept (and trusted) for the peer */
    size_t n_stored;
    es_ol_trust_fn trusted;           /* NULL: trusted iff one of stored */
    void *trust_arg;
    int require_trust;                /* 3-message: untrusted is an error */
} es_ol_id_peer;

/* Open a peer identity, in the order of §12.8: MX (bad-identity-mac, and
 * nothing decrypted), P_X (malformed), the key and signX (bad-signature),
 * trust (untrusted-key when required, and always for hash without a
 * stored key). On success *key (may be NULL for none) is the peer key,
 * *trusted says whether it is trusted, and mac_x the recomputed macX. */
esession_status es_ol_id_open(esession_ctx *ctx, const es_ol_id_keys *k, es_ol_pubkey pk,
                              const es_ol_id_peer *peer, const es_ol_mac_in *in,
                              const uint8_t c_x[ES_AES_BLOCK], const uint8_t *idx,
                              size_t idx_len, const uint8_t *mx, size_t mx_len,
                              esession_key **key, int *trusted, uint8_t *mac_x,
                              uint8_t ctr_after[ES_AES_BLOCK]);
void es_ol_id_out_clear(es_ol_id_out *o);

/* ---- secrets (ol_keys.c) -------------------------------------------- */

/* K = HASH(K0 ‖ SRS) (§12.4); srs may be NULL (empty). */
esession_status es_ol_k_final(es_hash_alg hash, const uint8_t *k0, const uint8_t *srs,
                              size_t srs_len, uint8_t *k);
/* HMAC(HASH, N_A, RS): one rshashes value. */
esession_status es_ol_rshash(es_hash_alg hash, const uint8_t *n_a, size_t n_a_len,
                             const uint8_t *rs, size_t rs_len, uint8_t *out);
/* HMAC(HASH, SRS, "Shared Retained Secret"). */
esession_status es_ol_srshash(es_hash_alg hash, const uint8_t *srs, size_t len, uint8_t *out);
/* HMAC(HASH, K, "New Retained Secret"). */
esession_status es_ol_new_rs(es_hash_alg hash, const uint8_t *k, size_t len, uint8_t *out);
/* v = the last 3 octets of HASH(MA ‖ formB ‖ "Short Authentication String")
 * and its sas28x5 string (5 characters and a NUL, §12.7). */
esession_status es_ol_sas(es_hash_alg hash, const uint8_t *ma, size_t ma_len,
                          const char *form_b, size_t form_b_len, uint32_t *v,
                          char out[ES_OL_SAS_LEN + 1]);
void es_ol_sas_string(uint32_t v, char out[ES_OL_SAS_LEN + 1]);
/* Acceptor-label keys of a re-key (§12.10); the initiator's are
 * es_rekey_derive's. */
esession_status es_ol_rekey_acceptor(esession_ctx *ctx, es_suite suite, const uint8_t *kp,
                                     size_t kp_len, es_dir_keys **out);

/* ---- the encrypted stream (ol_stream.c, PROFILE §12.9-§12.11) -------- */

/* What one sealed <c> was, for known-answer checks (secret). */
typedef struct es_ol_ctrace {
    uint8_t counter_before[ES_AES_BLOCK];
    es_dir_keys keys;          /* KC, KM used */
    size_t mac_len;
    uint8_t a_mac[ES_HASH_MAX_BYTES];
    uint32_t new_count;
    int rekeyed;
    esession_buf z, z_pub, k_prime; /* mpint(z'), the <key> value, mpint(K') */
    es_dir_keys send_after, new_set;
} es_ol_ctrace;
void es_ol_ctrace_clear(es_ol_ctrace *t);

typedef struct es_ol_stream es_ol_stream;

/* The stream after a negotiation: own sending keys at send_ctr, the
 * peer's keys at recv_ctr, own exponent (taken over) and the peer's DH
 * value, and the stanzas already sent under send (1 after a <c> in msg3
 * or msg4). */
esession_status es_ol_stream_new(esession_ctx *ctx, es_suite suite, int group,
                                 const es_dir_keys *send, const uint8_t send_ctr[ES_AES_BLOCK],
                                 uint64_t send_blocks, const es_dir_keys *recv,
                                 const uint8_t recv_ctr[ES_AES_BLOCK], es_dh *own,
                                 const uint8_t *v_peer, size_t v_peer_len, uint32_t rekey_freq,
                                 int publish_old, es_ol_stream **out);
void es_ol_stream_free(es_ol_stream *st);

typedef struct es_ol_seal_in {
    const uint8_t *m;         /* plaintext; m_len 0: no <data> */
    size_t m_len;
    int rekey;                /* carry <key> (§12.10) */
    const uint8_t *z;         /* fixed z' (NULL: drawn) */
    size_t z_len;
    const uint8_t *force_z;   /* tests: <key> carries this instead of g^z' */
    size_t force_z_len;
    int control;              /* a termination or acknowledgement: no <key>, no <old> */
} es_ol_seal_in;

/* Seal the next stanza's <c> into out as head ‖ <c> ‖ tail (head, tail
 * may be NULL), so that the whole stanza exists before the stream moves. A
 * re-key not allowed yet (rekey_freq, 16 sets) is ESESSION_ERR_STATE;
 * past the block limit, ESESSION_ERR_COUNTER_EXHAUSTED. Nothing changes
 * on failure. */
esession_status es_ol_stream_seal(esession_ctx *ctx, es_ol_stream *st, const es_ol_seal_in *in,
                                  const char *head, const char *tail, es_ol_ctrace *trace,
                                  esession_buf *out);
/* 1 if the next stanza may carry <key>. */
int es_ol_stream_may_rekey(const es_ol_stream *st);
/* Stanzas sent under the current sending keys. */
uint64_t es_ol_stream_sent(const es_ol_stream *st);
/* Is a re-key due: would a stanza of m_len octets come within
 * ES_OL_REKEY_MARGIN of the block limit under the current sending keys? */
int es_ol_stream_needs_rekey(const es_ol_stream *st, size_t m_len);
void es_ol_stream_set_usage(es_ol_stream *st, uint64_t sent, uint64_t blocks);

typedef enum es_ol_kind {
    ES_OL_CONTENT = 1,
    ES_OL_TERMINATE,
    ES_OL_ACK
} es_ol_kind;

typedef struct es_ol_opened {
    int duplicate;               /* a_mac already accepted: nothing applied */
    es_ol_kind kind;
    esession_buf plain;          /* secret */
    uint8_t counter[ES_AES_BLOCK];
    unsigned profile;
} es_ol_opened;

/* Open the next stanza from the peer (§12.9, §12.10 steps 0-4). Errors
 * (nothing applied): ESESSION_ERR_MALFORMED (<c> structure, <new> form,
 * plaintext not XML, <key> in a termination or acknowledgement),
 * ESESSION_ERR_BAD_MAC, ESESSION_ERR_INVALID_DH_VALUE. */
esession_status es_ol_stream_open(esession_ctx *ctx, es_ol_stream *st, const xmlNode *c,
                                  es_ol_opened *out);
void es_ol_opened_clear(es_ol_opened *o);

/* Classify decrypted content (ol_content.c): a sequence of elements in a
 * jabber:client wrapper (else ESESSION_ERR_MALFORMED); exactly one
 * feature-neg form with FORM_TYPE urn:xmpp:ssn and terminate 1/true is a
 * termination (submit) or an acknowledgement (result). */
esession_status es_ol_classify(esession_ctx *ctx, const uint8_t *m, size_t n, es_ol_kind *kind,
                               unsigned *profile);
extern const char es_ol_term_text[];
extern const char es_ol_ack_text[];

/* ---- the session (ol_session.c, ol_alice.c, ol_bob.c) --------------- */

typedef enum es_ol_role { ES_OL_ALICE = 1, ES_OL_BOB = 2 } es_ol_role;

typedef enum es_ol_state {
    ES_OL_NEGOTIATING = 1,
    ES_OL_OPEN,
    ES_OL_TERM_SENT,
    ES_OL_ENDED,
    ES_OL_FAILED
} es_ol_state;

const char *es_ol_state_name(es_ol_state s);

/* Values drawn with es_random unless given (vectors, tests). */
typedef struct es_ol_fixed {
    const char *thread;
    const uint8_t *n_a; size_t n_a_len;
    const uint8_t *x[ES_OL_MAX_GROUPS];       /* per offered group, policy order */
    size_t x_len[ES_OL_MAX_GROUPS];
    const uint8_t *const *rsh_random;          /* HASH-length random rshashes values */
    const size_t *rsh_random_len;
    size_t n_rsh_random;
    const size_t *rsh_order;                   /* rshashes[i] = (listed ++ random)[order[i]] */
    size_t n_rsh_order;
    const uint8_t *n_b; size_t n_b_len;
    const uint8_t *c_a;                         /* 16 octets */
    const uint8_t *y; size_t y_len;
    const uint8_t *srshash_random; size_t srshash_random_len;
    const uint8_t *const *z;                    /* re-key exponents, used in order */
    const size_t *z_len;
    size_t n_z;
} es_ol_fixed;

/* Who we are and what we hold; copied by the session. */
typedef struct es_ol_env {
    const char *my_jid;                       /* full JID */
    const char *peer_jid;                     /* Alice: where msg1 goes (bare or full) */
    const esession_key *const *my_keys;       /* signing keys (private parts) */
    size_t n_my_keys;
    const esession_key *const *trusted;       /* keys trusted for the peer's bare JID */
    size_t n_trusted;
    es_ol_trust_fn trust;                     /* NULL: trusted iff one of trusted */
    void *trust_arg;
    const es_ol_rs_list *rs;                  /* RS kept for the peer (NULL: none) */
    int64_t now;
    es_ol_sign_fn sign;                       /* NULL: es_sign */
    void *sign_arg;
} es_ol_env;

/* Everything a negotiation computed, for known-answer checks (secret;
 * has_* say what was reached). */
typedef struct es_ol_trace {
    esession_buf form_a, form_b, form_a2, form_b2;
    size_t n_e;
    int groups[ES_OL_MAX_GROUPS];
    esession_buf e[ES_OL_MAX_GROUPS];
    uint8_t he[ES_OL_MAX_GROUPS][ES_OL_HE_BYTES];
    int has_choice;
    es_ol_choice choice;
    esession_buf d;
    int has_ca;
    uint8_t c_a[ES_AES_BLOCK], c_b[ES_AES_BLOCK];
    size_t k_len;
    int has_k0, has_k;
    uint8_t k0[ES_HASH_MAX_BYTES], k[ES_HASH_MAX_BYTES];
    int has_prov, has_keys;
    es_session_keys prov, keys;     /* 4-message provisory (from K0); final */
    int has_mac_a, has_mac_b;
    uint8_t mac_a[ES_HASH_MAX_BYTES], ma[ES_HASH_MAX_BYTES];
    uint8_t mac_b[ES_HASH_MAX_BYTES], mb[ES_HASH_MAX_BYTES];
    esession_buf ida, idb;
    size_t n_rshashes;
    uint8_t rshashes[ES_OL_RSHASHES_MAX][ES_HASH_MAX_BYTES];
    int has_srshash;
    uint8_t srshash[ES_HASH_MAX_BYTES];
    int has_sas;
    uint32_t sas_v;
    char sas[ES_OL_SAS_LEN + 1];
    int srs_reached, has_srs;
    uint8_t srs[ES_HASH_MAX_BYTES];
    int has_new_rs;
    uint8_t new_rs[ES_HASH_MAX_BYTES];
    int has_rs_after_msg3;
    es_ol_rs_list rs_after_msg3;    /* Bob */
    int has_c;                      /* the <c> of msg3 / msg4 sent */
    es_ol_ctrace c;
} es_ol_trace;

typedef struct es_ol es_ol;

/* What one received stanza did. */
typedef enum es_ol_rkind {
    ES_OL_R_PROGRESS = 1,        /* a negotiation step; reply is the next message */
    ES_OL_R_OK,                  /* content opened (plain) */
    ES_OL_R_DUPLICATE,
    ES_OL_R_TERMINATED,          /* reply: the acknowledgement (none for a single stanza) */
    ES_OL_R_TERMINATED_CROSSING,
    ES_OL_R_ACKNOWLEDGED,
    ES_OL_R_IGNORED,
    ES_OL_R_ERROR                /* error: the code; reply: error stanza or termination */
} es_ol_rkind;

typedef enum es_ol_step {
    ES_OL_STEP_NONE = 0, ES_OL_STEP_MSG1, ES_OL_STEP_MSG2, ES_OL_STEP_MSG3, ES_OL_STEP_MSG4,
    ES_OL_STEP_STANZA
} es_ol_step;

typedef struct es_ol_result {
    es_ol_rkind kind;
    esession_status error;
    es_ol_step step;
    char condition[64];          /* peer-error */
    int established;             /* the negotiation completed with this stanza */
    int has_content;             /* plain, counter hold a message or control content */
    esession_buf plain;          /* secret */
    uint8_t counter[ES_AES_BLOCK];
    unsigned profile;
    esession_buf reply;          /* to send now (empty: nothing) */
    int reply_has_c;
    es_ol_ctrace reply_c;        /* the reply's <c> when it has one */
} es_ol_result;
void es_ol_result_clear(es_ol_result *r);

/* Alice: draw (or take) T, N_A and x, write msg1. */
esession_status es_ol_initiate(esession_ctx *ctx, const es_ol_policy *policy,
                               const es_ol_env *env, const es_ol_fixed *fixed, int trace,
                               es_ol **out, esession_buf *msg1);

/* Bob: check msg1 (§12.8 rows msg1), choose, write msg2. On a failure the
 * code is returned, no session is made, and *reply holds the error
 * stanza when §12.8 sends one. */
esession_status es_ol_respond(esession_ctx *ctx, const es_ol_policy *policy,
                              const es_ol_env *env, const es_ol_fixed *fixed,
                              const char *msg1, size_t len, int trace, es_ol **out,
                              esession_buf *reply);

/* Feed any later stanza of the session. ESESSION_ERR_MALFORMED for text
 * that is no <message/>, ESESSION_ERR_NO_SESSION for another thread or
 * peer: then nothing changes. Otherwise ESESSION_OK and *res says what
 * happened (an error of the protocol is res->kind ES_OL_R_ERROR). content
 * is the plaintext for the <c> of the msg3 (3-message) or msg4 this
 * stanza makes us send, if any. */
esession_status es_ol_feed(es_ol *s, const char *stanza, size_t len, const char *content,
                           size_t content_len, es_ol_result *res);

/* Seal one stanza (state open). type NULL: no type attribute. */
esession_status es_ol_seal(es_ol *s, const es_ol_seal_in *in, const char *type,
                           es_ol_ctrace *trace, esession_buf *out);
/* Send the termination (state open). */
esession_status es_ol_terminate(es_ol *s, es_ol_ctrace *trace, esession_buf *out);
/* The acknowledgement timeout (§12.12): 1 if it ended the session now. */
int es_ol_tick(es_ol *s, int64_t now);
/* Alice's msg3 with terminate=1 (3-message single-stanza session). */
void es_ol_set_single_stanza(es_ol *s, int on);
/* The caller confirmed the SAS: the session is verified, and the new RS
 * flagged (a pending RS op). ESESSION_ERR_STATE without a SAS. */
esession_status es_ol_confirm_sas(es_ol *s);

es_ol_state es_ol_get_state(const es_ol *s);
es_ol_role es_ol_get_role(const es_ol *s);
int es_ol_variant(const es_ol *s);
const char *es_ol_thread(const es_ol *s);
const char *es_ol_peer_jid(const es_ol *s);
int es_ol_has_peer_status(const es_ol *s);
int es_ol_peer_verified(const es_ol *s);
/* The peer key's fingerprint (SHA-256 of its <KeyValue>): 0 without one. */
int es_ol_peer_fingerprint(const es_ol *s, uint8_t fp[ESESSION_FINGERPRINT_BYTES]);
const char *es_ol_sas_text(const es_ol *s);  /* NULL before the SAS exists */
const es_ol_trace *es_ol_get_trace(const es_ol *s);
const es_ol_rs_list *es_ol_rs_kept(const es_ol *s);
/* RS changes not yet taken by the caller; take moves them out. */
size_t es_ol_rs_pending(const es_ol *s);
esession_status es_ol_rs_take(es_ol *s, es_ol_rs_op *ops, size_t cap, size_t *n);
/* The stream's re-key state (0 before the session is open). */
int es_ol_may_rekey(const es_ol *s);
uint64_t es_ol_sent(const es_ol *s);
int es_ol_needs_rekey(const es_ol *s, size_t m_len);
/* Test hook: the stanzas and blocks used under the current sending keys,
 * to reach the 2^32-block bound without sealing it. */
void es_ol_set_usage(es_ol *s, uint64_t sent, uint64_t blocks);
/* An initiator still waiting for msg2 (crossing requests, §12.13). */
int es_ol_waiting_answer(const es_ol *s);
/* Set when the acknowledgement timed out (§12.12): the peer's last stanzas may be missing. */
int es_ol_ack_timed_out(const es_ol *s);
void es_ol_free(es_ol *s);

#endif
