/*
 * profile.c — delivery profiles: which rules apply, how severe a failure is,
 * and every threshold.
 *
 * One table lists each threshold once (rule, JSON key, unit, range, help,
 * where it lives in the struct); loading a JSON file, printing a profile and
 * the documentation's tables all walk it. The built-in profiles are written
 * in the same JSON a user writes, applied over the defaults, so a custom
 * file is nothing but more overrides.
 */
#include "video/internal.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

const qc_rule_info qc_rules[QC_RULE_COUNT] = {
    [QC_DECODE] = {"decode_errors", QC_SCOPE_FILE, "packets or frames that could not be decoded"},
    [QC_BLACK] = {"black", QC_SCOPE_VIDEO, "black segments (blackdetect semantics)"},
    [QC_BLACK_EDGES] = {"black_edges", QC_SCOPE_VIDEO, "black frames at the very start (slate) or end (tail)"},
    [QC_FREEZE] = {"freeze", QC_SCOPE_VIDEO, "frozen picture within a noise tolerance"},
    [QC_REPEAT] = {"repeated_frames", QC_SCOPE_VIDEO, "frames bit-identical to the previous one"},
    [QC_FLASH_FRAME] = {"flash_frames", QC_SCOPE_VIDEO, "shots of 1-2 frames between two cuts"},
    [QC_PHOTOSENSITIVE] = {"photosensitivity", QC_SCOPE_VIDEO,
                           "flashing and red flashing (ITU-R BT.1702, Ofcom)"},
    [QC_PIXELS] = {"dead_pixels", QC_SCOPE_VIDEO, "dead, stuck or hot pixels"},
    [QC_RANGE] = {"broadcast_range", QC_SCOPE_VIDEO, "luma or chroma outside the legal range"},
    [QC_CLIPPING] = {"audio_clipping", QC_SCOPE_AUDIO, "runs of samples at full scale"},
    [QC_SILENCE] = {"silence", QC_SCOPE_AUDIO, "every channel silent"},
    [QC_CHANNEL_SILENCE] = {"channel_silence", QC_SCOPE_AUDIO, "one channel silent while others play"},
    [QC_IDENTICAL] = {"identical_channels", QC_SCOPE_AUDIO, "a channel pair carrying the same signal"},
    [QC_INVERTED] = {"inverted_channels", QC_SCOPE_AUDIO, "a channel pair in opposite polarity"},
    [QC_LOUDNESS] = {"loudness", QC_SCOPE_AUDIO, "integrated loudness (BS.1770-4) and loudness range"},
    [QC_TRUE_PEAK] = {"true_peak", QC_SCOPE_AUDIO, "true peak (BS.1770-4, 4x oversampling)"},
    [QC_AV_LENGTH] = {"av_length", QC_SCOPE_FILE, "audio shorter or longer than the video"},
    [QC_STREAM] = {"stream", QC_SCOPE_FILE, "stream facts against the profile"},
};

typedef enum { T_NUM, T_TEXT } thr_type;

typedef struct threshold {
    qc_rule rule;
    const char *key;
    thr_type type;
    size_t offset;
    double min, max;
    const char *unit;
    const char *help;
} threshold;

#define NUM(r, k, field, lo, hi, u, h) {r, k, T_NUM, offsetof(pk_qc_profile, field), lo, hi, u, h}
#define TEXT(r, k, field, h) {r, k, T_TEXT, offsetof(pk_qc_profile, field), 0, 0, "", h}

