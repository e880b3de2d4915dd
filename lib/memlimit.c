/*
 * memlimit.c: how much memory this process may hold, so that a call that
 * needs more is refused with QML_ERR_LIMIT and the numbers before it
 * allocates, instead of being killed by the kernel (exit 137, no message)
 * half way through. The limit is the smallest of
 *   - physical memory (sysconf),
 *   - the cgroup memory limit of the process and its ancestors (cgroup v2
 *     memory.max, v1 memory.limit_in_bytes): a container's real budget,
 *   - the address-space limit RLIMIT_AS (ulimit -v), less what the process
 *     has mapped already.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#if defined(__unix__) || defined(__APPLE__)
#include <sys/resource.h>
#define QML_HAVE_RLIMIT 1
#endif

/* A decimal unsigned number from a one-line file, or UINT64_MAX ("max",
 * missing, unreadable). */
static uint64_t read_limit_file(const char *path)
{
    FILE *file = fopen(path, "r");
    if (!file)
        return UINT64_MAX;
    unsigned long long value = 0;
    int fields = fscanf(file, "%llu", &value);
    fclose(file);
    return fields == 1 ? (uint64_t)value : UINT64_MAX;
}

#if defined(__linux__)
/* The smallest limit in `file` along the cgroup path `path` and its
 * ancestors under `mount` (a parent's limit binds its children). */
static uint64_t cgroup_path_limit(const char *mount, const char *path, const char *file)
{
    char dir[1024];
    int n = snprintf(dir, sizeof dir, "%s%s", mount, path);
    if (n < 0 || (size_t)n >= sizeof dir)
        return UINT64_MAX;
    uint64_t smallest = UINT64_MAX;
    for (;;) {
        size_t length = strlen(dir);
        while (length > strlen(mount) && dir[length - 1] == '/')
            dir[--length] = '\0';
        char name[1100];
        snprintf(name, sizeof name, "%s/%s", dir, file);
        uint64_t limit = read_limit_file(name);
        if (limit < smallest)
            smallest = limit;
        char *slash = strrchr(dir, '/');
        if (!slash || (size_t)(slash - dir) < strlen(mount))
            break;
        *slash = '\0';
    }
    return smallest;
}

static uint64_t cgroup_limit(void)
{
    FILE *file = fopen("/proc/self/cgroup", "r");
    if (!file)
        return UINT64_MAX;
    uint64_t smallest = UINT64_MAX;
    char line[1024];
    while (fgets(line, sizeof line, file)) {
        line[strcspn(line, "\n")] = '\0';
        /* "0::/path" (v2) or "N:controller,list:/path" (v1) */
        char *first = strchr(line, ':');
        char *second = first ? strchr(first + 1, ':') : NULL;
        if (!second)
            continue;
        *second = '\0';
        const char *controllers = first + 1, *path = second + 1;
        uint64_t limit = UINT64_MAX;
        if (controllers[0] == '\0')
            limit = cgroup_path_limit("/sys/fs/cgroup", path, "memory.max");
        else if (strstr(controllers, "memory"))
            limit = cgroup_path_limit("/sys/fs/cgroup/memory", path, "memory.limit_in_bytes");
        if (limit < smallest)
            smallest = limit;
    }
    fclose(file);
    /* v1 writes "no limit" as a huge multiple of the page size. */
    return smallest >= ((uint64_t)1 << 62) ? UINT64_MAX : smallest;
}

/* Bytes the process has mapped (/proc/self/statm, first field), or 0. */
static uint64_t mapped_bytes(void)
{
    uint64_t pages = read_limit_file("/proc/self/statm");
    long page = sysconf(_SC_PAGESIZE);
    if (pages == UINT64_MAX || page <= 0 || pages > UINT64_MAX / (uint64_t)page)
        return 0;
    return pages * (uint64_t)page;
}
#else
static uint64_t cgroup_limit(void)
{
    return UINT64_MAX;
}

static uint64_t mapped_bytes(void)
{
    return 0;
}
#endif

static uint64_t physical_memory(void)
{
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0 && (uint64_t)pages <= UINT64_MAX / (uint64_t)page)
        return (uint64_t)pages * (uint64_t)page;
#endif
    return UINT64_MAX;
}

static uint64_t address_space_headroom(void)
{
#if defined(QML_HAVE_RLIMIT)
    struct rlimit limit;
    if (getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
        uint64_t cap = (uint64_t)limit.rlim_cur, used = mapped_bytes();
        return cap > used ? cap - used : 0;
    }
#endif
    return UINT64_MAX;
}

uint64_t qml__memory_available(const char **source)
{
    uint64_t smallest = physical_memory();
    const char *name = "physical memory";
    uint64_t cgroup = cgroup_limit();
    if (cgroup < smallest) {
        smallest = cgroup;
        name = "the cgroup memory limit";
    }
    uint64_t address = address_space_headroom();
    if (address < smallest) {
        smallest = address;
        name = "address space left under RLIMIT_AS";
    }
    if (source)
        *source = name;
    return smallest;
}

int qml__memory_check(uint64_t count, uint64_t block_bytes, const char *caller, const char *what, ...)
{
    const char *source = NULL;
    uint64_t available = qml__memory_available(&source);
    if (block_bytes == 0 || count == 0 || available == UINT64_MAX)
        return QML_OK;
    bool overflow = count > UINT64_MAX / block_bytes;
    uint64_t total = overflow ? UINT64_MAX : count * block_bytes;
    if (!overflow && total <= available)
        return QML_OK;
    char description[160];
    va_list args;
    va_start(args, what);
    vsnprintf(description, sizeof description, what, args);
    va_end(args);
    const double gib = 1024.0 * 1024.0 * 1024.0;
    return qml__error(QML_ERR_LIMIT,
                      "%s: %s: %llu x %llu bytes = %.3g GiB, more than the %.3g GiB (%llu bytes) of %s",
                      caller, description, (unsigned long long)count, (unsigned long long)block_bytes,
                      (double)count * (double)block_bytes / gib, (double)available / gib,
                      (unsigned long long)available, source);
}
