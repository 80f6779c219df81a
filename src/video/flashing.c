/*
 * flashing.c — photosensitive flashing after ITU-R BT.1702 and the Ofcom
 * guidance: a flash is a pair of opposite changes in luminance of at least
 * 20 cd/m2 where the darker state is below 160 cd/m2, over more than a
 * quarter of the screen; more than three flashes in any one-second period
 * fail. Saturated red (R/(R+G+B) >= 0.8 in linear light) is judged the same
 * way on the red quantity (R-G-B) x 320.
 *
 * Display model: code values become light through BT.1886 with the
 * profile's white (200 cd/m2 by default) and black (0 by default, which
 * makes BT.1886 a pure 2.4 power): L = a * max(V + b, 0)^2.4 with
 * a = (Lw^(1/2.4) - Lb^(1/2.4))^2.4, b = Lb^(1/2.4) / (Lw^(1/2.4) - Lb^(1/2.4)),
 * V the normalised luma (16..235 or 0..255), clipped to 0..1. Luma stands in
 * for luminance, as the standard's measuring practice does; each pixel is
 * converted before averaging (on a 2x2 subsample, see picture.c).
 *
 * Method: each block of the analysis grid (2x2 blocks of the measurement
 * grid, about 80 across) follows its own luminance: the extreme
 * reached in the current direction and the previous turning point. A block
 * is in a transition when it has moved at least `flash_delta` from its last
 * turning point with the darker end below `dark_limit` (small reversals,
 * under a quarter of flash_delta, are noise and do not turn it). When the
 * blocks in a rising (or falling) transition cover more than `area` of the
 * picture, the frame is a transition of that direction; two opposite ones
 * make a flash. More than 2 x max_flashes alternating transitions within
 * one second fail: the event runs from the first
 * transition of the first failing second to the last of the last one.
 * A block's change counts for the frame where it reached `flash_delta` and
 * the two after (SIMULTANEOUS): a flash changes a large area at once, a
 * moving object changes blocks one after another. Consecutive transitions
 * of one direction count as one change, so what is counted in a second is
 * the number of alternations.
 * Red uses the block means of Y, Cb, Cr converted to linear RGB (the mean of
 * a block's colour, not each pixel's: red flashes are large areas too).
 */
#include "video/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RING 1024
#define LINEAR_STEPS 4096

typedef struct tracker {
    float ext, base;           /* extreme of the current run, last turning point */
    float ext_r, base_r;       /* red ratio at those points (red tracker only) */
    int64_t crossed;           /* frame at which the current run qualified, -1 not yet */
    int8_t dir;
} tracker;

/* A block counts towards a frame's transition for this many frames after
 * its own change qualified: changes of one flash line up within a frame or
 * two, while a moving object brightens blocks one after the other and never
 * covers a large area at once. */
#define SIMULTANEOUS 3

typedef struct channel {
    const char *type;          /* event type */
    tracker *t;
    int last_dir;              /* the last transition recorded ... */
    int64_t last_frame;        /* ... and its frame (f->frame numbering) */
    double times[RING];        /* transitions in the last second (ring) */
    int64_t frames[RING];
    int8_t dirs[RING];
    int head, len;
    int max_in_window;
    double max_delta, max_area;
    /* the open event */
    int open;
    size_t event_index;
    int event_kept;
    double ev_end;
    int64_t ev_last_frame;
    int ev_max;
    double ev_delta, ev_area;
    int64_t ev_transitions;
} channel;

struct qc_flashing {
    const qc_grid *g;
    /* The analysis grid: 2x2 blocks of the measurement grid (about 80
     * across), ample for judging areas of a quarter of the screen. */
    int n;                     /* coarse blocks */
    int *map;                  /* fine block -> coarse block */
    float *carea, *weight;     /* coarse area; fine block's share of its coarse block */
    float *clum, *cy, *cu, *cv; /* coarse values this frame */
    double delta, dark, area, red_ratio, red_delta;
    int limit;                 /* transitions allowed in one second */
    int full_range, matrix;
    int started;
    int64_t frame;             /* frames seen */
    float *red, *ratio;        /* per block, this frame */
    float linear[LINEAR_STEPS + 1]; /* normalised code value -> linear light */
    channel lum, red_ch;
};

void qc_luminance_table(const pk_qc_profile *p, int full_range, uint32_t lut[256])
{
    const double gamma = 2.4;
    double lw = pow(p->ps_peak, 1 / gamma), lb = pow(p->ps_black, 1 / gamma);
    double a = pow(lw - lb, gamma), b = lb / (lw - lb);
    for (int c = 0; c < 256; c++) {
        double v = full_range ? c / 255.0 : (c - 16) / 219.0;
        v = v < 0 ? 0 : v > 1 ? 1 : v;
        double l = a * pow(fmax(v + b, 0), gamma);
        lut[c] = (uint32_t)lrint(l * QC_LUM_SCALE);
    }
}

