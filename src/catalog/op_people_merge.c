/*
 * op_people_merge.c — `postkit people merge A B`: B's faces become A's and
 * B is gone. A keeps its name, or takes B's when it had none. The moved
 * faces count as placed by the user: clustering never moves them again.
 */
#include "catalog/people.h"

static pk_status people_merge_run(pk_run *run)
{
    pk_catalog *cat;
    int64_t producer, a = 0, b = 0;
    pk_status st = pk_people_open(run, &cat, &producer);
    if (st != PK_OK)
        return st;
    st = pk_person_find(cat, producer, pk_run_input(run, 0), &a);
    if (st == PK_OK)
        st = pk_person_find(cat, producer, pk_run_input(run, 1), &b);
    if (st == PK_OK && a == b)
        st = pk_fail(pk_run_ctx(run), PK_ERR_USAGE, NULL, "cannot merge person %lld with itself", (long long)a);
    if (st == PK_OK)
        st = pk_db_begin(cat->store, 1);
    if (st != PK_OK) {
        pk_catalog_close(cat);
        return st;
    }
    static const char *const steps[] = {
        "UPDATE person SET name = (SELECT name FROM person WHERE id = ?2) WHERE id = ?1 AND name IS NULL",
        "UPDATE person SET name = NULL WHERE id = ?2",
        "UPDATE face SET person_id = ?1, assigned = 'user' WHERE person_id = ?2",
    };
    for (size_t i = 0; i < PK_ARRAY_LEN(steps) && st == PK_OK; i++) {
        pk_stmt *q;
        st = pk_db_prepare(cat->store, steps[i], &q);
        if (st != PK_OK)
            break;
        pk_stmt_bind_int(q, 1, a);
        pk_stmt_bind_int(q, 2, b);
        st = pk_stmt_step(q) < 0 ? PK_ERR_INTERNAL : PK_OK;
        pk_stmt_free(q);
    }
    /* B, now without faces, is deleted by its refresh. */
    if (st == PK_OK)
        st = pk_person_refresh(cat, b);
    if (st == PK_OK)
        st = pk_person_refresh(cat, a);
    int64_t faces = 0;
    if (st == PK_OK) {
        pk_stmt *q;
        st = pk_db_prepare(cat->store, "SELECT faces FROM person WHERE id = ?", &q);
        if (st == PK_OK) {
            pk_stmt_bind_int(q, 1, a);
            if (pk_stmt_step(q) == 1)
                faces = pk_stmt_int(q, 0);
            pk_stmt_free(q);
        }
    }
    if (st == PK_OK)
        st = pk_db_commit(cat->store);
    else
        pk_db_rollback(cat->store);
    if (st == PK_OK) {
        json_t *r = json_object();
        json_object_set_new(r, "id", json_integer(a));
        json_object_set_new(r, "merged", json_integer(b));
        json_object_set_new(r, "faces", json_integer(faces));
        pk_run_emit(run, r);
    }
    pk_catalog_close(cat);
    return st;
}

static void people_merge_print(const json_t *r, FILE *out)
{
    fprintf(out, "person %lld merged into %lld: %lld faces\n",
            (long long)json_integer_value(json_object_get(r, "merged")),
            (long long)json_integer_value(json_object_get(r, "id")),
            (long long)json_integer_value(json_object_get(r, "faces")));
}

static const pk_param_spec people_merge_params[] = {
    PK_CATALOG_PARAM,
    {.name = NULL},
};

const pk_op pk_op_people_merge = {
    .name = "people merge",
    .summary = "Merge person B into person A (they are one person)",
    .description = "A and B are ids or names (see `postkit people`). B's faces join A and are never "
                   "moved by clustering again; A keeps its name or takes B's.",
    .input_name = "A B",
    .input_kind = "any",
    .min_inputs = 2,
    .max_inputs = 2,
    .params = people_merge_params,
    .run = people_merge_run,
    .print_human = people_merge_print,
};
