/*
 * store.h — the catalogue's storage interface.
 *
 * Everything above this interface speaks portable SQL: `?` placeholders,
 * INTEGER/REAL/TEXT/BLOB columns, INSERT ... ON CONFLICT ... DO UPDATE and
 * RETURNING, which SQLite (>= 3.35) and PostgreSQL both understand. What is
 * particular to one engine — opening and tuning the file, full-text search,
 * the integrity check — lives behind the functions below, implemented for
 * SQLite in store_sqlite.c. A PostgreSQL backend (libpq, `?` rewritten to
 * `$n`, tsvector for full text) would implement the same functions.
 *
 * Threading: a pk_db and its statements belong to one thread at a time.
 * Several processes may open the same catalogue; writers take turns (short
 * write transactions), readers never wait for a writer.
 */
#ifndef POSTKIT_CATALOG_STORE_H
#define POSTKIT_CATALOG_STORE_H

#include "core/internal.h"

typedef struct pk_db pk_db;
typedef struct pk_stmt pk_stmt;

enum {
    PK_DB_READONLY = 1u << 0, /* never write; fail when the file is absent */
    PK_DB_CREATE = 1u << 1    /* create the file (and its folder) when absent */
};

/* Open the catalogue at `path`. Errors: PK_ERR_INPUT when it is absent
 * (without CREATE), not a catalogue, or damaged; PK_ERR_OUTPUT when it cannot
 * be created. The schema is not touched here (see schema.c). The caller
 * closes *out with pk_db_close(). `ctx` receives the errors of every later
 * call on this store and must outlive it. */
pk_status pk_db_open(pk_ctx *ctx, const char *path, unsigned flags, pk_db **out);
void pk_db_close(pk_db *s);
const char *pk_db_path(const pk_db *s);
pk_ctx *pk_db_ctx(const pk_db *s);

/* Run one or more statements that return no rows. */
pk_status pk_db_exec(pk_db *s, const char *sql);

/* Transactions. A write transaction takes the write lock at once (so it never
 * fails half-way for a lock another writer holds; it waits up to the busy
 * timeout instead). Read transactions give a consistent snapshot. */
pk_status pk_db_begin(pk_db *s, int write);
pk_status pk_db_commit(pk_db *s);
void pk_db_rollback(pk_db *s);

/* Prepared statements. pk_stmt_step returns 1 for a row, 0 when done, -1 on
 * error (message in the store's context). Columns and parameters count from
 * 0 (columns) and 1 (parameters), as in SQL. Text from pk_stmt_text is valid
 * until the next step/reset; NULL for SQL NULL. */
pk_status pk_db_prepare(pk_db *s, const char *sql, pk_stmt **out);
void pk_stmt_free(pk_stmt *st);
void pk_stmt_reset(pk_stmt *st);
void pk_stmt_bind_int(pk_stmt *st, int i, int64_t v);
void pk_stmt_bind_double(pk_stmt *st, int i, double v);     /* NaN binds NULL */
void pk_stmt_bind_text(pk_stmt *st, int i, const char *v);  /* NULL binds NULL; copied */
void pk_stmt_bind_blob(pk_stmt *st, int i, const void *v, size_t n);
void pk_stmt_bind_null(pk_stmt *st, int i);
int pk_stmt_step(pk_stmt *st);
int64_t pk_stmt_int(pk_stmt *st, int col);
double pk_stmt_double(pk_stmt *st, int col);                 /* NaN for NULL */
const char *pk_stmt_text(pk_stmt *st, int col);
const void *pk_stmt_blob(pk_stmt *st, int col, size_t *n);
int pk_stmt_is_null(pk_stmt *st, int col);

/* Run a statement that yields one integer (a count, an id); *out is set to
 * `dflt` when it yields no row. */
pk_status pk_db_query_int(pk_db *s, const char *sql, int64_t dflt, int64_t *out);

/* ---- engine-specific parts ---------------------------------------------- */

/* Create the full-text index over locations: one row per location id with
 * the columns name, folders, meta. Part of a schema migration. */
pk_status pk_db_fts_create(pk_db *s);
/* Replace the full-text row of location `id`. */
pk_status pk_db_fts_set(pk_db *s, int64_t id, const char *name, const char *folders,
                           const char *meta);
pk_status pk_db_fts_delete(pk_db *s, int64_t id);
/* A SELECT yielding (id, rank) for the full-text query bound at its one
 * parameter; lower rank is better; "ORDER BY rank LIMIT n" may follow.
 * Static text. */
const char *pk_db_fts_select(const pk_db *s);
/* Translate words the user typed into the engine's query syntax: every word
 * must occur, as a word or a word prefix. Returns a new allocation or NULL
 * when no searchable word is left. */
char *pk_db_fts_query(const pk_db *s, const char *const *words, size_t n);

/* Privacy: after pk_db_erase_begin, content this connection deletes or
 * overwrites is zeroed on disk, leaving no trace in free pages;
 * pk_db_erase_end then folds the journal into the file and empties it, so
 * no older copy of a page stays there either (readers still open in other
 * processes may delay that until they close). */
pk_status pk_db_erase_begin(pk_db *s);
pk_status pk_db_erase_end(pk_db *s);

/* Does the file hold no table at all (a catalogue being created)? */
pk_status pk_db_is_empty(pk_db *s, int *empty);

/* Check the file's structure: *ok 1 when sound; otherwise `report` gets the
 * first problem. */
pk_status pk_db_check(pk_db *s, int *ok, char *report, size_t size);

/* Name and version of the engine, e.g. "SQLite 3.40.1". Static text. */
const char *pk_db_engine(void);

#endif
