/*
 * store_fts5.c — full text on SQLite's FTS5: the index, query text, and a
 * ranking that stays fast when a word matches half the catalogue.
 *
 * FTS5's own "ORDER BY rank LIMIT n" computes BM25 for every match before it
 * cuts, and BM25 needs each row's length, a lookup in a separate table: at
 * 100,000 matches that lookup is 85 % of a 75 ms query. pk_rank (below) is
 * an auxiliary function that sees every match once but looks the length up
 * only for the few rows that can still enter the results; everything else
 * it needs (which words occur where) comes with the match itself.
 *
 * Scores are FTS5's bm25() exactly: for each word phrase p,
 *   idf(p) * f * (k1 + 1) / (f + k1 * (1 - b + b * D / avgD))
 * where f is the sum of the column weights of p's occurrences, D the row's
 * length in tokens over all columns, avgD the mean, k1 = 1.2, b = 0.75.
 */
#include "catalog/store_sqlite.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define K1 1.2
#define B 0.75
/* Beyond this many rows a word's document frequency is estimated. */
enum { IDF_COUNT_CAP = 4096 };
/* Rows of equal score bound ranked exactly, on top of the limit. */
enum { POOL_EXTRA = 64 };

static const char *const column_name[PK_FTS_COLUMNS] = {"name", "folders", "meta", "type",
                                                        "camera", "lens", "date", "measure"};
/* A word in the file name counts most, then in the folder names. */
static const double column_weight[PK_FTS_COLUMNS] = {10, 4, 1, 1, 1, 1, 1, 1};

/* ---- the index ---------------------------------------------------------- */

pk_status pk_db_fts_create(pk_db *s)
{
    /* unicode61 splits "IMG_0042.CR2" into img / 0042 / cr2 and folds
     * accents, so "reykjavik" finds "Reykjavík". The prefix index answers
     * two- and three-letter prefixes ("img") from one entry instead of
     * merging every word that starts so. The rank setting is for people
     * querying the file with the sqlite3 shell; postkit ranks with pk_rank. */
    return pk_db_exec(s, "CREATE VIRTUAL TABLE location_fts USING fts5("
                         "name, folders, meta, type, camera, lens, date, measure, "
                         "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3');"
                         "INSERT INTO location_fts(location_fts, rank) "
                         "VALUES ('rank', 'bm25(10.0, 4.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)')");
}

static void finalize_cached(pk_db *s)
{
    sqlite3_finalize(s->fts_insert);
    sqlite3_finalize(s->fts_delete);
    sqlite3_finalize(s->fts_has);
    s->fts_insert = s->fts_delete = s->fts_has = NULL;
}

pk_status pk_db_fts_drop(pk_db *s)
{
    finalize_cached(s);
    return pk_db_exec(s, "DROP TABLE IF EXISTS location_fts");
}

static pk_status cached(pk_db *s, sqlite3_stmt **slot, const char *sql)
{
    if (!*slot && sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL) != SQLITE_OK)
        return pk_sqlite_fail(s, "cannot prepare a full-text statement");
    return PK_OK;
}

static pk_status run_cached(pk_db *s, sqlite3_stmt *q)
{
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? PK_OK : pk_sqlite_fail(s, "full-text update failed");
}

pk_status pk_db_fts_delete(pk_db *s, int64_t id)
{
    pk_status st = cached(s, &s->fts_delete, "DELETE FROM location_fts WHERE rowid = ?");
    if (st != PK_OK)
        return st;
    sqlite3_bind_int64(s->fts_delete, 1, id);
    return run_cached(s, s->fts_delete);
}

pk_status pk_db_fts_set(pk_db *s, int64_t id, const char *const text[PK_FTS_COLUMNS])
{
    pk_status st = pk_db_fts_delete(s, id);
    if (st == PK_OK)
        st = cached(s, &s->fts_insert,
                    "INSERT INTO location_fts(rowid, name, folders, meta, type, camera, lens, date, measure) "
                    "VALUES (?,?,?,?,?,?,?,?,?)");
    if (st != PK_OK)
        return st;
    sqlite3_bind_int64(s->fts_insert, 1, id);
    for (int c = 0; c < PK_FTS_COLUMNS; c++)
        sqlite3_bind_text(s->fts_insert, c + 2, text[c] ? text[c] : "", -1, SQLITE_STATIC);
    st = run_cached(s, s->fts_insert);
    sqlite3_clear_bindings(s->fts_insert);
    return st;
}

/* ---- query text --------------------------------------------------------- */

