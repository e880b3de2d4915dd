/* test_landscape.c: barren-plateau diagnostics. Estimators against a direct
 * recomputation, measured variances against closed forms, reproducibility,
 * fits, shots, validation, cancellation and allocation failures. */
#include "harness.h"
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TWO_PI 6.283185307179586476925286766559

/* ---- helpers --------------------------------------------------------------- */

static qml_circuit *hea_circuit(unsigned n, unsigned layers)
{
    qml_circuit *circuit = NULL;
    assert_ok(qml_circuit_create(&circuit, n));
    assert_ok(qml_ansatz_hardware_efficient(circuit, layers, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN));
    return circuit;
}

static qml_circuit *family_circuit(qml_ansatz_family family, unsigned n, unsigned layers)
{
    qml_circuit *circuit = NULL;
    assert_ok(qml_circuit_create(&circuit, n));
    assert_ok(qml_ansatz_family_append(circuit, family, layers));
    return circuit;
}

static qml_pauli_sum *parse(unsigned n, const char *text)
{
    qml_pauli_sum *sum = NULL;
    assert_ok(qml_pauli_sum_parse(&sum, n, text));
    return sum;
}

/* Textbook estimators in long double with the one-pass sums, a different
 * algorithm from the library's two-pass double version. */
typedef struct reference_moments {
    double mean, mean_se, variance, variance_se;
} reference_moments;

static reference_moments reference_of(const double *x, size_t count, size_t stride)
{
    long double n = (long double)count, s1 = 0, s2 = 0;
    for (size_t i = 0; i < count; i++) {
        s1 += x[i * stride];
        s2 += (long double)x[i * stride] * x[i * stride];
    }
    long double mean = s1 / n;
    long double var = (s2 - n * mean * mean) / (n - 1);
    long double m4 = 0;
    for (size_t i = 0; i < count; i++) {
        long double d = x[i * stride] - mean;
        m4 += d * d * d * d;
    }
    m4 /= n;
    long double var_s2 = (m4 - (n - 3) / (n - 1) * var * var) / n;
    reference_moments r = {(double)mean, (double)sqrtl(var / n), (double)var, (double)sqrtl(var_s2)};
    return r;
}

/* Draw sample s's weights as the documented contract says (stream s of the
 * seed, 2 pi u in weight order) and differentiate with the public API. */
static void direct_samples(const qml_circuit *circuit, const qml_pauli_sum *observable, uint64_t seed,
                           size_t samples, double *values, double *gradients)
{
    size_t nw = qml_circuit_n_weights(circuit);
    double *weights = malloc(nw * sizeof *weights);
    assert_non_null(weights);
    for (size_t s = 0; s < samples; s++) {
        qml_rng *rng = NULL;
        assert_ok(qml_rng_create(&rng, seed, s));
        for (size_t k = 0; k < nw; k++)
            weights[k] = TWO_PI * qml_rng_uniform(rng);
        qml_rng_free(rng);
        qml_gradient_options go = QML_GRADIENT_OPTIONS_INIT;
        assert_ok(qml_gradient(circuit, observable, NULL, weights, nw, NULL, 0, &go, &values[s],
                               gradients + s * nw, NULL));
    }
    free(weights);
}

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* ---- estimators ---------------------------------------------------------------- */

static void test_estimators_match_direct(void **state)
{
    (void)state;
    const unsigned n = 3;
    const size_t samples = 64;
    qml_circuit *circuit = hea_circuit(n, 2);
    qml_pauli_sum *obs = parse(n, "Z0 + 0.5*X1 X2");
    size_t nw = qml_circuit_n_weights(circuit);
    double *values = malloc(samples * sizeof *values);
    double *grads = malloc(samples * nw * sizeof *grads);
    direct_samples(circuit, obs, 99, samples, values, grads);

    qml_landscape_options opts = QML_LANDSCAPE_OPTIONS_INIT;
    opts.samples = samples;
    opts.seed = 99;
    opts.params = QML_PARAMS_ALL;
    qml_gradient_stats *stats = NULL;
    assert_ok(qml_gradient_stats_create(&stats, circuit, obs, NULL, NULL, 0, &opts));
    assert_int_equal(qml_gradient_stats_n_samples(stats), samples);
    assert_int_equal(qml_gradient_stats_n_weights(stats), nw);
    assert_int_equal(qml_gradient_stats_params(stats), QML_PARAMS_ALL);

    /* Tolerance: the reference uses one-pass long-double sums, the library a
     * two-pass double reduction; both are accurate to ~1e-15 relative on
     * 64 samples of O(1) numbers, so 1e-12 relative leaves a wide margin
     * while catching any formula error (which changes results at O(1/n)). */
    double sum_var = 0.0, sum_var2 = 0.0;
    for (size_t k = 0; k < nw; k++) {
        reference_moments r = reference_of(grads + k, samples, nw);
        double mean, mean_se, var, var_se;
        assert_ok(qml_gradient_stats_weight(stats, k, &mean, &mean_se, &var, &var_se));
        assert_close(mean, r.mean, 1e-12);
        assert_close(mean_se, r.mean_se, 1e-12 * r.mean_se);
        assert_close(var, r.variance, 1e-12 * r.variance);
        assert_close(var_se, r.variance_se, 1e-10 * r.variance_se);
        sum_var += r.variance;
        sum_var2 += r.variance * r.variance;
    }
    reference_moments rl = reference_of(values, samples, 1);
    double mean, mean_se, var, var_se;
    assert_ok(qml_gradient_stats_loss(stats, &mean, &mean_se, &var, &var_se));
    assert_close(mean, rl.mean, 1e-12);
    assert_close(var, rl.variance, 1e-12 * rl.variance);
    assert_close(var_se, rl.variance_se, 1e-10 * rl.variance_se);

    /* The summary: the mean of the per-weight variances and the documented
     * standard error, recomputed here from the raw samples. */
    double v_mean = sum_var / (double)nw;
    long double y2 = 0;
    for (size_t s = 0; s < samples; s++) {
        long double y = 0;
        for (size_t k = 0; k < nw; k++) {
            reference_moments r = reference_of(grads + k, samples, nw);
            long double d = grads[s * nw + k] - r.mean;
            y += d * d;
        }
        y /= nw;
        y2 += y * y;
    }
    y2 /= samples;
    double ns = (double)samples;
    double se_ref = sqrt(((double)y2 - v_mean * v_mean + 2.0 / (ns - 1.0) * sum_var2 / ((double)nw * nw)) / ns);
    double v, v_se;
    assert_ok(qml_gradient_stats_summary(stats, &v, &v_se));
    assert_close(v, v_mean, 1e-12 * v_mean);
    assert_close(v_se, se_ref, 1e-9 * se_ref);
    qml_gradient_stats_free(stats);

    /* FIRST and MIDDLE keep exactly one weight, with the same numbers; a
     * single weight's summary is that weight's variance and SE(s^2). */
    opts.params = QML_PARAMS_MIDDLE;
    assert_ok(qml_gradient_stats_create(&stats, circuit, obs, NULL, NULL, 0, &opts));
    reference_moments rm = reference_of(grads + nw / 2, samples, nw);
    assert_ok(qml_gradient_stats_weight(stats, nw / 2, NULL, NULL, &var, &var_se));
    assert_close(var, rm.variance, 1e-12 * rm.variance);
    assert_ok(qml_gradient_stats_summary(stats, &v, &v_se));
    assert_true(same_bits(v, var) && fabs(v_se - var_se) <= 1e-12 * var_se);
    assert_status(qml_gradient_stats_weight(stats, 0, NULL, NULL, NULL, NULL), QML_ERR_NOT_APPLICABLE);
    assert_status(qml_gradient_stats_weight(stats, nw, NULL, NULL, NULL, NULL), QML_ERR_OUT_OF_RANGE);
    qml_gradient_stats_free(stats);
    opts.params = QML_PARAMS_FIRST;
    assert_ok(qml_gradient_stats_create(&stats, circuit, obs, NULL, NULL, 0, &opts));
    reference_moments rf = reference_of(grads, samples, nw);
    assert_ok(qml_gradient_stats_weight(stats, 0, &mean, NULL, &var, NULL));
    assert_close(var, rf.variance, 1e-12 * rf.variance);
    assert_status(qml_gradient_stats_weight(stats, 1, NULL, NULL, NULL, NULL), QML_ERR_NOT_APPLICABLE);
    qml_gradient_stats_free(stats);

    free(values);
    free(grads);
    qml_pauli_sum_free(obs);
    qml_circuit_free(circuit);
}

