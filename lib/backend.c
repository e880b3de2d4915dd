/*
 * backend.c: the one choice point between the statevector and the
 * algebraic simulators (gsim.c, dicke.c): which applies, which is cheapest,
 * and the gradient entry points' dispatch (single input and batches).
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Largest module g-sim builds when asked for explicitly (strings). */
#define BACKEND_GSIM_MAX_DIM (1u << 22)

const char *qml_backend_name(qml_backend backend)
{
    switch (backend) {
    case QML_BACKEND_STATEVECTOR: return "statevector";
    case QML_BACKEND_AUTO: return "auto";
    case QML_BACKEND_GSIM: return "gsim";
    case QML_BACKEND_SYMMETRIC: return "symmetric";
    default: return NULL;
    }
}

int qml_backend_from_name(const char *name, qml_backend *backend)
{
    QML_CHECK_NULL(name);
    QML_CHECK_NULL(backend);
    for (int b = QML_BACKEND_STATEVECTOR; b <= QML_BACKEND_SYMMETRIC; b++)
        if (strcmp(name, qml_backend_name((qml_backend)b)) == 0) {
            *backend = (qml_backend)b;
            qml__ok();
            return QML_OK;
        }
    return qml__error(QML_ERR_INVALID_ARGUMENT,
                      "qml_backend_from_name: unknown backend '%s' (statevector, auto, gsim, symmetric)", name);
}

int qml__backend_check(qml_backend backend, const char *caller)
{
    QML_CHECK_ARG(qml_backend_name(backend) != NULL, "%s: options.backend %d is not a qml_backend (0..3)", caller,
                  (int)backend);
    return QML_OK;
}

void qml__algsim_free(qml__algsim *sim)
{
    if (!sim)
        return;
    qml__gsim_free(sim->gsim);
    qml__dicke_free(sim->dicke);
    qml__free(sim->initial);
    qml__free(sim);
}

static int finish(qml__algsim *sim, const qml_statevec *initial, const char *caller)
{
    size_t n = sim->kind == QML_BACKEND_GSIM ? qml__gsim_dim(sim->gsim) : 2 * qml__dicke_dim(sim->dicke);
    sim->initial = qml__malloc((n + 1) * sizeof *sim->initial);
    if (!sim->initial)
        return qml__oom("the initial state of an algebraic simulator");
    sim->work_doubles = sim->kind == QML_BACKEND_GSIM ? qml__gsim_work_doubles(sim->gsim)
                                                      : qml__dicke_work_doubles(sim->dicke);
    return sim->kind == QML_BACKEND_GSIM ? qml__gsim_initial(sim->gsim, initial, sim->initial)
                                         : qml__dicke_initial(sim->dicke, initial, sim->initial, caller);
}

