/*
 * op_vad.c — `postkit vad IN [--json]`: where people speak in a media file.
 *
 * One source (audio only, resampled by FFmpeg to 16 kHz mono), one streaming
 * detector. The record lists the speech segments in seconds; the human view
 * prints one "start --> end" line per segment.
 */
#include "speech/internal.h"

#include <math.h>
#include <string.h>

#include <postkit/media.h>

typedef struct vad_collect {
    json_t *segments;
    double speech;
} vad_collect;

static void collect(void *user, const pk_vad_segment *seg)
{
    vad_collect *c = user;
    double s = (double)seg->start / PK_VAD_RATE, e = (double)seg->end / PK_VAD_RATE;
    json_t *o = json_object();
    json_object_set_new(o, "start", json_real(pk_round(s, 3)));
    json_object_set_new(o, "end", json_real(pk_round(e, 3)));
    json_array_append_new(c->segments, o);
    c->speech += e - s;
}

/* The VAD options from the parameters every speech operation shares. */
void pk_speech_vad_options(pk_run *run, pk_vad_options *o)
{
    pk_vad_options_init(o);
    o->threshold = (float)pk_run_float(run, "threshold");
    o->min_speech = pk_run_float(run, "min-speech");
    o->min_silence = pk_run_float(run, "min-silence");
    o->pad = pk_run_float(run, "speech-pad");
}

pk_status pk_speech_vad_file(pk_run *run, const char *path, pk_model *model, const pk_vad_options *o,
                          json_t **segments_out, double *duration, double *speech)
{
    pk_ctx *ctx = pk_run_ctx(run);
    pk_source *src;
    pk_status st = pk_speech_source_open(ctx, path, &src);
    if (st != PK_OK)
        return st;
    pk_vad *vad;
    if ((st = pk_vad_new(ctx, model, o, &vad)) != PK_OK) {
        pk_source_free(src);
        return st;
    }
    vad_collect c = {.segments = json_array(), .speech = 0};
    pk_progress_begin(ctx, "vad", pk_source_audio(src)->duration, "s");
    pk_item it;
    while ((st = pk_source_next(src, &it)) == PK_OK && it.type != PK_ITEM_END) {
        if (it.type != PK_ITEM_AUDIO)
            continue;
        if ((st = pk_vad_feed(vad, it.audio->interleaved, (size_t)it.audio->frames, collect, &c)) != PK_OK)
            break;
        pk_progress_update(ctx, it.audio->time);
    }
    pk_progress_end(ctx);
    if (st == PK_OK)
        st = pk_vad_finish(vad, collect, &c);
    *duration = (double)pk_vad_position(vad) / PK_VAD_RATE;
    *speech = c.speech;
    pk_vad_free(vad);
    pk_source_free(src);
    if (st != PK_OK) {
        json_decref(c.segments);
        return st;
    }
    *segments_out = c.segments;
    return PK_OK;
}

static pk_status vad_run(pk_run *run)
{
    pk_vad_options o;
    pk_speech_vad_options(run, &o);
    pk_model *model;
    pk_status st = pk_run_open_model(run, "silero-vad", &model);
    if (st != PK_OK)
        return st;
    for (size_t i = 0; i < pk_run_input_count(run); i++) {
        const char *path = pk_run_input(run, i);
        json_t *segments = NULL;
        double duration = 0, speech = 0;
        st = pk_speech_vad_file(run, path, model, &o, &segments, &duration, &speech);
        if (st == PK_ERR_INTERRUPTED || st == PK_ERR_INTERNAL || st == PK_ERR_USAGE)
            break;
        if (st != PK_OK) {
            pk_run_file_failed(run, path, st);
            st = PK_OK;
            continue;
        }
        json_t *rec = json_object();
        json_object_set_new(rec, "input", pk_json_string(path));
        json_object_set_new(rec, "duration", json_real(pk_round(duration, 3)));
        json_object_set_new(rec, "speech_seconds", json_real(pk_round(speech, 3)));
        json_object_set_new(rec, "model", json_string(pk_model_id(model)));
        json_object_set_new(rec, "model_sha256", json_string(pk_model_sha256(model)));
        json_object_set_new(rec, "segments", segments);
        pk_run_emit(run, rec);
    }
    pk_model_free(model);
    return st;
}

static void fmt_time(double t, char *buf, size_t size)
{
    long long ms = llround(t * 1000);
    snprintf(buf, size, "%02lld:%02lld:%02lld.%03lld", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60,
             ms % 1000);
}

static void vad_print(const json_t *rec, FILE *out)
{
    const json_t *segs = json_object_get(rec, "segments");
    fprintf(out, "%s: %zu speech segments, %.1f s of speech in %.1f s\n",
            json_string_value(json_object_get(rec, "input")), json_array_size(segs),
            json_real_value(json_object_get(rec, "speech_seconds")),
            json_real_value(json_object_get(rec, "duration")));
    size_t i;
    const json_t *s;
    json_array_foreach(segs, i, s)
    {
        char a[32], b[32];
        fmt_time(json_real_value(json_object_get(s, "start")), a, sizeof a);
        fmt_time(json_real_value(json_object_get(s, "end")), b, sizeof b);
        fprintf(out, "  %s --> %s\n", a, b);
    }
}

static const pk_param_spec vad_params[] = {
    PK_SPEECH_VAD_PARAMS,
    {.name = NULL},
};

const pk_op pk_op_vad = {
    .name = "vad",
    .summary = "Find where people speak (Silero VAD)",
    .description = "Decodes the audio of each FILE, resamples it to 16 kHz mono and runs Silero VAD "
                   "(model silero-vad; `postkit models install` puts it in place) on 32 ms chunks. "
                   "Speech starts where the probability reaches --threshold and ends after "
                   "--min-silence below threshold - 0.15; segments shorter than --min-speech are "
                   "dropped and each is widened by --speech-pad. Times are seconds from the start "
                   "of the audio.",
    .input_name = "FILE",
    .input_kind = "media",
    .min_inputs = 1,
    .max_inputs = -1,
    .params = vad_params,
    .run = vad_run,
    .print_human = vad_print,
};
