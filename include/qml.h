/**
 * @file qml.h
 * @brief libqml: will this variational quantum circuit train, and why?
 *
 * This is the only public header of libqml. If a declaration is not here, it
 * is not API. libqml implements the dynamical-Lie-algebra (DLA) framework of
 * arXiv:2606.31536: Pauli operator algebra, circuits and a statevector
 * simulator, gradients, Lie-algebra analysis, barren-plateau diagnostics and
 * training.
 *
 * Conventions that hold for every function:
 * - Fallible calls return `int`: 0 (#QML_OK) on success, a negative
 *   #qml_status on failure. On failure, qml_last_error() holds a message with
 *   the specifics for the calling thread, and out-parameters are left unset
 *   unless the function says otherwise.
 * - Objects are opaque handles. Constructors take the out-parameter first.
 *   Every handle type has one `_free` function; `_free(NULL)` does nothing.
 *   A `**out` result is owned by the caller.
 * - Complex numbers cross the ABI as interleaved `double` (re, im) pairs.
 * - Options structs begin with `size_t size`; initialise them with their
 *   `QML_*_OPTIONS_INIT` macro. Fields are only ever appended.
 * - Thread safety: distinct handles are independent; one handle must not be
 *   used by two threads at once unless a function says so. Functions taking
 *   `const` handles may be called concurrently on the same handle.
 * - Qubit k is bit k of a computational-basis index (little-endian): the
 *   amplitude of |b_{n-1} ... b_1 b_0> is at index sum_k b_k 2^k.
 *
 * @since 0.1.0
 */
#ifndef QML_H
#define QML_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(QML_BUILDING_LIBRARY) && defined(__GNUC__)
#define QML_API __attribute__((visibility("default")))
#else
#define QML_API
#endif

/* ======================================================================== */
/** @name Versions */
/* ======================================================================== */
/**@{*/

/** Major version: releases with the same major version are ABI compatible. */
#define QML_VERSION_MAJOR 0
/** Minor version: new API, backwards compatible. */
#define QML_VERSION_MINOR 2
/** Patch version: fixes only. */
#define QML_VERSION_PATCH 0
/** The version as one number, MAJOR*10000 + MINOR*100 + PATCH. */
#define QML_VERSION_NUMBER \
    (QML_VERSION_MAJOR * 10000 + QML_VERSION_MINOR * 100 + QML_VERSION_PATCH)

/**
 * @brief The version of the library loaded at run time, as
 * #QML_VERSION_NUMBER encodes it. Compare with #QML_VERSION_NUMBER to check
 * that the library matches the header a program was compiled against.
 * @since 0.1.0
 */
QML_API unsigned qml_version_number(void);

/** @brief The run-time version as "MAJOR.MINOR.PATCH" (static storage). @since 0.1.0 */
QML_API const char *qml_version_string(void);

/**@}*/

/* ======================================================================== */
/** @name Errors */
/* ======================================================================== */
/**@{*/

/**
 * @brief Status codes. Values are pinned and never renumbered.
 * @since 0.1.0
 */
typedef enum qml_status {
    QML_OK = 0,                        /**< success */
    QML_ERR_INVALID_ARGUMENT = -1,     /**< a NULL handle, bad size, NaN, ... */
    QML_ERR_OUT_OF_MEMORY = -2,        /**< an allocation failed */
    QML_ERR_OUT_OF_RANGE = -3,         /**< an index outside its range, or a buffer too small */
    QML_ERR_PARSE = -4,                /**< malformed text input */
    QML_ERR_UNSUPPORTED = -5,          /**< valid, but not supported (e.g. non-commuting evolution terms) */
    QML_ERR_LIMIT = -6,                /**< a size or dimension limit was reached */
    QML_ERR_CANCELLED = -7,            /**< a progress callback asked to stop */
    QML_ERR_IO = -8,                   /**< a file could not be read or written */
    QML_ERR_NOT_NORMALIZED = -9,       /**< a state vector whose norm is not 1 */
    QML_ERR_THREAD = -10,              /**< a worker thread could not be started */
    QML_ERR_NOT_APPLICABLE = -11       /**< the hypotheses of a formula do not hold */
} qml_status;

/**
 * @brief A static, human-readable description of a status code.
 * @param status any integer; unknown codes give "unknown status".
 * @return never NULL; static storage.
 * @since 0.1.0
 */
QML_API const char *qml_status_string(int status);

/**
 * @brief The message of the last failure on the calling thread, with the
 * specifics ("qubit 7 out of range for a 5-qubit circuit"). Empty if the
 * last call on this thread succeeded or no call failed yet.
 * @return never NULL; valid until the next libqml call on this thread.
 * @since 0.1.0
 */
QML_API const char *qml_last_error(void);

/**
 * @brief The status of the last status-returning call on the calling
 * thread: #QML_OK if it succeeded (a successful call clears the previous
 * failure, status and message, as qml_clear_error() does), else the negative
 * code it returned. Calls that return no status (getters, `_free`) leave it
 * as it was; so does a call on another thread.
 * @return a #qml_status value; #QML_OK before any call on this thread.
 * @since 0.1.0
 */
QML_API qml_status qml_last_status(void);

/** @brief Forget the calling thread's last error. @since 0.1.0 */
QML_API void qml_clear_error(void);

/**@}*/

/* ======================================================================== */
/** @name Memory */
/* ======================================================================== */
/**@{*/

/**
 * @brief An allocator: every allocation libqml makes goes through it.
 * The functions follow the contracts of malloc, realloc and free.
 * `free_fn(NULL, user)` must be a no-op.
 * @since 0.1.0
 */
typedef struct qml_allocator {
    size_t size;                                          /**< sizeof(qml_allocator) */
    void *(*malloc_fn)(size_t size, void *user);          /**< allocate */
    void *(*realloc_fn)(void *ptr, size_t size, void *user); /**< resize */
    void (*free_fn)(void *ptr, void *user);               /**< release */
    void *user;                                           /**< passed to each function */
} qml_allocator;

/**
 * @brief Install an allocator, or restore the C library's with NULL.
 *
 * Process-wide. Call it before any other libqml call and while no handle is
 * alive: memory allocated by one allocator is released by it, so switching
 * with live handles is undefined. Not thread-safe.
 * @return #QML_OK, or #QML_ERR_INVALID_ARGUMENT if a function pointer is NULL,
 * `size` is less than this version's sizeof(qml_allocator), or a longer
 * struct sets a field this version does not know.
 * @since 0.1.0
 */
QML_API int qml_set_allocator(const qml_allocator *allocator);

/** @brief Release memory that a libqml function documents as caller-owned. @since 0.1.0 */
QML_API void qml_free(void *ptr);

/**@}*/

/* ======================================================================== */
/** @name Random numbers */
/* ======================================================================== */
/**@{*/

/**
 * @brief A seedable, splittable pseudo-random generator (xoshiro256**).
 *
 * A generator is identified by (seed, stream): every stream of one seed is an
 * independent sequence. The library gives each sample, row or worker its own
 * stream, so results depend on the seed, never on the thread count.
 * @since 0.1.0
 */
typedef struct qml_rng qml_rng;

/**
 * @brief Create a generator for stream `stream` of seed `seed`.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT, #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_rng_create(qml_rng **out, uint64_t seed, uint64_t stream);
/** @brief Free a generator (NULL is a no-op). @since 0.1.0 */
QML_API void qml_rng_free(qml_rng *rng);
/** @brief The next 64 uniformly random bits. @since 0.1.0 */
QML_API uint64_t qml_rng_next(qml_rng *rng);
/** @brief A uniform double in [0, 1) with 53 random bits. @since 0.1.0 */
QML_API double qml_rng_uniform(qml_rng *rng);
/** @brief A standard normal deviate. @since 0.1.0 */
QML_API double qml_rng_normal(qml_rng *rng);
/** @brief A uniform integer in [0, bound), unbiased; 0 if bound is 0. @since 0.1.0 */
QML_API uint64_t qml_rng_below(qml_rng *rng, uint64_t bound);

/**@}*/

/* ======================================================================== */
/** @name Progress */
/* ======================================================================== */
/**@{*/

/**
 * @brief A progress callback for long work.
 * @param stage what is being done (static text).
 * @param done units of work done so far.
 * @param total units of work in all (0 if unknown).
 * @param user the pointer given with the callback.
 * @return 0 to go on; anything else cancels the work, which then returns
 * #QML_ERR_CANCELLED.
 * @since 0.1.0
 */
typedef int (*qml_progress_fn)(const char *stage, size_t done, size_t total, void *user);

/**@}*/

/* ======================================================================== */
/** @name Pauli operators (pauli.c)
 *
 * A Hermitian operator on n qubits is a real linear combination of Pauli
 * strings. The string with x-bits x and z-bits z is
 * `P(x, z) = prod_q i^{x_q z_q} X_q^{x_q} Z_q^{z_q}`, so `Y = i X Z` exactly
 * and every string is Hermitian. Terms are kept merged (one coefficient per
 * string), exact zeros are dropped, and terms keep the order in which their
 * strings first appeared (a removed term closes its gap).
 *
 * Text form (docs/pauli.md has the grammar): a sum such as
 * `0.5*X0 Z3 - 2 Y1 + Z0` (coefficient optional, `*` optional, whitespace
 * free, scientific notation accepted), a lone `I` for the identity
 * (`3*I`, or `0.5 I0` with an index), or a dense string `XIZ` in which
 * character k acts on qubit k (Qiskit labels read the other way round:
 * Qiskit's "XIZ" is Z0 X2). A run of letters followed by digits is indexed
 * and must be one letter; a run of letters without digits is dense and has
 * exactly n_qubits letters.
 *
 * Sums act on 1 to 2^20 qubits; strings are bit masks of (n + 63) / 64
 * 64-bit words, with a one-word fast path for n <= 64.
 */
/* ======================================================================== */
/**@{*/

/** @brief A real linear combination of Pauli strings. @since 0.1.0 */
typedef struct qml_pauli_sum qml_pauli_sum;

/**
 * @brief Create the zero operator.
 * @param[out] out the new sum, owned by the caller (qml_pauli_sum_free()).
 * @param n_qubits 1 .. 2^20.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (NULL out, n_qubits 0),
 *         #QML_ERR_LIMIT (n_qubits > 2^20), #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_create(qml_pauli_sum **out, unsigned n_qubits);
/**
 * @brief Deep copy (same terms in the same order).
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT, #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_copy(qml_pauli_sum **out, const qml_pauli_sum *sum);
/** @brief Free (NULL is a no-op). @since 0.1.0 */
QML_API void qml_pauli_sum_free(qml_pauli_sum *sum);
/** @brief Number of qubits (0 for NULL). @since 0.1.0 */
QML_API unsigned qml_pauli_sum_n_qubits(const qml_pauli_sum *sum);
/** @brief Number of (non-zero) terms (0 for NULL). @since 0.1.0 */
QML_API size_t qml_pauli_sum_n_terms(const qml_pauli_sum *sum);

/**
 * @brief Parse a Pauli sum from text (grammar in docs/pauli.md).
 *
 * Terms merge as they are read; terms that cancel exactly vanish, so
 * `"X0 - X0"` and `"0"` give the zero operator. An empty (or all-blank) text
 * is a parse error. A qubit may appear only once per term (`"X0 Z0"` is an
 * error, not a product). Coefficients must be finite: `nan`, `inf` and
 * overflowing numbers such as `1e999` are parse errors.
 * @param[out] out the new sum, owned by the caller.
 * @param n_qubits the number of qubits, or 0 to infer it: the largest index
 *        + 1, or the length of the dense strings (which must then agree),
 *        or 1 if the text holds only identity terms.
 * @param text NUL-terminated, of any length.
 * @return #QML_OK; #QML_ERR_PARSE with a message naming the 0-based position
 *         and quoting the offending text; #QML_ERR_OUT_OF_RANGE for a qubit
 *         index >= n_qubits (or >= 2^20) or a dense string whose length is
 *         not n_qubits; #QML_ERR_INVALID_ARGUMENT for NULL arguments;
 *         #QML_ERR_LIMIT for n_qubits > 2^20, or (since 0.2.0) for a text
 *         whose terms would take too much memory for its length: every term
 *         stores 2 x ceil(n_qubits / 64) 64-bit words, so one far qubit index
 *         makes every term that wide; terms x ceil(n_qubits / 64) x 16 bytes
 *         (terms counted before equal ones merge) must stay within 64 bytes
 *         per byte of text or 16 MiB, whichever is larger;
 *         #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_parse(qml_pauli_sum **out, unsigned n_qubits, const char *text);

/**
 * @brief Format in the indexed text form, e.g. `0.5*X0 Z3 - 2*Y1 + Z0`:
 * terms in order, joined by " + " or " - ", factors ascending by qubit, a
 * coefficient of magnitude 1 left out, the identity written `I` (`0.5*I`),
 * the zero operator written "0". Coefficients use the shortest of %.15g,
 * %.16g, %.17g that reads back to the same double, with '.' whatever the
 * locale, so qml_pauli_sum_parse() on the text with the same n_qubits gives
 * back the same sum bit for bit, in the same order.
 * @param buffer where to write, NUL-terminated; may be NULL if capacity is 0.
 * @param capacity bytes available at buffer.
 * @param[out] length set to the length of the text, without the NUL (may be NULL).
 * @return #QML_OK, or #QML_ERR_OUT_OF_RANGE if capacity <= length (nothing is
 *         written; call again with length + 1 bytes), #QML_ERR_INVALID_ARGUMENT.
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_format(const qml_pauli_sum *sum, char *buffer, size_t capacity, size_t *length);

/**
 * @brief Add `coefficient` times the Pauli string given sparsely by
 * `ops[i]` ('I', 'X', 'Y' or 'Z') on `qubits[i]`, i < count (count may be 0:
 * the identity). Qubits must be distinct. A zero coefficient adds nothing.
 * On failure the sum is unchanged.
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL, non-finite coefficient,
 *         a letter other than IXYZ, a repeated qubit); #QML_ERR_OUT_OF_RANGE
 *         (a qubit >= n_qubits, or the merged coefficient overflows);
 *         #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_add_term(qml_pauli_sum *sum, double coefficient, const char *ops,
                                   const unsigned *qubits, size_t count);

/**
 * @brief Add `coefficient` times a dense string of exactly n_qubits
 * characters from "IXYZ" (character k acts on qubit k).
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL, non-finite coefficient,
 *         a bad character, a wrong length); #QML_ERR_OUT_OF_RANGE (overflow);
 *         #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_add_string(qml_pauli_sum *sum, double coefficient, const char *dense);

/**
 * @brief Read term `index` (< n_terms): its coefficient and its dense string
 * (n_qubits characters plus a NUL, so `dense` needs n_qubits + 1 bytes; may be
 * NULL). Terms are in a deterministic order that depends only on the sequence
 * of operations that built the sum.
 * @return #QML_OK, #QML_ERR_OUT_OF_RANGE (index >= n_terms), #QML_ERR_INVALID_ARGUMENT.
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_term(const qml_pauli_sum *sum, size_t index, double *coefficient, char *dense);

/**
 * @brief `sum += alpha * other` (same number of qubits; `other` may be
 * `sum`). Terms new to `sum` are appended in the order of `other`. Costs
 * O(terms of other) hash look-ups. On failure the sum is unchanged.
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL, different qubit counts,
 *         non-finite alpha); #QML_ERR_OUT_OF_RANGE (a coefficient overflows);
 *         #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_add(qml_pauli_sum *sum, double alpha, const qml_pauli_sum *other);
/**
 * @brief `sum *= alpha` (alpha = 0 empties the sum; products that underflow
 * to 0 are dropped). On failure the sum is unchanged.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (NULL, non-finite alpha),
 *         #QML_ERR_OUT_OF_RANGE (a coefficient overflows).
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_scale(qml_pauli_sum *sum, double alpha);

/**
 * @brief The Lie bracket in Hermitian form, `-i [A, B] = -i (AB - BA)`,
 * which is Hermitian again. For strings, `-i[P, Q]` is 0 if P and Q commute
 * and `2 i^{k-1} R` if they anticommute, where `P Q = i^k R`. Costs
 * O(terms(A) terms(B)) string products, merged through a hash map.
 * @param[out] out a new sum on the same qubits, owned by the caller.
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL, different qubit counts);
 *         #QML_ERR_OUT_OF_RANGE (a coefficient overflows); #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_bracket(qml_pauli_sum **out, const qml_pauli_sum *a, const qml_pauli_sum *b);
/**
 * @brief The anticommutator `{A, B} / 2 = (AB + BA) / 2`, Hermitian. For
 * strings it is `P Q` if they commute and 0 otherwise. Same costs and
 * codes as qml_pauli_sum_bracket().
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_anticommutator(qml_pauli_sum **out, const qml_pauli_sum *a, const qml_pauli_sum *b);

/**
 * @brief The normalised Hilbert-Schmidt inner product Tr(AB) / 2^n: the sum
 * over common strings of the products of their coefficients.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (NULL, different qubit counts).
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_inner(const qml_pauli_sum *a, const qml_pauli_sum *b, double *out);
/**
 * @brief The norm sqrt(Tr(A^2) / 2^n), the Euclidean norm of the
 * coefficients (computed without overflow).
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT.
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_norm(const qml_pauli_sum *a, double *out);
/**
 * @brief The normalised trace Tr(A) / 2^n (the identity coefficient).
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT, #QML_ERR_OUT_OF_MEMORY (only for
 *         n > 3072, where scratch masks go on the heap).
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_trace(const qml_pauli_sum *a, double *out);

/**
 * @brief Whether A and B are equal: every coefficient of A - B is at most
 * `tolerance` in magnitude. Sets `*equal` to 1 or 0.
 * @param tolerance finite and >= 0 (0 asks for exact equality).
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (NULL, different qubit counts,
 *         bad tolerance).
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_equal(const qml_pauli_sum *a, const qml_pauli_sum *b, double tolerance, int *equal);

/**
 * @brief Whether A and B commute as operators: every coefficient of
 * -i[A, B] is at most `tolerance` in magnitude. Sets `*commute` to 1 or 0.
 * Computes the bracket, so it costs what qml_pauli_sum_bracket() costs; it
 * does so on copies of A and B scaled by powers of two (exactly), so sums
 * with coefficients near the limits of a double are decided too.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT, #QML_ERR_OUT_OF_RANGE,
 *         #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_commutes(const qml_pauli_sum *a, const qml_pauli_sum *b, double tolerance, int *commute);

/**
 * @brief Whether two dense Pauli strings of n_qubits characters commute
 * (they do iff they differ by two non-identity letters on an even number of
 * qubits). Sets `*commute` to 1 or 0.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (NULL, a bad character or
 *         length), #QML_ERR_LIMIT (n_qubits > 2^20).
 * @since 0.1.0
 */
QML_API int qml_pauli_strings_commute(unsigned n_qubits, const char *a, const char *b, int *commute);

/**
 * @brief The qubits some term acts on non-trivially, ascending.
 * @param qubits output array of `capacity` entries (may be NULL if capacity is 0).
 * @param count set to the number of such qubits, even if it exceeds capacity
 *        (then #QML_ERR_OUT_OF_RANGE is returned).
 * @return #QML_OK, #QML_ERR_OUT_OF_RANGE, #QML_ERR_INVALID_ARGUMENT,
 *         #QML_ERR_OUT_OF_MEMORY (only for n > 3072).
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_support(const qml_pauli_sum *sum, unsigned *qubits, size_t capacity, size_t *count);

/**
 * @brief The dense 2^n x 2^n matrix, row-major, interleaved (re, im):
 * `matrix[2*(r*2^n + c)]` is the real part of entry (r, c); qubit k is bit k
 * of the row and column indices. Costs O(terms 2^n) after zeroing 2 * 4^n
 * doubles.
 * @param capacity number of doubles at `matrix`: at least 2 * 4^n.
 * @return #QML_OK, #QML_ERR_LIMIT for n > 14, #QML_ERR_OUT_OF_RANGE if
 *         capacity is too small, #QML_ERR_INVALID_ARGUMENT.
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_to_dense(const qml_pauli_sum *sum, double *matrix, size_t capacity);

/**@}*/

