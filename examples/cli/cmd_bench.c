/*
 * cmd_bench.c: `qml bench [statevec|gate|grad|dla|bp|gsim|train] [--quick] [--json]`.
 * Each benchmark prints ratios measured in the same run (medians of
 * repeats), never bare timings compared against fixed numbers.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

int cmd_bench(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
    } benches[] = {
        {"statevec", bench_statevec},
        {"gate", bench_gate},
        {"grad", bench_grad},
        {"dla", bench_dla},
        {"bp", bench_bp},
        {"gsim", bench_gsim},
        {"train", bench_train},
    };
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: qml bench [statevec|grad|dla|bp|gsim|train] [--quick] [--json] [--threads T]\n"
               "  with no name (or only options), runs the statevector benchmark\n"
               "usage: qml bench gate --gate NAME --qubits A[,B[,C]] [--n N] [--repeat K] [--threads T]\n"
               "                      [--ab SWITCH=a,b] [--quick] [--json]\n"
               "  times one gate against the limits measured in the same run; with --ab, interleaved\n"
               "  between the values of a kernel switch (qml bench gate --help lists them)\n");
        return 0;
    }
    if (argc >= 2 && argv[1][0] != '-') {
        for (size_t i = 0; i < sizeof benches / sizeof benches[0]; i++)
            if (!strcmp(argv[1], benches[i].name))
                return benches[i].run(argc - 1, argv + 1);
        return cli_usage_error("bench: unknown benchmark '%s' (statevec, gate, grad, dla, bp, gsim, train)", argv[1]);
    }
    return bench_statevec(argc, argv);
}
