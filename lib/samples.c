/*
 * samples.c: mergeable partial results of the landscape estimators. A part
 * holds the per-sample values of a contiguous range of samples; parts merge
 * by concatenation in sample order and travel between processes as bytes,
 * so that any split of an estimate gives bitwise the result of one process.
 */
#include "internal.h"
#include "landscape.h"

#include <math.h>
#include <string.h>

/* ---- the byte format ------------------------------------------------------
 * Every field is a 64-bit word in the writer's byte order (doubles by their
 * bits); a reader checks the magic, the version and a byte-order marker, so
 * a part from a machine it cannot read is refused, never misread.
 *   samples: magic "QMLSMP01", order, version, total, first, count, seed,
 *            shots, n_weights, params, n_selected, fingerprint,
 *            count losses, count * n_selected derivatives.
 *   scan:    magic "QMLSCN01", order, version, n_rows, fit_layers, quantity,
 *            has_parts, then per row n_qubits, layers, samples, n_params,
 *            dim_g, dim_g_capped, var_measured, var_stderr, var_predicted,
 *            seconds, observable_scale; then, with parts, per row the length
 *            in bytes of its samples part followed by that part (length 0:
 *            the row holds no samples, as the other rows of a piece).
 */
#define SAMPLES_MAGIC 0x3130504d534c4d51ull /* "QMLSMP01" read little-endian */
#define SCAN_MAGIC 0x31304e43534c4d51ull    /* "QMLSCN01" */
#define ORDER_MARK 0x0102030405060708ull
#define FORMAT_VERSION 1u
#define SAMPLES_HEADER_WORDS 12u
#define SCAN_HEADER_WORDS 7u
#define ROW_WORDS 11u

/* ---- construction ------------------------------------------------------------ */

qml_gradient_samples *qml__gradient_samples_new(size_t count, size_t n_selected)
{
    qml_gradient_samples *samples = qml__calloc(1, sizeof *samples);
    if (!samples)
        return NULL;
    samples->count = count;
    samples->n_selected = n_selected;
    samples->values = qml__calloc(count, sizeof(double));
    samples->gradients = qml__calloc(qml__mul_size(count, n_selected), sizeof(double));
    if (!samples->values || !samples->gradients) {
        qml_gradient_samples_free(samples);
        return NULL;
    }
    return samples;
}

void qml_gradient_samples_free(qml_gradient_samples *samples)
{
    if (!samples)
        return;
    qml__free(samples->values);
    qml__free(samples->gradients);
    qml__free(samples);
}

int qml_gradient_samples_range(const qml_gradient_samples *samples, size_t *first, size_t *count, size_t *total)
{
    QML_CHECK_NULL(samples);
    if (first)
        *first = samples->first;
    if (count)
        *count = samples->count;
    if (total)
        *total = samples->total;
    qml__ok();
    return QML_OK;
}

/* ---- fingerprints ----------------------------------------------------------- */

/* FNV-1a, 64 bits (Fowler, Noll, Vo): enough to tell two estimates apart by
 * accident-proof margin; it is a guard against merging the wrong parts, not
 * a cryptographic check. */
static uint64_t fnv(uint64_t hash, const void *data, size_t length)
{
    const unsigned char *bytes = data;
    for (size_t i = 0; i < length; i++) {
        hash ^= bytes[i];
        hash *= 0x100000001b3ull;
    }
    return hash;
}

static uint64_t fnv_u64(uint64_t hash, uint64_t value)
{
    return fnv(hash, &value, sizeof value);
}

static uint64_t fnv_double(uint64_t hash, double value)
{
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    return fnv_u64(hash, bits);
}

static uint64_t fnv_sum(uint64_t hash, const qml_pauli_sum *sum)
{
    hash = fnv_u64(hash, sum->n_qubits);
    hash = fnv_u64(hash, sum->n_terms);
    for (size_t t = 0; t < sum->n_terms; t++) {
        hash = fnv(hash, sum->x + t * sum->words, sum->words * sizeof(uint64_t));
        hash = fnv(hash, sum->z + t * sum->words, sum->words * sizeof(uint64_t));
        hash = fnv_double(hash, sum->coeff[t]);
    }
    return hash;
}

