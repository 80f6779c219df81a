/* Unit tests: the parts of `postkit qc` on synthetic pictures and samples
 * whose answers are known exactly — profiles (built-ins, overrides,
 * errors), SMPTE timecodes (drop-frame), the per-frame measurements, the
 * BT.1886 display model, flashing counted per second, stuck pixels, shot
 * cuts, silence and channel checks to the sample, bounded series and event
 * lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "video/internal.h"

#define assert_near(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))

static pk_ctx *ctx;

static int setup(void **state)
{
    (void)state;
    return pk_ctx_new(&ctx) == PK_OK && pk_init(NULL) == PK_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    pk_ctx_free(ctx);
    pk_shutdown();
    return 0;
}

static char *write_temp(const char *text)
{
    const char *base = getenv("PK_TMP");
    char *path = malloc(1024);
    snprintf(path, 1024, "%s/qc-profile-XXXXXX.json", base && *base ? base : "/tmp");
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

/* ---- profiles ------------------------------------------------------------- */

static void test_builtin_profiles(void **state)
{
    (void)state;
    struct {
        const char *name;
        double target, mono, tol, tp;
    } want[] = {
        {"ebu-r128", -23, -23, 1, -1}, {"atsc-a85", -24, -24, 2, -2}, {"streaming", -14, -14, 1, -1},
        {"podcast", -16, -19, 1, -1},  {"youtube", -14, -14, 2, -1},
    };
    const char *const *names = pk_qc_profile_names();
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        assert_string_equal(names[i], want[i].name);
        pk_qc_profile *p;
        assert_int_equal(pk_qc_profile_load(ctx, want[i].name, &p), PK_OK);
        assert_near(p->lo_target, want[i].target, 1e-9);
        assert_near(p->lo_target_mono, want[i].mono, 1e-9);
        assert_near(p->lo_tolerance, want[i].tol, 1e-9);
        assert_near(p->tp_max, want[i].tp, 1e-9);
        /* blackdetect's defaults */
        assert_near(p->black_pixel_threshold, 0.10, 1e-9);
        assert_near(p->black_picture_ratio, 0.98, 1e-9);
        assert_int_equal(p->severity[QC_RANGE], QC_OFF);
        json_t *j = pk_qc_profile_json(p);
        assert_string_equal(json_string_value(json_object_get(json_object_get(j, "black"), "severity")), "error");
        json_decref(j);
        pk_qc_profile_free(p);
    }
    assert_null(names[5]);
}

static void test_custom_profile(void **state)
{
    (void)state;
    char *path = write_temp("{\"name\": \"client\", \"extends\": \"atsc-a85\","
                            " \"black\": {\"min_duration\": 1.5, \"severity\": \"warning\"},"
                            " \"broadcast_range\": {\"severity\": \"error\", \"max_fraction\": 0.01},"
                            " \"stream\": {\"resolution\": [\"1920x1080\", \"1280x720\"], \"frame_rate\": 25}}");
    pk_qc_profile *p;
    assert_int_equal(pk_qc_profile_load(ctx, path, &p), PK_OK);
    assert_string_equal(p->name, "client");
    assert_near(p->lo_target, -24, 1e-9);
    assert_near(p->black_min_duration, 1.5, 1e-9);
    assert_int_equal(p->severity[QC_BLACK], QC_WARNING);
    assert_int_equal(p->severity[QC_RANGE], QC_ERROR);
    assert_near(p->rg_max_fraction, 0.01, 1e-9);
    assert_string_equal(p->st_resolution, "1920x1080|1280x720");
    assert_string_equal(p->st_frame_rate, "25");
    pk_qc_profile_free(p);
    unlink(path);
    free(path);
}

