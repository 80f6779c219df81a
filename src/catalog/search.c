/*
 * search.c — `postkit search QUERY`: full text over file names, folder names
 * and metadata, ranked by BM25, narrowed by filters.
 *
 * A query is words and filters in any order:
 *   iceland sunset             every word must occur (word prefixes match)
 *   type:photo|video|audio     kind of file ("image" = photo; "unreadable")
 *   camera:X  lens:X           substring of make/model or lens, any case
 *   date:2024  date:2024-06..2024-08  date:2024-06-01..  date:..2023
 *   duration:>60s  duration:<=2m  (s, m, h; default seconds)
 *   width:>=3840  height:<1080
 *   missing:yes|no             files whose drive is gone / present
 *   dupe:yes|no                content present at more than one path
 *   person:NAME  person:ID     photos and videos where that person is seen
 *   faces:>=5  faces:0         number of faces found (looked-at files only)
 *   smiling  smiling:no        a face whose "happy" is at least PK_FACE_SMILING
 * Faces count only from the catalogue's current face models. The bare
 * word "smiling" is the tag once `postkit faces` has run, a word before.
 * Without words the newest captures come first.
 */
#include "catalog/people.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { MAX_BINDS = 32 };

typedef struct query {
    char where[4096];
    size_t wlen;
    const char *binds[MAX_BINDS]; /* text parameters, in order */
    char *owned[MAX_BINDS];
    double nums[MAX_BINDS];
    int is_num[MAX_BINDS];
    int nbinds;
    char **words;
    size_t nwords;
    /* Face filters, completed once the catalogue is open: binds that
     * take the current face producer, and person:X binds with their X. */
    int producer_bind[MAX_BINDS];
    const char *person_text[MAX_BINDS];
    int smiling_word; /* the bare word "smiling" was given */
} query;

static void add_clause(query *q, const char *clause)
{
    int n = snprintf(q->where + q->wlen, sizeof q->where - q->wlen, " AND %s", clause);
    if (n > 0)
        q->wlen += (size_t)n;
}

static int bind_text(query *q, char *owned)
{
    if (q->nbinds == MAX_BINDS) {
        free(owned);
        return -1;
    }
    q->owned[q->nbinds] = owned;
    q->binds[q->nbinds] = owned;
    q->is_num[q->nbinds++] = 0;
    return 0;
}

