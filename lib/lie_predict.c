/*
 * lie_predict.c: coordinates of operators and states in an algebra, purities
 * per component, the variance predictions of Ragone et al. (2024) and
 * Fontana et al. (2024), and the exact mean and variance on the g-module of
 * an observable where their hypotheses fail.
 */
#include "lie_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- public: predicted variance ---------------------------------------------- */

static double string_expectation(const qml_statevec *state, unsigned words, const uint64_t *x, const uint64_t *z);
static int module_average(const qml_lie_algebra *algebra, const qml_statevec *state, const qml_pauli_sum *observable,
                          double *mean, double *variance, size_t *module_dim);

const char *qml_lie_hypothesis_string(qml_lie_hypothesis hypothesis)
{
    switch (hypothesis) {
    case QML_LIE_HYPOTHESIS_OBSERVABLE:
        return "the observable lies in i g";
    case QML_LIE_HYPOTHESIS_STATE:
        return "the state lies in i g";
    case QML_LIE_HYPOTHESIS_NONE:
        return "neither the observable nor the state lies in i g";
    }
    return "unknown";
}

typedef struct prediction_work {
    double *o;       /* <B~_a, O> */
    double *t;       /* <psi|B~_a|psi> */
    double *u;       /* <psi| -i[B~_a, G] |psi> / 2 = Tr(B~_a sigma) */
    double *kappa_c; /* scratch: coordinates of -i[G, B~_a] */
    double *po, *pr, *ps, *kappa;
} prediction_work;

static void prediction_work_release(prediction_work *w)
{
    qml__free(w->o);
    qml__free(w->t);
    qml__free(w->u);
    qml__free(w->kappa_c);
    qml__free(w->po);
    qml__free(w->pr);
    qml__free(w->ps);
    qml__free(w->kappa);
}

/* Coefficient of the identity string in basis element a. */
static double element_identity(const qml_lie_algebra *algebra, size_t a)
{
    const string_table *t = &algebra->strings;
    if (algebra->pure) {
        for (unsigned w = 0; w < t->words; w++)
            if (t->x[a * t->words + w] | t->z[a * t->words + w])
                return 0.0;
        return 1.0;
    }
    for (size_t e = algebra->start[a]; e < algebra->start[a + 1]; e++) {
        size_t s = algebra->col[e];
        bool identity = true;
        for (unsigned w = 0; w < t->words; w++)
            identity = identity && !(t->x[s * t->words + w] | t->z[s * t->words + w]);
        if (identity)
            return algebra->val[e];
    }
    return 0.0;
}

static int sum_identity_term(const qml_pauli_sum *sum, size_t i)
{
    for (unsigned w = 0; w < sum->words; w++)
        if (sum->x[i * sum->words + w] | sum->z[i * sum->words + w])
            return 0;
    return 1;
}

static double sum_identity(const qml_pauli_sum *sum)
{
    double c = 0;
    for (size_t i = 0; i < sum->n_terms; i++) {
        bool identity = true;
        for (unsigned w = 0; w < sum->words; w++)
            identity = identity && !(sum->x[i * sum->words + w] | sum->z[i * sum->words + w]);
        if (identity)
            c += sum->coeff[i];
    }
    return c;
}

/* kappa_j(G) = sum over an orthonormal basis of ideal j of ||-i[G, e]||^2
 * (normalised norm), computed from the coordinates of -i[G, B~_a]. */
static int middle_gate_kappa(const qml_lie_algebra *algebra, const qml_pauli_sum *generator, double *kappa)
{
    for (size_t j = 0; j < algebra->n_ideals; j++) {
        const lie_component *c = &algebra->ideals[j];
        double acc = 0;
        for (size_t col = 0; col < c->dim; col++) {
            qml_pauli_sum *e = NULL, *br = NULL;
            int status = qml__lie_element_to_sum(algebra, c->coords, c, col, &e);
            if (!status)
                status = qml_pauli_sum_bracket(&br, generator, e);
            double norm = 0;
            if (!status)
                status = qml_pauli_sum_norm(br, &norm);
            qml_pauli_sum_free(e);
            qml_pauli_sum_free(br);
            if (status)
                return status;
            acc += norm * norm;
        }
        kappa[j] = acc;
    }
    return QML_OK;
}