static void test_profile_errors(void **state)
{
    (void)state;
    pk_qc_profile *p;
    const char *bad[] = {
        "{\"blak\": {}}",                                  /* unknown rule */
        "{\"black\": {\"min_durration\": 1}}",              /* unknown threshold */
        "{\"black\": {\"min_duration\": -1}}",              /* out of range */
        "{\"black\": {\"min_duration\": \"long\"}}",        /* wrong type */
        "{\"black\": {\"severity\": \"fatal\"}}",           /* unknown severity */
        "{\"extends\": \"bbc\"}",                           /* unknown base */
    };
    const char *names[] = {"blak", "black.min_durration", "black.min_duration", "black.min_duration",
                           "black.severity", "bbc"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *path = write_temp(bad[i]);
        assert_int_equal(pk_qc_profile_load(ctx, path, &p), PK_ERR_USAGE);
        assert_non_null(strstr(pk_ctx_errmsg(ctx), names[i]));
        unlink(path);
        free(path);
    }
    char *path = write_temp("{not json");
    assert_int_equal(pk_qc_profile_load(ctx, path, &p), PK_ERR_INPUT);
    unlink(path);
    free(path);
    assert_int_equal(pk_qc_profile_load(ctx, "no-such-profile", &p), PK_ERR_USAGE);
    assert_int_equal(pk_qc_profile_load(ctx, "/no/such/file.json", &p), PK_ERR_INPUT);
}

/* ---- timecode ---------------------------------------------------------------- */

static void test_timecode(void **state)
{
    (void)state;
    char tc[32];
    qc_timecode(0, 25, 1, tc);
    assert_string_equal(tc, "00:00:00:00");
    qc_timecode(3661.52, 25, 1, tc);
    assert_string_equal(tc, "01:01:01:13");
    qc_timecode(2.0, 20, 1, tc);
    assert_string_equal(tc, "00:00:02:00");
    /* 29.97: drop-frame, frame 1800 (60.06 s) is 00:01:00;02. */
    qc_timecode(1800 * 1001.0 / 30000, 30000, 1001, tc);
    assert_string_equal(tc, "00:01:00;02");
    /* 23.976 counts 24 frames a second without drops. */
    qc_timecode(24 * 1001.0 / 24000, 24000, 1001, tc);
    assert_string_equal(tc, "00:00:01:00");
}

/* ---- measurements on synthetic pictures ------------------------------------------- */

typedef struct synth {
    qc_picture p;
    uint8_t *y, *u, *v;
} synth;

static void synth_init(synth *s, int w, int h, uint8_t y, uint8_t u, uint8_t v)
{
    memset(s, 0, sizeof *s);
    s->y = malloc((size_t)w * h);
    s->u = malloc((size_t)(w / 2) * (h / 2));
    s->v = malloc((size_t)(w / 2) * (h / 2));
    memset(s->y, y, (size_t)w * h);
    memset(s->u, u, (size_t)(w / 2) * (h / 2));
    memset(s->v, v, (size_t)(w / 2) * (h / 2));
    s->p.refs = 1;
    s->p.plane[0] = s->y;
    s->p.plane[1] = s->u;
    s->p.plane[2] = s->v;
    s->p.stride[0] = w;
    s->p.stride[1] = s->p.stride[2] = w / 2;
    s->p.w = w;
    s->p.h = h;
    s->p.cw = w / 2;
    s->p.ch = h / 2;
    s->p.cxs = s->p.cys = 1;
    s->p.matrix = 709;
    s->p.duration = 0.04;
}

static void synth_free(synth *s)
{
    free(s->y);
    free(s->u);
    free(s->v);
}

