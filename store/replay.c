/* SPDX-License-Identifier: ISC */
/* Replay memory of an option set (PROFILE §10 steps 5 and 8): for every
 * accepted session one record under its d and one under its N_B, each
 * holding the hashes of d, N_B and the init stanza, owned by the option
 * set so that they go with it. A check is two look-ups, whatever the
 * number of sessions. */
#include "ks.h"

#include <string.h>

#define ENTRY_BYTES (3u * ES_REPLAY_HASH)
#define NAME_MAX_BYTES (1u + ES_NONCE_MAX + 1u + ES_REPLAY_HASH)

typedef enum seen { SEEN_NONE, SEEN_SAME, SEEN_CLASH } seen;

/* nonce length | nonce | 'd' or 'n' | hash */
static size_t entry_name(uint8_t *name, const uint8_t *nonce, size_t nonce_len, char which,
                         const uint8_t *hash)
{
    name[0] = (uint8_t)nonce_len;
    memcpy(name + 1, nonce, nonce_len);
    name[1 + nonce_len] = (uint8_t)which;
    memcpy(name + 2 + nonce_len, hash, ES_REPLAY_HASH);
    return 2 + nonce_len + ES_REPLAY_HASH;
}

/* What the record under (which, hash) says of this session. */
static esession_status probe(esession_keystore *ks, const uint8_t *nonce, size_t nonce_len,
                             char which, const uint8_t *hash, const uint8_t *entry, seen *out)
{
    uint8_t name[NAME_MAX_BYTES];
    esession_buf b = {NULL, 0, 0};
    size_t n = entry_name(name, nonce, nonce_len, which, hash);
    esession_status rc = es_rec_get(ks, ES_REC_REPLAY, name, n, &b, NULL);
    if (rc == ESESSION_ERR_NO_SESSION) {
        es_clear_detail(ks->ctx);
        *out = SEEN_NONE;
        return ESESSION_OK;
    }
    if (rc != ESESSION_OK)
        return rc;
    if (b.len != ENTRY_BYTES)
        rc = es_fail(ks->ctx, ESESSION_ERR_CORRUPT, "damaged replay record");
    else
        *out = memcmp(b.data, entry, ENTRY_BYTES) == 0 ? SEEN_SAME : SEEN_CLASH;
    esession_buf_free(&b);
    return rc;
}

/* SEEN_SAME: this very session (d, N_B and init text) was accepted;
 * SEEN_CLASH: d or N_B was accepted in some other way. */
static esession_status lookup(esession_keystore *ks, const uint8_t *nonce, size_t nonce_len,
                              const uint8_t *entry, seen *out)
{
    seen by_d = SEEN_NONE, by_nb = SEEN_NONE;
    esession_status rc = probe(ks, nonce, nonce_len, 'd', entry, entry, &by_d);
    if (rc == ESESSION_OK)
        rc = probe(ks, nonce, nonce_len, 'n', entry + ES_REPLAY_HASH, entry, &by_nb);
    if (rc != ESESSION_OK)
        return rc;
    if (by_d == SEEN_SAME && by_nb == SEEN_SAME)
        *out = SEEN_SAME;
    else if (by_d != SEEN_NONE || by_nb != SEEN_NONE)
        *out = SEEN_CLASH;
    else
        *out = SEEN_NONE;
    return ESESSION_OK;
}

