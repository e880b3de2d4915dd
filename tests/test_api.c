/* test_api.c: the public contract of every QML_API function, row by row:
 * bad pointers, sizes, indices, NaN/inf, unknown enums and options sizes
 * must give the documented negative status with a specific message. */
#include "harness.h"

#include <float.h>
#include <stdbool.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <time.h>

/* ---- the fixture: one valid object of every handle type ------------------- */

static struct {
    qml_pauli_sum *z0;        /* "Z0" on 2 qubits */
    qml_pauli_sum *zz;        /* "Z0 Z1" on 2 qubits */
    qml_pauli_sum *zero;      /* the zero operator on 2 qubits */
    qml_pauli_sum *anti;      /* "X0 + Z0": anticommuting terms */
    qml_pauli_sum *on3;       /* "Z0" on 3 qubits */
    qml_pauli_sum *on15;      /* "Z0" on 15 qubits (above the dense limit) */
    qml_pauli_sum *gens[3];   /* "X0 X1", "Z0", "Z1" */
    qml_pauli_sum *gens_bad[2]; /* "X0 X1" and a 3-qubit sum */
    qml_pauli_sum *gens_null[2];
    qml_circuit *circ;        /* 2 qubits: RY(x_0), RY(x_1), one HEA layer (4 weights) */
    qml_circuit *circ3;       /* 3 qubits, one HEA layer */
    qml_circuit *fixed;       /* 2 qubits, H only: no weight, no feature */
    qml_circuit *nofeat;      /* 2 qubits, HEA layer, no feature */
    qml_circuit *one_qubit;   /* 1 qubit */
    qml_statevec *state;      /* |00> */
    qml_statevec *state3;     /* |000> */
    qml_lie_algebra *alg;     /* the DLA of gens */
    qml_gradient_stats *stats; /* FIRST selection over circ */
    qml_bp_scan *scan;
    qml_dataset *data;        /* 8 rows of moons, 2 features */
    qml_dataset *data1;       /* 4 rows, 1 feature */
    qml_optimizer *opt;       /* 3 parameters */
    qml_model *model;         /* unstructured, 2 qubits, 1 layer, 2 features */
} F;

/* Out-parameters of constructors start at a sentinel: a failed call must
 * leave them alone (qml.h: "out-parameters are left unset"). */
static char sentinel_byte;
#define SENTINEL ((void *)&sentinel_byte)
static struct {
    qml_pauli_sum *sum;
    qml_circuit *circuit;
    qml_statevec *state;
    qml_lie_algebra *alg;
    qml_gradient_stats *stats;
    qml_bp_scan *scan;
    qml_dataset *data, *data2;
    qml_optimizer *opt;
    qml_model *model;
    qml_rng *rng;
    char *text;
} O;

static void reset_outs(void)
{
    O.sum = SENTINEL;
    O.circuit = SENTINEL;
    O.state = SENTINEL;
    O.alg = SENTINEL;
    O.stats = SENTINEL;
    O.scan = SENTINEL;
    O.data = O.data2 = SENTINEL;
    O.opt = SENTINEL;
    O.model = SENTINEL;
    O.rng = SENTINEL;
    O.text = SENTINEL;
}

static bool outs_untouched(void)
{
    return O.sum == SENTINEL && O.circuit == SENTINEL && O.state == SENTINEL && O.alg == SENTINEL &&
           O.stats == SENTINEL && O.scan == SENTINEL && O.data == SENTINEL && O.data2 == SENTINEL &&
           O.opt == SENTINEL && O.model == SENTINEL && O.rng == SENTINEL && O.text == SENTINEL;
}

/* Scratch arguments. */
static double dbuf[4096];
static char cbuf[256];
static unsigned ubuf[8];
static size_t zval;
static int ival;
static double dval;
static uint64_t outcomes[8];

/* An options struct `size` bytes larger than the library's, with a non-zero
 * byte in the part the library does not know. */
static _Alignas(max_align_t) unsigned char big_a[1024], big_b[1024];
static void *oversized(unsigned char *buffer, const void *options, size_t known, int trailing)
{
    memset(buffer, 0, 1024);
    memcpy(buffer, options, known);
    size_t size = known + 32;
    memcpy(buffer, &size, sizeof size);
    buffer[known + 5] = (unsigned char)trailing;
    return buffer;
}
#define BIG(buffer, init, trailing) oversized((buffer), &(init), sizeof(init), (trailing))

/* ---- the checks ---------------------------------------------------------- */

static int n_rows_checked;
static int n_failures;

/* The function name a call's text starts with. */
static void function_name(const char *call, char *name, size_t capacity)
{
    size_t k = 0;
    while (call[k] && call[k] != '(' && call[k] != ' ' && k + 1 < capacity) {
        name[k] = call[k];
        k++;
    }
    name[k] = '\0';
}

static void report(int line, const char *call, const char *what)
{
    fprintf(stderr, "# line %d: %s: %s\n", line, call, what);
    n_failures++;
}

static void begin_row(void)
{
    reset_outs();
    qml_clear_error();
}

static void check_failure(int line, const char *call, int expected, int got, const char *named)
{
    char name[96], text[512];
    function_name(call, name, sizeof name);
    if (named)
        snprintf(name, sizeof name, "%s", named);
    n_rows_checked++;
    if (got != expected) {
        snprintf(text, sizeof text, "returned %d (%s), expected %d (%s); message: \"%s\"", got,
                 qml_status_string(got), expected, qml_status_string(expected), qml_last_error());
        report(line, call, text);
        return;
    }
    if ((int)qml_last_status() != expected) {
        snprintf(text, sizeof text, "qml_last_status() is %d, expected %d", (int)qml_last_status(), expected);
        report(line, call, text);
    }
    const char *message = qml_last_error();
    if (message == NULL || message[0] == '\0')
        report(line, call, "empty qml_last_error()");
    else if (strstr(message, name) == NULL) {
        snprintf(text, sizeof text, "message \"%s\" does not name %s", message, name);
        report(line, call, text);
    }
    if (!outs_untouched())
        report(line, call, "an out-parameter was set on failure");
}

/* A call that must succeed after a failure and leave no error behind. */
static void check_success(int line, const char *call, int got)
{
    char text[512];
    n_rows_checked++;
    if (got != QML_OK) {
        snprintf(text, sizeof text, "returned %d (%s), expected success; message: \"%s\"", got,
                 qml_status_string(got), qml_last_error());
        report(line, call, text);
        return;
    }
    if (qml_last_status() != QML_OK || qml_last_error()[0] != '\0') {
        snprintf(text, sizeof text, "success left the last error set: %d \"%s\"", (int)qml_last_status(),
                 qml_last_error());
        report(line, call, text);
    }
}

