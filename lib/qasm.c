/*
 * qasm.c: OpenQASM 2.0 (with the OpenQASM 3 declarations a variational
 * circuit needs) read into a circuit, and a circuit written back as OpenQASM 2.
 * Angles may name trainable weights theta[k] and input features x[j]; an
 * angle must stay c0 + c1 theta[k] + c2 x[j] (docs/circuits.md).
 */
#include "internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Limits: a text larger than this is not a circuit anyone wrote by hand or
 * exported (a 400-weight, 20-qubit circuit is ~20 kB). */
#define QASM_MAX_BYTES ((size_t)16 << 20)
/* Nested gate calls (definitions can only call earlier definitions, so this
 * bounds the chain, not recursion, which the define-before-use rule rules out). */
#define QASM_MAX_CALL_DEPTH 64
/* Nested parentheses, unary signs and powers in one expression. */
#define QASM_MAX_EXPR_DEPTH 128
/* Statements executed, counting those inside expanded definitions: a chain of
 * definitions each calling the previous twice grows as 2^depth. */
#define QASM_MAX_STATEMENTS ((size_t)1 << 22)
#define QASM_MAX_IDENTIFIER 256
#define QASM_MAX_PARAMS 32       /* qml_unitary2 takes 32 */
#define QASM_MAX_ARGS 64
#define QASM_MAX_REGISTER ((size_t)1 << 20)
/* Weight and feature indices (the circuit's own limit). */
#define QASM_MAX_INDEX ((size_t)1 << 24)
/* The formal parameter of a qml_evolution definition while its body is read. */
#define FORMAL_WEIGHT (-2L)
/* Append a string literal or NUL-terminated text. */
#define PUT(buffer, text) qml__buffer_append((buffer), (text), strlen(text))

/* ---- values ----------------------------------------------------------------- */

/* An angle: c0 + cw * theta[w] + cf * x[f]; w, f are QML_NONE when absent. The
 * constant of a bare theta[k] is -0.0, the identity of IEEE addition, so
 * that c + theta[k] keeps the bits of c (even -0). */
typedef struct angle {
    double c0;
    long w;
    double cw;
    long f;
    double cf;
} angle;

static angle constant_angle(double c)
{
    angle a = {c, QML_NONE, 0.0, QML_NONE, 0.0};
    return a;
}

static bool is_constant(const angle *a)
{
    return a->w == QML_NONE && a->f == QML_NONE;
}

/* ---- lexer ------------------------------------------------------------------- */

typedef enum token_type {
    TOK_EOF = 0,
    TOK_IDENT,
    TOK_NUMBER,
    TOK_STRING,
    TOK_PUNCT,   /* one character: ; , ( ) [ ] { } + - * / ^ = */
    TOK_ARROW,   /* -> */
    TOK_EQUAL2   /* == */
} token_type;

typedef struct token {
    token_type type;
    size_t start, length;
    unsigned line, column;
    int punct;
} token;

typedef struct register_ {
    size_t name, name_length;    /* span in the text */
    size_t size;
    size_t base;                 /* first circuit qubit (quantum registers) */
    bool quantum;
} register_;

typedef enum native {
    NATIVE_NONE = 0,   /* expand the body */
    NATIVE_PAULI,      /* qml_pauli_<letters>(t) */
    NATIVE_EVOLUTION,  /* qml_evolution_*(t): body of qml_pauli_* terms, c * t */
    NATIVE_UNITARY1,   /* qml_unitary1_*(8 numbers) */
    NATIVE_UNITARY2,   /* qml_unitary2(32 numbers) */
    NATIVE_RYY,
    NATIVE_ISWAP
} native;

typedef struct definition {
    size_t name, name_length;
    size_t n_params, n_qubits;
    size_t params[QASM_MAX_PARAMS][2];   /* spans */
    size_t qubits[QASM_MAX_ARGS][2];
    size_t body;                          /* offset just after '{' */
    unsigned body_line, body_column;
    bool opaque;
    native how;
} definition;

/* A definition being expanded: its parameters' values and qubits. */
typedef struct frame {
    const definition *def;
    const angle *params;
    const unsigned *qubits;
} frame;

typedef struct parser {
    const char *text;
    size_t length;
    size_t pos;
    unsigned line, column;
    token tok;
    int version;                 /* 2 or 3 */
    bool seen_statement;
    bool standard_gates;         /* qelib1.inc or stdgates.inc */
    register_ *registers;
    size_t n_registers, registers_capacity;
    size_t n_qubits;
    definition *defs;
    size_t n_defs, defs_capacity;
    long theta_size, x_size;     /* declared input sizes (OpenQASM 3), -1 if free */
    qml_circuit *circuit;        /* created at the first gate, measure or barrier */
    bool *measured;
    size_t statements;
    unsigned depth;
    unsigned expr_depth;
    qml_pauli_sum *collect;      /* reading a qml_evolution body */
} parser;

static int fail(parser *p, int status, unsigned line, unsigned column, const char *format, ...) QML_PRINTF(5, 6);

static int fail(parser *p, int status, unsigned line, unsigned column, const char *format, ...)
{
    (void)p;
    char what[512];
    va_list args;
    va_start(args, format);
    vsnprintf(what, sizeof what, format, args);
    va_end(args);
    return qml__error(status, "qml_circuit_parse_qasm: line %u, column %u: %s", line, column, what);
}

static int fail_at(parser *p, int status, const token *t, const char *format, ...) QML_PRINTF(4, 5);

static int fail_at(parser *p, int status, const token *t, const char *format, ...)
{
    char what[512];
    va_list args;
    va_start(args, format);
    vsnprintf(what, sizeof what, format, args);
    va_end(args);
    return fail(p, status, t->line, t->column, "%s", what);
}

/* A short description of a token for "expected X, found Y". */
static void describe(const parser *p, const token *t, char out[64])
{
    switch (t->type) {
    case TOK_EOF:
        snprintf(out, 64, "the end of the text");
        return;
    case TOK_STRING:
        snprintf(out, 64, "a string");
        return;
    default: {
        size_t n = t->length < 40 ? t->length : 40;
        snprintf(out, 64, "'%.*s%s'", (int)n, p->text + t->start, t->length > 40 ? "..." : "");
        return;
    }
    }
}

static int expected(parser *p, const char *what)
{
    char found[64];
    describe(p, &p->tok, found);
    return fail_at(p, QML_ERR_PARSE, &p->tok, "expected %s, found %s", what, found);
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool is_ident_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident_char(int c)
{
    return is_ident_start(c) || is_digit(c);
}

static int peek_char(const parser *p, size_t ahead)
{
    return p->pos + ahead < p->length ? (unsigned char)p->text[p->pos + ahead] : -1;
}

static void step(parser *p)
{
    if (p->text[p->pos] == '\n') {
        p->line++;
        p->column = 1;
    } else {
        p->column++;
    }
    p->pos++;
}

/* Read the next token into p->tok. */
static int advance(parser *p)
{
    for (;;) {
        int c = peek_char(p, 0);
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
            step(p);
        } else if (c == '/' && peek_char(p, 1) == '/') {
            while (p->pos < p->length && p->text[p->pos] != '\n')
                step(p);
        } else if (c == '/' && peek_char(p, 1) == '*') {
            unsigned line = p->line, column = p->column;
            step(p);
            step(p);
            for (;;) {
                if (p->pos >= p->length)
                    return fail(p, QML_ERR_PARSE, line, column, "unterminated comment");
                if (p->text[p->pos] == '*' && peek_char(p, 1) == '/') {
                    step(p);
                    step(p);
                    break;
                }
                step(p);
            }
        } else {
            break;
        }
    }
    token *t = &p->tok;
    t->start = p->pos;
    t->length = 0;
    t->line = p->line;
    t->column = p->column;
    t->punct = 0;
    int c = peek_char(p, 0);
    if (c < 0) {
        t->type = TOK_EOF;
        return QML_OK;
    }
    /* Qiskit names its parameter vectors θ and writes them as such: the UTF-8
     * letters θ (CE B8) and π (CF 80) are read as names of their own. */
    bool greek = (c == 0xce && peek_char(p, 1) == 0xb8) || (c == 0xcf && peek_char(p, 1) == 0x80);
    if (greek) {
        step(p);
        step(p);
        p->column--;
        t->type = TOK_IDENT;
        t->length = 2;
        return QML_OK;
    }
    if (is_ident_start(c)) {
        while (p->pos < p->length && is_ident_char((unsigned char)p->text[p->pos]))
            step(p);
        t->type = TOK_IDENT;
        t->length = p->pos - t->start;
        if (t->length > QASM_MAX_IDENTIFIER)
            return fail_at(p, QML_ERR_LIMIT, t, "identifier longer than %d characters", QASM_MAX_IDENTIFIER);
        return QML_OK;
    }
    if (is_digit(c) || (c == '.' && is_digit(peek_char(p, 1)))) {
        while (is_digit(peek_char(p, 0)))
            step(p);
        if (peek_char(p, 0) == '.') {
            step(p);
            while (is_digit(peek_char(p, 0)))
                step(p);
        }
        if (peek_char(p, 0) == 'e' || peek_char(p, 0) == 'E') {
            size_t k = 1;
            if (peek_char(p, k) == '+' || peek_char(p, k) == '-')
                k++;
            if (is_digit(peek_char(p, k))) {
                while (k-- > 0)
                    step(p);
                while (is_digit(peek_char(p, 0)))
                    step(p);
            }
        }
        t->type = TOK_NUMBER;
        t->length = p->pos - t->start;
        if (is_ident_start(peek_char(p, 0)))
            return fail(p, QML_ERR_PARSE, p->line, p->column, "a letter directly after the number '%.*s'",
                        (int)(t->length < 40 ? t->length : 40), p->text + t->start);
        return QML_OK;
    }
    if (c == '"') {
        step(p);
        while (p->pos < p->length && p->text[p->pos] != '"' && p->text[p->pos] != '\n')
            step(p);
        if (p->pos >= p->length || p->text[p->pos] != '"')
            return fail_at(p, QML_ERR_PARSE, t, "unterminated string");
        step(p);
        t->type = TOK_STRING;
        t->length = p->pos - t->start;
        return QML_OK;
    }
    if (c == '-' && peek_char(p, 1) == '>') {
        step(p);
        step(p);
        t->type = TOK_ARROW;
        t->length = 2;
        return QML_OK;
    }
    if (c == '=' && peek_char(p, 1) == '=') {
        step(p);
        step(p);
        t->type = TOK_EQUAL2;
        t->length = 2;
        return QML_OK;
    }
    if (strchr(";,()[]{}+-*/^=", c) && c != 0) {
        step(p);
        t->type = TOK_PUNCT;
        t->punct = c;
        t->length = 1;
        return QML_OK;
    }
    if (c >= 0x20 && c < 0x7f)
        return fail_at(p, QML_ERR_PARSE, t, "unexpected character '%c'", c);
    return fail_at(p, QML_ERR_PARSE, t, "unexpected byte 0x%02x (OpenQASM text is ASCII outside comments)", c);
}

