/*
 * ansatz.c: circuit templates (hardware-efficient, layered generator sets,
 * named families with known Lie algebras, angle encoding) built on circuit.c.
 */
#include "internal.h"

#include <math.h>

/* Every template appends all of its gates or none: a failure part-way rolls
 * the circuit back to the mark taken on entry. */

static int hea_layers(qml_circuit *circuit, unsigned layers, qml_entangler entangler, qml_boundary boundary);
static int rotation(qml_circuit *circuit, qml_gate_kind kind, unsigned a, unsigned b, size_t weight);
static int evolution(qml_circuit *circuit, const qml_pauli_sum *generator, size_t weight);
static int add_term(qml_pauli_sum *sum, char op, unsigned a, unsigned b);
static int family_layers(qml_circuit *circuit, qml_ansatz_family family, unsigned layers);
static int check_weight_budget(const qml_circuit *circuit, size_t per_layer, unsigned layers, const char *caller);

/* ---- public functions ------------------------------------------------------ */

int qml_ansatz_hardware_efficient(qml_circuit *circuit, unsigned layers, qml_entangler entangler,
                                  qml_boundary boundary)
{
    QML_CHECK_NULL(circuit);
    QML_CHECK_ARG(entangler == QML_ENTANGLER_CZ || entangler == QML_ENTANGLER_CNOT,
                  "qml_ansatz_hardware_efficient: entangler %d is neither QML_ENTANGLER_CZ nor QML_ENTANGLER_CNOT",
                  (int)entangler);
    QML_CHECK_ARG(boundary == QML_BOUNDARY_OPEN || boundary == QML_BOUNDARY_PERIODIC,
                  "qml_ansatz_hardware_efficient: boundary %d is neither QML_BOUNDARY_OPEN nor QML_BOUNDARY_PERIODIC",
                  (int)boundary);
    int status = check_weight_budget(circuit, 2 * (size_t)circuit->n_qubits, layers, __func__);
    if (status)
        return status;
    qml__circuit_mark mark = qml__circuit_mark_get(circuit);
    status = hea_layers(circuit, layers, entangler, boundary);
    if (status) {
        qml__circuit_rollback(circuit, mark);
        return qml__error_context(status, __func__);
    }
    qml__ok();
    return QML_OK;
}

int qml_ansatz_layered(qml_circuit *circuit, const qml_pauli_sum *const *generators, size_t count,
                       const unsigned *groups, unsigned layers, int share_layers)
{
    QML_CHECK_NULL(circuit);
    QML_CHECK_NULL(generators);
    QML_CHECK_ARG(count >= 1, "qml_ansatz_layered: count = 0 generators");
    for (size_t k = 0; k < count; k++) {
        QML_CHECK_ARG(generators[k] != NULL, "qml_ansatz_layered: generator %zu is NULL", k);
        int status = qml__circuit_check_generator(circuit, generators[k], "qml_ansatz_layered");
        if (status)
            return status;
    }
    /* slot[k]: the weight offset of generator k within a layer. Groups are
     * numbered by first appearance, so group labels need not be dense. */
    size_t *slot = qml__calloc(count, sizeof *slot);
    if (!slot)
        return qml__oom("the weight slots of a layered ansatz");
    size_t per_layer = 0;
    for (size_t k = 0; k < count; k++) {
        slot[k] = per_layer;
        if (groups)
            for (size_t j = 0; j < k; j++)
                if (groups[j] == groups[k]) {
                    slot[k] = slot[j];
                    break;
                }
        if (slot[k] == per_layer)
            per_layer++;
    }
    int status = check_weight_budget(circuit, per_layer, share_layers ? (layers > 0) : layers, __func__);
    if (status) {
        qml__free(slot);
        return status;
    }

    qml__circuit_mark mark = qml__circuit_mark_get(circuit);
    size_t base = circuit->n_weights;
    for (unsigned layer = 0; layer < layers && status == QML_OK; layer++) {
        size_t first = base + (share_layers ? 0 : (size_t)layer * per_layer);
        for (size_t k = 0; k < count && status == QML_OK; k++)
            status = evolution(circuit, generators[k], first + slot[k]);
    }
    qml__free(slot);
    if (status) {
        qml__circuit_rollback(circuit, mark);
        return qml__error_context(status, __func__);
    }
    qml__ok();
    return QML_OK;
}

