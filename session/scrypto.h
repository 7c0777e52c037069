/* SPDX-License-Identifier: ISC */
/* The cryptographic layer of an offline ESession: pure functions from
 * protocol inputs to keys (PROFILE §3, §4), Bob's hidden identity (§5),
 * sealed and opened <c> content (§9) and re-keys (§9). No session state:
 * counters, key epochs and storage belong to the caller.
 *
 * Conventions: functions that take a ctx record a reason with es_fail; on
 * failure every output is left untouched (a counter passed in/out
 * included) and nothing passed in changes. Secret outputs live in
 * es_secret_alloc memory and are wiped when freed. */
#ifndef ESESSION_SCRYPTO_H
#define ESESSION_SCRYPTO_H

#include "../core/core.h"
#include "../crypto/aes_ctr.h"
#include "../crypto/dh.h"
#include "../crypto/hash.h"
#include "../crypto/sig.h"

#include <libxml/tree.h>

#define ES_C_NS "http://www.xmpp.org/extensions/xep-0200.html#ns"

#define ES_CIPHER_KEY_MAX 32 /* aes256 */

/* Most <old> children accepted in one received <c>. */
#define ES_C_MAX_OLD 16u

/* Longest IDB accepted: the largest <KeyValue> parsed at all plus an
 * RSA-8192 <SignatureValue>. */
#define ES_IDB_MAX (ES_KEYVALUE_MAX + 2048u)

/* The agreed HASH and CIPHER. */
typedef struct es_suite {
    es_hash_alg hash;
    es_cipher_alg cipher;
} es_suite;

/* ---- key schedule (keysched.c, PROFILE §3, §4) ------------------------- */

/* One direction's cipher and MAC keys. kc is the last kc_len octets of its
 * HMAC output; km the whole output. */
typedef struct es_dir_keys {
    es_suite suite;
    size_t kc_len;                    /* es_cipher_key_size(cipher) */
    size_t km_len;                    /* es_hash_size(hash) */
    uint8_t kc[ES_CIPHER_KEY_MAX];
    uint8_t km[ES_HASH_MAX_BYTES];
} es_dir_keys;

/* K and the six keys of XEP-0116. a: initiator (Alice), b: responder
 * (Bob). In an offline ESession only b's cipher and MAC keys are used for
 * content, ks_b for macB. Always allocated in guarded memory. */
typedef struct es_session_keys {
    es_suite suite;
    size_t k_len;                     /* = es_hash_size(hash) = ks_len */
    uint8_t k[ES_HASH_MAX_BYTES];
    es_dir_keys a, b;
    uint8_t ks_a[ES_HASH_MAX_BYTES];
    uint8_t ks_b[ES_HASH_MAX_BYTES];
} es_session_keys;

/* K = HASH(shared), shared = mpint(g^xy mod p) as es_dh_shared returns it;
 * then KC_A, KM_A, KS_A, KC_B, KM_B, KS_B = HMAC(HASH, K, label).
 * ESESSION_ERR_UNSUPPORTED for an unknown hash or cipher. */
esession_status es_session_keys_derive(esession_ctx *ctx, es_suite suite,
                                       const uint8_t *shared, size_t n,
                                       es_session_keys **out);
/* The same from K itself (k_len = es_hash_size(hash), else
 * ESESSION_ERR_INVALID_ARGUMENT). */
esession_status es_session_keys_from_k(esession_ctx *ctx, es_suite suite,
                                       const uint8_t *k, size_t k_len,
                                       es_session_keys **out);
/* Convenience: shared = es_dh_shared(mine, peer) (peer validated as PROFILE
 * §3: ESESSION_ERR_INVALID_DH_VALUE, or ESESSION_ERR_MALFORMED for a
 * non-minimal mpint), then es_session_keys_derive. The shared secret is
 * wiped before returning. */
esession_status es_session_keys_dh(esession_ctx *ctx, es_suite suite, const es_dh *mine,
                                   const uint8_t *peer, size_t peer_len,
                                   es_session_keys **out);
/* The same for a peer value just accepted by es_dh_check_public (the
 * protocol step that names its failure): es_dh_shared_checked. */
esession_status es_session_keys_dh_checked(esession_ctx *ctx, es_suite suite,
                                           const es_dh *mine, const uint8_t *peer,
                                           size_t peer_len, es_session_keys **out);
