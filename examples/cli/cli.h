/* cli.h: what the subcommands of the qml program share. */
#ifndef QML_CLI_H
#define QML_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "qml.h"

/* Each subcommand: argv[0] is its own name; returns the process exit code. */
int cmd_version(int argc, char **argv);
int cmd_pauli(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_dla(int argc, char **argv);
int cmd_bp(int argc, char **argv);
int cmd_grad(int argc, char **argv);
int cmd_paradox(int argc, char **argv);
int cmd_diagnose(int argc, char **argv);
/* Benchmarks behind `qml bench NAME`; argv[0] is NAME. */
int bench_statevec(int argc, char **argv);
int bench_gate(int argc, char **argv);
int bench_grad(int argc, char **argv);
int bench_dla(int argc, char **argv);
int bench_bp(int argc, char **argv);
int bench_gsim(int argc, char **argv);
int bench_train(int argc, char **argv);

/* Print "qml: <what>: <status text>: <library message>" to stderr; returns 1. */
int cli_fail(const char *what, int status);
/* Print "qml: <message>" to stderr; returns 2 (usage errors). */
int cli_usage_error(const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* "qml: <command>: cannot <action> '<path>': <strerror(errno)>" to stderr;
 * returns 1. Call right after the failing call, while errno holds. */
int cli_file_error(const char *command, const char *action, const char *path);
/* mkdir -p: create `dir` and its missing parents (0777 less the umask);
 * 0, or -1 with errno set (ENOTDIR when a part exists and is no folder). */
int cli_make_dirs(const char *dir);
/* Create the folders above the file `path` (nothing for a bare name). */
int cli_make_parent_dirs(const char *path);
/* Split every "--opt=value" before a lone "--" into "--opt" "value", so each
 * command's `--opt value` loop accepts both forms. Returns a new argv
 * (argc updated) or NULL when out of memory; the strings are new too. */
char **cli_normalise_argv(int *argc, char **argv);

/* Strict number parsing: the whole string must be a number in range. */
bool cli_parse_u64(const char *text, uint64_t *out);
bool cli_parse_unsigned(const char *text, unsigned *out);
bool cli_parse_double(const char *text, double *out);
/* "A-B" or "A" into a range. */
bool cli_parse_range(const char *text, unsigned *first, unsigned *last);
/* Format a Pauli sum into a new heap string (free with free()); NULL on failure. */
char *cli_format_sum(const qml_pauli_sum *sum);
/* The median of `count` values (sorts them in place). */
double cli_median(double *values, int count);
/* Wall-clock seconds (C11 timespec_get). */
double cli_seconds(void);

/* The machine's idle check, printed beside benchmark figures: the 1-minute
 * load average (/proc/loadavg, NaN elsewhere) and the CPU time over wall
 * time of a 0.2 s busy loop (about 1 on an idle core, lower when other
 * processes share it), before and after the measurements. */
typedef struct cli_idle_check {
    double load_before, load_after;
    double cpu_over_wall_before, cpu_over_wall_after;
} cli_idle_check;
void cli_idle_check_begin(cli_idle_check *check);
void cli_idle_check_end(cli_idle_check *check);
/* "machine: load ... CPU over wall ... before / after, N CPUs" */
void cli_print_idle_check(const cli_idle_check *check);
struct cli_json;
/* key "idle_check": {load_average_before, load_average_after,
 * cpu_over_wall_before, cpu_over_wall_after, cpus_online} */
void cli_json_idle_check(struct cli_json *out, const cli_idle_check *check);

/* The most a generator file may hold: a text of Pauli sums is small, and a
 * bound turns an endless stream (/dev/zero, a pipe) into an error. */
#define CLI_TEXT_MAX ((size_t)64 << 20)
/* Read all of `path` ("-" for stdin) into a NUL-terminated heap string (free
 * with free()). Refuses a file over CLI_TEXT_MAX bytes and one holding a NUL
 * byte (not text); prints "qml: <command>: <why>" and returns NULL on any
 * failure. */
char *cli_read_text(const char *command, const char *path);
/* The non-blank lines of `text` (modified in place): comments from '#' and
 * surrounding blanks removed; numbers[i] is line i's 1-based number in the
 * file. Free with cli_lines_free(); returns non-zero when out of memory. */
typedef struct cli_lines {
    size_t count;
    char **lines;
    size_t *numbers;
} cli_lines;
int cli_split_lines(char *text, cli_lines *list);
void cli_lines_free(cli_lines *list);

/* What certifies simple ideal j of `algebra` as simple, as words:
 * "classification", "shape", "all strings", "decomposition", joined by "+"
 * ("" for none). `qml dla` and `qml bp` print it alike. */
const char *cli_certificate_words(const qml_lie_algebra *algebra, size_t j, char *buffer, size_t size);
/* One line per simple ideal, "<lead>ideal j: dim d, rank r: names (simple:
 * words)", and "<lead>certificates: <message>" when the structure is known
 * and qml_lie_algebra_structure_message() says something. */
void cli_print_ideals(FILE *to, const qml_lie_algebra *algebra, const char *lead);
struct cli_json;
/* "ideals": one object per simple ideal (dim, rank, names,
 * simple_certified, certificates), null when the structure is not known,
 * and "structure_message" (null when empty). */
void cli_json_ideals(struct cli_json *json, const qml_lie_algebra *algebra);

#endif
