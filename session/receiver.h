/* SPDX-License-Identifier: ISC */
/* Alice's side of an offline ESession (XEP-0187 §3.4; PROFILE §10, §11):
 * received stanzas read once, the acceptance of an <init> (§10), the
 * order, loss and damage rules of §11 (used counter ranges, gaps, the
 * N + k window, held stanzas, key epochs, duplicates), the session state
 * kept in the keystore, and the result queue behind esession_receiver_*.
 *
 * Counters are kept as offsets from C_B (IDB starts at offset 0), so the
 * 2^128 wrap is one addition when a counter block is formed. */
#ifndef ESESSION_RECEIVER_H
#define ESESSION_RECEIVER_H

#include "scrypto.h"

#include "../forms/normalize.h"
#include "../store/store.h"

#define ES_RX_INIT_NS "http://www.xmpp.org/extensions/xep-0116.html#ns-init"
#define ES_RX_CLIENT_NS "jabber:client"

#define ES_RX_WINDOW (1u << 16)      /* N + k, k = 1 .. 2^16 (§11) */
#define ES_RX_HELD_MAX 32u           /* held stanzas per session (§11) */
#define ES_RX_EPOCHS_MAX 17u         /* the current keys and 16 earlier epochs (§11) */
#define ES_RX_GAPS_MAX 32u           /* gaps below N kept per session */
#define ES_RX_RANGES_MAX (ES_RX_GAPS_MAX + 1u)
#define ES_RX_MACS_MAX 1024u         /* accepted a_macs remembered per session for duplicates */
#define ES_RX_MAC_PRINT 8u           /* octets of an a_mac remembered (its first ones) */
#define ES_RX_HELD_BYTES (512u * 1024u) /* stanza text held per session */
#define ES_RX_THREAD_MAX 1024u       /* octets of a <thread> */
#define ES_RX_JID_MAX 3071u          /* octets of a bare JID (RFC 7622) */
#define ES_RX_FULL_JID_MAX 4095u     /* bare JID, '/', resource */
#define ES_RX_CACHE_MAX 128u         /* sessions a receiver keeps in memory */
/* The work a stanza can cause, in MAC tries (see es_rx_search). */
#define ES_RX_TRIES_SEARCH (1u << 17) /* one search: the whole window and as much again */
#define ES_RX_TRIES_BURST (1u << 19)  /* a session's budget, full when it is loaded */
#define ES_RX_TRIES_FEED (1u << 13)   /* added to it by each <c> stanza fed to it */
#define ES_RX_TRIED_MAX 8u            /* spans of counters remembered per held stanza */
#define ES_RX_BLOB_PREFIX "alice/session/"
/* A session's older a_mac prints, in a record of their own (the same name
 * after this prefix), rewritten only when more than ES_RX_MACS_JOURNAL
 * newer ones have gathered in the session's record. */
#define ES_RX_RING_PREFIX "alice/macs/"
#define ES_RX_MACS_JOURNAL 64u
#define ES_RX_INBOX_PREFIX ES_KS_INBOX_PREFIX /* a queue record (store.h) */

/* ---- a received <message/> (stanza_in.c) ----------------------------- */

typedef struct es_rx_stanza {
    xmlDocPtr doc;
    char *from;            /* full JID as received; NULL if absent */
    char *bare;            /* from without its resource; NULL if absent */
    char *thread;          /* NULL if absent */
    esession_status valid; /* ESESSION_OK, or why the stanza is malformed */
    int plain;             /* no ESession element: an unencrypted message (valid, but
                            * with no <c>, and perhaps no from or thread) */
    const xmlNode *init_x; /* the <x> of an <init>, NULL without <init> */
    const xmlNode *c;      /* the one <c> */
    es_c_open *copen;      /* <c> checked and decoded (es_c_parse) */
    const uint8_t *m_content; /* what a_mac covers besides the counter (in copen) */
    size_t m_content_len;
    int has_delay;         /* XEP-0203 (or legacy XEP-0091) stamp */
    int64_t delay;
    char *delay_from;      /* NULL if absent */
} es_rx_stanza;

