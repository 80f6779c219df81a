/* Unit tests: catalogue schema migrations, the Hamming index, query text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>

#include <cmocka.h>

#include "catalog/internal.h"

typedef struct fixture {
    pk_ctx *ctx;
    char dir[64];
    char db[96];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    pk_ctx_new(&f->ctx);
    snprintf(f->dir, sizeof f->dir, "/tmp/pk_catalog_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof f->db, "%s/c.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    pk_ctx_free(f->ctx);
    free(f);
    return 0;
}

/* A version-1 catalogue (as an early postkit wrote it) is upgraded in place
 * and keeps its rows. */
static void test_upgrade_from_v1(void **state)
{
    fixture *f = *state;
    pk_db *s;
    assert_int_equal(pk_db_open(f->ctx, f->db, PK_DB_CREATE, &s), PK_OK);
    int from = -1;
    assert_int_equal(pk_schema_upgrade(s, 1, &from), PK_OK);
    assert_int_equal(from, 0);
    assert_int_equal(pk_db_exec(s, "INSERT INTO asset(sha256, size, type, created_at) "
                                      "VALUES ('ab', 1, 'photo', 'now')"),
                     PK_OK);
    int v;
    assert_int_equal(pk_schema_version(s, &v), PK_OK);
    assert_int_equal(v, 1);
    pk_db_close(s);

    pk_catalog *cat;
    assert_int_equal(pk_catalog_open(f->ctx, f->db, 0, &cat), PK_OK);
    assert_int_equal(pk_schema_version(cat->store, &v), PK_OK);
    assert_int_equal(v, pk_catalog_schema_version());
    int64_t n;
    assert_int_equal(pk_db_query_int(cat->store, "SELECT count(*) FROM asset", -1, &n), PK_OK);
    assert_int_equal(n, 1);
    /* The later steps' tables exist. */
    assert_int_equal(pk_db_query_int(cat->store, "SELECT count(*) FROM fingerprint", -1, &n), PK_OK);
    const char *text[PK_FTS_COLUMNS] = {"IMG_0001.JPG", "home trips", "jpeg", "photo"};
    assert_int_equal(pk_db_fts_set(cat->store, 1, text), PK_OK);
    pk_catalog_close(cat);
}

static void test_newer_schema_refused(void **state)
{
    fixture *f = *state;
    pk_catalog *cat;
    assert_int_equal(pk_catalog_open(f->ctx, f->db, 1, &cat), PK_OK);
    assert_int_equal(pk_db_exec(cat->store, "UPDATE meta SET value = '99' WHERE key = 'schema_version'"),
                     PK_OK);
    pk_catalog_close(cat);
    assert_int_equal(pk_catalog_open(f->ctx, f->db, 0, &cat), PK_ERR_INPUT);
    assert_non_null(strstr(pk_ctx_errmsg(f->ctx), "newer than this postkit"));
}

static void test_not_a_catalogue(void **state)
{
    fixture *f = *state;
    pk_db *s;
    assert_int_equal(pk_db_open(f->ctx, f->db, PK_DB_CREATE, &s), PK_OK);
    assert_int_equal(pk_db_exec(s, "CREATE TABLE other(x)"), PK_OK);
    pk_db_close(s);
    pk_catalog *cat;
    assert_int_equal(pk_catalog_open(f->ctx, f->db, 0, &cat), PK_ERR_INPUT);
    assert_non_null(strstr(pk_ctx_errmsg(f->ctx), "not a postkit catalogue"));
}

