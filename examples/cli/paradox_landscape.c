/*
 * paradox_landscape.c: the landscape part of `qml paradox`: for each model,
 * qubit count and depth, the variance at initialisation of the readout
 * l = <O>, of the middle weight's gradient dl/dw_mid and of the
 * data-averaged training loss, beside the Lie-algebraic predictions
 * (closed forms, or lie.c's from the computed algebra). One row of
 * landscape.csv per (model, n, L), written as it finishes.
 */
#include "cli.h"
#include "paradox.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PARADOX_PI 3.14159265358979323846

static const int land_kinds[3] = {PARADOX_KIND_UNSTRUCTURED, PARADOX_KIND_PERMUTATION, PARADOX_KIND_FREE_FERMION};

/* ---- closed forms -------------------------------------------------------------- */

/* dim g of each template (docs/paradox.md):
 * unstructured su(2^n): 4^n - 1;
 * permutation: the generators S_X, S_Y, S_Z^2 act on each spin-J sector
 * V_J (J = n/2, n/2 - 1, ...) of the collective spin; the DLA is
 * (+)_J su(2J + 1) plus one central element (the part of sum Z_i Z_j that is
 * a multiple of the identity on each sector), so dim = 1 + sum_J ((2J+1)^2 - 1)
 * (checked against the closure for n = 2..9);
 * free fermions so(2n): n (2n - 1). */
uint64_t paradox_dla_closed_form(int kind, unsigned n)
{
    switch (kind) {
    case PARADOX_KIND_UNSTRUCTURED:
        return n <= 31 ? (UINT64_C(1) << (2 * n)) - 1 : 0;
    case PARADOX_KIND_PERMUTATION: {
        uint64_t dim = 1;
        for (int twice_j = (int)n; twice_j >= 0; twice_j -= 2)
            dim += (uint64_t)(twice_j + 1) * (uint64_t)(twice_j + 1) - 1;
        return dim;
    }
    case PARADOX_KIND_FREE_FERMION:
        return (uint64_t)n * (2 * (uint64_t)n - 1);
    }
    return 0;
}

/* Var[l] for U Haar on e^g, rho = |0...0>, in closed form where derived:
 * unstructured (Ragone et al. 2024 with g = su(d), d = 2^n):
 * P_g(rho) = 1 - 1/d, P_g(Z_0) = d, so Var = (d - 1) / (d^2 - 1) = 1 / (d + 1);
 * permutation: rho lies in the symmetric sector (J = n/2, su(n + 1)) only,
 * P(rho) = n / (n + 1), P((1/n) S_Z) = (n + 1)(n + 2) / (3n) on that sector,
 * dim = n (n + 2): Var = 1 / (3n);
 * free fermions, g = so(2n) spanned by the n (2n - 1) Pauli strings that
 * are quadratic in the Majorana operators (Jordan-Wigner with the bonds
 * Z_q Z_q+1 and the fields X_q quadratic): with B_a = P_a / sqrt(2^n),
 * P_g(O) = 2^n for the readout Z_0 Z_1 (one such string) and
 * P_g(rho) = c / 2^n with c = n - 1 the strings in g made of Z only
 * (Z_q Z_q+1), so Var = c / dim g = (n - 1) / (n (2n - 1)).
 * NaN where not derived. */
double paradox_loss_variance_closed_form(int kind, unsigned n)
{
    if (kind == PARADOX_KIND_UNSTRUCTURED)
        return 1.0 / (ldexp(1.0, (int)n) + 1.0);
    if (kind == PARADOX_KIND_PERMUTATION)
        return 1.0 / (3.0 * n);
    if (kind == PARADOX_KIND_FREE_FERMION && n >= 2)
        return (n - 1.0) / (n * (2.0 * n - 1.0));
    return NAN;
}

