/*
 * wer.c — the project's word error rate tool (tests and benchmarks).
 *
 *   wer REFERENCE.txt HYPOTHESIS.txt
 *
 * Prints one JSON object: reference and hypothesis word counts,
 * substitutions, deletions, insertions and the WER (pk_wer: words
 * lower-cased, punctuation removed, Levenshtein alignment over words).
 * Exit 0, or 2 for usage, 3 for an unreadable file.
 */
#include <stdio.h>
#include <stdlib.h>

#include <postkit/speech.h>

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        if (len + 2 > cap) {
            cap = cap ? cap * 2 : 4096;
            char *b = realloc(buf, cap);
            if (!b) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = b;
        }
        buf[len++] = (char)c;
    }
    fclose(f);
    if (!buf && !(buf = malloc(1)))
        return NULL;
    buf[len] = '\0';
    return buf;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: wer REFERENCE.txt HYPOTHESIS.txt\n");
        return 2;
    }
    char *ref = slurp(argv[1]), *hyp = slurp(argv[2]);
    if (!ref || !hyp) {
        fprintf(stderr, "%s: cannot read\n", !ref ? argv[1] : argv[2]);
        free(ref);
        free(hyp);
        return 3;
    }
    pk_ctx *ctx;
    if (pk_ctx_new(&ctx) != PK_OK)
        return 5;
    pk_wer_result r;
    pk_status st = pk_wer(ctx, ref, hyp, &r);
    if (st == PK_OK)
        printf("{\"ref_words\": %zu, \"hyp_words\": %zu, \"substitutions\": %zu, \"deletions\": %zu, "
               "\"insertions\": %zu, \"errors\": %zu, \"wer\": %.6f}\n",
               r.ref_words, r.hyp_words, r.substitutions, r.deletions, r.insertions,
               r.substitutions + r.deletions + r.insertions, r.wer);
    else
        fprintf(stderr, "%s\n", pk_ctx_errmsg(ctx));
    pk_ctx_free(ctx);
    free(ref);
    free(hyp);
    return st == PK_OK ? 0 : (int)st;
}
