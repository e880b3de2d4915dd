/*
 * lie.c: dynamical Lie algebras of Pauli-sum generators: creation (symmetry
 * search, exact decisions, closure, structure), queries, purities. The
 * closure lives in lie_closure.c, the structure in lie_structure.c, the
 * predictions in lie_predict.c, the exact closure in lie_exact.c and the
 * Pauli-string classification in lie_classify.c.
 */
#include "lie_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>


/* ---- public: creation ------------------------------------------------------ */

double qml__lie_rebuild_above = LIE_CLOSED_DEFECT;

int qml_lie_algebra_create(qml_lie_algebra **out, const qml_pauli_sum *const *generators, size_t count,
                           const qml_lie_options *options)
{
    QML_CHECK_NULL(out);
    QML_CHECK_NULL(generators);
    QML_CHECK_ARG(count >= 1, "%s: count is 0; give at least one generator", __func__);
    unsigned n_qubits = 0;
    int status = qml__lie_check_generators(generators, count, &n_qubits);
    if (status)
        return status;
    closure_run run = {.processed = 0, .smallest_accepted = (double)NAN, .largest_rejected = (double)NAN};
    static const qml_lie_options defaults = QML_LIE_OPTIONS_INIT;
    status = qml__options_copy(&run.options, sizeof run.options, options, &defaults, __func__);
    if (status)
        return status;
    QML_CHECK_ARG(isfinite(run.options.tolerance) && run.options.tolerance > 0 && run.options.tolerance < 1,
                  "%s: options.tolerance is %g; it must lie in (0, 1)", __func__, run.options.tolerance);
    QML_CHECK_ARG(run.options.structure_max_work >= 0, "%s: options.structure_max_work is %g; it must be >= 0",
                  __func__, run.options.structure_max_work);

    qml_lie_algebra *algebra = qml__calloc(1, sizeof *algebra);
    if (!algebra)
        return qml__oom("a Lie algebra");
    algebra->n_qubits = n_qubits;
    algebra->options = run.options;
    algebra->n_threads = qml__resolve_threads(run.options.n_threads);
    algebra->words = qml__pauli_words(n_qubits);
    algebra->strings.words = algebra->words;
    algebra->smallest_accepted = algebra->largest_rejected = algebra->closure_defect = (double)NAN;
    algebra->structure_state = QML_LIE_STRUCTURE_UNRESOLVED; /* until the analysis says otherwise */
    algebra->generators = qml__calloc(count, sizeof *algebra->generators);
    algebra->originals = qml__calloc(count, sizeof *algebra->originals);
    if (!algebra->generators || !algebra->originals) {
        qml_lie_algebra_free(algebra);
        return qml__oom("the generators of a Lie algebra");
    }
    bool all_strings = true;
    for (size_t k = 0; k < count; k++) {
        if (generators[k]->n_terms == 0)
            continue;
        status = qml_pauli_sum_copy(&algebra->originals[algebra->n_generators], generators[k]);
        if (!status)
            status = qml_pauli_sum_copy(&algebra->generators[algebra->n_generators], generators[k]);
        if (status) {
            qml_pauli_sum_free(algebra->originals[algebra->n_generators]);
            qml_lie_algebra_free(algebra);
            return status;
        }
        algebra->n_generators++;
        all_strings = all_strings && generators[k]->n_terms == 1;
    }
    algebra->pure = all_strings;
    if (!all_strings)
        status = qml__lie_orbit_setup(algebra);
    /* Decide the dimension exactly first (the generators as given: their
     * rational coefficients), then replay its verdicts in floating point. */
    lie_verdicts verdicts = {0};
    if (!status && !all_strings && run.options.exact) {
        status = qml__lie_exact_closure(algebra, &run, &verdicts);
        if (status == QML_ERR_LIMIT)
            status = QML_OK; /* the floating-point closure meets the same limit and reports it */
        else if (!status)
            run.verdicts = &verdicts;
    }
    /* Scale invariance: the algebra of {c_k G_k} is that of {G_k}; the
     * numerics see unit-norm generators (bitwise equal coefficients stay
     * equal, so the orbits found above stay valid). */
    for (size_t k = 0; k < algebra->n_generators && !status; k++) {
        qml_pauli_sum *g = algebra->generators[k];
        double norm = 0;
        status = qml_pauli_sum_norm(g, &norm);
        if (!status && norm > 0 && isfinite(norm))
            for (size_t i = 0; i < g->n_terms; i++)
                g->coeff[i] /= norm;
    }
    if (!status)
        status = all_strings ? qml__lie_close_pauli_strings(algebra, &run)
                             : qml__lie_close_general(algebra, &run, algebra->generators, algebra->n_generators);
    algebra->exact = all_strings || (run.verdicts && !run.replay_failed && run.next_verdict == verdicts.count &&
                                     algebra->dim == verdicts.dim);
    algebra->smallest_accepted = run.smallest_accepted;
    algebra->largest_rejected = run.largest_rejected;
    /* A basis whose brackets leave more than rounding outside its span (a
     * breadth-first closure whose accepted residuals were tiny: see
     * lie_closure.c, "the pivoted re-closure") is rebuilt by the pivoted
     * closure when the dimension is exact; the conditioning figures are then
     * those of the new basis. */
    /* The closure defect of the breadth-first basis is its largest rejected
     * residual: an accepted candidate is in the span by construction, and a
     * rejected one's residual against the basis of its time bounds the one
     * against the final basis (measured equal on S_n, n = 6..20). */
    if (!all_strings)
        algebra->closure_defect = isnan(run.largest_rejected) ? 0.0 : run.largest_rejected;
    if (!status && !all_strings && algebra->exact && !(algebra->closure_defect <= qml__lie_rebuild_above)) {
        bool rebuilt = false;
        double accepted = 0, rejected = 0;
        status = qml__lie_reclose_pivoted(algebra, &rebuilt, &accepted, &rejected);
        if (!status && rebuilt) {
            algebra->smallest_accepted = run.smallest_accepted = accepted;
            algebra->largest_rejected = run.largest_rejected = rejected;
            algebra->closure_defect = rejected;
        }
    }
    /* Full by dimension: g lies in u(2^n) = su(2^n) + u(1), and su(2^n) has
     * no subalgebra of codimension 1, so dim g >= 4^n - 1 iff g contains
     * su(2^n), whatever the generators' form. */
    algebra->full = status == QML_OK && n_qubits < 32 && (uint64_t)algebra->dim >= ((uint64_t)1 << (2 * n_qubits)) - 1;
    /* Certified: the exact (modular) dimension is a lower bound; the
     * floating-point basis in which every rejected candidate left a residual
     * below 1e-6 of its norm confirms that nothing was missed above it. */
    algebra->certified = algebra->exact && (all_strings || !(run.largest_rejected > 1e-6));
    qml__lie_verdicts_release(&verdicts);
    if (status == QML_ERR_LIMIT) {
        algebra->structure_state = QML_LIE_STRUCTURE_PARTIAL;
        *out = algebra; /* the partial algebra; documented: the caller frees it */
        return status;
    }
    if (status) {
        qml_lie_algebra_free(algebra);
        return status;
    }
    status = qml__lie_progress(&run, "structure", algebra->dim, 0);
    if (!status)
        status = qml__lie_analyse_structure(algebra);
    qml__lie_cache_release(&algebra->cache); /* only the closure and the structure use it */
    /* An algebra closed in orbit coordinates stays in them: the strings of an
     * orbit are enumerated only where a caller asks for them (elements as
     * Pauli sums, state expectations), never all at once. */
    if (status) {
        qml_lie_algebra_free(algebra);
        return status;
    }
    *out = algebra;
    qml__ok();
    return QML_OK;
}

