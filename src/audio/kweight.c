/*
 * kweight.c — the K-weighting filter of ITU-R BS.1770-4 at any sample rate.
 *
 * BS.1770 tabulates the two biquads for 48 kHz only. They are the bilinear
 * transforms of two analogue sections (a high shelf of about +4 dB above
 * 1.7 kHz modelling the head, and the RLB high-pass at 38 Hz); designing from
 * those prototypes with frequency pre-warping reproduces the 48 kHz table to
 * 1e-8 (checked in tests/unit/test_loudness.c) and gives the same response at
 * 44.1, 96 or 8 kHz.
 */
#include "audio/internal.h"

#include <math.h>

/* Analogue prototype parameters that reproduce the BS.1770 48 kHz table. */
#define SHELF_F0 1681.974450955533
#define SHELF_GAIN_DB 3.999843853973347
#define SHELF_Q 0.7071752369554196
#define HP_F0 38.13547087602444
#define HP_Q 0.5003270373238773

void pk_kweight_design(double rate, pk_biquad *shelf, pk_biquad *hp)
{
    double k = tan(M_PI * SHELF_F0 / rate);
    double vh = pow(10.0, SHELF_GAIN_DB / 20.0);
    double vb = pow(vh, 0.4996667741545416);
    double a0 = 1.0 + k / SHELF_Q + k * k;
    shelf->b0 = (vh + vb * k / SHELF_Q + k * k) / a0;
    shelf->b1 = 2.0 * (k * k - vh) / a0;
    shelf->b2 = (vh - vb * k / SHELF_Q + k * k) / a0;
    shelf->a1 = 2.0 * (k * k - 1.0) / a0;
    shelf->a2 = (1.0 - k / SHELF_Q + k * k) / a0;

    k = tan(M_PI * HP_F0 / rate);
    a0 = 1.0 + k / HP_Q + k * k;
    hp->b0 = 1.0;
    hp->b1 = -2.0;
    hp->b2 = 1.0;
    hp->a1 = 2.0 * (k * k - 1.0) / a0;
    hp->a2 = (1.0 - k / HP_Q + k * k) / a0;
}