/* A circuit with an input feature: a given feature vector and zeros. */
static void test_features(void **state)
{
    (void)state;
    qml_circuit *circuit = NULL;
    assert_ok(qml_circuit_create(&circuit, 2));
    assert_ok(qml_ansatz_angle_encoding(circuit, QML_GATE_RX, 2, 1.0));
    assert_ok(qml_ansatz_hardware_efficient(circuit, 1, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN));
    qml_pauli_sum *obs = parse(2, "Z0");
    qml_landscape_options opts = QML_LANDSCAPE_OPTIONS_INIT;
    opts.samples = 16;
    qml_gradient_stats *zeros = NULL, *given = NULL, *explicit_zeros = NULL;
    const double zero[2] = {0.0, 0.0}, x[2] = {0.3, -1.1};
    assert_ok(qml_gradient_stats_create(&zeros, circuit, obs, NULL, NULL, 0, &opts));
    assert_ok(qml_gradient_stats_create(&explicit_zeros, circuit, obs, NULL, zero, 2, &opts));
    assert_ok(qml_gradient_stats_create(&given, circuit, obs, NULL, x, 2, &opts));
    double a, b, c;
    assert_ok(qml_gradient_stats_loss(zeros, &a, NULL, NULL, NULL));
    assert_ok(qml_gradient_stats_loss(explicit_zeros, &b, NULL, NULL, NULL));
    assert_ok(qml_gradient_stats_loss(given, &c, NULL, NULL, NULL));
    assert_true(same_bits(a, b));
    assert_true(a != c);
    assert_status(qml_gradient_stats_create(&given, circuit, obs, NULL, x, 1, &opts), QML_ERR_OUT_OF_RANGE);
    double bad[2] = {NAN, 0.0};
    assert_status(qml_gradient_stats_create(&given, circuit, obs, NULL, bad, 2, &opts), QML_ERR_INVALID_ARGUMENT);
    qml_gradient_stats_free(zeros);
    qml_gradient_stats_free(explicit_zeros);
    qml_gradient_stats_free(given);
    qml_pauli_sum_free(obs);
    qml_circuit_free(circuit);
}

/* ---- agreement with theory ------------------------------------------------------- */

/*
 * Why these sample counts suffice. The estimate s^2 of a variance sigma^2
 * from S samples has relative standard error sqrt((kappa - 1) / S), with
 * kappa the kurtosis of the derivative (about 3 to 5 here), so S = 4000
 * gives about 3%. The check |s^2 - predicted| <= 3 SE fails by chance with
 * probability ~0.3% per check for an unbiased estimator (the estimate is a
 * sum of 4000 independent terms, so close to normal); the seeds are fixed,
 * so the outcome is deterministic and a pass is not luck that can change
 * between runs. The depth makes the remaining bias (the distance of the
 * circuit ensemble from a 2-design) far below 3%: the hardware-efficient
 * ansatz at L = 10 n and the free-fermion chain at L = 8 n^2 are deep
 * enough by the acceptance criterion, and the test would catch a bias as a
 * failure, not hide it.
 */
static void test_hea_gradient_variance_matches_haar(void **state)
{
    (void)state;
    for (unsigned n = 2; n <= 4; n++) {
        qml_circuit *circuit = hea_circuit(n, 10 * n);
        qml_pauli_sum *obs = parse(n, "Z0");
        qml_landscape_options opts = QML_LANDSCAPE_OPTIONS_INIT;
        opts.samples = 4000;
        opts.seed = 2024 + n;
        opts.n_threads = 0;
        qml_gradient_stats *stats = NULL;
        assert_ok(qml_gradient_stats_create(&stats, circuit, obs, NULL, NULL, 0, &opts));
        double var, se;
        assert_ok(qml_gradient_stats_weight(stats, 0, NULL, NULL, &var, &se));
        /* First RY on qubit 0 with the rest Haar: dl/dtheta = Re <a|Z0|b>
         * for two orthonormal Haar vectors, variance d / (2 (d^2 - 1)) =
         * 2^(n-1) / (4^n - 1) (McClean et al., Nat. Commun. 9, 4812). */
        double d = ldexp(1.0, (int)n);
        double predicted = d / (2.0 * (d * d - 1.0));
        if (!(fabs(var - predicted) <= 3.0 * se))
            fail_msg("HEA n = %u: Var = %.6g +- %.2g, predicted %.6g", n, var, se, predicted);
        assert_true(se < 0.05 * predicted); /* the error bar is informative */
        qml_gradient_stats_free(stats);
        qml_pauli_sum_free(obs);
        qml_circuit_free(circuit);
    }
}

static void test_tfim_loss_variance_matches_so2n(void **state)
{
    (void)state;
    for (unsigned n = 2; n <= 3; n++) {
        qml_circuit *circuit = family_circuit(QML_ANSATZ_TFIM, n, 8 * n * n);
        qml_pauli_sum *obs = parse(n, "Z0 Z1");
        qml_landscape_options opts = QML_LANDSCAPE_OPTIONS_INIT;
        opts.samples = 4000;
        opts.seed = 77 + n;
        opts.n_threads = 0;
        qml_gradient_stats *stats = NULL;
        assert_ok(qml_gradient_stats_create(&stats, circuit, obs, NULL, NULL, 0, &opts));
        double mean, mean_se, var, se;
        assert_ok(qml_gradient_stats_loss(stats, &mean, &mean_se, &var, &se));
        /* Open TFIM with local weights: DLA so(2n), and for O = Z0 Z1 on
         * |0...0> Var[l] = (n - 1) / (n (2n - 1)) (Ragone et al.,
         * Nat. Commun. 15, 7172 (2024), Theorem 1). The mean is 0 in the
         * same limit: l averages to the projection on the commutant. */
        double predicted = (double)(n - 1) / (double)(n * (2 * n - 1));
        if (!(fabs(var - predicted) <= 3.0 * se))
            fail_msg("TFIM n = %u: Var[l] = %.6g +- %.2g, predicted %.6g", n, var, se, predicted);
        assert_true(fabs(mean) <= 4.0 * mean_se);
        qml_gradient_stats_free(stats);
        qml_pauli_sum_free(obs);
        qml_circuit_free(circuit);
    }
}

