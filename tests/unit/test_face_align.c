/* Unit tests: face alignment's warp (src/ml/face_align.c).
 *
 * pk_warp_rgb is the hot loop of alignment, written for speed; here it is
 * compared with a plain, slow statement of the same definition: each crop
 * pixel is the mean of k x k bilinear samples (k = ceil of the source
 * pixels per crop pixel when that exceeds 1.5, at most 6), pixel centres
 * at i + 0.5, black outside the picture. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ml/face.h"

/* The definition, one tap at a time, in double precision. */
static void reference_sample(const pk_rgb8 *img, double x, double y, double rgb[3])
{
    x -= 0.5;
    y -= 0.5;
    int x0 = (int)floor(x), y0 = (int)floor(y);
    double fx = x - x0, fy = y - y0;
    rgb[0] = rgb[1] = rgb[2] = 0;
    for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++) {
            int xx = x0 + dx, yy = y0 + dy;
            if (xx < 0 || yy < 0 || xx >= img->width || yy >= img->height)
                continue;
            double w = (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy);
            const uint8_t *p = img->px + (size_t)yy * img->stride + 3 * (size_t)xx;
            for (int c = 0; c < 3; c++)
                rgb[c] += w * p[c];
        }
}

static void reference_warp(const pk_rgb8 *img, pk_sim2 to_crop, int out_w, int out_h, double scale,
                           double bias, double *out)
{
    pk_sim2 inv = pk_sim2_invert(to_crop);
    double ratio = sqrt(inv.a * inv.a + inv.b * inv.b);
    int k = ratio > 1.5 ? (int)ceil(ratio) : 1;
    if (k > 6)
        k = 6;
    for (int v = 0; v < out_h; v++)
        for (int u = 0; u < out_w; u++) {
            double acc[3] = {0, 0, 0};
            for (int sy = 0; sy < k; sy++)
                for (int sx = 0; sx < k; sx++) {
                    double cu = u + (sx + 0.5) / k, cv = v + (sy + 0.5) / k;
                    double rgb[3];
                    reference_sample(img, inv.a * cu - inv.b * cv + inv.tx, inv.b * cu + inv.a * cv + inv.ty,
                                     rgb);
                    for (int c = 0; c < 3; c++)
                        acc[c] += rgb[c];
                }
            for (int c = 0; c < 3; c++)
                out[3 * ((size_t)v * out_w + u) + c] = acc[c] / (k * k) * scale + bias;
        }
}

/* A picture with detail at every scale: a pseudo-random texture. */
static uint8_t *texture(int h, size_t stride)
{
    uint8_t *px = malloc(stride * (size_t)h);
    assert_non_null(px);
    uint32_t s = 12345;
    for (size_t i = 0; i < stride * (size_t)h; i++) {
        s = s * 1664525u + 1013904223u;
        px[i] = (uint8_t)(s >> 24);
    }
    return px;
}

/* Warps of every kind: enlarging, k = 1, 2, 6 (clamped), rotated, partly
 * or wholly outside the picture, with a padded stride. */
static void test_warp_matches_definition(void **state)
{
    (void)state;
    const int w = 301, h = 203;
    const size_t stride = 3 * (size_t)w + 5;
    uint8_t *px = texture(h, stride);
    pk_rgb8 img = {px, w, h, stride};
    const struct {
        double scale, angle, tx, ty; /* crop = scale * R(angle) * src + t */
        int size;
    } cases[] = {
        {2.5, 0.0, -100, -80, 48},   /* enlarging */
        {1.0, 0.3, -40, -60, 64},    /* rotated, k = 1 */
        {0.45, -0.2, -10, -5, 40},   /* k = 3 */
        {0.6, 0.0, 0.25, 0.75, 32},  /* k = 2, sub-pixel offset */
        {0.05, 0.7, 5, 3, 12},       /* k would be 20: clamped to 6 */
        {1.3, 1.2, 150, -40, 64},    /* partly outside */
        {1.0, 0.0, 1000, 1000, 16},  /* wholly outside: black */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pk_sim2 t = {cases[i].scale * cos(cases[i].angle), cases[i].scale * sin(cases[i].angle), cases[i].tx,
                     cases[i].ty};
        int n = cases[i].size;
        float *got = malloc((size_t)n * n * 3 * sizeof *got);
        double *want = malloc((size_t)n * n * 3 * sizeof *want);
        assert_non_null(got);
        assert_non_null(want);
        pk_warp_rgb(&img, t, n, n, 1.f / 127.5f, -1.f, got);
        reference_warp(&img, t, n, n, 1.0 / 127.5, -1.0, want);
        double worst = 0, sum = 0;
        for (size_t q = 0; q < (size_t)n * n * 3; q++) {
            double d = fabs(got[q] - want[q]);
            worst = d > worst ? d : worst;
            sum += want[q];
        }
        /* 1e-4 of the [-1, 1] range is 0.006 grey levels. */
        if (worst > 1e-4)
            fail_msg("case %zu: warp differs from the definition by %g", i, worst);
        if (i == 6)
            assert_true(fabs(sum / (n * n * 3) + 1.0) < 1e-6);
        free(got);
        free(want);
    }
    free(px);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_warp_matches_definition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
