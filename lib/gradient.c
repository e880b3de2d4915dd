/*
 * gradient.c: the loss l(w, x) = <psi(w, x)| O |psi(w, x)> and its gradient
 * by adjoint differentiation, the parameter-shift rule or finite differences.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

/* ---- types ---------------------------------------------------------------- */

/* One Pauli factor c P(x, z) of a parametrised gate's generator
 * (qml__pauli_factor): every generator is a sum of commuting Pauli strings,
 * so exp(-i theta/2 sum_j c_j P_j) = prod_j exp(-i theta c_j/2 P_j).
 * Identity terms are dropped: they are a global phase and carry no gradient.
 * Circuits have at most 62 qubits, so one mask word suffices. */
typedef qml__pauli_factor grad_factor;

/* What one call differentiates, built once and shared read-only by workers. */
typedef struct grad_plan {
    const qml_circuit *circuit;
    const qml_pauli_sum *observable;
    const qml_statevec *initial;     /* NULL: |0...0> */
    const double *weights;
    qml_gradient_options options;
    bool want_features;
    size_t *first_factor;            /* n_gates + 1 offsets into factors */
    grad_factor *factors;
    size_t n_factors;
    size_t first_differentiated;     /* lowest gate index with factors (n_gates if none) */
    size_t *run_start;               /* adjoint: first gate of the maximal run of diagonal gates
                                        containing gate g, or SIZE_MAX if g is not diagonal */
    unsigned backward_width;         /* adjoint: width of the backward blocks (0: gate by gate) */
    bool *blockable;                 /* adjoint with backward_width: gate g goes in backward blocks */
    qml__gate *shift_gates;          /* parameter shift: exp(-i s/2 P_j), one per factor */
    /* The gates in the observable's backward light cone (plan_light_cone):
     * when some gates fall outside it, `circuit` points at `cone`, a view
     * holding shallow copies of the kept gates (their generators stay the
     * caller's circuit's). */
    qml_circuit cone;
    /* When trailing permutation gates were absorbed into a diagonal
     * observable, `observable` points at this sum, owned by the plan. */
    qml_pauli_sum *absorbed;
} grad_plan;

/* Per-thread scratch: two statevectors and, for finite differences, copies
 * of the inputs to perturb. */
typedef struct grad_workspace {
    qml_statevec *state;
    qml_statevec *other;
    double *weights;
    double *features;
    double *partials;                /* adjoint kernels with several threads: chunks x GRAD_RUN_FACTORS */
    size_t n_partials;
    bool state_is_zero;              /* `state` still holds |0...0> from qml_statevec_create */
    bool borrowed;                   /* state and other are the caller's options.scratch (not freed) */
    unsigned saved_threads[2];       /* borrowed: their thread counts, restored on release */
} grad_workspace;

/* Amplitudes per chunk of the fused <lambda|P|psi> kernel; chunk sums are
 * added in chunk order whatever the thread count, so the bits do not depend
 * on it. */
#define GRAD_CHUNK ((uint64_t)1 << 13)
/* Z-type factors evaluated together in one pass over a diagonal run. */
#define GRAD_RUN_FACTORS 64u
/* Per-row gradient rows buffered by a SUM batch before they are added in row
 * order: bounded so that huge datasets do not need n_rows * n_weights doubles. */
#define GRAD_BATCH_BUFFER_DOUBLES ((size_t)1 << 20)
#define GRAD_MESSAGE_LENGTH 256
#define GRAD_MAX_QUBITS 40u /* the statevector's limit (statevec.c) */
/* Qubits per block of the adjoint's backward sweep (fusion_adjoint.c). */
#define GRAD_BACKWARD_WIDTH 4u

static const double grad_half_pi = 1.57079632679489661923132169163975144;

static int plan_build(grad_plan *plan);
static unsigned popcount64(uint64_t v);
static void plan_release(grad_plan *plan);
static int workspace_create(grad_workspace *ws, const grad_plan *plan, unsigned kernel_threads);
static int check_memory(const grad_plan *plan, unsigned n_workspaces, const char *caller);
static void workspace_release(grad_workspace *ws);
static int gradient_row(const grad_plan *plan, grad_workspace *ws, const double *features, uint64_t row_seed,
                        double *value, double *weight_gradient, double *feature_gradient);
static int options_read(qml_gradient_options *out, const qml_gradient_options *in, const char *caller);
static int check_common(const qml_circuit *circuit, const qml_pauli_sum *observable, const qml_statevec *initial,
                        const char *caller);
static int check_finite(const double *values, size_t count, const char *what, size_t row, const char *caller);
static int check_scratch(const qml_gradient_options *options, const qml_circuit *circuit,
                         const qml_statevec *initial, const char *caller);

/* ---- public functions ----------------------------------------------------- */

int qml_gradient(const qml_circuit *circuit, const qml_pauli_sum *observable, const qml_statevec *initial,
                 const double *weights, size_t n_weights, const double *features, size_t n_features,
                 const qml_gradient_options *options, double *value, double *weight_gradient,
                 double *feature_gradient)
{
    static const char caller[] = "qml_gradient";
    grad_plan plan = {0};
    int status = options_read(&plan.options, options, caller);
    if (status)
        return status;
    status = check_common(circuit, observable, initial, caller);
    if (status)
        return status;
    status = check_scratch(&plan.options, circuit, initial, caller);
    if (status)
        return status;
    /* Counts (QML_ERR_OUT_OF_RANGE), NULL arrays and non-finite entries,
     * exactly as qml_statevec_run checks them. */
    status = qml__circuit_check_inputs(circuit, weights, n_weights, features, n_features, caller);
    if (status)
        return status;
    plan.want_features = plan.options.feature_gradients != 0;
    QML_CHECK_ARG(!plan.want_features || feature_gradient != NULL || circuit->n_features == 0,
                  "%s: options.feature_gradients is set but feature_gradient is NULL", caller);
    QML_CHECK_ARG(value != NULL || weight_gradient != NULL || (plan.want_features && feature_gradient != NULL),
                  "%s: value, weight_gradient and feature_gradient are all NULL: nothing to compute", caller);

    if (plan.options.backend != QML_BACKEND_STATEVECTOR) {
        bool handled = false;
        status = qml__backend_gradient(circuit, observable, initial, &plan.options, weights, features, value,
                                       weight_gradient, plan.want_features ? feature_gradient : NULL, &handled,
                                       caller);
        if (status || handled) {
            if (!status) {
                if (weight_gradient)
                    for (size_t k = circuit->n_weights; k < n_weights; k++)
                        weight_gradient[k] = 0.0;
                if (plan.want_features && feature_gradient)
                    for (size_t k = circuit->n_features; k < n_features; k++)
                        feature_gradient[k] = 0.0;
                qml__ok();
            }
            return status;
        }
    }
    plan.circuit = circuit;
    plan.observable = observable;
    plan.initial = initial;
    plan.weights = weights;
    /* Refuse what no statevector can hold before building the plan (whose
     * single-word masks assume a simulable register). */
    status = check_memory(&plan, plan.options.scratch[0] ? 0 : 1, caller);
    if (status)
        return status;
    status = plan_build(&plan);
    if (status)
        return status;
    grad_workspace ws;
    status = workspace_create(&ws, &plan, plan.options.n_threads);
    if (status) {
        plan_release(&plan);
        return status;
    }
    double loss = 0.0;
    status = gradient_row(&plan, &ws, features, plan.options.seed, &loss, weight_gradient,
                          plan.want_features ? feature_gradient : NULL);
    workspace_release(&ws);
    plan_release(&plan);
    if (status)
        return status;
    if (value)
        *value = loss;
    /* Entries past what the circuit reads do not move the loss. */
    if (weight_gradient)
        for (size_t k = circuit->n_weights; k < n_weights; k++)
            weight_gradient[k] = 0.0;
    if (plan.want_features && feature_gradient)
        for (size_t k = circuit->n_features; k < n_features; k++)
            feature_gradient[k] = 0.0;
    qml__ok();
    return QML_OK;
}

/* The batch: rows are processed in blocks; each block is split over workers
 * in contiguous ranges, every row written to its own slot, and (for SUM) the
 * block's rows are then added to the sum in row order on the calling thread.
 * Every row's result is therefore the single-row result, and the sum is the
 * same sequence of additions, whatever the thread count. */
typedef struct batch_context {
    const grad_plan *plan;
    grad_workspace *workspaces;
    const double *rows;
    size_t n_features;               /* row stride */
    size_t block_begin;
    double *values;                  /* per row of the block */
    double *gradients;               /* per row of the block */
    size_t gradient_stride;
    uint64_t seed;
    int status[256];                 /* per worker: first failure */
    size_t failed_row[256];
    char message[256][GRAD_MESSAGE_LENGTH];
} batch_context;

static void batch_worker(void *context, size_t begin, size_t end, unsigned worker)
{
    batch_context *batch = context;
    for (size_t i = begin; i < end; i++) {
        size_t row = batch->block_begin + i;
        const double *features = batch->n_features ? batch->rows + row * batch->n_features : NULL;
        int status = gradient_row(batch->plan, &batch->workspaces[worker], features, batch->seed + row,
                                  &batch->values[i], batch->gradients ? batch->gradients + i * batch->gradient_stride : NULL,
                                  NULL);
        if (status) {
            batch->status[worker] = status;
            batch->failed_row[worker] = row;
            /* The message is thread-local: carry it back to the calling thread. */
            strncpy(batch->message[worker], qml_last_error(), GRAD_MESSAGE_LENGTH - 1);
            batch->message[worker][GRAD_MESSAGE_LENGTH - 1] = '\0';
            return;
        }
    }
}

