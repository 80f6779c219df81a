/*
 * declip.c — least-squares AR reconstruction of clipped runs (the method is
 * described in audio/internal.h).
 *
 * Streaming: a staging buffer of one frame (F = PK_DECLIP_FRAME frames, all
 * channels). When it is full every channel is repaired, the middle half
 * [F/4, 3F/4) is emitted, and the buffer moves on by F/2. Only the middle
 * half keeps its repair: samples near a frame's edges are repaired again,
 * with context on both sides, by the next frame. The stream starts with F/4
 * frames of silence so the first output frame is the first input frame.
 *
 * The normal equations of the interpolation are banded (a sample only
 * interacts with unknowns within the AR order), so they are solved by a
 * banded Cholesky factorisation in O(unknowns * order^2).
 */
#include "audio/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define F PK_DECLIP_FRAME
#define P PK_DECLIP_ORDER
#define HOP (F / 2)
#define LIST_MAX 1000

enum { CLIP_POS = 1, CLIP_NEG = 2, REPAIRED = 4 };

struct pk_declip {
    int channels;
    double pos[PK_LOUDNESS_MAX_CHANNELS], neg[PK_LOUDNESS_MAX_CHANNELS];
    float *buf;                /* F frames, interleaved */
    unsigned char *flag;       /* F x channels */
    int fill;                  /* frames in buf */
    int64_t in_frames, out_frames;
    int64_t frame_start;       /* stream position of buf[0] (may be negative) */
    int run_kind[PK_LOUDNESS_MAX_CHANNELS];   /* runs as they arrive, for the report */
    int64_t run_start[PK_LOUDNESS_MAX_CHANNELS], run_len[PK_LOUDNESS_MAX_CHANNELS];
    pk_declip_stats stats;
    pk_declip_run *list;
    /* per-frame scratch */
    double x[F], x0[F], w[F], ek[F], rhs[F];
    int u[F], pos_of[F];
    double *band;              /* F x (P + 1) */
};

pk_declip *pk_declip_new(int channels, const double *pos_level, const double *neg_level)
{
    pk_declip *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->channels = channels;
    for (int c = 0; c < channels && c < PK_LOUDNESS_MAX_CHANNELS; c++) {
        d->pos[c] = pos_level[c];
        d->neg[c] = neg_level[c];
    }
    d->buf = calloc((size_t)F * channels, sizeof *d->buf);
    d->flag = calloc((size_t)F * channels, 1);
    d->list = calloc(LIST_MAX, sizeof *d->list);
    d->band = calloc((size_t)F * (P + 1), sizeof *d->band);
    if (!d->buf || !d->flag || !d->list || !d->band) {
        pk_declip_free(d);
        return NULL;
    }
    for (int i = 0; i < F; i++)
        d->w[i] = 0.5 - 0.5 * cos(2 * M_PI * (i + 0.5) / F);
    d->fill = F / 4;
    d->frame_start = -(F / 4);
    return d;
}

void pk_declip_free(pk_declip *d)
{
    if (!d)
        return;
    free(d->buf);
    free(d->flag);
    free(d->list);
    free(d->band);
    free(d);
}

void pk_declip_get_stats(const pk_declip *d, pk_declip_stats *st)
{
    *st = d->stats;
}

const pk_declip_run *pk_declip_runs(const pk_declip *d)
{
    return d->list;
}

/* AR coefficients a[0..P] (a[0] = 1) of x by the autocorrelation method
 * (Hann window, a touch of white noise so the recursion stays stable). */
static void fit_ar(pk_declip *d, const double *x, double *a)
{
    double r[P + 1], tmp[P + 1];
    for (int k = 0; k <= P; k++) {
        double s = 0;
        for (int i = 0; i + k < F; i++)
            s += d->w[i] * x[i] * d->w[i + k] * x[i + k];
        r[k] = s;
    }
    r[0] = r[0] * (1.0 + 1e-6) + 1e-30;
    memset(a, 0, sizeof(double) * (P + 1));
    a[0] = 1.0;
    double err = r[0];
    for (int i = 1; i <= P; i++) {
        double acc = r[i];
        for (int j = 1; j < i; j++)
            acc += a[j] * r[i - j];
        double k = -acc / err;
        memcpy(tmp, a, sizeof tmp);
        for (int j = 1; j < i; j++)
            a[j] = tmp[j] + k * tmp[i - j];
        a[i] = k;
        err *= 1.0 - k * k;
        if (err <= 0)
            break;
    }
}

