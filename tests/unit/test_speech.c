/*
 * test_speech.c — the parts of src/speech that need no model: word error
 * rate, sentences, subtitle rules and formats, subtitle import, aligning an
 * edited transcript, keep-ranges, and the edit exports.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "speech/internal.h"
#include "speech/render.h"

typedef struct fixture {
    pk_ctx *ctx;
    char dir[64];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_int_equal(pk_ctx_new(&f->ctx), PK_OK);
    snprintf(f->dir, sizeof f->dir, "/tmp/pk-test-speech-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    pk_ctx_free(f->ctx);
    free(f);
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* A transcript of `words` (space-separated) starting at `t0`, each word
 * `len` seconds long and `gap` apart. */
static void add_words(fixture *f, pk_transcript *t, const char *words, double t0, double len, double gap)
{
    char *copy = strdup(words), *save = NULL;
    double at = t0;
    for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        assert_int_equal(pk_words_push(f->ctx, &t->words, w, at, at + len, 0.9f, false), PK_OK);
        at += len + gap;
    }
    free(copy);
}

static void test_wer(void **state)
{
    fixture *f = *state;
    pk_wer_result r;
    assert_int_equal(pk_wer(f->ctx, "the cat sat", "the cat sat", &r), PK_OK);
    assert_int_equal(r.ref_words, 3);
    assert_true(r.wer == 0.0);
    /* b -> x is a substitution, d is deleted. */
    assert_int_equal(pk_wer(f->ctx, "a b c d", "a x c", &r), PK_OK);
    assert_int_equal(r.substitutions, 1);
    assert_int_equal(r.deletions, 1);
    assert_int_equal(r.insertions, 0);
    assert_true(fabs(r.wer - 0.5) < 1e-9);
    assert_int_equal(pk_wer(f->ctx, "a b", "a b c", &r), PK_OK);
    assert_int_equal(r.insertions, 1);
    /* Case, punctuation and apostrophes. */
    assert_int_equal(pk_wer(f->ctx, "Hello, World! God bless 'em, I'll go.", "hello world god bless em i'll go", &r),
                     PK_OK);
    assert_true(r.wer == 0.0);
    assert_int_equal(pk_wer(f->ctx, "", "", &r), PK_OK);
    assert_true(r.wer == 0.0);
    assert_int_equal(pk_wer(f->ctx, "", "noise", &r), PK_OK);
    assert_true(r.wer == 1.0);
}

static void test_sentences_unpunctuated(void **state)
{
    fixture *f = *state;
    pk_transcript *t;
    assert_int_equal(pk_transcript_new(f->ctx, &t), PK_OK);
    add_words(f, t, "and so i said", 0.0, 0.2, 0.05);
    add_words(f, t, "hello there", 2.0, 0.2, 0.05);
    assert_int_equal(pk_transcript_build_sentences(f->ctx, t, 0.6, 40), PK_OK);
    assert_int_equal(t->n_sentences, 2);
    assert_string_equal(t->sentences[0].text, "And so I said.");
    assert_string_equal(t->sentences[1].text, "Hello there.");
    assert_int_equal(t->words.v[5].sentence, 1);
    pk_transcript_free(t);
}

static void test_sentences_punctuated(void **state)
{
    fixture *f = *state;
    pk_transcript *t;
    assert_int_equal(pk_transcript_new(f->ctx, &t), PK_OK);
    t->punctuated = true;
    add_words(f, t, "Ask not. What you can do? For your country.", 0.0, 0.2, 0.05);
    assert_int_equal(pk_transcript_build_sentences(f->ctx, t, 0.6, 40), PK_OK);
    assert_int_equal(t->n_sentences, 3);
    assert_string_equal(t->sentences[1].text, "What you can do?");
    pk_transcript_free(t);
}

static size_t longest_line(const char *text, int *lines)
{
    size_t best = 0, cur = 0;
    *lines = 1;
    for (const char *p = text; *p; p++) {
        if (*p == '\n') {
            (*lines)++;
            cur = 0;
            continue;
        }
        if (++cur > best)
            best = cur;
    }
    return best;
}