uint64_t qml__landscape_fingerprint(const qml_circuit *circuit, const qml_pauli_sum *observable,
                                    const qml_statevec *initial, const double *features, size_t n_features)
{
    uint64_t hash = 0xcbf29ce484222325ull;
    hash = fnv_u64(hash, circuit->n_qubits);
    hash = fnv_u64(hash, circuit->n_gates);
    for (size_t g = 0; g < circuit->n_gates; g++) {
        const qml__gate *gate = &circuit->gates[g];
        hash = fnv_u64(hash, (uint64_t)gate->kind);
        hash = fnv_u64(hash, gate->n_targets);
        for (unsigned k = 0; k < 3; k++)
            hash = fnv_u64(hash, gate->qubits[k]);
        hash = fnv_double(hash, gate->constant);
        hash = fnv_double(hash, gate->weight_scale);
        hash = fnv_double(hash, gate->feature_scale);
        hash = fnv_u64(hash, (uint64_t)gate->weight);
        hash = fnv_u64(hash, (uint64_t)gate->feature);
        if (gate->kind == QML_GATE_UNITARY1 || gate->kind == QML_GATE_UNITARY2)
            for (unsigned k = 0; k < (gate->kind == QML_GATE_UNITARY1 ? 8u : 32u); k++)
                hash = fnv_double(hash, gate->matrix[k]);
        if (gate->generator)
            hash = fnv_sum(hash, gate->generator);
    }
    hash = fnv_sum(hash, observable);
    hash = fnv_u64(hash, initial != NULL);
    if (initial)
        for (uint64_t i = 0; i < 2 * initial->dim; i++)
            hash = fnv_double(hash, initial->amplitudes[i]);
    hash = fnv_u64(hash, n_features);
    for (size_t j = 0; j < n_features; j++)
        hash = fnv_double(hash, features[j]);
    return hash;
}

/* ---- merging ------------------------------------------------------------------ */

/* Sort part indices by their first sample (insertion sort: parts are few). */
static void sort_by_first(size_t *order, const size_t *firsts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = 1; i < n; i++) {
        size_t key = order[i], j = i;
        while (j > 0 && firsts[order[j - 1]] > firsts[key]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = key;
    }
}

/* Check that two parts belong to one estimate; names the first field that
 * differs. */
static int samples_compatible(const qml_gradient_samples *a, const qml_gradient_samples *b, const char *caller,
                              size_t index)
{
    const char *field = a->total != b->total               ? "the sample count S"
                        : a->seed != b->seed               ? "the seed"
                        : a->shots != b->shots             ? "the shot count"
                        : a->n_weights != b->n_weights     ? "the weight count"
                        : a->params != b->params           ? "the weight selection"
                        : a->n_selected != b->n_selected   ? "the selected weights"
                        : a->fingerprint != b->fingerprint ? "the circuit, observable, initial state or features"
                                                           : NULL;
    if (field)
        return qml__error(QML_ERR_INVALID_ARGUMENT, "%s: part %zu is of another estimate (%s differs)", caller,
                          index, field);
    return QML_OK;
}

/* Concatenate parts (checked, in the given order) into a new part. */
static int samples_concat(qml_gradient_samples **out, const qml_gradient_samples *const *parts, const size_t *order,
                          size_t n_parts, const char *caller)
{
    const qml_gradient_samples *head = parts[order[0]];
    size_t count = 0, next = head->first;
    for (size_t i = 0; i < n_parts; i++) {
        const qml_gradient_samples *part = parts[order[i]];
        int status = samples_compatible(head, part, caller, order[i]);
        if (status)
            return status;
        if (part->first != next)
            return qml__error(QML_ERR_INVALID_ARGUMENT,
                              "%s: part %zu starts at sample %zu but the parts before it end at %zu (%s)", caller,
                              order[i], part->first, next, part->first > next ? "a gap" : "an overlap");
        next = part->first + part->count;
        count += part->count;
    }
    qml_gradient_samples *merged = qml__gradient_samples_new(count, head->n_selected);
    if (!merged)
        return qml__oom("merged samples");
    merged->total = head->total;
    merged->first = head->first;
    merged->seed = head->seed;
    merged->shots = head->shots;
    merged->n_weights = head->n_weights;
    merged->params = head->params;
    merged->fingerprint = head->fingerprint;
    size_t at = 0;
    for (size_t i = 0; i < n_parts; i++) {
        const qml_gradient_samples *part = parts[order[i]];
        memcpy(merged->values + at, part->values, part->count * sizeof(double));
        memcpy(merged->gradients + at * head->n_selected, part->gradients,
               part->count * head->n_selected * sizeof(double));
        at += part->count;
    }
    *out = merged;
    return QML_OK;
}

