/* SPDX-License-Identifier: ISC */
/* An in-memory host store for esession-bench: each store an open-addressed
 * hash table of (kind, id) -> record, each write transaction an undo
 * journal (a rollback puts the old records back). Lookups, writes and
 * commits cost memory operations only, so a step measured over it shows
 * the library's own work. */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

#define MAX_STORES 16u
#define NAME_MAX_LEN 512u

typedef struct rec {
    int used;
    unsigned kind;
    uint8_t id[32];
    int has_owner;
    uint8_t owner[32];
    uint8_t *data;
    size_t len;
} rec;

/* What a record was before the transaction touched it (its data moved
 * here, not copied). */
typedef struct undo {
    unsigned kind;
    uint8_t id[32];
    int existed;
    int has_owner;
    uint8_t owner[32];
    uint8_t *data;
    size_t len;
} undo;

typedef struct store {
    char name[NAME_MAX_LEN];
    int used, exists;
    rec *slots;
    size_t cap, n;
    undo *journal;
    size_t n_journal, cap_journal;
    int in_tx, write;
    size_t bytes; /* held in records, the journal and the tables */
} store;

struct bench_mem {
    store st[MAX_STORES];
};

bench_mem *bench_mem_new(void)
{
    bench_mem *m = calloc(1, sizeof *m);
    if (m == NULL)
        bench_fail("out of memory");
    return m;
}

static void journal_clear(store *s, int restore);

void bench_mem_free(bench_mem *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < MAX_STORES; i++) {
        store *s = &m->st[i];
        journal_clear(s, 0);
        free(s->journal);
        for (size_t k = 0; k < s->cap; k++)
            free(s->slots[k].data);
        free(s->slots);
    }
    free(m);
}

static size_t hash_of(unsigned kind, const uint8_t *id, size_t cap)
{
    uint64_t h;
    memcpy(&h, id, sizeof h); /* ids are keyed hashes: already uniform */
    return (size_t)((h ^ kind) & (cap - 1));
}

/* Linear probing; a removal shifts the records after it back (no
 * tombstones, so probe sequences stay as short as the load allows). */
static rec *find(store *s, unsigned kind, const uint8_t *id)
{
    if (s->cap == 0)
        return NULL;
    for (size_t i = hash_of(kind, id, s->cap);; i = (i + 1) & (s->cap - 1)) {
        rec *r = &s->slots[i];
        if (!r->used)
            return NULL;
        if (r->kind == kind && memcmp(r->id, id, 32) == 0)
            return r;
    }
}

/* Slot for a new record (the table has room). */
static rec *insert_slot(store *s, unsigned kind, const uint8_t *id)
{
    size_t i = hash_of(kind, id, s->cap);
    while (s->slots[i].used)
        i = (i + 1) & (s->cap - 1);
    return &s->slots[i];
}

static int grow(store *s)
{
    size_t old_cap = s->cap, cap = old_cap ? 2 * old_cap : 1024;
    rec *old = s->slots, *v = calloc(cap, sizeof *v);
    if (v == NULL)
        return -1;
    s->bytes += (cap - old_cap) * sizeof *v;
    s->slots = v;
    s->cap = cap;
    for (size_t k = 0; k < old_cap; k++)
        if (old[k].used)
            *insert_slot(s, old[k].kind, old[k].id) = old[k];
    free(old);
    return 0;
}

/* Empty slot r; the records probed past it move back so that each stays
 * reachable from its home slot. Its data is the caller's. */
static void unlink_rec(store *s, rec *r)
{
    size_t mask = s->cap - 1, hole = (size_t)(r - s->slots);
    for (size_t j = (hole + 1) & mask; s->slots[j].used; j = (j + 1) & mask) {
        size_t home = hash_of(s->slots[j].kind, s->slots[j].id, s->cap);
        /* Stays if its home lies cyclically in (hole, j]. */
        int stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (stays)
            continue;
        s->slots[hole] = s->slots[j];
        hole = j;
    }
    memset(&s->slots[hole], 0, sizeof s->slots[hole]);
    s->n--;
}

/* The journal takes r's data (NULL: there was no record) before it is
 * replaced or removed. */
static int record_undo(store *s, unsigned kind, const uint8_t *id, rec *r)
{
    if (s->n_journal == s->cap_journal) {
        size_t cap = s->cap_journal ? 2 * s->cap_journal : 64;
        undo *j = realloc(s->journal, cap * sizeof *j);
        if (j == NULL)
            return -1;
        s->bytes += (cap - s->cap_journal) * sizeof *j;
        s->journal = j;
        s->cap_journal = cap;
    }
    undo *u = &s->journal[s->n_journal++];
    memset(u, 0, sizeof *u);
    u->kind = kind;
    memcpy(u->id, id, 32);
    if (r != NULL) {
        u->existed = 1;
        u->has_owner = r->has_owner;
        memcpy(u->owner, r->owner, 32);
        u->data = r->data;
        u->len = r->len;
        r->data = NULL;
        r->len = 0;
    }
    return 0;
}

/* Record (kind, id) holds data (taken, not copied) from now on; r is its
 * slot if it has one. */
