/*
 * capacity.c: what a model can express and how rough it starts: the rank of
 * the Jacobian of its readout over a dataset, the rank of the quantum Fisher
 * information of its state at one input, and the mean squared input slope
 * of its readout over random weights.
 */
#include "internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

#define CAPACITY_PI 3.14159265358979323846
/* Sweeps of the one-sided Jacobi SVD; it converges quadratically, a few
 * sweeps suffice for double precision (Demmel & Veselic, SIAM J. Matrix
 * Anal. Appl. 13, 1204 (1992)). */
#define CAPACITY_MAX_SWEEPS 60

/* ---- singular values ------------------------------------------------------- */

/* The singular values of the matrix whose columns are the `count` vectors
 * of length `length` at `vectors` (contiguous, overwritten), by one-sided
 * Jacobi (Hestenes): rotate pairs of columns until all pairs are
 * orthogonal to working precision; the singular values are then the column
 * norms. Accurate to about DBL_EPSILON times the largest singular value. */
static void singular_values(double *vectors, size_t count, size_t length, double *sigma)
{
    for (int sweep = 0; sweep < CAPACITY_MAX_SWEEPS; sweep++) {
        int rotated = 0;
        for (size_t p = 0; p + 1 < count; p++) {
            double *a = vectors + p * length;
            for (size_t q = p + 1; q < count; q++) {
                double *b = vectors + q * length;
                double alpha = 0.0, beta = 0.0, gamma = 0.0;
                for (size_t i = 0; i < length; i++) {
                    alpha += a[i] * a[i];
                    beta += b[i] * b[i];
                    gamma += a[i] * b[i];
                }
                if (gamma == 0.0 || fabs(gamma) <= DBL_EPSILON * sqrt(alpha * beta))
                    continue;
                rotated = 1;
                double zeta = (beta - alpha) / (2.0 * gamma);
                double t = (zeta >= 0.0 ? 1.0 : -1.0) / (fabs(zeta) + sqrt(1.0 + zeta * zeta));
                double c = 1.0 / sqrt(1.0 + t * t), s = c * t;
                for (size_t i = 0; i < length; i++) {
                    double ai = a[i], bi = b[i];
                    a[i] = c * ai - s * bi;
                    b[i] = s * ai + c * bi;
                }
            }
        }
        if (!rotated)
            break;
    }
    for (size_t p = 0; p < count; p++) {
        const double *a = vectors + p * length;
        double norm = 0.0;
        for (size_t i = 0; i < length; i++)
            norm += a[i] * a[i];
        sigma[p] = sqrt(norm);
    }
}

/* The numerical rank of the count x length matrix at `vectors` (rows
 * contiguous; overwritten): the singular values above tolerance x the
 * largest, tolerance 0 meaning max(count, length) x DBL_EPSILON. Works on
 * the orientation with fewer vectors. */
static int numerical_rank(double *vectors, size_t count, size_t length, double tolerance, size_t *rank)
{
    double *work = vectors;
    double *transposed = NULL;
    if (count > length) {
        transposed = qml__malloc(qml__mul_size(qml__mul_size(count, length), sizeof(double)));
        if (!transposed)
            return qml__oom("rank: transposed matrix");
        for (size_t r = 0; r < count; r++)
            for (size_t c = 0; c < length; c++)
                transposed[c * count + r] = vectors[r * length + c];
        work = transposed;
        size_t swap = count;
        count = length;
        length = swap;
    }
    double *sigma = qml__malloc(qml__mul_size(count ? count : 1, sizeof(double)));
    if (!sigma) {
        qml__free(transposed);
        return qml__oom("rank: singular values");
    }
    singular_values(work, count, length, sigma);
    if (tolerance == 0.0)
        tolerance = (double)(count > length ? count : length) * DBL_EPSILON;
    double largest = 0.0;
    for (size_t p = 0; p < count; p++)
        if (sigma[p] > largest)
            largest = sigma[p];
    size_t r = 0;
    for (size_t p = 0; p < count && largest > 0.0; p++)
        r += sigma[p] > tolerance * largest;
    *rank = r;
    qml__free(sigma);
    qml__free(transposed);
    return QML_OK;
}

static int check_tolerance(double tolerance, const char *caller)
{
    QML_CHECK_ARG(isfinite(tolerance) && tolerance >= 0.0 && tolerance < 1.0,
                  "%s: tolerance %g is not in [0, 1) (0 selects max(rows, columns) x DBL_EPSILON)", caller,
                  tolerance);
    return QML_OK;
}