static uint64_t next_random(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Multi-index hashing finds exactly what a linear scan finds. */
static void test_hash_index_exact(void **state)
{
    fixture *f = *state;
    enum { N = 50000, Q = 40 };
    uint64_t *h = malloc(N * sizeof *h), seed = 88172645463325252ull;
    for (size_t i = 0; i < N; i++)
        h[i] = next_random(&seed);
    /* Plant neighbours of the first queries at every distance up to 14. */
    for (int q = 0; q < Q; q++)
        for (int d = 0; d <= 14; d++) {
            uint64_t v = h[q];
            for (int b = 0; b < d; b++)
                v ^= 1ull << ((q * 7 + b * 5) % 64);
            h[Q + q * 15 + d] = v;
        }
    pk_hash_index *ix;
    assert_int_equal(pk_hash_index_build(f->ctx, h, N, &ix), PK_OK);
    uint32_t *got = malloc(N * sizeof *got), *want = malloc(N * sizeof *want);
    for (int radius = 0; radius <= 14; radius += 2) {
        for (int q = 0; q < Q; q++) {
            size_t n = pk_hash_index_query(ix, h[q], radius, got, N), m = 0;
            for (size_t i = 0; i < N; i++)
                if (pk_hamming(h[i], h[q]) <= radius)
                    want[m++] = (uint32_t)i;
            assert_int_equal(n, m);
            qsort(got, n, sizeof *got, cmp_u32);
            assert_memory_equal(got, want, m * sizeof *got);
        }
    }
    /* Asking for fewer results still counts them all. */
    assert_true(pk_hash_index_query(ix, h[0], 14, got, 1) >= 15);
    pk_hash_index_free(ix);
    free(h);
    free(got);
    free(want);
}

/* Words typed by the user never become FTS syntax; filters come first. */
static void test_fts_query_text(void **state)
{
    fixture *f = *state;
    pk_catalog *cat;
    assert_int_equal(pk_catalog_open(f->ctx, f->db, 1, &cat), PK_OK);
    const pk_fts_phrase ph[] = {
        {"ice\"land", PK_FTS_ANY, 1, 0}, {"-", PK_FTS_ANY, 1, 0},     {"NEAR(x", PK_FTS_ANY, 1, 0},
        {"AND", PK_FTS_ANY, 1, 0},        {"2024", PK_FTS_DATE, 0, 1}, {"202501", PK_FTS_DATE, 0, 0},
        {"Canon EOS", PK_FTS_CAMERA, 1, 0},
    };
    pk_fts_match m;
    assert_int_equal(pk_db_fts_match(cat->store, ph, PK_ARRAY_LEN(ph), &m), PK_OK);
    assert_string_equal(m.text, "({date} : \"2024\" OR {date} : \"202501\") AND ({camera} : \"canon eos\"*) "
                                "AND (\"ice land\"*) AND (\"near x\"*) AND (\"and\"*)");
    assert_int_equal(m.nfilter, 3);
    assert_int_equal(m.nranked, 3);
    assert_int_equal(m.dropped_words, 1);
    pk_fts_hit hits[4];
    size_t n = 99;
    assert_int_equal(pk_db_fts_top(cat->store, &m, NULL, 4, hits, &n, NULL), PK_OK);
    assert_int_equal(n, 0); /* runs, finds nothing */
    free(m.text);
    const pk_fts_phrase none[] = {{"-", PK_FTS_ANY, 1, 0}, {"!!", PK_FTS_ANY, 1, 0}};
    assert_int_equal(pk_db_fts_match(cat->store, none, 2, &m), PK_OK);
    assert_null(m.text);
    pk_catalog_close(cat);
}

/* A version-4 catalogue (main's layout: full text in three columns) is
 * upgraded: the full text is rebuilt from the tables with the filter
 * columns, so type, camera, lens and date filters find its rows. */
static void test_upgrade_from_v4(void **state)
{
    fixture *f = *state;
    pk_db *s;
    assert_int_equal(pk_db_open(f->ctx, f->db, PK_DB_CREATE, &s), PK_OK);
    assert_int_equal(pk_schema_upgrade(s, 4, NULL), PK_OK);
    /* The full text exactly as version 4 created and filled it. */
    assert_int_equal(pk_db_exec(s, "DROP TABLE location_fts;"
                                   "CREATE VIRTUAL TABLE location_fts USING fts5(name, folders, meta, "
                                   "tokenize = 'unicode61 remove_diacritics 2');"
                                   "INSERT INTO location_fts(location_fts, rank) "
                                   "VALUES ('rank', 'bm25(10.0, 4.0, 1.0)');"
                                   "INSERT INTO asset(id, sha256, size, type, format, width, height, captured, "
                                   "camera_make, camera_model, lens, probe, created_at) VALUES "
                                   "(1, 'ab', 1, 'photo', 'jpeg', 6000, 4000, '2024-07-14T10:00:00', 'Canon', "
                                   "'Canon EOS R5', 'RF24-105mm F4 L', '{\"streams\":[]}', 'now'),"
                                   "(2, 'cd', 1, 'video', 'mov', 3840, 2160, '2019-01-02T10:00:00', NULL, NULL, "
                                   "NULL, NULL, 'now');"
                                   "UPDATE asset SET duration = 90 WHERE id = 2;"
                                   "INSERT INTO location(id, asset_id, path, folder, name, root, size, mtime_ns, "
                                   "fast_hash, missing, first_seen, last_seen) VALUES "
                                   "(7, 1, '/p/Iceland/IMG_1.JPG', '/p/Iceland', 'IMG_1.JPG', '/p', 1, 0, '0', 0, "
                                   "'now', 'now'),"
                                   "(8, 1, '/q/Iceland/IMG_1.JPG', '/q/Iceland', 'IMG_1.JPG', '/q', 1, 0, '0', 1, "
                                   "'now', 'now'),"
                                   "(9, 2, '/p/Iceland/clip.mov', '/p/Iceland', 'clip.mov', '/p', 1, 0, '0', 0, "
                                   "'now', 'now');"
                                   "INSERT INTO location_fts(rowid, name, folders, meta) VALUES "
                                   "(7, 'IMG_1.JPG', ' p Iceland', 'photo jpeg Canon'),"
                                   "(8, 'IMG_1.JPG', ' q Iceland', 'photo jpeg Canon'),"
                                   "(9, 'clip.mov', ' p Iceland', 'video mov')"),
                     PK_OK);
    int v;
    assert_int_equal(pk_schema_version(s, &v), PK_OK);
    assert_int_equal(v, 4);
    pk_db_close(s);

    pk_catalog *cat;
    assert_int_equal(pk_catalog_open(f->ctx, f->db, 0, &cat), PK_OK);
    assert_int_equal(pk_schema_version(cat->store, &v), PK_OK);
    assert_int_equal(v, pk_catalog_schema_version());
    int64_t n;
    assert_int_equal(pk_db_query_int(cat->store, "SELECT count(*) FROM location_fts", -1, &n), PK_OK);
    assert_int_equal(n, 3);
    assert_int_equal(pk_db_query_int(cat->store,
                                     "SELECT count(*) FROM sqlite_master WHERE name = 'location_asset_missing'",
                                     -1, &n),
                     PK_OK);
    assert_int_equal(n, 1);
    /* ... and on through version 6: the face tables, empty. */
    assert_int_equal(pk_db_query_int(cat->store,
                                     "SELECT (SELECT count(*) FROM face) + (SELECT count(*) FROM face_scan) + "
                                     "(SELECT count(*) FROM person)",
                                     -1, &n),
                     PK_OK);
    assert_int_equal(n, 0);
    struct {
        pk_fts_phrase ph[3];
        size_t nph;
        int64_t want[3];
        size_t nwant;
    } cases[] = {
        {{{"iceland", PK_FTS_ANY, 1, 0}, {"photo", PK_FTS_TYPE, 0, 0}}, 2, {7, 8}, 2},
        {{{"iceland", PK_FTS_ANY, 1, 0}, {"video", PK_FTS_TYPE, 0, 0}}, 2, {9}, 1},
        {{{"img", PK_FTS_ANY, 1, 0}, {"canon eos", PK_FTS_CAMERA, 1, 0}, {"rf24", PK_FTS_LENS, 1, 0}}, 3, {7, 8}, 2},
        {{{"iceland", PK_FTS_ANY, 1, 0}, {"m201901", PK_FTS_DATE, 0, 0}}, 2, {9}, 1},
        {{{"iceland", PK_FTS_ANY, 1, 0}, {"d20240714", PK_FTS_DATE, 0, 0}}, 2, {7, 8}, 2},
        {{{"iceland", PK_FTS_ANY, 1, 0}, {"2023", PK_FTS_DATE, 0, 0}}, 2, {0}, 0},
        /* 6000 wide: 6000-6999; 90 s: 900 tenths, 900-999 tenths. */
        {{{"iceland", PK_FTS_ANY, 1, 0}, {"w4x6", PK_FTS_MEASURE, 0, 0}}, 2, {7, 8}, 2},
        {{{"iceland", PK_FTS_ANY, 1, 0}, {"t3x9", PK_FTS_MEASURE, 0, 0}}, 2, {9}, 1},
    };
    for (size_t c = 0; c < PK_ARRAY_LEN(cases); c++) {
        pk_fts_match m;
        assert_int_equal(pk_db_fts_match(cat->store, cases[c].ph, cases[c].nph, &m), PK_OK);
        pk_fts_hit hits[4];
        size_t got;
        assert_int_equal(pk_db_fts_top(cat->store, &m, NULL, 4, hits, &got, NULL), PK_OK);
        free(m.text);
        assert_int_equal(got, cases[c].nwant);
        for (size_t i = 0; i < got; i++) /* equal scores: in id order */
            assert_int_equal(hits[i].id, cases[c].want[i]);
    }
    pk_catalog_close(cat);
}

/* A version-5 catalogue (full text with filter columns, no faces) gains
 * the face tables in version 6 and keeps its rows; its full text is rebuilt
 * from them (version 8). */
static void test_upgrade_from_v5(void **state)
{
    fixture *f = *state;
    assert_int_equal(pk_catalog_schema_version(), 8);
    pk_db *s;
    assert_int_equal(pk_db_open(f->ctx, f->db, PK_DB_CREATE, &s), PK_OK);
    assert_int_equal(pk_schema_upgrade(s, 5, NULL), PK_OK);
    assert_int_equal(pk_db_exec(s, "INSERT INTO asset(id, sha256, size, type, created_at) "
                                   "VALUES (1, 'ab', 1, 'photo', 'now');"
                                   "INSERT INTO location(id, asset_id, path, folder, name, root, size, mtime_ns, "
                                   "fast_hash, first_seen, last_seen) VALUES (7, 1, '/p/IMG_1.JPG', '/p', "
                                   "'IMG_1.JPG', '/p', 1, 0, '0', 'now', 'now')"),
                     PK_OK);
    const char *text[PK_FTS_COLUMNS] = {"IMG_1.JPG", "p", "jpeg", "photo"};
    assert_int_equal(pk_db_fts_set(s, 7, text), PK_OK);
    int64_t n;
    assert_int_equal(pk_db_query_int(s, "SELECT count(*) FROM sqlite_master WHERE name = 'face'", -1, &n),
                     PK_OK);
    assert_int_equal(n, 0);
    int v;
    assert_int_equal(pk_schema_version(s, &v), PK_OK);
    assert_int_equal(v, 5);
    pk_db_close(s);

    pk_catalog *cat;
    assert_int_equal(pk_catalog_open(f->ctx, f->db, 0, &cat), PK_OK);
    assert_int_equal(pk_schema_version(cat->store, &v), PK_OK);
    assert_int_equal(v, pk_catalog_schema_version());
    assert_int_equal(pk_db_query_int(cat->store,
                                     "SELECT count(*) FROM sqlite_master WHERE name IN ('face', 'face_scan', "
                                     "'person', 'face_person', 'face_happy')",
                                     -1, &n),
                     PK_OK);
    assert_int_equal(n, 5);
    assert_int_equal(pk_db_query_int(cat->store, "SELECT count(*) FROM location", -1, &n), PK_OK);
    assert_int_equal(n, 1);
    pk_fts_phrase ph[] = {{"img", PK_FTS_ANY, 1, 0}, {"photo", PK_FTS_TYPE, 0, 0}};
    pk_fts_match m;
    assert_int_equal(pk_db_fts_match(cat->store, ph, PK_ARRAY_LEN(ph), &m), PK_OK);
    pk_fts_hit hits[2];
    size_t got;
    assert_int_equal(pk_db_fts_top(cat->store, &m, NULL, 2, hits, &got, NULL), PK_OK);
    free(m.text);
    assert_int_equal(got, 1);
    assert_int_equal(hits[0].id, 7);
    pk_catalog_close(cat);
}

typedef struct sentences_seen {
    int64_t ids[8];
    double scores[8];
    size_t n;
} sentences_seen;

static int note_sentence(void *user, const pk_transcript_hit *h)
{
    sentences_seen *s = user;
    if (s->n < 8) {
        s->ids[s->n] = h->id;
        s->scores[s->n++] = h->score;
    }
    return 0;
}

/* Sentences matching `words` (asset_id < 0: all, best first). */
static size_t find_sentences(pk_catalog *cat, const char *words, int prefix, int64_t asset_id,
                             sentences_seen *seen)
{
    pk_fts_phrase ph = {words, PK_FTS_ANY, prefix, 0};
    pk_fts_match m;
    assert_int_equal(pk_db_fts_match(cat->store, &ph, 1, &m), PK_OK);
    memset(seen, 0, sizeof *seen);
    assert_int_equal(pk_db_transcript_each(cat->store, &m, asset_id, note_sentence, seen), PK_OK);
    free(m.text);
    return seen->n;
}

/* A version-6 catalogue is upgraded to 7 keeping its rows; a transcript put
 * for a catalogued content is found by its words (a phrase only in order),
 * replaced by the next one, and refused for content the catalogue lacks. */
static void test_upgrade_from_v6_and_transcripts(void **state)
{
    fixture *f = *state;
    pk_db *s;
    assert_int_equal(pk_db_open(f->ctx, f->db, PK_DB_CREATE, &s), PK_OK);
    assert_int_equal(pk_schema_upgrade(s, 6, NULL), PK_OK);
    assert_int_equal(pk_db_exec(s, "INSERT INTO asset(id, sha256, size, type, created_at) VALUES "
                                   "(1, 'aa', 1, 'video', 'now'), (2, 'bb', 1, 'audio', 'now');"
                                   "INSERT INTO location(id, asset_id, path, folder, name, root, size, mtime_ns, "
                                   "fast_hash, first_seen, last_seen) VALUES (7, 1, '/p/a.mov', '/p', "
                                   "'a.mov', '/p', 1, 0, '0', 'now', 'now');"
                                   "INSERT INTO producer(name, version, params) VALUES ('x', '1', '')"),
                     PK_OK);
    int64_t n;
    assert_int_equal(pk_db_query_int(s, "SELECT count(*) FROM sqlite_master WHERE name = 'transcript'", -1, &n),
                     PK_OK);
    assert_int_equal(n, 0);
    pk_db_close(s);

    pk_catalog *cat;
    assert_int_equal(pk_catalog_open(f->ctx, f->db, 0, &cat), PK_OK);
    int v;
    assert_int_equal(pk_schema_version(cat->store, &v), PK_OK);
    assert_int_equal(v, pk_catalog_schema_version());
    assert_int_equal(pk_db_query_int(cat->store, "SELECT count(*) FROM location", -1, &n), PK_OK);
    assert_int_equal(n, 1);
    assert_int_equal(pk_db_query_int(cat->store, "SELECT count(*) FROM asset", -1, &n), PK_OK);
    assert_int_equal(n, 2);
    assert_int_equal(pk_db_query_int(cat->store, "SELECT count(*) FROM producer", -1, &n), PK_OK);
    assert_int_equal(n, 1);

    pk_catalog_transcriber by = {"pocketsphinx", "en-us", "1", "00"};
    const pk_catalog_sentence a[] = {{1.5, 3.0, "My fellow Americans, ask not."},
                                     {4.0, 6.5, "Americans and all their fellow citizens here."},
                                     {7.0, 8.0, "Réykjavík is cold, fellow travellers."}};
    int catalogued = -1;
    assert_int_equal(pk_catalog_put_transcript(cat, "aa", &by, a, 3, &catalogued), PK_OK);
    assert_int_equal(catalogued, 1);
    assert_int_equal(pk_catalog_put_transcript(cat, "zz", &by, a, 3, &catalogued), PK_OK);
    assert_int_equal(catalogued, 0);
    assert_int_equal(pk_db_query_int(cat->store, "SELECT count(*) FROM transcript", -1, &n), PK_OK);
    assert_int_equal(n, 3);

    sentences_seen seen;
    assert_int_equal(find_sentences(cat, "fellow americans", 0, -1, &seen), 1);
    assert_int_equal(seen.ids[0], 1);
    assert_int_equal(find_sentences(cat, "americans fellow", 0, -1, &seen), 0);
    assert_int_equal(find_sentences(cat, "reykjavik", 0, 1, &seen), 1);   /* accents folded */
    assert_int_equal(find_sentences(cat, "travel", 1, 1, &seen), 1);      /* a word prefix */
    assert_int_equal(find_sentences(cat, "fellow", 0, 2, &seen), 0);      /* another asset */
    /* Best first by BM25: the longest sentence last. */
    assert_int_equal(find_sentences(cat, "fellow", 0, -1, &seen), 3);
    assert_true(seen.scores[0] >= seen.scores[1] && seen.scores[1] > seen.scores[2]);
    assert_int_equal(seen.ids[2], 2);
    /* In time order for one asset. */
    assert_int_equal(find_sentences(cat, "fellow", 0, 1, &seen), 3);
    assert_true(seen.ids[0] < seen.ids[1] && seen.ids[1] < seen.ids[2]);

    /* A new transcript replaces the old one, its words and index included. */
    const pk_catalog_sentence b[] = {{0.5, 2.0, "An entirely different speech."}};
    assert_int_equal(pk_catalog_put_transcript(cat, "aa", &by, b, 1, &catalogued), PK_OK);
    assert_int_equal(find_sentences(cat, "fellow", 0, -1, &seen), 0);
    assert_int_equal(find_sentences(cat, "different speech", 0, -1, &seen), 1);
    assert_int_equal(pk_db_query_int(cat->store, "SELECT count(*) FROM transcript", -1, &n), PK_OK);
    assert_int_equal(n, 1);
    assert_int_equal(pk_db_exec(cat->store, "INSERT INTO transcript_fts(transcript_fts) VALUES ('integrity-check')"),
                     PK_OK);
    pk_catalog_close(cat);
}

/* Locations matching a full-text filter on the measure column alone
 * (with a word every location has: its type). */
static size_t find_measure(pk_catalog *cat, const char *word, int64_t *ids, size_t max)
{
    pk_fts_phrase ph[] = {{word, PK_FTS_MEASURE, 0, 0}, {"video", PK_FTS_ANY, 1, 0}};
    pk_fts_match m;
    assert_int_equal(pk_db_fts_match(cat->store, ph, 2, &m), PK_OK);
    pk_fts_hit hits[8];
    size_t got;
    assert_int_equal(pk_db_fts_top(cat->store, &m, NULL, max, hits, &got, NULL), PK_OK);
    free(m.text);
    for (size_t i = 0; i < got; i++)
        ids[i] = hits[i].id;
    return got;
}

/* A version-7 catalogue (widths, heights, durations as coarse bucket
 * words) is upgraded to 8: its full text is rebuilt from the tables with
 * the digit words, the old words are gone, and its transcripts stay. */
static void test_upgrade_from_v7(void **state)
{
    fixture *f = *state;
    pk_db *s;
    assert_int_equal(pk_db_open(f->ctx, f->db, PK_DB_CREATE, &s), PK_OK);
    assert_int_equal(pk_schema_upgrade(s, 7, NULL), PK_OK);
    assert_int_equal(pk_db_exec(s, "INSERT INTO asset(id, sha256, size, type, format, width, height, duration, "
                                   "created_at) VALUES (1, 'aa', 1, 'video', 'mov', 3840, 2160, 90.5, 'now'), "
                                   "(2, 'bb', 1, 'video', 'mov', 1920, 1080, 12, 'now');"
                                   "INSERT INTO location(id, asset_id, path, folder, name, root, size, mtime_ns, "
                                   "fast_hash, first_seen, last_seen) VALUES "
                                   "(7, 1, '/p/a.mov', '/p', 'a.mov', '/p', 1, 0, '0', 'now', 'now'),"
                                   "(8, 2, '/p/b.mov', '/p', 'b.mov', '/p', 1, 0, '0', 'now', 'now');"
                                   "INSERT INTO producer(id, name, version, params) VALUES (1, 'x', '1', '');"
                                   "INSERT INTO transcript(asset_id, producer_id, start_time, end_time, text) "
                                   "VALUES (1, 1, 0.5, 2, 'the harbour lights');"
                                   "INSERT INTO transcript_fts(rowid, text) SELECT id, text FROM transcript"),
                     PK_OK);
    /* The full text as version 7 wrote it: bucket words. */
    const char *a[PK_FTS_COLUMNS] = {"a.mov", "p", "mov", "video", "", "", "", "w7 h5 t5"};
    const char *b[PK_FTS_COLUMNS] = {"b.mov", "p", "mov", "video", "", "", "", "w4 h2 t3"};
    assert_int_equal(pk_db_fts_set(s, 7, a), PK_OK);
    assert_int_equal(pk_db_fts_set(s, 8, b), PK_OK);
    pk_db_close(s);

    pk_catalog *cat;
    assert_int_equal(pk_catalog_open(f->ctx, f->db, 0, &cat), PK_OK);
    int v;
    assert_int_equal(pk_schema_version(cat->store, &v), PK_OK);
    assert_int_equal(v, 8);
    int64_t ids[8];
    assert_int_equal(find_measure(cat, "w7", ids, 8), 0);      /* old words gone */
    assert_int_equal(find_measure(cat, "w4x3840", ids, 8), 1); /* width 3840 */
    assert_int_equal(ids[0], 7);
    assert_int_equal(find_measure(cat, "h4x1", ids, 8), 1);    /* height 1000-1999 */
    assert_int_equal(ids[0], 8);
    assert_int_equal(find_measure(cat, "t3x905", ids, 8), 1);  /* 90.5 s */
    assert_int_equal(ids[0], 7);
    assert_int_equal(find_measure(cat, "t3", ids, 8), 2);      /* 100-999 tenths */
    int64_t n;
    assert_int_equal(pk_db_query_int(cat->store, "SELECT count(*) FROM location_fts", -1, &n), PK_OK);
    assert_int_equal(n, 2);
    assert_int_equal(pk_db_query_int(cat->store, "SELECT count(*) FROM transcript", -1, &n), PK_OK);
    assert_int_equal(n, 1);
    sentences_seen seen;
    assert_int_equal(find_sentences(cat, "harbour", 0, -1, &seen), 1);
    assert_int_equal(pk_db_exec(cat->store, "INSERT INTO location_fts(location_fts) VALUES ('integrity-check')"),
                     PK_OK);
    pk_catalog_close(cat);
}

/* Results a generated asset gives: none for every third (its files fail
 * the filters), one or two otherwise. */
static int weigh_generated(void *user, int64_t asset_id)
{
    (*(int *)user)++;
    return asset_id % 3 == 0 ? 0 : (int)(asset_id % 2) + 1;
}

typedef struct best_of {
    double best[64];
    int64_t sentences;
} best_of;

static int note_best(void *user, const pk_transcript_hit *h)
{
    best_of *b = user;
    b->sentences++;
    if (h->asset_id > 0 && h->asset_id < 64 && h->score > b->best[h->asset_id])
        b->best[h->asset_id] = h->score;
    return 0;
}

/* pk_db_transcript_top ranks assets by their best sentence exactly as
 * FTS5's bm25() over every sentence does, and returns the fewest best ones
 * whose results fill the limit. */
static void test_transcript_top(void **state)
{
    fixture *f = *state;
    pk_catalog *cat;
    assert_int_equal(pk_catalog_open(f->ctx, f->db, 1, &cat), PK_OK);
    static const char *const vocab[] = {"fellow", "americans", "budget", "wedding", "snow", "coast",
                                        "the", "a", "and", "my", "fellow americans"};
    enum { ASSETS = 40 };
    uint64_t seed = 7;
    pk_catalog_transcriber by = {"pocketsphinx", "en-us", "", ""};
    for (int a = 1; a <= ASSETS; a++) {
        char sql[160];
        snprintf(sql, sizeof sql, "INSERT INTO asset(id, sha256, size, type, created_at) "
                                  "VALUES (%d, 's%d', 1, 'video', 'now')", a, a);
        assert_int_equal(pk_db_exec(cat->store, sql), PK_OK);
        char text[20][256];
        pk_catalog_sentence sent[20];
        int n = 3 + (int)(next_random(&seed) % 15);
        for (int i = 0; i < n; i++) {
            text[i][0] = '\0';
            int words = 1 + (int)(next_random(&seed) % 12);
            for (int w = 0; w < words; w++) {
                strcat(text[i], vocab[next_random(&seed) % PK_ARRAY_LEN(vocab)]);
                strcat(text[i], " ");
            }
            sent[i] = (pk_catalog_sentence){i, i + 0.5, text[i]};
        }
        char sha[8];
        snprintf(sha, sizeof sha, "s%d", a);
        int catalogued;
        assert_int_equal(pk_catalog_put_transcript(cat, sha, &by, sent, (size_t)n, &catalogued), PK_OK);
        assert_int_equal(catalogued, 1);
    }
    const pk_fts_phrase queries[][2] = {{{"fellow", PK_FTS_ANY, 0, 0}},
                                        {{"fellow americans", PK_FTS_ANY, 0, 0}},
                                        {{"wed", PK_FTS_ANY, 1, 0}},
                                        {{"budget", PK_FTS_ANY, 0, 0}, {"snow", PK_FTS_ANY, 0, 0}},
                                        {{"the", PK_FTS_ANY, 0, 0}, {"fellow", PK_FTS_ANY, 1, 0}},
                                        {{"elephant", PK_FTS_ANY, 0, 0}}};
    const size_t nphrases[] = {1, 1, 1, 2, 2, 1};
    const size_t limits[] = {1, 2, 5, 50};
    for (size_t qi = 0; qi < PK_ARRAY_LEN(nphrases); qi++) {
        pk_fts_match m;
        assert_int_equal(pk_db_fts_match(cat->store, queries[qi], nphrases[qi], &m), PK_OK);
        best_of ref = {{0}, 0};
        assert_int_equal(pk_db_transcript_each(cat->store, &m, -1, note_best, &ref), PK_OK);
        for (size_t li = 0; li < PK_ARRAY_LEN(limits); li++) {
            size_t limit = limits[li];
            /* By brute force: assets by their best sentence, best first,
             * until their results reach the limit. */
            int64_t order[ASSETS];
            size_t norder = 0;
            for (int a = 1; a <= ASSETS; a++)
                if (ref.best[a] > 0 && a % 3 != 0)
                    order[norder++] = a;
            for (size_t i = 1; i < norder; i++)
                for (size_t j = i; j > 0 && ref.best[order[j]] > ref.best[order[j - 1]]; j--) {
                    int64_t x = order[j];
                    order[j] = order[j - 1];
                    order[j - 1] = x;
                }
            size_t want = 0, held = 0;
            while (want < norder && held < limit)
                held += (size_t)(order[want++] % 2) + 1;
            pk_transcript_asset got[50];
            size_t n = 99;
            int64_t matches = -1;
            int weighed = 0;
            assert_int_equal(pk_db_transcript_top(cat->store, &m, limit, weigh_generated, &weighed, got, &n,
                                                  &matches),
                             PK_OK);
            assert_int_equal(matches, ref.sentences);
            assert_int_equal(n, want);
            for (size_t i = 0; i < n; i++) {
                assert_true(fabs(got[i].score - ref.best[order[i]]) < 1e-9);         /* same ranks */
                assert_true(fabs(got[i].score - ref.best[got[i].asset_id]) < 1e-9); /* its best */
                assert_int_equal(got[i].hits, weigh_generated(&weighed, got[i].asset_id));
            }
            if (qi == 0 && limit == 1)
                assert_true(weighed < ASSETS / 2); /* not every asset looked at */
        }
        free(m.text);
    }
    pk_catalog_close(cat);
}

static int ignore_id(void *user, int64_t id)
{
    (void)user;
    (void)id;
    return 0;
}

/* pk_db_fts_top returns FTS5's own bm25() order and scores (weights 10, 4,
 * 1...), words in filter columns not counted, when few rows match; with a
 * check statement, only the rows it passes. */
static void test_fts_top_is_bm25(void **state)
{
    fixture *f = *state;
    pk_catalog *cat;
    assert_int_equal(pk_catalog_open(f->ctx, f->db, 1, &cat), PK_OK);
    static const char *const vocab[] = {"iceland", "paris", "sunset", "glacier", "img", "wedding",
                                        "iceberg", "dsc", "beach", "night"};
    uint64_t seed = 42;
    assert_int_equal(pk_db_begin(cat->store, 1), PK_OK);
    for (int64_t id = 1; id <= 60; id++) {
        char col[3][128] = {"", "", ""};
        for (int c = 0; c < 3; c++) {
            int words = 1 + (int)(next_random(&seed) % (c == 0 ? 2 : 6));
            for (int w = 0; w < words; w++) {
                strcat(col[c], vocab[next_random(&seed) % PK_ARRAY_LEN(vocab)]);
                strcat(col[c], " ");
            }
        }
        const char *text[PK_FTS_COLUMNS] = {col[0], col[1], col[2], id % 3 ? "photo" : "video"};
        assert_int_equal(pk_db_fts_set(cat->store, id, text), PK_OK);
    }
    assert_int_equal(pk_db_commit(cat->store), PK_OK);
    const char *queries[][3] = {{"iceland", NULL, NULL},      {"ice", NULL, NULL},
                                {"paris", "sunset", NULL},    {"glacier", "night", "img"},
                                {"wedding", "beach", NULL}};
    for (int check = 0; check <= 1; check++)
        for (size_t qi = 0; qi < PK_ARRAY_LEN(queries); qi++) {
            pk_fts_phrase ph[4];
            size_t nph = 0;
            for (int w = 0; w < 3 && queries[qi][w]; w++)
                ph[nph++] = (pk_fts_phrase){queries[qi][w], PK_FTS_ANY, 1, 0};
            pk_fts_match m;
            assert_int_equal(pk_db_fts_match(cat->store, ph, nph, &m), PK_OK);
            pk_stmt *keep = NULL;
            if (check)
                assert_int_equal(pk_db_prepare(cat->store, "SELECT 1 WHERE ?1 % 2 = 0", &keep), PK_OK);
            pk_fts_hit hits[8];
            size_t got;
            pk_fts_stats stats;
            assert_int_equal(pk_db_fts_top(cat->store, &m, keep, 8, hits, &got, &stats), PK_OK);
            assert_true(stats.exact);
            pk_stmt *ref;
            char sql[256];
            snprintf(sql, sizeof sql,
                     "SELECT rowid, -bm25(location_fts, 10, 4, 1, 1, 1, 1, 1, 1) AS s FROM location_fts "
                     "WHERE location_fts MATCH ?%s ORDER BY s DESC, rowid LIMIT 8",
                     check ? " AND rowid % 2 = 0" : "");
            assert_int_equal(pk_db_prepare(cat->store, sql, &ref), PK_OK);
            pk_stmt_bind_text(ref, 1, m.text);
            size_t want = 0;
            while (pk_stmt_step(ref) == 1) {
                assert_true(want < got);
                assert_int_equal(hits[want].id, pk_stmt_int(ref, 0));
                assert_true(fabs(hits[want].score - pk_stmt_double(ref, 1)) < 1e-9);
                want++;
            }
            assert_int_equal(got, want);
            assert_true(want > 0);
            pk_stmt_free(ref);
            pk_stmt_free(keep);
            int64_t each = 0;
            assert_int_equal(pk_db_fts_each(cat->store, &m, ignore_id, NULL, &each), PK_OK);
            assert_int_equal(each, stats.matches);
            free(m.text);
        }
    pk_catalog_close(cat);
}

/* The number words of one value: its digit count, then each prefix. */
static void test_measure_words(void **state)
{
    (void)state;
    pk_measure_word w[PK_MEASURE_WORDS];
    assert_int_equal(pk_measure_words('w', 3840, w), 5);
    const char *want[] = {"w4", "w4x3", "w4x38", "w4x384", "w4x3840"};
    for (int i = 0; i < 5; i++)
        assert_string_equal(w[i], want[i]);
    assert_int_equal(pk_measure_words('t', 90.05, w), 4); /* 900 tenths */
    assert_string_equal(w[0], "t3");
    assert_string_equal(w[3], "t3x900");
    assert_int_equal(pk_measure_words('t', 0.04, w), 2);  /* 0 tenths */
    assert_string_equal(w[1], "t1x0");
    assert_int_equal(pk_measure_words('h', 999999999, w), 10);
    assert_string_equal(w[9], "h9x999999999");
    assert_int_equal(pk_measure_words('w', 1e9, w), 1);   /* huge: one word */
    assert_string_equal(w[0], "w10");
    assert_int_equal(pk_measure_words('w', 1e300, w), 1);
    assert_int_equal(pk_measure_words('w', 0, w), 0);
    assert_int_equal(pk_measure_words('w', -5, w), 0);
    assert_int_equal(pk_measure_words('t', NAN, w), 0);
    assert_int_equal(pk_measure_words('t', INFINITY, w), 0);
    /* As the index writes them, in the measure column. */
    pk_asset_meta m;
    pk_asset_meta_from_probe(NULL, &m);
    m.width = 640;
    m.height = 360;
    m.duration = 2.5;
    pk_fts_doc d;
    assert_int_equal(pk_fts_doc_make(&d, "a.mp4", "/x", "video", &m), 0);
    assert_string_equal(d.text[PK_FTS_MEASURE],
                        "w3 w3x6 w3x64 w3x640 h3 h3x3 h3x36 h3x360 t2 t2x2 t2x25");
    pk_fts_doc_free(&d);
}

static int passes(double v, const char *op, double num)
{
    return !strcmp(op, ">=") ? v >= num
           : !strcmp(op, ">") ? v > num
           : !strcmp(op, "<=") ? v <= num
           : !strcmp(op, "<") ? v < num
                              : v == num;
}

/* Every value passing a comparison has one of its covering words; with
 * whole numbers no failing value has one; with durations only values of
 * the bound's own tenth of a second (or huge values) may. Bounds at, just
 * below and just above the values, fractions, 0 and huge ones. */
static void test_measure_cover(void **state)
{
    (void)state;
    static const double sizes[] = {1,    2,    9,    10,   11,   99,   100,  101,  639,  640,  641,
                                   999,  1000, 1001, 1079, 1080, 1081, 3839, 3840, 3841, 3999, 4000,
                                   4001, 8999, 9000, 9001, 9504, 9999, 10000, 10001, 65535, 99999,
                                   100000, 999999999, 1e9, 1e9 + 1, 4e9, 1e15};
    static const double times[] = {0.01, 0.04, 0.05, 0.1,  0.15, 0.9,   0.95, 1,     1.05, 5,
                                   9.99, 10,   29.9, 30,   59.9, 59.95, 60,   60.04, 60.05, 60.1,
                                   60.5, 61,   90,   120,  299.99, 300, 300.01, 3599.9, 3600, 7200.5,
                                   99999999.9, 1e8, 1e9, 1e12};
    static const double extra[] = {0, -1, 0.5, 3840.5, 59.5, 60.25, 1e300, -1e300};
    static const char *const ops[] = {">=", ">", "<=", "<", "="};
    pk_measure_word cover[100], words[PK_MEASURE_WORDS];
    for (int k = 0; k < 2; k++) {
        char kind = k ? 't' : 'w';
        const double *vals = k ? times : sizes;
        size_t nvals = k ? PK_ARRAY_LEN(times) : PK_ARRAY_LEN(sizes);
        for (size_t b = 0; b < nvals + PK_ARRAY_LEN(extra); b++) {
            double num = b < nvals ? vals[b] : extra[b - nvals];
            for (size_t o = 0; o < PK_ARRAY_LEN(ops); o++) {
                int exact = -1;
                int n = pk_measure_cover(kind, ops[o], num, cover, 100, &exact);
                assert_true(n >= 0 && n <= 91);
                assert_int_equal(exact, k == 0 && num < 1e9 ? 1 : exact);
                for (size_t i = 0; i < nvals; i++) {
                    /* the values themselves and their neighbours */
                    for (int step = -1; step <= 1; step++) {
                        double v = vals[i] + step * (k ? 0.01 : 1);
                        int nw = pk_measure_words(kind, v, words), hit = 0;
                        for (int a = 0; a < nw && !hit; a++)
                            for (int c = 0; c < n && !hit; c++)
                                hit = !strcmp(words[a], cover[c]);
                        int pass = passes(v, ops[o], num);
                        if (nw && pass && !hit)
                            fail_msg("%c %g: passes %s %g but has no word of its cover", kind, v, ops[o], num);
                        if (hit && !pass && exact)
                            fail_msg("%c %g: fails %s %g but has a word of its exact cover", kind, v, ops[o],
                                     num);
                        if (hit && !pass && !(floor(v * 10) == floor(num * 10) || v >= 1e8))
                            fail_msg("%c %g: fails %s %g outside the edge tenth", kind, v, ops[o], num);
                    }
                }
            }
        }
    }
    int exact;
    /* A bound at a round number is a few words: 9000-9999 and every
     * longer number. */
    assert_int_equal(pk_measure_cover('w', ">=", 9000, cover, 100, &exact), 7);
    assert_string_equal(cover[0], "w10");
    assert_string_equal(cover[1], "w4x9");
    assert_string_equal(cover[2], "w5");
    assert_int_equal(exact, 1);
    assert_int_equal(pk_measure_cover('w', "=", 3840, cover, 100, &exact), 1);
    assert_string_equal(cover[0], "w4x3840");
    assert_int_equal(pk_measure_cover('w', "=", 3840.5, cover, 100, &exact), 0);
    assert_int_equal(pk_measure_cover('w', "<", 1, cover, 100, &exact), 1); /* 0 wide: no row */
    assert_int_equal(pk_measure_cover('w', "<", 0, cover, 100, &exact), 0);
    assert_int_equal(pk_measure_cover('t', ">", 60, cover, 100, &exact), 11); /* 600-999 tenths: 4, longer: 7 */
    assert_int_equal(exact, 0);
    assert_int_equal(pk_measure_cover('w', ">", 1e9, cover, 100, &exact), 1);
    assert_int_equal(exact, 0);
    assert_int_equal(pk_measure_cover('w', ">=", 1, cover, 3, &exact), -1); /* more than max */
}

/* The centre hash of a picture turned by an angle matches the original's
 * centre hash turned back. */
static void test_centre_hash_turns(void **state)
{
    (void)state;
    uint8_t a[PK_PRINT_CENTRE * PK_PRINT_CENTRE], b[PK_PRINT_CENTRE * PK_PRINT_CENTRE];
    uint64_t seed = 12345;
    for (int i = 0; i < PK_PRINT_CENTRE * PK_PRINT_CENTRE; i++) /* smooth random picture */
        a[i] = (uint8_t)(128 + 60 * sin((i % 32) / 5.0 + (i / 32) / 7.0) + (next_random(&seed) % 8));
    /* b = a turned by a quarter turn: transform 1 of the hash at 0 degrees. */
    for (int y = 0; y < 32; y++)
        for (int x = 0; x < 32; x++)
            b[y * 32 + x] = a[(31 - x) * 32 + y];
    int best = 64;
    for (int t = 0; t < 8; t++) {
        int d = pk_hamming(pk_centre_hash(a, 0, t), pk_centre_hash(b, 0, 0));
        best = d < best ? d : best;
    }
    assert_true(best <= 2);
}

/* The fast hash of a file read once into memory is the one pk_fast_hash
 * reads from disk (head and tail), at every size boundary: otherwise a
 * touched file would look changed at the next index. Also the whole-file
 * read and the in-memory SHA-256. */
static void test_fast_hash_of_buffer(void **state)
{
    fixture *f = *state;
    static const size_t sizes[] = {0, 1, 1000, 65535, 65536, 65537, 100000, 131072, 131073, 300001};
    enum { MAX = 300001 };
    unsigned char *bytes = malloc(MAX);
    assert_non_null(bytes);
    for (size_t i = 0; i < MAX; i++)
        bytes[i] = (unsigned char)(i * 2654435761u >> 13);
    char path[128];
    snprintf(path, sizeof path, "%s/bytes.bin", f->dir);
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        FILE *out = fopen(path, "wb");
        assert_non_null(out);
        assert_int_equal(fwrite(bytes, 1, sizes[k], out), sizes[k]);
        assert_int_equal(fclose(out), 0);
        char from_file[17], from_memory[17], sha_file[65], sha_memory[65];
        assert_int_equal(pk_fast_hash(f->ctx, path, from_file), PK_OK);
        unsigned char *data = NULL;
        size_t len = 0;
        assert_int_equal(pk_read_content(f->ctx, path, MAX, &data, &len), PK_OK);
        assert_true(data != NULL && len == sizes[k]);
        pk_fast_hash_buffer(data, len, from_memory);
        assert_string_equal(from_file, from_memory);
        assert_int_equal(pk_sha256_file(f->ctx, path, sha_file), PK_OK);
        assert_int_equal(pk_sha256_buffer(f->ctx, path, data, len, sha_memory), PK_OK);
        assert_string_equal(sha_file, sha_memory);
        free(data);
    }
    /* Larger than the limit: not read, not an error. */
    unsigned char *data = bytes;
    size_t len = 1;
    assert_int_equal(pk_read_content(f->ctx, path, 1000, &data, &len), PK_OK);
    assert_null(data);
    assert_int_equal(len, 0);
    free(bytes);
}

