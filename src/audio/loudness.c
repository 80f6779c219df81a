/*
 * loudness.c — the BS.1770-4 / EBU R128 meter (see include/postkit/audio.h
 * for what it measures and why it is built this way).
 *
 * Time is cut into 1 ms steps (step k ends at sample floor(k * rate / 1000),
 * so 44.1 kHz works without drift). For each step the meter keeps the
 * channel-weighted sum of K-weighted squares; a ring of the last 3000 steps
 * gives the momentary (400 steps) and short-term (3000 steps) windows at any
 * millisecond. Every 100 steps a gating block (400 ms) and a short-term value
 * (3 s) go into histograms of 0.01 LU bins that keep counts and energy sums.
 *
 * libebur128 (which the tests use as an independent cross-check) evaluates
 * windows only every 100 ms and its constant-memory mode rounds every block
 * to a 0.1 LU bin; this meter is exact at 1 ms and 0.01 LU, and faster (see
 * bench/RESULTS.md).
 */
#include "audio/internal.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RING 3000          /* steps in the short-term window */
#define MOMENTARY 400      /* steps in the momentary window */
#define BLOCK_EVERY 100    /* steps between gating blocks */
#define HIST_LO (-70.0)    /* absolute gate, LUFS */
#define HIST_STEP 0.01     /* LU per bin */
#define HIST_BINS 11000    /* -70 .. +40 LUFS; louder values land in the last bin */

typedef struct histogram {
    int64_t count[HIST_BINS];
    double energy[HIST_BINS];  /* sum of the mean squares of the values in the bin */
    int64_t total;
} histogram;

typedef struct tp_worker {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int started, pending, busy, quit;
    float *pending_buf, *work_buf;
    int64_t pending_frames, cap;
} tp_worker;

typedef struct clip_state {
    int64_t run, start;
} clip_state;

struct pk_loudness {
    pk_ctx *ctx;
    pk_loudness_options opt;
    int channels;
    double weight[PK_LOUDNESS_MAX_CHANNELS];
    int measured[PK_LOUDNESS_MAX_CHANNELS]; /* channels of non-zero weight */
    int nmeasured;
    char names[PK_LOUDNESS_MAX_CHANNELS][16];
    pk_biquad shelf, hp;
    double state[PK_LOUDNESS_MAX_CHANNELS][4]; /* DF2T states of both sections */

    /* steps */
    int64_t frames;            /* frames seen */
    int64_t step;              /* completed steps */
    int64_t step_end;          /* frame index where the current step ends */
    double step_energy;        /* weighted sum of squares in the current step */
    double ring_e[RING];
    int32_t ring_n[RING];
    double run_e_m, run_e_s;   /* running sums over the windows */
    int64_t run_n_m, run_n_s;

    double max_m, max_m_time, max_s, max_s_time;
    histogram *blocks;         /* 400 ms gating blocks */
    histogram *shorts;         /* 3 s values for LRA */

    /* sample-domain facts */
    float peak[PK_LOUDNESS_MAX_CHANNELS];
    clip_state clip[PK_LOUDNESS_MAX_CHANNELS];
    int64_t clipped[PK_LOUDNESS_MAX_CHANNELS], runs[PK_LOUDNESS_MAX_CHANNELS];
    int64_t longest_run, over_fs, nan, inf, first_bad;
    pk_clip_run clip_list[PK_LOUDNESS_MAX_CLIP_RUNS];
    size_t clip_count;

    float *clean;              /* scratch copy when a block has NaN/Inf */
    int64_t clean_cap;

    pk_truepeak *tp;
    tp_worker *worker;
    int finished;
    pk_loudness_result result;
};

void pk_loudness_options_init(pk_loudness_options *o, int rate, int channels)
{
    memset(o, 0, sizeof *o);
    o->rate = rate;
    o->channels = channels;
    o->true_peak = 1;
    o->clip_level = 0.999;
    o->clip_min_run = 3;
}

static double lufs(double mean_square)
{
    return mean_square > 0 ? -0.691 + 10.0 * log10(mean_square) : -INFINITY;
}

static double db(double linear)
{
    return linear > 0 ? 20.0 * log10(linear) : -INFINITY;
}

/* ---- true-peak worker --------------------------------------------------- */

