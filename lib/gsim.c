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
    size_t generator;
    double coeff;
} gsim_rotation;

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
};

/* Work budget of the module closure: strings times generators tested. */
#define GSIM_MAX_TESTS (UINT64_C(1) << 32)

void qml__gsim_free(qml__gsim *sim)
{
    if (!sim)
        return;
    qml_pauli_sum_free(sim->module);
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
            return qml__error(QML_ERR_NOT_APPLICABLE,
                              "%s: g-sim does not apply: gate %zu is a fixed gate (kind %d); g-sim runs circuits "
                              "of parametrised Pauli rotations",
                              caller, i, (int)gate->kind);
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
    }
    if (!status) {
        for (size_t i = 0; i < pairs.count; i++)
            sim->pair_start[pairs.generator[i] + 1]++;
        for (size_t k = 0; k < sim->n_generators; k++)
            sim->pair_start[k + 1] += sim->pair_start[k];
        size_t *fill = qml__malloc((sim->n_generators + 1) * sizeof *fill);
        if (!fill) {
            status = qml__oom("a g-sim plan");
        } else {
            memcpy(fill, sim->pair_start, (sim->n_generators + 1) * sizeof *fill);
            for (size_t i = 0; i < pairs.count; i++)
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

/* <psi| P(x, z) |psi> for a one-word string: P|c> = i^{|x&z|} (-1)^{|z&c|} |c^x>. */
static double string_expectation(const qml_statevec *state, uint64_t x, uint64_t z)
{
    const double *a = state->amplitudes;
    double re = 0.0, im = 0.0;
    for (uint64_t c = 0; c < state->dim; c++) {
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
            e0[a] = string_expectation(initial, x[0], z[0]); /* a statevector has <= 40 qubits: one word */
        }
    }
    return QML_OK;
}

size_t qml__gsim_work_doubles(const qml__gsim *sim)
{
    return 2 * sim->dim + sim->circuit->n_gates + 1;
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

void qml__gsim_run(const qml__gsim *sim, const double *e0, double *work, const double *weights,
                   const double *features, double *value, double *weight_gradient, double *feature_gradient)
{
    const qml_circuit *circuit = sim->circuit;
    double *e = work, *o = work + sim->dim, *theta = work + 2 * sim->dim;
    for (size_t i = 0; i < circuit->n_gates; i++)
        theta[i] = qml__gate_is_parametrised(circuit->gates[i].kind)
                       ? qml__gate_angle(&circuit->gates[i], weights, features)
                       : 0.0;
    memcpy(e, e0, sim->dim * sizeof *e);
    for (size_t r = 0; r < sim->n_rotations; r++) {
        const gsim_rotation *rot = &sim->rotations[r];
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
