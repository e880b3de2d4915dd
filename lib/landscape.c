/*
 * landscape.c: barren-plateau diagnostics. Gradient and loss variances over
 * random weights with standard errors, scans over qubit counts and depths,
 * decay-rate fits, and the Lie-algebraic prediction beside the measurement.
 */
#include "internal.h"
#include "landscape.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TWO_PI 6.283185307179586476925286766559

/* ---- types ---------------------------------------------------------------- */

/* Mean, variance and their standard errors of one quantity over the samples. */
typedef struct moments {
    double mean;
    double mean_stderr;
    double variance;
    double variance_stderr;
} moments;

struct qml_gradient_stats {
    size_t n_samples;
    size_t n_weights;
    qml_param_selection params;
    size_t n_selected;
    size_t *selected;          /* n_selected weight indices, ascending */
    moments *weights;          /* per selected weight */
    moments loss;
    double summary_variance;   /* mean over selected weights of s_k^2 */
    double summary_stderr;
};

/* Progress shared by the workers of one statistics run, and across the rows
 * of a scan (offset and total place this run's samples among all of them). */
typedef struct progress_state {
    qml_progress_fn fn;
    void *user;
    const char *stage;
    size_t offset;
    size_t total;
} progress_state;

/* The first failure of a worker, kept until the calling thread re-raises it
 * (the library's last-error message is thread-local). */
typedef struct worker_error {
    int status;
    size_t sample;
    char message[256];
} worker_error;

/* What the workers of one statistics run share. Each worker writes only its
 * own samples' slots and its own workspace and error record. */
typedef struct stats_job {
    const qml_circuit *circuit;
    const qml_pauli_sum *observable;
    const qml_statevec *initial;
    const double *features;
    size_t n_features;
    size_t n_weights;
    uint64_t seed;
    uint64_t shots;
    size_t first;               /* the first sample of this run: slot i holds sample first + i */
    size_t n_selected;
    const size_t *selected;
    double *sample_values;      /* count losses */
    double *sample_gradients;   /* count * n_selected, sample-major */
    double *workspace;          /* per worker: 2 * n_weights doubles (weights, gradient) */
    worker_error *errors;
    const progress_state *progress;
    const qml__algsim *algsim;  /* NULL: the statevector */
    double *alg_work;           /* per worker: algsim->work_doubles */
    atomic_size_t done;
    atomic_int stop;            /* set on an error or a cancellation */
    int cancelled;              /* written by worker 0 only */
} stats_job;

/* How a scan builds its circuit for (n, L): a family or a generator list. */
typedef struct scan_source {
    int is_family;
    qml_ansatz_family family;
    const qml_pauli_sum *const *generators;
    size_t count;
    const unsigned *groups;
} scan_source;

static int samples_compute(qml_gradient_samples **out, const qml_circuit *circuit, const qml_pauli_sum *observable,
                           const qml_statevec *initial, const double *features, size_t n_features,
                           const qml_landscape_options *options, size_t first, size_t count,
                           const progress_state *progress);
static void stats_worker(void *context, size_t begin, size_t end, unsigned worker);
static moments moments_of(const double *values, size_t count, size_t stride);
static void summarise(qml_gradient_stats *stats, const double *gradients);
static int fit_line(const double *x, const double *y, const double *w, size_t count, double *slope,
                    double *slope_stderr, double *chi2);
static double wall_seconds(void);
static int scan_run(qml_bp_scan **out, const scan_source *source, const qml_bp_scan_options *scan_options,
                    const qml_landscape_options *stats_options, int partial, size_t first, size_t count,
                    size_t only_row, const char *caller);
static int transported_observable(const qml_circuit *circuit, const qml_pauli_sum *observable,
                                  qml_pauli_sum **out);

static const qml_landscape_options default_landscape_options = QML_LANDSCAPE_OPTIONS_INIT;
static const qml_bp_scan_options default_scan_options = QML_BP_SCAN_OPTIONS_INIT;

/* ---- gradient statistics --------------------------------------------------- */

int qml_gradient_stats_create(qml_gradient_stats **out, const qml_circuit *circuit,
                              const qml_pauli_sum *observable, const qml_statevec *initial,
                              const double *features, size_t n_features, const qml_landscape_options *options)
{
    QML_CHECK_NULL(out);
    qml_landscape_options opts;
    int status = qml__options_copy(&opts, sizeof opts, options, &default_landscape_options,
                                   "qml_gradient_stats_create");
    if (status)
        return status;
    progress_state progress = {opts.progress, opts.progress_user, "gradient statistics", 0, opts.samples};
    qml_gradient_samples *samples = NULL;
    status = samples_compute(&samples, circuit, observable, initial, features, n_features, &opts, 0,
                             opts.samples, &progress);
    if (status == QML_OK)
        status = qml__gradient_stats_build(out, samples);
    qml_gradient_samples_free(samples);
    if (status == QML_OK)
        qml__ok();
    return status;
}

int qml_gradient_samples_create(qml_gradient_samples **out, const qml_circuit *circuit,
                                const qml_pauli_sum *observable, const qml_statevec *initial,
                                const double *features, size_t n_features, const qml_landscape_options *options,
                                size_t first, size_t count)
{
    QML_CHECK_NULL(out);
    qml_landscape_options opts;
    int status = qml__options_copy(&opts, sizeof opts, options, &default_landscape_options,
                                   "qml_gradient_samples_create");
    if (status)
        return status;
    if (count == 0 || first >= opts.samples || count > opts.samples - first)
        return qml__error(QML_ERR_OUT_OF_RANGE,
                          "qml_gradient_samples_create: samples [%zu, %zu + %zu) are not a non-empty range inside "
                          "[0, %zu)",
                          first, first, count, opts.samples);
    progress_state progress = {opts.progress, opts.progress_user, "gradient samples", 0, count};
    status = samples_compute(out, circuit, observable, initial, features, n_features, &opts, first, count,
                             &progress);
    return status ? qml__error_context(status, "qml_gradient_samples_create") : QML_OK;
}

void qml_gradient_stats_free(qml_gradient_stats *stats)
{
    if (!stats)
        return;
    qml__free(stats->selected);
    qml__free(stats->weights);
    qml__free(stats);
}

size_t qml_gradient_stats_n_samples(const qml_gradient_stats *stats)
{
    return stats ? stats->n_samples : 0;
}

size_t qml_gradient_stats_n_weights(const qml_gradient_stats *stats)
{
    return stats ? stats->n_weights : 0;
}

qml_param_selection qml_gradient_stats_params(const qml_gradient_stats *stats)
{
    return stats ? stats->params : QML_PARAMS_FIRST;
}

static void moments_out(const moments *m, double *mean, double *mean_stderr, double *variance,
                        double *variance_stderr)
{
    if (mean)
        *mean = m->mean;
    if (mean_stderr)
        *mean_stderr = m->mean_stderr;
    if (variance)
        *variance = m->variance;
    if (variance_stderr)
        *variance_stderr = m->variance_stderr;
}

int qml_gradient_stats_weight(const qml_gradient_stats *stats, size_t weight, double *mean, double *mean_stderr,
                              double *variance, double *variance_stderr)
{
    QML_CHECK_NULL(stats);
    if (weight >= stats->n_weights)
        return qml__error(QML_ERR_OUT_OF_RANGE, "qml_gradient_stats_weight: weight %zu out of range for %zu weights",
                          weight, stats->n_weights);
    for (size_t j = 0; j < stats->n_selected; j++) {
        if (stats->selected[j] == weight) {
            moments_out(&stats->weights[j], mean, mean_stderr, variance, variance_stderr);
            qml__ok();
            return QML_OK;
        }
    }
    return qml__error(QML_ERR_NOT_APPLICABLE,
                      "qml_gradient_stats_weight: weight %zu was not selected (selection %d)", weight,
                      (int)stats->params);
}

int qml_gradient_stats_loss(const qml_gradient_stats *stats, double *mean, double *mean_stderr, double *variance,
                            double *variance_stderr)
{
    QML_CHECK_NULL(stats);
    moments_out(&stats->loss, mean, mean_stderr, variance, variance_stderr);
    qml__ok();
    return QML_OK;
}

