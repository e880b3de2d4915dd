/*
 * paradox_table.c: the CSV tables of `qml paradox`: rows appended and
 * flushed as they finish, loaded back by --resume and by the report.
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