/* ---- reproducibility -------------------------------------------------------------- */

static void stats_bits(const qml_gradient_stats *stats, double *out, size_t capacity)
{
    size_t nw = qml_gradient_stats_n_weights(stats), i = 0;
    for (size_t k = 0; k < nw && i + 4 <= capacity; k++, i += 4)
        assert_ok(qml_gradient_stats_weight(stats, k, &out[i], &out[i + 1], &out[i + 2], &out[i + 3]));
    assert_ok(qml_gradient_stats_loss(stats, &out[i], &out[i + 1], &out[i + 2], &out[i + 3]));
    i += 4;
    assert_ok(qml_gradient_stats_summary(stats, &out[i], &out[i + 1]));
}

static void test_thread_count_invariance(void **state)
{
    (void)state;
    const unsigned n = 3;
    qml_circuit *circuit = hea_circuit(n, 3);
    qml_pauli_sum *obs = parse(n, "Z0 Z2 - 0.3*X1");
    size_t nw = qml_circuit_n_weights(circuit), len = 4 * nw + 6;
    double *bits[5];
    qml_landscape_options opts = QML_LANDSCAPE_OPTIONS_INIT;
    opts.samples = 37; /* not a multiple of 2 or 3: uneven splits */
    opts.seed = 5;
    opts.params = QML_PARAMS_ALL;
    const unsigned threads[3] = {1, 2, 3};
    for (int t = 0; t < 5; t++) {
        bits[t] = calloc(len, sizeof(double));
        assert_non_null(bits[t]);
        opts.n_threads = t < 3 ? threads[t] : 2;
        opts.seed = t == 4 ? 6 : 5;
        qml_gradient_stats *stats = NULL;
        assert_ok(qml_gradient_stats_create(&stats, circuit, obs, NULL, NULL, 0, &opts));
        stats_bits(stats, bits[t], len);
        qml_gradient_stats_free(stats);
    }
    /* 1, 2 and 3 threads, and a repeat: the same bits. */
    for (int t = 1; t < 4; t++)
        assert_memory_equal(bits[0], bits[t], len * sizeof(double));
    /* Another seed: different numbers. */
    assert_memory_not_equal(bits[0], bits[4], len * sizeof(double));
    for (int t = 0; t < 5; t++)
        free(bits[t]);
    qml_pauli_sum_free(obs);
    qml_circuit_free(circuit);
}

/* ---- shots ---------------------------------------------------------------------------- */

static void test_shot_mode_converges(void **state)
{
    (void)state;
    /* A small circuit: shot mode differentiates every weight with two
     * estimates per weight, so keep the weights few. */
    qml_circuit *circuit = hea_circuit(2, 1);
    qml_pauli_sum *obs = parse(2, "Z0 Z1");
    qml_landscape_options opts = QML_LANDSCAPE_OPTIONS_INIT;
    opts.samples = 2000;
    opts.seed = 11;
    opts.n_threads = 0;
    qml_gradient_stats *stats = NULL;
    double exact, exact_se, loss_mean, loss_var;
    assert_ok(qml_gradient_stats_create(&stats, circuit, obs, NULL, NULL, 0, &opts));
    assert_ok(qml_gradient_stats_weight(stats, 0, NULL, NULL, &exact, &exact_se));
    assert_ok(qml_gradient_stats_loss(stats, &loss_mean, NULL, &loss_var, NULL));
    qml_gradient_stats_free(stats);
    const uint64_t shots[3] = {10, 100, 10000};
    double var[3], gap[3];
    for (int i = 0; i < 3; i++) {
        opts.shots = shots[i];
        assert_ok(qml_gradient_stats_create(&stats, circuit, obs, NULL, NULL, 0, &opts));
        assert_ok(qml_gradient_stats_weight(stats, 0, NULL, NULL, &var[i], NULL));
        qml_gradient_stats_free(stats);
        gap[i] = var[i] - exact;
    }
    /* Every mode draws the same weights (they come first in each sample's
     * stream), so var - exact is the shot noise's share. The derivative is
     * (l_+ - l_-)/2 with each shifted loss the mean of `shots` outcomes +-1,
     * so the noise variance is E[(1 - l_+^2) + (1 - l_-^2)] / (4 shots) =
     * (1 - E[l^2]) / (2 shots): shifted uniform weights are still uniform,
     * so l_+- are distributed as l. The paired difference fluctuates by
     * about 2 sqrt(Var[g] Var[noise] / S) ~ 0.004 at 10 shots (S = 2000),
     * 15% of the expected 0.028: a 50% band is over 3 standard deviations. */
    double expected = (1.0 - (loss_var + loss_mean * loss_mean)) / (2.0 * (double)shots[0]);
    if (!(fabs(gap[0] - expected) < 0.5 * expected))
        fail_msg("10 shots: Var %.5g - exact %.5g = %.4g, expected shot noise %.4g", var[0], exact, gap[0], expected);
    /* ... and it shrinks as the shots grow, to well inside the error bar. */
    assert_true(fabs(gap[2]) < fabs(gap[1]) && fabs(gap[1]) < fabs(gap[0]));
    assert_true(fabs(gap[2]) < 0.2 * exact_se);
    qml_pauli_sum_free(obs);
    qml_circuit_free(circuit);
}

/* ---- fits -------------------------------------------------------------------------------- */

/* The independent reference: the textbook weighted-regression formulas with
 * uncentred sums (the library centres x first). */
static void reference_fit(const double *x, const double *y, const double *w, size_t m, double *slope, double *se,
                          double *chi2)
{
    long double s = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (size_t i = 0; i < m; i++) {
        s += w[i];
        sx += w[i] * x[i];
        sy += w[i] * y[i];
        sxx += (long double)w[i] * x[i] * x[i];
        sxy += (long double)w[i] * x[i] * y[i];
    }
    long double delta = s * sxx - sx * sx;
    long double b = (s * sxy - sx * sy) / delta, a = (sxx * sy - sx * sxy) / delta;
    long double c = 0;
    for (size_t i = 0; i < m; i++) {
        long double r = y[i] - a - b * x[i];
        c += w[i] * r * r;
    }
    double birge = (double)(c / (long double)(m - 2));
    *slope = (double)b;
    *se = (double)sqrtl(s / delta) * (birge > 1.0 ? sqrt(birge) : 1.0);
    *chi2 = (double)c;
}