/* The middle-gate gradient variance of Fontana et al. (Nat. Commun. 15, 7171
 * (2024)), Var[dl/dw] = 1/4 sum_j P_j(rho) P_j(O) kappa_j(G) / dim(g_j)^2,
 * with kappa_j(G) = sum_a ||[G, B_a]||^2 over a Tr-orthonormal basis of
 * i g_j, in closed form (docs/paradox.md derives both):
 * unstructured, g = su(d), d = 2^n, G a Pauli string (scale 1): 2^(2n-1) of
 * the 4^n - 1 normalised basis strings anticommute with G, each giving
 * ||[G, B]||^2 = 4, so kappa = 2^(2n+1) = 2 d^2, and with P(rho) = 1 - 1/d,
 * P(Z_0) = d: Var = d^2 / (2 (d - 1) (d + 1)^2);
 * permutation: only the symmetric sector (su(n + 1), d = n + 1) has
 * P_j(rho) != 0; there P(rho) = n/(n+1), P(O) = (n+1)(n+2)/(3n), and
 * kappa = sum_{i,j} (a_i - a_j)^2 = 2 d sum a^2 - 2 (sum a)^2 over the
 * eigenvalues a of G on that sector, so Var = kappa / (12 n^2 (n + 2)). The
 * middle weight (index 3L/2) is the two-body gate for even L, G =
 * (2/n) sum_{q<r} Z_q Z_r = S_Z^2/n - 1 (a = m^2/n, m = -n, -n+2, ..., n),
 * else an RX or RY weight, G = S_X or S_Y (a = m);
 * free fermions: every weight generator is one quadratic Majorana string
 * (scale 1), which anticommutes with the 2 (2n - 2) basis strings sharing
 * one of its two Majorana indices, each giving ||[G, B]||^2 = 4, so
 * kappa = 16 (n - 1) and Var = 4 (n - 1)^2 / (n^2 (2n - 1)^2) (with
 * P(rho) P(O) = n - 1 as above). NaN where not derived. */
double paradox_mid_gradient_closed_form(int kind, unsigned n, size_t mid)
{
    if (kind == PARADOX_KIND_UNSTRUCTURED) {
        double d = ldexp(1.0, (int)n);
        return d * d / (2.0 * (d - 1.0) * (d + 1.0) * (d + 1.0));
    }
    if (kind == PARADOX_KIND_PERMUTATION) {
        double sum_a = 0.0, sum_a2 = 0.0, d = n + 1.0;
        for (int m = -(int)n; m <= (int)n; m += 2) {
            double a = mid % 3 == 0 ? (double)(m * m) / n : (double)m;
            sum_a += a;
            sum_a2 += a * a;
        }
        double kappa = 2.0 * d * sum_a2 - 2.0 * sum_a * sum_a;
        return kappa / (12.0 * n * (double)n * (n + 2.0));
    }
    if (kind == PARADOX_KIND_FREE_FERMION && n >= 2) {
        double dim = n * (2.0 * n - 1.0);
        return 4.0 * (n - 1.0) * (n - 1.0) / (dim * dim);
    }
    return NAN;
}

/* U P U for a Hermitian unitary U (a CZ as a Pauli sum), from anticommutators
 * only: {U, {U, P}} = 2P + 2 UPU, and anticommutator() returns {A, B} / 2, so
 * UPU = 2 anti(U, anti(U, P)) - P. */
static int conjugate(qml_pauli_sum **p, const qml_pauli_sum *u)
{
    qml_pauli_sum *a = NULL, *b = NULL;
    int status = qml_pauli_sum_anticommutator(&a, u, *p);
    if (!status)
        status = qml_pauli_sum_anticommutator(&b, u, a);
    if (!status)
        status = qml_pauli_sum_scale(b, 2.0);
    if (!status)
        status = qml_pauli_sum_add(b, -1.0, *p);
    qml_pauli_sum_free(a);
    if (status) {
        qml_pauli_sum_free(b);
        return status;
    }
    qml_pauli_sum_free(*p);
    *p = b;
    return QML_OK;
}

