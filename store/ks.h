/* SPDX-License-Identifier: ISC */
/* Private to store/: the keystore object, its items and their limits.
 * Layout on disk: docs/keystore.md. */
#ifndef ESESSION_STORE_KS_H
#define ESESSION_STORE_KS_H

#include "store.h"
#include "crypt.h"
#include "file.h"
#include "record.h"

/* Counts and sizes a keystore accepts (and decodes). */
#define ES_KS_MAX_KEYS 64u
#define ES_KS_MAX_TRUST 4096u
#define ES_KS_MAX_OPTSETS 256u
#define ES_KS_MAX_BLOBS 4096u
#define ES_KS_JID_MAX ESESSION_JID_MAX
#define ES_KS_PETNAME_MAX 1024u
#define ES_KS_PEM_MAX 16384u       /* PKCS#8 PEM of the largest key */
#define ES_KS_KEYVALUE_MAX 16384u  /* as ES_KEYVALUE_MAX in crypto/sig.h */
#define ES_KS_X_MAX 1040u          /* mpint(x) for an 8192-bit group */
#define ES_KS_FORM_MAX (256u * 1024u)
#define ES_KS_PASSPHRASE_MAX 4096u

/* A growable array of owned item pointers. */
typedef struct es_vec {
    void **v;
    size_t n;
    size_t cap;
} es_vec;

/* Room for one more item, at most max in all (else ESESSION_ERR_LIMIT). */
esession_status es_vec_reserve(es_vec *vec, size_t max);
/* Append; the caller reserved room first, so this cannot fail. */
void es_vec_push(es_vec *vec, void *item);
void *es_vec_pop(es_vec *vec);
/* Remove item i keeping the order, and undo that (room is still there). */
void *es_vec_take(es_vec *vec, size_t i);
void es_vec_put_back(es_vec *vec, size_t i, void *item);
void es_vec_free(es_vec *vec, void (*item_free)(void *));
/* es_vec_reserve with the failure recorded in ctx ("what": the items). */
esession_status es_ks_reserve(esession_ctx *ctx, es_vec *vec, size_t max, const char *what);

typedef struct es_ks_key {
    uint8_t fp[ESESSION_FINGERPRINT_BYTES];
    esession_buf pem; /* PKCS#8 PEM of the private key, secret */
    esession_key *decoded; /* the key itself, decoded at its first use (es_ks_signing_key) */
} es_ks_key;

typedef struct es_ks_trust {
    char *jid;
    char *petname;
    char *keyvalue; /* normalized <KeyValue> of the public key */
    size_t keyvalue_len;
    uint8_t fp[ESESSION_FINGERPRINT_BYTES]; /* SHA-256 of keyvalue */
    int verified;
    esession_key *decoded; /* the key itself, decoded at its first use (es_ks_trusted_keys) */
} es_ks_trust;

typedef struct es_ks_replay {
    uint8_t d[ES_REPLAY_HASH];
    uint8_t nb[ES_REPLAY_HASH];
    uint8_t init[ES_REPLAY_HASH];
} es_ks_replay;

typedef struct es_ks_optset {
    es_optset pub;        /* what es_ks_optset_find/at hand out */
} es_ks_optset;

typedef struct es_ks_blob {
    char *name;
    size_t name_len;
    esession_buf data; /* secret */
} es_ks_blob;

/* The option set with this nonce, or NULL. */
es_ks_optset *es_ks_optset_lookup(const esession_keystore *ks, const uint8_t *nonce,
                                  size_t nonce_len);

void es_ks_key_free(void *item);
void es_ks_trust_free(void *item);
void es_ks_optset_free(void *item);
void es_ks_blob_free(void *item);

/* The version index: 64 mid records of 64 leaves each. */
#define ES_VIDX_FAN 64u
#define ES_VIDX_LEAVES (ES_VIDX_FAN * ES_VIDX_FAN)
typedef struct es_vleaf es_vleaf;
typedef struct es_vmid es_vmid;
/* An index entry: kind, id, version (0 in the generation record's recent
 * list: removed). */
#define ES_VIDX_ENTRY (1u + ES_REC_ID_BYTES + 8u)
/* Versions of records written lately, carried in the generation record
 * instead of their leaves (vindex.c): at most this many. */
#define ES_VIDX_RECENT 16u
typedef struct es_vrecent {
    uint8_t kind;
    uint8_t id[ES_REC_ID_BYTES];
    uint64_t version;
} es_vrecent;

/* Nesting of es_tx_begin (a public call inside a batch, and the store
 * calls it makes). */
#define ES_TX_DEPTH_MAX 16u

/* Failure injection for tests: called just before a transaction that
 * wrote something commits; non-zero makes the commit fail (rolled back,
 * ESESSION_ERR_IO). */
typedef struct es_ks_hooks {
    int (*before_commit)(void *user);
    void *user;
} es_ks_hooks;

