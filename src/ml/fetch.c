/*
 * fetch.c — getting model files onto the machine: digests, running the npm
 * client and other tools, and resumable, verified URL downloads (libcurl).
 */
#include "ml/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

static const EVP_MD *digest_by_name(const char *algorithm)
{
    if (strcmp(algorithm, "sha1") == 0)
        return EVP_sha1();
    if (strcmp(algorithm, "sha256") == 0)
        return EVP_sha256();
    if (strcmp(algorithm, "sha512") == 0)
        return EVP_sha512();
    return NULL;
}

pk_status pk_file_digest(pk_ctx *ctx, const char *path, const char *algorithm, char *hex)
{
    unsigned char digest[PK_DIGEST_MAX];
    unsigned len = 0;
    pk_status st = pk_file_digest_raw(ctx, path, algorithm, digest, &len);
    if (st != PK_OK)
        return st;
    for (unsigned i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    return PK_OK;
}

pk_status pk_file_integrity(pk_ctx *ctx, const char *path, char *out, size_t size)
{
    unsigned char digest[PK_DIGEST_MAX];
    unsigned len = 0;
    pk_status st = pk_file_digest_raw(ctx, path, "sha512", digest, &len);
    if (st != PK_OK)
        return st;
    unsigned char b64[4 * EVP_MAX_MD_SIZE / 3 + 4];
    EVP_EncodeBlock(b64, digest, (int)len);
    snprintf(out, size, "sha512-%s", (const char *)b64);
    return PK_OK;
}

/* The last non-empty line of a log file, for error messages. */
static void last_line(const char *path, char *buf, size_t size)
{
    buf[0] = '\0';
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
            line[--n] = '\0';
        if (n)
            snprintf(buf, size, "%s", line);
    }
    fclose(f);
}

pk_status pk_spawn(pk_ctx *ctx, char *const argv[], const char *cwd, const char *log_path,
                   const char *what, pk_status fail_status)
{
    pid_t pid = fork();
    if (pid < 0)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "%s: cannot start %s: %s", what, argv[0],
                       strerror(errno));
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        int out = open(log_path ? log_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
            _exit(126);
        if (cwd && chdir(cwd) != 0)
            _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "%s: lost %s: %s", what, argv[0], strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return PK_OK;
    if (pk_ctx_interrupted(ctx))
        return pk_fail(ctx, PK_ERR_INTERRUPTED, NULL, "%s: interrupted", what);
    char tail[400];
    last_line(log_path, tail, sizeof tail);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return pk_fail(ctx, fail_status, NULL, "%s: %s is not installed (run scripts/setup)", what,
                       argv[0]);
    if (WIFSIGNALED(status))
        return pk_fail(ctx, fail_status, NULL, "%s: %s was killed by signal %d", what, argv[0],
                       WTERMSIG(status));
    return pk_fail(ctx, fail_status, NULL, "%s: %s failed (exit %d)%s%s", what, argv[0],
                   WEXITSTATUS(status), tail[0] ? ": " : "", tail);
}

