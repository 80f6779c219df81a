/*
 * color.c — transfer functions, colour spaces, CIEDE2000, 3×3 matrices and
 * the highlight roll-off. Pure functions of their arguments.
 */
#include <postkit/photo.h>

#include <math.h>
#include <string.h>

/* ---- sRGB transfer ------------------------------------------------------ */

double pk_srgb_to_linear(double v)
{
    double a = fabs(v);
    double l = a <= 0.04045 ? a / 12.92 : pow((a + 0.055) / 1.055, 2.4);
    return v < 0 ? -l : l;
}

double pk_linear_to_srgb(double l)
{
    double a = fabs(l);
    double v = a <= 0.0031308 ? a * 12.92 : 1.055 * pow(a, 1.0 / 2.4) - 0.055;
    return l < 0 ? -v : v;
}

/* ---- XYZ -------------------------------------------------------------------
 * The sRGB matrix follows from the primaries (0.64, 0.33), (0.30, 0.60),
 * (0.15, 0.06) and the white (0.3127, 0.3290); the unit tests derive it from
 * those and check these digits. */
const double pk_rgb_to_xyz_matrix[9] = {
    0.4123907992659595, 0.3575843393838780, 0.1804807884018343,
    0.2126390058715104, 0.7151686787677560, 0.0721923153607337,
    0.0193308187155918, 0.1191947797946259, 0.9505321522496608,
};
const double pk_xyz_to_rgb_matrix[9] = {
    3.2409699419045226, -1.5373831775700939, -0.4986107602930034,
    -0.9692436362808796, 1.8759675015077202, 0.0415550574071756,
    0.0556300796969937, -0.2039769588889766, 1.0569715142428786,
};
const double pk_d65_xyz[3] = {0.9504559270516716, 1.0, 1.0890577507598784};

void pk_rgb_to_xyz(const double rgb[3], double xyz[3])
{
    pk_mat3_apply(pk_rgb_to_xyz_matrix, rgb, xyz);
}

void pk_xyz_to_rgb(const double xyz[3], double rgb[3])
{
    pk_mat3_apply(pk_xyz_to_rgb_matrix, xyz, rgb);
}

void pk_xyz_to_xy(const double xyz[3], double xy[2])
{
    double s = xyz[0] + xyz[1] + xyz[2];
    if (s <= 0) {
        pk_xyz_to_xy(pk_d65_xyz, xy);
        return;
    }
    xy[0] = xyz[0] / s;
    xy[1] = xyz[1] / s;
}

void pk_xy_to_xyz(const double xy[2], double Y, double xyz[3])
{
    xyz[0] = xy[0] * Y / xy[1];
    xyz[1] = Y;
    xyz[2] = (1 - xy[0] - xy[1]) * Y / xy[1];
}

/* ---- CIELAB (CIE 15:2004, with the exact constants of CIE 15's note) ---- */

static const double lab_epsilon = 216.0 / 24389.0;
static const double lab_kappa = 24389.0 / 27.0;

static double lab_f(double t)
{
    return t > lab_epsilon ? cbrt(t) : (lab_kappa * t + 16) / 116;
}

static double lab_f_inv(double f)
{
    double t = f * f * f;
    return t > lab_epsilon ? t : (116 * f - 16) / lab_kappa;
}

void pk_xyz_to_lab(const double xyz[3], const double white[3], double lab[3])
{
    double fx = lab_f(xyz[0] / white[0]);
    double fy = lab_f(xyz[1] / white[1]);
    double fz = lab_f(xyz[2] / white[2]);
    lab[0] = 116 * fy - 16;
    lab[1] = 500 * (fx - fy);
    lab[2] = 200 * (fy - fz);
}

void pk_lab_to_xyz(const double lab[3], const double white[3], double xyz[3])
{
    double fy = (lab[0] + 16) / 116;
    double fx = fy + lab[1] / 500;
    double fz = fy - lab[2] / 200;
    xyz[0] = white[0] * lab_f_inv(fx);
    xyz[1] = lab[0] > lab_kappa * lab_epsilon ? white[1] * fy * fy * fy : white[1] * lab[0] / lab_kappa;
    xyz[2] = white[2] * lab_f_inv(fz);
}

/* ---- Oklab ---------------------------------------------------------------- */

const double pk_oklab_m1[9] = {
    0.4122214708, 0.5363325363, 0.0514459929,
    0.2119034982, 0.6806995451, 0.1073969566,
    0.0883024619, 0.2817188376, 0.6299787005,
};
const double pk_oklab_m2[9] = {
    0.2104542553, 0.7936177850, -0.0040720468,
    1.9779984951, -2.4285922050, 0.4505937099,
    0.0259040371, 0.7827717662, -0.8086757660,
};
/* Their inverses, as published with Oklab; the round-trip test checks them. */
static const double oklab_m1_inv[9] = {
    4.0767416621, -3.3077115913, 0.2309699292,
    -1.2684380046, 2.6097574011, -0.3413193965,
    -0.0041960863, -0.7034186147, 1.7076147010,
};
static const double oklab_m2_inv[9] = {
    1.0, 0.3963377774, 0.2158037573,
    1.0, -0.1055613458, -0.0638541728,
    1.0, -0.0894841775, -1.2914855480,
};

void pk_rgb_to_oklab(const double rgb[3], double lab[3])
{
    double lms[3];
    pk_mat3_apply(pk_oklab_m1, rgb, lms);
    for (int i = 0; i < 3; i++)
        lms[i] = cbrt(lms[i]);
    pk_mat3_apply(pk_oklab_m2, lms, lab);
}

