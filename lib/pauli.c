/*
 * pauli.c: Pauli strings as symplectic bit masks and Hermitian Pauli sums
 * (real combinations of strings) merged through an open-addressing hash map.
 */
#include "internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* More qubits than this is a mistake, not a model: the masks alone would
 * take 2^17 bytes per term. */
#define PAULI_MAX_QUBITS (1u << 20)
/* Parsing refuses a text whose terms would take more than 64 bytes of masks
 * (2 masks of ceil(n/64) words per term) per byte of text, beyond a floor
 * of 16 MiB: one far qubit index makes every term as wide as that index, so
 * a few kilobytes of text could otherwise ask for gigabytes and seconds.
 * Texts that use their qubits densely stay far below (qml.h documents it). */
#define PAULI_PARSE_MASK_FLOOR ((uint64_t)1 << 24)
#define PAULI_PARSE_MASK_PER_BYTE 64u
/* Dense matrices: 2 * 4^14 doubles = 4 GiB is the largest we agree to fill. */
#define PAULI_MAX_DENSE_QUBITS 14u
/* Mask scratch space kept on the stack: 3 masks of 16 words (1024 qubits). */
#define SCRATCH_WORDS 48u
/* A coefficient longer than this is not a number anyone typed. */
#define PARSE_MAX_NUMBER 400u

/* Scratch masks: on the stack when small, else on the heap. */
typedef struct scratch {
    uint64_t small[SCRATCH_WORDS];
    uint64_t *data;
} scratch;

static int check_n_qubits(unsigned n_qubits, const char *caller);
static int check_pair(const qml_pauli_sum *a, const qml_pauli_sum *b, const char *caller);
static uint64_t *scratch_get(scratch *s, size_t n_words);
static void scratch_release(scratch *s);
static int reserve(qml_pauli_sum *sum, size_t n_terms);
static size_t accumulate(qml_pauli_sum *sum, double coeff, const uint64_t *x, const uint64_t *z);
static void rebuild_slots(qml_pauli_sum *sum);
static void remove_term(qml_pauli_sum *sum, size_t index);
static int check_finite_coefficients(qml_pauli_sum *sum, const char *caller);
static int combine(qml_pauli_sum **out, const qml_pauli_sum *a, const qml_pauli_sum *b, bool bracket,
                   const char *caller);
static int parse_text(const char *text, unsigned n_qubits, qml_pauli_sum **out);
static size_t format_text(const qml_pauli_sum *sum, char *buffer, size_t capacity);
static int letter_masks(char letter, uint64_t *x_bit, uint64_t *z_bit);

static inline uint64_t mix64(uint64_t v)
{
    /* The MurmurHash3 64-bit finaliser: every input bit flips every output
     * bit with probability close to 1/2. */
    v ^= v >> 33;
    v *= 0xff51afd7ed558ccdull;
    v ^= v >> 33;
    v *= 0xc4ceb9fe1a85ec53ull;
    v ^= v >> 33;
    return v;
}

static inline uint64_t hash_masks(unsigned words, const uint64_t *x, const uint64_t *z)
{
    if (words == 1)
        return mix64(x[0] ^ mix64(z[0] + 0x9E3779B97F4A7C15ull));
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (unsigned w = 0; w < words; w++) {
        h = mix64(h ^ x[w]);
        h = mix64(h ^ z[w] ^ 0x5851F42D4C957F2Dull);
    }
    return h;
}

static inline bool masks_equal(unsigned words, const uint64_t *x1, const uint64_t *z1, const uint64_t *x2,
                               const uint64_t *z2)
{
    if (words == 1)
        return x1[0] == x2[0] && z1[0] == z2[0];
    for (unsigned w = 0; w < words; w++)
        if (x1[w] != x2[w] || z1[w] != z2[w])
            return false;
    return true;
}

static inline unsigned ctz64(uint64_t v)
{
#if defined(__GNUC__)
    return (unsigned)__builtin_ctzll(v);
#else
    unsigned n = 0;
    while (!(v & 1u)) {
        v >>= 1;
        n++;
    }
    return n;
#endif
}

static inline unsigned popcount64(uint64_t v)
{
#if defined(__GNUC__)
    return (unsigned)__builtin_popcountll(v);
#else
    v = v - ((v >> 1) & 0x5555555555555555ull);
    v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
    v = (v + (v >> 4)) & 0x0F0F0F0F0F0F0F0Full;
    return (unsigned)((v * 0x0101010101010101ull) >> 56);
#endif
}

/* ---- handles ------------------------------------------------------------- */

int qml_pauli_sum_create(qml_pauli_sum **out, unsigned n_qubits)
{
    QML_CHECK_NULL(out);
    int status = check_n_qubits(n_qubits, __func__);
    if (status)
        return status;
    qml_pauli_sum *sum = qml__calloc(1, sizeof *sum);
    if (!sum)
        return qml__oom("a Pauli sum");
    sum->n_qubits = n_qubits;
    sum->words = qml__pauli_words(n_qubits);
    *out = sum;
    qml__ok();
    return QML_OK;
}

int qml_pauli_sum_copy(qml_pauli_sum **out, const qml_pauli_sum *sum)
{
    QML_CHECK_NULL(out);
    QML_CHECK_NULL(sum);
    qml_pauli_sum *copy = NULL;
    int status = qml_pauli_sum_create(&copy, sum->n_qubits);
    if (status)
        return status;
    status = reserve(copy, sum->n_terms);
    if (status) {
        qml_pauli_sum_free(copy);
        return status;
    }
    size_t mask_words = sum->n_terms * sum->words;
    if (sum->n_terms) {
        memcpy(copy->x, sum->x, mask_words * sizeof *copy->x);
        memcpy(copy->z, sum->z, mask_words * sizeof *copy->z);
        memcpy(copy->coeff, sum->coeff, sum->n_terms * sizeof *copy->coeff);
    }
    copy->n_terms = sum->n_terms;
    rebuild_slots(copy);
    *out = copy;
    qml__ok();
    return QML_OK;
}

void qml_pauli_sum_free(qml_pauli_sum *sum)
{
    if (!sum)
        return;
    qml__free(sum->x);
    qml__free(sum->z);
    qml__free(sum->coeff);
    qml__free(sum->slots);
    qml__free(sum);
}

unsigned qml_pauli_sum_n_qubits(const qml_pauli_sum *sum)
{
    return sum ? sum->n_qubits : 0;
}

size_t qml_pauli_sum_n_terms(const qml_pauli_sum *sum)
{
    return sum ? sum->n_terms : 0;
}

/* ---- text ------------------------------------------------------------------ */

int qml_pauli_sum_parse(qml_pauli_sum **out, unsigned n_qubits, const char *text)
{
    QML_CHECK_NULL(out);
    QML_CHECK_NULL(text);
    if (n_qubits != 0) {
        int status = check_n_qubits(n_qubits, __func__);
        if (status)
            return status;
    }
    qml_pauli_sum *sum = NULL;
    int status = parse_text(text, n_qubits, &sum);
    if (status)
        return status;
    *out = sum;
    qml__ok();
    return QML_OK;
}