typedef struct buf {
    char *p;
    size_t len, cap;
    int oom;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *g = realloc(b->p, cap);
        if (!g) {
            b->oom = 1;
            return;
        }
        b->p = g;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static int on_token(void *user, int flags, const char *token, int n, int start, int end)
{
    (void)start;
    (void)end;
    buf *b = user;
    if (flags & FTS5_TOKEN_COLOCATED)
        return SQLITE_OK;
    if (b->len)
        put(b, " ", 1);
    /* unicode61 tokens are letters and digits; a quote would be doubled. */
    for (int i = 0; i < n; i++)
        put(b, token[i] == '"' ? "\"\"" : &token[i], token[i] == '"' ? 2 : 1);
    return b->oom ? SQLITE_NOMEM : SQLITE_OK;
}

/* The words of `text` as the index has them, space-separated, in *out (the
 * empty string when there is none). */
static pk_status tokenize(pk_db *s, const char *text, buf *out)
{
    out->len = 0;
    put(out, "", 0);
    if (!s->tok) {
        void *user = NULL;
        const char *args[] = {"remove_diacritics", "2"};
        if (!s->fts || s->fts->xFindTokenizer(s->fts, "unicode61", &user, &s->tokenizer) != SQLITE_OK ||
            s->tokenizer.xCreate(user, args, 2, &s->tok) != SQLITE_OK)
            return pk_fail(s->ctx, PK_ERR_INTERNAL, s->path, "catalogue: no unicode61 tokenizer");
    }
    int rc = s->tokenizer.xTokenize(s->tok, out, FTS5_TOKENIZE_QUERY, text, (int)strlen(text), on_token);
    if (rc != SQLITE_OK || out->oom)
        return pk_fail(s->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    return PK_OK;
}

/* Append group ph[0..n) (alternatives) of the phrases whose column is or is
 * not PK_FTS_ANY; returns how many phrases were written. */
static int put_group(pk_db *s, buf *q, buf *tok, const pk_fts_phrase *ph, size_t n, pk_status *st)
{
    int written = 0;
    size_t mark = q->len;
    for (size_t i = 0; i < n && *st == PK_OK; i++) {
        *st = tokenize(s, ph[i].text ? ph[i].text : "", tok);
        if (*st != PK_OK || !tok->len)
            continue;
        puts_(q, written ? " OR " : q->len ? " AND (" : "(");
        if (ph[i].column >= 0 && ph[i].column < PK_FTS_COLUMNS) {
            puts_(q, "{");
            puts_(q, column_name[ph[i].column]);
            puts_(q, "} : ");
        }
        puts_(q, "\"");
        put(q, tok->p, tok->len);
        puts_(q, ph[i].prefix ? "\"*" : "\"");
        written++;
    }
    if (written) {
        puts_(q, ")");
    } else if (q->p) {
        q->len = mark;
        q->p[mark] = '\0';
    }
    return written;
}

pk_status pk_db_fts_match(pk_db *s, const pk_fts_phrase *ph, size_t n, pk_fts_match *out)
{
    memset(out, 0, sizeof *out);
    buf q = {0}, tok = {0};
    pk_status st = PK_OK;
    /* Filters first: FTS5 numbers phrases in query order, and pk_rank must
     * know which ones are words; filter phrases are never dropped silently
     * in a way that would shift the words (a filter group without a word is
     * left out whole). */
    for (int words = 0; words <= 1; words++)
        for (size_t i = 0; i < n && st == PK_OK;) {
            size_t g = i;
            while (g + 1 < n && ph[g].or_next)
                g++;
            int is_word = ph[i].column == PK_FTS_ANY;
            if (is_word == words) {
                int w = put_group(s, &q, &tok, &ph[i], g - i + 1, &st);
                if (words)
                    out->nranked += w, out->dropped_words += w ? 0 : 1;
                else
                    out->nfilter += w;
            }
            i = g + 1;
        }
    free(tok.p);
    if (st == PK_OK && (q.oom || tok.oom))
        st = pk_fail(s->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    if (st != PK_OK || !q.len) {
        free(q.p);
        out->nfilter = out->nranked = 0;
        return st;
    }
    out->text = q.p;
    return PK_OK;
}

/* ---- ranking ------------------------------------------------------------ */

typedef struct bound {
    double ub;
    int64_t id;
} bound;

/* The state of one pk_db_fts_top query, passed to pk_rank as a pointer. */
typedef struct topk {
    pk_db *store;
    const double *weight;       /* per column */
    int ncolumns;
    const char *max_id_sql;     /* the highest row id of the index */
    size_t limit, pool;
    int nfilter, nranked;
    sqlite3_stmt *check;
    const pk_id_filter *pre;    /* may be NULL */
    int64_t max_rejects;        /* give up past this many failed checks; 0: never */
    /* set on the first row */
    int ready;
    double *idf;
    int *plen;                  /* tokens per ranked phrase */
    double *freq;               /* per ranked phrase, of the current row */
    double rows, avgdl;
    /* min-heaps: the best `pool` bounds, the best `limit` exact scores */
    bound *bounds;
    size_t nbounds;
    pk_fts_hit *best;
    size_t nbest;
    double skipped;             /* highest bound skipped by the pool rule */
    pk_fts_stats stats;
    int rc;                     /* SQLite error inside pk_rank */
} topk;

/* a is worse than b: lower, or equal and later (rows come in id order). */
static int hit_worse(const pk_fts_hit *a, const pk_fts_hit *b)
{
    return a->score < b->score || (a->score == b->score && a->id > b->id);
}

static int bound_worse(const bound *a, const bound *b)
{
    return a->ub < b->ub || (a->ub == b->ub && a->id > b->id);
}

#define HEAP_PUSH(heap, n, cap, item, worse)                                         \
    do {                                                                                \
        size_t i_;                                                                      \
        if ((n) < (cap)) {                                                              \
            i_ = (n)++;                                                                 \
            while (i_ > 0 && worse(&(item), &(heap)[(i_ - 1) / 2])) {                   \
                (heap)[i_] = (heap)[(i_ - 1) / 2];                                      \
                i_ = (i_ - 1) / 2;                                                      \
            }                                                                           \
            (heap)[i_] = (item);                                                        \
        } else if (worse(&(heap)[0], &(item))) {                                        \
            i_ = 0;                                                                     \
            for (;;) {                                                                  \
                size_t c_ = 2 * i_ + 1;                                                 \
                if (c_ >= (n))                                                          \
                    break;                                                              \
                if (c_ + 1 < (n) && worse(&(heap)[c_ + 1], &(heap)[c_]))                \
                    c_++;                                                               \
                if (!worse(&(heap)[c_], &(item)))                                       \
                    break;                                                              \
                (heap)[i_] = (heap)[c_];                                                \
                i_ = c_;                                                                \
            }                                                                           \
            (heap)[i_] = (item);                                                        \
        }                                                                               \
    } while (0)

static void push_hit(topk *t, pk_fts_hit h)
{
    HEAP_PUSH(t->best, t->nbest, t->limit, h, hit_worse);
}

static void push_bound(topk *t, bound b)
{
    HEAP_PUSH(t->bounds, t->nbounds, t->pool, b, bound_worse);
}

typedef struct phrase_count {
    int64_t n, last;
} phrase_count;

static int count_row(const Fts5ExtensionApi *api, Fts5Context *fts, void *user)
{
    phrase_count *c = user;
    c->last = api->xRowid(fts);
    return ++c->n >= IDF_COUNT_CAP ? SQLITE_DONE : SQLITE_OK;
}

static double idf_of(double rows, double hits)
{
    double idf = log((rows - hits + 0.5) / (hits + 0.5));
    return idf > 0 ? idf : 1e-6; /* as FTS5: a word in most rows still counts */
}

/* Per query: idf of each word phrase, mean row length. With one word the
 * idf only scales every score alike; it is set from the match count at the
 * end instead of costing a second pass over the word's rows. */
static int rank_init(topk *t, const Fts5ExtensionApi *api, Fts5Context *fts)
{
    t->ready = 1;
    if (api->xPhraseCount(fts) != t->nfilter + t->nranked)
        return SQLITE_ERROR;
    sqlite3_int64 rows = 0, tokens = 0;
    if (api->xRowCount(fts, &rows) != SQLITE_OK || api->xColumnTotalSize(fts, -1, &tokens) != SQLITE_OK)
        return SQLITE_ERROR;
    t->rows = (double)rows;
    t->avgdl = rows > 0 ? (double)tokens / (double)rows : 1;
    if (t->avgdl <= 0)
        t->avgdl = 1;
    t->idf = calloc((size_t)t->nranked, sizeof *t->idf);
    t->plen = calloc((size_t)t->nranked, sizeof *t->plen);
    t->freq = calloc((size_t)t->nranked, sizeof *t->freq);
    if (!t->idf || !t->plen || !t->freq)
        return SQLITE_NOMEM;
    int64_t max_id = 0;
    if (t->nranked > 1) {
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(t->store->db, t->max_id_sql, -1, &q, NULL) == SQLITE_OK) {
            if (sqlite3_step(q) == SQLITE_ROW)
                max_id = sqlite3_column_int64(q, 0);
            sqlite3_finalize(q);
        }
    }
    for (int p = 0; p < t->nranked; p++) {
        t->plen[p] = api->xPhraseSize(fts, t->nfilter + p);
        t->idf[p] = 1;
        if (t->nranked == 1)
            continue;
        phrase_count c = {0, 0};
        if (api->xQueryPhrase(fts, t->nfilter + p, &c, count_row) != SQLITE_OK)
            return SQLITE_ERROR;
        double hits = (double)c.n;
        /* Capped: as many again in the same share of the ids after it. */
        if (c.n >= IDF_COUNT_CAP && c.last > 0 && max_id > c.last)
            hits = hits * (double)max_id / (double)c.last;
        if (hits > rows)
            hits = (double)rows;
        t->idf[p] = idf_of((double)rows, hits);
    }
    return SQLITE_OK;
}

static double bm25(const topk *t, const double *freq, double len)
{
    double score = 0, norm = K1 * (1 - B + B * len / t->avgdl);
    for (int p = 0; p < t->nranked; p++)
        score += t->idf[p] * freq[p] * (K1 + 1) / (freq[p] + norm);
    return score;
}

/* The current row's weighted frequency of each word phrase, in t->freq;
 * returns the shortest the row can be (every column at least as long as
 * its last occurrence), for a bound on its score. */
static int row_freq(topk *t, const Fts5ExtensionApi *api, Fts5Context *fts)
{
    int end[PK_FTS_COLUMNS] = {0};
    for (int p = 0; p < t->nranked; p++) {
        Fts5PhraseIter it;
        int col, off;
        t->freq[p] = 0;
        for (api->xPhraseFirst(fts, t->nfilter + p, &it, &col, &off); col >= 0;
             api->xPhraseNext(fts, &it, &col, &off)) {
            if (col >= t->ncolumns)
                continue;
            t->freq[p] += t->weight[col];
            if (off + t->plen[p] > end[col])
                end[col] = off + t->plen[p];
        }
    }
    int shortest = 0;
    for (int c = 0; c < t->ncolumns; c++)
        shortest += end[c];
    return shortest;
}

/* pk_rank(location_fts, state): called for each match, in id order. Returns
 * nothing; the results gather in the state. */
static void pk_rank(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx, int nval,
                    sqlite3_value **val)
{
    topk *t = nval == 1 ? sqlite3_value_pointer(val[0], "pk_fts_topk") : NULL;
    if (!t) {
        sqlite3_result_error(ctx, "pk_rank: no state", -1);
        return;
    }
    int rc = t->ready ? SQLITE_OK : rank_init(t, api, fts);
    if (rc != SQLITE_OK) {
        t->rc = rc;
        sqlite3_result_error_code(ctx, rc);
        return;
    }
    t->stats.matches++;
    double *freq = t->freq;
    int shortest = row_freq(t, api, fts);
    bound b = {bm25(t, freq, shortest), api->xRowid(fts)};
    if (t->nbest == t->limit && b.ub <= t->best[0].score)
        return; /* cannot beat the current last result */
    if (t->nbounds == t->pool && !bound_worse(&t->bounds[0], &b)) {
        if (b.ub > t->skipped)
            t->skipped = b.ub;
        return; /* one more row of a class already well represented */
    }
    if (t->check || t->pre) {
        t->stats.checked++;
        if (t->pre && !t->pre->keep(t->pre->user, b.id)) {
            rc = SQLITE_DONE;
        } else if (t->check) {
            sqlite3_bind_int64(t->check, 1, b.id);
            rc = sqlite3_step(t->check);
            sqlite3_reset(t->check);
        } else {
            rc = SQLITE_ROW;
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            t->rc = rc;
            sqlite3_result_error_code(ctx, rc);
            return;
        }
        if (rc == SQLITE_DONE) {
            if (t->max_rejects && t->stats.checked - t->stats.passed > t->max_rejects) {
                /* Stops the statement; pk_db_fts_top_within reports it as
                 * given up, not as an error. */
                t->stats.gave_up = 1;
                t->rc = SQLITE_ABORT;
                sqlite3_result_error_code(ctx, SQLITE_ABORT);
            }
            return;
        }
        t->stats.passed++;
    }
    int len = 0;
    if (api->xColumnSize(fts, -1, &len) != SQLITE_OK)
        len = shortest;
    t->stats.scored++;
    pk_fts_hit h = {b.id, bm25(t, freq, len)};
    push_bound(t, b);
    push_hit(t, h);
}

/* ---- transcripts: assets by their best sentence -------------------------- */

typedef struct asset_rank {
    double score;
    int64_t asset;
    int hits;
} asset_rank;

/* The state of one pk_db_transcript_top query (see store.h). */
typedef struct sentence_top {
    topk r;                     /* idf, lengths, statistics; r.limit */
    sqlite3_stmt *asset_of;
    int (*hits)(void *user, int64_t asset_id);
    void *user;
    asset_rank *kept;           /* min-heap by score, room for limit + 1 */
    size_t nkept;
    int64_t held;               /* their hits */
    int64_t run;                /* the asset of the current run of sentences, -1 none */
    double run_best;
} sentence_top;

static int asset_worse(const asset_rank *a, const asset_rank *b)
{
    return a->score < b->score || (a->score == b->score && a->asset > b->asset);
}

/* What a sentence must score above to matter: the lowest kept asset's
 * score once the kept assets hold `limit` hits. */
static double sentence_floor(const sentence_top *t)
{
    return t->nkept && t->held >= (int64_t)t->r.limit ? t->kept[0].score : -HUGE_VAL;
}

static void kept_sift_down(sentence_top *t, size_t i)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= t->nkept)
            return;
        if (c + 1 < t->nkept && asset_worse(&t->kept[c + 1], &t->kept[c]))
            c++;
        if (!asset_worse(&t->kept[c], &t->kept[i]))
            return;
        asset_rank x = t->kept[i];
        t->kept[i] = t->kept[c];
        t->kept[c] = x;
        i = c;
    }
}