int qml_gradient_batch(const qml_circuit *circuit, const qml_pauli_sum *observable,
                       const qml_statevec *initial, const double *weights, size_t n_weights,
                       const double *rows, size_t n_rows, size_t n_features,
                       const qml_gradient_options *options, qml_batch_reduction reduction,
                       double *values, double *weight_gradients)
{
    static const char caller[] = "qml_gradient_batch";
    grad_plan plan = {0};
    int status = options_read(&plan.options, options, caller);
    if (status)
        return status;
    QML_CHECK_ARG(plan.options.feature_gradients == 0,
                  "%s: options.feature_gradients is set, but a batch returns weight gradients only", caller);
    /* one workspace per worker: the batch allocates its own */
    plan.options.scratch[0] = plan.options.scratch[1] = NULL;
    status = check_common(circuit, observable, initial, caller);
    if (status)
        return status;
    if (n_weights < circuit->n_weights)
        return qml__error(QML_ERR_OUT_OF_RANGE, "%s: %zu weights given, the circuit reads %zu", caller, n_weights,
                          circuit->n_weights);
    if (n_features < circuit->n_features)
        return qml__error(QML_ERR_OUT_OF_RANGE, "%s: rows have %zu features, the circuit reads %zu", caller,
                          n_features, circuit->n_features);
    QML_CHECK_ARG(weights != NULL || circuit->n_weights == 0, "%s: argument 'weights' is NULL", caller);
    status = check_finite(weights, circuit->n_weights, "weight", SIZE_MAX, caller);
    if (status)
        return status;
    QML_CHECK_ARG(reduction == QML_BATCH_PER_ROW || reduction == QML_BATCH_SUM,
                  "%s: reduction %d is neither QML_BATCH_PER_ROW nor QML_BATCH_SUM", caller, (int)reduction);
    QML_CHECK_ARG(rows != NULL || n_rows == 0, "%s: argument 'rows' is NULL for %zu rows", caller, n_rows);
    QML_CHECK_ARG(values != NULL || weight_gradients != NULL,
                  "%s: values and weight_gradients are both NULL: nothing to compute", caller);
    QML_CHECK_ARG(n_features == 0 || n_rows <= SIZE_MAX / n_features, "%s: %zu rows of %zu features overflow",
                  caller, n_rows, n_features);
    QML_CHECK_ARG(reduction == QML_BATCH_SUM || n_weights == 0 || n_rows <= SIZE_MAX / n_weights,
                  "%s: %zu rows of %zu weights overflow", caller, n_rows, n_weights);
    for (size_t r = 0; r < n_rows && circuit->n_features > 0; r++) {
        status = check_finite(rows + r * n_features, circuit->n_features, "feature", r, caller);
        if (status)
            return status;
    }

    const size_t cw = circuit->n_weights;
    if (weight_gradients && reduction == QML_BATCH_SUM)
        for (size_t k = 0; k < n_weights; k++)
            weight_gradients[k] = 0.0;
    if (n_rows == 0) {
        qml__ok();
        return QML_OK;
    }
    if (plan.options.backend != QML_BACKEND_STATEVECTOR) {
        qml__algsim *sim = NULL;
        if (plan.options.method != QML_GRADIENT_ADJOINT && plan.options.backend != QML_BACKEND_AUTO)
            return qml__error(QML_ERR_NOT_APPLICABLE, "%s: the %s backend computes adjoint gradients only", caller,
                              qml_backend_name(plan.options.backend));
        if (plan.options.method == QML_GRADIENT_ADJOINT) {
            status = qml__algsim_create(&sim, plan.options.backend, circuit, observable, initial, caller);
            if (status)
                return status;
        }
        if (sim) {
            status = qml__algsim_batch(sim, weights, n_weights, rows, n_rows, n_features, plan.options.n_threads,
                                       reduction, values, weight_gradients);
            qml__algsim_free(sim);
            if (!status)
                qml__ok();
            return status;
        }
    }

    plan.circuit = circuit;
    plan.observable = observable;
    plan.initial = initial;
    plan.weights = weights;
    /* Refuse what no statevector can hold before building the plan (whose
     * single-word masks assume a simulable register). */
    status = check_memory(&plan, 1, caller);
    if (status)
        return status;
    status = plan_build(&plan);
    if (status)
        return status;

    /* Blocks: PER_ROW writes straight into the caller's arrays (one block);
     * SUM buffers at most GRAD_BATCH_BUFFER_DOUBLES gradient entries. */
    size_t block_rows = n_rows;
    if (reduction == QML_BATCH_SUM && weight_gradients && cw > 0) {
        size_t fit = GRAD_BATCH_BUFFER_DOUBLES / cw;
        block_rows = fit < 1 ? 1 : fit < n_rows ? fit : n_rows;
    }
    unsigned n_workers = qml__resolve_threads(plan.options.n_threads);
    if (n_workers > 256)
        n_workers = 256;
    if ((size_t)n_workers > block_rows)
        n_workers = (unsigned)block_rows;

    double *row_values = values;
    double *row_gradients = NULL;
    batch_context *batch = qml__calloc(1, sizeof *batch);
    grad_workspace *workspaces = qml__calloc(n_workers, sizeof *workspaces);
    if (!batch || !workspaces) {
        status = qml__oom("qml_gradient_batch: workspaces");
        goto done;
    }
    if (!row_values) {
        row_values = qml__calloc(n_rows, sizeof *row_values);
        if (!row_values) {
            status = qml__oom("qml_gradient_batch: row values");
            goto done;
        }
    }
    if (weight_gradients && reduction == QML_BATCH_SUM && cw > 0) {
        row_gradients = qml__calloc(qml__mul_size(block_rows, cw), sizeof *row_gradients);
        if (!row_gradients) {
            status = qml__oom("qml_gradient_batch: per-row gradients");
            goto done;
        }
    }
    status = check_memory(&plan, n_workers, caller);
    if (status)
        goto done;
    unsigned created = 0;
    for (; created < n_workers; created++) {
        status = workspace_create(&workspaces[created], &plan, 1);
        if (status)
            break;
    }
    if (status) {
        for (unsigned w = 0; w < created; w++)
            workspace_release(&workspaces[w]);
        goto done;
    }

    batch->plan = &plan;
    batch->workspaces = workspaces;
    batch->rows = rows;
    batch->n_features = n_features;
    batch->seed = plan.options.seed;
    for (size_t begin = 0; begin < n_rows && status == QML_OK; begin += block_rows) {
        size_t count = n_rows - begin < block_rows ? n_rows - begin : block_rows;
        batch->block_begin = begin;
        batch->values = row_values + begin;
        if (reduction == QML_BATCH_PER_ROW) {
            batch->gradients = weight_gradients ? weight_gradients + begin * n_weights : NULL;
            batch->gradient_stride = n_weights;
        } else {
            batch->gradients = row_gradients;
            batch->gradient_stride = cw;
        }
        qml__parallel_for(n_workers, count, 1, batch_worker, batch);
        for (unsigned w = 0; w < n_workers; w++) {
            if (batch->status[w]) {
                status = qml__error(batch->status[w], "%s: row %zu: %s", caller, batch->failed_row[w],
                                    batch->message[w]);
                break;
            }
        }
        if (status)
            break;
        if (reduction == QML_BATCH_PER_ROW && weight_gradients)
            for (size_t i = 0; i < count; i++)
                for (size_t k = cw; k < n_weights; k++)
                    weight_gradients[(begin + i) * n_weights + k] = 0.0;
        if (reduction == QML_BATCH_SUM && row_gradients)
            for (size_t i = 0; i < count; i++) {
                const double *g = row_gradients + i * cw;
                for (size_t k = 0; k < cw; k++)
                    weight_gradients[k] += g[k];
            }
    }
    for (unsigned w = 0; w < n_workers; w++)
        workspace_release(&workspaces[w]);

done:
    if (row_values != values)
        qml__free(row_values);
    qml__free(row_gradients);
    qml__free(workspaces);
    qml__free(batch);
    plan_release(&plan);
    if (status)
        return status;
    qml__ok();
    return QML_OK;
}

/* ---- validation ----------------------------------------------------------- */

static int options_read(qml_gradient_options *out, const qml_gradient_options *in, const char *caller)
{
    static const qml_gradient_options defaults = QML_GRADIENT_OPTIONS_INIT;
    int status = qml__options_copy(out, sizeof *out, in, &defaults, caller);
    if (status)
        return status;
    QML_CHECK_ARG(out->method == QML_GRADIENT_ADJOINT || out->method == QML_GRADIENT_PARAMETER_SHIFT ||
                      out->method == QML_GRADIENT_FINITE_DIFFERENCE,
                  "%s: options.method %d is not a qml_gradient_method", caller, (int)out->method);
    QML_CHECK_ARG(out->method != QML_GRADIENT_FINITE_DIFFERENCE || (isfinite(out->step) && out->step > 0.0),
                  "%s: options.step %g must be positive and finite", caller, out->step);
    int backend_status = qml__backend_check(out->backend, caller);
    if (backend_status)
        return backend_status;
    QML_CHECK_ARG(out->shots == 0 || out->method == QML_GRADIENT_PARAMETER_SHIFT,
                  "%s: options.shots %llu given, but only the parameter-shift method samples", caller,
                  (unsigned long long)out->shots);
    QML_CHECK_SHOTS(out->shots, caller);
    return QML_OK;
}

static int check_common(const qml_circuit *circuit, const qml_pauli_sum *observable, const qml_statevec *initial,
                        const char *caller)
{
    QML_CHECK_ARG(circuit != NULL, "%s: argument 'circuit' is NULL", caller);
    QML_CHECK_ARG(observable != NULL, "%s: argument 'observable' is NULL", caller);
    QML_CHECK_ARG(observable->n_qubits == circuit->n_qubits,
                  "%s: observable on %u qubits, circuit on %u", caller, observable->n_qubits, circuit->n_qubits);
    QML_CHECK_ARG(initial == NULL || initial->n_qubits == circuit->n_qubits,
                  "%s: initial state on %u qubits, circuit on %u", caller, initial ? initial->n_qubits : 0u,
                  circuit->n_qubits);
    for (size_t t = 0; t < observable->n_terms; t++)
        QML_CHECK_ARG(isfinite(observable->coeff[t]), "%s: observable coefficient %zu is %g", caller, t,
                      observable->coeff[t]);
    return QML_OK;
}

/* options.scratch: both NULL, or two distinct states of the circuit's
 * width that are not the initial state (which the sweep reads while it
 * writes them). */
