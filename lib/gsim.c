/*
 * gsim.c: g-sim, simulation in the adjoint representation (Somma et al.,
 * PRA 70, 042311 (2004); Goh, Larocca, Cincio, Cerezo, Sauvage,
 * arXiv:2308.01432).
 *
 * The loss l = Tr(U rho U^dag O) needs only the expectation values
 * e_a = Tr(rho P_a) of the Pauli strings P_a that the Heisenberg-evolved
 * readout U^dag O U can reach. For a circuit of rotations exp(-i phi/2 P_g)
 * about Pauli strings P_g these strings are the module M of O under the
 * generators: the closure of O's strings under multiplication by every P_g
 * they anticommute with. M is closed under every gate, and a gate mixes each
 * pair of strings {a, b = a g} exactly:
 *   e_a <- cos(phi) e_a + s sin(phi) e_b,  e_b <- cos(phi) e_b - s sin(phi) e_a,
 * with -i P_a P_g = s P_b (s = +-1); strings commuting with P_g stay put.
 * When O lies in i g (the dynamical Lie algebra), M is an ideal of g or g
 * itself; it can be smaller (a linear Majorana readout of a free-fermion
 * chain reaches 2n strings, not n(2n - 1)). docs/gsim.md derives the rest.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A pair {a, b} rotated by one generator string; bit 31 of b is the sign s < 0. */
typedef struct gsim_pair {
    uint32_t a;
    uint32_t b;
} gsim_pair;

#define GSIM_SIGN UINT32_C(0x80000000)
#define GSIM_INDEX UINT32_C(0x7fffffff)

/* One rotation of the compiled circuit: phi = coeff * theta of its gate. */
typedef struct gsim_rotation {
    size_t gate;
    size_t generator;  /* SIZE_MAX: a fixed Clifford gate, sim->cliffords[coeff] */
    double coeff;
} gsim_rotation;

/* A fixed Clifford gate V maps every string of M to a string of M with a
 * sign, V^dagger P_a V = s_a P_{map(a)}: e'_a = s_a e_{map(a)} (a signed
 * permutation: M is closed under it and finite, so it is a bijection). */
typedef struct gsim_clifford {
    size_t gate;
    uint64_t images[12];
    uint32_t *map;     /* dim entries, bit 31 the sign */
} gsim_clifford;

struct qml__gsim {
    unsigned n_qubits;
    unsigned words;
    const qml_circuit *circuit;  /* borrowed: must outlive the simulator */
    qml_pauli_sum *module;       /* the strings of M, term t = element t (coefficients unused) */
    size_t dim;
    size_t n_generators;
    size_t *pair_start;          /* n_generators + 1 */
    gsim_pair *pairs;
    size_t n_rotations;
    gsim_rotation *rotations;
    double *observable;          /* dim coordinates of O */
    double constant;             /* O's identity coefficient */
    struct gsum *sum;            /* non-NULL: the Pauli-sum path (below) runs the circuit */
    size_t n_cliffords;
    gsim_clifford *cliffords;
};

/* Largest module of the Pauli-sum path (below). */
#define GSUM_MAX_DIM 4096

struct gsum;
static size_t gsum_dim(const struct gsum *s);
static void gsum_free(struct gsum *s);
static int has_sum_generator(const qml_circuit *circuit, bool *found);
static int gsum_create(struct gsum **out, const qml_circuit *circuit, const qml_pauli_sum *observable,
                       size_t max_dim, const char *caller);
static void gsum_coordinates(const struct gsum *s, const qml_pauli_sum *observable, double *out);
struct state_support;
static void gsum_initial(const struct gsum *s, const qml_statevec *initial, const struct state_support *support,
                         double *e0);
static size_t gsum_work_doubles(const struct gsum *s, const qml_circuit *circuit);
static void gsum_run(const qml__gsim *sim, const struct gsum *s, const double *e0, double *work,
                     const double *weights, const double *features, double *value, double *weight_gradient,
                     double *feature_gradient);

/* Work budget of the module closure: strings times generators tested. */
#define GSIM_MAX_TESTS (UINT64_C(1) << 32)
/* Memory budget of the closure: rotated pairs recorded (16 bytes each, 256
 * MiB in all). A module that needs more (a hardware-efficient circuit at
 * n = 50 heads for su(2^n): ~50 pairs per string) is refused once it is
 * passed, seconds into the closure rather than at the 2^22-string cap. The
 * free-fermion chain at n = 200 needs ~2^18 pairs. */
#define GSIM_MAX_PAIRS ((size_t)1 << 24)

void qml__gsim_free(qml__gsim *sim)
{
    if (!sim)
        return;
    qml_pauli_sum_free(sim->module);
    gsum_free(sim->sum);
    for (size_t c = 0; c < sim->n_cliffords; c++)
        qml__free(sim->cliffords[c].map);
    qml__free(sim->cliffords);
    qml__free(sim->pair_start);
    qml__free(sim->pairs);
    qml__free(sim->rotations);
    qml__free(sim->observable);
    qml__free(sim);
}

size_t qml__gsim_dim(const qml__gsim *sim)
{
    return sim ? sim->dim : 0;
}

static bool is_identity(const uint64_t *x, const uint64_t *z, unsigned words)
{
    for (unsigned w = 0; w < words; w++)
        if (x[w] || z[w])
            return false;
    return true;
}

/* A growable list of (generator, pair). */
typedef struct pair_list {
    size_t count;
    size_t capacity;
    size_t *generator;
    gsim_pair *pair;
} pair_list;

static int pair_push(pair_list *list, size_t generator, uint32_t a, uint32_t b_signed)
{
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? 2 * list->capacity : 1024;
        size_t *g = qml__realloc(list->generator, qml__mul_size(capacity, sizeof *g));
        if (!g)
            return qml__oom("the pairs of g-sim");
        list->generator = g;
        gsim_pair *p = qml__realloc(list->pair, qml__mul_size(capacity, sizeof *p));
        if (!p)
            return qml__oom("the pairs of g-sim");
        list->pair = p;
        list->capacity = capacity;
    }
    list->generator[list->count] = generator;
    list->pair[list->count].a = a;
    list->pair[list->count].b = b_signed;
    list->count++;
    return QML_OK;
}

/* The rotations: every non-identity term of every parametrised gate's
 * generator, in gate order (the terms of one gate commute, so their order
 * does not matter). Fixed gates other than I are refused. */
static int compile_rotations(qml__gsim *sim, qml_pauli_sum *generators, const char *caller)
{
    const qml_circuit *circuit = sim->circuit;
    size_t capacity = 0;
    for (size_t i = 0; i < circuit->n_gates; i++) {
        const qml__gate *gate = &circuit->gates[i];
        if (!qml__gate_is_parametrised(gate->kind)) {
            if (gate->kind == QML_GATE_I)
                continue;
            uint64_t images[12];
            if (circuit->n_qubits > 64 || !qml__gate_clifford_images(gate, images))
                return qml__error(QML_ERR_NOT_APPLICABLE,
                                  "%s: g-sim does not apply: gate %zu is a fixed gate (kind %d) that is not "
                                  "Clifford%s; g-sim runs parametrised Pauli rotations and fixed Clifford gates",
                                  caller, i, (int)gate->kind, circuit->n_qubits > 64 ? " on <= 64 qubits" : "");
            gsim_clifford *grown = qml__realloc(sim->cliffords, qml__mul_size(sim->n_cliffords + 1, sizeof *grown));
            if (!grown)
                return qml__oom("the Clifford gates of g-sim");
            sim->cliffords = grown;
            gsim_clifford *cl = &sim->cliffords[sim->n_cliffords];
            cl->gate = i;
            cl->map = NULL;
            memcpy(cl->images, images, sizeof images);
            if (sim->n_rotations == capacity) {
                capacity = capacity ? 2 * capacity : 256;
                gsim_rotation *r = qml__realloc(sim->rotations, qml__mul_size(capacity, sizeof *r));
                if (!r)
                    return qml__oom("the rotations of g-sim");
                sim->rotations = r;
            }
            sim->rotations[sim->n_rotations++] = (gsim_rotation){i, SIZE_MAX, (double)sim->n_cliffords++};
            continue;
        }
        /* Pauli gates own their generator: read it, do not copy it. */
        qml_pauli_sum *owned = NULL;
        const qml_pauli_sum *g = gate->generator;
        int status = QML_OK;
        if (!g) {
            status = qml_circuit_gate_generator(circuit, i, &owned);
            if (status)
                return status;
            g = owned;
        }
        for (size_t t = 0; t < g->n_terms; t++) {
            const uint64_t *x = g->x + t * g->words, *z = g->z + t * g->words;
            if (is_identity(x, z, g->words))
                continue; /* a global phase */
            size_t k = qml__pauli_sum_find(generators, x, z);
            if (k == SIZE_MAX) {
                k = generators->n_terms;
                status = qml__pauli_sum_add_masks(generators, 1.0, x, z);
                if (status)
                    break;
            }
            if (sim->n_rotations == capacity) {
                capacity = capacity ? 2 * capacity : 256;
                gsim_rotation *r = qml__realloc(sim->rotations, qml__mul_size(capacity, sizeof *r));
                if (!r) {
                    status = qml__oom("the rotations of g-sim");
                    break;
                }
                sim->rotations = r;
            }
            sim->rotations[sim->n_rotations++] = (gsim_rotation){i, k, g->coeff[t]};
        }
        qml_pauli_sum_free(owned);
        if (status)
            return status;
    }
    sim->n_generators = generators->n_terms;
    return QML_OK;
}