static void *worker_main(void *arg)
{
    pk_loudness *m = arg;
    tp_worker *w = m->worker;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->pending && !w->quit)
            pthread_cond_wait(&w->changed, &w->lock);
        if (!w->pending)
            break;
        float *b = w->pending_buf;
        w->pending_buf = w->work_buf;
        w->work_buf = b;
        int64_t n = w->pending_frames;
        w->pending = 0;
        w->busy = 1;
        pthread_cond_broadcast(&w->changed);
        pthread_mutex_unlock(&w->lock);
        pk_truepeak_add(m->tp, b, n);
        pthread_mutex_lock(&w->lock);
        w->busy = 0;
        pthread_cond_broadcast(&w->changed);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Hand a copy of the block to the worker; waits only while the previous
 * hand-over has not been picked up. Falls back to measuring inline. */
static void tp_submit(pk_loudness *m, const float *in, int64_t frames)
{
    tp_worker *w = m->worker;
    if (!w) {
        pk_truepeak_add(m->tp, in, frames);
        return;
    }
    pthread_mutex_lock(&w->lock);
    while (w->pending)
        pthread_cond_wait(&w->changed, &w->lock);
    int64_t need = frames * m->channels;
    if (need > w->cap) {
        /* Both buffers grow together; the worker holds none while we wait. */
        while (w->busy)
            pthread_cond_wait(&w->changed, &w->lock);
        float *a = realloc(w->pending_buf, (size_t)need * sizeof(float));
        if (a)
            w->pending_buf = a;
        float *b = a ? realloc(w->work_buf, (size_t)need * sizeof(float)) : NULL;
        if (b)
            w->work_buf = b;
        if (!a || !b) {
            pthread_mutex_unlock(&w->lock);
            pk_truepeak_add(m->tp, in, frames);
            return;
        }
        w->cap = need;
    }
    memcpy(w->pending_buf, in, (size_t)need * sizeof(float));
    w->pending_frames = frames;
    w->pending = 1;
    pthread_cond_broadcast(&w->changed);
    pthread_mutex_unlock(&w->lock);
}

static void tp_drain(pk_loudness *m)
{
    tp_worker *w = m->worker;
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->quit = 1;
    pthread_cond_broadcast(&w->changed);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->changed);
    free(w->pending_buf);
    free(w->work_buf);
    free(w);
    m->worker = NULL;
}

static int want_worker(const pk_loudness *m)
{
    int t = m->opt.threads;
    if (t == 0)
        t = pk_ctx_threads(m->ctx);
    if (t == 0)
        t = (int)sysconf(_SC_NPROCESSORS_ONLN);
    return t > 1;
}

/* ---- construction -------------------------------------------------------- */

pk_status pk_loudness_new(pk_ctx *ctx, const pk_loudness_options *o, pk_loudness **out)
{
    *out = NULL;
    if (o->rate < 1000 || o->rate > 768000)
        return pk_fail(ctx, PK_ERR_USAGE, NULL, "sample rate %d Hz is not supported by the loudness meter",
                       o->rate);
    if (o->channels < 1 || o->channels > PK_LOUDNESS_MAX_CHANNELS)
        return pk_fail(ctx, PK_ERR_USAGE, NULL, "%d channels: the loudness meter measures 1 to %d",
                       o->channels, PK_LOUDNESS_MAX_CHANNELS);
    pk_loudness *m = calloc(1, sizeof *m);
    if (!m)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    m->ctx = ctx;
    m->opt = *o;
    m->opt.layout = NULL; /* not kept: the caller's string may not outlive us */
    if (m->opt.clip_level <= 0)
        m->opt.clip_level = 0.999;
    if (m->opt.clip_min_run < 1)
        m->opt.clip_min_run = 1;
    m->channels = o->channels;
    pk_status st = pk_channel_weights(ctx, o->layout, o->channels, m->names, m->weight);
    if (st != PK_OK) {
        free(m);
        return st;
    }
    for (int c = 0; c < o->channels; c++)
        if (m->weight[c] > 0)
            m->measured[m->nmeasured++] = c;
    pk_kweight_design(o->rate, &m->shelf, &m->hp);
    m->step_end = (int64_t)o->rate / 1000;
    m->max_m = m->max_s = -INFINITY;
    m->max_m_time = m->max_s_time = NAN;
    m->first_bad = -1;
    m->blocks = calloc(1, sizeof *m->blocks);
    m->shorts = calloc(1, sizeof *m->shorts);
    if (!m->blocks || !m->shorts)
        goto nomem;
    if (o->true_peak) {
        m->tp = pk_truepeak_new(o->channels);
        if (!m->tp)
            goto nomem;
        if (want_worker(m)) {
            tp_worker *w = calloc(1, sizeof *w);
            if (!w)
                goto nomem;
            pthread_mutex_init(&w->lock, NULL);
            pthread_cond_init(&w->changed, NULL);
            m->worker = w;
            if (pthread_create(&w->thread, NULL, worker_main, m) != 0) {
                /* No thread: measure inline; correctness does not depend on it. */
                pthread_mutex_destroy(&w->lock);
                pthread_cond_destroy(&w->changed);
                free(w);
                m->worker = NULL;
            }
        }
    }
    *out = m;
    return PK_OK;
nomem:
    pk_loudness_free(m);
    return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
}

