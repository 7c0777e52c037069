/* SPDX-License-Identifier: ISC */
/* A host that keeps keystores in its own storage (esession_host_ops.store,
 * an esession_store_ops table): here an in-memory table of records with
 * copy-on-begin transactions. The keystore lives entirely there (nothing
 * touches the file system), only ciphertext and opaque ids reach it, the
 * library keeps to the table's contract (every access inside a
 * transaction, writes only in a write transaction), names are created
 * once and opened only if they exist, and a failure of the host (begin,
 * put, delete, commit) fails the call and leaves the keystore as it was,
 * in storage and after a reopen. A whole offline flow runs over it. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "esession.h"
#include "../../pep/pep.h"
#include "../common/vecfile.h"
#include "fixture.h"

#define ALICE "alice@example.org"
#define BOB "bob@example.com"
#define BOB_FULL "bob@example.com/laptop"
#define SENTINEL ((esession_keystore *)(uintptr_t)0x5a5a)

/* ---- the host's storage --------------------------------------------- */

typedef struct rec {
    unsigned kind;
    uint8_t id[32];
    int has_owner;
    uint8_t owner[32];
    uint8_t *data;
    size_t len;
} rec;

typedef struct table {
    rec *v;
    size_t n, cap;
} table;

#define MAX_STORES 8

typedef struct mem_store {
    char name[128];
    int used;     /* the slot holds a store (or one being created) */
    int exists;   /* created: its first commit went through */
    int writer;   /* a write transaction is running */
    table live;   /* what is committed */
} mem_store;

typedef struct host {
    mem_store st[MAX_STORES];
    /* failure injection */
    int fail_open, fail_begin, fail_del, fail_commit;
    long fail_put_after; /* < 0: never; else that many puts succeed, then one fails */
    /* what the library did */
    unsigned opens, begins, commits, rollbacks, puts, dels, handles;
    unsigned violations; /* calls outside the contract */
} host;

typedef struct handle {
    host *h;
    mem_store *st;
    int in_tx, write;
    table work; /* the transaction's copy */
} handle;

static void table_free(table *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].data);
    free(t->v);
    memset(t, 0, sizeof *t);
}

static int table_copy(table *dst, const table *src)
{
    memset(dst, 0, sizeof *dst);
    if (src->n == 0)
        return 0;
    dst->v = calloc(src->n, sizeof *dst->v);
    if (dst->v == NULL)
        return -1;
    dst->cap = src->n;
    for (size_t i = 0; i < src->n; i++) {
        dst->v[i] = src->v[i];
        dst->v[i].data = malloc(src->v[i].len > 0 ? src->v[i].len : 1);
        if (dst->v[i].data == NULL) {
            dst->n = i;
            table_free(dst);
            return -1;
        }
        memcpy(dst->v[i].data, src->v[i].data, src->v[i].len);
        dst->n = i + 1;
    }
    return 0;
}

static rec *table_find(table *t, unsigned kind, const uint8_t id[32])
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].kind == kind && memcmp(t->v[i].id, id, 32) == 0)
            return &t->v[i];
    return NULL;
}

/* The same records, byte for byte (in any order). */
static int table_equal(const table *a, const table *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++) {
        const rec *r = table_find((table *)(uintptr_t)b, a->v[i].kind, a->v[i].id);
        if (r == NULL || r->len != a->v[i].len || memcmp(r->data, a->v[i].data, r->len) != 0 ||
            r->has_owner != a->v[i].has_owner ||
            (r->has_owner && memcmp(r->owner, a->v[i].owner, 32) != 0))
            return 0;
    }
    return 1;
}

static mem_store *store_named(host *h, const char *name)
{
    for (size_t i = 0; i < MAX_STORES; i++)
        if (h->st[i].used && strcmp(h->st[i].name, name) == 0)
            return &h->st[i];
    return NULL;
}

