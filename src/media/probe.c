/*
 * probe.c — `postkit probe`: one record per file with what a professional
 * checks before using it: container, duration, every stream's technical
 * facts, and for photos the camera metadata.
 */
#include "media/internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>

static double q2d_or_nan(AVRational r)
{
    return r.num && r.den ? av_q2d(r) : NAN;
}

static void set_rational(json_t *obj, const char *key, AVRational r)
{
    if (!r.num || !r.den)
        return;
    char buf[64];
    snprintf(buf, sizeof buf, "%d/%d", r.num, r.den);
    json_object_set_new(obj, key, json_string(buf));
}

static json_t *tags_json(const AVDictionary *dict)
{
    json_t *tags = json_object();
    const AVDictionaryEntry *e = NULL;
    while ((e = av_dict_get(dict, "", e, AV_DICT_IGNORE_SUFFIX)))
        json_object_set_new(tags, e->key, pk_json_string(e->value));
    return tags;
}

static const char *field_order_name(enum AVFieldOrder f)
{
    switch (f) {
    case AV_FIELD_PROGRESSIVE: return "progressive";
    case AV_FIELD_TT: return "top first";
    case AV_FIELD_BB: return "bottom first";
    case AV_FIELD_TB: return "top coded first, bottom displayed first";
    case AV_FIELD_BT: return "bottom coded first, top displayed first";
    default: return NULL;
    }
}

static json_t *stream_json(const AVFormatContext *fmt, const AVStream *s)
{
    const AVCodecParameters *p = s->codecpar;
    json_t *j = json_object();
    json_object_set_new(j, "index", json_integer(s->index));
    const char *type = av_get_media_type_string(p->codec_type);
    if (p->codec_type == AVMEDIA_TYPE_VIDEO && (s->disposition & AV_DISPOSITION_ATTACHED_PIC))
        type = "cover";
    json_object_set_new(j, "type", json_string(type ? type : "unknown"));
    const AVCodecDescriptor *cd = avcodec_descriptor_get(p->codec_id);
    json_object_set_new(j, "codec", json_string(cd ? cd->name : "unknown"));
    if (cd && cd->long_name)
        json_object_set_new(j, "codec_long_name", json_string(cd->long_name));
    pk_json_set_str(j, "profile", avcodec_profile_name(p->codec_id, p->profile));
    if (p->bit_rate > 0)
        pk_json_set_int(j, "bit_rate", p->bit_rate);

    if (p->codec_type == AVMEDIA_TYPE_VIDEO) {
        pk_json_set_int(j, "width", p->width);
        pk_json_set_int(j, "height", p->height);
        set_rational(j, "sample_aspect_ratio", p->sample_aspect_ratio);
        AVRational fr = s->avg_frame_rate.num ? s->avg_frame_rate : s->r_frame_rate;
        if (!(s->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
            pk_json_set_real(j, "frame_rate", pk_round(q2d_or_nan(fr), 4));
            set_rational(j, "avg_frame_rate", s->avg_frame_rate);
            set_rational(j, "r_frame_rate", s->r_frame_rate);
            /* Variable frame rate shows as an average that differs from the
             * container's base rate. */
            if (s->avg_frame_rate.num && s->r_frame_rate.num &&
                av_cmp_q(s->avg_frame_rate, s->r_frame_rate) != 0)
                json_object_set_new(j, "variable_frame_rate", json_true());
        }
        const AVPixFmtDescriptor *pd = av_pix_fmt_desc_get((enum AVPixelFormat)p->format);
        if (pd) {
            json_object_set_new(j, "pix_fmt", json_string(pd->name));
            pk_json_set_int(j, "bit_depth", pd->comp[0].depth);
        }
        pk_json_set_str(j, "field_order", field_order_name(p->field_order));
        pk_json_set_str(j, "color_range", av_color_range_name(p->color_range));
        if (p->color_space != AVCOL_SPC_UNSPECIFIED)
            pk_json_set_str(j, "color_space", av_color_space_name(p->color_space));
        if (p->color_primaries != AVCOL_PRI_UNSPECIFIED)
            pk_json_set_str(j, "color_primaries", av_color_primaries_name(p->color_primaries));
        if (p->color_trc != AVCOL_TRC_UNSPECIFIED)
            pk_json_set_str(j, "color_transfer", av_color_transfer_name(p->color_trc));
        pk_json_set_int(j, "rotation", pk_ffmpeg_stream_rotation(s));
    } else if (p->codec_type == AVMEDIA_TYPE_AUDIO) {
        pk_json_set_int(j, "sample_rate", p->sample_rate);
        pk_json_set_int(j, "channels", p->ch_layout.nb_channels);
        char layout[128];
        if (p->ch_layout.order != AV_CHANNEL_ORDER_UNSPEC &&
            av_channel_layout_describe(&p->ch_layout, layout, sizeof layout) > 0)
            json_object_set_new(j, "channel_layout", json_string(layout));
        pk_json_set_str(j, "sample_format", av_get_sample_fmt_name((enum AVSampleFormat)p->format));
        int bits = pk_ffmpeg_audio_bits(p);
        if (bits > 0)
            pk_json_set_int(j, "bit_depth", bits);
    }
    if (s->duration != AV_NOPTS_VALUE && s->duration > 0)
        pk_json_set_real(j, "duration", pk_round((double)s->duration * av_q2d(s->time_base), 6));
    else if (fmt->duration > 0 && p->codec_type != AVMEDIA_TYPE_SUBTITLE)
        pk_json_set_real(j, "duration", pk_round((double)fmt->duration / AV_TIME_BASE, 6));
    if (s->nb_frames > 0)
        pk_json_set_int(j, "frames", s->nb_frames);
    const AVDictionaryEntry *lang = av_dict_get(s->metadata, "language", NULL, 0);
    if (lang && strcmp(lang->value, "und") != 0)
        pk_json_set_str(j, "language", lang->value);
    return j;
}

/* Classify a container by its streams: real video wins over audio; a cover
 * image attached to a song does not make it a video. */
static const char *media_type(const AVFormatContext *fmt)
{
    int video = 0, audio = 0;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        const AVStream *s = fmt->streams[i];
        if (s->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && !(s->disposition & AV_DISPOSITION_ATTACHED_PIC))
            video++;
        else if (s->codecpar->codec_type == AVMEDIA_TYPE_AUDIO)
            audio++;
    }
    return video ? "video" : audio ? "audio" : "other";
}

