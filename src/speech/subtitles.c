/*
 * subtitles.c — words to subtitle cues, SRT and WebVTT in and out.
 *
 * Cues follow the usual professional rules (all in pk_subtitle_options):
 * at most 2 lines of 42 characters, 5/6 s to 7 s on screen, reading speed
 * at most 20 characters per second. A cue ends at the end of a sentence, at
 * a pause, or when the next word would not fit; in the last case it ends at
 * the latest comma or pause in its second half rather than mid-phrase.
 * Short cues are held longer (minimum duration, reading speed) but never
 * into the next cue, and into a following silence only by half of `max_gap`
 * (or what the minimum duration needs), so no cue stands over a long silence.
 */
#include "speech/internal.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void pk_subtitle_options_init(pk_subtitle_options *o)
{
    o->max_chars_per_line = 42;
    o->max_lines = 2;
    o->min_duration = 5.0 / 6.0;
    o->max_duration = 7.0;
    o->max_cps = 20.0;
    o->pause_break = 0.5;
    o->max_gap = 1.0;
    o->min_gap = 0.08;
}

/* Characters as a reader counts them: UTF-8 code points. */
static size_t display_len(const char *s, size_t bytes)
{
    size_t n = 0;
    for (size_t i = 0; i < bytes; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

static bool soft_punct(const char *w)
{
    size_t n = strlen(w);
    return n > 0 && strchr(",;:", w[n - 1]) != NULL;
}

/* Lay `text` (words separated by single spaces) out in at most max_lines
 * lines of max_chars: two lines are balanced, preferring a break after
 * punctuation. Writes the result (lines joined by '\n') into out when it
 * fits; returns whether it does. */
static bool layout(const char *text, const pk_subtitle_options *o, char *out, size_t size)
{
    size_t bytes = strlen(text);
    if (bytes + 1 > size)
        return false;
    size_t total = display_len(text, bytes);
    size_t maxc = (size_t)o->max_chars_per_line;
    if (total <= maxc) {
        memcpy(out, text, bytes + 1);
        return true;
    }
    if (o->max_lines < 2)
        return false;
    if (o->max_lines == 2) {
        /* Try every space; keep the most balanced that fits, with a bonus
         * for breaking after punctuation. */
        long best = -1;
        double best_cost = 1e9;
        for (size_t i = 0; i < bytes; i++) {
            if (text[i] != ' ')
                continue;
            size_t l1 = display_len(text, i), l2 = total - l1 - 1;
            if (l1 > maxc || l2 > maxc)
                continue;
            double cost = fabs((double)l1 - (double)l2);
            if (i > 0 && strchr(",;:.?!", text[i - 1]))
                cost -= 8;
            if (cost < best_cost) {
                best_cost = cost;
                best = (long)i;
            }
        }
        if (best < 0)
            return false;
        memcpy(out, text, bytes + 1);
        out[best] = '\n';
        return true;
    }
    /* More lines: fill greedily. */
    memcpy(out, text, bytes + 1);
    int lines = 1;
    size_t line_start = 0, last_space = 0;
    for (size_t i = 0; i <= bytes; i++) {
        if (out[i] == ' ' || out[i] == '\0') {
            if (display_len(out + line_start, i - line_start) > maxc) {
                if (last_space <= line_start)
                    return false;
                out[last_space] = '\n';
                line_start = last_space + 1;
                if (++lines > o->max_lines)
                    return false;
                if (display_len(out + line_start, i - line_start) > maxc)
                    return false;
            }
            last_space = i;
        }
    }
    return true;
}

/* Words [a, b) joined by spaces into buf. Returns false when too long. */
static bool join_words(const pk_transcript *t, size_t a, size_t b, char *buf, size_t size)
{
    size_t n = 0;
    for (size_t i = a; i < b; i++) {
        const char *w = t->words.v[i].text;
        size_t len = strlen(w);
        if (n + len + 2 > size)
            return false;
        if (i > a)
            buf[n++] = ' ';
        memcpy(buf + n, w, len);
        n += len;
    }
    buf[n] = '\0';
    return true;
}

/* Unpunctuated engines: the sentence's display words (capital, final
 * stop) come from the sentence text, so cues show what the .txt shows. */
static void display_word(const pk_transcript *t, size_t i, char *out, size_t size)
{
    const pk_word *w = &t->words.v[i];
    snprintf(out, size, "%s", w->text);
    if (t->punctuated || !t->sentences)
        return;
    const pk_sentence *s = &t->sentences[w->sentence];
    if (!t->punctuated && strcmp(out, "i") == 0)
        snprintf(out, size, "I");
    if (i == s->first && out[0])
        out[0] = (char)toupper((unsigned char)out[0]);
    if (i == s->first + s->count - 1) {
        size_t n = strlen(out);
        if (n > 0 && !strchr(".?!", out[n - 1]) && n + 1 < size) {
            out[n] = '.';
            out[n + 1] = '\0';
        }
    }
}

/* A view of the transcript with display words, so the cue builder needs no
 * second case. */
static char **display_words(const pk_transcript *t)
{
    char **v = calloc(t->words.n ? t->words.n : 1, sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < t->words.n; i++) {
        char buf[256];
        display_word(t, i, buf, sizeof buf);
        if (!(v[i] = strdup(buf))) {
            for (size_t k = 0; k < i; k++)
                free(v[k]);
            free(v);
            return NULL;
        }
    }
    return v;
}

pk_status pk_cues_from_transcript(pk_ctx *ctx, const pk_transcript *t, const pk_subtitle_options *o,
                                  pk_cue **cues_out, size_t *n_out)
{
    *cues_out = NULL;
    *n_out = 0;
    size_t n = t->words.n;
    if (n == 0)
        return PK_OK;
    char **dw = display_words(t);
    pk_cue *cues = calloc(n, sizeof *cues);
    if (!dw || !cues) {
        free(cues);
        if (dw)
            free(dw);
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    /* Build on a shallow copy whose word texts are the display words. */
    pk_transcript view = *t;
    pk_word *vw = malloc(n * sizeof *vw);
    if (!vw) {
        for (size_t i = 0; i < n; i++)
            free(dw[i]);
        free(dw);
        free(cues);
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    memcpy(vw, t->words.v, n * sizeof *vw);
    for (size_t i = 0; i < n; i++)
        vw[i].text = dw[i];
    view.words.v = vw;

    size_t nc = 0;
    size_t i = 0;
    char text[1024], laid[1024];
    while (i < n) {
        size_t k = i + 1; /* cue = [i, k) */
        for (;;) {
            if (k >= n)
                break;
            const pk_word *last = &vw[k - 1], *next = &vw[k];
            double gap = next->start - last->end;
            if (gap >= o->pause_break || gap >= o->max_gap || next->sentence != last->sentence)
                break; /* a natural end */
            bool fits = join_words(&view, i, k + 1, text, sizeof text) && layout(text, o, laid, sizeof laid) &&
                        next->end - vw[i].start <= o->max_duration;
            if (!fits) {
                /* End at the latest comma or pause in the second half. */
                size_t best = k;
                for (size_t b = k - 1; b > i && b - i >= (k - i + 1) / 2; b--) {
                    if (soft_punct(vw[b - 1].text) || vw[b].start - vw[b - 1].end >= 0.2) {
                        best = b;
                        break;
                    }
                }
                k = best;
                break;
            }
            k++;
        }
        pk_cue *c = &cues[nc++];
        if (!join_words(&view, i, k, text, sizeof text) || !layout(text, o, c->text, sizeof c->text))
            snprintf(c->text, sizeof c->text, "%.*s", (int)sizeof c->text - 1, text); /* shown as is */
        c->start = vw[i].start;
        c->end = vw[k - 1].end;
        i = k;
    }
    /* Timing: hold short or dense cues longer where there is room. */
    for (size_t c = 0; c < nc; c++) {
        double words_end = cues[c].end;
        double next = c + 1 < nc ? cues[c + 1].start - o->min_gap : INFINITY;
        /* Into a silence by half of max_gap at most, or as far as the
         * minimum duration needs: never across it. */
        double limit = words_end + o->max_gap / 2;
        if (limit < cues[c].start + o->min_duration)
            limit = cues[c].start + o->min_duration;
        if (next < limit)
            limit = next;
        double want = cues[c].start + o->min_duration;
        double chars = (double)display_len(cues[c].text, strlen(cues[c].text));
        if (o->max_cps > 0 && cues[c].start + chars / o->max_cps > want)
            want = cues[c].start + chars / o->max_cps;
        if (want > cues[c].start + o->max_duration)
            want = cues[c].start + o->max_duration;
        if (want > cues[c].end)
            cues[c].end = want < limit ? want : (limit > cues[c].end ? limit : cues[c].end);
        /* Two frames between cues, even when the words run on: the last
         * word's end gives way (it is still being heard as the next cue
         * appears). */
        if (c + 1 < nc && cues[c].end > cues[c + 1].start - o->min_gap) {
            double e = cues[c + 1].start - o->min_gap;
            cues[c].end = e > cues[c].start ? e : cues[c].start + 0.001;
        }
        if (cues[c].end <= cues[c].start)
            cues[c].end = cues[c].start + 0.001;
    }
    for (size_t k = 0; k < n; k++)
        free(dw[k]);
    free(dw);
    free(vw);
    *cues_out = cues;
    *n_out = nc;
    return PK_OK;
}

static void fmt_ts(FILE *f, double t, char sep)
{
    if (t < 0)
        t = 0;
    long long ms = llround(t * 1000);
    fprintf(f, "%02lld:%02lld:%02lld%c%03lld", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, sep, ms % 1000);
}

void pk_cues_write_srt(FILE *f, const pk_cue *cues, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%zu\n", i + 1);
        fmt_ts(f, cues[i].start, ',');
        fputs(" --> ", f);
        fmt_ts(f, cues[i].end, ',');
        fprintf(f, "\n%s\n\n", cues[i].text);
    }
}

void pk_cues_write_vtt(FILE *f, const pk_cue *cues, size_t n, const pk_transcript *t)
{
    fputs("WEBVTT\n\n", f);
    if (t)
        fprintf(f, "NOTE made by postkit %s: engine %s, model %s, SHA-256 %s\n\n", pk_version(), t->engine,
                t->model, t->model_sha256[0] ? t->model_sha256 : "unknown");
    for (size_t i = 0; i < n; i++) {
        fmt_ts(f, cues[i].start, '.');
        fputs(" --> ", f);
        fmt_ts(f, cues[i].end, '.');
        fprintf(f, "\n%s\n\n", cues[i].text);
    }
}

/* ---- import ----------------------------------------------------------- */

/* Parse "[hh:]mm:ss[,.]mmm" at *p; advances *p. */
static bool parse_ts(const char **p, double *out)
{
    int parts[3] = {0}, np = 0;
    const char *s = *p;
    while (np < 3) {
        if (!isdigit((unsigned char)*s))
            return false;
        long v = strtol(s, (char **)&s, 10);
        parts[np++] = (int)v;
        if (*s == ':')
            s++;
        else
            break;
    }
    double ms = 0;
    if (*s == ',' || *s == '.') {
        s++;
        const char *start = s;
        long v = strtol(s, (char **)&s, 10);
        int digits = (int)(s - start);
        ms = digits > 0 ? v / pow(10, digits) : 0;
    }
    if (np == 3)
        *out = parts[0] * 3600.0 + parts[1] * 60.0 + parts[2] + ms;
    else if (np == 2)
        *out = parts[0] * 60.0 + parts[1] + ms;
    else
        return false;
    *p = s;
    return true;
}

/* Remove markup (<i>, <v Name>, {\an8}) and join lines with spaces. */
static void strip_markup(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r == '<') {
            char *close = strchr(r, '>');
            if (close) {
                r = close;
                continue;
            }
        }
        if (*r == '{' && r[1] == '\\') {
            char *close = strchr(r, '}');
            if (close) {
                r = close;
                continue;
            }
        }
        *w++ = *r == '\n' || *r == '\r' || *r == '\t' ? ' ' : *r;
    }
    *w = '\0';
}

/* Add a cue's words with times spread by their lengths. */
static pk_status add_cue_words(pk_ctx *ctx, pk_transcript *t, double start, double end, char *text)
{
    strip_markup(text);
    size_t total = 0;
    for (char *tok = text; *tok;) {
        while (*tok == ' ')
            tok++;
        size_t len = strcspn(tok, " ");
        total += len + 1;
        tok += len;
    }
    if (total == 0)
        return PK_OK;
    double dur = end > start ? end - start : 0;
    size_t acc = 0;
    char *save = NULL;
    for (char *tok = strtok_r(text, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        size_t len = strlen(tok) + 1;
        double ws = start + dur * (double)acc / (double)total;
        acc += len;
        double we = start + dur * (double)(acc - 1) / (double)total;
        pk_status st = pk_words_push(ctx, &t->words, tok, ws, we, 1.0f, pk_word_is_filler(tok, NULL));
        if (st != PK_OK)
            return st;
    }
    return PK_OK;
}

pk_status pk_subtitles_import(pk_ctx *ctx, const char *path, pk_transcript *t)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return pk_fail(ctx, PK_ERR_INPUT, path, "cannot open the subtitles");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, cues = 0;
    bool in_cue = false;
    double start = 0, end = 0;
    char text[4096];
    size_t tn = 0;
    pk_status st = PK_OK;
    bool bad_utf8_bom_done = false;
    while (st == PK_OK && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        char *l = line;
        if (!bad_utf8_bom_done) {
            bad_utf8_bom_done = true;
            if ((unsigned char)l[0] == 0xEF && (unsigned char)l[1] == 0xBB && (unsigned char)l[2] == 0xBF)
                l += 3;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (strstr(l, "-->")) {
            if (in_cue && (st = add_cue_words(ctx, t, start, end, (text[tn] = '\0', text))) != PK_OK)
                break;
            const char *p = l;
            while (*p == ' ')
                p++;
            if (!parse_ts(&p, &start)) {
                st = pk_fail(ctx, PK_ERR_INPUT, path, "line %d: not a subtitle timing line", lineno);
                break;
            }
            p = strstr(p, "-->") + 3;
            while (*p == ' ')
                p++;
            if (!parse_ts(&p, &end) || end < start) {
                st = pk_fail(ctx, PK_ERR_INPUT, path, "line %d: not a subtitle timing line", lineno);
                break;
            }
            in_cue = true;
            tn = 0;
            cues++;
            continue;
        }
        if (*l == '\0') {
            if (in_cue && (st = add_cue_words(ctx, t, start, end, (text[tn] = '\0', text))) != PK_OK)
                break;
            in_cue = false;
            continue;
        }
        if (in_cue) {
            size_t ll = strlen(l);
            if (tn + ll + 2 < sizeof text) {
                if (tn)
                    text[tn++] = ' ';
                memcpy(text + tn, l, ll);
                tn += ll;
            }
        }
    }
    if (st == PK_OK && in_cue)
        st = add_cue_words(ctx, t, start, end, (text[tn] = '\0', text));
    free(line);
    fclose(f);
    if (st == PK_OK && cues == 0)
        st = pk_fail(ctx, PK_ERR_INPUT, path, "no subtitle cues found (expected SRT or WebVTT)");
    if (st != PK_OK)
        return st;
    char sha[65];
    if ((st = pk_sha256_file(ctx, path, sha)) != PK_OK)
        return st;
    const char *slash = strrchr(path, '/');
    t->punctuated = true;
    return pk_transcript_set_meta(ctx, t, NULL, "import", slash ? slash + 1 : path, "", sha);
}
