/*
 * train.c: the classifier (circuit + Pauli-sum readout + sigmoid head), its
 * templates, predictions, loss gradients and the minibatch training loop.
 */
#include "internal.h"

#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* PRNG stream of the weight initialisation ("init"); see qml_model_train(). */
#define QML__STREAM_INIT UINT64_C(0x696e6974)
/* PRNG streams of finite-shot training (ASCII tags): step t of a training
 * run draws its seed from stream "shots" + t of the training seed; row i of
 * a shot estimate draws its value shots from stream "value" + i and its
 * Gaussian noise from stream "noise" + i of the step's seed. */
#define QML__STREAM_SHOTS UINT64_C(0x73686f7473)
#define QML__STREAM_SHOT_VALUE UINT64_C(0x76616c7565)
#define QML__STREAM_SHOT_NOISE UINT64_C(0x6e6f697365)
/* Worker threads of a shot estimate (each keeps two statevectors). */
#define SHOT_MAX_WORKERS 64u
#define SHOT_MESSAGE_LENGTH 256
#define TRAIN_PI 3.14159265358979323846

struct qml_model {
    qml_circuit *circuit;       /* owned copy */
    qml_pauli_sum *readout;     /* owned copy */
    qml_loss loss;
    size_t n_weights;
    size_t n_features;
    double *params;             /* n_weights weights, then a, then b */
    qml__algsim *algsim;        /* during qml_model_train only: the algebraic backend chosen, or NULL */
};

/* ---- the head and the losses --------------------------------------------- */

static double sigmoid(double z)
{
    /* Both branches evaluate exp of a non-positive number: no overflow. */
    if (z >= 0.0)
        return 1.0 / (1.0 + exp(-z));
    double ez = exp(z);
    return ez / (1.0 + ez);
}

/* ln(1 + e^z) without overflow or cancellation. */
static double softplus(double z)
{
    return (z > 0.0 ? z : 0.0) + log1p(exp(-fabs(z)));
}

/* The loss of one row with logit z = a e + b and label y, and dL/dz.
 * BCE: L = -[y ln p + (1-y) ln(1-p)] = softplus(z) - y z, dL/dz = p - y
 * (ln p = -softplus(-z), ln(1-p) = -softplus(z)).
 * MSE: L = (p - y)^2, dL/dz = 2 (p - y) p (1 - p) since dp/dz = p (1 - p). */
static double row_loss(qml_loss loss, double z, int label, double *dl_dz)
{
    double y = label ? 1.0 : 0.0;
    double p = sigmoid(z);
    if (loss == QML_LOSS_BCE) {
        if (dl_dz)
            *dl_dz = p - y;
        return softplus(z) - y * z;
    }
    if (dl_dz)
        *dl_dz = 2.0 * (p - y) * p * (1.0 - p);
    return (p - y) * (p - y);
}

/* ---- creation -------------------------------------------------------------- */

const char *qml_model_kind_name(qml_model_kind kind)
{
    switch (kind) {
    case QML_MODEL_UNSTRUCTURED:
        return "unstructured";
    case QML_MODEL_PERMUTATION:
        return "permutation";
    case QML_MODEL_FREE_FERMION:
        return "free-fermion";
    case QML_MODEL_PERMUTATION_LOCAL:
        return "permutation-local";
    case QML_MODEL_PERMUTATION_BOUNDED:
        return "permutation-bounded";
    }
    return NULL;
}

int qml_model_create(qml_model **out, const qml_circuit *circuit, const qml_pauli_sum *readout, qml_loss loss,
                     double scale, double bias)
{
    QML_CHECK_NULL(out);
    QML_CHECK_NULL(circuit);
    QML_CHECK_NULL(readout);
    QML_CHECK_ARG(loss == QML_LOSS_BCE || loss == QML_LOSS_MSE, "%s: unknown loss %d", __func__, (int)loss);
    QML_CHECK_ARG(isfinite(scale) && isfinite(bias), "%s: head scale %g and bias %g must be finite", __func__,
                  scale, bias);
    size_t n_weights = qml_circuit_n_weights(circuit);
    size_t n_features = qml_circuit_n_features(circuit);
    QML_CHECK_ARG(n_weights >= 1, "%s: the circuit has no trainable weight", __func__);
    QML_CHECK_ARG(n_features >= 1, "%s: the circuit reads no input feature", __func__);
    QML_CHECK_ARG(qml_pauli_sum_n_qubits(readout) == qml_circuit_n_qubits(circuit),
                  "%s: readout on %u qubits, circuit on %u", __func__, qml_pauli_sum_n_qubits(readout),
                  qml_circuit_n_qubits(circuit));

    qml_model *model = qml__calloc(1, sizeof *model);
    if (!model)
        return qml__oom("model");
    model->loss = loss;
    model->n_weights = n_weights;
    model->n_features = n_features;
    int status = qml_circuit_copy(&model->circuit, circuit);
    if (status == QML_OK)
        status = qml_pauli_sum_copy(&model->readout, readout);
    if (status == QML_OK) {
        model->params = qml__calloc(n_weights + 2, sizeof(double));
        if (!model->params)
            status = qml__oom("model parameters");
    }
    if (status != QML_OK) {
        qml_model_free(model);
        return status;
    }
    model->params[n_weights] = scale;
    model->params[n_weights + 1] = bias;
    *out = model;
    qml__ok();
    return QML_OK;
}