/* ---- search plans: filters checked per row or narrowing the full text ---- */

typedef struct search_out {
    int64_t ids[4096];
    double ranks[4096];
    size_t n;
    int per_row, narrowed; /* the plans the debug log told of */
} search_out;

static void keep_record(void *user, const pk_op *op, json_t *r)
{
    (void)op;
    search_out *o = user;
    if (o->n < PK_ARRAY_LEN(o->ids)) {
        o->ids[o->n] = json_integer_value(json_object_get(r, "location_id"));
        o->ranks[o->n++] = json_real_value(json_object_get(r, "rank"));
    }
}

static void note_plan(void *user, pk_log_level level, const char *message)
{
    search_out *o = user;
    if (level == PK_LOG_DEBUG && strstr(message, "checking them per row"))
        o->per_row = 1;
    if (level == PK_LOG_DEBUG && strstr(message, "narrowing by them"))
        o->narrowed = 1;
}

static void run_search(fixture *f, const char *query, const char *limit, search_out *o)
{
    memset(o, 0, sizeof *o);
    const pk_op *op = pk_op_find("search");
    assert_non_null(op);
    pk_args *a;
    assert_int_equal(pk_args_new(f->ctx, op, &a), PK_OK);
    assert_int_equal(pk_args_set(f->ctx, a, "catalog", f->db), PK_OK);
    assert_int_equal(pk_args_set(f->ctx, a, "limit", limit), PK_OK);
    assert_int_equal(pk_args_add_input(f->ctx, a, query), PK_OK);
    assert_int_equal(pk_args_finish(f->ctx, a), PK_OK);
    pk_ctx_set_log(f->ctx, note_plan, o);
    pk_sink sink = {keep_record, NULL, o};
    assert_int_equal(pk_op_run(f->ctx, op, a, &sink), PK_OK);
    pk_ctx_set_log(f->ctx, NULL, NULL);
    pk_args_free(a);
}

