/* Unit tests: the loudness meter against EBU Tech 3341 / 3342 cases built
 * from their published recipes, libebur128 as an independent meter, and
 * the edge cases (silence, too short, NaN/Inf, extreme rates, layouts). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ebur128.h>

#include "audio/internal.h"

static pk_ctx *ctx;

/* A programme is a list of segments: seconds at a level per channel. */
typedef struct segment {
    double seconds;
    double dbfs[8];     /* peak level of the 1 kHz sine per channel; <= -200 is silence */
} segment;

/* Render segments as an interleaved 1 kHz sine (in phase on all channels). */
static float *render(const segment *seg, int nseg, int rate, int channels, int64_t *frames)
{
    int64_t n = 0;
    for (int s = 0; s < nseg; s++)
        n += (int64_t)llround(seg[s].seconds * rate);
    float *x = malloc((size_t)(n ? n : 1) * channels * sizeof(float));
    int64_t i = 0;
    for (int s = 0; s < nseg; s++) {
        int64_t len = (int64_t)llround(seg[s].seconds * rate);
        for (int64_t k = 0; k < len; k++, i++) {
            double v = sin(2 * M_PI * 1000.0 * (double)i / rate);
            for (int c = 0; c < channels; c++)
                x[i * channels + c] =
                    seg[s].dbfs[c] <= -200 ? 0.0f : (float)(v * pow(10, seg[s].dbfs[c] / 20));
        }
    }
    *frames = n;
    return x;
}

typedef struct series {
    double from;        /* check values at or after this time */
    double lo, hi;      /* seen range of the checked values */
    int momentary;      /* 1: momentary, 0: short-term */
} series;

static void on_update(void *user, double t, double m, double s)
{
    series *se = user;
    double v = se->momentary ? m : s;
    if (t + 1e-9 < se->from || isnan(v))
        return;
    se->lo = fmin(se->lo, v);
    se->hi = fmax(se->hi, v);
}

static pk_loudness *measure_opts(const float *x, int64_t frames, pk_loudness_options *o,
                                 pk_loudness_result *r)
{
    pk_loudness *m;
    assert_int_equal(pk_loudness_new(ctx, o, &m), PK_OK);
    /* Feed in odd-sized blocks so block boundaries fall anywhere. */
    for (int64_t i = 0; i < frames; i += 3001) {
        int64_t n = frames - i < 3001 ? frames - i : 3001;
        assert_int_equal(pk_loudness_add(m, x + i * o->channels, n), PK_OK);
    }
    assert_int_equal(pk_loudness_finish(m, r), PK_OK);
    return m;
}

static void measure(const float *x, int64_t frames, int rate, int channels, const char *layout,
                    pk_loudness_result *r)
{
    pk_loudness_options o;
    pk_loudness_options_init(&o, rate, channels);
    o.layout = layout;
    pk_loudness_free(measure_opts(x, frames, &o, r));
}

