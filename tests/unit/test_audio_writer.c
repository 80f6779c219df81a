/* Unit tests: the WAV/FLAC writer keeps rate, layout, depth and tags; round
 * trips are bit-exact; dither appears only when reducing to 16 bits;
 * out-of-range samples are clipped and counted, never wrapped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <strings.h>

#include <cmocka.h>

#include "media_fixture.h"

static media_fixture fx;

/* Write `frames` interleaved samples to `name` with `fmt`. */
static pk_audio_writer *write_file(const char *name, const pk_audio_format *fmt, const float *x, int64_t frames,
                                   const char *const *tags)
{
    pk_audio_writer *w;
    const char *path = fx_path(&fx, name);
    assert_int_equal(pk_audio_writer_open(fx.ctx, path, name, fmt, tags, &w), PK_OK);
    /* in uneven pieces, as a caller would */
    int64_t at = 0;
    int piece = 1;
    while (at < frames) {
        int n = (int)(frames - at < piece ? frames - at : piece);
        assert_int_equal(pk_audio_writer_write(w, x + at * fmt->channels, n), PK_OK);
        at += n;
        piece = piece * 3 + 7;
    }
    assert_int_equal(pk_audio_writer_close(w), PK_OK);
    assert_int_equal(pk_audio_writer_frames(w), frames);
    return w;
}

static float *read_all(const char *name, int64_t *frames, int *channels)
{
    pk_source_options o;
    pk_source_options_init(&o);
    float *x = decode_audio(fx.ctx, fx_path(&fx, name), &o, frames, channels);
    assert_non_null(x);
    return x;
}

/* ffmpeg's MD5 of the decoded samples as 32-bit integers: what a different
 * decoder sees, at full precision. */
static void md5_of(const char *name, char *out, size_t size)
{
    assert_int_equal(shell_line(out, size, "ffmpeg -nostdin -v error -i '%s' -map 0:a -c:a pcm_s32le -f md5 -",
                                fx_path(&fx, name)), 0);
    assert_non_null(strstr(out, "MD5="));
}

static void roundtrip(const char *src, int bits, const char *out_name)
{
    print_message("# %s -> %s\n", src, out_name);
    int64_t n;
    int ch;
    float *x = read_all(src, &n, &ch);
    pk_audio_format fmt = {.rate = 48000, .channels = ch, .bits = bits};
    pk_audio_writer *w = write_file(out_name, &fmt, x, n, NULL);
    assert_false(pk_audio_writer_dithered(w));
    assert_int_equal(pk_audio_writer_clipped(w), 0);
    pk_audio_writer_free(w);
    int64_t m;
    int ch2;
    float *y = read_all(out_name, &m, &ch2);
    assert_int_equal(m, n);
    assert_int_equal(ch2, ch);
    assert_memory_equal(x, y, (size_t)n * (size_t)ch * sizeof *x);
    char a[128], b[128];
    md5_of(src, a, sizeof a);
    md5_of(out_name, b, sizeof b);
    assert_string_equal(a, b);
    /* and the file says what it holds */
    pk_source *s;
    assert_int_equal(pk_source_open(fx.ctx, fx_path(&fx, out_name), NULL, &s), PK_OK);
    assert_int_equal(pk_source_audio(s)->bits, bits);
    assert_int_equal(pk_source_audio(s)->native_rate, 48000);
    pk_source_free(s);
    free(x);
    free(y);
}

static void test_roundtrip_bit_exact(void **state)
{
    (void)state;
    roundtrip("noise16.wav", 16, "rt16.wav");
    roundtrip("noise16.wav", 16, "rt16.flac");
    roundtrip("noise24.wav", 24, "rt24.wav");
    roundtrip("noise24.wav", 24, "rt24.flac");
}

/* Quantisation error statistics of `out` against `in`, in 16-bit steps. */
static void error_stats(const float *in, const float *out, size_t n, double *rms, double *mean, double *peak)
{
    double sum = 0, sum2 = 0, mx = 0;
    for (size_t i = 0; i < n; i++) {
        double e = ((double)out[i] - (double)in[i]) * 32768.0;
        sum += e;
        sum2 += e * e;
        mx = fmax(mx, fabs(e));
    }
    *mean = sum / (double)n;
    *rms = sqrt(sum2 / (double)n);
    *peak = mx;
}