/* The module of O: breadth-first over the strings found, multiplying each by
 * every generator it anticommutes with; the pairs are recorded as found. */
static int close_module(qml__gsim *sim, const qml_pauli_sum *generators, const qml_pauli_sum *observable,
                        size_t max_dim, pair_list *pairs, const char *caller)
{
    unsigned words = sim->words;
    qml_pauli_sum *m = sim->module;
    for (size_t t = 0; t < observable->n_terms; t++) {
        const uint64_t *x = observable->x + t * words, *z = observable->z + t * words;
        if (is_identity(x, z, words) || qml__pauli_sum_find(m, x, z) != SIZE_MAX)
            continue;
        if (m->n_terms >= max_dim)
            return qml__error(QML_ERR_NOT_APPLICABLE,
                              "%s: g-sim does not apply: the readout alone has more than %zu strings", caller,
                              max_dim);
        int status = qml__pauli_sum_add_masks(m, 1.0, x, z);
        if (status)
            return status;
    }
    uint64_t *p = qml__calloc(2 * (size_t)words, sizeof *p);
    if (!p)
        return qml__oom("g-sim scratch");
    uint64_t *pz = p + words;
    size_t K = generators->n_terms;
    int status = QML_OK;
    uint64_t tests = 0;
    for (size_t a = 0; a < m->n_terms && !status; a++) {
        tests += K;
        if (pairs->count > GSIM_MAX_PAIRS) {
            status = qml__error(QML_ERR_NOT_APPLICABLE,
                                "%s: g-sim does not apply: the module of the readout passed %zu strings and %zu "
                                "rotated pairs (%zu MiB) before its closure finished (memory limit)",
                                caller, m->n_terms, pairs->count,
                                pairs->count * (sizeof(gsim_pair) + sizeof(size_t)) >> 20);
            break;
        }
        if (tests > GSIM_MAX_TESTS) {
            status = qml__error(QML_ERR_NOT_APPLICABLE,
                                "%s: g-sim does not apply: the module of the readout under the %zu generator "
                                "strings passed %zu strings before its closure finished (work limit)",
                                caller, K, m->n_terms);
            break;
        }
        for (size_t k = 0; k < K; k++) {
            const uint64_t *gx = generators->x + k * words, *gz = generators->z + k * words;
            const uint64_t *ax = m->x + a * words, *az = m->z + a * words; /* re-read: m may grow */
            if (!qml__pauli_anticommute(words, ax, az, gx, gz))
                continue;
            for (unsigned w = 0; w < words; w++) {
                p[w] = ax[w] ^ gx[w];
                pz[w] = az[w] ^ gz[w];
            }
            /* -i P_a P_g = i^(phase - 1) P_b: s = +1 for phase 1, -1 for phase 3. */
            unsigned phase = qml__pauli_product_phase(words, ax, az, gx, gz);
            size_t b = qml__pauli_sum_find(m, p, pz);
            if (b == SIZE_MAX) {
                if (m->n_terms >= max_dim) {
                    status = qml__error(QML_ERR_NOT_APPLICABLE,
                                        "%s: g-sim does not apply: the readout's module under the generators has "
                                        "more than %zu strings (the dynamical Lie algebra is too large)",
                                        caller, max_dim);
                    break;
                }
                b = m->n_terms;
                status = qml__pauli_sum_add_masks(m, 1.0, p, pz);
                if (status)
                    break;
            }
            if (a < b)
                status = pair_push(pairs, k, (uint32_t)a, (uint32_t)b | (phase == 3 ? GSIM_SIGN : 0u));
            if (status)
                break;
        }
        for (size_t c = 0; c < sim->n_cliffords && !status; c++) {
            uint64_t x = m->x[a], z = m->z[a]; /* one word: checked at compile */
            int sign = qml__gate_clifford_conjugate(&sim->circuit->gates[sim->cliffords[c].gate],
                                                   sim->cliffords[c].images, &x, &z);
            size_t b = qml__pauli_sum_find(m, &x, &z);
            if (b == SIZE_MAX) {
                if (m->n_terms >= max_dim) {
                    status = qml__error(QML_ERR_NOT_APPLICABLE,
                                        "%s: g-sim does not apply: the readout's module under the generators and "
                                        "Clifford gates has more than %zu strings",
                                        caller, max_dim);
                    break;
                }
                b = m->n_terms;
                status = qml__pauli_sum_add_masks(m, 1.0, &x, &z);
                if (status)
                    break;
            }
            /* the map of a: K (= n_generators) + c marks a Clifford entry */
            status = pair_push(pairs, K + c, (uint32_t)a, (uint32_t)b | (sign < 0 ? GSIM_SIGN : 0u));
        }
    }
    qml__free(p);
    sim->dim = m->n_terms;
    return status;
}

int qml__gsim_create(qml__gsim **out, const qml_circuit *circuit, const qml_pauli_sum *observable, size_t max_dim,
                     const char *caller)
{
    if (max_dim == 0 || max_dim > GSIM_INDEX)
        max_dim = GSIM_INDEX;
    qml__gsim *sim = qml__calloc(1, sizeof *sim);
    if (!sim)
        return qml__oom("a g-sim plan");
    sim->n_qubits = circuit->n_qubits;
    sim->words = qml__pauli_words(circuit->n_qubits);
    sim->circuit = circuit;
    /* A generator with several terms: first its adjoint matrix on the module
     * the sums generate (polynomial where the terms' is not, e.g. the
     * Heisenberg chain); where that is too large or too coupled, its terms as
     * string rotations (exact too, the terms commute), on their module. */
    bool sums = false;
    int sum_status = has_sum_generator(circuit, &sums);
    if (!sum_status && sums) {
        sum_status = gsum_create(&sim->sum, circuit, observable, max_dim < GSUM_MAX_DIM ? max_dim : GSUM_MAX_DIM,
                                 caller);
        if (!sum_status) {
            sim->dim = gsum_dim(sim->sum);
            sim->observable = qml__calloc(sim->dim + 1, sizeof *sim->observable);
            if (!sim->observable) {
                qml__gsim_free(sim);
                return qml__oom("a g-sim plan");
            }
            gsum_coordinates(sim->sum, observable, sim->observable);
            for (size_t t = 0; t < observable->n_terms; t++)
                if (is_identity(observable->x + t * sim->words, observable->z + t * sim->words, sim->words))
                    sim->constant += observable->coeff[t];
            *out = sim;
            return QML_OK;
        }
    }
    if (sum_status && sum_status != QML_ERR_NOT_APPLICABLE) {
        qml__gsim_free(sim);
        return sum_status;
    }
    qml_pauli_sum *generators = NULL;
    pair_list pairs = {0};
    int status = qml_pauli_sum_create(&generators, circuit->n_qubits);
    if (!status)
        status = qml_pauli_sum_create(&sim->module, circuit->n_qubits);
    if (!status)
        status = compile_rotations(sim, generators, caller);
    if (!status)
        status = close_module(sim, generators, observable, max_dim, &pairs, caller);
    if (!status) {
        /* counting sort of the pairs by generator, stable (discovery order) */
        sim->pair_start = qml__calloc(sim->n_generators + 1, sizeof *sim->pair_start);
        sim->pairs = qml__malloc(qml__mul_size(pairs.count + 1, sizeof *sim->pairs));
        sim->observable = qml__calloc(sim->dim + 1, sizeof *sim->observable);
        if (!sim->pair_start || !sim->pairs || !sim->observable)
            status = qml__oom("a g-sim plan");
        for (size_t c = 0; c < sim->n_cliffords && !status; c++)
            if (!(sim->cliffords[c].map = qml__malloc((sim->dim + 1) * sizeof *sim->cliffords[c].map)))
                status = qml__oom("a g-sim plan");
    }
    if (!status) {
        size_t K = sim->n_generators;
        for (size_t i = 0; i < pairs.count; i++)
            if (pairs.generator[i] >= K) /* a Clifford image */
                sim->cliffords[pairs.generator[i] - K].map[pairs.pair[i].a] = pairs.pair[i].b;
        for (size_t i = 0; i < pairs.count; i++)
            if (pairs.generator[i] < K)
                sim->pair_start[pairs.generator[i] + 1]++;
        for (size_t k = 0; k < sim->n_generators; k++)
            sim->pair_start[k + 1] += sim->pair_start[k];
        size_t *fill = qml__malloc((sim->n_generators + 1) * sizeof *fill);
        if (!fill) {
            status = qml__oom("a g-sim plan");
        } else {
            memcpy(fill, sim->pair_start, (sim->n_generators + 1) * sizeof *fill);
            for (size_t i = 0; i < pairs.count; i++)
                if (pairs.generator[i] < sim->n_generators)
                    sim->pairs[fill[pairs.generator[i]]++] = pairs.pair[i];
            qml__free(fill);
        }
    }
    if (!status) {
        unsigned words = sim->words;
        for (size_t t = 0; t < observable->n_terms; t++) {
            const uint64_t *x = observable->x + t * words, *z = observable->z + t * words;
            if (is_identity(x, z, words))
                sim->constant += observable->coeff[t];
            else
                sim->observable[qml__pauli_sum_find(sim->module, x, z)] += observable->coeff[t];
        }
    }
    qml__free(pairs.generator);
    qml__free(pairs.pair);
    qml_pauli_sum_free(generators);
    if (status) {
        qml__gsim_free(sim);
        return status;
    }
    *out = sim;
    return QML_OK;
}

