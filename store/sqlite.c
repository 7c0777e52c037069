/* SPDX-License-Identifier: ISC */
/* The default record storage: one SQLite database per keystore, in WAL
 * mode, writers serialized across processes by BEGIN IMMEDIATE and a busy
 * timeout, readers on a snapshot. It sees only record ids and ciphertext
 * (store/record.c). */
#include "sqlite.h"

#include <sqlite3.h>

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Long enough that a busy peer is waited for, never reported: writers
 * hold the lock for one operation (or one client batch). */
#define BUSY_TIMEOUT_MS 120000
#define ES_SQLITE_PATH_MAX 4096
/* Larger than any envelope the library writes (2 MiB of payload and its
 * name): a hostile file cannot make a read allocate more. */
#define VALUE_MAX (4u * 1024u * 1024u)

enum {
    ST_GET, ST_PUT, ST_DEL, ST_LIST, ST_LIST_OWNER,
    ST_BEGIN_WRITE, ST_BEGIN_READ, ST_COMMIT, ST_ROLLBACK, ST_COUNT
};

static const char *const sql_text[ST_COUNT] = {
    "SELECT data FROM record WHERE kind = ?1 AND id = ?2",
    "INSERT INTO record (kind, id, owner, data) VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT (kind, id) DO UPDATE SET owner = excluded.owner, data = excluded.data",
    "DELETE FROM record WHERE kind = ?1 AND id = ?2",
    "SELECT id, data FROM record WHERE kind = ?1",
    "SELECT id, data FROM record WHERE kind = ?1 AND owner = ?2",
    /* Prepared once like the others: sqlite3_exec would parse them at
     * every transaction. */
    "BEGIN IMMEDIATE",
    "BEGIN DEFERRED",
    "COMMIT",
    "ROLLBACK",
};

/* A table with rowids and an index on (kind, id), not WITHOUT ROWID: a
 * record is a kilobyte or more, and WITHOUT ROWID keeps whole rows in the
 * interior nodes of its one tree (a few per page, overflow chains under
 * each), which made a tree of 100,000 records six levels deep. Here the
 * index holds only the keys, and a row (up to a page's worth) sits in one
 * leaf of the table with no overflow page. Stores made with the earlier
 * WITHOUT ROWID table are read and written as they are: each statement
 * above means the same on either. A record rewritten stays in its row
 * (the upsert), so its index entry is not touched. */
static const char schema[] =
    "CREATE TABLE IF NOT EXISTS record ("
    " kind INTEGER NOT NULL,"
    " id BLOB NOT NULL,"
    " owner BLOB,"
    " data BLOB NOT NULL,"
    " PRIMARY KEY (kind, id));"
    "CREATE INDEX IF NOT EXISTS record_owner ON record (kind, owner)"
    " WHERE owner IS NOT NULL;";

typedef struct es_sqlite {
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    uint64_t waited_us; /* in the current wait for the lock */
} es_sqlite;

/* Waiting for another writer: it holds the lock for one operation (tens
 * to hundreds of microseconds), so retry after tens of microseconds,
 * doubling up to a millisecond, where SQLite's own handler would sleep a
 * millisecond first and then longer. Gives up after BUSY_TIMEOUT_MS. */
static int busy_wait(void *arg, int count)
{
    es_sqlite *s = arg;
    if (count == 0)
        s->waited_us = 0;
    if (s->waited_us >= (uint64_t)BUSY_TIMEOUT_MS * 1000u)
        return 0;
    unsigned us = count < 6 ? 20u << count : 1000u;
    struct timespec ts = {0, (long)us * 1000L};
    nanosleep(&ts, NULL);
    s->waited_us += us;
    return 1;
}

static int exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static void sq_close(void *user, void *store)
{
    es_sqlite *s = store;
    (void)user;
    if (s == NULL)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
    free(s);
}

/* Create the file first, mode 0600 whatever the umask, and never over an
 * existing one; SQLite gives its -wal and -shm files the same mode. */