static const threshold thresholds[] = {
    NUM(QC_BLACK, "min_duration", black_min_duration, 0, 3600, "s", "shortest black segment reported"),
    NUM(QC_BLACK, "pixel_threshold", black_pixel_threshold, 0, 1, "of range",
        "a pixel is black at or below this fraction of the luma range (0.10: code 37 of 16..235)"),
    NUM(QC_BLACK, "picture_ratio", black_picture_ratio, 0, 1, "", "a picture is black when this share of its pixels is"),
    NUM(QC_FREEZE, "noise_db", freeze_noise_db, -120, 0, "dB",
        "mean absolute difference to the frozen picture, all planes, below which it is unchanged"),
    NUM(QC_FREEZE, "min_duration", freeze_min_duration, 0, 3600, "s", "shortest freeze reported"),
    NUM(QC_REPEAT, "min_frames", repeat_min_frames, 1, 1e6, "frames",
        "shortest run of repeated frames reported (runs closer than 1 s are grouped)"),
    NUM(QC_FLASH_FRAME, "max_frames", flash_max_frames, 1, 10, "frames", "longest shot that counts as a flash frame"),
    NUM(QC_FLASH_FRAME, "cut_threshold", cut_threshold, 1, 100, "%",
        "shot-cut score (block-mean difference, % of the code range) above which a cut is declared"),
    NUM(QC_FLASH_FRAME, "cut_ratio", cut_ratio, 1, 100, "x",
        "a cut's score must also exceed this multiple of the recent motion level"),
    NUM(QC_PHOTOSENSITIVE, "display_peak", ps_peak, 50, 10000, "cd/m2", "display white (BT.1886 model)"),
    NUM(QC_PHOTOSENSITIVE, "display_black", ps_black, 0, 10, "cd/m2", "display black (BT.1886 model)"),
    NUM(QC_PHOTOSENSITIVE, "flash_delta", ps_delta, 1, 1000, "cd/m2", "luminance change that makes a transition"),
    NUM(QC_PHOTOSENSITIVE, "dark_limit", ps_dark, 1, 10000, "cd/m2", "the darker state must be below this"),
    NUM(QC_PHOTOSENSITIVE, "area", ps_area, 0, 1, "of screen", "area a transition must cover (more than)"),
    NUM(QC_PHOTOSENSITIVE, "max_flashes", ps_max_flashes, 0, 100, "per s",
        "flashes (pairs of opposite transitions) allowed in any one-second window"),
    NUM(QC_PHOTOSENSITIVE, "red_ratio", ps_red_ratio, 0, 1, "", "saturated red: R/(R+G+B) at or above this (linear light)"),
    NUM(QC_PHOTOSENSITIVE, "red_delta", ps_red_delta, 1, 1000, "", "change of (R-G-B)x320 that makes a red transition"),
    NUM(QC_PIXELS, "contrast", px_contrast, 1, 255, "levels", "difference from each of the 4 neighbours, or from 3 of them"),
    NUM(QC_PIXELS, "min_fraction", px_fraction, 0, 1, "of frames", "share of a shot's sampled frames the pixel is stuck in"),
    NUM(QC_PIXELS, "tolerance", px_tolerance, 0, 255, "levels", "largest change of the stuck value"),
    NUM(QC_PIXELS, "activity", px_activity, 0, 255, "levels", "the 4 neighbours' mean (and the most similar one) must vary at least this much meanwhile"),
    NUM(QC_PIXELS, "min_duration", px_min_duration, 0, 3600, "s", "shortest shot judged"),
    NUM(QC_PIXELS, "sample_rate", px_rate, 0.1, 1000, "frames/s", "frames sampled per second"),
    NUM(QC_RANGE, "luma_min", rg_luma_min, 0, 255, "code", "lowest legal luma (8-bit code)"),
    NUM(QC_RANGE, "luma_max", rg_luma_max, 0, 255, "code", "highest legal luma"),
    NUM(QC_RANGE, "chroma_min", rg_chroma_min, 0, 255, "code", "lowest legal chroma"),
    NUM(QC_RANGE, "chroma_max", rg_chroma_max, 0, 255, "code", "highest legal chroma"),
    NUM(QC_RANGE, "max_fraction", rg_max_fraction, 0, 1, "of pixels", "tolerated share of illegal pixels per frame"),
    NUM(QC_RANGE, "min_duration", rg_min_duration, 0, 3600, "s", "shortest illegal segment reported"),
    NUM(QC_CLIPPING, "level_db", clip_level_db, -20, 0, "dBFS", "a sample at or above this magnitude is at full scale"),
    NUM(QC_CLIPPING, "min_run", clip_min_run, 1, 1e6, "samples", "consecutive full-scale samples that make a clip"),
    NUM(QC_SILENCE, "threshold_db", silence_db, -200, 0, "dBFS", "every channel's samples below this"),
    NUM(QC_SILENCE, "min_duration", silence_min_duration, 0, 3600, "s", "shortest silence reported"),
    NUM(QC_CHANNEL_SILENCE, "threshold_db", chsil_db, -200, 0, "dBFS", "the channel's samples below this"),
    NUM(QC_CHANNEL_SILENCE, "min_duration", chsil_min_duration, 0, 3600, "s", "shortest silence of one channel reported"),
    NUM(QC_IDENTICAL, "difference_db", ident_diff_db, -200, 0, "dB",
        "energy of L-R relative to L+R below which the pair is identical"),
    NUM(QC_IDENTICAL, "min_duration", ident_min_duration, 0, 3600, "s", "shortest identical stretch reported"),
    NUM(QC_INVERTED, "correlation", inv_correlation, -1, 0, "", "correlation of the pair at or below which it is inverted"),
    NUM(QC_INVERTED, "min_duration", inv_min_duration, 0, 3600, "s", "shortest inverted stretch reported"),
    NUM(QC_LOUDNESS, "target", lo_target, -70, 0, "LUFS", "integrated loudness target"),
    NUM(QC_LOUDNESS, "target_mono", lo_target_mono, -70, 0, "LUFS", "target for mono programmes"),
    NUM(QC_LOUDNESS, "tolerance", lo_tolerance, 0, 70, "LU", "allowed deviation from the target"),
    NUM(QC_LOUDNESS, "max_range", lo_max_range, 0, 100, "LU", "largest loudness range (0: not checked)"),
    NUM(QC_TRUE_PEAK, "max", tp_max, -70, 20, "dBTP", "highest true peak"),
    NUM(QC_AV_LENGTH, "tolerance_frames", av_tolerance_frames, 0, 1e6, "frames",
        "allowed difference between the audio's and the video's length"),
    TEXT(QC_STREAM, "resolution", st_resolution, "allowed WIDTHxHEIGHT values"),
    TEXT(QC_STREAM, "frame_rate", st_frame_rate, "allowed frame rates (25, 29.97, 30000/1001)"),
    TEXT(QC_STREAM, "scan", st_scan, "progressive or interlaced"),
    TEXT(QC_STREAM, "video_codec", st_video_codec, "allowed video codecs (FFmpeg names: h264, prores)"),
    TEXT(QC_STREAM, "bit_depth", st_bit_depth, "allowed video bit depths"),
    TEXT(QC_STREAM, "sample_rate", st_sample_rate, "allowed audio sample rates (Hz)"),
    TEXT(QC_STREAM, "channels", st_channels, "allowed audio channel counts"),
    TEXT(QC_STREAM, "audio_codec", st_audio_codec, "allowed audio codecs (FFmpeg names: aac, pcm_s24le)"),
};