/* The support of a statevector: the indices of its non-zero amplitudes,
 * listed when they are at most a quarter of them (a basis state, a few
 * magnons), so that an expectation value costs O(support), not O(2^n). */
typedef struct state_support {
    const uint64_t *index; /* NULL: every amplitude */
    uint64_t count;
} state_support;

static int support_create(const qml_statevec *state, uint64_t **index, state_support *out)
{
    const double *a = state->amplitudes;
    uint64_t count = 0;
    for (uint64_t c = 0; c < state->dim; c++)
        count += a[2 * c] != 0.0 || a[2 * c + 1] != 0.0;
    *index = NULL;
    *out = (state_support){NULL, state->dim};
    if (count > state->dim / 4)
        return QML_OK;
    *index = qml__malloc((size_t)(count ? count : 1) * sizeof **index);
    if (!*index)
        return qml__oom("the support of the initial state");
    uint64_t k = 0;
    for (uint64_t c = 0; c < state->dim; c++)
        if (a[2 * c] != 0.0 || a[2 * c + 1] != 0.0)
            (*index)[k++] = c;
    *out = (state_support){*index, count};
    return QML_OK;
}

/* <psi| P(x, z) |psi> for a one-word string: P|c> = i^{|x&z|} (-1)^{|z&c|} |c^x>,
 * summed over the support (c outside it adds exactly 0). */
static double string_expectation(const qml_statevec *state, const state_support *support, uint64_t x, uint64_t z)
{
    const double *a = state->amplitudes;
    double re = 0.0, im = 0.0;
    for (uint64_t k = 0; k < support->count; k++) {
        uint64_t c = support->index ? support->index[k] : k;
        double sign = (__builtin_popcountll(z & c) & 1u) ? -1.0 : 1.0;
        uint64_t r = c ^ x; /* <r| P |c> != 0 */
        /* conj(a_r) * a_c */
        double pr = a[2 * r] * a[2 * c] + a[2 * r + 1] * a[2 * c + 1];
        double pi = a[2 * r] * a[2 * c + 1] - a[2 * r + 1] * a[2 * c];
        re += sign * pr;
        im += sign * pi;
    }
    switch (__builtin_popcountll(x & z) & 3u) { /* times i^{|x&z|}; the result is real */
    case 0: return re;
    case 1: return -im;
    case 2: return -re;
    default: return im;
    }
}

int qml__gsim_initial(const qml__gsim *sim, const qml_statevec *initial, double *e0)
{
    uint64_t *index = NULL;
    state_support support = {NULL, 0};
    if (initial) {
        int status = support_create(initial, &index, &support);
        if (status)
            return status;
    }
    if (sim->sum) {
        gsum_initial(sim->sum, initial, &support, e0);
        qml__free(index);
        return QML_OK;
    }
    unsigned words = sim->words;
    const qml_pauli_sum *m = sim->module;
    for (size_t a = 0; a < sim->dim; a++) {
        const uint64_t *x = m->x + a * words, *z = m->z + a * words;
        if (!initial) { /* |0...0>: <0|Z^z|0> = 1, anything with an X or Y gives 0 */
            bool diagonal = true;
            for (unsigned w = 0; w < words; w++)
                diagonal = diagonal && x[w] == 0;
            e0[a] = diagonal ? 1.0 : 0.0;
        } else {
            /* a statevector has <= 40 qubits: one word */
            e0[a] = string_expectation(initial, &support, x[0], z[0]);
        }
    }
    qml__free(index);
    return QML_OK;
}

size_t qml__gsim_work_doubles(const qml__gsim *sim)
{
    if (sim->sum)
        return gsum_work_doubles(sim->sum, sim->circuit);
    return 3 * sim->dim + sim->circuit->n_gates + 1;
}

/* v <- exp(phi K) v on the pairs of one generator. */
static void rotate(const gsim_pair *restrict p, size_t n, double c, double s, double *restrict v)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t a = p[i].a, b = p[i].b & GSIM_INDEX;
        double ss = (p[i].b & GSIM_SIGN) ? -s : s;
        double va = v[a], vb = v[b];
        v[a] = c * va + ss * vb;
        v[b] = c * vb - ss * va;
    }
}

/* dl/dphi = sum s (o_a e_b - o_b e_a) at the state after the rotation, then
 * both vectors are rotated back by -phi. */
static double rotate_back(const gsim_pair *restrict p, size_t n, double c, double s, double *restrict e,
                          double *restrict o)
{
    double d = 0.0;
    for (size_t i = 0; i < n; i++) {
        uint32_t a = p[i].a, b = p[i].b & GSIM_INDEX;
        double sign = (p[i].b & GSIM_SIGN) ? -1.0 : 1.0;
        double ea = e[a], eb = e[b], oa = o[a], ob = o[b];
        d += sign * (oa * eb - ob * ea);
        double ss = sign * s;
        e[a] = c * ea - ss * eb;
        e[b] = c * eb + ss * ea;
        o[a] = c * oa - ss * ob;
        o[b] = c * ob + ss * oa;
    }
    return d;
}

/* e <- P e, (P e)_a = s_a e_map(a), through t (dim). */
static void clifford_forward(const uint32_t *restrict map, size_t dim, double *restrict e, double *restrict t)
{
    for (size_t a = 0; a < dim; a++) {
        double v = e[map[a] & GSIM_INDEX];
        t[a] = (map[a] & GSIM_SIGN) ? -v : v;
    }
    memcpy(e, t, dim * sizeof *e);
}

/* e <- P^T e: (P^T e)_map(a) = s_a e_a. */
static void clifford_back(const uint32_t *restrict map, size_t dim, double *restrict e, double *restrict t)
{
    for (size_t a = 0; a < dim; a++)
        t[map[a] & GSIM_INDEX] = (map[a] & GSIM_SIGN) ? -e[a] : e[a];
    memcpy(e, t, dim * sizeof *e);
}

void qml__gsim_run(const qml__gsim *sim, const double *e0, double *work, const double *weights,
                   const double *features, double *value, double *weight_gradient, double *feature_gradient)
{
    if (sim->sum) {
        gsum_run(sim, sim->sum, e0, work, weights, features, value, weight_gradient, feature_gradient);
        return;
    }
    const qml_circuit *circuit = sim->circuit;
    double *e = work, *o = work + sim->dim, *theta = work + 2 * sim->dim;
    for (size_t i = 0; i < circuit->n_gates; i++)
        theta[i] = qml__gate_is_parametrised(circuit->gates[i].kind)
                       ? qml__gate_angle(&circuit->gates[i], weights, features)
                       : 0.0;
    double *scratch = theta + circuit->n_gates;
    memcpy(e, e0, sim->dim * sizeof *e);
    for (size_t r = 0; r < sim->n_rotations; r++) {
        const gsim_rotation *rot = &sim->rotations[r];
        if (rot->generator == SIZE_MAX) {
            clifford_forward(sim->cliffords[(size_t)rot->coeff].map, sim->dim, e, scratch);
            continue;
        }
        double phi = rot->coeff * theta[rot->gate];
        size_t begin = sim->pair_start[rot->generator], end = sim->pair_start[rot->generator + 1];
        rotate(sim->pairs + begin, end - begin, cos(phi), sin(phi), e);
    }
    double loss = sim->constant;
    for (size_t a = 0; a < sim->dim; a++)
        loss += sim->observable[a] * e[a];
    if (value)
        *value = loss;
    if (!weight_gradient && !feature_gradient)
        return;
    if (weight_gradient)
        memset(weight_gradient, 0, circuit->n_weights * sizeof *weight_gradient);
    if (feature_gradient)
        memset(feature_gradient, 0, circuit->n_features * sizeof *feature_gradient);
    memcpy(o, sim->observable, sim->dim * sizeof *o);
    for (size_t r = sim->n_rotations; r-- > 0;) {
        const gsim_rotation *rot = &sim->rotations[r];
        if (rot->generator == SIZE_MAX) {
            clifford_back(sim->cliffords[(size_t)rot->coeff].map, sim->dim, e, scratch);
            clifford_back(sim->cliffords[(size_t)rot->coeff].map, sim->dim, o, scratch);
            continue;
        }
        double phi = rot->coeff * theta[rot->gate];
        size_t begin = sim->pair_start[rot->generator], end = sim->pair_start[rot->generator + 1];
        double d = rot->coeff * rotate_back(sim->pairs + begin, end - begin, cos(phi), sin(phi), e, o);
        const qml__gate *gate = &circuit->gates[rot->gate];
        if (weight_gradient && gate->weight >= 0)
            weight_gradient[gate->weight] += gate->weight_scale * d;
        if (feature_gradient && gate->feature >= 0)
            feature_gradient[gate->feature] += gate->feature_scale * d;
    }
}