static void test_measure(void **state)
{
    (void)state;
    qc_grid g;
    assert_int_equal(qc_grid_init(&g, 640, 360), 0);
    assert_int_equal(g.bs, 8);          /* 1/160 of the width would be 4: at least 8 */
    assert_int_equal(g.cols, 80);
    assert_int_equal(g.rows, 45);
    int legal[4] = {16, 235, 16, 240};
    qc_measure *m = qc_measure_new(&g, 37, 25, 0.98, legal);
    assert_non_null(m);
    pk_qc_profile *p;
    assert_int_equal(pk_qc_profile_load(ctx, "ebu-r128", &p), PK_OK);
    uint32_t lut[256];
    qc_luminance_table(p, 0, lut);
    synth s;
    synth_init(&s, 640, 360, 16, 128, 128);
    /* 1.5 % of the pixels at 200 (a caption): still black (98 %). */
    for (int y = 0; y < 9; y++)
        memset(s.y + (size_t)y * 640, 200, 384);
    qc_stats st;
    qc_measure_frame(m, &s.p, lut, &st, NULL);
    assert_near(st.black_fraction, 1 - 9 * 384 / (640.0 * 360), 1e-9);
    assert_near(st.luma_mean, 16 + (200 - 16) * 9 * 384 / (640.0 * 360), 1e-6);
    assert_near(st.luma_outside, 0, 1e-12);
    assert_near(st.y[0], 200, 1e-4);            /* block (0,0) lies in the caption */
    assert_near(st.y[g.n - 1], 16, 1e-4);
    assert_near(st.lum[g.n - 1], 0, 1e-3);      /* code 16 is display black */
    assert_near(st.lum[0], lut[200] / (double)QC_LUM_SCALE, 1e-3);
    /* 37 is black (blackdetect: 16 + 0.10 x 219 = 37.9, truncated), 38 not. */
    memset(s.y, 37, 640 * 360);
    qc_measure_frame(m, &s.p, lut, &st, NULL);
    assert_near(st.black_fraction, 1, 1e-12);
    memset(s.y, 38, 640 * 360);
    qc_measure_frame(m, &s.p, lut, &st, NULL);
    assert_near(st.black_fraction, 0, 1e-12);
    /* Superwhite on 10 % of the picture, chroma out of range on a quarter. */
    memset(s.y, 128, 640 * 360);
    memset(s.y, 250, 640 * 36);
    memset(s.u, 250, 320 * 45);
    qc_measure_frame(m, &s.p, lut, &st, NULL);
    assert_near(st.luma_outside, 0.10, 1e-9);
    assert_near(st.chroma_out, 0.25, 1e-9);
    assert_near(st.u[0], 250, 1e-4);
    assert_near(st.u[g.n - 1], 128, 1e-4);
    synth_free(&s);
    qc_measure_free(m);
    qc_grid_free(&g);
    pk_qc_profile_free(p);
}

static void test_sad_identical(void **state)
{
    (void)state;
    synth a, b;
    synth_init(&a, 64, 48, 100, 128, 128);
    synth_init(&b, 64, 48, 100, 128, 128);
    assert_true(qc_picture_identical(&a.p, &b.p));
    assert_int_equal(qc_picture_sad(&a.p, &b.p, UINT64_MAX), 0);
    b.y[64 * 47 + 63] = 101;
    b.v[0] = 120;
    assert_false(qc_picture_identical(&a.p, &b.p));
    assert_int_equal(qc_picture_sad(&a.p, &b.p, UINT64_MAX), 1 + 8);
    assert_int_equal(qc_picture_samples(&a.p), 64 * 48 + 2 * 32 * 24);
    /* Stops early: the answer only needs to exceed the budget. */
    memset(b.y, 0, 64 * 48);
    assert_true(qc_picture_sad(&a.p, &b.p, 1000) > 1000);
    synth_free(&a);
    synth_free(&b);
}

/* ---- BT.1886 and flashing -------------------------------------------------------- */

static void test_display_model(void **state)
{
    (void)state;
    pk_qc_profile *p;
    assert_int_equal(pk_qc_profile_load(ctx, "ebu-r128", &p), PK_OK);
    uint32_t lut[256];
    qc_luminance_table(p, 0, lut);
    assert_near(lut[16] / (double)QC_LUM_SCALE, 0, 0.02);
    assert_near(lut[235] / (double)QC_LUM_SCALE, 200, 0.02);
    assert_near(lut[255] / (double)QC_LUM_SCALE, 200, 0.02);   /* clipped by the display */
    /* mid code 125.5 -> V = 0.5 -> 200 x 0.5^2.4 = 37.9 cd/m2 */
    assert_near((lut[125] + lut[126]) / 2.0 / QC_LUM_SCALE, 200 * pow(0.5, 2.4), 0.6);
    qc_luminance_table(p, 1, lut);
    assert_near(lut[255] / (double)QC_LUM_SCALE, 200, 0.02);
    pk_qc_profile_free(p);
}

