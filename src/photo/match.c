/*
 * match.c — `postkit photo match`: make a batch of photos look like a
 * reference photo (exposure, white balance and colour).
 */
#include "photo/internal.h"

#include <string.h>

/* PK_PHOTO_* for a --mode value. */
unsigned pk_photo_mode_from_name(const char *name)
{
    if (strcmp(name, "exposure") == 0)
        return PK_PHOTO_EXPOSURE;
    if (strcmp(name, "wb") == 0)
        return PK_PHOTO_WB;
    if (strcmp(name, "exposure+wb") == 0)
        return PK_PHOTO_EXPOSURE | PK_PHOTO_WB;
    if (strcmp(name, "color") == 0)
        return PK_PHOTO_COLOR;
    return PK_PHOTO_ALL;
}

static pk_status match_run(pk_run *run)
{
    pk_photo_batch b = {
        .mode = pk_photo_mode_from_name(pk_run_str(run, "mode")),
        .strength = pk_run_float(run, "strength"),
        .ref = pk_run_str(run, "ref"),
        .outdir = pk_run_str(run, "output"),
        .format = pk_run_str(run, "format"),
        .quality = (int)pk_run_int(run, "quality"),
        .keep_profile = pk_run_bool(run, "keep-profile"),
        .contact_sheet = pk_run_bool(run, "contact-sheet"),
        .title = "Matched to a reference",
    };
    return pk_photo_batch_run(run, &b);
}

static const pk_param_spec match_params[] = {
    {.name = "ref", .short_opt = 'r', .type = PK_PARAM_PATH_IN, .metavar = "REF",
     .help = "the reference photo whose exposure, white balance and colour the others take",
     .flags = PK_PARAM_REQUIRED},
    {.name = "output", .short_opt = 'o', .type = PK_PARAM_PATH_OUT, .metavar = "DIR",
     .help = "folder for the corrected photos (same names; .jpg or .tif) and contact-sheet.html",
     .flags = PK_PARAM_REQUIRED},
    {.name = "mode", .type = PK_PARAM_ENUM, .defval = "all",
     .choices = "exposure|wb|exposure+wb|color|all",
     .help = "what to match: exposure (a gain), wb (white balance), both, color (colour transfer "
             "only), or all three"},
    {.name = "strength", .type = PK_PARAM_FLOAT, .defval = "1", .min = 0, .max = 1,
     .help = "how far toward the reference: 0 changes nothing, 1 matches fully"},
    {.name = "format", .type = PK_PARAM_ENUM, .defval = "auto", .choices = "auto|jpeg|tiff",
     .help = "output format: jpeg (8-bit), tiff (16-bit), or auto: JPEG for JPEG inputs, 16-bit "
             "TIFF for everything else (RAW, 16-bit TIFF/PNG, HEIC)"},
    {.name = "quality", .type = PK_PARAM_INT, .defval = "92", .min = 1, .max = 100,
     .help = "JPEG quality"},
    {.name = "keep-profile", .type = PK_PARAM_BOOL, .defval = "no",
     .help = "write in the input's own ICC colour space (Adobe RGB, Display P3, CMYK...) instead "
             "of sRGB"},
    {.name = "contact-sheet", .type = PK_PARAM_BOOL, .defval = "yes",
     .help = "write DIR/contact-sheet.html: before, after and reference thumbnails of every photo"},
    {.name = NULL},
};

const pk_op pk_op_photo_match = {
    .name = "photo match",
    .summary = "Match the exposure, white balance and colour of photos to a reference photo",
    .description =
        "Every photo is measured in linear light on a reduced copy and corrected toward REF: "
        "exposure as a gain found from luminance percentiles (deep shadows and clipped highlights "
        "left out), white balance by adapting the estimated illuminant (grey-world on the pixels "
        "both photos can vouch for) to the reference's with a Bradford transform, and colour by "
        "the Monge-Kantorovich map between the two photos' Oklab distributions. Highlights "
        "pushed above white roll off smoothly instead of clipping. Camera RAW files are "
        "developed with the matched white balance and exposure applied to the sensor data. "
        "EXIF (orientation included), XMP and the ICC profile are kept. Each photo gives one "
        "record: EV applied, estimated colour temperature and tint before and after, and the "
        "matrices used.",
    .input_name = "PHOTO",
    .input_kind = "image",
    .min_inputs = 1,
    .max_inputs = -1,
    .params = match_params,
    .run = match_run,
    .print_human = pk_photo_print_record,
    .flags = PK_OP_WRITES,
};
