/* cmd_dla.c: under construction on its issue branch. */
#include "cli.h"

#include <stdio.h>

int cmd_dla(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "qml: 'dla' is not built in this version\n");
    return 2;
}
