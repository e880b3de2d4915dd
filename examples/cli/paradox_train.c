/*
 * paradox_train.c: the training parts of `qml paradox`, one CSV row per
 * training run, written as it finishes:
 * C1 (c1.csv): two moons at L = 8n under a shot budget S, success = train
 *   accuracy >= the threshold; S = exact, 10, 100 (1000 in --long);
 * C2 (c2.csv): an S_n-invariant task and its symmetry-broken control at
 *   training sizes 10..300, the per-qubit permutation-equivariant model
 *   against the unstructured one;
 * C3 (c3.csv): clean, 20 % flipped and random labels at equal weight
 *   counts;
 * and the classical baselines (baselines.csv) on the same splits.
 */
#include "baselines.h"
#include "cli.h"
#include "paradox.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PARADOX_PI 3.14159265358979323846

int paradox_moons(const paradox_setup *s, qml_dataset **train, qml_dataset **test)
{
    qml_dataset *all = NULL;
    size_t rows = s->c1_train_rows + s->c1_test_rows;
    int status = qml_dataset_moons(&all, rows, 0.15, s->seed);
    if (!status)
        status = qml_dataset_split(train, test, all, (double)s->c1_test_rows / (double)rows, s->seed, 1);
    if (!status)
        status = qml_dataset_rescale(*train, *test, -PARADOX_PI / 2, PARADOX_PI / 2, NULL, NULL);
    qml_dataset_free(all);
    return status;
}

/* ---- one training run ------------------------------------------------------------- */

typedef struct run_result {
    double train_accuracy, test_accuracy, train_loss, grad_mean_square;
    double jacobian_rank;
    unsigned epochs;
    double seconds;
    int backend;             /* the qml_backend the run used */
} run_result;

typedef struct run_spec {
    int kind;
    unsigned n, layers, n_features, epochs;
    uint64_t shots, seed;
    bool rank;               /* the Jacobian rank on the training set after training */
    int algebra;             /* 0: the statevector; 1: paradox_choose_backend; 2: paradox_algebraic_backend */
} run_spec;

const char *paradox_backend_name(int backend)
{
    const char *name = qml_backend_name((qml_backend)backend);
    return name ? name : "?";
}

/* The algebraic backend of a model: the one asked for if it is algebraic
 * and applies, else auto's choice, else g-sim or the symmetric backend,
 * whichever applies; the statevector (0) if none does. */
int paradox_algebraic_backend(const paradox_setup *s, const qml_model *model)
{
    const qml_circuit *c = qml_model_circuit(model);
    const qml_pauli_sum *o = qml_model_readout(model);
    qml_backend b;
    const qml_backend order[4] = {(qml_backend)s->backend, QML_BACKEND_AUTO, QML_BACKEND_SYMMETRIC, QML_BACKEND_GSIM};
    for (int i = 0; i < 4; i++)
        if (order[i] != QML_BACKEND_STATEVECTOR && qml_backend_select(c, o, NULL, order[i], &b, NULL) == QML_OK &&
            b != QML_BACKEND_STATEVECTOR)
            return (int)b;
    return 0;
}


/* The symmetric backend fuses each layer's collective rotations into about
 * five (n + 1)-dimensional gates of (n + 1)^2 work; g-sim updates about 4n
 * string pairs per gate of the free-fermion chain. An update costs about a
 * tenth of what a statevector gate costs per amplitude at the small n the
 * estimate learns its rate from (the latter is dominated by per-gate
 * overhead there): measured on the quick run with --qubits-large 50. */
double paradox_algebra_units(int kind, unsigned n, unsigned layers)
{
    double per_layer = kind == PARADOX_KIND_FREE_FERMION ? paradox_gates_per_layer(kind, n) * 4.0 * n
                                                         : 5.0 * (n + 1.0) * (n + 1.0);
    return 0.1 * per_layer * layers;
}

int paradox_choose_backend(const paradox_setup *s, const qml_circuit *circuit, const qml_pauli_sum *readout,
                           uint64_t shots, int *chosen)
{
    *chosen = 0; /* QML_BACKEND_STATEVECTOR */
    if (shots)
        return QML_OK; /* the library simulates shots on the statevector only */
    qml_backend b;
    /* The statevector is "selected" at any n; past 30 qubits it would not fit. */
    if (qml_backend_select(circuit, readout, NULL, (qml_backend)s->backend, &b, NULL) == QML_OK &&
        (b != QML_BACKEND_STATEVECTOR || qml_circuit_n_qubits(circuit) <= 30)) {
        *chosen = (int)b;
        return QML_OK;
    }
    int status = qml_backend_select(circuit, readout, NULL, QML_BACKEND_AUTO, &b, NULL);
    if (!status)
        *chosen = (int)b;
    return status;
}