int qml_pauli_sum_format(const qml_pauli_sum *sum, char *buffer, size_t capacity, size_t *length)
{
    QML_CHECK_NULL(sum);
    QML_CHECK_ARG(buffer != NULL || capacity == 0, "%s: buffer is NULL but capacity is %zu", __func__, capacity);
    /* First measure, so that a buffer too small is left untouched. */
    size_t needed = format_text(sum, NULL, 0);
    if (length)
        *length = needed;
    if (capacity <= needed)
        return qml__error(QML_ERR_OUT_OF_RANGE, "%s: the text needs %zu bytes with its NUL, capacity is %zu",
                          __func__, needed + 1, capacity);
    format_text(sum, buffer, capacity);
    qml__ok();
    return QML_OK;
}

/* ---- building sums ------------------------------------------------------------ */

int qml_pauli_sum_add_term(qml_pauli_sum *sum, double coefficient, const char *ops, const unsigned *qubits,
                           size_t count)
{
    QML_CHECK_NULL(sum);
    QML_CHECK_ARG(isfinite(coefficient), "%s: coefficient %g is not finite", __func__, coefficient);
    QML_CHECK_ARG(count == 0 || (ops != NULL && qubits != NULL), "%s: ops or qubits is NULL with count %zu",
                  __func__, count);
    QML_CHECK_ARG(count <= sum->n_qubits, "%s: count %zu exceeds the %u qubits of the sum", __func__, count,
                  sum->n_qubits);
    unsigned words = sum->words;
    scratch s;
    uint64_t *x = scratch_get(&s, 3 * (size_t)words);
    if (!x)
        return qml__oom("Pauli masks");
    uint64_t *z = x + words, *seen = z + words;
    memset(x, 0, 3 * (size_t)words * sizeof *x);
    int status = QML_OK;
    for (size_t i = 0; i < count && status == QML_OK; i++) {
        unsigned q = qubits[i];
        uint64_t xb, zb;
        if (letter_masks(ops[i], &xb, &zb)) {
            status = qml__error(QML_ERR_INVALID_ARGUMENT, "%s: ops[%zu] = '%c' (code %d) is not one of I, X, Y, Z",
                                __func__, i, ops[i] >= 32 && ops[i] < 127 ? ops[i] : '?', (int)(unsigned char)ops[i]);
        } else if (q >= sum->n_qubits) {
            status = qml__error(QML_ERR_OUT_OF_RANGE, "%s: qubits[%zu] = %u out of range for %u qubits", __func__, i,
                                q, sum->n_qubits);
        } else {
            uint64_t bit = 1ull << (q % 64);
            if (seen[q / 64] & bit)
                status = qml__error(QML_ERR_INVALID_ARGUMENT, "%s: qubit %u appears twice (qubits[%zu])", __func__, q,
                                    i);
            seen[q / 64] |= bit;
            x[q / 64] |= xb * bit;
            z[q / 64] |= zb * bit;
        }
    }
    if (status == QML_OK && coefficient != 0.0)
        status = qml__pauli_sum_add_masks(sum, coefficient, x, z);
    scratch_release(&s);
    if (status != QML_OK)
        return qml__error_context(status, __func__);
    qml__ok();
    return QML_OK;
}

int qml_pauli_sum_add_string(qml_pauli_sum *sum, double coefficient, const char *dense)
{
    QML_CHECK_NULL(sum);
    QML_CHECK_NULL(dense);
    QML_CHECK_ARG(isfinite(coefficient), "%s: coefficient %g is not finite", __func__, coefficient);
    unsigned n = sum->n_qubits;
    for (unsigned q = 0; q < n; q++) {
        uint64_t xb, zb;
        if (dense[q] == '\0')
            return qml__error(QML_ERR_INVALID_ARGUMENT, "%s: dense string \"%.40s\" has %u characters, expected %u",
                              __func__, dense, q, n);
        if (letter_masks(dense[q], &xb, &zb))
            return qml__error(QML_ERR_INVALID_ARGUMENT,
                              "%s: character %u of the dense string (code %d) is not one of I, X, Y, Z", __func__, q,
                              (int)(unsigned char)dense[q]);
    }
    if (dense[n] != '\0')
        return qml__error(QML_ERR_INVALID_ARGUMENT, "%s: dense string is longer than the %u qubits of the sum",
                          __func__, n);
    unsigned words = sum->words;
    scratch s;
    uint64_t *x = scratch_get(&s, 2 * (size_t)words);
    if (!x)
        return qml__oom("Pauli masks");
    uint64_t *z = x + words;
    memset(x, 0, 2 * (size_t)words * sizeof *x);
    for (unsigned q = 0; q < n; q++) {
        uint64_t xb, zb;
        letter_masks(dense[q], &xb, &zb);
        x[q / 64] |= xb << (q % 64);
        z[q / 64] |= zb << (q % 64);
    }
    int status = coefficient != 0.0 ? qml__pauli_sum_add_masks(sum, coefficient, x, z) : QML_OK;
    scratch_release(&s);
    if (status != QML_OK)
        return qml__error_context(status, __func__);
    qml__ok();
    return QML_OK;
}

int qml_pauli_sum_term(const qml_pauli_sum *sum, size_t index, double *coefficient, char *dense)
{
    QML_CHECK_NULL(sum);
    if (index >= sum->n_terms)
        return qml__error(QML_ERR_OUT_OF_RANGE, "%s: term %zu out of range for a sum of %zu terms", __func__, index,
                          sum->n_terms);
    if (coefficient)
        *coefficient = sum->coeff[index];
    if (dense) {
        const uint64_t *x = sum->x + index * sum->words, *z = sum->z + index * sum->words;
        for (unsigned q = 0; q < sum->n_qubits; q++) {
            unsigned bits = (unsigned)((x[q / 64] >> (q % 64)) & 1u) | (unsigned)(((z[q / 64] >> (q % 64)) & 1u) << 1);
            dense[q] = "IXZY"[bits];
        }
        dense[sum->n_qubits] = '\0';
    }
    qml__ok();
    return QML_OK;
}