/* The built-in profiles, as overrides of the defaults below. */
typedef struct builtin {
    const char *name, *summary, *json;
} builtin;

static const builtin builtins[] = {
    {"ebu-r128", "EBU R 128 broadcast delivery (Europe): -23 LUFS +-1 LU, -1 dBTP, 48 kHz",
     "{\"loudness\":{\"target\":-23,\"target_mono\":-23,\"tolerance\":1},\"true_peak\":{\"max\":-1},"
     "\"stream\":{\"sample_rate\":\"48000\"}}"},
    {"atsc-a85", "ATSC A/85 broadcast delivery (US): -24 LKFS +-2 dB, -2 dBTP, 48 kHz",
     "{\"loudness\":{\"target\":-24,\"target_mono\":-24,\"tolerance\":2},\"true_peak\":{\"max\":-2},"
     "\"stream\":{\"sample_rate\":\"48000\"}}"},
    {"streaming", "Streaming platforms: -14 LUFS +-1 LU, -1 dBTP",
     "{\"loudness\":{\"target\":-14,\"target_mono\":-14,\"tolerance\":1},\"true_peak\":{\"max\":-1}}"},
    {"podcast", "Podcasts (AES TD1004): -16 LUFS stereo / -19 LUFS mono +-1 LU, -1 dBTP, 44.1 or 48 kHz",
     "{\"loudness\":{\"target\":-16,\"target_mono\":-19,\"tolerance\":1},\"true_peak\":{\"max\":-1},"
     "\"stream\":{\"sample_rate\":\"44100|48000\"}}"},
    {"youtube", "YouTube uploads: -14 LUFS +-2 LU (louder is turned down), -1 dBTP, 44.1 or 48 kHz",
     "{\"loudness\":{\"target\":-14,\"target_mono\":-14,\"tolerance\":2},\"true_peak\":{\"max\":-1},"
     "\"stream\":{\"sample_rate\":\"44100|48000\"}}"},
};