void es_session_keys_free(es_session_keys *keys);

/* C_B = C_A XOR 2^127 (top bit flipped). */
void es_counter_b(const uint8_t c_a[ES_AES_BLOCK], uint8_t c_b[ES_AES_BLOCK]);

/* KX = HMAC(HASH, key, label) into out (es_hash_size octets); the KDF step
 * shared by the key schedule and the re-key. */
esession_status es_kdf(es_hash_alg hash, const uint8_t *key, size_t key_len,
                       const char *label, uint8_t *out);

/* ---- a keyed direction (chan.c) ------------------------------------ */

/* A cipher key and a MAC key, each processed once and kept (one per key
 * epoch; the caller keeps old epochs as long as it needs them). Every use
 * goes through its MAC state: one thread at a time. */
typedef struct es_chan es_chan;

esession_status es_chan_new(esession_ctx *ctx, const es_dir_keys *keys, es_chan **out);
/* Replace both keys; on failure the old ones stay. */
esession_status es_chan_rekey(esession_ctx *ctx, es_chan *chan, const es_dir_keys *keys);
es_suite es_chan_suite(const es_chan *chan);
size_t es_chan_mac_size(const es_chan *chan);
/* CIPHER(KC, ctr, in) into out (in == out allowed); ctr advances by
 * ceil(n/16), n = 0 leaves it. */
esession_status es_chan_crypt(es_chan *chan, uint8_t ctr[ES_AES_BLOCK], const uint8_t *in,
                              uint8_t *out, size_t n);
/* HMAC(HASH, KM, a || b) into out (es_chan_mac_size octets). */
esession_status es_chan_mac(es_chan *chan, const uint8_t *a, size_t an, const uint8_t *b,
                            size_t bn, uint8_t *out);
void es_chan_free(es_chan *chan);

/* ---- Bob's identity (identity.c, PROFILE §5) ----------------------- */

/* What macB covers besides pubKeyB: N_A, N_B, mpint(d), formB (the
 * normalized text of Bob's form without identity and mac). */
typedef struct es_id_input {
    const uint8_t *n_a;
    size_t n_a_len;
    const uint8_t *n_b;
    size_t n_b_len;
    const uint8_t *d;
    size_t d_len;
    const char *form_b;
    size_t form_b_len;
} es_id_input;

/* macB = HMAC(HASH, KS_B, N_A || N_B || mpint(d) || pubKeyB || formB) into
 * mac (es_hash_size octets). */
esession_status es_identity_mac_b(esession_ctx *ctx, const es_session_keys *keys,
                                  const es_id_input *in, const char *pubkey_b,
                                  size_t pubkey_b_len, uint8_t *mac);

/* Everything Bob's side produces. Release with es_id_sealed_clear. */
typedef struct es_id_sealed {
    esession_buf pubkey_b;               /* normalized <KeyValue> */
    esession_buf sign_b;                 /* <SignatureValue>b64</SignatureValue> */
    size_t mac_len;                      /* es_hash_size(hash) */
    uint8_t mac_b[ES_HASH_MAX_BYTES];
    esession_buf idb;                    /* CIPHER(KC_B, C_B, pubKeyB || signB) */
    uint8_t mb[ES_HASH_MAX_BYTES];       /* HMAC(KM_B, C_B || IDB) */
    uint8_t ctr_after[ES_AES_BLOCK];     /* C_B + blocks(IDB): the first stanza's C */
} es_id_sealed;

/* Bob: pubKeyB from bob_key (which must hold its private part), macB,
 * signB = SIG(bob_key, macB), IDB and MB. chan holds KC_B, KM_B (keys->b);
 * c_b is C_B. */
esession_status es_identity_seal(esession_ctx *ctx, const es_session_keys *keys, es_chan *chan,
                                 const esession_key *bob_key, const es_id_input *in,
                                 const uint8_t c_b[ES_AES_BLOCK], es_id_sealed *out);
void es_id_sealed_clear(es_id_sealed *s);

