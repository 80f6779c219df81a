/*
 * avprint.c — fingerprints of audio and video for the duplicate finder, from
 * one pass of the streaming decoder (pk_source): Chromaprint for the sound,
 * a sequence of frame pHashes for the picture.
 *
 * Both survive what a re-encode, a remux, another sample rate, channel
 * count, bit rate or resolution changes: Chromaprint works on the mono
 * 11 kHz chroma of the sound; a frame pHash on a 32x32 grey square. Both are
 * sampled on the file's timeline (8 values a second, one frame a second), so
 * two versions of one recording give sequences that line up.
 */
#include "catalog/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <chromaprint.h>
#include <postkit/media.h>

/* Average a luma plane into a 32x32 grey square (area sampling). */
static void luma_square(const uint8_t *plane, int stride, int w, int h, float *out)
{
    for (int y = 0; y < 32; y++) {
        int y0 = y * h / 32, y1 = (y + 1) * h / 32;
        if (y1 <= y0)
            y1 = y0 + 1;
        for (int x = 0; x < 32; x++) {
            int x0 = x * w / 32, x1 = (x + 1) * w / 32;
            if (x1 <= x0)
                x1 = x0 + 1;
            /* Every other row and column is plenty for an average. */
            double s = 0;
            int n = 0;
            for (int yy = y0; yy < y1 && yy < h; yy += 2)
                for (int xx = x0; xx < x1 && xx < w; xx += 2) {
                    s += plane[(size_t)yy * stride + xx];
                    n++;
                }
            out[y * 32 + x] = n ? (float)(s / n) : 0;
        }
    }
}

void pk_av_print_free(pk_av_print *p)
{
    if (!p)
        return;
    free(p->chroma);
    free(p->frames);
    memset(p, 0, sizeof *p);
}

