/*
 * cmd_paradox.c: `qml paradox`, the study of the paper's claims as tests
 * with criteria fixed in advance (docs/paradox.md): C1 trainability under a
 * shot budget, C2 the geometric prior, C3 capacity, and beside them the
 * landscape at initialisation against the Lie-algebraic predictions. Every
 * measurement is one CSV row written as it finishes; --resume picks up from
 * them; paradox_report.c decides the claims from the CSVs and writes the
 * report.
 */
#include "cli.h"
#include "json.h"
#include "paradox.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* ---- progress ----------------------------------------------------------------------- */

static volatile sig_atomic_t interrupted_flag;
static volatile int interrupted_copy;

static void on_signal(int sig)
{
    (void)sig;
    interrupted_flag = 1;
    interrupted_copy = 1;
}

/* CPU seconds of this process, all threads (user + system). */
static double cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return NAN;
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
}

static void format_duration(char *buf, size_t size, double seconds)
{
    if (!isfinite(seconds) || seconds < 0.0)
        snprintf(buf, size, "?");
    else if (seconds < 60.0)
        snprintf(buf, size, "%.0f s", seconds);
    else if (seconds < 3600.0) {
        long s = lround(seconds); /* round once, so that 59.6 s is not shown as "60 s" */
        snprintf(buf, size, "%ld min %02ld s", s / 60, s % 60);
    } else {
        long m = lround(seconds / 60.0);
        snprintf(buf, size, "%ld h %02ld min", m / 60, m % 60);
    }
}

void paradox_progress_done(paradox_progress *p, const char *what, double units, double seconds)
{
    p->jobs_done++;
    p->units_done += units;
    p->seconds_done += seconds;
    if (p->quiet)
        return;
    double elapsed = cli_seconds() - p->start;
    /* Time left: the seconds per unit of work so far times the work left. */
    double left = p->units_done > 0.0 ? p->seconds_done / p->units_done * (p->units_total - p->units_done) : (double)NAN;
    char e[32], l[32];
    format_duration(e, sizeof e, elapsed);
    format_duration(l, sizeof l, left);
    if (p->tty)
        fprintf(stderr, "\r\033[K");
    fprintf(stderr, "qml paradox: [%zu/%zu] %s: %.1f s; elapsed %s, about %s left\n", p->jobs_done, p->jobs_total,
            what, seconds, e, l);
    fflush(stderr);
}

void paradox_progress_show(const paradox_progress *p, const char *detail)
{
    if (!p->tty || p->quiet)
        return;
    fprintf(stderr, "\r\033[Kqml paradox: [%zu/%zu] %s%s", p->jobs_done + 1, p->jobs_total, p->prefix, detail);
    fflush(stderr);
}

int paradox_on_epoch(unsigned epoch, const qml_train_epoch *record, void *user)
{
    const paradox_progress *p = user;
    char detail[96];
    snprintf(detail, sizeof detail, " epoch %u/%u loss %.3f train accuracy %.3f", epoch, p->epochs, record->loss,
             record->train_accuracy);
    paradox_progress_show(p, detail);
    return p->interrupted && *p->interrupted;
}

int paradox_on_samples(const char *stage, size_t done, size_t total, void *user)
{
    const paradox_progress *p = user;
    char detail[96];
    snprintf(detail, sizeof detail, " %s %zu/%zu", stage, done, total);
    paradox_progress_show(p, detail);
    return p->interrupted && *p->interrupted;
}

/* ---- options ------------------------------------------------------------------------ */