int qml_lie_algebra_from_circuit(qml_lie_algebra **out, const qml_circuit *circuit, const qml_lie_options *options)
{
    QML_CHECK_NULL(out);
    QML_CHECK_NULL(circuit);
    size_t n_weights = qml_circuit_n_weights(circuit);
    QML_CHECK_ARG(n_weights >= 1, "%s: the circuit has no trainable weight", __func__);
    qml_pauli_sum **generators = qml__calloc(n_weights, sizeof *generators);
    if (!generators)
        return qml__oom("the weight generators of a circuit");
    int status = qml__circuit_transported_weight_generators(circuit, generators);
    if (!status)
        status = qml_lie_algebra_create(out, (const qml_pauli_sum *const *)generators, n_weights, options);
    for (size_t w = 0; w < n_weights; w++)
        qml_pauli_sum_free(generators[w]);
    qml__free(generators);
    return status ? qml__error_context(status, __func__) : QML_OK;
}

void qml_lie_algebra_free(qml_lie_algebra *algebra)
{
    if (!algebra)
        return;
    qml__free(algebra->strings.x);
    qml__free(algebra->strings.z);
    qml__free(algebra->strings.slots);
    qml__free(algebra->strings.flat);
    qml__free(algebra->start);
    qml__free(algebra->col);
    qml__free(algebra->val);
    qml__free(algebra->head);
    qml__free(algebra->node);
    qml__lie_cache_release(&algebra->cache);
    qml__lie_orbit_release(algebra);
    for (size_t k = 0; k < algebra->n_generators; k++) {
        qml_pauli_sum_free(algebra->generators[k]);
        if (algebra->originals)
            qml_pauli_sum_free(algebra->originals[k]);
    }
    qml__free(algebra->generators);
    qml__free(algebra->originals);
    qml__lie_component_release(&algebra->center);
    for (size_t j = 0; j < algebra->n_ideals; j++)
        qml__lie_component_release(&algebra->ideals[j]);
    qml__free(algebra->ideals);
    qml__free(algebra);
}