/* A row: `call` must fail with `expected`. */
#define FAIL(expected, call)                                                   \
    do {                                                                       \
        begin_row();                                                           \
        int got_ = (call);                                                     \
        check_failure(__LINE__, #call, (expected), got_, NULL);                \
    } while (0)
#define INVALID(call) FAIL(QML_ERR_INVALID_ARGUMENT, call)
#define RANGE(call) FAIL(QML_ERR_OUT_OF_RANGE, call)

/* A row: `call` must succeed and clear an earlier error. */
#define SUCCEED(call)                                                          \
    do {                                                                       \
        begin_row();                                                           \
        (void)qml_pauli_sum_create(NULL, 1);                                   \
        int got_ = (call);                                                     \
        check_success(__LINE__, #call, got_);                                  \
    } while (0)

/* A row: a getter or name function must give 0 / NULL. */
#define ZERO(call)                                                             \
    do {                                                                       \
        n_rows_checked++;                                                      \
        if ((call) != 0)                                                       \
            report(__LINE__, #call, "did not give 0/NULL");                    \
    } while (0)

static void finish(void)
{
    int failures = n_failures, rows = n_rows_checked;
    n_failures = n_rows_checked = 0;
    fprintf(stderr, "# %d contract rows checked\n", rows);
    if (failures)
        fail_msg("%d of %d contract rows failed (listed above)", failures, rows);
}

/* ---- fixture set-up ------------------------------------------------------ */

static qml_pauli_sum *parse(unsigned n, const char *text)
{
    qml_pauli_sum *sum = NULL;
    if (qml_pauli_sum_parse(&sum, n, text) != QML_OK)
        fail_msg("parse \"%s\": %s", text, qml_last_error());
    return sum;
}

static int setup(void **state)
{
    (void)state;
    F.z0 = parse(2, "Z0");
    F.zz = parse(2, "Z0 Z1");
    F.zero = parse(2, "0");
    F.anti = parse(2, "X0 + Z0");
    F.on3 = parse(3, "Z0");
    F.on15 = parse(15, "Z0");
    F.gens[0] = parse(2, "X0 X1");
    F.gens[1] = parse(2, "Z0");
    F.gens[2] = parse(2, "Z1");
    F.gens_bad[0] = F.gens[0];
    F.gens_bad[1] = F.on3;
    F.gens_null[0] = F.gens[0];
    F.gens_null[1] = NULL;

    unsigned q0 = 0;
    int s = qml_circuit_create(&F.circ, 2);
    s |= qml_ansatz_angle_encoding(F.circ, QML_GATE_RY, 2, 1.0);
    s |= qml_ansatz_hardware_efficient(F.circ, 1, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN);
    s |= qml_circuit_create(&F.circ3, 3);
    s |= qml_ansatz_hardware_efficient(F.circ3, 1, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN);
    s |= qml_circuit_create(&F.fixed, 2);
    s |= qml_circuit_add_gate(F.fixed, QML_GATE_H, &q0, 1);
    s |= qml_circuit_create(&F.nofeat, 2);
    s |= qml_ansatz_hardware_efficient(F.nofeat, 1, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN);
    s |= qml_circuit_create(&F.one_qubit, 1);
    s |= qml_statevec_create(&F.state, 2);
    s |= qml_statevec_create(&F.state3, 3);
    s |= qml_lie_algebra_create(&F.alg, (const qml_pauli_sum *const *)F.gens, 3, NULL);
    qml_landscape_options lo = QML_LANDSCAPE_OPTIONS_INIT;
    lo.samples = 4;
    double x[2] = {0.1, 0.2};
    s |= qml_gradient_stats_create(&F.stats, F.circ, F.z0, NULL, x, 2, &lo);
    qml_bp_scan_options so = QML_BP_SCAN_OPTIONS_INIT;
    so.n_min = 2;
    so.n_max = 3;
    so.depth = QML_BP_DEPTH_FIXED;
    so.layers = 1;
    s |= qml_bp_scan_family(&F.scan, QML_ANSATZ_HEA, &so, &lo);
    s |= qml_dataset_moons(&F.data, 8, 0.1, 1);
    double f1[4] = {0.1, 0.2, 0.3, 0.4};
    int l1[4] = {0, 1, 0, 1};
    s |= qml_dataset_create(&F.data1, 4, 1, f1, l1);
    s |= qml_optimizer_create(&F.opt, 3, NULL);
    s |= qml_model_create_template(&F.model, QML_MODEL_UNSTRUCTURED, 2, 1, 2, QML_LOSS_BCE);
    if (s != 0)
        fail_msg("fixture: %s", qml_last_error());
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    qml_pauli_sum_free(F.z0);
    qml_pauli_sum_free(F.zz);
    qml_pauli_sum_free(F.zero);
    qml_pauli_sum_free(F.anti);
    qml_pauli_sum_free(F.on3);
    qml_pauli_sum_free(F.on15);
    for (int k = 0; k < 3; k++)
        qml_pauli_sum_free(F.gens[k]);
    qml_circuit_free(F.circ);
    qml_circuit_free(F.circ3);
    qml_circuit_free(F.fixed);
    qml_circuit_free(F.nofeat);
    qml_circuit_free(F.one_qubit);
    qml_statevec_free(F.state);
    qml_statevec_free(F.state3);
    qml_lie_algebra_free(F.alg);
    qml_gradient_stats_free(F.stats);
    qml_bp_scan_free(F.scan);
    qml_dataset_free(F.data);
    qml_dataset_free(F.data1);
    qml_optimizer_free(F.opt);
    qml_model_free(F.model);
    return 0;
}

/* ---- core: errors, versions, allocator, PRNG ----------------------------- */

static void *sys_malloc(size_t size, void *user)
{
    (void)user;
    return malloc(size);
}

static void *sys_realloc(void *ptr, size_t size, void *user)
{
    (void)user;
    return realloc(ptr, size);
}

static void sys_free(void *ptr, void *user)
{
    (void)user;
    free(ptr);
}

static void test_core_contract(void **state)
{
    (void)state;
    ZERO(qml_version_number() != QML_VERSION_NUMBER);
    ZERO(qml_version_string() == NULL);
    ZERO(strcmp(qml_status_string(999), "unknown status"));
    ZERO(strcmp(qml_status_string(INT_MIN), "unknown status"));

    qml_allocator a = {sizeof a, NULL, NULL, NULL, NULL};
    INVALID(qml_set_allocator(&a));
    qml_allocator a0 = {0, NULL, NULL, NULL, NULL};
    INVALID(qml_set_allocator(&a0));
    qml_allocator system = {sizeof system, sys_malloc, sys_realloc, sys_free, NULL};
    INVALID(qml_set_allocator(BIG(big_a, system, 1)));
    system.size = sizeof system - 1;
    INVALID(qml_set_allocator(&system));
    SUCCEED(qml_set_allocator(BIG(big_a, system, 0)));
    SUCCEED(qml_set_allocator(NULL));

    INVALID(qml_rng_create(NULL, 1, 2));
    ZERO(qml_rng_next(NULL));
    ZERO(qml_rng_uniform(NULL) != 0.0);
    ZERO(qml_rng_normal(NULL) != 0.0);
    ZERO(qml_rng_below(NULL, 10));
    SUCCEED(qml_rng_create(&O.rng, 1, 2));
    ZERO(qml_rng_below(O.rng, 0));
    qml_rng_free(O.rng);
    qml_rng_free(NULL);
    qml_free(NULL);
    finish();
}

/* ---- Pauli sums ------------------------------------------------------------ */

static void test_pauli_contract(void **state)
{
    (void)state;
    unsigned q[2] = {0, 1}, q00[2] = {0, 0}, q5 = 5;
    INVALID(qml_pauli_sum_create(NULL, 2));
    INVALID(qml_pauli_sum_create(&O.sum, 0));
    FAIL(QML_ERR_LIMIT, qml_pauli_sum_create(&O.sum, (1u << 20) + 1));
    FAIL(QML_ERR_LIMIT, qml_pauli_sum_create(&O.sum, UINT_MAX));
    INVALID(qml_pauli_sum_copy(NULL, F.z0));
    INVALID(qml_pauli_sum_copy(&O.sum, NULL));
    ZERO(qml_pauli_sum_n_qubits(NULL));
    ZERO(qml_pauli_sum_n_terms(NULL));
    qml_pauli_sum_free(NULL);

    INVALID(qml_pauli_sum_parse(NULL, 0, "Z0"));
    INVALID(qml_pauli_sum_parse(&O.sum, 0, NULL));
    FAIL(QML_ERR_PARSE, qml_pauli_sum_parse(&O.sum, 0, ""));
    FAIL(QML_ERR_PARSE, qml_pauli_sum_parse(&O.sum, 0, "nan*Z0"));
    FAIL(QML_ERR_PARSE, qml_pauli_sum_parse(&O.sum, 0, "inf Z0"));
    FAIL(QML_ERR_PARSE, qml_pauli_sum_parse(&O.sum, 0, "1e999 Z0"));
    FAIL(QML_ERR_PARSE, qml_pauli_sum_parse(&O.sum, 0, "Q0"));
    RANGE(qml_pauli_sum_parse(&O.sum, 2, "Z5"));
    RANGE(qml_pauli_sum_parse(&O.sum, 0, "Z99999999999"));
    FAIL(QML_ERR_LIMIT, qml_pauli_sum_parse(&O.sum, (1u << 20) + 1, "Z0"));

    INVALID(qml_pauli_sum_format(NULL, cbuf, sizeof cbuf, &zval));
    INVALID(qml_pauli_sum_format(F.z0, NULL, sizeof cbuf, &zval));
    RANGE(qml_pauli_sum_format(F.z0, cbuf, 1, &zval));
    RANGE(qml_pauli_sum_format(F.z0, NULL, 0, &zval));
    SUCCEED(qml_pauli_sum_format(F.z0, cbuf, sizeof cbuf, NULL));

    qml_pauli_sum *w = parse(2, "Z0");
    INVALID(qml_pauli_sum_add_term(NULL, 1.0, "Z", q, 1));
    INVALID(qml_pauli_sum_add_term(w, NAN, "Z", q, 1));
    INVALID(qml_pauli_sum_add_term(w, INFINITY, "Z", q, 1));
    INVALID(qml_pauli_sum_add_term(w, 1.0, NULL, q, 1));
    INVALID(qml_pauli_sum_add_term(w, 1.0, "Z", NULL, 1));
    INVALID(qml_pauli_sum_add_term(w, 1.0, "Q", q, 1));
    INVALID(qml_pauli_sum_add_term(w, 1.0, "ZZ", q00, 2));
    RANGE(qml_pauli_sum_add_term(w, 1.0, "Z", &q5, 1));
    SUCCEED(qml_pauli_sum_add_term(w, DBL_MAX, "Z", q, 1));
    RANGE(qml_pauli_sum_add_term(w, DBL_MAX, "Z", q, 1));
    INVALID(qml_pauli_sum_add_string(NULL, 1.0, "ZZ"));
    INVALID(qml_pauli_sum_add_string(w, NAN, "ZZ"));
    INVALID(qml_pauli_sum_add_string(w, 1.0, NULL));
    INVALID(qml_pauli_sum_add_string(w, 1.0, "Z"));
    INVALID(qml_pauli_sum_add_string(w, 1.0, "ZZZ"));
    INVALID(qml_pauli_sum_add_string(w, 1.0, "ZQ"));
    RANGE(qml_pauli_sum_add_string(w, DBL_MAX, "ZI"));
    INVALID(qml_pauli_sum_add(NULL, 1.0, F.z0));
    INVALID(qml_pauli_sum_add(w, 1.0, NULL));
    INVALID(qml_pauli_sum_add(w, NAN, F.z0));
    INVALID(qml_pauli_sum_add(w, 1.0, F.on3));
    RANGE(qml_pauli_sum_add(w, 1.0, w));
    INVALID(qml_pauli_sum_scale(NULL, 1.0));
    INVALID(qml_pauli_sum_scale(w, NAN));
    INVALID(qml_pauli_sum_scale(w, -INFINITY));
    RANGE(qml_pauli_sum_scale(w, 4.0));
    SUCCEED(qml_pauli_sum_scale(w, 0.5));
    qml_pauli_sum_free(w);

    INVALID(qml_pauli_sum_term(NULL, 0, &dval, cbuf));
    RANGE(qml_pauli_sum_term(F.z0, 1, &dval, cbuf));
    RANGE(qml_pauli_sum_term(F.z0, SIZE_MAX, &dval, cbuf));
    SUCCEED(qml_pauli_sum_term(F.z0, 0, NULL, NULL));

    INVALID(qml_pauli_sum_bracket(NULL, F.z0, F.zz));
    INVALID(qml_pauli_sum_bracket(&O.sum, NULL, F.zz));
    INVALID(qml_pauli_sum_bracket(&O.sum, F.z0, NULL));
    INVALID(qml_pauli_sum_bracket(&O.sum, F.z0, F.on3));
    INVALID(qml_pauli_sum_anticommutator(NULL, F.z0, F.zz));
    INVALID(qml_pauli_sum_anticommutator(&O.sum, NULL, F.zz));
    INVALID(qml_pauli_sum_anticommutator(&O.sum, F.z0, NULL));
    INVALID(qml_pauli_sum_anticommutator(&O.sum, F.z0, F.on3));

    INVALID(qml_pauli_sum_inner(NULL, F.z0, &dval));
    INVALID(qml_pauli_sum_inner(F.z0, NULL, &dval));
    INVALID(qml_pauli_sum_inner(F.z0, F.z0, NULL));
    INVALID(qml_pauli_sum_inner(F.z0, F.on3, &dval));
    INVALID(qml_pauli_sum_norm(NULL, &dval));
    INVALID(qml_pauli_sum_norm(F.z0, NULL));
    INVALID(qml_pauli_sum_trace(NULL, &dval));
    INVALID(qml_pauli_sum_trace(F.z0, NULL));
    SUCCEED(qml_pauli_sum_trace(F.z0, &dval));

    INVALID(qml_pauli_sum_equal(NULL, F.z0, 0.0, &ival));
    INVALID(qml_pauli_sum_equal(F.z0, NULL, 0.0, &ival));
    INVALID(qml_pauli_sum_equal(F.z0, F.z0, 0.0, NULL));
    INVALID(qml_pauli_sum_equal(F.z0, F.z0, NAN, &ival));
    INVALID(qml_pauli_sum_equal(F.z0, F.z0, -1.0, &ival));
    INVALID(qml_pauli_sum_equal(F.z0, F.z0, INFINITY, &ival));
    INVALID(qml_pauli_sum_equal(F.z0, F.on3, 0.0, &ival));
    INVALID(qml_pauli_sum_commutes(NULL, F.z0, 0.0, &ival));
    INVALID(qml_pauli_sum_commutes(F.z0, NULL, 0.0, &ival));
    INVALID(qml_pauli_sum_commutes(F.z0, F.z0, 0.0, NULL));
    INVALID(qml_pauli_sum_commutes(F.z0, F.z0, NAN, &ival));
    INVALID(qml_pauli_sum_commutes(F.z0, F.z0, -1.0, &ival));
    INVALID(qml_pauli_sum_commutes(F.z0, F.on3, 0.0, &ival));
    SUCCEED(qml_pauli_sum_commutes(F.z0, F.zz, 0.0, &ival));

    INVALID(qml_pauli_strings_commute(2, NULL, "ZZ", &ival));
    INVALID(qml_pauli_strings_commute(2, "ZZ", NULL, &ival));
    INVALID(qml_pauli_strings_commute(2, "ZZ", "ZZ", NULL));
    INVALID(qml_pauli_strings_commute(2, "Z", "ZZ", &ival));
    INVALID(qml_pauli_strings_commute(2, "QZ", "ZZ", &ival));
    INVALID(qml_pauli_strings_commute(0, "", "", &ival));
    FAIL(QML_ERR_LIMIT, qml_pauli_strings_commute((1u << 20) + 1, "Z", "Z", &ival));
    SUCCEED(qml_pauli_strings_commute(2, "XZ", "ZX", &ival));

    INVALID(qml_pauli_sum_support(NULL, ubuf, 8, &zval));
    INVALID(qml_pauli_sum_support(F.zz, NULL, 8, &zval));
    RANGE(qml_pauli_sum_support(F.zz, ubuf, 1, &zval));
    SUCCEED(qml_pauli_sum_support(F.zz, ubuf, 8, &zval));

    INVALID(qml_pauli_sum_to_dense(NULL, dbuf, 32));
    INVALID(qml_pauli_sum_to_dense(F.z0, NULL, 32));
    RANGE(qml_pauli_sum_to_dense(F.z0, dbuf, 31));
    FAIL(QML_ERR_LIMIT, qml_pauli_sum_to_dense(F.on15, dbuf, 4096));
    SUCCEED(qml_pauli_sum_to_dense(F.z0, dbuf, 32));
    finish();
}

/* ---- circuits and templates ------------------------------------------------ */

static void test_circuit_contract(void **state)
{
    (void)state;
    unsigned q[3] = {0, 1, 0}, q00[2] = {0, 0}, q5 = 5;
    double id[8] = {1, 0, 0, 0, 0, 0, 1, 0}, twice[8] = {2, 0, 0, 0, 0, 0, 2, 0};
    double nan_u[8] = {NAN, 0, 0, 0, 0, 0, 1, 0};
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, 2));

    INVALID(qml_circuit_create(NULL, 2));
    INVALID(qml_circuit_create(&O.circuit, 0));
    INVALID(qml_circuit_create(&O.circuit, 1025));
    INVALID(qml_circuit_create(&O.circuit, UINT_MAX));
    INVALID(qml_circuit_copy(NULL, F.circ));
    INVALID(qml_circuit_copy(&O.circuit, NULL));
    ZERO(qml_circuit_n_qubits(NULL));
    ZERO(qml_circuit_n_gates(NULL));
    ZERO(qml_circuit_n_weights(NULL));
    ZERO(qml_circuit_n_features(NULL));
    ZERO(qml_circuit_n_parametrised(NULL));
    qml_circuit_free(NULL);

    INVALID(qml_circuit_add_gate(NULL, QML_GATE_H, q, 1));
    INVALID(qml_circuit_add_gate(c, (qml_gate_kind)999, q, 1));
    INVALID(qml_circuit_add_gate(c, (qml_gate_kind)-1, q, 1));
    INVALID(qml_circuit_add_gate(c, (qml_gate_kind)16, q, 1));
    INVALID(qml_circuit_add_gate(c, QML_GATE_RX, q, 1));
    INVALID(qml_circuit_add_gate(c, QML_GATE_UNITARY1, q, 1));
    INVALID(qml_circuit_add_gate(c, QML_GATE_H, NULL, 1));
    INVALID(qml_circuit_add_gate(c, QML_GATE_H, q, 2));
    INVALID(qml_circuit_add_gate(c, QML_GATE_H, q, 0));
    INVALID(qml_circuit_add_gate(c, QML_GATE_CNOT, q00, 2));
    RANGE(qml_circuit_add_gate(c, QML_GATE_H, &q5, 1));
    INVALID(qml_circuit_add_unitary(NULL, id, q, 1));
    INVALID(qml_circuit_add_unitary(c, NULL, q, 1));
    INVALID(qml_circuit_add_unitary(c, id, NULL, 1));
    INVALID(qml_circuit_add_unitary(c, id, q, 3));
    INVALID(qml_circuit_add_unitary(c, id, q, 0));
    INVALID(qml_circuit_add_unitary(c, twice, q, 1));
    INVALID(qml_circuit_add_unitary(c, nan_u, q, 1));
    RANGE(qml_circuit_add_unitary(c, id, &q5, 1));

    INVALID(qml_circuit_add_rotation(NULL, QML_GATE_RX, q, 1, 0.0, 0, 1.0, QML_NONE, 0.0));
    INVALID(qml_circuit_add_rotation(c, (qml_gate_kind)999, q, 1, 0.0, 0, 1.0, QML_NONE, 0.0));
    INVALID(qml_circuit_add_rotation(c, QML_GATE_H, q, 1, 0.0, 0, 1.0, QML_NONE, 0.0));
    INVALID(qml_circuit_add_rotation(c, QML_GATE_PAULI_ROTATION, q, 1, 0.0, 0, 1.0, QML_NONE, 0.0));
    INVALID(qml_circuit_add_rotation(c, QML_GATE_RX, NULL, 1, 0.0, 0, 1.0, QML_NONE, 0.0));
    INVALID(qml_circuit_add_rotation(c, QML_GATE_RX, q, 2, 0.0, 0, 1.0, QML_NONE, 0.0));
    INVALID(qml_circuit_add_rotation(c, QML_GATE_RXX, q00, 2, 0.0, 0, 1.0, QML_NONE, 0.0));
    INVALID(qml_circuit_add_rotation(c, QML_GATE_RX, q, 1, NAN, 0, 1.0, QML_NONE, 0.0));
    INVALID(qml_circuit_add_rotation(c, QML_GATE_RX, q, 1, 0.0, 0, INFINITY, QML_NONE, 0.0));
    INVALID(qml_circuit_add_rotation(c, QML_GATE_RX, q, 1, 0.0, 0, 1.0, 0, NAN));
    RANGE(qml_circuit_add_rotation(c, QML_GATE_RX, &q5, 1, 0.0, 0, 1.0, QML_NONE, 0.0));
    RANGE(qml_circuit_add_rotation(c, QML_GATE_RX, q, 1, 0.0, 1L << 24, 1.0, QML_NONE, 0.0));
    RANGE(qml_circuit_add_rotation(c, QML_GATE_RX, q, 1, 0.0, -2, 1.0, QML_NONE, 0.0));
    RANGE(qml_circuit_add_rotation(c, QML_GATE_RX, q, 1, 0.0, LONG_MIN, 1.0, QML_NONE, 0.0));
    RANGE(qml_circuit_add_rotation(c, QML_GATE_RX, q, 1, 0.0, 0, 1.0, LONG_MAX, 1.0));
    INVALID(qml_circuit_add_pauli_rotation(NULL, F.zz, 0.0, 0, 1.0, QML_NONE, 0.0));
    INVALID(qml_circuit_add_pauli_rotation(c, NULL, 0.0, 0, 1.0, QML_NONE, 0.0));
    INVALID(qml_circuit_add_pauli_rotation(c, F.zero, 0.0, 0, 1.0, QML_NONE, 0.0));
    INVALID(qml_circuit_add_pauli_rotation(c, F.on3, 0.0, 0, 1.0, QML_NONE, 0.0));
    INVALID(qml_circuit_add_pauli_rotation(c, F.zz, NAN, 0, 1.0, QML_NONE, 0.0));
    INVALID(qml_circuit_add_pauli_rotation(c, F.zz, 0.0, 0, 1.0, QML_NONE, INFINITY));
    RANGE(qml_circuit_add_pauli_rotation(c, F.zz, 0.0, 1L << 24, 1.0, QML_NONE, 0.0));
    RANGE(qml_circuit_add_pauli_rotation(c, F.zz, 0.0, 0, 1.0, -7, 1.0));
    FAIL(QML_ERR_UNSUPPORTED, qml_circuit_add_pauli_rotation(c, F.anti, 0.0, 0, 1.0, QML_NONE, 0.0));
    ZERO(qml_circuit_n_gates(c));
    SUCCEED(qml_circuit_add_pauli_rotation(c, F.zz, 0.0, 0, 1.0, QML_NONE, 0.0));
    SUCCEED(qml_circuit_add_gate(c, QML_GATE_H, q, 1));

    qml_gate_kind kind;
    long lw;
    INVALID(qml_circuit_gate(NULL, 0, &kind, ubuf, &zval));
    RANGE(qml_circuit_gate(c, 2, &kind, ubuf, &zval));
    RANGE(qml_circuit_gate(c, SIZE_MAX, &kind, ubuf, &zval));
    SUCCEED(qml_circuit_gate(c, 0, NULL, NULL, NULL));
    INVALID(qml_circuit_gate_angle(NULL, 0, &dval, &lw, &dval, &lw, &dval));
    RANGE(qml_circuit_gate_angle(c, 2, &dval, &lw, &dval, &lw, &dval));
    INVALID(qml_circuit_gate_angle(c, 1, &dval, &lw, &dval, &lw, &dval));
    SUCCEED(qml_circuit_gate_angle(c, 0, NULL, NULL, NULL, NULL, NULL));
    INVALID(qml_circuit_gate_generator(NULL, 0, &O.sum));
    INVALID(qml_circuit_gate_generator(c, 0, NULL));
    RANGE(qml_circuit_gate_generator(c, 2, &O.sum));
    INVALID(qml_circuit_gate_generator(c, 1, &O.sum));
    INVALID(qml_circuit_weight_generator(NULL, 0, &O.sum));
    INVALID(qml_circuit_weight_generator(c, 0, NULL));
    INVALID(qml_circuit_weight_generator(c, -1, &O.sum));
    INVALID(qml_circuit_weight_generator(c, LONG_MIN, &O.sum));
    RANGE(qml_circuit_weight_generator(c, 1, &O.sum));
    RANGE(qml_circuit_weight_generator(c, LONG_MAX, &O.sum));

    /* Templates. */
    qml_pauli_sum *anti_gens[2] = {F.gens[0], F.anti};
    qml_pauli_sum *zero_gens[2] = {F.gens[0], F.zero};
    const qml_pauli_sum *const *gens = (const qml_pauli_sum *const *)F.gens;
    size_t before = qml_circuit_n_gates(c);
    INVALID(qml_ansatz_hardware_efficient(NULL, 1, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN));
    INVALID(qml_ansatz_hardware_efficient(c, 1, (qml_entangler)999, QML_BOUNDARY_OPEN));
    INVALID(qml_ansatz_hardware_efficient(c, 1, QML_ENTANGLER_CZ, (qml_boundary)999));
    RANGE(qml_ansatz_hardware_efficient(c, UINT_MAX, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN));
    INVALID(qml_ansatz_layered(NULL, gens, 3, NULL, 1, 0));
    INVALID(qml_ansatz_layered(c, NULL, 3, NULL, 1, 0));
    INVALID(qml_ansatz_layered(c, gens, 0, NULL, 1, 0));
    INVALID(qml_ansatz_layered(c, (const qml_pauli_sum *const *)F.gens_null, 2, NULL, 1, 0));
    INVALID(qml_ansatz_layered(c, (const qml_pauli_sum *const *)F.gens_bad, 2, NULL, 1, 0));
    INVALID(qml_ansatz_layered(c, (const qml_pauli_sum *const *)zero_gens, 2, NULL, 1, 0));
    FAIL(QML_ERR_UNSUPPORTED, qml_ansatz_layered(c, (const qml_pauli_sum *const *)anti_gens, 2, NULL, 1, 0));
    RANGE(qml_ansatz_layered(c, gens, 3, NULL, UINT_MAX, 0));
    INVALID(qml_ansatz_family_append(NULL, QML_ANSATZ_HEA, 1));
    INVALID(qml_ansatz_family_append(c, (qml_ansatz_family)999, 1));
    INVALID(qml_ansatz_family_append(F.one_qubit, QML_ANSATZ_TFIM, 1));
    RANGE(qml_ansatz_family_append(c, QML_ANSATZ_HEA, UINT_MAX));
    INVALID(qml_ansatz_angle_encoding(NULL, QML_GATE_RX, 2, 1.0));
    INVALID(qml_ansatz_angle_encoding(c, QML_GATE_H, 2, 1.0));
    INVALID(qml_ansatz_angle_encoding(c, QML_GATE_RXX, 2, 1.0));
    INVALID(qml_ansatz_angle_encoding(c, (qml_gate_kind)999, 2, 1.0));
    INVALID(qml_ansatz_angle_encoding(c, QML_GATE_RX, 0, 1.0));
    INVALID(qml_ansatz_angle_encoding(c, QML_GATE_RX, 2, NAN));
    INVALID(qml_ansatz_angle_encoding(c, QML_GATE_RX, 2, INFINITY));
    ZERO(qml_circuit_n_gates(c) != before);
    SUCCEED(qml_ansatz_family_append(c, QML_ANSATZ_TFIM, 0));
    SUCCEED(qml_ansatz_layered(c, gens, 3, NULL, 1, 0));
    qml_circuit_free(c);
    finish();
}

/* ---- statevector and gradients (checked, not owned by this audit) ------- */

/* OpenQASM in and out (qasm.c). */
static void test_qasm_contract(void **state)
{
    (void)state;
    const char *text = "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[2]; ry(theta[0]) q[0]; cx q[0],q[1];";
    char buffer[1024];
    size_t length = 0;
    INVALID(qml_circuit_parse_qasm(NULL, text, strlen(text)));
    INVALID(qml_circuit_parse_qasm(&O.circuit, NULL, 5));
    FAIL(QML_ERR_PARSE, qml_circuit_parse_qasm(&O.circuit, NULL, 0));
    FAIL(QML_ERR_PARSE, qml_circuit_parse_qasm(&O.circuit, "qreg q[1]; h q[0];", 18));
    FAIL(QML_ERR_PARSE, qml_circuit_parse_qasm(&O.circuit, "qreg q[1]; rx(nan) q[0];", 24));
    FAIL(QML_ERR_LIMIT, qml_circuit_parse_qasm(&O.circuit, text, (size_t)1 << 30));
    INVALID(qml_circuit_load_qasm(NULL, "x.qasm"));
    INVALID(qml_circuit_load_qasm(&O.circuit, NULL));
    FAIL(QML_ERR_IO, qml_circuit_load_qasm(&O.circuit, "/nonexistent/x.qasm"));
    INVALID(qml_circuit_format_qasm(NULL, buffer, sizeof buffer, &length));
    INVALID(qml_circuit_format_qasm(F.circ, NULL, 10, &length));
    RANGE(qml_circuit_format_qasm(F.circ, buffer, 4, &length));
    SUCCEED(qml_circuit_format_qasm(F.circ, buffer, sizeof buffer, &length));
    qml_circuit *c = NULL;
    SUCCEED(qml_circuit_parse_qasm(&c, text, strlen(text)));
    qml_circuit_free(c);
}

static void test_statevec_contract(void **state)
{
    (void)state;
    qml_statevec *s = F.state;
    double amps[8] = {1, 0, 0, 0, 0, 0, 0, 0}, half[8] = {0.5, 0, 0, 0, 0, 0, 0, 0};
    double nan_amps[8] = {NAN, 0, 0, 0, 0, 0, 0, 0};
    double w[4] = {0.1, 0.2, 0.3, 0.4}, w_nan[4] = {NAN, 0, 0, 0}, x[2] = {0.5, 0.6}, x_inf[2] = {INFINITY, 0};
    INVALID(qml_statevec_create(NULL, 2));
    INVALID(qml_statevec_create(&O.state, 0));
    FAIL(QML_ERR_LIMIT, qml_statevec_create(&O.state, 41));
    FAIL(QML_ERR_LIMIT, qml_statevec_create(&O.state, UINT_MAX));
    INVALID(qml_statevec_copy(NULL, s));
    INVALID(qml_statevec_copy(&O.state, NULL));
    ZERO(qml_statevec_n_qubits(NULL));
    ZERO(qml_statevec_data(NULL));
    qml_statevec_free(NULL);
    INVALID(qml_statevec_set_threads(NULL, 1));
    INVALID(qml_statevec_set_zero(NULL));
    INVALID(qml_statevec_set_basis(NULL, 0));
    RANGE(qml_statevec_set_basis(s, 4));
    RANGE(qml_statevec_set_basis(s, UINT64_MAX));
    INVALID(qml_statevec_set_amplitudes(NULL, amps, 4, 1e-10));
    INVALID(qml_statevec_set_amplitudes(s, NULL, 4, 1e-10));
    INVALID(qml_statevec_set_amplitudes(s, amps, 3, 1e-10));
    INVALID(qml_statevec_set_amplitudes(s, amps, SIZE_MAX, 1e-10));
    INVALID(qml_statevec_set_amplitudes(s, nan_amps, 4, 1e-10));
    INVALID(qml_statevec_set_amplitudes(s, amps, 4, NAN));
    INVALID(qml_statevec_set_amplitudes(s, amps, 4, -1.0));
    FAIL(QML_ERR_NOT_NORMALIZED, qml_statevec_set_amplitudes(s, half, 4, 1e-10));
    INVALID(qml_statevec_amplitudes(NULL, dbuf, 4));
    INVALID(qml_statevec_amplitudes(s, NULL, 4));
    INVALID(qml_statevec_amplitudes(s, dbuf, 3));
    INVALID(qml_statevec_probabilities(NULL, dbuf, 4));
    INVALID(qml_statevec_probabilities(s, NULL, 4));
    INVALID(qml_statevec_probabilities(s, dbuf, 5));
    INVALID(qml_statevec_run(NULL, F.circ, w, 4, x, 2));
    INVALID(qml_statevec_run(s, NULL, w, 4, x, 2));
    INVALID(qml_statevec_run(s, F.circ3, w, 4, x, 2));
    INVALID(qml_statevec_run(s, F.circ, NULL, 4, x, 2));
    INVALID(qml_statevec_run(s, F.circ, w, 4, NULL, 2));
    INVALID(qml_statevec_run(s, F.circ, w_nan, 4, x, 2));
    INVALID(qml_statevec_run(s, F.circ, w, 4, x_inf, 2));
    RANGE(qml_statevec_run(s, F.circ, w, 3, x, 2));
    RANGE(qml_statevec_run(s, F.circ, w, 4, x, 1));
    INVALID(qml_statevec_apply_gate(NULL, F.circ, 0, w, 4, x, 2));
    INVALID(qml_statevec_apply_gate(s, NULL, 0, w, 4, x, 2));
    RANGE(qml_statevec_apply_gate(s, F.circ, 999, w, 4, x, 2));
    INVALID(qml_statevec_expectation(NULL, F.z0, &dval));
    INVALID(qml_statevec_expectation(s, NULL, &dval));
    INVALID(qml_statevec_expectation(s, F.z0, NULL));
    INVALID(qml_statevec_expectation(s, F.on3, &dval));
    INVALID(qml_statevec_inner(NULL, s, &dval, &dval));
    INVALID(qml_statevec_inner(s, NULL, &dval, &dval));
    INVALID(qml_statevec_inner(s, s, NULL, &dval));
    INVALID(qml_statevec_inner(s, s, &dval, NULL));
    INVALID(qml_statevec_inner(s, F.state3, &dval, &dval));
    INVALID(qml_statevec_sample(NULL, 0, 4, outcomes));
    INVALID(qml_statevec_sample(s, 0, 4, NULL));
    INVALID(qml_statevec_estimate(NULL, F.z0, 100, 0, &dval, NULL));
    INVALID(qml_statevec_estimate(s, NULL, 100, 0, &dval, NULL));
    INVALID(qml_statevec_estimate(s, F.z0, 1, 0, &dval, NULL));
    INVALID(qml_statevec_estimate(s, F.z0, 100, 0, NULL, NULL));
    INVALID(qml_statevec_estimate(s, F.on3, 100, 0, &dval, NULL));
    SUCCEED(qml_statevec_set_zero(s));
    finish();
}

static void test_gradient_contract(void **state)
{
    (void)state;
    const qml_circuit *c = F.circ;
    const qml_pauli_sum *o = F.z0;
    double w[4] = {0.1, 0.2, 0.3, 0.4}, w_nan[4] = {0, NAN, 0, 0}, x[2] = {0.5, 0.6};
    double rows[4] = {0.1, 0.2, 0.3, 0.4}, g[4], v[2];
    qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT, bad = opt;
    INVALID(qml_gradient(NULL, o, NULL, w, 4, x, 2, NULL, &dval, g, NULL));
    INVALID(qml_gradient(c, NULL, NULL, w, 4, x, 2, NULL, &dval, g, NULL));
    INVALID(qml_gradient(c, F.on3, NULL, w, 4, x, 2, NULL, &dval, g, NULL));
    INVALID(qml_gradient(c, o, F.state3, w, 4, x, 2, NULL, &dval, g, NULL));
    INVALID(qml_gradient(c, o, NULL, NULL, 4, x, 2, NULL, &dval, g, NULL));
    INVALID(qml_gradient(c, o, NULL, w, 4, NULL, 2, NULL, &dval, g, NULL));
    INVALID(qml_gradient(c, o, NULL, w_nan, 4, x, 2, NULL, &dval, g, NULL));
    INVALID(qml_gradient(c, o, NULL, w, 4, x, 2, NULL, NULL, NULL, NULL));
    RANGE(qml_gradient(c, o, NULL, w, 3, x, 2, NULL, &dval, g, NULL));
    RANGE(qml_gradient(c, o, NULL, w, 4, x, 1, NULL, &dval, g, NULL));
    bad.size = 0;
    INVALID(qml_gradient(c, o, NULL, w, 4, x, 2, &bad, &dval, g, NULL));
    INVALID(qml_gradient(c, o, NULL, w, 4, x, 2, BIG(big_a, opt, 1), &dval, g, NULL));
    SUCCEED(qml_gradient(c, o, NULL, w, 4, x, 2, BIG(big_a, opt, 0), &dval, g, NULL));
    bad = opt;
    bad.method = (qml_gradient_method)999;
    INVALID(qml_gradient(c, o, NULL, w, 4, x, 2, &bad, &dval, g, NULL));
    bad = opt;
    bad.method = QML_GRADIENT_FINITE_DIFFERENCE;
    bad.step = NAN;
    INVALID(qml_gradient(c, o, NULL, w, 4, x, 2, &bad, &dval, g, NULL));
    bad.step = 0.0;
    INVALID(qml_gradient(c, o, NULL, w, 4, x, 2, &bad, &dval, g, NULL));
    bad.step = INFINITY;
    INVALID(qml_gradient(c, o, NULL, w, 4, x, 2, &bad, &dval, g, NULL));
    bad = opt;
    bad.shots = 100;
    INVALID(qml_gradient(c, o, NULL, w, 4, x, 2, &bad, &dval, g, NULL));
    bad = opt;
    bad.feature_gradients = 1;
    INVALID(qml_gradient(c, o, NULL, w, 4, x, 2, &bad, &dval, g, NULL));
    /* options.scratch: two distinct states of the circuit's width, not the initial state */
    qml_statevec *scratch2 = NULL;
    assert_int_equal(qml_statevec_create(&scratch2, 2), QML_OK);
    bad = opt;
    bad.scratch[0] = F.state;
    INVALID(qml_gradient(c, o, NULL, w, 4, x, 2, &bad, &dval, g, NULL));
    bad.scratch[0] = NULL, bad.scratch[1] = F.state;
    INVALID(qml_gradient(c, o, NULL, w, 4, x, 2, &bad, &dval, g, NULL));
    bad.scratch[0] = F.state;
    INVALID(qml_gradient(c, o, NULL, w, 4, x, 2, &bad, &dval, g, NULL));
    bad.scratch[1] = scratch2;
    INVALID(qml_gradient(c, o, F.state, w, 4, x, 2, &bad, &dval, g, NULL));
    bad.scratch[1] = F.state3;
    INVALID(qml_gradient(c, o, NULL, w, 4, x, 2, &bad, &dval, g, NULL));
    bad.scratch[1] = scratch2;
    SUCCEED(qml_gradient(c, o, NULL, w, 4, x, 2, &bad, &dval, g, NULL));
    /* the batch ignores it */
    bad.scratch[1] = F.state3;
    SUCCEED(qml_gradient_batch(c, o, NULL, w, 4, rows, 2, 2, &bad, QML_BATCH_SUM, v, g));
    qml_statevec_free(scratch2);

    /* backends (0.2): c is the hardware-efficient circuit (fixed CZ gates,
     * Clifford: g-sim runs it); tcirc adds a T gate, which g-sim refuses */
    qml_circuit *tcirc = NULL;
    unsigned tq = 0;
    assert_int_equal(qml_circuit_copy(&tcirc, c), QML_OK);
    assert_int_equal(qml_circuit_add_gate(tcirc, QML_GATE_T, &tq, 1), QML_OK);
    bad = opt;
    bad.backend = (qml_backend)99;
    INVALID(qml_gradient(c, o, NULL, w, 4, x, 2, &bad, &dval, g, NULL));
    INVALID(qml_gradient_batch(c, o, NULL, w, 4, rows, 2, 2, &bad, QML_BATCH_SUM, v, g));
    bad.backend = QML_BACKEND_GSIM;
    SUCCEED(qml_gradient(c, o, NULL, w, 4, x, 2, &bad, &dval, g, NULL));
    FAIL(QML_ERR_NOT_APPLICABLE, qml_gradient(tcirc, o, NULL, w, 4, x, 2, &bad, &dval, g, NULL));
    FAIL(QML_ERR_NOT_APPLICABLE, qml_gradient_batch(tcirc, o, NULL, w, 4, rows, 2, 2, &bad, QML_BATCH_SUM, v, g));
    bad.backend = QML_BACKEND_SYMMETRIC;
    FAIL(QML_ERR_NOT_APPLICABLE, qml_gradient(c, o, NULL, w, 4, x, 2, &bad, &dval, g, NULL));
    bad.backend = QML_BACKEND_AUTO;
    SUCCEED(qml_gradient(c, o, NULL, w, 4, x, 2, &bad, &dval, g, NULL));
    qml_backend bk;
    double bdim;
    INVALID(qml_backend_select(NULL, o, NULL, QML_BACKEND_AUTO, &bk, &bdim));
    INVALID(qml_backend_select(c, NULL, NULL, QML_BACKEND_AUTO, &bk, &bdim));
    INVALID(qml_backend_select(c, F.on3, NULL, QML_BACKEND_AUTO, &bk, &bdim));
    INVALID(qml_backend_select(c, o, F.state3, QML_BACKEND_AUTO, &bk, &bdim));
    INVALID(qml_backend_select(c, o, NULL, (qml_backend)-1, &bk, &bdim));
    FAIL(QML_ERR_NOT_APPLICABLE, qml_backend_select(tcirc, o, NULL, QML_BACKEND_GSIM, &bk, &bdim));
    SUCCEED(qml_backend_select(c, o, NULL, QML_BACKEND_AUTO, NULL, NULL));
    qml_circuit_free(tcirc);
    INVALID(qml_backend_from_name(NULL, &bk));
    INVALID(qml_backend_from_name("gsim", NULL));
    INVALID(qml_backend_from_name("GSIM", &bk));
    SUCCEED(qml_backend_from_name("auto", &bk));
    assert_null(qml_backend_name((qml_backend)4));

    INVALID(qml_gradient_batch(NULL, o, NULL, w, 4, rows, 2, 2, NULL, QML_BATCH_SUM, v, g));
    INVALID(qml_gradient_batch(c, NULL, NULL, w, 4, rows, 2, 2, NULL, QML_BATCH_SUM, v, g));
    INVALID(qml_gradient_batch(c, o, NULL, w, 4, NULL, 2, 2, NULL, QML_BATCH_SUM, v, g));
    INVALID(qml_gradient_batch(c, o, NULL, NULL, 4, rows, 2, 2, NULL, QML_BATCH_SUM, v, g));
    INVALID(qml_gradient_batch(c, o, NULL, w, 4, rows, 2, 2, NULL, (qml_batch_reduction)999, v, g));
    INVALID(qml_gradient_batch(c, o, NULL, w, 4, rows, 2, 2, NULL, QML_BATCH_SUM, NULL, NULL));
    RANGE(qml_gradient_batch(c, o, NULL, w, 4, rows, 2, 1, NULL, QML_BATCH_SUM, v, g));
    RANGE(qml_gradient_batch(c, o, NULL, w, 3, rows, 2, 2, NULL, QML_BATCH_SUM, v, g));
    bad = opt;
    bad.feature_gradients = 1;
    INVALID(qml_gradient_batch(c, o, NULL, w, 4, rows, 2, 2, &bad, QML_BATCH_SUM, v, g));
    bad = opt;
    bad.size = 0;
    INVALID(qml_gradient_batch(c, o, NULL, w, 4, rows, 2, 2, &bad, QML_BATCH_SUM, v, g));
    INVALID(qml_gradient_batch(c, o, NULL, w, 4, rows, 2, 2, BIG(big_a, opt, 1), QML_BATCH_SUM, v, g));
    SUCCEED(qml_gradient_batch(c, o, NULL, w, 4, rows, 2, 2, NULL, QML_BATCH_SUM, v, g));
    finish();
}

/* ---- Lie algebras ---------------------------------------------------------- */

static void test_lie_contract(void **state)
{
    (void)state;
    const qml_pauli_sum *const *gens = (const qml_pauli_sum *const *)F.gens;
    const qml_lie_algebra *a = F.alg;
    qml_lie_options opt = QML_LIE_OPTIONS_INIT, bad = opt;
    INVALID(qml_lie_algebra_create(NULL, gens, 3, NULL));
    INVALID(qml_lie_algebra_create(&O.alg, NULL, 3, NULL));
    INVALID(qml_lie_algebra_create(&O.alg, gens, 0, NULL));
    INVALID(qml_lie_algebra_create(&O.alg, (const qml_pauli_sum *const *)F.gens_null, 2, NULL));
    INVALID(qml_lie_algebra_create(&O.alg, (const qml_pauli_sum *const *)F.gens_bad, 2, NULL));
    bad.size = 0;
    INVALID(qml_lie_algebra_create(&O.alg, gens, 3, &bad));
    INVALID(qml_lie_algebra_create(&O.alg, gens, 3, BIG(big_a, opt, 1)));
    bad = opt;
    bad.tolerance = NAN;
    INVALID(qml_lie_algebra_create(&O.alg, gens, 3, &bad));
    bad.tolerance = -1.0;
    INVALID(qml_lie_algebra_create(&O.alg, gens, 3, &bad));
    bad.tolerance = INFINITY;
    INVALID(qml_lie_algebra_create(&O.alg, gens, 3, &bad));
    INVALID(qml_lie_algebra_from_circuit(NULL, F.circ, NULL));
    INVALID(qml_lie_algebra_from_circuit(&O.alg, NULL, NULL));
    INVALID(qml_lie_algebra_from_circuit(&O.alg, F.fixed, NULL));
    bad = opt;
    bad.size = 0;
    INVALID(qml_lie_algebra_from_circuit(&O.alg, F.circ, &bad));
    INVALID(qml_lie_algebra_from_circuit(&O.alg, F.circ, BIG(big_a, opt, 1)));
    SUCCEED(qml_lie_algebra_create(&O.alg, gens, 3, BIG(big_a, opt, 0)));
    qml_lie_algebra_free(O.alg);

    qml_lie_algebra_free(NULL);
    ZERO(qml_lie_algebra_n_qubits(NULL));
    ZERO(qml_lie_algebra_dim(NULL));
    ZERO(qml_lie_algebra_structure_known(NULL));
    ZERO(qml_lie_algebra_is_full(NULL));
    ZERO(qml_lie_algebra_center_dim(NULL));
    ZERO(qml_lie_algebra_n_ideals(NULL));
    ZERO(strcmp(qml_lie_hypothesis_string((qml_lie_hypothesis)999), "unknown"));

    size_t dim = qml_lie_algebra_dim(a), cdim = qml_lie_algebra_center_dim(a);
    size_t nid = qml_lie_algebra_n_ideals(a);
    const char *names;
    INVALID(qml_lie_algebra_basis_element(NULL, 0, &O.sum));
    INVALID(qml_lie_algebra_basis_element(a, 0, NULL));
    RANGE(qml_lie_algebra_basis_element(a, dim, &O.sum));
    RANGE(qml_lie_algebra_basis_element(a, SIZE_MAX, &O.sum));
    INVALID(qml_lie_algebra_center_element(NULL, 0, &O.sum));
    INVALID(qml_lie_algebra_center_element(a, 0, NULL));
    RANGE(qml_lie_algebra_center_element(a, cdim, &O.sum));
    INVALID(qml_lie_algebra_ideal(NULL, 0, &zval, &zval, &names));
    RANGE(qml_lie_algebra_ideal(a, nid, &zval, &zval, &names));
    SUCCEED(qml_lie_algebra_ideal(a, 0, NULL, NULL, NULL));
    INVALID(qml_lie_algebra_ideal_element(NULL, 0, 0, &O.sum));
    INVALID(qml_lie_algebra_ideal_element(a, 0, 0, NULL));
    RANGE(qml_lie_algebra_ideal_element(a, nid, 0, &O.sum));
    RANGE(qml_lie_algebra_ideal_element(a, 0, dim, &O.sum));

    INVALID(qml_lie_algebra_purity(NULL, F.z0, &dval, dbuf, 8, &zval));
    INVALID(qml_lie_algebra_purity(a, NULL, &dval, dbuf, 8, &zval));
    INVALID(qml_lie_algebra_purity(a, F.on3, &dval, dbuf, 8, &zval));
    INVALID(qml_lie_algebra_purity(a, F.z0, &dval, NULL, 8, &zval));
    RANGE(qml_lie_algebra_purity(a, F.z0, &dval, dbuf, 0, &zval));
    SUCCEED(qml_lie_algebra_purity(a, F.z0, &dval, NULL, 0, NULL));
    INVALID(qml_lie_algebra_state_purity(NULL, NULL, &dval, dbuf, 8, &zval));
    INVALID(qml_lie_algebra_state_purity(a, F.state3, &dval, dbuf, 8, &zval));
    INVALID(qml_lie_algebra_state_purity(a, NULL, &dval, NULL, 8, &zval));
    RANGE(qml_lie_algebra_state_purity(a, NULL, &dval, dbuf, 0, &zval));
    SUCCEED(qml_lie_algebra_state_purity(a, F.state, &dval, dbuf, 8, &zval));

    qml_lie_prediction p = QML_LIE_PREDICTION_INIT, p0 = p;
    p0.size = 0;
    INVALID(qml_lie_algebra_predict_variance(NULL, NULL, F.z0, NULL, &p));
    INVALID(qml_lie_algebra_predict_variance(a, NULL, NULL, NULL, &p));
    INVALID(qml_lie_algebra_predict_variance(a, NULL, F.z0, NULL, NULL));
    INVALID(qml_lie_algebra_predict_variance(a, NULL, F.z0, NULL, &p0));
    INVALID(qml_lie_algebra_predict_variance(a, F.state3, F.z0, NULL, &p));
    INVALID(qml_lie_algebra_predict_variance(a, NULL, F.on3, NULL, &p));
    INVALID(qml_lie_algebra_predict_variance(a, NULL, F.z0, F.on3, &p));
    SUCCEED(qml_lie_algebra_predict_variance(a, NULL, F.zz, NULL, &p));
    qml_lie_conditioning cond = QML_LIE_CONDITIONING_INIT, cond0 = cond;
    cond0.size = 0;
    INVALID(qml_lie_algebra_conditioning(NULL, &cond));
    INVALID(qml_lie_algebra_conditioning(a, NULL));
    INVALID(qml_lie_algebra_conditioning(a, &cond0));
    SUCCEED(qml_lie_algebra_conditioning(a, &cond));
    qml_lie_structure_state sst = QML_LIE_STRUCTURE_PARTIAL;
    INVALID(qml_lie_algebra_structure_state(NULL, &sst, &zval));
    INVALID(qml_lie_algebra_structure_state(a, NULL, &zval));
    SUCCEED(qml_lie_algebra_structure_state(a, &sst, NULL));
    SUCCEED(qml_lie_algebra_structure_state(a, &sst, &zval));
    /* certificates of simple ideals; the structure message */
    qml_lie_certificate lcert = QML_LIE_CERTIFICATE_NONE;
    INVALID(qml_lie_algebra_ideal_certificate(NULL, 0, &lcert));
    INVALID(qml_lie_algebra_ideal_certificate(a, 0, NULL));
    RANGE(qml_lie_algebra_ideal_certificate(a, qml_lie_algebra_n_ideals(a), &lcert));
    RANGE(qml_lie_algebra_ideal_certificate(a, (size_t)-1, &lcert));
    if (qml_lie_algebra_n_ideals(a))
        SUCCEED(qml_lie_algebra_ideal_certificate(a, 0, &lcert));
    assert_string_equal(qml_lie_algebra_structure_message(NULL), "");
    qml_dla_summary summary = {.size = sizeof summary}, summary0 = summary;
    summary0.size = 0;
    INVALID(qml_pauli_dla_classify(NULL, 3, &summary));
    INVALID(qml_pauli_dla_classify(gens, 3, NULL));
    INVALID(qml_pauli_dla_classify(gens, 0, &summary));
    INVALID(qml_pauli_dla_classify(gens, 3, &summary0));
    INVALID(qml_pauli_dla_classify((const qml_pauli_sum *const *)F.gens_null, 2, &summary));
    INVALID(qml_pauli_dla_classify((const qml_pauli_sum *const *)F.gens_bad, 2, &summary));
    SUCCEED(qml_pauli_dla_classify(gens, 3, &summary));
    /* the classification with options, and its variance prediction */
    qml_pauli_dla_options popt = QML_PAULI_DLA_OPTIONS_INIT, popt0 = popt;
    popt0.size = 0;
    INVALID(qml_pauli_dla_classify_with(NULL, 3, NULL, &summary));
    INVALID(qml_pauli_dla_classify_with(gens, 3, NULL, NULL));
    INVALID(qml_pauli_dla_classify_with(gens, 0, NULL, &summary));
    INVALID(qml_pauli_dla_classify_with(gens, 3, &popt0, &summary));
    INVALID(qml_pauli_dla_classify_with(gens, 3, BIG(big_a, popt, 1), &summary));
    INVALID(qml_pauli_dla_classify_with(gens, 3, &popt, &summary0));
    INVALID(qml_pauli_dla_classify_with((const qml_pauli_sum *const *)F.gens_bad, 2, &popt, &summary));
    SUCCEED(qml_pauli_dla_classify_with(gens, 3, BIG(big_a, popt, 0), &summary));
    SUCCEED(qml_pauli_dla_classify_with(gens, 3, NULL, &summary));
    INVALID(qml_pauli_dla_predict_variance(NULL, 3, F.zz, NULL, NULL, &p));
    INVALID(qml_pauli_dla_predict_variance(gens, 0, F.zz, NULL, NULL, &p));
    INVALID(qml_pauli_dla_predict_variance(gens, 3, NULL, NULL, NULL, &p));
    INVALID(qml_pauli_dla_predict_variance(gens, 3, F.zz, NULL, NULL, NULL));
    INVALID(qml_pauli_dla_predict_variance(gens, 3, F.zz, NULL, NULL, &p0));
    INVALID(qml_pauli_dla_predict_variance(gens, 3, F.zz, NULL, &popt0, &p));
    INVALID(qml_pauli_dla_predict_variance(gens, 3, F.zz, NULL, BIG(big_a, popt, 1), &p));
    INVALID(qml_pauli_dla_predict_variance(gens, 3, F.on3, NULL, NULL, &p));
    INVALID(qml_pauli_dla_predict_variance(gens, 3, F.z0, F.anti, NULL, &p));
    INVALID(qml_pauli_dla_predict_variance(gens, 3, F.z0, F.on3, NULL, &p));
    INVALID(qml_pauli_dla_predict_variance((const qml_pauli_sum *const *)F.gens_null, 2, F.zz, NULL, NULL, &p));
    INVALID(qml_pauli_dla_predict_variance((const qml_pauli_sum *const *)F.gens_bad, 2, F.zz, NULL, NULL, &p));
    SUCCEED(qml_pauli_dla_predict_variance(gens, 3, F.z0, NULL, BIG(big_a, popt, 0), &p));
    finish();
}

/* ---- landscape ----------------------------------------------------------- */

static void test_landscape_contract(void **state)
{
    (void)state;
    const qml_circuit *c = F.circ;
    const qml_pauli_sum *o = F.z0;
    double x[2] = {0.1, 0.2}, x_nan[2] = {NAN, 0.2};
    qml_landscape_options lo = QML_LANDSCAPE_OPTIONS_INIT, bad = lo;
    lo.samples = 4;
    INVALID(qml_gradient_stats_create(NULL, c, o, NULL, x, 2, &lo));
    INVALID(qml_gradient_stats_create(&O.stats, NULL, o, NULL, x, 2, &lo));
    INVALID(qml_gradient_stats_create(&O.stats, c, NULL, NULL, x, 2, &lo));
    INVALID(qml_gradient_stats_create(&O.stats, c, F.on3, NULL, x, 2, &lo));
    INVALID(qml_gradient_stats_create(&O.stats, c, o, F.state3, x, 2, &lo));
    INVALID(qml_gradient_stats_create(&O.stats, F.fixed, o, NULL, x, 2, &lo));
    INVALID(qml_gradient_stats_create(&O.stats, c, o, NULL, x_nan, 2, &lo));
    INVALID(qml_gradient_stats_create(&O.stats, c, o, NULL, NULL, 2, &lo));
    RANGE(qml_gradient_stats_create(&O.stats, c, o, NULL, x, 1, &lo));
    bad = lo;
    bad.backend = (qml_backend)77;
    INVALID(qml_gradient_stats_create(&O.stats, c, o, NULL, x, 2, &bad));
    bad.backend = QML_BACKEND_GSIM;
    qml_circuit *tcirc = NULL; /* c and a T gate: not Clifford, refused by g-sim */
    unsigned tq = 0;
    assert_int_equal(qml_circuit_copy(&tcirc, c), QML_OK);
    assert_int_equal(qml_circuit_add_gate(tcirc, QML_GATE_T, &tq, 1), QML_OK);
    FAIL(QML_ERR_NOT_APPLICABLE, qml_gradient_stats_create(&O.stats, tcirc, o, NULL, x, 2, &bad));
    bad.shots = 10;
    FAIL(QML_ERR_NOT_APPLICABLE, qml_gradient_stats_create(&O.stats, c, o, NULL, x, 2, &bad));
    qml_circuit_free(tcirc);
    bad = lo;
    bad.samples = 1;
    INVALID(qml_gradient_stats_create(&O.stats, c, o, NULL, x, 2, &bad));
    bad = lo;
    bad.params = (qml_param_selection)999;
    INVALID(qml_gradient_stats_create(&O.stats, c, o, NULL, x, 2, &bad));
    bad = lo;
    bad.size = 0;
    INVALID(qml_gradient_stats_create(&O.stats, c, o, NULL, x, 2, &bad));
    INVALID(qml_gradient_stats_create(&O.stats, c, o, NULL, x, 2, BIG(big_a, lo, 1)));
    SUCCEED(qml_gradient_stats_create(&O.stats, c, o, NULL, x, 2, BIG(big_a, lo, 0)));
    qml_gradient_stats_free(O.stats);

    qml_gradient_stats_free(NULL);
    ZERO(qml_gradient_stats_n_samples(NULL));
    ZERO(qml_gradient_stats_n_weights(NULL));
    ZERO(qml_gradient_stats_params(NULL) != QML_PARAMS_FIRST);
    INVALID(qml_gradient_stats_weight(NULL, 0, &dval, &dval, &dval, &dval));
    RANGE(qml_gradient_stats_weight(F.stats, 4, &dval, &dval, &dval, &dval));
    RANGE(qml_gradient_stats_weight(F.stats, SIZE_MAX, &dval, &dval, &dval, &dval));
    FAIL(QML_ERR_NOT_APPLICABLE, qml_gradient_stats_weight(F.stats, 1, &dval, &dval, &dval, &dval));
    SUCCEED(qml_gradient_stats_weight(F.stats, 0, NULL, NULL, NULL, NULL));
    INVALID(qml_gradient_stats_loss(NULL, &dval, &dval, &dval, &dval));
    SUCCEED(qml_gradient_stats_loss(F.stats, NULL, NULL, NULL, NULL));
    INVALID(qml_gradient_stats_summary(NULL, &dval, &dval));
    SUCCEED(qml_gradient_stats_summary(F.stats, NULL, NULL));

    double n[3] = {2, 3, 4}, var[3] = {0.1, 0.05, 0.025}, se[3] = {0.01, 0.005, 0.0025};
    double n0[3] = {0, 3, 4}, var_nan[3] = {NAN, 0.05, 0.025}, var0[3] = {0, 0.05, 0.025};
    double se_neg[3] = {-0.01, 0.005, 0.0025}, n_inf[3] = {2, 3, INFINITY};
    qml_bp_fit fit = {sizeof fit, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, fit0 = fit;
    fit0.size = 0;
    INVALID(qml_bp_fit_data(NULL, var, se, 3, &fit));
    INVALID(qml_bp_fit_data(n, NULL, se, 3, &fit));
    INVALID(qml_bp_fit_data(n, var, NULL, 3, &fit));
    INVALID(qml_bp_fit_data(n, var, se, 3, NULL));
    INVALID(qml_bp_fit_data(n, var, se, 3, &fit0));
    INVALID(qml_bp_fit_data(n0, var, se, 3, &fit));
    INVALID(qml_bp_fit_data(n_inf, var, se, 3, &fit));
    INVALID(qml_bp_fit_data(n, var_nan, se, 3, &fit));
    INVALID(qml_bp_fit_data(n, var0, se, 3, &fit));
    INVALID(qml_bp_fit_data(n, var, se_neg, 3, &fit));
    FAIL(QML_ERR_NOT_APPLICABLE, qml_bp_fit_data(n, var, se, 2, &fit));
    SUCCEED(qml_bp_fit_data(n, var, se, 3, &fit));

    qml_bp_scan_options so = QML_BP_SCAN_OPTIONS_INIT, sb;
    so.n_min = 2;
    so.n_max = 2;
    so.depth = QML_BP_DEPTH_FIXED;
    so.layers = 1;
    unsigned depths0[2] = {1, 0};
    INVALID(qml_bp_scan_family(NULL, QML_ANSATZ_HEA, &so, &lo));
    INVALID(qml_bp_scan_family(&O.scan, (qml_ansatz_family)999, &so, &lo));
    sb = so;
    sb.size = 0;
    INVALID(qml_bp_scan_family(&O.scan, QML_ANSATZ_HEA, &sb, &lo));
    INVALID(qml_bp_scan_family(&O.scan, QML_ANSATZ_HEA, BIG(big_a, so, 1), &lo));
    bad = lo;
    bad.size = 0;
    INVALID(qml_bp_scan_family(&O.scan, QML_ANSATZ_HEA, &so, &bad));
    INVALID(qml_bp_scan_family(&O.scan, QML_ANSATZ_HEA, &so, BIG(big_b, lo, 1)));
    sb = so;
    sb.n_min = 3;
    INVALID(qml_bp_scan_family(&O.scan, QML_ANSATZ_HEA, &sb, &lo));
    sb = so;
    sb.n_min = 0;
    INVALID(qml_bp_scan_family(&O.scan, QML_ANSATZ_HEA, &sb, &lo));
    sb = so;
    sb.depth = (qml_bp_depth)999;
    INVALID(qml_bp_scan_family(&O.scan, QML_ANSATZ_HEA, &sb, &lo));
    sb = so;
    sb.quantity = (qml_bp_quantity)999;
    INVALID(qml_bp_scan_family(&O.scan, QML_ANSATZ_HEA, &sb, &lo));
    sb = so;
    sb.initial = (qml_bp_initial)999;
    INVALID(qml_bp_scan_family(&O.scan, QML_ANSATZ_HEA, &sb, &lo));
    sb = so;
    sb.layers = 0;
    INVALID(qml_bp_scan_family(&O.scan, QML_ANSATZ_HEA, &sb, &lo));
    sb = so;
    sb.depth = QML_BP_DEPTH_LIST;
    INVALID(qml_bp_scan_family(&O.scan, QML_ANSATZ_HEA, &sb, &lo));
    sb.depths = depths0;
    sb.n_depths = 0;
    INVALID(qml_bp_scan_family(&O.scan, QML_ANSATZ_HEA, &sb, &lo));
    sb.n_depths = 2;
    INVALID(qml_bp_scan_family(&O.scan, QML_ANSATZ_HEA, &sb, &lo));
    sb = so;
    sb.observable = "Q0";
    FAIL(QML_ERR_PARSE, qml_bp_scan_family(&O.scan, QML_ANSATZ_HEA, &sb, &lo));
    sb.n_min = 1;
    sb.n_max = 1;
    sb.observable = NULL;
    INVALID(qml_bp_scan_family(&O.scan, QML_ANSATZ_TFIM, &sb, &lo));

    const qml_pauli_sum *const *gens = (const qml_pauli_sum *const *)F.gens;
    INVALID(qml_bp_scan_generators(NULL, gens, 3, NULL, &so, &lo));
    INVALID(qml_bp_scan_generators(&O.scan, NULL, 3, NULL, &so, &lo));
    INVALID(qml_bp_scan_generators(&O.scan, gens, 0, NULL, &so, &lo));
    INVALID(qml_bp_scan_generators(&O.scan, (const qml_pauli_sum *const *)F.gens_null, 2, NULL, &so, &lo));
    INVALID(qml_bp_scan_generators(&O.scan, (const qml_pauli_sum *const *)F.gens_bad, 2, NULL, &so, &lo));
    sb = so;
    sb.n_min = sb.n_max = 5;
    INVALID(qml_bp_scan_generators(&O.scan, gens, 3, NULL, &sb, &lo));
    sb = so;
    sb.size = 0;
    INVALID(qml_bp_scan_generators(&O.scan, gens, 3, NULL, &sb, &lo));

    /* (row, sample range) pieces: one row (n = 2) of lo.samples = 4 */
    INVALID(qml_bp_scan_family_piece(NULL, QML_ANSATZ_HEA, &so, &lo, 0, 0, 1));
    INVALID(qml_bp_scan_family_piece(&O.scan, (qml_ansatz_family)999, &so, &lo, 0, 0, 1));
    INVALID(qml_bp_scan_family_piece(&O.scan, QML_ANSATZ_HEA, &sb, &lo, 0, 0, 1));
    INVALID(qml_bp_scan_family_piece(&O.scan, QML_ANSATZ_HEA, &so, &bad, 0, 0, 1));
    INVALID(qml_bp_scan_family_piece(&O.scan, QML_ANSATZ_HEA, &so, &lo, SIZE_MAX, 0, 1));
    RANGE(qml_bp_scan_family_piece(&O.scan, QML_ANSATZ_HEA, &so, &lo, 1, 0, 1));
    RANGE(qml_bp_scan_family_piece(&O.scan, QML_ANSATZ_HEA, &so, &lo, 0, 0, 0));
    RANGE(qml_bp_scan_family_piece(&O.scan, QML_ANSATZ_HEA, &so, &lo, 0, 3, 2));
    RANGE(qml_bp_scan_family_piece(&O.scan, QML_ANSATZ_HEA, &so, &lo, 0, SIZE_MAX, 1));
    INVALID(qml_bp_scan_generators_piece(NULL, gens, 3, NULL, &so, &lo, 0, 0, 1));
    INVALID(qml_bp_scan_generators_piece(&O.scan, NULL, 3, NULL, &so, &lo, 0, 0, 1));
    INVALID(qml_bp_scan_generators_piece(&O.scan, gens, 0, NULL, &so, &lo, 0, 0, 1));
    INVALID(qml_bp_scan_generators_piece(&O.scan, gens, 3, NULL, &sb, &lo, 0, 0, 1));
    INVALID(qml_bp_scan_generators_piece(&O.scan, gens, 3, NULL, &so, &lo, SIZE_MAX, 0, 1));
    RANGE(qml_bp_scan_generators_piece(&O.scan, gens, 3, NULL, &so, &lo, 1, 0, 1));
    RANGE(qml_bp_scan_generators_piece(&O.scan, gens, 3, NULL, &so, &lo, 0, 4, 1));

    qml_bp_scan_free(NULL);
    ZERO(qml_bp_scan_n_rows(NULL));
    qml_bp_row row = {.size = sizeof row}, row0 = {.size = 0};
    INVALID(qml_bp_scan_row(NULL, 0, &row));
    INVALID(qml_bp_scan_row(F.scan, 0, NULL));
    INVALID(qml_bp_scan_row(F.scan, 0, &row0));
    RANGE(qml_bp_scan_row(F.scan, 2, &row));
    RANGE(qml_bp_scan_row(F.scan, SIZE_MAX, &row));
    SUCCEED(qml_bp_scan_row(F.scan, 1, &row));
    const qml_lie_algebra *kept = F.alg;
    INVALID(qml_bp_scan_row_algebra(NULL, 0, &kept));
    assert_null(kept);
    INVALID(qml_bp_scan_row_algebra(F.scan, 0, NULL));
    RANGE(qml_bp_scan_row_algebra(F.scan, 2, &kept));
    FAIL(QML_ERR_NOT_APPLICABLE, qml_bp_scan_row_algebra(F.scan, 0, &kept)); /* kept none */
    {
        qml_bp_scan_options keep2 = QML_BP_SCAN_OPTIONS_INIT;
        keep2.keep_algebras = 2;
        INVALID(qml_bp_scan_family(&O.scan, QML_ANSATZ_HEA, &keep2, NULL));
    }
    INVALID(qml_bp_scan_fit(NULL, &fit));
    INVALID(qml_bp_scan_fit(F.scan, NULL));
    INVALID(qml_bp_scan_fit(F.scan, &fit0));
    finish();
}

/* ---- datasets --------------------------------------------------------------- */

static void test_dataset_contract(void **state)
{
    (void)state;
    const qml_dataset *d = F.data;
    double f[4] = {1, 2, 3, 4}, f_nan[4] = {1, NAN, 3, 4};
    int l[2] = {0, 1}, l2[2] = {0, 2};
    size_t idx[2] = {0, 99};
    qml_dataset_kind kind;
    ZERO(qml_dataset_kind_name((qml_dataset_kind)999));
    ZERO(qml_dataset_kind_name((qml_dataset_kind)-1));
    INVALID(qml_dataset_kind_from_name(NULL, &kind));
    INVALID(qml_dataset_kind_from_name("spirals", &kind));
    INVALID(qml_dataset_kind_from_name("moons", NULL));
    SUCCEED(qml_dataset_kind_from_name("moons", &kind));

    INVALID(qml_dataset_create(NULL, 2, 2, f, l));
    INVALID(qml_dataset_create(&O.data, 0, 2, f, l));
    INVALID(qml_dataset_create(&O.data, 2, 0, f, l));
    INVALID(qml_dataset_create(&O.data, 2, 2, NULL, l));
    INVALID(qml_dataset_create(&O.data, 2, 2, f, NULL));
    INVALID(qml_dataset_create(&O.data, 2, 2, f_nan, l));
    INVALID(qml_dataset_create(&O.data, 2, 2, f, l2));
    INVALID(qml_dataset_create(&O.data, SIZE_MAX / 2, 4, f, l));
    INVALID(qml_dataset_copy(NULL, d));
    INVALID(qml_dataset_copy(&O.data, NULL));
    qml_dataset_free(NULL);
    ZERO(qml_dataset_n_rows(NULL));
    ZERO(qml_dataset_n_features(NULL));
    ZERO(qml_dataset_features(NULL));
    ZERO(qml_dataset_labels(NULL));
    INVALID(qml_dataset_row(NULL, 0, dbuf, 2, &ival));
    RANGE(qml_dataset_row(d, 8, dbuf, 2, &ival));
    RANGE(qml_dataset_row(d, 0, dbuf, 1, &ival));
    SUCCEED(qml_dataset_row(d, 0, NULL, 0, NULL));
    INVALID(qml_dataset_subset(NULL, d, idx, 1));
    INVALID(qml_dataset_subset(&O.data, NULL, idx, 1));
    INVALID(qml_dataset_subset(&O.data, d, NULL, 1));
    INVALID(qml_dataset_subset(&O.data, d, idx, 0));
    RANGE(qml_dataset_subset(&O.data, d, idx, 2));

    INVALID(qml_dataset_moons(NULL, 8, 0.1, 0));
    INVALID(qml_dataset_moons(&O.data, 1, 0.1, 0));
    INVALID(qml_dataset_moons(&O.data, 8, NAN, 0));
    INVALID(qml_dataset_moons(&O.data, 8, -0.1, 0));
    INVALID(qml_dataset_moons(&O.data, 8, INFINITY, 0));
    INVALID(qml_dataset_circles(NULL, 8, 0.1, 0.5, 0));
    INVALID(qml_dataset_circles(&O.data, 1, 0.1, 0.5, 0));
    INVALID(qml_dataset_circles(&O.data, 8, NAN, 0.5, 0));
    INVALID(qml_dataset_circles(&O.data, 8, 0.1, 0.0, 0));
    INVALID(qml_dataset_circles(&O.data, 8, 0.1, 1.0, 0));
    INVALID(qml_dataset_circles(&O.data, 8, 0.1, NAN, 0));
    INVALID(qml_dataset_xor(NULL, 8, 0.1, 0));
    INVALID(qml_dataset_xor(&O.data, 1, 0.1, 0));
    INVALID(qml_dataset_xor(&O.data, 8, -INFINITY, 0));
    INVALID(qml_dataset_generate(NULL, QML_DATASET_MOONS, 8, 0.1, 0));
    INVALID(qml_dataset_generate(&O.data, (qml_dataset_kind)999, 8, 0.1, 0));
    INVALID(qml_dataset_generate(&O.data, QML_DATASET_CIRCLES, 8, NAN, 0));
    INVALID(qml_dataset_symmetric(NULL, QML_TASK_PARITY, 8, 2, 0));
    INVALID(qml_dataset_symmetric(&O.data, (qml_symmetric_task)999, 8, 2, 0));
    INVALID(qml_dataset_symmetric(&O.data, QML_TASK_PARITY, 1, 2, 0));
    INVALID(qml_dataset_symmetric(&O.data, QML_TASK_PARITY, 8, 1, 0));
    INVALID(qml_dataset_symmetric(&O.data, QML_TASK_PARITY, SIZE_MAX, 2, 0));
    INVALID(qml_dataset_flip_labels(NULL, 0.5, 0));
    INVALID(qml_dataset_flip_labels(F.data, NAN, 0));
    INVALID(qml_dataset_flip_labels(F.data, -0.5, 0));
    INVALID(qml_dataset_flip_labels(F.data, 1.5, 0));
    INVALID(qml_dataset_random_labels(NULL, 0));

    qml_csv_options co = QML_CSV_OPTIONS_INIT, cb = co;
    INVALID(qml_dataset_parse_csv(NULL, "1,0\n2,1\n", NULL));
    INVALID(qml_dataset_parse_csv(&O.data, NULL, NULL));
    FAIL(QML_ERR_PARSE, qml_dataset_parse_csv(&O.data, "", NULL));
    FAIL(QML_ERR_PARSE, qml_dataset_parse_csv(&O.data, "1,0\n2\n", NULL));
    FAIL(QML_ERR_PARSE, qml_dataset_parse_csv(&O.data, "1,0\nnan,1\n", NULL));
    FAIL(QML_ERR_PARSE, qml_dataset_parse_csv(&O.data, "1,0\n2,1\n3,2\n", NULL));
    cb.size = 0;
    INVALID(qml_dataset_parse_csv(&O.data, "1,0\n2,1\n", &cb));
    INVALID(qml_dataset_parse_csv(&O.data, "1,0\n2,1\n", BIG(big_a, co, 1)));
    SUCCEED(qml_dataset_parse_csv(&O.data, "1,0\n2,1\n", BIG(big_a, co, 0)));
    qml_dataset_free(O.data);
    cb = co;
    cb.label_column = 5;
    INVALID(qml_dataset_parse_csv(&O.data, "1,0\n2,1\n", &cb));
    cb.label_column = -2;
    INVALID(qml_dataset_parse_csv(&O.data, "1,0\n2,1\n", &cb));
    cb = co;
    cb.header = (qml_csv_header)999;
    INVALID(qml_dataset_parse_csv(&O.data, "1,0\n2,1\n", &cb));
    INVALID(qml_dataset_load_csv(NULL, "x.csv", NULL));
    INVALID(qml_dataset_load_csv(&O.data, NULL, NULL));
    FAIL(QML_ERR_IO, qml_dataset_load_csv(&O.data, "/nonexistent/libqml/x.csv", NULL));
    cb = co;
    cb.size = 0;
    INVALID(qml_dataset_load_csv(&O.data, "/nonexistent/libqml/x.csv", &cb));
    INVALID(qml_dataset_format_csv(NULL, &O.text, &zval));
    INVALID(qml_dataset_format_csv(d, NULL, &zval));
    INVALID(qml_dataset_save_csv(NULL, "x.csv"));
    INVALID(qml_dataset_save_csv(d, NULL));
    FAIL(QML_ERR_IO, qml_dataset_save_csv(d, "/nonexistent/libqml/x.csv"));
    INVALID(qml_dataset_split(NULL, &O.data2, d, 0.25, 0, 0));
    INVALID(qml_dataset_split(&O.data, NULL, d, 0.25, 0, 0));
    INVALID(qml_dataset_split(&O.data, &O.data2, NULL, 0.25, 0, 0));
    INVALID(qml_dataset_split(&O.data, &O.data2, d, 0.0, 0, 0));
    INVALID(qml_dataset_split(&O.data, &O.data2, d, 1.0, 0, 0));
    INVALID(qml_dataset_split(&O.data, &O.data2, d, NAN, 0, 0));
    INVALID(qml_dataset_split(&O.data, &O.data2, d, 0.01, 0, 0));

    qml_dataset *t = NULL;
    assert_ok(qml_dataset_copy(&t, d));
    double m[2] = {0, 0}, s[2] = {1, 1}, m_nan[2] = {NAN, 0}, s_neg[2] = {-1, 1}, s_inf[2] = {INFINITY, 1};
    double lo[2] = {0, 0}, hi[2] = {1, 1}, lo_big[2] = {2, 0};
    INVALID(qml_dataset_standardize(NULL, NULL, m, s));
    INVALID(qml_dataset_standardize(t, F.data1, m, s));
    INVALID(qml_dataset_apply_standardization(NULL, m, s, 2));
    INVALID(qml_dataset_apply_standardization(t, NULL, s, 2));
    INVALID(qml_dataset_apply_standardization(t, m, NULL, 2));
    INVALID(qml_dataset_apply_standardization(t, m, s, 3));
    INVALID(qml_dataset_apply_standardization(t, m_nan, s, 2));
    INVALID(qml_dataset_apply_standardization(t, m, s_neg, 2));
    INVALID(qml_dataset_apply_standardization(t, m, s_inf, 2));
    INVALID(qml_dataset_rescale(NULL, NULL, 0.0, 1.0, NULL, NULL));
    INVALID(qml_dataset_rescale(t, NULL, 1.0, 0.0, NULL, NULL));
    INVALID(qml_dataset_rescale(t, NULL, 1.0, 1.0, NULL, NULL));
    INVALID(qml_dataset_rescale(t, NULL, NAN, 1.0, NULL, NULL));
    INVALID(qml_dataset_rescale(t, NULL, 0.0, INFINITY, NULL, NULL));
    INVALID(qml_dataset_rescale(t, F.data1, 0.0, 1.0, NULL, NULL));
    INVALID(qml_dataset_apply_rescale(NULL, lo, hi, 2, 0.0, 1.0));
    INVALID(qml_dataset_apply_rescale(t, NULL, hi, 2, 0.0, 1.0));
    INVALID(qml_dataset_apply_rescale(t, lo, NULL, 2, 0.0, 1.0));
    INVALID(qml_dataset_apply_rescale(t, lo, hi, 1, 0.0, 1.0));
    INVALID(qml_dataset_apply_rescale(t, lo_big, hi, 2, 0.0, 1.0));
    INVALID(qml_dataset_apply_rescale(t, m_nan, hi, 2, 0.0, 1.0));
    INVALID(qml_dataset_apply_rescale(t, lo, hi, 2, 1.0, 1.0));
    INVALID(qml_dataset_apply_rescale(t, lo, hi, 2, 0.0, NAN));
    SUCCEED(qml_dataset_apply_rescale(t, lo, hi, 2, 0.0, 1.0));
    qml_dataset_free(t);
    finish();
}

/* ---- optimisers ----------------------------------------------------------- */

static void test_optim_contract(void **state)
{
    (void)state;
    qml_optimizer *o = F.opt;
    qml_optimizer_options opt = QML_OPTIMIZER_OPTIONS_INIT, bad;
    double p[3] = {0, 0, 0}, g[3] = {1, 1, 1}, g_nan[3] = {0, NAN, 0}, p_inf[3] = {INFINITY, 0, 0};
    size_t idx[4];
    ZERO(qml_optimizer_kind_name((qml_optimizer_kind)999));
    INVALID(qml_optimizer_create(NULL, 3, NULL));
    INVALID(qml_optimizer_create(&O.opt, 0, NULL));
    INVALID(qml_optimizer_create(&O.opt, SIZE_MAX, NULL));
#define BAD_OPTIMIZER(field, value)                                             \
    do {                                                                       \
        bad = opt;                                                             \
        bad.field = (value);                                                   \
        INVALID(qml_optimizer_create(&O.opt, 3, &bad));                        \
    } while (0)
    BAD_OPTIMIZER(size, 0);
    BAD_OPTIMIZER(kind, (qml_optimizer_kind)999);
    BAD_OPTIMIZER(learning_rate, 0.0);
    BAD_OPTIMIZER(learning_rate, -1.0);
    BAD_OPTIMIZER(learning_rate, NAN);
    BAD_OPTIMIZER(learning_rate, INFINITY);
    BAD_OPTIMIZER(beta1, 1.0);
    BAD_OPTIMIZER(beta1, -0.1);
    BAD_OPTIMIZER(beta1, NAN);
    BAD_OPTIMIZER(beta2, 1.0);
    BAD_OPTIMIZER(beta2, NAN);
    BAD_OPTIMIZER(epsilon, 0.0);
    BAD_OPTIMIZER(epsilon, INFINITY);
    BAD_OPTIMIZER(momentum, 1.0);
    BAD_OPTIMIZER(momentum, NAN);
    BAD_OPTIMIZER(weight_decay, -1.0);
    BAD_OPTIMIZER(weight_decay, NAN);
    bad = opt;
    bad.kind = QML_OPTIMIZER_SGD;
    bad.nesterov = 1;
    INVALID(qml_optimizer_create(&O.opt, 3, &bad));
    INVALID(qml_optimizer_create(&O.opt, 3, BIG(big_a, opt, 1)));
    SUCCEED(qml_optimizer_create(&O.opt, 3, BIG(big_a, opt, 0)));
    qml_optimizer_free(O.opt);
    qml_optimizer_free(NULL);
    ZERO(qml_optimizer_n_params(NULL));
    ZERO(qml_optimizer_n_steps(NULL));

    INVALID(qml_optimizer_step(NULL, p, g, 3));
    INVALID(qml_optimizer_step(o, NULL, g, 3));
    INVALID(qml_optimizer_step(o, p, NULL, 3));
    INVALID(qml_optimizer_step(o, p, g, 2));
    INVALID(qml_optimizer_step(o, p, g_nan, 3));
    INVALID(qml_optimizer_step(o, p_inf, g, 3));
    ZERO(qml_optimizer_n_steps(o));
    SUCCEED(qml_optimizer_step(o, p, g, 3));
    INVALID(qml_optimizer_reset(NULL));
    SUCCEED(qml_optimizer_reset(o));
    INVALID(qml_optimizer_set_learning_rate(NULL, 0.1));
    INVALID(qml_optimizer_set_learning_rate(o, 0.0));
    INVALID(qml_optimizer_set_learning_rate(o, NAN));
    INVALID(qml_optimizer_set_learning_rate(o, INFINITY));
    SUCCEED(qml_optimizer_set_learning_rate(o, 0.1));
    qml_optimizer_options got = QML_OPTIMIZER_OPTIONS_INIT;
    INVALID(qml_optimizer_options_get(NULL, &got));
    INVALID(qml_optimizer_options_get(o, NULL));
    got.size = 0;
    INVALID(qml_optimizer_options_get(o, &got));
    got.size = sizeof got;
    SUCCEED(qml_optimizer_options_get(o, &got));
    INVALID(qml_shuffle_indices(NULL, 4, 0, 0));
    INVALID(qml_shuffle_indices(idx, 0, 0, 0));
    SUCCEED(qml_shuffle_indices(idx, 4, 0, 0));
    finish();
}

/* ---- models and training -------------------------------------------------- */

static void test_train_contract(void **state)
{
    (void)state;
    qml_model *m = F.model;
    const qml_dataset *d = F.data;
    size_t np = qml_model_n_params(m);
    double p[16] = {0}, p_nan[16] = {0}, rows[4] = {0.1, 0.2, 0.3, 0.4}, rows_nan[4] = {NAN, 0, 0, 0};
    double prob[4], ex[4], g[16];
    size_t idx[2] = {0, 99};
    p_nan[1] = NAN;
    ZERO(qml_model_kind_name((qml_model_kind)999));
    INVALID(qml_model_create(NULL, F.circ, F.z0, QML_LOSS_BCE, 1.0, 0.0));
    INVALID(qml_model_create(&O.model, NULL, F.z0, QML_LOSS_BCE, 1.0, 0.0));
    INVALID(qml_model_create(&O.model, F.circ, NULL, QML_LOSS_BCE, 1.0, 0.0));
    INVALID(qml_model_create(&O.model, F.circ, F.on3, QML_LOSS_BCE, 1.0, 0.0));
    INVALID(qml_model_create(&O.model, F.circ, F.z0, (qml_loss)999, 1.0, 0.0));
    INVALID(qml_model_create(&O.model, F.circ, F.z0, QML_LOSS_BCE, NAN, 0.0));
    INVALID(qml_model_create(&O.model, F.circ, F.z0, QML_LOSS_BCE, 1.0, INFINITY));
    INVALID(qml_model_create(&O.model, F.fixed, F.z0, QML_LOSS_BCE, 1.0, 0.0));
    INVALID(qml_model_create(&O.model, F.nofeat, F.z0, QML_LOSS_BCE, 1.0, 0.0));
    INVALID(qml_model_create_template(NULL, QML_MODEL_UNSTRUCTURED, 2, 1, 2, QML_LOSS_BCE));
    INVALID(qml_model_create_template(&O.model, (qml_model_kind)999, 2, 1, 2, QML_LOSS_BCE));
    INVALID(qml_model_create_template(&O.model, QML_MODEL_UNSTRUCTURED, 1, 1, 1, QML_LOSS_BCE));
    INVALID(qml_model_create_template(&O.model, QML_MODEL_UNSTRUCTURED, 1025, 1, 2, QML_LOSS_BCE));
    INVALID(qml_model_create_template(&O.model, QML_MODEL_UNSTRUCTURED, 2, 0, 2, QML_LOSS_BCE));
    INVALID(qml_model_create_template(&O.model, QML_MODEL_UNSTRUCTURED, 2, 1, 0, QML_LOSS_BCE));
    INVALID(qml_model_create_template(&O.model, QML_MODEL_UNSTRUCTURED, 2, 1, 3, QML_LOSS_BCE));
    INVALID(qml_model_create_template(&O.model, QML_MODEL_FREE_FERMION, 2, 1, 3, QML_LOSS_BCE));
    INVALID(qml_model_create_template(&O.model, QML_MODEL_UNSTRUCTURED, 2, 1, 2, (qml_loss)999));
    INVALID(qml_model_create_template(&O.model, QML_MODEL_PERMUTATION, 2, UINT_MAX, 2, QML_LOSS_BCE));
    INVALID(qml_model_create_template(&O.model, QML_MODEL_UNSTRUCTURED, 30, 1u << 19, 2, QML_LOSS_BCE));
    INVALID(qml_model_create_template(&O.model, QML_MODEL_PERMUTATION, 2, 1, UINT_MAX, QML_LOSS_BCE));
    INVALID(qml_model_create_template(&O.model, QML_MODEL_PERMUTATION_LOCAL, 3, 1, 2, QML_LOSS_BCE));
    INVALID(qml_model_create_template(&O.model, QML_MODEL_PERMUTATION_BOUNDED, 1, 1, 2, QML_LOSS_BCE));
    {
        size_t rank;
        double x2[2] = {0.1, 0.2}, xn[2] = {0.1, NAN}, mean;
        INVALID(qml_model_jacobian_rank(NULL, d, 0.0, &rank));
        INVALID(qml_model_jacobian_rank(m, NULL, 0.0, &rank));
        INVALID(qml_model_jacobian_rank(m, d, 0.0, NULL));
        INVALID(qml_model_jacobian_rank(m, d, NAN, &rank));
        INVALID(qml_model_jacobian_rank(m, d, 1.0, &rank));
        INVALID(qml_model_jacobian_rank(m, F.data1, 0.0, &rank));
        SUCCEED(qml_model_jacobian_rank(m, d, 0.0, &rank));
        INVALID(qml_model_qfi_rank(NULL, x2, 2, 0.0, &rank));
        INVALID(qml_model_qfi_rank(m, NULL, 2, 0.0, &rank));
        INVALID(qml_model_qfi_rank(m, x2, 2, 0.0, NULL));
        INVALID(qml_model_qfi_rank(m, x2, 2, -INFINITY, &rank));
        INVALID(qml_model_qfi_rank(m, xn, 2, 0.0, &rank));
        RANGE(qml_model_qfi_rank(m, x2, 1, 0.0, &rank));
        SUCCEED(qml_model_qfi_rank(m, x2, 2, 0.0, &rank));
        INVALID(qml_model_roughness(NULL, d, 2, 0, &mean, NULL));
        INVALID(qml_model_roughness(m, NULL, 2, 0, &mean, NULL));
        INVALID(qml_model_roughness(m, d, 2, 0, NULL, NULL));
        INVALID(qml_model_roughness(m, d, 1, 0, &mean, NULL));
        INVALID(qml_model_roughness(m, F.data1, 2, 0, &mean, NULL));
        SUCCEED(qml_model_roughness(m, d, 2, 0, &mean, NULL));
    }
    qml_model_free(NULL);
    ZERO(qml_model_circuit(NULL));
    ZERO(qml_model_readout(NULL));
    ZERO(qml_model_loss_kind(NULL) != QML_LOSS_BCE);
    ZERO(qml_model_n_weights(NULL));
    ZERO(qml_model_n_features(NULL));
    ZERO(qml_model_n_params(NULL));

    INVALID(qml_model_params(NULL, p, 16));
    INVALID(qml_model_params(m, NULL, 16));
    RANGE(qml_model_params(m, p, np - 1));
    SUCCEED(qml_model_params(m, p, 16));
    INVALID(qml_model_set_params(NULL, p, np));
    INVALID(qml_model_set_params(m, NULL, np));
    INVALID(qml_model_set_params(m, p, np - 1));
    INVALID(qml_model_set_params(m, p, np + 1));
    INVALID(qml_model_set_params(m, p_nan, np));
    SUCCEED(qml_model_set_params(m, p, np));

    INVALID(qml_model_predict(NULL, rows, 2, 2, 1, prob, ex));
    INVALID(qml_model_predict(m, NULL, 2, 2, 1, prob, ex));
    INVALID(qml_model_predict(m, rows, 0, 2, 1, prob, ex));
    INVALID(qml_model_predict(m, rows, 2, 1, 1, prob, ex));
    INVALID(qml_model_predict(m, rows, 2, 2, 1, NULL, ex));
    INVALID(qml_model_predict(m, rows_nan, 2, 2, 1, prob, ex));
    SUCCEED(qml_model_predict(m, rows, 2, 2, 1, prob, NULL));
    INVALID(qml_model_evaluate(NULL, d, 1, &dval, &dval));
    INVALID(qml_model_evaluate(m, NULL, 1, &dval, &dval));
    INVALID(qml_model_evaluate(m, F.data1, 1, &dval, &dval));
    SUCCEED(qml_model_evaluate(m, d, 1, NULL, NULL));
    INVALID(qml_model_loss_gradient(NULL, d, NULL, 0, 1, &dval, g, 16));
    INVALID(qml_model_loss_gradient(m, NULL, NULL, 0, 1, &dval, g, 16));
    INVALID(qml_model_loss_gradient(m, F.data1, NULL, 0, 1, &dval, g, 16));
    INVALID(qml_model_loss_gradient(m, d, idx, 0, 1, &dval, g, 16));
    INVALID(qml_model_loss_gradient(m, d, NULL, 0, 1, &dval, NULL, 16));
    RANGE(qml_model_loss_gradient(m, d, idx, 2, 1, &dval, g, 16));
    RANGE(qml_model_loss_gradient(m, d, NULL, 0, 1, &dval, g, np - 1));
    SUCCEED(qml_model_loss_gradient(m, d, idx, 1, 1, &dval, NULL, 0));

    qml_train_options to = QML_TRAIN_OPTIONS_INIT, tb;
    qml_train_epoch history[2], history0[2];
    history[0].size = sizeof history[0];
    history0[0].size = 0;
    qml_optimizer_options oo = QML_OPTIMIZER_OPTIONS_INIT;
    to.epochs = 1;
    to.batch_size = 4;
#define BAD_TRAIN(field, value)                                                 \
    do {                                                                       \
        tb = to;                                                               \
        tb.field = (value);                                                    \
        INVALID(qml_model_train(m, d, NULL, &tb, history, 2));                 \
    } while (0)
    INVALID(qml_model_train(NULL, d, NULL, &to, history, 2));
    INVALID(qml_model_train(m, NULL, NULL, &to, history, 2));
    INVALID(qml_model_train(m, F.data1, NULL, &to, history, 2));
    INVALID(qml_model_train(m, d, F.data1, &to, history, 2));
    INVALID(qml_model_train(m, d, NULL, &to, NULL, 2));
    INVALID(qml_model_train(m, d, NULL, BIG(big_a, to, 1), history, 2));
    BAD_TRAIN(size, 0);
    BAD_TRAIN(epochs, 0);
    BAD_TRAIN(batch_size, 0);
    BAD_TRAIN(init, (qml_init_mode)999);
    BAD_TRAIN(backend, (qml_backend)999);
    tb = to;
    tb.backend = QML_BACKEND_SYMMETRIC;
    FAIL(QML_ERR_NOT_APPLICABLE, qml_model_train(m, d, NULL, &tb, history, 2));
    INVALID(qml_model_train(m, d, NULL, &to, history0, 2));
    /* Finite-shot training: an unknown shot mode, one shot for sampling. */
    tb = to;
    tb.shots = 10;
    tb.shot_mode = (qml_shot_mode)999;
    INVALID(qml_model_train(m, d, NULL, &tb, history, 2));
    tb.shot_mode = QML_SHOTS_SAMPLED;
    tb.shots = 1;
    INVALID(qml_model_train(m, d, NULL, &tb, history, 2));
#define BAD_TRAIN_OPTIMIZER(field, value)                                       \
    do {                                                                       \
        qml_optimizer_options ob = oo;                                         \
        ob.field = (value);                                                    \
        tb = to;                                                               \
        tb.optimizer = &ob;                                                    \
        INVALID(qml_model_train(m, d, NULL, &tb, history, 2));                 \
    } while (0)
    BAD_TRAIN_OPTIMIZER(size, 0);
    BAD_TRAIN_OPTIMIZER(kind, (qml_optimizer_kind)999);
    BAD_TRAIN_OPTIMIZER(learning_rate, NAN);
    tb = to;
    tb.optimizer = BIG(big_b, oo, 1);
    INVALID(qml_model_train(m, d, NULL, &tb, history, 2));
    tb = to;
    tb.init = QML_INIT_NORMAL;
    tb.init_scale = NAN;
    INVALID(qml_model_train(m, d, NULL, &tb, history, 2));
    tb.init_scale = 0.0;
    INVALID(qml_model_train(m, d, NULL, &tb, history, 2));
    tb.init = QML_INIT_UNIFORM;
    INVALID(qml_model_train(m, d, NULL, &tb, history, 2));
    SUCCEED(qml_model_train(m, d, NULL, BIG(big_a, to, 0), history, 2));
    finish();
}

/* ---- every fallible function: a success clears an earlier error ---------- */

static void test_success_clears_error(void **state)
{
    (void)state;
    qml_pauli_sum *a = NULL, *b = NULL, *c = NULL, *e = NULL, *p = NULL, *q = NULL, *gg = NULL, *wg = NULL;
    qml_circuit *k = NULL, *k2 = NULL;
    qml_statevec *s = NULL, *s2 = NULL;
    qml_lie_algebra *alg = NULL;
    qml_bp_scan *scan = NULL, *scan2 = NULL;
    qml_dataset *d[12] = {NULL};
    qml_model *m = NULL, *m2 = NULL;
    char *text = NULL;
    unsigned qs[2] = {0, 1};
    double id[8] = {1, 0, 0, 0, 0, 0, 1, 0}, amps[8] = {1, 0, 0, 0, 0, 0, 0, 0};
    double w[4] = {0.1, 0.2, 0.3, 0.4}, x[2] = {0.5, 0.6}, f[4] = {1, 2, 3, 4};
    double mean[2], sd[2], lo[2], hi[2];
    int labels[2] = {0, 1};
    size_t idx[2] = {1, 0};
    char path[64];
    snprintf(path, sizeof path, "test_api_%ld.csv", (long)clock());

    SUCCEED(qml_pauli_sum_create(&a, 2));
    SUCCEED(qml_pauli_sum_copy(&b, F.zz));
    SUCCEED(qml_pauli_sum_parse(&c, 2, "X0 X1 + 0.5*Z1"));
    SUCCEED(qml_pauli_sum_add_string(a, 2.0, "XY"));
    SUCCEED(qml_pauli_sum_add(a, 1.0, b));
    SUCCEED(qml_pauli_sum_bracket(&e, c, F.z0));
    SUCCEED(qml_pauli_sum_anticommutator(&p, c, F.z0));
    SUCCEED(qml_pauli_sum_inner(a, b, &dval));
    SUCCEED(qml_pauli_sum_norm(a, &dval));
    SUCCEED(qml_pauli_sum_equal(a, b, 0.0, &ival));

    SUCCEED(qml_circuit_create(&k, 2));
    SUCCEED(qml_ansatz_angle_encoding(k, QML_GATE_RX, 2, 1.0));
    SUCCEED(qml_ansatz_hardware_efficient(k, 1, QML_ENTANGLER_CNOT, QML_BOUNDARY_PERIODIC));
    SUCCEED(qml_circuit_add_unitary(k, id, qs, 1));
    SUCCEED(qml_circuit_add_rotation(k, QML_GATE_CRX, qs, 2, 0.1, 0, 1.0, 1, 0.5));
    SUCCEED(qml_circuit_copy(&k2, k));
    SUCCEED(qml_circuit_gate_generator(k, 2, &gg));
    SUCCEED(qml_circuit_weight_generator(k, 0, &wg));

    SUCCEED(qml_statevec_create(&s, 2));
    SUCCEED(qml_statevec_copy(&s2, s));
    SUCCEED(qml_statevec_set_threads(s, 2));
    SUCCEED(qml_statevec_set_basis(s, 3));
    SUCCEED(qml_statevec_set_amplitudes(s, amps, 4, 1e-10));
    SUCCEED(qml_statevec_amplitudes(s, dbuf, 4));
    SUCCEED(qml_statevec_probabilities(s, dbuf, 4));
    SUCCEED(qml_statevec_run(s, F.circ, w, 4, x, 2));
    SUCCEED(qml_statevec_apply_gate(s, F.circ, 0, w, 4, x, 2));
    SUCCEED(qml_statevec_expectation(s, F.zz, &dval));
    SUCCEED(qml_statevec_inner(s, s2, &dval, &dval));
    SUCCEED(qml_statevec_sample(s, 1, 8, outcomes));
    SUCCEED(qml_statevec_estimate(s, F.zz, 16, 1, &dval, NULL));

    SUCCEED(qml_lie_algebra_from_circuit(&alg, F.nofeat, NULL));
    SUCCEED(qml_lie_algebra_basis_element(alg, 0, &q));
    qml_pauli_sum_free(q);
    q = NULL;
    SUCCEED(qml_lie_algebra_ideal_element(F.alg, 0, 0, &q));
    qml_pauli_sum_free(q);
    q = NULL;
    if (qml_lie_algebra_center_dim(F.alg) > 0)
        SUCCEED(qml_lie_algebra_center_element(F.alg, 0, &q));

    qml_landscape_options lo_opts = QML_LANDSCAPE_OPTIONS_INIT;
    qml_bp_scan_options so = QML_BP_SCAN_OPTIONS_INIT;
    lo_opts.samples = 3;
    so.n_min = 2;
    so.n_max = 4;
    so.depth = QML_BP_DEPTH_FIXED;
    so.layers = 1;
    so.quantity = QML_BP_LOSS;
    SUCCEED(qml_bp_scan_family(&scan, QML_ANSATZ_TFIM, &so, &lo_opts));
    qml_bp_fit fit = {.size = sizeof fit};
    SUCCEED(qml_bp_scan_fit(scan, &fit));
    so.n_min = so.n_max = 0;
    SUCCEED(qml_bp_scan_generators(&scan2, (const qml_pauli_sum *const *)F.gens, 3, NULL, &so, &lo_opts));

    SUCCEED(qml_dataset_create(&d[0], 2, 2, f, labels));
    SUCCEED(qml_dataset_copy(&d[1], d[0]));
    SUCCEED(qml_dataset_subset(&d[2], d[0], idx, 2));
    SUCCEED(qml_dataset_moons(&d[3], 8, 0.1, 2));
    SUCCEED(qml_dataset_circles(&d[4], 8, 0.1, 0.5, 2));
    SUCCEED(qml_dataset_xor(&d[5], 8, 0.1, 2));
    SUCCEED(qml_dataset_generate(&d[6], QML_DATASET_XOR, 8, 0.0, 2));
    SUCCEED(qml_dataset_symmetric(&d[10], QML_TASK_COS_MEDIAN, 8, 3, 2));
    SUCCEED(qml_dataset_flip_labels(d[10], 0.25, 2));
    SUCCEED(qml_dataset_random_labels(d[10], 2));
    SUCCEED(qml_dataset_format_csv(d[3], &text, NULL));
    SUCCEED(qml_dataset_save_csv(d[3], path));
    SUCCEED(qml_dataset_load_csv(&d[7], path, NULL));
    remove(path);
    SUCCEED(qml_dataset_split(&d[8], &d[9], d[3], 0.25, 3, 1));
    SUCCEED(qml_dataset_standardize(d[8], d[9], mean, sd));
    SUCCEED(qml_dataset_apply_standardization(d[4], mean, sd, 2));
    SUCCEED(qml_dataset_rescale(d[8], d[9], -1.0, 1.0, lo, hi));

    SUCCEED(qml_model_create(&m, F.circ, F.z0, QML_LOSS_MSE, 1.0, 0.0));
    SUCCEED(qml_model_create_template(&m2, QML_MODEL_FREE_FERMION, 3, 1, 2, QML_LOSS_BCE));

    qml_model_free(m);
    qml_model_free(m2);
    qml_free(text);
    for (int j = 0; j < 12; j++)
        qml_dataset_free(d[j]);
    qml_bp_scan_free(scan);
    qml_bp_scan_free(scan2);
    qml_lie_algebra_free(alg);
    qml_statevec_free(s);
    qml_statevec_free(s2);
    qml_circuit_free(k);
    qml_circuit_free(k2);
    qml_pauli_sum_free(a);
    qml_pauli_sum_free(b);
    qml_pauli_sum_free(c);
    qml_pauli_sum_free(e);
    qml_pauli_sum_free(p);
    qml_pauli_sum_free(q);
    qml_pauli_sum_free(gg);
    qml_pauli_sum_free(wg);
    finish();
}

/* ---- concurrency: functions on const handles share them ------------------ */

/* qml.h: "Functions taking const handles may be called concurrently on the
 * same handle." Every thread runs the same const calls on the fixture's
 * handles; each must get the serial results bit for bit (and a data race
 * here is what a ThreadSanitizer build of this test reports). */
typedef struct const_results {
    char text[256];
    double inner, inner_generators, expectation, purity, loss, accuracy, summary, variance;
    double probabilities[2], gradient[16];
    uint64_t samples[8];
    qml_lie_prediction prediction;
    qml_bp_row row;
    int status;
} const_results;

static int const_calls(void *context)
{
    const_results *r = context;
    double rows[4] = {0.1, 0.2, 0.3, 0.4}, se;
    size_t n;
    qml_pauli_sum *b = NULL, *g = NULL, *w = NULL;
    /* memset, not a compound literal: the results are compared bytewise. */
    memset(&r->prediction, 0, sizeof r->prediction);
    r->prediction.size = sizeof r->prediction;
    memset(&r->row, 0, sizeof r->row);
    r->row.size = sizeof r->row;
    qml_bp_fit fit = {.size = sizeof fit};
    int s = qml_pauli_sum_format(F.zz, r->text, sizeof r->text, &n);
    s |= qml_pauli_sum_bracket(&b, F.gens[0], F.z0);
    s |= qml_pauli_sum_inner(b, F.gens[0], &r->inner);
    s |= qml_circuit_gate_generator(F.circ, 2, &g);
    s |= qml_circuit_weight_generator(F.circ, 0, &w);
    s |= qml_pauli_sum_inner(w, g, &r->inner_generators);
    s |= qml_statevec_expectation(F.state, F.zz, &r->expectation);
    s |= qml_statevec_sample(F.state, 5, 8, r->samples);
    s |= qml_lie_algebra_purity(F.alg, F.z0, &r->purity, NULL, 0, NULL);
    s |= qml_lie_algebra_predict_variance(F.alg, NULL, F.zz, NULL, &r->prediction);
    s |= qml_gradient_stats_summary(F.stats, &r->summary, &se);
    s |= qml_bp_scan_row(F.scan, 1, &r->row);
    s |= qml_bp_scan_fit(F.scan, &fit) == QML_ERR_NOT_APPLICABLE ? QML_OK : 1;
    s |= qml_model_predict(F.model, rows, 2, 2, 1, r->probabilities, NULL);
    s |= qml_model_evaluate(F.model, F.data, 1, &r->loss, &r->accuracy);
    s |= qml_model_loss_gradient(F.model, F.data, NULL, 0, 1, NULL, r->gradient, 16);
    s |= qml_gradient_stats_weight(F.stats, 0, NULL, NULL, &r->variance, NULL);
    qml_pauli_sum_free(b);
    qml_pauli_sum_free(g);
    qml_pauli_sum_free(w);
    r->status = s;
    return 0;
}

static void test_const_handles_concurrently(void **state)
{
    (void)state;
    enum { N_THREADS = 4 };
    const_results serial, results[N_THREADS];
    memset(&serial, 0, sizeof serial);
    memset(results, 0, sizeof results);
    const_calls(&serial);
    assert_int_equal(serial.status, 0);
    thrd_t threads[N_THREADS];
    for (int t = 0; t < N_THREADS; t++)
        assert_int_equal(thrd_create(&threads[t], const_calls, &results[t]), thrd_success);
    for (int t = 0; t < N_THREADS; t++)
        thrd_join(threads[t], NULL);
    for (int t = 0; t < N_THREADS; t++) {
        assert_int_equal(results[t].status, 0);
        /* Bitwise: every field was written by the same deterministic calls. */
        results[t].row.seconds = serial.row.seconds;
        assert_memory_equal(&results[t], &serial, sizeof serial);
    }
}

/* ---- the allocation-failure sweep over every status-returning function ----
 *
 * Each sequence below creates what it needs, calls public functions, frees
 * everything and returns the first non-zero status; the harness makes the
 * k-th allocation fail for every k the sequence reaches and checks for
 * QML_ERR_OUT_OF_MEMORY and no leak. `sweeps[]` lists, for each sequence,
 * the public functions it calls. test_sweep_covers_every_function reads
 * include/qml.h and fails, naming them, on any status-returning function
 * that no sequence lists: a new function gets a sequence (or its name added
 * to one that calls it) in sweeps[], or, if it cannot run under a sweep, a
 * line with the reason in sweep_exempt[]. */

#define TRY(call)                     \
    do {                              \
        status = (call);              \
        if (status)                   \
            goto done;                \
    } while (0)

static int sweep_core(void *context)
{
    (void)context;
    qml_rng *rng = NULL;
    int status = QML_OK;
    TRY(qml_rng_create(&rng, 1, 2));
    (void)qml_rng_next(rng);
done:
    qml_rng_free(rng);
    return status;
}

static int sweep_pauli(void *context)
{
    (void)context;
    qml_pauli_sum *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL, *f = NULL;
    int status = QML_OK, flag = 0;
    double v, coefficient, matrix[2 * 16 * 16];
    char text[128], dense[8];
    size_t length = 0, count = 0;
    unsigned qubits[4], support[4];
    TRY(qml_pauli_sum_create(&a, 2));
    qubits[0] = 0;
    qubits[1] = 1;
    TRY(qml_pauli_sum_add_term(a, 0.5, "XZ", qubits, 2));
    TRY(qml_pauli_sum_add_string(a, 2.0, "YI"));
    TRY(qml_pauli_sum_parse(&b, 2, "Z0 + 0.25*X1 - Y0 Y1"));
    TRY(qml_pauli_sum_copy(&c, b));
    TRY(qml_pauli_sum_add(c, -1.5, a));
    TRY(qml_pauli_sum_scale(c, 3.0));
    TRY(qml_pauli_sum_bracket(&d, a, b));
    TRY(qml_pauli_sum_anticommutator(&e, a, b));
    TRY(qml_pauli_sum_format(e, text, sizeof text, &length));
    TRY(qml_pauli_sum_term(b, 0, &coefficient, dense));
    TRY(qml_pauli_sum_inner(a, b, &v));
    TRY(qml_pauli_sum_norm(c, &v));
    TRY(qml_pauli_sum_trace(e, &v));
    TRY(qml_pauli_sum_equal(a, c, 1e-12, &flag));
    TRY(qml_pauli_sum_commutes(a, b, 1e-12, &flag));
    TRY(qml_pauli_strings_commute(2, "XZ", "ZX", &flag));
    TRY(qml_pauli_sum_support(b, support, 4, &count));
    TRY(qml_pauli_sum_to_dense(b, matrix, sizeof matrix / sizeof matrix[0]));
    /* A sum wider than 64 qubits takes the multi-word paths. */
    TRY(qml_pauli_sum_parse(&f, 0, "X0 Z70 + 0.5*Y69 - Z3"));
    TRY(qml_pauli_sum_add(f, 1.0, f));
done:
    qml_pauli_sum_free(a);
    qml_pauli_sum_free(b);
    qml_pauli_sum_free(c);
    qml_pauli_sum_free(d);
    qml_pauli_sum_free(e);
    qml_pauli_sum_free(f);
    return status;
}

static int sweep_circuit(void *context)
{
    (void)context;
    qml_circuit *c = NULL, *copy = NULL, *layered = NULL;
    qml_pauli_sum *h = NULL, *g = NULL, *w = NULL, *gens[2] = {NULL, NULL};
    int status = QML_OK;
    unsigned q[2] = {0, 1};
    static const double swap[32] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
                                    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0};
    qml_gate_kind kind;
    unsigned qubits[8];
    size_t count;
    double constant, weight_scale, feature_scale;
    int64_t weight, feature;
    TRY(qml_circuit_create(&c, 2));
    TRY(qml_ansatz_angle_encoding(c, QML_GATE_RY, 2, 1.0));
    TRY(qml_circuit_add_gate(c, QML_GATE_CNOT, q, 2));
    TRY(qml_circuit_add_unitary(c, swap, q, 2));
    TRY(qml_circuit_add_rotation(c, QML_GATE_RZ, q, 1, 0.1, 0, 1.0, QML_NONE, 0.0));
    TRY(qml_pauli_sum_parse(&h, 2, "Z0 Z1 + 0.5*X0 X1 - Y0 Y1"));
    TRY(qml_circuit_add_pauli_rotation(c, h, 0.0, 1, 1.0, 0, 0.5));
    TRY(qml_ansatz_hardware_efficient(c, 1, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN));
    TRY(qml_ansatz_family_append(c, QML_ANSATZ_HEISENBERG, 1));
    TRY(qml_circuit_copy(&copy, c));
    TRY(qml_circuit_gate(copy, 2, &kind, qubits, &count));
    TRY(qml_circuit_gate_angle(copy, 4, &constant, &weight, &weight_scale, &feature, &feature_scale));
    TRY(qml_circuit_gate_generator(copy, 5, &g));
    TRY(qml_circuit_weight_generator(copy, 1, &w));
    TRY(qml_circuit_create(&layered, 2));
    TRY(qml_pauli_sum_parse(&gens[0], 2, "X0 + X1"));
    TRY(qml_pauli_sum_parse(&gens[1], 2, "Z0 Z1"));
    TRY(qml_ansatz_layered(layered, (const qml_pauli_sum *const *)gens, 2, NULL, 2, 0));
done:
    qml_circuit_free(c);
    qml_circuit_free(copy);
    qml_circuit_free(layered);
    qml_pauli_sum_free(h);
    qml_pauli_sum_free(g);
    qml_pauli_sum_free(w);
    qml_pauli_sum_free(gens[0]);
    qml_pauli_sum_free(gens[1]);
    return status;
}

static int sweep_statevec(void *context)
{
    (void)context;
    qml_statevec *s = NULL, *t = NULL;
    qml_circuit *c = NULL;
    qml_pauli_sum *o = NULL;
    int status = QML_OK;
    double amplitudes[8] = {0.5, 0, 0.5, 0, 0.5, 0, 0, 0.5}, probabilities[4], v, re, im, se;
    double w[4] = {0.1, 0.2, 0.3, 0.4}, x[2] = {0.5, 0.6};
    uint64_t drawn[4];
    TRY(qml_statevec_create(&s, 2));
    TRY(qml_statevec_set_threads(s, 2));
    TRY(qml_statevec_set_basis(s, 3));
    TRY(qml_statevec_set_zero(s));
    TRY(qml_statevec_set_amplitudes(s, amplitudes, 4, 1e-12));
    TRY(qml_statevec_copy(&t, s));
    TRY(qml_circuit_create(&c, 2));
    TRY(qml_ansatz_angle_encoding(c, QML_GATE_RY, 2, 1.0));
    TRY(qml_ansatz_hardware_efficient(c, 1, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN));
    TRY(qml_statevec_run(t, c, w, 4, x, 2));
    TRY(qml_statevec_apply_gate(t, c, 0, w, 4, x, 2));
    TRY(qml_statevec_amplitudes(t, amplitudes, 4));
    TRY(qml_statevec_probabilities(t, probabilities, 4));
    TRY(qml_pauli_sum_parse(&o, 2, "Z0 + 0.5*X0 X1 - Y1"));
    TRY(qml_statevec_expectation(t, o, &v));
    TRY(qml_statevec_inner(s, t, &re, &im));
    TRY(qml_statevec_sample(t, 7, 4, drawn));
    TRY(qml_statevec_estimate(t, o, 16, 7, &v, &se));
done:
    qml_statevec_free(s);
    qml_statevec_free(t);
    qml_circuit_free(c);
    qml_pauli_sum_free(o);
    return status;
}

static int sweep_gradient(void *context)
{
    (void)context;
    qml_circuit *c = NULL;
    qml_pauli_sum *o = NULL;
    int status = QML_OK;
    double w[4] = {0.1, 0.2, 0.3, 0.4}, x[2] = {0.5, 0.6}, rows[4] = {0.1, 0.2, 0.3, 0.4};
    double value, g[4], gx[2], values[2], per_row[8];
    TRY(qml_circuit_create(&c, 2));
    TRY(qml_ansatz_angle_encoding(c, QML_GATE_RY, 2, 1.0));
    TRY(qml_ansatz_hardware_efficient(c, 1, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN));
    TRY(qml_pauli_sum_parse(&o, 2, "Z0 + 0.5*X1"));
    qml_gradient_options go = QML_GRADIENT_OPTIONS_INIT;
    go.feature_gradients = 1;
    TRY(qml_gradient(c, o, NULL, w, 4, x, 2, &go, &value, g, gx));
    go.feature_gradients = 0;
    go.method = QML_GRADIENT_PARAMETER_SHIFT;
    go.shots = 8;
    go.n_threads = 2;
    TRY(qml_gradient_batch(c, o, NULL, w, 4, rows, 2, 2, &go, QML_BATCH_PER_ROW, values, per_row));
done:
    qml_circuit_free(c);
    qml_pauli_sum_free(o);
    return status;
}

/* The algebraic backends: the choice, g-sim and the symmetric subspace
 * through the gradient entry points. */
static int sweep_backend(void *context)
{
    (void)context;
    qml_model *ff = NULL, *perm = NULL;
    int status = QML_OK;
    double w[6] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, x[2] = {0.5, 0.6}, rows[4] = {0.1, 0.2, 0.3, 0.4}, value, dim;
    double g[6], gx[2], values[2];
    qml_backend b;
    TRY(qml_backend_from_name("gsim", &b));
    TRY(qml_model_create_template(&ff, QML_MODEL_FREE_FERMION, 2, 2, 2, QML_LOSS_MSE));
    TRY(qml_model_create_template(&perm, QML_MODEL_PERMUTATION, 3, 2, 2, QML_LOSS_MSE));
    TRY(qml_backend_select(qml_model_circuit(ff), qml_model_readout(ff), NULL, b, &b, &dim));
    TRY(qml_backend_select(qml_model_circuit(perm), qml_model_readout(perm), NULL, QML_BACKEND_AUTO, &b, &dim));
    qml_gradient_options go = QML_GRADIENT_OPTIONS_INIT;
    go.feature_gradients = 1;
    go.backend = QML_BACKEND_GSIM;
    TRY(qml_gradient(qml_model_circuit(ff), qml_model_readout(ff), NULL, w, 6, x, 2, &go, &value, g, gx));
    go.feature_gradients = 0;
    go.backend = QML_BACKEND_SYMMETRIC;
    go.n_threads = 1; /* the harness counts allocations without atomics */
    TRY(qml_gradient_batch(qml_model_circuit(perm), qml_model_readout(perm), NULL, w, 6, rows, 2, 2, &go,
                           QML_BATCH_SUM, values, g));
done:
    qml_model_free(ff);
    qml_model_free(perm);
    return status;
}

static int sweep_lie(void *context)
{
    (void)context;
    qml_pauli_sum *gens[3] = {NULL, NULL, NULL}, *e = NULL, *centre = NULL, *ideal = NULL, *o = NULL;
    qml_lie_algebra *alg = NULL, *from = NULL;
    qml_circuit *c = NULL;
    qml_statevec *s = NULL;
    int status = QML_OK;
    double total, per[4];
    size_t count, dim, rank;
    const char *names;
    TRY(qml_pauli_sum_parse(&gens[0], 2, "X0 X1"));
    TRY(qml_pauli_sum_parse(&gens[1], 2, "Z0"));
    TRY(qml_pauli_sum_parse(&gens[2], 2, "Z1"));
    TRY(qml_lie_algebra_create(&alg, (const qml_pauli_sum *const *)gens, 3, NULL));
    TRY(qml_lie_algebra_basis_element(alg, 0, &e));
    (void)qml_lie_algebra_structure_known(alg);
    (void)qml_lie_algebra_is_full(alg);
    if (qml_lie_algebra_center_dim(alg) > 0)
        TRY(qml_lie_algebra_center_element(alg, 0, &centre));
    TRY(qml_lie_algebra_ideal(alg, 0, &dim, &rank, &names));
    TRY(qml_lie_algebra_ideal_element(alg, 0, 0, &ideal));
    TRY(qml_pauli_sum_parse(&o, 2, "Z0 Z1"));
    TRY(qml_lie_algebra_purity(alg, o, &total, per, 4, &count));
    TRY(qml_statevec_create(&s, 2));
    TRY(qml_lie_algebra_state_purity(alg, s, &total, per, 4, &count));
    qml_lie_prediction prediction = QML_LIE_PREDICTION_INIT;
    TRY(qml_lie_algebra_predict_variance(alg, s, o, gens[0], &prediction));
    TRY(qml_circuit_create(&c, 2));
    TRY(qml_ansatz_family_append(c, QML_ANSATZ_TFIM, 1));
    TRY(qml_lie_algebra_from_circuit(&from, c, NULL));
    qml_lie_conditioning conditioning = QML_LIE_CONDITIONING_INIT;
    TRY(qml_lie_algebra_conditioning(alg, &conditioning));
    qml_dla_summary summary = {.size = sizeof summary};
    TRY(qml_pauli_dla_classify((const qml_pauli_sum *const *)gens, 3, &summary));
    qml_pauli_dla_options dla_options = QML_PAULI_DLA_OPTIONS_INIT;
    dla_options.no_closure = 1;
    TRY(qml_pauli_dla_classify_with((const qml_pauli_sum *const *)gens, 3, &dla_options, &summary));
    qml_pauli_sum_free(o);
    o = NULL;
    TRY(qml_pauli_sum_parse(&o, 2, "Z0"));
    TRY(qml_pauli_dla_predict_variance((const qml_pauli_sum *const *)gens, 3, o, NULL, NULL, &prediction));
    qml_lie_structure_state structure_state;
    TRY(qml_lie_algebra_structure_state(alg, &structure_state, NULL));
    qml_lie_certificate certificate;
    if (qml_lie_algebra_n_ideals(alg))
        TRY(qml_lie_algebra_ideal_certificate(alg, 0, &certificate));
done:
    for (int k = 0; k < 3; k++)
        qml_pauli_sum_free(gens[k]);
    qml_pauli_sum_free(e);
    qml_pauli_sum_free(centre);
    qml_pauli_sum_free(ideal);
    qml_pauli_sum_free(o);
    qml_lie_algebra_free(alg);
    qml_lie_algebra_free(from);
    qml_circuit_free(c);
    qml_statevec_free(s);
    return status;
}

static int sweep_landscape(void *context)
{
    (void)context;
    qml_circuit *c = NULL;
    qml_pauli_sum *o = NULL, *gens[2] = {NULL, NULL};
    qml_gradient_stats *stats = NULL;
    qml_bp_scan *scan = NULL, *scan2 = NULL;
    int status = QML_OK;
    double mean, mean_se, var, var_se;
    TRY(qml_circuit_create(&c, 2));
    TRY(qml_ansatz_hardware_efficient(c, 1, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN));
    TRY(qml_pauli_sum_parse(&o, 2, "Z0"));
    qml_landscape_options lo = QML_LANDSCAPE_OPTIONS_INIT;
    lo.samples = 3;
    lo.n_threads = 2;
    lo.params = QML_PARAMS_ALL;
    TRY(qml_gradient_stats_create(&stats, c, o, NULL, NULL, 0, &lo));
    TRY(qml_gradient_stats_weight(stats, 0, &mean, &mean_se, &var, &var_se));
    TRY(qml_gradient_stats_loss(stats, &mean, &mean_se, &var, &var_se));
    TRY(qml_gradient_stats_summary(stats, &var, &var_se));
    const double n[3] = {2, 3, 4}, v[3] = {0.1, 0.05, 0.02}, se[3] = {0.01, 0.01, 0.01};
    qml_bp_fit fit = QML_BP_FIT_INIT;
    TRY(qml_bp_fit_data(n, v, se, 3, &fit));
    qml_bp_scan_options so = QML_BP_SCAN_OPTIONS_INIT;
    so.n_min = 2;
    so.n_max = 4;
    so.depth = QML_BP_DEPTH_FIXED;
    so.layers = 1;
    so.max_dim = 64;
    so.keep_algebras = 1;
    lo.samples = 3;
    TRY(qml_bp_scan_family(&scan, QML_ANSATZ_TFIM, &so, &lo));
    qml_bp_row row = QML_BP_ROW_INIT;
    TRY(qml_bp_scan_row(scan, 1, &row));
    const qml_lie_algebra *kept = NULL;
    TRY(qml_bp_scan_row_algebra(scan, 1, &kept));
    status = qml_bp_scan_fit(scan, &fit);
    if (status == QML_ERR_NOT_APPLICABLE)
        status = QML_OK;
    if (status)
        goto done;
    TRY(qml_pauli_sum_parse(&gens[0], 3, "X0 + X1 + X2"));
    TRY(qml_pauli_sum_parse(&gens[1], 3, "Z0 Z1 + Z1 Z2"));
    so.n_min = so.n_max = 0;
    TRY(qml_bp_scan_generators(&scan2, (const qml_pauli_sum *const *)gens, 2, NULL, &so, &lo));
done:
    qml_circuit_free(c);
    qml_pauli_sum_free(o);
    qml_pauli_sum_free(gens[0]);
    qml_pauli_sum_free(gens[1]);
    qml_gradient_stats_free(stats);
    qml_bp_scan_free(scan);
    qml_bp_scan_free(scan2);
    return status;
}

static int sweep_dataset(void *context)
{
    (void)context;
    qml_dataset *a = NULL, *b = NULL, *c = NULL, *m = NULL, *ci = NULL, *x = NULL, *g = NULL, *p = NULL,
                *loaded = NULL, *train = NULL, *test = NULL;
    char *text = NULL;
    const char *path = context ? (const char *)context : "test_api_sweep.csv";
    int status = QML_OK, label;
    qml_dataset_kind kind;
    double f[8] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}, row[2], mean[2], sd[2], lo[2], hi[2];
    int l[4] = {0, 1, 0, 1};
    size_t pick[2] = {3, 1}, length;
    TRY(qml_dataset_kind_from_name("moons", &kind));
    TRY(qml_dataset_create(&a, 4, 2, f, l));
    TRY(qml_dataset_copy(&b, a));
    TRY(qml_dataset_row(b, 2, row, 2, &label));
    TRY(qml_dataset_subset(&c, a, pick, 2));
    TRY(qml_dataset_moons(&m, 12, 0.1, 1));
    TRY(qml_dataset_circles(&ci, 6, 0.1, 0.5, 1));
    TRY(qml_dataset_xor(&x, 6, 0.1, 1));
    TRY(qml_dataset_generate(&g, kind, 6, 0.1, 1));
    TRY(qml_dataset_format_csv(a, &text, &length));
    TRY(qml_dataset_parse_csv(&p, text, NULL));
    TRY(qml_dataset_save_csv(a, path));
    TRY(qml_dataset_load_csv(&loaded, path, NULL));
    TRY(qml_dataset_split(&train, &test, m, 0.25, 1, 1));
    TRY(qml_dataset_standardize(train, test, mean, sd));
    TRY(qml_dataset_apply_standardization(b, mean, sd, 2));
    TRY(qml_dataset_rescale(train, test, -1.0, 1.0, lo, hi));
    TRY(qml_dataset_apply_rescale(b, lo, hi, 2, -1.0, 1.0));
done:
    remove(path);
    qml_free(text);
    qml_dataset *all[] = {a, b, c, m, ci, x, g, p, loaded, train, test};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        qml_dataset_free(all[k]);
    return status;
}