static void test_fit_exact_data(void **state)
{
    (void)state;
    double n[7], v[7], se[7];
    for (int i = 0; i < 7; i++) {
        n[i] = 2 + i;
        v[i] = 3.0 * exp(-0.7 * n[i]);
        se[i] = 0.05 * v[i];
    }
    qml_bp_fit fit = {.size = sizeof fit};
    assert_ok(qml_bp_fit_data(n, v, se, 7, &fit));
    assert_int_equal(fit.model, QML_BP_EXPONENTIAL);
    /* Exact data: the rate is recovered to rounding (ln of the data is
     * exact to 1e-16 relative; 1e-12 allows the regression's sums). */
    assert_close(fit.rate, 0.7, 1e-12);
    assert_close(fit.exponential_rate, 0.7, 1e-12);
    assert_true(fit.exponential_chi2 < 1e-20);
    assert_true(fit.power_chi2 > 1.0);
    assert_int_equal(fit.n_points, 7);
    /* The error bar is the regression's: sigma_y = 0.05 for every point. */
    double sxx = 0, mean = 5.0;
    for (int i = 0; i < 7; i++)
        sxx += (n[i] - mean) * (n[i] - mean) / (0.05 * 0.05);
    assert_close(fit.rate_stderr, sqrt(1.0 / sxx), 1e-12);

    for (int i = 0; i < 7; i++)
        v[i] = 2.0 * pow(n[i], -1.5), se[i] = 0.1 * v[i];
    assert_ok(qml_bp_fit_data(n, v, se, 7, &fit));
    assert_int_equal(fit.model, QML_BP_POWER);
    assert_close(fit.rate, 1.5, 1e-12);
    assert_true(fit.power_chi2 < 1e-20 && fit.exponential_chi2 > fit.power_chi2);

    /* An older caller's smaller struct gets only what fits. */
    struct {
        size_t size;
        qml_bp_model model;
    } small = {sizeof small, (qml_bp_model)7};
    assert_ok(qml_bp_fit_data(n, v, se, 7, (qml_bp_fit *)(void *)&small));
    assert_int_equal(small.model, QML_BP_POWER);
    assert_int_equal(small.size, sizeof small);
}

static void test_fit_noisy_data(void **state)
{
    (void)state;
    /* 400 synthetic scans with log-normal noise of the stated size: each
     * fit agrees with the textbook formulas, and the rate lies within one
     * standard error of the truth in about 68% of them (the binomial
     * spread over 400 trials is 2.3%, so [60%, 76%] is a > 3-sigma band). */
    harness_rng rng = {12345};
    const size_t m = 8;
    double n[8], v[8], se[8], x[8], y[8], w[8];
    int within = 0, within3 = 0;
    const int trials = 400;
    for (int t = 0; t < trials; t++) {
        for (size_t i = 0; i < m; i++) {
            n[i] = 3 + (double)i;
            double sigma = 0.05 + 0.02 * (double)i; /* heteroscedastic */
            v[i] = 0.8 * exp(-0.45 * n[i]) * exp(sigma * harness_normal(&rng));
            se[i] = sigma * v[i];
            x[i] = n[i];
            y[i] = log(v[i]);
            w[i] = 1.0 / (sigma * sigma);
        }
        qml_bp_fit fit = {.size = sizeof fit};
        assert_ok(qml_bp_fit_data(n, v, se, m, &fit));
        double slope, ref_se, chi2;
        reference_fit(x, y, w, m, &slope, &ref_se, &chi2);
        assert_close(fit.exponential_rate, -slope, 1e-10);
        assert_close(fit.exponential_stderr, ref_se, 1e-10 * ref_se);
        assert_close(fit.exponential_chi2, chi2, 1e-9 * (chi2 + 1.0));
        if (fabs(fit.exponential_rate - 0.45) <= fit.exponential_stderr)
            within++;
        if (fabs(fit.exponential_rate - 0.45) <= 3.0 * fit.exponential_stderr)
            within3++;
    }
    double fraction = (double)within / trials;
    if (!(fraction > 0.60 && fraction < 0.80))
        fail_msg("rate within 1 SE in %.3f of the trials", fraction);
    assert_true(within3 >= trials - 6);
}

/* ---- scans --------------------------------------------------------------------------------- */

static void test_scan_rows_and_fit(void **state)
{
    (void)state;
    qml_bp_scan_options so = QML_BP_SCAN_OPTIONS_INIT;
    so.n_min = 2;
    so.n_max = 5;
    so.depth = QML_BP_DEPTH_PER_QUBIT;
    so.layers = 2;
    qml_landscape_options lo = QML_LANDSCAPE_OPTIONS_INIT;
    lo.samples = 200;
    lo.seed = 3;
    lo.n_threads = 2;
    qml_bp_scan *scan = NULL;
    assert_ok(qml_bp_scan_family(&scan, QML_ANSATZ_HEA, &so, &lo));
    assert_int_equal(qml_bp_scan_n_rows(scan), 4);
    for (size_t r = 0; r < 4; r++) {
        qml_bp_row row = {.size = sizeof row};
        assert_ok(qml_bp_scan_row(scan, r, &row));
        unsigned n = 2 + (unsigned)r;
        assert_int_equal(row.n_qubits, n);
        assert_int_equal(row.layers, 2 * n);
        assert_int_equal(row.samples, 200);
        assert_int_equal(row.n_params, 2 * n * 2 * n);
        assert_true(row.seconds >= 0.0);
        /* A row is the statistics of its circuit with seed + row index. */
        qml_circuit *circuit = family_circuit(QML_ANSATZ_HEA, n, 2 * n);
        qml_pauli_sum *obs = parse(n, "Z0");
        qml_landscape_options one = lo;
        one.seed = lo.seed + r;
        qml_gradient_stats *stats = NULL;
        assert_ok(qml_gradient_stats_create(&stats, circuit, obs, NULL, NULL, 0, &one));
        double v, se;
        assert_ok(qml_gradient_stats_summary(stats, &v, &se));
        assert_true(same_bits(v, row.var_measured) && same_bits(se, row.var_stderr));
        qml_gradient_stats_free(stats);
        qml_pauli_sum_free(obs);
        qml_circuit_free(circuit);
    }
    qml_bp_row row = {.size = sizeof row};
    assert_status(qml_bp_scan_row(scan, 4, &row), QML_ERR_OUT_OF_RANGE);
    row.size = 0;
    assert_status(qml_bp_scan_row(scan, 0, &row), QML_ERR_INVALID_ARGUMENT);
    qml_bp_fit fit = {.size = sizeof fit};
    assert_ok(qml_bp_scan_fit(scan, &fit));
    assert_int_equal(fit.n_points, 4);
    assert_true(fit.exponential_rate > 0.3); /* the HEA gradient decays */
    qml_bp_scan_free(scan);

    /* A depth list: one row per (n, L); the fit uses the last depth. */
    const unsigned depths[2] = {1, 3};
    so.depth = QML_BP_DEPTH_LIST;
    so.depths = depths;
    so.n_depths = 2;
    so.quantity = QML_BP_LOSS;
    so.n_max = 4;
    lo.samples = 50;
    assert_ok(qml_bp_scan_family(&scan, QML_ANSATZ_TFIM, &so, &lo));
    assert_int_equal(qml_bp_scan_n_rows(scan), 6);
    assert_ok(qml_bp_scan_row(scan, 3, &(qml_bp_row){.size = sizeof(qml_bp_row)}));
    row.size = sizeof row;
    assert_ok(qml_bp_scan_row(scan, 3, &row));
    assert_int_equal(row.n_qubits, 3);
    assert_int_equal(row.layers, 3);
    assert_ok(qml_bp_scan_fit(scan, &fit));
    assert_int_equal(fit.n_points, 3);
    qml_bp_scan_free(scan);

    /* A generator list: the scan runs at the generators' qubit count. */
    qml_pauli_sum *gens[3] = {parse(3, "X0 + X1 + X2"), parse(3, "Z0 Z1 + Z1 Z2"), parse(3, "Y0")};
    so = (qml_bp_scan_options)QML_BP_SCAN_OPTIONS_INIT;
    so.n_min = so.n_max = 0;
    so.depth = QML_BP_DEPTH_FIXED;
    so.layers = 4;
    assert_ok(qml_bp_scan_generators(&scan, (const qml_pauli_sum *const *)gens, 3, NULL, &so, &lo));
    assert_int_equal(qml_bp_scan_n_rows(scan), 1);
    assert_ok(qml_bp_scan_row(scan, 0, &row));
    assert_int_equal(row.n_qubits, 3);
    assert_int_equal(row.n_params, 12);
    assert_status(qml_bp_scan_fit(scan, &fit), QML_ERR_NOT_APPLICABLE);
    qml_bp_scan_free(scan);
    so.n_max = 4;
    assert_status(qml_bp_scan_generators(&scan, (const qml_pauli_sum *const *)gens, 3, NULL, &so, &lo),
                  QML_ERR_INVALID_ARGUMENT);
    for (int i = 0; i < 3; i++)
        qml_pauli_sum_free(gens[i]);
}

