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
    /* online sessions (PROFILE §12.8) */
    ESESSION_ERR_BAD_COMMITMENT = -138,  /* "bad-commitment": e differs from its hash in msg1 */
    ESESSION_ERR_DECLINED = -139,        /* "declined": the peer declined the session */
    ESESSION_ERR_REFUSED = -140,         /* "refused": 3-message negotiation refused by policy */
    ESESSION_ERR_PEER_ERROR = -141,      /* "peer-error": the peer answered with an error stanza */

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
/* Text: JIDs, UTF-8, XML escaping.                                    */

typedef struct esession_ctx esession_ctx;

/* What esession_jid_check expects. */
typedef enum esession_jid_kind {
    ESESSION_JID_BARE = 1,    /* [localpart@]domainpart */
    ESESSION_JID_FULL = 2,    /* bare JID '/' resourcepart */
    ESESSION_JID_RESOURCE = 3 /* a resourcepart alone (match_resource) */
} esession_jid_kind;

#define ESESSION_JID_MAX 3071      /* octets of a whole JID, bare or full */
#define ESESSION_RESOURCE_MAX 1023 /* octets of a resourcepart (RFC 7622) */

/* The one JID rule of the library: every call taking a JID applies it,
 * with this status and detail. A JID is well-formed UTF-8 (RFC 3629)
 * of XML characters with no control character (U+0000..U+001F,
 * U+007F..U+009F), at most ESESSION_JID_MAX octets. Its bare part is not
 * empty and has no space and no '/', and at most one '@', with text on
 * both sides; a resourcepart (after the first '/') is 1 to
 * ESESSION_RESOURCE_MAX octets and may hold spaces and '/'. Characters
 * XML escapes (& < > ' ") are allowed: the library escapes them where it
 * writes a JID. ESESSION_OK or ESESSION_ERR_INVALID_ARGUMENT; ctx may be
 * NULL (then no detail is kept). */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_jid_check(esession_ctx *ctx, const char *jid, esession_jid_kind kind);

/* The length in octets (1..4) of the one well-formed UTF-8 character at
 * s, n octets being available; 0 if there is none there (an empty or
 * NULL s, a stray continuation octet, a truncated sequence, an overlong
 * form, a surrogate, a code point above U+10FFFF). */
ESESSION_EXPORT size_t esession_utf8_char_len(const char *s, size_t n);

/* s (n octets) escaped as the library writes XML: for element text
 * (attr 0) & < > as entities and CR as &#xD;; for an attribute value
 * (attr 1, between either quote) also " ' as entities and TAB, LF as
 * &#x9; &#xA;. A parser reads back exactly s. Like snprintf: returns the
 * length of the whole escaped text and writes at most cap octets of it,
 * NUL included (out may be NULL when cap is 0). */
ESESSION_EXPORT size_t esession_xml_escape(char *out, size_t cap, const char *s, size_t n,
                                           int attr);

/* ------------------------------------------------------------------ */
/* Library context: host operations and per-context error detail.      */

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

/* Set up OpenSSL's secure heap of `size` octets (a power of two, 4 KiB ..
 * 1 GiB): locked, kept out of core dumps, between guard pages. OpenSSL
 * then allocates the private integers of RSA and DSA keys there (decoded,
 * generated or held while signing) instead of in its ordinary heap, where
 * they are only cleared when freed. The heap is process-wide and cannot
 * grow: the library never sets it up by itself. Call it once, before any
 * other thread uses OpenSSL; esessionctl does (256 KiB). *locked (may be
 * NULL) is 1 if the pages are locked and kept out of core dumps, 0 if the
 * system refused either (RLIMIT_MEMLOCK): the heap is still used.
 * ESESSION_ERR_STATE if it is already set up, ESESSION_ERR_NO_MEMORY if it
 * could not be mapped. It does not grow: once full, private keys fail to
 * load, export, generate or sign, with a detail that says so. An RSA-8192
 * private part takes 4.5 KiB of it (docs/crypto.md). */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status esession_secure_heap_init(size_t size,
                                                                               int *locked);

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

/* A key that opens one keystore without its passphrase, for a client that
 * asks once and keeps the key for a while (as esessionctl's agent does):
 * the store's id and salt, then the Argon2id output of the passphrase.
 * It opens only the store it was derived from, and only until the
 * passphrase changes. It is as good as the passphrase for that store:
 * keep it in guarded memory (sodium_malloc), never on disk, and wipe it. */
#define ESESSION_KEYSTORE_KEY_BYTES 64

