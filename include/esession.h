/* SPDX-License-Identifier: ISC */
/*
 * esession: end-to-end encrypted messages to an offline XMPP contact, with
 * perfect forward secrecy (Offline ESession, XEP-0187 over XEP-0116/0200).
 *
 * This is the one public header. Everything else in the source tree is
 * internal and may change without notice.
 *
 * Conventions
 *  - Every fallible function returns esession_status: ESESSION_OK (0) or a
 *    negative code. esession_status_name() gives the short caller-visible
 *    reason ("bad-mac", "malformed", ...), matching the protocol vector codes.
 *  - On failure, output arguments are left untouched and objects passed in
 *    are unchanged. More detail (never secret bytes) is available from
 *    esession_ctx_error_detail().
 *  - Objects are opaque; each has a _free function (the one verb for
 *    release) that accepts NULL and wipes secret material before releasing it.
 *  - A call taking both a context and a keystore needs the context the
 *    keystore was opened with (ESESSION_ERR_INVALID_ARGUMENT otherwise).
 *  - Thread safety: an esession_ctx and everything created from it may be
 *    used by one thread at a time. Distinct contexts are independent and may
 *    be used concurrently. The library keeps no global mutable state.
 */
#ifndef ESESSION_H
#define ESESSION_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && defined(ESESSION_BUILDING)
#define ESESSION_EXPORT __attribute__((visibility("default")))
#else
#define ESESSION_EXPORT
#endif

#if defined(__GNUC__)
#define ESESSION_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define ESESSION_WARN_UNUSED
#endif

#define ESESSION_VERSION_MAJOR 0
#define ESESSION_VERSION_MINOR 2
#define ESESSION_VERSION_PATCH 0
#define ESESSION_VERSION_STRING "0.2.0"

/* ------------------------------------------------------------------ */
/* Status codes. Ranges: general 1-31, crypto 32-63, forms/XML 64-95,   */
/* PEP 96-127, protocol (session) 128-159, storage 160-191.             */

typedef enum esession_status {
    ESESSION_OK = 0,

    /* general */
    ESESSION_ERR_INVALID_ARGUMENT = -1,  /* "invalid-argument": API misuse */
    ESESSION_ERR_NO_MEMORY = -2,         /* "no-memory" */
    ESESSION_ERR_RANDOM = -3,            /* "random": the random source failed */
    ESESSION_ERR_BUFFER_TOO_SMALL = -4,  /* "buffer-too-small" */
    ESESSION_ERR_UNSUPPORTED = -5,       /* "unsupported": algorithm or size not supported */
    ESESSION_ERR_INTERNAL = -6,          /* "internal": a dependency failed unexpectedly */
    ESESSION_ERR_VERSION = -7,           /* "version": header and library disagree */
    ESESSION_ERR_STATE = -8,             /* "state": call not allowed in this state */
    ESESSION_ERR_LIMIT = -9,             /* "limit": a size, count or depth limit was hit */

    /* crypto */
    ESESSION_ERR_BAD_KEY = -32,          /* "bad-key": key unusable (type, size, parameters) */
    ESESSION_ERR_BAD_PEM = -33,          /* "bad-pem": PEM text could not be parsed */
    ESESSION_ERR_COUNTER_EXHAUSTED = -34,/* "counter-exhausted": too many blocks under one key */

    /* protocol (the reasons of the offline-session vector schema) */
    ESESSION_ERR_MALFORMED = -64,        /* "malformed": XML, base64, field or element structure */
    ESESSION_ERR_UNKNOWN_OPTIONS = -128, /* "unknown-options" */
    ESESSION_ERR_EXPIRED = -129,         /* "expired" */
    ESESSION_ERR_UNSUPPORTED_OPTION = -130, /* "unsupported-option" */
    ESESSION_ERR_INVALID_DH_VALUE = -131,/* "invalid-dh-value" */
    ESESSION_ERR_REPLAY = -132,          /* "replay" */
    ESESSION_ERR_BAD_IDENTITY_MAC = -133,/* "bad-identity-mac" */
    ESESSION_ERR_BAD_SIGNATURE = -134,   /* "bad-signature" */
    ESESSION_ERR_UNTRUSTED_KEY = -135,   /* "untrusted-key" */
    ESESSION_ERR_BAD_MAC = -136,         /* "bad-mac" */
    ESESSION_ERR_NO_SESSION = -137,      /* "no-session" */

    /* PEP */
    ESESSION_ERR_PUBSUB = -96,           /* "pubsub-error": the server returned an error */
    ESESSION_ERR_NO_OPTIONS = -97,       /* "no-options": the contact has published no options */

    /* storage */
    ESESSION_ERR_IO = -160,              /* "io" */
    ESESSION_ERR_BAD_PASSPHRASE = -161,  /* "bad-passphrase": or the file was altered */
    ESESSION_ERR_CORRUPT = -162          /* "corrupt": storage file damaged */
} esession_status;

