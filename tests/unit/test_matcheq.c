/* Unit tests: match EQ. A signal filtered by a known EQ is matched back to
 * the unfiltered reference within +-1 dB in every third-octave band from
 * 100 Hz to 10 kHz (linear- and minimum-phase), the correction is limited
 * to +-12 dB, and the filter keeps length and alignment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fftw3.h>

#include "audio/internal.h"

#define RATE 48000

typedef struct biquad_state {
    double b0, b1, b2, a1, a2, z1, z2;
} biquad_state;

/* Audio EQ cookbook sections (peaking, shelves), the "known EQ". */
static biquad_state peaking(double f0, double q, double gain_db)
{
    double A = pow(10, gain_db / 40), w = 2 * M_PI * f0 / RATE, al = sin(w) / (2 * q);
    double a0 = 1 + al / A;
    return (biquad_state){(1 + al * A) / a0, -2 * cos(w) / a0, (1 - al * A) / a0, -2 * cos(w) / a0,
                          (1 - al / A) / a0, 0, 0};
}

static biquad_state shelf(double f0, double gain_db, int high)
{
    double A = pow(10, gain_db / 40), w = 2 * M_PI * f0 / RATE, al = sin(w) / 2 * sqrt(2);
    double c = cos(w), s2 = 2 * sqrt(A) * al;
    double b0, b1, b2, a0, a1, a2;
    if (high) {
        b0 = A * ((A + 1) + (A - 1) * c + s2);
        b1 = -2 * A * ((A - 1) + (A + 1) * c);
        b2 = A * ((A + 1) + (A - 1) * c - s2);
        a0 = (A + 1) - (A - 1) * c + s2;
        a1 = 2 * ((A - 1) - (A + 1) * c);
        a2 = (A + 1) - (A - 1) * c - s2;
    } else {
        b0 = A * ((A + 1) - (A - 1) * c + s2);
        b1 = 2 * A * ((A - 1) - (A + 1) * c);
        b2 = A * ((A + 1) - (A - 1) * c - s2);
        a0 = (A + 1) + (A - 1) * c + s2;
        a1 = -2 * ((A - 1) + (A + 1) * c);
        a2 = (A + 1) + (A - 1) * c - s2;
    }
    return (biquad_state){b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0, 0, 0};
}

static double run_biquad(biquad_state *b, double x)
{
    double y = b->b0 * x + b->z1;
    b->z1 = b->b1 * x - b->a1 * y + b->z2;
    b->z2 = b->b2 * x - b->a2 * y;
    return y;
}

/* Pink-ish stereo noise (sum of one-pole filtered noises), side at -8 dB. */
static float *reference(int64_t n)
{
    float *x = malloc(sizeof(float) * (size_t)n * 2);
    uint32_t seed = 1;
    double p[2][4] = {{0}};
    const double poles[4] = {0.99, 0.95, 0.8, 0.0};
    for (int64_t i = 0; i < n; i++) {
        double v[2];
        for (int c = 0; c < 2; c++) {
            v[c] = 0;
            for (int k = 0; k < 4; k++) {
                seed = seed * 1664525u + 1013904223u;
                double w = (double)(seed >> 8) / 16777216.0 - 0.5;
                p[c][k] = poles[k] * p[c][k] + (1 - poles[k]) * w * 4;
                v[c] += p[c][k];
            }
        }
        double mid = v[0] * 0.1, side = v[1] * 0.1 * 0.4;
        x[2 * i] = (float)(mid + side);
        x[2 * i + 1] = (float)(mid - side);
    }
    return x;
}

static float *apply_known_eq(const float *x, int64_t n)
{
    float *y = malloc(sizeof(float) * (size_t)n * 2);
    for (int c = 0; c < 2; c++) {
        biquad_state b[3] = {shelf(150, -5, 0), peaking(1000, 1.0, 6), shelf(5000, 4, 1)};
        for (int64_t i = 0; i < n; i++) {
            double v = x[2 * i + c];
            for (int k = 0; k < 3; k++)
                v = run_biquad(&b[k], v);
            y[2 * i + c] = (float)v;
        }
    }
    return y;
}

/* Third-octave band levels (dB) of the mid signal, 100 Hz .. 10 kHz. */
#define BANDS 21
static void band_levels(const float *x, int64_t n, double out[BANDS])
{
    const int N = 16384;
    double *in = fftw_malloc(sizeof(double) * N);
    fftw_complex *sp = fftw_malloc(sizeof(fftw_complex) * (N / 2 + 1));
    fftw_plan p = fftw_plan_dft_r2c_1d(N, in, sp, FFTW_ESTIMATE);
    double *pw = calloc(N / 2 + 1, sizeof(double));
    for (int64_t s = 0; s + N <= n; s += N / 2) {
        for (int i = 0; i < N; i++)
            in[i] = 0.5 * ((double)x[2 * (s + i)] + x[2 * (s + i) + 1]) *
                    (0.5 - 0.5 * cos(2 * M_PI * i / N));
        fftw_execute(p);
        for (int k = 0; k <= N / 2; k++)
            pw[k] += creal(sp[k] * conj(sp[k]));
    }
    for (int b = 0; b < BANDS; b++) {
        double fc = 100 * pow(2, b / 3.0), lo = fc * pow(2, -1 / 6.0), hi = fc * pow(2, 1 / 6.0);
        double e = 0;
        for (int k = (int)ceil(lo * N / RATE); k <= (int)floor(hi * N / RATE); k++)
            e += pw[k];
        out[b] = 10 * log10(e + 1e-30);
    }
    fftw_destroy_plan(p);
    fftw_free(in);
    fftw_free(sp);
    free(pw);
}

