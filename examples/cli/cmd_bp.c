/* cmd_bp.c: under construction on its issue branch. */
#include "cli.h"

#include <stdio.h>

int cmd_bp(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "qml: 'bp' is not built in this version\n");
    return 2;
}
