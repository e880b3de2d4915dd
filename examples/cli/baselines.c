/*
 * baselines.c: classical baselines beside the quantum models: logistic
 * regression on polynomial features (Newton's method on the L2-regularised
 * mean cross-entropy) and k-nearest neighbours. Deterministic: no random
 * numbers, results depend only on the data.
 */
#include "baselines.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t baseline_poly_count(size_t f, unsigned degree)
{
    /* C(f + degree, degree) */
    double c = 1.0;
    for (unsigned i = 1; i <= degree; i++)
        c = c * (double)(f + i) / (double)i;
    return (size_t)(c + 0.5);
}

void baseline_poly_features(const double *x, size_t f, unsigned degree, double *out)
{
    size_t k = 0;
    out[k++] = 1.0;
    unsigned idx[16];
    for (unsigned d = 1; d <= degree && d <= 16; d++) {
        /* non-decreasing index tuples i_1 <= ... <= i_d in lexicographic order */
        for (unsigned j = 0; j < d; j++)
            idx[j] = 0;
        for (;;) {
            double v = 1.0;
            for (unsigned j = 0; j < d; j++)
                v *= x[idx[j]];
            out[k++] = v;
            int j = (int)d - 1;
            while (j >= 0 && idx[j] == f - 1)
                j--;
            if (j < 0)
                break;
            idx[j]++;
            for (unsigned l = (unsigned)j + 1; l < d; l++)
                idx[l] = idx[j];
        }
    }
}

static void standardise_stats(const double *x, size_t m, size_t f, double *mean, double *sd)
{
    for (size_t j = 0; j < f; j++) {
        double s = 0.0, ss = 0.0;
        for (size_t i = 0; i < m; i++)
            s += x[i * f + j];
        s /= (double)m;
        for (size_t i = 0; i < m; i++)
            ss += (x[i * f + j] - s) * (x[i * f + j] - s);
        double v = m > 1 ? sqrt(ss / (double)m) : 0.0;
        mean[j] = s;
        sd[j] = v > 0.0 ? v : 1.0;
    }
}

/* The design matrix: m rows of p polynomial features of standardised x. */
static double *design(const double *x, size_t m, size_t f, unsigned degree, const double *mean, const double *sd)
{
    size_t p = baseline_poly_count(f, degree);
    double *phi = malloc(m * p * sizeof *phi), *z = malloc(f * sizeof *z);
    if (!phi || !z) {
        free(phi);
        free(z);
        return NULL;
    }
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < f; j++)
            z[j] = (x[i * f + j] - mean[j]) / sd[j];
        baseline_poly_features(z, f, degree, phi + i * p);
    }
    free(z);
    return phi;
}

static double softplus(double z)
{
    return z > 0.0 ? z + log1p(exp(-z)) : log1p(exp(z));
}

static double objective(const double *phi, const int *y, size_t m, size_t p, const double *beta, double lambda)
{
    double s = 0.0;
    for (size_t i = 0; i < m; i++) {
        double z = 0.0;
        for (size_t j = 0; j < p; j++)
            z += phi[i * p + j] * beta[j];
        s += softplus(z) - (y[i] ? z : 0.0);
    }
    double r = 0.0;
    for (size_t j = 1; j < p; j++)
        r += beta[j] * beta[j];
    return s / (double)m + 0.5 * lambda * r;
}

/* Solve H d = g for a symmetric positive definite H (p x p, overwritten by
 * its Cholesky factor); returns -1 if H is not positive definite. */
static int cholesky_solve(double *h, double *g, size_t p)
{
    for (size_t j = 0; j < p; j++) {
        double d = h[j * p + j];
        for (size_t k = 0; k < j; k++)
            d -= h[j * p + k] * h[j * p + k];
        if (!(d > 0.0))
            return -1;
        d = sqrt(d);
        h[j * p + j] = d;
        for (size_t i = j + 1; i < p; i++) {
            double s = h[i * p + j];
            for (size_t k = 0; k < j; k++)
                s -= h[i * p + k] * h[j * p + k];
            h[i * p + j] = s / d;
        }
    }
    for (size_t i = 0; i < p; i++) {
        double s = g[i];
        for (size_t k = 0; k < i; k++)
            s -= h[i * p + k] * g[k];
        g[i] = s / h[i * p + i];
    }
    for (size_t i = p; i-- > 0;) {
        double s = g[i];
        for (size_t k = i + 1; k < p; k++)
            s -= h[k * p + i] * g[k];
        g[i] = s / h[i * p + i];
    }
    return 0;
}

