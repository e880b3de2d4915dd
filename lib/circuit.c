/*
 * circuit.c: the gate list of a variational circuit: fixed gates, unitary
 * matrices, and parametrised gates exp(-i theta/2 G) with their generators G.
 */
#include "internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Qubits a circuit may have. A circuit holds no amplitudes: the statevector
 * refuses more than its own limit (40) cleanly, while the simulators in the
 * Lie algebra (g-sim, the symmetric subspace) run circuits of hundreds of
 * qubits. Pauli masks are QML_CIRCUIT_MAX_WORDS words. */
#define QML_CIRCUIT_MAX_QUBITS 1024u
#define QML_CIRCUIT_MAX_WORDS ((QML_CIRCUIT_MAX_QUBITS + 63u) / 64u)
/* Weight and feature indices above this are a caller's mistake (an
 * uninitialised variable, a negative number cast), not a real model: the
 * caller would have to pass arrays of 16 M doubles per gate. */
#define QML_CIRCUIT_MAX_INDEX (1L << 24)
/* A unitary matrix must satisfy |(U U^dagger - I)_{rc}| <= this. */
#define QML_UNITARY_TOLERANCE 1e-10

/* ---- public functions: lifetime and queries ------------------------------ */

int qml_circuit_create(qml_circuit **out, unsigned n_qubits)
{
    QML_CHECK_NULL(out);
    QML_CHECK_ARG(n_qubits >= 1 && n_qubits <= QML_CIRCUIT_MAX_QUBITS,
                  "qml_circuit_create: n_qubits = %u is not in 1..%u", n_qubits, QML_CIRCUIT_MAX_QUBITS);
    qml_circuit *circuit = qml__calloc(1, sizeof *circuit);
    if (!circuit)
        return qml__oom("a circuit");
    circuit->n_qubits = n_qubits;
    *out = circuit;
    qml__ok();
    return QML_OK;
}

int qml_circuit_copy(qml_circuit **out, const qml_circuit *circuit)
{
    QML_CHECK_NULL(out);
    QML_CHECK_NULL(circuit);
    qml_circuit *copy = qml__calloc(1, sizeof *copy);
    if (!copy)
        return qml__oom("a circuit copy");
    *copy = *circuit;
    copy->gates = NULL;
    copy->n_gates = 0;
    copy->capacity = 0;
    if (circuit->n_gates > 0) {
        copy->gates = qml__calloc(circuit->n_gates, sizeof *copy->gates);
        if (!copy->gates) {
            qml__free(copy);
            return qml__oom("the gates of a circuit copy");
        }
        copy->capacity = circuit->n_gates;
    }
    /* Gate by gate, so that a failure frees exactly the generators copied. */
    for (size_t i = 0; i < circuit->n_gates; i++) {
        qml__gate gate = circuit->gates[i];
        if (gate.generator) {
            qml_pauli_sum *generator = NULL;
            if (qml_pauli_sum_copy(&generator, gate.generator) != QML_OK) {
                qml_circuit_free(copy);
                return qml__oom("a gate generator in a circuit copy");
            }
            gate.generator = generator;
        }
        copy->gates[i] = gate;
        copy->n_gates = i + 1;
    }
    *out = copy;
    qml__ok();
    return QML_OK;
}

void qml_circuit_free(qml_circuit *circuit)
{
    if (!circuit)
        return;
    for (size_t i = 0; i < circuit->n_gates; i++)
        qml_pauli_sum_free(circuit->gates[i].generator);
    qml__free(circuit->gates);
    qml__free(circuit);
}

unsigned qml_circuit_n_qubits(const qml_circuit *circuit)
{
    return circuit ? circuit->n_qubits : 0;
}

size_t qml_circuit_n_gates(const qml_circuit *circuit)
{
    return circuit ? circuit->n_gates : 0;
}

size_t qml_circuit_n_weights(const qml_circuit *circuit)
{
    return circuit ? circuit->n_weights : 0;
}

size_t qml_circuit_n_features(const qml_circuit *circuit)
{
    return circuit ? circuit->n_features : 0;
}

size_t qml_circuit_n_parametrised(const qml_circuit *circuit)
{
    return circuit ? circuit->n_parametrised : 0;
}

/* ---- public functions: appending gates ------------------------------------ */

static unsigned fixed_arity(qml_gate_kind kind);
static unsigned rotation_arity(qml_gate_kind kind);
static const char *kind_name(qml_gate_kind kind);
static int check_qubits(const qml_circuit *circuit, const unsigned *qubits, size_t count, size_t expected,
                        const char *caller, const char *what);
static int check_angle(double constant, int64_t weight, double weight_scale, int64_t feature, double feature_scale,
                       const char *caller);
static int append_gate(qml_circuit *circuit, const qml__gate *gate);
static int check_unitary(const double *matrix, size_t dim);
static void dense_string(const qml_pauli_sum *sum, size_t term, char *out);
static int add_pauli(qml_pauli_sum *sum, double coeff, unsigned n_ops, const char *ops, const unsigned *qubits);
static int accumulate_generator(qml_pauli_sum *sum, const qml__gate *gate, double factor);

int qml_circuit_add_gate(qml_circuit *circuit, qml_gate_kind kind, const unsigned *qubits, size_t count)
{
    QML_CHECK_NULL(circuit);
    unsigned arity = fixed_arity(kind);
    QML_CHECK_ARG(arity > 0,
                  "qml_circuit_add_gate: kind %d is not a fixed gate (0..15); use qml_circuit_add_rotation, "
                  "qml_circuit_add_unitary or qml_circuit_add_pauli_rotation",
                  (int)kind);
    int status = check_qubits(circuit, qubits, count, arity, "qml_circuit_add_gate", kind_name(kind));
    if (status)
        return status;
    qml__gate gate = {0};
    gate.kind = kind;
    gate.n_targets = arity;
    memcpy(gate.qubits, qubits, arity * sizeof *qubits);
    gate.weight = QML_NONE;
    gate.feature = QML_NONE;
    return append_gate(circuit, &gate);
}

int qml_circuit_add_unitary(qml_circuit *circuit, const double *matrix, const unsigned *qubits, size_t count)
{
    QML_CHECK_NULL(circuit);
    QML_CHECK_NULL(matrix);
    QML_CHECK_ARG(count == 1 || count == 2, "qml_circuit_add_unitary: count = %zu qubits; a unitary acts on 1 or 2",
                  count);
    int status = check_qubits(circuit, qubits, count, count, "qml_circuit_add_unitary", "the unitary");
    if (status)
        return status;
    size_t dim = (size_t)1 << count;
    for (size_t i = 0; i < 2 * dim * dim; i++)
        QML_CHECK_ARG(isfinite(matrix[i]), "qml_circuit_add_unitary: matrix entry %zu (%s part of (%zu, %zu)) is %g",
                      i / 2, i % 2 ? "imaginary" : "real", i / 2 / dim, i / 2 % dim, matrix[i]);
    status = check_unitary(matrix, dim);
    if (status)
        return status;
    qml__gate gate = {0};
    gate.kind = count == 1 ? QML_GATE_UNITARY1 : QML_GATE_UNITARY2;
    gate.n_targets = (unsigned)count;
    memcpy(gate.qubits, qubits, count * sizeof *qubits);
    memcpy(gate.matrix, matrix, 2 * dim * dim * sizeof *matrix);
    gate.weight = QML_NONE;
    gate.feature = QML_NONE;
    return append_gate(circuit, &gate);
}