void pk_loudness_free(pk_loudness *m)
{
    if (!m)
        return;
    tp_drain(m);
    pk_truepeak_free(m->tp);
    free(m->blocks);
    free(m->shorts);
    free(m->clean);
    free(m);
}

/* ---- gating ------------------------------------------------------------- */

static void hist_add(histogram *h, double mean_square)
{
    double l = lufs(mean_square);
    if (!(l > HIST_LO))
        return; /* absolute gate: strictly above -70 LUFS */
    int64_t b = (int64_t)((l - HIST_LO) / HIST_STEP);
    if (b >= HIST_BINS)
        b = HIST_BINS - 1;
    h->count[b]++;
    h->energy[b] += mean_square;
    h->total++;
}

static double bin_centre(int64_t b)
{
    return HIST_LO + ((double)b + 0.5) * HIST_STEP;
}

/* First bin whose values lie above `threshold` (LUFS). Values in the bin
 * that contains the threshold count as above when the bin's centre is. */
static int64_t first_bin_above(double threshold)
{
    if (threshold <= HIST_LO)
        return 0;
    int64_t b = (int64_t)floor((threshold - HIST_LO) / HIST_STEP);
    if (b >= HIST_BINS)
        return HIST_BINS;
    return bin_centre(b) > threshold ? b : b + 1;
}

/* Energy mean over bins [from, HIST_BINS) of several histograms. */
static void hist_mean(histogram *const *h, size_t n, int64_t from, double *mean, int64_t *count)
{
    double e = 0;
    int64_t c = 0;
    for (size_t i = 0; i < n; i++)
        for (int64_t b = from; b < HIST_BINS; b++) {
            c += h[i]->count[b];
            e += h[i]->energy[b];
        }
    *mean = c ? e / (double)c : 0;
    *count = c;
}

/* BS.1770-4 integrated loudness of the pooled gating blocks. */
static void integrated_of(histogram *const *h, size_t n, double *integrated, double *gate,
                          int64_t *used)
{
    double mean;
    int64_t count;
    hist_mean(h, n, 0, &mean, &count);
    *used = 0;
    if (count == 0) {
        *integrated = -INFINITY;
        *gate = NAN;
        return;
    }
    *gate = lufs(mean) - 10.0;
    hist_mean(h, n, first_bin_above(*gate), &mean, used);
    *integrated = *used ? lufs(mean) : -INFINITY;
}

/* The loudness value (bin centre) of the value of rank `r` (0-based, in
 * ascending order) among bins [from, HIST_BINS). */
static double hist_rank(histogram *const *h, size_t n, int64_t from, int64_t r)
{
    int64_t seen = 0;
    for (int64_t b = from; b < HIST_BINS; b++) {
        for (size_t i = 0; i < n; i++)
            seen += h[i]->count[b];
        if (seen > r)
            return bin_centre(b);
    }
    return bin_centre(HIST_BINS - 1);
}

/* EBU Tech 3342 loudness range of pooled short-term values. */
static void range_of(histogram *const *h, size_t n, double *range, double *low, double *high)
{
    double mean;
    int64_t count;
    hist_mean(h, n, 0, &mean, &count);
    if (count == 0) {
        *range = 0;
        *low = *high = NAN;
        return;
    }
    int64_t from = first_bin_above(lufs(mean) - 20.0);
    hist_mean(h, n, from, &mean, &count);
    if (count == 0) {
        *range = 0;
        *low = *high = NAN;
        return;
    }
    /* Nearest-rank percentiles of the sorted values. */
    *low = hist_rank(h, n, from, (int64_t)((double)(count - 1) * 0.10 + 0.5));
    *high = hist_rank(h, n, from, (int64_t)((double)(count - 1) * 0.95 + 0.5));
    *range = *high - *low;
}

