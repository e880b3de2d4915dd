/*
 * lie_exact.c: the closure of Pauli-sum generators in exact arithmetic
 * modulo the prime p = 2^61 - 1, which decides the dimension without a
 * tolerance; the floating-point closure then replays its verdicts.
 *
 * Why it is exact: every coefficient is a rational number (each double is),
 * the bracket of two strings is +-2 times their product, so the nested
 * brackets of the generators have rational coordinates, and the dimension of
 * the algebra is the rank of that set over Q. Reduced modulo p (all
 * denominators are invertible: powers of 2, fractions with denominators
 * below 2^40, orbit sizes whose prime factors are <= 64) the rank can only
 * drop, never grow: the modular dimension is a proven lower bound, and equals
 * the rational one unless p divides one particular non-zero minor.
 *
 * Order: the floating-point closure (lie.c) considers the generators, then
 * -i[G_k, B_a] for a = 0, 1, ... and k = 0..K-1. Here the same candidates are
 * considered in the same order, and each gets the verdict "independent of
 * what came before" or not. Since span(B_0..B_a) is the same space in both
 * (induction), and -i[G_k, B_a] differs from -i[G_k, b_a] by brackets of
 * earlier elements, which earlier candidates already put in the span, the
 * verdicts are valid for the floating-point basis as well.
 */
#include "lie_internal.h"

#include <math.h>
#include <string.h>

#define P61 0x1fffffffffffffffull /* 2^61 - 1, prime */

/* ---- arithmetic modulo 2^61 - 1 ------------------------------------------------ */

static inline uint64_t mod_reduce(uint64_t v) /* v < 2^64 */
{
    v = (v & P61) + (v >> 61);
    return v >= P61 ? v - P61 : v;
}

static inline uint64_t mod_add(uint64_t a, uint64_t b)
{
    uint64_t s = a + b; /* < 2^62 */
    return s >= P61 ? s - P61 : s;
}

static inline uint64_t mod_neg(uint64_t a)
{
    return a ? P61 - a : 0;
}

/* a b mod 2^61 - 1 with 32-bit halves (portable C11): 2^64 = 8 and
 * 2^61 = 1 modulo p. */
static inline uint64_t mod_mul(uint64_t a, uint64_t b)
{
    uint64_t a1 = a >> 32, a0 = a & 0xffffffffull, b1 = b >> 32, b0 = b & 0xffffffffull;
    uint64_t high = a1 * b1;                 /* < 2^58: times 2^64 = times 8 */
    uint64_t mid = a1 * b0 + a0 * b1;        /* < 2^62: times 2^32 */
    uint64_t low = a0 * b0;                  /* < 2^64 */
    uint64_t r = (high << 3) + (mid >> 29) + ((mid & 0x1fffffffull) << 32); /* < 2^61 + 2^33 + 2^61 */
    r = mod_reduce(r);
    return mod_add(r, mod_reduce(low));
}

static uint64_t mod_pow(uint64_t a, uint64_t e)
{
    uint64_t r = 1;
    while (e) {
        if (e & 1u)
            r = mod_mul(r, a);
        a = mod_mul(a, a);
        e >>= 1;
    }
    return r;
}

static inline uint64_t mod_inv(uint64_t a)
{
    return mod_pow(a, P61 - 2); /* Fermat; a != 0 */
}

static uint64_t mod_from_int(int64_t v)
{
    uint64_t m = mod_reduce((uint64_t)(v < 0 ? -v : v));
    return v < 0 ? mod_neg(m) : m;
}

/* The residue of a double: the simplest fraction h/k (continued-fraction
 * convergents, k < 2^40) that rounds to it, so that text input "0.1" is 1/10;
 * otherwise its exact binary value m 2^e. */