/* Solve for the m unknowns u[] of x (in place) minimising the AR prediction
 * error. Returns 0, or -1 when the system is singular. */
static int solve(pk_declip *d, double *x, const int *u, int m, const double *a)
{
    /* Prediction error of the known samples alone. */
    memcpy(d->x0, x, sizeof(double) * F);
    for (int i = 0; i < m; i++)
        d->x0[u[i]] = 0;
    for (int t = P; t < F; t++) {
        double e = 0;
        for (int k = 0; k <= P; k++)
            e += a[k] * d->x0[t - k];
        d->ek[t] = e;
    }
    double *L = d->band; /* L[i * (P + 1) + dd]: row i, column i - dd */
    for (int i = 0; i < m; i++) {
        int ui = u[i];
        double r = 0;
        for (int t = ui > P ? ui : P; t <= ui + P && t < F; t++)
            r -= a[t - ui] * d->ek[t];
        d->rhs[i] = r;
        for (int dd = 0; dd <= P; dd++) {
            int j = i - dd;
            double b = 0;
            if (j >= 0 && ui - u[j] <= P) {
                int uj = u[j];
                int lo = ui > P ? ui : P, hi = uj + P < F - 1 ? uj + P : F - 1;
                for (int t = lo; t <= hi; t++)
                    b += a[t - ui] * a[t - uj];
            }
            L[i * (P + 1) + dd] = b;
        }
    }
    /* Banded Cholesky, in place. */
    for (int i = 0; i < m; i++) {
        for (int dd = P; dd >= 0; dd--) {
            int j = i - dd;
            if (j < 0)
                continue;
            double s = L[i * (P + 1) + dd];
            for (int k = (i - P > 0 ? i - P : 0); k < j; k++) {
                if (j - k > P)
                    continue;
                s -= L[i * (P + 1) + (i - k)] * L[j * (P + 1) + (j - k)];
            }
            if (dd == 0) {
                if (s <= 1e-300)
                    return -1;
                L[i * (P + 1)] = sqrt(s);
            } else {
                L[i * (P + 1) + dd] = s / L[j * (P + 1)];
            }
        }
    }
    /* Forward and back substitution. */
    double *y = d->rhs;
    for (int i = 0; i < m; i++) {
        double s = y[i];
        for (int dd = 1; dd <= P && i - dd >= 0; dd++)
            s -= L[i * (P + 1) + dd] * y[i - dd];
        y[i] = s / L[i * (P + 1)];
    }
    for (int i = m - 1; i >= 0; i--) {
        double s = y[i];
        for (int dd = 1; dd <= P && i + dd < m; dd++)
            s -= L[(i + dd) * (P + 1) + dd] * y[i + dd];
        y[i] = s / L[i * (P + 1)];
    }
    for (int i = 0; i < m; i++)
        x[u[i]] = y[i];
    return 0;
}

static void note_run(pk_declip *d, int c, int64_t start, int64_t len, int repaired)
{
    d->stats.runs++;
    if (repaired) {
        d->stats.repaired_runs++;
        d->stats.repaired_samples += len;
    } else {
        d->stats.skipped_runs++;
    }
    if (d->stats.listed < LIST_MAX)
        d->list[d->stats.listed++] =
            (pk_declip_run){.channel = c, .start = start, .length = len, .repaired = repaired};
}

