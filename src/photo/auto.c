/*
 * auto.c — `postkit photo auto`: the corrections of `photo match` toward
 * a neutral rendering instead of a reference.
 */
#include "photo/internal.h"

static pk_status auto_run(pk_run *run)
{
    pk_photo_batch b = {
        .mode = pk_photo_mode_from_name(pk_run_str(run, "mode")),
        .strength = pk_run_float(run, "strength"),
        .outdir = pk_run_str(run, "output"),
        .format = pk_run_str(run, "format"),
        .quality = (int)pk_run_int(run, "quality"),
        .keep_profile = pk_run_bool(run, "keep-profile"),
        .contact_sheet = pk_run_bool(run, "contact-sheet"),
        .title = "Automatic exposure and white balance",
    };
    return pk_photo_batch_run(run, &b);
}

static const pk_param_spec auto_params[] = {
    {.name = "output", .short_opt = 'o', .type = PK_PARAM_PATH_OUT, .metavar = "DIR",
     .help = "folder for the corrected photos (same names; .jpg or .tif) and contact-sheet.html",
     .flags = PK_PARAM_REQUIRED},
    {.name = "mode", .type = PK_PARAM_ENUM, .defval = "all", .choices = "exposure|wb|all",
     .help = "what to correct: exposure, wb (white balance) or both"},
    {.name = "strength", .type = PK_PARAM_FLOAT, .defval = "1", .min = 0, .max = 1,
     .help = "how far toward the neutral rendering: 0 changes nothing, 1 goes all the way"},
    {.name = "format", .type = PK_PARAM_ENUM, .defval = "auto", .choices = "auto|jpeg|tiff",
     .help = "output format: jpeg (8-bit), tiff (16-bit), or auto: JPEG for JPEG inputs, 16-bit "
             "TIFF for everything else"},
    {.name = "quality", .type = PK_PARAM_INT, .defval = "92", .min = 1, .max = 100,
     .help = "JPEG quality"},
    {.name = "keep-profile", .type = PK_PARAM_BOOL, .defval = "no",
     .help = "write in the input's own ICC colour space instead of sRGB"},
    {.name = "contact-sheet", .type = PK_PARAM_BOOL, .defval = "yes",
     .help = "write DIR/contact-sheet.html with before and after thumbnails"},
    {.name = NULL},
};

const pk_op pk_op_photo_auto = {
    .name = "photo auto",
    .summary = "Correct the exposure and white balance of photos toward a neutral rendering",
    .description =
        "The corrections of `photo match` without a reference: the exposure puts the median "
        "luminance at mid grey (18%) unless that would push more than 1% of the picture above "
        "white, within +-3 EV; the white balance adapts the estimated illuminant (grey-world "
        "over well-exposed pixels) to D65. Highlights roll off instead of clipping; RAW files "
        "are developed with the corrections; metadata is kept.",
    .input_name = "PHOTO",
    .input_kind = "image",
    .min_inputs = 1,
    .max_inputs = -1,
    .params = auto_params,
    .run = auto_run,
    .print_human = pk_photo_print_record,
    .flags = PK_OP_WRITES,
};
