/*
 * alloc.c: the one allocation hook. Every allocation in libqml goes through
 * qml__malloc/qml__realloc/qml__free, so that a caller can supply its own
 * allocator and a test can make the k-th allocation fail.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *default_malloc(size_t size, void *user)
{
    (void)user;
    return malloc(size);
}

static void *default_realloc(void *ptr, size_t size, void *user)
{
    (void)user;
    return realloc(ptr, size);
}

static void default_free(void *ptr, void *user)
{
    (void)user;
    free(ptr);
}

static qml_allocator active = {
    sizeof(qml_allocator), default_malloc, default_realloc, default_free, NULL,
};

int qml_set_allocator(const qml_allocator *allocator)
{
    if (allocator == NULL) {
        active.malloc_fn = default_malloc;
        active.realloc_fn = default_realloc;
        active.free_fn = default_free;
        active.user = NULL;
        qml__ok();
        return QML_OK;
    }
    /* Size-versioned like the options structs: a newer, longer struct is
     * accepted if the fields this version does not know are zero, so that a
     * program built against a later header still runs. Every field of this
     * version is needed (a custom malloc with the default free is a crash),
     * so a shorter struct is refused. */
    QML_CHECK_ARG(allocator->size >= sizeof(qml_allocator),
                  "qml_set_allocator: size %zu is less than sizeof(qml_allocator) = %zu", allocator->size,
                  sizeof(qml_allocator));
    qml_allocator copy;
    int status = qml__options_copy(&copy, sizeof copy, allocator, &active, "qml_set_allocator");
    if (status)
        return status;
    QML_CHECK_ARG(copy.malloc_fn && copy.realloc_fn && copy.free_fn,
                  "qml_set_allocator: every function pointer must be set");
    active = copy;
    qml__ok();
    return QML_OK;
}

void qml_free(void *ptr)
{
    qml__free(ptr);
}

void *qml__malloc(size_t size)
{
    if (size == 0)
        size = 1;
    if (size == SIZE_MAX)
        return NULL;
    return active.malloc_fn(size, active.user);
}

size_t qml__mul_size(size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        return SIZE_MAX;
    return count * size;
}

void *qml__calloc(size_t count, size_t size)
{
    size_t bytes = qml__mul_size(count, size);
    void *ptr = qml__malloc(bytes);
    if (ptr)
        memset(ptr, 0, bytes == 0 ? 1 : bytes);
    return ptr;
}

void *qml__realloc(void *ptr, size_t size)
{
    if (size == 0)
        size = 1;
    if (size == SIZE_MAX)
        return NULL;
    if (ptr == NULL)
        return active.malloc_fn(size, active.user);
    return active.realloc_fn(ptr, size, active.user);
}

void qml__free(void *ptr)
{
    if (ptr)
        active.free_fn(ptr, active.user);
}

/* Aligned blocks: over-allocate by the alignment and keep the offset to the
 * raw pointer in the byte before the aligned address (the offset is 1..64). */
#define QML_ALIGNMENT 64u

void *qml__aligned_alloc(size_t size)
{
    if (size > SIZE_MAX - QML_ALIGNMENT)
        return NULL;
    unsigned char *raw = qml__malloc(size + QML_ALIGNMENT);
    if (!raw)
        return NULL;
    size_t offset = QML_ALIGNMENT - ((uintptr_t)raw % QML_ALIGNMENT);
    unsigned char *aligned = raw + offset;
    aligned[-1] = (unsigned char)offset;
    return aligned;
}

void qml__aligned_free(void *ptr)
{
    if (!ptr)
        return;
    unsigned char *aligned = ptr;
    qml__free(aligned - aligned[-1]);
}

void qml__buffer_append(qml__buffer *buffer, const char *text, size_t length)
{
    if (buffer->failed)
        return;
    if (length >= buffer->capacity - buffer->length || buffer->data == NULL) {
        size_t need = buffer->length + length + 1;
        size_t capacity = buffer->capacity ? buffer->capacity : 64;
        while (capacity < need) {
            if (capacity > SIZE_MAX / 2) {
                capacity = need;
                break;
            }
            capacity *= 2;
        }
        char *grown = qml__realloc(buffer->data, capacity);
        if (!grown) {
            buffer->failed = true;
            return;
        }
        buffer->data = grown;
        buffer->capacity = capacity;
    }
    memcpy(buffer->data + buffer->length, text, length);
    buffer->length += length;
    buffer->data[buffer->length] = '\0';
}

void qml__buffer_printf(qml__buffer *buffer, const char *format, ...)
{
    char small[256];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(small, sizeof small, format, args);
    va_end(args);
    if (n < 0) {
        buffer->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        qml__buffer_append(buffer, small, (size_t)n);
        return;
    }
    char *large = qml__malloc((size_t)n + 1);
    if (!large) {
        buffer->failed = true;
        return;
    }
    va_start(args, format);
    vsnprintf(large, (size_t)n + 1, format, args);
    va_end(args);
    qml__buffer_append(buffer, large, (size_t)n);
    qml__free(large);
}

void qml__buffer_release(qml__buffer *buffer)
{
    qml__free(buffer->data);
    buffer->data = NULL;
    buffer->length = buffer->capacity = 0;
    buffer->failed = false;
}

int qml__options_copy(void *dst, size_t dst_size, const void *src, const void *defaults, const char *what)
{
    memcpy(dst, defaults, dst_size);
    if (src == NULL)
        return QML_OK;
    size_t src_size = *(const size_t *)src;
    QML_CHECK_ARG(src_size >= sizeof(size_t),
                  "%s: options.size is %zu; initialise the struct with its _OPTIONS_INIT macro", what, src_size);
    const unsigned char *bytes = src;
    for (size_t i = dst_size; i < src_size; i++)
        QML_CHECK_ARG(bytes[i] == 0,
                      "%s: options struct of %zu bytes sets a field unknown to this version (byte %zu)",
                      what, src_size, i);
    memcpy(dst, src, src_size < dst_size ? src_size : dst_size);
    *(size_t *)dst = dst_size;
    return QML_OK;
}
