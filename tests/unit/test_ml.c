/* Unit tests: the ONNX Runtime wrapper and the model store.
 *
 * Needs the standard models installed (`make models`, which `make test`
 * runs) in the store the environment names. Each model runs on the
 * reference pattern input and must match tests/golden/models.json: for the
 * models converted from TF.js those numbers were computed by TF.js itself,
 * for the ONNX-as-is models by ONNX Runtime 1.29 when they were pinned (a
 * regression anchor; the speech/silence test below checks Silero VAD's
 * meaning independently). Setting PK_WRITE_GOLDEN=FILE writes what this
 * build computes instead of comparing (to review, never to paper over a
 * difference). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ml/internal.h"

typedef struct fixture {
    pk_ctx *ctx;
    json_t *golden;
    json_t *written;   /* PK_WRITE_GOLDEN mode */
    char tmp[256];
    char *store;
} fixture;

static const char *root(void)
{
    const char *r = getenv("PK_ROOT");
    return r && *r ? r : ".";
}

/* ---- golden outputs ---- */

/* Build the inputs a golden entry describes: "pattern", "zeros" or an
 * integer constant. */
static void make_inputs(pk_model *m, const json_t *spec, pk_tensor *in)
{
    for (size_t i = 0; i < pk_model_input_count(m); i++) {
        const pk_tensor_info *info = pk_model_input(m, i);
        const json_t *s = json_object_get(spec, info->name);
        assert_non_null(s);
        const json_t *shape = json_object_get(s, "shape");
        in[i].type = info->type;
        in[i].rank = (int)json_array_size(shape);
        for (int d = 0; d < in[i].rank; d++)
            in[i].dims[d] = json_integer_value(json_array_get(shape, (size_t)d));
        size_t n = pk_tensor_count(&in[i]);
        const char *fill = json_string_value(json_object_get(s, "fill"));
        if (info->type == PK_TENSOR_FLOAT32) {
            float *f = calloc(n ? n : 1, sizeof *f);
            if (fill && strcmp(fill, "pattern") == 0)
                pk_ml_pattern(f, n);
            in[i].data = f;
        } else {
            int64_t *v = calloc(n ? n : 1, sizeof *v);
            for (size_t k = 0; k < n; k++)
                v[k] = json_integer_value(json_object_get(s, "value"));
            in[i].data = v;
        }
    }
}

static json_t *summary(const pk_tensor *t)
{
    const float *f = t->data;
    size_t n = pk_tensor_count(t);
    double sum = 0, sumabs = 0, maxabs = 0;
    json_t *first = json_array();
    for (size_t i = 0; i < n; i++) {
        sum += f[i];
        sumabs += fabs(f[i]);
        if (fabs(f[i]) > maxabs)
            maxabs = fabs(f[i]);
        if (i < 8)
            json_array_append_new(first, json_real(f[i]));
    }
    json_t *shape = json_array();
    for (int d = 0; d < t->rank; d++)
        json_array_append_new(shape, json_integer(t->dims[d]));
    return json_pack("{s:o,s:o,s:f,s:f,s:f}", "shape", shape, "first", first, "sum", sum, "sumabs",
                     sumabs, "maxabs", maxabs);
}

/* got agrees with the golden summary within tol relative to the output's
 * scale (its largest magnitude, or the sum of magnitudes for sums). */
static void check_summary(const char *id, const char *name, const json_t *got, const json_t *want,
                          double tol)
{
    assert_true(json_equal(json_object_get(got, "shape"), json_object_get(want, "shape")));
    double maxabs = json_number_value(json_object_get(want, "maxabs"));
    double sumabs = json_number_value(json_object_get(want, "sumabs"));
    double worst = 0;
    for (size_t i = 0; i < json_array_size(json_object_get(want, "first")); i++) {
        double a = json_number_value(json_array_get(json_object_get(got, "first"), i));
        double b = json_number_value(json_array_get(json_object_get(want, "first"), i));
        double e = fabs(a - b) / (maxabs > 0 ? maxabs : 1);
        worst = e > worst ? e : worst;
    }
    double es = fabs(json_number_value(json_object_get(got, "sum")) -
                     json_number_value(json_object_get(want, "sum"))) / (sumabs > 0 ? sumabs : 1);
    double ea = fabs(json_number_value(json_object_get(got, "sumabs")) - sumabs) / (sumabs > 0 ? sumabs : 1);
    worst = fmax(worst, fmax(es, ea));
    if (worst > tol)
        print_error("%s/%s: relative difference %.3g > %.3g\n", id, name, worst, tol);
    assert_true(worst <= tol);
}

