/* Unit tests: statistics, Monge–Kantorovich map and correction planning on
 * synthetic pixel populations with known exposure offsets and casts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "photo/internal.h"

#define assert_near(a, b, tol)                                                                \
    do {                                                                                      \
        double a_ = (a), b_ = (b);                                                            \
        if (!(fabs(a_ - b_) <= (tol)))                                                        \
            fail_msg("%s = %.9g, expected %.9g (tolerance %g)", #a, a_, b_, (double)(tol));   \
    } while (0)

static uint64_t rng_state = 88172645463325252ull;
static double uniform(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static double gaussian(void)
{
    double u = uniform() + 1e-12, v = uniform();
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* A scene: log-normal luminance around mid grey, moderately saturated
 * colours, a few highlights near white; linear RGB, within [0, 1]. */
static float *make_scene(size_t n, double saturation)
{
    float *px = malloc(n * 3 * sizeof *px);
    for (size_t i = 0; i < n; i++) {
        double y = exp2(log2(0.15) + 1.3 * gaussian());
        double c[3];
        for (int k = 0; k < 3; k++)
            c[k] = y * exp(saturation * gaussian());
        for (int k = 0; k < 3; k++)
            px[3 * i + k] = (float)fmin(1, fmax(0, c[k]));
    }
    return px;
}

/* Apply a white-balance cast (Bradford from D65 to the white of cct/duv)
 * and an exposure offset, clipping to [0, 1] as a camera file would. */
static float *degrade(const float *src, size_t n, double ev, double cct, double duv)
{
    double xy[2], white[3], m[9];
    pk_xy_from_cct(cct, duv, xy);
    pk_xy_to_xyz(xy, 1, white);
    pk_cat_matrix_rgb(PK_CAT_BRADFORD, pk_d65_xyz, white, m);
    float *out = malloc(n * 3 * sizeof *out);
    for (size_t i = 0; i < n; i++) {
        double c[3] = {src[3 * i], src[3 * i + 1], src[3 * i + 2]}, d[3];
        pk_mat3_apply(m, c, d);
        for (int k = 0; k < 3; k++)
            out[3 * i + k] = (float)fmin(1, fmax(0, d[k] * exp2(ev)));
    }
    return out;
}

/* Mean CIEDE2000 between two pixel sets (linear RGB), over the pixels that
 * were not clipped in `orig` nor in `degraded` (lost information cannot be
 * matched back). */
static double mean_de(const float *a, const float *b, const float *degraded, size_t n)
{
    double sum = 0;
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        int clipped = 0;
        for (int k = 0; k < 3; k++)
            clipped |= degraded[3 * i + k] >= 0.999f || degraded[3 * i + k] <= 0 ||
                        a[3 * i + k] >= 0.999f;
        if (clipped)
            continue;
        double ca[3] = {a[3 * i], a[3 * i + 1], a[3 * i + 2]};
        double cb[3] = {b[3 * i], b[3 * i + 1], b[3 * i + 2]};
        double xa[3], xb[3], la[3], lb[3];
        pk_rgb_to_xyz(ca, xa);
        pk_rgb_to_xyz(cb, xb);
        pk_xyz_to_lab(xa, pk_d65_xyz, la);
        pk_xyz_to_lab(xb, pk_d65_xyz, lb);
        sum += pk_ciede2000(la, lb);
        used++;
    }
    return used ? sum / (double)used : 1e9;
}

/* Oklab mean and variances over all pixels (clipped ones included). */
static void oklab_moments(const float *px, size_t n, double mean[3], double var[3])
{
    double s[3] = {0, 0, 0}, s2[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        double c[3] = {fmax(px[3 * i], 0), fmax(px[3 * i + 1], 0), fmax(px[3 * i + 2], 0)}, o[3];
        pk_rgb_to_oklab(c, o);
        for (int k = 0; k < 3; k++) {
            s[k] += o[k];
            s2[k] += o[k] * o[k];
        }
    }
    for (int k = 0; k < 3; k++) {
        mean[k] = s[k] / (double)n;
        var[k] = s2[k] / (double)n - mean[k] * mean[k];
    }
}

