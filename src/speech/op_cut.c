/*
 * op_cut.c — `postkit cut IN --transcript EDITED.txt -o OUT`: edit media by
 * deleting words from its transcript.
 *
 * The words with their times come from the transcript JSON (--words, or
 * the .json beside the edited .txt) or else from the transcript store,
 * where `transcribe` left them under the media's SHA-256 — so the user
 * edits only the .txt. The edited text is aligned to the words, the kept
 * words become source ranges (padded so word endings are not clipped),
 * the ranges are snapped to video frames, and the result is rendered
 * (frame-accurate cuts, audio crossfades at every join) and/or exported as
 * CMX 3600 EDL, FCPXML 1.9 and OpenTimelineIO for finishing elsewhere.
 */
#include "speech/render.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <postkit/media.h>

/* The words: --words, the .json beside the edited text, or the store. */
static pk_status load_words(pk_run *run, const char *in, pk_transcript **out)
{
    pk_ctx *ctx = pk_run_ctx(run);
    const char *words = pk_run_str(run, "words");
    const char *edited = pk_run_str(run, "transcript");
    *out = NULL;
    if (words)
        return pk_transcript_load(ctx, words, out);
    if (edited) {
        char *beside = malloc(strlen(edited) + 6);
        if (!beside)
            return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        strcpy(beside, edited);
        char *dot = strrchr(beside, '.'), *slash = strrchr(beside, '/');
        if (dot && (!slash || dot > slash))
            *dot = '\0';
        strcat(beside, ".json");
        pk_status st = PK_ERR_INPUT;
        if (strcmp(beside, edited) != 0 && access(beside, R_OK) == 0)
            st = pk_transcript_load(ctx, beside, out);
        free(beside);
        if (st == PK_OK)
            return st;
    }
    char sha[65];
    pk_status st = pk_sha256_file(ctx, in, sha);
    if (st != PK_OK)
        return st;
    pk_transcript *t;
    if ((st = pk_transcript_new(ctx, &t)) != PK_OK)
        return st;
    if ((st = pk_transcript_store_get(ctx, sha, t)) != PK_OK) {
        pk_transcript_free(t);
        return pk_fail(ctx, PK_ERR_INPUT, in,
                       "no transcript of this file: run `postkit transcribe` on it first, or pass --words "
                       "TRANSCRIPT.json");
    }
    *out = t;
    return PK_OK;
}

/* Without a transcript, --remove-silence keeps what the VAD calls speech:
 * each speech segment becomes one "word". */
static pk_status speech_as_words(pk_run *run, const char *in, pk_transcript **out)
{
    pk_ctx *ctx = pk_run_ctx(run);
    *out = NULL;
    pk_model *model;
    pk_status st = pk_run_open_model(run, "silero-vad", &model);
    if (st != PK_OK)
        return st;
    pk_vad_options o;
    pk_vad_options_init(&o);
    json_t *segs = NULL;
    double duration, speech;
    pk_transcript *t = NULL;
    if ((st = pk_speech_vad_file(run, in, model, &o, &segs, &duration, &speech)) == PK_OK &&
        (st = pk_transcript_new(ctx, &t)) == PK_OK) {
        size_t i;
        json_t *s;
        json_array_foreach(segs, i, s)
        {
            if ((st = pk_words_push(ctx, &t->words, "(speech)", json_real_value(json_object_get(s, "start")),
                                    json_real_value(json_object_get(s, "end")), 1.0f, false)) != PK_OK)
                break;
        }
        t->duration = duration;
    }
    json_decref(segs);
    pk_model_free(model);
    if (st != PK_OK) {
        pk_transcript_free(t);
        return st;
    }
    if (t->words.n == 0) {
        pk_transcript_free(t);
        return pk_fail(ctx, PK_ERR_INPUT, in, "no speech found: nothing would be left");
    }
    *out = t;
    return PK_OK;
}

typedef struct media_facts {
    bool video;
    int fps_num, fps_den;
    double first_frame;     /* time of the first video frame */
    int width, height;
    int rate, channels;
    double duration;
} media_facts;