static uint64_t mod_from_double(double c)
{
    if (c == 0.0)
        return 0;
    double a = fabs(c), x = a;
    double h0 = 0, h1 = 1, k0 = 1, k1 = 0; /* convergents h/k */
    for (int step = 0; step < 64; step++) {
        double q = floor(x);
        double h = q * h1 + h0, k = q * k1 + k0;
        if (h > 9007199254740992.0 || k > 1099511627776.0)
            break;
        if (h / k == a) {
            uint64_t r = mod_mul(mod_reduce((uint64_t)h), mod_inv(mod_reduce((uint64_t)k)));
            return c < 0 ? mod_neg(r) : r;
        }
        h0 = h1;
        h1 = h;
        k0 = k1;
        k1 = k;
        double f = x - q;
        if (f <= 0)
            break;
        x = 1.0 / f;
    }
    int e2;
    double f = frexp(a, &e2);
    int64_t m = (int64_t)ldexp(f, 53);
    int e = e2 - 53; /* a = m 2^e; 2^61 = 1, so 2^e = 2^(e mod 61) */
    int r61 = ((e % 61) + 61) % 61;
    uint64_t r = mod_mul(mod_from_int(m), mod_pow(2, (uint64_t)r61));
    return c < 0 ? mod_neg(r) : r;
}

/* ---- the closure's state ---------------------------------------------------------- */

typedef struct exact_run {
    const qml_lie_algebra *algebra;
    unsigned words;
    string_table dict;     /* strings, or canonical strings of orbits */
    uint64_t *size_inv;    /* per id: 1 / |orbit| mod p (orbit mode) */
    uint64_t *size;        /* per id: |orbit| mod p */
    size_t size_capacity;
    /* products with the generator terms: per id a row of T entries,
     * 0 = not computed, 1 = commutes, 2 + 2 id' + (sign < 0) */
    size_t n_terms;
    size_t *term_start;
    uint64_t *term_coeff;  /* per term: its coefficient mod p */
    uint32_t *rows;
    size_t row_capacity;   /* ids covered */
    /* basis: vector a = sum over [start[a], start[a+1]) of val * id col; the
     * first entry is its pivot (coefficient 1, its smallest id) */
    size_t dim;
    size_t *start;
    size_t *col;
    uint64_t *val;
    size_t n_entries, entry_capacity, element_capacity;
    size_t *pivot_of;      /* per id: vector + 1, 0 = not a pivot */
    /* the dense accumulator and the heap of its touched ids */
    uint64_t *value;
    unsigned char *mark;
    size_t *heap;
    size_t n_heap;
    size_t acc_capacity;
    uint64_t small_inv[65];
} exact_run;

static void run_release(exact_run *r)
{
    qml__lie_table_release(&r->dict);
    qml__free(r->size_inv);
    qml__free(r->size);
    qml__free(r->term_start);
    qml__free(r->term_coeff);
    qml__free(r->rows);
    qml__free(r->start);
    qml__free(r->col);
    qml__free(r->val);
    qml__free(r->pivot_of);
    qml__free(r->value);
    qml__free(r->mark);
    qml__free(r->heap);
}

/* Grow the per-id arrays to cover every id of the dictionary. */
static int run_reserve_ids(exact_run *r)
{
    size_t need = r->dict.count;
    if (need <= r->acc_capacity)
        return QML_OK;
    size_t cap = r->acc_capacity ? r->acc_capacity : 256;
    while (cap < need)
        cap *= 2;
    size_t old = r->acc_capacity;
    uint64_t *value = qml__realloc(r->value, cap * sizeof *value);
    if (!value)
        return qml__oom("the exact closure");
    r->value = value;
    unsigned char *mark = qml__realloc(r->mark, cap);
    if (!mark)
        return qml__oom("the exact closure");
    r->mark = mark;
    size_t *heap = qml__realloc(r->heap, cap * sizeof *heap);
    if (!heap)
        return qml__oom("the exact closure");
    r->heap = heap;
    size_t *pivot = qml__realloc(r->pivot_of, cap * sizeof *pivot);
    if (!pivot)
        return qml__oom("the exact closure");
    r->pivot_of = pivot;
    uint64_t *size = qml__realloc(r->size, cap * sizeof *size);
    if (!size)
        return qml__oom("the exact closure");
    r->size = size;
    uint64_t *size_inv = qml__realloc(r->size_inv, cap * sizeof *size_inv);
    if (!size_inv)
        return qml__oom("the exact closure");
    r->size_inv = size_inv;
    uint32_t *rows = qml__realloc(r->rows, qml__mul_size(cap, (r->n_terms ? r->n_terms : 1) * sizeof *rows));
    if (!rows)
        return qml__oom("the exact closure's product cache");
    r->rows = rows;
    memset(value + old, 0, (cap - old) * sizeof *value);
    memset(mark + old, 0, cap - old);
    memset(pivot + old, 0, (cap - old) * sizeof *pivot);
    memset(rows + old * r->n_terms, 0, (cap - old) * r->n_terms * sizeof *rows);
    r->acc_capacity = cap;
    return QML_OK;
}