/* The scan's Lie-algebraic columns: dim g and the predicted variance against
 * the closed forms (exact arithmetic in lie.c up to rounding: 1e-9
 * relative), the cap, the cases where no prediction applies, and the
 * measured variance of a deep scan beside its own prediction. */
static void test_scan_predictions(void **state)
{
    (void)state;
    qml_bp_scan_options so = QML_BP_SCAN_OPTIONS_INIT;
    so.n_min = 2, so.n_max = 4;
    /* Two layers: the first layer's CZ ladder, transported into the second
     * layer's generators, is what makes the algebra su(2^n). */
    so.depth = QML_BP_DEPTH_FIXED, so.layers = 2;
    so.max_dim = 1000;
    qml_landscape_options lo = QML_LANDSCAPE_OPTIONS_INIT;
    lo.samples = 2;
    qml_bp_scan *scan = NULL;
    qml_bp_row row = {.size = sizeof row};
    /* HEA, first weight: su(2^n), Var = 2^(n-1)/(4^n - 1). */
    assert_ok(qml_bp_scan_family(&scan, QML_ANSATZ_HEA, &so, &lo));
    for (unsigned n = 2; n <= 4; n++) {
        assert_ok(qml_bp_scan_row(scan, n - 2, &row));
        double d = ldexp(1.0, (int)n);
        assert_int_equal(row.dim_g, (uint64_t)(d * d) - 1);
        assert_int_equal(row.dim_g_capped, 0);
        assert_close(row.var_predicted, d / (2.0 * (d * d - 1.0)), 1e-9 * row.var_predicted);
    }
    qml_bp_scan_free(scan);
    /* HEA, the loss of X0 (moved through the final CZ ladder to X0 Z1 in
     * the generators' frame): Var = 1/(2^n + 1) for any Pauli string. */
    so.quantity = QML_BP_LOSS;
    so.observable = "X0";
    assert_ok(qml_bp_scan_family(&scan, QML_ANSATZ_HEA, &so, &lo));
    for (unsigned n = 2; n <= 4; n++) {
        assert_ok(qml_bp_scan_row(scan, n - 2, &row));
        assert_close(row.var_predicted, 1.0 / (ldexp(1.0, (int)n) + 1.0), 1e-9);
    }
    qml_bp_scan_free(scan);
    /* TFIM, the loss of Z0 Z1: so(2n), Var = (n-1)/(n(2n-1)). */
    so.observable = NULL;
    assert_ok(qml_bp_scan_family(&scan, QML_ANSATZ_TFIM, &so, &lo));
    for (unsigned n = 2; n <= 4; n++) {
        assert_ok(qml_bp_scan_row(scan, n - 2, &row));
        assert_int_equal(row.dim_g, n * (2 * n - 1));
        assert_close(row.var_predicted, (double)(n - 1) / (double)(n * (2 * n - 1)), 1e-9);
    }
    qml_bp_scan_free(scan);
    /* No single formula for the mean over all weights; the cap; no DLA. */
    so.quantity = QML_BP_GRADIENT;
    lo.params = QML_PARAMS_ALL;
    so.max_dim = 20;
    assert_ok(qml_bp_scan_family(&scan, QML_ANSATZ_HEA, &so, &lo));
    assert_ok(qml_bp_scan_row(scan, 0, &row));
    assert_int_equal(row.dim_g, 15);
    assert_true(isnan(row.var_predicted));
    assert_ok(qml_bp_scan_row(scan, 1, &row));
    assert_int_equal(row.dim_g, 0);
    assert_int_equal(row.dim_g_capped, 1);
    assert_true(isnan(row.var_predicted));
    qml_bp_scan_free(scan);
    so.max_dim = 0;
    lo.params = QML_PARAMS_FIRST;
    assert_ok(qml_bp_scan_family(&scan, QML_ANSATZ_HEA, &so, &lo));
    assert_ok(qml_bp_scan_row(scan, 0, &row));
    assert_true(row.dim_g == 0 && row.dim_g_capped == 0 && isnan(row.var_predicted));
    qml_bp_scan_free(scan);

    /* A deep scan: each row's measurement within 3 SE of its prediction
     * (2000 samples: ~3.5% relative error bars; see the sample-count note
     * above test_hea_gradient_variance_matches_haar). */
    so.depth = QML_BP_DEPTH_PER_QUBIT, so.layers = 10;
    so.max_dim = 1000;
    lo.samples = 2000;
    lo.seed = 31;
    lo.n_threads = 0;
    assert_ok(qml_bp_scan_family(&scan, QML_ANSATZ_HEA, &so, &lo));
    for (size_t r = 0; r < 3; r++) {
        assert_ok(qml_bp_scan_row(scan, r, &row));
        if (!(fabs(row.var_measured - row.var_predicted) <= 3.0 * row.var_stderr))
            fail_msg("scan row n = %u: %.5g +- %.2g, predicted %.5g", row.n_qubits, row.var_measured,
                     row.var_stderr, row.var_predicted);
    }
    qml_bp_scan_free(scan);
}

/* keep_algebras: each row's algebra is the one the prediction used, with
 * the closed-form dimension and ideals of the family (TFIM chain: so(2n),
 * which is su(2) + su(2) at n = 2 and su(4) at n = 3), and the same
 * algebra a separate closure of the row's circuit gives (dimension, centre,
 * ideals, and the bits of a basis element). Rows past max_dim and scans
 * that kept nothing hold none (scans through bytes: test_samples.c). */
