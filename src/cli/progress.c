/*
 * progress.c — the progress bar on stderr, and log lines that do not tear it.
 *
 * Updates come from worker threads; a mutex serialises them and the bar is
 * redrawn at most ten times a second, so progress costs nothing measurable.
 */
#include "cli/cli.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static struct {
    int enabled;
    int active;      /* a bar is on screen */
    char label[64];
    char unit[16];
    double total, done;
    double start, last_draw;
} bar;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void clear_line(void)
{
    if (bar.active)
        fputs("\r\033[K", stderr);
}

static void format_eta(double seconds, char *buf, size_t size)
{
    if (!isfinite(seconds) || seconds < 0) {
        snprintf(buf, size, "--:--");
        return;
    }
    long s = lround(seconds);
    if (s >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, size, "%ld:%02ld", s / 60, s % 60);
}

static void draw(void)
{
    double elapsed = now() - bar.start;
    double rate = elapsed > 0 ? bar.done / elapsed : 0;
    char eta[32];
    clear_line();
    if (bar.total > 0) {
        double frac = bar.done / bar.total;
        if (frac > 1)
            frac = 1;
        enum { WIDTH = 28 };
        char cells[WIDTH + 1];
        int filled = (int)(frac * WIDTH);
        for (int i = 0; i < WIDTH; i++)
            cells[i] = i < filled ? '#' : '.';
        cells[WIDTH] = '\0';
        format_eta(rate > 0 ? (bar.total - bar.done) / rate : NAN, eta, sizeof eta);
        fprintf(stderr, "%s [%s] %3.0f%%  %.0f/%.0f %s  %.1f %s/s  ETA %s", bar.label, cells,
                frac * 100, bar.done, bar.total, bar.unit, rate, bar.unit, eta);
    } else {
        fprintf(stderr, "%s  %.0f %s  %.1f %s/s", bar.label, bar.done, bar.unit, rate, bar.unit);
    }
    fflush(stderr);
    bar.active = 1;
    bar.last_draw = now();
}

static void on_begin(void *user, const char *label, double total, const char *unit)
{
    (void)user;
    pthread_mutex_lock(&lock);
    snprintf(bar.label, sizeof bar.label, "%s", label);
    snprintf(bar.unit, sizeof bar.unit, "%s", unit ? unit : "");
    bar.total = total;
    bar.done = 0;
    bar.start = now();
    bar.last_draw = 0;
    pthread_mutex_unlock(&lock);
}

static void on_update(void *user, double done)
{
    (void)user;
    pthread_mutex_lock(&lock);
    bar.done = done;
    /* Stay silent for the first half second: short jobs need no bar. */
    if (now() - bar.start > 0.5 && now() - bar.last_draw > 0.1)
        draw();
    pthread_mutex_unlock(&lock);
}

static void on_end(void *user)
{
    (void)user;
    pthread_mutex_lock(&lock);
    clear_line();
    bar.active = 0;
    fflush(stderr);
    pthread_mutex_unlock(&lock);
}

void cli_progress_install(pk_ctx *ctx, int enabled)
{
    bar.enabled = enabled;
    if (!enabled)
        return;
    static const pk_progress_cb cb = {on_begin, on_update, on_end, NULL};
    pk_ctx_set_progress(ctx, &cb);
}

void cli_print_stderr(const char *prefix, const char *message)
{
    pthread_mutex_lock(&lock);
    int redraw = bar.active;
    clear_line();
    bar.active = 0;
    fprintf(stderr, "postkit: %s%s\n", prefix, message);
    if (redraw)
        draw();
    pthread_mutex_unlock(&lock);
}
