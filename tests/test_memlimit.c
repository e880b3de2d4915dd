/* test_memlimit.c: calls that would hold more memory than the process may
 * have are refused with QML_ERR_LIMIT and the numbers before they allocate:
 * the adjoint gradient's two statevectors, every worker's copies, under an
 * address-space limit (RLIMIT_AS) set by the test. */
#include "harness.h"
#include "internal.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static void assert_message_has(const char *needle)
{
    if (!strstr(qml_last_error(), needle))
        fail_msg("message '%s' does not contain '%s'", qml_last_error(), needle);
}

/* The limit is at most physical memory and names its source. */
static void test_available(void **state)
{
    (void)state;
    const char *source = NULL;
    uint64_t available = qml__memory_available(&source);
    assert_non_null(source);
    assert_true(available > 0);
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0)
        assert_true(available <= (uint64_t)pages * (uint64_t)page);
    assert_ok(qml__memory_check(1, 1024, "caller", "a small block"));
    assert_ok(qml__memory_check(0, UINT64_MAX, "caller", "nothing"));
    /* An overflowing product is refused, not wrapped. */
    assert_status(qml__memory_check(UINT64_MAX, 16, "caller", "%s", "blocks"), QML_ERR_LIMIT);
    assert_message_has("caller: blocks: 18446744073709551615 x 16 bytes");
}

static qml_circuit *one_rotation(unsigned n_qubits)
{
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, n_qubits));
    unsigned q = 0;
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &q, 1, 0.0, 0, 1.0, -1, 0.0));
    return c;
}

/* Under RLIMIT_AS = what is mapped + 1.5 GiB: one 26-qubit state (1 GiB)
 * fits, the adjoint gradient's two do not, nor two workers' copies of a
 * 25-qubit pair; each is refused before anything is allocated. */
static void test_address_space_limit(void **state)
{
    (void)state;
#if defined(UNDER_ASAN)
    /* AddressSanitizer maps terabytes of shadow memory: a tight RLIMIT_AS
     * would refuse everything, and its own allocator would fail. */
    return;
#else
    struct rlimit saved;
    assert_int_equal(getrlimit(RLIMIT_AS, &saved), 0);
    const uint64_t gib = (uint64_t)1 << 30;
    qml_circuit *c26 = one_rotation(26), *c25 = one_rotation(25);
    qml_pauli_sum *z26 = NULL, *z25 = NULL;
    assert_ok(qml_pauli_sum_parse(&z26, 26, "Z0"));
    assert_ok(qml_pauli_sum_parse(&z25, 25, "Z0"));
    const char *before_source = NULL;
    uint64_t before = qml__memory_available(&before_source);
    if (before < 3 * gib) {
        /* A small machine or container: the test's numbers do not apply. */
        printf("# skipped: only %llu bytes available (%s)\n", (unsigned long long)before, before_source);
    } else {
        FILE *statm = fopen("/proc/self/statm", "r");
        unsigned long long pages = 0;
        assert_non_null(statm);
        assert_int_equal(fscanf(statm, "%llu", &pages), 1);
        fclose(statm);
        struct rlimit tight = saved;
        tight.rlim_cur = (rlim_t)(pages * (uint64_t)sysconf(_SC_PAGESIZE) + gib + gib / 2);
        if (saved.rlim_cur != RLIM_INFINITY && tight.rlim_cur > saved.rlim_cur)
            tight.rlim_cur = saved.rlim_cur;
        assert_int_equal(setrlimit(RLIMIT_AS, &tight), 0);

        const char *source = NULL;
        uint64_t available = qml__memory_available(&source);
        int one_state = qml__memory_check(1, gib, "caller", "one state");
        double weight = 0.3, value = 0, gradient = 0;
        int adjoint = qml_gradient(c26, z26, NULL, &weight, 1, NULL, 0, NULL, &value, &gradient, NULL);
        char adjoint_message[512];
        snprintf(adjoint_message, sizeof adjoint_message, "%s", qml_last_error());
        qml_gradient_options options = QML_GRADIENT_OPTIONS_INIT;
        options.n_threads = 2;
        double rows[2] = {0, 0}, values[2];
        int batch = qml_gradient_batch(c25, z25, NULL, &weight, 1, rows, 2, 0, &options, QML_BATCH_PER_ROW,
                                       values, NULL);
        char batch_message[512];
        snprintf(batch_message, sizeof batch_message, "%s", qml_last_error());
        qml_landscape_options landscape = QML_LANDSCAPE_OPTIONS_INIT;
        landscape.samples = 4;
        landscape.n_threads = 2;
        qml_gradient_stats *stats = NULL;
        int stats_status = qml_gradient_stats_create(&stats, c25, z25, NULL, NULL, 0, &landscape);
        char stats_message[512];
        snprintf(stats_message, sizeof stats_message, "%s", qml_last_error());
        assert_int_equal(setrlimit(RLIMIT_AS, &saved), 0);

        assert_string_equal(source, "address space left under RLIMIT_AS");
        assert_true(available > gib && available < 2 * gib);
        assert_ok(one_state);
        if (adjoint != QML_ERR_LIMIT)
            fail_msg("qml_gradient gave %d (%s), expected QML_ERR_LIMIT", adjoint, adjoint_message);
        if (!strstr(adjoint_message, "qml_gradient: statevectors of 26 qubits, 2 per worker x 1 worker: "
                                     "2 x 1073741824 bytes = 2 GiB, more than the 1.") ||
            !strstr(adjoint_message, "RLIMIT_AS"))
            fail_msg("qml_gradient's message: %s", adjoint_message);
        if (batch != QML_ERR_LIMIT || !strstr(batch_message, "2 per worker x 2 workers: 4 x 536870912 bytes"))
            fail_msg("qml_gradient_batch gave %d: %s", batch, batch_message);
        if (stats_status != QML_ERR_LIMIT || !strstr(stats_message, "2 per worker x 2 workers: 4 x 536870912 bytes"))
            fail_msg("qml_gradient_stats_create gave %d: %s", stats_status, stats_message);
        assert_null(stats);
    }
    qml_pauli_sum_free(z26);
    qml_pauli_sum_free(z25);
    qml_circuit_free(c26);
    qml_circuit_free(c25);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_available),
        cmocka_unit_test(test_address_space_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