static void usage(FILE *to)
{
    fprintf(to,
            "usage: qml paradox [--out DIR] [--quick | --long] [--seed X] [--threads T] [--seeds K]\n"
            "                   [--qubits LIST] [--shots LIST] [--qubits-large LIST] [--backend NAME] [--json]\n"
            "       qml paradox --resume DIR\n"
            "\n"
            "The paper's claims as tests with criteria fixed in advance: C1 trainability under a\n"
            "shot budget (unstructured against polynomial-DLA models at L = 8n), C2 the geometric\n"
            "prior (an S_n-invariant task and its broken control), C3 capacity (random and flipped\n"
            "labels at equal weight counts, beside classical baselines), and the landscape at\n"
            "initialisation against the Lie-algebraic predictions. Writes CSV rows as they finish,\n"
            "then report.md (verdicts first), verdicts.csv and SVG figures to DIR (default\n"
            "paradox-out). docs/paradox.md describes every choice.\n"
            "\n"
            "  --out DIR      output folder (created if missing)\n"
            "  --resume DIR   continue an interrupted run in DIR with its own options\n"
            "  --quick        a small run (seconds; the test suite's)\n"
            "  --long         the long run (hours): more qubits, S up to 1000, 20 seeds\n"
            "  --seed X       master seed (default 1)\n"
            "  --threads T    worker threads, 0 = all cores (default 0); results do not depend on it\n"
            "  --seeds K      training runs per cell in C1, C2 and C3 (default 5; quick 2; long 20)\n"
            "  --qubits LIST  C1 qubit counts, comma-separated, each 3..16\n"
            "  --shots LIST   C1 shot budgets, comma-separated, 0 = exact gradients\n"
            "  --qubits-large LIST  run the permutation and free-fermion models at these n (each 3..1024)\n"
            "                 on the algebra simulators: landscape, C1 with exact gradients, cost per\n"
            "                 step beside the statevector's (default in --long: 50,100,150,200; else none)\n"
            "  --backend NAME simulator of the landscape and C1 rows where it applies, else auto's choice:\n"
            "                 auto, statevector, gsim, symmetric (default statevector; auto in --long)\n"
            "  --json         the closing summary (rows, times, verdicts) as JSON on stdout\n");
}

static bool parse_list(const char *text, uint64_t *out, size_t cap, size_t *count, uint64_t lo, uint64_t hi)
{
    size_t c = 0;
    const char *p = text;
    while (*p) {
        char item[24];
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof item || c == cap)
            return false;
        memcpy(item, p, len);
        item[len] = '\0';
        uint64_t v;
        if (!cli_parse_u64(item, &v) || v < lo || v > hi)
            return false;
        out[c++] = v;
        p += len;
        if (*p == ',')
            p++;
    }
    *count = c;
    return c > 0;
}

static void defaults(paradox_setup *s)
{
    s->learning_rate = 0.05;
    s->batch_size = 16;
    s->lie_max_dim = 5000;
    s->lie_max_qubits_general = 8;
    s->depth_cost_cap = 3e7;
    s->success_threshold = 0.9;
    s->roughness_draws = s->quick ? 4 : 20;
    s->c1_depth_factor = 8;
    s->flip_fraction = 0.2;
    s->large_samples = 1000;
    const unsigned factors[2] = {1, 8};
    memcpy(s->depth_factors, factors, sizeof factors);
    s->n_depth_factors = 2;
    if (s->quick) {
        const unsigned lq[3] = {3, 4, 5}, cq[2] = {3, 4};
        memcpy(s->land_qubits, lq, sizeof lq);
        s->n_land_qubits = 3;
        s->ff_quadratic = 0;
        s->land_samples = 300; /* the default and --long keep >= 1000 */
        s->data_rows = 2;
        memcpy(s->c1_qubits, cq, sizeof cq);
        s->n_c1_qubits = 2;
        s->c1_max_qubits_permutation = 4;
        s->shots[0] = 0;
        s->shots[1] = 10;
        s->n_shots = 2;
        s->c1_seeds = 2;
        s->c1_epochs = 3;
        s->c1_train_rows = 40;
        s->c1_test_rows = 20;
        s->c2_qubits = 4;
        s->c2_layers = 2;
        s->c2_sizes[0] = 10;
        s->c2_sizes[1] = 30;
        s->n_c2_sizes = 2;
        s->c2_test_rows = 200;
        s->c2_seeds = 2;
        s->c2_steps = 30;
        s->c3_qubits = 3;
        s->c3_params = 24;
        s->c3_rows = 20;
        s->c3_test_rows = 20;
        s->c3_seeds = 2;
        s->c3_steps = 40;
        s->large_seeds = 2;
        return;
    }
    const unsigned lq[4] = {4, 6, 8, 10}, cq[3] = {4, 6, 8};
    memcpy(s->land_qubits, lq, sizeof lq);
    s->n_land_qubits = 4;
    s->ff_quadratic = 8;
    s->land_samples = 1000;
    s->data_rows = 8;
    memcpy(s->c1_qubits, cq, sizeof cq);
    s->n_c1_qubits = 3;
    s->c1_max_qubits_permutation = 6;
    s->shots[0] = 0;
    s->shots[1] = 10;
    s->shots[2] = 100;
    s->n_shots = 3;
    s->c1_seeds = 5;
    s->c1_epochs = 10;
    s->c1_train_rows = 100;
    s->c1_test_rows = 50;
    s->c2_qubits = 6;
    s->c2_layers = 4;
    const size_t sizes[4] = {10, 30, 100, 300};
    memcpy(s->c2_sizes, sizes, sizeof sizes);
    s->n_c2_sizes = 4;
    s->c2_test_rows = 1000;
    s->c2_seeds = 5;
    s->c2_steps = 150;
    s->c3_qubits = 4;
    s->c3_params = 56;
    s->c3_rows = 40;
    s->c3_test_rows = 100;
    s->c3_seeds = 5;
    s->c3_steps = 300;
    s->large_seeds = s->c1_seeds;
    if (s->long_mode) {
        const unsigned large[4] = {50, 100, 150, 200};
        memcpy(s->large_qubits, large, sizeof large);
        s->n_large_qubits = 4;
        s->large_seeds = 5;
        s->large_c1_max = 100;
        const unsigned llq[5] = {4, 6, 8, 10, 12}, lcq[6] = {4, 6, 8, 10, 12, 14};
        memcpy(s->land_qubits, llq, sizeof llq);
        s->n_land_qubits = 5;
        memcpy(s->c1_qubits, lcq, sizeof lcq);
        s->n_c1_qubits = 6;
        s->c1_max_qubits_permutation = 10;
        s->shots[3] = 1000;
        s->n_shots = 4;
        s->c1_seeds = s->c2_seeds = s->c3_seeds = 20;
        s->c1_epochs = 20;
        s->land_samples = 5000;
    }
}