static pk_status read_facts(pk_ctx *ctx, const char *in, media_facts *m)
{
    memset(m, 0, sizeof *m);
    pk_source_options so;
    pk_source_options_init(&so);
    pk_source *src;
    pk_status st = pk_source_open(ctx, in, &so, &src);
    if (st != PK_OK)
        return st;
    const pk_video_info *v = pk_source_video(src);
    const pk_audio_info *a = pk_source_audio(src);
    if (a) {
        m->rate = a->rate;
        m->channels = a->channels;
        m->duration = a->duration;
    }
    if (v && v->fps_num > 0 && v->fps_den > 0) {
        m->video = true;
        m->fps_num = v->fps_num;
        m->fps_den = v->fps_den;
        m->width = v->width;
        m->height = v->height;
        if (v->duration > m->duration)
            m->duration = v->duration;
        pk_item it;
        while ((st = pk_source_next(src, &it)) == PK_OK && it.type != PK_ITEM_END)
            if (it.type == PK_ITEM_VIDEO) {
                m->first_frame = it.video->time;
                break;
            }
    } else {
        /* Audio only: exports count in 1/25 s frames; cuts are exact to the sample. */
        m->fps_num = 25;
        m->fps_den = 1;
    }
    pk_source_free(src);
    if (st == PK_OK && !a && !v)
        st = pk_fail(ctx, PK_ERR_INPUT, in, "no audio or video stream");
    return st;
}

/* Snap ranges to frame boundaries of the video (first frame = frame 0);
 * ranges that become empty vanish, touching ones merge. */
static void snap(pk_range *r, size_t *n, const media_facts *m)
{
    if (!m->video)
        return;
    double fps = (double)m->fps_num / m->fps_den;
    int64_t last = m->duration > 0 ? llround((m->duration - m->first_frame) * fps) : INT64_MAX;
    size_t out = 0;
    for (size_t i = 0; i < *n; i++) {
        int64_t a = llround((r[i].start - m->first_frame) * fps), b = llround((r[i].end - m->first_frame) * fps);
        if (a < 0)
            a = 0;
        if (b > last)
            b = last;
        if (b <= a)
            continue;
        double s = m->first_frame + a / fps, e = m->first_frame + b / fps;
        if (out > 0 && s <= r[out - 1].end + 0.5 / fps) {
            r[out - 1].end = e;
            continue;
        }
        r[out++] = (pk_range){s, e};
    }
    *n = out;
}

static pk_status write_export(pk_run *run, const char *path, const pk_timeline *tl,
                              void (*fn)(FILE *, const pk_timeline *))
{
    pk_output *o;
    pk_status st = pk_output_open(run, path, &o);
    if (st != PK_OK)
        return st;
    FILE *f = pk_output_file(o);
    if (!f) {
        pk_output_abort(run, o);
        return pk_fail(pk_run_ctx(run), PK_ERR_OUTPUT, path, "cannot write");
    }
    fn(f, tl);
    if (ferror(f)) {
        pk_output_abort(run, o);
        return pk_fail(pk_run_ctx(run), PK_ERR_OUTPUT, path, "write error");
    }
    return pk_output_commit(run, o);
}

