/*
 * cmd_diagnose.c: `qml diagnose FILE.qasm --observable OP`: will this
 * circuit train, and why? The DLA of its weight generators, the variance
 * predictions where they apply, the variance measured at initialisation, the
 * observable's backward light cone, the shots a gradient component needs,
 * and a verdict computed from those numbers with its reasons.
 */
#include "cli.h"

#include <inttypes.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A deterministic sample budget: S * 2^n * gates stays below this many
 * amplitude-gate updates (a 20-qubit, 800-gate file gets 10 samples), so the
 * command finishes and the same inputs give the same S and the same bits. */
#define DIAGNOSE_WORK_BUDGET 8.6e9
#define DIAGNOSE_MIN_SAMPLES 10

static void diagnose_usage(FILE *to)
{
    fprintf(to,
            "usage: qml diagnose FILE.qasm [--observable OP] [--samples S] [--seed S] [--shots K]\n"
            "                    [--max-dim D] [--threads T] [--backend B] [--json]\n"
            "  Reads an OpenQASM 2 (or 3) circuit whose angles name weights theta[k] and\n"
            "  features x[j] (features are held at 0), and reports for l = <0|U^dag OP U|0>:\n"
            "  the dynamical Lie algebra g of the weight generators (closure stopped at\n"
            "  dimension D, default 16384), whether OP and |0..0> lie in i g, the\n"
            "  Ragone/Fontana variance predictions where they apply, Var[l] and Var[dl/dw]\n"
            "  measured over S draws of w uniform in [0, 2 pi) (default: 200, fewer for\n"
            "  large circuits so that it finishes), OP's backward light cone, the shots per\n"
            "  gradient component for a signal-to-noise ratio of 1, and a verdict at K\n"
            "  shots (default 1000). OP defaults to Z0. --json prints every number.\n"
            "  The variances are measured with backend B (default auto: the cheapest of\n"
            "  symmetric, gsim and statevector that applies, docs/gsim.md); when none fits\n"
            "  in memory the measurement is skipped, said so, and the verdict is computed\n"
            "  from the prediction.\n");
}

typedef struct report {
    const char *file;
    const char *observable_text;
    unsigned n_qubits;
    size_t n_gates, n_weights, n_features, n_parametrised;
    /* light cone */
    unsigned cone_qubits;
    unsigned *cone_map;         /* qubit -> its index in the light-cone circuit, UINT32_MAX outside */
    size_t cone_weights;
    bool *weight_in_cone;
    bool *gate_in_cone;
    bool reduced;               /* measured on the light-cone circuit */
    /* DLA */
    int dla_status;             /* QML_OK, QML_ERR_LIMIT, QML_ERR_NOT_APPLICABLE, ... */
    char dla_message[512];
    size_t dla_dimension;       /* exact when dla_status == OK, a lower bound on LIMIT */
    size_t max_dim;
    int structure_known;
    int is_full;
    size_t centre_dim;
    size_t n_ideals;
    char ideals[1024];
    double observable_fraction; /* share of O's non-identity weight inside i g, NaN if unknown */
    double state_fraction;      /* the same for |0..0><0..0| */
    bool classified;            /* the Pauli-string classification named g */
    bool named;                 /* the structure is the enumerated one; the classification gave the name only */
    char classified_name[256];
    double log2_dimension;
    /* predictions */
    const char *prediction_source;
    char prediction_message[512];
    double predicted_loss_variance, predicted_first, predicted_middle;
    /* measurements */
    qml_backend backend_requested;
    const char *backend;        /* the simulator that ran, NULL if none */
    bool skipped;               /* no simulator fits (or the one asked for does not apply) */
    char skip_reason[512];
    size_t samples, samples_requested;
    double loss_mean, loss_variance, loss_variance_se;
    double grad_variance, grad_variance_se;
    double grad_min, grad_max;
    size_t grad_min_at, grad_max_at;
    double *weight_variance, *weight_variance_se;
    double seconds_dla, seconds_measure;
    /* shots */
    double shot_variance;       /* per-shot variance bound of the estimate of l */
    uint64_t shots;
    double shots_needed;        /* per gradient component for SNR 1 */
    double snr_at_shots;
    /* verdict */
    double verdict_variance;    /* the gradient variance the verdict used */
    const char *verdict_basis;  /* "measured", or which prediction stood in */
    const char *verdict;
    char reasons[6][1300];
    int n_reasons;
} report;