/* Short stable reason, e.g. "bad-mac". Never NULL ("unknown" for others). */
ESESSION_EXPORT const char *esession_status_name(esession_status s);
/* One-sentence English description. Never NULL. */
ESESSION_EXPORT const char *esession_status_string(esession_status s);

/* Library version of the linked binary. */
ESESSION_EXPORT const char *esession_version(void);

/* ------------------------------------------------------------------ */
/* Buffers returned by the library.                                    */

typedef struct esession_buf {
    char *data;    /* NUL-terminated for convenience; len excludes the NUL */
    size_t len;
    unsigned secret; /* non-zero: held in guarded memory, wiped on free */
} esession_buf;

/* Wipes (secret buffers) and frees b->data, then zeroes *b. NULL-safe. */
ESESSION_EXPORT void esession_buf_free(esession_buf *b);

/* ------------------------------------------------------------------ */
/* Library context: host operations and per-context error detail.      */

typedef struct esession_ctx esession_ctx;
typedef struct esession_key esession_key;
struct esession_event;
struct _xmlNode; /* libxml2 trees, for clients that already hold one */
struct _xmlDoc;

/* Modular exponentiation backend used for Diffie-Hellman; both are
 * constant-time in the exponent. */
typedef enum esession_dh_backend {
    ESESSION_DH_DEFAULT = 0, /* the library's choice: OpenSSL, faster in every MODP group */
    ESESSION_DH_OPENSSL = 1, /* OpenSSL BN_mod_exp_mont_consttime */
    ESESSION_DH_GMP = 2      /* GMP mpz_powm_sec */
} esession_dh_backend;

/* Record storage, for a client that keeps the keystore in its own
 * database. The keystore is a set of records, each named by a 32-octet
 * opaque id (a keyed hash) within a kind (a small integer), optionally
 * tied to an owner id (records removed together). Only ciphertext ever
 * reaches these operations. Every call returns 0 on success and -1 on
 * failure unless said otherwise; `store` is the handle open returned.
 *
 * open: open the store called name (the path given to
 *   esession_keystore_create/_open); with ESESSION_STORE_CREATE create it,
 *   failing if it exists. Returns 1 if it does not exist (open only), 2
 *   if it exists but is no store or a damaged one.
 *   ESESSION_STORE_SYNC_FULL asks for durability across power loss.
 * begin/commit/rollback: a transaction; every other call runs inside one.
 *   write = 1 must exclude other writers of the same store (across
 *   processes) until commit or rollback, waiting rather than failing while
 *   another writer holds it; write = 0 must see one consistent snapshot.
 * get: 0 and a malloc'ed copy in *data (the library frees it), 1 if absent.
 * put: insert or replace. del: remove (absent is success).
 * list: call each(arg, id, data, len) for every record of kind (and of
 *   owner, when owner is not NULL); stop, returning -1, if each does not
 *   return 0.
 * A create that fails after open succeeded leaves the name to the host:
 * an empty store (its first commit never happened) should not count as
 * existing, or the host removes it. */
typedef struct esession_store_ops {
    int (*open)(void *user, const char *name, unsigned flags, void **store);
    void (*close)(void *user, void *store);
    int (*begin)(void *user, void *store, int write);
    int (*commit)(void *user, void *store);
    void (*rollback)(void *user, void *store);
    int (*get)(void *user, void *store, unsigned kind, const uint8_t id[32], uint8_t **data,
               size_t *len);
    int (*put)(void *user, void *store, unsigned kind, const uint8_t id[32],
               const uint8_t *owner, const uint8_t *data, size_t len);
    int (*del)(void *user, void *store, unsigned kind, const uint8_t id[32]);
    int (*list)(void *user, void *store, unsigned kind, const uint8_t *owner,
                int (*each)(void *arg, const uint8_t id[32], const uint8_t *data, size_t len),
                void *arg);
} esession_store_ops;

#define ESESSION_STORE_CREATE 1u
#define ESESSION_STORE_SYNC_FULL 2u

