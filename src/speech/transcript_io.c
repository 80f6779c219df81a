/*
 * transcript_io.c — transcripts as files: the JSON record (every word with
 * its times and confidence, the sentences, the VAD segments, which engine
 * and model made it), the editable text (one sentence per line), and the
 * transcript store that lets `cut` find the words from the media alone.
 */
#include "speech/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TRANSCRIPT_FORMAT "postkit-transcript"
#define TRANSCRIPT_VERSION 1

json_t *pk_transcript_to_json(const pk_transcript *t)
{
    json_t *j = json_object();
    json_object_set_new(j, "format", json_string(TRANSCRIPT_FORMAT));
    json_object_set_new(j, "version", json_integer(TRANSCRIPT_VERSION));
    json_object_set_new(j, "source", pk_json_string(t->source));
    if (t->source_sha256[0])
        json_object_set_new(j, "source_sha256", json_string(t->source_sha256));
    json_object_set_new(j, "duration", json_real(pk_round(t->duration, 3)));
    json_object_set_new(j, "time_offset", json_real(pk_round(t->time_offset, 6)));
    json_t *engine = json_object();
    json_object_set_new(engine, "name", json_string(t->engine));
    json_object_set_new(engine, "model", pk_json_string(t->model));
    json_object_set_new(engine, "model_version", pk_json_string(t->model_version));
    json_object_set_new(engine, "model_sha256", json_string(t->model_sha256));
    json_object_set_new(engine, "punctuated", json_boolean(t->punctuated));
    json_object_set_new(j, "engine", engine);
    json_t *segs = json_array();
    for (size_t i = 0; i < t->n_segments; i++) {
        json_t *s = json_object();
        json_object_set_new(s, "start",
                            json_real(pk_round(t->time_offset + (double)t->segments[i].start / PK_VAD_RATE, 3)));
        json_object_set_new(s, "end",
                            json_real(pk_round(t->time_offset + (double)t->segments[i].end / PK_VAD_RATE, 3)));
        json_array_append_new(segs, s);
    }
    json_object_set_new(j, "speech_segments", segs);
    json_t *sents = json_array();
    for (size_t i = 0; i < t->n_sentences; i++) {
        const pk_sentence *s = &t->sentences[i];
        json_t *o = json_object();
        json_object_set_new(o, "start", json_real(pk_round(s->start, 3)));
        json_object_set_new(o, "end", json_real(pk_round(s->end, 3)));
        json_object_set_new(o, "text", pk_json_string(s->text));
        json_object_set_new(o, "first_word", json_integer((json_int_t)s->first));
        json_object_set_new(o, "word_count", json_integer((json_int_t)s->count));
        json_array_append_new(sents, o);
    }
    json_object_set_new(j, "sentences", sents);
    json_t *words = json_array();
    for (size_t i = 0; i < t->words.n; i++) {
        const pk_word *w = &t->words.v[i];
        json_t *o = json_object();
        json_object_set_new(o, "text", pk_json_string(w->text));
        json_object_set_new(o, "start", json_real(pk_round(w->start, 3)));
        json_object_set_new(o, "end", json_real(pk_round(w->end, 3)));
        json_object_set_new(o, "confidence", json_real(pk_round(w->confidence, 3)));
        if (w->filler)
            json_object_set_new(o, "filler", json_true());
        json_array_append_new(words, o);
    }
    json_object_set_new(j, "words", words);
    return j;
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* The sentences as written (so line numbers match the .txt the user
 * edits); rebuilt from pauses when absent or inconsistent. */
static pk_status restore_sentences(pk_ctx *ctx, pk_transcript *t, const json_t *sents)
{
    size_t n = json_array_size(sents), next = 0;
    bool ok = n > 0;
    size_t i;
    const json_t *s;
    json_array_foreach(sents, i, s)
    {
        json_int_t first = json_integer_value(json_object_get(s, "first_word"));
        json_int_t count = json_integer_value(json_object_get(s, "word_count"));
        if (first != (json_int_t)next || count <= 0 || (size_t)(first + count) > t->words.n) {
            ok = false;
            break;
        }
        next = (size_t)(first + count);
    }
    if (!ok || next != t->words.n)
        return pk_transcript_build_sentences(ctx, t, 0.6, 40);
    if (!(t->sentences = calloc(n, sizeof *t->sentences)))
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    json_array_foreach(sents, i, s)
    {
        pk_sentence *d = &t->sentences[i];
        d->first = (size_t)json_integer_value(json_object_get(s, "first_word"));
        d->count = (size_t)json_integer_value(json_object_get(s, "word_count"));
        d->start = t->words.v[d->first].start;
        d->end = t->words.v[d->first + d->count - 1].end;
        const char *text = json_string_value(json_object_get(s, "text"));
        if (!(d->text = strdup(text ? text : "")))
            return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        t->n_sentences = i + 1;
        for (size_t k = d->first; k < d->first + d->count; k++)
            t->words.v[k].sentence = (int)i;
    }
    return PK_OK;
}

pk_status pk_transcript_from_json(pk_ctx *ctx, const json_t *j, const char *path, pk_transcript *t)
{
    if (!json_is_object(j) || strcmp(jstr(j, "format"), TRANSCRIPT_FORMAT) != 0)
        return pk_fail(ctx, PK_ERR_INPUT, path, "not a postkit transcript (no \"format\": \"%s\")",
                       TRANSCRIPT_FORMAT);
    const json_t *words = json_object_get(j, "words");
    if (!json_is_array(words))
        return pk_fail(ctx, PK_ERR_INPUT, path, "transcript has no \"words\" list");
    const json_t *engine = json_object_get(j, "engine");
    pk_status st = pk_transcript_set_meta(ctx, t, jstr(j, "source"), jstr(engine, "name"), jstr(engine, "model"),
                                          jstr(engine, "model_version"), jstr(engine, "model_sha256"));
    if (st != PK_OK)
        return st;
    char *sha = strdup(jstr(j, "source_sha256"));
    if (!sha)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    free(t->source_sha256);
    t->source_sha256 = sha;
    t->duration = json_number_value(json_object_get(j, "duration"));
    t->time_offset = json_number_value(json_object_get(j, "time_offset"));
    t->punctuated = json_is_true(json_object_get(engine, "punctuated"));
    size_t i;
    const json_t *w;
    double prev = -1e9;
    json_array_foreach(words, i, w)
    {
        const json_t *text = json_object_get(w, "text"), *s = json_object_get(w, "start"),
                     *e = json_object_get(w, "end");
        if (!json_is_string(text) || !json_is_number(s) || !json_is_number(e))
            return pk_fail(ctx, PK_ERR_INPUT, path, "word %zu lacks text, start or end", i + 1);
        double ws = json_number_value(s), we = json_number_value(e);
        if (we < ws || ws < prev - 1e-6)
            return pk_fail(ctx, PK_ERR_INPUT, path, "word %zu is out of time order", i + 1);
        prev = ws;
        const json_t *c = json_object_get(w, "confidence");
        if ((st = pk_words_push(ctx, &t->words, json_string_value(text), ws, we,
                                c ? (float)json_number_value(c) : 1.0f,
                                json_is_true(json_object_get(w, "filler")))) != PK_OK)
            return st;
    }
    /* Speech segments: back to samples from the audio's start. */
    const json_t *segs = json_object_get(j, "speech_segments");
    size_t n = json_array_size(segs);
    if (n) {
        if (!(t->segments = calloc(n, sizeof *t->segments)))
            return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        const json_t *sg;
        json_array_foreach(segs, i, sg)
        {
            t->segments[i].start =
                (int64_t)((json_number_value(json_object_get(sg, "start")) - t->time_offset) * PK_VAD_RATE + 0.5);
            t->segments[i].end =
                (int64_t)((json_number_value(json_object_get(sg, "end")) - t->time_offset) * PK_VAD_RATE + 0.5);
        }
        t->n_segments = n;
    }
    return restore_sentences(ctx, t, json_object_get(j, "sentences"));
}

pk_status pk_transcript_load(pk_ctx *ctx, const char *path, pk_transcript **out)
{
    *out = NULL;
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j)
        return pk_fail(ctx, PK_ERR_INPUT, path, "not JSON: %s (line %d)", err.text, err.line);
    pk_transcript *t;
    pk_status st = pk_transcript_new(ctx, &t);
    if (st == PK_OK && (st = pk_transcript_from_json(ctx, j, path, t)) != PK_OK) {
        pk_transcript_free(t);
        t = NULL;
    }
    json_decref(j);
    *out = t;
    return st;
}