static int m_open(void *user, const char *name, unsigned flags, void **out)
{
    host *h = user;
    h->opens++;
    if (h->fail_open)
        return -1;
    mem_store *st = store_named(h, name);
    if (flags & ESESSION_STORE_CREATE) {
        if (st != NULL)
            return -1; /* exists, or is being created */
        for (size_t i = 0; st == NULL && i < MAX_STORES; i++)
            if (!h->st[i].used)
                st = &h->st[i];
        if (st == NULL || strlen(name) >= sizeof st->name)
            return -1;
        memset(st, 0, sizeof *st);
        snprintf(st->name, sizeof st->name, "%s", name);
        st->used = 1; /* the name exists once the first commit went through */
    } else if (st == NULL || !st->exists) {
        return 1;
    }
    handle *hd = calloc(1, sizeof *hd);
    if (hd == NULL)
        return -1;
    hd->h = h;
    hd->st = st;
    h->handles++;
    *out = hd;
    return 0;
}

static void end_tx(handle *hd)
{
    table_free(&hd->work);
    if (hd->write)
        hd->st->writer = 0;
    hd->in_tx = 0;
    hd->write = 0;
}

static void m_close(void *user, void *store)
{
    host *h = user;
    handle *hd = store;
    if (hd->in_tx) {
        h->violations++; /* the library ends what it begins */
        end_tx(hd);
    }
    /* A store whose creation never committed does not exist. */
    if (!hd->st->exists && hd->st->writer == 0)
        memset(hd->st, 0, sizeof *hd->st);
    h->handles--;
    free(hd);
}

static int m_begin(void *user, void *store, int write)
{
    host *h = user;
    handle *hd = store;
    h->begins++;
    if (hd->in_tx) {
        h->violations++;
        return -1;
    }
    if (h->fail_begin)
        return -1;
    if (write && hd->st->writer) {
        /* Another handle writes: a real store waits; one thread cannot. */
        h->violations++;
        return -1;
    }
    if (table_copy(&hd->work, &hd->st->live) != 0)
        return -1;
    hd->in_tx = 1;
    hd->write = write;
    if (write)
        hd->st->writer = 1;
    return 0;
}

static int m_commit(void *user, void *store)
{
    host *h = user;
    handle *hd = store;
    if (!hd->in_tx) {
        h->violations++;
        return -1;
    }
    if (h->fail_commit)
        return -1; /* the library rolls back */
    table_free(&hd->st->live);
    hd->st->live = hd->work;
    memset(&hd->work, 0, sizeof hd->work);
    hd->st->exists = 1;
    h->commits++;
    end_tx(hd);
    return 0;
}

static void m_rollback(void *user, void *store)
{
    host *h = user;
    handle *hd = store;
    if (!hd->in_tx)
        return;
    h->rollbacks++;
    end_tx(hd);
}

static int m_get(void *user, void *store, unsigned kind, const uint8_t id[32], uint8_t **data,
                 size_t *len)
{
    host *h = user;
    handle *hd = store;
    if (!hd->in_tx) {
        h->violations++;
        return -1;
    }
    const rec *r = table_find(&hd->work, kind, id);
    if (r == NULL)
        return 1;
    *data = malloc(r->len > 0 ? r->len : 1);
    if (*data == NULL)
        return -1;
    memcpy(*data, r->data, r->len);
    *len = r->len;
    return 0;
}

static int m_put(void *user, void *store, unsigned kind, const uint8_t id[32],
                 const uint8_t *owner, const uint8_t *data, size_t len)
{
    host *h = user;
    handle *hd = store;
    if (!hd->in_tx || !hd->write) {
        h->violations++;
        return -1;
    }
    if (h->fail_put_after == 0)
        return -1;
    if (h->fail_put_after > 0)
        h->fail_put_after--;
    uint8_t *copy = malloc(len > 0 ? len : 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, data, len);
    rec *r = table_find(&hd->work, kind, id);
    if (r == NULL) {
        if (hd->work.n == hd->work.cap) {
            size_t cap = hd->work.cap ? 2 * hd->work.cap : 16;
            rec *v = realloc(hd->work.v, cap * sizeof *v);
            if (v == NULL) {
                free(copy);
                return -1;
            }
            hd->work.v = v;
            hd->work.cap = cap;
        }
        r = &hd->work.v[hd->work.n++];
        memset(r, 0, sizeof *r);
        r->kind = kind;
        memcpy(r->id, id, 32);
    } else {
        free(r->data);
    }
    r->data = copy;
    r->len = len;
    r->has_owner = owner != NULL;
    if (owner != NULL)
        memcpy(r->owner, owner, 32);
    h->puts++;
    return 0;
}

