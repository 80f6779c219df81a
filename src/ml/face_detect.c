/*
 * face_detect.c — BlazeFace over a whole picture: a pyramid of levels, each
 * seen by the 256 model in one window, merged by weighted NMS.
 *
 * The 256x256 model finds faces whose width is roughly 5 % to 70 % of its
 * input. Level 0 shows it the whole picture (padded to a 256x256 square),
 * so it finds faces of more than about 5 % of the picture's longest side.
 * Level k shows it the picture at about 2^k times that resolution, so
 * faces half as big again. The model's installed copy has its height and
 * width open (models/manifest.json, scripts/onnx_dynamic.py): it is fully
 * convolutional, so a finer level is one window the size of its canvas
 * (rounded up to the model's largest stride) instead of overlapping
 * 256x256 tiles that compute their shared area twice and cut the faces on
 * their edges. Level k's canvas is what 2^k tiles overlapping by `overlap`
 * pixels would cover, with the picture `pad` pixels inside its border.
 */
#include "ml/face.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct pk_face_detector {
    pk_model *back, *front;
};

pk_status pk_face_detector_new(pk_ctx *ctx, pk_model *back, pk_model *front, pk_face_detector **out)
{
    pk_face_detector *d = calloc(1, sizeof *d);
    if (!d)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    d->back = back;
    d->front = front;
    *out = d;
    return PK_OK;
}

void pk_face_detector_free(pk_face_detector *d)
{
    free(d);
}

/* A growing list of detections. */
typedef struct det_list {
    pk_face_det *v;
    size_t n, cap;
} det_list;

static int reserve(det_list *l, size_t more)
{
    if (l->n + more <= l->cap)
        return 0;
    size_t cap = l->cap ? l->cap : 64;
    while (cap < l->n + more)
        cap *= 2;
    pk_face_det *g = realloc(l->v, cap * sizeof *g);
    if (!g)
        return -1;
    l->v = g;
    l->cap = cap;
    return 0;
}

/* A window of width x height at (x0, y0) of a level image (negative:
 * inside the black margin). */
typedef struct window {
    int x0, y0, width, height;
} window;

/* Copy the window `w` of an 8-bit RGB level image into the model's input,
 * padding with black, scaled to the model's range. */
static void fill_window(const uint8_t *px, int width, int height, size_t stride, const window *w,
                        int unit_range, float *in)
{
    float scale = unit_range ? 1.f / 255.f : 2.f / 255.f;
    float bias = unit_range ? 0.f : -1.f;
    for (int v = 0; v < w->height; v++) {
        float *row = in + (size_t)v * w->width * 3;
        int y = w->y0 + v;
        int u = 0;
        if (y >= 0 && y < height) {
            const uint8_t *src = px + (size_t)y * stride;
            for (; u < w->width && w->x0 + u < width; u++) {
                if (w->x0 + u < 0) {
                    row[3 * u] = row[3 * u + 1] = row[3 * u + 2] = bias;
                    continue;
                }
                const uint8_t *p = src + 3 * (size_t)(w->x0 + u);
                row[3 * u] = p[0] * scale + bias;
                row[3 * u + 1] = p[1] * scale + bias;
                row[3 * u + 2] = p[2] * scale + bias;
            }
        }
        for (; u < w->width; u++)
            row[3 * u] = row[3 * u + 1] = row[3 * u + 2] = bias;
    }
}

/* Run one model on one window (filled in `input`) and append its
 * detections, in picture pixels (level pixel * inv_scale). */
