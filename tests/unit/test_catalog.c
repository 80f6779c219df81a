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
    assert_int_equal(pk_db_fts_set(cat->store, 1, "IMG_0001.JPG", "home trips", "photo"), PK_OK);
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

/* Words typed by the user never become FTS syntax. */
static void test_fts_query_text(void **state)
{
    fixture *f = *state;
    pk_catalog *cat;
    assert_int_equal(pk_catalog_open(f->ctx, f->db, 1, &cat), PK_OK);
    const char *words[] = {"ice\"land", "-", "NEAR(x", "AND"};
    char *q = pk_db_fts_query(cat->store, words, 4);
    assert_string_equal(q, "\"ice\"\"land\"* \"NEAR(x\"* \"AND\"*");
    pk_stmt *s;
    char sql[256];
    snprintf(sql, sizeof sql, "%s", pk_db_fts_select(cat->store));
    assert_int_equal(pk_db_prepare(cat->store, sql, &s), PK_OK);
    pk_stmt_bind_text(s, 1, q);
    assert_int_equal(pk_stmt_step(s), 0); /* runs, finds nothing */
    pk_stmt_free(s);
    free(q);
    const char *none[] = {"-", "!!"};
    assert_null(pk_db_fts_query(cat->store, none, 2));
    pk_catalog_close(cat);
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
        cmocka_unit_test(test_centre_hash_turns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
