/*
 * ort.c — ONNX Runtime through its C API: load a verified model once, describe
 * its inputs and outputs, run it on float32/int64 tensors.
 *
 * The model file is read into memory once; its SHA-256 is computed on those
 * bytes and the same bytes are handed to ONNX Runtime, so no other file can
 * slip in between verification and use. Every OrtStatus becomes a pk_status
 * with a one-line message naming the model file. ONNX Runtime's own logging
 * is discarded: its errors reach us through those statuses.
 *
 * Threads: each session gets pk_ctx_threads() intra-op threads (the calling
 * thread counts as one) and no spinning, so idle workers do not steal the
 * cores postkit's other stages use. Sessions are thread-safe for Run.
 */
#include "ml/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <onnxruntime_c_api.h>
#include <openssl/evp.h>

struct pk_model {
    const OrtApi *api;
    OrtEnv *env;
    OrtSession *session;
    OrtMemoryInfo *cpu;
    char *id;
    char *version;
    char *path;
    char sha256[65];
    size_t n_in, n_out;
    pk_tensor_info *in, *out;
    const char **in_names, **out_names;
};

size_t pk_tensor_count(const pk_tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= (size_t)(t->dims[i] > 0 ? t->dims[i] : 0);
    return n;
}

void pk_tensor_clear(pk_tensor *t)
{
    if (!t)
        return;
    free(t->data);
    memset(t, 0, sizeof *t);
}

/* Convert a failed OrtStatus (released here) into the context's message.
 * A file that is no valid model, or needs an operator this runtime lacks, is
 * an input error; everything else is the runtime's (internal). */
static pk_status ort_fail(pk_ctx *ctx, const pk_model *m, OrtStatus *status, const char *what)
{
    const char *msg = m->api->GetErrorMessage(status);
    OrtErrorCode code = m->api->GetErrorCode(status);
    bool bad_file = code == ORT_NO_SUCHFILE || code == ORT_NO_MODEL || code == ORT_INVALID_PROTOBUF ||
                    code == ORT_INVALID_GRAPH || code == ORT_NOT_IMPLEMENTED;
    pk_status st = pk_fail(ctx, bad_file ? PK_ERR_INPUT : PK_ERR_INTERNAL, m->path, "model '%s': %s: %s",
                           m->id, what, msg && *msg ? msg : "ONNX Runtime error");
    m->api->ReleaseStatus(status);
    return st;
}

#define ORT_TRY(expr, what)                                   \
    do {                                                      \
        OrtStatus *ort_status_ = (expr);                      \
        if (ort_status_)                                      \
            return ort_fail(ctx, m, ort_status_, (what));     \
    } while (0)

/* ONNX Runtime's environment is a process-wide singleton inside the library
 * (CreateEnv hands out references to one instance); its log goes nowhere. */
static void discard_log(void *param, OrtLoggingLevel severity, const char *category,
                        const char *logid, const char *code_location, const char *message)
{
    (void)param, (void)severity, (void)category, (void)logid, (void)code_location, (void)message;
}

static pk_tensor_type map_type(ONNXTensorElementDataType t)
{
    switch (t) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: return PK_TENSOR_FLOAT32;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: return PK_TENSOR_INT64;
    default: return PK_TENSOR_OTHER;
    }
}

static const char *type_name(pk_tensor_type t)
{
    return t == PK_TENSOR_FLOAT32 ? "float32" : t == PK_TENSOR_INT64 ? "int64" : "other";
}

/* Fill `info` from a type description of an input or output. */
static pk_status describe(pk_ctx *ctx, pk_model *m, OrtTypeInfo *type, pk_tensor_info *info)
{
    const OrtTensorTypeAndShapeInfo *shape = NULL;
    ONNXType kind;
    ORT_TRY(m->api->GetOnnxTypeFromTypeInfo(type, &kind), "reading a type");
    if (kind != ONNX_TYPE_TENSOR) {
        info->type = PK_TENSOR_OTHER;
        return PK_OK;
    }
    ORT_TRY(m->api->CastTypeInfoToTensorInfo(type, &shape), "reading a tensor type");
    ONNXTensorElementDataType et;
    size_t rank;
    ORT_TRY(m->api->GetTensorElementType(shape, &et), "reading an element type");
    ORT_TRY(m->api->GetDimensionsCount(shape, &rank), "reading a rank");
    if (rank > PK_TENSOR_MAX_RANK)
        return pk_fail(ctx, PK_ERR_INPUT, m->path, "model '%s': a tensor of rank %zu is not supported",
                       m->id, rank);
    info->type = map_type(et);
    info->rank = (int)rank;
    ORT_TRY(m->api->GetDimensions(shape, info->dims, rank), "reading dimensions");
    return PK_OK;
}