int qml_circuit_add_rotation(qml_circuit *circuit, qml_gate_kind kind, const unsigned *qubits, size_t count,
                             double constant, int64_t weight, double weight_scale, int64_t feature,
                             double feature_scale)
{
    QML_CHECK_NULL(circuit);
    unsigned arity = rotation_arity(kind);
    QML_CHECK_ARG(arity > 0,
                  "qml_circuit_add_rotation: kind %d is not a rotation (RX..PHASE, 30..39); use "
                  "qml_circuit_add_pauli_rotation for Pauli strings and sums, qml_circuit_add_gate for fixed gates",
                  (int)kind);
    int status = check_qubits(circuit, qubits, count, arity, "qml_circuit_add_rotation", kind_name(kind));
    if (status)
        return status;
    status = check_angle(constant, weight, weight_scale, feature, feature_scale, "qml_circuit_add_rotation");
    if (status)
        return status;
    qml__gate gate = {0};
    gate.kind = kind;
    gate.n_targets = arity;
    memcpy(gate.qubits, qubits, arity * sizeof *qubits);
    gate.constant = constant;
    gate.weight = weight;
    gate.weight_scale = weight_scale;
    gate.feature = feature;
    gate.feature_scale = feature_scale;
    return append_gate(circuit, &gate);
}

int qml_circuit_add_pauli_rotation(qml_circuit *circuit, const qml_pauli_sum *generator, double constant,
                                   int64_t weight, double weight_scale, int64_t feature, double feature_scale)
{
    QML_CHECK_NULL(circuit);
    int status = qml__circuit_check_generator(circuit, generator, "qml_circuit_add_pauli_rotation");
    if (status)
        return status;
    return qml__circuit_append_pauli(circuit, generator, constant, weight, weight_scale, feature, feature_scale);
}

int qml__circuit_append_pauli(qml_circuit *circuit, const qml_pauli_sum *generator, double constant, long weight,
                              double weight_scale, long feature, double feature_scale)
{
    int status =
        check_angle(constant, weight, weight_scale, feature, feature_scale, "qml_circuit_add_pauli_rotation");
    if (status)
        return status;

    qml__gate gate = {0};
    gate.kind = generator->n_terms == 1 && generator->coeff[0] == 1.0 ? QML_GATE_PAULI_ROTATION
                                                                       : QML_GATE_PAULI_EVOLUTION;
    uint64_t support[QML_CIRCUIT_MAX_WORDS] = {0};
    unsigned words = generator->words;
    for (size_t t = 0; t < generator->n_terms; t++)
        for (unsigned w = 0; w < words; w++)
            support[w] |= generator->x[t * words + w] | generator->z[t * words + w];
    /* qubits[] holds the first three support qubits, ascending (a summary for
     * qml_circuit_gate; the generator is the whole truth). */
    for (unsigned q = 0; q < circuit->n_qubits; q++)
        if (support[q / 64] >> (q % 64) & 1u) {
            if (gate.n_targets < 3)
                gate.qubits[gate.n_targets] = q;
            gate.n_targets++;
        }
    gate.constant = constant;
    gate.weight = weight;
    gate.weight_scale = weight_scale;
    gate.feature = feature;
    gate.feature_scale = feature_scale;
    if (qml_pauli_sum_copy(&gate.generator, generator) != QML_OK)
        return qml__oom("the generator of a Pauli rotation");
    status = append_gate(circuit, &gate);
    if (status)
        qml_pauli_sum_free(gate.generator);
    return status;
}

/* ---- public functions: reading gates -------------------------------------- */

int qml_circuit_gate(const qml_circuit *circuit, size_t index, qml_gate_kind *kind, unsigned *qubits, size_t *count)
{
    QML_CHECK_NULL(circuit);
    if (index >= circuit->n_gates)
        return qml__error(QML_ERR_OUT_OF_RANGE, "qml_circuit_gate: gate %zu out of range for a circuit of %zu gates",
                          index, circuit->n_gates);
    const qml__gate *gate = &circuit->gates[index];
    if (kind)
        *kind = gate->kind;
    if (qubits)
        for (unsigned k = 0; k < gate->n_targets && k < 3; k++)
            qubits[k] = gate->qubits[k];
    if (count)
        *count = gate->n_targets;
    qml__ok();
    return QML_OK;
}

int qml_circuit_gate_angle(const qml_circuit *circuit, size_t index, double *constant, int64_t *weight,
                           double *weight_scale, int64_t *feature, double *feature_scale)
{
    QML_CHECK_NULL(circuit);
    if (index >= circuit->n_gates)
        return qml__error(QML_ERR_OUT_OF_RANGE,
                          "qml_circuit_gate_angle: gate %zu out of range for a circuit of %zu gates", index,
                          circuit->n_gates);
    const qml__gate *gate = &circuit->gates[index];
    QML_CHECK_ARG(qml__gate_is_parametrised(gate->kind),
                  "qml_circuit_gate_angle: gate %zu (%s) is not parametrised", index, kind_name(gate->kind));
    if (constant)
        *constant = gate->constant;
    if (weight)
        *weight = gate->weight;
    if (weight_scale)
        *weight_scale = gate->weight_scale;
    if (feature)
        *feature = gate->feature;
    if (feature_scale)
        *feature_scale = gate->feature_scale;
    qml__ok();
    return QML_OK;
}

int qml_circuit_gate_generator(const qml_circuit *circuit, size_t index, qml_pauli_sum **out)
{
    QML_CHECK_NULL(circuit);
    QML_CHECK_NULL(out);
    if (index >= circuit->n_gates)
        return qml__error(QML_ERR_OUT_OF_RANGE,
                          "qml_circuit_gate_generator: gate %zu out of range for a circuit of %zu gates", index,
                          circuit->n_gates);
    const qml__gate *gate = &circuit->gates[index];
    QML_CHECK_ARG(qml__gate_is_parametrised(gate->kind),
                  "qml_circuit_gate_generator: gate %zu (%s) is not parametrised", index, kind_name(gate->kind));
    qml_pauli_sum *sum = NULL;
    if (qml_pauli_sum_create(&sum, circuit->n_qubits) != QML_OK)
        return qml__oom("a gate generator");
    if (accumulate_generator(sum, gate, 1.0) != QML_OK) {
        qml_pauli_sum_free(sum);
        return qml__oom("a gate generator");
    }
    *out = sum;
    qml__ok();
    return QML_OK;
}

