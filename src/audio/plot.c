/*
 * plot.c — small self-contained SVG plots for the audio reports: loudness
 * over time and the match-EQ curve with its spectra. No fonts or scripts are
 * referenced beyond a generic sans-serif; a name ending in .png is
 * rasterised by libvips (librsvg) from the same SVG.
 */
#include "audio/internal.h"
#include "media/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <vips/vips.h>

/* ---- timeline ----------------------------------------------------------- */

typedef struct bucket {
    double t, m, s;   /* start time; maxima (NAN when none) */
} bucket;

typedef struct mark {
    double t;
    char label[64];
} mark;

struct pk_timeline {
    bucket *b;
    int n, max, per, in_last;   /* per: points per bucket; in_last: points in the last one */
    mark marks[64];
    int nmarks;
    double end;
};

pk_timeline *pk_timeline_new(int max_points)
{
    pk_timeline *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->max = max_points < 16 ? 16 : max_points;
    t->b = calloc((size_t)t->max, sizeof *t->b);
    if (!t->b) {
        free(t);
        return NULL;
    }
    t->per = 1;
    return t;
}

void pk_timeline_free(pk_timeline *t)
{
    if (!t)
        return;
    free(t->b);
    free(t);
}

static double nanmax(double a, double b)
{
    return isnan(a) ? b : isnan(b) ? a : fmax(a, b);
}

void pk_timeline_add(pk_timeline *t, double time, double m, double s)
{
    t->end = fmax(t->end, time);
    if (t->n > 0 && t->in_last < t->per) {
        bucket *l = &t->b[t->n - 1];
        l->m = nanmax(l->m, m);
        l->s = nanmax(l->s, s);
        t->in_last++;
        return;
    }
    if (t->n == t->max) {
        /* Full: merge neighbours, halving the resolution. */
        for (int i = 0; i < t->n / 2; i++) {
            bucket a = t->b[2 * i], c = t->b[2 * i + 1];
            t->b[i] = (bucket){a.t, nanmax(a.m, c.m), nanmax(a.s, c.s)};
        }
        t->n /= 2;
        t->per *= 2;
        bucket *l = &t->b[t->n - 1];
        l->m = nanmax(l->m, m);
        l->s = nanmax(l->s, s);
        t->in_last = t->per / 2 + 1;
        return;
    }
    t->b[t->n++] = (bucket){time, m, s};
    t->in_last = 1;
}

void pk_timeline_append(pk_timeline *dst, const pk_timeline *src, double offset)
{
    for (int i = 0; i < src->n; i++)
        pk_timeline_add(dst, src->b[i].t + offset, src->b[i].m, src->b[i].s);
    dst->end = fmax(dst->end, src->end + offset);
}

void pk_timeline_mark(pk_timeline *t, double time, const char *label)
{
    if (t->nmarks < 64) {
        t->marks[t->nmarks].t = time;
        snprintf(t->marks[t->nmarks].label, sizeof t->marks[0].label, "%s", label);
        t->nmarks++;
    }
}

