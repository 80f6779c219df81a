/*
 * catalog/internal.h — what the catalogue's files share.
 */
#ifndef POSTKIT_CATALOG_INTERNAL_H
#define POSTKIT_CATALOG_INTERNAL_H

#include "catalog/store.h"
#include "media/internal.h"
#include "media/jpeg.h"

#include <postkit/catalog.h>

struct pk_catalog {
    pk_ctx *ctx;
    pk_db *store;
    char *path;
};

/* media/probe.c: the record of `postkit probe` for one file (reused so the
 * catalogue stores exactly what probe shows). */
pk_status pk_probe_record(pk_ctx *ctx, const char *path, int verify, json_t **out);

/* schema.c */
int pk_schema_current(void);
/* The file's schema version; 0 for an empty (new) file. PK_ERR_INPUT for a
 * database that is not a catalogue. */
pk_status pk_schema_version(pk_db *s, int *version);
/* Bring the schema to `target` (<= current) in one write transaction;
 * *from (may be NULL) gets the version found. Refuses a newer schema. */
pk_status pk_schema_upgrade(pk_db *s, int target, int *from);

/* catalog.c */
/* Open the catalogue named by the op's --catalog (or the environment). */
pk_status pk_catalog_open_for_run(pk_run *run, int create, pk_catalog **out);
/* The parameter every catalogue operation takes. */
#define PK_CATALOG_PARAM                                                                    \
    {.name = "catalog", .type = PK_PARAM_STRING, .metavar = "PATH",                         \
     .help = "catalogue file (default: $POSTKIT_CATALOG, else "                              \
             "$XDG_DATA_HOME/postkit/catalog.db)"}
/* The producer id of (name, version, params), created when new. Inside a
 * write transaction or with none open. */
pk_status pk_catalog_producer(pk_catalog *cat, const char *name, const char *version,
                              const char *params, int64_t *id);
/* The same for a producer that runs models: model_id names them (several
 * joined by ','), model_sha256 their SHA-256s in the same order. */
pk_status pk_catalog_model_producer(pk_catalog *cat, const char *name, const char *version,
                                    const char *params, const char *model_id,
                                    const char *model_sha256, int64_t *id);
/* The same, for readers: never writes; *id = -1 when that producer has
 * never run (so nothing carries its results). */
pk_status pk_catalog_find_producer(pk_catalog *cat, const char *name, const char *version,
                                   const char *params, int64_t *id);
/* The current image fingerprint producer's identity. */
#define PK_IMAGE_PRINT_PRODUCER "image-print"
#define PK_IMAGE_PRINT_VERSION "2"
#define PK_IMAGE_PRINT_PARAMS "phash=dct32x32/8x8/median;dhash=9x8;grid=16x16;centre=32x32;dihedral=8;thumb=256;reduce=area,luma601"
/* Thumbnail path of a content in the cache folder (new allocation). */
char *pk_catalog_thumb_path(const char *cache_dir, const char *sha256);

/* transcripts.c: make s[0..n) (made by `by`) the transcript of asset
 * `asset_id`, replacing any earlier one. Inside the caller's write
 * transaction. */
pk_status pk_catalog_replace_transcript(pk_catalog *cat, int64_t asset_id, const pk_catalog_transcriber *by,
                                        const pk_catalog_sentence *s, size_t n);

/* imageprint.c: pHash of a 32x32 grey square (row-major). */
uint64_t pk_phash32(const float *grey32);
/* pk_image_print_file for a file whose bytes the caller has read already
 * (data, len: the whole file; NULL to let it read). A JPEG in memory takes
 * the fast path of media/jpeg.c; anything else, or a JPEG that path refuses,
 * is decoded by libvips from `path`. Same errors and threading. */
pk_status pk_image_print_data(pk_ctx *ctx, const char *path, const void *data, size_t len,
                              const char *thumb_path, pk_image_print *out);

/* fasthash.c: pk_fast_hash of a file whose whole content is data[0..len). */
void pk_fast_hash_buffer(const void *data, size_t len, char hex[17]);

/* avprint.c — fingerprints of sound and moving pictures, from one decode.
 * chroma: Chromaprint's raw fingerprint (about 8 values a second) of the
 * first PK_AV_AUDIO_SECONDS of the audio, down-mixed to mono; frames: the
 * pHash of one frame a second (the first at or after each whole second) of
 * the first PK_AV_VIDEO_SECONDS of the video. Either may be empty (no such
 * stream). Audio shorter than PK_AV_AUDIO_MIN_SECONDS is padded with
 * silence (Chromaprint gives nothing for less). */
#define PK_AV_PRINT_PRODUCER "av-print"
#define PK_AV_PRINT_VERSION "1"
#define PK_AV_PRINT_PARAMS "chromaprint=default,mono,120s,pad6s;frames=1fps,phash32,600s"
enum { PK_AV_AUDIO_SECONDS = 120, PK_AV_VIDEO_SECONDS = 600, PK_AV_AUDIO_MIN_SECONDS = 6 };
typedef struct pk_av_print {
    uint32_t *chroma;
    size_t nchroma;
    uint64_t *frames;
    size_t nframes;
} pk_av_print;
/* Errors: PK_ERR_INPUT when the file cannot be decoded at all. */
pk_status pk_av_print_file(pk_ctx *ctx, const char *path, pk_av_print *out);
void pk_av_print_free(pk_av_print *p);
/* Bit error rate (0..1) of two Chromaprint fingerprints at their best
 * alignment (shifts up to a quarter of the shorter one); 1 when they
 * overlap too little to tell. */
