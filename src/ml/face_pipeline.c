/*
 * face_pipeline.c — the face finder: detect, align, embed, read the
 * expression, judge the quality.
 *
 * Alignment fits a similarity transform from four BlazeFace keypoints
 * (both eyes, nose tip, mouth centre) onto a template. The embedding model
 * is faceres (1024-d): mobilefacenet, as converted, gives nearly the same
 * vector for every face (AUC 0.68 on the deepface pairs against faceres'
 * 0.999), see the README. faceres' template is where those keypoints lie,
 * on average, in BlazeFace's face box (measured on the deepface set), with
 * a 10 % margin; the crop is 224x224 RGB in 0..255. The expression model
 * reads a 64x64 grey crop of the same template with a 20 % margin, grey
 * scaled to [-1, 1] (as the Human library feeds it); the sharpness is the
 * Laplacian variance of that crop, so it measures the detail a face has at
 * one scale whatever its size in the picture.
 */
#include "media/internal.h"
#include "media/jpeg.h"
#include "ml/face.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <postkit/image.h>

/* Keypoints (right eye, left eye, nose, mouth) in the face box, as
 * fractions of its side. */
static const double face_template[4][2] = {{0.29, 0.28}, {0.71, 0.28}, {0.50, 0.52}, {0.50, 0.73}};
enum { EMBED_SIZE = 224, EXPR_SIZE = 64, MAX_BATCH = 8 };
#define EMBED_MARGIN 1.1
#define EXPR_MARGIN 1.2

struct pk_face_finder {
    pk_face_options opts;
    pk_model *detect, *embed, *expr;
    pk_face_detector *detector;
    int descriptor_output;   /* which output of the embedding model */
};

static const char *const expression_names[PK_EXPRESSIONS] = {"angry", "disgust", "fear", "happy",
                                                              "sad",   "surprise", "neutral"};

const char *pk_expression_name(int expr)
{
    return expr >= 0 && expr < PK_EXPRESSIONS ? expression_names[expr] : "?";
}

void pk_face_options_init(pk_face_options *o)
{
    memset(o, 0, sizeof *o);
    o->levels = 2;
    o->min_score = 0.5;
    /* 864, not 1024: every 12 MP photo, of any aspect (3464 px square to
     * 4761 px panorama), then decodes at 1/4 of its size (866 px and up)
     * rather than 1/2 for the squarer ones (a 4000x3000 photo was 2000 px):
     * a quarter less CPU per photo over the 12 MP bench, the same quality
     * figures on the faces corpus (bench/RESULTS.md, faces round 5). */
    o->load_size = 864;
    o->embed = 1;
    o->expressions = 1;
    o->threads = 1;
}

void pk_face_finder_free(pk_face_finder *f)
{
    if (!f)
        return;
    pk_face_detector_free(f->detector);
    pk_model_free(f->detect);
    pk_model_free(f->embed);
    pk_model_free(f->expr);
    free(f);
}

/* One model opened on a thread of its own: the embedding model takes
 * most of the finder's start-up (≈ 0.45 s, nearly all of it ONNX Runtime
 * building its session) while the other models and the runtime itself load
 * on the calling thread; a second core would otherwise idle meanwhile. */
typedef struct model_load {
    pk_ctx *ctx;             /* the thread's own, for its error */
    const char *id;
    pk_model *model;
    pk_status status;
} model_load;

static void *load_model(void *arg)
{
    model_load *l = arg;
    l->status = pk_model_open(l->ctx, l->id, &l->model);
    return NULL;
}

/* A context for model loading with `threads` threads per model run (the
 * caller's context, shared with its workers, does not hold that count).
 * NULL when out of memory. */
static pk_ctx *model_ctx(int threads)
{
    pk_ctx *c;
    if (pk_ctx_new(&c) != PK_OK)
        return NULL;
    pk_ctx_set_threads(c, threads);
    return c;
}

