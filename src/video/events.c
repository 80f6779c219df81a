/*
 * events.c — the list of what the detectors found, and SMPTE timecodes.
 *
 * A list keeps at most QC_MAX_EVENTS_PER_RULE events of each rule and counts
 * the rest, so a pathological file (a decode error in every packet, flashing
 * for an hour) costs bounded memory while the report still says how many.
 */
#include "video/internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/rational.h>
#include <libavutil/timecode.h>

qc_event *qc_events_add(qc_events *e, qc_rule rule, const char *type, double start, double end,
                        int64_t first_frame, int64_t last_frame, json_t *values, char *thumb,
                        const char *fmt, ...)
{
    e->count[rule]++;
    if (e->kept[rule] >= QC_MAX_EVENTS_PER_RULE)
        goto drop;
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 32;
        qc_event *v = realloc(e->v, cap * sizeof *v);
        if (!v)
            goto drop;
        e->v = v;
        e->cap = cap;
    }
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    qc_event *ev = &e->v[e->n];
    memset(ev, 0, sizeof *ev);
    ev->rule = rule;
    ev->type = type;
    ev->start = start;
    ev->end = end < start ? start : end;
    ev->first_frame = first_frame;
    ev->last_frame = last_frame;
    ev->channel = -1;
    ev->values = values ? values : json_object();
    ev->message = strdup(text);
    ev->thumb = thumb;
    e->kept[rule]++;
    e->n++;
    return ev;
drop:
    json_decref(values);
    free(thumb);
    return NULL;
}

int qc_events_merge(qc_events *dst, qc_events *src)
{
    for (int r = 0; r < QC_RULE_COUNT; r++) {
        dst->count[r] += src->count[r];
        dst->kept[r] += src->kept[r];
    }
    if (src->n) {
        if (dst->n + src->n > dst->cap) {
            qc_event *v = realloc(dst->v, (dst->n + src->n) * sizeof *v);
            if (!v)
                return -1;
            dst->v = v;
            dst->cap = dst->n + src->n;
        }
        memcpy(dst->v + dst->n, src->v, src->n * sizeof *src->v);
        dst->n += src->n;
    }
    free(src->v);
    memset(src, 0, sizeof *src);
    return 0;
}

static int by_start(const void *a, const void *b)
{
    const qc_event *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->rule != y->rule)
        return x->rule < y->rule ? -1 : 1;
    return x->channel < y->channel ? -1 : x->channel > y->channel;
}

void qc_events_sort(qc_events *e)
{
    if (e->n > 1)
        qsort(e->v, e->n, sizeof *e->v, by_start);
}

void qc_events_free(qc_events *e)
{
    for (size_t i = 0; i < e->n; i++) {
        json_decref(e->v[i].values);
        free(e->v[i].message);
        free(e->v[i].thumb);
    }
    free(e->v);
    memset(e, 0, sizeof *e);
}

/* libavutil's timecode takes integer rates and knows which need drop-frame
 * counting (29.97 and 59.94 drop two or four frame numbers a minute). */
void qc_timecode(double t, int fps_num, int fps_den, char buf[32])
{
    AVRational rate = {fps_num, fps_den};
    if (rate.num <= 0 || rate.den <= 0)
        rate = (AVRational){25, 1};
    if (!isfinite(t) || t < 0)
        t = 0;
    double fps = av_q2d(rate);
    int flags = 0;
    int rounded = (int)lrint(fps);
    if ((rounded == 30 || rounded == 60) && fabs(fps - rounded) > 0.001)
        flags = AV_TIMECODE_FLAG_DROPFRAME;
    AVTimecode tc;
    if (rounded < 1 || av_timecode_init(&tc, rate, flags, 0, NULL) < 0) {
        snprintf(buf, 32, "%02d:%02d:%02d.%03d", (int)(t / 3600), (int)fmod(t / 60, 60),
                 (int)fmod(t, 60), (int)fmod(t * 1000, 1000));
        return;
    }
    int frame = (int)floor(t * fps + 1e-6);
    char tmp[AV_TIMECODE_STR_SIZE];
    snprintf(buf, 32, "%s", av_timecode_make_string(&tc, tmp, frame));
}