/* ---- Pauli-sum generators: the adjoint matrix on an orthonormal basis --------
 *
 * A generator G whose terms do not act as one string (the Heisenberg bond
 * X X + Y Y + Z Z) is run on the module M of the readout under the *sums*:
 * the smallest space of Hermitian operators that contains O and is closed
 * under B -> i[G_k, B]. Its terms separately would close a larger module (for
 * the Heisenberg chain an exponential one). M is spanned by an orthonormal
 * basis B_a of Pauli sums (<A, B> = Tr(A B) / 2^n = sum of coefficient
 * products), found by Gram-Schmidt (twice, for orthogonality to rounding) on
 * the commutators. On it i[G, B_a] = sum_c K_ca B_c with K real
 * antisymmetric, and a gate exp(-i phi/2 G) maps e = (Tr(rho B_a)) to
 * exp(-phi/2 K) e. K splits into blocks (connected components of its
 * pattern); on a block S = -K^2 = V diag(lambda) V^T (Jacobi, once per
 * distinct generator) and, K commuting with S,
 *   exp(t K) = V cos(t w) V^T + W diag(sin(t w) / w) V^T,  W = K V, w = sqrt(lambda),
 * both entire functions of lambda, so an eigenvalue error d gives an O(d)
 * error (no square-root amplification): |error| <~ 1e-15 m |t| |K| on an
 * m x m block. Gradients: dl/dphi = -1/2 o^T K e at the state after the
 * gate, K e = W (V^T e), then e and o are rotated back; three sweeps. */

#define GSUM_MAX_BLOCK 384
/* Work budget of its closure: products of generator and basis terms. */
#define GSUM_MAX_PRODUCTS (UINT64_C(1) << 27)

typedef struct gsum_block {
    size_t m;
    size_t *index;   /* m basis indices */
    double *v;       /* m x m, eigenvectors of -K^2 as columns */
    double *w;       /* m x m, K V */
    double *omega;   /* m */
} gsum_block;

typedef struct gsum_generator {
    qml_pauli_sum *sum;  /* the gate's generator without its identity part */
    size_t n_blocks;
    gsum_block *blocks;
} gsum_generator;

/* A fixed Clifford gate V on the sum path: V^dag B_a V = sum_c Q_ca B_c, Q
 * orthogonal (the module is closed under the images, and conjugation keeps
 * the norm); its entries by column a: (c, Q_ca) for start[a] <= i < start[a+1]. */
typedef struct gsum_clifford {
    size_t gate;
    uint64_t images[12];
    size_t *start;     /* dim + 1 */
    size_t *row;       /* c */
    double *value;     /* Q_ca */
} gsum_clifford;

typedef struct gsum {
    size_t dim;
    size_t max_block;
    qml_pauli_sum **basis;
    size_t n_generators;
    gsum_generator *generators;
    size_t n_cliffords;
    gsum_clifford *cliffords;
    size_t n_rotations;
    gsim_rotation *rotations;  /* coeff 1: phi = theta of the gate; generator SIZE_MAX: Clifford coeff */
} gsum;

static void gsum_free(gsum *s)
{
    if (!s)
        return;
    for (size_t a = 0; a < s->dim; a++)
        qml_pauli_sum_free(s->basis[a]);
    qml__free(s->basis);
    for (size_t k = 0; k < s->n_generators; k++) {
        gsum_generator *g = &s->generators[k];
        qml_pauli_sum_free(g->sum);
        for (size_t b = 0; b < g->n_blocks; b++) {
            qml__free(g->blocks[b].index);
            qml__free(g->blocks[b].v);
            qml__free(g->blocks[b].w);
            qml__free(g->blocks[b].omega);
        }
        qml__free(g->blocks);
    }
    qml__free(s->generators);
    for (size_t c = 0; c < s->n_cliffords; c++) {
        qml__free(s->cliffords[c].start);
        qml__free(s->cliffords[c].row);
        qml__free(s->cliffords[c].value);
    }
    qml__free(s->cliffords);
    qml__free(s->rotations);
    qml__free(s);
}

static bool sums_equal(const qml_pauli_sum *a, const qml_pauli_sum *b)
{
    if (a->n_terms != b->n_terms)
        return false;
    for (size_t t = 0; t < a->n_terms; t++) {
        size_t u = qml__pauli_sum_find(b, a->x + t * a->words, a->z + t * a->words);
        if (u == SIZE_MAX || b->coeff[u] != a->coeff[t])
            return false;
    }
    return true;
}

/* True if some parametrised gate's generator has more than one non-identity term. */
static int has_sum_generator(const qml_circuit *circuit, bool *found)
{
    *found = false;
    for (size_t i = 0; i < circuit->n_gates && !*found; i++) {
        const qml__gate *gate = &circuit->gates[i];
        if (!qml__gate_is_parametrised(gate->kind))
            continue;
        qml_pauli_sum *owned = NULL;
        const qml_pauli_sum *g = gate->generator;
        if (!g) {
            int status = qml_circuit_gate_generator(circuit, i, &owned);
            if (status)
                return status;
            g = owned;
        }
        size_t terms = 0;
        for (size_t t = 0; t < g->n_terms; t++)
            terms += !is_identity(g->x + t * g->words, g->z + t * g->words, g->words);
        *found = terms > 1;
        qml_pauli_sum_free(owned);
    }
    return QML_OK;
}

static bool same_clifford(const qml__gate *a, const uint64_t a_images[12], const qml__gate *b,
                          const uint64_t b_images[12])
{
    if (a->n_targets != b->n_targets || memcmp(a_images, b_images, 12 * sizeof *a_images) != 0)
        return false;
    for (unsigned t = 0; t < a->n_targets && t < 3; t++)
        if (a->qubits[t] != b->qubits[t])
            return false;
    return true;
}

static int gsum_compile(gsum *s, const qml_circuit *circuit, size_t *capacity, const char *caller)
{
    for (size_t i = 0; i < circuit->n_gates; i++) {
        const qml__gate *gate = &circuit->gates[i];
        if (!qml__gate_is_parametrised(gate->kind)) {
            if (gate->kind == QML_GATE_I)
                continue;
            uint64_t images[12];
            if (circuit->n_qubits > 64 || !qml__gate_clifford_images(gate, images))
                return qml__error(QML_ERR_NOT_APPLICABLE,
                                  "%s: g-sim does not apply: gate %zu is a fixed gate (kind %d) that is not "
                                  "Clifford%s; g-sim runs parametrised Pauli rotations and fixed Clifford gates",
                                  caller, i, (int)gate->kind, circuit->n_qubits > 64 ? " on <= 64 qubits" : "");
            /* the same action as an earlier Clifford (qubits and images): share its Q */
            size_t same = 0;
            while (same < s->n_cliffords && !same_clifford(&circuit->gates[s->cliffords[same].gate],
                                                           s->cliffords[same].images, gate, images))
                same++;
            if (same == s->n_cliffords) {
                gsum_clifford *grown =
                    qml__realloc(s->cliffords, qml__mul_size(s->n_cliffords + 1, sizeof *grown));
                if (!grown)
                    return qml__oom("the Clifford gates of g-sim");
                s->cliffords = grown;
                gsum_clifford *cl = &s->cliffords[s->n_cliffords++];
                memset(cl, 0, sizeof *cl);
                cl->gate = i;
                memcpy(cl->images, images, sizeof images);
            }
            if (s->n_rotations == *capacity) {
                *capacity = *capacity ? 2 * *capacity : 256;
                gsim_rotation *r = qml__realloc(s->rotations, qml__mul_size(*capacity, sizeof *r));
                if (!r)
                    return qml__oom("the rotations of g-sim");
                s->rotations = r;
            }
            s->rotations[s->n_rotations++] = (gsim_rotation){i, SIZE_MAX, (double)same};
            continue;
        }
        qml_pauli_sum *g = NULL;
        int status = qml_circuit_gate_generator(circuit, i, &g);
        if (status)
            return status;
        for (size_t t = 0; t < g->n_terms; t++)
            if (is_identity(g->x + t * g->words, g->z + t * g->words, g->words))
                g->coeff[t] = 0.0; /* a global phase */
        qml__pauli_sum_prune(g, 0.0);
        if (g->n_terms == 0) {
            qml_pauli_sum_free(g);
            continue;
        }
        size_t k = 0;
        while (k < s->n_generators && !sums_equal(s->generators[k].sum, g))
            k++;
        if (k == s->n_generators) {
            gsum_generator *grown =
                qml__realloc(s->generators, qml__mul_size(s->n_generators + 1, sizeof *grown));
            if (!grown) {
                qml_pauli_sum_free(g);
                return qml__oom("the generators of g-sim");
            }
            s->generators = grown;
            s->generators[s->n_generators++] = (gsum_generator){g, 0, NULL};
        } else {
            qml_pauli_sum_free(g);
        }
        if (s->n_rotations == *capacity) {
            *capacity = *capacity ? 2 * *capacity : 256;
            gsim_rotation *r = qml__realloc(s->rotations, qml__mul_size(*capacity, sizeof *r));
            if (!r)
                return qml__oom("the rotations of g-sim");
            s->rotations = r;
        }
        s->rotations[s->n_rotations++] = (gsim_rotation){i, k, 1.0};
    }
    return QML_OK;
}