static pk_status probe_av(pk_ctx *ctx, const char *path, json_t *rec)
{
    AVFormatContext *fmt;
    pk_status st = pk_ffmpeg_open(ctx, path, &fmt);
    if (st != PK_OK)
        return st;
    json_object_set_new(rec, "type", json_string(media_type(fmt)));
    json_t *f = json_object();
    json_object_set_new(f, "name", json_string(fmt->iformat->name));
    pk_json_set_str(f, "long_name", fmt->iformat->long_name);
    if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
        pk_json_set_real(f, "duration", pk_round((double)fmt->duration / AV_TIME_BASE, 6));
    if (fmt->start_time != AV_NOPTS_VALUE)
        pk_json_set_real(f, "start_time", pk_round((double)fmt->start_time / AV_TIME_BASE, 6));
    if (fmt->bit_rate > 0)
        pk_json_set_int(f, "bit_rate", fmt->bit_rate);
    if (av_dict_count(fmt->metadata) > 0)
        json_object_set_new(f, "tags", tags_json(fmt->metadata));
    json_object_set_new(rec, "format", f);
    json_t *streams = json_array();
    for (unsigned i = 0; i < fmt->nb_streams; i++)
        json_array_append_new(streams, stream_json(fmt, fmt->streams[i]));
    json_object_set_new(rec, "streams", streams);
    avformat_close_input(&fmt);
    return PK_OK;
}

/* The format a photo's file name claims ("JPEG" for "x.jpg"), or NULL. */
static const char *photo_extension(const char *path)
{
    static const struct {
        const char *ext, *format;
    } photos[] = {{"jpg", "JPEG"},  {"jpeg", "JPEG"}, {"png", "PNG"},  {"tif", "TIFF"},
                  {"tiff", "TIFF"}, {"webp", "WebP"}, {"heic", "HEIC"}, {"heif", "HEIF"},
                  {"avif", "AVIF"}, {"gif", "GIF"}};
    const char *ext = pk_path_extension(path);
    for (size_t i = 0; i < PK_ARRAY_LEN(photos); i++)
        if (strcasecmp(ext, photos[i].ext) == 0)
            return photos[i].format;
    return NULL;
}

/* Probe one file into a new record. Returns PK_OK with *out set, or an
 * error status with the context's message naming the file and cause. */
