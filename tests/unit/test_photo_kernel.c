/* Unit tests: the fused libvips kernel reproduces the exact (double
 * precision) correction for 8-bit, 16-bit and float images. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "media/internal.h"
#include "photo/internal.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 32);
}

/* A correction with every stage active: warm cast removed, +1.3 EV (so
 * highlights need the roll-off), and a colour transfer. */
static void strong_correction(pk_photo_correction *c, int color)
{
    pk_photo_correction_identity(c);
    double xy[2], warm[3];
    pk_xy_from_cct(3400, 0.004, xy);
    pk_xy_to_xyz(xy, 1, warm);
    pk_cat_matrix_rgb(PK_CAT_BRADFORD, warm, pk_d65_xyz, c->wb);
    c->ev = 1.3;
    for (int i = 0; i < 9; i++)
        c->matrix[i] = exp2(c->ev) * c->wb[i];
    c->mode = PK_PHOTO_EXPOSURE | PK_PHOTO_WB;
    if (color) {
        const double a[9] = {0.95, 0.02, -0.01, 0.02, 1.25, 0.05, -0.01, 0.05, 1.15};
        memcpy(c->color_a, a, sizeof a);
        c->color_b[0] = 0.01;
        c->color_b[1] = 0.012;
        c->color_b[2] = -0.02;
        c->mode |= PK_PHOTO_COLOR;
    }
    c->knee = pk_rolloff_knee(1.9);
}

/* Expected encoded output for an encoded/linear input sample triple. */
static void expected(const pk_photo_correction *c, const double lin[3], double scale,
                     int encode, double out[3])
{
    double y[3];
    pk_photo_correct_pixel(c, lin, y);
    for (int k = 0; k < 3; k++)
        out[k] = encode ? scale * pk_linear_to_srgb(fmin(1, fmax(0, y[k]))) : y[k];
}

static VipsImage *run_kernel(VipsImage *in, const pk_photo_correction *c, VipsBandFormat fmt)
{
    pk_ctx *ctx;
    assert_int_equal(pk_ctx_new(&ctx), PK_OK);
    VipsImage *out = NULL;
    assert_int_equal(pk_photo_apply_vips(ctx, in, c, NULL, fmt, &out), PK_OK);
    pk_ctx_free(ctx);
    return out;
}

static void check_format(VipsBandFormat in_fmt, VipsBandFormat out_fmt, int color, double tol)
{
    const int w = 701, h = 53; /* odd sizes: strips and line ends */
    size_t n = (size_t)w * h * 3;
    size_t esize = in_fmt == VIPS_FORMAT_UCHAR ? 1 : in_fmt == VIPS_FORMAT_USHORT ? 2 : 4;
    unsigned char *buf = malloc(n * esize);
    for (size_t i = 0; i < n; i++) {
        if (in_fmt == VIPS_FORMAT_UCHAR)
            buf[i] = (unsigned char)rnd();
        else if (in_fmt == VIPS_FORMAT_USHORT)
            ((uint16_t *)buf)[i] = (uint16_t)rnd();
        else /* linear values, a few beyond white and below black */
            ((float *)buf)[i] = (float)((double)rnd() / 4294967296.0 * 1.3 - 0.05);
    }
    VipsImage *in = vips_image_new_from_memory(buf, n * esize, w, h, 3, in_fmt);
    pk_photo_correction c;
    strong_correction(&c, color);
    VipsImage *out = run_kernel(in, &c, out_fmt);
    size_t len;
    void *res = vips_image_write_to_memory(out, &len);
    assert_non_null(res);
    size_t osize = out_fmt == VIPS_FORMAT_UCHAR ? 1 : out_fmt == VIPS_FORMAT_USHORT ? 2 : 4;
    assert_int_equal(len, n * osize);
    double scale = out_fmt == VIPS_FORMAT_UCHAR ? 255 : 65535;
    double worst = 0, sum = 0;
    for (size_t p = 0; p < n / 3; p++) {
        double lin[3], exp[3], got[3];
        for (int k = 0; k < 3; k++) {
            size_t i = 3 * p + (size_t)k;
            lin[k] = in_fmt == VIPS_FORMAT_UCHAR    ? pk_srgb_to_linear(buf[i] / 255.0)
                     : in_fmt == VIPS_FORMAT_USHORT ? pk_srgb_to_linear(((uint16_t *)buf)[i] / 65535.0)
                                                    : ((float *)buf)[i];
            got[k] = out_fmt == VIPS_FORMAT_UCHAR    ? ((unsigned char *)res)[i]
                     : out_fmt == VIPS_FORMAT_USHORT ? ((uint16_t *)res)[i]
                                                     : ((float *)res)[i];
        }
        expected(&c, lin, scale, out_fmt != VIPS_FORMAT_FLOAT, exp);
        for (int k = 0; k < 3; k++) {
            double e = fabs(got[k] - exp[k]);
            if (getenv("PK_DEBUG_KERNEL") && e > tol)
                print_message("# px %zu ch %d lin %.6g %.6g %.6g: got %.6g expected %.6g\n", p, k,
                              lin[0], lin[1], lin[2], got[k], exp[k]);
            worst = fmax(worst, e);
            sum += e;
        }
    }
    print_message("# %s -> %s%s: max error %.4g, mean %.4g\n",
                  vips_enum_nick(VIPS_TYPE_BAND_FORMAT, in_fmt),
                  vips_enum_nick(VIPS_TYPE_BAND_FORMAT, out_fmt), color ? " (colour)" : "", worst,
                  sum / (double)n);
    if (!(worst <= tol))
        fail_msg("max error %g > %g", worst, tol);
    g_free(res);
    g_object_unref(out);
    g_object_unref(in);
    free(buf);
}