/* ---- public: queries ------------------------------------------------------- */

unsigned qml_lie_algebra_n_qubits(const qml_lie_algebra *algebra)
{
    return algebra ? algebra->n_qubits : 0;
}

size_t qml_lie_algebra_dim(const qml_lie_algebra *algebra)
{
    return algebra ? algebra->dim : 0;
}

int qml_lie_algebra_structure_known(const qml_lie_algebra *algebra)
{
    return algebra && algebra->structure_known;
}

int qml_lie_algebra_structure_state(const qml_lie_algebra *algebra, qml_lie_structure_state *state, size_t *cap)
{
    QML_CHECK_NULL(algebra);
    QML_CHECK_NULL(state);
    *state = algebra->structure_state;
    if (cap)
        *cap = algebra->structure_state == QML_LIE_STRUCTURE_SPLIT_CAP ? algebra->split_cap : LIE_GENERAL_DENSE_MAX;
    qml__ok();
    return QML_OK;
}

int qml_lie_algebra_ideal_certificate(const qml_lie_algebra *algebra, size_t index, qml_lie_certificate *certificates)
{
    QML_CHECK_NULL(algebra);
    QML_CHECK_NULL(certificates);
    size_t n = algebra->structure_known ? algebra->n_ideals : 0;
    if (index >= n)
        return qml__error(QML_ERR_OUT_OF_RANGE, "qml_lie_algebra_ideal_certificate: ideal %zu of %zu%s", index, n,
                          algebra->structure_known ? "" : " (the structure is unknown)");
    *certificates = (qml_lie_certificate)algebra->ideals[index].certificate;
    qml__ok();
    return QML_OK;
}

const char *qml_lie_algebra_structure_message(const qml_lie_algebra *algebra)
{
    return algebra ? algebra->structure_message : "";
}

int qml_lie_algebra_is_full(const qml_lie_algebra *algebra)
{
    return algebra && algebra->full;
}

size_t qml_lie_algebra_center_dim(const qml_lie_algebra *algebra)
{
    return algebra && algebra->structure_known ? algebra->center.dim : 0;
}

size_t qml_lie_algebra_n_ideals(const qml_lie_algebra *algebra)
{
    return algebra && algebra->structure_known ? algebra->n_ideals : 0;
}

int qml_lie_algebra_basis_element(const qml_lie_algebra *algebra, size_t index, qml_pauli_sum **out)
{
    QML_CHECK_NULL(algebra);
    QML_CHECK_NULL(out);
    if (index >= algebra->dim)
        return qml__error(QML_ERR_OUT_OF_RANGE, "%s: index %zu out of range for an algebra of dimension %zu",
                          __func__, index, algebra->dim);
    lie_component single = {.dim = 1, .n_support = 1, .support = &index};
    return qml__lie_element_to_sum(algebra, NULL, &single, 0, out);
}

int qml_lie_algebra_center_element(const qml_lie_algebra *algebra, size_t index, qml_pauli_sum **out)
{
    QML_CHECK_NULL(algebra);
    QML_CHECK_NULL(out);
    size_t dim = qml_lie_algebra_center_dim(algebra);
    if (index >= dim)
        return qml__error(QML_ERR_OUT_OF_RANGE, "%s: index %zu out of range for a centre of dimension %zu",
                          __func__, index, dim);
    return qml__lie_element_to_sum(algebra, algebra->center.coords, &algebra->center, index, out);
}

int qml_lie_algebra_ideal(const qml_lie_algebra *algebra, size_t index, size_t *dim, size_t *rank,
                          const char **names)
{
    QML_CHECK_NULL(algebra);
    size_t n = qml_lie_algebra_n_ideals(algebra);
    if (index >= n)
        return qml__error(QML_ERR_OUT_OF_RANGE, "%s: ideal %zu out of range (%zu simple ideals)", __func__, index,
                          n);
    const lie_component *ideal = &algebra->ideals[index];
    if (dim)
        *dim = ideal->dim;
    if (rank)
        *rank = ideal->rank;
    if (names)
        *names = ideal->names;
    qml__ok();
    return QML_OK;
}

int qml_lie_algebra_ideal_element(const qml_lie_algebra *algebra, size_t ideal, size_t index, qml_pauli_sum **out)
{
    QML_CHECK_NULL(algebra);
    QML_CHECK_NULL(out);
    size_t n = qml_lie_algebra_n_ideals(algebra);
    if (ideal >= n)
        return qml__error(QML_ERR_OUT_OF_RANGE, "%s: ideal %zu out of range (%zu simple ideals)", __func__, ideal, n);
    const lie_component *c = &algebra->ideals[ideal];
    if (index >= c->dim)
        return qml__error(QML_ERR_OUT_OF_RANGE, "%s: index %zu out of range for an ideal of dimension %zu", __func__,
                          index, c->dim);
    return qml__lie_element_to_sum(algebra, c->coords, c, index, out);
}