int qml_circuit_weight_generator(const qml_circuit *circuit, int64_t weight, qml_pauli_sum **out)
{
    QML_CHECK_NULL(circuit);
    QML_CHECK_NULL(out);
    QML_CHECK_ARG(weight >= 0, "qml_circuit_weight_generator: weight index %lld is negative", (long long)weight);
    if ((size_t)weight >= circuit->n_weights)
        return qml__error(QML_ERR_OUT_OF_RANGE,
                          "qml_circuit_weight_generator: weight %lld out of range for a circuit of %zu weights",
                          (long long)weight,
                          circuit->n_weights);
    qml_pauli_sum *sum = NULL;
    if (qml_pauli_sum_create(&sum, circuit->n_qubits) != QML_OK)
        return qml__oom("a weight generator");
    for (size_t i = 0; i < circuit->n_gates; i++) {
        const qml__gate *gate = &circuit->gates[i];
        if (gate->weight != weight)
            continue;
        /* Keep the callee's status: scales near 1e308 overflow a coefficient
         * (QML_ERR_OUT_OF_RANGE), which is not a lack of memory. */
        int status = accumulate_generator(sum, gate, gate->weight_scale);
        if (status != QML_OK) {
            qml_pauli_sum_free(sum);
            return qml__error_context(status, __func__);
        }
    }
    *out = sum;
    qml__ok();
    return QML_OK;
}

/* ---- cross-unit functions ------------------------------------------------- */

int qml__circuit_check_inputs(const qml_circuit *circuit, const double *weights, size_t n_weights,
                              const double *features, size_t n_features, const char *caller)
{
    QML_CHECK_ARG(circuit != NULL, "%s: argument 'circuit' is NULL", caller);
    if (n_weights < circuit->n_weights)
        return qml__error(QML_ERR_OUT_OF_RANGE, "%s: %zu weights given, the circuit reads %zu", caller, n_weights,
                          circuit->n_weights);
    if (n_features < circuit->n_features)
        return qml__error(QML_ERR_OUT_OF_RANGE, "%s: %zu features given, the circuit reads %zu", caller, n_features,
                          circuit->n_features);
    QML_CHECK_ARG(weights != NULL || n_weights == 0, "%s: 'weights' is NULL but n_weights = %zu", caller, n_weights);
    QML_CHECK_ARG(features != NULL || n_features == 0, "%s: 'features' is NULL but n_features = %zu", caller,
                  n_features);
    /* Only the entries the circuit reads: a NaN there would poison every
     * amplitude without a word. */
    for (size_t k = 0; k < circuit->n_weights; k++)
        QML_CHECK_ARG(isfinite(weights[k]), "%s: weight %zu is %g", caller, k, weights[k]);
    for (size_t k = 0; k < circuit->n_features; k++)
        QML_CHECK_ARG(isfinite(features[k]), "%s: feature %zu is %g", caller, k, features[k]);
    return QML_OK;
}

int qml__circuit_check_generator(const qml_circuit *circuit, const qml_pauli_sum *generator, const char *caller)
{
    QML_CHECK_ARG(generator != NULL, "%s: argument 'generator' is NULL", caller);
    QML_CHECK_ARG(generator->n_qubits == circuit->n_qubits,
                  "%s: the generator acts on %u qubits, the circuit has %u", caller, generator->n_qubits,
                  circuit->n_qubits);
    QML_CHECK_ARG(generator->n_terms > 0, "%s: the generator is the zero operator (no terms)", caller);
    for (size_t t = 0; t < generator->n_terms; t++)
        QML_CHECK_ARG(isfinite(generator->coeff[t]), "%s: coefficient %zu of the generator is %g", caller, t,
                      generator->coeff[t]);
    /* exp(-i theta/2 sum_k c_k P_k) = prod_k exp(-i theta/2 c_k P_k) only if
     * the P_k commute pairwise; the simulator relies on that factorisation. */
    unsigned words = generator->words;
    for (size_t a = 0; a < generator->n_terms; a++)
        for (size_t b = a + 1; b < generator->n_terms; b++) {
            if (!qml__pauli_anticommute(words, generator->x + a * words, generator->z + a * words,
                                        generator->x + b * words, generator->z + b * words))
                continue;
            char first[QML_CIRCUIT_MAX_QUBITS + 1], second[QML_CIRCUIT_MAX_QUBITS + 1];
            dense_string(generator, a, first);
            dense_string(generator, b, second);
            return qml__error(QML_ERR_UNSUPPORTED,
                              "%s: terms %zu (%.17g*%s) and %zu (%.17g*%s) of the generator anticommute; "
                              "evolution needs pairwise commuting terms",
                              caller, a, generator->coeff[a], first, b, generator->coeff[b], second);
        }
    return QML_OK;
}

qml__circuit_mark qml__circuit_mark_get(const qml_circuit *circuit)
{
    qml__circuit_mark mark = {circuit->n_gates, circuit->n_weights, circuit->n_features, circuit->n_parametrised};
    return mark;
}

void qml__circuit_rollback(qml_circuit *circuit, qml__circuit_mark mark)
{
    for (size_t i = mark.n_gates; i < circuit->n_gates; i++) {
        qml_pauli_sum_free(circuit->gates[i].generator);
        circuit->gates[i].generator = NULL;
    }
    circuit->n_gates = mark.n_gates;
    circuit->n_weights = mark.n_weights;
    circuit->n_features = mark.n_features;
    circuit->n_parametrised = mark.n_parametrised;
}

/* ---- cross-unit functions: generators moved through fixed Clifford gates -- */

static int transport(const qml_circuit *circuit, size_t index, const size_t *previous, qml_pauli_sum **sum);

int qml__circuit_transported_generator(const qml_circuit *circuit, size_t index, qml_pauli_sum **out)
{
    QML_CHECK_NULL(circuit);
    QML_CHECK_NULL(out);
    if (index >= circuit->n_gates)
        return qml__error(QML_ERR_OUT_OF_RANGE,
                          "qml__circuit_transported_generator: gate %zu out of range for a circuit of %zu gates",
                          index, circuit->n_gates);
    const qml__gate *gate = &circuit->gates[index];
    QML_CHECK_ARG(qml__gate_is_parametrised(gate->kind),
                  "qml__circuit_transported_generator: gate %zu (%s) is not parametrised", index,
                  kind_name(gate->kind));
    qml_pauli_sum *sum = NULL;
    if (qml_pauli_sum_create(&sum, circuit->n_qubits) != QML_OK)
        return qml__oom("a transported generator");
    int status = accumulate_generator(sum, gate, 1.0);
    if (status != QML_OK) {
        qml_pauli_sum_free(sum);
        return status;
    }
    status = transport(circuit, index, NULL, &sum);
    if (status != QML_OK) {
        qml_pauli_sum_free(sum);
        return status;
    }
    *out = sum;
    qml__ok();
    return QML_OK;
}