/* ---- writing ------------------------------------------------------------ */

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* Write `svg` (a memory stream's text) to `path` as SVG or PNG. */
static pk_status save(pk_run *run, const char *path, const char *svg, size_t len)
{
    pk_ctx *ctx = pk_run_ctx(run);
    const char *dot = strrchr(path, '.');
    int png = dot && strcasecmp(dot, ".png") == 0;
    if (!png && !(dot && strcasecmp(dot, ".svg") == 0))
        return pk_fail(ctx, PK_ERR_USAGE, path, "a plot is written as .svg or .png");
    pk_output *out;
    pk_status st = pk_output_open(run, path, &out);
    if (st != PK_OK)
        return st;
    if (!png) {
        FILE *f = pk_output_file(out);
        if (!f || fwrite(svg, 1, len, f) != len) {
            pk_output_abort(run, out);
            return pk_fail(ctx, PK_ERR_OUTPUT, path, "cannot write the plot");
        }
        return pk_output_commit(run, out);
    }
    VipsImage *img = NULL;
    if ((st = pk_image_libs_start(ctx, path)) != PK_OK) {
        pk_output_abort(run, out);
        return st;
    }
    if (vips_svgload_buffer((void *)svg, len, &img, "dpi", 96.0, NULL) != 0 ||
        vips_pngsave(img, pk_output_tmp_path(out), NULL) != 0) {
        const char *why = vips_error_buffer();
        st = pk_fail(ctx, PK_ERR_OUTPUT, path, "cannot render the plot as PNG (%.*s)",
                     (int)strcspn(why, "\n"), why);
        vips_error_clear();
        if (img)
            g_object_unref(img);
        pk_output_abort(run, out);
        return st;
    }
    g_object_unref(img);
    return pk_output_commit(run, out);
}

#define W 960
#define H 400
#define L 56
#define R 24
#define T 36
#define B 44

static void time_label(double s, char *buf, size_t n)
{
    if (s >= 3600)
        snprintf(buf, n, "%d:%02d:%02d", (int)(s / 3600), (int)fmod(s / 60, 60), (int)fmod(s, 60));
    else
        snprintf(buf, n, "%d:%02d", (int)(s / 60), (int)fmod(s, 60));
}

pk_status pk_plot_loudness(pk_run *run, const char *path, const pk_timeline *t, double target,
                           double integrated, const char *title)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return pk_fail(pk_run_ctx(run), PK_ERR_INTERNAL, NULL, "out of memory");
    double top = -INFINITY;
    for (int i = 0; i < t->n; i++)
        top = nanmax(top, t->b[i].m);
    top = fmax(isfinite(top) ? top : target, target) + 3;
    top = 6 * ceil(top / 6);
    double bottom = top - 54, dur = fmax(t->end, 1.0);
#define X(tt) (L + (W - L - R) * (tt) / dur)
#define Y(v) (T + (H - T - B) * (top - fmax(bottom, fmin(top, (v)))) / (top - bottom))
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H, W, H);
    fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H);
    fprintf(f, "<text x=\"%d\" y=\"22\" font-size=\"15\">", L);
    xml_text(f, title);
    fprintf(f, "</text>\n");
    /* Target band +-1 LU. */
    fprintf(f, "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"#d8f0d8\"/>\n", L,
            Y(target + 1), W - L - R, Y(target - 1) - Y(target + 1));
    for (double v = bottom; v <= top + 1e-9; v += 6) {
        fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", L, W - R,
                Y(v), Y(v));
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n", L - 6, Y(v) + 4, v);
    }
    fprintf(f, "<text x=\"14\" y=\"%d\" transform=\"rotate(-90 14 %d)\" text-anchor=\"middle\">LUFS</text>\n",
            (T + H - B) / 2, (T + H - B) / 2);
    static const double steps[] = {1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200};
    double step = steps[PK_ARRAY_LEN(steps) - 1];
    for (size_t i = 0; i < PK_ARRAY_LEN(steps); i++)
        if (dur / steps[i] <= 10) {
            step = steps[i];
            break;
        }
    char lab[32];
    for (double x = 0; x <= dur + 1e-9; x += step) {
        time_label(x, lab, sizeof lab);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", X(x), H - B + 18, lab);
    }
    for (int i = 0; i < t->nmarks; i++) {
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#888\" stroke-dasharray=\"3,3\"/>\n",
                X(t->marks[i].t), X(t->marks[i].t), T, H - B);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" fill=\"#555\">", X(t->marks[i].t) + 3, T + 12);
        xml_text(f, t->marks[i].label);
        fprintf(f, "</text>\n");
    }
    for (int pass = 0; pass < 2; pass++) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%s\" points=\"",
                pass ? "#1f5fbf" : "#aaaaaa", pass ? "2" : "1");
        for (int i = 0; i < t->n; i++) {
            double v = pass ? t->b[i].s : t->b[i].m;
            if (!isnan(v))
                fprintf(f, "%.1f,%.1f ", X(t->b[i].t), Y(v));
        }
        fprintf(f, "\"/>\n");
    }
    if (isfinite(integrated))
        fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#c03030\" "
                   "stroke-dasharray=\"6,4\"/>\n", L, W - R, Y(integrated), Y(integrated));
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>\n", L, T,
            W - L - R, H - T - B);
    fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"#888\">momentary (max per point)</text>"
               "<text x=\"%d\" y=\"%d\" fill=\"#1f5fbf\">short-term</text>"
               "<text x=\"%d\" y=\"%d\" fill=\"#c03030\">integrated %.1f LUFS</text>"
               "<text x=\"%d\" y=\"%d\" fill=\"#3a8a3a\">target %.1f LUFS \u00b11 LU</text>\n",
            L, H - 6, L + 190, H - 6, L + 290, H - 6, integrated, L + 470, H - 6, target);
    fprintf(f, "</svg>\n");