static int sweep_optim(void *context)
{
    (void)context;
    qml_optimizer *opt = NULL;
    int status = QML_OK;
    double params[3] = {0.1, 0.2, 0.3}, grad[3] = {1, -1, 0.5};
    size_t indices[5];
    qml_optimizer_options o = QML_OPTIMIZER_OPTIONS_INIT;
    TRY(qml_optimizer_create(&opt, 3, &o));
    TRY(qml_optimizer_step(opt, params, grad, 3));
    TRY(qml_optimizer_set_learning_rate(opt, 0.5));
    TRY(qml_optimizer_options_get(opt, &o));
    TRY(qml_optimizer_reset(opt));
    TRY(qml_shuffle_indices(indices, 5, 1, 2));
done:
    qml_optimizer_free(opt);
    return status;
}

static int sweep_train(void *context)
{
    (void)context;
    qml_model *model = NULL, *custom = NULL;
    qml_circuit *c = NULL;
    qml_pauli_sum *readout = NULL;
    qml_dataset *data = NULL;
    int status = QML_OK;
    double params[16], rows[4] = {0.1, 0.2, 0.3, 0.4}, prob[2], expectation[2], loss, accuracy, gradient[16];
    qml_train_epoch history[2];
    history[0].size = sizeof history[0];
    TRY(qml_dataset_moons(&data, 6, 0.1, 1));
    TRY(qml_model_create_template(&model, QML_MODEL_UNSTRUCTURED, 2, 1, 2, QML_LOSS_BCE));
    size_t n = qml_model_n_params(model);
    TRY(qml_model_params(model, params, 16));
    TRY(qml_model_set_params(model, params, n));
    TRY(qml_model_predict(model, rows, 2, 2, 2, prob, expectation));
    TRY(qml_model_evaluate(model, data, 1, &loss, &accuracy));
    TRY(qml_model_loss_gradient(model, data, NULL, 0, 2, &loss, gradient, 16));
    qml_train_options to = QML_TRAIN_OPTIONS_INIT;
    to.epochs = 2;
    to.batch_size = 4;
    TRY(qml_model_train(model, data, data, &to, history, 2));
    TRY(qml_circuit_create(&c, 2));
    TRY(qml_ansatz_angle_encoding(c, QML_GATE_RY, 2, 1.0));
    TRY(qml_ansatz_hardware_efficient(c, 1, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN));
    TRY(qml_pauli_sum_parse(&readout, 2, "Z0 Z1"));
    TRY(qml_model_create(&custom, c, readout, QML_LOSS_MSE, 1.0, 0.0));
done:
    qml_model_free(model);
    qml_model_free(custom);
    qml_circuit_free(c);
    qml_pauli_sum_free(readout);
    qml_dataset_free(data);
    return status;
}