/* Parse the options (argv[0] is the command name). Returns 0, or the exit
 * code of a usage error / --help (with *stop set). */
static int parse(int argc, char **argv, paradox_setup *s, const char **resume, bool *stop)
{
    const char *qubits = NULL, *shots = NULL, *large = NULL, *backend = NULL;
    unsigned seeds = 0;
    *stop = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            *stop = true;
            return 0;
        } else if (!strcmp(a, "--quick")) {
            s->quick = true;
        } else if (!strcmp(a, "--long")) {
            s->long_mode = true;
        } else if (!strcmp(a, "--json")) {
            s->json = true;
        } else if (!strcmp(a, "--out") && has_value) {
            s->out_dir = argv[++i];
        } else if (!strcmp(a, "--resume") && has_value) {
            *resume = argv[++i];
        } else if (!strcmp(a, "--seed") && has_value) {
            if (!cli_parse_u64(argv[++i], &s->seed))
                return cli_usage_error("paradox: --seed needs an unsigned integer, not '%s'", argv[i]);
        } else if (!strcmp(a, "--threads") && has_value) {
            if (!cli_parse_unsigned(argv[++i], &s->threads) || s->threads > 1024)
                return cli_usage_error("paradox: --threads needs 0..1024, not '%s'", argv[i]);
        } else if (!strcmp(a, "--seeds") && has_value) {
            if (!cli_parse_unsigned(argv[++i], &seeds) || seeds < 2 || seeds > 100)
                return cli_usage_error("paradox: --seeds needs 2..100, not '%s'", argv[i]);
        } else if (!strcmp(a, "--qubits") && has_value) {
            qubits = argv[++i];
        } else if (!strcmp(a, "--shots") && has_value) {
            shots = argv[++i];
        } else if (!strcmp(a, "--qubits-large") && has_value) {
            large = argv[++i];
        } else if (!strcmp(a, "--backend") && has_value) {
            backend = argv[++i];
        } else {
            usage(stderr);
            return cli_usage_error("paradox: unknown or incomplete option '%s'", a);
        }
    }
    if (s->quick && s->long_mode)
        return cli_usage_error("paradox: --quick and --long exclude each other");
    defaults(s);
    if (qubits) {
        uint64_t v[PARADOX_MAX_LIST];
        size_t c;
        if (!parse_list(qubits, v, PARADOX_MAX_LIST, &c, 3, 16))
            return cli_usage_error("paradox: --qubits needs up to %d comma-separated counts in 3..16, not '%s'",
                                   PARADOX_MAX_LIST, qubits);
        for (size_t k = 0; k < c; k++)
            s->c1_qubits[k] = (unsigned)v[k];
        s->n_c1_qubits = c;
    }
    if (shots) {
        size_t c;
        if (!parse_list(shots, s->shots, 4, &c, 0, UINT64_C(1000000)))
            return cli_usage_error("paradox: --shots needs up to 4 comma-separated budgets (0 = exact), not '%s'",
                                   shots);
        s->n_shots = c;
    }
    if (seeds)
        s->c1_seeds = s->c2_seeds = s->c3_seeds = s->large_seeds = seeds;
    if (large) {
        uint64_t v[PARADOX_MAX_LIST];
        size_t c;
        if (!parse_list(large, v, PARADOX_MAX_LIST, &c, 3, 1024))
            return cli_usage_error("paradox: --qubits-large needs up to %d comma-separated counts in 3..1024, not '%s'",
                                   PARADOX_MAX_LIST, large);
        for (size_t k = 0; k < c; k++)
            s->large_qubits[k] = (unsigned)v[k];
        s->n_large_qubits = c;
        s->large_c1_max = 0; /* a list given is run in full */
    }
    s->backend = s->long_mode ? 1 : 0; /* QML_BACKEND_AUTO : QML_BACKEND_STATEVECTOR */
    if (backend) {
        qml_backend b;
        if (qml_backend_from_name(backend, &b) != QML_OK)
            return cli_usage_error("paradox: --backend needs auto, statevector, gsim or symmetric, not '%s'", backend);
        s->backend = (int)b;
    }
    return 0;
}