int qml_gradient_samples_merge(qml_gradient_samples **out, const qml_gradient_samples *const *parts, size_t n_parts)
{
    QML_CHECK_NULL(out);
    QML_CHECK_NULL(parts);
    QML_CHECK_ARG(n_parts >= 1, "qml_gradient_samples_merge: n_parts = 0");
    for (size_t i = 0; i < n_parts; i++)
        QML_CHECK_ARG(parts[i] != NULL, "qml_gradient_samples_merge: part %zu is NULL", i);
    size_t *order = qml__calloc(n_parts, 2 * sizeof(size_t));
    if (!order)
        return qml__oom("the order of merged parts");
    size_t *firsts = order + n_parts;
    for (size_t i = 0; i < n_parts; i++)
        firsts[i] = parts[i]->first;
    sort_by_first(order, firsts, n_parts);
    int status = samples_concat(out, parts, order, n_parts, "qml_gradient_samples_merge");
    qml__free(order);
    if (status == QML_OK)
        qml__ok();
    return status;
}

/* ---- bytes -------------------------------------------------------------------- */

typedef struct writer {
    unsigned char *at;   /* NULL: only count */
    size_t length;
} writer;

static void put_u64(writer *w, uint64_t value)
{
    if (w->at)
        memcpy(w->at + w->length, &value, sizeof value);
    w->length += sizeof value;
}

static void put_double(writer *w, double value)
{
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    put_u64(w, bits);
}

static void put_doubles(writer *w, const double *values, size_t count)
{
    if (w->at && count)
        memcpy(w->at + w->length, values, count * sizeof(double));
    w->length += count * sizeof(double);
}

typedef struct reader {
    const unsigned char *data;
    size_t length;
    size_t at;
    const char *caller;
    const char *what;
} reader;

static int get_u64(reader *r, uint64_t *value)
{
    if (r->length - r->at < sizeof *value)
        return qml__error(QML_ERR_PARSE, "%s: %s ends after %zu bytes, inside a field", r->caller, r->what,
                          r->length);
    memcpy(value, r->data + r->at, sizeof *value);
    r->at += sizeof *value;
    return QML_OK;
}

static int get_double(reader *r, double *value)
{
    uint64_t bits = 0;
    int status = get_u64(r, &bits);
    if (status == QML_OK)
        memcpy(value, &bits, sizeof bits);
    return status;
}

static int get_header(reader *r, uint64_t magic)
{
    uint64_t word[3] = {0};
    for (int i = 0; i < 3; i++) {
        int status = get_u64(r, &word[i]);
        if (status)
            return status;
    }
    if (word[0] != magic)
        return qml__error(QML_ERR_PARSE, "%s: not a serialised %s (wrong magic number)", r->caller, r->what);
    if (word[1] != ORDER_MARK)
        return qml__error(QML_ERR_PARSE, "%s: the %s was written with another byte order", r->caller, r->what);
    if (word[2] != FORMAT_VERSION)
        return qml__error(QML_ERR_PARSE, "%s: format version %llu of the %s; this library reads version %u",
                          r->caller, (unsigned long long)word[2], r->what, FORMAT_VERSION);
    return QML_OK;
}