static int add_keep(qml_pauli_sum *sum, double coeff, const uint64_t *x, const uint64_t *z);

static double sum_dot(const qml_pauli_sum *a, const qml_pauli_sum *b)
{
    if (a->n_terms > b->n_terms) {
        const qml_pauli_sum *t = a;
        a = b;
        b = t;
    }
    double d = 0.0;
    for (size_t t = 0; t < a->n_terms; t++) {
        size_t u = qml__pauli_sum_find(b, a->x + t * a->words, a->z + t * a->words);
        if (u != SIZE_MAX)
            d += a->coeff[t] * b->coeff[u];
    }
    return d;
}

static double sum_norm(const qml_pauli_sum *a)
{
    double n = 0.0;
    for (size_t t = 0; t < a->n_terms; t++)
        n += a->coeff[t] * a->coeff[t];
    return sqrt(n);
}

/* sum += coeff P(x, z), keeping a term that cancels to 0 in place (removing
 * it would rehash the sum each time; the caller prunes once at the end). */
static int add_keep(qml_pauli_sum *sum, double coeff, const uint64_t *x, const uint64_t *z)
{
    size_t found = qml__pauli_sum_find(sum, x, z);
    if (found == SIZE_MAX)
        return qml__pauli_sum_add_masks(sum, coeff, x, z);
    sum->coeff[found] += coeff;
    return QML_OK;
}

/* A sparse entry K_ca of generator k. */
typedef struct gsum_entry {
    size_t k, c, a;
    double value;
} gsum_entry;

typedef struct entry_list {
    size_t count, capacity;
    gsum_entry *e;
} entry_list;

static int entry_push(entry_list *l, gsum_entry e)
{
    if (l->count == l->capacity) {
        size_t capacity = l->capacity ? 2 * l->capacity : 1024;
        gsum_entry *grown = qml__realloc(l->e, qml__mul_size(capacity, sizeof *grown));
        if (!grown)
            return qml__oom("the adjoint matrices of g-sim");
        l->e = grown;
        l->capacity = capacity;
    }
    l->e[l->count++] = e;
    return QML_OK;
}

static int basis_push(gsum *s, qml_pauli_sum *element, size_t *capacity, size_t max_dim, const char *caller)
{
    if (s->dim >= max_dim) {
        qml_pauli_sum_free(element);
        return qml__error(QML_ERR_NOT_APPLICABLE,
                          "%s: g-sim does not apply: the readout's module under the generators (Pauli sums, run "
                          "through their adjoint matrices) has dimension more than %zu",
                          caller, max_dim);
    }
    if (s->dim == *capacity) {
        *capacity = *capacity ? 2 * *capacity : 64;
        qml_pauli_sum **grown = qml__realloc(s->basis, qml__mul_size(*capacity, sizeof *grown));
        if (!grown) {
            qml_pauli_sum_free(element);
            return qml__oom("the basis of g-sim");
        }
        s->basis = grown;
    }
    s->basis[s->dim++] = element;
    return QML_OK;
}

/* Which basis elements hold a string: every string of the basis gets an id
 * (its term index in `strings`) and a list of (element, coefficient); every
 * element keeps the ids of its terms, so that the closure below works on
 * dense arrays indexed by id and hashes each commutator product once. */
typedef struct string_index {
    qml_pauli_sum *strings;
    size_t *head;       /* per id: first posting + 1, 0 = none */
    size_t heads;
    size_t *next;       /* per posting: next posting + 1 */
    size_t *element;
    double *coeff;
    size_t count, capacity;
    size_t **ids;       /* per element: the ids of its terms, in term order */
    size_t n_ids;
} string_index;

static void index_free(string_index *ix)
{
    qml_pauli_sum_free(ix->strings);
    qml__free(ix->head);
    qml__free(ix->next);
    qml__free(ix->element);
    qml__free(ix->coeff);
    for (size_t a = 0; a < ix->n_ids; a++)
        qml__free(ix->ids[a]);
    qml__free(ix->ids);
}

/* Index element `element` (= the number of elements indexed so far). */
static int index_add(string_index *ix, const qml_pauli_sum *b, size_t element)
{
    size_t **grown_ids = qml__realloc(ix->ids, qml__mul_size(element + 1, sizeof *grown_ids));
    if (!grown_ids)
        return qml__oom("the basis index of g-sim");
    ix->ids = grown_ids;
    ix->ids[element] = qml__malloc(qml__mul_size(b->n_terms ? b->n_terms : 1, sizeof **ix->ids));
    if (!ix->ids[element])
        return qml__oom("the basis index of g-sim");
    ix->n_ids = element + 1;
    for (size_t t = 0; t < b->n_terms; t++) {
        const uint64_t *x = b->x + t * b->words, *z = b->z + t * b->words;
        size_t id = qml__pauli_sum_find(ix->strings, x, z);
        if (id == SIZE_MAX) {
            id = ix->strings->n_terms;
            int status = qml__pauli_sum_add_masks(ix->strings, 1.0, x, z);
            if (status)
                return status;
            if (id >= ix->heads) {
                size_t heads = ix->heads ? 2 * ix->heads : 1024;
                size_t *grown = qml__realloc(ix->head, qml__mul_size(heads, sizeof *grown));
                if (!grown)
                    return qml__oom("the basis index of g-sim");
                memset(grown + ix->heads, 0, (heads - ix->heads) * sizeof *grown);
                ix->head = grown;
                ix->heads = heads;
            }
        }
        ix->ids[element][t] = id;
        if (ix->count == ix->capacity) {
            size_t capacity = ix->capacity ? 2 * ix->capacity : 4096;
            size_t *nx = qml__realloc(ix->next, qml__mul_size(capacity, sizeof *nx));
            if (nx)
                ix->next = nx;
            size_t *el = qml__realloc(ix->element, qml__mul_size(capacity, sizeof *el));
            if (el)
                ix->element = el;
            double *co = qml__realloc(ix->coeff, qml__mul_size(capacity, sizeof *co));
            if (co)
                ix->coeff = co;
            if (!nx || !el || !co)
                return qml__oom("the basis index of g-sim");
            ix->capacity = capacity;
        }
        ix->next[ix->count] = ix->head[id];
        ix->element[ix->count] = element;
        ix->coeff[ix->count] = b->coeff[t];
        ix->head[id] = ++ix->count;
    }
    return QML_OK;
}

/* A commutator under construction: its coordinates on the known strings
 * (dense by id, with the list of ids touched) and the strings no basis
 * element holds yet (`fresh`: no projection reaches them). */
typedef struct accumulator {
    double *value;          /* per id */
    unsigned char *touched; /* per id */
    size_t *list;           /* touched ids, in the order first touched */
    size_t n_list, capacity;
    qml_pauli_sum *fresh;
} accumulator;

static int accumulator_fit(accumulator *acc, size_t ids)
{
    if (ids <= acc->capacity)
        return QML_OK;
    size_t capacity = acc->capacity ? acc->capacity : 1024;
    while (capacity < ids)
        capacity *= 2;
    double *v = qml__realloc(acc->value, qml__mul_size(capacity, sizeof *v));
    if (v)
        acc->value = v;
    unsigned char *t = qml__realloc(acc->touched, capacity);
    if (t) {
        acc->touched = t;
        memset(t + acc->capacity, 0, capacity - acc->capacity);
    }
    size_t *l = qml__realloc(acc->list, qml__mul_size(capacity, sizeof *l));
    if (l)
        acc->list = l;
    if (!v || !t || !l)
        return qml__oom("g-sim scratch");
    acc->capacity = capacity;
    return QML_OK;
}

static inline void accumulator_add(accumulator *acc, size_t id, double v)
{
    if (!acc->touched[id]) {
        acc->touched[id] = 1;
        acc->value[id] = 0.0;
        acc->list[acc->n_list++] = id;
    }
    acc->value[id] += v;
}

static void accumulator_clear(accumulator *acc)
{
    for (size_t i = 0; i < acc->n_list; i++)
        acc->touched[acc->list[i]] = 0;
    acc->n_list = 0;
    qml_pauli_sum_free(acc->fresh);
    acc->fresh = NULL;
}

/* acc = i [G, B] for the element B (ids: its term ids): for anticommuting
 * terms, i (g b - b g) = 2 i g b. */