/* Intern a string (strings mode) or the orbit of a one-word string (orbit
 * mode, as lie.c canonicalises it: each block's letters sorted X < Y < Z < I). */
static int run_intern(exact_run *r, const uint64_t *x, const uint64_t *z, size_t *id)
{
    const orbit_map *orbit = r->algebra->orbit;
    uint64_t cx = x[0], cz = z[0], size = 1;
    if (orbit) {
        for (unsigned b = 0; b < orbit->n_blocks; b++) {
            unsigned begin = orbit->block_start[b], end = orbit->block_start[b + 1], count[4] = {0, 0, 0, 0};
            for (unsigned p = begin; p < end; p++) {
                unsigned q = orbit->qubit[p];
                unsigned bx = (unsigned)(cx >> q) & 1u, bz = (unsigned)(cz >> q) & 1u;
                count[bx ? (bz ? 1u : 0u) : (bz ? 2u : 3u)]++;
            }
            static const unsigned char lx[4] = {1, 1, 0, 0}, lz[4] = {0, 1, 1, 0};
            unsigned p = begin, left = end - begin;
            for (unsigned letter = 0; letter < 4; letter++) {
                /* size *= C(left, count) */
                for (unsigned i = 1; i <= count[letter]; i++)
                    size = mod_mul(mod_mul(size, left - count[letter] + i), r->small_inv[i]);
                left -= count[letter];
                for (unsigned c = 0; c < count[letter]; c++, p++) {
                    uint64_t bit = (uint64_t)1 << orbit->qubit[p];
                    cx = (cx & ~bit) | (lx[letter] ? bit : 0);
                    cz = (cz & ~bit) | (lz[letter] ? bit : 0);
                }
            }
        }
        x = &cx;
        z = &cz;
    }
    bool inserted = false;
    int status = qml__lie_table_insert(&r->dict, x, z, id, &inserted);
    if (status || !inserted)
        return status;
    if (*id >= LIE_CACHE_MAX_ID)
        return qml__error(QML_ERR_LIMIT, "qml_lie_algebra_create: more than %zu distinct Pauli strings met",
                          (size_t)LIE_CACHE_MAX_ID);
    status = run_reserve_ids(r);
    if (status)
        return status;
    r->size[*id] = size;
    r->size_inv[*id] = size == 1 ? 1 : mod_inv(size);
    return QML_OK;
}

/* The product entry of (id s, term t). */
static int run_product(exact_run *r, size_t s, size_t t, const uint64_t *tx, const uint64_t *tz, uint32_t *entry)
{
    unsigned words = r->words;
    uint32_t *slot = r->rows + s * r->n_terms + t;
    if (*slot) {
        *entry = *slot;
        return QML_OK;
    }
    const uint64_t *sx = r->dict.x + s * words, *sz = r->dict.z + s * words;
    if (!strings_anticommute(words, tx, tz, sx, sz)) {
        *slot = *entry = 1u;
        return QML_OK;
    }
    unsigned phase = strings_product_phase(words, tx, tz, sx, sz);
    uint64_t pm[2 * 8], *heap = NULL, *px = pm;
    if (words > 8) {
        heap = qml__malloc(2 * (size_t)words * sizeof *heap);
        if (!heap)
            return qml__oom("a Pauli string");
        px = heap;
    }
    uint64_t *pz = px + words;
    for (unsigned w = 0; w < words; w++) {
        px[w] = tx[w] ^ sx[w];
        pz[w] = tz[w] ^ sz[w];
    }
    size_t id = 0;
    int status = run_intern(r, px, pz, &id);
    qml__free(heap);
    if (status)
        return status;
    /* the rows may have moved */
    r->rows[s * r->n_terms + t] = *entry = (uint32_t)(2u + 2u * id + (bracket_sign(phase) < 0.0));
    return QML_OK;
}

static inline void acc_add(exact_run *r, size_t id, uint64_t v)
{
    if (!r->mark[id]) {
        r->mark[id] = 1;
        r->heap[r->n_heap++] = id;
    }
    r->value[id] = mod_add(r->value[id], v);
}

/* ---- the heap of touched ids (smallest first) ---------------------------------------- */