int qml_pauli_sum_add(qml_pauli_sum *sum, double alpha, const qml_pauli_sum *other)
{
    int status = check_pair(sum, other, __func__);
    if (status)
        return status;
    QML_CHECK_ARG(isfinite(alpha), "%s: alpha %g is not finite", __func__, alpha);
    unsigned words = sum->words;
    if (sum == other) {
        /* sum += alpha * sum, term by term as if other were a copy. */
        for (size_t t = 0; t < sum->n_terms; t++)
            if (!isfinite(sum->coeff[t] + alpha * sum->coeff[t]))
                return qml__error(QML_ERR_OUT_OF_RANGE, "%s: coefficient of term %zu overflows", __func__, t);
        for (size_t t = 0; t < sum->n_terms; t++)
            sum->coeff[t] = sum->coeff[t] + alpha * sum->coeff[t];
        qml__pauli_sum_prune(sum, 0.0);
        qml__ok();
        return QML_OK;
    }
    if (alpha == 0.0 || other->n_terms == 0) {
        qml__ok();
        return QML_OK;
    }
    /* Check every new coefficient first and reserve room for every term,
     * so that a failure leaves the sum as it was. */
    for (size_t t = 0; t < other->n_terms; t++) {
        const uint64_t *x = other->x + t * words, *z = other->z + t * words;
        size_t found = qml__pauli_sum_find(sum, x, z);
        double value = alpha * other->coeff[t] + (found == SIZE_MAX ? 0.0 : sum->coeff[found]);
        if (!isfinite(value))
            return qml__error(QML_ERR_OUT_OF_RANGE, "%s: coefficient of term %zu of other overflows", __func__, t);
    }
    if (other->n_terms > SIZE_MAX - sum->n_terms)
        return qml__oom("Pauli sum terms");
    status = reserve(sum, sum->n_terms + other->n_terms);
    if (status)
        return status;
    for (size_t t = 0; t < other->n_terms; t++)
        accumulate(sum, alpha * other->coeff[t], other->x + t * words, other->z + t * words);
    qml__pauli_sum_prune(sum, 0.0);
    qml__ok();
    return QML_OK;
}

int qml_pauli_sum_scale(qml_pauli_sum *sum, double alpha)
{
    QML_CHECK_NULL(sum);
    QML_CHECK_ARG(isfinite(alpha), "%s: alpha %g is not finite", __func__, alpha);
    for (size_t t = 0; t < sum->n_terms; t++)
        if (!isfinite(alpha * sum->coeff[t]))
            return qml__error(QML_ERR_OUT_OF_RANGE, "%s: alpha %g times coefficient %g of term %zu overflows",
                              __func__, alpha, sum->coeff[t], t);
    for (size_t t = 0; t < sum->n_terms; t++)
        sum->coeff[t] *= alpha;
    /* alpha = 0, or products that underflow to 0, leave exact zeros. */
    qml__pauli_sum_prune(sum, 0.0);
    qml__ok();
    return QML_OK;
}

/* ---- algebra ------------------------------------------------------------------ */

int qml_pauli_sum_bracket(qml_pauli_sum **out, const qml_pauli_sum *a, const qml_pauli_sum *b)
{
    return combine(out, a, b, true, __func__);
}

int qml_pauli_sum_anticommutator(qml_pauli_sum **out, const qml_pauli_sum *a, const qml_pauli_sum *b)
{
    return combine(out, a, b, false, __func__);
}

int qml_pauli_sum_inner(const qml_pauli_sum *a, const qml_pauli_sum *b, double *out)
{
    int status = check_pair(a, b, __func__);
    if (status)
        return status;
    QML_CHECK_NULL(out);
    /* Tr(P Q) / 2^n = [P = Q] for Pauli strings, so only common strings
     * contribute. Walk the smaller sum and look up in the larger. */
    const qml_pauli_sum *small = a->n_terms <= b->n_terms ? a : b;
    const qml_pauli_sum *large = small == a ? b : a;
    unsigned words = a->words;
    double total = 0.0;
    for (size_t t = 0; t < small->n_terms; t++) {
        size_t found = qml__pauli_sum_find(large, small->x + t * words, small->z + t * words);
        if (found != SIZE_MAX)
            total += small->coeff[t] * large->coeff[found];
    }
    *out = total;
    qml__ok();
    return QML_OK;
}

int qml_pauli_sum_norm(const qml_pauli_sum *a, double *out)
{
    QML_CHECK_NULL(a);
    QML_CHECK_NULL(out);
    /* Scaled sum of squares, so that huge or tiny coefficients neither
     * overflow nor underflow (the LAPACK dnrm2 idea). */
    double scale = 0.0;
    for (size_t t = 0; t < a->n_terms; t++)
        if (fabs(a->coeff[t]) > scale)
            scale = fabs(a->coeff[t]);
    double total = 0.0;
    if (scale > 0.0)
        for (size_t t = 0; t < a->n_terms; t++) {
            double r = a->coeff[t] / scale;
            total += r * r;
        }
    *out = scale * sqrt(total);
    qml__ok();
    return QML_OK;
}

int qml_pauli_sum_trace(const qml_pauli_sum *a, double *out)
{
    QML_CHECK_NULL(a);
    QML_CHECK_NULL(out);
    scratch s;
    uint64_t *zero = scratch_get(&s, a->words);
    if (!zero)
        return qml__oom("Pauli masks");
    memset(zero, 0, a->words * sizeof *zero);
    size_t found = qml__pauli_sum_find(a, zero, zero);
    scratch_release(&s);
    *out = found == SIZE_MAX ? 0.0 : a->coeff[found];
    qml__ok();
    return QML_OK;
}

int qml_pauli_sum_equal(const qml_pauli_sum *a, const qml_pauli_sum *b, double tolerance, int *equal)
{
    int status = check_pair(a, b, __func__);
    if (status)
        return status;
    QML_CHECK_NULL(equal);
    QML_CHECK_ARG(isfinite(tolerance) && tolerance >= 0.0, "%s: tolerance %g is not a finite number >= 0",
                  __func__, tolerance);
    unsigned words = a->words;
    int same = 1;
    for (size_t t = 0; t < a->n_terms && same; t++) {
        size_t found = qml__pauli_sum_find(b, a->x + t * words, a->z + t * words);
        double other = found == SIZE_MAX ? 0.0 : b->coeff[found];
        if (!(fabs(a->coeff[t] - other) <= tolerance))
            same = 0;
    }
    for (size_t t = 0; t < b->n_terms && same; t++)
        if (qml__pauli_sum_find(a, b->x + t * words, b->z + t * words) == SIZE_MAX && !(fabs(b->coeff[t]) <= tolerance))
            same = 0;
    *equal = same;
    qml__ok();
    return QML_OK;
}