/* Host operations. Every member may be NULL: a working default is used. */
typedef struct esession_host_ops {
    /* Fill buf with len unpredictable octets; return 0 on success.
     * Default: libsodium randombytes_buf(). */
    int (*random)(void *user, uint8_t *buf, size_t len);
    /* Current time, seconds since the Unix epoch, UTC. Default: time(). */
    int64_t (*now)(void *user);
    /* Something the user must see happened (see esession_event). Default:
     * nothing; every event is also reflected in a return value or result. */
    void (*event)(void *user, const struct esession_event *ev);
    /* Trust decision: is key trusted for bare_jid? Return 1 (trusted),
     * 0 (not trusted) or -1 (no opinion: ask the keystore's trust store).
     * Default: the keystore's trust store. */
    int (*trust)(void *user, const char *bare_jid, const esession_key *key);
    /* Storage of keystores elsewhere than in the default SQLite database
     * (see esession_store_ops). NULL: SQLite, one database file per
     * keystore path. The table must outlive every context using it. */
    const struct esession_store_ops *store;
    /* Rollback anchor, for a host with somewhere the store cannot be
     * copied back with it (a platform keychain, a monotonic counter): the
     * number of commits of the store after each commit (a failure there
     * is ignored: the check only weakens), and at open the last one set
     * (0 and *commits; 1 if none yet; -1 on error). `id` names the store:
     * 32 hex digits drawn at its creation, the same after a rename, new
     * for a new store at the same path. A store with fewer commits than
     * its anchor is an older copy put back: ESESSION_ERR_CORRUPT. Both
     * NULL (the default): no anchor. */
    int (*anchor_get)(void *user, const char *id, uint64_t *commits);
    int (*anchor_set)(void *user, const char *id, uint64_t commits);
} esession_host_ops;

typedef struct esession_ctx_options {
    unsigned version;                /* ESESSION_CTX_OPTIONS_VERSION */
    const esession_host_ops *ops;    /* may be NULL; copied */
    void *user;                      /* passed to every host operation */
    esession_dh_backend dh_backend;
} esession_ctx_options;

#define ESESSION_CTX_OPTIONS_VERSION 1
#define ESESSION_CTX_OPTIONS_INIT { ESESSION_CTX_OPTIONS_VERSION, NULL, NULL, ESESSION_DH_DEFAULT }

/* Create a context. opt may be NULL for defaults. Initializes libsodium and
 * checks that the header the caller compiled against matches the library:
 * pass ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_ctx_new(esession_ctx **out, const esession_ctx_options *opt,
                 int major, int minor);
ESESSION_EXPORT void esession_ctx_free(esession_ctx *ctx);

/* Detail about the last failure of a call made with ctx ("" if none).
 * Valid until the next call with ctx. Never contains secret bytes. */
ESESSION_EXPORT const char *esession_ctx_error_detail(const esession_ctx *ctx);

/* ------------------------------------------------------------------ */
/* Long-term signing keys (XEP-0116 identities).                       */

typedef enum esession_key_type {
    ESESSION_KEY_RSA = 1,  /* rsa-sha256, RSASSA-PKCS1-v1_5, 2048..8192 bits */
    ESESSION_KEY_DSA = 2   /* dsa-sha256, (L,N) = (2048,256) or (3072,256) */
} esession_key_type;

#define ESESSION_FINGERPRINT_BYTES 32

/* Generate a key pair. RSA: bits in 2048..8192, multiple of 8 (e = 65537);
 * DSA: bits 2048 or 3072 (N = 256). */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_key_generate(esession_ctx *ctx, esession_key **out,
                      esession_key_type type, unsigned bits);

/* Import a PKCS#8 private key or a SubjectPublicKeyInfo public key in PEM.
 * Keys outside the sizes above are rejected with ESESSION_ERR_BAD_KEY. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_key_from_pem(esession_ctx *ctx, esession_key **out,
                      const char *pem, size_t len);

/* Export as PEM: private (PKCS#8, returned in a secret buffer) or public
 * (SubjectPublicKeyInfo). Private export of a public-only key fails with
 * ESESSION_ERR_STATE. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_key_to_pem(esession_ctx *ctx, const esession_key *key, int private_part,
                    esession_buf *out);

/* The normalized XML-DSig <KeyValue> of the public key (PROFILE §5). */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_key_to_keyvalue(esession_ctx *ctx, const esession_key *key, esession_buf *out);

