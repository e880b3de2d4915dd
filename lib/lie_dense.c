/*
 * lie_dense.c: the dense linear algebra of the structure analysis
 * (lie_structure.c) and of the predictions (lie_predict.c): the symmetric
 * eigensolver and register-blocked matrix products.
 */
#include "lie_internal.h"

#include <math.h>
#include <string.h>

#if defined(__GNUC__)
#define EIGEN_INLINE inline __attribute__((always_inline))
#else
#define EIGEN_INLINE inline
#endif

/* An AVX2 build of the eigensolver, chosen at run time: the same source
 * with four-wide vectors where the compiler finds them, and no FMA (the
 * library is built without contraction), so every product and sum is
 * rounded as in the portable build: the same bits on every x86-64. */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && defined(__has_builtin)
#if __has_builtin(__builtin_cpu_supports)
#define EIGEN_AVX2 1
#endif
#endif

int qml__eigen_path_override = -1;

/* ---- symmetric eigensolver -------------------------------------------------------- */

#define VCM(r, c) v[(size_t)(c) * n + (r)]

/* col[k] -= f e[k] + g d[k], k < n (unrolled by two so that the compiler's
 * straight-line vectoriser pairs them at -O2). */
static EIGEN_INLINE void rank2_update(size_t n, double *restrict col, double f, const double *restrict e, double g,
                         const double *restrict d)
{
    size_t k = 0;
    for (; k + 2 <= n; k += 2) {
        col[k] -= (f * e[k] + g * d[k]);
        col[k + 1] -= (f * e[k + 1] + g * d[k + 1]);
    }
    for (; k < n; k++)
        col[k] -= (f * e[k] + g * d[k]);
}

/* col[k] -= g d[k], k < n. */
static EIGEN_INLINE void axpy_sub(size_t n, double *restrict col, double g, const double *restrict d)
{
    size_t k = 0;
    for (; k + 2 <= n; k += 2) {
        col[k] -= g * d[k];
        col[k + 1] -= g * d[k + 1];
    }
    for (; k < n; k++)
        col[k] -= g * d[k];
}

/* One QL sweep's plane rotations, rotation ii acting on columns ii and ii+1
 * for ii = m-1 down to l (its pair at rc[ii - l], rs[ii - l]), applied to
 * rows [r0, r1) of the eigenvector matrix. Applied one
 * rotation at a time, every column of the range is read and written twice
 * per sweep and the sweep runs at the memory's speed; here the sweep is
 * applied to a block of rows at a time, carrying the running column in
 * registers, so each entry is read and written once. Every entry gets
 * the same operations in the same order as the rotation-at-a-time loop:
 * the same bits. */
