/*
 * harness.h: what every libqml test shares.
 *
 * The failing-allocator harness routes the library's allocator through a
 * counter, makes the k-th allocation fail for k = 1, 2, ... along a call
 * sequence until the sequence runs without reaching k, and checks after each
 * run that the sequence returned QML_ERR_OUT_OF_MEMORY and that no block is
 * still live. The sequence is a function that creates what it needs, calls,
 * frees everything it created, and returns the first non-zero status.
 */
#ifndef QML_TEST_HARNESS_H
#define QML_TEST_HARNESS_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "qml.h"

/* Install the counting allocator (never failing); returns live blocks later. */
void harness_install_counting_allocator(void);
void harness_restore_allocator(void);
/* Blocks allocated and not yet freed since the counting allocator was installed. */
long harness_live_blocks(void);

typedef int (*harness_sequence)(void *context);

/* Run `sequence` with the k-th allocation failing, for every k it reaches;
 * fails the test on a wrong status or a leak. Returns how many runs it made. */
int harness_check_allocation_failures(harness_sequence sequence, void *context);

/* Assert a status and print the thread's message on failure. */
#define assert_status(expr, expected)                                           \
    do {                                                                       \
        int harness_status_ = (expr);                                          \
        if (harness_status_ != (expected))                                     \
            fail_msg("%s returned %d (%s), expected %d; message: %s", #expr,   \
                     harness_status_, qml_status_string(harness_status_),      \
                     (int)(expected), qml_last_error());                       \
    } while (0)
#define assert_ok(expr) assert_status((expr), QML_OK)

/* |a - b| <= tol, with a message that shows both numbers. */
#define assert_close(a, b, tol)                                                \
    do {                                                                       \
        double harness_a_ = (a), harness_b_ = (b), harness_t_ = (tol);          \
        if (!(fabs(harness_a_ - harness_b_) <= harness_t_))                    \
            fail_msg("%s = %.17g, %s = %.17g differ by %.3g > %.3g", #a,       \
                     harness_a_, #b, harness_b_,                               \
                     fabs(harness_a_ - harness_b_), harness_t_);               \
    } while (0)

/* A small deterministic generator for test data (independent of the
 * library's own PRNG, so tests do not assume what they test). */
typedef struct harness_rng {
    uint64_t state;
} harness_rng;
uint64_t harness_next(harness_rng *rng);
double harness_uniform(harness_rng *rng);          /* [0, 1) */
double harness_normal(harness_rng *rng);

/* Whether this run takes the suite's heaviest cases (large algebras, long
 * closures, the widest dense references). They are the same checks at a
 * larger size, so they run where they cost seconds: in optimised builds
 * without sanitizers, unless QML_TEST_QUICK is set to anything but "0"
 * (the build matrix and the sanitizer jobs set it). Unoptimised and
 * sanitized builds run the smaller sizes only. */
bool harness_heavy(void);

/* Dense complex linear algebra for references (row-major, interleaved). */
/* c = a * b for d x d matrices. */
void harness_matmul(size_t d, const double *a, const double *b, double *c);
/* c = a (x) b (Kronecker), a: da x da, b: db x db; c: (da db) x (da db). */
void harness_kron(size_t da, const double *a, size_t db, const double *b, double *c);
/* y = m x for a d x d matrix and a d-vector. */
void harness_matvec(size_t d, const double *m, const double *x, double *y);
/* The 2^n x 2^n matrix of a dense Pauli string ("XIZ": char k on qubit k,
 * qubit k = bit k of the index), built from Kronecker products. */
void harness_pauli_matrix(unsigned n, const char *dense, double *out);

#endif
