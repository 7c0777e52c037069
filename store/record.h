/* SPDX-License-Identifier: ISC */
/* Records and transactions (docs/keystore.md): every piece of state is a
 * small record named by a keyed hash of (kind, name), sealed with
 * XChaCha20-Poly1305 under the store's record key, with associated data
 * binding the store, the kind, the id and the record's version. Every
 * keystore operation runs in one transaction of the storage backend. */
#ifndef ESESSION_STORE_RECORD_H
#define ESESSION_STORE_RECORD_H

#include "../core/core.h"

#define ES_REC_ID_BYTES 32u
#define ES_STORE_ID_BYTES 16u
/* The largest record payload (a session with its held stanzas, an option
 * set with its form). */
#define ES_REC_PAYLOAD_MAX (2u * 1024u * 1024u)

typedef enum es_rec_kind {
    ES_REC_META = 0,   /* header (in clear) and generation counters */
    ES_REC_KEY = 1,    /* a signing key */
    ES_REC_TRUST = 2,  /* a trust entry */
    ES_REC_OPTSET = 3, /* an option set */
    ES_REC_REPLAY = 4, /* one d or N_B of an accepted session */
    ES_REC_BLOB = 5,   /* an engine record (a session's state) */
    ES_REC_QUEUE = 6,  /* an engine record that comes and goes: a held stanza or message */
    ES_REC_KINDS = 7
} es_rec_kind;

/* Kinds counted by generation records of formats 0 and 1 (the queue's
 * records were engine records then). */
#define ES_REC_KINDS_V1 6u

/* Start a transaction (write = 1 for one that may change records) or join
 * the one running. The outermost begin takes the backend's lock and makes
 * the cached keys, trust entries and option sets current. A write inside a
 * read-only transaction is ESESSION_ERR_INTERNAL. */
esession_status es_tx_begin(esession_keystore *ks, int write);
/* End what es_tx_begin started: rc is the operation's result. A failure
 * at any depth dooms the transaction; the outermost end commits (when
 * nothing failed) or rolls back. Returns rc, or the commit's failure. */
esession_status es_tx_end(esession_keystore *ks, esession_status rc);
/* Start the first transaction of a new, empty store (no generation
 * record to read yet). */
esession_status es_tx_begin_new(esession_keystore *ks);
/* Write a record as is, unsealed (only the header). */
esession_status es_rec_put_raw(esession_keystore *ks, es_rec_kind kind,
                               const uint8_t id[ES_REC_ID_BYTES], const uint8_t *data,
                               size_t len);
/* How many transactions were rolled back on this handle: engine objects
 * holding copies of records reload them when it changes. */
uint64_t es_tx_rollbacks(const esession_keystore *ks);

/* A record's payload into a secret buffer and its version (either may be
 * NULL to skip). Absent: ESESSION_ERR_NO_SESSION. Damaged, moved or from
 * a newer store: ESESSION_ERR_CORRUPT. Needs a transaction. */
esession_status es_rec_get(esession_keystore *ks, es_rec_kind kind, const void *name,
                           size_t name_len, esession_buf *out, uint64_t *version);
/* The same without the version index check (for the index itself). */
esession_status es_rec_get_raw(esession_keystore *ks, es_rec_kind kind, const void *name,
                               size_t name_len, esession_buf *out, uint64_t *version);
/* Only the version (unauthenticated: for telling whether a copy is still
 * current; the copy itself was authenticated when it was read). */
esession_status es_rec_version(esession_keystore *ks, es_rec_kind kind, const void *name,
                               size_t name_len, uint64_t *version);
/* Insert or replace; owner (ES_REC_ID_BYTES or NULL) groups records
 * removed together. *version (may be NULL) gets the version written. */
esession_status es_rec_put(esession_keystore *ks, es_rec_kind kind, const void *name,
                           size_t name_len, const uint8_t *owner, const void *data, size_t len,
                           uint64_t *version);
/* The same at an earlier version (0 < version <= the commits so far), for
 * a record moved to another kind: it keeps its place among the others. */
esession_status es_rec_put_at(esession_keystore *ks, es_rec_kind kind, const void *name,
                              size_t name_len, const void *data, size_t len, uint64_t version);
/* Remove (absent is ESESSION_OK). */
esession_status es_rec_del(esession_keystore *ks, es_rec_kind kind, const void *name,
                           size_t name_len);
/* Every record of kind (and of owner when not NULL), decrypted; each
 * returns ESESSION_OK to go on. The payload is valid during the call. */
typedef esession_status (*es_rec_each)(void *arg, const uint8_t *name, size_t name_len,
                                       const uint8_t *data, size_t len, uint64_t version);
esession_status es_rec_list(esession_keystore *ks, es_rec_kind kind, const uint8_t *owner,
                            es_rec_each each, void *arg);
/* The id of (kind, name): a keyed hash, so names never reach storage. */
void es_rec_id(const esession_keystore *ks, es_rec_kind kind, const void *name,
               size_t name_len, uint8_t out[ES_REC_ID_BYTES]);

#endif