static void test_cue_rules(void **state)
{
    fixture *f = *state;
    pk_transcript *t;
    assert_int_equal(pk_transcript_new(f->ctx, &t), PK_OK);
    t->punctuated = true;
    /* A long sentence at a fast pace, a comma in it, then a 3 s silence and
     * one short word. */
    add_words(f, t,
              "This is a rather long sentence that keeps going, with many words in it so that it "
              "cannot possibly fit on two lines of forty-two characters each.",
              0.0, 0.18, 0.04);
    double end_first = t->words.v[t->words.n - 1].end;
    add_words(f, t, "Yes.", end_first + 3.0, 0.25, 0.0);
    assert_int_equal(pk_transcript_build_sentences(f->ctx, t, 0.6, 100), PK_OK);
    pk_subtitle_options o;
    pk_subtitle_options_init(&o);
    pk_cue *cues;
    size_t n;
    assert_int_equal(pk_cues_from_transcript(f->ctx, t, &o, &cues, &n), PK_OK);
    assert_true(n >= 3);
    for (size_t i = 0; i < n; i++) {
        int lines;
        assert_true(longest_line(cues[i].text, &lines) <= 42);
        assert_true(lines <= 2);
        assert_true(cues[i].end - cues[i].start <= 7.0 + 1e-9);
        assert_true(cues[i].end > cues[i].start);
        if (i + 1 < n)
            assert_true(cues[i + 1].start - cues[i].end >= o.min_gap - 1e-9);
        /* No cue covers the silence: it ends at most max_gap/2 after speech. */
        assert_false(cues[i].start < end_first + 1.0 && cues[i].end > end_first + 2.0);
    }
    /* The comma is preferred as a break inside the long sentence. */
    bool comma_end = false;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(cues[i].text);
        comma_end |= len > 0 && cues[i].text[len - 1] == ',';
    }
    assert_true(comma_end);
    /* The lone word is held for the minimum duration (the silence allows). */
    assert_string_equal(cues[n - 1].text, "Yes.");
    assert_true(cues[n - 1].end - cues[n - 1].start >= 5.0 / 6.0 - 1e-9);

    /* SRT and WebVTT formats. */
    char *buf = NULL;
    size_t size = 0;
    FILE *m = open_memstream(&buf, &size);
    pk_cues_write_srt(m, cues, n);
    fclose(m);
    assert_non_null(strstr(buf, "1\n00:00:00,000 --> 00:00:0"));
    free(buf);
    m = open_memstream(&buf, &size);
    pk_cues_write_vtt(m, cues, n, t);
    fclose(m);
    assert_memory_equal(buf, "WEBVTT\n\n", 8);
    assert_non_null(strstr(buf, "00:00:00.000 --> 00:00:0"));
    free(buf);
    free(cues);
    pk_transcript_free(t);
}

static void test_reading_speed(void **state)
{
    fixture *f = *state;
    pk_transcript *t;
    assert_int_equal(pk_transcript_new(f->ctx, &t), PK_OK);
    t->punctuated = true;
    /* 40 characters spoken in 1 s, then 4 s of silence: the cue is held so
     * it reads at no more than 20 characters per second... but never past
     * half of a long silence. */
    add_words(f, t, "Extraordinarily quick words, said fast.", 0.0, 0.2, 0.0);
    pk_subtitle_options o;
    pk_subtitle_options_init(&o);
    pk_cue *cues;
    size_t n;
    assert_int_equal(pk_transcript_build_sentences(f->ctx, t, 0.6, 40), PK_OK);
    assert_int_equal(pk_cues_from_transcript(f->ctx, t, &o, &cues, &n), PK_OK);
    assert_int_equal(n, 1);
    double words_end = t->words.v[t->words.n - 1].end;
    assert_true(cues[0].end <= words_end + o.max_gap / 2 + 1e-9);
    assert_true(cues[0].end > words_end);
    free(cues);
    /* With a generous max_gap the reading speed is met. */
    o.max_gap = 10;
    assert_int_equal(pk_cues_from_transcript(f->ctx, t, &o, &cues, &n), PK_OK);
    assert_true(strlen(cues[0].text) / (cues[0].end - cues[0].start) <= 20.0 + 1e-6);
    free(cues);
    pk_transcript_free(t);
}

