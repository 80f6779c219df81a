/*
 * plan.c — deciding a correction from measured pixels: white balance by
 * chromatic adaptation of the estimated illuminant, exposure from luminance
 * quantiles, colour transfer by the Monge–Kantorovich map between the Oklab
 * distributions, and the highlight roll-off that keeps the result in range.
 *
 * Each step is measured on the image as corrected by the steps before it
 * (exposure is measured after white balance, colour after exposure), so the
 * steps do not fight each other.
 */
#include "photo/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Mid grey: the neutral rendering puts the median luminance there. */
#define AUTO_MID_GREY 0.18
/* The neutral rendering moves at most this far (EV). */
#define AUTO_MAX_EV 3.0
/* Colour transfer scales no direction of Oklab by more than this. */
#define COLOR_MAX_GAIN 3.0

/* ---- Symmetric 3×3 eigen-decomposition and the MK map ------------------- */

void pk_sym3_eigen(const double m[9], double w[3], double v[9])
{
    double a[9];
    memcpy(a, m, sizeof a);
    pk_mat3_identity(v);
    for (int sweep = 0; sweep < 50; sweep++) {
        double off = fabs(a[1]) + fabs(a[2]) + fabs(a[5]);
        double scale = fabs(a[0]) + fabs(a[4]) + fabs(a[8]);
        if (off <= 1e-15 * scale || off == 0)
            break;
        static const int pairs[3][2] = {{0, 1}, {0, 2}, {1, 2}};
        for (int k = 0; k < 3; k++) {
            int p = pairs[k][0], q = pairs[k][1];
            double apq = a[3 * p + q];
            if (apq == 0)
                continue;
            /* The rotation that zeroes a[p][q] (Golub & Van Loan, 8.4). */
            double theta = (a[3 * q + q] - a[3 * p + p]) / (2 * apq);
            double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
            double c = 1 / sqrt(t * t + 1), s = t * c;
            for (int r = 0; r < 3; r++) { /* a = a J */
                double arp = a[3 * r + p], arq = a[3 * r + q];
                a[3 * r + p] = c * arp - s * arq;
                a[3 * r + q] = s * arp + c * arq;
            }
            for (int r = 0; r < 3; r++) { /* a = J^T a */
                double apr = a[3 * p + r], aqr = a[3 * q + r];
                a[3 * p + r] = c * apr - s * aqr;
                a[3 * q + r] = s * apr + c * aqr;
            }
            for (int r = 0; r < 3; r++) { /* v = v J */
                double vrp = v[3 * r + p], vrq = v[3 * r + q];
                v[3 * r + p] = c * vrp - s * vrq;
                v[3 * r + q] = s * vrp + c * vrq;
            }
        }
    }
    for (int i = 0; i < 3; i++)
        w[i] = a[4 * i];
}

/* v diag(f(w)) v^T */
static void sym3_rebuild(const double w[3], const double v[9], double out[9])
{
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double s = 0;
            for (int k = 0; k < 3; k++)
                s += v[3 * i + k] * w[k] * v[3 * j + k];
            out[3 * i + j] = s;
        }
}

/* m^(power) for a symmetric positive-definite m; -1 if not positive. */
static int sym3_power(const double m[9], double power, double out[9])
{
    double w[3], v[9];
    pk_sym3_eigen(m, w, v);
    for (int i = 0; i < 3; i++) {
        if (!(w[i] > 0))
            return -1;
        w[i] = pow(w[i], power);
    }
    sym3_rebuild(w, v, out);
    return 0;
}