static int commutator(const qml_pauli_sum *g, const qml_pauli_sum *b, const string_index *ix, accumulator *acc,
                      uint64_t *scratch, uint64_t *products)
{
    unsigned words = g->words;
    uint64_t *px = scratch, *pz = scratch + words;
    for (size_t i = 0; i < g->n_terms; i++) {
        const uint64_t *gx = g->x + i * words, *gz = g->z + i * words;
        for (size_t j = 0; j < b->n_terms; j++) {
            const uint64_t *bx = b->x + j * words, *bz = b->z + j * words;
            if (!qml__pauli_anticommute(words, gx, gz, bx, bz))
                continue;
            for (unsigned w = 0; w < words; w++) {
                px[w] = gx[w] ^ bx[w];
                pz[w] = gz[w] ^ bz[w];
            }
            /* P_g P_b = i^phase P, phase odd: 2 i i^phase = -2 (phase 1) or +2 (phase 3) */
            unsigned phase = qml__pauli_product_phase(words, gx, gz, bx, bz);
            double v = (phase == 1 ? -2.0 : 2.0) * g->coeff[i] * b->coeff[j];
            size_t id = qml__pauli_sum_find(ix->strings, px, pz);
            if (id != SIZE_MAX) {
                accumulator_add(acc, id, v);
                continue;
            }
            int status = acc->fresh ? QML_OK : qml_pauli_sum_create(&acc->fresh, g->n_qubits);
            if (!status)
                status = add_keep(acc->fresh, v, px, pz);
            if (status)
                return status;
        }
        *products += b->n_terms;
    }
    return QML_OK;
}

/* acc = V^dag B V for the Clifford `cl` of the circuit: each term maps to a
 * signed string (one word: the sum path takes Cliffords on <= 64 qubits). */
static int clifford_image(const qml_circuit *circuit, const gsum_clifford *cl, const qml_pauli_sum *b,
                          const string_index *ix, accumulator *acc, uint64_t *products)
{
    for (size_t t = 0; t < b->n_terms; t++) {
        uint64_t x = b->x[t], z = b->z[t];
        int sign = qml__gate_clifford_conjugate(&circuit->gates[cl->gate], cl->images, &x, &z);
        double v = sign < 0 ? -b->coeff[t] : b->coeff[t];
        size_t id = qml__pauli_sum_find(ix->strings, &x, &z);
        if (id != SIZE_MAX) {
            accumulator_add(acc, id, v);
            continue;
        }
        int status = acc->fresh ? QML_OK : qml_pauli_sum_create(&acc->fresh, b->n_qubits);
        if (!status)
            status = add_keep(acc->fresh, v, &x, &z);
        if (status)
            return status;
    }
    *products += b->n_terms;
    return QML_OK;
}

static int size_cmp(const void *x, const void *y)
{
    size_t a = *(const size_t *)x, b = *(const size_t *)y;
    return a < b ? -1 : a > b;
}

/* The orthonormal basis of M and the entries of every K. Coordinates of a
 * commutator C on the basis: <B_c, C>; the residual after two projections
 * joins the basis if its norm passes 1e-9 |C| (rounding leaves ~1e-15 |C|).
 * The projections touch only the elements that share a string with C (the
 * index), and work on C's dense coordinates by string id. */
static int gsum_close(gsum *s, const qml_circuit *circuit, const qml_pauli_sum *observable, size_t max_dim,
                      entry_list *entries, const char *caller)
{
    unsigned n = observable->n_qubits, words = observable->words;
    size_t capacity = 0;
    string_index ix = {0};
    accumulator acc = {0};
    qml_pauli_sum *first = NULL;
    int status = qml_pauli_sum_create(&first, n);
    if (!status)
        status = qml_pauli_sum_create(&ix.strings, n);
    for (size_t t = 0; t < observable->n_terms && !status; t++)
        if (!is_identity(observable->x + t * words, observable->z + t * words, words))
            status = qml__pauli_sum_add_masks(first, observable->coeff[t], observable->x + t * words,
                                              observable->z + t * words);
    double norm = status ? 0.0 : sum_norm(first);
    if (!status && norm > 0.0)
        status = qml_pauli_sum_scale(first, 1.0 / norm);
    if (status || norm == 0.0) {
        qml_pauli_sum_free(first);
        index_free(&ix);
        return status;
    }
    status = index_add(&ix, first, 0);
    if (!status)
        status = basis_push(s, first, &capacity, max_dim, caller);
    else
        qml_pauli_sum_free(first);
    uint64_t *scratch = qml__calloc(2 * (size_t)words, sizeof *scratch);
    double *proj = qml__malloc(sizeof *proj * (max_dim + 1));
    double *coef = qml__malloc(sizeof *coef * (max_dim + 1));
    unsigned char *mark = qml__calloc(2 * (max_dim + 1), 1), *in_all = mark + max_dim + 1;
    size_t *touched = qml__malloc(2 * sizeof *touched * (max_dim + 1)), *all = touched + max_dim + 1;
    if (!status && (!scratch || !proj || !coef || !mark || !touched))
        status = qml__oom("g-sim scratch");
    if (!status)
        status = accumulator_fit(&acc, ix.strings->n_terms);
    uint64_t work = 0;
    for (size_t a = 0; a < s->dim && !status; a++) {
        /* k < n_generators: i [G_k, B_a]; then the Clifford images V^dag B_a V */
        for (size_t k = 0; k < s->n_generators + s->n_cliffords && !status; k++) {
            double scale = 1.0; /* |V^dag B_a V| = 1 */
            if (k < s->n_generators) {
                status = commutator(s->generators[k].sum, s->basis[a], &ix, &acc, scratch, &work);
                /* |i[G, B_a]| <= 2 sum_t |g_t| for a unit B_a: what is below 1e-9 of
                 * that scale is rounding of an exact cancellation, not a direction. */
                const qml_pauli_sum *gk = s->generators[k].sum;
                scale = 0.0;
                for (size_t t = 0; t < gk->n_terms; t++)
                    scale += fabs(gk->coeff[t]);
            } else {
                status = clifford_image(circuit, &s->cliffords[k - s->n_generators], s->basis[a], &ix, &acc, &work);
            }
            double known = 0.0, cnorm = 0.0;
            for (size_t i = 0; i < acc.n_list; i++)
                known += acc.value[acc.list[i]] * acc.value[acc.list[i]];
            cnorm = status ? 0.0 : sqrt(known + (acc.fresh ? sum_norm(acc.fresh) * sum_norm(acc.fresh) : 0.0));
            if (cnorm <= 1e-11 * scale)
                cnorm = 0.0;
            size_t n_all = 0;
            for (int pass = 0; pass < 2 && !status && cnorm > 0.0; pass++) {
                /* proj[b] = <B_b, C> over the elements sharing a string with C */
                size_t n_touched = 0;
                for (size_t i = 0; i < acc.n_list; i++) {
                    size_t id = acc.list[i];
                    for (size_t p = ix.head[id]; p; p = ix.next[p - 1]) {
                        size_t b = ix.element[p - 1];
                        if (!mark[b]) {
                            mark[b] = 1;
                            proj[b] = 0.0;
                            touched[n_touched++] = b;
                        }
                        proj[b] += ix.coeff[p - 1] * acc.value[id];
                        work++;
                    }
                }
                /* in increasing element order: the same bits whatever the hash layout */
                if (n_touched > 1)
                    qsort(touched, n_touched, sizeof *touched, size_cmp);
                for (size_t i = 0; i < n_touched; i++) {
                    size_t b = touched[i];
                    mark[b] = 0;
                    if (!in_all[b]) {
                        in_all[b] = 1;
                        all[n_all++] = b;
                        coef[b] = 0.0;
                    }
                    coef[b] += proj[b];
                    if (fabs(proj[b]) > 1e-15 * cnorm) { /* C -= proj[b] B_b */
                        const qml_pauli_sum *eb = s->basis[b];
                        const size_t *ids = ix.ids[b];
                        work += eb->n_terms;
                        for (size_t t = 0; t < eb->n_terms; t++)
                            accumulator_add(&acc, ids[t], -proj[b] * eb->coeff[t]);
                    }
                }
            }
            if (n_all > 1)
                qsort(all, n_all, sizeof *all, size_cmp);
            for (size_t i = 0; i < n_all; i++) {
                size_t b = all[i];
                in_all[b] = 0;
                if (!status && fabs(coef[b]) > 1e-13 * cnorm)
                    status = entry_push(entries, (gsum_entry){k, b, a, coef[b]});
            }
            if (!status && cnorm > 0.0) {
                /* the residual: known strings (in increasing id order) and fresh ones */
                double rnorm = 0.0;
                if (acc.n_list > 1)
                    qsort(acc.list, acc.n_list, sizeof *acc.list, size_cmp);
                for (size_t i = 0; i < acc.n_list; i++) {
                    double v = acc.value[acc.list[i]];
                    if (fabs(v) > 1e-13 * cnorm)
                        rnorm += v * v;
                }
                if (acc.fresh) {
                    qml__pauli_sum_prune(acc.fresh, 1e-13 * cnorm);
                    double f = sum_norm(acc.fresh);
                    rnorm += f * f;
                }
                rnorm = sqrt(rnorm);
                if (rnorm > 1e-9 * scale) {
                    qml_pauli_sum *c = NULL;
                    status = qml_pauli_sum_create(&c, n);
                    for (size_t i = 0; i < acc.n_list && !status; i++) {
                        size_t id = acc.list[i];
                        double v = acc.value[id];
                        if (fabs(v) > 1e-13 * cnorm)
                            status = qml__pauli_sum_add_masks(c, v / rnorm, ix.strings->x + id * words,
                                                              ix.strings->z + id * words);
                    }
                    const qml_pauli_sum *f = acc.fresh;
                    for (size_t t = 0; f && t < f->n_terms && !status; t++)
                        status = qml__pauli_sum_add_masks(c, f->coeff[t] / rnorm, f->x + t * words, f->z + t * words);
                    if (!status)
                        status = entry_push(entries, (gsum_entry){k, s->dim, a, rnorm});
                    if (!status)
                        status = index_add(&ix, c, s->dim);
                    if (!status) {
                        status = basis_push(s, c, &capacity, max_dim, caller);
                        c = NULL;
                    }
                    qml_pauli_sum_free(c);
                    if (!status)
                        status = accumulator_fit(&acc, ix.strings->n_terms);
                }
            }
            accumulator_clear(&acc);
            if (!status && work > GSUM_MAX_PRODUCTS)
                status = qml__error(QML_ERR_NOT_APPLICABLE,
                                    "%s: g-sim does not apply: the module of the readout under the generators "
                                    "(Pauli sums) passed %zu elements before its closure finished (work limit)",
                                    caller, s->dim);
        }
    }
    accumulator_clear(&acc);
    qml__free(acc.value);
    qml__free(acc.touched);
    qml__free(acc.list);
    qml__free(scratch);
    qml__free(proj);
    qml__free(coef);
    qml__free(mark);
    qml__free(touched);
    index_free(&ix);
    return status;
}