/* The generators whose Lie closure is the model's DLA: for each weight, the
 * sum over the gates reading it of weight_scale * W^dag G W, where W is the
 * product of the fixed (CZ) gates applied before the gate, i.e. the fixed
 * gates are moved to the start of the circuit (where they leave |0...0>
 * unchanged). Feature gates are left out: for the three templates their
 * generators already lie in the algebra (docs/paradox.md). */
static int dla_generators(const qml_circuit *circuit, qml_pauli_sum ***out, size_t *count)
{
    unsigned n = qml_circuit_n_qubits(circuit);
    size_t n_weights = qml_circuit_n_weights(circuit), n_gates = qml_circuit_n_gates(circuit);
    qml_pauli_sum **gens = calloc(n_weights, sizeof *gens);
    qml_pauli_sum **fixed = calloc(n_gates + 1, sizeof *fixed);
    size_t n_fixed = 0;
    int status = gens && fixed ? QML_OK : QML_ERR_OUT_OF_MEMORY;
    for (size_t w = 0; w < n_weights && !status; w++)
        status = qml_pauli_sum_create(&gens[w], n);
    for (size_t i = 0; i < n_gates && !status; i++) {
        qml_gate_kind kind;
        unsigned qubits[3];
        size_t nq;
        status = qml_circuit_gate(circuit, i, &kind, qubits, &nq);
        if (status)
            break;
        if (kind == QML_GATE_CZ) {
            /* CZ = (I + Z_a + Z_b - Z_a Z_b) / 2 */
            status = qml_pauli_sum_create(&fixed[n_fixed], n);
            if (!status)
                status = qml_pauli_sum_add_term(fixed[n_fixed], 0.5, "", NULL, 0);
            if (!status)
                status = qml_pauli_sum_add_term(fixed[n_fixed], 0.5, "Z", &qubits[0], 1);
            if (!status)
                status = qml_pauli_sum_add_term(fixed[n_fixed], 0.5, "Z", &qubits[1], 1);
            if (!status)
                status = qml_pauli_sum_add_term(fixed[n_fixed], -0.5, "ZZ", qubits, 2);
            n_fixed++;
            continue;
        }
        if (kind < QML_GATE_RX) {
            fprintf(stderr, "qml: paradox: fixed gate kind %d is not supported in the DLA\n", (int)kind);
            status = QML_ERR_UNSUPPORTED;
            break;
        }
        long weight;
        double scale;
        status = qml_circuit_gate_angle(circuit, i, NULL, &weight, &scale, NULL, NULL);
        if (status || weight == QML_NONE)
            continue;
        qml_pauli_sum *g = NULL;
        status = qml_circuit_gate_generator(circuit, i, &g);
        for (size_t k = n_fixed; k-- > 0 && !status;)
            status = conjugate(&g, fixed[k]);
        if (!status)
            status = qml_pauli_sum_add(gens[weight], scale, g);
        qml_pauli_sum_free(g);
    }
    for (size_t k = 0; k < n_fixed; k++)
        qml_pauli_sum_free(fixed[k]);
    free(fixed);
    if (status) {
        for (size_t w = 0; gens && w < n_weights; w++)
            qml_pauli_sum_free(gens[w]);
        free(gens);
        return status;
    }
    *out = gens;
    *count = n_weights;
    return QML_OK;
}

/* The algebra of a model's weights, from its two-layer circuit (every layer
 * has the same generators, so the DLA does not depend on L >= 2; the second
 * layer is needed for the unstructured model, whose CZ ladder acts on the
 * generators that follow it), and the predictions for the middle weight of
 * an L-layer circuit: the generator at the same position of a layer (the
 * second layer's, conjugated by the first layer's CZs where there are any;
 * for su(2^n) every Pauli-string generator has the same prediction). */
typedef struct prediction {
    uint64_t dla_dim;
    bool computed;           /* dla_dim and the predictions come from lie.c */
    double loss;             /* Var[l] predicted (NaN: none) */
    double mid;              /* Var[dl/dw_mid] predicted */
    const char *source;      /* "computed", "closed form" or "none" */
} prediction;

