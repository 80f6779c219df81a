/* Unit tests: pk_source on media generated with ffmpeg at test time —
 * exact sample counts and block sizes, conversions, video frame facts,
 * damaged and bad files, interruption. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <strings.h>

#include <cmocka.h>

#include "media_fixture.h"

static media_fixture fx;

/* ---- audio -------------------------------------------------------------- */

typedef struct audio_case {
    const char *file;
    int64_t samples;
    int rate, channels;
    int bits;             /* expected pk_audio_info.bits */
} audio_case;

static const audio_case audio_cases[] = {
    {"a16_mono_44k.wav", 66150, 44100, 1, 16},
    {"a24_stereo_96k.flac", 120000, 96000, 2, 24},
    {"a24_stereo_48k.wav", 72000, 48000, 2, 24},
    {"a_stereo.mp3", 96000, 48000, 2, 0},
    {"a_stereo.m4a", 96000, 48000, 2, 0},
    {"a_stereo.opus", 96000, 48000, 2, 0},
    {"av_pcm44k.mkv", 88200, 44100, 2, 16},
    {"a51.flac", 48000, 48000, 6, 16},
};

/* Every block is full except the last, positions are contiguous and the
 * total is exactly what was generated. */
static void check_blocks(const char *path, const audio_case *c, int block, int planar)
{
    pk_source_options o;
    pk_source_options_init(&o);
    o.streams = PK_STREAM_AUDIO;
    o.audio_block = block;
    o.audio_planar = planar;
    pk_source *src;
    assert_int_equal(pk_source_open(fx.ctx, path, &o, &src), PK_OK);
    const pk_audio_info *a = pk_source_audio(src);
    assert_non_null(a);
    assert_null(pk_source_video(src));
    assert_int_equal(a->rate, c->rate);
    assert_int_equal(a->channels, c->channels);
    assert_int_equal(a->bits, c->bits);
    int64_t next = 0;
    int last_frames = -1;
    double origin = NAN;
    pk_item it;
    while (pk_source_next(src, &it) == PK_OK && it.type != PK_ITEM_END) {
        assert_int_equal(it.type, PK_ITEM_AUDIO);
        /* a short block may only be the last one */
        assert_true(last_frames == -1 || last_frames == block);
        assert_int_equal(it.audio->first_sample, next);
        /* time = the audio's start on the timeline + position / rate */
        if (isnan(origin))
            origin = it.audio->time;
        assert_near(it.audio->time, origin + (double)next / c->rate, 1e-9);
        assert_true(fabs(origin) < 1e-3);
        assert_true(it.audio->frames > 0 && it.audio->frames <= block);
        assert_int_equal(it.audio->channels, c->channels);
        if (planar) {
            assert_non_null(it.audio->planes);
            assert_null(it.audio->interleaved);
        } else {
            assert_non_null(it.audio->interleaved);
        }
        next += it.audio->frames;
        last_frames = it.audio->frames;
    }
    assert_int_equal(it.type, PK_ITEM_END);
    assert_int_equal(next, c->samples);
    assert_near(pk_source_progress(src), 1.0, 1e-12);
    pk_source_free(src);
}

static void test_exact_sample_counts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof audio_cases / sizeof audio_cases[0]; i++) {
        const audio_case *c = &audio_cases[i];
        print_message("# %s\n", c->file);
        check_blocks(fx_path(&fx, c->file), c, 4096, 0);
        check_blocks(fx_path(&fx, c->file), c, 1000, 1);
    }
}

static void test_planar_equals_interleaved(void **state)
{
    (void)state;
    const char *path = fx_path(&fx, "a24_stereo_96k.flac");
    pk_source_options o;
    pk_source_options_init(&o);
    int64_t n;
    int ch;
    float *inter = decode_audio(fx.ctx, path, &o, &n, &ch);
    assert_non_null(inter);
    o.streams = PK_STREAM_AUDIO;
    o.audio_planar = 1;
    o.audio_block = 777;
    pk_source *src;
    assert_int_equal(pk_source_open(fx.ctx, path, &o, &src), PK_OK);
    pk_item it;
    int64_t at = 0;
    while (pk_source_next(src, &it) == PK_OK && it.type == PK_ITEM_AUDIO) {
        for (int f = 0; f < it.audio->frames; f++)
            for (int c = 0; c < ch; c++)
                assert_true(it.audio->planes[c][f] == inter[(at + f) * ch + c]);
        at += it.audio->frames;
    }
    assert_int_equal(at, n);
    pk_source_free(src);
    free(inter);
}