/* Parse a received stanza. Fails (ESESSION_ERR_MALFORMED) only when the
 * text is no XML document with a <message/> root (jabber:client or no
 * namespace); everything else that is wrong leaves *out set with valid =
 * ESESSION_ERR_MALFORMED (reason in ctx) and the addresses read so far,
 * so that the caller can say whose stanza it discarded. A valid stanza
 * has from, thread, exactly one <c> (checked by es_c_parse) and at most
 * one <init> holding one jabber:x:data <x>; its type is chat, normal or
 * absent. */
esession_status es_rx_stanza_read(esession_ctx *ctx, const char *text, size_t len,
                                  es_rx_stanza **out);
void es_rx_stanza_free(es_rx_stanza *s);

/* A child the server adds to a message it stores or delivers (the XEP-0203
 * or legacy delay stamp, the XEP-0013 marker, a stanza-id), not Bob's. */
int es_rx_server_mark(const xmlNode *e);

/* SHA-256 of the stanza's text without the server's marks: the same for
 * two copies the server delivered of one stanza Bob sent (each with its
 * own delay stamp), different for any change of Bob's own octets. */
esession_status es_rx_sender_text_hash(const es_rx_stanza *st, const char *text, size_t len,
                                       uint8_t out[32]);

/* A PLAIN result for an unencrypted message (plain_in.c). */
esession_status es_rx_plain_result(esession_ctx *ctx, const es_rx_stanza *st, const char *text,
                                   size_t len, uint64_t tag, esession_result *out);

/* ---- decrypted content (content_in.c) -------------------------------- */

typedef struct es_rx_content {
    int terminate;        /* Bob's termination form (PROFILE §9) */
    unsigned profile;     /* ESESSION_PROFILE_* bits, metadata excluded */
    int has_created;
    int64_t created;      /* the one SHIM Created header */
} es_rx_content;

/* Read the plaintext m (a sequence of elements, possibly empty). Text
 * nodes of the parsed copy are wiped before it is released. Not XML:
 * ESESSION_ERR_MALFORMED with a reason that quotes nothing of m. */
esession_status es_rx_content_read(esession_ctx *ctx, const uint8_t *m, size_t n,
                                   es_rx_content *out);
/* m (n > 0 octets) parsed inside a jabber:client wrapper, so that an
 * unqualified <body/> means what it means in a stanza; the wrapper's
 * children are m's elements. Free with es_xml_wipe_text, then xmlFreeDoc. */
esession_status es_rx_content_parse(esession_ctx *ctx, const uint8_t *m, size_t n,
                                    xmlDocPtr *doc);

/* ---- MAC search (mac_scan.c) ----------------------------------------- */

/* One epoch's MAC key, processed once: a stanza's m_content is absorbed
 * once (prefix), then each candidate counter costs one HMAC finish. */
typedef struct es_rx_scan es_rx_scan;

esession_status es_rx_scan_new(const esession_ctx *ctx, const es_dir_keys *keys,
                               es_rx_scan **out);
/* Start a stanza: absorb m_content (drops any previous one). */
esession_status es_rx_scan_prefix(es_rx_scan *s, const uint8_t *m, size_t n);
/* 1 if HMAC(KM, m_content || ctr) equals mac (constant-time), 0 if not,
 * a negative status if the hash failed. Needs es_rx_scan_prefix first. */
int es_rx_scan_try(es_rx_scan *s, const uint8_t ctr[ES_AES_BLOCK], const uint8_t *mac,
                   size_t mac_len);
void es_rx_scan_free(es_rx_scan *s);

/* ---- session bookkeeping (order.c) ----------------------------------- */

typedef struct es_rx_range {
    uint64_t lo, hi; /* [lo, hi), offsets from C_B */
} es_rx_range;

/* Keys that apply from offset start up to the next epoch's start. The
 * keyed cipher, MAC and search states are made when a stanza needs them
 * and kept for the newest epoch only (es_rx_epoch_add lets the others
 * go): a session holds its keys, not a keyed state per re-key. */