/* ---- the per-step machinery --------------------------------------------- */

static double window_loudness(double e, int64_t n)
{
    return n > 0 ? lufs(e / (double)n) : NAN;
}

/* One step of `n` frames is complete with weighted energy `e`. */
static void step_done(pk_loudness *m, double e, int32_t n)
{
    int64_t k = m->step;
    int slot = (int)(k % RING);
    if (k >= RING) {
        m->run_e_s -= m->ring_e[slot];
        m->run_n_s -= m->ring_n[slot];
    }
    if (k >= MOMENTARY) {
        int old = (int)((k - MOMENTARY) % RING);
        m->run_e_m -= m->ring_e[old];
        m->run_n_m -= m->ring_n[old];
    }
    m->ring_e[slot] = e;
    m->ring_n[slot] = n;
    m->run_e_m += e;
    m->run_n_m += n;
    m->run_e_s += e;
    m->run_n_s += n;
    k = ++m->step;

    if (k % BLOCK_EVERY == 0) {
        /* Re-add the windows exactly so running sums never drift. */
        double em = 0, es = 0;
        int64_t nm = 0, ns = 0;
        int64_t have = k < RING ? k : RING;
        for (int64_t j = 0; j < have; j++) {
            int s = (int)((k - 1 - j) % RING);
            if (j < MOMENTARY) {
                em += m->ring_e[s];
                nm += m->ring_n[s];
            }
            es += m->ring_e[s];
            ns += m->ring_n[s];
        }
        m->run_e_m = em;
        m->run_n_m = nm;
        m->run_e_s = es;
        m->run_n_s = ns;
    }
    double t = (double)k / 1000.0;
    double lm = NAN, ls = NAN;
    if (k >= MOMENTARY) {
        lm = window_loudness(fmax(m->run_e_m, 0), m->run_n_m);
        if (lm > m->max_m) {
            m->max_m = lm;
            m->max_m_time = t;
        }
    }
    if (k >= RING) {
        ls = window_loudness(fmax(m->run_e_s, 0), m->run_n_s);
        if (ls > m->max_s) {
            m->max_s = ls;
            m->max_s_time = t;
        }
    }
    if (k % BLOCK_EVERY == 0) {
        if (k >= MOMENTARY)
            hist_add(m->blocks, m->run_e_m / (double)m->run_n_m);
        if (k >= RING)
            hist_add(m->shorts, m->run_e_s / (double)m->run_n_s);
        if (m->opt.on_update)
            m->opt.on_update(m->opt.user, t, lm, ls);
    }
}

/* K-weight `n` frames of channels a and b (b may equal a, then it is done
 * once) starting at interleaved frame `first`; adds each channel's sum of
 * squares times its weight to *energy. Two channels share one loop so the
 * processor overlaps their recursive filter chains. */
static void kweight_pair(pk_loudness *m, int a, int b, const float *in, int64_t first, int64_t n,
                         double *energy)
{
    const pk_biquad s = m->shelf, h = m->hp;
    double *sa = m->state[a], *sb = m->state[b];
    double a1 = sa[0], a2 = sa[1], a3 = sa[2], a4 = sa[3];
    double b1 = sb[0], b2 = sb[1], b3 = sb[2], b4 = sb[3];
    double suma = 0, sumb = 0;
    const int C = m->channels;
    const float *xa = in + first * C + a, *xb = in + first * C + b;
    for (int64_t i = 0; i < n; i++) {
        double va = xa[i * C], vb = xb[i * C];
        double ya = s.b0 * va + a1, yb = s.b0 * vb + b1;
        a1 = s.b1 * va - s.a1 * ya + a2;
        b1 = s.b1 * vb - s.a1 * yb + b2;
        a2 = s.b2 * va - s.a2 * ya;
        b2 = s.b2 * vb - s.a2 * yb;
        double za = ya + a3, zb = yb + b3; /* high-pass b0 = 1, b1 = -2, b2 = 1 */
        a3 = -2.0 * ya - h.a1 * za + a4;
        b3 = -2.0 * yb - h.a1 * zb + b4;
        a4 = ya - h.a2 * za;
        b4 = yb - h.a2 * zb;
        suma += za * za;
        sumb += zb * zb;
    }
    /* Flush the decay after the signal stops before it turns denormal
     * (silence would otherwise run at a fraction of the speed). */
    if (fabs(a1) + fabs(a2) + fabs(a3) + fabs(a4) < 1e-30)
        a1 = a2 = a3 = a4 = 0;
    if (fabs(b1) + fabs(b2) + fabs(b3) + fabs(b4) < 1e-30)
        b1 = b2 = b3 = b4 = 0;
    sa[0] = a1, sa[1] = a2, sa[2] = a3, sa[3] = a4;
    *energy += m->weight[a] * suma;
    if (b != a) {
        sb[0] = b1, sb[1] = b2, sb[2] = b3, sb[3] = b4;
        *energy += m->weight[b] * sumb;
    }
}

