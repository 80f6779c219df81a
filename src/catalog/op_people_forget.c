/*
 * op_people_forget.c — `postkit people forget ID`: the privacy request.
 * The person's faces lose their embeddings (the numbers that recognise a
 * face), the person and its name are deleted, the face thumbnails are
 * removed from the cache, and the catalogue file is scrubbed so the
 * deleted bytes leave no trace in free pages or the journal. The faces'
 * boxes stay (a photo still "has 3 faces"); they can never be grouped
 * again. New photos of the same person would make a new, unnamed person.
 */
#include "catalog/people.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pk_status people_forget_run(pk_run *run)
{
    pk_catalog *cat;
    int64_t producer, person = 0;
    pk_status st = pk_people_open(run, &cat, &producer);
    if (st != PK_OK)
        return st;
    st = pk_person_find(cat, producer, pk_run_input(run, 0), &person);
    if (st == PK_OK)
        st = pk_db_erase_begin(cat->store);
    if (st == PK_OK)
        st = pk_db_begin(cat->store, 1);
    if (st != PK_OK) {
        pk_catalog_close(cat);
        return st;
    }
    /* The face ids first, for their cached thumbnails. */
    int64_t *faces = NULL;
    size_t n = 0;
    pk_stmt *q;
    st = pk_db_prepare(cat->store, "SELECT id FROM face WHERE person_id = ?", &q);
    if (st == PK_OK) {
        pk_stmt_bind_int(q, 1, person);
        int r;
        while ((r = pk_stmt_step(q)) == 1) {
            int64_t *g = realloc(faces, (n + 1) * sizeof *g);
            if (!g) {
                r = -2;
                break;
            }
            faces = g;
            faces[n++] = pk_stmt_int(q, 0);
        }
        pk_stmt_free(q);
        if (r == -2)
            st = pk_fail(pk_run_ctx(run), PK_ERR_INTERNAL, NULL, "out of memory");
        else if (r < 0)
            st = PK_ERR_INTERNAL;
    }
    static const char *const steps[] = {
        "UPDATE face SET embedding = NULL, person_id = NULL, assigned = 'forgotten' WHERE person_id = ?1",
        "DELETE FROM person WHERE id = ?1",
    };
    for (size_t i = 0; i < PK_ARRAY_LEN(steps) && st == PK_OK; i++) {
        st = pk_db_prepare(cat->store, steps[i], &q);
        if (st != PK_OK)
            break;
        pk_stmt_bind_int(q, 1, person);
        st = pk_stmt_step(q) < 0 ? PK_ERR_INTERNAL : PK_OK;
        pk_stmt_free(q);
    }
    if (st == PK_OK)
        st = pk_db_commit(cat->store);
    else
        pk_db_rollback(cat->store);
    if (st == PK_OK)
        st = pk_db_erase_end(cat->store);
    /* The boxes stay, so the thumbnails' names can still be made. */
    for (size_t i = 0; st == PK_OK && i < n; i++) {
        char *thumb = NULL;
        if (pk_face_thumbnail_path(cat, faces[i], &thumb) == PK_OK && thumb)
            unlink(thumb);
        free(thumb);
    }
    if (st == PK_OK) {
        json_t *r = json_object();
        json_object_set_new(r, "id", json_integer(person));
        json_object_set_new(r, "faces", json_integer((json_int_t)n));
        pk_run_emit(run, r);
    }
    free(faces);
    pk_catalog_close(cat);
    return st;
}

static void people_forget_print(const json_t *r, FILE *out)
{
    fprintf(out, "person %lld forgotten: %lld faces no longer carry an embedding\n",
            (long long)json_integer_value(json_object_get(r, "id")),
            (long long)json_integer_value(json_object_get(r, "faces")));
}

static const pk_param_spec people_forget_params[] = {
    PK_CATALOG_PARAM,
    {.name = NULL},
};

const pk_op pk_op_people_forget = {
    .name = "people forget",
    .summary = "Forget a person: delete their faces' embeddings, name and thumbnails",
    .description = "For privacy requests. The faces' embeddings (what recognises a face) are deleted "
                   "and the catalogue scrubbed so no copy remains in it; the person and its name go; "
                   "the face boxes stay, without identity. Cannot be undone.",
    .input_name = "ID",
    .input_kind = "any",
    .min_inputs = 1,
    .max_inputs = 1,
    .params = people_forget_params,
    .run = people_forget_run,
    .print_human = people_forget_print,
};
