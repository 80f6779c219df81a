/*
 * assetmeta.c — from a `probe` record to the columns and words the catalogue
 * searches by. The probe record itself is stored whole; these are the facts
 * worth an index.
 */
#include "catalog/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *str_at(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static int64_t int_at(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : json_is_real(v) ? (int64_t)json_real_value(v) : 0;
}

static double real_at(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* First stream of `type` ("video" or "audio"). */
static const json_t *stream_of(const json_t *rec, const char *type)
{
    size_t i;
    const json_t *s;
    json_array_foreach(json_object_get(rec, "streams"), i, s)
    {
        const char *t = str_at(s, "type");
        if (t && strcmp(t, type) == 0)
            return s;
    }
    return NULL;
}

/* A tag of the container, whatever its case ("title", "TITLE"). */
static const char *tag(const json_t *rec, const char *name)
{
    const json_t *tags = json_object_get(json_object_get(rec, "format"), "tags");
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)tags, key, v)
    {
        if (strcasecmp(key, name) == 0)
            return json_string_value(v);
    }
    return NULL;
}

void pk_asset_meta_from_probe(const json_t *rec, pk_asset_meta *m)
{
    memset(m, 0, sizeof *m);
    m->duration = m->lat = m->lon = NAN;
    m->type = str_at(rec, "type");
    const json_t *img = json_object_get(rec, "image");
    if (img) {
        m->format = str_at(img, "format");
        m->width = int_at(img, "width");
        m->height = int_at(img, "height");
        int64_t o = int_at(img, "orientation");
        if (o >= 5 && o <= 8) { /* stored on its side: as displayed */
            int64_t w = m->width;
            m->width = m->height;
            m->height = w;
        }
        m->bands = int_at(img, "bands");
        m->captured = str_at(img, "captured");
        const json_t *cam = json_object_get(img, "camera");
        m->make = str_at(cam, "make");
        m->model = str_at(cam, "model");
        m->serial = str_at(cam, "serial");
        m->lens = str_at(cam, "lens");
        const json_t *gps = json_object_get(img, "gps");
        m->lat = real_at(gps, "latitude");
        m->lon = real_at(gps, "longitude");
        return;
    }
    const json_t *fmt = json_object_get(rec, "format");
    m->format = str_at(fmt, "name");
    m->duration = real_at(fmt, "duration");
    m->bit_rate = int_at(fmt, "bit_rate");
    m->captured = tag(rec, "creation_time");
    m->title = tag(rec, "title");
    m->artist = tag(rec, "artist");
    m->make = tag(rec, "com.apple.quicktime.make");
    m->model = tag(rec, "com.apple.quicktime.model");
    const json_t *v = stream_of(rec, "video"), *a = stream_of(rec, "audio");
    if (v) {
        m->codec = str_at(v, "codec");
        m->width = int_at(v, "width");
        m->height = int_at(v, "height");
        int64_t rot = int_at(v, "rotation");
        if (rot == 90 || rot == 270) {
            int64_t w = m->width;
            m->width = m->height;
            m->height = w;
        }
    }
    if (a) {
        if (!m->codec)
            m->codec = str_at(a, "codec");
        m->sample_rate = int_at(a, "sample_rate");
        m->channels = int_at(a, "channels");
    }
}

/* The text of one full-text column, grown word by word. */
typedef struct column_text {
    char *p;
    size_t len, cap;
    int oom;
} column_text;

static void add_word(column_text *c, const char *w)
{
    if (!w || !*w || c->oom)
        return;
    size_t n = strlen(w);
    if (c->len + n + 2 > c->cap) {
        size_t cap = (c->cap + n + 2) * 2;
        char *g = realloc(c->p, cap);
        if (!g) {
            c->oom = 1;
            return;
        }
        c->p = g;
        c->cap = cap;
    }
    if (c->len)
        c->p[c->len++] = ' ';
    memcpy(c->p + c->len, w, n);
    c->len += n;
    c->p[c->len] = '\0';
}

/* "YYYY mYYYYMM dYYYYMMDD" for a time stamp starting "YYYY-MM-DD": the
 * words date filters ask for (a year, a month or a day each one word). The
 * letters keep a typed year ("2024", searched as a prefix) from matching
 * every month and day of it too. */
