/* test_locale.c: numbers in text read and written with '.' whatever the
 * calling program's locale. A Qt or GTK program calls setlocale(LC_ALL, "")
 * and may run under a decimal-comma locale (de_DE): the CSV and Pauli text
 * round trips must give the same text and the same bits there as in "C".
 *
 * The decimal-comma locale comes from the system or from the build tree
 * (tests/meson.build compiles de_DE.UTF-8 with localedef when the locale
 * sources are installed, and points LOCPATH at it); without one, the
 * program reports a TAP skip ("1..0 # SKIP"). */
#include "harness.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const comma_locales[] = {
    "de_DE.UTF-8", "de_DE.utf8", "de_DE", "fr_FR.UTF-8", "fr_FR.utf8", "nl_NL.UTF-8", "ru_RU.UTF-8",
};

/* Switch the whole process to a decimal-comma locale, as a GUI program
 * would; returns its name, or NULL if there is none. */
static const char *enter_comma_locale(void)
{
    for (size_t i = 0; i < sizeof comma_locales / sizeof *comma_locales; i++) {
        if (!setlocale(LC_ALL, comma_locales[i]))
            continue;
        char probe[16];
        snprintf(probe, sizeof probe, "%.1f", 0.5);
        if (strcmp(probe, "0,5") == 0)
            return comma_locales[i];
    }
    setlocale(LC_ALL, "C");
    return NULL;
}

static void leave_comma_locale(void)
{
    setlocale(LC_ALL, "C");
}

/* Awkward doubles: ones whose shortest text needs 17 digits, tiny and huge
 * magnitudes, negative zero's neighbours, and exact binary fractions. */
static const double awkward[] = {
    0.1, 0.28349999999999997, 1.0 / 3.0, -2.0 / 7.0, 1e-300, -4.9406564584124654e-324,
    1.7976931348623157e308, 123456789.125, -0.5, 6.02214076e23, 2.5e-8, 0.0,
};
#define N_AWKWARD (sizeof awkward / sizeof *awkward)

static qml_dataset *awkward_dataset(void)
{
    double features[N_AWKWARD * 2];
    int labels[N_AWKWARD];
    for (size_t i = 0; i < N_AWKWARD; i++) {
        features[2 * i] = awkward[i];
        features[2 * i + 1] = -awkward[N_AWKWARD - 1 - i];
        labels[i] = (int)(i % 2);
    }
    qml_dataset *d = NULL;
    assert_ok(qml_dataset_create(&d, N_AWKWARD, 2, features, labels));
    return d;
}

static void assert_same_dataset(const qml_dataset *a, const qml_dataset *b)
{
    assert_int_equal(qml_dataset_n_rows(a), qml_dataset_n_rows(b));
    assert_int_equal(qml_dataset_n_features(a), qml_dataset_n_features(b));
    size_t n = qml_dataset_n_rows(a) * qml_dataset_n_features(a);
    assert_memory_equal(qml_dataset_features(a), qml_dataset_features(b), n * sizeof(double));
    assert_memory_equal(qml_dataset_labels(a), qml_dataset_labels(b), qml_dataset_n_rows(a) * sizeof(int));
}

/* CSV: the text written under a decimal-comma locale equals the text written
 * under "C", parses back to the same bits there, and a hand-written CSV with
 * '.' decimals is read, not refused. */
