/* test_train.c: the classifier (templates, predictions, loss gradients) and
 * the training loop (accuracy, determinism, cancellation, failures). */
#include "harness.h"
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_PI 3.14159265358979323846

/* A dataset of `n` rows with `f` features uniform in [-pi/2, pi/2] and
 * labels alternating 0, 1 (from the test's own generator). */
static qml_dataset *random_dataset(size_t n, size_t f, uint64_t seed)
{
    harness_rng rng = {seed};
    double *x = malloc(n * f * sizeof *x);
    int *y = malloc(n * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    for (size_t i = 0; i < n * f; i++)
        x[i] = TEST_PI * (harness_uniform(&rng) - 0.5);
    for (size_t i = 0; i < n; i++)
        y[i] = (int)(i % 2);
    qml_dataset *d = NULL;
    assert_ok(qml_dataset_create(&d, n, f, x, y));
    free(x);
    free(y);
    return d;
}

/* Two Gaussian blobs, linearly separable: class 0 around (-0.8, -0.8),
 * class 1 around (+0.8, +0.8), standard deviation 0.25 per coordinate. */
static qml_dataset *blobs(size_t n, uint64_t seed)
{
    harness_rng rng = {seed};
    double *x = malloc(2 * n * sizeof *x);
    int *y = malloc(n * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    for (size_t i = 0; i < n; i++) {
        y[i] = (int)(i % 2);
        double c = y[i] ? 0.8 : -0.8;
        x[2 * i] = c + 0.25 * harness_normal(&rng);
        x[2 * i + 1] = c + 0.25 * harness_normal(&rng);
    }
    qml_dataset *d = NULL;
    assert_ok(qml_dataset_create(&d, n, 2, x, y));
    free(x);
    free(y);
    return d;
}

/* The loss of the test's own formulas from the model's probabilities. */
static double reference_loss(const qml_model *model, const qml_dataset *d)
{
    size_t n = qml_dataset_n_rows(d);
    double *p = malloc(n * sizeof *p);
    assert_non_null(p);
    assert_ok(qml_model_predict(model, qml_dataset_features(d), n, qml_dataset_n_features(d), 1, p, NULL));
    const int *y = qml_dataset_labels(d);
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (qml_model_loss_kind(model) == QML_LOSS_BCE)
            total += y[i] ? -log(p[i]) : -log(1.0 - p[i]);
        else
            total += (p[i] - y[i]) * (p[i] - y[i]);
    }
    free(p);
    return total / (double)n;
}

static void set_random_params(qml_model *model, uint64_t seed)
{
    harness_rng rng = {seed};
    size_t n = qml_model_n_params(model);
    double *params = malloc(n * sizeof *params);
    assert_non_null(params);
    for (size_t i = 0; i < n; i++)
        params[i] = 2.0 * TEST_PI * harness_uniform(&rng);
    params[n - 2] = 1.5;   /* a */
    params[n - 1] = -0.3;  /* b */
    assert_ok(qml_model_set_params(model, params, n));
    free(params);
}

/* ---- templates ------------------------------------------------------------ */

static void test_template_shapes(void **state)
{
    (void)state;
    for (unsigned n = 2; n <= 5; n++) {
        qml_model *m = NULL;
        assert_ok(qml_model_create_template(&m, QML_MODEL_UNSTRUCTURED, n, n, 2, QML_LOSS_BCE));
        assert_int_equal(qml_model_n_weights(m), 2 * n * n);
        assert_int_equal(qml_model_n_params(m), 2 * n * n + 2);
        assert_int_equal(qml_model_n_features(m), 2);
        qml_model_free(m);
        assert_ok(qml_model_create_template(&m, QML_MODEL_PERMUTATION, n, n, 2, QML_LOSS_MSE));
        assert_int_equal(qml_model_n_weights(m), 3 * n);
        assert_int_equal(qml_model_loss_kind(m), QML_LOSS_MSE);
        qml_model_free(m);
        assert_ok(qml_model_create_template(&m, QML_MODEL_FREE_FERMION, n, 2, 2, QML_LOSS_BCE));
        assert_int_equal(qml_model_n_weights(m), 2 * (2 * n - 1));
        qml_model_free(m);
    }
    assert_string_equal(qml_model_kind_name(QML_MODEL_UNSTRUCTURED), "unstructured");
    assert_string_equal(qml_model_kind_name(QML_MODEL_PERMUTATION), "permutation");
    assert_string_equal(qml_model_kind_name(QML_MODEL_FREE_FERMION), "free-fermion");
    assert_null(qml_model_kind_name((qml_model_kind)7));
    /* Pinned values. */
    assert_int_equal(QML_LOSS_BCE, 0);
    assert_int_equal(QML_LOSS_MSE, 1);
    assert_int_equal(QML_MODEL_UNSTRUCTURED, 0);
    assert_int_equal(QML_MODEL_PERMUTATION, 1);
    assert_int_equal(QML_MODEL_FREE_FERMION, 2);
    assert_int_equal(QML_INIT_UNIFORM, 0);
    assert_int_equal(QML_INIT_NORMAL, 1);
    assert_int_equal(QML_INIT_KEEP, 2);
}

/* Predictions against a second computation: the statevector run and the
 * expectation of the readout, then the sigmoid head in the test. */
static void test_predict_reference(void **state)
{
    (void)state;
    qml_dataset *d = random_dataset(7, 2, 11);
    for (int kind = 0; kind <= 2; kind++) {
        qml_model *m = NULL;
        assert_ok(qml_model_create_template(&m, (qml_model_kind)kind, 3, 2, 2, QML_LOSS_BCE));
        set_random_params(m, 100 + (uint64_t)kind);
        size_t np = qml_model_n_params(m);
        double params[64];
        assert_true(np <= 64);
        assert_ok(qml_model_params(m, params, np));
        double p[7], e[7];
        assert_ok(qml_model_predict(m, qml_dataset_features(d), 7, 2, 2, p, e));
        qml_statevec *sv = NULL;
        assert_ok(qml_statevec_create(&sv, 3));
        for (size_t r = 0; r < 7; r++) {
            double x[2];
            assert_ok(qml_dataset_row(d, r, x, 2, NULL));
            assert_ok(qml_statevec_set_zero(sv));
            assert_ok(qml_statevec_run(sv, qml_model_circuit(m), params, np - 2, x, 2));
            double ev;
            assert_ok(qml_statevec_expectation(sv, qml_model_readout(m), &ev));
            /* Same simulator, same gates: only rounding differs. */
            assert_close(e[r], ev, 1e-12);
            assert_close(p[r], 1.0 / (1.0 + exp(-(params[np - 2] * ev + params[np - 1]))), 1e-12);
        }
        /* The loss and accuracy of evaluate against the test's formulas. */
        double loss, acc;
        assert_ok(qml_model_evaluate(m, d, 1, &loss, &acc));
        assert_close(loss, reference_loss(m, d), 1e-12);
        size_t correct = 0;
        for (size_t r = 0; r < 7; r++)
            correct += (p[r] >= 0.5) == (qml_dataset_labels(d)[r] == 1);
        assert_close(acc, (double)correct / 7.0, 0.0);
        qml_statevec_free(sv);
        qml_model_free(m);
    }
    qml_dataset_free(d);
}

/* ---- the loss gradient ------------------------------------------------------ */

/* dL/dtheta against central finite differences of the loss computed in the
 * test from predictions. Step h = 1e-5: truncation error O(h^2 |L'''|) ~ 1e-10
 * (L''' is O(a^3) = O(4) here), rounding O(eps / h) ~ 1e-11; tolerance 1e-7. */
static void check_gradient(qml_model_kind kind, qml_loss loss, unsigned n)
{
    qml_dataset *d = random_dataset(6, 2, 21 + n);
    qml_model *m = NULL;
    assert_ok(qml_model_create_template(&m, kind, n, 2, 2, loss));
    set_random_params(m, 300 + n);
    size_t np = qml_model_n_params(m);
    double *params = malloc(np * sizeof *params), *grad = malloc(np * sizeof *grad);
    assert_non_null(params);
    assert_non_null(grad);
    assert_ok(qml_model_params(m, params, np));
    double l;
    size_t rows[4] = {5, 1, 2, 1}; /* a minibatch with a repeat */
    assert_ok(qml_model_loss_gradient(m, d, NULL, 0, 1, &l, grad, np));
    assert_close(l, reference_loss(m, d), 1e-12);
    const double h = 1e-5;
    for (size_t k = 0; k < np; k++) {
        double keep = params[k];
        params[k] = keep + h;
        assert_ok(qml_model_set_params(m, params, np));
        double up = reference_loss(m, d);
        params[k] = keep - h;
        assert_ok(qml_model_set_params(m, params, np));
        double down = reference_loss(m, d);
        params[k] = keep;
        assert_ok(qml_model_set_params(m, params, np));
        assert_close(grad[k], (up - down) / (2.0 * h), 1e-7);
    }
    /* A minibatch by indices equals the same rows gathered into a dataset. */
    qml_dataset *sub = NULL;
    assert_ok(qml_dataset_subset(&sub, d, rows, 4));
    double *grad_sub = malloc(np * sizeof *grad_sub);
    assert_non_null(grad_sub);
    double l_idx, l_sub;
    assert_ok(qml_model_loss_gradient(m, d, rows, 4, 2, &l_idx, grad, np));
    assert_ok(qml_model_loss_gradient(m, sub, NULL, 0, 1, &l_sub, grad_sub, np));
    assert_true(l_idx == l_sub);
    assert_memory_equal(grad, grad_sub, np * sizeof *grad);
    free(grad_sub);
    qml_dataset_free(sub);
    free(params);
    free(grad);
    qml_model_free(m);
    qml_dataset_free(d);
}

static void test_gradient_bce(void **state)
{
    (void)state;
    check_gradient(QML_MODEL_UNSTRUCTURED, QML_LOSS_BCE, 3);
    check_gradient(QML_MODEL_PERMUTATION, QML_LOSS_BCE, 4);
    check_gradient(QML_MODEL_FREE_FERMION, QML_LOSS_BCE, 3);
}

static void test_gradient_mse(void **state)
{
    (void)state;
    check_gradient(QML_MODEL_UNSTRUCTURED, QML_LOSS_MSE, 2);
    check_gradient(QML_MODEL_PERMUTATION, QML_LOSS_MSE, 3);
    check_gradient(QML_MODEL_FREE_FERMION, QML_LOSS_MSE, 4);
}

/* ---- the permutation symmetry ------------------------------------------------ */

/* SWAP(q, r) = (I + X_q X_r + Y_q Y_r + Z_q Z_r) / 2. */
static qml_pauli_sum *swap_operator(unsigned n, unsigned q, unsigned r)
{
    qml_pauli_sum *s = NULL;
    assert_ok(qml_pauli_sum_create(&s, n));
    unsigned pair[2] = {q, r};
    assert_ok(qml_pauli_sum_add_term(s, 0.5, "", NULL, 0));
    assert_ok(qml_pauli_sum_add_term(s, 0.5, "XX", pair, 2));
    assert_ok(qml_pauli_sum_add_term(s, 0.5, "YY", pair, 2));
    assert_ok(qml_pauli_sum_add_term(s, 0.5, "ZZ", pair, 2));
    return s;
}

static void test_permutation_symmetry(void **state)
{
    (void)state;
    const unsigned n = 4;
    qml_model *m = NULL;
    assert_ok(qml_model_create_template(&m, QML_MODEL_PERMUTATION, n, 2, 2, QML_LOSS_BCE));
    const qml_circuit *c = qml_model_circuit(m);
    /* Every weight generator, every per-layer feature generator (the sum of
     * the generators of the gates a feature drives in one layer) and the
     * readout commute with the adjacent transpositions, which generate S_n. */
    for (unsigned q = 0; q + 1 < n; q++) {
        qml_pauli_sum *swap = swap_operator(n, q, q + 1);
        int commute;
        for (long w = 0; w < (long)qml_model_n_weights(m); w++) {
            qml_pauli_sum *g = NULL;
            assert_ok(qml_circuit_weight_generator(c, w, &g));
            assert_ok(qml_pauli_sum_commutes(g, swap, 1e-12, &commute));
            assert_true(commute);
            qml_pauli_sum_free(g);
        }
        assert_ok(qml_pauli_sum_commutes(qml_model_readout(m), swap, 1e-12, &commute));
        assert_true(commute);
        /* Feature gates come in blocks of n consecutive gates, one per qubit. */
        qml_pauli_sum *block = NULL;
        size_t in_block = 0;
        for (size_t i = 0; i < qml_circuit_n_gates(c); i++) {
            long feature = QML_NONE;
            if (qml_circuit_gate_angle(c, i, NULL, NULL, NULL, &feature, NULL) != QML_OK || feature == QML_NONE)
                continue;
            qml_pauli_sum *g = NULL;
            assert_ok(qml_circuit_gate_generator(c, i, &g));
            if (!block)
                assert_ok(qml_pauli_sum_create(&block, n));
            assert_ok(qml_pauli_sum_add(block, 1.0, g));
            qml_pauli_sum_free(g);
            if (++in_block == n) {
                assert_ok(qml_pauli_sum_commutes(block, swap, 1e-12, &commute));
                assert_true(commute);
                qml_pauli_sum_free(block);
                block = NULL;
                in_block = 0;
            }
        }
        assert_null(block);
        qml_pauli_sum_free(swap);
    }
    /* The state U(w, x)|0...0> is then invariant under every qubit
     * permutation: check amplitude psi(i) = psi(i with bits q, q+1 swapped). */
    set_random_params(m, 77);
    double params[16];
    assert_ok(qml_model_params(m, params, 16));
    qml_statevec *sv = NULL;
    assert_ok(qml_statevec_create(&sv, n));
    double x[2] = {0.7, -1.1};
    assert_ok(qml_statevec_run(sv, c, params, qml_model_n_weights(m), x, 2));
    const double *amp = qml_statevec_data(sv);
    for (unsigned q = 0; q + 1 < n; q++)
        for (size_t i = 0; i < ((size_t)1 << n); i++) {
            size_t bq = (i >> q) & 1, br = (i >> (q + 1)) & 1;
            size_t j = (i & ~(((size_t)3) << q)) | (br << q) | (bq << (q + 1));
            /* Gates applied in different orders on symmetric states: rounding only. */
            assert_close(amp[2 * i], amp[2 * j], 1e-12);
            assert_close(amp[2 * i + 1], amp[2 * j + 1], 1e-12);
        }
    qml_statevec_free(sv);
    /* A control that the test can fail: the unstructured model's weight
     * generators do not all commute with SWAP(0, 1). */
    qml_model *u = NULL;
    assert_ok(qml_model_create_template(&u, QML_MODEL_UNSTRUCTURED, n, 1, 2, QML_LOSS_BCE));
    qml_pauli_sum *swap = swap_operator(n, 0, 1), *g = NULL;
    int commute;
    assert_ok(qml_circuit_weight_generator(qml_model_circuit(u), 0, &g));
    assert_ok(qml_pauli_sum_commutes(g, swap, 1e-12, &commute));
    assert_false(commute);
    qml_pauli_sum_free(g);
    qml_pauli_sum_free(swap);
    qml_model_free(u);
    qml_model_free(m);
}

/* ---- training --------------------------------------------------------------- */

static void test_training_separable(void **state)
{
    (void)state;
    qml_dataset *all = blobs(80, 5), *train = NULL, *test = NULL;
    assert_ok(qml_dataset_split(&train, &test, all, 0.25, 3, 1));
    assert_ok(qml_dataset_rescale(train, test, -TEST_PI / 2, TEST_PI / 2, NULL, NULL));
    const qml_model_kind kinds[3] = {QML_MODEL_UNSTRUCTURED, QML_MODEL_PERMUTATION, QML_MODEL_FREE_FERMION};
    for (unsigned n = 2; n <= 4; n += 2)
        for (int k = 0; k < 3; k++) {
            qml_model *m = NULL;
            assert_ok(qml_model_create_template(&m, kinds[k], n, 2, 2, QML_LOSS_BCE));
            qml_train_options opt = QML_TRAIN_OPTIONS_INIT;
            qml_optimizer_options adam = QML_OPTIMIZER_OPTIONS_INIT;
            adam.learning_rate = 0.1;
            opt.optimizer = &adam;
            opt.epochs = 25;
            opt.batch_size = 10;
            opt.seed = 9;
            opt.init = QML_INIT_NORMAL; /* near the identity: easy to train */
            opt.init_scale = 0.1;
            qml_train_epoch history[25];
            history[0].size = sizeof history[0];
            assert_ok(qml_model_train(m, train, test, &opt, history, 25));
            double acc, test_acc;
            assert_ok(qml_model_evaluate(m, train, 1, NULL, &acc));
            assert_ok(qml_model_evaluate(m, test, 1, NULL, &test_acc));
            if (acc < 0.9 || test_acc < 0.9)
                fail_msg("%s at n = %u: train accuracy %.3f, test %.3f", qml_model_kind_name(kinds[k]), n, acc,
                         test_acc);
            /* The history's last entry is the final state. */
            assert_true(history[24].train_accuracy == acc);
            assert_true(history[24].test_accuracy == test_acc);
            assert_true(history[24].loss < history[0].loss + 1e-12 || history[24].loss < 0.4);
            qml_model_free(m);
        }
    qml_dataset_free(train);
    qml_dataset_free(test);
    qml_dataset_free(all);
}

static void test_determinism_threads(void **state)
{
    (void)state;
    qml_dataset *d = random_dataset(37, 2, 4);
    double params[2][64];
    qml_train_epoch history[2][4];
    history[0][0].size = history[1][0].size = sizeof(qml_train_epoch);
    for (unsigned t = 0; t < 2; t++) {
        qml_model *m = NULL;
        assert_ok(qml_model_create_template(&m, QML_MODEL_UNSTRUCTURED, 4, 2, 2, QML_LOSS_BCE));
        qml_train_options opt = QML_TRAIN_OPTIONS_INIT;
        opt.epochs = 4;
        opt.batch_size = 8;
        opt.seed = 1234;
        opt.n_threads = t + 1;
        assert_ok(qml_model_train(m, d, d, &opt, history[t], 4));
        assert_int_equal(qml_model_n_params(m), 18);
        assert_ok(qml_model_params(m, params[t], 64));
        qml_model_free(m);
    }
    assert_memory_equal(params[0], params[1], 18 * sizeof(double));
    assert_memory_equal(history[0], history[1], sizeof history[0]);
    /* A different seed gives different weights (the seed is used). */
    qml_model *m = NULL;
    assert_ok(qml_model_create_template(&m, QML_MODEL_UNSTRUCTURED, 4, 2, 2, QML_LOSS_BCE));
    qml_train_options opt = QML_TRAIN_OPTIONS_INIT;
    opt.epochs = 1;
    opt.seed = 1235;
    assert_ok(qml_model_train(m, d, NULL, &opt, NULL, 0));
    double other[64];
    assert_ok(qml_model_params(m, other, 64));
    assert_true(memcmp(other, params[0], 18 * sizeof(double)) != 0);
    qml_model_free(m);
    qml_dataset_free(d);
}

/* The init modes, seen through one epoch with a learning rate of 1e-12:
 * Adam moves each parameter by at most about the rate per step, so the
 * weights after the epoch are the initial ones to 1e-10. */
static void test_init_modes(void **state)
{
    (void)state;
    qml_dataset *d = random_dataset(8, 2, 6);
    qml_model *m = NULL;
    assert_ok(qml_model_create_template(&m, QML_MODEL_UNSTRUCTURED, 3, 3, 2, QML_LOSS_BCE));
    size_t nw = qml_model_n_weights(m), np = qml_model_n_params(m);
    double w[20], mean = 0.0;
    assert_true(np <= 20);
    qml_train_options opt = QML_TRAIN_OPTIONS_INIT;
    opt.epochs = 1;
    opt.batch_size = 8;
    qml_optimizer_options tiny = QML_OPTIMIZER_OPTIONS_INIT;
    tiny.learning_rate = 1e-12;
    opt.optimizer = &tiny;
    opt.seed = 5;
    assert_ok(qml_model_train(m, d, NULL, &opt, NULL, 0));
    assert_ok(qml_model_params(m, w, np));
    for (size_t k = 0; k < nw; k++) {
        assert_true(w[k] > -1e-10 && w[k] < 2.0 * TEST_PI + 1e-10);
        mean += w[k] / (double)nw;
    }
    /* 18 uniform draws on [0, 2 pi): mean pi, sd pi / sqrt(3 * 18) = 0.43. */
    assert_true(fabs(mean - TEST_PI) < 4 * 0.43);
    assert_close(w[nw], 1.0, 1e-10);      /* the head keeps a = 1, b = 0 */
    assert_close(w[nw + 1], 0.0, 1e-10);

    opt.init = QML_INIT_NORMAL;
    opt.init_scale = 0.01;
    assert_ok(qml_model_train(m, d, NULL, &opt, NULL, 0));
    assert_ok(qml_model_params(m, w, np));
    double sumsq = 0.0;
    for (size_t k = 0; k < nw; k++)
        sumsq += w[k] * w[k];
    /* The RMS of 18 draws of 0.01 N(0, 1) lies within a factor 2 of 0.01
     * except with probability < 1e-4. */
    double rms = sqrt(sumsq / (double)nw);
    assert_true(rms > 0.005 && rms < 0.02);

    for (size_t k = 0; k < np; k++)
        w[k] = 0.1 * (double)k;
    assert_ok(qml_model_set_params(m, w, np));
    opt.init = QML_INIT_KEEP;
    assert_ok(qml_model_train(m, d, NULL, &opt, NULL, 0));
    double kept[20];
    assert_ok(qml_model_params(m, kept, np));
    for (size_t k = 0; k < np; k++)
        assert_close(kept[k], 0.1 * (double)k, 1e-10);
    qml_model_free(m);
    qml_dataset_free(d);
}

static int cancel_at_two(unsigned epoch, const qml_train_epoch *record, void *user)
{
    unsigned *calls = user;
    (*calls)++;
    assert_int_equal(record->size, sizeof *record);
    assert_true(isfinite(record->loss) && record->loss >= 0.0);
    assert_true(record->train_accuracy >= 0.0 && record->train_accuracy <= 1.0);
    return epoch >= 2;
}

/* The history is size-versioned: records are history[0].size apart, and a
 * size too small for the 0.1 record is refused. */
static void test_history_stride(void **state)
{
    (void)state;
    qml_dataset *d = random_dataset(12, 2, 5);
    qml_model *m = NULL;
    assert_ok(qml_model_create_template(&m, QML_MODEL_FREE_FERMION, 2, 1, 2, QML_LOSS_BCE));
    qml_train_options opt = QML_TRAIN_OPTIONS_INIT;
    opt.epochs = 3;
    struct wider {
        qml_train_epoch record;
        double future_field;
    } wide[3];
    memset(wide, 0x5a, sizeof wide);
    wide[0].record.size = sizeof wide[0];
    assert_ok(qml_model_train(m, d, NULL, &opt, &wide[0].record, 3));
    /* A fresh model (training moves the head, which initialisation keeps). */
    qml_model *fresh = NULL;
    assert_ok(qml_model_create_template(&fresh, QML_MODEL_FREE_FERMION, 2, 1, 2, QML_LOSS_BCE));
    qml_train_epoch plain[3];
    plain[0].size = sizeof plain[0];
    assert_ok(qml_model_train(fresh, d, NULL, &opt, plain, 3)); /* same seed: same history */
    qml_model_free(fresh);
    for (int e = 0; e < 3; e++) {
        assert_int_equal(wide[e].record.size, sizeof(qml_train_epoch));
        assert_true(wide[e].record.loss == plain[e].loss);
        assert_true(wide[e].record.train_accuracy == plain[e].train_accuracy);
        double untouched;
        memset(&untouched, 0x5a, sizeof untouched);
        assert_memory_equal(&wide[e].future_field, &untouched, sizeof untouched);
    }
    plain[0].size = sizeof(size_t);
    assert_status(qml_model_train(m, d, NULL, &opt, plain, 3), QML_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(qml_last_error(), "history[0].size"));
    qml_model_free(m);
    qml_dataset_free(d);
}

static void test_cancellation(void **state)
{
    (void)state;
    qml_dataset *d = random_dataset(20, 2, 8);
    qml_model *m = NULL;
    assert_ok(qml_model_create_template(&m, QML_MODEL_PERMUTATION, 3, 1, 2, QML_LOSS_MSE));
    qml_train_options opt = QML_TRAIN_OPTIONS_INIT;
    opt.epochs = 10;
    unsigned calls = 0;
    opt.progress = cancel_at_two;
    opt.progress_user = &calls;
    qml_train_epoch history[10];
    for (int i = 0; i < 10; i++)
        history[i].loss = -1.0;
    history[0].size = sizeof history[0];
    assert_status(qml_model_train(m, d, NULL, &opt, history, 10), QML_ERR_CANCELLED);
    assert_int_equal(calls, 2);
    assert_true(history[1].loss >= 0.0);
    assert_true(history[2].loss == -1.0);
    assert_true(isnan(history[1].test_accuracy));
    /* The model is valid and holds the parameters of epoch 2's last step. */
    double loss, acc;
    assert_ok(qml_model_evaluate(m, d, 1, &loss, &acc));
    assert_true(loss == history[1].loss);
    assert_true(acc == history[1].train_accuracy);
    qml_model_free(m);
    qml_dataset_free(d);
}

static void test_validation(void **state)
{
    (void)state;
    qml_model *m = NULL;
    assert_status(qml_model_create_template(NULL, QML_MODEL_UNSTRUCTURED, 2, 1, 2, QML_LOSS_BCE),
                  QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_model_create_template(&m, (qml_model_kind)9, 2, 1, 2, QML_LOSS_BCE), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_model_create_template(&m, QML_MODEL_UNSTRUCTURED, 1, 1, 1, QML_LOSS_BCE),
                  QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_model_create_template(&m, QML_MODEL_UNSTRUCTURED, 2, 0, 2, QML_LOSS_BCE),
                  QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_model_create_template(&m, QML_MODEL_UNSTRUCTURED, 2, 1, 3, QML_LOSS_BCE),
                  QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_model_create_template(&m, QML_MODEL_UNSTRUCTURED, 2, 1, 2, (qml_loss)5),
                  QML_ERR_INVALID_ARGUMENT);
    assert_null(m);

    /* qml_model_create: a circuit with no feature, readout mismatch, head. */
    qml_circuit *c = NULL;
    qml_pauli_sum *z = NULL, *z3 = NULL;
    assert_ok(qml_circuit_create(&c, 2));
    assert_ok(qml_pauli_sum_parse(&z, 2, "Z0"));
    assert_ok(qml_pauli_sum_parse(&z3, 3, "Z0"));
    unsigned q0 = 0;
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &q0, 1, 0.0, 0, 1.0, QML_NONE, 0.0));
    assert_status(qml_model_create(&m, c, z, QML_LOSS_BCE, 1.0, 0.0), QML_ERR_INVALID_ARGUMENT);
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RX, &q0, 1, 0.0, QML_NONE, 0.0, 0, 1.0));
    assert_status(qml_model_create(&m, c, z3, QML_LOSS_BCE, 1.0, 0.0), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_model_create(&m, c, z, QML_LOSS_BCE, NAN, 0.0), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_model_create(&m, NULL, z, QML_LOSS_BCE, 1.0, 0.0), QML_ERR_INVALID_ARGUMENT);
    assert_ok(qml_model_create(&m, c, z, QML_LOSS_MSE, 2.0, 0.5));
    assert_int_equal(qml_model_n_params(m), 3);
    double p[3];
    assert_ok(qml_model_params(m, p, 3));
    assert_true(p[0] == 0.0 && p[1] == 2.0 && p[2] == 0.5);
    assert_status(qml_model_params(m, p, 2), QML_ERR_OUT_OF_RANGE);
    double bad[3] = {0.0, NAN, 0.0};
    assert_status(qml_model_set_params(m, bad, 3), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_model_set_params(m, p, 2), QML_ERR_INVALID_ARGUMENT);
    assert_ok(qml_model_params(m, p, 3));
    assert_true(p[1] == 2.0); /* nothing changed */

    /* Predictions: rows, features. */
    double rows[2] = {0.1, NAN}, prob[2];
    assert_status(qml_model_predict(m, rows, 2, 1, 1, prob, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_model_predict(m, rows, 0, 1, 1, prob, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_model_predict(m, rows, 1, 0, 1, prob, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_model_predict(m, NULL, 1, 1, 1, prob, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_ok(qml_model_predict(m, rows, 1, 1, 1, prob, NULL));
    /* Weight 0 and feature x: RX(x) RY(0)|0>, <Z> = cos x; p = sigmoid(2 cos x + 0.5). */
    assert_close(prob[0], 1.0 / (1.0 + exp(-(2.0 * cos(0.1) + 0.5))), 1e-14);

    /* Loss gradient: indices, capacity. */
    qml_dataset *d = random_dataset(4, 1, 3);
    double g[3];
    size_t idx[2] = {0, 4};
    assert_status(qml_model_loss_gradient(m, d, idx, 2, 1, NULL, g, 3), QML_ERR_OUT_OF_RANGE);
    assert_status(qml_model_loss_gradient(m, d, idx, 0, 1, NULL, g, 3), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_model_loss_gradient(m, d, NULL, 0, 1, NULL, g, 2), QML_ERR_OUT_OF_RANGE);
    assert_status(qml_model_loss_gradient(m, d, NULL, 0, 1, NULL, NULL, 3), QML_ERR_INVALID_ARGUMENT);
    assert_ok(qml_model_loss_gradient(m, d, NULL, 0, 1, NULL, NULL, 0));

    /* Training options. */
    qml_train_options opt = QML_TRAIN_OPTIONS_INIT;
    opt.epochs = 0;
    assert_status(qml_model_train(m, d, NULL, &opt, NULL, 0), QML_ERR_INVALID_ARGUMENT);
    opt.epochs = 1;
    opt.batch_size = 0;
    assert_status(qml_model_train(m, d, NULL, &opt, NULL, 0), QML_ERR_INVALID_ARGUMENT);
    opt.batch_size = 2;
    opt.init = (qml_init_mode)7;
    assert_status(qml_model_train(m, d, NULL, &opt, NULL, 0), QML_ERR_INVALID_ARGUMENT);
    opt.init = QML_INIT_NORMAL;
    opt.init_scale = -1.0;
    assert_status(qml_model_train(m, d, NULL, &opt, NULL, 0), QML_ERR_INVALID_ARGUMENT);
    opt.init_scale = 0.1;
    qml_optimizer_options negative = QML_OPTIMIZER_OPTIONS_INIT;
    negative.learning_rate = -1.0;
    opt.optimizer = &negative;
    assert_status(qml_model_train(m, d, NULL, &opt, NULL, 0), QML_ERR_INVALID_ARGUMENT);
    opt.optimizer = NULL;
    assert_status(qml_model_train(m, d, NULL, &opt, NULL, 3), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_model_train(NULL, d, NULL, &opt, NULL, 0), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_model_train(m, NULL, NULL, &opt, NULL, 0), QML_ERR_INVALID_ARGUMENT);
    opt.size = 1;
    assert_status(qml_model_train(m, d, NULL, &opt, NULL, 0), QML_ERR_INVALID_ARGUMENT);
    /* None of the failures above touched the parameters. */
    assert_ok(qml_model_params(m, p, 3));
    assert_true(p[0] == 0.0 && p[1] == 2.0 && p[2] == 0.5);
    /* A larger options struct with zero tail bytes is accepted (a newer caller). */
    struct {
        qml_train_options base;
        double future;
    } grown;
    memset(&grown, 0, sizeof grown);
    qml_train_options init = QML_TRAIN_OPTIONS_INIT;
    grown.base = init;
    grown.base.size = sizeof grown;
    grown.base.epochs = 1;
    assert_ok(qml_model_train(m, d, NULL, &grown.base, NULL, 0));

    qml_model_free(m);
    qml_model_free(NULL);
    assert_int_equal(qml_model_n_params(NULL), 0);
    assert_null(qml_model_circuit(NULL));
    qml_dataset_free(d);
    qml_pauli_sum_free(z);
    qml_pauli_sum_free(z3);
    qml_circuit_free(c);
}

/* ---- finite-shot gradients ---------------------------------------------------- */

/* The shot test circuit on 2 qubits, 2 features, 5 weights; gate `shifted`
 * (an index into the list below, -1 for none) gets `shift` added to its
 * angle, as the parameter-shift rule shifts one gate:
 *   0 RY(x0) q0, 1 RY(x1) q1, 2 RY(w0) q0, 3 RX(w1) q1, 4 CNOT(0, 1),
 *   5 RZZ(w2) q0 q1, 6 RY(0.7 w3) q0, 7 RX(0.7 w3) q1, 8 CNOT(1, 0),
 *   9 RY(w4) q1.
 * Gates 6 and 7 share weight 3 with scale 0.7. */
#define SHOT_WEIGHTS 5
static const int shot_gate_weight[10] = {-1, -1, 0, 1, -1, 2, 3, 3, -1, 4};
static const double shot_gate_scale[10] = {0, 0, 1, 1, 0, 1, 0.7, 0.7, 0, 1};

static qml_circuit *shot_circuit(int shifted, double shift)
{
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, 2));
    unsigned q0 = 0, q1 = 1, pair[2] = {0, 1}, flip[2] = {1, 0};
    const double k[10] = {[0] = 0.0};
#define SHIFT(g) (k[g] + ((g) == shifted ? shift : 0.0))
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &q0, 1, SHIFT(0), QML_NONE, 0.0, 0, 1.0));
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &q1, 1, SHIFT(1), QML_NONE, 0.0, 1, 1.0));
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &q0, 1, SHIFT(2), 0, 1.0, QML_NONE, 0.0));
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RX, &q1, 1, SHIFT(3), 1, 1.0, QML_NONE, 0.0));
    assert_ok(qml_circuit_add_gate(c, QML_GATE_CNOT, pair, 2));
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RZZ, pair, 2, SHIFT(5), 2, 1.0, QML_NONE, 0.0));
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &q0, 1, SHIFT(6), 3, 0.7, QML_NONE, 0.0));
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RX, &q1, 1, SHIFT(7), 3, 0.7, QML_NONE, 0.0));
    assert_ok(qml_circuit_add_gate(c, QML_GATE_CNOT, flip, 2));
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &q1, 1, SHIFT(9), 4, 1.0, QML_NONE, 0.0));
#undef SHIFT
    return c;
}

