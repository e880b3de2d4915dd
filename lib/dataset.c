/*
 * dataset.c: labelled tables for binary classification: the synthetic
 * moons, circles and XOR sets, CSV in and out, train/test splits, and
 * feature scaling fitted on the training split only.
 */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QML_PI 3.14159265358979323846

/* ---- construction and access ---------------------------------------------- */

static void dataset_release(qml_dataset *dataset)
{
    if (!dataset)
        return;
    qml__free(dataset->features);
    qml__free(dataset->labels);
    qml__free(dataset);
}

/* A dataset of the given shape with uninitialised contents. */
static int dataset_alloc(qml_dataset **out, size_t n_rows, size_t n_features)
{
    qml_dataset *dataset = qml__calloc(1, sizeof *dataset);
    if (!dataset)
        return qml__oom("a dataset");
    dataset->n_rows = n_rows;
    dataset->n_features = n_features;
    dataset->features = qml__malloc(qml__mul_size(qml__mul_size(n_rows, n_features), sizeof(double)));
    dataset->labels = dataset->features ? qml__malloc(qml__mul_size(n_rows, sizeof(int))) : NULL;
    if (!dataset->labels) {
        dataset_release(dataset);
        return qml__oom("dataset rows");
    }
    *out = dataset;
    return QML_OK;
}

const char *qml_dataset_kind_name(qml_dataset_kind kind)
{
    switch (kind) {
    case QML_DATASET_MOONS: return "moons";
    case QML_DATASET_CIRCLES: return "circles";
    case QML_DATASET_XOR: return "xor";
    default: return NULL;
    }
}

int qml_dataset_kind_from_name(const char *name, qml_dataset_kind *kind)
{
    QML_CHECK_NULL(name);
    QML_CHECK_NULL(kind);
    static const qml_dataset_kind kinds[] = {QML_DATASET_MOONS, QML_DATASET_CIRCLES, QML_DATASET_XOR};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        if (strcmp(name, qml_dataset_kind_name(kinds[k])) == 0) {
            *kind = kinds[k];
            qml__ok();
            return QML_OK;
        }
    }
    return qml__error(QML_ERR_INVALID_ARGUMENT,
                      "qml_dataset_kind_from_name: unknown dataset '%s' (expected moons, circles or xor)", name);
}

int qml_dataset_create(qml_dataset **out, size_t n_rows, size_t n_features, const double *features,
                       const int *labels)
{
    QML_CHECK_NULL(out);
    QML_CHECK_NULL(features);
    QML_CHECK_NULL(labels);
    QML_CHECK_ARG(n_rows >= 1, "qml_dataset_create: n_rows is 0");
    QML_CHECK_ARG(n_features >= 1, "qml_dataset_create: n_features is 0");
    /* Before reading anything: n_rows * n_features doubles must be addressable. */
    QML_CHECK_ARG(n_features <= SIZE_MAX / sizeof(double) / n_rows,
                  "qml_dataset_create: %zu rows of %zu features do not fit in memory", n_rows, n_features);
    for (size_t i = 0; i < n_rows; i++) {
        QML_CHECK_ARG(labels[i] == 0 || labels[i] == 1, "qml_dataset_create: label of row %zu is %d, not 0 or 1", i,
                      labels[i]);
        for (size_t j = 0; j < n_features; j++)
            QML_CHECK_ARG(isfinite(features[i * n_features + j]),
                          "qml_dataset_create: feature %zu of row %zu is not finite (%g)", j, i,
                          features[i * n_features + j]);
    }
    qml_dataset *dataset;
    int status = dataset_alloc(&dataset, n_rows, n_features);
    if (status)
        return status;
    memcpy(dataset->features, features, n_rows * n_features * sizeof(double));
    memcpy(dataset->labels, labels, n_rows * sizeof(int));
    *out = dataset;
    qml__ok();
    return QML_OK;
}

int qml_dataset_copy(qml_dataset **out, const qml_dataset *dataset)
{
    QML_CHECK_NULL(out);
    QML_CHECK_NULL(dataset);
    qml_dataset *copy;
    int status = dataset_alloc(&copy, dataset->n_rows, dataset->n_features);
    if (status)
        return status;
    memcpy(copy->features, dataset->features, dataset->n_rows * dataset->n_features * sizeof(double));
    memcpy(copy->labels, dataset->labels, dataset->n_rows * sizeof(int));
    *out = copy;
    qml__ok();
    return QML_OK;
}

void qml_dataset_free(qml_dataset *dataset)
{
    dataset_release(dataset);
}

size_t qml_dataset_n_rows(const qml_dataset *dataset)
{
    return dataset ? dataset->n_rows : 0;
}

size_t qml_dataset_n_features(const qml_dataset *dataset)
{
    return dataset ? dataset->n_features : 0;
}

const double *qml_dataset_features(const qml_dataset *dataset)
{
    return dataset ? dataset->features : NULL;
}

const int *qml_dataset_labels(const qml_dataset *dataset)
{
    return dataset ? dataset->labels : NULL;
}

