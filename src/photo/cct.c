/*
 * cct.c — correlated colour temperature and Duv, and chromatic adaptation
 * transforms (Bradford, CAT16).
 *
 * The Planckian locus is M. Krystek's rational approximation in CIE 1960 uv
 * ("An algorithm to calculate correlated colour temperature", Color Research
 * & Application 10(1), 1985), within 1e-4 of Planck's law with the CIE 1931
 * observer from 1,000 K to 15,000 K. The CCT is the temperature of the point
 * of the locus nearest in uv, as CIE 15 defines it; we find it by a scan in
 * mired steps and a golden-section refinement, which is what Ohno's (2013)
 * cascade does on a tabulated locus.
 */
#include <postkit/photo.h>

#include <math.h>

static void planck_uv(double t, double uv[2])
{
    double t2 = t * t;
    uv[0] = (0.860117757 + 1.54118254e-4 * t + 1.28641212e-7 * t2) /
            (1 + 8.42420235e-4 * t + 7.08145163e-7 * t2);
    uv[1] = (0.317398726 + 4.22806245e-5 * t + 4.20481691e-8 * t2) /
            (1 - 2.89741816e-5 * t + 1.61456053e-7 * t2);
}

static void xy_to_uv(const double xy[2], double uv[2])
{
    double d = -2 * xy[0] + 12 * xy[1] + 3;
    uv[0] = 4 * xy[0] / d;
    uv[1] = 6 * xy[1] / d;
}

static void uv_to_xy(const double uv[2], double xy[2])
{
    double d = 2 * uv[0] - 8 * uv[1] + 4;
    xy[0] = 3 * uv[0] / d;
    xy[1] = 2 * uv[1] / d;
}

static double locus_dist2(const double uv[2], double mired)
{
    double p[2];
    planck_uv(1e6 / mired, p);
    return (uv[0] - p[0]) * (uv[0] - p[0]) + (uv[1] - p[1]) * (uv[1] - p[1]);
}

/* Unit normal of the locus at temperature t, pointing to larger v (above). */
static void locus_normal(double t, double n[2])
{
    double a[2], b[2];
    double h = t * 1e-4;
    planck_uv(t - h, a);
    planck_uv(t + h, b);
    double du = b[0] - a[0], dv = b[1] - a[1];
    double len = hypot(du, dv);
    n[0] = -dv / len;
    n[1] = du / len;
    if (n[1] < 0) {
        n[0] = -n[0];
        n[1] = -n[1];
    }
}

int pk_cct_from_xy(const double xy[2], double *cct, double *duv)
{
    double uv[2];
    xy_to_uv(xy, uv);
    const double lo = 1e6 / PK_CCT_MAX, hi = 1e6 / PK_CCT_MIN;
    /* Scan in 1-mired steps: the distance to the locus has one minimum in
     * each step's neighbourhood for any colour near the locus. */
    double best = lo, best_d = locus_dist2(uv, lo);
    for (double m = lo + 1; m <= hi; m += 1) {
        double d = locus_dist2(uv, m);
        if (d < best_d) {
            best_d = d;
            best = m;
        }
    }
    double a = fmax(lo, best - 1), b = fmin(hi, best + 1);
    const double g = (sqrt(5) - 1) / 2;
    double c = b - g * (b - a), d = a + g * (b - a);
    double fc = locus_dist2(uv, c), fd = locus_dist2(uv, d);
    while (b - a > 1e-7) {
        if (fc < fd) {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = locus_dist2(uv, c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = locus_dist2(uv, d);
        }
    }
    double mired = (a + b) / 2;
    double t = 1e6 / mired;
    double p[2], n[2];
    planck_uv(t, p);
    locus_normal(t, n);
    *cct = t;
    *duv = (uv[0] - p[0]) * n[0] + (uv[1] - p[1]) * n[1];
    int at_end = mired - lo < 1e-3 || hi - mired < 1e-3;
    return at_end || fabs(*duv) > 0.05 ? -1 : 0;
}

void pk_xy_from_cct(double cct, double duv, double xy[2])
{
    double t = fmin(PK_CCT_MAX, fmax(PK_CCT_MIN, cct));
    double p[2], n[2];
    planck_uv(t, p);
    locus_normal(t, n);
    double uv[2] = {p[0] + duv * n[0], p[1] + duv * n[1]};
    uv_to_xy(uv, xy);
}

/* ---- Chromatic adaptation ------------------------------------------------ */

static const double bradford[9] = {
    0.8951, 0.2664, -0.1614,
    -0.7502, 1.7135, 0.0367,
    0.0389, -0.0685, 1.0296,
};
static const double cat16[9] = {
    0.401288, 0.650173, -0.051461,
    -0.250268, 1.204414, 0.045854,
    -0.002079, 0.048952, 0.953127,
};

const double *pk_cat_cone_matrix(pk_cat cat)
{
    return cat == PK_CAT_CAT16 ? cat16 : bradford;
}

void pk_cat_matrix(pk_cat cat, const double src_white[3], const double dst_white[3], double m[9])
{
    const double *cone = pk_cat_cone_matrix(cat);
    double inv[9];
    pk_mat3_invert(cone, inv); /* a fixed, well-conditioned matrix */
    double s[3], d[3];
    pk_mat3_apply(cone, src_white, s);
    pk_mat3_apply(cone, dst_white, d);
    double gain[9] = {0};
    for (int i = 0; i < 3; i++)
        gain[4 * i] = s[i] != 0 ? d[i] / s[i] : 1;
    double t[9];
    pk_mat3_mul(gain, cone, t);
    pk_mat3_mul(inv, t, m);
}

void pk_cat_matrix_rgb(pk_cat cat, const double src_white[3], const double dst_white[3],
                       double m[9])
{
    double xyz[9], t[9];
    pk_cat_matrix(cat, src_white, dst_white, xyz);
    pk_mat3_mul(xyz, pk_rgb_to_xyz_matrix, t);
    pk_mat3_mul(pk_xyz_to_rgb_matrix, t, m);
}