/* The two readouts: "Z0" (one term) and
 * O = 0.5 Z0 + 0.3 Z0 Z1 + 0.4 X1, measured in two bases (Z0 Z1 | X1):
 * O_0 = 0.5 Z0 + 0.3 Z0 Z1 with O_0^2 = 0.34 + 0.3 Z1, O_1 = 0.4 X1 with
 * O_1^2 = 0.16. */
static const char *const shot_readouts[2] = {"Z0", "0.5*Z0 + 0.3*Z0 Z1 + 0.4*X1"};

/* The readout value at a shifted circuit and the variance of one shot of
 * the grouped estimator there, from the test's own algebra above. */
static double shot_point(int readout, const double *w, const double *x, int shifted, double shift, double *single)
{
    qml_circuit *c = shot_circuit(shifted, shift);
    qml_statevec *s = NULL;
    assert_ok(qml_statevec_create(&s, 2));
    assert_ok(qml_statevec_run(s, c, w, SHOT_WEIGHTS, x, 2));
    const char *texts[4] = {"Z0", "0.5*Z0 + 0.3*Z0 Z1", "0.4*X1", "Z1"};
    double v[4];
    for (int i = 0; i < 4; i++) {
        qml_pauli_sum *o = NULL;
        assert_ok(qml_pauli_sum_parse(&o, 2, texts[i]));
        assert_ok(qml_statevec_expectation(s, o, &v[i]));
        qml_pauli_sum_free(o);
    }
    double e;
    if (readout == 0) {
        e = v[0];
        *single = 1.0 - v[0] * v[0];
    } else {
        e = v[1] + v[2];
        *single = (0.34 + 0.3 * v[3] - v[1] * v[1]) + (0.16 - v[2] * v[2]);
    }
    qml_statevec_free(s);
    qml_circuit_free(c);
    return e;
}

