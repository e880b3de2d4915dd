/* Worked example (docs/pauli.md): Pauli sums as text, their commutator and
 * inner product. Built and run by the test suite (suite 'examples'). */
#include <qml.h>
#include <stdio.h>

int main(void)
{
    qml_pauli_sum *a = NULL, *b = NULL, *bracket = NULL;
    int status = qml_pauli_sum_parse(&a, 2, "X0 X1 + 0.5*Z0");
    if (status == QML_OK)
        status = qml_pauli_sum_parse(&b, 2, "Z0");
    /* -i[A, B] = -i[X0 X1, Z0] = -2 Y0 X1 (the 0.5 Z0 term commutes). */
    if (status == QML_OK)
        status = qml_pauli_sum_bracket(&bracket, a, b);
    char text[128];
    if (status == QML_OK)
        status = qml_pauli_sum_format(bracket, text, sizeof text, NULL);
    if (status != QML_OK) {
        fprintf(stderr, "pauli: %s\n", qml_last_error());
        return 1;
    }
    printf("-i[A, B] = %s\n", text); /* -2*Y0 X1 */
    qml_pauli_sum_free(a);
    qml_pauli_sum_free(b);
    qml_pauli_sum_free(bracket);
    return 0;
}