int pk_monge_kantorovich(const double src_cov[9], const double dst_cov[9], double max_gain,
                         double a[9])
{
    /* A tiny ridge keeps a flat (e.g. colourless) source invertible; the
     * eigenvalue limit below decides how much such a source may be spread. */
    double s[9], d[9];
    memcpy(s, src_cov, sizeof s);
    memcpy(d, dst_cov, sizeof d);
    for (int i = 0; i < 3; i++) {
        s[4 * i] += 1e-7;
        d[4 * i] += 1e-7;
    }
    double sh[9], sih[9], c[9], ch[9], t[9];
    if (sym3_power(s, 0.5, sh) || sym3_power(s, -0.5, sih)) {
        pk_mat3_identity(a);
        return -1;
    }
    pk_mat3_mul(sh, d, t);
    pk_mat3_mul(t, sh, c);
    for (int i = 0; i < 3; i++) /* symmetrise against rounding */
        for (int j = 0; j < i; j++)
            c[3 * i + j] = c[3 * j + i] = (c[3 * i + j] + c[3 * j + i]) / 2;
    if (sym3_power(c, 0.5, ch)) {
        pk_mat3_identity(a);
        return -1;
    }
    pk_mat3_mul(sih, ch, t);
    pk_mat3_mul(t, sih, a);
    double w[3], v[9];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < i; j++)
            a[3 * i + j] = a[3 * j + i] = (a[3 * i + j] + a[3 * j + i]) / 2;
    pk_sym3_eigen(a, w, v);
    for (int i = 0; i < 3; i++)
        w[i] = fmin(max_gain, fmax(1 / max_gain, w[i]));
    sym3_rebuild(w, v, a);
    return 0;
}

/* ---- Corrections --------------------------------------------------------- */

void pk_photo_correction_identity(pk_photo_correction *c)
{
    memset(c, 0, sizeof *c);
    c->strength = 1;
    pk_mat3_identity(c->wb);
    pk_mat3_identity(c->matrix);
    pk_mat3_identity(c->color_a);
    memcpy(c->src_white, pk_d65_xyz, sizeof pk_d65_xyz);
    memcpy(c->dst_white, pk_d65_xyz, sizeof pk_d65_xyz);
    c->knee = 1;
    c->cct_before = c->duv_before = c->cct_target = c->duv_target = NAN;
    c->cct_after = c->duv_after = NAN;
}

/* Everything but the roll-off. */
static void correct_linear(const pk_photo_correction *c, const double in[3], double out[3])
{
    double x[3];
    pk_mat3_apply(c->matrix, in, x);
    if (c->mode & PK_PHOTO_COLOR) {
        double ok[3], t[3];
        pk_rgb_to_oklab(x, ok);
        pk_mat3_apply(c->color_a, ok, t);
        for (int i = 0; i < 3; i++)
            t[i] += c->color_b[i];
        pk_oklab_to_rgb(t, x);
    }
    memcpy(out, x, sizeof x);
}

void pk_photo_correct_pixel(const pk_photo_correction *c, const double in[3], double out[3])
{
    correct_linear(c, in, out);
    for (int i = 0; i < 3; i++)
        out[i] = pk_rolloff(out[i], c->knee);
}

