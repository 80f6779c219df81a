/*
 * engine_whisper.c — whisper.cpp through its C API (whisper.h), built by
 * scripts/build-whisper into .deps/whisper. Without it (PK_HAVE_WHISPER
 * undefined) asking for whisper is a usage error that says how to build it.
 *
 * The model (a ggml file) is read and verified by the model store, and the
 * verified bytes are what whisper.cpp loads. The context with the weights is
 * shared; each decoder owns a whisper_state, so segments decode in parallel.
 * Words are assembled from tokens: a token whose text begins with a space
 * starts a word; the word's times are its tokens' (token timestamps, 10 ms
 * units) and its confidence the mean of their probabilities.
 */
#include "speech/internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ml/internal.h"

char *pk_asr_whisper_installed_id(pk_ctx *ctx)
{
    json_t *manifest;
    if (pk_manifest_load(ctx, &manifest) != PK_OK) {
        pk_ctx_clear_error(ctx);
        return NULL;
    }
    char *store = pk_models_dir();
    char *found = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(manifest, "models"), i, e)
    {
        if (!store || strcmp(pk_entry_str(e, "format"), "ggml") != 0)
            continue;
        char *file = pk_store_model_file(store, e);
        json_t *record = NULL;
        if (file && access(file, R_OK) == 0 &&
            pk_store_read_record(ctx, store, pk_entry_str(e, "id"), &record) == PK_OK && record) {
            free(found);
            found = strdup(pk_entry_str(e, "id"));
        }
        pk_ctx_clear_error(ctx);
        json_decref(record);
        free(file);
    }
    free(store);
    json_decref(manifest);
    return found;
}

#ifndef PK_HAVE_WHISPER

bool pk_asr_whisper_available(void)
{
    return false;
}

pk_status pk_asr_whisper_open(pk_ctx *ctx, const pk_asr_config *cfg, pk_asr_engine **out)
{
    (void)cfg;
    *out = NULL;
    return pk_fail(ctx, PK_ERR_USAGE, NULL,
                   "this postkit was built without whisper.cpp (run scripts/build-whisper, then rebuild)");
}

#else

#include <ctype.h>
#include <pthread.h>

#include <whisper.h>

typedef struct wh_engine {
    pk_asr_engine base;
    struct whisper_context *wctx;
    int threads;
} wh_engine;

struct pk_asr_decoder {
    wh_engine *engine;
    struct whisper_state *state;
    float *pad;               /* short segments padded to what whisper accepts */
    size_t pad_cap;
};

bool pk_asr_whisper_available(void)
{
    return true;
}

/* whisper.cpp and ggml log through one process-wide callback; it is set
 * once to drop their messages (postkit reports errors itself). */
static void discard_log(enum ggml_log_level level, const char *text, void *user)
{
    (void)level;
    (void)text;
    (void)user;
}

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void quiet(void)
{
    whisper_log_set(discard_log, NULL);
}

static pk_status wh_decoder_new(pk_asr_engine *base, pk_ctx *ctx, pk_asr_decoder **out)
{
    wh_engine *e = (wh_engine *)base;
    *out = NULL;
    pk_asr_decoder *d = calloc(1, sizeof *d);
    if (!d)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    d->engine = e;
    if (!(d->state = whisper_init_state(e->wctx))) {
        free(d);
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "whisper.cpp cannot allocate a decoder state");
    }
    *out = d;
    return PK_OK;
}

/* Flush the word being built into `out`. */
static pk_status flush_word(pk_ctx *ctx, pk_word_list *out, char *buf, size_t *len, double start, double end,
                            double psum, int ntok)
{
    if (*len == 0)
        return PK_OK;
    buf[*len] = '\0';
    *len = 0;
    /* Annotations such as [BLANK_AUDIO] or (music) are not speech. */
    if (buf[0] == '[' || buf[0] == '(' || buf[0] == '*')
        return PK_OK;
    if (end < start)
        end = start;
    return pk_words_push(ctx, out, buf, start, end, ntok ? (float)(psum / ntok) : 0.0f,
                         pk_word_is_filler(buf, NULL));
}

