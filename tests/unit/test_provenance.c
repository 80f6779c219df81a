/* Unit tests: an operation that writes a file leaves a provenance record
 * that says exactly how the file was made, and `postkit provenance` tells
 * whether the file is still the one that was made.
 *
 * A test operation (PK_OP_WRITES, a PATH_IN parameter, parameters with
 * defaults) runs through pk_op_run like any other; the record is checked
 * against independent facts: sha256sum(1) for every hash, pk_version() and
 * pk_git_revision() for the producer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/internal.h"

/* ---- the test operation ------------------------------------------------ */

static const pk_param_spec scale_params[] = {
    {.name = "output", .short_opt = 'o', .type = PK_PARAM_PATH_OUT, .flags = PK_PARAM_REQUIRED,
     .help = "where to write"},
    {.name = "ref", .type = PK_PARAM_PATH_IN, .help = "a reference file"},
    {.name = "gain", .type = PK_PARAM_FLOAT, .defval = "-1.5", .min = -20, .max = 20, .unit = "dB",
     .help = "gain"},
    {.name = "passes", .type = PK_PARAM_INT, .defval = "2", .min = 1, .max = 9, .help = "passes"},
    {.name = "mode", .type = PK_PARAM_ENUM, .defval = "fast", .choices = "fast|best", .help = "mode"},
    {.name = NULL},
};

/* Writes the concatenation of its inputs to --output, notes a detail and
 * declares a model, as a real operation would. */
static pk_status scale_run(pk_run *run)
{
    pk_output *o;
    pk_status st = pk_output_open(run, pk_run_str(run, "output"), &o);
    if (st != PK_OK)
        return st;
    FILE *fp = pk_output_file(o);
    for (size_t i = 0; i < pk_run_input_count(run); i++) {
        FILE *in = fopen(pk_run_input(run, i), "rb");
        int c;
        while (in && (c = fgetc(in)) != EOF)
            fputc(c, fp);
        if (in)
            fclose(in);
    }
    pk_output_note(o, "applied_gain_db", json_real(pk_run_float(run, "gain")));
    pk_run_add_model(run, "test-model", "1.0", "00ff");
    return pk_output_commit(run, o);
}

static const pk_op scale_op = {
    .name = "test scale",
    .summary = "Write the inputs to one file",
    .input_name = "FILE",
    .input_kind = "any",
    .min_inputs = 1,
    .max_inputs = -1,
    .params = scale_params,
    .run = scale_run,
    .flags = PK_OP_WRITES,
};

/* Writes one copy of each input into the folder --output, on worker
 * threads, each output declaring the one input it was made from. */
typedef struct each_job {
    pk_run *run;
    const char *dir;
} each_job;

static void *each_work(pk_ctx *wctx, size_t i, void *user)
{
    each_job *job = user;
    const char *in = pk_run_input(job->run, i);
    const char *base = strrchr(in, '/') ? strrchr(in, '/') + 1 : in;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s.copy", job->dir, base);
    pk_output *o;
    pk_status *st = malloc(sizeof *st);
    if ((*st = pk_output_open_ctx(job->run, wctx, path, &o)) != PK_OK)
        return st;
    pk_output_add_input(o, in);
    FILE *src = fopen(in, "rb");
    int c;
    while (src && (c = fgetc(src)) != EOF)
        fputc(c, pk_output_file(o));
    if (src)
        fclose(src);
    *st = pk_output_commit(job->run, o);
    return st;
}

static void each_emit(size_t i, void *result, void *user)
{
    (void)i, (void)user;
    assert_int_equal(*(pk_status *)result, PK_OK);
    free(result);
}

static pk_status each_run(pk_run *run)
{
    each_job job = {run, pk_run_str(run, "output")};
    return pk_parallel_ordered(pk_run_ctx(run), pk_run_input_count(run), each_work, each_emit, &job);
}

static const pk_op each_op = {
    .name = "test each",
    .summary = "Copy each input into a folder",
    .input_name = "FILE",
    .input_kind = "any",
    .min_inputs = 1,
    .max_inputs = -1,
    .params = scale_params,
    .run = each_run,
    .flags = PK_OP_WRITES,
};