pk_status pk_av_print_file(pk_ctx *ctx, const char *path, pk_av_print *out)
{
    memset(out, 0, sizeof *out);
    pk_source_options o;
    pk_source_options_init(&o);
    o.streams = PK_STREAM_AUDIO | PK_STREAM_VIDEO;
    o.audio_channels = 1;
    o.video_threads = 1; /* files are fingerprinted in parallel already */
    pk_source *src;
    pk_status st = pk_source_open(ctx, path, &o, &src);
    if (st != PK_OK)
        return st;
    const pk_audio_info *ai = pk_source_audio(src);
    const pk_video_info *vi = pk_source_video(src);
    ChromaprintContext *cp = NULL;
    if (ai) {
        cp = chromaprint_new(CHROMAPRINT_ALGORITHM_DEFAULT);
        if (!cp || !chromaprint_start(cp, ai->rate, 1)) {
            pk_source_free(src);
            if (cp)
                chromaprint_free(cp);
            return pk_fail(ctx, PK_ERR_INTERNAL, path, "cannot start Chromaprint");
        }
    }
    int16_t *pcm = NULL;
    size_t pcm_cap = 0, frames_cap = 0;
    double next_frame = 0, audio_end = ai ? PK_AV_AUDIO_SECONDS : 0, video_end = vi ? PK_AV_VIDEO_SECONDS : 0;
    double audio_done = 0, video_done = 0;
    int fed = 0;
    for (;;) {
        pk_item it;
        st = pk_source_next(src, &it);
        if (st != PK_OK || it.type == PK_ITEM_END)
            break;
        if (it.type == PK_ITEM_AUDIO && cp && audio_done < audio_end) {
            const pk_audio_block *b = it.audio;
            if ((size_t)b->frames > pcm_cap) {
                int16_t *g = realloc(pcm, (size_t)b->frames * sizeof *g);
                if (!g) {
                    st = pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
                    break;
                }
                pcm = g;
                pcm_cap = (size_t)b->frames;
            }
            for (int i = 0; i < b->frames; i++) {
                float v = b->interleaved[i];
                v = isnan(v) ? 0 : v > 1 ? 1 : v < -1 ? -1 : v;
                pcm[i] = (int16_t)lrintf(v * 32767);
            }
            chromaprint_feed(cp, pcm, b->frames);
            fed = 1;
            audio_done = (double)(b->first_sample + b->frames) / b->rate;
        } else if (it.type == PK_ITEM_VIDEO && vi && video_done < video_end && it.video->time >= next_frame) {
            const uint8_t *plane;
            int stride;
            if (pk_frame_luma8(src, &plane, &stride) == PK_OK) {
                float g[32 * 32];
                luma_square(plane, stride, it.video->width, it.video->height, g);
                uint64_t *frames = pk_grow(out->frames, &frames_cap, out->nframes, sizeof *frames, 256);
                if (!frames) {
                    st = pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
                    break;
                }
                out->frames = frames;
                out->frames[out->nframes++] = pk_phash32(g);
            }
            next_frame = floor(it.video->time) + 1;
            video_done = it.video->time;
        }
        /* Both prints complete: no need to decode the rest. */
        if ((!cp || audio_done >= audio_end) && (!vi || video_done >= video_end))
            break;
    }
    /* Chromaprint needs about 2.5 s before its first value: a shorter
     * clip (a jingle, a sound effect) is padded with silence, the same for
     * every version of it, so it still gets a fingerprint to compare. */
    if (st == PK_OK && cp && fed && audio_done < PK_AV_AUDIO_MIN_SECONDS) {
        static const int16_t zeros[1024];
        int64_t missing = (int64_t)((PK_AV_AUDIO_MIN_SECONDS - audio_done) * ai->rate);
        for (; missing > 0; missing -= 1024)
            chromaprint_feed(cp, zeros, missing < 1024 ? (int)missing : 1024);
    }
    if (st == PK_OK && cp && fed && chromaprint_finish(cp)) {
        uint32_t *raw = NULL;
        int n = 0;
        if (chromaprint_get_raw_fingerprint(cp, &raw, &n) && n > 0) {
            out->chroma = malloc((size_t)n * sizeof *out->chroma);
            if (out->chroma) {
                memcpy(out->chroma, raw, (size_t)n * sizeof *raw);
                out->nchroma = (size_t)n;
            }
        }
        chromaprint_dealloc(raw);
    }
    if (cp)
        chromaprint_free(cp);
    free(pcm);
    pk_source_free(src);
    if (st != PK_OK)
        pk_av_print_free(out);
    return st;
}

double pk_chroma_distance(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
    size_t shorter = na < nb ? na : nb;
    if (shorter < 4)
        return 1;
    long max_shift = (long)(shorter / 4);
    double best = 1;
    for (long off = -max_shift; off <= max_shift; off++) {
        size_t errors = 0, n = 0;
        for (size_t i = 0; i < na; i++) {
            long j = (long)i + off;
            if (j < 0 || (size_t)j >= nb)
                continue;
            errors += (size_t)__builtin_popcount(a[i] ^ b[j]);
            n++;
        }
        if (n * 4 < shorter * 3) /* at least 3/4 of the shorter one */
            continue;
        double ber = (double)errors / (32.0 * (double)n);
        if (ber < best)
            best = ber;
    }
    return best;
}

double pk_frames_distance(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
    size_t shorter = na < nb ? na : nb;
    if (shorter < 2)
        return 64;
    double best = 64;
    for (long off = -5; off <= 5; off++) {
        size_t sum = 0, n = 0;
        for (size_t i = 0; i < na; i++) {
            long j = (long)i + off;
            if (j < 0 || (size_t)j >= nb)
                continue;
            sum += (size_t)pk_hamming(a[i], b[j]);
            n++;
        }
        if (n * 4 < shorter * 3)
            continue;
        double mean = (double)sum / (double)n;
        if (mean < best)
            best = mean;
    }
    return best;
}