int qml__circuit_transported_weight_generator(const qml_circuit *circuit, long weight, qml_pauli_sum **out)
{
    QML_CHECK_NULL(circuit);
    QML_CHECK_NULL(out);
    QML_CHECK_ARG(weight >= 0, "qml__circuit_transported_weight_generator: weight index %ld is negative", weight);
    if ((size_t)weight >= circuit->n_weights)
        return qml__error(QML_ERR_OUT_OF_RANGE,
                          "qml__circuit_transported_weight_generator: weight %ld out of range for a circuit of %zu "
                          "weights",
                          weight, circuit->n_weights);
    qml_pauli_sum *total = NULL;
    if (qml_pauli_sum_create(&total, circuit->n_qubits) != QML_OK)
        return qml__oom("a transported weight generator");
    int status = QML_OK;
    for (size_t i = 0; i < circuit->n_gates && status == QML_OK; i++) {
        const qml__gate *gate = &circuit->gates[i];
        if (gate->weight != weight)
            continue;
        qml_pauli_sum *g = NULL;
        status = qml__circuit_transported_generator(circuit, i, &g);
        for (size_t t = 0; status == QML_OK && t < g->n_terms; t++)
            status = qml__pauli_sum_add_masks(total, gate->weight_scale * g->coeff[t], g->x + t * g->words,
                                              g->z + t * g->words);
        qml_pauli_sum_free(g);
    }
    if (status != QML_OK) {
        qml_pauli_sum_free(total);
        return status;
    }
    *out = total;
    qml__ok();
    return QML_OK;
}

/* Whether gate `gate` changes a generator moved through it (see transport):
 * a fixed gate other than the identity, or a rotation that reads no weight
 * at a non-zero constant. */
static bool moves_generators(const qml__gate *gate)
{
    if (gate->kind == QML_GATE_I)
        return false;
    if (qml__gate_is_parametrised(gate->kind))
        return gate->weight == QML_NONE && gate->constant != 0.0;
    return true;
}

int qml__circuit_transported_weight_generators(const qml_circuit *circuit, qml_pauli_sum **out)
{
    QML_CHECK_NULL(circuit);
    QML_CHECK_NULL(out);
    size_t n_weights = circuit->n_weights, n_gates = circuit->n_gates;
    for (size_t w = 0; w < n_weights; w++)
        out[w] = NULL;
    /* previous[i]: the last gate before i that moves generators (SIZE_MAX:
     * none), so that each transport visits only those gates: one pass over
     * the circuit where a walk from every weighted gate back over every gate
     * before it cost O(gates^2) (49 500 rotations: most of a bp row). */
    size_t *previous = qml__malloc((n_gates + 1) * sizeof *previous);
    if (!previous)
        return qml__oom("the weight generators of a circuit");
    size_t last = SIZE_MAX;
    for (size_t i = 0; i < n_gates; i++) {
        previous[i] = last;
        if (moves_generators(&circuit->gates[i]))
            last = i;
    }
    int status = QML_OK;
    for (size_t w = 0; w < n_weights && status == QML_OK; w++)
        if (qml_pauli_sum_create(&out[w], circuit->n_qubits) != QML_OK)
            status = qml__oom("the weight generators of a circuit");
    for (size_t i = 0; i < n_gates && status == QML_OK; i++) {
        const qml__gate *gate = &circuit->gates[i];
        if (!qml__gate_is_parametrised(gate->kind) || gate->weight == QML_NONE)
            continue;
        qml_pauli_sum *g = NULL;
        if (qml_pauli_sum_create(&g, circuit->n_qubits) != QML_OK) {
            status = qml__oom("a transported generator");
            break;
        }
        status = accumulate_generator(g, gate, 1.0);
        if (status == QML_OK)
            status = transport(circuit, i, previous, &g);
        qml_pauli_sum *total = out[gate->weight];
        for (size_t t = 0; status == QML_OK && t < g->n_terms; t++)
            status = qml__pauli_sum_add_masks(total, gate->weight_scale * g->coeff[t], g->x + t * g->words,
                                              g->z + t * g->words);
        qml_pauli_sum_free(g);
    }
    qml__free(previous);
    if (status != QML_OK) {
        for (size_t w = 0; w < n_weights; w++) {
            qml_pauli_sum_free(out[w]);
            out[w] = NULL;
        }
        return status == QML_ERR_OUT_OF_MEMORY ? qml__oom("the weight generators of a circuit") : status;
    }
    qml__ok();
    return QML_OK;
}

/* ---- helpers --------------------------------------------------------------- */

/* Qubits of a fixed gate, 0 if `kind` is not one. */
static unsigned fixed_arity(qml_gate_kind kind)
{
    switch (kind) {
    case QML_GATE_I: case QML_GATE_X: case QML_GATE_Y: case QML_GATE_Z: case QML_GATE_H:
    case QML_GATE_S: case QML_GATE_SDG: case QML_GATE_T: case QML_GATE_TDG: case QML_GATE_SX:
        return 1;
    case QML_GATE_CNOT: case QML_GATE_CY: case QML_GATE_CZ: case QML_GATE_SWAP: case QML_GATE_ISWAP:
        return 2;
    case QML_GATE_TOFFOLI:
        return 3;
    default:
        return 0;
    }
}

/* Qubits of a rotation RX..PHASE, 0 if `kind` is not one. */
static unsigned rotation_arity(qml_gate_kind kind)
{
    switch (kind) {
    case QML_GATE_RX: case QML_GATE_RY: case QML_GATE_RZ: case QML_GATE_PHASE:
        return 1;
    case QML_GATE_RXX: case QML_GATE_RYY: case QML_GATE_RZZ:
    case QML_GATE_CRX: case QML_GATE_CRY: case QML_GATE_CRZ:
        return 2;
    default:
        return 0;
    }
}

