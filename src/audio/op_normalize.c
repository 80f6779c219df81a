/*
 * op_normalize.c — `postkit normalize IN -o OUT --target PRESET|LUFS`:
 * bring a file (or, with --album, a set of files) to a delivery loudness.
 *
 * Predictable by design:
 *  - The default is one linear gain for the whole file: dynamics untouched.
 *  - Only when that gain would push the true peak over the limit does the
 *    look-ahead true-peak limiter run (5 ms look-ahead/attack, 200 ms
 *    release, linked channels; see audio/internal.h), and the output, the
 *    record and the provenance say so, with how much and how often it acted.
 *    --limiter never lowers the gain instead (the target is then missed,
 *    and said so).
 *  - When the limiter runs it takes away some loudness; the gain is refined
 *    by measuring the limited stream (up to three passes) so the result
 *    still lands on the target.
 *  - The written file is decoded and measured again; the record shows the
 *    figures before and after. A lossy codec can overshoot the true peak:
 *    then the file is written again with a lower ceiling.
 *  - Sample rate, channel layout and bit depth are kept (16-bit output is
 *    TPDF-dithered), content tags too; a video file is remuxed with its
 *    video copied untouched and its audio re-encoded with the same codec.
 * Silence (below the -70 LUFS gate) and files shorter than 0.4 s are
 * refused with exit code 3: there is no loudness to normalise from.
 */
#include "audio/internal.h"

#include <math.h>
#include <string.h>
#include <sys/stat.h>

#define LINEAR_TOLERANCE 0.2   /* LU, the accepted error with linear gain */
#define LIMITED_TOLERANCE 0.5  /* LU, with the limiter */
#define CEILING_MARGIN 0.1     /* dB the limiter aims under the limit */

typedef struct plan {
    double gain_db;
    int limit;              /* run the limiter */
    double ceiling;         /* dBTP */
} plan;

typedef struct pass {
    pk_run *run;
    pk_ctx *ctx;
    const char *in;
    const plan *p;
    pk_output *out;         /* NULL: measure only */
    pk_audio_sink sink;
    int sink_open;
    pk_loudness *meter;     /* of the processed stream, when measuring */
    pk_limiter *lim;
    pk_limiter_stats lstats;
    float *buf;
    int64_t cap;
    int channels;
    double gain;
    const char **tags;
} pass;

