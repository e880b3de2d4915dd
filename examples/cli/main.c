/*
 * qml: the libqml command-line program. Every subcommand is a thin layer
 * over the public API; errors go to stderr with a non-zero exit.
 */
#include "cli.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"version", cmd_version, "print the library version"},
    {"diagnose", cmd_diagnose, "will this OpenQASM circuit train, and why"},
    {"pauli", cmd_pauli, "Pauli-sum algebra: bracket, anticommutator, inner"},
    {"dla", cmd_dla, "dynamical Lie algebra of a generator list"},
    {"grad", cmd_grad, "value and gradient of a circuit"},
    {"bp", cmd_bp, "barren-plateau scan: measured and predicted gradient variance"},
    {"paradox", cmd_paradox, "the expressivity-trainability study, written as a report"},
    {"bench", cmd_bench, "benchmarks of the simulator, gradients and closures"},
};

static void usage(FILE *to)
{
    fprintf(to, "usage: qml COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(to, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(to, "\n'qml COMMAND --help' describes a command.\n");
}

int cmd_version(int argc, char **argv)
{
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else
            return cli_usage_error("version: unknown argument '%s' (qml version [--json])", argv[i]);
    }
    if (json) {
        cli_json out;
        cli_json_begin(&out, stdout, "version", argc, argv);
        cli_json_kv_string(&out, "library", qml_version_string());
        cli_json_kv_u64(&out, "library_number", qml_version_number());
        cli_json_kv_u64(&out, "header_number", QML_VERSION_NUMBER);
        cli_json_end(&out);
    } else {
        printf("qml %s (libqml %s, header %d.%d.%d)\n", qml_version_string(), qml_version_string(),
               QML_VERSION_MAJOR, QML_VERSION_MINOR, QML_VERSION_PATCH);
    }
    if (qml_version_number() != QML_VERSION_NUMBER) {
        fprintf(stderr, "qml: library version %u does not match header version %d\n", qml_version_number(),
                QML_VERSION_NUMBER);
        return 1;
    }
    return 0;
}

static int run(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version"))
        return cmd_version(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "qml: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}

int main(int argc, char **argv)
{
    /* One normalisation for every command: --opt=value becomes --opt value. */
    int n = argc;
    char **normalised = cli_normalise_argv(&n, argv);
    if (!normalised) {
        fprintf(stderr, "qml: out of memory\n");
        return 1;
    }
    int code = run(n, normalised);
    for (int i = 0; i < n; i++)
        free(normalised[i]);
    free(normalised);
    return code;
}