/* Feed `frames` of a full-screen luminance given by fn(frame). */
static qc_events flash_run(double fps, int frames, int (*white)(int), double *peak)
{
    qc_grid g;
    assert_int_equal(qc_grid_init(&g, 320, 180), 0);
    pk_qc_profile *p;
    assert_int_equal(pk_qc_profile_load(ctx, "ebu-r128", &p), PK_OK);
    qc_flashing *f = qc_flashing_new(&g, p, 0, 709);
    float *y = malloc(sizeof(float) * (size_t)g.n), *u = malloc(sizeof(float) * (size_t)g.n),
          *v = malloc(sizeof(float) * (size_t)g.n), *lum = malloc(sizeof(float) * (size_t)g.n);
    qc_events ev = {0};
    for (int k = 0; k < frames; k++) {
        int w = white(k);
        for (int i = 0; i < g.n; i++) {
            y[i] = w ? 235 : 16;
            u[i] = v[i] = 128;
            lum[i] = w ? 200 : 0;
        }
        qc_stats s = {.y = y, .u = u, .v = v, .lum = lum};
        qc_flashing_frame(f, &s, k, k / fps, 1 / fps, &ev);
    }
    qc_flashing_finish(f, &ev);
    double red;
    qc_flashing_peak(f, peak, &red);
    qc_flashing_free(f);
    free(y);
    free(u);
    free(v);
    free(lum);
    pk_qc_profile_free(p);
    qc_grid_free(&g);
    return ev;
}

static int at_10hz(int k) { return k >= 50 && k < 100 ? k % 2 : 0; }     /* 20 fps: alternate */
static int at_2hz(int k) { return k >= 50 && k < 100 ? (k / 5) % 2 : 0; }
static int at_3hz(int k) { return k >= 30 && k < 90 ? (k / 10) % 2 : 0; } /* 60 fps: 3 flashes/s */
static int at_4hz(int k) { return k >= 30 && k < 90 ? ((k * 8) / 60) % 2 : 0; }

static void test_flashing_rates(void **state)
{
    (void)state;
    double peak;
    qc_events ev = flash_run(20, 150, at_10hz, &peak);
    assert_int_equal(ev.n, 1);
    assert_string_equal(ev.v[0].type, "flashing");
    assert_int_equal(ev.v[0].first_frame, 51);   /* the first white frame */
    assert_near(peak, 10, 0.5);
    qc_events_free(&ev);
    ev = flash_run(20, 150, at_2hz, &peak);
    assert_int_equal(ev.n, 0);
    assert_near(peak, 2.5, 0.6);
    qc_events_free(&ev);
    /* Exactly three flashes a second pass; four fail. */
    ev = flash_run(60, 150, at_3hz, &peak);
    assert_int_equal(ev.n, 0);
    qc_events_free(&ev);
    ev = flash_run(60, 150, at_4hz, &peak);
    assert_int_equal(ev.n, 1);
    qc_events_free(&ev);
}

/* ---- shot cuts ----------------------------------------------------------------------- */

