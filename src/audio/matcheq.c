/*
 * matcheq.c — long-term spectra, the match-EQ curve and its FIR filter
 * (design notes in audio/internal.h).
 */
#include "audio/internal.h"

#include <complex.h>
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Power-of-two FFT length of about rate/6 samples (about 6 Hz per bin). */
static int fft_size(int rate)
{
    int n = 256;
    while (n < rate / 6)
        n *= 2;
    return n;
}

double pk_eq_point_hz(int i)
{
    return PK_EQ_LO_HZ * pow(2.0, i / 24.0);
}

/* ---- spectrum ----------------------------------------------------------- */

struct pk_spectrum {
    int rate, channels, n;
    double *win, *frame, *power, *side_power;
    double *mid_ring, *side_ring;   /* the frame being filled */
    int fill;                       /* samples in it */
    int64_t counted;                /* frames analysed */
    fftw_complex *spec;
    fftw_plan plan;
};

pk_spectrum *pk_spectrum_new(int rate, int channels)
{
    pk_spectrum *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->rate = rate;
    s->channels = channels;
    s->n = fft_size(rate);
    int n = s->n;
    s->win = fftw_malloc(sizeof(double) * n);
    s->frame = fftw_malloc(sizeof(double) * n);
    s->spec = fftw_malloc(sizeof(fftw_complex) * (n / 2 + 1));
    s->power = calloc((size_t)n / 2 + 1, sizeof(double));
    s->side_power = calloc((size_t)n / 2 + 1, sizeof(double));
    s->mid_ring = calloc((size_t)n, sizeof(double));
    s->side_ring = calloc((size_t)n, sizeof(double));
    if (!s->win || !s->frame || !s->spec || !s->power || !s->side_power || !s->mid_ring ||
        !s->side_ring) {
        pk_spectrum_free(s);
        return NULL;
    }
    s->plan = fftw_plan_dft_r2c_1d(n, s->frame, s->spec, FFTW_ESTIMATE);
    for (int i = 0; i < n; i++)
        s->win[i] = 0.5 - 0.5 * cos(2 * M_PI * i / n);
    return s;
}

void pk_spectrum_free(pk_spectrum *s)
{
    if (!s)
        return;
    if (s->plan)
        fftw_destroy_plan(s->plan);
    fftw_free(s->win);
    fftw_free(s->frame);
    fftw_free(s->spec);
    free(s->power);
    free(s->side_power);
    free(s->mid_ring);
    free(s->side_ring);
    free(s);
}

static void accumulate(pk_spectrum *s, const double *ring, double *power)
{
    int n = s->n;
    for (int i = 0; i < n; i++)
        s->frame[i] = ring[i] * s->win[i];
    fftw_execute(s->plan);
    for (int k = 0; k <= n / 2; k++)
        power[k] += creal(s->spec[k]) * creal(s->spec[k]) + cimag(s->spec[k]) * cimag(s->spec[k]);
}

static void analyse_frame(pk_spectrum *s)
{
    double e = 0;
    for (int i = 0; i < s->n; i++)
        e += s->mid_ring[i] * s->mid_ring[i];
    if (e / s->n < 1e-6) /* quieter than -60 dBFS RMS: a pause */
        return;
    accumulate(s, s->mid_ring, s->power);
    if (s->channels == 2)
        accumulate(s, s->side_ring, s->side_power);
    s->counted++;
}

