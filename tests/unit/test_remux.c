/* Unit tests: replacing the audio of a file keeps every other stream packet
 * for packet, re-encodes with the original codec, keeps metadata. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <strings.h>

#include <cmocka.h>

#include "media_fixture.h"

static media_fixture fx;

/* Decode the audio of `in` with pk_source, multiply by `gain`, and write it
 * through pk_remux into `out_name`. Returns the remux status. */
static pk_status remux_with_gain(const char *in_name, const char *out_name, double gain)
{
    const char *in = fx_path(&fx, in_name);
    pk_source_options o;
    pk_source_options_init(&o);
    o.streams = PK_STREAM_AUDIO;
    pk_source *src;
    assert_int_equal(pk_source_open(fx.ctx, in, &o, &src), PK_OK);
    const pk_audio_info *a = pk_source_audio(src);
    pk_audio_format fmt = {.rate = a->rate, .channels = a->channels};
    snprintf(fmt.layout, sizeof fmt.layout, "%s", a->delivered_layout);
    pk_remux *r;
    pk_status st = pk_remux_open(fx.ctx, in, a->stream_index, fx_path(&fx, out_name), out_name, &fmt, &r);
    if (st != PK_OK) {
        pk_source_free(src);
        return st;
    }
    assert_int_equal(pk_remux_audio_stream(r), a->stream_index);
    float *buf = NULL;
    pk_item it;
    while ((st = pk_source_next(src, &it)) == PK_OK && it.type != PK_ITEM_END) {
        if (it.type != PK_ITEM_AUDIO)
            continue;
        size_t n = (size_t)it.audio->frames * (size_t)it.audio->channels;
        buf = realloc(buf, n * sizeof *buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = (float)(it.audio->interleaved[i] * gain);
        assert_int_equal(pk_remux_write_audio(r, buf, it.audio->frames), PK_OK);
    }
    assert_int_equal(st, PK_OK);
    st = pk_remux_close(r);
    pk_remux_free(r);
    pk_source_free(src);
    free(buf);
    return st;
}

/* ffprobe's list of the packets of streams `sel` ("v", "s") with
 * timestamps, sizes, flags and an MD5 of each packet's bytes. */
static char *packet_hashes(const char *name, const char *sel)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "ffprobe -v error -select_streams %s -show_data_hash MD5 "
             "-show_entries packet=pts,dts,duration,size,flags,data_hash -of csv=p=0 '%s'",
             sel, fx_path(&fx, name));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, used = 0;
    char *text = malloc(cap);
    size_t got;
    while ((got = fread(text + used, 1, cap - used - 1, p)) > 0) {
        used += got;
        if (used + 1 == cap)
            text = realloc(text, cap *= 2);
    }
    text[used] = '\0';
    assert_int_equal(pclose(p), 0);
    return text;
}

static void assert_packets_identical(const char *a, const char *b, const char *sel, int min_packets)
{
    char *x = packet_hashes(a, sel), *y = packet_hashes(b, sel);
    int lines = 0;
    for (const char *c = x; *c; c++)
        lines += *c == '\n';
    print_message("# %s: %d packets of streams %s compared\n", b, lines, sel);
    assert_true(lines >= min_packets);
    assert_string_equal(x, y);
    free(x);
    free(y);
}

static void probe(const char *name, const char *entries, char *out, size_t size)
{
    assert_int_equal(shell_line(out, size, "ffprobe -v error -select_streams a -show_entries %s -of csv=p=0 '%s'",
                                entries, fx_path(&fx, name)),
                     0);
}

static double peak_of(const char *name, int64_t *frames)
{
    pk_source_options o;
    pk_source_options_init(&o);
    int ch;
    float *x = decode_audio(fx.ctx, fx_path(&fx, name), &o, frames, &ch);
    assert_non_null(x);
    double peak = 0;
    for (int64_t i = 0; i < *frames * ch; i++)
        peak = fmax(peak, fabs(x[i]));
    free(x);
    return peak;
}

