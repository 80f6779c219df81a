/*
 * report.c — the HTML view of QC records: one self-contained page (inline
 * CSS and SVG, thumbnails as data URIs, no script, nothing fetched), a
 * section per file: the verdict, the stream facts, a timeline with luma,
 * loudness and one lane per kind of event, the verdict of every rule with
 * its thresholds, and the events with their timecodes and thumbnails.
 * Everything shown comes from the record, so the page and --json agree.
 */
#include "video/internal.h"

#include <math.h>
#include <string.h>

#define SVG_W 1000.0
#define SVG_LEFT 120.0
#define SVG_RIGHT 30.0

static void esc(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default: fputc(*s, out);
        }
    }
}

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

void qc_html_begin(FILE *out, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>QC: ", out);
    esc(out, title);
    fputs("</title>\n<style>\n"
          "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}\n"
          "h1{font-size:20px}h2{font-size:17px;margin-top:32px;border-top:1px solid #ccc;padding-top:16px}\n"
          "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;"
          "text-align:left;vertical-align:top}th{background:#eee}\n"
          ".pass{color:#176b2c;font-weight:bold}.fail{color:#b3261e;font-weight:bold}"
          ".warning{color:#a35c00;font-weight:bold}.skipped,.off{color:#777}.info{color:#335}\n"
          ".verdict{font-size:26px;padding:4px 14px;border-radius:6px;display:inline-block;color:#fff}\n"
          ".v-pass{background:#2e7d32}.v-fail{background:#c62828}\n"
          "img.thumb{width:160px;image-rendering:auto;border:1px solid #999}\n"
          "svg{background:#fff;border:1px solid #ccc}small{color:#666}\n"
          "</style></head><body>\n<h1>Delivery QC report</h1>\n<p><small>postkit ", out);
    esc(out, pk_version());
    fputs(" &middot; self-contained: no network needed</small></p>\n", out);
}

void qc_html_end(FILE *out) { fputs("</body></html>\n", out); }

typedef struct axis {
    double t0, t1;
} axis;

static double xpos(const axis *a, double t)
{
    double span = a->t1 - a->t0 > 1e-9 ? a->t1 - a->t0 : 1;
    return SVG_LEFT + (t - a->t0) / span * (SVG_W - SVG_LEFT - SVG_RIGHT);
}

/* A band (min..max) and a line (mean) of a series, values mapped from
 * [lo, hi] to the lane [y0, y0 + h]. */
static void series_svg(FILE *out, const axis *ax, const json_t *s, double lo, double hi, double y0, double h,
                       const char *fill, const char *stroke, int band)
{
    const json_t *t = json_object_get(s, "time"), *mn = json_object_get(s, "min"),
                 *mx = json_object_get(s, "max"), *mean = json_object_get(s, "mean");
    size_t n = json_array_size(t);
    if (n == 0)
        return;
    double step = num(s, "step");
#define YV(v) (y0 + h - (fmin(fmax((v), lo), hi) - lo) / (hi - lo) * h)
    if (band) {
        fprintf(out, "<polygon fill=\"%s\" stroke=\"none\" points=\"", fill);
        for (size_t i = 0; i < n; i++)
            fprintf(out, "%.1f,%.1f ", xpos(ax, json_number_value(json_array_get(t, i)) + step / 2),
                    YV(json_number_value(json_array_get(mx, i))));
        for (size_t i = n; i-- > 0;)
            fprintf(out, "%.1f,%.1f ", xpos(ax, json_number_value(json_array_get(t, i)) + step / 2),
                    YV(json_number_value(json_array_get(mn, i))));
        fputs("\"/>\n", out);
    }
    fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.2\" points=\"", stroke);
    for (size_t i = 0; i < n; i++) {
        double v = json_number_value(json_array_get(band ? mean : mx, i));
        if (v <= -199)
            v = lo;
        fprintf(out, "%.1f,%.1f ", xpos(ax, json_number_value(json_array_get(t, i)) + step / 2), YV(v));
    }
    fputs("\"/>\n", out);