pk_status pk_probe_record(pk_ctx *ctx, const char *path, int verify, json_t **out)
{
    struct stat st;
    pk_status s = pk_check_input_file(ctx, path, &st);
    if (s != PK_OK)
        return s;
    json_t *rec = json_object();
    json_object_set_new(rec, "path", pk_json_string(path));
    json_object_set_new(rec, "size", json_integer((json_int_t)st.st_size));
    if (pk_has_raw_extension(path) || pk_is_image(path))
        s = pk_image_probe(ctx, path, rec, verify);
    else if ((s = probe_av(ctx, path, rec)) == PK_ERR_INPUT && photo_extension(path))
        /* A ".jpg" that no image loader recognises is a damaged photo to
         * its owner, whatever FFmpeg thinks of the bytes. */
        s = pk_fail(ctx, PK_ERR_INPUT, path,
                    "unreadable or corrupt image (the content is not the %s its name says)",
                    photo_extension(path));
    if (s != PK_OK) {
        json_decref(rec);
        return s;
    }
    *out = rec;
    return PK_OK;
}

pk_status pk_probe(pk_ctx *ctx, const char *path, char **json_out)
{
    json_t *rec;
    pk_status s = pk_probe_record(ctx, path, 1, &rec);
    if (s != PK_OK)
        return s;
    *json_out = json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(rec);
    return *json_out ? PK_OK : pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
}

/* ---- the operation ---------------------------------------------------- */

typedef struct probe_job {
    pk_run *run;
    int verify;
} probe_job;

typedef struct probe_result {
    pk_status status;
    json_t *record;
    char error[1024];
} probe_result;

static void *probe_work(pk_ctx *wctx, size_t i, void *user)
{
    probe_job *job = user;
    probe_result *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->status = pk_probe_record(wctx, pk_run_input(job->run, i), job->verify, &r->record);
    if (r->status != PK_OK)
        snprintf(r->error, sizeof r->error, "%s", pk_ctx_errmsg(wctx));
    return r;
}