int qml_dataset_row(const qml_dataset *dataset, size_t row, double *features, size_t capacity, int *label)
{
    QML_CHECK_NULL(dataset);
    if (row >= dataset->n_rows)
        return qml__error(QML_ERR_OUT_OF_RANGE, "qml_dataset_row: row %zu out of range for %zu rows", row,
                          dataset->n_rows);
    if (features && capacity < dataset->n_features)
        return qml__error(QML_ERR_OUT_OF_RANGE, "qml_dataset_row: capacity %zu < %zu features", capacity,
                          dataset->n_features);
    if (features)
        memcpy(features, dataset->features + row * dataset->n_features, dataset->n_features * sizeof(double));
    if (label)
        *label = dataset->labels[row];
    qml__ok();
    return QML_OK;
}

/* Copy row `from` of `src` to row `to` of `dst` (same feature count). */
static void copy_row(qml_dataset *dst, size_t to, const qml_dataset *src, size_t from)
{
    size_t nf = src->n_features;
    memcpy(dst->features + to * nf, src->features + from * nf, nf * sizeof(double));
    dst->labels[to] = src->labels[from];
}

int qml_dataset_subset(qml_dataset **out, const qml_dataset *dataset, const size_t *indices, size_t count)
{
    QML_CHECK_NULL(out);
    QML_CHECK_NULL(dataset);
    QML_CHECK_NULL(indices);
    QML_CHECK_ARG(count >= 1, "qml_dataset_subset: count is 0");
    for (size_t k = 0; k < count; k++)
        if (indices[k] >= dataset->n_rows)
            return qml__error(QML_ERR_OUT_OF_RANGE, "qml_dataset_subset: indices[%zu] = %zu out of range for %zu rows",
                              k, indices[k], dataset->n_rows);
    qml_dataset *subset;
    int status = dataset_alloc(&subset, count, dataset->n_features);
    if (status)
        return status;
    for (size_t k = 0; k < count; k++)
        copy_row(subset, k, dataset, indices[k]);
    *out = subset;
    qml__ok();
    return QML_OK;
}

/* ---- synthetic datasets ------------------------------------------------- */

/* Row i has label i mod 2 and draws, in this order, from one stream of
 * `seed`: its shape variables (one uniform for moons and circles, two for
 * XOR), then two normals for the noise, drawn even when noise is 0 so that
 * the noiseless and the noisy sets of one seed share their points. The
 * definitions follow scikit-learn's make_moons / make_circles
 * (sklearn/datasets/_samples_generator.py), with angles drawn at random
 * instead of on a grid. */
static int generate(qml_dataset **out, qml_dataset_kind kind, size_t n_rows, double noise, double factor,
                    uint64_t seed, const char *caller)
{
    QML_CHECK_ARG(out != NULL, "%s: argument 'out' is NULL", caller);
    QML_CHECK_ARG(n_rows >= 2, "%s: n_rows is %zu; need at least 2 (one per class)", caller, n_rows);
    QML_CHECK_ARG(isfinite(noise) && noise >= 0, "%s: noise %g is not a finite number >= 0", caller, noise);
    uint64_t stream = kind == QML_DATASET_MOONS ? QML__STREAM_MOONS
                      : kind == QML_DATASET_CIRCLES ? QML__STREAM_CIRCLES
                                                    : QML__STREAM_XOR;
    qml_dataset *dataset;
    int status = dataset_alloc(&dataset, n_rows, 2);
    if (status)
        return status;
    struct qml_rng rng;
    qml__rng_init(&rng, seed, stream);
    double *restrict xy = dataset->features;
    for (size_t i = 0; i < n_rows; i++) {
        int label = (int)(i % 2);
        double x, y;
        if (kind == QML_DATASET_MOONS) {
            double t = QML_PI * qml__rng_uniform(&rng);
            if (label == 0) {
                x = cos(t);
                y = sin(t);
            } else {
                x = 1.0 - cos(t);
                y = 0.5 - sin(t);
            }
        } else if (kind == QML_DATASET_CIRCLES) {
            double t = 2.0 * QML_PI * qml__rng_uniform(&rng);
            double r = label == 0 ? 1.0 : factor;
            x = r * cos(t);
            y = r * sin(t);
        } else {
            /* Magnitudes in (0, 1], never 0, so x y != 0 and the sign rule
             * is defined for every noiseless point. */
            double a = 1.0 - qml__rng_uniform(&rng);
            double b = 1.0 - qml__rng_uniform(&rng);
            double s = ((i / 2) % 2) ? -1.0 : 1.0; /* alternate the class's two quadrants */
            x = s * a;
            y = label == 1 ? s * b : -s * b;
        }
        double nx = qml__rng_normal(&rng);
        double ny = qml__rng_normal(&rng);
        xy[2 * i] = x + noise * nx;
        xy[2 * i + 1] = y + noise * ny;
        dataset->labels[i] = label;
    }
    /* A huge noise (1e308) overflows: refuse it rather than hand back
     * infinities that a later call would reject. */
    for (size_t k = 0; k < 2 * n_rows; k++)
        if (!isfinite(xy[k])) {
            qml_dataset_free(dataset);
            return qml__error(QML_ERR_OUT_OF_RANGE, "%s: noise %g makes feature %zu of row %zu overflow", caller,
                              noise, k % 2, k / 2);
        }
    *out = dataset;
    qml__ok();
    return QML_OK;
}

int qml_dataset_moons(qml_dataset **out, size_t n_rows, double noise, uint64_t seed)
{
    return generate(out, QML_DATASET_MOONS, n_rows, noise, 0.0, seed, __func__);
}