/* Alice (PROFILE §10 steps 6-7 without the trust check), in this order:
 *  1. MB = HMAC(KM_B, C_B || IDB), constant-time; a wrong length or value
 *     is ESESSION_ERR_BAD_IDENTITY_MAC, and nothing is decrypted;
 *  2. decrypt IDB at C_B; the plaintext must be exactly a normalized
 *     <KeyValue> followed by <SignatureValue>base64</SignatureValue>
 *     (no other text, no second element; the base64 follows PROFILE §1),
 *     else ESESSION_ERR_MALFORMED (also for IDB longer than ES_IDB_MAX);
 *  3. the key: outside the PROFILE limits, or not of sign_type (from the
 *     chosen sign_algs), is ESESSION_ERR_BAD_SIGNATURE;
 *  4. macB recomputed from in and the received pubKeyB; signB must verify
 *     over it: else ESESSION_ERR_BAD_SIGNATURE.
 * On success *bob_key is Bob's public key (the caller checks trust and
 * frees it) and ctr_after (may be NULL) the counter after IDB. */
/* The signer's key read from a decrypted identity's <KeyValue> (kv, n
 * octets): not normalized is ESESSION_ERR_MALFORMED; a key outside the
 * limits, or of another type than sign_type (the chosen sign_algs), is
 * ESESSION_ERR_BAD_SIGNATURE (PROFILE §11, §12.8). Offline and online. */
/* First occurrence of needle in the n octets of hay (decrypted identity
 * text, not NUL-terminated), or NULL. */
const char *es_identity_find(const char *hay, size_t n, const char *needle);
esession_status es_identity_import_key(esession_ctx *ctx, const char *kv, size_t n,
                                       esession_key_type sign_type, esession_key **out);
esession_status es_identity_open(esession_ctx *ctx, const es_session_keys *keys, es_chan *chan,
                                 esession_key_type sign_type, const es_id_input *in,
                                 const uint8_t c_b[ES_AES_BLOCK], const uint8_t *idb,
                                 size_t idb_len, const uint8_t *mb, size_t mb_len,
                                 esession_key **bob_key, uint8_t ctr_after[ES_AES_BLOCK]);
/* Keys the opener already holds decoded (the trust store's): find gives a
 * new handle on the key whose normalized <KeyValue> is exactly kv (n
 * octets), or fails; the same text decodes to the same key, so this only
 * saves decoding it again. */
typedef struct es_id_known {
    esession_status (*find)(void *user, const char *kv, size_t n, esession_key **out);
    void *user;
} es_id_known;
/* es_identity_open looking up pubKeyB in known (may be NULL) before
 * decoding it. */
esession_status es_identity_open_known(esession_ctx *ctx, const es_session_keys *keys,
                                       es_chan *chan, esession_key_type sign_type,
                                       const es_id_input *in, const uint8_t c_b[ES_AES_BLOCK],
                                       const uint8_t *idb, size_t idb_len, const uint8_t *mb,
                                       size_t mb_len, const es_id_known *known,
                                       esession_key **bob_key, uint8_t ctr_after[ES_AES_BLOCK]);

/* ---- stanza content (stanza_crypt.c, stanza_open.c, PROFILE §9) ----- */

/* Optional children of a sealed <c> besides data and mac. */
typedef struct es_c_extras {
    const uint8_t *key;      /* mpint(d') for <key>; NULL: no <key> */
    size_t key_len;
    uint32_t new_count;      /* > 0: <new>N</new> */
    const uint8_t *const *old; /* n_old old MAC keys, one <old> each */
    const size_t *old_len;
    size_t n_old;
} es_c_extras;

/* Seal m (the serialized child elements, m_len octets; 0: no <data>) at
 * *ctr with chan: m_final = CIPHER(KC, C, m), a_mac = HMAC(KM, m_content ||
 * C) with C before encrypting, and out = the whole
 * <c xmlns='…xep-0200…'><data>…</data><key>…</key><new>…</new><old>…</old>*<mac>…</mac></c>
 * text, no whitespace. *ctr advances by ceil(m_len/16), or 1 without data.
 * extras may be NULL. a_mac (NULL or es_chan_mac_size octets) receives the
 * MAC. A <c> longer than ES_XML_MAX_BYTES is ESESSION_ERR_LIMIT. */
esession_status es_c_seal(esession_ctx *ctx, es_chan *chan, uint8_t ctr[ES_AES_BLOCK],
                          const uint8_t *m, size_t m_len, const es_c_extras *extras,
                          esession_buf *out, uint8_t *a_mac);

/* A received <c>, checked and decoded once; verify and decrypt at any
 * number of counters without parsing again. */
typedef struct es_c_open es_c_open;

