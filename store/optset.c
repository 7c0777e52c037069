/* SPDX-License-Identifier: ISC */
/* Offline option sets: N_A, the x of each offered group, expiry, the
 * published form (PROFILE §7, §10). */
#include "ks.h"

#include <stdlib.h>
#include <string.h>

static int find_index(const esession_keystore *ks, const uint8_t *nonce, size_t nonce_len,
                      size_t *index)
{
    if (nonce == NULL || nonce_len == 0 || nonce_len > ES_NONCE_MAX)
        return 0;
    for (size_t i = 0; i < ks->optsets.n; i++) {
        const es_optset *p = &((const es_ks_optset *)ks->optsets.v[i])->pub;
        if (p->nonce_len == nonce_len && memcmp(p->nonce, nonce, nonce_len) == 0) {
            *index = i;
            return 1;
        }
    }
    return 0;
}

es_ks_optset *es_ks_optset_lookup(const esession_keystore *ks, const uint8_t *nonce,
                                  size_t nonce_len)
{
    size_t at;
    if (ks == NULL || !find_index(ks, nonce, nonce_len, &at))
        return NULL;
    return ks->optsets.v[at];
}

static esession_status check_groups(esession_ctx *ctx, const int *groups,
                                    const esession_buf *x, size_t n_groups)
{
    if (n_groups == 0 || n_groups > ES_OPTSET_MAX_GROUPS)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "an option set has 1..%u groups",
                       ES_OPTSET_MAX_GROUPS);
    if (groups == NULL || x == NULL)
        return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL argument");
    for (size_t i = 0; i < n_groups; i++) {
        if (groups[i] < 0)
            return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "negative group number");
        for (size_t j = 0; j < i; j++)
            if (groups[j] == groups[i])
                return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "group offered twice");
        if (x[i].data == NULL || x[i].len == 0)
            return es_fail(ctx, ESESSION_ERR_INVALID_ARGUMENT, "empty x");
        if (x[i].len > ES_KS_X_MAX)
            return es_fail(ctx, ESESSION_ERR_LIMIT, "x longer than %u octets", ES_KS_X_MAX);
    }
    return ESESSION_OK;
}

static esession_status build(esession_ctx *ctx, const uint8_t *nonce, size_t nonce_len,
                             int64_t created, int64_t expires, const int *groups,
                             const esession_buf *x, size_t n_groups, const char *form,
                             size_t form_len, es_ks_optset **out)
{
    es_ks_optset *o = calloc(1, sizeof *o);
    if (o == NULL)
        return es_fail(ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    es_optset *p = &o->pub;
    memcpy(p->nonce, nonce, nonce_len);
    p->nonce_len = nonce_len;
    p->created = created;
    p->expires = expires;
    p->n_groups = n_groups;
    esession_status rc = es_buf_set(&p->form, form, form_len, 0);
    for (size_t i = 0; rc == ESESSION_OK && i < n_groups; i++) {
        p->groups[i] = groups[i];
        rc = es_buf_set_in(ctx, &p->x[i], x[i].data, x[i].len, 1);
    }
    if (rc != ESESSION_OK) {
        es_ks_optset_free(o);
        return es_fail(ctx, rc, "out of memory");
    }
    *out = o;
    return ESESSION_OK;
}

esession_status es_ks_put_optset(esession_keystore *ks, const es_ks_optset *o)
{
    esession_buf b = {NULL, 0, 0};
    esession_status rc = es_ks_optset_encode(ks->ctx, o, &b);
    if (rc == ESESSION_OK)
        rc = es_rec_put(ks, ES_REC_OPTSET, o->pub.nonce, o->pub.nonce_len, NULL, b.data, b.len,
                        NULL);
    esession_buf_free(&b);
    return rc;
}

/* The names of a set's replay records, gathered before they go. */
typedef struct names {
    uint8_t (*v)[1 + ES_NONCE_MAX + 1 + ES_REPLAY_HASH];
    size_t *len;
    size_t n, cap;
} names;

static esession_status gather(void *arg, const uint8_t *name, size_t name_len,
                              const uint8_t *data, size_t len, uint64_t version)
{
    (void)version;
    names *a = arg;
    (void)data;
    (void)len;
    if (name_len > sizeof a->v[0])
        return ESESSION_ERR_CORRUPT;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        void *v = realloc(a->v, cap * sizeof a->v[0]);
        if (v == NULL)
            return ESESSION_ERR_NO_MEMORY;
        a->v = v;
        void *l = realloc(a->len, cap * sizeof a->len[0]);
        if (l == NULL)
            return ESESSION_ERR_NO_MEMORY;
        a->len = l;
        a->cap = cap;
    }
    memcpy(a->v[a->n], name, name_len);
    a->len[a->n++] = name_len;
    return ESESSION_OK;
}

