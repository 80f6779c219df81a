/*
 * people.c — grouping faces into people, incrementally.
 *
 * The similarity of two groups is the mean cosine similarity of their
 * faces (average linkage). It only needs each group's embedding sum S and
 * size n: sim(A, B) = S_A . S_B / (n_A n_B). A person therefore keeps just
 * those two (person.embedding_sum, person.faces), and a new face is
 * compared with a person in one dot product, however many faces the
 * person has — no pass over all faces, ever.
 *
 * A clustering pass takes the faces still without a person (those of the
 * last run and the ones left waiting before, most recent first, at most
 * PK_PEOPLE_MAX_NODES) plus the people close enough to any of them to
 * matter, and merges the most similar pair of groups while that
 * similarity is at least the threshold (Lance-Williams update of the
 * similarity table). Two people are never merged (only the user merges
 * people); a group without a person becomes one when it has at least
 * `min_faces` faces. Faces too small, blurred or doubtful to found a
 * person (pk_face.usable = 0) take no part in that; afterwards each joins
 * the person it is most similar to, when that is at least the threshold.
 *
 * Only SQLite here: what needs the face models or libvips (the producer of
 * a face finder, face thumbnails) is in people_media.c.
 */
#include "catalog/people.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

size_t pk_embedding_dim(size_t blob_bytes)
{
    return blob_bytes / sizeof(float);
}

pk_status pk_faces_current(pk_catalog *cat, int64_t *id)
{
    return pk_db_query_int(cat->store, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'faces_producer'",
                           -1, id);
}

pk_status pk_faces_set_current(pk_catalog *cat, int64_t id)
{
    pk_stmt *q;
    pk_status st = pk_db_prepare(cat->store,
                                 "INSERT INTO meta(key, value) VALUES ('faces_producer', ?) "
                                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                 &q);
    if (st != PK_OK)
        return st;
    char text[32];
    snprintf(text, sizeof text, "%lld", (long long)id);
    pk_stmt_bind_text(q, 1, text);
    st = pk_stmt_step(q) < 0 ? PK_ERR_INTERNAL : PK_OK;
    pk_stmt_free(q);
    return st;
}

pk_status pk_faces_warn_stale(pk_catalog *cat, int64_t current)
{
    pk_status st = PK_OK;
    if (current < 0)
        st = pk_faces_current(cat, &current);
    if (st != PK_OK || current < 0)
        return st;
    pk_stmt *q;
    st = pk_db_prepare(cat->store,
                       "SELECT p.model_id, p.model_sha256, count(*) FROM face f "
                       "JOIN producer p ON p.id = f.producer_id WHERE f.producer_id <> ? "
                       "GROUP BY p.id ORDER BY p.id",
                       &q);
    if (st != PK_OK)
        return st;
    pk_stmt_bind_int(q, 1, current);
    int r;
    while ((r = pk_stmt_step(q)) == 1)
        pk_log(cat->ctx, PK_LOG_WARNING,
               "%lld faces in the catalogue were found by models that are no longer the installed "
               "ones (%s, SHA-256 %.12s…): they are not used for people or search; redo them "
               "with: postkit faces --all --reindex",
               (long long)pk_stmt_int(q, 2), pk_stmt_text(q, 0), pk_stmt_text(q, 1));
    pk_stmt_free(q);
    return r < 0 ? PK_ERR_INTERNAL : PK_OK;
}

pk_status pk_people_open(pk_run *run, pk_catalog **cat, int64_t *producer)
{
    *cat = NULL;
    pk_status st = pk_catalog_open_for_run(run, 0, cat);
    if (st != PK_OK) {
        *cat = NULL;
        return st;
    }
    st = pk_faces_current(*cat, producer);
    if (st == PK_OK && *producer < 0)
        st = pk_fail(pk_run_ctx(run), PK_ERR_USAGE, (*cat)->path,
                     "no faces in the catalogue yet: run `postkit faces --all` first");
    if (st == PK_OK)
        st = pk_faces_warn_stale(*cat, *producer);
    if (st != PK_OK) {
        pk_catalog_close(*cat);
        *cat = NULL;
    }
    return st;
}

