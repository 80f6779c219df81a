/*
 * exports.c — the edit as files editing software opens: CMX 3600 EDL
 * (Premiere, Resolve, Avid), FCPXML 1.9 (Final Cut Pro, Resolve) and
 * OpenTimelineIO JSON. Each lists the kept source ranges in order; all
 * times are whole frames of the source's rate, counted from its first frame
 * (the ranges come in snapped to frames).
 */
#include "speech/render.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

static int64_t to_frames(double t, const pk_timeline *tl)
{
    return llround(t * tl->fps_num / tl->fps_den);
}

/* Timecode HH:MM:SS:FF at the nominal integer rate (non-drop frame). */
static void timecode(int64_t frames, int base, char out[16])
{
    if (frames < 0)
        frames = 0;
    /* EDL timecode wraps at 24 hours. */
    int h = (int)(frames / base / 3600 % 24), m = (int)(frames / base / 60 % 60), s = (int)(frames / base % 60),
        f = (int)(frames % base % 100);
    snprintf(out, 16, "%02d:%02d:%02d:%02d", h, m, s, f);
}

static int nominal_rate(const pk_timeline *tl)
{
    int r = (int)lround((double)tl->fps_num / tl->fps_den);
    return r > 0 ? r : 25;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

void pk_export_edl(FILE *f, const pk_timeline *tl)
{
    int base = nominal_rate(tl);
    fprintf(f, "TITLE: %s\n", tl->name);
    fprintf(f, "FCM: NON-DROP FRAME\n");
    fprintf(f, "* FRAME RATE: %g (%d/%d), timecode base %d\n\n", (double)tl->fps_num / tl->fps_den, tl->fps_num,
            tl->fps_den, base);
    /* The record side starts at 01:00:00:00, the usual programme start. */
    int64_t rec = (int64_t)base * 3600;
    const char *channels = tl->width > 0 ? (tl->audio_channels > 0 ? "AA/V" : "V   ") : "AA  ";
    for (size_t i = 0; i < tl->n; i++) {
        int64_t s = to_frames(tl->ranges[i].start, tl), e = to_frames(tl->ranges[i].end, tl);
        char si[16], so[16], ri[16], ro[16];
        timecode(s, base, si);
        timecode(e, base, so);
        timecode(rec, base, ri);
        timecode(rec + (e - s), base, ro);
        fprintf(f, "%03zu  AX       %s  C        %s %s %s %s\n", i + 1, channels, si, so, ri, ro);
        fprintf(f, "* FROM CLIP NAME: %s\n\n", base_name(tl->source_path));
        rec += e - s;
    }
}

static void xml_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* file:// URL of an absolute path, percent-encoding what URLs reserve. */
static void file_url(FILE *f, const char *path, bool xml)
{
    fputs("file://", f);
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (isalnum(*p) || strchr("/-._~", *p))
            fputc(*p, f);
        else if (*p == '&' && xml)
            fputs("%26", f);
        else
            fprintf(f, "%%%02X", *p);
    }
}

/* A rational time of `frames` frames: "N/Ds" with the frame duration's
 * denominator, as FCPXML writes it. */
static void fcp_time(FILE *f, int64_t frames, const pk_timeline *tl)
{
    if (frames == 0)
        fputs("0s", f);
    else
        fprintf(f, "%lld/%ds", (long long)(frames * tl->fps_den), tl->fps_num);
}

void pk_export_fcpxml(FILE *f, const pk_timeline *tl)
{
    int64_t total = 0;
    for (size_t i = 0; i < tl->n; i++)
        total += to_frames(tl->ranges[i].end, tl) - to_frames(tl->ranges[i].start, tl);
    int64_t src_frames = to_frames(tl->source_duration, tl);
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE fcpxml>\n<fcpxml version=\"1.9\">\n", f);
    fputs("  <resources>\n", f);
    fprintf(f, "    <format id=\"r1\" frameDuration=\"%d/%ds\"", tl->fps_den, tl->fps_num);
    if (tl->width > 0)
        fprintf(f, " width=\"%d\" height=\"%d\"", tl->width, tl->height);
    fputs("/>\n", f);
    fputs("    <asset id=\"r2\" name=\"", f);
    xml_escaped(f, base_name(tl->source_path));
    fputs("\" start=\"0s\" duration=\"", f);
    fcp_time(f, src_frames, tl);
    fprintf(f, "\" hasVideo=\"%d\" hasAudio=\"%d\" format=\"r1\"", tl->width > 0, tl->audio_channels > 0);
    if (tl->audio_channels > 0)
        fprintf(f, " audioSources=\"1\" audioChannels=\"%d\" audioRate=\"%d\"", tl->audio_channels, tl->audio_rate);
    fputs(">\n      <media-rep kind=\"original-media\" src=\"", f);
    file_url(f, tl->source_path, true);
    fputs("\"/>\n    </asset>\n  </resources>\n", f);
    fputs("  <library>\n    <event name=\"postkit\">\n      <project name=\"", f);
    xml_escaped(f, tl->name);
    fputs("\">\n        <sequence format=\"r1\" duration=\"", f);
    fcp_time(f, total, tl);
    fputs("\" tcStart=\"0s\" tcFormat=\"NDF\">\n          <spine>\n", f);
    int64_t offset = 0;
    for (size_t i = 0; i < tl->n; i++) {
        int64_t s = to_frames(tl->ranges[i].start, tl), e = to_frames(tl->ranges[i].end, tl);
        fputs("            <asset-clip ref=\"r2\" name=\"", f);
        xml_escaped(f, base_name(tl->source_path));
        fputs("\" offset=\"", f);
        fcp_time(f, offset, tl);
        fputs("\" start=\"", f);
        fcp_time(f, s, tl);
        fputs("\" duration=\"", f);
        fcp_time(f, e - s, tl);
        fputs("\" format=\"r1\" tcFormat=\"NDF\"/>\n", f);
        offset += e - s;
    }
    fputs("          </spine>\n        </sequence>\n      </project>\n    </event>\n  </library>\n</fcpxml>\n", f);
}