static bool is_punct(const parser *p, int c)
{
    return p->tok.type == TOK_PUNCT && p->tok.punct == c;
}

static bool is_word(const parser *p, const char *word)
{
    size_t n = strlen(word);
    return p->tok.type == TOK_IDENT && p->tok.length == n && memcmp(p->text + p->tok.start, word, n) == 0;
}

static bool span_is(const parser *p, size_t start, size_t length, const char *word)
{
    size_t n = strlen(word);
    return length == n && memcmp(p->text + start, word, n) == 0;
}

static bool span_equal(const parser *p, size_t a, size_t a_length, size_t b, size_t b_length)
{
    return a_length == b_length && memcmp(p->text + a, p->text + b, a_length) == 0;
}

static int expect_punct(parser *p, int c)
{
    if (!is_punct(p, c)) {
        char what[8] = {'\'', (char)c, '\'', 0};
        return expected(p, what);
    }
    return advance(p);
}

/* A non-negative integer literal (an index or a size). */
static int read_index(parser *p, size_t limit, size_t *value, const char *what)
{
    if (p->tok.type != TOK_NUMBER)
        return expected(p, what);
    size_t v = 0;
    for (size_t i = 0; i < p->tok.length; i++) {
        char c = p->text[p->tok.start + i];
        if (!is_digit(c))
            return fail_at(p, QML_ERR_PARSE, &p->tok, "expected %s (a non-negative integer), found '%.*s'", what,
                           (int)(p->tok.length < 40 ? p->tok.length : 40), p->text + p->tok.start);
        if (v > limit)
            continue;
        v = v * 10 + (size_t)(c - '0');
    }
    if (v > limit)
        return fail_at(p, QML_ERR_LIMIT, &p->tok, "%s %.*s is larger than %zu", what,
                       (int)(p->tok.length < 40 ? p->tok.length : 40), p->text + p->tok.start, limit);
    *value = v;
    return advance(p);
}

/* A real literal, read with '.' whatever the locale (correctly rounded). */
static int read_number(parser *p, double *value)
{
    char buffer[512];
    const token *t = &p->tok;
    if (t->length >= sizeof buffer)
        return fail_at(p, QML_ERR_LIMIT, t, "number longer than %zu characters", sizeof buffer - 1);
    memcpy(buffer, p->text + t->start, t->length);
    buffer[t->length] = '\0';
    const char *end = NULL;
    double v = qml__number_read(buffer, &end);
    if (end != buffer + t->length)
        return fail_at(p, QML_ERR_PARSE, t, "malformed number '%s'", buffer);
    if (!isfinite(v))
        return fail_at(p, QML_ERR_PARSE, t, "number '%.40s' overflows a double", buffer);
    *value = v;
    return advance(p);
}

/* ---- expressions -------------------------------------------------------------- */

static int expression(parser *p, const frame *env, angle *out);

static void name_of(const angle *a, char out[64])
{
    if (a->w == FORMAL_WEIGHT)
        snprintf(out, 64, "the gate parameter");
    else if (a->w != QML_NONE)
        snprintf(out, 64, "theta[%ld]", a->w);
    else if (a->f != QML_NONE)
        snprintf(out, 64, "x[%ld]", a->f);
    else
        snprintf(out, 64, "a constant");
}

static int finite_or_fail(parser *p, const token *at, const angle *a)
{
    if (!isfinite(a->c0) || !isfinite(a->cw) || !isfinite(a->cf))
        return fail_at(p, QML_ERR_PARSE, at, "the expression is not a finite number");
    return QML_OK;
}

static int combine(parser *p, const token *at, angle *a, const angle *b, double sign)
{
    if (a->w != QML_NONE && b->w != QML_NONE && a->w != b->w) {
        char na[64], nb[64];
        name_of(a, na);
        name_of(b, nb);
        return fail_at(p, QML_ERR_PARSE, at,
                       "an angle may read at most one weight: %s and %s (an angle is c0 + c1*theta[k] + c2*x[j])",
                       na, nb);
    }
    if (a->f != QML_NONE && b->f != QML_NONE && a->f != b->f)
        return fail_at(p, QML_ERR_PARSE, at,
                       "an angle may read at most one feature: x[%ld] and x[%ld] (an angle is c0 + c1*theta[k] + "
                       "c2*x[j])",
                       a->f, b->f);
    a->c0 = a->c0 + sign * b->c0;
    if (b->w != QML_NONE) {
        a->cw = a->w == QML_NONE ? sign * b->cw : a->cw + sign * b->cw;
        a->w = b->w;
    }
    if (b->f != QML_NONE) {
        a->cf = a->f == QML_NONE ? sign * b->cf : a->cf + sign * b->cf;
        a->f = b->f;
    }
    return finite_or_fail(p, at, a);
}

static void scale(angle *a, double s)
{
    a->c0 *= s;
    a->cw *= s;
    a->cf *= s;
}

static int primary(parser *p, const frame *env, angle *out)
{
    token t = p->tok;
    int status;
    if (t.type == TOK_NUMBER) {
        double v = 0;
        status = read_number(p, &v);
        *out = constant_angle(v);
        return status;
    }
    if (is_punct(p, '(')) {
        if ((status = advance(p)) != QML_OK || (status = expression(p, env, out)) != QML_OK)
            return status;
        return expect_punct(p, ')');
    }
    if (t.type != TOK_IDENT)
        return expected(p, "a number, a name or '('");
    if ((status = advance(p)) != QML_OK)
        return status;
    /* Gate parameters shadow everything else. */
    if (env)
        for (size_t k = 0; k < env->def->n_params; k++)
            if (span_equal(p, t.start, t.length, env->def->params[k][0], env->def->params[k][1])) {
                *out = env->params[k];
                return QML_OK;
            }
    if (span_is(p, t.start, t.length, "pi") || span_is(p, t.start, t.length, "\xcf\x80")) {
        *out = constant_angle(3.14159265358979323846);
        return QML_OK;
    }
    if (span_is(p, t.start, t.length, "tau")) {
        *out = constant_angle(6.28318530717958647692);
        return QML_OK;
    }
    if (span_is(p, t.start, t.length, "euler")) {
        *out = constant_angle(2.71828182845904523536);
        return QML_OK;
    }
    static const char *const functions[] = {"sin", "cos", "tan", "exp", "ln", "sqrt"};
    for (size_t k = 0; k < sizeof functions / sizeof *functions; k++) {
        if (!span_is(p, t.start, t.length, functions[k]))
            continue;
        if (!is_punct(p, '('))
            return expected(p, "'(' after a function name");
        angle arg;
        if ((status = advance(p)) != QML_OK || (status = expression(p, env, &arg)) != QML_OK ||
            (status = expect_punct(p, ')')) != QML_OK)
            return status;
        if (!is_constant(&arg) || arg.w == FORMAL_WEIGHT) {
            char name[64];
            name_of(&arg, name);
            return fail_at(p, QML_ERR_PARSE, &t,
                           "%s of %s: an angle is c0 + c1*theta[k] + c2*x[j], functions take constants only",
                           functions[k], name);
        }
        double v = arg.c0;
        switch (k) {
        case 0: v = sin(v); break;
        case 1: v = cos(v); break;
        case 2: v = tan(v); break;
        case 3: v = exp(v); break;
        case 4: v = log(v); break;
        default: v = sqrt(v); break;
        }
        *out = constant_angle(v);
        return finite_or_fail(p, &t, out);
    }
    bool weight = span_is(p, t.start, t.length, "theta") || span_is(p, t.start, t.length, "\xce\xb8");
    bool feature = span_is(p, t.start, t.length, "x");
    if (weight || feature) {
        if (!is_punct(p, '['))
            return expected(p, weight ? "'[' after theta (a weight is theta[k])" : "'[' after x (a feature is x[j])");
        size_t index = 0;
        token at = p->tok;
        if ((status = advance(p)) != QML_OK ||
            (status = read_index(p, QASM_MAX_INDEX - 1, &index, weight ? "a weight index" : "a feature index")) !=
                QML_OK ||
            (status = expect_punct(p, ']')) != QML_OK)
            return status;
        long declared = weight ? p->theta_size : p->x_size;
        if (declared >= 0 && (long)index >= declared)
            return fail_at(p, QML_ERR_PARSE, &at, "%s[%zu] is outside the declared input array of %ld",
                           weight ? "theta" : "x", index, declared);
        *out = constant_angle(-0.0);
        if (weight) {
            out->w = (long)index;
            out->cw = 1.0;
        } else {
            out->f = (long)index;
            out->cf = 1.0;
        }
        return QML_OK;
    }
    return fail_at(p, QML_ERR_PARSE, &t,
                   "unknown name '%.*s' in an expression (known: pi, gate parameters, theta[k], x[j], sin, cos, "
                   "tan, exp, ln, sqrt)",
                   (int)(t.length < 60 ? t.length : 60), p->text + t.start);
}