static pk_status cut_run(pk_run *run)
{
    pk_ctx *ctx = pk_run_ctx(run);
    const char *in = pk_run_input(run, 0);
    const char *out_path = pk_run_str(run, "output");
    const char *edited = pk_run_str(run, "transcript");
    if (!out_path && !pk_run_str(run, "edl") && !pk_run_str(run, "fcpxml") && !pk_run_str(run, "otio"))
        return pk_fail(ctx, PK_ERR_USAGE, NULL, "nothing to write: give -o OUT and/or --edl, --fcpxml, --otio");
    if (!edited && !pk_run_bool(run, "remove-silence") && !pk_run_bool(run, "remove-fillers"))
        return pk_fail(ctx, PK_ERR_USAGE, NULL,
                       "nothing to cut: give --transcript EDITED.txt, --remove-silence or --remove-fillers");
    pk_status st = pk_check_input_file(ctx, in, NULL);
    if (st != PK_OK)
        return st;
    media_facts m;
    if ((st = read_facts(ctx, in, &m)) != PK_OK)
        return st;
    pk_transcript *t;
    bool vad_words = false;
    if (!edited && !pk_run_str(run, "words") && pk_run_bool(run, "remove-silence") &&
        !pk_run_bool(run, "remove-fillers")) {
        /* Silence removal needs no words: the VAD's speech will do. */
        st = speech_as_words(run, in, &t);
        vad_words = true;
    } else {
        st = load_words(run, in, &t);
    }
    if (st != PK_OK)
        return st;
    size_t n = t->words.n;
    /* Words past the end of the media belong to another file. */
    if (n > 0 && m.duration > 0 && t->words.v[n - 1].end > m.duration + 0.5) {
        st = pk_fail(ctx, PK_ERR_INPUT, in,
                     "the transcript does not belong to this file: it has words at %.1f s, the file lasts %.1f s",
                     t->words.v[n - 1].end, m.duration);
        pk_transcript_free(t);
        return st;
    }
    bool *keep = calloc(n ? n : 1, sizeof *keep);
    pk_range *ranges = NULL;
    size_t nr = 0;
    if (!keep) {
        st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        goto done;
    }
    if (edited) {
        if ((st = pk_align_edit(ctx, t, edited, keep)) != PK_OK)
            goto done;
    } else {
        for (size_t i = 0; i < n; i++)
            keep[i] = true;
    }
    size_t fillers = 0, deleted = 0;
    if (pk_run_bool(run, "remove-fillers"))
        for (size_t i = 0; i < n; i++)
            if (keep[i] && (t->words.v[i].filler || pk_word_is_filler(t->words.v[i].text, pk_run_str(run, "fillers")))) {
                keep[i] = false;
                fillers++;
            }
    for (size_t i = 0; i < n; i++)
        deleted += !keep[i];
    double margin = pk_run_float(run, "margin");
    pk_keep_options ko = {.pad = pk_run_float(run, "pad"), .remove_silence = pk_run_bool(run, "remove-silence"),
                          .margin = margin, .min_silence = pk_run_float(run, "min-pause")};
    if (ko.min_silence < 2 * margin)
        ko.min_silence = 2 * margin;
    if ((st = pk_keep_ranges(ctx, t, keep, m.duration, &ko, &ranges, &nr)) != PK_OK)
        goto done;
    snap(ranges, &nr, &m);
    if (nr == 0) {
        st = pk_fail(ctx, PK_ERR_INPUT, edited ? edited : in, "the edit keeps nothing");
        goto done;
    }
    char *abs_in = realpath(in, NULL);
    pk_timeline tl = {.source_path = abs_in ? abs_in : in, .name = in, .ranges = ranges, .n = nr,
                      .fps_num = m.fps_num, .fps_den = m.fps_den, .source_duration = m.duration,
                      .width = m.video ? m.width : 0, .height = m.video ? m.height : 0, .audio_rate = m.rate,
                      .audio_channels = m.channels};
    /* Ranges in exports count from the first frame. */
    pk_range *rel = malloc(nr * sizeof *rel);
    if (!rel) {
        free(abs_in);
        st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nr; i++)
        rel[i] = (pk_range){ranges[i].start - m.first_frame, ranges[i].end - m.first_frame};
    tl.ranges = rel;
    pk_render_stats rs = {0};
    if (out_path) {
        pk_output *o;
        if ((st = pk_output_open(run, out_path, &o)) == PK_OK) {
            pk_render_setup setup = {.in = in, .out_tmp = pk_output_tmp_path(o), .out_name = out_path,
                                     .ranges = ranges, .n_ranges = nr, .fps_num = m.fps_num, .fps_den = m.fps_den,
                                     .crossfade = pk_run_float(run, "crossfade"), .crf = (int)pk_run_int(run, "crf"),
                                     .preset = pk_run_str(run, "preset")};
            if ((st = pk_render_cut(ctx, &setup, &rs)) == PK_OK) {
                pk_output_note(o, "ranges", json_integer((json_int_t)nr));
                pk_output_note(o, "words_deleted", json_integer((json_int_t)deleted));
                pk_output_note(o, "crossfade_seconds", json_real(pk_round(rs.crossfade, 6)));
                pk_output_note(o, "transcript_engine", json_string(t->engine));
                pk_output_note(o, "transcript_model_sha256", json_string(t->model_sha256));
                st = pk_output_commit(run, o);
            } else {
                pk_output_abort(run, o);
            }
        }
    }
    if (st == PK_OK && pk_run_str(run, "edl"))
        st = write_export(run, pk_run_str(run, "edl"), &tl, pk_export_edl);
    if (st == PK_OK && pk_run_str(run, "fcpxml"))
        st = write_export(run, pk_run_str(run, "fcpxml"), &tl, pk_export_fcpxml);
    if (st == PK_OK && pk_run_str(run, "otio"))
        st = write_export(run, pk_run_str(run, "otio"), &tl, pk_export_otio);
    if (st == PK_OK) {
        double fps = (double)m.fps_num / m.fps_den, kept = 0;
        json_t *rec = json_object();
        json_object_set_new(rec, "input", pk_json_string(in));
        if (out_path)
            json_object_set_new(rec, "output", pk_json_string(out_path));
        json_object_set_new(rec, "words_from", json_string(vad_words ? "vad" : "transcript"));
        json_object_set_new(rec, "words", json_integer((json_int_t)n));
        json_object_set_new(rec, "words_deleted", json_integer((json_int_t)deleted));
        json_object_set_new(rec, "fillers_removed", json_integer((json_int_t)fillers));
        json_object_set_new(rec, "frame_rate", json_real(pk_round(fps, 6)));
        json_t *jr = json_array();
        for (size_t i = 0; i < nr; i++) {
            json_t *o = json_object();
            json_object_set_new(o, "start", json_real(pk_round(rel[i].start, 6)));
            json_object_set_new(o, "end", json_real(pk_round(rel[i].end, 6)));
            json_object_set_new(o, "start_frame", json_integer(llround(rel[i].start * fps)));
            json_object_set_new(o, "end_frame", json_integer(llround(rel[i].end * fps)));
            json_array_append_new(jr, o);
            kept += rel[i].end - rel[i].start;
        }
        json_object_set_new(rec, "ranges", jr);
        json_object_set_new(rec, "input_duration", json_real(pk_round(m.duration, 3)));
        json_object_set_new(rec, "output_duration", json_real(pk_round(kept, 6)));
        if (out_path) {
            json_object_set_new(rec, "video_frames", json_integer(rs.frames));
            json_object_set_new(rec, "audio_samples", json_integer(rs.samples));
            json_object_set_new(rec, "crossfade", json_real(pk_round(rs.crossfade, 6)));
            pk_json_set_str(rec, "video_codec", rs.video_codec);
            pk_json_set_str(rec, "audio_codec", rs.audio_codec);
        }
        pk_run_emit(run, rec);
    }
    free(rel);
    free(abs_in);
done:
    free(ranges);
    free(keep);
    pk_transcript_free(t);
    return st;
}

