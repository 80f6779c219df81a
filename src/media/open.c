/*
 * open.c — opening containers with FFmpeg, and noticing files cut short.
 */
#include "media/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavformat/avformat.h>

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Walk a RIFF/WAVE file's chunks to its "data" chunk and compare the size
 * the header declares with what the file holds. RF64 and streaming WAVs
 * (size 0 or 0xFFFFFFFF) declare no size and are not judged. */
static pk_status check_wav(pk_ctx *ctx, const char *path, int64_t file_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return PK_OK;
    unsigned char hdr[12];
    pk_status st = PK_OK;
    if (pread(fd, hdr, 12, 0) != 12 || memcmp(hdr, "RIFF", 4) != 0 || memcmp(hdr + 8, "WAVE", 4) != 0)
        goto done;
    int64_t pos = 12;
    for (int guard = 0; guard < 1000 && pos + 8 <= file_size; guard++) {
        unsigned char ch[8];
        if (pread(fd, ch, 8, pos) != 8)
            break;
        uint32_t size = le32(ch + 4);
        if (memcmp(ch, "data", 4) == 0) {
            if (size == 0 || size == 0xFFFFFFFFu)
                break;
            int64_t have = file_size - (pos + 8);
            if ((int64_t)size > have)
                st = pk_fail(ctx, PK_ERR_INPUT, path,
                             "truncated: the WAV header declares %u bytes of audio but the file "
                             "holds %lld",
                             size, (long long)have);
            break;
        }
        pos += 8 + (int64_t)size + (size & 1);
    }
done:
    close(fd);
    return st;
}

pk_status pk_check_truncation(pk_ctx *ctx, const char *path, AVFormatContext *fmt, int64_t file_size)
{
    if (fmt->iformat && strcmp(fmt->iformat->name, "wav") == 0)
        return check_wav(ctx, path, file_size);
    /* Containers with a sample index (MP4/MOV, AVI): the last sample of any
     * stream must lie inside the file. */
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        AVStream *s = fmt->streams[i];
        int n = avformat_index_get_entries_count(s);
        if (n <= 0)
            continue;
        const AVIndexEntry *e = avformat_index_get_entry(s, n - 1);
        if (e && e->pos > 0 && e->pos + e->size > file_size)
            return pk_fail(ctx, PK_ERR_INPUT, path,
                           "truncated: stream %u's index points %lld bytes past the end of the "
                           "file",
                           i, (long long)(e->pos + e->size - file_size));
    }
    return PK_OK;
}

/* Demuxers that "open" files nobody would call media: text files shown as
 * ANSI art or as a binary-text "video". */
static int text_demuxer(const AVInputFormat *f)
{
    static const char *const names[] = {"tty", "bin", "xbin", "adf", "idf"};
    for (size_t i = 0; i < PK_ARRAY_LEN(names); i++)
        if (strcmp(f->name, names[i]) == 0)
            return 1;
    return 0;
}

/* FFmpeg's confidence, from the first bytes alone (the file name ignored),
 * that `path` is in a format it knows: a probe score, 0 when nothing but a
 * text demuxer matches. Used to tell "not media" from "damaged media". */
static int content_score(const char *path)
{
    enum { PROBE_BYTES = 4096 };
    unsigned char buf[PROBE_BYTES + AVPROBE_PADDING_SIZE];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = pread(fd, buf, PROBE_BYTES, 0);
    close(fd);
    if (n <= 0)
        return 0;
    memset(buf + n, 0, AVPROBE_PADDING_SIZE);
    AVProbeData pd = {.filename = "", .buf = buf, .buf_size = (int)n};
    int score = 0;
    const AVInputFormat *f = av_probe_input_format3(&pd, 1, &score);
    return f && !text_demuxer(f) ? score : 0;
}

/* A stream postkit can work with: audio or video FFmpeg can name, with the
 * basic parameters known. A "video" of 0x0 pixels is what the image2 and raw
 * demuxers make of arbitrary bytes with a picture's extension. */
static int usable_stream(const AVCodecParameters *p)
{
    if (p->codec_id == AV_CODEC_ID_NONE)
        return 0;
    if (p->codec_type == AVMEDIA_TYPE_VIDEO)
        return p->width > 0 && p->height > 0;
    if (p->codec_type == AVMEDIA_TYPE_AUDIO)
        return p->sample_rate > 0 && p->ch_layout.nb_channels > 0;
    return 0;
}

/* Why avformat_open_input failed, in the user's terms. */
static pk_status open_failed(pk_ctx *ctx, const char *path, int averr)
{
    if (content_score(path) <= AVPROBE_SCORE_RETRY)
        return pk_fail(ctx, PK_ERR_INPUT, path,
                       "not a media file (content not recognised as any audio or video format)");
    const char *why = pk_ffmpeg_last_log();
    if (strstr(why, "moov atom not found"))
        return pk_fail(ctx, PK_ERR_INPUT, path,
                       "truncated or incomplete MP4/MOV (moov atom not found: the file was cut "
                       "short or is still being written)");
    return pk_ffmpeg_fail(ctx, PK_ERR_INPUT, path, "not a readable media file", averr);
}

pk_status pk_ffmpeg_open(pk_ctx *ctx, const char *path, AVFormatContext **out)
{
    struct stat st;
    pk_status s = pk_check_input_file(ctx, path, &st);
    if (s != PK_OK)
        return s;
    AVFormatContext *fmt = NULL;
    pk_ffmpeg_clear_error();
    int rc = avformat_open_input(&fmt, path, NULL, NULL);
    if (rc < 0)
        return open_failed(ctx, path, rc);
    /* FFmpeg opens nearly anything through a text or raw demuxer, or by the
     * file name's extension alone. A weak guess that the extension does not
     * back up, or a text demuxer, means the file is not media. */
    if (text_demuxer(fmt->iformat) ||
        (fmt->probe_score < AVPROBE_SCORE_EXTENSION &&
         !(fmt->iformat->extensions && av_match_ext(path, fmt->iformat->extensions)))) {
        avformat_close_input(&fmt);
        return pk_fail(ctx, PK_ERR_INPUT, path,
                       "not a media file (content not recognised as any audio or video format)");
    }
    rc = avformat_find_stream_info(fmt, NULL);
    if (rc < 0) {
        avformat_close_input(&fmt);
        return pk_ffmpeg_fail(ctx, PK_ERR_INPUT, path, "cannot read the stream parameters", rc);
    }
    if (fmt->nb_streams == 0) {
        avformat_close_input(&fmt);
        return pk_fail(ctx, PK_ERR_INPUT, path, "holds no audio or video stream");
    }
    int usable = 0;
    for (unsigned i = 0; i < fmt->nb_streams; i++)
        usable += usable_stream(fmt->streams[i]->codecpar);
    if (!usable) {
        avformat_close_input(&fmt);
        return pk_fail(ctx, PK_ERR_INPUT, path,
                       "not a media file (no audio or video stream FFmpeg can decode)");
    }
    if ((s = pk_check_truncation(ctx, path, fmt, (int64_t)st.st_size)) != PK_OK) {
        avformat_close_input(&fmt);
        return s;
    }
    *out = fmt;
    return PK_OK;
}
