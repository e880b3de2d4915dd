/* bench_bp.c: under construction on its issue branch. */
#include "cli.h"

#include <stdio.h>

int bench_bp(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "qml: benchmark 'bp' is not built in this version\n");
    return 2;
}