#define assert_near(v, want, tol)                                                              \
    do {                                                                                       \
        double v_ = (v);                                                                       \
        if (!(fabs(v_ - (want)) <= (tol)))                                                     \
            fail_msg("%s = %.4f, want %.4f +- %.3f", #v, v_, (double)(want), (double)(tol));   \
    } while (0)

#define ST(sec, db) {sec, {db, db}}

static void test_kweight_48k_table(void **state)
{
    (void)state;
    pk_biquad s, h;
    pk_kweight_design(48000, &s, &h);
    /* BS.1770-4 Table 1 and Table 2. */
    assert_near(s.b0, 1.53512485958697, 1e-8);
    assert_near(s.b1, -2.69169618940638, 1e-8);
    assert_near(s.b2, 1.19839281085285, 1e-8);
    assert_near(s.a1, -1.69065929318241, 1e-8);
    assert_near(s.a2, 0.73248077421585, 1e-8);
    assert_near(h.a1, -1.99004745483398, 1e-8);
    assert_near(h.a2, 0.99007225036621, 1e-8);
}

/* Tech 3341 cases 1-5: integrated loudness of stereo tone sequences. */
static void test_3341_cases_1_to_5(void **state)
{
    (void)state;
    static const segment c1[] = {ST(20, -23)};
    static const segment c2[] = {ST(20, -33)};
    static const segment c3[] = {ST(10, -36), ST(60, -23), ST(10, -36)};
    static const segment c4[] = {ST(10, -72), ST(10, -36), ST(60, -23), ST(10, -36), ST(10, -72)};
    static const segment c5[] = {ST(20, -26), ST(20.1, -20), ST(20, -26)};
    const struct {
        const segment *s;
        int n;
        double want;
    } cases[] = {{c1, 1, -23}, {c2, 1, -33}, {c3, 3, -23}, {c4, 5, -23}, {c5, 3, -23}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t n;
        float *x = render(cases[i].s, cases[i].n, 48000, 2, &n);
        pk_loudness_result r;
        measure(x, n, 48000, 2, "stereo", &r);
        assert_near(r.integrated, cases[i].want, 0.1);
        if (i < 2) {
            assert_near(r.max_momentary, cases[i].want, 0.1);
            assert_near(r.max_short_term, cases[i].want, 0.1);
        }
        free(x);
    }
}

/* Case 6: 5.0 channels, L/R -28, C -24, Ls/Rs -30 dBFS -> -23.0. Also as
 * 5.1 with a loud LFE, which must not count. */
static void test_3341_case_6_surround(void **state)
{
    (void)state;
    segment s50[] = {{20, {-28, -28, -24, -30, -30}}};
    int64_t n;
    float *x = render(s50, 1, 48000, 5, &n);
    pk_loudness_result r;
    measure(x, n, 48000, 5, "5.0", &r);
    assert_near(r.integrated, -23, 0.1);
    assert_near(r.channel[3].weight, 1.41, 1e-9);
    free(x);
}

static void test_3341_case_6_lfe_ignored(void **state)
{
    (void)state;
    /* FFmpeg "5.1": FL FR FC LFE BL BR; the back pair is the 5.1 surround. */
    segment s51[] = {{20, {-28, -28, -24, -3, -30, -30}}};
    int64_t n;
    float *x = render(s51, 1, 48000, 6, &n);
    pk_loudness_result r;
    measure(x, n, 48000, 6, "5.1", &r);
    assert_near(r.integrated, -23, 0.1);
    assert_true(r.channel[3].weight == 0.0);
    assert_string_equal(r.channel[3].name, "LFE");
    free(x);
}

/* 7.1: side pair 1.41, back pair (135-150 degrees) 1.0, per BS.1770-4. */
static void test_71_weights(void **state)
{
    (void)state;
    char names[8][16];
    double w[8];
    assert_int_equal(pk_channel_weights(ctx, "7.1", 8, names, w), PK_OK);
    const char *want_names[] = {"FL", "FR", "FC", "LFE", "BL", "BR", "SL", "SR"};
    const double want[] = {1, 1, 1, 0, 1.0, 1.0, 1.41, 1.41};
    for (int i = 0; i < 8; i++) {
        assert_string_equal(names[i], want_names[i]);
        assert_near(w[i], want[i], 1e-12);
    }
    assert_int_equal(pk_channel_weights(ctx, "5.1(side)", 6, names, w), PK_OK);
    assert_near(w[4], 1.41, 1e-12);
    assert_int_equal(pk_channel_weights(ctx, "mono", 1, names, w), PK_OK);
    assert_near(w[0], 1.0, 1e-12);
    assert_int_equal(pk_channel_weights(ctx, "stereo", 3, names, w), PK_ERR_USAGE);
    assert_int_equal(pk_channel_weights(ctx, "no-such-layout", 2, names, w), PK_ERR_USAGE);
}

/* Case 9: (1.34 s @ -20, 1.66 s @ -30) x 5: short-term -23.0 after 3 s.
 * Case 12: (0.18 s @ -20, 0.22 s @ -30) x 25: momentary -23.0 after 1 s. */
static void test_3341_cases_9_and_12(void **state)
{
    (void)state;
    segment s9[10], s12[50];
    for (int i = 0; i < 5; i++) {
        s9[2 * i] = (segment)ST(1.34, -20);
        s9[2 * i + 1] = (segment)ST(1.66, -30);
    }
    for (int i = 0; i < 25; i++) {
        s12[2 * i] = (segment)ST(0.18, -20);
        s12[2 * i + 1] = (segment)ST(0.22, -30);
    }
    int64_t n;
    float *x = render(s9, 10, 48000, 2, &n);
    pk_loudness_options o;
    pk_loudness_options_init(&o, 48000, 2);
    series se = {.from = 3.0, .lo = INFINITY, .hi = -INFINITY, .momentary = 0};
    o.on_update = on_update;
    o.user = &se;
    pk_loudness_result r;
    pk_loudness_free(measure_opts(x, n, &o, &r));
    assert_near(se.lo, -23, 0.1);
    assert_near(se.hi, -23, 0.1);
    free(x);

    x = render(s12, 50, 48000, 2, &n);
    se = (series){.from = 1.0, .lo = INFINITY, .hi = -INFINITY, .momentary = 1};
    pk_loudness_free(measure_opts(x, n, &o, &r));
    assert_near(se.lo, -23, 0.1);
    assert_near(se.hi, -23, 0.1);
    free(x);
}

/* Cases 10 and 13 with every offset: the maximum must be found whatever the
 * alignment of the tone to 100 ms (the reason for 1 ms windows). */
static void test_3341_cases_10_and_13_max(void **state)
{
    (void)state;
    for (int i = 1; i <= 20; i++) {
        segment s10[] = {ST(0.15 * i, -300), ST(3, -23), ST(1, -300)};
        int64_t n;
        float *x = render(s10, 3, 48000, 2, &n);
        pk_loudness_result r;
        measure(x, n, 48000, 2, "stereo", &r);
        assert_near(r.max_short_term, -23, 0.1);
        free(x);
        segment s13[] = {ST(0.02 * i, -300), ST(0.4, -23), ST(1, -300)};
        x = render(s13, 3, 48000, 2, &n);
        measure(x, n, 48000, 2, "stereo", &r);
        assert_near(r.max_momentary, -23, 0.1);
        free(x);
    }
}

/* Tech 3342 cases 1-4 (stereo 1 kHz sequences, 20 s per level). */
static void test_3342_lra(void **state)
{
    (void)state;
    static const segment l1[] = {ST(20, -20), ST(20, -30)};
    static const segment l2[] = {ST(20, -20), ST(20, -15)};
    static const segment l3[] = {ST(20, -40), ST(20, -20)};
    static const segment l4[] = {ST(20, -50), ST(20, -35), ST(20, -20), ST(20, -35), ST(20, -50)};
    const struct {
        const segment *s;
        int n;
        double want;
    } cases[] = {{l1, 2, 10}, {l2, 2, 5}, {l3, 2, 20}, {l4, 5, 15}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t n;
        float *x = render(cases[i].s, cases[i].n, 48000, 2, &n);
        pk_loudness_result r;
        measure(x, n, 48000, 2, "stereo", &r);
        assert_near(r.range, cases[i].want, 1.0);
        free(x);
    }
}

/* True peak of a sine at fs/4 sampled 45 degrees off its crests: samples
 * are at -3.01 dBFS, the true peak at 0 dBTP. Tech 3341 tolerance +0.2/-0.4. */
static void test_true_peak_intersample(void **state)
{
    (void)state;
    const int rate = 48000;
    int64_t n = rate * 2;
    float *x = malloc((size_t)n * 2 * sizeof(float));
    for (int64_t i = 0; i < n; i++)
        x[2 * i] = x[2 * i + 1] = (float)sin(M_PI / 2 * (double)i + M_PI / 4);
    pk_loudness_result r;
    measure(x, n, rate, 2, NULL, &r);
    assert_near(r.sample_peak, -3.01, 0.01);
    assert_true(r.true_peak <= 0.2 && r.true_peak >= -0.4);
    assert_int_equal(r.true_peak_oversampling, 4);
    free(x);
}

/* The meter agrees with libebur128 on coloured noise at stepped levels. The
 * levels are held for 12 s and the quietest twice, so the LRA percentiles fall
 * well inside plateaus:
 * libebur128 takes a short-term value every 1 s (Tech 3342 v2), this meter
 * every 0.1 s (v3), which only matters where the level changes. */
static void test_against_libebur128(void **state)
{
    (void)state;
    const int rates[] = {44100, 48000, 96000};
    for (size_t ri = 0; ri < 3; ri++) {
        int rate = rates[ri];
        static const double levels[] = {-20, -32, -24, -36, -28, -36, -22, -30};
        int64_t seg = (int64_t)rate * 12, n = seg * 8;
        float *x = malloc((size_t)n * 2 * sizeof(float));
        uint32_t seed = 12345;
        double lp = 0;
        for (int64_t i = 0; i < n; i++) {
            double level = pow(10, levels[i / seg] / 20);
            for (int c = 0; c < 2; c++) {
                seed = seed * 1664525u + 1013904223u;
                double w = ((double)(seed >> 8) / 16777216.0 - 0.5) * 2;
                lp = 0.7 * lp + 0.3 * w;
                x[2 * i + c] = (float)(lp * level * (c ? 0.5 : 1.0));
            }
        }
        pk_loudness_result r;
        measure(x, n, rate, 2, NULL, &r);
        ebur128_state *e = ebur128_init(2, (unsigned)rate,
                                        EBUR128_MODE_I | EBUR128_MODE_LRA | EBUR128_MODE_TRUE_PEAK);
        ebur128_add_frames_float(e, x, (size_t)n);
        double I, lra, tp0, tp1;
        ebur128_loudness_global(e, &I);
        ebur128_loudness_range(e, &lra);
        ebur128_true_peak(e, 0, &tp0);
        ebur128_true_peak(e, 1, &tp1);
        ebur128_destroy(&e);
        assert_near(r.integrated, I, 0.02);
        assert_near(r.range, lra, 0.3);
        assert_near(r.true_peak, 20 * log10(fmax(tp0, tp1)), 0.15);
        free(x);
    }
}

static void test_silence_and_short(void **state)
{
    (void)state;
    int64_t n = 48000 * 5;
    float *x = calloc((size_t)n * 2, sizeof(float));
    pk_loudness_result r;
    measure(x, n, 48000, 2, NULL, &r);
    assert_true(isinf(r.integrated) && r.integrated < 0);
    assert_true(isinf(r.sample_peak) && r.sample_peak < 0);
    assert_true(r.range == 0);
    /* 0.3 s: shorter than one gating block and than the short-term window. */
    measure(x, (int64_t)(0.3 * 48000), 48000, 2, NULL, &r);
    assert_true(isnan(r.integrated));
    assert_true(isnan(r.range));
    assert_true(isnan(r.max_short_term));
    assert_near(r.duration, 0.3, 1e-9);
    free(x);
}

static void test_non_finite_reported_not_propagated(void **state)
{
    (void)state;
    segment s[] = {ST(10, -23)};
    int64_t n;
    float *x = render(s, 1, 48000, 2, &n);
    x[48000 * 2] = NAN;
    x[48000 * 2 + 7] = INFINITY;
    x[96000 * 2 + 1] = -INFINITY;
    pk_loudness_result r;
    measure(x, n, 48000, 2, NULL, &r);
    assert_int_equal(r.nan_samples, 1);
    assert_int_equal(r.inf_samples, 2);
    assert_near(r.first_non_finite_time, 1.0, 1e-9);
    assert_near(r.integrated, -23, 0.1);
    assert_true(isfinite(r.true_peak) && r.true_peak < -22);
    free(x);
}

static void test_extreme_rates(void **state)
{
    (void)state;
    const int rates[] = {8000, 192000};
    for (int i = 0; i < 2; i++) {
        segment s[] = {ST(5, -23)};
        int64_t n;
        float *x = render(s, 1, rates[i], 2, &n);
        pk_loudness_result r;
        measure(x, n, rates[i], 2, NULL, &r);
        assert_near(r.integrated, -23, 0.1);
        assert_near(r.true_peak, -23, 0.2);
        free(x);
    }
    pk_loudness_options o;
    pk_loudness_options_init(&o, 100, 2);
    pk_loudness *m;
    assert_int_equal(pk_loudness_new(ctx, &o, &m), PK_ERR_USAGE);
}

static void test_clipping_runs(void **state)
{
    (void)state;
    int64_t n = 48000;
    float *x = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        double v = 1.5 * sin(2 * M_PI * 100 * (double)i / 48000);
        x[i] = (float)fmax(-1.0, fmin(1.0, v));
    }
    pk_loudness_result r;
    pk_loudness_options o;
    pk_loudness_options_init(&o, 48000, 1);
    pk_loudness *m = measure_opts(x, n, &o, &r);
    /* 100 Hz for 1 s: 100 positive and 100 negative flat tops. */
    assert_int_equal(r.clip_runs, 200);
    assert_true(r.longest_clip_run > 50);
    const pk_clip_run *runs;
    assert_int_equal(pk_loudness_clip_list(m, &runs), 200);
    assert_true(runs[0].start > 0 && runs[0].start < 480);
    json_t *j;
    assert_int_equal(pk_loudness_json(m, &j), PK_OK);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "clipping"), "runs")), 200);
    json_decref(j);
    pk_loudness_free(m);
    free(x);
}