static int check_scratch(const qml_gradient_options *options, const qml_circuit *circuit,
                         const qml_statevec *initial, const char *caller)
{
    const qml_statevec *a = options->scratch[0], *b = options->scratch[1];
    if (!a && !b)
        return QML_OK;
    QML_CHECK_ARG(a && b, "%s: options.scratch[%d] is NULL but options.scratch[%d] is set", caller, a ? 1 : 0,
                  a ? 0 : 1);
    QML_CHECK_ARG(a != b, "%s: options.scratch[0] and options.scratch[1] are the same state", caller);
    QML_CHECK_ARG(a != initial && b != initial, "%s: options.scratch[%d] is the initial state", caller,
                  a == initial ? 0 : 1);
    for (int i = 0; i < 2; i++)
        QML_CHECK_ARG(options->scratch[i]->n_qubits == circuit->n_qubits,
                      "%s: options.scratch[%d] on %u qubits, circuit on %u", caller, i,
                      options->scratch[i]->n_qubits, circuit->n_qubits);
    return QML_OK;
}

static int check_finite(const double *values, size_t count, const char *what, size_t row, const char *caller)
{
    for (size_t i = 0; i < count; i++) {
        if (QML_UNLIKELY(!isfinite(values[i]))) {
            if (row == SIZE_MAX)
                return qml__error(QML_ERR_INVALID_ARGUMENT, "%s: %s %zu is %g", caller, what, i, values[i]);
            return qml__error(QML_ERR_INVALID_ARGUMENT, "%s: row %zu: %s %zu is %g", caller, row, what, i,
                              values[i]);
        }
    }
    return QML_OK;
}

/* ---- the plan: Pauli factors of every differentiated gate ------------------ */

/* Qubit q's mask bit. Circuits may have up to 1024 qubits, but the plan is
 * built before the statevector refuses more than 40 (QML_ERR_LIMIT): a
 * qubit beyond 63 gets no bit instead of an undefined shift. */
static uint64_t bit(unsigned q)
{
    return q < 64 ? (uint64_t)1 << q : 0;
}

/* Write gate's generator factors to `out` (NULL: only count); returns the count. */
static size_t gate_factors(const qml__gate *gate, grad_factor *out)
{
    grad_factor f[2];
    size_t n = 0;
    const unsigned *q = gate->qubits;
    switch (gate->kind) {
    case QML_GATE_RX: f[n++] = (grad_factor){1.0, bit(q[0]), 0}; break;
    case QML_GATE_RY: f[n++] = (grad_factor){1.0, bit(q[0]), bit(q[0])}; break;
    case QML_GATE_RZ: f[n++] = (grad_factor){1.0, 0, bit(q[0])}; break;
    case QML_GATE_RXX: f[n++] = (grad_factor){1.0, bit(q[0]) | bit(q[1]), 0}; break;
    case QML_GATE_RYY: f[n++] = (grad_factor){1.0, bit(q[0]) | bit(q[1]), bit(q[0]) | bit(q[1])}; break;
    case QML_GATE_RZZ: f[n++] = (grad_factor){1.0, 0, bit(q[0]) | bit(q[1])}; break;
    /* (I - Z_c) P_t / 2 = P_t / 2 - Z_c P_t / 2 */
    case QML_GATE_CRX:
        f[n++] = (grad_factor){0.5, bit(q[1]), 0};
        f[n++] = (grad_factor){-0.5, bit(q[1]), bit(q[0])};
        break;
    case QML_GATE_CRY:
        f[n++] = (grad_factor){0.5, bit(q[1]), bit(q[1])};
        f[n++] = (grad_factor){-0.5, bit(q[1]), bit(q[0]) | bit(q[1])};
        break;
    case QML_GATE_CRZ:
        f[n++] = (grad_factor){0.5, 0, bit(q[1])};
        f[n++] = (grad_factor){-0.5, 0, bit(q[0]) | bit(q[1])};
        break;
    case QML_GATE_PHASE: f[n++] = (grad_factor){1.0, 0, bit(q[0])}; break; /* Z - I: the -I is a phase */
    case QML_GATE_PAULI_ROTATION:
    case QML_GATE_PAULI_EVOLUTION: {
        const qml_pauli_sum *g = gate->generator;
        size_t count = 0;
        for (size_t t = 0; t < g->n_terms; t++) {
            if ((g->x[t * g->words] | g->z[t * g->words]) == 0 || g->coeff[t] == 0.0)
                continue;
            if (out)
                out[count] = (grad_factor){g->coeff[t], g->x[t * g->words], g->z[t * g->words]};
            count++;
        }
        return count;
    }
    default: return 0;
    }
    if (out)
        memcpy(out, f, n * sizeof *f);
    return n;
}

/* Diagonal in the computational basis: such gates commute, and applying one
 * to both lambda and psi leaves conj(lambda_i) psi_i unchanged. */
static bool gate_is_diagonal(const qml__gate *gate)
{
    switch (gate->kind) {
    case QML_GATE_I:
    case QML_GATE_Z:
    case QML_GATE_S:
    case QML_GATE_SDG:
    case QML_GATE_T:
    case QML_GATE_TDG:
    case QML_GATE_CZ:
    case QML_GATE_RZ:
    case QML_GATE_RZZ:
    case QML_GATE_CRZ:
    case QML_GATE_PHASE: return true;
    case QML_GATE_PAULI_ROTATION:
    case QML_GATE_PAULI_EVOLUTION:
        for (size_t t = 0; t < gate->generator->n_terms; t++)
            if (gate->generator->x[t * gate->generator->words] != 0)
                return false;
        return true;
    default: return false;
    }
}

/* A gate is differentiated if it reads a weight, or a feature when feature
 * gradients are wanted. */
static bool gate_differentiated(const grad_plan *plan, const qml__gate *gate)
{
    if (!qml__gate_is_parametrised(gate->kind))
        return false;
    return gate->weight >= 0 || (plan->want_features && gate->feature >= 0);
}

/* The backward sweep's block width for n qubits (0: gate by gate, as below
 * the fusion threshold, where the states are in cache). Measured:
 * docs/simulator.md, "The adjoint's cost model". */
static unsigned backward_width(unsigned n_qubits)
{
    return qml__fusion_width(n_qubits) ? GRAD_BACKWARD_WIDTH : 0;
}

/* The qubits `gate` acts on (Pauli gates: the support of their generator). */
static uint64_t gate_support(const qml__gate *gate)
{
    uint64_t m = 0;
    if (gate->kind == QML_GATE_PAULI_ROTATION || gate->kind == QML_GATE_PAULI_EVOLUTION) {
        const qml_pauli_sum *g = gate->generator;
        for (size_t t = 0; t < g->n_terms; t++)
            if (g->coeff[t] != 0.0)
                m |= g->x[t * g->words] | g->z[t * g->words];
        return m;
    }
    for (unsigned t = 0; t < gate->n_targets && t < 3; t++)
        m |= bit(gate->qubits[t]);
    return m;
}

/* A gate that can go in a backward block of `width` qubits: not a Pauli
 * gate (their support is a Pauli sum) and acting on at most `width` qubits;
 * its generator factors (at most 2) are then on its own qubits. */
static bool gate_blockable(const qml__gate *gate, unsigned width)
{
    if (gate->kind == QML_GATE_PAULI_ROTATION || gate->kind == QML_GATE_PAULI_EVOLUTION || gate->n_targets > 3)
        return false;
    return popcount64(gate_support(gate)) <= width && gate_factors(gate, NULL) <= 2;
}

/* A permutation of basis states times phases (one non-zero per row and
 * column): M^dag D M is diagonal for every diagonal D. */
static bool gate_is_monomial(const qml__gate *gate)
{
    switch (gate->kind) {
    case QML_GATE_X:
    case QML_GATE_Y:
    case QML_GATE_CNOT:
    case QML_GATE_CY:
    case QML_GATE_SWAP:
    case QML_GATE_ISWAP:
    case QML_GATE_TOFFOLI: return true;
    default: return gate_is_diagonal(gate);
    }
}

/* false: the gradients run every gate (plan_light_cone; tests, the bench). */
bool qml__gradient_light_cone = true;

/* Z-strings through a permutation gate up to phases, U^dag Z(z) U = sign
 * Z(z'), for the kinds that map every Z-string to one Z-string (X Z X = -Z,
 * Y Z Y = -Z, CNOT and CY: Z_t -> Z_c Z_t, SWAP and iSWAP exchange Z_a and
 * Z_b). Returns false for any other gate (Toffoli maps Z_t to a sum). */
static bool absorb_z_string(const qml__gate *gate, uint64_t *z, double *sign)
{
    const unsigned *q = gate->qubits;
    switch (gate->kind) {
    case QML_GATE_X:
    case QML_GATE_Y:
        if (*z & bit(q[0]))
            *sign = -*sign;
        return true;
    case QML_GATE_CNOT:
    case QML_GATE_CY:
        if (*z & bit(q[1]))
            *z ^= bit(q[0]);
        return true;
    case QML_GATE_SWAP:
    case QML_GATE_ISWAP:
        if (((*z >> q[0]) ^ (*z >> q[1])) & 1)
            *z ^= bit(q[0]) | bit(q[1]);
        return true;
    default: return false;
    }
}

/* While the observable is diagonal, the last gates that are diagonal, act
 * outside its support or permute Z-strings (absorb_z_string) are taken out
 * of the circuit: the first two kinds commute with it, and the third is
 * folded into it, O_{k-1} = U_k^dag O_k U_k, still a sum of Z-strings with
 * as many terms. Returns the first gate (counting from the end) the walk
 * must keep, and the folded sum in plan->absorbed when any gate was folded. */
