/* SPDX-License-Identifier: ISC */
/* Bob's side of an offline ESession (XEP-0187 §3.2-3.3, §4, §5; PROFILE
 * §2-§5, §8, §9, §11): choosing among Alice's options, the session state
 * kept in the keystore, the client's <message/> turned into plaintext, and
 * the fixed-input entry points the public functions wrap (vectors and
 * tests drive these with their own y, N_B, C_A, thread and y'). */
#ifndef ESESSION_SENDER_H
#define ESESSION_SENDER_H

#include "scrypto.h"

#include "options_sig.h"
#include "../store/store.h"

#define ES_SENDER_THREAD_HEX 32u     /* 16 random octets, lowercase hex */
#define ES_SENDER_NONCE_BYTES 32u    /* N_B when drawn */
#define ES_SENDER_E_MAX 1025u        /* mpint(e) of an 8192-bit group */
#define ES_SENDER_DEFAULT_REKEY 100u
#define ES_SENDER_TRUSTED_MAX 16u    /* Alice's keys tried per form */
#define ES_SENDER_TYPE_MAX 8u        /* "normal" + NUL */
/* Counter values (blocks) allowed under one key: every stanza keeps the
 * total below 2^32 (PROFILE §9). */
#define ES_SENDER_BLOCK_LIMIT ((uint64_t)1 << 32)
/* Blocks kept free under every key so that the termination stanza can
 * always be sealed, even when no re-key is allowed yet. */
#define ES_SENDER_TERM_RESERVE 64u
#define ES_SENDER_BLOB_PREFIX "bob/session/"
#define ES_SENDER_OUTBOX_PREFIX ES_KS_OUTBOX_PREFIX /* a queue record (store.h) */
#define ES_INIT_NS "http://www.xmpp.org/extensions/xep-0116.html#ns-init"

/* ---- choosing (choose.c, PROFILE §2, §11) --------------------------- */

/* Index of each list field in es_options_list_fields. */
enum {
    ES_CH_OTR = 0, ES_CH_DISCLOSURE, ES_CH_SECURITY, ES_CH_MODP, ES_CH_CRYPT, ES_CH_HASH,
    ES_CH_SIGN, ES_CH_COMPRESS, ES_CH_STANZAS, ES_CH_VER, ES_CH_COUNT
};

/* What Bob can do. */
typedef struct es_bob_caps {
    int allow_weak_groups;  /* accept groups below 2048 bits */
    uint32_t rekey_freq;    /* his preference; 0: ES_SENDER_DEFAULT_REKEY */
    unsigned key_types;     /* bit (1u << esession_key_type) per signing key he holds */
} es_bob_caps;

/* Bob's choice: one value per list field (static strings, never pointing
 * into the offer), and what they mean. */
typedef struct es_choice {
    const char *value[ES_CH_COUNT];
    int group;
    es_suite suite;
    esession_key_type sign_type;
    uint32_t rekey_freq;
} es_choice;

/* For every list field the first of Alice's values Bob supports; groups
 * below 2048 bits only with allow_weak_groups; sign_algs only for a key
 * type Bob holds; rekey_freq = max(Bob's, Alice's). A field without a
 * supported value is ESESSION_ERR_UNSUPPORTED_OPTION (the field named in
 * ctx). */
esession_status es_sender_choose(esession_ctx *ctx, const es_offer *offer,
                                 const es_bob_caps *caps, es_choice *out);

/* ---- session state (sender_state.c) -------------------------------- */

/* What does not change during a session. */
typedef struct es_sender_info {
    es_choice choice;
    int64_t expires;             /* Alice's options; INT64_MAX: unknown (a record of 0.1) */
    int single_stanza;
    int no_fallback;             /* no clear <body> in the stanzas */
    uint8_t e[ES_SENDER_E_MAX];  /* Alice's e for the chosen group (re-keys) */
    size_t e_len;
    char thread[ES_SENDER_THREAD_HEX + 1];
    char *bob_jid;               /* full JID */
    char *alice_jid;             /* bare JID */
    char *match_resource;        /* NULL: none */
    char *init;                  /* the <init> element text; NULL once sent */
    size_t init_len;
} es_sender_info;