static void channel_init(channel *c, const char *type, tracker *t)
{
    memset(c, 0, sizeof *c);
    c->type = type;
    c->t = t;
}

qc_flashing *qc_flashing_new(const qc_grid *g, const pk_qc_profile *p, int full_range, int matrix)
{
    qc_flashing *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->g = g;
    f->delta = p->ps_delta;
    f->dark = p->ps_dark;
    f->area = p->ps_area;
    f->red_ratio = p->ps_red_ratio;
    f->red_delta = p->ps_red_delta;
    f->limit = (int)floor(2 * p->ps_max_flashes + 1e-9);
    f->full_range = full_range;
    f->matrix = matrix;
    for (int i = 0; i <= LINEAR_STEPS; i++)
        f->linear[i] = (float)pow((double)i / LINEAR_STEPS, 2.4);
    int cc = (g->cols + 1) / 2, cr = (g->rows + 1) / 2;
    f->n = cc * cr;
    size_t n = (size_t)f->n;
    tracker *tl = calloc(n, sizeof *tl);
    tracker *tr = calloc(n, sizeof *tr);
    channel_init(&f->lum, "flashing", tl);
    channel_init(&f->red_ch, "red_flashing", tr);
    f->red = malloc(n * sizeof *f->red);
    f->ratio = malloc(n * sizeof *f->ratio);
    f->carea = calloc(n, sizeof *f->carea);
    f->clum = malloc(n * sizeof *f->clum);
    f->cy = malloc(n * sizeof *f->cy);
    f->cu = malloc(n * sizeof *f->cu);
    f->cv = malloc(n * sizeof *f->cv);
    f->map = malloc((size_t)g->n * sizeof *f->map);
    f->weight = malloc((size_t)g->n * sizeof *f->weight);
    if (!tl || !tr || !f->red || !f->ratio || !f->carea || !f->clum || !f->cy || !f->cu || !f->cv || !f->map ||
        !f->weight) {
        qc_flashing_free(f);
        return NULL;
    }
    for (int by = 0; by < g->rows; by++)
        for (int bx = 0; bx < g->cols; bx++) {
            int i = by * g->cols + bx, c = (by / 2) * cc + bx / 2;
            f->map[i] = c;
            f->carea[c] += g->area[i];
        }
    for (int i = 0; i < g->n; i++)
        f->weight[i] = g->area[i] / f->carea[f->map[i]];
    return f;
}

void qc_flashing_free(qc_flashing *f)
{
    if (!f)
        return;
    free(f->lum.t);
    free(f->red_ch.t);
    free(f->red);
    free(f->ratio);
    free(f->carea);
    free(f->clum);
    free(f->cy);
    free(f->cu);
    free(f->cv);
    free(f->map);
    free(f->weight);
    free(f);
}

/* Follow one block's value; `hyst` is the reversal that counts. */
static void track(tracker *t, float x, float r, float hyst)
{
    if (t->dir == 0) {
        if (x > t->ext + hyst || x < t->ext - hyst) {
            t->dir = x > t->ext ? 1 : -1;
            t->ext = x;
            t->ext_r = r;
        }
    } else if ((t->dir > 0 && x >= t->ext) || (t->dir < 0 && x <= t->ext)) {
        t->ext = x;
        t->ext_r = r;
    } else if (fabsf(x - t->ext) > hyst) {
        t->base = t->ext;
        t->base_r = t->ext_r;
        t->ext = x;
        t->ext_r = r;
        t->dir = (int8_t)-t->dir;
        t->crossed = -1;
    }
}

/* Close the open event of `c` (write its measured values). */
static void close_event(qc_flashing *f, channel *c, qc_events *ev)
{
    if (!c->open)
        return;
    c->open = 0;
    if (!c->event_kept)
        return;
    qc_event *e = &ev->v[c->event_index];
    e->end = c->ev_end;
    e->last_frame = c->ev_last_frame;
    json_object_set_new(e->values, "max_flashes_per_second", json_real(c->ev_max / 2.0));
    json_object_set_new(e->values, "transitions", json_integer(c->ev_transitions));
    json_object_set_new(e->values, c == &f->lum ? "max_change_cd_m2" : "max_red_change",
                        json_real(pk_round(c->ev_delta, 1)));
    json_object_set_new(e->values, "max_area", json_real(pk_round(c->ev_area, 3)));
    free(e->message);
    char text[200];
    snprintf(text, sizeof text, "%s: up to %.1f flashes in one second (limit %.0f), over up to %.0f %% of the screen",
             c == &f->lum ? "flashing" : "red flashing", c->ev_max / 2.0, f->limit / 2.0,
             100 * c->ev_area);
    e->message = strdup(text);
}

