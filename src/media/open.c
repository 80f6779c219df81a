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
        return pk_ffmpeg_fail(ctx, PK_ERR_INPUT, path, "not a readable media file", rc);
    rc = avformat_find_stream_info(fmt, NULL);
    if (rc < 0) {
        avformat_close_input(&fmt);
        return pk_ffmpeg_fail(ctx, PK_ERR_INPUT, path, "cannot read the stream parameters", rc);
    }
    if (fmt->nb_streams == 0) {
        avformat_close_input(&fmt);
        return pk_fail(ctx, PK_ERR_INPUT, path, "holds no audio or video stream");
    }
    /* FFmpeg will "open" nearly anything through a raw or text demuxer; a
     * stream whose codec it cannot even name is not media we can use. */
    int usable = 0;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        const AVCodecParameters *p = fmt->streams[i]->codecpar;
        if ((p->codec_type == AVMEDIA_TYPE_AUDIO || p->codec_type == AVMEDIA_TYPE_VIDEO) &&
            p->codec_id != AV_CODEC_ID_NONE)
            usable++;
    }
    if (!usable) {
        avformat_close_input(&fmt);
        return pk_fail(ctx, PK_ERR_INPUT, path, "not a media file (no audio or video stream FFmpeg can decode)");
    }
    if ((s = pk_check_truncation(ctx, path, fmt, (int64_t)st.st_size)) != PK_OK) {
        avformat_close_input(&fmt);
        return s;
    }
    *out = fmt;
    return PK_OK;
}