void pk_spectrum_add(pk_spectrum *s, const float *in, int64_t frames)
{
    const int C = s->channels, n = s->n;
    for (int64_t i = 0; i < frames; i++) {
        const float *f = in + i * C;
        double mid = 0, side = 0;
        if (C == 2) {
            mid = 0.5 * ((double)f[0] + f[1]);
            side = 0.5 * ((double)f[0] - f[1]);
        } else {
            for (int c = 0; c < C; c++)
                mid += f[c];
            mid /= C; /* the channels' sum, scaled like a mid signal */
        }
        s->mid_ring[s->fill] = mid;
        s->side_ring[s->fill] = side;
        if (++s->fill == n) {
            analyse_frame(s);
            /* Hop by half a frame. */
            memmove(s->mid_ring, s->mid_ring + n / 2, sizeof(double) * (size_t)(n / 2));
            memmove(s->side_ring, s->side_ring + n / 2, sizeof(double) * (size_t)(n / 2));
            s->fill = n / 2;
        }
    }
}

/* Power at frequency f (Hz) smoothed over `oct` octaves. */
static double smoothed(const pk_spectrum *s, const double *power, double f, double oct)
{
    double hz_per_bin = (double)s->rate / s->n;
    double lo = f * pow(2, -oct / 2) / hz_per_bin, hi = f * pow(2, oct / 2) / hz_per_bin;
    int k0 = (int)ceil(lo), k1 = (int)floor(hi);
    if (k1 > s->n / 2)
        k1 = s->n / 2;
    if (k1 - k0 >= 1) {
        double sum = 0;
        for (int k = k0; k <= k1; k++)
            sum += power[k];
        return sum / (k1 - k0 + 1);
    }
    /* Narrower than a bin: interpolate the two bins around f. */
    double x = f / hz_per_bin;
    int k = (int)floor(x);
    if (k >= s->n / 2)
        return power[s->n / 2];
    double t = x - k;
    return power[k] * (1 - t) + power[k + 1] * t;
}

int64_t pk_spectrum_result(pk_spectrum *s, double db[PK_EQ_POINTS], double *side_mid)
{
    double scale = s->counted ? 1.0 / (double)s->counted : 0;
    for (int i = 0; i < PK_EQ_POINTS; i++) {
        double f = pk_eq_point_hz(i);
        double p = f < s->rate / 2.0 ? smoothed(s, s->power, f, PK_EQ_SMOOTH_OCT) * scale : 0;
        db[i] = 10 * log10(p + 1e-20);
    }
    double pm = 0, ps = 0;
    for (int k = 1; k <= s->n / 2; k++) {
        pm += s->power[k];
        ps += s->side_power[k];
    }
    *side_mid = s->channels == 2 && pm > 0 ? ps / pm : 0;
    return s->counted;
}

/* ---- the curve ---------------------------------------------------------- */

void pk_eq_curve(const double in_db[PK_EQ_POINTS], const double ref_db[PK_EQ_POINTS], double top_hz,
                 double curve_db[PK_EQ_POINTS])
{
    double top = fmin(top_hz, PK_EQ_HI_HZ);
    double ei = 0, er = 0;
    int last = 0;
    for (int i = 0; i < PK_EQ_POINTS && pk_eq_point_hz(i) <= top; i++) {
        ei += pow(10, in_db[i] / 10);
        er += pow(10, ref_db[i] / 10);
        last = i;
    }
    /* Normalise both to the same total power: the level is matched by
     * loudness, the EQ only shapes. */
    double offset = 10 * log10((er + 1e-30) / (ei + 1e-30));
    for (int i = 0; i < PK_EQ_POINTS; i++) {
        int j = i <= last ? i : last;
        double c = ref_db[j] - in_db[j] - offset;
        curve_db[i] = fmax(-PK_EQ_MAX_DB, fmin(PK_EQ_MAX_DB, c));
    }
}

/* Curve value (dB) at f by linear interpolation in log frequency. */
static double curve_at(const double *curve, double f)
{
    if (f <= PK_EQ_LO_HZ)
        return curve[0];
    double x = 24.0 * log2(f / PK_EQ_LO_HZ);
    if (x >= PK_EQ_POINTS - 1)
        return curve[PK_EQ_POINTS - 1];
    int i = (int)x;
    double t = x - i;
    return curve[i] * (1 - t) + curve[i + 1] * t;
}