/* Test hooks (per keystore; NULL clears them). */
void es_ks_set_hooks(esession_keystore *ks, const es_ks_hooks *hooks);

/* Key material of an open store, in one guarded block (sodium_malloc:
 * locked, guard pages, out of core dumps): read-only once set. */
typedef struct es_ks_keys {
    /* BLAKE2b keyed with id, its key block absorbed: the octets of a
     * crypto_generichash_state (copied in and out: the type wants an
     * alignment this block need not have). */
    uint8_t id_state[sizeof(crypto_generichash_state)];
    uint8_t store[ES_KS_KEY_BYTES]; /* random; wrapped by the passphrase key */
    uint8_t record[ES_KS_KEY_BYTES]; /* seals records */
    uint8_t id[ES_KS_KEY_BYTES];     /* names records */
} es_ks_keys;

/* The generation record's payload (record.c): the commit count, and per
 * kind its generation and record count, then the index root (format 0
 * ends there); format 1 goes on with its number, the count of recent
 * entries and the entries. Format 2 is format 1 with the queue's kind
 * counted too (ES_REC_KINDS kinds, not ES_REC_KINDS_V1). */
#define ES_KS_GENS_HEAD_BYTES(kinds) (8u * (1u + 2u * (kinds) + ES_VIDX_FAN))
#define ES_KS_GENS_V0_BYTES ES_KS_GENS_HEAD_BYTES(ES_REC_KINDS_V1)
#define ES_KS_GENS_FORMAT_QUEUE 2u /* the format written */
/* The format of a generation record's payload (0, 1 or 2), or -1 if it
 * is none of them (record.c). */
int es_ks_gens_format(const uint8_t *p, size_t len);
#define ES_KS_GENS_BYTES                                                                        \
    (ES_KS_GENS_HEAD_BYTES(ES_REC_KINDS) + 2u + ES_VIDX_RECENT * ES_VIDX_ENTRY)

/* Ids of the records a handle names most (the generations, the version
 * index, a session's records: a few names used by every transaction) kept
 * as computed, so that they are not hashed again each time (record.c).
 * Ids are public: they are stored in clear; the names are ordinary
 * memory, wiped with the handle. */
#define ES_KS_ID_CACHE 64u
#define ES_KS_ID_NAME_MAX 94u
typedef struct es_ks_id_slot {
    uint8_t len; /* of the name; 0: empty */
    uint8_t kind;
    char name[ES_KS_ID_NAME_MAX];
    uint8_t id[ES_REC_ID_BYTES];
} es_ks_id_slot;

/* Record nonces made this many at a time by libsodium's deterministic
 * generator keyed with 32 octets of the context's random source: one
 * small draw per batch (they are public: each is stored beside its
 * record). */
#define ES_KS_NONCE_BATCH 64u
typedef struct es_ks_nonces {
    uint8_t v[ES_KS_NONCE_BATCH * ES_KS_NONCE_BYTES];
    size_t left; /* unused nonces at the end of v */
    long pid;    /* the process that made them */
} es_ks_nonces;

struct esession_keystore {
    esession_ctx *ctx;
    char *path;
    const esession_store_ops *ops; /* the host's, or SQLite */
    void *store;                   /* the backend's handle */
    es_ks_kdf kdf;
    uint8_t store_id[ES_STORE_ID_BYTES];
    es_ks_keys *keys_mem;          /* guarded memory, read-only once set */
    es_ks_nonces *nonces;          /* nonces.c: never used by a child after fork */
    /* Cached kinds, current as of gen_seen[kind] (UINT64_MAX: reload). */
    es_vec keys;
    es_vec trust;
    es_vec optsets;
    uint64_t gen_seen[ES_REC_KINDS];
    /* The transaction running. */
    unsigned depth;
    int tx_write;
    int tx_doomed;
    int batch;                     /* esession_keystore_begin is running */
    unsigned tx_dirty;             /* kinds written (bits) */
    uint64_t tx_writes;            /* records written in this transaction */
    uint64_t tx_mark[ES_TX_DEPTH_MAX]; /* tx_writes when each level began */
    uint64_t tx_serial;            /* outermost transactions begun by this handle */
    uint64_t total;                /* commits so far, as read at begin */
    unsigned gens_format;          /* of the generation record read or last written */
    uint64_t gen[ES_REC_KINDS];    /* per kind, as read at begin */
    uint64_t count[ES_REC_KINDS];  /* records per kind, kept with each change */
    uint64_t rollbacks;
    /* The version index: root as read at begin, nodes loaded since. */
    uint64_t vroot[ES_VIDX_FAN];
    es_vmid *vmid[ES_VIDX_FAN];
    es_vleaf **vleaf;              /* ES_VIDX_LEAVES slots, allocated on first use */
    uint16_t *vleaf_used;          /* the slots filled (loaded and kept), in order */
    size_t n_vleaf_used;
    size_t vleaf_bytes;            /* their octets, entries included */
    uint16_t *vleaf_dirty;         /* the leaves changed in this transaction */
    size_t n_vleaf_dirty;
    es_vrecent vrecent[ES_VIDX_RECENT]; /* override the leaves; read at begin */
    size_t n_vrecent;
    es_ks_hooks hooks;             /* all NULL except in tests */
    /* The generation record's envelope as this handle last wrote or
     * opened it, with its payload: the same octets read again are the
     * same authenticated content, and are not opened again (record.c). */
    uint8_t *gens_env;
    size_t gens_env_len;
    uint8_t gens_plain[ES_KS_GENS_BYTES];
    size_t gens_plain_len;
    es_ks_id_slot id_cache[ES_KS_ID_CACHE];
};

