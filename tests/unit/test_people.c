/* Unit tests: grouping faces into people (catalog/people.c) on synthetic
 * embeddings with a known identity — seeding, the minimum size, faces too
 * small to seed, incremental joining, faces placed by the user, finding a
 * person by id or name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>

#include <cmocka.h>

#include "catalog/people.h"

enum { DIM = 32, IDENTITIES = 4 };

typedef struct fixture {
    pk_ctx *ctx;
    pk_catalog *cat;
    int64_t producer;
    char dir[64];
    float centre[IDENTITIES][DIM];
    unsigned seed;
} fixture;

/* A deterministic pseudo-random number in [-1, 1). */
static float noise(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static void normalise(float *v)
{
    double n = 0;
    for (int i = 0; i < DIM; i++)
        n += (double)v[i] * v[i];
    for (int i = 0; i < DIM; i++)
        v[i] = (float)(v[i] / sqrt(n));
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_int_equal(pk_ctx_new(&f->ctx), PK_OK);
    snprintf(f->dir, sizeof f->dir, "/tmp/pk_people_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char db[96];
    snprintf(db, sizeof db, "%s/c.db", f->dir);
    assert_int_equal(pk_catalog_open(f->ctx, db, 1, &f->cat), PK_OK);
    assert_int_equal(pk_catalog_model_producer(f->cat, PK_FACES_PRODUCER, PK_FACES_VERSION, "test", "m", "00",
                                               &f->producer),
                     PK_OK);
    /* Identities are orthogonal directions: the centres of unrelated
     * people are far apart, as a trained embedding makes them. */
    for (int k = 0; k < IDENTITIES; k++)
        f->centre[k][k * 3] = 1.0f;
    f->seed = 7;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    pk_catalog_close(f->cat);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    pk_ctx_free(f->ctx);
    free(f);
    return 0;
}

/* A photo with one face of `identity` (its centre plus noise of about
 * half its length: same-person cosines around 0.8, others around 0). */
static int64_t add_face(fixture *f, int identity, int usable)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO asset(sha256, size, type, created_at) VALUES ('%u-%d', 1, 'photo', 'now')",
             f->seed, identity);
    assert_int_equal(pk_db_exec(f->cat->store, sql), PK_OK);
    float e[DIM];
    for (int i = 0; i < DIM; i++)
        e[i] = f->centre[identity][i] + 0.5f * noise(&f->seed) / sqrtf(DIM / 3.0f);
    normalise(e);
    pk_stmt *q;
    assert_int_equal(pk_db_prepare(f->cat->store,
                                   "INSERT INTO face(asset_id, producer_id, x, y, w, h, landmarks, score, size, "
                                   "sharpness, usable, embedding, created_at) VALUES "
                                   "((SELECT max(id) FROM asset), ?, 0.1, 0.1, 0.2, 0.2, '[]', 0.9, 100, 500, ?, "
                                   "?, 'now') RETURNING id",
                                   &q),
                     PK_OK);
    pk_stmt_bind_int(q, 1, f->producer);
    pk_stmt_bind_int(q, 2, usable);
    pk_stmt_bind_blob(q, 3, e, sizeof e);
    assert_int_equal(pk_stmt_step(q), 1);
    int64_t id = pk_stmt_int(q, 0);
    pk_stmt_free(q);
    return id;
}

static int64_t person_of(fixture *f, int64_t face)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT person_id FROM face WHERE id = %lld", (long long)face);
    int64_t p;
    assert_int_equal(pk_db_query_int(f->cat->store, sql, 0, &p), PK_OK);
    return p;
}

static int64_t count(fixture *f, const char *sql)
{
    int64_t n;
    assert_int_equal(pk_db_query_int(f->cat->store, sql, -1, &n), PK_OK);
    return n;
}

/* Three people of five faces and a lone face: three people, every face
 * with its own kind, the lone one waiting (a person takes two faces). */