/* Generated rows: `rows` locations of as many assets, file names of one to
 * four words from a small vocabulary; the word "img" in the name of
 * `img_share` percent of them, whose widths exceed 4000 only one time in
 * `img_wide`; the other rows' widths mostly exceed it. One name in 50 ends
 * with the narrow word "aurora". */
static void generate_rows(fixture *f, int rows, int img_share, int img_wide)
{
    pk_catalog *cat;
    assert_int_equal(pk_catalog_open(f->ctx, f->db, 1, &cat), PK_OK);
    static const char *const vocab[] = {"iceland", "paris", "sunset", "glacier", "wedding", "beach", "night"};
    static const char *const types[] = {"photo", "photo", "photo", "video", "audio"};
    uint64_t seed = 7;
    pk_stmt *ins;
    assert_int_equal(pk_db_prepare(cat->store,
                                   "INSERT INTO asset(id, sha256, size, type, width, height, duration, captured, "
                                   "created_at) VALUES (?1, printf('%064d', ?1), 1, ?2, ?3, ?4, ?5, ?6, 'now')",
                                   &ins),
                     PK_OK);
    pk_stmt *loc;
    assert_int_equal(pk_db_prepare(cat->store,
                                   "INSERT INTO location(id, asset_id, path, folder, name, root, size, mtime_ns, "
                                   "fast_hash, first_seen, last_seen) VALUES (?1, ?1, '/p/' || ?1 || '/' || ?2, "
                                   "'/p/' || ?1, ?2, '/', 1, 0, '0', 'now', 'now')",
                                   &loc),
                     PK_OK);
    assert_int_equal(pk_db_begin(cat->store, 1), PK_OK);
    for (int64_t id = 1; id <= rows; id++) {
        int img = (int)(next_random(&seed) % 100) < img_share;
        char name[160] = "";
        int words = 1 + (int)(next_random(&seed) % 4), at = img ? (int)(next_random(&seed) % (uint64_t)words) : -1;
        for (int w = 0; w < words; w++) {
            strcat(name, w == at ? "img" : vocab[next_random(&seed) % PK_ARRAY_LEN(vocab)]);
            strcat(name, w + 1 < words ? "_" : id % 50 ? ".jpg" : "_aurora.jpg");
        }
        const char *type = types[next_random(&seed) % PK_ARRAY_LEN(types)];
        int64_t width = img ? (next_random(&seed) % (uint64_t)img_wide ? 1000 + (int64_t)(next_random(&seed) % 3000)
                                                                   : 4001 + (int64_t)(next_random(&seed) % 5000))
                            : (next_random(&seed) % 8 ? 4001 + (int64_t)(next_random(&seed) % 5000) : 3000);
        int64_t height = 500 + (int64_t)(next_random(&seed) % 6000);
        double duration = strcmp(type, "photo") ? (double)(next_random(&seed) % 3000) / 10 : 0;
        char captured[32];
        snprintf(captured, sizeof captured, "%04d-%02d-%02dT12:00:00", 2015 + (int)(next_random(&seed) % 10),
                 1 + (int)(next_random(&seed) % 12), 1 + (int)(next_random(&seed) % 28));
        pk_stmt_reset(ins);
        pk_stmt_bind_int(ins, 1, id);
        pk_stmt_bind_text(ins, 2, type);
        pk_stmt_bind_int(ins, 3, width);
        pk_stmt_bind_int(ins, 4, height);
        if (duration > 0)
            pk_stmt_bind_double(ins, 5, duration);
        else
            pk_stmt_bind_null(ins, 5);
        pk_stmt_bind_text(ins, 6, captured);
        assert_true(pk_stmt_step(ins) == 0);
        pk_stmt_reset(loc);
        pk_stmt_bind_int(loc, 1, id);
        pk_stmt_bind_text(loc, 2, name);
        assert_true(pk_stmt_step(loc) == 0);
        pk_asset_meta m = {.type = type, .captured = captured, .width = width, .height = height,
                           .duration = duration};
        char folder[32];
        snprintf(folder, sizeof folder, "/p/%lld", (long long)id);
        assert_int_equal(pk_catalog_fts_set(cat->store, id, name, folder, type, &m), PK_OK);
    }
    assert_int_equal(pk_db_commit(cat->store), PK_OK);
    pk_stmt_free(ins);
    pk_stmt_free(loc);
    pk_catalog_close(cat);
}