/* ---- fixture and helpers ------------------------------------------------ */

typedef struct fixture {
    pk_ctx *ctx;
    char dir[64];
    char in1[128], in2[128], ref[128], out[128], sidecar[160];
} fixture;

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* SHA-256 of a file by sha256sum(1), an implementation independent of ours. */
static void sha256sum(const char *path, char hex[65])
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_int_equal(fscanf(p, "%64s", hex), 1);
    pclose(p);
}

static const char *real(const char *path, char buf[PATH_MAX])
{
    assert_non_null(realpath(path, buf));
    return buf;
}

/* Run the test operation with argv-like words; returns its status. */
static pk_status run_scale(pk_ctx *ctx, int argc, char **argv)
{
    pk_args *args;
    int help = 0;
    pk_status st = pk_args_parse(ctx, &scale_op, argc, argv, &args, &help);
    if (st != PK_OK)
        return st;
    st = pk_op_run(ctx, &scale_op, args, NULL);
    pk_args_free(args);
    return st;
}

/* The input entry for `path` in the record's "inputs", or NULL. */
static json_t *input_entry(json_t *rec, const char *path)
{
    char abs[PATH_MAX];
    real(path, abs);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(rec, "inputs"), i, e)
        if (strcmp(json_string_value(json_object_get(e, "path")), abs) == 0)
            return e;
    return NULL;
}

/* ---- tests ------------------------------------------------------------- */

static void test_sidecar_describes_the_run(void **state)
{
    fixture *f = *state;
    char *argv[] = {f->in1, f->in2, "-o", f->out, "--ref", f->ref, "--passes", "5"};
    assert_int_equal(run_scale(f->ctx, 8, argv), PK_OK);

    json_error_t jerr;
    json_t *rec = json_load_file(f->sidecar, 0, &jerr);
    assert_non_null(rec);
    assert_int_equal(json_integer_value(json_object_get(rec, "postkit_provenance")), 1);
    json_t *who = json_object_get(rec, "postkit");
    assert_string_equal(json_string_value(json_object_get(who, "version")), pk_version());
    assert_string_equal(json_string_value(json_object_get(who, "git")), pk_git_revision());
    assert_string_equal(json_string_value(json_object_get(rec, "operation")), "test scale");

    /* Every parameter, the defaults included, typed. */
    json_t *p = json_object_get(rec, "parameters");
    assert_float_equal(json_real_value(json_object_get(p, "gain")), -1.5, 1e-12);
    assert_int_equal(json_integer_value(json_object_get(p, "passes")), 5);
    assert_string_equal(json_string_value(json_object_get(p, "mode")), "fast");
    assert_string_equal(json_string_value(json_object_get(p, "output")), f->out);
    assert_string_equal(json_string_value(json_object_get(p, "ref")), f->ref);

    /* Positional inputs and the --ref file, each with sha256sum's hash. */
    assert_int_equal(json_array_size(json_object_get(rec, "inputs")), 3);
    const char *ins[] = {f->in1, f->in2, f->ref};
    for (size_t i = 0; i < 3; i++) {
        json_t *e = input_entry(rec, ins[i]);
        assert_non_null(e);
        char hex[65];
        sha256sum(ins[i], hex);
        assert_string_equal(json_string_value(json_object_get(e, "sha256")), hex);
        struct stat st;
        stat(ins[i], &st);
        assert_int_equal(json_integer_value(json_object_get(e, "size")), st.st_size);
    }

    /* The output: absolute path and sha256sum's hash of what is on disk. */
    json_t *o = json_object_get(rec, "output");
    char abs[PATH_MAX], hex[65];
    assert_string_equal(json_string_value(json_object_get(o, "path")), real(f->out, abs));
    sha256sum(f->out, hex);
    assert_string_equal(json_string_value(json_object_get(o, "sha256")), hex);

    json_t *m = json_array_get(json_object_get(rec, "models"), 0);
    assert_string_equal(json_string_value(json_object_get(m, "id")), "test-model");
    assert_float_equal(json_real_value(json_object_get(json_object_get(rec, "details"), "applied_gain_db")),
                       -1.5, 1e-12);
    assert_non_null(json_string_value(json_object_get(rec, "started")));
    assert_non_null(json_string_value(json_object_get(rec, "finished")));
    json_decref(rec);
}