static float *filter_all(pk_fir *f, const float *x, int64_t n)
{
    float *y = malloc(sizeof(float) * (size_t)(n + 2 * pk_fir_block(f)) * 2);
    int64_t w = 0;
    for (int64_t i = 0; i < n; i += 5000) {
        int64_t k = n - i < 5000 ? n - i : 5000;
        w += pk_fir_process(f, x + 2 * i, k, y + 2 * w);
    }
    w += pk_fir_flush(f, y + 2 * w);
    assert_int_equal(w, n);
    return y;
}

static void check_match(int minimum_phase)
{
    int64_t n = RATE * 20;
    float *ref = reference(n), *in = apply_known_eq(ref, n);
    pk_spectrum *sr = pk_spectrum_new(RATE, 2), *si = pk_spectrum_new(RATE, 2);
    pk_spectrum_add(sr, ref, n);
    pk_spectrum_add(si, in, n);
    double rdb[PK_EQ_POINTS], idb[PK_EQ_POINTS], curve[PK_EQ_POINTS], rsm, ism;
    assert_true(pk_spectrum_result(sr, rdb, &rsm) > 100);
    assert_true(pk_spectrum_result(si, idb, &ism) > 100);
    pk_eq_curve(idb, rdb, 0.45 * RATE, curve);
    pk_fir *f = pk_fir_new(curve, RATE, 2, minimum_phase);
    assert_non_null(f);
    float *out = filter_all(f, in, n);
    double lr[BANDS], lo[BANDS], li[BANDS];
    band_levels(ref, n, lr);
    band_levels(out, n, lo);
    band_levels(in, n, li);
    double mean = 0, worst_before = 0;
    for (int b = 0; b < BANDS; b++)
        mean += (lo[b] - lr[b]) / BANDS;
    double worst = 0, mean_in = 0;
    for (int b = 0; b < BANDS; b++)
        mean_in += (li[b] - lr[b]) / BANDS;
    for (int b = 0; b < BANDS; b++) {
        worst = fmax(worst, fabs(lo[b] - lr[b] - mean));
        worst_before = fmax(worst_before, fabs(li[b] - lr[b] - mean_in));
    }
    print_message("%s: worst band error %.2f dB before, %.2f dB after\n",
                  minimum_phase ? "minimum phase" : "linear phase", worst_before, worst);
    assert_true(worst_before > 4);
    assert_true(worst <= 1.0);
    pk_fir_free(f);
    pk_spectrum_free(sr);
    pk_spectrum_free(si);
    free(ref);
    free(in);
    free(out);
}

static void test_match_linear_phase(void **state)
{
    (void)state;
    check_match(0);
}

static void test_match_minimum_phase(void **state)
{
    (void)state;
    check_match(1);
}

static void test_curve_limited(void **state)
{
    (void)state;
    double a[PK_EQ_POINTS], b[PK_EQ_POINTS], c[PK_EQ_POINTS];
    for (int i = 0; i < PK_EQ_POINTS; i++) {
        a[i] = 0;
        b[i] = i > 100 && i < 120 ? -40 : (i > 200 ? 30 : 0);
    }
    pk_eq_curve(a, b, 20000, c);
    for (int i = 0; i < PK_EQ_POINTS; i++)
        assert_true(fabs(c[i]) <= PK_EQ_MAX_DB + 1e-9);
    assert_true(c[110] == -PK_EQ_MAX_DB);
}

/* A flat curve is (nearly) transparent and keeps the timing: the linear
 * phase delay is removed. */
static void test_flat_is_transparent(void **state)
{
    (void)state;
    double flat[PK_EQ_POINTS] = {0};
    int64_t n = RATE * 2;
    float *x = reference(n);
    pk_fir *f = pk_fir_new(flat, RATE, 2, 0);
    float *y = filter_all(f, x, n);
    double e = 0, s = 0;
    for (int64_t i = 0; i < 2 * n; i++) {
        e += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
        s += (double)x[i] * x[i];
    }
    assert_true(10 * log10(s / e) > 60);
    pk_fir_free(f);
    free(x);
    free(y);
}

static void test_width_ratio(void **state)
{
    (void)state;
    int64_t n = RATE * 5;
    float *x = reference(n);
    pk_spectrum *s = pk_spectrum_new(RATE, 2);
    pk_spectrum_add(s, x, n);
    double db[PK_EQ_POINTS], sm;
    pk_spectrum_result(s, db, &sm);
    /* side = 0.4 x an independent signal of the same spectrum as mid. */
    assert_true(fabs(10 * log10(sm) - 20 * log10(0.4)) < 0.5);
    pk_spectrum_free(s);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_linear_phase),
        cmocka_unit_test(test_match_minimum_phase),
        cmocka_unit_test(test_curve_limited),
        cmocka_unit_test(test_flat_is_transparent),
        cmocka_unit_test(test_width_ratio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