/* A frame-level transition of `c` at `time`: count it in the one-second
 * window, open or extend the failing event. Returns the event opened now. */
/* Transitions in the window that count: consecutive ones of the same
 * direction are one change (a ramp over several frames, or a brightening
 * that follows an earlier brightening), so this is the number of
 * alternations. Also gives the index (in the ring) where counting starts. */
static int alternations(const channel *c)
{
    int n = 0, prev = 0;
    for (int k = 0; k < c->len; k++) {
        int d = c->dirs[(c->head + k) % RING];
        if (d != prev)
            n++;
        prev = d;
    }
    return n;
}

/* A frame-level transition of `c` at `time` in direction `dir`: count it in
 * the one-second window, open or extend the failing event. Returns the
 * event opened now. */
static qc_event *transition(qc_flashing *f, channel *c, int dir, double time, double duration, int64_t number,
                            double delta, double area, qc_events *ev)
{
    if (c->len == RING) {
        c->head = (c->head + 1) % RING;
        c->len--;
    }
    int slot = (c->head + c->len++) % RING;
    c->times[slot] = time;
    c->frames[slot] = number;
    c->dirs[slot] = (int8_t)dir;
    /* Keep only transitions less than one second before this one. */
    while (c->len > 0 && c->times[c->head] <= time - 1.0 + 1e-9) {
        c->head = (c->head + 1) % RING;
        c->len--;
    }
    int count = alternations(c);
    if (count > c->max_in_window)
        c->max_in_window = count;
    if (delta > c->max_delta)
        c->max_delta = delta;
    if (area > c->max_area)
        c->max_area = area;
    qc_event *opened = NULL;
    if (count > f->limit) {
        if (c->open && c->times[c->head] > c->ev_end + 1e-9)
            close_event(f, c, ev);
        if (!c->open) {
            c->open = 1;
            c->ev_max = 0;
            c->ev_delta = c->ev_area = 0;
            c->ev_transitions = 0;
            size_t before = ev->n;
            opened = qc_events_add(ev, QC_PHOTOSENSITIVE, c->type, c->times[c->head], time + duration,
                                   c->frames[c->head], number, NULL, NULL, "%s", c->type);
            c->event_kept = opened != NULL;
            c->event_index = before;
            c->ev_transitions = count - 1;
        }
        c->ev_end = time + duration;
        c->ev_last_frame = number;
        c->ev_transitions++;
        if (count > c->ev_max)
            c->ev_max = count;
        if (delta > c->ev_delta)
            c->ev_delta = delta;
        if (area > c->ev_area)
            c->ev_area = area;
    }
    return opened;
}

/* Judge the blocks of one channel this frame. */
static qc_event *judge(qc_flashing *f, channel *c, const float *x, const float *ratio, double delta,
                       double time, double duration, int64_t number, qc_events *ev)
{
    float hyst = (float)(delta / 4);
    double up = 0, down = 0, dup = 0, ddown = 0;
    for (int i = 0; i < f->n; i++) {
        tracker *t = &c->t[i];
        float r = ratio ? ratio[i] : 0;
        if (!f->started) {
            t->ext = t->base = x[i];
            t->ext_r = t->base_r = r;
            t->dir = 0;
            t->crossed = -1;
            continue;
        }
        track(t, x[i], r, hyst);
        if (t->crossed < 0) {
            float change = fabsf(t->ext - t->base);
            if (t->dir == 0 || change < delta)
                continue;
            if (ratio ? t->ext_r < f->red_ratio && t->base_r < f->red_ratio : fminf(t->ext, t->base) >= f->dark)
                continue;
            t->crossed = f->frame;
        }
        if (f->frame - t->crossed >= SIMULTANEOUS)
            continue;
        float change = fabsf(t->ext - t->base);
        if (t->dir > 0) {
            up += f->carea[i];
            dup = change > dup ? change : dup;
        } else {
            down += f->carea[i];
            ddown = change > ddown ? change : ddown;
        }
    }
    int dir = 0;
    if (up > f->area && up >= down)
        dir = 1;
    else if (down > f->area)
        dir = -1;
    /* The blocks of one change count for SIMULTANEOUS frames: the frames
     * after it repeat the same transition. */
    if (!dir || (dir == c->last_dir && f->frame - c->last_frame < SIMULTANEOUS))
        return NULL;
    c->last_dir = dir;
    c->last_frame = f->frame;
    return transition(f, c, dir, time, duration, number, dir > 0 ? dup : ddown, dir > 0 ? up : down, ev);
}

