/*
 * op_provenance.c — `postkit provenance FILE…`: what made a file, and whether
 * it is still the file that was made.
 */
#include "core/internal.h"

#include <stdlib.h>
#include <string.h>

static pk_status provenance_run(pk_run *run)
{
    pk_ctx *ctx = pk_run_ctx(run);
    for (size_t i = 0; i < pk_run_input_count(run) && !pk_ctx_interrupted(ctx); i++) {
        const char *path = pk_run_input(run, i);
        json_t *rec;
        pk_status st = pk_provenance_read(ctx, path, &rec);
        if (st != PK_OK) {
            pk_run_file_failed(run, path, st);
            continue;
        }
        pk_run_emit(run, rec);
    }
    return PK_OK;
}

static void print_params(const json_t *params, FILE *out)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)params, key, v)
    {
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(10));
        fprintf(out, "    --%s %s\n", key, text ? text : "?");
        free(text);
    }
}

static void provenance_print(const json_t *rec, FILE *out)
{
    const json_t *o = json_object_get(rec, "output");
    const json_t *who = json_object_get(rec, "postkit");
    fprintf(out, "%s\n", json_string_value(json_object_get(o, "path")));
    fprintf(out, "  status      %s\n",
            json_string_value(json_object_get(json_object_get(rec, "check"), "status")));
    fprintf(out, "  sha256      %s\n", json_string_value(json_object_get(o, "sha256")));
    fprintf(out, "  made by     postkit %s (%s), operation '%s'\n",
            json_string_value(json_object_get(who, "version")),
            json_string_value(json_object_get(who, "git")),
            json_string_value(json_object_get(rec, "operation")));
    fprintf(out, "  when        %s .. %s\n", json_string_value(json_object_get(rec, "started")),
            json_string_value(json_object_get(rec, "finished")));
    fprintf(out, "  parameters\n");
    print_params(json_object_get(rec, "parameters"), out);
    size_t i;
    json_t *e;
    fprintf(out, "  inputs\n");
    json_array_foreach(json_object_get(rec, "inputs"), i, e)
        fprintf(out, "    %s  %s\n", json_string_value(json_object_get(e, "sha256")),
                json_string_value(json_object_get(e, "path")));
    const json_t *models = json_object_get(rec, "models");
    if (json_array_size(models)) {
        fprintf(out, "  models\n");
        json_array_foreach(models, i, e)
            fprintf(out, "    %s %s  %s\n", json_string_value(json_object_get(e, "id")),
                    json_string_value(json_object_get(e, "version")),
                    json_string_value(json_object_get(e, "sha256")));
    }
    const json_t *details = json_object_get(rec, "details");
    if (details) {
        char *text = json_dumps(details, JSON_COMPACT | JSON_REAL_PRECISION(8));
        fprintf(out, "  details     %s\n", text ? text : "");
        free(text);
    }
}

const pk_op pk_op_provenance = {
    .name = "provenance",
    .summary = "Show how a file written by postkit was made, and check it is unchanged",
    .description = "Reads FILE.postkit.json, the record postkit writes beside every output: "
                   "postkit version and git revision, operation, every parameter, each input's "
                   "SHA-256, the models used and the times. The output's SHA-256 is computed "
                   "again: status 'unchanged' or 'modified'.",
    .input_name = "FILE",
    .input_kind = "any",
    .min_inputs = 1,
    .max_inputs = -1,
    .run = provenance_run,
    .print_human = provenance_print,
};
