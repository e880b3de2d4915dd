/* test_optim.c: Adam and SGD with momentum against closed forms of their
 * first steps, convergence on quadratics, validation, and the per-epoch
 * minibatch shuffler. */
#include "harness.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void assert_message_has(const char *needle)
{
    if (!strstr(qml_last_error(), needle))
        fail_msg("message '%s' does not contain '%s'", qml_last_error(), needle);
}

static qml_optimizer *make(qml_optimizer_options o, size_t n)
{
    qml_optimizer *opt = NULL;
    assert_ok(qml_optimizer_create(&opt, n, &o));
    return opt;
}

static void test_kinds_and_defaults(void **state)
{
    (void)state;
    assert_int_equal(QML_OPTIMIZER_ADAM, 0); /* pinned */
    assert_int_equal(QML_OPTIMIZER_SGD, 1);
    assert_string_equal(qml_optimizer_kind_name(QML_OPTIMIZER_ADAM), "adam");
    assert_string_equal(qml_optimizer_kind_name(QML_OPTIMIZER_SGD), "sgd");
    assert_null(qml_optimizer_kind_name((qml_optimizer_kind)2));

    qml_optimizer *opt = NULL;
    assert_ok(qml_optimizer_create(&opt, 3, NULL)); /* NULL = the defaults */
    qml_optimizer_options o = QML_OPTIMIZER_OPTIONS_INIT;
    o.learning_rate = 123;
    assert_ok(qml_optimizer_options_get(opt, &o));
    assert_int_equal(o.size, sizeof o);
    assert_int_equal(o.kind, QML_OPTIMIZER_ADAM);
    assert_true(o.learning_rate == 0.01 && o.beta1 == 0.9 && o.beta2 == 0.999 && o.epsilon == 1e-8);
    assert_true(o.momentum == 0 && o.nesterov == 0 && o.weight_decay == 0);
    assert_int_equal(qml_optimizer_n_params(opt), 3);
    assert_int_equal(qml_optimizer_n_steps(opt), 0);
    assert_ok(qml_optimizer_set_learning_rate(opt, 0.5));
    assert_ok(qml_optimizer_options_get(opt, &o));
    assert_true(o.learning_rate == 0.5);
    assert_status(qml_optimizer_set_learning_rate(opt, NAN), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_optimizer_set_learning_rate(opt, 0), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_optimizer_set_learning_rate(NULL, 1), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_optimizer_options_get(opt, NULL), QML_ERR_INVALID_ARGUMENT);
    o.size = 0;
    assert_status(qml_optimizer_options_get(opt, &o), QML_ERR_INVALID_ARGUMENT);
    assert_int_equal(qml_optimizer_n_params(NULL), 0);
    assert_int_equal(qml_optimizer_n_steps(NULL), 0);
    qml_optimizer_free(opt);
    qml_optimizer_free(NULL);
}

typedef struct bad_option {
    void (*set)(qml_optimizer_options *o);
    const char *word;
} bad_option;

static void set_kind(qml_optimizer_options *o) { o->kind = (qml_optimizer_kind)5; }
static void set_lr_zero(qml_optimizer_options *o) { o->learning_rate = 0; }
static void set_lr_nan(qml_optimizer_options *o) { o->learning_rate = NAN; }
static void set_lr_inf(qml_optimizer_options *o) { o->learning_rate = INFINITY; }
static void set_beta1_one(qml_optimizer_options *o) { o->beta1 = 1; }
static void set_beta1_nan(qml_optimizer_options *o) { o->beta1 = NAN; }
static void set_beta2_neg(qml_optimizer_options *o) { o->beta2 = -0.1; }
static void set_eps_zero(qml_optimizer_options *o) { o->epsilon = 0; }
static void set_decay_neg(qml_optimizer_options *o) { o->weight_decay = -1; }
static void set_decay_nan(qml_optimizer_options *o) { o->weight_decay = NAN; }
static void set_sgd_momentum_one(qml_optimizer_options *o) { o->kind = QML_OPTIMIZER_SGD; o->momentum = 1; }
static void set_sgd_momentum_nan(qml_optimizer_options *o) { o->kind = QML_OPTIMIZER_SGD; o->momentum = NAN; }
static void set_sgd_nesterov_zero(qml_optimizer_options *o) { o->kind = QML_OPTIMIZER_SGD; o->nesterov = 1; }

