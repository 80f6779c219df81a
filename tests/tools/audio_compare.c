/*
 * audio_compare — measurements the audio end-to-end tests need that no
 * command prints. Not installed.
 *
 *   audio_compare bands FILE      third-octave band levels (dB) of the mid
 *                                 signal, 100 Hz .. 10 kHz, one per line
 *                                 ("CENTRE_HZ LEVEL_DB")
 *   audio_compare snr REF TEST    SNR (dB) of TEST against REF, all channels,
 *                                 sample for sample (same rate and length)
 *
 * Files are decoded with pk_source (native rate and layout). Exit status 0,
 * or the pk_status of a failure.
 */
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fftw3.h>
#include <postkit/media.h>

#define N 16384
#define BANDS 21

static pk_source *open_audio(pk_ctx *ctx, const char *path)
{
    pk_source_options o;
    pk_source_options_init(&o);
    o.streams = PK_STREAM_AUDIO;
    o.audio_block = 4096;
    pk_source *s;
    if (pk_source_open(ctx, path, &o, &s) != PK_OK) {
        fprintf(stderr, "%s\n", pk_ctx_errmsg(ctx));
        exit(3);
    }
    return s;
}

/* Next audio block or NULL at the end. */
static const pk_audio_block *next_block(pk_source *s)
{
    pk_item it;
    while (pk_source_next(s, &it) == PK_OK && it.type != PK_ITEM_END)
        if (it.type == PK_ITEM_AUDIO)
            return it.audio;
    return NULL;
}

static int bands(pk_ctx *ctx, const char *path)
{
    pk_source *s = open_audio(ctx, path);
    int rate = pk_source_audio(s)->rate;
    double *in = fftw_malloc(sizeof(double) * N), *pw = calloc(N / 2 + 1, sizeof(double));
    double *frame = calloc(N, sizeof(double));
    fftw_complex *sp = fftw_malloc(sizeof(fftw_complex) * (N / 2 + 1));
    fftw_plan p = fftw_plan_dft_r2c_1d(N, in, sp, FFTW_ESTIMATE);
    int fill = 0;
    const pk_audio_block *b;
    while ((b = next_block(s))) {
        for (int i = 0; i < b->frames; i++) {
            double m = 0;
            for (int c = 0; c < b->channels; c++)
                m += b->interleaved[i * b->channels + c];
            frame[fill++] = m / b->channels;
            if (fill == N) {
                for (int k = 0; k < N; k++)
                    in[k] = frame[k] * (0.5 - 0.5 * cos(2 * M_PI * k / N));
                fftw_execute(p);
                for (int k = 0; k <= N / 2; k++)
                    pw[k] += creal(sp[k] * conj(sp[k]));
                memmove(frame, frame + N / 2, sizeof(double) * N / 2);
                fill = N / 2;
            }
        }
    }
    for (int i = 0; i < BANDS; i++) {
        double fc = 100 * pow(2, i / 3.0), lo = fc * pow(2, -1 / 6.0), hi = fc * pow(2, 1 / 6.0), e = 0;
        for (int k = (int)ceil(lo * N / rate); k <= (int)floor(hi * N / rate) && k <= N / 2; k++)
            e += pw[k];
        printf("%.0f %.3f\n", fc, 10 * log10(e + 1e-30));
    }
    fftw_destroy_plan(p);
    fftw_free(in);
    fftw_free(sp);
    free(pw);
    free(frame);
    pk_source_free(s);
    return 0;
}

static int snr(pk_ctx *ctx, const char *ref, const char *test)
{
    pk_source *a = open_audio(ctx, ref), *b = open_audio(ctx, test);
    double sig = 0, err = 0;
    const pk_audio_block *x, *y;
    /* Same block size on both sides: blocks line up sample for sample. */
    while ((x = next_block(a)) && (y = next_block(b))) {
        int n = (x->frames < y->frames ? x->frames : y->frames) * x->channels;
        for (int i = 0; i < n; i++) {
            double d = (double)y->interleaved[i] - x->interleaved[i];
            sig += (double)x->interleaved[i] * x->interleaved[i];
            err += d * d;
        }
    }
    printf("%.2f\n", 10 * log10(sig / (err + 1e-30)));
    pk_source_free(a);
    pk_source_free(b);
    return 0;
}

int main(int argc, char **argv)
{
    pk_init(argv[0]);
    pk_ctx *ctx;
    pk_ctx_new(&ctx);
    int rc = 2;
    if (argc == 3 && !strcmp(argv[1], "bands"))
        rc = bands(ctx, argv[2]);
    else if (argc == 4 && !strcmp(argv[1], "snr"))
        rc = snr(ctx, argv[2], argv[3]);
    else
        fprintf(stderr, "usage: audio_compare bands FILE | snr REF TEST\n");
    pk_ctx_free(ctx);
    pk_shutdown();
    return rc;
}
