/* svg.h: a small SVG line-plot writer for the reports of the qml program
 * (linear or log-10 axes, ticks, labels, error bars or intervals, markers
 * and line styles that tell series apart without colour, reference lines,
 * a legend that shows each series' line and marker). */
#ifndef QML_CLI_SVG_H
#define QML_CLI_SVG_H

#include <stdbool.h>
#include <stddef.h>

/* Markers and line styles. */
typedef enum svg_marker {
    SVG_CIRCLE = 0, SVG_SQUARE, SVG_TRIANGLE, SVG_DIAMOND, SVG_TRIANGLE_DOWN, SVG_CROSS, SVG_PLUS, SVG_NO_MARKER
} svg_marker;
typedef enum svg_dash { SVG_SOLID = 0, SVG_DASHED, SVG_DOTTED, SVG_DASH_DOT } svg_dash;

/* The Okabe-Ito colour-blind-safe palette (black first). */
extern const char *const svg_okabe_ito[8];

/* One series: n points (x[i], y[i]) with optional symmetric error bars
 * err[i], or optional intervals [lo[i], hi[i]] (NULL for none). Points
 * whose y is not finite (or not > 0 on a log axis) are skipped, and the
 * line is broken there. */
typedef struct svg_series {
    const char *label;
    const double *x;
    const double *y;
    const double *err;
    size_t n;
    svg_dash dash;
    bool no_line;      /* markers only */
    const char *color; /* CSS colour, or NULL for the palette colour of the series index */
    svg_marker marker;
    bool hollow;       /* an open marker */
    const double *lo, *hi;
} svg_series;

/* A horizontal reference line across the plot (e.g. chance at 0.5). */
typedef struct svg_hline {
    double y;
    const char *label;
    svg_dash dash;
    const char *color;
} svg_hline;

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
    const svg_hline *hlines;
    size_t n_hlines;
} svg_plot;

/* Write the plot to `path`; returns 0, or -1 with errno set on an I/O error
 * (or EINVAL if there is nothing to plot). */
int svg_write(const char *path, const svg_plot *plot);

#endif