/* ======================================================================== */
/** @name Circuits (circuit.c)
 *
 * A circuit is an ordered list of gates on n qubits. Every parametrised gate
 * is `exp(-i theta/2 G)` for a Hermitian generator G (a #qml_pauli_sum); the
 * generator is exact, global phase included (the phase shift is
 * diag(1, e^{i theta}) = exp(-i theta/2 (Z - I))). Each angle is an affine
 * function of at most one trainable weight and at most one input feature:
 * `theta = constant + weight_scale * w[weight] + feature_scale * x[feature]`,
 * with #QML_NONE for "no weight" or "no feature". Two gates reading one
 * weight share it (parameter sharing); the weight then moves the sum of
 * their scaled generators (qml_circuit_weight_generator()).
 *
 * Validation, common to the functions below: a NULL circuit, pointer or
 * generator, a wrong qubit count for the kind, a repeated qubit, a kind not
 * accepted by the function, a NaN or infinite number, or a matrix that is not
 * unitary give #QML_ERR_INVALID_ARGUMENT; a qubit >= n_qubits, a gate index
 * >= n_gates, or a weight/feature index that is neither #QML_NONE nor in
 * 0 .. 2^24 - 1 give #QML_ERR_OUT_OF_RANGE. A failed call leaves the circuit
 * unchanged. See docs/circuits.md.
 */
/* ======================================================================== */
/**@{*/

/** @brief A circuit. @since 0.1.0 */
typedef struct qml_circuit qml_circuit;

/** @brief "No weight" or "no feature" in an angle. */
#define QML_NONE (-1)

/**
 * @brief Gate kinds. Values are pinned.
 * Fixed gates: 1-qubit 1..9, 2-qubit 10..14, Toffoli 15 (controls first,
 * target last), matrices 20..21. Parametrised gates: 30 and up, each
 * `exp(-i theta/2 G)` with the generator G given per kind (qubits in the
 * order passed: for controlled rotations control first, then target).
 * @since 0.1.0
 */
typedef enum qml_gate_kind {
    QML_GATE_I = 0,
    QML_GATE_X = 1,
    QML_GATE_Y = 2,
    QML_GATE_Z = 3,
    QML_GATE_H = 4,
    QML_GATE_S = 5,
    QML_GATE_SDG = 6,
    QML_GATE_T = 7,
    QML_GATE_TDG = 8,
    QML_GATE_SX = 9,
    QML_GATE_CNOT = 10,        /**< qubits: control, target */
    QML_GATE_CY = 11,          /**< qubits: control, target */
    QML_GATE_CZ = 12,
    QML_GATE_SWAP = 13,
    QML_GATE_ISWAP = 14,
    QML_GATE_TOFFOLI = 15,     /**< qubits: control, control, target */
    QML_GATE_UNITARY1 = 20,    /**< a 2x2 matrix */
    QML_GATE_UNITARY2 = 21,    /**< a 4x4 matrix; row/column index = b_q0 + 2 b_q1 */
    QML_GATE_RX = 30,          /**< G = X */
    QML_GATE_RY = 31,          /**< G = Y */
    QML_GATE_RZ = 32,          /**< G = Z */
    QML_GATE_RXX = 33,         /**< G = X X */
    QML_GATE_RYY = 34,         /**< G = Y Y */
    QML_GATE_RZZ = 35,         /**< G = Z Z */
    QML_GATE_CRX = 36,         /**< G = (I - Z_c) X_t / 2; qubits: control, target */
    QML_GATE_CRY = 37,         /**< G = (I - Z_c) Y_t / 2 */
    QML_GATE_CRZ = 38,         /**< G = (I - Z_c) Z_t / 2 */
    QML_GATE_PHASE = 39,       /**< diag(1, e^{i theta}); G = Z - I */
    QML_GATE_PAULI_ROTATION = 40,  /**< G = one Pauli string P (coefficient 1) */
    QML_GATE_PAULI_EVOLUTION = 41  /**< G = a Pauli sum with pairwise commuting terms */
} qml_gate_kind;

/**
 * @brief Create an empty circuit.
 * @param[out] out the new circuit, owned by the caller (qml_circuit_free()).
 * @param n_qubits 1..1024 (a circuit holds no amplitudes: the statevector
 *        refuses more than 40 qubits, the g-sim and symmetric backends
 *        run hundreds; see docs/gsim.md).
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (NULL out, n_qubits outside
 *         1..1024), #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_circuit_create(qml_circuit **out, unsigned n_qubits);

/**
 * @brief Deep copy: the copy owns its own gate list and generators, and
 * outlives the original.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT, #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_circuit_copy(qml_circuit **out, const qml_circuit *circuit);

/** @brief Free a circuit and the generators it owns (NULL is a no-op). @since 0.1.0 */
QML_API void qml_circuit_free(qml_circuit *circuit);
/** @brief Number of qubits (0 for NULL). @since 0.1.0 */
QML_API unsigned qml_circuit_n_qubits(const qml_circuit *circuit);
/** @brief Number of gates (0 for NULL). @since 0.1.0 */
QML_API size_t qml_circuit_n_gates(const qml_circuit *circuit);
/**
 * @brief Number of trainable weights: the largest weight index read, plus 1
 * (0 for NULL or none). Indices below it that no gate reads are allowed.
 * @since 0.1.0
 */
QML_API size_t qml_circuit_n_weights(const qml_circuit *circuit);
/** @brief Number of input features: the largest feature index read, plus 1 (0 for NULL). @since 0.1.0 */
QML_API size_t qml_circuit_n_features(const qml_circuit *circuit);
/** @brief Number of parametrised gates (kinds 30..41; 0 for NULL). @since 0.1.0 */
QML_API size_t qml_circuit_n_parametrised(const qml_circuit *circuit);

/**
 * @brief Append a fixed gate (kinds 0..15).
 * @param kind a fixed kind; rotations, matrices and Pauli gates have their
 *        own functions.
 * @param qubits `count` distinct qubits, as many as the gate acts on (1 for
 *        kinds 0..9, 2 for 10..14, 3 for the Toffoli).
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (NULL, kind, count, repeated
 *         qubit), #QML_ERR_OUT_OF_RANGE (qubit), #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_circuit_add_gate(qml_circuit *circuit, qml_gate_kind kind, const unsigned *qubits, size_t count);

/**
 * @brief Append an arbitrary 1- or 2-qubit unitary, given as a 2^count x
 * 2^count row-major matrix of interleaved (re, im) doubles; row/column index
 * b_{qubits[0]} + 2 b_{qubits[1]}. The circuit copies the matrix.
 * @param count 1 or 2.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (count, NULL, a non-finite
 *         entry, or max |(U U^dagger - I)_{rc}| > 1e-10: the message gives the
 *         worst entry), #QML_ERR_OUT_OF_RANGE (qubit), #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_circuit_add_unitary(qml_circuit *circuit, const double *matrix, const unsigned *qubits, size_t count);

/**
 * @brief Append a parametrised gate of kind RX..PHASE (30..39) with angle
 * `constant + weight_scale * w[weight] + feature_scale * x[feature]`.
 * @param qubits 1 qubit for RX, RY, RZ, PHASE; 2 for RXX, RYY, RZZ and the
 *        controlled rotations (control, target).
 * @param weight a weight index in 0 .. 2^24 - 1, or #QML_NONE.
 * @param feature a feature index in 0 .. 2^24 - 1, or #QML_NONE.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (kind, count, repeated qubit,
 *         a non-finite constant or scale), #QML_ERR_OUT_OF_RANGE (qubit, weight
 *         or feature index), #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_circuit_add_rotation(qml_circuit *circuit, qml_gate_kind kind, const unsigned *qubits, size_t count,
                                     double constant, int64_t weight, double weight_scale,
                                     int64_t feature, double feature_scale);

/**
 * @brief Append `exp(-i theta/2 H)` for a Pauli sum H whose terms commute
 * pairwise (identity terms are allowed: they are a global phase). A single
 * string with coefficient exactly 1 becomes a #QML_GATE_PAULI_ROTATION,
 * anything else a #QML_GATE_PAULI_EVOLUTION. The circuit keeps its own copy
 * of H; the gate acts on the support of H (the qubits some term touches).
 * Cost of the check: O(T^2) string comparisons for T terms.
 * @return #QML_OK; #QML_ERR_UNSUPPORTED if two terms anticommute (the
 *         message names both); #QML_ERR_INVALID_ARGUMENT for NULL, an empty
 *         H, an H on a different number of qubits, a non-finite coefficient
 *         or angle number; #QML_ERR_OUT_OF_RANGE (weight or feature index);
 *         #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_circuit_add_pauli_rotation(qml_circuit *circuit, const qml_pauli_sum *generator,
                                           double constant, int64_t weight, double weight_scale,
                                           int64_t feature, double feature_scale);

/**
 * @brief Describe gate `index`.
 * @param[out] kind the gate's kind (may be NULL).
 * @param[out] qubits at least 3 entries (may be NULL): the qubits in the
 *        order given when the gate was added. For Pauli gates (kinds 40, 41),
 *        the first min(count, 3) qubits of the support, ascending; the whole
 *        support is qml_pauli_sum_support() of qml_circuit_gate_generator().
 * @param[out] count the number of qubits the gate acts on (may be NULL); for
 *        Pauli gates the size of the support (0 for a pure global phase).
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (NULL circuit),
 *         #QML_ERR_OUT_OF_RANGE (index >= n_gates).
 * @since 0.1.0
 */
QML_API int qml_circuit_gate(const qml_circuit *circuit, size_t index, qml_gate_kind *kind,
                             unsigned *qubits, size_t *count);

/**
 * @brief The angle of parametrised gate `index`; any out-pointer may be NULL.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT if the gate is not
 *         parametrised, #QML_ERR_OUT_OF_RANGE (index).
 * @since 0.1.0
 */
QML_API int qml_circuit_gate_angle(const qml_circuit *circuit, size_t index, double *constant, int64_t *weight,
                                   double *weight_scale, int64_t *feature, double *feature_scale);

/**
 * @brief The generator G of parametrised gate `index` (gate =
 * exp(-i theta/2 G)), as a new sum on the circuit's qubits, owned by the
 * caller (qml_pauli_sum_free()).
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (NULL, gate not parametrised),
 *         #QML_ERR_OUT_OF_RANGE (index), #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_circuit_gate_generator(const qml_circuit *circuit, size_t index, qml_pauli_sum **out);

/**
 * @brief The effective generator of weight `weight`:
 * sum over the gates reading it of weight_scale * G, as a new sum owned by
 * the caller (the zero operator if no gate reads it; terms that cancel are
 * dropped). This is what the weight moves, and what the Lie-algebra analysis
 * takes for shared weights.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (NULL, negative weight),
 *         #QML_ERR_OUT_OF_RANGE (weight >= n_weights), #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_circuit_weight_generator(const qml_circuit *circuit, int64_t weight, qml_pauli_sum **out);

/**@}*/

/* ======================================================================== */
/** @name OpenQASM (qasm.c)
 *
 * OpenQASM 2.0 in and out of a circuit, with the OpenQASM 3 declarations a
 * variational circuit needs. Qubits are numbered across the quantum
 * registers in the order they are declared (`qreg a[2]; qreg b[3];` makes
 * b[0] qubit 2). An angle may name trainable weight k as `theta[k]` and input
 * feature j as `x[j]`, and must stay `c0 + c1*theta[k] + c2*x[j]`: a product
 * of two of them, a function of one, two different weights in one angle are
 * parse errors. Every gate of qelib1.inc and stdgates.inc is known;
 * `gate` definitions are expanded at each call; `barrier` is checked and
 * ignored; `creg`/`bit` and final `measure` are checked and ignored (libqml
 * computes expectation values), a gate on a measured qubit is
 * #QML_ERR_UNSUPPORTED, as are `reset`, `if` and opaque gates. Gate names
 * starting with `qml_`, and `ryy` and `iswap` defined with their usual
 * signatures, are read as libqml's own gates (what
 * qml_circuit_format_qasm() writes). docs/circuits.md lists what each gate
 * becomes.
 */
/* ======================================================================== */
/**@{*/

/**
 * @brief Read a circuit from OpenQASM 2.0 text (or OpenQASM 3 with
 * `qubit[n] q;`, `bit[n] c;`, `input array[angle, N] theta;`,
 * `input array[float[64], N] x;` and `c = measure q;`).
 * @param[out] out the new circuit, owned by the caller.
 * @param text the text, `length` bytes (need not be NUL-terminated; a NUL
 *        byte inside it is an error).
 * @param length at most 16 MiB.
 * @return #QML_OK; #QML_ERR_PARSE with "line L, column C: " and what was
 *         expected or what is wrong (unknown gate, wrong arity, an index
 *         outside its register, an undefined name, a gate calling itself or
 *         a later gate, an angle that is not c0 + c1 theta[k] + c2 x[j]);
 *         #QML_ERR_UNSUPPORTED (reset, if, opaque gates, mid-circuit
 *         measurement, an include other than qelib1.inc/stdgates.inc);
 *         #QML_ERR_LIMIT (more than 16 MiB, expressions nested deeper than
 *         128, gate calls deeper than 64, more than 2^22 statements executed,
 *         more qubits than a circuit can have); #QML_ERR_INVALID_ARGUMENT
 *         (NULL); #QML_ERR_OUT_OF_MEMORY. On failure `*out` is untouched.
 * @since 0.2.0
 */
QML_API int qml_circuit_parse_qasm(qml_circuit **out, const char *text, size_t length);

/**
 * @brief qml_circuit_parse_qasm() on the contents of a file; messages name
 * the file.
 * @return as qml_circuit_parse_qasm(), and #QML_ERR_IO if the file cannot be
 *         read, #QML_ERR_LIMIT if it is larger than 16 MiB.
 * @since 0.2.0
 */
QML_API int qml_circuit_load_qasm(qml_circuit **out, const char *path);

/**
 * @brief Write a circuit as OpenQASM 2.0 (`include "qelib1.inc"`, one
 * register `q`), weights as `theta[k]` and features as `x[j]`, numbers in
 * the shortest of %.15g, %.16g, %.17g that reads back to the same double,
 * with '.' whatever the locale. qml_circuit_parse_qasm() of the text gives
 * back the same gates, qubits, generators, angle constants, scales and
 * indices, bit for bit. Gates outside qelib1.inc are written as gate
 * definitions other readers can expand: `iswap`, `ryy`,
 * `qml_pauli_<letters>(t)` (a Pauli rotation), `qml_evolution_<k>(t)`
 * (a commuting Pauli evolution, one qml_pauli call per term),
 * `qml_unitary1_<k>(8 numbers)` (a 2x2 matrix; the body is the equivalent
 * u3 up to a global phase), and `opaque qml_unitary2(32 numbers)` (a 4x4
 * matrix; other readers see an opaque gate).
 * @param buffer where to write, NUL-terminated; may be NULL if capacity is 0.
 * @param[out] length the length of the text without the NUL (may be NULL).
 * @return #QML_OK, #QML_ERR_OUT_OF_RANGE if capacity <= length (nothing is
 *         written; call again with length + 1 bytes),
 *         #QML_ERR_INVALID_ARGUMENT, #QML_ERR_OUT_OF_MEMORY.
 * @since 0.2.0
 */
QML_API int qml_circuit_format_qasm(const qml_circuit *circuit, char *buffer, size_t capacity, size_t *length);

/**@}*/

/* ======================================================================== */
/** @name Circuit templates (ansatz.c)
 *
 * Templates append to an existing circuit; their weights are numbered from
 * the circuit's current qml_circuit_n_weights(), in the order the gates are
 * appended, with weight_scale 1 and constant 0. A template appends all of its
 * gates or none: on failure the circuit is left as it was. `layers` = 0
 * appends nothing and succeeds. docs/circuits.md lists each family's
 * generators and known Lie algebra.
 */
/* ======================================================================== */
/**@{*/

/** @brief Entangling gates of the hardware-efficient ansatz. Values pinned. @since 0.1.0 */
typedef enum qml_entangler {
    QML_ENTANGLER_CZ = 0,
    QML_ENTANGLER_CNOT = 1
} qml_entangler;

/** @brief Ladder boundary. Values pinned. @since 0.1.0 */
typedef enum qml_boundary {
    QML_BOUNDARY_OPEN = 0,
    QML_BOUNDARY_PERIODIC = 1
} qml_boundary;

/**
 * @brief The hardware-efficient ansatz: `layers` layers, each RY(w) on every
 * qubit, then RZ(w) on every qubit, then an entangler ladder on bonds
 * (q, q+1) (and (n-1, 0) if periodic and n > 2; CNOT control q, target q+1).
 * 2 n weights per layer: in layer l (from base b = n_weights on entry),
 * RY on qubit q reads w[b + 2nl + q] and RZ reads w[b + 2nl + n + q].
 * A 1-qubit circuit gets the rotations and no entanglers.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (NULL circuit, unknown
 *         entangler or boundary), #QML_ERR_OUT_OF_RANGE (weights past 2^24),
 *         #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_ansatz_hardware_efficient(qml_circuit *circuit, unsigned layers, qml_entangler entangler,
                                          qml_boundary boundary);

/**
 * @brief A layered circuit from generators: in each of `layers` layers,
 * `exp(-i w/2 G_k)` for k = 0..count-1 in order (one gate per generator, as
 * qml_circuit_add_pauli_rotation() adds it).
 * @param generators `count` >= 1 sums on the circuit's qubits, each with
 *        pairwise commuting terms; copied.
 * @param groups NULL for one weight per generator per layer, or `count`
 *        group labels: generators with equal labels share one weight in a
 *        layer. Weights are numbered by first appearance of each label, so
 *        labels need not be dense (e.g. {7, 3, 3} uses 2 weights per layer).
 * @param share_layers non-zero to reuse the same weights in every layer.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (NULL, count 0, a generator on
 *         other qubits or empty), #QML_ERR_UNSUPPORTED (a generator with
 *         anticommuting terms), #QML_ERR_OUT_OF_RANGE, #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_ansatz_layered(qml_circuit *circuit, const qml_pauli_sum *const *generators, size_t count,
                               const unsigned *groups, unsigned layers, int share_layers);

/** @brief Named circuit families (per layer; docs/circuits.md). Values pinned. @since 0.1.0 */
typedef enum qml_ansatz_family {
    QML_ANSATZ_HEA = 0,          /**< hardware-efficient, open CZ ladder: DLA su(2^n) */
    QML_ANSATZ_TFIM = 1,         /**< RZZ on open bonds, then RX on each qubit, local weights: DLA so(2n) */
    QML_ANSATZ_TFIM_GLOBAL = 2,  /**< exp under sum Z_i Z_{i+1} (periodic), then under sum X_i: one weight each */
    QML_ANSATZ_SN = 3,           /**< permutation-equivariant: sum_{i<j} Z_i Z_j, sum X_i, sum Z_i, one weight each */
    QML_ANSATZ_HEISENBERG = 4    /**< X_i X_{i+1} + Y_i Y_{i+1} + Z_i Z_{i+1} per open bond, local weights */
} qml_ansatz_family;