/* Names and shapes of every input and output, kept for the model's life. */
static pk_status describe_all(pk_ctx *ctx, pk_model *m)
{
    OrtAllocator *alloc;
    ORT_TRY(m->api->GetAllocatorWithDefaultOptions(&alloc), "getting an allocator");
    ORT_TRY(m->api->SessionGetInputCount(m->session, &m->n_in), "counting inputs");
    ORT_TRY(m->api->SessionGetOutputCount(m->session, &m->n_out), "counting outputs");
    m->in = calloc(m->n_in + 1, sizeof *m->in);
    m->out = calloc(m->n_out + 1, sizeof *m->out);
    m->in_names = calloc(m->n_in + 1, sizeof *m->in_names);
    m->out_names = calloc(m->n_out + 1, sizeof *m->out_names);
    if (!m->in || !m->out || !m->in_names || !m->out_names)
        return pk_fail(ctx, PK_ERR_INTERNAL, m->path, "out of memory");
    for (int side = 0; side < 2; side++) {
        size_t n = side ? m->n_out : m->n_in;
        pk_tensor_info *infos = side ? m->out : m->in;
        for (size_t i = 0; i < n; i++) {
            char *name = NULL;
            OrtTypeInfo *type = NULL;
            OrtStatus *s = side ? m->api->SessionGetOutputName(m->session, i, alloc, &name)
                                : m->api->SessionGetInputName(m->session, i, alloc, &name);
            if (s)
                return ort_fail(ctx, m, s, "reading a name");
            infos[i].name = strdup(name);
            OrtStatus *freed = m->api->AllocatorFree(alloc, name);
            if (freed)
                m->api->ReleaseStatus(freed);
            if (!infos[i].name)
                return pk_fail(ctx, PK_ERR_INTERNAL, m->path, "out of memory");
            s = side ? m->api->SessionGetOutputTypeInfo(m->session, i, &type)
                     : m->api->SessionGetInputTypeInfo(m->session, i, &type);
            if (s)
                return ort_fail(ctx, m, s, "reading a type");
            pk_status st = describe(ctx, m, type, &infos[i]);
            m->api->ReleaseTypeInfo(type);
            if (st != PK_OK)
                return st;
            (side ? m->out_names : m->in_names)[i] = infos[i].name;
        }
    }
    return PK_OK;
}

static pk_status create_session(pk_ctx *ctx, pk_model *m, const void *bytes, size_t len)
{
    const OrtApiBase *base;
    pk_status loaded = pk_ort_api_base(ctx, &base);
    if (loaded != PK_OK)
        return loaded;
    m->api = base->GetApi(ORT_API_VERSION);
    if (!m->api)
        return pk_fail(ctx, PK_ERR_INTERNAL, m->path,
                       "the ONNX Runtime library does not provide API version %d (built against "
                       "another version?)", ORT_API_VERSION);
    ORT_TRY(m->api->CreateEnvWithCustomLogger(discard_log, NULL, ORT_LOGGING_LEVEL_ERROR, "postkit",
                                              &m->env),
            "creating the runtime environment");
    ORT_TRY(m->api->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &m->cpu),
            "describing CPU memory");
    OrtSessionOptions *opts;
    ORT_TRY(m->api->CreateSessionOptions(&opts), "creating session options");
    OrtStatus *s = m->api->SetIntraOpNumThreads(opts, pk_ctx_threads(ctx));
    if (!s)
        s = m->api->SetInterOpNumThreads(opts, 1);
    if (!s)
        s = m->api->SetSessionGraphOptimizationLevel(opts, ORT_ENABLE_ALL);
    if (!s)
        s = m->api->AddSessionConfigEntry(opts, "session.intra_op.allow_spinning", "0");
    /* No memory pattern: it plans one block per input shape and keeps
     * every plan, so a model with open height and width (the face
     * detector, whose window follows each photo's aspect) holds a block
     * per shape seen; the arena alone reuses its chunks at the same CPU
     * cost (a 12 MP faces run: peak memory -70 MB, CPU unchanged). */
    if (!s)
        s = m->api->DisableMemPattern(opts);
    if (!s)
        s = m->api->CreateSessionFromArray(m->env, bytes, len, opts, &m->session);
    m->api->ReleaseSessionOptions(opts);
    if (s)
        return ort_fail(ctx, m, s, "cannot load");
    return describe_all(ctx, m);
}

