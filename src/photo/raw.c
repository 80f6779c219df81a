/*
 * raw.c — what a camera RAW file says about its colour, so that a white
 * balance and exposure decided on its developed picture can be applied
 * where they belong: to the sensor data, as LibRaw's multipliers and gain.
 *
 * LibRaw develops a RAW file as sRGB = R · diag(m / min m) · raw, with R the
 * camera's matrix from white-balanced camera RGB to linear sRGB (it maps
 * (1,1,1) to (1,1,1)) and m the white-balance multipliers. Developing with
 * m' = m ⊙ k instead gives sRGB' = ρ · R diag(k) R^-1 · sRGB, where
 * ρ = min m / min m' comes from LibRaw normalising the smallest multiplier
 * to 1. Choosing k = (R^-1 w_dst) / (R^-1 w_src) moves the white w_src
 * exactly onto w_dst: a von Kries adaptation in the camera's own space.
 */
#include "photo/internal.h"

#include <math.h>
#include <string.h>

#include <libraw/libraw.h>

pk_status pk_photo_raw_colour(pk_ctx *ctx, const char *path, pk_photo_raw_info *out)
{
    libraw_data_t *lr = libraw_init(0);
    if (!lr)
        return pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
    int rc = libraw_open_file(lr, path);
    if (rc != LIBRAW_SUCCESS) {
        libraw_close(lr);
        return pk_fail(ctx, PK_ERR_INPUT, path, "unreadable camera RAW file (%s)", libraw_strerror(rc));
    }
    const libraw_colordata_t *c = &lr->color;
    /* As shot when the file has it, the daylight multipliers otherwise:
     * what the loader's "camera" white balance develops with. */
    const float *m = c->cam_mul[0] > 0 && c->cam_mul[1] > 0 && c->cam_mul[2] > 0 ? c->cam_mul
                                                                               : c->pre_mul;
    for (int i = 0; i < 4; i++)
        out->multipliers[i] = m[i];
    if (!(out->multipliers[3] > 0))
        out->multipliers[3] = out->multipliers[1];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            out->rgb_cam[3 * i + j] = c->rgb_cam[i][j];
    libraw_close(lr);
    double inv[9];
    if (!(out->multipliers[0] > 0 && out->multipliers[1] > 0 && out->multipliers[2] > 0) ||
        pk_mat3_invert(out->rgb_cam, inv) != 0)
        return pk_fail(ctx, PK_ERR_INPUT, path, "camera RAW file without usable colour data");
    return PK_OK;
}

void pk_photo_raw_settings(const pk_photo_raw_info *info, const pk_photo_correction *c,
                           pk_photo_raw_develop *out)
{
    double cam_from_rgb[9], src_rgb[3], dst_rgb[3], s[3], d[3];
    pk_mat3_invert(info->rgb_cam, cam_from_rgb);
    pk_xyz_to_rgb(c->src_white, src_rgb);
    pk_xyz_to_rgb(c->dst_white, dst_rgb);
    pk_mat3_apply(cam_from_rgb, src_rgb, s);
    pk_mat3_apply(cam_from_rgb, dst_rgb, d);
    double k[3];
    for (int i = 0; i < 3; i++)
        k[i] = (c->mode & PK_PHOTO_WB) && s[i] > 0 && d[i] > 0 ? d[i] / s[i] : 1;
    const double *m = info->multipliers;
    double mk[4] = {m[0] * k[0], m[1] * k[1], m[2] * k[2], m[3] * k[1]};
    double min_m = fmin(fmin(m[0], m[1]), fmin(m[2], m[3]));
    double min_mk = fmin(fmin(mk[0], mk[1]), fmin(mk[2], mk[3]));
    double rho = min_m / min_mk;
    memcpy(out->multipliers, mk, sizeof mk);
    /* The exposure at the raw level: the planned one, less the brightening
     * the renormalised multipliers bring, within what the loader takes. */
    out->exposure = fmin(PK_PHOTO_RAW_EV_MAX, fmax(PK_PHOTO_RAW_EV_MIN, c->ev - log2(rho)));
    /* What developing with them does to the picture developed as shot. */
    double dk[9] = {0};
    for (int i = 0; i < 3; i++)
        dk[4 * i] = k[i] * rho * exp2(out->exposure);
    double t[9];
    pk_mat3_mul(dk, cam_from_rgb, t);
    pk_mat3_mul(info->rgb_cam, t, out->developed);
}