static int unary(parser *p, const frame *env, angle *out);

/* power := primary ['^' unary] (right-associative) */
static int power(parser *p, const frame *env, angle *out)
{
    int status = primary(p, env, out);
    if (status || !is_punct(p, '^'))
        return status;
    token at = p->tok;
    angle exponent;
    if ((status = advance(p)) != QML_OK || (status = unary(p, env, &exponent)) != QML_OK)
        return status;
    if (!is_constant(out) || !is_constant(&exponent))
        return fail_at(p, QML_ERR_PARSE, &at, "'^' of a weight or feature: an angle is c0 + c1*theta[k] + c2*x[j]");
    *out = constant_angle(pow(out->c0, exponent.c0));
    return finite_or_fail(p, &at, out);
}

static int unary(parser *p, const frame *env, angle *out)
{
    if (++p->expr_depth > QASM_MAX_EXPR_DEPTH)
        return fail_at(p, QML_ERR_LIMIT, &p->tok, "expression nested deeper than %d", QASM_MAX_EXPR_DEPTH);
    int status;
    if (is_punct(p, '-') || is_punct(p, '+')) {
        bool minus = is_punct(p, '-');
        if ((status = advance(p)) != QML_OK || (status = unary(p, env, out)) != QML_OK)
            return status;
        if (minus)
            scale(out, -1.0);
    } else {
        status = power(p, env, out);
    }
    p->expr_depth--;
    return status;
}

static int term(parser *p, const frame *env, angle *out)
{
    int status = unary(p, env, out);
    while (status == QML_OK && (is_punct(p, '*') || is_punct(p, '/'))) {
        token at = p->tok;
        bool divide = is_punct(p, '/');
        angle right;
        if ((status = advance(p)) != QML_OK || (status = unary(p, env, &right)) != QML_OK)
            return status;
        if (divide) {
            if (!is_constant(&right))
                return fail_at(p, QML_ERR_PARSE, &at,
                               "division by a weight or feature: an angle is c0 + c1*theta[k] + c2*x[j]");
            if (right.c0 == 0)
                return fail_at(p, QML_ERR_PARSE, &at, "division by zero");
            out->c0 /= right.c0;
            out->cw /= right.c0;
            out->cf /= right.c0;
        } else if (is_constant(&right)) {
            scale(out, right.c0);
        } else if (is_constant(out)) {
            double s = out->c0;
            *out = right;
            scale(out, s);
        } else {
            char a[64], b[64];
            name_of(out, a);
            name_of(&right, b);
            return fail_at(p, QML_ERR_PARSE, &at,
                           "product of %s and %s: an angle is c0 + c1*theta[k] + c2*x[j] at most", a, b);
        }
        status = finite_or_fail(p, &at, out);
    }
    return status;
}

static int expression(parser *p, const frame *env, angle *out)
{
    if (++p->expr_depth > QASM_MAX_EXPR_DEPTH)
        return fail_at(p, QML_ERR_LIMIT, &p->tok, "expression nested deeper than %d", QASM_MAX_EXPR_DEPTH);
    int status = term(p, env, out);
    while (status == QML_OK && (is_punct(p, '+') || is_punct(p, '-'))) {
        token at = p->tok;
        double sign = is_punct(p, '-') ? -1.0 : 1.0;
        angle right;
        if ((status = advance(p)) != QML_OK || (status = term(p, env, &right)) != QML_OK)
            return status;
        status = combine(p, &at, out, &right, sign);
    }
    p->expr_depth--;
    return status;
}

/* ---- registers and the circuit ---------------------------------------------- */

static const register_ *find_register(const parser *p, size_t start, size_t length)
{
    for (size_t r = 0; r < p->n_registers; r++)
        if (span_equal(p, p->registers[r].name, p->registers[r].name_length, start, length))
            return &p->registers[r];
    return NULL;
}

static const definition *find_definition(const parser *p, size_t start, size_t length)
{
    for (size_t d = 0; d < p->n_defs; d++)
        if (span_equal(p, p->defs[d].name, p->defs[d].name_length, start, length))
            return &p->defs[d];
    return NULL;
}

/* Fix the qubit layout at the first use of a qubit. */
static int ensure_circuit(parser *p, const token *at)
{
    if (p->circuit)
        return QML_OK;
    if (p->n_qubits == 0)
        return fail_at(p, QML_ERR_PARSE, at, "a qubit is used before any quantum register is declared");
    int status = qml_circuit_create(&p->circuit, (unsigned)p->n_qubits);
    if (status == QML_ERR_INVALID_ARGUMENT)
        status = QML_ERR_LIMIT; /* more qubits than a circuit can have */
    if (status)
        return fail_at(p, status, at, "%s", qml_last_error());
    p->measured = qml__calloc(p->n_qubits, sizeof *p->measured);
    if (!p->measured)
        return qml__oom("the measured-qubit flags of an OpenQASM circuit");
    return QML_OK;
}

/* Report a failed circuit call with the place in the text. */
static int circuit_failed(parser *p, int status, const token *at)
{
    if (status == QML_ERR_OUT_OF_MEMORY)
        return status;
    char inner[512];
    snprintf(inner, sizeof inner, "%s", qml_last_error());
    /* The caller's arguments were fine: the text asked for something the
     * circuit refuses (a matrix that is not unitary, an index too large). */
    if (status == QML_ERR_INVALID_ARGUMENT || status == QML_ERR_OUT_OF_RANGE)
        status = QML_ERR_PARSE;
    return fail_at(p, status, at, "%s", inner);
}

/* ---- emitting gates ------------------------------------------------------------ */

static int emit_fixed(parser *p, const token *at, qml_gate_kind kind, const unsigned *qubits, size_t count)
{
    if (p->collect)
        return fail_at(p, QML_ERR_PARSE, at, "a qml_evolution definition may only call qml_pauli_* gates");
    int status = qml_circuit_add_gate(p->circuit, kind, qubits, count);
    return status ? circuit_failed(p, status, at) : QML_OK;
}

static int emit_unitary(parser *p, const token *at, const double *matrix, const unsigned *qubits, size_t count)
{
    if (p->collect)
        return fail_at(p, QML_ERR_PARSE, at, "a qml_evolution definition may only call qml_pauli_* gates");
    int status = qml_circuit_add_unitary(p->circuit, matrix, qubits, count);
    return status ? circuit_failed(p, status, at) : QML_OK;
}

static int check_binding(parser *p, const token *at, const angle *a)
{
    if (a->w == FORMAL_WEIGHT)
        return fail_at(p, QML_ERR_PARSE, at, "the parameter of a qml_evolution definition used outside qml_pauli_* calls");
    return QML_OK;
}

/* A rotation; a constant angle that is exactly 0 still becomes a gate
 * (the text asked for it). */
static int emit_rotation(parser *p, const token *at, qml_gate_kind kind, const unsigned *qubits, size_t count,
                         const angle *a)
{
    if (p->collect)
        return fail_at(p, QML_ERR_PARSE, at, "a qml_evolution definition may only call qml_pauli_* gates");
    int status = check_binding(p, at, a);
    if (status)
        return status;
    status = qml_circuit_add_rotation(p->circuit, kind, qubits, count, a->c0, a->w, a->w == QML_NONE ? 0.0 : a->cw,
                                      a->f, a->f == QML_NONE ? 0.0 : a->cf);
    return status ? circuit_failed(p, status, at) : QML_OK;
}

/* Rotation pieces of a decomposition: an exactly-zero constant piece is the
 * identity and is left out. */
static int emit_piece(parser *p, const token *at, qml_gate_kind kind, const unsigned *qubits, size_t count,
                      const angle *a)
{
    if (is_constant(a) && a->c0 == 0)
        return QML_OK;
    return emit_rotation(p, at, kind, qubits, count, a);
}

static int emit_pauli(parser *p, const token *at, const qml_pauli_sum *generator, const angle *a)
{
    int status = check_binding(p, at, a);
    if (status)
        return status;
    status = qml_circuit_add_pauli_rotation(p->circuit, generator, a->c0, a->w, a->w == QML_NONE ? 0.0 : a->cw, a->f,
                                            a->f == QML_NONE ? 0.0 : a->cf);
    return status ? circuit_failed(p, status, at) : QML_OK;
}

/* u3(theta, phi, lambda) = [[cos, -e^{i lambda} sin], [e^{i phi} sin, e^{i(phi+lambda)} cos]]
 * (half angles), the OpenQASM 2 U up to a global phase. */