int qml_lie_algebra_predict_variance(const qml_lie_algebra *algebra, const qml_statevec *state,
                                     const qml_pauli_sum *observable, const qml_pauli_sum *gate_generator,
                                     qml_lie_prediction *result)
{
    QML_CHECK_NULL(algebra);
    QML_CHECK_NULL(observable);
    QML_CHECK_NULL(result);
    QML_CHECK_ARG(result->size >= offsetof(qml_lie_prediction, message) + 1,
                  "%s: result->size is %zu; initialise it with QML_LIE_PREDICTION_INIT", __func__, result->size);
    QML_CHECK_ARG((!state || state->n_qubits == algebra->n_qubits) && observable->n_qubits == algebra->n_qubits,
                  "%s: state on %u and observable on %u qubits, algebra on %u", __func__,
                  state ? state->n_qubits : algebra->n_qubits, observable->n_qubits, algebra->n_qubits);
    const qml_pauli_sum *generator = gate_generator;
    if (!generator) {
        QML_CHECK_ARG(algebra->n_generators > 0, "%s: the algebra has no generator", __func__);
        generator = algebra->originals ? algebra->originals[0] : algebra->generators[0];
    }
    QML_CHECK_ARG(generator->n_qubits == algebra->n_qubits, "%s: gate generator on %u qubits, algebra on %u",
                  __func__, generator->n_qubits, algebra->n_qubits);
    if (!algebra->structure_known)
        return qml__error(QML_ERR_LIMIT, "%s: the structure of this algebra is unknown (partial or too large)",
                          __func__);

    qml_lie_prediction r = QML_LIE_PREDICTION_INIT;
    size_t d = algebra->dim, m = algebra->n_ideals;
    double two_n = ldexp(1.0, (int)algebra->n_qubits);
    prediction_work w = {0};
    w.o = qml__calloc(d + 1, sizeof(double));
    w.t = qml__calloc(d + 1, sizeof(double));
    w.u = qml__calloc(d + 1, sizeof(double));
    w.po = qml__calloc(m + 1, sizeof(double));
    w.pr = qml__calloc(m + 1, sizeof(double));
    w.ps = qml__calloc(m + 1, sizeof(double));
    w.kappa = qml__calloc(m + 1, sizeof(double));
    if (!w.o || !w.t || !w.u || !w.po || !w.pr || !w.ps || !w.kappa) {
        prediction_work_release(&w);
        return qml__oom("a variance prediction");
    }
    int status = qml__lie_sum_coordinates(algebra, observable, w.o);
    if (!status)
        status = qml__lie_state_coordinates(algebra, state, w.t);
    /* sigma = -(i/2)[G, rho]: Tr(B~_a sigma) = (1/2) <psi| -i[B~_a, G] |psi>. */
    for (size_t a = 0; a < d && !status; a++) {
        qml_pauli_sum *e = NULL, *br = NULL;
        lie_component single = {.dim = 1, .n_support = 1, .support = &a};
        status = qml__lie_element_to_sum(algebra, NULL, &single, 0, &e);
        if (!status)
            status = qml_pauli_sum_bracket(&br, e, generator);
        if (!status) {
            double value = 0;
            for (size_t i = 0; i < br->n_terms; i++)
                value += br->coeff[i] * string_expectation(state, br->words, br->x + i * br->words, br->z + i * br->words);
            w.u[a] = 0.5 * value;
        }
        qml_pauli_sum_free(e);
        qml_pauli_sum_free(br);
    }
    if (!status)
        status = middle_gate_kappa(algebra, generator, w.kappa);
    if (status) {
        prediction_work_release(&w);
        return status;
    }

    /* Membership in i g + R I: orthonormalise the identity against g. */
    double id_norm2 = 1.0, o_id = sum_identity(observable), t_id = 1.0;
    for (size_t a = 0; a < d; a++) {
        double ia = element_identity(algebra, a);
        id_norm2 -= ia * ia;
        o_id -= ia * w.o[a];
        t_id -= ia * w.t[a];
    }
    bool has_identity_direction = id_norm2 > 1e-12;
    double o_extra = has_identity_direction ? o_id * o_id / id_norm2 : 0.0;
    double t_extra = has_identity_direction ? t_id * t_id / id_norm2 : 0.0;
    double o_norm2 = 0, o_in = 0, t_in = 0;
    qml_pauli_sum_norm(observable, &o_norm2);
    o_norm2 *= o_norm2;
    for (size_t a = 0; a < d; a++) {
        o_in += w.o[a] * w.o[a];
        t_in += w.t[a] * w.t[a];
    }
    double tol = 1e-8;
    bool o_member = o_norm2 - o_in - o_extra <= tol * (o_norm2 > 1 ? o_norm2 : 1);
    /* ||rho||^2 = Tr(rho^2) = 1 = (t_in + t_extra) / 2^n if rho in i g + R I. */
    bool rho_member = 1.0 - (t_in + t_extra) / two_n <= tol;

    double total_o = 0, total_r = 0, total_s = 0;
    qml__lie_component_purities(algebra, w.o, two_n, &total_o, w.po);
    qml__lie_component_purities(algebra, w.t, 1.0 / two_n, &total_r, w.pr);
    qml__lie_component_purities(algebra, w.u, 1.0 / two_n, &total_s, w.ps);

    /* The mean is what the group fixes: the centre and identity parts. */
    double mean = 0;
    const lie_component *z = &algebra->center;
    for (size_t col = 0; col < z->dim; col++)
        mean += qml__lie_column_dot(z, col, w.o) * qml__lie_column_dot(z, col, w.t);
    if (has_identity_direction)
        mean += o_id * t_id / id_norm2;
    r.loss_mean = mean;
    r.hypothesis = o_member ? QML_LIE_HYPOTHESIS_OBSERVABLE
                            : (rho_member ? QML_LIE_HYPOTHESIS_STATE : QML_LIE_HYPOTHESIS_NONE);
    if (r.hypothesis == QML_LIE_HYPOTHESIS_NONE) {
        r.first_gate_gradient_variance = r.middle_gate_gradient_variance = (double)NAN;
        double exact_mean = 0, exact_var = 0;
        size_t module_dim = 0;
        status = module_average(algebra, state, observable, &exact_mean, &exact_var, &module_dim);
        if (status == QML_OK && module_dim <= LIE_MODULE_MAX) {
            r.loss_mean = exact_mean;
            r.loss_variance = exact_var;
            snprintf(r.message, sizeof r.message,
                     "neither O nor rho lies in i g (+ identity), so the formula of Ragone et al. does not apply; "
                     "mean and Var[l] computed exactly by averaging over e^g on the g-module generated by O "
                     "(dim %zu); gradient predictions not available",
                     module_dim);
        } else if (status == QML_OK) {
            /* the mean is the projection onto the invariants (the commutant):
             * exact; the variance needs the module's commutant, too large */
            r.loss_mean = exact_mean;
            r.loss_variance = (double)NAN;
            status = QML_ERR_NOT_APPLICABLE;
            snprintf(r.message, sizeof r.message,
                     "neither O nor rho lies in i g (+ identity), so Ragone et al. does not apply; mean exact "
                     "(O projected onto the commutant on its g-module, dim %zu); Var[l] needs module dim <= %u",
                     module_dim, LIE_MODULE_MAX);
        } else if (status == QML_ERR_NOT_APPLICABLE) {
            r.loss_mean = r.loss_variance = (double)NAN;
            snprintf(r.message, sizeof r.message,
                     "neither O nor rho lies in i g (+ identity): O has %.3g%% of its norm^2 outside, rho %.3g%%; "
                     "the formula of Ragone et al. does not apply, and the g-module generated by O exceeds "
                     "dimension %u for the exact mean (%u for the variance)",
                     100.0 * (o_norm2 - o_in - o_extra) / (o_norm2 > 0 ? o_norm2 : 1),
                     100.0 * (1.0 - (t_in + t_extra) / two_n), LIE_MODULE_MEAN_MAX, LIE_MODULE_MAX);
        } else {
            prediction_work_release(&w);
            return status;
        }
    } else {
        /* Ragone et al. (2024), Theorem 1: Var = sum_j P_j(rho) P_j(O) / dim g_j;
         * the centre is fixed by the group and contributes to the mean only. */
        double var = 0, var_first = 0, var_middle = 0;
        for (size_t j = 0; j < m; j++) {
            double dj = (double)algebra->ideals[j].dim;
            var += w.pr[j] * w.po[j] / dj;
            var_first += w.ps[j] * w.po[j] / dj;
            /* Fontana et al. (2024): 1/4 sum_j P_j(rho) P_j(O) kappa_j(G) / dim(g_j)^2 */
            var_middle += 0.25 * w.pr[j] * w.po[j] * w.kappa[j] / (dj * dj);
        }
        r.loss_variance = var;
        /* The first-gate formula needs O in i g or sigma in i g. */
        double sigma_norm2 = 0;
        {
            qml_pauli_sum *g2 = NULL;
            status = qml_pauli_sum_anticommutator(&g2, generator, generator);
            if (status) {
                prediction_work_release(&w);
                return status;
            }
            double g_mean = 0, g2_mean = 0;
            for (size_t i = 0; i < generator->n_terms; i++)
                g_mean += generator->coeff[i] * string_expectation(state, generator->words, generator->x + i * generator->words,
                                                                   generator->z + i * generator->words);
            for (size_t i = 0; i < g2->n_terms; i++)
                g2_mean += g2->coeff[i] * string_expectation(state, g2->words, g2->x + i * g2->words, g2->z + i * g2->words);
            /* ||sigma||_Tr^2 = (1/4) Tr(-[G, rho]^2) = (<G^2> - <G>^2) / 2 for a pure state. */
            sigma_norm2 = 0.5 * (g2_mean - g_mean * g_mean);
            qml_pauli_sum_free(g2);
        }
        bool sigma_member = sigma_norm2 - total_s <= tol * (sigma_norm2 > 1 ? sigma_norm2 : 1);
        r.first_gate_gradient_variance = (o_member || sigma_member) ? var_first : (double)NAN;
        r.middle_gate_gradient_variance = var_middle;
        snprintf(r.message, sizeof r.message, "%s; Var[l] = sum_j P_j(rho) P_j(O) / dim g_j over %zu simple ideal%s%s",
                 qml_lie_hypothesis_string(r.hypothesis), m, m == 1 ? "" : "s",
                 (o_member || sigma_member) ? "" : "; first-gate formula not applicable (neither O nor sigma in i g)");
    }
    prediction_work_release(&w);
    size_t copy = result->size < sizeof r ? result->size : sizeof r;
    size_t caller_size = result->size;
    memcpy(result, &r, copy);
    result->size = caller_size;
    if (status)
        return qml__error(status, "qml_lie_algebra_predict_variance: %s", r.message);
    qml__ok();
    return QML_OK;
}