/* Before minutes of computing: can the report be written there? A probe
 * file of PROBE_BYTES is written, closed and removed (a full disk or a
 * read-only folder fails here, not after the study), and the file system
 * must have room for the report and figures. */
#define PARADOX_PROBE_BYTES ((size_t)256 << 10)
#define PARADOX_NEEDED_BYTES ((unsigned long long)16 << 20)
static int check_writable(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/.qml-paradox-probe-%ld", dir, (long)getpid()) >= (int)sizeof path) {
        fprintf(stderr, "qml: paradox: the folder name '%s' is too long\n", dir);
        return 1;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        int error = errno;
        fprintf(stderr, "qml: paradox: cannot write in '%s': %s\n", dir, strerror(error));
        return 1;
    }
    static const char block[4096];
    int error = 0;
    for (size_t done = 0; done < PARADOX_PROBE_BYTES && !error; done += sizeof block)
        if (fwrite(block, 1, sizeof block, f) != sizeof block)
            error = errno ? errno : EIO;
    if (fclose(f) != 0 && !error)
        error = errno ? errno : EIO;
    remove(path);
    if (error) {
        fprintf(stderr, "qml: paradox: cannot write in '%s': %s\n", dir, strerror(error));
        return 1;
    }
    struct statvfs fs;
    if (statvfs(dir, &fs) == 0 && (unsigned long long)fs.f_bavail * fs.f_frsize < PARADOX_NEEDED_BYTES) {
        fprintf(stderr, "qml: paradox: '%s' has %llu KiB free; the report needs about %llu MiB\n", dir,
                (unsigned long long)fs.f_bavail * fs.f_frsize / 1024, PARADOX_NEEDED_BYTES >> 20);
        return 1;
    }
    return 0;
}

/* The options as given, without --out/--resume, for options.txt. */
static void record_options(int argc, char **argv, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 1; i < argc && used < size; i++) {
        if ((!strcmp(argv[i], "--out") || !strcmp(argv[i], "--resume")) && i + 1 < argc) {
            i++;
            continue;
        }
        used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? " " : "", argv[i]);
    }
}

/* Split a saved option line into argv (at most 32 words). */
static int split_words(char *line, char **words, int cap)
{
    int n = 0;
    for (char *tok = strtok(line, " \t\n"); tok && n < cap; tok = strtok(NULL, " \t\n"))
        words[n++] = tok;
    return n;
}