static void u3_matrix(double theta, double phi, double lambda, double m[8])
{
    double c = cos(theta / 2), s = sin(theta / 2);
    m[0] = c;
    m[1] = 0;
    m[2] = -cos(lambda) * s;
    m[3] = -sin(lambda) * s;
    m[4] = cos(phi) * s;
    m[5] = sin(phi) * s;
    m[6] = cos(phi + lambda) * c;
    m[7] = sin(phi + lambda) * c;
}

/* The 4x4 matrix of a controlled 2x2 V, control on qubits[0]: index b_c + 2 b_t. */
static void controlled_matrix(const double v[8], double m[32])
{
    memset(m, 0, 32 * sizeof *m);
    /* control 0: identity on indices 0 (t=0) and 2 (t=1) */
    m[2 * (0 * 4 + 0)] = 1;
    m[2 * (2 * 4 + 2)] = 1;
    /* control 1: V on indices 1 (t=0) and 3 (t=1) */
    const int idx[2] = {1, 3};
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 2; c++) {
            m[2 * (idx[r] * 4 + idx[c])] = v[2 * (r * 2 + c)];
            m[2 * (idx[r] * 4 + idx[c]) + 1] = v[2 * (r * 2 + c) + 1];
        }
}

/* exp(i lambda |1..1><1..1|) on k qubits = exp(-i lambda/2 G) with
 * G = -2^{1-k} sum_S (-1)^{|S|} Z_S (S over subsets of the qubits). */
static int multi_controlled_phase(parser *p, qml_pauli_sum **out, const unsigned *qubits, size_t k)
{
    qml_pauli_sum *sum = NULL;
    if (qml_pauli_sum_create(&sum, (unsigned)p->n_qubits) != QML_OK)
        return qml__oom("a controlled-phase generator");
    char ops[8];
    unsigned on[8];
    for (unsigned mask = 0; mask < (1u << k); mask++) {
        size_t n = 0;
        for (size_t j = 0; j < k; j++)
            if (mask >> j & 1u) {
                ops[n] = 'Z';
                on[n++] = qubits[j];
            }
        double c = -ldexp(1.0, 1 - (int)k) * ((n & 1u) ? -1.0 : 1.0);
        int status = qml_pauli_sum_add_term(sum, c, ops, on, n);
        if (status) {
            qml_pauli_sum_free(sum);
            return status;
        }
    }
    *out = sum;
    return QML_OK;
}

static int emit_mcphase(parser *p, const token *at, const unsigned *qubits, size_t k, const angle *a)
{
    if (p->collect)
        return fail_at(p, QML_ERR_PARSE, at, "a qml_evolution definition may only call qml_pauli_* gates");
    qml_pauli_sum *g = NULL;
    int status = multi_controlled_phase(p, &g, qubits, k);
    if (status)
        return status == QML_ERR_OUT_OF_MEMORY ? status : circuit_failed(p, status, at);
    status = emit_pauli(p, at, g, a);
    qml_pauli_sum_free(g);
    return status;
}

static int sum_angles(parser *p, const token *at, angle *out, const angle *a, double sa, const angle *b, double sb)
{
    angle left = *a, right = *b;
    scale(&left, sa);
    scale(&right, sb);
    *out = left;
    return combine(p, at, out, &right, 1.0);
}

/* ---- the standard gates (qelib1.inc, stdgates.inc) ---------------------------- */

typedef enum how {
    HOW_FIXED, HOW_ROTATION, HOW_U3, HOW_U2, HOW_U0, HOW_SXDG, HOW_CH, HOW_CSX, HOW_CSWAP, HOW_CPHASE,
    HOW_CU3, HOW_CU, HOW_RCCX, HOW_RC3X, HOW_MCX, HOW_C3SQRTX
} how;

typedef struct builtin {
    const char *name;
    unsigned n_params, n_qubits;
    how how;
    qml_gate_kind kind;
    bool always;               /* U and CX need no include */
} builtin;

static const builtin builtins[] = {
    {"U", 3, 1, HOW_U3, QML_GATE_I, true},
    {"CX", 0, 2, HOW_FIXED, QML_GATE_CNOT, true},
    {"u3", 3, 1, HOW_U3, QML_GATE_I, false},
    {"u", 3, 1, HOW_U3, QML_GATE_I, false},
    {"u2", 2, 1, HOW_U2, QML_GATE_I, false},
    {"u1", 1, 1, HOW_ROTATION, QML_GATE_PHASE, false},
    {"p", 1, 1, HOW_ROTATION, QML_GATE_PHASE, false},
    {"phase", 1, 1, HOW_ROTATION, QML_GATE_PHASE, false},
    {"u0", 1, 1, HOW_U0, QML_GATE_I, false},
    {"id", 0, 1, HOW_FIXED, QML_GATE_I, false},
    {"x", 0, 1, HOW_FIXED, QML_GATE_X, false},
    {"y", 0, 1, HOW_FIXED, QML_GATE_Y, false},
    {"z", 0, 1, HOW_FIXED, QML_GATE_Z, false},
    {"h", 0, 1, HOW_FIXED, QML_GATE_H, false},
    {"s", 0, 1, HOW_FIXED, QML_GATE_S, false},
    {"sdg", 0, 1, HOW_FIXED, QML_GATE_SDG, false},
    {"t", 0, 1, HOW_FIXED, QML_GATE_T, false},
    {"tdg", 0, 1, HOW_FIXED, QML_GATE_TDG, false},
    {"sx", 0, 1, HOW_FIXED, QML_GATE_SX, false},
    {"sxdg", 0, 1, HOW_SXDG, QML_GATE_I, false},
    {"rx", 1, 1, HOW_ROTATION, QML_GATE_RX, false},
    {"ry", 1, 1, HOW_ROTATION, QML_GATE_RY, false},
    {"rz", 1, 1, HOW_ROTATION, QML_GATE_RZ, false},
    {"cx", 0, 2, HOW_FIXED, QML_GATE_CNOT, false},
    {"cy", 0, 2, HOW_FIXED, QML_GATE_CY, false},
    {"cz", 0, 2, HOW_FIXED, QML_GATE_CZ, false},
    {"swap", 0, 2, HOW_FIXED, QML_GATE_SWAP, false},
    {"ch", 0, 2, HOW_CH, QML_GATE_I, false},
    {"csx", 0, 2, HOW_CSX, QML_GATE_I, false},
    {"crx", 1, 2, HOW_ROTATION, QML_GATE_CRX, false},
    {"cry", 1, 2, HOW_ROTATION, QML_GATE_CRY, false},
    {"crz", 1, 2, HOW_ROTATION, QML_GATE_CRZ, false},
    {"cu1", 1, 2, HOW_CPHASE, QML_GATE_I, false},
    {"cp", 1, 2, HOW_CPHASE, QML_GATE_I, false},
    {"cphase", 1, 2, HOW_CPHASE, QML_GATE_I, false},
    {"cu3", 3, 2, HOW_CU3, QML_GATE_I, false},
    {"cu", 4, 2, HOW_CU, QML_GATE_I, false},
    {"rxx", 1, 2, HOW_ROTATION, QML_GATE_RXX, false},
    {"rzz", 1, 2, HOW_ROTATION, QML_GATE_RZZ, false},
    {"ccx", 0, 3, HOW_FIXED, QML_GATE_TOFFOLI, false},
    {"cswap", 0, 3, HOW_CSWAP, QML_GATE_I, false},
    {"rccx", 0, 3, HOW_RCCX, QML_GATE_I, false},
    {"rc3x", 0, 4, HOW_RC3X, QML_GATE_I, false},
    {"c3x", 0, 4, HOW_MCX, QML_GATE_I, false},
    {"c4x", 0, 5, HOW_MCX, QML_GATE_I, false},
    {"c3sqrtx", 0, 4, HOW_C3SQRTX, QML_GATE_I, false},
};

static const builtin *find_builtin(const parser *p, size_t start, size_t length)
{
    for (size_t k = 0; k < sizeof builtins / sizeof *builtins; k++)
        if (span_is(p, start, length, builtins[k].name))
            return &builtins[k];
    return NULL;
}

static bool all_constant(const angle *a, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (!is_constant(&a[k]))
            return false;
    return true;
}

/* Clifford+T relative-phase Toffolis (Maslov, Phys. Rev. A 93, 022311 (2016)):
 * sequences of H, T, TDG, CX on the target. Codes: 'h' 't' 'd'(tdg) or a digit
 * k: CX from control k to the target. */
static int emit_sequence(parser *p, const token *at, const char *codes, const unsigned *controls, unsigned target)
{
    for (const char *c = codes; *c; c++) {
        int status;
        if (*c >= '0' && *c <= '9') {
            unsigned q[2] = {controls[*c - '0'], target};
            status = emit_fixed(p, at, QML_GATE_CNOT, q, 2);
        } else {
            qml_gate_kind kind = *c == 'h' ? QML_GATE_H : *c == 't' ? QML_GATE_T : QML_GATE_TDG;
            status = emit_fixed(p, at, kind, &target, 1);
        }
        if (status)
            return status;
    }
    return QML_OK;
}

