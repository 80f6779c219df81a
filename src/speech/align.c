/*
 * align.c — from an edited transcript to the source ranges to keep.
 *
 * The user edits the plain text `transcribe` wrote (one sentence per line)
 * and may only delete: words, lines, or both. The edited words, normalised
 * (case and punctuation ignored), must then be a subsequence of the original
 * words, and matching each edited word to the next original word with the
 * same spelling finds such a subsequence whenever one exists. An edited word
 * with no match ahead was typed, not kept: that is an error naming the line.
 *
 * Keep-ranges: each kept word with `pad` seconds around it (never reaching
 * into a deleted neighbour), and the pause between two kept neighbours kept
 * whole — or, with remove_silence, shortened to `margin` on each side.
 */
#include "speech/internal.h"

#include <stdlib.h>
#include <string.h>

pk_status pk_align_edit(pk_ctx *ctx, const pk_transcript *t, const char *edited_path, bool *keep)
{
    size_t n = t->words.n;
    for (size_t i = 0; i < n; i++)
        keep[i] = false;
    /* Normalised original words. */
    char **norm = calloc(n ? n : 1, sizeof *norm);
    if (!norm)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    pk_status st = PK_OK;
    for (size_t i = 0; i < n && st == PK_OK; i++) {
        char buf[256];
        pk_word_normalise(t->words.v[i].text, buf, sizeof buf);
        if (!(norm[i] = strdup(buf)))
            st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    FILE *f = st == PK_OK ? fopen(edited_path, "r") : NULL;
    if (st == PK_OK && !f)
        st = pk_fail(ctx, PK_ERR_INPUT, edited_path, "cannot open the edited transcript");
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0;
    size_t pos = 0; /* next original word that may match */
    size_t last_kept = SIZE_MAX;
    while (st == PK_OK && getline(&line, &cap, f) >= 0) {
        lineno++;
        if (line[0] == '#')
            continue; /* a comment line postkit may write */
        char *save = NULL;
        for (char *tok = strtok_r(line, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
            char w[256];
            if (pk_word_normalise(tok, w, sizeof w) == 0)
                continue;
            size_t k = pos;
            while (k < n && strcmp(norm[k], w) != 0)
                k++;
            if (k == n) {
                bool exists = false;
                for (size_t j = 0; j < n && !exists; j++)
                    exists = strcmp(norm[j], w) == 0;
                st = pk_fail(ctx, PK_ERR_INPUT, edited_path,
                             exists ? "line %d: '%s' does not follow the words kept before it (the edited "
                                      "transcript may delete words, not add or move them)"
                                    : "line %d: '%s' is not in the original transcript (the edited transcript "
                                      "may delete words, not add or change them)",
                             lineno, tok);
                break;
            }
            keep[k] = true;
            last_kept = k;
            pos = k + 1;
        }
    }
    (void)last_kept;
    if (f && ferror(f) && st == PK_OK)
        st = pk_fail(ctx, PK_ERR_INPUT, edited_path, "read error");
    /* Words that have no spelling to match ("--") follow the word before. */
    for (size_t i = 1; st == PK_OK && i < n; i++)
        if (!norm[i][0])
            keep[i] = keep[i - 1];
    free(line);
    if (f)
        fclose(f);
    for (size_t i = 0; i < n; i++)
        free(norm[i]);
    free(norm);
    return st;
}

static pk_status push_range(pk_ctx *ctx, pk_range **v, size_t *n, size_t *cap, double s, double e)
{
    if (e <= s)
        return PK_OK;
    if (*n > 0 && s <= (*v)[*n - 1].end) {
        if (e > (*v)[*n - 1].end)
            (*v)[*n - 1].end = e;
        return PK_OK;
    }
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 32;
        pk_range *r = realloc(*v, c * sizeof *r);
        if (!r)
            return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        *v = r;
        *cap = c;
    }
    (*v)[(*n)++] = (pk_range){s, e};
    return PK_OK;
}

pk_status pk_keep_ranges(pk_ctx *ctx, const pk_transcript *t, const bool *keep, double duration,
                         const pk_keep_options *o, pk_range **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    size_t n = t->words.n, nr = 0, cap = 0;
    pk_range *r = NULL;
    const pk_word *w = t->words.v;
    pk_status st = PK_OK;
    for (size_t i = 0; i < n && st == PK_OK; i++) {
        if (!keep[i])
            continue;
        double wide = o->margin > o->pad ? o->margin : o->pad;
        /* Before the word: the start of the file or the pause from a kept
         * neighbour (unless it is a silence to remove), else padding that
         * stops at a deleted neighbour. */
        double s;
        if (i == 0)
            s = o->remove_silence ? w[i].start - wide : 0;
        else if (keep[i - 1])
            s = o->remove_silence && w[i].start - w[i - 1].end > o->min_silence ? w[i].start - wide
                                                                                 : w[i - 1].end;
        else
            s = w[i].start - o->pad > w[i - 1].end ? w[i].start - o->pad : w[i - 1].end;
        double e;
        if (i + 1 == n)
            e = o->remove_silence ? w[i].end + wide : duration;
        else if (keep[i + 1])
            e = o->remove_silence && w[i + 1].start - w[i].end > o->min_silence ? w[i].end + wide
                                                                                 : w[i + 1].start;
        else
            e = w[i].end + o->pad < w[i + 1].start ? w[i].end + o->pad : w[i + 1].start;
        if (s < 0)
            s = 0;
        if (duration > 0 && e > duration)
            e = duration;
        st = push_range(ctx, &r, &nr, &cap, s, e);
    }
    if (st != PK_OK) {
        free(r);
        return st;
    }
    *out = r;
    *n_out = nr;
    return PK_OK;
}