static int train_one(const paradox_setup *s, const run_spec *spec, const qml_dataset *train,
                     const qml_dataset *test, paradox_progress *p, run_result *out)
{
    qml_model *model = NULL;
    int status = qml_model_create_template(&model, (qml_model_kind)spec->kind, spec->n, spec->layers,
                                           spec->n_features, QML_LOSS_BCE);
    qml_train_epoch *history = calloc(spec->epochs, sizeof *history);
    if (!status && !history)
        status = QML_ERR_OUT_OF_MEMORY;
    qml_optimizer_options adam = QML_OPTIMIZER_OPTIONS_INIT;
    adam.kind = QML_OPTIMIZER_ADAM;
    adam.learning_rate = s->learning_rate;
    qml_train_options topt = QML_TRAIN_OPTIONS_INIT;
    topt.optimizer = &adam;
    topt.epochs = spec->epochs;
    topt.batch_size = s->batch_size;
    topt.seed = spec->seed;
    topt.init = QML_INIT_UNIFORM;
    topt.n_threads = s->threads;
    topt.progress = paradox_on_epoch;
    topt.progress_user = p;
    topt.shots = spec->shots;
    topt.shot_mode = QML_SHOTS_GAUSSIAN;
    out->backend = 0;
    if (!status && spec->algebra == 1)
        status = paradox_choose_backend(s, qml_model_circuit(model), qml_model_readout(model), spec->shots,
                                        &out->backend);
    if (!status && spec->algebra == 2 && !(out->backend = paradox_algebraic_backend(s, model)))
        status = QML_ERR_NOT_APPLICABLE;
    topt.backend = (qml_backend)out->backend;
    /* On an algebraic backend the test set is evaluated by the training
     * call (qml_model_evaluate runs on the statevector only). */
    const qml_dataset *test_in_train = out->backend ? test : NULL;
    p->epochs = spec->epochs;
    double start = cli_seconds();
    if (history)
        history[0].size = sizeof *history;
    if (!status)
        status = qml_model_train(model, train, test_in_train, &topt, history, spec->epochs);
    out->epochs = spec->epochs;
    out->test_accuracy = NAN;
    out->grad_mean_square = NAN;
    out->jacobian_rank = NAN;
    if (!status) {
        const qml_train_epoch *last = &history[spec->epochs - 1];
        out->train_accuracy = last->train_accuracy;
        out->train_loss = last->loss;
        out->grad_mean_square = last->grad_mean_square;
        if (test_in_train)
            out->test_accuracy = last->test_accuracy;
        else if (test)
            status = qml_model_evaluate(model, test, s->threads, NULL, &out->test_accuracy);
    }
    if (!status && spec->rank) {
        size_t rank = 0;
        status = qml_model_jacobian_rank(model, train, 1e-9, &rank);
        out->jacobian_rank = (double)rank;
    }
    out->seconds = cli_seconds() - start;
    free(history);
    qml_model_free(model);
    if (status == QML_ERR_CANCELLED)
        return 3;
    return status ? cli_fail("paradox: training", status) : 0;
}

/* Dataset rows as flat arrays for the baselines. */
typedef struct flat {
    double *x;
    int *y;
    size_t m, f;
} flat;

static int flatten(const qml_dataset *d, flat *out)
{
    out->m = qml_dataset_n_rows(d);
    out->f = qml_dataset_n_features(d);
    out->x = malloc(out->m * out->f * sizeof *out->x);
    out->y = malloc(out->m * sizeof *out->y);
    if (!out->x || !out->y)
        return 1;
    memcpy(out->x, qml_dataset_features(d), out->m * out->f * sizeof *out->x);
    memcpy(out->y, qml_dataset_labels(d), out->m * sizeof *out->y);
    return 0;
}

static void flat_free(flat *f)
{
    free(f->x);
    free(f->y);
}

/* The three baselines on one split: rows of baselines.csv keyed by
 * (experiment, condition, size, seed_index, method). */