/* 24-bit samples arrive unchanged: float holds 24 bits exactly. */
static void test_24bit_values_exact(void **state)
{
    (void)state;
    pk_source_options o;
    pk_source_options_init(&o);
    int64_t n;
    int ch;
    float *x = decode_audio(fx.ctx, fx_path(&fx, "a24_stereo_96k.flac"), &o, &n, &ch);
    assert_non_null(x);
    int finer_than_16 = 0;
    for (int64_t i = 0; i < n * ch; i++) {
        double v = (double)x[i] * 8388608.0;
        assert_true(v == rint(v));
        finer_than_16 |= (double)x[i] * 32768.0 != rint((double)x[i] * 32768.0);
    }
    assert_true(finer_than_16);
    free(x);
}

static void test_resample_and_downmix(void **state)
{
    (void)state;
    pk_source_options o;
    pk_source_options_init(&o);
    o.streams = PK_STREAM_AUDIO;
    o.audio_channels = 2;
    pk_source *src;
    const char *path = fx_path(&fx, "a51.flac");
    assert_int_equal(pk_source_open(fx.ctx, path, &o, &src), PK_OK);
    const pk_audio_info *a = pk_source_audio(src);
    assert_int_equal(a->native_channels, 6);
    assert_string_equal(a->layout, "5.1(side)");
    assert_string_equal(a->delivered_layout, "stereo");
    assert_int_equal(a->channels, 2);
    pk_source_free(src);

    /* Only the centre carries the tone (amplitude 1/8): BS.775 puts it in
     * both front channels at -3 dB. */
    int64_t n;
    int ch;
    float *x = decode_audio(fx.ctx, path, &o, &n, &ch);
    assert_non_null(x);
    assert_int_equal(ch, 2);
    assert_int_equal(n, 48000);
    double peak_l = 0, peak_r = 0;
    for (int64_t i = 0; i < n; i++) {
        peak_l = fmax(peak_l, fabs(x[2 * i]));
        peak_r = fmax(peak_r, fabs(x[2 * i + 1]));
    }
    assert_near(peak_l, 0.125 * M_SQRT1_2, 0.125 * 0.02);
    assert_near(peak_r, peak_l, 1e-6);
    free(x);

    /* 44.1 kHz to 48 kHz: the count follows the duration. */
    o.audio_channels = 0;
    o.audio_rate = 48000;
    x = decode_audio(fx.ctx, fx_path(&fx, "a16_mono_44k.wav"), &o, &n, &ch);
    assert_non_null(x);
    assert_true(llabs(n - 72000) <= 2);
    free(x);
}

static void test_tags(void **state)
{
    (void)state;
    pk_source *src;
    assert_int_equal(pk_source_open(fx.ctx, fx_path(&fx, "a24_stereo_96k.flac"), NULL, &src), PK_OK);
    int title = 0, artist = 0;
    for (const char *const *t = pk_source_tags(src); *t; t += 2) {
        title |= !strcasecmp(t[0], "title") && !strcmp(t[1], "Test Tone");
        artist |= !strcasecmp(t[0], "artist") && !strcmp(t[1], "postkit");
    }
    assert_true(title && artist);
    pk_source_free(src);
}

/* ---- video -------------------------------------------------------------- */