static pk_status pass_begin(void *user, pk_source *src)
{
    pass *s = user;
    const pk_audio_info *a = pk_source_audio(src);
    s->channels = a->channels;
    s->gain = pow(10, s->p->gain_db / 20);
    pk_status st;
    if (!s->out && (st = pk_audio_meter_for(s->ctx, a, 0, NULL, NULL, &s->meter)) != PK_OK)
        return st;
    if (s->p->limit) {
        s->lim = pk_limiter_new(a->rate, a->channels, s->p->ceiling, PK_LIMITER_LOOKAHEAD_MS,
                                PK_LIMITER_RELEASE_MS);
        if (!s->lim)
            return pk_fail(s->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    if (s->out) {
        if (!(s->tags = pk_source_content_tags(src)))
            return pk_fail(s->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        if ((st = pk_audio_sink_open(s->run, s->in, a, s->tags, s->out, &s->sink)) != PK_OK)
            return st;
        s->sink_open = 1;
    }
    return PK_OK;
}

static pk_status deliver(pass *s, const float *x, int64_t frames)
{
    if (frames <= 0)
        return PK_OK;
    if (s->meter)
        return pk_loudness_add(s->meter, x, frames);
    return pk_audio_sink_write(&s->sink, x, frames);
}

static pk_status grow(pass *s, int64_t frames)
{
    if (frames * s->channels <= s->cap)
        return PK_OK;
    float *b = realloc(s->buf, sizeof(float) * (size_t)(frames * s->channels));
    if (!b)
        return pk_fail(s->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    s->buf = b;
    s->cap = frames * s->channels;
    return PK_OK;
}

static pk_status pass_block(void *user, const pk_audio_block *b)
{
    pass *s = user;
    pk_status st = grow(s, b->frames);
    if (st != PK_OK)
        return st;
    int64_t n = (int64_t)b->frames * s->channels;
    const float g = (float)s->gain;
    for (int64_t i = 0; i < n; i++)
        s->buf[i] = b->interleaved[i] * g;
    int64_t frames = b->frames;
    if (s->lim && (frames = pk_limiter_process(s->lim, s->buf, frames, s->buf)) < 0)
        return pk_fail(s->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    return deliver(s, s->buf, frames);
}

static pk_status pass_end(pass *s)
{
    pk_status st = PK_OK;
    if (s->lim) {
        if ((st = grow(s, pk_limiter_latency(s->lim))) != PK_OK)
            return st;
        int64_t n = pk_limiter_flush(s->lim, s->buf);
        if (n < 0)
            return pk_fail(s->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        if ((st = deliver(s, s->buf, n)) != PK_OK)
            return st;
        pk_limiter_get_stats(s->lim, &s->lstats);
    }
    if (s->meter)
        pk_loudness_finish(s->meter, NULL);
    if (s->sink_open) {
        st = pk_audio_sink_close(&s->sink);
        s->sink_open = 0;
    }
    return st;
}

static void pass_free(pass *s)
{
    pk_audio_sink_free(&s->sink);
    pk_limiter_free(s->lim);
    pk_loudness_free(s->meter);
    free(s->buf);
    free(s->tags);
}

/* Decode `in`, apply the plan; write to `out` or (out == NULL) measure the
 * result into *measured. */
static pk_status run_pass(pk_run *run, const char *in, const plan *p, pk_output *out,
                          pk_loudness_result *measured, pk_limiter_stats *lstats, pk_audio_format *fmt,
                          int *remuxed)
{
    pass s = {.run = run, .ctx = pk_run_ctx(run), .in = in, .p = p, .out = out};
    pk_status st = pk_audio_pass(s.ctx, in, out ? "normalize" : NULL, pass_begin, pass_block, &s, NULL);
    if (st == PK_OK)
        st = pass_end(&s);
    if (st == PK_OK && measured)
        pk_loudness_finish(s.meter, measured);
    if (lstats)
        *lstats = s.lstats;
    if (fmt)
        *fmt = s.sink.fmt;
    if (remuxed)
        *remuxed = s.sink.remuxed;
    pass_free(&s);
    return st;
}

static json_t *figures(const pk_loudness_result *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "integrated", pk_audio_figure(r->integrated));
    json_object_set_new(o, "true_peak", pk_audio_figure(r->true_peak));
    json_object_set_new(o, "sample_peak", pk_audio_figure(r->sample_peak));
    json_object_set_new(o, "loudness_range", pk_audio_figure(r->range));
    json_object_set_new(o, "max_short_term", pk_audio_figure(r->max_short_term));
    return o;
}

static json_t *limiter_json(const pk_limiter_stats *l, double rate)
{
    json_t *o = json_object();
    json_object_set_new(o, "ceiling_dbtp", json_real(pk_round(l->ceiling_dbtp, 2)));
    json_object_set_new(o, "lookahead_ms", json_real(l->lookahead_ms));
    json_object_set_new(o, "attack_ms", json_real(l->lookahead_ms));
    json_object_set_new(o, "release_ms", json_real(l->release_ms));
    json_object_set_new(o, "events", json_integer(l->events));
    json_object_set_new(o, "limited_seconds", json_real(pk_round((double)l->limited_frames / rate, 3)));
    json_object_set_new(o, "max_reduction_db", json_real(pk_round(l->max_reduction_db, 2)));
    return o;
}

typedef struct target {
    double lufs, tp;
    const char *preset;
    int never_limit;
} target;

/* Refuse what cannot be normalised: silence, too short. */
static pk_status check_measurable(pk_ctx *ctx, const char *path, const pk_loudness_result *r)
{
    if (isnan(r->integrated))
        return pk_fail(ctx, PK_ERR_INPUT, path,
                       "too short to measure loudness (%.2f s; BS.1770 needs at least 0.4 s): not normalised",
                       r->duration);
    if (isinf(r->integrated))
        return pk_fail(ctx, PK_ERR_INPUT, path,
                       "loudness is below the -70 LUFS gate (digital silence?): refusing to apply an "
                       "unbounded gain");
    return PK_OK;
}

/* Normalise one file with `gain_db` so that it lands on `want` LUFS (NAN for
 * a silent member of an album: the album's gain is applied as it is). */
static pk_status normalize_file(pk_run *run, const char *in, const char *out_path, const target *t,
                                double want, double gain_db, const pk_loudness_result *before, int album)
{
    pk_ctx *ctx = pk_run_ctx(run);
    plan p = {.gain_db = gain_db, .ceiling = t->tp - CEILING_MARGIN};
    double linear_tp = before->true_peak + p.gain_db;
    int lowered = 0;
    if (linear_tp > t->tp - 0.01) {
        if (t->never_limit) {
            /* Keep it linear: the gain stops where the peak meets the limit. */
            p.gain_db -= linear_tp - (t->tp - 0.01);
            lowered = 1;
        } else {
            p.limit = 1;
        }
    }
    pk_status st;
    pk_loudness_result got;
    /* With the limiter, refine the gain on the limited stream. */
    for (int i = 0; p.limit && i < 3; i++) {
        if ((st = run_pass(run, in, &p, NULL, &got, NULL, NULL, NULL)) != PK_OK)
            return st;
        double miss = want - got.integrated;
        if (!isfinite(miss) || fabs(miss) <= 0.05)
            break;
        p.gain_db += miss;
    }
    pk_output *out;
    if ((st = pk_output_open(run, out_path, &out)) != PK_OK)
        return st;
    /* An album member's gain depends on every member: its record lists them
     * all; otherwise a file depends on itself only. */
    if (!album)
        pk_output_add_input(out, in);
    pk_loudness_result after = {0};
    pk_limiter_stats ls = {0};
    pk_audio_format fmt = {0};
    int remuxed = 0, writes = 0;
    for (;;) {
        writes++;
        if ((st = run_pass(run, in, &p, out, NULL, &ls, &fmt, &remuxed)) != PK_OK)
            goto fail;
        /* The honest figure: decode what was written and measure it. */
        pk_loudness *m;
        if ((st = pk_audio_measure(ctx, pk_output_tmp_path(out), 0, &m, NULL)) != PK_OK)
            goto fail;
        pk_loudness_finish(m, &after);
        pk_loudness_free(m);
        if (writes >= 3)
            break;
        if (after.true_peak > t->tp && !t->never_limit) {
            /* A lossy encoder overshot: aim lower. */
            p.limit = 1;
            p.ceiling -= after.true_peak - t->tp + CEILING_MARGIN;
            continue;
        }
        double miss = want - after.integrated;
        if (!lowered && isfinite(miss) && fabs(miss) > (p.limit ? 0.1 : LINEAR_TOLERANCE / 2)) {
            p.gain_db += miss;
            continue;
        }
        break;
    }
    double tol = p.limit ? LIMITED_TOLERANCE : LINEAR_TOLERANCE;
    int ok = (isnan(want) || fabs(after.integrated - want) <= tol) && !(after.true_peak > t->tp + 1e-9);
    if (p.limit)
        pk_log(ctx, PK_LOG_WARNING,
               "%s: LIMITER ENGAGED: a linear gain of %+.1f dB would put the true peak at %+.1f dBTP "
               "(limit %.1f); the look-ahead limiter acted in %lld stretches, by up to %.1f dB, over %.2f s",
               in, gain_db, linear_tp, t->tp, (long long)ls.events,
               ls.max_reduction_db, (double)ls.limited_frames / before->rate);
    if (lowered)
        pk_log(ctx, PK_LOG_WARNING,
               "%s: --limiter never: gain lowered to %+.1f dB to keep the true peak under %.1f dBTP; "
               "the target %.1f LUFS is NOT reached", in, p.gain_db, t->tp, want);
    if (!ok)
        pk_log(ctx, PK_LOG_WARNING, "%s: result %.1f LUFS / %.1f dBTP is outside the tolerance of the "
               "target %.1f LUFS (+-%.1f LU) / %.1f dBTP", out_path, after.integrated, after.true_peak,
               want, tol, t->tp);

    pk_output_note(out, "gain_db", json_real(pk_round(p.gain_db, 3)));
    pk_output_note(out, "mode", json_string(p.limit ? "linear gain + true-peak limiter" : "linear gain"));
    if (p.limit)
        pk_output_note(out, "limiter", limiter_json(&ls, before->rate));
    pk_output_note(out, "before", figures(before));
    pk_output_note(out, "after", figures(&after));
    pk_output_note(out, "target_lufs", pk_audio_figure(want));
    pk_output_note(out, "true_peak_limit", json_real(t->tp));

    json_t *rec = json_object();
    json_object_set_new(rec, "input", pk_json_string(in));
    json_object_set_new(rec, "output", pk_json_string(out_path));
    json_object_set_new(rec, "preset", json_string(t->preset));
    json_object_set_new(rec, "target", pk_audio_figure(want));
    json_object_set_new(rec, "true_peak_limit", json_real(t->tp));
    if (album)
        json_object_set_new(rec, "album_target", json_real(t->lufs));
    json_object_set_new(rec, "gain_db", json_real(pk_round(p.gain_db, 2)));
    json_object_set_new(rec, "mode", json_string(p.limit ? "limited" : "linear"));
    json_object_set_new(rec, "limiter_engaged", json_boolean(p.limit));
    if (p.limit) {
        json_object_set_new(rec, "limiter", limiter_json(&ls, before->rate));
        json_object_set_new(rec, "linear_true_peak", pk_audio_figure(linear_tp));
    }
    if (lowered)
        json_object_set_new(rec, "target_missed", json_string("--limiter never: gain lowered to fit the true-peak limit"));
    json_object_set_new(rec, "before", figures(before));
    json_object_set_new(rec, "after", figures(&after));
    json_object_set_new(rec, "within_tolerance", json_boolean(ok));
    json_object_set_new(rec, "tolerance_lu", json_real(tol));
    json_object_set_new(rec, "remuxed", json_boolean(remuxed));
    json_object_set_new(rec, "sample_rate", json_integer(fmt.rate));
    json_object_set_new(rec, "channels", json_integer(fmt.channels));
    pk_json_set_str(rec, "channel_layout", fmt.layout);
    if (!remuxed)
        json_object_set_new(rec, "bits", json_integer(fmt.bits));
    json_object_set_new(rec, "writes", json_integer(writes));
    st = pk_output_commit(run, out);
    if (st == PK_OK)
        pk_run_emit(run, rec);
    else
        json_decref(rec);
    return st;
fail:
    pk_output_abort(run, out);
    return st;
}

/* Output path for input i: -o itself for one input; DIR/BASENAME for many. */
static char *output_for(pk_run *run, size_t i)
{
    const char *o = pk_run_str(run, "output");
    if (pk_run_input_count(run) == 1)
        return strdup(o);
    const char *in = pk_run_input(run, i), *base = strrchr(in, '/');
    base = base ? base + 1 : in;
    size_t len = strlen(o) + strlen(base) + 2;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s/%s", o, base);
    return p;
}

static pk_status normalize_run(pk_run *run)
{
    pk_ctx *ctx = pk_run_ctx(run);
    size_t n = pk_run_input_count(run);
    int album = pk_run_bool(run, "album");
    if (n > 1) {
        struct stat sb;
        const char *o = pk_run_str(run, "output");
        if (stat(o, &sb) != 0 || !S_ISDIR(sb.st_mode))
            return pk_fail(ctx, PK_ERR_USAGE, o, "with several inputs, -o names an existing folder");
    }
    pk_loudness **meters = calloc(n, sizeof *meters);
    pk_loudness_result *before = calloc(n, sizeof *before);
    int *channels = calloc(n, sizeof *channels);
    if (!meters || !before || !channels) {
        free(meters);
        free(before);
        free(channels);
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    pk_status st = PK_OK;
    for (size_t i = 0; i < n && st == PK_OK; i++) {
        pk_audio_info info;
        const char *path = pk_run_input(run, i);
        pk_status fs = pk_audio_measure(ctx, path, 0, &meters[i], &info);
        if (fs == PK_OK) {
            pk_loudness_finish(meters[i], &before[i]);
            channels[i] = info.channels;
            if (!album && (fs = check_measurable(ctx, path, &before[i])) != PK_OK) {
                pk_loudness_free(meters[i]);
                meters[i] = NULL;
            }
        }
        /* One bad file stops an album (its loudness is the set's); otherwise
         * it is reported and the others go on. */
        if (fs != PK_OK && (album || n == 1 || fs == PK_ERR_INTERNAL || fs == PK_ERR_INTERRUPTED))
            st = fs;
        else if (fs != PK_OK)
            pk_run_file_failed(run, path, fs);
    }
    target t = {0};
    double album_i = NAN, lra;
    if (st == PK_OK) {
        const char *text = pk_run_is_set(run, "lufs") ? "custom" : pk_run_str(run, "target");
        if (strcmp(text, "custom") == 0) {
            if (!pk_run_is_set(run, "lufs"))
                st = pk_fail(ctx, PK_ERR_USAGE, NULL, "--target custom needs --lufs");
            t.lufs = pk_run_float(run, "lufs");
            t.tp = -1;
            t.preset = "custom";
        } else {
            int ch = 0;
            for (size_t i = 0; i < n && !ch; i++)
                ch = channels[i];
            st = pk_loudness_target(ctx, text, ch, &t.lufs, &t.tp, &t.preset);
        }
        if (pk_run_is_set(run, "true-peak"))
            t.tp = pk_run_float(run, "true-peak");
        t.never_limit = strcmp(pk_run_str(run, "limiter"), "never") == 0;
    }
    if (st == PK_OK && album) {
        pk_loudness_album(ctx, meters, n, &album_i, &lra);
        pk_loudness_result r = before[0];
        r.integrated = album_i;
        r.duration = 0;
        for (size_t i = 0; i < n; i++)
            r.duration += before[i].duration;
        st = check_measurable(ctx, n == 1 ? pk_run_input(run, 0) : "album", &r);
    }
    for (size_t i = 0; i < n && st == PK_OK; i++) {
        if (!meters[i])
            continue; /* failed above, already reported */
        char *out = output_for(run, i);
        if (!out) {
            st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
            break;
        }
        /* One gain for an album: each file keeps its place relative to the others. */
        double file_target = t.lufs, tp_unused;
        const char *name_unused;
        if (!album && strcmp(t.preset, "custom") != 0) /* podcast: -19 for a mono file */
            pk_loudness_target(ctx, t.preset, channels[i], &file_target, &tp_unused, &name_unused);
        double want = album ? before[i].integrated + (t.lufs - album_i) : file_target;
        double gain = album ? t.lufs - album_i : file_target - before[i].integrated;
        if (album && !isfinite(want)) {
            pk_log(ctx, PK_LOG_WARNING, "%s: silent: written with the album gain", pk_run_input(run, i));
            want = NAN;
        }
        pk_status fs = normalize_file(run, pk_run_input(run, i), out, &t, want, gain, &before[i], album);
        free(out);
        if (fs == PK_ERR_INTERNAL || fs == PK_ERR_INTERRUPTED)
            st = fs;
        else if (fs != PK_OK)
            pk_run_file_failed(run, pk_run_input(run, i), fs);
    }
    for (size_t i = 0; i < n; i++)
        pk_loudness_free(meters[i]);
    free(meters);
    free(before);
    free(channels);
    return st;
}

static double num(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void normalize_print(const json_t *rec, FILE *out)
{
    const json_t *b = json_object_get(rec, "before"), *a = json_object_get(rec, "after");
    fprintf(out, "%s -> %s\n", json_string_value(json_object_get(rec, "input")),
            json_string_value(json_object_get(rec, "output")));
    fprintf(out, "  target          %.1f LUFS, true peak <= %.1f dBTP (%s)\n", num(rec, "target"),
            num(rec, "true_peak_limit"), json_string_value(json_object_get(rec, "preset")));
    fprintf(out, "  before          %.1f LUFS, true peak %.1f dBTP, LRA %.1f LU\n", num(b, "integrated"),
            num(b, "true_peak"), num(b, "loudness_range"));
    int limited = json_is_true(json_object_get(rec, "limiter_engaged"));
    fprintf(out, "  gain            %+.2f dB (%s)\n", num(rec, "gain_db"),
            limited ? "linear gain, then true-peak limiter" : "linear: dynamics untouched");
    if (limited) {
        const json_t *l = json_object_get(rec, "limiter");
        fprintf(out, "  LIMITER ENGAGED linear gain alone would peak at %+.1f dBTP; limited in %lld stretches by up "
                     "to %.1f dB over %.2f s (look-ahead/attack %.0f ms, release %.0f ms)\n",
                num(rec, "linear_true_peak"), (long long)json_integer_value(json_object_get(l, "events")),
                num(l, "max_reduction_db"), num(l, "limited_seconds"), num(l, "attack_ms"),
                num(l, "release_ms"));
    }
    const json_t *missed = json_object_get(rec, "target_missed");
    if (missed)
        fprintf(out, "  TARGET MISSED   %s\n", json_string_value(missed));
    fprintf(out, "  after           %.1f LUFS, true peak %.1f dBTP, LRA %.1f LU  [%s]\n", num(a, "integrated"),
            num(a, "true_peak"), num(a, "loudness_range"),
            json_is_true(json_object_get(rec, "within_tolerance")) ? "within tolerance" : "OUT OF TOLERANCE");
}

static const pk_param_spec normalize_params[] = {
    {.name = "output", .short_opt = 'o', .type = PK_PARAM_PATH_OUT, .metavar = "OUT",
     .help = "the file to write (.wav/.flac, or the input's container to keep video and codec); a "
             "folder when several inputs are given",
     .flags = PK_PARAM_REQUIRED},
    {.name = "target", .type = PK_PARAM_STRING, .defval = "ebu-r128", .metavar = "PRESET|LUFS",
     .help = "ebu-r128 (-23 LUFS, -1 dBTP), atsc-a85 (-24, -2), streaming (-14, -1), podcast (-16 "
             "stereo / -19 mono, -1), custom (with --lufs), or a loudness in LUFS"},
    {.name = "lufs", .type = PK_PARAM_FLOAT, .min = -70, .max = 0, .unit = "LUFS",
     .help = "custom target loudness"},
    {.name = "true-peak", .type = PK_PARAM_FLOAT, .min = -20, .max = 0, .unit = "dBTP",
     .help = "true-peak limit (default: the preset's)"},
    {.name = "album", .type = PK_PARAM_BOOL, .defval = "no",
     .help = "one gain for all inputs, so their relative levels stay as they are"},
    {.name = "limiter", .type = PK_PARAM_ENUM, .defval = "auto", .choices = "auto|never",
     .help = "auto: limit true peaks when the gain needs it (reported); never: lower the gain instead"},
    {.name = NULL},
};

const pk_op pk_op_normalize = {
    .name = "normalize",
    .summary = "Normalise loudness to a delivery target with one linear gain",
    .description =
        "Measures FILE (BS.1770-4), applies one gain so it lands on the target, and re-measures the "
        "written file. Dynamics are untouched; only when the gain would push the true peak over the "
        "limit does a look-ahead true-peak limiter (5 ms attack, 200 ms release) act, and that is "
        "reported. Keeps sample rate, channel layout, bit depth (TPDF dither to 16-bit) and tags; a "
        "video file keeps its video stream untouched. Digital silence is refused (exit 3).",
    .input_name = "FILE",
    .input_kind = "media",
    .min_inputs = 1,
    .max_inputs = -1,
    .params = normalize_params,
    .run = normalize_run,
    .print_human = normalize_print,
    .flags = PK_OP_WRITES,
};