/* The current run's asset is complete: weigh it and keep it if it gives
 * hits above the floor; drop the lowest kept assets the others no longer
 * need. Returns an SQLite code. */
static int end_run(sentence_top *t)
{
    int64_t asset = t->run;
    t->run = -1;
    if (asset < 0 || t->run_best <= sentence_floor(t))
        return SQLITE_OK;
    int hits = t->hits(t->user, asset);
    if (hits < 0)
        return SQLITE_ERROR;
    if (hits == 0)
        return SQLITE_OK;
    size_t i = t->nkept++;
    t->kept[i] = (asset_rank){t->run_best, asset, hits};
    while (i > 0 && asset_worse(&t->kept[i], &t->kept[(i - 1) / 2])) {
        asset_rank x = t->kept[i];
        t->kept[i] = t->kept[(i - 1) / 2];
        t->kept[(i - 1) / 2] = x;
        i = (i - 1) / 2;
    }
    t->held += hits;
    while (t->nkept > 1 && t->held - t->kept[0].hits >= (int64_t)t->r.limit) {
        t->held -= t->kept[0].hits;
        t->kept[0] = t->kept[--t->nkept];
        kept_sift_down(t, 0);
    }
    return SQLITE_OK;
}

/* pk_rank_sentences(transcript_fts, state): called for each matching
 * sentence, in id order; an asset's sentences come one after another. */
