/*
 * limiter.c — the look-ahead true-peak limiter (design in audio/internal.h).
 *
 * Indexing: the true-peak envelope value of input frame n describes sample
 * s = n - PK_TP_DELAY and the interpolated points between s and s + 1. A
 * sample is touched by the interval before and after it, so its required
 * gain is the smaller of two consecutive envelope requirements. Sample s
 * leaves the limiter once the requirements of s .. s + W - 1 are known
 * (W = look-ahead in frames).
 */
#include "audio/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct pk_limiter {
    int channels, window;      /* window = look-ahead, frames */
    double ceiling;            /* linear */
    double release_coef;       /* per-frame approach towards unity gain */
    pk_truepeak *tp;
    float *env;                /* scratch: envelope of the current block */
    int64_t env_cap;

    int64_t in_frames;         /* frames received */
    int64_t out_frames;        /* frames emitted */
    double prev_req;           /* requirement of the previous envelope value */

    /* sliding minimum: monotonic queue of (sample, requirement) */
    int64_t *q_idx;
    double *q_val;
    int q_head, q_len, q_cap;

    double grel;               /* released gain of the previous sample */
    double *avg;               /* ring of the last `window` released gains */
    double avg_sum;

    float *audio;              /* ring of delayed input frames */
    int audio_frames;

    int limiting;
    pk_limiter_stats stats;
};

pk_limiter *pk_limiter_new(int rate, int channels, double ceiling_dbtp, double lookahead_ms,
                           double release_ms)
{
    pk_limiter *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->channels = channels;
    l->window = (int)lround(lookahead_ms * rate / 1000.0);
    if (l->window < 1)
        l->window = 1;
    l->ceiling = pow(10.0, ceiling_dbtp / 20.0);
    l->release_coef = 1.0 - exp(-1.0 / (release_ms / 1000.0 * rate));
    l->tp = pk_truepeak_new(channels);
    l->q_cap = l->window + 2;
    l->q_idx = malloc(sizeof *l->q_idx * (size_t)l->q_cap);
    l->q_val = malloc(sizeof *l->q_val * (size_t)l->q_cap);
    l->avg = malloc(sizeof *l->avg * (size_t)l->window);
    l->audio_frames = l->window + PK_TP_DELAY + 4;
    l->audio = calloc((size_t)l->audio_frames * channels, sizeof *l->audio);
    if (!l->tp || !l->q_idx || !l->q_val || !l->avg || !l->audio) {
        pk_limiter_free(l);
        return NULL;
    }
    for (int i = 0; i < l->window; i++)
        l->avg[i] = 1.0;
    l->avg_sum = l->window;
    l->grel = 1.0;
    l->prev_req = 1.0;
    l->stats.lookahead_ms = lookahead_ms;
    l->stats.release_ms = release_ms;
    l->stats.ceiling_dbtp = ceiling_dbtp;
    return l;
}

void pk_limiter_free(pk_limiter *l)
{
    if (!l)
        return;
    pk_truepeak_free(l->tp);
    free(l->env);
    free(l->q_idx);
    free(l->q_val);
    free(l->avg);
    free(l->audio);
    free(l);
}

int pk_limiter_latency(const pk_limiter *l)
{
    return l->window + PK_TP_DELAY - 1;
}

void pk_limiter_get_stats(const pk_limiter *l, pk_limiter_stats *st)
{
    *st = l->stats;
}

static void queue_push(pk_limiter *l, int64_t s, double v)
{
    /* Drop queued values that can never be the minimum again. */
    while (l->q_len > 0) {
        int last = (l->q_head + l->q_len - 1) % l->q_cap;
        if (l->q_val[last] < v)
            break;
        l->q_len--;
    }
    int at = (l->q_head + l->q_len) % l->q_cap;
    l->q_idx[at] = s;
    l->q_val[at] = v;
    l->q_len++;
}

/* Minimum over samples [from, newest]; forgets samples before `from`. */
static double queue_min(pk_limiter *l, int64_t from)
{
    while (l->q_len > 0 && l->q_idx[l->q_head] < from) {
        l->q_head = (l->q_head + 1) % l->q_cap;
        l->q_len--;
    }
    return l->q_len > 0 ? l->q_val[l->q_head] : 1.0;
}

/* Gain for sample q, whose minimum requirement over its look-ahead is gmin. */
static double smooth_gain(pk_limiter *l, int64_t q, double gmin)
{
    double g = l->grel + (1.0 - l->grel) * l->release_coef;
    if (gmin < g)
        g = gmin;
    l->grel = g;
    int slot = (int)(((q % l->window) + l->window) % l->window);
    l->avg_sum += g - l->avg[slot];
    l->avg[slot] = g;
    if (slot == l->window - 1) {
        /* Re-add exactly now and then so the running sum cannot drift. */
        double s = 0;
        for (int i = 0; i < l->window; i++)
            s += l->avg[i];
        l->avg_sum = s;
    }
    return l->avg_sum / l->window;
}

static void count(pk_limiter *l, double gain)
{
    double red = -20.0 * log10(gain);
    if (red > 0.01) {
        l->stats.limited_frames++;
        if (!l->limiting)
            l->stats.events++;
        l->limiting = 1;
        if (red > l->stats.max_reduction_db)
            l->stats.max_reduction_db = red;
    } else {
        l->limiting = 0;
    }
}

int64_t pk_limiter_process(pk_limiter *l, const float *in, int64_t frames, float *out)
{
    if (frames > l->env_cap) {
        float *e = realloc(l->env, sizeof(float) * (size_t)frames);
        if (!e)
            return -1;
        l->env = e;
        l->env_cap = frames;
    }
    pk_truepeak_envelope(l->tp, in, frames, l->env);
    const int C = l->channels, W = l->window;
    int64_t written = 0;
    for (int64_t i = 0; i < frames; i++) {
        int64_t n = l->in_frames++;
        memcpy(l->audio + (n % l->audio_frames) * C, in + i * C, sizeof(float) * (size_t)C);
        double e = l->env[i];
        double req = e > l->ceiling ? l->ceiling / e : 1.0;
        double both = req < l->prev_req ? req : l->prev_req;
        l->prev_req = req;
        int64_t s = n - PK_TP_DELAY;
        if (s < 0)
            continue;
        queue_push(l, s, both);
        /* Samples before the start (q < 0) are silence, but their gains
         * still enter the average: a loud first sample must find the gain
         * already down. They are computed, not emitted. */
        int64_t q = s - W + 1;
        double g = smooth_gain(l, q, queue_min(l, q));
        if (q < 0)
            continue;
        count(l, g);
        const float *src = l->audio + (q % l->audio_frames) * C;
        float *dst = out + written * C;
        for (int c = 0; c < C; c++)
            dst[c] = (float)(src[c] * g);
        written++;
        l->out_frames++;
    }
    return written;
}

int64_t pk_limiter_flush(pk_limiter *l, float *out)
{
    int64_t left = l->in_frames - l->out_frames, lat = pk_limiter_latency(l);
    if (left <= 0)
        return 0;
    float *zeros = calloc((size_t)lat * l->channels, sizeof(float));
    if (!zeros)
        return -1;
    /* `lat` frames of silence after the end push every remaining sample
     * out, and exactly those: the output stays as long as the input. */
    int64_t n = pk_limiter_process(l, zeros, lat, out);
    free(zeros);
    return n;
}