pk_status pk_face_finder_new(pk_ctx *ctx, const pk_face_options *opts, pk_face_finder **out)
{
    *out = NULL;
    if (opts->levels < 1 || opts->levels > 4 || !(opts->min_score > 0 && opts->min_score < 1) ||
        opts->load_size < 256 || opts->threads < 1)
        return pk_fail(ctx, PK_ERR_USAGE, NULL,
                       "face options out of range (levels %d, min_score %g, load_size %d, threads %d)",
                       opts->levels, opts->min_score, opts->load_size, opts->threads);
    pk_face_finder *f = calloc(1, sizeof *f);
    model_load embed = {.id = PK_FACE_EMBED_MODEL, .status = PK_OK};
    pk_ctx *mctx = model_ctx(opts->threads);
    if (opts->embed)
        embed.ctx = model_ctx(opts->threads);
    if (!f || !mctx || (opts->embed && !embed.ctx)) {
        free(f);
        pk_ctx_free(mctx);
        pk_ctx_free(embed.ctx);
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    f->opts = *opts;
    pthread_t loader;
    int threaded = opts->embed && pthread_create(&loader, NULL, load_model, &embed) == 0;
    if (opts->embed && !threaded)
        load_model(&embed);
    pk_status st = pk_model_open(mctx, PK_FACE_DETECT_MODEL, &f->detect);
    if (st == PK_OK && opts->expressions)
        st = pk_model_open(mctx, PK_FACE_EXPR_MODEL, &f->expr);
    if (threaded)
        pthread_join(loader, NULL);
    f->embed = embed.model;
    /* The detector's error first, as when the models loaded in turn. */
    if (st != PK_OK)
        pk_ctx_copy_error(ctx, mctx);
    else if ((st = embed.status) != PK_OK)
        pk_ctx_copy_error(ctx, embed.ctx);
    pk_ctx_free(mctx);
    pk_ctx_free(embed.ctx);
    if (st == PK_OK && f->embed) {
        /* faceres' outputs are gender, descriptor, age: find the 1024-wide one. */
        f->descriptor_output = -1;
        for (size_t i = 0; i < pk_model_output_count(f->embed); i++) {
            const pk_tensor_info *o = pk_model_output(f->embed, i);
            if (o->rank == 2 && o->dims[1] > 1 && o->dims[1] <= PK_FACE_DIM_MAX && o->dims[1] != 100)
                f->descriptor_output = (int)i;
        }
        if (f->descriptor_output < 0)
            st = pk_fail(ctx, PK_ERR_INPUT, pk_model_path(f->embed), "model '%s' has no descriptor output",
                         PK_FACE_EMBED_MODEL);
    }
    if (st == PK_OK)
        st = pk_face_detector_new(ctx, f->detect, NULL, &f->detector);
    if (st != PK_OK) {
        pk_face_finder_free(f);
        return st;
    }
    *out = f;
    return PK_OK;
}

size_t pk_face_finder_models(const pk_face_finder *f, const pk_model *models[4])
{
    size_t n = 0;
    models[n++] = f->detect;
    if (f->embed)
        models[n++] = f->embed;
    if (f->expr)
        models[n++] = f->expr;
    return n;
}

double pk_face_similarity(const float *a, const float *b, int dim)
{
    double s = 0;
    for (int i = 0; i < dim; i++)
        s += (double)a[i] * b[i];
    return s;
}

/* The transform taking the detection's keypoints onto the template in a
 * size x size crop, the template shrunk by `margin` about its centre. */
static pk_sim2 template_transform(const pk_face_det *d, int size, double margin)
{
    double src[8], dst[8];
    for (int k = 0; k < 4; k++) {
        src[2 * k] = d->kp[k][0];
        src[2 * k + 1] = d->kp[k][1];
        dst[2 * k] = ((face_template[k][0] - 0.5) / margin + 0.5) * size;
        dst[2 * k + 1] = ((face_template[k][1] - 0.5) / margin + 0.5) * size;
    }
    return pk_sim2_fit(src, dst, 4);
}

static void l2_normalise(float *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += (double)v[i] * v[i];
    if (s <= 0)
        return;
    float k = (float)(1.0 / sqrt(s));
    for (int i = 0; i < n; i++)
        v[i] *= k;
}

/* Embeddings of faces [first, first + count) from their crops. */
static pk_status embed_batch(pk_ctx *ctx, pk_face_finder *f, const float *crops, int count, pk_face *faces)
{
    pk_tensor in = {.type = PK_TENSOR_FLOAT32, .rank = 4, .dims = {count, EMBED_SIZE, EMBED_SIZE, 3},
                    .data = (void *)crops};
    pk_tensor out[3];
    size_t nout = (size_t)f->descriptor_output + 1;
    pk_status st = pk_model_run(ctx, f->embed, &in, 1, out, nout);
    if (st != PK_OK)
        return st;
    const pk_tensor *d = &out[f->descriptor_output];
    int dim = d->rank == 2 ? (int)d->dims[1] : 0;
    if (dim <= 0 || dim > PK_FACE_DIM_MAX || d->dims[0] != count)
        st = pk_fail(ctx, PK_ERR_INTERNAL, pk_model_path(f->embed), "unexpected descriptor shape");
    for (int i = 0; st == PK_OK && i < count; i++) {
        memcpy(faces[i].embedding, (const float *)d->data + (size_t)i * dim, (size_t)dim * sizeof(float));
        faces[i].dim = dim;
        l2_normalise(faces[i].embedding, dim);
    }
    for (size_t i = 0; i < nout; i++)
        pk_tensor_clear(&out[i]);
    return st;
}

static pk_status expression_batch(pk_ctx *ctx, pk_face_finder *f, const float *grey, int count,
                                  pk_face *faces)
{
    pk_tensor in = {.type = PK_TENSOR_FLOAT32, .rank = 4, .dims = {count, EXPR_SIZE, EXPR_SIZE, 1},
                    .data = (void *)grey};
    pk_tensor out;
    pk_status st = pk_model_run(ctx, f->expr, &in, 1, &out, 1);
    if (st != PK_OK)
        return st;
    if (pk_tensor_count(&out) != (size_t)count * PK_EXPRESSIONS)
        st = pk_fail(ctx, PK_ERR_INTERNAL, pk_model_path(f->expr), "unexpected expression output");
    for (int i = 0; st == PK_OK && i < count; i++)
        memcpy(faces[i].expressions, (const float *)out.data + (size_t)i * PK_EXPRESSIONS,
               sizeof faces[i].expressions);
    pk_tensor_clear(&out);
    return st;
}

/* Faces of an 8-bit RGB picture in memory. */
static pk_status find_in_image(pk_ctx *ctx, pk_face_finder *f, VipsImage *im, pk_face **faces_out,
                               size_t *n_out, pk_face_timing *timing)
{
    pk_face_timing t = {0};
    double t0 = pk_monotonic_seconds();
    pk_detect_params p = {.levels = f->opts.levels, .min_score = (float)f->opts.min_score,
                          .nms_iou = 0.3f, .overlap = 64, .pad = 24};
    pk_face_det *dets = NULL;
    size_t n = 0;
    pk_status st = pk_face_detect(ctx, f->detector, &p, im, &dets, &n, &t.windows);
    double t1 = pk_monotonic_seconds();
    t.detect = t1 - t0;
    pk_face *faces = NULL;
    float *crops = NULL, *grey = NULL, *rgb64 = NULL;
    if (st == PK_OK && n) {
        faces = calloc(n, sizeof *faces);
        crops = f->embed ? malloc((size_t)MAX_BATCH * EMBED_SIZE * EMBED_SIZE * 3 * sizeof *crops) : NULL;
        grey = malloc((size_t)MAX_BATCH * EXPR_SIZE * EXPR_SIZE * sizeof *grey);
        rgb64 = malloc((size_t)EXPR_SIZE * EXPR_SIZE * 3 * sizeof *rgb64);
        if (!faces || (f->embed && !crops) || !grey || !rgb64)
            st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    pk_rgb8 rgb = {VIPS_IMAGE_ADDR(im, 0, 0), im->Xsize, im->Ysize, VIPS_IMAGE_SIZEOF_LINE(im)};
    double W = im->Xsize, H = im->Ysize;
    for (size_t first = 0; st == PK_OK && first < n; first += MAX_BATCH) {
        int count = (int)(n - first < MAX_BATCH ? n - first : MAX_BATCH);
        double a0 = pk_monotonic_seconds();
        for (int i = 0; i < count; i++) {
            const pk_face_det *d = &dets[first + (size_t)i];
            pk_face *face = &faces[first + (size_t)i];
            face->x = d->x / W;
            face->y = d->y / H;
            face->w = d->w / W;
            face->h = d->h / H;
            for (int k = 0; k < PK_FACE_LANDMARKS; k++) {
                face->landmarks[k][0] = d->kp[k][0] / W;
                face->landmarks[k][1] = d->kp[k][1] / H;
            }
            face->score = d->score;
            face->size = d->w;
            if (crops)
                pk_warp_rgb(&rgb, template_transform(d, EMBED_SIZE, EMBED_MARGIN), EMBED_SIZE, EMBED_SIZE, 1.f,
                            0.f, crops + (size_t)i * EMBED_SIZE * EMBED_SIZE * 3);
            pk_warp_rgb(&rgb, template_transform(d, EXPR_SIZE, EXPR_MARGIN), EXPR_SIZE, EXPR_SIZE,
                        1.f / 255.f, 0.f, rgb64);
            face->sharpness = pk_laplacian_variance(rgb64, EXPR_SIZE, EXPR_SIZE, 1.f / 255.f, 0.f);
            float *g = grey + (size_t)i * EXPR_SIZE * EXPR_SIZE;
            for (int q = 0; q < EXPR_SIZE * EXPR_SIZE; q++)
                g[q] = (0.2989f * rgb64[3 * q] + 0.5870f * rgb64[3 * q + 1] + 0.1140f * rgb64[3 * q + 2] - 0.5f) *
                       2.f;
            face->usable = face->size >= PK_FACE_MIN_SIZE && face->sharpness >= PK_FACE_MIN_SHARPNESS &&
                           face->score >= PK_FACE_MIN_SCORE_SEED;
        }
        double a1 = pk_monotonic_seconds();
        t.align += a1 - a0;
        if (crops)
            st = embed_batch(ctx, f, crops, count, faces + first);
        double a2 = pk_monotonic_seconds();
        t.embed += a2 - a1;
        if (st == PK_OK && f->expr)
            st = expression_batch(ctx, f, grey, count, faces + first);
        t.expression += pk_monotonic_seconds() - a2;
    }
    free(dets);
    free(crops);
    free(grey);
    free(rgb64);
    if (st != PK_OK) {
        free(faces);
        return st;
    }
    *faces_out = faces;
    *n_out = n;
    if (timing) {
        timing->detect += t.detect;
        timing->align += t.align;
        timing->embed += t.embed;
        timing->expression += t.expression;
        timing->windows += t.windows;
    }
    return PK_OK;
}

/* libvips' "postclose" handler: frees the malloc'ed pixels an image was
 * wrapped around. */
static void free_pixels(VipsImage *im, void *px)
{
    (void)im;
    free(px);
}

/* A JPEG decoded by libjpeg directly, without libvips' per-image threads
 * and region buffers: the pixels of pk_image_load's draft (same DCT scale,
 * turned upright), wrapped for the pipeline. *im is NULL (not an error)
 * when the file is not a plain JPEG for that path (ICC profile, CMYK,
 * decoder warnings, a picture that would still need a resize...): the
 * caller then loads it the general way. Errors: those of
 * pk_check_input_file (named as pk_image_load names them), PK_ERR_INPUT
 * (reading), PK_ERR_INTERNAL. */
static pk_status load_jpeg_fast(pk_ctx *ctx, const char *path, int load_size, VipsImage **im)
{
    *im = NULL;
    uint8_t *px;
    int width, height;
    pk_status st = pk_check_input_file(ctx, path, NULL);
    if (st == PK_OK)
        st = pk_jpeg_load_draft(ctx, path, load_size, &px, &width, &height);
    if (st != PK_OK || !px)
        return st;
    if ((width > height ? width : height) >= 2 * load_size) {
        free(px);
        return PK_OK;
    }
    if ((st = pk_image_libs_start(ctx, path)) != PK_OK) {
        free(px);
        return st;
    }
    VipsImage *w = vips_image_new_from_memory(px, (size_t)width * 3 * (size_t)height, width, height, 3,
                                              VIPS_FORMAT_UCHAR);
    if (!w) {
        free(px);
        vips_error_clear();
        return pk_fail(ctx, PK_ERR_INTERNAL, path, "cannot wrap a picture for libvips");
    }
    g_signal_connect(w, "postclose", G_CALLBACK(free_pixels), px);
    w->Type = VIPS_INTERPRETATION_sRGB;
    *im = w;
    return PK_OK;
}

pk_status pk_face_find_file(pk_ctx *ctx, pk_face_finder *f, const char *path, pk_face **faces, size_t *n,
                            int *width, int *height, pk_face_timing *timing)
{
    *faces = NULL;
    *n = 0;
    double t0 = pk_monotonic_seconds();
    pk_image_options o = {.max_size = f->opts.load_size, .draft = 1, .colour = PK_COLOUR_SRGB8,
                          .rgb = 1, .flatten = 1};
    VipsImage *im = NULL;
    pk_status st = load_jpeg_fast(ctx, path, f->opts.load_size, &im);
    if (st == PK_OK && !im)
        st = pk_image_load(ctx, path, &o, &im);
    if (st != PK_OK)
        return st;
    if (timing)
        timing->decode += pk_monotonic_seconds() - t0;
    if (width)
        *width = im->Xsize;
    if (height)
        *height = im->Ysize;
    st = find_in_image(ctx, f, im, faces, n, timing);
    g_object_unref(im);
    if (st != PK_OK && st != PK_ERR_INTERRUPTED && pk_ctx_errmsg(ctx)[0] && !strstr(pk_ctx_errmsg(ctx), path)) {
        /* Name the picture in a model failure's message. */
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", pk_ctx_errmsg(ctx));
        pk_fail(ctx, st, path, "%s", msg);
    }
    return st;
}

pk_status pk_face_find_rgb(pk_ctx *ctx, pk_face_finder *f, const uint8_t *rgb, int width, int height,
                           size_t stride, pk_face **faces, size_t *n, pk_face_timing *timing)
{
    *faces = NULL;
    *n = 0;
    if (width < 1 || height < 1 || stride < (size_t)width * 3)
        return pk_fail(ctx, PK_ERR_USAGE, NULL, "invalid picture geometry %dx%d, stride %zu", width, height,
                       stride);
    pk_status started = pk_image_libs_start(ctx, NULL);
    if (started != PK_OK)
        return started;
    /* libvips wants packed rows: copy when the stride has padding. */
    VipsImage *im;
    if (stride == (size_t)width * 3) {
        im = vips_image_new_from_memory(rgb, stride * (size_t)height, width, height, 3, VIPS_FORMAT_UCHAR);
    } else {
        uint8_t *packed = malloc((size_t)width * 3 * (size_t)height);
        if (!packed)
            return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        for (int y = 0; y < height; y++)
            memcpy(packed + (size_t)y * width * 3, rgb + (size_t)y * stride, (size_t)width * 3);
        im = vips_image_new_from_memory_copy(packed, (size_t)width * 3 * (size_t)height, width, height, 3,
                                             VIPS_FORMAT_UCHAR);
        free(packed);
    }
    if (!im) {
        vips_error_clear();
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "cannot wrap a picture for libvips");
    }
    im->Type = VIPS_INTERPRETATION_sRGB;
    int longest = width > height ? width : height;
    if (longest > 2 * f->opts.load_size) {
        /* A 4K frame holds more detail than the pipeline uses. */
        VipsImage *small = NULL, *mem = NULL;
        if (!vips_resize(im, &small, (double)f->opts.load_size / longest, "kernel", VIPS_KERNEL_LINEAR, NULL))
            mem = vips_image_copy_memory(small);
        if (small)
            g_object_unref(small);
        g_object_unref(im);
        if (!mem) {
            vips_error_clear();
            return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "resizing a frame failed");
        }
        im = mem;
    }
    pk_status st = find_in_image(ctx, f, im, faces, n, timing);
    g_object_unref(im);
    return st;
}