static const char *base_name(const char *path)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    size_t len = strlen(buf);
    while (len > 1 && buf[len - 1] == '/')
        buf[--len] = '\0';
    const char *slash = strrchr(buf, '/');
    return slash && slash[1] ? slash + 1 : buf;
}

int paradox_parse(int argc, char **argv, paradox_setup *s, const char **resume, bool *stop)
{
    memset(s, 0, sizeof *s);
    s->seed = 1;
    s->out_dir = "paradox-out";
    *resume = NULL;
    return parse(argc, argv, s, resume, stop);
}

int cmd_paradox(int argc, char **argv)
{
    paradox_setup setup;
    const char *resume;
    bool stop;
    int code = paradox_parse(argc, argv, &setup, &resume, &stop);
    if (code || stop)
        return code;
    return paradox_run(&setup, argc, argv, resume, NULL);
}

/* The output folder made, probed and given options.txt (by the process that
 * writes the outputs). */
static int prepare_folder(const paradox_setup *s)
{
    if (cli_make_dirs(s->out_dir) != 0)
        return cli_file_error("paradox", "create the folder", s->out_dir);
    if (check_writable(s->out_dir) != 0)
        return 1;
    char path[4096];
    snprintf(path, sizeof path, "%s/options.txt", s->out_dir);
    FILE *f = fopen(path, "w");
    if (!f || fprintf(f, "%s\n", s->options) < 0 || fclose(f) != 0) {
        fprintf(stderr, "qml: paradox: cannot write %s\n", path);
        return 1;
    }
    return 0;
}

/* The run after the options. With `ranks` (qml-mpi paradox), every process
 * runs the stages on the rows dealt to it (paradox_table.c), rank 0
 * gathers the rows, writes the CSV files in the plain program's order and
 * writes the report; no table is written before every row is there. */