int qml_dataset_circles(qml_dataset **out, size_t n_rows, double noise, double factor, uint64_t seed)
{
    QML_CHECK_ARG(isfinite(factor) && factor > 0 && factor < 1,
                  "qml_dataset_circles: factor %g is not in (0, 1)", factor);
    return generate(out, QML_DATASET_CIRCLES, n_rows, noise, factor, seed, __func__);
}

int qml_dataset_xor(qml_dataset **out, size_t n_rows, double noise, uint64_t seed)
{
    return generate(out, QML_DATASET_XOR, n_rows, noise, 0.0, seed, __func__);
}

int qml_dataset_generate(qml_dataset **out, qml_dataset_kind kind, size_t n_rows, double noise, uint64_t seed)
{
    QML_CHECK_ARG(qml_dataset_kind_name(kind) != NULL, "qml_dataset_generate: unknown dataset kind %d", (int)kind);
    return generate(out, kind, n_rows, noise, 0.5, seed, __func__);
}

/* ---- CSV ------------------------------------------------------------------ */

typedef struct csv_reader {
    const char *caller;          /* function name for messages */
    const char *source;          /* "path: " or "" */
    double *features;            /* growing, row-major */
    double *label_values;        /* growing, one per row */
    size_t n_rows;
    size_t capacity;             /* rows */
    size_t n_columns;            /* 0 until the first non-blank line */
    size_t label_column;
    double distinct[2];          /* the label values met so far */
    size_t n_distinct;
} csv_reader;

static inline bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Parse the cell [begin, end) as a finite number; returns 0 on success,
 * 1 if it is not a number, 2 if it is not finite. */
static int parse_cell(const char *begin, const char *end, double *value)
{
    while (begin < end && is_blank(*begin))
        begin++;
    while (end > begin && is_blank(end[-1]))
        end--;
    if (begin == end)
        return 1;
    /* strtod stops at ',', '\r', '\n' and NUL, none of which can extend a
     * number, so it never reads past the cell; leading blanks are gone.
     * qml__number_read is strtod with '.' whatever the caller's locale. */
    const char *stop;
    double v = qml__number_read(begin, &stop);
    if (stop != end)
        return 1;
    if (!isfinite(v))
        return 2;
    *value = v;
    return 0;
}

static size_t count_cells(const char *begin, const char *end)
{
    size_t n = 1;
    for (const char *p = begin; p < end; p++)
        n += *p == ',';
    return n;
}

static int csv_grow(csv_reader *reader)
{
    if (reader->n_rows < reader->capacity)
        return QML_OK;
    size_t capacity = reader->capacity ? 2 * reader->capacity : 64;
    double *features =
        qml__realloc(reader->features, qml__mul_size(qml__mul_size(capacity, reader->n_columns - 1), sizeof(double)));
    if (!features)
        return qml__oom("CSV rows");
    reader->features = features;
    double *labels = qml__realloc(reader->label_values, qml__mul_size(capacity, sizeof(double)));
    if (!labels)
        return qml__oom("CSV labels");
    reader->label_values = labels;
    reader->capacity = capacity;
    return QML_OK;
}

/* Append the data line [begin, end) (its cell count already checked). */
static int csv_data_line(csv_reader *reader, const char *begin, const char *end, size_t line)
{
    int status = csv_grow(reader);
    if (status)
        return status;
    double *row = reader->features + reader->n_rows * (reader->n_columns - 1);
    const char *cell = begin;
    size_t feature = 0;
    for (size_t column = 0; column < reader->n_columns; column++) {
        const char *cell_end = cell;
        while (cell_end < end && *cell_end != ',')
            cell_end++;
        double value = 0;
        int bad = parse_cell(cell, cell_end, &value);
        if (bad) {
            int width = (int)(cell_end - cell > 40 ? 40 : cell_end - cell);
            return qml__error(QML_ERR_PARSE, "%s: %sline %zu, column %zu: '%.*s' is %s", reader->caller,
                              reader->source, line, column + 1, width, cell,
                              bad == 1 ? "not a number" : "not finite");
        }
        if (column == reader->label_column) {
            bool known = false;
            for (size_t k = 0; k < reader->n_distinct && k < 2; k++) /* k < 2 tells gcc -O3 it stays in distinct[] */
                known = known || reader->distinct[k] == value;
            if (!known) {
                if (reader->n_distinct == 2)
                    return qml__error(QML_ERR_PARSE,
                                      "%s: %sline %zu, column %zu: a third label value %.17g (after %.17g and %.17g); "
                                      "labels must take two values",
                                      reader->caller, reader->source, line, column + 1, value, reader->distinct[0],
                                      reader->distinct[1]);
                reader->distinct[reader->n_distinct++] = value;
            }
            reader->label_values[reader->n_rows] = value;
        } else {
            row[feature++] = value;
        }
        cell = cell_end + 1;
    }
    reader->n_rows++;
    return QML_OK;
}

