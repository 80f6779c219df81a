/*
 * store_sqlite.c — the storage interface on SQLite, the embedded default.
 *
 * The one file that knows it is SQLite: WAL journal (readers never block the
 * writer nor wait for it), a busy timeout (a second writer waits its turn
 * instead of failing with "database is locked"), synchronous=NORMAL (in WAL
 * mode a crash can lose the last transactions but never corrupts the file),
 * FTS5 for full text with BM25 ranking.
 */
#include "catalog/store_sqlite.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Long enough for another process's write transaction (a batch of files)
 * and a WAL checkpoint; a reader hits it only while a crashed writer's WAL
 * is being recovered. */
enum { BUSY_TIMEOUT_MS = 30000 };

pk_status pk_sqlite_fail(pk_db *s, const char *what)
{
    int code = sqlite3_extended_errcode(s->db);
    pk_status st = (code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB ? PK_ERR_INPUT
                   : (code & 0xff) == SQLITE_FULL || (code & 0xff) == SQLITE_READONLY ||
                           (code & 0xff) == SQLITE_CANTOPEN || (code & 0xff) == SQLITE_IOERR
                       ? PK_ERR_OUTPUT
                       : PK_ERR_INTERNAL;
    return pk_fail(s->ctx, st, s->path, "catalogue: %s: %s", what, sqlite3_errmsg(s->db));
}


pk_status pk_db_open(pk_ctx *ctx, const char *path, unsigned flags, pk_db **out)
{
    struct stat sb;
    int exists = stat(path, &sb) == 0;
    if (exists && S_ISDIR(sb.st_mode))
        return pk_fail(ctx, PK_ERR_INPUT, path, "catalogue path is a directory");
    if (!exists && !(flags & PK_DB_CREATE))
        return pk_fail(ctx, PK_ERR_INPUT, path, "no catalogue here (run `postkit index DIR` first)");
    if (!exists && pk_mkdirs_for(path) != 0)
        return pk_fail(ctx, PK_ERR_OUTPUT, path, "cannot create the catalogue's folder: %s",
                       strerror(errno));
    pk_db *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
    }
    s->ctx = ctx;
    /* A reader opens read-write too: in WAL mode even readers may need to
     * write the shared-memory index, and a read-only connection cannot
     * recover the WAL a killed writer left. It never writes the data. */
    int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    if (flags & PK_DB_CREATE)
        oflags |= SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &s->db, oflags, NULL) != SQLITE_OK) {
        pk_status st = s->db ? pk_sqlite_fail(s, "cannot open")
                             : pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
        pk_db_close(s);
        return st;
    }
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(s->db, 1);
    /* journal_mode=WAL is persistent in the file; setting it needs a moment
     * without other connections, so it is done once, by the creator. */
    /* The default page cache and no mmap: most connections live for one
     * query (a `search`), and a big cache or a mapping costs more to set
     * up than it saves (measured: 3-10x slower cold queries). */
    static const char setup[] = "PRAGMA foreign_keys=ON;"
                                "PRAGMA synchronous=NORMAL;"
                                "PRAGMA temp_store=MEMORY;";
    pk_status st = pk_db_exec(s, setup);
    if (st == PK_OK)
        st = pk_fts5_attach(s);
    if (st == PK_OK) {
        pk_stmt *q;
        st = pk_db_prepare(s, "PRAGMA journal_mode", &q);
        if (st == PK_OK) {
            int r = pk_stmt_step(q);
            int wal = r == 1 && pk_stmt_text(q, 0) && strcmp(pk_stmt_text(q, 0), "wal") == 0;
            pk_stmt_free(q);
            if (r < 0)
                st = PK_ERR_INPUT;
            else if (!wal && !(flags & PK_DB_READONLY))
                st = pk_db_exec(s, "PRAGMA journal_mode=WAL");
        }
    }
    if (st != PK_OK) {
        /* "file is not a database" and friends: say so plainly. */
        pk_db_close(s);
        return st == PK_ERR_INTERNAL ? pk_fail(ctx, PK_ERR_INPUT, path, "not a postkit catalogue")
                                     : st;
    }
    *out = s;
    return PK_OK;
}

void pk_db_close(pk_db *s)
{
    if (!s)
        return;
    pk_fts5_detach(s);
    if (s->db)
        sqlite3_close_v2(s->db);
    free(s->path);
    free(s);
}

const char *pk_db_path(const pk_db *s) { return s->path; }
pk_ctx *pk_db_ctx(const pk_db *s) { return s->ctx; }