int qml_gradient_stats_summary(const qml_gradient_stats *stats, double *variance, double *variance_stderr)
{
    QML_CHECK_NULL(stats);
    if (variance)
        *variance = stats->summary_variance;
    if (variance_stderr)
        *variance_stderr = stats->summary_stderr;
    qml__ok();
    return QML_OK;
}

/* The statistics of complete samples: moments reduced in sample order, so
 * that they depend only on the values, never on how the samples were split
 * among threads or processes. */
int qml__gradient_stats_build(qml_gradient_stats **out, const qml_gradient_samples *samples)
{
    if (samples->first != 0 || samples->count != samples->total)
        return qml__error(QML_ERR_NOT_APPLICABLE,
                          "samples [%zu, %zu) of %zu: statistics need all of them (merge the parts first)",
                          samples->first, samples->first + samples->count, samples->total);
    qml_gradient_stats *stats = qml__calloc(1, sizeof *stats);
    size_t *selected = qml__calloc(samples->n_selected, sizeof *selected);
    moments *weight_moments = qml__calloc(samples->n_selected, sizeof *weight_moments);
    if (!stats || !selected || !weight_moments) {
        qml__free(stats);
        qml__free(selected);
        qml__free(weight_moments);
        return qml__oom("gradient statistics");
    }
    if (samples->params == QML_PARAMS_ALL)
        for (size_t k = 0; k < samples->n_selected; k++)
            selected[k] = k;
    else
        selected[0] = samples->params == QML_PARAMS_MIDDLE ? samples->n_weights / 2 : 0;
    stats->n_samples = samples->total;
    stats->n_weights = samples->n_weights;
    stats->params = samples->params;
    stats->n_selected = samples->n_selected;
    stats->selected = selected;
    stats->weights = weight_moments;
    summarise(stats, samples->gradients);
    stats->loss = moments_of(samples->values, samples->total, 1);
    *out = stats;
    return QML_OK;
}

int qml_gradient_stats_from_samples(qml_gradient_stats **out, const qml_gradient_samples *samples)
{
    QML_CHECK_NULL(out);
    QML_CHECK_NULL(samples);
    int status = qml__gradient_stats_build(out, samples);
    if (status)
        return qml__error_context(status, __func__);
    qml__ok();
    return QML_OK;
}

/* ---- fits ------------------------------------------------------------------- */

int qml_bp_fit_data(const double *n_qubits, const double *variance, const double *variance_stderr, size_t count,
                    qml_bp_fit *fit)
{
    QML_CHECK_NULL(n_qubits);
    QML_CHECK_NULL(variance);
    QML_CHECK_NULL(variance_stderr);
    QML_CHECK_NULL(fit);
    QML_CHECK_ARG(fit->size >= sizeof(size_t), "qml_bp_fit_data: fit->size = %zu; set it to sizeof(qml_bp_fit)",
                  fit->size);
    for (size_t i = 0; i < count; i++) {
        QML_CHECK_ARG(isfinite(n_qubits[i]) && n_qubits[i] >= 1.0,
                      "qml_bp_fit_data: n_qubits[%zu] = %g is not a finite number >= 1", i, n_qubits[i]);
        QML_CHECK_ARG(isfinite(variance[i]) && variance[i] > 0.0,
                      "qml_bp_fit_data: variance[%zu] = %g is not finite and > 0", i, variance[i]);
        QML_CHECK_ARG(isfinite(variance_stderr[i]) && variance_stderr[i] > 0.0,
                      "qml_bp_fit_data: variance_stderr[%zu] = %g is not finite and > 0", i, variance_stderr[i]);
    }
    if (count < 3)
        return qml__error(QML_ERR_NOT_APPLICABLE, "qml_bp_fit_data: %zu point(s); a fit needs at least 3", count);
    int distinct = 0;
    for (size_t i = 1; i < count; i++)
        if (n_qubits[i] != n_qubits[0])
            distinct = 1;
    if (!distinct)
        return qml__error(QML_ERR_NOT_APPLICABLE, "qml_bp_fit_data: every point has n = %g; a fit needs two",
                          n_qubits[0]);

    double *work = qml__calloc(qml__mul_size(count, 4), sizeof(double));
    if (!work)
        return qml__oom("the work arrays of a decay fit");
    double *y = work, *w = work + count, *x_exp = work + 2 * count, *x_pow = work + 3 * count;
    for (size_t i = 0; i < count; i++) {
        /* Delta method: Var(ln V) ~ (SE / V)^2. */
        double sigma = variance_stderr[i] / variance[i];
        y[i] = log(variance[i]);
        w[i] = 1.0 / (sigma * sigma);
        x_exp[i] = n_qubits[i];
        x_pow[i] = log(n_qubits[i]);
    }
    qml_bp_fit result;
    memset(&result, 0, sizeof result);
    double slope;
    int status = fit_line(x_exp, y, w, count, &slope, &result.exponential_stderr, &result.exponential_chi2);
    result.exponential_rate = -slope;
    if (status == QML_OK) {
        status = fit_line(x_pow, y, w, count, &slope, &result.power_stderr, &result.power_chi2);
        result.power_rate = -slope;
    }
    qml__free(work);
    if (status)
        return status;
    if (result.power_chi2 < result.exponential_chi2) {
        result.model = QML_BP_POWER;
        result.rate = result.power_rate;
        result.rate_stderr = result.power_stderr;
    } else {
        result.model = QML_BP_EXPONENTIAL;
        result.rate = result.exponential_rate;
        result.rate_stderr = result.exponential_stderr;
    }
    result.n_points = count;
    size_t caller_size = fit->size;
    result.size = caller_size < sizeof result ? caller_size : sizeof result;
    memcpy(fit, &result, result.size);
    fit->size = caller_size;
    qml__ok();
    return QML_OK;
}

/* ---- scans ------------------------------------------------------------------ */

int qml_bp_scan_family(qml_bp_scan **out, qml_ansatz_family family, const qml_bp_scan_options *scan,
                       const qml_landscape_options *stats)
{
    QML_CHECK_ARG(family >= QML_ANSATZ_HEA && family <= QML_ANSATZ_HEISENBERG,
                  "qml_bp_scan_family: family %d is not a qml_ansatz_family (0..4)", (int)family);
    scan_source source = {1, family, NULL, 0, NULL};
    return scan_run(out, &source, scan, stats, 0, 0, 0, SIZE_MAX, "qml_bp_scan_family");
}

int qml_bp_scan_family_part(qml_bp_scan **out, qml_ansatz_family family, const qml_bp_scan_options *scan,
                            const qml_landscape_options *stats, size_t first, size_t n_samples)
{
    QML_CHECK_ARG(family >= QML_ANSATZ_HEA && family <= QML_ANSATZ_HEISENBERG,
                  "qml_bp_scan_family_part: family %d is not a qml_ansatz_family (0..4)", (int)family);
    scan_source source = {1, family, NULL, 0, NULL};
    return scan_run(out, &source, scan, stats, 1, first, n_samples, SIZE_MAX, "qml_bp_scan_family_part");
}

static int generators_check(const qml_pauli_sum *const *generators, size_t count, const char *caller)
{
    QML_CHECK_ARG(generators != NULL, "%s: argument 'generators' is NULL", caller);
    QML_CHECK_ARG(count >= 1, "%s: count = 0 generators", caller);
    for (size_t k = 0; k < count; k++) {
        QML_CHECK_ARG(generators[k] != NULL, "%s: generator %zu is NULL", caller, k);
        QML_CHECK_ARG(qml_pauli_sum_n_qubits(generators[k]) == qml_pauli_sum_n_qubits(generators[0]),
                      "%s: generator %zu acts on %u qubits, generator 0 on %u", caller, k,
                      qml_pauli_sum_n_qubits(generators[k]), qml_pauli_sum_n_qubits(generators[0]));
    }
    return QML_OK;
}