static int baselines(paradox_table *t, const char *experiment, const char *condition, size_t size, unsigned seed_index,
                     const qml_dataset *train, const qml_dataset *test)
{
    static const char *const methods[3] = {"logistic-1", "logistic-3", "knn-5"};
    bool missing = false;
    char key[160];
    for (int k = 0; k < 3; k++) {
        snprintf(key, sizeof key, "%s,%s,%zu,%u,%s", experiment, condition, size, seed_index, methods[k]);
        missing = missing || paradox_table_find(t, key) < 0;
    }
    if (!missing)
        return 0;
    flat a = {0}, b = {0};
    int code = flatten(train, &a) || (test && flatten(test, &b));
    int *pa = malloc((a.m + 1) * sizeof *pa), *pb = malloc((b.m + 1) * sizeof *pb);
    if (code || !pa || !pb) {
        fprintf(stderr, "qml: paradox: out of memory\n");
        code = 1;
    }
    for (int k = 0; k < 3 && !code; k++) {
        snprintf(key, sizeof key, "%s,%s,%zu,%u,%s", experiment, condition, size, seed_index, methods[k]);
        if (paradox_table_find(t, key) >= 0)
            continue;
        int st = k < 2 ? baseline_logreg(a.x, a.y, a.m, b.x, b.m, a.f, k == 0 ? 1 : 3, 1e-3, pa, pb)
                       : baseline_knn(a.x, a.y, a.m, b.x, b.m, a.f, 5, pa, pb);
        double train_acc = st ? (double)NAN : baseline_accuracy(pa, a.y, a.m);
        double test_acc = st || !b.m ? (double)NAN : baseline_accuracy(pb, b.y, b.m);
        code = paradox_table_append(t, "%s,%.17g,%.17g,%zu,%zu", key, train_acc, test_acc, a.m, b.m);
    }
    free(pa);
    free(pb);
    flat_free(&a);
    flat_free(&b);
    return code;
}

static double run_units(int kind, unsigned n, unsigned layers, size_t rows, unsigned epochs, uint64_t shots)
{
    return paradox_gates_per_layer(kind, n) * layers * ldexp(1.0, (int)n) * (double)rows * epochs *
           (shots ? 4.0 : 3.0);
}

/* ---- C1: trainability under a shot budget ------------------------------------------ */

static bool c1_model(const paradox_setup *s, size_t index, unsigned n, int *kind)
{
    static const int kinds[3] = {PARADOX_KIND_UNSTRUCTURED, PARADOX_KIND_FREE_FERMION,
                                 PARADOX_KIND_PERMUTATION_BOUNDED};
    if (index >= 3 || kinds[index] < 0)
        return false;
    *kind = kinds[index];
    return !(kinds[index] == PARADOX_KIND_PERMUTATION_BOUNDED && n > s->c1_max_qubits_permutation);
}

int paradox_c1(const paradox_setup *s, paradox_tables *t, paradox_progress *p, bool count_only)
{
    qml_dataset *train = NULL, *test = NULL;
    if (!count_only) {
        int status = paradox_moons(s, &train, &test);
        if (status)
            return cli_fail("paradox: data", status);
    }
    int code = count_only ? 0 : baselines(&t->baselines, "c1", "moons", s->c1_train_rows, 0, train, test);
    for (size_t q = 0; q < s->n_c1_qubits && !code; q++) {
        unsigned n = s->c1_qubits[q], layers = s->c1_depth_factor * n;
        for (size_t si = 0; si < s->n_shots && !code; si++) {
            uint64_t shots = s->shots[si];
            for (size_t k = 0; k < 3 && !code; k++) {
                int kind;
                if (!c1_model(s, k, n, &kind))
                    continue;
                for (unsigned r = 0; r < s->c1_seeds && !code; r++) {
                    char key[128];
                    snprintf(key, sizeof key, "%s,%u,%" PRIu64 ",%u", paradox_kind_name(kind), n, shots, r + 1);
                    if (paradox_table_find(&t->c1, key) >= 0)
                        continue;
                    double units = run_units(kind, n, layers, s->c1_train_rows, s->c1_epochs, shots);
                    if (count_only) {
                        p->jobs_total++;
                        p->units_total += units;
                        continue;
                    }
                    /* The seed depends on (n, seed index) only: every model
                     * and budget starts from the same streams. */
                    run_spec spec = {kind, n, layers, 2, s->c1_epochs, shots, paradox_mix(s->seed, 0x6331, 1000u * n + r),
                                     false, 1};
                    snprintf(p->prefix, sizeof p->prefix, "C1 %s n=%u S=%s%.0f seed %u", paradox_kind_name(kind), n,
                             shots ? "" : "exact", shots ? (double)shots : 0.0, r + 1);
                    if (!shots)
                        snprintf(p->prefix, sizeof p->prefix, "C1 %s n=%u S=exact seed %u", paradox_kind_name(kind), n,
                                 r + 1);
                    run_result res;
                    code = train_one(s, &spec, train, test, p, &res);
                    if (code)
                        break;
                    code = paradox_table_append(&t->c1, "%s,%u,%zu,%zu,%u,%u,%" PRIu64 ",%.17g,%.17g,%.17g,%.17g,%d,%.3f,%s",
                                                key, layers, (size_t)paradox_weights_per_layer(kind, n) * layers,
                                                s->batch_size, s->c1_epochs, (unsigned)s->c1_train_rows, spec.seed,
                                                res.train_accuracy, res.test_accuracy, res.train_loss,
                                                res.grad_mean_square, res.train_accuracy >= s->success_threshold,
                                                res.seconds, paradox_backend_name(res.backend));
                    paradox_progress_done(p, p->prefix, units, res.seconds);
                }
            }
        }
    }
    qml_dataset_free(train);
    qml_dataset_free(test);
    return code;
}