/**
 * @brief Append `layers` layers of a named family.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (NULL circuit, unknown family,
 *         a family other than HEA on a 1-qubit circuit),
 *         #QML_ERR_OUT_OF_RANGE, #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_ansatz_family_append(qml_circuit *circuit, qml_ansatz_family family, unsigned layers);

/**
 * @brief Angle encoding: for each qubit q, a rotation of `kind` (RX, RY or
 * RZ) by `scale * x[q mod n_features]`; feature j thus lands on qubits j,
 * j + n_features, ... No weights. qml_circuit_n_features() then counts the
 * features read: min(n_features, n_qubits) if the circuit read none before.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (NULL, kind, n_features = 0,
 *         non-finite scale), #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_ansatz_angle_encoding(qml_circuit *circuit, qml_gate_kind kind, unsigned n_features, double scale);

/**@}*/

/* ======================================================================== */
/** @name Statevector simulator (statevec.c)
 *
 * A state on n qubits holds 2^n complex amplitudes as interleaved (re, im)
 * doubles, 64-byte aligned; qubit k is bit k of the index. Gates are applied
 * by kernels specialised by class (pair, diagonal, Pauli, 4x4), each in one
 * sweep; see docs/simulator.md. Kernels use the state's worker threads
 * (qml_statevec_set_threads) from 2^18 amplitudes on, and every result is
 * bitwise the same for any thread count. Functions taking a `const` state may
 * be called concurrently on it; anything that modifies it may not.
 */
/* ======================================================================== */
/**@{*/

/** @brief 2^n complex amplitudes and the kernels that act on them. @since 0.1.0 */
typedef struct qml_statevec qml_statevec;

/**
 * @brief Create |0...0> on `n_qubits` qubits (16 * 2^n bytes).
 * @param[out] out the new state, owned by the caller.
 * @param n_qubits 1..40.
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT for a NULL `out` or 0 qubits;
 *         #QML_ERR_LIMIT (checked before allocating, so it fails fast) if
 *         n > 40, 16 * 2^n overflows size_t, or 16 * 2^n exceeds the
 *         smallest of physical memory, the process's cgroup memory limit and
 *         the address space left under RLIMIT_AS (the message gives both);
 *         #QML_ERR_OUT_OF_MEMORY if the allocation fails.
 * @since 0.1.0
 */
QML_API int qml_statevec_create(qml_statevec **out, unsigned n_qubits);
/**
 * @brief Deep copy (amplitudes and thread count).
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT, #QML_ERR_LIMIT, #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_statevec_copy(qml_statevec **out, const qml_statevec *state);
/** @brief Free (NULL is a no-op). @since 0.1.0 */
QML_API void qml_statevec_free(qml_statevec *state);
/** @brief Number of qubits (0 for NULL). @since 0.1.0 */
QML_API unsigned qml_statevec_n_qubits(const qml_statevec *state);
/**
 * @brief Threads the kernels of this state may use: 0 = all cores (of the
 * process's affinity mask where the platform tells it), default 1. The
 * workers come from the library's pool, started on first use and parked
 * between calls (docs/threading.md). Results are bitwise the same for any
 * count.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT for NULL.
 * @since 0.1.0
 */
QML_API int qml_statevec_set_threads(qml_statevec *state, unsigned n_threads);

/** @brief Set to |0...0>. @return #QML_OK, #QML_ERR_INVALID_ARGUMENT. @since 0.1.0 */
QML_API int qml_statevec_set_zero(qml_statevec *state);
/**
 * @brief Set to the basis state |index>.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT for NULL, #QML_ERR_OUT_OF_RANGE
 *         if index >= 2^n.
 * @since 0.1.0
 */
QML_API int qml_statevec_set_basis(qml_statevec *state, uint64_t index);
/**
 * @brief Set the amplitudes: `count` = 2^n complex numbers as 2 * count
 * interleaved doubles; the squared norm must be 1 within `tolerance`
 * (e.g. 1e-10). The state is unchanged on failure.
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT for NULL, a count other than
 *         2^n, a non-finite amplitude or a negative or non-finite tolerance;
 *         #QML_ERR_NOT_NORMALIZED if | |a|^2 - 1 | > tolerance.
 * @since 0.1.0
 */
QML_API int qml_statevec_set_amplitudes(qml_statevec *state, const double *amplitudes, size_t count, double tolerance);
/**
 * @brief Copy the 2^n amplitudes out (2 * count interleaved doubles).
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT for NULL or count != 2^n.
 * @since 0.1.0
 */
QML_API int qml_statevec_amplitudes(const qml_statevec *state, double *amplitudes, size_t count);
/**
 * @brief Read-only view of the 2 * 2^n interleaved amplitudes, owned by the
 * state and valid until it is freed (NULL for NULL).
 * @since 0.1.0
 */
QML_API const double *qml_statevec_data(const qml_statevec *state);
/**
 * @brief The 2^n basis probabilities |a_i|^2.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT for NULL or count != 2^n.
 * @since 0.1.0
 */
QML_API int qml_statevec_probabilities(const qml_statevec *state, double *probabilities, size_t count);

/**
 * @brief Apply the whole circuit for the given weights and features
 * (`n_weights` >= qml_circuit_n_weights, `n_features` >= qml_circuit_n_features;
 * arrays may be NULL when their count is 0).
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT for NULL, a circuit on another
 *         number of qubits, or a non-finite weight or feature the circuit
 *         reads (nothing is applied then); #QML_ERR_OUT_OF_RANGE for too few
 *         weights or features.
 * @since 0.1.0
 */
QML_API int qml_statevec_run(qml_statevec *state, const qml_circuit *circuit, const double *weights, size_t n_weights,
                             const double *features, size_t n_features);

/**
 * @brief Apply only gate `index` of a circuit.
 * @return as qml_statevec_run(), and #QML_ERR_OUT_OF_RANGE for index >= n_gates.
 * @since 0.1.0
 */
QML_API int qml_statevec_apply_gate(qml_statevec *state, const qml_circuit *circuit, size_t index,
                                    const double *weights, size_t n_weights, const double *features, size_t n_features);

/**
 * @brief <psi| O |psi> for a Pauli sum O on at most the state's qubits, in
 * one sweep per distinct X-mask (terms that differ only in Z are evaluated
 * together) and without copying the state.
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT for NULL, an observable on more
 *         qubits than the state, or a non-finite coefficient;
 *         #QML_ERR_OUT_OF_MEMORY (the terms' sort index).
 * @since 0.1.0
 */
QML_API int qml_statevec_expectation(const qml_statevec *state, const qml_pauli_sum *observable, double *value);

/**
 * @brief <a|b> = sum_i conj(a_i) b_i as (re, im).
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT for NULL or different qubit counts.
 * @since 0.1.0
 */
QML_API int qml_statevec_inner(const qml_statevec *a, const qml_statevec *b, double *re, double *im);

/**
 * @brief The largest shot count any call accepts: 2^40 (about 10^12).
 *
 * Every entry point that takes shots (qml_statevec_sample(),
 * qml_statevec_estimate(), the `shots` fields of #qml_gradient_options,
 * #qml_landscape_options and the training options) refuses a larger count
 * with #QML_ERR_INVALID_ARGUMENT instead of running for days: 2^40 shots
 * already take hours per expectation, and a C caller's -1 converted to an
 * unsigned count (2^64 - 1) is a mistake, not a request.
 * @since 0.2.0
 */
#define QML_SHOTS_MAX (UINT64_C(1) << 40)

/**
 * @brief Draw `shots` computational-basis outcomes (indices) with the
 * library PRNG, stream 0 of `seed`: same seed, same outcomes.
 * @param shots at most #QML_SHOTS_MAX.
 * @param outcomes `shots` entries (may be NULL if shots is 0).
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (also for shots above
 *         #QML_SHOTS_MAX), #QML_ERR_OUT_OF_MEMORY
 *         (8 * 2^n bytes of cumulative probabilities).
 * @since 0.1.0
 */
QML_API int qml_statevec_sample(const qml_statevec *state, uint64_t seed, size_t shots, uint64_t *outcomes);

/**
 * @brief A shot-based estimate of \<O\>: the terms are grouped greedily into
 * qubit-wise commuting sets; each group is measured with `shots` shots in its
 * basis (stream g + 1 of `seed` for group g), each term estimated as the mean
 * of its parity +-1; identity terms are added exactly.
 * @param shots per group, at least 2 and at most #QML_SHOTS_MAX.
 * @param stderr_out set to the estimate's standard error, from the groups'
 *        sample variances (may be NULL).
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT, #QML_ERR_LIMIT,
 *         #QML_ERR_OUT_OF_MEMORY (a copy of the state and 8 * 2^n bytes).
 * @since 0.1.0
 */
QML_API int qml_statevec_estimate(const qml_statevec *state, const qml_pauli_sum *observable, size_t shots,
                                  uint64_t seed, double *estimate, double *stderr_out);

/**@}*/

/* ---- gradients (gradient.c) ---- */
/* ======================================================================== */
/** @name Gradients (gradient.c)
 *
 * The loss is l(w, x) = <psi(w, x)| O |psi(w, x)> with |psi(w, x)> =
 * U(w, x) |psi_0> for a circuit U, a Pauli-sum observable O and an initial
 * state |psi_0> (|0...0> unless given). Its gradient with respect to every
 * weight (and, on request, every feature) is computed by adjoint
 * differentiation, the parameter-shift rule, or central finite differences.
 */
/* ======================================================================== */
/**@{*/

/** @brief How a gradient is computed. Values pinned. @since 0.1.0 */
typedef enum qml_gradient_method {
    QML_GRADIENT_ADJOINT = 0,            /**< one forward and one backward sweep (Jones & Gacon 2020) */
    QML_GRADIENT_PARAMETER_SHIFT = 1,    /**< two-term shifts per Pauli factor; exact or shot-based */
    QML_GRADIENT_FINITE_DIFFERENCE = 2   /**< central differences with `step` */
} qml_gradient_method;

/** @brief Whether a batch returns one gradient per row or their sum. Values pinned. @since 0.1.0 */
typedef enum qml_batch_reduction {
    QML_BATCH_PER_ROW = 0,
    QML_BATCH_SUM = 1
} qml_batch_reduction;

/**
 * @brief Which simulator computes values and gradients. Values pinned.
 *
 * The statevector runs any circuit up to ~30 qubits. The algebraic
 * backends run circuits of hundreds of qubits when their structure allows,
 * exactly (to rounding): g-sim evolves the expectation values of the Pauli
 * strings that the readout reaches under the circuit's generators (the
 * adjoint representation of the dynamical Lie algebra, restricted to the
 * readout's module); the symmetric backend evolves a state in the n + 1
 * Dicke states of a permutation-invariant circuit. docs/gsim.md states
 * what each needs, what it costs, and why such circuits are classically
 * simulable. A backend that does not apply is refused with
 * #QML_ERR_NOT_APPLICABLE and a message that says why.
 * @since 0.2.0
 */
typedef enum qml_backend {
    QML_BACKEND_STATEVECTOR = 0, /**< the statevector (the 0.1 behaviour; the default) */
    QML_BACKEND_AUTO = 1,        /**< the cheapest that applies: symmetric, then g-sim, then the statevector */
    QML_BACKEND_GSIM = 2,        /**< g-sim: every generator term a Pauli string, a polynomial module */
    QML_BACKEND_SYMMETRIC = 3    /**< the Dicke basis of a permutation-invariant circuit, dimension n + 1 */
} qml_backend;

/**
 * @brief The backend's name: "statevector", "auto", "gsim", "symmetric"
 * (static storage), or NULL for an unknown value.
 * @since 0.2.0
 */
QML_API const char *qml_backend_name(qml_backend backend);

/**
 * @brief Parse a backend name (as qml_backend_name() writes it).
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (NULL, unknown name).
 * @since 0.2.0
 */
QML_API int qml_backend_from_name(const char *name, qml_backend *backend);

/**
 * @brief Decide which backend a computation of <psi|O|psi> and its
 * gradient would use, without computing it: what #QML_BACKEND_AUTO
 * picks, or whether an explicit backend applies.
 * @param circuit, observable the circuit and readout O (same qubit count).
 * @param initial the initial state, or NULL for |0...0>.
 * @param requested the backend asked for.
 * @param[out] chosen the backend that would run (may be NULL).
 * @param[out] dimension the dimension it works in: 2^n (as a double) for the
 *        statevector, the number of Pauli strings for g-sim, n + 1 for the
 *        symmetric backend (may be NULL).
 * @return #QML_OK; #QML_ERR_NOT_APPLICABLE (an explicit backend that does
 *         not apply; the message says why); #QML_ERR_INVALID_ARGUMENT
 *         (NULL, qubit counts differ, unknown backend);
 *         #QML_ERR_OUT_OF_MEMORY.
 * @since 0.2.0
 */
QML_API int qml_backend_select(const qml_circuit *circuit, const qml_pauli_sum *observable,
                               const qml_statevec *initial, qml_backend requested, qml_backend *chosen,
                               double *dimension);

/**
 * @brief Gradient options; initialise with #QML_GRADIENT_OPTIONS_INIT.
 *
 * Adjoint differentiation costs a few forward passes whatever the number of
 * parameters; parameter shift about one forward pass per Pauli factor of
 * the differentiated gates (two shifted circuits per factor, each run from a
 * cached prefix); finite differences 2 (weights + features) + 1 forward
 * passes. docs/gradients.md derives the formulas.
 * @since 0.1.0
 */
typedef struct qml_gradient_options {
    size_t size;                 /**< sizeof(qml_gradient_options) */
    qml_gradient_method method;  /**< default adjoint */
    double step;                 /**< finite-difference step, > 0 and finite (default 1e-6) */
    uint64_t shots;              /**< parameter shift only: 0 = exact; else shots per shifted expectation
                                      (per measurement basis), at most #QML_SHOTS_MAX; the value stays exact */
    uint64_t seed;               /**< seed of the shot noise (a batch's row r uses seed + r) */
    int feature_gradients;       /**< non-zero: also differentiate with respect to the features
                                      (qml_gradient only) */
    unsigned n_threads;          /**< batch: worker threads over rows; single call: threads of the
                                      statevector kernels. 0 = all cores (default 1). Results are
                                      bitwise the same for any count. */
    qml_backend backend;         /**< the simulator (default #QML_BACKEND_STATEVECTOR); the algebraic
                                      backends compute adjoint gradients only (@since 0.2.0) */
    qml_statevec *scratch[2];    /**< NULL, NULL (default): the call allocates its statevectors. Or two
                                      distinct states of the circuit's qubit count, neither the initial
                                      state, that qml_gradient works in instead (their amplitudes are
                                      overwritten; finite differences use the first only): repeated calls
                                      then allocate and fault in no statevector memory. Statevector
                                      backend only; qml_gradient_batch ignores it. (@since 0.2.0) */
} qml_gradient_options;

/** @brief Default gradient options. */
#define QML_GRADIENT_OPTIONS_INIT \
    { sizeof(qml_gradient_options), QML_GRADIENT_ADJOINT, 1e-6, 0, 0, 0, 1, QML_BACKEND_STATEVECTOR, { NULL, NULL } }

/**
 * @brief The loss and its gradient for one input.
 *
 * Computes l = <psi| O |psi> with |psi> = U(w, x)|psi_0> and
 * dl/dw_k = sum over the gates reading weight k of weight_scale * dl/dtheta
 * (and likewise for features with feature_scale). The value is the same
 * bits for every method. On the statevector, gates that commute with the
 * observable as seen from after them (outside its backward light cone) are
 * not run, and trailing permutation gates are folded into a diagonal
 * observable (docs/gradients.md): their parameters' derivatives are exactly
 * 0, and the value equals qml_statevec_run() + qml_statevec_expectation()
 * up to rounding. Sampled parameter shift (options->shots > 0) runs every
 * gate.
 * @param circuit the circuit (not modified; may be used concurrently).
 * @param observable O, on the circuit's qubits.
 * @param initial the initial state, or NULL for |0...0> (not modified).
 * @param weights n_weights >= qml_circuit_n_weights() finite values (NULL if the circuit reads none).
 * @param features n_features >= qml_circuit_n_features() finite values (NULL if it reads none).
 * @param options NULL for the defaults.
 * @param value set to l(w, x) (may be NULL).
 * @param weight_gradient n_weights entries (may be NULL); entries the circuit does not read are 0.
 * @param feature_gradient n_features entries, filled if
 *        options->feature_gradients is set (may be NULL otherwise).
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT for a NULL circuit or
 *         observable, a qubit-count mismatch between circuit, observable and
 *         initial state, NULL or non-finite weights or features, a bad
 *         option (method, step, shots without parameter shift or above
 *         #QML_SHOTS_MAX, size, scratch states: one NULL, the same state
 *         twice, the initial state, or another qubit count), or no
 *         output at all; #QML_ERR_OUT_OF_RANGE if n_weights or n_features is
 *         less than the circuit reads; #QML_ERR_LIMIT, before anything is
 *         allocated, when the statevectors the call holds (two, one for
 *         finite differences; none with options->scratch) exceed the smallest of physical memory, the
 *         process's cgroup memory limit and the address space left under
 *         RLIMIT_AS (the message gives the numbers); #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_gradient(const qml_circuit *circuit, const qml_pauli_sum *observable, const qml_statevec *initial,
                         const double *weights, size_t n_weights, const double *features, size_t n_features,
                         const qml_gradient_options *options, double *value, double *weight_gradient,
                         double *feature_gradient);

/**
 * @brief The loss and weight gradient for each of `n_rows` inputs (row r's
 * features at rows + r * n_features), in parallel over rows with one
 * workspace per thread. Row r's results are bitwise those of qml_gradient
 * for that row (with seed options->seed + r), and the sum adds rows in row
 * order, so results are bitwise the same for any thread count.
 * @param n_features the row stride, >= qml_circuit_n_features().
 * @param options NULL for the defaults; feature_gradients must be 0.
 * @param values n_rows losses (may be NULL).
 * @param weight_gradients n_rows * n_weights (per row, row-major) or
 *        n_weights (sum over rows) entries, by `reduction` (may be NULL,
 *        but not together with values).
 * @return as qml_gradient (#QML_ERR_LIMIT counts every worker's
 *         statevectors); also #QML_ERR_INVALID_ARGUMENT for an unknown
 *         reduction or NULL rows; a failure in one row is reported with its
 *         row number.
 * @since 0.1.0
 */
QML_API int qml_gradient_batch(const qml_circuit *circuit, const qml_pauli_sum *observable,
                               const qml_statevec *initial, const double *weights, size_t n_weights,
                               const double *rows, size_t n_rows, size_t n_features,
                               const qml_gradient_options *options, qml_batch_reduction reduction,
                               double *values, double *weight_gradients);

/**@}*/

/* ---- dynamical Lie algebras (lie.c) ---- */

/* ======================================================================== */
/** @name Dynamical Lie algebras (lie.c)
 *
 * The dynamical Lie algebra (DLA) of generators {G_k} is
 * g = span_R <i G_1, ..., i G_K>_Lie. libqml works with the Hermitian form
 * i g: a basis element is a Hermitian #qml_pauli_sum, the bracket is
 * -i[A, B], and the basis is orthonormal in the normalised Hilbert-Schmidt
 * inner product <A, B> = Tr(AB) / 2^n. docs/lie.md states the algorithms,
 * their costs and the normalisations of the purities.
 */
/* ======================================================================== */
/**@{*/

/** @brief A closed dynamical Lie algebra and its structure. @since 0.1.0 */
typedef struct qml_lie_algebra qml_lie_algebra;

/**
 * @brief Options of the closure. Initialise with #QML_LIE_OPTIONS_INIT.
 * @since 0.1.0
 */