static int apply_builtin(parser *p, const token *at, const builtin *b, const angle *a, const unsigned *q)
{
    int status = QML_OK;
    double m[32];
    switch (b->how) {
    case HOW_FIXED:
        return emit_fixed(p, at, b->kind, q, b->n_qubits);
    case HOW_ROTATION:
        return emit_rotation(p, at, b->kind, q, b->n_qubits, &a[0]);
    case HOW_U0:
        return emit_fixed(p, at, QML_GATE_I, q, 1);
    case HOW_U2:
    case HOW_U3: {
        /* u2(phi, lambda) = u3(pi/2, phi, lambda) */
        angle theta = b->how == HOW_U2 ? constant_angle(3.14159265358979323846 / 2) : a[0];
        const angle *phi = b->how == HOW_U2 ? &a[0] : &a[1];
        const angle *lambda = b->how == HOW_U2 ? &a[1] : &a[2];
        if (is_constant(&theta) && is_constant(phi) && is_constant(lambda) && !p->collect) {
            u3_matrix(theta.c0, phi->c0, lambda->c0, m);
            return emit_unitary(p, at, m, q, 1);
        }
        /* U = Rz(phi) Ry(theta) Rz(lambda) up to a global phase */
        if ((status = emit_piece(p, at, QML_GATE_RZ, q, 1, lambda)) != QML_OK ||
            (status = emit_piece(p, at, QML_GATE_RY, q, 1, &theta)) != QML_OK)
            return status;
        return emit_piece(p, at, QML_GATE_RZ, q, 1, phi);
    }
    case HOW_SXDG: {
        const double v[8] = {0.5, -0.5, 0.5, 0.5, 0.5, 0.5, 0.5, -0.5};
        return emit_unitary(p, at, v, q, 1);
    }
    case HOW_CH: {
        const double r = 0.70710678118654752440;
        const double v[8] = {r, 0, r, 0, r, 0, -r, 0};
        controlled_matrix(v, m);
        return emit_unitary(p, at, m, q, 2);
    }
    case HOW_CSX: {
        const double v[8] = {0.5, 0.5, 0.5, -0.5, 0.5, -0.5, 0.5, 0.5};
        controlled_matrix(v, m);
        return emit_unitary(p, at, m, q, 2);
    }
    case HOW_CSWAP: {
        /* cswap c,a,b = cx b,a; ccx c,a,b; cx b,a */
        unsigned ba[2] = {q[2], q[1]};
        if ((status = emit_fixed(p, at, QML_GATE_CNOT, ba, 2)) != QML_OK ||
            (status = emit_fixed(p, at, QML_GATE_TOFFOLI, q, 3)) != QML_OK)
            return status;
        return emit_fixed(p, at, QML_GATE_CNOT, ba, 2);
    }
    case HOW_CPHASE:
        return emit_mcphase(p, at, q, 2, &a[0]);
    case HOW_CU3:
    case HOW_CU: {
        /* controlled-u3 (and cu: times e^{i gamma} on the control). */
        if (all_constant(a, b->n_params) && !p->collect) {
            double v[8];
            u3_matrix(a[0].c0, a[1].c0, a[2].c0, v);
            if (b->how == HOW_CU) {
                double cg = cos(a[3].c0), sg = sin(a[3].c0);
                for (int k = 0; k < 4; k++) {
                    double re = v[2 * k], im = v[2 * k + 1];
                    v[2 * k] = cg * re - sg * im;
                    v[2 * k + 1] = cg * im + sg * re;
                }
            }
            controlled_matrix(v, m);
            return emit_unitary(p, at, m, q, 2);
        }
        /* u3 = e^{i(phi+lambda)/2} Rz(phi) Ry(theta) Rz(lambda), so
         * C-u3 = P_c((phi+lambda)/2) CRZ(phi) CRY(theta) CRZ(lambda). */
        angle phase;
        if ((status = sum_angles(p, at, &phase, &a[1], 0.5, &a[2], 0.5)) != QML_OK)
            return status;
        if (b->how == HOW_CU && (status = combine(p, at, &phase, &a[3], 1.0)) != QML_OK)
            return status;
        if ((status = emit_piece(p, at, QML_GATE_CRZ, q, 2, &a[2])) != QML_OK ||
            (status = emit_piece(p, at, QML_GATE_CRY, q, 2, &a[0])) != QML_OK ||
            (status = emit_piece(p, at, QML_GATE_CRZ, q, 2, &a[1])) != QML_OK)
            return status;
        return emit_piece(p, at, QML_GATE_PHASE, q, 1, &phase);
    }
    case HOW_RCCX:
        return emit_sequence(p, at, "ht1d0t1dh", q, q[2]);
    case HOW_RC3X:
        return emit_sequence(p, at, "ht2dh0t1d0t1dht2dh", q, q[3]);
    case HOW_MCX:
    case HOW_C3SQRTX: {
        /* C^k X = H_t C^k Z H_t; C^k sqrt(X) = H_t C^k S H_t (sqrt(X) = H S H). */
        unsigned target = q[b->n_qubits - 1];
        angle lambda = constant_angle(b->how == HOW_MCX ? 3.14159265358979323846 : 3.14159265358979323846 / 2);
        if ((status = emit_fixed(p, at, QML_GATE_H, &target, 1)) != QML_OK ||
            (status = emit_mcphase(p, at, q, b->n_qubits, &lambda)) != QML_OK)
            return status;
        return emit_fixed(p, at, QML_GATE_H, &target, 1);
    }
    }
    return QML_OK;
}

/* ---- libqml's own gates (names starting with qml_, and ryy, iswap) ------------ */

static int apply_pauli(parser *p, const token *at, const definition *d, const angle *a, const unsigned *q)
{
    /* qml_pauli_<letters>: one letter per qubit argument. */
    const char *letters = p->text + d->name + strlen("qml_pauli_");
    char ops[QASM_MAX_ARGS];
    unsigned on[QASM_MAX_ARGS];
    size_t n = 0;
    for (size_t k = 0; k < d->n_qubits; k++) {
        char c = letters[k];
        if (c == 'i')
            continue;
        ops[n] = (char)(c - 'a' + 'A');
        on[n++] = q[k];
    }
    if (p->collect) {
        if (a->w != FORMAL_WEIGHT || a->f != QML_NONE || a->c0 != 0)
            return fail_at(p, QML_ERR_PARSE, at,
                           "in a qml_evolution definition each qml_pauli_* angle is a number times the parameter");
        int status = qml_pauli_sum_add_term(p->collect, a->cw, ops, on, n);
        return status ? circuit_failed(p, status, at) : QML_OK;
    }
    qml_pauli_sum *g = NULL;
    if (qml_pauli_sum_create(&g, (unsigned)p->n_qubits) != QML_OK)
        return qml__oom("a Pauli-rotation generator");
    int status = qml_pauli_sum_add_term(g, 1.0, ops, on, n);
    if (status == QML_OK && g->n_terms == 0)
        status = qml_pauli_sum_add_term(g, 1.0, ops, on, 0);
    status = status ? circuit_failed(p, status, at) : emit_pauli(p, at, g, a);
    qml_pauli_sum_free(g);
    return status;
}

static int run_body(parser *p, const frame *env);

static int apply_evolution(parser *p, const token *at, const definition *d, const angle *a, const unsigned *q)
{
    if (p->collect)
        return fail_at(p, QML_ERR_PARSE, at, "a qml_evolution definition may only call qml_pauli_* gates");
    qml_pauli_sum *g = NULL;
    if (qml_pauli_sum_create(&g, (unsigned)p->n_qubits) != QML_OK)
        return qml__oom("an evolution generator");
    angle formal = constant_angle(-0.0);
    formal.w = FORMAL_WEIGHT;
    formal.cw = 1.0;
    frame env = {d, &formal, q};
    p->collect = g;
    int status = run_body(p, &env);
    p->collect = NULL;
    if (status == QML_OK && g->n_terms == 0)
        status = fail_at(p, QML_ERR_PARSE, at, "the qml_evolution definition '%.*s' has no terms",
                         (int)d->name_length, p->text + d->name);
    if (status == QML_OK)
        status = emit_pauli(p, at, g, a);
    qml_pauli_sum_free(g);
    return status;
}

static int apply_native(parser *p, const token *at, const definition *d, const angle *a, const unsigned *q)
{
    if (d->how == NATIVE_PAULI)
        return apply_pauli(p, at, d, a, q);
    if (d->how == NATIVE_EVOLUTION)
        return apply_evolution(p, at, d, a, q);
    if (d->how == NATIVE_RYY)
        return emit_rotation(p, at, QML_GATE_RYY, q, 2, &a[0]);
    if (d->how == NATIVE_ISWAP)
        return emit_fixed(p, at, QML_GATE_ISWAP, q, 2);
    /* unitaries: the parameters are the matrix entries, re/im interleaved */
    if (!all_constant(a, d->n_params))
        return fail_at(p, QML_ERR_PARSE, at, "the entries of a qml_unitary matrix must be constants");
    double m[32];
    for (size_t k = 0; k < d->n_params; k++)
        m[k] = a[k].c0;
    return emit_unitary(p, at, m, q, d->how == NATIVE_UNITARY1 ? 1 : 2);
}

/* Which definitions libqml reads as one of its own gates (docs/circuits.md). */
static native native_kind(const parser *p, const definition *d)
{
    const char *name = p->text + d->name;
    size_t n = d->name_length;
    if (n > 10 && memcmp(name, "qml_pauli_", 10) == 0 && d->n_params == 1 && n - 10 == d->n_qubits) {
        for (size_t k = 10; k < n; k++)
            if (!strchr("ixyz", name[k]) || name[k] == 0)
                return NATIVE_NONE;
        return NATIVE_PAULI;
    }
    if (n >= 13 && memcmp(name, "qml_evolution", 13) == 0 && d->n_params == 1 && !d->opaque)
        return NATIVE_EVOLUTION;
    if (n >= 12 && memcmp(name, "qml_unitary1", 12) == 0 && d->n_params == 8 && d->n_qubits == 1)
        return NATIVE_UNITARY1;
    if (n >= 12 && memcmp(name, "qml_unitary2", 12) == 0 && d->n_params == 32 && d->n_qubits == 2)
        return NATIVE_UNITARY2;
    if (span_is(p, d->name, n, "ryy") && d->n_params == 1 && d->n_qubits == 2)
        return NATIVE_RYY;
    if (span_is(p, d->name, n, "iswap") && d->n_params == 0 && d->n_qubits == 2)
        return NATIVE_ISWAP;
    return NATIVE_NONE;
}

