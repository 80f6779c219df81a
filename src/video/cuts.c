/*
 * cuts.c — shot cuts from the block means of consecutive frames.
 *
 * The score of a frame is the mean absolute change of its blocks (luma plus
 * half the chroma change), after removing the change common to all blocks,
 * in percent of the code range: a global brightness step (a fade, a camera
 * flash, a full-screen flash) moves every block alike and scores little,
 * a new shot rearranges the picture and scores high. A cut is declared when
 * the score passes the profile's threshold and is `ratio` times the recent
 * motion level (the median score of the last frames that were not cuts), so
 * a fast pan does not read as a string of cuts. The decision needs no
 * look-ahead: a frame is judged when it arrives.
 */
#include "video/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HISTORY 9
#define MAX_LISTED 100000

struct qc_cuts {
    const qc_grid *g;
    double threshold, ratio;
    float *py, *pu, *pv;      /* previous block means */
    float *dy;                /* scratch: per-block change */
    int have_prev;
    double history[HISTORY];
    int nhist, hpos;
    int keep;
    json_t *list;
    int64_t count;
};

qc_cuts *qc_cuts_new(const qc_grid *g, double threshold, double ratio, int keep_list)
{
    qc_cuts *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->g = g;
    c->threshold = threshold;
    c->ratio = ratio;
    c->keep = keep_list;
    size_t n = (size_t)g->n;
    c->py = malloc(n * sizeof *c->py);
    c->pu = malloc(n * sizeof *c->pu);
    c->pv = malloc(n * sizeof *c->pv);
    c->dy = malloc(3 * n * sizeof *c->dy);
    c->list = keep_list ? json_array() : NULL;
    if (!c->py || !c->pu || !c->pv || !c->dy || (keep_list && !c->list)) {
        qc_cuts_free(c);
        return NULL;
    }
    return c;
}

void qc_cuts_free(qc_cuts *c)
{
    if (!c)
        return;
    free(c->py);
    free(c->pu);
    free(c->pv);
    free(c->dy);
    json_decref(c->list);
    free(c);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_history(const qc_cuts *c)
{
    double tmp[HISTORY];
    memcpy(tmp, c->history, (size_t)c->nhist * sizeof *tmp);
    qsort(tmp, (size_t)c->nhist, sizeof *tmp, cmp_double);
    return c->nhist ? tmp[c->nhist / 2] : 0.0;
}

/* Mean absolute deviation of the per-block changes of luma and both
 * chromas from their area-weighted means, and their block changes (dy,
 * du, dv) from the previous frame's means to this one's. The three
 * channels share each loop: every sum still adds in block order (the same
 * doubles as one channel at a time), but the three chains of additions run
 * side by side instead of one after another, each waiting on the latency
 * of its last addition. */
static void structural_change(const qc_grid *g, const qc_stats *st, const float *py, const float *pu,
                              const float *pv, float *restrict dy, float *restrict du, float *restrict dv,
                              double out[3])
{
    double my = 0, mu = 0, mv = 0;
    for (int i = 0; i < g->n; i++) {
        dy[i] = st->y[i] - py[i];
        du[i] = st->u[i] - pu[i];
        dv[i] = st->v[i] - pv[i];
        my += g->area[i] * dy[i];
        mu += g->area[i] * du[i];
        mv += g->area[i] * dv[i];
    }
    double sy = 0, su = 0, sv = 0;
    for (int i = 0; i < g->n; i++) {
        sy += g->area[i] * fabs(dy[i] - my);
        su += g->area[i] * fabs(du[i] - mu);
        sv += g->area[i] * fabs(dv[i] - mv);
    }
    out[0] = sy;
    out[1] = su;
    out[2] = sv;
}

int qc_cuts_frame(qc_cuts *c, const qc_stats *s, int64_t number, double time, double *score_out)
{
    const qc_grid *g = c->g;
    size_t n = (size_t)g->n;
    int cut = 0;
    double score = 0;
    if (c->have_prev) {
        double sc[3];
        structural_change(g, s, c->py, c->pu, c->pv, c->dy, c->dy + n, c->dy + 2 * n, sc);
        double change = sc[0] + 0.5 * (sc[1] + sc[2]);
        score = 100.0 * change / 255.0;
        double base = median_history(c);
        cut = score >= c->threshold && score >= c->ratio * base;
        if (!cut) {
            c->history[c->hpos] = score;
            c->hpos = (c->hpos + 1) % HISTORY;
            if (c->nhist < HISTORY)
                c->nhist++;
        }
    }
    memcpy(c->py, s->y, n * sizeof *c->py);
    memcpy(c->pu, s->u, n * sizeof *c->pu);
    memcpy(c->pv, s->v, n * sizeof *c->pv);
    c->have_prev = 1;
    if (cut) {
        c->count++;
        if (c->list && json_array_size(c->list) < MAX_LISTED) {
            json_t *o = json_object();
            json_object_set_new(o, "frame", json_integer(number));
            json_object_set_new(o, "time", json_real(pk_round(time, 6)));
            json_object_set_new(o, "score", json_real(pk_round(score, 2)));
            json_array_append_new(c->list, o);
        }
    }
    if (score_out)
        *score_out = score;
    return cut;
}

json_t *qc_cuts_list(qc_cuts *c) { return c->list ? json_incref(c->list) : NULL; }
int64_t qc_cuts_count(const qc_cuts *c) { return c->count; }
