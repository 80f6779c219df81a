/* Unit tests: the colour science of src/photo against published values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>

#include <cmocka.h>

#include <postkit/photo.h>

#define assert_near(a, b, tol)                                                                \
    do {                                                                                      \
        double a_ = (a), b_ = (b);                                                            \
        if (!(fabs(a_ - b_) <= (tol)))                                                        \
            fail_msg("%s = %.9g, expected %.9g (tolerance %g)", #a, a_, b_, (double)(tol));   \
    } while (0)

static void test_srgb_transfer(void **state)
{
    (void)state;
    assert_near(pk_srgb_to_linear(0), 0, 0);
    assert_near(pk_srgb_to_linear(1), 1, 1e-12);
    /* The linear segment and the joint (IEC 61966-2-1). */
    assert_near(pk_srgb_to_linear(0.04045), 0.04045 / 12.92, 1e-12);
    assert_near(pk_srgb_to_linear(0.5), 0.214041140, 1e-8);
    assert_near(pk_linear_to_srgb(0.18), 0.461356129, 1e-8);
    assert_near(pk_srgb_to_linear(-0.5), -0.214041140, 1e-8);
    for (int i = 0; i <= 1000; i++) {
        double v = i / 1000.0;
        assert_near(pk_linear_to_srgb(pk_srgb_to_linear(v)), v, 1e-12);
    }
    /* Monotonic across the joint. */
    double prev = -1;
    for (int i = 0; i <= 65535; i++) {
        double l = pk_srgb_to_linear(i / 65535.0);
        assert_true(l > prev);
        prev = l;
    }
}

/* The matrix follows from the sRGB primaries and the D65 white. */
static void test_rgb_xyz_matrix_from_primaries(void **state)
{
    (void)state;
    const double prim[3][2] = {{0.64, 0.33}, {0.30, 0.60}, {0.15, 0.06}};
    double m[9], white[3], inv[9], scale[3];
    for (int j = 0; j < 3; j++) {
        double c[3];
        pk_xy_to_xyz(prim[j], 1, c);
        for (int i = 0; i < 3; i++)
            m[3 * i + j] = c[i];
    }
    pk_xy_to_xyz((const double[2]){0.3127, 0.3290}, 1, white);
    assert_int_equal(pk_mat3_invert(m, inv), 0);
    pk_mat3_apply(inv, white, scale);
    for (int i = 0; i < 9; i++)
        m[i] *= scale[i % 3];
    for (int i = 0; i < 9; i++)
        assert_near(pk_rgb_to_xyz_matrix[i], m[i], 1e-12);
    for (int i = 0; i < 3; i++)
        assert_near(pk_d65_xyz[i], white[i], 1e-12);
    double id[9];
    pk_mat3_mul(pk_rgb_to_xyz_matrix, pk_xyz_to_rgb_matrix, id);
    for (int i = 0; i < 9; i++)
        assert_near(id[i], i % 4 == 0 ? 1 : 0, 1e-12);
    /* White maps to D65 with Y = 1. */
    double xyz[3];
    pk_rgb_to_xyz((const double[3]){1, 1, 1}, xyz);
    for (int i = 0; i < 3; i++)
        assert_near(xyz[i], pk_d65_xyz[i], 1e-12);
}

static void test_lab(void **state)
{
    (void)state;
    double lab[3], xyz[3];
    pk_xyz_to_lab(pk_d65_xyz, pk_d65_xyz, lab);
    assert_near(lab[0], 100, 1e-9);
    assert_near(lab[1], 0, 1e-9);
    assert_near(lab[2], 0, 1e-9);
    /* Mid grey Y = 0.18 is L* 49.496. */
    double grey[3] = {0.18 * pk_d65_xyz[0], 0.18, 0.18 * pk_d65_xyz[2]};
    pk_xyz_to_lab(grey, pk_d65_xyz, lab);
    assert_near(lab[0], 49.4961, 1e-3);
    /* sRGB red (1, 0, 0): L*a*b* 53.24, 80.09, 67.20 (D65). */
    pk_rgb_to_xyz((const double[3]){1, 0, 0}, xyz);
    pk_xyz_to_lab(xyz, pk_d65_xyz, lab);
    assert_near(lab[0], 53.24, 0.01);
    assert_near(lab[1], 80.09, 0.01);
    assert_near(lab[2], 67.20, 0.01);
    /* Round trips on both sides of the linear segment. */
    const double samples[][3] = {{0.001, 0.0008, 0.002}, {0.3, 0.2, 0.5}, {0.9, 1.0, 0.2}};
    for (size_t k = 0; k < 3; k++) {
        double back[3];
        pk_xyz_to_lab(samples[k], pk_d65_xyz, lab);
        pk_lab_to_xyz(lab, pk_d65_xyz, back);
        for (int i = 0; i < 3; i++)
            assert_near(back[i], samples[k][i], 1e-12);
    }
}

