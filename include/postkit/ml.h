/*
 * ml.h — neural inference on the device: the model store and the runtime.
 *
 * Models are data with an identity. Each model postkit knows is listed in its
 * manifest (models/manifest.json, compiled in) with an id, a version, where it
 * comes from and the SHA-256 of the file used at run time. `postkit models
 * install` puts the files into the store ($POSTKIT_MODELS, else
 * $XDG_DATA_HOME/postkit/models, else ~/.local/share/postkit/models).
 *
 * An operation asks for a model by id (pk_model_open); it never opens weight
 * files itself. Opening reads the file once, checks its SHA-256 against the
 * manifest on those very bytes and hands them to ONNX Runtime, so the model
 * that runs is exactly the one that was verified. A missing or altered file is
 * a PK_ERR_INPUT whose message says how to install it.
 */
#ifndef POSTKIT_ML_H
#define POSTKIT_ML_H

#include <stddef.h>
#include <stdint.h>
#include <postkit/op.h>
#include <postkit/postkit.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pk_tensor_type {
    PK_TENSOR_FLOAT32,
    PK_TENSOR_INT64,
    PK_TENSOR_OTHER      /* a type postkit does not feed or read */
} pk_tensor_type;

#define PK_TENSOR_MAX_RANK 8

/* A dense, row-major tensor. As an input, `data` is the caller's and must
 * hold prod(dims) elements of `type`. As an output of pk_model_run, `data`
 * is allocated by the library; release it with pk_tensor_clear(). */
typedef struct pk_tensor {
    pk_tensor_type type;
    int rank;
    int64_t dims[PK_TENSOR_MAX_RANK];
    void *data;
} pk_tensor;

/* Number of elements (product of dims; 1 for rank 0). */
size_t pk_tensor_count(const pk_tensor *t);
/* Free an output's data and reset it. Safe on a zeroed tensor. */
void pk_tensor_clear(pk_tensor *t);

/* What a model declares about one input or output. A dimension of -1 is
 * dynamic: the first one, when dynamic, is the batch size. */
typedef struct pk_tensor_info {
    const char *name;
    pk_tensor_type type;
    int rank;
    int64_t dims[PK_TENSOR_MAX_RANK];
} pk_tensor_info;

typedef struct pk_model pk_model;

/* Open the installed model `id`: look it up in the manifest, read its file
 * from the store, verify its SHA-256 and create an inference session using
 * pk_ctx_threads(ctx) intra-op threads. Errors: PK_ERR_INPUT when the model
 * is unknown, not installed or altered (the message names the file and says
 * `postkit models install ID`) or not a model the runtime can load;
 * PK_ERR_INTERNAL when the runtime fails otherwise.
 * The caller frees *out with pk_model_free(). A model may be shared by
 * threads for pk_model_run (ONNX Runtime sessions are thread-safe). */
pk_status pk_model_open(pk_ctx *ctx, const char *id, pk_model **out);

/* Open a model file directly (tests, install-time checks). When
 * `expect_sha256` is not NULL the file's SHA-256 must equal it. `id` names
 * the model in messages and provenance; `version` may be NULL. */
pk_status pk_model_open_file(pk_ctx *ctx, const char *path, const char *id, const char *version,
                             const char *expect_sha256, pk_model **out);

/* pk_model_open, and register the model with the run for provenance. */
pk_status pk_run_open_model(pk_run *run, const char *id, pk_model **out);

void pk_model_free(pk_model *m);

const char *pk_model_id(const pk_model *m);
const char *pk_model_version(const pk_model *m);   /* "" when unknown */
const char *pk_model_sha256(const pk_model *m);    /* hex, 64 chars */
const char *pk_model_path(const pk_model *m);

size_t pk_model_input_count(const pk_model *m);
size_t pk_model_output_count(const pk_model *m);
/* Valid while the model is open. Index out of range returns NULL. */
const pk_tensor_info *pk_model_input(const pk_model *m, size_t index);
const pk_tensor_info *pk_model_output(const pk_model *m, size_t index);

/* Largest batch the model takes: 0 when its inputs' first dimension is
 * dynamic (any batch), otherwise that fixed size (usually 1). */
int64_t pk_model_max_batch(const pk_model *m);

/* Run the model. `inputs` holds one tensor per model input, in the model's
 * order; their shapes must match the declared ones (dynamic dims free).
 * `outputs` receives n_outputs tensors: the model's first n_outputs outputs
 * (pass pk_model_output_count for all). Each output's data is allocated;
 * release it with pk_tensor_clear. On error no output is left allocated.
 * Thread-safe: several threads may run one model at once. */
pk_status pk_model_run(pk_ctx *ctx, pk_model *m, const pk_tensor *inputs, size_t n_inputs,
                       pk_tensor *outputs, size_t n_outputs);

/* ---- The store -------------------------------------------------------- */

/* The store's folder (no trailing slash), as configured by the environment.
 * Returns a new allocation the caller frees, or NULL when no folder can be
 * derived (no POSTKIT_MODELS, XDG_DATA_HOME or HOME). */
char *pk_models_dir(void);

#ifdef __cplusplus
}
#endif
#endif