pk_status pk_person_find(pk_catalog *cat, int64_t producer, const char *text, int64_t *id)
{
    char *end;
    long long num = strtoll(text, &end, 10);
    pk_stmt *q;
    pk_status st;
    int numeric = *text && !*end;
    if (numeric)
        st = pk_db_prepare(cat->store, "SELECT id FROM person WHERE id = ? AND producer_id = ?", &q);
    else
        st = pk_db_prepare(cat->store,
                           "SELECT id FROM person WHERE lower(name) = lower(?) AND producer_id = ?", &q);
    if (st != PK_OK)
        return st;
    if (numeric)
        pk_stmt_bind_int(q, 1, num);
    else
        pk_stmt_bind_text(q, 1, text);
    pk_stmt_bind_int(q, 2, producer);
    int found = 0, r;
    while ((r = pk_stmt_step(q)) == 1) {
        *id = pk_stmt_int(q, 0);
        found++;
    }
    pk_stmt_free(q);
    if (r < 0)
        return PK_ERR_INTERNAL;
    if (!found)
        return pk_fail(cat->ctx, PK_ERR_USAGE, NULL, "no person %s%s (see: postkit people)",
                       numeric ? "with id " : "named ", text);
    if (found > 1)
        return pk_fail(cat->ctx, PK_ERR_USAGE, NULL, "%d people are named %s: give an id (see: postkit people)",
                       found, text);
    return PK_OK;
}

