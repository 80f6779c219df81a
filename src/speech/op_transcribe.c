/*
 * op_transcribe.c — `postkit transcribe IN -o OUT.srt|.vtt|.json|.txt`:
 * speech to subtitles or an editable transcript.
 *
 * decode → 16 kHz mono → VAD segments → engine per segment (in parallel) →
 * words → sentences → the output the extension asks for. --import uses an
 * existing SRT/WebVTT file as the transcript instead of recognising speech.
 * Every output says which engine and model made it: the JSON and WebVTT in
 * the file, all of them in the provenance sidecar. The words are also kept
 * in the transcript store under the media's SHA-256, so `postkit cut` finds
 * them when the user hands it only the edited .txt, and its sentences go to
 * the catalogue when the media is catalogued, so `postkit search` finds them.
 */
#include "speech/internal.h"

#include <postkit/catalog.h>

#include <math.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <sys/stat.h>

typedef enum out_kind { OUT_SRT, OUT_VTT, OUT_JSON, OUT_TXT } out_kind;

static int output_kind(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash))
        return -1;
    if (strcasecmp(dot, ".srt") == 0)
        return OUT_SRT;
    if (strcasecmp(dot, ".vtt") == 0)
        return OUT_VTT;
    if (strcasecmp(dot, ".json") == 0)
        return OUT_JSON;
    if (strcasecmp(dot, ".txt") == 0)
        return OUT_TXT;
    return -1;
}

void pk_speech_subtitle_options(pk_run *run, pk_subtitle_options *o)
{
    pk_subtitle_options_init(o);
    o->max_chars_per_line = (int)pk_run_int(run, "max-chars");
    o->max_lines = (int)pk_run_int(run, "max-lines");
    o->min_duration = pk_run_float(run, "min-duration");
    o->max_duration = pk_run_float(run, "max-duration");
    o->max_cps = pk_run_float(run, "max-cps");
    o->pause_break = pk_run_float(run, "pause-break");
    o->max_gap = pk_run_float(run, "max-gap");
}

/* Recognise (or import) into t. */
static pk_status make_transcript(pk_run *run, const char *in, pk_transcript *t)
{
    pk_ctx *ctx = pk_run_ctx(run);
    const char *import = pk_run_str(run, "import");
    pk_status st;
    if (import) {
        if ((st = pk_subtitles_import(ctx, import, t)) != PK_OK)
            return st;
        return pk_run_add_model(run, "import", "", t->model_sha256);
    }
    pk_model *vad_model;
    if ((st = pk_run_open_model(run, "silero-vad", &vad_model)) != PK_OK)
        return st;
    pk_asr_config cfg = {.engine = pk_run_str(run, "engine"), .model_path = pk_run_str(run, "model"),
                         .threads_per_decoder = 1};
    pk_asr_engine *engine;
    if ((st = pk_asr_open(ctx, &cfg, &engine)) != PK_OK) {
        pk_model_free(vad_model);
        return st;
    }
    if ((st = pk_run_add_model(run, engine->model, engine->model_version, engine->model_sha256)) == PK_OK) {
        t->punctuated = engine->punctuated;
        st = pk_transcript_set_meta(ctx, t, NULL, engine->vt->name, engine->model, engine->model_version,
                                    engine->model_sha256);
    }
    if (st == PK_OK) {
        pk_transcribe_options o = {.max_segment = pk_run_float(run, "max-segment")};
        pk_speech_vad_options(run, &o.vad);
        o.threads = pk_ctx_threads(ctx);
        st = pk_transcribe_media(ctx, in, vad_model, engine, &o, t);
    }
    pk_asr_free(engine);
    pk_model_free(vad_model);
    return st;
}