static EIGEN_INLINE void apply_sweep(size_t n, double *restrict v, size_t l, size_t m, const double *restrict rc,
                        const double *restrict rs, size_t r0, size_t r1, bool wide)
{
#ifdef EIGEN_AVX2
    /* the AVX2 build: sixteen rows as four four-wide vectors, four
     * independent chains of the running column (the same operations per
     * entry as below) */
    typedef double v4 __attribute__((vector_size(32)));
    for (; wide && r0 + 16 <= r1; r0 += 16) {
        const double *top = v + m * n + r0;
        v4 h0, h1, h2, h3;
        memcpy(&h0, top, sizeof h0), memcpy(&h1, top + 4, sizeof h1);
        memcpy(&h2, top + 8, sizeof h2), memcpy(&h3, top + 12, sizeof h3);
        for (size_t ii = m; ii-- > l;) {
            const double c = rc[ii - l], s = rs[ii - l];
            const double *restrict col0 = v + ii * n + r0;
            double *restrict col1 = v + (ii + 1) * n + r0;
            v4 a0, a1, a2, a3;
            memcpy(&a0, col0, sizeof a0), memcpy(&a1, col0 + 4, sizeof a1);
            memcpy(&a2, col0 + 8, sizeof a2), memcpy(&a3, col0 + 12, sizeof a3);
            const v4 o0 = s * a0 + c * h0, o1 = s * a1 + c * h1, o2 = s * a2 + c * h2, o3 = s * a3 + c * h3;
            memcpy(col1, &o0, sizeof o0), memcpy(col1 + 4, &o1, sizeof o1);
            memcpy(col1 + 8, &o2, sizeof o2), memcpy(col1 + 12, &o3, sizeof o3);
            h0 = c * a0 - s * h0, h1 = c * a1 - s * h1, h2 = c * a2 - s * h2, h3 = c * a3 - s * h3;
        }
        double *bottom = v + l * n + r0;
        memcpy(bottom, &h0, sizeof h0), memcpy(bottom + 4, &h1, sizeof h1);
        memcpy(bottom + 8, &h2, sizeof h2), memcpy(bottom + 12, &h3, sizeof h3);
    }
#else
    (void)wide;
#endif
    /* eight rows at a time, the running column in eight named variables
     * (pairs of them adjacent, so that the vectoriser keeps them in
     * registers two by two) */
    for (; r0 + 8 <= r1; r0 += 8) {
        const double *top = v + m * n + r0;
        double h0 = top[0], h1 = top[1], h2 = top[2], h3 = top[3];
        double h4 = top[4], h5 = top[5], h6 = top[6], h7 = top[7];
        for (size_t ii = m; ii-- > l;) {
            double c = rc[ii - l], s = rs[ii - l];
            const double *restrict col0 = v + ii * n + r0;
            double *restrict col1 = v + (ii + 1) * n + r0;
            double a0 = col0[0], a1 = col0[1], a2 = col0[2], a3 = col0[3];
            double a4 = col0[4], a5 = col0[5], a6 = col0[6], a7 = col0[7];
            col1[0] = s * a0 + c * h0;
            col1[1] = s * a1 + c * h1;
            col1[2] = s * a2 + c * h2;
            col1[3] = s * a3 + c * h3;
            col1[4] = s * a4 + c * h4;
            col1[5] = s * a5 + c * h5;
            col1[6] = s * a6 + c * h6;
            col1[7] = s * a7 + c * h7;
            h0 = c * a0 - s * h0;
            h1 = c * a1 - s * h1;
            h2 = c * a2 - s * h2;
            h3 = c * a3 - s * h3;
            h4 = c * a4 - s * h4;
            h5 = c * a5 - s * h5;
            h6 = c * a6 - s * h6;
            h7 = c * a7 - s * h7;
        }
        double *bottom = v + l * n + r0;
        bottom[0] = h0, bottom[1] = h1, bottom[2] = h2, bottom[3] = h3;
        bottom[4] = h4, bottom[5] = h5, bottom[6] = h6, bottom[7] = h7;
    }
    for (; r0 < r1; r0++) {
        double h = v[m * n + r0];
        for (size_t ii = m; ii-- > l;) {
            double c = rc[ii - l], s = rs[ii - l], a = v[ii * n + r0];
            v[(ii + 1) * n + r0] = s * a + c * h;
            h = c * a - s * h;
        }
        v[l * n + r0] = h;
    }
}

/* The rotations of many QL sweeps, recorded and applied together: sweep t
 * rotates columns l[t]..m[t] with the pairs at offset[t] (in the order
 * ii = m-1 down to l). The rotations depend only on the tridiagonal matrix,
 * not on the vectors, so a block of rows can take every recorded sweep
 * while it stays in the cache (the whole matrix would pass through memory
 * once per sweep otherwise). Each entry gets the same rotations in the same
 * order: the same bits as applying each sweep to all rows at once. */
typedef struct sweep_log {
    double *c, *s;          /* rotation pairs, `capacity` of them */
    size_t *l, *m, *offset; /* per sweep */
    size_t used, n_sweeps, capacity;
} sweep_log;

#define SWEEP_ROWS 8u
/* Reflectors accumulated per pass over the columns (eigen_body). */
#define ACC_BLOCK 8u
static EIGEN_INLINE void sweep_log_flush(sweep_log *log, size_t n, double *v, bool wide)
{
    const size_t rows = wide ? 2 * SWEEP_ROWS : SWEEP_ROWS;
    for (size_t r0 = 0; r0 < n; r0 += rows) {
        size_t r1 = r0 + rows < n ? r0 + rows : n;
        for (size_t t = 0; t < log->n_sweeps; t++) {
            size_t off = log->offset[t]; /* pair ii at off + ii - l */
            apply_sweep(n, v, log->l[t], log->m[t], log->c + off, log->s + off, r0, r1, wide);
        }
    }
    log->used = 0;
    log->n_sweeps = 0;
}

/* Symmetric eigen-decomposition: Householder tridiagonalisation and the QL
 * algorithm with implicit shifts (tred2/tql2 of EISPACK, as in JAMA).
 * On entry v holds the symmetric n x n matrix; on exit eigenvalue j is w[j]
 * (ascending) and, if `vectors`, its eigenvector is the contiguous column
 * v[j*n .. j*n+n) (otherwise v is left overwritten: half the work). */
