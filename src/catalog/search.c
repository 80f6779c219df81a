/*
 * search.c — `postkit search QUERY`: full text over file names, folder names
 * and metadata, ranked by BM25, narrowed by filters.
 *
 * A query is words and filters in any order:
 *   iceland sunset             every word must occur (word prefixes match)
 *   "new york"                 these words one after the other
 *   type:photo|video|audio     kind of file ("image" = photo; "unreadable")
 *   camera:X  lens:X           words (or word prefixes) of make and model,
 *                              of the lens: camera:canon, lens:"rf 24"
 *   date:2024  date:2024-06..2024-08  date:2024-06-01..  date:..2023
 *   duration:>60s  duration:<=2m  (s, m, h; default seconds)
 *   width:>=3840  height:<1080
 *   missing:yes|no             files whose drive is gone / present
 *   dupe:yes|no                content present at more than one path
 *   person:NAME  person:ID     photos and videos where that person is seen
 *   faces:>=5  faces:0         number of faces found (looked-at files only)
 *   smiling  smiling:no        a face whose "happy" is at least PK_FACE_SMILING
 * Words also match what is said in transcribed files (`postkit transcribe`
 * stores the sentences of a catalogued file; `postkit index` those of a file
 * transcribed before): a file found so ranks by the BM25 of its best
 * sentence and shows the matching sentences with their times. Faces count only from the catalogue's current face models. The bare
 * word "smiling" is the tag once `postkit faces` has run, a word before.
 * Without words the newest captures come first.
 *
 * How it stays fast on a large catalogue (see store.h, pk_db_fts_top): the
 * words and the filters on type, camera, lens, date, width, height and
 * duration are one full-text query, so the index narrows them all at once
 * (a number range is the few digit-prefix words covering it, see
 * pk_measure_cover); the other filters (missing, dupe, the face filters
 * person, faces, smiling, and a duration's edge tenth of a second) are
 * checked, one location at a time, only for the rows that could still make
 * the results (missing: first from a set of the missing locations read
 * once); the records are read for the final hits only. When the
 * words are broad and a sample says the filters on type, date, width,
 * height or duration pass a good share of the files, those are checked per
 * row instead (plan_words): narrowing 100,000 matches by a filter most rows
 * pass costs more than checking the few that can enter. Filters alone
 * go to the tables' indexes (ordered by capture time), or, with camera: or
 * lens:, to the full text and then to capture order.
 */
#include "catalog/people.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { MAX_CLAUSES = 32, MAX_PHRASES = 512, MAX_DATE_WORDS = 200, MAX_MEASURE_WORDS = 100 };

/* A filter as SQL over `l` (location) and `a` (asset), with up to two
 * parameters. `set_sql`, when not empty, says the same with the same
 * parameters in a form that lets the tables' indexes find the rows (used
 * for searches by filters alone); `sql` is the form cheap to check for one
 * location at a time. */
typedef struct clause {
    char sql[256];
    char set_sql[256];
    int nbind;
    int is_num[2];
    double num[2];
    char text[2][24];
    int in_text;   /* also expressed as full text */
    int asset;     /* refers to the asset (a.), not only the location */
    int movable;   /* says exactly what its full-text phrases (type, date,
                    * measure columns) say: may replace them (see plan_words) */
} clause;

typedef struct query {
    pk_fts_phrase phrases[MAX_PHRASES];
    size_t nphrases;
    int nwords;         /* phrases of the user's words */
    int text_only;      /* a filter only full text expresses (camera, lens) */
    clause clauses[MAX_CLAUSES];
    int nclauses;
    char **owned;       /* texts the phrases point to */
    size_t nowned;
    int missing_yes, missing_no; /* missing:yes, missing:no were asked */
    int64_t faces_producer; /* the current face producer, -1 none */
    int faces_known;        /* faces_producer was read */
} query;

static const char *own(query *q, char *s)
{
    char **g = s ? realloc(q->owned, (q->nowned + 1) * sizeof *g) : NULL;
    if (!g) {
        free(s);
        return NULL;
    }
    q->owned = g;
    q->owned[q->nowned++] = s;
    return s;
}

static void free_query(query *q)
{
    for (size_t i = 0; i < q->nowned; i++)
        free(q->owned[i]);
    free(q->owned);
}

static pk_status add_phrase(pk_ctx *ctx, query *q, const char *text, int column, int prefix, int or_next)
{
    if (!text)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    if (q->nphrases == MAX_PHRASES)
        return pk_fail(ctx, PK_ERR_USAGE, NULL, "query too long");
    q->phrases[q->nphrases++] = (pk_fts_phrase){text, column, prefix, or_next};
    if (column == PK_FTS_ANY)
        q->nwords++;
    return PK_OK;
}

static clause *add_clause(pk_ctx *ctx, query *q, const char *sql, int in_text)
{
    if (q->nclauses == MAX_CLAUSES) {
        pk_fail(ctx, PK_ERR_USAGE, NULL, "too many filters");
        return NULL;
    }
    clause *c = &q->clauses[q->nclauses++];
    memset(c, 0, sizeof *c);
    snprintf(c->sql, sizeof c->sql, "%s", sql);
    c->in_text = in_text;
    for (const char *p = strstr(sql, "a."); p && !c->asset; p = strstr(p + 1, "a."))
        c->asset = p == sql || !isalnum((unsigned char)p[-1]);
    return c;
}

static void bind_num(clause *c, double v)
{
    c->is_num[c->nbind] = 1;
    c->num[c->nbind++] = v;
}

static void bind_str(clause *c, const char *v)
{
    snprintf(c->text[c->nbind++], sizeof c->text[0], "%s", v);
}

/* ">=3840" → op ">=" and the number; a bare number means "=". Units: s, m,
 * min, h (durations). Returns 0 on success. */
static int parse_compare(const char *v, const char **op, double *num)
{
    static const char *const ops[] = {">=", "<=", ">", "<", "="};
    *op = "=";
    for (size_t i = 0; i < PK_ARRAY_LEN(ops); i++)
        if (strncmp(v, ops[i], strlen(ops[i])) == 0) {
            *op = ops[i];
            v += strlen(ops[i]);
            break;
        }
    char *end;
    *num = strtod(v, &end);
    if (end == v || !isfinite(*num))
        return -1;
    if (!strcasecmp(end, "m") || !strcasecmp(end, "min"))
        *num *= 60;
    else if (!strcasecmp(end, "h"))
        *num *= 3600;
    else if (*end && strcasecmp(end, "s") != 0 && strcasecmp(end, "px") != 0)
        return -1;
    return 0;
}

static int yes(const char *v)
{
    return !*v || !strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1") ||
           !strcasecmp(v, "exact");
}

/* ---- dates --------------------------------------------------------------- */

typedef struct day {
    int y, m, d;
} day;

static int days_in(int y, int m)
{
    static const int n[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) ? 29 : n[m - 1];
}

static long day_key(day d)
{
    return d.y * 10000L + d.m * 100L + d.d;
}

/* "YYYY", "YYYY-MM" or "YYYY-MM-DD" as the first (last = 0) or last day it
 * covers. Returns 0, or -1 when it is not such a date. */
static int parse_day(const char *s, int last, day *out)
{
    size_t n = strlen(s);
    if (n != 4 && n != 7 && n != 10)
        return -1;
    for (size_t i = 0; i < n; i++)
        if ((i == 4 || i == 7) ? s[i] != '-' : !isdigit((unsigned char)s[i]))
            return -1;
    out->y = atoi(s);
    out->m = n >= 7 ? atoi(s + 5) : last ? 12 : 1;
    if (out->m < 1 || out->m > 12)
        return -1;
    int dim = days_in(out->y, out->m);
    out->d = n == 10 ? atoi(s + 8) : last ? dim : 1;
    if (out->d < 1)
        return -1;
    if (out->d > dim)
        out->d = dim;
    return 0;
}

