/*
 * qasm_write.c: a circuit written as OpenQASM 2.0 that qasm.c reads back to
 * the same gates, generators and bindings, bit for bit; gates outside
 * qelib1.inc become gate definitions any OpenQASM reader can expand.
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Qubits of one libqml Pauli gate written as one definition. */
#define QASM_MAX_ARGS 64
/* Append a NUL-terminated text. */
#define PUT(buffer, text) qml__buffer_append((buffer), (text), strlen(text))

/* ---- the writer ------------------------------------------------------------------ */

/* The shortest of %.15g, %.16g, %.17g that reads back as the same double,
 * with '.' whatever the locale (numtext.c, as pauli.c writes coefficients). */
static void put_number(qml__buffer *b, double value)
{
    char out[QML__NUMBER_TEXT_MAX];
    size_t n = qml__number_write(value, out);
    qml__buffer_append(b, out, n);
}

/* "c*name" with the sign written as a separate " + " / " - " unless first. */
static void put_term(qml__buffer *b, double c, const char *name, long index, bool first)
{
    bool negative = signbit(c) != 0;
    if (first)
        qml__buffer_append(b, negative ? "-" : "", negative ? 1 : 0);
    else
        qml__buffer_append(b, negative ? " - " : " + ", 3);
    if (fabs(c) != 1.0) {
        put_number(b, fabs(c));
        PUT(b, "*");
    }
    qml__buffer_printf(b, "%s[%ld]", name, index);
}

static void put_angle(qml__buffer *b, const qml__gate *g)
{
    bool first = true;
    bool bound = g->weight != QML_NONE || g->feature != QML_NONE;
    if (!bound || g->constant != 0) {
        put_number(b, g->constant);
        first = false;
    }
    if (g->weight != QML_NONE) {
        put_term(b, g->weight_scale, "theta", g->weight, first);
        first = false;
    }
    if (g->feature != QML_NONE)
        put_term(b, g->feature_scale, "x", g->feature, first);
}

static const char *qasm_name(qml_gate_kind kind)
{
    switch (kind) {
    case QML_GATE_I: return "id";
    case QML_GATE_X: return "x";
    case QML_GATE_Y: return "y";
    case QML_GATE_Z: return "z";
    case QML_GATE_H: return "h";
    case QML_GATE_S: return "s";
    case QML_GATE_SDG: return "sdg";
    case QML_GATE_T: return "t";
    case QML_GATE_TDG: return "tdg";
    case QML_GATE_SX: return "sx";
    case QML_GATE_CNOT: return "cx";
    case QML_GATE_CY: return "cy";
    case QML_GATE_CZ: return "cz";
    case QML_GATE_SWAP: return "swap";
    case QML_GATE_ISWAP: return "iswap";
    case QML_GATE_TOFFOLI: return "ccx";
    case QML_GATE_RX: return "rx";
    case QML_GATE_RY: return "ry";
    case QML_GATE_RZ: return "rz";
    case QML_GATE_RXX: return "rxx";
    case QML_GATE_RYY: return "ryy";
    case QML_GATE_RZZ: return "rzz";
    case QML_GATE_CRX: return "crx";
    case QML_GATE_CRY: return "cry";
    case QML_GATE_CRZ: return "crz";
    case QML_GATE_PHASE: return "u1";
    default: return NULL;
    }
}

/* The support of a Pauli gate's generator, ascending. */
static size_t support_of(const qml_pauli_sum *g, unsigned *qubits)
{
    size_t n = 0;
    for (unsigned q = 0; q < g->n_qubits; q++) {
        uint64_t bit = (uint64_t)1 << (q % 64);
        for (size_t t = 0; t < g->n_terms; t++)
            if ((g->x[t * g->words + q / 64] | g->z[t * g->words + q / 64]) & bit) {
                qubits[n++] = q;
                break;
            }
    }
    return n;
}

/* The letter of term t on qubit q: 'i', 'x', 'y' or 'z'. */
static char letter(const qml_pauli_sum *g, size_t t, unsigned q)
{
    uint64_t bit = (uint64_t)1 << (q % 64);
    bool x = (g->x[t * g->words + q / 64] & bit) != 0, z = (g->z[t * g->words + q / 64] & bit) != 0;
    return x ? (z ? 'y' : 'x') : (z ? 'z' : 'i');
}