int qml_pauli_sum_commutes(const qml_pauli_sum *a, const qml_pauli_sum *b, double tolerance, int *commute)
{
    int status = check_pair(a, b, __func__);
    if (status)
        return status;
    QML_CHECK_NULL(commute);
    QML_CHECK_ARG(isfinite(tolerance) && tolerance >= 0.0, "%s: tolerance %g is not a finite number >= 0",
                  __func__, tolerance);
    /* Decided on copies scaled by powers of two so that each largest
     * coefficient lies in [1/2, 1): -i[A, B] = 2^(ea + eb) (-i[A', B']) exactly
     * (barring subnormals), and |c| <= tol exactly when |c'| <= tol 2^-(ea + eb).
     * Sums near the limits of a double then neither overflow the bracket
     * (coefficients of 1e200 used to return QML_ERR_OUT_OF_RANGE) nor have
     * it underflow to a false zero. */
    qml_pauli_sum *scaled[2] = {NULL, NULL}, *bracket = NULL;
    int exponent[2] = {0, 0};
    const qml_pauli_sum *input[2] = {a, b};
    for (int k = 0; k < 2 && !status; k++) {
        status = qml_pauli_sum_copy(&scaled[k], input[k]);
        if (status)
            break;
        double largest = 0.0;
        for (size_t t = 0; t < scaled[k]->n_terms; t++)
            largest = fmax(largest, fabs(scaled[k]->coeff[t]));
        (void)frexp(largest, &exponent[k]);
        for (size_t t = 0; t < scaled[k]->n_terms; t++)
            scaled[k]->coeff[t] = ldexp(scaled[k]->coeff[t], -exponent[k]);
    }
    if (!status)
        status = qml_pauli_sum_bracket(&bracket, scaled[0], scaled[1]);
    qml_pauli_sum_free(scaled[0]);
    qml_pauli_sum_free(scaled[1]);
    if (status)
        return status;
    const double threshold = ldexp(tolerance, -(exponent[0] + exponent[1]));
    int zero = 1;
    for (size_t t = 0; t < bracket->n_terms && zero; t++)
        if (!(fabs(bracket->coeff[t]) <= threshold))
            zero = 0;
    qml_pauli_sum_free(bracket);
    *commute = zero;
    qml__ok();
    return QML_OK;
}

int qml_pauli_strings_commute(unsigned n_qubits, const char *a, const char *b, int *commute)
{
    QML_CHECK_NULL(a);
    QML_CHECK_NULL(b);
    QML_CHECK_NULL(commute);
    int status = check_n_qubits(n_qubits, __func__);
    if (status)
        return status;
    /* Two strings anticommute iff they anticommute on an odd number of
     * qubits, i.e. qubits where both act by different non-identity letters. */
    unsigned clashes = 0;
    const char *strings[2] = {a, b};
    for (int s = 0; s < 2; s++) {
        for (unsigned q = 0; q < n_qubits; q++) {
            uint64_t xb, zb;
            if (strings[s][q] == '\0')
                return qml__error(QML_ERR_INVALID_ARGUMENT, "%s: string %c has %u characters, expected %u", __func__,
                                  s ? 'b' : 'a', q, n_qubits);
            if (letter_masks(strings[s][q], &xb, &zb))
                return qml__error(QML_ERR_INVALID_ARGUMENT,
                                  "%s: character %u of string %c (code %d) is not one of I, X, Y, Z", __func__, q,
                                  s ? 'b' : 'a', (int)(unsigned char)strings[s][q]);
        }
        if (strings[s][n_qubits] != '\0')
            return qml__error(QML_ERR_INVALID_ARGUMENT, "%s: string %c is longer than %u characters", __func__,
                              s ? 'b' : 'a', n_qubits);
    }
    for (unsigned q = 0; q < n_qubits; q++)
        if (a[q] != 'I' && b[q] != 'I' && a[q] != b[q])
            clashes++;
    *commute = (clashes & 1u) == 0;
    qml__ok();
    return QML_OK;
}

int qml_pauli_sum_support(const qml_pauli_sum *sum, unsigned *qubits, size_t capacity, size_t *count)
{
    QML_CHECK_NULL(sum);
    QML_CHECK_NULL(count);
    QML_CHECK_ARG(qubits != NULL || capacity == 0, "%s: qubits is NULL but capacity is %zu", __func__, capacity);
    unsigned words = sum->words;
    scratch s;
    uint64_t *acting = scratch_get(&s, words);
    if (!acting)
        return qml__oom("Pauli masks");
    memset(acting, 0, words * sizeof *acting);
    for (size_t t = 0; t < sum->n_terms; t++)
        for (unsigned w = 0; w < words; w++)
            acting[w] |= sum->x[t * words + w] | sum->z[t * words + w];
    size_t n = 0;
    for (unsigned w = 0; w < words; w++)
        for (uint64_t bits = acting[w]; bits; bits &= bits - 1) {
            if (n < capacity)
                qubits[n] = w * 64u + ctz64(bits);
            n++;
        }
    scratch_release(&s);
    *count = n;
    if (n > capacity)
        return qml__error(QML_ERR_OUT_OF_RANGE, "%s: the support has %zu qubits, capacity is %zu", __func__, n,
                          capacity);
    qml__ok();
    return QML_OK;
}

int qml_pauli_sum_to_dense(const qml_pauli_sum *sum, double *matrix, size_t capacity)
{
    QML_CHECK_NULL(sum);
    QML_CHECK_NULL(matrix);
    unsigned n = sum->n_qubits;
    if (n > PAULI_MAX_DENSE_QUBITS)
        return qml__error(QML_ERR_LIMIT, "%s: %u qubits; dense matrices are limited to %u qubits", __func__, n,
                          PAULI_MAX_DENSE_QUBITS);
    size_t dim = (size_t)1 << n;
    size_t needed = 2 * dim * dim;
    if (capacity < needed)
        return qml__error(QML_ERR_OUT_OF_RANGE, "%s: capacity %zu doubles, need 2 * 4^%u = %zu", __func__, capacity,
                          n, needed);
    memset(matrix, 0, needed * sizeof *matrix);
    /* P(x, z)|c> = i^{|x&z|} (-1)^{|z&c|} |c ^ x>: one entry per column. */
    for (size_t t = 0; t < sum->n_terms; t++) {
        uint64_t x = sum->x[t], z = sum->z[t];
        double c = sum->coeff[t];
        unsigned base = popcount64(x & z) & 3u;
        for (size_t col = 0; col < dim; col++) {
            unsigned phase = (base + 2u * (popcount64(z & col) & 1u)) & 3u;
            size_t row = col ^ (size_t)x;
            double *entry = matrix + 2 * (row * dim + col);
            /* i^phase = 1, i, -1, -i */
            if (phase == 0)
                entry[0] += c;
            else if (phase == 1)
                entry[1] += c;
            else if (phase == 2)
                entry[0] -= c;
            else
                entry[1] -= c;
        }
    }
    qml__ok();
    return QML_OK;
}

/* ---- internals shared with other units -------------------------------------- */

int qml__pauli_sum_add_masks(qml_pauli_sum *sum, double coeff, const uint64_t *x, const uint64_t *z)
{
    if (!isfinite(coeff))
        return qml__error(QML_ERR_INVALID_ARGUMENT, "Pauli sum: coefficient %g is not finite", coeff);
    if (coeff == 0.0)
        return QML_OK;
    size_t found = qml__pauli_sum_find(sum, x, z);
    if (found != SIZE_MAX) {
        double value = sum->coeff[found] + coeff;
        if (!isfinite(value))
            return qml__error(QML_ERR_OUT_OF_RANGE, "Pauli sum: coefficient %g + %g overflows", sum->coeff[found],
                              coeff);
        sum->coeff[found] = value;
        if (value == 0.0)
            remove_term(sum, found);
        return QML_OK;
    }
    if (sum->n_terms == SIZE_MAX)
        return qml__oom("Pauli sum terms");
    int status = reserve(sum, sum->n_terms + 1);
    if (status)
        return status;
    accumulate(sum, coeff, x, z);
    return QML_OK;
}

