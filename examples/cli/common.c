/* common.c: helpers the qml subcommands share. */
#include "cli.h"
#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/stat.h>
#include <unistd.h>

int cli_fail(const char *what, int status)
{
    const char *message = qml_last_error();
    fprintf(stderr, "qml: %s: %s%s%s\n", what, qml_status_string(status), message[0] ? ": " : "", message);
    return 1;
}

int cli_file_error(const char *command, const char *action, const char *path)
{
    int error = errno;
    fprintf(stderr, "qml: %s: cannot %s '%s': %s\n", command, action, path, strerror(error));
    return 1;
}

int cli_make_dirs(const char *dir)
{
    size_t length = strlen(dir);
    char *path = malloc(length + 1);
    if (!path) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(path, dir, length + 1);
    int result = 0;
    /* Each prefix ending before a '/', then the whole path. */
    for (size_t i = 1; i <= length && result == 0; i++) {
        if (i < length && path[i] != '/')
            continue;
        char saved = path[i];
        path[i] = '\0';
        struct stat st;
        if (stat(path, &st) == 0) {
            if (!S_ISDIR(st.st_mode)) {
                errno = ENOTDIR;
                result = -1;
            }
        } else if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            result = -1;
        }
        path[i] = saved;
    }
    free(path);
    return result;
}

int cli_make_parent_dirs(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return 0;
    size_t n = (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (!dir) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(dir, path, n);
    dir[n] = '\0';
    int result = cli_make_dirs(dir);
    free(dir);
    return result;
}

char **cli_normalise_argv(int *argc, char **argv)
{
    int n = *argc;
    char **out = calloc((size_t)n * 2 + 1, sizeof *out);
    if (!out)
        return NULL;
    int k = 0;
    bool options = true;
    for (int i = 0; i < n; i++) {
        const char *arg = argv[i];
        const char *equals = options && i > 0 && !strncmp(arg, "--", 2) ? strchr(arg, '=') : NULL;
        if (options && !strcmp(arg, "--"))
            options = false;
        if (equals && equals > arg + 2) {
            size_t name = (size_t)(equals - arg);
            out[k] = malloc(name + 1);
            if (out[k]) {
                memcpy(out[k], arg, name);
                out[k][name] = '\0';
            }
            out[k + 1] = malloc(strlen(equals + 1) + 1);
            if (out[k + 1])
                strcpy(out[k + 1], equals + 1);
            k += 2;
        } else {
            out[k] = malloc(strlen(arg) + 1);
            if (out[k])
                strcpy(out[k], arg);
            k++;
        }
        if (!out[k - 1] || (equals && equals > arg + 2 && !out[k - 2])) {
            for (int j = 0; j < k; j++)
                free(out[j]);
            free(out);
            return NULL;
        }
    }
    *argc = k;
    return out;
}

int cli_usage_error(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fputs("qml: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    return 2;
}

bool cli_parse_u64(const char *text, uint64_t *out)
{
    if (!text || !*text || *text == '-' || *text == '+')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 0);
    if (errno || *end)
        return false;
    *out = (uint64_t)v;
    return true;
}

bool cli_parse_unsigned(const char *text, unsigned *out)
{
    uint64_t v;
    if (!cli_parse_u64(text, &v) || v > 0xFFFFFFFFu)
        return false;
    *out = (unsigned)v;
    return true;
}

bool cli_parse_double(const char *text, double *out)
{
    if (!text || !*text)
        return false;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || *end || !isfinite(v))
        return false;
    *out = v;
    return true;
}

bool cli_parse_range(const char *text, unsigned *first, unsigned *last)
{
    const char *dash = text ? strchr(text, '-') : NULL;
    if (!dash) {
        if (!cli_parse_unsigned(text, first))
            return false;
        *last = *first;
        return true;
    }
    char head[32];
    size_t n = (size_t)(dash - text);
    if (n == 0 || n >= sizeof head)
        return false;
    memcpy(head, text, n);
    head[n] = '\0';
    return cli_parse_unsigned(head, first) && cli_parse_unsigned(dash + 1, last) && *first <= *last;
}

