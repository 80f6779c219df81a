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
        /* 6000 wide: bucket [6000, 7000); 90 s: bucket [60, 120). */
        {{{"iceland", PK_FTS_ANY, 1, 0}, {"w10", PK_FTS_MEASURE, 0, 0}}, 2, {7, 8}, 2},
        {{{"iceland", PK_FTS_ANY, 1, 0}, {"t5", PK_FTS_MEASURE, 0, 0}}, 2, {9}, 1},
    };
    assert_int_equal(pk_fts_bucket('w', 6000), 10);
    assert_int_equal(pk_fts_bucket('t', 90), 5);
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
 * the face tables in version 6 and keeps its rows and its full text as
 * they were (no rebuild). */
static void test_upgrade_from_v5(void **state)
{
    fixture *f = *state;
    assert_int_equal(pk_catalog_schema_version(), 7);
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
    assert_int_equal(v, 7);
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

/* Values at a bucket bound open the next bucket; no value, no bucket. */
static void test_fts_buckets(void **state)
{
    (void)state;
    const char kinds[] = {'w', 'h', 't'};
    for (size_t k = 0; k < sizeof kinds; k++) {
        int n = pk_fts_bucket_count(kinds[k]);
        assert_true(n > 4);
        for (int b = 0; b < n; b++) {
            double lo, hi;
            pk_fts_bucket_range(kinds[k], b, &lo, &hi);
            assert_true(lo < hi);
            if (lo > 0)
                assert_int_equal(pk_fts_bucket(kinds[k], lo), b);
            if (isfinite(hi)) {
                assert_int_equal(pk_fts_bucket(kinds[k], hi), b + 1);
                assert_int_equal(pk_fts_bucket(kinds[k], hi - 0.5), b);
            }
        }
        assert_int_equal(pk_fts_bucket(kinds[k], 0), -1);
        assert_int_equal(pk_fts_bucket(kinds[k], NAN), -1);
        assert_int_equal(pk_fts_bucket(kinds[k], 1e12), n - 1);
    }
    assert_int_equal(pk_fts_bucket('w', 3840), pk_fts_bucket('w', 3999));
    assert_true(pk_fts_bucket('w', 3839) < pk_fts_bucket('w', 3840));
    assert_true(pk_fts_bucket('t', 59.9) < pk_fts_bucket('t', 60));
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
        cmocka_unit_test_setup_teardown(test_fts_top_is_bm25, setup, teardown),
        cmocka_unit_test(test_fts_buckets),
        cmocka_unit_test(test_centre_hash_turns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
