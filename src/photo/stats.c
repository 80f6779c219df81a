/*
 * stats.c — what a photo's pixels say about its exposure, illuminant and
 * colour distribution. Works on a reduced-size copy held in memory (a few
 * hundred thousand pixels); the full-size image is never needed here.
 *
 * Robustness: pixels with a clipped channel say nothing reliable about the
 * illuminant (their chromaticity is that of the clipping) and pixels in deep
 * shadow are dominated by noise and quantisation, so both are excluded from
 * the illuminant and colour statistics. Luminance quantiles are taken over
 * all pixels (rank needs the whole population) and each quantile is marked
 * unusable when it falls in deep shadow or among the clipped pixels.
 */
#include "photo/internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void pk_photo_measure_defaults(pk_photo_measure_opts *opts)
{
    /* Grey-world (p = 1): of the estimators here the least moved by which
     * pixels clip or sink into the shadows, so the same scene under another
     * exposure or white estimates the same illuminant (mean ΔE00 after
     * matching back 8-case synthetic casts: 0.26 with p = 1, 0.52 with p = 2,
     * 1.27 with p = 4, 2.0 with p = 6, 3.9 with white-patch). */
    opts->method = PK_ILLUM_SHADES_OF_GREY;
    opts->p = 1;
    opts->cat = PK_CAT_BRADFORD;
    opts->clip_level = 0.955;
    opts->shadow_level = 0.002;
    opts->window_lo = 0;
    opts->window_hi[0] = opts->window_hi[1] = opts->window_hi[2] = 0;
}

static double luminance(const float *px)
{
    const double *m = pk_rgb_to_xyz_matrix + 3;
    return m[0] * px[0] + m[1] * px[1] + m[2] * px[2];
}

/* Is pixel px, of luminance y and largest channel mx, trusted? */
static int trusted(const float *px, double y, double mx, const pk_photo_measure_opts *opts)
{
    if (!(mx < opts->clip_level && y >= opts->shadow_level && y >= opts->window_lo))
        return 0;
    for (int c = 0; c < 3; c++)
        if (opts->window_hi[c] > 0 && !(px[c] < opts->window_hi[c]))
            return 0;
    return 1;
}

int pk_photo_pixel_trusted(const float *px, const pk_photo_measure_opts *opts)
{
    return trusted(px, luminance(px), fmaxf(px[0], fmaxf(px[1], px[2])), opts);
}

int pk_photo_pixel_clipped(const float *px, const pk_photo_measure_opts *opts)
{
    return fmaxf(px[0], fmaxf(px[1], px[2])) >= opts->clip_level;
}

/* ---- Quantiles from a logarithmic histogram ----------------------------------
 * Bins are the top 16 bits of the float (exponent and 7 mantissa bits): 128
 * bins per octave from 2^-20 to 2^6, 0.8% wide, found without a log(). A
 * quantile is interpolated within its bin, so it is exact to far better
 * than 0.01 EV, in O(n) instead of sorting. */

#define HIST_MIN_BITS 0x35800000u /* 2^-20 */
#define HIST_MAX 64.0f            /* 2^6 */
#define HIST_BINS (26 * 128 + 2)  /* + underflow (bin 0) and overflow */

typedef struct histogram {
    uint32_t count[HIST_BINS];
    size_t total;
} histogram;

static int hist_bin(float v)
{
    if (!(v >= 0x1p-20f)) /* also negatives and NaN */
        return 0;
    if (v >= HIST_MAX)
        return HIST_BINS - 1;
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    return 1 + (int)((b >> 16) - (HIST_MIN_BITS >> 16));
}

static double bin_low(int i)
{
    if (i <= 0)
        return 0;
    if (i >= HIST_BINS - 1)
        return HIST_MAX;
    uint32_t b = ((uint32_t)(i - 1) << 16) + HIST_MIN_BITS;
    float v;
    memcpy(&v, &b, sizeof v);
    return v;
}

static void hist_add(histogram *h, float v)
{
    h->count[hist_bin(v)]++;
    h->total++;
}

/* The value below which a fraction q of the samples lie. */
static double hist_quantile(const histogram *h, double q)
{
    if (h->total == 0)
        return NAN;
    double rank = q * (double)h->total;
    double before = 0;
    for (int i = 0; i < HIST_BINS; i++) {
        double c = h->count[i];
        if (c > 0 && before + c >= rank) {
            if (i == 0)
                return 0;
            if (i == HIST_BINS - 1)
                return HIST_MAX;
            double f = (rank - before) / c;
            return bin_low(i) + (bin_low(i + 1) - bin_low(i)) * f;
        }
        before += c;
    }
    return HIST_MAX;
}