/* ---- helpers: operators, states, purities --------------------------------------------- */

int qml__lie_check_generators(const qml_pauli_sum *const *generators, size_t count, unsigned *n_qubits)
{
    for (size_t k = 0; k < count; k++) {
        QML_CHECK_ARG(generators[k] != NULL, "qml_lie_algebra_create: generator %zu is NULL", k);
        if (k == 0)
            *n_qubits = generators[k]->n_qubits;
        QML_CHECK_ARG(generators[k]->n_qubits == *n_qubits,
                      "qml_lie_algebra_create: generator %zu acts on %u qubits, generator 0 on %u", k,
                      generators[k]->n_qubits, *n_qubits);
        for (size_t i = 0; i < generators[k]->n_terms; i++)
            QML_CHECK_ARG(isfinite(generators[k]->coeff[i]),
                          "qml_lie_algebra_create: generator %zu has a non-finite coefficient", k);
    }
    return QML_OK;
}

/* Column `column` of a component as a Pauli sum: sum_i coords[i][column] B_{support[i]}. */
int qml__lie_element_to_sum(const qml_lie_algebra *algebra, const double *coords, const lie_component *component,
                          size_t column, qml_pauli_sum **out)
{
    qml_pauli_sum *sum = NULL;
    int status = qml_pauli_sum_create(&sum, algebra->n_qubits);
    if (status)
        return status;
    const string_table *t = &algebra->strings;
    unsigned words = algebra->words;
    /* sparse columns: their entries in support order, as the dense loop meets them */
    size_t n_steps = component->col_nnz ? component->col_nnz : component->n_support;
    for (size_t step = 0; step < n_steps && !status; step++) {
        size_t i = step;
        double y;
        if (component->col_nnz) {
            i = component->rows[column * component->col_nnz + step];
            y = component->vals[column * component->col_nnz + step];
        } else {
            y = coords ? coords[i * component->dim + column] : (i == column ? 1.0 : 0.0);
        }
        if (y == 0.0)
            continue;
        size_t a = component->support[i];
        if (algebra->pure) {
            status = qml__pauli_sum_add_masks(sum, y, t->x + a * words, t->z + a * words);
        } else if (algebra->orbit) {
            /* coefficient c on u_o is c / sqrt|o| on each string of o */
            for (size_t e = algebra->start[a]; e < algebra->start[a + 1] && !status; e++) {
                size_t o = algebra->col[e];
                double v = y * algebra->val[e] / algebra->orbit->root[o];
                orbit_iter it;
                uint64_t x, z;
                qml__lie_orbit_iter_begin(&it, algebra->orbit, t->x[o], t->z[o]);
                while (!status && qml__lie_orbit_iter_next(&it, &x, &z))
                    status = qml__pauli_sum_add_masks(sum, v, &x, &z);
            }
        } else {
            for (size_t e = algebra->start[a]; e < algebra->start[a + 1] && !status; e++) {
                size_t s = algebra->col[e];
                status = qml__pauli_sum_add_masks(sum, y * algebra->val[e], t->x + s * words, t->z + s * words);
            }
        }
    }
    if (status) {
        qml_pauli_sum_free(sum);
        return status;
    }
    if (coords)
        qml__pauli_sum_prune(sum, 1e-13); /* rounding noise of the dense analysis */
    *out = sum;
    qml__ok();
    return QML_OK;
}