static const char *check_status(pk_ctx *ctx, const char *path, char *buf, size_t size)
{
    json_t *rec;
    assert_int_equal(pk_provenance_read(ctx, path, &rec), PK_OK);
    snprintf(buf, size, "%s", json_string_value(json_object_get(json_object_get(rec, "check"), "status")));
    json_decref(rec);
    return buf;
}

static void test_check_unchanged_then_modified(void **state)
{
    fixture *f = *state;
    char *argv[] = {f->in1, "-o", f->out};
    assert_int_equal(run_scale(f->ctx, 3, argv), PK_OK);
    char s[64];
    assert_string_equal(check_status(f->ctx, f->out, s, sizeof s), "unchanged");
    /* Asking by the sidecar's name gives the same answer. */
    assert_string_equal(check_status(f->ctx, f->sidecar, s, sizeof s), "unchanged");
    FILE *fp = fopen(f->out, "ab");
    fputs("an edit", fp);
    fclose(fp);
    assert_string_equal(check_status(f->ctx, f->out, s, sizeof s), "modified");
    unlink(f->out);
    assert_string_equal(check_status(f->ctx, f->sidecar, s, sizeof s), "output missing");
}

/* Records collected by a sink, as the CLI would receive them. */
typedef struct collected {
    json_t *records;
    int errors;
} collected;

static void collect_record(void *user, const pk_op *op, json_t *record)
{
    (void)op;
    json_array_append(((collected *)user)->records, record);
}

static void collect_error(void *user, const pk_op *op, const char *path, pk_status status,
                          const char *message)
{
    (void)op, (void)path, (void)status, (void)message;
    ((collected *)user)->errors++;
}

/* The `provenance` operation itself, run from the registry. */
static void test_provenance_operation(void **state)
{
    fixture *f = *state;
    char *argv[] = {f->in1, "-o", f->out};
    assert_int_equal(run_scale(f->ctx, 3, argv), PK_OK);
    const pk_op *op = pk_op_find("provenance");
    assert_non_null(op);
    pk_args *args;
    assert_int_equal(pk_args_new(f->ctx, op, &args), PK_OK);
    assert_int_equal(pk_args_add_input(f->ctx, args, f->out), PK_OK);
    assert_int_equal(pk_args_add_input(f->ctx, args, f->in1), PK_OK); /* no record */
    assert_int_equal(pk_args_finish(f->ctx, args), PK_OK);
    collected c = {json_array(), 0};
    pk_sink sink = {collect_record, collect_error, &c};
    assert_int_equal(pk_op_run(f->ctx, op, args, &sink), PK_ERR_INPUT);
    assert_int_equal(json_array_size(c.records), 1);
    assert_int_equal(c.errors, 1);
    json_t *rec = json_array_get(c.records, 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(rec, "check"), "status")),
                        "unchanged");
    json_decref(c.records);
    pk_args_free(args);
}

static void test_existing_output_needs_force(void **state)
{
    fixture *f = *state;
    write_file(f->out, "older");
    char *argv[] = {f->in1, "-o", f->out};
    assert_int_equal(run_scale(f->ctx, 3, argv), PK_ERR_OUTPUT);
    assert_non_null(strstr(pk_ctx_errmsg(f->ctx), "already exists"));
    assert_int_equal(access(f->sidecar, F_OK), -1);
    char *forced[] = {f->in1, "-o", f->out, "--force"};
    assert_int_equal(run_scale(f->ctx, 4, forced), PK_OK);
    char s[64];
    assert_string_equal(check_status(f->ctx, f->out, s, sizeof s), "unchanged");
    /* The record describes the new file, not the one it replaced. */
    json_t *rec = json_load_file(f->sidecar, 0, NULL);
    char hex[65];
    sha256sum(f->out, hex);
    assert_string_equal(json_string_value(json_object_get(json_object_get(rec, "output"), "sha256")), hex);
    json_decref(rec);
    FILE *fp = fopen(f->out, "rb");
    char head[16] = "";
    assert_non_null(fgets(head, sizeof head, fp));
    fclose(fp);
    assert_string_equal(head, "first input\n");
}