static void kweight_block(pk_loudness *m, const float *in, int64_t frames)
{
    int64_t done = 0;
    while (done < frames) {
        int64_t n = m->step_end - m->frames;
        if (n > frames - done)
            n = frames - done;
        double e = 0;
        for (int i = 0; i < m->nmeasured; i += 2) {
            int a = m->measured[i], b = i + 1 < m->nmeasured ? m->measured[i + 1] : a;
            kweight_pair(m, a, b, in, done, n, &e);
        }
        m->step_energy += e;
        m->frames += n;
        done += n;
        if (m->frames == m->step_end) {
            int64_t begin = m->step * m->opt.rate / 1000;
            step_done(m, m->step_energy, (int32_t)(m->step_end - begin));
            m->step_energy = 0;
            m->step_end = (m->step + 1) * m->opt.rate / 1000;
        }
    }
}

static void record_run(pk_loudness *m, int c, int64_t start, int64_t len)
{
    m->clipped[c] += len;
    m->runs[c]++;
    if (len > m->longest_run)
        m->longest_run = len;
    pk_clip_run run = {.channel = c, .start = start, .length = len};
    if (m->clip_count < PK_LOUDNESS_MAX_CLIP_RUNS)
        m->clip_list[m->clip_count++] = run;
    if (m->opt.on_clip)
        m->opt.on_clip(m->opt.user, &run);
}

/* Peaks, clipping and over-full-scale samples of one (finite) block. */
static void scan_block(pk_loudness *m, const float *in, int64_t frames)
{
    const int C = m->channels;
    const float level = (float)m->opt.clip_level;
    for (int c = 0; c < C; c++) {
        float peak = m->peak[c];
        clip_state cs = m->clip[c];
        int64_t over = 0;
        const float *x = in + c;
        for (int64_t i = 0; i < frames; i++) {
            float a = fabsf(x[i * C]);
            peak = a > peak ? a : peak;
            over += a > 1.0f;
            if (a >= level) {
                if (cs.run++ == 0)
                    cs.start = m->frames + i;
            } else if (cs.run) {
                if (cs.run >= m->opt.clip_min_run)
                    record_run(m, c, cs.start, cs.run);
                cs.run = 0;
            }
        }
        m->peak[c] = peak;
        m->clip[c] = cs;
        m->over_fs += over;
    }
}

/* Returns `in`, or a copy with every NaN/Inf replaced by 0 (counted). NULL
 * when out of memory. */
static const float *sanitise(pk_loudness *m, const float *in, int64_t frames)
{
    int64_t n = frames * m->channels;
    int bad = 0;
    for (int64_t i = 0; i < n; i++)
        bad |= !isfinite(in[i]);
    if (!bad)
        return in;
    if (n > m->clean_cap) {
        float *b = realloc(m->clean, (size_t)n * sizeof(float));
        if (!b)
            return NULL;
        m->clean = b;
        m->clean_cap = n;
    }
    for (int64_t i = 0; i < n; i++) {
        float v = in[i];
        if (isfinite(v)) {
            m->clean[i] = v;
            continue;
        }
        if (isnan(v))
            m->nan++;
        else
            m->inf++;
        if (m->first_bad < 0)
            m->first_bad = m->frames + i / m->channels;
        m->clean[i] = 0.0f;
    }
    return m->clean;
}