/* Parse a normalized <KeyValue>; anything but the exact normalized form is
 * ESESSION_ERR_MALFORMED. The result holds a public key only. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_key_from_keyvalue(esession_ctx *ctx, esession_key **out,
                           const char *xml, size_t len);

/* SHA-256 of the normalized <KeyValue>. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_key_fingerprint(esession_ctx *ctx, const esession_key *key,
                         uint8_t out[ESESSION_FINGERPRINT_BYTES]);

ESESSION_EXPORT esession_key_type esession_key_get_type(const esession_key *key);
ESESSION_EXPORT unsigned esession_key_bits(const esession_key *key);
ESESSION_EXPORT int esession_key_has_private(const esession_key *key);
ESESSION_EXPORT void esession_key_free(esession_key *key);

/* ------------------------------------------------------------------ */
/* Keystore: one encrypted record store per account (long-term signing  */
/* keys, the trust store, offline option sets with their Diffie-Hellman */
/* exponents, replay memory, and the sessions in flight). By default an */
/* SQLite database; every record is sealed with XChaCha20-Poly1305 under */
/* a random store key wrapped by a passphrase key (Argon2id). Every call */
/* is one transaction: it reads what it needs inside the transaction and */
/* writes only the records it changed, so several processes and threads */
/* (each with its own esession_keystore) may use one store at once. A    */
/* failed call changes nothing. Layout and guarantees: docs/keystore.md. */

typedef struct esession_keystore esession_keystore;

/* How much a committed change survives. */
typedef enum esession_durability {
    ESESSION_DURABILITY_PROCESS = 0, /* a crash of the process (default) */
    ESESSION_DURABILITY_FULL = 1     /* also power loss: synced on every commit */
} esession_durability;

typedef struct esession_keystore_options {
    unsigned version;      /* ESESSION_KEYSTORE_OPTIONS_VERSION */
    uint64_t kdf_opslimit; /* Argon2id passes; 0: libsodium's MODERATE */
    size_t kdf_memlimit;   /* octets; 0: libsodium's MODERATE (256 MiB) */
    esession_durability durability; /* for this handle; not stored */
} esession_keystore_options;

#define ESESSION_KEYSTORE_OPTIONS_VERSION 2
#define ESESSION_KEYSTORE_OPTIONS_INIT { ESESSION_KEYSTORE_OPTIONS_VERSION, 0, 0, \
                                         ESESSION_DURABILITY_PROCESS }

/* Create a new keystore (mode 0600; an existing one is never replaced:
 * ESESSION_ERR_IO). opt may be NULL. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_keystore_create(esession_ctx *ctx, esession_keystore **out, const char *path,
                         const char *passphrase, size_t passphrase_len,
                         const esession_keystore_options *opt);

/* Open an existing keystore. A wrong passphrase or an altered header is
 * ESESSION_ERR_BAD_PASSPHRASE (the two cannot be told apart); something
 * that is not a keystore is ESESSION_ERR_CORRUPT. A keystore file of the
 * earlier single-file format is converted once, in place: the new store is
 * built beside it and only replaces it when complete. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_keystore_open(esession_ctx *ctx, esession_keystore **out, const char *path,
                       const char *passphrase, size_t passphrase_len);

/* The same with options (only durability is used). opt may be NULL. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_keystore_open_with(esession_ctx *ctx, esession_keystore **out, const char *path,
                            const char *passphrase, size_t passphrase_len,
                            const esession_keystore_options *opt);

/* Wrap the store key under a new passphrase (new salt): one record is
 * rewritten, not the store. opt may be NULL to keep the KDF cost. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_keystore_change_passphrase(esession_keystore *ks, const char *passphrase,
                                    size_t passphrase_len, const esession_keystore_options *opt);

/* Group commit: the calls between begin and commit form one transaction,
 * written (and synced) once. Other processes wait for it, so keep it
 * short. For Alice's client: begin, feed stanzas, store each plaintext,
 * commit, and only then let the server drop the stanzas; a crash or a
 * rollback before the commit leaves them unopened, so they open again.
 * What must be durable before its result is used refuses inside a batch
 * (ESESSION_ERR_STATE): esession_publish, esession_online,
 * esession_offline_queue_done, esession_purge_expired and the sender's
 * start, seal, terminate and peer_online. A call that fails after it
 * wrote something dooms the batch: commit then rolls back everything and
 * returns ESESSION_ERR_STATE; one that refused before writing (a check that
 * said no) leaves the batch as it was. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_keystore_begin(esession_keystore *ks);
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_keystore_commit(esession_keystore *ks);
ESESSION_EXPORT void esession_keystore_rollback(esession_keystore *ks);
/* A read-only batch: the calls until commit or rollback see one snapshot
 * of the store (a listing by index stays consistent while other processes
 * write); it takes no lock, and a call that would write refuses with
 * ESESSION_ERR_STATE. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_keystore_begin_read(esession_keystore *ks);

/* What a keystore is made of, for display. */
typedef struct esession_keystore_info {
    unsigned format;       /* store format (2) */
    uint64_t kdf_opslimit; /* Argon2id passes */
    uint64_t kdf_memlimit; /* Argon2id memory, octets */
    uint64_t commits;      /* transactions committed since creation */
} esession_keystore_info;

ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_keystore_get_info(esession_keystore *ks, esession_keystore_info *out);