int qml_ansatz_family_append(qml_circuit *circuit, qml_ansatz_family family, unsigned layers)
{
    QML_CHECK_NULL(circuit);
    QML_CHECK_ARG(family >= QML_ANSATZ_HEA && family <= QML_ANSATZ_HEISENBERG,
                  "qml_ansatz_family_append: family %d is not a qml_ansatz_family (0..4)", (int)family);
    QML_CHECK_ARG(family == QML_ANSATZ_HEA || circuit->n_qubits >= 2,
                  "qml_ansatz_family_append: family %d couples qubits and needs n_qubits >= 2, the circuit has %u",
                  (int)family, circuit->n_qubits);
    size_t n = circuit->n_qubits;
    static const size_t fixed_per_layer[] = {0, 0, 2, 3, 0}; /* TFIM_GLOBAL: 2 sums, SN: 3 */
    size_t per_layer = family == QML_ANSATZ_HEA          ? 2 * n
                       : family == QML_ANSATZ_TFIM       ? 2 * n - 1
                       : family == QML_ANSATZ_HEISENBERG ? n - 1
                                                         : fixed_per_layer[family];
    int status = check_weight_budget(circuit, per_layer, layers, __func__);
    if (status)
        return status;
    qml__circuit_mark mark = qml__circuit_mark_get(circuit);
    status = family == QML_ANSATZ_HEA ? hea_layers(circuit, layers, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN)
                                          : family_layers(circuit, family, layers);
    if (status) {
        qml__circuit_rollback(circuit, mark);
        return qml__error_context(status, __func__);
    }
    qml__ok();
    return QML_OK;
}

int qml_ansatz_angle_encoding(qml_circuit *circuit, qml_gate_kind kind, unsigned n_features, double scale)
{
    QML_CHECK_NULL(circuit);
    QML_CHECK_ARG(kind == QML_GATE_RX || kind == QML_GATE_RY || kind == QML_GATE_RZ,
                  "qml_ansatz_angle_encoding: kind %d is not RX, RY or RZ", (int)kind);
    QML_CHECK_ARG(n_features >= 1, "qml_ansatz_angle_encoding: n_features = 0");
    QML_CHECK_ARG(isfinite(scale), "qml_ansatz_angle_encoding: scale is %g", scale);
    qml__circuit_mark mark = qml__circuit_mark_get(circuit);
    for (unsigned q = 0; q < circuit->n_qubits; q++) {
        int status = qml_circuit_add_rotation(circuit, kind, &q, 1, 0.0, QML_NONE, 0.0, (long)(q % n_features), scale);
        if (status) {
            qml__circuit_rollback(circuit, mark);
            return qml__error_context(status, __func__);
        }
    }
    qml__ok();
    return QML_OK;
}

/* ---- helpers ---------------------------------------------------------------- */

/* Layer l: RY(w[b + 2nl + q]) on every qubit q, then RZ(w[b + 2nl + n + q]),
 * then the entangler on bonds (0,1), (1,2), ..., and (n-1, 0) if periodic
 * and n > 2 (for n = 2 that bond would repeat (0, 1)). */
static int hea_layers(qml_circuit *circuit, unsigned layers, qml_entangler entangler, qml_boundary boundary)
{
    unsigned n = circuit->n_qubits;
    size_t weight = circuit->n_weights;
    qml_gate_kind gate = entangler == QML_ENTANGLER_CZ ? QML_GATE_CZ : QML_GATE_CNOT;
    unsigned bonds = n - 1 + (boundary == QML_BOUNDARY_PERIODIC && n > 2 ? 1u : 0u);
    for (unsigned layer = 0; layer < layers; layer++) {
        for (unsigned q = 0; q < n; q++) {
            int status = rotation(circuit, QML_GATE_RY, q, 0, weight++);
            if (status)
                return status;
        }
        for (unsigned q = 0; q < n; q++) {
            int status = rotation(circuit, QML_GATE_RZ, q, 0, weight++);
            if (status)
                return status;
        }
        for (unsigned b = 0; b < bonds; b++) {
            unsigned pair[2] = {b, (b + 1) % n};
            int status = qml_circuit_add_gate(circuit, gate, pair, 2);
            if (status)
                return status;
        }
    }
    return QML_OK;
}

/* The Pauli-sum families. The generator sums are built once and copied into
 * each gate. Their terms commute by construction (Z-type strings, X-type
 * strings, or XX, YY, ZZ on one bond). */