static void samples_write(writer *w, const qml_gradient_samples *s)
{
    put_u64(w, SAMPLES_MAGIC);
    put_u64(w, ORDER_MARK);
    put_u64(w, FORMAT_VERSION);
    put_u64(w, s->total);
    put_u64(w, s->first);
    put_u64(w, s->count);
    put_u64(w, s->seed);
    put_u64(w, s->shots);
    put_u64(w, s->n_weights);
    put_u64(w, (uint64_t)s->params);
    put_u64(w, s->n_selected);
    put_u64(w, s->fingerprint);
    put_doubles(w, s->values, s->count);
    put_doubles(w, s->gradients, s->count * s->n_selected);
}

static int samples_read(reader *r, qml_gradient_samples **out)
{
    int status = get_header(r, SAMPLES_MAGIC);
    uint64_t f[SAMPLES_HEADER_WORDS - 3] = {0};
    for (unsigned i = 0; status == QML_OK && i < SAMPLES_HEADER_WORDS - 3; i++)
        status = get_u64(r, &f[i]);
    if (status)
        return status;
    uint64_t total = f[0], first = f[1], count = f[2], n_weights = f[5], params = f[6], n_selected = f[7];
    if (total < 2 || count == 0 || first >= total || count > total - first || total > SIZE_MAX)
        return qml__error(QML_ERR_PARSE, "%s: samples [%llu, +%llu) of %llu is not a valid range", r->caller,
                          (unsigned long long)first, (unsigned long long)count, (unsigned long long)total);
    if (params > QML_PARAMS_ALL || n_weights == 0 ||
        n_selected != (params == QML_PARAMS_ALL ? n_weights : 1u))
        return qml__error(QML_ERR_PARSE, "%s: weight selection %llu with %llu of %llu weights is inconsistent",
                          r->caller, (unsigned long long)params, (unsigned long long)n_selected,
                          (unsigned long long)n_weights);
    /* The payload must be exactly what the counts say, checked before
     * allocating so that a forged count cannot ask for terabytes. */
    size_t remaining = r->length - r->at;
    if (n_selected >= remaining || count > remaining / sizeof(double) || n_selected + 1 > remaining / sizeof(double) / count ||
        count * (n_selected + 1) * sizeof(double) > remaining)
        return qml__error(QML_ERR_PARSE, "%s: %s of %llu samples x %llu values needs more than the %zu bytes left",
                          r->caller, r->what, (unsigned long long)count, (unsigned long long)(n_selected + 1),
                          remaining);
    qml_gradient_samples *s = qml__gradient_samples_new((size_t)count, (size_t)n_selected);
    if (!s)
        return qml__oom("deserialised samples");
    s->total = (size_t)total;
    s->first = (size_t)first;
    s->seed = f[3];
    s->shots = f[4];
    s->n_weights = (size_t)n_weights;
    s->params = (qml_param_selection)params;
    s->fingerprint = f[8];
    memcpy(s->values, r->data + r->at, s->count * sizeof(double));
    r->at += s->count * sizeof(double);
    memcpy(s->gradients, r->data + r->at, s->count * s->n_selected * sizeof(double));
    r->at += s->count * s->n_selected * sizeof(double);
    *out = s;
    return QML_OK;
}

static int finish_write(const writer *counted, void *buffer, size_t capacity, size_t *length, const char *caller)
{
    if (length)
        *length = counted->length;
    if (capacity < counted->length)
        return qml__error(QML_ERR_OUT_OF_RANGE, "%s: the buffer of %zu bytes is smaller than the %zu needed",
                          caller, capacity, counted->length);
    (void)buffer;
    return QML_OK;
}

int qml_gradient_samples_serialize(const qml_gradient_samples *samples, void *buffer, size_t capacity,
                                   size_t *length)
{
    QML_CHECK_NULL(samples);
    QML_CHECK_ARG(buffer != NULL || capacity == 0, "qml_gradient_samples_serialize: buffer is NULL, capacity %zu",
                  capacity);
    writer count = {NULL, 0};
    samples_write(&count, samples);
    int status = finish_write(&count, buffer, capacity, length, __func__);
    if (status)
        return status;
    writer w = {buffer, 0};
    samples_write(&w, samples);
    qml__ok();
    return QML_OK;
}