int qml__lie_sum_coordinates(const qml_lie_algebra *algebra, const qml_pauli_sum *sum, double *coords)
{
    memset(coords, 0, algebra->dim * sizeof *coords);
    const string_table *t = &algebra->strings;
    for (size_t i = 0; i < sum->n_terms; i++) {
        size_t s;
        double weight = 1.0;
        if (algebra->orbit) {
            /* <u_o, P(s)> = 1 / sqrt|o| for s in o */
            uint64_t x = sum->x[i], z = sum->z[i];
            double size;
            qml__lie_orbit_canonical(algebra->orbit, &x, &z, &size);
            s = qml__lie_table_find(t, &x, &z);
            weight = 1.0 / sqrt(size);
        } else {
            s = qml__lie_table_find(t, sum->x + i * sum->words, sum->z + i * sum->words);
        }
        if (s == SIZE_MAX)
            continue;
        if (algebra->pure) {
            coords[s] += sum->coeff[i];
            continue;
        }
        if (s >= algebra->head_capacity)
            continue;
        for (size_t e = algebra->head[s]; e != SIZE_MAX; e = algebra->node[e].next)
            coords[algebra->node[e].owner] += algebra->node[e].val * (weight * sum->coeff[i]);
    }
    return QML_OK;
}

/* <psi|P(x,z)|psi> with P(x,z)|b> = i^{|x&z|} (-1)^{|z&b|} |b^x>. Every word
 * of the masks counts: a string on qubit >= 64 has word 0 empty. A state
 * exists only for n <= 63 qubits (one word); NULL is |0...0> on any n. */
static double string_expectation(const qml_statevec *state, unsigned words, const uint64_t *xs, const uint64_t *zs)
{
    if (!state) {
        /* <0...0| X^x Z^z |0...0> = [x = 0] */
        for (unsigned w = 0; w < words; w++)
            if (xs[w])
                return 0.0;
        return 1.0;
    }
    uint64_t x = xs[0], z = zs[0];
    for (unsigned w = 1; w < words; w++)
        if (xs[w] | zs[w])
            return 0.0; /* unreachable for a state's qubit count; never read past word 0 silently */
    const double *restrict psi = state->amplitudes;
    uint64_t dim = state->dim;
    double re = 0, im = 0;
    for (uint64_t b = 0; b < dim; b++) {
        uint64_t c = b ^ x;
        /* conj(psi[c]) psi[b] */
        double pr = psi[2 * c] * psi[2 * b] + psi[2 * c + 1] * psi[2 * b + 1];
        double pi = psi[2 * c] * psi[2 * b + 1] - psi[2 * c + 1] * psi[2 * b];
        if (popcount64(z & b) & 1u) {
            pr = -pr;
            pi = -pi;
        }
        re += pr;
        im += pi;
    }
    switch (popcount64(x & z) & 3u) {
    case 0:
        return re;
    case 1:
        return -im;
    case 2:
        return -re;
    default:
        return im;
    }
}

