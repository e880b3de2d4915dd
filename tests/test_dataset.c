/* test_dataset.c: datasets: construction and access, the moons, circles
 * and XOR generators, CSV in and out, splits, and feature scaling. */
#include "harness.h"
#include "internal.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846

/* ---- helpers -------------------------------------------------------------- */

static size_t count_label(const qml_dataset *d, int label)
{
    size_t n = 0;
    for (size_t i = 0; i < qml_dataset_n_rows(d); i++)
        n += qml_dataset_labels(d)[i] == label;
    return n;
}

static void assert_same_bits(const qml_dataset *a, const qml_dataset *b)
{
    assert_int_equal(qml_dataset_n_rows(a), qml_dataset_n_rows(b));
    assert_int_equal(qml_dataset_n_features(a), qml_dataset_n_features(b));
    size_t n = qml_dataset_n_rows(a), nf = qml_dataset_n_features(a);
    assert_memory_equal(qml_dataset_features(a), qml_dataset_features(b), n * nf * sizeof(double));
    assert_memory_equal(qml_dataset_labels(a), qml_dataset_labels(b), n * sizeof(int));
}

static void assert_message_has(const char *needle)
{
    if (!strstr(qml_last_error(), needle))
        fail_msg("message '%s' does not contain '%s'", qml_last_error(), needle);
}

/* A dataset whose feature 0 is the row index (to track rows through a
 * split) and feature 1 a value; label pattern given by `ones_every`. */