static void add_reason(report *r, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void add_reason(report *r, const char *format, ...)
{
    if (r->n_reasons >= 6)
        return;
    va_list args;
    va_start(args, format);
    vsnprintf(r->reasons[r->n_reasons++], sizeof r->reasons[0], format, args);
    va_end(args);
}

/* ---- the backward light cone ---------------------------------------------- */

/* Qubits the observable can depend on: walk the gates backwards from OP's
 * support, adding every qubit of a gate that touches the cone. A weight
 * whose gates all lie outside has a zero derivative identically. */
static int light_cone(const qml_circuit *circuit, const qml_pauli_sum *observable, report *r)
{
    unsigned n = r->n_qubits;
    bool *in = calloc(n, sizeof *in);
    unsigned *qubits = malloc(n * sizeof *qubits);
    r->weight_in_cone = calloc(r->n_weights ? r->n_weights : 1, sizeof *r->weight_in_cone);
    r->gate_in_cone = calloc(r->n_gates ? r->n_gates : 1, sizeof *r->gate_in_cone);
    if (!in || !qubits || !r->weight_in_cone || !r->gate_in_cone) {
        free(in);
        free(qubits);
        return QML_ERR_OUT_OF_MEMORY;
    }
    size_t count = 0;
    int status = qml_pauli_sum_support(observable, qubits, n, &count);
    for (size_t k = 0; status == QML_OK && k < count; k++)
        in[qubits[k]] = true;
    for (size_t g = r->n_gates; status == QML_OK && g-- > 0;) {
        qml_gate_kind kind;
        unsigned q3[3];
        size_t arity = 0;
        if ((status = qml_circuit_gate(circuit, g, &kind, q3, &arity)) != QML_OK)
            break;
        if (kind == QML_GATE_PAULI_ROTATION || kind == QML_GATE_PAULI_EVOLUTION) {
            qml_pauli_sum *generator = NULL;
            if ((status = qml_circuit_gate_generator(circuit, g, &generator)) != QML_OK)
                break;
            status = qml_pauli_sum_support(generator, qubits, n, &arity);
            qml_pauli_sum_free(generator);
        } else {
            memcpy(qubits, q3, arity * sizeof *qubits);
        }
        bool touches = false;
        for (size_t k = 0; k < arity; k++)
            touches = touches || in[qubits[k]];
        if (!touches)
            continue;
        r->gate_in_cone[g] = true;
        for (size_t k = 0; k < arity; k++)
            in[qubits[k]] = true;
        int64_t weight = QML_NONE;
        if (kind >= QML_GATE_RX && qml_circuit_gate_angle(circuit, g, NULL, &weight, NULL, NULL, NULL) == QML_OK &&
            weight != QML_NONE)
            r->weight_in_cone[weight] = true;
    }
    for (unsigned q = 0; q < n; q++)
        r->cone_qubits += in[q];
    r->cone_map = malloc(n * sizeof *r->cone_map);
    if (!r->cone_map) {
        free(in);
        free(qubits);
        return QML_ERR_OUT_OF_MEMORY;
    }
    for (unsigned q = 0, m = 0; q < n; q++)
        r->cone_map[q] = in[q] ? m++ : UINT32_MAX;
    for (size_t w = 0; w < r->n_weights; w++)
        r->cone_weights += r->weight_in_cone[w];
    free(in);
    free(qubits);
    return status;
}

/* ---- the Lie algebra ---------------------------------------------------------- */

/* The share of an operator's non-identity weight that lies in i g:
 * P_g(H) / P_su(H), with the library's normalisation of the purities
 * (docs/lie.md), in which su(2^n) gives P_su(H) = 2^n sum_{P != I} c_P^2 for
 * H = sum c_P P, and (2^n - 1) / 2^n for a pure state. */
static double observable_share(const qml_lie_algebra *algebra, const qml_pauli_sum *observable, unsigned n)
{
    double purity = 0;
    if (qml_lie_algebra_purity(algebra, observable, &purity, NULL, 0, NULL) != QML_OK)
        return (double)NAN;
    double weight = 0;
    char *dense = malloc(n + 1);
    if (!dense)
        return (double)NAN;
    for (size_t t = 0; t < qml_pauli_sum_n_terms(observable); t++) {
        double c;
        if (qml_pauli_sum_term(observable, t, &c, dense) != QML_OK)
            break;
        if (strspn(dense, "I") != n)
            weight += c * c;
    }
    free(dense);
    return weight > 0 ? purity / ldexp(weight, (int)n) : (double)NAN;
}

#if defined(QML_CLI_HAVE_DLA_CLASSIFY)
/* The algebra's first min(dim, limit) basis elements (the distinct
 * generators come first; see classify_capped), in *k; *status is the first
 * failure reading them. NULL only when the array cannot be allocated. */
static qml_pauli_sum **first_elements(const qml_lie_algebra *algebra, size_t limit, size_t *k, int *status)
{
    *k = qml_lie_algebra_dim(algebra);
    if (*k > limit)
        *k = limit;
    qml_pauli_sum **elements = calloc(*k ? *k : 1, sizeof *elements);
    *status = QML_OK;
    for (size_t i = 0; elements && i < *k && *status == QML_OK; i++)
        *status = qml_lie_algebra_basis_element(algebra, i, &elements[i]);
    return elements;
}

static void free_elements(qml_pauli_sum **elements, size_t k)
{
    for (size_t i = 0; i < k; i++)
        qml_pauli_sum_free(elements[i]);
    free(elements);
}

/* The closure passed the cap: classify the algebra from its generators
 * without a basis (qml_pauli_dla_classify), and predict the variance from
 * it (qml_pauli_dla_predict_variance). The partial algebra's first
 * elements are the distinct generators, in order, then brackets; the first
 * n_weights of them contain every generator and lie in g, so they generate g. */
static void classify_capped(const qml_lie_algebra *partial, const qml_pauli_sum *observable, report *r)
{
    size_t k = 0;
    int status = QML_OK;
    qml_pauli_sum **generators = first_elements(partial, r->n_weights, &k, &status);
    if (!generators)
        return;
    qml_dla_summary summary;
    memset(&summary, 0, sizeof summary);
    summary.size = sizeof summary;
    if (status == QML_OK)
        status = qml_pauli_dla_classify((const qml_pauli_sum *const *)generators, k, &summary);
    if (status == QML_OK) {
        r->classified = true;
        snprintf(r->classified_name, sizeof r->classified_name, "%s", summary.name);
        r->is_full = summary.is_full;
        r->log2_dimension = summary.log2_dimension;
        r->centre_dim = summary.centre_dim;
        r->n_ideals = summary.n_components;
        r->structure_known = 1;
        /* the variance from the classification's purities, without a basis */
        qml_lie_prediction prediction = QML_LIE_PREDICTION_INIT;
        int ps = qml_pauli_dla_predict_variance((const qml_pauli_sum *const *)generators, k, observable, NULL, NULL,
                                                &prediction);
        snprintf(r->prediction_message, sizeof r->prediction_message, "%s",
                 ps == QML_OK || ps == QML_ERR_NOT_APPLICABLE ? prediction.message : qml_last_error());
        if (ps == QML_OK) {
            r->prediction_source = "Ragone et al. 2024 / Fontana et al. 2024, purities counted from the classification";
            r->predicted_loss_variance = prediction.loss_variance;
            r->predicted_first = prediction.first_gate_gradient_variance;
            r->predicted_middle = prediction.middle_gate_gradient_variance;
            /* weight 0's generator (the first element) without an X or Y
             * letter fixes |0..0>: sigma = -(i/2)[G, rho] = 0, so the
             * first-gate variance is 0 where the counts did not give it */
            char *dense = malloc(r->n_qubits + 1);
            double c = 0;
            if (dense && isnan(r->predicted_first) && qml_pauli_sum_n_terms(generators[0]) == 1 &&
                qml_pauli_sum_term(generators[0], 0, &c, dense) == QML_OK && strspn(dense, "IZ") == r->n_qubits) {
                r->predicted_first = 0.0;
                size_t used = strlen(r->prediction_message);
                snprintf(r->prediction_message + used, sizeof r->prediction_message - used,
                         "; first gate 0: its generator fixes |0..0>");
            }
            free(dense);
        }
    } else {
        size_t used = strlen(r->dla_message);
        snprintf(r->dla_message + used, sizeof r->dla_message - used, "; classification: %s", qml_last_error());
    }
    free_elements(generators, k);
}
#endif

#if defined(QML_CLI_HAVE_DLA_CLASSIFY)
/* The structure was enumerated: the classification of the strings (no
 * enumeration: with no_closure, nothing is closed twice) gives its name,
 * e.g. "2 x so(1000)", when a theorem decides every part. */
static void name_enumerated(const qml_lie_algebra *algebra, report *r)
{
    size_t k = 0;
    int status = QML_OK;
    qml_pauli_sum **generators = first_elements(algebra, r->n_weights, &k, &status);
    if (!generators)
        return;
    qml_dla_summary summary;
    memset(&summary, 0, sizeof summary);
    summary.size = sizeof summary;
    qml_pauli_dla_options options = QML_PAULI_DLA_OPTIONS_INIT;
    options.no_closure = 1;
    if (status == QML_OK && k &&
        qml_pauli_dla_classify_with((const qml_pauli_sum *const *)generators, k, &options, &summary) == QML_OK) {
        r->named = true;
        snprintf(r->classified_name, sizeof r->classified_name, "%s", summary.name);
    }
    free_elements(generators, k);
}
#endif

static void analyse_algebra(const qml_circuit *circuit, const qml_pauli_sum *observable, unsigned n_threads,
                            report *r)
{
    qml_lie_options options = QML_LIE_OPTIONS_INIT;
    options.max_dim = r->max_dim;
    options.n_threads = n_threads;
    qml_lie_algebra *algebra = NULL;
    double t0 = cli_seconds();
    r->dla_status = qml_lie_algebra_from_circuit(&algebra, circuit, &options);
    r->seconds_dla = cli_seconds() - t0;
    snprintf(r->dla_message, sizeof r->dla_message, "%s", r->dla_status ? qml_last_error() : "");
    r->observable_fraction = r->state_fraction = (double)NAN;
    r->predicted_loss_variance = r->predicted_first = r->predicted_middle = (double)NAN;
    r->log2_dimension = (double)NAN;
    if (algebra) {
        r->dla_dimension = qml_lie_algebra_dim(algebra);
        r->log2_dimension = log2((double)r->dla_dimension);
    }
    if (r->dla_status == QML_OK && !qml_lie_algebra_structure_known(algebra)) {
        /* Closed, but its structure was not analysed (too large for the
         * structure analysis): the classification of the strings names it
         * and predicts from its counts; the basis still gives the shares. */
        r->observable_fraction = observable_share(algebra, observable, r->n_qubits);
        double state = 0;
        if (qml_lie_algebra_state_purity(algebra, NULL, &state, NULL, 0, NULL) == QML_OK)
            r->state_fraction = state * ldexp(1.0, (int)r->n_qubits) / (ldexp(1.0, (int)r->n_qubits) - 1);
#if defined(QML_CLI_HAVE_DLA_CLASSIFY)
        classify_capped(algebra, observable, r);
#endif
    } else if (r->dla_status == QML_OK) {
        r->structure_known = qml_lie_algebra_structure_known(algebra);
        r->is_full = qml_lie_algebra_is_full(algebra);
        r->centre_dim = qml_lie_algebra_center_dim(algebra);
        r->n_ideals = qml_lie_algebra_n_ideals(algebra);
#if defined(QML_CLI_HAVE_DLA_CLASSIFY)
        name_enumerated(algebra, r);
#endif
        size_t used = 0;
        for (size_t k = 0; k < r->n_ideals && used + 64 < sizeof r->ideals; k++) {
            size_t dim = 0;
            const char *names = "";
            if (qml_lie_algebra_ideal(algebra, k, &dim, NULL, &names) != QML_OK)
                break;
            used += (size_t)snprintf(r->ideals + used, sizeof r->ideals - used, "%s%s (dim %zu)", k ? "; " : "",
                                     names && names[0] ? names : "?", dim);
        }
        r->observable_fraction = observable_share(algebra, observable, r->n_qubits);
        double state = 0;
        if (qml_lie_algebra_state_purity(algebra, NULL, &state, NULL, 0, NULL) == QML_OK)
            r->state_fraction = state * ldexp(1.0, (int)r->n_qubits) / (ldexp(1.0, (int)r->n_qubits) - 1);
        qml_lie_prediction prediction = QML_LIE_PREDICTION_INIT;
        int status = qml_lie_algebra_predict_variance(algebra, NULL, observable, NULL, &prediction);
        snprintf(r->prediction_message, sizeof r->prediction_message, "%s",
                 status == QML_OK || status == QML_ERR_NOT_APPLICABLE ? prediction.message : qml_last_error());
        if (status == QML_OK) {
            r->prediction_source = "Ragone et al. 2024 / Fontana et al. 2024 (deep-circuit limit)";
            r->predicted_loss_variance = prediction.loss_variance;
            r->predicted_first = prediction.first_gate_gradient_variance;
            r->predicted_middle = prediction.middle_gate_gradient_variance;
        }
    } else if (r->dla_status == QML_ERR_LIMIT) {
        /* The closure passed the cap: what is known is a lower bound, and
         * what the Pauli-string classification says where it is built in. */
        r->structure_known = 0;
#if defined(QML_CLI_HAVE_DLA_CLASSIFY)
        if (algebra)
            classify_capped(algebra, observable, r);
#endif
    }
    qml_lie_algebra_free(algebra);
    /* Closed form for su(2^n) when the closure was stopped but the algebra
     * is known to be full, or was computed full: Var[l] of a unitary
     * 2-design for a pure state, (Tr(O^2)/d - (Tr O/d)^2) / (d + 1). */
    if (r->is_full && isnan(r->predicted_loss_variance)) {
        double weight = 0;
        char *dense = malloc(r->n_qubits + 1);
        for (size_t t = 0; dense && t < qml_pauli_sum_n_terms(observable); t++) {
            double c;
            if (qml_pauli_sum_term(observable, t, &c, dense) == QML_OK && strspn(dense, "I") != r->n_qubits)
                weight += c * c;
        }
        free(dense);
        r->predicted_loss_variance = weight / (ldexp(1.0, (int)r->n_qubits) + 1);
        r->prediction_source = "su(2^n): unitary 2-design, (Tr(O^2)/d - (Tr O/d)^2)/(d + 1)";
        r->observable_fraction = 1;
        r->state_fraction = 1;
    }
}

/* ---- the light-cone circuit ------------------------------------------------------ */

/* A Pauli sum on n qubits moved onto the m light-cone qubits (NULL if a term
 * acts outside the cone). */
static qml_pauli_sum *restrict_sum(const qml_pauli_sum *sum, const report *r)
{
    unsigned n = r->n_qubits, m = r->cone_qubits;
    char *dense = malloc(n + 1), *small = malloc(m + 1);
    qml_pauli_sum *out = NULL;
    if (!dense || !small || qml_pauli_sum_create(&out, m) != QML_OK)
        goto fail;
    for (size_t t = 0; t < qml_pauli_sum_n_terms(sum); t++) {
        double c;
        if (qml_pauli_sum_term(sum, t, &c, dense) != QML_OK)
            goto fail;
        for (unsigned q = 0; q < n; q++) {
            if (r->cone_map[q] != UINT32_MAX)
                small[r->cone_map[q]] = dense[q];
            else if (dense[q] != 'I')
                goto fail;
        }
        small[m] = '\0';
        if (qml_pauli_sum_add_string(out, c, small) != QML_OK)
            goto fail;
    }
    free(dense);
    free(small);
    return out;
fail:
    free(dense);
    free(small);
    qml_pauli_sum_free(out);
    return NULL;
}

/* The gates inside the backward light cone, on the cone's qubits: l and the
 * derivatives of the weights inside are exactly those of the whole circuit
 * from |0..0> (the gates outside cancel in U^dag O U and the initial state is
 * a product), at 2^(cone) amplitudes instead of 2^n. NULL when a gate cannot
 * be copied through the public API (a unitary matrix) or the cone is all. */
static qml_circuit *light_cone_circuit(const qml_circuit *circuit, const report *r)
{
    if (r->cone_qubits == r->n_qubits || r->cone_qubits == 0)
        return NULL;
    qml_circuit *small = NULL;
    if (qml_circuit_create(&small, r->cone_qubits) != QML_OK)
        return NULL;
    for (size_t g = 0; g < r->n_gates; g++) {
        if (!r->gate_in_cone[g])
            continue;
        qml_gate_kind kind;
        unsigned q[3];
        size_t arity = 0;
        int status = qml_circuit_gate(circuit, g, &kind, q, &arity);
        for (size_t k = 0; status == QML_OK && k < arity && k < 3; k++)
            q[k] = r->cone_map[q[k]];
        if (status != QML_OK || kind == QML_GATE_UNITARY1 || kind == QML_GATE_UNITARY2) {
            qml_circuit_free(small);
            return NULL;
        }
        if (kind <= QML_GATE_TOFFOLI) {
            status = qml_circuit_add_gate(small, kind, q, arity);
        } else {
            double c0, cw, cf;
            int64_t w, f;
            status = qml_circuit_gate_angle(circuit, g, &c0, &w, &cw, &f, &cf);
            if (status == QML_OK && kind <= QML_GATE_PHASE) {
                status = qml_circuit_add_rotation(small, kind, q, arity, c0, w, cw, f, cf);
            } else if (status == QML_OK) {
                qml_pauli_sum *generator = NULL, *moved = NULL;
                status = qml_circuit_gate_generator(circuit, g, &generator);
                if (status == QML_OK && (moved = restrict_sum(generator, r)) == NULL)
                    status = QML_ERR_OUT_OF_MEMORY;
                if (status == QML_OK)
                    status = qml_circuit_add_pauli_rotation(small, moved, c0, w, cw, f, cf);
                qml_pauli_sum_free(generator);
                qml_pauli_sum_free(moved);
            }
        }
        if (status != QML_OK) {
            qml_circuit_free(small);
            return NULL;
        }
    }
    return small;
}

/* ---- measurement ------------------------------------------------------------------ */

/* Nothing measured: every measured number NaN (null in --json), the
 * reason kept in skip_reason. */
static int skip_measurement(report *r)
{
    r->skipped = true;
    r->samples = 0;
    r->loss_mean = r->loss_variance = r->loss_variance_se = (double)NAN;
    r->grad_variance = r->grad_variance_se = r->grad_min = r->grad_max = (double)NAN;
    free(r->weight_variance);
    free(r->weight_variance_se);
    r->weight_variance = malloc(r->n_weights * sizeof *r->weight_variance);
    r->weight_variance_se = malloc(r->n_weights * sizeof *r->weight_variance_se);
    if (!r->weight_variance || !r->weight_variance_se)
        return QML_ERR_OUT_OF_MEMORY;
    for (size_t w = 0; w < r->n_weights; w++)
        r->weight_variance[w] = r->weight_variance_se[w] = (double)NAN;
    return QML_OK;
}

static int measure(const qml_circuit *whole, const qml_pauli_sum *whole_observable, uint64_t seed,
                   unsigned n_threads, report *r)
{
    if (r->cone_weights == 0) {
        /* Nothing to measure: every derivative is 0 and l does not depend on w. */
        r->weight_variance = calloc(r->n_weights, sizeof *r->weight_variance);
        r->weight_variance_se = calloc(r->n_weights, sizeof *r->weight_variance_se);
        return r->weight_variance && r->weight_variance_se ? QML_OK : QML_ERR_OUT_OF_MEMORY;
    }
    qml_circuit *small = light_cone_circuit(whole, r);
    qml_pauli_sum *small_observable = small ? restrict_sum(whole_observable, r) : NULL;
    r->reduced = small && small_observable;
    const qml_circuit *circuit = r->reduced ? small : whole;
    const qml_pauli_sum *observable = r->reduced ? small_observable : whole_observable;
    /* The simulator that would run and the dimension it works in (2^n
     * amplitudes, the g-sim module's strings, n + 1 Dicke states) set the
     * work per draw. */
    qml_backend chosen = QML_BACKEND_STATEVECTOR;
    double dimension = ldexp(1.0, (int)qml_circuit_n_qubits(circuit));
    int status = qml_backend_select(circuit, observable, NULL, r->backend_requested, &chosen, &dimension);
    if (status == QML_ERR_NOT_APPLICABLE) {
        snprintf(r->skip_reason, sizeof r->skip_reason, "%s", qml_last_error());
        qml_circuit_free(small);
        qml_pauli_sum_free(small_observable);
        return skip_measurement(r);
    }
    if (status) {
        qml_circuit_free(small);
        qml_pauli_sum_free(small_observable);
        return status;
    }
    double work = dimension * (double)(qml_circuit_n_gates(circuit) ? qml_circuit_n_gates(circuit) : 1);
    size_t affordable = (size_t)fmin(DIAGNOSE_WORK_BUDGET / work, 1e15);
    r->samples = r->samples_requested;
    if (r->samples > affordable)
        r->samples = affordable > DIAGNOSE_MIN_SAMPLES ? affordable : DIAGNOSE_MIN_SAMPLES;
    double *features = calloc(r->n_features ? r->n_features : 1, sizeof *features);
    r->weight_variance = calloc(r->n_weights, sizeof *r->weight_variance);
    r->weight_variance_se = calloc(r->n_weights, sizeof *r->weight_variance_se);
    if (!features || !r->weight_variance || !r->weight_variance_se) {
        free(features);
        return QML_ERR_OUT_OF_MEMORY;
    }
    qml_landscape_options options = QML_LANDSCAPE_OPTIONS_INIT;
    options.samples = r->samples;
    options.seed = seed;
    options.params = QML_PARAMS_ALL;
    options.n_threads = n_threads;
    options.backend = chosen;
    qml_gradient_stats *stats = NULL;
    double t0 = cli_seconds();
    status = qml_gradient_stats_create(&stats, circuit, observable, NULL, features, r->n_features, &options);
    r->seconds_measure = cli_seconds() - t0;
    free(features);
    size_t read = qml_circuit_n_weights(circuit);
    qml_circuit_free(small);
    qml_pauli_sum_free(small_observable);
    if (status == QML_ERR_LIMIT || status == QML_ERR_NOT_APPLICABLE) {
        /* no simulator fits in memory: the prediction has to do */
        snprintf(r->skip_reason, sizeof r->skip_reason, "%s", qml_last_error());
        return skip_measurement(r);
    }
    if (status)
        return status;
    r->backend = qml_backend_name(chosen);
    qml_gradient_stats_loss(stats, &r->loss_mean, NULL, &r->loss_variance, &r->loss_variance_se);
    r->grad_min = (double)INFINITY;
    r->grad_max = -(double)INFINITY;
    /* The summary is over the weights in the light cone (the others have a
     * zero derivative identically); its standard error treats the weights'
     * estimates as independent. */
    double sum = 0, sum_se2 = 0;
    for (size_t w = 0; w < r->n_weights; w++) {
        if (w < read)
            qml_gradient_stats_weight(stats, w, NULL, NULL, &r->weight_variance[w], &r->weight_variance_se[w]);
        if (r->weight_in_cone[w]) {
            sum += r->weight_variance[w];
            sum_se2 += r->weight_variance_se[w] * r->weight_variance_se[w];
        }
        if (r->weight_in_cone[w] && r->weight_variance[w] < r->grad_min) {
            r->grad_min = r->weight_variance[w];
            r->grad_min_at = w;
        }
        if (r->weight_in_cone[w] && r->weight_variance[w] > r->grad_max) {
            r->grad_max = r->weight_variance[w];
            r->grad_max_at = w;
        }
    }
    if (r->cone_weights > 0) {
        r->grad_variance = sum / (double)r->cone_weights;
        r->grad_variance_se = sqrt(sum_se2) / (double)r->cone_weights;
    }
    qml_gradient_stats_free(stats);
    return QML_OK;
}

/* ---- shots and verdict -------------------------------------------------------------- */

static void shots_and_verdict(const qml_pauli_sum *observable, report *r)
{
    /* Each Pauli term measured with N shots has per-shot variance <= 1, so
     * the estimate of l has variance <= sum c_P^2 / N; a parameter-shift
     * derivative (l(w + pi/2) - l(w - pi/2)) / 2 then has variance
     * <= sum c_P^2 / (2N). Against a signal of typical size sqrt(Var[dl/dw])
     * the signal-to-noise ratio is sqrt(2 N Var / sum c_P^2), and SNR 1 needs
     * N = sum c_P^2 / (2 Var). */
    double weight = 0;
    char *dense = malloc(r->n_qubits + 1);
    for (size_t t = 0; dense && t < qml_pauli_sum_n_terms(observable); t++) {
        double c;
        if (qml_pauli_sum_term(observable, t, &c, dense) == QML_OK && strspn(dense, "I") != r->n_qubits)
            weight += c * c;
    }
    free(dense);
    r->shot_variance = weight;
    /* The gradient variance the shots are set against: the measured one,
     * or, when nothing could be measured, the predicted one (Fontana's
     * middle gate, else the first gate, else Var[l] itself, which the
     * derivatives of a deep circuit share in scale). */
    double v = r->grad_variance;
    const char *basis = "measured";
    if (r->skipped) {
        v = !isnan(r->predicted_middle) ? r->predicted_middle
            : !isnan(r->predicted_first) ? r->predicted_first
                                          : r->predicted_loss_variance;
        basis = !isnan(r->predicted_middle) ? "predicted middle-gate Var[dl/dw]"
                : !isnan(r->predicted_first) ? "predicted first-gate Var[dl/dw]"
                                              : "predicted Var[l] standing in for Var[dl/dw]";
    }
    r->verdict_variance = v;
    r->verdict_basis = basis;
    r->shots_needed = v > 0 ? weight / (2 * v) : (double)INFINITY;
    r->snr_at_shots = weight > 0 ? sqrt(2.0 * (double)r->shots * v / weight) : (double)INFINITY;

    char algebra[1200];
    bool exponential = false;
    if (r->dla_status == QML_OK && r->is_full) {
        snprintf(algebra, sizeof algebra, "su(2^%u) (dimension 4^n - 1 = %zu): variance ~ 2^-n", r->n_qubits,
                 r->dla_dimension);
        exponential = true;
    } else if (r->classified) {
        snprintf(algebra, sizeof algebra, "%s (log2 dim = %.1f)", r->classified_name, r->log2_dimension);
        exponential = r->is_full || r->log2_dimension > 2.0 * log2((double)r->n_qubits) + 4;
    } else if (r->dla_status == QML_OK && !r->structure_known) {
        snprintf(algebra, sizeof algebra, "dim g = %zu (structure not analysed)", r->dla_dimension);
        exponential = r->dla_dimension > (size_t)r->n_qubits * r->n_qubits * r->n_qubits;
    } else if (r->dla_status == QML_OK) {
        snprintf(algebra, sizeof algebra, "dim g = %zu (%s): variance ~ 1/dim g", r->dla_dimension,
                 r->ideals[0] ? r->ideals : "abelian");
    } else if (r->dla_status == QML_ERR_LIMIT) {
        snprintf(algebra, sizeof algebra, "dim g > %zu (the closure stopped at the cap)", r->max_dim);
        exponential = r->dla_dimension > (size_t)r->n_qubits * r->n_qubits * r->n_qubits;
    } else {
        snprintf(algebra, sizeof algebra, "DLA not computed (%s)", qml_status_string(r->dla_status));
    }
    add_reason(r, "%s", algebra);
    if (r->cone_weights == 0) {
        r->verdict = "untrainable";
        add_reason(r, "no weight lies in the backward light cone of the observable: every gradient is 0");
        return;
    }
    if (!r->skipped)
        add_reason(r, "measured Var[dl/dw] = %.3g +- %.2g (mean over the %zu weights in the light cone, %zu draws); "
                   "Var[l] = %.3g +- %.2g",
                   r->grad_variance, r->grad_variance_se, r->cone_weights, r->samples, r->loss_variance,
                   r->loss_variance_se);
    else
        add_reason(r, "not measured (%s); this verdict is computed from the prediction alone, with the %s = %.3g",
                   r->skip_reason, basis, v);
    if (!isnan(r->predicted_loss_variance))
        add_reason(r, "predicted Var[l] = %.3g (%s)", r->predicted_loss_variance, r->prediction_source);
    if (!isnan(r->observable_fraction) && r->observable_fraction < 1 - 1e-9)
        add_reason(r, "only %.3g of the observable lies in i g%s", r->observable_fraction,
                   r->observable_fraction < 1e-12 ? ": the deep-circuit prediction is the module average" : "");
    add_reason(r, "at %" PRIu64 " shots the gradient signal-to-noise is %.2g; SNR 1 needs %.3g shots per component",
               r->shots, r->snr_at_shots, r->shots_needed);
    /* SNR >= 1 at the budget: trainable. Below it, the algebra decides
     * whether more shots help for long: an exponential algebra (su(2^n), or
     * a dimension past the cap or above n^3) predicts variances ~ 2^-n, a
     * barren plateau; a polynomial one ~ 1/dim g, a shot-budget problem. */
    bool resolved = r->skipped ? r->snr_at_shots >= 1 && v > 0
                               : r->snr_at_shots >= 1 && r->grad_variance > 2 * r->grad_variance_se;
    if (r->skipped && isnan(v)) {
        r->verdict = "undecided: nothing measured and nothing predicted";
        return;
    }
    if (resolved)
        r->verdict = exponential ? "trainable at this size (but the algebra is exponential: expect a barren "
                                   "plateau as n grows)"
                                 : "trainable";
    else if (exponential)
        r->verdict = "on a barren plateau at this size";
    else
        r->verdict = "gradients unresolved at this shot budget (the algebra is polynomial: more shots will do)";
}

/* ---- output ---------------------------------------------------------------------------- */

static void json_number(FILE *out, const char *key, double value, bool comma)
{
    if (isfinite(value))
        fprintf(out, "\"%s\": %.17g%s", key, value, comma ? ", " : "");
    else
        fprintf(out, "\"%s\": null%s", key, comma ? ", " : "");
}

static void json_value(FILE *out, const char *value)
{
    fputc('"', out);
    for (const char *c = value ? value : ""; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(out, "\\%c", *c);
        else if ((unsigned char)*c < 0x20)
            fprintf(out, "\\u%04x", (unsigned)*c);
        else
            fputc(*c, out);
    }
    fputc('"', out);
}

static void json_string(FILE *out, const char *key, const char *value, bool comma)
{
    fprintf(out, "\"%s\": ", key);
    json_value(out, value);
    fprintf(out, "%s", comma ? ", " : "");
}

static void print_json(const report *r, FILE *out)
{
    fprintf(out, "{");
    json_string(out, "schema", "qml.diagnose/1", true);
    json_string(out, "version", qml_version_string(), true);
    json_string(out, "file", r->file, true);
    json_string(out, "observable", r->observable_text, true);
    fprintf(out, "\n \"circuit\": {\"qubits\": %u, \"gates\": %zu, \"weights\": %zu, \"features\": %zu, "
                 "\"parametrised\": %zu},",
            r->n_qubits, r->n_gates, r->n_weights, r->n_features, r->n_parametrised);
    fprintf(out, "\n \"light_cone\": {\"qubits\": %u, \"weights\": %zu},", r->cone_qubits, r->cone_weights);
    fprintf(out, "\n \"dla\": {");
    json_string(out, "status", r->dla_status == QML_OK ? "closed" : r->dla_status == QML_ERR_LIMIT ? "capped"
                                                                                                     : "not_computed",
                true);
    json_string(out, "message", r->dla_message, true);
    fprintf(out, "\"dimension\": %zu, \"dimension_is_lower_bound\": %s, \"max_dim\": %zu, ", r->dla_dimension,
            r->dla_status == QML_OK ? "false" : "true", r->max_dim);
    json_number(out, "log2_dimension", r->log2_dimension, true);
    fprintf(out, "\"structure_known\": %s, \"is_full\": %s, \"centre_dim\": %zu, \"n_ideals\": %zu, ",
            r->structure_known ? "true" : "false", r->is_full ? "true" : "false", r->centre_dim, r->n_ideals);
    json_string(out, "ideals", r->ideals, true);
    json_string(out, "classified_name", r->classified || r->named ? r->classified_name : "", true);
    json_number(out, "observable_fraction_in_ig", r->observable_fraction, true);
    json_number(out, "state_fraction_in_ig", r->state_fraction, true);
    fprintf(out, "\"observable_in_ig\": %s, \"state_in_ig\": %s, \"seconds\": %.3f},",
            isnan(r->observable_fraction) ? "null" : r->observable_fraction > 1 - 1e-9 ? "true" : "false",
            isnan(r->state_fraction) ? "null" : r->state_fraction > 1 - 1e-9 ? "true" : "false", r->seconds_dla);
    fprintf(out, "\n \"prediction\": {");
    json_string(out, "source", r->prediction_source ? r->prediction_source : "", true);
    json_string(out, "message", r->prediction_message, true);
    json_number(out, "loss_variance", r->predicted_loss_variance, true);
    json_number(out, "first_gate_gradient_variance", r->predicted_first, true);
    json_number(out, "middle_gate_gradient_variance", r->predicted_middle, false);
    fprintf(out, "},\n \"measured\": {\"skipped\": %s, ", r->skipped ? "true" : "false");
    json_string(out, "skip_reason", r->skipped ? r->skip_reason : "", true);
    json_string(out, "backend", r->backend ? r->backend : "", true);
    fprintf(out, "\"samples\": %zu, \"samples_requested\": %zu, ", r->samples, r->samples_requested);
    json_number(out, "loss_mean", r->loss_mean, true);
    json_number(out, "loss_variance", r->loss_variance, true);
    json_number(out, "loss_variance_stderr", r->loss_variance_se, true);
    json_number(out, "gradient_variance", r->grad_variance, true);
    json_number(out, "gradient_variance_stderr", r->grad_variance_se, true);
    json_number(out, "gradient_variance_min", r->grad_min, true);
    fprintf(out, "\"gradient_variance_min_weight\": %zu, ", r->grad_min_at);
    json_number(out, "gradient_variance_max", r->grad_max, true);
    fprintf(out, "\"gradient_variance_max_weight\": %zu, \"light_cone_only\": %s, \"seconds\": %.3f,\n  \"per_weight\": [",
            r->grad_max_at, r->reduced ? "true" : "false", r->seconds_measure);
    for (size_t w = 0; w < r->n_weights; w++) {
        fprintf(out, "%s{\"weight\": %zu, \"in_light_cone\": %s, ", w ? ", " : "", w,
                r->weight_in_cone[w] ? "true" : "false");
        json_number(out, "variance", r->weight_variance[w], true);
        json_number(out, "variance_stderr", r->weight_variance_se[w], false);
        fprintf(out, "}");
    }
    fprintf(out, "]},\n \"shots\": {\"budget\": %" PRIu64 ", ", r->shots);
    json_number(out, "per_shot_variance_bound", r->shot_variance, true);
    json_number(out, "per_component_for_snr_1", r->shots_needed, true);
    json_number(out, "snr_at_budget", r->snr_at_shots, false);
    fprintf(out, "},\n \"verdict\": {");
    json_string(out, "summary", r->verdict, true);
    json_string(out, "from", r->skipped ? "prediction" : "measurement", true);
    json_string(out, "gradient_variance_source", r->verdict_basis, true);
    json_number(out, "gradient_variance", r->verdict_variance, true);
    fprintf(out, "\"reasons\": [");
    for (int k = 0; k < r->n_reasons; k++) {
        if (k)
            fprintf(out, ", ");
        json_value(out, r->reasons[k]);
    }
    fprintf(out, "]}}\n");
}

static void print_text(const report *r, FILE *out)
{
    fprintf(out, "circuit    %s: %u qubits, %zu gates, %zu weights (%zu parametrised gates), %zu features (held at 0)\n",
            r->file, r->n_qubits, r->n_gates, r->n_weights, r->n_parametrised, r->n_features);
    fprintf(out, "observable %s\n", r->observable_text);
    fprintf(out, "light cone %u of %u qubits; %zu of %zu weights can move the loss\n", r->cone_qubits, r->n_qubits,
            r->cone_weights, r->n_weights);
    fprintf(out, "DLA        of the weight generators moved to the front of the circuit (%.2f s)\n", r->seconds_dla);
    if (r->dla_status == QML_OK && r->classified) {
        /* closed, structure named by the classification of the strings */
        fprintf(out, "  dimension      %zu%s\n", r->dla_dimension, r->is_full ? " = 4^n - 1: su(2^n)" : "");
        fprintf(out, "  classified     %s\n", r->classified_name);
        fprintf(out, "  centre         %zu\n", r->centre_dim);
        fprintf(out, "  simple ideals  %zu\n", r->n_ideals);
    } else if (r->dla_status == QML_OK && !r->structure_known) {
        fprintf(out, "  dimension      %zu (structure not analysed)\n", r->dla_dimension);
    } else if (r->dla_status == QML_OK) {
        fprintf(out, "  dimension      %zu%s\n", r->dla_dimension, r->is_full ? " = 4^n - 1: su(2^n)" : "");
        fprintf(out, "  centre         %zu\n", r->centre_dim);
        fprintf(out, "  simple ideals  %zu%s%s\n", r->n_ideals, r->n_ideals ? ": " : "", r->ideals);
        if (r->named)
            fprintf(out, "  classified     %s\n", r->classified_name);
    } else if (r->dla_status == QML_ERR_LIMIT) {
        if (r->classified) {
            /* the closure stopped, the classification of the strings decided */
            fprintf(out, "  dimension      2^%.4f%s (classified from the generators; the closure stopped at "
                         "--max-dim %zu)\n",
                    r->log2_dimension, r->is_full ? " = 4^n - 1: su(2^n)" : "", r->max_dim);
            fprintf(out, "  classified     %s\n", r->classified_name);
            fprintf(out, "  centre         %zu\n", r->centre_dim);
            fprintf(out, "  simple ideals  %zu\n", r->n_ideals);
        } else {
            fprintf(out, "  dimension      > %zu (closure stopped at --max-dim; log2 dim > %.1f)\n", r->max_dim,
                    r->log2_dimension);
        }
    } else {
        fprintf(out, "  not computed   %s\n", r->dla_message);
    }
    if (!isnan(r->observable_fraction))
        fprintf(out, "  O in i g       %s (share %.6g)\n", r->observable_fraction > 1 - 1e-9 ? "yes" : "no",
                r->observable_fraction);
    if (!isnan(r->state_fraction))
        fprintf(out, "  |0..0> in i g  %s (share %.6g)\n", r->state_fraction > 1 - 1e-9 ? "yes" : "no",
                r->state_fraction);
    fprintf(out, "prediction %s\n", r->prediction_source ? r->prediction_source : "none");
    if (!isnan(r->predicted_loss_variance))
        fprintf(out, "  Var[l]         %.4g\n", r->predicted_loss_variance);
    if (!isnan(r->predicted_first) && !isnan(r->predicted_middle))
        fprintf(out, "  Var[dl/dw] first gate %.4g, middle gate %.4g\n", r->predicted_first, r->predicted_middle);
    else if (!isnan(r->predicted_middle))
        fprintf(out, "  Var[dl/dw] middle gate %.4g (weight 0's gate, Fontana et al.)\n", r->predicted_middle);
    else if (!isnan(r->predicted_first))
        fprintf(out, "  Var[dl/dw] first gate %.4g\n", r->predicted_first);
    if (r->prediction_message[0])
        fprintf(out, "  (%s)\n", r->prediction_message);
    if (r->skipped) {
        fprintf(out, "measured   skipped: %s\n", r->skip_reason);
    } else {
        fprintf(out, "measured   over %zu draws of w uniform in [0, 2 pi)%s%s%s%s (%.2f s)\n", r->samples,
                r->samples < r->samples_requested ? " (fewer than asked: the circuit is large)" : "",
                r->reduced ? ", simulating the light cone only" : "", r->backend ? ", backend " : "",
                r->backend ? r->backend : "", r->seconds_measure);
        fprintf(out, "  Var[l]         %.4g +- %.2g (mean l = %.4g)\n", r->loss_variance, r->loss_variance_se,
                r->loss_mean);
        fprintf(out,
                "  Var[dl/dw]     %.4g +- %.2g (mean over the light cone's weights); min %.3g (w%zu), max %.3g (w%zu)\n",
                r->grad_variance, r->grad_variance_se, r->grad_min, r->grad_min_at, r->grad_max, r->grad_max_at);
    }
    fprintf(out, "shots      per gradient component for signal-to-noise 1: %.3g (per-shot variance <= %.4g)\n",
            r->shots_needed, r->shot_variance);
    fprintf(out, "verdict    %s\n", r->verdict);
    for (int k = 0; k < r->n_reasons; k++)
        fprintf(out, "  - %s\n", r->reasons[k]);
}

int cmd_diagnose(int argc, char **argv)
{
    const char *file = NULL, *observable_text = "Z0";
    uint64_t seed = 1, shots = 1000, samples = 200, max_dim = 16384;
    unsigned n_threads = 0;
    qml_backend backend = QML_BACKEND_AUTO;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            diagnose_usage(stdout);
            return 0;
        }
        if (!strcmp(arg, "--json")) {
            json = true;
            continue;
        }
        if (arg[0] != '-') {
            if (file)
                return cli_usage_error("diagnose: two files given ('%s' and '%s')", file, arg);
            file = arg;
            continue;
        }
        if (!next)
            return cli_usage_error("diagnose: '%s' needs a value (see qml diagnose --help)", arg);
        i++;
        if (!strcmp(arg, "--observable"))
            observable_text = next;
        else if (!strcmp(arg, "--seed")) {
            if (!cli_parse_u64(next, &seed))
                return cli_usage_error("diagnose: --seed '%s' is not an unsigned integer", next);
        } else if (!strcmp(arg, "--shots")) {
            if (!cli_parse_u64(next, &shots) || shots == 0)
                return cli_usage_error("diagnose: --shots '%s' is not a positive integer", next);
        } else if (!strcmp(arg, "--samples")) {
            if (!cli_parse_u64(next, &samples) || samples < 2)
                return cli_usage_error("diagnose: --samples '%s' is not an integer >= 2", next);
        } else if (!strcmp(arg, "--max-dim")) {
            if (!cli_parse_u64(next, &max_dim) || max_dim == 0)
                return cli_usage_error("diagnose: --max-dim '%s' is not a positive integer", next);
        } else if (!strcmp(arg, "--threads")) {
            if (!cli_parse_unsigned(next, &n_threads))
                return cli_usage_error("diagnose: --threads '%s' is not an unsigned integer", next);
        } else if (!strcmp(arg, "--backend")) {
            if (qml_backend_from_name(next, &backend))
                return cli_usage_error("diagnose: --backend '%s' is not auto, statevector, gsim or symmetric", next);
        } else
            return cli_usage_error("diagnose: unknown option '%s' (see qml diagnose --help)", arg);
    }
    if (!file)
        return cli_usage_error("diagnose: a FILE.qasm is required (see qml diagnose --help)");

    int exit_code = 1, status;
    qml_circuit *circuit = NULL;
    qml_pauli_sum *observable = NULL;
    report r;
    memset(&r, 0, sizeof r);
    r.file = file;
    r.observable_text = observable_text;
    r.shots = shots;
    r.samples_requested = (size_t)samples;
    r.max_dim = (size_t)max_dim;
    r.backend_requested = backend;
    if ((status = qml_circuit_load_qasm(&circuit, file))) {
        cli_fail("diagnose", status);
        goto done;
    }
    r.n_qubits = qml_circuit_n_qubits(circuit);
    r.n_gates = qml_circuit_n_gates(circuit);
    r.n_weights = qml_circuit_n_weights(circuit);
    r.n_features = qml_circuit_n_features(circuit);
    r.n_parametrised = qml_circuit_n_parametrised(circuit);
    if (r.n_weights == 0) {
        fprintf(stderr, "qml: diagnose: %s has no trainable weight (name them theta[k] in the angles)\n", file);
        goto done;
    }
    if ((status = qml_pauli_sum_parse(&observable, r.n_qubits, observable_text))) {
        cli_fail("diagnose: --observable", status);
        goto done;
    }
    if ((status = light_cone(circuit, observable, &r))) {
        cli_fail("diagnose: light cone", status);
        goto done;
    }
    analyse_algebra(circuit, observable, n_threads, &r);
    if ((status = measure(circuit, observable, seed, n_threads, &r))) {
        cli_fail("diagnose: measuring the variance", status);
        goto done;
    }
    shots_and_verdict(observable, &r);
    if (json)
        print_json(&r, stdout);
    else
        print_text(&r, stdout);
    exit_code = 0;
done:
    free(r.weight_in_cone);
    free(r.gate_in_cone);
    free(r.cone_map);
    free(r.weight_variance);
    free(r.weight_variance_se);
    qml_pauli_sum_free(observable);
    qml_circuit_free(circuit);
    return exit_code;
}
