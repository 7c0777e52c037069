/* SPDX-License-Identifier: ISC */
/* Replay memory of an option set (PROFILE §10 steps 5 and 8): the hashes
 * of d, N_B and the init stanza of every accepted session. */
#include "ks.h"

#include <stdlib.h>
#include <string.h>

static int eq(const uint8_t *a, const uint8_t *b)
{
    return memcmp(a, b, ES_REPLAY_HASH) == 0;
}

typedef enum seen { SEEN_NONE, SEEN_SAME, SEEN_CLASH } seen;

/* SEEN_SAME: an entry holds this very session (d, N_B and init text);
 * SEEN_CLASH: d or N_B was accepted in some other way. */
static seen lookup(const es_ks_optset *o, const uint8_t *d, const uint8_t *nb,
                   const uint8_t *init)
{
    seen s = SEEN_NONE;
    for (size_t i = 0; i < o->pub.n_replay; i++) {
        const es_ks_replay *e = &o->replay[i];
        int d_eq = eq(e->d, d), nb_eq = eq(e->nb, nb);
        if (d_eq && nb_eq && eq(e->init, init))
            return SEEN_SAME;
        if (d_eq || nb_eq)
            s = SEEN_CLASH;
    }
    return s;
}

static esession_status find(const esession_keystore *ks, const uint8_t *nonce,
                            size_t nonce_len, const uint8_t *d, const uint8_t *nb,
                            const uint8_t *init, es_ks_optset **out)
{
    if (nonce == NULL || d == NULL || nb == NULL || init == NULL)
        return es_fail(ks->ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL argument");
    *out = es_ks_optset_lookup(ks, nonce, nonce_len);
    if (*out == NULL)
        return es_fail(ks->ctx, ESESSION_ERR_UNKNOWN_OPTIONS, "no option set has this nonce");
    return ESESSION_OK;
}

esession_status es_ks_replay_check(const esession_keystore *ks, const uint8_t *nonce,
                                   size_t nonce_len, const uint8_t d_hash[ES_REPLAY_HASH],
                                   const uint8_t nb_hash[ES_REPLAY_HASH],
                                   const uint8_t init_hash[ES_REPLAY_HASH], int *duplicate)
{
    es_ks_optset *o;
    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (duplicate == NULL)
        return es_fail(ks->ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL argument");
    esession_status rc = find(ks, nonce, nonce_len, d_hash, nb_hash, init_hash, &o);
    if (rc != ESESSION_OK)
        return rc;
    switch (lookup(o, d_hash, nb_hash, init_hash)) {
    case SEEN_NONE:
        *duplicate = 0;
        return ESESSION_OK;
    case SEEN_SAME:
        *duplicate = 1;
        return ESESSION_OK;
    default:
        return es_fail(ks->ctx, ESESSION_ERR_REPLAY, "d or N_B already accepted");
    }
}

/* Room for one more entry (the array only grows, up to ES_REPLAY_MAX). */
static esession_status reserve(esession_ctx *ctx, es_ks_optset *o)
{
    if (o->pub.n_replay >= ES_REPLAY_MAX)
        return es_fail(ctx, ESESSION_ERR_LIMIT, "more than %u sessions under one option set",
                       ES_REPLAY_MAX);
    if (o->pub.n_replay < o->replay_cap)
        return ESESSION_OK;
    size_t cap = o->replay_cap == 0 ? 16 : o->replay_cap * 2;
    if (cap > ES_REPLAY_MAX)
        cap = ES_REPLAY_MAX;
    es_ks_replay *r = realloc(o->replay, cap * sizeof *r);
    if (r == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    o->replay = r;
    o->replay_cap = cap;
    return ESESSION_OK;
}

esession_status es_ks_replay_record(esession_keystore *ks, const uint8_t *nonce, size_t nonce_len,
                                    const uint8_t d_hash[ES_REPLAY_HASH],
                                    const uint8_t nb_hash[ES_REPLAY_HASH],
                                    const uint8_t init_hash[ES_REPLAY_HASH])
{
    es_ks_optset *o;
    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    esession_status rc = find(ks, nonce, nonce_len, d_hash, nb_hash, init_hash, &o);
    if (rc != ESESSION_OK)
        return rc;
    /* Each d and each N_B is remembered once: a redelivered session is
     * already on file, anything else that reuses them is a replay. */
    switch (lookup(o, d_hash, nb_hash, init_hash)) {
    case SEEN_SAME:
        return ESESSION_OK;
    case SEEN_CLASH:
        return es_fail(ks->ctx, ESESSION_ERR_REPLAY, "d or N_B already accepted");
    default:
        break;
    }
    if ((rc = reserve(ks->ctx, o)) != ESESSION_OK)
        return rc;
    es_ks_replay *e = &o->replay[o->pub.n_replay];
    memcpy(e->d, d_hash, ES_REPLAY_HASH);
    memcpy(e->nb, nb_hash, ES_REPLAY_HASH);
    memcpy(e->init, init_hash, ES_REPLAY_HASH);
    o->pub.n_replay++;
    rc = es_ks_persist(ks);
    if (rc != ESESSION_OK)
        o->pub.n_replay--;
    return rc;
}