int qml__lie_state_coordinates(const qml_lie_algebra *algebra, const qml_statevec *state, double *t)
{
    const string_table *tab = &algebra->strings;
    unsigned words = algebra->words;
    if (algebra->pure) {
        for (size_t a = 0; a < algebra->dim; a++)
            t[a] = string_expectation(state, words, tab->x + a * words, tab->z + a * words);
        return QML_OK;
    }
    double *ev = qml__malloc((tab->count + 1) * sizeof *ev);
    if (!ev)
        return qml__oom("string expectations");
    for (size_t s = 0; s < tab->count; s++) {
        bool used = s < algebra->head_capacity && algebra->head[s] != SIZE_MAX;
        if (!used) {
            ev[s] = 0.0;
        } else if (!algebra->orbit) {
            ev[s] = string_expectation(state, words, tab->x + s * words, tab->z + s * words);
        } else if (!state) {
            /* <0|u_o|0> = |o| / sqrt|o| when o has no X or Y letter, else 0 */
            ev[s] = tab->x[s] ? 0.0 : algebra->orbit->root[s];
        } else {
            double v = 0;
            orbit_iter it;
            uint64_t x, z;
            qml__lie_orbit_iter_begin(&it, algebra->orbit, tab->x[s], tab->z[s]);
            while (qml__lie_orbit_iter_next(&it, &x, &z))
                v += string_expectation(state, 1, &x, &z);
            ev[s] = v / algebra->orbit->root[s];
        }
    }
    for (size_t a = 0; a < algebra->dim; a++) {
        double v = 0;
        for (size_t e = algebra->start[a]; e < algebra->start[a + 1]; e++)
            v += algebra->val[e] * ev[algebra->col[e]];
        t[a] = v;
    }
    qml__free(ev);
    return QML_OK;
}

static double component_purity(const lie_component *c, const double *coords)
{
    double total = 0;
    for (size_t col = 0; col < c->dim; col++) {
        double v = qml__lie_column_dot(c, col, coords);
        total += v * v;
    }
    return total;
}

void qml__lie_component_purities(const qml_lie_algebra *algebra, const double *coords, double scale, double *total,
                               double *per_component)
{
    if (total) {
        double s = 0;
        for (size_t a = 0; a < algebra->dim; a++)
            s += coords[a] * coords[a];
        *total = scale * s;
    }
    if (!per_component)
        return;
    for (size_t j = 0; j < algebra->n_ideals; j++)
        per_component[j] = scale * component_purity(&algebra->ideals[j], coords);
    per_component[algebra->n_ideals] = scale * component_purity(&algebra->center, coords);
}

/* ---- the exact variance on the g-module generated by O -------------------------------- */

/* E_U[Tr(U rho U^dag O)] and Var for U Haar on e^g, without hypotheses.
 * M = span of O and its nested brackets with the generators is invariant
 * under Ad(e^g), which acts on it by an orthogonal R(U) (orthonormal basis
 * M~_a in Tr(AB)/2^n). With o = coordinates of O and t_a = <psi|M~_a|psi>,
 * l = t^T R(U^dag) o. For a compact connected group, E[R] is the orthogonal
 * projection onto the invariant vectors and E[R A R^T] the orthogonal
 * projection of A onto the commutant {C : C A_k = A_k C for all k}
 * (A_k = ad_{G_k} on M; connected, so commuting with the Lie algebra is
 * commuting with the group). Hence with an orthonormal basis {C_i} of the
 * commutant (Frobenius) and {v_j} of the invariants:
 *   E[l^2] = sum_i (o^T C_i o)(t^T C_i t),  E[l] = sum_j (t.v_j)(o.v_j). */