void pk_transcript_write_txt(FILE *f, const pk_transcript *t)
{
    for (size_t i = 0; i < t->n_sentences; i++)
        fprintf(f, "%s\n", t->sentences[i].text);
}

/* ---- the store ---------------------------------------------------------- */

/* $POSTKIT_TRANSCRIPTS, else $XDG_DATA_HOME/postkit/transcripts, else
 * ~/.local/share/postkit/transcripts. A new allocation, NULL when none. */
static char *store_dir(void)
{
    const char *env = getenv("POSTKIT_TRANSCRIPTS");
    char *dir = NULL;
    if (env && *env)
        return strdup(env);
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    if (xdg && xdg[0] == '/') {
        if (asprintf(&dir, "%s/postkit/transcripts", xdg) < 0)
            return NULL;
    } else if (home && *home) {
        if (asprintf(&dir, "%s/.local/share/postkit/transcripts", home) < 0)
            return NULL;
    }
    return dir;
}


pk_status pk_transcript_store_put(pk_ctx *ctx, const pk_transcript *t)
{
    if (!t->source_sha256[0])
        return PK_OK;
    char *dir = store_dir();
    if (!dir)
        return PK_OK; /* nowhere to keep it: cut then needs the JSON */
    pk_status st = pk_mkdirs(ctx, dir);
    char *path = NULL;
    if (st == PK_OK && asprintf(&path, "%s/%s.json", dir, t->source_sha256) < 0)
        st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    if (st == PK_OK) {
        json_t *j = pk_transcript_to_json(t);
        char *text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        st = text ? pk_safe_write_all(ctx, path, text, strlen(text), true)
                  : pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        free(text);
    }
    free(path);
    free(dir);
    return st;
}