typedef struct es_rx_epoch {
    uint64_t start;
    es_dir_keys *keys; /* guarded memory */
    es_chan *chan;     /* NULL until es_rx_epoch_keyed */
    es_rx_scan *scan;  /* NULL until es_rx_epoch_searching */
    const esession_ctx *ctx; /* whose pool the keyed states come from */
} es_rx_epoch;

/* Start counters a stanza was tried at under epoch generation gen: none
 * of them can verify while gen stays (the epochs are the same, and used
 * ranges only grow). Spans that fit no more are dropped, smallest first;
 * they are then tried again, which is only work. */
typedef struct es_rx_tried {
    uint64_t gen;
    size_t n;
    es_rx_range v[ES_RX_TRIED_MAX]; /* sorted, disjoint, not adjacent */
} es_rx_tried;

typedef struct es_rx_held {
    uint64_t tag;
    char *text;         /* the stanza as received */
    size_t len;
    es_rx_stanza *st;
    es_rx_tried tried;
    int pending;        /* its last search ran out of tries: not done yet */
} es_rx_held;

/* What one acceptance changes; copied whole to undo a failed write. */
typedef struct es_rx_core {
    es_rx_range ranges[ES_RX_RANGES_MAX]; /* sorted, disjoint, not adjacent */
    size_t n_ranges;
    es_rx_epoch *epochs[ES_RX_EPOCHS_MAX]; /* sorted by start */
    size_t n_epochs;
    uint64_t epoch_gen;                   /* changes whenever epochs do */
    es_rx_held *held[ES_RX_HELD_MAX];     /* in arrival order */
    size_t n_held;
    size_t held_bytes;
    size_t mac_head, n_macs;              /* ring of accepted a_macs' prints */
    size_t macs_journal;                  /* the newest prints not in the ring record */
    uint64_t ring_version;                /* of the ring record; 0: none */
    int terminated;
} es_rx_core;

typedef struct es_rx_session {
    uint8_t n_a[ES_NONCE_MAX];
    size_t n_a_len;
    char *bare;
    char *thread;
    uint8_t init_hash[ES_REPLAY_HASH];  /* SHA-256 of the init stanza text */
    uint8_t key_fp[ESESSION_FINGERPRINT_BYTES]; /* Bob's identity key */
    int key_by_host;                    /* trusted by the host's hook, not the store */
    int key_known;                      /* 0: a record of format 1, without the key */
    int64_t opened;                     /* when the init was accepted */
    uint8_t c_b[ES_AES_BLOCK];
    es_suite suite;
    int group;
    size_t mac_len;
    /* The first ES_RX_MAC_PRINT octets of the accepted a_macs: a ring
     * grown with what the session has seen, up to ES_RX_MACS_MAX. */
    uint8_t (*macs)[ES_RX_MAC_PRINT];
    size_t macs_cap;
    es_rx_core core;
    char name[ES_BLOB_NAME_MAX + 1];    /* its keystore record */
    uint64_t version;                   /* of the record this copy matches; 0: unknown */
    uint64_t rollbacks;                 /* es_tx_rollbacks when it was read or written */
    uint64_t tries_left;                /* MAC tries its searches may still make */
    uint64_t tries;                     /* MAC tries made (prefixes counted), for tests */
} es_rx_session;

/* A new session without epochs, ranges or stanzas, its budget full. */
esession_status es_rx_session_new(const uint8_t *n_a, size_t n_a_len, const char *bare,
                                  const char *thread, es_suite suite, int group,
                                  es_rx_session **out);
/* Frees the session, its epochs (keys wiped) and held stanzas. */
void es_rx_session_free(es_rx_session *s);

/* An epoch for keys (copied), or ESESSION_ERR_NO_MEMORY / _INTERNAL. */
esession_status es_rx_epoch_new(esession_ctx *ctx, const es_dir_keys *keys, uint64_t start,
                                es_rx_epoch **out);
/* Make e's keyed cipher and MAC if it has none; and (searching) the states
 * that try many counters, only needed for a stanza out of order. */
esession_status es_rx_epoch_keyed(es_rx_epoch *e);
esession_status es_rx_epoch_searching(es_rx_epoch *e);
void es_rx_epoch_free(es_rx_epoch *e);

