/*
 * pipeline.c — decode → 16 kHz mono → VAD → recognise segments in parallel.
 *
 * The calling thread decodes and runs the VAD (its state is recurrent, so it
 * is sequential); each closed segment's samples are copied into a job on a
 * small bounded queue, and worker threads, each with its own decoder,
 * recognise jobs as they come. When the queue is full, decoding waits: at
 * most 2 jobs per worker plus the audio of the segment being formed are in
 * memory, whatever the file's length. Words come back per job and are
 * joined in time order at the end (words are small: a two-hour talk has
 * about 20,000).
 */
#include "speech/internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <postkit/media.h>

typedef struct job {
    size_t index;
    int64_t start;        /* first sample, 16 kHz, from the audio's start */
    float *pcm;
    size_t n;
    struct job *next;
} job;

typedef struct result {
    int64_t start;
    pk_word_list words;
} result;

typedef struct pipeline {
    pk_ctx *ctx;
    pk_asr_engine *engine;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    job *head, *tail;
    size_t queued, capacity;
    bool closing;         /* no more jobs will come */
    bool failed;          /* a worker failed: stop */
    pk_status fail_status;
    pk_ctx *fail_ctx;     /* the failed worker's context (its message) */
    result *results;
    size_t n_results, cap_results;
    /* Audio kept for segments not yet closed. */
    float *buf;
    size_t len, cap;
    int64_t base;         /* sample position of buf[0] */
    size_t jobs;          /* jobs created */
    pk_vad_segment *segments;
    size_t n_segments, cap_segments;
    pk_status emit_status;
} pipeline;

typedef struct worker {
    pipeline *p;
    pthread_t thread;
    pk_ctx *ctx;
    bool started;
} worker;

static pk_status store_result(pipeline *p, size_t index, int64_t start, pk_word_list *words)
{
    pthread_mutex_lock(&p->lock);
    pk_status st = PK_OK;
    if (index >= p->cap_results) {
        size_t cap = p->cap_results ? p->cap_results * 2 : 64;
        while (cap <= index)
            cap *= 2;
        result *r = realloc(p->results, cap * sizeof *r);
        if (!r) {
            st = PK_ERR_INTERNAL;
        } else {
            memset(r + p->cap_results, 0, (cap - p->cap_results) * sizeof *r);
            p->results = r;
            p->cap_results = cap;
        }
    }
    if (st == PK_OK) {
        p->results[index].start = start;
        p->results[index].words = *words;
        *words = (pk_word_list){0};
        if (index + 1 > p->n_results)
            p->n_results = index + 1;
    }
    pthread_mutex_unlock(&p->lock);
    return st;
}

static void fail(pipeline *p, pk_ctx *wctx, pk_status st)
{
    pthread_mutex_lock(&p->lock);
    if (!p->failed) {
        p->failed = true;
        p->fail_status = st;
        p->fail_ctx = wctx;
    }
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
}

static void *work(void *arg)
{
    worker *w = arg;
    pipeline *p = w->p;
    pk_asr_decoder *dec = NULL;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (!p->head && !p->closing && !p->failed)
            pthread_cond_wait(&p->changed, &p->lock);
        if (p->failed || !p->head) {
            pthread_mutex_unlock(&p->lock);
            break;
        }
        job *j = p->head;
        p->head = j->next;
        if (!p->head)
            p->tail = NULL;
        p->queued--;
        pthread_cond_broadcast(&p->changed);
        pthread_mutex_unlock(&p->lock);

        pk_status st = PK_OK;
        if (!dec)
            st = p->engine->vt->decoder_new(p->engine, w->ctx, &dec);
        pk_word_list words = {0};
        if (st == PK_OK)
            st = p->engine->vt->recognise(dec, w->ctx, j->pcm, j->n, &words);
        if (st == PK_OK && pk_ctx_interrupted(w->ctx))
            st = pk_fail(w->ctx, PK_ERR_INTERRUPTED, NULL, "interrupted");
        if (st == PK_OK && (st = store_result(p, j->index, j->start, &words)) != PK_OK)
            pk_fail(w->ctx, st, NULL, "out of memory");
        pk_words_clear(&words);
        free(j->pcm);
        free(j);
        if (st != PK_OK) {
            fail(p, w->ctx, st);
            break;
        }
    }
    if (dec)
        p->engine->vt->decoder_free(dec);
    return NULL;
}