static void probe_emit(size_t i, void *result, void *user)
{
    probe_job *job = user;
    probe_result *r = result;
    pk_ctx *ctx = pk_run_ctx(job->run);
    const char *path = pk_run_input(job->run, i);
    if (!r) {
        pk_run_file_failed(job->run, path, pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory"));
    } else if (r->status != PK_OK) {
        pk_fail(ctx, r->status, NULL, "%s", r->error);
        pk_run_file_failed(job->run, path, r->status);
    } else {
        pk_run_emit(job->run, r->record);
    }
    free(r);
    pk_progress_update(ctx, (double)(i + 1));
}

static pk_status probe_run(pk_run *run)
{
    pk_ctx *ctx = pk_run_ctx(run);
    probe_job job = {.run = run, .verify = pk_run_bool(run, "verify")};
    size_t n = pk_run_input_count(run);
    pk_progress_begin(ctx, "probe", (double)n, "files");
    pk_status st = pk_parallel_ordered(ctx, n, probe_work, probe_emit, &job);
    pk_progress_end(ctx);
    return st;
}

static void put_kv(FILE *out, const char *indent, const char *key, const char *value)
{
    fprintf(out, "%s%-13s %s\n", indent, key, value);
}

static void print_stream(const json_t *s, FILE *out)
{
    const char *type = json_string_value(json_object_get(s, "type"));
    char line[512];
    int n = snprintf(line, sizeof line, "#%lld %s: %s", (long long)json_integer_value(json_object_get(s, "index")),
                     type, json_string_value(json_object_get(s, "codec")));
    const char *profile = json_string_value(json_object_get(s, "profile"));
    if (profile)
        n += snprintf(line + n, sizeof line - (size_t)n, " (%s)", profile);
    if (json_object_get(s, "width"))
        n += snprintf(line + n, sizeof line - (size_t)n, ", %lldx%lld",
                      (long long)json_integer_value(json_object_get(s, "width")),
                      (long long)json_integer_value(json_object_get(s, "height")));
    if (json_object_get(s, "frame_rate"))
        n += snprintf(line + n, sizeof line - (size_t)n, ", %g fps%s",
                      json_real_value(json_object_get(s, "frame_rate")),
                      json_is_true(json_object_get(s, "variable_frame_rate")) ? " (variable)" : "");
    if (json_object_get(s, "pix_fmt"))
        n += snprintf(line + n, sizeof line - (size_t)n, ", %s", json_string_value(json_object_get(s, "pix_fmt")));
    const char *fo = json_string_value(json_object_get(s, "field_order"));
    if (fo && strcmp(fo, "progressive") != 0)
        n += snprintf(line + n, sizeof line - (size_t)n, ", interlaced (%s)", fo);
    json_int_t rot = json_integer_value(json_object_get(s, "rotation"));
    if (rot)
        n += snprintf(line + n, sizeof line - (size_t)n, ", rotated %lld°", (long long)rot);
    if (json_object_get(s, "sample_rate"))
        n += snprintf(line + n, sizeof line - (size_t)n, ", %lld Hz",
                      (long long)json_integer_value(json_object_get(s, "sample_rate")));
    const char *layout = json_string_value(json_object_get(s, "channel_layout"));
    if (json_object_get(s, "channels"))
    {
        if (layout)
            n += snprintf(line + n, sizeof line - (size_t)n, ", %s", layout);
        else
        {
            long long ch = (long long)json_integer_value(json_object_get(s, "channels"));
            n += snprintf(line + n, sizeof line - (size_t)n, ", %lld channel%s", ch, ch == 1 ? "" : "s");
        }
    }
    if (json_object_get(s, "bit_depth"))
        n += snprintf(line + n, sizeof line - (size_t)n, ", %lld-bit",
                      (long long)json_integer_value(json_object_get(s, "bit_depth")));
    if (json_object_get(s, "bit_rate"))
        n += snprintf(line + n, sizeof line - (size_t)n, ", %lld kb/s",
                      (long long)json_integer_value(json_object_get(s, "bit_rate")) / 1000);
    (void)n;
    fprintf(out, "  %s\n", line);
}

static void format_duration(double seconds, char *buf, size_t size)
{
    int h = (int)(seconds / 3600), m = (int)(fmod(seconds, 3600) / 60);
    double s = fmod(seconds, 60);
    snprintf(buf, size, "%02d:%02d:%06.3f", h, m, s);
}

/* Append ", TEXT" (or TEXT when the line is empty) to line. */
static void add(char *line, size_t size, const char *fmt, ...)
{
    size_t n = strlen(line);
    if (n && n + 2 < size) {
        memcpy(line + n, ", ", 3);
        n += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, size - n, fmt, ap);
    va_end(ap);
}

static const char *str_of(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static double num_of(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return v ? json_number_value(v) : NAN;
}

/* What a viewer does with an EXIF orientation to show the picture upright. */
static const char *orientation_words(json_int_t o)
{
    static const char *const words[] = {
        "", "upright", "mirrored", "rotated 180°", "mirrored vertically",
        "mirrored, then rotated 90° clockwise to view", "rotate 90° clockwise to view",
        "mirrored, then rotated 90° counter-clockwise to view", "rotate 90° counter-clockwise to view",
    };
    return o >= 1 && o <= 8 ? words[o] : "unknown";
}

/* The human view of a photo's facts, one line per topic. */
static void print_image(const json_t *img, FILE *out)
{
    char line[512] = "";
    const char *fmt = str_of(img, "format");
    add(line, sizeof line, "%s %lldx%lld", fmt ? fmt : "?", (long long)json_integer_value(json_object_get(img, "width")),
        (long long)json_integer_value(json_object_get(img, "height")));
    if (json_object_get(img, "bands"))
        add(line, sizeof line, "%lld band%s", (long long)json_integer_value(json_object_get(img, "bands")),
            json_integer_value(json_object_get(img, "bands")) == 1 ? "" : "s");
    if (json_object_get(img, "bit_depth"))
        add(line, sizeof line, "%lld-bit", (long long)json_integer_value(json_object_get(img, "bit_depth")));
    if (str_of(img, "interpretation"))
        add(line, sizeof line, "%s", str_of(img, "interpretation"));
    if (json_is_true(json_object_get(img, "alpha")))
        add(line, sizeof line, "alpha");
    if (json_object_get(img, "pages"))
        add(line, sizeof line, "%lld pages", (long long)json_integer_value(json_object_get(img, "pages")));
    if (json_object_get(img, "raw_width"))
        add(line, sizeof line, "sensor %lldx%lld", (long long)json_integer_value(json_object_get(img, "raw_width")),
            (long long)json_integer_value(json_object_get(img, "raw_height")));
    put_kv(out, "  ", "picture", line);
    json_int_t o = json_integer_value(json_object_get(img, "orientation"));
    if (o > 1) {
        snprintf(line, sizeof line, "%lld (%s)", (long long)o, orientation_words(o));
        put_kv(out, "  ", "orientation", line);
    }
    const json_t *cam = json_object_get(img, "camera");
    if (cam && json_object_size(cam)) {
        line[0] = '\0';
        const char *make = str_of(cam, "make"), *model = str_of(cam, "model");
        /* "Canon Canon EOS R5" reads badly: many models repeat the make. */
        if (make && model && strncasecmp(model, make, strlen(make)) == 0)
            make = NULL;
        add(line, sizeof line, "%s%s%s", make ? make : "", make && model ? " " : "", model ? model : "");
        if (str_of(cam, "lens"))
            add(line, sizeof line, "lens %s", str_of(cam, "lens"));
        if (str_of(cam, "serial"))
            add(line, sizeof line, "serial %s", str_of(cam, "serial"));
        put_kv(out, "  ", "camera", line);
    }
    const json_t *exp = json_object_get(img, "exposure");
    if (exp && json_object_size(exp)) {
        line[0] = '\0';
        double t = num_of(exp, "exposure_time");
        if (t > 0 && t < 1)
            add(line, sizeof line, "1/%.0f s", 1 / t);
        else if (t >= 1)
            add(line, sizeof line, "%g s", t);
        if (num_of(exp, "f_number") > 0)
            add(line, sizeof line, "f/%g", num_of(exp, "f_number"));
        if (json_object_get(exp, "iso"))
            add(line, sizeof line, "ISO %lld", (long long)json_integer_value(json_object_get(exp, "iso")));
        if (num_of(exp, "focal_length") > 0)
            add(line, sizeof line, "%g mm", num_of(exp, "focal_length"));
        if (isfinite(num_of(exp, "exposure_bias")) && num_of(exp, "exposure_bias") != 0)
            add(line, sizeof line, "%+g EV", num_of(exp, "exposure_bias"));
        put_kv(out, "  ", "exposure", line);
    }
    if (str_of(img, "captured"))
        put_kv(out, "  ", "captured", str_of(img, "captured"));
    const json_t *gps = json_object_get(img, "gps");
    if (gps) {
        snprintf(line, sizeof line, "%.6f, %.6f", num_of(gps, "latitude"), num_of(gps, "longitude"));
        if (json_object_get(gps, "altitude"))
            add(line, sizeof line, "%g m", num_of(gps, "altitude"));
        put_kv(out, "  ", "gps", line);
    }
    line[0] = '\0';
    if (str_of(img, "icc_profile"))
        add(line, sizeof line, "ICC profile \"%s\"", str_of(img, "icc_profile"));
    if (json_object_get(img, "dpi"))
        add(line, sizeof line, "%g dpi", num_of(img, "dpi"));
    if (json_is_true(json_object_get(img, "xmp")))
        add(line, sizeof line, "XMP");
    if (line[0])
        put_kv(out, "  ", "embedded", line);
}

static void probe_print(const json_t *rec, FILE *out)
{
    char buf[256];
    fprintf(out, "%s\n", json_string_value(json_object_get(rec, "path")));
    snprintf(buf, sizeof buf, "%s, %lld bytes", json_string_value(json_object_get(rec, "type")),
             (long long)json_integer_value(json_object_get(rec, "size")));
    put_kv(out, "  ", "type", buf);
    const json_t *f = json_object_get(rec, "format");
    if (f) {
        put_kv(out, "  ", "container", json_string_value(json_object_get(f, "long_name")));
        const json_t *d = json_object_get(f, "duration");
        if (d) {
            format_duration(json_real_value(d), buf, sizeof buf);
            put_kv(out, "  ", "duration", buf);
        }
        size_t i;
        const json_t *s;
        json_array_foreach(json_object_get(rec, "streams"), i, s) print_stream(s, out);
    }
    const json_t *img = json_object_get(rec, "image");
    if (img)
        print_image(img, out);
}

static const pk_param_spec probe_params[] = {
    {.name = "verify", .type = PK_PARAM_BOOL, .defval = "yes",
     .help = "decode photos (at reduced size where the format allows) to catch truncated or "
             "corrupt files"},
    {.name = NULL},
};

const pk_op pk_op_probe = {
    .name = "probe",
    .summary = "Show container, streams and camera metadata of media files",
    .description = "One record per file: container, duration, every stream (codec, resolution, "
                   "frame rate, pixel format, bit depth, sample rate, channels, layout) and, for "
                   "photos, camera, lens, exposure, capture time, GPS and orientation. A file that "
                   "cannot be read is reported on its own line and the others are still probed.",
    .input_name = "FILE",
    .input_kind = "media",
    .min_inputs = 1,
    .max_inputs = -1,
    .params = probe_params,
    .run = probe_run,
    .print_human = probe_print,
};