/* Read a whole file (models are a few MB; reading it once serves both the
 * hash and the runtime). *out is a new allocation. */
static pk_status read_file(pk_ctx *ctx, const char *path, unsigned char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pk_fail(ctx, PK_ERR_INPUT, path, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return pk_fail(ctx, PK_ERR_INPUT, path, "not a regular file");
    }
    size_t size = (size_t)st.st_size;
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf) {
        close(fd);
        return pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory (%zu bytes)", size);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            free(buf);
            close(fd);
            return pk_fail(ctx, PK_ERR_INPUT, path, "read error: %s", strerror(e));
        }
        got += (size_t)n;
    }
    close(fd);
    *out = buf;
    *len = size;
    return PK_OK;
}

static void sha256_hex(const unsigned char *data, size_t len, char hex[65])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    EVP_Digest(data, len, digest, &dlen, EVP_sha256(), NULL);
    for (unsigned i = 0; i < dlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}

pk_status pk_model_read_file(pk_ctx *ctx, const char *path, const char *id, const char *expect_sha256,
                             pk_model_bytes *out)
{
    memset(out, 0, sizeof *out);
    unsigned char *bytes = NULL;
    size_t len = 0;
    pk_status st = read_file(ctx, path, &bytes, &len);
    if (st != PK_OK)
        return st;
    sha256_hex(bytes, len, out->sha256);
    if (expect_sha256 && strcmp(out->sha256, expect_sha256) != 0) {
        free(bytes);
        return pk_fail(ctx, PK_ERR_INPUT, path,
                       "model '%s' is altered or corrupt: SHA-256 %.12s… instead of %.12s… (%s %s)", id,
                       out->sha256, expect_sha256, PK_INSTALL_HINT, id);
    }
    if (!(out->path = strdup(path))) {
        free(bytes);
        return pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
    }
    out->data = bytes;
    out->size = len;
    return PK_OK;
}

void pk_model_bytes_clear(pk_model_bytes *b)
{
    free(b->data);
    free(b->path);
    free(b->version);
    memset(b, 0, sizeof *b);
}

pk_status pk_model_open_file(pk_ctx *ctx, const char *path, const char *id, const char *version,
                             const char *expect_sha256, pk_model **out)
{
    *out = NULL;
    pk_model *m = calloc(1, sizeof *m);
    if (!m || !(m->id = strdup(id)) || !(m->version = strdup(version ? version : "")) ||
        !(m->path = strdup(path))) {
        pk_model_free(m);
        return pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
    }
    unsigned char *bytes = NULL;
    size_t len = 0;
    pk_status st = read_file(ctx, path, &bytes, &len);
    if (st != PK_OK) {
        pk_model_free(m);
        return st;
    }
    sha256_hex(bytes, len, m->sha256);
    if (expect_sha256 && strcmp(m->sha256, expect_sha256) != 0) {
        st = pk_fail(ctx, PK_ERR_INPUT, path,
                     "model '%s' is altered or corrupt: SHA-256 %.12s… instead of %.12s… (%s %s)",
                     id, m->sha256, expect_sha256, PK_INSTALL_HINT, id);
    } else {
        st = create_session(ctx, m, bytes, len);
    }
    free(bytes);
    if (st != PK_OK) {
        pk_model_free(m);
        return st;
    }
    *out = m;
    return PK_OK;
}