static void add_date(column_text *c, const char *when)
{
    if (!when || strlen(when) < 10 || when[4] != '-' || when[7] != '-')
        return;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (when[i] < '0' || when[i] > '9'))
            return;
    char words[32];
    snprintf(words, sizeof words, "%.4s m%.4s%.2s d%.4s%.2s%.2s", when, when, when + 5, when, when + 5,
             when + 8);
    add_word(c, words);
}

/* Numbers as words (see internal.h, pk_measure_words): the decimal prefixes
 * of the value's digits, qualified by how many digits it has, so that a
 * comparison is the few prefixes covering its range, as a date range is
 * years, months and days. Durations count tenths of a second. */
enum { MEASURE_DIGITS = 9 };  /* values of 10^9 units and more share one word */

static double measure_scale(char kind)
{
    return kind == 't' ? 10 : 1;
}

/* The value in the kind's units (floor), or -1 when it has none (not
 * positive, not a number). Monotonic: v <= w gives units(v) <= units(w). */
static int64_t measure_units(char kind, double v)
{
    if (!(v > 0) || !isfinite(v))
        return -1;
    double u = floor(v * measure_scale(kind));
    return u >= 1e18 ? (int64_t)1e18 : (int64_t)u;
}

static int64_t pow10i(int e)
{
    int64_t p = 1;
    while (e-- > 0)
        p *= 10;
    return p;
}

/* "w4" (len 0) or "w4x38": a prefix of `len` digits never starts with 0,
 * but for the one-digit value 0. The modulos only tell the compiler the
 * ranges (digits <= 10, prefixes < 10^9). */
static void measure_word(pk_measure_word w, char kind, int digits, int64_t prefix, int len)
{
    if (len)
        snprintf(w, sizeof(pk_measure_word), "%c%ux%llu", kind, (unsigned)digits % 100u,
                 (unsigned long long)prefix % 1000000000ull);
    else
        snprintf(w, sizeof(pk_measure_word), "%c%u", kind, (unsigned)digits % 100u);
}

int pk_measure_words(char kind, double v, pk_measure_word *out)
{
    int64_t u = measure_units(kind, v);
    if (u < 0)
        return 0;
    if (u >= pow10i(MEASURE_DIGITS)) {
        measure_word(out[0], kind, MEASURE_DIGITS + 1, 0, 0);
        return 1;
    }
    char digits[24];
    int m = snprintf(digits, sizeof digits, "%lld", (long long)u);
    measure_word(out[0], kind, m, 0, 0);
    for (int len = 1; len <= m; len++)
        measure_word(out[len], kind, m, u / pow10i(m - len), len);
    return m + 1;
}

typedef struct cover {
    char kind;
    int64_t lo, hi;  /* units, inclusive */
    pk_measure_word *out;
    int n, max;
} cover;

static void cover_add(cover *c, int digits, int64_t prefix, int len)
{
    if (c->n < c->max)
        measure_word(c->out[c->n], c->kind, digits, prefix, len);
    c->n++;
}

/* The prefixes of length `len` and longer (of `digits`-digit values) under
 * `prefix` that together hold exactly the values of lo..hi under it. */
static void cover_prefix(cover *c, int digits, int64_t prefix, int len)
{
    int64_t span = pow10i(digits - len), first = prefix * span, last = first + span - 1;
    if (last < c->lo || first > c->hi)
        return;
    if (first >= c->lo && last <= c->hi) {
        cover_add(c, digits, prefix, len);
        return;
    }
    for (int d = 0; d <= 9; d++) /* partly inside: never a single value */
        cover_prefix(c, digits, prefix * 10 + d, len + 1);
}