/* The edit in one or two lines: what was removed and what is left. */
static void cut_print(const json_t *rec, FILE *out)
{
    const json_t *output = json_object_get(rec, "output");
    fprintf(out, "%s -> %s\n", json_string_value(json_object_get(rec, "input")),
            output ? json_string_value(output) : "(no media written)");
    fprintf(out, "  %lld of %lld words deleted, %lld fillers removed; %zu ranges kept: %.2f s of %.2f s",
            (long long)json_integer_value(json_object_get(rec, "words_deleted")),
            (long long)json_integer_value(json_object_get(rec, "words")),
            (long long)json_integer_value(json_object_get(rec, "fillers_removed")),
            json_array_size(json_object_get(rec, "ranges")),
            json_number_value(json_object_get(rec, "output_duration")),
            json_number_value(json_object_get(rec, "input_duration")));
    if (output)
        fprintf(out, " (%lld video frames)", (long long)json_integer_value(json_object_get(rec, "video_frames")));
    fputc('\n', out);
}

static const pk_param_spec cut_params[] = {
    {.name = "transcript", .type = PK_PARAM_PATH_IN, .metavar = "EDITED.txt",
     .help = "the transcript text `transcribe` wrote, with words or lines deleted"},
    {.name = "output", .short_opt = 'o', .type = PK_PARAM_PATH_OUT, .metavar = "OUT",
     .help = "the cut media (its extension chooses the container; video is re-encoded with libx264)"},
    {.name = "words", .type = PK_PARAM_PATH_IN, .metavar = "TRANSCRIPT.json",
     .help = "the original words (default: the .json beside the edited text, else the transcript store)"},
    {.name = "edl", .type = PK_PARAM_PATH_OUT, .metavar = "OUT.edl", .help = "also write a CMX 3600 EDL"},
    {.name = "fcpxml", .type = PK_PARAM_PATH_OUT, .metavar = "OUT.fcpxml", .help = "also write FCPXML 1.9"},
    {.name = "otio", .type = PK_PARAM_PATH_OUT, .metavar = "OUT.otio", .help = "also write OpenTimelineIO JSON"},
    {.name = "remove-silence", .type = PK_PARAM_BOOL, .defval = "no",
     .help = "also shorten pauses between kept words to --margin on each side; without a transcript, "
             "keep the speech Silero VAD finds"},
    {.name = "margin", .type = PK_PARAM_FLOAT, .defval = "0.2", .min = 0, .max = 5, .unit = "s",
     .help = "silence kept beside speech with --remove-silence"},
    {.name = "min-pause", .type = PK_PARAM_FLOAT, .defval = "0.5", .min = 0, .max = 60, .unit = "s",
     .help = "with --remove-silence, shorter pauses (and any under twice the margin) are kept"},
    {.name = "remove-fillers", .type = PK_PARAM_BOOL, .defval = "no",
     .help = "also cut filler words (um, uh, erm, hmm, ... and --fillers)"},
    {.name = "fillers", .type = PK_PARAM_STRING, .metavar = "WORD,WORD",
     .help = "more words to treat as fillers, comma-separated"},
    {.name = "pad", .type = PK_PARAM_FLOAT, .defval = "0.08", .min = 0, .max = 2, .unit = "s",
     .help = "kept around each word next to a cut (never into a deleted word), so endings are not clipped"},
    {.name = "crossfade", .type = PK_PARAM_FLOAT, .defval = "0.01", .min = 0, .max = 0.5, .unit = "s",
     .help = "audio crossfade at every join"},
    {.name = "crf", .type = PK_PARAM_INT, .defval = "18", .min = 0, .max = 51,
     .help = "libx264 quality (lower is better)"},
    {.name = "preset", .type = PK_PARAM_ENUM, .defval = "veryfast",
     .choices = "ultrafast|superfast|veryfast|faster|fast|medium|slow|slower|veryslow",
     .help = "libx264 speed preset"},
    {.name = NULL},
};

const pk_op pk_op_cut = {
    .name = "cut",
    .summary = "Edit media by deleting words from its transcript",
    .description = "Aligns the edited transcript (the .txt `transcribe` wrote, with words or lines "
                   "deleted) to the original words, keeps the source ranges of the words left "
                   "(padded so endings are not clipped; pauses between kept words stay unless "
                   "--remove-silence), snaps them to video frames and renders them: video re-encoded "
                   "with exact cuts, audio with a short crossfade at every join, in sync. The same "
                   "edit can be written as a CMX 3600 EDL, FCPXML 1.9 and OpenTimelineIO file.",
    .input_name = "FILE",
    .input_kind = "media",
    .min_inputs = 1,
    .max_inputs = 1,
    .params = cut_params,
    .run = cut_run,
    .print_human = cut_print,
    .flags = PK_OP_WRITES,
};