void pk_model_free(pk_model *m)
{
    if (!m)
        return;
    if (m->api) {
        if (m->session)
            m->api->ReleaseSession(m->session);
        if (m->cpu)
            m->api->ReleaseMemoryInfo(m->cpu);
        if (m->env)
            m->api->ReleaseEnv(m->env);
    }
    for (size_t i = 0; m->in && i < m->n_in; i++)
        free((char *)m->in[i].name);
    for (size_t i = 0; m->out && i < m->n_out; i++)
        free((char *)m->out[i].name);
    free(m->in);
    free(m->out);
    free(m->in_names);
    free(m->out_names);
    free(m->id);
    free(m->version);
    free(m->path);
    free(m);
}

const char *pk_model_id(const pk_model *m) { return m->id; }
const char *pk_model_version(const pk_model *m) { return m->version; }
const char *pk_model_sha256(const pk_model *m) { return m->sha256; }
const char *pk_model_path(const pk_model *m) { return m->path; }
size_t pk_model_input_count(const pk_model *m) { return m->n_in; }
size_t pk_model_output_count(const pk_model *m) { return m->n_out; }

const pk_tensor_info *pk_model_input(const pk_model *m, size_t i)
{
    return i < m->n_in ? &m->in[i] : NULL;
}

const pk_tensor_info *pk_model_output(const pk_model *m, size_t i)
{
    return i < m->n_out ? &m->out[i] : NULL;
}

int64_t pk_model_max_batch(const pk_model *m)
{
    int64_t fixed = 0;
    for (size_t i = 0; i < m->n_in; i++) {
        if (m->in[i].rank == 0)
            continue;
        if (m->in[i].dims[0] > 0 && (fixed == 0 || m->in[i].dims[0] < fixed))
            fixed = m->in[i].dims[0];
    }
    return fixed;
}