static void test_import(void **state)
{
    fixture *f = *state;
    char srt[128], vtt[128];
    snprintf(srt, sizeof srt, "%s/a.srt", f->dir);
    snprintf(vtt, sizeof vtt, "%s/a.vtt", f->dir);
    write_file(srt, "1\r\n00:00:01,000 --> 00:00:03,000\r\n<i>Hello</i> there,\r\ngeneral Kenobi.\r\n\r\n"
                    "2\r\n01:00:00,500 --> 01:00:01,500\r\nBye.\r\n");
    pk_transcript *t;
    assert_int_equal(pk_transcript_new(f->ctx, &t), PK_OK);
    assert_int_equal(pk_subtitles_import(f->ctx, srt, t), PK_OK);
    assert_int_equal(t->words.n, 5);
    assert_string_equal(t->words.v[0].text, "Hello");
    assert_true(t->words.v[0].start == 1.0);
    assert_true(t->words.v[3].end <= 3.0 + 1e-9);
    assert_true(fabs(t->words.v[4].start - 3600.5) < 1e-9);
    assert_string_equal(t->engine, "import");
    assert_int_equal(strlen(t->model_sha256), 64);
    pk_transcript_free(t);

    write_file(vtt, "WEBVTT\n\nNOTE a comment\n\nintro\n00:01.250 --> 00:02.000 align:start\n<v Bob>One two</v>\n");
    assert_int_equal(pk_transcript_new(f->ctx, &t), PK_OK);
    assert_int_equal(pk_subtitles_import(f->ctx, vtt, t), PK_OK);
    assert_int_equal(t->words.n, 2);
    assert_true(fabs(t->words.v[0].start - 1.25) < 1e-9);
    pk_transcript_free(t);

    write_file(srt, "just some text\nwithout cues\n");
    assert_int_equal(pk_transcript_new(f->ctx, &t), PK_OK);
    assert_int_equal(pk_subtitles_import(f->ctx, srt, t), PK_ERR_INPUT);
    assert_non_null(strstr(pk_ctx_errmsg(f->ctx), "no subtitle cues"));
    pk_transcript_free(t);
}

static void test_align(void **state)
{
    fixture *f = *state;
    pk_transcript *t;
    assert_int_equal(pk_transcript_new(f->ctx, &t), PK_OK);
    add_words(f, t, "one two three four five six", 0.0, 0.3, 0.2);
    bool keep[6];
    char path[128];
    snprintf(path, sizeof path, "%s/edit.txt", f->dir);
    /* Delete "two" and "five"; case and punctuation are free. */
    write_file(path, "One three,\nFOUR six.\n");
    assert_int_equal(pk_align_edit(f->ctx, t, path, keep), PK_OK);
    bool want[6] = {true, false, true, true, false, true};
    assert_memory_equal(keep, want, sizeof want);

    write_file(path, "One three\nfour seven six\n");
    assert_int_equal(pk_align_edit(f->ctx, t, path, keep), PK_ERR_INPUT);
    assert_non_null(strstr(pk_ctx_errmsg(f->ctx), "line 2: 'seven' is not in the original"));
    assert_non_null(strstr(pk_ctx_errmsg(f->ctx), path));

    /* Moving a word is not deleting one. */
    write_file(path, "one three two\n");
    assert_int_equal(pk_align_edit(f->ctx, t, path, keep), PK_ERR_INPUT);
    assert_non_null(strstr(pk_ctx_errmsg(f->ctx), "line 1: 'two' does not follow"));
    pk_transcript_free(t);
}