static void test_models_match_golden(void **state)
{
    fixture *f = *state;
    const json_t *models = json_object_get(f->golden, "models");
    double tol = json_number_value(json_object_get(f->golden, "tolerance"));
    assert_true(json_object_size(models) >= 6);
    const char *id;
    const json_t *g;
    json_object_foreach((json_t *)models, id, g)
    {
        pk_model *m;
        pk_status st = pk_model_open(f->ctx, id, &m);
        if (st != PK_OK)
            print_error("%s (run `make models`)\n", pk_ctx_errmsg(f->ctx));
        assert_int_equal(st, PK_OK);
        size_t n_in = pk_model_input_count(m), n_out = pk_model_output_count(m);
        pk_tensor in[8] = {0}, out[8] = {0};
        assert_true(n_in <= 8 && n_out <= 8);
        make_inputs(m, json_object_get(g, "inputs"), in);
        assert_int_equal(pk_model_run(f->ctx, m, in, n_in, out, n_out), PK_OK);
        json_t *outs = f->written ? json_object() : NULL;
        for (size_t k = 0; k < n_out; k++) {
            const char *name = pk_model_output(m, k)->name;
            json_t *got = summary(&out[k]);
            if (outs)
                json_object_set(outs, name, got);
            else
                check_summary(id, name, got, json_object_get(json_object_get(g, "outputs"), name), tol);
            json_decref(got);
            pk_tensor_clear(&out[k]);
        }
        if (f->written) {
            json_t *entry = json_deep_copy(g);
            json_object_set_new(entry, "outputs", outs);
            json_object_set_new(json_object_get(f->written, "models"), id, entry);
        }
        for (size_t k = 0; k < n_in; k++)
            free(in[k].data);
        pk_model_free(m);
    }
}

/* A batch of two through a model with a dynamic batch equals two runs. */
static void test_batching(void **state)
{
    fixture *f = *state;
    pk_model *m;
    assert_int_equal(pk_model_open(f->ctx, "mobilefacenet", &m), PK_OK);
    assert_int_equal(pk_model_max_batch(m), 0);
    const size_t item = 112 * 112 * 3;
    float *two = malloc(2 * item * sizeof *two);
    pk_ml_pattern(two, 2 * item); /* two different faces-worth of input */
    pk_tensor in = {.type = PK_TENSOR_FLOAT32, .rank = 4, .dims = {2, 112, 112, 3}, .data = two};
    pk_tensor out = {0};
    assert_int_equal(pk_model_run(f->ctx, m, &in, 1, &out, 1), PK_OK);
    assert_int_equal(out.dims[0], 2);
    assert_int_equal(out.dims[1], 192);
    for (int b = 0; b < 2; b++) {
        pk_tensor one = {.type = PK_TENSOR_FLOAT32, .rank = 4, .dims = {1, 112, 112, 3},
                         .data = two + (size_t)b * item};
        pk_tensor o1 = {0};
        assert_int_equal(pk_model_run(f->ctx, m, &one, 1, &o1, 1), PK_OK);
        double err = pk_ml_relative_error(o1.data, (float *)out.data + b * 192, 192);
        assert_true(err < 1e-5);
        pk_tensor_clear(&o1);
    }
    /* The two items differ, so the batch really carried two inputs. */
    assert_true(pk_ml_relative_error(out.data, (float *)out.data + 192, 192) > 1e-3);
    pk_tensor_clear(&out);
    pk_model_free(m);

    /* BlazeFace takes exactly one image: a batch of two is refused with the
     * model, the input and both shapes named. */
    assert_int_equal(pk_model_open(f->ctx, "blazeface-front", &m), PK_OK);
    assert_int_equal(pk_model_max_batch(m), 1);
    float *img = calloc(2 * 128 * 128 * 3, sizeof *img);
    pk_tensor bad = {.type = PK_TENSOR_FLOAT32, .rank = 4, .dims = {2, 128, 128, 3}, .data = img};
    pk_tensor outs[4];
    assert_int_equal(pk_model_run(f->ctx, m, &bad, 1, outs, 4), PK_ERR_INTERNAL);
    assert_non_null(strstr(pk_ctx_errmsg(f->ctx), "blazeface-front"));
    assert_non_null(strstr(pk_ctx_errmsg(f->ctx), "[1,128,128,3]"));
    assert_non_null(strstr(pk_ctx_errmsg(f->ctx), "[2,128,128,3]"));
    free(img);
    free(two);
    pk_model_free(m);

    /* blazeface-back is installed as a copy with an open batch (the
     * detector's tiles in one run): four different windows in one run give
     * each window's own single-run outputs. */
    assert_int_equal(pk_model_open(f->ctx, "blazeface-back", &m), PK_OK);
    assert_int_equal(pk_model_max_batch(m), 0);
    const size_t window = 256 * 256 * 3;
    float *four = malloc(4 * window * sizeof *four);
    pk_ml_pattern(four, 4 * window);
    pk_tensor batch = {.type = PK_TENSOR_FLOAT32, .rank = 4, .dims = {4, 256, 256, 3}, .data = four};
    pk_tensor all[4];
    assert_int_equal(pk_model_run(f->ctx, m, &batch, 1, all, 4), PK_OK);
    for (int b = 0; b < 4; b++) {
        pk_tensor one = {.type = PK_TENSOR_FLOAT32, .rank = 4, .dims = {1, 256, 256, 3},
                         .data = four + (size_t)b * window};
        pk_tensor single[4];
        assert_int_equal(pk_model_run(f->ctx, m, &one, 1, single, 4), PK_OK);
        for (int o = 0; o < 4; o++) {
            size_t count = pk_tensor_count(&single[o]);
            assert_int_equal(all[o].dims[0], 4);
            assert_int_equal(pk_tensor_count(&all[o]), 4 * count);
            assert_true(pk_ml_relative_error((float *)all[o].data + (size_t)b * count, single[o].data, count) < 1e-5);
            pk_tensor_clear(&single[o]);
        }
    }
    assert_true(pk_ml_relative_error(all[2].data, (float *)all[2].data + pk_tensor_count(&all[2]) / 4,
                                     pk_tensor_count(&all[2]) / 4) > 1e-3);
    for (int o = 0; o < 4; o++)
        pk_tensor_clear(&all[o]);
    free(four);
    pk_model_free(m);
}