static int sweep_capacity(void *context)
{
    (void)context;
    qml_dataset *data = NULL;
    qml_model *model = NULL;
    int status = QML_OK;
    size_t rank = 0;
    double features[2] = {0.3, -0.2}, slope = 0.0, slope_stderr = 0.0;
    TRY(qml_dataset_symmetric(&data, QML_TASK_PARITY, 6, 2, 3));
    TRY(qml_dataset_flip_labels(data, 0.5, 4));
    TRY(qml_dataset_random_labels(data, 5));
    TRY(qml_model_create_template(&model, QML_MODEL_UNSTRUCTURED, 2, 1, 2, QML_LOSS_BCE));
    TRY(qml_model_jacobian_rank(model, data, 0.0, &rank));
    TRY(qml_model_qfi_rank(model, features, 2, 0.0, &rank));
    TRY(qml_model_roughness(model, data, 2, 6, &slope, &slope_stderr));
done:
    qml_model_free(model);
    qml_dataset_free(data);
    return status;
}

/* Mergeable parts: samples and scans computed in pieces, through bytes,
 * merged, and the statistics of the whole. */
static int sweep_samples(void *context)
{
    (void)context;
    qml_circuit *c = NULL;
    qml_pauli_sum *o = NULL, *g[2] = {NULL, NULL};
    qml_gradient_samples *a = NULL, *b = NULL, *read = NULL, *all = NULL;
    qml_gradient_stats *stats = NULL;
    qml_bp_scan *p = NULL, *q = NULL, *merged = NULL, *scan_read = NULL, *gp = NULL;
    qml_bp_scan *piece = NULL, *gpiece = NULL, *piece_merged = NULL;
    unsigned char bytes[4096];
    size_t length = 0, first = 0, count = 0, total = 0;
    int status = QML_OK;
    TRY(qml_circuit_create(&c, 2));
    TRY(qml_ansatz_family_append(c, QML_ANSATZ_HEA, 1));
    TRY(qml_pauli_sum_parse(&o, 2, "Z0"));
    qml_landscape_options lo = QML_LANDSCAPE_OPTIONS_INIT;
    lo.samples = 4;
    lo.params = QML_PARAMS_ALL;
    TRY(qml_gradient_samples_create(&a, c, o, NULL, NULL, 0, &lo, 0, 2));
    TRY(qml_gradient_samples_create(&b, c, o, NULL, NULL, 0, &lo, 2, 2));
    TRY(qml_gradient_samples_range(b, &first, &count, &total));
    TRY(qml_gradient_samples_serialize(b, bytes, sizeof bytes, &length));
    TRY(qml_gradient_samples_deserialize(&read, bytes, length));
    const qml_gradient_samples *parts[2] = {read, a};
    TRY(qml_gradient_samples_merge(&all, parts, 2));
    TRY(qml_gradient_stats_from_samples(&stats, all));
    qml_bp_scan_options so = QML_BP_SCAN_OPTIONS_INIT;
    so.n_min = 2;
    so.n_max = 2;
    so.layers = 1;
    so.max_dim = 20;
    qml_landscape_options ls = QML_LANDSCAPE_OPTIONS_INIT;
    ls.samples = 3;
    TRY(qml_bp_scan_family_part(&p, QML_ANSATZ_HEA, &so, &ls, 0, 1));
    TRY(qml_bp_scan_family_part(&q, QML_ANSATZ_HEA, &so, &ls, 1, 2));
    const qml_bp_scan *scans[2] = {q, p};
    TRY(qml_bp_scan_merge(&merged, scans, 2));
    TRY(qml_bp_scan_serialize(merged, bytes, sizeof bytes, &length));
    TRY(qml_bp_scan_deserialize(&scan_read, bytes, length));
    TRY(qml_pauli_sum_parse(&g[0], 2, "X0 + X1"));
    TRY(qml_pauli_sum_parse(&g[1], 2, "Z0 Z1"));
    so.n_min = so.n_max = 0;
    TRY(qml_bp_scan_generators_part(&gp, (const qml_pauli_sum *const *)g, 2, NULL, &so, &ls, 1, 1));
    TRY(qml_bp_scan_generators_piece(&gpiece, (const qml_pauli_sum *const *)g, 2, NULL, &so, &ls, 0, 0, 2));
    so.n_min = so.n_max = 2;
    TRY(qml_bp_scan_family_piece(&piece, QML_ANSATZ_HEA, &so, &ls, 0, 1, 2));
    const qml_bp_scan *with_piece[2] = {piece, p}; /* samples [1, 3) and [0, 1) */
    TRY(qml_bp_scan_merge(&piece_merged, with_piece, 2));
done:
    qml_bp_scan_free(piece_merged);
    qml_bp_scan_free(piece);
    qml_bp_scan_free(gpiece);
    qml_bp_scan_free(gp);
    qml_bp_scan_free(scan_read);
    qml_bp_scan_free(merged);
    qml_bp_scan_free(q);
    qml_bp_scan_free(p);
    qml_gradient_stats_free(stats);
    qml_gradient_samples_free(all);
    qml_gradient_samples_free(read);
    qml_gradient_samples_free(b);
    qml_gradient_samples_free(a);
    qml_pauli_sum_free(g[0]);
    qml_pauli_sum_free(g[1]);
    qml_pauli_sum_free(o);
    qml_circuit_free(c);
    return status;
}