static pk_status run_window(pk_ctx *ctx, pk_face_detector *d, const pk_detect_params *p, int front,
                            const float *input, const window *w, float inv_scale, det_list *out)
{
    const pk_blazeface_spec *spec = front ? &pk_blazeface_front : &pk_blazeface_back;
    pk_model *m = front ? d->front : d->back;
    int n_anchors = pk_blazeface_anchors(spec, w->width, w->height, NULL, 0);
    pk_tensor in = {.type = PK_TENSOR_FLOAT32, .rank = 4, .dims = {1, w->height, w->width, 3},
                    .data = (void *)input};
    pk_tensor res[4];
    pk_status st = pk_model_run(ctx, m, &in, 1, res, 4);
    if (st != PK_OK)
        return st;
    /* Outputs: scores of the stride-16 map, of the stride-32 map, then
     * their boxes. */
    size_t n16 = pk_tensor_count(&res[0]), n8 = pk_tensor_count(&res[1]);
    float *anchors = malloc((size_t)n_anchors * 2 * sizeof *anchors);
    float *scores = malloc((size_t)n_anchors * sizeof *scores);
    float *boxes = malloc((size_t)n_anchors * 16 * sizeof *boxes);
    if (n16 + n8 != (size_t)n_anchors || pk_tensor_count(&res[2]) != 16 * n16 ||
        pk_tensor_count(&res[3]) != 16 * n8)
        st = pk_fail(ctx, PK_ERR_INPUT, pk_model_path(m), "model '%s' does not have BlazeFace's outputs",
                     pk_model_id(m));
    else if (!anchors || !scores || !boxes || reserve(out, (size_t)n_anchors) != 0)
        st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    if (st == PK_OK) {
        pk_blazeface_anchors(spec, w->width, w->height, anchors, n_anchors);
        memcpy(scores, res[0].data, n16 * sizeof *scores);
        memcpy(scores + n16, res[1].data, n8 * sizeof *scores);
        memcpy(boxes, res[2].data, 16 * n16 * sizeof *boxes);
        memcpy(boxes + 16 * n16, res[3].data, 16 * n8 * sizeof *boxes);
        pk_blazeface_decode(anchors, n_anchors, scores, boxes, p->min_score, (float)w->x0 * inv_scale,
                            (float)w->y0 * inv_scale, inv_scale, out->v, out->cap, &out->n);
    }
    free(anchors);
    free(scores);
    free(boxes);
    for (int i = 0; i < 4; i++)
        pk_tensor_clear(&res[i]);
    return st;
}

/* `im` run into memory (released); NULL, with libvips' error cleared, when
 * that fails. */
static VipsImage *into_memory(VipsImage *im)
{
    VipsImage *mem = im ? vips_image_copy_memory(im) : NULL;
    if (im)
        g_object_unref(im);
    if (!mem)
        vips_error_clear();
    return mem;
}

/* The picture resized by `scale` into memory (8-bit RGB), with
 * vips_resize's linear kernel. A reduction runs as vips_resize runs it,
 * vertical pass then horizontal, but with the vertical result in memory
 * between them: the same pixels (checked on 642 pictures), and a quarter
 * less CPU for the level-0 picture of a 12 MP photo, whose vertical pass
 * the horizontal one otherwise recomputes. */
static pk_status level_image(pk_ctx *ctx, VipsImage *img, double scale, VipsImage **out)
{
    VipsImage *r = NULL, *mem = NULL;
    if (scale == 1.0) {
        g_object_ref(img);
        *out = img;
        return PK_OK;
    }
    if (scale > 1.0) {
        if (!vips_resize(img, &r, scale, "kernel", VIPS_KERNEL_LINEAR, NULL))
            mem = into_memory(r);
    } else if (!vips_reducev(img, &r, 1.0 / scale, "kernel", VIPS_KERNEL_LINEAR, "gap", 2.0, NULL)) {
        VipsImage *tall = into_memory(r);
        r = NULL;
        if (tall && !vips_reduceh(tall, &r, 1.0 / scale, "kernel", VIPS_KERNEL_LINEAR, "gap", 2.0, NULL))
            mem = into_memory(r);
        if (tall)
            g_object_unref(tall);
    }
    if (!mem) {
        vips_error_clear();
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "resizing for face detection failed");
    }
    *out = mem;
    return PK_OK;
}

enum { MAX_LEVELS = 4 };

static int longest_side(const VipsImage *im)
{
    return im->Xsize > im->Ysize ? im->Xsize : im->Ysize;
}

/* The longest side of level `level`'s picture: its canvas is exactly
 * 2^level tiles across, and the picture sits inside it with `pad` pixels
 * of black all round, so a face cut by the picture's edge is not also cut
 * by the window's. */
static int level_target(const pk_detect_params *p, int size, int level)
{
    int canvas = size + (size - p->overlap) * ((1 << level) - 1);
    return canvas - 2 * p->pad;
}

