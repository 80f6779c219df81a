/*
 * info.c — `postkit catalog info`: where the catalogue is, its schema, what
 * it holds, and (with --check) whether its file is sound.
 */
#include "catalog/internal.h"

#include <string.h>

static pk_status count(pk_catalog *cat, const char *sql, json_t *rec, const char *key)
{
    int64_t n;
    pk_status st = pk_db_query_int(cat->store, sql, 0, &n);
    if (st == PK_OK)
        json_object_set_new(rec, key, json_integer(n));
    return st;
}

static pk_status info_run(pk_run *run)
{
    pk_catalog *cat;
    pk_status st = pk_catalog_open_for_run(run, 0, &cat);
    if (st != PK_OK)
        return st;
    json_t *rec = json_object();
    json_object_set_new(rec, "catalog", pk_json_string(cat->path));
    json_object_set_new(rec, "engine", json_string(pk_db_engine()));
    int version = 0;
    pk_schema_version(cat->store, &version);
    json_object_set_new(rec, "schema_version", json_integer(version));
    static const struct {
        const char *key, *sql;
    } counts[] = {
        {"files", "SELECT count(*) FROM location WHERE missing = 0"},
        {"missing", "SELECT count(*) FROM location WHERE missing = 1"},
        {"contents", "SELECT count(*) FROM asset"},
        {"photos", "SELECT count(*) FROM asset WHERE type = 'photo'"},
        {"videos", "SELECT count(*) FROM asset WHERE type = 'video'"},
        {"audio", "SELECT count(*) FROM asset WHERE type = 'audio'"},
        {"unreadable", "SELECT count(*) FROM asset WHERE type = 'unreadable'"},
        {"fingerprints", "SELECT count(*) FROM fingerprint"},
        {"scans", "SELECT count(*) FROM scan"},
    };
    st = pk_db_begin(cat->store, 0);
    for (size_t i = 0; i < PK_ARRAY_LEN(counts) && st == PK_OK; i++)
        st = count(cat, counts[i].sql, rec, counts[i].key);
    pk_db_rollback(cat->store);
    char *cache = NULL;
    if (st == PK_OK && pk_catalog_cache_dir(pk_run_ctx(run), &cache) == PK_OK)
        json_object_set_new(rec, "thumbnails", pk_json_string(cache));
    free(cache);
    if (st == PK_OK && pk_run_bool(run, "check")) {
        int ok = 0;
        char report[512];
        st = pk_db_check(cat->store, &ok, report, sizeof report);
        json_object_set_new(rec, "integrity", pk_json_string(report));
        if (st == PK_OK && !ok)
            st = pk_fail(pk_run_ctx(run), PK_CHECK_FAILED, cat->path, "integrity check failed: %s", report);
    }
    pk_run_emit(run, rec);
    pk_catalog_close(cat);
    return st;
}

static const pk_param_spec info_params[] = {
    PK_CATALOG_PARAM,
    {.name = "check", .type = PK_PARAM_BOOL, .defval = "no",
     .help = "also verify the file's structure (exit status 1 when damaged)"},
    {.name = NULL},
};

const pk_op pk_op_catalog_info = {
    .name = "catalog info",
    .summary = "Show where the catalogue is, its schema version and what it holds",
    .input_name = "",
    .input_kind = "any",
    .min_inputs = 0,
    .max_inputs = 0,
    .params = info_params,
    .run = info_run,
    .flags = PK_OP_NO_INPUTS | PK_OP_CHECK,
};
