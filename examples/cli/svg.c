/* svg.c: a small SVG line-plot writer: linear or log-10 x and y axes with
 * ticks and labels, error bars and intervals, markers and line styles,
 * reference lines, a legend at the right. */
#include "svg.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

enum { WIDTH = 820, HEIGHT = 420, LEFT = 78, RIGHT = 300, TOP = 42, BOTTOM = 58 };

const char *const svg_okabe_ito[8] = {"#000000", "#E69F00", "#56B4E9", "#009E73",
                                      "#F0E442", "#0072B2", "#D55E00", "#CC79A7"};
static const char *const palette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"};

static const char *dash_attr(svg_dash dash)
{
    switch (dash) {
    case SVG_DASHED: return " stroke-dasharray=\"7 4\"";
    case SVG_DOTTED: return " stroke-dasharray=\"2 3\"";
    case SVG_DASH_DOT: return " stroke-dasharray=\"8 3 2 3\"";
    default: return "";
    }
}

static void put_marker(FILE *f, svg_marker m, bool hollow, double x, double y, const char *color)
{
    char style[96];
    snprintf(style, sizeof style, "fill=\"%s\" stroke=\"%s\" stroke-width=\"1.4\"", hollow ? "white" : color, color);
    const double r = 4.0;
    switch (m) {
    case SVG_CIRCLE: fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" %s/>\n", x, y, r, style); break;
    case SVG_SQUARE:
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" %s/>\n", x - r, y - r, 2 * r, 2 * r, style);
        break;
    case SVG_TRIANGLE:
        fprintf(f, "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fZ\" %s/>\n", x, y - 1.2 * r, x + 1.1 * r, y + 0.8 * r, x - 1.1 * r,
                y + 0.8 * r, style);
        break;
    case SVG_TRIANGLE_DOWN:
        fprintf(f, "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fZ\" %s/>\n", x, y + 1.2 * r, x + 1.1 * r, y - 0.8 * r, x - 1.1 * r,
                y - 0.8 * r, style);
        break;
    case SVG_DIAMOND:
        fprintf(f, "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fL%.1f %.1fZ\" %s/>\n", x, y - 1.3 * r, x + r, y, x, y + 1.3 * r,
                x - r, y, style);
        break;
    case SVG_CROSS:
        fprintf(f, "<path d=\"M%.1f %.1fL%.1f %.1fM%.1f %.1fL%.1f %.1f\" stroke=\"%s\" stroke-width=\"2\"/>\n", x - r, y - r,
                x + r, y + r, x - r, y + r, x + r, y - r, color);
        break;
    case SVG_PLUS:
        fprintf(f, "<path d=\"M%.1f %.1fL%.1f %.1fM%.1f %.1fL%.1f %.1f\" stroke=\"%s\" stroke-width=\"2\"/>\n", x - r, y,
                x + r, y, x, y - r, x, y + r, color);
        break;
    default: break;
    }
}

/* A "nice" tick step (1, 2 or 5 times a power of ten) for about `count`
 * ticks over `range`. */
static double nice_step(double range, int count)
{
    double raw = range / count;
    double mag = pow(10.0, floor(log10(raw)));
    double f = raw / mag;
    return (f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0 : f <= 5.0 ? 5.0 : 10.0) * mag;
}

static void put_text(FILE *f, const char *text)
{
    for (; text && *text; text++) {
        switch (*text) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*text, f);
        }
    }
}

typedef struct frame {
    double x0, x1, y0, y1; /* data range (log10 units on a log axis) */
    bool log_y, log_x;
} frame;

static double px(const frame *fr, double x)
{
    double v = fr->log_x ? log10(x) : x;
    return LEFT + (v - fr->x0) / (fr->x1 - fr->x0) * (WIDTH - LEFT - RIGHT);
}

static double py(const frame *fr, double y)
{
    double v = fr->log_y ? log10(y) : y;
    return HEIGHT - BOTTOM - (v - fr->y0) / (fr->y1 - fr->y0) * (HEIGHT - TOP - BOTTOM);
}

static bool usable(const frame *fr, double y)
{
    return isfinite(y) && (!fr->log_y || y > 0.0);
}

static bool usable_x(const frame *fr, double x)
{
    return isfinite(x) && (!fr->log_x || x > 0.0);
}

static const char *series_color(const svg_series *s, size_t index)
{
    return s->color ? s->color : palette[index % (sizeof palette / sizeof palette[0])];
}