int qml__algsim_create(qml__algsim **out, qml_backend requested, const qml_circuit *circuit,
                       const qml_pauli_sum *observable, const qml_statevec *initial, const char *caller)
{
    *out = NULL;
    if (requested == QML_BACKEND_STATEVECTOR && circuit->n_qubits > QML__STATEVEC_MAX_QUBITS)
        return qml__error(QML_ERR_NOT_APPLICABLE, "%s: the statevector holds at most %u qubits, the circuit has %u",
                          caller, QML__STATEVEC_MAX_QUBITS, circuit->n_qubits);
    if (requested == QML_BACKEND_STATEVECTOR)
        return QML_OK;
    qml__algsim *sim = qml__calloc(1, sizeof *sim);
    if (!sim)
        return qml__oom("an algebraic simulator");
    sim->circuit = circuit;
    unsigned n = circuit->n_qubits;
    int status = QML_OK;
    char symmetric_why[320] = "", gsim_why[320] = "";
    if (requested == QML_BACKEND_SYMMETRIC || requested == QML_BACKEND_AUTO) {
        sim->kind = QML_BACKEND_SYMMETRIC;
        status = qml__dicke_create(&sim->dicke, circuit, observable, caller);
        if (!status)
            status = finish(sim, initial, caller);
        if (!status) {
            *out = sim;
            return QML_OK;
        }
        qml__dicke_free(sim->dicke);
        sim->dicke = NULL;
        qml__free(sim->initial);
        sim->initial = NULL;
        if (status != QML_ERR_NOT_APPLICABLE || requested == QML_BACKEND_SYMMETRIC) {
            qml__algsim_free(sim);
            return status;
        }
        snprintf(symmetric_why, sizeof symmetric_why, "%s", qml_last_error());
    }
    /* g-sim: AUTO keeps it only where it beats the statevector's 2^n
     * amplitudes per gate (a module of at most 2^n strings). */
    size_t max_dim = BACKEND_GSIM_MAX_DIM;
    if (requested == QML_BACKEND_AUTO && n <= 20)
        max_dim = (size_t)1 << n;
    sim->kind = QML_BACKEND_GSIM;
    status = qml__gsim_create(&sim->gsim, circuit, observable, max_dim, caller);
    /* A given state costs 2^n work per string to read (e_a = <psi|P_a|psi>):
     * AUTO keeps g-sim then only if that is less than the statevector's
     * 2^n per gate. */
    if (!status && requested == QML_BACKEND_AUTO && initial && qml__gsim_strings(sim->gsim) > circuit->n_gates)
        status = qml__error(QML_ERR_NOT_APPLICABLE,
                            "%s: g-sim is not the cheapest: reading the given initial state on %zu strings costs "
                            "more than the statevector's %zu gates",
                            caller, qml__gsim_strings(sim->gsim), circuit->n_gates);
    if (!status)
        status = finish(sim, initial, caller);
    if (!status) {
        *out = sim;
        return QML_OK;
    }
    qml__algsim_free(sim);
    if (status != QML_ERR_NOT_APPLICABLE || requested == QML_BACKEND_GSIM)
        return status;
    snprintf(gsim_why, sizeof gsim_why, "%s", qml_last_error());
    if (n > QML__STATEVEC_MAX_QUBITS)
        return qml__error(QML_ERR_NOT_APPLICABLE,
                          "%s: no backend applies to this %u-qubit circuit: the statevector holds at most %u qubits; "
                          "%s; %s",
                          caller, n, QML__STATEVEC_MAX_QUBITS, symmetric_why, gsim_why);
    qml__ok();
    return QML_OK; /* the statevector */
}

void qml__algsim_run(const qml__algsim *sim, double *work, const double *weights, const double *features,
                     double *value, double *weight_gradient, double *feature_gradient)
{
    if (sim->kind == QML_BACKEND_GSIM)
        qml__gsim_run(sim->gsim, sim->initial, work, weights, features, value, weight_gradient, feature_gradient);
    else
        qml__dicke_run(sim->dicke, sim->initial, work, weights, features, value, weight_gradient, feature_gradient);
}

int qml_backend_select(const qml_circuit *circuit, const qml_pauli_sum *observable, const qml_statevec *initial,
                       qml_backend requested, qml_backend *chosen, double *dimension)
{
    QML_CHECK_NULL(circuit);
    QML_CHECK_NULL(observable);
    int status = qml__backend_check(requested, __func__);
    if (status)
        return status;
    QML_CHECK_ARG(observable->n_qubits == circuit->n_qubits, "%s: observable on %u qubits, circuit on %u", __func__,
                  observable->n_qubits, circuit->n_qubits);
    QML_CHECK_ARG(initial == NULL || initial->n_qubits == circuit->n_qubits,
                  "%s: initial state on %u qubits, circuit on %u", __func__, initial ? initial->n_qubits : 0u,
                  circuit->n_qubits);
    qml__algsim *sim = NULL;
    status = qml__algsim_create(&sim, requested, circuit, observable, initial, __func__);
    if (status)
        return status;
    qml_backend kind = sim ? sim->kind : QML_BACKEND_STATEVECTOR;
    double dim = !sim                         ? ldexp(1.0, (int)circuit->n_qubits)
                 : kind == QML_BACKEND_GSIM ? (double)qml__gsim_dim(sim->gsim)
                                              : (double)qml__dicke_dim(sim->dicke);
    qml__algsim_free(sim);
    if (chosen)
        *chosen = kind;
    if (dimension)
        *dimension = dim;
    qml__ok();
    return QML_OK;
}

/* ---- the gradient entry points ------------------------------------------------ */