/* ---- C2: geometric prior ---------------------------------------------------------- */

static unsigned epochs_for(unsigned steps, size_t rows, size_t batch)
{
    size_t per_epoch = (rows + batch - 1) / batch;
    unsigned e = (unsigned)((steps + per_epoch / 2) / per_epoch);
    return e ? e : 1;
}

int paradox_c2(const paradox_setup *s, paradox_tables *t, paradox_progress *p, bool count_only)
{
    static const char *const task_names[2] = {"invariant", "broken"};
    static const qml_symmetric_task tasks[2] = {QML_TASK_COS_MEDIAN, QML_TASK_BROKEN};
    static const int kinds[2] = {PARADOX_KIND_PERMUTATION_LOCAL, PARADOX_KIND_UNSTRUCTURED};
    unsigned n = s->c2_qubits;
    int code = 0;
    for (int task = 0; task < 2 && !code; task++) {
        qml_dataset *test = NULL;
        if (!count_only) {
            int status = qml_dataset_symmetric(&test, tasks[task], s->c2_test_rows, n,
                                               paradox_mix(s->seed, 0x6332, 0x74657374 + (uint64_t)task));
            if (status)
                return cli_fail("paradox: symmetric data", status);
            /* The best any S_n-invariant classifier can do on the test set:
             * for the broken task y = [x_0 > 0] and k positive features,
             * P(y = 1 | the multiset) = k / n, so the best invariant rule
             * has accuracy E[max(k, n - k)] / n; the invariant tasks reach 1. */
            char key[96];
            snprintf(key, sizeof key, "c2,%s,%zu,0,best-invariant", task_names[task], s->c2_test_rows);
            if (paradox_table_find(&t->baselines, key) < 0) {
                const double *x = qml_dataset_features(test);
                double sum = 0.0;
                for (size_t i = 0; i < s->c2_test_rows; i++) {
                    unsigned k = 0;
                    for (unsigned j = 0; j < n; j++)
                        k += x[i * n + j] > 0.0;
                    sum += (double)(k > n - k ? k : n - k) / n;
                }
                double best = task == 1 ? sum / (double)s->c2_test_rows : 1.0;
                code = paradox_table_append(&t->baselines, "%s,%.17g,%.17g,%zu,%zu", key, (double)NAN, best,
                                            (size_t)0, s->c2_test_rows);
            }
        }
        for (size_t z = 0; z < s->n_c2_sizes && !code; z++) {
            size_t size = s->c2_sizes[z];
            for (unsigned r = 0; r < s->c2_seeds && !code; r++) {
                qml_dataset *train = NULL;
                if (!count_only) {
                    int status = qml_dataset_symmetric(&train, tasks[task], size, n,
                                                       paradox_mix(s->seed, 0x6332, 1000u * size + r + 100000u * task));
                    if (status) {
                        qml_dataset_free(test);
                        return cli_fail("paradox: symmetric data", status);
                    }
                    code = baselines(&t->baselines, "c2", task_names[task], size, r + 1, train, test);
                }
                for (int k = 0; k < 2 && !code; k++) {
                    int kind = kinds[k];
                    char key[128];
                    snprintf(key, sizeof key, "%s,%s,%zu,%u", task_names[task], paradox_kind_name(kind), size, r + 1);
                    if (paradox_table_find(&t->c2, key) >= 0)
                        continue;
                    unsigned epochs = epochs_for(s->c2_steps, size, s->batch_size);
                    double units = run_units(kind, n, s->c2_layers, size, epochs, 0) +
                                   paradox_gates_per_layer(kind, n) * s->c2_layers * ldexp(1.0, (int)n) *
                                       (double)s->c2_test_rows;
                    if (count_only) {
                        p->jobs_total++;
                        p->units_total += units;
                        continue;
                    }
                    run_spec spec = {kind, n, s->c2_layers, n, epochs, 0, paradox_mix(s->seed, 0x63327472, r), false, 0};
                    snprintf(p->prefix, sizeof p->prefix, "C2 %s %s m=%zu seed %u", task_names[task],
                             paradox_kind_name(kind), size, r + 1);
                    run_result res;
                    code = train_one(s, &spec, train, test, p, &res);
                    if (code)
                        break;
                    code = paradox_table_append(&t->c2, "%s,%u,%u,%zu,%u,%u,%.17g,%.17g,%.3f", key, n, s->c2_layers,
                                                (size_t)paradox_weights_per_layer(kind, n) * s->c2_layers,
                                                s->c2_steps, epochs, res.train_accuracy, res.test_accuracy,
                                                res.seconds);
                    paradox_progress_done(p, p->prefix, units, res.seconds);
                }
                qml_dataset_free(train);
            }
        }
        qml_dataset_free(test);
    }
    return code;
}