int qml_model_create_template(qml_model **out, qml_model_kind kind, unsigned n_qubits, unsigned layers,
                              unsigned n_features, qml_loss loss)
{
    QML_CHECK_NULL(out);
    QML_CHECK_ARG(qml_model_kind_name(kind) != NULL, "%s: unknown model kind %d", __func__, (int)kind);
    QML_CHECK_ARG(n_qubits >= 2 && n_qubits <= 1024, "%s: n_qubits %u outside 2..1024", __func__, n_qubits);
    QML_CHECK_ARG(layers >= 1, "%s: layers must be >= 1", __func__);
    QML_CHECK_ARG(n_features >= 1, "%s: n_features must be >= 1", __func__);
    const bool collective = kind == QML_MODEL_PERMUTATION || kind == QML_MODEL_PERMUTATION_BOUNDED;
    const bool symmetric = collective || kind == QML_MODEL_PERMUTATION_LOCAL;
    QML_CHECK_ARG(collective || n_features <= n_qubits,
                  "%s: %u features do not fit on %u qubits (one feature per qubit at least)", __func__,
                  n_features, n_qubits);
    QML_CHECK_ARG(kind != QML_MODEL_PERMUTATION_LOCAL || n_features == n_qubits,
                  "%s: the permutation-local model encodes one feature per qubit: n_features %u must equal "
                  "n_qubits %u", __func__, n_features, n_qubits);
    QML_CHECK_ARG(loss == QML_LOSS_BCE || loss == QML_LOSS_MSE, "%s: unknown loss %d", __func__, (int)loss);
    /* Weight and feature indices stop at 2^24 - 1 (qml_circuit_add_rotation):
     * refuse up front rather than build millions of gates and fail. */
    const uint64_t index_limit = UINT64_C(1) << 24;
    uint64_t per_layer = kind == QML_MODEL_UNSTRUCTURED ? 2 * (uint64_t)n_qubits
                         : symmetric                     ? 3
                                                         : 2 * (uint64_t)n_qubits - 1;
    QML_CHECK_ARG((uint64_t)layers * per_layer <= index_limit,
                  "%s: %u layers need %llu weights, more than the circuit index limit %llu", __func__, layers,
                  (unsigned long long)((uint64_t)layers * per_layer), (unsigned long long)index_limit);
    QML_CHECK_ARG(n_features <= index_limit, "%s: n_features %u exceeds the circuit index limit %llu", __func__,
                  n_features, (unsigned long long)index_limit);

    qml_circuit *circuit = NULL;
    qml_pauli_sum *readout = NULL;
    qml_pauli_sum *zz = NULL;
    int status = qml_circuit_create(&circuit, n_qubits);
    if (status == QML_OK)
        status = qml_pauli_sum_create(&readout, n_qubits);
    if (status == QML_OK && symmetric) {
        /* sum_{q<r} Z_q Z_r: the one trainable two-body generator. */
        status = qml_pauli_sum_create(&zz, n_qubits);
        for (unsigned q = 0; status == QML_OK && q < n_qubits; q++)
            for (unsigned r = q + 1; status == QML_OK && r < n_qubits; r++) {
                unsigned pair[2] = {q, r};
                status = qml_pauli_sum_add_term(zz, 1.0, "ZZ", pair, 2);
            }
    }
    for (unsigned layer = 0; status == QML_OK && layer < layers; layer++) {
        long base = (long)qml_circuit_n_weights(circuit);
        switch (kind) {
        case QML_MODEL_UNSTRUCTURED:
            status = qml_ansatz_angle_encoding(circuit, QML_GATE_RY, n_features, 1.0);
            if (status == QML_OK)
                status = qml_ansatz_hardware_efficient(circuit, 1, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN);
            break;
        case QML_MODEL_PERMUTATION:
        case QML_MODEL_PERMUTATION_BOUNDED:
        case QML_MODEL_PERMUTATION_LOCAL: {
            /* Features drive global rotations, so the encoding keeps the
             * symmetry: exp(-i s x_j/2 sum_q P_j) = prod_q exp(-i s x_j/2 P_q).
             * The spectrum of sum_q P_q is {-n, -n+2, ..., n}, so one layer
             * puts frequencies s k, k = 0..n, on x_j: s = 1 reaches n, the
             * bounded model's s = 2/n stays at 2 for every n (and is the
             * plain model at n = 2). */
            double s = kind == QML_MODEL_PERMUTATION_BOUNDED ? 2.0 / n_qubits : 1.0;
            if (kind == QML_MODEL_PERMUTATION_LOCAL) {
                /* One feature per qubit, RY(x_q) on qubit q: permuting the
                 * features permutes the qubits of the encoding, which the
                 * weight layer and the readout do not see. */
                for (unsigned q = 0; status == QML_OK && q < n_qubits; q++)
                    status = qml_circuit_add_rotation(circuit, QML_GATE_RY, &q, 1, 0.0, QML_NONE, 0.0, (long)q, 1.0);
            } else {
                for (unsigned j = 0; status == QML_OK && j < n_features; j++)
                    for (unsigned q = 0; status == QML_OK && q < n_qubits; q++)
                        status = qml_circuit_add_rotation(circuit, j % 2 ? QML_GATE_RZ : QML_GATE_RX, &q, 1, 0.0,
                                                          QML_NONE, 0.0, (long)j, s);
            }
            /* Scaled by 2/n: the spectrum of sum_{q<r} Z_q Z_r spans ~n^2/2,
             * that of the one-body sums 2n; with the scale every generator's
             * spectrum grows like n, so one learning rate suits all weights. */
            if (status == QML_OK)
                status = qml_circuit_add_pauli_rotation(circuit, zz, 0.0, base, 2.0 / n_qubits, QML_NONE, 0.0);
            for (unsigned q = 0; status == QML_OK && q < n_qubits; q++)
                status = qml_circuit_add_rotation(circuit, QML_GATE_RX, &q, 1, 0.0, base + 1, 1.0, QML_NONE, 0.0);
            for (unsigned q = 0; status == QML_OK && q < n_qubits; q++)
                status = qml_circuit_add_rotation(circuit, QML_GATE_RY, &q, 1, 0.0, base + 2, 1.0, QML_NONE, 0.0);
            break;
        }
        case QML_MODEL_FREE_FERMION: {
            long w = base;
            status = qml_ansatz_angle_encoding(circuit, QML_GATE_RX, n_features, 1.0);
            for (unsigned q = 0; status == QML_OK && q + 1 < n_qubits; q++) {
                unsigned pair[2] = {q, q + 1};
                status = qml_circuit_add_rotation(circuit, QML_GATE_RZZ, pair, 2, 0.0, w++, 1.0, QML_NONE, 0.0);
            }
            for (unsigned q = 0; status == QML_OK && q < n_qubits; q++)
                status = qml_circuit_add_rotation(circuit, QML_GATE_RX, &q, 1, 0.0, w++, 1.0, QML_NONE, 0.0);
            break;
        }
        }
    }
    if (status == QML_OK) {
        unsigned pair[2] = {0, 1};
        switch (kind) {
        case QML_MODEL_UNSTRUCTURED:
            status = qml_pauli_sum_add_term(readout, 1.0, "Z", pair, 1);
            break;
        case QML_MODEL_PERMUTATION:
        case QML_MODEL_PERMUTATION_BOUNDED:
        case QML_MODEL_PERMUTATION_LOCAL:
            for (unsigned q = 0; status == QML_OK && q < n_qubits; q++)
                status = qml_pauli_sum_add_term(readout, 1.0 / n_qubits, "Z", &q, 1);
            break;
        case QML_MODEL_FREE_FERMION:
            status = qml_pauli_sum_add_term(readout, 1.0, "ZZ", pair, 2);
            break;
        }
    }
    qml_model *model = NULL;
    if (status == QML_OK)
        status = qml_model_create(&model, circuit, readout, loss, 1.0, 0.0);
    qml_pauli_sum_free(zz);
    qml_pauli_sum_free(readout);
    qml_circuit_free(circuit);
    if (status != QML_OK)
        return status;
    *out = model;
    qml__ok();
    return QML_OK;
}