static esession_status start(esession_keystore *ks, const uint8_t *nonce, size_t nonce_len,
                             const uint8_t *d, const uint8_t *nb, const uint8_t *init,
                             uint8_t entry[ENTRY_BYTES], es_ks_optset **set)
{
    if (nonce == NULL || d == NULL || nb == NULL || init == NULL)
        return es_fail(ks->ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL argument");
    *set = es_ks_optset_lookup(ks, nonce, nonce_len);
    if (*set == NULL)
        return es_fail(ks->ctx, ESESSION_ERR_UNKNOWN_OPTIONS, "no option set has this nonce");
    memcpy(entry, d, ES_REPLAY_HASH);
    memcpy(entry + ES_REPLAY_HASH, nb, ES_REPLAY_HASH);
    memcpy(entry + 2 * ES_REPLAY_HASH, init, ES_REPLAY_HASH);
    return ESESSION_OK;
}

/* The note holds for the same set and hashes while this transaction runs
 * and writes nothing. */
static int note_holds(const esession_keystore *ks, const es_replay_note *note,
                      const uint8_t *nonce, size_t nonce_len, const uint8_t *entry)
{
    return note != NULL && note->valid && ks->depth > 0 && note->serial == ks->tx_serial &&
           note->writes == ks->tx_writes && note->nonce_len == nonce_len &&
           memcmp(note->nonce, nonce, nonce_len) == 0 &&
           memcmp(note->entry, entry, ENTRY_BYTES) == 0;
}

esession_status es_ks_replay_check_noted(esession_keystore *ks, const uint8_t *nonce,
                                         size_t nonce_len, const uint8_t d_hash[ES_REPLAY_HASH],
                                         const uint8_t nb_hash[ES_REPLAY_HASH],
                                         const uint8_t init_hash[ES_REPLAY_HASH], int *duplicate,
                                         es_replay_note *note)
{
    uint8_t entry[ENTRY_BYTES];
    es_ks_optset *o;
    seen s = SEEN_NONE;
    if (note != NULL)
        memset(note, 0, sizeof *note);
    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (duplicate == NULL)
        return es_fail(ks->ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL argument");
    esession_status rc = es_tx_begin(ks, 0);
    if (rc != ESESSION_OK)
        return rc;
    rc = start(ks, nonce, nonce_len, d_hash, nb_hash, init_hash, entry, &o);
    if (rc == ESESSION_OK)
        rc = lookup(ks, nonce, nonce_len, entry, &s);
    if (rc == ESESSION_OK && s == SEEN_CLASH)
        rc = es_fail(ks->ctx, ESESSION_ERR_REPLAY, "d or N_B already accepted");
    if (rc == ESESSION_OK) {
        *duplicate = s == SEEN_SAME;
        if (note != NULL && nonce_len <= sizeof note->nonce) {
            note->serial = ks->tx_serial;
            note->writes = ks->tx_writes;
            note->seen = (int)s;
            memcpy(note->nonce, nonce, nonce_len);
            note->nonce_len = nonce_len;
            memcpy(note->entry, entry, ENTRY_BYTES);
            note->valid = 1;
        }
    }
    /* A replay found is an answer, not a failure of the transaction. */
    esession_status end = es_tx_end(ks, rc == ESESSION_ERR_REPLAY ? ESESSION_OK : rc);
    return rc != ESESSION_OK ? rc : end;
}

esession_status es_ks_replay_check(esession_keystore *ks, const uint8_t *nonce,
                                   size_t nonce_len, const uint8_t d_hash[ES_REPLAY_HASH],
                                   const uint8_t nb_hash[ES_REPLAY_HASH],
                                   const uint8_t init_hash[ES_REPLAY_HASH], int *duplicate)
{
    return es_ks_replay_check_noted(ks, nonce, nonce_len, d_hash, nb_hash, init_hash, duplicate,
                                    NULL);
}

esession_status es_ks_replay_put(esession_keystore *ks, const es_optset *set,
                                 const uint8_t entry[3 * ES_REPLAY_HASH])
{
    uint8_t name[NAME_MAX_BYTES], owner[ES_REC_ID_BYTES];
    es_rec_id(ks, ES_REC_OPTSET, set->nonce, set->nonce_len, owner);
    size_t n = entry_name(name, set->nonce, set->nonce_len, 'd', entry);
    esession_status rc = es_rec_put(ks, ES_REC_REPLAY, name, n, owner, entry, ENTRY_BYTES, NULL);
    if (rc == ESESSION_OK) {
        n = entry_name(name, set->nonce, set->nonce_len, 'n', entry + ES_REPLAY_HASH);
        rc = es_rec_put(ks, ES_REC_REPLAY, name, n, owner, entry, ENTRY_BYTES, NULL);
    }
    return rc;
}

static esession_status record(esession_keystore *ks, const uint8_t *nonce, size_t nonce_len,
                              const uint8_t *d, const uint8_t *nb, const uint8_t *init,
                              const es_replay_note *note)
{
    uint8_t entry[ENTRY_BYTES];
    es_ks_optset *o;
    seen s = SEEN_NONE;
    esession_status rc = start(ks, nonce, nonce_len, d, nb, init, entry, &o);
    if (rc != ESESSION_OK)
        return rc;
    /* The check's answer stands if the store is as it was then. */
    if (note_holds(ks, note, nonce, nonce_len, entry))
        s = (seen)note->seen;
    else if ((rc = lookup(ks, nonce, nonce_len, entry, &s)) != ESESSION_OK)
        return rc;
    /* Each d and each N_B is remembered once: a redelivered session is
     * already on file, anything else that reuses them is a replay. */
    if (s == SEEN_SAME)
        return ESESSION_OK;
    if (s == SEEN_CLASH)
        return es_fail(ks->ctx, ESESSION_ERR_REPLAY, "d or N_B already accepted");
    if (o->pub.n_replay >= ES_REPLAY_MAX)
        return es_fail(ks->ctx, ESESSION_ERR_LIMIT, "more than %u sessions under one option set",
                       ES_REPLAY_MAX);
    if ((rc = es_ks_replay_put(ks, &o->pub, entry)) != ESESSION_OK)
        return rc;
    o->pub.n_replay++;
    rc = es_ks_put_optset(ks, o);
    if (rc != ESESSION_OK)
        o->pub.n_replay--;
    return rc;
}

esession_status es_ks_replay_record_noted(esession_keystore *ks, const uint8_t *nonce,
                                          size_t nonce_len, const uint8_t d_hash[ES_REPLAY_HASH],
                                          const uint8_t nb_hash[ES_REPLAY_HASH],
                                          const uint8_t init_hash[ES_REPLAY_HASH],
                                          const es_replay_note *note)
{
    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    esession_status rc = es_tx_begin(ks, 1);
    if (rc != ESESSION_OK)
        return rc;
    return es_tx_end(ks, record(ks, nonce, nonce_len, d_hash, nb_hash, init_hash, note));
}

esession_status es_ks_replay_record(esession_keystore *ks, const uint8_t *nonce, size_t nonce_len,
                                    const uint8_t d_hash[ES_REPLAY_HASH],
                                    const uint8_t nb_hash[ES_REPLAY_HASH],
                                    const uint8_t init_hash[ES_REPLAY_HASH])
{
    return es_ks_replay_record_noted(ks, nonce, nonce_len, d_hash, nb_hash, init_hash, NULL);
}
