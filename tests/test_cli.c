/* test_cli.c: the conventions the qml program's commands share
 * (examples/cli/common.c, json.c): --opt=value normalisation, mkdir -p for
 * --out, and the JSON writer's escaping, nulls and metadata. */
#include "harness.h"

#include "cli.h"
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

static void free_argv(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    free(argv);
}

static void test_normalise_argv(void **state)
{
    (void)state;
    char *in[] = {"grad", "--qubits=3", "--observable=Z0 Z1", "--json", "-x=1", "--out=", "--", "--seed=2", "file"};
    int argc = (int)(sizeof in / sizeof in[0]);
    char **out = cli_normalise_argv(&argc, in);
    assert_non_null(out);
    const char *want[] = {"grad", "--qubits", "3", "--observable", "Z0 Z1", "--json", "-x=1", "--out", "",
                          "--", "--seed=2", "file"};
    assert_int_equal(argc, (int)(sizeof want / sizeof want[0]));
    for (int i = 0; i < argc; i++)
        assert_string_equal(out[i], want[i]);
    assert_null(out[argc]);
    free_argv(argc, out);
}

static void test_make_dirs(void **state)
{
    (void)state;
    char base[] = "/tmp/qml-test-cli-XXXXXX";
    assert_non_null(mkdtemp(base));
    char deep[256], file[256];
    snprintf(deep, sizeof deep, "%s/a/b/c", base);
    assert_int_equal(cli_make_dirs(deep), 0);
    struct stat st;
    assert_int_equal(stat(deep, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(cli_make_dirs(deep), 0); /* exists: fine */
    snprintf(file, sizeof file, "%s/x/y/out.csv", base);
    assert_int_equal(cli_make_parent_dirs(file), 0);
    snprintf(deep, sizeof deep, "%s/x/y", base);
    assert_int_equal(stat(deep, &st), 0);
    /* A file where a folder should be: ENOTDIR, not success. */
    snprintf(file, sizeof file, "%s/plain", base);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(deep, sizeof deep, "%s/plain/sub", base);
    errno = 0;
    assert_int_equal(cli_make_dirs(deep), -1);
    assert_int_equal(errno, ENOTDIR);
    char command[300];
    snprintf(command, sizeof command, "rm -rf '%s'", base);
    assert_int_equal(system(command), 0);
}

static void test_json_writer(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    char *argv[] = {"demo", "--name", "a \"b\"\n"};
    cli_json out;
    cli_json_begin(&out, f, "demo", 3, argv);
    cli_json_kv_number(&out, "nan", NAN);
    cli_json_kv_number(&out, "third", 1.0 / 3.0);
    cli_json_kv_u64(&out, "big", UINT64_MAX);
    cli_json_kv_string(&out, "none", NULL);
    cli_json_key(&out, "list");
    cli_json_array_begin(&out);
    cli_json_bool(&out, true);
    cli_json_object_begin(&out);
    cli_json_object_end(&out);
    cli_json_array_end(&out);
    cli_json_end(&out);
    rewind(f);
    char text[1024];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *prefix = "{\"schema\":\"qml-demo/1\",\"version\":\"";
    assert_memory_equal(text, prefix, strlen(prefix));
    assert_non_null(strstr(text, "\"run\":{\"command\":\"demo\",\"arguments\":[\"--name\",\"a \\\"b\\\"\\n\"],"
                                 "\"started_utc\":\""));
    assert_non_null(strstr(text, ",\"nan\":null,\"third\":0.33333333333333331,\"big\":18446744073709551615,"
                                 "\"none\":null,\"list\":[true,{}]}\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalise_argv),
        cmocka_unit_test(test_make_dirs),
        cmocka_unit_test(test_json_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
