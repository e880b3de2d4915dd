/*
 * paradox_table.c: the CSV tables of `qml paradox`: rows appended and
 * flushed as they finish, loaded back by --resume and by the report; and
 * the dealing of rows over processes (qml-mpi paradox): the stages skip a
 * row that is already in its table, and a row dealt to another process
 * looks to them just like one already done.
 */
#include "cli.h"
#include "paradox.h"

#include <errno.h>
#include <limits.h>
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
    if (!dir)
        return 0; /* held in memory only */
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

static int deal_skip(const paradox_table *t, const char *key, size_t len);

long paradox_table_find(const paradox_table *t, const char *key)
{
    size_t len = strlen(key);
    for (size_t r = 0; r < t->n_rows; r++)
        if (key_length(t->lines[r], t->n_keys) == len && !memcmp(t->lines[r], key, len))
            return (long)r;
    /* A row dealt to another process is "done" here (no row of this table
     * has that index: a field read from it is empty). */
    return deal_skip(t, key, len) ? LONG_MAX : -1;
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
    /* A row the stages wrote without asking for it first (every process
     * computed it): kept only by the process it is dealt to. */
    if (deal_skip(t, line, key_length(line, t->n_keys)))
        return 0;
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

int paradox_table_add_line(paradox_table *t, const char *line)
{
    if (count_fields(line) != t->n_cols) {
        fprintf(stderr, "qml: paradox: a gathered row of %s has the wrong shape\n", t->name);
        return 1;
    }
    if (push_line(t, line)) {
        fprintf(stderr, "qml: paradox: out of memory\n");
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

/* ---- the tables as a list ------------------------------------------------------------- */

size_t paradox_tables_list(paradox_tables *t, paradox_table *list[PARADOX_N_TABLES])
{
    /* A table added to paradox_tables must be added here too. */
    _Static_assert(sizeof(paradox_tables) == PARADOX_N_TABLES * sizeof(paradox_table),
                   "paradox_tables_list names every table");
    paradox_table *all[PARADOX_N_TABLES] = {&t->landscape, &t->c1,    &t->c2,       &t->c3,  &t->baselines,
                                            &t->roughness, &t->large, &t->c1_large, &t->cost};
    memcpy(list, all, sizeof all);
    return PARADOX_N_TABLES;
}

int paradox_table_write(const paradox_table *t, const char *dir)
{
    if (!t->name[0])
        return 0; /* a table this run does not use */
    char path[4096], temp[4200];
    snprintf(path, sizeof path, "%s/%s", dir, t->name);
    snprintf(temp, sizeof temp, "%s.partial", path);
    FILE *f = fopen(temp, "w");
    if (!f) {
        fprintf(stderr, "qml: paradox: cannot write %s: %s\n", temp, strerror(errno));
        return 1;
    }
    int failed = fprintf(f, "%s\n", t->header) < 0;
    for (size_t r = 0; r < t->n_rows && !failed; r++)
        failed = fprintf(f, "%s\n", t->lines[r]) < 0;
    failed |= ferror(f) != 0;
    failed |= fclose(f) != 0;
    if (failed || rename(temp, path) != 0) {
        fprintf(stderr, "qml: paradox: cannot write %s: %s\n", path, strerror(errno ? errno : EIO));
        remove(temp);
        return 1;
    }
    return 0;
}

/* ---- dealing rows over processes ----------------------------------------------------- */

/* Every row key the stages asked for, with its index (the order of the
 * first question). A run has thousands of rows at most: a linear list. */
typedef struct deal_entry {
    const paradox_table *table;
    char *key;
    size_t len, index;
} deal_entry;

static struct {
    const paradox_ranks *ranks;
    deal_entry *entries;
    size_t n, cap;
    int stopped;
} deal;

void paradox_deal_begin(const paradox_ranks *ranks)
{
    paradox_deal_end();
    deal.ranks = ranks && ranks->size > 0 ? ranks : NULL;
}

void paradox_deal_end(void)
{
    for (size_t i = 0; i < deal.n; i++)
        free(deal.entries[i].key);
    free(deal.entries);
    memset(&deal, 0, sizeof deal);
}

int paradox_deal_stopped(void)
{
    return deal.stopped;
}

static deal_entry *deal_lookup(const paradox_table *t, const char *key, size_t len)
{
    for (size_t i = 0; i < deal.n; i++)
        if (deal.entries[i].table == t && deal.entries[i].len == len && !memcmp(deal.entries[i].key, key, len))
            return &deal.entries[i];
    return NULL;
}

/* The index of a row key, registering it at its first question; SIZE_MAX
 * when out of memory. */
static size_t deal_index(const paradox_table *t, const char *key, size_t len)
{
    const deal_entry *e = deal_lookup(t, key, len);
    if (e)
        return e->index;
    if (deal.n == deal.cap) {
        size_t cap = deal.cap ? 2 * deal.cap : 256;
        deal_entry *entries = realloc(deal.entries, cap * sizeof *entries);
        if (!entries)
            return SIZE_MAX;
        deal.entries = entries;
        deal.cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return SIZE_MAX;
    memcpy(copy, key, len);
    copy[len] = '\0';
    deal.entries[deal.n] = (deal_entry){t, copy, len, deal.n};
    return deal.n++;
}

/* Whether this process leaves the row to another (or stops). */
static int deal_skip(const paradox_table *t, const char *key, size_t len)
{
    if (!deal.ranks)
        return 0;
    size_t index = deal_index(t, key, len);
    if (index == SIZE_MAX && !deal.stopped) {
        fprintf(stderr, "qml: paradox: rank %u: out of memory\n", deal.ranks->rank);
        deal.stopped = 1;
    }
    if (!deal.stopped && deal.ranks->stopped && deal.ranks->stopped(deal.ranks->user))
        deal.stopped = 1;
    return deal.stopped || index % deal.ranks->size != deal.ranks->rank;
}

static int compare_index(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

int paradox_table_sort_dealt(paradox_table *t)
{
    if (!deal.ranks || t->n_rows == 0)
        return 0;
    /* (index, row) pairs sorted by index; an index is unique per key. */
    size_t *pairs = malloc(2 * t->n_rows * sizeof *pairs);
    char **lines = malloc(t->n_rows * sizeof *lines);
    if (!pairs || !lines) {
        free(pairs);
        free(lines);
        fprintf(stderr, "qml: paradox: out of memory\n");
        return 1;
    }
    for (size_t r = 0; r < t->n_rows; r++) {
        const deal_entry *e = deal_lookup(t, t->lines[r], key_length(t->lines[r], t->n_keys));
        if (!e) {
            fprintf(stderr, "qml: paradox: internal error: a gathered row of %s was dealt to no process: %s\n",
                    t->name, t->lines[r]);
            free(pairs);
            free(lines);
            return 1;
        }
        pairs[2 * r] = e->index;
        pairs[2 * r + 1] = r;
    }
    qsort(pairs, t->n_rows, 2 * sizeof *pairs, compare_index);
    for (size_t r = 0; r < t->n_rows; r++) {
        if (r > 0 && pairs[2 * r] == pairs[2 * r - 2]) {
            fprintf(stderr, "qml: paradox: internal error: two processes wrote the row %s of %s\n",
                    t->lines[pairs[2 * r + 1]], t->name);
            free(pairs);
            free(lines);
            return 1;
        }
        lines[r] = t->lines[pairs[2 * r + 1]];
    }
    memcpy(t->lines, lines, t->n_rows * sizeof *lines);
    free(pairs);
    free(lines);
    return 0;
}