void qml_model_free(qml_model *model)
{
    if (!model)
        return;
    qml_circuit_free(model->circuit);
    qml_pauli_sum_free(model->readout);
    qml__free(model->params);
    qml__free(model);
}

/* ---- getters and setters --------------------------------------------------- */

const qml_circuit *qml_model_circuit(const qml_model *model)
{
    return model ? model->circuit : NULL;
}

const qml_pauli_sum *qml_model_readout(const qml_model *model)
{
    return model ? model->readout : NULL;
}

qml_loss qml_model_loss_kind(const qml_model *model)
{
    return model ? model->loss : QML_LOSS_BCE;
}

size_t qml_model_n_weights(const qml_model *model)
{
    return model ? model->n_weights : 0;
}

size_t qml_model_n_features(const qml_model *model)
{
    return model ? model->n_features : 0;
}

size_t qml_model_n_params(const qml_model *model)
{
    return model ? model->n_weights + 2 : 0;
}

int qml_model_params(const qml_model *model, double *params, size_t count)
{
    QML_CHECK_NULL(model);
    QML_CHECK_NULL(params);
    size_t n = model->n_weights + 2;
    if (count < n)
        return qml__error(QML_ERR_OUT_OF_RANGE, "%s: capacity %zu < %zu parameters", __func__, count, n);
    memcpy(params, model->params, n * sizeof(double));
    qml__ok();
    return QML_OK;
}

int qml_model_set_params(qml_model *model, const double *params, size_t count)
{
    QML_CHECK_NULL(model);
    QML_CHECK_NULL(params);
    size_t n = model->n_weights + 2;
    QML_CHECK_ARG(count == n, "%s: %zu values given for %zu parameters", __func__, count, n);
    for (size_t i = 0; i < n; i++)
        QML_CHECK_ARG(isfinite(params[i]), "%s: parameter %zu is %g", __func__, i, params[i]);
    memcpy(model->params, params, n * sizeof(double));
    qml__ok();
    return QML_OK;
}

/* ---- predictions and losses ---------------------------------------------- */

/* The readout values e(w, x) of n_rows rows (values only: no gradients). */
static int readout_values(const qml_model *model, const double *rows, size_t n_rows, size_t n_features,
                          unsigned n_threads, double *values)
{
    if (model->algsim)
        return qml__algsim_batch(model->algsim, model->params, model->n_weights, rows, n_rows, n_features, n_threads,
                                 QML_BATCH_PER_ROW, values, NULL);
    qml_gradient_options options = QML_GRADIENT_OPTIONS_INIT;
    options.n_threads = n_threads;
    return qml_gradient_batch(model->circuit, model->readout, NULL, model->params, model->n_weights, rows, n_rows,
                              n_features, &options, QML_BATCH_PER_ROW, values, NULL);
}

static int check_rows(const qml_model *model, const double *rows, size_t n_rows, size_t n_features,
                      const char *caller)
{
    QML_CHECK_ARG(rows != NULL, "%s: argument 'rows' is NULL", caller);
    QML_CHECK_ARG(n_rows >= 1, "%s: no rows", caller);
    QML_CHECK_ARG(n_features >= model->n_features, "%s: rows of %zu features, the model reads %zu", caller,
                  n_features, model->n_features);
    for (size_t i = 0; i < n_rows * n_features; i++)
        QML_CHECK_ARG(isfinite(rows[i]), "%s: feature %zu of row %zu is %g", caller, i % n_features,
                      i / n_features, rows[i]);
    return QML_OK;
}