/* Backend choice, DLA conditioning and the Pauli-string classification. */
static int sweep_backend_dla(void *context)
{
    (void)context;
    qml_circuit *c = NULL;
    qml_pauli_sum *o = NULL, *gens[3] = {NULL, NULL, NULL};
    qml_lie_algebra *alg = NULL;
    qml_backend backend = QML_BACKEND_STATEVECTOR;
    double dimension = 0.0;
    int status = QML_OK;
    TRY(qml_backend_from_name("gsim", &backend));
    TRY(qml_circuit_create(&c, 3));
    TRY(qml_ansatz_family_append(c, QML_ANSATZ_TFIM, 1));
    TRY(qml_pauli_sum_parse(&o, 3, "Z0 Z1"));
    TRY(qml_backend_select(c, o, NULL, QML_BACKEND_AUTO, &backend, &dimension));
    TRY(qml_pauli_sum_parse(&gens[0], 3, "X0 X1"));
    TRY(qml_pauli_sum_parse(&gens[1], 3, "Z1"));
    TRY(qml_pauli_sum_parse(&gens[2], 3, "Y1 Y2"));
    qml_dla_summary summary;
    memset(&summary, 0, sizeof summary);
    summary.size = sizeof summary;
    TRY(qml_pauli_dla_classify((const qml_pauli_sum *const *)gens, 3, &summary));
    TRY(qml_lie_algebra_create(&alg, (const qml_pauli_sum *const *)gens, 3, NULL));
    qml_lie_conditioning conditioning;
    memset(&conditioning, 0, sizeof conditioning);
    conditioning.size = sizeof conditioning;
    TRY(qml_lie_algebra_conditioning(alg, &conditioning));
done:
    qml_circuit_free(c);
    qml_pauli_sum_free(o);
    for (int k = 0; k < 3; k++)
        qml_pauli_sum_free(gens[k]);
    qml_lie_algebra_free(alg);
    return status;
}

