/*
 * contact.c — the HTML contact sheet of a photo batch: one self-contained
 * page (thumbnails embedded as data URIs, no scripts, no external files) a
 * client or art director can open from a mail or a USB stick. It is
 * written row by row as results arrive, through a safe output, so a batch
 * of 5,000 photos costs no more memory than one of 5.
 */
#include "photo/internal.h"

#include <string.h>

struct pk_contact_sheet {
    pk_output *out;
    FILE *f;
    int rows, failures;
};

/* Text for HTML: made valid UTF-8 (a file name need not be), then escaped. */
static void put_text(FILE *f, const char *s)
{
    gchar *valid = g_utf8_make_valid(s ? s : "", -1);
    gchar *esc = g_markup_escape_text(valid, -1);
    fputs(esc, f);
    g_free(esc);
    g_free(valid);
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

pk_status pk_contact_sheet_open(pk_run *run, const char *path, const char *title,
                                const char *ref_path, pk_contact_sheet **out)
{
    pk_contact_sheet *cs = calloc(1, sizeof *cs);
    if (!cs)
        return pk_fail(pk_run_ctx(run), PK_ERR_INTERNAL, NULL, "out of memory");
    pk_status s = pk_output_open(run, path, &cs->out);
    if (s != PK_OK) {
        free(cs);
        return s;
    }
    cs->f = pk_output_file(cs->out);
    if (!cs->f) {
        pk_output_abort(run, cs->out);
        free(cs);
        return pk_fail(pk_run_ctx(run), PK_ERR_OUTPUT, path, "cannot write");
    }
    FILE *f = cs->f;
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>", f);
    put_text(f, title);
    fputs("</title>\n<style>\n"
          "body{font:14px/1.4 system-ui,sans-serif;margin:24px;background:#1e1e1e;color:#ddd}\n"
          "h1{font-size:20px;font-weight:600}\n"
          "table{border-collapse:collapse}\n"
          "td,th{padding:6px 10px;vertical-align:middle;text-align:left;border-bottom:1px solid #333}\n"
          "th{font-weight:600;color:#aaa}\n"
          "img{display:block;max-width:256px;max-height:256px}\n"
          ".num{font-variant-numeric:tabular-nums;white-space:nowrap}\n"
          ".fail{color:#f77}\n"
          "a{color:#9cf}\n"
          "</style></head><body>\n<h1>",
          f);
    put_text(f, title);
    fputs("</h1>\n", f);
    if (ref_path) {
        fputs("<p>Reference: <b>", f);
        put_text(f, base_name(ref_path));
        fputs("</b></p>\n", f);
    }
    fputs("<table>\n<tr><th>photo</th><th>before</th><th>after</th>", f);
    if (ref_path)
        fputs("<th>reference</th>", f);
    fputs("<th>exposure</th><th>white balance</th></tr>\n", f);
    *out = cs;
    return PK_OK;
}

static void put_image(FILE *f, const char *uri, const char *alt)
{
    fputs("<td>", f);
    if (uri) {
        fputs("<img src=\"", f);
        fputs(uri, f); /* base64: nothing to escape */
        fputs("\" alt=\"", f);
        put_text(f, alt);
        fputs("\">", f);
    }
    fputs("</td>", f);
}

static void put_cct(FILE *f, const json_t *wb, const char *key_cct, const char *key_duv)
{
    const json_t *t = json_object_get(wb, key_cct), *d = json_object_get(wb, key_duv);
    if (json_is_number(t))
        fprintf(f, "%.0f K", json_number_value(t));
    else
        fputs("?", f);
    if (json_is_number(d))
        fprintf(f, " (Duv %+.4f)", json_number_value(d));
}

void pk_contact_sheet_add(pk_contact_sheet *cs, const json_t *record, const char *before_uri,
                          const char *after_uri, const char *ref_uri)
{
    FILE *f = cs->f;
    const char *in = json_string_value(json_object_get(record, "input"));
    const char *outp = json_string_value(json_object_get(record, "output"));
    fputs("<tr><td>", f);
    put_text(f, base_name(in ? in : ""));
    if (outp) {
        fputs("<br><a href=\"", f);
        gchar *uri = g_uri_escape_string(base_name(outp), NULL, FALSE);
        put_text(f, uri);
        g_free(uri);
        fputs("\">", f);
        put_text(f, base_name(outp));
        fputs("</a>", f);
    }
    fputs("</td>", f);
    put_image(f, before_uri, "before");
    put_image(f, after_uri, "after");
    if (ref_uri)
        put_image(f, ref_uri, "reference");
    const json_t *ex = json_object_get(record, "exposure");
    fputs("<td class=\"num\">", f);
    if (ex)
        fprintf(f, "%+.2f EV", json_number_value(json_object_get(ex, "ev")));
    else
        fputs("&ndash;", f);
    fputs("</td><td class=\"num\">", f);
    const json_t *wb = json_object_get(record, "white_balance");
    if (wb) {
        put_cct(f, wb, "cct_before", "duv_before");
        fputs(" &rarr; ", f);
        put_cct(f, wb, "cct_after", "duv_after");
    } else {
        fputs("&ndash;", f);
    }
    fputs("</td></tr>\n", f);
    cs->rows++;
}

void pk_contact_sheet_add_failure(pk_contact_sheet *cs, const char *input, const char *message)
{
    fputs("<tr><td>", cs->f);
    put_text(cs->f, base_name(input));
    fputs("</td><td class=\"fail\" colspan=\"5\">", cs->f);
    put_text(cs->f, message);
    fputs("</td></tr>\n", cs->f);
    cs->failures++;
}

pk_status pk_contact_sheet_close(pk_run *run, pk_contact_sheet *cs)
{
    fprintf(cs->f, "</table>\n<p>%d photo%s corrected", cs->rows, cs->rows == 1 ? "" : "s");
    if (cs->failures)
        fprintf(cs->f, ", %d could not be", cs->failures);
    fputs(". Written by postkit ", cs->f);
    put_text(cs->f, pk_version());
    fputs(".</p>\n</body></html>\n", cs->f);
    pk_output_note(cs->out, "rows", json_integer(cs->rows));
    pk_status s = ferror(cs->f) ? pk_fail(pk_run_ctx(run), PK_ERR_OUTPUT, pk_output_path(cs->out),
                                          "cannot write (disk full?)")
                                : PK_OK;
    if (s == PK_OK)
        s = pk_output_commit(run, cs->out);
    else
        pk_output_abort(run, cs->out);
    free(cs);
    return s;
}

void pk_contact_sheet_abort(pk_run *run, pk_contact_sheet *cs)
{
    if (!cs)
        return;
    pk_output_abort(run, cs->out);
    free(cs);
}

pk_status pk_photo_thumb_uri(pk_ctx *ctx, VipsImage *srgb8, int size, char **out)
{
    VipsImage *small = NULL;
    void *buf = NULL;
    size_t len = 0;
    double scale = (double)size / (srgb8->Xsize > srgb8->Ysize ? srgb8->Xsize : srgb8->Ysize);
    int bad = scale < 1 ? vips_resize(srgb8, &small, scale, NULL) : vips_copy(srgb8, &small, NULL);
    if (!bad)
        bad = vips_jpegsave_buffer(small, &buf, &len, "Q", 82, "strip", TRUE, NULL);
    if (small)
        g_object_unref(small);
    if (bad) {
        pk_status s = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "cannot make a thumbnail: %s",
                              vips_error_buffer());
        vips_error_clear();
        return s;
    }
    gchar *b64 = g_base64_encode(buf, len);
    g_free(buf);
    *out = g_strconcat("data:image/jpeg;base64,", b64, NULL);
    g_free(b64);
    return PK_OK;
}
