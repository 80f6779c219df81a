/*
 * pixels.c — dead, stuck and hot pixels: a pixel that stands apart from
 * each of its four neighbours by at least `contrast` levels, at a value that
 * barely changes (within `tolerance`), in at least `min_fraction` of the
 * sampled frames of a shot, while the mean of those four neighbours changes
 * by at least `activity` levels over those frames. Standing apart from all four neighbours, not from
 * their mean, keeps the edges of logos and captions out: an edge pixel
 * always has a neighbour of its own kind. The moving surroundings keep
 * still pictures out: a star in a locked-off sky is not a defect.
 *
 * Frames are sampled at about `sample_rate` per second. Per pixel five
 * bytes are kept (how often it stood out, the lowest and highest value it
 * and its neighbours' mean had then); a shot is judged when it ends, and a
 * long shot every 255 samples, so memory is five bytes per pixel whatever
 * the duration. The
 * sweep over a sampled frame is branch-free byte arithmetic the compiler
 * vectorises. Vertical neighbours of interlaced pictures are taken from the
 * same field (two lines away).
 */
#include "video/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FOUND 256

typedef struct found {
    int x, y;
    const char *kind;
    double value;
    double start, end;
    int64_t first_frame, last_frame;
    int shots;
} found;

struct qc_pixels {
    const qc_grid *g;
    int contrast, tolerance;
    double fraction, activity, min_duration;
    int step;                  /* sample every step-th frame of a shot */
    uint8_t *cnt, *vmin, *vmax;
    uint8_t *nmin, *nmax;      /* range of the 4 neighbours' mean while it stood out */
    int samples;
    int64_t shot_frames;
    double win_start, win_end;
    int64_t win_first, win_last;
    found list[MAX_FOUND];
    int nfound;
    int64_t total_found;
};

static void reset_window(qc_pixels *px)
{
    size_t n = (size_t)px->g->w * px->g->h;
    memset(px->cnt, 0, n);
    memset(px->vmin, 255, n);
    memset(px->vmax, 0, n);
    memset(px->nmin, 255, n);
    memset(px->nmax, 0, n);
    px->samples = 0;
}

qc_pixels *qc_pixels_new(const qc_grid *g, const pk_qc_profile *p, double fps)
{
    qc_pixels *px = calloc(1, sizeof *px);
    if (!px)
        return NULL;
    px->g = g;
    px->contrast = (int)lrint(p->px_contrast);
    px->tolerance = (int)lrint(p->px_tolerance);
    px->fraction = p->px_fraction;
    px->activity = p->px_activity;
    px->min_duration = p->px_min_duration;
    double f = fps > 0 ? fps : 25;
    px->step = (int)lrint(f / p->px_rate);
    if (px->step < 1)
        px->step = 1;
    size_t n = (size_t)g->w * g->h;
    px->cnt = malloc(n);
    px->vmin = malloc(n);
    px->vmax = malloc(n);
    px->nmin = malloc(n);
    px->nmax = malloc(n);
    if (!px->cnt || !px->vmin || !px->vmax || !px->nmin || !px->nmax) {
        qc_pixels_free(px);
        return NULL;
    }
    reset_window(px);
    return px;
}

void qc_pixels_free(qc_pixels *px)
{
    if (!px)
        return;
    free(px->cnt);
    free(px->vmin);
    free(px->vmax);
    free(px->nmin);
    free(px->nmax);
    free(px);
}

static void remember(qc_pixels *px, int x, int y, double value)
{
    for (int i = 0; i < px->nfound; i++) {
        found *f = &px->list[i];
        if (f->x == x && f->y == y) {
            f->end = px->win_end;
            f->last_frame = px->win_last;
            f->shots++;
            f->value = (f->value + value) / 2;
            return;
        }
    }
    px->total_found++;
    if (px->nfound == MAX_FOUND)
        return;
    found *f = &px->list[px->nfound++];
    f->x = x;
    f->y = y;
    f->value = value;
    f->kind = value <= 40 ? "dead_pixel" : value >= 200 ? "hot_pixel" : "stuck_pixel";
    f->start = px->win_start;
    f->end = px->win_end;
    f->first_frame = px->win_first;
    f->last_frame = px->win_last;
    f->shots = 1;
}