/* N: the end of the highest used range. */
uint64_t es_rx_next(const es_rx_core *c);
/* The counter block C_B + off mod 2^128. */
void es_rx_counter(const es_rx_session *s, uint64_t off, uint8_t out[ES_AES_BLOCK]);
/* Mark [lo, hi) used. When more than ES_RX_GAPS_MAX gaps would remain,
 * the lowest gaps are given up (treated as used). Never fails. */
void es_rx_range_add(es_rx_core *c, uint64_t lo, uint64_t hi);
/* Insert an epoch (sorted by start). Beyond ES_RX_EPOCHS_MAX the oldest is
 * taken out and returned in *dropped (the caller frees it once the change
 * is kept); an epoch older than all kept ones when the list is full comes
 * back in *dropped itself. Epochs other than the newest let their keyed
 * states go (made again if a late stanza needs them). */
void es_rx_epoch_add(es_rx_core *c, es_rx_epoch *e, es_rx_epoch **dropped);
/* Is this a_mac one already accepted? (Its first ES_RX_MAC_PRINT octets
 * are compared: two distinct MACs share them with probability 2^-64.) */
int es_rx_mac_seen(const es_rx_session *s, const uint8_t *mac, size_t len);
/* Room for one more remembered a_mac (the ring grows with what the
 * session has seen); ESESSION_ERR_NO_MEMORY changes nothing. */
esession_status es_rx_mac_reserve(es_rx_session *s);
/* Remember an accepted a_mac (room reserved; the oldest is forgotten
 * beyond ES_RX_MACS_MAX). *saved (ES_RX_MAC_PRINT octets) receives the
 * slot it replaced, for es_rx_mac_undo. */
void es_rx_mac_add(es_rx_session *s, const uint8_t *mac, size_t len, uint8_t *saved);
/* Put back the slot es_rx_mac_add replaced (after restoring the core). */
void es_rx_mac_undo(es_rx_session *s, const es_rx_core *before, const uint8_t *saved);
/* Take held[i] out of the list (not freed). */
es_rx_held *es_rx_held_take(es_rx_core *c, size_t i);
void es_rx_held_free(es_rx_held *h);

/* ---- the search for S (search.c) ------------------------------------ */

/* How far a search may go. */
typedef struct es_rx_reach {
    uint64_t window;  /* N + k, k = 1 .. window */
    uint64_t limit;   /* MAC tries, at most (and at most s->tries_left) */
    int exact_only;   /* only S = N and the two ends of each gap */
} es_rx_reach;

#define ES_RX_FOUND 1
#define ES_RX_STOPPED 2 /* out of tries before every candidate was tried */

/* Search for the start counter of st (PROFILE §11), each candidate S
 * under the epoch whose range holds S: first where a stanza most likely
 * starts (S = N, then each gap's first and last S that fit), then N + k for
 * k = 1 .. window ascending, then every other S that fits a gap,
 * ascending (no N, no window after termination). Each MAC try costs one
 * try, absorbing m_content for an epoch 1 + m_content_len / 128 (about
 * its hashing work); s->tries counts them, and s->tries_left pays for them
 * unless the stanza is found. tried (may
 * be NULL) skips the candidates earlier searches excluded and is updated.
 * Returns ES_RX_FOUND with *off and *epoch on a MAC match, 0 when every
 * candidate was tried (exact_only: every exact one), ES_RX_STOPPED when
 * the tries ran out first, or a negative status. */
int es_rx_search(es_rx_session *s, const es_rx_stanza *st, const es_rx_reach *reach,
                 es_rx_tried *tried, uint64_t *off, es_rx_epoch **epoch);
/* Forget every span (as for a new stanza). */
void es_rx_tried_clear(es_rx_tried *t);

/* ---- persistence (recv_state.c) -------------------------------------- */

/* The record name of a session: ES_RX_BLOB_PREFIX + bare JID + "/" +
 * thread, or, when that exceeds ES_BLOB_NAME_MAX, ES_RX_BLOB_PREFIX + "#" +
 * hex(SHA-256(bare JID || 0 || thread)): one session per JID and thread. */
