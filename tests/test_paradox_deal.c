/*
 * test_paradox_deal.c: the dealing of the study's rows over processes
 * (examples/cli/paradox_table.c, paradox_run in cmd_paradox.c) without MPI:
 * the "ranks" of a dealt run run one after the other in this process, the
 * rows of the others handed to rank 0 by the gather hook. The CSV files of
 * rank 0 must be those of the plain run byte for byte, apart from the
 * timing columns; a run another rank stops writes no CSV file. (The mpi
 * suite runs the same with real MPI ranks; this runs everywhere, under the
 * sanitizers too.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cli.h"
#include "paradox.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stdbool.h>
#include <unistd.h>

#define MAX_LINES 4096

/* The rows the ranks other than 0 computed, per table, for rank 0's gather. */
static struct {
    char *lines[PARADOX_N_TABLES][MAX_LINES];
    size_t n[PARADOX_N_TABLES];
} handed;

typedef struct fake_ranks {
    int fail_agree;   /* agree answers 1 once the stages ran (another rank failed) */
    int stop_now;     /* stopped() answers 1 (another rank said stop) */
    int agree_calls;
} fake_ranks;

/* The state of the "rank" that runs now (the hooks' user pointer is unused). */
static fake_ranks *current_fake;
static unsigned current_rank;

static int fake_stopped(void *user)
{
    (void)user;
    return current_fake->stop_now;
}

static int fake_agree(int code, void *user)
{
    (void)user;
    current_fake->agree_calls++;
    if (current_fake->fail_agree && current_fake->agree_calls >= 2)
        return code ? code : 1;
    return code;
}

static int fake_gather(paradox_tables *t, double *cpu_seconds, void *user)
{
    (void)cpu_seconds;
    (void)user;
    paradox_table *list[PARADOX_N_TABLES];
    size_t n = paradox_tables_list(t, list);
    for (size_t k = 0; k < n; k++) {
        if (current_rank != 0) {
            for (size_t r = 0; r < list[k]->n_rows; r++) {
                assert_true(handed.n[k] < MAX_LINES);
                handed.lines[k][handed.n[k]] = strdup(list[k]->lines[r]);
                assert_non_null(handed.lines[k][handed.n[k]]);
                handed.n[k]++;
            }
        } else {
            for (size_t r = 0; r < handed.n[k]; r++)
                if (paradox_table_add_line(list[k], handed.lines[k][r]))
                    return 1;
        }
    }
    return 0;
}

static void handed_free(void)
{
    for (size_t k = 0; k < PARADOX_N_TABLES; k++)
        for (size_t r = 0; r < handed.n[k]; r++)
            free(handed.lines[k][r]);
    memset(&handed, 0, sizeof handed);
}

static char work[512];

/* The study on rank `rank` of `size` (size 0: the plain program) into DIR. */
static int run_study(const char *dir, unsigned rank, unsigned size, fake_ranks *f)
{
    char out[600];
    snprintf(out, sizeof out, "%s", dir);
    char *argv[] = {"paradox", "--quick", "--qubits", "3", "--shots", "0", "--threads", "1", "--seed", "3",
                    "--out", out};
    int argc = (int)(sizeof argv / sizeof argv[0]);
    paradox_setup setup;
    const char *resume;
    bool stop;
    assert_int_equal(paradox_parse(argc, argv, &setup, &resume, &stop), 0);
    paradox_ranks hooks = {rank, size, NULL, fake_stopped, fake_agree, fake_gather};
    current_fake = f;
    current_rank = rank;
    /* The run's one-line summary goes to stdout, which carries this test's
     * TAP stream: send it to /dev/null for the call. */
    fflush(stdout);
    int saved = dup(STDOUT_FILENO), devnull = open("/dev/null", O_WRONLY);
    if (saved >= 0 && devnull >= 0)
        dup2(devnull, STDOUT_FILENO);
    int code = paradox_run(&setup, argc, argv, NULL, size ? &hooks : NULL);
    fflush(stdout);
    if (saved >= 0 && devnull >= 0)
        dup2(saved, STDOUT_FILENO);
    if (saved >= 0)
        close(saved);
    if (devnull >= 0)
        close(devnull);
    return code;
}