static int absorb_trailing(grad_plan *plan, size_t *end)
{
    const qml_circuit *circuit = plan->circuit;
    const qml_pauli_sum *o = plan->observable;
    *end = circuit->n_gates;
    size_t n_terms = 0;
    for (size_t t = 0; t < o->n_terms; t++) {
        if (o->x[t * o->words] != 0)
            return QML_OK;
        n_terms += o->coeff[t] != 0.0;
    }
    uint64_t *z = qml__calloc(n_terms ? n_terms : 1, sizeof *z);
    double *sign = qml__calloc(n_terms ? n_terms : 1, sizeof *sign);
    if (!z || !sign) {
        qml__free(z);
        qml__free(sign);
        return qml__oom("gradient light cone");
    }
    uint64_t cone = 0;
    for (size_t t = 0, i = 0; t < o->n_terms; t++)
        if (o->coeff[t] != 0.0) {
            z[i] = o->z[t * o->words];
            sign[i++] = 1.0;
            cone |= o->z[t * o->words];
        }
    size_t folded = 0, g = circuit->n_gates;
    for (; g > 0; g--) {
        const qml__gate *gate = &circuit->gates[g - 1];
        if ((gate_support(gate) & cone) == 0 || gate_is_diagonal(gate))
            continue;
        /* the gate meets the cone, so there is a term 0; other kinds end the walk */
        if (!absorb_z_string(gate, &z[0], &sign[0]))
            break;
        cone = z[0];
        for (size_t i = 1; i < n_terms; i++) {
            absorb_z_string(gate, &z[i], &sign[i]);
            cone |= z[i];
        }
        folded++;
    }
    int status = QML_OK;
    if (folded) {
        uint64_t zero = 0;
        status = qml_pauli_sum_create(&plan->absorbed, o->n_qubits);
        for (size_t t = 0, i = 0; t < o->n_terms && status == QML_OK; t++) {
            if (o->coeff[t] == 0.0)
                continue;
            status = qml__pauli_sum_add_masks(plan->absorbed, sign[i] * o->coeff[t], &zero, &z[i]);
            i++;
        }
        if (status) {
            status = status == QML_ERR_OUT_OF_MEMORY ? qml__oom("gradient light cone") : status;
        } else {
            plan->observable = plan->absorbed;
            *end = g;
        }
    }
    qml__free(z);
    qml__free(sign);
    return status;
}

/* Gates outside the observable's backward light cone (docs/gradients.md,
 * "The observable's light cone"), after absorb_trailing has folded the
 * trailing permutation gates into a diagonal observable. Walking back from
 * the end, `cone` holds the support of O_k = U_{k+1}^dag ... U_K^dag O U_K
 * ... U_{k+1}, and `diagonal` whether O_k is still diagonal. A gate that
 * misses the cone, or a diagonal gate while O_k is diagonal, commutes with
 * O_k: U_k^dag O_k U_k = O_k. By induction O_k is then the same operator
 * with or without the gates so found, so the loss <psi_0| U^dag O U |psi_0>
 * equals the pruned circuit's for every angle and every psi_0: the kept
 * gates' derivatives are the pruned circuit's, and the others' are exactly
 * 0. The test is on kinds and qubits only, so it holds for every row of a
 * batch. On failure the caller releases the plan (plan->absorbed). */
static int plan_light_cone(grad_plan *plan)
{
    const qml_circuit *circuit = plan->circuit;
    /* Sampled shifts keep every gate: on a device each parameter's two
     * shifted circuits are measured, and their shot noise is part of what
     * the estimate models, even where the exact derivative is 0. */
    if (!qml__gradient_light_cone || circuit->n_gates == 0 || plan->options.shots)
        return QML_OK;
    size_t end;
    int status = absorb_trailing(plan, &end);
    if (status)
        return status;
    const qml_pauli_sum *o = plan->observable;
    uint64_t cone = 0;
    bool diagonal = true;
    for (size_t t = 0; t < o->n_terms; t++)
        if (o->coeff[t] != 0.0) {
            cone |= o->x[t * o->words] | o->z[t * o->words];
            diagonal = diagonal && o->x[t * o->words] == 0;
        }
    bool *keep = qml__calloc(circuit->n_gates, sizeof *keep);
    if (!keep)
        return qml__oom("gradient light cone");
    size_t kept = 0;
    for (size_t g = end; g-- > 0;) {
        const qml__gate *gate = &circuit->gates[g];
        uint64_t support = gate_support(gate);
        if ((support & cone) == 0 || (diagonal && gate_is_diagonal(gate)))
            continue;
        keep[g] = true;
        kept++;
        cone |= support;
        diagonal = diagonal && gate_is_monomial(gate);
    }
    if (kept == circuit->n_gates) {
        qml__free(keep);
        return QML_OK;
    }
    qml__gate *gates = qml__calloc(kept ? kept : 1, sizeof *gates);
    if (!gates) {
        qml__free(keep);
        return qml__oom("gradient light cone");
    }
    plan->cone = *circuit;
    plan->cone.gates = gates;
    plan->cone.n_gates = plan->cone.capacity = kept;
    plan->cone.n_parametrised = 0;
    for (size_t g = 0, k = 0; g < circuit->n_gates; g++)
        if (keep[g]) {
            gates[k++] = circuit->gates[g];
            plan->cone.n_parametrised += qml__gate_is_parametrised(circuit->gates[g].kind);
        }
    qml__free(keep);
    plan->circuit = &plan->cone;
    return QML_OK;
}

int qml__gradient_light_cone_plan(const qml_circuit *circuit, const qml_pauli_sum *observable, size_t *kept,
                                  qml_pauli_sum **folded)
{
    grad_plan plan = {0};
    plan.circuit = circuit;
    plan.observable = observable;
    *folded = NULL;
    int status = plan_light_cone(&plan);
    if (status == QML_OK) {
        *kept = plan.circuit->n_gates;
        if (plan.absorbed)
            status = qml_pauli_sum_copy(folded, plan.absorbed);
    }
    plan_release(&plan);
    return status;
}

static int plan_build(grad_plan *plan)
{
    /* The plan's factor masks are one word: circuits wider than any
     * statevector (which the algebra backends simulate) stop here. */
    if (plan->circuit->n_qubits > QML__STATEVEC_MAX_QUBITS)
        return qml__error(QML_ERR_LIMIT,
                          "a statevector of %u qubits is beyond the limit of %u; circuits this wide run on the "
                          "algebra backends (qml_backend)",
                          plan->circuit->n_qubits, QML__STATEVEC_MAX_QUBITS);
    int cone_status = plan_light_cone(plan);
    if (cone_status) {
        plan_release(plan);
        return cone_status;
    }
    const qml_circuit *circuit = plan->circuit;
    plan->first_factor = qml__calloc(circuit->n_gates + 1, sizeof *plan->first_factor);
    if (!plan->first_factor) {
        plan_release(plan);
        return qml__oom("gradient plan");
    }
    size_t total = 0;
    plan->first_differentiated = circuit->n_gates;
    for (size_t g = 0; g < circuit->n_gates; g++) {
        plan->first_factor[g] = total;
        const qml__gate *gate = &circuit->gates[g];
        if (gate_differentiated(plan, gate)) {
            size_t n = gate_factors(gate, NULL);
            if (n && plan->first_differentiated == circuit->n_gates)
                plan->first_differentiated = g;
            total += n;
        }
    }
    plan->first_factor[circuit->n_gates] = total;
    plan->n_factors = total;
    if (total == 0)
        return QML_OK;
    plan->factors = qml__calloc(total, sizeof *plan->factors);
    if (!plan->factors) {
        plan_release(plan);
        return qml__oom("gradient plan factors");
    }
    for (size_t g = 0; g < circuit->n_gates; g++)
        if (plan->first_factor[g + 1] > plan->first_factor[g])
            gate_factors(&circuit->gates[g], plan->factors + plan->first_factor[g]);

    if (plan->options.method == QML_GRADIENT_ADJOINT) {
        plan->run_start = qml__calloc(circuit->n_gates, sizeof *plan->run_start);
        if (!plan->run_start) {
            plan_release(plan);
            return qml__oom("gradient plan runs");
        }
        plan->backward_width = backward_width(circuit->n_qubits);
        if (plan->backward_width) {
            plan->blockable = qml__calloc(circuit->n_gates, sizeof *plan->blockable);
            if (!plan->blockable) {
                plan_release(plan);
                return qml__oom("gradient plan blocks");
            }
            for (size_t g = 0; g < circuit->n_gates; g++)
                plan->blockable[g] = gate_blockable(&circuit->gates[g], plan->backward_width);
        }
        for (size_t g = 0; g < circuit->n_gates; g++) {
            if (!gate_is_diagonal(&circuit->gates[g]) || (plan->blockable && plan->blockable[g]))
                plan->run_start[g] = SIZE_MAX;
            else
                plan->run_start[g] = g > 0 && plan->run_start[g - 1] != SIZE_MAX ? plan->run_start[g - 1] : g;
        }
        return QML_OK;
    }
    if (plan->options.method != QML_GRADIENT_PARAMETER_SHIFT)
        return QML_OK;
    /* Each shift is an extra Pauli rotation exp(-i s/2 P_j) placed right
     * after its gate: it commutes with the gate's other factors. */
    plan->shift_gates = qml__calloc(total, sizeof *plan->shift_gates);
    if (!plan->shift_gates) {
        plan_release(plan);
        return qml__oom("gradient shift gates");
    }
    uint64_t one = 1;
    for (size_t f = 0; f < total; f++) {
        qml__gate *s = &plan->shift_gates[f];
        s->kind = QML_GATE_PAULI_ROTATION;
        s->weight = s->feature = QML_NONE;
        s->weight_scale = s->feature_scale = 0.0;
        int status = qml_pauli_sum_create(&s->generator, circuit->n_qubits);
        if (status == QML_OK)
            status = qml__pauli_sum_add_masks(s->generator, 1.0, &plan->factors[f].x, &plan->factors[f].z);
        if (status) {
            plan_release(plan);
            return status == QML_ERR_OUT_OF_MEMORY ? qml__oom("gradient shift generator") : status;
        }
        uint64_t support = plan->factors[f].x | plan->factors[f].z;
        for (unsigned q = 0; q < circuit->n_qubits; q++)
            if (support & (one << q)) {
                if (s->n_targets < 3)
                    s->qubits[s->n_targets] = q;
                s->n_targets++;
            }
    }
    return QML_OK;
}