typedef struct qml_lie_options {
    size_t size;              /**< sizeof(qml_lie_options) */
    size_t max_dim;           /**< stop once the algebra would exceed this dimension (0: no limit) */
    double tolerance;         /**< accept a candidate if its residual norm > tolerance * its norm (default 1e-9) */
    unsigned n_threads;       /**< threads (0 = all cores, default 1); results never depend on it */
    qml_progress_fn progress; /**< called now and then; non-zero cancels (may be NULL) */
    void *progress_user;      /**< passed to progress */
    /** Decide the dimension of Pauli-sum generators exactly (arithmetic modulo
     *  the prime 2^61 - 1 on their rational coefficients; each coefficient is
     *  read as the simplest fraction that rounds to it, so text "0.1" is 1/10)
     *  and let the floating-point closure follow those decisions: 1 (default)
     *  or 0 (the tolerance alone decides). The tolerance then only matters for
     *  the conditioning figures. @since 0.2.0 */
    int exact;
    /** Work budget, in multiply-adds, of the iterative structure analysis
     *  that general (Pauli-sum) algebras above the dense analysis' size take;
     *  0 (default) is 4e9, a few seconds. Growing a simple ideal of
     *  dimension m in an algebra of dimension d costs about 4 m^2 d; at the
     *  budget the structure is reported #QML_LIE_STRUCTURE_ABOVE_CAP with a
     *  message estimating the work the rest would need. Must be >= 0 (not
     *  NaN). @since 0.2.0 */
    double structure_max_work;
} qml_lie_options;

/** @brief Default options: no dimension limit, tolerance 1e-9, one thread, no callback, exact decisions, the
 *  default structure budget. */
#define QML_LIE_OPTIONS_INIT {sizeof(qml_lie_options), 0, 1e-9, 1, NULL, NULL, 1, 0.0}

/**
 * @brief Close generators into their dynamical Lie algebra and analyse its
 * structure (centre, simple ideals, ranks).
 *
 * When every generator is a single Pauli string the closure is exact bit
 * arithmetic (no floating point); otherwise it is a re-orthogonalised
 * Gram-Schmidt closure with a relative acceptance tolerance. `options.progress`
 * sees the stage "closure" now and then and "structure" once, before the
 * structure analysis (cancelling there also returns #QML_ERR_CANCELLED).
 * `options.n_threads` splits the general closure's candidates and the dense
 * structure analysis over threads; the results are bitwise the same for
 * every thread count.
 * @param[out] out the algebra, owned by the caller (free with qml_lie_algebra_free()).
 * @param generators `count` >= 1 Hermitian Pauli sums on the same number of
 *        qubits (zero sums are allowed and ignored).
 * @param options NULL for the defaults.
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL, count 0, mixed qubit
 *         counts, bad options); #QML_ERR_OUT_OF_MEMORY; #QML_ERR_CANCELLED
 *         (`*out` unset); #QML_ERR_LIMIT when the dimension would exceed
 *         `max_dim`: then `*out` IS set to the partial algebra found so far
 *         (the span of what was accepted, not closed, with no structure
 *         analysis), and the caller must free it.
 * @since 0.1.0
 */
QML_API int qml_lie_algebra_create(qml_lie_algebra **out, const qml_pauli_sum *const *generators, size_t count,
                                   const qml_lie_options *options);

/**
 * @brief The DLA of a circuit: the generators are the effective generators
 * of its trainable weights (as qml_circuit_weight_generator(): shared
 * weights contribute the scaled sum of their gates' generators), each gate's
 * generator first moved to the start of the circuit through the gates
 * before it that read no weight (V^dag G V), which is what generates the
 * circuit's unitaries when fixed entanglers sit between rotations. A
 * rotation that reads no weight is moved through at its angle with every
 * input feature at 0 (its constant; e.g. `rx(pi/2)` in a file): the algebra
 * is that of the circuit at x = 0, where the library's diagnostics hold the
 * features.
 * @return as qml_lie_algebra_create(); #QML_ERR_INVALID_ARGUMENT if the
 *         circuit has no trainable weight; #QML_ERR_NOT_APPLICABLE if a
 *         non-Clifford fixed gate (T, Toffoli, a non-Clifford matrix)
 *         precedes a parametrised gate, or a fixed gate does on more than
 *         64 qubits; #QML_ERR_LIMIT if moving a generator through constant
 *         rotations gives more than 2^20 Pauli terms.
 * @since 0.1.0
 */
QML_API int qml_lie_algebra_from_circuit(qml_lie_algebra **out, const qml_circuit *circuit,
                                         const qml_lie_options *options);

/** @brief Free (NULL is a no-op). @since 0.1.0 */
QML_API void qml_lie_algebra_free(qml_lie_algebra *algebra);
/** @brief Number of qubits (0 for NULL). @since 0.1.0 */
QML_API unsigned qml_lie_algebra_n_qubits(const qml_lie_algebra *algebra);
/** @brief Dimension of the algebra (0 for NULL). @since 0.1.0 */
QML_API size_t qml_lie_algebra_dim(const qml_lie_algebra *algebra);

/**
 * @brief Basis element `index` (< dim) as a new Hermitian Pauli sum; the
 * basis is orthonormal in Tr(AB) / 2^n. For algebras spanned by Pauli
 * strings every element is one string with coefficient 1.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT, #QML_ERR_OUT_OF_RANGE, #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_lie_algebra_basis_element(const qml_lie_algebra *algebra, size_t index, qml_pauli_sum **out);

/**
 * @brief Whether the structure (centre, ideals, ranks) was computed: 1, or
 * 0 for a partial algebra (#QML_ERR_LIMIT), a general (non-Pauli-string)
 * algebra larger than the dense analysis handles, or one not resolved into
 * checked simple ideals; qml_lie_algebra_structure_state() says which.
 * @since 0.1.0
 */
QML_API int qml_lie_algebra_structure_known(const qml_lie_algebra *algebra);

/** @brief 1 if the algebra contains all of su(2^n), else 0 (also for NULL). @since 0.1.0 */
QML_API int qml_lie_algebra_is_full(const qml_lie_algebra *algebra);
/** @brief Dimension of the centre (0 if unknown or NULL). @since 0.1.0 */
QML_API size_t qml_lie_algebra_center_dim(const qml_lie_algebra *algebra);

/**
 * @brief Centre basis element `index` (< center_dim) as a new Pauli sum,
 * orthonormal in Tr(AB) / 2^n.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (NULL), #QML_ERR_OUT_OF_RANGE
 *         (index >= center_dim, also when the structure is unknown),
 *         #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_lie_algebra_center_element(const qml_lie_algebra *algebra, size_t index, qml_pauli_sum **out);

/** @brief Number of simple ideals (0 if unknown or NULL). @since 0.1.0 */
QML_API size_t qml_lie_algebra_n_ideals(const qml_lie_algebra *algebra);

/**
 * @brief Describe simple ideal `index` (< n_ideals); ideals are ordered by
 * decreasing dimension, then by their first basis coordinate.
 * @param[out] dim its dimension (may be NULL).
 * @param[out] rank its rank, 0 if not computed (may be NULL).
 * @param[out] names the compact simple algebras it can be, from (dim, rank):
 *        e.g. "su(4) = so(6)", "so(7) or sp(3)" when dimension and rank
 *        cannot tell; owned by the algebra (may be NULL).
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (NULL algebra),
 *         #QML_ERR_OUT_OF_RANGE (index >= n_ideals).
 * @since 0.1.0
 */
QML_API int qml_lie_algebra_ideal(const qml_lie_algebra *algebra, size_t index, size_t *dim, size_t *rank,
                                  const char **names);

/**
 * @brief Element `index` (< the ideal's dim) of an orthonormal basis (in
 * Tr(AB) / 2^n) of simple ideal `ideal`, as a new Pauli sum.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT, #QML_ERR_OUT_OF_RANGE, #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_lie_algebra_ideal_element(const qml_lie_algebra *algebra, size_t ideal, size_t index,
                                          qml_pauli_sum **out);

/**
 * @brief The g-purity of a Hermitian operator H, P_g(H) = sum_a Tr(B_a H)^2
 * over a basis {B_a} of i g orthonormal in Tr(AB) (not normalised by 2^n;
 * Ragone et al., Nat. Commun. 15, 7172 (2024)), total and per component.
 * @param[out] total P_g(H) (may be NULL).
 * @param[out] per_component n_ideals + 1 values: the simple ideals in order,
 *        then the centre (may be NULL if capacity is 0).
 * @param[out] count set to n_ideals + 1 (0 if the structure is unknown),
 *        even when capacity is too small (may be NULL).
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (qubit counts differ),
 *         #QML_ERR_OUT_OF_RANGE (capacity < count), #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_lie_algebra_purity(const qml_lie_algebra *algebra, const qml_pauli_sum *operator_, double *total,
                                   double *per_component, size_t capacity, size_t *count);

/**
 * @brief The g-purity of the pure state rho = |psi><psi|, with
 * Tr(B_a rho) = <psi|B_a|psi>; as qml_lie_algebra_purity(). `state` may be
 * NULL for |0...0> (so that no statevector need be allocated).
 * @since 0.1.0
 */
QML_API int qml_lie_algebra_state_purity(const qml_lie_algebra *algebra, const qml_statevec *state, double *total,
                                         double *per_component, size_t capacity, size_t *count);

/** @brief Which hypothesis of the variance formula holds. Values pinned. @since 0.1.0 */
typedef enum qml_lie_hypothesis {
    QML_LIE_HYPOTHESIS_OBSERVABLE = 0, /**< O lies in i g (up to a multiple of the identity) */
    QML_LIE_HYPOTHESIS_STATE = 1,      /**< rho lies in i g (up to the identity), O does not */
    QML_LIE_HYPOTHESIS_NONE = 2        /**< neither: the formula does not apply (exact module average instead) */
} qml_lie_hypothesis;

/** @brief A static description of a hypothesis value ("unknown" otherwise). @since 0.1.0 */
QML_API const char *qml_lie_hypothesis_string(qml_lie_hypothesis hypothesis);

/**
 * @brief The predicted loss and gradient statistics of a deep circuit whose
 * unitary is Haar-random on the group e^g. Set `size` with
 * #QML_LIE_PREDICTION_INIT; fields are only ever appended.
 * @since 0.1.0
 */
typedef struct qml_lie_prediction {
    size_t size;                          /**< sizeof(qml_lie_prediction) */
    qml_lie_hypothesis hypothesis;        /**< which hypothesis holds */
    double loss_mean;                     /**< E[l]: the centre and identity parts, Tr(rho O_fixed) */
    double loss_variance;                 /**< Var[l] = sum_j P_j(rho) P_j(O) / dim g_j */
    double first_gate_gradient_variance;  /**< Var[dl/dtheta_1], rho -> sigma = -(i/2)[G, rho]; NaN if not applicable */
    double middle_gate_gradient_variance; /**< Fontana: 1/4 sum_j P_j(rho) P_j(O) kappa_j(G) / dim(g_j)^2 */
    char message[256];                    /**< what holds, or why not */
} qml_lie_prediction;

/** @brief Initialiser for #qml_lie_prediction. */
#define QML_LIE_PREDICTION_INIT {sizeof(qml_lie_prediction), QML_LIE_HYPOTHESIS_NONE, 0.0, 0.0, 0.0, 0.0, {0}}

/**
 * @brief Predict Var[l] for l = Tr[U rho U^dag O], U Haar on e^g, and the
 * gradient variances of the first gate and of a gate in the middle of the
 * circuit (Ragone et al., Nat. Commun. 15, 7172 (2024); Fontana et al.,
 * Nat. Commun. 15, 7171 (2024)).
 * @param state rho = |psi><psi|, or NULL for |0...0>.
 * @param observable O, a Hermitian Pauli sum.
 * @param gate_generator G of the differentiated gate, an element of i g; NULL
 *        for the algebra's first generator.
 * When neither O nor rho lies in i g (hypothesis #QML_LIE_HYPOTHESIS_NONE)
 * the formula does not hold; the loss mean and variance are then computed
 * exactly by averaging over e^g on the g-module M generated by O (the span
 * of O and its nested brackets with the generators), through the commutant
 * of g on M, for dim M <= 24; the gradient fields are NaN, and the message
 * says so.
 * @param[in,out] result `size` set by the caller; filled on success and on
 *        #QML_ERR_NOT_APPLICABLE (hypothesis NONE, message says why, the
 *        variances NaN).
 * @return #QML_OK; #QML_ERR_NOT_APPLICABLE when neither O nor rho lies in
 *         i g and the g-module of O exceeds dimension 24; #QML_ERR_LIMIT if
 *         the structure is unknown; #QML_ERR_INVALID_ARGUMENT;
 *         #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_lie_algebra_predict_variance(const qml_lie_algebra *algebra, const qml_statevec *state,
                                             const qml_pauli_sum *observable, const qml_pauli_sum *gate_generator,
                                             qml_lie_prediction *result);

/**
 * @brief How the dimension of an algebra was decided, and how close the
 * floating-point closure came to deciding otherwise. Initialise with
 * #QML_LIE_CONDITIONING_INIT.
 *
 * The relative residual of a candidate (a generator or a bracket
 * -i[G_k, B_a]) is the norm of what is left after projecting out the basis
 * found so far, divided by the candidate's norm. When the smallest accepted
 * and the largest rejected residual lie within a factor 1e3 of each other, a
 * floating-point closure's dimension depends on its tolerance.
 * @since 0.2.0
 */
typedef struct qml_lie_conditioning {
    size_t size;              /**< sizeof(qml_lie_conditioning) */
    int exact;                /**< 1: every candidate was decided in exact arithmetic (Pauli strings: bit
                                   arithmetic; sums: modulo 2^61 - 1, see #qml_lie_options.exact) */
    int certified;            /**< 1: exact, and the floating-point basis confirms it (every rejected
                                   candidate's residual is below 1e-6); the dimension is then a proven lower
                                   bound that the floating-point closure finds closed */
    double smallest_accepted; /**< smallest relative residual of an accepted candidate (NaN: none, or strings) */
    double largest_rejected;  /**< largest relative residual of a rejected candidate (NaN: none, or strings) */
    int tolerance_sensitive;  /**< 1 when smallest_accepted < 1e3 * largest_rejected: with a tolerance
                                   alone, the dimension would depend on it */
} qml_lie_conditioning;

/** @brief Initialiser for #qml_lie_conditioning. @since 0.2.0 */
#define QML_LIE_CONDITIONING_INIT {sizeof(qml_lie_conditioning), 0, 0, 0.0, 0.0, 0}

/**
 * @brief The conditioning figures of an algebra's closure (also of a
 * partial algebra).
 * @param algebra the algebra.
 * @param[in,out] out `out->size` set by the caller (#QML_LIE_CONDITIONING_INIT);
 *        the fields that fit in it are written.
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL, or `out->size` smaller
 *         than the first field after `size`).
 * @since 0.2.0
 */
QML_API int qml_lie_algebra_conditioning(const qml_lie_algebra *algebra, qml_lie_conditioning *out);

/** @brief Whether, or why not, an algebra's structure is known. Values pinned. @since 0.2.0 */
typedef enum qml_lie_structure_state {
    QML_LIE_STRUCTURE_KNOWN = 0,      /**< centre and simple ideals computed, each ideal checked invariant */
    QML_LIE_STRUCTURE_PARTIAL = 1,    /**< a partial algebra (#QML_ERR_LIMIT): not closed, not analysed */
    QML_LIE_STRUCTURE_ABOVE_CAP = 2,  /**< a general (Pauli-sum) algebra whose dimension is above the cap
                                           of the dense analysis (see qml_lie_algebra_structure_state())
                                           and that is not spanned by Pauli strings (those are analysed
                                           at any dimension: docs/lie.md), nor a direct sum of the
                                           algebras of commuting clusters of generators that are each
                                           below the cap or so spanned */
    QML_LIE_STRUCTURE_UNRESOLVED = 3, /**< analysed, but not resolved into simple ideals that pass the checks
                                           (reported unknown rather than wrong) */
    QML_LIE_STRUCTURE_SPLIT_CAP = 4,  /**< a Pauli-string component that its symmetries would split into
                                           simple ideals, but whose sparse ideals would pass the entry cap
                                           (2^27 entries; the `cap` output of
                                           qml_lie_algebra_structure_state() gives it, and
                                           qml_lie_algebra_structure_message() the entries needed)
                                           @since 0.2.0 */
    QML_LIE_STRUCTURE_INCONSISTENT = 5 /**< single-Pauli-string generators whose enumerated structure does
                                           not match their classification (the two methods disagree: a
                                           bug; qml_lie_algebra_structure_message() gives both answers);
                                           neither is reported @since 0.2.0 */
} qml_lie_structure_state;

/**
 * @brief Whether the structure of an algebra was computed, and if not, why:
 * the reason behind qml_lie_algebra_structure_known() returning 0.
 * @param algebra the algebra.
 * @param[out] state the state.
 * @param[out] cap the dimension cap of the dense structure analysis of
 *        general (Pauli-sum) algebras, whatever the state (may be NULL);
 *        docs/lie.md gives its time and memory.
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL algebra or state).
 * @since 0.2.0
 */
QML_API int qml_lie_algebra_structure_state(const qml_lie_algebra *algebra, qml_lie_structure_state *state,
                                            size_t *cap);

/**
 * @brief Why a simple ideal is known to be simple: flags, any combination
 * (qml_lie_algebra_ideal_certificate()). Values pinned.
 * @since 0.2.0
 */
typedef enum qml_lie_certificate {
    QML_LIE_CERTIFICATE_NONE = 0,           /**< not certified: the name says "(not checked to be simple)" */
    QML_LIE_CERTIFICATE_SHAPE = 1,          /**< its dimension and rank are those of a simple algebra and of
                                                 no sum of two or more (decided up to 2^28 operations) */
    QML_LIE_CERTIFICATE_CLASSIFICATION = 2, /**< single-Pauli-string generators: within its independent part
                                                 of the generators, the ideals match, one to one in dimension
                                                 and rank (so(2r+1) against sp(r) where both sides know it;
                                                 the centre in dimension), the summands that the
                                                 classification of the generators decides by theorem without
                                                 enumeration (qml_pauli_dla_classify(); docs/lie.md); the
                                                 ideals of parts it does not decide do not get it */
    QML_LIE_CERTIFICATE_FULL = 4,           /**< all 4^n - 1 Pauli strings: su(2^n) */
    QML_LIE_CERTIFICATE_DECOMPOSITION = 8,  /**< the dense decomposition: an eigenspace of -ad(x)^2 for generic
                                                 x in g, checked invariant under every generator, of a simple
                                                 algebra's dimension and rank */
    QML_LIE_CERTIFICATE_REPRESENTATION = 16 /**< Pauli-sum generators: g acts on the span of m computational
                                                 basis states, which every generator maps into itself, as all
                                                 of su(m) (shown from the spectrum of one element and the
                                                 entries of others in its eigenbasis), and dim g exceeds
                                                 m^2 - 1 by at most what the centre can hold: the ideal is
                                                 su(m), the rest is the centre (docs/lie.md) @since 0.2.0 */
} qml_lie_certificate;

/**
 * @brief Which certificates say that simple ideal `index` is simple.
 * @param algebra the algebra.
 * @param index the ideal (< qml_lie_algebra_n_ideals()).
 * @param[out] certificates a combination of #qml_lie_certificate flags
 *        (#QML_LIE_CERTIFICATE_NONE if none).
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL algebra or certificates);
 *         #QML_ERR_OUT_OF_RANGE (index >= n_ideals, also when the structure
 *         is unknown).
 * @since 0.2.0
 */
QML_API int qml_lie_algebra_ideal_certificate(const qml_lie_algebra *algebra, size_t index,
                                              qml_lie_certificate *certificates);

/**
 * @brief A sentence on the structure when qml_lie_algebra_structure_state()
 * is #QML_LIE_STRUCTURE_SPLIT_CAP (the entries the split needs, and the
 * cap) or #QML_LIE_STRUCTURE_INCONSISTENT (the enumerated and the classified
 * centre and ideals), or when it is #QML_LIE_STRUCTURE_KNOWN and the
 * classification certifies the ideals of some independent parts of
 * single-string generators but not of others (how many of each, and the
 * dimensions of the ideals it does not certify); "" otherwise and for NULL.
 * Owned by the algebra.
 * @since 0.2.0
 */
