/* fuzz_common.h: what the libFuzzer harnesses share. A harness states the
 * library's promises as assertions: any violation aborts, which libFuzzer
 * reports as a crash with the input that caused it. */
#ifndef QML_FUZZ_COMMON_H
#define QML_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: promise broken: %s (last error: %s)\n", __FILE__,      \
                    __LINE__, #cond, qml_last_error());                                    \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* A failing status is one of the pinned codes, with a message. */
static inline void fuzz_check_failure(int status)
{
    FUZZ_CHECK(status < 0 && strcmp(qml_status_string(status), "unknown status") != 0);
    FUZZ_CHECK(qml_last_error()[0] != '\0');
    FUZZ_CHECK((int)qml_last_status() == status);
}

/* The input as a NUL-terminated string (a copy: the data is not). */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

/* Route the library's allocations through malloc with a cap on any single
 * block: an input that asks for more gets QML_ERR_OUT_OF_MEMORY (a path
 * worth fuzzing too) instead of spending the run filling gigabytes. */
static size_t fuzz_block_limit;
static void *fuzz_malloc(size_t size, void *user)
{
    (void)user;
    return size > fuzz_block_limit ? NULL : malloc(size);
}
static void *fuzz_realloc(void *ptr, size_t size, void *user)
{
    (void)user;
    return size > fuzz_block_limit ? NULL : realloc(ptr, size);
}
static void fuzz_free(void *ptr, void *user)
{
    (void)user;
    free(ptr);
}
static inline void fuzz_limit_blocks(size_t limit)
{
    if (fuzz_block_limit == limit)
        return;
    fuzz_block_limit = limit;
    qml_allocator allocator = {sizeof allocator, fuzz_malloc, fuzz_realloc, fuzz_free, NULL};
    if (qml_set_allocator(&allocator) != QML_OK)
        abort();
}

#endif