static EIGEN_INLINE int eigen_body(size_t n, double *v, double *w, bool vectors, bool wide)
{
    if (n == 0)
        return QML_OK;
    /* room for the rotations of many sweeps (at least one: n pairs), at
     * most 2^18 pairs (4 MB) */
    size_t capacity = n * n / 2 + n;
    if (capacity > ((size_t)1 << 18))
        capacity = n > ((size_t)1 << 18) ? n : ((size_t)1 << 18);
    double *e = qml__calloc(qml__mul_size(2, capacity) + n, sizeof *e);
    size_t *sweep = qml__malloc(qml__mul_size(3 * sizeof *sweep, capacity));
    if (!e || !sweep) {
        qml__free(e);
        qml__free(sweep);
        return qml__oom("an eigensolver");
    }
    sweep_log log = {e + n, e + n + capacity, sweep, sweep + capacity, sweep + 2 * capacity, 0, 0, capacity};
    double *d = w;
    for (size_t j = 0; j < n; j++)
        d[j] = VCM(n - 1, j);
    for (size_t i = n - 1; i > 0; i--) {
        double scale = 0.0, h = 0.0;
        for (size_t k = 0; k < i; k++)
            scale += fabs(d[k]);
        if (scale == 0.0) {
            e[i] = d[i - 1];
            for (size_t j = 0; j < i; j++) {
                d[j] = VCM(i - 1, j);
                VCM(i, j) = 0.0;
                VCM(j, i) = 0.0;
            }
        } else {
            for (size_t k = 0; k < i; k++) {
                d[k] /= scale;
                h += d[k] * d[k];
            }
            double f = d[i - 1];
            double g = sqrt(h);
            if (f > 0)
                g = -g;
            e[i] = scale * g;
            h = h - f * g;
            d[i - 1] = f - g;
            for (size_t j = 0; j < i; j++)
                e[j] = 0.0;
            /* e = A d on the leading i x i block, from its lower triangle:
             * column j gives e[j] (a dot product, two partial sums) and
             * adds f A[k][j] to e[k] for k > j */
            for (size_t j = 0; j < i; j++) {
                f = d[j];
                VCM(j, i) = f;
                const double *restrict col = v + j * n;
                double g0 = e[j] + col[j] * f, g1 = 0.0;
                size_t k = j + 1;
                for (; k + 2 <= i; k += 2) {
                    g0 += col[k] * d[k];
                    g1 += col[k + 1] * d[k + 1];
                    e[k] += col[k] * f;
                    e[k + 1] += col[k + 1] * f;
                }
                for (; k < i; k++) {
                    g0 += col[k] * d[k];
                    e[k] += col[k] * f;
                }
                e[j] = g0 + g1;
            }
            f = 0.0;
            for (size_t j = 0; j < i; j++) {
                e[j] /= h;
                f += e[j] * d[j];
            }
            double hh = f / (h + h);
            for (size_t j = 0; j < i; j++)
                e[j] -= hh * d[j];
            for (size_t j = 0; j < i; j++) {
                f = d[j];
                g = e[j];
                rank2_update(i - j, v + j * n + j, f, e + j, g, d + j);
                d[j] = VCM(i - 1, j);
                VCM(i, j) = 0.0;
            }
        }
        d[i] = h;
    }
    if (!vectors) {
        /* the accumulation below only saves the diagonal in row n-1 */
        for (size_t j = 0; j < n; j++)
            d[j] = VCM(j, j);
        goto tql2;
    }
    /* The reflectors' product, accumulated as tred2 does: step i sets
     * column i to e_i, takes the reflector u_i (rows 0..i of column i+1,
     * then zeroed) and applies I - u_i u_i^T / h_i to columns 0..i. A step's
     * set-up touches only columns i and i+1, which no earlier step applies
     * to, so the set-ups of ACC_BLOCK steps go first and the applications
     * then run column by column: each column takes the block's reflectors
     * while it is in the cache, instead of the whole leading block passing
     * through memory once per step. Each column gets the same dot products
     * and updates in the same order: the same bits as step by step. The
     * reflectors are held in the rotation log's buffers, unused until QL. */
    const size_t block = capacity / n < ACC_BLOCK ? capacity / n : ACC_BLOCK; /* capacity >= n */
    double *refl = log.c, *scaled = log.s, hb[ACC_BLOCK];
    for (size_t i0 = 0; i0 + 1 < n; i0 += block) {
        const size_t i1 = i0 + block < n - 1 ? i0 + block : n - 1;
        for (size_t i = i0; i < i1; i++) {
            double h = d[i + 1], *u = refl + (i - i0) * n, *sc = scaled + (i - i0) * n;
            hb[i - i0] = h;
            VCM(n - 1, i) = VCM(i, i);
            VCM(i, i) = 1.0;
            for (size_t k = 0; k <= i; k++) {
                u[k] = VCM(k, i + 1);
                if (h != 0.0)
                    sc[k] = u[k] / h;
                VCM(k, i + 1) = 0.0;
            }
        }
        for (size_t j = 0; j < i1; j++)
            for (size_t i = j > i0 ? j : i0; i < i1; i++)
                if (hb[i - i0] != 0.0)
                    axpy_sub(i + 1, v + j * n, qml__lie_dot(i + 1, refl + (i - i0) * n, v + j * n),
                             scaled + (i - i0) * n);
    }
    for (size_t j = 0; j < n; j++) {
        d[j] = VCM(n - 1, j);
        VCM(n - 1, j) = 0.0;
    }
    VCM(n - 1, n - 1) = 1.0;
tql2:
    e[0] = 0.0;
    for (size_t i = 1; i < n; i++)
        e[i - 1] = e[i];
    e[n - 1] = 0.0;
    double f = 0.0, tst1 = 0.0;
    const double eps = 0x1p-52;
    for (size_t l = 0; l < n; l++) {
        tst1 = fmax(tst1, fabs(d[l]) + fabs(e[l]));
        size_t m = l;
        while (m < n) {
            if (fabs(e[m]) <= eps * tst1)
                break;
            m++;
        }
        if (m == n)
            m = n - 1;
        if (m > l) {
            int iter = 0;
            do {
                if (++iter > 200) {
                    qml__free(e);
                    qml__free(sweep);
                    return qml__error(QML_ERR_UNSUPPORTED, "lie.c: the eigensolver did not converge (n = %zu)", n);
                }
                double g = d[l];
                double p = (d[l + 1] - g) / (2.0 * e[l]);
                double r = hypot(p, 1.0);
                if (p < 0)
                    r = -r;
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                double dl1 = d[l + 1];
                double h = g - d[l];
                for (size_t i = l + 2; i < n; i++)
                    d[i] -= h;
                f += h;
                p = d[m];
                double c = 1.0, c2 = c, c3 = c, el1 = e[l + 1], s = 0.0, s2 = 0.0;
                if (vectors && log.used + (m - l) > log.capacity)
                    sweep_log_flush(&log, n, v, wide);
                double *rot_c = log.c + log.used, *rot_s = log.s + log.used; /* pair ii at [ii - l] */
                for (size_t ii = m; ii-- > l;) {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    g = c * e[ii];
                    h = c * p;
                    r = hypot(p, e[ii]);
                    e[ii + 1] = s * r;
                    s = e[ii] / r;
                    c = p / r;
                    p = c * d[ii] - s * g;
                    d[ii + 1] = h + s * (c * g + s * d[ii]);
                    rot_c[ii - l] = c;
                    rot_s[ii - l] = s;
                }
                if (vectors) {
                    log.l[log.n_sweeps] = l;
                    log.m[log.n_sweeps] = m;
                    log.offset[log.n_sweeps++] = log.used;
                    log.used += m - l;
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
            } while (fabs(e[l]) > eps * tst1);
        }
        d[l] = d[l] + f;
        e[l] = 0.0;
    }
    if (vectors)
        sweep_log_flush(&log, n, v, wide);
    /* sort ascending (selection sort keeps it simple; n^2 is negligible here) */
    for (size_t i = 0; i + 1 < n; i++) {
        size_t k = i;
        for (size_t j = i + 1; j < n; j++)
            if (d[j] < d[k])
                k = j;
        if (k != i) {
            double t = d[k];
            d[k] = d[i];
            d[i] = t;
            for (size_t r = 0; r < n && vectors; r++) {
                t = v[i * n + r];
                v[i * n + r] = v[k * n + r];
                v[k * n + r] = t;
            }
        }
    }
    qml__free(e);
    qml__free(sweep);
    return QML_OK;
}
#undef VCM

static int eigen_portable(size_t n, double *v, double *w, bool vectors)
{
    return eigen_body(n, v, w, vectors, false);
}

#ifdef EIGEN_AVX2
__attribute__((target("avx2"))) static int eigen_avx2(size_t n, double *v, double *w, bool vectors)
{
    return eigen_body(n, v, w, vectors, true);
}
#endif

int qml__lie_symmetric_eigen(size_t n, double *v, double *w, bool vectors)
{
#ifdef EIGEN_AVX2
    if (qml__eigen_path_override != 0 && qml__cpu_avx2())
        return eigen_avx2(n, v, w, vectors);
#endif
    return eigen_portable(n, v, w, vectors);
}

/* ---- matrix products -------------------------------------------------------------- */

/* The product kernel below splits its output rows over threads; each output
 * entry is computed by the same code whatever the split, so the results are
 * bitwise independent of the thread count. */
typedef struct product_job {
    size_t n;
    const double *a, *b;
    double *c;
    bool upper;           /* only entries j >= i (up to a 4-row tile's first row) */
} product_job;

/* Rows [i0, i0 + 4) of c += a b over k in [kb, ke), columns [js, je): a
 * 4 x 4 tile of c stays in registers while k runs over the panel (16
 * multiply-adds per two rows of b loaded and four entries of a), pairs
 * of adjacent columns written side by side so that the compiler's
 * straight-line vectoriser pairs them. */
static void tile4(size_t n, const double *restrict a, const double *restrict b, double *restrict c, size_t i0,
                  size_t js, size_t je, size_t kb, size_t ke)
{
    const double *a0 = a + i0 * n, *a1 = a0 + n, *a2 = a1 + n, *a3 = a2 + n;
    double *c0 = c + i0 * n, *c1 = c0 + n, *c2 = c1 + n, *c3 = c2 + n;
    size_t j = js;
    for (; j + 4 <= je; j += 4) {
        double x00 = c0[j], x01 = c0[j + 1], x02 = c0[j + 2], x03 = c0[j + 3];
        double x10 = c1[j], x11 = c1[j + 1], x12 = c1[j + 2], x13 = c1[j + 3];
        double x20 = c2[j], x21 = c2[j + 1], x22 = c2[j + 2], x23 = c2[j + 3];
        double x30 = c3[j], x31 = c3[j + 1], x32 = c3[j + 2], x33 = c3[j + 3];
        for (size_t k = kb; k < ke; k++) {
            double f0 = a0[k], f1 = a1[k], f2 = a2[k], f3 = a3[k];
            const double *bk = b + k * n + j;
            double b0 = bk[0], b1 = bk[1], b2 = bk[2], b3 = bk[3];
            x00 += f0 * b0;
            x01 += f0 * b1;
            x02 += f0 * b2;
            x03 += f0 * b3;
            x10 += f1 * b0;
            x11 += f1 * b1;
            x12 += f1 * b2;
            x13 += f1 * b3;
            x20 += f2 * b0;
            x21 += f2 * b1;
            x22 += f2 * b2;
            x23 += f2 * b3;
            x30 += f3 * b0;
            x31 += f3 * b1;
            x32 += f3 * b2;
            x33 += f3 * b3;
        }
        c0[j] = x00, c0[j + 1] = x01, c0[j + 2] = x02, c0[j + 3] = x03;
        c1[j] = x10, c1[j + 1] = x11, c1[j + 2] = x12, c1[j + 3] = x13;
        c2[j] = x20, c2[j + 1] = x21, c2[j + 2] = x22, c2[j + 3] = x23;
        c3[j] = x30, c3[j + 1] = x31, c3[j + 2] = x32, c3[j + 3] = x33;
    }
    for (; j < je; j++) {
        double x0 = c0[j], x1 = c1[j], x2 = c2[j], x3 = c3[j];
        for (size_t k = kb; k < ke; k++) {
            double bkj = b[k * n + j];
            x0 += a0[k] * bkj;
            x1 += a1[k] * bkj;
            x2 += a2[k] * bkj;
            x3 += a3[k] * bkj;
        }
        c0[j] = x0, c1[j] = x1, c2[j] = x2, c3[j] = x3;
    }
}

/* Row i of c += a b over k in [kb, ke), columns [js, je) (the rows a range
 * leaves over after its 4-row tiles). */
static void row1(size_t n, const double *restrict a, const double *restrict b, double *restrict c, size_t i,
                 size_t js, size_t je, size_t kb, size_t ke)
{
    const double *ai = a + i * n;
    double *ci = c + i * n;
    for (size_t j = js; j < je; j++) {
        double x = ci[j];
        for (size_t k = kb; k < ke; k++)
            x += ai[k] * b[k * n + j];
        ci[j] = x;
    }
}

/* Rows [begin, end) of c = a b (row-major n x n). Cache-blocked: a panel of
 * PR_KB rows by PR_JB columns of b (128 KB) stays in the L2 cache while
 * every 4-row tile of the range passes over it. Every entry sums over k in
 * ascending order, one multiply-add at a time, so its bits depend neither
 * on the blocking nor on the split into ranges and tiles. */
#define PR_KB 64u
#define PR_JB 256u
static void product_rows(void *context, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    const product_job *job = context;
    size_t n = job->n;
    for (size_t i = begin; i < end; i++) {
        size_t tile_first = begin + (i - begin) / 4 * 4;
        size_t j0 = job->upper ? tile_first : 0;
        memset(job->c + i * n + j0, 0, (n - j0) * sizeof *job->c);
    }
    for (size_t jb = 0; jb < n; jb += PR_JB) {
        size_t je = jb + PR_JB < n ? jb + PR_JB : n;
        for (size_t kb = 0; kb < n; kb += PR_KB) {
            size_t ke = kb + PR_KB < n ? kb + PR_KB : n;
            size_t i = begin;
            for (; i + 4 <= end; i += 4) {
                size_t js = job->upper && i > jb ? i : jb;
                if (js < je)
                    tile4(n, job->a, job->b, job->c, i, js, je, kb, ke);
            }
            for (; i < end; i++) {
                size_t tile_first = begin + (i - begin) / 4 * 4;
                size_t js = job->upper && tile_first > jb ? tile_first : jb;
                if (js < je)
                    row1(n, job->a, job->b, job->c, i, js, je, kb, ke);
            }
        }
    }
}

/* Rows [begin, end) of c = a b for a sparse a: each non-zero a_ik adds
 * a_ik times row k of b to row i of c, k ascending: the same operations on
 * every entry as the tiles (an a_ik = 0 would add +-0, which changes no
 * bit), so the choice of kernel does not show in the result. */
static void product_rows_sparse(void *context, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    const product_job *job = context;
    size_t n = job->n;
    for (size_t i = begin; i < end; i++) {
        double *restrict ci = job->c + i * n;
        size_t j0 = job->upper ? i : 0;
        memset(ci + j0, 0, (n - j0) * sizeof *ci);
        const double *ai = job->a + i * n;
        for (size_t k = 0; k < n; k++) {
            double f = ai[k];
            if (f == 0.0)
                continue;
            const double *restrict bk = job->b + k * n;
            size_t j = j0;
            for (; j + 2 <= n; j += 2) {
                ci[j] += f * bk[j];
                ci[j + 1] += f * bk[j + 1];
            }
            for (; j < n; j++)
                ci[j] += f * bk[j];
        }
    }
}

void qml__lie_product(unsigned n_threads, size_t n, const double *a, const double *b, double *c,
                      qml__lie_product_kind kind)
{
    product_job job = {n, a, b, c, kind != QML__LIE_PRODUCT_FULL};
    /* a with fewer than one entry in eight non-zero (the ad action of a
     * combination of generators) takes the sparse kernel */
    size_t nonzero = 0;
    for (size_t i = 0; i < n * n; i++)
        nonzero += a[i] != 0.0;
    qml__parallel_for(n_threads, n, 16, nonzero < n * n / 8 ? product_rows_sparse : product_rows, &job);
    if (kind == QML__LIE_PRODUCT_SYMMETRIC) {
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                c[j * n + i] = c[i * n + j];
    } else if (kind == QML__LIE_PRODUCT_ANTISYMMETRIC) {
        for (size_t i = 0; i < n; i++) {
            c[i * n + i] = 0.0;
            for (size_t j = i + 1; j < n; j++)
                c[j * n + i] = -c[i * n + j];
        }
    }
}

void qml__lie_transpose(size_t n, const double *a, double *out)
{
    const size_t B = 32;
    for (size_t ib = 0; ib < n; ib += B)
        for (size_t jb = 0; jb < n; jb += B) {
            size_t ie = ib + B < n ? ib + B : n, je = jb + B < n ? jb + B : n;
            for (size_t i = ib; i < ie; i++)
                for (size_t j = jb; j < je; j++)
                    out[j * n + i] = a[i * n + j];
        }
}

void qml__lie_antisymmetric_part(size_t n, double *p)
{
    for (size_t i = 0; i < n; i++) {
        p[i * n + i] = 0.0;
        for (size_t j = i + 1; j < n; j++) {
            double t = p[i * n + j] - p[j * n + i];
            p[i * n + j] = t;
            p[j * n + i] = -t;
        }
    }
}
