/* cmd_bench.c: under construction on its issue branch. */
#include "cli.h"

#include <stdio.h>

int cmd_bench(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "qml: 'bench' is not built in this version\n");
    return 2;
}