static void test_csv_round_trip_decimal_comma(void **state)
{
    (void)state;
    qml_dataset *d = awkward_dataset();
    char *c_text = NULL;
    assert_ok(qml_dataset_format_csv(d, &c_text, NULL));

    const char *name = enter_comma_locale();
    assert_non_null(name);
    char *text = NULL;
    assert_ok(qml_dataset_format_csv(d, &text, NULL));
    if (strcmp(text, c_text) != 0)
        fail_msg("under %s the CSV text differs from the \"C\" locale's:\n%s\nvs\n%s", name, text, c_text);
    qml_dataset *back = NULL;
    assert_ok(qml_dataset_parse_csv(&back, text, NULL));
    assert_same_dataset(d, back);
    qml_dataset_free(back);

    qml_dataset *hand = NULL;
    assert_ok(qml_dataset_parse_csv(&hand, "x0,x1,label\n0.5,-1.25e-3,1\n0.25,2,0\n", NULL));
    assert_true(qml_dataset_features(hand)[0] == 0.5);
    assert_true(qml_dataset_features(hand)[1] == -1.25e-3);
    assert_true(qml_dataset_features(hand)[2] == 0.25);
    qml_dataset_free(hand);
    /* A decimal comma is a column separator in CSV, never a decimal point. */
    assert_status(qml_dataset_parse_csv(&hand, "x0,label\n0,5,1\n", NULL), QML_ERR_PARSE);
    leave_comma_locale();

    qml_free(text);
    qml_free(c_text);
    qml_dataset_free(d);
}

static void test_pauli_round_trip_decimal_comma(void **state)
{
    (void)state;
    char c_text[4096], text[4096];
    qml_pauli_sum *sum = NULL;
    assert_ok(qml_pauli_sum_parse(&sum, 4, "0.5*Z0 Z1 - 0.28349999999999997*X2 + 1.25e-3*Y3 + 0.1*I"));
    assert_ok(qml_pauli_sum_format(sum, c_text, sizeof c_text, NULL));

    const char *name = enter_comma_locale();
    assert_non_null(name);
    assert_ok(qml_pauli_sum_format(sum, text, sizeof text, NULL));
    if (strcmp(text, c_text) != 0)
        fail_msg("under %s the Pauli text is \"%s\", in \"C\" \"%s\"", name, text, c_text);
    qml_pauli_sum *back = NULL;
    assert_ok(qml_pauli_sum_parse(&back, 4, text));
    size_t n = qml_pauli_sum_n_terms(sum);
    assert_int_equal(qml_pauli_sum_n_terms(back), n);
    for (size_t t = 0; t < n; t++) {
        double c1, c2;
        char s1[8], s2[8];
        assert_ok(qml_pauli_sum_term(sum, t, &c1, s1));
        assert_ok(qml_pauli_sum_term(back, t, &c2, s2));
        assert_memory_equal(&c1, &c2, sizeof c1);
        assert_string_equal(s1, s2);
    }
    double c;
    char dense[8];
    assert_ok(qml_pauli_sum_term(back, 0, &c, dense));
    assert_true(c == 0.5);
    leave_comma_locale();
    qml_pauli_sum_free(back);
    qml_pauli_sum_free(sum);
}

/* The same under a thread-local locale (uselocale), which is how a library
 * or a worker thread may set one without touching the others. */
static void test_thread_locale(void **state)
{
    (void)state;
    locale_t comma = (locale_t)0;
    for (size_t i = 0; i < sizeof comma_locales / sizeof *comma_locales && comma == (locale_t)0; i++)
        comma = newlocale(LC_ALL_MASK, comma_locales[i], (locale_t)0);
    assert_true(comma != (locale_t)0);
    locale_t previous = uselocale(comma);
    qml_dataset *d = NULL;
    int status = qml_dataset_parse_csv(&d, "a,label\n0.75,1\n-1.5,0\n", NULL);
    char *text = NULL;
    if (status == QML_OK)
        status = qml_dataset_format_csv(d, &text, NULL);
    uselocale(previous);
    freelocale(comma);
    assert_ok(status);
    assert_string_equal(text, "x0,label\n0.75,1\n-1.5,0\n");
    qml_free(text);
    qml_dataset_free(d);
}

int main(void)
{
    /* cmocka reports a skipped test as "not ok # SKIP", which Meson counts
     * as a failure: skip the whole program the TAP way instead. */
    if (!enter_comma_locale()) {
        printf("1..0 # SKIP no decimal-comma locale (install de_DE.UTF-8 or Debian's locales package)\n");
        return 0;
    }
    leave_comma_locale();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_round_trip_decimal_comma),
        cmocka_unit_test(test_pauli_round_trip_decimal_comma),
        cmocka_unit_test(test_thread_locale),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