pk_status pk_person_refresh(pk_catalog *cat, int64_t person)
{
    pk_stmt *q;
    pk_status st = pk_db_prepare(cat->store, "SELECT embedding FROM face WHERE person_id = ?", &q);
    if (st != PK_OK)
        return st;
    pk_stmt_bind_int(q, 1, person);
    float *sum = NULL;
    size_t dim = 0;
    int64_t count = 0;
    int r;
    while ((r = pk_stmt_step(q)) == 1) {
        size_t bytes;
        const float *e = pk_stmt_blob(q, 0, &bytes);
        if (!e || !bytes)
            continue;
        if (!sum) {
            dim = pk_embedding_dim(bytes);
            if (!(sum = calloc(dim, sizeof *sum))) {
                r = -2;
                break;
            }
        }
        if (pk_embedding_dim(bytes) != dim)
            continue;
        for (size_t i = 0; i < dim; i++)
            sum[i] += e[i];
        count++;
    }
    pk_stmt_free(q);
    if (r == -2)
        return pk_fail(cat->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    if (r < 0) {
        free(sum);
        return PK_ERR_INTERNAL;
    }
    if (count == 0) {
        free(sum);
        /* Nobody left to be: the faces (if any, without embeddings) let go. */
        st = pk_db_prepare(cat->store, "UPDATE face SET person_id = NULL, assigned = NULL WHERE person_id = ?", &q);
        if (st == PK_OK) {
            pk_stmt_bind_int(q, 1, person);
            st = pk_stmt_step(q) < 0 ? PK_ERR_INTERNAL : PK_OK;
            pk_stmt_free(q);
        }
        if (st == PK_OK && (st = pk_db_prepare(cat->store, "DELETE FROM person WHERE id = ?", &q)) == PK_OK) {
            pk_stmt_bind_int(q, 1, person);
            st = pk_stmt_step(q) < 0 ? PK_ERR_INTERNAL : PK_OK;
            pk_stmt_free(q);
        }
        return st;
    }
    st = pk_db_prepare(cat->store,
                       "UPDATE person SET faces = ?, embedding_sum = ?, cover_face_id = "
                       "(SELECT id FROM face WHERE person_id = ?3 AND embedding IS NOT NULL "
                       " ORDER BY usable DESC, size * score DESC, id LIMIT 1) WHERE id = ?3",
                       &q);
    if (st == PK_OK) {
        pk_stmt_bind_int(q, 1, count);
        pk_stmt_bind_blob(q, 2, sum, dim * sizeof *sum);
        pk_stmt_bind_int(q, 3, person);
        st = pk_stmt_step(q) < 0 ? PK_ERR_INTERNAL : PK_OK;
        pk_stmt_free(q);
    }
    free(sum);
    return st;
}

/* ---- clustering ----------------------------------------------------------- */

/* A group in the agglomeration: a person, or faces without one. */
typedef struct group {
    float *sum;              /* dim floats */
    double n;                /* faces */
    int64_t person;          /* > 0: an existing person (never merged with another) */
    int head;                /* first face (index into faces), -1 none; faces chain by next */
    int tail;
    int alive;
    int touched;             /* gained faces */
} group;

typedef struct pass {
    pk_catalog *cat;
    int64_t producer;
    size_t dim;
    double threshold;
    /* faces without a person */
    int64_t *face_id;
    float *emb;              /* nfaces x dim */
    int *usable;
    int *next;
    int *group_of;           /* group a face ended in, -1 none */
    size_t nfaces, capfaces;
    /* groups */
    group *g;
    size_t ng;
} pass;

static float dot(const float *a, const float *b, size_t n)
{
    float s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static void free_pass(pass *p)
{
    for (size_t i = 0; i < p->ng; i++)
        free(p->g[i].sum);
    free(p->g);
    free(p->face_id);
    free(p->emb);
    free(p->usable);
    free(p->next);
    free(p->group_of);
}

static int add_face(pass *p, int64_t id, const float *e, int usable)
{
    if (p->nfaces == p->capfaces) {
        size_t cap = p->capfaces ? p->capfaces * 2 : 256;
        int64_t *a = realloc(p->face_id, cap * sizeof *a);
        if (a)
            p->face_id = a;
        float *b = realloc(p->emb, cap * p->dim * sizeof *b);
        if (b)
            p->emb = b;
        int *c = realloc(p->usable, cap * sizeof *c);
        if (c)
            p->usable = c;
        if (!a || !b || !c)
            return -1;
        p->capfaces = cap;
    }
    p->face_id[p->nfaces] = id;
    memcpy(p->emb + p->nfaces * p->dim, e, p->dim * sizeof *e);
    p->usable[p->nfaces] = usable;
    p->nfaces++;
    return 0;
}

/* The faces of `producer` without a person, newest first; usable ones up
 * to the node budget, every unusable one (they cost one dot product per
 * candidate person). */
static pk_status load_pending(pass *p)
{
    pk_stmt *q;
    pk_status st = pk_db_prepare(p->cat->store,
                                 "SELECT id, embedding, usable FROM face WHERE producer_id = ? AND "
                                 "person_id IS NULL AND embedding IS NOT NULL ORDER BY id DESC",
                                 &q);
    if (st != PK_OK)
        return st;
    pk_stmt_bind_int(q, 1, p->producer);
    size_t usable = 0;
    int r;
    while ((r = pk_stmt_step(q)) == 1) {
        size_t bytes;
        const float *e = pk_stmt_blob(q, 1, &bytes);
        int u = (int)pk_stmt_int(q, 2);
        if (!e)
            continue;
        if (!p->dim)
            p->dim = pk_embedding_dim(bytes);
        if (pk_embedding_dim(bytes) != p->dim || (u && usable >= PK_PEOPLE_MAX_NODES))
            continue;
        if (add_face(p, pk_stmt_int(q, 0), e, u) != 0) {
            r = -2;
            break;
        }
        usable += u != 0;
    }
    pk_stmt_free(q);
    if (r == -2)
        return pk_fail(p->cat->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    return r < 0 ? PK_ERR_INTERNAL : PK_OK;
}

static int add_group(pass *p, int64_t person, const float *sum, double n, int face)
{
    group *g = realloc(p->g, (p->ng + 1) * sizeof *g);
    if (!g)
        return -1;
    p->g = g;
    group *x = &p->g[p->ng];
    memset(x, 0, sizeof *x);
    if (!(x->sum = malloc(p->dim * sizeof *x->sum)))
        return -1;
    memcpy(x->sum, sum, p->dim * sizeof *sum);
    x->n = n;
    x->person = person;
    x->head = x->tail = face;
    x->alive = 1;
    if (face >= 0)
        p->group_of[face] = (int)p->ng;
    p->ng++;
    return 0;
}

/* The people worth considering: those whose mean similarity with some
 * waiting face reaches the threshold (the others cannot take part in any
 * merge this pass). */
static pk_status load_people(pass *p)
{
    pk_stmt *q;
    pk_status st = pk_db_prepare(p->cat->store,
                                 "SELECT id, embedding_sum, faces FROM person WHERE producer_id = ? "
                                 "AND faces > 0 AND embedding_sum IS NOT NULL",
                                 &q);
    if (st != PK_OK)
        return st;
    pk_stmt_bind_int(q, 1, p->producer);
    int r;
    while ((r = pk_stmt_step(q)) == 1) {
        size_t bytes;
        const float *s = pk_stmt_blob(q, 1, &bytes);
        double n = (double)pk_stmt_int(q, 2);
        if (!s || pk_embedding_dim(bytes) != p->dim)
            continue;
        int near = 0;
        for (size_t f = 0; f < p->nfaces && !near; f++)
            near = dot(s, p->emb + f * p->dim, p->dim) / n >= p->threshold;
        if (near && add_group(p, pk_stmt_int(q, 0), s, n, -1) != 0) {
            r = -2;
            break;
        }
    }
    pk_stmt_free(q);
    if (r == -2)
        return pk_fail(p->cat->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    return r < 0 ? PK_ERR_INTERNAL : PK_OK;
}

static void chain(pass *p, group *into, group *from)
{
    if (from->head < 0)
        return;
    if (into->head < 0)
        into->head = from->head;
    else
        p->next[into->tail] = from->head;
    into->tail = from->tail;
    for (int f = from->head; f >= 0; f = p->next[f])
        p->group_of[f] = (int)(into - p->g);
}

/* Average-linkage agglomeration over the groups (people + usable faces),
 * merging the most similar pair while it reaches the threshold. The table
 * is n x n floats (n <= PK_PEOPLE_MAX_NODES + people near them). */
static pk_status agglomerate(pass *p)
{
    size_t n = p->ng;
    if (n < 2)
        return PK_OK;
    float *sim = malloc(n * n * sizeof *sim);
    size_t *best = malloc(n * sizeof *best);
    if (!sim || !best) {
        free(sim);
        free(best);
        return pk_fail(p->cat->ctx, PK_ERR_INTERNAL, NULL, "out of memory (%zu groups)", n);
    }
    for (size_t i = 0; i < n; i++) {
        sim[i * n + i] = -FLT_MAX;
        for (size_t j = i + 1; j < n; j++) {
            float s = (p->g[i].person > 0 && p->g[j].person > 0)
                          ? -FLT_MAX
                          : (float)(dot(p->g[i].sum, p->g[j].sum, p->dim) / (p->g[i].n * p->g[j].n));
            sim[i * n + j] = sim[j * n + i] = s;
        }
    }
    for (size_t i = 0; i < n; i++) {
        best[i] = i;
        for (size_t j = 0; j < n; j++)
            if (sim[i * n + j] > sim[i * n + best[i]])
                best[i] = j;
    }
    for (;;) {
        size_t a = n;
        float top = -FLT_MAX;
        for (size_t i = 0; i < n; i++)
            if (p->g[i].alive && sim[i * n + best[i]] > top) {
                top = sim[i * n + best[i]];
                a = i;
            }
        if (a == n || top < (float)p->threshold)
            break;
        size_t b = best[a];
        /* The survivor keeps the person, if either has one. */
        if (p->g[b].person > 0) {
            size_t t = a;
            a = b;
            b = t;
        }
        group *A = &p->g[a], *B = &p->g[b];
        double na = A->n, nb = B->n;
        for (size_t k = 0; k < n; k++) {
            if (k == a || k == b || !p->g[k].alive)
                continue;
            float s = (A->person > 0 && p->g[k].person > 0)
                          ? -FLT_MAX
                          : (float)((na * sim[a * n + k] + nb * sim[b * n + k]) / (na + nb));
            sim[a * n + k] = sim[k * n + a] = s;
        }
        for (size_t k = 0; k < n; k++)
            sim[b * n + k] = sim[k * n + b] = -FLT_MAX;
        for (size_t d = 0; d < p->dim; d++)
            A->sum[d] += B->sum[d];
        A->n = na + nb;
        chain(p, A, B);
        A->touched = 1;
        B->alive = 0;
        /* Rows whose best partner changed: a, b, and those pointing at them;
         * a row whose similarity to a rose above its best takes a. */
        for (size_t i = 0; i < n; i++) {
            if (!p->g[i].alive)
                continue;
            if (i == a || best[i] == a || best[i] == b) {
                best[i] = i;
                for (size_t j = 0; j < n; j++)
                    if (sim[i * n + j] > sim[i * n + best[i]])
                        best[i] = j;
            } else if (sim[i * n + a] > sim[i * n + best[i]]) {
                best[i] = a;
            }
        }
    }
    free(sim);
    free(best);
    return PK_OK;
}

/* Store one face's person. */
static pk_status set_person(pass *p, pk_stmt *q, int face, int64_t person)
{
    pk_stmt_reset(q);
    pk_stmt_bind_int(q, 1, person);
    pk_stmt_bind_int(q, 2, p->face_id[face]);
    int r = pk_stmt_step(q);
    pk_stmt_reset(q);
    return r < 0 ? PK_ERR_INTERNAL : PK_OK;
}

static pk_status new_person(pass *p, int64_t *id)
{
    pk_stmt *q;
    pk_status st = pk_db_prepare(p->cat->store,
                                 "INSERT INTO person(producer_id, faces, created_at) VALUES (?, 0, ?) RETURNING id",
                                 &q);
    if (st != PK_OK)
        return st;
    char now[32];
    pk_iso8601_now(now);
    pk_stmt_bind_int(q, 1, p->producer);
    pk_stmt_bind_text(q, 2, now);
    int r = pk_stmt_step(q);
    if (r == 1)
        *id = pk_stmt_int(q, 0);
    pk_stmt_free(q);
    return r == 1 ? PK_OK : PK_ERR_INTERNAL;
}

/* Write the outcome: groups with a person (old or new) get their faces;
 * then the unusable faces join their nearest person. */
static pk_status store(pass *p, int min_faces, pk_cluster_report *rep)
{
    pk_stmt *q;
    pk_status st = pk_db_prepare(p->cat->store,
                                 "UPDATE face SET person_id = ?, assigned = 'auto' WHERE id = ?", &q);
    if (st != PK_OK)
        return st;
    for (size_t i = 0; i < p->ng && st == PK_OK; i++) {
        group *g = &p->g[i];
        if (!g->alive || g->head < 0)
            continue;
        int64_t faces = 0;
        for (int f = g->head; f >= 0; f = p->next[f])
            faces++;
        if (g->person <= 0) {
            if (faces < min_faces)
                continue;
            st = new_person(p, &g->person);
            rep->new_people++;
            rep->seeded += faces;
        } else {
            rep->joined += faces;
        }
        g->touched = 1;
        for (int f = g->head; f >= 0 && st == PK_OK; f = p->next[f])
            st = set_person(p, q, f, g->person);
    }
    /* Persons that exist now, for the faces that can only join. */
    for (size_t f = 0; f < p->nfaces && st == PK_OK; f++) {
        if (p->usable[f])
            continue;
        const float *e = p->emb + f * p->dim;
        double top = p->threshold;
        int pick = -1;
        for (size_t i = 0; i < p->ng; i++) {
            group *g = &p->g[i];
            if (!g->alive || g->person <= 0)
                continue;
            double s = dot(e, g->sum, p->dim) / g->n;
            if (s >= top) {
                top = s;
                pick = (int)i;
            }
        }
        if (pick >= 0) {
            st = set_person(p, q, (int)f, p->g[pick].person);
            p->g[pick].touched = 1;
            rep->joined++;
        }
    }
    pk_stmt_free(q);
    for (size_t i = 0; i < p->ng && st == PK_OK; i++)
        if (p->g[i].alive && p->g[i].touched && p->g[i].person > 0)
            st = pk_person_refresh(p->cat, p->g[i].person);
    return st;
}

static pk_status count_pending(pk_catalog *cat, int64_t producer, int64_t *n)
{
    pk_stmt *q;
    pk_status st = pk_db_prepare(cat->store,
                                 "SELECT count(*) FROM face WHERE producer_id = ? AND person_id IS NULL", &q);
    if (st != PK_OK)
        return st;
    pk_stmt_bind_int(q, 1, producer);
    int r = pk_stmt_step(q);
    *n = r == 1 ? pk_stmt_int(q, 0) : 0;
    pk_stmt_free(q);
    return r == 1 ? PK_OK : PK_ERR_INTERNAL;
}

pk_status pk_people_cluster(pk_catalog *cat, int64_t producer, double threshold, int min_faces,
                            pk_cluster_report *report)
{
    pk_cluster_report rep = {0};
    pass p = {.cat = cat, .producer = producer, .threshold = threshold};
    pk_status st = pk_db_begin(cat->store, 1);
    if (st != PK_OK)
        return st;
    st = load_pending(&p);
    if (st == PK_OK && p.nfaces) {
        p.next = malloc(p.nfaces * sizeof *p.next);
        p.group_of = malloc(p.nfaces * sizeof *p.group_of);
        if (!p.next || !p.group_of)
            st = pk_fail(cat->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        for (size_t f = 0; st == PK_OK && f < p.nfaces; f++)
            p.next[f] = p.group_of[f] = -1;
        if (st == PK_OK)
            st = load_people(&p);
        for (size_t f = 0; st == PK_OK && f < p.nfaces; f++)
            if (p.usable[f] && add_group(&p, 0, p.emb + f * p.dim, 1, (int)f) != 0)
                st = pk_fail(cat->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        if (st == PK_OK)
            st = agglomerate(&p);
        if (st == PK_OK)
            st = store(&p, min_faces, &rep);
    }
    if (st == PK_OK)
        st = count_pending(cat, producer, &rep.pending);
    if (st == PK_OK)
        st = pk_db_commit(cat->store);
    if (st != PK_OK)
        pk_db_rollback(cat->store);
    free_pass(&p);
    if (report)
        *report = rep;
    return st;
}