static void plan_release(grad_plan *plan)
{
    if (plan->shift_gates)
        for (size_t f = 0; f < plan->n_factors; f++)
            qml_pauli_sum_free(plan->shift_gates[f].generator);
    qml__free(plan->shift_gates);
    qml__free(plan->run_start);
    qml__free(plan->blockable);
    qml__free(plan->factors);
    qml__free(plan->first_factor);
    plan->shift_gates = NULL;
    plan->run_start = NULL;
    plan->blockable = NULL;
    plan->factors = NULL;
    plan->first_factor = NULL;
    if (plan->circuit == &plan->cone) {
        qml__free(plan->cone.gates);
        plan->cone.gates = NULL;
    }
    qml_pauli_sum_free(plan->absorbed);
    plan->absorbed = NULL;
}

/* ---- workspaces ------------------------------------------------------------ */

/* Refuse before allocating when the workspaces' statevectors (two each for
 * the adjoint sweep and the shift rules, one for finite differences) do not
 * fit what the process may hold (memlimit.c), or when the register is past
 * the statevector's limit. */
static int check_memory(const grad_plan *plan, unsigned n_workspaces, const char *caller)
{
    unsigned n = plan->circuit->n_qubits;
    if (n > GRAD_MAX_QUBITS)
        return qml__error(QML_ERR_LIMIT, "%s: %u qubits need 2^%u * 16 bytes per statevector; the limit is %u qubits",
                          caller, n, n, GRAD_MAX_QUBITS);
    if (n_workspaces == 0)
        return QML_OK;
    unsigned per = plan->options.method == QML_GRADIENT_FINITE_DIFFERENCE ? 1u : 2u;
    return qml__memory_check((uint64_t)per * n_workspaces, (uint64_t)16 << n, caller,
                             "statevectors of %u qubits, %u per worker x %u worker%s", n, per, n_workspaces,
                             n_workspaces == 1 ? "" : "s");
}

static int workspace_create(grad_workspace *ws, const grad_plan *plan, unsigned kernel_threads)
{
    memset(ws, 0, sizeof *ws);
    const qml_circuit *circuit = plan->circuit;
    int status = QML_OK;
    if (plan->options.scratch[0]) {
        /* the caller's states (check_scratch): no allocation, no page
         * faults; their contents are not |0...0>, so state_is_zero stays
         * false and the forward starts with state_initialise */
        ws->borrowed = true;
        ws->state = plan->options.scratch[0];
        ws->saved_threads[0] = ws->state->n_threads;
        if (plan->options.method != QML_GRADIENT_FINITE_DIFFERENCE) {
            ws->other = plan->options.scratch[1];
            ws->saved_threads[1] = ws->other->n_threads;
        }
    } else {
        status = qml_statevec_create(&ws->state, circuit->n_qubits);
        if (status == QML_OK && plan->options.method != QML_GRADIENT_FINITE_DIFFERENCE)
            status = qml_statevec_create(&ws->other, circuit->n_qubits);
    }
    if (status == QML_OK)
        status = qml_statevec_set_threads(ws->state, kernel_threads);
    if (status == QML_OK && ws->other)
        status = qml_statevec_set_threads(ws->other, kernel_threads);
    if (status)
        goto fail;
    if (plan->options.method == QML_GRADIENT_FINITE_DIFFERENCE) {
        if (circuit->n_weights) {
            ws->weights = qml__calloc(circuit->n_weights, sizeof *ws->weights);
            if (!ws->weights)
                goto oom;
        }
        if (circuit->n_features) {
            ws->features = qml__calloc(circuit->n_features, sizeof *ws->features);
            if (!ws->features)
                goto oom;
        }
    }
    ws->state_is_zero = !ws->borrowed;
    if (plan->options.method == QML_GRADIENT_ADJOINT && ws->state->n_threads > 1) {
        uint64_t dim = ws->state->dim;
        ws->n_partials = (size_t)(dim / GRAD_CHUNK + (dim % GRAD_CHUNK != 0));
        ws->partials = qml__calloc(qml__mul_size(GRAD_RUN_FACTORS, ws->n_partials), sizeof *ws->partials);
        if (!ws->partials)
            goto oom;
    }
    return QML_OK;
oom:
    status = qml__oom("gradient workspace");
fail:
    workspace_release(ws);
    return status;
}

static void workspace_release(grad_workspace *ws)
{
    if (ws->borrowed) {
        if (ws->state)
            ws->state->n_threads = ws->saved_threads[0];
        if (ws->other)
            ws->other->n_threads = ws->saved_threads[1];
    } else {
        qml_statevec_free(ws->state);
        qml_statevec_free(ws->other);
    }
    qml__free(ws->weights);
    qml__free(ws->features);
    qml__free(ws->partials);
    memset(ws, 0, sizeof *ws);
}

/* ---- sweeps ------------------------------------------------------------- */

static void state_initialise(qml_statevec *state, const qml_statevec *initial)
{
    size_t bytes = (size_t)state->dim * 2 * sizeof(double);
    if (initial) {
        memcpy(state->amplitudes, initial->amplitudes, bytes);
    } else {
        memset(state->amplitudes, 0, bytes);
        state->amplitudes[0] = 1.0;
    }
}

static void state_copy(qml_statevec *dst, const qml_statevec *src)
{
    memcpy(dst->amplitudes, src->amplitudes, (size_t)src->dim * 2 * sizeof(double));
}

/* Apply gates [begin, end) of the circuit. */
static void apply_gates(qml_statevec *state, const qml_circuit *circuit, size_t begin, size_t end,
                        const double *weights, const double *features)
{
    unsigned width = qml__fusion_width(state->n_qubits);
    if (width && end - begin >= 2) {
        /* large states: fused blocks (fusion.c; angles checked by the caller) */
        qml__statevec_run_fused(state, circuit, begin, end, weights, features, width, false, -1);
        return;
    }
    for (size_t g = begin; g < end; g++) {
        const qml__gate *gate = &circuit->gates[g];
        double theta = qml__gate_is_parametrised(gate->kind) ? qml__gate_angle(gate, weights, features) : 0.0;
        qml__statevec_apply(state, gate, theta, false);
    }
}

/* <psi| O |psi> through the public call: it groups the terms in scratch
 * memory and reports a failed allocation instead of falling back. */
static int loss_of(const grad_plan *plan, const qml_statevec *state, double *loss)
{
    return qml_statevec_expectation(state, plan->observable, loss);
}

static int forward_loss(const grad_plan *plan, qml_statevec *state, const double *weights, const double *features,
                        double *loss)
{
    state_initialise(state, plan->initial);
    apply_gates(state, plan->circuit, 0, plan->circuit->n_gates, weights, features);
    return loss_of(plan, state, loss);
}

/* Chain rule: a gate's angle moves with weight_scale per unit of its weight
 * and feature_scale per unit of its feature. */
static void accumulate(const qml__gate *gate, double d_theta, double *weight_gradient, double *feature_gradient)
{
    if (weight_gradient && gate->weight >= 0)
        weight_gradient[gate->weight] += gate->weight_scale * d_theta;
    if (feature_gradient && gate->feature >= 0)
        feature_gradient[gate->feature] += gate->feature_scale * d_theta;
}

static unsigned parity64(uint64_t v)
{
#if defined(__GNUC__)
    return (unsigned)__builtin_parityll(v);
#else
    v ^= v >> 32;
    v ^= v >> 16;
    v ^= v >> 8;
    v ^= v >> 4;
    v ^= v >> 2;
    v ^= v >> 1;
    return (unsigned)(v & 1u);
#endif
}

static unsigned popcount64(uint64_t v)
{
#if defined(__GNUC__)
    return (unsigned)__builtin_popcountll(v);
#else
    unsigned n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
#endif
}

/* Amplitudes per block of the overlap kernel: the sign and partner pattern
 * of the low bits is tabulated once, the high bits give one sign per block. */
#define GRAD_BLOCK 64u

/* S = sum_{i in [begin, end)} (-1)^{|(i ^ x) & z|} conj(lambda_i) psi_{i ^ x},
 * so that <lambda| P(x, z) |psi> = i^{|x & z|} S (P(x, z)|j> =
 * i^{|x&z|} (-1)^{|j & z|} |j ^ x>, qml.h's convention Y = iXZ). Returns
 * Re S if `real`, else Im S. `begin` and `end` are multiples of the block
 * (or the whole vector when it is shorter than a block). With i = base + l,
 * j = (base ^ x_high) + (l ^ x_low) and the sign factorises into a block
 * sign and a tabulated low sign. Four accumulators per block break the
 * add-latency chain; their order is fixed, so the bits are too. */