static void test_oklab(void **state)
{
    (void)state;
    /* Reference values of the sRGB primaries in Oklab (Ottosson 2020). */
    const double rgb[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    const double ok[3][3] = {{0.62796, 0.22486, 0.12585},
                             {0.86644, -0.23389, 0.17950},
                             {0.45201, -0.03246, -0.31153}};
    for (int k = 0; k < 3; k++) {
        double lab[3], back[3];
        pk_rgb_to_oklab(rgb[k], lab);
        for (int i = 0; i < 3; i++)
            assert_near(lab[i], ok[k][i], 1e-5);
        pk_oklab_to_rgb(lab, back);
        for (int i = 0; i < 3; i++)
            assert_near(back[i], rgb[k][i], 1e-6); /* 10-digit published matrices */
    }
    double lab[3];
    pk_rgb_to_oklab((const double[3]){1, 1, 1}, lab);
    assert_near(lab[0], 1, 1e-6);
    assert_near(lab[1], 0, 1e-6);
    assert_near(lab[2], 0, 1e-6);
}

/* Table 1 of Sharma, Wu, Dalal (2005): L1 a1 b1 L2 a2 b2 and ΔE00. */
static const double sharma[34][7] = {
    {50.0000, 2.6772, -79.7751, 50.0000, 0.0000, -82.7485, 2.0425},
    {50.0000, 3.1571, -77.2803, 50.0000, 0.0000, -82.7485, 2.8615},
    {50.0000, 2.8361, -74.0200, 50.0000, 0.0000, -82.7485, 3.4412},
    {50.0000, -1.3802, -84.2814, 50.0000, 0.0000, -82.7485, 1.0000},
    {50.0000, -1.1848, -84.8006, 50.0000, 0.0000, -82.7485, 1.0000},
    {50.0000, -0.9009, -85.5211, 50.0000, 0.0000, -82.7485, 1.0000},
    {50.0000, 0.0000, 0.0000, 50.0000, -1.0000, 2.0000, 2.3669},
    {50.0000, -1.0000, 2.0000, 50.0000, 0.0000, 0.0000, 2.3669},
    {50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0009, 7.1792},
    {50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0010, 7.1792},
    {50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0011, 7.2195},
    {50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0012, 7.2195},
    {50.0000, -0.0010, 2.4900, 50.0000, 0.0009, -2.4900, 4.8045},
    {50.0000, -0.0010, 2.4900, 50.0000, 0.0010, -2.4900, 4.8045},
    {50.0000, -0.0010, 2.4900, 50.0000, 0.0011, -2.4900, 4.7461},
    {50.0000, 2.5000, 0.0000, 50.0000, 0.0000, -2.5000, 4.3065},
    {50.0000, 2.5000, 0.0000, 73.0000, 25.0000, -18.0000, 27.1492},
    {50.0000, 2.5000, 0.0000, 61.0000, -5.0000, 29.0000, 22.8977},
    {50.0000, 2.5000, 0.0000, 56.0000, -27.0000, -3.0000, 31.9030},
    {50.0000, 2.5000, 0.0000, 58.0000, 24.0000, 15.0000, 19.4535},
    {50.0000, 2.5000, 0.0000, 50.0000, 3.1736, 0.5854, 1.0000},
    {50.0000, 2.5000, 0.0000, 50.0000, 3.2972, 0.0000, 1.0000},
    {50.0000, 2.5000, 0.0000, 50.0000, 1.8634, 0.5757, 1.0000},
    {50.0000, 2.5000, 0.0000, 50.0000, 3.2592, 0.3350, 1.0000},
    {60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644},
    {63.0109, -31.0961, -5.8663, 62.8187, -29.7946, -4.0864, 1.2630},
    {61.2901, 3.7196, -5.3901, 61.4292, 2.2480, -4.9620, 1.8731},
    {35.0831, -44.1164, 3.7933, 35.0232, -40.0716, 1.5901, 1.8645},
    {22.7233, 20.0904, -46.6940, 23.0331, 14.9730, -42.5619, 2.0373},
    {36.4612, 47.8580, 18.3852, 36.2715, 50.5065, 21.2231, 1.4146},
    {90.8027, -2.0831, 1.4410, 91.1528, -1.6435, 0.0447, 1.4441},
    {90.9257, -0.5406, -0.9208, 88.6381, -0.8985, -0.7239, 1.5381},
    {6.7747, -0.2908, -2.4247, 5.8714, -0.0985, -2.2286, 0.6377},
    {2.0776, 0.0795, -1.1350, 0.9033, -0.0636, -0.5514, 0.9082},
};

static void test_ciede2000_sharma(void **state)
{
    (void)state;
    for (int k = 0; k < 34; k++) {
        const double *r = sharma[k];
        double d = pk_ciede2000(r, r + 3);
        if (fabs(d - r[6]) > 5e-5)
            fail_msg("Sharma pair %d: ΔE00 %.5f, expected %.4f", k + 1, d, r[6]);
        /* The formula is symmetric. */
        assert_near(pk_ciede2000(r + 3, r), d, 1e-9);
    }
    assert_near(pk_ciede2000(sharma[16], sharma[16]), 0, 0);
}

static void test_cct(void **state)
{
    (void)state;
    double cct, duv;
    /* CIE illuminant A lies on the locus at 2856 K (c2 = 1.4388e-2). */
    assert_int_equal(pk_cct_from_xy((const double[2]){0.44757, 0.40745}, &cct, &duv), 0);
    assert_near(cct, 2856, 4);
    assert_near(duv, 0, 3e-4);
    /* D65: 6504 K, Duv +0.0032; D50: 5003 K, Duv +0.0033. */
    assert_int_equal(pk_cct_from_xy((const double[2]){0.31271, 0.32902}, &cct, &duv), 0);
    assert_near(cct, 6504, 6);
    assert_near(duv, 0.0032, 2e-4);
    assert_int_equal(pk_cct_from_xy((const double[2]){0.34567, 0.35850}, &cct, &duv), 0);
    assert_near(cct, 5003, 6);
    assert_near(duv, 0.0033, 2e-4);
    /* Round trips over the working range, above and below the locus. */
    for (double t = 2000; t <= 12000; t += 250) {
        for (double d = -0.02; d <= 0.0201; d += 0.01) {
            double xy[2], t2, d2;
            pk_xy_from_cct(t, d, xy);
            assert_int_equal(pk_cct_from_xy(xy, &t2, &d2), 0);
            assert_near(t2, t, t * 1e-5);
            assert_near(d2, d, 1e-7);
        }
    }
    /* Positive Duv is greener (larger y) than the locus. */
    double above[2], below[2];
    pk_xy_from_cct(5000, 0.01, above);
    pk_xy_from_cct(5000, -0.01, below);
    assert_true(above[1] > below[1]);
    /* Far from the locus: flagged. */
    assert_int_equal(pk_cct_from_xy((const double[2]){0.2, 0.6}, &cct, &duv), -1);
}

static void test_cat(void **state)
{
    (void)state;
    /* Bradford D65 -> D50 as in ICC practice (Lindbloom's table). */
    const double d50[3] = {0.96422, 1.0, 0.82521};
    const double d65[3] = {0.95047, 1.0, 1.08883};
    const double expect[9] = {1.0478112, 0.0228866, -0.0501270, 0.0295424, 0.9904844,
                              -0.0170491, -0.0092345, 0.0150436, 0.7521316};
    double m[9], w[3];
    pk_cat_matrix(PK_CAT_BRADFORD, d65, d50, m);
    for (int i = 0; i < 9; i++)
        assert_near(m[i], expect[i], 2e-6);
    /* Each CAT maps the source white exactly onto the destination white,
     * and its inverse adaptation undoes it. */
    for (int c = 0; c < 2; c++) {
        double back[9], id[9];
        pk_cat_matrix((pk_cat)c, d65, d50, m);
        pk_mat3_apply(m, d65, w);
        for (int i = 0; i < 3; i++)
            assert_near(w[i], d50[i], 1e-12);
        pk_cat_matrix((pk_cat)c, d50, d65, back);
        pk_mat3_mul(back, m, id);
        for (int i = 0; i < 9; i++)
            assert_near(id[i], i % 4 == 0 ? 1 : 0, 1e-12);
    }
    /* On linear sRGB: adapting D65 to itself is the identity, and a white
     * object under 3000 K becomes neutral again after adapting back. */
    pk_cat_matrix_rgb(PK_CAT_CAT16, pk_d65_xyz, pk_d65_xyz, m);
    for (int i = 0; i < 9; i++)
        assert_near(m[i], i % 4 == 0 ? 1 : 0, 1e-12);
    double xy[2], warm[3], rgb[3], fixed[3];
    pk_xy_from_cct(3000, 0, xy);
    pk_xy_to_xyz(xy, 1, warm);
    pk_xyz_to_rgb(warm, rgb);
    assert_true(rgb[0] > 1.2 && rgb[2] < 0.6);
    pk_cat_matrix_rgb(PK_CAT_BRADFORD, warm, pk_d65_xyz, m);
    pk_mat3_apply(m, rgb, fixed);
    for (int i = 0; i < 3; i++)
        assert_near(fixed[i], 1, 1e-12);
}

static void test_mat3(void **state)
{
    (void)state;
    double a[9] = {2, 0, 1, 1, 3, 0, 0, 1, 4}, inv[9], id[9];
    assert_int_equal(pk_mat3_invert(a, inv), 0);
    pk_mat3_mul(a, inv, id);
    for (int i = 0; i < 9; i++)
        assert_near(id[i], i % 4 == 0 ? 1 : 0, 1e-14);
    double singular[9] = {1, 2, 3, 2, 4, 6, 0, 1, 1};
    assert_int_equal(pk_mat3_invert(singular, inv), -1);
}

static void test_rolloff(void **state)
{
    (void)state;
    /* Identity below the knee and when no compression is needed. */
    assert_near(pk_rolloff(0.5, 0.8), 0.5, 0);
    assert_near(pk_rolloff(1.7, 1.0), 1.7, 0);
    assert_near(pk_rolloff_knee(0.95), 1, 0);
    assert_near(pk_rolloff_knee(1.2), 0.9, 1e-12);
    assert_near(pk_rolloff_knee(4), 0.6, 0);
    /* Continuous with slope 1 at the knee, strictly increasing, below 1. */
    const double k = 0.7, h = 1e-7;
    assert_near(pk_rolloff(k + h, k), k + h, 1e-12);
    assert_near((pk_rolloff(k + 2 * h, k) - pk_rolloff(k + h, k)) / h, 1, 1e-5);
    double prev = 0;
    for (double x = 0; x < 8; x += 0.001) {
        double y = pk_rolloff(x, k);
        assert_true(y > prev || x == 0);
        assert_true(y < 1);
        prev = y;
    }
    /* The chosen knee brings the white to within 5% of the compressed range. */
    for (double white = 1.01; white <= 1.8; white += 0.01) {
        double kn = pk_rolloff_knee(white);
        double y = pk_rolloff(white, kn);
        assert_true(y < 1);
        assert_true(1 - y <= 0.05 * (1 - kn) + 1e-12);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_srgb_transfer),
        cmocka_unit_test(test_rgb_xyz_matrix_from_primaries),
        cmocka_unit_test(test_lab),
        cmocka_unit_test(test_oklab),
        cmocka_unit_test(test_ciede2000_sharma),
        cmocka_unit_test(test_cct),
        cmocka_unit_test(test_cat),
        cmocka_unit_test(test_mat3),
        cmocka_unit_test(test_rolloff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
