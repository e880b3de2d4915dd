/* statevec_check.h: the references the statevector tests share
 * (test_statevec.c, test_statevec_pairs.c): random states, gate matrices
 * written from the gates' definitions, dense and naive application, Pauli
 * sums built without the library (statevec_check.c). */
#ifndef QML_TESTS_STATEVEC_CHECK_H
#define QML_TESTS_STATEVEC_CHECK_H

#include "harness.h"
#include "internal.h"

#include <stdbool.h>
#include <stddef.h>

/* Amplitudes after a handful of gates carry rounding of a few ulps per
 * operation; 1e-12 leaves three orders of magnitude of headroom for states
 * of norm 1 on up to 64 amplitudes, and is far below any real error (an
 * angle or sign mistake moves amplitudes by > 1e-3). */
#define TOL 1e-12

/* The Pauli matrices, row-major, interleaved re/im. */
static const double PX[8] = {0, 0, 1, 0, 1, 0, 0, 0};
static const double PY[8] = {0, 0, 0, -1, 0, 1, 0, 0};
static const double PZ[8] = {1, 0, 0, 0, 0, 0, -1, 0};

/* Every gate kind the dense references know (not the Pauli kinds). */
static const qml_gate_kind ALL_KINDS[] = {
    QML_GATE_I, QML_GATE_X, QML_GATE_Y, QML_GATE_Z, QML_GATE_H, QML_GATE_S, QML_GATE_SDG, QML_GATE_T,
    QML_GATE_TDG, QML_GATE_SX, QML_GATE_CNOT, QML_GATE_CY, QML_GATE_CZ, QML_GATE_SWAP, QML_GATE_ISWAP,
    QML_GATE_TOFFOLI, QML_GATE_UNITARY1, QML_GATE_UNITARY2, QML_GATE_RX, QML_GATE_RY, QML_GATE_RZ,
    QML_GATE_RXX, QML_GATE_RYY, QML_GATE_RZZ, QML_GATE_CRX, QML_GATE_CRY, QML_GATE_CRZ, QML_GATE_PHASE,
};
#define N_KINDS (sizeof ALL_KINDS / sizeof ALL_KINDS[0])

/* A random unit vector of `dim` amplitudes (Gaussian components, normalised). */
void random_state(harness_rng *rng, size_t dim, double *amps);

/* A state of n qubits holding `amps`. */
qml_statevec *state_from(unsigned n, const double *amps);

/* Fails with `what` and the first component of a and b farther apart than tol. */
void assert_vectors_close(size_t dim, const double *a, const double *b, double tol, const char *what);

/* A local 2^k x 2^k matrix on `qubits` embedded in the full 2^n x 2^n matrix. */
void embed(unsigned n, const unsigned *qubits, unsigned k, const double *local, double *full);

/* A one-qubit matrix on qubit q as I (x) u (x) I: a second construction. */
void kron_single(unsigned n, unsigned q, const double *u, double *full);

/* A random d x d unitary (Gram-Schmidt on a Gaussian matrix). */
void random_unitary(harness_rng *rng, size_t d, double *u);

/* An empty Pauli sum on n qubits, built without the library. */
qml_pauli_sum *sum_new(unsigned n);

/* Append c times the string `dense` (one letter per qubit, qubit 0 first). */
void sum_add(qml_pauli_sum *s, double c, const char *dense);

/* Free a sum of sum_new (NULL: nothing). */
void sum_free(qml_pauli_sum *s);

/* Term t of s as a string, one letter per qubit. */
void term_string(const qml_pauli_sum *s, size_t t, char *dense);

/* The dense matrix of a Pauli sum. */
void sum_dense(const qml_pauli_sum *s, double *out);

/* exp(m) of a small dense matrix (scaling and squaring, Taylor series). */
void dense_expm(size_t d, const double *m, double *out);

/* m[r][c] = re + i im in a d x d matrix. */
void set_entry(double *m, size_t d, size_t r, size_t c, double re, double im);

/* exp(-i theta/2 G) for G^2 = I. */
void rotation_from(size_t d, const double *g, double theta, double *out);

/* The controlled u (control local bit 0, target local bit 1). */
void controlled(const double *u, double *out);

/* The number of qubits a gate kind acts on. */
unsigned arity(qml_gate_kind kind);

/* The local matrix of a gate of a non-Pauli kind, from its definition. */
void local_matrix(const qml__gate *g, double theta, double *m);

/* The full 2^n matrix of gate g at angle theta. */
void gate_dense(unsigned n, const qml__gate *g, double theta, double *full);

/* A gate of `kind` on `qubits` (random unitaries for UNITARY1/2). */
qml__gate make_gate(qml_gate_kind kind, const unsigned *qubits, unsigned count, harness_rng *rng);

/* g on a random state against its dense matrix, then its inverse back, TOL. */
void check_gate(unsigned n, const qml__gate *g, double theta, harness_rng *rng, const char *what);

/* out = g applied to in, quadruple by quadruple, without the 2^n matrix. */
void apply_local_naive(unsigned n, const qml__gate *g, double theta, const double *in, double *out);

#endif
