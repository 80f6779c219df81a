/*
 * face_detect.c — BlazeFace over a whole picture: a pyramid of levels, the
 * finer ones cut into overlapping tiles, merged by weighted NMS.
 *
 * The 256x256 model finds faces whose width is roughly 5 % to 70 % of its
 * input. Level 0 shows it the whole picture (padded to a square), so it
 * finds faces of more than about 5 % of the picture's longest side. Level
 * k shows it the picture at 2^k times that resolution in 256x256 tiles,
 * so faces half as big again. Tiles overlap by `overlap` pixels, more than
 * the smallest face the level above finds, so every face of the range a
 * level is there for lies whole inside one of its tiles; a detection that
 * touches an edge shared with a neighbouring tile is dropped (the
 * neighbour sees that face whole).
 */
#include "ml/face.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct pk_face_detector {
    pk_model *back, *front;
    float anchors_back[2 * 896];
    float anchors_front[2 * 896];
};

pk_status pk_face_detector_new(pk_ctx *ctx, pk_model *back, pk_model *front, pk_face_detector **out)
{
    pk_face_detector *d = calloc(1, sizeof *d);
    if (!d)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    d->back = back;
    d->front = front;
    pk_blazeface_anchors(&pk_blazeface_back, d->anchors_back);
    pk_blazeface_anchors(&pk_blazeface_front, d->anchors_front);
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

/* Copy the size x size window at (x0, y0) of an 8-bit RGB level image into
 * the model's input, padding with black, scaled to the model's range. */
static void fill_window(const uint8_t *px, int w, int h, size_t stride, int x0, int y0, int size,
                        int unit_range, float *in)
{
    float scale = unit_range ? 1.f / 255.f : 2.f / 255.f;
    float bias = unit_range ? 0.f : -1.f;
    for (int v = 0; v < size; v++) {
        float *row = in + (size_t)v * size * 3;
        int y = y0 + v;
        int u = 0;
        if (y >= 0 && y < h) {
            const uint8_t *src = px + (size_t)y * stride;
            for (; u < size && x0 + u < w; u++) {
                if (x0 + u < 0) {
                    row[3 * u] = row[3 * u + 1] = row[3 * u + 2] = bias;
                    continue;
                }
                const uint8_t *p = src + 3 * (size_t)(x0 + u);
                row[3 * u] = p[0] * scale + bias;
                row[3 * u + 1] = p[1] * scale + bias;
                row[3 * u + 2] = p[2] * scale + bias;
            }
        }
        for (; u < size; u++)
            row[3 * u] = row[3 * u + 1] = row[3 * u + 2] = bias;
    }
}

/* Run one model on one window and append its detections, in picture
 * pixels (level pixel * inv_scale). `inner` flags the window's sides that
 * are shared with another tile: left, top, right, bottom. */
static pk_status run_window(pk_ctx *ctx, pk_face_detector *d, const pk_detect_params *p, int front,
                            const float *input, int x0, int y0, float inv_scale, const int inner[4],
                            det_list *out)
{
    const pk_blazeface_spec *spec = front ? &pk_blazeface_front : &pk_blazeface_back;
    pk_model *m = front ? d->front : d->back;
    int size = spec->input;
    pk_tensor in = {.type = PK_TENSOR_FLOAT32, .rank = 4, .dims = {1, size, size, 3}, .data = (void *)input};
    pk_tensor res[4];
    pk_status st = pk_model_run(ctx, m, &in, 1, res, 4);
    if (st != PK_OK)
        return st;
    /* Outputs: scores of the 16x16 map, of the 8x8 map, then their boxes. */
    size_t n16 = pk_tensor_count(&res[0]), n8 = pk_tensor_count(&res[1]);
    if (n16 + n8 != (size_t)spec->n_anchors || pk_tensor_count(&res[2]) != 16 * n16 ||
        pk_tensor_count(&res[3]) != 16 * n8) {
        for (int i = 0; i < 4; i++)
            pk_tensor_clear(&res[i]);
        return pk_fail(ctx, PK_ERR_INPUT, pk_model_path(m), "model '%s' does not have BlazeFace's outputs",
                       pk_model_id(m));
    }
    float *scores = malloc((size_t)spec->n_anchors * sizeof *scores);
    float *boxes = malloc((size_t)spec->n_anchors * 16 * sizeof *boxes);
    if (!scores || !boxes || reserve(out, (size_t)spec->n_anchors) != 0) {
        free(scores);
        free(boxes);
        for (int i = 0; i < 4; i++)
            pk_tensor_clear(&res[i]);
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    memcpy(scores, res[0].data, n16 * sizeof *scores);
    memcpy(scores + n16, res[1].data, n8 * sizeof *scores);
    memcpy(boxes, res[2].data, 16 * n16 * sizeof *boxes);
    memcpy(boxes + 16 * n16, res[3].data, 16 * n8 * sizeof *boxes);
    for (int i = 0; i < 4; i++)
        pk_tensor_clear(&res[i]);
    size_t first = out->n;
    pk_blazeface_decode(spec, front ? d->anchors_front : d->anchors_back, scores, boxes, p->min_score,
                        (float)x0 * inv_scale, (float)y0 * inv_scale, inv_scale, out->v, out->cap, &out->n);
    free(scores);
    free(boxes);
    /* Drop what touches an edge shared with a neighbour: a face cut there. */
    float margin = 2.f * inv_scale;
    float l = (float)x0 * inv_scale, t = (float)y0 * inv_scale;
    float r = (float)(x0 + size) * inv_scale, b = (float)(y0 + size) * inv_scale;
    size_t keep = first;
    for (size_t i = first; i < out->n; i++) {
        const pk_face_det *f = &out->v[i];
        if ((inner[0] && f->x < l + margin) || (inner[1] && f->y < t + margin) ||
            (inner[2] && f->x + f->w > r - margin) || (inner[3] && f->y + f->h > b - margin))
            continue;
        out->v[keep++] = *f;
    }
    out->n = keep;
    return PK_OK;
}

/* Positions of `count` tiles of `size` spread evenly over `extent`, each
 * overlapping the next by at least `overlap`. */
static int tile_count(int extent, int size, int overlap)
{
    if (extent <= size)
        return 1;
    int step = size - overlap;
    return (extent - size + step - 1) / step + 1;
}

static int tile_pos(int extent, int size, int count, int i)
{
    if (count == 1)
        return 0;
    return (int)lround((double)(extent - size) * i / (count - 1));
}

/* The picture resized by `scale` into memory (8-bit RGB). */
static pk_status level_image(pk_ctx *ctx, VipsImage *img, double scale, VipsImage **out)
{
    VipsImage *r = NULL;
    if (scale == 1.0) {
        g_object_ref(img);
        *out = img;
        return PK_OK;
    }
    if (vips_resize(img, &r, scale, "kernel", scale < 1 ? VIPS_KERNEL_LINEAR : VIPS_KERNEL_LINEAR, NULL)) {
        vips_error_clear();
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "resizing for face detection failed");
    }
    VipsImage *mem = vips_image_copy_memory(r);
    g_object_unref(r);
    if (!mem) {
        vips_error_clear();
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    *out = mem;
    return PK_OK;
}

pk_status pk_face_detect(pk_ctx *ctx, pk_face_detector *d, const pk_detect_params *p, VipsImage *img,
                         pk_face_det **dets, size_t *n, int *windows)
{
    *dets = NULL;
    *n = 0;
    int runs = 0;
    det_list all = {0};
    int longest = img->Xsize > img->Ysize ? img->Xsize : img->Ysize;
    const int size = pk_blazeface_back.input;
    const int pad = p->pad;
    float *input = malloc((size_t)size * size * 3 * sizeof *input);
    if (!input)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    pk_status st = PK_OK;
    for (int level = 0; level < p->levels && st == PK_OK; level++) {
        /* The level's canvas is exactly 2^level tiles across its longest
         * side; the picture sits inside it with `pad` pixels of black all
         * round, so a face cut by the picture's edge is not also cut by
         * the window's. */
        int canvas = size + (size - p->overlap) * ((1 << level) - 1);
        int target = canvas - 2 * pad;
        /* Upscaling more than twice shows the model nothing new. */
        if (level > 0 && target > 2 * longest)
            break;
        double scale = (double)target / longest;
        VipsImage *lv = NULL;
        st = level_image(ctx, img, scale, &lv);
        if (st != PK_OK)
            break;
        const uint8_t *px = VIPS_IMAGE_ADDR(lv, 0, 0);
        size_t stride = VIPS_IMAGE_SIZEOF_LINE(lv);
        int w = lv->Xsize, h = lv->Ysize;
        /* Picture pixels per level pixel, exactly (the resize rounds). */
        float inv = (float)img->Xsize / (float)w;
        int cw = w + 2 * pad, ch = h + 2 * pad;
        int nx = tile_count(cw, size, p->overlap), ny = tile_count(ch, size, p->overlap);
        for (int ty = 0; ty < ny && st == PK_OK; ty++)
            for (int tx = 0; tx < nx && st == PK_OK; tx++) {
                /* Tile origin in level-image pixels (negative: padding). */
                int x0 = tile_pos(cw, size, nx, tx) - pad, y0 = tile_pos(ch, size, ny, ty) - pad;
                if (nx == 1)
                    x0 = (w - size) / 2;
                if (ny == 1)
                    y0 = (h - size) / 2;
                int inner[4] = {tx > 0, ty > 0, tx < nx - 1, ty < ny - 1};
                fill_window(px, w, h, stride, x0, y0, size, p->unit_range, input);
                st = run_window(ctx, d, p, 0, input, x0, y0, inv, inner, &all);
                runs++;
            }
        if (st == PK_OK && level == 0 && p->use_front && d->front) {
            /* The selfie model on the whole picture: faces that fill it. */
            const int fs = pk_blazeface_front.input;
            int fpad = pad / 2;
            VipsImage *small = NULL;
            st = level_image(ctx, img, (double)(fs - 2 * fpad) / longest, &small);
            if (st == PK_OK) {
                static const int none[4] = {0, 0, 0, 0};
                int x0 = (small->Xsize - fs) / 2, y0 = (small->Ysize - fs) / 2;
                fill_window(VIPS_IMAGE_ADDR(small, 0, 0), small->Xsize, small->Ysize,
                            VIPS_IMAGE_SIZEOF_LINE(small), x0, y0, fs, p->unit_range, input);
                st = run_window(ctx, d, p, 1, input, x0, y0, (float)img->Xsize / (float)small->Xsize, none,
                                &all);
                runs++;
                g_object_unref(small);
            }
        }
        g_object_unref(lv);
    }
    if (st != PK_OK) {
        free(input);
        free(all.v);
        return st;
    }
    pk_face_weighted_nms(all.v, &all.n, p->nms_iou);
    free(input);
    if (st != PK_OK) {
        free(all.v);
        return st;
    }
    *dets = all.v;
    *n = all.n;
    if (windows)
        *windows = runs;
    return PK_OK;
}