static void format_dims(const int64_t *dims, int rank, char *buf, size_t size)
{
    int n = snprintf(buf, size, "[");
    for (int i = 0; i < rank && n > 0 && (size_t)n < size; i++)
        n += snprintf(buf + n, size - (size_t)n, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (n > 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, "]");
}

/* The caller's tensor must fit the declared input: same type and rank, and
 * every fixed dimension equal. */
static pk_status check_input(pk_ctx *ctx, const pk_model *m, size_t i, const pk_tensor *t)
{
    const pk_tensor_info *want = &m->in[i];
    bool ok = t->type == want->type && t->rank == want->rank && want->type != PK_TENSOR_OTHER &&
              (t->data || pk_tensor_count(t) == 0);
    for (int d = 0; ok && d < t->rank; d++)
        ok = t->dims[d] >= 0 && (want->dims[d] < 0 || want->dims[d] == t->dims[d]);
    if (ok)
        return PK_OK;
    char a[128], b[128];
    format_dims(want->dims, want->rank, a, sizeof a);
    format_dims(t->dims, t->rank, b, sizeof b);
    return pk_fail(ctx, PK_ERR_INTERNAL, m->path, "model '%s': input '%s' takes %s %s, was given %s %s",
                   m->id, want->name, type_name(want->type), a, type_name(t->type), b);
}

/* Copy one output value into a pk_tensor the caller owns. */
static pk_status take_output(pk_ctx *ctx, pk_model *m, size_t i, OrtValue *v, pk_tensor *t)
{
    OrtTensorTypeAndShapeInfo *shape;
    ORT_TRY(m->api->GetTensorTypeAndShape(v, &shape), "reading an output's shape");
    ONNXTensorElementDataType et;
    size_t rank = 0;
    OrtStatus *s = m->api->GetTensorElementType(shape, &et);
    if (!s)
        s = m->api->GetDimensionsCount(shape, &rank);
    if (!s && rank <= PK_TENSOR_MAX_RANK)
        s = m->api->GetDimensions(shape, t->dims, rank);
    m->api->ReleaseTensorTypeAndShapeInfo(shape);
    if (s)
        return ort_fail(ctx, m, s, "reading an output's shape");
    t->type = map_type(et);
    t->rank = (int)rank;
    if (rank > PK_TENSOR_MAX_RANK || t->type == PK_TENSOR_OTHER)
        return pk_fail(ctx, PK_ERR_INTERNAL, m->path, "model '%s': output '%s' has an unsupported type",
                       m->id, m->out[i].name);
    size_t bytes = pk_tensor_count(t) * (t->type == PK_TENSOR_FLOAT32 ? sizeof(float) : sizeof(int64_t));
    void *src;
    ORT_TRY(m->api->GetTensorMutableData(v, &src), "reading an output");
    t->data = malloc(bytes ? bytes : 1);
    if (!t->data)
        return pk_fail(ctx, PK_ERR_INTERNAL, m->path, "out of memory");
    memcpy(t->data, src, bytes);
    return PK_OK;
}

pk_status pk_model_run(pk_ctx *ctx, pk_model *m, const pk_tensor *inputs, size_t n_inputs,
                       pk_tensor *outputs, size_t n_outputs)
{
    if (n_inputs != m->n_in || n_outputs > m->n_out)
        return pk_fail(ctx, PK_ERR_INTERNAL, m->path,
                       "model '%s' takes %zu inputs and gives %zu outputs (asked: %zu, %zu)", m->id,
                       m->n_in, m->n_out, n_inputs, n_outputs);
    for (size_t i = 0; i < n_outputs; i++)
        memset(&outputs[i], 0, sizeof outputs[i]);
    for (size_t i = 0; i < n_inputs; i++) {
        pk_status st = check_input(ctx, m, i, &inputs[i]);
        if (st != PK_OK)
            return st;
    }
    OrtValue **in = calloc(n_inputs + 1, sizeof *in);
    OrtValue **out = calloc(n_outputs + 1, sizeof *out);
    pk_status st = in && out ? PK_OK : pk_fail(ctx, PK_ERR_INTERNAL, m->path, "out of memory");
    for (size_t i = 0; st == PK_OK && i < n_inputs; i++) {
        const pk_tensor *t = &inputs[i];
        size_t esize = t->type == PK_TENSOR_FLOAT32 ? sizeof(float) : sizeof(int64_t);
        OrtStatus *s = m->api->CreateTensorWithDataAsOrtValue(
            m->cpu, t->data, pk_tensor_count(t) * esize, t->dims, (size_t)t->rank,
            t->type == PK_TENSOR_FLOAT32 ? ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT
                                         : ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64,
            &in[i]);
        if (s)
            st = ort_fail(ctx, m, s, "wrapping an input");
    }
    if (st == PK_OK && n_outputs > 0) {
        OrtStatus *s = m->api->Run(m->session, NULL, m->in_names, (const OrtValue *const *)in, n_inputs,
                                   m->out_names, n_outputs, out);
        if (s)
            st = ort_fail(ctx, m, s, "inference failed");
    }
    for (size_t i = 0; st == PK_OK && i < n_outputs; i++)
        st = take_output(ctx, m, i, out[i], &outputs[i]);
    for (size_t i = 0; in && i < n_inputs; i++)
        if (in[i])
            m->api->ReleaseValue(in[i]);
    for (size_t i = 0; out && i < n_outputs; i++)
        if (out[i])
            m->api->ReleaseValue(out[i]);
    free(in);
    free(out);
    if (st != PK_OK)
        for (size_t i = 0; i < n_outputs; i++)
            pk_tensor_clear(&outputs[i]);
    return st;
}

void pk_ml_pattern(float *data, size_t count)
{
    for (size_t i = 0; i < count; i++)
        data[i] = (float)((double)((i * 7919) % 1000) / 1000.0);
}

double pk_ml_relative_error(const float *got, const float *want, size_t count)
{
    double max_diff = 0, max_ref = 0;
    for (size_t i = 0; i < count; i++) {
        double d = (double)got[i] - (double)want[i];
        if (d < 0)
            d = -d;
        double r = want[i] < 0 ? -(double)want[i] : (double)want[i];
        if (d > max_diff || d != d)
            max_diff = d != d ? 1e300 : d;
        if (r > max_ref)
            max_ref = r;
    }
    if (max_ref == 0)
        return max_diff == 0 ? 0 : 1e300;
    return max_diff / max_ref;
}