static qml_model *shot_model(int readout)
{
    qml_circuit *c = shot_circuit(-1, 0.0);
    qml_pauli_sum *o = NULL;
    assert_ok(qml_pauli_sum_parse(&o, 2, shot_readouts[readout]));
    qml_model *m = NULL;
    assert_ok(qml_model_create(&m, c, o, QML_LOSS_BCE, 1.0, 0.0));
    qml_pauli_sum_free(o);
    qml_circuit_free(c);
    return m;
}

typedef struct shot_reference {
    double value, value_variance;              /* e and Var(e estimate) with S shots */
    double gradient[SHOT_WEIGHTS];             /* exact de/dw_k (central differences) */
    double shift_variance[SHOT_WEIGHTS];       /* Var of the sampled shift estimate */
    double gaussian_variance[SHOT_WEIGHTS];    /* the fast mode's variance: v(x) W_k / (2 S) */
} shot_reference;

static void shot_reference_at(int readout, const double *w, const double *x, double shots, shot_reference *ref)
{
    double v0;
    ref->value = shot_point(readout, w, x, -1, 0.0, &v0);
    ref->value_variance = v0 / shots;
    for (int k = 0; k < SHOT_WEIGHTS; k++) {
        ref->shift_variance[k] = ref->gaussian_variance[k] = 0.0;
        /* Central differences in the weight, h = 1e-5: error ~1e-10. */
        double wp[SHOT_WEIGHTS], wm[SHOT_WEIGHTS], ignore;
        memcpy(wp, w, sizeof wp);
        memcpy(wm, w, sizeof wm);
        wp[k] += 1e-5;
        wm[k] -= 1e-5;
        ref->gradient[k] = (shot_point(readout, wp, x, -1, 0.0, &ignore) - shot_point(readout, wm, x, -1, 0.0, &ignore)) /
                           2e-5;
    }
    /* Each weight gate has one Pauli factor with coefficient 1: the shift
     * estimate is s (l+ - l-)/2 per gate, l+- independent S-shot means. */
    for (int g = 0; g < 10; g++) {
        int k = shot_gate_weight[g];
        if (k < 0)
            continue;
        double s = shot_gate_scale[g], vp, vm;
        shot_point(readout, w, x, g, TEST_PI / 2, &vp);
        shot_point(readout, w, x, g, -TEST_PI / 2, &vm);
        ref->shift_variance[k] += s * s * (vp + vm) / (4.0 * shots);
        ref->gaussian_variance[k] += s * s * v0 / (2.0 * shots);
    }
}

