/* statevec.c: under construction on its issue branch. */
#include "internal.h"
typedef int qml__placeholder_statevec;