/* The capture year of the oldest (newest: `newest`) asset, or `dflt`. */
static int catalogue_year(pk_catalog *cat, int newest, int dflt)
{
    pk_stmt *s;
    if (pk_db_prepare(cat->store,
                      newest ? "SELECT max(captured) FROM asset" : "SELECT min(captured) FROM asset",
                      &s) != PK_OK)
        return dflt;
    int y = dflt;
    if (pk_stmt_step(s) == 1 && pk_stmt_text(s, 0) && isdigit((unsigned char)pk_stmt_text(s, 0)[0]))
        y = atoi(pk_stmt_text(s, 0));
    pk_stmt_free(s);
    return y;
}

/* The words of the date column (YYYY, mYYYYMM, dYYYYMMDD) that together cover
 * lo..hi exactly: whole years where they fit, then whole months, then days.
 * Returns how many, or -1 when more than MAX_DATE_WORDS would be needed. */
static int date_words(day lo, day hi, char words[][12])
{
    int n = 0;
    day c = lo;
    while (day_key(c) <= day_key(hi)) {
        if (n == MAX_DATE_WORDS)
            return -1;
        if (c.m == 1 && c.d == 1 && day_key((day){c.y, 12, 31}) <= day_key(hi)) {
            snprintf(words[n++], 12, "%04d", c.y);
            c = (day){c.y + 1, 1, 1};
        } else if (c.d == 1 && day_key((day){c.y, c.m, days_in(c.y, c.m)}) <= day_key(hi)) {
            snprintf(words[n++], 12, "m%04d%02d", c.y, c.m);
            c = c.m == 12 ? (day){c.y + 1, 1, 1} : (day){c.y, c.m + 1, 1};
        } else {
            snprintf(words[n++], 12, "d%04d%02d%02d", c.y, c.m, c.d);
            c = c.d < days_in(c.y, c.m) ? (day){c.y, c.m, c.d + 1}
                : c.m == 12            ? (day){c.y + 1, 1, 1}
                                       : (day){c.y, c.m + 1, 1};
        }
    }
    return n;
}

static pk_status parse_date(pk_ctx *ctx, pk_catalog *cat, query *q, const char *v)
{
    char lo[16] = "", hi[16] = "";
    const char *dots = strstr(v, "..");
    if (dots) {
        snprintf(lo, sizeof lo, "%.*s", (int)(dots - v) < 15 ? (int)(dots - v) : 15, v);
        snprintf(hi, sizeof hi, "%s", dots + 2);
    } else {
        snprintf(lo, sizeof lo, "%s", v);
        snprintf(hi, sizeof hi, "%s", v);
    }
    day dlo, dhi;
    if ((!lo[0] && !hi[0]) || (lo[0] && parse_day(lo, 0, &dlo) != 0) || (hi[0] && parse_day(hi, 1, &dhi) != 0))
        return pk_fail(ctx, PK_ERR_USAGE, NULL,
                       "date:%s: expected YYYY[-MM[-DD]], or a range A..B (either end may be open)", v);
    /* As full text: the words covering the range (an open end stops at the
     * catalogue's oldest or newest capture). */
    if (!lo[0])
        dlo = (day){catalogue_year(cat, 0, dhi.y), 1, 1};
    if (!hi[0])
        dhi = (day){catalogue_year(cat, 1, dlo.y), 12, 31};
    char (*words)[12] = malloc(MAX_DATE_WORDS * sizeof *words);
    if (!words)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    int n = day_key(dlo) <= day_key(dhi) ? date_words(dlo, dhi, words) : 0;
    int in_text = n > 0;
    pk_status st = PK_OK;
    for (int i = 0; i < n && st == PK_OK; i++)
        st = add_phrase(ctx, q, own(q, strdup(words[i])), PK_FTS_DATE, 0, i + 1 < n);
    free(words);
    if (st != PK_OK)
        return st;
    /* As SQL: for searches by filters alone, and in place of full text for
     * a range too wide for it or outside the catalogue's years. */
    if (lo[0]) {
        clause *c = add_clause(ctx, q, "a.captured >= ?", in_text);
        if (!c)
            return PK_ERR_USAGE;
        c->movable = 1;
        char t[16];
        snprintf(t, sizeof t, "%04d-%02d-%02d", dlo.y, dlo.m, dlo.d);
        bind_str(c, t);
    }
    if (hi[0]) {
        /* Every time stamp of that day sorts below the day followed by
         * 0x7f. */
        clause *c = add_clause(ctx, q, "a.captured < ?", in_text);
        if (!c)
            return PK_ERR_USAGE;
        c->movable = 1;
        char t[16];
        snprintf(t, sizeof t, "%04d-%02d-%02d\x7f", dhi.y, dhi.m, dhi.d);
        bind_str(c, t);
    }
    return PK_OK;
}

/* ---- filters and words --------------------------------------------------- */

/* The words of `kind` (see pk_measure_cover) whose values satisfy
 * "value op num", as one alternative: the full text then keeps only rows
 * with such a value. When they say it exactly, clause c (the same
 * comparison in SQL) need not be checked for each candidate; otherwise the
 * check rejects only the few candidates of the edge tenth of a second. */
static pk_status add_measure(pk_ctx *ctx, query *q, clause *c, char kind, const char *op, double num)
{
    pk_measure_word *w = malloc(MAX_MEASURE_WORDS * sizeof *w);
    if (!w)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    int exact, n = pk_measure_cover(kind, op, num, w, MAX_MEASURE_WORDS, &exact);
    pk_status st = PK_OK;
    if (n == 0) { /* no value passes: a word no row has */
        snprintf(w[0], sizeof w[0], "%c0", kind);
        n = 1;
    }
    for (int i = 0; i < n && st == PK_OK; i++)
        st = add_phrase(ctx, q, own(q, strdup(w[i])), PK_FTS_MEASURE, 0, i + 1 < n);
    c->in_text = n > 0 && exact;
    free(w);
    return st;
}

/* The catalogue's current face producer (-1 when `postkit faces` never
 * ran), read once per query and only by queries that ask about faces. */
static pk_status faces_producer(pk_catalog *cat, query *q, int64_t *id)
{
    pk_status st = PK_OK;
    if (!q->faces_known)
        st = pk_faces_current(cat, &q->faces_producer);
    q->faces_known = st == PK_OK;
    *id = q->faces_producer;
    return st;
}

/* person:NAME|ID, faces:COMPARISON, smiling[:yes|no]: conditions on the
 * face tables, checked per candidate through their asset index. */
