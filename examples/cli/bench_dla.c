/* bench_dla.c: under construction on its issue branch. */
#include "cli.h"

#include <stdio.h>

int bench_dla(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "qml: benchmark 'dla' is not built in this version\n");
    return 2;
}