/* ---- C3: capacity ----------------------------------------------------------------- */

/* Labels: "clean", "flip20" (flip_fraction of them flipped) or "random"
 * (fair coin flips), seeded per seed index. */
static int relabel(const paradox_setup *s, qml_dataset **d, int labels, unsigned r)
{
    if (labels == 0)
        return QML_OK;
    uint64_t seed = paradox_mix(s->seed, 0x6c61626c, 16u * r + (unsigned)labels);
    return labels == 1 ? qml_dataset_flip_labels(*d, s->flip_fraction, seed) : qml_dataset_random_labels(*d, seed);
}

static const char *const label_names[3] = {"clean", "flip20", "random"};

unsigned paradox_c3_layers(const paradox_setup *s, int kind)
{
    unsigned per = paradox_weights_per_layer(kind, s->c3_qubits);
    unsigned l = (unsigned)(((double)s->c3_params / per) + 0.5);
    return l ? l : 1;
}

int paradox_c3(const paradox_setup *s, paradox_tables *t, paradox_progress *p, bool count_only)
{
    static const int kinds[3] = {PARADOX_KIND_UNSTRUCTURED, PARADOX_KIND_FREE_FERMION, PARADOX_KIND_PERMUTATION};
    unsigned n = s->c3_qubits;
    qml_dataset *train0 = NULL, *test = NULL;
    if (!count_only) {
        qml_dataset *all = NULL;
        size_t rows = s->c3_rows + s->c3_test_rows;
        int status = qml_dataset_moons(&all, rows, 0.15, paradox_mix(s->seed, 0x6333, 0));
        if (!status)
            status = qml_dataset_split(&train0, &test, all, (double)s->c3_test_rows / (double)rows, s->seed, 1);
        if (!status)
            status = qml_dataset_rescale(train0, test, -PARADOX_PI / 2, PARADOX_PI / 2, NULL, NULL);
        qml_dataset_free(all);
        if (status)
            return cli_fail("paradox: data", status);
    }
    int code = 0;
    for (int labels = 0; labels < 3 && !code; labels++) {
        for (unsigned r = 0; r < s->c3_seeds && !code; r++) {
            qml_dataset *train = NULL;
            if (!count_only) {
                int status = qml_dataset_copy(&train, train0);
                if (!status)
                    status = relabel(s, &train, labels, r + 1);
                if (status) {
                    qml_dataset_free(train);
                    code = cli_fail("paradox: labels", status);
                    break;
                }
                code = baselines(&t->baselines, "c3", label_names[labels], s->c3_rows, r + 1, train, test);
            }
            for (int k = 0; k < 3 && !code; k++) {
                int kind = kinds[k];
                unsigned layers = paradox_c3_layers(s, kind);
                char key[128];
                snprintf(key, sizeof key, "%s,%s,%u", label_names[labels], paradox_kind_name(kind), r + 1);
                if (paradox_table_find(&t->c3, key) >= 0)
                    continue;
                unsigned epochs = epochs_for(s->c3_steps, s->c3_rows, s->batch_size);
                double units = run_units(kind, n, layers, s->c3_rows, epochs, 0);
                if (count_only) {
                    p->jobs_total++;
                    p->units_total += units;
                    continue;
                }
                run_spec spec = {kind, n, layers, 2, epochs, 0, paradox_mix(s->seed, 0x63337472, r), true, 0};
                snprintf(p->prefix, sizeof p->prefix, "C3 %s %s seed %u", label_names[labels], paradox_kind_name(kind),
                         r + 1);
                run_result res;
                code = train_one(s, &spec, train, test, p, &res);
                if (code)
                    break;
                code = paradox_table_append(&t->c3, "%s,%u,%u,%zu,%zu,%u,%u,%.17g,%.17g,%.17g,%.3f", key, n, layers,
                                            (size_t)paradox_weights_per_layer(kind, n) * layers, s->c3_rows,
                                            s->c3_steps, epochs, res.train_accuracy, res.test_accuracy,
                                            res.jacobian_rank, res.seconds);
                paradox_progress_done(p, p->prefix, units, res.seconds);
            }
            qml_dataset_free(train);
        }
    }
    qml_dataset_free(train0);
    qml_dataset_free(test);
    return code;
}