pk_status pk_loudness_add(pk_loudness *m, const float *in, int64_t frames)
{
    if (m->finished)
        return pk_fail(m->ctx, PK_ERR_INTERNAL, NULL, "loudness meter fed after it finished");
    if (frames <= 0)
        return PK_OK;
    const float *x = sanitise(m, in, frames);
    if (!x)
        return pk_fail(m->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    if (m->tp)
        tp_submit(m, x, frames);
    scan_block(m, x, frames);
    kweight_block(m, x, frames);
    return PK_OK;
}

/* ---- results ------------------------------------------------------------ */

pk_status pk_loudness_finish(pk_loudness *m, pk_loudness_result *r)
{
    if (!m->finished) {
        tp_drain(m);
        for (int c = 0; c < m->channels; c++)
            if (m->clip[c].run >= m->opt.clip_min_run)
                record_run(m, c, m->clip[c].start, m->clip[c].run);
        m->finished = 1;

        pk_loudness_result *o = &m->result;
        memset(o, 0, sizeof *o);
        o->rate = m->opt.rate;
        o->channels = m->channels;
        o->frames = m->frames;
        o->duration = (double)m->frames / m->opt.rate;
        if (m->step < MOMENTARY) {
            o->integrated = o->relative_gate = NAN;
        } else {
            integrated_of(&m->blocks, 1, &o->integrated, &o->relative_gate, &o->gated_blocks);
        }
        if (m->step < RING)
            o->range = o->range_low = o->range_high = NAN;
        else
            range_of(&m->shorts, 1, &o->range, &o->range_low, &o->range_high);
        o->max_momentary = m->step >= MOMENTARY ? m->max_m : NAN;
        o->max_momentary_time = m->max_m_time;
        o->max_short_term = m->step >= RING ? m->max_s : NAN;
        o->max_short_term_time = m->max_s_time;
        float sp = 0;
        double tp = 0;
        for (int c = 0; c < m->channels; c++) {
            pk_loudness_channel *ch = &o->channel[c];
            memcpy(ch->name, m->names[c], sizeof ch->name);
            ch->weight = m->weight[c];
            ch->sample_peak = db(m->peak[c]);
            sp = m->peak[c] > sp ? m->peak[c] : sp;
            if (m->tp) {
                double v = fmax(pk_truepeak_get(m->tp, c), m->peak[c]);
                ch->true_peak = db(v);
                tp = fmax(tp, v);
            } else {
                ch->true_peak = NAN;
            }
            ch->clipped_samples = m->clipped[c];
            ch->clip_runs = m->runs[c];
            o->clipped_samples += m->clipped[c];
            o->clip_runs += m->runs[c];
        }
        o->sample_peak = db(sp);
        o->true_peak = m->tp ? db(tp) : NAN;
        o->true_peak_oversampling = m->tp ? PK_TP_FACTOR : 0;
        o->longest_clip_run = m->longest_run;
        o->over_full_scale = m->over_fs;
        o->nan_samples = m->nan;
        o->inf_samples = m->inf;
        o->first_non_finite_time = m->first_bad >= 0 ? (double)m->first_bad / m->opt.rate : NAN;
    }
    if (r)
        *r = m->result;
    return PK_OK;
}

size_t pk_loudness_clip_list(const pk_loudness *m, const pk_clip_run **runs)
{
    *runs = m->clip_list;
    return m->clip_count;
}

pk_status pk_loudness_album(pk_ctx *ctx, pk_loudness *const *meters, size_t n, double *integrated,
                            double *range)
{
    histogram **b = calloc(n ? n : 1, sizeof *b), **s = calloc(n ? n : 1, sizeof *s);
    if (!b || !s) {
        free(b);
        free(s);
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    int64_t steps = 0, long_enough = 0;
    for (size_t i = 0; i < n; i++) {
        pk_loudness_finish(meters[i], NULL);
        b[i] = meters[i]->blocks;
        s[i] = meters[i]->shorts;
        steps += meters[i]->step;
        long_enough |= meters[i]->step >= RING;
    }
    double gate, low, high;
    int64_t used;
    if (steps < MOMENTARY)
        *integrated = NAN;
    else
        integrated_of(b, n, integrated, &gate, &used);
    if (!long_enough)
        *range = NAN;
    else
        range_of(s, n, range, &low, &high);
    free(b);
    free(s);
    return PK_OK;
}

/* ---- the record --------------------------------------------------------- */

/* A loudness figure: rounded to 0.01, JSON null for NaN, and -inf as null
 * (JSON has no infinity; the notes say why). */
static json_t *figure(double v)
{
    return isfinite(v) ? json_real(pk_round(v, 2)) : json_null();
}

pk_status pk_loudness_json(pk_loudness *m, json_t **out)
{
    pk_loudness_result r;
    pk_loudness_finish(m, &r);
    json_t *j = json_object();
    json_t *notes = json_array();
    json_object_set_new(j, "integrated", figure(r.integrated));
    if (isnan(r.integrated))
        json_array_append_new(notes, json_string("shorter than one 400 ms block: no integrated loudness"));
    else if (isinf(r.integrated))
        json_array_append_new(notes, json_string("below the -70 LUFS absolute gate (silence)"));
    json_object_set_new(j, "relative_gate", figure(r.relative_gate));
    json_object_set_new(j, "loudness_range", figure(r.range));
    json_object_set_new(j, "range_low", figure(r.range_low));
    json_object_set_new(j, "range_high", figure(r.range_high));
    if (isnan(r.range))
        json_array_append_new(notes, json_string("shorter than 3 s: no short-term loudness or range"));
    json_object_set_new(j, "max_momentary", figure(r.max_momentary));
    json_object_set_new(j, "max_momentary_time", figure(r.max_momentary_time));
    json_object_set_new(j, "max_short_term", figure(r.max_short_term));
    json_object_set_new(j, "max_short_term_time", figure(r.max_short_term_time));
    json_object_set_new(j, "sample_peak", figure(r.sample_peak));
    json_object_set_new(j, "true_peak", figure(r.true_peak));
    if (r.true_peak_oversampling)
        json_object_set_new(j, "true_peak_oversampling", json_integer(r.true_peak_oversampling));
    json_object_set_new(j, "duration", json_real(pk_round(r.duration, 3)));
    json_object_set_new(j, "sample_rate", json_integer(r.rate));

    json_t *chans = json_array();
    for (int c = 0; c < r.channels; c++) {
        const pk_loudness_channel *ch = &r.channel[c];
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(ch->name));
        json_object_set_new(o, "weight", json_real(ch->weight));
        json_object_set_new(o, "sample_peak", figure(ch->sample_peak));
        json_object_set_new(o, "true_peak", figure(ch->true_peak));
        json_object_set_new(o, "clipped_samples", json_integer(ch->clipped_samples));
        json_array_append_new(chans, o);
    }
    json_object_set_new(j, "channels", chans);

    json_t *clip = json_object();
    json_object_set_new(clip, "samples", json_integer(r.clipped_samples));
    json_object_set_new(clip, "runs", json_integer(r.clip_runs));
    json_object_set_new(clip, "longest_run", json_integer(r.longest_clip_run));
    json_object_set_new(clip, "level", json_real(pk_round(db(m->opt.clip_level), 3)));
    json_object_set_new(clip, "min_run", json_integer(m->opt.clip_min_run));
    json_object_set_new(clip, "over_full_scale", json_integer(r.over_full_scale));
    json_t *list = json_array();
    for (size_t i = 0; i < m->clip_count; i++) {
        const pk_clip_run *cr = &m->clip_list[i];
        json_t *o = json_object();
        json_object_set_new(o, "channel", json_string(m->names[cr->channel]));
        json_object_set_new(o, "time", json_real(pk_round((double)cr->start / r.rate, 4)));
        json_object_set_new(o, "samples", json_integer(cr->length));
        json_array_append_new(list, o);
    }
    json_object_set_new(clip, "list", list);
    if (r.clip_runs > (int64_t)m->clip_count)
        json_object_set_new(clip, "list_truncated", json_true());
    json_object_set_new(j, "clipping", clip);
    if (r.clip_runs)
        json_array_append_new(notes, json_string("clipped samples found"));

    if (r.nan_samples || r.inf_samples) {
        json_t *nf = json_object();
        json_object_set_new(nf, "nan", json_integer(r.nan_samples));
        json_object_set_new(nf, "inf", json_integer(r.inf_samples));
        json_object_set_new(nf, "first_time", json_real(pk_round(r.first_non_finite_time, 4)));
        json_object_set_new(j, "non_finite", nf);
        json_array_append_new(notes, json_string("NaN/Inf samples found; measured as silence"));
    }
    json_object_set_new(j, "notes", notes);
    *out = j;
    return PK_OK;
}