static pk_status parse_face_filter(pk_ctx *ctx, pk_catalog *cat, query *q, const char *key, const char *v)
{
    const char *op;
    double num;
    clause *c;
    int64_t producer;
    if (!strcasecmp(key, "person") && !*v)
        return pk_fail(ctx, PK_ERR_USAGE, NULL, "person: expected a name or id (see: postkit people)");
    if (!strcasecmp(key, "faces") && (parse_compare(v, &op, &num) != 0 || num < 0))
        return pk_fail(ctx, PK_ERR_USAGE, NULL, "faces:%s: expected a count or comparison such as faces:>=5", v);
    pk_status st = faces_producer(cat, q, &producer);
    if (st != PK_OK)
        return st;
    if (!strcasecmp(key, "person")) {
        if (producer < 0)
            return pk_fail(ctx, PK_ERR_USAGE, cat->path,
                           "person:%s: no faces in the catalogue yet: run `postkit faces --all` first", v);
        int64_t person = 0;
        st = pk_person_find(cat, producer, v, &person);
        if (st != PK_OK)
            return st;
        /* "+" keeps SQLite on the asset's faces (a few) rather than the
         * person's (maybe thousands) for each candidate. */
        if (!(c = add_clause(ctx, q, "EXISTS (SELECT 1 FROM face f WHERE f.asset_id = l.asset_id "
                                     "AND +f.person_id = ?)",
                             0)))
            return PK_ERR_USAGE;
        snprintf(c->set_sql, sizeof c->set_sql, "l.asset_id IN (SELECT asset_id FROM face WHERE person_id = ?)");
        bind_num(c, (double)person);
        return PK_OK;
    }
    char sql[256];
    if (!strcasecmp(key, "faces")) {
        snprintf(sql, sizeof sql,
                 "EXISTS (SELECT 1 FROM face_scan fs WHERE fs.asset_id = l.asset_id AND fs.producer_id = ? "
                 "AND fs.faces %s ?)",
                 op);
        if (!(c = add_clause(ctx, q, sql, 0)))
            return PK_ERR_USAGE;
        snprintf(c->set_sql, sizeof c->set_sql,
                 "l.asset_id IN (SELECT asset_id FROM face_scan WHERE producer_id = ? AND faces %s ?)", op);
        bind_num(c, (double)producer);
        bind_num(c, num);
        return PK_OK;
    }
    int smiling = yes(v);
    snprintf(sql, sizeof sql,
             "%sEXISTS (SELECT 1 FROM face f WHERE f.asset_id = l.asset_id AND f.producer_id = ? "
             "AND f.happy >= %.3f)",
             smiling ? "" : "NOT ", PK_FACE_SMILING);
    if (!(c = add_clause(ctx, q, sql, 0)))
        return PK_ERR_USAGE;
    if (smiling)
        snprintf(c->set_sql, sizeof c->set_sql,
                 "l.asset_id IN (SELECT asset_id FROM face WHERE producer_id = ? AND happy >= %.3f)",
                 PK_FACE_SMILING);
    bind_num(c, (double)producer);
    return PK_OK;
}

static pk_status parse_filter(pk_ctx *ctx, pk_catalog *cat, query *q, const char *key, const char *v)
{
    const char *op;
    double num;
    clause *c;
    if (!strcasecmp(key, "type")) {
        const char *t = !strcasecmp(v, "image") || !strcasecmp(v, "photos") ? "photo" : v;
        if (strcasecmp(t, "photo") && strcasecmp(t, "video") && strcasecmp(t, "audio") &&
            strcasecmp(t, "unreadable"))
            return pk_fail(ctx, PK_ERR_USAGE, NULL, "type:%s: expected photo, video, audio or unreadable", v);
        char lower[16];
        snprintf(lower, sizeof lower, "%s", t);
        for (char *p = lower; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        pk_status st = add_phrase(ctx, q, own(q, strdup(lower)), PK_FTS_TYPE, 0, 0);
        if (st != PK_OK || !(c = add_clause(ctx, q, "a.type = ?", 1)))
            return st != PK_OK ? st : PK_ERR_USAGE;
        c->movable = 1;
        bind_str(c, lower);
        return PK_OK;
    }
    if (!strcasecmp(key, "camera") || !strcasecmp(key, "lens")) {
        q->text_only = 1;
        return add_phrase(ctx, q, own(q, strdup(v)), !strcasecmp(key, "lens") ? PK_FTS_LENS : PK_FTS_CAMERA,
                          1, 0);
    }
    if (!strcasecmp(key, "date"))
        return parse_date(ctx, cat, q, v);
    if (!strcasecmp(key, "duration") || !strcasecmp(key, "width") || !strcasecmp(key, "height")) {
        if (parse_compare(v, &op, &num) != 0)
            return pk_fail(ctx, PK_ERR_USAGE, NULL, "%s:%s: expected a comparison such as %s", key, v,
                           !strcasecmp(key, "duration") ? "duration:>60s" : "width:>=3840");
        char sql[64];
        snprintf(sql, sizeof sql, "a.%s %s ?", !strcasecmp(key, "duration") ? "duration"
                                               : !strcasecmp(key, "width")  ? "width"
                                                                            : "height",
                 op);
        if (!(c = add_clause(ctx, q, sql, 0)))
            return PK_ERR_USAGE;
        c->movable = 1;
        bind_num(c, num);
        char kind = (char)tolower((unsigned char)(key[0] == 'd' || key[0] == 'D' ? 't' : key[0]));
        return add_measure(ctx, q, c, kind, op, num);
    }
    if (!strcasecmp(key, "missing")) {
        *(yes(v) ? &q->missing_yes : &q->missing_no) = 1;
        return add_clause(ctx, q, yes(v) ? "l.missing = 1" : "l.missing = 0", 0) ? PK_OK : PK_ERR_USAGE;
    }
    if (!strcasecmp(key, "person") || !strcasecmp(key, "faces") || !strcasecmp(key, "smiling"))
        return parse_face_filter(ctx, cat, q, key, v);
    if (!strcasecmp(key, "dupe") || !strcasecmp(key, "dupes"))
        return add_clause(ctx, q,
                          yes(v) ? "(SELECT count(*) FROM location d WHERE d.asset_id = l.asset_id "
                                   "AND d.missing = 0) > 1"
                                 : "(SELECT count(*) FROM location d WHERE d.asset_id = l.asset_id "
                                   "AND d.missing = 0) <= 1",
                          0)
                   ? PK_OK
                   : PK_ERR_USAGE;
    return pk_fail(ctx, PK_ERR_USAGE, NULL,
                   "unknown filter '%s:' (known: type, camera, lens, date, duration, width, height, "
                   "missing, dupe, person, faces, smiling)",
                   key);
}

static int is_filter_key(const char *s, size_t n)
{
    static const char *const keys[] = {"type", "camera", "lens", "date", "duration", "width",
                                       "height", "missing", "dupe", "dupes", "person",
                                       "faces", "smiling"};
    for (size_t i = 0; i < PK_ARRAY_LEN(keys); i++)
        if (strlen(keys[i]) == n && !strncasecmp(s, keys[i], n))
            return 1;
    return 0;
}

/* Split the query into words and filters. Quotes group words into a phrase
 * ("new york") or a filter's value (camera:"eos r5"). */
static pk_status parse_query(pk_ctx *ctx, pk_catalog *cat, const char *text, query *q)
{
    const char *p = text;
    while (*p) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        char token[1024];
        size_t n = 0;
        int quoted = 0, was_quoted = 0;
        ptrdiff_t colon = -1;
        while (*p && (quoted || !isspace((unsigned char)*p))) {
            if (*p == '"') {
                quoted = !quoted;
                was_quoted = 1;
                p++;
                continue;
            }
            if (*p == ':' && colon < 0 && !was_quoted)
                colon = (ptrdiff_t)n;
            if (n + 1 < sizeof token)
                token[n++] = *p;
            p++;
        }
        token[n] = '\0';
        /* key:value, where key is a word before any quote: a filter when the
         * key is known, an error when it looks like one (no space). */
        if (colon > 0 && (is_filter_key(token, (size_t)colon) || !strchr(token, ' '))) {
            token[colon] = '\0';
            pk_status st = parse_filter(ctx, cat, q, token, token + colon + 1);
            if (st != PK_OK)
                return st;
            continue;
        }
        /* The bare word "smiling" is the face tag once faces were looked
         * for, an ordinary word before. */
        int64_t producer;
        if (!was_quoted && !strcasecmp(token, "smiling")) {
            pk_status st = faces_producer(cat, q, &producer);
            if (st == PK_OK && producer >= 0)
                st = parse_filter(ctx, cat, q, "smiling", "yes");
            if (st != PK_OK)
                return st;
            if (producer >= 0)
                continue;
        }
        pk_status st = add_phrase(ctx, q, own(q, strdup(token)), PK_FTS_ANY, 1, 0);
        if (st != PK_OK)
            return st;
    }
    return PK_OK;
}

/* ---- running ------------------------------------------------------------- */

static const char columns[] =
    "l.id, l.path, l.missing, l.size, a.id, a.type, a.format, a.width, a.height, a.duration, "
    "a.captured, a.camera_make, a.camera_model, a.lens, a.thumbnail, a.sha256";

