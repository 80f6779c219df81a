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

/* Bucket bounds: the values people filter by (HD, 4K, a minute...) are
 * bounds, so a typical filter's candidates all pass its exact check. */
static const double size_bounds[] = {0, 640, 1080, 1280, 1920, 2160, 2560, 3840, 4000, 5000, 6000, 7000, 8000, 10000};
static const double time_bounds[] = {0, 1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200};

static const double *bounds_of(char kind, int *n)
{
    *n = kind == 't' ? (int)PK_ARRAY_LEN(time_bounds) : (int)PK_ARRAY_LEN(size_bounds);
    return kind == 't' ? time_bounds : size_bounds;
}

int pk_fts_bucket_count(char kind)
{
    int n;
    bounds_of(kind, &n);
    return n;
}

void pk_fts_bucket_range(char kind, int b, double *lo, double *hi)
{
    int n;
    const double *bd = bounds_of(kind, &n);
    *lo = bd[b];
    *hi = b + 1 < n ? bd[b + 1] : HUGE_VAL;
}

int pk_fts_bucket(char kind, double v)
{
    int n;
    const double *bd = bounds_of(kind, &n);
    if (!(v > 0) || !isfinite(v))
        return -1;
    int b = 0;
    while (b + 1 < n && v >= bd[b + 1])
        b++;
    return b;
}

static void add_bucket(column_text *c, char kind, double v)
{
    int b = pk_fts_bucket(kind, v);
    if (b < 0)
        return;
    char word[16];
    snprintf(word, sizeof word, "%c%d", kind, b);
    add_word(c, word);
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
    add_bucket(&c[PK_FTS_MEASURE], 'w', (double)m->width);
    add_bucket(&c[PK_FTS_MEASURE], 'h', (double)m->height);
    add_bucket(&c[PK_FTS_MEASURE], 't', m->duration);
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
