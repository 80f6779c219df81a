/*
 * pool.c — per-item parallelism with results delivered in input order.
 *
 * Workers claim indices in order; a result waits in a ring of `window` slots
 * until every earlier result has been emitted. A worker never runs more than
 * `window` items ahead of the emitter, so memory is bounded by the window,
 * not by the number of items (500,000 files cost the same as 50).
 */
#include "core/internal.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct pool {
    pk_ctx *ctx;
    size_t n, window;
    size_t next;      /* next index to claim */
    size_t emitted;   /* next index to emit */
    void **results;
    unsigned char *ready;
    int running;      /* workers still alive */
    pk_work_fn work;
    void *user;
    pthread_mutex_t lock;
    pthread_cond_t changed;
} pool;

static void *worker_main(void *arg)
{
    pool *p = arg;
    pk_ctx *wctx = NULL;
    if (pk_ctx_new_child(p->ctx, &wctx) != PK_OK)
        wctx = NULL;
    pthread_mutex_lock(&p->lock);
    while (wctx) {
        while (p->next < p->n && p->next >= p->emitted + p->window && !pk_ctx_interrupted(p->ctx))
            pthread_cond_wait(&p->changed, &p->lock);
        if (p->next >= p->n || pk_ctx_interrupted(p->ctx))
            break;
        size_t i = p->next++;
        pthread_mutex_unlock(&p->lock);
        void *r = p->work(wctx, i, p->user);
        pthread_mutex_lock(&p->lock);
        p->results[i % p->window] = r;
        p->ready[i % p->window] = 1;
        pthread_cond_broadcast(&p->changed);
    }
    p->running--;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
    pk_ctx_free(wctx);
    return NULL;
}

pk_status pk_parallel_ordered(pk_ctx *ctx, size_t n, pk_work_fn work, pk_emit_fn emit, void *user)
{
    if (n == 0)
        return PK_OK;
    int threads = pk_ctx_threads(ctx);
    if ((size_t)threads > n)
        threads = (int)n;
    pool p = {.ctx = ctx, .n = n, .work = work, .user = user};
    p.window = (size_t)threads * 4;
    p.results = calloc(p.window, sizeof *p.results);
    p.ready = calloc(p.window, 1);
    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    if (!p.results || !p.ready || !tids) {
        free(p.results);
        free(p.ready);
        free(tids);
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.changed, NULL);
    int started = 0;
    pthread_mutex_lock(&p.lock);
    for (int t = 0; t < threads; t++) {
        if (pthread_create(&tids[t], NULL, worker_main, &p) != 0)
            break;
        started++;
        p.running++;
    }
    pk_status st = started ? PK_OK : pk_fail(ctx, PK_ERR_INTERNAL, NULL, "cannot start threads");
    while (st == PK_OK && p.emitted < n) {
        size_t slot = p.emitted % p.window;
        if (p.ready[slot]) {
            void *r = p.results[slot];
            p.ready[slot] = 0;
            size_t i = p.emitted++;
            pthread_cond_broadcast(&p.changed);
            pthread_mutex_unlock(&p.lock);
            emit(i, r, user);
            pthread_mutex_lock(&p.lock);
        } else if (p.running == 0) {
            break; /* interrupted: the rest was never claimed */
        } else {
            pthread_cond_wait(&p.changed, &p.lock);
        }
    }
    pthread_mutex_unlock(&p.lock);
    for (int t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
    /* Results finished after an interruption are still emitted, in order, so
     * nothing computed is lost or leaked. */
    while (st == PK_OK && p.emitted < p.next && p.ready[p.emitted % p.window]) {
        size_t slot = p.emitted % p.window;
        p.ready[slot] = 0;
        emit(p.emitted, p.results[slot], user);
        p.emitted++;
    }
    if (st == PK_OK && p.emitted < n)
        st = pk_fail(ctx, PK_ERR_INTERRUPTED, NULL, "interrupted after %zu of %zu", p.emitted, n);
    pthread_cond_destroy(&p.changed);
    pthread_mutex_destroy(&p.lock);
    free(p.results);
    free(p.ready);
    free(tids);
    return st;
}