static int newton(const double *phi, const int *y, size_t m, size_t p, double lambda, double *beta)
{
    double *h = malloc(p * p * sizeof *h), *g = malloc(p * sizeof *g), *trial = malloc(p * sizeof *trial);
    double *w = malloc(m * sizeof *w), *r = malloc(m * sizeof *r);
    int code = h && g && trial && w && r ? -1 : -2;
    for (size_t j = 0; j < p; j++)
        beta[j] = 0.0;
    double f = code == -1 ? objective(phi, y, m, p, beta, lambda) : 0.0;
    for (int it = 0; it < 100 && code == -1; it++) {
        for (size_t i = 0; i < m; i++) {
            double z = 0.0;
            for (size_t j = 0; j < p; j++)
                z += phi[i * p + j] * beta[j];
            double q = 1.0 / (1.0 + exp(-z));
            r[i] = q - (y[i] ? 1.0 : 0.0);
            w[i] = q * (1.0 - q);
        }
        double gmax = 0.0;
        for (size_t j = 0; j < p; j++) {
            double s = 0.0;
            for (size_t i = 0; i < m; i++)
                s += phi[i * p + j] * r[i];
            g[j] = s / (double)m + (j ? lambda * beta[j] : 0.0);
            gmax = fmax(gmax, fabs(g[j]));
        }
        if (gmax < 1e-11) {
            code = 0;
            break;
        }
        for (size_t a = 0; a < p; a++)
            for (size_t b = 0; b <= a; b++) {
                double s = 0.0;
                for (size_t i = 0; i < m; i++)
                    s += phi[i * p + a] * w[i] * phi[i * p + b];
                s /= (double)m;
                if (a == b && a > 0)
                    s += lambda;
                if (a == b && a == 0)
                    s += 1e-12; /* keeps the constant's pivot positive when every row is certain */
                h[a * p + b] = h[b * p + a] = s;
            }
        if (cholesky_solve(h, g, p))
            break;
        /* Backtracking: halve the Newton step until the objective falls. */
        double t = 1.0, ft = f;
        for (int k = 0; k < 40; k++, t *= 0.5) {
            for (size_t j = 0; j < p; j++)
                trial[j] = beta[j] - t * g[j];
            ft = objective(phi, y, m, p, trial, lambda);
            if (ft <= f)
                break;
        }
        double step = 0.0;
        for (size_t j = 0; j < p; j++) {
            step = fmax(step, fabs(trial[j] - beta[j]));
            beta[j] = trial[j];
        }
        f = ft;
        if (step < 1e-13)
            code = 0;
    }
    free(h);
    free(g);
    free(trial);
    free(w);
    free(r);
    return code == 0 ? 0 : -1;
}

int baseline_logreg_fit(const double *x, const int *y, size_t m, size_t f, unsigned degree, double lambda,
                        double *weights, double *mean, double *sd)
{
    size_t p = baseline_poly_count(f, degree);
    double *mu = malloc(f * sizeof *mu), *sigma = malloc(f * sizeof *sigma), *beta = malloc(p * sizeof *beta);
    double *phi = NULL;
    int code = -1;
    if (mu && sigma && beta && m > 0) {
        standardise_stats(x, m, f, mu, sigma);
        phi = design(x, m, f, degree, mu, sigma);
        if (phi)
            code = newton(phi, y, m, p, lambda, beta);
    }
    if (code == 0) {
        if (weights)
            memcpy(weights, beta, p * sizeof *beta);
        if (mean)
            memcpy(mean, mu, f * sizeof *mu);
        if (sd)
            memcpy(sd, sigma, f * sizeof *sigma);
    }
    free(mu);
    free(sigma);
    free(beta);
    free(phi);
    return code;
}