char *cli_format_sum(const qml_pauli_sum *sum)
{
    size_t length = 0;
    int status = qml_pauli_sum_format(sum, NULL, 0, &length);
    if (status != QML_OK && status != QML_ERR_OUT_OF_RANGE)
        return NULL;
    char *text = malloc(length + 1);
    if (text && qml_pauli_sum_format(sum, text, length + 1, &length) != QML_OK) {
        free(text);
        return NULL;
    }
    return text;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double cli_median(double *values, int count)
{
    qsort(values, (size_t)count, sizeof *values, compare_doubles);
    return count % 2 ? values[count / 2] : 0.5 * (values[count / 2 - 1] + values[count / 2]);
}

double cli_seconds(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double idle_cpu_over_wall(void)
{
    clock_t c0 = clock();
    double t0 = cli_seconds(), sink = 1.0;
    while (cli_seconds() - t0 < 0.2)
        for (int k = 0; k < 10000; k++)
            sink = sink * 1.0000001 + 1e-9;
    double wall = cli_seconds() - t0;
    double cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    return sink > 0.0 ? cpu / wall : 0.0;
}

static double load_average(void)
{
    double value = (double)NAN;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &value) != 1)
            value = (double)NAN;
        fclose(f);
    }
    return value;
}

static unsigned cpus_online(void)
{
#if defined(_SC_NPROCESSORS_ONLN)
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 0;
#else
    return 0;
#endif
}

void cli_idle_check_begin(cli_idle_check *check)
{
    check->load_before = load_average();
    check->cpu_over_wall_before = idle_cpu_over_wall();
    check->load_after = check->cpu_over_wall_after = (double)NAN;
}

void cli_idle_check_end(cli_idle_check *check)
{
    check->cpu_over_wall_after = idle_cpu_over_wall();
    check->load_after = load_average();
}

void cli_print_idle_check(const cli_idle_check *check)
{
    printf("machine: load %.2f / %.2f, CPU over wall %.2f / %.2f before / after (1.00 = an idle core), %u CPUs\n",
           check->load_before, check->load_after, check->cpu_over_wall_before, check->cpu_over_wall_after,
           cpus_online());
}

void cli_json_idle_check(cli_json *out, const cli_idle_check *check)
{
    cli_json_key(out, "idle_check");
    cli_json_object_begin(out);
    cli_json_kv_number(out, "load_average_before", check->load_before);
    cli_json_kv_number(out, "load_average_after", check->load_after);
    cli_json_kv_number(out, "cpu_over_wall_before", check->cpu_over_wall_before);
    cli_json_kv_number(out, "cpu_over_wall_after", check->cpu_over_wall_after);
    cli_json_kv_u64(out, "cpus_online", cpus_online());
    cli_json_object_end(out);
}

char *cli_read_text(const char *command, const char *path)
{
    FILE *in = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!in) {
        int error = errno;
        fprintf(stderr, "qml: %s: cannot open '%s': %s\n", command, path, strerror(error));
        return NULL;
    }
    size_t length = 0, capacity = 4096;
    char *text = malloc(capacity);
    const char *why = text ? NULL : "out of memory";
    while (!why) {
        size_t got = fread(text + length, 1, capacity - length - 1, in);
        if (got == 0)
            break;
        if (memchr(text + length, '\0', got)) {
            why = "it holds a NUL byte (not a text file)";
            break;
        }
        length += got;
        if (length > CLI_TEXT_MAX) {
            why = "it is larger than 64 MiB";
            break;
        }
        if (length + 1 == capacity) {
            char *grown = realloc(text, 2 * capacity);
            if (!grown) {
                why = "out of memory";
                break;
            }
            text = grown;
            capacity *= 2;
        }
    }
    if (!why && ferror(in))
        why = "read error";
    if (in != stdin)
        fclose(in);
    if (why) {
        fprintf(stderr, "qml: %s: cannot read '%s': %s\n", command, path, why);
        free(text);
        return NULL;
    }
    text[length] = '\0';
    return text;
}