/* Repair channel c of the full staging buffer; store the middle half. */
static void repair_channel(pk_declip *d, int c)
{
    const int C = d->channels;
    double *x = d->x;
    unsigned char fl[F];
    for (int i = 0; i < F; i++) {
        x[i] = d->buf[i * C + c];
        fl[i] = d->flag[i * C + c];
    }
    /* Runs: two or more consecutive clipped samples (repaired ones count
     * for the length, so a run split by a frame edge is still a run). */
    int m = 0;
    for (int i = 0; i < F;) {
        int kind = fl[i] & (CLIP_POS | CLIP_NEG);
        if (!kind) {
            i++;
            continue;
        }
        int j = i;
        while (j < F && (fl[j] & kind))
            j++;
        int len = j - i, ok = len >= 2 && len <= PK_DECLIP_MAX_RUN;
        if (ok)
            for (int k = i; k < j; k++)
                if (!(fl[k] & REPAIRED))
                    d->u[m++] = k;
        i = j;
    }
    if (m == 0)
        return;
    double a[P + 1];
    int u[F];
    for (int iter = 0; iter < 2; iter++) {
        fit_ar(d, x, a);
        int n = m;
        memcpy(u, d->u, sizeof(int) * (size_t)m);
        for (int k = 0; k < m; k++) /* restart from the clipped values */
            x[u[k]] = d->buf[u[k] * C + c];
        for (int pass = 0; pass < 6 && n > 0; pass++) {
            if (solve(d, x, u, n, a) != 0) {
                for (int k = 0; k < m; k++)
                    x[d->u[k]] = d->buf[d->u[k] * C + c];
                return;
            }
            /* A clipped sample was at least as loud as the clip level:
             * estimates that fall short are pinned there, then re-solve. */
            int kept = 0, pinned = 0;
            for (int k = 0; k < n; k++) {
                int i = u[k];
                double lvl = (fl[i] & CLIP_POS) ? d->pos[c] : -d->neg[c];
                int bad = (fl[i] & CLIP_POS) ? x[i] < lvl : x[i] > lvl;
                if (bad) {
                    x[i] = lvl;
                    pinned++;
                } else {
                    u[kept++] = i;
                }
            }
            n = kept;
            if (!pinned)
                break;
        }
    }
    for (int k = 0; k < m; k++) {
        int i = d->u[k];
        if (i >= F / 4 && i < 3 * F / 4) {
            d->buf[i * C + c] = (float)x[i];
            d->flag[i * C + c] |= REPAIRED;
        }
    }
}

/* Process the full buffer, emit its middle half (only real frames). */
static int64_t emit_frame(pk_declip *d, float *out)
{
    const int C = d->channels;
    for (int c = 0; c < C; c++)
        repair_channel(d, c);
    int64_t avail = d->in_frames - d->out_frames;
    int64_t n = avail < HOP ? avail : HOP;
    memcpy(out, d->buf + (size_t)(F / 4) * C, sizeof(float) * (size_t)(n * C));
    d->out_frames += n;
    memmove(d->buf, d->buf + (size_t)HOP * C, sizeof(float) * (size_t)(F - HOP) * C);
    memmove(d->flag, d->flag + (size_t)HOP * C, (size_t)(F - HOP) * C);
    d->fill = F - HOP;
    d->frame_start += HOP;
    return n;
}

/* Runs are reported as they end, with their whole length. The repair sees
 * the same length: a run short enough to repair lies inside the frame that
 * repairs it. */
static void put(pk_declip *d, const float *frame)
{
    const int C = d->channels;
    for (int c = 0; c < C; c++) {
        float v = frame[c];
        d->buf[d->fill * C + c] = v;
        unsigned char f = 0;
        if (d->pos[c] > 0 && v >= d->pos[c])
            f = CLIP_POS;
        else if (d->neg[c] > 0 && v <= -d->neg[c])
            f = CLIP_NEG;
        d->flag[d->fill * C + c] = f;
        if (f && f == d->run_kind[c]) {
            d->run_len[c]++;
            continue;
        }
        if (d->run_len[c] >= 2)
            note_run(d, c, d->run_start[c], d->run_len[c], d->run_len[c] <= PK_DECLIP_MAX_RUN);
        d->run_kind[c] = f;
        d->run_len[c] = f ? 1 : 0;
        d->run_start[c] = d->frame_start + d->fill;
    }
    d->fill++;
}

int64_t pk_declip_process(pk_declip *d, const float *in, int64_t frames, float *out)
{
    int64_t written = 0;
    for (int64_t i = 0; i < frames; i++) {
        put(d, in + i * d->channels);
        d->in_frames++;
        if (d->fill == F)
            written += emit_frame(d, out + written * d->channels);
    }
    return written;
}

int64_t pk_declip_flush(pk_declip *d, float *out)
{
    float zero[PK_LOUDNESS_MAX_CHANNELS] = {0};
    int64_t written = 0;
    while (d->out_frames < d->in_frames) {
        while (d->fill < F)
            put(d, zero);
        written += emit_frame(d, out + written * d->channels);
    }
    return written;
}