static double pauli_overlap_range(const double *restrict lambda, const double *restrict psi, uint64_t x, uint64_t z,
                                  uint64_t begin, uint64_t end, bool real)
{
    const uint64_t block = end - begin < GRAD_BLOCK ? end - begin : GRAD_BLOCK;
    const uint64_t low = block - 1, x_low = x & low, x_high = x & ~low, z_low = z & low, z_high = z & ~low;
    double low_sign[GRAD_BLOCK];
    unsigned partner[GRAD_BLOCK];
    for (uint64_t l = 0; l < block; l++) {
        partner[l] = (unsigned)(l ^ x_low);
        low_sign[l] = parity64((l ^ x_low) & z_low) ? -1.0 : 1.0;
    }
    double total = 0.0;
    for (uint64_t base = begin; base < end; base += block) {
        const double *restrict lam = lambda + 2 * base;
        const double *restrict ps = psi + 2 * (base ^ x_high);
        double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
        uint64_t l = 0;
        if (real) {
            for (; l + 4 <= block; l += 4) {
                a0 += low_sign[l] * (lam[2 * l] * ps[2 * partner[l]] + lam[2 * l + 1] * ps[2 * partner[l] + 1]);
                a1 += low_sign[l + 1] * (lam[2 * l + 2] * ps[2 * partner[l + 1]] +
                                         lam[2 * l + 3] * ps[2 * partner[l + 1] + 1]);
                a2 += low_sign[l + 2] * (lam[2 * l + 4] * ps[2 * partner[l + 2]] +
                                         lam[2 * l + 5] * ps[2 * partner[l + 2] + 1]);
                a3 += low_sign[l + 3] * (lam[2 * l + 6] * ps[2 * partner[l + 3]] +
                                         lam[2 * l + 7] * ps[2 * partner[l + 3] + 1]);
            }
            for (; l < block; l++)
                a0 += low_sign[l] * (lam[2 * l] * ps[2 * partner[l]] + lam[2 * l + 1] * ps[2 * partner[l] + 1]);
        } else {
            for (; l + 4 <= block; l += 4) {
                a0 += low_sign[l] * (lam[2 * l] * ps[2 * partner[l] + 1] - lam[2 * l + 1] * ps[2 * partner[l]]);
                a1 += low_sign[l + 1] * (lam[2 * l + 2] * ps[2 * partner[l + 1] + 1] -
                                         lam[2 * l + 3] * ps[2 * partner[l + 1]]);
                a2 += low_sign[l + 2] * (lam[2 * l + 4] * ps[2 * partner[l + 2] + 1] -
                                         lam[2 * l + 5] * ps[2 * partner[l + 2]]);
                a3 += low_sign[l + 3] * (lam[2 * l + 6] * ps[2 * partner[l + 3] + 1] -
                                         lam[2 * l + 7] * ps[2 * partner[l + 3]]);
            }
            for (; l < block; l++)
                a0 += low_sign[l] * (lam[2 * l] * ps[2 * partner[l] + 1] - lam[2 * l + 1] * ps[2 * partner[l]]);
        }
        double sum = (a0 + a1) + (a2 + a3);
        total += parity64((base ^ x_high) & z_high) ? -sum : sum;
    }
    return total;
}

typedef struct overlap_context {
    const double *lambda;
    const double *psi;
    const grad_factor *factors;
    size_t n_factors;
    uint64_t dim;
    double *partials;                /* per chunk */
} overlap_context;

/* Im <lambda| G |psi> for G = sum_j c_j P_j over one chunk. */
static double generator_overlap_chunk(const overlap_context *ctx, uint64_t chunk)
{
    uint64_t begin = chunk * GRAD_CHUNK;
    uint64_t end = begin + GRAD_CHUNK < ctx->dim ? begin + GRAD_CHUNK : ctx->dim;
    double total = 0.0;
    for (size_t f = 0; f < ctx->n_factors; f++) {
        const grad_factor *factor = &ctx->factors[f];
        /* Im(i^k S) for k = |x & z| mod 4: Im S, Re S, -Im S, -Re S. */
        unsigned k = popcount64(factor->x & factor->z) & 3u;
        double part = pauli_overlap_range(ctx->lambda, ctx->psi, factor->x, factor->z, begin, end, k & 1u);
        total += factor->coeff * (k >= 2 ? -part : part);
    }
    return total;
}

static void overlap_worker(void *context, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    overlap_context *ctx = context;
    for (size_t c = begin; c < end; c++)
        ctx->partials[c] = generator_overlap_chunk(ctx, c);
}

/* Im <lambda| G |psi>: chunk sums added in chunk order, so the same bits for
 * any thread count. */
static double generator_overlap(grad_workspace *ws, const qml_statevec *lambda, const qml_statevec *psi,
                                const grad_factor *factors, size_t n_factors)
{
    overlap_context ctx = {lambda->amplitudes, psi->amplitudes, factors, n_factors, psi->dim, ws->partials};
    uint64_t n_chunks = psi->dim / GRAD_CHUNK + (psi->dim % GRAD_CHUNK != 0);
    double total = 0.0;
    if (ws->partials && n_chunks > 1) {
        qml__parallel_for(psi->n_threads, (size_t)n_chunks, 1, overlap_worker, &ctx);
        for (uint64_t c = 0; c < n_chunks; c++)
            total += ws->partials[c];
    } else {
        for (uint64_t c = 0; c < n_chunks; c++)
            total += generator_overlap_chunk(&ctx, c);
    }
    return total;
}

/* One pass for all Z-type factors of a run of diagonal gates. Inside the
 * run, lambda and psi change only by diagonal unitaries applied to both, so
 * w_i = conj(lambda_i) psi_i, and with it every Im <lambda| Z(z) |psi> =
 * sum_i (-1)^{|i & z|} Im w_i, is the same at every gate of the run: one
 * pass evaluates them all. With i = base + l (blocks of 64), the sign
 * factorises into a block sign (high bits of z) and a low sign: factors
 * with only high bits need the block sums, factors with only low bits the
 * per-l sums over the chunk, and mixed factors a per-block signed sum. */
typedef struct run_context {
    const double *lambda;
    const double *psi;
    uint64_t dim;
    const grad_factor *factors;      /* x = 0 for all */
    size_t n_factors;                /* <= GRAD_RUN_FACTORS */
    double sign[GRAD_RUN_FACTORS][GRAD_BLOCK]; /* low sign of each factor */
    double *partials;                /* chunks x n_factors */
} run_context;

static void run_chunk(const run_context *ctx, uint64_t chunk, double *restrict out)
{
    const uint64_t begin = chunk * GRAD_CHUNK;
    const uint64_t end = begin + GRAD_CHUNK < ctx->dim ? begin + GRAD_CHUNK : ctx->dim;
    const uint64_t block = end - begin < GRAD_BLOCK ? end - begin : GRAD_BLOCK;
    const uint64_t low = block - 1;
    double per_l[GRAD_BLOCK] = {0}, t[GRAD_BLOCK];
    for (size_t f = 0; f < ctx->n_factors; f++)
        out[f] = 0.0;
    for (uint64_t base = begin; base < end; base += block) {
        const double *restrict lam = ctx->lambda + 2 * base;
        const double *restrict ps = ctx->psi + 2 * base;
        double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
        uint64_t l = 0;
        for (; l + 4 <= block; l += 4) {
            t[l] = lam[2 * l] * ps[2 * l + 1] - lam[2 * l + 1] * ps[2 * l];
            t[l + 1] = lam[2 * l + 2] * ps[2 * l + 3] - lam[2 * l + 3] * ps[2 * l + 2];
            t[l + 2] = lam[2 * l + 4] * ps[2 * l + 5] - lam[2 * l + 5] * ps[2 * l + 4];
            t[l + 3] = lam[2 * l + 6] * ps[2 * l + 7] - lam[2 * l + 7] * ps[2 * l + 6];
            s0 += t[l];
            s1 += t[l + 1];
            s2 += t[l + 2];
            s3 += t[l + 3];
        }
        for (; l < block; l++) {
            t[l] = lam[2 * l] * ps[2 * l + 1] - lam[2 * l + 1] * ps[2 * l];
            s0 += t[l];
        }
        for (l = 0; l < block; l++)
            per_l[l] += t[l];
        const double block_sum = (s0 + s1) + (s2 + s3);
        for (size_t f = 0; f < ctx->n_factors; f++) {
            const uint64_t z = ctx->factors[f].z, z_high = z & ~low;
            if (z_high == 0)
                continue; /* low bits only: from per_l below */
            double c = block_sum;
            if (z & low) {
                c = 0.0;
                for (l = 0; l < block; l++)
                    c += ctx->sign[f][l] * t[l];
            }
            out[f] += parity64(base & z_high) ? -c : c;
        }
    }
    for (size_t f = 0; f < ctx->n_factors; f++) {
        if (ctx->factors[f].z & ~low)
            continue;
        double c = 0.0;
        for (uint64_t l = 0; l < block; l++)
            c += ctx->sign[f][l] * per_l[l];
        out[f] = c;
    }
}

static void run_worker(void *context, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    run_context *ctx = context;
    for (size_t c = begin; c < end; c++)
        run_chunk(ctx, c, ctx->partials + c * ctx->n_factors);
}

/* values[f] = Im <lambda| Z(z_f) |psi> for `count` <= GRAD_RUN_FACTORS
 * Z-type factors starting at plan factor f0; chunk sums added in chunk
 * order for any thread count. */
static void run_pass(const grad_plan *plan, grad_workspace *ws, size_t f0, size_t count, double *values)
{
    const qml_statevec *psi = ws->state, *lambda = ws->other;
    const uint64_t n_chunks = psi->dim / GRAD_CHUNK + (psi->dim % GRAD_CHUNK != 0);
    const uint64_t block = psi->dim < GRAD_BLOCK ? psi->dim : GRAD_BLOCK;
    run_context ctx;
    ctx.lambda = lambda->amplitudes;
    ctx.psi = psi->amplitudes;
    ctx.dim = psi->dim;
    ctx.partials = ws->partials;
    ctx.factors = plan->factors + f0;
    ctx.n_factors = count;
    for (size_t f = 0; f < count; f++)
        for (uint64_t l = 0; l < block; l++)
            ctx.sign[f][l] = parity64(l & ctx.factors[f].z) ? -1.0 : 1.0;
    for (size_t f = 0; f < count; f++)
        values[f] = 0.0;
    if (ws->partials && n_chunks > 1) {
        qml__parallel_for(psi->n_threads, (size_t)n_chunks, 1, run_worker, &ctx);
        for (uint64_t c = 0; c < n_chunks; c++)
            for (size_t f = 0; f < count; f++)
                values[f] += ws->partials[c * count + f];
    } else {
        double chunk_values[GRAD_RUN_FACTORS];
        for (uint64_t c = 0; c < n_chunks; c++) {
            run_chunk(&ctx, c, chunk_values);
            for (size_t f = 0; f < count; f++)
                values[f] += chunk_values[f];
        }
    }
}

/* Gradient contributions of the differentiated gates r0..g of a diagonal
 * run, whole gates at a time in passes of at most GRAD_RUN_FACTORS factors
 * (a gate with more factors takes several passes of its own). */
