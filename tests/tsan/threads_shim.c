/*
 * threads_shim.c: C11 <threads.h> on POSIX threads, for ThreadSanitizer
 * builds only (.ci/jobs/tsan.sh links it into every program). The TSan of
 * clang 14 intercepts pthread_create and pthread_mutex_* but not glibc's C11
 * thrd_create or mtx_lock, so without this it sees no thread start, no join
 * and no lock, and reports races that are not there. Linked before libc,
 * these definitions take the calls; each is a direct translation.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

typedef struct shim_start {
    thrd_start_t fn;
    void *arg;
} shim_start;

static void *shim_trampoline(void *p)
{
    shim_start s = *(shim_start *)p;
    free(p);
    return (void *)(intptr_t)s.fn(s.arg);
}

static int shim_status(int rc)
{
    return rc == 0 ? thrd_success : rc == ENOMEM ? thrd_nomem : rc == EBUSY ? thrd_busy
                                  : rc == ETIMEDOUT ? thrd_timedout : thrd_error;
}

int thrd_create(thrd_t *thr, thrd_start_t func, void *arg)
{
    shim_start *s = malloc(sizeof *s);
    if (!s)
        return thrd_nomem;
    s->fn = func;
    s->arg = arg;
    int rc = pthread_create((pthread_t *)thr, NULL, shim_trampoline, s);
    if (rc)
        free(s);
    return shim_status(rc);
}

int thrd_join(thrd_t thr, int *res)
{
    void *value = NULL;
    int rc = pthread_join((pthread_t)thr, &value);
    if (rc == 0 && res)
        *res = (int)(intptr_t)value;
    return shim_status(rc);
}

int thrd_detach(thrd_t thr)
{
    return shim_status(pthread_detach((pthread_t)thr));
}

_Static_assert(sizeof(mtx_t) >= sizeof(pthread_mutex_t), "mtx_t holds a pthread mutex");
_Static_assert(sizeof(cnd_t) >= sizeof(pthread_cond_t), "cnd_t holds a pthread condition");

int mtx_init(mtx_t *mtx, int type)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    if (type & mtx_recursive)
        pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    int rc = pthread_mutex_init((pthread_mutex_t *)mtx, &attr);
    pthread_mutexattr_destroy(&attr);
    return shim_status(rc);
}

int mtx_lock(mtx_t *mtx)
{
    return shim_status(pthread_mutex_lock((pthread_mutex_t *)mtx));
}

int mtx_trylock(mtx_t *mtx)
{
    return shim_status(pthread_mutex_trylock((pthread_mutex_t *)mtx));
}

int mtx_timedlock(mtx_t *restrict mtx, const struct timespec *restrict ts)
{
    return shim_status(pthread_mutex_timedlock((pthread_mutex_t *)mtx, ts));
}

int mtx_unlock(mtx_t *mtx)
{
    return shim_status(pthread_mutex_unlock((pthread_mutex_t *)mtx));
}

void mtx_destroy(mtx_t *mtx)
{
    pthread_mutex_destroy((pthread_mutex_t *)mtx);
}

int cnd_init(cnd_t *cond)
{
    return shim_status(pthread_cond_init((pthread_cond_t *)cond, NULL));
}

int cnd_signal(cnd_t *cond)
{
    return shim_status(pthread_cond_signal((pthread_cond_t *)cond));
}

int cnd_broadcast(cnd_t *cond)
{
    return shim_status(pthread_cond_broadcast((pthread_cond_t *)cond));
}

int cnd_wait(cnd_t *cond, mtx_t *mtx)
{
    return shim_status(pthread_cond_wait((pthread_cond_t *)cond, (pthread_mutex_t *)mtx));
}

int cnd_timedwait(cnd_t *restrict cond, mtx_t *restrict mtx, const struct timespec *restrict ts)
{
    return shim_status(pthread_cond_timedwait((pthread_cond_t *)cond, (pthread_mutex_t *)mtx, ts));
}

void cnd_destroy(cnd_t *cond)
{
    pthread_cond_destroy((pthread_cond_t *)cond);
}