static void test_mp4_aac(void **state)
{
    (void)state;
    assert_int_equal(remux_with_gain("h264_aac.mp4", "out.mp4", 0.5), PK_OK);
    assert_packets_identical("h264_aac.mp4", "out.mp4", "v", 75);
    char a[256], b[256];
    probe("h264_aac.mp4", "stream=codec_name,sample_rate,channels,bit_rate", a, sizeof a);
    probe("out.mp4", "stream=codec_name,sample_rate,channels,bit_rate", b, sizeof b);
    print_message("# audio before: %s, after: %s\n", a, b);
    assert_int_equal(strncmp(b, "aac,48000,2,", 12), 0);
    double br_in = atof(strrchr(a, ',') + 1), br_out = atof(strrchr(b, ',') + 1);
    assert_true(br_out > 0.7 * br_in && br_out < 1.3 * br_in);
    int64_t n_in, n_out;
    double p_in = peak_of("h264_aac.mp4", &n_in), p_out = peak_of("out.mp4", &n_out);
    assert_int_equal(n_out, n_in);
    assert_near(p_out, 0.5 * p_in, 0.05 * p_in);
    /* rotation, title and the stream's language survive */
    pk_source *s;
    assert_int_equal(pk_source_open(fx.ctx, fx_path(&fx, "out.mp4"), NULL, &s), PK_OK);
    assert_int_equal(pk_source_video(s)->rotation, 270);
    int title = 0, lang = 0;
    for (const char *const *t = pk_source_tags(s); *t; t += 2) {
        title |= !strcmp(t[0], "title") && !strcmp(t[1], "Scene 12");
        lang |= !strcmp(t[0], "language") && !strcmp(t[1], "fra");
    }
    assert_true(title && lang);
    pk_source_free(s);
}

static void test_mkv_opus_with_subtitles(void **state)
{
    (void)state;
    assert_int_equal(remux_with_gain("h264_opus_srt.mkv", "out.mkv", 0.7), PK_OK);
    assert_packets_identical("h264_opus_srt.mkv", "out.mkv", "v", 75);
    assert_packets_identical("h264_opus_srt.mkv", "out.mkv", "s", 2);
    char b[256];
    probe("out.mkv", "stream=codec_name,sample_rate,channels", b, sizeof b);
    assert_string_equal(b, "opus,48000,2");
    int64_t n_in, n_out;
    peak_of("h264_opus_srt.mkv", &n_in);
    peak_of("out.mkv", &n_out);
    assert_int_equal(n_out, n_in);
}

/* Lossless and PCM audio at gain 1 comes back sample for sample. */
static void test_lossless_unchanged(void **state)
{
    (void)state;
    const char *cases[][2] = {{"h264_pcm24.mov", "pcm_s24le"}, {"h264_flac24.mkv", "flac"}};
    for (int k = 0; k < 2; k++) {
        char out[64], b[256];
        snprintf(out, sizeof out, "same%d%s", k, strrchr(cases[k][0], '.'));
        assert_int_equal(remux_with_gain(cases[k][0], out, 1.0), PK_OK);
        assert_packets_identical(cases[k][0], out, "v", 25);
        probe(out, "stream=codec_name", b, sizeof b);
        assert_string_equal(b, cases[k][1]);
        pk_source_options o;
        pk_source_options_init(&o);
        int64_t n, m;
        int ch;
        float *x = decode_audio(fx.ctx, fx_path(&fx, cases[k][0]), &o, &n, &ch);
        float *y = decode_audio(fx.ctx, fx_path(&fx, out), &o, &m, &ch);
        assert_non_null(x);
        assert_non_null(y);
        assert_int_equal(m, n);
        assert_memory_equal(x, y, (size_t)n * (size_t)ch * sizeof *x);
        free(x);
        free(y);
        pk_source *s;
        assert_int_equal(pk_source_open(fx.ctx, fx_path(&fx, out), NULL, &s), PK_OK);
        assert_int_equal(pk_source_audio(s)->bits, 24);
        pk_source_free(s);
    }
}

static void test_mp3_and_audio_only(void **state)
{
    (void)state;
    char b[256];
    assert_int_equal(remux_with_gain("h264_mp3.mp4", "mp3out.mp4", 0.5), PK_OK);
    assert_packets_identical("h264_mp3.mp4", "mp3out.mp4", "v", 75);
    probe("mp3out.mp4", "stream=codec_name", b, sizeof b);
    assert_string_equal(b, "mp3");
    assert_int_equal(remux_with_gain("song.m4a", "song_out.m4a", 0.5), PK_OK);
    probe("song_out.m4a", "stream=codec_name", b, sizeof b);
    assert_string_equal(b, "aac");
    int64_t n, m;
    peak_of("song.m4a", &n);
    peak_of("song_out.m4a", &m);
    assert_int_equal(m, n);
}