static void pk_rank_sentences(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx, int nval,
                              sqlite3_value **val)
{
    sentence_top *t = nval == 1 ? sqlite3_value_pointer(val[0], "pk_sentence_top") : NULL;
    if (!t) {
        sqlite3_result_error(ctx, "pk_rank_sentences: no state", -1);
        return;
    }
    int rc = t->r.ready ? SQLITE_OK : rank_init(&t->r, api, fts);
    t->r.stats.matches++;
    double floor_ = sentence_floor(t);
    int shortest = rc == SQLITE_OK ? row_freq(&t->r, api, fts) : 0;
    if (rc != SQLITE_OK || bm25(&t->r, t->r.freq, shortest) <= floor_)
        goto done;
    int len = 0;
    if (api->xColumnSize(fts, -1, &len) != SQLITE_OK)
        len = shortest;
    t->r.stats.scored++;
    double score = bm25(&t->r, t->r.freq, len);
    if (score <= floor_)
        goto done;
    sqlite3_bind_int64(t->asset_of, 1, api->xRowid(fts));
    rc = sqlite3_step(t->asset_of);
    int64_t asset = rc == SQLITE_ROW ? sqlite3_column_int64(t->asset_of, 0) : -1;
    sqlite3_reset(t->asset_of);
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
    if (rc != SQLITE_OK || asset < 0 || (asset == t->run && score <= t->run_best))
        goto done;
    if (asset == t->run) {
        t->run_best = score;
        goto done;
    }
    rc = end_run(t);
    t->run = asset;
    t->run_best = score;
done:
    if (rc != SQLITE_OK) {
        t->r.rc = rc;
        sqlite3_result_error_code(ctx, rc);
    }
}

