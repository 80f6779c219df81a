/*
 * op_people_name.c — `postkit people name ID NAME`: give a person a name
 * (an empty name takes it away). Names are unique among the people of the
 * current models, case-insensitively: naming a second person like the first
 * is refused with the command that merges them.
 */
#include "catalog/people.h"

#include <string.h>

static pk_status people_name_run(pk_run *run)
{
    pk_catalog *cat;
    int64_t producer, person;
    pk_status st = pk_people_open(run, &cat, &producer);
    if (st != PK_OK)
        return st;
    const char *name = pk_run_input(run, 1);
    st = pk_person_find(cat, producer, pk_run_input(run, 0), &person);
    if (st == PK_OK)
        st = pk_db_begin(cat->store, 1);
    if (st != PK_OK) {
        pk_catalog_close(cat);
        return st;
    }
    pk_stmt *q;
    if (*name) {
        st = pk_db_prepare(cat->store,
                           "SELECT id, name FROM person WHERE producer_id = ? AND lower(name) = lower(?) AND id <> ?", &q);
        if (st == PK_OK) {
            pk_stmt_bind_int(q, 1, producer);
            pk_stmt_bind_text(q, 2, name);
            pk_stmt_bind_int(q, 3, person);
            int r = pk_stmt_step(q);
            if (r == 1)
                st = pk_fail(pk_run_ctx(run), PK_ERR_USAGE, NULL,
                             "person %lld is already named %s; if they are one person: postkit people merge %lld %lld",
                             (long long)pk_stmt_int(q, 0), pk_stmt_text(q, 1), (long long)pk_stmt_int(q, 0),
                             (long long)person);
            else if (r < 0)
                st = PK_ERR_INTERNAL;
            pk_stmt_free(q);
        }
    }
    if (st == PK_OK && (st = pk_db_prepare(cat->store, "UPDATE person SET name = ? WHERE id = ?", &q)) == PK_OK) {
        pk_stmt_bind_text(q, 1, *name ? name : NULL);
        pk_stmt_bind_int(q, 2, person);
        st = pk_stmt_step(q) < 0 ? PK_ERR_INTERNAL : PK_OK;
        pk_stmt_free(q);
    }
    if (st == PK_OK)
        st = pk_db_commit(cat->store);
    else
        pk_db_rollback(cat->store);
    if (st == PK_OK) {
        json_t *r = json_object();
        json_object_set_new(r, "id", json_integer(person));
        json_object_set_new(r, "name", *name ? pk_json_string(name) : json_null());
        pk_run_emit(run, r);
    }
    pk_catalog_close(cat);
    return st;
}

static void people_name_print(const json_t *r, FILE *out)
{
    const char *name = json_string_value(json_object_get(r, "name"));
    fprintf(out, "person %lld %s%s\n", (long long)json_integer_value(json_object_get(r, "id")),
            name ? "is now " : "has no name", name ? name : "");
}

static const pk_param_spec people_name_params[] = {
    PK_CATALOG_PARAM,
    {.name = NULL},
};

const pk_op pk_op_people_name = {
    .name = "people name",
    .summary = "Name a person (`people name 3 Alice`; an empty name removes it)",
    .description = "ID is a person's id or current name (see `postkit people`). Names make "
                   "`postkit search person:NAME` and `people export NAME` work; they carry over "
                   "`postkit faces --reindex`.",
    .input_name = "ID NAME",
    .input_kind = "any",
    .min_inputs = 2,
    .max_inputs = 2,
    .params = people_name_params,
    .run = people_name_run,
    .print_human = people_name_print,
};