static int predict(const paradox_setup *s, int kind, unsigned n, unsigned layers, size_t n_weights, prediction *out)
{
    size_t per_layer = n_weights / layers, mid = n_weights / 2, pos = mid % per_layer;
    out->dla_dim = paradox_dla_closed_form(kind, n);
    out->computed = false;
    out->loss = paradox_loss_variance_closed_form(kind, n);
    /* The closed form of the middle gate: the generator at `pos` of a layer
     * (every layer has the same generators; no fixed gate precedes the
     * weights of the permutation model). */
    out->mid = paradox_mid_gradient_closed_form(kind, n, pos);
    out->source = isfinite(out->mid) ? "closed form" : "none";
    bool attempt = !(kind == PARADOX_KIND_UNSTRUCTURED && out->dla_dim > s->lie_max_dim) &&
                   !(kind == PARADOX_KIND_PERMUTATION && n > s->lie_max_qubits_general);
    if (!attempt)
        return 0;
    qml_model *model = NULL;
    int status = qml_model_create_template(&model, (qml_model_kind)kind, n, 2, 2, QML_LOSS_BCE);
    qml_pauli_sum **gens = NULL;
    size_t count = 0;
    if (!status)
        status = dla_generators(qml_model_circuit(model), &gens, &count);
    qml_lie_options lopt = QML_LIE_OPTIONS_INIT;
    lopt.max_dim = s->lie_max_dim;
    lopt.n_threads = s->threads;
    qml_lie_algebra *algebra = NULL;
    if (!status)
        status = qml_lie_algebra_create(&algebra, (const qml_pauli_sum *const *)gens, count, &lopt);
    if (!status) {
        out->dla_dim = qml_lie_algebra_dim(algebra);
        out->computed = true;
        qml_lie_prediction p = QML_LIE_PREDICTION_INIT;
        int st = qml_lie_algebra_predict_variance(algebra, NULL, qml_model_readout(model), gens[per_layer + pos], &p);
        if (st == QML_OK) {
            out->loss = p.loss_variance;
            out->mid = p.middle_gate_gradient_variance;
            out->source = "computed";
        } else if (st != QML_ERR_NOT_APPLICABLE && st != QML_ERR_LIMIT) {
            status = st;
        }
    } else if (status == QML_ERR_LIMIT) {
        status = QML_OK; /* the closure stopped at the cap: closed forms */
    }
    qml_lie_algebra_free(algebra);
    for (size_t k = 0; k < count; k++)
        qml_pauli_sum_free(gens[k]);
    free(gens);
    qml_model_free(model);
    return status ? cli_fail("paradox: DLA and its prediction", status) : 0;
}

/* The sample variance of m values and its standard error,
 * sqrt((m4 - s^4 (m - 3) / (m - 1)) / m) with the central moments. */
static void variance_se(const double *v, size_t m, double *var, double *se)
{
    double mean = 0.0, m2 = 0.0, m4 = 0.0;
    for (size_t i = 0; i < m; i++)
        mean += v[i];
    mean /= (double)m;
    for (size_t i = 0; i < m; i++) {
        double d = (v[i] - mean) * (v[i] - mean);
        m2 += d;
        m4 += d * d;
    }
    *var = m2 / (double)(m - 1);
    m4 /= (double)m;
    double q = m4 - *var * *var * (double)(m - 3) / (double)(m - 1);
    *se = sqrt(fmax(q, 0.0) / (double)m);
}

/* Var over uniform weight draws of the mean training loss (BCE, head a = 1,
 * b = 0) on the first data_rows training rows. Draw d takes weight j as
 * 2 pi u from stream (seed, d): the same bits for any thread count. */
