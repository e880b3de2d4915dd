/* A program that knows libqml only as an installed or vendored package:
 * through pkg-config (pkgconfig/check.sh), a Meson subproject
 * (tests/consumers/subproject) or a CMake package configuration
 * (tests/consumers/cmake); .ci/jobs/consumers.sh builds the last two. */
#include <qml.h>
#include <stdio.h>

int main(void)
{
    qml_pauli_sum *a = NULL, *b = NULL, *c = NULL;
    int status = qml_pauli_sum_parse(&a, 1, "X0");
    if (status == QML_OK)
        status = qml_pauli_sum_parse(&b, 1, "Y0");
    if (status == QML_OK)
        status = qml_pauli_sum_bracket(&c, a, b); /* -i[X, Y] = 2 Z */
    double coefficient = 0;
    if (status == QML_OK)
        status = qml_pauli_sum_term(c, 0, &coefficient, NULL);
    qml_pauli_sum_free(a);
    qml_pauli_sum_free(b);
    qml_pauli_sum_free(c);
    if (status != QML_OK || coefficient != 2.0 || qml_version_number() != QML_VERSION_NUMBER) {
        fprintf(stderr, "consumer: %s\n", qml_last_error());
        return 1;
    }
    printf("libqml %s: -i[X,Y] = %g Z\n", qml_version_string(), coefficient);
    return 0;
}
