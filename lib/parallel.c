/*
 * parallel.c: a fork-join "parallel for" on C11 <threads.h>. Work is split
 * into contiguous ranges that depend only on the item count, the worker
 * count and the grain, so callers that reduce per range in a fixed order get
 * the same bits for any thread count they choose to split the same way.
 */
#include "internal.h"

#include <threads.h>
#include <unistd.h>

#define QML_MAX_WORKERS 256u

unsigned qml__cpu_count(void)
{
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

static int run_job(void *arg)
{
    range_job *job = arg;
    job->fn(job->context, job->begin, job->end, job->worker);
    return 0;
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
    thrd_t threads[QML_MAX_WORKERS];
    bool started[QML_MAX_WORKERS];
    for (unsigned w = 0; w < n_workers; w++) {
        size_t g0 = n_grains * w / n_workers, g1 = n_grains * (w + 1) / n_workers;
        size_t begin = g0 * grain, end = g1 * grain;
        jobs[w] = (range_job){fn, context, begin, end < n_items ? end : n_items, w};
    }
    for (unsigned w = 1; w < n_workers; w++)
        started[w] = thrd_create(&threads[w], run_job, &jobs[w]) == thrd_success;
    run_job(&jobs[0]);
    for (unsigned w = 1; w < n_workers; w++) {
        if (started[w])
            thrd_join(threads[w], NULL);
        else
            run_job(&jobs[w]); /* the work still gets done, on this thread */
    }
    return (int)n_workers;
}
