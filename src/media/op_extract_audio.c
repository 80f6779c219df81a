/*
 * op_extract_audio.c — `postkit extract-audio IN -o OUT.wav|.flac`: the
 * sound of any media file as a WAV or FLAC file, without losing its format.
 *
 * Why this shape: it is the thinnest operation over the media layer — one
 * source (audio only), one writer — so it doubles as the check that both
 * keep rate, layout, bit depth and tags. The defaults keep the source's
 * format; lossy sources, which have no bit depth, become 24-bit so no
 * decoded detail is rounded away. Decode errors are reported and decoding
 * goes on, as for every analysis: the output says how many there were.
 */
#include "media/internal.h"

#include <strings.h>
#include <string.h>

#include <postkit/media.h>

static const char *extension(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    return dot && (!slash || dot > slash) ? dot + 1 : "";
}

/* Work out the output format from the source and the options. */
static pk_status choose_format(pk_run *run, const pk_audio_info *a, int flac, pk_audio_format *fmt)
{
    pk_ctx *ctx = pk_run_ctx(run);
    memset(fmt, 0, sizeof *fmt);
    fmt->rate = a->rate;
    fmt->channels = a->channels;
    snprintf(fmt->layout, sizeof fmt->layout, "%s", a->delivered_layout);
    int want_float = pk_run_bool(run, "float");
    const char *bits_opt = pk_run_str(run, "bits");
    int bits = bits_opt ? atoi(bits_opt) : 0;
    if (want_float) {
        if (flac)
            return pk_fail(ctx, PK_ERR_USAGE, NULL, "--float: FLAC holds integer samples only (write .wav)");
        if (bits && bits != 32)
            return pk_fail(ctx, PK_ERR_USAGE, NULL, "--float writes 32-bit samples, not --bits %d", bits);
        fmt->bits = 32;
        fmt->is_float = 1;
        return PK_OK;
    }
    if (bits) {
        if (flac && bits == 32)
            return pk_fail(ctx, PK_ERR_USAGE, NULL, "--bits 32: FLAC holds 16 or 24 bits (write .wav)");
        fmt->bits = bits;
        return PK_OK;
    }
    /* Keep the source's depth; lossy sources have none and get 24 bits. */
    if (a->is_float && !flac) {
        fmt->bits = 32;
        fmt->is_float = 1;
    } else if (a->bits == 0 || a->is_float) {
        fmt->bits = 24;
    } else if (a->bits <= 16) {
        fmt->bits = 16;
    } else if (a->bits <= 24 || flac) {
        fmt->bits = 24;
    } else {
        fmt->bits = 32;
    }
    return PK_OK;
}

