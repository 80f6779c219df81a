/*
 * truepeak.c — true-peak detection by 4x oversampling (ITU-R BS.1770-4
 * Annex 2).
 *
 * The interpolator is a Kaiser-windowed sinc of PK_TP_FACTOR * PK_TP_TAPS + 1
 * taps whose zeros fall on the original sample instants, so phase 0 is the
 * input itself (delayed by PK_TP_DELAY samples) and only the other phases are
 * computed. Each phase is normalised to unity gain at DC, which keeps a
 * full-scale low-frequency tone at exactly 0 dBTP.
 *
 * The work is laid out so the compiler vectorises it across output samples
 * (the inner loop runs over a chunk of outputs for one tap), which needs no
 * floating-point reassociation.
 */
#include "audio/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 256
#define PHASES (PK_TP_FACTOR - 1)

struct pk_truepeak {
    int channels;
    float coef[PHASES][PK_TP_TAPS]; /* reversed: coef[q][j] multiplies buf[i + j] */
    double l1;                      /* largest sum of |coef| over the phases */
    float *hist;                    /* channels x (PK_TP_TAPS - 1) previous samples */
    float *peak;                    /* per channel, linear */
    float buf[CHUNK + PK_TP_TAPS - 1];
};

/* Modified Bessel function of the first kind, order 0 (power series). */
static double bessel_i0(double x)
{
    double sum = 1.0, term = 1.0, q = x * x / 4.0;
    for (int k = 1; k < 50; k++) {
        term *= q / ((double)k * k);
        sum += term;
        if (term < sum * 1e-17)
            break;
    }
    return sum;
}

static void design(pk_truepeak *tp)
{
    const int L = PK_TP_FACTOR, T = PK_TP_TAPS;
    const double centre = (double)(L * T) / 2.0, beta = 7.0;
    double l1max = 0;
    for (int q = 1; q < L; q++) {
        double c[PK_TP_TAPS], sum = 0;
        for (int k = 0; k < T; k++) {
            double m = (double)(k * L + q) - centre;
            double x = M_PI * m / L;
            double sinc = x == 0 ? 1.0 : sin(x) / x;
            double r = m / centre;
            double w = bessel_i0(beta * sqrt(fmax(0.0, 1.0 - r * r))) / bessel_i0(beta);
            c[k] = sinc * w;
            sum += c[k];
        }
        double l1 = 0;
        for (int k = 0; k < T; k++) {
            /* c[k] multiplies x[n - k]; buf[i + j] holds x[n - (T - 1 - j)]. */
            tp->coef[q - 1][T - 1 - k] = (float)(c[k] / sum);
            l1 += fabs(c[k] / sum);
        }
        l1max = fmax(l1max, l1);
    }
    /* Margin for float rounding in the filter sum. */
    tp->l1 = l1max * (1.0 + 1e-5);
}

pk_truepeak *pk_truepeak_new(int channels)
{
    pk_truepeak *tp = calloc(1, sizeof *tp);
    if (!tp)
        return NULL;
    tp->channels = channels;
    tp->hist = calloc((size_t)channels * (PK_TP_TAPS - 1), sizeof *tp->hist);
    tp->peak = calloc((size_t)channels, sizeof *tp->peak);
    if (!tp->hist || !tp->peak) {
        pk_truepeak_free(tp);
        return NULL;
    }
    design(tp);
    return tp;
}

void pk_truepeak_free(pk_truepeak *tp)
{
    if (!tp)
        return;
    free(tp->hist);
    free(tp->peak);
    free(tp);
}

double pk_truepeak_get(const pk_truepeak *tp, int c)
{
    return tp->peak[c];
}

/* Interpolate the n outputs of buf (n <= CHUNK) for every phase and store
 * the largest magnitude per output in mx[] (which must hold the samples'
 * own magnitudes on entry, or zeros). */
static void interpolate(const pk_truepeak *tp, const float *buf, int n, float *mx)
{
    float acc[CHUNK];
    for (int q = 0; q < PHASES; q++) {
        const float *c = tp->coef[q];
        for (int i = 0; i < n; i++)
            acc[i] = c[0] * buf[i];
        for (int j = 1; j < PK_TP_TAPS; j++) {
            const float cj = c[j];
            const float *b = buf + j;
            for (int i = 0; i < n; i++)
                acc[i] += cj * b[i];
        }
        for (int i = 0; i < n; i++) {
            float a = fabsf(acc[i]);
            mx[i] = a > mx[i] ? a : mx[i];
        }
    }
}

/* Load channel c's history and `n` new samples (from interleaved frame
 * `first`) into tp->buf, and shift the history forward. */
static void load(pk_truepeak *tp, int c, const float *in, int64_t first, int n)
{
    const int H = PK_TP_TAPS - 1, C = tp->channels;
    float *h = tp->hist + (size_t)c * H;
    memcpy(tp->buf, h, H * sizeof(float));
    const float *src = in + first * C + c;
    for (int i = 0; i < n; i++)
        tp->buf[H + i] = src[(int64_t)i * C];
    memcpy(h, tp->buf + n, H * sizeof(float));
}

void pk_truepeak_add(pk_truepeak *tp, const float *in, int64_t frames)
{
    const int H = PK_TP_TAPS - 1;
    float mx[CHUNK];
    for (int64_t f0 = 0; f0 < frames; f0 += CHUNK) {
        int n = frames - f0 < CHUNK ? (int)(frames - f0) : CHUNK;
        for (int c = 0; c < tp->channels; c++) {
            load(tp, c, in, f0, n);
            float bound = 0, newmax = 0;
            for (int i = 0; i < n + H; i++) {
                float a = fabsf(tp->buf[i]);
                bound = a > bound ? a : bound;
                if (i >= H)
                    newmax = a > newmax ? a : newmax;
            }
            float peak = tp->peak[c] > newmax ? tp->peak[c] : newmax;
            /* The exact skip: no interpolated value can exceed bound * l1. */
            if ((double)bound * tp->l1 > (double)peak) {
                memset(mx, 0, sizeof(float) * (size_t)n);
                interpolate(tp, tp->buf, n, mx);
                for (int i = 0; i < n; i++)
                    peak = mx[i] > peak ? mx[i] : peak;
            }
            tp->peak[c] = peak;
        }
    }
}

void pk_truepeak_envelope(pk_truepeak *tp, const float *in, int64_t frames, float *env)
{
    const int H = PK_TP_TAPS - 1;
    float mx[CHUNK];
    for (int64_t f0 = 0; f0 < frames; f0 += CHUNK) {
        int n = frames - f0 < CHUNK ? (int)(frames - f0) : CHUNK;
        float *e = env + f0;
        memset(e, 0, sizeof(float) * (size_t)n);
        for (int c = 0; c < tp->channels; c++) {
            load(tp, c, in, f0, n);
            /* Phase 0 is the sample PK_TP_DELAY before the newest one. */
            for (int i = 0; i < n; i++)
                mx[i] = fabsf(tp->buf[i + H - PK_TP_DELAY]);
            interpolate(tp, tp->buf, n, mx);
            float peak = tp->peak[c];
            for (int i = 0; i < n; i++) {
                peak = mx[i] > peak ? mx[i] : peak;
                e[i] = mx[i] > e[i] ? mx[i] : e[i];
            }
            tp->peak[c] = peak;
        }
    }
}