static const char *kind_name(qml_gate_kind kind)
{
    switch (kind) {
    case QML_GATE_I: return "I";
    case QML_GATE_X: return "X";
    case QML_GATE_Y: return "Y";
    case QML_GATE_Z: return "Z";
    case QML_GATE_H: return "H";
    case QML_GATE_S: return "S";
    case QML_GATE_SDG: return "SDG";
    case QML_GATE_T: return "T";
    case QML_GATE_TDG: return "TDG";
    case QML_GATE_SX: return "SX";
    case QML_GATE_CNOT: return "CNOT";
    case QML_GATE_CY: return "CY";
    case QML_GATE_CZ: return "CZ";
    case QML_GATE_SWAP: return "SWAP";
    case QML_GATE_ISWAP: return "ISWAP";
    case QML_GATE_TOFFOLI: return "TOFFOLI";
    case QML_GATE_UNITARY1: return "UNITARY1";
    case QML_GATE_UNITARY2: return "UNITARY2";
    case QML_GATE_RX: return "RX";
    case QML_GATE_RY: return "RY";
    case QML_GATE_RZ: return "RZ";
    case QML_GATE_RXX: return "RXX";
    case QML_GATE_RYY: return "RYY";
    case QML_GATE_RZZ: return "RZZ";
    case QML_GATE_CRX: return "CRX";
    case QML_GATE_CRY: return "CRY";
    case QML_GATE_CRZ: return "CRZ";
    case QML_GATE_PHASE: return "PHASE";
    case QML_GATE_PAULI_ROTATION: return "PAULI_ROTATION";
    case QML_GATE_PAULI_EVOLUTION: return "PAULI_EVOLUTION";
    default: return "unknown";
    }
}

/* `count` must be `expected`, and the qubits distinct and in range. */
static int check_qubits(const qml_circuit *circuit, const unsigned *qubits, size_t count, size_t expected,
                        const char *caller, const char *what)
{
    QML_CHECK_ARG(count == expected, "%s: %s acts on %zu qubit(s), %zu given", caller, what, expected, count);
    QML_CHECK_ARG(qubits != NULL, "%s: argument 'qubits' is NULL", caller);
    for (size_t i = 0; i < count; i++) {
        if (qubits[i] >= circuit->n_qubits)
            return qml__error(QML_ERR_OUT_OF_RANGE, "%s: qubit %u out of range for a %u-qubit circuit", caller,
                              qubits[i], circuit->n_qubits);
        for (size_t j = 0; j < i; j++)
            QML_CHECK_ARG(qubits[j] != qubits[i], "%s: qubit %u appears twice in %s", caller, qubits[i], what);
    }
    return QML_OK;
}

static int check_index(int64_t index, const char *caller, const char *what)
{
    if (index == QML_NONE)
        return QML_OK;
    if (index < 0 || index >= QML_CIRCUIT_MAX_INDEX)
        return qml__error(QML_ERR_OUT_OF_RANGE, "%s: %s index %lld is neither QML_NONE nor in 0..%lld", caller,
                          what, (long long)index, (long long)(QML_CIRCUIT_MAX_INDEX - 1));
    return QML_OK;
}

static int check_angle(double constant, int64_t weight, double weight_scale, int64_t feature, double feature_scale,
                       const char *caller)
{
    QML_CHECK_ARG(isfinite(constant), "%s: constant angle is %g", caller, constant);
    QML_CHECK_ARG(isfinite(weight_scale), "%s: weight_scale is %g", caller, weight_scale);
    QML_CHECK_ARG(isfinite(feature_scale), "%s: feature_scale is %g", caller, feature_scale);
    int status = check_index(weight, caller, "weight");
    if (status)
        return status;
    return check_index(feature, caller, "feature");
}

/* Append a validated gate, growing the array geometrically, and update the
 * circuit's counts. On failure the circuit is unchanged. */
static int append_gate(qml_circuit *circuit, const qml__gate *gate)
{
    if (circuit->n_gates == circuit->capacity) {
        size_t capacity = circuit->capacity ? 2 * circuit->capacity : 16;
        qml__gate *gates = qml__realloc(circuit->gates, qml__mul_size(capacity, sizeof *gates));
        if (!gates)
            return qml__oom("the gate list of a circuit");
        circuit->gates = gates;
        circuit->capacity = capacity;
    }
    circuit->gates[circuit->n_gates++] = *gate;
    if (qml__gate_is_parametrised(gate->kind))
        circuit->n_parametrised++;
    if (gate->weight >= 0 && (size_t)gate->weight >= circuit->n_weights)
        circuit->n_weights = (size_t)gate->weight + 1;
    if (gate->feature >= 0 && (size_t)gate->feature >= circuit->n_features)
        circuit->n_features = (size_t)gate->feature + 1;
    qml__ok();
    return QML_OK;
}

/* max |(U U^dagger - I)_{rc}| <= QML_UNITARY_TOLERANCE for a dim x dim matrix. */
static int check_unitary(const double *matrix, size_t dim)
{
    double worst = 0.0;
    size_t worst_r = 0, worst_c = 0;
    for (size_t r = 0; r < dim; r++)
        for (size_t c = 0; c < dim; c++) {
            /* (U U^dagger)_{rc} = sum_k U_{rk} conj(U_{ck}) */
            double re = 0.0, im = 0.0;
            for (size_t k = 0; k < dim; k++) {
                double ar = matrix[2 * (r * dim + k)], ai = matrix[2 * (r * dim + k) + 1];
                double br = matrix[2 * (c * dim + k)], bi = -matrix[2 * (c * dim + k) + 1];
                re += ar * br - ai * bi;
                im += ar * bi + ai * br;
            }
            double deviation = hypot(re - (r == c ? 1.0 : 0.0), im);
            if (deviation > worst) {
                worst = deviation;
                worst_r = r;
                worst_c = c;
            }
        }
    if (!(worst <= QML_UNITARY_TOLERANCE))
        return qml__error(QML_ERR_INVALID_ARGUMENT,
                          "qml_circuit_add_unitary: the matrix is not unitary: |(U U^dagger - I)(%zu, %zu)| = %.3g > %g",
                          worst_r, worst_c, worst, QML_UNITARY_TOLERANCE);
    return QML_OK;
}

/* The dense string ("XIZ", character k on qubit k) of term `term`. */
static void dense_string(const qml_pauli_sum *sum, size_t term, char *out)
{
    static const char letters[4] = {'I', 'X', 'Z', 'Y'}; /* index x + 2 z */
    const uint64_t *x = sum->x + term * sum->words, *z = sum->z + term * sum->words;
    for (unsigned q = 0; q < sum->n_qubits; q++) {
        unsigned xb = (unsigned)(x[q / 64] >> (q % 64) & 1u), zb = (unsigned)(z[q / 64] >> (q % 64) & 1u);
        out[q] = letters[xb + 2 * zb];
    }
    out[sum->n_qubits] = '\0';
}

/* sum += coeff * (ops[0] on qubits[0]) (ops[1] on qubits[1]) ... */
static int add_pauli(qml_pauli_sum *sum, double coeff, unsigned n_ops, const char *ops, const unsigned *qubits)
{
    uint64_t x[QML_CIRCUIT_MAX_WORDS] = {0}, z[QML_CIRCUIT_MAX_WORDS] = {0};
    for (unsigned k = 0; k < n_ops; k++) {
        uint64_t bit = (uint64_t)1 << (qubits[k] % 64);
        if (ops[k] == 'X' || ops[k] == 'Y')
            x[qubits[k] / 64] |= bit;
        if (ops[k] == 'Z' || ops[k] == 'Y')
            z[qubits[k] / 64] |= bit;
    }
    return qml__pauli_sum_add_masks(sum, coeff, x, z);
}

