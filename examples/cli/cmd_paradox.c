/*
 * cmd_paradox.c: `qml paradox`, the expressivity-trainability study: for
 * each model and qubit count, the DLA, the gradient variance at
 * initialisation against its prediction, and training on two moons over
 * several seeds; paradox_report.c writes the report, CSV and figures.
 */
#include "cli.h"
#include "paradox.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PARADOX_PI 3.14159265358979323846

static const qml_model_kind model_kinds[PARADOX_MODELS] = {QML_MODEL_UNSTRUCTURED, QML_MODEL_PERMUTATION,
                                                           QML_MODEL_FREE_FERMION};

/* ---- the progress line -------------------------------------------------------- */

typedef struct progress {
    bool tty;
    char prefix[160];
    unsigned epochs;
} progress;

static void progress_show(const progress *p, const char *detail)
{
    if (!p->tty)
        return;
    fprintf(stderr, "\r\033[Kqml paradox: %s%s", p->prefix, detail);
    fflush(stderr);
}

static int on_epoch(unsigned epoch, const qml_train_epoch *record, void *user)
{
    const progress *p = user;
    char detail[96];
    snprintf(detail, sizeof detail, " epoch %u/%u loss %.3f train accuracy %.3f", epoch, p->epochs, record->loss,
             record->train_accuracy);
    progress_show(p, detail);
    return 0;
}

static int on_samples(const char *stage, size_t done, size_t total, void *user)
{
    const progress *p = user;
    char detail[96];
    snprintf(detail, sizeof detail, " %s %zu/%zu", stage, done, total);
    progress_show(p, detail);
    return 0;
}

/* ---- closed forms -------------------------------------------------------------- */

/* dim g of each template (docs/paradox.md):
 * unstructured su(2^n): 4^n - 1;
 * permutation: the generators S_X, S_Y, S_Z^2 act on each spin-J sector
 * V_J (J = n/2, n/2 - 1, ...) of the collective spin; the DLA is
 * (+)_J su(2J + 1) plus one central element (the part of sum Z_i Z_j that is
 * a multiple of the identity on each sector), so dim = 1 + sum_J ((2J+1)^2 - 1)
 * (checked against the closure for n = 2..9);
 * free fermions so(2n): n (2n - 1). */
static uint64_t dla_closed_form(qml_model_kind kind, unsigned n)
{
    switch (kind) {
    case QML_MODEL_UNSTRUCTURED:
        return n <= 31 ? (UINT64_C(1) << (2 * n)) - 1 : 0;
    case QML_MODEL_PERMUTATION: {
        uint64_t dim = 1;
        for (int twice_j = (int)n; twice_j >= 0; twice_j -= 2)
            dim += (uint64_t)(twice_j + 1) * (uint64_t)(twice_j + 1) - 1;
        return dim;
    }
    case QML_MODEL_FREE_FERMION:
        return (uint64_t)n * (2 * (uint64_t)n - 1);
    }
    return 0;
}

/* Var[l] for U Haar on e^g, rho = |0...0>, in closed form where derived:
 * unstructured (Ragone et al. 2024 with g = su(d), d = 2^n):
 * P_g(rho) = 1 - 1/d, P_g(Z_0) = d, so Var = (d - 1) / (d^2 - 1) = 1 / (d + 1);
 * permutation: rho lies in the symmetric sector (J = n/2, su(n + 1)) only,
 * P(rho) = n / (n + 1), P((1/n) S_Z) = (n + 1)(n + 2) / (3n) on that sector,
 * dim = n (n + 2): Var = 1 / (3n). NaN where not derived. */
