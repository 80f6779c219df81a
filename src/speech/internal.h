/*
 * internal.h — what the parts of src/speech share: words and transcripts,
 * the recognition engines' interface, subtitles, alignment and rendering.
 *
 * The flow: a pk_source delivers 16 kHz mono → the VAD (vad.c) closes speech
 * segments → each segment's samples go to an engine decoder on a worker
 * thread (pipeline.c) → words with times and confidence → sentences
 * (transcript.c) → cues (subtitles.c) or a text transcript that the user
 * edits; align.c maps the edited text back onto the words and render.c cuts
 * the media to the words kept.
 */
#ifndef POSTKIT_SPEECH_INTERNAL_H
#define POSTKIT_SPEECH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/internal.h"
#include <postkit/media.h>
#include <postkit/speech.h>

/* ---- words and transcripts (transcript.c) ------------------------------ */

typedef struct pk_word {
    char *text;          /* as the engine spelled it, UTF-8, no surrounding spaces */
    double start, end;   /* seconds on the file's timeline */
    float confidence;    /* 0..1; the engine's posterior (or token probability) */
    bool filler;         /* a hesitation (um, uh, <sil>-like tokens, the filler list) */
    int sentence;        /* index of the sentence holding it */
} pk_word;

typedef struct pk_word_list {
    pk_word *v;
    size_t n, cap;
} pk_word_list;

/* Append a copy of `text`. PK_ERR_INTERNAL on exhaustion. */
pk_status pk_words_push(pk_ctx *ctx, pk_word_list *l, const char *text, double start, double end,
                        float confidence, bool filler);
/* Move every word of `src` to the end of `dst` (src is left empty). */
pk_status pk_words_append(pk_ctx *ctx, pk_word_list *dst, pk_word_list *src);
void pk_words_clear(pk_word_list *l);

typedef struct pk_sentence {
    size_t first, count;  /* words [first, first + count) */
    double start, end;
    char *text;           /* display text: the words joined, capitalised, ending punctuation added
                             when the engine writes none */
} pk_sentence;

struct pk_transcript {
    pk_word_list words;
    pk_sentence *sentences;
    size_t n_sentences;
    pk_vad_segment *segments;   /* speech found by the VAD (empty for imports) */
    size_t n_segments;
    char *source;               /* the media file */
    char *source_sha256;        /* "" when not computed */
    double duration;            /* of the source's audio, seconds; 0 unknown */
    double time_offset;         /* where the audio starts on the file's timeline (segments are
                                   counted from there; word times include it) */
    char *engine;               /* "pocketsphinx", "whisper", "import" */
    char *model;                /* model id or file name */
    char *model_version;
    char *model_sha256;
    bool punctuated;            /* the engine writes punctuation (whisper, imports) */
};

/* Split words into sentences: at the engine's sentence punctuation, at a
 * pause of at least `pause` seconds, and after `max_words` words. Rebuilds
 * t->sentences and each word's sentence index. */
pk_status pk_transcript_build_sentences(pk_ctx *ctx, pk_transcript *t, double pause, int max_words);

/* Setters that copy their string (NULL stores ""). */
pk_status pk_transcript_set_meta(pk_ctx *ctx, pk_transcript *t, const char *source, const char *engine,
                                 const char *model, const char *model_version, const char *model_sha256);

/* Words normalised for matching: lower case, letters/digits/apostrophes
 * only ("Americans," -> "americans"). Writes at most size-1 bytes. Returns
 * the length (0: the token has no word characters, e.g. "--"). */
size_t pk_word_normalise(const char *text, char *out, size_t size);

/* Is `text` a filler word ("um", "uh", "erm", "hmm", ...) by the default
 * list or `extra` (comma-separated, may be NULL)? */
bool pk_word_is_filler(const char *text, const char *extra);

/* ---- recognition engines (engine_*.c) --------------------------------- */

typedef struct pk_asr_engine pk_asr_engine;
typedef struct pk_asr_decoder pk_asr_decoder;