/* What every stanza advances; lives in guarded memory. */
typedef struct es_sender_progress {
    uint64_t seq;                /* bumped on every store */
    int init_pending;            /* the first stanza is still to be sent */
    uint8_t ctr[ES_AES_BLOCK];   /* C for the next stanza */
    uint64_t stanzas;            /* stanzas sealed under the current keys */
    uint64_t blocks;             /* counter values used under the current keys */
    uint32_t epoch;              /* re-keys done */
    es_dir_keys keys;            /* current KC_B, KM_B */
} es_sender_progress;

/* Versioned binary record (into a secret buffer), and its bounded
 * decoding: anything off is ESESSION_ERR_CORRUPT and leaves the outputs
 * untouched. The init text is written only while init_pending. */
esession_status es_sender_state_encode(esession_ctx *ctx, const es_sender_info *info,
                                       const es_sender_progress *prog, esession_buf *out);
esession_status es_sender_state_decode(esession_ctx *ctx, const uint8_t *data, size_t len,
                                       es_sender_info *info, es_sender_progress *prog);
void es_sender_info_clear(es_sender_info *info);

/* "bob/session/<alice>" into name (ES_BLOB_NAME_MAX + 1 octets);
 * ESESSION_ERR_LIMIT if the JID makes it too long. */
esession_status es_sender_blob_name(esession_ctx *ctx, const char *alice_bare_jid,
                                    char *name, size_t cap);

/* ---- the sender object (sender.c, sender_seal.c) ------------------- */

struct esession_sender {
    esession_ctx *ctx;
    esession_keystore *ks;
    es_sender_info info;
    es_sender_progress *prog;            /* guarded memory */
    es_chan *chan;                       /* the current KC_B, KM_B */
    char name[ES_BLOB_NAME_MAX + 1];     /* the keystore record */
    uint64_t version;                    /* of the record prog matches (es_ks_blob_put_v) */
    uint64_t rollbacks;                  /* es_tx_rollbacks when prog was current */
    int ended;
};

/* A sender over info (taken over on success, left alone on failure) and
 * a copy of prog; chan (taken over on success) may be NULL to key a new
 * one from prog. */
esession_status es_sender_make(esession_ctx *ctx, esession_keystore *ks, es_sender_info *info,
                               const es_sender_progress *prog, es_chan *chan,
                               esession_sender **out);
/* Replace what s holds with the stored record data (another handle or
 * process advanced the session): info, progress and keys. */
esession_status es_sender_reload(esession_sender *s, const uint8_t *data, size_t len,
                                 uint64_t version);
/* Write info with prog as the stored record of s. */
esession_status es_sender_store(esession_sender *s, const es_sender_progress *prog);
/* The session is over: keys wiped, the host told (the record is already
 * gone). */
void es_sender_end(esession_sender *s);

/* ---- the client's message (message_in.c) ---------------------------- */

/* Parse the client's <message/> (jabber:client or no namespace): type
 * chat or normal (absent: normal; groupchat, headline, error:
 * ESESSION_ERR_UNSUPPORTED); to Alice's bare JID or one of her full JIDs
 * (else ESESSION_ERR_INVALID_ARGUMENT). m = every child element except
 * thread, amp, error, delay and ESession elements, each serialized with
 * its namespace declarations (the stanza's own jabber:client namespace is
 * left implicit, as in XEP-0187 §4), then the SHIM Created header for now.
 * Only chat states, or nothing: ESESSION_ERR_STATE ("not sent"). m is a
 * secret buffer; type gets "chat" or "normal". */
esession_status es_sender_message_in(esession_ctx *ctx, const char *alice_bare_jid,
                                     const char *message, size_t len, int64_t now,
                                     char type[ES_SENDER_TYPE_MAX], esession_buf *m);
/* The same for an online session (PROFILE §12.9): no SHIM header, and
 * content made only of chat states is sent. */
esession_status es_message_plain_in(esession_ctx *ctx, const char *peer_bare_jid,
                                    const char *message, size_t len,
                                    char type[ES_SENDER_TYPE_MAX], esession_buf *m);

/* ---- fixed-input entry points (sender.c) ---------------------------- */

/* Values normally drawn with es_random; NULL members are drawn. */
typedef struct es_sender_fixed {
    const uint8_t *y;        /* mpint(y) */
    size_t y_len;
    const uint8_t *n_b;      /* N_B, 16..64 octets */
    size_t n_b_len;
    const uint8_t *c_a;      /* C_A, 16 octets */
    const char *thread;      /* 32 lowercase hex digits */
} es_sender_fixed;

/* Everything a start computed, for known-answer checks. Holds secrets:
 * release with es_sender_start_trace_clear. */