int qml_gradient_samples_deserialize(qml_gradient_samples **out, const void *buffer, size_t length)
{
    QML_CHECK_NULL(out);
    QML_CHECK_NULL(buffer);
    reader r = {buffer, length, 0, __func__, "gradient-samples part"};
    qml_gradient_samples *samples = NULL;
    int status = samples_read(&r, &samples);
    if (status == QML_OK && r.at != length) {
        status = qml__error(QML_ERR_PARSE, "%s: %zu bytes follow the part's %zu", __func__, length - r.at, r.at);
        qml_gradient_samples_free(samples);
        samples = NULL;
    }
    if (status)
        return status;
    *out = samples;
    qml__ok();
    return QML_OK;
}

/* ---- scans ------------------------------------------------------------------- */

static qml_bp_scan *scan_new(size_t n_rows, int with_parts)
{
    qml_bp_scan *scan = qml__calloc(1, sizeof *scan);
    if (!scan)
        return NULL;
    scan->n_rows = n_rows;
    scan->rows = qml__calloc(n_rows, sizeof *scan->rows);
    scan->observable_scale = qml__calloc(n_rows, sizeof(double));
    scan->parts = with_parts ? qml__calloc(n_rows, sizeof *scan->parts) : NULL;
    if (!scan->rows || !scan->observable_scale || (with_parts && !scan->parts)) {
        qml_bp_scan_free(scan);
        return NULL;
    }
    return scan;
}

int qml_bp_scan_merge(qml_bp_scan **out, const qml_bp_scan *const *parts, size_t n_parts)
{
    static const char caller[] = "qml_bp_scan_merge";
    QML_CHECK_NULL(out);
    QML_CHECK_NULL(parts);
    QML_CHECK_ARG(n_parts >= 1, "%s: n_parts = 0", caller);
    for (size_t i = 0; i < n_parts; i++) {
        QML_CHECK_ARG(parts[i] != NULL, "%s: part %zu is NULL", caller, i);
        QML_CHECK_ARG(parts[i]->parts != NULL && parts[i]->n_rows >= 1,
                      "%s: scan %zu is not a part (make parts with qml_bp_scan_family_part() or "
                      "qml_bp_scan_generators_part())",
                      caller, i);
        const qml_bp_scan *a = parts[0], *b = parts[i];
        const char *field = a->n_rows != b->n_rows           ? "the row count"
                            : a->fit_layers != b->fit_layers ? "the fitted depth"
                            : a->quantity != b->quantity     ? "the quantity"
                                                             : NULL;
        for (size_t r = 0; !field && r < a->n_rows; r++)
            field = a->rows[r].n_qubits != b->rows[r].n_qubits || a->rows[r].layers != b->rows[r].layers
                        ? "the qubit counts or depths of the rows"
                    : a->parts[r] && b->parts[r] && a->observable_scale[r] != b->observable_scale[r]
                        ? "the observable"
                        : NULL;
        if (field)
            return qml__error(QML_ERR_INVALID_ARGUMENT, "%s: part %zu is of another scan (%s differs)", caller, i,
                              field);
    }
    const size_t n_rows = parts[0]->n_rows;
    size_t *order = qml__calloc(n_parts, 2 * sizeof(size_t));
    const qml_gradient_samples **row_parts = qml__calloc(n_parts, sizeof *row_parts);
    qml_bp_scan *scan = scan_new(n_rows, 1);
    int status = QML_OK;
    if (!order || !row_parts || !scan) {
        status = qml__oom("a merged scan");
        goto done;
    }
    size_t *firsts = order + n_parts;
    scan->fit_layers = parts[0]->fit_layers;
    scan->quantity = parts[0]->quantity;
    /* Row by row: the parts holding samples of the row (all of them for
     * parts of _part, one for a piece of _piece), in sample order. */
    for (size_t r = 0; r < n_rows && status == QML_OK; r++) {
        size_t holders = 0;
        for (size_t i = 0; i < n_parts; i++)
            if (parts[i]->parts[r]) {
                row_parts[holders] = parts[i]->parts[r];
                firsts[holders++] = parts[i]->parts[r]->first;
            }
        qml_bp_row *row = &scan->rows[r];
        if (holders == 0) {
            *row = parts[0]->rows[r]; /* no samples yet: NaN, as in a piece */
            continue;
        }
        sort_by_first(order, firsts, holders);
        status = samples_concat(&scan->parts[r], row_parts, order, holders, caller);
        if (status)
            break;
        /* The row's metadata from the part holding its first samples (the
         * one that computed the DLA and the prediction). */
        const qml_bp_scan *head = NULL;
        for (size_t i = 0; i < n_parts && !head; i++)
            if (parts[i]->parts[r] == row_parts[order[0]])
                head = parts[i];
        *row = head->rows[r];
        scan->observable_scale[r] = head->observable_scale[r];
        row->samples = scan->parts[r]->count;
        row->seconds = 0.0;
        for (size_t i = 0; i < n_parts; i++)
            if (parts[i]->parts[r])
                row->seconds += parts[i]->rows[r].seconds;
        row->var_measured = NAN;
        row->var_stderr = NAN;
        if (scan->parts[r]->count == scan->parts[r]->total)
            status = qml__bp_row_measure(row, scan->parts[r], scan->quantity, scan->observable_scale[r]);
    }
    if (status == QML_OK) {
        *out = scan;
        scan = NULL;
        qml__ok();
    }
done:
    qml_bp_scan_free(scan);
    qml__free(row_parts);
    qml__free(order);
    return status;
}