/* ---- roughness of the two-moons models ----------------------------------------------- */

/* Mean (df/dx)^2 at initialisation (qml_model_roughness) for every C1 model
 * (and the collective-encoding permutation model, whose encoding grows
 * rough with n) at L = 8n on the first rows of the C1 training set. */
int paradox_roughness(const paradox_setup *s, paradox_tables *t, paradox_progress *p, bool count_only)
{
    static const int kinds[4] = {PARADOX_KIND_UNSTRUCTURED, PARADOX_KIND_PERMUTATION, PARADOX_KIND_FREE_FERMION,
                                 PARADOX_KIND_PERMUTATION_BOUNDED};
    qml_dataset *train = NULL, *test = NULL, *rows = NULL;
    if (!count_only) {
        size_t idx[16];
        for (size_t i = 0; i < 16; i++)
            idx[i] = i;
        int status = paradox_moons(s, &train, &test);
        if (!status)
            status = qml_dataset_subset(&rows, train, idx, 16);
        if (status) {
            qml_dataset_free(train);
            qml_dataset_free(test);
            return cli_fail("paradox: data", status);
        }
    }
    int code = 0;
    for (int k = 0; k < 4 && !code; k++) {
        if (kinds[k] < 0)
            continue;
        for (size_t q = 0; q < s->n_c1_qubits && !code; q++) {
            unsigned n = s->c1_qubits[q], layers = s->c1_depth_factor * n;
            char key[96];
            snprintf(key, sizeof key, "%s,%u", paradox_kind_name(kinds[k]), n);
            if (paradox_table_find(&t->roughness, key) >= 0)
                continue;
            double units = paradox_gates_per_layer(kinds[k], n) * layers * ldexp(1.0, (int)n) * 16.0 *
                           (double)s->roughness_draws * 4.0;
            if (count_only) {
                p->jobs_total++;
                p->units_total += units;
                continue;
            }
            double start = cli_seconds();
            qml_model *model = NULL;
            double slope = NAN, se = NAN;
            int status = qml_model_create_template(&model, (qml_model_kind)kinds[k], n, layers, 2, QML_LOSS_BCE);
            if (!status)
                status = qml_model_roughness(model, rows, s->roughness_draws,
                                             paradox_mix(s->seed, 0x726f7567, 100u * (unsigned)k + n), &slope, &se);
            qml_model_free(model);
            if (status) {
                code = cli_fail("paradox: roughness", status);
                break;
            }
            double seconds = cli_seconds() - start;
            code = paradox_table_append(&t->roughness, "%s,%u,%zu,%.17g,%.17g,%.3f", key, layers, s->roughness_draws,
                                        slope, se, seconds);
            snprintf(p->prefix, sizeof p->prefix, "roughness %s n=%u", paradox_kind_name(kinds[k]), n);
            paradox_progress_done(p, p->prefix, units, seconds);
        }
    }
    qml_dataset_free(rows);
    qml_dataset_free(train);
    qml_dataset_free(test);
    return code;
}

/* ---- large n on the algebra simulators: C1 runs and the cost per step ---------------- */

static bool large_model(const paradox_setup *s, size_t index, unsigned n, int *kind)
{
    static const int kinds[2] = {PARADOX_KIND_FREE_FERMION,
                                 PARADOX_KIND_PERMUTATION_BOUNDED};
    if (index >= 2 || kinds[index] < 0)
        return false;
    *kind = kinds[index];
    return !(s->large_c1_max && n > s->large_c1_max);
}

/* The C1 protocol (two moons, L = 8n, Adam, the same seeds as C1) at the
 * large n for the polynomial-DLA models, with exact gradients only: the
 * library simulates shot noise on the statevector only (the Gaussian shot
 * model needs the readout's single-shot variance at the row's state), so no
 * finite budget runs at these n. One row of c1_large.csv per (model, n,
 * seed index). */
