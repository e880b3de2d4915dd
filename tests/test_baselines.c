/* test_baselines.c: the classical baselines of `qml paradox`
 * (examples/cli/baselines.c) against references built here: the monomials
 * enumerated by exponents, the regularised logistic objective's gradient at
 * the fitted weights (zero at the optimum of a strictly convex objective),
 * and k-nearest neighbours by sorting every distance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "baselines.h"

static uint64_t lcg_state;

static double uniform(void)
{
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(lcg_state >> 11) * 0x1.0p-53;
}

static void test_monomials(void **state)
{
    (void)state;
    assert_int_equal(baseline_poly_count(2, 1), 3);
    assert_int_equal(baseline_poly_count(2, 3), 10);
    assert_int_equal(baseline_poly_count(6, 3), 84);
    /* f = 2, degree 3, graded lexicographic: 1, x0, x1, x0^2, x0x1, x1^2,
     * x0^3, x0^2x1, x0x1^2, x1^3. */
    double x[2] = {2.0, 3.0}, out[10];
    baseline_poly_features(x, 2, 3, out);
    const double want[10] = {1, 2, 3, 4, 6, 9, 8, 12, 18, 27};
    for (int i = 0; i < 10; i++)
        assert_true(out[i] == want[i]);
    /* f = 3, degree 2: every exponent vector with sum <= 2 appears once. */
    double y[3] = {2.0, 3.0, 5.0}, o3[10];
    baseline_poly_features(y, 3, 2, o3);
    double sorted_want[10] = {1, 2, 3, 5, 4, 6, 10, 9, 15, 25};
    for (int i = 0; i < 10; i++)
        assert_true(o3[i] == sorted_want[i]);
}

/* Standardise with the population standard deviation, as baselines.c says. */
static void zscore(const double *x, size_t m, size_t f, double *mu, double *sd)
{
    for (size_t j = 0; j < f; j++) {
        double s = 0.0, ss = 0.0;
        for (size_t i = 0; i < m; i++)
            s += x[i * f + j];
        s /= (double)m;
        for (size_t i = 0; i < m; i++)
            ss += (x[i * f + j] - s) * (x[i * f + j] - s);
        mu[j] = s;
        sd[j] = sqrt(ss / (double)m);
    }
}

static void test_logistic_optimum(void **state)
{
    (void)state;
    enum { M = 80, F = 2, P = 10 };
    double x[M * F];
    int y[M];
    lcg_state = 7;
    for (int i = 0; i < M; i++) {
        x[i * F] = 4.0 * uniform() - 2.0;
        x[i * F + 1] = 4.0 * uniform() - 2.0;
        double margin = x[i * F] * x[i * F] - x[i * F + 1];
        y[i] = margin + 0.8 * (uniform() - 0.5) > 0.0;
    }
    const double lambda = 1e-3;
    double beta[P], mu[F], sd[F];
    assert_int_equal(baseline_logreg_fit(x, y, M, F, 3, lambda, beta, mu, sd), 0);
    double mu2[F], sd2[F];
    zscore(x, M, F, mu2, sd2);
    for (int j = 0; j < F; j++) {
        assert_true(fabs(mu[j] - mu2[j]) < 1e-12);
        assert_true(fabs(sd[j] - sd2[j]) < 1e-12);
    }
    /* The gradient of (1/M) sum softplus(z) - y z + lambda/2 |beta_1..|^2,
     * with the monomials written out by exponents here. */
    double grad[P] = {0};
    for (int i = 0; i < M; i++) {
        double a = (x[i * F] - mu2[0]) / sd2[0], b = (x[i * F + 1] - mu2[1]) / sd2[1];
        double phi[P] = {1, a, b, a * a, a * b, b * b, a * a * a, a * a * b, a * b * b, b * b * b};
        double z = 0.0;
        for (int j = 0; j < P; j++)
            z += phi[j] * beta[j];
        double r = 1.0 / (1.0 + exp(-z)) - y[i];
        for (int j = 0; j < P; j++)
            grad[j] += phi[j] * r / M;
    }
    for (int j = 1; j < P; j++)
        grad[j] += lambda * beta[j];
    for (int j = 0; j < P; j++)
        assert_true(fabs(grad[j]) < 1e-9);
    /* The cubic boundary fits this data better than a line. */
    int pred1[M], pred3[M];
    assert_int_equal(baseline_logreg(x, y, M, NULL, 0, F, 1, lambda, pred1, NULL), 0);
    assert_int_equal(baseline_logreg(x, y, M, NULL, 0, F, 3, lambda, pred3, NULL), 0);
    assert_true(baseline_accuracy(pred3, y, M) > baseline_accuracy(pred1, y, M));
    assert_true(baseline_accuracy(pred3, y, M) >= 0.9);
}

static void test_logistic_separable(void **state)
{
    (void)state;
    enum { M = 40 };
    double x[M * 3], xt[10 * 3];
    int y[M], yt[10], pred[M], predt[10];
    lcg_state = 11;
    for (int i = 0; i < M + 10; i++) {
        double *row = i < M ? x + 3 * i : xt + 3 * (i - M);
        for (int j = 0; j < 3; j++)
            row[j] = 2.0 * uniform() - 1.0;
        int label = row[0] + 0.5 * row[1] - row[2] > 0.0;
        if (i < M)
            y[i] = label;
        else
            yt[i - M] = label;
    }
    assert_int_equal(baseline_logreg(x, y, M, xt, 10, 3, 1, 1e-3, pred, predt), 0);
    assert_true(baseline_accuracy(pred, y, M) == 1.0);
    assert_true(baseline_accuracy(predt, yt, 10) >= 0.8);
}

typedef struct pair {
    double d;
    size_t i;
} pair;

static int by_distance(const void *a, const void *b)
{
    const pair *p = a, *q = b;
    if (p->d != q->d)
        return p->d < q->d ? -1 : 1;
    return p->i < q->i ? -1 : p->i > q->i;
}

static void test_knn_brute_force(void **state)
{
    (void)state;
    enum { M = 50, Q = 20, F = 3, K = 5 };
    double x[M * F], q[Q * F], mu[F], sd[F];
    int y[M], pred[M], predq[Q];
    lcg_state = 3;
    for (int i = 0; i < M * F; i++)
        x[i] = uniform() * (1 + i % F);
    for (int i = 0; i < Q * F; i++)
        q[i] = uniform() * (1 + i % F);
    for (int i = 0; i < M; i++)
        y[i] = uniform() < 0.5;
    assert_int_equal(baseline_knn(x, y, M, q, Q, F, K, pred, predq), 0);
    zscore(x, M, F, mu, sd);
    for (int a = 0; a < M + Q; a++) {
        const double *row = a < M ? x + a * F : q + (a - M) * F;
        pair all[M];
        for (size_t i = 0; i < M; i++) {
            double d = 0.0;
            for (int j = 0; j < F; j++) {
                double u = (row[j] - x[i * F + j]) / sd[j];
                d += u * u;
            }
            all[i] = (pair){d, i};
        }
        qsort(all, M, sizeof all[0], by_distance);
        int ones = 0;
        for (int j = 0; j < K; j++)
            ones += y[all[j].i];
        int want = 2 * ones >= K;
        assert_int_equal(a < M ? pred[a] : predq[a - M], want);
        if (a < M)
            assert_true(all[0].i == (size_t)a); /* each training row is its own nearest neighbour */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_monomials),
        cmocka_unit_test(test_logistic_optimum),
        cmocka_unit_test(test_logistic_separable),
        cmocka_unit_test(test_knn_brute_force),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
