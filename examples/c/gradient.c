/* Worked example (docs/gradients.md): the value and gradient of <Z0> after
 * RY(w) by adjoint differentiation, checked against the closed form
 * d cos(w)/dw = -sin(w). Built and run by the test suite (suite 'examples'). */
#include <qml.h>
#include <math.h>
#include <stdio.h>

int main(void)
{
    qml_circuit *circuit = NULL;
    qml_pauli_sum *z0 = NULL;
    const unsigned q0 = 0;
    int status = qml_circuit_create(&circuit, 1);
    if (status == QML_OK)
        status = qml_circuit_add_rotation(circuit, QML_GATE_RY, &q0, 1, 0.0, 0, 1.0, -1, 0.0);
    if (status == QML_OK)
        status = qml_pauli_sum_parse(&z0, 1, "Z0");
    const double w = 0.4;
    double value = 0, gradient = 0;
    qml_gradient_options options = QML_GRADIENT_OPTIONS_INIT; /* adjoint */
    if (status == QML_OK)
        status = qml_gradient(circuit, z0, NULL, &w, 1, NULL, 0, &options, &value, &gradient, NULL);
    if (status != QML_OK) {
        fprintf(stderr, "gradient: %s\n", qml_last_error());
        return 1;
    }
    printf("l(w) = %.6f (cos w = %.6f), dl/dw = %.6f (-sin w = %.6f)\n", value, cos(w), gradient, -sin(w));
    qml_pauli_sum_free(z0);
    qml_circuit_free(circuit);
    return fabs(value - cos(w)) < 1e-12 && fabs(gradient + sin(w)) < 1e-12 ? 0 : 1;
}