int paradox_c1_large(const paradox_setup *s, paradox_tables *t, paradox_progress *p, bool count_only)
{
    if (!s->n_large_qubits)
        return 0;
    qml_dataset *train = NULL, *test = NULL;
    if (!count_only) {
        int status = paradox_moons(s, &train, &test);
        if (status)
            return cli_fail("paradox: data", status);
    }
    int code = 0;
    for (size_t q = 0; q < s->n_large_qubits && !code; q++) {
        unsigned n = s->large_qubits[q], layers = s->c1_depth_factor * n;
        for (size_t k = 0; k < 2 && !code; k++) {
            int kind;
            if (!large_model(s, k, n, &kind))
                continue;
            for (unsigned r = 0; r < s->large_seeds && !code; r++) {
                char key[128];
                snprintf(key, sizeof key, "%s,%u,0,%u", paradox_kind_name(kind), n, r + 1);
                if (paradox_table_find(&t->c1_large, key) >= 0)
                    continue;
                double units = paradox_algebra_units(kind, n, layers) * (double)s->c1_train_rows * s->c1_epochs * 3.0;
                if (count_only) {
                    p->jobs_total++;
                    p->units_total += units;
                    continue;
                }
                run_spec spec = {kind, n, layers, 2, s->c1_epochs, 0, paradox_mix(s->seed, 0x6331, 1000u * n + r),
                                 false, 2};
                snprintf(p->prefix, sizeof p->prefix, "C1 large-n %s n=%u S=exact seed %u", paradox_kind_name(kind),
                         n, r + 1);
                run_result res;
                code = train_one(s, &spec, train, test, p, &res);
                if (code)
                    break;
                code = paradox_table_append(&t->c1_large,
                                            "%s,%u,%zu,%zu,%u,%u,%" PRIu64 ",%.17g,%.17g,%.17g,%.17g,%d,%.3f,%s", key,
                                            layers, (size_t)paradox_weights_per_layer(kind, n) * layers,
                                            s->batch_size, s->c1_epochs, (unsigned)s->c1_train_rows, spec.seed,
                                            res.train_accuracy, res.test_accuracy, res.train_loss,
                                            res.grad_mean_square, res.train_accuracy >= s->success_threshold,
                                            res.seconds, paradox_backend_name(res.backend));
                paradox_progress_done(p, p->prefix, units, res.seconds);
            }
        }
    }
    qml_dataset_free(train);
    qml_dataset_free(test);
    return code;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median seconds of `call` repeated until 0.3 s have passed (at least 1,
 * at most 9 times). */
static int time_median(int (*call)(void *), void *ctx, double *median, unsigned *reps)
{
    double times[9], total = 0.0;
    unsigned r = 0;
    while (r < 9 && (r < 1 || total < 0.3)) {
        double start = cli_seconds();
        int status = call(ctx);
        if (status)
            return status;
        times[r] = cli_seconds() - start;
        total += times[r++];
    }
    qsort(times, r, sizeof times[0], cmp_double);
    *median = r % 2 ? times[r / 2] : 0.5 * (times[r / 2 - 1] + times[r / 2]);
    *reps = r;
    return QML_OK;
}

typedef struct cost_ctx {
    const qml_model *model;
    const double *weights, *rows;
    size_t n_weights, n_rows;
    double *gradient;
    qml_gradient_options opt;
} cost_ctx;

static int cost_gradient(void *user)
{
    cost_ctx *c = user;
    double value;
    return qml_gradient(qml_model_circuit(c->model), qml_model_readout(c->model), NULL, c->weights, c->n_weights,
                        c->rows, 2, &c->opt, &value, c->gradient, NULL);
}

static int cost_step(void *user)
{
    cost_ctx *c = user;
    return qml_gradient_batch(qml_model_circuit(c->model), qml_model_readout(c->model), NULL, c->weights,
                              c->n_weights, c->rows, c->n_rows, 2, &c->opt, QML_BATCH_SUM, NULL, c->gradient);
}

/* What one adjoint gradient (value and every weight's derivative, one data
 * row) and one training step's gradients (a batch of B rows, summed) cost
 * on one thread for the C1 models with a polynomial DLA at L = 8n: on the
 * statevector and on the algebraic backend at the largest C1 n (the largest
 * n this run trains on the statevector), and on the algebraic backend at
 * every large n. Medians of repeated calls; timings, so not reproducible
 * bit for bit (the only rows of the study that are not). */
int paradox_cost(const paradox_setup *s, paradox_tables *t, paradox_progress *p, bool count_only)
{
    if (!s->n_large_qubits || !s->n_c1_qubits)
        return 0;
    unsigned n_sv = 0;
    for (size_t q = 0; q < s->n_c1_qubits; q++)
        n_sv = s->c1_qubits[q] > n_sv ? s->c1_qubits[q] : n_sv;
    qml_dataset *train = NULL, *test = NULL;
    if (!count_only) {
        int status = paradox_moons(s, &train, &test);
        if (status)
            return cli_fail("paradox: data", status);
    }
    int code = 0;
    for (size_t k = 0; k < 2 && !code; k++) {
        int kind;
        if (!large_model(s, k, 0, &kind))
            continue;
        for (size_t q = 0; q <= s->n_large_qubits && !code; q++) {
            unsigned n = q ? s->large_qubits[q - 1] : n_sv;
            for (int alg = q ? 1 : 0; alg < 2 && !code; alg++) {
                char key[96];
                snprintf(key, sizeof key, "%s,%u,%s", paradox_kind_name(kind), n, alg ? "algebraic" : "statevector");
                if (paradox_table_find(&t->cost, key) >= 0)
                    continue;
                double units = (alg ? paradox_algebra_units(kind, n, s->c1_depth_factor * n)
                                    : paradox_gates_per_layer(kind, n) * s->c1_depth_factor * n * ldexp(1.0, (int)n)) *
                               3.0 * (double)(s->batch_size + 1);
                if (count_only) {
                    p->jobs_total++;
                    p->units_total += units;
                    continue;
                }
                double start = cli_seconds();
                unsigned layers = s->c1_depth_factor * n;
                qml_model *model = NULL;
                int status = qml_model_create_template(&model, (qml_model_kind)kind, n, layers, 2, QML_LOSS_BCE);
                int backend = 0;
                double dimension = NAN;
                if (!status && alg) {
                    backend = paradox_algebraic_backend(s, model);
                    if (!backend) {
                        /* No algebraic backend applies (cannot happen for these templates). */
                        qml_model_free(model);
                        continue;
                    }
                }
                if (!status)
                    status = qml_backend_select(qml_model_circuit(model), qml_model_readout(model), NULL,
                                                (qml_backend)backend, NULL, &dimension);
                size_t nw = model ? qml_model_n_weights(model) : 0, rows = s->batch_size;
                double *weights = malloc((nw + 1) * sizeof *weights), *grad = malloc((nw + 1) * sizeof *grad);
                double *x = malloc(2 * rows * sizeof *x);
                if (!status && (!weights || !grad || !x))
                    status = QML_ERR_OUT_OF_MEMORY;
                uint64_t state = paradox_mix(s->seed, 0x636f7374, (uint64_t)kind << 20 | n);
                for (size_t j = 0; !status && j < nw; j++)
                    weights[j] = 2.0 * PARADOX_PI * paradox_uniform(&state);
                for (size_t r = 0; !status && r < rows; r++)
                    status = qml_dataset_row(train, r % qml_dataset_n_rows(train), x + 2 * r, 2, NULL);
                cost_ctx ctx = {model, weights, x, nw, rows, grad, QML_GRADIENT_OPTIONS_INIT};
                ctx.opt.backend = (qml_backend)backend;
                ctx.opt.n_threads = 1;
                snprintf(p->prefix, sizeof p->prefix, "cost %s n=%u %s", paradox_kind_name(kind), n,
                         paradox_backend_name(backend));
                paradox_progress_show(p, "");
                double t_grad = NAN, t_step = NAN;
                unsigned r_grad = 0, r_step = 0;
                if (!status)
                    status = time_median(cost_gradient, &ctx, &t_grad, &r_grad);
                if (!status)
                    status = time_median(cost_step, &ctx, &t_step, &r_step);
                free(weights);
                free(grad);
                free(x);
                qml_model_free(model);
                if (status) {
                    code = cli_fail("paradox: cost", status);
                    break;
                }
                if (p->interrupted && *p->interrupted) {
                    code = 3;
                    break;
                }
                double seconds = cli_seconds() - start;
                code = paradox_table_append(&t->cost, "%s,%s,%u,%zu,%.17g,%u,%.6g,%u,%.6g,%zu,%.3f", key,
                                            paradox_backend_name(backend), layers, nw, dimension, r_grad, t_grad,
                                            r_step, t_step, rows, seconds);
                paradox_progress_done(p, p->prefix, units, seconds);
            }
        }
    }
    qml_dataset_free(train);
    qml_dataset_free(test);
    return code;
}
