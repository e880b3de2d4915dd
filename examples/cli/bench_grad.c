/* bench_grad.c: under construction on its issue branch. */
#include "cli.h"

#include <stdio.h>

int bench_grad(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "qml: benchmark 'grad' is not built in this version\n");
    return 2;
}