static void test_scan_keeps_algebras(void **state)
{
    (void)state;
    qml_bp_scan_options so = QML_BP_SCAN_OPTIONS_INIT;
    so.n_min = 2, so.n_max = 4;
    so.depth = QML_BP_DEPTH_FIXED, so.layers = 2;
    so.quantity = QML_BP_LOSS;
    so.max_dim = 1000;
    so.keep_algebras = 1;
    qml_landscape_options lo = QML_LANDSCAPE_OPTIONS_INIT;
    lo.samples = 2;
    qml_bp_scan *scan = NULL;
    assert_ok(qml_bp_scan_family(&scan, QML_ANSATZ_TFIM, &so, &lo));
    for (unsigned n = 2; n <= 4; n++) {
        const qml_lie_algebra *kept = NULL;
        qml_bp_row row = {.size = sizeof row};
        assert_ok(qml_bp_scan_row(scan, n - 2, &row));
        assert_ok(qml_bp_scan_row_algebra(scan, n - 2, &kept));
        assert_non_null(kept);
        assert_int_equal(qml_lie_algebra_dim(kept), n * (2 * n - 1));
        assert_int_equal(qml_lie_algebra_dim(kept), row.dim_g);
        assert_int_equal(qml_lie_algebra_center_dim(kept), 0);
        assert_int_equal(qml_lie_algebra_n_ideals(kept), n == 2 ? 2 : 1);
        for (size_t i = 0; i < qml_lie_algebra_n_ideals(kept); i++) {
            size_t dim = 0, rank = 0;
            assert_ok(qml_lie_algebra_ideal(kept, i, &dim, &rank, NULL));
            assert_int_equal(dim, n == 2 ? 3 : n * (2 * n - 1));
            assert_int_equal(rank, n == 2 ? 1 : n);
        }
        /* the same algebra as closing the row's circuit again */
        qml_circuit *circuit = NULL;
        qml_lie_algebra *fresh = NULL;
        assert_ok(qml_circuit_create(&circuit, n));
        assert_ok(qml_ansatz_family_append(circuit, QML_ANSATZ_TFIM, 2));
        qml_lie_options lie = QML_LIE_OPTIONS_INIT;
        lie.max_dim = 1000;
        assert_ok(qml_lie_algebra_from_circuit(&fresh, circuit, &lie));
        assert_int_equal(qml_lie_algebra_dim(fresh), qml_lie_algebra_dim(kept));
        assert_int_equal(qml_lie_algebra_n_ideals(fresh), qml_lie_algebra_n_ideals(kept));
        qml_pauli_sum *a = NULL, *b = NULL;
        char ta[256], tb[256];
        assert_ok(qml_lie_algebra_basis_element(kept, 1, &a));
        assert_ok(qml_lie_algebra_basis_element(fresh, 1, &b));
        assert_ok(qml_pauli_sum_format(a, ta, sizeof ta, NULL));
        assert_ok(qml_pauli_sum_format(b, tb, sizeof tb, NULL));
        assert_string_equal(ta, tb);
        qml_pauli_sum_free(a);
        qml_pauli_sum_free(b);
        qml_lie_algebra_free(fresh);
        qml_circuit_free(circuit);
    }
    const qml_lie_algebra *kept = NULL;
    assert_status(qml_bp_scan_row_algebra(scan, 3, &kept), QML_ERR_OUT_OF_RANGE);
    qml_bp_scan_free(scan);

    /* past max_dim (HEA: 15 at n = 2, 63 > 20 at n = 3): no algebra */
    so.max_dim = 20;
    so.n_max = 3;
    so.quantity = QML_BP_GRADIENT;
    assert_ok(qml_bp_scan_family(&scan, QML_ANSATZ_HEA, &so, &lo));
    assert_ok(qml_bp_scan_row_algebra(scan, 0, &kept));
    assert_int_equal(qml_lie_algebra_dim(kept), 15);
    assert_status(qml_bp_scan_row_algebra(scan, 1, &kept), QML_ERR_NOT_APPLICABLE);
    assert_null(kept);
    qml_bp_scan_free(scan);
    /* not kept */
    so.keep_algebras = 0;
    assert_ok(qml_bp_scan_family(&scan, QML_ANSATZ_HEA, &so, &lo));
    assert_status(qml_bp_scan_row_algebra(scan, 0, &kept), QML_ERR_NOT_APPLICABLE);
    qml_bp_scan_free(scan);
}

/* The Heisenberg chain's default initial state is the Neel state: from
 * |0...0>, an eigenstate of every generator, nothing would move. */
static void test_scan_heisenberg_initial_state(void **state)
{
    (void)state;
    qml_bp_scan_options so = QML_BP_SCAN_OPTIONS_INIT;
    so.n_min = so.n_max = 3;
    so.depth = QML_BP_DEPTH_FIXED;
    so.layers = 3;
    so.quantity = QML_BP_LOSS;
    qml_landscape_options lo = QML_LANDSCAPE_OPTIONS_INIT;
    lo.samples = 20;
    qml_bp_scan *scan = NULL;
    qml_bp_row row = {.size = sizeof row};
    assert_ok(qml_bp_scan_family(&scan, QML_ANSATZ_HEISENBERG, &so, &lo));
    assert_ok(qml_bp_scan_row(scan, 0, &row));
    assert_true(row.var_measured > 1e-3);
    qml_bp_scan_free(scan);
    so.initial = QML_BP_INITIAL_ZERO;
    assert_ok(qml_bp_scan_family(&scan, QML_ANSATZ_HEISENBERG, &so, &lo));
    assert_ok(qml_bp_scan_row(scan, 0, &row));
    /* Not merely small: a variance at the rounding level is reported as 0. */
    assert_true(row.var_measured == 0.0 && row.var_stderr == 0.0);
    qml_bp_scan_free(scan);
    /* At n = 2 the Neel state only swaps |01> and |10>: Z0 Z1 is conserved,
     * the row is 0 and the fit leaves it out. */
    so.initial = QML_BP_INITIAL_DEFAULT;
    so.n_min = 2, so.n_max = 5;
    assert_ok(qml_bp_scan_family(&scan, QML_ANSATZ_HEISENBERG, &so, &lo));
    assert_ok(qml_bp_scan_row(scan, 0, &row));
    assert_true(row.var_measured == 0.0);
    qml_bp_fit fit = {.size = sizeof fit};
    assert_ok(qml_bp_scan_fit(scan, &fit));
    assert_int_equal(fit.n_points, 3);
    qml_bp_scan_free(scan);
}

/* ---- validation ------------------------------------------------------------------------------- */

