/*
 * op_thumbnail.c — `postkit thumbnail`: small upright sRGB pictures of
 * photos, fast (shrink-on-load, a RAW file's embedded preview), several
 * files at once. The demo and the catalogue make their thumbnails here.
 *
 * Each picture is decoded, encoded and committed (through the safe-output
 * API, with its own provenance record) on a worker thread, so both cores
 * share all of the work; records are emitted in input order.
 */
#include "media/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <vips/vips.h>

#include <postkit/image.h>

typedef struct thumb_job {
    pk_run *run;
    int size;
    int quality;
    const char *format;   /* jpeg, webp, png */
    char **outputs;       /* per input */
} thumb_job;

typedef struct thumb_result {
    pk_status status;
    int width, height;
    double ms;
    char error[1024];
} thumb_result;

static const char *format_extension(const char *format)
{
    return strcmp(format, "jpeg") == 0 ? "jpg" : format;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* "IMG_0001" from "dir/IMG_0001.CR2"; a name without a dot (or only a
 * leading one) stays whole. */
static char *stem_of(const char *path)
{
    const char *base = base_name(path);
    const char *dot = strrchr(base, '.');
    return dot && dot != base ? g_strndup(base, (size_t)(dot - base)) : g_strdup(base);
}

/* Output paths for a folder: DIR/STEM.EXT. A later input whose stem is
 * taken (IMG_1.JPG after IMG_1.CR2) keeps its whole name (IMG_1.JPG.jpg);
 * when that is taken too (the same name in two folders), a number is
 * added (IMG_1-2.jpg). Names depend only on the order of the inputs. */
static void plan_folder(thumb_job *job, const char *dir)
{
    size_t n = pk_run_input_count(job->run);
    const char *ext = format_extension(job->format);
    GHashTable *taken = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    size_t dlen = strlen(dir);
    const char *sep = dlen && dir[dlen - 1] == '/' ? "" : "/";
    for (size_t i = 0; i < n; i++) {
        const char *in = pk_run_input(job->run, i);
        char *stem = stem_of(in);
        char *name = g_strdup_printf("%s.%s", stem, ext);
        if (g_hash_table_contains(taken, name)) {
            g_free(name);
            name = g_strdup_printf("%s.%s", base_name(in), ext);
        }
        for (int k = 2; g_hash_table_contains(taken, name); k++) {
            g_free(name);
            name = g_strdup_printf("%s-%d.%s", stem, k, ext);
        }
        g_free(stem);
        job->outputs[i] = g_strdup_printf("%s%s%s", dir, sep, name);
        g_hash_table_add(taken, name);
    }
    g_hash_table_destroy(taken);
}

/* Encode and commit one thumbnail made from `input`; returns its status
 * (wctx's message describes a failure). */
static pk_status write_thumbnail(thumb_job *job, pk_ctx *wctx, const char *input, const char *path,
                                 VipsImage *image)
{
    pk_output *o;
    pk_status s = pk_output_open_ctx(job->run, wctx, path, &o);
    if (s != PK_OK)
        return s;
    pk_output_add_input(o, input);
    pk_image_save_options so = {.quality = job->quality, .strip_metadata = 1, .name = path};
    s = pk_image_save(wctx, image, pk_output_tmp_path(o), job->format, &so);
    if (s != PK_OK) {
        pk_output_abort(job->run, o);
        return s;
    }
    pk_output_note(o, "width", json_integer(image->Xsize));
    pk_output_note(o, "height", json_integer(image->Ysize));
    return pk_output_commit(job->run, o);
}

static void *thumb_work(pk_ctx *wctx, size_t i, void *user)
{
    thumb_job *job = user;
    thumb_result *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    double t0 = pk_monotonic_seconds();
    const char *in = pk_run_input(job->run, i);
    VipsImage *image = NULL;
    r->status = pk_image_thumbnail(wctx, in, job->size, &image);
    if (r->status == PK_OK) {
        r->width = image->Xsize;
        r->height = image->Ysize;
        r->status = write_thumbnail(job, wctx, in, job->outputs[i], image);
    }
    if (image)
        g_object_unref(image);
    r->ms = (pk_monotonic_seconds() - t0) * 1000.0;
    if (r->status != PK_OK)
        snprintf(r->error, sizeof r->error, "%s", pk_ctx_errmsg(wctx));
    return r;
}

static void thumb_emit(size_t i, void *result, void *user)
{
    thumb_job *job = user;
    thumb_result *r = result;
    pk_ctx *ctx = pk_run_ctx(job->run);
    const char *in = pk_run_input(job->run, i);
    if (!r) {
        pk_run_file_failed(job->run, in, pk_fail(ctx, PK_ERR_INTERNAL, in, "out of memory"));
    } else if (r->status != PK_OK) {
        pk_fail(ctx, r->status, NULL, "%s", r->error);
        pk_run_file_failed(job->run, in, r->status);
    } else {
        json_t *rec = json_object();
        json_object_set_new(rec, "input", pk_json_string(in));
        json_object_set_new(rec, "output", pk_json_string(job->outputs[i]));
        json_object_set_new(rec, "width", json_integer(r->width));
        json_object_set_new(rec, "height", json_integer(r->height));
        json_object_set_new(rec, "ms", json_real(pk_round(r->ms, 1)));
        pk_run_emit(job->run, rec);
    }
    free(r);
    pk_progress_update(ctx, (double)(i + 1));
}

/* -o names a folder when it is one, or ends with '/'. */
static int names_folder(const char *out)
{
    struct stat st;
    size_t len = strlen(out);
    return (len && out[len - 1] == '/') || (stat(out, &st) == 0 && S_ISDIR(st.st_mode));
}

/* One input and -o naming a file: the format comes from --format when
 * given, else from the file's extension; the two must agree. */
static pk_status plan_file(thumb_job *job, const char *out)
{
    pk_ctx *ctx = pk_run_ctx(job->run);
    const char *by_ext = NULL;
    int known = pk_image_format_from_path(ctx, out, &by_ext) == PK_OK;
    if (known && strcmp(by_ext, "tiff") == 0)
        return pk_fail(ctx, PK_ERR_USAGE, out, "thumbnails are written as jpeg, webp or png");
    if (pk_run_is_set(job->run, "format")) {
        if (known && strcmp(by_ext, job->format) != 0)
            return pk_fail(ctx, PK_ERR_USAGE, out, "the extension says %s but --format says %s",
                           by_ext, job->format);
    } else if (known) {
        job->format = by_ext;
    }
    job->outputs[0] = g_strdup(out);
    return PK_OK;
}

static pk_status thumb_run(pk_run *run)
{
    pk_ctx *ctx = pk_run_ctx(run);
    size_t n = pk_run_input_count(run);
    const char *out = pk_run_str(run, "output");
    thumb_job job = {
        .run = run,
        .size = (int)pk_run_int(run, "size"),
        .quality = (int)pk_run_int(run, "quality"),
        .format = pk_run_str(run, "format"),
        .outputs = calloc(n, sizeof(char *)),
    };
    pk_status st = PK_OK;
    if (!job.outputs)
        st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    else if (names_folder(out)) {
        struct stat sb;
        if (stat(out, &sb) != 0)
            st = pk_fail(ctx, PK_ERR_OUTPUT, out, "folder does not exist");
        else
            plan_folder(&job, out);
    } else if (n > 1) {
        st = pk_fail(ctx, PK_ERR_OUTPUT, out,
                     "with several inputs, -o must name an existing folder");
    } else {
        st = plan_file(&job, out);
    }
    if (st == PK_OK) {
        pk_progress_begin(ctx, "thumbnail", (double)n, "files");
        st = pk_parallel_ordered(ctx, n, thumb_work, thumb_emit, &job);
        pk_progress_end(ctx);
    }
    for (size_t i = 0; i < n && job.outputs; i++)
        g_free(job.outputs[i]);
    free(job.outputs);
    return st;
}

static void thumb_print(const json_t *rec, FILE *out)
{
    fprintf(out, "%s -> %s (%lldx%lld, %.0f ms)\n", json_string_value(json_object_get(rec, "input")),
            json_string_value(json_object_get(rec, "output")),
            (long long)json_integer_value(json_object_get(rec, "width")),
            (long long)json_integer_value(json_object_get(rec, "height")),
            json_real_value(json_object_get(rec, "ms")));
}

static const pk_param_spec thumb_params[] = {
    {.name = "output", .short_opt = 'o', .type = PK_PARAM_PATH_OUT, .metavar = "DIR|FILE",
     .flags = PK_PARAM_REQUIRED,
     .help = "folder for NAME.jpg thumbnails (must exist); a file name with one input"},
    {.name = "size", .type = PK_PARAM_INT, .defval = "512", .min = 16, .max = 8192, .unit = "px",
     .help = "longest side; smaller pictures are not enlarged"},
    {.name = "format", .type = PK_PARAM_ENUM, .defval = "jpeg", .choices = "jpeg|webp|png",
     .help = "file format (with -o FILE, its extension decides unless given)"},
    {.name = "quality", .type = PK_PARAM_INT, .defval = "85", .min = 1, .max = 100,
     .help = "JPEG/WebP quality"},
    {.name = NULL},
};

const pk_op pk_op_thumbnail = {
    .name = "thumbnail",
    .summary = "Make small upright sRGB thumbnails of photos, fast",
    .description = "One thumbnail per photo (JPEG, PNG, TIFF, WebP, HEIC, GIF, camera RAW), its "
                   "longest side --size pixels, turned upright by its EXIF orientation, converted "
                   "to sRGB through its ICC profile, metadata stripped. Decoding shrinks on load; a "
                   "RAW file gives its embedded preview when that is big enough. Files are processed "
                   "in parallel; one that cannot be read is reported and the others go on (exit "
                   "status 3 when any input failed). Videos are not supported yet.",
    .input_name = "IMAGE",
    .input_kind = "image",
    .min_inputs = 1,
    .max_inputs = -1,
    .params = thumb_params,
    .run = thumb_run,
    .print_human = thumb_print,
    .flags = PK_OP_WRITES,
};