pk_status pk_npm_pack(pk_ctx *ctx, const char *spec, const char *integrity, const char *dir,
                      char **tgz_out)
{
    *tgz_out = NULL;
    char *log = NULL, *what = NULL;
    if (asprintf(&log, "%s/npm-pack.log", dir) < 0 || asprintf(&what, "npm pack %s", spec) < 0) {
        free(log);
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    /* npm keeps what it downloads in its cache (~/.npm/_cacache), so a
     * second install of the same package reads it from there. */
    char *argv[] = {"npm", "pack", "--silent", "--no-fund", "--no-audit", (char *)spec, NULL};
    pk_status st = pk_spawn(ctx, argv, dir, log, what, PK_ERR_INPUT);
    free(log);
    free(what);
    if (st != PK_OK)
        return st;
    char *pattern;
    if (asprintf(&pattern, "%s/*.tgz", dir) < 0)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    glob_t g;
    int rc = glob(pattern, 0, NULL, &g);
    free(pattern);
    if (rc != 0 || g.gl_pathc != 1) {
        if (rc == 0)
            globfree(&g);
        return pk_fail(ctx, PK_ERR_INPUT, dir, "npm pack %s left no single tarball", spec);
    }
    char *tgz = strdup(g.gl_pathv[0]);
    globfree(&g);
    if (!tgz)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    char got[128];
    st = pk_file_integrity(ctx, tgz, got, sizeof got);
    if (st == PK_OK && strcmp(got, integrity) != 0)
        st = pk_fail(ctx, PK_ERR_INPUT, tgz,
                     "%s: integrity mismatch (expected %.24s…, got %.24s…); refusing it", spec,
                     integrity, got);
    if (st != PK_OK) {
        unlink(tgz);
        free(tgz);
        return st;
    }
    *tgz_out = tgz;
    return PK_OK;
}

/* ---- URL downloads ------------------------------------------------------ */

typedef struct download {
    pk_ctx *ctx;
    FILE *file;
    curl_off_t resumed_from;
    double last_shown;
    int began;
} download;

static size_t on_data(char *data, size_t size, size_t n, void *user)
{
    download *d = user;
    return fwrite(data, size, n, d->file) * size;
}

static int on_progress(void *user, curl_off_t total, curl_off_t now, curl_off_t ut, curl_off_t un)
{
    (void)ut, (void)un;
    download *d = user;
    if (pk_ctx_interrupted(d->ctx))
        return 1; /* abort the transfer; the partial file stays for a resume */
    if (total > 0 && !d->began) {
        pk_progress_begin(d->ctx, "download", (double)(total + d->resumed_from) / 1e6, "MB");
        d->began = 1;
    }
    double done = (double)(now + d->resumed_from) / 1e6;
    if (d->began && done - d->last_shown >= 0.1) {
        pk_progress_update(d->ctx, done);
        d->last_shown = done;
    }
    return 0;
}

/* https anywhere; plain http only to this machine (the tests' server). */
static pk_status check_url(pk_ctx *ctx, const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    pk_status st = PK_OK;
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        st = pk_fail(ctx, PK_ERR_INPUT, url, "not a valid URL");
    } else if (strcmp(scheme, "https") != 0 &&
               !(strcmp(scheme, "http") == 0 &&
                 (strcmp(host, "127.0.0.1") == 0 || strcmp(host, "localhost") == 0 ||
                  strcmp(host, "[::1]") == 0))) {
        st = pk_fail(ctx, PK_ERR_INPUT, url, "only https URLs are fetched");
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return st;
}

/* One transfer from the part file's current size to the end. */
static pk_status transfer(pk_ctx *ctx, const char *url, const char *part_path, bool *range_refused)
{
    *range_refused = false;
    download d = {.ctx = ctx};
    d.file = fopen(part_path, "ab");
    if (!d.file)
        return pk_fail(ctx, PK_ERR_OUTPUT, part_path, "cannot write: %s", strerror(errno));
    fseeko(d.file, 0, SEEK_END);
    d.resumed_from = (curl_off_t)ftello(d.file);
    CURL *c = curl_easy_init();
    if (!c) {
        fclose(d.file);
        return pk_fail(ctx, PK_ERR_INTERNAL, url, "cannot start libcurl");
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    char agent[64];
    snprintf(agent, sizeof agent, "postkit/%s", pk_version());
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, agent);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    /* A stalled server (under 1 byte/s for a minute) ends the try; the part
     * file keeps what arrived. */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &d);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &d);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    if (d.resumed_from > 0)
        curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, d.resumed_from);
    if (d.resumed_from > 0)
        pk_log(ctx, PK_LOG_INFO, "%s: resuming after %lld bytes", url, (long long)d.resumed_from);
    CURLcode rc = curl_easy_perform(c);
    long http = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
    curl_easy_cleanup(c);
    if (d.began)
        pk_progress_end(ctx);
    int close_err = fclose(d.file) != 0 ? errno : 0;
    if (rc == CURLE_OK && close_err)
        return pk_fail(ctx, PK_ERR_OUTPUT, part_path, "cannot write: %s", strerror(close_err));
    if (rc == CURLE_OK)
        return PK_OK;
    if (rc == CURLE_ABORTED_BY_CALLBACK && pk_ctx_interrupted(ctx))
        return pk_fail(ctx, PK_ERR_INTERRUPTED, url, "download interrupted; run again to resume");
    if (rc == CURLE_RANGE_ERROR || (rc == CURLE_HTTP_RETURNED_ERROR && http == 416)) {
        *range_refused = true;
        return PK_OK;
    }
    if (rc == CURLE_WRITE_ERROR)
        return pk_fail(ctx, PK_ERR_OUTPUT, part_path, "cannot write the download (disk full?)");
    struct stat st;
    long long have = stat(part_path, &st) == 0 ? (long long)st.st_size : 0;
    if (have == 0)
        unlink(part_path);
    if (rc == CURLE_HTTP_RETURNED_ERROR)
        return pk_fail(ctx, PK_ERR_INPUT, url, "download failed: the server answered HTTP %ld", http);
    if (have == 0)
        return pk_fail(ctx, PK_ERR_INPUT, url, "download failed: %s",
                       errbuf[0] ? errbuf : curl_easy_strerror(rc));
    return pk_fail(ctx, PK_ERR_INPUT, url, "download failed: %s (%lld bytes kept; run again to resume)",
                   errbuf[0] ? errbuf : curl_easy_strerror(rc), have);
}

pk_status pk_url_download(pk_ctx *ctx, const char *url, const char *part_path,
                          const char *algorithm, const char *checksum)
{
    pk_status st = check_url(ctx, url);
    if (st != PK_OK)
        return st;
    if (!digest_by_name(algorithm))
        return pk_fail(ctx, PK_ERR_INPUT, url, "unknown checksum algorithm '%s'", algorithm);
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    struct stat sb;
    for (int attempt = 0; attempt < 2; attempt++) {
        /* A part file may already be whole (a run killed after the last
         * byte): then there is nothing left to fetch. */
        bool whole = false;
        if (stat(part_path, &sb) == 0 && sb.st_size > 0) {
            st = pk_file_digest(ctx, part_path, algorithm, hex);
            if (st != PK_OK)
                return st;
            whole = strcmp(hex, checksum) == 0;
        }
        if (whole)
            return PK_OK;
        bool range_refused;
        st = transfer(ctx, url, part_path, &range_refused);
        if (st != PK_OK)
            return st;
        if (range_refused) {
            /* The server cannot continue this part (no Range support, or
             * the part is longer than the file): start again from zero. */
            pk_log(ctx, PK_LOG_INFO, "%s: the server cannot resume; starting again", url);
            unlink(part_path);
            continue;
        }
        st = pk_file_digest(ctx, part_path, algorithm, hex);
        if (st != PK_OK)
            return st;
        if (strcmp(hex, checksum) == 0)
            return PK_OK;
        unlink(part_path);
        return pk_fail(ctx, PK_ERR_INPUT, url,
                       "checksum mismatch: %s %s, expected %s; the download was deleted", algorithm,
                       hex, checksum);
    }
    return pk_fail(ctx, PK_ERR_INPUT, url, "download failed: the server does not honour resumes");
}
