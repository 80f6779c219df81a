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

/* The full-text index: one row per location id. The columns a word is
 * searched in; filters look in one column only. */
enum pk_fts_column {
    PK_FTS_ANY = -1,
    PK_FTS_NAME,     /* file name */
    PK_FTS_FOLDERS,  /* folder names of the path */
    PK_FTS_META,     /* format, codec, title, artist, "4k uhd" */
    PK_FTS_TYPE,     /* photo | video | audio | unreadable | other */
    PK_FTS_CAMERA,   /* make and model */
    PK_FTS_LENS,
    PK_FTS_DATE,     /* capture day as three words: 2024 m202406 d20240615 */
    PK_FTS_MEASURE,  /* width, height, duration as digit words: w4 w4x3 w4x38 ... (assetmeta.c) */
    PK_FTS_COLUMNS
};

/* Create the full-text index (empty). Part of a schema migration. */
pk_status pk_db_fts_create(pk_db *s);
/* Drop it (a migration that changes its columns drops and rebuilds it). */
pk_status pk_db_fts_drop(pk_db *s);
/* Replace the full-text row of location `id`; text[c] is column c (NULL is
 * empty). Statements are prepared once per store. */
pk_status pk_db_fts_set(pk_db *s, int64_t id, const char *const text[PK_FTS_COLUMNS]);
pk_status pk_db_fts_delete(pk_db *s, int64_t id);

/* One phrase of a full-text query: its words (as typed: the engine splits
 * and folds them as it did the indexed text) must occur one after another
 * in `column` (PK_FTS_ANY: any column), the last one as a word or a word
 * prefix when `prefix`. Consecutive phrases with `or_next` set form one
 * alternative ("2024 or 2025"); the groups must all match. Phrases searched
 * in one column are filters: they decide what matches, never the rank. */
typedef struct pk_fts_phrase {
    const char *text;
    int column;
    int prefix;
    int or_next;
} pk_fts_phrase;

/* A query in the engine's syntax, made by pk_db_fts_match. */
typedef struct pk_fts_match {
    char *text;        /* NULL when no phrase holds a searchable word */
    int nfilter;       /* the query's leading phrases, which filter only */
    int nranked;       /* the phrases after them: the words that rank */
    int dropped_words; /* PK_FTS_ANY phrases without a searchable word */
} pk_fts_match;

/* Build the query for phrases ph[0..n). A phrase with no letter or digit is
 * left out (typed punctuation is text, never query syntax). The caller
 * frees out->text. Errors: PK_ERR_INTERNAL (memory, engine). */
pk_status pk_db_fts_match(pk_db *s, const pk_fts_phrase *ph, size_t n, pk_fts_match *out);

/* One result of pk_db_fts_top: a location id and its BM25 score (higher is
 * better). */
typedef struct pk_fts_hit {
    int64_t id;
    double score;
} pk_fts_hit;

/* What pk_db_fts_top did, for benchmarks and the total shown to users. */
typedef struct pk_fts_stats {
    int64_t matches;   /* rows the full-text query matched */
    int64_t scored;    /* rows whose exact score was computed */
    int64_t checked;   /* rows `check` was run for */
    int64_t passed;    /* ... and kept */
    int exact;         /* 1: the hits are the exact BM25 top `limit` */
    int gave_up;       /* pk_db_fts_top_within stopped: too many failed checks */
} pk_fts_stats;

/* The best `limit` matches of `m` by BM25 (file name weighing 10, folder
 * names 4, the rest 1), best first, in hits[0..*n). `check`, when not NULL,
 * is a prepared statement whose parameter 1 takes a location id and that
 * yields a row when the location passes the filters full text cannot
 * express; it runs only for rows that could still enter the results.
 *
 * The cost is a cheap pass over every match plus an exact score (and a
 * check) for the few rows that can still enter: rows are read in id order;
 * a row whose score bound (BM25 with the shortest document length its
 * matches allow) cannot beat the current `limit`-th best exact score, or is
 * not above the lowest of the best 64 + `limit` bounds seen so far, is
 * skipped. The first test never changes the result; the second bounds the
 * work when thousands of rows match alike (a folder name): among rows of
 * equal bound, the first 64 + `limit` in id order are ranked exactly, so
 * the shortest-document order inside such a class is approximate. An idf
 * of a word hitting more than 4096 rows is estimated from where its 4096th
 * hit lies. stats may be NULL. */
pk_status pk_db_fts_top(pk_db *s, const pk_fts_match *m, pk_stmt *check, size_t limit,
                        pk_fts_hit *hits, size_t *n, pk_fts_stats *stats);

/* A test on a location id that needs no statement (a set in memory):
 * keep(user, id) returns 1 to keep the row. */
