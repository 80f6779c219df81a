/* Unit tests: declipping restores a signal clipped at -3 dBFS to at least
 * 10 dB better SNR against the original, leaves clean audio untouched, and
 * reports the runs it repaired and those too long to repair. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audio/internal.h"

static float *run_declip(const float *x, int64_t n, int ch, double level, int block,
                         pk_declip_stats *st, pk_declip **keep)
{
    double pos[2] = {level, level}, neg[2] = {level, level};
    pk_declip *d = pk_declip_new(ch, pos, neg);
    assert_non_null(d);
    float *out = malloc(sizeof(float) * (size_t)(n + PK_DECLIP_FRAME + block) * ch);
    int64_t w = 0;
    for (int64_t i = 0; i < n; i += block) {
        int64_t k = n - i < block ? n - i : block;
        w += pk_declip_process(d, x + i * ch, k, out + w * ch);
    }
    w += pk_declip_flush(d, out + w * ch);
    assert_int_equal(w, n);
    pk_declip_get_stats(d, st);
    if (keep)
        *keep = d;
    else
        pk_declip_free(d);
    return out;
}

/* Music-like: a few partials with slow amplitude changes, and a little noise;
 * normalised to a 0 dBFS peak. */
static float *music(int64_t n, int rate, int ch)
{
    float *x = malloc(sizeof(float) * (size_t)n * ch);
    const double f[] = {196, 247, 294, 392, 587, 1175};
    const double g[] = {1, 0.6, 0.5, 0.3, 0.2, 0.08};
    uint32_t seed = 99;
    double peak = 0;
    for (int64_t i = 0; i < n; i++) {
        double t = (double)i / rate, v = 0;
        for (int k = 0; k < 6; k++)
            v += g[k] * (0.7 + 0.3 * sin(2 * M_PI * 0.5 * t + k)) * sin(2 * M_PI * f[k] * t + k);
        seed = seed * 1664525u + 1013904223u;
        v += 0.001 * ((double)(seed >> 8) / 16777216.0 - 0.5);
        for (int c = 0; c < ch; c++)
            x[i * ch + c] = (float)(c ? -v : v);
        peak = fmax(peak, fabs(v));
    }
    for (int64_t i = 0; i < n * ch; i++)
        x[i] = (float)(x[i] / peak);
    return x;
}

static double snr_db(const float *ref, const float *x, int64_t n)
{
    double s = 0, e = 0;
    for (int64_t i = 0; i < n; i++) {
        s += (double)ref[i] * ref[i];
        e += ((double)x[i] - ref[i]) * ((double)x[i] - ref[i]);
    }
    return 10 * log10(s / e);
}

static void test_declip_improves_snr(void **state)
{
    (void)state;
    const int rate = 48000, ch = 2;
    int64_t n = rate * 3;
    float *orig = music(n, rate, ch);
    float level = (float)pow(10, -3.0 / 20);
    float *clipped = malloc(sizeof(float) * (size_t)n * ch);
    for (int64_t i = 0; i < n * ch; i++)
        clipped[i] = fmaxf(-level, fminf(level, orig[i]));
    pk_declip_stats st;
    float *fixed = run_declip(clipped, n, ch, level, 1000, &st, NULL);
    double before = snr_db(orig, clipped, n * ch), after = snr_db(orig, fixed, n * ch);
    print_message("declip SNR %.1f dB -> %.1f dB, %lld runs\n", before, after, (long long)st.runs);
    assert_true(after - before >= 10.0);
    assert_true(st.repaired_runs > 100);
    assert_int_equal(st.skipped_runs, 0);
    free(orig);
    free(clipped);
    free(fixed);
}

static void test_clean_audio_untouched(void **state)
{
    (void)state;
    int64_t n = 48000;
    float *x = music(n, 48000, 2);
    for (int64_t i = 0; i < n * 2; i++)
        x[i] *= 0.5f;
    pk_declip_stats st;
    float *y = run_declip(x, n, 2, 0.9, 333, &st, NULL);
    assert_memory_equal(x, y, sizeof(float) * (size_t)n * 2);
    assert_int_equal(st.runs, 0);
    free(x);
    free(y);
}

/* A long flat stretch (square wave at full scale for 20 ms) is too long to
 * interpolate: reported, not touched. */
static void test_long_run_left_and_reported(void **state)
{
    (void)state;
    int64_t n = 48000;
    float *x = calloc((size_t)n, sizeof(float));
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(0.3 * sin(2 * M_PI * 440 * (double)i / 48000));
    for (int64_t i = 20000; i < 21000; i++)
        x[i] = 1.0f;
    pk_declip_stats st;
    pk_declip *d;
    float *y = run_declip(x, n, 1, 1.0, 4096, &st, &d);
    assert_int_equal(st.skipped_runs, 1);
    assert_int_equal(st.repaired_runs, 0);
    const pk_declip_run *r = pk_declip_runs(d);
    assert_int_equal(r[0].start, 20000);
    assert_int_equal(r[0].length, 1000);
    assert_memory_equal(x, y, sizeof(float) * (size_t)n);
    pk_declip_free(d);
    free(x);
    free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_declip_improves_snr),
        cmocka_unit_test(test_clean_audio_untouched),
        cmocka_unit_test(test_long_run_left_and_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