static void apply_to_samples(const pk_photo_correction *c, const float *in, float *out, size_t n,
                             int rolloff)
{
    for (size_t i = 0; i < n; i++) {
        double x[3] = {in[3 * i], in[3 * i + 1], in[3 * i + 2]};
        if (rolloff)
            pk_photo_correct_pixel(c, x, x);
        else
            correct_linear(c, x, x);
        for (int k = 0; k < 3; k++)
            out[3 * i + k] = (float)x[k];
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The EV that moves `img`'s luminance distribution onto `ref`'s: the median
 * of the differences of their log-luminance quantiles, over the quantiles
 * usable in both; the middle 80% when enough of them are usable. A pure
 * exposure change shifts every quantile by the same amount, so this is exact
 * for it and unmoved by clipping at either end. */
static double exposure_offset(const pk_photo_stats *img, const pk_photo_stats *ref)
{
    double d[PK_PHOTO_QUANTILES];
    size_t nd = 0;
    for (int pass = 0; pass < 2 && nd < 3; pass++) {
        nd = 0;
        for (int k = 0; k < PK_PHOTO_QUANTILES; k++) {
            double q = (double)(k + 1) / (PK_PHOTO_QUANTILES + 1);
            if (pass == 0 && (q < 0.1 || q > 0.9))
                continue;
            if (img->lum_ok[k] && ref->lum_ok[k])
                d[nd++] = ref->log2_lum[k] - img->log2_lum[k];
        }
    }
    /* Nothing comparable (one of them all clipped or all black): no
     * estimate rather than a wild one. */
    return nd > 0 ? median(d, nd) : NAN;
}

/* The neutral exposure: median luminance to mid grey, but no further than
 * puts more than 1% of the pixels above white, and within ±AUTO_MAX_EV. */
static double auto_exposure(const pk_photo_stats *s)
{
    if (!(s->median_lum > 0))
        return NAN;
    double ev = log2(AUTO_MID_GREY / fmax(s->median_lum, 1e-6));
    if (ev > 0 && s->bright > 0)
        ev = fmin(ev, fmax(0, log2(1 / s->bright)));
    return fmin(AUTO_MAX_EV, fmax(-AUTO_MAX_EV, ev));
}

static void white_normalise(double xyz[3])
{
    double y = xyz[1] > 0 ? xyz[1] : 1;
    for (int i = 0; i < 3; i++)
        xyz[i] /= y;
}

static void cct_of(const double xyz[3], double *cct, double *duv)
{
    double xy[2];
    pk_xyz_to_xy(xyz, xy);
    if (pk_cct_from_xy(xy, cct, duv) != 0 && fabs(*duv) > 0.05) {
        *cct = NAN;
        *duv = NAN;
    }
}

/* The pixels an image and its reference are compared over: those both can
 * vouch for. Per channel, the ranks where either image clips are left out
 * of both; so are the ranks of luminance where either is in deep shadow.
 * Ranks of a channel survive an exposure change exactly and a white
 * balance cast nearly (it scales each channel), so two exposures of one
 * scene under different whites are compared over the same pixels, and the
 * highlights one of them lost do not pull the other's statistics away. */
typedef struct window {
    double q_lo, q_hi[3];
} window;

static pk_status common_window(pk_ctx *ctx, const float *rgb, size_t n,
                               const pk_photo_measure_opts *opts, const float *ref_rgb,
                               size_t ref_n, const pk_photo_measure_opts *ref_opts, window *w)
{
    double ci[3], cr[3], si, sr;
    pk_status s = pk_photo_clipping(ctx, rgb, n, opts, ci, &si);
    if (s == PK_OK)
        s = pk_photo_clipping(ctx, ref_rgb, ref_n, ref_opts, cr, &sr);
    if (s != PK_OK)
        return s;
    w->q_lo = fmax(si, sr);
    for (int c = 0; c < 3; c++) {
        double clipped = fmax(ci[c], cr[c]);
        w->q_hi[c] = clipped > 0 ? 1 - clipped - 0.005 : 1;
    }
    return PK_OK;
}

/* opts with the window's ranks as thresholds in these pixels (w NULL: none). */
static pk_status windowed(pk_ctx *ctx, const float *rgb, size_t n, const window *w,
                          const pk_photo_measure_opts *opts, pk_photo_measure_opts *o)
{
    *o = *opts;
    return w ? pk_photo_window(ctx, rgb, n, w->q_lo, w->q_hi, o) : PK_OK;
}

pk_status pk_photo_plan(pk_ctx *ctx, const float *rgb, size_t n,
                        const pk_photo_measure_opts *opts, const float *ref_rgb, size_t ref_n,
                        const pk_photo_measure_opts *ref_opts, unsigned mode, double strength,
                        pk_photo_correction *out)
{
    if (!ref_opts)
        ref_opts = opts;
    pk_photo_correction c;
    pk_photo_correction_identity(&c);
    strength = fmin(1, fmax(0, strength));
    c.strength = strength;
    if (!ref_rgb)
        mode &= ~(unsigned)PK_PHOTO_COLOR;
    float *work = malloc((n ? n : 1) * 3 * sizeof *work);
    if (!work)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory planning a correction");
    window win, *w = ref_rgb ? &win : NULL;
    pk_photo_measure_opts o_img, o_ref, o_work;
    pk_photo_stats st, ref;
    memset(&ref, 0, sizeof ref);
    pk_status s = PK_OK;
    if (w)
        s = common_window(ctx, rgb, n, opts, ref_rgb, ref_n, ref_opts, w);
    if (s == PK_OK)
        s = windowed(ctx, rgb, n, w, opts, &o_img);
    if (s == PK_OK && ref_rgb && (s = windowed(ctx, ref_rgb, ref_n, w, ref_opts, &o_ref)) == PK_OK)
        s = pk_photo_measure_some(ctx, ref_rgb, NULL, ref_n, &o_ref,
                                  PK_MEASURE_ILLUMINANT | PK_MEASURE_LUM | PK_MEASURE_OKLAB, &ref);
    if (s == PK_OK)
        s = pk_photo_measure_some(ctx, rgb, NULL, n, &o_img, PK_MEASURE_ILLUMINANT, &st);
    if (s != PK_OK)
        goto done;
    memcpy(c.src_white, st.illuminant, sizeof c.src_white);
    cct_of(c.src_white, &c.cct_before, &c.duv_before);
    const double *target = ref_rgb ? ref.illuminant : pk_d65_xyz;

    double wb_full[9];
    pk_mat3_identity(wb_full);
    if (mode & PK_PHOTO_WB) {
        pk_cat_matrix_rgb(opts->cat, c.src_white, target, wb_full);
        for (int i = 0; i < 3; i++)
            c.dst_white[i] = c.src_white[i] + strength * (target[i] - c.src_white[i]);
        white_normalise(c.dst_white);
        pk_cat_matrix_rgb(opts->cat, c.src_white, c.dst_white, c.wb);
        c.mode |= PK_PHOTO_WB;
    } else {
        memcpy(c.dst_white, c.src_white, sizeof c.dst_white);
    }
    cct_of(c.dst_white, &c.cct_target, &c.duv_target);

    if (mode & PK_PHOTO_EXPOSURE) {
        /* Compared with the reference once its white is the reference's:
         * a cast changes the luminance of coloured pixels. */
        pk_photo_correction t;
        pk_photo_correction_identity(&t);
        memcpy(t.matrix, wb_full, sizeof wb_full);
        apply_to_samples(&t, rgb, work, n, 0);
        if ((s = pk_photo_measure_some(ctx, work, rgb, n, opts, PK_MEASURE_LUM | PK_MEASURE_PEAK,
                                       &st)) != PK_OK)
            goto done;
        double ev = ref_rgb ? exposure_offset(&st, &ref) : auto_exposure(&st);
        c.ev_found = !isnan(ev);
        c.ev_estimated = c.ev_found ? ev : 0;
        c.ev = strength * c.ev_estimated;
        c.mode |= PK_PHOTO_EXPOSURE;
    }
    for (int i = 0; i < 9; i++)
        c.matrix[i] = exp2(c.ev) * c.wb[i];

    if (mode & PK_PHOTO_COLOR) {
        apply_to_samples(&c, rgb, work, n, 0);
        if ((s = windowed(ctx, work, n, w, opts, &o_work)) != PK_OK ||
            (s = pk_photo_measure_some(ctx, work, rgb, n, &o_work, PK_MEASURE_OKLAB, &st)) != PK_OK)
            goto done;
        double a[9], am[3];
        if (st.trusted > 0 && ref.trusted > 0 &&
            pk_monge_kantorovich(st.oklab_cov, ref.oklab_cov, COLOR_MAX_GAIN, a) == 0) {
            pk_mat3_apply(a, st.oklab_mean, am);
            for (int i = 0; i < 9; i++)
                c.color_a[i] = (1 - strength) * (i % 4 == 0) + strength * a[i];
            for (int i = 0; i < 3; i++)
                c.color_b[i] = strength * (ref.oklab_mean[i] - am[i]);
            c.mode |= PK_PHOTO_COLOR;
        }
    }

    /* The roll-off: as much as the corrected image's brightest values need. */
    apply_to_samples(&c, rgb, work, n, 0);
    if ((s = pk_photo_measure_some(ctx, work, NULL, n, opts, PK_MEASURE_PEAK, &st)) != PK_OK)
        goto done;
    c.peak = st.peak;
    c.knee = pk_rolloff_knee(st.peak);
    for (size_t i = 0; i < 3 * n; i++)
        work[i] = (float)pk_rolloff(work[i], c.knee);
    if ((s = windowed(ctx, work, n, w, opts, &o_work)) != PK_OK ||
        (s = pk_photo_measure_some(ctx, work, rgb, n, &o_work, PK_MEASURE_ILLUMINANT, &st)) != PK_OK)
        goto done;
    cct_of(st.illuminant, &c.cct_after, &c.duv_after);
    *out = c;
done:
    free(work);
    return s;
}
