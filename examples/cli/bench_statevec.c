/* bench_statevec.c: under construction on its issue branch. */
#include "cli.h"

#include <stdio.h>

int bench_statevec(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "qml: benchmark 'statevec' is not built in this version\n");
    return 2;
}