/* The nonce batch (nonces.c): made with the handle; checked at each
 * transaction's start (dropped when another process made it); marked full
 * once made again. */
esession_status es_ks_nonces_new(esession_keystore *ks);
void es_ks_nonces_free(esession_keystore *ks);
void es_ks_nonces_check(esession_keystore *ks);
void es_ks_nonces_drawn(esession_keystore *ks);

/* Load every record of a cached kind (ES_REC_KEY, _TRUST, _OPTSET) into
 * its vector, replacing what it held. */
esession_status es_ks_load_kind(esession_keystore *ks, es_rec_kind kind);

/* Item records (format.c): the payload of one item, and its strict
 * decoding (anything off is ESESSION_ERR_CORRUPT). */
esession_status es_ks_key_encode(esession_ctx *ctx, const es_ks_key *k, esession_buf *out);
esession_status es_ks_key_decode(esession_ctx *ctx, const uint8_t *p, size_t n,
                                 es_ks_key **out);
esession_status es_ks_trust_encode(esession_ctx *ctx, const es_ks_trust *t, esession_buf *out);
esession_status es_ks_trust_decode(esession_ctx *ctx, const uint8_t *p, size_t n,
                                   es_ks_trust **out);
esession_status es_ks_optset_encode(esession_ctx *ctx, const es_ks_optset *o,
                                    esession_buf *out);
esession_status es_ks_optset_decode(esession_ctx *ctx, const uint8_t *p, size_t n,
                                    es_ks_optset **out);
/* Record names: a key by fingerprint, a trust entry by (JID, fingerprint),
 * an option set by nonce. */
esession_status es_ks_trust_name(const es_ks_trust *t, uint8_t **name, size_t *len);

/* Write one item's record, or remove it. */
esession_status es_ks_put_key(esession_keystore *ks, const es_ks_key *k);
esession_status es_ks_put_trust(esession_keystore *ks, const es_ks_trust *t);
esession_status es_ks_del_trust(esession_keystore *ks, const es_ks_trust *t);
esession_status es_ks_put_optset(esession_keystore *ks, const es_ks_optset *o);
/* The two replay records of one accepted session (d, N_B, init hashes). */
esession_status es_ks_replay_put(esession_keystore *ks, const es_optset *set,
                                 const uint8_t entry[3 * ES_REPLAY_HASH]);
/* Create a store at path whose header wraps a new store key under an
 * already derived passphrase key (kdf: its costs and salt). */
esession_status es_ks_create_keyed(esession_ctx *ctx, const char *path, const es_ks_kdf *kdf,
                                   uint8_t *pass_key, esession_keystore **out);

/* The earlier single-file format (legacy.c): decode a version-1 body into
 * the vectors of an empty keystore, blobs and replay entries included. */
typedef struct es_legacy {
    es_vec blobs;   /* es_ks_blob */
    uint8_t **replay;      /* per option set (ks->optsets order): entries of d, N_B, init */
    size_t *n_replay;
} es_legacy;
esession_status es_ks_decode(esession_keystore *ks, const uint8_t *body, size_t len,
                             es_legacy *legacy);
void es_legacy_clear(es_legacy *l, size_t n_optsets);
/* Convert the version-1 keystore file at path (already known to start
 * with its magic) into a new store in place. */
esession_status es_ks_migrate(esession_ctx *ctx, const char *path, const char *pass,
                              size_t pass_len);

/* Input checks shared by the API and the decoder. */
int es_ks_text_ok(const char *s, size_t len); /* no NUL inside */
int es_ks_jid_ok(const char *jid, size_t len);
/* Move the queue's records kept as engine records (a store whose
 * generation record is older than format 2) to their own kind, in the
 * write transaction running (blob.c). */
esession_status es_ks_queue_upgrade(esession_keystore *ks);
/* The kind of the engine record named name: ES_REC_QUEUE or ES_REC_BLOB. */
es_rec_kind es_ks_blob_kind(const char *name, size_t len);
int es_ks_blob_name_ok(const char *name, size_t len);

#endif
