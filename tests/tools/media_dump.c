/*
 * media_dump — print what a pk_source delivers, one line per item, for the
 * end-to-end tests (compare with ffprobe, measure memory). Not installed.
 *
 *   media_dump [--audio-only|--video-only] [--rate HZ] [--channels N]
 *              [--block N] [--planar] [--summary] FILE
 *
 * Lines:  A first_sample frames time
 *         V number pts time duration interlaced top_field_first keyframe corrupt luma_mean
 *         E stream time message
 * and last: END samples=N frames=N errors=N last_video_time=T maxrss_kb=N
 * Exit status: the pk_status of the failure, 0 at the end of the file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <postkit/media.h>

int main(int argc, char **argv)
{
    pk_source_options o;
    pk_source_options_init(&o);
    int summary = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--audio-only"))
            o.streams = PK_STREAM_AUDIO;
        else if (!strcmp(argv[i], "--video-only"))
            o.streams = PK_STREAM_VIDEO;
        else if (!strcmp(argv[i], "--rate") && i + 1 < argc)
            o.audio_rate = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--channels") && i + 1 < argc)
            o.audio_channels = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--block") && i + 1 < argc)
            o.audio_block = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--planar"))
            o.audio_planar = 1;
        else if (!strcmp(argv[i], "--summary"))
            summary = 1;
        else
            path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "usage: media_dump [options] FILE\n");
        return 2;
    }
    pk_ctx *ctx;
    if (pk_ctx_new(&ctx) != PK_OK || pk_init(argv[0]) != PK_OK)
        return 5;
    pk_source *src;
    pk_status st = pk_source_open(ctx, path, &o, &src);
    if (st != PK_OK) {
        fprintf(stderr, "%s\n", pk_ctx_errmsg(ctx));
        pk_ctx_free(ctx);
        pk_shutdown();
        return (int)st;
    }
    int64_t samples = 0, frames = 0, errors = 0;
    double last_video = -1;
    pk_item it;
    while ((st = pk_source_next(src, &it)) == PK_OK && it.type != PK_ITEM_END) {
        if (it.type == PK_ITEM_AUDIO) {
            samples += it.audio->frames;
            if (!summary)
                printf("A %lld %d %.6f\n", (long long)it.audio->first_sample, it.audio->frames, it.audio->time);
        } else if (it.type == PK_ITEM_VIDEO) {
            frames++;
            last_video = it.video->time;
            if (!summary) {
                const uint8_t *y;
                int stride;
                double mean = -1;
                if (pk_frame_luma8(src, &y, &stride) == PK_OK) {
                    double sum = 0;
                    for (int r = 0; r < it.video->height; r++)
                        for (int x = 0; x < it.video->width; x++)
                            sum += y[(size_t)r * (size_t)stride + (size_t)x];
                    mean = sum / ((double)it.video->width * it.video->height);
                }
                printf("V %lld %lld %.6f %.6f %d %d %d %d %.3f\n", (long long)it.video->number,
                       (long long)it.video->pts, it.video->time, it.video->duration, it.video->interlaced,
                       it.video->top_field_first, it.video->keyframe, it.video->corrupt, mean);
            }
        } else {
            errors++;
            if (!summary)
                printf("E %d %.6f %s\n", it.error_stream, it.error_time, it.error);
        }
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (st == PK_OK)
        printf("END samples=%lld frames=%lld errors=%lld last_video_time=%.6f maxrss_kb=%ld\n",
               (long long)samples, (long long)frames, (long long)errors, last_video, ru.ru_maxrss);
    else
        fprintf(stderr, "%s\n", pk_ctx_errmsg(ctx));
    pk_source_free(src);
    pk_ctx_free(ctx);
    pk_shutdown();
    return (int)st;
}