static const char *const builtin_names[] = {"ebu-r128", "atsc-a85", "streaming", "podcast", "youtube", NULL};

const char *const *pk_qc_profile_names(void) { return builtin_names; }

static const char *const severity_names[] = {"off", "info", "warning", "error"};

const char *qc_severity_name(qc_severity s)
{
    return (unsigned)s < PK_ARRAY_LEN(severity_names) ? severity_names[s] : "?";
}

/* Every rule on, with the thresholds of the common standards; see docs/qc.md. */
static void set_defaults(pk_qc_profile *p)
{
    memset(p, 0, sizeof *p);
    for (int r = 0; r < QC_RULE_COUNT; r++)
        p->severity[r] = QC_ERROR;
    p->severity[QC_BLACK_EDGES] = QC_WARNING;
    p->severity[QC_REPEAT] = QC_WARNING;
    p->severity[QC_IDENTICAL] = QC_WARNING;
    p->severity[QC_RANGE] = QC_OFF;   /* only when a profile asks (EBU R 103, a client's spec) */
    p->black_min_duration = 0.5;
    p->black_pixel_threshold = 0.10;
    p->black_picture_ratio = 0.98;
    p->freeze_noise_db = -60;
    p->freeze_min_duration = 2.0;
    p->repeat_min_frames = 1;
    p->cut_threshold = 12;
    p->cut_ratio = 3;
    p->flash_max_frames = 2;
    p->ps_peak = 200;
    p->ps_black = 0;
    p->ps_delta = 20;
    p->ps_dark = 160;
    p->ps_area = 0.25;
    p->ps_max_flashes = 3;
    p->ps_red_ratio = 0.8;
    p->ps_red_delta = 20;
    p->px_contrast = 48;
    p->px_fraction = 0.9;
    p->px_tolerance = 24;
    p->px_activity = 32;
    p->px_min_duration = 1.0;
    p->px_rate = 5;
    p->rg_luma_min = 16;
    p->rg_luma_max = 235;
    p->rg_chroma_min = 16;
    p->rg_chroma_max = 240;
    p->rg_max_fraction = 0.05;
    p->rg_min_duration = 0;
    p->clip_level_db = -0.01;
    p->clip_min_run = 3;
    p->silence_db = -60;
    p->silence_min_duration = 2;
    p->chsil_db = -60;
    p->chsil_min_duration = 2;
    p->ident_diff_db = -50;
    p->ident_min_duration = 1;
    p->inv_correlation = -0.9;
    p->inv_min_duration = 1;
    p->lo_target = -23;
    p->lo_target_mono = -23;
    p->lo_tolerance = 1;
    p->lo_max_range = 0;
    p->tp_max = -1;
    p->av_tolerance_frames = 1;
}

static const threshold *find_threshold(qc_rule rule, const char *key)
{
    for (size_t i = 0; i < PK_ARRAY_LEN(thresholds); i++)
        if (thresholds[i].rule == rule && strcmp(thresholds[i].key, key) == 0)
            return &thresholds[i];
    return NULL;
}

static int find_rule(const char *name)
{
    for (int r = 0; r < QC_RULE_COUNT; r++)
        if (strcmp(qc_rules[r].name, name) == 0)
            return r;
    return -1;
}