pk_status pk_transcript_store_get(pk_ctx *ctx, const char *media_sha256, pk_transcript *t)
{
    char *dir = store_dir(), *path = NULL;
    if (!dir || asprintf(&path, "%s/%s.json", dir, media_sha256) < 0) {
        free(dir);
        return pk_fail(ctx, PK_ERR_INPUT, NULL, "no transcript store (set HOME or POSTKIT_TRANSCRIPTS)");
    }
    free(dir);
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    pk_status st;
    if (!j)
        st = pk_fail(ctx, PK_ERR_INPUT, path, "no stored transcript for this media");
    else
        st = pk_transcript_from_json(ctx, j, path, t);
    json_decref(j);
    free(path);
    return st;
}

pk_status pk_stored_transcript_find(pk_ctx *ctx, const char *sha256, pk_stored_transcript *out, int *found)
{
    memset(out, 0, sizeof *out);
    *found = 0;
    char *dir = store_dir(), *path = NULL;
    if (!dir || asprintf(&path, "%s/%s.json", dir, sha256) < 0) {
        free(dir);
        return PK_OK; /* no store: nothing stored */
    }
    free(dir);
    /* Absent is the usual case (one failed open); present but unreadable
     * is worth saying. */
    FILE *f = fopen(path, "rb");
    if (!f) {
        pk_status st = errno == ENOENT || errno == ENOTDIR
                           ? PK_OK
                           : pk_fail(ctx, PK_ERR_INPUT, path, "cannot read the stored transcript: %s", strerror(errno));
        free(path);
        return st;
    }
    json_error_t err;
    json_t *j = json_loadf(f, 0, &err);
    fclose(f);
    pk_status st = PK_OK;
    if (!j) {
        st = pk_fail(ctx, PK_ERR_INPUT, path, "stored transcript is not JSON: %s", err.text);
        free(path);
        return st;
    }
    st = pk_transcript_new(ctx, &out->owner);
    if (st == PK_OK)
        st = pk_transcript_from_json(ctx, j, path, out->owner);
    json_decref(j);
    free(path);
    if (st == PK_OK)
        st = pk_transcript_catalogue_view(ctx, out->owner, out);
    *found = st == PK_OK;
    return st;
}

pk_status pk_transcript_catalogue_view(pk_ctx *ctx, const pk_transcript *t, pk_stored_transcript *view)
{
    if (!(view->sentences = calloc(t->n_sentences ? t->n_sentences : 1, sizeof *view->sentences)))
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < t->n_sentences; i++)
        view->sentences[i] = (pk_catalog_sentence){t->sentences[i].start, t->sentences[i].end, t->sentences[i].text};
    view->n = t->n_sentences;
    view->by = (pk_catalog_transcriber){t->engine, t->model, t->model_version, t->model_sha256};
    return PK_OK;
}

void pk_stored_transcript_free(pk_stored_transcript *s)
{
    free(s->sentences);
    pk_transcript_free(s->owner);
    memset(s, 0, sizeof *s);
}
