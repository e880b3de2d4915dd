/* Worked example (docs/simulator.md, docs/circuits.md): build a circuit,
 * run it on |00> and read an expectation value. Built and run by the test
 * suite (suite 'examples'). */
#include <qml.h>
#include <math.h>
#include <stdio.h>

int main(void)
{
    qml_circuit *circuit = NULL;
    qml_statevec *state = NULL;
    qml_pauli_sum *zz = NULL;
    const unsigned q0 = 0, pair[2] = {0, 1};
    /* RY(w0) on qubit 0 (weight 0, scale 1, no feature), then CNOT 0 -> 1. */
    int status = qml_circuit_create(&circuit, 2);
    if (status == QML_OK)
        status = qml_circuit_add_rotation(circuit, QML_GATE_RY, &q0, 1, 0.0, 0, 1.0, -1, 0.0);
    if (status == QML_OK)
        status = qml_circuit_add_gate(circuit, QML_GATE_CNOT, pair, 2);
    if (status == QML_OK)
        status = qml_statevec_create(&state, 2);
    const double weights[1] = {0.7};
    if (status == QML_OK)
        status = qml_statevec_run(state, circuit, weights, 1, NULL, 0);
    if (status == QML_OK)
        status = qml_pauli_sum_parse(&zz, 2, "Z0 Z1");
    double value = 0;
    if (status == QML_OK)
        status = qml_statevec_expectation(state, zz, &value);
    if (status != QML_OK) {
        fprintf(stderr, "simulator: %s\n", qml_last_error());
        return 1;
    }
    /* The CNOT copies qubit 0's Z onto qubit 1, so <Z0 Z1> = 1 for any w0. */
    printf("<Z0 Z1> = %.6f\n", value);
    qml_pauli_sum_free(zz);
    qml_statevec_free(state);
    qml_circuit_free(circuit);
    return fabs(value - 1.0) < 1e-12 ? 0 : 1;
}