/* ---- gate calls ------------------------------------------------------------------- */

static int statement(parser *p, const frame *env);

/* Run a definition's body with its parameters and qubits bound. */
static int run_body(parser *p, const frame *env)
{
    size_t pos = p->pos;
    unsigned line = p->line, column = p->column;
    token saved = p->tok;
    p->pos = env->def->body;
    p->line = env->def->body_line;
    p->column = env->def->body_column;
    int status = advance(p);
    while (status == QML_OK && !is_punct(p, '}'))
        status = statement(p, env);
    p->pos = pos;
    p->line = line;
    p->column = column;
    p->tok = saved;
    return status;
}

static int apply_gate(parser *p, const token *name, const angle *a, size_t n_params, const unsigned *q,
                      size_t n_qubits)
{
    int status;
    const definition *d = find_definition(p, name->start, name->length);
    const builtin *b = d ? NULL : find_builtin(p, name->start, name->length);
    if (b && !b->always && !p->standard_gates)
        b = NULL;
    if (!d && !b) {
        bool standard = find_builtin(p, name->start, name->length) != NULL;
        return fail_at(p, QML_ERR_PARSE, name, "unknown gate '%.*s'%s", (int)name->length, p->text + name->start,
                       standard ? p->version == 3 ? " (include \"stdgates.inc\" first)"
                                                  : " (include \"qelib1.inc\" first)"
                                : "");
    }
    size_t want_params = d ? d->n_params : b->n_params;
    size_t want_qubits = d ? d->n_qubits : b->n_qubits;
    if (n_params != want_params)
        return fail_at(p, QML_ERR_PARSE, name, "gate '%.*s' takes %zu parameter%s, %zu given", (int)name->length,
                       p->text + name->start, want_params, want_params == 1 ? "" : "s", n_params);
    if (n_qubits != want_qubits)
        return fail_at(p, QML_ERR_PARSE, name, "gate '%.*s' acts on %zu qubit%s, %zu given", (int)name->length,
                       p->text + name->start, want_qubits, want_qubits == 1 ? "" : "s", n_qubits);
    for (size_t i = 0; i < n_qubits; i++) {
        for (size_t j = 0; j < i; j++)
            if (q[i] == q[j])
                return fail_at(p, QML_ERR_PARSE, name, "gate '%.*s' is given qubit %u twice", (int)name->length,
                               p->text + name->start, q[i]);
        if (p->measured[q[i]])
            return fail_at(p, QML_ERR_UNSUPPORTED, name,
                           "qubit %u is used after it was measured (measurements are read only at the end)", q[i]);
    }
    if (b)
        return apply_builtin(p, name, b, a, q);
    if (d->how != NATIVE_NONE)
        return apply_native(p, name, d, a, q);
    if (d->opaque)
        return fail_at(p, QML_ERR_UNSUPPORTED, name, "opaque gate '%.*s' has no definition to expand",
                       (int)name->length, p->text + name->start);
    if (++p->depth > QASM_MAX_CALL_DEPTH)
        return fail_at(p, QML_ERR_LIMIT, name, "gate calls nested deeper than %d", QASM_MAX_CALL_DEPTH);
    frame env = {d, a, q};
    status = run_body(p, &env);
    p->depth--;
    return status;
}

/* One qubit argument at top level: reg[i] (count 1) or reg (its size). */
typedef struct argument {
    size_t base, count;
    bool whole;                  /* a whole register: broadcast over it */
} argument;

static int qubit_argument(parser *p, const frame *env, argument *out, bool quantum)
{
    if (p->tok.type != TOK_IDENT)
        return expected(p, quantum ? "a qubit" : "a classical bit");
    token t = p->tok;
    int status = advance(p);
    if (status)
        return status;
    if (env) {
        for (size_t k = 0; k < env->def->n_qubits; k++)
            if (span_equal(p, t.start, t.length, env->def->qubits[k][0], env->def->qubits[k][1])) {
                out->base = env->qubits[k];
                out->count = 1;
                out->whole = false;
                return QML_OK;
            }
        return fail_at(p, QML_ERR_PARSE, &t, "'%.*s' is not a qubit argument of gate '%.*s'", (int)t.length,
                       p->text + t.start, (int)env->def->name_length, p->text + env->def->name);
    }
    const register_ *r = find_register(p, t.start, t.length);
    if (!r || r->quantum != quantum)
        return fail_at(p, QML_ERR_PARSE, &t, "'%.*s' is not a %s register", (int)t.length, p->text + t.start,
                       quantum ? "quantum" : "classical");
    if (is_punct(p, '[')) {
        size_t index = 0;
        token at;
        if ((status = advance(p)) != QML_OK)
            return status;
        at = p->tok;
        if ((status = read_index(p, QASM_MAX_REGISTER, &index, "an index")) != QML_OK ||
            (status = expect_punct(p, ']')) != QML_OK)
            return status;
        if (index >= r->size)
            return fail_at(p, QML_ERR_PARSE, &at, "index %zu is outside register '%.*s' of size %zu", index,
                           (int)t.length, p->text + t.start, r->size);
        out->base = r->base + index;
        out->count = 1;
        out->whole = false;
        return QML_OK;
    }
    out->base = r->base;
    out->count = r->size;
    out->whole = true;
    return QML_OK;
}

static bool whole(const argument *a)
{
    return a->whole;
}

static size_t count_of(const argument *a)
{
    return a->count;
}

static int argument_list(parser *p, const frame *env, argument *args, size_t *n, bool quantum)
{
    *n = 0;
    for (;;) {
        if (*n >= QASM_MAX_ARGS)
            return fail_at(p, QML_ERR_LIMIT, &p->tok, "more than %d qubit arguments", QASM_MAX_ARGS);
        int status = qubit_argument(p, env, &args[*n], quantum);
        if (status)
            return status;
        (*n)++;
        if (!is_punct(p, ','))
            return QML_OK;
        if ((status = advance(p)) != QML_OK)
            return status;
    }
}

/* The number of times a statement repeats over whole-register arguments
 * (OpenQASM 2 broadcasting), 1 if none. */
static int broadcast(parser *p, const token *at, const argument *args, size_t n, size_t *times)
{
    *times = 1;
    bool any = false;
    for (size_t k = 0; k < n; k++) {
        if (!whole(&args[k]))
            continue;
        if (any && count_of(&args[k]) != *times)
            return fail_at(p, QML_ERR_PARSE, at, "registers of different sizes (%zu and %zu) in one statement",
                           *times, count_of(&args[k]));
        *times = count_of(&args[k]);
        any = true;
    }
    return QML_OK;
}

static int gate_call(parser *p, const frame *env)
{
    token name = p->tok;
    angle a[QASM_MAX_PARAMS];
    size_t n_params = 0;
    int status = advance(p);
    if (status)
        return status;
    if (is_punct(p, '(')) {
        if ((status = advance(p)) != QML_OK)
            return status;
        if (!is_punct(p, ')'))
            for (;;) {
                if (n_params >= QASM_MAX_PARAMS)
                    return fail_at(p, QML_ERR_LIMIT, &p->tok, "more than %d gate parameters", QASM_MAX_PARAMS);
                if ((status = expression(p, env, &a[n_params])) != QML_OK)
                    return status;
                n_params++;
                if (!is_punct(p, ','))
                    break;
                if ((status = advance(p)) != QML_OK)
                    return status;
            }
        if ((status = expect_punct(p, ')')) != QML_OK)
            return status;
    }
    argument args[QASM_MAX_ARGS];
    size_t n_args = 0;
    if ((status = argument_list(p, env, args, &n_args, true)) != QML_OK ||
        (status = expect_punct(p, ';')) != QML_OK)
        return status;
    if (!env && (status = ensure_circuit(p, &name)) != QML_OK)
        return status;
    size_t times = 1;
    if ((status = broadcast(p, &name, args, n_args, &times)) != QML_OK)
        return status;
    for (size_t i = 0; i < times; i++) {
        unsigned q[QASM_MAX_ARGS];
        for (size_t k = 0; k < n_args; k++)
            q[k] = (unsigned)(args[k].base + (whole(&args[k]) ? i : 0));
        if ((status = apply_gate(p, &name, a, n_params, q, n_args)) != QML_OK)
            return status;
    }
    return QML_OK;
}

/* ---- declarations ------------------------------------------------------------------- */

static int add_register(parser *p, const token *name, size_t size, bool quantum)
{
    if (find_register(p, name->start, name->length) || find_definition(p, name->start, name->length))
        return fail_at(p, QML_ERR_PARSE, name, "'%.*s' is already declared", (int)name->length,
                       p->text + name->start);
    if (size == 0)
        return fail_at(p, QML_ERR_PARSE, name, "register '%.*s' has size 0", (int)name->length, p->text + name->start);
    if (quantum && p->circuit)
        return fail_at(p, QML_ERR_UNSUPPORTED, name,
                       "quantum register '%.*s' is declared after the first gate; declare every qreg first",
                       (int)name->length, p->text + name->start);
    if (quantum && p->n_qubits + size > QASM_MAX_REGISTER)
        return fail_at(p, QML_ERR_LIMIT, name, "more than %zu qubits", QASM_MAX_REGISTER);
    if (p->n_registers == p->registers_capacity) {
        size_t capacity = p->registers_capacity ? 2 * p->registers_capacity : 8;
        register_ *grown = qml__realloc(p->registers, qml__mul_size(capacity, sizeof *grown));
        if (!grown)
            return qml__oom("the registers of an OpenQASM circuit");
        p->registers = grown;
        p->registers_capacity = capacity;
    }
    register_ *r = &p->registers[p->n_registers++];
    r->name = name->start;
    r->name_length = name->length;
    r->size = size;
    r->quantum = quantum;
    r->base = quantum ? p->n_qubits : 0;
    if (quantum)
        p->n_qubits += size;
    return QML_OK;
}