/* Sample mean and unbiased sample variance of column k of an R x stride array. */
static void column_moments(const double *a, size_t r, size_t stride, size_t k, double *mean, double *variance)
{
    double m = 0.0;
    for (size_t i = 0; i < r; i++)
        m += a[i * stride + k];
    m /= (double)r;
    double v = 0.0;
    for (size_t i = 0; i < r; i++)
        v += (a[i * stride + k] - m) * (a[i * stride + k] - m);
    *mean = m;
    *variance = v / (double)(r - 1);
}

/* R independent estimates at one point: R identical rows, each with its own
 * streams. Checks, for each mode and readout, that the estimates are
 * unbiased (mean within 3.5 standard errors of the exact value and
 * gradient) and that their variance is the mode's formula within sampling
 * error (the relative standard error of a sample variance is about
 * sqrt(2 / (R - 1)) for near-Gaussian estimates; 5 of them are allowed). */
static void check_shot_moments(qml_shot_mode mode, int readout, uint64_t shots, size_t r, double *variances_out)
{
    qml_model *m = shot_model(readout);
    const double w[SHOT_WEIGHTS] = {0.9, -1.3, 0.4, 2.1, -0.6}, x[2] = {0.3, -0.8};
    double params[SHOT_WEIGHTS + 2] = {0.9, -1.3, 0.4, 2.1, -0.6, 1.0, 0.0};
    assert_ok(qml_model_set_params(m, params, SHOT_WEIGHTS + 2));
    double *rows = malloc(2 * r * sizeof *rows), *values = malloc(r * sizeof *values);
    double *grads = malloc(r * SHOT_WEIGHTS * sizeof *grads);
    assert_non_null(rows);
    assert_non_null(values);
    assert_non_null(grads);
    for (size_t i = 0; i < r; i++)
        memcpy(rows + 2 * i, x, sizeof x);
    assert_ok(qml__model_shot_estimate(m, rows, r, 2, shots, mode, 77 + shots, 2, values, grads));
    shot_reference ref;
    shot_reference_at(readout, w, x, (double)shots, &ref);
    const double rel = 5.0 * sqrt(2.0 / (double)(r - 1));
    double mean, var;
    column_moments(values, r, 1, 0, &mean, &var);
    if (fabs(mean - ref.value) > 3.5 * sqrt(var / (double)r))
        fail_msg("mode %d readout %d: value mean %.6f, exact %.6f, SE %.2g", mode, readout, mean, ref.value,
                 sqrt(var / (double)r));
    if (fabs(var - ref.value_variance) > rel * ref.value_variance)
        fail_msg("mode %d readout %d: value variance %.6g, formula %.6g", mode, readout, var, ref.value_variance);
    for (int k = 0; k < SHOT_WEIGHTS; k++) {
        column_moments(grads, r, SHOT_WEIGHTS, (size_t)k, &mean, &var);
        if (fabs(mean - ref.gradient[k]) > 3.5 * sqrt(var / (double)r))
            fail_msg("mode %d readout %d: weight %d mean %.6f, exact %.6f, SE %.2g", mode, readout, k, mean,
                     ref.gradient[k], sqrt(var / (double)r));
        double expected = mode == QML_SHOTS_SAMPLED ? ref.shift_variance[k] : ref.gaussian_variance[k];
        if (fabs(var - expected) > rel * expected)
            fail_msg("mode %d readout %d: weight %d variance %.6g, formula %.6g (shift %.6g)", mode, readout, k,
                     var, expected, ref.shift_variance[k]);
        if (variances_out)
            variances_out[k] = var;
    }
    free(grads);
    free(values);
    free(rows);
    qml_model_free(m);
}