int qml_lie_algebra_conditioning(const qml_lie_algebra *algebra, qml_lie_conditioning *out)
{
    QML_CHECK_NULL(algebra);
    QML_CHECK_NULL(out);
    QML_CHECK_ARG(out->size >= offsetof(qml_lie_conditioning, exact) + sizeof out->exact,
                  "%s: out->size is %zu; initialise it with QML_LIE_CONDITIONING_INIT", __func__, out->size);
    qml_lie_conditioning c = QML_LIE_CONDITIONING_INIT;
    c.exact = algebra->exact;
    c.certified = algebra->certified;
    c.smallest_accepted = algebra->smallest_accepted;
    c.largest_rejected = algebra->largest_rejected;
    c.tolerance_sensitive = algebra->smallest_accepted < 1e3 * algebra->largest_rejected;
    size_t size = out->size, copy = size < sizeof c ? size : sizeof c;
    memcpy(out, &c, copy);
    out->size = size;
    qml__ok();
    return QML_OK;
}

/* ---- public: purities ------------------------------------------------------ */

/* Normalisation: our basis B~_a is orthonormal in Tr(AB)/2^n, the papers'
 * B_a = B~_a / sqrt(2^n) in Tr(AB). For an operator H with c_a = <B~_a, H>
 * (normalised), Tr(B_a H) = sqrt(2^n) c_a, so P_g(H) = 2^n sum c_a^2. For a
 * state, t_a = <psi|B~_a|psi> = Tr(B~_a rho), so Tr(B_a rho) = t_a / sqrt(2^n)
 * and P_g(rho) = sum t_a^2 / 2^n. */
static int purity_output(const qml_lie_algebra *algebra, const double *coords, double scale, double *total,
                         double *per_component, size_t capacity, size_t *count, const char *caller)
{
    size_t needed = algebra->structure_known ? algebra->n_ideals + 1 : 0;
    if (count)
        *count = needed;
    if (per_component && capacity < needed)
        return qml__error(QML_ERR_OUT_OF_RANGE, "%s: capacity %zu < %zu components", caller, capacity, needed);
    double sum = 0;
    for (size_t a = 0; a < algebra->dim; a++)
        sum += coords[a] * coords[a];
    if (total)
        *total = scale * sum;
    if (per_component && needed)
        qml__lie_component_purities(algebra, coords, scale, NULL, per_component);
    return QML_OK;
}

int qml_lie_algebra_purity(const qml_lie_algebra *algebra, const qml_pauli_sum *operator_, double *total,
                           double *per_component, size_t capacity, size_t *count)
{
    QML_CHECK_NULL(algebra);
    QML_CHECK_NULL(operator_);
    QML_CHECK_ARG(per_component || capacity == 0, "%s: per_component is NULL with capacity %zu", __func__, capacity);
    QML_CHECK_ARG(operator_->n_qubits == algebra->n_qubits, "%s: operator on %u qubits, algebra on %u", __func__,
                  operator_->n_qubits, algebra->n_qubits);
    double *coords = qml__calloc(algebra->dim ? algebra->dim : 1, sizeof *coords);
    if (!coords)
        return qml__oom("purity coordinates");
    int status = qml__lie_sum_coordinates(algebra, operator_, coords);
    if (!status)
        status = purity_output(algebra, coords, ldexp(1.0, (int)algebra->n_qubits), total, per_component, capacity,
                               count, __func__);
    qml__free(coords);
    if (!status)
        qml__ok();
    return status;
}

int qml_lie_algebra_state_purity(const qml_lie_algebra *algebra, const qml_statevec *state, double *total,
                                 double *per_component, size_t capacity, size_t *count)
{
    QML_CHECK_NULL(algebra);
    QML_CHECK_ARG(per_component || capacity == 0, "%s: per_component is NULL with capacity %zu", __func__, capacity);
    QML_CHECK_ARG(!state || state->n_qubits == algebra->n_qubits, "%s: state on %u qubits, algebra on %u", __func__,
                  state ? state->n_qubits : 0u, algebra->n_qubits);
    double *t = qml__calloc(algebra->dim ? algebra->dim : 1, sizeof *t);
    if (!t)
        return qml__oom("state purity coordinates");
    int status = qml__lie_state_coordinates(algebra, state, t);
    if (!status)
        status = purity_output(algebra, t, ldexp(1.0, -(int)algebra->n_qubits), total, per_component, capacity,
                               count, __func__);
    qml__free(t);
    if (!status)
        qml__ok();
    return status;
}