void pk_oklab_to_rgb(const double lab[3], double rgb[3])
{
    double lms[3];
    pk_mat3_apply(oklab_m2_inv, lab, lms);
    for (int i = 0; i < 3; i++)
        lms[i] = lms[i] * lms[i] * lms[i];
    pk_mat3_apply(oklab_m1_inv, lms, rgb);
}

/* ---- CIEDE2000 -------------------------------------------------------------
 * The equations of Sharma, Wu and Dalal (2005), "The CIEDE2000 color-
 * difference formula: implementation notes, supplementary test data, and
 * mathematical observations", numbered as there. Angles in degrees. */

static double deg(double rad) { return rad * (180.0 / M_PI); }
static double rad(double deg) { return deg * (M_PI / 180.0); }

static double hue_angle(double b, double a)
{
    if (a == 0 && b == 0)
        return 0;
    double h = deg(atan2(b, a));
    return h < 0 ? h + 360 : h;
}

double pk_ciede2000(const double lab1[3], const double lab2[3])
{
    const double L1 = lab1[0], a1 = lab1[1], b1 = lab1[2];
    const double L2 = lab2[0], a2 = lab2[1], b2 = lab2[2];
    const double pow25_7 = 6103515625.0; /* 25^7 */

    /* (2)-(7): a' with the G correction, C', h'. */
    double Cab = (hypot(a1, b1) + hypot(a2, b2)) / 2;
    double Cab7 = pow(Cab, 7);
    double G = 0.5 * (1 - sqrt(Cab7 / (Cab7 + pow25_7)));
    double a1p = (1 + G) * a1, a2p = (1 + G) * a2;
    double C1p = hypot(a1p, b1), C2p = hypot(a2p, b2);
    double h1p = hue_angle(b1, a1p), h2p = hue_angle(b2, a2p);

    /* (8)-(11): differences. */
    double dLp = L2 - L1;
    double dCp = C2p - C1p;
    double dhp = 0;
    if (C1p * C2p != 0) {
        dhp = h2p - h1p;
        if (dhp > 180)
            dhp -= 360;
        else if (dhp < -180)
            dhp += 360;
    }
    double dHp = 2 * sqrt(C1p * C2p) * sin(rad(dhp / 2));

    /* (12)-(22): weighting functions. */
    double Lbp = (L1 + L2) / 2;
    double Cbp = (C1p + C2p) / 2;
    double hbp = h1p + h2p;
    if (C1p * C2p != 0) {
        if (fabs(h1p - h2p) <= 180)
            hbp = (h1p + h2p) / 2;
        else if (h1p + h2p < 360)
            hbp = (h1p + h2p + 360) / 2;
        else
            hbp = (h1p + h2p - 360) / 2;
    }
    double T = 1 - 0.17 * cos(rad(hbp - 30)) + 0.24 * cos(rad(2 * hbp)) +
               0.32 * cos(rad(3 * hbp + 6)) - 0.20 * cos(rad(4 * hbp - 63));
    double dtheta = 30 * exp(-((hbp - 275) / 25) * ((hbp - 275) / 25));
    double Cbp7 = pow(Cbp, 7);
    double RC = 2 * sqrt(Cbp7 / (Cbp7 + pow25_7));
    double l50 = (Lbp - 50) * (Lbp - 50);
    double SL = 1 + 0.015 * l50 / sqrt(20 + l50);
    double SC = 1 + 0.045 * Cbp;
    double SH = 1 + 0.015 * Cbp * T;
    double RT = -sin(rad(2 * dtheta)) * RC;

    double tl = dLp / SL, tc = dCp / SC, th = dHp / SH;
    return sqrt(tl * tl + tc * tc + th * th + RT * tc * th);
}

/* ---- 3×3 matrices ---------------------------------------------------------- */

void pk_mat3_identity(double m[9])
{
    static const double id[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    memcpy(m, id, sizeof id);
}

void pk_mat3_mul(const double a[9], const double b[9], double out[9])
{
    double r[9];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            r[3 * i + j] = a[3 * i] * b[j] + a[3 * i + 1] * b[3 + j] + a[3 * i + 2] * b[6 + j];
    memcpy(out, r, sizeof r);
}

void pk_mat3_apply(const double m[9], const double v[3], double out[3])
{
    double r[3];
    for (int i = 0; i < 3; i++)
        r[i] = m[3 * i] * v[0] + m[3 * i + 1] * v[1] + m[3 * i + 2] * v[2];
    memcpy(out, r, sizeof r);
}

int pk_mat3_invert(const double m[9], double out[9])
{
    double c[9] = {
        m[4] * m[8] - m[5] * m[7], m[2] * m[7] - m[1] * m[8], m[1] * m[5] - m[2] * m[4],
        m[5] * m[6] - m[3] * m[8], m[0] * m[8] - m[2] * m[6], m[2] * m[3] - m[0] * m[5],
        m[3] * m[7] - m[4] * m[6], m[1] * m[6] - m[0] * m[7], m[0] * m[4] - m[1] * m[3],
    };
    double det = m[0] * c[0] + m[1] * c[3] + m[2] * c[6];
    double scale = 0;
    for (int i = 0; i < 9; i++)
        scale = fmax(scale, fabs(m[i]));
    if (!(fabs(det) > 1e-12 * scale * scale * scale))
        return -1;
    for (int i = 0; i < 9; i++)
        out[i] = c[i] / det;
    return 0;
}

/* ---- Highlight roll-off ------------------------------------------------------ */

double pk_rolloff(double x, double knee)
{
    if (knee >= 1 || x <= knee)
        return x;
    double w = 1 - knee;
    return knee + w * -expm1(-(x - knee) / w);
}

double pk_rolloff_knee(double white)
{
    if (!(white > 1))
        return 1;
    return fmin(1, fmax(0.6, (3 - white) / 2));
}