typedef struct sweep_entry {
    const char *name;
    harness_sequence run;
    const char *functions; /* the public functions the sequence calls */
} sweep_entry;

/* OpenQASM: parse a text with a definition, a shared weight and an
 * evolution, format it, load it back from a file. */
static int sweep_qasm(void *context)
{
    (void)context;
    static const char text[] = "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[2]; creg c[2];\n"
                               "gate g(a) s,t { ry(a) s; cp(a/2) s,t; }\n"
                               "g(theta[0]) q[0],q[1]; u3(0.1,0.2,0.3) q[1]; rzz(2*theta[0] + x[0]) q[0],q[1];\n"
                               "measure q -> c;\n";
    const char *path = "test_api_sweep.qasm";
    qml_circuit *c = NULL, *back = NULL;
    char *buffer = NULL;
    size_t length = 0;
    int status = QML_OK;
    TRY(qml_circuit_parse_qasm(&c, text, sizeof text - 1));
    status = qml_circuit_format_qasm(c, NULL, 0, &length);
    if (status != QML_ERR_OUT_OF_RANGE)
        goto done;
    buffer = malloc(length + 1);
    if (!buffer)
        goto done;
    TRY(qml_circuit_format_qasm(c, buffer, length + 1, NULL));
    FILE *file = fopen(path, "w");
    if (!file)
        goto done;
    fputs(buffer, file);
    fclose(file);
    TRY(qml_circuit_load_qasm(&back, path));
done:
    remove(path);
    free(buffer);
    qml_circuit_free(c);
    qml_circuit_free(back);
    return status;
}