/* qreg name[size]; creg name[size]; */
static int register_v2(parser *p, bool quantum)
{
    int status = advance(p);
    if (status)
        return status;
    if (p->tok.type != TOK_IDENT)
        return expected(p, "a register name");
    token name = p->tok;
    size_t size = 0;
    if ((status = advance(p)) != QML_OK || (status = expect_punct(p, '[')) != QML_OK ||
        (status = read_index(p, QASM_MAX_REGISTER, &size, "a register size")) != QML_OK ||
        (status = expect_punct(p, ']')) != QML_OK || (status = expect_punct(p, ';')) != QML_OK)
        return status;
    return add_register(p, &name, size, quantum);
}

/* qubit[size] name; qubit name; bit[size] name; bit name; */
static int register_v3(parser *p, bool quantum)
{
    int status = advance(p);
    if (status)
        return status;
    size_t size = 1;
    if (is_punct(p, '[')) {
        if ((status = advance(p)) != QML_OK ||
            (status = read_index(p, QASM_MAX_REGISTER, &size, "a register size")) != QML_OK ||
            (status = expect_punct(p, ']')) != QML_OK)
            return status;
    }
    if (p->tok.type != TOK_IDENT)
        return expected(p, "a register name");
    token name = p->tok;
    if ((status = advance(p)) != QML_OK || (status = expect_punct(p, ';')) != QML_OK)
        return status;
    return add_register(p, &name, size, quantum);
}

/* input array[angle, n] theta;  input array[float[64], n] x; */
static int input_declaration(parser *p)
{
    token at = p->tok;
    int status = advance(p);
    if (status)
        return status;
    if (!is_word(p, "array"))
        return expected(p, "'array' (inputs are declared as: input array[angle, N] theta;)");
    if ((status = advance(p)) != QML_OK || (status = expect_punct(p, '[')) != QML_OK)
        return status;
    if (!is_word(p, "angle") && !is_word(p, "float"))
        return expected(p, "'angle' or 'float'");
    if ((status = advance(p)) != QML_OK)
        return status;
    if (is_punct(p, '[')) {
        size_t bits = 0;
        if ((status = advance(p)) != QML_OK || (status = read_index(p, 128, &bits, "a bit width")) != QML_OK ||
            (status = expect_punct(p, ']')) != QML_OK)
            return status;
    }
    size_t size = 0;
    if ((status = expect_punct(p, ',')) != QML_OK ||
        (status = read_index(p, QASM_MAX_INDEX, &size, "an array size")) != QML_OK ||
        (status = expect_punct(p, ']')) != QML_OK)
        return status;
    if (p->tok.type != TOK_IDENT)
        return expected(p, "theta or x");
    token name = p->tok;
    bool weight = is_word(p, "theta"), feature = is_word(p, "x");
    if (!weight && !feature)
        return fail_at(p, QML_ERR_UNSUPPORTED, &name,
                       "input '%.*s': libqml reads the input arrays theta (weights) and x (features)",
                       (int)(name.length < 60 ? name.length : 60), p->text + name.start);
    if ((weight ? p->theta_size : p->x_size) >= 0)
        return fail_at(p, QML_ERR_PARSE, &at, "input '%s' declared twice", weight ? "theta" : "x");
    if (weight)
        p->theta_size = (long)size;
    else
        p->x_size = (long)size;
    if ((status = advance(p)) != QML_OK)
        return status;
    return expect_punct(p, ';');
}

static int identifier_list(parser *p, size_t (*spans)[2], size_t max, size_t *n, const char *what)
{
    *n = 0;
    for (;;) {
        if (p->tok.type != TOK_IDENT)
            return expected(p, what);
        if (*n >= max)
            return fail_at(p, QML_ERR_LIMIT, &p->tok, "more than %zu %ss", max, what);
        for (size_t k = 0; k < *n; k++)
            if (span_equal(p, spans[k][0], spans[k][1], p->tok.start, p->tok.length))
                return fail_at(p, QML_ERR_PARSE, &p->tok, "'%.*s' is listed twice", (int)p->tok.length,
                               p->text + p->tok.start);
        spans[*n][0] = p->tok.start;
        spans[*n][1] = p->tok.length;
        (*n)++;
        int status = advance(p);
        if (status)
            return status;
        if (!is_punct(p, ','))
            return QML_OK;
        if ((status = advance(p)) != QML_OK)
            return status;
    }
}

/* gate name(params) qubits { body }   or   opaque name(params) qubits; */
static int gate_definition(parser *p, bool opaque)
{
    int status = advance(p);
    if (status)
        return status;
    if (p->tok.type != TOK_IDENT)
        return expected(p, "a gate name");
    token name = p->tok;
    if (find_definition(p, name.start, name.length) || find_register(p, name.start, name.length) ||
        (p->standard_gates && find_builtin(p, name.start, name.length)) ||
        span_is(p, name.start, name.length, "U") || span_is(p, name.start, name.length, "CX"))
        return fail_at(p, QML_ERR_PARSE, &name, "gate '%.*s' is already defined", (int)name.length,
                       p->text + name.start);
    if (p->n_defs == p->defs_capacity) {
        size_t capacity = p->defs_capacity ? 2 * p->defs_capacity : 8;
        definition *grown = qml__realloc(p->defs, qml__mul_size(capacity, sizeof *grown));
        if (!grown)
            return qml__oom("the gate definitions of an OpenQASM circuit");
        p->defs = grown;
        p->defs_capacity = capacity;
    }
    definition *d = &p->defs[p->n_defs];
    memset(d, 0, sizeof *d);
    d->name = name.start;
    d->name_length = name.length;
    d->opaque = opaque;
    if ((status = advance(p)) != QML_OK)
        return status;
    if (is_punct(p, '(')) {
        if ((status = advance(p)) != QML_OK)
            return status;
        if (!is_punct(p, ')') &&
            (status = identifier_list(p, d->params, QASM_MAX_PARAMS, &d->n_params, "parameter name")) != QML_OK)
            return status;
        if ((status = expect_punct(p, ')')) != QML_OK)
            return status;
    }
    if ((status = identifier_list(p, d->qubits, QASM_MAX_ARGS, &d->n_qubits, "qubit argument")) != QML_OK)
        return status;
    for (size_t i = 0; i < d->n_qubits; i++)
        for (size_t j = 0; j < d->n_params; j++)
            if (span_equal(p, d->qubits[i][0], d->qubits[i][1], d->params[j][0], d->params[j][1]))
                return fail_at(p, QML_ERR_PARSE, &name, "'%.*s' is both a parameter and a qubit",
                               (int)d->qubits[i][1], p->text + d->qubits[i][0]);
    if (opaque) {
        if ((status = expect_punct(p, ';')) != QML_OK)
            return status;
    } else {
        if (!is_punct(p, '{'))
            return expected(p, "'{' to start the gate body");
        d->body = p->pos;
        d->body_line = p->line;
        d->body_column = p->column;
        /* Check the body's syntax now (calls of earlier gates only, so no
         * recursion); it runs at each call. */
        if ((status = advance(p)) != QML_OK)
            return status;
        while (!is_punct(p, '}')) {
            if (p->tok.type == TOK_EOF)
                return fail_at(p, QML_ERR_PARSE, &name, "gate '%.*s': body not closed by '}'", (int)name.length,
                               p->text + name.start);
            if (p->tok.type == TOK_IDENT && !is_word(p, "barrier") &&
                !find_definition(p, p->tok.start, p->tok.length) && !find_builtin(p, p->tok.start, p->tok.length)) {
                if (span_equal(p, p->tok.start, p->tok.length, name.start, name.length))
                    return fail_at(p, QML_ERR_PARSE, &p->tok, "gate '%.*s' calls itself (recursion is not allowed)",
                                   (int)name.length, p->text + name.start);
                return fail_at(p, QML_ERR_PARSE, &p->tok, "unknown gate '%.*s' (a gate body may only call gates "
                               "defined before it)", (int)(p->tok.length < 60 ? p->tok.length : 60),
                               p->text + p->tok.start);
            }
            /* skip to the end of the statement */
            while (!is_punct(p, ';') && !is_punct(p, '}') && p->tok.type != TOK_EOF)
                if ((status = advance(p)) != QML_OK)
                    return status;
            if (is_punct(p, ';') && (status = advance(p)) != QML_OK)
                return status;
        }
        if ((status = advance(p)) != QML_OK)
            return status;
    }
    d->how = native_kind(p, d);
    p->n_defs++;
    return QML_OK;
}

/* measure a -> b;  (and the OpenQASM 3 forms b = measure a; measure a;) */
static int measure_qubits(parser *p, const token *at, const argument *qubits)
{
    int status = ensure_circuit(p, at);
    if (status)
        return status;
    size_t n = count_of(qubits);
    for (size_t k = 0; k < n; k++)
        p->measured[qubits->base + k] = true;
    return QML_OK;
}

