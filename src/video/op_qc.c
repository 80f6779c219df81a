/*
 * op_qc.c — `postkit qc FILE... [--profile NAME|FILE] [--report OUT.html]
 * [--cuts] [--json]`: delivery QC against a profile, one decode per file.
 *
 * Files are checked one after the other, each using both cores (decoder
 * frame threads, a video and an audio analyser thread). Each file gives one
 * record (verdict, rules, events, loudness); --report writes one
 * self-contained HTML page for all of them, built from the same records.
 * Exit status: 0 every file passes, 1 a file fails its profile, 3 a file
 * cannot be read (the worst wins).
 */
#include "video/internal.h"

#include <math.h>
#include <string.h>

static pk_status qc_run(pk_run *run)
{
    pk_ctx *ctx = pk_run_ctx(run);
    const char *pname = pk_run_str(run, "profile");
    pk_qc_profile *profile;
    pk_status st = pk_qc_profile_load(ctx, pname, &profile);
    if (st != PK_OK)
        return st;
    if (pk_run_bool(run, "show-profile")) {
        pk_run_emit(run, pk_qc_profile_json(profile));
        pk_qc_profile_free(profile);
        return PK_OK;
    }
    size_t n = pk_run_input_count(run);
    if (n == 0) {
        pk_qc_profile_free(profile);
        return pk_fail(ctx, PK_ERR_USAGE, NULL, "qc: no FILE given (see: postkit qc --help)");
    }
    const char *report = pk_run_str(run, "report");
    pk_output *out = NULL;
    FILE *html = NULL;
    if (report) {
        if ((st = pk_output_open(run, report, &out)) != PK_OK) {
            pk_qc_profile_free(profile);
            return st;
        }
        if (!(html = pk_output_file(out))) {
            pk_output_abort(run, out);
            pk_qc_profile_free(profile);
            return pk_fail(ctx, PK_ERR_OUTPUT, report, "cannot write");
        }
        qc_html_begin(html, n == 1 ? pk_run_input(run, 0) : "postkit qc");
    }
    pk_qc_options o;
    pk_qc_options_init(&o);
    o.cuts = pk_run_bool(run, "cuts");
    o.thumbnails = report != NULL;
    int failed = 0;
    for (size_t i = 0; i < n && !pk_ctx_interrupted(ctx); i++) {
        const char *path = pk_run_input(run, i);
        json_t *rec = NULL;
        pk_progress_begin(ctx, "qc", 100, "%");
        pk_status fs = pk_qc_file(ctx, path, profile, &o, &rec);
        pk_progress_end(ctx);
        if (fs == PK_ERR_INTERRUPTED) {
            st = fs;
            break;
        }
        if (fs != PK_OK && fs != PK_CHECK_FAILED) {
            pk_run_file_failed(run, path, fs);
            continue;
        }
        failed |= fs == PK_CHECK_FAILED;
        if (html)
            qc_html_file(html, rec);
        if (!pk_run_json(run) || !o.thumbnails) {
            pk_run_emit(run, rec);
        } else {
            /* Thumbnails are for the page; the JSON keeps its size. */
            size_t k;
            json_t *e;
            json_array_foreach(json_object_get(rec, "events"), k, e) json_object_del(e, "thumbnail");
            pk_run_emit(run, rec);
        }
    }
    if (html) {
        if (st == PK_OK) {
            qc_html_end(html);
            if ((st = pk_output_commit(run, out)) == PK_OK && !pk_run_json(run))
                pk_log(ctx, PK_LOG_INFO, "report: %s", report);
        } else {
            pk_output_abort(run, out);
        }
    }
    pk_qc_profile_free(profile);
    if (st != PK_OK)
        return st;
    /* An unreadable file (3) outranks a failed check (1): the run's worst
     * per-file status is returned by pk_op_run when we return PK_OK. */
    if (pk_run_worst(run) != PK_OK)
        return PK_OK;
    return failed ? PK_CHECK_FAILED : PK_OK;
}

/* ---- human view ------------------------------------------------------------ */

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static double num(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* "-23.0 LUFS", or "-" when not measured (silence, too short). */
static void figure(double v, const char *unit, char *buf, size_t n)
{
    if (isfinite(v))
        snprintf(buf, n, "%.1f %s", v, unit);
    else
        snprintf(buf, n, "-");
}

static void print_profile(const json_t *rec, FILE *out)
{
    fprintf(out, "profile %s (%s)\n", str(rec, "name"), str(rec, "summary"));
    const char *key;
    const json_t *sec;
    json_object_foreach((json_t *)rec, key, sec)
    {
        if (!json_is_object(sec))
            continue;
        fprintf(out, "  %-20s %-8s", key, str(sec, "severity"));
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)sec, k, v)
        {
            if (strcmp(k, "severity") == 0)
                continue;
            if (json_is_string(v))
                fprintf(out, " %s=%s", k, json_string_value(v)[0] ? json_string_value(v) : "any");
            else
                fprintf(out, " %s=%g", k, json_number_value(v));
        }
        fputc('\n', out);
    }
}