static void test_no_encoder(void **state)
{
    (void)state;
    pk_audio_format fmt = {.rate = 48000, .channels = 2};
    pk_remux *r = NULL;
    assert_int_equal(pk_remux_open(fx.ctx, fx_path(&fx, "dts.mkv"), -1, fx_path(&fx, "dts_out.mkv"), NULL, &fmt, &r),
                     PK_ERR_USAGE);
    assert_null(r);
    assert_non_null(strstr(pk_ctx_errmsg(fx.ctx), "dts"));
    assert_non_null(strstr(pk_ctx_errmsg(fx.ctx), "no usable encoder"));
    /* a file without audio has nothing to replace */
    assert_int_equal(pk_remux_open(fx.ctx, fx_path(&fx, "video_only.mkv"), -1, fx_path(&fx, "v_out.mkv"), NULL,
                                   &fmt, &r),
                     PK_ERR_INPUT);
    /* Opus takes 48 kHz only: a clear refusal, not a broken file */
    fmt.rate = 44100;
    assert_int_equal(pk_remux_open(fx.ctx, fx_path(&fx, "h264_opus_srt.mkv"), -1, fx_path(&fx, "o.mkv"), NULL, &fmt,
                                   &r),
                     PK_ERR_USAGE);
    assert_non_null(strstr(pk_ctx_errmsg(fx.ctx), "44100"));
}

static int setup(void **state)
{
    (void)state;
    if (fixture_open(&fx, "remux") != 0)
        return -1;
    const char *v3 = "-f lavfi -i testsrc2=s=160x120:r=25:d=3";
    const char *a3 = "-f lavfi -i sine=r=48000:d=3:f=500";
    int rc = 0;
    rc |= gen(&fx, "plain.mp4", "%s %s -ac 2 -c:v libx264 -c:a aac -b:a 128k -metadata title='Scene 12' "
                                "-metadata:s:a language=fra", v3, a3);
    rc |= gen(&fx, "h264_aac.mp4", "-i '%s' -c copy -metadata:s:v rotate=90", fx_path(&fx, "plain.mp4"));
    FILE *srt = fopen(fx_path(&fx, "sub.srt"), "w");
    rc |= !srt || fputs("1\n00:00:00,500 --> 00:00:01,500\nHello\n\n2\n00:00:02,000 --> 00:00:02,800\nAgain\n\n",
                        srt) < 0 || fclose(srt) != 0;
    rc |= gen(&fx, "h264_opus_srt.mkv", "%s %s -i '%s' -map 0 -map 1 -map 2 -ac 2 -c:v libx264 -c:a libopus -c:s srt", v3,
              a3, fx_path(&fx, "sub.srt"));
    rc |= gen(&fx, "h264_pcm24.mov", "-f lavfi -i testsrc2=s=160x120:r=25:d=1 -f lavfi -i "
                                     "anoisesrc=r=48000:d=1:a=0.3 -ac 2 -c:v libx264 -c:a pcm_s24le");
    rc |= gen(&fx, "h264_flac24.mkv", "-f lavfi -i testsrc2=s=160x120:r=25:d=1 -f lavfi -i "
                                      "anoisesrc=r=48000:d=1:a=0.3 -ac 2 -c:v libx264 -c:a flac -sample_fmt s32");
    rc |= gen(&fx, "h264_mp3.mp4", "%s %s -ac 2 -c:v libx264 -c:a libmp3lame -b:a 160k", v3, a3);
    rc |= gen(&fx, "song.m4a", "%s -ac 2 -c:a aac -b:a 96k", a3);
    rc |= gen(&fx, "dts.mkv", "%s -ac 2 -c:a dca -strict -2", a3);
    rc |= gen(&fx, "video_only.mkv", "%s -c:v libx264", v3);
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
        cmocka_unit_test(test_mp4_aac),
        cmocka_unit_test(test_mkv_opus_with_subtitles),
        cmocka_unit_test(test_lossless_unchanged),
        cmocka_unit_test(test_mp3_and_audio_only),
        cmocka_unit_test(test_no_encoder),
    };
    return cmocka_run_group_tests_name("remux", tests, setup, teardown);
}