int paradox_run(paradox_setup *given, int argc, char **argv, const char *resume, const paradox_ranks *ranks)
{
    paradox_setup setup = *given;
    const bool lead = !ranks || ranks->rank == 0;
    int code = 0;
    bool stop;
    char saved[512];
    if (resume) {
        if (argc != 3)
            return cli_usage_error("paradox: --resume DIR takes no other options (it uses the run's own)");
        char path[4096];
        snprintf(path, sizeof path, "%s/options.txt", resume);
        FILE *f = fopen(path, "r");
        if (!f || !fgets(saved, sizeof saved, f)) {
            if (f)
                fclose(f);
            fprintf(stderr, "qml: paradox: %s has no options.txt: not the folder of a paradox run\n", resume);
            return 1;
        }
        fclose(f);
        char copy[512], *words[34] = {"paradox"};
        snprintf(copy, sizeof copy, "%s", saved);
        int n = split_words(copy, words + 1, 32) + 1;
        memset(&setup, 0, sizeof setup);
        setup.seed = 1;
        const char *again = NULL;
        code = parse(n, words, &setup, &again, &stop);
        if (code || stop || again)
            return code ? code : 1;
        setup.out_dir = resume;
        saved[strcspn(saved, "\n")] = '\0';
        snprintf(setup.options, sizeof setup.options, "%s", saved);
    } else {
        record_options(argc, argv, setup.options, sizeof setup.options);
    }
    snprintf(setup.command, sizeof setup.command, "qml paradox%s%s --out %s", setup.options[0] ? " " : "",
             setup.options, base_name(setup.out_dir));
    if (ranks)
        snprintf(setup.command, sizeof setup.command, "mpirun -np %u qml-mpi paradox%s%s --out %s", ranks->size,
                 setup.options[0] ? " " : "", setup.options, base_name(setup.out_dir));
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    setup.threads_used = setup.threads ? setup.threads : cores > 0 ? (unsigned)cores : 1;
    code = lead ? prepare_folder(&setup) : 0;
    if (ranks)
        code = ranks->agree(code, ranks->user);
    if (code)
        return code;

    paradox_tables t;
    memset(&t, 0, sizeof t);
    const char *dir = setup.out_dir;
    /* A dealt run holds its tables in memory until every row is there. */
    const char *table_dir = ranks ? NULL : dir;
    code = paradox_table_open(&t.landscape, table_dir, "landscape.csv",
                              "model,n_qubits,layers,n_weights,samples,var_loss,var_loss_stderr,var_grad_mid,"
                              "var_grad_mid_stderr,data_rows,var_data_loss,var_data_loss_stderr,dla_dim,dla_source,"
                              "pred_loss,pred_grad_mid,pred_source,seconds,backend",
                              3) ||
           paradox_table_open(&t.c1, table_dir, "c1.csv",
                              "model,n_qubits,shots,seed_index,layers,n_weights,batch,epochs,train_rows,seed,"
                              "train_accuracy,test_accuracy,train_loss,grad_mean_square,success,seconds,backend",
                              4) ||
           paradox_table_open(&t.c2, table_dir, "c2.csv",
                              "task,model,train_size,seed_index,n_qubits,layers,n_weights,steps,epochs,"
                              "train_accuracy,test_accuracy,seconds",
                              4) ||
           paradox_table_open(&t.c3, table_dir, "c3.csv",
                              "labels,model,seed_index,n_qubits,layers,n_weights,train_rows,steps,epochs,"
                              "train_accuracy,test_accuracy,jacobian_rank,seconds",
                              3) ||
           paradox_table_open(&t.baselines, table_dir, "baselines.csv",
                              "experiment,condition,size,seed_index,method,train_accuracy,test_accuracy,train_rows,"
                              "test_rows",
                              5) ||
           paradox_table_open(&t.roughness, table_dir, "roughness.csv",
                              "model,n_qubits,layers,draws,mean_square_slope,stderr,seconds", 2);
    if (!code && setup.n_large_qubits)
        code = paradox_table_open(&t.large, table_dir, "large.csv",
                                  "model,n_qubits,layers,backend,n_weights,samples,var_loss,var_loss_stderr,"
                                  "var_grad_mid,var_grad_mid_stderr,dla_dim,pred_loss,pred_grad_mid,seconds",
                                  3) ||
               paradox_table_open(&t.c1_large, table_dir, "c1_large.csv",
                                  "model,n_qubits,shots,seed_index,layers,n_weights,batch,epochs,train_rows,seed,"
                                  "train_accuracy,test_accuracy,train_loss,grad_mean_square,success,seconds,backend",
                                  4) ||
               paradox_table_open(&t.cost, table_dir, "cost.csv",
                                  "model,n_qubits,side,backend,layers,n_weights,dimension,reps_gradient,"
                                  "seconds_gradient,reps_step,seconds_step,batch,seconds",
                                  3);
    size_t kept = t.landscape.n_rows + t.c1.n_rows + t.c2.n_rows + t.c3.n_rows + t.large.n_rows + t.c1_large.n_rows;
    if (!code && resume)
        fprintf(stderr, "qml paradox: resuming in %s: %zu finished rows kept\n", dir, kept);

    paradox_progress prog;
    memset(&prog, 0, sizeof prog);
    prog.tty = lead && isatty(STDERR_FILENO) != 0;
    prog.quiet = !lead;
    prog.start = cli_seconds();
    prog.interrupted = &interrupted_copy;
    void (*old_int)(int) = signal(SIGINT, on_signal);
    void (*old_term)(int) = signal(SIGTERM, on_signal);

    int (*const stages[8])(const paradox_setup *, paradox_tables *, paradox_progress *, bool) = {
        paradox_landscape, paradox_c1,       paradox_c2,       paradox_c3,
        paradox_roughness, paradox_landscape_large, paradox_c1_large, paradox_cost};
    paradox_deal_begin(ranks);
    for (int k = 0; k < 8 && !code; k++)
        code = stages[k](&setup, &t, &prog, true);
    if (!code && !ranks)
        fprintf(stderr, "qml paradox: %zu jobs to run into %s\n", prog.jobs_total, dir);
    else if (!code && lead)
        fprintf(stderr, "qml paradox: rows dealt over %u processes; rank 0 runs %zu jobs; outputs into %s\n",
                ranks->size, prog.jobs_total, dir);
    for (int k = 0; k < 8 && !code; k++)
        code = stages[k](&setup, &t, &prog, false);
    if (!code && paradox_deal_stopped())
        code = 1; /* this process or another failed: it said why */
    if (prog.tty)
        fprintf(stderr, "\r\033[K");
    signal(SIGINT, old_int);
    signal(SIGTERM, old_term);
    double wall = cli_seconds() - prog.start;
    double cpu = cpu_seconds();
    if (ranks) {
        if (code == 3 || interrupted_flag)
            code = 130;
        code = ranks->agree(code, ranks->user);
        if (!code)
            code = ranks->gather(&t, &cpu, ranks->user);
        paradox_table *list[PARADOX_N_TABLES];
        size_t n_tables = paradox_tables_list(&t, list);
        for (size_t k = 0; k < n_tables && !code && lead; k++)
            code = paradox_table_sort_dealt(list[k]) || paradox_table_write(list[k], dir);
        if (code == 130 && lead)
            fprintf(stderr, "qml paradox: interrupted after %.1f s; a dealt run keeps no rows: nothing written\n",
                    wall);
        else if (code && lead)
            fprintf(stderr, "qml paradox: a process failed (its message is above); every process stopped and no "
                            "CSV file was written\n");
    } else if (code == 3 || interrupted_flag) {
        fprintf(stderr,
                "qml paradox: interrupted after %.1f s: %zu finished rows are in %s; continue with "
                "'qml paradox --resume %s'\n",
                wall, t.landscape.n_rows + t.c1.n_rows + t.c2.n_rows + t.c3.n_rows + t.large.n_rows + t.c1_large.n_rows,
                dir, dir);
        code = 130;
    }
    if (!code && lead) {
        /* The compute time of every row, this run's and resumed ones'. */
        double compute = 0.0;
        paradox_table *all[6] = {&t.landscape, &t.c1, &t.c2, &t.c3, &t.large, &t.c1_large};
        for (int k = 0; k < 6; k++)
            for (size_t r = 0; r < all[k]->n_rows; r++)
                compute += paradox_table_number(all[k], r, "seconds");
        code = paradox_report(&setup, &t, wall, compute, cpu);
        size_t rows = t.landscape.n_rows + t.c1.n_rows + t.c2.n_rows + t.c3.n_rows + t.roughness.n_rows +
                      t.large.n_rows + t.c1_large.n_rows + t.cost.n_rows;
        if (!code && setup.json) {
            cli_json j;
            cli_json_begin(&j, stdout, "paradox", argc, argv);
            cli_json_kv_string(&j, "out_dir", dir);
            cli_json_kv_string(&j, "report", "report.md");
            cli_json_kv_u64(&j, "rows", rows);
            cli_json_kv_u64(&j, "new_rows", prog.jobs_done);
            cli_json_kv_number(&j, "wall_seconds", wall);
            cli_json_kv_number(&j, "cpu_seconds", cpu);
            cli_json_key(&j, "verdicts");
            cli_json_array_begin(&j);
            char path[4096], line[128];
            snprintf(path, sizeof path, "%s/verdicts.csv", dir);
            FILE *vf = fopen(path, "r");
            for (bool head = true; vf && fgets(line, sizeof line, vf); head = false) {
                char *comma = strchr(line, ',');
                if (head || !comma)
                    continue;
                *comma = '\0';
                comma[1 + strcspn(comma + 1, "\r\n")] = '\0';
                cli_json_object_begin(&j);
                cli_json_kv_string(&j, "claim", line);
                cli_json_kv_string(&j, "verdict", comma + 1);
                cli_json_object_end(&j);
            }
            if (vf)
                fclose(vf);
            cli_json_array_end(&j);
            cli_json_end(&j);
        } else if (!code) {
            printf("qml paradox: %zu rows (%zu new) in %.1f s (%.1f s of CPU time); report: %s/report.md\n", rows,
                   prog.jobs_done, wall, cpu, dir);
        }
    }
    paradox_deal_end();
    if (ranks)
        code = ranks->agree(code, ranks->user); /* rank 0's writing, for every process's exit code */
    paradox_table_close(&t.landscape);
    paradox_table_close(&t.c1);
    paradox_table_close(&t.c2);
    paradox_table_close(&t.c3);
    paradox_table_close(&t.baselines);
    paradox_table_close(&t.roughness);
    paradox_table_close(&t.large);
    paradox_table_close(&t.c1_large);
    paradox_table_close(&t.cost);
    return code;
}