static void qc_print(const json_t *rec, FILE *out)
{
    if (json_object_get(rec, "extends")) {
        print_profile(rec, out);
        return;
    }
    const char *verdict = str(rec, "verdict");
    fprintf(out, "%s: %s (profile %s)\n", str(rec, "path"), strcmp(verdict, "pass") == 0 ? "PASS" : "FAIL",
            str(rec, "profile"));
    const json_t *v = json_object_get(json_object_get(rec, "streams"), "video");
    const json_t *a = json_object_get(json_object_get(rec, "streams"), "audio");
    if (v)
        fprintf(out, "  video   %s %lldx%lld %.3g fps %s %lld-bit, %lld frames, %.2f s\n", str(v, "codec"),
                (long long)num(v, "width"), (long long)num(v, "height"), num(v, "frame_rate"), str(v, "scan"),
                (long long)num(v, "bit_depth"), (long long)num(v, "frames"), num(v, "duration"));
    if (a)
        fprintf(out, "  audio   %s %lld Hz %s, %.2f s\n", str(a, "codec"), (long long)num(a, "sample_rate"),
                str(a, "layout"), num(a, "duration"));
    const json_t *lo = json_object_get(rec, "loudness");
    if (lo) {
        char i[32], r[32], t[32];
        figure(num(lo, "integrated"), "LUFS", i, sizeof i);
        figure(num(lo, "loudness_range"), "LU", r, sizeof r);
        figure(num(lo, "true_peak"), "dBTP", t, sizeof t);
        fprintf(out, "  loudness %s, range %s, true peak %s\n", i, r, t);
    }
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(rec, "rules"), i, r)
    {
        const char *rv = str(r, "verdict");
        if (strcmp(rv, "pass") == 0 || strcmp(rv, "off") == 0)
            continue;
        const char *detail = json_object_get(r, "finding") ? str(r, "finding") : str(r, "reason");
        fprintf(out, "  %-8s %-19s", rv, str(r, "rule"));
        if (json_object_get(r, "events"))
            fprintf(out, " %lld event%s", (long long)num(r, "events"), num(r, "events") == 1 ? "" : "s");
        if (detail[0])
            fprintf(out, " %s", detail);
        fputc('\n', out);
    }
    const json_t *events = json_object_get(rec, "events");
    if (json_array_size(events))
        fprintf(out, "  events:\n");
    const json_t *e;
    json_array_foreach(events, i, e)
    {
        char frames[48] = "";
        if (json_object_get(e, "start_frame"))
            snprintf(frames, sizeof frames, "frames %lld-%lld", (long long)num(e, "start_frame"),
                     (long long)num(e, "end_frame"));
        fprintf(out, "    %s-%s %9.3f-%-9.3f %-19s %-18s %-7s %s\n", str(e, "start_tc"), str(e, "end_tc"),
                num(e, "start"), num(e, "end"), frames, str(e, "type"), str(e, "severity"), str(e, "message"));
    }
    const json_t *cuts = json_object_get(rec, "cuts");
    if (cuts) {
        fprintf(out, "  cuts (%zu):", json_array_size(cuts));
        const json_t *c;
        json_array_foreach(cuts, i, c) fprintf(out, "%s%.3f", i ? ", " : " ", num(c, "time"));
        fputc('\n', out);
    }
    const json_t *note;
    json_array_foreach(json_object_get(rec, "notes"), i, note) fprintf(out, "  note    %s\n", json_string_value(note));
}

static const pk_param_spec qc_params[] = {
    {.name = "profile", .type = PK_PARAM_STRING, .defval = "ebu-r128", .metavar = "NAME|FILE.json",
     .help = "delivery profile: ebu-r128, atsc-a85, streaming, podcast, youtube, or a JSON file that "
             "overrides any threshold (docs/qc.md)"},
    {.name = "report", .type = PK_PARAM_PATH_OUT, .metavar = "OUT.html",
     .help = "write a self-contained HTML report: timeline with luma, loudness and every event, "
             "thumbnails, the verdict of each rule"},
    {.name = "cuts", .type = PK_PARAM_BOOL, .defval = "no", .help = "also list every shot cut"},
    {.name = "show-profile", .type = PK_PARAM_BOOL, .defval = "no",
     .help = "print the profile's rules and thresholds and stop"},
    {.name = NULL},
};

const pk_op pk_op_qc = {
    .name = "qc",
    .summary = "Delivery QC: black, freeze, flash frames, photosensitive flashing, dead pixels, levels, "
               "audio faults and loudness against a profile",
    .description =
        "Decodes each file once and runs every detector on the same frames and audio blocks: black "
        "segments and slate/tail (blackdetect semantics), freezes and repeated frames, shot cuts and "
        "flash frames, photosensitive flashing (ITU-R BT.1702 / Ofcom, BT.1886 display at 200 cd/m2, red "
        "flashes), dead/stuck/hot pixels, broadcast range, decode errors, clipping, silence, silent, "
        "identical or inverted channels, loudness and true peak (BS.1770-4), audio vs video length and "
        "stream facts. Each event has start/end in seconds and SMPTE timecode, frame numbers, severity "
        "and measured values. Exit status 0 when every file passes, 1 when one fails, 3 when one cannot "
        "be read.",
    .input_name = "FILE",
    .input_kind = "media",
    .min_inputs = 0,
    .max_inputs = -1,
    .params = qc_params,
    .run = qc_run,
    .print_human = qc_print,
    .flags = PK_OP_WRITES | PK_OP_CHECK,
};