static void test_shot_moments(void **state)
{
    (void)state;
    for (int readout = 0; readout < 2; readout++) {
        check_shot_moments(QML_SHOTS_SAMPLED, readout, 20, 4000, NULL);
        check_shot_moments(QML_SHOTS_GAUSSIAN, readout, 20, 4000, NULL);
    }
}

/* Variance ~ 1/S: the sampled estimator's variance at S = 10 is 4 times
 * that at S = 40 (each within the sampling error checked above, so the
 * ratio within about 2 x 5 relative standard errors). */
static void test_shot_scaling(void **state)
{
    (void)state;
    double v10[SHOT_WEIGHTS], v40[SHOT_WEIGHTS];
    check_shot_moments(QML_SHOTS_SAMPLED, 0, 10, 3000, v10);
    check_shot_moments(QML_SHOTS_SAMPLED, 0, 40, 3000, v40);
    const double rel = 10.0 * sqrt(2.0 / 2999.0);
    for (int k = 0; k < SHOT_WEIGHTS; k++)
        if (fabs(v10[k] / v40[k] - 4.0) > 4.0 * rel)
            fail_msg("weight %d: variance ratio S=10 / S=40 is %.4f, expected 4", k, v10[k] / v40[k]);
}

/* The fast mode against the sampled one. Per gate, both variances are
 * trigonometric polynomials of degree 2 in the gate's angle phi: the fast
 * mode's is sum_f s^2 v(phi) / (2 S), the sampled one's
 * sum_f s^2 [v(phi + pi/2) + v(phi - pi/2)] / (4 S). Their means over the
 * four angles phi0 + j pi/2 are the same (the constant term of v), so for a
 * weight read by one gate the two variances averaged over w_k + j pi/2
 * agree to rounding; pointwise they differ by v's harmonics (the worst
 * relative gap over 20 random points is printed). The shift variance is
 * the one test_shot_moments checks against sampling. */
static void test_shot_modes_agree(void **state)
{
    (void)state;
    const double x[2] = {0.3, -0.8};
    const int single[4] = {0, 1, 2, 4}; /* weights read by one gate with scale 1 */
    double worst = 0.0;
    harness_rng rng = {31};
    for (int trial = 0; trial < 20; trial++) {
        double w[SHOT_WEIGHTS];
        for (int k = 0; k < SHOT_WEIGHTS; k++)
            w[k] = 2.0 * TEST_PI * harness_uniform(&rng);
        for (int readout = 0; readout < 2; readout++) {
            shot_reference ref;
            shot_reference_at(readout, w, x, 100.0, &ref);
            for (int k = 0; k < SHOT_WEIGHTS; k++) {
                double gap = fabs(ref.gaussian_variance[k] - ref.shift_variance[k]) / ref.shift_variance[k];
                if (gap > worst)
                    worst = gap;
            }
            if (trial >= 4)
                continue;
            for (int i = 0; i < 4; i++) {
                int k = single[i];
                double fast = 0.0, shift = 0.0, moved[SHOT_WEIGHTS];
                memcpy(moved, w, sizeof moved);
                for (int j = 0; j < 4; j++) {
                    moved[k] = w[k] + j * TEST_PI / 2;
                    shot_reference at;
                    shot_reference_at(readout, moved, x, 100.0, &at);
                    fast += at.gaussian_variance[k];
                    shift += at.shift_variance[k];
                }
                assert_close(fast, shift, 1e-13);
            }
        }
    }
    print_message("# fast-mode variance vs parameter-shift variance: worst pointwise relative gap %.3f\n", worst);
}

/* Same seed, same bits, for any thread count; rows use their own streams. */
static void test_shot_threads(void **state)
{
    (void)state;
    for (int readout = 0; readout < 2; readout++)
        for (int mode = 0; mode < 2; mode++) {
            qml_model *m = shot_model(readout);
            set_random_params(m, 5);
            double rows[14] = {0.1, 0.2, -0.3, 0.4, 0.5, -0.6, 0.7, 0.8, -0.9, 1.0, 1.1, -1.2, 1.3, 1.4};
            double v[2][7], g[2][7 * SHOT_WEIGHTS];
            for (unsigned t = 0; t < 2; t++)
                assert_ok(qml__model_shot_estimate(m, rows, 7, 2, 30, (qml_shot_mode)mode, 9, t ? 3 : 1, v[t], g[t]));
            assert_memory_equal(v[0], v[1], sizeof v[0]);
            assert_memory_equal(g[0], g[1], sizeof g[0]);
            /* Different rows see different noise even for equal features. */
            qml_model_free(m);
        }
}

/* Training with shots: both modes learn separable blobs, give the same bits
 * for 1 and 3 threads, record exact losses (the model's own evaluation after
 * the last epoch) and finite gradient records. */