static int create_file(const char *name)
{
    int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int rc = fchmod(fd, 0600);
    if (close(fd) != 0)
        rc = -1;
    if (rc != 0)
        unlink(name);
    return rc;
}

/* SQLite would take an empty file for a new database and write to it. */
static int is_database(const char *name)
{
    static const char magic[16] = "SQLite format 3";
    char head[16];
    FILE *f = fopen(name, "rb");
    if (f == NULL)
        return 0;
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    return n == sizeof head && memcmp(head, magic, sizeof head) == 0;
}

static int sq_open(void *user, const char *name, unsigned flags, void **out)
{
    int create = (flags & ESESSION_STORE_CREATE) != 0;
    struct stat sb;
    (void)user;

    if (create) {
        if (create_file(name) != 0)
            return -1;
    } else if (lstat(name, &sb) != 0) {
        return errno == ENOENT ? 1 : -1;
    } else if (!S_ISREG(sb.st_mode)) {
        return -1;
    } else if (!is_database(name)) {
        return 2; /* never turn someone else's file into a database */
    }
    es_sqlite *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -1;
    int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
    int ok = sqlite3_open_v2(name, &s->db, oflags, NULL) == SQLITE_OK &&
             sqlite3_extended_result_codes(s->db, 1) == SQLITE_OK &&
             sqlite3_busy_handler(s->db, busy_wait, s) == SQLITE_OK &&
             /* No DTD-like surprises: plain data, no extensions, no
              * attached files. */
             sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL) == SQLITE_OK &&
             sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL) == SQLITE_OK &&
             /* WAL is set once, at creation (it is kept in the file): an
              * open never writes before its first transaction. */
             (!create || exec(s->db, "PRAGMA journal_mode = WAL") == 0) &&
             /* No mmap_size: pages are read into SQLite's own cache.
              * A mapped file turns an I/O error, or another process
              * truncating the file, into SIGBUS in the host application,
              * which a library must not risk; what mapping would save
              * (copying pages from the kernel's cache) was measured at a
              * few percent of a stanza. Deleted records (destroyed
              * exponents) are overwritten. */
             exec(s->db, "PRAGMA secure_delete = ON") == 0 &&
             exec(s->db, (flags & ESESSION_STORE_SYNC_FULL) ? "PRAGMA synchronous = FULL"
                                                             : "PRAGMA synchronous = NORMAL") ==
                 0 &&
             (!create || exec(s->db, schema) == 0);
    int opened = ok;
    for (int i = 0; ok && i < ST_COUNT; i++)
        ok = sqlite3_prepare_v3(s->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
                                NULL) == SQLITE_OK;
    if (!ok) {
        int code = s->db != NULL ? sqlite3_errcode(s->db) & 0xff : SQLITE_ERROR;
        if (opened && !create)
            code = SQLITE_NOTADB; /* a database, but not ours: no record table */
        sq_close(NULL, s);
        if (create)
            unlink(name);
        return code == SQLITE_NOTADB || code == SQLITE_CORRUPT ? 2 : -1;
    }
    *out = s;
    return 0;
}

/* Run one of the transaction statements. */
static int run(es_sqlite *s, int which)
{
    sqlite3_stmt *st = s->st[which];
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}
static int sq_begin(void *user, void *store, int write)
{
    es_sqlite *s = store;
    (void)user;
    return run(s, write ? ST_BEGIN_WRITE : ST_BEGIN_READ);
}
static int sq_commit(void *user, void *store)
{
    es_sqlite *s = store;
    (void)user;
    if (run(s, ST_COMMIT) == 0)
        return 0;
    if (!sqlite3_get_autocommit(s->db))
        (void)run(s, ST_ROLLBACK);
    return -1;
}
static void sq_rollback(void *user, void *store)
{
    es_sqlite *s = store;
    (void)user;
    if (!sqlite3_get_autocommit(s->db))
        (void)run(s, ST_ROLLBACK);
}
/* Bind kind and id, the first two parameters of every statement. */
static sqlite3_stmt *prep(es_sqlite *s, int which, unsigned kind, const uint8_t *id)
{
    sqlite3_stmt *st = s->st[which];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (sqlite3_bind_int(st, 1, (int)kind) != SQLITE_OK ||
        (id != NULL && sqlite3_bind_blob(st, 2, id, 32, SQLITE_STATIC) != SQLITE_OK))
        return NULL;
    return st;
}