QML_API const char *qml_lie_algebra_structure_message(const qml_lie_algebra *algebra);

/**
 * @brief What the DLA of single-Pauli-string generators is, without a basis:
 * filled by qml_pauli_dla_classify().
 * @since 0.2.0
 */
typedef struct qml_dla_summary {
    size_t size;            /**< sizeof(qml_dla_summary), set by the caller */
    double dimension;       /**< dim g (exact while below 2^53; rounded above; infinite past a double's range) */
    double log2_dimension;  /**< log2 dim g, for algebras too large for a double's integers */
    size_t centre_dim;      /**< dimension of the centre */
    size_t n_components;    /**< number of simple ideals */
    int is_full;            /**< 1 when g contains su(2^n) (decided by dimension) */
    char name[256];         /**< e.g. "su(2^20)", "so(40)", "su(4) + su(4) + u(1)"; "so(2r+1)|sp(r)" where
                                 dimension and rank do not tell them apart; "2 x su(2)" for equal ideals */
} qml_dla_summary;

/**
 * @brief Classify the DLA of generators that are single Pauli strings.
 *
 * Without enumerating the algebra where a theorem decides (milliseconds at
 * n = 1000): the generators are split into qubit clusters (disjoint
 * supports: a direct sum); a cluster with two different single-qubit
 * generators on every qubit whose other strings join all its qubits (each
 * string meeting exactly two already-joined blocks joins them) is
 * su(2^m); a cluster of linearly independent strings splits into the
 * components of its anticommutation graph, each an isolated u(1) or, when
 * the graph is the line graph of a tree with k vertices, the free-fermion
 * so(k + 1) (Aguilar et al., arXiv:2408.00081); a component whose graph is
 * a cycle of k strings is so(k) or so(k) + so(k) (the periodic TFIM ring:
 * so(2n) + so(2n)); any other component is decided by the quadratic form
 * of its strings over F_2 (copies of so(2^m), sp(2^(m-1)) or su(2^m)) when
 * a small enumerated seed proves that the algebra fills it. Any other part
 * is closed exactly (up to 2^22 elements, and at most 2^25 / count) and its
 * structure read off. See docs/lie.md.
 * @param generators `count` >= 1 single Pauli strings (one term each, non-zero
 *        coefficient) on the same number of qubits.
 * @param[in,out] summary `summary->size` set by the caller; the fields that fit are written.
 * @return #QML_OK; #QML_ERR_NOT_APPLICABLE (with a message) when a generator
 *         is not a single Pauli string; #QML_ERR_LIMIT ("not decided") when a
 *         part falls under no criterion and its algebra passes the enumeration
 *         cap; #QML_ERR_INVALID_ARGUMENT (NULL, count 0, mixed qubit counts,
 *         small `size`, non-finite coefficient); #QML_ERR_OUT_OF_MEMORY.
 * @since 0.2.0
 */
QML_API int qml_pauli_dla_classify(const qml_pauli_sum *const *generators, size_t count, qml_dla_summary *summary);

/**
 * @brief Options of qml_pauli_dla_classify_with() and
 * qml_pauli_dla_predict_variance(). Initialise with
 * #QML_PAULI_DLA_OPTIONS_INIT; fields are only ever appended.
 * @since 0.2.0
 */
typedef struct qml_pauli_dla_options {
    size_t size;     /**< sizeof(qml_pauli_dla_options) */
    int no_closure;  /**< 1: a part that no criterion decides is not closed by enumeration; the call
                          returns #QML_ERR_LIMIT ("not decided without enumeration") instead. 0 (default):
                          such a part is closed exactly, as qml_pauli_dla_classify() does */
} qml_pauli_dla_options;

/** @brief Initialiser for #qml_pauli_dla_options. @since 0.2.0 */
#define QML_PAULI_DLA_OPTIONS_INIT {sizeof(qml_pauli_dla_options), 0}

/**
 * @brief qml_pauli_dla_classify() with options: with `no_closure` set,
 * nothing is enumerated, so a caller that will close the algebra anyway
 * (to get a basis) does not close it twice.
 * @param generators `count` >= 1 single Pauli strings on the same number of qubits.
 * @param options NULL for the defaults (then this is qml_pauli_dla_classify()).
 * @param[in,out] summary `summary->size` set by the caller; the fields that fit are written.
 * @return as qml_pauli_dla_classify(); #QML_ERR_LIMIT also when `no_closure`
 *         is set and a part falls under no criterion; #QML_ERR_INVALID_ARGUMENT
 *         for bad options (small `size`, unknown non-zero trailing bytes).
 * @since 0.2.0
 */
QML_API int qml_pauli_dla_classify_with(const qml_pauli_sum *const *generators, size_t count,
                                        const qml_pauli_dla_options *options, qml_dla_summary *summary);

/**
 * @brief Predict Var[l] for l = <0...0| U^dag O U |0...0>, U Haar on e^g,
 * g the DLA of single-Pauli-string generators, from their classification,
 * without a basis (any n: milliseconds at n = 1000).
 *
 * The formula of Ragone et al. (Nat. Commun. 15, 7172 (2024)), Var =
 * sum_j P_j(rho) P_j(O) / dim g_j, with the g_j-purities counted: the
 * strings of g are orthonormal, so P_j(|0><0|) counts the strings of g_j
 * without X or Y letters and P_j(O) sums the squared coefficients of O's
 * terms that lie in g_j; for the free-fermion so(N) parts (trees and
 * cycles of the frustration graph) both are counted from vertex potentials
 * in O(N log N), and copies split by a central string (the periodic ring)
 * by the characters of that string; for the components decided by the
 * quadratic form (so(2^m), sp(2^m), su(2^m) and their copies) the strings
 * without X or Y letters are counted on the subspace where the form is
 * linear (docs/lie.md). A part closed by enumeration contributes its
 * purities from its basis. The middle-gate gradient variance of Fontana et
 * al. (Nat. Commun. 15, 7171 (2024)) is given for the gate generated by
 * `gate_generator`; the first-gate one (sigma = -(i/2)[G, |0><0|] in
 * place of the state; its part holds -(i/2)[G, rho_j], counted from the
 * Z-type strings of the gate's part that anticommute with G) for every
 * part counted (su(2^m) clusters, free fermions and their copies,
 * quadratic-form components, enumerated parts); NaN, with the reason in
 * the message, when G is not in g. When neither O nor |0><0|
 * lies in i g (+ identity) the formula does not apply: NaN,
 * #QML_ERR_NOT_APPLICABLE, the reason in the message (as for a part whose
 * purities could not be computed).
 * @param generators `count` >= 1 single Pauli strings on the same number of qubits.
 * @param observable O, a Hermitian Pauli sum on the same qubits.
 * @param gate_generator G of the differentiated gate, a single Pauli string
 *        on the same qubits (a G outside g gives 0); NULL for `generators[0]`.
 * @param options NULL for the defaults.
 * @param[in,out] result `size` set by the caller (#QML_LIE_PREDICTION_INIT);
 *        filled on success and on #QML_ERR_NOT_APPLICABLE.
 * @return #QML_OK; #QML_ERR_NOT_APPLICABLE (a generator is not a single
 *         string, or the prediction is not computed: the message says why);
 *         #QML_ERR_LIMIT as qml_pauli_dla_classify_with(); #QML_ERR_INVALID_ARGUMENT
 *         (NULL, count 0, qubit counts differ, non-finite coefficient, a
 *         gate generator that is not one string, bad sizes); #QML_ERR_OUT_OF_MEMORY.
 * @since 0.2.0
 */
QML_API int qml_pauli_dla_predict_variance(const qml_pauli_sum *const *generators, size_t count,
                                           const qml_pauli_sum *observable, const qml_pauli_sum *gate_generator,
                                           const qml_pauli_dla_options *options, qml_lie_prediction *result);

/**@}*/

/* ---- barren-plateau diagnostics (landscape.c) ---- */
/* ======================================================================== */
/** @name Barren-plateau diagnostics (landscape.c)
 *
 * A barren plateau is measured, not asserted: draw the weights uniformly in
 * [0, 2 pi), compute the loss l(w) = <psi(w)| O |psi(w)> and its gradient,
 * and estimate the variances over S draws with standard errors; repeat over
 * qubit counts and depths (a scan); fit how the variance falls with n; put
 * the Lie-algebraic prediction beside it. See docs/landscape.md.
 *
 * Reproducibility: sample s draws its weights (in weight order, each
 * 2 pi u with u uniform in [0, 1)) from stream s of the seed, and the
 * per-sample results are reduced in sample order, so every result depends
 * only on (inputs, seed, S), bitwise, never on the thread count.
 */
/* ======================================================================== */
/**@{*/

/** @brief Which weights' gradients are analysed. Values pinned. @since 0.1.0 */
typedef enum qml_param_selection {
    QML_PARAMS_FIRST = 0,   /**< weight 0 */
    QML_PARAMS_MIDDLE = 1,  /**< weight n_weights / 2 (integer division) */
    QML_PARAMS_ALL = 2      /**< every weight; summaries average over them */
} qml_param_selection;

/**
 * @brief Options of the gradient statistics (and of each row of a scan);
 * initialise with #QML_LANDSCAPE_OPTIONS_INIT.
 * @since 0.1.0
 */
typedef struct qml_landscape_options {
    size_t size;                 /**< sizeof(qml_landscape_options) */
    size_t samples;              /**< S >= 2 weight draws (default 200) */
    uint64_t seed;               /**< sample s uses PRNG stream s of this seed (default 0) */
    qml_param_selection params;  /**< default #QML_PARAMS_FIRST */
    unsigned n_threads;          /**< worker threads over samples, 0 = all cores (default 1) */
    uint64_t shots;              /**< 0 = exact adjoint gradients; > 0 = parameter shift with this
                                      many shots per expectation (shot noise seeded per sample),
                                      at most #QML_SHOTS_MAX */
    qml_progress_fn progress;    /**< called as samples complete, on the calling thread (may be NULL) */
    void *progress_user;         /**< passed to `progress` */
    qml_backend backend;         /**< the simulator of every sample (default #QML_BACKEND_STATEVECTOR);
                                      shots need the statevector (@since 0.2.0) */
} qml_landscape_options;

/** @brief Default landscape options. */
#define QML_LANDSCAPE_OPTIONS_INIT \
    { sizeof(qml_landscape_options), 200, 0, QML_PARAMS_FIRST, 1, 0, NULL, NULL, QML_BACKEND_STATEVECTOR }

/**
 * @brief The statistics of the loss and of its gradient over random weights:
 * a result handle, read with the qml_gradient_stats_* getters.
 * @since 0.1.0
 */
typedef struct qml_gradient_stats qml_gradient_stats;

/**
 * @brief Draw S weight vectors uniformly from [0, 2 pi)^n_weights, compute
 * l(w) and dl/dw for each, and keep the statistics.
 *
 * Exact mode (options->shots = 0) uses adjoint differentiation: one forward
 * and one backward sweep give every weight per sample. Shot mode uses the
 * parameter-shift rule with `shots` shots per expectation (every weight is
 * differentiated, whatever the selection, so it costs two estimates per
 * Pauli factor per weight); its variance is the exact one plus the shot
 * noise, and approaches it as shots grow.
 *
 * Estimators, for the n = S values x_s of one quantity (a selected weight's
 * derivative, or the loss): the mean, the unbiased sample variance
 * s^2 = sum (x_s - mean)^2 / (n - 1), SE(mean) = s / sqrt(n), and
 * SE(s^2) = sqrt((m4 - (n - 3)/(n - 1) s^4) / n) with m4 the fourth central
 * sample moment (the plug-in form of Var(s^2) = mu4/n - (n-3) sigma^4/(n(n-1)),
 * e.g. Mood, Graybill & Boes, Introduction to the Theory of Statistics, 1974,
 * sec. VI.4); negative values are clamped to 0.
 *
 * @param out set to the new statistics (owned by the caller: qml_gradient_stats_free()).
 * @param circuit a circuit with at least one weight.
 * @param observable a Pauli sum on the circuit's qubits.
 * @param initial the initial state, or NULL for |0...0> (not modified).
 * @param features the fixed input features, n_features >= qml_circuit_n_features
 *        of them; NULL with n_features = 0 means all features are 0.
 * @param n_features number of entries at `features`.
 * @param options NULL for the defaults.
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL out/circuit/observable,
 *         samples < 2, shots above #QML_SHOTS_MAX, unknown params, a circuit with no weight, a qubit-count
 *         mismatch, non-finite features, an unknown options size);
 *         #QML_ERR_OUT_OF_RANGE (too few features);
 *         #QML_ERR_CANCELLED (the progress callback returned non-zero);
 *         #QML_ERR_LIMIT when every worker's two statevectors together do
 *         not fit (as qml_gradient() counts memory);
 *         #QML_ERR_OUT_OF_MEMORY; any error of qml_gradient().
 *         Nothing is allocated on failure.
 * @since 0.1.0
 */
QML_API int qml_gradient_stats_create(qml_gradient_stats **out, const qml_circuit *circuit,
                                      const qml_pauli_sum *observable, const qml_statevec *initial,
                                      const double *features, size_t n_features,
                                      const qml_landscape_options *options);

/** @brief Free (NULL is a no-op). @since 0.1.0 */
QML_API void qml_gradient_stats_free(qml_gradient_stats *stats);
/** @brief The number of samples S (0 for NULL). @since 0.1.0 */
QML_API size_t qml_gradient_stats_n_samples(const qml_gradient_stats *stats);
/** @brief The circuit's number of weights (0 for NULL). @since 0.1.0 */
QML_API size_t qml_gradient_stats_n_weights(const qml_gradient_stats *stats);
/** @brief The selection the statistics were made with (#QML_PARAMS_FIRST for NULL). @since 0.1.0 */
QML_API qml_param_selection qml_gradient_stats_params(const qml_gradient_stats *stats);

/**
 * @brief The statistics of dl/dw_weight; any out-pointer may be NULL.
 * @param mean, mean_stderr the sample mean and its standard error.
 * @param variance, variance_stderr s^2 and SE(s^2) (see qml_gradient_stats_create()).
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL stats);
 *         #QML_ERR_OUT_OF_RANGE (weight >= n_weights);
 *         #QML_ERR_NOT_APPLICABLE (the weight was not selected).
 * @since 0.1.0
 */
QML_API int qml_gradient_stats_weight(const qml_gradient_stats *stats, size_t weight, double *mean,
                                      double *mean_stderr, double *variance, double *variance_stderr);

/**
 * @brief The statistics of the loss l itself; any out-pointer may be NULL.
 * @return #QML_OK or #QML_ERR_INVALID_ARGUMENT (NULL stats).
 * @since 0.1.0
 */
QML_API int qml_gradient_stats_loss(const qml_gradient_stats *stats, double *mean, double *mean_stderr,
                                    double *variance, double *variance_stderr);

/**
 * @brief The gradient variance a scan reports: the mean over the K selected
 * weights of s_k^2, with its standard error
 * SE^2 = [ (1/n) sum_s y_s^2 - V^2 + 2/(n-1) (1/K^2) sum_k s_k^4 ] / n,
 * y_s = (1/K) sum_k (x_sk - mean_k)^2, V the reported mean variance. For
 * K = 1 this is exactly SE(s^2) above; for K > 1 it neglects the
 * O(1/n^2) covariance terms between different weights.
 * @return #QML_OK or #QML_ERR_INVALID_ARGUMENT (NULL stats).
 * @since 0.1.0
 */
QML_API int qml_gradient_stats_summary(const qml_gradient_stats *stats, double *variance, double *variance_stderr);

/** @brief What a scan measures. Values pinned. @since 0.1.0 */
typedef enum qml_bp_quantity {
    QML_BP_GRADIENT = 0,  /**< Var[dl/dw] of the selected weights (averaged if several) */
    QML_BP_LOSS = 1       /**< Var[l] */
} qml_bp_quantity;

/** @brief How a scan chooses the depth L for n qubits. Values pinned. @since 0.1.0 */
typedef enum qml_bp_depth {
    QML_BP_DEPTH_FIXED = 0,      /**< L = layers for every n */
    QML_BP_DEPTH_PER_QUBIT = 1,  /**< L = layers * n */
    QML_BP_DEPTH_LIST = 2        /**< one row per L in depths[] for every n */
} qml_bp_depth;

/** @brief The initial state of a scan. Values pinned. @since 0.1.0 */
typedef enum qml_bp_initial {
    QML_BP_INITIAL_DEFAULT = 0,  /**< |0...0>, except the Neel state for #QML_ANSATZ_HEISENBERG */
    QML_BP_INITIAL_ZERO = 1,     /**< |0...0> */
    QML_BP_INITIAL_NEEL = 2      /**< |0101...>: qubit k is k mod 2 */
} qml_bp_initial;

/**
 * @brief Scan options; initialise with #QML_BP_SCAN_OPTIONS_INIT.
 * @since 0.1.0
 */
typedef struct qml_bp_scan_options {
    size_t size;                  /**< sizeof(qml_bp_scan_options) */
    unsigned n_min;               /**< first qubit count (default 2) */
    unsigned n_max;               /**< last qubit count (default 6) */
    qml_bp_depth depth;           /**< default #QML_BP_DEPTH_PER_QUBIT */
    unsigned layers;              /**< L (FIXED) or the factor k of L = k n (PER_QUBIT); default 10 */
    const unsigned *depths;       /**< LIST: the depths, each >= 1 */
    size_t n_depths;              /**< LIST: number of depths (>= 1) */
    const char *observable;       /**< the observable as text for every n (e.g. "Z0 Z1"), or NULL
                                       for the family's default (docs/landscape.md) */
    qml_bp_quantity quantity;     /**< default #QML_BP_GRADIENT */
    qml_bp_initial initial;       /**< default #QML_BP_INITIAL_DEFAULT */
    uint64_t max_dim;             /**< compute the DLA (and the prediction) up to this dimension;
                                       0 = do not (default) */
    int keep_algebras;            /**< 1: keep each row's DLA in the scan, for
                                       qml_bp_scan_row_algebra() (its structure, ideals and
                                       certificates without closing it again); 0 (default):
                                       free it once the prediction is made. @since 0.2.0 */
} qml_bp_scan_options;

/** @brief Default scan options. */
#define QML_BP_SCAN_OPTIONS_INIT \
    { sizeof(qml_bp_scan_options), 2, 6, QML_BP_DEPTH_PER_QUBIT, 10, NULL, 0, NULL, \
      QML_BP_GRADIENT, QML_BP_INITIAL_DEFAULT, 0, 0 }

/**
 * @brief One row of a scan. Set `size = sizeof(qml_bp_row)` before reading
 * a row: the library writes only the fields that fit.
 * @since 0.1.0
 */
typedef struct qml_bp_row {
    size_t size;            /**< sizeof(qml_bp_row), set by the caller */
    unsigned n_qubits;      /**< n */
    unsigned layers;        /**< L */
    size_t samples;         /**< S; 0 for a row that #QML_BACKEND_AUTO found no simulator for (@since 0.2.0) */
    size_t n_params;        /**< the circuit's number of weights */
    uint64_t dim_g;         /**< dimension of the DLA; 0 if not computed or above max_dim */
    int dim_g_capped;       /**< 1 if the closure stopped at max_dim (the dimension exceeds it) */
    double var_measured;    /**< the measured variance (#qml_bp_quantity); exactly 0 when at the
                                 rounding level, (1e-12 sum_t |c_t|)^2 for O = sum_t c_t P_t; NaN
                                 when the row was not measured (samples 0) */
    double var_stderr;      /**< its standard error */
    double var_predicted;   /**< the Lie-algebraic prediction; NaN if not computed or not applicable */
    double seconds;         /**< wall-clock time of the row */
} qml_bp_row;