pk_status pk_db_exec(pk_db *s, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        pk_status st = pk_sqlite_fail(s, err ? err : "statement failed");
        sqlite3_free(err);
        return st;
    }
    return PK_OK;
}

pk_status pk_db_begin(pk_db *s, int write)
{
    return pk_db_exec(s, write ? "BEGIN IMMEDIATE" : "BEGIN");
}

pk_status pk_db_commit(pk_db *s)
{
    return pk_db_exec(s, "COMMIT");
}

void pk_db_rollback(pk_db *s)
{
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

pk_status pk_db_prepare(pk_db *s, const char *sql, pk_stmt **out)
{
    pk_stmt *st = calloc(1, sizeof *st);
    if (!st)
        return pk_fail(s->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    st->store = s;
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->st, NULL) != SQLITE_OK) {
        free(st);
        return pk_sqlite_fail(s, "cannot prepare a query");
    }
    *out = st;
    return PK_OK;
}

void pk_stmt_free(pk_stmt *st)
{
    if (!st)
        return;
    sqlite3_finalize(st->st);
    free(st);
}

void pk_stmt_reset(pk_stmt *st)
{
    sqlite3_reset(st->st);
    sqlite3_clear_bindings(st->st);
}

void pk_stmt_bind_int(pk_stmt *st, int i, int64_t v) { sqlite3_bind_int64(st->st, i, v); }
void pk_stmt_bind_null(pk_stmt *st, int i) { sqlite3_bind_null(st->st, i); }

void pk_stmt_bind_double(pk_stmt *st, int i, double v)
{
    if (isnan(v))
        sqlite3_bind_null(st->st, i);
    else
        sqlite3_bind_double(st->st, i, v);
}

void pk_stmt_bind_text(pk_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st->st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st->st, i);
}

void pk_stmt_bind_blob(pk_stmt *st, int i, const void *v, size_t n)
{
    if (v)
        sqlite3_bind_blob64(st->st, i, v, n, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st->st, i);
}

int pk_stmt_step(pk_stmt *st)
{
    int rc = sqlite3_step(st->st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    pk_sqlite_fail(st->store, "query failed");
    sqlite3_reset(st->st);
    return -1;
}

int64_t pk_stmt_int(pk_stmt *st, int col) { return sqlite3_column_int64(st->st, col); }
int pk_stmt_is_null(pk_stmt *st, int col) { return sqlite3_column_type(st->st, col) == SQLITE_NULL; }

double pk_stmt_double(pk_stmt *st, int col)
{
    return pk_stmt_is_null(st, col) ? NAN : sqlite3_column_double(st->st, col);
}

const char *pk_stmt_text(pk_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(st->st, col);
}

const void *pk_stmt_blob(pk_stmt *st, int col, size_t *n)
{
    const void *p = sqlite3_column_blob(st->st, col);
    *n = (size_t)sqlite3_column_bytes(st->st, col);
    return p;
}

pk_status pk_db_query_int(pk_db *s, const char *sql, int64_t dflt, int64_t *out)
{
    pk_stmt *q;
    pk_status st = pk_db_prepare(s, sql, &q);
    if (st != PK_OK)
        return st;
    int r = pk_stmt_step(q);
    *out = r == 1 && !pk_stmt_is_null(q, 0) ? pk_stmt_int(q, 0) : dflt;
    pk_stmt_free(q);
    return r < 0 ? PK_ERR_INTERNAL : PK_OK;
}

pk_status pk_db_is_empty(pk_db *s, int *empty)
{
    int64_t n;
    pk_status st = pk_db_query_int(s, "SELECT count(*) FROM sqlite_master", 0, &n);
    *empty = st == PK_OK && n == 0;
    return st;
}

pk_status pk_db_check(pk_db *s, int *ok, char *report, size_t size)
{
    pk_stmt *q;
    pk_status st = pk_db_prepare(s, "PRAGMA integrity_check", &q);
    if (st != PK_OK)
        return st;
    int r = pk_stmt_step(q);
    const char *t = r == 1 ? pk_stmt_text(q, 0) : NULL;
    *ok = t && strcmp(t, "ok") == 0;
    snprintf(report, size, "%s", t ? t : "no answer");
    pk_stmt_free(q);
    return r < 0 ? PK_ERR_INPUT : PK_OK;
}

const char *pk_db_engine(void)
{
    return "SQLite " SQLITE_VERSION;
}

pk_status pk_db_erase_begin(pk_db *s)
{
    return pk_db_exec(s, "PRAGMA secure_delete = ON");
}

pk_status pk_db_erase_end(pk_db *s)
{
    return pk_db_exec(s, "PRAGMA wal_checkpoint(TRUNCATE)");
}
