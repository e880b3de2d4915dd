/* cmd_grad.c: under construction on its issue branch. */
#include "cli.h"

#include <stdio.h>

int cmd_grad(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "qml: 'grad' is not built in this version\n");
    return 2;
}
