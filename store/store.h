/* SPDX-License-Identifier: ISC */
/* Keystore internals used by the session engine: offline option sets
 * (N_A, the x of each offered group, expiry, the published form), their
 * replay memory, and opaque engine records. Every mutating call persists
 * the records it changes in one transaction before it returns; on failure
 * nothing changes, in memory or in the store. */
#ifndef ESESSION_STORE_H
#define ESESSION_STORE_H

#include "../core/core.h"

#define ES_OPTSET_MAX_GROUPS 8u
#define ES_NONCE_MAX 64u
#define ES_REPLAY_HASH 32u       /* SHA-256 */
#define ES_REPLAY_MAX 65536u     /* remembered sessions per option set */
#define ES_BLOB_NAME_MAX 256u
#define ES_BLOB_MAX (1u << 20)

typedef struct es_optset {
    uint8_t nonce[ES_NONCE_MAX]; /* N_A */
    size_t nonce_len;
    int64_t created;
    int64_t expires;
    size_t n_groups;
    int groups[ES_OPTSET_MAX_GROUPS];
    esession_buf x[ES_OPTSET_MAX_GROUPS]; /* mpint(x), secret; empty once destroyed */
    int secrets_destroyed;
    int open_node;                        /* published on the open node (XEP-0187 §3.1) */
    esession_buf form;                    /* the published options form (text) */
    size_t n_replay;                      /* sessions remembered */
} es_optset;

/* Add an option set; x[i] is mpint(x) for groups[i]. Copies everything.
 * A nonce already present is ESESSION_ERR_STATE. */
esession_status es_ks_optset_add(esession_keystore *ks, const uint8_t *nonce, size_t nonce_len,
                                 int64_t created, int64_t expires, const int *groups,
                                 const esession_buf *x, size_t n_groups,
                                 const char *form, size_t form_len);
/* NULL if no option set has this nonce. Valid until the next change. */
/* The same for a set published on the open node: coming online does not
 * withdraw it (XEP-0187 §6: it stays until Alice replaces it). */
esession_status es_ks_optset_add_open(esession_keystore *ks, const uint8_t *nonce,
                                      size_t nonce_len, int64_t created, int64_t expires,
                                      const int *groups, const esession_buf *x, size_t n_groups,
                                      const char *form, size_t form_len);
const es_optset *es_ks_optset_find(const esession_keystore *ks, const uint8_t *nonce,
                                   size_t nonce_len);
size_t es_ks_optset_count(const esession_keystore *ks);
const es_optset *es_ks_optset_at(const esession_keystore *ks, size_t index);
/* Wipe the x values (the set stays, with its replay memory, so replays are
 * still recognised). ESESSION_ERR_UNKNOWN_OPTIONS if absent. */
esession_status es_ks_optset_destroy_secrets(esession_keystore *ks, const uint8_t *nonce,
                                             size_t nonce_len);
/* Remove a set with its replay memory and records. */
esession_status es_ks_optset_remove(esession_keystore *ks, const uint8_t *nonce, size_t nonce_len);
/* Remove every set with expires < now; *removed (may be NULL) counts them. */
esession_status es_ks_optset_purge_expired(esession_keystore *ks, int64_t now, size_t *removed);

/* Replay memory of one option set (PROFILE §10 step 5): hashes of mpint(d),
 * of N_B and of the exact init stanza text of every accepted session.
 * check: ESESSION_OK if neither d nor N_B was seen; if both were seen in
 * the same accepted session with the same init hash, ESESSION_OK with
 * *duplicate = 1; otherwise ESESSION_ERR_REPLAY. Unknown nonce:
 * ESESSION_ERR_UNKNOWN_OPTIONS. record: persist one accepted session
 * (ESESSION_ERR_LIMIT beyond ES_REPLAY_MAX). */
esession_status es_ks_replay_check(esession_keystore *ks, const uint8_t *nonce,
                                   size_t nonce_len, const uint8_t d_hash[ES_REPLAY_HASH],
                                   const uint8_t nb_hash[ES_REPLAY_HASH],
                                   const uint8_t init_hash[ES_REPLAY_HASH], int *duplicate);
esession_status es_ks_replay_record(esession_keystore *ks, const uint8_t *nonce, size_t nonce_len,
                                    const uint8_t d_hash[ES_REPLAY_HASH],
                                    const uint8_t nb_hash[ES_REPLAY_HASH],
                                    const uint8_t init_hash[ES_REPLAY_HASH]);
/* What a check found, and when: a record in the same transaction with
 * nothing written since need not look again (the _noted forms; a note
 * from another transaction, or after a write, is ignored). */
