/*
 * op_people.c — `postkit people [ID]`: the people `postkit faces` found,
 * with their number of faces and photos and a thumbnail of a typical face;
 * with an ID (or a name), that person's faces, for `people split`.
 */
#include "catalog/people.h"

#include <stdlib.h>
#include <string.h>

static json_t *person_record(pk_catalog *cat, pk_stmt *q)
{
    json_t *r = json_object();
    json_object_set_new(r, "id", json_integer(pk_stmt_int(q, 0)));
    json_object_set_new(r, "name", pk_stmt_text(q, 1) ? pk_json_string(pk_stmt_text(q, 1)) : json_null());
    json_object_set_new(r, "faces", json_integer(pk_stmt_int(q, 2)));
    json_object_set_new(r, "photos", json_integer(pk_stmt_int(q, 3)));
    json_object_set_new(r, "videos", json_integer(pk_stmt_int(q, 4)));
    json_object_set_new(r, "smiling", json_integer(pk_stmt_int(q, 5)));
    char *thumb = NULL;
    if (!pk_stmt_is_null(q, 6)) {
        json_object_set_new(r, "cover_face", json_integer(pk_stmt_int(q, 6)));
        if (pk_face_thumbnail(cat, pk_stmt_int(q, 6), &thumb) == PK_OK && thumb)
            json_object_set_new(r, "thumbnail", pk_json_string(thumb));
    }
    free(thumb);
    return r;
}

static json_t *face_record(pk_stmt *q)
{
    json_t *r = json_object();
    json_object_set_new(r, "face", json_integer(pk_stmt_int(q, 0)));
    json_object_set_new(r, "path", pk_json_string(pk_stmt_text(q, 1)));
    if (!pk_stmt_is_null(q, 2))
        json_object_set_new(r, "time", json_real(pk_stmt_double(q, 2)));
    json_t *box = json_array();
    for (int i = 3; i < 7; i++)
        json_array_append_new(box, json_real(pk_round(pk_stmt_double(q, i), 4)));
    json_object_set_new(r, "box", box);
    json_object_set_new(r, "score", json_real(pk_round(pk_stmt_double(q, 7), 3)));
    json_object_set_new(r, "usable", json_boolean(pk_stmt_int(q, 8)));
    json_object_set_new(r, "expression", pk_json_string(pk_stmt_text(q, 9)));
    json_object_set_new(r, "happy", json_real(pk_round(pk_stmt_double(q, 10), 3)));
    json_object_set_new(r, "placed_by", json_string(pk_stmt_text(q, 11) && !strcmp(pk_stmt_text(q, 11), "user")
                                                        ? "user"
                                                        : "clustering"));
    json_object_set_new(r, "embedding", json_boolean(pk_stmt_int(q, 12)));
    return r;
}

static pk_status people_run(pk_run *run)
{
    pk_catalog *cat;
    int64_t producer;
    pk_status st = pk_people_open(run, &cat, &producer);
    if (st != PK_OK)
        return st;
    int64_t person = 0;
    if (pk_run_input_count(run))
        st = pk_person_find(cat, producer, pk_run_input(run, 0), &person);
    pk_stmt *q = NULL;
    if (st == PK_OK && !person)
        st = pk_db_prepare(cat->store,
                           "SELECT p.id, p.name, p.faces, "
                           "  (SELECT count(DISTINCT f.asset_id) FROM face f WHERE f.person_id = p.id AND f.time IS NULL), "
                           "  (SELECT count(DISTINCT f.asset_id) FROM face f WHERE f.person_id = p.id AND f.time IS NOT NULL), "
                           "  (SELECT count(*) FROM face f WHERE f.person_id = p.id AND f.happy >= ?2), "
                           "  p.cover_face_id "
                           "FROM person p WHERE p.producer_id = ?1 ORDER BY p.faces DESC, p.id",
                           &q);
    else if (st == PK_OK)
        st = pk_db_prepare(cat->store,
                           "SELECT f.id, (SELECT min(path) FROM location l WHERE l.asset_id = f.asset_id), f.time, "
                           "f.x, f.y, f.w, f.h, f.score, f.usable, f.expression, f.happy, f.assigned, "
                           "f.embedding IS NOT NULL FROM face f WHERE f.person_id = ?1 ORDER BY 2, f.time, f.id",
                           &q);
    if (st == PK_OK) {
        pk_stmt_bind_int(q, 1, person ? person : producer);
        if (!person)
            pk_stmt_bind_double(q, 2, PK_FACE_SMILING);
        int r;
        while ((r = pk_stmt_step(q)) == 1)
            pk_run_emit(run, person ? face_record(q) : person_record(cat, q));
        if (r < 0)
            st = PK_ERR_INTERNAL;
    }
    pk_stmt_free(q);
    pk_catalog_close(cat);
    return st;
}

static void people_print(const json_t *r, FILE *out)
{
    const json_t *face = json_object_get(r, "face");
    if (face) {
        const json_t *box = json_object_get(r, "box");
        fprintf(out, "face %lld  %s", (long long)json_integer_value(face),
                json_string_value(json_object_get(r, "path")));
        if (json_object_get(r, "time"))
            fprintf(out, " @%.1fs", json_real_value(json_object_get(r, "time")));
        fprintf(out, "  box %.3f,%.3f %.3fx%.3f  %s%s%s\n", json_real_value(json_array_get(box, 0)),
                json_real_value(json_array_get(box, 1)), json_real_value(json_array_get(box, 2)),
                json_real_value(json_array_get(box, 3)), json_string_value(json_object_get(r, "expression")),
                json_is_true(json_object_get(r, "usable")) ? "" : ", small/blurred",
                !strcmp(json_string_value(json_object_get(r, "placed_by")), "user") ? ", placed by you" : "");
        return;
    }
    const char *name = json_string_value(json_object_get(r, "name"));
    fprintf(out, "%4lld  %-20s %4lld faces in %lld photos", (long long)json_integer_value(json_object_get(r, "id")),
            name ? name : "(unnamed)", (long long)json_integer_value(json_object_get(r, "faces")),
            (long long)json_integer_value(json_object_get(r, "photos")));
    long long videos = json_integer_value(json_object_get(r, "videos"));
    if (videos)
        fprintf(out, " and %lld videos", videos);
    const char *thumb = json_string_value(json_object_get(r, "thumbnail"));
    fprintf(out, "%s%s\n", thumb ? "  " : "", thumb ? thumb : "");
}

static const pk_param_spec people_params[] = {
    PK_CATALOG_PARAM,
    {.name = NULL},
};

const pk_op pk_op_people = {
    .name = "people",
    .summary = "List the people found by `postkit faces`, or one person's faces",
    .description =
        "Without an argument: every person (most faces first) with the number of faces, photos "
        "and videos, and the thumbnail of a typical face (made in $XDG_CACHE_HOME/postkit/faces). "
        "With a person's id or name: that person's faces with their ids, for `people split`. "
        "Only the faces of the installed models count (see `postkit faces --reindex`).",
    .input_name = "ID",
    .input_kind = "any",
    .min_inputs = 0,
    .max_inputs = 1,
    .params = people_params,
    .run = people_run,
    .print_human = people_print,
};