int qml__backend_gradient(const qml_circuit *circuit, const qml_pauli_sum *observable, const qml_statevec *initial,
                          const qml_gradient_options *options, const double *weights, const double *features,
                          double *value, double *weight_gradient, double *feature_gradient, bool *handled,
                          const char *caller)
{
    *handled = false;
    if (options->method != QML_GRADIENT_ADJOINT) {
        if (options->backend == QML_BACKEND_AUTO)
            return QML_OK;
        return qml__error(QML_ERR_NOT_APPLICABLE,
                          "%s: the %s backend computes adjoint gradients only (options.method is %d)", caller,
                          qml_backend_name(options->backend), (int)options->method);
    }
    qml__algsim *sim = NULL;
    int status = qml__algsim_create(&sim, options->backend, circuit, observable, initial, caller);
    if (status || !sim)
        return status;
    double *work = qml__malloc((sim->work_doubles + 1) * sizeof *work);
    if (!work) {
        qml__algsim_free(sim);
        return qml__oom("the workspace of an algebraic simulator");
    }
    *handled = true;
    qml__algsim_run(sim, work, weights, features, value, weight_gradient, feature_gradient);
    qml__free(work);
    qml__algsim_free(sim);
    return QML_OK;
}

typedef struct batch_job {
    const qml__algsim *sim;
    const double *weights;
    const double *rows;
    size_t n_features;
    double *work;          /* per worker */
    size_t work_stride;
    double *values;        /* per row */
    double *gradients;     /* per row (stride n_weights) or NULL */
    size_t n_weights;
} batch_job;

static void batch_worker(void *context, size_t begin, size_t end, unsigned worker)
{
    const batch_job *job = context;
    double *work = job->work + (size_t)worker * job->work_stride;
    for (size_t r = begin; r < end; r++) {
        const double *features = job->n_features ? job->rows + r * job->n_features : NULL;
        qml__algsim_run(job->sim, work, job->weights, features, &job->values[r],
                        job->gradients ? job->gradients + r * job->n_weights : NULL, NULL);
    }
}

int qml__algsim_batch(const qml__algsim *sim, const double *weights, size_t n_weights, const double *rows,
                      size_t n_rows, size_t n_features, unsigned n_threads, qml_batch_reduction reduction,
                      double *values, double *weight_gradients)
{
    size_t cw = sim->circuit->n_weights;
    unsigned n_workers = qml__resolve_threads(n_threads);
    if (n_workers > 256)
        n_workers = 256;
    if ((size_t)n_workers > n_rows)
        n_workers = (unsigned)(n_rows ? n_rows : 1);
    bool per_row = reduction == QML_BATCH_PER_ROW && weight_gradients;
    size_t stride = per_row ? n_weights : cw;
    double *work = qml__malloc(qml__mul_size(n_workers, sim->work_doubles + 1) * sizeof *work);
    double *row_values = values ? values : qml__malloc((n_rows + 1) * sizeof *row_values);
    double *grads = per_row || !weight_gradients
                        ? weight_gradients
                        : qml__calloc(qml__mul_size(n_rows, cw) + 1, sizeof *grads);
    if (!work || !row_values || (weight_gradients && !grads)) {
        qml__free(work);
        if (row_values != values)
            qml__free(row_values);
        if (grads != weight_gradients)
            qml__free(grads);
        return qml__oom("the batch of an algebraic simulator");
    }
    if (per_row) /* entries past the circuit's weights do not move the loss */
        for (size_t r = 0; r < n_rows; r++)
            for (size_t k = cw; k < n_weights; k++)
                grads[r * n_weights + k] = 0.0;
    batch_job job = {sim, weights, rows, n_features, work, sim->work_doubles + 1, row_values, grads, stride};
    qml__parallel_for(n_workers, n_rows, 1, batch_worker, &job);
    if (weight_gradients && !per_row) {
        for (size_t k = 0; k < n_weights; k++)
            weight_gradients[k] = 0.0;
        for (size_t r = 0; r < n_rows; r++) /* in row order: the same bits for any thread count */
            for (size_t k = 0; k < cw; k++)
                weight_gradients[k] += grads[r * cw + k];
        qml__free(grads);
    }
    if (row_values != values)
        qml__free(row_values);
    qml__free(work);
    return QML_OK;
}