static void heap_down(size_t *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && h[l] < h[m])
            m = l;
        if (l + 1 < n && h[l + 1] < h[m])
            m = l + 1;
        if (m == i)
            return;
        size_t t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void heap_push(exact_run *r, size_t id)
{
    size_t *h = r->heap, i = r->n_heap++;
    h[i] = id;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h[p] <= h[i])
            break;
        size_t t = h[p];
        h[p] = h[i];
        h[i] = t;
        i = p;
    }
}

static size_t heap_pop(exact_run *r)
{
    size_t *h = r->heap, top = h[0];
    h[0] = h[--r->n_heap];
    heap_down(h, r->n_heap, 0);
    return top;
}

/* ---- reduction against the basis ------------------------------------------------------ */

static int append_vector(exact_run *r, size_t pivot, uint64_t pivot_value)
{
    if (r->dim + 2 > r->element_capacity) {
        size_t cap = r->element_capacity ? 2 * r->element_capacity : 64;
        size_t *st = qml__realloc(r->start, cap * sizeof *st);
        if (!st)
            return qml__oom("the exact closure's basis");
        r->start = st;
        r->element_capacity = cap;
        if (r->dim == 0)
            r->start[0] = 0;
    }
    size_t need = r->n_entries + r->n_heap + 1;
    if (need > r->entry_capacity) {
        size_t cap = r->entry_capacity ? r->entry_capacity : 1024;
        while (cap < need)
            cap *= 2;
        size_t *c = qml__realloc(r->col, cap * sizeof *c);
        if (!c)
            return qml__oom("the exact closure's basis");
        r->col = c;
        uint64_t *v = qml__realloc(r->val, cap * sizeof *v);
        if (!v)
            return qml__oom("the exact closure's basis");
        r->val = v;
        r->entry_capacity = cap;
    }
    uint64_t scale = mod_inv(pivot_value);
    size_t e = r->n_entries;
    r->col[e] = pivot;
    r->val[e++] = 1;
    for (size_t i = 0; i < r->n_heap; i++) {
        size_t id = r->heap[i];
        if (r->value[id])
            r->col[e] = id, r->val[e++] = mod_mul(r->value[id], scale);
    }
    r->n_entries = e;
    r->pivot_of[pivot] = r->dim + 1;
    r->start[++r->dim] = e;
    return QML_OK;
}

/* Reduce the accumulator (ids in the heap array, unordered) against the
 * basis in semi-echelon form: take the smallest touched id; if it is a
 * pivot, subtract that vector (which only touches larger ids); otherwise the
 * vector is independent and is appended with that id as its pivot. */
static int reduce_candidate(exact_run *r, bool *accepted)
{
    *accepted = false;
    for (size_t i = r->n_heap / 2; i-- > 0;)
        heap_down(r->heap, r->n_heap, i);
    int status = QML_OK;
    while (r->n_heap) {
        size_t c = heap_pop(r);
        r->mark[c] = 0;
        uint64_t v = r->value[c];
        r->value[c] = 0;
        if (!v)
            continue;
        size_t b = r->pivot_of[c];
        if (!b) {
            /* c is not in the heap any more: append it separately */
            status = append_vector(r, c, v);
            *accepted = status == QML_OK;
            break;
        }
        b--;
        uint64_t minus = mod_neg(v);
        for (size_t e = r->start[b] + 1; e < r->start[b + 1]; e++) {
            size_t id = r->col[e];
            if (!r->mark[id]) {
                r->mark[id] = 1;
                heap_push(r, id);
            }
            r->value[id] = mod_add(r->value[id], mod_mul(minus, r->val[e]));
        }
    }
    for (size_t i = 0; i < r->n_heap; i++) {
        r->value[r->heap[i]] = 0;
        r->mark[r->heap[i]] = 0;
    }
    r->n_heap = 0;
    return status;
}

static int verdict_push(lie_verdicts *v, bool accepted)
{
    if (v->count == v->capacity) {
        size_t cap = v->capacity ? 2 * v->capacity : 256;
        unsigned char *a = qml__realloc(v->accept, cap);
        if (!a)
            return qml__oom("the exact closure's verdicts");
        v->accept = a;
        v->capacity = cap;
    }
    v->accept[v->count++] = accepted ? 1u : 0u;
    return QML_OK;
}

void qml__lie_verdicts_release(lie_verdicts *v)
{
    qml__free(v->accept);
    *v = (lie_verdicts){0};
}