/* Release the handle, wiping what it holds in memory (a batch not
 * committed is rolled back). NULL-safe. */
ESESSION_EXPORT void esession_keystore_free(esession_keystore *ks);

/* Signing keys. add: the key must hold its private part; a key already
 * present is ESESSION_ERR_STATE. key_at returns a new handle the caller
 * frees. Keys are identified by their fingerprint. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_keystore_add_key(esession_keystore *ks, const esession_key *key);
ESESSION_EXPORT size_t esession_keystore_key_count(const esession_keystore *ks);
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_keystore_key_at(esession_keystore *ks, size_t index, esession_key **out);
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_keystore_delete_key(esession_keystore *ks,
                             const uint8_t fingerprint[ESESSION_FINGERPRINT_BYTES]);

/* Trust store: which public keys are trusted for which bare JID
 * (XEP-0116 "Key Associations"). */
#define ESESSION_ALERT_JID_NEW_KEY  1u /* the JID already has a different key */
#define ESESSION_ALERT_KEY_OTHER_JID 2u /* the key is already trusted for another JID */

typedef struct esession_trust_entry {
    const char *jid;      /* bare JID */
    const char *petname;  /* "" if none */
    uint8_t fingerprint[ESESSION_FINGERPRINT_BYTES];
    int verified;         /* fingerprint checked out of band */
} esession_trust_entry;

/* Trust key (its public part) for bare_jid. The association is recorded
 * (unverified) and *alerts reports the key-association alerts it raised;
 * an association already present is ESESSION_ERR_STATE. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_trust_add(esession_keystore *ks, const char *bare_jid, const esession_key *key,
                   const char *petname, unsigned *alerts);
ESESSION_EXPORT size_t esession_trust_count(const esession_keystore *ks);
/* Entry strings stay valid until the next change of the keystore. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_trust_at(const esession_keystore *ks, size_t index, esession_trust_entry *out);
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_trust_set_verified(esession_keystore *ks, const char *bare_jid,
                            const uint8_t fingerprint[ESESSION_FINGERPRINT_BYTES], int verified);
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_trust_remove(esession_keystore *ks, const char *bare_jid,
                      const uint8_t fingerprint[ESESSION_FINGERPRINT_BYTES]);
/* ESESSION_OK if the key is trusted for bare_jid, else ESESSION_ERR_UNTRUSTED_KEY. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_trust_check(const esession_keystore *ks, const char *bare_jid, const esession_key *key);

/* ------------------------------------------------------------------ */
/* Events: everything the user must see, so nothing fails silently.     */

typedef enum esession_event_type {
    ESESSION_EVENT_DISCARDED = 1,   /* a stanza was discarded; status says why */
    ESESSION_EVENT_KEY_ALERT = 2,   /* a key association changed (alerts bits) */
    ESESSION_EVENT_EXPIRED = 3,     /* an option set expired; its secrets are destroyed */
    ESESSION_EVENT_SESSION_ENDED = 4 /* a session ended; its keys are wiped */
} esession_event_type;

typedef struct esession_event {
    esession_event_type type;
    esession_status status; /* DISCARDED: the reason */
    const char *jid;        /* the peer's bare JID, or NULL */
    const char *thread;     /* the session's thread, or NULL */
    unsigned alerts;        /* KEY_ALERT: ESESSION_ALERT_* bits */
    uint64_t tag;           /* DISCARDED: the caller's tag of the stanza */
} esession_event;

/* ------------------------------------------------------------------ */
/* Alice, before going offline: publish signed options (XEP-0187 §3.1). */

#define ESESSION_IQ_ID_MAX 64

typedef struct esession_publish_options {
    unsigned version;         /* ESESSION_PUBLISH_OPTIONS_VERSION */
    const int *groups;        /* MODP groups offered; NULL: {14, 15, 16} */
    size_t n_groups;
    int allow_weak_groups;    /* required to offer groups 1, 2 or 5 */
    const char *const *ciphers; /* NULL: aes256-ctr, aes128-ctr */
    size_t n_ciphers;
    const char *const *hashes;  /* NULL: sha256, sha512 */
    size_t n_hashes;
    uint32_t rekey_freq;      /* Alice's minimum; 0: 1 */
    int64_t lifetime;         /* seconds until the options expire; 0: 7 days */
    const char *match_resource; /* NULL: any resource may read the stanzas */
    int open_node;            /* publish to the open node instead of the subscribers' node */
} esession_publish_options;