typedef struct pk_id_filter {
    int (*keep)(void *user, int64_t id);
    void *user;
} pk_id_filter;

/* pk_db_fts_top, with `pre` (may be NULL) run before `check` for the same
 * rows (a row it rejects counts as checked, not passed), and giving up
 * once they have rejected more than `max_rejects` rows (0: never): then
 * *n = 0, stats->gave_up = 1 and the status is PK_OK. For a caller that
 * chose to check a filter per row rather than let the full text narrow by
 * it, betting that most rows pass: a lost bet costs at most max_rejects
 * checks before it asks otherwise. */
pk_status pk_db_fts_top_within(pk_db *s, const pk_fts_match *m, pk_stmt *check, const pk_id_filter *pre,
                               int64_t max_rejects, size_t limit, pk_fts_hit *hits, size_t *n,
                               pk_fts_stats *stats);

/* Call fn(user, id) for every location matching `m`, in id order; a non-zero
 * return stops. *count (may be NULL) gets how many were passed. */
pk_status pk_db_fts_each(pk_db *s, const pk_fts_match *m, int (*fn)(void *user, int64_t id),
                         void *user, int64_t *count);

/* Does location `id` match `m`? One seek in the index (a statement
 * prepared once per store). *yes is 1 when m holds no phrase. */
pk_status pk_db_fts_matches(pk_db *s, const pk_fts_match *m, int64_t id, int *yes);

/* The transcripts' full text: one row per sentence of table `transcript`
 * (same id), over its text, folded like the location index. Created by a
 * schema migration; kept in step by the two calls after it, which index or
 * unindex every sentence an asset has in `transcript` (call unindex before
 * those rows change, index after; an asset's sentences are inserted in one
 * go, so that their ids form one range). */
pk_status pk_db_transcript_fts_create(pk_db *s);
pk_status pk_db_transcript_fts_index(pk_db *s, int64_t asset_id);
pk_status pk_db_transcript_fts_unindex(pk_db *s, int64_t asset_id);

/* One transcript sentence matching a query; text valid during the call. */
typedef struct pk_transcript_hit {
    int64_t id, asset_id;
    double start, end;  /* seconds on the file's timeline */
    const char *text;
    double score;       /* BM25 of the sentence, higher is better */
} pk_transcript_hit;

/* Call fn(user, hit) for the transcript sentences matching `m` (made by
 * pk_db_fts_match from PK_FTS_ANY phrases only): with asset_id < 0 all of
 * them, best first; else only that asset's, in time order. A non-zero
 * return stops. Ranking costs a pass over the matches, none when no
 * transcript holds the query's words. */
pk_status pk_db_transcript_each(pk_db *s, const pk_fts_match *m, int64_t asset_id,
                                int (*fn)(void *user, const pk_transcript_hit *hit), void *user);

/* Call fn(user, hit) for the sentences of each asset of assets[0..n)
 * (distinct) matching `m` (as for pk_db_transcript_each), asset by asset in
 * that order, each asset's in time order; hit->score is not set. One pass
 * over the matches for all the assets. A non-zero return stops. */
pk_status pk_db_transcript_each_of(pk_db *s, const pk_fts_match *m, const int64_t *assets, size_t n,
                                   int (*fn)(void *user, const pk_transcript_hit *hit), void *user);

/* One asset found by its transcript. */
typedef struct pk_transcript_asset {
    int64_t asset_id;
    double score;       /* BM25 of its best sentence matching the query */
    int hits;           /* what `hits` said of it */
} pk_transcript_asset;

/* The assets whose sentences match `m` (made by pk_db_fts_match from
 * PK_FTS_ANY phrases only), each ranked by its best matching sentence, best
 * first, in out[0..*n) (room for `limit`): the fewest whose hits add up to
 * `limit` (all when they do not). hits(user, asset_id) says how many
 * results an asset gives (0: none, e.g. its files fail the query's other
 * filters; < 0: an error, reported by hits() through the store's context,
 * that stops the search); it is called once per asset that could still
 * enter, on this thread, and may use the store. *matches gets the number of
 * matching sentences (0: no transcript holds the words).
 *
 * Scores are BM25 as pk_db_transcript_each gives them (the idf of a word
 * phrase in more than 4096 sentences estimated as in pk_db_fts_top). The
 * cost is a pass over the matching sentences; a sentence's length is looked
 * up only when its bound (BM25 at the shortest length its matches allow)
 * beats the lowest score still needed, its asset only when its exact score
 * does. Relies on an asset's sentences forming one id range (see above). */
pk_status pk_db_transcript_top(pk_db *s, const pk_fts_match *m, size_t limit,
                               int (*hits)(void *user, int64_t asset_id), void *user,
                               pk_transcript_asset *out, size_t *n, int64_t *matches);

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
