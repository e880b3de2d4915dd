/*
 * rng.c: xoshiro256** (Blackman & Vigna, ACM TOMS 47(4), 2021), seeded per
 * (seed, stream) through SplitMix64. Every random draw in libqml comes from
 * here, one stream per sample, row or worker, so that results depend on the
 * seed and never on the number of threads.
 */
#include "internal.h"

#include <math.h>

__extension__ typedef unsigned __int128 u128;

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* SplitMix64 (Steele, Lea & Flood, OOPSLA 2014): a bijective 64-bit mixer. */
static inline uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void qml__rng_init(struct qml_rng *rng, uint64_t seed, uint64_t stream)
{
    /* Mix the stream number through one SplitMix64 round before combining it
     * with the seed: (seed, stream) and (seed', stream') with
     * seed ^ stream == seed' ^ stream' then still start far apart. */
    uint64_t s = stream;
    uint64_t mixed_stream = splitmix64(&s);
    uint64_t state = seed ^ mixed_stream;
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&state);
    /* xoshiro's only forbidden state is all zero; SplitMix64 outputs four
     * zeros for no input, but keep the invariant explicit. */
    if ((rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) == 0)
        rng->s[0] = 1;
}

uint64_t qml__rng_next(struct qml_rng *rng)
{
    uint64_t *s = rng->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double qml__rng_uniform(struct qml_rng *rng)
{
    return (double)(qml__rng_next(rng) >> 11) * 0x1.0p-53;
}

double qml__rng_normal(struct qml_rng *rng)
{
    /* Box-Muller with one output per call: simple, and deterministic in the
     * number of draws it consumes (two), which keeps streams aligned. */
    double u1 = 1.0 - qml__rng_uniform(rng); /* (0, 1] */
    double u2 = qml__rng_uniform(rng);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925286766559 * u2);
}

uint64_t qml__rng_below(struct qml_rng *rng, uint64_t bound)
{
    if (bound == 0)
        return 0;
    /* Lemire's nearly-divisionless method (ACM TOMACS 2019), with rejection
     * so that every value is equally likely. */
    u128 m = (u128)qml__rng_next(rng) * bound;
    uint64_t low = (uint64_t)m;
    if (low < bound) {
        uint64_t threshold = (0 - bound) % bound;
        while (low < threshold) {
            m = (u128)qml__rng_next(rng) * bound;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

int qml_rng_create(qml_rng **out, uint64_t seed, uint64_t stream)
{
    QML_CHECK_NULL(out);
    struct qml_rng *rng = qml__malloc(sizeof *rng);
    if (!rng)
        return qml__oom("a random generator");
    qml__rng_init(rng, seed, stream);
    *out = rng;
    qml__ok();
    return QML_OK;
}

void qml_rng_free(qml_rng *rng)
{
    qml__free(rng);
}

uint64_t qml_rng_next(qml_rng *rng)
{
    return rng ? qml__rng_next(rng) : 0;
}

double qml_rng_uniform(qml_rng *rng)
{
    return rng ? qml__rng_uniform(rng) : 0.0;
}

double qml_rng_normal(qml_rng *rng)
{
    return rng ? qml__rng_normal(rng) : 0.0;
}

uint64_t qml_rng_below(qml_rng *rng, uint64_t bound)
{
    return rng ? qml__rng_below(rng, bound) : 0;
}