/* Derive the key of the keystore at path from its passphrase (one
 * Argon2id run), checked by opening the store with it; errors as
 * esession_keystore_open, which also converts a keystore of the earlier
 * format. key is written only on success. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_keystore_derive_key(esession_ctx *ctx, const char *path, const char *passphrase,
                             size_t passphrase_len, uint8_t key[ESESSION_KEYSTORE_KEY_BYTES]);

/* Open a keystore with a key from esession_keystore_derive_key: no
 * Argon2id run. A key for another keystore, or derived before the
 * passphrase changed, or altered: ESESSION_ERR_BAD_PASSPHRASE. A keystore
 * of the earlier format: ESESSION_ERR_STATE (it is converted by an open
 * with the passphrase). opt may be NULL. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_keystore_open_with_key(esession_ctx *ctx, esession_keystore **out, const char *path,
                                const uint8_t key[ESESSION_KEYSTORE_KEY_BYTES],
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
 * subscribers' node. Option sets published there so far stop being
 * offered; their exponents stay until esession_offline_queue_done() or
 * expiry. Sets published on the open node are not withdrawn: they stay
 * offered, with their exponents and replay memory, until they expire
 * (XEP-0187 §6: a non-subscriber may use them while Alice is online). */
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
 * exponents of every option set esession_online() withdrew; their replay
 * memory is kept until they expire. */
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
    int open_node;          /* published on the open node: coming online leaves it */
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
    ESESSION_RESULT_ERROR = 5,      /* discarded silently; error says why */
    ESESSION_RESULT_PLAIN = 6       /* NOT encrypted: an ordinary message, see below */
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
    esession_buf plaintext;     /* MESSAGE: the content as XML (secret); PLAIN: the
                                 * message's elements as received, except <thread>
                                 * and the server's <delay>/<offline> marks */
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
    char id[ESESSION_MESSAGE_ID_MAX]; /* MESSAGE, PLAIN: stable id (same on every redelivery) */
    int redelivered;            /* MESSAGE: from the inbox (esession_receiver_pending) */
    /* MESSAGE, TERMINATED: the fingerprint of the key that signed the
     * session, and its state when the result was made. */
    uint8_t key_fingerprint[ESESSION_FINGERPRINT_BYTES];
    esession_key_state key_state;
} esession_result;

/* A <message/> with no ESession element at all (no <c>, no <init>) is
 * somebody's ordinary, unencrypted message: a PLAIN result, to be shown
 * marked as not encrypted; from, thread and profile are as received and
 * NOTHING of it is authenticated. Its id is a hash of the stanza's text,
 * the same when the server delivers the same stored stanza again. It is
 * neither kept in the inbox nor confirmed. */

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
    /* Version 2: every stanza carries a short clear <body> saying that the
     * message is encrypted (XEP-0226), so that a client of Alice's that
     * cannot open it shows that rather than an empty message; her receiver
     * ignores it. 1: leave it out. */
    int no_fallback_body;
    /* Version 2: the answer given to esession_sender_start is to
     * esession_fetch_open_options_iq (the open node), not to
     * esession_fetch_options_iq. */
    int open_node;
} esession_sender_options;

#define ESESSION_SENDER_OPTIONS_VERSION 2
#define ESESSION_SENDER_OPTIONS_INIT { ESESSION_SENDER_OPTIONS_VERSION, 0, 0, 0, 0, 0 }

/* The text of that <body>. */
#define ESESSION_FALLBACK_BODY \
    "[This message is encrypted end to end (XEP-0187 offline session); your client cannot show it.]"

/* The PEP items request for Alice's published options. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_fetch_options_iq(esession_ctx *ctx, const char *alice_bare_jid, esession_buf *iq,
                          char id[ESESSION_IQ_ID_MAX]);
/* The same request for the open node (XEP-0187 §3.2: a Bob who does not
 * subscribe to Alice's presence, or whom the subscribers' node refuses);
 * start with esession_sender_options.open_node set. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_fetch_open_options_iq(esession_ctx *ctx, const char *alice_bare_jid, esession_buf *iq,
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

/* ------------------------------------------------------------------ */
/* Online sessions (XEP-0116 negotiation, XEP-0200 both ways; PROFILE   */
/* §12): both parties online, either may start. The library does no I/O: */
/* every call takes the stanza received and gives the stanza to send.   */
/* Sessions live in memory (their keys in guarded memory); only the      */
/* retained secrets of 4-message negotiations are kept in the keystore.  */

