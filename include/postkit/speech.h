/*
 * speech.h — voice activity, transcripts, subtitles and word error rate.
 *
 * The VAD runs Silero VAD (model "silero-vad" from the model store) on
 * 16 kHz mono audio in 32 ms chunks and turns its speech probabilities into
 * segments with the hysteresis Silero's own tools use: speech starts where
 * the probability reaches `threshold` and ends once it has stayed below
 * `threshold - 0.15` for `min_silence` seconds; segments shorter than
 * `min_speech` are dropped and each is widened by `pad` on both sides.
 * It is streaming: samples go in as they are decoded and each segment comes
 * out as soon as it is closed, so memory does not grow with the file.
 */
#ifndef POSTKIT_SPEECH_H
#define POSTKIT_SPEECH_H

#include <stddef.h>
#include <stdint.h>
#include <postkit/catalog.h>
#include <postkit/ml.h>
#include <postkit/postkit.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PK_VAD_RATE 16000     /* the VAD and the recognisers take 16 kHz mono */
#define PK_VAD_CHUNK 512      /* samples per decision (32 ms) */

typedef struct pk_vad_options {
    float threshold;          /* speech probability that starts speech (0.5) */
    float neg_threshold;      /* below it speech may end; 0: threshold - 0.15 */
    double min_speech;        /* shorter segments are dropped, seconds (0.25) */
    double min_silence;       /* silence that ends a segment, seconds (0.1) */
    double pad;               /* added before and after each segment, seconds (0.03) */
    double max_speech;        /* longer speech is split at its longest pause, seconds; 0: no limit */
} pk_vad_options;

/* Silero's recommended values (the ones listed above). */
void pk_vad_options_init(pk_vad_options *o);

typedef struct pk_vad_segment {
    int64_t start, end;       /* samples at 16 kHz from the first sample fed: [start, end) */
} pk_vad_segment;

typedef struct pk_vad pk_vad;

/* Called once per closed segment, in time order, from the feeding thread. */
typedef void (*pk_vad_emit_fn)(void *user, const pk_vad_segment *segment);

/* A streaming detector over `model` (borrowed; opened with pk_model_open
 * "silero-vad"). PK_ERR_USAGE for options out of range. Free with
 * pk_vad_free. One thread at a time. */
pk_status pk_vad_new(pk_ctx *ctx, pk_model *model, const pk_vad_options *opts, pk_vad **out);
void pk_vad_free(pk_vad *vad);

/* Feed `n` samples (16 kHz mono float, -1..1). Every full chunk is scored
 * at once; closed segments are passed to `emit`. */
pk_status pk_vad_feed(pk_vad *vad, const float *samples, size_t n, pk_vad_emit_fn emit, void *user);
/* End of stream: scores the partial last chunk and closes an open segment. */
pk_status pk_vad_finish(pk_vad *vad, pk_vad_emit_fn emit, void *user);
/* Samples fed so far. */
int64_t pk_vad_position(const pk_vad *vad);
/* The earliest sample a segment not yet emitted may start at (segments start
 * before the chunk that triggers them by `pad`): a caller keeping audio for
 * the segments may drop everything before it. */
int64_t pk_vad_keep_from(const pk_vad *vad);

/* ---- transcripts and subtitles ------------------------------------------ */

typedef struct pk_transcript pk_transcript;

pk_status pk_transcript_new(pk_ctx *ctx, pk_transcript **out);
void pk_transcript_free(pk_transcript *t);
/* Read a transcript JSON written by `postkit transcribe -o X.json`. */
pk_status pk_transcript_load(pk_ctx *ctx, const char *path, pk_transcript **out);
size_t pk_transcript_word_count(const pk_transcript *t);

/* The transcript `postkit transcribe` stored (in the transcript store:
 * $POSTKIT_TRANSCRIPTS, else $XDG_DATA_HOME/postkit/transcripts) for the
 * content whose SHA-256 is `sha256` (lower-case hex), as the catalogue
 * takes one: its sentences and what made them. `owner` holds the strings. */
typedef struct pk_stored_transcript {
    pk_catalog_transcriber by;
    pk_catalog_sentence *sentences;
    size_t n;
    pk_transcript *owner;
} pk_stored_transcript;

/* Fill *out with the stored transcript of `sha256`; *found is 0 (and *out
 * empty) when none is stored, at the cost of one failed open. Errors:
 * PK_ERR_INPUT for a stored file that cannot be read as a transcript,
 * PK_ERR_INTERNAL (memory). Free with pk_stored_transcript_free (also after
 * an error, or when none was found). Thread-safe. */
pk_status pk_stored_transcript_find(pk_ctx *ctx, const char *sha256, pk_stored_transcript *out, int *found);
void pk_stored_transcript_free(pk_stored_transcript *s);

typedef struct pk_subtitle_options {
    int max_chars_per_line;   /* 42 */
    int max_lines;            /* 2 */
    double min_duration;      /* 5/6 s: shorter cues are held longer where the gap allows */
    double max_duration;      /* 7 s */
    double max_cps;           /* reading speed, characters per second (20) */
    double pause_break;       /* a pause this long ends a cue (0.5 s) */
    double max_gap;           /* never hold a cue across a silence this long (1.0 s): a cue reaches
                                 into it by max_gap/2 at most, or as far as min_duration needs */
    double min_gap;           /* between consecutive cues (0.08 s, two frames at 25 fps) */
} pk_subtitle_options;

void pk_subtitle_options_init(pk_subtitle_options *o);

/* ---- word error rate ------------------------------------------------------ */

typedef struct pk_wer_result {
    size_t ref_words, hyp_words;
    size_t substitutions, deletions, insertions;
    double wer;               /* (S + D + I) / ref_words; 0 when both are empty */
} pk_wer_result;

/* Word error rate of `hyp` against `ref`: both are split into words,
 * lower-cased, punctuation removed (apostrophes kept), then aligned with
 * Levenshtein distance over words. O(len(ref) * len(hyp)) time, O(len(hyp))
 * memory per row plus the backtrace. PK_ERR_INTERNAL on exhaustion. */
pk_status pk_wer(pk_ctx *ctx, const char *ref, const char *hyp, pk_wer_result *out);

#ifdef __cplusplus
}
#endif
#endif