void qml__pauli_sum_prune(qml_pauli_sum *sum, double threshold)
{
    unsigned words = sum->words;
    size_t kept = 0;
    for (size_t t = 0; t < sum->n_terms; t++) {
        if (!(fabs(sum->coeff[t]) > threshold))
            continue;
        if (kept != t) {
            memcpy(sum->x + kept * words, sum->x + t * words, words * sizeof *sum->x);
            memcpy(sum->z + kept * words, sum->z + t * words, words * sizeof *sum->z);
            sum->coeff[kept] = sum->coeff[t];
        }
        kept++;
    }
    if (kept != sum->n_terms) {
        sum->n_terms = kept;
        rebuild_slots(sum);
    }
}

size_t qml__pauli_sum_find(const qml_pauli_sum *sum, const uint64_t *x, const uint64_t *z)
{
    if (sum->n_slots == 0)
        return SIZE_MAX;
    unsigned words = sum->words;
    size_t mask = sum->n_slots - 1;
    for (size_t slot = (size_t)hash_masks(words, x, z) & mask;; slot = (slot + 1) & mask) {
        size_t entry = sum->slots[slot];
        if (entry == 0)
            return SIZE_MAX;
        size_t t = entry - 1;
        if (masks_equal(words, sum->x + t * words, sum->z + t * words, x, z))
            return t;
    }
}

unsigned qml__pauli_product_phase(unsigned words, const uint64_t *x1, const uint64_t *z1, const uint64_t *x2,
                                  const uint64_t *z2)
{
    /* With P(x, z) = i^{x.z} X^x Z^z (per qubit, x.z counted as an integer):
     *   P1 P2 = i^{x1.z1 + x2.z2} X^x1 Z^z1 X^x2 Z^z2
     *         = i^{x1.z1 + x2.z2 + 2 z1.x2} X^{x1^x2} Z^{z1^z2}   (Z X = -X Z)
     *         = i^{x1.z1 + x2.z2 + 2 z1.x2 - x3.z3} P(x3, z3),  x3 = x1^x2, z3 = z1^z2.
     * This is the symplectic phase rule of Aaronson & Gottesman, "Improved
     * simulation of stabilizer circuits", PRA 70, 052328 (2004), written
     * with popcounts so that it costs a few word operations per 64 qubits. */
    unsigned phase = 0;
    for (unsigned w = 0; w < words; w++) {
        uint64_t x3 = x1[w] ^ x2[w], z3 = z1[w] ^ z2[w];
        phase += popcount64(x1[w] & z1[w]) + popcount64(x2[w] & z2[w]) + 2u * popcount64(z1[w] & x2[w]) +
                 3u * popcount64(x3 & z3); /* -1 = +3 mod 4 */
    }
    return phase & 3u;
}

int qml__pauli_anticommute(unsigned words, const uint64_t *x1, const uint64_t *z1, const uint64_t *x2,
                           const uint64_t *z2)
{
    /* The symplectic form: the strings anticommute iff x1.z2 + z1.x2 is odd. */
    uint64_t parity = 0;
    for (unsigned w = 0; w < words; w++)
        parity ^= (x1[w] & z2[w]) ^ (z1[w] & x2[w]);
    return (int)(popcount64(parity) & 1u);
}

/* ---- helpers ------------------------------------------------------------------ */

static int check_n_qubits(unsigned n_qubits, const char *caller)
{
    if (n_qubits == 0)
        return qml__error(QML_ERR_INVALID_ARGUMENT, "%s: n_qubits is 0", caller);
    if (n_qubits > PAULI_MAX_QUBITS)
        return qml__error(QML_ERR_LIMIT, "%s: %u qubits exceeds the limit of %u", caller, n_qubits,
                          PAULI_MAX_QUBITS);
    return QML_OK;
}

static int check_pair(const qml_pauli_sum *a, const qml_pauli_sum *b, const char *caller)
{
    if (!a || !b)
        return qml__error(QML_ERR_INVALID_ARGUMENT, "%s: argument '%s' is NULL", caller, !a ? "a" : "b");
    if (a->n_qubits != b->n_qubits)
        return qml__error(QML_ERR_INVALID_ARGUMENT, "%s: operands act on %u and %u qubits", caller, a->n_qubits,
                          b->n_qubits);
    return QML_OK;
}

static uint64_t *scratch_get(scratch *s, size_t n_words)
{
    s->data = n_words <= SCRATCH_WORDS ? s->small : qml__malloc(qml__mul_size(n_words, sizeof(uint64_t)));
    return s->data;
}

static void scratch_release(scratch *s)
{
    if (s->data != s->small)
        qml__free(s->data);
    s->data = NULL;
}

/* 'I', 'X', 'Y', 'Z' to their (x, z) bits; non-zero for any other character. */
static int letter_masks(char letter, uint64_t *x_bit, uint64_t *z_bit)
{
    switch (letter) {
    case 'I': *x_bit = 0; *z_bit = 0; return 0;
    case 'X': *x_bit = 1; *z_bit = 0; return 0;
    case 'Y': *x_bit = 1; *z_bit = 1; return 0;
    case 'Z': *x_bit = 0; *z_bit = 1; return 0;
    default: *x_bit = 0; *z_bit = 0; return 1;
    }
}

/* Make room for n_terms terms: capacity a power of two, the hash table
 * twice as large (load at most 1/2). On failure the sum is unchanged
 * (arrays that did grow keep their contents). */
static int reserve(qml_pauli_sum *sum, size_t n_terms)
{
    if (n_terms <= sum->capacity)
        return QML_OK;
    size_t capacity = sum->capacity ? sum->capacity : 8;
    while (capacity < n_terms) {
        if (capacity > SIZE_MAX / 4)
            return qml__oom("Pauli sum terms");
        capacity *= 2;
    }
    size_t mask_bytes = qml__mul_size(qml__mul_size(capacity, sum->words), sizeof(uint64_t));
    uint64_t *x = qml__realloc(sum->x, mask_bytes);
    if (!x)
        return qml__oom("Pauli sum x masks");
    sum->x = x;
    uint64_t *z = qml__realloc(sum->z, mask_bytes);
    if (!z)
        return qml__oom("Pauli sum z masks");
    sum->z = z;
    double *coeff = qml__realloc(sum->coeff, qml__mul_size(capacity, sizeof *coeff));
    if (!coeff)
        return qml__oom("Pauli sum coefficients");
    sum->coeff = coeff;
    size_t *slots = qml__calloc(2 * capacity, sizeof *slots);
    if (!slots)
        return qml__oom("Pauli sum hash table");
    qml__free(sum->slots);
    sum->slots = slots;
    sum->n_slots = 2 * capacity;
    sum->capacity = capacity;
    rebuild_slots(sum);
    return QML_OK;
}