/* ---- the Jacobian over a dataset -------------------------------------------- */

int qml_model_jacobian_rank(const qml_model *model, const qml_dataset *dataset, double tolerance, size_t *rank)
{
    QML_CHECK_NULL(model);
    QML_CHECK_NULL(dataset);
    QML_CHECK_NULL(rank);
    int status = check_tolerance(tolerance, __func__);
    if (status)
        return status;
    size_t n_features = qml_model_n_features(model);
    QML_CHECK_ARG(dataset->n_features >= n_features, "%s: dataset of %zu features, the model reads %zu", __func__,
                  dataset->n_features, n_features);
    size_t n_weights = qml_model_n_weights(model), n_rows = dataset->n_rows;
    double *params = qml__malloc(qml__mul_size(n_weights + 2, sizeof(double)));
    double *jacobian = qml__malloc(qml__mul_size(qml__mul_size(n_rows, n_weights), sizeof(double)));
    if (!params || !jacobian) {
        status = qml__oom("jacobian");
        goto done;
    }
    status = qml_model_params(model, params, n_weights + 2);
    if (status == QML_OK) {
        /* Row i of the Jacobian is de(w, x_i)/dw (adjoint, one row per input). */
        qml_gradient_options options = QML_GRADIENT_OPTIONS_INIT;
        status = qml_gradient_batch(qml_model_circuit(model), qml_model_readout(model), NULL, params, n_weights,
                                    dataset->features, n_rows, dataset->n_features, &options, QML_BATCH_PER_ROW,
                                    NULL, jacobian);
    }
    if (status == QML_OK)
        status = numerical_rank(jacobian, n_rows, n_weights, tolerance, rank);
done:
    qml__free(jacobian);
    qml__free(params);
    if (status)
        return qml__error_context(status, __func__);
    qml__ok();
    return QML_OK;
}

/* ---- the quantum Fisher information at one input ----------------------------- */

int qml_model_qfi_rank(const qml_model *model, const double *features, size_t n_features, double tolerance,
                       size_t *rank)
{
    QML_CHECK_NULL(model);
    QML_CHECK_NULL(features);
    QML_CHECK_NULL(rank);
    int status = check_tolerance(tolerance, __func__);
    if (status)
        return status;
    if (n_features < qml_model_n_features(model))
        return qml__error(QML_ERR_OUT_OF_RANGE, "%s: %zu features given, the model reads %zu", __func__, n_features,
                          qml_model_n_features(model));
    for (size_t j = 0; j < qml_model_n_features(model); j++)
        QML_CHECK_ARG(isfinite(features[j]), "%s: feature %zu is %g", __func__, j, features[j]);

    const qml_circuit *circuit = qml_model_circuit(model);
    const size_t n_weights = qml_model_n_weights(model);
    const unsigned n_qubits = circuit->n_qubits;
    qml_statevec *psi = NULL, *work = NULL;
    double *params = qml__malloc(qml__mul_size(n_weights + 2, sizeof(double)));
    double *tangents = NULL;
    if (!params) {
        status = qml__oom("qfi: parameters");
        goto done;
    }
    status = qml_model_params(model, params, n_weights + 2);
    if (status == QML_OK)
        status = qml_statevec_create(&psi, n_qubits);
    if (status == QML_OK)
        status = qml_statevec_create(&work, n_qubits);
    if (status)
        goto done;
    const size_t length = 2 * (size_t)psi->dim;
    tangents = qml__calloc(qml__mul_size(n_weights, length), sizeof(double));
    if (!tangents) {
        status = qml__oom("qfi: tangent vectors");
        goto done;
    }
    /* |d_k psi> = sum over gates g reading weight k of
     * s_g (-i/2) U_{>g} G_g |psi_g>, |psi_g> the state after gate g
     * (dU/dtheta = -i/2 G U). The common factor -i/2 is dropped: the QFI
     * F_kl = 4 Re[<d_k psi|d_l psi> - <d_k psi|psi><psi|d_l psi>] only
     * scales, and its rank is that of the real matrix of the projected
     * tangents t_k - <psi|t_k> psi (Re <a|b> is the real dot product of the
     * interleaved vectors). */
    qml_statevec_set_zero(psi);
    for (size_t g = 0; g < circuit->n_gates; g++) {
        const qml__gate *gate = &circuit->gates[g];
        double theta = qml__gate_is_parametrised(gate->kind) ? qml__gate_angle(gate, params, features) : 0.0;
        qml__statevec_apply(psi, gate, theta, false);
        if (!qml__gate_is_parametrised(gate->kind) || gate->weight < 0 || gate->weight_scale == 0.0)
            continue;
        qml__statevec_apply_generator(work, psi, gate);
        for (size_t h = g + 1; h < circuit->n_gates; h++) {
            const qml__gate *later = &circuit->gates[h];
            double phi = qml__gate_is_parametrised(later->kind) ? qml__gate_angle(later, params, features) : 0.0;
            qml__statevec_apply(work, later, phi, false);
        }
        double *t = tangents + (size_t)gate->weight * length;
        for (size_t i = 0; i < length; i++)
            t[i] += gate->weight_scale * work->amplitudes[i];
    }
    const double *a = psi->amplitudes;
    for (size_t k = 0; k < n_weights; k++) {
        double *t = tangents + k * length;
        double re = 0.0, im = 0.0; /* <psi|t> */
        for (size_t i = 0; i < length; i += 2) {
            re += a[i] * t[i] + a[i + 1] * t[i + 1];
            im += a[i] * t[i + 1] - a[i + 1] * t[i];
        }
        for (size_t i = 0; i < length; i += 2) {
            t[i] -= re * a[i] - im * a[i + 1];
            t[i + 1] -= re * a[i + 1] + im * a[i];
        }
    }
    status = numerical_rank(tangents, n_weights, length, tolerance, rank);
done:
    qml__free(tangents);
    qml_statevec_free(work);
    qml_statevec_free(psi);
    qml__free(params);
    if (status)
        return qml__error_context(status, __func__);
    qml__ok();
    return QML_OK;
}

