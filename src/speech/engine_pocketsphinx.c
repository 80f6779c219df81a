/*
 * engine_pocketsphinx.c — CMU PocketSphinx (Debian's libpocketsphinx and its
 * en-us acoustic model, language model and dictionary).
 *
 * Each decoder is a full ps_decoder_t (PocketSphinx decoders share nothing,
 * so one per thread runs in parallel). A segment is one utterance; the
 * segment iterator gives each word's frames (100 per second) and, because
 * the default configuration computes a lattice for the best path, its
 * posterior probability, which is the word's confidence.
 */
#include "speech/internal.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <pocketsphinx.h>
#include <sphinxbase/err.h>

#ifndef PK_POCKETSPHINX_MODELDIR
#define PK_POCKETSPHINX_MODELDIR "/usr/share/pocketsphinx/model"
#endif

typedef struct ps_engine {
    pk_asr_engine base;
    char hmm[1024], lm[1024], dict[1024];
} ps_engine;

struct pk_asr_decoder {
    ps_engine *engine;
    ps_decoder_t *ps;
    int16_t *pcm;
    size_t pcm_cap;
};

/* PocketSphinx logs to stderr through a process-wide setting; it is turned
 * off once, and decoders are created one at a time because model loading
 * goes through that same logger. */
static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

static void quiet(void)
{
    err_set_logfp(NULL);
}

static pk_status ps_decoder_new(pk_asr_engine *base, pk_ctx *ctx, pk_asr_decoder **out)
{
    ps_engine *e = (ps_engine *)base;
    *out = NULL;
    pk_asr_decoder *d = calloc(1, sizeof *d);
    if (!d)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    d->engine = e;
    pthread_mutex_lock(&init_lock);
    cmd_ln_t *config = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", e->hmm, "-lm", e->lm, "-dict", e->dict,
                                   NULL);
    if (config)
        d->ps = ps_init(config);
    cmd_ln_free_r(config); /* the decoder keeps its own reference */
    pthread_mutex_unlock(&init_lock);
    if (!d->ps) {
        free(d);
        return pk_fail(ctx, PK_ERR_INPUT, e->hmm, "PocketSphinx cannot load its model");
    }
    *out = d;
    return PK_OK;
}

/* "word(2)" is the second pronunciation of "word". */
static void strip_variant(char *w)
{
    size_t n = strlen(w);
    if (n > 3 && w[n - 1] == ')') {
        char *open = strrchr(w, '(');
        if (open && open > w)
            *open = '\0';
    }
}

static pk_status ps_recognise(pk_asr_decoder *d, pk_ctx *ctx, const float *pcm, size_t n, pk_word_list *out)
{
    if (n > d->pcm_cap) {
        int16_t *p = realloc(d->pcm, n * sizeof *p);
        if (!p)
            return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        d->pcm = p;
        d->pcm_cap = n;
    }
    for (size_t i = 0; i < n; i++) {
        float v = pcm[i] * 32768.0f;
        d->pcm[i] = (int16_t)(v > 32767.0f ? 32767 : v < -32768.0f ? -32768 : lrintf(v));
    }
    if (ps_start_utt(d->ps) < 0 || ps_process_raw(d->ps, d->pcm, n, FALSE, TRUE) < 0 || ps_end_utt(d->ps) < 0)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "PocketSphinx failed to decode a segment");
    int frate = cmd_ln_int32_r(ps_get_config(d->ps), "-frate");
    if (frate <= 0)
        frate = 100;
    logmath_t *lmath = ps_get_logmath(d->ps);
    for (ps_seg_t *seg = ps_seg_iter(d->ps); seg; seg = ps_seg_next(seg)) {
        const char *word = ps_seg_word(seg);
        /* Sentence marks and silence are not words; noise tokens are fillers. */
        if (!word || word[0] == '<')
            continue;
        char w[256];
        snprintf(w, sizeof w, "%s", word);
        strip_variant(w);
        bool noise = w[0] == '[' || w[0] == '+';
        if (noise)
            continue; /* [NOISE], [SPEECH]: nothing a transcript can show */
        int sf, ef;
        ps_seg_frames(seg, &sf, &ef);
        int32 ascr, lscr, lback;
        int32 post = ps_seg_prob(seg, &ascr, &lscr, &lback);
        double conf = logmath_exp(lmath, post);
        if (!(conf >= 0))
            conf = 0;
        if (conf > 1)
            conf = 1;
        pk_status st = pk_words_push(ctx, out, w, (double)sf / frate, (double)(ef + 1) / frate, (float)conf,
                                     pk_word_is_filler(w, NULL));
        if (st != PK_OK) {
            ps_seg_free(seg);
            return st;
        }
    }
    return PK_OK;
}

static void ps_decoder_free(pk_asr_decoder *d)
{
    if (!d)
        return;
    ps_free(d->ps);
    free(d->pcm);
    free(d);
}

static void ps_engine_free(pk_asr_engine *e)
{
    free(e);
}

static const pk_asr_vtable ps_vtable = {
    .name = "pocketsphinx",
    .decoder_new = ps_decoder_new,
    .recognise = ps_recognise,
    .decoder_free = ps_decoder_free,
    .engine_free = ps_engine_free,
};

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

pk_status pk_asr_pocketsphinx_open(pk_ctx *ctx, const pk_asr_config *cfg, pk_asr_engine **out)
{
    *out = NULL;
    pthread_once(&quiet_once, quiet);
    /* --model DIR: a folder laid out as Debian's (en-us/, en-us.lm.bin,
     * cmudict-en-us.dict). */
    const char *dir = cfg && cfg->model_path ? cfg->model_path : PK_POCKETSPHINX_MODELDIR "/en-us";
    ps_engine *e = calloc(1, sizeof *e);
    if (!e)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    snprintf(e->hmm, sizeof e->hmm, "%s/en-us", dir);
    snprintf(e->lm, sizeof e->lm, "%s/en-us.lm.bin", dir);
    snprintf(e->dict, sizeof e->dict, "%s/cmudict-en-us.dict", dir);
    const char *missing = !exists(e->hmm) ? e->hmm : !exists(e->lm) ? e->lm : !exists(e->dict) ? e->dict : NULL;
    if (missing) {
        free(e);
        return pk_fail(ctx, PK_ERR_INPUT, missing,
                       "PocketSphinx model not found (install Debian's pocketsphinx-en-us)");
    }
    e->base.vt = &ps_vtable;
    snprintf(e->base.model, sizeof e->base.model, "pocketsphinx-en-us");
    snprintf(e->base.model_version, sizeof e->base.model_version, "0.8+5prealpha");
    /* The language model is what differs between installs of the
     * package; its SHA-256 identifies the model in transcripts. */
    pk_status st = pk_sha256_file(ctx, e->lm, e->base.model_sha256);
    if (st != PK_OK) {
        free(e);
        return st;
    }
    e->base.max_segment = 60;
    e->base.punctuated = false;
    e->base.parallel = true;
    *out = &e->base;
    return PK_OK;
}