static void predict_rows(const double *x, size_t m, size_t f, unsigned degree, const double *beta, const double *mu,
                         const double *sigma, double *z, double *phi, int *pred)
{
    size_t p = baseline_poly_count(f, degree);
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < f; j++)
            z[j] = (x[i * f + j] - mu[j]) / sigma[j];
        baseline_poly_features(z, f, degree, phi);
        double s = 0.0;
        for (size_t j = 0; j < p; j++)
            s += phi[j] * beta[j];
        pred[i] = s >= 0.0;
    }
}

int baseline_logreg(const double *x, const int *y, size_t m, const double *x_test, size_t m_test, size_t f,
                    unsigned degree, double lambda, int *pred_train, int *pred_test)
{
    size_t p = baseline_poly_count(f, degree);
    double *beta = malloc(p * sizeof *beta), *mu = malloc(f * sizeof *mu), *sigma = malloc(f * sizeof *sigma);
    double *z = malloc(f * sizeof *z), *phi = malloc(p * sizeof *phi);
    int code = beta && mu && sigma && z && phi ? baseline_logreg_fit(x, y, m, f, degree, lambda, beta, mu, sigma) : -1;
    if (code == 0) {
        predict_rows(x, m, f, degree, beta, mu, sigma, z, phi, pred_train);
        if (m_test)
            predict_rows(x_test, m_test, f, degree, beta, mu, sigma, z, phi, pred_test);
    }
    free(beta);
    free(mu);
    free(sigma);
    free(z);
    free(phi);
    return code;
}

static void knn_rows(const double *x, const int *y, size_t m, const double *q, size_t mq, size_t f, unsigned k,
                     const double *mu, const double *sigma, double *best_d, size_t *best_i, int *pred)
{
    if (k > m)
        k = (unsigned)m;
    for (size_t a = 0; a < mq; a++) {
        size_t found = 0;
        for (size_t i = 0; i < m; i++) {
            double d = 0.0;
            for (size_t j = 0; j < f; j++) {
                double u = (q[a * f + j] - x[i * f + j]) / sigma[j];
                d += u * u;
            }
            if (found == k && !(d < best_d[k - 1]))
                continue; /* ties keep the lower index */
            size_t pos = found < k ? found++ : k - 1;
            while (pos > 0 && d < best_d[pos - 1]) {
                best_d[pos] = best_d[pos - 1];
                best_i[pos] = best_i[pos - 1];
                pos--;
            }
            best_d[pos] = d;
            best_i[pos] = i;
        }
        unsigned ones = 0;
        for (size_t j = 0; j < found; j++)
            ones += y[best_i[j]] != 0;
        pred[a] = 2 * ones >= found;
    }
    (void)mu;
}

int baseline_knn(const double *x, const int *y, size_t m, const double *x_test, size_t m_test, size_t f, unsigned k,
                 int *pred_train, int *pred_test)
{
    double *mu = malloc(f * sizeof *mu), *sigma = malloc(f * sizeof *sigma), *best_d = malloc((k + 1) * sizeof *best_d);
    size_t *best_i = malloc((k + 1) * sizeof *best_i);
    int code = mu && sigma && best_d && best_i && m > 0 && k > 0 ? 0 : -1;
    if (code == 0) {
        standardise_stats(x, m, f, mu, sigma);
        knn_rows(x, y, m, x, m, f, k, mu, sigma, best_d, best_i, pred_train);
        if (m_test)
            knn_rows(x, y, m, x_test, m_test, f, k, mu, sigma, best_d, best_i, pred_test);
    }
    free(mu);
    free(sigma);
    free(best_d);
    free(best_i);
    return code;
}

double baseline_accuracy(const int *pred, const int *y, size_t m)
{
    size_t right = 0;
    for (size_t i = 0; i < m; i++)
        right += (pred[i] != 0) == (y[i] != 0);
    return m ? (double)right / (double)m : (double)NAN;
}