static void test_dither_only_when_reducing(void **state)
{
    (void)state;
    int64_t n;
    int ch;
    float *x = read_all("noise24.wav", &n, &ch);
    size_t count = (size_t)n * (size_t)ch;

    /* 24 -> 16 bits: TPDF of +-1 LSB on top of rounding. Rounding alone
     * leaves an error of RMS 1/sqrt(12) = 0.29 LSB; with the triangular
     * noise (variance 1/6) it is sqrt(1/12 + 1/6) = 0.5 LSB. */
    pk_audio_format fmt = {.rate = 48000, .channels = ch, .bits = 16};
    pk_audio_writer *w = write_file("d16.wav", &fmt, x, n, NULL);
    assert_true(pk_audio_writer_dithered(w));
    pk_audio_writer_free(w);
    int64_t m;
    float *y = read_all("d16.wav", &m, &ch);
    assert_int_equal(m, n);
    double rms, mean, peak;
    error_stats(x, y, count, &rms, &mean, &peak);
    print_message("# dithered: rms %.3f mean %.4f peak %.3f LSB\n", rms, mean, peak);
    assert_true(rms > 0.45 && rms < 0.55);
    assert_true(fabs(mean) < 0.02);
    assert_true(peak < 1.5);
    free(y);

    /* The same without dither: plain rounding. */
    fmt.no_dither = 1;
    w = write_file("nd16.wav", &fmt, x, n, NULL);
    assert_false(pk_audio_writer_dithered(w));
    pk_audio_writer_free(w);
    y = read_all("nd16.wav", &m, &ch);
    error_stats(x, y, count, &rms, &mean, &peak);
    print_message("# rounded: rms %.3f peak %.3f LSB\n", rms, peak);
    assert_true(rms > 0.27 && rms < 0.31);
    assert_true(peak <= 0.5 + 1e-9);
    free(y);

    /* 24-bit output of the same samples: never dithered, exact. */
    fmt.no_dither = 0;
    fmt.bits = 24;
    w = write_file("d24.wav", &fmt, x, n, NULL);
    assert_false(pk_audio_writer_dithered(w));
    pk_audio_writer_free(w);
    y = read_all("d24.wav", &m, &ch);
    assert_memory_equal(x, y, count * sizeof *x);
    free(y);
    free(x);
}

static void test_clipping_counted_not_wrapped(void **state)
{
    (void)state;
    const float x[] = {1.5f, -2.0f, 0.25f, 1.0f, -1.0f, 0.999f, 40000.0f, -0.5f, NAN, -INFINITY};
    const int n = 10;
    struct {
        int bits, is_float;
        const char *name;
        int64_t clipped;
    } cases[] = {{16, 0, "c16.wav", 5}, {24, 0, "c24.flac", 5}, {32, 0, "c32.wav", 5}, {32, 1, "cf.wav", 0}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        /* no dither, so the kept values can be compared exactly */
        pk_audio_format fmt = {.rate = 44100, .channels = 1, .bits = cases[k].bits, .is_float = cases[k].is_float,
                               .no_dither = 1};
        pk_audio_writer *w = write_file(cases[k].name, &fmt, x, n, NULL);
        /* 1.5, -2.0, 40000, -inf and +1.0 (one step above the largest
         * code); NaN becomes silence */
        assert_int_equal(pk_audio_writer_clipped(w), cases[k].clipped);
        pk_audio_writer_free(w);
        int64_t m;
        int ch;
        float *y = read_all(cases[k].name, &m, &ch);
        assert_int_equal(m, n);
        if (cases[k].is_float) {
            assert_memory_equal(x, y, sizeof x);
        } else {
            double top = 1.0 - ldexp(1.0, 1 - cases[k].bits);
            assert_near(y[0], top, 1e-7);
            assert_near(y[1], -1.0, 0);
            assert_near(y[2], 0.25, 0);
            assert_near(y[3], top, 1e-7);
            assert_near(y[4], -1.0, 0);
            assert_near(y[6], top, 1e-7);
            assert_near(y[7], -0.5, 0);
            assert_near(y[8], 0.0, 0);
            assert_near(y[9], -1.0, 0);
        }
        free(y);
    }
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The body of a WAV file's "fmt " chunk (first 40 bytes), found by walking
 * the chunks (FFmpeg reserves room for RF64 with a JUNK chunk first). */
static void read_fmt_chunk(const char *name, unsigned char *body)
{
    FILE *f = fopen(fx_path(&fx, name), "rb");
    assert_non_null(f);
    unsigned char ch[8];
    assert_int_equal(fseek(f, 12, SEEK_SET), 0);
    int found = 0;
    while (!found && fread(ch, 1, 8, f) == 8) {
        uint32_t size = le32(ch + 4);
        if (memcmp(ch, "fmt ", 4) == 0) {
            memset(body, 0, 40);
            assert_true(fread(body, 1, size < 40 ? size : 40, f) > 0);
            found = 1;
        } else {
            assert_int_equal(fseek(f, (long)(size + (size & 1)), SEEK_CUR), 0);
        }
    }
    fclose(f);
    assert_true(found);
}

static void test_layout_kept(void **state)
{
    (void)state;
    int64_t n = 4800;
    float *x = calloc((size_t)n * 6, sizeof *x);
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < 6; c++)
            x[i * 6 + c] = (float)(0.1 * (c + 1) * sin(0.01 * (double)i));
    pk_audio_format fmt = {.rate = 48000, .channels = 6, .layout = "5.1(side)", .bits = 24};
    const char *names[] = {"l51.wav", "l51.flac"};
    for (int k = 0; k < 2; k++) {
        pk_audio_writer_free(write_file(names[k], &fmt, x, n, NULL));
        pk_source *s;
        assert_int_equal(pk_source_open(fx.ctx, fx_path(&fx, names[k]), NULL, &s), PK_OK);
        assert_string_equal(pk_source_audio(s)->layout, "5.1(side)");
        assert_int_equal(pk_source_audio(s)->native_channels, 6);
        pk_source_free(s);
        /* channel order kept: channel c has amplitude 0.1 (c + 1) */
        int64_t m;
        int ch;
        float *y = read_all(names[k], &m, &ch);
        for (int c = 0; c < 6; c++) {
            double peak = 0;
            for (int64_t i = 0; i < m; i++)
                peak = fmax(peak, fabs(y[i * 6 + c]));
            assert_near(peak, 0.1 * (c + 1), 1e-3);
        }
        free(y);
    }
    /* WAVE_FORMAT_EXTENSIBLE with the 5.1(side) mask FL FR FC LFE SL SR */
    unsigned char h[40];
    read_fmt_chunk("l51.wav", h);
    assert_int_equal(h[0] | h[1] << 8, 0xFFFE);
    assert_int_equal(le32(h + 20), 0x60F);
    free(x);

    /* Plain stereo 16-bit stays a plain PCM header. */
    float s[8] = {0};
    pk_audio_format st = {.rate = 48000, .channels = 2, .bits = 16};
    pk_audio_writer_free(write_file("plain.wav", &st, s, 4, NULL));
    read_fmt_chunk("plain.wav", h);
    assert_int_equal(h[0] | h[1] << 8, 1);
}