static void test_cuts(void **state)
{
    (void)state;
    qc_grid g;
    assert_int_equal(qc_grid_init(&g, 320, 180), 0);
    qc_cuts *c = qc_cuts_new(&g, 12, 3, 1);
    float *y = malloc(sizeof(float) * (size_t)g.n), *u = malloc(sizeof(float) * (size_t)g.n),
          *v = malloc(sizeof(float) * (size_t)g.n);
    int cuts[40] = {0};
    for (int k = 0; k < 40; k++) {
        int shot = k < 20 ? 0 : 1;
        double gain = k == 30 ? 1.6 : 1.0;   /* a camera flash: brighter, same picture */
        for (int i = 0; i < g.n; i++) {
            int x = i % g.cols, yy = i / g.cols;
            double base = shot ? (yy < g.rows / 2 ? 200 : 40) : (x < g.cols / 2 ? 40 : 200);
            y[i] = (float)fmin(235, base * gain + (k % 3));   /* a little motion */
            u[i] = v[i] = 128;
        }
        qc_stats s = {.y = y, .u = u, .v = v};
        cuts[k] = qc_cuts_frame(c, &s, k, k / 25.0, NULL);
    }
    for (int k = 0; k < 40; k++)
        assert_int_equal(cuts[k], k == 20);
    assert_int_equal(qc_cuts_count(c), 1);
    json_t *list = qc_cuts_list(c);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "frame")), 20);
    json_decref(list);
    qc_cuts_free(c);
    free(y);
    free(u);
    free(v);
    qc_grid_free(&g);
}

/* ---- stuck pixels ------------------------------------------------------------------------ */

/* Moving texture: a ramp that slides, values 40..139, at frame k. */
static void paint_ramp(synth *s, int k)
{
    for (int y = 0; y < s->p.h; y++)
        for (int x = 0; x < s->p.w; x++)
            s->y[y * s->p.w + x] = (uint8_t)(40 + ((x + y + 3 * k) % 100));
}

typedef void (*paint_fn)(synth *s, int k);

/* Feed 100 frames painted by `paint` (one shot at 25 fps) to a fresh
 * detector; with `scan`, each frame's rows are first scanned 7 at a time,
 * as the measurement pass does. Returns the events found (the caller
 * frees them). */
static qc_events pixels_run_once(const qc_grid *g, const pk_qc_profile *p, synth *s, paint_fn paint, int scan)
{
    qc_pixels *px = qc_pixels_new(g, p, 25);
    assert_non_null(px);
    float *bm = calloc((size_t)g->n, sizeof *bm);
    qc_stats st = {.y = bm, .u = bm, .v = bm};
    for (int k = 0; k < 100; k++) {
        paint(s, k);
        s->p.number = k;
        s->p.time = k / 25.0;
        if (scan) {
            qc_pixels_scan_begin(px, &s->p);
            for (int y = 7;; y += 7) {
                qc_pixels_scan_rows(px, &s->p, y < s->p.h ? y : s->p.h);
                if (y >= s->p.h)
                    break;
            }
        }
        qc_pixels_frame(px, &s->p, &st, 0);
    }
    qc_events ev = {0};
    qc_pixels_finish(px, &ev);
    qc_pixels_free(px);
    free(bm);
    return ev;
}

/* The events of pixels_run_once, which must be the same whether the rows
 * were scanned by the measurement pass or by the sweep itself. */
static qc_events pixels_run(const qc_grid *g, const pk_qc_profile *p, synth *s, paint_fn paint)
{
    qc_events plain = pixels_run_once(g, p, s, paint, 0);
    qc_events ev = pixels_run_once(g, p, s, paint, 1);
    assert_int_equal(ev.n, plain.n);
    for (size_t i = 0; i < ev.n; i++) {
        assert_string_equal(ev.v[i].type, plain.v[i].type);
        assert_true(json_equal(ev.v[i].values, plain.v[i].values));
    }
    qc_events_free(&plain);
    return ev;
}

/* How many defective pixels `paint`'s frames show. */
static size_t pixels_found(const qc_grid *g, const pk_qc_profile *p, synth *s, paint_fn paint)
{
    qc_events ev = pixels_run(g, p, s, paint);
    size_t n = ev.n;
    qc_events_free(&ev);
    return n;
}