static int family_layers(qml_circuit *circuit, qml_ansatz_family family, unsigned layers)
{
    unsigned n = circuit->n_qubits;
    size_t weight = circuit->n_weights;
    enum { MAX_SUMS = 3 };
    qml_pauli_sum *sums[MAX_SUMS] = {NULL, NULL, NULL};
    unsigned n_sums = 0;
    int status = QML_OK;

    /* Build the global generators: TFIM_GLOBAL {sum ZZ periodic, sum X},
     * SN {sum_{i<j} ZZ, sum X, sum Z}. HEISENBERG builds one sum per bond. */
    if (family == QML_ANSATZ_TFIM_GLOBAL || family == QML_ANSATZ_SN)
        n_sums = family == QML_ANSATZ_SN ? 3 : 2;
    for (unsigned s = 0; s < n_sums && status == QML_OK; s++)
        if (qml_pauli_sum_create(&sums[s], n) != QML_OK)
            status = qml__oom("a family generator");
    if (status == QML_OK && family == QML_ANSATZ_TFIM_GLOBAL) {
        unsigned bonds = n > 2 ? n : 1; /* periodic; n = 2 has the single bond (0, 1) */
        for (unsigned b = 0; b < bonds && status == QML_OK; b++)
            status = add_term(sums[0], 'Z', b, (b + 1) % n);
        for (unsigned q = 0; q < n && status == QML_OK; q++)
            status = add_term(sums[1], 'X', q, q);
    }
    if (status == QML_OK && family == QML_ANSATZ_SN) {
        for (unsigned i = 0; i < n && status == QML_OK; i++)
            for (unsigned j = i + 1; j < n && status == QML_OK; j++)
                status = add_term(sums[0], 'Z', i, j);
        for (unsigned q = 0; q < n && status == QML_OK; q++)
            status = add_term(sums[1], 'X', q, q);
        for (unsigned q = 0; q < n && status == QML_OK; q++)
            status = add_term(sums[2], 'Z', q, q);
    }
    for (unsigned layer = 0; layer < layers && status == QML_OK; layer++) {
        switch (family) {
        case QML_ANSATZ_TFIM:
            /* exp(-i w Z_b Z_{b+1} / 2) on each open bond, then exp(-i w X_q / 2). */
            for (unsigned b = 0; b + 1 < n && status == QML_OK; b++)
                status = rotation(circuit, QML_GATE_RZZ, b, b + 1, weight++);
            for (unsigned q = 0; q < n && status == QML_OK; q++)
                status = rotation(circuit, QML_GATE_RX, q, 0, weight++);
            break;
        case QML_ANSATZ_TFIM_GLOBAL:
        case QML_ANSATZ_SN:
            for (unsigned s = 0; s < n_sums && status == QML_OK; s++)
                status = evolution(circuit, sums[s], weight++);
            break;
        case QML_ANSATZ_HEISENBERG:
            /* exp(-i w (X_b X_{b+1} + Y_b Y_{b+1} + Z_b Z_{b+1}) / 2) on each open bond. */
            for (unsigned b = 0; b + 1 < n && status == QML_OK; b++) {
                qml_pauli_sum *bond = NULL;
                if (qml_pauli_sum_create(&bond, n) != QML_OK) {
                    status = qml__oom("a Heisenberg bond generator");
                    break;
                }
                status = add_term(bond, 'X', b, b + 1);
                if (status == QML_OK)
                    status = add_term(bond, 'Y', b, b + 1);
                if (status == QML_OK)
                    status = add_term(bond, 'Z', b, b + 1);
                if (status == QML_OK)
                    status = evolution(circuit, bond, weight++);
                qml_pauli_sum_free(bond);
            }
            break;
        default:
            break;
        }
    }
    for (unsigned s = 0; s < n_sums; s++)
        qml_pauli_sum_free(sums[s]);
    return status;
}

/* Fail fast, before appending anything, if `layers` layers of `per_layer`
 * new weights would number a weight past the circuit's index limit 2^24 - 1
 * (appending millions of gates only to roll them back costs gigabytes). */
static int check_weight_budget(const qml_circuit *circuit, size_t per_layer, unsigned layers, const char *caller)
{
    const size_t limit = (size_t)1 << 24;
    size_t base = circuit->n_weights;
    if (per_layer != 0 && (base > limit || layers > (limit - base) / per_layer))
        return qml__error(QML_ERR_OUT_OF_RANGE,
                          "%s: %u layers of %zu weights from weight %zu would pass the weight index limit %zu",
                          caller, layers, per_layer, base, limit - 1);
    return QML_OK;
}

static int rotation(qml_circuit *circuit, qml_gate_kind kind, unsigned a, unsigned b, size_t weight)
{
    unsigned qubits[2] = {a, b};
    size_t count = kind == QML_GATE_RZZ ? 2 : 1;
    return qml_circuit_add_rotation(circuit, kind, qubits, count, 0.0, (long)weight, 1.0, QML_NONE, 0.0);
}

/* exp(-i w/2 H) for an H already validated (by qml__circuit_check_generator
 * in qml_ansatz_layered, or commuting by construction in the families), so
 * that the O(T^2) commutation check runs once per generator, not per layer. */
static int evolution(qml_circuit *circuit, const qml_pauli_sum *generator, size_t weight)
{
    return qml__circuit_append_pauli(circuit, generator, 0.0, (long)weight, 1.0, QML_NONE, 0.0);
}

/* sum += P_a P_b for a Pauli letter `op` (a == b: the single-qubit P_a). */
static int add_term(qml_pauli_sum *sum, char op, unsigned a, unsigned b)
{
    uint64_t bits = ((uint64_t)1 << a) | ((uint64_t)1 << b);
    uint64_t x = op == 'X' || op == 'Y' ? bits : 0, z = op == 'Z' || op == 'Y' ? bits : 0;
    return qml__pauli_sum_add_masks(sum, 1.0, &x, &z);
}
