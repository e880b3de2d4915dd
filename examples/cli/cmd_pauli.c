/* cmd_pauli.c: under construction on its issue branch. */
#include "cli.h"

#include <stdio.h>

int cmd_pauli(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "qml: 'pauli' is not built in this version\n");
    return 2;
}