/* Check a received <c> element (xep-0200 namespace) and prepare it. Its
 * element children must be data, key, new, old, mac of that namespace,
 * each at most once except old (at most ES_C_MAX_OLD), mac required, in
 * any order; no attributes on them, no element inside them; text between
 * them only whitespace (dropped, XEP-0200 §Encrypting); data, key, old
 * and mac valid base64 (PROFILE §1), new a decimal number 1..2^32-1.
 * Else ESESSION_ERR_MALFORMED. Comments and PIs are ignored, as in
 * es_form_normalize. m_content is built from the text exactly as received
 * (PROFILE §6 escaping). An empty <data></data> is treated as no data. */
esession_status es_c_parse(esession_ctx *ctx, const xmlNode *c, es_c_open **out);
/* Counter values the stanza uses: ceil(len(m_final)/16), or 1 without data. */
uint64_t es_c_blocks(const es_c_open *c);
int es_c_has_data(const es_c_open *c);
/* The decoded <key> (mpint(d')), NULL if absent (an empty <key> gives a
 * non-NULL pointer and length 0: d' = 0). */
const uint8_t *es_c_key(const es_c_open *c, size_t *len);
/* <new>'s number, 0 if absent. */
uint32_t es_c_new_count(const es_c_open *c);
/* m_content as es_c_parse built it (what a_mac covers besides the
 * counter); valid as long as c. */
const uint8_t *es_c_m_content(const es_c_open *c, size_t *len);
/* The received a_mac octets (for duplicate detection). */
const uint8_t *es_c_mac(const es_c_open *c, size_t *len);
/* ESESSION_OK if a_mac = HMAC(KM, m_content || S) (constant-time), else
 * ESESSION_ERR_BAD_MAC (also for a mac of another length than the hash).
 * Nothing is decrypted; c and chan keep no trace of the try. */
esession_status es_c_verify(const es_c_open *c, es_chan *chan, const uint8_t s[ES_AES_BLOCK]);
/* Verify at s once more, then decrypt into plain (a secret buffer, len 0
 * without data). ESESSION_ERR_BAD_MAC without decrypting if it fails. */
esession_status es_c_decrypt(esession_ctx *ctx, const es_c_open *c, es_chan *chan,
                             const uint8_t s[ES_AES_BLOCK], esession_buf *plain);
/* es_c_decrypt without the check, for a caller whose es_c_verify under
 * the same chan at the same s has just passed. */
esession_status es_c_decrypt_verified(esession_ctx *ctx, const es_c_open *c, es_chan *chan,
                                      const uint8_t s[ES_AES_BLOCK], esession_buf *plain);
void es_c_free(es_c_open *c);

/* ---- re-key (rekey.c, PROFILE §9) ---------------------------------- */

/* KC = last L octets of HMAC(HASH, mpint(K'), "Rekey Initiator Crypt"),
 * KM = HMAC(HASH, mpint(K'), "Rekey Initiator MAC"); kp = mpint(K'). */
esession_status es_rekey_derive(esession_ctx *ctx, es_suite suite, const uint8_t *kp,
                                size_t kp_len, es_dir_keys **out);
/* The same derivation under other labels (online: "Rekey Acceptor ..."). */
esession_status es_rekey_derive_labelled(esession_ctx *ctx, es_suite suite, const uint8_t *kp,
                                         size_t kp_len, const char *crypt_label,
                                         const char *mac_label, es_dir_keys **out);

/* Bob: y' (y NULL: drawn from ctx's random source; else the given mpint,
 * 2^255 < y' < p-1), d' = g^y' mod p into d_prime (mpint), K' = e^y' mod p
 * (e validated, PROFILE §3), and the new keys. y' and K' are wiped. */
esession_status es_rekey_initiate(esession_ctx *ctx, es_suite suite, int group,
                                  const uint8_t *e, size_t e_len, const uint8_t *y,
                                  size_t y_len, esession_buf *d_prime, es_dir_keys **out);

/* Alice: from a received d' (validated like d: ESESSION_ERR_INVALID_DH_VALUE,
 * or ESESSION_ERR_MALFORMED for a non-minimal mpint), K' = d'^x mod p and
 * the new keys. */
esession_status es_rekey_accept(esession_ctx *ctx, es_suite suite, const es_dh *x,
                                const uint8_t *d_prime, size_t d_prime_len,
                                es_dir_keys **out);

void es_dir_keys_free(es_dir_keys *keys);

#endif