static pk_status write_output(pk_run *run, const char *path, out_kind kind, const pk_transcript *t,
                              size_t *n_cues)
{
    pk_ctx *ctx = pk_run_ctx(run);
    pk_cue *cues = NULL;
    *n_cues = 0;
    pk_status st = PK_OK;
    if (kind == OUT_SRT || kind == OUT_VTT) {
        pk_subtitle_options so;
        pk_speech_subtitle_options(run, &so);
        if ((st = pk_cues_from_transcript(ctx, t, &so, &cues, n_cues)) != PK_OK)
            return st;
    }
    pk_output *out;
    if ((st = pk_output_open(run, path, &out)) != PK_OK) {
        free(cues);
        return st;
    }
    FILE *f = pk_output_file(out);
    if (!f) {
        free(cues);
        pk_output_abort(run, out);
        return pk_fail(ctx, PK_ERR_OUTPUT, path, "cannot write");
    }
    switch (kind) {
    case OUT_SRT:
        pk_cues_write_srt(f, cues, *n_cues);
        break;
    case OUT_VTT:
        pk_cues_write_vtt(f, cues, *n_cues, t);
        break;
    case OUT_JSON: {
        json_t *j = pk_transcript_to_json(t);
        json_dumpf(j, f, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
        fputc('\n', f);
        json_decref(j);
        break;
    }
    case OUT_TXT:
        pk_transcript_write_txt(f, t);
        break;
    }
    free(cues);
    pk_output_note(out, "engine", json_string(t->engine));
    pk_output_note(out, "model", pk_json_string(t->model));
    pk_output_note(out, "model_sha256", json_string(t->model_sha256));
    pk_output_note(out, "words", json_integer((json_int_t)t->words.n));
    if (ferror(f)) {
        pk_output_abort(run, out);
        return pk_fail(ctx, PK_ERR_OUTPUT, path, "write error");
    }
    return pk_output_commit(run, out);
}

/* Put t's sentences into the catalogue (--catalog, $POSTKIT_CATALOG or the
 * default) when it exists and knows t's content; *catalogued says whether
 * they went in. No catalogue is no error: transcribing needs none. */
static pk_status store_in_catalogue(pk_run *run, const pk_transcript *t, int *catalogued)
{
    pk_ctx *ctx = pk_run_ctx(run);
    *catalogued = 0;
    char *path = NULL;
    struct stat sb;
    if (pk_catalog_path(ctx, pk_run_str(run, "catalog"), &path) != PK_OK || stat(path, &sb) != 0) {
        free(path);
        return PK_OK;
    }
    pk_catalog *cat;
    pk_status st = pk_catalog_open(ctx, path, 0, &cat);
    free(path);
    if (st != PK_OK)
        return st;
    pk_stored_transcript view = {0};
    st = pk_transcript_catalogue_view(ctx, t, &view);
    if (st == PK_OK)
        st = pk_catalog_put_transcript(cat, t->source_sha256, &view.by, view.sentences, view.n, catalogued);
    free(view.sentences);
    pk_catalog_close(cat);
    return st;
}

static pk_status transcribe_run(pk_run *run)
{
    pk_ctx *ctx = pk_run_ctx(run);
    const char *in = pk_run_input(run, 0);
    size_t n_out = pk_run_str_count(run, "output");
    for (size_t i = 0; i < n_out; i++)
        if (output_kind(pk_run_str_at(run, "output", i)) < 0)
            return pk_fail(ctx, PK_ERR_USAGE, pk_run_str_at(run, "output", i),
                           "the output must end in .srt, .vtt, .json or .txt");
    if (pk_run_str(run, "import") && (pk_run_is_set(run, "engine") || pk_run_is_set(run, "model")))
        return pk_fail(ctx, PK_ERR_USAGE, NULL, "--import uses the subtitles as they are: no --engine or --model");
    pk_status st = pk_check_input_file(ctx, in, NULL);
    if (st != PK_OK)
        return st;
    pk_transcript *t;
    if ((st = pk_transcript_new(ctx, &t)) != PK_OK)
        return st;
    double t_start = pk_monotonic_seconds();
    int catalogued = 0;
    if ((st = pk_transcript_set_meta(ctx, t, in, NULL, NULL, NULL, NULL)) == PK_OK)
        st = make_transcript(run, in, t);
    if (st == PK_OK)
        st = pk_transcript_build_sentences(ctx, t, pk_run_float(run, "sentence-pause"), 40);
    if (st == PK_OK && pk_run_bool(run, "store")) {
        char sha[65];
        if ((st = pk_sha256_file(ctx, in, sha)) == PK_OK) {
            free(t->source_sha256);
            t->source_sha256 = strdup(sha);
            if (!t->source_sha256)
                st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        }
        if (st == PK_OK && pk_transcript_store_put(ctx, t) != PK_OK) {
            /* The output is what was asked for; a store that cannot be
             * written only means `cut` will want the JSON. */
            pk_log(ctx, PK_LOG_WARNING, "%s", pk_ctx_errmsg(ctx));
        }
        /* The same for a catalogue that cannot be opened or written: the
         * transcript is still in the outputs. */
        if (st == PK_OK && store_in_catalogue(run, t, &catalogued) != PK_OK)
            pk_log(ctx, PK_LOG_WARNING, "%s", pk_ctx_errmsg(ctx));
    }
    /* One recognition, every output asked for. */
    size_t n_cues = 0;
    json_t *outputs = json_array();
    for (size_t i = 0; st == PK_OK && i < n_out; i++) {
        const char *path = pk_run_str_at(run, "output", i);
        out_kind kind = (out_kind)output_kind(path);
        size_t cues = 0;
        st = write_output(run, path, kind, t, &cues);
        if (kind == OUT_SRT || kind == OUT_VTT)
            n_cues = cues;
        json_array_append_new(outputs, pk_json_string(path));
    }
    if (st == PK_OK) {
        double elapsed = pk_monotonic_seconds() - t_start;
        json_t *rec = json_object();
        json_object_set_new(rec, "input", pk_json_string(in));
        json_object_set_new(rec, "outputs", json_incref(outputs));
        json_object_set_new(rec, "engine", json_string(t->engine));
        json_object_set_new(rec, "model", pk_json_string(t->model));
        json_object_set_new(rec, "model_sha256", json_string(t->model_sha256));
        json_object_set_new(rec, "duration", json_real(pk_round(t->duration, 3)));
        double speech = 0;
        for (size_t i = 0; i < t->n_segments; i++)
            speech += (double)(t->segments[i].end - t->segments[i].start) / PK_VAD_RATE;
        json_object_set_new(rec, "speech_segments", json_integer((json_int_t)t->n_segments));
        json_object_set_new(rec, "speech_seconds", json_real(pk_round(speech, 3)));
        json_object_set_new(rec, "words", json_integer((json_int_t)t->words.n));
        json_object_set_new(rec, "sentences", json_integer((json_int_t)t->n_sentences));
        json_object_set_new(rec, "cues", json_integer((json_int_t)n_cues));
        json_object_set_new(rec, "catalogued", json_boolean(catalogued));
        json_object_set_new(rec, "seconds", json_real(pk_round(elapsed, 3)));
        if (t->duration > 0)
            json_object_set_new(rec, "real_time_factor", json_real(pk_round(elapsed / t->duration, 4)));
        pk_run_emit(run, rec);
    }
    json_decref(outputs);
    pk_transcript_free(t);
    return st;
}

static const pk_param_spec transcribe_params[] = {
    {.name = "output", .short_opt = 'o', .type = PK_PARAM_PATH_OUT, .metavar = "OUT.srt|.vtt|.json|.txt",
     .help = "the file to write; the extension chooses subtitles (SRT, WebVTT), the full transcript "
             "with every word's times (JSON) or the editable text, one sentence per line (TXT). "
             "Repeat for several outputs of one recognition",
     .flags = PK_PARAM_REQUIRED | PK_PARAM_REPEAT},
    {.name = "engine", .type = PK_PARAM_ENUM, .defval = "auto", .choices = "auto|pocketsphinx|whisper",
     .help = "recogniser: whisper.cpp when a whisper model is installed or given, else PocketSphinx"},
    {.name = "model", .type = PK_PARAM_STRING, .metavar = "PATH",
     .help = "a whisper.cpp ggml model file, or a PocketSphinx model folder (as Debian's en-us)"},
    {.name = "import", .type = PK_PARAM_PATH_IN, .metavar = "SUBS.srt|.vtt",
     .help = "use these subtitles as the transcript instead of recognising speech"},
    PK_SPEECH_VAD_PARAMS,
    {.name = "max-segment", .type = PK_PARAM_FLOAT, .defval = "30", .min = 1, .max = 600, .unit = "s",
     .help = "split longer speech at its longest pause (whisper takes at most 30 s)"},
    {.name = "sentence-pause", .type = PK_PARAM_FLOAT, .defval = "0.6", .min = 0.05, .max = 10, .unit = "s",
     .help = "a pause this long ends a sentence when the engine writes no punctuation"},
    {.name = "max-chars", .type = PK_PARAM_INT, .defval = "42", .min = 10, .max = 200,
     .help = "characters per subtitle line"},
    {.name = "max-lines", .type = PK_PARAM_INT, .defval = "2", .min = 1, .max = 4, .help = "lines per cue"},
    {.name = "min-duration", .type = PK_PARAM_FLOAT, .defval = "0.833", .min = 0, .max = 10, .unit = "s",
     .help = "shortest time a cue stays on screen (5/6 s), where the pause after it allows"},
    {.name = "max-duration", .type = PK_PARAM_FLOAT, .defval = "7", .min = 1, .max = 60, .unit = "s",
     .help = "longest time a cue stays on screen"},
    {.name = "max-cps", .type = PK_PARAM_FLOAT, .defval = "20", .min = 5, .max = 100,
     .help = "reading speed, characters per second: cues are held long enough where the gap allows"},
    {.name = "pause-break", .type = PK_PARAM_FLOAT, .defval = "0.5", .min = 0.05, .max = 10, .unit = "s",
     .help = "a pause this long ends a cue"},
    {.name = "max-gap", .type = PK_PARAM_FLOAT, .defval = "1", .min = 0.1, .max = 60, .unit = "s",
     .help = "a silence this long is never covered by a cue (a cue reaches into it by half of it at most, or as far as --min-duration needs)"},
    {.name = "store", .type = PK_PARAM_BOOL, .defval = "yes",
     .help = "keep the words in the transcript store so `postkit cut` finds them from the media, and "
             "the sentences in the catalogue when FILE is catalogued, so `postkit search` finds them"},
    {.name = "catalog", .type = PK_PARAM_STRING, .metavar = "PATH",
     .help = "catalogue to store the sentences in (default: $POSTKIT_CATALOG, else "
             "$XDG_DATA_HOME/postkit/catalog.db); none there, nothing stored"},
    {.name = NULL},
};

/* One line per file: where the transcript went, how much speech it holds,
 * which engine made it; the numbers scripts need are in --json. */
static void transcribe_print(const json_t *rec, FILE *out)
{
    fprintf(out, "%s ->", json_string_value(json_object_get(rec, "input")));
    size_t i;
    const json_t *o;
    json_array_foreach(json_object_get(rec, "outputs"), i, o)
        fprintf(out, "%s %s", i ? "," : "", json_string_value(o));
    fputc('\n', out);
    fprintf(out, "  %lld words, %lld sentence(s) in %.1f s of speech (of %.1f s); %s, %.2fx real time%s\n",
            (long long)json_integer_value(json_object_get(rec, "words")),
            (long long)json_integer_value(json_object_get(rec, "sentences")),
            json_number_value(json_object_get(rec, "speech_seconds")),
            json_number_value(json_object_get(rec, "duration")),
            json_string_value(json_object_get(rec, "engine")),
            json_number_value(json_object_get(rec, "real_time_factor")),
            json_is_true(json_object_get(rec, "catalogued")) ? "; searchable in the catalogue" : "");
}

const pk_op pk_op_transcribe = {
    .name = "transcribe",
    .summary = "Transcribe speech to subtitles (SRT, WebVTT) or an editable transcript",
    .description = "Decodes FILE (any audio or video), resamples it to 16 kHz mono, finds speech with "
                   "Silero VAD (so silence never produces text) and recognises each speech segment "
                   "with whisper.cpp or PocketSphinx, segments in parallel. Words keep their times "
                   "and confidence; sentences end at punctuation or pauses. Subtitles follow "
                   "professional conventions: --max-chars per line, --max-lines, --min-duration "
                   "to --max-duration on screen, at most --max-cps characters per second, breaks at "
                   "punctuation and pauses, never a cue over a silence of --max-gap. The .txt "
                   "output (one sentence per line) is the transcript to edit for `postkit cut`.",
    .input_name = "FILE",
    .input_kind = "media",
    .min_inputs = 1,
    .max_inputs = 1,
    .params = transcribe_params,
    .run = transcribe_run,
    .print_human = transcribe_print,
    .flags = PK_OP_WRITES,
};