typedef struct esession_online_session esession_online_session;

/* How a party's signing key travels in its hidden identity. */
typedef enum esession_pubkey_mode {
    ESESSION_PUBKEY_KEY = 0,  /* the whole public key (default) */
    ESESSION_PUBKEY_HASH = 1, /* its fingerprint: the peer must already trust the key */
    ESESSION_PUBKEY_NONE = 2  /* no key (4-message only): unverified until SAS or a
                                 verified retained secret confirms the peer */
} esession_pubkey_mode;

typedef struct esession_online_options {
    unsigned version;            /* ESESSION_ONLINE_OPTIONS_VERSION */
    int three_message;           /* initiator: 3-message (SIGMA-I) instead of 4-message */
    int refuse_three_message;    /* responder: refuse 3-message requests */
    const int *groups;           /* MODP groups, in preference order; NULL: 14, 15, 16 */
    size_t n_groups;
    int allow_weak_groups;       /* required for groups 1, 2 and 5 */
    const char *const *ciphers;  /* NULL: aes256-ctr, aes128-ctr */
    size_t n_ciphers;
    const char *const *hashes;   /* NULL: sha256, sha512 */
    size_t n_hashes;
    esession_pubkey_mode my_key;   /* how we send our key (falls back to the whole key) */
    esession_pubkey_mode peer_key; /* how we ask for the peer's (hash only if we trust one) */
    uint32_t rekey_freq;         /* fewest stanzas between re-keys; 0: 1 */
    int no_retained_secrets;     /* keep no retained secrets */
    int publish_old_keys;        /* publish the peer's retired MAC keys (XEP-0200 <old>) */
} esession_online_options;

#define ESESSION_ONLINE_OPTIONS_VERSION 1
#define ESESSION_ONLINE_OPTIONS_INIT { ESESSION_ONLINE_OPTIONS_VERSION, 0, 0, NULL, 0, 0, \
                                       NULL, 0, NULL, 0, ESESSION_PUBKEY_KEY, \
                                       ESESSION_PUBKEY_KEY, 0, 0, 0 }

/* Start a session with peer_jid (bare or full) as the initiator: out gets
 * the session, msg1 the request to send. Needs a signing key in ks. While
 * an offline session to the peer is open in ks this is ESESSION_ERR_STATE:
 * end it first (esession_sender_peer_online) and send its termination.
 * opt may be NULL. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_online_initiate(esession_ctx *ctx, esession_keystore *ks, const char *my_full_jid,
                         const char *peer_jid, const esession_online_options *opt,
                         esession_online_session **out, esession_buf *msg1);

/* Answer a request (msg1) as the responder. On success out gets the
 * session and reply its answer. On a failure of the request the status
 * is its reason (malformed, unsupported-option, refused,
 * invalid-dh-value) and reply holds the error stanza to send, or stays
 * empty when the request is to be ignored. The offline rule of
 * esession_online_initiate applies. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_online_respond(esession_ctx *ctx, esession_keystore *ks, const char *my_full_jid,
                        const char *msg1, size_t len, const esession_online_options *opt,
                        esession_online_session **out, esession_buf *reply);

typedef enum esession_online_kind {
    ESESSION_ONLINE_PROGRESS = 1,     /* a negotiation step (reply: the next message) */
    ESESSION_ONLINE_MESSAGE = 2,      /* plaintext opened */
    ESESSION_ONLINE_DUPLICATE = 3,    /* a copy of a stanza already opened: dropped */
    ESESSION_ONLINE_TERMINATED = 4,   /* the peer ended the session (reply: the acknowledgement) */
    ESESSION_ONLINE_ACKNOWLEDGED = 5, /* our termination was acknowledged */
    ESESSION_ONLINE_IGNORED = 6,      /* after the end: nothing done */
    ESESSION_ONLINE_ERROR = 7         /* error: why; the session is over; reply: the
                                         error stanza or termination to send, if any */
} esession_online_kind;

typedef struct esession_online_result {
    esession_online_kind kind;
    esession_status error;       /* ERROR: the reason (ESESSION_ERR_PEER_ERROR: condition) */
    char condition[64];          /* the peer's error condition */
    int established;             /* this stanza completed the negotiation */
    int crossing;                /* TERMINATED: both ended at once; nothing to send */
    esession_buf plaintext;      /* MESSAGE (and TERMINATED/ACKNOWLEDGED): the XML (secret) */
    uint8_t counter[16];         /* the stanza's start counter */
    unsigned profile;            /* ESESSION_PROFILE_* bits of a MESSAGE */
    esession_buf reply;          /* to send now; empty: nothing */
    esession_status storage;     /* a retained secret could not be stored (else OK) */
} esession_online_result;