static void correct_all(const pk_photo_correction *c, const float *in, float *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double x[3] = {in[3 * i], in[3 * i + 1], in[3 * i + 2]};
        pk_photo_correct_pixel(c, x, x);
        for (int k = 0; k < 3; k++)
            out[3 * i + k] = (float)x[k];
    }
}

static void test_sym3_eigen(void **state)
{
    (void)state;
    const double m[9] = {4, 1, 0.5, 1, 3, 0.2, 0.5, 0.2, 1};
    double w[3], v[9];
    pk_sym3_eigen(m, w, v);
    for (int i = 0; i < 3; i++) {
        /* m v_i = w_i v_i */
        double vi[3] = {v[i], v[3 + i], v[6 + i]}, mv[3];
        pk_mat3_apply(m, vi, mv);
        for (int k = 0; k < 3; k++)
            assert_near(mv[k], w[i] * vi[k], 1e-12);
    }
    assert_near(w[0] + w[1] + w[2], 8, 1e-12); /* the trace */
}

static void test_monge_kantorovich(void **state)
{
    (void)state;
    const double s[9] = {0.02, 0.001, -0.002, 0.001, 0.003, 0.0005, -0.002, 0.0005, 0.004};
    const double d[9] = {0.03, -0.001, 0.001, -0.001, 0.002, 0.0002, 0.001, 0.0002, 0.006};
    double a[9], t[9], r[9];
    assert_int_equal(pk_monge_kantorovich(s, d, 10, a), 0);
    /* Symmetric, and A S A = D: the map moves one covariance onto the other. */
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            assert_near(a[3 * i + j], a[3 * j + i], 1e-12);
    pk_mat3_mul(a, s, t);
    pk_mat3_mul(t, a, r);
    for (int i = 0; i < 9; i++)
        assert_near(r[i], d[i], 2e-6); /* up to the 1e-7 ridge */
    /* The same distribution: the identity. */
    assert_int_equal(pk_monge_kantorovich(s, s, 10, a), 0);
    for (int i = 0; i < 9; i++)
        assert_near(a[i], i % 4 == 0 ? 1 : 0, 1e-6);
    /* A flat source is not stretched beyond the limit. */
    const double flat[9] = {0.02, 0, 0, 0, 1e-9, 0, 0, 0, 1e-9};
    assert_int_equal(pk_monge_kantorovich(flat, d, 3, a), 0);
    double w[3], v[9];
    pk_sym3_eigen(a, w, v);
    for (int i = 0; i < 3; i++)
        assert_true(w[i] <= 3 + 1e-9 && w[i] >= 1 / 3.0 - 1e-9);
}

static void test_measure(void **state)
{
    (void)state;
    pk_ctx *ctx;
    assert_int_equal(pk_ctx_new(&ctx), PK_OK);
    pk_photo_measure_opts o;
    pk_photo_measure_defaults(&o);
    /* A neutral grey ramp: illuminant D65, CCT 6504 K, quantiles in order. */
    size_t n = 10000;
    float *px = malloc(n * 3 * sizeof *px);
    for (size_t i = 0; i < n; i++)
        px[3 * i] = px[3 * i + 1] = px[3 * i + 2] = (float)(0.01 + 0.9 * (double)i / (double)n);
    pk_photo_stats st;
    assert_int_equal(pk_photo_measure(ctx, px, n, &o, &st), PK_OK);
    for (int k = 0; k < 3; k++)
        assert_near(st.illuminant[k], pk_d65_xyz[k], 1e-9);
    assert_true(st.cct_valid);
    assert_near(st.cct, 6504, 6);
    assert_near(st.median_lum, 0.01 + 0.45, 1e-3);
    for (int k = 1; k < PK_PHOTO_QUANTILES; k++)
        assert_true(st.log2_lum[k] > st.log2_lum[k - 1]);
    assert_int_equal(st.trusted, n);
    assert_near(st.clipped, 0, 0);
    assert_near(st.oklab_mean[1], 0, 1e-6);
    assert_near(st.oklab_mean[2], 0, 1e-6);
    /* Clipped pixels are counted, not trusted, and the quantiles they reach
     * are not used for exposure. */
    for (size_t i = n - 2000; i < n; i++)
        px[3 * i] = px[3 * i + 1] = px[3 * i + 2] = 1;
    assert_int_equal(pk_photo_measure(ctx, px, n, &o, &st), PK_OK);
    assert_near(st.clipped, 0.2, 1e-9);
    assert_int_equal(st.trusted, n - 2000 - 0 /* none below the shadow level */);
    assert_false(st.lum_ok[PK_PHOTO_QUANTILES - 1]);
    assert_true(st.lum_ok[PK_PHOTO_QUANTILES / 2]);
    /* An empty image measures as neutral. */
    assert_int_equal(pk_photo_measure(ctx, px, 0, &o, &st), PK_OK);
    assert_int_equal(st.trusted, 0);
    assert_near(st.illuminant[2], pk_d65_xyz[2], 0);
    free(px);
    pk_ctx_free(ctx);
}