/* The edge of the bin holding rank q: the low edge (lower) or the high
 * one. A threshold there never splits a run of equal values, such as a
 * clipped white backdrop, between inside and outside. */
static double hist_edge(const histogram *h, double q, int lower)
{
    if (h->total == 0)
        return NAN;
    double rank = q * (double)h->total, before = 0;
    for (int i = 0; i < HIST_BINS; i++) {
        before += h->count[i];
        if (h->count[i] > 0 && before >= rank)
            return lower ? bin_low(i) : bin_low(i + 1);
    }
    return HIST_MAX;
}

pk_status pk_photo_clipping(pk_ctx *ctx, const float *rgb, size_t n,
                            const pk_photo_measure_opts *opts, double clipped[3], double *shadow)
{
    (void)ctx;
    size_t c3[3] = {0, 0, 0}, dark = 0;
    for (size_t i = 0; i < n; i++) {
        const float *px = rgb + 3 * i;
        for (int c = 0; c < 3; c++)
            c3[c] += px[c] >= opts->clip_level;
        dark += luminance(px) < opts->shadow_level;
    }
    for (int c = 0; c < 3; c++)
        clipped[c] = n ? (double)c3[c] / (double)n : 0;
    *shadow = n ? (double)dark / (double)n : 0;
    return PK_OK;
}

pk_status pk_photo_window(pk_ctx *ctx, const float *rgb, size_t n, double q_lo,
                          const double q_hi[3], pk_photo_measure_opts *o)
{
    histogram *h = calloc(4, sizeof *h);
    if (!h)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory measuring %zu pixels", n);
    for (size_t i = 0; i < n; i++) {
        const float *px = rgb + 3 * i;
        hist_add(&h[3], (float)luminance(px));
        for (int c = 0; c < 3; c++)
            hist_add(&h[c], px[c]);
    }
    o->window_lo = q_lo > 0 && n ? hist_edge(&h[3], q_lo, 0) : 0;
    for (int c = 0; c < 3; c++)
        o->window_hi[c] = q_hi[c] < 1 && n ? hist_edge(&h[c], q_hi[c], 1) : 0;
    free(h);
    return PK_OK;
}

/* ---- Measuring ---------------------------------------------------------------- */

/* The illuminant in XYZ (Y = 1) from the Minkowski means of the cone
 * channels: estimating in the CAT's cone space makes a cast made by that
 * CAT a per-channel scale, which every Minkowski norm follows exactly, so
 * matching an image to a copy of itself under another white undoes the
 * cast exactly (up to pixels changing from trusted to clipped). */
static void illuminant_from_sums(const double acc[3], size_t used, double p, pk_cat cat,
                                 double xyz[3])
{
    if (used == 0 || acc[0] <= 0 || acc[1] <= 0 || acc[2] <= 0) {
        memcpy(xyz, pk_d65_xyz, sizeof pk_d65_xyz);
        return;
    }
    double l[3], inv[9];
    for (int k = 0; k < 3; k++)
        l[k] = p == 1 ? acc[k] / (double)used : pow(acc[k] / (double)used, 1 / p);
    pk_mat3_invert(pk_cat_cone_matrix(cat), inv);
    pk_mat3_apply(inv, l, xyz);
    double y = xyz[1];
    for (int k = 0; k < 3; k++)
        xyz[k] /= y;
}

