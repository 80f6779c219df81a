/*
 * vad.c — streaming voice activity detection with Silero VAD.
 *
 * Silero v6 scores 512-sample chunks at 16 kHz; each call sees the chunk
 * with the 64 samples before it (zeros at the start) and carries a recurrent
 * state. The probabilities become segments with Silero's hysteresis (see
 * speech.h). Differences from Silero's offline get_speech_timestamps, made
 * so that segments can be emitted while decoding: a segment is closed as
 * soon as the silence after it reaches min_silence, and the padding between
 * two close segments is given to the earlier one first (segments never
 * overlap).
 */
#include "speech/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CONTEXT 64
#define STATE_SIZE (2 * 1 * 128)

struct pk_vad {
    pk_ctx *ctx;
    pk_model *model;
    pk_vad_options o;
    float input[CONTEXT + PK_VAD_CHUNK];  /* context + the chunk being filled */
    int filled;                           /* samples of the chunk so far */
    float state[STATE_SIZE];
    int64_t pos;                          /* samples fed */
    int64_t chunk_start;                  /* first sample of the chunk being filled */
    /* Hysteresis state, in samples. */
    bool triggered;
    int64_t start;                        /* of the current segment (unpadded) */
    int64_t temp_end;                     /* where the current silence began; -1 none */
    int64_t prev_end;                     /* padded end of the last emitted segment */
    /* Best place to split a segment longer than max_speech: the longest
     * silence seen inside it (shorter than min_silence). */
    int64_t split_at, split_resume, split_len;
    int64_t min_speech, min_silence, pad, max_speech;
};

void pk_vad_options_init(pk_vad_options *o)
{
    o->threshold = 0.5f;
    o->neg_threshold = 0;
    o->min_speech = 0.25;
    o->min_silence = 0.1;
    o->pad = 0.03;
    o->max_speech = 0;
}

pk_status pk_vad_new(pk_ctx *ctx, pk_model *model, const pk_vad_options *opts, pk_vad **out)
{
    *out = NULL;
    pk_vad_options o;
    if (opts)
        o = *opts;
    else
        pk_vad_options_init(&o);
    if (!(o.threshold > 0 && o.threshold < 1))
        return pk_fail(ctx, PK_ERR_USAGE, NULL, "VAD threshold must be between 0 and 1, not %g",
                       o.threshold);
    if (o.neg_threshold <= 0)
        o.neg_threshold = o.threshold - 0.15f > 0.01f ? o.threshold - 0.15f : 0.01f;
    if (o.neg_threshold > o.threshold)
        return pk_fail(ctx, PK_ERR_USAGE, NULL, "VAD: the end threshold %g is above the start threshold %g",
                       o.neg_threshold, o.threshold);
    if (o.min_speech < 0 || o.min_silence < 0 || o.pad < 0 || o.max_speech < 0)
        return pk_fail(ctx, PK_ERR_USAGE, NULL, "VAD durations must not be negative");
    if (o.max_speech > 0 && o.max_speech < 1)
        return pk_fail(ctx, PK_ERR_USAGE, NULL, "VAD: the longest segment must be at least 1 s, not %g s",
                       o.max_speech);
    pk_vad *v = calloc(1, sizeof *v);
    if (!v)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    v->ctx = ctx;
    v->model = model;
    v->o = o;
    v->temp_end = -1;
    v->prev_end = 0;
    v->min_speech = llround(o.min_speech * PK_VAD_RATE);
    v->min_silence = llround(o.min_silence * PK_VAD_RATE);
    v->pad = llround(o.pad * PK_VAD_RATE);
    v->max_speech = llround(o.max_speech * PK_VAD_RATE);
    *out = v;
    return PK_OK;
}

void pk_vad_free(pk_vad *vad)
{
    free(vad);
}

int64_t pk_vad_position(const pk_vad *vad)
{
    return vad->pos;
}

int64_t pk_vad_keep_from(const pk_vad *vad)
{
    int64_t from = vad->triggered ? vad->start : vad->chunk_start;
    from -= vad->pad;
    if (from < vad->prev_end)
        from = vad->prev_end;
    return from < 0 ? 0 : from;
}