/* The rows FTS5 ranks for `word` (bm25 with postkit's weights), keeping
 * those passing SQL condition `where` over asset a: ids best first, and
 * scores. */
static size_t reference_search(fixture *f, const char *word, const char *where, int64_t *ids, double *scores,
                               size_t max)
{
    pk_catalog *cat;
    assert_int_equal(pk_catalog_open(f->ctx, f->db, 0, &cat), PK_OK);
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT f.rowid, -bm25(location_fts, 10, 4, 1, 1, 1, 1, 1, 1) AS s FROM location_fts f "
             "JOIN location l ON l.id = f.rowid JOIN asset a ON a.id = l.asset_id "
             "WHERE location_fts MATCH '\"%s\"*' AND %s ORDER BY s DESC, f.rowid",
             word, where);
    pk_stmt *q;
    assert_int_equal(pk_db_prepare(cat->store, sql, &q), PK_OK);
    size_t n = 0;
    while (n < max && pk_stmt_step(q) == 1) {
        ids[n] = pk_stmt_int(q, 0);
        scores[n++] = pk_stmt_double(q, 1);
    }
    pk_stmt_free(q);
    pk_catalog_close(cat);
    return n;
}

typedef struct search_case {
    const char *query, *word, *where;
} search_case;

/* Run c's query (limit 4096) into *o and assert that it returns the rows
 * of reference_search in its order, and its scores when `scores`. Returns
 * how many. */