/* Judge the current window (a shot or 255 samples of one). */
static void judge(qc_pixels *px)
{
    const qc_grid *g = px->g;
    int min_samples = 3;
    if (px->samples >= min_samples && px->win_end - px->win_start >= px->min_duration - 1e-9) {
        int need = (int)ceil(px->fraction * px->samples - 1e-9);
        for (int y = 0; y < g->h; y++) {
            const uint8_t *c = px->cnt + (size_t)y * g->w;
            for (int x = 0; x < g->w; x++) {
                if (c[x] < need)
                    continue;
                size_t i = (size_t)y * g->w + x;
                if (px->vmax[i] - px->vmin[i] > px->tolerance || px->nmax[i] - px->nmin[i] < px->activity)
                    continue;
                remember(px, x, y, (px->vmin[i] + px->vmax[i]) / 2.0);
            }
        }
    }
    reset_window(px);
}

static inline uint8_t sat_sub(uint8_t a, uint8_t b) { return (uint8_t)((a > b ? a : b) - b); }
static inline uint8_t min8(uint8_t a, uint8_t b) { return a < b ? a : b; }
static inline uint8_t max8(uint8_t a, uint8_t b) { return a > b ? a : b; }

/* One row of a sampled frame. Separate, with restrict parameters, so the
 * compiler knows the rows do not overlap and vectorises the loop. */
static void sweep_row(const uint8_t *restrict row, const uint8_t *restrict up, const uint8_t *restrict dn,
                      uint8_t *restrict cnt, uint8_t *restrict vmin, uint8_t *restrict vmax,
                      uint8_t *restrict nmin, uint8_t *restrict nmax, int w, uint8_t th)
{
    for (int x = 1; x < w - 1; x++) {
        uint8_t c = row[x], l = row[x - 1], r = row[x + 1], u = up[x], d = dn[x];
        uint8_t bright = min8(min8(sat_sub(c, l), sat_sub(c, r)), min8(sat_sub(c, u), sat_sub(c, d)));
        uint8_t dark = min8(min8(sat_sub(l, c), sat_sub(r, c)), min8(sat_sub(u, c), sat_sub(d, c)));
        uint8_t out = (uint8_t)(-(uint8_t)(max8(bright, dark) >= th));   /* 0xff or 0 */
        uint8_t around = (uint8_t)(((unsigned)l + r + u + d + 2) >> 2);
        cnt[x] = (uint8_t)(cnt[x] + (out & 1));
        vmin[x] = min8(vmin[x], (uint8_t)(c | (uint8_t)~out));
        vmax[x] = max8(vmax[x], (uint8_t)(c & out));
        nmin[x] = min8(nmin[x], (uint8_t)(around | (uint8_t)~out));
        nmax[x] = max8(nmax[x], (uint8_t)(around & out));
    }
}

/* One sampled frame: update counts and value ranges. */
static void sweep(qc_pixels *px, const qc_picture *p)
{
    int w = p->w, h = p->h, dv = p->interlaced ? 2 : 1;
    for (int y = dv; y < h - dv; y++) {
        const uint8_t *row = p->plane[0] + (size_t)y * p->stride[0];
        size_t o = (size_t)y * w;
        sweep_row(row, row - (size_t)dv * p->stride[0], row + (size_t)dv * p->stride[0], px->cnt + o,
                  px->vmin + o, px->vmax + o, px->nmin + o, px->nmax + o, w, (uint8_t)px->contrast);
    }
}

void qc_pixels_frame(qc_pixels *px, const qc_picture *pic, const qc_stats *s, int cut)
{
    if (cut) {
        judge(px);
        px->shot_frames = 0;
    }
    if (px->shot_frames++ % px->step != 0)
        return;
    if (px->samples == 255)
        judge(px);
    if (px->samples == 0) {
        px->win_start = pic->time;
        px->win_first = pic->number;
    }
    px->win_end = pic->time + pic->duration;
    px->win_last = pic->number;
    (void)s;
    sweep(px, pic);
    px->samples++;
}

void qc_pixels_finish(qc_pixels *px, qc_events *ev)
{
    judge(px);
    for (int i = 0; i < px->nfound; i++) {
        const found *f = &px->list[i];
        json_t *v = json_object();
        json_object_set_new(v, "x", json_integer(f->x));
        json_object_set_new(v, "y", json_integer(f->y));
        json_object_set_new(v, "value", json_real(pk_round(f->value, 1)));
        json_object_set_new(v, "shots", json_integer(f->shots));
        qc_events_add(ev, QC_PIXELS, f->kind, f->start, f->end, f->first_frame, f->last_frame, v, NULL,
                      "%s at x=%d y=%d (luma %.0f) in %d shot%s", f->kind, f->x, f->y, f->value,
                      f->shots, f->shots == 1 ? "" : "s");
    }
    if (px->total_found > px->nfound)
        ev->count[QC_PIXELS] += px->total_found - px->nfound;
}