static void scan_write(writer *w, const qml_bp_scan *scan)
{
    put_u64(w, SCAN_MAGIC);
    put_u64(w, ORDER_MARK);
    put_u64(w, FORMAT_VERSION);
    put_u64(w, scan->n_rows);
    put_u64(w, scan->fit_layers);
    put_u64(w, (uint64_t)scan->quantity);
    put_u64(w, scan->parts != NULL);
    for (size_t r = 0; r < scan->n_rows; r++) {
        const qml_bp_row *row = &scan->rows[r];
        put_u64(w, row->n_qubits);
        put_u64(w, row->layers);
        put_u64(w, row->samples);
        put_u64(w, row->n_params);
        put_u64(w, row->dim_g);
        put_u64(w, (uint64_t)row->dim_g_capped);
        put_double(w, row->var_measured);
        put_double(w, row->var_stderr);
        put_double(w, row->var_predicted);
        put_double(w, row->seconds);
        put_double(w, scan->observable_scale[r]);
    }
    if (scan->parts) {
        for (size_t r = 0; r < scan->n_rows; r++) {
            if (!scan->parts[r]) {
                put_u64(w, 0); /* a row without samples (the other rows of a piece) */
                continue;
            }
            writer counted = {NULL, 0};
            samples_write(&counted, scan->parts[r]);
            put_u64(w, counted.length);
            writer part = {w->at ? w->at + w->length : NULL, 0};
            samples_write(&part, scan->parts[r]);
            w->length += part.length;
        }
    }
}

int qml_bp_scan_serialize(const qml_bp_scan *scan, void *buffer, size_t capacity, size_t *length)
{
    QML_CHECK_NULL(scan);
    QML_CHECK_ARG(buffer != NULL || capacity == 0, "qml_bp_scan_serialize: buffer is NULL, capacity %zu", capacity);
    writer count = {NULL, 0};
    scan_write(&count, scan);
    int status = finish_write(&count, buffer, capacity, length, __func__);
    if (status)
        return status;
    writer w = {buffer, 0};
    scan_write(&w, scan);
    qml__ok();
    return QML_OK;
}

