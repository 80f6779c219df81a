/*
 * schema.c — the catalogue's versioned schema and its migrations.
 *
 * The schema grows by steps; step N turns a version N-1 catalogue into a
 * version N one. Opening an older catalogue runs the missing steps in one
 * write transaction (all or nothing, and another process opening it at the
 * same time waits, then finds it already upgraded). A catalogue written by a
 * newer postkit is refused: this one cannot know what its columns mean.
 *
 * Tables (portable SQL; full text is the engine's, see store.h):
 *   meta(key, value)           schema_version, created_by
 *   asset                      one per content (SHA-256): type, technical and
 *                              camera metadata, the probe record, thumbnail
 *   location                   one per path: the asset it holds, size, mtime,
 *                              fast hash, missing flag. A moved file keeps its
 *                              location row (the path is updated).
 *   scan                       one per `index` run: roots, counts, times
 *   producer                   what computed a result: name, algorithm version,
 *                              parameters, model id and SHA-256
 *   fingerprint                (asset, producer, kind) -> 64-bit hash and/or
 *                              blob: results of different producers never mix
 *   location_fts               full text over name, folders and metadata,
 *                              with type, camera, lens and capture date in
 *                              columns of their own so filters on them are
 *                              full-text terms (see store.h)
 *   face_scan                  (asset, producer): the face producer looked at
 *                              this content (and found `faces`, maybe none)
 *   face                       one per face found: asset, producer, video time,
 *                              box, landmarks, quality, expression, embedding
 *                              (float32; NULL once forgotten), person
 *   person                     a group of faces of one producer (one
 *                              embedding space): name, sum of its faces'
 *                              embeddings and their count (for incremental
 *                              average-linkage clustering), cover face
 *   transcript                 one per sentence of an asset's transcript:
 *                              start and end (seconds), text, producer
 *                              (engine, model and its SHA-256); one
 *                              transcript per asset, the latest
 *   transcript_fts             full text over those sentences (see store.h)
 * Versions: 1 core tables, 2 producers and fingerprints, 3 full text,
 * 4 indexes for filter-only searches, 5 full text with filter columns
 * (rebuilt from the tables), copies of an asset found from the index,
 * 6 faces and people, 7 transcripts, 8 full text with widths, heights and
 * durations as digit-prefix words (rebuilt from the tables).
 */