static const sweep_entry sweeps[] = {
    {"core", sweep_core, "qml_rng_create"},
    {"pauli", sweep_pauli,
     "qml_pauli_sum_create qml_pauli_sum_add_term qml_pauli_sum_add_string qml_pauli_sum_parse "
     "qml_pauli_sum_copy qml_pauli_sum_add qml_pauli_sum_scale qml_pauli_sum_bracket "
     "qml_pauli_sum_anticommutator qml_pauli_sum_format qml_pauli_sum_term qml_pauli_sum_inner "
     "qml_pauli_sum_norm qml_pauli_sum_trace qml_pauli_sum_equal qml_pauli_sum_commutes "
     "qml_pauli_strings_commute qml_pauli_sum_support qml_pauli_sum_to_dense"},
    {"circuit", sweep_circuit,
     "qml_circuit_create qml_ansatz_angle_encoding qml_circuit_add_gate qml_circuit_add_unitary "
     "qml_circuit_add_rotation qml_circuit_add_pauli_rotation qml_ansatz_hardware_efficient "
     "qml_ansatz_family_append qml_circuit_copy qml_circuit_gate qml_circuit_gate_angle "
     "qml_circuit_gate_generator qml_circuit_weight_generator qml_ansatz_layered"},
    {"qasm", sweep_qasm, "qml_circuit_parse_qasm qml_circuit_format_qasm qml_circuit_load_qasm"},
    {"statevec", sweep_statevec,
     "qml_statevec_create qml_statevec_set_threads qml_statevec_set_basis qml_statevec_set_zero "
     "qml_statevec_set_amplitudes qml_statevec_copy qml_statevec_run qml_statevec_apply_gate "
     "qml_statevec_amplitudes qml_statevec_probabilities qml_statevec_expectation qml_statevec_inner "
     "qml_statevec_sample qml_statevec_estimate"},
    {"gradient", sweep_gradient, "qml_gradient qml_gradient_batch"},
    {"backend", sweep_backend, "qml_backend_from_name qml_backend_select"},
    {"lie", sweep_lie,
     "qml_lie_algebra_create qml_lie_algebra_basis_element qml_lie_algebra_center_element "
     "qml_lie_algebra_ideal qml_lie_algebra_ideal_element qml_lie_algebra_purity "
     "qml_lie_algebra_state_purity qml_lie_algebra_predict_variance qml_lie_algebra_from_circuit "
     "qml_lie_algebra_conditioning qml_pauli_dla_classify qml_lie_algebra_structure_state "
     "qml_pauli_dla_classify_with qml_pauli_dla_predict_variance qml_lie_algebra_ideal_certificate"},
    {"landscape", sweep_landscape,
     "qml_gradient_stats_create qml_gradient_stats_weight qml_gradient_stats_loss "
     "qml_gradient_stats_summary qml_bp_fit_data qml_bp_scan_family qml_bp_scan_row qml_bp_scan_row_algebra qml_bp_scan_fit "
     "qml_bp_scan_generators"},
    {"dataset", sweep_dataset,
     "qml_dataset_kind_from_name qml_dataset_create qml_dataset_copy qml_dataset_row qml_dataset_subset "
     "qml_dataset_moons qml_dataset_circles qml_dataset_xor qml_dataset_generate qml_dataset_format_csv "
     "qml_dataset_parse_csv qml_dataset_save_csv qml_dataset_load_csv qml_dataset_split "
     "qml_dataset_standardize qml_dataset_apply_standardization qml_dataset_rescale qml_dataset_apply_rescale"},
    {"optim", sweep_optim,
     "qml_optimizer_create qml_optimizer_step qml_optimizer_set_learning_rate qml_optimizer_options_get "
     "qml_optimizer_reset qml_shuffle_indices"},
    {"train", sweep_train,
     "qml_model_create_template qml_model_params qml_model_set_params qml_model_predict qml_model_evaluate "
     "qml_model_loss_gradient qml_model_train qml_model_create"},
    {"backend-dla", sweep_backend_dla,
     "qml_backend_from_name qml_backend_select qml_pauli_dla_classify qml_lie_algebra_conditioning"},
    {"capacity", sweep_capacity,
     "qml_dataset_symmetric qml_dataset_flip_labels qml_dataset_random_labels qml_model_jacobian_rank "
     "qml_model_qfi_rank qml_model_roughness"},
    {"samples", sweep_samples,
     "qml_gradient_samples_create qml_gradient_samples_range qml_gradient_samples_merge "
     "qml_gradient_stats_from_samples qml_gradient_samples_serialize qml_gradient_samples_deserialize "
     "qml_bp_scan_family_part qml_bp_scan_generators_part qml_bp_scan_merge qml_bp_scan_serialize "
     "qml_bp_scan_deserialize qml_bp_scan_family_piece qml_bp_scan_generators_piece"},
};

