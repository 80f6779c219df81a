/*
 * op_people_split.c — `postkit people split ID FACE...`: the chosen faces
 * (ids from `postkit people ID`) leave the person and become a new person
 * of their own — the fix for two people clustering took for one. They are
 * marked as placed by the user, so clustering never puts them back.
 */
#include "catalog/people.h"

#include <stdlib.h>

static pk_status people_split_run(pk_run *run)
{
    pk_ctx *ctx = pk_run_ctx(run);
    pk_catalog *cat;
    int64_t producer, person = 0, fresh = 0;
    pk_status st = pk_people_open(run, &cat, &producer);
    if (st != PK_OK)
        return st;
    st = pk_person_find(cat, producer, pk_run_input(run, 0), &person);
    size_t n = pk_run_input_count(run) - 1;
    if (st == PK_OK)
        st = pk_db_begin(cat->store, 1);
    if (st != PK_OK) {
        pk_catalog_close(cat);
        return st;
    }
    pk_stmt *q = NULL;
    st = pk_db_prepare(cat->store,
                       "INSERT INTO person(producer_id, faces, created_at) VALUES (?, 0, ?) RETURNING id", &q);
    if (st == PK_OK) {
        char now[32];
        pk_iso8601_now(now);
        pk_stmt_bind_int(q, 1, producer);
        pk_stmt_bind_text(q, 2, now);
        if (pk_stmt_step(q) == 1)
            fresh = pk_stmt_int(q, 0);
        else
            st = PK_ERR_INTERNAL;
        pk_stmt_free(q);
    }
    if (st == PK_OK)
        st = pk_db_prepare(cat->store,
                           "UPDATE face SET person_id = ?, assigned = 'user' WHERE id = ? AND person_id = ?", &q);
    for (size_t i = 0; i < n && st == PK_OK; i++) {
        const char *text = pk_run_input(run, i + 1);
        char *end;
        long long face = strtoll(text, &end, 10);
        if (!*text || *end) {
            st = pk_fail(ctx, PK_ERR_USAGE, NULL, "'%s' is not a face id (see: postkit people %s)", text,
                         pk_run_input(run, 0));
            break;
        }
        pk_stmt_reset(q);
        pk_stmt_bind_int(q, 1, fresh);
        pk_stmt_bind_int(q, 2, face);
        pk_stmt_bind_int(q, 3, person);
        if (pk_stmt_step(q) < 0)
            st = PK_ERR_INTERNAL;
    }
    pk_stmt_free(q);
    /* Every face given must have been the person's. */
    int64_t moved = 0;
    if (st == PK_OK && (st = pk_db_prepare(cat->store, "SELECT count(*) FROM face WHERE person_id = ?", &q)) == PK_OK) {
        pk_stmt_bind_int(q, 1, fresh);
        if (pk_stmt_step(q) == 1)
            moved = pk_stmt_int(q, 0);
        pk_stmt_free(q);
        if ((size_t)moved != n)
            st = pk_fail(ctx, PK_ERR_USAGE, NULL,
                         "only %lld of the %zu faces given are faces of person %lld (see: postkit people %lld)",
                         (long long)moved, n, (long long)person, (long long)person);
    }
    if (st == PK_OK)
        st = pk_person_refresh(cat, fresh);
    if (st == PK_OK)
        st = pk_person_refresh(cat, person);
    if (st == PK_OK)
        st = pk_db_commit(cat->store);
    else
        pk_db_rollback(cat->store);
    if (st == PK_OK) {
        json_t *r = json_object();
        json_object_set_new(r, "from", json_integer(person));
        json_object_set_new(r, "id", json_integer(fresh));
        json_object_set_new(r, "faces", json_integer(moved));
        pk_run_emit(run, r);
    }
    pk_catalog_close(cat);
    return st;
}

static void people_split_print(const json_t *r, FILE *out)
{
    fprintf(out, "%lld faces of person %lld are now person %lld\n",
            (long long)json_integer_value(json_object_get(r, "faces")),
            (long long)json_integer_value(json_object_get(r, "from")),
            (long long)json_integer_value(json_object_get(r, "id")));
}

static const pk_param_spec people_split_params[] = {
    PK_CATALOG_PARAM,
    {.name = NULL},
};

const pk_op pk_op_people_split = {
    .name = "people split",
    .summary = "Move chosen faces out of a person into a new person",
    .description = "ID is the person's id or name; FACE... are face ids from `postkit people ID`. "
                   "The faces become a new person, placed by you: clustering never moves them back.",
    .input_name = "ID FACE",
    .input_kind = "any",
    .min_inputs = 2,
    .max_inputs = -1,
    .params = people_split_params,
    .run = people_split_run,
    .print_human = people_split_print,
};