/* Album: two programmes at -20 and -30 LUFS pooled. */
static void test_album(void **state)
{
    (void)state;
    segment a[] = {ST(10, -20)}, b[] = {ST(10, -26)};
    int64_t na, nb;
    float *xa = render(a, 1, 48000, 2, &na), *xb = render(b, 1, 44100, 2, &nb);
    pk_loudness_options oa, ob;
    pk_loudness_options_init(&oa, 48000, 2);
    pk_loudness_options_init(&ob, 44100, 2);
    pk_loudness_result r;
    pk_loudness *m[2] = {measure_opts(xa, na, &oa, &r), measure_opts(xb, nb, &ob, &r)};
    double I, lra;
    assert_int_equal(pk_loudness_album(ctx, m, 2, &I, &lra), PK_OK);
    /* Mean of 10^(-2.0) and 10^(-2.6) energies -> about -22.03 LUFS. */
    double want = 10 * log10((pow(10, -2.0) + pow(10, -2.6)) / 2);
    assert_near(I, want, 0.1);
    assert_near(lra, 6, 0.5);
    pk_loudness_free(m[0]);
    pk_loudness_free(m[1]);
    free(xa);
    free(xb);
}

int main(void)
{
    pk_ctx_new(&ctx);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kweight_48k_table),
        cmocka_unit_test(test_3341_cases_1_to_5),
        cmocka_unit_test(test_3341_case_6_surround),
        cmocka_unit_test(test_3341_case_6_lfe_ignored),
        cmocka_unit_test(test_71_weights),
        cmocka_unit_test(test_3341_cases_9_and_12),
        cmocka_unit_test(test_3341_cases_10_and_13_max),
        cmocka_unit_test(test_3342_lra),
        cmocka_unit_test(test_true_peak_intersample),
        cmocka_unit_test(test_against_libebur128),
        cmocka_unit_test(test_silence_and_short),
        cmocka_unit_test(test_non_finite_reported_not_propagated),
        cmocka_unit_test(test_extreme_rates),
        cmocka_unit_test(test_clipping_runs),
        cmocka_unit_test(test_album),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    pk_ctx_free(ctx);
    return rc;
}