/* `paint`'s frames show one hot pixel, at (x, y), of luma 235. */
static void assert_hot_pixel(const qc_grid *g, const pk_qc_profile *p, synth *s, paint_fn paint, int x, int y)
{
    qc_events ev = pixels_run(g, p, s, paint);
    assert_int_equal(ev.n, 1);
    assert_string_equal(ev.v[0].type, "hot_pixel");
    assert_int_equal(json_integer_value(json_object_get(ev.v[0].values, "x")), x);
    assert_int_equal(json_integer_value(json_object_get(ev.v[0].values, "y")), y);
    assert_near(json_real_value(json_object_get(ev.v[0].values, "value")), 235, 1e-9);
    qc_events_free(&ev);
}

/* A stuck white pixel on the moving ramp. */
static void paint_stuck(synth *s, int k)
{
    paint_ramp(s, k);
    s->y[50 * 160 + 70] = 235;
}

/* The same picture standing still: a bright dot on a still picture is
 * detail, not a defect. */
static void paint_still(synth *s, int k)
{
    (void)k;
    paint_stuck(s, 99);
}

/* A stuck white pixel whose lower neighbour is near white most of the
 * time (170..219, within `contrast` of 235 in 60 % of the sampled frames):
 * it does not stand apart from each neighbour often enough, but it stands
 * apart from the other three and holds still while that neighbour, its
 * most similar, moves. */
static void paint_pale_neighbour(synth *s, int k)
{
    paint_ramp(s, k);
    s->y[50 * 160 + 70] = 235;
    s->y[51 * 160 + 70] = (uint8_t)(170 + k % 50);
}

/* A clipped highlight (all 235) whose pixels around (70, 50) dip in turn:
 * the centre holds still among moving neighbours, but their mean stays
 * as bright as it. */
static void paint_clipped_highlight(synth *s, int k)
{
    memset(s->y, 235, (size_t)s->p.w * s->p.h);
    static const int dx[4] = {-1, 1, 0, 0}, dy[4] = {0, 0, -1, 1};
    s->y[(50 + dy[k % 4]) * 160 + 70 + dx[k % 4]] = 150;
}

/* A still white logo (a 10x10 square) over the moving ramp: its corners
 * and edges stand apart from their neighbours' mean and hold still, but
 * their most similar neighbour is a still pixel of the logo. */
static void paint_logo(synth *s, int k)
{
    paint_ramp(s, k);
    for (int y = 30; y < 40; y++)
        memset(s->y + y * 160 + 100, 235, 10);
}

static void test_stuck_pixel(void **state)
{
    (void)state;
    qc_grid g;
    assert_int_equal(qc_grid_init(&g, 160, 120), 0);
    pk_qc_profile *p;
    assert_int_equal(pk_qc_profile_load(ctx, "ebu-r128", &p), PK_OK);
    synth s;
    synth_init(&s, 160, 120, 60, 128, 128);
    assert_hot_pixel(&g, p, &s, paint_stuck, 70, 50);
    assert_int_equal(pixels_found(&g, p, &s, paint_still), 0);
    /* The second reading: steady among movers. */
    assert_hot_pixel(&g, p, &s, paint_pale_neighbour, 70, 50);
    assert_int_equal(pixels_found(&g, p, &s, paint_clipped_highlight), 0);
    assert_int_equal(pixels_found(&g, p, &s, paint_logo), 0);
    /* The pixel is at most 195 levels from any neighbour: with a
     * contrast of 200 asked, nothing. */
    p->px_contrast = 200;
    assert_int_equal(pixels_found(&g, p, &s, paint_pale_neighbour), 0);
    synth_free(&s);
    pk_qc_profile_free(p);
    qc_grid_free(&g);
}

/* ---- audio --------------------------------------------------------------------------------- */

static qc_audio *audio_new(pk_qc_profile *p, int channels, const char *layout)
{
    pk_audio_info info;
    memset(&info, 0, sizeof info);
    info.rate = info.native_rate = 48000;
    info.channels = info.native_channels = channels;
    snprintf(info.delivered_layout, sizeof info.delivered_layout, "%s", layout);
    snprintf(info.layout, sizeof info.layout, "%s", layout);
    qc_audio_setup set = {.ctx = ctx, .profile = p, .info = &info, .timeline_points = 100};
    qc_audio *a;
    assert_int_equal(qc_audio_new(&set, &a), PK_OK);
    return a;
}