/** @brief An empty row ready to be read into. @since 0.1.0 */
#define QML_BP_ROW_INIT { sizeof(qml_bp_row), 0, 0, 0, 0, 0, 0, 0.0, 0.0, 0.0, 0.0 }

/** @brief A fitted decay model. Values pinned. @since 0.1.0 */
typedef enum qml_bp_model {
    QML_BP_EXPONENTIAL = 0,  /**< Var = A e^{-rate n} */
    QML_BP_POWER = 1         /**< Var = A n^{-rate} */
} qml_bp_model;

/**
 * @brief Both fits of a decay and the better model. Set `size =
 * sizeof(qml_bp_fit)` before the call.
 *
 * Each model is a weighted least-squares line y = a + b x with y = ln Var,
 * x = n (exponential) or ln n (power), weights 1 / sigma_y^2 where
 * sigma_y = SE / Var (the delta method). rate = -b; its standard error is
 * the regression's, sqrt(S / (S Sxx - Sx^2)) with S = sum w, Sx = sum w x,
 * Sxx = sum w x^2, multiplied by sqrt(chi^2 / (m - 2)) when that exceeds 1
 * (the Birge ratio: the scatter is larger than the error bars claim). The
 * better model has the smaller weighted chi^2 = sum w (y - a - b x)^2 (both
 * have two parameters, so this is also the smaller AIC); ties go to the
 * exponential.
 * @since 0.1.0
 */
typedef struct qml_bp_fit {
    size_t size;                 /**< sizeof(qml_bp_fit), set by the caller */
    qml_bp_model model;          /**< the better model */
    double rate;                 /**< the better model's rate */
    double rate_stderr;          /**< its standard error */
    double exponential_rate;     /**< -d ln Var / dn */
    double exponential_stderr;   /**< its standard error */
    double exponential_chi2;     /**< weighted chi^2 of the exponential fit */
    double power_rate;           /**< -d ln Var / d ln n */
    double power_stderr;         /**< its standard error */
    double power_chi2;           /**< weighted chi^2 of the power-law fit */
    size_t n_points;             /**< points used */
} qml_bp_fit;

/** @brief An empty fit ready to be filled. @since 0.1.0 */
#define QML_BP_FIT_INIT { sizeof(qml_bp_fit), QML_BP_EXPONENTIAL, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0 }

/**
 * @brief Fit ln Var against n and against ln n (see #qml_bp_fit).
 * @param n_qubits, variance, variance_stderr `count` points each; variances
 *        and standard errors must be finite and > 0, n_qubits >= 1.
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL pointers, a bad value,
 *         fit->size too small); #QML_ERR_NOT_APPLICABLE (fewer than three
 *         points or fewer than two distinct n).
 * @since 0.1.0
 */
QML_API int qml_bp_fit_data(const double *n_qubits, const double *variance, const double *variance_stderr,
                            size_t count, qml_bp_fit *fit);

/** @brief The rows of a scan and their fit: a result handle. @since 0.1.0 */
typedef struct qml_bp_scan qml_bp_scan;

/**
 * @brief Scan a named family over n in [n_min, n_max] and the depths the
 * options choose. For every row a circuit is built with
 * qml_ansatz_family_append(), the observable parsed for n qubits, and the
 * statistics drawn with `stats` (row r uses the seed stats->seed + r).
 * The progress callback sees the samples of all rows (stage "bp scan").
 *
 * With max_dim > 0 each row also closes the dynamical Lie algebra of the
 * circuit's weight generators, transported to the front of the circuit
 * through its fixed Clifford gates (so the hardware-efficient CZ ladder
 * counts: su(2^n)), with the observable moved to the same frame, and puts
 * the deep-circuit prediction beside the measurement (Ragone et al. and
 * Fontana et al., Nat. Commun. 15, 7172 and 7171 (2024)): Var[l] for
 * #QML_BP_LOSS; for #QML_BP_GRADIENT the first-gate formula with
 * #QML_PARAMS_FIRST when weight 0 is read only by the first parametrised
 * gate, the middle-gate formula with #QML_PARAMS_MIDDLE when that weight is
 * read by one gate, and NaN for #QML_PARAMS_ALL or when the hypotheses of
 * the formula (O or rho in i g) do not hold. A closure that exceeds
 * max_dim sets dim_g_capped; a non-Clifford fixed gate leaves dim_g 0.
 * Past the cap, generators that are single Pauli strings (after the move
 * to the front) still get the prediction, from their classification
 * (qml_pauli_dla_predict_variance(); |0...0> only; the first-gate formula
 * where the first gate's generator fixes |0...0>, then it is 0)
 * (@since 0.2.0). With #QML_BACKEND_AUTO, a row that no simulator can
 * run (#QML_ERR_NOT_APPLICABLE or #QML_ERR_LIMIT from
 * qml_gradient_stats_create()) is kept unmeasured: samples 0, var_measured
 * and var_stderr NaN, the prediction as above (@since 0.2.0; pieces and
 * parts still return the error).
 * @param out set to the new scan (owned by the caller: qml_bp_scan_free()).
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (bad options, n_min > n_max,
 *         a family that needs more qubits); #QML_ERR_PARSE (the
 *         observable); #QML_ERR_CANCELLED; #QML_ERR_OUT_OF_MEMORY; any error
 *         of qml_gradient_stats_create().
 * @since 0.1.0
 */
QML_API int qml_bp_scan_family(qml_bp_scan **out, qml_ansatz_family family, const qml_bp_scan_options *scan,
                               const qml_landscape_options *stats);

/**
 * @brief Scan a layered circuit of generators (qml_ansatz_layered(), one
 * weight per generator per layer, or shared within `groups`) over the
 * depths the options choose. The qubit count is the generators' own:
 * n_min and n_max must be 0 or equal to it. The observable defaults to
 * "Z0" on the generators' qubits.
 * @return as qml_bp_scan_family(); #QML_ERR_INVALID_ARGUMENT also for a
 *         NULL or mismatched generator.
 * @since 0.1.0
 */
QML_API int qml_bp_scan_generators(qml_bp_scan **out, const qml_pauli_sum *const *generators, size_t count,
                                   const unsigned *groups, const qml_bp_scan_options *scan,
                                   const qml_landscape_options *stats);

/** @brief Free (NULL is a no-op). @since 0.1.0 */
QML_API void qml_bp_scan_free(qml_bp_scan *scan);
/** @brief Number of rows (0 for NULL). @since 0.1.0 */
QML_API size_t qml_bp_scan_n_rows(const qml_bp_scan *scan);

/**
 * @brief Read row `index`.
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL, row->size too small to
 *         hold `size`); #QML_ERR_OUT_OF_RANGE (index >= n_rows).
 * @since 0.1.0
 */
QML_API int qml_bp_scan_row(const qml_bp_scan *scan, size_t index, qml_bp_row *row);

/**
 * @brief The DLA that row `index` computed for its prediction, kept when the
 * scan ran with `keep_algebras = 1`: the same closure and structure, so a
 * caller that reports the ideals does not close the algebra a second time.
 * @param[out] algebra set to the algebra, owned by the scan (valid until
 *        qml_bp_scan_free(); do not free it), or to NULL on any error.
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL scan or `algebra`);
 *         #QML_ERR_OUT_OF_RANGE (index >= n_rows); #QML_ERR_NOT_APPLICABLE
 *         when the row holds no algebra: the scan did not keep them, the
 *         row computed none (`max_dim` 0, the dimension above `max_dim`, a
 *         non-Clifford fixed gate before a rotation), or the scan is a merge,
 *         a deserialised scan or a piece that did not compute the row.
 * @since 0.2.0
 */
QML_API int qml_bp_scan_row_algebra(const qml_bp_scan *scan, size_t index, const qml_lie_algebra **algebra);

/**
 * @brief Fit the scan's variances against n (qml_bp_fit_data()). With a
 * depth list, only the rows of the last depth of the list enter the fit.
 * Rows whose variance or standard error is not > 0 are left out.
 * @return as qml_bp_fit_data().
 * @since 0.1.0
 */
QML_API int qml_bp_scan_fit(const qml_bp_scan *scan, qml_bp_fit *fit);

/**@}*/

/* ======================================================================== */
/** @name Mergeable partial results (samples.c)
 *
 * A landscape estimate is a sum over independent samples: sample s draws
 * its weights from stream s of the seed. A process may compute any
 * contiguous range [first, first + count) of the S samples of an estimate
 * (a "part"), send it elsewhere as bytes, and merge parts. The merge keeps
 * every per-sample value and the statistics are always reduced in sample
 * order, so any split into parts, merged in any order, gives bitwise the
 * result of one process computing all S samples (docs/scaling.md). This is
 * what an MPI or batch-queue program builds on; libqml itself never links
 * MPI.
 *
 * Serialised parts are for the same library version on machines with the
 * same byte order and `double` format; the reader checks a magic number, the
 * format version, the byte order and every length, and refuses anything
 * else with #QML_ERR_PARSE.
 */
/* ======================================================================== */
/**@{*/

/**
 * @brief The per-sample losses and selected derivatives of samples
 * [first, first + count) of a gradient-statistics estimate of S samples.
 * @since 0.2.0
 */
typedef struct qml_gradient_samples qml_gradient_samples;

/**
 * @brief Compute samples [first, first + count) of the estimate that
 * qml_gradient_stats_create() makes with the same arguments (S =
 * options->samples): the same weights, the same shot noise, the same values.
 * @param first, count a range inside [0, S), count >= 1.
 * @return as qml_gradient_stats_create(); #QML_ERR_OUT_OF_RANGE if the range
 *         leaves [0, S) or is empty.
 * @since 0.2.0
 */
QML_API int qml_gradient_samples_create(qml_gradient_samples **out, const qml_circuit *circuit,
                                        const qml_pauli_sum *observable, const qml_statevec *initial,
                                        const double *features, size_t n_features,
                                        const qml_landscape_options *options, size_t first, size_t count);

/** @brief Free (NULL is a no-op). @since 0.2.0 */
QML_API void qml_gradient_samples_free(qml_gradient_samples *samples);

/**
 * @brief The range a part holds.
 * @param[out] first, count, total the range and S (any may be NULL).
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (NULL samples).
 * @since 0.2.0
 */
QML_API int qml_gradient_samples_range(const qml_gradient_samples *samples, size_t *first, size_t *count,
                                       size_t *total);

/**
 * @brief Merge parts of one estimate into one part. The parts may come in
 * any order; sorted by `first` they must be adjacent (no gap, no overlap) and
 * agree on everything else: S, seed, shots, selection, weight count and the
 * fingerprint of the circuit, observable, initial state and features they
 * were computed from.
 * @param parts `n_parts` >= 1 parts (not modified).
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL, n_parts 0, parts of
 *         different estimates: the message says which field differs, a gap or
 *         an overlap: the message gives the ranges); #QML_ERR_OUT_OF_MEMORY.
 * @since 0.2.0
 */
QML_API int qml_gradient_samples_merge(qml_gradient_samples **out, const qml_gradient_samples *const *parts,
                                       size_t n_parts);

/**
 * @brief The statistics of a complete set of samples (first = 0, count = S):
 * bitwise what qml_gradient_stats_create() returns for the same arguments.
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL); #QML_ERR_NOT_APPLICABLE
 *         (the part does not hold all S samples); #QML_ERR_OUT_OF_MEMORY.
 * @since 0.2.0
 */
QML_API int qml_gradient_stats_from_samples(qml_gradient_stats **out, const qml_gradient_samples *samples);

/**
 * @brief Write a part as bytes (to send to another process).
 * @param buffer `capacity` bytes, or NULL with capacity 0 to ask for the length.
 * @param[out] length the number of bytes the part needs.
 * @return #QML_OK; #QML_ERR_OUT_OF_RANGE if capacity < length (nothing is
 *         written); #QML_ERR_INVALID_ARGUMENT.
 * @since 0.2.0
 */
QML_API int qml_gradient_samples_serialize(const qml_gradient_samples *samples, void *buffer, size_t capacity,
                                           size_t *length);

/**
 * @brief Read a part written by qml_gradient_samples_serialize().
 * @return #QML_OK; #QML_ERR_PARSE (a wrong magic number, version, byte
 *         order or length, or inconsistent fields: the message says which);
 *         #QML_ERR_INVALID_ARGUMENT (NULL); #QML_ERR_OUT_OF_MEMORY.
 * @since 0.2.0
 */
QML_API int qml_gradient_samples_deserialize(qml_gradient_samples **out, const void *buffer, size_t length);

/**
 * @brief Compute samples [first, first + n_samples) of every row of a scan (the
 * parts of qml_bp_scan_family() with the same arguments). Rows of a partial
 * scan report NaN variances until a merge completes them; the DLA dimension
 * and the prediction are computed only by the part that holds sample 0.
 * @return as qml_bp_scan_family(); #QML_ERR_OUT_OF_RANGE for a range outside
 *         [0, stats->samples) or an empty one.
 * @since 0.2.0
 */
QML_API int qml_bp_scan_family_part(qml_bp_scan **out, qml_ansatz_family family, const qml_bp_scan_options *scan,
                                    const qml_landscape_options *stats, size_t first, size_t n_samples);

/**
 * @brief As qml_bp_scan_family_part() for qml_bp_scan_generators().
 * @since 0.2.0
 */
QML_API int qml_bp_scan_generators_part(qml_bp_scan **out, const qml_pauli_sum *const *generators, size_t count,
                                        const unsigned *groups, const qml_bp_scan_options *scan,
                                        const qml_landscape_options *stats, size_t first, size_t n_samples);

/**
 * @brief A piece of a scan: samples [first, first + n_samples) of one row
 * only (rows numbered from 0 as qml_bp_scan_family() lists them: n = n_min
 * .. n_max, and for a depth list each depth of an n in turn); the other rows
 * of the piece hold no samples (NaN variances, 0 samples). A program that
 * deals (row, sample range) pieces instead of one sample range of every row
 * can balance rows of very different cost and use more processes than a
 * row has samples; the pieces merge with qml_bp_scan_merge(). The DLA and
 * the prediction of the row are computed only by the piece holding its
 * sample 0.
 * @param row a row of the scan (< its row count).
 * @return as qml_bp_scan_family_part(); #QML_ERR_OUT_OF_RANGE for a row past
 *         the last or a sample range outside [0, stats->samples) or empty.
 * @since 0.2.0
 */
QML_API int qml_bp_scan_family_piece(qml_bp_scan **out, qml_ansatz_family family, const qml_bp_scan_options *scan,
                                     const qml_landscape_options *stats, size_t row, size_t first, size_t n_samples);

/**
 * @brief As qml_bp_scan_family_piece() for qml_bp_scan_generators().
 * @since 0.2.0
 */
QML_API int qml_bp_scan_generators_piece(qml_bp_scan **out, const qml_pauli_sum *const *generators, size_t count,
                                         const unsigned *groups, const qml_bp_scan_options *scan,
                                         const qml_landscape_options *stats, size_t row, size_t first,
                                         size_t n_samples);

/**
 * @brief Merge parts of one scan (made by the _part functions with the same
 * arguments, any sample ranges that tile [0, S) or a contiguous piece of it).
 * Pieces (the _piece functions) and merged scans merge too: row by row, the
 * inputs holding samples of a row must hold adjacent ranges; a row that no
 * input holds stays without samples.
 * When the parts cover all S samples, the result equals bitwise the scan one
 * process computes (rows, fit), except the `seconds` of each row, which is the
 * sum of the parts' times.
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL, no parts, parts of
 *         different scans, a gap or an overlap); #QML_ERR_OUT_OF_MEMORY.
 * @since 0.2.0
 */
QML_API int qml_bp_scan_merge(qml_bp_scan **out, const qml_bp_scan *const *parts, size_t n_parts);

/**
 * @brief Write a scan (partial or complete) as bytes; as
 * qml_gradient_samples_serialize().
 * @since 0.2.0
 */
QML_API int qml_bp_scan_serialize(const qml_bp_scan *scan, void *buffer, size_t capacity, size_t *length);

/**
 * @brief Read a scan written by qml_bp_scan_serialize(); as
 * qml_gradient_samples_deserialize().
 * @since 0.2.0
 */
QML_API int qml_bp_scan_deserialize(qml_bp_scan **out, const void *buffer, size_t length);

/**@}*/

/* ---- datasets, models, optimisers, training ---- */

/* ======================================================================== */
/** @name Datasets (dataset.c)
 *
 * A dataset is a table for binary classification: `n_rows` rows of
 * `n_features` double features, stored row-major (feature j of row i is
 * `features[i * n_features + j]`), and one label per row, 0 or 1.
 * Every random draw (generators, splits) comes from the library PRNG with a
 * documented (seed, stream) pair: the same arguments give the same bits.
 * docs/datasets.md gives the definitions and the rules.
 */
/* ======================================================================== */
/**@{*/

/** @brief A labelled table of real features for binary classification. @since 0.1.0 */
typedef struct qml_dataset qml_dataset;

/**
 * @brief Synthetic two-dimensional datasets. Values are pinned.
 * @since 0.1.0
 */
typedef enum qml_dataset_kind {
    QML_DATASET_MOONS = 0,     /**< two interleaved half circles (qml_dataset_moons()) */
    QML_DATASET_CIRCLES = 1,   /**< two concentric circles (qml_dataset_circles()) */
    QML_DATASET_XOR = 2        /**< the four quadrants of a square (qml_dataset_xor()) */
} qml_dataset_kind;

/**
 * @brief The name of a dataset kind: "moons", "circles", "xor" (static
 * storage), or NULL for an unknown kind.
 * @since 0.1.0
 */
QML_API const char *qml_dataset_kind_name(qml_dataset_kind kind);

/**
 * @brief The kind named `name` (as qml_dataset_kind_name() spells it).
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (NULL or an unknown name).
 * @since 0.1.0
 */
QML_API int qml_dataset_kind_from_name(const char *name, qml_dataset_kind *kind);

/**
 * @brief Create a dataset from arrays (both are copied).
 * @param[out] out the new dataset, owned by the caller.
 * @param n_rows number of rows, >= 1.
 * @param n_features number of features per row, >= 1.
 * @param features n_rows * n_features finite doubles, row-major.
 * @param labels n_rows labels, each 0 or 1.
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT for a NULL pointer, a zero
 *         size, a non-finite feature or a label other than 0/1 (the message
 *         names the row); #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_dataset_create(qml_dataset **out, size_t n_rows, size_t n_features, const double *features,
                               const int *labels);

/**
 * @brief Deep copy.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT, #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_dataset_copy(qml_dataset **out, const qml_dataset *dataset);

/** @brief Free a dataset (NULL is a no-op). @since 0.1.0 */
QML_API void qml_dataset_free(qml_dataset *dataset);

/** @brief Number of rows (0 for NULL). @since 0.1.0 */
QML_API size_t qml_dataset_n_rows(const qml_dataset *dataset);

/** @brief Number of features per row (0 for NULL). @since 0.1.0 */
QML_API size_t qml_dataset_n_features(const qml_dataset *dataset);

/**
 * @brief Read-only view of the features: n_rows * n_features doubles,
 * row-major. Owned by the dataset; valid until it is freed or transformed
 * (a transform changes the values in place, not the pointer).
 * @return NULL for a NULL dataset.
 * @since 0.1.0
 */
QML_API const double *qml_dataset_features(const qml_dataset *dataset);

/**
 * @brief Read-only view of the n_rows labels (each 0 or 1), owned by the
 * dataset. @return NULL for a NULL dataset.
 * @since 0.1.0
 */
QML_API const int *qml_dataset_labels(const qml_dataset *dataset);

/**
 * @brief Copy one row out.
 * @param row the row index, < n_rows.
 * @param[out] features n_features doubles, or NULL.
 * @param capacity doubles available at `features` (>= n_features unless
 *        `features` is NULL).
 * @param[out] label the row's label, or NULL.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (NULL dataset),
 *         #QML_ERR_OUT_OF_RANGE (row >= n_rows, or capacity < n_features).
 * @since 0.1.0
 */