static int m_del(void *user, void *store, unsigned kind, const uint8_t id[32])
{
    host *h = user;
    handle *hd = store;
    if (!hd->in_tx || !hd->write) {
        h->violations++;
        return -1;
    }
    if (h->fail_del)
        return -1;
    rec *r = table_find(&hd->work, kind, id);
    if (r != NULL) {
        free(r->data);
        *r = hd->work.v[--hd->work.n];
    }
    h->dels++;
    return 0;
}

static int m_list(void *user, void *store, unsigned kind, const uint8_t *owner,
                  int (*each)(void *arg, const uint8_t id[32], const uint8_t *data, size_t len),
                  void *arg)
{
    host *h = user;
    handle *hd = store;
    if (!hd->in_tx) {
        h->violations++;
        return -1;
    }
    for (size_t i = 0; i < hd->work.n; i++) {
        const rec *r = &hd->work.v[i];
        if (r->kind != kind || (owner != NULL && (!r->has_owner || memcmp(r->owner, owner, 32))))
            continue;
        if (each(arg, r->id, r->data, r->len) != 0)
            return -1;
    }
    return 0;
}

static const esession_store_ops mem_ops = {m_open, m_close, m_begin, m_commit, m_rollback,
                                           m_get,  m_put,   m_del,   m_list};

static void host_free(host *h)
{
    for (size_t i = 0; i < MAX_STORES; i++)
        table_free(&h->st[i].live);
    memset(h, 0, sizeof *h);
}

/* ---- fixture ------------------------------------------------------------ */