static int by_asset_score(const void *a, const void *b)
{
    const asset_rank *x = a, *y = b;
    return asset_worse(x, y) ? 1 : asset_worse(y, x) ? -1 : 0;
}

pk_status pk_db_transcript_top(pk_db *s, const pk_fts_match *m, size_t limit,
                               int (*hits)(void *user, int64_t asset_id), void *user,
                               pk_transcript_asset *out, size_t *n, int64_t *matches)
{
    static const double weight[1] = {1};
    *n = 0;
    *matches = 0;
    if (!m->text || !limit)
        return PK_OK;
    sentence_top t = {.r = {.store = s, .weight = weight, .ncolumns = 1,
                            .max_id_sql = "SELECT max(id) FROM transcript_fts_docsize", .limit = limit,
                            .nfilter = 0, .nranked = m->nranked},
                      .hits = hits, .user = user, .run = -1};
    t.kept = malloc((limit + 1) * sizeof *t.kept);
    sqlite3_stmt *q = NULL;
    pk_status st = PK_OK;
    if (!t.kept)
        st = pk_fail(s->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    else if (sqlite3_prepare_v2(s->db, "SELECT asset_id FROM transcript WHERE id = ?", -1, &t.asset_of, NULL) !=
                 SQLITE_OK ||
             sqlite3_prepare_v2(s->db, "SELECT count(*) FROM transcript_fts "
                                       "WHERE transcript_fts MATCH ?1 AND pk_rank_sentences(transcript_fts, ?2)",
                                -1, &q, NULL) != SQLITE_OK)
        st = pk_sqlite_fail(s, "cannot prepare the transcript search");
    if (st == PK_OK) {
        sqlite3_bind_text(q, 1, m->text, -1, SQLITE_STATIC);
        sqlite3_bind_pointer(q, 2, &t, "pk_sentence_top", NULL);
        int rc;
        while ((rc = sqlite3_step(q)) == SQLITE_ROW)
            ;
        if (rc == SQLITE_DONE && end_run(&t) != SQLITE_OK)
            rc = SQLITE_ERROR;
        if (rc != SQLITE_DONE)
            st = t.r.rc == SQLITE_NOMEM ? pk_fail(s->ctx, PK_ERR_INTERNAL, NULL, "out of memory")
                                        : pk_sqlite_fail(s, "transcript search failed");
    }
    sqlite3_finalize(q);
    sqlite3_finalize(t.asset_of);
    if (st == PK_OK) {
        /* The one word's idf, from its match count (see rank_init). */
        double idf = t.r.nranked == 1 ? idf_of(t.r.rows, (double)t.r.stats.matches) : 1;
        qsort(t.kept, t.nkept, sizeof *t.kept, by_asset_score);
        for (size_t i = 0; i < t.nkept; i++)
            out[i] = (pk_transcript_asset){t.kept[i].asset, t.kept[i].score * idf, t.kept[i].hits};
        *n = t.nkept;
        *matches = t.r.stats.matches;
    }
    free(t.r.idf);
    free(t.r.plen);
    free(t.r.freq);
    free(t.kept);
    return st;
}

pk_status pk_db_fts_matches(pk_db *s, const pk_fts_match *m, int64_t id, int *yes)
{
    *yes = 1;
    if (!m->text)
        return PK_OK;
    pk_status st = cached(s, &s->fts_has, "SELECT 1 FROM location_fts WHERE location_fts MATCH ?1 AND rowid = ?2");
    if (st != PK_OK)
        return st;
    sqlite3_bind_text(s->fts_has, 1, m->text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s->fts_has, 2, id);
    int rc = sqlite3_step(s->fts_has);
    sqlite3_reset(s->fts_has);
    sqlite3_clear_bindings(s->fts_has);
    *yes = rc == SQLITE_ROW;
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? PK_OK : pk_sqlite_fail(s, "search failed");
}

pk_status pk_fts5_attach(pk_db *s)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT fts5(?1)", -1, &q, NULL) != SQLITE_OK)
        return pk_sqlite_fail(s, "this SQLite has no FTS5");
    sqlite3_bind_pointer(q, 1, &s->fts, "fts5_api_ptr", NULL);
    sqlite3_step(q);
    sqlite3_finalize(q);
    if (!s->fts || s->fts->iVersion < 2)
        return pk_fail(s->ctx, PK_ERR_INTERNAL, s->path, "catalogue: this SQLite has no usable FTS5");
    if (s->fts->xCreateFunction(s->fts, "pk_rank", NULL, pk_rank, NULL) != SQLITE_OK ||
        s->fts->xCreateFunction(s->fts, "pk_rank_sentences", NULL, pk_rank_sentences, NULL) != SQLITE_OK)
        return pk_sqlite_fail(s, "cannot register the ranking functions");
    return PK_OK;
}