static json_t *rational_time(int64_t frames, double rate)
{
    json_t *t = json_object();
    json_object_set_new(t, "OTIO_SCHEMA", json_string("RationalTime.1"));
    json_object_set_new(t, "rate", json_real(rate));
    json_object_set_new(t, "value", json_real((double)frames));
    return t;
}

static json_t *time_range(int64_t start, int64_t duration, double rate)
{
    json_t *r = json_object();
    json_object_set_new(r, "OTIO_SCHEMA", json_string("TimeRange.1"));
    json_object_set_new(r, "duration", rational_time(duration, rate));
    json_object_set_new(r, "start_time", rational_time(start, rate));
    return r;
}

static char *url_string(const char *path)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *m = open_memstream(&buf, &size);
    if (!m)
        return NULL;
    file_url(m, path, false);
    fclose(m);
    return buf;
}

static json_t *track(const pk_timeline *tl, const char *name, const char *kind, double rate)
{
    json_t *t = json_object();
    json_object_set_new(t, "OTIO_SCHEMA", json_string("Track.1"));
    json_object_set_new(t, "metadata", json_object());
    json_object_set_new(t, "name", json_string(name));
    json_object_set_new(t, "source_range", json_null());
    json_object_set_new(t, "effects", json_array());
    json_object_set_new(t, "markers", json_array());
    json_object_set_new(t, "kind", json_string(kind));
    json_t *children = json_array();
    char *url = url_string(tl->source_path);
    for (size_t i = 0; i < tl->n; i++) {
        int64_t s = to_frames(tl->ranges[i].start, tl), e = to_frames(tl->ranges[i].end, tl);
        json_t *ref = json_object();
        json_object_set_new(ref, "OTIO_SCHEMA", json_string("ExternalReference.1"));
        json_object_set_new(ref, "metadata", json_object());
        json_object_set_new(ref, "name", pk_json_string(base_name(tl->source_path)));
        json_object_set_new(ref, "available_range", time_range(0, to_frames(tl->source_duration, tl), rate));
        json_object_set_new(ref, "target_url", pk_json_string(url ? url : tl->source_path));
        json_t *clip = json_object();
        json_object_set_new(clip, "OTIO_SCHEMA", json_string("Clip.1"));
        json_object_set_new(clip, "metadata", json_object());
        char cname[64];
        snprintf(cname, sizeof cname, "%s %zu", kind, i + 1);
        json_object_set_new(clip, "name", json_string(cname));
        json_object_set_new(clip, "source_range", time_range(s, e - s, rate));
        json_object_set_new(clip, "effects", json_array());
        json_object_set_new(clip, "markers", json_array());
        json_object_set_new(clip, "media_reference", ref);
        json_array_append_new(children, clip);
    }
    free(url);
    json_object_set_new(t, "children", children);
    return t;
}

void pk_export_otio(FILE *f, const pk_timeline *tl)
{
    double rate = (double)tl->fps_num / tl->fps_den;
    json_t *stack = json_object();
    json_object_set_new(stack, "OTIO_SCHEMA", json_string("Stack.1"));
    json_object_set_new(stack, "metadata", json_object());
    json_object_set_new(stack, "name", json_string("tracks"));
    json_object_set_new(stack, "source_range", json_null());
    json_object_set_new(stack, "effects", json_array());
    json_object_set_new(stack, "markers", json_array());
    json_t *tracks = json_array();
    if (tl->width > 0)
        json_array_append_new(tracks, track(tl, "V1", "Video", rate));
    if (tl->audio_channels > 0)
        json_array_append_new(tracks, track(tl, "A1", "Audio", rate));
    json_object_set_new(stack, "children", tracks);
    json_t *root = json_object();
    json_object_set_new(root, "OTIO_SCHEMA", json_string("Timeline.1"));
    json_object_set_new(root, "metadata", json_object());
    json_object_set_new(root, "name", pk_json_string(tl->name));
    json_object_set_new(root, "global_start_time", json_null());
    json_object_set_new(root, "tracks", stack);
    json_dumpf(root, f, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
    fputc('\n', f);
    json_decref(root);
}