static int module_average(const qml_lie_algebra *algebra, const qml_statevec *state, const qml_pauli_sum *observable,
                          double *mean, double *variance, size_t *module_dim)
{
    qml_lie_algebra *mod = qml__calloc(1, sizeof *mod);
    if (!mod)
        return qml__oom("a g-module");
    mod->n_qubits = algebra->n_qubits;
    mod->n_threads = 1;
    mod->words = algebra->words;
    mod->strings.words = algebra->words;
    mod->generators = algebra->generators; /* borrowed: detached before the free */
    mod->n_generators = algebra->n_generators;
    closure_run run = {.processed = 0};
    static const qml_lie_options defaults = QML_LIE_OPTIONS_INIT;
    run.options = defaults;
    run.options.max_dim = LIE_MODULE_MEAN_MAX;
    run.smallest_accepted = run.largest_rejected = (double)NAN;
    qml_pauli_sum *const seeds[1] = {(qml_pauli_sum *)(uintptr_t)observable};
    int status = qml__lie_close_general(mod, &run, seeds, 1);
    if (status == QML_ERR_LIMIT)
        status = QML_ERR_NOT_APPLICABLE;
    size_t m = mod->dim, K = mod->n_generators, mm = m * m;
    *module_dim = m;
    /* the commutant needs (m^2)^2 numbers: the variance only for small modules */
    bool with_variance = m <= LIE_MODULE_MAX;
    *variance = (double)NAN;
    double *a = NULL, *l = NULL, *ev = NULL, *o = NULL, *t = NULL, *inv = NULL;
    uint64_t *px = NULL;
    sparse_acc acc = {0};
    if (status)
        goto done;
    a = qml__calloc(K * mm + 1, sizeof *a);
    l = qml__calloc(with_variance ? mm * mm + 1 : 1, sizeof *l);
    ev = qml__calloc(mm + 1, sizeof *ev);
    o = qml__calloc(m + 1, sizeof *o);
    t = qml__calloc(m + 1, sizeof *t);
    inv = qml__calloc(mm + 1, sizeof *inv);
    px = qml__calloc(2 * (size_t)mod->words, sizeof *px);
    if (!a || !l || !ev || !o || !t || !inv || !px) {
        status = qml__oom("the g-module average");
        goto done;
    }
    status = qml__lie_acc_reserve(&acc, mod->strings.count, m);
    if (status)
        goto done;
    /* A_k = ad_{G_k} on M: column b = coordinates of -i[G_k, M~_b] */
    unsigned words = mod->words;
    uint64_t *pz = px + words;
    for (size_t k = 0; k < K; k++) {
        const qml_pauli_sum *g = mod->generators[k];
        for (size_t b = 0; b < m; b++) {
            for (size_t e = mod->start[b]; e < mod->start[b + 1]; e++) {
                size_t sid = mod->col[e];
                const uint64_t *sx = mod->strings.x + sid * words, *sz = mod->strings.z + sid * words;
                for (size_t i = 0; i < g->n_terms; i++) {
                    const uint64_t *tx = g->x + i * words, *tz = g->z + i * words;
                    if (!strings_anticommute(words, tx, tz, sx, sz))
                        continue;
                    for (unsigned w = 0; w < words; w++) {
                        px[w] = tx[w] ^ sx[w];
                        pz[w] = tz[w] ^ sz[w];
                    }
                    size_t id = qml__lie_table_find(&mod->strings, px, pz);
                    if (id != SIZE_MAX)
                        qml__lie_acc_add(&acc, id,
                                g->coeff[i] * mod->val[e] * bracket_sign(strings_product_phase(words, tx, tz, sx, sz)));
                }
            }
            memset(ev, 0, m * sizeof *ev);
            qml__lie_acc_coordinates(mod, &acc, ev);
            qml__lie_acc_clear(&acc);
            for (size_t r2 = 0; r2 < m; r2++)
                a[k * mm + r2 * m + b] = ev[r2];
        }
    }
    /* commutant: rows of (phi A - A phi)_{ij} = sum_q A_{qj} phi_{iq} - A_{iq} phi_{qj},
     * unknown phi_{pq} at index p*m + q; L = sum of row row^T */
    for (size_t k = 0; k < K; k++) {
        const double *ak = a + k * mm;
        for (size_t i = 0; i < m && with_variance; i++)
            for (size_t j = 0; j < m; j++) {
                /* the row has entries at (i, q) with A_{qj} and (q, j) with -A_{iq} */
                for (size_t q1 = 0; q1 < 2 * m; q1++) {
                    size_t u1 = q1 < m ? i * m + q1 : (q1 - m) * m + j;
                    double c1 = q1 < m ? ak[q1 * m + j] : -ak[i * m + (q1 - m)];
                    if (c1 == 0.0)
                        continue;
                    for (size_t q2 = 0; q2 < 2 * m; q2++) {
                        size_t u2 = q2 < m ? i * m + q2 : (q2 - m) * m + j;
                        double c2 = q2 < m ? ak[q2 * m + j] : -ak[i * m + (q2 - m)];
                        l[u1 * mm + u2] += c1 * c2;
                    }
                }
            }
        /* invariants: N = sum_k A_k^T A_k */
        for (size_t p = 0; p < m; p++)
            for (size_t q = 0; q < m; q++) {
                double v = 0;
                for (size_t r2 = 0; r2 < m; r2++)
                    v += ak[r2 * m + p] * ak[r2 * m + q];
                inv[p * m + q] += v;
            }
    }
    status = qml__lie_sum_coordinates(mod, observable, o);
    if (!status)
        status = qml__lie_state_coordinates(mod, state, t);
    if (!status && with_variance)
        status = qml__lie_symmetric_eigen(mm, l, ev, true);
    if (status)
        goto done;
    double top = with_variance ? fmax(ev[mm - 1], 0.0) : 0.0, second = 0;
    for (size_t c = 0; c < mm && with_variance && ev[c] <= LIE_STRUCT_TOL * top + 1e-300; c++) {
        const double *ci = l + c * mm;
        double oco = 0, tct = 0;
        for (size_t p = 0; p < m; p++)
            for (size_t q = 0; q < m; q++) {
                oco += o[p] * ci[p * m + q] * o[q];
                tct += t[p] * ci[p * m + q] * t[q];
            }
        second += oco * tct;
    }
    status = qml__lie_symmetric_eigen(m, inv, ev, true);
    if (status)
        goto done;
    top = fmax(ev[m - 1], 0.0);
    double first = 0;
    for (size_t c = 0; c < m && ev[c] <= LIE_STRUCT_TOL * top + 1e-300; c++) {
        double tv = 0, ov = 0;
        for (size_t p = 0; p < m; p++) {
            tv += t[p] * inv[c * m + p];
            ov += o[p] * inv[c * m + p];
        }
        first += tv * ov;
    }
    *mean = first;
    if (with_variance) {
        double var = second - first * first;
        *variance = var < 0 && var > -1e-12 ? 0.0 : var;
    }
done:
    qml__lie_acc_release(&acc);
    qml__free(a);
    qml__free(l);
    qml__free(ev);
    qml__free(o);
    qml__free(t);
    qml__free(inv);
    qml__free(px);
    mod->generators = NULL;
    mod->n_generators = 0;
    qml_lie_algebra_free(mod);
    return status;
}


