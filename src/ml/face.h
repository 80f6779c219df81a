/*
 * ml/face.h — the parts of the face pipeline (src/ml/face_*.c, blazeface.c)
 * that share more than the public face.h shows.
 *
 * Coordinates inside the pipeline are pixels of the picture as it was
 * loaded (x right, y down, origin at the top-left corner of the top-left
 * pixel); the public pk_face turns them into fractions of the picture.
 */
#ifndef POSTKIT_ML_FACE_H
#define POSTKIT_ML_FACE_H

#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"
#include <postkit/face.h>
#include <postkit/ml.h>
#include <vips/vips.h>

/* ---- BlazeFace (blazeface.c) ------------------------------------------ */

/* MediaPipe's SSD anchor set of a BlazeFace model: every anchor is a cell
 * centre of one of the two feature maps (fixed anchor size, so no scale is
 * kept). `strides` are the four layers' strides; consecutive layers with
 * one stride share a feature map, and each layer adds two anchors per cell
 * (aspect ratio 1 and the interpolated scale). */
typedef struct pk_blazeface_spec {
    int input;            /* 128 (front) or 256 (back) */
    int strides[4];
    int n_anchors;        /* 896 for both models */
} pk_blazeface_spec;

extern const pk_blazeface_spec pk_blazeface_front, pk_blazeface_back;

/* Fill anchors[2 * i], anchors[2 * i + 1] with the centre (x, y), in input
 * pixels, of anchor i of the model run on a width x height input (the
 * model's own input size, or any multiple of its largest stride for a copy
 * whose height and width are open), at most `cap` anchors. Returns the
 * number of anchors of that input (spec->n_anchors at the model's size). */
int pk_blazeface_anchors(const pk_blazeface_spec *spec, int width, int height, float *anchors, int cap);

/* A detection in pixels of some frame of reference. */
typedef struct pk_face_det {
    float x, y, w, h;                       /* box: top-left corner and size */
    float kp[PK_FACE_LANDMARKS][2];
    float score;                            /* 0..1 */
} pk_face_det;

/* Decode raw outputs for one input window. `scores` holds one logit per
 * anchor, `boxes` 16 values per anchor (centre x, centre y, w, h, then six
 * keypoints, in input pixels relative to the anchor centre). Detections
 * with a score >= min_score are appended to dets (capacity cap, count *n),
 * mapped to the caller's frame by p = offset + scale * (input pixel). */
void pk_blazeface_decode(const float *anchors, int n_anchors, const float *scores, const float *boxes,
                         float min_score, float offset_x, float offset_y, float scale, pk_face_det *dets,
                         size_t cap, size_t *n);

/* Intersection over union of two boxes. */
float pk_face_iou(const pk_face_det *a, const pk_face_det *b);

/* Weighted non-maximum suppression (MediaPipe's "weighted" blending): the
 * detections are taken by falling score; each takes every remaining one
 * whose IoU with it exceeds `iou`, and becomes their score-weighted mean
 * box and keypoints, keeping the highest score. Rewrites dets[0..*n) in
 * place with the merged detections, best first. */
void pk_face_weighted_nms(pk_face_det *dets, size_t *n, float iou);

/* ---- detection over a picture (face_detect.c) -------------------------- */

/* An 8-bit RGB picture, packed, rows `stride` bytes apart. */
typedef struct pk_rgb8 {
    const uint8_t *px;
    int width, height;
    size_t stride;
} pk_rgb8;

typedef struct pk_face_detector pk_face_detector;

/* Settings of the detector (defaults in pk_face_options_init). */
typedef struct pk_detect_params {
    int levels;          /* 1: the whole picture in one window; each further
                            level halves the window and tiles the picture */
    float min_score;
    float nms_iou;
    int overlap;         /* tiles overlap by this many pixels of the model input */
    int pad;             /* black margin round the picture, model pixels */
    int use_front;       /* also run the 128 model on the whole picture */
    int unit_range;      /* feed [0, 1] instead of [-1, 1] (experiments) */
} pk_detect_params;

/* A detector over opened models (borrowed: they must outlive it); `front`
 * may be NULL. Errors: PK_ERR_INTERNAL when memory is exhausted. */
pk_status pk_face_detector_new(pk_ctx *ctx, pk_model *back, pk_model *front,
                               pk_face_detector **out);
void pk_face_detector_free(pk_face_detector *d);

/* Find faces in `img` (8-bit, 3 bands, in memory). *dets is a new
 * allocation (free()) of *n detections, best first, in pixels of `img`.
 * *windows (may be NULL) gets the number of model runs. Thread-safe
 * (several threads may share one detector). */
pk_status pk_face_detect(pk_ctx *ctx, pk_face_detector *d, const pk_detect_params *p,
                         VipsImage *img, pk_face_det **dets, size_t *n, int *windows);

/* ---- alignment and quality (face_align.c) ------------------------------ */

/* A similarity transform: u = a x - b y + tx, v = b x + a y + ty. */
typedef struct pk_sim2 {
    double a, b, tx, ty;
} pk_sim2;

/* Least-squares similarity mapping src[i] onto dst[i] (n >= 2 points,
 * interleaved x, y) — Umeyama's closed form without reflection. */
pk_sim2 pk_sim2_fit(const double *src, const double *dst, int n);
pk_sim2 pk_sim2_invert(pk_sim2 t);

/* Resample `img` through the inverse of `to_crop` into an out_w x out_h
 * RGB crop (bilinear; outside the picture is black), as floats
 * value * scale + bias, in NHWC order. When the crop is smaller than the
 * source region, the source is box-averaged first so it does not alias. */
void pk_warp_rgb(const pk_rgb8 *img, pk_sim2 to_crop, int out_w, int out_h, float scale, float bias,
                 float *out);

/* Variance of the Laplacian (4-neighbour) of the grey of an RGB float
 * crop, on a 0..255 scale: low means blurred. */
double pk_laplacian_variance(const float *rgb, int w, int h, float scale, float bias);

#endif