#undef YV
}

static const char *severity_colour(const char *sev)
{
    if (strcmp(sev, "error") == 0)
        return "#c62828";
    if (strcmp(sev, "warning") == 0)
        return "#ef8a00";
    return "#607d8b";
}

static void timeline(FILE *out, const json_t *rec)
{
    const json_t *video = json_object_get(rec, "video");
    const json_t *loud = json_object_get(rec, "loudness");
    const json_t *events = json_object_get(rec, "events");
    axis ax = {0, 0};
    const json_t *sv = json_object_get(json_object_get(rec, "streams"), "video");
    const json_t *sa = json_object_get(json_object_get(rec, "streams"), "audio");
    if (video)
        ax.t1 = fmax(ax.t1, num(video, "end"));
    if (sa)
        ax.t1 = fmax(ax.t1, num(sa, "duration"));
    (void)sv;
    size_t i;
    const json_t *e;
    json_array_foreach(events, i, e) ax.t1 = fmax(ax.t1, num(e, "end"));
    if (!(ax.t1 > 0))
        ax.t1 = 1;
    /* Lanes: one per event type, in order of first appearance. */
    const char *types[32];
    int ntypes = 0;
    json_array_foreach(events, i, e)
    {
        const char *t = str(e, "type");
        int k;
        for (k = 0; k < ntypes && strcmp(types[k], t) != 0; k++)
            ;
        if (k == ntypes && ntypes < 32)
            types[ntypes++] = t;
    }
    double y = 10, luma_h = video ? 70 : 0, loud_h = loud ? 90 : 0;
    double height = y + (luma_h ? luma_h + 20 : 0) + (loud_h ? loud_h + 20 : 0) + ntypes * 18 + 30;
    fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                 "font-size=\"11\" font-family=\"sans-serif\">\n", SVG_W, height);
    if (video) {
        fprintf(out, "<text x=\"4\" y=\"%.0f\">luma (code)</text>\n", y + 12);
        fprintf(out, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"#f3f3f3\"/>\n", SVG_LEFT, y,
                SVG_W - SVG_LEFT - SVG_RIGHT, luma_h);
        series_svg(out, &ax, json_object_get(video, "luma"), 0, 255, y, luma_h, "#b0bec5", "#37474f", 1);
        fprintf(out, "<text x=\"4\" y=\"%.0f\" fill=\"#777\">0..255</text>\n", y + 26);
        y += luma_h + 20;
    }
    if (loud) {
        double tgt = NAN;
        const json_t *r;
        json_array_foreach(json_object_get(rec, "rules"), i, r) if (strcmp(str(r, "rule"), "loudness") == 0)
            tgt = num(json_object_get(r, "measured"), "target");
        fprintf(out, "<text x=\"4\" y=\"%.0f\">loudness (LUFS)</text>\n", y + 12);
        fprintf(out, "<text x=\"4\" y=\"%.0f\" fill=\"#777\">-60..0; short-term</text>\n", y + 26);
        fprintf(out, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"#f3f3f3\"/>\n", SVG_LEFT, y,
                SVG_W - SVG_LEFT - SVG_RIGHT, loud_h);
        if (isfinite(tgt)) {
            double ty = y + loud_h - (tgt + 60) / 60 * loud_h;
            fprintf(out, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#2e7d32\" "
                         "stroke-dasharray=\"4 3\"><title>target %.1f LUFS</title></line>\n",
                    SVG_LEFT, SVG_W - SVG_RIGHT, ty, ty, tgt);
        }
        series_svg(out, &ax, json_object_get(loud, "momentary_timeline"), -60, 0, y, loud_h, "", "#90caf9", 0);
        series_svg(out, &ax, json_object_get(loud, "short_term_timeline"), -60, 0, y, loud_h, "", "#1565c0", 0);
        y += loud_h + 20;
    }
    for (int k = 0; k < ntypes; k++) {
        fprintf(out, "<text x=\"4\" y=\"%.0f\">", y + 11);
        esc(out, types[k]);
        fputs("</text>\n", out);
        json_array_foreach(events, i, e)
        {
            if (strcmp(str(e, "type"), types[k]) != 0)
                continue;
            double x0 = xpos(&ax, num(e, "start")), x1 = xpos(&ax, num(e, "end"));
            fprintf(out, "<rect x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"13\" fill=\"%s\"><title>", x0, y,
                    fmax(x1 - x0, 2), severity_colour(str(e, "severity")));
            esc(out, str(e, "start_tc"));
            fputs(" ", out);
            esc(out, str(e, "message"));
            fputs("</title></rect>\n", out);
        }
        y += 18;
    }
    /* Time axis. */
    double span = ax.t1 - ax.t0, tick = 1;
    const double steps[] = {1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600};
    for (size_t k = 0; k < sizeof steps / sizeof *steps; k++)
        if (span / steps[k] <= 12) {
            tick = steps[k];
            break;
        }
    if (span / tick > 12)
        tick = 3600 * ceil(span / 12 / 3600);
    for (double t = 0; t <= ax.t1 + 1e-9; t += tick) {
        double x = xpos(&ax, t);
        fprintf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"10\" y2=\"%.0f\" stroke=\"#ddd\"/>"
                     "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%d:%02d:%02d</text>\n",
                x, x, y, x, y + 14, (int)(t / 3600), (int)fmod(t / 60, 60), (int)fmod(t, 60));
    }
    fputs("</svg>\n", out);
}