/* Turn the label values into 0/1 and build the dataset. */
static int csv_finish(csv_reader *reader, qml_dataset **out, size_t first_data_line)
{
    if (reader->n_rows == 0)
        return qml__error(QML_ERR_PARSE, "%s: %sno data rows", reader->caller, reader->source);
    bool zero_one = true;
    for (size_t k = 0; k < reader->n_distinct && k < 2; k++)
        zero_one = zero_one && (reader->distinct[k] == 0 || reader->distinct[k] == 1);
    if (!zero_one && reader->n_distinct < 2)
        return qml__error(QML_ERR_PARSE,
                          "%s: %sline %zu: the only label value is %.17g; labels must be 0/1 or take two values",
                          reader->caller, reader->source, first_data_line, reader->distinct[0]);
    double one = reader->n_distinct == 2 && reader->distinct[1] > reader->distinct[0] ? reader->distinct[1]
                                                                                     : reader->distinct[0];
    qml_dataset *dataset;
    int status = dataset_alloc(&dataset, reader->n_rows, reader->n_columns - 1);
    if (status)
        return status;
    memcpy(dataset->features, reader->features, reader->n_rows * dataset->n_features * sizeof(double));
    for (size_t i = 0; i < reader->n_rows; i++)
        dataset->labels[i] = zero_one ? (reader->label_values[i] == 1) : (reader->label_values[i] == one);
    *out = dataset;
    return QML_OK;
}

/* Parse text[0, length) ; `source` prefixes messages (a path or ""). */
/* Copy and check the caller's CSV options (before any file is opened, so
 * that bad options are reported as such, not as an I/O error). */
static int csv_options(qml_csv_options *options, const qml_csv_options *options_in, const char *caller)
{
    static const qml_csv_options defaults = QML_CSV_OPTIONS_INIT;
    int status = qml__options_copy(options, sizeof *options, options_in, &defaults, caller);
    if (status)
        return status;
    QML_CHECK_ARG(options->label_column >= -1, "%s: label_column %lld (use -1 for the last column)", caller,
                  (long long)options->label_column);
    QML_CHECK_ARG(options->header == QML_CSV_HEADER_AUTO || options->header == QML_CSV_HEADER_YES ||
                      options->header == QML_CSV_HEADER_NO,
                  "%s: unknown header mode %d", caller, (int)options->header);
    return QML_OK;
}

static int csv_parse(qml_dataset **out, const char *text, size_t length, const qml_csv_options *options_in,
                     const char *caller, const char *source)
{
    qml_csv_options options;
    int status = csv_options(&options, options_in, caller);
    if (status)
        return status;

    csv_reader reader = {caller, source, NULL, NULL, 0, 0, 0, 0, {0, 0}, 0};
    const char *end = text + length;
    size_t line = 0, first_data_line = 0;
    status = QML_OK;
    for (const char *p = text; p < end && status == QML_OK;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end;
        const char *line_end = eol ? eol : end;
        if (line_end > p && line_end[-1] == '\r')
            line_end--;
        line++;
        const char *q = p;
        p = next;
        while (q < line_end && is_blank(*q))
            q++;
        if (q == line_end)
            continue; /* blank line */
        const char *begin = q;
        size_t cells = count_cells(begin, line_end);
        if (reader.n_columns == 0) {
            if (cells < 2) {
                status = qml__error(QML_ERR_PARSE,
                                    "%s: %sline %zu: 1 column; need at least one feature column and a label column",
                                    caller, source, line);
                break;
            }
            if (options.label_column >= 0 && (size_t)options.label_column >= cells) {
                status = qml__error(QML_ERR_INVALID_ARGUMENT, "%s: %slabel_column %lld out of range for %zu columns",
                                    caller, source, (long long)options.label_column, cells);
                break;
            }
            reader.n_columns = cells;
            reader.label_column = options.label_column < 0 ? cells - 1 : (size_t)options.label_column;
            bool header = options.header == QML_CSV_HEADER_YES;
            if (options.header == QML_CSV_HEADER_AUTO) {
                /* A header if some cell of the first line is not a number. */
                const char *cell = begin;
                for (size_t c = 0; c < cells && !header; c++) {
                    const char *cell_end = cell;
                    while (cell_end < line_end && *cell_end != ',')
                        cell_end++;
                    double ignored;
                    header = parse_cell(cell, cell_end, &ignored) != 0;
                    cell = cell_end + 1;
                }
            }
            if (header)
                continue;
        } else if (cells != reader.n_columns) {
            status = qml__error(QML_ERR_PARSE, "%s: %sline %zu, column %zu: %zu columns where the first line has %zu",
                                caller, source, line, (cells < reader.n_columns ? cells : reader.n_columns) + 1, cells,
                                reader.n_columns);
            break;
        }
        if (first_data_line == 0)
            first_data_line = line;
        status = csv_data_line(&reader, begin, line_end, line);
    }
    if (status == QML_OK)
        status = csv_finish(&reader, out, first_data_line);
    qml__free(reader.features);
    qml__free(reader.label_values);
    if (status == QML_OK)
        qml__ok();
    return status;
}

int qml_dataset_parse_csv(qml_dataset **out, const char *text, const qml_csv_options *options)
{
    QML_CHECK_NULL(out);
    QML_CHECK_NULL(text);
    return csv_parse(out, text, strlen(text), options, __func__, "");
}

