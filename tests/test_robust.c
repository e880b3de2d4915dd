/* test_robust.c: no silent wrong answers and no hangs. Each test pins one
 * misuse that used to hang, read out of bounds, or return inf/NaN with
 * success: absurd shot counts, endless streams, texts that amplify into
 * gigabytes, options structs of every size, overflowing results. */
#include "harness.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static qml_pauli_sum *parse(unsigned n, const char *text)
{
    qml_pauli_sum *sum = NULL;
    if (qml_pauli_sum_parse(&sum, n, text) != QML_OK)
        fail_msg("parse \"%s\": %s", text, qml_last_error());
    return sum;
}

/* The message of the last failure mentions `what`. */
static void assert_message(const char *what)
{
    if (!strstr(qml_last_error(), what))
        fail_msg("message \"%s\" does not mention \"%s\"", qml_last_error(), what);
}

/* A two-qubit circuit with two weights, for the gradient entry points. */
static qml_circuit *small_circuit(void)
{
    qml_circuit *c = NULL;
    unsigned q0 = 0, q1 = 1;
    assert_ok(qml_circuit_create(&c, 2));
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &q0, 1, 0.0, 0, 1.0, QML_NONE, 0.0));
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &q1, 1, 0.0, 1, 1.0, QML_NONE, 0.0));
    return c;
}

/* ---- shots: 2^64 - 1 (a C caller's -1) never returned ------------------- */