/* sum += coeff * P(x, z) with room already reserved, keeping a term that
 * cancels to 0 in place (callers prune once at the end). Returns its index. */
static size_t accumulate(qml_pauli_sum *sum, double coeff, const uint64_t *x, const uint64_t *z)
{
    unsigned words = sum->words;
    size_t mask = sum->n_slots - 1;
    size_t slot = (size_t)hash_masks(words, x, z) & mask;
    for (;; slot = (slot + 1) & mask) {
        size_t entry = sum->slots[slot];
        if (entry == 0)
            break;
        size_t t = entry - 1;
        if (masks_equal(words, sum->x + t * words, sum->z + t * words, x, z)) {
            sum->coeff[t] += coeff;
            return t;
        }
    }
    size_t t = sum->n_terms++;
    memcpy(sum->x + t * words, x, words * sizeof *x);
    memcpy(sum->z + t * words, z, words * sizeof *z);
    sum->coeff[t] = coeff;
    sum->slots[slot] = t + 1;
    return t;
}

static void rebuild_slots(qml_pauli_sum *sum)
{
    if (sum->n_slots == 0)
        return;
    memset(sum->slots, 0, sum->n_slots * sizeof *sum->slots);
    unsigned words = sum->words;
    size_t mask = sum->n_slots - 1;
    for (size_t t = 0; t < sum->n_terms; t++) {
        size_t slot = (size_t)hash_masks(words, sum->x + t * words, sum->z + t * words) & mask;
        while (sum->slots[slot] != 0)
            slot = (slot + 1) & mask;
        sum->slots[slot] = t + 1;
    }
}

/* Remove one term, keeping the relative order of the others: O(terms). */
static void remove_term(qml_pauli_sum *sum, size_t index)
{
    unsigned words = sum->words;
    size_t after = sum->n_terms - index - 1;
    memmove(sum->x + index * words, sum->x + (index + 1) * words, after * words * sizeof *sum->x);
    memmove(sum->z + index * words, sum->z + (index + 1) * words, after * words * sizeof *sum->z);
    memmove(sum->coeff + index, sum->coeff + index + 1, after * sizeof *sum->coeff);
    sum->n_terms--;
    rebuild_slots(sum);
}

static int check_finite_coefficients(qml_pauli_sum *sum, const char *caller)
{
    for (size_t t = 0; t < sum->n_terms; t++)
        if (!isfinite(sum->coeff[t]))
            return qml__error(QML_ERR_OUT_OF_RANGE, "%s: a coefficient of the result overflows", caller);
    return QML_OK;
}

/* out = -i[A, B] (bracket) or {A, B}/2, term pair by term pair:
 * for strings with P_a P_b = i^phase P_c,
 *   -i[P_a, P_b] = 2 i^{phase-1} P_c if they anticommute (phase odd), else 0;
 *   {P_a, P_b}/2 = i^phase P_c       if they commute (phase even), else 0. */
static int combine(qml_pauli_sum **out, const qml_pauli_sum *a, const qml_pauli_sum *b, bool bracket,
                   const char *caller)
{
    if (!out)
        return qml__error(QML_ERR_INVALID_ARGUMENT, "%s: argument 'out' is NULL", caller);
    int status = check_pair(a, b, caller);
    if (status)
        return status;
    qml_pauli_sum *result = NULL;
    status = qml_pauli_sum_create(&result, a->n_qubits);
    if (status)
        return status;
    unsigned words = a->words;
    scratch s;
    uint64_t *x3 = scratch_get(&s, 2 * (size_t)words);
    if (!x3) {
        qml_pauli_sum_free(result);
        return qml__oom("Pauli masks");
    }
    uint64_t *z3 = x3 + words;
    for (size_t i = 0; i < a->n_terms && status == QML_OK; i++) {
        const uint64_t *x1 = a->x + i * words, *z1 = a->z + i * words;
        double ca = a->coeff[i];
        for (size_t j = 0; j < b->n_terms; j++) {
            const uint64_t *x2 = b->x + j * words, *z2 = b->z + j * words;
            double value;
            if (words == 1) {
                /* Fast path: one word, everything in registers. */
                uint64_t xa = x1[0], za = z1[0], xb = x2[0], zb = z2[0];
                unsigned anti = popcount64((xa & zb) ^ (za & xb)) & 1u;
                if (anti != (unsigned)bracket)
                    continue;
                uint64_t xc = xa ^ xb, zc = za ^ zb;
                unsigned phase = (popcount64(xa & za) + popcount64(xb & zb) + 2u * popcount64(za & xb) +
                                  3u * popcount64(xc & zc)) & 3u;
                x3[0] = xc;
                z3[0] = zc;
                value = bracket ? (phase == 1 ? 2.0 : -2.0) : (phase == 0 ? 1.0 : -1.0);
            } else {
                if (qml__pauli_anticommute(words, x1, z1, x2, z2) != (int)bracket)
                    continue;
                unsigned phase = qml__pauli_product_phase(words, x1, z1, x2, z2);
                for (unsigned w = 0; w < words; w++) {
                    x3[w] = x1[w] ^ x2[w];
                    z3[w] = z1[w] ^ z2[w];
                }
                value = bracket ? (phase == 1 ? 2.0 : -2.0) : (phase == 0 ? 1.0 : -1.0);
            }
            value *= ca * b->coeff[j];
            if (result->n_terms == result->capacity) {
                status = reserve(result, result->n_terms + 1);
                if (status)
                    break;
            }
            accumulate(result, value, x3, z3);
        }
    }
    scratch_release(&s);
    if (status == QML_OK)
        status = check_finite_coefficients(result, caller); /* before pruning, which would drop NaN */
    if (status == QML_OK)
        qml__pauli_sum_prune(result, 0.0);
    if (status) {
        qml_pauli_sum_free(result);
        return status;
    }
    *out = result;
    qml__ok();
    return QML_OK;
}

/* ---- the text form ---------------------------------------------------------------
 *
 * sum     := ws [sign ws] term (ws ('+'|'-') ws [sign ws] term)* ws
 * term    := number [ws ['*' ws] factors] | factors
 * factors := factor ((ws | ws '*' ws) factor)*
 * factor  := letter digits   indexed: one of IXYZ on qubit <digits>
 *          | 'I'             the identity (any number of qubits)
 *          | letters         dense: a run of >= 1 of IXYZ, character k on qubit k
 * A run of letters directly followed by digits is indexed and must be a
 * single letter; a run without digits is dense ("I" alone is the identity).
 * A dense factor stands alone in its term and has exactly n_qubits letters.
 * A qubit may appear at most once per term.
 */

