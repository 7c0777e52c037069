/* SPDX-License-Identifier: ISC */
/* The version index: which records exist and at which version, so that a
 * record rolled back to an older ciphertext of itself, deleted, or added
 * from elsewhere is noticed. Two levels under the generation record:
 *
 *   gens.root[64]    version of each mid record
 *   mid m (64)       version of each of its 64 leaf records
 *   leaf l (4096)    sorted (kind, id, version) of the records whose id
 *                    starts with l's 12 bits
 *   gens.recent      (kind, id, version) of up to 16 records written or
 *                    removed lately (version 0), in place of their leaves
 *
 * A commit that changes a few records puts them in the recent list and
 * writes no leaf or mid; a full list goes into the leaves at once.
 * Index records are sealed records of kind META like any other, and each
 * must carry the version its parent names. A check costs a leaf and a mid
 * (about a kilobyte each at 100,000 records), whatever the store holds.
 *
 * What a handle has read or written stays with it after the transaction
 * (up to CACHE_BYTES of leaves, every leaf of a store of 400,000
 * records: a handle working on records spread over the whole store, as
 * the queue's are, would otherwise read a leaf for nearly every one): the
 * next one starts from the generation
 * record it reads, and a cached node whose parent still names the
 * version it was read or written at is that node, authenticated then;
 * any other is let go. So a handle working on a few records reads their
 * index once, not in every transaction. */
#include "vindex.h"

#include "../core/bytes.h"

#include <stdlib.h>
#include <string.h>

#define ENTRY ES_VIDX_ENTRY
#define LEAF_MAX_ENTRIES 65536u
#define CACHE_BYTES (16u << 20)

struct es_vleaf {
    int dirty;
    uint64_t version; /* as its mid names it when it was read or written */
    size_t n, cap;
    uint8_t *e; /* n entries of ENTRY octets, sorted by (kind, id) */
};

struct es_vmid {
    int dirty;
    uint64_t version; /* as the root names it when it was read or written */
    uint64_t v[ES_VIDX_FAN];
};

static unsigned leaf_of(const uint8_t *id)
{
    return ((unsigned)id[0] << 4) | (id[1] >> 4);
}

/* "vidx/<what>/<i>" (i < 10000), without snprintf's format parsing. */
static void name_of(char *out, size_t n, const char *what, unsigned i)
{
    char digits[8];
    size_t d = 0, w = strlen(what);
    do {
        digits[d++] = (char)('0' + i % 10);
        i /= 10;
    } while (i > 0 && d < sizeof digits);
    if (5 + w + 1 + d + 1 > n) {
        out[0] = '\0';
        return;
    }
    memcpy(out, "vidx/", 5);
    memcpy(out + 5, what, w);
    out[5 + w] = '/';
    for (size_t k = 0; k < d; k++)
        out[6 + w + k] = digits[d - 1 - k];
    out[6 + w + d] = '\0';
}

