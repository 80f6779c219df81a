/*
 * engine.c — choosing a recognition engine.
 *
 * The default is whisper.cpp when this build has it and a whisper model is
 * installed (or --model names a ggml file), else PocketSphinx, which is
 * always there (Debian's library and en-us model).
 */
#include "speech/internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

pk_status pk_asr_open(pk_ctx *ctx, const pk_asr_config *cfg, pk_asr_engine **out)
{
    *out = NULL;
    const char *name = cfg->engine;
    if (!name || strcmp(name, "auto") == 0) {
        struct stat st;
        bool model_is_dir = cfg->model_path && stat(cfg->model_path, &st) == 0 && S_ISDIR(st.st_mode);
        name = "pocketsphinx";
        if (pk_asr_whisper_available() && !model_is_dir) {
            char *id = cfg->model_path ? NULL : pk_asr_whisper_installed_id(ctx);
            if (cfg->model_path || id)
                name = "whisper";
            free(id);
        }
    }
    if (strcmp(name, "whisper") == 0)
        return pk_asr_whisper_open(ctx, cfg, out);
    if (strcmp(name, "pocketsphinx") == 0)
        return pk_asr_pocketsphinx_open(ctx, cfg, out);
    return pk_fail(ctx, PK_ERR_USAGE, NULL, "unknown engine '%s' (pocketsphinx or whisper)", name);
}

void pk_asr_free(pk_asr_engine *e)
{
    if (e)
        e->vt->engine_free(e);
}