static int measure_statement(parser *p)
{
    token at = p->tok;
    argument q, c;
    int status = advance(p);
    if (status || (status = qubit_argument(p, NULL, &q, true)) != QML_OK)
        return status;
    if (p->tok.type == TOK_ARROW) {
        if ((status = advance(p)) != QML_OK || (status = qubit_argument(p, NULL, &c, false)) != QML_OK)
            return status;
        if (count_of(&q) != count_of(&c))
            return fail_at(p, QML_ERR_PARSE, &at, "measure: %zu qubits into %zu bits", count_of(&q), count_of(&c));
    }
    if ((status = expect_punct(p, ';')) != QML_OK)
        return status;
    return measure_qubits(p, &at, &q);
}

static int assigned_measure(parser *p)
{
    token at = p->tok;
    argument c, q;
    int status = qubit_argument(p, NULL, &c, false);
    if (status || (status = expect_punct(p, '=')) != QML_OK)
        return status;
    if (!is_word(p, "measure"))
        return expected(p, "'measure' (the only assignment libqml reads is b = measure q;)");
    if ((status = advance(p)) != QML_OK || (status = qubit_argument(p, NULL, &q, true)) != QML_OK ||
        (status = expect_punct(p, ';')) != QML_OK)
        return status;
    if (count_of(&q) != count_of(&c))
        return fail_at(p, QML_ERR_PARSE, &at, "measure: %zu qubits into %zu bits", count_of(&q), count_of(&c));
    return measure_qubits(p, &at, &q);
}

static int barrier_statement(parser *p, const frame *env)
{
    token at = p->tok;
    argument args[QASM_MAX_ARGS];
    size_t n = 0;
    int status = advance(p);
    if (status || (status = argument_list(p, env, args, &n, true)) != QML_OK)
        return status;
    (void)at;
    return expect_punct(p, ';');
}

static int include_statement(parser *p)
{
    int status = advance(p);
    if (status)
        return status;
    if (p->tok.type != TOK_STRING)
        return expected(p, "a file name in quotes");
    token file = p->tok;
    const char *name = p->text + file.start + 1;
    size_t n = file.length - 2;
    if ((n == 10 && memcmp(name, "qelib1.inc", 10) == 0) || (n == 12 && memcmp(name, "stdgates.inc", 12) == 0))
        p->standard_gates = true;
    else
        return fail_at(p, QML_ERR_UNSUPPORTED, &file,
                       "cannot include \"%.*s\": libqml knows qelib1.inc and stdgates.inc only", (int)(n < 60 ? n : 60),
                       name);
    if ((status = advance(p)) != QML_OK)
        return status;
    return expect_punct(p, ';');
}

static int version_statement(parser *p)
{
    token at = p->tok;
    int status = advance(p);
    if (status)
        return status;
    if (p->seen_statement)
        return fail_at(p, QML_ERR_PARSE, &at, "OPENQASM must be the first statement");
    if (p->tok.type != TOK_NUMBER)
        return expected(p, "a version number");
    const char *v = p->text + p->tok.start;
    size_t n = p->tok.length;
    if ((n == 3 && memcmp(v, "2.0", 3) == 0) || (n == 1 && v[0] == '2'))
        p->version = 2;
    else if ((n == 3 && memcmp(v, "3.0", 3) == 0) || (n == 1 && v[0] == '3'))
        p->version = 3;
    else
        return fail_at(p, QML_ERR_UNSUPPORTED, &p->tok, "OpenQASM version %.*s (libqml reads 2.0 and 3)",
                       (int)(n < 20 ? n : 20), v);
    if ((status = advance(p)) != QML_OK)
        return status;
    return expect_punct(p, ';');
}

/* One statement, at top level (env NULL) or in a gate body. */
static int statement(parser *p, const frame *env)
{
    if (++p->statements > QASM_MAX_STATEMENTS)
        return fail_at(p, QML_ERR_LIMIT, &p->tok, "more than %zu statements executed (gate definitions expand "
                       "too far)", QASM_MAX_STATEMENTS);
    if (p->tok.type != TOK_IDENT)
        return expected(p, env ? "a gate call or '}'" : "a statement");
    if (is_word(p, "barrier"))
        return barrier_statement(p, env);
    if (env) {
        if (is_word(p, "measure") || is_word(p, "reset") || is_word(p, "if"))
            return fail_at(p, QML_ERR_PARSE, &p->tok, "'%.*s' inside a gate definition", (int)p->tok.length,
                           p->text + p->tok.start);
        return gate_call(p, env);
    }
    bool first = !p->seen_statement;
    p->seen_statement = true;
    if (is_word(p, "OPENQASM")) {
        p->seen_statement = !first;
        int status = version_statement(p);
        p->seen_statement = true;
        return status;
    }
    if (is_word(p, "include"))
        return include_statement(p);
    if (is_word(p, "qreg"))
        return register_v2(p, true);
    if (is_word(p, "creg"))
        return register_v2(p, false);
    if (is_word(p, "qubit"))
        return register_v3(p, true);
    if (is_word(p, "bit"))
        return register_v3(p, false);
    if (is_word(p, "input"))
        return input_declaration(p);
    if (is_word(p, "gate"))
        return gate_definition(p, false);
    if (is_word(p, "opaque"))
        return gate_definition(p, true);
    if (is_word(p, "measure"))
        return measure_statement(p);
    if (is_word(p, "reset") || is_word(p, "if") || is_word(p, "for") || is_word(p, "while") || is_word(p, "def"))
        return fail_at(p, QML_ERR_UNSUPPORTED, &p->tok,
                       "'%.*s' is not supported: libqml reads unitary circuits (gates, barriers, final measurements)",
                       (int)p->tok.length, p->text + p->tok.start);
    const register_ *r = find_register(p, p->tok.start, p->tok.length);
    if (r && !r->quantum)
        return assigned_measure(p);
    return gate_call(p, NULL);
}

/* ---- public functions ----------------------------------------------------------- */

int qml_circuit_parse_qasm(qml_circuit **out, const char *text, size_t length)
{
    QML_CHECK_NULL(out);
    QML_CHECK_ARG(text != NULL || length == 0, "qml_circuit_parse_qasm: argument 'text' is NULL");
    if (length > QASM_MAX_BYTES)
        return qml__error(QML_ERR_LIMIT, "qml_circuit_parse_qasm: the text has %zu bytes, more than the %zu allowed",
                          length, QASM_MAX_BYTES);
    parser p;
    memset(&p, 0, sizeof p);
    p.text = text ? text : "";
    p.length = length;
    p.line = 1;
    p.column = 1;
    p.version = 2;
    p.theta_size = -1;
    p.x_size = -1;
    int status = advance(&p);
    while (status == QML_OK && p.tok.type != TOK_EOF)
        status = statement(&p, NULL);
    if (status == QML_OK && !p.circuit) {
        if (p.n_qubits == 0)
            status = qml__error(QML_ERR_PARSE, "qml_circuit_parse_qasm: line %u, column %u: no quantum register "
                                "declared (expected e.g. qreg q[4];)", p.tok.line, p.tok.column);
        else
            status = ensure_circuit(&p, &p.tok);
    }
    qml__free(p.registers);
    qml__free(p.defs);
    qml__free(p.measured);
    if (status != QML_OK) {
        qml_circuit_free(p.circuit);
        if (status == QML_ERR_OUT_OF_MEMORY)
            return qml__error_context(status, "qml_circuit_parse_qasm");
        return status;
    }
    *out = p.circuit;
    qml__ok();
    return QML_OK;
}

int qml_circuit_load_qasm(qml_circuit **out, const char *path)
{
    QML_CHECK_NULL(out);
    QML_CHECK_NULL(path);
    FILE *file = fopen(path, "rb");
    if (!file)
        return qml__error(QML_ERR_IO, "qml_circuit_load_qasm: cannot open '%s'", path);
    qml__buffer text = {0};
    char chunk[65536];
    size_t n;
    int status = QML_OK;
    while ((n = fread(chunk, 1, sizeof chunk, file)) > 0) {
        if (text.length + n > QASM_MAX_BYTES) {
            status = qml__error(QML_ERR_LIMIT, "qml_circuit_load_qasm: '%s' is larger than %zu bytes", path,
                                QASM_MAX_BYTES);
            break;
        }
        qml__buffer_append(&text, chunk, n);
        if (text.failed) {
            status = qml__oom("the text of an OpenQASM file");
            break;
        }
    }
    if (status == QML_OK && ferror(file))
        status = qml__error(QML_ERR_IO, "qml_circuit_load_qasm: error reading '%s'", path);
    fclose(file);
    if (status == QML_OK) {
        status = qml_circuit_parse_qasm(out, text.data ? text.data : "", text.length);
        if (status != QML_OK && status != QML_ERR_OUT_OF_MEMORY) {
            /* Name the file: "qml_circuit_load_qasm: FILE: line L, column C: ..." */
            const char *inner = qml_last_error();
            const char *prefix = "qml_circuit_parse_qasm: ";
            if (strncmp(inner, prefix, strlen(prefix)) == 0)
                inner += strlen(prefix);
            char copy[512];
            snprintf(copy, sizeof copy, "%s", inner);
            qml__error(status, "qml_circuit_load_qasm: %s: %s", path, copy);
        } else if (status == QML_ERR_OUT_OF_MEMORY) {
            qml__error_context(status, "qml_circuit_load_qasm");
        }
    }
    qml__buffer_release(&text);
    return status;
}