static void test_train_with_shots(void **state)
{
    (void)state;
    qml_dataset *all = blobs(60, 8), *train = NULL, *test = NULL;
    assert_ok(qml_dataset_split(&train, &test, all, 0.25, 3, 1));
    assert_ok(qml_dataset_rescale(train, test, -TEST_PI / 2, TEST_PI / 2, NULL, NULL));
    const qml_model_kind kinds[2] = {QML_MODEL_UNSTRUCTURED, QML_MODEL_PERMUTATION};
    for (int k = 0; k < 2; k++)
        for (int mode = 0; mode < 2; mode++) {
            double params[2][64] = {{0}};
            qml_train_epoch history[2][12];
            memset(history, 0, sizeof history);
            for (unsigned t = 0; t < 2; t++) {
                qml_model *m = NULL;
                assert_ok(qml_model_create_template(&m, kinds[k], 2, 2, 2, QML_LOSS_BCE));
                qml_train_options opt = QML_TRAIN_OPTIONS_INIT;
                qml_optimizer_options adam = QML_OPTIMIZER_OPTIONS_INIT;
                adam.learning_rate = 0.1;
                opt.optimizer = &adam;
                opt.epochs = 12;
                opt.batch_size = 9;
                opt.seed = 3;
                opt.init = QML_INIT_NORMAL;
                opt.shots = 64;
                opt.shot_mode = (qml_shot_mode)mode;
                opt.n_threads = t ? 3 : 1;
                history[t][0].size = sizeof(qml_train_epoch);
                assert_ok(qml_model_train(m, train, test, &opt, history[t], 12));
                assert_ok(qml_model_params(m, params[t], 64));
                double loss, acc;
                assert_ok(qml_model_evaluate(m, train, 1, &loss, &acc));
                assert_true(loss == history[t][11].loss);
                assert_true(acc == history[t][11].train_accuracy);
                if (acc < 0.85)
                    fail_msg("%s, shot mode %d: train accuracy %.3f", qml_model_kind_name(kinds[k]), mode, acc);
                for (int e = 0; e < 12; e++) {
                    assert_true(isfinite(history[t][e].grad_mean_square) && history[t][e].grad_mean_square >= 0.0);
                    assert_true(isfinite(history[t][e].grad_batch_variance) &&
                                history[t][e].grad_batch_variance > 0.0);
                }
                qml_model_free(m);
            }
            assert_memory_equal(params[0], params[1], 64 * sizeof(double));
            assert_memory_equal(history[0], history[1], sizeof history[0]);
        }
    qml_dataset_free(train);
    qml_dataset_free(test);
    qml_dataset_free(all);
}

/* The epoch records' gradient fields against a replay of the training in
 * the test: the same shuffles, the batches' exact loss gradients through
 * qml_model_loss_gradient and plain SGD steps done by hand; then the mean
 * square of the full-batch weight gradient and the two-pass sample
 * variance of the step gradients. */
static void test_epoch_gradient_records(void **state)
{
    (void)state;
    qml_dataset *d = random_dataset(23, 2, 12);
    qml_model *m = NULL, *replay = NULL;
    assert_ok(qml_model_create_template(&m, QML_MODEL_FREE_FERMION, 3, 2, 2, QML_LOSS_MSE));
    set_random_params(m, 21);
    size_t np = qml_model_n_params(m), nw = qml_model_n_weights(m);
    double params[64], grads[8][64];
    assert_true(np <= 64);
    assert_ok(qml_model_params(m, params, np));
    assert_ok(qml_model_create_template(&replay, QML_MODEL_FREE_FERMION, 3, 2, 2, QML_LOSS_MSE));
    assert_ok(qml_model_set_params(replay, params, np));

    qml_optimizer_options sgd = QML_OPTIMIZER_OPTIONS_INIT;
    sgd.kind = QML_OPTIMIZER_SGD;
    sgd.learning_rate = 0.05;
    qml_train_options opt = QML_TRAIN_OPTIONS_INIT;
    opt.optimizer = &sgd;
    opt.epochs = 2;
    opt.batch_size = 5;
    opt.seed = 6;
    opt.init = QML_INIT_KEEP;
    qml_train_epoch history[2];
    history[0].size = sizeof history[0];
    assert_ok(qml_model_train(m, d, NULL, &opt, history, 2));

    size_t order[23];
    for (unsigned epoch = 0; epoch < 2; epoch++) {
        assert_ok(qml_shuffle_indices(order, 23, 6, epoch));
        size_t steps = 0;
        for (size_t start = 0; start < 23; start += 5, steps++) {
            size_t count = 23 - start < 5 ? 23 - start : 5;
            assert_ok(qml_model_loss_gradient(replay, d, order + start, count, 1, NULL, grads[steps], 64));
            for (size_t k = 0; k < np; k++)
                params[k] -= 0.05 * grads[steps][k];
            assert_ok(qml_model_set_params(replay, params, np));
        }
        double full[64], square = 0.0, variance = 0.0;
        assert_ok(qml_model_loss_gradient(replay, d, NULL, 0, 1, NULL, full, 64));
        for (size_t k = 0; k < nw; k++) {
            square += full[k] * full[k];
            double mean = 0.0, ss = 0.0;
            for (size_t s = 0; s < steps; s++)
                mean += grads[s][k];
            mean /= (double)steps;
            for (size_t s = 0; s < steps; s++)
                ss += (grads[s][k] - mean) * (grads[s][k] - mean);
            variance += ss / (double)(steps - 1);
        }
        square /= (double)nw;
        variance /= (double)nw;
        assert_close(history[epoch].grad_mean_square, square, 1e-12 * square);
        assert_close(history[epoch].grad_batch_variance, variance, 1e-9 * variance);
    }
    /* One step per epoch: no variance. */
    opt.batch_size = 23;
    opt.epochs = 1;
    assert_ok(qml_model_train(m, d, NULL, &opt, history, 1));
    assert_true(isnan(history[0].grad_batch_variance));
    assert_true(isfinite(history[0].grad_mean_square));
    /* A 0.1 record (without the new fields) is still accepted, and the
     * fields past it are left alone. */
    qml_train_epoch old[2];
    memset(old, 0x5a, sizeof old);
    old[0].size = offsetof(qml_train_epoch, grad_mean_square);
    double untouched;
    memcpy(&untouched, &old[0].grad_mean_square, sizeof untouched);
    assert_ok(qml_model_train(m, d, NULL, &opt, old, 1));
    assert_memory_equal(&old[0].grad_mean_square, &untouched, sizeof untouched);
    qml_model_free(replay);
    qml_model_free(m);
    qml_dataset_free(d);
}

/* Bad shot options: pinned status and a message that names the field. */
static void test_shot_validation(void **state)
{
    (void)state;
    qml_dataset *d = random_dataset(6, 2, 1);
    qml_model *m = NULL;
    assert_ok(qml_model_create_template(&m, QML_MODEL_UNSTRUCTURED, 2, 1, 2, QML_LOSS_BCE));
    qml_train_options opt = QML_TRAIN_OPTIONS_INIT;
    opt.epochs = 1;
    opt.shots = 5;
    opt.shot_mode = (qml_shot_mode)3;
    assert_status(qml_model_train(m, d, NULL, &opt, NULL, 0), QML_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(qml_last_error(), "shot_mode"));
    opt.shot_mode = QML_SHOTS_SAMPLED;
    opt.shots = 1;
    assert_status(qml_model_train(m, d, NULL, &opt, NULL, 0), QML_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(qml_last_error(), "at least 2 shots"));
    /* One shot is fine for the Gaussian model; an unknown mode without shots
     * is not looked at. */
    opt.shot_mode = QML_SHOTS_GAUSSIAN;
    assert_ok(qml_model_train(m, d, NULL, &opt, NULL, 0));
    opt.shots = 0;
    opt.shot_mode = (qml_shot_mode)3;
    assert_ok(qml_model_train(m, d, NULL, &opt, NULL, 0));
    assert_int_equal(QML_SHOTS_SAMPLED, 0);
    assert_int_equal(QML_SHOTS_GAUSSIAN, 1);
    qml_train_options defaults = QML_TRAIN_OPTIONS_INIT;
    assert_true(defaults.shots == 0 && defaults.shot_mode == QML_SHOTS_GAUSSIAN);
    qml_model_free(m);
    qml_dataset_free(d);
}

/* ---- templates with a matched symmetry, capacity and roughness ------------------ */

/* QML_MODEL_PERMUTATION_LOCAL is S_n-invariant: permuting a row's features
 * permutes the qubits of the state (checked amplitude by amplitude against
 * the permuted basis index) and leaves the readout unchanged. */