/* Every luma sample of every frame equals `want`. */
static void check_flat_luma(const char *file, int bits, int want, int rgb_want)
{
    print_message("# %s\n", file);
    pk_source_options o;
    pk_source_options_init(&o);
    o.streams = PK_STREAM_VIDEO;
    pk_source *src;
    assert_int_equal(pk_source_open(fx.ctx, fx_path(&fx, file), &o, &src), PK_OK);
    const pk_video_info *v = pk_source_video(src);
    assert_non_null(v);
    assert_int_equal(v->bits, bits);
    assert_int_equal(v->width, 64);
    assert_int_equal(v->height, 48);
    pk_item it;
    int frames = 0;
    while (pk_source_next(src, &it) == PK_OK && it.type != PK_ITEM_END) {
        assert_int_equal(it.type, PK_ITEM_VIDEO);
        const uint8_t *y;
        int stride;
        assert_int_equal(pk_frame_luma8(src, &y, &stride), PK_OK);
        assert_true(stride >= 64);
        for (int r = 0; r < 48; r++)
            for (int c = 0; c < 64; c++)
                assert_int_equal(y[r * stride + c], want);
        const uint8_t *rgb;
        assert_int_equal(pk_frame_rgb24(src, &rgb, &stride), PK_OK);
        for (int r = 0; r < 48; r += 7)
            for (int c = 0; c < 64 * 3; c += 5)
                assert_true(abs(rgb[r * stride + c] - rgb_want) <= 1);
        frames++;
    }
    assert_int_equal(frames, 5);
    pk_source_free(src);
}

static void test_flat_luma(void **state)
{
    (void)state;
    /* Grey 128 in limited range is Y = 16 + 219 * 128 / 255 = 125.9 -> 126;
     * 10-bit 504 and 12-bit 2016 shift down to the same 126. RGB sources
     * give full-range luma. */
    check_flat_luma("grey8.mkv", 8, 126, 128);
    check_flat_luma("grey10.mkv", 10, 126, 128);
    check_flat_luma("grey12.mkv", 12, 126, 128);
    check_flat_luma("grey_rgb.mkv", 8, 128, 128);
    check_flat_luma("grey_yuyv.avi", 8, 126, 128);
}

/* A colour survives YUV -> RGB with the right matrix (BT.601 for SD). */
static void test_rgb_matrix(void **state)
{
    (void)state;
    pk_source *src;
    assert_int_equal(pk_source_open(fx.ctx, fx_path(&fx, "colour.mkv"), NULL, &src), PK_OK);
    pk_item it;
    assert_int_equal(pk_source_next(src, &it), PK_OK);
    assert_int_equal(it.type, PK_ITEM_VIDEO);
    const uint8_t *rgb, *y;
    int stride, ystride;
    assert_int_equal(pk_frame_rgb24(src, &rgb, &stride), PK_OK);
    const uint8_t *px = rgb + 10 * stride + 10 * 3;
    assert_true(abs(px[0] - 0x33) <= 2);
    assert_true(abs(px[1] - 0x66) <= 2);
    assert_true(abs(px[2] - 0xCC) <= 2);
    assert_int_equal(pk_frame_luma8(src, &y, &ystride), PK_OK);
    double want = 16 + 219 * (0.299 * 0x33 + 0.587 * 0x66 + 0.114 * 0xCC) / 255.0;
    assert_true(fabs(y[10 * ystride + 10] - want) <= 1.0);
    pk_source_free(src);
}

static void test_interlaced_flags(void **state)
{
    (void)state;
    pk_source *src;
    assert_int_equal(pk_source_open(fx.ctx, fx_path(&fx, "interlaced.mkv"), NULL, &src), PK_OK);
    assert_true(pk_source_video(src)->interlaced);
    pk_item it;
    int frames = 0, keyframes = 0;
    while (pk_source_next(src, &it) == PK_OK && it.type == PK_ITEM_VIDEO) {
        assert_true(it.video->interlaced);
        assert_true(it.video->top_field_first);
        assert_false(it.video->corrupt);
        keyframes += it.video->keyframe;
        frames++;
    }
    assert_int_equal(frames, 10);
    assert_int_equal(keyframes, 1);
    pk_source_free(src);

    assert_int_equal(pk_source_open(fx.ctx, fx_path(&fx, "grey8.mkv"), NULL, &src), PK_OK);
    assert_false(pk_source_video(src)->interlaced);
    assert_int_equal(pk_source_next(src, &it), PK_OK);
    assert_false(it.video->interlaced);
    pk_source_free(src);
}