/* A cast and an exposure offset applied to a scene are found and undone. */
static void test_match_back(void **state)
{
    (void)state;
    pk_ctx *ctx;
    assert_int_equal(pk_ctx_new(&ctx), PK_OK);
    pk_photo_measure_opts o;
    pk_photo_measure_defaults(&o);
    const size_t n = 60000;
    float *orig = make_scene(n, 0.25);
    float *fixed = malloc(n * 3 * sizeof *fixed);
    pk_photo_stats ref;
    assert_int_equal(pk_photo_measure(ctx, orig, n, &o, &ref), PK_OK);
    const double cases[][3] = {
        {-2, 6504, 0.0032}, {2, 6504, 0.0032}, {0, 2800, 0}, {0, 8000, 0},
        {-1, 3200, 0.006}, {1, 7500, -0.006}, {-1.5, 5000, 0.01}, {0.5, 4000, -0.01},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const double ev = cases[t][0], cct = cases[t][1], duv = cases[t][2];
        float *deg = degrade(orig, n, ev, cct, duv);
        pk_photo_correction c;
        assert_int_equal(pk_photo_plan(ctx, deg, n, &o, orig, n, NULL, PK_PHOTO_EXPOSURE | PK_PHOTO_WB, 1, &c),
                         PK_OK);
        correct_all(&c, deg, fixed, n);
        double de = mean_de(orig, fixed, deg, n);
        print_message("# %+.1f EV, %4.0f K %+.3f: EV found %+.3f, CCT %.0f K (%+.4f) -> %.0f K, "
                      "mean dE00 %.3f\n",
                      ev, cct, duv, c.ev_estimated, c.cct_before, c.duv_before, c.cct_after, de);
        assert_near(c.ev_estimated, -ev, 0.05);
        /* The scene itself is not exactly neutral (its own estimate is
         * ref.cct), so the cast image estimates near, not at, the cast. */
        assert_near(c.cct_before, cct, cct * 0.05);
        assert_near(1e6 / c.cct_after, 1e6 / ref.cct, 8); /* mired */
        assert_true(de < 1.0);
        free(deg);
    }
    free(orig);
    free(fixed);
    pk_ctx_free(ctx);
}

/* Colour transfer moves the image's Oklab mean and covariance onto the
 * reference's; strength blends; strength 0 is the identity. */