#define ESESSION_PUBLISH_OPTIONS_VERSION 1
#define ESESSION_PUBLISH_OPTIONS_INIT { ESESSION_PUBLISH_OPTIONS_VERSION, NULL, 0, 0, NULL, 0, NULL, 0, 0, 0, NULL, 0 }

typedef struct esession_publication {
    esession_buf create_iq;   /* create and configure the PEP node (send once) */
    esession_buf publish_iq;  /* publish the options form */
    esession_buf form;        /* the signed options form itself */
    char create_id[ESESSION_IQ_ID_MAX];
    char publish_id[ESESSION_IQ_ID_MAX];
    uint8_t nonce[64];        /* N_A, which names the option set */
    size_t nonce_len;
    int64_t expires;
} esession_publication;

/* Draw N_A and one exponent x per group, store them (encrypted) in ks
 * BEFORE any stanza is handed out, and build the signed form (signed with
 * every signing key in ks) and the PEP IQs. Needs at least one signing key
 * in ks (ESESSION_ERR_STATE otherwise). */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_publish(esession_ctx *ctx, esession_keystore *ks, const esession_publish_options *opt,
                 esession_publication *out);
ESESSION_EXPORT void esession_publication_free(esession_publication *p);

/* Alice is back online (XEP-0187 §3.4): the empty-item publish for the
 * subscribers' node. Option sets published so far stop being offered;
 * their exponents stay until esession_offline_queue_done() or expiry. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_online(esession_ctx *ctx, esession_keystore *ks, esession_buf *iq,
                char id[ESESSION_IQ_ID_MAX]);

/* The creation and configuration IQ of one of the two PEP nodes (open_node
 * 0: the presence subscribers' node; 1: the open node), like
 * esession_publication.create_iq: for a client that sets up both nodes
 * (XEP-0187 §3.1) whichever it publishes to. A conflict answer means the
 * node exists. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_node_create_iq(esession_ctx *ctx, int open_node, esession_buf *iq,
                        char id[ESESSION_IQ_ID_MAX]);

/* The same withdrawal for servers that refuse esession_online's empty item
 * (Prosody 0.12 answers bad-request: an item must hold a payload): the IQ
 * retracting the options item, which leaves the node just as empty. Send
 * it when the empty item is refused; an item-not-found answer means there
 * was nothing left to withdraw. Call esession_online first. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_online_retract(esession_ctx *ctx, esession_buf *iq, char id[ESESSION_IQ_ID_MAX]);

/* The stored offline queue has been processed: securely destroy the
 * exponents of every option set published before esession_online(); their
 * replay memory is kept until they expire. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_offline_queue_done(esession_ctx *ctx, esession_keystore *ks);

/* Destroy option sets whose expiry has passed (ESESSION_EVENT_EXPIRED for
 * each); *removed may be NULL. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_purge_expired(esession_ctx *ctx, esession_keystore *ks, size_t *removed);

/* The option sets held in a keystore, for listing. */
typedef struct esession_optset_info {
    uint8_t nonce[64];      /* N_A */
    size_t nonce_len;
    int64_t created;
    int64_t expires;
    int withdrawn;          /* withdrawn by esession_online, queue not yet done */
    int secrets_destroyed;  /* its exponents are gone: no new session can open */
    size_t n_groups;
    int groups[8];
    size_t sessions;        /* sessions accepted: entries of its replay memory */
} esession_optset_info;

ESESSION_EXPORT size_t esession_optset_count(const esession_keystore *ks);
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_optset_at(const esession_keystore *ks, size_t index, esession_optset_info *out);

/* ------------------------------------------------------------------ */
/* Alice, back online: open what Bob sent (PROFILE §10, §11).           */

typedef struct esession_receiver esession_receiver;

typedef enum esession_result_kind {
    ESESSION_RESULT_MESSAGE = 1,    /* plaintext opened */
    ESESSION_RESULT_DUPLICATE = 2,  /* a copy of a stanza already opened: nothing new */
    ESESSION_RESULT_HELD = 3,       /* kept until the session can place it */
    ESESSION_RESULT_TERMINATED = 4, /* Bob ended the session */
    ESESSION_RESULT_ERROR = 5       /* discarded silently; error says why */
} esession_result_kind;