/* One thread or two: the same numbers. */
static void test_threads(void **state)
{
    fixture *f = *state;
    float *x = malloc(224 * 224 * 3 * sizeof *x);
    pk_ml_pattern(x, 224 * 224 * 3);
    pk_tensor in = {.type = PK_TENSOR_FLOAT32, .rank = 4, .dims = {1, 224, 224, 3}, .data = x};
    pk_tensor out[2][3];
    for (int t = 0; t < 2; t++) {
        pk_ctx_set_threads(f->ctx, t + 1);
        pk_model *m;
        assert_int_equal(pk_model_open(f->ctx, "faceres", &m), PK_OK);
        assert_int_equal(pk_model_run(f->ctx, m, &in, 1, out[t], 3), PK_OK);
        pk_model_free(m);
    }
    pk_ctx_set_threads(f->ctx, 0);
    for (int k = 0; k < 3; k++) {
        assert_true(pk_ml_relative_error(out[0][k].data, out[1][k].data, pk_tensor_count(&out[0][k])) < 1e-5);
        pk_tensor_clear(&out[0][k]);
        pk_tensor_clear(&out[1][k]);
    }
    free(x);
}

/* ---- store: altered, missing, unknown ---- */

static void copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    assert_non_null(a);
    assert_non_null(b);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0)
        assert_int_equal(fwrite(buf, 1, n, b), n);
    fclose(a);
    fclose(b);
}

static void test_altered_model_refused(void **state)
{
    fixture *f = *state;
    char dir[400], from[1024], to[1024];
    snprintf(dir, sizeof dir, "%s/store/blazeface-front", f->tmp);
    assert_int_equal(pk_mkdirs(f->ctx, dir), PK_OK);
    snprintf(from, sizeof from, "%s/blazeface-front/face_detection_front_128x128.onnx", f->store);
    snprintf(to, sizeof to, "%s/face_detection_front_128x128.onnx", dir);
    copy_file(from, to);
    char store[400];
    snprintf(store, sizeof store, "%s/store", f->tmp);
    setenv("POSTKIT_MODELS", store, 1);

    pk_model *m;
    assert_int_equal(pk_model_open(f->ctx, "blazeface-front", &m), PK_OK); /* intact copy loads */
    pk_model_free(m);

    /* Change one byte in the middle of the weights. */
    FILE *fp = fopen(to, "r+b");
    fseek(fp, 200000, SEEK_SET);
    int c = fgetc(fp);
    fseek(fp, 200000, SEEK_SET);
    fputc(c ^ 0x01, fp);
    fclose(fp);
    assert_int_equal(pk_model_open(f->ctx, "blazeface-front", &m), PK_ERR_INPUT);
    assert_null(m);
    const char *msg = pk_ctx_errmsg(f->ctx);
    assert_non_null(strstr(msg, to));
    assert_non_null(strstr(msg, "altered"));
    assert_non_null(strstr(msg, "postkit models install blazeface-front"));
    assert_null(strchr(msg, '\n'));
    setenv("POSTKIT_MODELS", f->store, 1);
}

