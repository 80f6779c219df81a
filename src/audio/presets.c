/*
 * presets.c — the loudness delivery targets postkit knows by name.
 *
 * ebu-r128   EBU R 128 (broadcast, Europe): -23 LUFS, -1 dBTP
 * atsc-a85   ATSC A/85 (broadcast, US): -24 LKFS, -2 dBTP
 * streaming  music streaming services: -14 LUFS, -1 dBTP
 * podcast    AES TD1004 / common podcast practice: -16 LUFS stereo,
 *            -19 LUFS mono (the same perceived level on two speakers), -1 dBTP
 * A number (e.g. -18) is a custom target with a -1 dBTP limit; "custom"
 * needs --lufs.
 */
#include "audio/internal.h"

#include <stdlib.h>
#include <string.h>

const pk_loudness_preset pk_loudness_presets[] = {
    {"ebu-r128", -23, -23, -1, "EBU R 128"},
    {"atsc-a85", -24, -24, -2, "ATSC A/85"},
    {"streaming", -14, -14, -1, "music streaming"},
    {"podcast", -16, -19, -1, "podcast (AES TD1004)"},
    {NULL, 0, 0, 0, NULL},
};

pk_status pk_loudness_target(pk_ctx *ctx, const char *text, int channels, double *lufs, double *tp,
                             const char **preset)
{
    for (const pk_loudness_preset *p = pk_loudness_presets; p->name; p++) {
        if (strcmp(text, p->name) == 0) {
            *lufs = channels == 1 ? p->lufs_mono : p->lufs;
            *tp = p->true_peak;
            *preset = p->name;
            return PK_OK;
        }
    }
    char *end;
    double v = strtod(text, &end);
    if (end != text && *end == '\0' && v >= -70 && v <= 0) {
        *lufs = v;
        *tp = -1;
        *preset = "custom";
        return PK_OK;
    }
    return pk_fail(ctx, PK_ERR_USAGE, NULL,
                   "--target: '%s' is not a preset (ebu-r128, atsc-a85, streaming, podcast, custom) "
                   "nor a loudness between -70 and 0 LUFS", text);
}
