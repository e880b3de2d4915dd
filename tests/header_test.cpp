// The public header compiles alone as C++ and links from a C++ program.
#include "qml.h"

#include <cstring>

int main()
{
    qml_pauli_sum *sum = nullptr;
    if (qml_pauli_sum_create(&sum, 2) != QML_OK)
        return 1;
    qml_pauli_sum_free(sum);
    return std::strlen(qml_version_string()) > 0 && qml_version_number() == QML_VERSION_NUMBER ? 0 : 1;
}
