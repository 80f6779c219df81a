/*
 * op_match.c — `postkit match IN --ref REF -o OUT [--eq-only]`: reference
 * mastering. IN is made to sound like REF: the same long-term frequency
 * balance (match EQ, design in audio/internal.h), the same stereo width
 * (side/mid energy ratio, side gain limited to +-6 dB), the same loudness
 * (BS.1770-4 integrated) and a peak ceiling (the reference's true peak, at
 * most -1 dBTP unless --true-peak says otherwise) held by the true-peak
 * limiter, which is used only when needed and then reported.
 *
 * --eq-only is the "voice matching" mode for dialogue pickups: only the EQ
 * of the reference is matched; IN keeps its own loudness and width.
 *
 * Everything streams: REF and IN are each read once for their spectra and
 * loudness, IN once more to measure the equalised result, and once to
 * write, so a 3-hour file needs no more memory than a 3-minute one.
 */
#include "audio/internal.h"

#include <math.h>
#include <string.h>

#define WIDTH_MAX_DB 6.0

typedef struct chain {
    pk_run *run;
    pk_ctx *ctx;
    const char *in;
    /* settings */
    const double *curve;
    int minimum_phase;
    double side_gain, gain_db, ceiling;
    int limit;
    /* stages */
    pk_fir *fir;
    pk_limiter *lim;
    pk_limiter_stats lstats;
    int channels;
    float *a, *b;
    int64_t cap;
    /* sinks */
    pk_output *out;
    pk_audio_sink sink;
    int sink_open;
    const char **tags;
    pk_loudness *meter;
    pk_spectrum *spectrum;
} chain;

typedef struct analysis {
    pk_ctx *ctx;
    pk_loudness *meter;
    pk_spectrum *spectrum;
    pk_audio_info info;
} analysis;