int qml_model_predict(const qml_model *model, const double *rows, size_t n_rows, size_t n_features,
                      unsigned n_threads, double *probabilities, double *expectations)
{
    QML_CHECK_NULL(model);
    QML_CHECK_NULL(probabilities);
    int status = check_rows(model, rows, n_rows, n_features, __func__);
    if (status != QML_OK)
        return status;
    double *values = expectations;
    if (!values) {
        values = qml__malloc(qml__mul_size(n_rows, sizeof(double)));
        if (!values)
            return qml__oom("readout values");
    }
    status = readout_values(model, rows, n_rows, n_features, n_threads, values);
    if (status == QML_OK) {
        double a = model->params[model->n_weights], b = model->params[model->n_weights + 1];
        for (size_t r = 0; r < n_rows; r++)
            probabilities[r] = sigmoid(a * values[r] + b);
    }
    if (values != expectations)
        qml__free(values);
    if (status == QML_OK)
        qml__ok();
    return status;
}

int qml_model_evaluate(const qml_model *model, const qml_dataset *dataset, unsigned n_threads, double *loss,
                       double *accuracy)
{
    QML_CHECK_NULL(model);
    QML_CHECK_NULL(dataset);
    size_t n = dataset->n_rows;
    int status = check_rows(model, dataset->features, n, dataset->n_features, __func__);
    if (status != QML_OK)
        return status;
    double *values = qml__malloc(qml__mul_size(n, sizeof(double)));
    if (!values)
        return qml__oom("readout values");
    status = readout_values(model, dataset->features, n, dataset->n_features, n_threads, values);
    if (status == QML_OK) {
        double a = model->params[model->n_weights], b = model->params[model->n_weights + 1];
        double total = 0.0;
        size_t correct = 0;
        for (size_t r = 0; r < n; r++) {
            double z = a * values[r] + b;
            total += row_loss(model->loss, z, dataset->labels[r], NULL);
            correct += (sigmoid(z) >= 0.5) == (dataset->labels[r] != 0);
        }
        if (loss)
            *loss = total / (double)n;
        if (accuracy)
            *accuracy = (double)correct / (double)n;
        qml__ok();
    }
    qml__free(values);
    return status;
}

/* What a finite-shot step estimates from (training with shots > 0). */
typedef struct shot_spec {
    uint64_t shots;
    qml_shot_mode mode;
    uint64_t seed;
} shot_spec;

static int loss_gradient(const qml_model *model, const qml_dataset *dataset, const size_t *indices, size_t count,
                         unsigned n_threads, const shot_spec *shots, double *loss, double *accuracy,
                         double *gradient);

int qml_model_loss_gradient(const qml_model *model, const qml_dataset *dataset, const size_t *indices,
                            size_t count, unsigned n_threads, double *loss, double *gradient, size_t capacity)
{
    QML_CHECK_NULL(model);
    QML_CHECK_NULL(dataset);
    size_t n_params = model->n_weights + 2;
    QML_CHECK_ARG(gradient != NULL || capacity == 0, "%s: NULL gradient with capacity %zu", __func__, capacity);
    if (gradient && capacity < n_params)
        return qml__error(QML_ERR_OUT_OF_RANGE, "%s: capacity %zu < %zu parameters", __func__, capacity,
                          n_params);
    if (!indices)
        count = dataset->n_rows;
    QML_CHECK_ARG(count >= 1, "%s: no rows", __func__);
    size_t n_features = dataset->n_features;
    QML_CHECK_ARG(n_features >= model->n_features, "%s: dataset of %zu features, the model reads %zu", __func__,
                  n_features, model->n_features);
    for (size_t i = 0; indices && i < count; i++)
        if (indices[i] >= dataset->n_rows)
            return qml__error(QML_ERR_OUT_OF_RANGE, "%s: index %zu is row %zu of a %zu-row dataset", __func__, i,
                              indices[i], dataset->n_rows);

    int status = loss_gradient(model, dataset, indices, count, n_threads, NULL, loss, NULL, gradient);
    if (status == QML_OK)
        qml__ok();
    return status;
}

/* The mean loss over rows `indices` (NULL: all `count` rows) and its
 * gradient, from exact readout values and gradients (shots NULL) or from a
 * finite-shot estimate of both (the head's part in closed form from the
 * estimated values). */