/* ---- predictions from the Pauli-string classification ------------------------------- */

int qml__lie_part_prediction(const qml_lie_algebra *algebra, pauli_prediction *pred)
{
    const qml_pauli_sum *o = pred->observable;
    if (!algebra->pure) {
        if (!pred->unknown)
            snprintf(pred->why, sizeof pred->why, "a closed part is not spanned by strings");
        pred->unknown = 1;
        return QML_OK;
    }
    size_t d = algebra->dim, m = algebra->n_ideals;
    double *oc = qml__calloc(d + 1, sizeof *oc), *t = qml__calloc(d + 1, sizeof *t);
    double *po = qml__calloc(m + 1, sizeof *po), *pr = qml__calloc(m + 1, sizeof *pr);
    double *kappa = qml__calloc(m + 1, sizeof *kappa);
    double *u = qml__calloc(d + 1, sizeof *u), *ps = qml__calloc(m + 1, sizeof *ps);
    if (!oc || !t || !po || !pr || !kappa || !u || !ps) {
        qml__free(oc);
        qml__free(t);
        qml__free(po);
        qml__free(pr);
        qml__free(kappa);
        qml__free(u);
        qml__free(ps);
        return qml__oom("a prediction from the classification");
    }
    int status = qml__lie_sum_coordinates(algebra, o, oc);
    if (!status)
        status = qml__lie_state_coordinates(algebra, NULL, t);
    const string_table *tab = &algebra->strings;
    int gate_in = qml__lie_table_find(tab, pred->gate->x, pred->gate->z) != SIZE_MAX;
    if (!status && gate_in)
        status = middle_gate_kappa(algebra, pred->gate, kappa);
    if (!status && gate_in) {
        /* Tr(Q_a sigma), sigma = -(i/2)[G, rho]: (c_G / 2) <0| -i[Q_a, P_G] |0> */
        const qml_pauli_sum *gate = pred->gate;
        unsigned words = algebra->words;
        uint64_t *rx = qml__malloc(2 * (size_t)words * sizeof *rx);
        if (!rx)
            status = qml__oom("a prediction from the classification");
        for (size_t a = 0; rx && a < d; a++) {
            const uint64_t *qx = tab->x + a * words, *qz = tab->z + a * words;
            if (!strings_anticommute(words, qx, qz, gate->x, gate->z))
                continue;
            for (unsigned w = 0; w < words; w++) {
                rx[w] = qx[w] ^ gate->x[w];
                rx[words + w] = qz[w] ^ gate->z[w];
            }
            unsigned phase = strings_product_phase(words, qx, qz, gate->x, gate->z);
            u[a] = 0.5 * gate->coeff[0] * bracket_sign(phase) * string_expectation(NULL, words, rx, rx + words);
        }
        qml__free(rx);
        pred->gate_found = 1;
    }
    if (!status) {
        for (size_t i = 0; i < o->n_terms; i++)
            if (qml__lie_table_find(tab, o->x + i * o->words, o->z + i * o->words) != SIZE_MAX)
                pred->term_in_g[i] = 1;
        /* P_j(rho) P_j(O) = (2^-n sum t^2)(2^n sum o^2): the powers of two cancel */
        double total_r = 0;
        qml__lie_component_purities(algebra, oc, 1.0, NULL, po);
        qml__lie_component_purities(algebra, t, 1.0, &total_r, pr);
        qml__lie_component_purities(algebra, u, 1.0, NULL, ps);
        for (size_t j = 0; j < m; j++) {
            double dj = (double)algebra->ideals[j].dim;
            pred->var += pr[j] * po[j] / dj;
            pred->var_first += ps[j] * po[j] / dj;
            pred->var_middle += 0.25 * pr[j] * po[j] * kappa[j] / (dj * dj);
        }
        pred->nz += total_r;
        const lie_component *z = &algebra->center;
        for (size_t col = 0; col < z->dim; col++)
            pred->mean += qml__lie_column_dot(z, col, oc) * qml__lie_column_dot(z, col, t);
    }
    qml__free(oc);
    qml__free(t);
    qml__free(po);
    qml__free(pr);
    qml__free(kappa);
    qml__free(u);
    qml__free(ps);
    return status;
}