/* Called by the VAD for each closed segment: copy its samples into a job
 * and queue it, waiting while the queue is full. */
static void on_segment(void *user, const pk_vad_segment *seg)
{
    pipeline *p = user;
    if (p->emit_status != PK_OK)
        return;
    if (p->n_segments == p->cap_segments) {
        size_t cap = p->cap_segments ? p->cap_segments * 2 : 64;
        pk_vad_segment *s = realloc(p->segments, cap * sizeof *s);
        if (!s) {
            p->emit_status = pk_fail(p->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
            return;
        }
        p->segments = s;
        p->cap_segments = cap;
    }
    p->segments[p->n_segments++] = *seg;
    int64_t from = seg->start < p->base ? p->base : seg->start;
    int64_t to = seg->end > p->base + (int64_t)p->len ? p->base + (int64_t)p->len : seg->end;
    if (to <= from)
        return;
    job *j = calloc(1, sizeof *j);
    float *pcm = malloc((size_t)(to - from) * sizeof *pcm);
    if (!j || !pcm) {
        free(j);
        free(pcm);
        p->emit_status = pk_fail(p->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        return;
    }
    memcpy(pcm, p->buf + (from - p->base), (size_t)(to - from) * sizeof *pcm);
    j->index = p->jobs++;
    j->start = from;
    j->pcm = pcm;
    j->n = (size_t)(to - from);
    pthread_mutex_lock(&p->lock);
    while (p->queued >= p->capacity && !p->failed)
        pthread_cond_wait(&p->changed, &p->lock);
    if (p->failed) {
        pthread_mutex_unlock(&p->lock);
        free(pcm);
        free(j);
        return;
    }
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    p->queued++;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
}

static pk_status keep_audio(pipeline *p, const float *samples, size_t n, int64_t keep_from)
{
    /* Drop what no segment can need any more, then append. */
    if (keep_from > p->base) {
        size_t drop = (size_t)(keep_from - p->base);
        if (drop > p->len)
            drop = p->len;
        memmove(p->buf, p->buf + drop, (p->len - drop) * sizeof *p->buf);
        p->len -= drop;
        p->base += (int64_t)drop;
    }
    if (p->len + n > p->cap) {
        size_t cap = p->cap ? p->cap : 65536;
        while (cap < p->len + n)
            cap *= 2;
        float *b = realloc(p->buf, cap * sizeof *b);
        if (!b)
            return pk_fail(p->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        p->buf = b;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, samples, n * sizeof *samples);
    p->len += n;
    return PK_OK;
}

/* Decode, run the VAD and queue jobs until the end of the file. */
static pk_status produce(pipeline *p, pk_source *src, pk_vad *vad, double *t0)
{
    pk_ctx *ctx = p->ctx;
    pk_status st;
    pk_item it;
    bool first = true;
    while ((st = pk_source_next(src, &it)) == PK_OK && it.type != PK_ITEM_END) {
        if (it.type != PK_ITEM_AUDIO)
            continue;
        if (first) {
            *t0 = it.audio->time;
            first = false;
        }
        const float *s = it.audio->interleaved;
        size_t n = (size_t)it.audio->frames;
        if ((st = keep_audio(p, s, n, pk_vad_keep_from(vad))) != PK_OK)
            break;
        if ((st = pk_vad_feed(vad, s, n, on_segment, p)) != PK_OK)
            break;
        if ((st = p->emit_status) != PK_OK)
            break;
        pk_progress_update(ctx, it.audio->time);
        pthread_mutex_lock(&p->lock);
        bool failed = p->failed;
        pthread_mutex_unlock(&p->lock);
        if (failed)
            break;
    }
    if (st == PK_OK)
        st = pk_vad_finish(vad, on_segment, p);
    if (st == PK_OK)
        st = p->emit_status;
    return st;
}

pk_status pk_speech_source_open(pk_ctx *ctx, const char *path, pk_source **out)
{
    pk_source_options so;
    pk_source_options_init(&so);
    so.streams = PK_STREAM_AUDIO;
    so.audio_rate = PK_VAD_RATE;
    so.audio_channels = 1;
    return pk_source_open(ctx, path, &so, out);
}

pk_status pk_transcribe_media(pk_ctx *ctx, const char *path, pk_model *vad_model, pk_asr_engine *engine,
                              const pk_transcribe_options *opts, pk_transcript *t)
{
    pk_source *src;
    pk_status st = pk_speech_source_open(ctx, path, &src);
    if (st != PK_OK)
        return st;
    pk_vad_options vo = opts->vad;
    double limit = opts->max_segment > 0 ? opts->max_segment : engine->max_segment > 0 ? engine->max_segment : 30;
    if (engine->max_segment > 0 && limit > engine->max_segment)
        limit = engine->max_segment;
    vo.max_speech = limit;
    pk_vad *vad;
    if ((st = pk_vad_new(ctx, vad_model, &vo, &vad)) != PK_OK) {
        pk_source_free(src);
        return st;
    }
    int nworkers = opts->threads > 0 ? opts->threads : pk_ctx_threads(ctx);
    if (nworkers < 1)
        nworkers = 1;
    if (!engine->parallel)
        nworkers = 1;
    pipeline p = {.ctx = ctx, .engine = engine, .capacity = (size_t)nworkers * 2};
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.changed, NULL);
    worker *workers = calloc((size_t)nworkers, sizeof *workers);
    if (!workers)
        st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    for (int i = 0; st == PK_OK && i < nworkers; i++) {
        workers[i].p = &p;
        if ((st = pk_ctx_new_child(ctx, &workers[i].ctx)) != PK_OK)
            break;
        if (pthread_create(&workers[i].thread, NULL, work, &workers[i]) != 0) {
            st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "cannot start a worker thread");
            break;
        }
        workers[i].started = true;
    }
    double t0 = 0;
    pk_progress_begin(ctx, "transcribe", pk_source_audio(src)->duration, "s");
    if (st == PK_OK)
        st = produce(&p, src, vad, &t0);
    pthread_mutex_lock(&p.lock);
    p.closing = true;
    if (st != PK_OK)
        p.failed = true; /* workers drop what is queued */
    pthread_cond_broadcast(&p.changed);
    pthread_mutex_unlock(&p.lock);
    for (int i = 0; workers && i < nworkers; i++)
        if (workers[i].started)
            pthread_join(workers[i].thread, NULL);
    pk_progress_end(ctx);
    if (st == PK_OK && p.fail_ctx) {
        pk_ctx_copy_error(ctx, p.fail_ctx);
        st = p.fail_status;
    }
    /* Jobs left in the queue after a failure. */
    while (p.head) {
        job *j = p.head;
        p.head = j->next;
        free(j->pcm);
        free(j);
    }
    for (size_t i = 0; st == PK_OK && i < p.n_results; i++) {
        result *r = &p.results[i];
        double offset = t0 + (double)r->start / PK_VAD_RATE;
        for (size_t k = 0; k < r->words.n; k++) {
            r->words.v[k].start += offset;
            r->words.v[k].end += offset;
        }
        st = pk_words_append(ctx, &t->words, &r->words);
    }
    for (size_t i = 0; i < p.n_results; i++)
        pk_words_clear(&p.results[i].words);
    if (st == PK_OK) {
        free(t->segments);
        t->segments = p.segments;
        t->n_segments = p.n_segments;
        p.segments = NULL;
        t->time_offset = t0;
        t->duration = (double)pk_vad_position(vad) / PK_VAD_RATE;
    }
    for (int i = 0; workers && i < nworkers; i++)
        pk_ctx_free(workers[i].ctx);
    free(workers);
    free(p.results);
    free(p.buf);
    free(p.segments);
    pthread_mutex_destroy(&p.lock);
    pthread_cond_destroy(&p.changed);
    pk_vad_free(vad);
    pk_source_free(src);
    return st;
}