static size_t expect_reference(fixture *f, const search_case *c, int scores, search_out *o)
{
    static int64_t want[4096];
    static double score[4096];
    run_search(f, c->query, "4096", o);
    size_t n = reference_search(f, c->word, c->where, want, score, 4096);
    assert_int_equal(o->n, n);
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(o->ids[k], want[k]);
        if (scores)
            assert_true(fabs(o->ranks[k] - score[k]) < 1e-3); /* ranks are rounded to 4 places */
    }
    return n;
}

/* Broad filters are checked per row (the words drive): exactly FTS5's
 * ranking of the word over the rows the SQL filter passes, scores included
 * (a one-word query's idf is the word's own). */
static void test_search_filters_checked_per_row(void **state)
{
    fixture *f = *state;
    generate_rows(f, 1500, 30, 1);
    static const search_case cases[] = {
        {"img width:>4000", "img", "a.width > 4000"},
        {"img type:photo", "img", "a.type = 'photo'"},
        {"iceland width:>=3000 height:<6000", "iceland", "a.width >= 3000 AND a.height < 6000"},
        {"sunset date:2016..2024", "sunset", "a.captured >= '2016-01-01' AND a.captured < '2024-12-31\x7f'"},
        {"night type:photo width:<=8000", "night", "a.type = 'photo' AND a.width <= 8000"},
    };
    search_out *o = malloc(sizeof *o);
    for (size_t i = 0; i < PK_ARRAY_LEN(cases); i++) {
        assert_true(expect_reference(f, &cases[i], 1, o) > 20);
        assert_true(o->per_row);
        assert_false(o->narrowed);
    }
    /* A narrow word: the full text narrows by the filter as before. */
    const search_case narrow = {"aurora width:>4000", "aurora", "a.width > 4000"};
    assert_true(expect_reference(f, &narrow, 0, o) > 5);
    assert_false(o->per_row);
    free(o);
}