static int loss_gradient(const qml_model *model, const qml_dataset *dataset, const size_t *indices, size_t count,
                         unsigned n_threads, const shot_spec *shots, double *loss, double *accuracy,
                         double *gradient)
{
    size_t n_params = model->n_weights + 2;
    size_t n_features = dataset->n_features;
    size_t n_weights = model->n_weights;
    double *rows = NULL;
    const double *batch = dataset->features;
    if (indices) {
        rows = qml__malloc(qml__mul_size(qml__mul_size(count, n_features), sizeof(double)));
        if (!rows)
            return qml__oom("minibatch rows");
        for (size_t i = 0; i < count; i++)
            memcpy(rows + i * n_features, dataset->features + indices[i] * n_features, n_features * sizeof(double));
        batch = rows;
    }
    double *values = qml__malloc(qml__mul_size(count, sizeof(double)));
    double *row_grads = gradient ? qml__malloc(qml__mul_size(qml__mul_size(count, n_weights), sizeof(double)))
                                 : NULL;
    int status = QML_OK;
    if (!values || (gradient && !row_grads))
        status = qml__oom("per-row gradients");
    if (status == QML_OK && shots) {
        status = qml__model_shot_estimate(model, batch, count, n_features, shots->shots, shots->mode, shots->seed,
                                          n_threads, values, row_grads);
    } else if (status == QML_OK) {
        qml_gradient_options options = QML_GRADIENT_OPTIONS_INIT;
        options.n_threads = n_threads;
        status = model->algsim ? qml__algsim_batch(model->algsim, model->params, n_weights, batch, count, n_features,
                                                   n_threads, QML_BATCH_PER_ROW, values, row_grads)
                               : qml_gradient_batch(model->circuit, model->readout, NULL, model->params, n_weights,
                                                    batch, count, n_features, &options, QML_BATCH_PER_ROW, values,
                                                    row_grads);
    }
    if (status == QML_OK) {
        /* Chain rule through the head, z = a e + b:
         * dL/dw = dL/dz a de/dw, dL/da = dL/dz e, dL/db = dL/dz.
         * Summed in row order, so the result does not depend on threads. */
        double a = model->params[n_weights], b = model->params[n_weights + 1];
        double total = 0.0;
        size_t correct = 0;
        if (gradient)
            memset(gradient, 0, n_params * sizeof(double));
        for (size_t i = 0; i < count; i++) {
            int label = dataset->labels[indices ? indices[i] : i];
            double dl_dz, z = a * values[i] + b;
            total += row_loss(model->loss, z, label, &dl_dz);
            correct += (sigmoid(z) >= 0.5) == (label != 0);
            if (!gradient)
                continue;
            double dl_de = dl_dz * a;
            const double *g = row_grads + i * n_weights;
            for (size_t k = 0; k < n_weights; k++)
                gradient[k] += dl_de * g[k];
            gradient[n_weights] += dl_dz * values[i];
            gradient[n_weights + 1] += dl_dz;
        }
        double inv = 1.0 / (double)count;
        if (gradient)
            for (size_t k = 0; k < n_params; k++)
                gradient[k] *= inv;
        /* Divided as qml_model_evaluate() divides: the same bits. */
        if (loss)
            *loss = total / (double)count;
        if (accuracy)
            *accuracy = (double)correct / (double)count;
    }
    qml__free(row_grads);
    qml__free(values);
    qml__free(rows);
    return status;
}

/* ---- finite-shot estimates ------------------------------------------------- */

/* W_k = sum over the gates reading weight k of weight_scale^2 sum_j c_j^2,
 * over the Pauli factors c_j P_j of the gate's generator without its
 * identity part (the factors the parameter-shift rule of gradient.c shifts
 * one at a time). The shift estimate of dl/dw_k is
 * sum_gates s sum_j c_j (l_j+ - l_j-)/2 with independent shot estimates
 * l_j+-, so its variance is sum_gates s^2 sum_j c_j^2 (V_j+ + V_j-)/(4 S). */
static void weight_shift_weights(const qml_circuit *circuit, double *w2)
{
    memset(w2, 0, circuit->n_weights * sizeof *w2);
    for (size_t g = 0; g < circuit->n_gates; g++) {
        const qml__gate *gate = &circuit->gates[g];
        if (!qml__gate_is_parametrised(gate->kind) || gate->weight < 0)
            continue;
        double c2 = 1.0;
        switch (gate->kind) {
        case QML_GATE_CRX:
        case QML_GATE_CRY:
        case QML_GATE_CRZ:
            c2 = 0.5; /* (I - Z_c) P_t / 2: factors P_t/2 and -Z_c P_t/2 */
            break;
        case QML_GATE_PAULI_ROTATION:
        case QML_GATE_PAULI_EVOLUTION: {
            const qml_pauli_sum *h = gate->generator;
            c2 = 0.0;
            for (size_t t = 0; t < h->n_terms; t++)
                if ((h->x[t * h->words] | h->z[t * h->words]) != 0)
                    c2 += h->coeff[t] * h->coeff[t];
            break;
        }
        default:
            break; /* one Pauli factor with coefficient 1 (PHASE: Z, its -I is a phase) */
        }
        w2[gate->weight] += gate->weight_scale * gate->weight_scale * c2;
    }
}

/* The readout split into the qubit-wise commuting groups that
 * qml_statevec_estimate() measures (same greedy rule, same order), so that
 * the single-shot variance v = sum_g (<O_g^2> - <O_g>^2) is the variance of
 * that estimator's shots. */
typedef struct shot_groups {
    size_t count;
    qml_pauli_sum **sums;
    double single_coeff;         /* count == 1 and one term: its coefficient */
    double constant;             /* the identity part */
    int single_term;
} shot_groups;

static void shot_groups_release(shot_groups *groups)
{
    for (size_t g = 0; g < groups->count; g++)
        qml_pauli_sum_free(groups->sums[g]);
    qml__free(groups->sums);
    memset(groups, 0, sizeof *groups);
}

