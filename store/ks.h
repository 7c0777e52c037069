/* SPDX-License-Identifier: ISC */
/* Private to store/: the keystore object, its items and their limits.
 * Layout on disk: docs/keystore.md. */
#ifndef ESESSION_STORE_KS_H
#define ESESSION_STORE_KS_H

#include "store.h"
#include "crypt.h"
#include "file.h"

/* Counts and sizes a keystore accepts (and decodes). */
#define ES_KS_MAX_KEYS 64u
#define ES_KS_MAX_TRUST 4096u
#define ES_KS_MAX_OPTSETS 256u
#define ES_KS_MAX_BLOBS 4096u
#define ES_KS_JID_MAX 3071u        /* RFC 7622: localpart@domainpart */
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
} es_ks_key;

typedef struct es_ks_trust {
    char *jid;
    char *petname;
    char *keyvalue; /* normalized <KeyValue> of the public key */
    size_t keyvalue_len;
    uint8_t fp[ESESSION_FINGERPRINT_BYTES]; /* SHA-256 of keyvalue */
    int verified;
} es_ks_trust;

typedef struct es_ks_replay {
    uint8_t d[ES_REPLAY_HASH];
    uint8_t nb[ES_REPLAY_HASH];
    uint8_t init[ES_REPLAY_HASH];
} es_ks_replay;

typedef struct es_ks_optset {
    es_optset pub;        /* what es_ks_optset_find/at hand out */
    es_ks_replay *replay; /* pub.n_replay entries */
    size_t replay_cap;
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

struct esession_keystore {
    esession_ctx *ctx;
    char *path;
    es_ks_kdf kdf;
    uint8_t *key; /* ES_KS_KEY_BYTES in guarded memory, no access between uses */
    es_vec keys;
    es_vec trust;
    es_vec optsets;
    es_vec blobs;
    es_file_hooks hooks; /* all NULL except in tests */
    int deferred;        /* esession_keystore_defer_writes: changes wait for a flush */
    int dirty;           /* a deferred change is not written yet */
};

/* Write the whole in-memory state to the file, atomically (while writes
 * are deferred: only remember that a flush is due). */
esession_status es_ks_persist(esession_keystore *ks);

/* Serialize the items (body in guarded memory, freed with es_secret_free)
 * and parse them back into an empty keystore. Decoding checks every length
 * and limit; anything off is ESESSION_ERR_CORRUPT. */
esession_status es_ks_encode(const esession_keystore *ks, uint8_t **body, size_t *len);
esession_status es_ks_decode(esession_keystore *ks, const uint8_t *body, size_t len);

/* Input checks shared by the API and the decoder. */
int es_ks_text_ok(const char *s, size_t len); /* no NUL inside */
int es_ks_jid_ok(const char *jid, size_t len);
int es_ks_blob_name_ok(const char *name, size_t len);

/* Test hooks of the atomic writer (per keystore; NULL clears them). */
void es_ks_set_file_hooks(esession_keystore *ks, const es_file_hooks *hooks);

#endif