/* sum += factor * G for the generator G of a parametrised gate: the table of
 * qml.h (gate = exp(-i theta/2 G), global phase included). */
static int accumulate_generator(qml_pauli_sum *sum, const qml__gate *gate, double factor)
{
    const unsigned *q = gate->qubits;
    int status = QML_OK;
    switch (gate->kind) {
    case QML_GATE_RX: return add_pauli(sum, factor, 1, "X", q);
    case QML_GATE_RY: return add_pauli(sum, factor, 1, "Y", q);
    case QML_GATE_RZ: return add_pauli(sum, factor, 1, "Z", q);
    case QML_GATE_RXX: return add_pauli(sum, factor, 2, "XX", q);
    case QML_GATE_RYY: return add_pauli(sum, factor, 2, "YY", q);
    case QML_GATE_RZZ: return add_pauli(sum, factor, 2, "ZZ", q);
    /* (I - Z_c) P_t / 2 = |1><1|_c P_t: the rotation acts when the control is 1. */
    case QML_GATE_CRX:
    case QML_GATE_CRY:
    case QML_GATE_CRZ: {
        char target = gate->kind == QML_GATE_CRX ? 'X' : gate->kind == QML_GATE_CRY ? 'Y' : 'Z';
        char ops[2] = {'Z', target};
        status = add_pauli(sum, 0.5 * factor, 1, &target, q + 1);
        if (status == QML_OK)
            status = add_pauli(sum, -0.5 * factor, 2, ops, q);
        return status;
    }
    /* diag(1, e^{i theta}) = e^{i theta/2} exp(-i theta/2 Z) = exp(-i theta/2 (Z - I)). */
    case QML_GATE_PHASE:
        status = add_pauli(sum, factor, 1, "Z", q);
        if (status == QML_OK)
            status = add_pauli(sum, -factor, 0, "", q);
        return status;
    case QML_GATE_PAULI_ROTATION:
    case QML_GATE_PAULI_EVOLUTION: {
        const qml_pauli_sum *h = gate->generator;
        for (size_t t = 0; t < h->n_terms && status == QML_OK; t++)
            status = qml__pauli_sum_add_masks(sum, factor * h->coeff[t], h->x + t * h->words, h->z + t * h->words);
        return status;
    }
    default:
        return QML_OK;
    }
}

/* ---- helpers: Clifford conjugation ------------------------------------------ */

static unsigned bit_count(uint64_t v)
{
#if defined(__GNUC__)
    return (unsigned)__builtin_popcountll(v);
#else
    unsigned count = 0;
    for (; v; v &= v - 1)
        count++;
    return count;
#endif
}

/* V^dagger P V = sign * P(x, z) for a Clifford V and a Pauli string P. */
typedef struct pauli_image {
    uint64_t x, z;
    int sign;
} pauli_image;

/* The 2^k x 2^k matrix of a fixed gate on its k <= 2 qubits (local index
 * b_q0 + 2 b_q1), or false if it has none here (T, TDG, Toffoli: not
 * Clifford, or more than two qubits). */
static bool fixed_gate_matrix(const qml__gate *gate, double *m)
{
    const double r = 0.70710678118654752440; /* 1/sqrt(2) */
    size_t d = (size_t)1 << gate->n_targets;
    memset(m, 0, 2 * d * d * sizeof *m);
#define SET(row, col, re, im) (m[2 * ((row) * d + (col))] = (re), m[2 * ((row) * d + (col)) + 1] = (im))
    switch (gate->kind) {
    case QML_GATE_I: SET(0, 0, 1, 0), SET(1, 1, 1, 0); return true;
    case QML_GATE_X: SET(0, 1, 1, 0), SET(1, 0, 1, 0); return true;
    case QML_GATE_Y: SET(0, 1, 0, -1), SET(1, 0, 0, 1); return true;
    case QML_GATE_Z: SET(0, 0, 1, 0), SET(1, 1, -1, 0); return true;
    case QML_GATE_H: SET(0, 0, r, 0), SET(0, 1, r, 0), SET(1, 0, r, 0), SET(1, 1, -r, 0); return true;
    case QML_GATE_S: SET(0, 0, 1, 0), SET(1, 1, 0, 1); return true;
    case QML_GATE_SDG: SET(0, 0, 1, 0), SET(1, 1, 0, -1); return true;
    case QML_GATE_SX: /* (1/2) [[1 + i, 1 - i], [1 - i, 1 + i]] */
        SET(0, 0, 0.5, 0.5), SET(0, 1, 0.5, -0.5), SET(1, 0, 0.5, -0.5), SET(1, 1, 0.5, 0.5);
        return true;
    /* Two qubits: bit 0 of the local index is the first qubit (the control). */
    case QML_GATE_CNOT: SET(0, 0, 1, 0), SET(2, 2, 1, 0), SET(3, 1, 1, 0), SET(1, 3, 1, 0); return true;
    case QML_GATE_CY: SET(0, 0, 1, 0), SET(2, 2, 1, 0), SET(3, 1, 0, 1), SET(1, 3, 0, -1); return true;
    case QML_GATE_CZ: SET(0, 0, 1, 0), SET(1, 1, 1, 0), SET(2, 2, 1, 0), SET(3, 3, -1, 0); return true;
    case QML_GATE_SWAP: SET(0, 0, 1, 0), SET(2, 1, 1, 0), SET(1, 2, 1, 0), SET(3, 3, 1, 0); return true;
    case QML_GATE_ISWAP: SET(0, 0, 1, 0), SET(2, 1, 0, 1), SET(1, 2, 0, 1), SET(3, 3, 1, 0); return true;
    case QML_GATE_UNITARY1:
    case QML_GATE_UNITARY2: memcpy(m, gate->matrix, 2 * d * d * sizeof *m); return true;
    default: return false;
    }
#undef SET
}

/* The matrix of the local Pauli string P(x, z) on k qubits:
 * P|c> = i^{|x & z|} (-1)^{|z & c|} |c ^ x>. */
static void local_pauli_matrix(size_t d, unsigned x, unsigned z, double *m)
{
    static const double phase_re[4] = {1, 0, -1, 0}, phase_im[4] = {0, 1, 0, -1};
    unsigned base = bit_count(x & z) & 3u;
    memset(m, 0, 2 * d * d * sizeof *m);
    for (size_t c = 0; c < d; c++) {
        unsigned p = (base + 2u * (bit_count(z & c) & 1u)) & 3u;
        size_t row = c ^ x;
        m[2 * (row * d + c)] = phase_re[p];
        m[2 * (row * d + c) + 1] = phase_im[p];
    }
}

