/*
 * wer.c — word error rate: the Levenshtein distance between the reference
 * and the hypothesis counted in words, split into substitutions, deletions
 * and insertions (the counts of one minimal alignment; among equal-cost
 * alignments, substitutions are preferred, as NIST's sclite does).
 */
#include "speech/internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct words {
    char **v;
    size_t n;
    char *storage;
} words;

/* Split and normalise; words without letters or digits vanish. */
static int split(const char *text, words *out)
{
    size_t len = strlen(text);
    out->storage = malloc(len + 1);
    out->v = malloc((len / 2 + 2) * sizeof *out->v);
    out->n = 0;
    if (!out->storage || !out->v)
        return -1;
    char *dst = out->storage;
    const char *p = text;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (!*p)
            break;
        size_t tl = strcspn(p, " \t\n\r");
        char token[256];
        size_t cl = tl < sizeof token - 1 ? tl : sizeof token - 1;
        memcpy(token, p, cl);
        token[cl] = '\0';
        p += tl;
        size_t nl = pk_word_normalise(token, dst, sizeof token);
        if (nl == 0)
            continue;
        out->v[out->n++] = dst;
        dst += nl + 1;
    }
    return 0;
}

static void free_words(words *w)
{
    free(w->v);
    free(w->storage);
}

typedef struct cell {
    size_t cost, s, d, i;
} cell;

pk_status pk_wer(pk_ctx *ctx, const char *ref, const char *hyp, pk_wer_result *out)
{
    memset(out, 0, sizeof *out);
    words r = {0}, h = {0};
    cell *prev = NULL, *cur = NULL;
    pk_status st = PK_OK;
    if (split(ref, &r) || split(hyp, &h)) {
        st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        goto done;
    }
    prev = malloc((h.n + 1) * sizeof *prev);
    cur = malloc((h.n + 1) * sizeof *cur);
    if (!prev || !cur) {
        st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        goto done;
    }
    /* Row 0: every hypothesis word is an insertion. */
    for (size_t j = 0; j <= h.n; j++)
        prev[j] = (cell){.cost = j, .i = j};
    for (size_t i = 1; i <= r.n; i++) {
        cur[0] = (cell){.cost = i, .d = i};
        for (size_t j = 1; j <= h.n; j++) {
            bool same = strcmp(r.v[i - 1], h.v[j - 1]) == 0;
            cell diag = prev[j - 1];
            diag.cost += !same;
            diag.s += !same;
            cell del = prev[j];
            del.cost++;
            del.d++;
            cell ins = cur[j - 1];
            ins.cost++;
            ins.i++;
            cell best = diag;
            if (del.cost < best.cost)
                best = del;
            if (ins.cost < best.cost)
                best = ins;
            cur[j] = best;
        }
        cell *tmp = prev;
        prev = cur;
        cur = tmp;
    }
    out->ref_words = r.n;
    out->hyp_words = h.n;
    out->substitutions = prev[h.n].s;
    out->deletions = prev[h.n].d;
    out->insertions = prev[h.n].i;
    size_t errors = out->substitutions + out->deletions + out->insertions;
    out->wer = r.n ? (double)errors / (double)r.n : (h.n ? 1.0 : 0.0);
done:
    free(prev);
    free(cur);
    free_words(&r);
    free_words(&h);
    return st;
}