QML_API int qml_dataset_row(const qml_dataset *dataset, size_t row, double *features, size_t capacity, int *label);

/**
 * @brief A new dataset made of the given rows, in the given order (rows may
 * repeat): a minibatch, a resampling, a fold.
 * @param indices `count` row indices, each < n_rows.
 * @param count >= 1.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT, #QML_ERR_OUT_OF_RANGE (an index
 *         >= n_rows), #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_dataset_subset(qml_dataset **out, const qml_dataset *dataset, const size_t *indices, size_t count);

/**
 * @brief Two interleaving half circles (the "two moons" of scikit-learn's
 * make_moons). Row i has label i mod 2 (classes balanced: label 0 gets
 * ceil(n_rows/2) rows). Label 0: (cos t, sin t); label 1:
 * (1 - cos t, 1/2 - sin t); t uniform in [0, pi); then independent Gaussian
 * noise N(0, noise^2) on each coordinate. Stream 0x6d6f6f6e73 ("moons") of
 * `seed`.
 * @param n_rows >= 2.
 * @param noise standard deviation of the added noise, finite, >= 0.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT, #QML_ERR_OUT_OF_MEMORY;
 *         #QML_ERR_OUT_OF_RANGE if the noise is so large (e.g. 1e308) that a
 *         feature overflows (since 0.2.0; the same holds for every synthetic
 *         dataset).
 * @since 0.1.0
 */
QML_API int qml_dataset_moons(qml_dataset **out, size_t n_rows, double noise, uint64_t seed);

/**
 * @brief Two concentric circles (scikit-learn's make_circles). Row i has
 * label i mod 2. Label 0 lies on the outer circle of radius 1, label 1 on the
 * inner circle of radius `factor`: r (cos t, sin t) with t uniform in
 * [0, 2 pi), plus Gaussian noise N(0, noise^2) on each coordinate. Stream
 * 0x636972636c6573 ("circles") of `seed`.
 * @param n_rows >= 2.
 * @param noise finite, >= 0.
 * @param factor inner radius / outer radius, in (0, 1) (0.5 is customary).
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT, #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_dataset_circles(qml_dataset **out, size_t n_rows, double noise, double factor, uint64_t seed);

/**
 * @brief XOR on the square [-1, 1]^2: label 1 if x y > 0 (quadrants I and
 * III), label 0 otherwise. Row i has label i mod 2; its quadrant alternates
 * between the two of its class; the magnitudes |x|, |y| are uniform in
 * (0, 1]; then Gaussian noise N(0, noise^2) on each coordinate (labels are
 * those of the noiseless point). Stream 0x786f72 ("xor") of `seed`.
 * @param n_rows >= 2.
 * @param noise finite, >= 0.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT, #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_dataset_xor(qml_dataset **out, size_t n_rows, double noise, uint64_t seed);

/**
 * @brief One of the synthetic datasets by kind (circles with factor 0.5).
 * @return as the specific generator; #QML_ERR_INVALID_ARGUMENT for an
 *         unknown kind.
 * @since 0.1.0
 */
QML_API int qml_dataset_generate(qml_dataset **out, qml_dataset_kind kind, size_t n_rows, double noise,
                                 uint64_t seed);

/**
 * @brief Tasks on data with a permutation symmetry (qml_dataset_symmetric()).
 * Values are pinned. Each labels the same inputs x in [-pi, pi)^F.
 * @since 0.2.0
 */
typedef enum qml_symmetric_task {
    /** y = [ (1/F) sum_q cos x_q > 0 ]: smooth and S_F-invariant; 0 is the
     *  median of the statistic (cos x_q is symmetric about 0 for x_q uniform
     *  in [-pi, pi)), so the classes are balanced in expectation. */
    QML_TASK_COS_MEDIAN = 0,
    /** y = parity of the number of q with x_q > 0: S_F-invariant, not smooth. */
    QML_TASK_PARITY = 1,
    /** y = [x_0 > 0]: the symmetry-broken control on the same inputs. */
    QML_TASK_BROKEN = 2
} qml_symmetric_task;

/**
 * @brief Data with a symmetry: n_rows rows of n_features features, each
 * uniform in [-pi, pi) (feature j of row i is pi (2 u - 1) with u the
 * (i n_features + j)-th uniform of stream 0x73796d6d65747279
 * ("symmetry") of `seed`), labelled by `task`. The three tasks share their
 * inputs for a given seed and shape, so a study can compare them row by row.
 * Permuting a row's features never changes its #QML_TASK_COS_MEDIAN or
 * #QML_TASK_PARITY label. docs/datasets.md shows the tasks.
 * @param n_rows >= 2.
 * @param n_features F >= 2 (with one feature there is no permutation to be
 *        invariant under, and the broken control is the parity task).
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL out, unknown task,
 *         n_rows < 2, fewer than 2 features, a table past SIZE_MAX bytes);
 *         #QML_ERR_OUT_OF_MEMORY.
 * @since 0.2.0
 */
QML_API int qml_dataset_symmetric(qml_dataset **out, qml_symmetric_task task, size_t n_rows, size_t n_features,
                                  uint64_t seed);

/**
 * @brief Label noise: flip exactly round(fraction x n_rows) labels (half
 * away from zero), at rows drawn uniformly without replacement by
 * selection sampling (Knuth, TAOCP vol. 2, Algorithm 3.4.2 S) from stream
 * 0x666c6970 ("flip") of `seed`. Features are left alone.
 * @param fraction in [0, 1].
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL, fraction NaN or outside
 *         [0, 1]: the dataset is unchanged).
 * @since 0.2.0
 */
QML_API int qml_dataset_flip_labels(qml_dataset *dataset, double fraction, uint64_t seed);

/**
 * @brief Random labels (a memorisation test): every label replaced by a
 * fair coin flip, the top bit of successive outputs of stream 0x6c6162656c73
 * ("labels") of `seed`. Features are left alone.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (NULL).
 * @since 0.2.0
 */
QML_API int qml_dataset_random_labels(qml_dataset *dataset, uint64_t seed);

/**
 * @brief Whether a CSV text has a header line. Values are pinned.
 * @since 0.1.0
 */
typedef enum qml_csv_header {
    QML_CSV_HEADER_AUTO = 0,   /**< a header if some cell of the first line is not a number */
    QML_CSV_HEADER_YES = 1,    /**< the first non-blank line is a header */
    QML_CSV_HEADER_NO = 2      /**< every non-blank line is data */
} qml_csv_header;

/**
 * @brief Options for reading CSV. Initialise with #QML_CSV_OPTIONS_INIT.
 * @since 0.1.0
 */
typedef struct qml_csv_options {
    size_t size;               /**< sizeof(qml_csv_options) */
    int64_t label_column;      /**< 0-based column of the label; -1 (default) = the last column */
    qml_csv_header header;     /**< default #QML_CSV_HEADER_AUTO */
} qml_csv_options;

/** @brief The default CSV options: label in the last column, header detected. @since 0.1.0 */
#define QML_CSV_OPTIONS_INIT {sizeof(qml_csv_options), -1, QML_CSV_HEADER_AUTO}

/**
 * @brief Parse CSV text (NUL-terminated) into a dataset.
 *
 * Comma-separated numeric cells, spaces and tabs around a cell ignored, LF
 * or CRLF line ends, blank lines skipped, at least two columns. Every row has
 * the header's (or first row's) column count. Numbers are read as strtod
 * reads them in the "C" locale ('.' as the decimal point, whatever the
 * calling program's locale); NaN and infinities are refused. Labels: if every
 * label is 0 or 1 they are taken as they are; otherwise there must be exactly
 * two distinct label values, the smaller becoming 0 and the larger 1.
 * @param options NULL for the defaults.
 * @return #QML_OK; #QML_ERR_PARSE with "line L, column C" (1-based) in the
 *         message for a wrong column count, a non-numeric or non-finite
 *         cell, a third label value, or no data row; #QML_ERR_INVALID_ARGUMENT
 *         (NULL, bad options, label column out of range);
 *         #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_dataset_parse_csv(qml_dataset **out, const char *text, const qml_csv_options *options);

/**
 * @brief The largest file qml_dataset_load_csv() reads: 2^30 bytes (1 GiB).
 * @since 0.2.0
 */
#define QML_CSV_MAX_BYTES (UINT64_C(1) << 30)

/**
 * @brief Read a CSV file into a dataset (rules of qml_dataset_parse_csv();
 * parse messages start with the path).
 *
 * The read is bounded, so that a device or a pipe that never ends
 * (/dev/zero, /dev/urandom) gives an error instead of a hang: a NUL byte is
 * a non-numeric cell, so reading stops soon after the first one and the
 * error names its line and column; a file longer than #QML_CSV_MAX_BYTES is
 * refused once that many bytes are read.
 * @return as qml_dataset_parse_csv(), and #QML_ERR_IO with the path and the
 *         system's reason if the file cannot be read; #QML_ERR_LIMIT for a file longer than
 *         #QML_CSV_MAX_BYTES (since 0.2.0).
 * @since 0.1.0
 */
QML_API int qml_dataset_load_csv(qml_dataset **out, const char *path, const qml_csv_options *options);

/**
 * @brief Format as CSV: a header "x0,x1,...,label", then one line per row
 * with every feature as the shortest of %.15g, %.16g, %.17g that reads back
 * to the same double ('.' as the decimal point, whatever the calling
 * program's locale) and the label last, LF line ends. Parsing the text gives
 * back the dataset bit for bit.
 * @param[out] text the NUL-terminated text; release with qml_free().
 * @param[out] length its length without the NUL (may be NULL).
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT, #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_dataset_format_csv(const qml_dataset *dataset, char **text, size_t *length);

/**
 * @brief Write qml_dataset_format_csv()'s text to a file (created or
 * truncated).
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT, #QML_ERR_OUT_OF_MEMORY,
 *         #QML_ERR_IO with the path and the system's reason.
 * @since 0.1.0
 */
QML_API int qml_dataset_save_csv(const qml_dataset *dataset, const char *path);

/**
 * @brief Split into a training and a test set, shuffled by the library PRNG
 * (stream 0x73706c6974 ("split") of `seed`).
 *
 * A uniformly random permutation of the rows is drawn (Fisher-Yates); the
 * test set takes the first rows of it: round(test_fraction * n_rows) rows, or
 * with `stratify` round(test_fraction * n_c) rows of each class c. Both sets
 * keep the rows' original relative order. The sets are disjoint and cover
 * the dataset.
 * @param[out] train, test the new datasets, owned by the caller.
 * @param test_fraction in (0, 1).
 * @param stratify non-zero to keep the class proportions in both sets.
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT for NULL, a fraction outside
 *         (0, 1) or NaN, or a split that would leave a set empty;
 *         #QML_ERR_OUT_OF_MEMORY (then neither output is set).
 * @since 0.1.0
 */
QML_API int qml_dataset_split(qml_dataset **train, qml_dataset **test, const qml_dataset *dataset,
                              double test_fraction, uint64_t seed, int stratify);

/**
 * @brief Standardise features with statistics of the training set only:
 * for each feature j, mean_j and the population standard deviation std_j
 * (divisor n_rows) over `train`, then x -> (x - mean_j) / std_j in `train`
 * and in `test`. A constant feature (std_j = 0) is only centred.
 * @param train fitted on and transformed in place.
 * @param test transformed in place with train's statistics; may be NULL.
 * @param[out] mean, stddev n_features doubles each, the fitted statistics
 *        (for qml_dataset_apply_standardization() on later data); may be NULL.
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL train, feature counts
 *         differ); #QML_ERR_OUT_OF_RANGE if a statistic or a standardised
 *         value would overflow (since 0.2.0); #QML_ERR_OUT_OF_MEMORY. On
 *         failure nothing is changed.
 * @since 0.1.0
 */
QML_API int qml_dataset_standardize(qml_dataset *train, qml_dataset *test, double *mean, double *stddev);

/**
 * @brief Apply given statistics: x -> (x - mean_j) / stddev_j (stddev_j = 0
 * is taken as 1).
 * @param n_features must equal the dataset's.
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL, count mismatch,
 *         non-finite mean, negative or non-finite stddev);
 *         #QML_ERR_OUT_OF_RANGE if a standardised value would overflow (a
 *         stddev of 1e-320, say; since 0.2.0). On failure nothing is changed.
 * @since 0.1.0
 */
QML_API int qml_dataset_apply_standardization(qml_dataset *dataset, const double *mean, const double *stddev,
                                              size_t n_features);

/**
 * @brief Min-max rescale fitted on the training set only: with min_j and
 * max_j over `train`, x -> low + (x - min_j) * ((high - low) / (max_j - min_j))
 * in `train` and `test` (test values outside train's range land outside
 * [low, high]; nothing is clipped). A constant feature maps to
 * (low + high) / 2. For angle encoding, [-pi/2, pi/2] or [0, pi].
 * @param test may be NULL.
 * @param low, high finite, low < high.
 * @param[out] min, max n_features doubles each, the fitted ranges; may be NULL.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT, #QML_ERR_OUT_OF_MEMORY. On
 *         failure nothing is changed.
 * @since 0.1.0
 */
QML_API int qml_dataset_rescale(qml_dataset *train, qml_dataset *test, double low, double high, double *min,
                                double *max);

/**
 * @brief Apply a given min-max map (as qml_dataset_rescale()) to a dataset.
 * @param min, max n_features finite doubles each, min_j <= max_j.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT.
 * @since 0.1.0
 */
QML_API int qml_dataset_apply_rescale(qml_dataset *dataset, const double *min, const double *max,
                                      size_t n_features, double low, double high);

/**@}*/

/* ======================================================================== */
/** @name Optimisers (optim.c)
 *
 * First-order optimisers that update a parameter vector in place from its
 * gradient, and the minibatch shuffler of the training loop.
 * docs/datasets.md gives the update equations.
 */
/* ======================================================================== */
/**@{*/

/** @brief An optimiser with its state (moments, step count). @since 0.1.0 */
typedef struct qml_optimizer qml_optimizer;

/** @brief Optimiser kinds. Values are pinned. @since 0.1.0 */
typedef enum qml_optimizer_kind {
    QML_OPTIMIZER_ADAM = 0,    /**< Adam with bias correction (Kingma & Ba, ICLR 2015) */
    QML_OPTIMIZER_SGD = 1      /**< gradient descent with (optionally Nesterov) momentum */
} qml_optimizer_kind;

/**
 * @brief The name of an optimiser kind: "adam", "sgd" (static storage), or
 * NULL for an unknown kind.
 * @since 0.1.0
 */
QML_API const char *qml_optimizer_kind_name(qml_optimizer_kind kind);

/**
 * @brief Optimiser options. Initialise with #QML_OPTIMIZER_OPTIONS_INIT.
 * @since 0.1.0
 */
typedef struct qml_optimizer_options {
    size_t size;               /**< sizeof(qml_optimizer_options) */
    qml_optimizer_kind kind;   /**< default #QML_OPTIMIZER_ADAM */
    double learning_rate;      /**< step size, finite, > 0; default 0.01 */
    double beta1;              /**< Adam: first-moment decay in [0, 1); default 0.9 */
    double beta2;              /**< Adam: second-moment decay in [0, 1); default 0.999 */
    double epsilon;            /**< Adam: denominator guard, finite, > 0; default 1e-8 */
    double momentum;           /**< SGD: momentum in [0, 1); default 0 (plain SGD) */
    int nesterov;              /**< SGD: non-zero for Nesterov momentum (needs momentum > 0) */
    double weight_decay;       /**< L2 penalty: adds weight_decay * theta to the gradient; >= 0, default 0 */
} qml_optimizer_options;

/** @brief The default options: Adam, learning rate 0.01, betas 0.9 / 0.999, epsilon 1e-8. @since 0.1.0 */
#define QML_OPTIMIZER_OPTIONS_INIT \
    {sizeof(qml_optimizer_options), QML_OPTIMIZER_ADAM, 0.01, 0.9, 0.999, 1e-8, 0.0, 0, 0.0}

/**
 * @brief Create an optimiser for `n_params` parameters.
 * @param n_params >= 1.
 * @param options NULL for the defaults.
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (zero count, unknown kind, a
 *         rate, beta, epsilon, momentum or decay out of range or NaN; the
 *         message names it); #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_optimizer_create(qml_optimizer **out, size_t n_params, const qml_optimizer_options *options);

/** @brief Free (NULL is a no-op). @since 0.1.0 */
QML_API void qml_optimizer_free(qml_optimizer *optimizer);

/**
 * @brief One update of `params` in place from `grad` (the gradient of the
 * loss to minimise).
 * @param n must equal the optimiser's parameter count.
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL, count mismatch, a
 *         non-finite gradient or parameter: the message names the index; then
 *         neither params nor the state change); #QML_ERR_OUT_OF_RANGE if the
 *         update would make a parameter or a moment infinite or NaN (e.g. a
 *         learning rate of 1e300; nothing changes either) (since 0.2.0).
 * @since 0.1.0
 */
QML_API int qml_optimizer_step(qml_optimizer *optimizer, double *params, const double *grad, size_t n);

/**
 * @brief Forget the moments and the step count (as if just created).
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (NULL).
 * @since 0.1.0
 */
QML_API int qml_optimizer_reset(qml_optimizer *optimizer);

/**
 * @brief Change the learning rate (for a schedule); the state is kept.
 * @param learning_rate finite, > 0.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT.
 * @since 0.1.0
 */
QML_API int qml_optimizer_set_learning_rate(qml_optimizer *optimizer, double learning_rate);

/**
 * @brief The optimiser's options (its current learning rate included).
 * @param[in,out] options `size` set by the caller (#QML_OPTIMIZER_OPTIONS_INIT):
 *        the library writes min(size, its own sizeof) bytes and keeps `size`.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (NULL, size < sizeof(size_t)).
 * @since 0.1.0
 */
QML_API int qml_optimizer_options_get(const qml_optimizer *optimizer, qml_optimizer_options *options);

/** @brief Number of parameters (0 for NULL). @since 0.1.0 */
QML_API size_t qml_optimizer_n_params(const qml_optimizer *optimizer);

/** @brief Number of steps taken since creation or the last reset (0 for NULL). @since 0.1.0 */
QML_API uint64_t qml_optimizer_n_steps(const qml_optimizer *optimizer);

/**
 * @brief The minibatch order of one epoch: `indices` is set to a uniformly
 * random permutation of 0..n-1 (Fisher-Yates from the identity, whatever
 * the array held), drawn from stream 0x73687566666c65 + epoch ("shuffle")
 * of `seed`. Epoch e's batch b is then indices[b * batch_size ...], the last
 * batch holding the remainder.
 * @param n >= 1.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT.
 * @since 0.1.0
 */
QML_API int qml_shuffle_indices(size_t *indices, size_t n, uint64_t seed, uint64_t epoch);

/**@}*/

/* ======================================================================== */
/** @name Models and training (train.c)
 *
 * A model is a binary classifier built on a parametrised circuit U(w, x):
 * the expectation e(w, x) = <0| U^dag(w, x) O U(w, x) |0> of a Pauli-sum
 * readout O feeds a classical head p(y = 1 | x) = sigmoid(a e + b) with a
 * trainable scale a and bias b. The model's parameters are one vector:
 * the circuit's n_weights weights, then a, then b. The class is 1 when
 * p >= 1/2. Training minimises the mean loss over minibatches with an
 * optimiser of optim.c. docs/paradox.md states the templates, the losses,
 * the initialisation and the streams.
 */
/* ======================================================================== */
/**@{*/

/** @brief A classifier: circuit, readout and head. @since 0.1.0 */
typedef struct qml_model qml_model;