/* gate qml_pauli_<letters>(t) q0,..: basis change to Z, CX ladder into the
 * last qubit, rz(t), undo: exp(-i t/2 P) exactly, for any OpenQASM reader. */
static void define_pauli(qml__buffer *defs, qml__buffer *seen, const char *letters)
{
    size_t n = strlen(letters);
    qml__buffer key = {0};
    qml__buffer_printf(&key, "\n%s\n", letters);
    if (seen->length == 0)
        PUT(seen, "\n");
    bool known = !key.failed && seen->data && strstr(seen->data, key.data);
    if (!known && key.length > 0)
        qml__buffer_append(seen, key.data + 1, key.length - 1);
    if (key.failed)
        defs->failed = true;
    qml__buffer_release(&key);
    if (known)
        return;
    qml__buffer_printf(defs, "gate qml_pauli_%s(t) ", letters);
    for (size_t k = 0; k < n; k++)
        qml__buffer_printf(defs, "%sq%zu", k ? "," : "", k);
    PUT(defs, " {");
    size_t active[QASM_MAX_ARGS], m = 0;
    for (size_t k = 0; k < n; k++) {
        if (letters[k] == 'x')
            qml__buffer_printf(defs, " h q%zu;", k);
        else if (letters[k] == 'y')
            qml__buffer_printf(defs, " sdg q%zu; h q%zu;", k, k);
        if (letters[k] != 'i' && m < QASM_MAX_ARGS)
            active[m++] = k;
    }
    for (size_t k = 0; k + 1 < m; k++)
        qml__buffer_printf(defs, " cx q%zu,q%zu;", active[k], active[k + 1]);
    if (m > 0)
        qml__buffer_printf(defs, " rz(t) q%zu;", active[m - 1]);
    for (size_t k = m; k-- > 1;)
        qml__buffer_printf(defs, " cx q%zu,q%zu;", active[k - 1], active[k]);
    for (size_t k = 0; k < n; k++) {
        if (letters[k] == 'x')
            qml__buffer_printf(defs, " h q%zu;", k);
        else if (letters[k] == 'y')
            qml__buffer_printf(defs, " h q%zu; s q%zu;", k, k);
    }
    PUT(defs, " }\n");
}

/* u3 angles of a 2x2 unitary up to a global phase (for the body of a
 * qml_unitary1 definition, which other readers use). */
static void u3_angles(const double *m, double *theta, double *phi, double *lambda)
{
    double a00 = hypot(m[0], m[1]), a10 = hypot(m[4], m[5]);
    *theta = 2 * atan2(a10, a00);
    if (a10 < 1e-12) {
        double g = atan2(m[1], m[0]);
        *phi = 0;
        *lambda = atan2(m[7], m[6]) - g;
    } else if (a00 < 1e-12) {
        double g = atan2(-m[3], -m[2]);
        *lambda = 0;
        *phi = atan2(m[5], m[4]) - g;
    } else {
        double g = atan2(m[1], m[0]);
        *phi = atan2(m[5], m[4]) - g;
        *lambda = atan2(-m[3], -m[2]) - g;
    }
}

typedef struct writer {
    qml__buffer defs;       /* definitions, written before the qreg */
    qml__buffer body;
    qml__buffer seen;       /* "\n"-separated pauli letter strings defined */
    qml__buffer evolutions; /* "\x01"-separated bodies of evolution definitions */
    size_t n_evolutions, n_unitary1;
    bool iswap, ryy, unitary2;
} writer;