static json_t *hit_record(pk_stmt *s, const double *score)
{
    json_t *r = json_object();
    json_object_set_new(r, "path", pk_json_string(pk_stmt_text(s, 1)));
    json_object_set_new(r, "type", pk_json_string(pk_stmt_text(s, 5)));
    json_object_set_new(r, "size", json_integer(pk_stmt_int(s, 3)));
    pk_json_set_str(r, "format", pk_stmt_text(s, 6));
    if (!pk_stmt_is_null(s, 7)) {
        json_object_set_new(r, "width", json_integer(pk_stmt_int(s, 7)));
        json_object_set_new(r, "height", json_integer(pk_stmt_int(s, 8)));
    }
    pk_json_set_real(r, "duration", pk_stmt_double(s, 9));
    pk_json_set_str(r, "captured", pk_stmt_text(s, 10));
    const char *make = pk_stmt_text(s, 11), *model = pk_stmt_text(s, 12);
    if (make || model) {
        char cam[256];
        snprintf(cam, sizeof cam, "%s%s%s", make ? make : "", make && model ? " " : "", model ? model : "");
        json_object_set_new(r, "camera", pk_json_string(cam));
    }
    pk_json_set_str(r, "lens", pk_stmt_text(s, 13));
    json_object_set_new(r, "missing", json_boolean(pk_stmt_int(s, 2)));
    pk_json_set_str(r, "thumbnail", pk_stmt_text(s, 14));
    json_object_set_new(r, "sha256", pk_json_string(pk_stmt_text(s, 15)));
    json_object_set_new(r, "location_id", json_integer(pk_stmt_int(s, 0)));
    json_object_set_new(r, "asset_id", json_integer(pk_stmt_int(s, 4)));
    if (score)
        json_object_set_new(r, "rank", json_real(pk_round(*score, 4)));
    return r;
}

/* Which clauses where_sql and bind_clauses take. */
enum { CHECKED = 0, ALL = 1, MOVABLE = 2 };

static int takes(const clause *c, int which)
{
    return which == ALL || (which == MOVABLE ? c->movable : !c->in_text);
}

/* The SQL conditions of the clauses (`which`: ALL, CHECKED = only those
 * full text does not express, MOVABLE), each preceded by " AND ". */
static void where_sql(const query *q, int which, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < q->nclauses; i++)
        if (takes(&q->clauses[i], which)) {
            const clause *c = &q->clauses[i];
            int n = snprintf(out + len, size - len, " AND %s",
                             which == ALL && c->set_sql[0] ? c->set_sql : c->sql);
            if (n > 0 && (size_t)n < size - len)
                len += (size_t)n;
        }
}

/* Bind the parameters of the clauses where_sql took with `which` from
 * `at`; returns the next free one. */
static int bind_clauses(const query *q, int which, pk_stmt *s, int at)
{
    for (int i = 0; i < q->nclauses; i++) {
        const clause *c = &q->clauses[i];
        if (!takes(c, which))
            continue;
        for (int b = 0; b < c->nbind; b++) {
            if (c->is_num[b])
                pk_stmt_bind_double(s, at++, c->num[b]);
            else
                pk_stmt_bind_text(s, at++, c->text[b]);
        }
    }
    return at;
}

static int has_check(const query *q, int *asset)
{
    int any = 0;
    *asset = 0;
    for (int i = 0; i < q->nclauses; i++)
        if (!q->clauses[i].in_text) {
            any = 1;
            *asset |= q->clauses[i].asset;
        }
    return any;
}

/* A statement yielding a row when location ?1 passes the filters full text
 * does not express (NULL when there are none). */
static pk_status prepare_check(pk_catalog *cat, const query *q, pk_stmt **out)
{
    *out = NULL;
    int asset;
    if (!has_check(q, &asset))
        return PK_OK;
    char where[4096], sql[4608];
    where_sql(q, CHECKED, where, sizeof where);
    /* Filters on the location alone (missing:, dupe:) need no asset row. */
    snprintf(sql, sizeof sql, "SELECT 1 FROM location l%s WHERE l.id = ?1%s",
             asset ? " JOIN asset a ON a.id = l.asset_id" : "", where);
    pk_status st = pk_db_prepare(cat->store, sql, out);
    if (st == PK_OK)
        bind_clauses(q, CHECKED, *out, 2);
    return st;
}

/* ---- transcripts ---------------------------------------------------------- */

/* Sentences listed per hit; the hit says how many matched in all. */
enum { MAX_LISTED_SENTENCES = 10 };

/* The query's words alone (matched in transcripts) and its full-text
 * filters alone (checked on the locations a transcript leads to). Either
 * text may be NULL: no such phrase. The caller frees both texts. */
static pk_status split_match(pk_catalog *cat, const query *q, pk_fts_match *words, pk_fts_match *filters)
{
    memset(words, 0, sizeof *words);
    memset(filters, 0, sizeof *filters);
    pk_fts_phrase *ph = malloc((q->nphrases ? q->nphrases : 1) * sizeof *ph);
    if (!ph)
        return pk_fail(pk_db_ctx(cat->store), PK_ERR_INTERNAL, NULL, "out of memory");
    pk_status st = PK_OK;
    for (int want_words = 0; want_words <= 1 && st == PK_OK; want_words++) {
        size_t n = 0;
        for (size_t i = 0; i < q->nphrases; i++)
            if ((q->phrases[i].column == PK_FTS_ANY) == want_words)
                ph[n++] = q->phrases[i];
        st = pk_db_fts_match(cat->store, ph, n, want_words ? words : filters);
    }
    free(ph);
    return st;
}

/* What a transcript search needs to turn an asset into hits: the filters
 * its locations must pass. */
typedef struct sentence_pass {
    pk_catalog *cat;
    const query *q;
    const pk_fts_match *filters; /* the full-text filters (text NULL: none) */
    pk_stmt *check;              /* the other filters (prepare_check), or NULL */
    pk_stmt *locations;          /* the locations of an asset */
    uint8_t *passing;            /* camera:/lens: filters: the locations passing, a bit each */
    int64_t max_location;
    size_t limit;
    pk_status st;
} sentence_pass;

static int mark_passing(void *user, int64_t id)
{
    sentence_pass *p = user;
    if (id >= 0 && id <= p->max_location)
        p->passing[id >> 3] |= (uint8_t)(1u << (id & 7));
    return 0;
}

/* Does location `id` pass the full-text filters? One seek in the index
 * each; but the word prefixes of camera: and lens: would each merge the
 * lists of every word they start: for those, one pass over the filters'
 * matches marks the passing locations, the first time. */
