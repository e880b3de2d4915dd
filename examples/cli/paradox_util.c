/*
 * paradox_util.c: the CSV tables of `qml paradox` (rows appended and
 * flushed as they finish, loaded back by --resume and by the report) and
 * the small helpers the stages share (model names, streams, intervals).
 */
#include "cli.h"
#include "paradox.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- tables ------------------------------------------------------------------------- */

static size_t count_fields(const char *line)
{
    size_t n = 1;
    for (; *line; line++)
        n += *line == ',';
    return n;
}

static int push_line(paradox_table *t, const char *line)
{
    if (t->n_rows == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        char **lines = realloc(t->lines, cap * sizeof *lines);
        if (!lines)
            return 1;
        t->lines = lines;
        t->cap = cap;
    }
    size_t len = strlen(line);
    char *copy = malloc(len + 1);
    if (!copy)
        return 1;
    memcpy(copy, line, len + 1);
    t->lines[t->n_rows++] = copy;
    return 0;
}

int paradox_table_open(paradox_table *t, const char *dir, const char *name, const char *header, size_t n_keys)
{
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    snprintf(t->header, sizeof t->header, "%s", header);
    t->n_cols = count_fields(header);
    t->n_keys = n_keys;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *in = fopen(path, "r");
    bool fresh = true;
    if (in) {
        /* Keep the rows of a file with the same header; drop a partial
         * last line (no newline) and any row with the wrong field count. */
        char *line = NULL;
        size_t cap = 0;
        char buf[8192];
        bool first = true, ok = true;
        while (ok && fgets(buf, sizeof buf, in)) {
            size_t len = strlen(buf);
            if (len == 0 || buf[len - 1] != '\n')
                break; /* partial (or overlong) line: dropped */
            buf[len - 1] = '\0';
            if (first) {
                first = false;
                if (strcmp(buf, header) != 0) {
                    fprintf(stderr, "qml: paradox: %s has other columns than this version writes; "
                                    "remove it or use another --out folder\n",
                            path);
                    ok = false;
                }
                continue;
            }
            if (count_fields(buf) == t->n_cols && push_line(t, buf)) {
                ok = false;
                fprintf(stderr, "qml: paradox: out of memory\n");
            }
        }
        free(line);
        (void)cap;
        fclose(in);
        if (!ok)
            return 1;
        fresh = first;
    }
    /* Rewrite the file with the rows kept, then append from there. */
    t->file = fopen(path, "w");
    if (!t->file) {
        fprintf(stderr, "qml: paradox: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    fprintf(t->file, "%s\n", header);
    for (size_t r = 0; r < t->n_rows; r++)
        fprintf(t->file, "%s\n", t->lines[r]);
    (void)fresh;
    if (fflush(t->file) != 0) {
        fprintf(stderr, "qml: paradox: write error on %s\n", path);
        return 1;
    }
    return 0;
}

void paradox_table_close(paradox_table *t)
{
    if (t->file)
        fclose(t->file);
    for (size_t r = 0; r < t->n_rows; r++)
        free(t->lines[r]);
    free(t->lines);
    t->lines = NULL;
    t->file = NULL;
    t->n_rows = t->cap = 0;
}

/* Length of the first `keys` fields of a line (without the comma after). */
static size_t key_length(const char *line, size_t keys)
{
    size_t i = 0, seen = 0;
    for (; line[i]; i++)
        if (line[i] == ',' && ++seen == keys)
            break;
    return i;
}

long paradox_table_find(const paradox_table *t, const char *key)
{
    size_t len = strlen(key);
    for (size_t r = 0; r < t->n_rows; r++)
        if (key_length(t->lines[r], t->n_keys) == len && !memcmp(t->lines[r], key, len))
            return (long)r;
    return -1;
}

int paradox_table_append(paradox_table *t, const char *format, ...)
{
    char line[4096];
    va_list args;
    va_start(args, format);
    int len = vsnprintf(line, sizeof line, format, args);
    va_end(args);
    if (len < 0 || (size_t)len >= sizeof line || count_fields(line) != t->n_cols) {
        fprintf(stderr, "qml: paradox: internal error: a row of %s has the wrong shape\n", t->name);
        return 1;
    }
    if (push_line(t, line)) {
        fprintf(stderr, "qml: paradox: out of memory\n");
        return 1;
    }
    if (t->file && (fprintf(t->file, "%s\n", line) < 0 || fflush(t->file) != 0)) {
        fprintf(stderr, "qml: paradox: write error on %s\n", t->name);
        return 1;
    }
    return 0;
}

int paradox_table_column(const paradox_table *t, const char *column)
{
    const char *p = t->header;
    size_t len = strlen(column);
    for (int i = 0; *p; i++) {
        size_t f = strcspn(p, ",");
        if (f == len && !memcmp(p, column, len))
            return i;
        p += f;
        if (*p == ',')
            p++;
    }
    return -1;
}

const char *paradox_table_field(const paradox_table *t, size_t row, const char *column, char *buf, size_t size)
{
    buf[0] = '\0';
    int c = paradox_table_column(t, column);
    if (c < 0 || row >= t->n_rows)
        return buf;
    const char *p = t->lines[row];
    for (int i = 0; i < c && p; i++) {
        p = strchr(p, ',');
        if (p)
            p++;
    }
    if (!p)
        return buf;
    size_t f = strcspn(p, ",");
    if (f >= size)
        f = size - 1;
    memcpy(buf, p, f);
    buf[f] = '\0';
    return buf;
}

double paradox_table_number(const paradox_table *t, size_t row, const char *column)
{
    char buf[64];
    paradox_table_field(t, row, column, buf, sizeof buf);
    if (!buf[0])
        return NAN;
    char *end;
    double v = strtod(buf, &end);
    return *end ? (double)NAN : v;
}

/* ---- models ------------------------------------------------------------------------- */

const char *paradox_kind_name(int kind)
{
    switch (kind) {
    case PARADOX_KIND_UNSTRUCTURED: return "unstructured";
    case PARADOX_KIND_PERMUTATION: return "permutation";
    case PARADOX_KIND_FREE_FERMION: return "free-fermion";
    case PARADOX_KIND_PERMUTATION_LOCAL: return "permutation-local";
    case PARADOX_KIND_PERMUTATION_BOUNDED: return "permutation-bounded";
    }
    return "?";
}

const char *paradox_kind_label(int kind)
{
    switch (kind) {
    case PARADOX_KIND_UNSTRUCTURED: return "unstructured (su(2^n))";
    case PARADOX_KIND_PERMUTATION: return "permutation, collective encoding";
    case PARADOX_KIND_FREE_FERMION: return "free-fermion (so(2n))";
    case PARADOX_KIND_PERMUTATION_LOCAL: return "permutation, per-qubit encoding";
    case PARADOX_KIND_PERMUTATION_BOUNDED: return "permutation, bounded encoding";
    }
    return "?";
}

int paradox_kind_from_name(const char *name)
{
    for (int k = 0; k <= PARADOX_KIND_PERMUTATION_BOUNDED; k++)
        if (!strcmp(name, paradox_kind_name(k)))
            return k;
    return -1;
}

unsigned paradox_weights_per_layer(int kind, unsigned n)
{
    switch (kind) {
    case PARADOX_KIND_UNSTRUCTURED: return 2 * n;
    case PARADOX_KIND_FREE_FERMION: return 2 * n - 1;
    default: return 3;
    }
}

/* Gates per layer (the cost unit of the progress estimate and the depth
 * cap); the two-body permutation gate counts one pass per Z_q Z_r term. */
double paradox_gates_per_layer(int kind, unsigned n)
{
    switch (kind) {
    case PARADOX_KIND_UNSTRUCTURED: return 4.0 * n - 1.0;
    case PARADOX_KIND_FREE_FERMION: return 3.0 * n - 1.0;
    default: return 2.0 * n + (double)n * (n - 1) / 2.0 + 2.0 * n;
    }
}

/* ---- streams and intervals ---------------------------------------------------------- */

static uint64_t splitmix(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

uint64_t paradox_mix(uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t state = seed;
    uint64_t x = splitmix(&state) ^ a;
    state = x;
    x = splitmix(&state) ^ b;
    state = x;
    return splitmix(&state);
}

double paradox_uniform(uint64_t *state)
{
    return (double)(splitmix(state) >> 11) * 0x1.0p-53;
}

double paradox_t975(unsigned dof)
{
    static const double t[30] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                 2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                 2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
    return dof >= 1 && dof <= 30 ? t[dof - 1] : 1.96;
}

void paradox_wilson(unsigned k, unsigned m, double *lo, double *hi)
{
    if (m == 0) {
        *lo = 0.0;
        *hi = 1.0;
        return;
    }
    const double z = 1.959963984540054;
    double p = (double)k / m, denom = 1.0 + z * z / m;
    double centre = (p + z * z / (2.0 * m)) / denom;
    double half = z * sqrt(p * (1.0 - p) / m + z * z / (4.0 * m * (double)m)) / denom;
    *lo = fmax(0.0, centre - half);
    *hi = fmin(1.0, centre + half);
}

void paradox_mean_interval(const double *x, size_t m, double *mean, double *lo, double *hi)
{
    double s = 0.0;
    for (size_t i = 0; i < m; i++)
        s += x[i];
    *mean = m ? s / (double)m : (double)NAN;
    if (m < 2) {
        *lo = *hi = *mean;
        return;
    }
    double ss = 0.0;
    for (size_t i = 0; i < m; i++)
        ss += (x[i] - *mean) * (x[i] - *mean);
    double half = paradox_t975((unsigned)(m - 1)) * sqrt(ss / (double)(m - 1)) / sqrt((double)m);
    *lo = fmax(0.0, *mean - half);
    *hi = fmin(1.0, *mean + half);
}