/* Score the chunk in v->input (context + 512 samples). */
static pk_status score(pk_vad *v, float *prob)
{
    int64_t sr = PK_VAD_RATE;
    pk_tensor in[3] = {
        {.type = PK_TENSOR_FLOAT32, .rank = 2, .dims = {1, CONTEXT + PK_VAD_CHUNK}, .data = v->input},
        {.type = PK_TENSOR_FLOAT32, .rank = 3, .dims = {2, 1, 128}, .data = v->state},
        {.type = PK_TENSOR_INT64, .rank = 0, .data = &sr},
    };
    pk_tensor out[2] = {{0}};
    pk_status st = pk_model_run(v->ctx, v->model, in, 3, out, 2);
    if (st != PK_OK)
        return st;
    if (pk_tensor_count(&out[0]) < 1 || pk_tensor_count(&out[1]) != STATE_SIZE) {
        pk_tensor_clear(&out[0]);
        pk_tensor_clear(&out[1]);
        return pk_fail(v->ctx, PK_ERR_INPUT, pk_model_path(v->model),
                       "model '%s' does not have Silero VAD's outputs", pk_model_id(v->model));
    }
    *prob = ((const float *)out[0].data)[0];
    memcpy(v->state, out[1].data, sizeof v->state);
    pk_tensor_clear(&out[0]);
    pk_tensor_clear(&out[1]);
    return PK_OK;
}

/* Emit [start, end) with padding, when long enough. `limit` bounds the
 * padded end (the samples that exist). */
static void close_segment(pk_vad *v, int64_t end, int64_t limit, pk_vad_emit_fn emit, void *user)
{
    int64_t start = v->start;
    v->triggered = false;
    v->temp_end = -1;
    v->split_len = 0;
    if (end - start < v->min_speech)
        return;
    pk_vad_segment seg;
    seg.start = start - v->pad < v->prev_end ? v->prev_end : start - v->pad;
    if (seg.start < 0)
        seg.start = 0;
    seg.end = end + v->pad > limit ? limit : end + v->pad;
    if (seg.end <= seg.start)
        return;
    v->prev_end = seg.end;
    if (emit)
        emit(user, &seg);
}

/* Apply one chunk's probability: the chunk covers [at, at + len). */
static void decide(pk_vad *v, float p, int64_t at, int64_t len, pk_vad_emit_fn emit, void *user)
{
    if (p >= v->o.threshold) {
        if (v->temp_end >= 0) {
            /* A pause inside speech: remember the longest as a split point. */
            int64_t silence = at - v->temp_end;
            if (silence > v->split_len) {
                v->split_len = silence;
                v->split_at = v->temp_end;
                v->split_resume = at;
            }
            v->temp_end = -1;
        }
        if (!v->triggered) {
            v->triggered = true;
            v->start = at;
            v->split_len = 0;
        }
    }
    if (v->triggered && v->max_speech > 0 && at + len - v->start > v->max_speech) {
        /* Too long: end at the longest pause so far, or here when none. */
        if (v->split_len > 0) {
            int64_t resume = v->split_resume;
            close_segment(v, v->split_at, at, emit, user);
            v->triggered = true;
            v->start = resume;
        } else {
            close_segment(v, at, at, emit, user);
            v->triggered = true;
            v->start = at;
        }
        v->split_len = 0;
    }
    if (v->triggered && p < v->o.neg_threshold) {
        if (v->temp_end < 0)
            v->temp_end = at;
        if (at + len - v->temp_end >= v->min_silence)
            close_segment(v, v->temp_end, at + len, emit, user);
    }
}

pk_status pk_vad_feed(pk_vad *v, const float *samples, size_t n, pk_vad_emit_fn emit, void *user)
{
    while (n > 0) {
        size_t take = (size_t)(PK_VAD_CHUNK - v->filled);
        if (take > n)
            take = n;
        memcpy(v->input + CONTEXT + v->filled, samples, take * sizeof *samples);
        v->filled += (int)take;
        v->pos += (int64_t)take;
        samples += take;
        n -= take;
        if (v->filled < PK_VAD_CHUNK)
            break;
        float p;
        pk_status st = score(v, &p);
        if (st != PK_OK)
            return st;
        decide(v, p, v->chunk_start, PK_VAD_CHUNK, emit, user);
        memmove(v->input, v->input + PK_VAD_CHUNK, CONTEXT * sizeof *v->input);
        v->filled = 0;
        v->chunk_start += PK_VAD_CHUNK;
        if (pk_ctx_interrupted(v->ctx))
            return pk_fail(v->ctx, PK_ERR_INTERRUPTED, NULL, "interrupted");
    }
    return PK_OK;
}

pk_status pk_vad_finish(pk_vad *v, pk_vad_emit_fn emit, void *user)
{
    if (v->filled > 0) {
        /* The last partial chunk, padded with zeros as Silero's tools do. */
        memset(v->input + CONTEXT + v->filled, 0, (size_t)(PK_VAD_CHUNK - v->filled) * sizeof(float));
        float p;
        pk_status st = score(v, &p);
        if (st != PK_OK)
            return st;
        decide(v, p, v->chunk_start, v->filled, emit, user);
        v->chunk_start += v->filled;
        v->filled = 0;
    }
    if (v->triggered) {
        int64_t end = v->temp_end >= 0 ? v->temp_end : v->pos;
        close_segment(v, end, v->pos, emit, user);
    }
    return PK_OK;
}
