/*
 * numtext.c: numbers as text with '.' as the decimal point, whatever the
 * calling program's LC_NUMERIC says. A Qt or GTK program calls
 * setlocale(LC_ALL, "") and may run under de_DE, where strtod stops at '.'
 * and printf writes ','; every parser and formatter in the library reads and
 * writes numbers through these two functions instead.
 *
 * The calling thread switches to the "C" locale with POSIX uselocale() for
 * one conversion and back: that touches only the calling thread (setlocale
 * would change every thread's), and newlocale(LC_ALL_MASK, "C", 0) returns
 * glibc's static C locale without allocating. Should newlocale ever fail
 * (it cannot for "C" on glibc), the conversion runs in the current locale.
 */
#include "internal.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct c_numeric {
    locale_t c_locale;  /* (locale_t)0 when newlocale failed */
    locale_t previous;
} c_numeric;

static c_numeric c_numeric_enter(void)
{
    c_numeric scope = {newlocale(LC_ALL_MASK, "C", (locale_t)0), (locale_t)0};
    if (scope.c_locale != (locale_t)0)
        scope.previous = uselocale(scope.c_locale);
    return scope;
}

static void c_numeric_leave(c_numeric scope)
{
    if (scope.c_locale == (locale_t)0)
        return;
    uselocale(scope.previous);
    freelocale(scope.c_locale);
}

double qml__number_read(const char *text, const char **stop)
{
    c_numeric scope = c_numeric_enter();
    char *end = NULL;
    double value = strtod(text, &end);
    c_numeric_leave(scope);
    if (stop)
        *stop = end;
    return value;
}

size_t qml__number_write(double value, char out[QML__NUMBER_TEXT_MAX])
{
    c_numeric scope = c_numeric_enter();
    /* The shortest of %.15g, %.16g, %.17g that reads back as the same double
     * (%.17g always does for IEEE binary64: 17 significant digits identify
     * every double). */
    int n = 0;
    for (int digits = 15; digits <= 17; digits++) {
        n = snprintf(out, QML__NUMBER_TEXT_MAX, "%.*g", digits, value);
        if (!isfinite(value) || strtod(out, NULL) == value)
            break;
    }
    c_numeric_leave(scope);
    return n > 0 ? (size_t)n : 0;
}