void pk_fts5_detach(pk_db *s)
{
    finalize_cached(s);
    if (s->tok)
        s->tokenizer.xDelete(s->tok);
    s->tok = NULL;
}

static int by_score(const void *a, const void *b)
{
    const pk_fts_hit *x = a, *y = b;
    return hit_worse(x, y) ? 1 : hit_worse(y, x) ? -1 : 0;
}

pk_status pk_db_fts_top(pk_db *s, const pk_fts_match *m, pk_stmt *check, size_t limit,
                        pk_fts_hit *hits, size_t *n, pk_fts_stats *stats)
{
    return pk_db_fts_top_within(s, m, check, NULL, 0, limit, hits, n, stats);
}

pk_status pk_db_fts_top_within(pk_db *s, const pk_fts_match *m, pk_stmt *check, const pk_id_filter *pre,
                               int64_t max_rejects, size_t limit, pk_fts_hit *hits, size_t *n,
                               pk_fts_stats *stats)
{
    *n = 0;
    if (stats)
        memset(stats, 0, sizeof *stats);
    if (!m->text || !limit)
        return PK_OK;
    topk t = {.store = s, .weight = column_weight, .ncolumns = PK_FTS_COLUMNS,
              .max_id_sql = "SELECT max(id) FROM location_fts_docsize",
              .limit = limit, .pool = limit + POOL_EXTRA, .nfilter = m->nfilter,
              .nranked = m->nranked, .check = check ? check->st : NULL, .pre = pre,
              .max_rejects = max_rejects,
              .skipped = -HUGE_VAL};
    t.best = malloc(limit * sizeof *t.best);
    t.bounds = malloc(t.pool * sizeof *t.bounds);
    sqlite3_stmt *q = NULL;
    pk_status st = PK_OK;
    if (!t.best || !t.bounds)
        st = pk_fail(s->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    else if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM location_fts "
                                       "WHERE location_fts MATCH ?1 AND pk_rank(location_fts, ?2)",
                                -1, &q, NULL) != SQLITE_OK)
        st = pk_sqlite_fail(s, "cannot prepare the search");
    if (st == PK_OK) {
        sqlite3_bind_text(q, 1, m->text, -1, SQLITE_STATIC);
        sqlite3_bind_pointer(q, 2, &t, "pk_fts_topk", NULL);
        int rc;
        while ((rc = sqlite3_step(q)) == SQLITE_ROW)
            ;
        if (t.stats.gave_up) {
            if (stats)
                *stats = t.stats;
        } else if (rc != SQLITE_DONE)
            st = t.rc == SQLITE_NOMEM ? pk_fail(s->ctx, PK_ERR_INTERNAL, NULL, "out of memory")
                                      : pk_sqlite_fail(s, "search failed");
    }
    sqlite3_finalize(q);
    if (st == PK_OK && !t.stats.gave_up) {
        if (t.nranked == 1) {
            /* The one word's idf, from its match count (see rank_init). */
            double idf = idf_of(t.rows, (double)t.stats.matches);
            for (size_t i = 0; i < t.nbest; i++)
                t.best[i].score *= idf;
        }
        qsort(t.best, t.nbest, sizeof *t.best, by_score);
        memcpy(hits, t.best, t.nbest * sizeof *hits);
        *n = t.nbest;
        t.stats.exact = t.nbest < t.limit || t.skipped <= t.best[t.nbest - 1].score;
        if (stats)
            *stats = t.stats;
    }
    free(t.idf);
    free(t.plen);
    free(t.freq);
    free(t.best);
    free(t.bounds);
    return st;
}