int qml_dataset_load_csv(qml_dataset **out, const char *path, const qml_csv_options *options)
{
    QML_CHECK_NULL(out);
    QML_CHECK_NULL(path);
    qml_csv_options checked;
    int status = csv_options(&checked, options, __func__);
    if (status)
        return status;
    FILE *file = fopen(path, "rb");
    if (!file) {
        int error = errno;
        return qml__error(QML_ERR_IO, "qml_dataset_load_csv: cannot open '%s': %s", path, strerror(error));
    }
    /* Bounded: a stream that never ends (/dev/zero, a pipe) must not hang
     * the caller, nor a failed allocation leave the loop reading on. */
    qml__buffer text = {0};
    char chunk[4096];
    size_t got;
    status = QML_OK;
    size_t nul_offset = SIZE_MAX;
    while (!text.failed && nul_offset == SIZE_MAX && (got = fread(chunk, 1, sizeof chunk, file)) > 0) {
        /* A NUL byte is a non-numeric cell: the parse below reports it with
         * its line and column, so nothing after it needs reading. */
        const char *nul = memchr(chunk, '\0', got);
        if (nul)
            nul_offset = text.length + (size_t)(nul - chunk);
        if ((uint64_t)text.length + got > QML_CSV_MAX_BYTES) {
            status = qml__error(QML_ERR_LIMIT, "qml_dataset_load_csv: '%.256s' is longer than QML_CSV_MAX_BYTES "
                                "= %llu bytes", path, (unsigned long long)QML_CSV_MAX_BYTES);
            break;
        }
        qml__buffer_append(&text, chunk, got);
    }
    int read_error = !status && ferror(file) ? (errno ? errno : EIO) : 0;
    fclose(file);
    if (status) {
        qml__buffer_release(&text);
        return status;
    }
    if (read_error) {
        qml__buffer_release(&text);
        return qml__error(QML_ERR_IO, "qml_dataset_load_csv: cannot read '%s': %s", path, strerror(read_error));
    }
    if (text.failed) {
        qml__buffer_release(&text);
        return qml__oom("qml_dataset_load_csv: the CSV file's text");
    }
    /* "path: " prefixes the parse messages; a long path is cut, not the line. */
    char source[272];
    snprintf(source, sizeof source, "%.256s: ", path);
    status = csv_parse(out, text.data ? text.data : "", text.length, options, __func__, source);
    qml__buffer_release(&text);
    if (status == QML_OK && nul_offset != SIZE_MAX) {
        /* Not reached while a NUL is a bad cell; kept so that no rule change
         * can turn a truncated read into a silent success. */
        qml_dataset_free(*out);
        *out = NULL;
        return qml__error(QML_ERR_PARSE, "qml_dataset_load_csv: %sNUL byte at offset %zu", source, nul_offset);
    }
    return status;
}

int qml_dataset_format_csv(const qml_dataset *dataset, char **text, size_t *length)
{
    QML_CHECK_NULL(dataset);
    QML_CHECK_NULL(text);
    qml__buffer buffer = {0};
    size_t nf = dataset->n_features;
    for (size_t j = 0; j < nf; j++)
        qml__buffer_printf(&buffer, "x%zu,", j);
    qml__buffer_append(&buffer, "label\n", 6);
    /* The shortest text that reads back as the same bits, with '.' whatever
     * the caller's locale (a decimal comma would split the cell). */
    for (size_t i = 0; i < dataset->n_rows && !buffer.failed; i++) {
        for (size_t j = 0; j < nf; j++) {
            char number[QML__NUMBER_TEXT_MAX + 1];
            size_t n = qml__number_write(dataset->features[i * nf + j], number);
            number[n] = ',';
            qml__buffer_append(&buffer, number, n + 1);
        }
        qml__buffer_printf(&buffer, "%d\n", dataset->labels[i]);
    }
    if (buffer.failed) {
        qml__buffer_release(&buffer);
        return qml__oom("the CSV text");
    }
    *text = buffer.data;
    if (length)
        *length = buffer.length;
    qml__ok();
    return QML_OK;
}

int qml_dataset_save_csv(const qml_dataset *dataset, const char *path)
{
    QML_CHECK_NULL(dataset);
    QML_CHECK_NULL(path);
    char *text;
    size_t length;
    int status = qml_dataset_format_csv(dataset, &text, &length);
    if (status)
        return status;
    FILE *file = fopen(path, "wb");
    if (!file) {
        int error = errno;
        qml__free(text);
        return qml__error(QML_ERR_IO, "qml_dataset_save_csv: cannot create '%s': %s", path, strerror(error));
    }
    size_t written = fwrite(text, 1, length, file);
    int error = written == length ? 0 : errno;
    qml__free(text);
    /* Buffered write errors (a full disk) surface at fclose. */
    if (fclose(file) != 0 && error == 0)
        error = errno ? errno : EIO;
    if (written != length && error == 0)
        error = EIO;
    if (error)
        return qml__error(QML_ERR_IO, "qml_dataset_save_csv: cannot write '%s': %s", path, strerror(error));
    qml__ok();
    return QML_OK;
}

/* ---- splits --------------------------------------------------------------- */

/* round-half-away for the non-negative counts of a split */
static size_t round_count(double x)
{
    return (size_t)floor(x + 0.5);
}