/* x in [0, LINEAR_STEPS] rounded to the nearest integer, ties to even:
 * lrint's answer in the default rounding mode, without its library call
 * (three per block and frame). Adding 2^52 leaves no bits for a fraction,
 * so the addition itself rounds; exact for 0 <= x < 2^51. */
static inline int round_step(double x)
{
    const double shift = 4503599627370496.0; /* 2^52 */
    return (int)((x + shift) - shift);
}

/* Linear-light RGB of a block's mean colour. */
static void block_red(const qc_flashing *f, float y, float u, float v, float *red, float *ratio)
{
    double yy, cb, cr;
    if (f->full_range) {
        yy = y / 255.0;
        cb = (u - 128) / 255.0;
        cr = (v - 128) / 255.0;
    } else {
        yy = (y - 16) / 219.0;
        cb = (u - 128) / 224.0;
        cr = (v - 128) / 224.0;
    }
    double kr = 0.2126, kb = 0.0722;
    if (f->matrix == 601) {
        kr = 0.299;
        kb = 0.114;
    } else if (f->matrix == 2020) {
        kr = 0.2627;
        kb = 0.0593;
    }
    double r = yy + 2 * (1 - kr) * cr, b = yy + 2 * (1 - kb) * cb;
    double gg = (yy - kr * r - kb * b) / (1 - kr - kb);
    double rgb[3] = {r, gg, b};
    for (int i = 0; i < 3; i++)
        rgb[i] = f->linear[round_step((rgb[i] < 0 ? 0 : rgb[i] > 1 ? 1 : rgb[i]) * LINEAR_STEPS)];
    double sum = rgb[0] + rgb[1] + rgb[2];
    *ratio = (float)(sum > 1e-6 ? rgb[0] / sum : 0);
    double q = (rgb[0] - rgb[1] - rgb[2]) * 320;
    *red = (float)(q > 0 ? q : 0);
}

qc_event *qc_flashing_frame(qc_flashing *f, const qc_stats *s, int64_t number, double time,
                            double duration, qc_events *ev)
{
    /* Each coarse block sums its (up to) 2x2 fine blocks in registers, in
     * the fine blocks' raster order (so the float sums are those of a
     * scatter over the fine blocks in order, without its store-to-load
     * chain on every add). */
    const int cols = f->g->cols, rows = f->g->rows, cc = (cols + 1) / 2, cr = (rows + 1) / 2;
    for (int by = 0; by < cr; by++)
        for (int bx = 0; bx < cc; bx++) {
            float l = 0, y = 0, u = 0, v = 0;
            for (int fy = 2 * by; fy < 2 * by + 2 && fy < rows; fy++)
                for (int fx = 2 * bx; fx < 2 * bx + 2 && fx < cols; fx++) {
                    int i = fy * cols + fx;
                    float w = f->weight[i];
                    l += w * s->lum[i];
                    y += w * s->y[i];
                    u += w * s->u[i];
                    v += w * s->v[i];
                }
            int c = by * cc + bx;
            f->clum[c] = l;
            f->cy[c] = y;
            f->cu[c] = u;
            f->cv[c] = v;
        }
    for (int i = 0; i < f->n; i++)
        block_red(f, f->cy[i], f->cu[i], f->cv[i], &f->red[i], &f->ratio[i]);
    qc_event *a = judge(f, &f->lum, f->clum, NULL, f->delta, time, duration, number, ev);
    qc_event *b = judge(f, &f->red_ch, f->red, f->ratio, f->red_delta, time, duration, number, ev);
    f->started = 1;
    f->frame++;
    /* An open event ends once a second has passed without a failing window. */
    channel *chs[2] = {&f->lum, &f->red_ch};
    for (int i = 0; i < 2; i++)
        if (chs[i]->open && time > chs[i]->ev_end + 1.0)
            close_event(f, chs[i], ev);
    return a ? a : b;
}

void qc_flashing_finish(qc_flashing *f, qc_events *ev)
{
    close_event(f, &f->lum, ev);
    close_event(f, &f->red_ch, ev);
}

void qc_flashing_peak(const qc_flashing *f, double *luminance_flashes, double *red_flashes)
{
    *luminance_flashes = f->lum.max_in_window / 2.0;
    *red_flashes = f->red_ch.max_in_window / 2.0;
}