static int scan_read(reader *r, qml_bp_scan **out)
{
    int status = get_header(r, SCAN_MAGIC);
    uint64_t f[SCAN_HEADER_WORDS - 3] = {0};
    for (unsigned i = 0; status == QML_OK && i < SCAN_HEADER_WORDS - 3; i++)
        status = get_u64(r, &f[i]);
    if (status)
        return status;
    uint64_t n_rows = f[0], fit_layers = f[1], quantity = f[2], has_parts = f[3];
    if (n_rows == 0 || n_rows > (r->length - r->at) / (ROW_WORDS * sizeof(uint64_t)) || fit_layers > 0xFFFFFFFFu ||
        quantity > QML_BP_LOSS || has_parts > 1)
        return qml__error(QML_ERR_PARSE, "%s: a scan header of %llu rows (quantity %llu) does not fit its %zu bytes",
                          r->caller, (unsigned long long)n_rows, (unsigned long long)quantity, r->length);
    qml_bp_scan *scan = scan_new((size_t)n_rows, has_parts != 0);
    if (!scan)
        return qml__oom("a deserialised scan");
    scan->fit_layers = (unsigned)fit_layers;
    scan->quantity = (qml_bp_quantity)quantity;
    for (size_t i = 0; i < scan->n_rows && status == QML_OK; i++) {
        qml_bp_row *row = &scan->rows[i];
        uint64_t u[6] = {0};
        for (unsigned k = 0; k < 6 && status == QML_OK; k++)
            status = get_u64(r, &u[k]);
        if (status == QML_OK && (u[0] == 0 || u[0] > 0xFFFFFFFFu || u[1] > 0xFFFFFFFFu || u[5] > 1))
            status = qml__error(QML_ERR_PARSE, "%s: row %zu has an invalid qubit count, depth or flag", r->caller, i);
        if (status)
            break;
        row->size = sizeof *row;
        row->n_qubits = (unsigned)u[0];
        row->layers = (unsigned)u[1];
        row->samples = (size_t)u[2];
        row->n_params = (size_t)u[3];
        row->dim_g = u[4];
        row->dim_g_capped = (int)u[5];
        status = get_double(r, &row->var_measured);
        if (status == QML_OK)
            status = get_double(r, &row->var_stderr);
        if (status == QML_OK)
            status = get_double(r, &row->var_predicted);
        if (status == QML_OK)
            status = get_double(r, &row->seconds);
        if (status == QML_OK)
            status = get_double(r, &scan->observable_scale[i]);
    }
    for (size_t i = 0; has_parts && i < scan->n_rows && status == QML_OK; i++) {
        uint64_t part_length = 0;
        status = get_u64(r, &part_length);
        if (status)
            break;
        if (part_length > r->length - r->at) {
            status = qml__error(QML_ERR_PARSE, "%s: the part of row %zu claims %llu bytes, %zu are left", r->caller,
                                i, (unsigned long long)part_length, r->length - r->at);
            break;
        }
        if (part_length == 0) {
            if (scan->rows[i].samples != 0)
                status = qml__error(QML_ERR_PARSE, "%s: row %zu says %zu samples but has no part", r->caller, i,
                                    scan->rows[i].samples);
            continue;
        }
        reader sub = {r->data + r->at, (size_t)part_length, 0, r->caller, "row part"};
        status = samples_read(&sub, &scan->parts[i]);
        if (status == QML_OK && sub.at != sub.length)
            status = qml__error(QML_ERR_PARSE, "%s: the part of row %zu has %zu stray bytes", r->caller, i,
                                sub.length - sub.at);
        if (status == QML_OK && scan->parts[i]->count != scan->rows[i].samples)
            status = qml__error(QML_ERR_PARSE, "%s: row %zu says %zu samples, its part holds %zu", r->caller, i,
                                scan->rows[i].samples, scan->parts[i]->count);
        r->at += (size_t)part_length;
    }
    if (status) {
        qml_bp_scan_free(scan);
        return status;
    }
    *out = scan;
    return QML_OK;
}

int qml_bp_scan_deserialize(qml_bp_scan **out, const void *buffer, size_t length)
{
    QML_CHECK_NULL(out);
    QML_CHECK_NULL(buffer);
    reader r = {buffer, length, 0, __func__, "scan"};
    qml_bp_scan *scan = NULL;
    int status = scan_read(&r, &scan);
    if (status == QML_OK && r.at != length) {
        status = qml__error(QML_ERR_PARSE, "%s: %zu bytes follow the scan's %zu", __func__, length - r.at, r.at);
        qml_bp_scan_free(scan);
        scan = NULL;
    }
    if (status)
        return status;
    *out = scan;
    qml__ok();
    return QML_OK;
}