/* c = a^dagger b a for d x d matrices (d <= 4). */
static void conjugate(size_t d, const double *a, const double *b, double *c)
{
    double t[32];
    for (size_t i = 0; i < d; i++) /* t = b a */
        for (size_t j = 0; j < d; j++) {
            double re = 0, im = 0;
            for (size_t k = 0; k < d; k++) {
                double br = b[2 * (i * d + k)], bi = b[2 * (i * d + k) + 1];
                double ar = a[2 * (k * d + j)], ai = a[2 * (k * d + j) + 1];
                re += br * ar - bi * ai;
                im += br * ai + bi * ar;
            }
            t[2 * (i * d + j)] = re;
            t[2 * (i * d + j) + 1] = im;
        }
    for (size_t i = 0; i < d; i++) /* c = a^dagger t */
        for (size_t j = 0; j < d; j++) {
            double re = 0, im = 0;
            for (size_t k = 0; k < d; k++) {
                double ar = a[2 * (k * d + i)], ai = -a[2 * (k * d + i) + 1];
                double tr = t[2 * (k * d + j)], ti = t[2 * (k * d + j) + 1];
                re += ar * tr - ai * ti;
                im += ar * ti + ai * tr;
            }
            c[2 * (i * d + j)] = re;
            c[2 * (i * d + j) + 1] = im;
        }
}

/* The conjugation tableau of a fixed gate: images[i][0] of X and images[i][1]
 * of Z on its i-th qubit, as full-width masks. Computed from the gate's
 * matrix: V^dagger P V is matched against every local Pauli string by
 * Tr(Q M) / d, which is +-1 for exactly one Q when V is Clifford. */
static bool clifford_tableau(const qml__gate *gate, pauli_image images[2][2])
{
    double v[32], p[32], m[32], q[32];
    if (!fixed_gate_matrix(gate, v))
        return false;
    unsigned k = gate->n_targets;
    size_t d = (size_t)1 << k;
    for (unsigned i = 0; i < k; i++)
        for (unsigned letter = 0; letter < 2; letter++) {
            local_pauli_matrix(d, letter == 0 ? 1u << i : 0u, letter == 1 ? 1u << i : 0u, p);
            conjugate(d, v, p, m);
            bool found = false;
            for (unsigned x = 0; x < d && !found; x++)
                for (unsigned z = 0; z < d && !found; z++) {
                    local_pauli_matrix(d, x, z, q);
                    double trace = 0.0; /* Re Tr(Q M) = sum_{ab} Re(Q_ab M_ba) */
                    for (size_t a = 0; a < d; a++)
                        for (size_t b = 0; b < d; b++)
                            trace += q[2 * (a * d + b)] * m[2 * (b * d + a)] -
                                     q[2 * (a * d + b) + 1] * m[2 * (b * d + a) + 1];
                    trace /= (double)d;
                    if (fabs(fabs(trace) - 1.0) > 1e-9)
                        continue;
                    pauli_image image = {0, 0, trace > 0 ? 1 : -1};
                    for (unsigned j = 0; j < k; j++) {
                        image.x |= (uint64_t)(x >> j & 1u) << gate->qubits[j];
                        image.z |= (uint64_t)(z >> j & 1u) << gate->qubits[j];
                    }
                    images[i][letter] = image;
                    found = true;
                }
            if (!found)
                return false;
        }
    return true;
}

/* V^dagger P(x, z) V for the gate with tableau `images`: P(x, z) is the
 * non-local part times i^{|x_l & z_l|} prod X_q^{x_q} prod Z_q^{z_q} on the
 * gate's qubits, and conjugation is multiplicative (Aaronson & Gottesman,
 * PRA 70, 052328 (2004)). Returns the sign; the masks are updated in place. */
static int conjugate_string(const qml__gate *gate, pauli_image images[2][2], uint64_t *x, uint64_t *z)
{
    uint64_t local = 0;
    for (unsigned j = 0; j < gate->n_targets; j++)
        local |= (uint64_t)1 << gate->qubits[j];
    unsigned phase = bit_count(*x & *z & local);
    uint64_t ax = 0, az = 0;
    for (unsigned letter = 0; letter < 2; letter++)
        for (unsigned j = 0; j < gate->n_targets; j++) {
            uint64_t bits = letter == 0 ? *x : *z;
            if (!(bits >> gate->qubits[j] & 1u))
                continue;
            const pauli_image *f = &images[j][letter];
            phase += qml__pauli_product_phase(1, &ax, &az, &f->x, &f->z) + (f->sign < 0 ? 2u : 0u);
            ax ^= f->x;
            az ^= f->z;
        }
    /* The image of a Hermitian string is Hermitian: the phase is 0 or 2. */
    *x = (*x & ~local) | ax;
    *z = (*z & ~local) | az;
    return (phase & 3u) == 2u ? -1 : 1;
}

/* Beyond this many terms a generator moved through constant rotations is
 * refused: each non-commuting rotation can double the terms. */
#define TRANSPORT_MAX_TERMS ((size_t)1 << 20)
#define TRANSPORT_HALF_PI 1.57079632679489661923

/* cos and sin of phi, exact where phi is a multiple of pi/2 to rounding
 * (rx(pi/2) from a file must give a single string, not one plus 6e-17 of
 * another). */
static void cos_sin_snapped(double phi, double *c, double *s)
{
    double quarter = phi / TRANSPORT_HALF_PI, k = nearbyint(quarter);
    if (fabs(quarter - k) <= 4.0 * DBL_EPSILON * fmax(1.0, fabs(quarter)) && fabs(k) < 1e15) {
        static const double cs[4][2] = {{1.0, 0.0}, {0.0, 1.0}, {-1.0, 0.0}, {0.0, -1.0}};
        int r = (int)fmod(k, 4.0);
        r = (r + 4) % 4;
        *c = cs[r][0];
        *s = cs[r][1];
        return;
    }
    *c = cos(phi);
    *s = sin(phi);
}

/* *sum <- U^dagger *sum U for U = exp(-i theta/2 G), G the gate's generator
 * at a fixed angle theta. The terms P_k of G commute pairwise, so U is the
 * product of exp(-i theta c_k/2 P_k) and each acts on a term Q by
 *   Q                                   if [P, Q] = 0,
 *   cos(phi) Q + sin(phi) (i P Q)       if {P, Q} = 0   (phi = theta c_k),
 * since exp(i phi/2 P) Q exp(-i phi/2 P) = exp(i phi P) Q for anticommuting
 * strings and exp(i phi P) = cos(phi) + i sin(phi) P. With P Q = i^m R
 * (m odd), i P Q = -R for m = 1 and +R for m = 3. */
