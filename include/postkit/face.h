/*
 * face.h — faces in pictures: where they are, who they look like, how
 * they look.
 *
 * A pk_face_finder holds the models (asked for by id from the model store,
 * see ml.h): BlazeFace finds faces (the 256x256 "back" model over the whole
 * picture and over overlapping tiles of a finer level, merged by weighted
 * non-maximum suppression), each face is aligned by its eyes, nose and
 * mouth onto the embedding model's template, embedded (an L2-normalised
 * vector: two faces of one person have a cosine similarity of at least
 * PK_FACE_SAME_PERSON) and read for its expression.
 *
 * Threading: a finder is shared by any number of threads; each call takes
 * its own pk_ctx. By default the models run single-threaded inside a call,
 * so that parallelism comes from processing pictures side by side.
 */
#ifndef POSTKIT_FACE_H
#define POSTKIT_FACE_H

#include <stddef.h>
#include <stdint.h>
#include <postkit/ml.h>
#include <postkit/postkit.h>

#ifdef __cplusplus
extern "C" {
#endif

/* BlazeFace's six keypoints, named from the subject's side (the right eye
 * is on the left of an upright frontal face in the picture). */
enum {
    PK_FACE_RIGHT_EYE,
    PK_FACE_LEFT_EYE,
    PK_FACE_NOSE,
    PK_FACE_MOUTH,
    PK_FACE_RIGHT_EAR,
    PK_FACE_LEFT_EAR,
    PK_FACE_LANDMARKS
};

/* The expression model's classes (FER-2013 order). */
enum {
    PK_EXPR_ANGRY,
    PK_EXPR_DISGUST,
    PK_EXPR_FEAR,
    PK_EXPR_HAPPY,
    PK_EXPR_SAD,
    PK_EXPR_SURPRISE,
    PK_EXPR_NEUTRAL,
    PK_EXPRESSIONS
};

/* Name of an expression class ("happy"), or "?" out of range. Static. */
const char *pk_expression_name(int expr);

enum { PK_FACE_DIM_MAX = 1024 };

typedef struct pk_face {
    /* Box and keypoints as fractions of the picture's width and height, of
     * the picture as displayed (after its EXIF orientation). A face cut by
     * the picture's edge may reach outside 0..1. */
    double x, y, w, h;
    double landmarks[PK_FACE_LANDMARKS][2];
    double score;          /* detection confidence, 0..1 */
    double size;           /* the box's width in pixels of the picture as
                              analysed (decoded at load_size): the detail
                              the embedding had to work with */
    double sharpness;      /* variance of the Laplacian of the aligned face
                              at 64x64 (0..255 grey); low is blurred */
    int usable;            /* big, sharp and confident enough to found a
                              person (smaller ones may still join one) */
    float expressions[PK_EXPRESSIONS];  /* probabilities, sum 1 */
    int dim;               /* embedding length (0: not computed) */
    float embedding[PK_FACE_DIM_MAX];   /* L2-normalised */
} pk_face;

/* What is computed. Start from pk_face_options_init. */
typedef struct pk_face_options {
    int levels;            /* detection levels: 1 the whole picture only;
                              2 adds 2x2 tiles at 1.75 times the resolution
                              (faces down to about 3 % of the picture's
                              longest side); 3 adds 4x3 tiles at 3.25 */
    double min_score;      /* detection threshold, 0..1 */
    int load_size;         /* pictures are decoded at this longest side or
                              up to twice it, as shrink-on-load allows
                              (pk_image_options.draft); video frames over
                              twice it are resized to it (default 864) */
    int embed;             /* compute embeddings */
    int expressions;       /* run the expression model */
    int threads;           /* threads inside each model run (default 1:
                              run pictures side by side instead) */
} pk_face_options;

void pk_face_options_init(pk_face_options *o);

/* The models, and the thresholds documented in the README. */
#define PK_FACE_DETECT_MODEL "blazeface-back"
#define PK_FACE_EMBED_MODEL "faceres"
#define PK_FACE_EXPR_MODEL "emotion"
/* Cosine similarity at and above which two faces are the same person (and
 * `postkit faces --threshold`'s default, as text: keep the two equal). */
#define PK_FACE_SAME_PERSON 0.62
#define PK_FACE_SAME_PERSON_TEXT "0.62"
/* "smiling": the expression model's probability of happy at or above. */
#define PK_FACE_SMILING 0.50
/* A face founds a person only when at least this wide (pixels as
 * analysed), this sharp and this confident. */
#define PK_FACE_MIN_SIZE 40
#define PK_FACE_MIN_SHARPNESS 100.0
#define PK_FACE_MIN_SCORE_SEED 0.75

typedef struct pk_face_finder pk_face_finder;

/* Open the models (detector, and as asked the embedding and expression
 * models). Errors: PK_ERR_USAGE for options out of range; as
 * pk_model_open: PK_ERR_INPUT when a model is missing or altered, with
 * the install hint. Free with pk_face_finder_free. */
pk_status pk_face_finder_new(pk_ctx *ctx, const pk_face_options *opts, pk_face_finder **out);
void pk_face_finder_free(pk_face_finder *f);

/* The models the finder runs (for provenance): returns how many, stored
 * in models[] (borrowed, valid while the finder lives). */
size_t pk_face_finder_models(const pk_face_finder *f, const pk_model *models[4]);

/* Seconds spent per stage (wall clock of the calling thread). */
typedef struct pk_face_timing {
    double decode, detect, align, embed, expression;
    int windows;           /* detector runs */
} pk_face_timing;

/* Find the faces of the picture in `path` (any format pk_image_load reads),
 * decoded at the finder's load_size. *faces is a new allocation (free())
 * of *n faces, best first; none is not an error. *width and *height (may
 * be NULL) get the size of the picture as analysed. `timing` may be NULL
 * (otherwise it is added to). Errors: PK_ERR_INPUT for an unreadable
 * picture; PK_ERR_INTERNAL for a runtime failure. */
pk_status pk_face_find_file(pk_ctx *ctx, pk_face_finder *f, const char *path, pk_face **faces,
                            size_t *n, int *width, int *height, pk_face_timing *timing);

/* The same on packed 8-bit RGB pixels (a video frame), `stride` bytes per
 * row. PK_ERR_USAGE for an impossible geometry. */
pk_status pk_face_find_rgb(pk_ctx *ctx, pk_face_finder *f, const uint8_t *rgb, int width,
                           int height, size_t stride, pk_face **faces, size_t *n,
                           pk_face_timing *timing);

/* Cosine similarity of two L2-normalised embeddings. */
double pk_face_similarity(const float *a, const float *b, int dim);

#ifdef __cplusplus
}
#endif
#endif