int qml_bp_scan_generators(qml_bp_scan **out, const qml_pauli_sum *const *generators, size_t count,
                           const unsigned *groups, const qml_bp_scan_options *scan, const qml_landscape_options *stats)
{
    int status = generators_check(generators, count, "qml_bp_scan_generators");
    if (status)
        return status;
    scan_source source = {0, QML_ANSATZ_HEA, generators, count, groups};
    return scan_run(out, &source, scan, stats, 0, 0, 0, SIZE_MAX, "qml_bp_scan_generators");
}

int qml_bp_scan_generators_part(qml_bp_scan **out, const qml_pauli_sum *const *generators, size_t count,
                                const unsigned *groups, const qml_bp_scan_options *scan,
                                const qml_landscape_options *stats, size_t first, size_t n_samples)
{
    int status = generators_check(generators, count, "qml_bp_scan_generators_part");
    if (status)
        return status;
    scan_source source = {0, QML_ANSATZ_HEA, generators, count, groups};
    return scan_run(out, &source, scan, stats, 1, first, n_samples, SIZE_MAX, "qml_bp_scan_generators_part");
}

int qml_bp_scan_family_piece(qml_bp_scan **out, qml_ansatz_family family, const qml_bp_scan_options *scan,
                             const qml_landscape_options *stats, size_t row, size_t first, size_t n_samples)
{
    QML_CHECK_ARG(family >= QML_ANSATZ_HEA && family <= QML_ANSATZ_HEISENBERG,
                  "qml_bp_scan_family_piece: family %d is not a qml_ansatz_family (0..4)", (int)family);
    QML_CHECK_ARG(row != SIZE_MAX, "qml_bp_scan_family_piece: row = SIZE_MAX");
    scan_source source = {1, family, NULL, 0, NULL};
    return scan_run(out, &source, scan, stats, 1, first, n_samples, row, "qml_bp_scan_family_piece");
}

int qml_bp_scan_generators_piece(qml_bp_scan **out, const qml_pauli_sum *const *generators, size_t count,
                                 const unsigned *groups, const qml_bp_scan_options *scan,
                                 const qml_landscape_options *stats, size_t row, size_t first, size_t n_samples)
{
    int status = generators_check(generators, count, "qml_bp_scan_generators_piece");
    if (status)
        return status;
    QML_CHECK_ARG(row != SIZE_MAX, "qml_bp_scan_generators_piece: row = SIZE_MAX");
    scan_source source = {0, QML_ANSATZ_HEA, generators, count, groups};
    return scan_run(out, &source, scan, stats, 1, first, n_samples, row, "qml_bp_scan_generators_piece");
}

void qml_bp_scan_free(qml_bp_scan *scan)
{
    if (!scan)
        return;
    if (scan->parts)
        for (size_t r = 0; r < scan->n_rows; r++)
            qml_gradient_samples_free(scan->parts[r]);
    if (scan->algebras)
        for (size_t r = 0; r < scan->n_rows; r++)
            qml_lie_algebra_free(scan->algebras[r]);
    qml__free(scan->algebras);
    qml__free(scan->parts);
    qml__free(scan->observable_scale);
    qml__free(scan->rows);
    qml__free(scan);
}

size_t qml_bp_scan_n_rows(const qml_bp_scan *scan)
{
    return scan ? scan->n_rows : 0;
}

int qml_bp_scan_row(const qml_bp_scan *scan, size_t index, qml_bp_row *row)
{
    QML_CHECK_NULL(scan);
    QML_CHECK_NULL(row);
    QML_CHECK_ARG(row->size >= sizeof(size_t), "qml_bp_scan_row: row->size = %zu; set it to sizeof(qml_bp_row)",
                  row->size);
    if (index >= scan->n_rows)
        return qml__error(QML_ERR_OUT_OF_RANGE, "qml_bp_scan_row: row %zu out of range for %zu rows", index,
                          scan->n_rows);
    size_t caller_size = row->size;
    memcpy(row, &scan->rows[index], caller_size < sizeof *row ? caller_size : sizeof *row);
    row->size = caller_size;
    qml__ok();
    return QML_OK;
}

int qml_bp_scan_row_algebra(const qml_bp_scan *scan, size_t index, const qml_lie_algebra **algebra)
{
    if (algebra)
        *algebra = NULL;
    QML_CHECK_NULL(scan);
    QML_CHECK_NULL(algebra);
    if (index >= scan->n_rows)
        return qml__error(QML_ERR_OUT_OF_RANGE, "qml_bp_scan_row_algebra: row %zu out of range for %zu rows", index,
                          scan->n_rows);
    if (!scan->algebras)
        return qml__error(QML_ERR_NOT_APPLICABLE,
                          "qml_bp_scan_row_algebra: the scan kept no algebras (set keep_algebras = 1; merged and "
                          "deserialised scans hold none)");
    if (!scan->algebras[index])
        return qml__error(QML_ERR_NOT_APPLICABLE,
                          "qml_bp_scan_row_algebra: row %zu computed no algebra (max_dim 0 or exceeded, a "
                          "non-Clifford fixed gate before a rotation, or a piece without the row)",
                          index);
    *algebra = scan->algebras[index];
    qml__ok();
    return QML_OK;
}

int qml_bp_scan_fit(const qml_bp_scan *scan, qml_bp_fit *fit)
{
    QML_CHECK_NULL(scan);
    QML_CHECK_NULL(fit);
    for (size_t r = 0; scan->parts && r < scan->n_rows; r++) {
        if (!scan->parts[r])
            return qml__error(QML_ERR_NOT_APPLICABLE,
                              "qml_bp_scan_fit: row %zu holds no samples; merge the pieces first", r);
        if (scan->parts[r]->count != scan->parts[r]->total)
            return qml__error(QML_ERR_NOT_APPLICABLE,
                              "qml_bp_scan_fit: row %zu holds samples [%zu, %zu) of %zu; merge the parts first", r,
                              scan->parts[r]->first, scan->parts[r]->first + scan->parts[r]->count,
                              scan->parts[r]->total);
    }
    double *work = qml__calloc(qml__mul_size(scan->n_rows ? scan->n_rows : 1, 3), sizeof(double));
    if (!work)
        return qml__oom("the points of a scan fit");
    double *n = work, *v = work + scan->n_rows, *se = work + 2 * scan->n_rows;
    size_t count = 0;
    for (size_t r = 0; r < scan->n_rows; r++) {
        const qml_bp_row *row = &scan->rows[r];
        if (scan->fit_layers && row->layers != scan->fit_layers)
            continue;
        if (!(row->var_measured > 0.0 && row->var_stderr > 0.0 && isfinite(row->var_measured) &&
              isfinite(row->var_stderr)))
            continue;
        n[count] = row->n_qubits;
        v[count] = row->var_measured;
        se[count] = row->var_stderr;
        count++;
    }
    int status = qml_bp_fit_data(n, v, se, count, fit);
    qml__free(work);
    return status ? qml__error_context(status, __func__) : QML_OK;
}

/* ---- helpers: statistics ---------------------------------------------------- */