static int conjugate_by_rotation(const qml_circuit *circuit, const qml__gate *gate, double theta, size_t j,
                                 size_t index, qml_pauli_sum **sum)
{
    qml_pauli_sum *generator = NULL;
    if (qml_pauli_sum_create(&generator, circuit->n_qubits) != QML_OK)
        return qml__oom("a transported generator");
    int status = accumulate_generator(generator, gate, 1.0);
    unsigned words = generator->words;
    uint64_t *scratch = status ? NULL : qml__malloc(2 * (size_t)words * sizeof *scratch);
    if (!status && !scratch)
        status = QML_ERR_OUT_OF_MEMORY;
    for (size_t k = 0; k < generator->n_terms && status == QML_OK; k++) {
        const uint64_t *px = generator->x + k * words, *pz = generator->z + k * words;
        double c, s;
        cos_sin_snapped(theta * generator->coeff[k], &c, &s);
        if (s == 0.0 && c == 1.0)
            continue;
        const qml_pauli_sum *old = *sum;
        qml_pauli_sum *moved = NULL;
        if (qml_pauli_sum_create(&moved, circuit->n_qubits) != QML_OK) {
            status = QML_ERR_OUT_OF_MEMORY;
            break;
        }
        for (size_t t = 0; t < old->n_terms && status == QML_OK; t++) {
            const uint64_t *qx = old->x + t * words, *qz = old->z + t * words;
            double a = old->coeff[t];
            if (!qml__pauli_anticommute(words, px, pz, qx, qz)) {
                status = qml__pauli_sum_add_masks(moved, a, qx, qz);
                continue;
            }
            if (c != 0.0)
                status = qml__pauli_sum_add_masks(moved, c * a, qx, qz);
            if (status == QML_OK && s != 0.0) {
                unsigned m = qml__pauli_product_phase(words, px, pz, qx, qz);
                for (unsigned w = 0; w < words; w++) {
                    scratch[w] = px[w] ^ qx[w];
                    scratch[words + w] = pz[w] ^ qz[w];
                }
                status = qml__pauli_sum_add_masks(moved, (m == 3 ? s : -s) * a, scratch, scratch + words);
            }
        }
        if (status == QML_OK)
            qml__pauli_sum_prune(moved, 0.0);
        if (status == QML_OK && moved->n_terms > TRANSPORT_MAX_TERMS) {
            qml_pauli_sum_free(moved);
            status = qml__error(QML_ERR_LIMIT,
                                "qml__circuit_transported_generator: moving gate %zu's generator through the constant "
                                "rotation %zu (%s) gives more than %zu Pauli terms",
                                index, j, kind_name(gate->kind), TRANSPORT_MAX_TERMS);
            break;
        }
        if (status != QML_OK) {
            qml_pauli_sum_free(moved);
            break;
        }
        qml_pauli_sum_free(*sum);
        *sum = moved;
    }
    qml__free(scratch);
    qml_pauli_sum_free(generator);
    if (status == QML_ERR_OUT_OF_MEMORY)
        return qml__oom("a transported generator");
    return status;
}

/* *sum <- V^dagger *sum V for V the product of the gates before gate
 * `index` that read no weight (in circuit order): then U = V_end prod_k
 * exp(-i theta_k/2 V_k^dagger G_k V_k), so the transported generators are
 * what the Lie algebra of the whole circuit is generated by. A rotation that
 * reads no weight is a fixed gate at its angle with every input feature at 0
 * (its constant), the point at which the library's diagnostics hold the
 * features. */
static int transport(const qml_circuit *circuit, size_t index, const size_t *previous, qml_pauli_sum **sum)
{
    /* With `previous` (see qml__circuit_transported_weight_generators) the
     * walk visits only the gates that move generators; without, every gate. */
    for (size_t j = previous ? previous[index] : index - 1; j != SIZE_MAX; j = previous ? previous[j] : j - 1) {
        const qml__gate *gate = &circuit->gates[j];
        if (!moves_generators(gate))
            continue;
        if (qml__gate_is_parametrised(gate->kind)) {
            int status = conjugate_by_rotation(circuit, gate, gate->constant, j, index, sum);
            if (status != QML_OK)
                return status;
            continue;
        }
        pauli_image images[2][2];
        if (circuit->n_qubits > 64)
            return qml__error(QML_ERR_NOT_APPLICABLE,
                              "qml__circuit_transported_generator: fixed gate %zu (%s) before gate %zu: moving "
                              "generators through fixed gates is implemented for up to 64 qubits, the circuit has %u",
                              j, kind_name(gate->kind), index, circuit->n_qubits);
        if (!clifford_tableau(gate, images))
            return qml__error(QML_ERR_NOT_APPLICABLE,
                              "qml__circuit_transported_generator: fixed gate %zu (%s) before gate %zu is not a "
                              "Clifford gate, so the generator does not stay a Pauli sum",
                              j, kind_name(gate->kind), index);
        qml_pauli_sum *moved = NULL;
        if (qml_pauli_sum_create(&moved, circuit->n_qubits) != QML_OK)
            return qml__oom("a transported generator");
        const qml_pauli_sum *old = *sum;
        for (size_t t = 0; t < old->n_terms; t++) {
            uint64_t x = old->x[t], z = old->z[t];
            int sign = conjugate_string(gate, images, &x, &z);
            if (qml__pauli_sum_add_masks(moved, sign * old->coeff[t], &x, &z) != QML_OK) {
                qml_pauli_sum_free(moved);
                return qml__oom("a transported generator");
            }
        }
        qml_pauli_sum_free(*sum);
        *sum = moved;
    }
    return QML_OK;
}

/* ---- for g-sim (gsim.c): Clifford images of one-word strings ---------------- */

bool qml__gate_clifford_images(const qml__gate *gate, uint64_t images[12])
{
    pauli_image t[2][2];
    memset(t, 0, sizeof t);
    if (gate->n_targets > 2 || !clifford_tableau(gate, t))
        return false;
    for (unsigned i = 0; i < 2; i++)
        for (unsigned letter = 0; letter < 2; letter++) {
            uint64_t *out = images + 3 * (2 * i + letter);
            out[0] = t[i][letter].x;
            out[1] = t[i][letter].z;
            out[2] = t[i][letter].sign < 0;
        }
    return true;
}

int qml__gate_clifford_conjugate(const qml__gate *gate, const uint64_t images[12], uint64_t *x, uint64_t *z)
{
    pauli_image t[2][2];
    for (unsigned i = 0; i < 2; i++)
        for (unsigned letter = 0; letter < 2; letter++) {
            const uint64_t *in = images + 3 * (2 * i + letter);
            t[i][letter] = (pauli_image){in[0], in[1], in[2] ? -1 : 1};
        }
    return conjugate_string(gate, t, x, z);
}