static int sq_get(void *user, void *store, unsigned kind, const uint8_t id[32], uint8_t **data,
                  size_t *len)
{
    es_sqlite *s = store;
    sqlite3_stmt *st = prep(s, ST_GET, kind, id);
    int rc = -1;
    (void)user;
    if (st == NULL)
        return -1;
    int step = sqlite3_step(st);
    if (step == SQLITE_DONE) {
        rc = 1;
    } else if (step == SQLITE_ROW) {
        const void *p = sqlite3_column_blob(st, 0);
        int n = sqlite3_column_bytes(st, 0);
        uint8_t *copy = (size_t)n <= VALUE_MAX ? malloc(n > 0 ? (size_t)n : 1) : NULL;
        if (copy != NULL) {
            if (n > 0)
                memcpy(copy, p, (size_t)n);
            *data = copy;
            *len = (size_t)n;
            rc = 0;
        }
    }
    sqlite3_reset(st);
    return rc;
}

static int sq_put(void *user, void *store, unsigned kind, const uint8_t id[32],
                  const uint8_t *owner, const uint8_t *data, size_t len)
{
    es_sqlite *s = store;
    sqlite3_stmt *st = prep(s, ST_PUT, kind, id);
    (void)user;
    if (st == NULL || len > INT32_MAX)
        return -1;
    int ok = (owner != NULL ? sqlite3_bind_blob(st, 3, owner, 32, SQLITE_STATIC)
                            : sqlite3_bind_null(st, 3)) == SQLITE_OK &&
             sqlite3_bind_blob(st, 4, len > 0 ? data : (const void *)"", (int)len,
                               SQLITE_STATIC) == SQLITE_OK &&
             sqlite3_step(st) == SQLITE_DONE;
    sqlite3_reset(st);
    return ok ? 0 : -1;
}

static int sq_del(void *user, void *store, unsigned kind, const uint8_t id[32])
{
    es_sqlite *s = store;
    sqlite3_stmt *st = prep(s, ST_DEL, kind, id);
    (void)user;
    int ok = st != NULL && sqlite3_step(st) == SQLITE_DONE;
    if (st != NULL)
        sqlite3_reset(st);
    return ok ? 0 : -1;
}

static int sq_list(void *user, void *store, unsigned kind, const uint8_t *owner,
                   int (*each)(void *arg, const uint8_t id[32], const uint8_t *data, size_t len),
                   void *arg)
{
    es_sqlite *s = store;
    sqlite3_stmt *st = prep(s, owner != NULL ? ST_LIST_OWNER : ST_LIST, kind, owner);
    int rc = 0, step;
    (void)user;
    if (st == NULL)
        return -1;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const void *id = sqlite3_column_blob(st, 0);
        const void *data = sqlite3_column_blob(st, 1);
        int n = sqlite3_column_bytes(st, 1);
        if (id == NULL || sqlite3_column_bytes(st, 0) != 32 || (size_t)n > VALUE_MAX ||
            each(arg, id, data != NULL ? data : (const void *)"", (size_t)n) != 0) {
            rc = -1;
            break;
        }
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = -1;
    sqlite3_reset(st);
    return rc;
}

const esession_store_ops es_sqlite_ops = {
    sq_open, sq_close, sq_begin, sq_commit, sq_rollback, sq_get, sq_put, sq_del, sq_list,
};

void es_sqlite_remove(const char *path)
{
    static const char *const suffix[] = {"-wal", "-shm", "-journal"};
    char buf[ES_SQLITE_PATH_MAX];
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++)
        if ((size_t)snprintf(buf, sizeof buf, "%s%s", path, suffix[i]) < sizeof buf)
            unlink(buf);
    unlink(path);
}