static int shot_groups_build(shot_groups *groups, const qml_pauli_sum *readout)
{
    memset(groups, 0, sizeof *groups);
    const size_t n = readout->n_terms;
    const unsigned words = readout->words;
    if (n == 0)
        return QML_OK;
    uint64_t *basis = qml__malloc(qml__mul_size(n, 2 * sizeof(uint64_t)));
    size_t *group_of = qml__malloc(qml__mul_size(n, sizeof(size_t)));
    size_t *members = qml__calloc(n, sizeof(size_t));
    int status = QML_OK;
    if (!basis || !group_of || !members) {
        status = qml__oom("readout groups");
        goto done;
    }
    for (size_t t = 0; t < n; t++) {
        uint64_t x = readout->x[t * words], z = readout->z[t * words];
        group_of[t] = SIZE_MAX;
        if ((x | z) == 0) {
            groups->constant += readout->coeff[t];
            continue;
        }
        for (size_t g = 0; g < groups->count; g++) {
            uint64_t common = (x | z) & (basis[2 * g] | basis[2 * g + 1]);
            if (((x ^ basis[2 * g]) & common) == 0 && ((z ^ basis[2 * g + 1]) & common) == 0) {
                group_of[t] = g;
                basis[2 * g] |= x;
                basis[2 * g + 1] |= z;
                break;
            }
        }
        if (group_of[t] == SIZE_MAX) {
            basis[2 * groups->count] = x;
            basis[2 * groups->count + 1] = z;
            group_of[t] = groups->count++;
        }
        members[group_of[t]]++;
    }
    if (groups->count == 0)
        goto done;
    groups->sums = qml__calloc(groups->count, sizeof *groups->sums);
    if (!groups->sums) {
        groups->count = 0;
        status = qml__oom("readout groups");
        goto done;
    }
    for (size_t g = 0; g < groups->count && status == QML_OK; g++)
        status = qml_pauli_sum_create(&groups->sums[g], readout->n_qubits);
    for (size_t t = 0; t < n && status == QML_OK; t++)
        if (group_of[t] != SIZE_MAX)
            status = qml__pauli_sum_add_masks(groups->sums[group_of[t]], readout->coeff[t], readout->x + t * words,
                                              readout->z + t * words);
    if (status == QML_OK && groups->count == 1 && members[0] == 1) {
        groups->single_term = 1;
        groups->single_coeff = groups->sums[0]->coeff[0];
    }
done:
    if (status != QML_OK)
        shot_groups_release(groups);
    qml__free(members);
    qml__free(group_of);
    qml__free(basis);
    return status;
}

typedef struct shot_context {
    const qml_model *model;
    const shot_groups *groups;
    const double *rows;
    size_t n_features;
    uint64_t shots;
    qml_shot_mode mode;
    uint64_t seed;
    qml_statevec **states;           /* two per worker */
    double *values;                  /* per row: in, the exact value; out, SAMPLED's estimate */
    double *variances;               /* per row: the single-shot variance (GAUSSIAN) */
    int status[SHOT_MAX_WORKERS];
    char message[SHOT_MAX_WORKERS][SHOT_MESSAGE_LENGTH];
} shot_context;

/* Row i: prepare its state once; SAMPLED estimates the value from `shots`
 * samples of it, GAUSSIAN takes the single-shot variance
 * v = sum_g (|O_g psi|^2 - <psi|O_g|psi>^2) (O_g Hermitian). */
static int shot_row(shot_context *ctx, size_t i, unsigned worker)
{
    const qml_model *model = ctx->model;
    qml_statevec *psi = ctx->states[2 * worker], *image = ctx->states[2 * worker + 1];
    const double *features = ctx->rows + i * ctx->n_features;
    int status = qml_statevec_set_zero(psi);
    if (status == QML_OK)
        status = qml_statevec_run(psi, model->circuit, model->params, model->n_weights, features, ctx->n_features);
    if (status)
        return status;
    if (ctx->mode == QML_SHOTS_SAMPLED) {
        struct qml_rng rng;
        qml__rng_init(&rng, ctx->seed, QML__STREAM_SHOT_VALUE + i);
        return qml_statevec_estimate(psi, model->readout, (size_t)ctx->shots, qml__rng_next(&rng), &ctx->values[i],
                                     NULL);
    }
    double v = 0.0;
    for (size_t g = 0; g < ctx->groups->count; g++) {
        double mean, im, square;
        qml__statevec_apply_pauli_sum(image, psi, ctx->groups->sums[g]);
        qml__statevec_inner(psi, image, &mean, &im);
        qml__statevec_inner(image, image, &square, &im);
        v += square - mean * mean;
    }
    ctx->variances[i] = v > 0.0 ? v : 0.0;
    return QML_OK;
}

static void shot_worker(void *context, size_t begin, size_t end, unsigned worker)
{
    shot_context *ctx = context;
    for (size_t i = begin; i < end; i++) {
        int status = shot_row(ctx, i, worker);
        if (status) {
            ctx->status[worker] = status;
            /* The message is thread-local: carry it back to the calling thread. */
            snprintf(ctx->message[worker], SHOT_MESSAGE_LENGTH, "row %zu: %s", i, qml_last_error());
            return;
        }
    }
}