int pk_measure_cover(char kind, const char *op, double num, pk_measure_word *out, int max, int *exact)
{
    /* The range of units holding every value that passes. Widths and heights
     * are whole numbers: their range is exact. A duration's range also
     * holds the values of its edge tenth that fail. */
    int whole = kind != 't';
    double scale = measure_scale(kind), lo, hi;
    int ge = !strcmp(op, ">=") || !strcmp(op, ">"), le = !strcmp(op, "<=") || !strcmp(op, "<");
    if (whole) {
        lo = !strcmp(op, ">=") ? ceil(num) : !strcmp(op, ">") ? floor(num) + 1 : le ? 0 : num;
        hi = !strcmp(op, "<=") ? floor(num) : !strcmp(op, "<") ? ceil(num) - 1 : ge ? HUGE_VAL : num;
        if (!ge && !le && num != floor(num))
            lo = 1, hi = 0; /* "= 1.5" of a whole number */
    } else {
        double u = floor(num * scale);
        lo = le ? 0 : u;
        hi = ge ? HUGE_VAL : u;
    }
    *exact = whole;
    cover c = {kind, 0, 0, out, 0, max};
    if (lo < 0)
        lo = 0;
    if (hi < lo)
        return 0;
    /* One word for every value of MEASURE_DIGITS + 1 digits and more. */
    double big = (double)pow10i(MEASURE_DIGITS);
    if (hi >= big) {
        cover_add(&c, MEASURE_DIGITS + 1, 0, 0);
        if (lo > big || isfinite(hi))
            *exact = 0;
        hi = big - 1;
    }
    if (lo <= hi) {
        c.lo = (int64_t)lo;
        c.hi = (int64_t)hi;
        for (int m = 1; m <= MEASURE_DIGITS; m++) {
            int64_t first = m == 1 ? 0 : pow10i(m - 1), last = pow10i(m) - 1;
            if (last < c.lo || first > c.hi)
                continue;
            if (first >= c.lo && last <= c.hi) {
                cover_add(&c, m, 0, 0);
                continue;
            }
            for (int d = m == 1 ? 0 : 1; d <= 9; d++)
                cover_prefix(&c, m, d, 1);
        }
    }
    return c.n <= max ? c.n : -1;
}

static void add_measure(column_text *c, char kind, double v)
{
    pk_measure_word w[MEASURE_DIGITS + 1];
    int n = pk_measure_words(kind, v, w);
    for (int i = 0; i < n; i++)
        add_word(c, w[i]);
}

int pk_fts_doc_make(pk_fts_doc *d, const char *name, const char *folder, const char *type,
                    const pk_asset_meta *m)
{
    column_text c[PK_FTS_COLUMNS] = {{0}};
    add_word(&c[PK_FTS_NAME], name);
    add_word(&c[PK_FTS_FOLDERS], folder);
    for (size_t i = 0; i < c[PK_FTS_FOLDERS].len; i++)
        if (c[PK_FTS_FOLDERS].p[i] == '/')
            c[PK_FTS_FOLDERS].p[i] = ' ';
    add_word(&c[PK_FTS_META], m->format);
    add_word(&c[PK_FTS_META], m->codec);
    add_word(&c[PK_FTS_META], m->title);
    add_word(&c[PK_FTS_META], m->artist);
    if (m->width >= 3840 || m->height >= 3840)
        add_word(&c[PK_FTS_META], "4k uhd");
    add_word(&c[PK_FTS_TYPE], type);
    add_word(&c[PK_FTS_CAMERA], m->make);
    add_word(&c[PK_FTS_CAMERA], m->model);
    add_word(&c[PK_FTS_LENS], m->lens);
    add_date(&c[PK_FTS_DATE], m->captured);
    add_measure(&c[PK_FTS_MEASURE], 'w', (double)m->width);
    add_measure(&c[PK_FTS_MEASURE], 'h', (double)m->height);
    add_measure(&c[PK_FTS_MEASURE], 't', m->duration);
    int oom = 0;
    for (int i = 0; i < PK_FTS_COLUMNS; i++) {
        d->text[i] = c[i].p;
        oom |= c[i].oom;
    }
    if (oom) {
        pk_fts_doc_free(d);
        return -1;
    }
    return 0;
}

void pk_fts_doc_free(pk_fts_doc *d)
{
    for (int c = 0; c < PK_FTS_COLUMNS; c++) {
        free(d->text[c]);
        d->text[c] = NULL;
    }
}

pk_status pk_catalog_fts_set(pk_db *s, int64_t id, const char *name, const char *folder, const char *type,
                             const pk_asset_meta *m)
{
    pk_fts_doc d;
    if (pk_fts_doc_make(&d, name, folder, type, m) != 0)
        return pk_fail(pk_db_ctx(s), PK_ERR_INTERNAL, NULL, "out of memory");
    pk_status st = pk_db_fts_set(s, id, (const char *const *)d.text);
    pk_fts_doc_free(&d);
    return st;
}