pk_status pk_db_fts_each(pk_db *s, const pk_fts_match *m, int (*fn)(void *user, int64_t id),
                         void *user, int64_t *count)
{
    if (count)
        *count = 0;
    if (!m->text)
        return PK_OK;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT rowid FROM location_fts WHERE location_fts MATCH ?", -1, &q,
                           NULL) != SQLITE_OK)
        return pk_sqlite_fail(s, "cannot prepare the search");
    sqlite3_bind_text(q, 1, m->text, -1, SQLITE_STATIC);
    int rc;
    int64_t n = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        n++;
        if (fn(user, sqlite3_column_int64(q, 0)))
            break;
    }
    pk_status st = rc == SQLITE_ROW || rc == SQLITE_DONE ? PK_OK : pk_sqlite_fail(s, "search failed");
    sqlite3_finalize(q);
    if (count)
        *count = n;
    return st;
}

/* ---- transcripts -------------------------------------------------------- */

pk_status pk_db_transcript_fts_create(pk_db *s)
{
    /* External content: the text lives once, in `transcript`. */
    return pk_db_exec(s, "CREATE VIRTUAL TABLE transcript_fts USING fts5("
                         "text, content = 'transcript', content_rowid = 'id', "
                         "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')");
}

static pk_status transcript_fts_run(pk_db *s, const char *sql, int64_t asset_id)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return pk_sqlite_fail(s, "cannot prepare a transcript statement");
    sqlite3_bind_int64(q, 1, asset_id);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? PK_OK : pk_sqlite_fail(s, "transcript full-text update failed");
}

pk_status pk_db_transcript_fts_index(pk_db *s, int64_t asset_id)
{
    return transcript_fts_run(s, "INSERT INTO transcript_fts(rowid, text) "
                                 "SELECT id, text FROM transcript WHERE asset_id = ?",
                              asset_id);
}