typedef struct es_replay_note {
    uint64_t serial, writes;
    int seen; /* replay.c's verdict; 0: none */
    int valid;
    /* What the verdict is about: the set's nonce and the d, N_B and init
     * hashes; a record of anything else looks for itself. */
    uint8_t nonce[ES_NONCE_MAX];
    size_t nonce_len;
    uint8_t entry[3 * ES_REPLAY_HASH];
} es_replay_note;
esession_status es_ks_replay_check_noted(esession_keystore *ks, const uint8_t *nonce,
                                         size_t nonce_len, const uint8_t d_hash[ES_REPLAY_HASH],
                                         const uint8_t nb_hash[ES_REPLAY_HASH],
                                         const uint8_t init_hash[ES_REPLAY_HASH], int *duplicate,
                                         es_replay_note *note);
esession_status es_ks_replay_record_noted(esession_keystore *ks, const uint8_t *nonce,
                                          size_t nonce_len, const uint8_t d_hash[ES_REPLAY_HASH],
                                          const uint8_t nb_hash[ES_REPLAY_HASH],
                                          const uint8_t init_hash[ES_REPLAY_HASH],
                                          const es_replay_note *note);

/* Opaque records of the engine (for example a session's state), by
 * name, each a record of its own, encrypted. put replaces; get returns a
 * copy in a secret buffer or ESESSION_ERR_NO_SESSION if absent; delete of
 * an absent name is ESESSION_OK. The _v forms also give the record's
 * version, which changes with every write of it (by any process). */
esession_status es_ks_blob_put(esession_keystore *ks, const char *name, const uint8_t *data,
                               size_t len);
esession_status es_ks_blob_put_v(esession_keystore *ks, const char *name, const uint8_t *data,
                                 size_t len, uint64_t *version);
esession_status es_ks_blob_get(esession_keystore *ks, const char *name, esession_buf *out);
esession_status es_ks_blob_get_v(esession_keystore *ks, const char *name, esession_buf *out,
                                 uint64_t *version);
/* The version alone, without reading the record (NO_SESSION if absent). */
esession_status es_ks_blob_version(esession_keystore *ks, const char *name, uint64_t *version);
esession_status es_ks_blob_delete(esession_keystore *ks, const char *name);
/* Records named under these prefixes (held stanzas and messages, written
 * and removed again all the time) are kept apart from the others, in a
 * kind of their own: a store holding many sessions then writes and finds
 * them among each other, not among every session's records. */
#define ES_KS_OUTBOX_PREFIX "bob/outbox/"
#define ES_KS_INBOX_PREFIX "alice/inbox/"
/* Every record whose name begins with prefix (in no particular order). */
typedef esession_status (*es_ks_blob_each)(void *arg, const char *name, const uint8_t *data,
                                           size_t len, uint64_t version);
esession_status es_ks_blob_list(esession_keystore *ks, const char *prefix, es_ks_blob_each each,
                                void *arg);

/* Transactions (store/record.h): every engine operation brackets its
 * reads and writes in one, so that it works on the stored state and
 * nobody else's change slips in between. */
esession_status es_tx_begin(esession_keystore *ks, int write);
esession_status es_tx_end(esession_keystore *ks, esession_status rc);
uint64_t es_tx_rollbacks(const esession_keystore *ks);

/* Outside a transaction: bring the cached option sets, keys and trust
 * entries up to date with the store (a no-op inside one). A call that can
 * report a failure must: a stale trust store must not answer. */
esession_status es_ks_fresh(const esession_keystore *ks);

/* 1 if (bare JID, fingerprint) is in the trust store and marked verified,
 * 0 otherwise. */
int es_ks_trust_verified(const esession_keystore *ks, const char *bare_jid,
                         const uint8_t fp[ESESSION_FINGERPRINT_BYTES]);

/* Signing key `index` (as esession_keystore_key_at), decoded once per
 * handle and kept: a start or a publication signs without decoding the
 * PEM and setting up the key again. Borrowed: valid until the keystore's
 * signing keys change (the next transaction that reloads them), so use it
 * inside the transaction that asked for it. Needs a transaction. */
esession_status es_ks_signing_key(esession_keystore *ks, size_t index, const esession_key **out);

/* The context the keystore was opened with. */
esession_ctx *es_ks_ctx(const esession_keystore *ks);

/* ESESSION_OK, or ESESSION_ERR_STATE (detail in ctx) inside a client's
 * batch: for what must be durable before it returns. */
/* ctx and ks given and ks opened under ctx: every public call taking both
 * starts with this. */
esession_status es_ks_check(esession_ctx *ctx, const esession_keystore *ks);
esession_status es_ks_require_durable(esession_ctx *ctx, const esession_keystore *ks);

#endif
