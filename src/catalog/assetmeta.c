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

static void add_word(char **buf, size_t *len, size_t *cap, const char *w)
{
    if (!w || !*w)
        return;
    size_t n = strlen(w);
    if (*len + n + 2 > *cap) {
        size_t c = (*cap + n + 2) * 2;
        char *g = realloc(*buf, c);
        if (!g)
            return;
        *buf = g;
        *cap = c;
    }
    if (*len)
        (*buf)[(*len)++] = ' ';
    memcpy(*buf + *len, w, n);
    *len += n;
    (*buf)[*len] = '\0';
}

char *pk_asset_meta_text(const pk_asset_meta *m)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    add_word(&buf, &len, &cap, m->type);
    add_word(&buf, &len, &cap, m->format);
    add_word(&buf, &len, &cap, m->codec);
    add_word(&buf, &len, &cap, m->make);
    add_word(&buf, &len, &cap, m->model);
    add_word(&buf, &len, &cap, m->lens);
    add_word(&buf, &len, &cap, m->title);
    add_word(&buf, &len, &cap, m->artist);
    if (m->captured && strlen(m->captured) >= 10) {
        char day[11];
        memcpy(day, m->captured, 10);
        day[10] = '\0';
        add_word(&buf, &len, &cap, day);
    }
    if (m->width >= 3840 || m->height >= 3840)
        add_word(&buf, &len, &cap, "4k uhd");
    if (!buf)
        buf = strdup("");
    return buf;
}

char *pk_folder_words(const char *folder)
{
    char *w = strdup(folder);
    if (w)
        for (char *p = w; *p; p++)
            if (*p == '/')
                *p = ' ';
    return w;
}