/* ---- the filter --------------------------------------------------------- */

struct pk_fir {
    int channels, m;            /* m = taps = block length */
    int delay;                  /* m/2 for linear phase, 0 for minimum phase */
    fftw_complex *h;            /* spectrum of the taps, 2m FFT */
    double *time;
    fftw_complex *freq;
    fftw_plan fwd, inv;
    float *inblock;             /* m frames interleaved */
    double *tail;               /* channels x m overlap */
    int fill;
    int64_t in_frames, out_frames;
    int64_t t_next;             /* filter-output time of the next block */
};

static int design_taps(const double *curve, int rate, int m, int minimum_phase, double *taps)
{
    if (!minimum_phase) {
        double *mag = fftw_malloc(sizeof(double) * m);
        fftw_complex *sp = fftw_malloc(sizeof(fftw_complex) * (m / 2 + 1));
        if (!mag || !sp) {
            fftw_free(mag);
            fftw_free(sp);
            return -1;
        }
        for (int k = 0; k <= m / 2; k++)
            sp[k] = pow(10, curve_at(curve, (double)k * rate / m) / 20);
        fftw_plan p = fftw_plan_dft_c2r_1d(m, sp, mag, FFTW_ESTIMATE);
        fftw_execute(p);
        fftw_destroy_plan(p);
        for (int n = 0; n < m; n++) {
            double w = 0.42 - 0.5 * cos(2 * M_PI * n / m) + 0.08 * cos(4 * M_PI * n / m);
            taps[n] = mag[(n - m / 2 + m) % m] / m * w;
        }
        fftw_free(mag);
        fftw_free(sp);
        return 0;
    }
    /* Minimum phase by the folded real cepstrum, on a 4x finer grid so the
     * cepstrum does not alias. */
    int nc = 4 * m;
    double *c = fftw_malloc(sizeof(double) * nc);
    fftw_complex *sp = fftw_malloc(sizeof(fftw_complex) * (nc / 2 + 1));
    if (!c || !sp) {
        fftw_free(c);
        fftw_free(sp);
        return -1;
    }
    for (int k = 0; k <= nc / 2; k++)
        sp[k] = curve_at(curve, (double)k * rate / nc) / 20 * M_LN10;
    fftw_plan p = fftw_plan_dft_c2r_1d(nc, sp, c, FFTW_ESTIMATE);
    fftw_execute(p);
    fftw_destroy_plan(p);
    for (int n = 0; n < nc; n++)
        c[n] /= nc;
    for (int n = 1; n < nc / 2; n++)
        c[n] *= 2;
    for (int n = nc / 2 + 1; n < nc; n++)
        c[n] = 0;
    p = fftw_plan_dft_r2c_1d(nc, c, sp, FFTW_ESTIMATE);
    fftw_execute(p);
    fftw_destroy_plan(p);
    for (int k = 0; k <= nc / 2; k++)
        sp[k] = cexp(sp[k]);
    p = fftw_plan_dft_c2r_1d(nc, sp, c, FFTW_ESTIMATE);
    fftw_execute(p);
    fftw_destroy_plan(p);
    for (int n = 0; n < m; n++) {
        double w = n < 3 * m / 4 ? 1.0 : 0.5 + 0.5 * cos(M_PI * (n - 3 * m / 4) / (m / 4.0));
        taps[n] = c[n] / nc * w;
    }
    fftw_free(c);
    fftw_free(sp);
    return 0;
}