pk_status pk_photo_measure_some(pk_ctx *ctx, const float *rgb, const float *source, size_t n,
                                const pk_photo_measure_opts *opts, unsigned what,
                                pk_photo_stats *out)
{
    memset(out, 0, sizeof *out);
    out->pixels = n;
    memcpy(out->illuminant, pk_d65_xyz, sizeof pk_d65_xyz);
    out->cct = out->duv = NAN;
    histogram *lum = calloc(1, sizeof *lum), *peak = calloc(1, sizeof *peak);
    histogram *tlum = calloc(1, sizeof *tlum), *clum = calloc(1, sizeof *clum);
    if (!lum || !peak || !tlum || !clum) {
        free(lum);
        free(peak);
        free(tlum);
        free(clum);
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory measuring %zu pixels", n);
    }
    const int white_patch = opts->method == PK_ILLUM_WHITE_PATCH;
    const double p = white_patch ? 1 : fmax(1, opts->p);
    double to_cone[9];
    pk_mat3_mul(pk_cat_cone_matrix(opts->cat), pk_rgb_to_xyz_matrix, to_cone);
    size_t nclipped = 0, nshadow = 0, ntrusted = 0, used = 0;
    double sum[3] = {0, 0, 0}, sum2[9] = {0}, acc[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        const float *px = rgb + 3 * i, *sp = source ? source + 3 * i : px;
        float y = (float)luminance(px), mx = fmaxf(px[0], fmaxf(px[1], px[2]));
        int clipped = fmaxf(sp[0], fmaxf(sp[1], sp[2])) >= opts->clip_level;
        if (what & PK_MEASURE_LUM) {
            hist_add(lum, y);
            if (clipped)
                hist_add(clum, y);
        }
        if (what & PK_MEASURE_PEAK)
            hist_add(peak, mx);
        nclipped += clipped;
        nshadow += y < opts->shadow_level;
        if (clipped || !trusted(px, y, mx, opts))
            continue;
        ntrusted++;
        hist_add(tlum, y);
        double c[3] = {fmax(px[0], 0), fmax(px[1], 0), fmax(px[2], 0)};
        if (what & PK_MEASURE_OKLAB) {
            double ok[3];
            pk_rgb_to_oklab(c, ok);
            for (int a = 0; a < 3; a++) {
                sum[a] += ok[a];
                for (int b = a; b < 3; b++)
                    sum2[3 * a + b] += ok[a] * ok[b];
            }
        }
        if ((what & PK_MEASURE_ILLUMINANT) && !white_patch) {
            /* Grey-world sums the values as they are (out-of-gamut negative
             * components included): the sum is then exactly linear, which
             * is what makes it follow a cast. Other norms need c >= 0. */
            double raw[3] = {px[0], px[1], px[2]}, l[3];
            pk_mat3_apply(to_cone, p == 1 ? raw : c, l);
            for (int k = 0; k < 3; k++)
                acc[k] += p == 1 ? l[k] : pow(fmax(l[k], 0), p);
            used++;
        }
    }
    if ((what & PK_MEASURE_ILLUMINANT) && white_patch && ntrusted > 0) {
        /* The mean of the brightest 2% of trusted pixels. */
        double min_lum = hist_quantile(tlum, 0.98);
        for (size_t i = 0; i < n; i++) {
            const float *px = rgb + 3 * i;
            const float *sp = source ? source + 3 * i : px;
            if (pk_photo_pixel_clipped(sp, opts) || !pk_photo_pixel_trusted(px, opts) ||
                luminance(px) < min_lum)
                continue;
            double c[3] = {fmax(px[0], 0), fmax(px[1], 0), fmax(px[2], 0)}, l[3];
            pk_mat3_apply(to_cone, c, l);
            for (int k = 0; k < 3; k++)
                acc[k] += fmax(l[k], 0);
            used++;
        }
    }
    out->trusted = ntrusted;
    out->clipped = n ? (double)nclipped / (double)n : 0;
    out->shadow = n ? (double)nshadow / (double)n : 0;
    if ((what & PK_MEASURE_LUM) && n) {
        /* A clipped pixel is truly at least as bright as recorded. Below
         * the luminance of (nearly) all clipped pixels the ranking of the
         * others is therefore the true one, and so are the quantiles. */
        double clip_floor = clum->total > 0 ? hist_quantile(clum, 0.05) : INFINITY;
        out->median_lum = hist_quantile(lum, 0.5);
        for (int k = 0; k < PK_PHOTO_QUANTILES; k++) {
            double q = (double)(k + 1) / (PK_PHOTO_QUANTILES + 1);
            double y = hist_quantile(lum, q);
            out->log2_lum[k] = log2(fmax(y, 1e-9));
            out->lum_ok[k] = y >= opts->shadow_level && y < clip_floor;
        }
    }
    if ((what & PK_MEASURE_PEAK) && n) {
        out->peak = hist_quantile(peak, 0.999);
        out->bright = hist_quantile(peak, 0.99);
    }
    if ((what & PK_MEASURE_OKLAB) && ntrusted > 0) {
        for (int a = 0; a < 3; a++)
            out->oklab_mean[a] = sum[a] / (double)ntrusted;
        for (int a = 0; a < 3; a++)
            for (int b = a; b < 3; b++)
                out->oklab_cov[3 * a + b] = out->oklab_cov[3 * b + a] =
                    sum2[3 * a + b] / (double)ntrusted - out->oklab_mean[a] * out->oklab_mean[b];
    }
    if (what & PK_MEASURE_ILLUMINANT) {
        illuminant_from_sums(acc, used, p, opts->cat, out->illuminant);
        double xy[2];
        pk_xyz_to_xy(out->illuminant, xy);
        out->cct_valid = pk_cct_from_xy(xy, &out->cct, &out->duv) == 0;
    }
    free(lum);
    free(peak);
    free(tlum);
    free(clum);
    return PK_OK;
}

pk_status pk_photo_measure(pk_ctx *ctx, const float *rgb, size_t n,
                           const pk_photo_measure_opts *opts, pk_photo_stats *out)
{
    return pk_photo_measure_some(ctx, rgb, NULL, n, opts, PK_MEASURE_ALL, out);
}