/* An interrupted run publishes nothing: no output, no record, no temporary. */
static void test_interrupted_writes_nothing(void **state)
{
    fixture *f = *state;
    pk_ctx *ctx;
    assert_int_equal(pk_ctx_new(&ctx), PK_OK);
    pk_ctx_interrupt(ctx);
    char *argv[] = {f->in1, "-o", f->out};
    assert_int_equal(run_scale(ctx, 3, argv), PK_ERR_INTERRUPTED);
    pk_ctx_free(ctx);
    assert_int_equal(access(f->out, F_OK), -1);
    assert_int_equal(access(f->sidecar, F_OK), -1);
    DIR *d = opendir(f->dir);
    struct dirent *e;
    int temporaries = 0;
    while ((e = readdir(d)))
        temporaries += strstr(e->d_name, "postkit-tmp") != NULL;
    closedir(d);
    assert_int_equal(temporaries, 0);
}

/* Each output of a batch lists the input it was made from (and the files
 * named by options), not every input of the run; hashes are right even
 * though outputs were committed from several threads. */
static void test_each_output_lists_its_own_input(void **state)
{
    fixture *f = *state;
    char *argv[] = {f->in1, f->in2, "--ref", f->ref, "-o", f->dir, "-j", "2"};
    pk_args *args;
    int help = 0;
    assert_int_equal(pk_args_parse(f->ctx, &each_op, 8, argv, &args, &help), PK_OK);
    assert_int_equal(pk_op_run(f->ctx, &each_op, args, NULL), PK_OK);
    pk_args_free(args);
    const char *ins[] = {f->in1, f->in2};
    for (int k = 0; k < 2; k++) {
        char copy[PATH_MAX], side[PATH_MAX + 16];
        snprintf(copy, sizeof copy, "%s/%s.copy", f->dir, strrchr(ins[k], '/') + 1);
        snprintf(side, sizeof side, "%s.postkit.json", copy);
        json_error_t err;
        json_t *rec = json_load_file(side, 0, &err);
        assert_non_null(rec);
        assert_int_equal(json_array_size(json_object_get(rec, "inputs")), 2);
        json_t *own = input_entry(rec, ins[k]);
        assert_non_null(own);
        assert_null(input_entry(rec, ins[1 - k]));
        assert_non_null(input_entry(rec, f->ref));
        char want[65];
        sha256sum(ins[k], want);
        assert_string_equal(json_string_value(json_object_get(own, "sha256")), want);
        json_decref(rec);
        unlink(side);
        unlink(copy);
    }
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/pk-test-prov-XXXXXX");
    if (!mkdtemp(f->dir) || pk_ctx_new(&f->ctx) != PK_OK)
        return -1;
    snprintf(f->in1, sizeof f->in1, "%s/take one.wav", f->dir);
    snprintf(f->in2, sizeof f->in2, "%s/take2.wav", f->dir);
    snprintf(f->ref, sizeof f->ref, "%s/ref.wav", f->dir);
    snprintf(f->out, sizeof f->out, "%s/mix.wav", f->dir);
    snprintf(f->sidecar, sizeof f->sidecar, "%s/mix.wav.postkit.json", f->dir);
    write_file(f->in1, "first input\n");
    write_file(f->in2, "second input, a little longer\n");
    write_file(f->ref, "reference\n");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    const char *files[] = {f->in1, f->in2, f->ref, f->out, f->sidecar};
    for (size_t i = 0; i < PK_ARRAY_LEN(files); i++)
        unlink(files[i]);
    rmdir(f->dir);
    pk_ctx_free(f->ctx);
    free(f);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sidecar_describes_the_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_unchanged_then_modified, setup, teardown),
        cmocka_unit_test_setup_teardown(test_provenance_operation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_existing_output_needs_force, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupted_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_output_lists_its_own_input, setup, teardown),
    };
    return cmocka_run_group_tests_name("provenance", tests, NULL, NULL);
}
