/* baselines.h: the classical baselines of `qml paradox`: logistic
 * regression on polynomial features and k-nearest neighbours, fitted on the
 * same splits as the quantum models. Plain C11 + libm, no libqml. */
#ifndef QML_CLI_BASELINES_H
#define QML_CLI_BASELINES_H

#include <stddef.h>

/* The number of monomials of total degree <= degree in f variables
 * (including the constant): C(f + degree, degree). */
size_t baseline_poly_count(size_t f, unsigned degree);

/* The monomials of x (f values) of total degree <= degree, in graded
 * lexicographic order (1, x0, x1, ..., x0^2, x0 x1, ...); out has
 * baseline_poly_count(f, degree) entries. */
void baseline_poly_features(const double *x, size_t f, unsigned degree, double *out);

/* L2-regularised logistic regression on the polynomial features of the
 * standardised inputs (z-scores with the training set's mean and standard
 * deviation): minimises (1/m) sum_i softplus(z_i) - y_i z_i
 * + (lambda / 2) |beta without the constant|^2 by Newton's method.
 * x: m rows of f features; y in {0, 1}. weights (may be NULL) receives the
 * baseline_poly_count(f, degree) coefficients, and mean/sd (may be NULL) the
 * standardisation. Returns 0, or -1 (out of memory, or no convergence in 100
 * Newton steps). */
int baseline_logreg_fit(const double *x, const int *y, size_t m, size_t f, unsigned degree, double lambda,
                        double *weights, double *mean, double *sd);

/* Fit as above and predict classes (p >= 1/2) for the training rows and for
 * m_test test rows (x_test may be NULL with m_test 0). Returns 0 or -1. */
int baseline_logreg(const double *x, const int *y, size_t m, const double *x_test, size_t m_test, size_t f,
                    unsigned degree, double lambda, int *pred_train, int *pred_test);

/* k-nearest neighbours (Euclidean distance on the inputs standardised with
 * the training set's mean and standard deviation, majority vote, ties in
 * distance to the lower row index, an even vote to class 1): predictions
 * for the training rows (each row is its own nearest neighbour) and the
 * test rows. Returns 0 or -1 (out of memory). */
int baseline_knn(const double *x, const int *y, size_t m, const double *x_test, size_t m_test, size_t f, unsigned k,
                 int *pred_train, int *pred_test);

/* Share of predictions equal to the labels. */
double baseline_accuracy(const int *pred, const int *y, size_t m);

#endif