static int data_loss_variance(const paradox_setup *s, qml_model *model, const qml_dataset *rows, uint64_t seed,
                              paradox_progress *p, double *var, double *se)
{
    size_t nw = qml_model_n_weights(model), m = s->land_samples;
    double *params = malloc((nw + 2) * sizeof *params), *loss = malloc(m * sizeof *loss);
    int status = params && loss ? QML_OK : QML_ERR_OUT_OF_MEMORY;
    for (size_t d = 0; d < m && !status; d++) {
        uint64_t state = paradox_mix(seed, 0x64617461, d);
        for (size_t j = 0; j < nw; j++)
            params[j] = 2.0 * PARADOX_PI * paradox_uniform(&state);
        params[nw] = 1.0;
        params[nw + 1] = 0.0;
        status = qml_model_set_params(model, params, nw + 2);
        if (!status)
            status = qml_model_evaluate(model, rows, s->threads, &loss[d], NULL);
        if (d % 50 == 0)
            paradox_on_samples("data-averaged loss", d, m, p);
        if (p->interrupted && *p->interrupted)
            status = QML_ERR_CANCELLED;
    }
    if (!status)
        variance_se(loss, m, var, se);
    free(params);
    free(loss);
    return status;
}

static bool rung_wanted(const paradox_setup *s, int kind, unsigned n, size_t d, unsigned *layers, bool *data)
{
    if (d < s->n_depth_factors) {
        *layers = s->depth_factors[d] * n;
        *data = true;
        return true;
    }
    if (d > s->n_depth_factors || kind != PARADOX_KIND_FREE_FERMION || !s->ff_quadratic)
        return false;
    /* The matchgate rung L = ff_quadratic n^2 where affordable, else the
     * deepest multiple of 8 n below it that fits the cap. */
    unsigned target = s->ff_quadratic * n * n, step = 8 * n;
    double unit = paradox_gates_per_layer(kind, n) * ldexp(1.0, (int)n);
    unsigned affordable = (unsigned)fmin(s->depth_cost_cap / unit, (double)target);
    unsigned reach = affordable >= target ? target : affordable / step * step;
    unsigned deepest = s->depth_factors[s->n_depth_factors - 1] * n;
    if (reach <= deepest)
        return false;
    *layers = reach;
    *data = false;
    return true;
}