/* missing: is tested from a set of the missing locations read once; the
 * same rows as SQL's test, for yes, no and both. */
static void test_search_missing_set(void **state)
{
    fixture *f = *state;
    generate_rows(f, 1500, 30, 1);
    pk_catalog *cat;
    assert_int_equal(pk_catalog_open(f->ctx, f->db, 0, &cat), PK_OK);
    assert_int_equal(pk_db_exec(cat->store, "UPDATE location SET missing = 1 WHERE id % 7 = 3"), PK_OK);
    pk_catalog_close(cat);
    static const search_case cases[] = {
        {"img missing:yes", "img", "l.missing = 1"},
        {"sunset missing:no", "sunset", "l.missing = 0"},
        {"img width:>4000 missing:yes", "img", "a.width > 4000 AND l.missing = 1"},
        {"img missing:yes missing:no", "img", "0"},
    };
    search_out *o = malloc(sizeof *o);
    for (size_t i = 0; i < PK_ARRAY_LEN(cases); i++)
        expect_reference(f, &cases[i], 0, o);
    free(o);
}

/* A filter most of the catalogue passes but few rows of the word do: the
 * per-row check gives up and the full text narrows by it; the same rows in
 * the same order. */
static void test_search_filter_check_gives_up(void **state)
{
    fixture *f = *state;
    generate_rows(f, 4000, 60, 50);
    static int64_t want[4096];
    static double score[4096];
    size_t n = reference_search(f, "img", "a.width > 4000", want, score, 4096);
    assert_true(n > 10 && n < 100);
    search_out *o = malloc(sizeof *o);
    run_search(f, "img width:>4000", "5", o);
    assert_true(o->per_row);
    assert_true(o->narrowed);
    assert_int_equal(o->n, 5);
    for (size_t k = 0; k < 5; k++)
        assert_int_equal(o->ids[k], want[k]);
    /* All of them: the same again (checked per row, all passing ones fit). */
    const search_case all = {"img width:>4000", "img", "a.width > 4000"};
    assert_int_equal(expect_reference(f, &all, 0, o), n);
    free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_upgrade_from_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_catalogue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hash_index_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fts_query_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_from_v4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_from_v5, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_from_v6_and_transcripts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_from_v7, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fts_top_is_bm25, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transcript_top, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_filters_checked_per_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_filter_check_gives_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_missing_set, setup, teardown),
        cmocka_unit_test(test_measure_words),
        cmocka_unit_test(test_measure_cover),
        cmocka_unit_test(test_centre_hash_turns),
        cmocka_unit_test_setup_teardown(test_fast_hash_of_buffer, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
