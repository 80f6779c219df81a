/*
 * op_loudness.c — `postkit loudness FILE...`: BS.1770-4 / EBU R128
 * measurement of audio files and of the audio of video files.
 *
 * One decode pass per file feeds the meter (include/postkit/audio.h). Files
 * are measured in parallel, one per core; a single file uses the second core
 * for its true-peak detection instead. With --album the files' gating
 * blocks are pooled into one programme. --plot draws momentary and
 * short-term loudness over time (every file, one after the other) with the
 * target band; the timeline keeps at most 2400 points per file, so memory
 * does not grow with duration.
 */
#include "audio/internal.h"

#include <math.h>
#include <string.h>

#define PLOT_POINTS 2400

typedef struct file_result {
    pk_status status;
    char error[1024];
    pk_loudness *meter;
    pk_audio_info info;
    int64_t decode_errors;
    pk_timeline *timeline;
} file_result;

typedef struct job {
    pk_run *run;
    int threads;        /* per meter */
    int plot;
    double target;
    const char *target_name;
    pk_loudness **album;
    size_t nalbum;
    pk_timeline *timeline;  /* the plot's, all files in sequence */
    double offset;          /* where the next file starts on it */
    double last_integrated;
} job;

typedef struct pass_state {
    pk_ctx *ctx;
    file_result *r;
    int threads;
} pass_state;

static void on_update(void *user, double t, double m, double s)
{
    pk_timeline_add(user, t, m, s);
}

static pk_status begin(void *user, pk_source *src)
{
    pass_state *p = user;
    const pk_audio_info *a = pk_source_audio(src);
    p->r->info = *a;
    p->r->info.codec = NULL;
    return pk_audio_meter_for(p->ctx, a, p->threads, p->r->timeline ? on_update : NULL,
                              p->r->timeline, &p->r->meter);
}

static pk_status block(void *user, const pk_audio_block *b)
{
    pass_state *p = user;
    return pk_loudness_add(p->r->meter, b->interleaved, b->frames);
}

static void *measure_work(pk_ctx *wctx, size_t i, void *user)
{
    job *j = user;
    file_result *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (j->plot && !(r->timeline = pk_timeline_new(PLOT_POINTS))) {
        free(r);
        return NULL;
    }
    pass_state p = {.ctx = wctx, .r = r, .threads = j->threads};
    const char *path = pk_run_input(j->run, i);
    r->status = pk_audio_pass(wctx, path, NULL, begin, block, &p, &r->decode_errors);
    if (r->status == PK_OK)
        pk_loudness_finish(r->meter, NULL);
    else
        snprintf(r->error, sizeof r->error, "%s", pk_ctx_errmsg(wctx));
    return r;
}

static void free_result(file_result *r)
{
    if (!r)
        return;
    pk_loudness_free(r->meter);
    pk_timeline_free(r->timeline);
    free(r);
}