int qml_dataset_split(qml_dataset **train, qml_dataset **test, const qml_dataset *dataset, double test_fraction,
                      uint64_t seed, int stratify)
{
    QML_CHECK_NULL(train);
    QML_CHECK_NULL(test);
    QML_CHECK_NULL(dataset);
    QML_CHECK_ARG(train != test, "qml_dataset_split: train and test point to the same handle");
    QML_CHECK_ARG(test_fraction > 0 && test_fraction < 1, "qml_dataset_split: test_fraction %g is not in (0, 1)",
                  test_fraction);
    size_t n = dataset->n_rows;
    size_t class_rows[2] = {0, 0};
    for (size_t i = 0; i < n; i++)
        class_rows[dataset->labels[i]]++;
    size_t target[2], n_test;
    if (stratify) {
        target[0] = round_count(test_fraction * (double)class_rows[0]);
        target[1] = round_count(test_fraction * (double)class_rows[1]);
        n_test = target[0] + target[1];
    } else {
        n_test = round_count(test_fraction * (double)n);
        target[0] = target[1] = n_test;
    }
    QML_CHECK_ARG(n_test >= 1 && n_test < n,
                  "qml_dataset_split: test_fraction %g of %zu rows%s gives %zu test rows; both sets must be non-empty",
                  test_fraction, n, stratify ? " (stratified)" : "", n_test);

    size_t *order = qml__malloc(qml__mul_size(n, sizeof(size_t)));
    unsigned char *in_test = qml__calloc(n, 1);
    qml_dataset *train_set = NULL, *test_set = NULL;
    int status = QML_OK;
    if (!order || !in_test) {
        status = qml__oom("a split permutation");
        goto done;
    }
    struct qml_rng rng;
    qml__rng_init(&rng, seed, QML__STREAM_SPLIT);
    qml__permutation(order, n, &rng);
    /* The test set is the first rows of the permutation (of each class,
     * when stratified). */
    size_t taken[2] = {0, 0}, total = 0;
    for (size_t k = 0; k < n && total < n_test; k++) {
        size_t row = order[k];
        int c = stratify ? dataset->labels[row] : 0;
        if (taken[c] < target[c]) {
            taken[c]++;
            total++;
            in_test[row] = 1;
        }
    }
    status = dataset_alloc(&train_set, n - n_test, dataset->n_features);
    if (!status)
        status = dataset_alloc(&test_set, n_test, dataset->n_features);
    if (status)
        goto done;
    size_t i_train = 0, i_test = 0;
    for (size_t row = 0; row < n; row++) {
        if (in_test[row])
            copy_row(test_set, i_test++, dataset, row);
        else
            copy_row(train_set, i_train++, dataset, row);
    }
    *train = train_set;
    *test = test_set;
    train_set = test_set = NULL;
    qml__ok();
done:
    dataset_release(train_set);
    dataset_release(test_set);
    qml__free(order);
    qml__free(in_test);
    return status;
}

/* ---- feature scaling ----------------------------------------------------- */

/* Whether (x - mean) / stddev stays finite for every value: checked before
 * anything is written (a stddev of 1e-320 would make infinities). */
static int check_standardization(const qml_dataset *dataset, const double *mean, const double *stddev,
                                 const char *caller)
{
    size_t nf = dataset->n_features;
    const double *x = dataset->features;
    for (size_t i = 0; i < dataset->n_rows; i++)
        for (size_t j = 0; j < nf; j++) {
            double s = stddev[j] > 0 ? stddev[j] : 1.0;
            if (!isfinite((x[i * nf + j] - mean[j]) / s))
                return qml__error(QML_ERR_OUT_OF_RANGE,
                                  "%s: feature %zu of row %zu, %g, standardised with mean %g and stddev %g, "
                                  "overflows; nothing was changed", caller, j, i, x[i * nf + j], mean[j], stddev[j]);
        }
    return QML_OK;
}

static void apply_standardization(qml_dataset *dataset, const double *mean, const double *stddev)
{
    size_t nf = dataset->n_features;
    double *restrict x = dataset->features;
    for (size_t i = 0; i < dataset->n_rows; i++)
        for (size_t j = 0; j < nf; j++) {
            double s = stddev[j] > 0 ? stddev[j] : 1.0;
            x[i * nf + j] = (x[i * nf + j] - mean[j]) / s;
        }
}

static void apply_rescale(qml_dataset *dataset, const double *min, const double *max, double low, double high)
{
    size_t nf = dataset->n_features;
    double *restrict x = dataset->features;
    for (size_t j = 0; j < nf; j++) {
        double width = max[j] - min[j];
        if (width > 0) {
            double factor = (high - low) / width;
            for (size_t i = 0; i < dataset->n_rows; i++)
                x[i * nf + j] = low + (x[i * nf + j] - min[j]) * factor;
        } else {
            for (size_t i = 0; i < dataset->n_rows; i++)
                x[i * nf + j] = 0.5 * (low + high);
        }
    }
}

/* Common checks of the fit-on-train, apply-to-both functions. */
static int check_pair(const qml_dataset *train, const qml_dataset *test, const char *caller)
{
    QML_CHECK_ARG(train != NULL, "%s: argument 'train' is NULL", caller);
    QML_CHECK_ARG(test != train, "%s: test is the training set itself; pass NULL for no test set", caller);
    QML_CHECK_ARG(test == NULL || test->n_features == train->n_features,
                  "%s: test has %zu features, train has %zu", caller, test ? test->n_features : 0,
                  train->n_features);
    return QML_OK;
}