/* ---- the closure ---------------------------------------------------------------------- */

int qml__lie_exact_closure(const qml_lie_algebra *algebra, closure_run *run, lie_verdicts *out)
{
    *out = (lie_verdicts){0};
    exact_run r = {.algebra = algebra, .words = algebra->words};
    r.dict.words = algebra->words;
    for (unsigned i = 1; i <= 64; i++)
        r.small_inv[i] = mod_inv(i);
    size_t K = algebra->n_generators;
    size_t max_dim = run->options.max_dim ? run->options.max_dim : SIZE_MAX;
    unsigned words = r.words;
    int status = QML_OK;
    r.term_start = qml__malloc((K + 1) * sizeof *r.term_start);
    if (!r.term_start) {
        status = qml__oom("the exact closure");
        goto done;
    }
    r.term_start[0] = 0;
    for (size_t k = 0; k < K; k++)
        r.term_start[k + 1] = r.term_start[k] + algebra->generators[k]->n_terms;
    r.n_terms = r.term_start[K];
    r.term_coeff = qml__malloc((r.n_terms + 1) * sizeof *r.term_coeff);
    if (!r.term_coeff) {
        status = qml__oom("the exact closure");
        goto done;
    }
    for (size_t k = 0; k < K; k++)
        for (size_t i = 0; i < algebra->generators[k]->n_terms; i++)
            r.term_coeff[r.term_start[k] + i] = mod_from_double(algebra->generators[k]->coeff[i]);

    /* the generators: in orbit coordinates (unnormalised orbit sums S_o),
     * each of the |o| terms of an orbit adds g / |o|: g in all */
    for (size_t k = 0; k < K && !status; k++) {
        const qml_pauli_sum *g = algebra->generators[k];
        for (size_t i = 0; i < g->n_terms && !status; i++) {
            size_t id = 0;
            status = run_intern(&r, g->x + i * words, g->z + i * words, &id);
            if (!status)
                acc_add(&r, id, mod_mul(r.term_coeff[r.term_start[k] + i], r.size_inv[id]));
        }
        bool accepted = false;
        if (!status)
            status = reduce_candidate(&r, &accepted);
        if (!status && accepted && r.dim > max_dim)
            status = QML_ERR_LIMIT;
        if (!status)
            status = verdict_push(out, accepted);
    }
    /* -i[G_k, S_o] = sum_t g_t beta(t, r_o) (|o| / |o'|) S_o' (lie.c: the
     * orbit sum of the brackets is |o| times their group average); the
     * common factor 2 of every bracket is dropped. */
    for (size_t a = 0; a < r.dim && !status; a++) {
        if ((a & 0xfu) == 0 && (status = qml__lie_progress(run, "closure", a, 0)))
            break;
        for (size_t k = 0; k < K && !status; k++) {
            const qml_pauli_sum *g = algebra->generators[k];
            size_t t0 = r.term_start[k];
            for (size_t e = r.start[a]; e < r.start[a + 1] && !status; e++) {
                size_t s = r.col[e];
                uint64_t v = mod_mul(r.val[e], r.size[s]);
                for (size_t i = 0; i < g->n_terms; i++) {
                    uint32_t entry = 0;
                    status = run_product(&r, s, t0 + i, g->x + i * words, g->z + i * words, &entry);
                    if (status)
                        break;
                    if (entry == 1u)
                        continue;
                    size_t target = (entry - 2u) >> 1;
                    uint64_t c = mod_mul(mod_mul(r.term_coeff[t0 + i], v), r.size_inv[target]);
                    acc_add(&r, target, (entry & 1u) ? mod_neg(c) : c);
                }
            }
            bool accepted = false;
            if (!status)
                status = reduce_candidate(&r, &accepted);
            if (!status && accepted && r.dim > max_dim)
                status = QML_ERR_LIMIT;
            if (!status)
                status = verdict_push(out, accepted);
        }
    }
    out->dim = r.dim;
done:
    if (status == QML_ERR_LIMIT)
        status = qml__error(QML_ERR_LIMIT, "qml_lie_algebra_create: the exact closure exceeds max_dim = %zu",
                            run->options.max_dim);
    if (status) {
        /* leave the accumulator clean for the release */
        qml__lie_verdicts_release(out);
    }
    run_release(&r);
    return status;
}