/* Stereo: a 1 kHz tone; the right channel silent from 1.0 s to 3.5 s, both
 * from 5.0 s to 8.0 s; the right channel inverted from 9 s to 11 s and a
 * copy of the left from 12 s to 14 s; 4 s more of tone. */
static void test_audio_detectors(void **state)
{
    (void)state;
    pk_qc_profile *p;
    assert_int_equal(pk_qc_profile_load(ctx, "ebu-r128", &p), PK_OK);
    qc_audio *a = audio_new(p, 2, "stereo");
    const int rate = 48000, total = 18 * rate, block = 4096;
    float *buf = malloc(sizeof(float) * 2 * block);
    for (int pos = 0; pos < total; pos += block) {
        int n = total - pos < block ? total - pos : block;
        for (int i = 0; i < n; i++) {
            int64_t s = pos + i;
            double t = (double)s / rate;
            float l = (float)(0.3 * sin(2 * M_PI * 1000 * t));
            float r = (float)(0.3 * sin(2 * M_PI * 1000 * t + 0.7));
            if (t >= 1.0 && t < 3.5)
                r = 0;
            if (t >= 5.0 && t < 8.0)
                l = r = 0;
            if (t >= 9.0 && t < 11.0)
                r = -l;
            if (t >= 12.0 && t < 14.0)
                r = l;
            if (s >= 15 * rate && s < 15 * rate + 10)
                l = 1.0f;           /* 10 samples at full scale */
            buf[2 * i] = l;
            buf[2 * i + 1] = r;
        }
        qc_audio_block(a, buf, n, pos, (double)pos / rate);
    }
    qc_audio_finish(a);
    qc_events *ev = qc_audio_events(a);
    qc_events_sort(ev);
    const char *types[] = {"channel_silence", "silence", "inverted_channels", "identical_channels", "clipping"};
    double starts[] = {1.0, 5.0, 9.0, 12.0, 15.0};
    double ends[] = {3.5, 8.0, 11.0, 14.0, 15.0 + 10.0 / rate};
    double tol[] = {1e-3, 1e-3, 0.5, 0.5, 1e-9};   /* samples exact; pairs judged per 0.5 s */
    assert_int_equal(ev->n, 5);
    for (int i = 0; i < 5; i++) {
        assert_string_equal(ev->v[i].type, types[i]);
        assert_near(ev->v[i].start, starts[i], tol[i]);
        assert_near(ev->v[i].end, ends[i], tol[i]);
    }
    /* The silent stretch of the right channel starts at the exact sample
     * where the sine's last loud sample ends (within a period). */
    assert_near(ev->v[0].start, 1.0, 1.0 / 1000);
    assert_string_equal(json_string_value(json_object_get(ev->v[0].values, "channel")), "FR");
    pk_loudness_result r;
    pk_loudness_finish(qc_audio_meter(a), &r);
    assert_true(isfinite(r.integrated));
    assert_near(qc_audio_duration(a), 18.0, 1e-9);
    qc_audio_free(a);
    free(buf);
    pk_qc_profile_free(p);
}

/* A 500 Hz sine at twice full scale for 2 s (2000 clipped runs, far more
 * than the meter lists) from 1.0 s, then one short burst at 6.0 s: two
 * events, the first covering all its runs on both channels. */