static pk_status wh_recognise(pk_asr_decoder *d, pk_ctx *ctx, const float *pcm, size_t n, pk_word_list *out)
{
    wh_engine *e = d->engine;
    /* whisper.cpp ignores input under one second: pad with silence. */
    const size_t min_samples = PK_VAD_RATE + PK_VAD_RATE / 10;
    if (n < min_samples) {
        if (d->pad_cap < min_samples) {
            float *p = realloc(d->pad, min_samples * sizeof *p);
            if (!p)
                return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
            d->pad = p;
            d->pad_cap = min_samples;
        }
        memcpy(d->pad, pcm, n * sizeof *pcm);
        memset(d->pad + n, 0, (min_samples - n) * sizeof *pcm);
        pcm = d->pad;
        n = min_samples;
    }
    struct whisper_full_params p = whisper_full_default_params(WHISPER_SAMPLING_GREEDY);
    p.n_threads = e->threads;
    p.print_progress = false;
    p.print_realtime = false;
    p.print_special = false;
    p.print_timestamps = false;
    p.no_context = true;
    p.token_timestamps = true;
    p.language = "en";
    p.suppress_blank = true;
    if (whisper_full_with_state(e->wctx, d->state, p, pcm, (int)n) != 0)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "whisper.cpp failed to decode a segment");
    whisper_token eot = whisper_token_eot(e->wctx);
    char word[256];
    size_t len = 0;
    double start = 0, end = 0, psum = 0;
    int ntok = 0;
    pk_status st = PK_OK;
    int nseg = whisper_full_n_segments_from_state(d->state);
    for (int s = 0; s < nseg && st == PK_OK; s++) {
        int ntokens = whisper_full_n_tokens_from_state(d->state, s);
        for (int k = 0; k < ntokens && st == PK_OK; k++) {
            whisper_token_data td = whisper_full_get_token_data_from_state(d->state, s, k);
            if (td.id >= eot)
                continue; /* special and timestamp tokens */
            const char *text = whisper_full_get_token_text_from_state(e->wctx, d->state, s, k);
            if (!text || !*text)
                continue;
            double t0 = td.t0 * 0.01, t1 = td.t1 * 0.01;
            bool starts_word = isspace((unsigned char)text[0]) || len == 0;
            if (starts_word && len > 0)
                st = flush_word(ctx, out, word, &len, start, end, psum, ntok);
            if (starts_word) {
                start = t0;
                psum = 0;
                ntok = 0;
            }
            while (*text && isspace((unsigned char)*text))
                text++;
            size_t tl = strlen(text);
            if (len + tl < sizeof word - 1) {
                memcpy(word + len, text, tl);
                len += tl;
            }
            end = t1;
            psum += td.p;
            ntok++;
        }
        if (st == PK_OK)
            st = flush_word(ctx, out, word, &len, start, end, psum, ntok);
    }
    /* Clamp to the real samples (padding is silence). */
    for (size_t i = 0; i < out->n; i++) {
        double limit = (double)n / PK_VAD_RATE;
        if (out->v[i].end > limit)
            out->v[i].end = limit;
        if (out->v[i].start > out->v[i].end)
            out->v[i].start = out->v[i].end;
    }
    return st;
}

static void wh_decoder_free(pk_asr_decoder *d)
{
    if (!d)
        return;
    whisper_free_state(d->state);
    free(d->pad);
    free(d);
}

static void wh_engine_free(pk_asr_engine *base)
{
    wh_engine *e = (wh_engine *)base;
    if (e)
        whisper_free(e->wctx);
    free(e);
}

static const pk_asr_vtable wh_vtable = {
    .name = "whisper",
    .decoder_new = wh_decoder_new,
    .recognise = wh_recognise,
    .decoder_free = wh_decoder_free,
    .engine_free = wh_engine_free,
};

pk_status pk_asr_whisper_open(pk_ctx *ctx, const pk_asr_config *cfg, pk_asr_engine **out)
{
    *out = NULL;
    pthread_once(&quiet_once, quiet);
    pk_model_bytes bytes;
    pk_status st;
    char *id = NULL;
    if (cfg && cfg->model_path) {
        st = pk_model_read_file(ctx, cfg->model_path, "whisper", NULL, &bytes);
    } else {
        id = pk_asr_whisper_installed_id(ctx);
        if (!id)
            return pk_fail(ctx, PK_ERR_INPUT, NULL,
                           "no whisper model installed (postkit models install whisper-base.en, "
                           "or pass --model FILE.bin)");
        st = pk_model_read(ctx, id, &bytes);
    }
    if (st != PK_OK) {
        free(id);
        return st;
    }
    wh_engine *e = calloc(1, sizeof *e);
    if (!e) {
        free(id);
        pk_model_bytes_clear(&bytes);
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    struct whisper_context_params cp = whisper_context_default_params();
    cp.use_gpu = false;
    cp.flash_attn = false;
    e->wctx = whisper_init_from_buffer_with_params_no_state(bytes.data, bytes.size, cp);
    if (!e->wctx) {
        st = pk_fail(ctx, PK_ERR_INPUT, bytes.path, "not a whisper.cpp (ggml) model that loads");
        pk_model_bytes_clear(&bytes);
        free(e);
        free(id);
        return st;
    }
    e->base.vt = &wh_vtable;
    if (id) {
        snprintf(e->base.model, sizeof e->base.model, "%s", id);
    } else {
        const char *slash = strrchr(bytes.path, '/');
        snprintf(e->base.model, sizeof e->base.model, "%s", slash ? slash + 1 : bytes.path);
    }
    snprintf(e->base.model_version, sizeof e->base.model_version, "%s", bytes.version ? bytes.version : "ggml");
    memcpy(e->base.model_sha256, bytes.sha256, sizeof e->base.model_sha256);
    pk_model_bytes_clear(&bytes);
    free(id);
    e->threads = cfg && cfg->threads_per_decoder > 0 ? cfg->threads_per_decoder : 1;
    e->base.max_segment = 29.5;
    e->base.punctuated = true;
    e->base.parallel = true;
    *out = &e->base;
    return PK_OK;
}

#endif
