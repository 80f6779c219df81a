/* Unit tests: the look-ahead true-peak limiter keeps the true peak under its
 * ceiling, is transparent below it, keeps length and alignment, and holds a
 * steady gain on a steady signal (no pumping). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audio/internal.h"

static pk_ctx *ctx;

/* Run the whole buffer through a limiter in blocks of `block` frames. */
static float *limit(const float *x, int64_t n, int rate, int ch, double ceiling, int block,
                    pk_limiter_stats *st)
{
    pk_limiter *l = pk_limiter_new(rate, ch, ceiling, PK_LIMITER_LOOKAHEAD_MS, PK_LIMITER_RELEASE_MS);
    assert_non_null(l);
    float *out = malloc(sizeof(float) * (size_t)(n + pk_limiter_latency(l) + block) * ch);
    int64_t w = 0;
    for (int64_t i = 0; i < n; i += block) {
        int64_t k = n - i < block ? n - i : block;
        int64_t got = pk_limiter_process(l, x + i * ch, k, out + w * ch);
        assert_true(got >= 0);
        w += got;
    }
    w += pk_limiter_flush(l, out + w * ch);
    assert_int_equal(w, n);
    pk_limiter_get_stats(l, st);
    pk_limiter_free(l);
    return out;
}

static double true_peak_db(const float *x, int64_t n, int rate, int ch)
{
    pk_loudness_options o;
    pk_loudness_options_init(&o, rate, ch);
    o.threads = 1;
    pk_loudness *m;
    assert_int_equal(pk_loudness_new(ctx, &o, &m), PK_OK);
    pk_loudness_add(m, x, n);
    pk_loudness_result r;
    pk_loudness_finish(m, &r);
    pk_loudness_free(m);
    return r.true_peak;
}

/* Music-like: a chord with decaying plucks and noise bursts, peaks high. */
static float *music(int64_t n, int rate, int ch, double gain)
{
    float *x = malloc(sizeof(float) * (size_t)n * ch);
    uint32_t seed = 7;
    for (int64_t i = 0; i < n; i++) {
        double t = (double)i / rate, beat = fmod(t, 0.5);
        double env = exp(-beat * 8);
        double v = 0.3 * sin(2 * M_PI * 110 * t) + 0.2 * sin(2 * M_PI * 220.5 * t) * env +
                   0.15 * sin(2 * M_PI * 3520 * t) * env;
        seed = seed * 1664525u + 1013904223u;
        v += 0.2 * env * ((double)(seed >> 8) / 16777216.0 - 0.5);
        for (int c = 0; c < ch; c++)
            x[i * ch + c] = (float)(gain * v * (c % 2 ? 0.9 : 1.0));
    }
    return x;
}

static void test_ceiling_holds(void **state)
{
    (void)state;
    const int rates[] = {44100, 48000, 96000};
    for (int r = 0; r < 3; r++) {
        int rate = rates[r];
        int64_t n = rate * 4;
        float *x = music(n, rate, 2, 4.0); /* about +9 dBTP */
        assert_true(true_peak_db(x, n, rate, 2) > 6);
        pk_limiter_stats st;
        float *y = limit(x, n, rate, 2, -1.1, 1000, &st);
        double tp = true_peak_db(y, n, rate, 2);
        assert_true(tp <= -1.0);
        assert_true(tp > -2.0); /* not over-limited */
        assert_true(st.events > 0 && st.max_reduction_db > 6);
        free(x);
        free(y);
    }
}

static void test_transparent_below_ceiling(void **state)
{
    (void)state;
    int64_t n = 48000 * 2;
    float *x = music(n, 48000, 2, 0.5);
    pk_limiter_stats st;
    float *y = limit(x, n, 48000, 2, -1.0, 777, &st);
    assert_memory_equal(x, y, sizeof(float) * (size_t)n * 2);
    assert_int_equal(st.limited_frames, 0);
    free(x);
    free(y);
    /* Shorter than the latency. */
    x = music(10, 48000, 2, 0.5);
    y = limit(x, 10, 48000, 2, -1.0, 4, &st);
    assert_memory_equal(x, y, sizeof(float) * 20);
    free(x);
    free(y);
}

/* A steady 1 kHz tone 6 dB over the ceiling: after the attack the gain is
 * constant, so every cycle of the output has the same peak (no pumping). */
static void test_steady_gain_no_pumping(void **state)
{
    (void)state;
    int rate = 48000;
    int64_t n = rate * 3;
    float *x = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(2.0 * sin(2 * M_PI * 1000 * (double)i / rate + 0.3));
    pk_limiter_stats st;
    float *y = limit(x, n, rate, 1, -1.0, 4096, &st);
    double lo = INFINITY, hi = 0;
    for (int64_t c = rate / 2; c < n - rate / 2; c += 48) {
        double p = 0;
        for (int k = 0; k < 48; k++)
            p = fmax(p, fabs(y[c + k]));
        lo = fmin(lo, p);
        hi = fmax(hi, p);
    }
    assert_true(20 * log10(hi / lo) < 0.05);
    assert_true(20 * log10(hi) <= -1.0 + 0.01);
    assert_int_equal(st.events, 1);
    free(x);
    free(y);
}

/* Gain changes are smooth: the ratio out/in of a limited burst changes by
 * at most 1/W of the reduction per sample (the moving average). */
static void test_gain_is_smooth(void **state)
{
    (void)state;
    int rate = 48000;
    int64_t n = rate;
    float *x = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)((i > rate / 3 && i < rate / 2 ? 3.0 : 0.5) * 0.25); /* DC steps */
    for (int64_t i = 0; i < n; i++)
        x[i] = x[i] * 4.0f;
    pk_limiter_stats st;
    float *y = limit(x, n, rate, 1, -6.0, 512, &st);
    int W = (int)lround(PK_LIMITER_LOOKAHEAD_MS * rate / 1000.0);
    double worst = 0;
    for (int64_t i = 1; i < n; i++) {
        double g0 = y[i - 1] / x[i - 1], g1 = y[i] / x[i];
        worst = fmax(worst, fabs(g1 - g0));
    }
    assert_true(worst <= 1.0 / W + 1e-6);
    free(x);
    free(y);
}

int main(void)
{
    pk_ctx_new(&ctx);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ceiling_holds),
        cmocka_unit_test(test_transparent_below_ceiling),
        cmocka_unit_test(test_steady_gain_no_pumping),
        cmocka_unit_test(test_gain_is_smooth),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    pk_ctx_free(ctx);
    return rc;
}
