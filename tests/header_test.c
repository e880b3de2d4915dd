/* The public header compiles alone as strict C11 and works when linked. */
#include "qml.h"
#include "qml.h" /* and twice */

int main(void)
{
    return qml_version_number() == QML_VERSION_NUMBER ? 0 : 1;
}
