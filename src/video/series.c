/*
 * series.c — a time series for the report's plots in bounded memory: values
 * fall into buckets of `step` seconds (minimum, maximum, mean of each);
 * when `max` buckets are full, neighbours merge pairwise and the step
 * doubles, so a three-hour file keeps as many points as a three-minute one.
 */
#include "video/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int qc_series_init(qc_series *s, int max, double step)
{
    memset(s, 0, sizeof *s);
    s->max = max < 16 ? 16 : max;
    s->step = step > 0 ? step : 0.1;
    s->t = calloc((size_t)s->max, sizeof *s->t);
    s->lo = calloc((size_t)s->max, sizeof *s->lo);
    s->hi = calloc((size_t)s->max, sizeof *s->hi);
    s->sum = calloc((size_t)s->max, sizeof *s->sum);
    s->cnt = calloc((size_t)s->max, sizeof *s->cnt);
    if (!s->t || !s->lo || !s->hi || !s->sum || !s->cnt) {
        qc_series_free(s);
        return -1;
    }
    return 0;
}

void qc_series_free(qc_series *s)
{
    free(s->t);
    free(s->lo);
    free(s->hi);
    free(s->sum);
    free(s->cnt);
    memset(s, 0, sizeof *s);
}

/* Halve the resolution: bucket i takes buckets 2i and 2i+1. */
static void merge(qc_series *s)
{
    int j = 0;
    for (int i = 0; i < s->n; i += 2, j++) {
        s->t[j] = s->t[i];
        s->lo[j] = s->lo[i];
        s->hi[j] = s->hi[i];
        s->sum[j] = s->sum[i];
        s->cnt[j] = s->cnt[i];
        if (i + 1 < s->n) {
            s->lo[j] = fmin(s->lo[j], s->lo[i + 1]);
            s->hi[j] = fmax(s->hi[j], s->hi[i + 1]);
            s->sum[j] += s->sum[i + 1];
            s->cnt[j] += s->cnt[i + 1];
        }
    }
    s->n = j;
    s->step *= 2;
}

void qc_series_add(qc_series *s, double t, double v)
{
    if (!s->t || !isfinite(t) || isnan(v))
        return;
    if (!isfinite(v))
        v = v < 0 ? -200 : 200;
    double slot = floor(t / s->step) * s->step;
    if (s->n > 0 && slot <= s->t[s->n - 1] + 1e-9) {
        int i = s->n - 1;
        s->lo[i] = fmin(s->lo[i], v);
        s->hi[i] = fmax(s->hi[i], v);
        s->sum[i] += v;
        s->cnt[i]++;
        return;
    }
    while (s->n == s->max) {
        merge(s);
        slot = floor(t / s->step) * s->step;
        if (s->n > 0 && slot <= s->t[s->n - 1] + 1e-9) {
            qc_series_add(s, t, v);
            return;
        }
    }
    int i = s->n++;
    s->t[i] = slot;
    s->lo[i] = s->hi[i] = s->sum[i] = v;
    s->cnt[i] = 1;
}

json_t *qc_series_json(const qc_series *s)
{
    json_t *o = json_object();
    json_t *t = json_array(), *lo = json_array(), *hi = json_array(), *mean = json_array();
    for (int i = 0; i < s->n; i++) {
        json_array_append_new(t, json_real(pk_round(s->t[i], 3)));
        json_array_append_new(lo, json_real(pk_round(s->lo[i], 2)));
        json_array_append_new(hi, json_real(pk_round(s->hi[i], 2)));
        json_array_append_new(mean, json_real(pk_round(s->sum[i] / s->cnt[i], 2)));
    }
    json_object_set_new(o, "step", json_real(s->step));
    json_object_set_new(o, "time", t);
    json_object_set_new(o, "min", lo);
    json_object_set_new(o, "max", hi);
    json_object_set_new(o, "mean", mean);
    return o;
}