/* Rounding to the output's levels: at most half a level plus float error. */
static void test_uchar(void **state)
{
    (void)state;
    check_format(VIPS_FORMAT_UCHAR, VIPS_FORMAT_UCHAR, 0, 0.51);
    check_format(VIPS_FORMAT_UCHAR, VIPS_FORMAT_UCHAR, 1, 0.6);
}

static void test_ushort(void **state)
{
    (void)state;
    check_format(VIPS_FORMAT_USHORT, VIPS_FORMAT_USHORT, 0, 1.5);
    check_format(VIPS_FORMAT_USHORT, VIPS_FORMAT_USHORT, 1, 4);
    check_format(VIPS_FORMAT_UCHAR, VIPS_FORMAT_USHORT, 1, 4);
}

static void test_float(void **state)
{
    (void)state;
    check_format(VIPS_FORMAT_FLOAT, VIPS_FORMAT_UCHAR, 1, 0.6);
    check_format(VIPS_FORMAT_FLOAT, VIPS_FORMAT_FLOAT, 0, 2e-5);
}

/* A smooth 16-bit ramp stays smooth: no 8-bit steps inside. */
static void test_ushort_ramp_levels(void **state)
{
    (void)state;
    const int w = 4096;
    uint16_t *ramp = malloc((size_t)w * 3 * sizeof *ramp);
    for (int x = 0; x < w; x++)
        for (int k = 0; k < 3; k++)
            ramp[3 * x + k] = (uint16_t)(10000 + x * 4); /* 16 levels of 8-bit */
    VipsImage *in = vips_image_new_from_memory(ramp, (size_t)w * 3 * 2, w, 1, 3, VIPS_FORMAT_USHORT);
    pk_photo_correction c;
    pk_photo_correction_identity(&c);
    c.ev = 0.5;
    for (int i = 0; i < 9; i++)
        c.matrix[i] *= exp2(c.ev);
    c.mode = PK_PHOTO_EXPOSURE;
    VipsImage *out = run_kernel(in, &c, VIPS_FORMAT_USHORT);
    size_t len;
    uint16_t *res = vips_image_write_to_memory(out, &len);
    int distinct = 1, max_step = 0;
    for (int x = 1; x < w; x++) {
        int d = res[3 * x] - res[3 * (x - 1)];
        assert_true(d >= 0);
        distinct += d > 0;
        max_step = d > max_step ? d : max_step;
    }
    print_message("# ramp: %d distinct levels of 4096, largest step %d (8-bit step = 257)\n",
                  distinct, max_step);
    assert_true(distinct > 4000);
    assert_true(max_step < 64);
    g_free(res);
    g_object_unref(out);
    g_object_unref(in);
    free(ramp);
}

static void test_refuses_bad_bands(void **state)
{
    (void)state;
    unsigned char px[4 * 8] = {0};
    VipsImage *in = vips_image_new_from_memory(px, sizeof px, 8, 1, 4, VIPS_FORMAT_UCHAR);
    pk_ctx *ctx;
    assert_int_equal(pk_ctx_new(&ctx), PK_OK);
    pk_photo_correction c;
    pk_photo_correction_identity(&c);
    VipsImage *out = NULL;
    assert_int_equal(pk_photo_apply_vips(ctx, in, &c, NULL, VIPS_FORMAT_UCHAR, &out), PK_ERR_INPUT);
    assert_null(out);
    assert_non_null(strstr(pk_ctx_errmsg(ctx), "4-band"));
    pk_ctx_free(ctx);
    g_object_unref(in);
}

static int setup(void **state)
{
    (void)state;
    /* The tests build pictures with libvips itself: start it now. */
    return pk_init("test_photo_kernel") == PK_OK && pk_image_libs_start(NULL, NULL) == PK_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    pk_shutdown();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uchar),
        cmocka_unit_test(test_ushort),
        cmocka_unit_test(test_float),
        cmocka_unit_test(test_ushort_ramp_levels),
        cmocka_unit_test(test_refuses_bad_bands),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