/* A list value as text: "a|b" or a JSON array of strings/numbers. */
static int list_text(const json_t *v, char *buf, size_t n)
{
    buf[0] = '\0';
    if (json_is_string(v)) {
        if (strlen(json_string_value(v)) >= n)
            return -1;
        snprintf(buf, n, "%s", json_string_value(v));
        return 0;
    }
    if (json_is_number(v)) {
        snprintf(buf, n, "%g", json_number_value(v));
        return 0;
    }
    if (!json_is_array(v))
        return -1;
    size_t i;
    const json_t *item;
    size_t used = 0;
    json_array_foreach(v, i, item)
    {
        char one[64];
        if (json_is_string(item))
            snprintf(one, sizeof one, "%s", json_string_value(item));
        else if (json_is_number(item))
            snprintf(one, sizeof one, "%g", json_number_value(item));
        else
            return -1;
        int w = snprintf(buf + used, n - used, "%s%s", i ? "|" : "", one);
        if (w < 0 || (size_t)w >= n - used)
            return -1;
        used += (size_t)w;
    }
    return 0;
}

/* Apply the overrides of `doc` to `p`. `where` names the source in messages. */
static pk_status apply(pk_ctx *ctx, pk_qc_profile *p, const json_t *doc, const char *where)
{
    const char *rname;
    json_t *section;
    json_object_foreach((json_t *)doc, rname, section)
    {
        if (strcmp(rname, "name") == 0 || strcmp(rname, "extends") == 0 ||
            strcmp(rname, "summary") == 0 || strcmp(rname, "description") == 0)
            continue;
        int r = find_rule(rname);
        if (r < 0)
            return pk_fail(ctx, PK_ERR_USAGE, where, "unknown rule '%s' (see docs/qc.md)", rname);
        if (!json_is_object(section))
            return pk_fail(ctx, PK_ERR_USAGE, where, "'%s' must be an object of thresholds", rname);
        const char *key;
        json_t *v;
        json_object_foreach(section, key, v)
        {
            if (strcmp(key, "severity") == 0) {
                int found = -1;
                for (int s = 0; s < (int)PK_ARRAY_LEN(severity_names); s++)
                    if (json_is_string(v) && strcmp(json_string_value(v), severity_names[s]) == 0)
                        found = s;
                if (found < 0)
                    return pk_fail(ctx, PK_ERR_USAGE, where,
                                   "%s.severity must be one of off, info, warning, error", rname);
                p->severity[r] = (qc_severity)found;
                continue;
            }
            const threshold *t = find_threshold((qc_rule)r, key);
            if (!t)
                return pk_fail(ctx, PK_ERR_USAGE, where, "unknown threshold '%s.%s' (see docs/qc.md)",
                               rname, key);
            if (t->type == T_NUM) {
                if (!json_is_number(v))
                    return pk_fail(ctx, PK_ERR_USAGE, where, "%s.%s must be a number", rname, key);
                double x = json_number_value(v);
                if (!(x >= t->min && x <= t->max))
                    return pk_fail(ctx, PK_ERR_USAGE, where, "%s.%s = %g is outside %g..%g", rname, key,
                                   x, t->min, t->max);
                *(double *)((char *)p + t->offset) = x;
            } else if (list_text(v, (char *)p + t->offset, QC_TEXT) != 0) {
                return pk_fail(ctx, PK_ERR_USAGE, where,
                               "%s.%s must be a string (\"a|b\") or an array of values", rname, key);
            }
        }
    }
    return PK_OK;
}

static const builtin *find_builtin(const char *name)
{
    for (size_t i = 0; i < PK_ARRAY_LEN(builtins); i++)
        if (strcmp(builtins[i].name, name) == 0)
            return &builtins[i];
    return NULL;
}