esession_status es_rx_name_for(const char *bare, const char *thread,
                               char name[ES_BLOB_NAME_MAX + 1]);
esession_status es_rx_state_name(es_rx_session *s);
/* Write the session state into its record (and, when more than
 * ES_RX_MACS_JOURNAL prints are not yet in it, the ring record first);
 * s->version follows. */
esession_status es_rx_state_save(esession_keystore *ks, es_rx_session *s);
/* Decode one record (bounded, strict: anything unexpected is
 * ESESSION_ERR_CORRUPT); held stanzas are parsed again. The prints of the
 * ring record are not in it: es_rx_state_attach_ring adds them. */
esession_status es_rx_state_load(esession_ctx *ctx, const char *name, const uint8_t *data,
                                 size_t len, es_rx_session **out);
/* Read the ring record a loaded session names, if any, checked to be the
 * version its record names, and put its prints before the newer ones. */
esession_status es_rx_state_attach_ring(esession_keystore *ks, es_rx_session *s);
/* The ring record's name for a session record's name. */
esession_status es_rx_ring_name(const char *name, char out[ES_BLOB_NAME_MAX + 1]);
/* Remove the session's record and its ring record. */
esession_status es_rx_state_erase(esession_keystore *ks, const es_rx_session *s);
/* The option set and JID of a record, read without loading it (pointers
 * into data); 0 if the record's start is not a session's. */
typedef struct es_rx_peek {
    const uint8_t *n_a;
    size_t n_a_len;
    const char *bare; /* not NUL-terminated */
    size_t bare_len;
} es_rx_peek;
int es_rx_state_peek(const uint8_t *data, size_t len, es_rx_peek *out);

/* ---- the receiver (receiver.c, accept.c, open_init.c) ------------------ */

#define ES_RX_DH_CACHE 8u /* Alice's exponents kept ready (option set, group) */

typedef struct es_rx_dh_entry {
    uint8_t nonce[ES_NONCE_MAX];
    size_t nonce_len;
    int group;
    es_dh *dh;
} es_rx_dh_entry;

/* Alice's own published form of an option set, parsed once (it never
 * changes for its nonce). */
struct es_options;
typedef struct es_rx_offer_entry {
    uint8_t nonce[ES_NONCE_MAX];
    size_t nonce_len;
    xmlDocPtr doc;
    struct es_options *opt; /* points into doc */
} es_rx_offer_entry;

struct esession_receiver {
    esession_ctx *ctx;
    esession_keystore *ks;
    es_rx_session **sessions;
    size_t n_sessions, cap_sessions;
    esession_result *queue;       /* ring of results not yet taken */
    size_t q_head, q_len, q_cap;
    uint64_t window;
    uint64_t search_tries, feed_tries, burst_tries; /* ES_RX_TRIES_* */
    size_t cache_max;             /* sessions kept in memory */
    es_rx_dh_entry dh[ES_RX_DH_CACHE];
    size_t n_dh;
    es_rx_offer_entry offers[ES_RX_DH_CACHE];
    size_t n_offers;
};

/* ---- Alice's exponents (rx_dh.c) --------------------------------------- */

/* Alice's x for (N_A, group) as an es_dh, loaded from the option set once
 * (es_dh_from_private also computes e, an exponentiation) and kept while
 * the set keeps its secrets. ESESSION_ERR_UNKNOWN_OPTIONS if the set is
 * gone or its exponents were destroyed. Valid until the next call. */
esession_status es_rx_dh(esession_receiver *r, const uint8_t *n_a, size_t n_a_len, int group,
                         const es_dh **out);
/* Drop the exponents of sets that are gone or destroyed, and the parsed
 * forms of sets that are gone (all: everything). */
void es_rx_dh_sweep(esession_receiver *r, int all);
/* Alice's stored form of set, parsed (es_options_read) once and kept while
 * the set is: ESESSION_ERR_CORRUPT if it cannot be read. Valid until the
 * next call. */
esession_status es_rx_offer(esession_receiver *r, const es_optset *set,
                            const struct es_options **out);

/* Room for n more results (so that a result is never lost after the
 * state it reports was written). */