typedef struct parser {
    const char *text;
    size_t pos;
    unsigned n_qubits;      /* given, or 0 while inferring */
    qml_pauli_sum *sum;     /* NULL in the first (checking) pass */
    uint64_t *x, *z, *seen; /* the current term (second pass) */
    uint64_t max_index;     /* first pass: largest index + 1 */
    uint64_t n_terms;       /* first pass: terms read (before merging) */
    size_t dense_length;    /* first pass: length of the dense strings, 0 if none */
    size_t dense_pos;       /* where the first dense string starts */
} parser;

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_letter(char c)
{
    return c == 'I' || c == 'X' || c == 'Y' || c == 'Z';
}

static void skip_space(parser *p)
{
    while (is_space(p->text[p->pos]))
        p->pos++;
}

/* Quote up to 24 characters of the text at `pos` for a message. */
static void quote_at(const char *text, size_t pos, char *out, size_t out_size)
{
    const char *s = text + pos;
    if (*s == '\0') {
        snprintf(out, out_size, "end of text");
        return;
    }
    size_t k = 0, limit = 24;
    out[k++] = '\'';
    size_t i = 0;
    for (; s[i] != '\0' && i < limit && k + 6 < out_size; i++)
        out[k++] = (s[i] >= 32 && s[i] < 127) ? s[i] : '?';
    if (s[i] != '\0') {
        out[k++] = '.';
        out[k++] = '.';
        out[k++] = '.';
    }
    out[k++] = '\'';
    out[k] = '\0';
}

static int parse_error(const parser *p, int status, size_t pos, const char *what)
{
    char quoted[48];
    quote_at(p->text, pos, quoted, sizeof quoted);
    return qml__error(status, "qml_pauli_sum_parse: at position %zu: %s, at %s", pos, what, quoted);
}

/* number := digits ['.' digits] [('e'|'E') ['+'|'-'] digits], at least one
 * digit before the exponent. Scanned here so that strtod never sees "nan",
 * "inf" or hexadecimal forms; converted by qml__number_read (strtod in the
 * "C" locale: correctly rounded, '.' whatever the caller's locale). */
static int parse_number(parser *p, double *value)
{
    const char *s = p->text + p->pos;
    size_t k = 0, digits = 0;
    while (is_digit(s[k])) {
        k++;
        digits++;
    }
    if (s[k] == '.') {
        k++;
        while (is_digit(s[k])) {
            k++;
            digits++;
        }
    }
    if (digits == 0)
        return parse_error(p, QML_ERR_PARSE, p->pos, "malformed number");
    if (s[k] == 'e' || s[k] == 'E') {
        size_t e = k + 1;
        if (s[e] == '+' || s[e] == '-')
            e++;
        if (is_digit(s[e])) {
            while (is_digit(s[e]))
                e++;
            k = e;
        }
    }
    if (k > PARSE_MAX_NUMBER)
        return parse_error(p, QML_ERR_PARSE, p->pos, "number longer than 400 characters");
    char buffer[PARSE_MAX_NUMBER + 1];
    for (size_t i = 0; i < k; i++)
        buffer[i] = s[i];
    buffer[k] = '\0';
    const char *end = NULL;
    double v = qml__number_read(buffer, &end);
    if (end != buffer + k)
        return parse_error(p, QML_ERR_PARSE, p->pos, "malformed number");
    if (!isfinite(v))
        return parse_error(p, QML_ERR_PARSE, p->pos, "coefficient overflows a double");
    p->pos += k;
    *value = v;
    return QML_OK;
}

/* One factor at p->pos (a letter). `has_factor` and `has_dense` track the
 * term so far; a dense string must stand alone. */
static int parse_factor(parser *p, bool *has_indexed, bool *has_dense)
{
    size_t start = p->pos;
    const char *s = p->text + start;
    size_t run = 0;
    while (is_letter(s[run]))
        run++;
    if (is_digit(s[run])) {
        if (run > 1)
            return parse_error(p, QML_ERR_PARSE, start,
                               "a qubit index follows a single letter (write 'X0 Z1', or a dense string without digits)");
        if (*has_dense)
            return parse_error(p, QML_ERR_PARSE, start, "a dense string cannot be combined with other factors");
        uint64_t index = 0;
        size_t k = 1;
        for (; is_digit(s[k]); k++)
            if (index <= PAULI_MAX_QUBITS)
                index = index * 10u + (uint64_t)(s[k] - '0');
        uint64_t limit = p->n_qubits ? p->n_qubits : PAULI_MAX_QUBITS;
        if (index >= limit) {
            char what[96];
            if (p->n_qubits)
                snprintf(what, sizeof what, "qubit index out of range for %u qubits", p->n_qubits);
            else
                snprintf(what, sizeof what, "qubit index beyond the limit of %u qubits", PAULI_MAX_QUBITS);
            return parse_error(p, QML_ERR_OUT_OF_RANGE, start, what);
        }
        *has_indexed = true;
        p->pos += k;
        unsigned q = (unsigned)index;
        if (!p->sum) {
            if (index + 1 > p->max_index)
                p->max_index = index + 1;
            return QML_OK;
        }
        uint64_t bit = 1ull << (q % 64), xb, zb;
        if (p->seen[q / 64] & bit)
            return parse_error(p, QML_ERR_PARSE, start, "qubit repeated within one term");
        letter_masks(s[0], &xb, &zb);
        p->seen[q / 64] |= bit;
        p->x[q / 64] |= xb * bit;
        p->z[q / 64] |= zb * bit;
        return QML_OK;
    }
    p->pos += run;
    if (run == 1 && s[0] == 'I')
        return QML_OK; /* the identity */
    if (*has_indexed || *has_dense)
        return parse_error(p, QML_ERR_PARSE, start, "a dense string cannot be combined with other factors");
    *has_dense = true;
    if (!p->sum) {
        if (p->n_qubits && run != p->n_qubits) {
            char what[96];
            snprintf(what, sizeof what, "dense string of %zu letters for %u qubits", run, p->n_qubits);
            return parse_error(p, QML_ERR_OUT_OF_RANGE, start, what);
        }
        if (p->dense_length && run != p->dense_length) {
            char what[96];
            snprintf(what, sizeof what, "dense string of %zu letters after one of %zu", run, p->dense_length);
            return parse_error(p, QML_ERR_OUT_OF_RANGE, start, what);
        }
        if (run > PAULI_MAX_QUBITS)
            return parse_error(p, QML_ERR_OUT_OF_RANGE, start, "dense string longer than the qubit limit");
        if (!p->dense_length) {
            p->dense_length = run;
            p->dense_pos = start;
        }
        return QML_OK;
    }
    for (size_t q = 0; q < run; q++) {
        uint64_t xb, zb;
        letter_masks(s[q], &xb, &zb);
        p->x[q / 64] |= xb << (q % 64);
        p->z[q / 64] |= zb << (q % 64);
    }
    return QML_OK;
}