int qml_dataset_standardize(qml_dataset *train, qml_dataset *test, double *mean, double *stddev)
{
    int status = check_pair(train, test, __func__);
    if (status)
        return status;
    size_t nf = train->n_features, n = train->n_rows;
    double *stats = qml__calloc(nf, 2 * sizeof(double));
    if (!stats)
        return qml__oom("feature statistics");
    double *m = stats, *s = stats + nf;
    /* Two passes (mean, then mean squared deviation): no cancellation of
     * E[x^2] - E[x]^2 for features far from 0. Population deviation,
     * divisor n, as scikit-learn's StandardScaler. */
    const double *restrict x = train->features;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < nf; j++)
            m[j] += x[i * nf + j];
    for (size_t j = 0; j < nf; j++)
        m[j] /= (double)n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < nf; j++) {
            double d = x[i * nf + j] - m[j];
            s[j] += d * d;
        }
    for (size_t j = 0; j < nf; j++) {
        s[j] = sqrt(s[j] / (double)n);
        if (isfinite(m[j]) && !isfinite(s[j])) {
            /* The squares overflowed (features beyond 1e154): the same
             * deviation computed with each term scaled by the largest. */
            double scale = 0.0, sum = 0.0;
            for (size_t i = 0; i < n; i++)
                scale = fmax(scale, fabs(x[i * nf + j] - m[j]));
            for (size_t i = 0; i < n; i++) {
                double d = (x[i * nf + j] - m[j]) / scale;
                sum += d * d;
            }
            s[j] = scale * sqrt(sum / (double)n);
        }
    }
    for (size_t j = 0; j < nf && !status; j++)
        if (!isfinite(m[j]) || !isfinite(s[j]))
            status = qml__error(QML_ERR_OUT_OF_RANGE,
                                "qml_dataset_standardize: feature %zu's mean (%g) or standard deviation (%g) "
                                "overflows; nothing was changed", j, m[j], s[j]);
    if (!status)
        status = check_standardization(train, m, s, __func__);
    if (!status && test)
        status = check_standardization(test, m, s, __func__);
    if (status) {
        qml__free(stats);
        return status;
    }
    apply_standardization(train, m, s);
    if (test)
        apply_standardization(test, m, s);
    if (mean)
        memcpy(mean, m, nf * sizeof(double));
    if (stddev)
        memcpy(stddev, s, nf * sizeof(double));
    qml__free(stats);
    qml__ok();
    return QML_OK;
}

int qml_dataset_apply_standardization(qml_dataset *dataset, const double *mean, const double *stddev,
                                      size_t n_features)
{
    QML_CHECK_NULL(dataset);
    QML_CHECK_NULL(mean);
    QML_CHECK_NULL(stddev);
    QML_CHECK_ARG(n_features == dataset->n_features,
                  "qml_dataset_apply_standardization: %zu statistics for a dataset of %zu features", n_features,
                  dataset->n_features);
    for (size_t j = 0; j < n_features; j++) {
        QML_CHECK_ARG(isfinite(mean[j]), "qml_dataset_apply_standardization: mean[%zu] = %g is not finite", j,
                      mean[j]);
        QML_CHECK_ARG(isfinite(stddev[j]) && stddev[j] >= 0,
                      "qml_dataset_apply_standardization: stddev[%zu] = %g is not a finite number >= 0", j, stddev[j]);
    }
    int status = check_standardization(dataset, mean, stddev, __func__);
    if (status)
        return status;
    apply_standardization(dataset, mean, stddev);
    qml__ok();
    return QML_OK;
}

static int check_range(double low, double high, const char *caller)
{
    QML_CHECK_ARG(isfinite(low) && isfinite(high) && low < high && isfinite(high - low),
                  "%s: target range [%g, %g] is not a finite interval with low < high", caller, low, high);
    return QML_OK;
}

int qml_dataset_rescale(qml_dataset *train, qml_dataset *test, double low, double high, double *min, double *max)
{
    int status = check_pair(train, test, __func__);
    if (!status)
        status = check_range(low, high, __func__);
    if (status)
        return status;
    size_t nf = train->n_features;
    double *range = qml__malloc(qml__mul_size(nf, 2 * sizeof(double)));
    if (!range)
        return qml__oom("feature ranges");
    double *lo = range, *hi = range + nf;
    for (size_t j = 0; j < nf; j++)
        lo[j] = hi[j] = train->features[j];
    for (size_t i = 1; i < train->n_rows; i++)
        for (size_t j = 0; j < nf; j++) {
            double v = train->features[i * nf + j];
            lo[j] = v < lo[j] ? v : lo[j];
            hi[j] = v > hi[j] ? v : hi[j];
        }
    for (size_t j = 0; j < nf; j++) {
        /* Features spanning more than DBL_MAX cannot be mapped. */
        if (!isfinite(hi[j] - lo[j])) {
            status = qml__error(QML_ERR_INVALID_ARGUMENT, "qml_dataset_rescale: feature %zu spans [%g, %g], too wide",
                                j, lo[j], hi[j]);
            qml__free(range);
            return status;
        }
    }
    apply_rescale(train, lo, hi, low, high);
    if (test)
        apply_rescale(test, lo, hi, low, high);
    if (min)
        memcpy(min, lo, nf * sizeof(double));
    if (max)
        memcpy(max, hi, nf * sizeof(double));
    qml__free(range);
    qml__ok();
    return QML_OK;
}