static void test_shots_above_the_bound_are_refused(void **state)
{
    (void)state;
    const uint64_t huge = UINT64_MAX, above = QML_SHOTS_MAX + 1;
    assert_true(QML_SHOTS_MAX == (UINT64_C(1) << 40));
    qml_statevec *s = NULL;
    assert_ok(qml_statevec_create(&s, 2));
    qml_pauli_sum *z = parse(2, "Z0 + 0.5*X1");
    double estimate = 0, stderr_ = 0;
    uint64_t outcome[1];
    assert_status(qml_statevec_estimate(s, z, (size_t)huge, 1, &estimate, &stderr_), QML_ERR_INVALID_ARGUMENT);
    assert_message("QML_SHOTS_MAX");
    assert_status(qml_statevec_estimate(s, z, (size_t)above, 1, &estimate, &stderr_), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_statevec_sample(s, 1, (size_t)huge, outcome), QML_ERR_INVALID_ARGUMENT);
    assert_message("QML_SHOTS_MAX");
    /* The bound itself and small counts still work. */
    assert_ok(qml_statevec_estimate(s, z, 1000, 1, &estimate, &stderr_));
    assert_ok(qml_statevec_sample(s, 1, 1, outcome));

    qml_circuit *c = small_circuit();
    double w[2] = {0.3, 0.7}, g[2], value;
    qml_gradient_options go = QML_GRADIENT_OPTIONS_INIT;
    go.method = QML_GRADIENT_PARAMETER_SHIFT;
    go.shots = huge;
    assert_status(qml_gradient(c, z, NULL, w, 2, NULL, 0, &go, &value, g, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_message("QML_SHOTS_MAX");
    double rows[2] = {0, 0};
    assert_status(qml_gradient_batch(c, z, NULL, w, 2, rows, 2, 1, &go, QML_BATCH_SUM, NULL, g),
                  QML_ERR_INVALID_ARGUMENT);
    go.shots = 100;
    assert_ok(qml_gradient(c, z, NULL, w, 2, NULL, 0, &go, &value, g, NULL));

    qml_landscape_options lo = QML_LANDSCAPE_OPTIONS_INIT;
    lo.samples = 2;
    lo.shots = huge;
    qml_gradient_stats *stats = NULL;
    assert_status(qml_gradient_stats_create(&stats, c, z, NULL, NULL, 0, &lo), QML_ERR_INVALID_ARGUMENT);
    assert_message("QML_SHOTS_MAX");
    assert_null(stats);
    qml_bp_scan_options so = QML_BP_SCAN_OPTIONS_INIT;
    so.n_min = 2;
    so.n_max = 2;
    so.depth = QML_BP_DEPTH_FIXED;
    so.layers = 1;
    qml_bp_scan *scan = NULL;
    assert_status(qml_bp_scan_family(&scan, QML_ANSATZ_HEA, &so, &lo), QML_ERR_INVALID_ARGUMENT);
    assert_message("QML_SHOTS_MAX");
    assert_null(scan);

    qml_circuit_free(c);
    qml_pauli_sum_free(z);
    qml_statevec_free(s);
}

/* ---- streams that never end ---------------------------------------------- */

static void test_csv_from_an_endless_device(void **state)
{
    (void)state;
    FILE *probe = fopen("/dev/zero", "rb");
    if (!probe)
        skip();
    fclose(probe);
    qml_dataset *d = NULL;
    /* Used to read forever (even under a memory limit). */
    assert_status(qml_dataset_load_csv(&d, "/dev/zero", NULL), QML_ERR_PARSE);
    assert_message("/dev/zero: line 1");
    assert_null(d);
    assert_true(QML_CSV_MAX_BYTES == (UINT64_C(1) << 30));
}

static void test_csv_with_a_nul_byte_is_not_text(void **state)
{
    (void)state;
    char path[] = "/tmp/qml_robust_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    assert_non_null(f);
    fwrite("1,0\n2,1\n3\0,0\n", 1, 13, f);
    fclose(f);
    qml_dataset *d = NULL;
    assert_status(qml_dataset_load_csv(&d, path, NULL), QML_ERR_PARSE);
    assert_message("line 3, column 1");
    remove(path);
}

/* ---- amplification: one far qubit index made every term that wide --------- */

static void test_pauli_text_cannot_amplify(void **state)
{
    (void)state;
    /* 20000 one-letter terms and one on qubit 2^20 - 1: each term would be
     * 16384 words wide, 5 GB of masks from 150 KB of text. Refused up front
     * (this used to take seconds and gigabytes); so is the audit's 57 KB
     * case (600 terms), 150 MB from 6 KB. */
    size_t n_terms = 20000;
    char *text = malloc(n_terms * 8 + 32);
    assert_non_null(text);
    size_t at = (size_t)sprintf(text, "X1048575");
    for (size_t k = 0; k < n_terms; k++)
        at += (size_t)sprintf(text + at, " + Z%zu", k % 1000);
    qml_pauli_sum *sum = NULL;
    assert_status(qml_pauli_sum_parse(&sum, 0, text), QML_ERR_LIMIT);
    assert_message("KiB of masks");
    text[6 * 600] = '\0';
    assert_status(qml_pauli_sum_parse(&sum, 0, text), QML_ERR_LIMIT);
    text[6 * 600] = ' ';
    assert_null(sum);
    /* The same text with the far index removed parses. */
    text[0] = 'X';
    memcpy(text, "X0      ", 8);
    assert_ok(qml_pauli_sum_parse(&sum, 0, text));
    assert_int_equal(qml_pauli_sum_n_qubits(sum), 1000);
    qml_pauli_sum_free(sum);
    /* A single term on a far qubit stays fine. */
    assert_ok(qml_pauli_sum_parse(&sum, 0, "0.5*X1048575 Z3"));
    assert_int_equal(qml_pauli_sum_n_qubits(sum), 1048576);
    qml_pauli_sum_free(sum);
    free(text);
}

/* ---- options structs of every size: read through the caller's pointer and
 * size only (each struct lives in a heap block of exactly its claimed size,
 * so AddressSanitizer sees any read past it) ------------------------------- */

static void *options_block(const void *init, size_t known, size_t size)
{
    unsigned char *block = calloc(1, size);
    assert_non_null(block);
    memcpy(block, init, size < known ? size : known);
    memcpy(block, &size, sizeof size);
    return block;
}

static void test_options_of_any_size(void **state)
{
    (void)state;
    qml_pauli_sum *z = parse(2, "Z0");
    qml_pauli_sum *gens[2] = {parse(2, "X0 X1"), parse(2, "Z0")};
    qml_circuit *c = small_circuit();
    qml_dataset *data = NULL;
    assert_ok(qml_dataset_moons(&data, 8, 0.1, 1));
    double w[2] = {0.3, 0.7}, g[2], value;
    static const size_t extra[] = {0, 1, 7, 8, 64, 4096};
    for (size_t e = 0; e < sizeof extra / sizeof extra[0]; e++) {
        const qml_gradient_options go = QML_GRADIENT_OPTIONS_INIT;
        void *block = options_block(&go, sizeof go, sizeof go + extra[e]);
        assert_ok(qml_gradient(c, z, NULL, w, 2, NULL, 0, block, &value, g, NULL));
        free(block);

        const qml_lie_options lie = QML_LIE_OPTIONS_INIT;
        block = options_block(&lie, sizeof lie, sizeof lie + extra[e]);
        qml_lie_algebra *alg = NULL;
        assert_ok(qml_lie_algebra_create(&alg, (const qml_pauli_sum *const *)gens, 2, block));
        qml_lie_algebra_free(alg);
        free(block);

        qml_landscape_options lo = QML_LANDSCAPE_OPTIONS_INIT;
        lo.samples = 2;
        block = options_block(&lo, sizeof lo, sizeof lo + extra[e]);
        qml_gradient_stats *stats = NULL;
        assert_ok(qml_gradient_stats_create(&stats, c, z, NULL, NULL, 0, block));
        qml_gradient_stats_free(stats);
        free(block);

        const qml_csv_options co = QML_CSV_OPTIONS_INIT;
        block = options_block(&co, sizeof co, sizeof co + extra[e]);
        qml_dataset *parsed = NULL;
        assert_ok(qml_dataset_parse_csv(&parsed, "1,0\n2,1\n", block));
        qml_dataset_free(parsed);
        free(block);

        const qml_optimizer_options oo = QML_OPTIMIZER_OPTIONS_INIT;
        block = options_block(&oo, sizeof oo, sizeof oo + extra[e]);
        qml_optimizer *opt = NULL;
        assert_ok(qml_optimizer_create(&opt, 2, block));
        /* The getter writes the caller's prefix only. */
        assert_ok(qml_optimizer_options_get(opt, block));
        qml_optimizer_free(opt);
        void *inner = block;

        qml_model *model = NULL;
        assert_ok(qml_model_create_template(&model, QML_MODEL_UNSTRUCTURED, 2, 1, 2, QML_LOSS_BCE));
        qml_train_options to = QML_TRAIN_OPTIONS_INIT;
        to.epochs = 1;
        to.optimizer = inner;
        block = options_block(&to, sizeof to, sizeof to + extra[e]);
        assert_ok(qml_model_train(model, data, NULL, block, NULL, 0));
        qml_model_free(model);
        free(block);
        free(inner);
    }
    /* Older, shorter structs: every prefix that still holds `size`. */
    for (size_t size = sizeof(size_t); size < sizeof(qml_gradient_options); size++) {
        const qml_gradient_options go = QML_GRADIENT_OPTIONS_INIT;
        void *block = options_block(&go, sizeof go, size);
        assert_ok(qml_gradient(c, z, NULL, w, 2, NULL, 0, block, &value, g, NULL));
        free(block);
    }
    for (size_t size = sizeof(size_t); size < sizeof(qml_csv_options); size++) {
        const qml_csv_options co = QML_CSV_OPTIONS_INIT;
        void *block = options_block(&co, sizeof co, size);
        qml_dataset *parsed = NULL;
        assert_ok(qml_dataset_parse_csv(&parsed, "1,0\n2,1\n", block));
        qml_dataset_free(parsed);
        free(block);
    }
    qml_dataset_free(data);
    qml_circuit_free(c);
    qml_pauli_sum_free(z);
    qml_pauli_sum_free(gens[0]);
    qml_pauli_sum_free(gens[1]);
}

/* ---- results that overflow ------------------------------------------------ */

static void all_finite(const qml_dataset *d)
{
    size_t nf = qml_dataset_n_features(d);
    double row[16];
    int label;
    for (size_t i = 0; i < qml_dataset_n_rows(d); i++) {
        assert_ok(qml_dataset_row(d, i, row, nf, &label));
        for (size_t j = 0; j < nf; j++)
            if (!isfinite(row[j]))
                fail_msg("row %zu feature %zu is %g", i, j, row[j]);
    }
}

static void test_datasets_stay_finite(void **state)
{
    (void)state;
    qml_dataset *d = NULL;
    /* noise 1e308 overflowed to inf with QML_OK. */
    assert_status(qml_dataset_moons(&d, 64, 1e308, 1), QML_ERR_OUT_OF_RANGE);
    assert_message("overflow");
    assert_null(d);
    assert_status(qml_dataset_generate(&d, QML_DATASET_XOR, 64, DBL_MAX, 1), QML_ERR_OUT_OF_RANGE);
    /* A large but representable noise is fine, and standardising it stays
     * finite (the squares of 1e300 overflow: the deviation is rescaled). */
    assert_ok(qml_dataset_moons(&d, 64, 1e300, 1));
    all_finite(d);
    double mean[2], stddev[2];
    assert_ok(qml_dataset_standardize(d, NULL, mean, stddev));
    all_finite(d);
    assert_true(isfinite(stddev[0]) && stddev[0] > 1e299);
    qml_dataset_free(d);

    /* stddev 1e-320 (subnormal) made infinities with QML_OK. */
    assert_ok(qml_dataset_moons(&d, 8, 0.1, 1));
    double m[2] = {0, 0}, tiny[2] = {1e-320, 1};
    assert_status(qml_dataset_apply_standardization(d, m, tiny, 2), QML_ERR_OUT_OF_RANGE);
    assert_message("overflows");
    all_finite(d);
    /* Nothing changed: the same statistics with stddev 1 leave it as is. */
    qml_dataset *copy = NULL;
    assert_ok(qml_dataset_copy(&copy, d));
    double one[2] = {1, 1};
    assert_ok(qml_dataset_apply_standardization(copy, m, one, 2));
    double r1[2], r2[2];
    int l1, l2;
    assert_ok(qml_dataset_row(d, 3, r1, 2, &l1));
    assert_ok(qml_dataset_row(copy, 3, r2, 2, &l2));
    assert_memory_equal(r1, r2, sizeof r1);
    qml_dataset_free(copy);
    qml_dataset_free(d);

    /* Features near DBL_MAX: the mean overflows, refused, nothing changed. */
    double big[4] = {DBL_MAX, 0, DBL_MAX, 1};
    int labels[2] = {0, 1};
    assert_ok(qml_dataset_create(&d, 2, 2, big, labels));
    assert_status(qml_dataset_standardize(d, NULL, NULL, NULL), QML_ERR_OUT_OF_RANGE);
    assert_ok(qml_dataset_row(d, 0, r1, 2, &l1));
    assert_true(r1[0] == DBL_MAX);
    qml_dataset_free(d);
}

static void test_optimizer_step_stays_finite(void **state)
{
    (void)state;
    qml_optimizer_options o = QML_OPTIMIZER_OPTIONS_INIT;
    o.kind = QML_OPTIMIZER_SGD;
    o.learning_rate = 1e300;
    qml_optimizer *opt = NULL;
    assert_ok(qml_optimizer_create(&opt, 2, &o));
    double params[2] = {0.5, -0.5}, grad[2] = {1e10, 1.0};
    /* lr 1e300 times a gradient of 1e10 is inf: used to return QML_OK. */
    assert_status(qml_optimizer_step(opt, params, grad, 2), QML_ERR_OUT_OF_RANGE);
    assert_message("overflows at parameter 0");
    assert_true(params[0] == 0.5 && params[1] == -0.5);
    /* The failed step changed no state: a sane gradient then steps exactly
     * as from a fresh optimizer. */
    double small[2] = {1e-310, 0.0};
    assert_ok(qml_optimizer_step(opt, params, small, 2));
    assert_true(isfinite(params[0]) && isfinite(params[1]));
    qml_optimizer_free(opt);

    /* Adam with a huge rate as well (its step is about lr). */
    o.kind = QML_OPTIMIZER_ADAM;
    o.learning_rate = 1e308;
    assert_ok(qml_optimizer_create(&opt, 2, &o));
    double p2[2] = {-1e308, 0}, g2[2] = {1, 1};
    assert_status(qml_optimizer_step(opt, p2, g2, 2), QML_ERR_OUT_OF_RANGE);
    qml_optimizer_free(opt);

    /* Training with such a rate fails instead of returning NaN weights. */
    qml_dataset *data = NULL;
    assert_ok(qml_dataset_moons(&data, 8, 0.1, 1));
    qml_model *model = NULL;
    assert_ok(qml_model_create_template(&model, QML_MODEL_UNSTRUCTURED, 2, 1, 2, QML_LOSS_BCE));
    o.kind = QML_OPTIMIZER_SGD;
    o.learning_rate = 1e300;
    qml_train_options to = QML_TRAIN_OPTIONS_INIT;
    to.optimizer = &o;
    to.epochs = 3;
    int status = qml_model_train(model, data, NULL, &to, NULL, 0);
    if (status == QML_OK) {
        size_t n = qml_model_n_params(model);
        double *p = calloc(n, sizeof *p);
        assert_ok(qml_model_params(model, p, n));
        for (size_t k = 0; k < n; k++)
            if (!isfinite(p[k]))
                fail_msg("training returned QML_OK with parameter %zu = %g", k, p[k]);
        free(p);
    }
    qml_model_free(model);
    qml_dataset_free(data);
}

/* ---- qml_gradient_batch: NULL rows is an error, as its doc says ----------- */

static void test_gradient_batch_null_rows(void **state)
{
    (void)state;
    qml_circuit *c = small_circuit(); /* reads no feature */
    qml_pauli_sum *z = parse(2, "Z0");
    double w[2] = {0.1, 0.2}, values[3], g[2];
    assert_status(qml_gradient_batch(c, z, NULL, w, 2, NULL, 3, 0, NULL, QML_BATCH_SUM, values, g),
                  QML_ERR_INVALID_ARGUMENT);
    assert_message("rows");
    double rows[3] = {0};
    assert_ok(qml_gradient_batch(c, z, NULL, w, 2, rows, 3, 0, NULL, QML_BATCH_SUM, values, g));
    qml_circuit_free(c);
    qml_pauli_sum_free(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shots_above_the_bound_are_refused),
        cmocka_unit_test(test_csv_from_an_endless_device),
        cmocka_unit_test(test_csv_with_a_nul_byte_is_not_text),
        cmocka_unit_test(test_pauli_text_cannot_amplify),
        cmocka_unit_test(test_options_of_any_size),
        cmocka_unit_test(test_datasets_stay_finite),
        cmocka_unit_test(test_optimizer_step_stays_finite),
        cmocka_unit_test(test_gradient_batch_null_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
