/*
 * catalog/people.h — faces and people in the catalogue: the face producer,
 * incremental clustering, and what the `faces` and `people` operations
 * share.
 *
 * Faces are results of one producer: the pipeline's version and the exact
 * models (ids and SHA-256s). People live in one producer's embedding space.
 * Everything that reads faces (people, search) uses the catalogue's current
 * face producer — the one the latest `postkit faces` run used — so results
 * of different models never mix.
 */
#ifndef POSTKIT_CATALOG_PEOPLE_H
#define POSTKIT_CATALOG_PEOPLE_H

#include "catalog/internal.h"

#include <postkit/face.h>

#define PK_FACES_PRODUCER "faces"
#define PK_FACES_VERSION "1"

/* Clustering defaults (README: thresholds). */
#define PK_PEOPLE_MIN_FACES 2
/* At most this many faces waiting for a person are reconsidered in one
 * clustering pass (the most recent); the others wait for a later pass. */
enum { PK_PEOPLE_MAX_NODES = 3000 };

/* The producer row of `finder`'s pipeline and models, created when new. */
pk_status pk_faces_producer(pk_catalog *cat, const pk_face_finder *finder, int64_t *id);

/* The current face producer (meta 'faces_producer'); -1 when no faces run
 * happened yet. */
pk_status pk_faces_current(pk_catalog *cat, int64_t *id);
pk_status pk_faces_set_current(pk_catalog *cat, int64_t id);

/* When the catalogue holds faces of another producer than `current` (an
 * older model, since replaced), log a warning saying how many and how to
 * redo them. `current` -1: the catalogue's current one. */
pk_status pk_faces_warn_stale(pk_catalog *cat, int64_t current);

typedef struct pk_cluster_report {
    int64_t joined;        /* faces that joined an existing person */
    int64_t new_people;    /* people created */
    int64_t seeded;        /* faces in the people created */
    int64_t pending;       /* faces left waiting (no person yet) */
} pk_cluster_report;

/* Group the faces of `producer` that have no person yet: they join the
 * people that exist, or found new ones (average linkage over cosine
 * similarity at `threshold`, new people of at least `min_faces` usable
 * faces; unusable faces only join). Existing people are never merged with
 * each other, faces the user placed never move. Runs in one write
 * transaction. */
pk_status pk_people_cluster(pk_catalog *cat, int64_t producer, double threshold, int min_faces,
                            pk_cluster_report *report);

/* Recompute a person's face count, embedding sum and cover face from its
 * faces (after faces were moved or forgotten). A person left with no face
 * is deleted. Inside a write transaction. */
pk_status pk_person_refresh(pk_catalog *cat, int64_t person);

/* The person named by `text` in `producer`: a number is an id, anything
 * else a name (case-insensitive). PK_ERR_USAGE when there is no such
 * person or the name is ambiguous. */
pk_status pk_person_find(pk_catalog *cat, int64_t producer, const char *text, int64_t *id);

/* Open the catalogue for a `people` operation and find the current face
 * producer; PK_ERR_USAGE when `postkit faces` never ran. */
pk_status pk_people_open(pk_run *run, pk_catalog **cat, int64_t *producer);

/* faces_video.c: the faces of a video, one frame every `every` seconds
 * (the first frame, then the first at or after each step), turned upright
 * by the stream's rotation. *faces and *times (the frame time of each
 * face, seconds) are new allocations of *n. *frames counts the frames
 * looked at, *max_per_frame the most faces in one of them; *width and
 * *height are the frames' upright size. Errors as pk_source_open and the
 * face finder. */
pk_status pk_faces_in_video(pk_ctx *ctx, pk_face_finder *f, const char *path, double every,
                            pk_face **faces, double **times, size_t *n, int *frames,
                            int *max_per_frame, int *width, int *height, pk_face_timing *timing);

/* The path of a face's thumbnail (a 160-pixel JPEG of the face with some
 * room around it) in the cache folder, made when missing from a present
 * copy of its picture. *out is a new allocation; NULL (with PK_OK) when no
 * copy of the picture is reachable or it is a video frame. */
pk_status pk_face_thumbnail(pk_catalog *cat, int64_t face, char **out);
/* Where that thumbnail is or would be, without making it (for deleting
 * it); *out NULL when the face is unknown. */
pk_status pk_face_thumbnail_path(pk_catalog *cat, int64_t face, char **out);

/* Embeddings as stored: float32 in the machine's byte order. */
size_t pk_embedding_dim(size_t blob_bytes);

#endif
