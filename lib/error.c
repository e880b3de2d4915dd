/*
 * error.c: status codes, their static descriptions, and the thread-local
 * last-error message that carries the specifics of a failure for people.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define QML_ERROR_MESSAGE_MAX 512

static _Thread_local char last_message[QML_ERROR_MESSAGE_MAX];
static _Thread_local qml_status last_status = QML_OK;

const char *qml_status_string(int status)
{
    switch (status) {
    case QML_OK: return "success";
    case QML_ERR_INVALID_ARGUMENT: return "invalid argument";
    case QML_ERR_OUT_OF_MEMORY: return "out of memory";
    case QML_ERR_OUT_OF_RANGE: return "out of range";
    case QML_ERR_PARSE: return "parse error";
    case QML_ERR_UNSUPPORTED: return "unsupported";
    case QML_ERR_LIMIT: return "limit exceeded";
    case QML_ERR_CANCELLED: return "cancelled";
    case QML_ERR_IO: return "input/output error";
    case QML_ERR_NOT_NORMALIZED: return "state not normalised";
    case QML_ERR_THREAD: return "thread error";
    case QML_ERR_NOT_APPLICABLE: return "not applicable";
    default: return "unknown status";
    }
}

const char *qml_last_error(void)
{
    return last_message;
}

qml_status qml_last_status(void)
{
    return last_status;
}

void qml_clear_error(void)
{
    last_message[0] = '\0';
    last_status = QML_OK;
}

int qml__error(int status, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(last_message, sizeof last_message, format, args);
    va_end(args);
    last_status = (qml_status)status;
    return status;
}

int qml__oom(const char *what)
{
    return qml__error(QML_ERR_OUT_OF_MEMORY, "out of memory allocating %s", what);
}

void qml__ok(void)
{
    qml_clear_error();
}

int qml__error_context(int status, const char *function)
{
    /* Failures of a callee keep their specifics, but the message must name
     * the public function the caller called: prefix it unless it is there. */
    size_t length = strlen(function);
    if (strncmp(last_message, function, length) == 0 &&
        (last_message[length] == ':' || last_message[length] == '\0'))
        return status;
    char inner[QML_ERROR_MESSAGE_MAX];
    memcpy(inner, last_message, sizeof inner);
    /* "function: inner", cut at the buffer's end (the tail of a long message
     * is what goes); pieces copied by hand because snprintf's truncation
     * of a full-size inner message is deliberate, not a bug gcc should flag. */
    const char *pieces[3] = {function, ": ", inner[0] ? inner : qml_status_string(status)};
    size_t used = 0;
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(pieces[i]);
        if (n > sizeof last_message - 1 - used)
            n = sizeof last_message - 1 - used;
        memcpy(last_message + used, pieces[i], n);
        used += n;
    }
    last_message[used] = '\0';
    last_status = (qml_status)status;
    return status;
}