pk_status pk_db_transcript_fts_unindex(pk_db *s, int64_t asset_id)
{
    /* An external-content index forgets a row given the text it indexed. */
    return transcript_fts_run(s, "INSERT INTO transcript_fts(transcript_fts, rowid, text) "
                                 "SELECT 'delete', id, text FROM transcript WHERE asset_id = ?",
                              asset_id);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

pk_status pk_db_transcript_each_of(pk_db *s, const pk_fts_match *m, const int64_t *assets, size_t n,
                                   int (*fn)(void *user, const pk_transcript_hit *hit), void *user)
{
    if (!m->text || !n)
        return PK_OK;
    /* The ids the assets' sentences span (each asset's are one range). */
    sqlite3_stmt *range = NULL, *match = NULL, *rows = NULL;
    int64_t lo = INT64_MAX, hi = -1, *ids = NULL;
    size_t nids = 0, cap = 0;
    int rc = sqlite3_prepare_v2(s->db, "SELECT min(id), max(id) FROM transcript WHERE asset_id = ?", -1, &range,
                                NULL);
    for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
        sqlite3_bind_int64(range, 1, assets[i]);
        if ((rc = sqlite3_step(range)) == SQLITE_ROW && sqlite3_column_type(range, 0) != SQLITE_NULL) {
            lo = sqlite3_column_int64(range, 0) < lo ? sqlite3_column_int64(range, 0) : lo;
            hi = sqlite3_column_int64(range, 1) > hi ? sqlite3_column_int64(range, 1) : hi;
        }
        rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
        sqlite3_reset(range);
    }
    /* One pass over the matches in that span (a word prefix's list is
     * merged once, not once per asset), then each asset's sentences in
     * time order, those matched. */
    if (rc == SQLITE_OK && hi >= 0)
        rc = sqlite3_prepare_v2(s->db, "SELECT rowid FROM transcript_fts WHERE transcript_fts MATCH ?1 "
                                       "AND rowid BETWEEN ?2 AND ?3",
                                -1, &match, NULL);
    if (match) {
        sqlite3_bind_text(match, 1, m->text, -1, SQLITE_STATIC);
        sqlite3_bind_int64(match, 2, lo);
        sqlite3_bind_int64(match, 3, hi);
        while ((rc = sqlite3_step(match)) == SQLITE_ROW) {
            if (nids == cap) {
                int64_t *g = realloc(ids, (cap = cap ? cap * 2 : 256) * sizeof *g);
                if (!g) {
                    rc = SQLITE_NOMEM;
                    break;
                }
                ids = g;
            }
            ids[nids++] = sqlite3_column_int64(match, 0);
        }
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    qsort(ids, nids, sizeof *ids, cmp_i64);
    if (rc == SQLITE_OK && nids)
        rc = sqlite3_prepare_v2(s->db, "SELECT id, start_time, end_time, text FROM transcript WHERE asset_id = ? "
                                       "ORDER BY start_time, id",
                                -1, &rows, NULL);
    int stop = 0;
    for (size_t i = 0; rows && rc == SQLITE_OK && !stop && i < n; i++) {
        sqlite3_bind_int64(rows, 1, assets[i]);
        while (!stop && (rc = sqlite3_step(rows)) == SQLITE_ROW) {
            int64_t id = sqlite3_column_int64(rows, 0);
            if (!bsearch(&id, ids, nids, sizeof *ids, cmp_i64))
                continue;
            pk_transcript_hit h = {id, assets[i], sqlite3_column_double(rows, 1), sqlite3_column_double(rows, 2),
                                   (const char *)sqlite3_column_text(rows, 3), 0};
            stop = fn(user, &h);
        }
        rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
        sqlite3_reset(rows);
    }
    pk_status st = rc == SQLITE_NOMEM   ? pk_fail(s->ctx, PK_ERR_INTERNAL, NULL, "out of memory")
                   : rc != SQLITE_OK ? pk_sqlite_fail(s, "transcript search failed")
                                     : PK_OK;
    sqlite3_finalize(range);
    sqlite3_finalize(match);
    sqlite3_finalize(rows);
    free(ids);
    return st;
}

pk_status pk_db_transcript_each(pk_db *s, const pk_fts_match *m, int64_t asset_id,
                                int (*fn)(void *user, const pk_transcript_hit *hit), void *user)
{
    if (!m->text)
        return PK_OK;
    /* The full text drives (CROSS JOIN keeps it outer). One asset's
     * sentences were inserted together, so their ids are one range: FTS5
     * seeks it in each word's list instead of reading the whole list per
     * sentence. */
    const char *sql = asset_id < 0
                          ? "SELECT t.id, t.asset_id, t.start_time, t.end_time, t.text, -bm25(transcript_fts) "
                            "FROM transcript_fts CROSS JOIN transcript t ON t.id = transcript_fts.rowid "
                            "WHERE transcript_fts MATCH ?1 ORDER BY rank"
                          : "SELECT t.id, t.asset_id, t.start_time, t.end_time, t.text, -bm25(transcript_fts) "
                            "FROM transcript_fts CROSS JOIN transcript t ON t.id = transcript_fts.rowid "
                            "WHERE transcript_fts MATCH ?1 AND transcript_fts.rowid BETWEEN "
                            "(SELECT min(id) FROM transcript WHERE asset_id = ?2) AND "
                            "(SELECT max(id) FROM transcript WHERE asset_id = ?2) AND t.asset_id = ?2 "
                            "ORDER BY t.start_time, t.id";
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return pk_sqlite_fail(s, "cannot prepare the transcript search");
    sqlite3_bind_text(q, 1, m->text, -1, SQLITE_STATIC);
    if (asset_id >= 0)
        sqlite3_bind_int64(q, 2, asset_id);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        pk_transcript_hit h = {sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 1),
                               sqlite3_column_double(q, 2), sqlite3_column_double(q, 3),
                               (const char *)sqlite3_column_text(q, 4), sqlite3_column_double(q, 5)};
        if (fn(user, &h)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    pk_status st = rc == SQLITE_DONE ? PK_OK : pk_sqlite_fail(s, "transcript search failed");
    sqlite3_finalize(q);
    return st;
}
