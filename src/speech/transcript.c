/*
 * transcript.c — words, sentences and the transcript object.
 *
 * Sentences are what the user edits (one per line of the .txt) and what
 * subtitles prefer to break at. Engines that punctuate (whisper, imported
 * subtitles) end sentences with . ? !; pocketsphinx writes bare lower-case
 * words, so its sentences end at pauses and get a capital and a full stop
 * for display. Matching edited text back to words ignores both.
 */
#include "speech/internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

pk_status pk_words_push(pk_ctx *ctx, pk_word_list *l, const char *text, double start, double end,
                        float confidence, bool filler)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        pk_word *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        l->v = v;
        l->cap = cap;
    }
    char *copy = strdup(text);
    if (!copy)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    l->v[l->n++] = (pk_word){.text = copy, .start = start, .end = end, .confidence = confidence,
                             .filler = filler, .sentence = 0};
    return PK_OK;
}

pk_status pk_words_append(pk_ctx *ctx, pk_word_list *dst, pk_word_list *src)
{
    if (dst->n + src->n > dst->cap) {
        size_t cap = dst->cap ? dst->cap : 64;
        while (cap < dst->n + src->n)
            cap *= 2;
        pk_word *v = realloc(dst->v, cap * sizeof *v);
        if (!v)
            return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        dst->v = v;
        dst->cap = cap;
    }
    if (src->n)
        memcpy(dst->v + dst->n, src->v, src->n * sizeof *src->v);
    dst->n += src->n;
    free(src->v);
    *src = (pk_word_list){0};
    return PK_OK;
}

void pk_words_clear(pk_word_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].text);
    free(l->v);
    *l = (pk_word_list){0};
}

size_t pk_word_normalise(const char *text, char *out, size_t size)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p && n + 1 < size; p++) {
        if (isalnum(*p))
            out[n++] = (char)tolower(*p);
        else if (*p >= 0x80)
            out[n++] = (char)*p; /* keep non-ASCII letters as they are */
        else if (*p == '\'' && n > 0 && isalnum((unsigned char)p[1]))
            out[n++] = '\'';
    }
    out[n] = '\0';
    return n;
}

bool pk_word_is_filler(const char *text, const char *extra)
{
    static const char *const fillers[] = {"um", "uh", "umm", "uhh", "erm", "er", "ah", "hmm", "mm", "mhm",
                                          "uhm", "eh"};
    char w[64];
    if (pk_word_normalise(text, w, sizeof w) == 0)
        return false;
    for (size_t i = 0; i < PK_ARRAY_LEN(fillers); i++)
        if (strcmp(w, fillers[i]) == 0)
            return true;
    if (extra) {
        const char *p = extra;
        while (*p) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            char item[64];
            if (len < sizeof item) {
                memcpy(item, p, len);
                item[len] = '\0';
                char norm[64];
                pk_word_normalise(item, norm, sizeof norm);
                if (norm[0] && strcmp(norm, w) == 0)
                    return true;
            }
            p = comma ? comma + 1 : p + len;
        }
    }
    return false;
}

pk_status pk_transcript_new(pk_ctx *ctx, pk_transcript **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    pk_transcript *t = *out;
    if (pk_transcript_set_meta(ctx, t, "", "", "", "", "") != PK_OK || !(t->source_sha256 = strdup(""))) {
        pk_transcript_free(t);
        *out = NULL;
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    return PK_OK;
}

static void free_sentences(pk_transcript *t)
{
    for (size_t i = 0; i < t->n_sentences; i++)
        free(t->sentences[i].text);
    free(t->sentences);
    t->sentences = NULL;
    t->n_sentences = 0;
}

void pk_transcript_free(pk_transcript *t)
{
    if (!t)
        return;
    pk_words_clear(&t->words);
    free_sentences(t);
    free(t->segments);
    free(t->source);
    free(t->source_sha256);
    free(t->engine);
    free(t->model);
    free(t->model_version);
    free(t->model_sha256);
    free(t);
}

size_t pk_transcript_word_count(const pk_transcript *t)
{
    return t->words.n;
}

static int replace(char **slot, const char *value)
{
    char *copy = strdup(value ? value : "");
    if (!copy)
        return -1;
    free(*slot);
    *slot = copy;
    return 0;
}

pk_status pk_transcript_set_meta(pk_ctx *ctx, pk_transcript *t, const char *source, const char *engine,
                                 const char *model, const char *model_version, const char *model_sha256)
{
    if ((source && replace(&t->source, source)) || (engine && replace(&t->engine, engine)) ||
        (model && replace(&t->model, model)) || (model_version && replace(&t->model_version, model_version)) ||
        (model_sha256 && replace(&t->model_sha256, model_sha256)))
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    return PK_OK;
}

static bool ends_sentence(const char *text)
{
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == '"' || text[n - 1] == '\'' || text[n - 1] == ')'))
        n--;
    return n > 0 && (text[n - 1] == '.' || text[n - 1] == '?' || text[n - 1] == '!');
}

/* The display text of words [first, first + count). Unpunctuated engines get
 * a capital first letter, "I" for "i" and a final full stop. */
static char *sentence_text(const pk_transcript *t, size_t first, size_t count)
{
    size_t len = 2;
    for (size_t i = 0; i < count; i++)
        len += strlen(t->words.v[first + i].text) + 1;
    char *s = malloc(len);
    if (!s)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        const char *w = t->words.v[first + i].text;
        if (i > 0)
            s[n++] = ' ';
        size_t at = n;
        if (!t->punctuated && strcmp(w, "i") == 0)
            w = "I";
        memcpy(s + n, w, strlen(w));
        n += strlen(w);
        if (!t->punctuated && i == 0)
            s[at] = (char)toupper((unsigned char)s[at]);
    }
    if (!t->punctuated && n > 0 && !ends_sentence(t->words.v[first + count - 1].text))
        s[n++] = '.';
    s[n] = '\0';
    return s;
}

pk_status pk_transcript_build_sentences(pk_ctx *ctx, pk_transcript *t, double pause, int max_words)
{
    free_sentences(t);
    size_t n = t->words.n;
    if (n == 0)
        return PK_OK;
    pk_sentence *v = calloc(n, sizeof *v); /* at most one per word */
    if (!v)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    t->sentences = v;
    size_t first = 0;
    for (size_t i = 0; i < n; i++) {
        pk_word *w = &t->words.v[i];
        bool last = i + 1 == n;
        bool split = last;
        if (!last) {
            double gap = t->words.v[i + 1].start - w->end;
            size_t count = i + 1 - first;
            /* Punctuated text splits only at its punctuation (or a long
             * pause); bare words at pauses. */
            if (t->punctuated)
                split = ends_sentence(w->text) || gap >= 2 * pause;
            else
                split = gap >= pause;
            if (max_words > 0 && (int)count >= max_words)
                split = true;
        }
        w->sentence = (int)t->n_sentences;
        if (!split)
            continue;
        pk_sentence *s = &v[t->n_sentences++];
        s->first = first;
        s->count = i + 1 - first;
        s->start = t->words.v[first].start;
        s->end = w->end;
        if (!(s->text = sentence_text(t, first, s->count)))
            return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        first = i + 1;
    }
    return PK_OK;
}