static void test_color_transfer(void **state)
{
    (void)state;
    pk_ctx *ctx;
    assert_int_equal(pk_ctx_new(&ctx), PK_OK);
    pk_photo_measure_opts o;
    pk_photo_measure_defaults(&o);
    const size_t n = 40000;
    float *a = make_scene(n, 0.15), *b = make_scene(n, 0.35);
    /* Give b a different look: warmer and lighter. */
    for (size_t i = 0; i < n; i++) {
        b[3 * i] = b[3 * i] * 1.3f;
        b[3 * i + 2] *= 0.8f;
        for (int k = 0; k < 3; k++) {
            a[3 * i + k] = fminf(0.9f, a[3 * i + k]);
            b[3 * i + k] = fminf(0.9f, b[3 * i + k]);
        }
    }
    pk_photo_stats sb;
    assert_int_equal(pk_photo_measure(ctx, b, n, &o, &sb), PK_OK);
    pk_photo_correction c;
    assert_int_equal(pk_photo_plan(ctx, a, n, &o, b, n, NULL, PK_PHOTO_COLOR, 1, &c), PK_OK);
    assert_true(c.mode == PK_PHOTO_COLOR);
    float *out = malloc(n * 3 * sizeof *out);
    correct_all(&c, a, out, n);
    /* Neither image clips, so both are measured over nearly all their
     * pixels; the result's moments are the reference's (up to the 1% of
     * brightest pixels left out of the measurement and the roll-off). */
    double ma[3], va[3], mo[3], vo[3], mb[3], vb[3];
    oklab_moments(a, n, ma, va);
    oklab_moments(b, n, mb, vb);
    oklab_moments(out, n, mo, vo);
    for (int k = 0; k < 3; k++) {
        print_message("# oklab[%d] mean %.4f -> %.4f (ref %.4f), variance %.5f -> %.5f (ref %.5f)\n",
                      k, ma[k], mo[k], mb[k], va[k], vo[k], vb[k]);
        assert_near(mo[k], mb[k], 0.15 * fabs(ma[k] - mb[k]) + 2e-3);
        assert_near(vo[k], vb[k], 0.08 * vb[k]);
    }
    /* Strength 0 changes nothing. */
    assert_int_equal(pk_photo_plan(ctx, a, n, &o, b, n, NULL, PK_PHOTO_ALL, 0, &c), PK_OK);
    for (size_t i = 0; i < 300; i++) {
        double x[3] = {a[3 * i], a[3 * i + 1], a[3 * i + 2]}, y[3];
        pk_photo_correct_pixel(&c, x, y);
        for (int k = 0; k < 3; k++)
            assert_near(y[k], x[k], 1e-6);
    }
    /* Without a reference there is no colour transfer. */
    assert_int_equal(pk_photo_plan(ctx, a, n, &o, NULL, 0, NULL, PK_PHOTO_ALL, 1, &c), PK_OK);
    assert_false(c.mode & PK_PHOTO_COLOR);
    free(a);
    free(b);
    free(out);
    pk_ctx_free(ctx);
}

/* The neutral rendering of a scene does not depend on how the scene was
 * exposed or cast: auto on the degraded copies lands where auto on the
 * original lands. */
static void test_auto_is_consistent(void **state)
{
    (void)state;
    pk_ctx *ctx;
    assert_int_equal(pk_ctx_new(&ctx), PK_OK);
    pk_photo_measure_opts o;
    pk_photo_measure_defaults(&o);
    const size_t n = 40000;
    float *orig = make_scene(n, 0.2);
    for (size_t i = 0; i < 3 * n; i++)
        orig[i] *= 0.35f; /* an underexposed original: auto brightens it */
    pk_photo_correction c0, c;
    assert_int_equal(pk_photo_plan(ctx, orig, n, &o, NULL, 0, NULL, PK_PHOTO_ALL, 1, &c0), PK_OK);
    assert_true(c0.ev > 0.5);
    /* Up to +0.5 EV nothing clips: an image that has lost its highlights
     * is rightly treated differently (it is not brightened further). */
    for (double ev = -1.5; ev <= 0.51; ev += 0.5) {
        float *deg = degrade(orig, n, ev, 4000, 0.004);
        assert_int_equal(pk_photo_plan(ctx, deg, n, &o, NULL, 0, NULL, PK_PHOTO_ALL, 1, &c), PK_OK);
        assert_near(c.ev - c0.ev, -ev, 0.05);
        /* The target white is D65 whatever the cast. */
        assert_near(c.cct_after, c0.cct_after, 60);
        free(deg);
    }
    free(orig);
    pk_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sym3_eigen),
        cmocka_unit_test(test_monge_kantorovich),
        cmocka_unit_test(test_measure),
        cmocka_unit_test(test_match_back),
        cmocka_unit_test(test_color_transfer),
        cmocka_unit_test(test_auto_is_consistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