static void test_groups_by_identity(void **state)
{
    fixture *f = *state;
    int64_t face[3][5];
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < 3; k++)
            face[k][i] = add_face(f, k, 1);
    int64_t lone = add_face(f, 3, 1);
    pk_cluster_report rep;
    assert_int_equal(pk_people_cluster(f->cat, f->producer, PK_FACE_SAME_PERSON, PK_PEOPLE_MIN_FACES, &rep), PK_OK);
    assert_int_equal(rep.new_people, 3);
    assert_int_equal(rep.seeded, 15);
    assert_int_equal(rep.joined, 0);
    assert_int_equal(rep.pending, 1);
    assert_int_equal(person_of(f, lone), 0);
    for (int k = 0; k < 3; k++) {
        int64_t p = person_of(f, face[k][0]);
        assert_true(p > 0);
        for (int i = 1; i < 5; i++)
            assert_int_equal(person_of(f, face[k][i]), p);
        for (int j = 0; j < k; j++)
            assert_int_not_equal(person_of(f, face[j][0]), p);
    }
    assert_int_equal(count(f, "SELECT sum(faces) FROM person"), 15);
    assert_int_equal(count(f, "SELECT count(*) FROM person WHERE cover_face_id IS NULL"), 0);
}

/* Faces too small or blurred never found a person, but join one. */
static void test_unusable_faces_only_join(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 3; i++)
        add_face(f, 1, 0);
    int64_t a = add_face(f, 0, 1), b = add_face(f, 0, 1), c = add_face(f, 0, 0);
    pk_cluster_report rep;
    assert_int_equal(pk_people_cluster(f->cat, f->producer, PK_FACE_SAME_PERSON, PK_PEOPLE_MIN_FACES, &rep), PK_OK);
    assert_int_equal(rep.new_people, 1);
    assert_int_equal(rep.seeded, 2);
    assert_int_equal(rep.joined, 1);
    assert_int_equal(rep.pending, 3);
    assert_true(person_of(f, a) > 0);
    assert_int_equal(person_of(f, b), person_of(f, a));
    assert_int_equal(person_of(f, c), person_of(f, a));
}

/* New faces join the people that exist; nobody already placed moves and
 * no person is made again. */
static void test_incremental(void **state)
{
    fixture *f = *state;
    int64_t first[2][3];
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 2; k++)
            first[k][i] = add_face(f, k, 1);
    assert_int_equal(pk_people_cluster(f->cat, f->producer, PK_FACE_SAME_PERSON, PK_PEOPLE_MIN_FACES, NULL), PK_OK);
    int64_t p0 = person_of(f, first[0][0]), p1 = person_of(f, first[1][0]);
    assert_true(p0 > 0 && p1 > 0 && p0 != p1);
    int64_t later0 = add_face(f, 0, 1), later1 = add_face(f, 1, 1), lone = add_face(f, 2, 1);
    pk_cluster_report rep;
    assert_int_equal(pk_people_cluster(f->cat, f->producer, PK_FACE_SAME_PERSON, PK_PEOPLE_MIN_FACES, &rep), PK_OK);
    assert_int_equal(rep.joined, 2);
    assert_int_equal(rep.new_people, 0);
    assert_int_equal(rep.pending, 1);
    assert_int_equal(person_of(f, later0), p0);
    assert_int_equal(person_of(f, later1), p1);
    assert_int_equal(person_of(f, lone), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(person_of(f, first[0][i]), p0);
        assert_int_equal(person_of(f, first[1][i]), p1);
    }
    assert_int_equal(count(f, "SELECT count(*) FROM person"), 2);
    /* A second lone face of the third kind now makes a person with it. */
    int64_t lone2 = add_face(f, 2, 1);
    assert_int_equal(pk_people_cluster(f->cat, f->producer, PK_FACE_SAME_PERSON, PK_PEOPLE_MIN_FACES, &rep), PK_OK);
    assert_int_equal(rep.new_people, 1);
    assert_int_equal(rep.seeded, 2);
    assert_true(person_of(f, lone) > 0);
    assert_int_equal(person_of(f, lone2), person_of(f, lone));
}

/* A face the user moved to another person (people split) stays there,
 * and the refreshed people count and sum only their own faces. */