/* A CSV file's text without the timing columns. */
static char *without_timing(const char *path)
{
    FILE *in = fopen(path, "r");
    assert_non_null(in);
    static const char *const timing[] = {"seconds", "seconds_gradient", "seconds_step", "reps_gradient",
                                         "reps_step"};
    int drop[64] = {0};
    size_t cap = 1 << 20, used = 0;
    char *out = malloc(cap), line[8192];
    assert_non_null(out);
    out[0] = '\0';
    for (int first = 1; fgets(line, sizeof line, in); first = 0) {
        line[strcspn(line, "\n")] = '\0';
        int col = 0;
        for (char *field = line, *next; field; field = next, col++) {
            next = strchr(field, ',');
            if (next)
                *next++ = '\0';
            assert_true(col < 64);
            if (first)
                for (size_t k = 0; k < sizeof timing / sizeof timing[0]; k++)
                    drop[col] |= !strcmp(field, timing[k]);
            if (drop[col])
                continue;
            size_t len = strlen(field);
            assert_true(used + len + 2 < cap);
            memcpy(out + used, field, len);
            used += len;
            out[used++] = ',';
        }
        out[used++] = '\n';
        out[used] = '\0';
    }
    fclose(in);
    return out;
}

static int count_csv(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0; /* no folder, no file (a rank other than 0 makes none) */
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        n += len > 4 && (!strcmp(e->d_name + len - 4, ".csv") || strstr(e->d_name, ".partial") != NULL);
    }
    closedir(d);
    return n;
}

static void test_dealt_rows_equal_the_plain_run(void **state)
{
    (void)state;
    char plain[600], dealt[600], other[600];
    snprintf(plain, sizeof plain, "%s/plain", work);
    snprintf(dealt, sizeof dealt, "%s/dealt", work);
    snprintf(other, sizeof other, "%s/rank1", work);
    fake_ranks f = {0, 0, 0};
    assert_int_equal(run_study(plain, 0, 0, &f), 0);
    /* Two ranks: rank 1 first (its rows handed over), then rank 0. */
    assert_int_equal(run_study(other, 1, 2, &f), 0);
    assert_int_equal(count_csv(other), 0); /* only rank 0 writes */
    size_t handed_rows = 0;
    for (size_t k = 0; k < PARADOX_N_TABLES; k++)
        handed_rows += handed.n[k];
    assert_true(handed_rows > 10);
    assert_int_equal(run_study(dealt, 0, 2, &f), 0);
    handed_free();
    static const char *const tables[] = {"landscape.csv", "c1.csv", "c2.csv", "c3.csv",
                                         "baselines.csv", "roughness.csv", "verdicts.csv"};
    for (size_t k = 0; k < sizeof tables / sizeof tables[0]; k++) {
        char a[700], b[700];
        snprintf(a, sizeof a, "%s/%s", plain, tables[k]);
        snprintf(b, sizeof b, "%s/%s", dealt, tables[k]);
        char *x = without_timing(a), *y = without_timing(b);
        if (strcmp(x, y) != 0)
            fail_msg("%s of the dealt run differs from the plain run's", tables[k]);
        assert_true(strchr(x, '\n') != strrchr(x, '\n')); /* a header and rows */
        free(x);
        free(y);
    }
    assert_int_equal(count_csv(plain), count_csv(dealt));
}

static void test_a_stopped_run_writes_no_table(void **state)
{
    (void)state;
    char dir[600];
    snprintf(dir, sizeof dir, "%s/stopped", work);
    /* Another rank said stop before this one's first row. */
    fake_ranks f = {0, 1, 0};
    assert_int_not_equal(run_study(dir, 0, 3, &f), 0);
    assert_int_equal(count_csv(dir), 0);
    /* Every rank computed its rows, but another one failed. */
    fake_ranks g = {1, 0, 0};
    assert_int_not_equal(run_study(dir, 0, 3, &g), 0);
    assert_int_equal(count_csv(dir), 0);
}

int main(void)
{
    snprintf(work, sizeof work, "paradox-deal-%ld", (long)getpid());
    mkdir(work, 0777);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dealt_rows_equal_the_plain_run),
        cmocka_unit_test(test_a_stopped_run_writes_no_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