static void test_audio_many_clipped_runs(void **state)
{
    (void)state;
    pk_qc_profile *p;
    assert_int_equal(pk_qc_profile_load(ctx, "ebu-r128", &p), PK_OK);
    qc_audio *a = audio_new(p, 2, "stereo");
    const int rate = 48000, total = 8 * rate, block = 4096;
    float *buf = malloc(sizeof(float) * 2 * block);
    for (int pos = 0; pos < total; pos += block) {
        int n = total - pos < block ? total - pos : block;
        for (int i = 0; i < n; i++) {
            int64_t s = pos + i;
            double t = (double)s / rate, v = 0.25 * sin(2 * M_PI * 500 * t);
            if (s >= rate && s < 3 * rate)
                v = fmax(-1, fmin(1, 8 * v));
            if (s >= 6 * rate && s < 6 * rate + 5)
                v = 1;
            buf[2 * i] = buf[2 * i + 1] = (float)v;
        }
        qc_audio_block(a, buf, n, pos, (double)pos / rate);
    }
    qc_audio_finish(a);
    qc_events *ev = qc_audio_events(a);
    qc_events_sort(ev);
    int found = 0;
    for (size_t i = 0; i < ev->n; i++) {
        if (strcmp(ev->v[i].type, "clipping") != 0)
            continue;
        json_t *v = ev->v[i].values;
        if (found == 0) {
            assert_near(ev->v[i].start, 1.0, 1e-3);
            assert_near(ev->v[i].end, 3.0, 1e-3);
            assert_int_equal(json_integer_value(json_object_get(v, "runs")), 2 * 2 * 1000);
            assert_int_equal(json_array_size(json_object_get(v, "channels")), 2);
        } else {
            assert_near(ev->v[i].start, 6.0, 1e-9);
            assert_int_equal(json_integer_value(json_object_get(v, "samples")), 2 * 5);
        }
        found++;
    }
    assert_int_equal(found, 2);
    assert_int_equal(ev->count[QC_CLIPPING], 2);
    qc_audio_free(a);
    free(buf);
    pk_qc_profile_free(p);
}

/* ---- bounded containers --------------------------------------------------------------- */

static void test_series_bounded(void **state)
{
    (void)state;
    qc_series s;
    assert_int_equal(qc_series_init(&s, 100, 0.04), 0);
    for (int k = 0; k < 250000; k++)   /* about 3 hours at 25 fps */
        qc_series_add(&s, k / 25.0, k % 256);
    assert_true(s.n <= 100);
    assert_true(s.n > 50);
    for (int i = 0; i < s.n; i++) {
        assert_true(s.lo[i] >= 0 && s.hi[i] <= 255 && s.lo[i] <= s.hi[i]);
        if (i)
            assert_true(s.t[i] > s.t[i - 1]);
    }
    qc_series_free(&s);
}

static void test_events_capped(void **state)
{
    (void)state;
    qc_events ev = {0};
    for (int k = 0; k < QC_MAX_EVENTS_PER_RULE + 500; k++)
        qc_events_add(&ev, QC_DECODE, "decode_error", k, k, -1, -1, NULL, NULL, "error %d", k);
    qc_events_add(&ev, QC_BLACK, "black", 0.5, 1, 0, 10, NULL, NULL, "black");
    assert_int_equal(ev.n, QC_MAX_EVENTS_PER_RULE + 1);
    assert_int_equal(ev.count[QC_DECODE], QC_MAX_EVENTS_PER_RULE + 500);
    assert_int_equal(ev.kept[QC_DECODE], QC_MAX_EVENTS_PER_RULE);
    qc_events_sort(&ev);
    assert_string_equal(ev.v[1].type, "black");
    qc_events_free(&ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_profiles), cmocka_unit_test(test_custom_profile),
        cmocka_unit_test(test_profile_errors),   cmocka_unit_test(test_timecode),
        cmocka_unit_test(test_measure),          cmocka_unit_test(test_sad_identical),
        cmocka_unit_test(test_display_model),    cmocka_unit_test(test_flashing_rates),
        cmocka_unit_test(test_cuts),             cmocka_unit_test(test_stuck_pixel),
        cmocka_unit_test(test_audio_detectors),
        cmocka_unit_test(test_audio_many_clipped_runs),
        cmocka_unit_test(test_series_bounded),
        cmocka_unit_test(test_events_capped),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