static void test_tags_written(void **state)
{
    (void)state;
    const char *tags[] = {"title", "Take 3", "artist", "The Band", NULL};
    float x[100] = {0};
    pk_audio_format fmt = {.rate = 48000, .channels = 1, .bits = 16};
    const char *names[] = {"t.wav", "t.flac"};
    for (int k = 0; k < 2; k++) {
        pk_audio_writer_free(write_file(names[k], &fmt, x, 100, tags));
        pk_source *s;
        assert_int_equal(pk_source_open(fx.ctx, fx_path(&fx, names[k]), NULL, &s), PK_OK);
        int title = 0, artist = 0;
        for (const char *const *t = pk_source_tags(s); *t; t += 2) {
            title |= !strcasecmp(t[0], "title") && !strcmp(t[1], "Take 3");
            artist |= !strcasecmp(t[0], "artist") && !strcmp(t[1], "The Band");
        }
        assert_true(title && artist);
        pk_source_free(s);
    }
}

static void test_refusals(void **state)
{
    (void)state;
    pk_audio_writer *w = NULL;
    pk_audio_format fmt = {.rate = 48000, .channels = 2, .bits = 32};
    assert_int_equal(pk_audio_writer_open(fx.ctx, fx_path(&fx, "x.flac"), NULL, &fmt, NULL, &w), PK_ERR_USAGE);
    assert_non_null(strstr(pk_ctx_errmsg(fx.ctx), "16 or 24"));
    fmt.is_float = 1;
    assert_int_equal(pk_audio_writer_open(fx.ctx, fx_path(&fx, "x.flac"), NULL, &fmt, NULL, &w), PK_ERR_USAGE);
    fmt.is_float = 0;
    fmt.bits = 16;
    assert_int_equal(pk_audio_writer_open(fx.ctx, fx_path(&fx, "x.mp3"), NULL, &fmt, NULL, &w), PK_ERR_USAGE);
    fmt.bits = 20;
    assert_int_equal(pk_audio_writer_open(fx.ctx, fx_path(&fx, "x.wav"), NULL, &fmt, NULL, &w), PK_ERR_USAGE);
    fmt.bits = 16;
    snprintf(fmt.layout, sizeof fmt.layout, "5.1");
    assert_int_equal(pk_audio_writer_open(fx.ctx, fx_path(&fx, "x.wav"), NULL, &fmt, NULL, &w), PK_ERR_USAGE);
    fmt.layout[0] = '\0';
    assert_int_equal(pk_audio_writer_open(fx.ctx, fx_path(&fx, "no/such/x.wav"), NULL, &fmt, NULL, &w),
                     PK_ERR_OUTPUT);
    assert_null(w);
}

static int setup(void **state)
{
    (void)state;
    if (fixture_open(&fx, "audio-writer") != 0)
        return -1;
    int rc = 0;
    rc |= gen(&fx, "noise16.wav", "-f lavfi -i anoisesrc=r=48000:d=1:a=0.5 -ac 2 -c:a pcm_s16le");
    rc |= gen(&fx, "noise24.wav", "-f lavfi -i anoisesrc=r=48000:d=1:a=0.5 -ac 2 -c:a pcm_s24le");
    return rc ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    fixture_close(&fx);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_bit_exact),
        cmocka_unit_test(test_dither_only_when_reducing),
        cmocka_unit_test(test_clipping_counted_not_wrapped),
        cmocka_unit_test(test_layout_kept),
        cmocka_unit_test(test_tags_written),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests_name("audio_writer", tests, setup, teardown);
}