int paradox_landscape(const paradox_setup *s, paradox_tables *t, paradox_progress *p, bool count_only)
{
    qml_dataset *train = NULL, *test = NULL, *rows = NULL;
    double point[2] = {0.0, 0.0};
    int status = QML_OK;
    if (!count_only) {
        status = paradox_moons(s, &train, &test);
        size_t idx[64];
        size_t nr = s->data_rows < 64 ? s->data_rows : 64;
        for (size_t i = 0; i < nr; i++)
            idx[i] = i;
        if (!status)
            status = qml_dataset_subset(&rows, train, idx, nr);
        if (!status)
            status = qml_dataset_row(train, 0, point, 2, NULL);
        if (status) {
            qml_dataset_free(train);
            qml_dataset_free(test);
            return cli_fail("paradox: data", status);
        }
    }
    int code = 0;
    for (size_t k = 0; k < 3 && !code; k++) {
        int kind = land_kinds[k];
        for (size_t q = 0; q < s->n_land_qubits && !code; q++) {
            unsigned n = s->land_qubits[q];
            for (size_t d = 0; d <= s->n_depth_factors && !code; d++) {
                unsigned layers;
                bool data;
                if (!rung_wanted(s, kind, n, d, &layers, &data))
                    continue;
                char key[96];
                snprintf(key, sizeof key, "%s,%u,%u", paradox_kind_name(kind), n, layers);
                if (paradox_table_find(&t->landscape, key) >= 0)
                    continue;
                double cost = paradox_gates_per_layer(kind, n) * layers * ldexp(1.0, (int)n);
                double units = cost * (double)s->land_samples * (3.0 + (data ? (double)s->data_rows : 0.0));
                if (count_only) {
                    p->jobs_total++;
                    p->units_total += units;
                    continue;
                }
                double start = cli_seconds();
                qml_model *model = NULL;
                status = qml_model_create_template(&model, (qml_model_kind)kind, n, layers, 2, QML_LOSS_BCE);
                if (status) {
                    code = cli_fail("paradox: model", status);
                    break;
                }
                size_t nw = qml_model_n_weights(model);
                prediction pr;
                code = predict(s, kind, n, layers, nw, &pr);
                snprintf(p->prefix, sizeof p->prefix, "landscape %s n=%u L=%u", paradox_kind_name(kind), n, layers);
                qml_landscape_options lopt = QML_LANDSCAPE_OPTIONS_INIT;
                lopt.samples = s->land_samples;
                lopt.seed = paradox_mix(s->seed, 0x6c616e64, (uint64_t)kind << 40 | (uint64_t)n << 20 | layers);
                lopt.params = QML_PARAMS_MIDDLE;
                lopt.n_threads = s->threads;
                lopt.progress = paradox_on_samples;
                lopt.progress_user = p;
                int backend = 0;
                if (!code)
                    status = paradox_choose_backend(s, qml_model_circuit(model), qml_model_readout(model), 0, &backend);
                lopt.backend = (qml_backend)backend;
                double vl = NAN, vl_se = NAN, vm = NAN, vm_se = NAN, vd = NAN, vd_se = NAN;
                qml_gradient_stats *stats = NULL;
                if (!code && !status)
                    status = qml_gradient_stats_create(&stats, qml_model_circuit(model), qml_model_readout(model),
                                                       NULL, point, 2, &lopt);
                if (!code && !status)
                    status = qml_gradient_stats_loss(stats, NULL, NULL, &vl, &vl_se);
                if (!code && !status)
                    status = qml_gradient_stats_weight(stats, nw / 2, NULL, NULL, &vm, &vm_se);
                qml_gradient_stats_free(stats);
                if (!code && !status && data)
                    status = data_loss_variance(s, model, rows, lopt.seed, p, &vd, &vd_se);
                qml_model_free(model);
                if (code)
                    break;
                if (status) {
                    code = status == QML_ERR_CANCELLED ? 3 : cli_fail("paradox: landscape", status);
                    break;
                }
                double seconds = cli_seconds() - start;
                code = paradox_table_append(&t->landscape,
                                            "%s,%u,%u,%zu,%zu,%.17g,%.17g,%.17g,%.17g,%zu,%.17g,%.17g,%" PRIu64
                                            ",%s,%.17g,%.17g,%s,%.3f,%s",
                                            paradox_kind_name(kind), n, layers, nw, s->land_samples, vl, vl_se, vm,
                                            vm_se, data ? s->data_rows : 0, vd, vd_se, pr.dla_dim,
                                            pr.computed ? "computed" : "closed form", pr.loss, pr.mid, pr.source,
                                            seconds, paradox_backend_name(backend));
                paradox_progress_done(p, p->prefix, units, seconds);
            }
        }
    }
    qml_dataset_free(rows);
    qml_dataset_free(train);
    qml_dataset_free(test);
    return code;
}

/* ---- large n on the algebra simulators ------------------------------------------------ */

/* The permutation model (collective encoding) and the free-fermion model at
 * n = large_qubits and L = f n for every depth factor f: Var[l] and
 * Var[dl/dw_mid] over large_samples uniform draws on the backend the row
 * chooses (no statevector holds these n), against the closed forms (lie.c's
 * closure would need bases of n (2n - 1) or more elements; the closed forms
 * equal its predictions where both exist, which tests/check_paradox.py
 * checks on the small-n rows). The data-averaged loss is left out: the
 * model's evaluation runs on the statevector. One row of large.csv per
 * (model, n, L); draw d of a row uses stream d of a seed mixed from
 * (seed, model, n, L) only. */