static void test_missing_and_unknown(void **state)
{
    fixture *f = *state;
    char empty[512];
    snprintf(empty, sizeof empty, "%s/empty-store", f->tmp);
    assert_int_equal(pk_mkdirs(f->ctx, empty), PK_OK);
    setenv("POSTKIT_MODELS", empty, 1);
    pk_model *m;
    assert_int_equal(pk_model_open(f->ctx, "silero-vad", &m), PK_ERR_INPUT);
    assert_non_null(strstr(pk_ctx_errmsg(f->ctx), "not installed"));
    assert_non_null(strstr(pk_ctx_errmsg(f->ctx), "postkit models install silero-vad"));
    setenv("POSTKIT_MODELS", f->store, 1);
    assert_int_equal(pk_model_open(f->ctx, "no-such-model", &m), PK_ERR_INPUT);
    assert_non_null(strstr(pk_ctx_errmsg(f->ctx), "unknown model 'no-such-model'"));
    /* A file that is no ONNX model: an input error, one line, naming it. */
    char junk[512];
    snprintf(junk, sizeof junk, "%s/junk.onnx", f->tmp);
    FILE *fp = fopen(junk, "w");
    fputs("this is not a model\n", fp);
    fclose(fp);
    assert_int_equal(pk_model_open_file(f->ctx, junk, "junk", NULL, NULL, &m), PK_ERR_INPUT);
    assert_non_null(strstr(pk_ctx_errmsg(f->ctx), junk));
    assert_null(strchr(pk_ctx_errmsg(f->ctx), '\n'));
}

/* ---- Silero VAD end to end: speech vs silence ---- */

/* Run Silero over a 16 kHz mono float file in 512-sample chunks, each
 * preceded by the previous chunk's last 64 samples (the model's context, as
 * Silero's own wrappers feed it), carrying the state; returns the mean
 * speech probability. */
static double vad_mean(fixture *f, pk_model *m, const char *raw_path, double *max_out)
{
    FILE *fp = fopen(raw_path, "rb");
    assert_non_null(fp);
    enum { CONTEXT = 64, WINDOW = 512 };
    float buf[CONTEXT + WINDOW] = {0}, state[2 * 128] = {0};
    int64_t sr = 16000;
    double sum = 0, max = 0;
    int n = 0;
    while (fread(buf + CONTEXT, sizeof(float), WINDOW, fp) == WINDOW) {
        pk_tensor in[3] = {
            {.type = PK_TENSOR_FLOAT32, .rank = 2, .dims = {1, CONTEXT + WINDOW}, .data = buf},
            {.type = PK_TENSOR_FLOAT32, .rank = 3, .dims = {2, 1, 128}, .data = state},
            {.type = PK_TENSOR_INT64, .rank = 0, .data = &sr},
        };
        pk_tensor out[2];
        assert_int_equal(pk_model_run(f->ctx, m, in, 3, out, 2), PK_OK);
        double p = ((float *)out[0].data)[0];
        memcpy(state, out[1].data, sizeof state);
        memmove(buf, buf + WINDOW, CONTEXT * sizeof(float));
        sum += p;
        max = p > max ? p : max;
        n++;
        pk_tensor_clear(&out[0]);
        pk_tensor_clear(&out[1]);
    }
    fclose(fp);
    assert_true(n > 20);
    *max_out = max;
    return sum / n;
}

