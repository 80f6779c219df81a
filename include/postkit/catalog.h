/*
 * catalog.h — the catalogue: one local file that knows every photo, video and
 * song on the user's drives (content identity, locations, metadata,
 * fingerprints), plus the building blocks of its duplicate finder.
 *
 * The operations `index`, `search`, `dupes`, `xmp` and `catalog info` (see
 * `postkit --help`) are the usual way in; this header is for programs that
 * want the pieces: where the catalogue is, opening it, image fingerprints and
 * the Hamming-distance index.
 */
#ifndef POSTKIT_CATALOG_H
#define POSTKIT_CATALOG_H

#include <stddef.h>
#include <stdint.h>
#include <postkit/postkit.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where the catalogue lives: `explicit_path` when not NULL, else
 * $POSTKIT_CATALOG, else $XDG_DATA_HOME/postkit/catalog.db, else
 * $HOME/.local/share/postkit/catalog.db. The caller frees *out. */
pk_status pk_catalog_path(pk_ctx *ctx, const char *explicit_path, char **out);

/* The folder for thumbnails: $XDG_CACHE_HOME/postkit, else
 * $HOME/.cache/postkit (never next to the user's files). Not created here.
 * The caller frees *out. */
pk_status pk_catalog_cache_dir(pk_ctx *ctx, char **out);

typedef struct pk_catalog pk_catalog;

/* Open (with `create`, create when absent) the catalogue at `path` and bring
 * an older schema up to date in one transaction. Errors: PK_ERR_INPUT for a
 * missing file (without create), a file that is not a catalogue, a damaged
 * one or one of a newer schema than this library knows; PK_ERR_OUTPUT when it
 * cannot be created. The caller closes *out with pk_catalog_close(). The
 * catalogue reports errors through `ctx`, which must outlive it. One thread
 * at a time; any number of processes. */
pk_status pk_catalog_open(pk_ctx *ctx, const char *path, int create, pk_catalog **out);
void pk_catalog_close(pk_catalog *cat);

/* Schema version this library writes. */
int pk_catalog_schema_version(void);

/* ---- transcripts --------------------------------------------------------- */

/* One sentence of a transcript: its time on the file's timeline, seconds,
 * and its text (UTF-8). */
typedef struct pk_catalog_sentence {
    double start, end;
    const char *text;
} pk_catalog_sentence;

/* What made a transcript: engine ("pocketsphinx", "whisper", "import"),
 * model id, version and SHA-256 (any may be "" or NULL). */
typedef struct pk_catalog_transcriber {
    const char *engine, *model, *model_version, *model_sha256;
} pk_catalog_transcriber;

/* Make sentences s[0..n) the transcript of the content whose SHA-256 is
 * `content_sha256` (lower-case hex), replacing any earlier one, so that
 * `postkit search` finds its words. *catalogued is 0 (and nothing is
 * written) when that content is not in the catalogue. One write
 * transaction. Errors: PK_ERR_INTERNAL (the catalogue could not be written). */
pk_status pk_catalog_put_transcript(pk_catalog *cat, const char *content_sha256,
                                    const pk_catalog_transcriber *by, const pk_catalog_sentence *s,
                                    size_t n, int *catalogued);

/* ---- image fingerprints ------------------------------------------------ */

enum { PK_PRINT_GRID = 16, PK_PRINT_CENTRE = 32 };

/* What the duplicate finder knows of a picture, all computed from the image
 * as displayed (after its EXIF orientation):
 *  - phash: 64-bit DCT perceptual hash (32x32 grey, 8x8 low frequencies,
 *    each bit: coefficient above the median);
 *  - dhash: 64-bit gradient hash (9x8 grey, each bit: brighter than the
 *    right neighbour);
 *  - grid: 16x16 grey thumbnail for a structural correlation check that
 *    tells a resized copy (r > 0.9) from a look-alike (a burst frame, the
 *    same scene from a step aside);
 *  - centre: 32x32 grey of the central square, undistorted, from which
 *    pk_centre_hash derives hashes of the picture turned by any angle (for
 *    copies rotated by a few degrees and cropped, with --rotations).
 * phash[t] and dhash[t] are the hashes of the picture transformed by t
 * (0 as is, 1 rotated 90° clockwise, 2 180°, 3 270°, 4 mirrored left-right,
 * 5 mirrored then 90°, 6 mirrored then 180°, 7 mirrored then 270°). */
typedef struct pk_image_print {
    uint64_t phash[8];
    uint64_t dhash[8];
    uint8_t grid[PK_PRINT_GRID * PK_PRINT_GRID];
    uint8_t centre[PK_PRINT_CENTRE * PK_PRINT_CENTRE];
    int width, height;   /* of the picture as displayed */
} pk_image_print;

/* Fingerprint the picture in `path` (any format libvips reads; camera RAW
 * through its embedded preview). With `thumb_path`, also write a JPEG
 * thumbnail (longest side 256) there. Errors: PK_ERR_INPUT for an unreadable
 * or corrupt picture, PK_ERR_OUTPUT when the thumbnail cannot be written.
 * Thread-safe. */
pk_status pk_image_print_file(pk_ctx *ctx, const char *path, const char *thumb_path,
                              pk_image_print *out);

/* pHash of the disc at the middle of `centre` (diameter 1/sqrt(2) of the
 * side, so it stays inside the picture at any angle) turned by `degrees`
 * and then transformed by t (as above). Two pictures one of which is the
 * other turned by d degrees have close hashes at angle d (or -d). */
uint64_t pk_centre_hash(const uint8_t *centre, double degrees, int t);

/* Hamming distance of two 64-bit hashes. */
int pk_hamming(uint64_t a, uint64_t b);

/* Pearson correlation (-1..1) of grid `a` with grid `b` seen through the
 * transform t of pk_image_print. */
double pk_grid_correlation(const uint8_t *a, const uint8_t *b, int t);

/* ---- Hamming-distance index -------------------------------------------- */

/* Multi-index hashing: each 64-bit hash is split into four 16-bit parts, and
 * each part keyed in its own table. Two hashes within distance r agree within
 * floor(r/4) bits on at least one part, so a query looks up only the few
 * buckets near each of its parts instead of scanning every hash. */
typedef struct pk_hash_index pk_hash_index;

/* Build an index over hashes[0..n). The index keeps its own copy. Errors:
 * PK_ERR_INTERNAL on exhausted memory. Free with pk_hash_index_free(). */
pk_status pk_hash_index_build(pk_ctx *ctx, const uint64_t *hashes, size_t n, pk_hash_index **out);
void pk_hash_index_free(pk_hash_index *ix);

/* Positions (indices into the hashes given at build) of every hash within
 * Hamming distance `radius` (0..31) of `q`, each reported once, in no
 * particular order. Stores at most `max` of them in ids and returns how many
 * there are. Read-only: several threads may query one index. */
size_t pk_hash_index_query(const pk_hash_index *ix, uint64_t q, int radius, uint32_t *ids,
                           size_t max);

#ifdef __cplusplus
}
#endif
#endif