static void test_rotation(void **state)
{
    (void)state;
    /* ffprobe prints the display matrix's counter-clockwise angle; the
     * info says the clockwise turn a player applies. */
    char line[256];
    assert_int_equal(shell_line(line, sizeof line,
                                "ffprobe -v error -select_streams v -show_entries stream_side_data=rotation "
                                "-of default=nw=1:nk=1 '%s'", fx_path(&fx, "rotated.mp4")), 0);
    int ccw = atoi(line);
    assert_true(ccw != 0);
    pk_source *src;
    assert_int_equal(pk_source_open(fx.ctx, fx_path(&fx, "rotated.mp4"), NULL, &src), PK_OK);
    assert_int_equal(pk_source_video(src)->rotation, ((-ccw) % 360 + 360) % 360);
    assert_int_equal(pk_source_video(src)->width, 64); /* coded size, not rotated */
    pk_source_free(src);
    assert_int_equal(pk_source_open(fx.ctx, fx_path(&fx, "grey8.mkv"), NULL, &src), PK_OK);
    assert_int_equal(pk_source_video(src)->rotation, 0);
    pk_source_free(src);
}

/* Audio and video come merged by time; frame numbers and durations are
 * consistent; progress grows to 1. */
static void test_av_merge(void **state)
{
    (void)state;
    pk_source_options o;
    pk_source_options_init(&o);
    o.audio_block = 1024;
    pk_source *src;
    assert_int_equal(pk_source_open(fx.ctx, fx_path(&fx, "av_pcm44k.mkv"), &o, &src), PK_OK);
    assert_non_null(pk_source_audio(src));
    assert_non_null(pk_source_video(src));
    pk_item it;
    double last_time = -1, progress = 0, prev_frame_time = -1, prev_duration = 0;
    int64_t frames = 0, samples = 0;
    while (pk_source_next(src, &it) == PK_OK && it.type != PK_ITEM_END) {
        double t = it.type == PK_ITEM_AUDIO ? it.audio->time : it.video->time;
        assert_true(t >= last_time - 1e-9);
        last_time = t;
        if (it.type == PK_ITEM_VIDEO) {
            assert_int_equal(it.video->number, frames);
            if (prev_frame_time >= 0)
                assert_near(it.video->time - prev_frame_time, prev_duration, 1e-9);
            assert_near(it.video->duration, 0.04, 1e-9);
            prev_frame_time = it.video->time;
            prev_duration = it.video->duration;
            frames++;
        } else {
            samples += it.audio->frames;
            /* a luma view of an audio item is refused */
            const uint8_t *y;
            int s;
            assert_int_equal(pk_frame_luma8(src, &y, &s), PK_ERR_USAGE);
        }
        double p = pk_source_progress(src);
        assert_true(p >= progress && p <= 1.0);
        progress = p;
    }
    assert_int_equal(frames, 50);
    assert_int_equal(samples, 88200);
    assert_near(progress, 1.0, 1e-12);
    pk_source_free(src);
}

/* A file with damaged bytes in the middle: errors are items with a stream
 * and a time, and decoding reaches the end. */
static void test_damaged_file_continues(void **state)
{
    (void)state;
    pk_source *src;
    assert_int_equal(pk_source_open(fx.ctx, fx_path(&fx, "damaged.mp4"), NULL, &src), PK_OK);
    pk_item it;
    int errors = 0, frames = 0;
    int64_t samples = 0;
    double last_video = 0;
    while (pk_source_next(src, &it) == PK_OK && it.type != PK_ITEM_END) {
        if (it.type == PK_ITEM_DECODE_ERROR) {
            assert_non_null(it.error);
            assert_true(strlen(it.error) > 0);
            assert_true(it.error_stream >= -1 && it.error_stream <= 1);
            assert_true(it.error_time > 1.0 && it.error_time < 5.5);
            errors++;
        } else if (it.type == PK_ITEM_VIDEO) {
            frames++;
            last_video = it.video->time;
        } else {
            samples += it.audio->frames;
        }
    }
    assert_int_equal(it.type, PK_ITEM_END);
    assert_true(errors > 0);
    assert_true(frames >= 140);
    assert_near(last_video, 5.96, 1e-6);
    /* rejected audio packets became silence: the length is kept */
    pk_source_options o;
    pk_source_options_init(&o);
    int64_t clean;
    int ch;
    float *x = decode_audio(fx.ctx, fx_path(&fx, "clean.mp4"), &o, &clean, &ch);
    assert_non_null(x);
    free(x);
    assert_int_equal(samples, clean);
    pk_source_free(src);
}