/* The blocks of generator k from its entries (count of them): connected
 * components of K's pattern, numbered by their smallest touched basis index
 * in discovery order (deterministic); each gets V, W and omega. */
static int gsum_blocks(gsum *s, size_t k, const gsum_entry *e, size_t count, size_t *parent, size_t *slot,
                       size_t *block_of, const char *caller)
{
    gsum_generator *g = &s->generators[k];
    size_t n_touched = 0;
    size_t *touched = qml__malloc((2 * count + 1) * sizeof *touched);
    if (!touched)
        return qml__oom("the adjoint matrices of g-sim");
    for (size_t i = 0; i < count; i++)
        for (int side = 0; side < 2; side++) {
            size_t x = side ? e[i].a : e[i].c;
            parent[x] = x;
            block_of[x] = SIZE_MAX;
        }
    for (size_t i = 0; i < count; i++)
        for (int side = 0; side < 2; side++) {
            size_t x = side ? e[i].a : e[i].c;
            if (block_of[x] == SIZE_MAX) {
                block_of[x] = 0;
                touched[n_touched++] = x;
            }
        }
    for (size_t i = 0; i < count; i++) {
        size_t x = qml__uf_find(parent, e[i].c), y = qml__uf_find(parent, e[i].a);
        if (x != y)
            parent[y] = x;
    }
    /* number the blocks in the order their first element was touched */
    for (size_t i = 0; i < n_touched; i++)
        block_of[touched[i]] = SIZE_MAX;
    size_t n_blocks = 0;
    for (size_t i = 0; i < n_touched; i++) {
        size_t r = qml__uf_find(parent, touched[i]);
        if (block_of[r] == SIZE_MAX)
            block_of[r] = n_blocks++;
        block_of[touched[i]] = block_of[r];
    }
    int status = QML_OK;
    g->blocks = qml__calloc(n_blocks + 1, sizeof *g->blocks);
    if (!g->blocks)
        status = qml__oom("the adjoint matrices of g-sim");
    else
        g->n_blocks = n_blocks;
    for (size_t i = 0; i < n_touched && !status; i++)
        g->blocks[block_of[touched[i]]].m++;
    size_t mmax = 0;
    for (size_t b = 0; b < g->n_blocks && !status; b++) {
        gsum_block *blk = &g->blocks[b];
        size_t m = blk->m;
        if (m > GSUM_MAX_BLOCK) {
            status = qml__error(QML_ERR_NOT_APPLICABLE,
                                "%s: g-sim does not apply: a generator's adjoint matrix couples %zu > %d elements of "
                                "the module in one block",
                                caller, m, GSUM_MAX_BLOCK);
            break;
        }
        if (m > mmax)
            mmax = m;
        blk->index = qml__malloc(m * sizeof *blk->index);
        blk->v = qml__malloc(m * m * sizeof *blk->v);
        blk->w = qml__malloc(m * m * sizeof *blk->w);
        blk->omega = qml__malloc(m * sizeof *blk->omega);
        if (!blk->index || !blk->v || !blk->w || !blk->omega)
            status = qml__oom("the adjoint matrices of g-sim");
        blk->m = 0;
    }
    for (size_t i = 0; i < n_touched && !status; i++) {
        gsum_block *blk = &g->blocks[block_of[touched[i]]];
        slot[touched[i]] = blk->m;
        blk->index[blk->m++] = touched[i];
    }
    if (mmax > s->max_block)
        s->max_block = mmax;
    double *kb = NULL, *sb = NULL, *lambda = NULL;
    if (!status) {
        kb = qml__malloc((mmax * mmax + 1) * sizeof *kb);
        sb = qml__malloc((mmax * mmax + 1) * sizeof *sb);
        lambda = qml__malloc((mmax + 1) * sizeof *lambda);
        if (!kb || !sb || !lambda)
            status = qml__oom("the adjoint matrices of g-sim");
    }
    for (size_t b = 0; b < g->n_blocks && !status; b++) {
        gsum_block *blk = &g->blocks[b];
        size_t m = blk->m;
        memset(kb, 0, m * m * sizeof *kb);
        for (size_t i = 0; i < count; i++) {
            if (block_of[e[i].c] != b)
                continue;
            size_t r = slot[e[i].c], c = slot[e[i].a];
            /* antisymmetrise: the exact K is antisymmetric, the computed one to rounding */
            kb[r * m + c] += 0.5 * e[i].value;
            kb[c * m + r] -= 0.5 * e[i].value;
        }
        for (size_t i = 0; i < m; i++) /* S = K^T K = -K^2 */
            for (size_t j = 0; j < m; j++) {
                double acc = 0.0;
                for (size_t l = 0; l < m; l++)
                    acc += kb[l * m + i] * kb[l * m + j];
                sb[i * m + j] = acc;
            }
        qml__jacobi_eigen(m, sb, blk->v, lambda);
        for (size_t i = 0; i < m; i++)
            blk->omega[i] = lambda[i] > 0.0 ? sqrt(lambda[i]) : 0.0;
        for (size_t i = 0; i < m; i++) /* W = K V */
            for (size_t j = 0; j < m; j++) {
                double acc = 0.0;
                for (size_t l = 0; l < m; l++)
                    acc += kb[i * m + l] * blk->v[l * m + j];
                blk->w[i * m + j] = acc;
            }
    }
    qml__free(kb);
    qml__free(sb);
    qml__free(lambda);
    qml__free(touched);
    return status;
}

static int entry_cmp(const void *x, const void *y)
{
    const gsum_entry *a = x, *b = y;
    if (a->k != b->k)
        return a->k < b->k ? -1 : 1;
    if (a->a != b->a)
        return a->a < b->a ? -1 : 1;
    return a->c < b->c ? -1 : a->c > b->c;
}

