/*
 * op_declip.c — `postkit declip IN -o OUT`: find clipped runs and rebuild
 * the waveform inside them (least-squares AR interpolation, see
 * audio/internal.h; runs longer than PK_DECLIP_MAX_RUN samples are left as
 * they are and reported).
 *
 * The clip level of each channel and polarity is the largest sample of that
 * polarity, found in a first pass; it counts as clipping only when the file
 * holds at least two flat runs (two or more consecutive samples within
 * 0.00001 dB of it) or one run of three or more, so an unclipped file's
 * single loudest sample is never "repaired". --level forces a level instead.
 * The rebuilt peaks rise above the old clip level; when they would pass full
 * scale, one linear gain for the whole file keeps them under it (reported).
 */
#include "audio/internal.h"

#include <math.h>
#include <string.h>

#define NEAR (1.0 - 1e-6)

typedef struct level_scan {
    int channels;
    double max[PK_LOUDNESS_MAX_CHANNELS][2];   /* [c][0] positive, [c][1] negative magnitude */
    int64_t runs[PK_LOUDNESS_MAX_CHANNELS][2]; /* flat runs at the current maximum */
    int64_t longest[PK_LOUDNESS_MAX_CHANNELS][2];
    int64_t cur[PK_LOUDNESS_MAX_CHANNELS][2];  /* length of the run in progress */
    char names[PK_LOUDNESS_MAX_CHANNELS][16];
    pk_ctx *ctx;
} level_scan;

static pk_status scan_begin(void *user, pk_source *src)
{
    level_scan *s = user;
    const pk_audio_info *a = pk_source_audio(src);
    if (a->channels > PK_LOUDNESS_MAX_CHANNELS)
        return pk_fail(s->ctx, PK_ERR_INPUT, NULL, "%d channels: declip handles up to %d", a->channels,
                       PK_LOUDNESS_MAX_CHANNELS);
    s->channels = a->channels;
    double w[PK_LOUDNESS_MAX_CHANNELS];
    if (pk_channel_weights(s->ctx, a->delivered_layout, a->channels, s->names, w) != PK_OK)
        pk_channel_weights(s->ctx, NULL, a->channels, s->names, w);
    return PK_OK;
}

static void close_run(level_scan *s, int c, int p)
{
    int64_t n = s->cur[c][p];
    if (n >= 2) {
        s->runs[c][p]++;
        if (n > s->longest[c][p])
            s->longest[c][p] = n;
    }
    s->cur[c][p] = 0;
}

static pk_status scan_block(void *user, const pk_audio_block *b)
{
    level_scan *s = user;
    const int C = s->channels;
    for (int i = 0; i < b->frames; i++)
        for (int c = 0; c < C; c++) {
            double v = b->interleaved[i * C + c];
            if (!isfinite(v))
                continue;
            int p = v < 0;
            double a = fabs(v);
            if (a > s->max[c][p] / NEAR) {
                /* A new maximum: the runs counted so far were below it. */
                s->max[c][p] = a;
                s->runs[c][p] = s->longest[c][p] = 0;
                s->cur[c][p] = 1;
                close_run(s, c, !p);
            } else if (a >= s->max[c][p] * NEAR && a > 0) {
                s->cur[c][p]++;
                close_run(s, c, !p);
            } else {
                close_run(s, c, 0);
                close_run(s, c, 1);
            }
        }
    return PK_OK;
}

typedef struct repair {
    pk_run *run;
    pk_ctx *ctx;
    const char *in;
    const double *pos, *neg;
    double gain;
    pk_declip *d;
    pk_output *out;
    pk_audio_sink sink;
    int sink_open;
    const char **tags;
    float *buf;
    int64_t cap;
    int channels;
    double peak;            /* largest |sample| after repair */
} repair;