static void test_keep_ranges(void **state)
{
    fixture *f = *state;
    pk_transcript *t;
    assert_int_equal(pk_transcript_new(f->ctx, &t), PK_OK);
    /* Words at 1.0-1.5, 2.0-2.5, 3.0-3.5, then 6.0-6.5 (a 2.5 s pause). */
    add_words(f, t, "a b c", 1.0, 0.5, 0.5);
    add_words(f, t, "d", 6.0, 0.5, 0);
    bool keep[4] = {true, false, true, true};
    pk_keep_options o = {.pad = 0.1, .remove_silence = false, .margin = 0.2, .min_silence = 0.5};
    pk_range *r;
    size_t n;
    assert_int_equal(pk_keep_ranges(f->ctx, t, keep, 8.0, &o, &r, &n), PK_OK);
    /* [0, a.end + pad] and [c.start - pad, end of file]. */
    assert_int_equal(n, 2);
    assert_true(fabs(r[0].start - 0.0) < 1e-9 && fabs(r[0].end - 1.6) < 1e-9);
    assert_true(fabs(r[1].start - 2.9) < 1e-9 && fabs(r[1].end - 8.0) < 1e-9);
    free(r);
    /* Removing silence: the 2.5 s pause shrinks to the margins, the ends go. */
    o.remove_silence = true;
    assert_int_equal(pk_keep_ranges(f->ctx, t, keep, 8.0, &o, &r, &n), PK_OK);
    assert_int_equal(n, 3);
    assert_true(fabs(r[0].start - 0.8) < 1e-9);
    assert_true(fabs(r[1].end - 3.7) < 1e-9);
    assert_true(fabs(r[2].start - 5.8) < 1e-9 && fabs(r[2].end - 6.7) < 1e-9);
    free(r);
    pk_transcript_free(t);
}

/* The exports, read back by hand: every range must come back as written. */
static void test_exports(void **state)
{
    (void)state;
    pk_range ranges[2] = {{1.0, 2.48}, {4.0, 4.2}};
    pk_timeline tl = {.source_path = "/media/a b&c.mp4", .name = "edit", .ranges = ranges, .n = 2,
                      .fps_num = 25, .fps_den = 1, .source_duration = 10, .width = 1920, .height = 1080,
                      .audio_rate = 48000, .audio_channels = 2};
    char *buf = NULL;
    size_t size = 0;
    FILE *m = open_memstream(&buf, &size);
    pk_export_edl(m, &tl);
    fclose(m);
    assert_non_null(strstr(buf, "FCM: NON-DROP FRAME\n"));
    assert_non_null(strstr(buf, "001  AX       AA/V  C        00:00:01:00 00:00:02:12 01:00:00:00 01:00:01:12"));
    assert_non_null(strstr(buf, "002  AX       AA/V  C        00:00:04:00 00:00:04:05 01:00:01:12 01:00:01:17"));
    free(buf);
    m = open_memstream(&buf, &size);
    pk_export_fcpxml(m, &tl);
    fclose(m);
    assert_non_null(strstr(buf, "<fcpxml version=\"1.9\">"));
    assert_non_null(strstr(buf, "src=\"file:///media/a%20b%26c.mp4\""));
    assert_non_null(strstr(buf, "offset=\"0s\" start=\"25/25s\" duration=\"37/25s\""));
    assert_non_null(strstr(buf, "offset=\"37/25s\" start=\"100/25s\" duration=\"5/25s\""));
    free(buf);
    m = open_memstream(&buf, &size);
    pk_export_otio(m, &tl);
    fclose(m);
    json_error_t err;
    json_t *j = json_loads(buf, 0, &err);
    assert_non_null(j);
    json_t *clips = json_object_get(json_array_get(json_object_get(json_object_get(j, "tracks"), "children"), 0),
                                    "children");
    assert_int_equal(json_array_size(clips), 2);
    json_t *sr = json_object_get(json_array_get(clips, 1), "source_range");
    assert_true(json_number_value(json_object_get(json_object_get(sr, "start_time"), "value")) == 100);
    assert_true(json_number_value(json_object_get(json_object_get(sr, "duration"), "value")) == 5);
    json_decref(j);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wer),
        cmocka_unit_test(test_sentences_unpunctuated),
        cmocka_unit_test(test_sentences_punctuated),
        cmocka_unit_test(test_cue_rules),
        cmocka_unit_test(test_reading_speed),
        cmocka_unit_test(test_import),
        cmocka_unit_test(test_align),
        cmocka_unit_test(test_keep_ranges),
        cmocka_unit_test(test_exports),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
