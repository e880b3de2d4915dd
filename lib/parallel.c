/*
 * parallel.c: a "parallel for" on a persistent pool of C11 <threads.h>
 * workers, started on first use and parked on a condition variable between
 * calls. Work is split into contiguous ranges that depend only on the item
 * count, the worker count and the grain, so callers that reduce per range
 * in a fixed order get the same bits for any thread count, and whichever
 * thread runs a range.
 */
/* sched_getaffinity and CPU_COUNT are GNU extensions of <sched.h>. */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE 1
#endif
#include "internal.h"

#include <threads.h>
#include <unistd.h>
#if defined(__linux__)
#include <sched.h>
#endif

#define QML_MAX_WORKERS 256u

/* The cores this process may run on: the affinity mask where the platform
 * tells it (taskset, cgroup cpusets, MPI bindings), else the online cores. */
unsigned qml__cpu_count(void)
{
#if defined(__linux__) && defined(CPU_COUNT)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n >= 1)
            return n > (int)QML_MAX_WORKERS ? QML_MAX_WORKERS : (unsigned)n;
    }
#endif
#ifdef _SC_NPROCESSORS_ONLN
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n >= 1)
        return n > (long)QML_MAX_WORKERS ? QML_MAX_WORKERS : (unsigned)n;
#endif
    return 1;
}

unsigned qml__resolve_threads(unsigned requested)
{
    if (requested == 0)
        return qml__cpu_count();
    return requested > QML_MAX_WORKERS ? QML_MAX_WORKERS : requested;
}

typedef struct range_job {
    qml__range_fn fn;
    void *context;
    size_t begin;
    size_t end;
    unsigned worker;
} range_job;

static void run_job(const range_job *job)
{
    job->fn(job->context, job->begin, job->end, job->worker);
}

/* ---- the pool ----------------------------------------------------------------
 * One process-wide pool. A call takes the pool with a try-lock for its whole
 * duration: a call made while the pool is busy (from another thread of the
 * caller's, or from inside a pool worker: a kernel inside a batch row) runs
 * its ranges on the calling thread instead, which gives the same results.
 * Worker w (1-based) runs range w of the current job; the calling thread
 * runs range 0 and every range whose worker could not be started. Starting
 * threads per call cost tens of microseconds, as long as a whole sweep of
 * 2^16 amplitudes (2 threads ran slower than 1 there). */
typedef struct pool {
    bool usable;                 /* the mutexes and condition exist */
    mtx_t submit;                /* held by the call using the pool */
    mtx_t lock;                  /* guards everything below */
    cnd_t wake;                  /* a new job (generation changed) */
    cnd_t done;                  /* remaining reached 0 */
    unsigned n_started;          /* workers running: 1..n_started */
    uint64_t generation;
    uint64_t birth_generation;   /* the generation when the newest workers were started */
    const range_job *jobs;       /* the current job's ranges (the caller's stack) */
    unsigned n_jobs;
    unsigned remaining;          /* worker ranges not yet finished */
    pid_t owner;                 /* the process that started the workers */
} pool;

static pool the_pool;
static once_flag pool_once = ONCE_FLAG_INIT;

static void pool_init(void)
{
    pool *p = &the_pool;
    if (mtx_init(&p->submit, mtx_plain) != thrd_success)
        return;
    if (mtx_init(&p->lock, mtx_plain) != thrd_success) {
        mtx_destroy(&p->submit);
        return;
    }
    if (cnd_init(&p->wake) != thrd_success) {
        mtx_destroy(&p->lock);
        mtx_destroy(&p->submit);
        return;
    }
    if (cnd_init(&p->done) != thrd_success) {
        cnd_destroy(&p->wake);
        mtx_destroy(&p->lock);
        mtx_destroy(&p->submit);
        return;
    }
    p->owner = getpid();
    p->usable = true;
}

/* A parked worker: waits for a new generation, runs its range if the job
 * has one, reports it, parks again. Workers live until the process ends. */
static int worker_main(void *arg)
{
    pool *p = &the_pool;
    const unsigned index = (unsigned)(uintptr_t)arg;
    mtx_lock(&p->lock);
    /* Not p->generation: the job this worker was started for may already
     * have been posted (the caller cannot finish it without this worker,
     * so birth_generation is still the one of that call). */
    uint64_t seen = p->birth_generation;
    for (;;) {
        while (p->generation == seen)
            cnd_wait(&p->wake, &p->lock);
        seen = p->generation;
        if (index >= p->n_jobs)
            continue; /* no range for this worker in this job */
        const range_job *job = &p->jobs[index];
        mtx_unlock(&p->lock);
        run_job(job);
        mtx_lock(&p->lock);
        if (--p->remaining == 0)
            cnd_signal(&p->done);
    }
    return 0;
}

/* Start workers up to `wanted` (1-based indices); returns how many run. */
static unsigned pool_grow(pool *p, unsigned wanted)
{
    while (p->n_started < wanted) {
        thrd_t thread;
        mtx_lock(&p->lock);
        unsigned index = p->n_started + 1;
        p->birth_generation = p->generation;
        mtx_unlock(&p->lock);
        if (thrd_create(&thread, worker_main, (void *)(uintptr_t)index) != thrd_success)
            break;
        thrd_detach(thread);
        mtx_lock(&p->lock);
        p->n_started = index;
        mtx_unlock(&p->lock);
    }
    return p->n_started;
}

int qml__parallel_for(unsigned n_workers, size_t n_items, size_t grain, qml__range_fn fn, void *context)
{
    if (grain == 0)
        grain = 1;
    size_t n_grains = n_items / grain + (n_items % grain != 0);
    if (n_workers > QML_MAX_WORKERS)
        n_workers = QML_MAX_WORKERS;
    if ((size_t)n_workers > n_grains)
        n_workers = (unsigned)(n_grains ? n_grains : 1);
    if (n_workers <= 1) {
        if (n_items)
            fn(context, 0, n_items, 0);
        return 1;
    }

    range_job jobs[QML_MAX_WORKERS];
    for (unsigned w = 0; w < n_workers; w++) {
        size_t g0 = n_grains * w / n_workers, g1 = n_grains * (w + 1) / n_workers;
        size_t begin = g0 * grain, end = g1 * grain;
        jobs[w] = (range_job){fn, context, begin, end < n_items ? end : n_items, w};
    }
    pool *p = &the_pool;
    call_once(&pool_once, pool_init);
    /* In a child of fork() the workers do not exist: the calling thread
     * does all the work there. */
    if (!p->usable || p->owner != getpid() || mtx_trylock(&p->submit) != thrd_success) {
        for (unsigned w = 0; w < n_workers; w++)
            run_job(&jobs[w]);
        return (int)n_workers;
    }
    unsigned started = pool_grow(p, n_workers - 1);
    unsigned helped = started < n_workers - 1 ? started : n_workers - 1;
    mtx_lock(&p->lock);
    p->jobs = jobs;
    p->n_jobs = helped + 1; /* workers 1..helped take ranges 1..helped */
    p->remaining = helped;
    p->generation++;
    cnd_broadcast(&p->wake);
    mtx_unlock(&p->lock);
    run_job(&jobs[0]);
    for (unsigned w = helped + 1; w < n_workers; w++)
        run_job(&jobs[w]); /* no worker for these: this thread does them */
    mtx_lock(&p->lock);
    while (p->remaining > 0)
        cnd_wait(&p->done, &p->lock);
    p->jobs = NULL;
    p->n_jobs = 0;
    mtx_unlock(&p->lock);
    mtx_unlock(&p->submit);
    return (int)n_workers;
}