/* Var[l] for rho = |0...0> from the classification: the sums of
 * pauli_prediction (lie_classify.c says what each part adds). */
int qml_pauli_dla_predict_variance(const qml_pauli_sum *const *generators, size_t count,
                                   const qml_pauli_sum *observable, const qml_pauli_sum *gate_generator,
                                   const qml_pauli_dla_options *options, qml_lie_prediction *result)
{
    QML_CHECK_NULL(observable);
    QML_CHECK_NULL(result);
    QML_CHECK_ARG(result->size >= offsetof(qml_lie_prediction, message) + 1,
                  "%s: result->size is %zu; initialise it with QML_LIE_PREDICTION_INIT", __func__, result->size);
    qml_pauli_dla_options opts;
    static const qml_pauli_dla_options defaults = QML_PAULI_DLA_OPTIONS_INIT;
    int status = qml__options_copy(&opts, sizeof opts, options, &defaults, __func__);
    if (status)
        return status;
    unsigned n = 0;
    if ((status = qml__pauli_check_strings(generators, count, &n, __func__)))
        return status;
    QML_CHECK_ARG(observable->n_qubits == n, "%s: observable on %u qubits, generators on %u", __func__,
                  observable->n_qubits, n);
    for (size_t i = 0; i < observable->n_terms; i++)
        QML_CHECK_ARG(isfinite(observable->coeff[i]), "%s: observable term %zu is not finite", __func__, i);
    const qml_pauli_sum *gate = gate_generator ? gate_generator : generators[0];
    QML_CHECK_ARG(gate->n_qubits == n && gate->n_terms == 1 && isfinite(gate->coeff[0]),
                  "%s: the gate generator must be one Pauli string with a finite coefficient on %u qubits", __func__,
                  n);
    pauli_prediction p;
    memset(&p, 0, sizeof p);
    p.observable = observable;
    p.gate = gate;
    p.term_in_g = qml__calloc(observable->n_terms + 1, 1);
    if (!p.term_in_g)
        return qml__oom("a prediction from the classification");
    pauli_classification c;
    status = qml__pauli_classify_ex(generators, count, n, opts.no_closure != 0, &p, &c);
    if (status) {
        qml__free(p.term_in_g);
        return status;
    }
    qml__pauli_classification_release(&c);

    qml_lie_prediction r = QML_LIE_PREDICTION_INIT;
    int o_member = 1;
    for (size_t i = 0; i < observable->n_terms; i++) {
        if (sum_identity_term(observable, i))
            p.mean += observable->coeff[i]; /* fixed by the group */
        else
            o_member &= p.term_in_g[i];
    }
    qml__free(p.term_in_g);
    int rho_member = p.rho_in_g || (n < 53 && p.nz == ldexp(1.0, (int)n) - 1.0);
    r.hypothesis = o_member ? QML_LIE_HYPOTHESIS_OBSERVABLE
                            : (rho_member ? QML_LIE_HYPOTHESIS_STATE : QML_LIE_HYPOTHESIS_NONE);
    r.first_gate_gradient_variance = (double)NAN;
    status = QML_OK;
    if (p.unknown) {
        r.loss_mean = r.loss_variance = r.middle_gate_gradient_variance = (double)NAN;
        snprintf(r.message, sizeof r.message, "not computed: %s", p.why);
        status = QML_ERR_NOT_APPLICABLE;
    } else if (r.hypothesis == QML_LIE_HYPOTHESIS_NONE) {
        r.loss_mean = r.loss_variance = r.middle_gate_gradient_variance = (double)NAN;
        snprintf(r.message, sizeof r.message,
                 "neither O nor |0...0><0...0| lies in i g (+ identity), so the formula of Ragone et al. does not "
                 "apply (the exact average needs a basis: qml_lie_algebra_predict_variance)");
        status = QML_ERR_NOT_APPLICABLE;
    } else {
        r.loss_mean = p.mean;
        r.loss_variance = p.var;
        r.middle_gate_gradient_variance = p.var_middle;
        /* The first-gate formula holds as the loss formula does (with rho in
         * i g so is sigma = -(i/2)[G, rho], G in g); it is summed where the
         * gate's part counts it (lie_classify_predict.c) */
        int first = p.gate_found && !p.first_unknown;
        if (first)
            r.first_gate_gradient_variance = p.var_first;
        snprintf(r.message, sizeof r.message,
                 "%s; Var[l] = sum_j P_j(rho) P_j(O) / dim g_j from the classification, without a basis; %s",
                 qml_lie_hypothesis_string(r.hypothesis),
                 first ? "first-gate variance from the same counts"
                 : p.gate_found ? "first-gate formula not computed for the gate's part"
                                : "first-gate formula not computed (the gate's string is not in g)");
    }
    size_t caller_size = result->size, copy = caller_size < sizeof r ? caller_size : sizeof r;
    memcpy(result, &r, copy);
    result->size = caller_size;
    if (status)
        return qml__error(status, "qml_pauli_dla_predict_variance: %s", r.message);
    qml__ok();
    return QML_OK;
}