/* Remove a set's record with its replay memory. */
static esession_status drop(esession_keystore *ks, const es_ks_optset *o)
{
    uint8_t owner[ES_REC_ID_BYTES];
    names a = {NULL, NULL, 0, 0};
    es_rec_id(ks, ES_REC_OPTSET, o->pub.nonce, o->pub.nonce_len, owner);
    esession_status rc = es_rec_list(ks, ES_REC_REPLAY, owner, gather, &a);
    for (size_t i = 0; rc == ESESSION_OK && i < a.n; i++)
        rc = es_rec_del(ks, ES_REC_REPLAY, a.v[i], a.len[i]);
    if (rc == ESESSION_OK)
        rc = es_rec_del(ks, ES_REC_OPTSET, o->pub.nonce, o->pub.nonce_len);
    free(a.v);
    free(a.len);
    if (rc != ESESSION_OK && rc != ESESSION_ERR_IO)
        rc = es_fail(ks->ctx, rc, "cannot remove an option set's replay memory");
    return rc;
}

static esession_status es_ks_optset_add_tx(esession_keystore *ks, const uint8_t *nonce, size_t nonce_len,
                                 int64_t created, int64_t expires, const int *groups,
                                 const esession_buf *x, size_t n_groups,
                                 const char *form, size_t form_len, int open_node)
{
    es_ks_optset *o = NULL;
    size_t at;
    esession_status rc;

    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (nonce == NULL || nonce_len == 0 || nonce_len > ES_NONCE_MAX)
        return es_fail(ks->ctx, ESESSION_ERR_INVALID_ARGUMENT, "nonce of 1..%u octets needed",
                       ES_NONCE_MAX);
    if ((rc = check_groups(ks->ctx, groups, x, n_groups)) != ESESSION_OK)
        return rc;
    if (form == NULL && form_len > 0)
        return es_fail(ks->ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL form");
    if (form_len > ES_KS_FORM_MAX)
        return es_fail(ks->ctx, ESESSION_ERR_LIMIT, "form longer than %u octets",
                       ES_KS_FORM_MAX);
    if (find_index(ks, nonce, nonce_len, &at))
        return es_fail(ks->ctx, ESESSION_ERR_STATE, "an option set has this nonce already");
    if ((rc = es_ks_reserve(ks->ctx, &ks->optsets, ES_KS_MAX_OPTSETS, "option sets")) !=
            ESESSION_OK ||
        (rc = build(ks->ctx, nonce, nonce_len, created, expires, groups, x, n_groups, form,
                    form_len, &o)) != ESESSION_OK)
        return rc;
    o->pub.open_node = open_node != 0;
    es_vec_push(&ks->optsets, o);
    rc = es_ks_put_optset(ks, o);
    if (rc != ESESSION_OK) {
        (void)es_vec_pop(&ks->optsets);
        es_ks_optset_free(o);
    }
    return rc;
}

static esession_status add(esession_keystore *ks, const uint8_t *nonce, size_t nonce_len,
                           int64_t created, int64_t expires, const int *groups,
                           const esession_buf *x, size_t n_groups, const char *form,
                           size_t form_len, int open_node)
{
    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    esession_status rc = es_tx_begin(ks, 1);
    if (rc != ESESSION_OK)
        return rc;
    return es_tx_end(ks, es_ks_optset_add_tx(ks, nonce, nonce_len, created, expires, groups, x,
                                             n_groups, form, form_len, open_node));
}

esession_status es_ks_optset_add(esession_keystore *ks, const uint8_t *nonce, size_t nonce_len,
                                 int64_t created, int64_t expires, const int *groups,
                                 const esession_buf *x, size_t n_groups,
                                 const char *form, size_t form_len)
{
    return add(ks, nonce, nonce_len, created, expires, groups, x, n_groups, form, form_len, 0);
}

esession_status es_ks_optset_add_open(esession_keystore *ks, const uint8_t *nonce,
                                      size_t nonce_len, int64_t created, int64_t expires,
                                      const int *groups, const esession_buf *x, size_t n_groups,
                                      const char *form, size_t form_len)
{
    return add(ks, nonce, nonce_len, created, expires, groups, x, n_groups, form, form_len, 1);
}

const es_optset *es_ks_optset_find(const esession_keystore *ks, const uint8_t *nonce,
                                   size_t nonce_len)
{
    (void)es_ks_fresh(ks); /* no status to report: the cached copy stands */
    const es_ks_optset *o = es_ks_optset_lookup(ks, nonce, nonce_len);
    return o != NULL ? &o->pub : NULL;
}

size_t es_ks_optset_count(const esession_keystore *ks)
{
    (void)es_ks_fresh(ks); /* no status to report: the cached copy stands */
    return ks != NULL ? ks->optsets.n : 0;
}

const es_optset *es_ks_optset_at(const esession_keystore *ks, size_t index)
{
    (void)es_ks_fresh(ks); /* no status to report: the cached copy stands */
    if (ks == NULL || index >= ks->optsets.n)
        return NULL;
    return &((const es_ks_optset *)ks->optsets.v[index])->pub;
}

static esession_status es_ks_optset_destroy_secrets_tx(esession_keystore *ks, const uint8_t *nonce,
                                             size_t nonce_len)
{
    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (nonce == NULL)
        return es_fail(ks->ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL nonce");
    es_ks_optset *o = es_ks_optset_lookup(ks, nonce, nonce_len);
    if (o == NULL)
        return es_fail(ks->ctx, ESESSION_ERR_UNKNOWN_OPTIONS, "no option set has this nonce");
    es_optset *p = &o->pub;
    if (p->secrets_destroyed)
        return ESESSION_OK;
    /* The flag alone keeps x out of the file; x is wiped once the file no
     * longer holds it, so a failed write leaves the set usable. */
    p->secrets_destroyed = 1;
    esession_status rc = es_ks_put_optset(ks, o);
    if (rc != ESESSION_OK) {
        p->secrets_destroyed = 0;
        return rc;
    }
    for (size_t i = 0; i < ES_OPTSET_MAX_GROUPS; i++)
        esession_buf_free(&p->x[i]);
    return ESESSION_OK;
}

esession_status es_ks_optset_destroy_secrets(esession_keystore *ks, const uint8_t *nonce,
                                             size_t nonce_len)
{
    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    esession_status rc = es_tx_begin(ks, 1);
    if (rc != ESESSION_OK)
        return rc;
    return es_tx_end(ks, es_ks_optset_destroy_secrets_tx(ks, nonce, nonce_len));
}

static esession_status es_ks_optset_remove_tx(esession_keystore *ks, const uint8_t *nonce,
                                    size_t nonce_len)
{
    size_t at;
    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    if (nonce == NULL)
        return es_fail(ks->ctx, ESESSION_ERR_INVALID_ARGUMENT, "NULL nonce");
    if (!find_index(ks, nonce, nonce_len, &at))
        return es_fail(ks->ctx, ESESSION_ERR_UNKNOWN_OPTIONS, "no option set has this nonce");
    es_ks_optset *o = es_vec_take(&ks->optsets, at);
    esession_status rc = drop(ks, o);
    if (rc != ESESSION_OK) {
        es_vec_put_back(&ks->optsets, at, o);
        return rc;
    }
    es_ks_optset_free(o);
    return ESESSION_OK;
}

esession_status es_ks_optset_remove(esession_keystore *ks, const uint8_t *nonce, size_t nonce_len)
{
    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    esession_status rc = es_tx_begin(ks, 1);
    if (rc != ESESSION_OK)
        return rc;
    return es_tx_end(ks, es_ks_optset_remove_tx(ks, nonce, nonce_len));
}

static int expired(const void *item, int64_t now)
{
    return ((const es_ks_optset *)item)->pub.expires < now;
}

static esession_status es_ks_optset_purge_expired_tx(esession_keystore *ks, int64_t now, size_t *removed)
{
    size_t n = 0, kept = 0;
    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < ks->optsets.n; i++)
        n += expired(ks->optsets.v[i], now) ? 1u : 0u;
    if (n == 0) {
        if (removed != NULL)
            *removed = 0;
        return ESESSION_OK;
    }
    /* Keep the old order to restore it if the write fails. */
    size_t total = ks->optsets.n;
    void **old = malloc(total * sizeof *old);
    if (old == NULL)
        return es_fail(ks->ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    memcpy(old, ks->optsets.v, total * sizeof *old);
    for (size_t i = 0; i < total; i++)
        if (!expired(old[i], now))
            ks->optsets.v[kept++] = old[i];
    ks->optsets.n = kept;
    esession_status rc = ESESSION_OK;
    for (size_t i = 0; rc == ESESSION_OK && i < total; i++)
        if (expired(old[i], now))
            rc = drop(ks, old[i]);
    if (rc != ESESSION_OK) {
        memcpy(ks->optsets.v, old, total * sizeof *old);
        ks->optsets.n = total;
    } else {
        for (size_t i = 0; i < total; i++)
            if (expired(old[i], now))
                es_ks_optset_free(old[i]);
        if (removed != NULL)
            *removed = n;
    }
    free(old);
    return rc;
}

esession_status es_ks_optset_purge_expired(esession_keystore *ks, int64_t now, size_t *removed)
{
    if (ks == NULL)
        return ESESSION_ERR_INVALID_ARGUMENT;
    size_t n = 0;
    esession_status rc = es_tx_begin(ks, 1);
    if (rc != ESESSION_OK)
        return rc;
    /* The count only once the commit made it true. */
    rc = es_tx_end(ks, es_ks_optset_purge_expired_tx(ks, now, &n));
    if (rc == ESESSION_OK && removed != NULL)
        *removed = n;
    return rc;
}