static void test_create_validation(void **state)
{
    (void)state;
    const bad_option cases[] = {
        {set_kind, "kind 5"},           {set_lr_zero, "learning_rate"}, {set_lr_nan, "learning_rate"},
        {set_lr_inf, "learning_rate"},  {set_beta1_one, "beta1"},       {set_beta1_nan, "beta1"},
        {set_beta2_neg, "beta2"},       {set_eps_zero, "epsilon"},      {set_decay_neg, "weight_decay"},
        {set_decay_nan, "weight_decay"}, {set_sgd_momentum_one, "momentum"}, {set_sgd_momentum_nan, "momentum"},
        {set_sgd_nesterov_zero, "Nesterov"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        qml_optimizer_options o = QML_OPTIMIZER_OPTIONS_INIT;
        cases[k].set(&o);
        qml_optimizer *opt = NULL;
        int status = qml_optimizer_create(&opt, 2, &o);
        if (status != QML_ERR_INVALID_ARGUMENT)
            fail_msg("case %zu: status %d (%s)", k, status, qml_last_error());
        assert_message_has(cases[k].word);
        assert_null(opt);
    }
    qml_optimizer *opt = NULL;
    assert_status(qml_optimizer_create(NULL, 2, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_optimizer_create(&opt, 0, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_message_has("n_params is 0");
    qml_optimizer_options o = QML_OPTIMIZER_OPTIONS_INIT;
    o.size = 0;
    assert_status(qml_optimizer_create(&opt, 2, &o), QML_ERR_INVALID_ARGUMENT);
    /* A newer caller's struct with a field this version does not know. */
    struct {
        qml_optimizer_options base;
        double future;
    } newer = {QML_OPTIMIZER_OPTIONS_INIT, 1.0};
    newer.base.size = sizeof newer;
    assert_status(qml_optimizer_create(&opt, 2, &newer.base), QML_ERR_INVALID_ARGUMENT);
    newer.future = 0;
    assert_ok(qml_optimizer_create(&opt, 2, &newer.base));
    qml_optimizer_free(opt);
    /* Every field is checked whatever the kind: Adam's betas for SGD, SGD's
     * momentum and Nesterov flag for Adam (a bad value is a mistake even
     * where the kind ignores it). */
    o = (qml_optimizer_options)QML_OPTIMIZER_OPTIONS_INIT;
    o.kind = QML_OPTIMIZER_SGD;
    o.beta1 = 7;
    assert_status(qml_optimizer_create(&opt, 2, &o), QML_ERR_INVALID_ARGUMENT);
    assert_message_has("beta1");
    o = (qml_optimizer_options)QML_OPTIMIZER_OPTIONS_INIT;
    o.momentum = NAN;
    assert_status(qml_optimizer_create(&opt, 2, &o), QML_ERR_INVALID_ARGUMENT);
    assert_message_has("momentum");
    o = (qml_optimizer_options)QML_OPTIMIZER_OPTIONS_INIT;
    o.momentum = 0.5;
    o.nesterov = 1;
    assert_status(qml_optimizer_create(&opt, 2, &o), QML_ERR_INVALID_ARGUMENT);
    assert_message_has("Nesterov");
    o.kind = QML_OPTIMIZER_SGD;
    opt = make(o, 1);
    qml_optimizer_free(opt);
}

/* Adam's bias-corrected moments are weighted averages of the gradients
 * (Kingma & Ba 2015, section 3): after t steps from m_0 = v_0 = 0,
 *   m_hat_t = sum_k b1^{t-k} g_k / sum_k b1^{t-k},
 *   v_hat_t = sum_k b2^{t-k} g_k^2 / sum_k b2^{t-k}.
 * The test evaluates those sums directly (not the library's recursion) in
 * long double; the agreement tolerance is a few ulps of the parameters. */
static void test_adam_first_steps(void **state)
{
    (void)state;
    enum { N = 3, T = 5 };
    const double g[T][N] = {
        {0.5, -2.0, 1e-3}, {0.25, 1.0, -4e-3}, {-1.5, 0.5, 2e-3}, {0.0, -0.5, 1e-3}, {3.0, 2.0, -1e-3},
    };
    qml_optimizer_options o = QML_OPTIMIZER_OPTIONS_INIT;
    o.learning_rate = 0.1;
    o.beta1 = 0.8;
    o.beta2 = 0.95;
    o.epsilon = 1e-3;
    qml_optimizer *opt = make(o, N);
    double theta[N] = {1.0, -1.0, 0.5};
    long double expect[N] = {1.0L, -1.0L, 0.5L};
    for (int t = 1; t <= T; t++) {
        assert_ok(qml_optimizer_step(opt, theta, g[t - 1], N));
        assert_int_equal(qml_optimizer_n_steps(opt), t);
        for (int k = 0; k < N; k++) {
            long double num1 = 0, den1 = 0, num2 = 0, den2 = 0;
            for (int s = 1; s <= t; s++) {
                long double w1 = powl(0.8L, t - s), w2 = powl(0.95L, t - s);
                num1 += w1 * g[s - 1][k];
                den1 += w1;
                num2 += w2 * g[s - 1][k] * g[s - 1][k];
                den2 += w2;
            }
            expect[k] -= 0.1L * (num1 / den1) / (sqrtl(num2 / den2) + 1e-3L);
            assert_close(theta[k], (double)expect[k], 1e-14);
        }
    }
    /* Step 1 by hand: m_hat = g, v_hat = g^2, so theta moves by
     * lr * g / (|g| + eps): 0.1 * 0.5 / 0.501 for parameter 0. */
    qml_optimizer_reset(opt);
    double fresh[N] = {1.0, -1.0, 0.5};
    assert_ok(qml_optimizer_step(opt, fresh, g[0], N));
    assert_close(fresh[0], 1.0 - 0.1 * 0.5 / 0.501, 1e-15);
    assert_close(fresh[1], -1.0 + 0.1 * 2.0 / 2.001, 1e-15);
    qml_optimizer_free(opt);
}

/* For a constant gradient the corrected moments are exactly g and g^2, so
 * every step moves by lr g / (|g| + eps) (the paper's "effective step"
 * bound |Delta| <= lr): t steps move by t times that. */
static void test_adam_constant_gradient(void **state)
{
    (void)state;
    qml_optimizer *opt = NULL;
    assert_ok(qml_optimizer_create(&opt, 2, NULL));
    double theta[2] = {0, 0};
    const double grad[2] = {4.0, -1e-6};
    for (int t = 0; t < 100; t++)
        assert_ok(qml_optimizer_step(opt, theta, grad, 2));
    assert_close(theta[0], -100 * 0.01 * 4.0 / (4.0 + 1e-8), 1e-12);
    assert_close(theta[1], 100 * 0.01 * 1e-6 / (1e-6 + 1e-8), 1e-12);
    qml_optimizer_free(opt);
}

static void test_adam_weight_decay(void **state)
{
    (void)state;
    qml_optimizer_options o = QML_OPTIMIZER_OPTIONS_INIT;
    o.weight_decay = 0.5;
    o.learning_rate = 0.2;
    qml_optimizer *opt = make(o, 1);
    double theta[1] = {2.0};
    const double grad[1] = {-3.0};
    assert_ok(qml_optimizer_step(opt, theta, grad, 1));
    /* g_eff = -3 + 0.5 * 2 = -2; first step moves by lr g / (|g| + eps). */
    assert_close(theta[0], 2.0 + 0.2 * 2.0 / (2.0 + 1e-8), 1e-15);
    qml_optimizer_free(opt);
}

/* SGD with momentum from b_0 = 0 (PyTorch form, no dampening): the buffer
 * is b_t = sum_{s<=t} mu^{t-s} g_s, the step d_t = b_t, or g_t + mu b_t for
 * Nesterov, and theta_t = theta_0 - lr sum_{s<=t} d_s. The sums are
 * evaluated directly in long double. */
static void test_sgd_first_steps(void **state)
{
    (void)state;
    enum { T = 6 };
    const double g[T] = {1.0, -0.5, 2.0, 0.25, -1.0, 0.0};
    const double momenta[3] = {0.0, 0.9, 0.5};
    for (int nesterov = 0; nesterov < 2; nesterov++)
        for (int m = 0; m < 3; m++) {
            if (nesterov && momenta[m] == 0)
                continue;
            qml_optimizer_options o = QML_OPTIMIZER_OPTIONS_INIT;
            o.kind = QML_OPTIMIZER_SGD;
            o.learning_rate = 0.3;
            o.momentum = momenta[m];
            o.nesterov = nesterov;
            qml_optimizer *opt = make(o, 1);
            double theta[1] = {1.5};
            long double expect = 1.5L, mu = momenta[m];
            for (int t = 1; t <= T; t++) {
                assert_ok(qml_optimizer_step(opt, theta, &g[t - 1], 1));
                long double b = 0;
                for (int s = 1; s <= t; s++)
                    b += powl(mu, t - s) * g[s - 1];
                long double d = nesterov ? g[t - 1] + mu * b : b;
                expect -= 0.3L * d;
                assert_close(theta[0], (double)expect, 1e-14);
            }
            qml_optimizer_free(opt);
        }
    /* Plain SGD by hand: theta - lr g. */
    qml_optimizer_options o = QML_OPTIMIZER_OPTIONS_INIT;
    o.kind = QML_OPTIMIZER_SGD;
    o.learning_rate = 0.25;
    o.weight_decay = 0.1;
    qml_optimizer *opt = make(o, 2);
    double theta[2] = {1, -2};
    const double grad[2] = {2, 4};
    assert_ok(qml_optimizer_step(opt, theta, grad, 2));
    assert_close(theta[0], 1 - 0.25 * (2 + 0.1 * 1), 1e-15);
    assert_close(theta[1], -2 - 0.25 * (4 - 0.1 * 2), 1e-15);
    qml_optimizer_free(opt);
}

/* f(theta) = 1/2 sum_k a_k (theta_k - c_k)^2 with condition number 100. */
static double quadratic(const double *theta, double *grad, size_t n)
{
    double f = 0;
    for (size_t k = 0; k < n; k++) {
        double a = pow(10.0, 2.0 * (double)k / (double)(n - 1)), c = (double)k - 2.0;
        grad[k] = a * (theta[k] - c);
        f += 0.5 * a * (theta[k] - c) * (theta[k] - c);
    }
    return f;
}

static void test_convergence_on_quadratic(void **state)
{
    (void)state;
    enum { N = 5 };
    qml_optimizer_options adam = QML_OPTIMIZER_OPTIONS_INIT;
    adam.learning_rate = 0.05;
    qml_optimizer_options heavy = QML_OPTIMIZER_OPTIONS_INIT;
    heavy.kind = QML_OPTIMIZER_SGD;
    heavy.learning_rate = 0.01; /* < 2 (1 + mu) / a_max: stable */
    heavy.momentum = 0.9;
    qml_optimizer_options nag = heavy;
    nag.nesterov = 1;
    const qml_optimizer_options *all[3] = {&adam, &heavy, &nag};
    for (int k = 0; k < 3; k++) {
        qml_optimizer *opt = make(*all[k], N);
        double theta[N] = {3, -3, 1, 4, -1}, grad[N];
        double f0 = quadratic(theta, grad, N), f = f0;
        for (int t = 0; t < 3000; t++) {
            f = quadratic(theta, grad, N);
            assert_ok(qml_optimizer_step(opt, theta, grad, N));
        }
        f = quadratic(theta, grad, N);
        /* From f0 ~ 1e3 down by more than 10 orders of magnitude; the minimiser
         * is c_k = k - 2. */
        assert_true(f < 1e-10 * f0);
        for (int j = 0; j < N; j++)
            assert_close(theta[j], j - 2.0, 1e-5);
        qml_optimizer_free(opt);
    }
}

static void test_step_validation_and_reset(void **state)
{
    (void)state;
    qml_optimizer *opt = NULL, *fresh = NULL;
    assert_ok(qml_optimizer_create(&opt, 2, NULL));
    assert_ok(qml_optimizer_create(&fresh, 2, NULL));
    double theta[2] = {1, 2};
    const double grad[2] = {0.5, -0.5};
    assert_ok(qml_optimizer_step(opt, theta, grad, 2));
    double before[2] = {theta[0], theta[1]};
    const double nan_grad[2] = {0.1, NAN};
    assert_status(qml_optimizer_step(opt, theta, nan_grad, 2), QML_ERR_INVALID_ARGUMENT);
    assert_message_has("grad[1]");
    assert_true(theta[0] == before[0] && theta[1] == before[1]); /* untouched */
    assert_int_equal(qml_optimizer_n_steps(opt), 1);
    double inf_theta[2] = {INFINITY, 0};
    assert_status(qml_optimizer_step(opt, inf_theta, grad, 2), QML_ERR_INVALID_ARGUMENT);
    assert_message_has("params[0]");
    assert_status(qml_optimizer_step(opt, theta, grad, 3), QML_ERR_INVALID_ARGUMENT);
    assert_message_has("3 parameters for an optimizer of 2");
    assert_status(qml_optimizer_step(NULL, theta, grad, 2), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_optimizer_step(opt, NULL, grad, 2), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_optimizer_step(opt, theta, NULL, 2), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_optimizer_step(opt, theta, theta, 2), QML_ERR_INVALID_ARGUMENT);

    /* After a reset the optimiser behaves bit for bit as a fresh one. */
    assert_ok(qml_optimizer_reset(opt));
    assert_int_equal(qml_optimizer_n_steps(opt), 0);
    double a[2] = {1, 2}, b[2] = {1, 2};
    for (int t = 0; t < 4; t++) {
        assert_ok(qml_optimizer_step(opt, a, grad, 2));
        assert_ok(qml_optimizer_step(fresh, b, grad, 2));
    }
    assert_memory_equal(a, b, sizeof a);
    assert_status(qml_optimizer_reset(NULL), QML_ERR_INVALID_ARGUMENT);
    qml_optimizer_free(opt);
    qml_optimizer_free(fresh);
}

/* ---- shuffler ---------------------------------------------------------------- */

static void assert_permutation(const size_t *p, size_t n)
{
    unsigned char *seen = calloc(n, 1);
    assert_non_null(seen);
    for (size_t i = 0; i < n; i++) {
        assert_true(p[i] < n);
        assert_int_equal(seen[p[i]], 0);
        seen[p[i]] = 1;
    }
    free(seen);
}

static void test_shuffle(void **state)
{
    (void)state;
    enum { N = 1000 };
    size_t *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    assert_ok(qml_shuffle_indices(a, N, 7, 0));
    assert_permutation(a, N);
    /* Same (seed, epoch): same order, whatever the array held before. */
    for (size_t i = 0; i < N; i++)
        b[i] = 12345;
    assert_ok(qml_shuffle_indices(b, N, 7, 0));
    assert_memory_equal(a, b, N * sizeof *a);
    /* Another epoch or another seed: another order. */
    assert_ok(qml_shuffle_indices(b, N, 7, 1));
    assert_permutation(b, N);
    assert_true(memcmp(a, b, N * sizeof *a) != 0);
    assert_ok(qml_shuffle_indices(b, N, 8, 0));
    assert_true(memcmp(a, b, N * sizeof *a) != 0);
    /* The order is the documented one: Fisher-Yates on stream
     * "shuffle" + epoch of the seed. */
    struct qml_rng rng;
    qml__rng_init(&rng, 7, QML__STREAM_SHUFFLE + 0);
    for (size_t i = 0; i < N; i++)
        b[i] = i;
    for (size_t i = N; i > 1; i--) {
        size_t j = (size_t)qml__rng_below(&rng, i), tmp = b[i - 1];
        b[i - 1] = b[j];
        b[j] = tmp;
    }
    assert_memory_equal(a, b, N * sizeof *a);
    size_t one = 99;
    assert_ok(qml_shuffle_indices(&one, 1, 3, 3));
    assert_int_equal(one, 0);
    assert_status(qml_shuffle_indices(NULL, 3, 1, 0), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_shuffle_indices(a, 0, 1, 0), QML_ERR_INVALID_ARGUMENT);
    free(a);
    free(b);
}

/* Uniformity: the 24 orders of 4 items over 24000 epochs, chi-square with
 * 23 degrees of freedom below its 0.9999 quantile (~ 56.0). */
static void test_shuffle_uniform(void **state)
{
    (void)state;
    long counts[24] = {0};
    for (uint64_t epoch = 0; epoch < 24000; epoch++) {
        size_t p[4];
        assert_ok(qml_shuffle_indices(p, 4, 2026, epoch));
        /* Lehmer code of the permutation */
        int code = 0;
        for (int i = 0; i < 4; i++) {
            int smaller = 0;
            for (int j = i + 1; j < 4; j++)
                smaller += p[j] < p[i];
            code = code * (4 - i) + smaller;
        }
        counts[code]++;
    }
    double chi2 = 0;
    for (int k = 0; k < 24; k++)
        chi2 += (counts[k] - 1000.0) * (counts[k] - 1000.0) / 1000.0;
    assert_true(chi2 < 56.0);
}

/* ---- allocation failures --------------------------------------------------- */

static int sequence_optimizers(void *context)
{
    (void)context;
    qml_optimizer_options sgd = QML_OPTIMIZER_OPTIONS_INIT;
    sgd.kind = QML_OPTIMIZER_SGD;
    sgd.momentum = 0.9;
    qml_optimizer *adam = NULL, *momentum = NULL;
    double theta[4] = {1, 2, 3, 4};
    const double grad[4] = {0.1, 0.2, 0.3, 0.4};
    int status = qml_optimizer_create(&adam, 4, NULL);
    if (!status)
        status = qml_optimizer_create(&momentum, 4, &sgd);
    if (!status)
        status = qml_optimizer_step(adam, theta, grad, 4);
    if (!status)
        status = qml_optimizer_reset(adam);
    if (!status)
        status = qml_optimizer_step(momentum, theta, grad, 4);
    qml_optimizer_free(adam);
    qml_optimizer_free(momentum);
    return status;
}

static void test_allocation_failures(void **state)
{
    (void)state;
    /* Adam: handle, m, v; SGD: handle, buffer; then the sequence completes. */
    assert_int_equal(harness_check_allocation_failures(sequence_optimizers, NULL), 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds_and_defaults),
        cmocka_unit_test(test_create_validation),
        cmocka_unit_test(test_adam_first_steps),
        cmocka_unit_test(test_adam_constant_gradient),
        cmocka_unit_test(test_adam_weight_decay),
        cmocka_unit_test(test_sgd_first_steps),
        cmocka_unit_test(test_convergence_on_quadratic),
        cmocka_unit_test(test_step_validation_and_reset),
        cmocka_unit_test(test_shuffle),
        cmocka_unit_test(test_shuffle_uniform),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