static void test_user_placement_kept(void **state)
{
    fixture *f = *state;
    int64_t a[4];
    for (int i = 0; i < 4; i++)
        a[i] = add_face(f, 0, 1);
    assert_int_equal(pk_people_cluster(f->cat, f->producer, PK_FACE_SAME_PERSON, PK_PEOPLE_MIN_FACES, NULL), PK_OK);
    int64_t p = person_of(f, a[0]);
    assert_int_equal(pk_db_exec(f->cat->store, "INSERT INTO person(producer_id, faces, created_at) "
                                               "SELECT producer_id, 0, 'now' FROM person"),
                     PK_OK);
    int64_t mine = count(f, "SELECT max(id) FROM person");
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE face SET person_id = %lld, assigned = 'user' WHERE id = %lld",
             (long long)mine, (long long)a[3]);
    assert_int_equal(pk_db_exec(f->cat->store, sql), PK_OK);
    assert_int_equal(pk_person_refresh(f->cat, p), PK_OK);
    assert_int_equal(pk_person_refresh(f->cat, mine), PK_OK);
    snprintf(sql, sizeof sql, "SELECT faces FROM person WHERE id = %lld", (long long)p);
    assert_int_equal(count(f, sql), 3);
    add_face(f, 0, 1);
    assert_int_equal(pk_people_cluster(f->cat, f->producer, PK_FACE_SAME_PERSON, PK_PEOPLE_MIN_FACES, NULL), PK_OK);
    assert_int_equal(person_of(f, a[3]), mine);
    /* A person whose faces lost their embeddings (forgotten) is deleted. */
    snprintf(sql, sizeof sql, "UPDATE face SET embedding = NULL WHERE person_id = %lld", (long long)mine);
    assert_int_equal(pk_db_exec(f->cat->store, sql), PK_OK);
    assert_int_equal(pk_person_refresh(f->cat, mine), PK_OK);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM person WHERE id = %lld", (long long)mine);
    assert_int_equal(count(f, sql), 0);
    assert_int_equal(person_of(f, a[3]), 0);
}

/* People are found by id or name (any case) within the producer; an
 * unknown or shared name is a usage error. */
static void test_person_find(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 2; i++) {
        add_face(f, 0, 1);
        add_face(f, 1, 1);
    }
    assert_int_equal(pk_people_cluster(f->cat, f->producer, PK_FACE_SAME_PERSON, PK_PEOPLE_MIN_FACES, NULL), PK_OK);
    int64_t first = count(f, "SELECT min(id) FROM person"), second = count(f, "SELECT max(id) FROM person");
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE person SET name = 'Ann Lee' WHERE id = %lld", (long long)first);
    assert_int_equal(pk_db_exec(f->cat->store, sql), PK_OK);
    int64_t id = 0;
    assert_int_equal(pk_person_find(f->cat, f->producer, "ann lee", &id), PK_OK);
    assert_int_equal(id, first);
    char text[32];
    snprintf(text, sizeof text, "%lld", (long long)second);
    assert_int_equal(pk_person_find(f->cat, f->producer, text, &id), PK_OK);
    assert_int_equal(id, second);
    assert_int_equal(pk_person_find(f->cat, f->producer, "Bob", &id), PK_ERR_USAGE);
    assert_non_null(strstr(pk_ctx_errmsg(f->ctx), "no person named Bob"));
    assert_int_equal(pk_person_find(f->cat, f->producer + 1, text, &id), PK_ERR_USAGE);
    assert_int_equal(pk_person_find(f->cat, f->producer, "999", &id), PK_ERR_USAGE);
    snprintf(sql, sizeof sql, "UPDATE person SET name = 'ANN LEE' WHERE id = %lld", (long long)second);
    assert_int_equal(pk_db_exec(f->cat->store, sql), PK_OK);
    assert_int_equal(pk_person_find(f->cat, f->producer, "Ann Lee", &id), PK_ERR_USAGE);
    assert_non_null(strstr(pk_ctx_errmsg(f->ctx), "2 people are named"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_groups_by_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unusable_faces_only_join, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incremental, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_placement_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_person_find, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