static int set_rec(store *s, rec *r, unsigned kind, const uint8_t *id, const uint8_t *owner,
                   uint8_t *data, size_t len)
{
    if (r == NULL) {
        if (4 * (s->n + 1) > 3 * s->cap && grow(s) != 0)
            return -1;
        r = insert_slot(s, kind, id);
        memset(r, 0, sizeof *r);
        r->used = 1;
        r->kind = kind;
        memcpy(r->id, id, 32);
        s->n++;
    } else {
        s->bytes -= r->len;
        free(r->data);
    }
    s->bytes += len;
    r->data = data;
    r->len = len;
    r->has_owner = owner != NULL;
    if (owner != NULL)
        memcpy(r->owner, owner, 32);
    return 0;
}

/* Forget the journal; restore: undo its entries, newest first. */
static void journal_clear(store *s, int restore)
{
    for (size_t k = s->n_journal; k-- > 0;) {
        undo *u = &s->journal[k];
        if (restore) {
            rec *r = find(s, u->kind, u->id);
            if (r != NULL) {
                s->bytes -= r->len;
                free(r->data);
                unlink_rec(s, r);
            }
            if (u->existed) {
                if (set_rec(s, NULL, u->kind, u->id, u->has_owner ? u->owner : NULL, u->data,
                            u->len) != 0)
                    bench_fail("memstore: out of memory in a rollback");
                s->bytes -= u->len; /* counted once more by set_rec */
                u->data = NULL;
                u->len = 0;
            }
        }
        free(u->data);
        s->bytes -= u->len;
    }
    s->n_journal = 0;
}

static int m_open(void *user, const char *name, unsigned flags, void **out)
{
    bench_mem *m = user;
    store *s = NULL;
    for (size_t i = 0; i < MAX_STORES && s == NULL; i++)
        if (m->st[i].used && strcmp(m->st[i].name, name) == 0)
            s = &m->st[i];
    if (flags & ESESSION_STORE_CREATE) {
        if (s != NULL || strlen(name) >= NAME_MAX_LEN)
            return -1;
        for (size_t i = 0; i < MAX_STORES && s == NULL; i++)
            if (!m->st[i].used)
                s = &m->st[i];
        if (s == NULL)
            return -1;
        memset(s, 0, sizeof *s);
        strcpy(s->name, name);
        s->used = 1;
    } else if (s == NULL || !s->exists) {
        return 1;
    }
    *out = s;
    return 0;
}

static void m_close(void *user, void *handle)
{
    (void)user;
    (void)handle;
}

static int m_begin(void *user, void *handle, int write)
{
    store *s = handle;
    (void)user;
    if (s->in_tx)
        return -1;
    s->in_tx = 1;
    s->write = write;
    return 0;
}

static int m_commit(void *user, void *handle)
{
    store *s = handle;
    (void)user;
    journal_clear(s, 0);
    s->exists = 1;
    s->in_tx = 0;
    return 0;
}

static void m_rollback(void *user, void *handle)
{
    store *s = handle;
    (void)user;
    journal_clear(s, 1);
    s->in_tx = 0;
}

static int m_get(void *user, void *handle, unsigned kind, const uint8_t id[32], uint8_t **data,
                 size_t *len)
{
    store *s = handle;
    (void)user;
    const rec *r = find(s, kind, id);
    if (r == NULL)
        return 1;
    if ((*data = malloc(r->len ? r->len : 1)) == NULL)
        return -1;
    memcpy(*data, r->data, r->len);
    *len = r->len;
    return 0;
}

static int m_put(void *user, void *handle, unsigned kind, const uint8_t id[32],
                 const uint8_t *owner, const uint8_t *data, size_t len)
{
    store *s = handle;
    (void)user;
    if (!s->in_tx || !s->write)
        return -1;
    uint8_t *copy = malloc(len ? len : 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, data, len);
    rec *r = find(s, kind, id);
    if (record_undo(s, kind, id, r) != 0 || set_rec(s, r, kind, id, owner, copy, len) != 0) {
        free(copy);
        return -1;
    }
    return 0;
}

static int m_del(void *user, void *handle, unsigned kind, const uint8_t id[32])
{
    store *s = handle;
    (void)user;
    if (!s->in_tx || !s->write)
        return -1;
    rec *r = find(s, kind, id);
    if (r == NULL)
        return 0;
    if (record_undo(s, kind, id, r) != 0)
        return -1;
    unlink_rec(s, r);
    return 0;
}

static int m_list(void *user, void *handle, unsigned kind, const uint8_t *owner,
                  int (*each)(void *arg, const uint8_t id[32], const uint8_t *data, size_t len),
                  void *arg)
{
    store *s = handle;
    (void)user;
    for (size_t i = 0; i < s->cap; i++) {
        const rec *r = &s->slots[i];
        if (!r->used || r->kind != kind ||
            (owner != NULL && (!r->has_owner || memcmp(r->owner, owner, 32) != 0)))
            continue;
        if (each(arg, r->id, r->data, r->len) != 0)
            return -1;
    }
    return 0;
}

size_t bench_mem_bytes(const bench_mem *m)
{
    size_t n = 0;
    for (size_t i = 0; i < MAX_STORES; i++)
        n += m->st[i].bytes;
    return n;
}

const esession_store_ops bench_mem_ops = {m_open, m_close, m_begin, m_commit, m_rollback,
                                          m_get,  m_put,   m_del,   m_list};