double pk_chroma_distance(const uint32_t *a, size_t na, const uint32_t *b, size_t nb);
/* Mean Hamming distance (0..64) of two frame-hash sequences at their best
 * alignment (shifts up to 5 s); 64 when they overlap too little. */
double pk_frames_distance(const uint64_t *a, size_t na, const uint64_t *b, size_t nb);

/* walk.c — the directory walker. */
typedef struct pk_walk_file {
    const char *path;   /* full path */
    const char *name;   /* last component */
    int64_t size, mtime_ns, device, inode;
} pk_walk_file;
typedef struct pk_walk_opts {
    const char *const *exclude; /* glob patterns (fnmatch) on names and paths */
    size_t nexclude;
    int hidden;                 /* also walk hidden files and folders */
} pk_walk_opts;
/* Called once per folder with its media-looking files (sorted by name);
 * `folder` has no trailing slash. A non-zero return stops the walk. */
typedef int (*pk_walk_fn)(void *user, const char *folder, const pk_walk_file *files, size_t n);
/* Walk `root` (a folder): symbolic links to folders are not followed (so no
 * loop), a folder reached twice (bind mounts) is walked once, hidden and
 * system folders are skipped unless opts->hidden. Unreadable subfolders are
 * logged as warnings and skipped. Errors: PK_ERR_INPUT when root is not a
 * readable folder; PK_ERR_INTERRUPTED. */
pk_status pk_walk(pk_ctx *ctx, const char *root, const pk_walk_opts *opts, pk_walk_fn fn, void *user);
/* Is this file name one the catalogue indexes (by extension)? */
int pk_walk_is_media_name(const char *name);
/* Is it a photo's extension (including camera RAW)? */
int pk_walk_is_photo_name(const char *name);

/* fasthash.c: xxHash3-64 over the first and last 64 KiB and the size, as
 * 16 hex digits. Detects changes and finds moved files without reading the
 * whole file. */
pk_status pk_fast_hash(pk_ctx *ctx, const char *path, char hex[17]);

/* assetmeta.c: the searchable facts of a probe record. Strings point into
 * the record (valid while it lives); absent numbers are 0 / NaN. */
typedef struct pk_asset_meta {
    const char *type;      /* photo | video | audio | other */
    const char *format;    /* jpeg, raw, mov,mp4,m4a,3gp,3g2,mj2, ... */
    const char *codec;     /* first video (else audio) stream's codec */
    const char *captured;  /* ISO 8601 */
    const char *make, *model, *serial, *lens;
    const char *title, *artist;
    int64_t width, height, bit_rate, sample_rate, channels, bands;
    double duration, lat, lon;
} pk_asset_meta;
void pk_asset_meta_from_probe(const json_t *rec, pk_asset_meta *m);
/* The full-text columns of one location (enum pk_fts_column): its file
 * name, folder, the asset's type as stored, and the facts of `m`. text[c]
 * is a new allocation or NULL (nothing to say). Returns 0, or -1 when
 * memory ran out (nothing to free then). */
typedef struct pk_fts_doc {
    char *text[PK_FTS_COLUMNS];
} pk_fts_doc;
int pk_fts_doc_make(pk_fts_doc *d, const char *name, const char *folder, const char *type,
                    const pk_asset_meta *m);
void pk_fts_doc_free(pk_fts_doc *d);

/* Numbers as full-text words, so that a filter such as width:>=3840 narrows
 * the full-text matches before any row is read. A value of kind 'w'
 * (width), 'h' (height) or 't' (duration; counted in tenths of a second) is
 * the word of its number of digits ("w4": 1000-9999) and the words of each
 * prefix of its digits ("w4x3", "w4x38", "w4x384", "w4x3840"); values of
 * 10^9 units and more are one word ("w10"). pk_measure_words writes a
 * value's words into out[0..PK_MEASURE_WORDS) and returns how many (0 for a
 * value that has none: not positive, not a number). */
enum { PK_MEASURE_WORDS = 10 };
typedef char pk_measure_word[16];
int pk_measure_words(char kind, double v, pk_measure_word *out);
/* The fewest words whose values together are those passing "value op num"
 * (op one of >=, >, <=, <, =), into out[0..max); returns how many, 0 when
 * no value can pass, -1 when more than `max` would be needed (a one-sided
 * comparison needs at most 91). *exact is 1 when every value with one of
 * those words passes (widths and heights); 0 when some values of the edge
 * unit (a tenth of a second of a duration, or the one word of huge values)
 * may not and each candidate must still be checked. */
int pk_measure_cover(char kind, const char *op, double num, pk_measure_word *out, int max, int *exact);

/* Store the full text of location `id` (see pk_fts_doc_make). */
pk_status pk_catalog_fts_set(pk_db *s, int64_t id, const char *name, const char *folder, const char *type,
                             const pk_asset_meta *m);

#endif