static void write_pauli_gate(writer *w, const qml__gate *g)
{
    unsigned qubits[QASM_MAX_ARGS];
    const qml_pauli_sum *h = g->generator;
    size_t n = support_of(h, qubits);
    if (g->kind == QML_GATE_PAULI_ROTATION && n > 0 && n <= QASM_MAX_ARGS) {
        char letters[QASM_MAX_ARGS + 1];
        for (size_t k = 0; k < n; k++)
            letters[k] = letter(h, 0, qubits[k]);
        letters[n] = 0;
        define_pauli(&w->defs, &w->seen, letters);
        qml__buffer_printf(&w->body, "qml_pauli_%s(", letters);
        put_angle(&w->body, g);
        PUT(&w->body, ")");
        for (size_t k = 0; k < n; k++)
            qml__buffer_printf(&w->body, "%sq[%u]", k ? "," : " ", qubits[k]);
        PUT(&w->body, ";\n");
        return;
    }
    /* An evolution: a definition whose body is one qml_pauli_* call per term,
     * each c_k * t; the identity term becomes qml_pauli_i (a global phase for
     * other readers, kept exactly by libqml). */
    if (n == 0)
        qubits[n++] = 0;
    if (n > QASM_MAX_ARGS) {
        w->body.failed = true;
        return;
    }
    qml__buffer def = {0};
    for (size_t t = 0; t < h->n_terms; t++) {
        char letters[QASM_MAX_ARGS + 1];
        size_t args[QASM_MAX_ARGS], m = 0;
        for (size_t k = 0; k < n; k++) {
            char c = letter(h, t, qubits[k]);
            if (c != 'i') {
                letters[m] = c;
                args[m++] = k;
            }
        }
        if (m == 0) {
            letters[m] = 'i';
            args[m++] = 0;
        }
        letters[m] = 0;
        define_pauli(&w->defs, &w->seen, letters);
        qml__buffer_printf(&def, " qml_pauli_%s(", letters);
        put_number(&def, h->coeff[t]);
        PUT(&def, "*t)");
        for (size_t k = 0; k < m; k++)
            qml__buffer_printf(&def, "%sq%zu", k ? "," : " ", args[k]);
        PUT(&def, ";");
    }
    if (def.failed) {
        w->body.failed = true;
        qml__buffer_release(&def);
        return;
    }
    /* Reuse a definition with the same body and arity. */
    qml__buffer_printf(&def, "#%zu", n);
    size_t id = w->n_evolutions;
    const char *s = w->evolutions.data;
    for (size_t k = 0; s && k < w->n_evolutions; k++) {
        const char *end = strchr(s, '\x01');
        if ((size_t)(end - s) == def.length && memcmp(s, def.data, def.length) == 0) {
            id = k;
            break;
        }
        s = end + 1;
    }
    if (id == w->n_evolutions) {
        qml__buffer_append(&w->evolutions, def.data, def.length);
        PUT(&w->evolutions, "\x01");
        w->n_evolutions++;
        qml__buffer_printf(&w->defs, "gate qml_evolution_%zu(t) ", id);
        for (size_t k = 0; k < n; k++)
            qml__buffer_printf(&w->defs, "%sq%zu", k ? "," : "", k);
        PUT(&w->defs, " {");
        qml__buffer_append(&w->defs, def.data, def.length - strlen(strrchr(def.data, '#')));
        PUT(&w->defs, " }\n");
    }
    qml__buffer_release(&def);
    qml__buffer_printf(&w->body, "qml_evolution_%zu(", id);
    put_angle(&w->body, g);
    PUT(&w->body, ")");
    for (size_t k = 0; k < n; k++)
        qml__buffer_printf(&w->body, "%sq[%u]", k ? "," : " ", qubits[k]);
    PUT(&w->body, ";\n");
}

static void write_unitary(writer *w, const qml__gate *g)
{
    size_t n = g->kind == QML_GATE_UNITARY1 ? 8 : 32;
    if (g->kind == QML_GATE_UNITARY1) {
        double theta, phi, lambda;
        u3_angles(g->matrix, &theta, &phi, &lambda);
        qml__buffer_printf(&w->defs, "gate qml_unitary1_%zu(", w->n_unitary1);
        for (size_t k = 0; k < 8; k++)
            qml__buffer_printf(&w->defs, "%sm%zu", k ? "," : "", k);
        PUT(&w->defs, ") q0 { u3(");
        put_number(&w->defs, theta);
        PUT(&w->defs, ",");
        put_number(&w->defs, phi);
        PUT(&w->defs, ",");
        put_number(&w->defs, lambda);
        PUT(&w->defs, ") q0; }\n");
        qml__buffer_printf(&w->body, "qml_unitary1_%zu(", w->n_unitary1++);
    } else {
        if (!w->unitary2) {
            PUT(&w->defs, "opaque qml_unitary2(");
            for (size_t k = 0; k < 32; k++)
                qml__buffer_printf(&w->defs, "%sm%zu", k ? "," : "", k);
            PUT(&w->defs, ") q0,q1;\n");
            w->unitary2 = true;
        }
        PUT(&w->body, "qml_unitary2(");
    }
    for (size_t k = 0; k < n; k++) {
        if (k)
            PUT(&w->body, ",");
        put_number(&w->body, g->matrix[k]);
    }
    PUT(&w->body, ")");
    for (unsigned k = 0; k < g->n_targets; k++)
        qml__buffer_printf(&w->body, "%sq[%u]", k ? "," : " ", g->qubits[k]);
    PUT(&w->body, ";\n");
}