int paradox_landscape_large(const paradox_setup *s, paradox_tables *t, paradox_progress *p, bool count_only)
{
    static const int kinds[2] = {PARADOX_KIND_PERMUTATION, PARADOX_KIND_FREE_FERMION};
    if (!s->n_large_qubits)
        return 0;
    double point[2] = {0.0, 0.0};
    if (!count_only) {
        qml_dataset *train = NULL, *test = NULL;
        int status = paradox_moons(s, &train, &test);
        if (!status)
            status = qml_dataset_row(train, 0, point, 2, NULL);
        qml_dataset_free(train);
        qml_dataset_free(test);
        if (status)
            return cli_fail("paradox: data", status);
    }
    int code = 0;
    for (size_t k = 0; k < 2 && !code; k++) {
        int kind = kinds[k];
        for (size_t q = 0; q < s->n_large_qubits && !code; q++) {
            unsigned n = s->large_qubits[q];
            for (size_t d = 0; d < s->n_depth_factors && !code; d++) {
                unsigned layers = s->depth_factors[d] * n;
                char key[96];
                snprintf(key, sizeof key, "%s,%u,%u", paradox_kind_name(kind), n, layers);
                if (paradox_table_find(&t->large, key) >= 0)
                    continue;
                double units = paradox_algebra_units(kind, n, layers) * (double)s->large_samples * 3.0;
                if (count_only) {
                    p->jobs_total++;
                    p->units_total += units;
                    continue;
                }
                double start = cli_seconds();
                qml_model *model = NULL;
                int status = qml_model_create_template(&model, (qml_model_kind)kind, n, layers, 2, QML_LOSS_BCE);
                int backend = status ? 0 : paradox_algebraic_backend(s, model);
                if (!status && !backend)
                    status = QML_ERR_NOT_APPLICABLE;
                size_t nw = model ? qml_model_n_weights(model) : 0;
                size_t pos = layers ? (nw / 2) % (nw / layers) : 0;
                snprintf(p->prefix, sizeof p->prefix, "large-n landscape %s n=%u L=%u", paradox_kind_name(kind), n,
                         layers);
                qml_landscape_options lopt = QML_LANDSCAPE_OPTIONS_INIT;
                lopt.samples = s->large_samples;
                lopt.seed = paradox_mix(s->seed, 0x6c617267, (uint64_t)kind << 40 | (uint64_t)n << 20 | layers);
                lopt.params = QML_PARAMS_MIDDLE;
                lopt.n_threads = s->threads;
                lopt.progress = paradox_on_samples;
                lopt.progress_user = p;
                lopt.backend = (qml_backend)backend;
                double vl = NAN, vl_se = NAN, vm = NAN, vm_se = NAN;
                qml_gradient_stats *stats = NULL;
                if (!status)
                    status = qml_gradient_stats_create(&stats, qml_model_circuit(model), qml_model_readout(model),
                                                       NULL, point, 2, &lopt);
                if (!status)
                    status = qml_gradient_stats_loss(stats, NULL, NULL, &vl, &vl_se);
                if (!status)
                    status = qml_gradient_stats_weight(stats, nw / 2, NULL, NULL, &vm, &vm_se);
                qml_gradient_stats_free(stats);
                qml_model_free(model);
                if (status) {
                    code = status == QML_ERR_CANCELLED ? 3 : cli_fail("paradox: large-n landscape", status);
                    break;
                }
                double seconds = cli_seconds() - start;
                code = paradox_table_append(&t->large,
                                            "%s,%s,%zu,%zu,%.17g,%.17g,%.17g,%.17g,%" PRIu64 ",%.17g,%.17g,%.3f", key,
                                            paradox_backend_name(backend), nw, s->large_samples, vl, vl_se, vm, vm_se,
                                            paradox_dla_closed_form(kind, n),
                                            paradox_loss_variance_closed_form(kind, n),
                                            paradox_mid_gradient_closed_form(kind, n, pos), seconds);
                paradox_progress_done(p, p->prefix, units, seconds);
            }
        }
    }
    return code;
}
