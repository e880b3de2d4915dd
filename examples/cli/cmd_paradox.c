/* cmd_paradox.c: under construction on its issue branch. */
#include "cli.h"

#include <stdio.h>

int cmd_paradox(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "qml: 'paradox' is not built in this version\n");
    return 2;
}