static int stats_check(const qml_circuit *circuit, const qml_pauli_sum *observable, const qml_statevec *initial,
                       const double *features, size_t n_features, const qml_landscape_options *opts)
{
    QML_CHECK_ARG(circuit != NULL, "qml_gradient_stats_create: argument 'circuit' is NULL");
    QML_CHECK_ARG(observable != NULL, "qml_gradient_stats_create: argument 'observable' is NULL");
    QML_CHECK_ARG(opts->samples >= 2, "qml_gradient_stats_create: samples = %zu; a variance needs at least 2",
                  opts->samples);
    QML_CHECK_SHOTS(opts->shots, "qml_gradient_stats_create");
    QML_CHECK_ARG(opts->params >= QML_PARAMS_FIRST && opts->params <= QML_PARAMS_ALL,
                  "qml_gradient_stats_create: params = %d is not a qml_param_selection (0..2)", (int)opts->params);
    QML_CHECK_ARG(qml_circuit_n_weights(circuit) >= 1,
                  "qml_gradient_stats_create: the circuit has no trainable weight");
    QML_CHECK_ARG(qml_pauli_sum_n_qubits(observable) == qml_circuit_n_qubits(circuit),
                  "qml_gradient_stats_create: the observable acts on %u qubits, the circuit on %u",
                  qml_pauli_sum_n_qubits(observable), qml_circuit_n_qubits(circuit));
    if (initial)
        QML_CHECK_ARG(qml_statevec_n_qubits(initial) == qml_circuit_n_qubits(circuit),
                      "qml_gradient_stats_create: the initial state has %u qubits, the circuit %u",
                      qml_statevec_n_qubits(initial), qml_circuit_n_qubits(circuit));
    QML_CHECK_ARG(features != NULL || n_features == 0,
                  "qml_gradient_stats_create: features is NULL but n_features = %zu", n_features);
    for (size_t j = 0; j < n_features; j++)
        QML_CHECK_ARG(isfinite(features[j]), "qml_gradient_stats_create: features[%zu] = %g is not finite", j,
                      features[j]);
    if (features && n_features < qml_circuit_n_features(circuit))
        return qml__error(QML_ERR_OUT_OF_RANGE,
                          "qml_gradient_stats_create: %zu features given, the circuit reads %zu", n_features,
                          qml_circuit_n_features(circuit));
    return QML_OK;
}

/* Samples [first, first + count) of the estimate with options `opts`: the
 * weights of sample s come from stream s of the seed whatever the range, so
 * a part computes exactly the values the whole would. */
static int samples_compute(qml_gradient_samples **out, const qml_circuit *circuit, const qml_pauli_sum *observable,
                           const qml_statevec *initial, const double *features, size_t n_features,
                           const qml_landscape_options *opts, size_t first, size_t count,
                           const progress_state *progress)
{
    int status = stats_check(circuit, observable, initial, features, n_features, opts);
    if (status)
        return status;
    status = qml__backend_check(opts->backend, "qml_gradient_stats_create");
    if (status)
        return status;
    if (opts->shots > 0 && opts->backend != QML_BACKEND_STATEVECTOR && opts->backend != QML_BACKEND_AUTO)
        return qml__error(QML_ERR_NOT_APPLICABLE,
                          "qml_gradient_stats_create: shots need the statevector; the %s backend is exact only",
                          qml_backend_name(opts->backend));
    qml__algsim *algsim = NULL;
    if (opts->shots == 0 && opts->backend != QML_BACKEND_STATEVECTOR) {
        status = qml__algsim_create(&algsim, opts->backend, circuit, observable, initial, "qml_gradient_stats_create");
        if (status)
            return status;
    }
    const size_t n_weights = qml_circuit_n_weights(circuit);
    const size_t n_selected = opts->params == QML_PARAMS_ALL ? n_weights : 1;
    unsigned n_workers = qml__resolve_threads(opts->n_threads);
    if ((size_t)n_workers > count)
        n_workers = (unsigned)count;
    /* Each worker's statevector gradient holds two statevectors at once:
     * refuse before any is allocated when all of them do not fit
     * (memlimit.c). The algebra backends hold no statevector. */
    unsigned n_qubits = qml_circuit_n_qubits(circuit);
    if (!algsim && n_qubits < 58) {
        status = qml__memory_check((uint64_t)2 * n_workers, (uint64_t)16 << n_qubits, "gradient statistics",
                                   "statevectors of %u qubits, 2 per worker x %u worker%s", n_qubits, n_workers,
                                   n_workers == 1 ? "" : "s");
        if (status)
            return status;
    }

    /* Features the caller leaves out are zeros. */
    double *zero_features = NULL;
    size_t circuit_features = qml_circuit_n_features(circuit);
    if (!features && circuit_features > 0) {
        zero_features = qml__calloc(circuit_features, sizeof(double));
        if (!zero_features) {
            qml__algsim_free(algsim);
            return qml__oom("the zero features of gradient statistics");
        }
        features = zero_features;
        n_features = circuit_features;
    }

    qml_gradient_samples *samples = qml__gradient_samples_new(count, n_selected);
    double *workspace = qml__calloc(qml__mul_size(n_workers, 2 * n_weights), sizeof(double));
    worker_error *errors = qml__calloc(n_workers, sizeof *errors);
    size_t *selected = qml__calloc(n_selected, sizeof *selected);
    double *alg_work = algsim ? qml__calloc(qml__mul_size(n_workers, algsim->work_doubles), sizeof(double)) : NULL;
    if (!samples || !workspace || !errors || !selected || (algsim && !alg_work)) {
        status = qml__oom("the samples of gradient statistics");
        goto done;
    }
    if (opts->params == QML_PARAMS_ALL)
        for (size_t k = 0; k < n_weights; k++)
            selected[k] = k;
    else
        selected[0] = opts->params == QML_PARAMS_MIDDLE ? n_weights / 2 : 0;

    stats_job job = {
        .circuit = circuit,
        .observable = observable,
        .initial = initial,
        .features = features,
        .n_features = n_features,
        .n_weights = n_weights,
        .seed = opts->seed,
        .shots = opts->shots,
        .first = first,
        .n_selected = n_selected,
        .selected = selected,
        .sample_values = samples->values,
        .sample_gradients = samples->gradients,
        .workspace = workspace,
        .errors = errors,
        .progress = progress,
        .algsim = algsim,
        .alg_work = alg_work,
        .cancelled = 0,
    };
    atomic_init(&job.done, 0);
    atomic_init(&job.stop, 0);
    qml__parallel_for(n_workers, count, 1, stats_worker, &job);

    /* The first failing sample decides the error, whichever thread ran it. */
    const worker_error *first_error = NULL;
    for (unsigned w = 0; w < n_workers; w++)
        if (errors[w].status && (!first_error || errors[w].sample < first_error->sample))
            first_error = &errors[w];
    if (first_error) {
        status = qml__error(first_error->status, "%s", first_error->message);
        goto done;
    }
    if (!job.cancelled && progress->fn &&
        progress->fn(progress->stage, progress->offset + count, progress->total, progress->user))
        job.cancelled = 1;
    if (job.cancelled) {
        status = qml__error(QML_ERR_CANCELLED, "qml_gradient_stats_create: cancelled by the progress callback");
        goto done;
    }

    samples->total = opts->samples;
    samples->first = first;
    samples->seed = opts->seed;
    samples->shots = opts->shots;
    samples->n_weights = n_weights;
    samples->params = opts->params;
    samples->fingerprint = qml__landscape_fingerprint(circuit, observable, initial, features, n_features);
    *out = samples;
    samples = NULL;
    qml__ok();

done:
    qml__free(alg_work);
    qml__algsim_free(algsim);
    qml_gradient_samples_free(samples);
    qml__free(selected);
    qml__free(errors);
    qml__free(workspace);
    qml__free(zero_features);
    return status;
}

/* Samples [begin, end) on worker `worker`: draw the weights from the
 * sample's own stream, differentiate, and store the selected derivatives. */
static void stats_worker(void *context, size_t begin, size_t end, unsigned worker)
{
    stats_job *job = context;
    double *weights = job->workspace + (size_t)worker * 2 * job->n_weights;
    double *gradient = weights + job->n_weights;
    const progress_state *progress = job->progress;
    for (size_t slot = begin; slot < end; slot++) {
        const size_t s = job->first + slot;
        if (atomic_load_explicit(&job->stop, memory_order_relaxed))
            return;
        struct qml_rng rng;
        qml__rng_init(&rng, job->seed, s);
        for (size_t k = 0; k < job->n_weights; k++)
            weights[k] = TWO_PI * qml__rng_uniform(&rng);
        qml_gradient_options gradient_options = QML_GRADIENT_OPTIONS_INIT;
        if (job->shots > 0) {
            gradient_options.method = QML_GRADIENT_PARAMETER_SHIFT;
            gradient_options.shots = job->shots;
            /* The shot noise of sample s comes from the same stream, after
             * the weights: it too depends only on (seed, s). */
            gradient_options.seed = qml__rng_next(&rng);
        }
        double value = 0.0;
        int status = QML_OK;
        if (job->algsim)
            qml__algsim_run(job->algsim, job->alg_work + (size_t)worker * job->algsim->work_doubles, weights,
                            job->features, &value, gradient, NULL);
        else
            status = qml_gradient(job->circuit, job->observable, job->initial, weights, job->n_weights,
                                  job->features, job->n_features, &gradient_options, &value, gradient, NULL);
        if (status) {
            worker_error *error = &job->errors[worker];
            error->status = status;
            error->sample = s;
            snprintf(error->message, sizeof error->message, "qml_gradient_stats_create: sample %zu: %s", s,
                     qml_last_error());
            atomic_store(&job->stop, 1);
            return;
        }
        job->sample_values[slot] = value;
        double *row = job->sample_gradients + slot * job->n_selected;
        for (size_t j = 0; j < job->n_selected; j++)
            row[j] = gradient[job->selected[j]];
        size_t done = atomic_fetch_add(&job->done, 1) + 1;
        /* Only the calling thread talks to the callback. */
        if (worker == 0 && progress->fn &&
            progress->fn(progress->stage, progress->offset + done, progress->total, progress->user)) {
            job->cancelled = 1;
            atomic_store(&job->stop, 1);
            return;
        }
    }
}