static int gsum_create(gsum **out, const qml_circuit *circuit, const qml_pauli_sum *observable, size_t max_dim,
                       const char *caller)
{
    gsum *s = qml__calloc(1, sizeof *s);
    if (!s)
        return qml__oom("a g-sim plan");
    size_t capacity = 0;
    entry_list entries = {0};
    int status = gsum_compile(s, circuit, &capacity, caller);
    if (!status)
        status = gsum_close(s, circuit, observable, max_dim, &entries, caller);
    size_t *parent = NULL, *slot = NULL, *block_of = NULL;
    if (!status) {
        if (entries.count > 1) /* (an empty list has no array: qsort's argument must not be NULL) */
            qsort(entries.e, entries.count, sizeof *entries.e, entry_cmp);
        parent = qml__malloc((s->dim + 1) * sizeof *parent);
        slot = qml__malloc((s->dim + 1) * sizeof *slot);
        block_of = qml__malloc((s->dim + 1) * sizeof *block_of);
        if (!parent || !slot || !block_of)
            status = qml__oom("the adjoint matrices of g-sim");
    }
    for (size_t i = 0, k = 0; k < s->n_generators && !status; k++) {
        size_t j = i;
        while (j < entries.count && entries.e[j].k == k)
            j++;
        status = gsum_blocks(s, k, entries.e + i, j - i, parent, slot, block_of, caller);
        i = j;
    }
    /* The Cliffords' Q, column by column (entries sorted by k, a, c). */
    size_t first = 0;
    while (first < entries.count && entries.e[first].k < s->n_generators)
        first++;
    for (size_t c = 0; c < s->n_cliffords && !status; c++) {
        gsum_clifford *cl = &s->cliffords[c];
        size_t k = s->n_generators + c, i = first;
        while (i < entries.count && entries.e[i].k == k)
            i++;
        size_t count = i - first;
        cl->start = qml__calloc(s->dim + 1, sizeof *cl->start);
        cl->row = qml__malloc((count + 1) * sizeof *cl->row);
        cl->value = qml__malloc((count + 1) * sizeof *cl->value);
        if (!cl->start || !cl->row || !cl->value) {
            status = qml__oom("the Clifford gates of g-sim");
            break;
        }
        for (size_t j = 0; j < count; j++) {
            const gsum_entry *e = &entries.e[first + j];
            cl->start[e->a + 1]++;
            cl->row[j] = e->c;
            cl->value[j] = e->value;
        }
        for (size_t a = 0; a < s->dim; a++)
            cl->start[a + 1] += cl->start[a];
        first = i;
    }
    qml__free(parent);
    qml__free(slot);
    qml__free(block_of);
    qml__free(entries.e);
    if (status) {
        gsum_free(s);
        return status;
    }
    *out = s;
    return QML_OK;
}

static size_t gsum_dim(const gsum *s)
{
    return s->dim;
}

size_t qml__gsim_strings(const qml__gsim *sim)
{
    if (!sim->sum)
        return sim->dim;
    size_t total = 0;
    for (size_t a = 0; a < sim->sum->dim; a++)
        total += sim->sum->basis[a]->n_terms;
    return total;
}

static void gsum_coordinates(const gsum *s, const qml_pauli_sum *observable, double *out)
{
    for (size_t a = 0; a < s->dim; a++)
        out[a] = sum_dot(s->basis[a], observable); /* the basis has no identity term */
}

/* e_a = sum_t c_t <P_t> over the terms of B_a. */
static void gsum_initial(const gsum *s, const qml_statevec *initial, const state_support *support, double *e0)
{
    for (size_t a = 0; a < s->dim; a++) {
        const qml_pauli_sum *b = s->basis[a];
        double acc = 0.0;
        for (size_t t = 0; t < b->n_terms; t++) {
            const uint64_t *x = b->x + t * b->words, *z = b->z + t * b->words;
            if (!initial) {
                bool diagonal = true;
                for (unsigned w = 0; w < b->words; w++)
                    diagonal = diagonal && x[w] == 0;
                acc += diagonal ? b->coeff[t] : 0.0;
            } else {
                acc += b->coeff[t] * string_expectation(initial, support, x[0], z[0]);
            }
        }
        e0[a] = acc;
    }
}

static size_t gsum_work_doubles(const gsum *s, const qml_circuit *circuit)
{
    size_t span = s->max_block > s->dim ? s->max_block : s->dim; /* block scratch, or a Clifford's */
    return 2 * s->dim + circuit->n_gates + 2 * span + 1;
}

/* x <- exp(t K) x on one block; y, z scratch of m. With d non-NULL, also
 * *d += o^T K x before the rotation (K x = W V^T x). */
static void block_apply(const gsum_block *blk, double t, double *restrict x, double *restrict y,
                        double *restrict z)
{
    size_t m = blk->m;
    const double *v = blk->v, *w = blk->w;
    for (size_t j = 0; j < m; j++)
        y[j] = 0.0;
    for (size_t i = 0; i < m; i++) { /* y = V^T x */
        double xi = x[blk->index[i]];
        const double *row = v + i * m;
        for (size_t j = 0; j < m; j++)
            y[j] += row[j] * xi;
    }
    for (size_t j = 0; j < m; j++) {
        double om = blk->omega[j];
        z[j] = (om > 0.0 ? sin(t * om) / om : t) * y[j];
        y[j] *= cos(t * om);
    }
    for (size_t i = 0; i < m; i++) {
        const double *vr = v + i * m, *wr = w + i * m;
        double acc = 0.0;
        for (size_t j = 0; j < m; j++)
            acc += vr[j] * y[j] + wr[j] * z[j];
        x[blk->index[i]] = acc;
    }
}

/* o^T K e on one block. */
static double block_form(const gsum_block *blk, const double *o, const double *e, double *restrict y)
{
    size_t m = blk->m;
    for (size_t j = 0; j < m; j++)
        y[j] = 0.0;
    for (size_t i = 0; i < m; i++) {
        double ei = e[blk->index[i]];
        const double *row = blk->v + i * m;
        for (size_t j = 0; j < m; j++)
            y[j] += row[j] * ei;
    }
    double d = 0.0;
    for (size_t i = 0; i < m; i++) {
        const double *wr = blk->w + i * m;
        double acc = 0.0;
        for (size_t j = 0; j < m; j++)
            acc += wr[j] * y[j];
        d += o[blk->index[i]] * acc;
    }
    return d;
}

/* e <- Q^T e (e'_a = sum_c Q_ca e_c); t: dim scratch. */
static void gsum_clifford_forward(const gsum_clifford *cl, size_t dim, double *restrict e, double *restrict t)
{
    for (size_t a = 0; a < dim; a++) {
        double acc = 0.0;
        for (size_t i = cl->start[a]; i < cl->start[a + 1]; i++)
            acc += cl->value[i] * e[cl->row[i]];
        t[a] = acc;
    }
    memcpy(e, t, dim * sizeof *e);
}

/* x <- Q x (Q orthogonal: the inverse of the forward step); t: dim scratch. */
static void gsum_clifford_back(const gsum_clifford *cl, size_t dim, double *restrict x, double *restrict t)
{
    memset(t, 0, dim * sizeof *t);
    for (size_t a = 0; a < dim; a++)
        for (size_t i = cl->start[a]; i < cl->start[a + 1]; i++)
            t[cl->row[i]] += cl->value[i] * x[a];
    memcpy(x, t, dim * sizeof *x);
}

static void gsum_run(const qml__gsim *sim, const gsum *s, const double *e0, double *work, const double *weights,
                     const double *features, double *value, double *weight_gradient, double *feature_gradient)
{
    const qml_circuit *circuit = sim->circuit;
    double *e = work, *o = work + s->dim, *theta = work + 2 * s->dim;
    double *y = theta + circuit->n_gates, *z = y + (s->max_block > s->dim ? s->max_block : s->dim);
    for (size_t i = 0; i < circuit->n_gates; i++)
        theta[i] = qml__gate_is_parametrised(circuit->gates[i].kind)
                       ? qml__gate_angle(&circuit->gates[i], weights, features)
                       : 0.0;
    memcpy(e, e0, s->dim * sizeof *e);
    for (size_t r = 0; r < s->n_rotations; r++) {
        if (s->rotations[r].generator == SIZE_MAX) { /* e <- Q^T e */
            gsum_clifford_forward(&s->cliffords[(size_t)s->rotations[r].coeff], s->dim, e, y);
            continue;
        }
        const gsum_generator *g = &s->generators[s->rotations[r].generator];
        double t = -0.5 * theta[s->rotations[r].gate];
        for (size_t b = 0; b < g->n_blocks; b++)
            block_apply(&g->blocks[b], t, e, y, z);
    }
    double loss = sim->constant;
    for (size_t a = 0; a < s->dim; a++)
        loss += sim->observable[a] * e[a];
    if (value)
        *value = loss;
    if (!weight_gradient && !feature_gradient)
        return;
    if (weight_gradient)
        memset(weight_gradient, 0, circuit->n_weights * sizeof *weight_gradient);
    if (feature_gradient)
        memset(feature_gradient, 0, circuit->n_features * sizeof *feature_gradient);
    memcpy(o, sim->observable, s->dim * sizeof *o);
    for (size_t r = s->n_rotations; r-- > 0;) {
        if (s->rotations[r].generator == SIZE_MAX) { /* e <- Q e, o <- Q o */
            const gsum_clifford *cl = &s->cliffords[(size_t)s->rotations[r].coeff];
            gsum_clifford_back(cl, s->dim, e, y);
            gsum_clifford_back(cl, s->dim, o, y);
            continue;
        }
        const gsum_generator *g = &s->generators[s->rotations[r].generator];
        double t = 0.5 * theta[s->rotations[r].gate];
        double d = 0.0;
        for (size_t b = 0; b < g->n_blocks; b++) {
            d += -0.5 * block_form(&g->blocks[b], o, e, y);
            block_apply(&g->blocks[b], t, e, y, z);
            block_apply(&g->blocks[b], t, o, y, z);
        }
        const qml__gate *gate = &circuit->gates[s->rotations[r].gate];
        if (weight_gradient && gate->weight >= 0)
            weight_gradient[gate->weight] += gate->weight_scale * d;
        if (feature_gradient && gate->feature >= 0)
            feature_gradient[gate->feature] += gate->feature_scale * d;
    }
}