static pk_status extract_run(pk_run *run)
{
    pk_ctx *ctx = pk_run_ctx(run);
    const char *in = pk_run_input(run, 0);
    const char *out_path = pk_run_str(run, "output");
    const char *ext = extension(out_path);
    int flac = strcasecmp(ext, "flac") == 0;
    if (!flac && strcasecmp(ext, "wav") != 0)
        return pk_fail(ctx, PK_ERR_USAGE, out_path, "the output must end in .wav or .flac");

    pk_source_options opts;
    pk_source_options_init(&opts);
    opts.streams = PK_STREAM_AUDIO;
    opts.audio_rate = pk_run_is_set(run, "rate") ? (int)pk_run_int(run, "rate") : 0;
    opts.audio_channels = pk_run_is_set(run, "channels") ? (int)pk_run_int(run, "channels") : 0;
    pk_source *src;
    pk_status st = pk_source_open(ctx, in, &opts, &src);
    if (st != PK_OK)
        return st;
    const pk_audio_info *a = pk_source_audio(src);
    pk_audio_format fmt;
    pk_output *out = NULL;
    pk_audio_writer *w = NULL;
    const char **tags = NULL;
    if ((st = choose_format(run, a, flac, &fmt)) != PK_OK)
        goto done;
    if ((st = pk_output_open(run, out_path, &out)) != PK_OK)
        goto done;
    if (!(tags = pk_source_content_tags(src))) {
        st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        goto done;
    }
    if ((st = pk_audio_writer_open(ctx, pk_output_tmp_path(out), out_path, &fmt, tags, &w)) != PK_OK)
        goto done;

    pk_progress_begin(ctx, "extract-audio", a->duration, "s");
    int64_t errors = 0;
    pk_item it;
    while ((st = pk_source_next(src, &it)) == PK_OK && it.type != PK_ITEM_END) {
        if (it.type == PK_ITEM_DECODE_ERROR) {
            if (errors++ < 10)
                pk_log(ctx, PK_LOG_WARNING, "%s: decode error at %.3f s: %s", in, it.error_time, it.error);
            continue;
        }
        if (it.type != PK_ITEM_AUDIO)
            continue;
        if ((st = pk_audio_writer_write(w, it.audio->interleaved, it.audio->frames)) != PK_OK)
            break;
        pk_progress_update(ctx, it.audio->time + (double)it.audio->frames / it.audio->rate);
    }
    pk_progress_end(ctx);
    if (st == PK_OK)
        st = pk_audio_writer_close(w);
    if (st != PK_OK)
        goto done;

    int64_t frames = pk_audio_writer_frames(w);
    int64_t clipped = pk_audio_writer_clipped(w);
    if (errors > 10)
        pk_log(ctx, PK_LOG_WARNING, "%s: %lld decode errors in all", in, (long long)errors);
    if (clipped > 0)
        pk_log(ctx, PK_LOG_WARNING, "%s: %lld samples beyond full scale were clipped", out_path,
               (long long)clipped);
    pk_output_note(out, "source_stream", json_integer(a->stream_index));
    pk_output_note(out, "clipped_samples", json_integer(clipped));
    pk_output_note(out, "dither", json_string(pk_audio_writer_dithered(w) ? "tpdf-1lsb" : "none"));
    pk_output_note(out, "decode_errors", json_integer(errors));
    json_t *rec = json_object();
    json_object_set_new(rec, "input", pk_json_string(in));
    json_object_set_new(rec, "output", pk_json_string(out_path));
    json_object_set_new(rec, "format", json_string(flac ? "flac" : "wav"));
    json_object_set_new(rec, "sample_rate", json_integer(fmt.rate));
    json_object_set_new(rec, "channels", json_integer(fmt.channels));
    pk_json_set_str(rec, "channel_layout", fmt.layout);
    json_object_set_new(rec, "bits", json_integer(fmt.bits));
    json_object_set_new(rec, "float", json_boolean(fmt.is_float));
    json_object_set_new(rec, "samples", json_integer(frames));
    json_object_set_new(rec, "duration", json_real(pk_round((double)frames / fmt.rate, 6)));
    json_object_set_new(rec, "clipped_samples", json_integer(clipped));
    json_object_set_new(rec, "dithered", json_boolean(pk_audio_writer_dithered(w)));
    json_object_set_new(rec, "decode_errors", json_integer(errors));
    st = pk_output_commit(run, out);
    out = NULL;
    if (st == PK_OK)
        pk_run_emit(run, rec);
    else
        json_decref(rec);
done:
    pk_audio_writer_free(w);
    pk_output_abort(run, out);
    free(tags);
    pk_source_free(src);
    return st;
}

static const pk_param_spec extract_params[] = {
    {.name = "output", .short_opt = 'o', .type = PK_PARAM_PATH_OUT, .metavar = "OUT.wav|OUT.flac",
     .help = "the file to write; .wav or .flac chooses the format", .flags = PK_PARAM_REQUIRED},
    {.name = "rate", .type = PK_PARAM_INT, .min = 8000, .max = 384000, .unit = "Hz",
     .help = "resample to this rate (default: the source's)"},
    {.name = "channels", .type = PK_PARAM_INT, .min = 1, .max = 16,
     .help = "mix to this many channels; 1 or 2 from surround is a BS.775 downmix (default: the source's layout)"},
    {.name = "bits", .type = PK_PARAM_ENUM, .choices = "16|24|32",
     .help = "bit depth (default: the source's; 24 for lossy sources). 16-bit output from finer samples is "
             "dithered (TPDF, +-1 LSB)"},
    {.name = "float", .type = PK_PARAM_BOOL, .defval = "no", .help = "write 32-bit float samples (WAV only)"},
    {.name = NULL},
};

const pk_op pk_op_extract_audio = {
    .name = "extract-audio",
    .summary = "Write the audio of a media file to WAV or FLAC, keeping its format",
    .description = "Decodes the best audio stream of FILE (any container or codec FFmpeg reads) and "
                   "writes it to a WAV or FLAC file with the source's sample rate, channel layout "
                   "(WAVE_FORMAT_EXTENSIBLE with its channel mask beyond stereo), bit depth and tags. "
                   "Lossy sources become 24-bit. Samples beyond full scale are clipped and counted, "
                   "never wrapped. Decode errors are reported and decoding continues.",
    .input_name = "FILE",
    .input_kind = "media",
    .min_inputs = 1,
    .max_inputs = 1,
    .params = extract_params,
    .run = extract_run,
    .flags = PK_OP_WRITES,
};