int qml__model_shot_estimate(const qml_model *model, const double *rows, size_t count, size_t n_features,
                             uint64_t shots, qml_shot_mode mode, uint64_t seed, unsigned n_threads, double *values,
                             double *gradients)
{
    const size_t n_weights = model->n_weights;
    qml_gradient_options options = QML_GRADIENT_OPTIONS_INIT;
    options.n_threads = n_threads;
    if (mode == QML_SHOTS_SAMPLED) {
        options.method = QML_GRADIENT_PARAMETER_SHIFT;
        options.shots = shots;
        options.seed = seed;
    }
    int status = qml_gradient_batch(model->circuit, model->readout, NULL, model->params, n_weights, rows, count,
                                    n_features, &options, QML_BATCH_PER_ROW, values, gradients);
    if (status)
        return status;

    shot_groups groups = {0};
    double *w2 = NULL, *variances = NULL;
    qml_statevec **states = NULL;
    shot_context *ctx = NULL;
    unsigned n_workers = qml__resolve_threads(n_threads);
    if (n_workers > SHOT_MAX_WORKERS)
        n_workers = SHOT_MAX_WORKERS;
    if ((size_t)n_workers > count)
        n_workers = (unsigned)count;
    if (mode == QML_SHOTS_GAUSSIAN) {
        status = shot_groups_build(&groups, model->readout);
        if (status)
            goto done;
        w2 = qml__malloc(qml__mul_size(n_weights, sizeof *w2));
        variances = qml__malloc(qml__mul_size(count, sizeof *variances));
        if (!w2 || !variances) {
            status = qml__oom("shot variances");
            goto done;
        }
        weight_shift_weights(model->circuit, w2);
    }
    /* A one-term readout c P has v = c^2 (1 - <P>^2) = c^2 - (e - constant)^2
     * from the exact value alone: no state needed. */
    int need_states = mode == QML_SHOTS_SAMPLED || !groups.single_term;
    if (mode == QML_SHOTS_GAUSSIAN && !need_states)
        for (size_t i = 0; i < count; i++) {
            double centred = values[i] - groups.constant;
            double v = groups.single_coeff * groups.single_coeff - centred * centred;
            variances[i] = v > 0.0 ? v : 0.0;
        }
    if (mode == QML_SHOTS_GAUSSIAN && groups.count == 0)
        for (size_t i = 0; i < count; i++)
            variances[i] = 0.0;
    if (need_states && groups.count + (mode == QML_SHOTS_SAMPLED) > 0) {
        ctx = qml__calloc(1, sizeof *ctx);
        states = qml__calloc(2 * (size_t)n_workers, sizeof *states);
        if (!ctx || !states) {
            status = qml__oom("shot workspaces");
            goto done;
        }
        for (size_t w = 0; w < 2 * (size_t)n_workers && status == QML_OK; w++)
            status = qml_statevec_create(&states[w], model->circuit->n_qubits);
        if (status)
            goto done;
        ctx->model = model;
        ctx->groups = &groups;
        ctx->rows = rows;
        ctx->n_features = n_features;
        ctx->shots = shots;
        ctx->mode = mode;
        ctx->seed = seed;
        ctx->states = states;
        ctx->values = values;
        ctx->variances = variances;
        qml__parallel_for(n_workers, count, 1, shot_worker, ctx);
        for (unsigned w = 0; w < n_workers; w++)
            if (ctx->status[w]) {
                status = qml__error(ctx->status[w], "%s", ctx->message[w]);
                goto done;
            }
    }
    if (mode == QML_SHOTS_GAUSSIAN) {
        /* Row i's noise from its own stream, in component order: the same
         * bits for any thread count. */
        const double s = (double)shots;
        for (size_t i = 0; i < count; i++) {
            struct qml_rng rng;
            qml__rng_init(&rng, seed, QML__STREAM_SHOT_NOISE + i);
            values[i] += sqrt(variances[i] / s) * qml__rng_normal(&rng);
            double *g = gradients + i * n_weights;
            for (size_t k = 0; k < n_weights; k++)
                g[k] += sqrt(variances[i] * w2[k] / (2.0 * s)) * qml__rng_normal(&rng);
        }
    }
done:
    if (states)
        for (size_t w = 0; w < 2 * (size_t)n_workers; w++)
            qml_statevec_free(states[w]);
    qml__free(states);
    qml__free(ctx);
    qml__free(variances);
    qml__free(w2);
    shot_groups_release(&groups);
    return status;
}

/* ---- training --------------------------------------------------------------- */

static const qml_train_options default_train_options = QML_TRAIN_OPTIONS_INIT;