static pk_status load_builtin(pk_ctx *ctx, const builtin *b, pk_qc_profile *p)
{
    set_defaults(p);
    json_error_t err;
    json_t *doc = json_loads(b->json, 0, &err);
    if (!doc)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "built-in profile %s: %s", b->name, err.text);
    pk_status st = apply(ctx, p, doc, b->name);
    json_decref(doc);
    snprintf(p->name, sizeof p->name, "%s", b->name);
    snprintf(p->extends, sizeof p->extends, "%s", b->name);
    snprintf(p->summary, sizeof p->summary, "%s", b->summary);
    return st;
}

pk_status pk_qc_profile_load(pk_ctx *ctx, const char *name_or_path, pk_qc_profile **out)
{
    *out = NULL;
    pk_qc_profile *p = calloc(1, sizeof *p);
    if (!p)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    const builtin *b = find_builtin(name_or_path);
    pk_status st;
    if (b) {
        st = load_builtin(ctx, b, p);
    } else if (!strchr(name_or_path, '/') && !strchr(name_or_path, '.')) {
        st = pk_fail(ctx, PK_ERR_USAGE, NULL,
                     "--profile: '%s' is neither a built-in profile (ebu-r128, atsc-a85, streaming, "
                     "podcast, youtube) nor a JSON file", name_or_path);
    } else if ((st = pk_check_input_file(ctx, name_or_path, NULL)) == PK_OK) {
        json_error_t err;
        json_t *doc = json_load_file(name_or_path, JSON_REJECT_DUPLICATES, &err);
        if (!doc || !json_is_object(doc)) {
            st = pk_fail(ctx, PK_ERR_INPUT, name_or_path, "not a JSON profile (line %d: %s)", err.line,
                         doc ? "not an object" : err.text);
        } else {
            const json_t *ext = json_object_get(doc, "extends");
            const char *base = json_is_string(ext) ? json_string_value(ext) : "ebu-r128";
            const builtin *bb = find_builtin(base);
            if (!bb)
                st = pk_fail(ctx, PK_ERR_USAGE, name_or_path, "extends: unknown built-in profile '%s'", base);
            else if ((st = load_builtin(ctx, bb, p)) == PK_OK)
                st = apply(ctx, p, doc, name_or_path);
            const json_t *name = json_object_get(doc, "name");
            const char *slash = strrchr(name_or_path, '/');
            snprintf(p->name, sizeof p->name, "%s",
                     json_is_string(name) ? json_string_value(name) : slash ? slash + 1 : name_or_path);
            snprintf(p->summary, sizeof p->summary, "custom profile (extends %s)", base);
        }
        json_decref(doc);
    }
    if (st != PK_OK) {
        free(p);
        return st;
    }
    *out = p;
    return PK_OK;
}

void pk_qc_profile_free(pk_qc_profile *p) { free(p); }

static json_t *threshold_value(const pk_qc_profile *p, const threshold *t)
{
    if (t->type == T_NUM)
        return json_real(pk_round(*(const double *)((const char *)p + t->offset), 6));
    return json_string((const char *)p + t->offset);
}

void qc_profile_each(const pk_qc_profile *p, qc_threshold_fn fn, void *user)
{
    for (size_t i = 0; i < PK_ARRAY_LEN(thresholds); i++) {
        const threshold *t = &thresholds[i];
        fn(user, t->rule, t->key, t->unit, t->help, threshold_value(p, t));
    }
}

json_t *qc_rule_thresholds(const pk_qc_profile *p, qc_rule rule)
{
    json_t *o = json_object();
    for (size_t i = 0; i < PK_ARRAY_LEN(thresholds); i++)
        if (thresholds[i].rule == rule)
            json_object_set_new(o, thresholds[i].key, threshold_value(p, &thresholds[i]));
    return o;
}

json_t *pk_qc_profile_json(const pk_qc_profile *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", pk_json_string(p->name));
    json_object_set_new(o, "extends", json_string(p->extends));
    json_object_set_new(o, "summary", pk_json_string(p->summary));
    for (int r = 0; r < QC_RULE_COUNT; r++) {
        json_t *sec = qc_rule_thresholds(p, (qc_rule)r);
        json_object_set_new(sec, "severity", json_string(qc_severity_name(p->severity[r])));
        json_object_set_new(o, qc_rules[r].name, sec);
    }
    return o;
}