static qml_dataset *indexed_dataset(size_t n, size_t ones_every)
{
    double *x = malloc(2 * n * sizeof *x);
    int *y = malloc(n * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    for (size_t i = 0; i < n; i++) {
        x[2 * i] = (double)i;
        x[2 * i + 1] = sin((double)i);
        y[i] = i % ones_every == 0;
    }
    qml_dataset *d = NULL;
    assert_ok(qml_dataset_create(&d, n, 2, x, y));
    free(x);
    free(y);
    return d;
}

/* ---- construction and access ---------------------------------------------- */

static void test_create_and_access(void **state)
{
    (void)state;
    const double x[6] = {1, 2, 3, 4, 5, 6};
    const int y[3] = {0, 1, 1};
    qml_dataset *d = NULL, *copy = NULL, *sub = NULL;
    assert_ok(qml_dataset_create(&d, 3, 2, x, y));
    assert_int_equal(qml_dataset_n_rows(d), 3);
    assert_int_equal(qml_dataset_n_features(d), 2);
    assert_memory_equal(qml_dataset_features(d), x, sizeof x);
    assert_memory_equal(qml_dataset_labels(d), y, sizeof y);
    double row[2];
    int label = -1;
    assert_ok(qml_dataset_row(d, 1, row, 2, &label));
    assert_true(row[0] == 3 && row[1] == 4);
    assert_int_equal(label, 1);
    assert_ok(qml_dataset_row(d, 2, NULL, 0, &label));
    assert_status(qml_dataset_row(d, 3, row, 2, &label), QML_ERR_OUT_OF_RANGE);
    assert_message_has("row 3");
    assert_status(qml_dataset_row(d, 0, row, 1, NULL), QML_ERR_OUT_OF_RANGE);
    assert_status(qml_dataset_row(NULL, 0, row, 2, NULL), QML_ERR_INVALID_ARGUMENT);

    assert_ok(qml_dataset_copy(&copy, d));
    assert_same_bits(copy, d);
    const size_t pick[4] = {2, 0, 2, 1};
    assert_ok(qml_dataset_subset(&sub, d, pick, 4));
    assert_int_equal(qml_dataset_n_rows(sub), 4);
    for (size_t k = 0; k < 4; k++) {
        assert_true(qml_dataset_features(sub)[2 * k] == x[2 * pick[k]]);
        assert_true(qml_dataset_features(sub)[2 * k + 1] == x[2 * pick[k] + 1]);
        assert_int_equal(qml_dataset_labels(sub)[k], y[pick[k]]);
    }
    const size_t bad_pick[2] = {0, 3};
    qml_dataset *never = NULL;
    assert_status(qml_dataset_subset(&never, d, bad_pick, 2), QML_ERR_OUT_OF_RANGE);
    assert_message_has("indices[1] = 3");
    assert_status(qml_dataset_subset(&never, d, pick, 0), QML_ERR_INVALID_ARGUMENT);
    assert_null(never);

    /* NULL handles answer 0 / NULL. */
    assert_int_equal(qml_dataset_n_rows(NULL), 0);
    assert_int_equal(qml_dataset_n_features(NULL), 0);
    assert_null(qml_dataset_features(NULL));
    assert_null(qml_dataset_labels(NULL));
    qml_dataset_free(NULL);
    qml_dataset_free(sub);
    qml_dataset_free(copy);
    qml_dataset_free(d);
}

static void test_create_validation(void **state)
{
    (void)state;
    const double x[4] = {1, 2, 3, 4};
    const int y[2] = {0, 1};
    qml_dataset *d = NULL;
    assert_status(qml_dataset_create(NULL, 2, 2, x, y), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_dataset_create(&d, 2, 2, NULL, y), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_dataset_create(&d, 2, 2, x, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_dataset_create(&d, 0, 2, x, y), QML_ERR_INVALID_ARGUMENT);
    assert_message_has("n_rows is 0");
    assert_status(qml_dataset_create(&d, 2, 0, x, y), QML_ERR_INVALID_ARGUMENT);
    assert_message_has("n_features is 0");
    const int bad_y[2] = {0, 2};
    assert_status(qml_dataset_create(&d, 2, 2, x, bad_y), QML_ERR_INVALID_ARGUMENT);
    assert_message_has("row 1 is 2");
    const double bad_x[4] = {1, 2, NAN, 4};
    assert_status(qml_dataset_create(&d, 2, 2, bad_x, y), QML_ERR_INVALID_ARGUMENT);
    assert_message_has("feature 0 of row 1");
    const double inf_x[4] = {1, INFINITY, 3, 4};
    assert_status(qml_dataset_create(&d, 2, 2, inf_x, y), QML_ERR_INVALID_ARGUMENT);
    assert_null(d);
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_int_equal(QML_DATASET_MOONS, 0); /* pinned */
    assert_int_equal(QML_DATASET_CIRCLES, 1);
    assert_int_equal(QML_DATASET_XOR, 2);
    assert_int_equal(QML_CSV_HEADER_AUTO, 0);
    assert_int_equal(QML_CSV_HEADER_YES, 1);
    assert_int_equal(QML_CSV_HEADER_NO, 2);
    const char *names[3] = {"moons", "circles", "xor"};
    for (int k = 0; k < 3; k++) {
        assert_string_equal(qml_dataset_kind_name((qml_dataset_kind)k), names[k]);
        qml_dataset_kind kind;
        assert_ok(qml_dataset_kind_from_name(names[k], &kind));
        assert_int_equal(kind, k);
    }
    assert_null(qml_dataset_kind_name((qml_dataset_kind)3));
    qml_dataset_kind kind;
    assert_status(qml_dataset_kind_from_name("spirals", &kind), QML_ERR_INVALID_ARGUMENT);
    assert_message_has("spirals");
    assert_status(qml_dataset_kind_from_name(NULL, &kind), QML_ERR_INVALID_ARGUMENT);
}

/* ---- generators -------------------------------------------------------------- */

static void test_generator_sizes_and_balance(void **state)
{
    (void)state;
    const size_t sizes[3] = {2, 101, 1000};
    for (int k = 0; k < 3; k++)
        for (int s = 0; s < 3; s++) {
            qml_dataset *d = NULL;
            assert_ok(qml_dataset_generate(&d, (qml_dataset_kind)k, sizes[s], 0.1, 7));
            assert_int_equal(qml_dataset_n_rows(d), sizes[s]);
            assert_int_equal(qml_dataset_n_features(d), 2);
            /* Row i has label i mod 2: label 0 gets ceil(n/2) rows. */
            assert_int_equal(count_label(d, 0), (sizes[s] + 1) / 2);
            assert_int_equal(count_label(d, 1), sizes[s] / 2);
            for (size_t i = 0; i < sizes[s]; i++) {
                assert_int_equal(qml_dataset_labels(d)[i], (int)(i % 2));
                assert_true(isfinite(qml_dataset_features(d)[2 * i]));
                assert_true(isfinite(qml_dataset_features(d)[2 * i + 1]));
            }
            qml_dataset_free(d);
        }
}

static void test_generator_determinism(void **state)
{
    (void)state;
    for (int k = 0; k < 3; k++) {
        qml_dataset *a = NULL, *b = NULL, *c = NULL, *quiet = NULL;
        assert_ok(qml_dataset_generate(&a, (qml_dataset_kind)k, 300, 0.2, 12345));
        assert_ok(qml_dataset_generate(&b, (qml_dataset_kind)k, 300, 0.2, 12345));
        assert_ok(qml_dataset_generate(&c, (qml_dataset_kind)k, 300, 0.2, 12346));
        assert_same_bits(a, b);
        /* Another seed moves every point (ties have probability ~0). */
        size_t same = 0;
        for (size_t i = 0; i < 600; i++)
            same += qml_dataset_features(a)[i] == qml_dataset_features(c)[i];
        assert_int_equal(same, 0);
        /* Noise 0 and 0.2 of one seed share the noiseless points, so their
         * difference divided by 0.2 is a standard normal sample: mean within
         * 5 sigma of 0 (sigma = 1/sqrt(600)) and variance within 5 sqrt(2/600)
         * of 1. This checks that `noise` is the standard deviation. */
        assert_ok(qml_dataset_generate(&quiet, (qml_dataset_kind)k, 300, 0.0, 12345));
        double sum = 0, sum2 = 0;
        for (size_t i = 0; i < 600; i++) {
            double z = (qml_dataset_features(a)[i] - qml_dataset_features(quiet)[i]) / 0.2;
            sum += z;
            sum2 += z * z;
        }
        assert_close(sum / 600, 0.0, 5 / sqrt(600.0));
        assert_close(sum2 / 600, 1.0, 5 * sqrt(2.0 / 600));
        qml_dataset_free(a);
        qml_dataset_free(b);
        qml_dataset_free(c);
        qml_dataset_free(quiet);
    }
    /* The named generators are the generic one (circles: factor 0.5). */
    qml_dataset *g = NULL, *named = NULL;
    assert_ok(qml_dataset_generate(&g, QML_DATASET_CIRCLES, 50, 0.1, 3));
    assert_ok(qml_dataset_circles(&named, 50, 0.1, 0.5, 3));
    assert_same_bits(g, named);
    qml_dataset_free(g);
    qml_dataset_free(named);
}

/* The noiseless sets lie exactly on their curves; cos^2 + sin^2 rounds to 1
 * within a few ulps, so 1e-14 is generous and still catches any wrong
 * radius or centre. */
static void test_moons_geometry(void **state)
{
    (void)state;
    qml_dataset *d = NULL;
    assert_ok(qml_dataset_moons(&d, 2000, 0.0, 99));
    const double *p = qml_dataset_features(d);
    int left = 0, right = 0;
    for (size_t i = 0; i < 2000; i++) {
        double x = p[2 * i], y = p[2 * i + 1];
        if (qml_dataset_labels(d)[i] == 0) {
            /* upper unit half circle centred at (0, 0) */
            assert_close(x * x + y * y, 1.0, 1e-14);
            assert_true(y >= 0);
            left += x < -0.5;
            right += x > 0.5;
        } else {
            /* lower unit half circle centred at (1, 1/2) */
            assert_close((x - 1) * (x - 1) + (y - 0.5) * (y - 0.5), 1.0, 1e-14);
            assert_true(y <= 0.5);
        }
    }
    /* Angles uniform in [0, pi): about a third of the outer moon on each end
     * (P(cos t < -1/2) = 1/3; 1000 draws, 5 sigma ~ 75). */
    assert_true(abs(left - 333) < 75 && abs(right - 333) < 75);
    qml_dataset_free(d);
}

static void test_circles_geometry(void **state)
{
    (void)state;
    const double factors[2] = {0.5, 0.3};
    for (int f = 0; f < 2; f++) {
        qml_dataset *d = NULL;
        assert_ok(qml_dataset_circles(&d, 1001, 0.0, factors[f], 5));
        const double *p = qml_dataset_features(d);
        int quadrant[4] = {0};
        for (size_t i = 0; i < 1001; i++) {
            double r = hypot(p[2 * i], p[2 * i + 1]);
            assert_close(r, qml_dataset_labels(d)[i] ? factors[f] : 1.0, 1e-14);
            quadrant[(p[2 * i] < 0) + 2 * (p[2 * i + 1] < 0)]++;
        }
        for (int q = 0; q < 4; q++)
            assert_true(abs(quadrant[q] - 250) < 80); /* angles uniform: 5 sigma ~ 68 */
        qml_dataset_free(d);
    }
}

static void test_xor_geometry(void **state)
{
    (void)state;
    qml_dataset *d = NULL;
    assert_ok(qml_dataset_xor(&d, 400, 0.0, 11));
    const double *p = qml_dataset_features(d);
    int quadrant[4] = {0};
    for (size_t i = 0; i < 400; i++) {
        double x = p[2 * i], y = p[2 * i + 1];
        assert_true(fabs(x) > 0 && fabs(x) <= 1 && fabs(y) > 0 && fabs(y) <= 1);
        assert_int_equal(qml_dataset_labels(d)[i], x * y > 0); /* the sign rule */
        quadrant[(x < 0) + 2 * (y < 0)]++;
    }
    for (int q = 0; q < 4; q++)
        assert_int_equal(quadrant[q], 100); /* each class alternates its two quadrants */
    qml_dataset_free(d);
}

static void test_generator_validation(void **state)
{
    (void)state;
    qml_dataset *d = NULL;
    assert_status(qml_dataset_moons(NULL, 10, 0.1, 1), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_dataset_moons(&d, 0, 0.1, 1), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_dataset_moons(&d, 1, 0.1, 1), QML_ERR_INVALID_ARGUMENT);
    assert_message_has("n_rows is 1");
    assert_status(qml_dataset_moons(&d, 10, NAN, 1), QML_ERR_INVALID_ARGUMENT);
    assert_message_has("noise");
    assert_status(qml_dataset_xor(&d, 10, -0.1, 1), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_dataset_xor(&d, 10, INFINITY, 1), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_dataset_circles(&d, 10, 0.1, 0.0, 1), QML_ERR_INVALID_ARGUMENT);
    assert_message_has("factor");
    assert_status(qml_dataset_circles(&d, 10, 0.1, 1.0, 1), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_dataset_circles(&d, 10, 0.1, NAN, 1), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_dataset_generate(&d, (qml_dataset_kind)3, 10, 0.1, 1), QML_ERR_INVALID_ARGUMENT);
    assert_message_has("kind 3");
    assert_null(d);
}

/* ---- CSV -------------------------------------------------------------------- */

static qml_dataset *parse_ok(const char *text, const qml_csv_options *options)
{
    qml_dataset *d = NULL;
    assert_ok(qml_dataset_parse_csv(&d, text, options));
    return d;
}

static void test_csv_round_trip(void **state)
{
    (void)state;
    /* Awkward doubles: negative zero, a subnormal, the extremes, and values
     * with no short decimal form; plus a noisy generated set. */
    const double x[12] = {-0.0, 4.9406564584124654e-324, DBL_MAX, -DBL_MIN, 0.1, 1.0 / 3.0,
                          -2.5e-17, 6.02214076e23, PI, -1e-310, 123456789.12345678, 1};
    const int y[6] = {0, 1, 1, 0, 1, 0};
    qml_dataset *awkward = NULL, *moons = NULL;
    assert_ok(qml_dataset_create(&awkward, 6, 2, x, y));
    assert_ok(qml_dataset_moons(&moons, 257, 0.3, 2024));
    qml_dataset *sets[2] = {awkward, moons};
    for (int s = 0; s < 2; s++) {
        char *text = NULL;
        size_t length = 0;
        assert_ok(qml_dataset_format_csv(sets[s], &text, &length));
        assert_int_equal(length, strlen(text));
        assert_int_equal(strncmp(text, "x0,x1,label\n", 12), 0);
        qml_dataset *back = parse_ok(text, NULL);
        assert_same_bits(back, sets[s]);
        qml_free(text);
        qml_dataset_free(back);

        const char *path = "test_dataset_round_trip.csv";
        assert_ok(qml_dataset_save_csv(sets[s], path));
        qml_dataset *loaded = NULL;
        assert_ok(qml_dataset_load_csv(&loaded, path, NULL));
        assert_same_bits(loaded, sets[s]);
        qml_dataset_free(loaded);
        remove(path);
    }
    /* -0.0 keeps its sign bit. */
    qml_dataset *back = NULL;
    char *text = NULL;
    assert_ok(qml_dataset_format_csv(awkward, &text, NULL));
    assert_ok(qml_dataset_parse_csv(&back, text, NULL));
    assert_true(signbit(qml_dataset_features(back)[0]));
    qml_free(text);
    qml_dataset_free(back);
    qml_dataset_free(awkward);
    qml_dataset_free(moons);
}

static void test_csv_rules(void **state)
{
    (void)state;
    /* Header detected, whitespace around cells, CRLF, blank lines. */
    qml_dataset *d = parse_ok("a, b ,label\r\n\r\n 1.5 ,\t-2 , 1\r\n   \n3,4e-1,0\r\n\n", NULL);
    assert_int_equal(qml_dataset_n_rows(d), 2);
    assert_int_equal(qml_dataset_n_features(d), 2);
    const double expect[4] = {1.5, -2, 3, 0.4};
    assert_memory_equal(qml_dataset_features(d), expect, sizeof expect);
    assert_int_equal(qml_dataset_labels(d)[0], 1);
    assert_int_equal(qml_dataset_labels(d)[1], 0);
    qml_dataset_free(d);

    /* No header: the first line is data; no final newline. */
    d = parse_ok("1,2,0\n3,4,1", NULL);
    assert_int_equal(qml_dataset_n_rows(d), 2);
    qml_dataset_free(d);

    /* Forced header on a numeric first line: it is skipped. */
    qml_csv_options options = QML_CSV_OPTIONS_INIT;
    options.header = QML_CSV_HEADER_YES;
    d = parse_ok("1,2,0\n3,4,1\n", &options);
    assert_int_equal(qml_dataset_n_rows(d), 1);
    assert_true(qml_dataset_features(d)[0] == 3);
    qml_dataset_free(d);

    /* Forced no-header on a text first line: a parse error at line 1. */
    options.header = QML_CSV_HEADER_NO;
    assert_status(qml_dataset_parse_csv(&d, "x,y,label\n1,2,0\n", &options), QML_ERR_PARSE);
    assert_message_has("line 1, column 1");

    /* Label in column 0. */
    options = (qml_csv_options)QML_CSV_OPTIONS_INIT;
    options.label_column = 0;
    d = parse_ok("label,x\n1,0.5\n0,0.25\n", &options);
    assert_int_equal(qml_dataset_n_features(d), 1);
    assert_true(qml_dataset_features(d)[0] == 0.5 && qml_dataset_features(d)[1] == 0.25);
    assert_int_equal(qml_dataset_labels(d)[0], 1);
    qml_dataset_free(d);
    options.label_column = 2;
    assert_status(qml_dataset_parse_csv(&d, "1,2\n", &options), QML_ERR_INVALID_ARGUMENT);
    assert_message_has("label_column 2");
    options.label_column = -2;
    assert_status(qml_dataset_parse_csv(&d, "1,2\n", &options), QML_ERR_INVALID_ARGUMENT);
    options = (qml_csv_options)QML_CSV_OPTIONS_INIT;
    options.header = (qml_csv_header)7;
    assert_status(qml_dataset_parse_csv(&d, "1,2\n", &options), QML_ERR_INVALID_ARGUMENT);
    options.size = 0;
    assert_status(qml_dataset_parse_csv(&d, "1,2\n", &options), QML_ERR_INVALID_ARGUMENT);

    /* Two label values other than 0/1: smaller -> 0, larger -> 1. */
    d = parse_ok("0,-1\n1,1\n2,-1\n", NULL);
    assert_int_equal(qml_dataset_labels(d)[0], 0);
    assert_int_equal(qml_dataset_labels(d)[1], 1);
    assert_int_equal(qml_dataset_labels(d)[2], 0);
    qml_dataset_free(d);
    d = parse_ok("0,5\n1,2\n", NULL);
    assert_int_equal(qml_dataset_labels(d)[0], 1);
    assert_int_equal(qml_dataset_labels(d)[1], 0);
    qml_dataset_free(d);
    /* A single class 0/1 is taken as it is. */
    d = parse_ok("0,1\n1,1\n", NULL);
    assert_int_equal(count_label(d, 1), 2);
    qml_dataset_free(d);
}

typedef struct bad_csv {
    const char *text;
    const char *where;   /* expected in the message */
} bad_csv;

static void test_csv_parse_errors(void **state)
{
    (void)state;
    const bad_csv cases[] = {
        {"", "no data rows"},
        {"   \n\n\r\n", "no data rows"},
        {"x,y,label\n", "no data rows"},
        {"1\n2\n", "line 1: 1 column"},
        {"1,2,0\n3,4,1\n5,6\n", "line 3, column 3: 2 columns"},
        {"1,2,0\n3,4,1,7\n", "line 2, column 4: 4 columns"},
        {"x,y,label\n1,2,0\n3,abc,1\n", "line 3, column 2: 'abc' is not a number"},
        {"1,2,0\n\n3,nan,1\n", "line 3, column 2: 'nan' is not finite"},
        {"1,2,0\n3,-inf,1\n", "line 2, column 2: '-inf' is not finite"},
        {"1,2,0\n3,1e999,1\n", "line 2, column 2: '1e999' is not finite"},
        {"1,2,0\n3,,1\n", "line 2, column 2: '' is not a number"},
        {"1,2,0\n3,4,\n", "line 2, column 3: '' is not a number"},
        {"1,2,0\n3,4 5,1\n", "line 2, column 2: '4 5' is not a number"},
        {"1,2,0\n3,4,1\n5,6,2\n", "line 3, column 3: a third label value 2"},
        {"1,2,3\n4,5,3\n", "line 1: the only label value is 3"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        qml_dataset *d = NULL;
        int status = qml_dataset_parse_csv(&d, cases[k].text, NULL);
        if (status != QML_ERR_PARSE)
            fail_msg("case %zu: status %d, expected QML_ERR_PARSE (%s)", k, status, qml_last_error());
        assert_null(d);
        if (!strstr(qml_last_error(), cases[k].where))
            fail_msg("case %zu: message '%s' lacks '%s'", k, qml_last_error(), cases[k].where);
        assert_non_null(strstr(qml_last_error(), "qml_dataset_parse_csv"));
    }
    /* An embedded NUL in a file ends no line: it is a non-numeric cell. */
    const char *path = "test_dataset_nul.csv";
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite("1,2,0\n3,4\0,1\n", 1, 13, f);
    fclose(f);
    qml_dataset *d = NULL;
    assert_status(qml_dataset_load_csv(&d, path, NULL), QML_ERR_PARSE);
    assert_message_has("test_dataset_nul.csv: line 2, column 2");
    remove(path);
    assert_status(qml_dataset_parse_csv(NULL, "1,0", NULL), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_dataset_parse_csv(&d, NULL, NULL), QML_ERR_INVALID_ARGUMENT);
}

static void test_csv_io_errors(void **state)
{
    (void)state;
    qml_dataset *d = NULL;
    const char *missing = "no_such_dir_for_libqml/data.csv";
    assert_status(qml_dataset_load_csv(&d, missing, NULL), QML_ERR_IO);
    assert_message_has(missing);
    assert_message_has(strerror(ENOENT));
    assert_null(d);
    /* A directory opens on Linux but cannot be read. */
    assert_status(qml_dataset_load_csv(&d, ".", NULL), QML_ERR_IO);
    assert_message_has("'.'");

    qml_dataset *moons = NULL;
    assert_ok(qml_dataset_moons(&moons, 10, 0.1, 1));
    assert_status(qml_dataset_save_csv(moons, missing), QML_ERR_IO);
    assert_message_has(missing);
    assert_message_has(strerror(ENOENT));
    /* A full device fails at write or close, never silently. */
    FILE *probe = fopen("/dev/full", "wb");
    if (probe) {
        fclose(probe);
        assert_status(qml_dataset_save_csv(moons, "/dev/full"), QML_ERR_IO);
        assert_message_has(strerror(ENOSPC));
    }
    assert_status(qml_dataset_save_csv(NULL, "x.csv"), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_dataset_save_csv(moons, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_dataset_load_csv(&d, NULL, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_dataset_format_csv(moons, NULL, NULL), QML_ERR_INVALID_ARGUMENT);

    /* Parse messages from a file name the file. */
    const char *path = "test_dataset_bad.csv";
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("a,b,label\n1,2,0\n1,x,1\n", f);
    fclose(f);
    assert_status(qml_dataset_load_csv(&d, path, NULL), QML_ERR_PARSE);
    assert_message_has("test_dataset_bad.csv: line 3, column 2");
    remove(path);
    qml_dataset_free(moons);
}

/* ---- splits ---------------------------------------------------------------- */

static void check_partition(const qml_dataset *all, const qml_dataset *train, const qml_dataset *test)
{
    size_t n = qml_dataset_n_rows(all);
    assert_int_equal(qml_dataset_n_rows(train) + qml_dataset_n_rows(test), n);
    int *seen = calloc(n, sizeof *seen);
    assert_non_null(seen);
    const qml_dataset *parts[2] = {train, test};
    for (int p = 0; p < 2; p++) {
        double previous = -1;
        for (size_t i = 0; i < qml_dataset_n_rows(parts[p]); i++) {
            double id = qml_dataset_features(parts[p])[2 * i];
            size_t row = (size_t)id;
            assert_true(id > previous); /* original order kept */
            previous = id;
            assert_true(row < n);
            seen[row]++;
            /* the row is copied whole */
            assert_true(qml_dataset_features(parts[p])[2 * i + 1] == qml_dataset_features(all)[2 * row + 1]);
            assert_int_equal(qml_dataset_labels(parts[p])[i], qml_dataset_labels(all)[row]);
        }
    }
    for (size_t row = 0; row < n; row++)
        assert_int_equal(seen[row], 1); /* disjoint and covering */
    free(seen);
}

static void test_split(void **state)
{
    (void)state;
    qml_dataset *all = indexed_dataset(103, 4); /* 26 ones, 77 zeros */
    assert_int_equal(count_label(all, 1), 26);
    for (int stratify = 0; stratify < 2; stratify++) {
        qml_dataset *train = NULL, *test = NULL, *train2 = NULL, *test2 = NULL, *train3 = NULL, *test3 = NULL;
        assert_ok(qml_dataset_split(&train, &test, all, 0.25, 42, stratify));
        check_partition(all, train, test);
        if (stratify) {
            /* round(0.25 * 77) = 19 zeros and round(0.25 * 26) = 7 ones. */
            assert_int_equal(count_label(test, 0), 19);
            assert_int_equal(count_label(test, 1), 7);
        } else {
            assert_int_equal(qml_dataset_n_rows(test), 26); /* round(25.75) */
        }
        assert_ok(qml_dataset_split(&train2, &test2, all, 0.25, 42, stratify));
        assert_same_bits(train, train2);
        assert_same_bits(test, test2);
        assert_ok(qml_dataset_split(&train3, &test3, all, 0.25, 43, stratify));
        check_partition(all, train3, test3);
        assert_true(qml_dataset_n_rows(test3) != qml_dataset_n_rows(test) ||
                    memcmp(qml_dataset_features(test3), qml_dataset_features(test),
                           2 * qml_dataset_n_rows(test) * sizeof(double)) != 0);
        qml_dataset_free(train);
        qml_dataset_free(test);
        qml_dataset_free(train2);
        qml_dataset_free(test2);
        qml_dataset_free(train3);
        qml_dataset_free(test3);
    }
    /* The test set is a uniform sample: over many seeds each row lands in it
     * with frequency ~ 26/103. 400 seeds: 5 sigma = 5 sqrt(p (1-p) / 400) ~ 0.11. */
    int hits[103] = {0};
    for (uint64_t seed = 0; seed < 400; seed++) {
        qml_dataset *train = NULL, *test = NULL;
        assert_ok(qml_dataset_split(&train, &test, all, 0.25, seed, 0));
        for (size_t i = 0; i < qml_dataset_n_rows(test); i++)
            hits[(size_t)qml_dataset_features(test)[2 * i]]++;
        qml_dataset_free(train);
        qml_dataset_free(test);
    }
    for (int row = 0; row < 103; row++)
        assert_close(hits[row] / 400.0, 26.0 / 103.0, 0.11);
    qml_dataset_free(all);
}

static void test_split_validation(void **state)
{
    (void)state;
    qml_dataset *all = indexed_dataset(10, 2);
    qml_dataset *train = NULL, *test = NULL;
    const double bad[5] = {0.0, 1.0, -0.1, 1.5, NAN};
    for (int k = 0; k < 5; k++) {
        assert_status(qml_dataset_split(&train, &test, all, bad[k], 1, 0), QML_ERR_INVALID_ARGUMENT);
        assert_message_has("test_fraction");
    }
    /* 0.01 of 10 rows rounds to 0 test rows; 0.99 to 10. */
    assert_status(qml_dataset_split(&train, &test, all, 0.01, 1, 0), QML_ERR_INVALID_ARGUMENT);
    assert_message_has("0 test rows");
    assert_status(qml_dataset_split(&train, &test, all, 0.99, 1, 1), QML_ERR_INVALID_ARGUMENT);
    assert_message_has("10 test rows");
    assert_status(qml_dataset_split(&train, &train, all, 0.5, 1, 0), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_dataset_split(NULL, &test, all, 0.5, 1, 0), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_dataset_split(&train, &test, NULL, 0.5, 1, 0), QML_ERR_INVALID_ARGUMENT);
    assert_null(train);
    assert_null(test);
    qml_dataset_free(all);
}

/* ---- scaling --------------------------------------------------------------- */

static void test_standardize(void **state)
{
    (void)state;
    qml_dataset *moons = NULL, *train = NULL, *test = NULL;
    assert_ok(qml_dataset_moons(&moons, 500, 0.2, 8));
    assert_ok(qml_dataset_split(&train, &test, moons, 0.3, 8, 1));
    /* Shift and stretch feature 1 so that the statistics are not ~0/1 already. */
    const double *raw_test = qml_dataset_features(test);
    size_t n_train = qml_dataset_n_rows(train), n_test = qml_dataset_n_rows(test);
    double *before_train = malloc(2 * n_train * sizeof(double));
    double *before_test = malloc(2 * n_test * sizeof(double));
    memcpy(before_train, qml_dataset_features(train), 2 * n_train * sizeof(double));
    memcpy(before_test, raw_test, 2 * n_test * sizeof(double));

    double mean[2], stddev[2];
    assert_ok(qml_dataset_standardize(train, test, mean, stddev));
    /* Hand computation of the training statistics (long double sums, a
     * different summation from the library's). */
    for (int j = 0; j < 2; j++) {
        long double s = 0, s2 = 0;
        for (size_t i = 0; i < n_train; i++)
            s += before_train[2 * i + j];
        long double m = s / n_train;
        for (size_t i = 0; i < n_train; i++)
            s2 += (before_train[2 * i + j] - m) * (before_train[2 * i + j] - m);
        double sd = (double)sqrtl(s2 / n_train);
        assert_close(mean[j], (double)m, 1e-15);
        assert_close(stddev[j], sd, 1e-15);
        /* train: mean 0 and std 1 to 1e-12 (rounding of ~n ulps) */
        double tm = 0, tv = 0;
        for (size_t i = 0; i < n_train; i++)
            tm += qml_dataset_features(train)[2 * i + j];
        tm /= (double)n_train;
        for (size_t i = 0; i < n_train; i++)
            tv += pow(qml_dataset_features(train)[2 * i + j] - tm, 2);
        assert_close(tm, 0.0, 1e-12);
        assert_close(sqrt(tv / (double)n_train), 1.0, 1e-12);
        /* test: transformed with the training statistics, not its own */
        for (size_t i = 0; i < n_test; i++)
            assert_close(qml_dataset_features(test)[2 * i + j], (before_test[2 * i + j] - (double)m) / sd, 1e-13);
    }
    /* The same map on a third set via apply. */
    qml_dataset *again = NULL;
    assert_ok(qml_dataset_create(&again, n_test, 2, before_test, qml_dataset_labels(test)));
    assert_ok(qml_dataset_apply_standardization(again, mean, stddev, 2));
    assert_memory_equal(qml_dataset_features(again), qml_dataset_features(test), 2 * n_test * sizeof(double));

    /* A constant feature is only centred. */
    const double x[6] = {2, 1, 2, 5, 2, 9};
    const int y[3] = {0, 1, 0};
    qml_dataset *constant = NULL;
    assert_ok(qml_dataset_create(&constant, 3, 2, x, y));
    assert_ok(qml_dataset_standardize(constant, NULL, mean, stddev));
    assert_true(stddev[0] == 0 && mean[0] == 2);
    for (int i = 0; i < 3; i++)
        assert_true(qml_dataset_features(constant)[2 * i] == 0);

    /* Validation: mismatched features, test == train, bad statistics. */
    qml_dataset *one = indexed_dataset(4, 2);
    const double x3[3] = {1, 2, 3};
    const int y1[1] = {1};
    qml_dataset *three = NULL;
    assert_ok(qml_dataset_create(&three, 1, 3, x3, y1));
    assert_status(qml_dataset_standardize(one, three, NULL, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_message_has("test has 3 features, train has 2");
    assert_true(qml_dataset_features(one)[2] == 1); /* nothing changed */
    assert_status(qml_dataset_standardize(one, one, NULL, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_dataset_standardize(NULL, one, NULL, NULL), QML_ERR_INVALID_ARGUMENT);
    const double good[2] = {0, 1}, nan_mean[2] = {NAN, 0}, neg_sd[2] = {1, -1};
    assert_status(qml_dataset_apply_standardization(one, good, good, 3), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_dataset_apply_standardization(one, nan_mean, good, 2), QML_ERR_INVALID_ARGUMENT);
    assert_message_has("mean[0]");
    assert_status(qml_dataset_apply_standardization(one, good, neg_sd, 2), QML_ERR_INVALID_ARGUMENT);
    assert_message_has("stddev[1]");
    free(before_train);
    free(before_test);
    qml_dataset_free(one);
    qml_dataset_free(three);
    qml_dataset_free(constant);
    qml_dataset_free(again);
    qml_dataset_free(moons);
    qml_dataset_free(train);
    qml_dataset_free(test);
}

static void test_rescale(void **state)
{
    (void)state;
    const double xtrain[8] = {-3, 7, 1, 7, 5, 7, 2, 7}; /* feature 1 constant */
    const double xtest[4] = {9, 0, -3, 7};
    const int y4[4] = {0, 1, 0, 1}, y2[2] = {1, 0};
    qml_dataset *train = NULL, *test = NULL;
    assert_ok(qml_dataset_create(&train, 4, 2, xtrain, y4));
    assert_ok(qml_dataset_create(&test, 2, 2, xtest, y2));
    const double low = -PI / 2, high = PI / 2;
    double min[2], max[2];
    assert_ok(qml_dataset_rescale(train, test, low, high, min, max));
    assert_true(min[0] == -3 && max[0] == 5 && min[1] == 7 && max[1] == 7);
    /* By hand: x -> low + (x + 3) * pi / 8 for feature 0; feature 1 -> 0. */
    for (int i = 0; i < 4; i++) {
        assert_close(qml_dataset_features(train)[2 * i], low + (xtrain[2 * i] + 3) * PI / 8, 1e-15);
        assert_true(qml_dataset_features(train)[2 * i + 1] == 0.0);
    }
    assert_close(qml_dataset_features(train)[0], low, 1e-15);
    assert_close(qml_dataset_features(train)[4], high, 1e-15);
    /* test uses train's range: 9 lands above high, nothing is clipped. */
    assert_close(qml_dataset_features(test)[0], low + 12 * PI / 8, 1e-15);
    assert_close(qml_dataset_features(test)[2], low, 1e-15);
    assert_true(qml_dataset_features(test)[1] == 0.0);

    qml_dataset *again = NULL;
    assert_ok(qml_dataset_create(&again, 2, 2, xtest, y2));
    assert_ok(qml_dataset_apply_rescale(again, min, max, 2, low, high));
    assert_memory_equal(qml_dataset_features(again), qml_dataset_features(test), 4 * sizeof(double));

    assert_status(qml_dataset_rescale(train, test, 1, 1, NULL, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_message_has("low < high");
    assert_status(qml_dataset_rescale(train, test, NAN, 1, NULL, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_dataset_rescale(train, test, -DBL_MAX, DBL_MAX, NULL, NULL), QML_ERR_INVALID_ARGUMENT);
    const double bad_min[2] = {1, 0}, bad_max[2] = {0, 1};
    assert_status(qml_dataset_apply_rescale(again, bad_min, bad_max, 2, 0, 1), QML_ERR_INVALID_ARGUMENT);
    assert_message_has("range 0");
    assert_status(qml_dataset_apply_rescale(again, min, max, 1, 0, 1), QML_ERR_INVALID_ARGUMENT);
    const double wide[4] = {-DBL_MAX, 0, DBL_MAX, 1};
    qml_dataset *huge = NULL;
    assert_ok(qml_dataset_create(&huge, 2, 2, wide, y2));
    assert_status(qml_dataset_rescale(huge, NULL, 0, 1, NULL, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_message_has("feature 0");
    assert_true(qml_dataset_features(huge)[1] == 0); /* nothing changed */
    qml_dataset_free(huge);
    qml_dataset_free(again);
    qml_dataset_free(train);
    qml_dataset_free(test);
}

/* ---- allocation failures --------------------------------------------------- */

/* ---- data with a symmetry, label noise, random labels -------------------------- */

/* The test's own labels of the three tasks. */
static int reference_symmetric_label(qml_symmetric_task task, const double *x, size_t f)
{
    if (task == QML_TASK_BROKEN)
        return x[0] > 0.0;
    if (task == QML_TASK_PARITY) {
        int parity = 0;
        for (size_t q = 0; q < f; q++)
            parity ^= x[q] > 0.0;
        return parity;
    }
    double mean = 0.0;
    for (size_t q = 0; q < f; q++)
        mean += cos(x[q]) / (double)f;
    return mean > 0.0;
}

static void test_symmetric_tasks(void **state)
{
    (void)state;
    const size_t shapes[3][2] = {{400, 2}, {300, 5}, {200, 12}};
    for (int s = 0; s < 3; s++) {
        size_t n = shapes[s][0], f = shapes[s][1];
        qml_dataset *d[3] = {NULL, NULL, NULL};
        for (int task = 0; task < 3; task++) {
            assert_ok(qml_dataset_symmetric(&d[task], (qml_symmetric_task)task, n, f, 17));
            assert_int_equal(qml_dataset_n_rows(d[task]), n);
            assert_int_equal(qml_dataset_n_features(d[task]), f);
        }
        /* One seed, one set of inputs for all three tasks, in [-pi, pi). */
        for (int task = 1; task < 3; task++)
            assert_memory_equal(qml_dataset_features(d[0]), qml_dataset_features(d[task]), n * f * sizeof(double));
        const double *x = qml_dataset_features(d[0]);
        for (size_t i = 0; i < n * f; i++)
            assert_true(x[i] >= -PI && x[i] < PI);
        harness_rng rng = {s + 1};
        double row[16], moved[16];
        size_t broken_changed = 0;
        for (size_t i = 0; i < n; i++) {
            for (int task = 0; task < 3; task++)
                assert_int_equal(qml_dataset_labels(d[task])[i],
                                 reference_symmetric_label((qml_symmetric_task)task, x + i * f, f));
            /* Permute the row's features (Fisher-Yates with the test's own
             * generator): the invariant tasks keep their label. */
            memcpy(row, x + i * f, f * sizeof(double));
            for (int trial = 0; trial < 5; trial++) {
                memcpy(moved, row, f * sizeof(double));
                for (size_t k = f - 1; k > 0; k--) {
                    size_t j = (size_t)(harness_uniform(&rng) * (double)(k + 1));
                    double t = moved[k];
                    moved[k] = moved[j];
                    moved[j] = t;
                }
                for (int task = 0; task < 2; task++)
                    assert_int_equal(qml__symmetric_label((qml_symmetric_task)task, moved, f),
                                     qml_dataset_labels(d[task])[i]);
                broken_changed += qml__symmetric_label(QML_TASK_BROKEN, moved, f) != qml_dataset_labels(d[2])[i];
            }
        }
        /* The control is not invariant: permutations move about half its labels. */
        assert_true(broken_changed > n);
        /* Classes roughly balanced (binomial sd < 0.03 at n >= 200). */
        for (int task = 0; task < 3; task++) {
            size_t ones = 0;
            for (size_t i = 0; i < n; i++)
                ones += (size_t)qml_dataset_labels(d[task])[i];
            double share = (double)ones / (double)n;
            if (fabs(share - 0.5) > 0.12)
                fail_msg("task %d, %zu x %zu: share of label 1 is %.3f", task, n, f, share);
        }
        for (int task = 0; task < 3; task++)
            qml_dataset_free(d[task]);
    }
    /* Another seed, other inputs; the same seed, the same bits. */
    qml_dataset *a = NULL, *b = NULL, *c = NULL;
    assert_ok(qml_dataset_symmetric(&a, QML_TASK_PARITY, 50, 3, 1));
    assert_ok(qml_dataset_symmetric(&b, QML_TASK_PARITY, 50, 3, 1));
    assert_ok(qml_dataset_symmetric(&c, QML_TASK_PARITY, 50, 3, 2));
    assert_memory_equal(qml_dataset_features(a), qml_dataset_features(b), 150 * sizeof(double));
    assert_true(memcmp(qml_dataset_features(a), qml_dataset_features(c), 150 * sizeof(double)) != 0);
    qml_dataset_free(a);
    qml_dataset_free(b);
    qml_dataset_free(c);
}

/* 0 is the median of (1/F) sum cos x_q: the sample median of 4001 draws is
 * within a few standard errors of it (the statistic's density at 0 is
 * about sqrt(F / pi), so the median's standard error is below 0.02). */
static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_cos_median(void **state)
{
    (void)state;
    for (size_t f = 2; f <= 8; f += 3) {
        qml_dataset *d = NULL;
        assert_ok(qml_dataset_symmetric(&d, QML_TASK_COS_MEDIAN, 4001, f, 5));
        double *m = malloc(4001 * sizeof *m);
        assert_non_null(m);
        const double *x = qml_dataset_features(d);
        for (size_t i = 0; i < 4001; i++) {
            m[i] = 0.0;
            for (size_t q = 0; q < f; q++)
                m[i] += cos(x[i * f + q]) / (double)f;
        }
        qsort(m, 4001, sizeof *m, compare_doubles);
        if (fabs(m[2000]) > 0.06)
            fail_msg("F = %zu: sample median %.4f", f, m[2000]);
        free(m);
        qml_dataset_free(d);
    }
}

static void test_label_noise(void **state)
{
    (void)state;
    qml_dataset *d = NULL, *orig = NULL;
    assert_ok(qml_dataset_symmetric(&orig, QML_TASK_BROKEN, 101, 2, 3));
    const int *y0 = qml_dataset_labels(orig);
    const double fractions[6] = {0.0, 0.1, 0.25, 0.5, 0.995, 1.0};
    const size_t expected[6] = {0, 10, 25, 51, 100, 101}; /* round half away from zero: 25.25 -> 25, 50.5 -> 51 */
    for (int k = 0; k < 6; k++) {
        assert_ok(qml_dataset_copy(&d, orig));
        assert_ok(qml_dataset_flip_labels(d, fractions[k], 8));
        size_t flipped = 0;
        for (size_t i = 0; i < 101; i++) {
            assert_true(qml_dataset_labels(d)[i] == 0 || qml_dataset_labels(d)[i] == 1);
            flipped += qml_dataset_labels(d)[i] != y0[i];
        }
        assert_int_equal(flipped, expected[k]);
        assert_memory_equal(qml_dataset_features(d), qml_dataset_features(orig), 202 * sizeof(double));
        qml_dataset_free(d);
        d = NULL;
    }
    /* Every row is equally likely to be flipped: over 2000 seeds at 10 of
     * 101 rows, each row's count is Binomial(2000, 10/101) (mean 198, sd
     * 13.4); all 101 within 5 sd. */
    size_t counts[101] = {0};
    for (uint64_t seed = 0; seed < 2000; seed++) {
        assert_ok(qml_dataset_copy(&d, orig));
        assert_ok(qml_dataset_flip_labels(d, 0.1, seed));
        for (size_t i = 0; i < 101; i++)
            counts[i] += qml_dataset_labels(d)[i] != y0[i];
        qml_dataset_free(d);
        d = NULL;
    }
    double mean = 2000.0 * 10.0 / 101.0, sd = sqrt(2000.0 * 10.0 / 101.0 * 91.0 / 101.0);
    for (size_t i = 0; i < 101; i++)
        if (fabs((double)counts[i] - mean) > 5.0 * sd)
            fail_msg("row %zu flipped %zu times in 2000, expected %.1f", i, counts[i], mean);
    /* Bad fractions leave the labels alone. */
    assert_ok(qml_dataset_copy(&d, orig));
    const double bad[4] = {-0.01, 1.01, NAN, INFINITY};
    for (int k = 0; k < 4; k++) {
        assert_status(qml_dataset_flip_labels(d, bad[k], 1), QML_ERR_INVALID_ARGUMENT);
        assert_non_null(strstr(qml_last_error(), "not in [0, 1]"));
    }
    assert_memory_equal(qml_dataset_labels(d), y0, 101 * sizeof(int));
    assert_status(qml_dataset_flip_labels(NULL, 0.5, 1), QML_ERR_INVALID_ARGUMENT);

    /* Random labels: fair, seeded, features untouched. */
    qml_dataset *big = NULL, *again = NULL;
    assert_ok(qml_dataset_symmetric(&big, QML_TASK_COS_MEDIAN, 4000, 2, 3));
    assert_ok(qml_dataset_copy(&again, big));
    assert_ok(qml_dataset_random_labels(big, 11));
    assert_ok(qml_dataset_random_labels(again, 11));
    assert_memory_equal(qml_dataset_labels(big), qml_dataset_labels(again), 4000 * sizeof(int));
    size_t ones = 0, agree = 0;
    qml_dataset *clean = NULL;
    assert_ok(qml_dataset_symmetric(&clean, QML_TASK_COS_MEDIAN, 4000, 2, 3));
    for (size_t i = 0; i < 4000; i++) {
        ones += (size_t)qml_dataset_labels(big)[i];
        agree += qml_dataset_labels(big)[i] == qml_dataset_labels(clean)[i];
    }
    /* Binomial(4000, 1/2): sd 31.6; and independent of the true labels. */
    assert_true(fabs((double)ones - 2000.0) < 5 * 31.6);
    assert_true(fabs((double)agree - 2000.0) < 5 * 31.6);
    assert_memory_equal(qml_dataset_features(big), qml_dataset_features(clean), 8000 * sizeof(double));
    assert_ok(qml_dataset_random_labels(again, 12));
    assert_true(memcmp(qml_dataset_labels(big), qml_dataset_labels(again), 4000 * sizeof(int)) != 0);
    assert_status(qml_dataset_random_labels(NULL, 1), QML_ERR_INVALID_ARGUMENT);
    qml_dataset_free(clean);
    qml_dataset_free(again);
    qml_dataset_free(big);
    qml_dataset_free(d);
    qml_dataset_free(orig);
}

static void test_symmetric_validation(void **state)
{
    (void)state;
    qml_dataset *d = NULL;
    assert_status(qml_dataset_symmetric(NULL, QML_TASK_PARITY, 10, 3, 0), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_dataset_symmetric(&d, (qml_symmetric_task)3, 10, 3, 0), QML_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(qml_last_error(), "unknown task"));
    assert_status(qml_dataset_symmetric(&d, QML_TASK_PARITY, 1, 3, 0), QML_ERR_INVALID_ARGUMENT);
    for (size_t f = 0; f < 2; f++) {
        assert_status(qml_dataset_symmetric(&d, QML_TASK_BROKEN, 10, f, 0), QML_ERR_INVALID_ARGUMENT);
        assert_non_null(strstr(qml_last_error(), "at least 2"));
    }
    assert_status(qml_dataset_symmetric(&d, QML_TASK_COS_MEDIAN, SIZE_MAX / 4, 4, 0), QML_ERR_INVALID_ARGUMENT);
    assert_null(d);
    assert_int_equal(QML_TASK_COS_MEDIAN, 0);
    assert_int_equal(QML_TASK_PARITY, 1);
    assert_int_equal(QML_TASK_BROKEN, 2);
}

static int sequence_symmetric(void *context)
{
    (void)context;
    qml_dataset *d = NULL;
    int status = qml_dataset_symmetric(&d, QML_TASK_PARITY, 20, 3, 4);
    if (!status)
        status = qml_dataset_flip_labels(d, 0.3, 1);
    if (!status)
        status = qml_dataset_random_labels(d, 2);
    qml_dataset_free(d);
    return status;
}

static int sequence_pipeline(void *context)
{
    (void)context;
    qml_dataset *all = NULL, *train = NULL, *test = NULL, *copy = NULL, *sub = NULL, *back = NULL;
    char *text = NULL;
    const size_t pick[3] = {0, 5, 5};
    int status = qml_dataset_circles(&all, 300, 0.1, 0.4, 1);
    if (!status)
        status = qml_dataset_split(&train, &test, all, 0.2, 2, 1);
    if (!status)
        status = qml_dataset_standardize(train, test, NULL, NULL);
    if (!status)
        status = qml_dataset_rescale(train, test, 0, 1, NULL, NULL);
    if (!status)
        status = qml_dataset_copy(&copy, train);
    if (!status)
        status = qml_dataset_subset(&sub, copy, pick, 3);
    if (!status)
        status = qml_dataset_format_csv(sub, &text, NULL);
    if (!status)
        status = qml_dataset_parse_csv(&back, text, NULL);
    qml_free(text);
    qml_dataset_free(back);
    qml_dataset_free(sub);
    qml_dataset_free(copy);
    qml_dataset_free(train);
    qml_dataset_free(test);
    qml_dataset_free(all);
    return status;
}

static int sequence_files(void *context)
{
    const char *path = context;
    qml_dataset *all = NULL, *loaded = NULL;
    int status = qml_dataset_xor(&all, 200, 0.05, 3); /* 200 rows: the CSV reader grows its buffers */
    if (!status)
        status = qml_dataset_save_csv(all, path);
    if (!status)
        status = qml_dataset_load_csv(&loaded, path, NULL);
    qml_dataset_free(loaded);
    qml_dataset_free(all);
    return status;
}

static void test_allocation_failures(void **state)
{
    (void)state;
    assert_true(harness_check_allocation_failures(sequence_pipeline, NULL) > 10);
    char path[] = "test_dataset_alloc.csv";
    assert_true(harness_check_allocation_failures(sequence_files, path) > 5);
    assert_true(harness_check_allocation_failures(sequence_symmetric, NULL) >= 3);
    remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_and_access),
        cmocka_unit_test(test_create_validation),
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_generator_sizes_and_balance),
        cmocka_unit_test(test_generator_determinism),
        cmocka_unit_test(test_moons_geometry),
        cmocka_unit_test(test_circles_geometry),
        cmocka_unit_test(test_xor_geometry),
        cmocka_unit_test(test_generator_validation),
        cmocka_unit_test(test_csv_round_trip),
        cmocka_unit_test(test_csv_rules),
        cmocka_unit_test(test_csv_parse_errors),
        cmocka_unit_test(test_csv_io_errors),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_split_validation),
        cmocka_unit_test(test_standardize),
        cmocka_unit_test(test_rescale),
        cmocka_unit_test(test_symmetric_tasks),
        cmocka_unit_test(test_cos_median),
        cmocka_unit_test(test_label_noise),
        cmocka_unit_test(test_symmetric_validation),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