static esession_status load_mid(esession_keystore *ks, unsigned m, es_vmid **out)
{
    char name[32];
    esession_buf b = {NULL, 0, 0};
    uint64_t version = 0;
    if (ks->vmid[m] != NULL) {
        *out = ks->vmid[m];
        return ESESSION_OK;
    }
    es_vmid *mid = calloc(1, sizeof *mid);
    if (mid == NULL)
        return es_fail(ks->ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    name_of(name, sizeof name, "mid", m);
    /* The root says there is none: nothing to read (a record left under
     * that name would be stale, and is rewritten before it is named). */
    esession_status rc = ks->vroot[m] == 0 ? ESESSION_ERR_NO_SESSION
                                           : es_rec_get_raw(ks, ES_REC_META, name, strlen(name),
                                                            &b, &version);
    if (rc == ESESSION_ERR_NO_SESSION) {
        rc = ks->vroot[m] == 0 ? ESESSION_OK
                               : es_fail(ks->ctx, ESESSION_ERR_CORRUPT,
                                         "storage: a version index record is missing");
    } else if (rc == ESESSION_OK) {
        if (version != ks->vroot[m] || b.len != 8u * ES_VIDX_FAN)
            rc = es_fail(ks->ctx, ESESSION_ERR_CORRUPT,
                         "storage: the version index was rolled back or replaced");
        es_rd r = {(const uint8_t *)b.data, b.len, 0, 0};
        for (unsigned i = 0; rc == ESESSION_OK && i < ES_VIDX_FAN; i++)
            mid->v[i] = es_rd_be(&r, 8);
    }
    esession_buf_free(&b);
    if (rc != ESESSION_OK) {
        free(mid);
        return rc;
    }
    mid->version = ks->vroot[m];
    ks->vmid[m] = mid;
    *out = mid;
    return ESESSION_OK;
}

static esession_status load_leaf(esession_keystore *ks, unsigned l, es_vleaf **out)
{
    char name[32];
    esession_buf b = {NULL, 0, 0};
    uint64_t version = 0;
    es_vmid *mid;
    if (ks->vleaf != NULL && ks->vleaf[l] != NULL) {
        *out = ks->vleaf[l];
        return ESESSION_OK;
    }
    if (ks->vleaf == NULL) {
        ks->vleaf = calloc(ES_VIDX_LEAVES, sizeof *ks->vleaf);
        ks->vleaf_used = calloc(ES_VIDX_LEAVES, sizeof *ks->vleaf_used);
        ks->vleaf_dirty = calloc(ES_VIDX_LEAVES, sizeof *ks->vleaf_dirty);
        if (ks->vleaf == NULL || ks->vleaf_used == NULL || ks->vleaf_dirty == NULL) {
            free(ks->vleaf);
            free(ks->vleaf_used);
            free(ks->vleaf_dirty);
            ks->vleaf = NULL;
            ks->vleaf_used = NULL;
            ks->vleaf_dirty = NULL;
            return es_fail(ks->ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
        }
    }
    esession_status rc = load_mid(ks, l / ES_VIDX_FAN, &mid);
    if (rc != ESESSION_OK)
        return rc;
    uint64_t want = mid->v[l % ES_VIDX_FAN];
    es_vleaf *leaf = calloc(1, sizeof *leaf);
    if (leaf == NULL)
        return es_fail(ks->ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
    name_of(name, sizeof name, "leaf", l);
    rc = want == 0 ? ESESSION_ERR_NO_SESSION
                   : es_rec_get_raw(ks, ES_REC_META, name, strlen(name), &b, &version);
    if (rc == ESESSION_ERR_NO_SESSION) {
        rc = want == 0 ? ESESSION_OK
                       : es_fail(ks->ctx, ESESSION_ERR_CORRUPT,
                                 "storage: a version index record is missing");
    } else if (rc == ESESSION_OK) {
        if (version != want || b.len % ENTRY != 0 || b.len / ENTRY > LEAF_MAX_ENTRIES)
            rc = es_fail(ks->ctx, ESESSION_ERR_CORRUPT,
                         "storage: the version index was rolled back or replaced");
        else if (b.len > 0 && (leaf->e = malloc(b.len)) == NULL)
            rc = es_fail(ks->ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
        if (rc == ESESSION_OK) {
            if (b.len > 0)
                memcpy(leaf->e, b.data, b.len);
            leaf->n = leaf->cap = b.len / ENTRY;
        }
    }
    esession_buf_free(&b);
    if (rc != ESESSION_OK) {
        free(leaf->e);
        free(leaf);
        return rc;
    }
    leaf->version = want;
    ks->vleaf_bytes += sizeof *leaf + leaf->cap * ENTRY;
    ks->vleaf[l] = leaf;
    ks->vleaf_used[ks->n_vleaf_used++] = (uint16_t)l; /* forget visits these only */
    *out = leaf;
    return ESESSION_OK;
}

/* Position of (kind, id) in leaf, or where it would go; 1 if present. */
/* Mark leaf l changed; flush visits the changed leaves only. */
static void touch(esession_keystore *ks, unsigned l, es_vleaf *leaf)
{
    if (!leaf->dirty)
        ks->vleaf_dirty[ks->n_vleaf_dirty++] = (uint16_t)l;
    leaf->dirty = 1;
}

static int find(const es_vleaf *leaf, es_rec_kind kind, const uint8_t *id, size_t *at)
{
    uint8_t key[1 + ES_REC_ID_BYTES];
    key[0] = (uint8_t)kind;
    memcpy(key + 1, id, ES_REC_ID_BYTES);
    size_t lo = 0, hi = leaf->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(leaf->e + mid * ENTRY, key, sizeof key);
        if (c == 0) {
            *at = mid;
            return 1;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *at = lo;
    return 0;
}

/* The recent entry for (kind, id): its index, or -1. */
static long recent_find(const esession_keystore *ks, es_rec_kind kind, const uint8_t *id)
{
    for (size_t i = 0; i < ks->n_vrecent; i++)
        if (ks->vrecent[i].kind == (uint8_t)kind &&
            memcmp(ks->vrecent[i].id, id, ES_REC_ID_BYTES) == 0)
            return (long)i;
    return -1;
}

static uint64_t entry_version(const es_vleaf *leaf, size_t at)
{
    es_rd r = {leaf->e + at * ENTRY + 1 + ES_REC_ID_BYTES, 8, 0, 0};
    return es_rd_be(&r, 8);
}

/* Make the leaf say version for (kind, id) (0: not there). */
static esession_status leaf_apply(esession_keystore *ks, unsigned l, es_vleaf *leaf,
                                  es_rec_kind kind, const uint8_t *id, uint64_t version)
{
    size_t at;
    int known = find(leaf, kind, id, &at);
    if (version == 0) {
        if (known) {
            memmove(leaf->e + at * ENTRY, leaf->e + (at + 1) * ENTRY, (leaf->n - at - 1) * ENTRY);
            leaf->n--;
            touch(ks, l, leaf);
        }
        return ESESSION_OK;
    }
    if (!known) {
        if (leaf->n >= LEAF_MAX_ENTRIES)
            return es_fail(ks->ctx, ESESSION_ERR_LIMIT, "storage: too many records");
        if (leaf->n == leaf->cap) {
            size_t cap = leaf->cap ? 2 * leaf->cap : 8;
            uint8_t *e = realloc(leaf->e, cap * ENTRY);
            if (e == NULL)
                return es_fail(ks->ctx, ESESSION_ERR_NO_MEMORY, "out of memory");
            ks->vleaf_bytes += (cap - leaf->cap) * ENTRY;
            leaf->e = e;
            leaf->cap = cap;
        }
        memmove(leaf->e + (at + 1) * ENTRY, leaf->e + at * ENTRY, (leaf->n - at) * ENTRY);
        leaf->n++;
        leaf->e[at * ENTRY] = (uint8_t)kind;
        memcpy(leaf->e + at * ENTRY + 1, id, ES_REC_ID_BYTES);
    }
    es_wr w = {leaf->e + at * ENTRY + 1 + ES_REC_ID_BYTES, 0, 8, 0};
    es_wr_be(&w, version, 8);
    touch(ks, l, leaf);
    return ESESSION_OK;
}

/* Move every recent entry into its leaf (written at this commit). */
static esession_status spill(esession_keystore *ks)
{
    for (size_t i = 0; i < ks->n_vrecent; i++) {
        const es_vrecent *r = &ks->vrecent[i];
        es_vleaf *leaf;
        unsigned l = leaf_of(r->id);
        esession_status rc = load_leaf(ks, l, &leaf);
        if (rc == ESESSION_OK)
            rc = leaf_apply(ks, l, leaf, (es_rec_kind)r->kind, r->id, r->version);
        if (rc != ESESSION_OK)
            return rc;
    }
    ks->n_vrecent = 0;
    return ESESSION_OK;
}

esession_status es_vidx_check(esession_keystore *ks, es_rec_kind kind, const uint8_t *id,
                              int present, uint64_t version)
{
    uint64_t have = 0;
    long r = recent_find(ks, kind, id);
    if (r >= 0) {
        have = ks->vrecent[r].version;
    } else {
        es_vleaf *leaf;
        size_t at;
        esession_status rc = load_leaf(ks, leaf_of(id), &leaf);
        if (rc != ESESSION_OK)
            return rc;
        if (find(leaf, kind, id, &at))
            have = entry_version(leaf, at);
    }
    if (!present && have != 0)
        return es_fail(ks->ctx, ESESSION_ERR_CORRUPT, "storage: a record was deleted");
    if (present && have == 0)
        return es_fail(ks->ctx, ESESSION_ERR_CORRUPT,
                       "storage: a record that was never written (copied from elsewhere?)");
    if (present && have != version)
        return es_fail(ks->ctx, ESESSION_ERR_CORRUPT,
                       "storage: a record was rolled back to an older copy");
    return ESESSION_OK;
}

/* The new version goes into the recent list, which the generation record
 * carries, so that a commit changing a few records writes no index
 * record; a full list goes into the leaves. An entry saying what its
 * leaf says is dropped (a record written and removed again). */
esession_status es_vidx_set(esession_keystore *ks, es_rec_kind kind, const uint8_t *id,
                            int present, uint64_t version)
{
    es_vleaf *leaf;
    size_t at;
    unsigned l = leaf_of(id);
    esession_status rc = load_leaf(ks, l, &leaf);
    if (rc != ESESSION_OK)
        return rc;
    int in_leaf = find(leaf, kind, id, &at);
    uint64_t leaf_v = in_leaf ? entry_version(leaf, at) : 0;
    uint64_t now = present ? version : 0;
    long r = recent_find(ks, kind, id);
    uint64_t was = r >= 0 ? ks->vrecent[r].version : leaf_v;
    if (now != 0 && !in_leaf && leaf->n >= LEAF_MAX_ENTRIES)
        return es_fail(ks->ctx, ESESSION_ERR_LIMIT, "storage: too many records");
    if (now == leaf_v) {
        if (r >= 0)
            ks->vrecent[r] = ks->vrecent[--ks->n_vrecent];
    } else if (r >= 0) {
        ks->vrecent[r].version = now;
    } else {
        if (ks->n_vrecent == ES_VIDX_RECENT && (rc = spill(ks)) != ESESSION_OK)
            return rc;
        es_vrecent *e = &ks->vrecent[ks->n_vrecent++];
        e->kind = (uint8_t)kind;
        memcpy(e->id, id, ES_REC_ID_BYTES);
        e->version = now;
    }
    if (was == 0 && now != 0)
        ks->count[kind]++;
    else if (was != 0 && now == 0)
        ks->count[kind]--;
    return ESESSION_OK;
}

esession_status es_vidx_recent_read(esession_keystore *ks, const uint8_t *p, size_t len)
{
    size_t n = len / ENTRY;
    if (len % ENTRY != 0 || n > ES_VIDX_RECENT)
        return es_fail(ks->ctx, ESESSION_ERR_CORRUPT, "storage: damaged generation record");
    for (size_t i = 0; i < n; i++) {
        es_vrecent *e = &ks->vrecent[i];
        es_rd r = {p + i * ENTRY + 1 + ES_REC_ID_BYTES, 8, 0, 0};
        e->kind = p[i * ENTRY];
        memcpy(e->id, p + i * ENTRY + 1, ES_REC_ID_BYTES);
        e->version = es_rd_be(&r, 8);
        if (e->kind == ES_REC_META || e->kind >= ES_REC_KINDS || e->version > ks->total) {
            ks->n_vrecent = 0;
            return es_fail(ks->ctx, ESESSION_ERR_CORRUPT, "storage: damaged generation record");
        }
    }
    ks->n_vrecent = n;
    return ESESSION_OK;
}

size_t es_vidx_recent_write(const esession_keystore *ks, uint8_t *out)
{
    for (size_t i = 0; i < ks->n_vrecent; i++) {
        const es_vrecent *e = &ks->vrecent[i];
        es_wr w = {out + i * ENTRY + 1 + ES_REC_ID_BYTES, 0, 8, 0};
        out[i * ENTRY] = e->kind;
        memcpy(out + i * ENTRY + 1, e->id, ES_REC_ID_BYTES);
        es_wr_be(&w, e->version, 8);
    }
    return ks->n_vrecent * ENTRY;
}

esession_status es_vidx_flush(esession_keystore *ks, uint64_t version)
{
    char name[32];
    esession_status rc = ESESSION_OK;
    for (size_t u = 0; rc == ESESSION_OK && u < ks->n_vleaf_dirty; u++) {
        unsigned l = ks->vleaf_dirty[u];
        es_vleaf *leaf = ks->vleaf[l];
        es_vmid *mid;
        if (leaf == NULL || !leaf->dirty)
            continue;
        name_of(name, sizeof name, "leaf", l);
        rc = leaf->n == 0 ? es_rec_del(ks, ES_REC_META, name, strlen(name))
                          : es_rec_put(ks, ES_REC_META, name, strlen(name), NULL, leaf->e,
                                       leaf->n * ENTRY, NULL);
        if (rc == ESESSION_OK)
            rc = load_mid(ks, l / ES_VIDX_FAN, &mid);
        if (rc == ESESSION_OK) {
            leaf->version = leaf->n == 0 ? 0 : version;
            mid->v[l % ES_VIDX_FAN] = leaf->version;
            mid->dirty = 1;
            leaf->dirty = 0;
        }
    }
    if (rc == ESESSION_OK)
        ks->n_vleaf_dirty = 0;
    for (unsigned m = 0; rc == ESESSION_OK && m < ES_VIDX_FAN; m++) {
        es_vmid *mid = ks->vmid[m];
        uint8_t p[8u * ES_VIDX_FAN];
        if (mid == NULL || !mid->dirty)
            continue;
        es_wr w = {p, 0, sizeof p, 0};
        for (unsigned i = 0; i < ES_VIDX_FAN; i++)
            es_wr_be(&w, mid->v[i], 8);
        name_of(name, sizeof name, "mid", m);
        rc = es_rec_put(ks, ES_REC_META, name, strlen(name), NULL, p, sizeof p, NULL);
        if (rc == ESESSION_OK) {
            ks->vroot[m] = version;
            mid->version = version;
            mid->dirty = 0;
        }
    }
    return rc;
}

static void drop_leaf(esession_keystore *ks, unsigned l)
{
    ks->vleaf_bytes -= sizeof *ks->vleaf[l] + ks->vleaf[l]->cap * ENTRY;
    free(ks->vleaf[l]->e);
    free(ks->vleaf[l]);
    ks->vleaf[l] = NULL;
}

void es_vidx_keep(esession_keystore *ks)
{
    if (ks->vleaf_bytes > CACHE_BYTES)
        es_vidx_forget(ks);
}

void es_vidx_revalidate(esession_keystore *ks)
{
    size_t kept = 0;
    int dropped = 0;
    for (unsigned m = 0; m < ES_VIDX_FAN; m++) {
        if (ks->vmid[m] != NULL && ks->vmid[m]->version != ks->vroot[m]) {
            free(ks->vmid[m]);
            ks->vmid[m] = NULL;
            dropped = 1;
        }
    }
    /* A mid kept is unchanged, and so is every leaf version it names: only
     * the leaves of mids let go need a look. */
    if (!dropped)
        return;
    for (size_t u = 0; u < ks->n_vleaf_used; u++) {
        unsigned l = ks->vleaf_used[u];
        const es_vmid *mid = ks->vmid[l / ES_VIDX_FAN];
        if (mid == NULL || mid->v[l % ES_VIDX_FAN] != ks->vleaf[l]->version)
            drop_leaf(ks, l);
        else
            ks->vleaf_used[kept++] = (uint16_t)l;
    }
    ks->n_vleaf_used = kept;
}

void es_vidx_forget(esession_keystore *ks)
{
    for (size_t u = 0; u < ks->n_vleaf_used; u++)
        drop_leaf(ks, ks->vleaf_used[u]);
    ks->n_vleaf_used = 0;
    ks->n_vleaf_dirty = 0;
    for (unsigned m = 0; m < ES_VIDX_FAN; m++) {
        free(ks->vmid[m]);
        ks->vmid[m] = NULL;
    }
}

void es_vidx_free(esession_keystore *ks)
{
    es_vidx_forget(ks);
    free(ks->vleaf);
    free(ks->vleaf_used);
    free(ks->vleaf_dirty);
    ks->vleaf = NULL;
    ks->vleaf_used = NULL;
    ks->vleaf_dirty = NULL;
}