static void diagonal_run(const grad_plan *plan, grad_workspace *ws, size_t r0, size_t g, double *weight_gradient,
                         double *feature_gradient)
{
    const size_t *first = plan->first_factor;
    double values[GRAD_RUN_FACTORS];
    size_t k = r0;
    while (k <= g) {
        size_t k2 = k;
        while (k2 <= g && first[k2 + 1] - first[k] <= GRAD_RUN_FACTORS)
            k2++;
        if (k2 == k) {
            double d_theta = 0.0;
            for (size_t f0 = first[k]; f0 < first[k + 1]; f0 += GRAD_RUN_FACTORS) {
                size_t count = first[k + 1] - f0 < GRAD_RUN_FACTORS ? first[k + 1] - f0 : GRAD_RUN_FACTORS;
                run_pass(plan, ws, f0, count, values);
                for (size_t f = 0; f < count; f++)
                    d_theta += plan->factors[f0 + f].coeff * values[f];
            }
            accumulate(&plan->circuit->gates[k], d_theta, weight_gradient, feature_gradient);
            k++;
            continue;
        }
        const size_t pass_start = first[k];
        if (first[k2] > pass_start)
            run_pass(plan, ws, pass_start, first[k2] - pass_start, values);
        for (; k < k2; k++) {
            if (first[k + 1] == first[k])
                continue;
            double d_theta = 0.0;
            for (size_t f = first[k]; f < first[k + 1]; f++)
                d_theta += plan->factors[f].coeff * values[f - pass_start];
            accumulate(&plan->circuit->gates[k], d_theta, weight_gradient, feature_gradient);
        }
    }
}

/* U^dagger of a one-qubit RX or RY gate as qml__statevec_apply builds it;
 * false for other gates. */
static bool one_qubit_inverse(const qml__gate *gate, const double *weights, const double *features, double m[8],
                              bool *is_y)
{
    if (gate->kind != QML_GATE_RX && gate->kind != QML_GATE_RY)
        return false;
    const double theta = -qml__gate_angle(gate, weights, features);
    const double c = cos(0.5 * theta), s = sin(0.5 * theta);
    const double rx[8] = {c, 0, 0, -s, 0, -s, c, 0}, ry[8] = {c, 0, -s, 0, s, 0, c, 0};
    *is_y = gate->kind == QML_GATE_RY;
    memcpy(m, *is_y ? ry : rx, sizeof rx);
    return true;
}

/* The backward steps of two consecutive differentiated one-qubit RX/RY
 * gates on distinct qubits (`later` is met first on the way back) in one
 * pass over both states: the usual layer of rotations is differentiated
 * in half the passes. d[0], d[1]: their Im <lambda|G|psi>. */
static bool fused_pair_of_steps(const qml__gate *later, const qml__gate *earlier, qml_statevec *psi,
                                qml_statevec *lambda, const double *weights, const double *features, double d[2])
{
    double ma[8], mb[8];
    bool ya, yb;
    if (!one_qubit_inverse(later, weights, features, ma, &ya) ||
        !one_qubit_inverse(earlier, weights, features, mb, &yb) || later->qubits[0] == earlier->qubits[0])
        return false;
    return qml__adjoint_quad_step(psi, lambda, later->qubits[0], ya, ma, earlier->qubits[0], yb, mb, d);
}

/* The backward step of a gate that is a 2x2 matrix on amplitude pairs
 * (RX, RY, CRX, CRY): *d_theta = Im <lambda| G |psi> and U^dagger applied to
 * psi and lambda, in one pass over both states (statevec_pairs.c). The
 * generators restricted to a pair: X, Y for RX, RY; |1><1|_c X_t and
 * |1><1|_c Y_t (the factors 0.5 P_t - 0.5 Z_c P_t) are X_t, Y_t on the
 * control = 1 pairs. U^dagger is built as qml__statevec_apply builds it
 * (angle negated); for RY, CRY the states get the same bits as unfused.
 * Returns false for other gates. */
static bool fused_step(const qml__gate *gate, qml_statevec *psi, qml_statevec *lambda, const double *weights,
                       const double *features, double *d_theta)
{
    static const double x[8] = {0, 0, 1, 0, 1, 0, 0, 0}, y[8] = {0, 0, 0, -1, 0, 1, 0, 0};
    const unsigned *q = gate->qubits;
    const bool controlled = gate->kind == QML_GATE_CRX || gate->kind == QML_GATE_CRY;
    const bool is_y = gate->kind == QML_GATE_RY || gate->kind == QML_GATE_CRY;
    if (!controlled && gate->kind != QML_GATE_RX && gate->kind != QML_GATE_RY)
        return false;
    const double theta = -qml__gate_angle(gate, weights, features);
    const double c = cos(0.5 * theta), s = sin(0.5 * theta);
    const double rx[8] = {c, 0, 0, -s, 0, -s, c, 0}, ry[8] = {c, 0, -s, 0, s, 0, c, 0};
    const uint64_t target = bit(q[controlled ? 1 : 0]), control = controlled ? bit(q[0]) : 0;
    *d_theta = qml__adjoint_pair_step(psi, lambda, q, controlled ? 2 : 1, control, control | target, is_y ? y : x,
                                      is_y ? QML__PAIR_REAL : QML__PAIR_GENERAL, is_y ? ry : rx);
    return true;
}

/* The backward sweep over gates [begin, end), all blockable, in fused
 * blocks (fusion_adjoint.c): each block's overlaps and un-applying in one
 * pass over both states. */
typedef struct backward_context {
    const grad_plan *plan;
    grad_workspace *ws;
    const double *features;
    double *weight_gradient;
    double *feature_gradient;
    /* pending tiled blocks */
    unsigned n_pending;
    qml__adjoint_gate pend_gates[QML__TILE_BLOCKS][QML__FUSE_MAX_GATES];
    unsigned pend_n[QML__TILE_BLOCKS];
    uint64_t pend_mask[QML__TILE_BLOCKS];
    bool tiling;
} backward_context;

/* A block's gates with their generators' factors (qml__adjoint_block's input). */
static void block_describe(const grad_plan *plan, const size_t *gates, unsigned n_gates, qml__adjoint_gate *out)
{
    for (unsigned i = 0; i < n_gates; i++) {
        size_t f0 = plan->first_factor[gates[i]], f1 = plan->first_factor[gates[i] + 1];
        out[i] = (qml__adjoint_gate){gates[i], plan->factors + f0, f1 - f0};
    }
}

static void backward_flush(backward_context *ctx)
{
    if (ctx->n_pending == 0)
        return;
    const grad_plan *plan = ctx->plan;
    const qml_circuit *circuit = plan->circuit;
    double d[QML__TILE_BLOCKS][QML__FUSE_MAX_GATES];
    const qml__adjoint_gate *g[QML__TILE_BLOCKS];
    double *dp[QML__TILE_BLOCKS];
    for (unsigned b = 0; b < ctx->n_pending; b++)
        g[b] = ctx->pend_gates[b], dp[b] = d[b];
    qml__adjoint_tiled(ctx->ws->state, ctx->ws->other, circuit, g, ctx->pend_n, ctx->pend_mask, ctx->n_pending,
                       plan->weights, ctx->features, dp);
    for (unsigned b = 0; b < ctx->n_pending; b++)
        for (unsigned i = 0; i < ctx->pend_n[b]; i++)
            if (ctx->pend_gates[b][i].n_factors)
                accumulate(&circuit->gates[ctx->pend_gates[b][i].gate], d[b][i], ctx->weight_gradient,
                           ctx->feature_gradient);
    ctx->n_pending = 0;
}

static void backward_block(void *user, const size_t *gates, unsigned n_gates, uint64_t mask)
{
    backward_context *ctx = user;
    const grad_plan *plan = ctx->plan;
    const qml_circuit *circuit = plan->circuit;
    qml_statevec *psi = ctx->ws->state, *lambda = ctx->ws->other;
    const unsigned span = qml__tile_span();
    const bool tileable = ctx->tiling && mask != 0 && mask < ((uint64_t)1 << span) && psi->n_threads == 1 &&
                          psi->dim > ((uint64_t)1 << span);
    if (!tileable)
        backward_flush(ctx);
    else {
        unsigned b = ctx->n_pending++;
        block_describe(plan, gates, n_gates, ctx->pend_gates[b]);
        ctx->pend_n[b] = n_gates;
        ctx->pend_mask[b] = mask;
        if (ctx->n_pending == QML__TILE_BLOCKS)
            backward_flush(ctx);
        return;
    }
    if (mask == 0) {
        /* never met: blockable gates are always fused; un-apply it plainly */
        for (unsigned i = 0; i < n_gates; i++) {
            const qml__gate *gate = &circuit->gates[gates[i]];
            size_t f0 = plan->first_factor[gates[i]], f1 = plan->first_factor[gates[i] + 1];
            if (f1 > f0)
                accumulate(gate, generator_overlap(ctx->ws, lambda, psi, plan->factors + f0, f1 - f0),
                           ctx->weight_gradient, ctx->feature_gradient);
            double theta = qml__gate_is_parametrised(gate->kind) ? qml__gate_angle(gate, plan->weights, ctx->features)
                                                                 : 0.0;
            qml__statevec_apply(psi, gate, theta, true);
            qml__statevec_apply(lambda, gate, theta, true);
        }
        return;
    }
    qml__adjoint_gate block[QML__FUSE_MAX_GATES] = {{0}};
    double d[QML__FUSE_MAX_GATES];
    block_describe(plan, gates, n_gates, block);
    qml__adjoint_block(psi, lambda, circuit, block, n_gates, mask, plan->weights, ctx->features, ctx->ws->partials,
                       ctx->ws->n_partials * GRAD_RUN_FACTORS, -1, d);
    for (unsigned i = 0; i < n_gates; i++)
        if (block[i].n_factors)
            accumulate(&circuit->gates[gates[i]], d[i], ctx->weight_gradient, ctx->feature_gradient);
}

/* Adjoint differentiation (Jones & Gacon, arXiv:2009.02823, Algorithm 1).
 * With |psi_k> = U_k ... U_1 |psi_0>, U_k = exp(-i theta_k/2 G_k) and
 * |lambda_k> = U_{k+1}^dag ... U_K^dag O |psi_K>:
 *   dl/dtheta_k = 2 Re <psi_K| O U_K ... U_{k+1} (dU_k/dtheta_k) |psi_{k-1}>
 *              = 2 Re <lambda_k| (-i/2) G_k |psi_k>   (dU/dtheta = -i/2 G U)
 *              = Im <lambda_k| G_k |psi_k>.
 * The sweep walks k = K..1 keeping psi_k and lambda_k, un-applying U_k from
 * both after gate k is done. */
