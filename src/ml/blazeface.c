/*
 * blazeface.c — what MediaPipe's BlazeFace models leave to their user:
 * the anchors their outputs are relative to, decoding boxes and keypoints
 * from the raw tensors, and weighted non-maximum suppression.
 *
 * Both models end in two heads: a 16x16 feature map with 2 anchors per
 * cell and an 8x8 map with 6, 896 anchors in all, in row-major cell order
 * with a cell's anchors adjacent. With MediaPipe's "fixed anchor size" an
 * anchor is only a centre; the regressed box is in input pixels around it.
 */
#include "ml/face.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* MediaPipe's SsdAnchorsCalculator options for the two models (4 layers,
 * anchor offset 0.5, aspect ratio 1 plus the interpolated scale). */
const pk_blazeface_spec pk_blazeface_front = {.input = 128, .strides = {8, 16, 16, 16}, .n_anchors = 896};
const pk_blazeface_spec pk_blazeface_back = {.input = 256, .strides = {16, 32, 32, 32}, .n_anchors = 896};

int pk_blazeface_anchors(const pk_blazeface_spec *spec, int width, int height, float *anchors, int cap)
{
    int n = 0;
    int layer = 0;
    while (layer < 4) {
        /* Layers of equal stride share a feature map; each contributes
         * two anchors per cell. */
        int last = layer, per_cell = 0;
        while (last < 4 && spec->strides[last] == spec->strides[layer]) {
            per_cell += 2;
            last++;
        }
        int stride = spec->strides[layer];
        int cols = (width + stride - 1) / stride, rows = (height + stride - 1) / stride;
        for (int y = 0; y < rows; y++)
            for (int x = 0; x < cols; x++)
                for (int k = 0; k < per_cell; k++) {
                    if (n < cap) {
                        anchors[2 * n] = ((float)x + 0.5f) / (float)cols * (float)width;
                        anchors[2 * n + 1] = ((float)y + 0.5f) / (float)rows * (float)height;
                    }
                    n++;
                }
        layer = last;
    }
    return n;
}

static float sigmoid_clipped(float logit)
{
    if (logit > 100.f)
        logit = 100.f;
    if (logit < -100.f)
        logit = -100.f;
    return 1.f / (1.f + expf(-logit));
}

void pk_blazeface_decode(const float *anchors, int n_anchors, const float *scores, const float *boxes,
                         float min_score, float offset_x, float offset_y, float scale, pk_face_det *dets,
                         size_t cap, size_t *n)
{
    for (int i = 0; i < n_anchors && *n < cap; i++) {
        float s = sigmoid_clipped(scores[i]);
        if (s < min_score)
            continue;
        const float *r = boxes + 16 * (size_t)i;
        float ax = anchors[2 * i], ay = anchors[2 * i + 1];
        float cx = ax + r[0], cy = ay + r[1], w = r[2], h = r[3];
        if (!(w > 0) || !(h > 0))
            continue;
        pk_face_det *d = &dets[(*n)++];
        d->x = offset_x + scale * (cx - w / 2);
        d->y = offset_y + scale * (cy - h / 2);
        d->w = scale * w;
        d->h = scale * h;
        for (int k = 0; k < PK_FACE_LANDMARKS; k++) {
            d->kp[k][0] = offset_x + scale * (ax + r[4 + 2 * k]);
            d->kp[k][1] = offset_y + scale * (ay + r[5 + 2 * k]);
        }
        d->score = s;
    }
}

float pk_face_iou(const pk_face_det *a, const pk_face_det *b)
{
    float x0 = fmaxf(a->x, b->x), y0 = fmaxf(a->y, b->y);
    float x1 = fminf(a->x + a->w, b->x + b->w), y1 = fminf(a->y + a->h, b->y + b->h);
    if (x1 <= x0 || y1 <= y0)
        return 0;
    float inter = (x1 - x0) * (y1 - y0);
    float uni = a->w * a->h + b->w * b->h - inter;
    return uni > 0 ? inter / uni : 0;
}

static int by_score_desc(const void *pa, const void *pb)
{
    const pk_face_det *a = pa, *b = pb;
    return a->score < b->score ? 1 : a->score > b->score ? -1 : 0;
}

void pk_face_weighted_nms(pk_face_det *dets, size_t *n, float iou)
{
    size_t count = *n, out = 0;
    qsort(dets, count, sizeof *dets, by_score_desc);
    /* taken[i]: already merged into an earlier detection. The merged ones
     * are written to the front, never past the first untaken index, so
     * the list can be rewritten in place. */
    unsigned char *taken = calloc(count ? count : 1, 1);
    if (!taken) {
        /* Without memory for the flags: plain top-score order is still a
         * valid (unmerged) answer. */
        return;
    }
    for (size_t i = 0; i < count; i++) {
        if (taken[i])
            continue;
        pk_face_det best = dets[i];
        double wsum = 0, box[4] = {0}, kp[PK_FACE_LANDMARKS][2] = {{0}};
        for (size_t j = i; j < count; j++) {
            if (taken[j] || (j != i && pk_face_iou(&best, &dets[j]) <= iou))
                continue;
            taken[j] = 1;
            double w = dets[j].score;
            wsum += w;
            box[0] += w * dets[j].x;
            box[1] += w * dets[j].y;
            box[2] += w * (dets[j].x + dets[j].w);
            box[3] += w * (dets[j].y + dets[j].h);
            for (int k = 0; k < PK_FACE_LANDMARKS; k++) {
                kp[k][0] += w * dets[j].kp[k][0];
                kp[k][1] += w * dets[j].kp[k][1];
            }
        }
        pk_face_det m = best;
        m.x = (float)(box[0] / wsum);
        m.y = (float)(box[1] / wsum);
        m.w = (float)(box[2] / wsum) - m.x;
        m.h = (float)(box[3] / wsum) - m.y;
        for (int k = 0; k < PK_FACE_LANDMARKS; k++) {
            m.kp[k][0] = (float)(kp[k][0] / wsum);
            m.kp[k][1] = (float)(kp[k][1] / wsum);
        }
        dets[out++] = m;
    }
    free(taken);
    *n = out;
}