static int bind_num(query *q, double v)
{
    if (q->nbinds == MAX_BINDS)
        return -1;
    q->nums[q->nbinds] = v;
    q->is_num[q->nbinds++] = 1;
    return 0;
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

static int valid_date(const char *d)
{
    /* YYYY, YYYY-MM or YYYY-MM-DD */
    size_t n = strlen(d);
    if (n != 4 && n != 7 && n != 10)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((i == 4 || i == 7) ? d[i] != '-' : !isdigit((unsigned char)d[i]))
            return 0;
    return 1;
}

static pk_status parse_filter(pk_ctx *ctx, query *q, const char *key, const char *v)
{
    char clause[256];
    const char *op;
    double num;
    if (!strcasecmp(key, "type")) {
        const char *t = !strcasecmp(v, "image") || !strcasecmp(v, "photos") ? "photo" : v;
        if (strcmp(t, "photo") && strcmp(t, "video") && strcmp(t, "audio") && strcmp(t, "unreadable"))
            return pk_fail(ctx, PK_ERR_USAGE, NULL, "type:%s: expected photo, video, audio or unreadable", v);
        add_clause(q, "a.type = ?");
        return bind_text(q, strdup(t)) ? PK_ERR_USAGE : PK_OK;
    }
    if (!strcasecmp(key, "camera") || !strcasecmp(key, "lens")) {
        add_clause(q, !strcasecmp(key, "lens")
                          ? "lower(coalesce(a.lens, '')) LIKE ?"
                          : "lower(coalesce(a.camera_make, '') || ' ' || coalesce(a.camera_model, '')) LIKE ?");
        size_t n = strlen(v);
        char *pat = malloc(n + 3);
        if (!pat)
            return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        pat[0] = '%';
        for (size_t i = 0; i < n; i++)
            pat[i + 1] = (char)tolower((unsigned char)v[i]);
        pat[n + 1] = '%';
        pat[n + 2] = '\0';
        return bind_text(q, pat) ? PK_ERR_USAGE : PK_OK;
    }
    if (!strcasecmp(key, "date")) {
        char lo[16] = "", hi[16] = "";
        const char *dots = strstr(v, "..");
        if (dots) {
            snprintf(lo, sizeof lo, "%.*s", (int)(dots - v) < 15 ? (int)(dots - v) : 15, v);
            snprintf(hi, sizeof hi, "%s", dots + 2);
        } else {
            snprintf(lo, sizeof lo, "%s", v);
            snprintf(hi, sizeof hi, "%s", v);
        }
        if ((!lo[0] && !hi[0]) || (lo[0] && !valid_date(lo)) || (hi[0] && !valid_date(hi)))
            return pk_fail(ctx, PK_ERR_USAGE, NULL,
                           "date:%s: expected YYYY[-MM[-DD]], or a range A..B (either end may be open)", v);
        if (lo[0]) {
            add_clause(q, "a.captured >= ?");
            if (bind_text(q, strdup(lo)))
                return PK_ERR_USAGE;
        }
        if (hi[0]) {
            /* Every time stamp that starts with the end date sorts below
             * it followed by 0x7f. */
            char end[20];
            snprintf(end, sizeof end, "%s\x7f", hi);
            add_clause(q, "a.captured < ?");
            if (bind_text(q, strdup(end)))
                return PK_ERR_USAGE;
        }
        return PK_OK;
    }
    if (!strcasecmp(key, "duration") || !strcasecmp(key, "width") || !strcasecmp(key, "height")) {
        if (parse_compare(v, &op, &num) != 0)
            return pk_fail(ctx, PK_ERR_USAGE, NULL, "%s:%s: expected a comparison such as %s", key, v,
                           !strcasecmp(key, "duration") ? "duration:>60s" : "width:>=3840");
        snprintf(clause, sizeof clause, "a.%s %s ?", !strcasecmp(key, "duration") ? "duration"
                                                     : !strcasecmp(key, "width")  ? "width"
                                                                                  : "height",
                 op);
        add_clause(q, clause);
        return bind_num(q, num) ? PK_ERR_USAGE : PK_OK;
    }
    if (!strcasecmp(key, "missing")) {
        add_clause(q, yes(v) ? "l.missing = 1" : "l.missing = 0");
        return PK_OK;
    }
    if (!strcasecmp(key, "person")) {
        if (!*v)
            return pk_fail(ctx, PK_ERR_USAGE, NULL, "person: expected a name or id (see: postkit people)");
        add_clause(q, "l.asset_id IN (SELECT asset_id FROM face WHERE person_id = ?)");
        if (bind_num(q, 0))
            return PK_ERR_USAGE;
        if (!(q->owned[q->nbinds - 1] = strdup(v)))
            return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        q->person_text[q->nbinds - 1] = q->owned[q->nbinds - 1];
        return PK_OK;
    }
    if (!strcasecmp(key, "faces")) {
        if (parse_compare(v, &op, &num) != 0 || num < 0)
            return pk_fail(ctx, PK_ERR_USAGE, NULL, "faces:%s: expected a count or comparison such as faces:>=5",
                           v);
        snprintf(clause, sizeof clause,
                 "l.asset_id IN (SELECT asset_id FROM face_scan WHERE producer_id = ? AND faces %s ?)", op);
        add_clause(q, clause);
        if (bind_num(q, -1))
            return PK_ERR_USAGE;
        q->producer_bind[q->nbinds - 1] = 1;
        return bind_num(q, num) ? PK_ERR_USAGE : PK_OK;
    }
    if (!strcasecmp(key, "smiling")) {
        char sql[160];
        snprintf(sql, sizeof sql, "l.asset_id %sIN (SELECT asset_id FROM face WHERE producer_id = ? AND happy >= %.3f)",
                 yes(v) ? "" : "NOT ", PK_FACE_SMILING);
        add_clause(q, sql);
        if (bind_num(q, -1))
            return PK_ERR_USAGE;
        q->producer_bind[q->nbinds - 1] = 1;
        return PK_OK;
    }
    if (!strcasecmp(key, "dupe") || !strcasecmp(key, "dupes")) {
        add_clause(q, yes(v) ? "l.asset_id IN (SELECT asset_id FROM location WHERE missing = 0 "
                               "GROUP BY asset_id HAVING count(*) > 1)"
                             : "l.asset_id NOT IN (SELECT asset_id FROM location WHERE missing = 0 "
                               "GROUP BY asset_id HAVING count(*) > 1)");
        return PK_OK;
    }
    return pk_fail(ctx, PK_ERR_USAGE, NULL,
                   "unknown filter '%s:' (known: type, camera, lens, date, duration, width, height, "
                   "missing, dupe, person, faces, smiling)",
                   key);
}

static void free_query(query *q)
{
    for (int i = 0; i < q->nbinds; i++)
        free(q->owned[i]);
    for (size_t i = 0; i < q->nwords; i++)
        free(q->words[i]);
    free(q->words);
}

/* Split the query into words and filters. Quotes group words: "new york". */
static pk_status parse_query(pk_ctx *ctx, const char *text, query *q)
{
    const char *p = text;
    while (*p) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        char token[1024];
        size_t n = 0;
        int quoted = 0, had_quotes = 0;
        while (*p && (quoted || !isspace((unsigned char)*p))) {
            if (*p == '"') {
                quoted = !quoted;
                had_quotes = 1;
                p++;
                continue;
            }
            if (n + 1 < sizeof token)
                token[n++] = *p;
            p++;
        }
        token[n] = '\0';
        char *colon = strchr(token, ':');
        /* A filter's value may be quoted: person:"Ann Lee". */
        if (colon && colon != token && !memchr(token, ' ', (size_t)(colon - token))) {
            *colon = '\0';
            pk_status st = parse_filter(ctx, q, token, colon + 1);
            if (st != PK_OK)
                return st;
            continue;
        }
        if (!had_quotes && !strcasecmp(token, "smiling")) {
            q->smiling_word = 1;
            continue;
        }
        /* A quoted phrase: its words each must occur. */
        char *save = NULL;
        for (char *w = strtok_r(token, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
            char **g = realloc(q->words, (q->nwords + 1) * sizeof *g);
            if (!g || !(g[q->nwords] = strdup(w))) {
                if (g)
                    q->words = g;
                return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
            }
            q->words = g;
            q->nwords++;
        }
    }
    return PK_OK;
}

/* Complete the face filters now that the catalogue is open: the current
 * face producer, the people named, and the word "smiling" — the tag when
 * faces were looked for, otherwise a word like any other. */
static pk_status resolve_faces(pk_catalog *cat, query *q)
{
    int64_t producer = -1;
    pk_status st = pk_faces_current(cat, &producer);
    if (st == PK_OK && q->smiling_word && producer >= 0)
        st = parse_filter(cat->ctx, q, "smiling", "yes");
    else if (st == PK_OK && q->smiling_word) {
        char **g = realloc(q->words, (q->nwords + 1) * sizeof *g);
        if (g)
            q->words = g;
        if (!g || !(g[q->nwords] = strdup("smiling")))
            return pk_fail(cat->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        q->nwords++;
    }
    for (int i = 0; i < q->nbinds && st == PK_OK; i++) {
        if (q->producer_bind[i])
            q->nums[i] = (double)producer;
        if (!q->person_text[i])
            continue;
        if (producer < 0)
            return pk_fail(cat->ctx, PK_ERR_USAGE, cat->path,
                           "person:%s: no faces in the catalogue yet: run `postkit faces --all` first",
                           q->person_text[i]);
        int64_t id = 0;
        st = pk_person_find(cat, producer, q->person_text[i], &id);
        q->nums[i] = (double)id;
    }
    if (st == PK_OK && q->nbinds == MAX_BINDS)
        st = pk_fail(cat->ctx, PK_ERR_USAGE, NULL, "too many filters");
    return st;
}

static const char columns[] =
    "l.id, l.path, l.missing, l.size, a.id, a.type, a.format, a.width, a.height, a.duration, "
    "a.captured, a.camera_make, a.camera_model, a.lens, a.thumbnail, a.sha256";

static json_t *hit_record(pk_stmt *s, int ranked)
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
    if (ranked)
        json_object_set_new(r, "rank", json_real(pk_round(-pk_stmt_double(s, 16), 4)));
    return r;
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
    query q = {0};
    pk_status st = parse_query(ctx, text, &q);
    free(text);
    if (st == PK_OK && q.nbinds == MAX_BINDS)
        st = pk_fail(ctx, PK_ERR_USAGE, NULL, "too many filters");
    pk_catalog *cat = NULL;
    if (st == PK_OK)
        st = pk_catalog_open_for_run(run, 0, &cat);
    if (st == PK_OK)
        st = resolve_faces(cat, &q);
    char *match = NULL;
    if (st == PK_OK && q.nwords) {
        match = pk_db_fts_query(cat->store, (const char *const *)q.words, q.nwords);
        if (!match) { /* nothing searchable in the words: no hit */
            free_query(&q);
            pk_catalog_close(cat);
            return PK_OK;
        }
    }
    char sql[8192];
    if (match && !q.wlen) /* words only: FTS5 ranks and cuts by itself */
        snprintf(sql, sizeof sql,
                 "SELECT %s, h.rank FROM (%s ORDER BY rank LIMIT ?) h JOIN location l ON l.id = h.id "
                 "JOIN asset a ON a.id = l.asset_id ORDER BY h.rank",
                 columns, pk_db_fts_select(cat->store));
    else if (match) /* "+ 0": rank only the rows the filters keep, not
                       every match (FTS5 would sort them all itself) */
        snprintf(sql, sizeof sql,
                 "SELECT %s, h.rank FROM (%s) h JOIN location l ON l.id = h.id "
                 "JOIN asset a ON a.id = l.asset_id WHERE 1 = 1%s ORDER BY h.rank + 0 LIMIT ?",
                 columns, pk_db_fts_select(cat->store), q.where);
    else if (st == PK_OK)
        snprintf(sql, sizeof sql,
                 "SELECT %s FROM location l JOIN asset a ON a.id = l.asset_id WHERE 1 = 1%s "
                 "ORDER BY a.captured DESC LIMIT ?",
                 columns, q.where);
    pk_stmt *s = NULL;
    if (st == PK_OK)
        st = pk_db_prepare(cat->store, sql, &s);
    if (st == PK_OK) {
        int at = 1;
        if (match)
            pk_stmt_bind_text(s, at++, match);
        if (match && !q.wlen)
            pk_stmt_bind_int(s, at++, pk_run_int(run, "limit"));
        for (int i = 0; i < q.nbinds; i++) {
            if (q.is_num[i])
                pk_stmt_bind_double(s, at++, q.nums[i]);
            else
                pk_stmt_bind_text(s, at++, q.binds[i]);
        }
        if (!match || q.wlen)
            pk_stmt_bind_int(s, at, pk_run_int(run, "limit"));
        int r;
        while ((r = pk_stmt_step(s)) == 1)
            pk_run_emit(run, hit_record(s, match != NULL));
        if (r < 0)
            st = PK_ERR_INTERNAL;
    }
    pk_stmt_free(s);
    free(match);
    free_query(&q);
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
    fprintf(out, "]%s\n", json_is_true(json_object_get(r, "missing")) ? "  (missing)" : "");
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
        "capture date, title, artist), word prefixes included, ranked by BM25 (a match in the file "
        "name counts most). Filters: type:photo|video|audio, camera:TEXT, lens:TEXT, "
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