#undef X
#undef Y
    fclose(f);
    pk_status st = save(run, path, buf, len);
    free(buf);
    return st;
}

pk_status pk_plot_eq(pk_run *run, const char *path, const double *curve, const double *in_db,
                     const double *ref_db, const double *out_db)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return pk_fail(pk_run_ctx(run), PK_ERR_INTERNAL, NULL, "out of memory");
    const double top = 24, bottom = -36;
#define X(i) (L + (W - L - R) * (double)(i) / (PK_EQ_POINTS - 1))
#define Y(v) (T + (H - T - B) * (top - fmax(bottom, fmin(top, (v)))) / (top - bottom))
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H, W, H);
    fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H);
    fprintf(f, "<text x=\"%d\" y=\"22\" font-size=\"15\">Match EQ: applied curve and spectra "
               "(spectra aligned to 0 dB mean)</text>\n", L);
    for (double v = bottom; v <= top + 1e-9; v += 6) {
        fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", L, W - R, Y(v),
                Y(v), v == 0 ? "#999" : "#e4e4e4");
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%+.0f</text>\n", L - 6, Y(v) + 4, v);
    }
    static const int hz[] = {20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000};
    for (size_t i = 0; i < PK_ARRAY_LEN(hz); i++) {
        double p = 24 * log2(hz[i] / PK_EQ_LO_HZ);
        char lab[16];
        if (hz[i] >= 1000)
            snprintf(lab, sizeof lab, "%dk", hz[i] / 1000);
        else
            snprintf(lab, sizeof lab, "%d", hz[i]);
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#e4e4e4\"/>"
                   "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                X(p), X(p), T, H - B, X(p), H - B + 18, lab);
    }
    const double *series[4] = {in_db, ref_db, out_db, curve};
    const char *colour[4] = {"#999999", "#1f5fbf", "#2e8b57", "#c03030"};
    const char *name[4] = {"input", "reference", "output", "EQ curve (dB)"};
    for (int k = 0; k < 4; k++) {
        const double *s = series[k];
        if (!s)
            continue;
        double mean = 0;
        if (k < 3) {
            for (int i = 0; i < PK_EQ_POINTS; i++)
                mean += s[i] / PK_EQ_POINTS;
        }
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%s\"%s points=\"", colour[k],
                k == 3 ? "2.5" : "1.3", k == 2 ? " stroke-dasharray=\"5,3\"" : "");
        for (int i = 0; i < PK_EQ_POINTS; i++)
            fprintf(f, "%.1f,%.1f ", X(i), Y(s[i] - mean));
        fprintf(f, "\"/>\n<text x=\"%d\" y=\"%d\" fill=\"%s\">%s</text>\n", L + 150 * k, H - 6, colour[k],
                name[k]);
    }
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>\n", L, T,
            W - L - R, H - T - B);
    fprintf(f, "</svg>\n");
#undef X
#undef Y
    fclose(f);
    pk_status st = save(run, path, buf, len);
    free(buf);
    return st;
}