static pk_status repair_begin(void *user, pk_source *src)
{
    repair *r = user;
    const pk_audio_info *a = pk_source_audio(src);
    r->channels = a->channels;
    if (!(r->d = pk_declip_new(a->channels, r->pos, r->neg)))
        return pk_fail(r->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    if (!r->out)
        return PK_OK;
    if (!(r->tags = pk_source_content_tags(src)))
        return pk_fail(r->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    pk_status st = pk_audio_sink_open(r->run, r->in, a, r->tags, r->out, &r->sink);
    r->sink_open = st == PK_OK;
    return st;
}

static pk_status repair_deliver(repair *r, int64_t frames)
{
    int64_t n = frames * r->channels;
    if (r->gain != 1.0) {
        const float g = (float)r->gain;
        for (int64_t i = 0; i < n; i++)
            r->buf[i] *= g;
    }
    if (!r->out) {
        for (int64_t i = 0; i < n; i++)
            r->peak = fmax(r->peak, fabs(r->buf[i]));
        return PK_OK;
    }
    return pk_audio_sink_write(&r->sink, r->buf, frames);
}

static pk_status repair_grow(repair *r, int64_t frames)
{
    int64_t need = (frames + PK_DECLIP_FRAME) * r->channels;
    if (need <= r->cap)
        return PK_OK;
    float *b = realloc(r->buf, sizeof(float) * (size_t)need);
    if (!b)
        return pk_fail(r->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    r->buf = b;
    r->cap = need;
    return PK_OK;
}

static pk_status repair_block(void *user, const pk_audio_block *b)
{
    repair *r = user;
    pk_status st = repair_grow(r, b->frames);
    if (st != PK_OK)
        return st;
    return repair_deliver(r, pk_declip_process(r->d, b->interleaved, b->frames, r->buf));
}

static pk_status run_repair(repair *r)
{
    pk_status st = pk_audio_pass(r->ctx, r->in, r->out ? "declip" : "analyse", repair_begin, repair_block,
                                 r, NULL);
    if (st == PK_OK && (st = repair_grow(r, 0)) == PK_OK)
        st = repair_deliver(r, pk_declip_flush(r->d, r->buf));
    if (st == PK_OK && r->sink_open) {
        r->sink_open = 0;
        st = pk_audio_sink_close(&r->sink);
    }
    return st;
}

static void repair_free(repair *r)
{
    pk_declip_free(r->d);
    pk_audio_sink_free(&r->sink);
    free(r->buf);
    free(r->tags);
    r->d = NULL;
    r->buf = NULL;
    r->tags = NULL;
    r->cap = 0;
}

static double db(double v)
{
    return v > 0 ? 20 * log10(v) : -INFINITY;
}

static pk_status declip_run(pk_run *run)
{
    pk_ctx *ctx = pk_run_ctx(run);
    const char *in = pk_run_input(run, 0), *out_path = pk_run_str(run, "output");
    level_scan s = {.ctx = ctx};
    pk_status st = pk_audio_pass(ctx, in, "analyse", scan_begin, scan_block, &s, NULL);
    if (st != PK_OK)
        return st;
    for (int c = 0; c < s.channels; c++)
        for (int p = 0; p < 2; p++)
            close_run(&s, c, p);
    double pos[PK_LOUDNESS_MAX_CHANNELS] = {0}, neg[PK_LOUDNESS_MAX_CHANNELS] = {0};
    int forced = pk_run_is_set(run, "level"), clipped = 0;
    json_t *levels = json_array();
    for (int c = 0; c < s.channels; c++) {
        for (int p = 0; p < 2; p++) {
            double lvl = 0;
            if (forced)
                lvl = pow(10, pk_run_float(run, "level") / 20) * NEAR;
            else if (s.runs[c][p] >= 2 || s.longest[c][p] >= 3)
                lvl = s.max[c][p] * NEAR;
            (p ? neg : pos)[c] = lvl;
            clipped |= lvl > 0;
        }
        json_t *o = json_object();
        json_object_set_new(o, "channel", json_string(s.names[c]));
        json_object_set_new(o, "positive_dbfs", pos[c] > 0 ? json_real(pk_round(db(pos[c]), 3)) : json_null());
        json_object_set_new(o, "negative_dbfs", neg[c] > 0 ? json_real(pk_round(db(neg[c]), 3)) : json_null());
        json_array_append_new(levels, o);
    }
    repair r = {.run = run, .ctx = ctx, .in = in, .pos = pos, .neg = neg, .gain = 1.0};
    /* Rebuilt peaks may pass full scale: find the largest first. */
    if (clipped) {
        if ((st = run_repair(&r)) != PK_OK)
            goto done;
        repair_free(&r);
        if (r.peak > 1.0)
            r.gain = 0.9999 / r.peak;
    }
    if ((st = pk_output_open(run, out_path, &r.out)) != PK_OK)
        goto done;
    if ((st = run_repair(&r)) != PK_OK)
        goto done;
    pk_declip_stats ds;
    pk_declip_get_stats(r.d, &ds);
    const pk_declip_run *list = pk_declip_runs(r.d);
    json_t *runs = json_array();
    for (int64_t i = 0; i < ds.listed; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "channel", json_string(s.names[list[i].channel]));
        json_object_set_new(o, "time", json_real(pk_round((double)list[i].start / r.sink.fmt.rate, 5)));
        json_object_set_new(o, "samples", json_integer(list[i].length));
        json_object_set_new(o, "repaired", json_boolean(list[i].repaired));
        json_array_append_new(runs, o);
    }
    json_t *rec = json_object();
    json_object_set_new(rec, "input", pk_json_string(in));
    json_object_set_new(rec, "output", pk_json_string(out_path));
    json_object_set_new(rec, "clip_levels", levels);
    levels = NULL;
    json_object_set_new(rec, "runs", json_integer(ds.runs));
    json_object_set_new(rec, "repaired_runs", json_integer(ds.repaired_runs));
    json_object_set_new(rec, "repaired_samples", json_integer(ds.repaired_samples));
    json_object_set_new(rec, "too_long_runs", json_integer(ds.skipped_runs));
    json_object_set_new(rec, "max_run", json_integer(PK_DECLIP_MAX_RUN));
    json_object_set_new(rec, "method", json_string("least-squares AR interpolation (Janssen), AR order 32"));
    json_object_set_new(rec, "gain_db", json_real(pk_round(db(r.gain), 2)));
    json_object_set_new(rec, "run_list", runs);
    if (ds.runs > ds.listed)
        json_object_set_new(rec, "run_list_truncated", json_true());
    pk_output_note(r.out, "repaired_runs", json_integer(ds.repaired_runs));
    pk_output_note(r.out, "repaired_samples", json_integer(ds.repaired_samples));
    pk_output_note(r.out, "too_long_runs", json_integer(ds.skipped_runs));
    pk_output_note(r.out, "gain_db", json_real(pk_round(db(r.gain), 2)));
    if (r.gain != 1.0)
        pk_log(ctx, PK_LOG_WARNING, "%s: rebuilt peaks reach %+.2f dBFS: the whole file is lowered by %.2f dB "
               "to keep them under full scale", out_path, db(r.peak), -db(r.gain));
    st = pk_output_commit(run, r.out);
    r.out = NULL;
    if (st == PK_OK)
        pk_run_emit(run, rec);
    else
        json_decref(rec);
done:
    json_decref(levels);
    pk_output_abort(run, r.out);
    repair_free(&r);
    return st;
}

static void declip_print(const json_t *rec, FILE *out)
{
    fprintf(out, "%s -> %s\n", json_string_value(json_object_get(rec, "input")),
            json_string_value(json_object_get(rec, "output")));
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(rec, "clip_levels"), i, v)
    {
        char pt[32] = "none", nt[32] = "none";
        const json_t *p = json_object_get(v, "positive_dbfs"), *n = json_object_get(v, "negative_dbfs");
        if (json_is_number(p))
            snprintf(pt, sizeof pt, "+ at %.2f dBFS", json_number_value(p));
        if (json_is_number(n))
            snprintf(nt, sizeof nt, "- at %.2f dBFS", json_number_value(n));
        fprintf(out, "  %-4s clipping    %s, %s\n", json_string_value(json_object_get(v, "channel")), pt, nt);
    }
    fprintf(out, "  runs             %lld found, %lld repaired (%lld samples), %lld longer than %lld samples left\n",
            (long long)json_integer_value(json_object_get(rec, "runs")),
            (long long)json_integer_value(json_object_get(rec, "repaired_runs")),
            (long long)json_integer_value(json_object_get(rec, "repaired_samples")),
            (long long)json_integer_value(json_object_get(rec, "too_long_runs")),
            (long long)json_integer_value(json_object_get(rec, "max_run")));
    double g = json_number_value(json_object_get(rec, "gain_db"));
    if (g != 0)
        fprintf(out, "  gain             %.2f dB (rebuilt peaks kept under full scale)\n", g);
    json_array_foreach(json_object_get(rec, "run_list"), i, v)
    {
        if (i == 10) {
            fprintf(out, "  ... (all runs in --json)\n");
            break;
        }
        fprintf(out, "  run at %10.5f s  %-4s %4lld samples  %s\n", json_number_value(json_object_get(v, "time")),
                json_string_value(json_object_get(v, "channel")),
                (long long)json_integer_value(json_object_get(v, "samples")),
                json_is_true(json_object_get(v, "repaired")) ? "repaired" : "too long: left");
    }
}

static const pk_param_spec declip_params[] = {
    {.name = "output", .short_opt = 'o', .type = PK_PARAM_PATH_OUT, .metavar = "OUT",
     .help = "the file to write (.wav/.flac, or the input's container)", .flags = PK_PARAM_REQUIRED},
    {.name = "level", .type = PK_PARAM_FLOAT, .min = -40, .max = 0, .unit = "dBFS",
     .help = "clip level of every channel (default: found per channel and polarity)"},
    {.name = NULL},
};

const pk_op pk_op_declip = {
    .name = "declip",
    .summary = "Repair clipped audio by rebuilding the clipped runs",
    .description =
        "Finds runs of two or more samples stuck at a channel's clip level and rebuilds them by "
        "least-squares autoregressive interpolation from the audio around them (runs up to 400 "
        "samples, about 8 ms at 48 kHz; longer ones are reported and left). Every run is listed in "
        "--json. Keeps sample rate, layout and bit depth; if the rebuilt peaks would pass full scale, "
        "one gain lowers the whole file and says so.",
    .input_name = "FILE",
    .input_kind = "media",
    .min_inputs = 1,
    .max_inputs = 1,
    .params = declip_params,
    .run = declip_run,
    .print_human = declip_print,
    .flags = PK_OP_WRITES,
};
