/* svg.h: a small SVG line-plot writer for the reports of the qml program
 * (axes, linear or log-10 x and y axes, ticks, labels, legend, error bars). */
#ifndef QML_CLI_SVG_H
#define QML_CLI_SVG_H

#include <stdbool.h>
#include <stddef.h>

/* One series: n points (x[i], y[i]) with optional symmetric error bars
 * err[i] (NULL for none). Points whose y is not finite (or not > 0 on a log
 * axis) are skipped, and the line is broken there. */
typedef struct svg_series {
    const char *label;
    const double *x;
    const double *y;
    const double *err;
    size_t n;
    bool dashed;      /* a dashed line (e.g. a prediction) */
    bool no_line;     /* markers only */
    const char *color; /* CSS colour, or NULL for the palette colour of the series index */
} svg_series;

typedef struct svg_plot {
    const char *title;
    const char *x_label;
    const char *y_label;
    bool log_y;
    /* The y range; NaN for automatic (from the data and error bars). */
    double y_min, y_max;
    const svg_series *series;
    size_t n_series;
    bool log_x;       /* a log-10 x axis (points with x <= 0 are skipped) */
} svg_plot;

/* Write the plot to `path`; returns 0, or -1 with errno set on an I/O error
 * (or EINVAL if there is nothing to plot). */
int svg_write(const char *path, const svg_plot *plot);

#endif