static int parse_term(parser *p, double sign)
{
    double coeff = 1.0;
    bool has_number = false, has_indexed = false, has_dense = false, need_factor = false;
    const char *s = p->text;
    if (is_digit(s[p->pos]) || (s[p->pos] == '.' && is_digit(s[p->pos + 1]))) {
        int status = parse_number(p, &coeff);
        if (status)
            return status;
        has_number = true;
        skip_space(p);
        if (s[p->pos] == '*') {
            p->pos++;
            skip_space(p);
            need_factor = true;
        }
    }
    if (p->sum) {
        memset(p->x, 0, 3 * (size_t)p->sum->words * sizeof *p->x);
    }
    bool any_factor = false;
    for (;;) {
        if (!is_letter(s[p->pos])) {
            if (need_factor || (!has_number && !any_factor))
                return parse_error(p, QML_ERR_PARSE, p->pos, "expected a coefficient or a Pauli factor (I, X, Y, Z)");
            break;
        }
        int status = parse_factor(p, &has_indexed, &has_dense);
        if (status)
            return status;
        any_factor = true;
        need_factor = false;
        size_t before = p->pos;
        skip_space(p);
        if (s[p->pos] == '*') {
            p->pos++;
            skip_space(p);
            need_factor = true;
        } else if (!is_letter(s[p->pos])) {
            p->pos = before;
            break;
        }
    }
    if (!p->sum)
        return QML_OK;
    return qml__pauli_sum_add_masks(p->sum, sign * coeff, p->x, p->z);
}

static int parse_pass(parser *p)
{
    const char *s = p->text;
    p->pos = 0;
    skip_space(p);
    if (s[p->pos] == '\0')
        return parse_error(p, QML_ERR_PARSE, p->pos, "empty text (write 0 for the zero operator)");
    for (bool first = true;; first = false) {
        double sign = 1.0;
        if (!first) {
            if (s[p->pos] != '+' && s[p->pos] != '-')
                return parse_error(p, QML_ERR_PARSE, p->pos, "expected '+', '-' or the end of the text");
            sign = s[p->pos] == '-' ? -1.0 : 1.0;
            p->pos++;
            skip_space(p);
        }
        if (s[p->pos] == '+' || s[p->pos] == '-') {
            sign = s[p->pos] == '-' ? -sign : sign;
            p->pos++;
            skip_space(p);
        }
        int status = parse_term(p, sign);
        if (status)
            return status;
        p->n_terms++;
        skip_space(p);
        if (s[p->pos] == '\0')
            return QML_OK;
    }
}

static int parse_text(const char *text, unsigned n_qubits, qml_pauli_sum **out)
{
    parser p;
    memset(&p, 0, sizeof p);
    p.text = text;
    p.n_qubits = n_qubits;
    /* Pass 1: syntax, ranges, and the number of qubits if it is inferred. */
    int status = parse_pass(&p);
    if (status)
        return status;
    if (n_qubits == 0) {
        uint64_t n = p.max_index > p.dense_length ? p.max_index : p.dense_length;
        if (n == 0)
            n = 1; /* only identity terms: one qubit */
        if (p.dense_length && p.dense_length != n) {
            char what[128];
            snprintf(what, sizeof what, "dense string of %zu letters, but an index implies %" PRIu64 " qubits",
                     p.dense_length, n);
            return parse_error(&p, QML_ERR_OUT_OF_RANGE, p.dense_pos, what);
        }
        n_qubits = (unsigned)n;
    }
    uint64_t mask_bytes = p.n_terms * qml__pauli_words(n_qubits) * 2u * sizeof(uint64_t);
    uint64_t mask_limit = (uint64_t)p.pos * PAULI_PARSE_MASK_PER_BYTE;
    if (mask_limit < PAULI_PARSE_MASK_FLOOR)
        mask_limit = PAULI_PARSE_MASK_FLOOR;
    if (mask_bytes > mask_limit)
        return qml__error(QML_ERR_LIMIT,
                          "qml_pauli_sum_parse: %" PRIu64 " terms on %u qubits would take %" PRIu64
                          " KiB of masks (terms x ceil(n_qubits/64) x 16 bytes) for %zu bytes of text; the limit "
                          "is 64 bytes per byte of text or 16 MiB, whichever is larger",
                          p.n_terms, n_qubits, mask_bytes >> 10, p.pos);
    /* Pass 2: build. */
    qml_pauli_sum *sum = NULL;
    status = qml_pauli_sum_create(&sum, n_qubits);
    if (status)
        return status;
    scratch s;
    uint64_t *masks = scratch_get(&s, 3 * (size_t)sum->words);
    if (!masks) {
        qml_pauli_sum_free(sum);
        return qml__oom("Pauli masks");
    }
    p.n_qubits = n_qubits;
    p.sum = sum;
    p.x = masks;
    p.z = masks + sum->words;
    p.seen = masks + 2 * (size_t)sum->words;
    status = parse_pass(&p);
    scratch_release(&s);
    if (status) {
        qml_pauli_sum_free(sum);
        return status;
    }
    *out = sum;
    return QML_OK;
}

/* Text writer: counts every byte, stores them while they fit. */
typedef struct writer {
    char *buffer;
    size_t capacity;
    size_t length;
} writer;

static void put(writer *w, const char *text, size_t n)
{
    if (w->buffer && w->length + n < w->capacity)
        memcpy(w->buffer + w->length, text, n);
    w->length += n;
}

static size_t format_text(const qml_pauli_sum *sum, char *buffer, size_t capacity)
{
    writer w = {buffer, capacity, 0};
    unsigned words = sum->words;
    if (sum->n_terms == 0)
        put(&w, "0", 1);
    for (size_t t = 0; t < sum->n_terms; t++) {
        double c = sum->coeff[t];
        bool negative = signbit(c) != 0;
        if (t == 0) {
            if (negative)
                put(&w, "-", 1);
        } else {
            put(&w, negative ? " - " : " + ", 3);
        }
        double magnitude = fabs(c);
        const uint64_t *x = sum->x + t * words, *z = sum->z + t * words;
        bool identity = true;
        for (unsigned i = 0; i < words; i++)
            if (x[i] | z[i])
                identity = false;
        if (magnitude != 1.0) {
            char number[QML__NUMBER_TEXT_MAX];
            size_t n = qml__number_write(magnitude, number);
            put(&w, number, n);
            put(&w, "*", 1);
        }
        if (identity) {
            put(&w, "I", 1);
            continue;
        }
        bool first = true;
        for (unsigned i = 0; i < words; i++)
            for (uint64_t bits = x[i] | z[i]; bits; bits &= bits - 1) {
                unsigned bit = ctz64(bits);
                unsigned code = (unsigned)((x[i] >> bit) & 1u) | (unsigned)(((z[i] >> bit) & 1u) << 1);
                char factor[16];
                int n = snprintf(factor, sizeof factor, "%s%c%u", first ? "" : " ", "IXZY"[code], i * 64u + bit);
                put(&w, factor, (size_t)n);
                first = false;
            }
    }
    if (w.buffer && w.length < w.capacity)
        w.buffer[w.length] = '\0';
    return w.length;
}