/* One small interface for every recogniser. An engine holds what decoders
 * share (a loaded model); a decoder is one thread's recogniser. recognise()
 * takes 16 kHz mono float samples of one speech segment and appends words
 * whose times are seconds from the segment's first sample. */
typedef struct pk_asr_vtable {
    const char *name;
    pk_status (*decoder_new)(pk_asr_engine *e, pk_ctx *ctx, pk_asr_decoder **out);
    pk_status (*recognise)(pk_asr_decoder *d, pk_ctx *ctx, const float *pcm, size_t n,
                           pk_word_list *out);
    void (*decoder_free)(pk_asr_decoder *d);
    void (*engine_free)(pk_asr_engine *e);
} pk_asr_vtable;

/* Fields every engine starts with (engines embed this first). */
struct pk_asr_engine {
    const pk_asr_vtable *vt;
    char model[256];          /* id or file name shown in transcripts */
    char model_version[64];
    char model_sha256[65];
    double max_segment;       /* longest segment it takes, seconds (whisper: 30) */
    bool punctuated;
    bool parallel;            /* decoders may run on several threads at once */
};

typedef struct pk_asr_config {
    const char *engine;       /* "pocketsphinx", "whisper" or NULL/"auto" */
    const char *model_path;   /* --model: a file (ggml for whisper, folder for pocketsphinx) */
    int threads_per_decoder;
} pk_asr_config;

/* Open the engine the config asks for (auto: whisper when a whisper model is
 * installed or given, else pocketsphinx). PK_ERR_USAGE when whisper is asked
 * for in a build without it; PK_ERR_INPUT for a missing or bad model. */
pk_status pk_asr_open(pk_ctx *ctx, const pk_asr_config *cfg, pk_asr_engine **out);
void pk_asr_free(pk_asr_engine *e);

pk_status pk_asr_pocketsphinx_open(pk_ctx *ctx, const pk_asr_config *cfg, pk_asr_engine **out);
/* NULL model_path: the first whisper model installed in the store. */
pk_status pk_asr_whisper_open(pk_ctx *ctx, const pk_asr_config *cfg, pk_asr_engine **out);
/* Whether this build has whisper.cpp. */
bool pk_asr_whisper_available(void);
/* The id of the installed whisper model, the last of the manifest's (they
 * are listed smallest first, so the most accurate one installed); NULL when
 * none. A new allocation the caller frees. */
char *pk_asr_whisper_installed_id(pk_ctx *ctx);

/* ---- the transcription pipeline (pipeline.c) --------------------------- */

typedef struct pk_transcribe_options {
    pk_vad_options vad;
    double max_segment;       /* split longer speech; 0: the engine's limit or 30 s */
    int threads;              /* decoders in parallel; 0: the context's */
} pk_transcribe_options;

/* Open the audio of `path` as the VAD and the recognisers take it: 16 kHz
 * mono (resampled and downmixed by the source). Errors as pk_source_open. */
pk_status pk_speech_source_open(pk_ctx *ctx, const char *path, pk_source **out);

/* Decode `path`, find speech and recognise each segment with `engine`,
 * segments in parallel (one decoder per thread) when the engine allows.
 * Fills t->words (in time order), t->segments and t->duration. Memory holds
 * a few segments of audio at a time, whatever the file's length. */
pk_status pk_transcribe_media(pk_ctx *ctx, const char *path, pk_model *vad_model,
                              pk_asr_engine *engine, const pk_transcribe_options *opts,
                              pk_transcript *t);

/* ---- parameters the speech operations share (op_vad.c) ----------------- */

#define PK_SPEECH_VAD_PARAMS                                                                        \
    {.name = "threshold", .type = PK_PARAM_FLOAT, .defval = "0.5", .min = 0.01, .max = 0.99,        \
     .help = "speech probability at which speech starts (it ends below this minus 0.15)"},           \
    {.name = "min-speech", .type = PK_PARAM_FLOAT, .defval = "0.25", .min = 0, .max = 10,            \
     .unit = "s", .help = "drop speech segments shorter than this"},                                  \
    {.name = "min-silence", .type = PK_PARAM_FLOAT, .defval = "0.1", .min = 0, .max = 10,           \
     .unit = "s", .help = "silence that ends a speech segment"},                                     \
    {.name = "speech-pad", .type = PK_PARAM_FLOAT, .defval = "0.03", .min = 0, .max = 2,            \
     .unit = "s", .help = "widen each speech segment by this on both sides"}