static void facts(FILE *out, const json_t *rec)
{
    const json_t *s = json_object_get(rec, "streams");
    fputs("<table><tr><th>stream</th><th>facts</th></tr>\n", out);
    const char *key;
    const json_t *st;
    json_object_foreach((json_t *)s, key, st)
    {
        fputs("<tr><td>", out);
        esc(out, key);
        fputs("</td><td>", out);
        const char *k;
        const json_t *v;
        int first = 1;
        json_object_foreach((json_t *)st, k, v)
        {
            fprintf(out, "%s", first ? "" : " &middot; ");
            first = 0;
            esc(out, k);
            fputs(" ", out);
            char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(6));
            esc(out, json_is_string(v) ? json_string_value(v) : text);
            free(text);
        }
        fputs("</td></tr>\n", out);
    }
    fputs("</table>\n", out);
}

static void rules(FILE *out, const json_t *rec)
{
    fputs("<table><tr><th>rule</th><th>verdict</th><th>severity</th><th>events</th><th>finding / measured</th>"
          "<th>thresholds</th></tr>\n", out);
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(rec, "rules"), i, r)
    {
        const char *v = str(r, "verdict");
        fputs("<tr><td>", out);
        esc(out, str(r, "rule"));
        fputs("<br><small>", out);
        esc(out, str(r, "what"));
        fprintf(out, "</small></td><td class=\"%s\">", v);
        esc(out, v);
        fputs("</td><td>", out);
        esc(out, str(r, "severity"));
        fputs("</td><td>", out);
        if (json_object_get(r, "events"))
            fprintf(out, "%lld", (long long)num(r, "events"));
        fputs("</td><td>", out);
        esc(out, json_object_get(r, "finding") ? str(r, "finding") : str(r, "reason"));
        const json_t *m = json_object_get(r, "measured");
        if (m) {
            char *text = json_dumps(m, JSON_COMPACT | JSON_REAL_PRECISION(6));
            fputs(" <small>", out);
            esc(out, text);
            fputs("</small>", out);
            free(text);
        }
        fputs("</td><td><small>", out);
        const json_t *th = json_object_get(r, "thresholds");
        if (th) {
            char *text = json_dumps(th, JSON_COMPACT | JSON_REAL_PRECISION(6));
            esc(out, text);
            free(text);
        }
        fputs("</small></td></tr>\n", out);
    }
    fputs("</table>\n", out);
}