static void test_validation(void **state)
{
    (void)state;
    qml_circuit *circuit = hea_circuit(2, 1);
    qml_circuit *empty = NULL;
    assert_ok(qml_circuit_create(&empty, 2));
    qml_pauli_sum *obs = parse(2, "Z0"), *obs3 = parse(3, "Z0");
    qml_statevec *psi3 = NULL;
    assert_ok(qml_statevec_create(&psi3, 3));
    qml_gradient_stats *stats = (qml_gradient_stats *)(void *)&stats; /* must stay untouched */
    qml_gradient_stats *const sentinel = stats;
    qml_landscape_options o = QML_LANDSCAPE_OPTIONS_INIT;
    o.samples = 4;
    assert_status(qml_gradient_stats_create(NULL, circuit, obs, NULL, NULL, 0, &o), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_gradient_stats_create(&stats, NULL, obs, NULL, NULL, 0, &o), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_gradient_stats_create(&stats, circuit, NULL, NULL, NULL, 0, &o), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_gradient_stats_create(&stats, circuit, obs3, NULL, NULL, 0, &o), QML_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(qml_last_error(), "observable"));
    assert_status(qml_gradient_stats_create(&stats, circuit, obs, psi3, NULL, 0, &o), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_gradient_stats_create(&stats, empty, obs, NULL, NULL, 0, &o), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_gradient_stats_create(&stats, circuit, obs, NULL, NULL, 3, &o), QML_ERR_INVALID_ARGUMENT);
    o.samples = 1;
    assert_status(qml_gradient_stats_create(&stats, circuit, obs, NULL, NULL, 0, &o), QML_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(qml_last_error(), "samples = 1"));
    o.samples = 4;
    o.params = (qml_param_selection)3;
    assert_status(qml_gradient_stats_create(&stats, circuit, obs, NULL, NULL, 0, &o), QML_ERR_INVALID_ARGUMENT);
    o.params = QML_PARAMS_FIRST;
    o.size = 3;
    assert_status(qml_gradient_stats_create(&stats, circuit, obs, NULL, NULL, 0, &o), QML_ERR_INVALID_ARGUMENT);
    assert_ptr_equal(stats, sentinel);
    /* NULL options are the defaults. */
    assert_ok(qml_gradient_stats_create(&stats, circuit, obs, NULL, NULL, 0, NULL));
    assert_int_equal(qml_gradient_stats_n_samples(stats), 200);
    qml_gradient_stats_free(stats);
    qml_gradient_stats_free(NULL);
    assert_int_equal(qml_gradient_stats_n_samples(NULL), 0);
    assert_int_equal(qml_gradient_stats_n_weights(NULL), 0);
    assert_status(qml_gradient_stats_loss(NULL, NULL, NULL, NULL, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_gradient_stats_summary(NULL, NULL, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_gradient_stats_weight(NULL, 0, NULL, NULL, NULL, NULL), QML_ERR_INVALID_ARGUMENT);

    /* Fits. */
    double n[3] = {2, 3, 4}, v[3] = {0.5, 0.25, 0.125}, se[3] = {0.01, 0.01, 0.01};
    qml_bp_fit fit = {.size = sizeof fit};
    assert_status(qml_bp_fit_data(n, v, se, 2, &fit), QML_ERR_NOT_APPLICABLE);
    assert_status(qml_bp_fit_data(NULL, v, se, 3, &fit), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_bp_fit_data(n, v, se, 3, NULL), QML_ERR_INVALID_ARGUMENT);
    v[1] = -0.25;
    assert_status(qml_bp_fit_data(n, v, se, 3, &fit), QML_ERR_INVALID_ARGUMENT);
    v[1] = 0.25;
    se[2] = 0.0;
    assert_status(qml_bp_fit_data(n, v, se, 3, &fit), QML_ERR_INVALID_ARGUMENT);
    se[2] = 0.01;
    n[0] = NAN;
    assert_status(qml_bp_fit_data(n, v, se, 3, &fit), QML_ERR_INVALID_ARGUMENT);
    n[0] = n[1] = n[2] = 3;
    assert_status(qml_bp_fit_data(n, v, se, 3, &fit), QML_ERR_NOT_APPLICABLE);
    fit.size = 0;
    n[0] = 2, n[2] = 4;
    assert_status(qml_bp_fit_data(n, v, se, 3, &fit), QML_ERR_INVALID_ARGUMENT);

    /* Scans. */
    qml_bp_scan *scan = NULL;
    qml_bp_scan_options so = QML_BP_SCAN_OPTIONS_INIT;
    qml_landscape_options lo = QML_LANDSCAPE_OPTIONS_INIT;
    lo.samples = 4;
    so.depth = QML_BP_DEPTH_FIXED;
    so.layers = 1;
    so.n_min = 4, so.n_max = 3;
    assert_status(qml_bp_scan_family(&scan, QML_ANSATZ_HEA, &so, &lo), QML_ERR_INVALID_ARGUMENT);
    so.n_min = 2;
    assert_status(qml_bp_scan_family(NULL, QML_ANSATZ_HEA, &so, &lo), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_bp_scan_family(&scan, (qml_ansatz_family)9, &so, &lo), QML_ERR_INVALID_ARGUMENT);
    so.layers = 0;
    assert_status(qml_bp_scan_family(&scan, QML_ANSATZ_HEA, &so, &lo), QML_ERR_INVALID_ARGUMENT);
    so.layers = 1;
    so.depth = QML_BP_DEPTH_LIST;
    assert_status(qml_bp_scan_family(&scan, QML_ANSATZ_HEA, &so, &lo), QML_ERR_INVALID_ARGUMENT);
    so.depth = (qml_bp_depth)5;
    assert_status(qml_bp_scan_family(&scan, QML_ANSATZ_HEA, &so, &lo), QML_ERR_INVALID_ARGUMENT);
    so.depth = QML_BP_DEPTH_FIXED;
    so.quantity = (qml_bp_quantity)2;
    assert_status(qml_bp_scan_family(&scan, QML_ANSATZ_HEA, &so, &lo), QML_ERR_INVALID_ARGUMENT);
    so.quantity = QML_BP_GRADIENT;
    so.initial = (qml_bp_initial)3;
    assert_status(qml_bp_scan_family(&scan, QML_ANSATZ_HEA, &so, &lo), QML_ERR_INVALID_ARGUMENT);
    so.initial = QML_BP_INITIAL_DEFAULT;
    so.observable = "Z0 Q1";
    assert_status(qml_bp_scan_family(&scan, QML_ANSATZ_HEA, &so, &lo), QML_ERR_PARSE);
    so.observable = "Z7";
    assert_status(qml_bp_scan_family(&scan, QML_ANSATZ_HEA, &so, &lo), QML_ERR_OUT_OF_RANGE);
    so.observable = NULL;
    lo.samples = 1;
    assert_status(qml_bp_scan_family(&scan, QML_ANSATZ_HEA, &so, &lo), QML_ERR_INVALID_ARGUMENT);
    assert_null(scan);
    assert_status(qml_bp_scan_generators(&scan, NULL, 1, NULL, &so, &lo), QML_ERR_INVALID_ARGUMENT);
    const qml_pauli_sum *mixed[2] = {obs, obs3};
    lo.samples = 4;
    so.n_min = so.n_max = 0;
    assert_status(qml_bp_scan_generators(&scan, mixed, 2, NULL, &so, &lo), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_bp_scan_generators(&scan, mixed, 0, NULL, &so, &lo), QML_ERR_INVALID_ARGUMENT);
    assert_null(scan);
    assert_status(qml_bp_scan_fit(NULL, &fit), QML_ERR_INVALID_ARGUMENT);
    assert_int_equal(qml_bp_scan_n_rows(NULL), 0);
    qml_bp_scan_free(NULL);

    qml_statevec_free(psi3);
    qml_pauli_sum_free(obs);
    qml_pauli_sum_free(obs3);
    qml_circuit_free(empty);
    qml_circuit_free(circuit);
}

/* ---- cancellation ------------------------------------------------------------------------------- */

typedef struct cancel_after {
    size_t calls;
    size_t limit;
    size_t last_done;
    size_t last_total;
    int monotone;
} cancel_after;

static int cancel_progress(const char *stage, size_t done, size_t total, void *user)
{
    cancel_after *c = user;
    assert_non_null(stage);
    if (done < c->last_done || done > total)
        c->monotone = 0;
    c->last_done = done;
    c->last_total = total;
    return ++c->calls >= c->limit;
}

static void test_cancellation(void **state)
{
    (void)state;
    qml_circuit *circuit = hea_circuit(3, 2);
    qml_pauli_sum *obs = parse(3, "Z0");
    for (unsigned threads = 1; threads <= 2; threads++) {
        /* The counting allocator is not thread-safe: count leaks on one thread. */
        if (threads == 1)
            harness_install_counting_allocator();
        cancel_after c = {0, 5, 0, 0, 1};
        qml_landscape_options o = QML_LANDSCAPE_OPTIONS_INIT;
        o.samples = 100;
        o.n_threads = threads;
        o.progress = cancel_progress;
        o.progress_user = &c;
        qml_gradient_stats *stats = NULL;
        assert_status(qml_gradient_stats_create(&stats, circuit, obs, NULL, NULL, 0, &o), QML_ERR_CANCELLED);
        assert_null(stats);
        assert_int_equal(c.calls, 5);
        assert_true(c.monotone);
        assert_int_equal(c.last_total, 100);
        if (threads == 1)
            assert_int_equal(harness_live_blocks(), 0);

        /* A scan: the callback sees the samples of all rows. */
        /* 15 calls: within row 2 on one thread (11 calls a row: one per
         * sample and a final one), within row 3 on two (6 calls a row). */
        c = (cancel_after){0, 15, 0, 0, 1};
        qml_bp_scan_options so = QML_BP_SCAN_OPTIONS_INIT;
        so.n_min = 2, so.n_max = 4;
        so.depth = QML_BP_DEPTH_FIXED, so.layers = 1;
        o.samples = 10;
        qml_bp_scan *scan = NULL;
        assert_status(qml_bp_scan_family(&scan, QML_ANSATZ_HEA, &so, &o), QML_ERR_CANCELLED);
        assert_null(scan);
        assert_int_equal(c.last_total, 30);
        assert_int_equal(c.calls, 15);
        assert_true(c.monotone);
        if (threads == 1) {
            assert_int_equal(harness_live_blocks(), 0);
            harness_restore_allocator();
        }
    }
    /* A callback that never cancels is called with done = total at the end. */
    cancel_after never = {0, (size_t)-1, 0, 0, 1};
    qml_landscape_options o = QML_LANDSCAPE_OPTIONS_INIT;
    o.samples = 10;
    o.progress = cancel_progress;
    o.progress_user = &never;
    qml_gradient_stats *stats = NULL;
    assert_ok(qml_gradient_stats_create(&stats, circuit, obs, NULL, NULL, 0, &o));
    assert_int_equal(never.last_done, 10);
    assert_true(never.monotone);
    qml_gradient_stats_free(stats);
    qml_pauli_sum_free(obs);
    qml_circuit_free(circuit);
}

/* ---- allocation failures ------------------------------------------------------------------------ */

static int sequence_stats(void *context)
{
    (void)context;
    qml_circuit *circuit = NULL;
    qml_pauli_sum *obs = NULL;
    qml_gradient_stats *stats = NULL;
    int status = qml_circuit_create(&circuit, 2);
    if (!status)
        status = qml_ansatz_angle_encoding(circuit, QML_GATE_RY, 1, 1.0);
    if (!status)
        status = qml_ansatz_hardware_efficient(circuit, 1, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN);
    if (!status)
        status = qml_pauli_sum_parse(&obs, 2, "Z0 Z1");
    qml_landscape_options o = QML_LANDSCAPE_OPTIONS_INIT;
    o.samples = 3;
    o.params = QML_PARAMS_ALL;
    if (!status)
        status = qml_gradient_stats_create(&stats, circuit, obs, NULL, NULL, 0, &o);
    if (!status) {
        qml_bp_fit fit = {.size = sizeof fit};
        const double n[3] = {2, 3, 4}, v[3] = {1, 0.5, 0.2}, se[3] = {0.1, 0.1, 0.1};
        status = qml_bp_fit_data(n, v, se, 3, &fit);
    }
    qml_gradient_stats_free(stats);
    qml_pauli_sum_free(obs);
    qml_circuit_free(circuit);
    return status;
}

static int sequence_scan(void *context)
{
    (void)context;
    qml_bp_scan_options so = QML_BP_SCAN_OPTIONS_INIT;
    so.n_min = 2, so.n_max = 4;
    so.depth = QML_BP_DEPTH_FIXED, so.layers = 1;
    so.quantity = QML_BP_LOSS;
    so.initial = QML_BP_INITIAL_NEEL;
    qml_landscape_options lo = QML_LANDSCAPE_OPTIONS_INIT;
    lo.samples = 3;
    qml_bp_scan *scan = NULL;
    so.max_dim = 100;
    int status = qml_bp_scan_family(&scan, QML_ANSATZ_TFIM, &so, &lo);
    if (!status) {
        qml_bp_fit fit = {.size = sizeof fit};
        status = qml_bp_scan_fit(scan, &fit);
    }
    qml_bp_scan_free(scan);
    scan = NULL;
    /* The HEA with its DLA and the first-gate prediction (transported
     * generators and observable), and a cap that is reached. */
    so.n_max = 3;
    so.layers = 2;
    so.quantity = QML_BP_GRADIENT;
    so.initial = QML_BP_INITIAL_DEFAULT;
    so.observable = "X0 + 0.5*Z1 - 1";
    so.max_dim = 20;
    so.keep_algebras = 1;
    if (!status)
        status = qml_bp_scan_family(&scan, QML_ANSATZ_HEA, &so, &lo);
    const qml_lie_algebra *kept = NULL;
    if (!status && qml_bp_scan_row_algebra(scan, 0, &kept) == QML_OK && qml_lie_algebra_dim(kept) != 15)
        status = -1000; /* not a library status: the sequence found a wrong algebra */
    qml_bp_scan_free(scan);
    return status;
}

static void test_allocation_failures(void **state)
{
    (void)state;
    /* The counting allocator is not thread-safe: these run on one thread. */
    assert_true(harness_check_allocation_failures(sequence_stats, NULL) > 5);
    assert_true(harness_check_allocation_failures(sequence_scan, NULL) > 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_estimators_match_direct),
        cmocka_unit_test(test_features),
        cmocka_unit_test(test_hea_gradient_variance_matches_haar),
        cmocka_unit_test(test_tfim_loss_variance_matches_so2n),
        cmocka_unit_test(test_thread_count_invariance),
        cmocka_unit_test(test_shot_mode_converges),
        cmocka_unit_test(test_fit_exact_data),
        cmocka_unit_test(test_fit_noisy_data),
        cmocka_unit_test(test_scan_rows_and_fit),
        cmocka_unit_test(test_scan_predictions),
        cmocka_unit_test(test_scan_keeps_algebras),
        cmocka_unit_test(test_scan_heisenberg_initial_state),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_cancellation),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