static pk_status passes_text(sentence_pass *p, int64_t id, int *yes)
{
    if (!p->q->text_only || !p->filters->text)
        return pk_db_fts_matches(p->cat->store, p->filters, id, yes);
    pk_status st = PK_OK;
    if (!p->passing) {
        st = pk_db_query_int(p->cat->store, "SELECT max(id) FROM location", 0, &p->max_location);
        if (st == PK_OK && !(p->passing = calloc((size_t)(p->max_location >> 3) + 1, 1)))
            st = pk_fail(p->cat->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        if (st == PK_OK)
            st = pk_db_fts_each(p->cat->store, p->filters, mark_passing, p, NULL);
    }
    *yes = st == PK_OK && id >= 0 && id <= p->max_location && (p->passing[id >> 3] >> (id & 7) & 1);
    return st;
}

/* Does location `id` pass every filter of the query? */
static pk_status passes(sentence_pass *p, int64_t id, int *yes)
{
    pk_status st = passes_text(p, id, yes);
    if (st == PK_OK && *yes && p->check) {
        pk_stmt_reset(p->check);
        bind_clauses(p->q, CHECKED, p->check, 2);
        pk_stmt_bind_int(p->check, 1, id);
        int r = pk_stmt_step(p->check);
        if (r < 0)
            return PK_ERR_INTERNAL;
        *yes = r == 1;
    }
    return st;
}

/* The locations of asset `asset_id` that pass the filters, in id order, at
 * most `max`: into hits[] with `score` (hits may be NULL: only counted).
 * Returns how many, or -1 (p->st says why). */
static int asset_hits(sentence_pass *p, int64_t asset_id, double score, pk_fts_hit *hits, size_t max)
{
    pk_stmt_reset(p->locations);
    pk_stmt_bind_int(p->locations, 1, asset_id);
    size_t n = 0;
    int r = 0;
    while (n < max && (r = pk_stmt_step(p->locations)) == 1) {
        int64_t id = pk_stmt_int(p->locations, 0);
        int yes;
        if ((p->st = passes(p, id, &yes)) != PK_OK)
            return -1;
        if (yes && hits)
            hits[n] = (pk_fts_hit){id, score};
        n += (size_t)yes;
    }
    if (r < 0) {
        p->st = PK_ERR_INTERNAL;
        return -1;
    }
    return (int)n;
}

static int weigh_asset(void *user, int64_t asset_id)
{
    sentence_pass *p = user;
    return asset_hits(p, asset_id, 0, NULL, p->limit);
}

/* The best `limit` locations by their asset's best sentence matching
 * `words`, in hits[0..*n), best first; *sentences gets how many sentences
 * matched (0: no transcript holds the words). */
static pk_status transcript_top(pk_catalog *cat, const query *q, const pk_fts_match *words,
                                const pk_fts_match *filters, size_t limit, pk_fts_hit *hits, size_t *n,
                                int64_t *sentences)
{
    sentence_pass p = {.cat = cat, .q = q, .filters = filters, .limit = limit};
    pk_transcript_asset *assets = malloc(limit * sizeof *assets);
    size_t nassets = 0;
    *n = 0;
    *sentences = 0;
    pk_status st = assets ? PK_OK : pk_fail(cat->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    if (st == PK_OK)
        st = prepare_check(cat, q, &p.check);
    if (st == PK_OK)
        st = pk_db_prepare(cat->store, "SELECT id FROM location WHERE asset_id = ? ORDER BY id", &p.locations);
    if (st == PK_OK)
        st = pk_db_transcript_top(cat->store, words, limit, weigh_asset, &p, assets, &nassets, sentences);
    if (st != PK_OK && p.st != PK_OK)
        st = p.st;
    for (size_t i = 0; st == PK_OK && i < nassets && *n < limit; i++) {
        int k = asset_hits(&p, assets[i].asset_id, assets[i].score, hits + *n, limit - *n);
        if (k < 0)
            st = p.st;
        else
            *n += (size_t)k;
    }
    pk_stmt_free(p.check);
    pk_stmt_free(p.locations);
    free(p.passing);
    free(assets);
    return st;
}

static int by_id(const void *a, const void *b)
{
    const pk_fts_hit *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static int best_first(const void *a, const void *b)
{
    const pk_fts_hit *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Hits a[0..n) hold two ranked lists: one location found by both keeps its
 * better score. Returns how many remain (at most `limit`), best first. */
static size_t merge_hits(pk_fts_hit *a, size_t n, size_t limit)
{
    qsort(a, n, sizeof *a, by_id);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && a[k - 1].id == a[i].id) {
            if (a[i].score > a[k - 1].score)
                a[k - 1].score = a[i].score;
        } else {
            a[k++] = a[i];
        }
    }
    qsort(a, k, sizeof *a, best_first);
    return k < limit ? k : limit;
}

/* Records waiting for their transcript sentences: up to EMIT_CHUNK hits,
 * with their assets (one asset may hold several of the hits). */
enum { EMIT_CHUNK = 256 };
typedef struct chunk {
    json_t *rec[EMIT_CHUNK];
    json_t *list[EMIT_CHUNK];
    int64_t asset[EMIT_CHUNK], count[EMIT_CHUNK];
    size_t n;
} chunk;

/* A matching sentence of one of the chunk's assets: listed in every hit of
 * that asset (the first MAX_LISTED_SENTENCES), counted in all. */
static int add_sentence(void *user, const pk_transcript_hit *h)
{
    chunk *c = user;
    for (size_t i = 0; i < c->n; i++) {
        if (c->asset[i] != h->asset_id || c->count[i]++ >= MAX_LISTED_SENTENCES)
            continue;
        json_t *s = json_object();
        json_object_set_new(s, "start", json_real(pk_round(h->start, 3)));
        json_object_set_new(s, "end", json_real(pk_round(h->end, 3)));
        json_object_set_new(s, "text", pk_json_string(h->text));
        json_array_append_new(c->list[i], s);
    }
    return 0;
}

/* Emit the chunk's records, in order; with `words` (may be NULL), each with
 * its asset's sentences matching them, in time order: "transcript" (the
 * first MAX_LISTED_SENTENCES) and "transcript_matches" (all); nothing when
 * none matches. One pass over the matching sentences for the whole chunk. */
static pk_status emit_chunk(pk_run *run, pk_catalog *cat, chunk *c, const pk_fts_match *words)
{
    pk_status st = PK_OK;
    if (words && words->text) {
        int64_t distinct[EMIT_CHUNK];
        size_t nd = 0;
        for (size_t i = 0; i < c->n; i++) {
            size_t k = 0;
            while (k < nd && distinct[k] != c->asset[i])
                k++;
            if (k == nd)
                distinct[nd++] = c->asset[i];
            c->list[i] = json_array();
            c->count[i] = 0;
        }
        st = pk_db_transcript_each_of(cat->store, words, distinct, nd, add_sentence, c);
        for (size_t i = 0; i < c->n; i++) {
            if (st == PK_OK && c->count[i]) {
                json_object_set_new(c->rec[i], "transcript", c->list[i]);
                json_object_set_new(c->rec[i], "transcript_matches", json_integer(c->count[i]));
            } else {
                json_decref(c->list[i]);
            }
        }
    }
    for (size_t i = 0; i < c->n; i++) {
        if (st == PK_OK)
            pk_run_emit(run, c->rec[i]);
        else
            json_decref(c->rec[i]);
    }
    c->n = 0;
    return st;
}

/* Emit the records of locations ids[0..n), in that order; with `words`
 * (may be NULL), each with its asset's transcript sentences matching them
 * (see emit_chunk). */
static pk_status emit_hits(pk_run *run, pk_catalog *cat, const int64_t *ids, const double *scores, size_t n,
                           const pk_fts_match *words)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT %s FROM location l JOIN asset a ON a.id = l.asset_id WHERE l.id = ?",
             columns);
    pk_stmt *s = NULL;
    chunk *c = calloc(1, sizeof *c);
    pk_status st = c ? pk_db_prepare(cat->store, sql, &s) : pk_fail(cat->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    if (!c)
        return st;
    for (size_t i = 0; i < n && st == PK_OK; i++) {
        pk_stmt_reset(s);
        pk_stmt_bind_int(s, 1, ids[i]);
        int r = pk_stmt_step(s);
        if (r == 1) {
            c->asset[c->n] = pk_stmt_int(s, 4);
            c->rec[c->n++] = hit_record(s, scores ? &scores[i] : NULL);
            if (c->n == EMIT_CHUNK)
                st = emit_chunk(run, cat, c, words);
        } else if (r < 0) {
            st = PK_ERR_INTERNAL;
        }
    }
    if (st == PK_OK)
        st = emit_chunk(run, cat, c, words);
    else
        for (size_t i = 0; i < c->n; i++)
            json_decref(c->rec[i]);
    pk_stmt_free(s);
    free(c);
    return st;
}

/* Missing locations, as a set in memory: most catalogues have few, read
 * from the index on `missing` in one pass, where checking a candidate by
 * SQL reads its location's page (a few thousand scattered pages for a
 * broad word with missing:yes). Beyond MISSING_SET_MAX the rows stay
 * checked by SQL alone. */
enum { MISSING_SET_MAX = 65536 };

typedef struct missing_set {
    uint8_t *bits;
    int64_t max;
    int want_yes, want_no;
} missing_set;

static int keep_missing(void *user, int64_t id)
{
    const missing_set *m = user;
    int in = id >= 0 && id <= m->max && (m->bits[id >> 3] >> (id & 7) & 1);
    return (!m->want_yes || in) && (!m->want_no || !in);
}

/* Fill *m for query q (bits NULL: no such filter, or too many missing). */
static pk_status read_missing(pk_catalog *cat, const query *q, missing_set *m)
{
    memset(m, 0, sizeof *m);
    if (!q->missing_yes && !q->missing_no)
        return PK_OK;
    pk_status st = pk_db_query_int(cat->store, "SELECT max(id) FROM location", 0, &m->max);
    pk_stmt *s = NULL;
    if (st == PK_OK)
        st = pk_db_prepare(cat->store, "SELECT id FROM location WHERE missing = 1 LIMIT ?", &s);
    if (st == PK_OK && !(m->bits = calloc((size_t)(m->max >> 3) + 1, 1)))
        st = pk_fail(cat->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    int64_t n = 0;
    int r = 0;
    if (st == PK_OK) {
        pk_stmt_bind_int(s, 1, MISSING_SET_MAX + 1);
        while ((r = pk_stmt_step(s)) == 1) {
            int64_t id = pk_stmt_int(s, 0);
            if (id >= 0 && id <= m->max)
                m->bits[id >> 3] |= (uint8_t)(1u << (id & 7));
            n++;
        }
        if (r < 0)
            st = PK_ERR_INTERNAL;
    }
    pk_stmt_free(s);
    if (st != PK_OK || n > MISSING_SET_MAX) {
        free(m->bits);
        m->bits = NULL;
    }
    m->want_yes = q->missing_yes;
    m->want_no = q->missing_no;
    return st;
}

/* Words (and filters): ranked by full text, over the locations' text and
 * over the transcripts' sentences (a location found by both keeps the
 * better score). With max_rejects > 0, gives up (*gave_up = 1, nothing
 * emitted) once the per-row check has rejected more rows than that (see
 * pk_db_fts_top_within). */
static pk_status search_words(pk_run *run, pk_catalog *cat, const query *q, const pk_fts_match *m,
                              size_t limit, int64_t max_rejects, int *gave_up)
{
    pk_ctx *ctx = pk_run_ctx(run);
    /* Room for both lists before they merge. */
    pk_fts_hit *hits = malloc(2 * limit * sizeof *hits);
    int64_t *ids = malloc(limit * sizeof *ids);
    double *scores = malloc(limit * sizeof *scores);
    pk_stmt *check = NULL;
    pk_fts_match words = {0}, filters = {0};
    size_t n = 0, nt = 0;
    int64_t sentences = 0;
    pk_status st = hits && ids && scores ? PK_OK : pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    if (st == PK_OK)
        st = prepare_check(cat, q, &check);
    pk_fts_stats stats = {0};
    missing_set missing = {0};
    if (st == PK_OK)
        st = read_missing(cat, q, &missing);
    pk_id_filter pre = {keep_missing, &missing};
    if (st == PK_OK)
        st = pk_db_fts_top_within(cat->store, m, check, missing.bits ? &pre : NULL, max_rejects, limit, hits, &n,
                                  &stats);
    free(missing.bits);
    *gave_up = stats.gave_up;
    if (st == PK_OK && stats.gave_up)
        pk_log(ctx, PK_LOG_DEBUG, "search: per-row filters rejected %lld of %lld rows checked: narrowing by them",
               (long long)(stats.checked - stats.passed), (long long)stats.checked);
    if (st == PK_OK && !stats.gave_up)
        st = split_match(cat, q, &words, &filters);
    if (st == PK_OK && words.text)
        st = transcript_top(cat, q, &words, &filters, limit, hits + n, &nt, &sentences);
    if (st == PK_OK && !stats.gave_up) {
        pk_log(ctx, PK_LOG_DEBUG,
               "search: %lld matches, %lld scored, %lld checked, %lld kept, %s; "
               "%lld transcript sentences, %zu locations",
               (long long)stats.matches, (long long)stats.scored, (long long)stats.checked,
               (long long)stats.passed, stats.exact ? "exact" : "approximate within ties",
               (long long)sentences, nt);
        if (nt)
            n = merge_hits(hits, n + nt, limit);
        for (size_t i = 0; i < n; i++) {
            ids[i] = hits[i].id;
            scores[i] = hits[i].score;
        }
        /* No sentence matched: no hit has any to show. */
        st = emit_hits(run, cat, ids, scores, n, sentences ? &words : NULL);
    }
    free(words.text);
    free(filters.text);
    pk_stmt_free(check);
    free(hits);
    free(ids);
    free(scores);
    return st;
}

/* ---- planning a search by words ------------------------------------------ */

/* Sampled files for a filter's pass rate, and the share of them that must
 * pass for the filter to be checked per row rather than narrow the full
 * text. Each sample is a page a fresh process reads (~1 of the ~250 of a
 * broad query): 32 tell a quarter from a half well enough. */
enum { PASS_SAMPLES = 32, PASS_NEEDED = PASS_SAMPLES / 4 };
/* Words are broad when they match at least one location in BROAD_WORDS;
 * estimated from their first WORD_COUNT_CAP matches. */
enum { BROAD_WORDS = 20, WORD_COUNT_CAP = 4096 };

/* How many of PASS_SAMPLES assets spread evenly over the ids pass the
 * movable clauses (which are all about the asset); *sampled gets how many
 * of them exist. */
static pk_status sample_pass(pk_catalog *cat, const query *q, int *passed, int *sampled)
{
    *passed = *sampled = 0;
    int64_t max = 0;
    pk_status st = pk_db_query_int(cat->store, "SELECT max(id) FROM asset", 0, &max);
    char where[4096], sql[4608];
    where_sql(q, MOVABLE, where, sizeof where);
    /* 1 when the asset passes, 0 or NULL when not; no row when it does not
     * exist. ?1 comes first so that the clauses' "?" number from 2. */
    snprintf(sql, sizeof sql, "SELECT a.id = ?1%s FROM asset a WHERE a.id = ?1", where);
    pk_stmt *s = NULL;
    if (st == PK_OK && max > 0)
        st = pk_db_prepare(cat->store, sql, &s);
    for (int i = 0; s && st == PK_OK && i < PASS_SAMPLES; i++) {
        pk_stmt_reset(s);
        bind_clauses(q, MOVABLE, s, 2);
        pk_stmt_bind_int(s, 1, 1 + (int64_t)((double)(max - 1) * (2 * i + 1) / (2 * PASS_SAMPLES)));
        int r = pk_stmt_step(s);
        if (r < 0)
            st = PK_ERR_INTERNAL;
        else if (r == 1) {
            (*sampled)++;
            *passed += !pk_stmt_is_null(s, 0) && pk_stmt_int(s, 0) != 0;
        }
    }
    pk_stmt_free(s);
    return st;
}

typedef struct first_rows {
    int64_t n, last;
} first_rows;

static int count_first(void *user, int64_t id)
{
    first_rows *c = user;
    c->last = id;
    return ++c->n >= WORD_COUNT_CAP;
}

/* About how many locations match `words`: counted up to WORD_COUNT_CAP,
 * beyond that as many again in the same share of the ids after the last
 * one counted (ids are dense; the words' rows spread over them). */
static pk_status estimate_matches(pk_catalog *cat, const pk_fts_match *words, int64_t max_id, double *n)
{
    first_rows c = {0, 0};
    pk_status st = pk_db_fts_each(cat->store, words, count_first, &c, NULL);
    *n = (double)c.n;
    if (c.n >= WORD_COUNT_CAP && c.last > 0 && max_id > c.last)
        *n = (double)c.n * (double)max_id / (double)c.last;
    return st;
}

/* Words with filters on type, date, width, height or duration. Full text
 * narrows by such a filter with the posting lists of its words (one word
 * for a type, up to ~90 alternatives for a range), which costs in
 * proportion to the rows they hold; when the words are broad and most rows
 * pass the filter (img width:>4000, canon type:photo), that is far more
 * than checking, with the filter's SQL, the few rows that can still enter
 * the results. So when the words match at least one location in
 * BROAD_WORDS and a sample of the catalogue says at least a quarter of the
 * files pass, the words alone drive and those filters are checked per row;
 * should the check still reject many rows (the words' rows are not like
 * the sample), it gives up after a bounded number and the full text
 * narrows as before. Both give the same rows: a movable clause says
 * exactly what its phrases say. Ranks differ in one case: with a single
 * word, its idf is computed from the rows the full-text query matched,
 * which then are the word's rows (as BM25 defines idf) rather than those
 * that also pass the filters; the order is the same. */
static pk_status plan_words(pk_run *run, pk_catalog *cat, const query *q, const pk_fts_match *m, size_t limit)
{
    pk_ctx *ctx = pk_run_ctx(run);
    int movable = 0, gave_up = 0;
    for (int i = 0; i < q->nclauses; i++)
        movable |= q->clauses[i].movable;
    if (!movable)
        return search_words(run, cat, q, m, limit, 0, &gave_up);
    /* The same query without the movable filters' phrases (each group of
     * alternatives lies in one column: dropped whole), checking their
     * clauses instead. It shares q's texts: never freed. */
    query *checked = malloc(sizeof *checked);
    pk_fts_match words = {0};
    if (!checked)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    *checked = *q;
    checked->nphrases = 0;
    for (size_t i = 0; i < q->nphrases; i++) {
        int col = q->phrases[i].column;
        if (col != PK_FTS_TYPE && col != PK_FTS_DATE && col != PK_FTS_MEASURE)
            checked->phrases[checked->nphrases++] = q->phrases[i];
    }
    for (int i = 0; i < checked->nclauses; i++)
        if (checked->clauses[i].movable)
            checked->clauses[i].in_text = 0;
    pk_status st = pk_db_fts_match(cat->store, checked->phrases, checked->nphrases, &words);
    /* Only broad words gain: a narrow word's rows are few for the full
     * text to narrow, and checks, scattered, each read pages of their own. */
    int64_t max_id = 0;
    double matches = 0;
    int passed = 0, sampled = 0;
    if (st == PK_OK && words.nranked)
        st = pk_db_query_int(cat->store, "SELECT max(id) FROM location", 0, &max_id);
    /* Estimated on the words as whole words, unless as short as the
     * prefix index's entries: FTS5 reads a longer prefix's every list in
     * full before the first row ("canon"* costs 70 % more than "canon"),
     * where a word's list streams and the count stops early. A whole word
     * matches fewer rows: the estimate errs towards the old plan. */
    pk_fts_match whole = {0};
    if (st == PK_OK && words.nranked && max_id > 0) {
        pk_fts_phrase as_words[MAX_PHRASES];
        for (size_t i = 0; i < checked->nphrases; i++) {
            as_words[i] = checked->phrases[i];
            if (as_words[i].column == PK_FTS_ANY && strlen(as_words[i].text) > 3)
                as_words[i].prefix = 0;
        }
        st = pk_db_fts_match(cat->store, as_words, checked->nphrases, &whole);
    }
    if (st == PK_OK && whole.nranked)
        st = estimate_matches(cat, &whole, max_id, &matches);
    free(whole.text);
    int broad = matches * BROAD_WORDS >= (double)max_id;
    if (st == PK_OK && broad)
        st = sample_pass(cat, q, &passed, &sampled);
    if (st == PK_OK && broad && sampled && passed * PASS_SAMPLES >= PASS_NEEDED * sampled) {
        pk_log(ctx, PK_LOG_DEBUG,
               "search: about %.0f locations match the words, %d of %d sampled files pass the filters: "
               "checking them per row",
               matches, passed, sampled);
        st = search_words(run, cat, checked, &words, limit, 4 * ((int64_t)limit + 64) + 512, &gave_up);
    } else {
        gave_up = 1;
    }
    free(words.text);
    free(checked);
    if (st != PK_OK || !gave_up)
        return st;
    return search_words(run, cat, q, m, limit, 0, &gave_up);
}

/* Filters alone, all expressible in SQL: newest captures first, from the
 * tables' indexes. */
static pk_status search_sql(pk_run *run, pk_catalog *cat, const query *q, size_t limit)
{
    char where[4096], sql[5120];
    where_sql(q, ALL, where, sizeof where);
    snprintf(sql, sizeof sql,
             "SELECT l.id FROM location l JOIN asset a ON a.id = l.asset_id WHERE 1 = 1%s "
             "ORDER BY a.captured DESC LIMIT ?",
             where);
    pk_stmt *s;
    pk_status st = pk_db_prepare(cat->store, sql, &s);
    if (st != PK_OK)
        return st;
    int at = bind_clauses(q, ALL, s, 1);
    pk_stmt_bind_int(s, at, (int64_t)limit);
    int64_t *ids = malloc(limit * sizeof *ids);
    size_t n = 0;
    int r = 0;
    while (ids && n < limit && (r = pk_stmt_step(s)) == 1)
        ids[n++] = pk_stmt_int(s, 0);
    pk_stmt_free(s);
    if (!ids)
        st = pk_fail(pk_run_ctx(run), PK_ERR_INTERNAL, NULL, "out of memory");
    else if (r < 0)
        st = PK_ERR_INTERNAL;
    if (st == PK_OK)
        st = emit_hits(run, cat, ids, NULL, n, NULL);
    free(ids);
    return st;
}

/* ---- filters with camera: or lens: -------------------------------------- */

typedef struct idset {
    uint8_t *bits;
    int64_t max;
    int64_t *list;   /* the ids in order, while there are few */
    size_t n, cap;
    int oom;
} idset;

static int add_id(void *user, int64_t id)
{
    idset *s = user;
    if (id < 0 || id > s->max)
        return 0;
    s->bits[id >> 3] |= (uint8_t)(1u << (id & 7));
    if (s->list) {
        if (s->n == s->cap) {
            free(s->list); /* many: the bitmap alone will do */
            s->list = NULL;
        } else {
            s->list[s->n] = id;
        }
    }
    s->n++;
    return 0;
}

typedef struct dated {
    int64_t id;
    const char *when; /* owned */
} dated;

static int newest_first(const void *a, const void *b)
{
    const dated *x = a, *y = b;
    int c = strcmp(y->when ? y->when : "", x->when ? x->when : "");
    return c ? c : (x->id > y->id) - (x->id < y->id);
}

/* Few full-text matches: read their capture times and sort. */
static pk_status newest_of_few(pk_catalog *cat, const query *q, const idset *set, int64_t *ids, size_t limit,
                               size_t *n)
{
    char where[4096], sql[4608];
    where_sql(q, CHECKED, where, sizeof where);
    snprintf(sql, sizeof sql,
             "SELECT a.captured FROM location l JOIN asset a ON a.id = l.asset_id WHERE l.id = ?1%s", where);
    pk_stmt *s;
    pk_status st = pk_db_prepare(cat->store, sql, &s);
    if (st != PK_OK)
        return st;
    dated *d = calloc(set->n ? set->n : 1, sizeof *d);
    size_t nd = 0;
    for (size_t i = 0; d && i < set->n && st == PK_OK; i++) {
        pk_stmt_reset(s);
        bind_clauses(q, CHECKED, s, 2);
        pk_stmt_bind_int(s, 1, set->list[i]);
        int r = pk_stmt_step(s);
        if (r < 0)
            st = PK_ERR_INTERNAL;
        else if (r == 1) {
            const char *w = pk_stmt_text(s, 0);
            d[nd].id = set->list[i];
            d[nd++].when = w ? strdup(w) : NULL;
        }
    }
    pk_stmt_free(s);
    if (!d)
        return pk_fail(pk_db_ctx(cat->store), PK_ERR_INTERNAL, NULL, "out of memory");
    qsort(d, nd, sizeof *d, newest_first);
    *n = nd < limit ? nd : limit;
    for (size_t i = 0; i < *n; i++)
        ids[i] = d[i].id;
    for (size_t i = 0; i < nd; i++)
        free((char *)d[i].when);
    free(d);
    return st;
}

/* Many: walk all locations newest first, keep those in the set. */
static pk_status newest_of_many(pk_catalog *cat, const query *q, const idset *set, int64_t *ids, size_t limit,
                                size_t *n)
{
    char where[4096], sql[4608];
    where_sql(q, CHECKED, where, sizeof where);
    snprintf(sql, sizeof sql,
             "SELECT l.id FROM location l JOIN asset a ON a.id = l.asset_id WHERE 1 = 1%s "
             "ORDER BY a.captured DESC",
             where);
    pk_stmt *s;
    pk_status st = pk_db_prepare(cat->store, sql, &s);
    if (st != PK_OK)
        return st;
    bind_clauses(q, CHECKED, s, 1);
    int r;
    *n = 0;
    while (*n < limit && (r = pk_stmt_step(s)) == 1) {
        int64_t id = pk_stmt_int(s, 0);
        if (id >= 0 && id <= set->max && (set->bits[id >> 3] >> (id & 7) & 1))
            ids[(*n)++] = id;
    }
    if (r < 0)
        st = PK_ERR_INTERNAL;
    pk_stmt_free(s);
    return st;
}

static pk_status search_text_filters(pk_run *run, pk_catalog *cat, const query *q, const pk_fts_match *m,
                                     size_t limit)
{
    pk_ctx *ctx = pk_run_ctx(run);
    int64_t max = 0;
    pk_status st = pk_db_query_int(cat->store, "SELECT max(id) FROM location", 0, &max);
    if (st != PK_OK)
        return st;
    /* Sorting the matches costs a lookup each; walking in capture order
     * costs about (locations / matches) rows per result: whichever is less. */
    idset set = {.max = max, .cap = 4096};
    set.bits = calloc((size_t)(max >> 3) + 1, 1);
    set.list = malloc(set.cap * sizeof *set.list);
    int64_t *ids = malloc(limit * sizeof *ids);
    if (!set.bits || !set.list || !ids)
        st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    if (st == PK_OK)
        st = pk_db_fts_each(cat->store, m, add_id, &set, NULL);
    size_t n = 0;
    if (st == PK_OK && set.n) {
        double few = (double)set.n, walk = (double)limit * (double)max / (double)set.n;
        if (set.list && few <= walk)
            st = newest_of_few(cat, q, &set, ids, limit, &n);
        else
            st = newest_of_many(cat, q, &set, ids, limit, &n);
    }
    if (st == PK_OK)
        st = emit_hits(run, cat, ids, NULL, n, NULL);
    free(set.bits);
    free(set.list);
    free(ids);
    return st;
}

static pk_status search_run(pk_run *run)
{
    pk_ctx *ctx = pk_run_ctx(run);
    size_t n = pk_run_input_count(run);
    /* The words of the query may come as one argument or several. */
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(pk_run_input(run, i)) + 1;
    char *text = calloc(len, 1);
    if (!text)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(text, " ");
        strcat(text, pk_run_input(run, i));
    }
    size_t limit = (size_t)pk_run_int(run, "limit");
    query *q = calloc(1, sizeof *q);
    pk_catalog *cat = NULL;
    pk_status st = q ? pk_catalog_open_for_run(run, 0, &cat) : pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    if (st == PK_OK)
        st = parse_query(ctx, cat, text, q);
    free(text);
    pk_fts_match m = {0};
    if (st == PK_OK && (q->nwords || q->text_only))
        st = pk_db_fts_match(cat->store, q->phrases, q->nphrases, &m);
    if (st == PK_OK) {
        if (q->nwords && !m.nranked)
            ; /* no searchable word: no hit */
        else if (q->nwords)
            st = plan_words(run, cat, q, &m, limit);
        else if (q->text_only && !m.text)
            ; /* camera: or lens: without a letter or digit */
        else if (q->text_only)
            st = search_text_filters(run, cat, q, &m, limit);
        else
            st = search_sql(run, cat, q, limit);
    }
    free(m.text);
    if (q)
        free_query(q);
    free(q);
    pk_catalog_close(cat);
    return st;
}

static void search_print(const json_t *r, FILE *out)
{
    fprintf(out, "%s", json_string_value(json_object_get(r, "path")));
    fprintf(out, "  [%s", json_string_value(json_object_get(r, "type")));
    const json_t *w = json_object_get(r, "width");
    if (w)
        fprintf(out, " %lldx%lld", (long long)json_integer_value(w),
                (long long)json_integer_value(json_object_get(r, "height")));
    const json_t *d = json_object_get(r, "duration");
    if (d)
        fprintf(out, " %.1fs", json_real_value(d));
    const char *cam = json_string_value(json_object_get(r, "camera"));
    if (cam)
        fprintf(out, " %s", cam);
    const char *when = json_string_value(json_object_get(r, "captured"));
    if (when)
        fprintf(out, " %.10s", when);
    fprintf(out, "]%s", json_is_true(json_object_get(r, "missing")) ? "  (missing)" : "");
    /* Matching transcript sentences: the first on the line, the others
     * under it, each at its time (hh:mm:ss.t). */
    const json_t *lines = json_object_get(r, "transcript");
    for (size_t i = 0; i < json_array_size(lines); i++) {
        const json_t *l = json_array_get(lines, i);
        double t = json_real_value(json_object_get(l, "start"));
        long tenths = lround(t * 10);
        fprintf(out, "%s%02ld:%02ld:%02ld.%ld \"%s\"", i ? "\n    " : "  ", tenths / 36000, tenths / 600 % 60,
                tenths / 10 % 60, tenths % 10, json_string_value(json_object_get(l, "text")));
    }
    long long more = (long long)json_integer_value(json_object_get(r, "transcript_matches")) -
                     (long long)json_array_size(lines);
    if (more > 0)
        fprintf(out, "\n    (%lld more)", more);
    fputc('\n', out);
}

static const pk_param_spec search_params[] = {
    PK_CATALOG_PARAM,
    {.name = "limit", .short_opt = 'n', .type = PK_PARAM_INT, .defval = "50", .min = 1, .max = 1000000,
     .metavar = "N", .help = "at most N results"},
    {.name = NULL},
};

const pk_op pk_op_search = {
    .name = "search",
    .summary = "Search the catalogue by words and filters",
    .description =
        "Words match file names, folder names and metadata (type, format, codec, camera, lens, "
        "capture date, title, artist), word prefixes included, and the sentences of transcripts "
        "(`postkit transcribe` of a catalogued file): all of them in one sentence, shown with its "
        "time; \"quoted words\" must follow one "
        "another. Ranked by BM25 (a match in the file name counts most; a transcript by its best "
        "sentence). Filters: "
        "type:photo|video|audio, camera:WORDS, lens:WORDS (words or word prefixes of the make and "
        "model, of the lens), "
        "date:2024-06..2024-08 (YYYY[-MM[-DD]], either end open), duration:>60s, width:>=3840, "
        "height:<1080, missing:yes|no, dupe:yes|no (same content at another path), person:NAME "
        "(or id; see `postkit people`), faces:>=5 (faces found; files looked at by `postkit faces`), "
        "smiling (a face whose expression model's 'happy' is at least 0.5; smiling:no for none). "
        "Missing files are listed too, marked as such.",
    .input_name = "QUERY",
    .input_kind = "any",
    .min_inputs = 1,
    .max_inputs = -1,
    .params = search_params,
    .run = search_run,
    .print_human = search_print,
};