/* XEP-0226 profile of the content (bits). */
#define ESESSION_PROFILE_IM 1u        /* <body>, <subject>, <thread>, XHTML-IM */
#define ESESSION_PROFILE_DATAFORMS 2u /* jabber:x:data */
#define ESESSION_PROFILE_CHATSTATES 4u
#define ESESSION_PROFILE_OTHER 8u     /* any other payload */

/* What Alice's side knows of the key that signed a session (XEP-0116
 * identity): every MESSAGE and TERMINATED result says it. */
typedef enum esession_key_state {
    ESESSION_KEY_STATE_UNKNOWN = 0,  /* a session opened before this was kept (0.1) */
    ESESSION_KEY_STATE_TRUSTED = 1,  /* in the trust store for the JID, not verified */
    ESESSION_KEY_STATE_VERIFIED = 2, /* in the trust store, fingerprint verified out of band */
    ESESSION_KEY_STATE_HOST = 3      /* trusted by the host's trust operation */
} esession_key_state;

/* Hex digits of a message id, with the NUL. */
#define ESESSION_MESSAGE_ID_MAX 33

typedef struct esession_result {
    uint64_t tag;               /* the tag given to esession_receiver_feed */
    esession_result_kind kind;
    esession_status error;      /* ERROR: the reason */
    esession_buf plaintext;     /* MESSAGE: the content as XML (secret); empty otherwise */
    esession_buf from;          /* Bob's full JID as received */
    esession_buf from_bare;     /* Bob's bare JID */
    esession_buf thread;
    uint8_t counter[16];        /* MESSAGE, TERMINATED: the start counter S (position) */
    int has_created;
    int64_t created;            /* the SHIM Created header: signed, trusted */
    int has_delay;
    int64_t delay;              /* the server's XEP-0203 stamp: NOT authenticated */
    esession_buf delay_from;    /* the <delay from=''>: NOT authenticated */
    unsigned profile;           /* ESESSION_PROFILE_* bits of the content */
    char id[ESESSION_MESSAGE_ID_MAX]; /* MESSAGE: stable id (same on every redelivery) */
    int redelivered;            /* MESSAGE: from the inbox (esession_receiver_pending) */
    /* MESSAGE, TERMINATED: the fingerprint of the key that signed the
     * session, and its state when the result was made. */
    uint8_t key_fingerprint[ESESSION_FINGERPRINT_BYTES];
    esession_key_state key_state;
} esession_result;

/* One receiver per keystore; ks must outlive it. Sessions stored in ks
 * (from an earlier run) are picked up again. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_receiver_new(esession_ctx *ctx, esession_keystore *ks, esession_receiver **out);

/* Feed one received <message/> (its exact text). tag identifies the
 * stanza in results and events. Never produces a stanza to send. Results
 * are queued: the stanza's own first, then those of held stanzas it
 * released, in the order they opened. Returns ESESSION_OK when results were
 * queued (even if the result is an ERROR; storage failures are ERROR
 * results too) and otherwise ESESSION_ERR_INVALID_ARGUMENT (misuse) or
 * ESESSION_ERR_NO_MEMORY (not even a result could be queued). */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_receiver_feed(esession_receiver *r, const char *stanza, size_t len, uint64_t tag);

/* The same for a client that already holds the stanza as a libxml2 tree:
 * the node is serialized once and fed as text, so "byte-identical" (an
 * init redelivered as a duplicate) refers to that serialization. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_receiver_feed_node(esession_receiver *r, const struct _xmlNode *message, uint64_t tag);

/* Exactly once at the boundary. A MESSAGE is kept in the keystore's inbox
 * (encrypted) from the transaction that opened its stanza until the client
 * confirms that it stored the message: store it, then confirm. A crash
 * in between loses nothing: esession_receiver_pending() queues every
 * unconfirmed message again, with redelivered set and the same id, so a
 * client that keeps ids delivers each message once. Confirming an id
 * that is no longer pending is ESESSION_OK (another process confirmed
 * it). Inside a batch, confirmation joins the batch. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_receiver_confirm(esession_receiver *r, const esession_result *res);
/* Queue every unconfirmed message (oldest first); *n (may be NULL) gets
 * how many. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_receiver_pending(esession_receiver *r, size_t *n);

/* Take the next queued result: 1 if *out was filled, 0 if none. */
ESESSION_EXPORT int esession_receiver_next(esession_receiver *r, esession_result *out);
ESESSION_EXPORT void esession_result_free(esession_result *res);

/* End one session (or every session with bare_jid and thread NULL):
 * stanzas still held are reported as ERROR bad-mac results; keys are wiped;
 * replay memory stays. A named session that does not exist is
 * ESESSION_ERR_NO_SESSION; a thread without a JID is invalid. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_receiver_end(esession_receiver *r, const char *bare_jid, const char *thread);
ESESSION_EXPORT void esession_receiver_free(esession_receiver *r);

/* ------------------------------------------------------------------ */
/* Bob: fetch Alice's options and send her encrypted stanzas.          */