int svg_write(const char *path, const svg_plot *plot)
{
    frame fr = {INFINITY, -INFINITY, INFINITY, -INFINITY, plot->log_y, plot->log_x};
    for (size_t k = 0; k < plot->n_series; k++) {
        const svg_series *s = &plot->series[k];
        for (size_t i = 0; i < s->n; i++) {
            if (!usable_x(&fr, s->x[i]) || !usable(&fr, s->y[i]))
                continue;
            double xv = fr.log_x ? log10(s->x[i]) : s->x[i];
            fr.x0 = fmin(fr.x0, xv);
            fr.x1 = fmax(fr.x1, xv);
            double e = s->err && isfinite(s->err[i]) ? s->err[i] : 0.0;
            double lo = s->y[i] - e, hi = s->y[i] + e;
            if (s->lo && isfinite(s->lo[i]))
                lo = fmin(lo, s->lo[i]);
            if (s->hi && isfinite(s->hi[i]))
                hi = fmax(hi, s->hi[i]);
            if (fr.log_y && !(lo > 0.0))
                lo = s->y[i];
            fr.y0 = fmin(fr.y0, fr.log_y ? log10(lo) : lo);
            fr.y1 = fmax(fr.y1, fr.log_y ? log10(hi) : hi);
        }
    }
    for (size_t k = 0; k < plot->n_hlines; k++) {
        double y = plot->hlines[k].y;
        if (usable(&fr, y) && fr.y0 <= fr.y1) {
            fr.y0 = fmin(fr.y0, fr.log_y ? log10(y) : y);
            fr.y1 = fmax(fr.y1, fr.log_y ? log10(y) : y);
        }
    }
    if (!(fr.x0 <= fr.x1) || !(fr.y0 <= fr.y1)) {
        errno = EINVAL;
        return -1;
    }
    if (isfinite(plot->y_min))
        fr.y0 = fr.log_y ? log10(plot->y_min) : plot->y_min;
    if (isfinite(plot->y_max))
        fr.y1 = fr.log_y ? log10(plot->y_max) : plot->y_max;
    if (fr.x1 - fr.x0 < 1e-12) {
        fr.x0 -= 1.0;
        fr.x1 += 1.0;
    }
    double xpad = 0.05 * (fr.x1 - fr.x0);
    fr.x0 -= xpad;
    fr.x1 += xpad;
    if (fr.log_y) {
        fr.y0 = floor(fr.y0);
        fr.y1 = ceil(fr.y1);
        if (fr.y1 <= fr.y0)
            fr.y1 = fr.y0 + 1.0;
    } else {
        if (fr.y1 - fr.y0 < 1e-12) {
            fr.y0 -= 0.5;
            fr.y1 += 0.5;
        }
        double ypad = isfinite(plot->y_min) && isfinite(plot->y_max) ? 0.0 : 0.05 * (fr.y1 - fr.y0);
        fr.y0 -= ypad;
        fr.y1 += ypad;
    }

    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n",
            WIDTH, HEIGHT, WIDTH, HEIGHT);
    fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", WIDTH, HEIGHT);
    fprintf(f, "<text x=\"%d\" y=\"22\" font-size=\"14\" font-weight=\"bold\">", LEFT);
    put_text(f, plot->title);
    fprintf(f, "</text>\n");

    /* Grid, ticks and tick labels. */
    double xl = LEFT, xr = WIDTH - RIGHT, yt = TOP, yb = HEIGHT - BOTTOM;
    double xstep = nice_step(fr.x1 - fr.x0, 6);
    bool integral_x = true; /* qubit counts, epochs: no ticks between integers */
    for (size_t k = 0; k < plot->n_series; k++)
        for (size_t i = 0; i < plot->series[k].n; i++) {
            double xi = plot->series[k].x[i];
            integral_x = integral_x && (!isfinite(xi) || xi == floor(xi));
        }
    if (integral_x && xstep < 1.0)
        xstep = 1.0;
    if (fr.log_x) {
        /* 1, 2 and 5 times each power of ten inside the range. */
        for (int d = (int)floor(fr.x0); d <= (int)ceil(fr.x1); d++)
            for (int m = 1; m <= 5; m += m == 1 ? 1 : 3) {
                double t = m * pow(10.0, d);
                if (log10(t) < fr.x0 || log10(t) > fr.x1)
                    continue;
                double x = px(&fr, t);
                fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n", x, yt, x,
                        yb);
                fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n", x, yb + 16, t);
            }
    }
    for (double t = ceil(fr.x0 / xstep) * xstep; !fr.log_x && t <= fr.x1 + 1e-9 * xstep; t += xstep) {
        double x = px(&fr, t);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n", x, yt, x, yb);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n", x, yb + 16, t);
    }
    if (fr.log_y) {
        int decades = (int)(fr.y1 - fr.y0);
        int every = decades > 8 ? 2 : 1;
        for (int d = (int)fr.y0; d <= (int)fr.y1; d += every) {
            double y = py(&fr, pow(10.0, d));
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n", xl, y, xr, y);
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">1e%d</text>\n", xl - 6, y + 4, d);
        }
    } else {
        double ystep = nice_step(fr.y1 - fr.y0, 6);
        for (double t = ceil(fr.y0 / ystep) * ystep; t <= fr.y1 + 1e-9 * ystep; t += ystep) {
            double y = py(&fr, t);
            double shown = fabs(t) < 1e-9 * ystep ? 0.0 : t;
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n", xl, y, xr, y);
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", xl - 6, y + 4, shown);
        }
    }
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"black\"/>\n", xl,
            yt, xr - xl, yb - yt);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", (xl + xr) / 2, HEIGHT - 18);
    put_text(f, plot->x_label);
    fprintf(f, "</text>\n<text transform=\"translate(18 %.1f) rotate(-90)\" text-anchor=\"middle\">", (yt + yb) / 2);
    put_text(f, plot->y_label);
    fprintf(f, "</text>\n");

    /* Series: clipped to the frame. */
    fprintf(f, "<defs><clipPath id=\"frame\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>"
               "</clipPath></defs>\n<g clip-path=\"url(#frame)\">\n",
            xl, yt, xr - xl, yb - yt);
    for (size_t k = 0; k < plot->n_series; k++) {
        const svg_series *s = &plot->series[k];
        const char *color = series_color(s, k);
        if (!s->no_line) {
            bool open = false;
            for (size_t i = 0; i < s->n; i++) {
                if (!usable_x(&fr, s->x[i]) || !usable(&fr, s->y[i])) {
                    if (open)
                        fprintf(f, "\"/>\n");
                    open = false;
                    continue;
                }
                if (!open)
                    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\"%s points=\"", color,
                            dash_attr(s->dash));
                fprintf(f, "%s%.1f,%.1f", open ? " " : "", px(&fr, s->x[i]), py(&fr, s->y[i]));
                open = true;
            }
            if (open)
                fprintf(f, "\"/>\n");
        }
        for (size_t i = 0; i < s->n; i++) {
            if (!usable_x(&fr, s->x[i]) || !usable(&fr, s->y[i]))
                continue;
            double x = px(&fr, s->x[i]), y = py(&fr, s->y[i]);
            double lo = NAN, hi = NAN;
            if (s->err && isfinite(s->err[i]) && s->err[i] > 0.0) {
                lo = s->y[i] - s->err[i];
                hi = s->y[i] + s->err[i];
            }
            if (s->lo && s->hi && isfinite(s->lo[i]) && isfinite(s->hi[i]) && s->hi[i] > s->lo[i]) {
                lo = s->lo[i];
                hi = s->hi[i];
            }
            if (isfinite(lo) && isfinite(hi)) {
                double ylo = usable(&fr, lo) ? py(&fr, lo) : yb, yhi = py(&fr, hi);
                fprintf(f, "<path d=\"M%.1f %.1fV%.1fM%.1f %.1fh8M%.1f %.1fh8\" stroke=\"%s\" fill=\"none\"/>\n", x,
                        ylo, yhi, x - 4, ylo, x - 4, yhi, color);
            }
            put_marker(f, s->marker, s->hollow, x, y, color);
        }
    }
    for (size_t k = 0; k < plot->n_hlines; k++) {
        const svg_hline *h = &plot->hlines[k];
        if (!usable(&fr, h->y))
            continue;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.2\"%s/>\n", xl,
                py(&fr, h->y), xr, py(&fr, h->y), h->color ? h->color : "#555555", dash_attr(h->dash));
    }
    fprintf(f, "</g>\n");

    /* Legend: each series' line style and marker, then the reference lines. */
    for (size_t k = 0; k < plot->n_series + plot->n_hlines; k++) {
        double y = TOP + 10 + 20.0 * (double)k, x = WIDTH - RIGHT + 14;
        const char *label;
        if (k < plot->n_series) {
            const svg_series *s = &plot->series[k];
            const char *color = series_color(s, k);
            if (!s->no_line)
                fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.8\"%s/>\n",
                        x, y, x + 24, y, color, dash_attr(s->dash));
            put_marker(f, s->marker, s->hollow, x + 12, y, color);
            label = s->label;
        } else {
            const svg_hline *h = &plot->hlines[k - plot->n_series];
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.2\"%s/>\n", x,
                    y, x + 24, y, h->color ? h->color : "#555555", dash_attr(h->dash));
            label = h->label;
        }
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", x + 30, y + 4);
        put_text(f, label);
        fprintf(f, "</text>\n");
    }
    fprintf(f, "</svg>\n");
    if (ferror(f)) {
        int e = errno ? errno : EIO;
        fclose(f);
        errno = e;
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}