static void test_permutation_local(void **state)
{
    (void)state;
    const unsigned n = 4;
    qml_model *m = NULL;
    assert_ok(qml_model_create_template(&m, QML_MODEL_PERMUTATION_LOCAL, n, 2, n, QML_LOSS_BCE));
    assert_int_equal(qml_model_n_weights(m), 6);
    assert_int_equal(qml_model_n_features(m), n);
    set_random_params(m, 3);
    double params[8];
    assert_ok(qml_model_params(m, params, 8));
    harness_rng rng = {44};
    qml_statevec *a = NULL, *b = NULL;
    assert_ok(qml_statevec_create(&a, n));
    assert_ok(qml_statevec_create(&b, n));
    double amp_a[32], amp_b[32];
    for (int trial = 0; trial < 20; trial++) {
        double x[4], y[4];
        unsigned sigma[4] = {0, 1, 2, 3};
        for (unsigned q = 0; q < n; q++)
            x[q] = TEST_PI * (harness_uniform(&rng) - 0.5);
        for (unsigned k = n - 1; k > 0; k--) {
            unsigned j = (unsigned)(harness_uniform(&rng) * (k + 1));
            unsigned t = sigma[k];
            sigma[k] = sigma[j];
            sigma[j] = t;
        }
        for (unsigned q = 0; q < n; q++)
            y[q] = x[sigma[q]]; /* qubit q now reads feature sigma(q) */
        double p[2], e[2];
        assert_ok(qml_model_predict(m, x, 1, n, 1, &p[0], &e[0]));
        assert_ok(qml_model_predict(m, y, 1, n, 1, &p[1], &e[1]));
        assert_close(e[0], e[1], 1e-12);
        assert_close(p[0], p[1], 1e-12);
        assert_ok(qml_statevec_set_zero(a));
        assert_ok(qml_statevec_set_zero(b));
        assert_ok(qml_statevec_run(a, qml_model_circuit(m), params, 6, x, n));
        assert_ok(qml_statevec_run(b, qml_model_circuit(m), params, 6, y, n));
        assert_ok(qml_statevec_amplitudes(a, amp_a, 16));
        assert_ok(qml_statevec_amplitudes(b, amp_b, 16));
        /* psi_y(c) = psi_x(c') with bit sigma(q) of c' = bit q of c. */
        for (unsigned c = 0; c < 16; c++) {
            unsigned from = 0;
            for (unsigned q = 0; q < n; q++)
                from |= ((c >> q) & 1u) << sigma[q];
            assert_close(amp_b[2 * c], amp_a[2 * from], 1e-12);
            assert_close(amp_b[2 * c + 1], amp_a[2 * from + 1], 1e-12);
        }
    }
    qml_statevec_free(a);
    qml_statevec_free(b);
    qml_model_free(m);
    m = NULL;
    assert_status(qml_model_create_template(&m, QML_MODEL_PERMUTATION_LOCAL, 4, 1, 3, QML_LOSS_BCE),
                  QML_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(qml_last_error(), "one feature per qubit"));
    assert_null(m);
    assert_int_equal(QML_MODEL_PERMUTATION_LOCAL, 3);
    assert_int_equal(QML_MODEL_PERMUTATION_BOUNDED, 4);
    assert_string_equal(qml_model_kind_name(QML_MODEL_PERMUTATION_LOCAL), "permutation-local");
    assert_string_equal(qml_model_kind_name(QML_MODEL_PERMUTATION_BOUNDED), "permutation-bounded");
}

/* The bounded encoding: the plain model at n = 2; at n = 6 one layer's
 * readout, as a function of x_0, has no frequency above 2 (its samples
 * over the period 6 pi, where frequency 2k/6 is DFT index k, vanish past
 * index 6), while the plain model's reach 6 (index 6 over period 2 pi). */
static void test_permutation_bounded(void **state)
{
    (void)state;
    qml_model *plain = NULL, *bounded = NULL;
    assert_ok(qml_model_create_template(&plain, QML_MODEL_PERMUTATION, 2, 2, 2, QML_LOSS_BCE));
    assert_ok(qml_model_create_template(&bounded, QML_MODEL_PERMUTATION_BOUNDED, 2, 2, 2, QML_LOSS_BCE));
    set_random_params(plain, 8);
    set_random_params(bounded, 8);
    double rows[6] = {0.3, -0.2, 1.1, 0.7, -1.4, 0.05}, e[2][3], p[3];
    assert_ok(qml_model_predict(plain, rows, 3, 2, 1, p, e[0]));
    assert_ok(qml_model_predict(bounded, rows, 3, 2, 1, p, e[1]));
    assert_memory_equal(e[0], e[1], sizeof e[0]);
    qml_model_free(plain);
    qml_model_free(bounded);

    const unsigned n = 6;
    const int samples = 64;
    for (int kind = 0; kind < 2; kind++) {
        qml_model *m = NULL;
        assert_ok(qml_model_create_template(&m, kind ? QML_MODEL_PERMUTATION_BOUNDED : QML_MODEL_PERMUTATION, n, 1, 1,
                                            QML_LOSS_BCE));
        set_random_params(m, 12);
        double period = kind ? n * TEST_PI : 2.0 * TEST_PI, f[64];
        for (int s = 0; s < samples; s++) {
            double x = period * s / samples, prob;
            assert_ok(qml_model_predict(m, &x, 1, 1, 1, &prob, &f[s]));
        }
        double top = 0.0, beyond = 0.0;
        for (int k = 0; k <= samples / 2; k++) {
            double re = 0.0, im = 0.0;
            for (int s = 0; s < samples; s++) {
                re += f[s] * cos(2.0 * TEST_PI * k * s / samples);
                im -= f[s] * sin(2.0 * TEST_PI * k * s / samples);
            }
            double size = hypot(re, im) / samples;
            if (k == (int)n)
                top = size;
            if (k > (int)n && size > beyond)
                beyond = size;
        }
        assert_true(beyond < 1e-12);
        assert_true(top > 1e-6); /* the highest frequency is there */
        qml_model_free(m);
    }
}

/* Roughness against central differences of the readout in the test, with
 * the same weight draws rebuilt through the public PRNG (stream d of the
 * seed, 2 pi u per weight); then the plain permutation model grows rougher
 * with n and the bounded one does not. */
static void test_roughness(void **state)
{
    (void)state;
    qml_dataset *d = random_dataset(6, 2, 70);
    qml_model *m = NULL;
    assert_ok(qml_model_create_template(&m, QML_MODEL_FREE_FERMION, 3, 2, 2, QML_LOSS_BCE));
    double mean, se;
    assert_ok(qml_model_roughness(m, d, 5, 9, &mean, &se));
    size_t nw = qml_model_n_weights(m);
    double params[32], draws[5];
    for (uint64_t draw = 0; draw < 5; draw++) {
        qml_rng *rng = NULL;
        assert_ok(qml_rng_create(&rng, 9, draw));
        for (size_t k = 0; k < nw; k++)
            params[k] = 2.0 * TEST_PI * qml_rng_uniform(rng);
        params[nw] = 1.0;
        params[nw + 1] = 0.0;
        qml_rng_free(rng);
        assert_ok(qml_model_set_params(m, params, nw + 2));
        double total = 0.0;
        for (size_t i = 0; i < 6; i++)
            for (size_t j = 0; j < 2; j++) {
                double x[2], up, down, p;
                memcpy(x, qml_dataset_features(d) + 2 * i, sizeof x);
                x[j] += 1e-5;
                assert_ok(qml_model_predict(m, x, 1, 2, 1, &p, &up));
                x[j] -= 2e-5;
                assert_ok(qml_model_predict(m, x, 1, 2, 1, &p, &down));
                double slope = (up - down) / 2e-5;
                total += slope * slope;
            }
        draws[draw] = total / 12.0;
    }
    double ref = 0.0, var = 0.0;
    for (int k = 0; k < 5; k++)
        ref += draws[k] / 5.0;
    for (int k = 0; k < 5; k++)
        var += (draws[k] - ref) * (draws[k] - ref) / 4.0;
    assert_close(mean, ref, 1e-8 * (1.0 + ref));
    assert_close(se, sqrt(var / 5.0), 1e-7 * (1.0 + se));
    /* Weights do not matter (fresh draws), the head neither. */
    double again;
    assert_ok(qml_model_roughness(m, d, 5, 9, &again, NULL));
    assert_true(again == mean);
    qml_model_free(m);
    qml_dataset_free(d);

    /* Growth with n: the plain collective encoding against the bounded one. */
    qml_dataset *x = random_dataset(8, 2, 71);
    double plain[3], bounded[3];
    for (unsigned i = 0; i < 3; i++) {
        unsigned n = 2 + 2 * i;
        qml_model *a = NULL, *b = NULL;
        assert_ok(qml_model_create_template(&a, QML_MODEL_PERMUTATION, n, n, 2, QML_LOSS_BCE));
        assert_ok(qml_model_create_template(&b, QML_MODEL_PERMUTATION_BOUNDED, n, n, 2, QML_LOSS_BCE));
        assert_ok(qml_model_roughness(a, x, 24, 1, &plain[i], NULL));
        assert_ok(qml_model_roughness(b, x, 24, 1, &bounded[i], NULL));
        print_message("# roughness at n = %u, L = n: permutation %.3f, bounded %.3f\n", n, plain[i], bounded[i]);
        qml_model_free(a);
        qml_model_free(b);
    }
    assert_true(plain[2] > 2.0 * plain[0]);
    assert_true(bounded[2] < plain[2] / 2.0);
    qml_dataset_free(x);
}

/* A one-qubit model RX(x) then `gates` (RY or RX rotations reading weights
 * as given), readout Z. */
static qml_model *one_qubit_model(const qml_gate_kind *kinds, const long *weights, size_t count)
{
    qml_circuit *c = NULL;
    qml_pauli_sum *z = NULL;
    unsigned q = 0;
    assert_ok(qml_circuit_create(&c, 1));
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RX, &q, 1, 0.0, QML_NONE, 0.0, 0, 1.0));
    for (size_t g = 0; g < count; g++)
        assert_ok(qml_circuit_add_rotation(c, kinds[g], &q, 1, 0.0, weights[g], 1.0, QML_NONE, 0.0));
    assert_ok(qml_pauli_sum_parse(&z, 1, "Z0"));
    qml_model *m = NULL;
    assert_ok(qml_model_create(&m, c, z, QML_LOSS_BCE, 1.0, 0.0));
    qml_pauli_sum_free(z);
    qml_circuit_free(c);
    return m;
}