/* Functions declared `QML_API int` that no sweep can or need enter, each
 * with its reason. */
static const struct {
    const char *function;
    const char *reason;
} sweep_exempt[] = {
    {"qml_set_allocator", "replaces the allocator the sweep itself installs"},
    {"qml_lie_algebra_structure_known", "returns 0/1, not a status"},
    {"qml_lie_algebra_is_full", "returns 0/1, not a status"},
};

static void test_allocation_failure_sweep(void **state)
{
    (void)state;
    int total = 0;
    for (size_t k = 0; k < sizeof sweeps / sizeof sweeps[0]; k++) {
        int runs = harness_check_allocation_failures(sweeps[k].run, NULL);
        fprintf(stderr, "# sweep %s: %d runs\n", sweeps[k].name, runs);
        total += runs;
    }
    fprintf(stderr, "# allocation-failure sweep: %d runs\n", total);
}

/* Whether `name` is a whole word of the space-separated `list`. */
static bool listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(list, name); p; p = strstr(p + 1, name))
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return true;
    return false;
}

static void test_sweep_covers_every_function(void **state)
{
    (void)state;
    FILE *header = fopen(QML_SOURCE_ROOT "/include/qml.h", "r");
    if (!header)
        fail_msg("cannot open %s", QML_SOURCE_ROOT "/include/qml.h");
    char line[1024], missing[8192] = "";
    int declared = 0, covered = 0, n_missing = 0;
    /* A declaration starts "QML_API int qml_name(" on one line (STYLE). */
    while (fgets(line, sizeof line, header)) {
        const char *p = strstr(line, "QML_API int qml_");
        if (p != line)
            continue;
        char name[128];
        if (sscanf(p + strlen("QML_API int "), "%127[a-z0-9_]", name) != 1)
            continue;
        declared++;
        bool found = false;
        for (size_t k = 0; k < sizeof sweep_exempt / sizeof sweep_exempt[0] && !found; k++)
            found = !strcmp(sweep_exempt[k].function, name);
        for (size_t k = 0; k < sizeof sweeps / sizeof sweeps[0] && !found; k++)
            found = listed(sweeps[k].functions, name);
        if (found) {
            covered++;
        } else {
            n_missing++;
            if (strlen(missing) + strlen(name) + 4 < sizeof missing) {
                strcat(missing, "\n#   ");
                strcat(missing, name);
            }
        }
    }
    fclose(header);
    fprintf(stderr, "# allocation-failure sweep covers %d of %d status-returning public functions "
                    "(%zu exempt)\n", covered - (int)(sizeof sweep_exempt / sizeof sweep_exempt[0]), declared,
            sizeof sweep_exempt / sizeof sweep_exempt[0]);
    if (declared < 50)
        fail_msg("only %d QML_API int declarations found in qml.h: the reader is broken", declared);
    if (n_missing)
        fail_msg("%d status-returning public function(s) that no allocation-failure sweep enters:%s\n"
                 "# add each to the `functions` of a sequence in sweeps[] in tests/test_api.c that calls it "
                 "(or write one), or to sweep_exempt[] with the reason",
                 n_missing, missing);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_contract),
        cmocka_unit_test(test_pauli_contract),
        cmocka_unit_test(test_circuit_contract),
        cmocka_unit_test(test_qasm_contract),
        cmocka_unit_test(test_statevec_contract),
        cmocka_unit_test(test_gradient_contract),
        cmocka_unit_test(test_lie_contract),
        cmocka_unit_test(test_landscape_contract),
        cmocka_unit_test(test_dataset_contract),
        cmocka_unit_test(test_optim_contract),
        cmocka_unit_test(test_train_contract),
        cmocka_unit_test(test_success_clears_error),
        cmocka_unit_test(test_const_handles_concurrently),
        cmocka_unit_test(test_allocation_failure_sweep),
        cmocka_unit_test(test_sweep_covers_every_function),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