static void test_interrupt(void **state)
{
    (void)state;
    pk_ctx *ctx;
    assert_int_equal(pk_ctx_new(&ctx), PK_OK);
    pk_source *src;
    assert_int_equal(pk_source_open(ctx, fx_path(&fx, "av_pcm44k.mkv"), NULL, &src), PK_OK);
    pk_item it;
    assert_int_equal(pk_source_next(src, &it), PK_OK);
    pk_ctx_interrupt(ctx);
    assert_int_equal(pk_source_next(src, &it), PK_ERR_INTERRUPTED);
    pk_source_free(src);
    pk_ctx_free(ctx);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    pk_source *src = (pk_source *)1;
    pk_source_options o;
    pk_source_options_init(&o);
    assert_int_equal(pk_source_open(fx.ctx, fx_path(&fx, "text.mp4"), NULL, &src), PK_ERR_INPUT);
    assert_null(src);
    assert_int_equal(pk_source_open(fx.ctx, fx_path(&fx, "truncated.mp4"), NULL, &src), PK_ERR_INPUT);
    assert_non_null(strstr(pk_ctx_errmsg(fx.ctx), "truncated.mp4"));
    assert_int_equal(pk_source_open(fx.ctx, fx_path(&fx, "missing.wav"), NULL, &src), PK_ERR_INPUT);
    o.streams = PK_STREAM_AUDIO;
    assert_int_equal(pk_source_open(fx.ctx, fx_path(&fx, "grey8.mkv"), &o, &src), PK_ERR_INPUT);
    assert_non_null(strstr(pk_ctx_errmsg(fx.ctx), "no audio stream"));
    pk_source_options_init(&o);
    o.audio_stream = 0; /* stream 0 of that file is the video */
    assert_int_equal(pk_source_open(fx.ctx, fx_path(&fx, "av_pcm44k.mkv"), &o, &src), PK_ERR_INPUT);
    assert_non_null(strstr(pk_ctx_errmsg(fx.ctx), "not an audio stream"));
}

/* ---- fixture ------------------------------------------------------------ */

static int corrupt_middle(const char *path)
{
    FILE *f = fopen(path, "r+b");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    unsigned seed = 12345;
    for (int k = 0; k < 5; k++) {
        fseek(f, size / 3 + k * size / 12, SEEK_SET);
        for (int i = 0; i < 2000; i++) {
            seed = seed * 1103515245u + 12345u;
            fputc((int)(seed >> 16) & 0xff, f);
        }
    }
    return fclose(f);
}

static int truncate_half(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    if (!in || !out)
        return -1;
    fseek(in, 0, SEEK_END);
    long half = ftell(in) / 2;
    fseek(in, 0, SEEK_SET);
    for (long i = 0; i < half; i++)
        fputc(fgetc(in), out);
    fclose(in);
    return fclose(out);
}