#include "catalog/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char v1_sql[] =
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE asset ("
    "  id INTEGER PRIMARY KEY,"
    "  sha256 TEXT NOT NULL UNIQUE,"
    "  size INTEGER NOT NULL,"
    "  type TEXT NOT NULL,"          /* photo | video | audio | unreadable */
    "  format TEXT,"
    "  width INTEGER, height INTEGER,"
    "  duration REAL, bit_rate INTEGER,"
    "  sample_rate INTEGER, channels INTEGER, bands INTEGER,"
    "  captured TEXT,"               /* ISO 8601, the camera's wall clock */
    "  camera_make TEXT, camera_model TEXT, camera_serial TEXT, lens TEXT,"
    "  gps_lat REAL, gps_lon REAL,"
    "  probe TEXT,"                  /* the `postkit probe` record, JSON */
    "  error TEXT,"                  /* why the content could not be read */
    "  thumbnail TEXT,"
    "  created_at TEXT NOT NULL);"
    "CREATE INDEX asset_type ON asset(type);"
    "CREATE INDEX asset_captured ON asset(captured);"
    "CREATE INDEX asset_width ON asset(width);"
    "CREATE INDEX asset_duration ON asset(duration);"
    "CREATE TABLE location ("
    "  id INTEGER PRIMARY KEY,"
    "  asset_id INTEGER NOT NULL REFERENCES asset(id),"
    "  path TEXT NOT NULL UNIQUE,"
    "  folder TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  root TEXT NOT NULL,"          /* the folder `index` was given */
    "  size INTEGER NOT NULL,"
    "  mtime_ns INTEGER NOT NULL,"
    "  device INTEGER, inode INTEGER,"
    "  fast_hash TEXT NOT NULL,"
    "  missing INTEGER NOT NULL DEFAULT 0,"
    "  first_seen TEXT NOT NULL,"
    "  last_seen TEXT NOT NULL);"
    "CREATE INDEX location_asset ON location(asset_id);"
    "CREATE INDEX location_folder ON location(folder);"
    "CREATE INDEX location_size_fast ON location(size, fast_hash);"
    "CREATE TABLE scan ("
    "  id INTEGER PRIMARY KEY,"
    "  started TEXT NOT NULL, finished TEXT,"
    "  roots TEXT NOT NULL, postkit TEXT NOT NULL,"
    "  seen INTEGER, added INTEGER, changed INTEGER, moved INTEGER,"
    "  missing INTEGER, failed INTEGER);";

static const char v2_sql[] =
    "CREATE TABLE producer ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL, version TEXT NOT NULL, params TEXT NOT NULL,"
    "  model_id TEXT NOT NULL DEFAULT '', model_sha256 TEXT NOT NULL DEFAULT '',"
    "  UNIQUE (name, version, params, model_id, model_sha256));"
    "CREATE TABLE fingerprint ("
    "  asset_id INTEGER NOT NULL REFERENCES asset(id),"
    "  producer_id INTEGER NOT NULL REFERENCES producer(id),"
    "  kind TEXT NOT NULL,"
    "  hash INTEGER,"
    "  data BLOB,"
    "  PRIMARY KEY (asset_id, producer_id, kind));"
    "CREATE INDEX fingerprint_producer ON fingerprint(producer_id, kind);";

/* Search by filters alone sorts by capture time: per type, in index
 * order; "missing:yes" reads only the missing rows. */
static const char v4_sql[] =
    "CREATE INDEX asset_type_captured ON asset(type, captured);"
    "CREATE INDEX location_missing ON location(missing, asset_id);";

/* Version 6, faces and people (named like fts_filters_sql, for the same
 * reason). A face's person is set by clustering, or by the user
 * (`people split`, `merge`): `assigned` tells which ("auto" | "user"), so
 * clustering never moves a face the user placed. */
static const char faces_sql[] =
    "CREATE TABLE face_scan ("
    "  asset_id INTEGER NOT NULL REFERENCES asset(id),"
    "  producer_id INTEGER NOT NULL REFERENCES producer(id),"
    "  faces INTEGER NOT NULL,"
    "  width INTEGER, height INTEGER,"   /* of the picture as analysed */
    "  scanned_at TEXT NOT NULL,"
    "  PRIMARY KEY (asset_id, producer_id));"
    "CREATE INDEX face_scan_producer ON face_scan(producer_id);"
    "CREATE TABLE person ("
    "  id INTEGER PRIMARY KEY,"
    "  producer_id INTEGER NOT NULL REFERENCES producer(id),"
    "  name TEXT,"
    "  faces INTEGER NOT NULL DEFAULT 0,"
    "  embedding_sum BLOB,"
    "  cover_face_id INTEGER,"
    "  created_at TEXT NOT NULL);"
    "CREATE INDEX person_name ON person(name);"
    "CREATE INDEX person_producer ON person(producer_id);"
    "CREATE TABLE face ("
    "  id INTEGER PRIMARY KEY,"
    "  asset_id INTEGER NOT NULL REFERENCES asset(id),"
    "  producer_id INTEGER NOT NULL REFERENCES producer(id),"
    "  time REAL,"                       /* video: seconds; NULL for a photo */
    "  x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL, h REAL NOT NULL,"
    "  landmarks TEXT NOT NULL,"         /* JSON [[x, y] x 6], fractions */
    "  score REAL NOT NULL, size REAL NOT NULL, sharpness REAL NOT NULL,"
    "  usable INTEGER NOT NULL,"
    "  expression TEXT, happy REAL, expressions TEXT,"
    "  embedding BLOB,"
    "  person_id INTEGER REFERENCES person(id),"
    "  assigned TEXT,"
    "  created_at TEXT NOT NULL);"
    "CREATE INDEX face_asset ON face(asset_id, producer_id);"
    "CREATE INDEX face_person ON face(person_id);"
    "CREATE INDEX face_pending ON face(producer_id, person_id, usable);"
    "CREATE INDEX face_happy ON face(happy);";

/* Version 7, transcripts (named like fts_filters_sql). Sentences rather
 * than words: a search hit shows the sentence and its time; the words and
 * their times stay in the transcript store for `cut`. */
static const char transcripts_sql[] =
    "CREATE TABLE transcript ("
    "  id INTEGER PRIMARY KEY,"
    "  asset_id INTEGER NOT NULL REFERENCES asset(id),"
    "  producer_id INTEGER NOT NULL REFERENCES producer(id),"
    "  start_time REAL NOT NULL, end_time REAL NOT NULL,"
    "  text TEXT NOT NULL);"
    "CREATE INDEX transcript_asset ON transcript(asset_id, start_time);";

static pk_status transcripts_fts(pk_db *s)
{
    return pk_db_transcript_fts_create(s);
}

static pk_status v3_fts(pk_db *s)
{
    return pk_db_fts_create(s);
}

/* Version 5, full text with filter columns. Named for what it does, not its
 * number, so that it can move to another place in the list (a branch adding
 * its own version first) by moving its one line in migrations[].
 *
 * "dupe:" asks, per location, whether its asset has another present copy:
 * answered from this index alone. */
static const char fts_filters_sql[] =
    "CREATE INDEX location_asset_missing ON location(asset_id, missing);"
    "DROP INDEX location_asset;";

/* Rebuild the full text in the current layout from what the tables hold
 * (the probe record for codec, title and artist). One pass; a 500,000-row
 * catalogue takes a minute or so, once. Version 5 (filter columns) and
 * version 8 (numbers as digit-prefix words, "measure_words") both run it;
 * an upgrade through both runs it once (see pk_schema_upgrade). */
static pk_status fts_filters_rebuild(pk_db *s)
{
    pk_status st = pk_db_fts_drop(s);
    if (st == PK_OK)
        st = pk_db_fts_create(s);
    pk_stmt *q = NULL;
    if (st == PK_OK)
        st = pk_db_prepare(s,
                           "SELECT l.id, l.name, l.folder, a.type, a.format, a.width, a.height, a.captured, "
                           "a.camera_make, a.camera_model, a.lens, a.probe, a.duration "
                           "FROM location l JOIN asset a ON a.id = l.asset_id",
                           &q);
    int r = 0;
    while (st == PK_OK && (r = pk_stmt_step(q)) == 1) {
        const char *probe = pk_stmt_text(q, 11);
        json_t *rec = probe ? json_loads(probe, 0, NULL) : NULL;
        pk_asset_meta m;
        pk_asset_meta_from_probe(rec, &m);
        /* The columns as stored are authoritative. */
        m.format = pk_stmt_text(q, 4);
        m.width = pk_stmt_int(q, 5);
        m.height = pk_stmt_int(q, 6);
        m.captured = pk_stmt_text(q, 7);
        m.make = pk_stmt_text(q, 8);
        m.model = pk_stmt_text(q, 9);
        m.lens = pk_stmt_text(q, 10);
        m.duration = pk_stmt_is_null(q, 12) ? NAN : pk_stmt_double(q, 12);
        st = pk_catalog_fts_set(s, pk_stmt_int(q, 0), pk_stmt_text(q, 1), pk_stmt_text(q, 2),
                                pk_stmt_text(q, 3), &m);
        json_decref(rec);
    }
    if (st == PK_OK && r < 0)
        st = PK_ERR_INTERNAL;
    pk_stmt_free(q);
    return st;
}

typedef struct migration {
    const char *sql;                 /* portable DDL, or NULL */
    pk_status (*fn)(pk_db *s);    /* engine-specific part, or NULL */
} migration;

/* migrations[i] upgrades version i to version i + 1. */
static const migration migrations[] = {
    {v1_sql, NULL},
    {v2_sql, NULL},
    {NULL, v3_fts},
    {v4_sql, NULL},
    {fts_filters_sql, fts_filters_rebuild},
    {faces_sql, NULL},
    {transcripts_sql, transcripts_fts},
    {NULL, fts_filters_rebuild}, /* measure_words */
};

/* Does a step after `v`, up to `target`, rebuild the full text anyway? */
static int rebuilt_later(int v, int target)
{
    for (int later = v + 1; later < target; later++)
        if (migrations[later].fn == fts_filters_rebuild)
            return 1;
    return 0;
}

int pk_schema_current(void)
{
    return (int)PK_ARRAY_LEN(migrations);
}

pk_status pk_schema_version(pk_db *s, int *version)
{
    int empty;
    pk_status st = pk_db_is_empty(s, &empty);
    if (st != PK_OK)
        return st;
    if (empty) {
        *version = 0;
        return PK_OK;
    }
    pk_stmt *q;
    if (pk_db_prepare(s, "SELECT value FROM meta WHERE key = 'schema_version'", &q) != PK_OK)
        return pk_fail(pk_db_ctx(s), PK_ERR_INPUT, pk_db_path(s),
                       "not a postkit catalogue (a database of something else)");
    int r = pk_stmt_step(q);
    *version = r == 1 && pk_stmt_text(q, 0) ? atoi(pk_stmt_text(q, 0)) : -1;
    pk_stmt_free(q);
    if (*version <= 0)
        return pk_fail(pk_db_ctx(s), PK_ERR_INPUT, pk_db_path(s),
                       "not a postkit catalogue (no schema version)");
    return PK_OK;
}

static pk_status set_version(pk_db *s, int version)
{
    pk_stmt *q;
    pk_status st = pk_db_prepare(s,
                                    "INSERT INTO meta(key, value) VALUES ('schema_version', ?) "
                                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                    &q);
    if (st != PK_OK)
        return st;
    char text[16];
    snprintf(text, sizeof text, "%d", version);
    pk_stmt_bind_text(q, 1, text);
    st = pk_stmt_step(q) < 0 ? PK_ERR_INTERNAL : PK_OK;
    pk_stmt_free(q);
    return st;
}

static pk_status refuse_newer(pk_db *s, int version)
{
    return pk_fail(pk_db_ctx(s), PK_ERR_INPUT, pk_db_path(s),
                   "catalogue schema version %d is newer than this postkit understands (%d); "
                   "use a newer postkit",
                   version, pk_schema_current());
}

pk_status pk_schema_upgrade(pk_db *s, int target, int *from)
{
    int version;
    pk_status st = pk_schema_version(s, &version);
    if (from)
        *from = version;
    if (st != PK_OK)
        return st;
    if (version > pk_schema_current())
        return refuse_newer(s, version);
    if (version >= target)
        return PK_OK;
    st = pk_db_begin(s, 1);
    if (st != PK_OK)
        return st;
    /* Read again under the write lock: another process may have upgraded
     * the file while this one waited. */
    st = pk_schema_version(s, &version);
    if (from)
        *from = version;
    for (int v = version; st == PK_OK && v < target; v++) {
        const migration *m = &migrations[v];
        if (m->sql)
            st = pk_db_exec(s, m->sql);
        if (st == PK_OK && m->fn && !(m->fn == fts_filters_rebuild && rebuilt_later(v, target)))
            st = m->fn(s);
    }
    if (st == PK_OK && version < target)
        st = set_version(s, target);
    if (st == PK_OK && version == 0) {
        char rev[96];
        snprintf(rev, sizeof rev, "INSERT INTO meta(key, value) VALUES ('created_by', 'postkit %s')",
                 pk_version());
        st = pk_db_exec(s, rev);
    }
    if (st == PK_OK)
        st = pk_db_commit(s);
    if (st != PK_OK)
        pk_db_rollback(s);
    return st;
}