/* Feed a stanza of the session (its exact text). ESESSION_ERR_NO_SESSION
 * for a stanza of another thread or peer and ESESSION_ERR_MALFORMED for
 * text that is no <message/>: nothing changes. Otherwise ESESSION_OK and
 * *res says what happened; send res->reply if it is not empty. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_online_feed(esession_online_session *s, const char *stanza, size_t len,
                     esession_online_result *res);
ESESSION_EXPORT void esession_online_result_free(esession_online_result *res);

/* Seal one <message/> the client would otherwise send in the clear (type
 * chat or normal, to the peer): the stanza to send instead. On any
 * failure nothing may be sent, never the message in the clear. Re-keys
 * happen on their own (every 100 stanzas, before 2^32 blocks, or after
 * esession_online_rekey). ESESSION_ERR_COUNTER_EXHAUSTED: no re-key is
 * allowed yet and the key is used up: terminate the session. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_online_seal(esession_online_session *s, const char *message, size_t len, esession_buf *out);

/* The next stanza sealed carries a new Diffie-Hellman key (as soon as
 * rekey_freq allows). Either party may, at any time, both at once too. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_online_rekey(esession_online_session *s);

/* End the session: the termination to send. The peer's stanzas sent
 * before it still open until its acknowledgement arrives. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_online_terminate(esession_online_session *s, esession_buf *out);

/* Call now and then after a termination: 60 s without acknowledgement
 * end the session anyway (*timed_out = 1: the peer's last stanzas may be
 * missing). */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_online_poll(esession_online_session *s, int *timed_out);

typedef enum esession_online_state {
    ESESSION_ONLINE_NEGOTIATING = 1,
    ESESSION_ONLINE_OPEN = 2,
    ESESSION_ONLINE_TERMINATE_SENT = 3, /* waiting for the acknowledgement */
    ESESSION_ONLINE_ENDED = 4,
    ESESSION_ONLINE_FAILED = 5          /* an error ended it; keys are destroyed */
} esession_online_state;

ESESSION_EXPORT esession_online_state esession_online_get_state(const esession_online_session *s);
/* 1 once the peer is verified: its key is trusted, a verified retained
 * secret was shared, or the SAS was confirmed. 0: unverified (tell the
 * user, compare the SAS). */
ESESSION_EXPORT int esession_online_verified(const esession_online_session *s);
/* The 4-message short authentication string (5 characters and a NUL) to
 * compare with the peer's by voice or in person. ESESSION_ERR_STATE
 * before it exists or in a 3-message session. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_online_sas(const esession_online_session *s, char out[6]);
/* The user confirmed that both SAS match: the session is verified, and
 * so is the retained secret it leaves (stored in the keystore). */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_online_confirm_sas(esession_online_session *s);
/* The fingerprint (SHA-256 of the <KeyValue>) of the peer's key;
 * ESESSION_ERR_STATE without one (not yet, or pubkey none). */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_online_peer_fingerprint(const esession_online_session *s,
                                 uint8_t out[ESESSION_FINGERPRINT_BYTES]);
ESESSION_EXPORT const char *esession_online_thread(const esession_online_session *s);
/* The peer's full JID once known (else the address msg1 went to). */
ESESSION_EXPORT const char *esession_online_peer(const esession_online_session *s);
/* Wipes every key. NULL-safe. */
ESESSION_EXPORT void esession_online_free(esession_online_session *s);

/* For routing received stanzas: is this a request (msg1), and its
 * sender and thread (empty if none). */
typedef struct esession_online_info {
    int request;
    esession_buf from;
    esession_buf thread;
} esession_online_info;

ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_online_inspect(esession_ctx *ctx, const char *stanza, size_t len,
                        esession_online_info *out);
ESESSION_EXPORT void esession_online_info_free(esession_online_info *info);

/* Crossing requests (PROFILE §12.13): we sent msg1 in `mine` and the peer's
 * request arrived before any answer. *answer = 1: ours yields (its thread is
 * the higher): free it and answer theirs; 0: ignore theirs. */
ESESSION_EXPORT ESESSION_WARN_UNUSED esession_status
esession_online_crossing(const esession_online_session *mine, const char *peer_msg1, size_t len,
                         int *answer);

#ifdef __cplusplus
}
#endif

#endif /* ESESSION_H */