/** @brief Losses. Values are pinned. @since 0.1.0 */
typedef enum qml_loss {
    QML_LOSS_BCE = 0,   /**< binary cross-entropy -[y ln p + (1 - y) ln(1 - p)] on p = sigmoid(a e + b) */
    QML_LOSS_MSE = 1    /**< squared error (p - y)^2 between the probability and the label */
} qml_loss;

/** @brief Model templates. Values are pinned. @since 0.1.0 */
typedef enum qml_model_kind {
    /** Unstructured: in each layer, RY(x_{q mod F}) on every qubit q, then one
     *  hardware-efficient layer (RY(w), RZ(w) on every qubit, open CZ ladder);
     *  2 n L weights; readout Z_0. DLA su(2^n). */
    QML_MODEL_UNSTRUCTURED = 0,
    /** Permutation-equivariant: in each layer, feature j drives exp(-i x_j/2
     *  sum_q P_j) with P_j = X for even j and Z for odd j; then the trainable
     *  exp(-i w/2 (2/n) sum_{q<r} Z_q Z_r), RX(w') on every qubit (one shared
     *  weight) and RY(w'') on every qubit (one shared weight); 3 L weights;
     *  readout (1/n) sum_q Z_q. Every gate commutes with every qubit
     *  permutation. */
    QML_MODEL_PERMUTATION = 1,
    /** Free-fermion (transverse-field Ising with local weights): in each
     *  layer, RX(x_{q mod F}) on every qubit, then RZZ(w) on every open bond
     *  (q, q+1) and RX(w) on every qubit, each with its own weight;
     *  (2n - 1) L weights; readout Z_0 Z_1. DLA so(2n). */
    QML_MODEL_FREE_FERMION = 2,
    /** Permutation-equivariant with a local encoding, one feature per qubit
     *  (n_features = n_qubits): in each layer, RY(x_q) on qubit q, then the
     *  weight layer of #QML_MODEL_PERMUTATION; 3 L weights; readout
     *  (1/n) sum_q Z_q. Permuting the features permutes the qubits of the
     *  encoding only, so the model is an S_n-invariant function of x.
     *  @since 0.2.0 */
    QML_MODEL_PERMUTATION_LOCAL = 3,
    /** #QML_MODEL_PERMUTATION with its collective encoding scaled by 2/n:
     *  exp(-i (2/n) x_j/2 sum_q P_j). One layer then puts frequencies up to
     *  2 on each x_j for every n (the plain model reaches n, so its initial
     *  function of x grows rougher with n); equal to the plain model at
     *  n = 2. docs/training.md compares their roughness.
     *  @since 0.2.0 */
    QML_MODEL_PERMUTATION_BOUNDED = 4
} qml_model_kind;

/**
 * @brief The name of a model kind: "unstructured", "permutation",
 * "free-fermion", "permutation-local", "permutation-bounded" (static
 * storage), or NULL for an unknown kind.
 * @since 0.1.0
 */
QML_API const char *qml_model_kind_name(qml_model_kind kind);

/**
 * @brief Create a model from a circuit and a readout (both are copied).
 * The circuit weights start at 0 (set them with qml_model_set_params() or
 * let qml_model_train() initialise them).
 * @param circuit a circuit with at least one weight and at least one feature.
 * @param readout a Pauli sum on the circuit's qubits.
 * @param loss the loss qml_model_loss() and training use.
 * @param scale, bias the initial head a and b, finite.
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL, no weight or no feature,
 *         qubit counts differ, unknown loss, non-finite head);
 *         #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_model_create(qml_model **out, const qml_circuit *circuit, const qml_pauli_sum *readout,
                             qml_loss loss, double scale, double bias);

/**
 * @brief Create a model from a template (see #qml_model_kind), with head
 * a = 1, b = 0 and the weights at 0.
 * @param n_qubits 2..1024 (the permutation model needs 2 for its Z Z term);
 *        the statevector simulates at most 40 (in practice ~30), the
 *        algebraic backends (docs/gsim.md) the free-fermion and
 *        permutation models at hundreds.
 * @param layers L >= 1.
 * @param n_features F >= 1; the unstructured and free-fermion models need
 *        F <= n_qubits (so that every feature is encoded), the
 *        permutation-local model F = n_qubits.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT, #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_model_create_template(qml_model **out, qml_model_kind kind, unsigned n_qubits, unsigned layers,
                                      unsigned n_features, qml_loss loss);

/** @brief Free (NULL is a no-op). @since 0.1.0 */
QML_API void qml_model_free(qml_model *model);

/** @brief The model's circuit, owned by the model (NULL for NULL). @since 0.1.0 */
QML_API const qml_circuit *qml_model_circuit(const qml_model *model);
/** @brief The model's readout O, owned by the model (NULL for NULL). @since 0.1.0 */
QML_API const qml_pauli_sum *qml_model_readout(const qml_model *model);
/** @brief The model's loss (#QML_LOSS_BCE for NULL). @since 0.1.0 */
QML_API qml_loss qml_model_loss_kind(const qml_model *model);
/** @brief Number of circuit weights (0 for NULL). @since 0.1.0 */
QML_API size_t qml_model_n_weights(const qml_model *model);
/** @brief Number of input features the circuit reads (0 for NULL). @since 0.1.0 */
QML_API size_t qml_model_n_features(const qml_model *model);
/** @brief Number of parameters: n_weights + 2 (0 for NULL). @since 0.1.0 */
QML_API size_t qml_model_n_params(const qml_model *model);

/**
 * @brief Copy the parameters out: the weights, then a, then b.
 * @param count doubles at `params`, >= qml_model_n_params().
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (NULL), #QML_ERR_OUT_OF_RANGE
 *         (count too small).
 * @since 0.1.0
 */
QML_API int qml_model_params(const qml_model *model, double *params, size_t count);

/**
 * @brief Set every parameter: the weights, then a, then b.
 * @param count must equal qml_model_n_params().
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL, wrong count, a
 *         non-finite value: nothing is changed).
 * @since 0.1.0
 */
QML_API int qml_model_set_params(qml_model *model, const double *params, size_t count);

/**
 * @brief The probabilities p(y = 1 | x) for `n_rows` rows of features
 * (row r at rows + r * n_features), in parallel over rows. Bitwise the same
 * for any thread count.
 * @param n_features >= qml_model_n_features() (extra columns are ignored).
 * @param n_threads worker threads, 0 = all cores.
 * @param[out] probabilities n_rows values.
 * @param[out] expectations n_rows readout values e(w, x), or NULL.
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL, zero rows, too few or
 *         non-finite features); #QML_ERR_OUT_OF_MEMORY; #QML_ERR_THREAD.
 * @since 0.1.0
 */
QML_API int qml_model_predict(const qml_model *model, const double *rows, size_t n_rows, size_t n_features,
                              unsigned n_threads, double *probabilities, double *expectations);

/**
 * @brief The mean loss and the accuracy (share of rows whose class,
 * p >= 1/2, equals the label) on a dataset.
 * @param loss, accuracy either may be NULL.
 * @return as qml_model_predict().
 * @since 0.1.0
 */
QML_API int qml_model_evaluate(const qml_model *model, const qml_dataset *dataset, unsigned n_threads,
                               double *loss, double *accuracy);

/**
 * @brief The mean loss over the given rows of a dataset and its gradient
 * with respect to every parameter (weights by adjoint differentiation, the
 * head in closed form, combined by the chain rule and summed in row order:
 * bitwise the same for any thread count).
 * @param indices `count` row indices, or NULL for every row (count is then
 *        ignored).
 * @param[out] loss the mean loss (may be NULL).
 * @param[out] gradient `capacity` >= qml_model_n_params() doubles (may be
 *        NULL with capacity 0).
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL, count 0, too few
 *         features); #QML_ERR_OUT_OF_RANGE (an index >= n_rows, capacity too
 *         small); #QML_ERR_OUT_OF_MEMORY; #QML_ERR_THREAD.
 * @since 0.1.0
 */
QML_API int qml_model_loss_gradient(const qml_model *model, const qml_dataset *dataset, const size_t *indices,
                                    size_t count, unsigned n_threads, double *loss, double *gradient,
                                    size_t capacity);

/**
 * @brief The numerical rank of the Jacobian J_ik = de(w, x_i)/dw_k of the
 * model's readout over a dataset's rows, at the model's current weights
 * (adjoint gradients; the head is left out: with a != 0 the probabilities'
 * Jacobian has the same rank). A rank below min(rows, weights) means
 * redundant weights or a function family of lower dimension than the
 * weight count (Larocca et al., "Theory of overparametrization in quantum
 * neural networks", Nat. Comput. Sci. 3, 542 (2023), arXiv:2109.11676).
 * @param tolerance a singular value s_i counts when s_i > tolerance x s_max,
 *        tolerance in [0, 1); 0 selects max(rows, weights) x DBL_EPSILON
 *        (the usual numerical-rank rule). Singular values come from a
 *        one-sided Jacobi SVD, accurate to about DBL_EPSILON x s_max.
 * @param[out] rank the number of singular values above the threshold (0 if
 *        J = 0).
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL, tolerance NaN or
 *         outside [0, 1), too few features); #QML_ERR_OUT_OF_MEMORY
 *         (rows x weights doubles, twice when rows > weights).
 * @since 0.2.0
 */
QML_API int qml_model_jacobian_rank(const qml_model *model, const qml_dataset *dataset, double tolerance,
                                    size_t *rank);

/**
 * @brief The rank of the quantum Fisher information matrix of the model's
 * state |psi(w, x)> with respect to the circuit weights, at the model's
 * current weights and one input x:
 * F_kl = 4 Re[<d_k psi|d_l psi> - <d_k psi|psi><psi|d_l psi>].
 * Its rank is the number of independent directions the weights move the
 * state in; it cannot exceed dim g of the circuit's dynamical Lie algebra
 * nor 2^(n+1) - 2, and Larocca et al. (arXiv:2109.11676) call a model
 * overparametrised once adding weights no longer raises it.
 * @param features n_features >= qml_model_n_features() finite values.
 * @param tolerance an eigenvalue l_i of F counts when
 *        sqrt(l_i / l_max) > tolerance (the singular values of the matrix of
 *        projected tangent vectors, whose squares are F's eigenvalues / 4:
 *        the same meaning as in qml_model_jacobian_rank(); a threshold t on
 *        l_i / l_max is tolerance sqrt(t)); in [0, 1), 0 selects
 *        max(2^(n+1), weights) x DBL_EPSILON.
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL, bad tolerance, a
 *         non-finite feature); #QML_ERR_OUT_OF_RANGE (too few features);
 *         #QML_ERR_OUT_OF_MEMORY (weights x 2^(n+1) doubles and two states).
 *         Costs one forward pass per weight gate from that gate on.
 * @since 0.2.0
 */
QML_API int qml_model_qfi_rank(const qml_model *model, const double *features, size_t n_features,
                               double tolerance, size_t *rank);

/**
 * @brief How rough a model's function of its input starts: the mean of
 * (de/dx_j)^2 over `n_draws` weight draws (each weight 2 pi u, u uniform in
 * [0, 1), as #QML_INIT_UNIFORM; draw d from stream d of `seed`, weights in
 * order), over the dataset's rows and over the model's features j, where
 * e(w, x) is the readout before the head. An encoding whose frequencies in
 * x grow with n shows a slope that grows with n (docs/training.md).
 * @param n_draws >= 2.
 * @param[out] mean_square_slope the mean.
 * @param[out] stderr_ its standard error: the sample standard deviation of
 *        the draws' means / sqrt(n_draws) (draws, not rows, are the
 *        independent samples); may be NULL.
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL, n_draws < 2, too few
 *         features); #QML_ERR_OUT_OF_MEMORY. Costs one adjoint pass per
 *         draw and row; runs on the calling thread.
 * @since 0.2.0
 */
QML_API int qml_model_roughness(const qml_model *model, const qml_dataset *dataset, size_t n_draws,
                                uint64_t seed, double *mean_square_slope, double *stderr_);

/** @brief How training initialises the circuit weights. Values are pinned. @since 0.1.0 */
typedef enum qml_init_mode {
    QML_INIT_UNIFORM = 0,  /**< each weight 2 pi u, u uniform in [0, 1) (the barren-plateau regime) */
    QML_INIT_NORMAL = 1,   /**< each weight init_scale * N(0, 1) (near the identity) */
    QML_INIT_KEEP = 2      /**< keep the model's current weights */
} qml_init_mode;

/**
 * @brief What one training epoch ended with.
 *
 * Records may gain fields in later versions: the caller sets
 * `history[0].size = sizeof(qml_train_epoch)` and the library uses that as
 * the stride of the history array, writing only the fields that fit (and
 * setting each record's `size` to what it wrote).
 * @since 0.1.0
 */
typedef struct qml_train_epoch {
    size_t size;            /**< sizeof(qml_train_epoch), set by the caller in history[0] */
    double loss;            /**< mean loss on the training set after the epoch */
    double train_accuracy;  /**< accuracy on the training set after the epoch */
    double test_accuracy;   /**< accuracy on the test set after the epoch; NaN without one */
    double test_loss;       /**< mean loss on the test set; NaN without one */
    /** Mean square of the components of the full-batch loss gradient with
     *  respect to the circuit weights, (1/K) sum_k (dL/dw_k)^2, exact
     *  (adjoint), at the parameters the epoch ended with: the gradient
     *  signal. The head's a and b are left out (they are classical and do
     *  not flatten with the circuit). @since 0.2.0 */
    double grad_mean_square;
    /** Minibatch gradient variance: the sample variance over the epoch's
     *  optimiser steps of the weight-gradient estimates the optimiser saw
     *  (minibatch and, with shots, shot noise), averaged over the K weight
     *  components, (1/K) sum_k Var_steps(g_k) with divisor steps - 1; NaN
     *  when the epoch had a single step. @since 0.2.0 */
    double grad_batch_variance;
} qml_train_epoch;

/**
 * @brief A per-epoch progress callback.
 * @param epoch the epoch just finished, 1-based.
 * @param record what the epoch ended with (its `size` says which fields the
 *        library filled: a later version may pass a larger record); valid
 *        only during the call.
 * @return 0 to go on; anything else stops training with #QML_ERR_CANCELLED.
 * @since 0.1.0
 */
typedef int (*qml_train_progress_fn)(unsigned epoch, const qml_train_epoch *record, void *user);

/**
 * @brief How training estimates gradients from a finite shot budget
 * (qml_train_options::shots > 0). Values are pinned. docs/training.md
 * derives both and the variance formula.
 * @since 0.2.0
 */
typedef enum qml_shot_mode {
    /** Parameter shift with sampling: every readout value a step uses and
     *  both shifted expectations of every Pauli factor of every weight gate
     *  are estimated from `shots` samples of the statevector per measurement
     *  basis (one state preparation per circuit, shared by its shots). Needs
     *  shots >= 2. Costs about 2 x (Pauli factors) forward passes per row. */
    QML_SHOTS_SAMPLED = 0,
    /** Fast mode: the exact adjoint gradient and readout value plus Gaussian
     *  noise, independent per row and component, with the variance of the
     *  sampled estimator: v(x)/S for the value and
     *  v(x) W_k / (2 S) for weight k, where v is the readout's single-shot
     *  variance at the row's state and W_k = sum over the gates reading k of
     *  weight_scale^2 sum_j c_j^2 over the gate generator's Pauli factors.
     *  Exact when the single-shot variance at the two shifted points
     *  averages to its value at x (see docs/training.md). Costs about one
     *  adjoint gradient (plus one forward pass per row when the readout has
     *  more than one term). */
    QML_SHOTS_GAUSSIAN = 1
} qml_shot_mode;

/**
 * @brief Training options; initialise with #QML_TRAIN_OPTIONS_INIT.
 * @since 0.1.0
 */
typedef struct qml_train_options {
    size_t size;                       /**< sizeof(qml_train_options) */
    const qml_optimizer_options *optimizer; /**< the optimiser, or NULL for Adam with learning rate 0.01
                                                 (a pointer, so that either struct can grow on its own) */
    unsigned epochs;                   /**< passes over the training set, >= 1 (default 30) */
    size_t batch_size;                 /**< rows per step, >= 1 (default 16) */
    uint64_t seed;                     /**< weight initialisation and minibatch order (default 0) */
    qml_init_mode init;                /**< default #QML_INIT_UNIFORM */
    double init_scale;                 /**< #QML_INIT_NORMAL: the standard deviation, finite, > 0 (default 0.1) */
    unsigned n_threads;                /**< worker threads over rows, 0 = all cores (default 1) */
    qml_train_progress_fn progress;    /**< called after every epoch (may be NULL) */
    void *progress_user;               /**< passed to `progress` */
    /** Shots per expectation (per measurement basis) for the gradients the
     *  optimiser sees; 0 = exact gradients (default), at most #QML_SHOTS_MAX.
     *  The loss and accuracy recorded per epoch stay exact. @since 0.2.0 */
    uint64_t shots;
    /** How shots are simulated when shots > 0 (default #QML_SHOTS_GAUSSIAN). @since 0.2.0 */
    qml_shot_mode shot_mode;
    qml_backend backend;               /**< the simulator of every row (default #QML_BACKEND_STATEVECTOR;
                                            chosen once per training run; shots need the statevector)
                                            (@since 0.2.0) */
} qml_train_options;

/** @brief Default training options. */
#define QML_TRAIN_OPTIONS_INIT                                                  \
    { sizeof(qml_train_options), NULL, 30, 16, 0, QML_INIT_UNIFORM, 0.1, 1, NULL, NULL, 0, QML_SHOTS_GAUSSIAN, \
      QML_BACKEND_STATEVECTOR }

/**
 * @brief Train a model by minibatch gradient descent.
 *
 * The weights are initialised by `init` from stream 0x696e6974 ("init") of
 * the seed (the head keeps its current a and b); epoch e (0-based) visits
 * the rows in the order qml_shuffle_indices(seed, e) gives, in batches of
 * batch_size (the last one smaller), one optimiser step per batch on the
 * batch's mean loss gradient. After each epoch the loss and accuracy on
 * `train` (and `test`) are recorded and the callback is called. Bitwise the
 * same for a given seed whatever the thread count.
 *
 * With options->shots = S > 0 every readout value e and every weight
 * derivative de/dw a step uses is a finite-shot estimate (see
 * #qml_shot_mode), independent per row; step t (counted from 0 over the
 * whole run) draws its seed from stream 0x73686f7473 + t ("shots") of the
 * seed. The head's a and b are classical: their derivatives follow in
 * closed form from the estimated e (dL/da = dL/dz e, dL/db = dL/dz). The
 * loss, accuracies and grad_mean_square recorded per epoch are exact (no
 * shot noise); grad_batch_variance is that of the estimates the optimiser
 * saw. Each epoch ends with one exact full-batch gradient (an adjoint
 * gradient per training row) for its record.
 * @param train the training set; its feature count must cover the model's.
 * @param test a test set to record accuracy on, or NULL.
 * @param options NULL for the defaults.
 * @param[out] history `capacity` records of `history[0].size` bytes each
 *        (set it to sizeof(qml_train_epoch)); epoch e (0-based) is written
 *        to record e when e < capacity (may be NULL with capacity 0).
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL, bad options, feature
 *         counts, history[0].size smaller than the 0.1 record, shots > 0
 *         with an unknown shot_mode, shots = 1 with #QML_SHOTS_SAMPLED);
 *         #QML_ERR_CANCELLED (the callback returned non-zero: the
 *         model keeps the parameters of the last step and the history of
 *         the finished epochs); #QML_ERR_OUT_OF_MEMORY; #QML_ERR_THREAD.
 *         On another failure the model keeps its parameters of the last
 *         completed step.
 * @since 0.1.0
 */
QML_API int qml_model_train(qml_model *model, const qml_dataset *train, const qml_dataset *test,
                            const qml_train_options *options, qml_train_epoch *history, size_t capacity);

/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* QML_H */