/* Ranks with known answers: redundant weights (two RY in a row: equal
 * Jacobian columns), a one-qubit model whose state and readout function live
 * on a 2-dimensional manifold however many weights, an RZ that only moves a
 * phase (rank 0), and the 2-qubit unstructured model below (4 weights < 15
 * = dim su(4): QFI of full rank 4) and above (16 weights: the QFI saturates
 * at the 6 real dimensions of the pure states of 2 qubits; Larocca et al.),
 * and the permutation-local model (3 weights per layer, rank 6 at L = 2). */
static void test_capacity_ranks(void **state)
{
    (void)state;
    qml_dataset *d = random_dataset(20, 4, 72);
    size_t rank;
    const double x[4] = {0.4, -0.9, 0.2, 1.3};

    const qml_gate_kind redundant[3] = {QML_GATE_RY, QML_GATE_RY, QML_GATE_RX};
    const long redundant_w[3] = {0, 1, 2};
    qml_model *m = one_qubit_model(redundant, redundant_w, 3);
    set_random_params(m, 2);
    assert_ok(qml_model_jacobian_rank(m, d, 0.0, &rank));
    assert_int_equal(rank, 2);
    assert_ok(qml_model_qfi_rank(m, x, 1, 0.0, &rank));
    assert_int_equal(rank, 2);
    qml_model_free(m);

    const qml_gate_kind deep[6] = {QML_GATE_RY, QML_GATE_RX, QML_GATE_RY, QML_GATE_RX, QML_GATE_RY, QML_GATE_RX};
    const long deep_w[6] = {0, 1, 2, 3, 4, 5};
    m = one_qubit_model(deep, deep_w, 6);
    set_random_params(m, 4);
    assert_ok(qml_model_jacobian_rank(m, d, 1e-9, &rank));
    assert_int_equal(rank, 2);
    assert_ok(qml_model_qfi_rank(m, x, 1, 1e-9, &rank));
    assert_int_equal(rank, 2);
    /* Only one weight: rank 1 each; all weights at a point where the
     * derivatives vanish: rank 0. */
    qml_model_free(m);
    const qml_gate_kind single[1] = {QML_GATE_RY};
    const long single_w[1] = {0};
    m = one_qubit_model(single, single_w, 1);
    set_random_params(m, 6);
    assert_ok(qml_model_jacobian_rank(m, d, 0.0, &rank));
    assert_int_equal(rank, 1);
    assert_ok(qml_model_qfi_rank(m, x, 1, 0.0, &rank));
    assert_int_equal(rank, 1);
    qml_model_free(m);
    const qml_gate_kind phase[1] = {QML_GATE_RZ};
    m = one_qubit_model(phase, single_w, 1);
    set_random_params(m, 6);
    double zero = 0.0;
    /* RZ(w) RX(0)|0> = phase only. */
    assert_ok(qml_model_qfi_rank(m, &zero, 1, 0.0, &rank));
    assert_int_equal(rank, 0);
    /* RZ right before a Z readout never moves it. */
    assert_ok(qml_model_jacobian_rank(m, d, 0.0, &rank));
    assert_int_equal(rank, 0);
    qml_model_free(m);

    m = NULL;
    assert_ok(qml_model_create_template(&m, QML_MODEL_UNSTRUCTURED, 2, 1, 2, QML_LOSS_BCE));
    set_random_params(m, 8);
    assert_ok(qml_model_qfi_rank(m, x, 2, 1e-8, &rank));
    assert_int_equal(rank, 4);
    /* Its readout Z_0 sees only the RY on qubit 0: RZ and CZ commute with
     * Z_0 and qubit 1 is not entangled before them (a light cone of 1). */
    assert_ok(qml_model_jacobian_rank(m, d, 1e-8, &rank));
    assert_int_equal(rank, 1);
    qml_model_free(m);
    m = NULL;
    assert_ok(qml_model_create_template(&m, QML_MODEL_UNSTRUCTURED, 2, 4, 2, QML_LOSS_BCE));
    set_random_params(m, 9);
    assert_ok(qml_model_qfi_rank(m, x, 2, 1e-8, &rank));
    assert_int_equal(rank, 6);
    /* The permutation model's weights: 3 per layer, all independent. */
    qml_model_free(m);
    m = NULL;
    assert_ok(qml_model_create_template(&m, QML_MODEL_PERMUTATION_LOCAL, 4, 2, 4, QML_LOSS_BCE));
    set_random_params(m, 10);
    assert_ok(qml_model_qfi_rank(m, x, 4, 1e-8, &rank));
    assert_int_equal(rank, 6);

    /* Bad input. */
    assert_status(qml_model_jacobian_rank(m, d, NAN, &rank), QML_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(qml_last_error(), "tolerance"));
    assert_status(qml_model_jacobian_rank(m, d, 1.0, &rank), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_model_jacobian_rank(m, d, -1e-3, &rank), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_model_qfi_rank(m, x, 3, 0.0, &rank), QML_ERR_OUT_OF_RANGE);
    double bad[4] = {0.1, NAN, 0.2, 0.3};
    assert_status(qml_model_qfi_rank(m, bad, 4, 0.0, &rank), QML_ERR_INVALID_ARGUMENT);
    qml_dataset *narrow = random_dataset(5, 2, 1);
    assert_status(qml_model_jacobian_rank(m, narrow, 0.0, &rank), QML_ERR_INVALID_ARGUMENT);
    double mean;
    assert_status(qml_model_roughness(m, narrow, 4, 0, &mean, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_model_roughness(m, d, 1, 0, &mean, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(qml_last_error(), "n_draws"));
    qml_dataset_free(narrow);
    qml_model_free(m);
    qml_dataset_free(d);
}

static int sequence_capacity(void *context)
{
    const qml_dataset *d = context;
    qml_model *m = NULL;
    int status = qml_model_create_template(&m, QML_MODEL_PERMUTATION_LOCAL, 2, 1, 2, QML_LOSS_BCE);
    size_t rank;
    double mean, se;
    if (!status)
        status = qml_model_jacobian_rank(m, d, 0.0, &rank);
    if (!status)
        status = qml_model_qfi_rank(m, qml_dataset_features(d), 2, 0.0, &rank);
    if (!status)
        status = qml_model_roughness(m, d, 2, 1, &mean, &se);
    qml_model_free(m);
    if (status)
        return status;
    m = NULL;
    status = qml_model_create_template(&m, QML_MODEL_PERMUTATION_BOUNDED, 3, 1, 2, QML_LOSS_BCE);
    qml_model_free(m);
    return status;
}

/* ---- allocation failures ----------------------------------------------------- */

static int sequence_train(void *context)
{
    const qml_dataset *d = context;
    qml_model *m = NULL;
    int status = qml_model_create_template(&m, QML_MODEL_PERMUTATION, 2, 1, 2, QML_LOSS_BCE);
    if (status)
        return status;
    qml_train_options opt = QML_TRAIN_OPTIONS_INIT;
    opt.epochs = 1;
    opt.batch_size = 3;
    qml_train_epoch h[1] = {{.size = sizeof h[0]}};
    status = qml_model_train(m, d, d, &opt, h, 1);
    /* Finite shots: the grouped readout of the permutation model needs the
     * state path of the fast mode; sampling allocates per estimate. */
    opt.init = QML_INIT_KEEP;
    opt.shots = 8;
    for (int mode = 0; mode < 2 && !status; mode++) {
        opt.shot_mode = (qml_shot_mode)mode;
        status = qml_model_train(m, d, d, &opt, h, 1);
    }
    double p[4];
    /* One thread: the counting allocator is not thread-safe. */
    if (!status)
        status = qml_model_predict(m, qml_dataset_features(d), 4, 2, 1, p, NULL);
    if (!status)
        status = qml_model_evaluate(m, d, 1, NULL, p);
    qml_model_free(m);
    if (status)
        return status;
    /* A failed create leaves its out-parameter unset: start from NULL. */
    m = NULL;
    status = qml_model_create_template(&m, QML_MODEL_UNSTRUCTURED, 2, 1, 2, QML_LOSS_MSE);
    qml_model_free(m);
    if (status)
        return status;
    m = NULL;
    status = qml_model_create_template(&m, QML_MODEL_FREE_FERMION, 2, 1, 2, QML_LOSS_MSE);
    qml_model_free(m);
    return status;
}

static void test_allocation_failures(void **state)
{
    (void)state;
    qml_dataset *d = random_dataset(4, 2, 99);
    int runs = harness_check_allocation_failures(sequence_train, d);
    assert_true(runs > 10);
    assert_true(harness_check_allocation_failures(sequence_capacity, d) > 5);
    qml_dataset_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_shapes),
        cmocka_unit_test(test_predict_reference),
        cmocka_unit_test(test_gradient_bce),
        cmocka_unit_test(test_gradient_mse),
        cmocka_unit_test(test_permutation_symmetry),
        cmocka_unit_test(test_training_separable),
        cmocka_unit_test(test_determinism_threads),
        cmocka_unit_test(test_init_modes),
        cmocka_unit_test(test_history_stride),
        cmocka_unit_test(test_cancellation),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_shot_moments),
        cmocka_unit_test(test_shot_scaling),
        cmocka_unit_test(test_shot_modes_agree),
        cmocka_unit_test(test_shot_threads),
        cmocka_unit_test(test_train_with_shots),
        cmocka_unit_test(test_epoch_gradient_records),
        cmocka_unit_test(test_shot_validation),
        cmocka_unit_test(test_permutation_local),
        cmocka_unit_test(test_permutation_bounded),
        cmocka_unit_test(test_roughness),
        cmocka_unit_test(test_capacity_ranks),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