typedef struct esession_sender esession_sender;

typedef struct esession_sender_options {
    unsigned version;        /* ESESSION_SENDER_OPTIONS_VERSION */
    int allow_weak_groups;   /* accept groups below 2048 bits */
    uint32_t rekey_freq;     /* Bob's preference; 0: 100 */
    int single_stanza;       /* one stanza, then the session ends (formB terminate=1) */
} esession_sender_options;

#define ESESSION_SENDER_OPTIONS_VERSION 1
#define ESESSION_SENDER_OPTIONS_INIT { ESESSION_SENDER_OPTIONS_VERSION, 0, 0, 0 }

/* The PEP items request for Alice's published options. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_fetch_options_iq(esession_ctx *ctx, const char *alice_bare_jid, esession_buf *iq,
                          char id[ESESSION_IQ_ID_MAX]);

/* Start an offline session from the server's answer to that request:
 * verify the form against the keys trusted for Alice, refuse expired
 * options, choose options (PROFILE §2, §11), draw y, N_B, C_A and the
 * thread. The session state is stored in ks (encrypted) and updated before
 * every stanza is returned, so a counter is never used twice. A session
 * with Alice already open is ESESSION_ERR_STATE (resume or end it). */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_sender_start(esession_ctx *ctx, esession_keystore *ks, const char *bob_full_jid,
                      const char *alice_bare_jid, const char *iq_id, const char *items_result,
                      size_t len, const esession_sender_options *opt, esession_sender **out);

/* Resume the open session with alice_bare_jid stored in ks;
 * ESESSION_ERR_NO_SESSION if none. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_sender_resume(esession_ctx *ctx, esession_keystore *ks, const char *alice_bare_jid,
                       esession_sender **out);

/* Seal one <message/> the client would otherwise send in the clear
 * (type chat or normal, to Alice): returns the stanza to send instead.
 * On any failure nothing may be sent: never the message in the clear.
 * groupchat, headline and error messages are ESESSION_ERR_UNSUPPORTED;
 * content made only of chat states is ESESSION_ERR_STATE (not sent);
 * once Alice's options have expired, ESESSION_ERR_EXPIRED (XEP-0187 §3.2:
 * end the session and fetch her options again). */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_sender_seal(esession_sender *s, const char *message, size_t len, esession_buf *out);

/* The same for a client holding libxml2 trees: message is the <message/>
 * element; *out is a new document holding the stanza to send (free it with
 * xmlFreeDoc). Fail closed here too: on any failure, send nothing. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_sender_seal_node(esession_sender *s, const struct _xmlNode *message,
                          struct _xmlDoc **out);

/* Exactly once at the boundary. Every stanza handed out by seal and
 * terminate is also kept in the keystore's outbox (encrypted), recorded
 * in the transaction that used its counters, until the client says it was
 * sent: send it, then mark it sent with the same text. After a crash,
 * esession_outbox_unsent() gives back every stanza never marked sent, in
 * the order they were sealed, to send again; a stanza sent twice is only
 * a duplicate to Alice, one never sent would be a hole in her session. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_sender_sent(esession_ctx *ctx, esession_keystore *ks, const esession_buf *stanza);
/* The unsent stanzas to alice_bare_jid (NULL: to anyone), oldest first:
 * *out is an array of *n buffers; free it with esession_outbox_free. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_outbox_unsent(esession_ctx *ctx, esession_keystore *ks, const char *alice_bare_jid,
                       esession_buf **out, size_t *n);
ESESSION_EXPORT void esession_outbox_free(esession_buf *stanzas, size_t n);

/* End the session: the termination stanza to send; the state is erased.
 * On failure the session stays open and nothing is to be sent. 
 * If no stanza was sent yet, Alice knows nothing of the session: out stays
 * empty. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_sender_terminate(esession_sender *s, esession_buf *out);

/* Alice came online (XEP-0187 §5): if a session with her is open, out gets
 * its termination stanza and the session ends; otherwise out stays empty. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_sender_peer_online(esession_ctx *ctx, esession_keystore *ks, const char *alice_bare_jid,
                            esession_buf *out);

ESESSION_EXPORT const char *esession_sender_thread(const esession_sender *s);
ESESSION_EXPORT void esession_sender_free(esession_sender *s);

#ifdef __cplusplus
}
#endif

#endif /* ESESSION_H */