static double loss_variance_closed_form(qml_model_kind kind, unsigned n)
{
    if (kind == QML_MODEL_UNSTRUCTURED)
        return 1.0 / (ldexp(1.0, (int)n) + 1.0);
    if (kind == QML_MODEL_PERMUTATION)
        return 1.0 / (3.0 * n);
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
 * else an RX or RY weight, G = S_X or S_Y (a = m). NaN where not derived. */
static double mid_gradient_closed_form(qml_model_kind kind, unsigned n, size_t mid)
{
    if (kind == QML_MODEL_UNSTRUCTURED) {
        double d = ldexp(1.0, (int)n);
        return d * d / (2.0 * (d - 1.0) * (d + 1.0) * (d + 1.0));
    }
    if (kind == QML_MODEL_PERMUTATION) {
        double sum_a = 0.0, sum_a2 = 0.0, d = n + 1.0;
        for (int m = -(int)n; m <= (int)n; m += 2) {
            double a = mid % 3 == 0 ? (double)(m * m) / n : (double)m;
            sum_a += a;
            sum_a2 += a * a;
        }
        double kappa = 2.0 * d * sum_a2 - 2.0 * sum_a * sum_a;
        return kappa / (12.0 * n * (double)n * (n + 2.0));
    }
    return NAN;
}

static unsigned expected_weights(qml_model_kind kind, unsigned n, unsigned layers)
{
    switch (kind) {
    case QML_MODEL_UNSTRUCTURED:
        return 2 * n * layers;
    case QML_MODEL_PERMUTATION:
        return 3 * layers;
    case QML_MODEL_FREE_FERMION:
        return (2 * n - 1) * layers;
    }
    return 0;
}

/* ---- the DLA of a model ------------------------------------------------------- */

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

/* Compute the DLA of a cell's model when the setup allows it and, from it,
 * the predictions; else fill the closed forms and say why. */
static int analyse_dla(const paradox_setup *setup, paradox_cell *cell, const qml_model *model, progress *prog)
{
    unsigned n = cell->n_qubits;
    cell->dla_closed_form = dla_closed_form(cell->kind, n);
    cell->dla_dim = cell->dla_closed_form;
    cell->dla_computed = false;
    cell->cf_loss = loss_variance_closed_form(cell->kind, n);
    cell->cf_mid = mid_gradient_closed_form(cell->kind, n, cell->n_weights / 2);
    cell->lie_loss = cell->lie_mid = NAN;
    cell->pred_loss = cell->cf_loss;
    cell->pred_mid = cell->cf_mid;
    cell->pred_loss_cf = isfinite(cell->cf_loss);
    cell->pred_mid_cf = isfinite(cell->cf_mid);
    bool attempt = true;
    if (cell->kind == QML_MODEL_UNSTRUCTURED && cell->dla_closed_form > setup->lie_max_dim) {
        attempt = false;
        snprintf(cell->pred_note, sizeof cell->pred_note,
                 "predictions in closed form (cf); the DLA is not computed: dim 4^n - 1 = %" PRIu64
                 " is above the cap %zu",
                 cell->dla_closed_form,
                 setup->lie_max_dim);
    }
    if (cell->kind == QML_MODEL_PERMUTATION && n > setup->lie_max_qubits_general) {
        attempt = false;
        snprintf(cell->pred_note, sizeof cell->pred_note,
                 "predictions in closed form (cf); the DLA is not computed: the closure of non-Pauli-string "
                 "generators takes too long above n = %u",
                 setup->lie_max_qubits_general);
    }
    if (!attempt)
        return 0;

    progress_show(prog, " dynamical Lie algebra");
    double start = cli_seconds();
    qml_pauli_sum **gens = NULL;
    size_t count = 0;
    int status = dla_generators(qml_model_circuit(model), &gens, &count);
    if (status)
        return cli_fail("paradox: DLA generators", status);
    qml_lie_options lopt = QML_LIE_OPTIONS_INIT;
    lopt.max_dim = setup->lie_max_dim;
    lopt.n_threads = setup->threads;
    qml_lie_algebra *algebra = NULL;
    status = qml_lie_algebra_create(&algebra, (const qml_pauli_sum *const *)gens, count, &lopt);
    if (status == QML_ERR_LIMIT) {
        snprintf(cell->pred_note, sizeof cell->pred_note, "DLA closure stopped at the cap %zu", setup->lie_max_dim);
    } else if (status) {
        for (size_t k = 0; k < count; k++)
            qml_pauli_sum_free(gens[k]);
        free(gens);
        return cli_fail("paradox: DLA closure", status);
    } else {
        cell->dla_dim = qml_lie_algebra_dim(algebra);
        cell->dla_computed = true;
        qml_statevec *zero = NULL;
        status = qml_statevec_create(&zero, n);
        qml_lie_prediction prediction = QML_LIE_PREDICTION_INIT;
        size_t mid = cell->n_weights / 2;
        if (!status)
            status = qml_lie_algebra_predict_variance(algebra, zero, qml_model_readout(model), gens[mid], &prediction);
        qml_statevec_free(zero);
        if (status == QML_OK) {
            cell->pred_loss = cell->lie_loss = prediction.loss_variance;
            cell->pred_mid = cell->lie_mid = prediction.middle_gate_gradient_variance;
            cell->pred_loss_cf = cell->pred_mid_cf = false;
            snprintf(cell->pred_note, sizeof cell->pred_note, "from the computed DLA (%s)",
                     qml_lie_hypothesis_string(prediction.hypothesis));
        } else if (status == QML_ERR_NOT_APPLICABLE || status == QML_ERR_LIMIT) {
            snprintf(cell->pred_note, sizeof cell->pred_note, "no prediction: %s", qml_last_error());
        } else {
            qml_lie_algebra_free(algebra);
            for (size_t k = 0; k < count; k++)
                qml_pauli_sum_free(gens[k]);
            free(gens);
            return cli_fail("paradox: variance prediction", status);
        }
    }
    qml_lie_algebra_free(algebra);
    for (size_t k = 0; k < count; k++)
        qml_pauli_sum_free(gens[k]);
    free(gens);
    cell->dla_seconds = cli_seconds() - start;
    return 0;
}

/* ---- the landscape at initialisation --------------------------------------------- */

static int measure_landscape(const paradox_setup *setup, paradox_cell *cell, const qml_model *model,
                             uint64_t seed, progress *prog)
{
    qml_landscape_options lopt = QML_LANDSCAPE_OPTIONS_INIT;
    lopt.samples = setup->samples;
    lopt.seed = seed;
    lopt.params = QML_PARAMS_ALL;
    lopt.n_threads = setup->threads;
    lopt.progress = on_samples;
    lopt.progress_user = prog;
    double start = cli_seconds();
    qml_gradient_stats *stats = NULL;
    int status = qml_gradient_stats_create(&stats, qml_model_circuit(model), qml_model_readout(model), NULL,
                                           setup->feature_point, 2, &lopt);
    if (!status)
        status = qml_gradient_stats_loss(stats, NULL, NULL, &cell->var_loss, &cell->var_loss_se);
    if (!status)
        status = qml_gradient_stats_weight(stats, cell->n_weights / 2, NULL, NULL, &cell->var_mid, &cell->var_mid_se);
    if (!status)
        status = qml_gradient_stats_summary(stats, &cell->var_all, &cell->var_all_se);
    qml_gradient_stats_free(stats);
    if (status)
        return cli_fail("paradox: gradient statistics", status);
    cell->landscape_seconds = cli_seconds() - start;
    return 0;
}

/* ---- the depth ladder ------------------------------------------------------------ */

/* The landscape at one depth: same protocol as measure_landscape (uniform
 * weights, fixed features, exact adjoint gradients), middle weight only. */
static int measure_depth(const paradox_setup *setup, qml_model_kind kind, unsigned n, unsigned layers,
                         uint64_t seed, paradox_depth *out, progress *prog)
{
    qml_model *model = NULL;
    int status = qml_model_create_template(&model, kind, n, layers, 2, QML_LOSS_BCE);
    if (status)
        return cli_fail("paradox: model", status);
    qml_landscape_options lopt = QML_LANDSCAPE_OPTIONS_INIT;
    lopt.samples = setup->samples;
    lopt.seed = seed;
    lopt.params = QML_PARAMS_MIDDLE;
    lopt.n_threads = setup->threads;
    lopt.progress = on_samples;
    lopt.progress_user = prog;
    double start = cli_seconds();
    out->layers = layers;
    out->n_weights = qml_model_n_weights(model);
    qml_gradient_stats *stats = NULL;
    status = qml_gradient_stats_create(&stats, qml_model_circuit(model), qml_model_readout(model), NULL,
                                       setup->feature_point, 2, &lopt);
    if (!status)
        status = qml_gradient_stats_loss(stats, NULL, NULL, &out->var_loss, &out->var_loss_se);
    if (!status)
        status = qml_gradient_stats_weight(stats, out->n_weights / 2, NULL, NULL, &out->var_mid, &out->var_mid_se);
    qml_gradient_stats_free(stats);
    qml_model_free(model);
    if (status)
        return cli_fail("paradox: gradient statistics (depth study)", status);
    out->seconds = cli_seconds() - start;
    return 0;
}

/* Gates per layer of a template: the cost unit of the depth cap. */
static double gates_per_layer(qml_model_kind kind, unsigned n)
{
    switch (kind) {
    case QML_MODEL_UNSTRUCTURED:
        return 4.0 * n - 1.0;
    case QML_MODEL_PERMUTATION:
        return 2.0 * n + (double)n * (n - 1) / 2.0 + 2.0 * n; /* one pass per Z_q Z_r term */
    case QML_MODEL_FREE_FERMION:
        return 3.0 * n - 1.0;
    }
    return 1.0;
}

/* The middle-gate prediction of a rung. The middle weight's generator
 * depends on where n_weights / 2 falls in a layer: the same position as at
 * L = n means the same generator (for the unstructured model every middle
 * generator is a Pauli string with the same prediction); otherwise (odd n,
 * even L) the permutation model has its closed form and the free-fermion
 * model none (lie.c is run for the L = n generator only). */
static void rung_prediction(const paradox_cell *cell, paradox_depth *r)
{
    size_t per_layer = cell->n_weights / cell->layers;
    bool same = cell->kind == QML_MODEL_UNSTRUCTURED ||
                (r->n_weights / 2) % per_layer == (cell->n_weights / 2) % per_layer;
    if (same) {
        r->pred_mid = cell->pred_mid;
        r->pred_mid_cf = cell->pred_mid_cf;
    } else {
        r->pred_mid = mid_gradient_closed_form(cell->kind, cell->n_qubits, r->n_weights / 2);
        r->pred_mid_cf = isfinite(r->pred_mid);
    }
}

/* The depth ladder of a cell: L = f n for every factor, then for the
 * free-fermion model L = ff_quadratic n^2 if deeper and within the cost cap
 * (else the deepest multiple of 8 n below it that fits). depth[0] (L = n) is
 * the landscape measured for the main table. */
static int depth_ladder(const paradox_setup *setup, paradox_cell *cell, size_t q, size_t k, progress *prog)
{
    unsigned n = cell->n_qubits;
    cell->depth[0] = (paradox_depth){cell->layers,   cell->n_weights, cell->var_loss,   cell->var_loss_se,
                                     cell->var_mid,  cell->var_mid_se, cell->pred_mid,  cell->pred_mid_cf,
                                     cell->landscape_seconds};
    cell->n_depth = 1;
    unsigned ladder[PARADOX_MAX_DEPTHS];
    size_t m = 0;
    for (size_t d = 1; d < setup->n_depth_factors && m < PARADOX_MAX_DEPTHS; d++)
        ladder[m++] = setup->depth_factors[d] * n;
    unsigned deepest = m ? ladder[m - 1] : n;
    if (cell->kind == QML_MODEL_FREE_FERMION && setup->ff_quadratic) {
        unsigned target = setup->ff_quadratic * n * n;
        double unit = gates_per_layer(cell->kind, n) * ldexp(1.0, (int)n);
        unsigned affordable = (unsigned)fmin(setup->depth_cost_cap / unit, (double)target);
        unsigned step = 8 * n;
        unsigned reach = affordable >= target ? target : affordable / step * step;
        if (reach > deepest && m < PARADOX_MAX_DEPTHS - 1)
            ladder[m++] = reach;
    }
    for (size_t d = 0; d < m && cell->n_depth < PARADOX_MAX_DEPTHS; d++) {
        snprintf(prog->prefix, sizeof prog->prefix, "depth study: %s n=%u L=%u", qml_model_kind_name(cell->kind), n,
                 ladder[d]);
        uint64_t seed = setup->seed + UINT64_C(0x64657074) + 256 * q + 16 * k + (d + 1);
        int code = measure_depth(setup, cell->kind, n, ladder[d], seed, &cell->depth[cell->n_depth], prog);
        if (code)
            return code;
        rung_prediction(cell, &cell->depth[cell->n_depth]);
        cell->n_depth++;
    }
    return 0;
}

/* The number of layers after which the backward light cone of the readout
 * (the qubits that can influence <O>, following the gates from the end of
 * the circuit) covers every qubit; 0 if it does not within 2n + 2 layers.
 * A gate that touches the cone adds its qubits; a Pauli gate on more than 3
 * qubits is treated as touching all of them (only the permutation model has
 * one, on all qubits). */
static int light_cone_layers(qml_model_kind kind, unsigned n, unsigned *out)
{
    *out = 0;
    for (unsigned layers = 1; layers <= 2 * n + 2; layers++) {
        qml_model *model = NULL;
        int status = qml_model_create_template(&model, kind, n, layers, 2, QML_LOSS_BCE);
        if (status)
            return cli_fail("paradox: model", status);
        const qml_circuit *circuit = qml_model_circuit(model);
        const qml_pauli_sum *readout = qml_model_readout(model);
        bool cone[64] = {false};
        char dense[72];
        for (size_t t = 0; t < qml_pauli_sum_n_terms(readout) && !status; t++) {
            status = qml_pauli_sum_term(readout, t, NULL, dense);
            for (unsigned i = 0; i < n && !status; i++)
                cone[i] = cone[i] || dense[i] != 'I';
        }
        for (size_t g = qml_circuit_n_gates(circuit); g-- > 0 && !status;) {
            unsigned qubits[3];
            size_t count = 0;
            status = qml_circuit_gate(circuit, g, NULL, qubits, &count);
            bool touches = false;
            for (size_t i = 0; i < count && i < 3; i++)
                touches = touches || cone[qubits[i]];
            if (status || count < 2 || !(touches || count > 3))
                continue;
            for (size_t i = 0; i < (count > 3 ? n : count); i++)
                cone[count > 3 ? i : qubits[i]] = true;
        }
        qml_model_free(model);
        if (status)
            return cli_fail("paradox: light cone", status);
        bool all = true;
        for (unsigned i = 0; i < n; i++)
            all = all && cone[i];
        if (all) {
            *out = layers;
            return 0;
        }
    }
    return 0;
}

/* ---- training ----------------------------------------------------------------- */

static double mean_of(const double *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    return s / (double)n;
}

/* The sample standard deviation (divisor n - 1); NaN for one value. */
static double sd_of(const double *x, size_t n)
{
    if (n < 2)
        return NAN;
    double m = mean_of(x, n), s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (x[i] - m) * (x[i] - m);
    return sqrt(s / (double)(n - 1));
}

/* The training seed of run r: a SplitMix64-style mix of (seed, r), so that
 * runs of different --seed values do not share streams. */
static uint64_t run_seed(uint64_t seed, unsigned run)
{
    uint64_t z = seed + UINT64_C(0x9e3779b97f4a7c15) * (run + 1);
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static int train_cell(const paradox_setup *setup, paradox_cell *cell, const qml_dataset *train,
                      const qml_dataset *test, progress *prog, size_t *run_counter, size_t total_runs)
{
    qml_train_epoch *history = calloc(setup->epochs, sizeof *history);
    double *acc = calloc(3 * (size_t)setup->n_seeds, sizeof *acc);
    if (!history || !acc) {
        free(history);
        free(acc);
        fprintf(stderr, "qml: paradox: out of memory\n");
        return 1;
    }
    for (unsigned r = 0; r < setup->n_seeds; r++) {
        qml_model *model = NULL;
        int status = qml_model_create_template(&model, cell->kind, cell->n_qubits, cell->layers, 2, QML_LOSS_BCE);
        if (status) {
            free(history);
            free(acc);
            return cli_fail("paradox: model", status);
        }
        double *params = calloc(cell->n_weights + 2, sizeof *params);
        if (params) {
            params[cell->n_weights] = setup->head_scale;
            params[cell->n_weights + 1] = setup->head_bias;
            status = qml_model_set_params(model, params, cell->n_weights + 2);
            free(params);
        } else {
            status = QML_ERR_OUT_OF_MEMORY;
        }
        qml_optimizer_options adam = QML_OPTIMIZER_OPTIONS_INIT;
        adam.kind = QML_OPTIMIZER_ADAM;
        adam.learning_rate = setup->learning_rate;
        qml_train_options topt = QML_TRAIN_OPTIONS_INIT;
        topt.optimizer = &adam;
        topt.epochs = setup->epochs;
        topt.batch_size = setup->batch_size;
        topt.seed = run_seed(setup->seed, r);
        topt.init = QML_INIT_UNIFORM;
        topt.n_threads = setup->threads;
        topt.progress = on_epoch;
        topt.progress_user = prog;
        snprintf(prog->prefix, sizeof prog->prefix, "[run %zu/%zu] %s n=%u seed %u", ++*run_counter, total_runs,
                 qml_model_kind_name(cell->kind), cell->n_qubits, r + 1);
        prog->epochs = setup->epochs;
        double start = cli_seconds();
        history[0].size = sizeof *history;
        if (!status)
            status = qml_model_train(model, train, test, &topt, history, setup->epochs);
        double seconds = cli_seconds() - start;
        qml_model_free(model);
        if (status) {
            free(history);
            free(acc);
            return cli_fail("paradox: training", status);
        }
        const qml_train_epoch *last = &history[setup->epochs - 1];
        cell->runs[r] = (paradox_run){topt.seed, last->train_accuracy, last->test_accuracy, last->loss,
                                      last->test_loss, seconds};
        acc[r] = last->train_accuracy;
        acc[setup->n_seeds + r] = last->test_accuracy;
        acc[2 * setup->n_seeds + r] = seconds;
        if (r == 0)
            memcpy(cell->curve, history, setup->epochs * sizeof *history);
    }
    cell->train_mean = mean_of(acc, setup->n_seeds);
    cell->train_sd = sd_of(acc, setup->n_seeds);
    cell->test_mean = mean_of(acc + setup->n_seeds, setup->n_seeds);
    cell->test_sd = sd_of(acc + setup->n_seeds, setup->n_seeds);
    cell->seconds_mean = mean_of(acc + 2 * setup->n_seeds, setup->n_seeds);
    free(history);
    free(acc);
    return 0;
}

/* ---- the command -------------------------------------------------------------------- */

static void usage(FILE *to)
{
    fprintf(to,
            "usage: qml paradox [--out DIR] [--quick] [--seed X] [--threads T] [--qubits LIST] [--runs K]\n"
            "\n"
            "The expressivity-trainability study: an unstructured (hardware-efficient) classifier,\n"
            "a permutation-equivariant one and a free-fermion one on two moons, for each qubit\n"
            "count: DLA dimension, gradient variance at initialisation against its Lie-algebraic\n"
            "prediction at the trained depth L = n and on a depth ladder (L = n ... 8n, and up to\n"
            "8n^2 for the free-fermion model), and train/test accuracy over several seeds. Writes report.md, CSV files\n"
            "and SVG figures to DIR (default paradox-out). docs/paradox.md describes every choice.\n"
            "\n"
            "  --out DIR      output folder (created if missing)\n"
            "  --quick        a small run (n = 4, 6; 2 seeds; 8 epochs; 60 samples; L = n, 4n) in seconds\n"
            "  --seed X       master seed (default 1): data, split, initialisation, minibatches\n"
            "  --threads T    worker threads, 0 = all cores (default 0); results do not depend on it\n"
            "  --qubits LIST  comma-separated qubit counts, each 2..12 (default 4,6,8,10)\n"
            "  --runs K       training runs per model and qubit count (default 3; quick 2)\n");
}

static bool parse_qubits(const char *text, paradox_setup *setup)
{
    size_t count = 0;
    const char *p = text;
    while (*p) {
        char item[16];
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof item || count == PARADOX_MAX_QUBITS)
            return false;
        memcpy(item, p, len);
        item[len] = '\0';
        unsigned n;
        if (!cli_parse_unsigned(item, &n) || n < 2 || n > 12)
            return false;
        setup->qubits[count++] = n;
        p += len;
        if (*p == ',')
            p++;
    }
    setup->n_qubit_counts = count;
    return count > 0;
}

int cmd_paradox(int argc, char **argv)
{
    paradox_setup setup = {0};
    setup.seed = 1;
    setup.threads = 0;
    setup.out_dir = "paradox-out";
    const char *qubits_text = NULL;
    unsigned runs = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--quick")) {
            setup.quick = true;
        } else if (!strcmp(a, "--out") && has_value) {
            setup.out_dir = argv[++i];
        } else if (!strcmp(a, "--seed") && has_value) {
            if (!cli_parse_u64(argv[++i], &setup.seed))
                return cli_usage_error("paradox: --seed needs an unsigned integer, not '%s'", argv[i]);
        } else if (!strcmp(a, "--threads") && has_value) {
            if (!cli_parse_unsigned(argv[++i], &setup.threads) || setup.threads > 1024)
                return cli_usage_error("paradox: --threads needs 0..1024, not '%s'", argv[i]);
        } else if (!strcmp(a, "--qubits") && has_value) {
            qubits_text = argv[++i];
        } else if (!strcmp(a, "--runs") && has_value) {
            if (!cli_parse_unsigned(argv[++i], &runs) || runs < 1 || runs > 100)
                return cli_usage_error("paradox: --runs needs 1..100, not '%s'", argv[i]);
        } else {
            usage(stderr);
            return cli_usage_error("paradox: unknown or incomplete option '%s'", a);
        }
    }

    /* The design (docs/paradox.md); --quick shrinks what costs time. */
    setup.n_rows = 300;
    setup.noise = 0.15;
    setup.test_fraction = 1.0 / 3.0;
    setup.batch_size = 16;
    setup.learning_rate = 0.05;
    setup.head_scale = 1.0;
    setup.head_bias = 0.0;
    setup.lie_max_dim = 5000;
    if (setup.quick) {
        setup.qubits[0] = 4;
        setup.qubits[1] = 6;
        setup.n_qubit_counts = 2;
        setup.n_seeds = 2;
        setup.epochs = 8;
        setup.samples = 60;
        setup.lie_max_qubits_general = 6;
        const unsigned factors[2] = {1, 4};
        memcpy(setup.depth_factors, factors, sizeof factors);
        setup.n_depth_factors = 2;
        setup.ff_quadratic = 0;
    } else {
        const unsigned defaults[4] = {4, 6, 8, 10};
        memcpy(setup.qubits, defaults, sizeof defaults);
        setup.n_qubit_counts = 4;
        setup.n_seeds = 3;
        setup.epochs = 20;
        setup.samples = 200;
        setup.lie_max_qubits_general = 8;
        const unsigned factors[4] = {1, 2, 4, 8};
        memcpy(setup.depth_factors, factors, sizeof factors);
        setup.n_depth_factors = 4;
        setup.ff_quadratic = 8;
    }
    setup.depth_cost_cap = 3e7; /* layers x gates per layer x 2^n: about 20 s of the depth study at n = 10 */
    if (qubits_text && !parse_qubits(qubits_text, &setup))
        return cli_usage_error("paradox: --qubits needs up to %d comma-separated counts in 2..12, not '%s'",
                               PARADOX_MAX_QUBITS, qubits_text);
    if (runs)
        setup.n_seeds = runs;
    if (cli_make_dirs(setup.out_dir) != 0)
        return cli_file_error("paradox", "create the folder", setup.out_dir);

    /* The command line as run, for the report. */
    size_t used = (size_t)snprintf(setup.command, sizeof setup.command, "qml paradox");
    for (int i = 1; i < argc && used < sizeof setup.command; i++)
        used += (size_t)snprintf(setup.command + used, sizeof setup.command - used, " %s", argv[i]);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    setup.threads_used = setup.threads ? setup.threads : cores > 0 ? (unsigned)cores : 1;

    double wall_start = cli_seconds();
    progress prog = {isatty(STDERR_FILENO) != 0, "", 0};

    /* Data: two moons, stratified 2/3 : 1/3 split, features rescaled to
     * [-pi/2, pi/2] with the training set's ranges. */
    qml_dataset *all = NULL, *train = NULL, *test = NULL;
    int status = qml_dataset_moons(&all, setup.n_rows, setup.noise, setup.seed);
    if (!status)
        status = qml_dataset_split(&train, &test, all, setup.test_fraction, setup.seed, 1);
    if (!status)
        status = qml_dataset_rescale(train, test, -PARADOX_PI / 2, PARADOX_PI / 2, NULL, NULL);
    if (!status)
        status = qml_dataset_row(train, 0, setup.feature_point, 2, NULL);
    qml_dataset_free(all);
    if (status) {
        qml_dataset_free(train);
        qml_dataset_free(test);
        return cli_fail("paradox: data", status);
    }
    setup.n_train = qml_dataset_n_rows(train);
    setup.n_test = qml_dataset_n_rows(test);

    size_t n_cells = setup.n_qubit_counts * PARADOX_MODELS;
    paradox_cell *cells = calloc(n_cells, sizeof *cells);
    int code = cells ? 0 : 1;
    for (size_t c = 0; c < n_cells && !code; c++) {
        cells[c].runs = calloc(setup.n_seeds, sizeof *cells[c].runs);
        cells[c].curve = calloc(setup.epochs, sizeof *cells[c].curve);
        if (!cells[c].runs || !cells[c].curve)
            code = 1;
    }
    if (code)
        fprintf(stderr, "qml: paradox: out of memory\n");

    size_t run_counter = 0, total_runs = n_cells * setup.n_seeds;
    for (size_t q = 0; q < setup.n_qubit_counts && !code; q++) {
        for (size_t k = 0; k < PARADOX_MODELS && !code; k++) {
            paradox_cell *cell = &cells[k * setup.n_qubit_counts + q];
            cell->kind = model_kinds[k];
            cell->n_qubits = setup.qubits[q];
            cell->layers = setup.qubits[q]; /* L = n */
            qml_model *model = NULL;
            status = qml_model_create_template(&model, cell->kind, cell->n_qubits, cell->layers, 2, QML_LOSS_BCE);
            if (status) {
                code = cli_fail("paradox: model", status);
                break;
            }
            cell->n_weights = qml_model_n_weights(model);
            cell->expected_weights = expected_weights(cell->kind, cell->n_qubits, cell->layers);
            snprintf(prog.prefix, sizeof prog.prefix, "%s n=%u", qml_model_kind_name(cell->kind), cell->n_qubits);
            code = analyse_dla(&setup, cell, model, &prog);
            if (!code)
                code = measure_landscape(&setup, cell, model, setup.seed + UINT64_C(0x6c616e64) + 16 * q + k, &prog);
            qml_model_free(model);
            if (!code)
                code = depth_ladder(&setup, cell, q, k, &prog);
            if (!code)
                code = light_cone_layers(cell->kind, cell->n_qubits, &cell->light_cone_layers);
            if (!code)
                code = train_cell(&setup, cell, train, test, &prog, &run_counter, total_runs);
        }
    }
    if (prog.tty)
        fprintf(stderr, "\r\033[K");
    double wall = cli_seconds() - wall_start;
    if (!code)
        code = paradox_write_outputs(&setup, cells, n_cells, wall);
    size_t estimates = 0;
    for (size_t c = 0; !code && c < n_cells; c++)
        estimates += cells[c].n_depth;
    if (!code)
        printf("qml paradox: %zu training runs and %zu landscape estimates in %.1f s; report: %s/report.md\n",
               total_runs, estimates, wall, setup.out_dir);
    for (size_t c = 0; cells && c < n_cells; c++) {
        free(cells[c].runs);
        free(cells[c].curve);
    }
    free(cells);
    qml_dataset_free(train);
    qml_dataset_free(test);
    return code;
}