pk_fir *pk_fir_new(const double curve_db[PK_EQ_POINTS], int rate, int channels, int minimum_phase)
{
    pk_fir *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->channels = channels;
    f->m = fft_size(rate);
    f->delay = minimum_phase ? 0 : f->m / 2;
    int m = f->m;
    f->time = fftw_malloc(sizeof(double) * 2 * m);
    f->freq = fftw_malloc(sizeof(fftw_complex) * (m + 1));
    f->h = fftw_malloc(sizeof(fftw_complex) * (m + 1));
    f->inblock = calloc((size_t)m * channels, sizeof(float));
    f->tail = calloc((size_t)m * channels, sizeof(double));
    double *taps = calloc((size_t)m, sizeof(double));
    if (!f->time || !f->freq || !f->h || !f->inblock || !f->tail || !taps ||
        design_taps(curve_db, rate, m, minimum_phase, taps) != 0) {
        free(taps);
        pk_fir_free(f);
        return NULL;
    }
    f->fwd = fftw_plan_dft_r2c_1d(2 * m, f->time, f->freq, FFTW_ESTIMATE);
    f->inv = fftw_plan_dft_c2r_1d(2 * m, f->freq, f->time, FFTW_ESTIMATE);
    memset(f->time, 0, sizeof(double) * 2 * m);
    memcpy(f->time, taps, sizeof(double) * m);
    fftw_execute(f->fwd);
    memcpy(f->h, f->freq, sizeof(fftw_complex) * (m + 1));
    free(taps);
    return f;
}

void pk_fir_free(pk_fir *f)
{
    if (!f)
        return;
    if (f->fwd)
        fftw_destroy_plan(f->fwd);
    if (f->inv)
        fftw_destroy_plan(f->inv);
    fftw_free(f->time);
    fftw_free(f->freq);
    fftw_free(f->h);
    free(f->inblock);
    free(f->tail);
    free(f);
}

int pk_fir_block(const pk_fir *f)
{
    return f->m;
}

/* Convolve the full input block; emit the frames that belong to the input
 * (after the delay, up to the number of input frames). */
static int64_t run_block(pk_fir *f, float *out)
{
    const int m = f->m, C = f->channels;
    int64_t first = f->t_next; /* filter-output time of this block's first frame */
    for (int c = 0; c < C; c++) {
        for (int i = 0; i < m; i++)
            f->time[i] = f->inblock[i * C + c];
        memset(f->time + m, 0, sizeof(double) * m);
        fftw_execute(f->fwd);
        for (int k = 0; k <= m; k++)
            f->freq[k] *= f->h[k];
        fftw_execute(f->inv);
        double *tail = f->tail + (size_t)c * m;
        const double scale = 1.0 / (2.0 * m);
        for (int i = 0; i < m; i++) {
            double y = f->time[i] * scale + tail[i];
            tail[i] = f->time[m + i] * scale;
            f->time[i] = y;
        }
        /* Keep this channel's block output in inblock (no longer needed). */
        for (int i = 0; i < m; i++)
            f->inblock[i * C + c] = (float)f->time[i];
    }
    f->t_next += m;
    int64_t written = 0;
    for (int i = 0; i < m; i++) {
        int64_t t = first + i - f->delay; /* input time of this output frame */
        if (t < 0 || t >= f->in_frames)
            continue;
        memcpy(out + written * C, f->inblock + (size_t)i * C, sizeof(float) * C);
        written++;
    }
    f->out_frames += written;
    f->fill = 0;
    return written;
}

int64_t pk_fir_process(pk_fir *f, const float *in, int64_t frames, float *out)
{
    const int C = f->channels;
    int64_t written = 0;
    for (int64_t i = 0; i < frames; i++) {
        memcpy(f->inblock + (size_t)f->fill * C, in + i * C, sizeof(float) * C);
        f->fill++;
        f->in_frames++;
        if (f->fill == f->m)
            written += run_block(f, out + written * C);
    }
    return written;
}

int64_t pk_fir_flush(pk_fir *f, float *out)
{
    const int C = f->channels;
    int64_t written = 0;
    while (f->out_frames < f->in_frames) {
        memset(f->inblock + (size_t)f->fill * C, 0, sizeof(float) * (size_t)(f->m - f->fill) * C);
        written += run_block(f, out + written * C);
    }
    return written;
}