int qml_model_train(qml_model *model, const qml_dataset *train, const qml_dataset *test,
                    const qml_train_options *options, qml_train_epoch *history, size_t capacity)
{
    QML_CHECK_NULL(model);
    QML_CHECK_NULL(train);
    QML_CHECK_ARG(history != NULL || capacity == 0, "%s: NULL history with capacity %zu", __func__, capacity);
    /* The history's stride is the caller's record size; version 0.1 records
     * end with test_loss, so anything shorter cannot hold them. */
    size_t stride = capacity ? history->size : 0;
    QML_CHECK_ARG(capacity == 0 || stride >= offsetof(qml_train_epoch, test_loss) + sizeof(double),
                  "%s: history[0].size is %zu; set it to sizeof(qml_train_epoch) = %zu", __func__, stride,
                  sizeof(qml_train_epoch));
    size_t record_size = stride < sizeof(qml_train_epoch) ? stride : sizeof(qml_train_epoch);
    qml_train_options opt;
    int status = qml__options_copy(&opt, sizeof opt, options, &default_train_options, __func__);
    if (status != QML_OK)
        return status;
    QML_CHECK_ARG(opt.epochs >= 1, "%s: epochs must be >= 1", __func__);
    status = qml__backend_check(opt.backend, __func__);
    if (status != QML_OK)
        return status;
    QML_CHECK_ARG(opt.batch_size >= 1, "%s: batch_size must be >= 1", __func__);
    QML_CHECK_ARG(opt.init == QML_INIT_UNIFORM || opt.init == QML_INIT_NORMAL || opt.init == QML_INIT_KEEP,
                  "%s: unknown init mode %d", __func__, (int)opt.init);
    QML_CHECK_ARG(isfinite(opt.init_scale) && opt.init_scale > 0.0, "%s: init_scale %g must be finite and > 0",
                  __func__, opt.init_scale);
    QML_CHECK_ARG(train->n_features >= model->n_features, "%s: training set of %zu features, the model reads %zu",
                  __func__, train->n_features, model->n_features);
    QML_CHECK_ARG(!test || test->n_features >= model->n_features,
                  "%s: test set of %zu features, the model reads %zu", __func__, test ? test->n_features : 0,
                  model->n_features);
    QML_CHECK_ARG(opt.shots == 0 || opt.shot_mode == QML_SHOTS_SAMPLED || opt.shot_mode == QML_SHOTS_GAUSSIAN,
                  "%s: options.shot_mode %d is neither QML_SHOTS_SAMPLED nor QML_SHOTS_GAUSSIAN", __func__,
                  (int)opt.shot_mode);
    QML_CHECK_ARG(opt.shots != 1 || opt.shot_mode != QML_SHOTS_SAMPLED,
                  "%s: options.shots is 1, but QML_SHOTS_SAMPLED needs at least 2 shots per estimate", __func__);
    QML_CHECK_ARG(opt.shots <= SIZE_MAX, "%s: options.shots %llu exceeds SIZE_MAX", __func__,
                  (unsigned long long)opt.shots);

    size_t n_rows = train->n_rows;
    size_t n_params = model->n_weights + 2;
    qml_optimizer *optimizer = NULL;
    status = qml_optimizer_create(&optimizer, n_params, opt.optimizer);
    if (status != QML_OK)
        return qml__error_context(status, __func__);
    size_t n_weights = model->n_weights;
    size_t *order = qml__malloc(qml__mul_size(n_rows, sizeof(size_t)));
    double *gradient = qml__malloc(qml__mul_size(n_params, sizeof(double)));
    double *saved = qml__malloc(qml__mul_size(n_params, sizeof(double)));
    /* Per weight: the running mean and sum of squared deviations of the
     * epoch's step gradients (Welford), for grad_batch_variance. */
    double *step_mean = qml__malloc(qml__mul_size(n_weights, 2 * sizeof(double)));
    double *step_m2 = step_mean ? step_mean + n_weights : NULL;
    if (!order || !gradient || !saved || !step_mean) {
        status = qml__oom("training buffers");
        goto done;
    }
    /* The backend is chosen once: every row of every epoch runs on it. */
    if (opt.shots && opt.backend != QML_BACKEND_STATEVECTOR && opt.backend != QML_BACKEND_AUTO)
        status = qml__error(QML_ERR_NOT_APPLICABLE, "%s: shots need the statevector; the %s backend is exact only",
                            __func__, qml_backend_name(opt.backend));
    else if (!opt.shots)
        status = qml__algsim_create(&model->algsim, opt.backend, model->circuit, model->readout, NULL, __func__);
    if (status != QML_OK)
        goto done;

    /* Initialise the weights only once everything is allocated, so that a
     * failed call leaves the model as it was. */
    memcpy(saved, model->params, n_params * sizeof(double));
    if (opt.init != QML_INIT_KEEP) {
        struct qml_rng rng;
        qml__rng_init(&rng, opt.seed, QML__STREAM_INIT);
        for (size_t k = 0; k < model->n_weights; k++)
            model->params[k] = opt.init == QML_INIT_UNIFORM ? 2.0 * TRAIN_PI * qml__rng_uniform(&rng)
                                                            : opt.init_scale * qml__rng_normal(&rng);
    }

    int stepped = 0;
    uint64_t step = 0;
    for (unsigned epoch = 0; epoch < opt.epochs && status == QML_OK; epoch++) {
        status = qml_shuffle_indices(order, n_rows, opt.seed, epoch);
        size_t n_steps = 0;
        memset(step_mean, 0, n_weights * 2 * sizeof(double));
        for (size_t start = 0; start < n_rows && status == QML_OK; start += opt.batch_size, step++) {
            size_t count = n_rows - start < opt.batch_size ? n_rows - start : opt.batch_size;
            shot_spec spec = {opt.shots, opt.shot_mode, 0};
            if (opt.shots) {
                struct qml_rng rng;
                qml__rng_init(&rng, opt.seed, QML__STREAM_SHOTS + step);
                spec.seed = qml__rng_next(&rng);
            }
            status = loss_gradient(model, train, order + start, count, opt.n_threads, opt.shots ? &spec : NULL, NULL,
                                   NULL, gradient);
            if (status != QML_OK)
                break;
            n_steps++;
            for (size_t k = 0; k < n_weights; k++) {
                double delta = gradient[k] - step_mean[k];
                step_mean[k] += delta / (double)n_steps;
                step_m2[k] += delta * (gradient[k] - step_mean[k]);
            }
            status = qml_optimizer_step(optimizer, model->params, gradient, n_params);
            if (status == QML_OK)
                stepped = 1;
        }
        qml_train_epoch record = {record_size, NAN, NAN, NAN, NAN, NAN, NAN};
        /* The exact loss, accuracy and full-batch gradient in one pass. */
        if (status == QML_OK)
            status = loss_gradient(model, train, NULL, n_rows, opt.n_threads, NULL, &record.loss,
                                   &record.train_accuracy, gradient);
        if (status == QML_OK) {
            double square = 0.0, variance = 0.0;
            for (size_t k = 0; k < n_weights; k++) {
                square += gradient[k] * gradient[k];
                variance += step_m2[k];
            }
            record.grad_mean_square = square / (double)n_weights;
            if (n_steps >= 2)
                record.grad_batch_variance = variance / ((double)(n_steps - 1) * (double)n_weights);
        }
        if (status == QML_OK && test)
            status = qml_model_evaluate(model, test, opt.n_threads, &record.test_loss, &record.test_accuracy);
        if (status != QML_OK)
            break;
        if (epoch < capacity)
            memcpy((unsigned char *)history + (size_t)epoch * stride, &record, record_size);
        /* The callback sees the whole record, whatever stride the caller's
         * history uses. */
        record.size = sizeof record;
        if (opt.progress && opt.progress(epoch + 1, &record, opt.progress_user)) {
            status = qml__error(QML_ERR_CANCELLED, "%s: cancelled by the progress callback after epoch %u",
                                __func__, epoch + 1);
            break;
        }
    }
    /* A failure before the first step restores the initial parameters: the
     * call then had no effect. After a step the model keeps the last step. */
    if (status != QML_OK && !stepped)
        memcpy(model->params, saved, n_params * sizeof(double));
    if (status == QML_OK)
        qml__ok();

done:
    qml__algsim_free(model->algsim);
    model->algsim = NULL;
    qml__free(step_mean);
    qml__free(saved);
    qml__free(gradient);
    qml__free(order);
    qml_optimizer_free(optimizer);
    return status ? qml__error_context(status, __func__) : QML_OK;
}