/* The pictures of the levels looked at, lv[0 .. *count) (new references).
 * Finest first: when level 1 is itself a reduction of the picture, level 0
 * is made from level 1 (a reduction by about 2 of a 400 px picture) rather
 * than from the picture (by 5 of a 1060 px one for a 12 MP photo, whose
 * integer pre-shrink cost more than the rest of detection's pictures). */
static pk_status level_images(pk_ctx *ctx, VipsImage *img, const pk_detect_params *p, int size,
                              VipsImage *lv[MAX_LEVELS], int *count)
{
    int longest = longest_side(img);
    int top = 0;
    /* Upscaling more than twice shows the model nothing new. */
    while (top < p->levels && top < MAX_LEVELS && (top == 0 || level_target(p, size, top) <= 2 * longest))
        top++;
    pk_status st = PK_OK;
    int k = top - 1;
    for (; k >= 0 && st == PK_OK; k--) {
        VipsImage *from = k == 0 && top > 1 && level_target(p, size, 1) < longest ? lv[1] : img;
        st = level_image(ctx, from, (double)level_target(p, size, k) / longest_side(from), &lv[k]);
    }
    if (st != PK_OK)
        for (k += 2; k < top; k++)
            g_object_unref(lv[k]);
    *count = st == PK_OK ? top : 0;
    return st;
}

pk_status pk_face_detect(pk_ctx *ctx, pk_face_detector *d, const pk_detect_params *p, VipsImage *img,
                         pk_face_det **dets, size_t *n, int *windows)
{
    *dets = NULL;
    *n = 0;
    int runs = 0;
    det_list all = {0};
    const int size = pk_blazeface_back.input;
    const int pad = p->pad;
    VipsImage *levels[MAX_LEVELS];
    int nlevels = 0;
    float *input = NULL;
    pk_status st = level_images(ctx, img, p, size, levels, &nlevels);
    for (int level = 0; level < nlevels && st == PK_OK; level++) {
        VipsImage *lv = levels[level];
        int w = lv->Xsize, h = lv->Ysize;
        /* Picture pixels per level pixel, exactly (the resize rounds). */
        float inv = (float)img->Xsize / (float)w;
        /* Level 0 is the model's own square; a finer level is its whole
         * canvas, each side rounded up to the largest stride, the picture
         * in the middle. */
        int align = pk_blazeface_back.strides[3];
        window win = {.width = size, .height = size};
        if (level > 0) {
            win.width = (w + 2 * pad + align - 1) / align * align;
            win.height = (h + 2 * pad + align - 1) / align * align;
        }
        win.x0 = (w - win.width) / 2;
        win.y0 = (h - win.height) / 2;
        float *grown = realloc(input, (size_t)win.width * win.height * 3 * sizeof *input);
        if (!grown) {
            st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
            break;
        }
        input = grown;
        fill_window(VIPS_IMAGE_ADDR(lv, 0, 0), w, h, VIPS_IMAGE_SIZEOF_LINE(lv), &win, p->unit_range, input);
        st = run_window(ctx, d, p, 0, input, &win, inv, &all);
        runs++;
        if (st == PK_OK && level == 0 && p->use_front && d->front) {
            /* The selfie model on the whole picture: faces that fill it. */
            const int fs = pk_blazeface_front.input;
            int fpad = pad / 2;
            VipsImage *small = NULL;
            st = level_image(ctx, img, (double)(fs - 2 * fpad) / longest_side(img), &small);
            if (st == PK_OK) {
                window whole = {.x0 = (small->Xsize - fs) / 2, .y0 = (small->Ysize - fs) / 2, .width = fs,
                                .height = fs};
                fill_window(VIPS_IMAGE_ADDR(small, 0, 0), small->Xsize, small->Ysize,
                            VIPS_IMAGE_SIZEOF_LINE(small), &whole, p->unit_range, input);
                st = run_window(ctx, d, p, 1, input, &whole, (float)img->Xsize / (float)small->Xsize, &all);
                runs++;
                g_object_unref(small);
            }
        }
    }
    for (int level = 0; level < nlevels; level++)
        g_object_unref(levels[level]);
    free(input);
    if (st != PK_OK) {
        free(all.v);
        return st;
    }
    pk_face_weighted_nms(all.v, &all.n, p->nms_iou);
    *dets = all.v;
    *n = all.n;
    if (windows)
        *windows = runs;
    return PK_OK;
}