int cli_split_lines(char *text, cli_lines *list)
{
    size_t number = 0;
    for (char *line = text; line && *line;) {
        char *end = strchr(line, '\n');
        if (end)
            *end = '\0';
        number++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        while (*line == ' ' || *line == '\t' || *line == '\r')
            line++;
        size_t n = strlen(line);
        while (n && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n) {
            char **l = realloc(list->lines, (list->count + 1) * sizeof *l);
            if (l)
                list->lines = l;
            size_t *num = l ? realloc(list->numbers, (list->count + 1) * sizeof *num) : NULL;
            if (!l || !num)
                return 1;
            list->numbers = num;
            list->lines[list->count] = line;
            list->numbers[list->count++] = number;
        }
        line = end ? end + 1 : NULL;
    }
    return 0;
}

void cli_lines_free(cli_lines *list)
{
    free(list->lines);
    free(list->numbers);
    list->lines = NULL;
    list->numbers = NULL;
    list->count = 0;
}

const char *cli_certificate_words(const qml_lie_algebra *algebra, size_t j, char *buffer, size_t size)
{
    qml_lie_certificate c = QML_LIE_CERTIFICATE_NONE;
    buffer[0] = '\0';
    if (qml_lie_algebra_ideal_certificate(algebra, j, &c) != 0)
        return buffer;
    static const struct {
        unsigned flag;
        const char *word;
    } words[] = {{QML_LIE_CERTIFICATE_CLASSIFICATION, "classification"},
                 {QML_LIE_CERTIFICATE_SHAPE, "shape"},
                 {QML_LIE_CERTIFICATE_FULL, "all strings"},
                 {QML_LIE_CERTIFICATE_DECOMPOSITION, "decomposition"},
                 {QML_LIE_CERTIFICATE_REPRESENTATION, "representation"}};
    size_t used = 0;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (((unsigned)c & words[i].flag) && used < size)
            used += (size_t)snprintf(buffer + used, size - used, "%s%s", used ? "+" : "", words[i].word);
    return buffer;
}

void cli_print_ideals(FILE *to, const qml_lie_algebra *algebra, const char *lead)
{
    if (!qml_lie_algebra_structure_known(algebra))
        return;
    for (size_t j = 0; j < qml_lie_algebra_n_ideals(algebra); j++) {
        size_t dim = 0, rank = 0;
        const char *names = "";
        qml_lie_algebra_ideal(algebra, j, &dim, &rank, &names);
        char cert[96];
        cli_certificate_words(algebra, j, cert, sizeof cert);
        fprintf(to, "%sideal %zu: dim %zu, rank %zu: %s%s%s%s\n", lead, j, dim, rank, names,
                cert[0] ? " (simple: " : "", cert, cert[0] ? ")" : "");
    }
    const char *message = qml_lie_algebra_structure_message(algebra);
    if (message[0])
        fprintf(to, "%scertificates: %s\n", lead, message);
}

void cli_json_ideals(struct cli_json *json, const qml_lie_algebra *algebra)
{
    cli_json_key(json, "ideals");
    if (!algebra || !qml_lie_algebra_structure_known(algebra)) {
        cli_json_null(json);
    } else {
        cli_json_array_begin(json);
        for (size_t j = 0; j < qml_lie_algebra_n_ideals(algebra); j++) {
            size_t dim = 0, rank = 0;
            const char *names = "";
            qml_lie_algebra_ideal(algebra, j, &dim, &rank, &names);
            cli_json_object_begin(json);
            cli_json_kv_u64(json, "dim", dim);
            cli_json_kv_u64(json, "rank", rank);
            cli_json_kv_string(json, "names", names);
            char cert[96];
            cli_certificate_words(algebra, j, cert, sizeof cert);
            cli_json_kv_bool(json, "simple_certified", cert[0] != '\0');
            cli_json_kv_string(json, "certificates", cert);
            cli_json_object_end(json);
        }
        cli_json_array_end(json);
    }
    const char *message = algebra ? qml_lie_algebra_structure_message(algebra) : "";
    cli_json_kv_string(json, "structure_message", message[0] ? message : NULL);
}