static void test_silero_speech_vs_silence(void **state)
{
    fixture *f = *state;
    char wav[300], speech[300], silence[300], cmd[2048];
    snprintf(wav, sizeof wav, "%s/speech.wav", f->tmp);
    snprintf(speech, sizeof speech, "%s/speech.f32", f->tmp);
    snprintf(silence, sizeof silence, "%s/silence.f32", f->tmp);
    snprintf(cmd, sizeof cmd,
             "espeak-ng -w '%s' 'The quick brown fox jumps over the lazy dog. "
             "Post production needs voice activity detection.' && "
             "ffmpeg -v error -y -i '%s' -ac 1 -ar 16000 -f f32le '%s' && "
             "ffmpeg -v error -y -f lavfi -i 'anoisesrc=r=16000:a=0.002:c=pink:d=3' -f f32le '%s'",
             wav, wav, speech, silence);
    assert_int_equal(system(cmd), 0);
    pk_model *m;
    assert_int_equal(pk_model_open(f->ctx, "silero-vad", &m), PK_OK);
    double smax, qmax;
    double s = vad_mean(f, m, speech, &smax);
    double q = vad_mean(f, m, silence, &qmax);
    print_message("# silero-vad: speech mean %.3f max %.3f; quiet noise mean %.3f max %.3f\n", s, smax,
                  q, qmax);
    assert_true(smax > 0.9);
    assert_true(s > 0.5);
    assert_true(qmax < 0.2);
    assert_true(q < 0.1);
    pk_model_free(m);
}

/* ---- provenance: a run that uses a model records its identity ---- */

static pk_status model_user_run(pk_run *run)
{
    pk_model *m;
    pk_status st = pk_run_open_model(run, "emotion", &m);
    if (st != PK_OK)
        return st;
    pk_output *o;
    st = pk_output_open(run, pk_run_str(run, "output"), &o);
    if (st == PK_OK) {
        fputs("result\n", pk_output_file(o));
        st = pk_output_commit(run, o);
    }
    pk_model_free(m);
    return st;
}

static const pk_param_spec model_user_params[] = {
    {.name = "output", .type = PK_PARAM_STRING, .flags = PK_PARAM_REQUIRED, .help = "output"},
    {.name = NULL},
};

static const pk_op model_user_op = {
    .name = "model-user", .summary = "test", .input_name = "", .input_kind = "none",
    .params = model_user_params, .run = model_user_run, .flags = PK_OP_WRITES | PK_OP_NO_INPUTS,
};

static void test_provenance_names_the_model(void **state)
{
    fixture *f = *state;
    char out[400];
    snprintf(out, sizeof out, "%s/result.txt", f->tmp);
    pk_args *args;
    assert_int_equal(pk_args_new(f->ctx, &model_user_op, &args), PK_OK);
    assert_int_equal(pk_args_set(f->ctx, args, "output", out), PK_OK);
    assert_int_equal(pk_args_finish(f->ctx, args), PK_OK);
    assert_int_equal(pk_op_run(f->ctx, &model_user_op, args, NULL), PK_OK);
    pk_args_free(args);
    json_t *rec;
    assert_int_equal(pk_provenance_read(f->ctx, out, &rec), PK_OK);
    json_t *model = json_array_get(json_object_get(rec, "models"), 0);
    assert_string_equal(json_string_value(json_object_get(model, "id")), "emotion");
    assert_string_equal(json_string_value(json_object_get(model, "version")), "3.0.4");
    json_t *manifest;
    assert_int_equal(pk_manifest_load(f->ctx, &manifest), PK_OK);
    assert_string_equal(json_string_value(json_object_get(model, "sha256")),
                        pk_entry_str(pk_manifest_find(manifest, "emotion"), "sha256"));
    json_decref(manifest);
    json_decref(rec);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    const char *tmp = getenv("PK_TMP");
    snprintf(f->tmp, sizeof f->tmp, "%s/pk-test-ml-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->tmp) || pk_ctx_new(&f->ctx) != PK_OK)
        return -1;
    f->store = pk_models_dir();
    if (!f->store)
        return -1;
    setenv("POSTKIT_MODELS", f->store, 1);
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/golden/models.json", root());
    json_error_t err;
    f->golden = json_load_file(path, 0, &err);
    if (!f->golden) {
        fprintf(stderr, "%s: %s (is PK_ROOT set?)\n", path, err.text);
        return -1;
    }
    if (getenv("PK_WRITE_GOLDEN")) {
        f->written = json_deep_copy(f->golden);
        json_object_set_new(f->written, "models", json_object());
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->written) {
        json_dump_file(f->written, getenv("PK_WRITE_GOLDEN"), JSON_INDENT(2) | JSON_REAL_PRECISION(9));
        json_decref(f->written);
    }
    pk_remove_tree(f->tmp);
    json_decref(f->golden);
    pk_ctx_free(f->ctx);
    free(f->store);
    free(f);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_models_match_golden),
        cmocka_unit_test(test_batching),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_altered_model_refused),
        cmocka_unit_test(test_missing_and_unknown),
        cmocka_unit_test(test_silero_speech_vs_silence),
        cmocka_unit_test(test_provenance_names_the_model),
    };
    return cmocka_run_group_tests_name("ml", tests, setup, teardown);
}