int qml_dataset_apply_rescale(qml_dataset *dataset, const double *min, const double *max, size_t n_features,
                              double low, double high)
{
    QML_CHECK_NULL(dataset);
    QML_CHECK_NULL(min);
    QML_CHECK_NULL(max);
    QML_CHECK_ARG(n_features == dataset->n_features,
                  "qml_dataset_apply_rescale: %zu ranges for a dataset of %zu features", n_features,
                  dataset->n_features);
    int status = check_range(low, high, __func__);
    if (status)
        return status;
    for (size_t j = 0; j < n_features; j++)
        QML_CHECK_ARG(isfinite(min[j]) && isfinite(max[j]) && min[j] <= max[j] && isfinite(max[j] - min[j]),
                      "qml_dataset_apply_rescale: range %zu [%g, %g] is not a finite interval", j, min[j], max[j]);
    apply_rescale(dataset, min, max, low, high);
    qml__ok();
    return QML_OK;
}

/* ---- data with a symmetry, label noise, random labels --------------------- */

/* PRNG streams (ASCII tags, as in internal.h). */
#define QML__STREAM_SYMMETRIC UINT64_C(0x73796d6d65747279)   /* "symmetry" */
#define QML__STREAM_FLIP UINT64_C(0x666c6970)                 /* "flip" */
#define QML__STREAM_LABELS UINT64_C(0x6c6162656c73)           /* "labels" */

int qml__symmetric_label(qml_symmetric_task task, const double *x, size_t n_features)
{
    switch (task) {
    case QML_TASK_COS_MEDIAN: {
        /* Summed in index order; the sign of the mean is that of the sum. */
        double sum = 0.0;
        for (size_t q = 0; q < n_features; q++)
            sum += cos(x[q]);
        return sum > 0.0;
    }
    case QML_TASK_PARITY: {
        size_t positive = 0;
        for (size_t q = 0; q < n_features; q++)
            positive += x[q] > 0.0;
        return (int)(positive & 1u);
    }
    case QML_TASK_BROKEN:
    default:
        return x[0] > 0.0;
    }
}

int qml_dataset_symmetric(qml_dataset **out, qml_symmetric_task task, size_t n_rows, size_t n_features,
                          uint64_t seed)
{
    QML_CHECK_NULL(out);
    QML_CHECK_ARG(task == QML_TASK_COS_MEDIAN || task == QML_TASK_PARITY || task == QML_TASK_BROKEN,
                  "%s: unknown task %d", __func__, (int)task);
    QML_CHECK_ARG(n_rows >= 2, "%s: n_rows is %zu; need at least 2", __func__, n_rows);
    QML_CHECK_ARG(n_features >= 2, "%s: %zu feature(s); a task with a permutation symmetry needs at least 2",
                  __func__, n_features);
    QML_CHECK_ARG(n_rows <= SIZE_MAX / n_features / sizeof(double),
                  "%s: %zu rows of %zu features exceed the address space", __func__, n_rows, n_features);
    qml_dataset *dataset;
    int status = dataset_alloc(&dataset, n_rows, n_features);
    if (status)
        return status;
    struct qml_rng rng;
    qml__rng_init(&rng, seed, QML__STREAM_SYMMETRIC);
    for (size_t i = 0; i < n_rows; i++) {
        double *x = dataset->features + i * n_features;
        for (size_t q = 0; q < n_features; q++)
            x[q] = QML_PI * (2.0 * qml__rng_uniform(&rng) - 1.0);
        dataset->labels[i] = qml__symmetric_label(task, x, n_features);
    }
    *out = dataset;
    qml__ok();
    return QML_OK;
}

int qml_dataset_flip_labels(qml_dataset *dataset, double fraction, uint64_t seed)
{
    QML_CHECK_NULL(dataset);
    QML_CHECK_ARG(fraction >= 0.0 && fraction <= 1.0, "%s: fraction %g is not in [0, 1]", __func__, fraction);
    size_t n = dataset->n_rows;
    size_t needed = (size_t)floor(fraction * (double)n + 0.5);
    if (needed > n)
        needed = n;
    struct qml_rng rng;
    qml__rng_init(&rng, seed, QML__STREAM_FLIP);
    /* Selection sampling: row i is chosen with probability
     * needed / (n - i), which picks every needed-subset equally often. */
    for (size_t i = 0; i < n && needed > 0; i++) {
        if (qml__rng_below(&rng, n - i) < needed) {
            dataset->labels[i] = !dataset->labels[i];
            needed--;
        }
    }
    qml__ok();
    return QML_OK;
}

int qml_dataset_random_labels(qml_dataset *dataset, uint64_t seed)
{
    QML_CHECK_NULL(dataset);
    struct qml_rng rng;
    qml__rng_init(&rng, seed, QML__STREAM_LABELS);
    for (size_t i = 0; i < dataset->n_rows; i++)
        dataset->labels[i] = (int)(qml__rng_next(&rng) >> 63);
    qml__ok();
    return QML_OK;
}