static void measure_emit(size_t i, void *result, void *user)
{
    job *j = user;
    file_result *r = result;
    pk_ctx *ctx = pk_run_ctx(j->run);
    const char *path = pk_run_input(j->run, i);
    pk_progress_update(ctx, (double)(i + 1));
    if (!r) {
        pk_run_file_failed(j->run, path, pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory"));
        return;
    }
    if (r->status != PK_OK) {
        pk_fail(ctx, r->status, NULL, "%s", r->error);
        pk_run_file_failed(j->run, path, r->status);
        free_result(r);
        return;
    }
    json_t *rec;
    pk_loudness_json(r->meter, &rec);
    json_object_set_new(rec, "path", pk_json_string(path));
    json_object_set_new(rec, "channel_layout", json_string(r->info.delivered_layout));
    if (r->decode_errors)
        json_object_set_new(rec, "decode_errors", json_integer(r->decode_errors));
    if (j->target_name) {
        json_object_set_new(rec, "target", json_real(j->target));
        pk_loudness_result lr;
        pk_loudness_finish(r->meter, &lr);
        json_object_set_new(rec, "deviation", pk_audio_figure(lr.integrated - j->target));
    }
    pk_run_emit(j->run, rec);

    if (j->timeline) {
        const char *base = strrchr(path, '/');
        pk_timeline_mark(j->timeline, j->offset, base ? base + 1 : path);
        /* Re-add this file's (bounded) points on the common time axis. */
        pk_loudness_result lr;
        pk_loudness_finish(r->meter, &lr);
        pk_timeline_append(j->timeline, r->timeline, j->offset);
        j->offset += lr.duration;
        j->last_integrated = lr.integrated;
    }
    if (j->album) {
        j->album[j->nalbum++] = r->meter;
        r->meter = NULL;
    }
    free_result(r);
}

static pk_status loudness_run(pk_run *run)
{
    pk_ctx *ctx = pk_run_ctx(run);
    size_t n = pk_run_input_count(run);
    job j = {.run = run, .threads = n == 1 ? 0 : 1, .last_integrated = NAN};
    const char *plot = pk_run_str(run, "plot");
    const char *target = pk_run_str(run, "target");
    double tp;
    j.target = -23;
    if (target) {
        pk_status st = pk_loudness_target(ctx, target, 2, &j.target, &tp, &j.target_name);
        if (st != PK_OK)
            return st;
    }
    pk_status st = PK_OK;
    if (plot) {
        j.plot = 1;
        if (!(j.timeline = pk_timeline_new(PLOT_POINTS * 4)))
            return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    if (pk_run_bool(run, "album") && !(j.album = calloc(n, sizeof *j.album))) {
        pk_timeline_free(j.timeline);
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    pk_progress_begin(ctx, "loudness", (double)n, "files");
    st = pk_parallel_ordered(ctx, n, measure_work, measure_emit, &j);
    pk_progress_end(ctx);

    double album_i = NAN;
    if (st == PK_OK && j.album && j.nalbum > 0) {
        double lra;
        pk_loudness_album(ctx, j.album, j.nalbum, &album_i, &lra);
        json_t *rec = json_object();
        json_object_set_new(rec, "album", json_true());
        json_object_set_new(rec, "files", json_integer((json_int_t)j.nalbum));
        json_object_set_new(rec, "integrated", pk_audio_figure(album_i));
        json_object_set_new(rec, "loudness_range", pk_audio_figure(lra));
        if (j.target_name) {
            json_object_set_new(rec, "target", json_real(j.target));
            json_object_set_new(rec, "deviation", pk_audio_figure(album_i - j.target));
        }
        pk_run_emit(run, rec);
    }
    if (st == PK_OK && j.timeline) {
        double integrated = album_i;
        if (!j.album && n == 1)
            integrated = j.last_integrated;
        st = pk_plot_loudness(run, plot, j.timeline, j.target, integrated,
                              n == 1 ? pk_run_input(run, 0) : "Loudness over time");
    }
    for (size_t i = 0; i < j.nalbum; i++)
        pk_loudness_free(j.album[i]);
    free(j.album);
    pk_timeline_free(j.timeline);
    return st;
}

/* ---- human view ---------------------------------------------------------- */

static double num(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void clock_text(double s, char *buf, size_t n)
{
    if (!isfinite(s))
        snprintf(buf, n, "-");
    else if (s >= 3600)
        snprintf(buf, n, "%d:%02d:%04.1f", (int)(s / 3600), (int)fmod(s / 60, 60), fmod(s, 60));
    else
        snprintf(buf, n, "%d:%04.1f", (int)(s / 60), fmod(s, 60));
}

static void figure_text(double v, const char *unit, char *buf, size_t n)
{
    if (isnan(v))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%.1f %s", v, unit);
}

static void loudness_print(const json_t *rec, FILE *out)
{
    char a[64], b[64], c[64];
    if (json_is_true(json_object_get(rec, "album"))) {
        figure_text(num(rec, "integrated"), "LUFS", a, sizeof a);
        figure_text(num(rec, "loudness_range"), "LU", b, sizeof b);
        fprintf(out, "album (%lld files)\n  integrated      %s\n  loudness range  %s\n",
                (long long)json_integer_value(json_object_get(rec, "files")), a, b);
        if (json_object_get(rec, "deviation"))
            fprintf(out, "  vs target       %+.1f LU (target %.1f LUFS)\n", num(rec, "deviation"),
                    num(rec, "target"));
        return;
    }
    fprintf(out, "%s  (%lld Hz, %s)\n", json_string_value(json_object_get(rec, "path")),
            (long long)json_integer_value(json_object_get(rec, "sample_rate")),
            json_string_value(json_object_get(rec, "channel_layout")));
    double integ = num(rec, "integrated");
    const json_t *notes = json_object_get(rec, "notes");
    if (isnan(integ) && json_array_size(notes) > 0)
        snprintf(a, sizeof a, "- (see notes)");
    else
        figure_text(integ, "LUFS", a, sizeof a);
    figure_text(num(rec, "relative_gate"), "LUFS", b, sizeof b);
    fprintf(out, "  integrated      %-14s (relative gate %s)\n", a, b);
    if (json_object_get(rec, "deviation") && isfinite(num(rec, "deviation")))
        fprintf(out, "  vs target       %+.1f LU (target %.1f LUFS)\n", num(rec, "deviation"),
                num(rec, "target"));
    figure_text(num(rec, "loudness_range"), "LU", a, sizeof a);
    fprintf(out, "  loudness range  %-14s", a);
    if (isfinite(num(rec, "range_low")))
        fprintf(out, " (%.1f .. %.1f LUFS)", num(rec, "range_low"), num(rec, "range_high"));
    fputc('\n', out);
    figure_text(num(rec, "max_momentary"), "LUFS", a, sizeof a);
    clock_text(num(rec, "max_momentary_time"), b, sizeof b);
    fprintf(out, "  max momentary   %-14s at %s\n", a, b);
    figure_text(num(rec, "max_short_term"), "LUFS", a, sizeof a);
    clock_text(num(rec, "max_short_term_time"), b, sizeof b);
    fprintf(out, "  max short-term  %-14s at %s\n", a, b);
    figure_text(num(rec, "true_peak"), "dBTP", a, sizeof a);
    figure_text(num(rec, "sample_peak"), "dBFS", b, sizeof b);
    fprintf(out, "  true peak       %-14s (sample peak %s)\n", a, b);
    size_t i;
    const json_t *ch;
    fprintf(out, "  channels       ");
    json_array_foreach(json_object_get(rec, "channels"), i, ch)
    {
        figure_text(num(ch, "true_peak"), "dBTP", c, sizeof c);
        fprintf(out, "%s %s %s", i ? "," : "", json_string_value(json_object_get(ch, "name")), c);
        if (num(ch, "weight") == 0)
            fprintf(out, " (not weighed)");
    }
    fputc('\n', out);
    const json_t *clip = json_object_get(rec, "clipping");
    json_int_t runs = json_integer_value(json_object_get(clip, "runs"));
    if (runs == 0) {
        fprintf(out, "  clipping        none\n");
    } else {
        const json_t *first = json_array_get(json_object_get(clip, "list"), 0);
        clock_text(num(first, "time"), a, sizeof a);
        fprintf(out, "  clipping        %lld runs, %lld samples, longest %lld (first at %s, %s)\n",
                (long long)runs, (long long)json_integer_value(json_object_get(clip, "samples")),
                (long long)json_integer_value(json_object_get(clip, "longest_run")), a,
                json_string_value(json_object_get(first, "channel")));
    }
    const json_t *nf = json_object_get(rec, "non_finite");
    if (nf)
        fprintf(out, "  NaN/Inf         %lld NaN, %lld Inf, first at %.3f s (measured as silence)\n",
                (long long)json_integer_value(json_object_get(nf, "nan")),
                (long long)json_integer_value(json_object_get(nf, "inf")), num(nf, "first_time"));
    const json_t *note;
    json_array_foreach(notes, i, note) fprintf(out, "  note            %s\n", json_string_value(note));
}

static const pk_param_spec loudness_params[] = {
    {.name = "album", .type = PK_PARAM_BOOL, .defval = "no",
     .help = "also measure the files as one programme (their gating blocks pooled)"},
    {.name = "plot", .type = PK_PARAM_PATH_OUT, .metavar = "FILE.svg|FILE.png",
     .help = "draw momentary and short-term loudness over time with the target band"},
    {.name = "target", .type = PK_PARAM_STRING, .metavar = "PRESET|LUFS",
     .help = "show the deviation from ebu-r128 (-23), atsc-a85 (-24), streaming (-14), podcast (-16) "
             "or a loudness in LUFS; also the plot's band (default -23)"},
    {.name = NULL},
};

const pk_op pk_op_loudness = {
    .name = "loudness",
    .summary = "Measure loudness (EBU R128 / ITU-R BS.1770-4), true peak and clipping",
    .description =
        "Per file: integrated loudness with BS.1770-4 gating, loudness range (EBU Tech 3342), maximum "
        "momentary (400 ms) and short-term (3 s) loudness found to the millisecond, sample and true "
        "peak (4x oversampling) per channel, runs of clipped samples and NaN/Inf samples. Channel "
        "weights follow BS.1770-4 (surrounds 1.41, LFE excluded, 7.1 back pair 1.0). Works on the "
        "audio of video files too. Conformance: EBU Tech 3341 and 3342 test cases in `make test`.",
    .input_name = "FILE",
    .input_kind = "media",
    .min_inputs = 1,
    .max_inputs = -1,
    .params = loudness_params,
    .run = loudness_run,
    .print_human = loudness_print,
    .flags = PK_OP_WRITES,
};