/* ---- roughness -------------------------------------------------------------- */

int qml_model_roughness(const qml_model *model, const qml_dataset *dataset, size_t n_draws, uint64_t seed,
                        double *mean_square_slope, double *stderr_)
{
    QML_CHECK_NULL(model);
    QML_CHECK_NULL(dataset);
    QML_CHECK_NULL(mean_square_slope);
    QML_CHECK_ARG(n_draws >= 2, "%s: n_draws is %zu; at least 2 are needed for a standard error", __func__,
                  n_draws);
    size_t n_features = qml_model_n_features(model), stride = dataset->n_features;
    QML_CHECK_ARG(stride >= n_features, "%s: dataset of %zu features, the model reads %zu", __func__, stride,
                  n_features);
    const qml_circuit *circuit = qml_model_circuit(model);
    const size_t n_weights = qml_model_n_weights(model), n_rows = dataset->n_rows;
    double *weights = qml__malloc(qml__mul_size(n_weights, sizeof(double)));
    double *slopes = qml__malloc(qml__mul_size(n_features, sizeof(double)));
    int status = QML_OK;
    if (!weights || !slopes) {
        status = qml__oom("roughness buffers");
        goto done;
    }
    qml_gradient_options options = QML_GRADIENT_OPTIONS_INIT;
    options.feature_gradients = 1;
    /* Per draw, the mean over rows and features of (de/dx_j)^2; the result
     * is the mean of the draws' means and its standard error their sample
     * standard deviation / sqrt(draws) (rows share a draw's weights, so
     * draws, not rows, are the independent samples). Welford's update. */
    double mean = 0.0, m2 = 0.0;
    for (size_t d = 0; d < n_draws && status == QML_OK; d++) {
        struct qml_rng rng;
        qml__rng_init(&rng, seed, d);
        for (size_t k = 0; k < n_weights; k++)
            weights[k] = 2.0 * CAPACITY_PI * qml__rng_uniform(&rng);
        double total = 0.0;
        for (size_t i = 0; i < n_rows && status == QML_OK; i++) {
            status = qml_gradient(circuit, qml_model_readout(model), NULL, weights, n_weights,
                                  dataset->features + i * stride, n_features, &options, NULL, NULL, slopes);
            for (size_t j = 0; j < n_features && status == QML_OK; j++)
                total += slopes[j] * slopes[j];
        }
        double draw = total / ((double)n_rows * (double)n_features);
        double delta = draw - mean;
        mean += delta / (double)(d + 1);
        m2 += delta * (draw - mean);
    }
    if (status == QML_OK) {
        *mean_square_slope = mean;
        if (stderr_)
            *stderr_ = sqrt(m2 / (double)(n_draws - 1) / (double)n_draws);
    }
done:
    qml__free(slopes);
    qml__free(weights);
    if (status)
        return qml__error_context(status, __func__);
    qml__ok();
    return QML_OK;
}
