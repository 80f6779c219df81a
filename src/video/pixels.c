/*
 * pixels.c — dead, stuck and hot pixels. A pixel is reported when, in at
 * least `min_fraction` of the sampled frames of a shot, it stands apart
 * from its neighbours by at least `contrast` levels at a value that barely
 * changes (within `tolerance`), while its neighbourhood moves (the 4
 * neighbours' mean by at least `activity` levels over those frames). Two
 * readings of "stands apart", either suffices:
 *
 *  - apart from each of its four neighbours. Standing apart from all four,
 *    not from their mean, keeps the edges of logos and captions out: an
 *    edge pixel always has a neighbour of its own kind.
 *  - steady among movers: apart from three of its four neighbours, while
 *    the fourth, its most similar (the brightest for a bright pixel, the
 *    darkest for a dark one), ranges over at least `activity` levels and
 *    over four times the pixel's own range. This finds a stuck pixel one
 *    of whose neighbours is often nearly as bright as itself (a white pixel
 *    in a pale sky, the tree of bench/qc-accuracy). A still logo's corner
 *    or the tip of a still line is kept out because its one neighbour of
 *    its own kind is still; a pixel of a thin line has two.
 *
 * The moving surroundings keep still pictures out either way: a star in a
 * locked-off sky is not a defect.
 *
 * Frames are sampled at about `sample_rate` per second. Per pixel and per
 * reading, the count of frames it stood apart and, over those frames, the
 * lowest and highest value of the pixel and of its neighbours' mean (and of
 * its most similar neighbour) are kept: twelve bytes per pixel whatever
 * the duration, as a shot is judged when it ends, and a long shot every
 * 255 samples. The sweep over a sampled frame is byte arithmetic the
 * compiler vectorises, in runs of 64 pixels: a run where no pixel stands
 * apart (most of a picture) leaves the state untouched and costs no
 * memory writes. Which runs hold a pixel apart is tested by the
 * measurement pass (picture.c) on each row of blocks while its rows are in
 * cache, on the frames expected to be sampled, so the sweep does not read
 * the picture from memory a second time. Vertical neighbours of interlaced
 * pictures are taken from the same field (two lines away).
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
    /* Apart from each neighbour: samples it was, and over those samples
     * the range of its value and of the 4 neighbours' mean. The lowest
     * values (…min) are kept as 255 - value, so that every array starts
     * at 0: calloc'd, and pages of the picture where nothing ever stands
     * apart are never written. */
    uint8_t *cnt, *vmin, *vmax, *nmin, *nmax;
    /* Apart from three of the four: the same, and the range of the most
     * similar neighbour. */
    uint8_t *cnt3, *vmin3, *vmax3, *nmin3, *nmax3, *smin, *smax;
    uint8_t *dirty;            /* per row: some state was written this window */
    /* The runs of the picture being scanned (qc_pixels_scan_begin) that
     * hold a pixel apart from three neighbours, runs_per_row per row. */
    uint8_t *runs;
    int runs_per_row;
    const qc_picture *scan_pic; /* the picture scanned, NULL: none */
    int scan_next;             /* next row to scan */
    int scan_done;             /* every row scanned */
    int samples;
    int64_t shot_frames;
    double win_start, win_end;
    int64_t win_first, win_last;
    found list[MAX_FOUND];
    int nfound;
    int64_t total_found;
};

#define RUN 64

/* The per-pixel arrays, in one list for allocating and resetting. */
#define STATE_ARRAYS 12

static uint8_t **state_array(qc_pixels *px, int k)
{
    uint8_t **a[STATE_ARRAYS] = {&px->cnt,  &px->vmin,  &px->vmax,  &px->nmin,  &px->nmax, &px->cnt3,
                                 &px->vmin3, &px->vmax3, &px->nmin3, &px->nmax3, &px->smin, &px->smax};
    return a[k];
}

/* The range of a value kept as (255 - lowest, highest). */
static inline int range_of(uint8_t low_inverted, uint8_t high) { return high + low_inverted - 255; }
static inline int low_of(uint8_t low_inverted) { return 255 - low_inverted; }