static void events(FILE *out, const json_t *rec)
{
    const json_t *list = json_object_get(rec, "events");
    if (json_array_size(list) == 0) {
        fputs("<p>No events.</p>\n", out);
        return;
    }
    fputs("<table><tr><th>timecode</th><th>seconds</th><th>frames</th><th>type</th><th>severity</th>"
          "<th>what</th><th>picture</th></tr>\n", out);
    size_t i;
    const json_t *e;
    json_array_foreach(list, i, e)
    {
        fputs("<tr><td>", out);
        esc(out, str(e, "start_tc"));
        fputs(" &ndash; ", out);
        esc(out, str(e, "end_tc"));
        fprintf(out, "</td><td>%.3f &ndash; %.3f</td><td>", num(e, "start"), num(e, "end"));
        if (json_object_get(e, "start_frame"))
            fprintf(out, "%lld &ndash; %lld", (long long)num(e, "start_frame"), (long long)num(e, "end_frame"));
        fputs("</td><td>", out);
        esc(out, str(e, "type"));
        fprintf(out, "</td><td class=\"%s\">", strcmp(str(e, "severity"), "error") == 0 ? "fail" : str(e, "severity"));
        esc(out, str(e, "severity"));
        fputs("</td><td>", out);
        esc(out, str(e, "message"));
        char *vals = json_dumps(json_object_get(e, "values"), JSON_COMPACT | JSON_REAL_PRECISION(6));
        fputs("<br><small>", out);
        esc(out, vals);
        free(vals);
        fputs("</small></td><td>", out);
        const char *thumb = str(e, "thumbnail");
        if (strncmp(thumb, "data:image/", 11) == 0) {
            fputs("<img class=\"thumb\" alt=\"frame\" src=\"", out);
            esc(out, thumb);
            fputs("\">", out);
        }
        fputs("</td></tr>\n", out);
    }
    fputs("</table>\n", out);
}

void qc_html_file(FILE *out, const json_t *rec)
{
    const char *verdict = str(rec, "verdict");
    int pass = strcmp(verdict, "pass") == 0;
    fputs("<h2>", out);
    esc(out, str(rec, "path"));
    fprintf(out, "</h2>\n<p><span class=\"verdict %s\">%s</span> against profile <b>", pass ? "v-pass" : "v-fail",
            pass ? "PASS" : "FAIL");
    esc(out, str(rec, "profile"));
    fputs("</b></p>\n", out);
    facts(out, rec);
    const json_t *lo = json_object_get(rec, "loudness");
    if (lo) {
        double v[3] = {num(lo, "integrated"), num(lo, "loudness_range"), num(lo, "true_peak")};
        const char *unit[3] = {"LUFS", "LU", "dBTP"}, *label[3] = {"Loudness", "range", "true peak"};
        fputs("<p>", out);
        for (int i = 0; i < 3; i++) {
            fprintf(out, "%s%s ", i ? " &middot; " : "", label[i]);
            if (isfinite(v[i]))
                fprintf(out, "%.1f %s", v[i], unit[i]);
            else
                fputs("&ndash; (not measurable)", out);
        }
        fputs("</p>\n", out);
    }
    timeline(out, rec);
    fputs("<h3>Rules</h3>\n", out);
    rules(out, rec);
    fputs("<h3>Events</h3>\n", out);
    events(out, rec);
    const json_t *cuts = json_object_get(rec, "cuts");
    if (cuts) {
        fprintf(out, "<h3>Shot cuts (%zu)</h3>\n<p>", json_array_size(cuts));
        size_t i;
        const json_t *c;
        json_array_foreach(cuts, i, c) fprintf(out, "%s%.3f s (frame %lld)", i ? ", " : "", num(c, "time"),
                                               (long long)num(c, "frame"));
        fputs("</p>\n", out);
    }
    size_t i;
    const json_t *note;
    json_array_foreach(json_object_get(rec, "notes"), i, note)
    {
        fputs("<p><small>", out);
        esc(out, json_string_value(note));
        fputs("</small></p>\n", out);
    }
}