/* Two passes in sample order: the mean, then the central moments. */
static moments moments_of(const double *values, size_t count, size_t stride)
{
    const double n = (double)count;
    double sum = 0.0;
    for (size_t s = 0; s < count; s++)
        sum += values[s * stride];
    const double mean = sum / n;
    double m2 = 0.0, m4 = 0.0;
    for (size_t s = 0; s < count; s++) {
        double d = values[s * stride] - mean;
        double d2 = d * d;
        m2 += d2;
        m4 += d2 * d2;
    }
    const double s2 = m2 / (n - 1.0);
    m4 /= n;
    /* Var(s^2) = mu4/n - (n-3) sigma^4 / (n (n-1)) (Mood, Graybill & Boes
     * 1974, sec. VI.4), with the sample moments plugged in. */
    double var_s2 = (m4 - (n - 3.0) / (n - 1.0) * s2 * s2) / n;
    moments m = {mean, sqrt(s2 / n), s2, var_s2 > 0.0 ? sqrt(var_s2) : 0.0};
    return m;
}

/* Per-weight moments, and the mean variance over the selected weights with
 * the standard error documented at qml_gradient_stats_summary(). */
static void summarise(qml_gradient_stats *stats, const double *gradients)
{
    const size_t count = stats->n_samples, k_sel = stats->n_selected;
    const double n = (double)count, k = (double)k_sel;
    double mean_variance = 0.0, fourth = 0.0;
    for (size_t j = 0; j < k_sel; j++) {
        stats->weights[j] = moments_of(gradients + j, count, k_sel);
        mean_variance += stats->weights[j].variance;
        fourth += stats->weights[j].variance * stats->weights[j].variance;
    }
    mean_variance /= k;
    double y2 = 0.0;
    for (size_t s = 0; s < count; s++) {
        const double *row = gradients + s * k_sel;
        double y = 0.0;
        for (size_t j = 0; j < k_sel; j++) {
            double d = row[j] - stats->weights[j].mean;
            y += d * d;
        }
        y /= k;
        y2 += y * y;
    }
    y2 /= n;
    double var_v = (y2 - mean_variance * mean_variance + 2.0 / (n - 1.0) * fourth / (k * k)) / n;
    stats->summary_variance = mean_variance;
    stats->summary_stderr = var_v > 0.0 ? sqrt(var_v) : 0.0;
}

/* ---- helpers: fits ------------------------------------------------------------ */

/* Weighted least squares y = a + b x; the slope's standard error scaled by
 * the Birge ratio when the scatter exceeds the error bars. */
static int fit_line(const double *x, const double *y, const double *w, size_t count, double *slope,
                    double *slope_stderr, double *chi2)
{
    /* Centre x first (at the weighted mean) so that the sums do not cancel. */
    double sw = 0.0, swx = 0.0, swy = 0.0;
    for (size_t i = 0; i < count; i++) {
        sw += w[i];
        swx += w[i] * x[i];
        swy += w[i] * y[i];
    }
    const double xbar = swx / sw, ybar = swy / sw;
    double sxx = 0.0, sxy = 0.0;
    for (size_t i = 0; i < count; i++) {
        double dx = x[i] - xbar;
        sxx += w[i] * dx * dx;
        sxy += w[i] * dx * (y[i] - ybar);
    }
    if (!(sxx > 0.0) || !isfinite(sxx))
        return qml__error(QML_ERR_NOT_APPLICABLE, "qml_bp_fit_data: the points do not spread in x");
    const double b = sxy / sxx;
    double c2 = 0.0;
    for (size_t i = 0; i < count; i++) {
        double r = y[i] - ybar - b * (x[i] - xbar);
        c2 += w[i] * r * r;
    }
    double se = sqrt(1.0 / sxx); /* = sqrt(S / (S Sxx - Sx^2)) in uncentred sums */
    double birge2 = c2 / (double)(count - 2);
    if (birge2 > 1.0)
        se *= sqrt(birge2);
    *slope = b;
    *slope_stderr = se;
    *chi2 = c2;
    return QML_OK;
}

/* ---- helpers: scans ------------------------------------------------------------ */