/* The VAD options from those parameters. */
void pk_speech_vad_options(pk_run *run, pk_vad_options *o);
/* Run the VAD over the audio of `path`: *segments_out is a new JSON array
 * of {start, end} in seconds from the audio's start, *duration the audio's
 * length and *speech the seconds of speech. */
pk_status pk_speech_vad_file(pk_run *run, const char *path, pk_model *model, const pk_vad_options *o,
                             json_t **segments_out, double *duration, double *speech);
/* The subtitle options from transcribe's parameters (op_transcribe.c). */
void pk_speech_subtitle_options(pk_run *run, pk_subtitle_options *o);

/* ---- subtitles (subtitles.c) ------------------------------------------- */

typedef struct pk_cue {
    double start, end;
    char text[512];           /* lines joined by '\n' */
} pk_cue;

/* Group the words into cues following `o`. *cues is a new array. */
pk_status pk_cues_from_transcript(pk_ctx *ctx, const pk_transcript *t, const pk_subtitle_options *o,
                                  pk_cue **cues, size_t *n);
/* Write cues as SRT or WebVTT to `f`. */
void pk_cues_write_srt(FILE *f, const pk_cue *cues, size_t n);
void pk_cues_write_vtt(FILE *f, const pk_cue *cues, size_t n, const pk_transcript *t);
/* Read an SRT or WebVTT file (sniffed) into a transcript: each cue's words
 * get times spread over the cue by their length, confidence 1. */
pk_status pk_subtitles_import(pk_ctx *ctx, const char *path, pk_transcript *t);

/* ---- transcript files (transcript_io.c) -------------------------------- */

json_t *pk_transcript_to_json(const pk_transcript *t);
pk_status pk_transcript_from_json(pk_ctx *ctx, const json_t *j, const char *path, pk_transcript *t);
/* One sentence per line. */
void pk_transcript_write_txt(FILE *f, const pk_transcript *t);

/* The transcript store: where `transcribe` leaves the words of a file so
 * that `cut` finds them from the media alone (the user edits only the
 * text). Keyed by the media's SHA-256. The catalogue (issue 5) replaces
 * this folder when it lands; both functions are the seam. */
pk_status pk_transcript_store_put(pk_ctx *ctx, const pk_transcript *t);
/* *t is filled, or PK_ERR_INPUT when none is stored for `media_sha256`. */
pk_status pk_transcript_store_get(pk_ctx *ctx, const char *media_sha256, pk_transcript *t);
/* t's sentences and engine as the catalogue takes them, in view->sentences
 * (a new array) pointing into t; view->owner is left alone. */
pk_status pk_transcript_catalogue_view(pk_ctx *ctx, const pk_transcript *t, pk_stored_transcript *view);

/* ---- editing by text (align.c, render.c, exports.c) -------------------- */

typedef struct pk_range {
    double start, end;        /* seconds on the source timeline */
} pk_range;

/* Which words the edited text keeps: keep[i] for each word of t. Words are
 * matched in order (normalised), the edited text may only delete words.
 * A word that is not in the original at that place is PK_ERR_INPUT naming
 * `edited_path`, the line and the word. */
pk_status pk_align_edit(pk_ctx *ctx, const pk_transcript *t, const char *edited_path, bool *keep);

typedef struct pk_keep_options {
    double pad;               /* seconds kept around each kept word */
    bool remove_silence;
    double margin;            /* silence kept beside speech when removing it */
    double min_silence;       /* shorter pauses are not removed */
} pk_keep_options;

/* The source ranges to keep, sorted, non-overlapping, merged. */
pk_status pk_keep_ranges(pk_ctx *ctx, const pk_transcript *t, const bool *keep, double duration,
                         const pk_keep_options *o, pk_range **out, size_t *n);

#endif