/* Back to the empty window: the rows written are zeroed. */
static void reset_window(qc_pixels *px)
{
    const qc_grid *g = px->g;
    for (int y = 0; y < g->h; y++) {
        if (!px->dirty[y])
            continue;
        for (int k = 0; k < STATE_ARRAYS; k++)
            memset(*state_array(px, k) + (size_t)y * g->w, 0, (size_t)g->w);
        px->dirty[y] = 0;
    }
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
    for (int k = 0; k < STATE_ARRAYS; k++) {
        uint8_t **a = state_array(px, k);
        if (!(*a = calloc(n, 1))) {
            qc_pixels_free(px);
            return NULL;
        }
    }
    px->runs_per_row = g->w > 2 ? (g->w - 2 + RUN - 1) / RUN : 0;
    px->runs = calloc((size_t)px->runs_per_row * g->h + 1, 1);
    if (!(px->dirty = calloc((size_t)g->h, 1)) || !px->runs) {
        qc_pixels_free(px);
        return NULL;
    }
    return px;
}

void qc_pixels_free(qc_pixels *px)
{
    if (!px)
        return;
    for (int k = 0; k < STATE_ARRAYS; k++)
        free(*state_array(px, k));
    free(px->dirty);
    free(px->runs);
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

/* The second reading's judgement from the ranges, over the samples the
 * pixel stood apart from three neighbours, of its value, of its most
 * similar neighbour and of the neighbours' mean. "Steady" is relative as
 * well as absolute: the pixel moves at most a quarter as much as that
 * neighbour, as a stuck pixel holds still whatever its neighbour does. */
static int steady_among_movers(int value_range, int like_range, int mean_range, int tolerance, double activity)
{
    return value_range <= tolerance && 4 * value_range <= like_range && like_range >= activity &&
           mean_range >= activity;
}

/* Judge the current window (a shot or 255 samples of one): each pixel by
 * either reading of the file's comment. */
static void judge(qc_pixels *px)
{
    const qc_grid *g = px->g;
    int min_samples = 3;
    if (px->samples >= min_samples && px->win_end - px->win_start >= px->min_duration - 1e-9) {
        int need = (int)ceil(px->fraction * px->samples - 1e-9);
        int tol = px->tolerance;
        double act = px->activity;
        for (int y = 0; y < g->h; y++) {
            if (!px->dirty[y])
                continue;
            size_t o = (size_t)y * g->w;
            const uint8_t *c = px->cnt + o, *c3 = px->cnt3 + o;
            for (int x = 0; x < g->w; x++) {
                if (c3[x] < need)      /* apart from each neighbour is apart from three */
                    continue;
                size_t i = o + x;
                if (c[x] >= need && range_of(px->vmin[i], px->vmax[i]) <= tol &&
                    range_of(px->nmin[i], px->nmax[i]) >= act)
                    remember(px, x, y, (low_of(px->vmin[i]) + px->vmax[i]) / 2.0);
                else if (steady_among_movers(range_of(px->vmin3[i], px->vmax3[i]), range_of(px->smin[i], px->smax[i]),
                                             range_of(px->nmin3[i], px->nmax3[i]), tol, act))
                    remember(px, x, y, (low_of(px->vmin3[i]) + px->vmax3[i]) / 2.0);
            }
        }
    }
    reset_window(px);
}

static inline uint8_t sat_sub(uint8_t a, uint8_t b) { return (uint8_t)((a > b ? a : b) - b); }
static inline uint8_t min8(uint8_t a, uint8_t b) { return a < b ? a : b; }
static inline uint8_t max8(uint8_t a, uint8_t b) { return a > b ? a : b; }

/* The tests of `n` <= RUN pixels of a row: `apart` 0xff where the pixel
 * is `th` apart from each neighbour, `apart3` where from three of them
 * (from the second most similar one), `mean` the neighbours' mean
 * (rounded), `like` the most similar neighbour. Returns nonzero when any
 * pixel stands apart from three (as each pixel apart from all four does). */
static uint8_t run_tests(const uint8_t *restrict row, const uint8_t *restrict up, const uint8_t *restrict dn,
                         int n, uint8_t th, uint8_t *restrict apart, uint8_t *restrict apart3,
                         uint8_t *restrict mean, uint8_t *restrict like)
{
    uint8_t any = 0;
    for (int x = 0; x < n; x++) {
        uint8_t c = row[x], l = row[x - 1], r = row[x + 1], u = up[x], d = dn[x];
        /* The four sorted enough: extremes and second extremes. */
        uint8_t hl = max8(l, r), ll = min8(l, r), hv = max8(u, d), lv = min8(u, d);
        uint8_t hi = max8(hl, hv), lo = min8(ll, lv);
        uint8_t hi2 = max8(min8(hl, hv), max8(ll, lv)), lo2 = min8(max8(ll, lv), min8(hl, hv));
        uint8_t bright = sat_sub(c, hi), dark = sat_sub(lo, c);
        uint8_t bright3 = sat_sub(c, hi2), dark3 = sat_sub(lo2, c);
        uint8_t a = (uint8_t)(-(uint8_t)(max8(bright, dark) >= th));   /* 0xff or 0 */
        uint8_t a3 = (uint8_t)(-(uint8_t)(max8(bright3, dark3) >= th));
        apart[x] = a;
        apart3[x] = a3;
        mean[x] = (uint8_t)(((unsigned)l + r + u + d + 2) >> 2);
        like[x] = bright3 >= th ? hi : lo;
        any |= a3;
    }
    return any;
}

/* Whether any of `n` <= RUN pixels of a row stands `th` apart from three
 * of its neighbours: run_tests' return value alone, at a fraction of its
 * work (no neighbours' mean, no stores), as most runs of a picture have
 * no such pixel and need nothing else. */
static uint8_t run_any(const uint8_t *restrict row, const uint8_t *restrict up, const uint8_t *restrict dn, int n,
                       uint8_t th)
{
    uint8_t any = 0;
    for (int x = 0; x < n; x++) {
        uint8_t c = row[x], l = row[x - 1], r = row[x + 1], u = up[x], d = dn[x];
        uint8_t hl = max8(l, r), ll = min8(l, r), hv = max8(u, d), lv = min8(u, d);
        uint8_t hi2 = max8(min8(hl, hv), max8(ll, lv)), lo2 = min8(max8(ll, lv), min8(hl, hv));
        any |= (uint8_t)(-(uint8_t)(max8(sat_sub(c, hi2), sat_sub(lo2, c)) >= th));
    }
    return any;
}

/* Fold one reading's tests into its state: for the pixels apart (`mask`
 * 0xff) count the sample and widen the ranges of the value `c` and of the
 * neighbours' mean `m` (lowest kept as 255 - value); the others' state is
 * unchanged. */
static void run_update(const uint8_t *restrict c, const uint8_t *restrict m, const uint8_t *restrict mask, int n,
                       uint8_t *restrict cnt, uint8_t *restrict vmin, uint8_t *restrict vmax,
                       uint8_t *restrict nmin, uint8_t *restrict nmax)
{
    for (int x = 0; x < n; x++) {
        uint8_t k = mask[x];
        cnt[x] = (uint8_t)(cnt[x] + (k & 1));
        vmin[x] = max8(vmin[x], (uint8_t)(~c[x] & k));
        vmax[x] = max8(vmax[x], (uint8_t)(c[x] & k));
        nmin[x] = max8(nmin[x], (uint8_t)(~m[x] & k));
        nmax[x] = max8(nmax[x], (uint8_t)(m[x] & k));
    }
}

/* Widen the range of `s` (lowest kept as 255 - value) for the pixels
 * apart (`mask` 0xff). */
static void range_update(const uint8_t *restrict s, const uint8_t *restrict mask, int n, uint8_t *restrict smin,
                         uint8_t *restrict smax)
{
    for (int x = 0; x < n; x++) {
        smin[x] = max8(smin[x], (uint8_t)(~s[x] & mask[x]));
        smax[x] = max8(smax[x], (uint8_t)(s[x] & mask[x]));
    }
}

/* Which runs of row y of `p` hold a pixel apart from three neighbours
 * (runs[k] nonzero for the run starting at column 1 + k * RUN). */
static void scan_row(const qc_pixels *px, const qc_picture *p, int y, uint8_t *runs)
{
    int w = p->w, dv = p->interlaced ? 2 : 1;
    const uint8_t *row = p->plane[0] + (size_t)y * p->stride[0];
    const uint8_t *up = row - (size_t)dv * p->stride[0], *dn = row + (size_t)dv * p->stride[0];
    for (int x0 = 1, k = 0; x0 < w - 1; x0 += RUN, k++) {
        int n = w - 1 - x0 < RUN ? w - 1 - x0 : RUN;
        runs[k] = run_any(row + x0, up + x0, dn + x0, n, (uint8_t)px->contrast);
    }
}

/* One row of a sampled frame (inner columns), `o` its offset in the state,
 * visiting the runs marked by scan_row. Returns whether any state was
 * written. */
static int sweep_row(qc_pixels *px, const uint8_t *row, const uint8_t *up, const uint8_t *dn, int w, size_t o,
                     const uint8_t *runs)
{
    int wrote = 0;
    uint8_t apart[RUN], apart3[RUN], mean[RUN], like[RUN];
    uint8_t th = (uint8_t)px->contrast;
    for (int x0 = 1, k = 0; x0 < w - 1; x0 += RUN, k++) {
        int n = w - 1 - x0 < RUN ? w - 1 - x0 : RUN;
        if (!runs[k] || !run_tests(row + x0, up + x0, dn + x0, n, th, apart, apart3, mean, like))
            continue;
        size_t i = o + (size_t)x0;
        run_update(row + x0, mean, apart, n, px->cnt + i, px->vmin + i, px->vmax + i, px->nmin + i, px->nmax + i);
        run_update(row + x0, mean, apart3, n, px->cnt3 + i, px->vmin3 + i, px->vmax3 + i, px->nmin3 + i,
                   px->nmax3 + i);
        range_update(like, apart3, n, px->smin + i, px->smax + i);
        wrote = 1;
    }
    return wrote;
}

/* One sampled frame: update counts and value ranges. The rows were
 * scanned by the measurement pass when it expected this frame to be
 * sampled; otherwise (a cut) they are scanned here. */
static void sweep(qc_pixels *px, const qc_picture *p)
{
    int w = p->w, h = p->h, dv = p->interlaced ? 2 : 1;
    int scanned = px->scan_pic == p && px->scan_done;
    for (int y = dv; y < h - dv; y++) {
        const uint8_t *row = p->plane[0] + (size_t)y * p->stride[0];
        uint8_t *runs = px->runs + (size_t)y * px->runs_per_row;
        if (!scanned)
            scan_row(px, p, y, runs);
        if (sweep_row(px, row, row - (size_t)dv * p->stride[0], row + (size_t)dv * p->stride[0], w, (size_t)y * w,
                      runs))
            px->dirty[y] = 1;
    }
    px->scan_pic = NULL;
}

void qc_pixels_scan_begin(qc_pixels *px, const qc_picture *pic)
{
    /* Sampled unless a cut resets the count (then sampled anyway, and
     * swept in full). */
    px->scan_pic = px->shot_frames % px->step == 0 ? pic : NULL;
    px->scan_next = pic->interlaced ? 2 : 1;
    px->scan_done = 0;
}

void qc_pixels_scan_rows(qc_pixels *px, const qc_picture *p, int rows_read)
{
    if (px->scan_pic != p)
        return;
    int dv = p->interlaced ? 2 : 1;
    int end = rows_read - dv < p->h - dv ? rows_read - dv : p->h - dv;   /* row y needs y + dv read */
    for (int y = px->scan_next; y < end; y++)
        scan_row(px, p, y, px->runs + (size_t)y * px->runs_per_row);
    if (end > px->scan_next)
        px->scan_next = end;
    if (rows_read >= p->h)
        px->scan_done = 1;
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