static double wall_seconds(void)
{
    struct timespec ts;
    if (timespec_get(&ts, TIME_UTC) != TIME_UTC)
        return 0.0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The default observable of a family: the nearest-neighbour correlator
 * Z0 Z1 where the generators' symmetry makes a single Z uninteresting or
 * the prediction is stated for it, Z0 for the hardware-efficient ansatz. */
static const char *default_observable(const scan_source *source)
{
    if (!source->is_family)
        return "Z0";
    switch (source->family) {
    case QML_ANSATZ_HEA:
        return "Z0";
    case QML_ANSATZ_TFIM:
    case QML_ANSATZ_TFIM_GLOBAL:
    case QML_ANSATZ_SN:
    case QML_ANSATZ_HEISENBERG:
        return "Z0 Z1";
    }
    return "Z0";
}

static int scan_check(const scan_source *source, qml_bp_scan_options *opts, qml_backend backend, const char *caller)
{
    if (!source->is_family) {
        unsigned n = qml_pauli_sum_n_qubits(source->generators[0]);
        QML_CHECK_ARG((opts->n_min == 0 || opts->n_min == n) && (opts->n_max == 0 || opts->n_max == n),
                      "%s: n_min = %u and n_max = %u must be 0 or the generators' %u qubits", caller, opts->n_min,
                      opts->n_max, n);
        opts->n_min = opts->n_max = n;
    }
    QML_CHECK_ARG(opts->n_min >= 1 && opts->n_min <= opts->n_max,
                  "%s: the qubit range [%u, %u] is empty or starts at 0", caller, opts->n_min, opts->n_max);
    /* The algebraic backends refuse, with a reason, what they cannot run. */
    QML_CHECK_ARG(opts->n_max <= 30 || (backend != QML_BACKEND_STATEVECTOR && opts->n_max <= 1024),
                  "%s: n_max = %u is beyond what a scan can simulate (30 on the statevector, 1024 otherwise)",
                  caller, opts->n_max);
    QML_CHECK_ARG(opts->depth >= QML_BP_DEPTH_FIXED && opts->depth <= QML_BP_DEPTH_LIST,
                  "%s: depth = %d is not a qml_bp_depth (0..2)", caller, (int)opts->depth);
    if (opts->depth == QML_BP_DEPTH_LIST) {
        QML_CHECK_ARG(opts->depths != NULL && opts->n_depths >= 1,
                      "%s: a depth list needs depths != NULL and n_depths >= 1 (n_depths = %zu)", caller,
                      opts->n_depths);
        for (size_t i = 0; i < opts->n_depths; i++)
            QML_CHECK_ARG(opts->depths[i] >= 1, "%s: depths[%zu] = 0", caller, i);
    } else {
        QML_CHECK_ARG(opts->layers >= 1, "%s: layers = 0", caller);
        QML_CHECK_ARG(opts->depth != QML_BP_DEPTH_PER_QUBIT || (uint64_t)opts->layers * opts->n_max <= 0xFFFFFFFFu,
                      "%s: layers %u * n_max %u overflows", caller, opts->layers, opts->n_max);
    }
    QML_CHECK_ARG(opts->quantity == QML_BP_GRADIENT || opts->quantity == QML_BP_LOSS,
                  "%s: quantity = %d is not a qml_bp_quantity (0..1)", caller, (int)opts->quantity);
    QML_CHECK_ARG(opts->initial >= QML_BP_INITIAL_DEFAULT && opts->initial <= QML_BP_INITIAL_NEEL,
                  "%s: initial = %d is not a qml_bp_initial (0..2)", caller, (int)opts->initial);
    return QML_OK;
}

/* The initial state of a row: NULL for |0...0>, else a new Neel state. */
static int scan_initial(const scan_source *source, const qml_bp_scan_options *opts, unsigned n,
                        qml_statevec **out)
{
    *out = NULL;
    qml_bp_initial initial = opts->initial;
    if (initial == QML_BP_INITIAL_DEFAULT)
        initial = source->is_family && source->family == QML_ANSATZ_HEISENBERG ? QML_BP_INITIAL_NEEL
                                                                                 : QML_BP_INITIAL_ZERO;
    if (initial == QML_BP_INITIAL_ZERO)
        return QML_OK;
    uint64_t neel = 0;
    for (unsigned q = 1; q < n; q += 2)
        neel |= (uint64_t)1 << q;
    int status = qml_statevec_create(out, n);
    if (status == QML_OK && (status = qml_statevec_set_basis(*out, neel)) != QML_OK) {
        qml_statevec_free(*out);
        *out = NULL;
    }
    return status;
}

static int scan_circuit(const scan_source *source, unsigned n, unsigned layers, qml_circuit **out)
{
    qml_circuit *circuit = NULL;
    int status = qml_circuit_create(&circuit, n);
    if (status)
        return status;
    if (source->is_family)
        status = qml_ansatz_family_append(circuit, source->family, layers);
    else
        status = qml_ansatz_layered(circuit, source->generators, source->count, source->groups, layers, 0);
    if (status) {
        qml_circuit_free(circuit);
        return status;
    }
    *out = circuit;
    return QML_OK;
}

/* dim g and the predicted variance of a row. lie.c closes the algebra of
 * the weights' generators moved to the front of the circuit through its
 * fixed gates (U = V_end prod_k exp(-i w_k/2 V_k^dag G_k V_k),
 * docs/circuits.md): without that the HEA's CZ ladder would not count and
 * its algebra would look 3n-dimensional instead of su(2^n). The
 * differentiated generator is moved the same way, and the observable to
 * the same frame, O -> V_end^dag O V_end. The prediction is the deep limit
 * (U Haar on e^g; Ragone et al. 2024, Fontana et al. 2024, as lie.c
 * computes it) and is given only where its hypotheses hold:
 * - LOSS: Var[l] (lie.c: the formula when O or rho lies in i g, else an
 *   exact average over the g-module of O when that is small);
 * - GRADIENT, FIRST: weight 0 read by exactly one gate, the first
 *   parametrised one, so the gradient sees sigma = -(i/2)[G, rho];
 * - GRADIENT, MIDDLE: the weight read by exactly one gate;
 * - GRADIENT, ALL: no single formula, NaN.
 * A circuit with a non-Clifford fixed gate gets no DLA and no prediction. */
/* How the Pauli-string classification (lie_classify.c) names the algebra
 * of a row whose closure stopped at the cap: not at all (generators that
 * are not all single strings, or a set it does not decide), su(2^n), or
 * another algebra it counts (then the prediction comes from
 * qml_pauli_dla_predict_variance(), for |0...0> only). */
typedef enum capped_class { CAPPED_UNKNOWN, CAPPED_FULL, CAPPED_COUNTED } capped_class;

static void free_generators(qml_pauli_sum **generators, size_t count)
{
    for (size_t w = 0; generators && w < count; w++)
        qml_pauli_sum_free(generators[w]);
    qml__free(generators);
}

/* The weights' (transported) generators when every one is a single Pauli
 * string, classified; *generators is left NULL otherwise. */
static int classify_capped(const qml_circuit *circuit, capped_class *kind, qml_pauli_sum ***generators)
{
    *kind = CAPPED_UNKNOWN;
    *generators = NULL;
    size_t n_weights = circuit->n_weights;
    if (n_weights == 0)
        return QML_OK;
    qml_pauli_sum **list = qml__calloc(n_weights, sizeof *list);
    if (!list)
        return qml__oom("the weight generators of a circuit");
    int status = QML_OK;
    bool strings = true;
    status = qml__circuit_transported_weight_generators(circuit, list);
    for (size_t w = 0; w < n_weights && !status && strings; w++)
        strings = list[w]->n_terms == 1;
    if (!status && strings) {
        qml_dla_summary summary = {.size = sizeof summary};
        int classify = qml_pauli_dla_classify((const qml_pauli_sum *const *)list, n_weights, &summary);
        if (classify == QML_OK)
            *kind = summary.is_full ? CAPPED_FULL : CAPPED_COUNTED;
        else if (classify != QML_ERR_NOT_APPLICABLE && classify != QML_ERR_LIMIT)
            status = classify;
    }
    if (status || *kind == CAPPED_UNKNOWN)
        free_generators(list, n_weights);
    else
        *generators = list;
    return status;
}

/* Whether a string has no X or Y letter: then it maps |0...0> to itself
 * (times +-1), so as the first gate's generator it leaves sigma =
 * -(i/2)[G, rho] = 0 and the first-gate gradient is 0 identically. */
static bool z_type_string(const qml_pauli_sum *generator)
{
    for (unsigned w = 0; w < generator->words; w++)
        if (generator->x[w])
            return false;
    return true;
}

/* <psi|P|psi> for a string of a sum (term i); the |0...0> state when NULL. */
static double term_expectation(const qml_statevec *state, const qml_pauli_sum *sum, size_t i, int *status)
{
    if (!state) {
        for (unsigned w = 0; w < sum->words; w++)
            if (sum->x[i * sum->words + w])
                return 0.0;
        return sum->coeff[i];
    }
    qml_pauli_sum *term = NULL;
    double value = 0;
    *status = qml_pauli_sum_create(&term, sum->n_qubits);
    if (!*status)
        *status = qml__pauli_sum_add_masks(term, sum->coeff[i], sum->x + i * sum->words, sum->z + i * sum->words);
    if (!*status)
        *status = qml_statevec_expectation(state, term, &value);
    qml_pauli_sum_free(term);
    return value;
}

/* The prediction for g = su(2^n) (one simple ideal of dim 4^n - 1, Ragone et
 * al. 2024; Fontana et al. 2024), in the normalised norm ||A||^2 = Tr(A^2) / 2^n:
 * P(O) = 2^n ||O_0||^2 (O_0 the traceless part), P(rho) = 1 - 2^-n,
 * P(sigma) = (<G^2> - <G>^2) / 2 with G = c P a string (G^2 = c^2),
 * kappa(G) = 4 c^2 2^(2n-1) (half the 4^n - 1 strings anticommute with P, each
 * bracket has norm^2 4 c^2). */
static int full_algebra_prediction(unsigned n, const qml_statevec *initial, const qml_pauli_sum *observable,
                                   const qml_pauli_sum *generator, qml_lie_prediction *out)
{
    double o0 = 0;
    for (size_t i = 0; i < observable->n_terms; i++) {
        bool identity = true;
        for (unsigned w = 0; w < observable->words; w++)
            identity = identity && !(observable->x[i * observable->words + w] | observable->z[i * observable->words + w]);
        if (!identity)
            o0 += observable->coeff[i] * observable->coeff[i];
    }
    double two_n = ldexp(1.0, (int)n), dim = two_n * two_n - 1.0;
    double p_o = two_n * o0, p_rho = 1.0 - 1.0 / two_n;
    out->hypothesis = QML_LIE_HYPOTHESIS_OBSERVABLE;
    out->loss_variance = p_rho * p_o / dim;
    out->first_gate_gradient_variance = out->middle_gate_gradient_variance = (double)NAN;
    if (generator && generator->n_terms == 1) {
        int status = QML_OK;
        double c = generator->coeff[0], g_mean = term_expectation(initial, generator, 0, &status);
        if (status)
            return status;
        double p_sigma = 0.5 * (c * c - g_mean * g_mean);
        double kappa = 4.0 * c * c * 0.5 * two_n * two_n;
        out->first_gate_gradient_variance = p_sigma * p_o / dim;
        out->middle_gate_gradient_variance = 0.25 * p_rho * p_o * kappa / (dim * dim);
    }
    return QML_OK;
}

static int scan_prediction(const qml_circuit *circuit, const qml_pauli_sum *observable,
                           const qml_statevec *initial, const qml_bp_scan_options *opts,
                           const qml_landscape_options *stats_opts, qml_bp_row *row, qml_lie_algebra **keep)
{
    row->dim_g = 0;
    row->dim_g_capped = 0;
    row->var_predicted = NAN;
    if (opts->max_dim == 0)
        return QML_OK;
    qml_lie_options lie_opts = QML_LIE_OPTIONS_INIT;
    lie_opts.max_dim = opts->max_dim > SIZE_MAX ? SIZE_MAX : (size_t)opts->max_dim;
    lie_opts.n_threads = stats_opts->n_threads; /* the closure's bits do not depend on it */
    qml_lie_algebra *algebra = NULL;
    qml_pauli_sum *moved_observable = NULL, *generator = NULL, **strings = NULL;
    int status = qml_lie_algebra_from_circuit(&algebra, circuit, &lie_opts);
    capped_class capped = CAPPED_UNKNOWN;
    bool classified = false;
    if (status == QML_ERR_LIMIT) {
        /* above the cap: single-string generators may still be classified */
        row->dim_g_capped = 1;
        qml_lie_algebra_free(algebra);
        algebra = NULL;
        status = classify_capped(circuit, &capped, &strings);
        classified = capped != CAPPED_UNKNOWN;
        if (status || !classified)
            goto done;
    }
    if (status == QML_ERR_NOT_APPLICABLE) { /* a non-Clifford fixed gate */
        status = QML_OK;
        goto done;
    }
    if (status)
        goto done;
    if (!classified)
        row->dim_g = qml_lie_algebra_dim(algebra);

    long weight = QML_NONE;
    if (opts->quantity == QML_BP_GRADIENT && stats_opts->params != QML_PARAMS_ALL) {
        long wanted = stats_opts->params == QML_PARAMS_MIDDLE ? (long)(circuit->n_weights / 2) : 0;
        size_t readers = 0, first_parametrised = SIZE_MAX, reader = SIZE_MAX;
        for (size_t g = 0; g < circuit->n_gates; g++) {
            const qml__gate *gate = &circuit->gates[g];
            if (!qml__gate_is_parametrised(gate->kind))
                continue;
            if (first_parametrised == SIZE_MAX)
                first_parametrised = g;
            if (gate->weight == wanted && readers++ == 0)
                reader = g;
        }
        if (readers == 1 && (stats_opts->params == QML_PARAMS_MIDDLE || reader == first_parametrised))
            weight = wanted;
    }
    if (opts->quantity == QML_BP_GRADIENT && weight == QML_NONE)
        goto done;
    status = transported_observable(circuit, observable, &moved_observable);
    if (status == QML_OK && weight != QML_NONE)
        status = qml__circuit_transported_weight_generator(circuit, weight, &generator);
    qml_lie_prediction prediction = QML_LIE_PREDICTION_INIT;
    if (status == QML_OK && capped == CAPPED_FULL) {
        status = full_algebra_prediction(circuit->n_qubits, initial, moved_observable, generator, &prediction);
    } else if (status == QML_OK && capped == CAPPED_COUNTED) {
        /* counted from the classification, for |0...0> (lie_classify_predict.c);
         * the first gate where the gate's part counts it, and 0 wherever
         * sigma = 0 */
        if (initial)
            goto done;
        status = qml_pauli_dla_predict_variance((const qml_pauli_sum *const *)strings, circuit->n_weights,
                                                moved_observable, generator, NULL, &prediction);
        if (status == QML_OK && generator && z_type_string(generator))
            prediction.first_gate_gradient_variance = 0.0;
    } else if (status == QML_OK)
        status = qml_lie_algebra_predict_variance(algebra, initial, moved_observable, generator, &prediction);
    if (status == QML_OK) {
        row->var_predicted = opts->quantity == QML_BP_LOSS              ? prediction.loss_variance
                             : stats_opts->params == QML_PARAMS_FIRST ? prediction.first_gate_gradient_variance
                                                                      : prediction.middle_gate_gradient_variance;
    } else if (status == QML_ERR_NOT_APPLICABLE || status == QML_ERR_LIMIT) {
        status = QML_OK; /* the hypotheses do not hold, or the structure is unknown: NaN */
    }

done:
    if (status == QML_OK && keep && algebra) { /* the scan owns it from here */
        *keep = algebra;
        algebra = NULL;
    }
    if (status == QML_OK)
        qml__ok();
    free_generators(strings, strings ? circuit->n_weights : 0);
    qml_pauli_sum_free(generator);
    qml_pauli_sum_free(moved_observable);
    qml_lie_algebra_free(algebra);
    return status;
}

/* V_end^dag O V_end for the fixed gates V_end of the whole circuit: each
 * non-identity term P of O is appended to a copy of the circuit as a
 * rotation gate and transported like any other generator. */
static int transported_observable(const qml_circuit *circuit, const qml_pauli_sum *observable,
                                  qml_pauli_sum **out)
{
    const unsigned n = circuit->n_qubits;
    qml_circuit *copy = NULL;
    qml_pauli_sum *result = NULL;
    char *dense = qml__malloc((size_t)n + 1);
    int status = dense ? qml_circuit_copy(&copy, circuit) : qml__oom("a Pauli string");
    if (status == QML_OK)
        status = qml_pauli_sum_create(&result, n);
    for (size_t t = 0; t < observable->n_terms && status == QML_OK; t++) {
        double coefficient;
        status = qml_pauli_sum_term(observable, t, &coefficient, dense);
        if (status)
            break;
        if (strspn(dense, "I") == n) {
            status = qml_pauli_sum_add_term(result, coefficient, "", NULL, 0);
            continue;
        }
        qml_pauli_sum *term = NULL, *moved = NULL;
        status = qml_pauli_sum_create(&term, n);
        if (status == QML_OK)
            status = qml_pauli_sum_add_string(term, 1.0, dense);
        if (status == QML_OK)
            status = qml_circuit_add_pauli_rotation(copy, term, 0.0, QML_NONE, 0.0, QML_NONE, 0.0);
        if (status == QML_OK)
            status = qml__circuit_transported_generator(copy, copy->n_gates - 1, &moved);
        if (status == QML_OK)
            status = qml_pauli_sum_add(result, coefficient, moved);
        qml_pauli_sum_free(moved);
        qml_pauli_sum_free(term);
    }
    qml__free(dense);
    qml_circuit_free(copy);
    if (status) {
        qml_pauli_sum_free(result);
        return status;
    }
    *out = result;
    return QML_OK;
}

/* The measured variance of a row from its complete samples. A variance at
 * the rounding level of the loss (|l| <= sum |c_t|, computed to ~1e-14
 * relative after thousands of gates) is zero: report it as such rather than
 * let 1e-31 +- 1e-31 dominate a fit (e.g. the Heisenberg chain at n = 2,
 * where Z0 Z1 is conserved). */
int qml__bp_row_measure(qml_bp_row *row, const qml_gradient_samples *samples, qml_bp_quantity quantity,
                        double observable_scale)
{
    qml_gradient_stats *stats = NULL;
    int status = qml__gradient_stats_build(&stats, samples);
    if (status)
        return status;
    if (quantity == QML_BP_LOSS)
        qml_gradient_stats_loss(stats, NULL, NULL, &row->var_measured, &row->var_stderr);
    else
        qml_gradient_stats_summary(stats, &row->var_measured, &row->var_stderr);
    if (row->var_measured <= 1e-24 * observable_scale * observable_scale) {
        row->var_measured = 0.0;
        row->var_stderr = 0.0;
    }
    qml_gradient_stats_free(stats);
    return QML_OK;
}

/* One row: samples [first, first + count) of the scan's S. A whole row
 * (not partial) is measured at once; a partial row keeps its samples and
 * reports NaN until a merge completes it. Only the part holding sample 0
 * computes the DLA and the prediction, so that a split costs it once. */
static int scan_row(const scan_source *source, const qml_bp_scan_options *opts,
                    const qml_landscape_options *stats_opts, unsigned n, unsigned layers, size_t row_index,
                    size_t first, size_t count, const progress_state *progress, qml_bp_row *row,
                    double *observable_scale, qml_gradient_samples **part, qml_lie_algebra **keep)
{
    double start = wall_seconds();
    qml_circuit *circuit = NULL;
    qml_pauli_sum *observable = NULL;
    qml_statevec *initial = NULL;
    qml_gradient_samples *samples = NULL;
    const char *text = opts->observable ? opts->observable : default_observable(source);
    int status = scan_circuit(source, n, layers, &circuit);
    if (status == QML_OK)
        status = qml_pauli_sum_parse(&observable, n, text);
    if (status == QML_OK)
        status = scan_initial(source, opts, n, &initial);
    if (status == QML_OK) {
        qml_landscape_options row_opts = *stats_opts;
        row_opts.seed = stats_opts->seed + row_index;
        status = samples_compute(&samples, circuit, observable, initial, NULL, 0, &row_opts, first, count,
                                 progress);
    }
    /* QML_BACKEND_AUTO and no simulator fits this row (the statevector
     * past memory, g-sim's module too large, no permutation symmetry): a
     * whole scan keeps the row with its prediction, unmeasured (samples 0,
     * NaN), instead of failing; the other rows are still measured. */
    bool unmeasured = false;
    if ((status == QML_ERR_NOT_APPLICABLE || status == QML_ERR_LIMIT) && !part &&
        stats_opts->backend == QML_BACKEND_AUTO) {
        unmeasured = true;
        status = QML_OK;
    }
    row->dim_g = 0;
    row->dim_g_capped = 0;
    row->var_predicted = NAN;
    if (status == QML_OK && first == 0)
        status = scan_prediction(circuit, observable, initial, opts, stats_opts, row, keep);
    if (status == QML_OK) {
        row->size = sizeof *row;
        row->n_qubits = n;
        row->layers = layers;
        row->samples = unmeasured ? 0 : count;
        row->n_params = unmeasured ? circuit->n_weights : samples->n_weights;
        double scale = 0.0;
        for (size_t t = 0; t < observable->n_terms; t++)
            scale += fabs(observable->coeff[t]);
        *observable_scale = scale;
        if (unmeasured) {
            row->var_measured = NAN;
            row->var_stderr = NAN;
        } else if (part) {
            row->var_measured = NAN;
            row->var_stderr = NAN;
            if (count == samples->total)
                status = qml__bp_row_measure(row, samples, opts->quantity, scale);
            *part = samples;
            samples = NULL;
        } else {
            status = qml__bp_row_measure(row, samples, opts->quantity, scale);
        }
        row->seconds = wall_seconds() - start;
    }
    qml_gradient_samples_free(samples);
    qml_statevec_free(initial);
    qml_pauli_sum_free(observable);
    qml_circuit_free(circuit);
    return status;
}

static int scan_run(qml_bp_scan **out, const scan_source *source, const qml_bp_scan_options *scan_options,
                    const qml_landscape_options *stats_options, int partial, size_t first, size_t count,
                    size_t only_row, const char *caller)
{
    QML_CHECK_ARG(out != NULL, "%s: argument 'out' is NULL", caller);
    qml_bp_scan_options opts;
    qml_landscape_options stats_opts;
    int status = qml__options_copy(&opts, sizeof opts, scan_options, &default_scan_options, caller);
    if (status)
        return status;
    status = qml__options_copy(&stats_opts, sizeof stats_opts, stats_options, &default_landscape_options, caller);
    if (status)
        return status;
    status = scan_check(source, &opts, stats_opts.backend, caller);
    if (status)
        return status;
    QML_CHECK_ARG(stats_opts.samples >= 2, "%s: samples = %zu; a variance needs at least 2", caller,
                  stats_opts.samples);
    if (!partial) {
        first = 0;
        count = stats_opts.samples;
    } else if (count == 0 || first >= stats_opts.samples || count > stats_opts.samples - first) {
        return qml__error(QML_ERR_OUT_OF_RANGE,
                          "%s: samples [%zu, %zu + %zu) are not a non-empty range inside [0, %zu)", caller, first,
                          first, count, stats_opts.samples);
    }
    QML_CHECK_SHOTS(stats_opts.shots, caller);
    QML_CHECK_ARG(opts.keep_algebras == 0 || opts.keep_algebras == 1, "%s: keep_algebras = %d; give 0 or 1",
                  caller, opts.keep_algebras);

    const size_t per_n = opts.depth == QML_BP_DEPTH_LIST ? opts.n_depths : 1;
    const size_t n_rows = (size_t)(opts.n_max - opts.n_min + 1) * per_n;
    if (only_row != SIZE_MAX && only_row >= n_rows)
        return qml__error(QML_ERR_OUT_OF_RANGE, "%s: row %zu of a scan of %zu rows", caller, only_row, n_rows);
    qml_bp_scan *scan = qml__calloc(1, sizeof *scan);
    qml_bp_row *rows = qml__calloc(n_rows, sizeof *rows);
    double *scales = qml__calloc(n_rows, sizeof *scales);
    qml_gradient_samples **parts = partial ? qml__calloc(n_rows, sizeof *parts) : NULL;
    qml_lie_algebra **algebras = opts.keep_algebras ? qml__calloc(n_rows, sizeof *algebras) : NULL;
    if (!scan || !rows || !scales || (partial && !parts) || (opts.keep_algebras && !algebras)) {
        qml__free(scan);
        qml__free(rows);
        qml__free(scales);
        qml__free(parts);
        qml__free(algebras);
        return qml__oom("the rows of a scan");
    }
    scan->rows = rows;
    scan->n_rows = n_rows;
    scan->observable_scale = scales;
    scan->parts = parts;
    scan->algebras = algebras;
    scan->quantity = opts.quantity;
    scan->fit_layers = opts.depth == QML_BP_DEPTH_LIST ? opts.depths[opts.n_depths - 1] : 0;

    progress_state progress = {stats_opts.progress, stats_opts.progress_user, "bp scan", 0,
                               qml__mul_size(only_row != SIZE_MAX ? 1 : n_rows, count)};
    size_t r = 0;
    for (unsigned n = opts.n_min; n <= opts.n_max && status == QML_OK; n++) {
        for (size_t d = 0; d < per_n && status == QML_OK; d++, r++) {
            unsigned layers = opts.depth == QML_BP_DEPTH_FIXED       ? opts.layers
                              : opts.depth == QML_BP_DEPTH_PER_QUBIT ? opts.layers * n
                                                                     : opts.depths[d];
            if (only_row != SIZE_MAX && r != only_row) {
                /* A piece: the other rows hold no samples (parts[r] stays NULL). */
                qml_bp_row *row = &rows[r];
                row->size = sizeof *row;
                row->n_qubits = n;
                row->layers = layers;
                row->var_measured = row->var_stderr = row->var_predicted = NAN;
                continue;
            }
            progress.offset = only_row != SIZE_MAX ? 0 : r * count;
            status = scan_row(source, &opts, &stats_opts, n, layers, r, first, count, &progress, &rows[r],
                              &scales[r], partial ? &parts[r] : NULL, algebras ? &algebras[r] : NULL);
        }
    }
    if (status) {
        qml_bp_scan_free(scan);
        return qml__error_context(status, caller);
    }
    *out = scan;
    qml__ok();
    return QML_OK;
}