static esession_ctx *ctx_for(host *h)
{
    static esession_host_ops ops;
    ops.store = &mem_ops;
    esession_ctx_options o = ESESSION_CTX_OPTIONS_INIT;
    o.ops = &ops;
    o.user = h;
    esession_ctx *ctx = NULL;
    cr_assert_eq(esession_ctx_new(&ctx, &o, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_OK);
    h->fail_put_after = -1;
    return ctx;
}

static const esession_keystore_options *fast(void)
{
    static esession_keystore_options ko = ESESSION_KEYSTORE_OPTIONS_INIT;
    ko.kdf_opslimit = 1;
    ko.kdf_memlimit = 8192;
    return &ko;
}

static esession_keystore *create(esession_ctx *ctx, const char *name, const char *pass)
{
    esession_keystore *ks = NULL;
    esession_status rc = esession_keystore_create(ctx, &ks, name, pass, strlen(pass), fast());
    cr_assert_eq(rc, ESESSION_OK, "create %s: %s (%s)", name, esession_status_name(rc),
                 esession_ctx_error_detail(ctx));
    return ks;
}

static esession_keystore *open_ks(esession_ctx *ctx, const char *name, const char *pass)
{
    esession_keystore *ks = NULL;
    esession_status rc = esession_keystore_open(ctx, &ks, name, pass, strlen(pass));
    cr_assert_eq(rc, ESESSION_OK, "open %s: %s (%s)", name, esession_status_name(rc),
                 esession_ctx_error_detail(ctx));
    return ks;
}

static esession_key *key_from(esession_ctx *ctx, const char *pem)
{
    esession_key *k = NULL;
    cr_assert_eq(esession_key_from_pem(ctx, &k, pem, strlen(pem)), ESESSION_OK);
    return k;
}

static int contains(const uint8_t *hay, size_t n, const void *needle, size_t k)
{
    for (size_t i = 0; k > 0 && i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return 1;
    return 0;
}

/* No committed record of any store holds text (in its data or its id). */
static void nowhere_in_storage(const host *h, const char *text)
{
    size_t k = strlen(text);
    for (size_t i = 0; i < MAX_STORES; i++) {
        const table *t = &h->st[i].live;
        for (size_t j = 0; j < t->n; j++) {
            cr_assert_not(contains(t->v[j].data, t->v[j].len, text, k),
                          "'%s' reached the host's storage in clear", text);
            cr_assert_not(contains(t->v[j].id, 32, text, k < 32 ? k : 32),
                          "'%s' in a record id", text);
        }
    }
}

/* Every line of a PEM's base64 body (64 characters) and its armour. */
static void pem_nowhere_in_storage(const host *h, const char *pem)
{
    char line[80];
    for (const char *p = pem; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
        if (n >= 16 && n < sizeof line) {
            memcpy(line, p, n);
            line[n] = '\0';
            nowhere_in_storage(h, line);
        }
        p += n + (nl != NULL);
    }
    nowhere_in_storage(h, "PRIVATE KEY");
}

static size_t records(const host *h, const char *name)
{
    const mem_store *st = store_named((host *)(uintptr_t)h, name);
    return st != NULL ? st->live.n : 0;
}

/* Work in an empty directory of our own; at the end it must still be
 * empty: nothing of a keystore on the file system. */
typedef struct cwd_guard {
    char old[PATH_MAX];
    char dir[64];
} cwd_guard;

static void cwd_enter(cwd_guard *g)
{
    cr_assert_not_null(getcwd(g->old, sizeof g->old));
    snprintf(g->dir, sizeof g->dir, "/tmp/esession-host-XXXXXX");
    cr_assert_not_null(mkdtemp(g->dir), "mkdtemp: %s", strerror(errno));
    cr_assert_eq(chdir(g->dir), 0);
}

static void cwd_leave_empty(cwd_guard *g)
{
    DIR *d = opendir(".");
    cr_assert_not_null(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            cr_log_error("on the file system: %s", e->d_name);
            n++;
        }
    closedir(d);
    cr_assert_eq(chdir(g->old), 0);
    cr_assert_eq(rmdir(g->dir), 0, "the working directory was written to");
    cr_assert_eq(n, 0);
}

/* ---- the tests -------------------------------------------------------- */

/* Both parties' keystores in the host's storage, under names that are no
 * paths at all; Alice publishes, Bob starts and seals, Alice opens. Then
 * nothing secret or identifying is to be found in what the host holds,
 * and nothing was written to the file system. */
Test(hoststore, an_offline_flow_lives_in_the_hosts_storage_as_ciphertext)
{
    host h;
    memset(&h, 0, sizeof h);
    char *alice_pem = fx_data("vec_rsa_alice.pem", NULL);
    char *bob_pem = fx_data("vec_rsa_bob.pem", NULL);
    cwd_guard g;
    cwd_enter(&g);
    esession_ctx *ctx = ctx_for(&h);
    const char *an = "accounts/no-such-dir/alice", *bn = "bob's account";
    esession_keystore *alice = create(ctx, an, "alice pw");
    esession_keystore *bob = create(ctx, bn, "bob pw");
    cr_assert_eq(access(an, F_OK), -1);
    cr_assert_eq(access(bn, F_OK), -1);
    cr_assert_gt(records(&h, an), 0);
    cr_assert_gt(records(&h, bn), 0);

    esession_key *ak = key_from(ctx, alice_pem), *bk = key_from(ctx, bob_pem);
    unsigned alerts = 0;
    cr_assert_eq(esession_keystore_add_key(alice, ak), ESESSION_OK);
    cr_assert_eq(esession_trust_add(alice, BOB, bk, "Bobby Tables", &alerts), ESESSION_OK);
    cr_assert_eq(esession_keystore_add_key(bob, bk), ESESSION_OK);
    cr_assert_eq(esession_trust_add(bob, ALICE, ak, "Alice Liddell", &alerts), ESESSION_OK);

    /* Alice publishes one group (quick). */
    static const int groups[1] = {14};
    esession_publish_options po = ESESSION_PUBLISH_OPTIONS_INIT;
    po.groups = groups;
    po.n_groups = 1;
    esession_publication pub;
    memset(&pub, 0, sizeof pub);
    esession_status rc = esession_publish(ctx, alice, &po, &pub);
    cr_assert_eq(rc, ESESSION_OK, "publish: %s (%s)", esession_status_name(rc),
                 esession_ctx_error_detail(ctx));
    cr_assert_eq(esession_optset_count(alice), 1);

    /* Bob fetches, starts, seals. */
    esession_buf iq = {0};
    char id[ESESSION_IQ_ID_MAX];
    cr_assert_eq(esession_fetch_options_iq(ctx, ALICE, &iq, id), ESESSION_OK);
    char *items = fx_items_result(ALICE, BOB_FULL, id, pub.form.data);
    esession_sender *s = NULL;
    rc = esession_sender_start(ctx, bob, BOB_FULL, ALICE, id, items, strlen(items), NULL, &s);
    cr_assert_eq(rc, ESESSION_OK, "start: %s (%s)", esession_status_name(rc),
                 esession_ctx_error_detail(ctx));
    char thread[64];
    snprintf(thread, sizeof thread, "%s", esession_sender_thread(s));
    static const char msg[] =
        "<message to='" ALICE "' type='chat'><body>Meet me at the old mill</body></message>";
    esession_buf stanza = {0};
    cr_assert_eq(esession_sender_seal(s, msg, strlen(msg), &stanza), ESESSION_OK);
    cr_assert_not_null(strstr(stanza.data, thread));

    /* Alice opens it. */
    esession_receiver *r = NULL;
    cr_assert_eq(esession_receiver_new(ctx, alice, &r), ESESSION_OK);
    cr_assert_eq(esession_receiver_feed(r, stanza.data, stanza.len, 1), ESESSION_OK);
    esession_result res;
    cr_assert_eq(esession_receiver_next(r, &res), 1);
    cr_assert_eq(res.kind, ESESSION_RESULT_MESSAGE, "kind %d (%s)", (int)res.kind,
                 esession_status_name(res.error));
    cr_assert_not_null(strstr(res.plaintext.data, "<body>Meet me at the old mill</body>"));
    cr_assert_str_eq(res.from_bare.data, BOB);
    cr_assert_str_eq(res.thread.data, thread);
    esession_result_free(&res);
    /* The same stanza again: a duplicate, remembered by the host's store. */
    esession_receiver_free(r);
    esession_keystore_free(alice);
    alice = open_ks(ctx, an, "alice pw");
    cr_assert_eq(esession_receiver_new(ctx, alice, &r), ESESSION_OK);
    cr_assert_eq(esession_receiver_feed(r, stanza.data, stanza.len, 2), ESESSION_OK);
    cr_assert_eq(esession_receiver_next(r, &res), 1);
    cr_assert_eq(res.kind, ESESSION_RESULT_DUPLICATE);
    esession_result_free(&res);

    /* In a client batch, a feed whose second write the host refuses (the
     * session's state is written, its message's inbox entry is not) fails
     * and dooms the batch: the commit refuses and keeps nothing, so the
     * stanza opens when fed again. */
    static const char msg2[] =
        "<message to='" ALICE "' type='chat'><body>Bring the map</body></message>";
    esession_buf stanza2 = {0};
    cr_assert_eq(esession_sender_seal(s, msg2, strlen(msg2), &stanza2), ESESSION_OK);
    table kept;
    cr_assert_eq(table_copy(&kept, &store_named(&h, an)->live), 0);
    cr_assert_eq(esession_keystore_begin(alice), ESESSION_OK);
    h.fail_put_after = 1;
    cr_assert_eq(esession_receiver_feed(r, stanza2.data, stanza2.len, 3), ESESSION_OK);
    h.fail_put_after = -1;
    cr_assert_eq(esession_receiver_next(r, &res), 1);
    cr_assert_eq(res.kind, ESESSION_RESULT_ERROR, "kind %d", (int)res.kind);
    cr_assert_eq(res.error, ESESSION_ERR_IO, "%s", esession_status_name(res.error));
    cr_assert_null(res.plaintext.data);
    esession_result_free(&res);
    rc = esession_keystore_commit(alice);
    cr_assert_neq(rc, ESESSION_OK, "a doomed batch committed");
    cr_assert_str_neq(esession_ctx_error_detail(ctx), "");
    cr_assert(table_equal(&kept, &store_named(&h, an)->live), "a doomed batch left records");
    table_free(&kept);
    cr_assert_eq(esession_receiver_feed(r, stanza2.data, stanza2.len, 4), ESESSION_OK);
    cr_assert_eq(esession_receiver_next(r, &res), 1);
    cr_assert_eq(res.kind, ESESSION_RESULT_MESSAGE, "kind %d (%s)", (int)res.kind,
                 esession_status_name(res.error));
    cr_assert_not_null(strstr(res.plaintext.data, "<body>Bring the map</body>"));
    esession_result_free(&res);
    esession_buf_free(&stanza2);

    /* What the host holds: ciphertext and opaque ids only. */
    const char *const clear[] = {
        ALICE, BOB, "alice@", "bob@", "example.org", "example.com", "Bobby Tables",
        "Alice Liddell", "Meet me at the old mill", "old mill", "Bring the map", "<body>",
        "urn:xmpp:ssn",
        "jabber:x:data", "alice pw", "bob pw", "accounts/", an, bn,
    };
    for (size_t i = 0; i < sizeof clear / sizeof clear[0]; i++)
        nowhere_in_storage(&h, clear[i]);
    nowhere_in_storage(&h, thread);
    pem_nowhere_in_storage(&h, alice_pem);
    pem_nowhere_in_storage(&h, bob_pem);
    /* The library kept to the contract of the table. */
    cr_assert_eq(h.violations, 0, "%u calls outside a transaction or writes in a read one",
                 h.violations);
    cr_assert_gt(h.commits, 0);

    esession_receiver_free(r);
    esession_sender_free(s);
    free(items);
    esession_buf_free(&iq);
    esession_buf_free(&stanza);
    esession_publication_free(&pub);
    esession_key_free(ak);
    esession_key_free(bk);
    esession_keystore_free(alice);
    esession_keystore_free(bob);
    cr_assert_eq(h.handles, 0, "every store handle is closed");
    esession_ctx_free(ctx);
    cwd_leave_empty(&g);
    host_free(&h);
    free(alice_pem);
    free(bob_pem);
}

/* Names: create only where nothing exists, open only what exists. */
Test(hoststore, names_are_created_once_and_opened_if_they_exist)
{
    host h;
    memset(&h, 0, sizeof h);
    cwd_guard g;
    cwd_enter(&g);
    esession_ctx *ctx = ctx_for(&h);
    esession_keystore *ks = create(ctx, "acct", "pw");
    esession_keystore_free(ks);

    esession_keystore *again = SENTINEL;
    cr_assert_eq(esession_keystore_create(ctx, &again, "acct", "pw", 2, fast()), ESESSION_ERR_IO);
    cr_assert_eq(again, SENTINEL, "output touched on failure");
    cr_assert_str_neq(esession_ctx_error_detail(ctx), "");
    ks = open_ks(ctx, "acct", "pw"); /* the first one is intact */
    esession_keystore_free(ks);

    ks = SENTINEL;
    cr_assert_eq(esession_keystore_open(ctx, &ks, "no-such-account", "pw", 2), ESESSION_ERR_IO);
    cr_assert_eq(ks, SENTINEL);
    cr_assert_str_neq(esession_ctx_error_detail(ctx), "");
    cr_assert_eq(esession_keystore_open(ctx, &ks, "acct", "wrong", 5),
                 ESESSION_ERR_BAD_PASSPHRASE);
    cr_assert_eq(ks, SENTINEL);
    h.fail_open = 1;
    cr_assert_eq(esession_keystore_open(ctx, &ks, "acct", "pw", 2), ESESSION_ERR_IO);
    cr_assert_eq(esession_keystore_create(ctx, &ks, "other", "pw", 2, fast()), ESESSION_ERR_IO);
    cr_assert_eq(ks, SENTINEL);
    h.fail_open = 0;

    /* Something in the host's storage that is no keystore. */
    mem_store *junk = &h.st[MAX_STORES - 1];
    cr_assert_not(junk->used);
    snprintf(junk->name, sizeof junk->name, "junk");
    junk->used = junk->exists = 1;
    junk->live.v = calloc(1, sizeof *junk->live.v);
    junk->live.n = junk->live.cap = 1;
    junk->live.v[0].kind = 5;
    junk->live.v[0].data = malloc(40);
    junk->live.v[0].len = 40;
    memset(junk->live.v[0].data, 0x41, 40);
    cr_assert_eq(esession_keystore_open(ctx, &ks, "junk", "pw", 2), ESESSION_ERR_CORRUPT);
    cr_assert_eq(ks, SENTINEL);
    cr_assert_eq(junk->live.n, 1, "open changed what it could not read");

    /* A creation whose commit fails leaves no keystore behind: the name
     * can be created again. */
    h.fail_commit = 1;
    cr_assert_eq(esession_keystore_create(ctx, &ks, "new", "pw", 2, fast()), ESESSION_ERR_IO);
    cr_assert_eq(ks, SENTINEL);
    h.fail_commit = 0;
    cr_assert_eq(esession_keystore_open(ctx, &ks, "new", "pw", 2), ESESSION_ERR_IO);
    ks = create(ctx, "new", "pw");
    esession_keystore_free(ks);
    cr_assert_eq(h.violations, 0);
    cr_assert_eq(h.handles, 0);
    esession_ctx_free(ctx);
    cwd_leave_empty(&g);
    host_free(&h);
}

/* What a keystore holds, as the API shows it. */
typedef struct view {
    size_t keys, trust;
    char jid[4][64], petname[4][64];
    uint8_t fp[4][ESESSION_FINGERPRINT_BYTES];
    int verified[4];
} view;

static view view_of(esession_keystore *ks)
{
    view v;
    memset(&v, 0, sizeof v);
    v.keys = esession_keystore_key_count(ks);
    v.trust = esession_trust_count(ks);
    cr_assert_leq(v.trust, 4);
    for (size_t i = 0; i < v.trust; i++) {
        esession_trust_entry e;
        cr_assert_eq(esession_trust_at(ks, i, &e), ESESSION_OK);
        snprintf(v.jid[i], sizeof v.jid[i], "%s", e.jid);
        snprintf(v.petname[i], sizeof v.petname[i], "%s", e.petname);
        memcpy(v.fp[i], e.fingerprint, sizeof v.fp[i]);
        v.verified[i] = e.verified;
    }
    return v;
}

static void expect_view(esession_keystore *ks, const view *want)
{
    view v = view_of(ks);
    cr_assert_eq(v.keys, want->keys);
    cr_assert_eq(v.trust, want->trust);
    for (size_t i = 0; i < want->trust; i++) {
        size_t j = 0;
        while (j < v.trust && (strcmp(v.jid[j], want->jid[i]) != 0 ||
                               memcmp(v.fp[j], want->fp[i], sizeof v.fp[j]) != 0))
            j++;
        cr_assert_lt(j, v.trust, "trust entry %s is gone", want->jid[i]);
        cr_assert_str_eq(v.petname[j], want->petname[i]);
        cr_assert_eq(v.verified[j], want->verified[i]);
    }
}

/* A failure of the host at any step (begin, a put, a delete, the commit)
 * fails the call with ESESSION_ERR_IO and leaves the keystore as it was:
 * the same records in storage, byte for byte, and the same content for
 * this handle and after a reopen. */
Test(hoststore, a_failing_host_changes_nothing)
{
    host h;
    memset(&h, 0, sizeof h);
    char *bob_pem = fx_data("vec_rsa_bob.pem", NULL), *dsa_pem = fx_data("vec_dsa_bob.pem", NULL);
    cwd_guard g;
    cwd_enter(&g);
    esession_ctx *ctx = ctx_for(&h);
    const char *name = "acct";
    esession_keystore *ks = create(ctx, name, "pw");
    esession_key *key = key_from(ctx, bob_pem), *dsa = key_from(ctx, dsa_pem);
    uint8_t fp[ESESSION_FINGERPRINT_BYTES];
    cr_assert_eq(esession_key_fingerprint(ctx, key, fp), ESESSION_OK);
    unsigned alerts = 0;
    cr_assert_eq(esession_keystore_add_key(ks, key), ESESSION_OK);
    cr_assert_eq(esession_trust_add(ks, "carol@example.net", key, "Carol", &alerts), ESESSION_OK);
    view want = view_of(ks);
    cr_assert_eq(want.trust, 1);
    table before;
    cr_assert_eq(table_copy(&before, &store_named(&h, name)->live), 0);

    for (int step = 0; step < 7; step++) {
        h.fail_begin = step == 0;
        h.fail_put_after = step == 1 ? 0 : step == 2 ? 1 : -1; /* the first, or the second put */
        h.fail_del = step == 3;
        h.fail_commit = step >= 4;
        esession_status rc;
        switch (step) {
        case 0:
            rc = esession_keystore_add_key(ks, dsa);
            break;
        case 1:
        case 2: /* the trust record written, the commit's own record refused */
            rc = esession_trust_add(ks, "dave@example.net", dsa, "Dave", &alerts);
            break;
        case 3:
            rc = esession_trust_remove(ks, "carol@example.net", fp);
            break;
        case 4:
            rc = esession_trust_set_verified(ks, "carol@example.net", fp, 1);
            break;
        case 5:
            rc = esession_keystore_delete_key(ks, fp);
            break;
        default:
            rc = esession_keystore_change_passphrase(ks, "new pw", 6, NULL);
            break;
        }
        cr_assert_eq(rc, ESESSION_ERR_IO, "step %d: %s", step, esession_status_name(rc));
        cr_assert_str_neq(esession_ctx_error_detail(ctx), "", "step %d", step);
        h.fail_begin = h.fail_del = h.fail_commit = 0;
        h.fail_put_after = -1;
        cr_assert(table_equal(&before, &store_named(&h, name)->live),
                  "step %d changed the host's storage", step);
        expect_view(ks, &want);
    }
    esession_keystore_free(ks);
    ks = open_ks(ctx, name, "pw");
    expect_view(ks, &want);
    esession_keystore *ks2 = SENTINEL;
    cr_assert_eq(esession_keystore_open(ctx, &ks2, name, "new pw", 6),
                 ESESSION_ERR_BAD_PASSPHRASE, "the failed passphrase change took");

    /* A batch: all of it or nothing. A failing commit keeps nothing. */
    cr_assert_eq(esession_keystore_begin(ks), ESESSION_OK);
    cr_assert_eq(esession_trust_add(ks, "dave@example.net", dsa, "Dave", &alerts), ESESSION_OK);
    cr_assert_eq(esession_trust_set_verified(ks, "carol@example.net", fp, 1), ESESSION_OK);
    cr_assert_eq(esession_trust_count(ks), 2);
    h.fail_commit = 1;
    cr_assert_eq(esession_keystore_commit(ks), ESESSION_ERR_IO);
    h.fail_commit = 0;
    cr_assert(table_equal(&before, &store_named(&h, name)->live));
    expect_view(ks, &want);
    /* The same with the commit's last write refused by the host. */
    cr_assert_eq(esession_keystore_begin(ks), ESESSION_OK);
    cr_assert_eq(esession_trust_add(ks, "dave@example.net", dsa, "Dave", &alerts), ESESSION_OK);
    h.fail_put_after = 0;
    cr_assert_neq(esession_keystore_commit(ks), ESESSION_OK);
    h.fail_put_after = -1;
    cr_assert(table_equal(&before, &store_named(&h, name)->live));
    expect_view(ks, &want);
    /* And committed, it is all there. */
    cr_assert_eq(esession_keystore_begin(ks), ESESSION_OK);
    cr_assert_eq(esession_trust_add(ks, "dave@example.net", dsa, "Dave", &alerts), ESESSION_OK);
    cr_assert_eq(esession_trust_set_verified(ks, "carol@example.net", fp, 1), ESESSION_OK);
    cr_assert_eq(esession_keystore_commit(ks), ESESSION_OK);
    esession_keystore_free(ks);
    ks = open_ks(ctx, name, "pw");
    cr_assert_eq(esession_trust_count(ks), 2);
    cr_assert_eq(esession_trust_check(ks, "dave@example.net", dsa), ESESSION_OK);
    esession_keystore_free(ks);

    cr_assert_eq(h.violations, 0);
    cr_assert_eq(h.handles, 0);
    table_free(&before);
    esession_key_free(key);
    esession_key_free(dsa);
    esession_ctx_free(ctx);
    cwd_leave_empty(&g);
    host_free(&h);
    free(bob_pem);
    free(dsa_pem);
}