static int adjoint(const grad_plan *plan, grad_workspace *ws, const double *features, double *loss,
                   double *weight_gradient, double *feature_gradient)
{
    const qml_circuit *circuit = plan->circuit;
    qml_statevec *psi = ws->state, *lambda = ws->other;
    int status;
    if (!plan->initial && ws->state_is_zero) {
        /* a fresh workspace: psi is |0...0> already (one pass fewer) */
        ws->state_is_zero = false;
        apply_gates(psi, circuit, 0, circuit->n_gates, plan->weights, features);
        status = loss_of(plan, psi, loss);
    } else {
        status = forward_loss(plan, psi, plan->weights, features, loss);
    }
    if (status || plan->n_factors == 0)
        return status;
    qml__statevec_apply_pauli_sum(lambda, psi, plan->observable);
    size_t handled_run = SIZE_MAX;
    double d_fused = 0.0, d_pair[2];
    const unsigned fuse_backwards = qml__fusion_width(psi->n_qubits);
    backward_context blocks = {plan, ws, features, weight_gradient, feature_gradient, .n_pending = 0,
                               .tiling = qml__fusion_tiling};
    for (size_t g = circuit->n_gates; g-- > plan->first_differentiated;) {
        const qml__gate *gate = &circuit->gates[g];
        size_t f0 = plan->first_factor[g], f1 = plan->first_factor[g + 1];
        if (plan->blockable && plan->blockable[g]) {
            /* the maximal range low .. g of blockable gates, in fused
             * blocks (each gate's overlap then its un-applying) */
            size_t low = g;
            while (low > plan->first_differentiated && plan->blockable[low - 1])
                low--;
            qml__fusion_plan(circuit, low, g + 1, plan->backward_width, true, backward_block, &blocks);
            backward_flush(&blocks);
            if (low == plan->first_differentiated)
                break;
            g = low;
            continue;
        }
        size_t run = plan->run_start[g];
        if (f1 > f0 && g > plan->first_differentiated && plan->first_factor[g] > plan->first_factor[g - 1] &&
            fused_pair_of_steps(&circuit->gates[g], &circuit->gates[g - 1], psi, lambda, plan->weights, features,
                                d_pair)) {
            /* gates g and g - 1 (one-qubit RX/RY on distinct qubits) in one pass */
            accumulate(gate, d_pair[0], weight_gradient, feature_gradient);
            accumulate(&circuit->gates[g - 1], d_pair[1], weight_gradient, feature_gradient);
            g--;
            continue;
        }
        if (f1 > f0 && run == SIZE_MAX && g != plan->first_differentiated &&
            fused_step(gate, psi, lambda, plan->weights, features, &d_fused)) {
            /* overlap and un-applying in one pass over both states */
            accumulate(gate, d_fused, weight_gradient, feature_gradient);
            continue;
        }
        if (f1 > f0 && run == SIZE_MAX) {
            double d_theta = generator_overlap(ws, lambda, psi, plan->factors + f0, f1 - f0);
            accumulate(gate, d_theta, weight_gradient, feature_gradient);
        } else if (f1 > f0 && run != handled_run) {
            /* The first differentiated gate of this diagonal run met on the
             * way back: all of the run's gates below it at once. */
            diagonal_run(plan, ws, run, g, weight_gradient, feature_gradient);
            handled_run = run;
        }
        if (g == plan->first_differentiated)
            break;
        size_t low = g;
        while (fuse_backwards && low > plan->first_differentiated + 1 &&
               plan->first_factor[low] == plan->first_factor[low - 1])
            low--;
        if (low < g && f1 == f0) {
            /* gates low .. g differentiate nothing: un-apply them as fused
             * blocks (fusion.c) on both states */
            qml__statevec_run_fused(psi, circuit, low, g + 1, plan->weights, features, fuse_backwards, true, -1);
            qml__statevec_run_fused(lambda, circuit, low, g + 1, plan->weights, features, fuse_backwards, true, -1);
            g = low;
            continue;
        }
        double theta = qml__gate_is_parametrised(gate->kind) ? qml__gate_angle(gate, plan->weights, features) : 0.0;
        qml__statevec_apply(psi, gate, theta, true);
        qml__statevec_apply(lambda, gate, theta, true);
    }
    return QML_OK;
}

/* SplitMix64's finaliser: decorrelates the shot seeds of neighbouring
 * (row, factor, sign) triples. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Parameter shift. Gate k's generator is sum_j c_j P_j over commuting Pauli
 * strings, so exp(-i theta/2 G) = prod_j exp(-i phi_j/2 P_j) with
 * phi_j = c_j theta, and dl/dtheta = sum_j c_j dl/dphi_j. Each P_j has
 * eigenvalues +-1, for which the two-term rule is exact (Mitarai et al.,
 * PRA 98, 032309 (2018); Schuld et al., PRA 99, 032331 (2019)):
 * dl/dphi_j = [l(phi_j + pi/2) - l(phi_j - pi/2)] / 2.
 * Shifting phi_j alone is inserting exp(-i (+-pi/2)/2 P_j) after gate k.
 * The state before the shift is kept as a prefix, so each shifted loss costs
 * only the gates after k. */
static int parameter_shift(const grad_plan *plan, grad_workspace *ws, const double *features, uint64_t row_seed,
                           double *loss_out, double *weight_gradient, double *feature_gradient)
{
    const qml_circuit *circuit = plan->circuit;
    qml_statevec *prefix = ws->state, *work = ws->other;
    const uint64_t shots = plan->options.shots;
    state_initialise(prefix, plan->initial);
    for (size_t g = 0; g < circuit->n_gates; g++) {
        const qml__gate *gate = &circuit->gates[g];
        apply_gates(prefix, circuit, g, g + 1, plan->weights, features);
        size_t f0 = plan->first_factor[g], f1 = plan->first_factor[g + 1];
        double d_theta = 0.0;
        for (size_t f = f0; f < f1; f++) {
            double shifted[2];
            for (int s = 0; s < 2; s++) {
                state_copy(work, prefix);
                qml__statevec_apply(work, &plan->shift_gates[f], s == 0 ? grad_half_pi : -grad_half_pi, false);
                apply_gates(work, circuit, g + 1, circuit->n_gates, plan->weights, features);
                if (shots == 0) {
                    int status = loss_of(plan, work, &shifted[s]);
                    if (status)
                        return status;
                } else {
                    uint64_t seed = mix64(row_seed ^ mix64(2 * (uint64_t)f + (uint64_t)s + 0x9E3779B97F4A7C15ull));
                    int status = qml_statevec_estimate(work, plan->observable, (size_t)shots, seed, &shifted[s], NULL);
                    if (status)
                        return status;
                }
            }
            d_theta += plan->factors[f].coeff * (shifted[0] - shifted[1]) * 0.5;
        }
        if (f1 > f0)
            accumulate(gate, d_theta, weight_gradient, feature_gradient);
    }
    return loss_of(plan, prefix, loss_out);
}

/* [l(p + h) - l(p - h)] / (2h) for one entry *p of (w, x), which is restored. */
static int central_difference(const grad_plan *plan, qml_statevec *state, const double *w, const double *x,
                              double *p, double h, double *derivative)
{
    double original = *p, up, down;
    *p = original + h;
    int status = forward_loss(plan, state, w, x, &up);
    *p = original - h;
    if (status == QML_OK)
        status = forward_loss(plan, state, w, x, &down);
    *p = original;
    if (status == QML_OK)
        *derivative = (up - down) / (2.0 * h);
    return status;
}

/* Central differences: dl/dw_k = [l(w + h e_k) - l(w - h e_k)] / (2h), error
 * O(h^2 l''') + O(eps |l| / h). */
static int finite_difference(const grad_plan *plan, grad_workspace *ws, const double *features, double *loss,
                             double *weight_gradient, double *feature_gradient)
{
    const qml_circuit *circuit = plan->circuit;
    const double h = plan->options.step;
    double *w = ws->weights, *x = ws->features;
    if (circuit->n_weights)
        memcpy(w, plan->weights, circuit->n_weights * sizeof *w);
    if (circuit->n_features)
        memcpy(x, features, circuit->n_features * sizeof *x);
    int status = forward_loss(plan, ws->state, w, x, loss);
    if (status)
        return status;
    for (size_t k = 0; weight_gradient && k < circuit->n_weights && status == QML_OK; k++)
        status = central_difference(plan, ws->state, w, x, &w[k], h, &weight_gradient[k]);
    for (size_t k = 0; feature_gradient && k < circuit->n_features && status == QML_OK; k++)
        status = central_difference(plan, ws->state, w, x, &x[k], h, &feature_gradient[k]);
    return status;
}

/* One input row: the loss and the gradients (circuit->n_weights and
 * circuit->n_features entries; either pointer may be NULL). */
static int gradient_row(const grad_plan *plan, grad_workspace *ws, const double *features, uint64_t row_seed,
                        double *value, double *weight_gradient, double *feature_gradient)
{
    const qml_circuit *circuit = plan->circuit;
    if (weight_gradient)
        memset(weight_gradient, 0, circuit->n_weights * sizeof *weight_gradient);
    if (feature_gradient)
        memset(feature_gradient, 0, circuit->n_features * sizeof *feature_gradient);
    if (!weight_gradient && !feature_gradient) {
        return forward_loss(plan, ws->state, plan->weights, features, value);
    }
    switch (plan->options.method) {
    case QML_GRADIENT_ADJOINT:
        return adjoint(plan, ws, features, value, weight_gradient, feature_gradient);
    case QML_GRADIENT_PARAMETER_SHIFT:
        return parameter_shift(plan, ws, features, row_seed, value, weight_gradient, feature_gradient);
    case QML_GRADIENT_FINITE_DIFFERENCE:
    default:
        return finite_difference(plan, ws, features, value, weight_gradient, feature_gradient);
    }
}