static pk_status analysis_begin(void *user, pk_source *src)
{
    analysis *an = user;
    const pk_audio_info *a = pk_source_audio(src);
    an->info = *a;
    an->info.codec = NULL;
    if (!(an->spectrum = pk_spectrum_new(a->rate, a->channels)))
        return pk_fail(an->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    return pk_audio_meter_for(an->ctx, a, 0, NULL, NULL, &an->meter);
}

static pk_status analysis_block(void *user, const pk_audio_block *b)
{
    analysis *an = user;
    pk_spectrum_add(an->spectrum, b->interleaved, b->frames);
    return pk_loudness_add(an->meter, b->interleaved, b->frames);
}

static void analysis_free(analysis *an)
{
    pk_loudness_free(an->meter);
    pk_spectrum_free(an->spectrum);
}

static pk_status analyse(pk_ctx *ctx, const char *path, analysis *an, pk_loudness_result *r)
{
    an->ctx = ctx;
    pk_status st = pk_audio_pass(ctx, path, "analyse", analysis_begin, analysis_block, an, NULL);
    if (st != PK_OK)
        return st;
    pk_loudness_finish(an->meter, r);
    if (isnan(r->integrated))
        return pk_fail(ctx, PK_ERR_INPUT, path, "too short to match (%.2f s; at least 0.4 s needed)",
                       r->duration);
    if (isinf(r->integrated))
        return pk_fail(ctx, PK_ERR_INPUT, path, "loudness is below the -70 LUFS gate (digital silence?)");
    return PK_OK;
}

static pk_status grow(chain *c, int64_t frames)
{
    int64_t need = (frames + 2 * (int64_t)pk_fir_block(c->fir)) * c->channels;
    if (need <= c->cap)
        return PK_OK;
    float *a = realloc(c->a, sizeof(float) * (size_t)need);
    if (a)
        c->a = a;
    float *b = a ? realloc(c->b, sizeof(float) * (size_t)need) : NULL;
    if (b)
        c->b = b;
    if (!a || !b)
        return pk_fail(c->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    c->cap = need;
    return PK_OK;
}

static pk_status chain_begin(void *user, pk_source *src)
{
    chain *c = user;
    const pk_audio_info *a = pk_source_audio(src);
    c->channels = a->channels;
    if (!(c->fir = pk_fir_new(c->curve, a->rate, a->channels, c->minimum_phase)))
        return pk_fail(c->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    if (c->limit && !(c->lim = pk_limiter_new(a->rate, a->channels, c->ceiling, PK_LIMITER_LOOKAHEAD_MS,
                                              PK_LIMITER_RELEASE_MS)))
        return pk_fail(c->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    pk_status st;
    if (!c->out)
        return pk_audio_meter_for(c->ctx, a, 0, NULL, NULL, &c->meter);
    if (!(c->spectrum = pk_spectrum_new(a->rate, a->channels)))
        return pk_fail(c->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    if (!(c->tags = pk_source_content_tags(src)))
        return pk_fail(c->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    if ((st = pk_audio_sink_open(c->run, c->in, a, c->tags, c->out, &c->sink)) != PK_OK)
        return st;
    c->sink_open = 1;
    return PK_OK;
}

static pk_status deliver(chain *c, const float *x, int64_t frames)
{
    if (frames <= 0)
        return PK_OK;
    if (c->meter)
        return pk_loudness_add(c->meter, x, frames);
    pk_spectrum_add(c->spectrum, x, frames);
    return pk_audio_sink_write(&c->sink, x, frames);
}

/* Gain and limiter on `frames` frames of c->b, then deliver. */
static pk_status finish_stage(chain *c, int64_t frames)
{
    const float g = (float)pow(10, c->gain_db / 20);
    for (int64_t i = 0; i < frames * c->channels; i++)
        c->b[i] *= g;
    if (c->lim && (frames = pk_limiter_process(c->lim, c->b, frames, c->b)) < 0)
        return pk_fail(c->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    return deliver(c, c->b, frames);
}

static pk_status chain_block(void *user, const pk_audio_block *blk)
{
    chain *c = user;
    pk_status st = grow(c, blk->frames);
    if (st != PK_OK)
        return st;
    const int C = c->channels;
    memcpy(c->a, blk->interleaved, sizeof(float) * (size_t)blk->frames * C);
    if (C == 2 && c->side_gain != 1.0) {
        const double g = c->side_gain;
        for (int i = 0; i < blk->frames; i++) {
            double m = 0.5 * ((double)c->a[2 * i] + c->a[2 * i + 1]);
            double s = 0.5 * ((double)c->a[2 * i] - c->a[2 * i + 1]) * g;
            c->a[2 * i] = (float)(m + s);
            c->a[2 * i + 1] = (float)(m - s);
        }
    }
    int64_t n = pk_fir_process(c->fir, c->a, blk->frames, c->b);
    return finish_stage(c, n);
}

static pk_status chain_end(chain *c)
{
    pk_status st = grow(c, 0);
    if (st != PK_OK)
        return st;
    if ((st = finish_stage(c, pk_fir_flush(c->fir, c->b))) != PK_OK)
        return st;
    if (c->lim) {
        int64_t n = pk_limiter_flush(c->lim, c->b);
        if (n < 0)
            return pk_fail(c->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        if ((st = deliver(c, c->b, n)) != PK_OK)
            return st;
        pk_limiter_get_stats(c->lim, &c->lstats);
    }
    if (c->meter)
        pk_loudness_finish(c->meter, NULL);
    if (c->sink_open) {
        c->sink_open = 0;
        return pk_audio_sink_close(&c->sink);
    }
    return PK_OK;
}

static void chain_reset(chain *c)
{
    pk_fir_free(c->fir);
    pk_limiter_free(c->lim);
    pk_loudness_free(c->meter);
    pk_spectrum_free(c->spectrum);
    pk_audio_sink_free(&c->sink);
    free(c->a);
    free(c->b);
    free(c->tags);
    c->fir = NULL;
    c->lim = NULL;
    c->meter = NULL;
    c->spectrum = NULL;
    c->a = c->b = NULL;
    c->cap = 0;
    c->tags = NULL;
    c->sink_open = 0;
}

static pk_status run_chain(chain *c, pk_output *out, pk_loudness_result *measured)
{
    c->out = out;
    pk_status st = pk_audio_pass(c->ctx, c->in, out ? "match" : NULL, chain_begin, chain_block, c, NULL);
    if (st == PK_OK)
        st = chain_end(c);
    if (st == PK_OK && measured && c->meter)
        pk_loudness_finish(c->meter, measured);
    return st;
}

static json_t *curve_json(const double *curve)
{
    json_t *a = json_array();
    for (int i = 0; i < PK_EQ_POINTS; i += 4) {
        json_t *p = json_array();
        json_array_append_new(p, json_real(pk_round(pk_eq_point_hz(i), 1)));
        json_array_append_new(p, json_real(pk_round(curve[i], 2)));
        json_array_append_new(a, p);
    }
    return a;
}

static json_t *figures(const pk_loudness_result *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "integrated", pk_audio_figure(r->integrated));
    json_object_set_new(o, "true_peak", pk_audio_figure(r->true_peak));
    json_object_set_new(o, "loudness_range", pk_audio_figure(r->range));
    return o;
}

static pk_status match_run(pk_run *run)
{
    pk_ctx *ctx = pk_run_ctx(run);
    const char *in = pk_run_input(run, 0), *ref = pk_run_str(run, "ref");
    const char *out_path = pk_run_str(run, "output"), *plot = pk_run_str(run, "plot");
    int eq_only = pk_run_bool(run, "eq-only");
    analysis ar = {0}, ai = {0};
    pk_loudness_result rr, ri, eq, after = {0};
    double ref_db[PK_EQ_POINTS], in_db[PK_EQ_POINTS], out_db[PK_EQ_POINTS], curve[PK_EQ_POINTS];
    double ref_sm, in_sm;
    chain c = {.run = run, .ctx = ctx, .in = in, .curve = curve, .side_gain = 1.0};
    pk_output *out = NULL;
    pk_status st = analyse(ctx, ref, &ar, &rr);
    if (st == PK_OK)
        st = analyse(ctx, in, &ai, &ri);
    if (st != PK_OK)
        goto done;
    pk_spectrum_result(ar.spectrum, ref_db, &ref_sm);
    pk_spectrum_result(ai.spectrum, in_db, &in_sm);
    double top = 0.45 * fmin(ar.info.rate, ai.info.rate);
    pk_eq_curve(in_db, ref_db, top, curve);
    c.minimum_phase = strcmp(pk_run_str(run, "phase"), "minimum") == 0;
    double width_db = 0;
    if (!eq_only && ai.info.channels == 2 && ar.info.channels == 2 && in_sm > 1e-4 && ref_sm > 0) {
        width_db = fmax(-WIDTH_MAX_DB, fmin(WIDTH_MAX_DB, 10 * log10(ref_sm / in_sm)));
        c.side_gain = pow(10, width_db / 20);
    }
    /* Loudness of the equalised signal, to set the gain exactly. */
    if ((st = run_chain(&c, NULL, &eq)) != PK_OK)
        goto done;
    chain_reset(&c);
    double want = eq_only ? ri.integrated : rr.integrated;
    double limit = pk_run_is_set(run, "true-peak") ? pk_run_float(run, "true-peak")
                   : eq_only                      ? -1.0
                                                  : fmin(rr.true_peak, -1.0);
    c.gain_db = want - eq.integrated;
    double linear_tp = eq.true_peak + c.gain_db;
    if (linear_tp > limit - 0.01) {
        c.limit = 1;
        c.ceiling = limit - 0.1;
        for (int i = 0; i < 2; i++) {
            pk_loudness_result got;
            if ((st = run_chain(&c, NULL, &got)) != PK_OK)
                goto done;
            chain_reset(&c);
            if (fabs(want - got.integrated) <= 0.05)
                break;
            c.gain_db += want - got.integrated;
        }
    }
    if ((st = pk_output_open(run, out_path, &out)) != PK_OK)
        goto done;
    if ((st = run_chain(&c, out, NULL)) != PK_OK)
        goto done;
    pk_spectrum_result(c.spectrum, out_db, &in_sm);
    pk_loudness *m;
    if ((st = pk_audio_measure(ctx, pk_output_tmp_path(out), 0, &m, NULL)) != PK_OK)
        goto done;
    pk_loudness_finish(m, &after);
    pk_loudness_free(m);
    if (c.limit)
        pk_log(ctx, PK_LOG_WARNING,
               "%s: LIMITER ENGAGED: matching the loudness would put the true peak at %+.1f dBTP (limit "
               "%.1f); limited in %lld stretches by up to %.1f dB", in, linear_tp, limit,
               (long long)c.lstats.events, c.lstats.max_reduction_db);

    pk_output_note(out, "reference", pk_json_string(ref));
    pk_output_note(out, "mode", json_string(eq_only ? "eq-only" : "full"));
    pk_output_note(out, "eq_curve_hz_db", curve_json(curve));
    pk_output_note(out, "eq_phase", json_string(c.minimum_phase ? "minimum" : "linear"));
    pk_output_note(out, "side_gain_db", json_real(pk_round(width_db, 2)));
    pk_output_note(out, "gain_db", json_real(pk_round(c.gain_db, 2)));
    pk_output_note(out, "limiter_engaged", json_boolean(c.limit));
    json_t *rec = json_object();
    json_object_set_new(rec, "input", pk_json_string(in));
    json_object_set_new(rec, "reference", pk_json_string(ref));
    json_object_set_new(rec, "output", pk_json_string(out_path));
    json_object_set_new(rec, "mode", json_string(eq_only ? "eq-only" : "full"));
    json_object_set_new(rec, "eq_phase", json_string(c.minimum_phase ? "minimum" : "linear"));
    json_object_set_new(rec, "eq_limit_db", json_real(PK_EQ_MAX_DB));
    json_object_set_new(rec, "eq_curve", curve_json(curve));
    double lo = 0, hi = 0;
    for (int i = 0; i < PK_EQ_POINTS; i++) {
        lo = fmin(lo, curve[i]);
        hi = fmax(hi, curve[i]);
    }
    json_object_set_new(rec, "eq_min_db", json_real(pk_round(lo, 2)));
    json_object_set_new(rec, "eq_max_db", json_real(pk_round(hi, 2)));
    json_object_set_new(rec, "side_gain_db", json_real(pk_round(width_db, 2)));
    json_object_set_new(rec, "gain_db", json_real(pk_round(c.gain_db, 2)));
    json_object_set_new(rec, "true_peak_limit", json_real(limit));
    json_object_set_new(rec, "limiter_engaged", json_boolean(c.limit));
    if (c.limit) {
        json_t *l = json_object();
        json_object_set_new(l, "events", json_integer(c.lstats.events));
        json_object_set_new(l, "max_reduction_db", json_real(pk_round(c.lstats.max_reduction_db, 2)));
        json_object_set_new(l, "attack_ms", json_real(c.lstats.lookahead_ms));
        json_object_set_new(l, "release_ms", json_real(c.lstats.release_ms));
        json_object_set_new(rec, "limiter", l);
        pk_output_note(out, "limiter", json_deep_copy(l));
    }
    json_object_set_new(rec, "reference_figures", figures(&rr));
    json_object_set_new(rec, "before", figures(&ri));
    json_object_set_new(rec, "after", figures(&after));
    if ((st = pk_output_commit(run, out)) != PK_OK) {
        out = NULL;
        json_decref(rec);
        goto done;
    }
    out = NULL;
    if (plot && (st = pk_plot_eq(run, plot, curve, in_db, ref_db, out_db)) != PK_OK) {
        json_decref(rec);
        goto done;
    }
    pk_run_emit(run, rec);
done:
    pk_output_abort(run, out);
    chain_reset(&c);
    analysis_free(&ar);
    analysis_free(&ai);
    return st;
}

static double num(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void match_print(const json_t *rec, FILE *out)
{
    const json_t *r = json_object_get(rec, "reference_figures"), *b = json_object_get(rec, "before"),
                 *a = json_object_get(rec, "after");
    fprintf(out, "%s -> %s (like %s, %s)\n", json_string_value(json_object_get(rec, "input")),
            json_string_value(json_object_get(rec, "output")),
            json_string_value(json_object_get(rec, "reference")),
            json_string_value(json_object_get(rec, "mode")));
    fprintf(out, "  reference       %.1f LUFS, true peak %.1f dBTP\n", num(r, "integrated"), num(r, "true_peak"));
    fprintf(out, "  before          %.1f LUFS, true peak %.1f dBTP\n", num(b, "integrated"), num(b, "true_peak"));
    fprintf(out, "  EQ              %s phase, %+.1f .. %+.1f dB (limit +-%.0f dB):", 
            json_string_value(json_object_get(rec, "eq_phase")), num(rec, "eq_min_db"), num(rec, "eq_max_db"),
            num(rec, "eq_limit_db"));
    static const double show[] = {50, 100, 200, 500, 1000, 2000, 5000, 10000};
    const json_t *curve = json_object_get(rec, "eq_curve");
    for (size_t k = 0; k < sizeof show / sizeof show[0]; k++) {
        size_t i;
        const json_t *p, *best = NULL;
        double bd = INFINITY;
        json_array_foreach(curve, i, p)
        {
            double d = fabs(log2(json_number_value(json_array_get(p, 0)) / show[k]));
            if (d < bd) {
                bd = d;
                best = p;
            }
        }
        if (best)
            fprintf(out, " %g%s %+.1f", show[k] >= 1000 ? show[k] / 1000 : show[k], show[k] >= 1000 ? "k" : "",
                    json_number_value(json_array_get(best, 1)));
    }
    fprintf(out, "\n  width           side %+.1f dB\n  gain            %+.1f dB\n", num(rec, "side_gain_db"),
            num(rec, "gain_db"));
    if (json_is_true(json_object_get(rec, "limiter_engaged"))) {
        const json_t *l = json_object_get(rec, "limiter");
        fprintf(out, "  LIMITER ENGAGED limited in %lld stretches by up to %.1f dB (attack %.0f ms, release %.0f ms)\n",
                (long long)json_integer_value(json_object_get(l, "events")), num(l, "max_reduction_db"),
                num(l, "attack_ms"), num(l, "release_ms"));
    }
    fprintf(out, "  after           %.1f LUFS, true peak %.1f dBTP\n", num(a, "integrated"), num(a, "true_peak"));
}

static const pk_param_spec match_params[] = {
    {.name = "ref", .type = PK_PARAM_PATH_IN, .metavar = "REF", .help = "the reference to sound like",
     .flags = PK_PARAM_REQUIRED},
    {.name = "output", .short_opt = 'o', .type = PK_PARAM_PATH_OUT, .metavar = "OUT",
     .help = "the file to write (.wav/.flac, or the input's container)", .flags = PK_PARAM_REQUIRED},
    {.name = "eq-only", .type = PK_PARAM_BOOL, .defval = "no",
     .help = "match only the EQ (voice matching for dialogue pickups); keep loudness and width"},
    {.name = "phase", .type = PK_PARAM_ENUM, .defval = "linear", .choices = "linear|minimum",
     .help = "EQ filter: linear phase (no phase change) or minimum phase (no pre-ringing)"},
    {.name = "true-peak", .type = PK_PARAM_FLOAT, .min = -20, .max = 0, .unit = "dBTP",
     .help = "peak ceiling (default: the reference's true peak, at most -1)"},
    {.name = "plot", .type = PK_PARAM_PATH_OUT, .metavar = "FILE.svg|FILE.png",
     .help = "draw the EQ curve with the input, reference and output spectra"},
    {.name = NULL},
};

const pk_op pk_op_audio_match = {
    .name = "match",
    .summary = "Match a reference: EQ, loudness, width and peak level (reference mastering)",
    .description =
        "Makes FILE sound like --ref: long-term spectra (1/6-octave smoothed) are matched by an EQ "
        "limited to +-12 dB (linear-phase FIR, or minimum phase), the stereo width by the side/mid "
        "balance (+-6 dB), the loudness by BS.1770-4, and the peak by the true-peak limiter when "
        "needed (reported). --eq-only matches only the EQ. No length limit: everything streams.",
    .input_name = "FILE",
    .input_kind = "media",
    .min_inputs = 1,
    .max_inputs = 1,
    .params = match_params,
    .run = match_run,
    .print_human = match_print,
    .flags = PK_OP_WRITES,
};