typedef struct es_sender_start_trace {
    es_choice chosen;
    esession_buf d;              /* mpint(d) */
    es_session_keys *keys;       /* K and the six keys */
    uint8_t c_b[ES_AES_BLOCK];
    esession_buf form_b;         /* normalized formB */
    es_id_sealed id;             /* pubKeyB, signB, macB, IDB, MB */
} es_sender_start_trace;
void es_sender_start_trace_clear(es_sender_start_trace *t);

/* Start from Alice's form as received (x, in a tree that outlives the
 * call) and the keys trusted for her: es_options_check at now, choose,
 * check e, draw (or take) y, N_B, C_A and the thread, derive the keys,
 * seal Bob's identity with his first keystore key of the chosen type,
 * build <init>, and store the state in ks before returning. A session
 * with Alice already stored is ESESSION_ERR_STATE. trace may be NULL. */
esession_status es_sender_start_form(esession_ctx *ctx, esession_keystore *ks,
                                     const char *bob_full_jid, const char *alice_bare_jid,
                                     const xmlNode *x, const esession_key *const *trusted,
                                     size_t n_trusted, int64_t now,
                                     const esession_sender_options *opt,
                                     const es_sender_fixed *fixed,
                                     es_sender_start_trace *trace, esession_sender **out);

/* Whether a stanza re-keys. AUTO is the policy of the public API: a
 * stanza carries <key> as soon as PROFILE §11 allows it, i.e. the
 * rekey_freq-th stanza under the current keys does (so every rekey_freq
 * stanzas). NEVER and NOW (with y' fixed, or drawn when y is NULL) follow
 * the caller; NOW before it is allowed is ESESSION_ERR_STATE. */
typedef enum es_rekey_mode {
    ES_REKEY_AUTO = 0,
    ES_REKEY_NEVER = 1,
    ES_REKEY_NOW = 2
} es_rekey_mode;

typedef struct es_sender_rekey {
    es_rekey_mode mode;
    const uint8_t *y;        /* mpint(y') for NOW; NULL: drawn */
    size_t y_len;
} es_sender_rekey;

/* What one seal did. Holds secrets: release with es_sender_seal_trace_clear. */
typedef struct es_sender_seal_trace {
    uint8_t counter_before[ES_AES_BLOCK];
    size_t mac_len;
    uint8_t a_mac[ES_HASH_MAX_BYTES];
    int rekeyed;
    esession_buf d_prime;        /* mpint(d') when rekeyed */
    es_dir_keys *keys_after;     /* the new KC_B, KM_B when rekeyed */
} es_sender_seal_trace;
void es_sender_seal_trace_clear(es_sender_seal_trace *t);

/* Seal m exactly as given (the serialized plaintext, SHIM header
 * included) as the next stanza of type `type` ("chat" or "normal").
 * Blocks under one key stay below 2^32 minus the termination reserve:
 * beyond, a re-key is made if allowed, else ESESSION_ERR_COUNTER_EXHAUSTED.
 * The advanced state is stored before the stanza is returned; if storing
 * fails nothing is returned and nothing changes. rekey and trace may be
 * NULL (AUTO, no trace). */
esession_status es_sender_seal_raw(esession_sender *s, const uint8_t *m, size_t m_len,
                                   const char *type, const es_sender_rekey *rekey,
                                   es_sender_seal_trace *trace, esession_buf *out);

/* The termination stanza (PROFILE §9) and the end of the session; trace
 * may be NULL. If no stanza was sent yet, Alice knows nothing of the
 * session: out stays empty and the state is erased. */
esession_status es_sender_terminate_traced(esession_sender *s, es_sender_seal_trace *trace,
                                           esession_buf *out);

/* Test hook: the stanzas and blocks used under the current keys (stored
 * before returning), to reach the 2^32-block bound without sealing it. */
esession_status es_sender_set_usage(esession_sender *s, uint64_t stanzas, uint64_t blocks);
/* Read them back (either pointer may be NULL). */
void es_sender_get_usage(const esession_sender *s, uint64_t *stanzas, uint64_t *blocks,
                         uint32_t *epoch, uint8_t ctr[ES_AES_BLOCK]);

/* Keep a stanza handed out to alice_bare_jid until it is marked sent
 * (outbox.c). */
esession_status es_outbox_put(esession_keystore *ks, const char *alice_bare_jid,
                              const esession_buf *stanza);

/* The termination content of PROFILE §9. */
extern const char es_sender_term_content[];

#endif