static int setup(void **state)
{
    (void)state;
    if (fixture_open(&fx, "media-source") != 0)
        return -1;
    const char *grey = "-f lavfi -i color=c=0x808080:s=64x48:r=25:d=0.2";
    int rc = 0;
    rc |= gen(&fx, "a16_mono_44k.wav", "-f lavfi -i sine=f=440:r=44100:d=1.5 -c:a pcm_s16le");
    rc |= gen(&fx, "a24_stereo_96k.flac",
              "-f lavfi -i anoisesrc=r=96000:d=1.25:a=0.5 -ac 2 -c:a flac -sample_fmt s32 "
              "-metadata title='Test Tone' -metadata artist=postkit");
    rc |= gen(&fx, "a24_stereo_48k.wav", "-f lavfi -i anoisesrc=r=48000:d=1.5:a=0.3 -ac 2 -c:a pcm_s24le");
    rc |= gen(&fx, "a_stereo.mp3", "-f lavfi -i sine=r=48000:d=2 -ac 2 -c:a libmp3lame");
    rc |= gen(&fx, "a_stereo.m4a", "-f lavfi -i sine=r=48000:d=2 -ac 2 -c:a aac");
    rc |= gen(&fx, "a_stereo.opus", "-f lavfi -i sine=r=48000:d=2 -ac 2 -c:a libopus");
    rc |= gen(&fx, "av_pcm44k.mkv",
              "-f lavfi -i testsrc2=s=64x48:r=25:d=2 -f lavfi -i sine=r=44100:d=2 -ac 2 "
              "-c:v libx264 -c:a pcm_s16le");
    rc |= gen(&fx, "a51.flac", "-f lavfi -i sine=r=48000:d=1 -af 'pan=5.1(side)|FC=c0' -c:a flac");
    rc |= gen(&fx, "grey8.mkv", "%s -c:v ffv1 -pix_fmt yuv420p", grey);
    rc |= gen(&fx, "grey10.mkv", "%s -c:v ffv1 -pix_fmt yuv420p10le", grey);
    rc |= gen(&fx, "grey12.mkv", "%s -c:v ffv1 -pix_fmt yuv422p12le", grey);
    rc |= gen(&fx, "grey_rgb.mkv", "%s -c:v ffv1 -pix_fmt bgr0", grey);
    rc |= gen(&fx, "grey_yuyv.avi", "%s -c:v rawvideo -pix_fmt yuyv422", grey);
    rc |= gen(&fx, "colour.mkv", "-f lavfi -i color=c=0x3366CC:s=64x48:r=25:d=0.2 -c:v ffv1 -pix_fmt yuv444p");
    rc |= gen(&fx, "interlaced.mkv",
              "-f lavfi -i testsrc2=s=128x96:r=25:d=0.4 -vf setfield=tff -c:v libx264 -flags +ildct+ilme "
              "-x264opts tff=1");
    rc |= gen(&fx, "plain.mp4", "-f lavfi -i testsrc2=s=64x48:r=25:d=0.4 -c:v libx264");
    rc |= gen(&fx, "rotated.mp4", "-i '%s' -c copy -metadata:s:v rotate=90", fx_path(&fx, "plain.mp4"));
    rc |= gen(&fx, "clean.mp4",
              "-f lavfi -i testsrc2=s=320x240:r=25:d=6 -f lavfi -i sine=r=48000:d=6 -c:v libx264 -g 25 "
              "-c:a aac -shortest");
    rc |= gen(&fx, "damaged.mp4", "-i '%s' -c copy", fx_path(&fx, "clean.mp4"));
    rc |= corrupt_middle(fx_path(&fx, "damaged.mp4"));
    rc |= truncate_half(fx_path(&fx, "clean.mp4"), fx_path(&fx, "truncated.mp4"));
    FILE *t = fopen(fx_path(&fx, "text.mp4"), "w");
    rc |= !t || fputs("this is not a video\n", t) < 0 || fclose(t) != 0;
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
        cmocka_unit_test(test_exact_sample_counts),
        cmocka_unit_test(test_planar_equals_interleaved),
        cmocka_unit_test(test_24bit_values_exact),
        cmocka_unit_test(test_resample_and_downmix),
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_flat_luma),
        cmocka_unit_test(test_rgb_matrix),
        cmocka_unit_test(test_interlaced_flags),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_av_merge),
        cmocka_unit_test(test_damaged_file_continues),
        cmocka_unit_test(test_interrupt),
        cmocka_unit_test(test_bad_inputs),
    };
    return cmocka_run_group_tests_name("media_source", tests, setup, teardown);
}