int qml_circuit_format_qasm(const qml_circuit *circuit, char *buffer, size_t capacity, size_t *length)
{
    QML_CHECK_NULL(circuit);
    QML_CHECK_ARG(buffer != NULL || capacity == 0, "qml_circuit_format_qasm: 'buffer' is NULL but capacity = %zu",
                  capacity);
    writer w;
    memset(&w, 0, sizeof w);
    for (size_t i = 0; i < circuit->n_gates && !w.body.failed; i++) {
        const qml__gate *g = &circuit->gates[i];
        if (g->kind == QML_GATE_PAULI_ROTATION || g->kind == QML_GATE_PAULI_EVOLUTION) {
            write_pauli_gate(&w, g);
            continue;
        }
        if (g->kind == QML_GATE_UNITARY1 || g->kind == QML_GATE_UNITARY2) {
            write_unitary(&w, g);
            continue;
        }
        if (g->kind == QML_GATE_ISWAP && !w.iswap) {
            /* iSWAP = (S x S) then H_0, CX(0,1), CX(1,0), H_1 */
            PUT(&w.defs, "gate iswap q0,q1 { s q0; s q1; h q0; cx q0,q1; cx q1,q0; h q1; }\n");
            w.iswap = true;
        }
        if (g->kind == QML_GATE_RYY && !w.ryy) {
            PUT(&w.defs, "gate ryy(t) q0,q1 { rx(pi/2) q0; rx(pi/2) q1; cx q0,q1; rz(t) q1; cx q0,q1; "
                               "rx(-pi/2) q0; rx(-pi/2) q1; }\n");
            w.ryy = true;
        }
        qml__buffer_printf(&w.body, "%s", qasm_name(g->kind));
        if (qml__gate_is_parametrised(g->kind)) {
            PUT(&w.body, "(");
            put_angle(&w.body, g);
            PUT(&w.body, ")");
        }
        for (unsigned k = 0; k < g->n_targets; k++)
            qml__buffer_printf(&w.body, "%sq[%u]", k ? "," : " ", g->qubits[k]);
        PUT(&w.body, ";\n");
    }
    qml__buffer all = {0};
    PUT(&all, "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n");
    qml__buffer_printf(&all, "// libqml %s: theta[k] is trainable weight k, x[j] is input feature j\n",
                       qml_version_string());
    qml__buffer_append(&all, w.defs.data ? w.defs.data : "", w.defs.length);
    qml__buffer_printf(&all, "qreg q[%u];\n", circuit->n_qubits);
    qml__buffer_append(&all, w.body.data ? w.body.data : "", w.body.length);
    bool failed = all.failed || w.defs.failed || w.body.failed || w.seen.failed || w.evolutions.failed;
    qml__buffer_release(&w.defs);
    qml__buffer_release(&w.body);
    qml__buffer_release(&w.seen);
    qml__buffer_release(&w.evolutions);
    if (failed) {
        qml__buffer_release(&all);
        return qml__oom("the OpenQASM text of a circuit");
    }
    if (length)
        *length = all.length;
    if (capacity <= all.length) {
        size_t need = all.length;
        qml__buffer_release(&all);
        return qml__error(QML_ERR_OUT_OF_RANGE,
                          "qml_circuit_format_qasm: the text needs %zu bytes with its NUL, the buffer has %zu",
                          need + 1, capacity);
    }
    memcpy(buffer, all.data, all.length + 1);
    qml__buffer_release(&all);
    qml__ok();
    return QML_OK;
}