esession_status es_rx_queue_reserve(esession_receiver *r, size_t n);
/* Queue a result (room reserved); an ERROR also raises
 * ESESSION_EVENT_DISCARDED. */
void es_rx_queue_push(esession_receiver *r, esession_result *res);
/* A result for st (or its text when st is NULL): tag, kind, addresses
 * and delay filled; plaintext empty. */
esession_status es_rx_result_init(esession_result *res, uint64_t tag, esession_result_kind kind,
                                  esession_status error, const es_rx_stanza *st);

es_rx_session *es_rx_find_session(const esession_receiver *r, const char *bare,
                                  const char *thread);
/* Room for one more session. */
esession_status es_rx_sessions_reserve(esession_receiver *r);
/* Add a session (room reserved), replacing one with the same bare JID and
 * thread, which ends: its held stanzas become bad-mac results (room for
 * them reserved too). */
void es_rx_add_session(esession_receiver *r, es_rx_session *s);
/* End session i: held stanzas → ERROR bad-mac results, keys wiped, its
 * record erased when erase is set, ESESSION_EVENT_SESSION_ENDED. */
esession_status es_rx_end_session(esession_receiver *r, size_t i, int erase);

/* Accept st at offset off under epoch ep (its MAC verified there): decrypt,
 * re-key, read the content, update and write the session state, then fill
 * res (MESSAGE, TERMINATED, or ERROR when the content or the re-key value
 * is unusable; DUPLICATE when deliver is 0). held_index >= 0 takes that
 * held stanza out in the same change; terminate_after marks the session
 * terminated (formB terminate=1). checked: the reference check
 * (es_c_verify under ep's keyed chan at off) has just passed, so it is not
 * made again; else it is made here. On failure (ESESSION_ERR_BAD_MAC: the
 * reference check disagreed; or a storage error) nothing changed. */
esession_status es_rx_accept(esession_receiver *r, es_rx_session *s, const es_rx_stanza *st,
                             uint64_t off, es_rx_epoch *ep, int checked, int deliver,
                             long held_index, int terminate_after, uint64_t tag,
                             esession_result *res);

/* PROFILE §10 for a stanza with <init> (text, len: its exact text). On
 * ESESSION_OK res is the stanza's own result (MESSAGE, TERMINATED,
 * DUPLICATE, or ERROR for unusable content) and *opened the session it
 * opened, if any, for the caller to add once the result is queued (room
 * for it reserved beforehand). Any other status is the reason the stanza
 * is discarded; nothing was kept but, after step 8, its replay record. */
esession_status es_rx_open_init(esession_receiver *r, const es_rx_stanza *st, const char *text,
                                size_t len, uint64_t tag, esession_result *res,
                                es_rx_session **opened);

/* ---- the inbox (inbox.c) ---------------------------------------------- */

/* The id of the message at start counter S of (bare, thread): the same
 * in every process and on every redelivery. */
esession_status es_rx_message_id(const char *bare, const char *thread,
                                 const uint8_t S[ES_AES_BLOCK], char id[ESESSION_MESSAGE_ID_MAX]);
/* Keep a MESSAGE result (id filled) until it is confirmed. */
esession_status es_rx_inbox_put(esession_keystore *ks, const esession_result *res);

/* Retry the held stanzas of s, within its budget: after its keys or
 * ranges changed (changed = 1) every one, first at the exact places, then
 * further; otherwise only those whose search ran out of tries, where it
 * stopped. Results are queued in the order they open. */
void es_rx_retry_held(esession_receiver *r, es_rx_session *s, int changed);

/* Tests: the N + k window (default ES_RX_WINDOW), the budget (defaults
 * ES_RX_TRIES_SEARCH, _FEED, _BURST), and how many sessions stay in memory
 * (default ES_RX_CACHE_MAX, at least 1). */
void es_rx_set_window(esession_receiver *r, uint64_t window);
void es_rx_set_tries(esession_receiver *r, uint64_t search, uint64_t feed, uint64_t burst);
void es_rx_set_cache_max(esession_receiver *r, size_t n);

#endif
