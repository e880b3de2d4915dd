/*
 * optim.c: first-order optimisers (Adam, SGD with momentum) that update a
 * parameter vector in place, and the per-epoch minibatch shuffler.
 */
#include "internal.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

struct qml_optimizer {
    qml_optimizer_options options;
    size_t n_params;
    uint64_t steps;              /* t in Kingma & Ba's Algorithm 1 */
    double *first;               /* Adam: m; SGD: the velocity buffer */
    double *second;              /* Adam: v; NULL for SGD */
};

static int check_options(const qml_optimizer_options *o)
{
    QML_CHECK_ARG(o->kind == QML_OPTIMIZER_ADAM || o->kind == QML_OPTIMIZER_SGD,
                  "qml_optimizer_create: unknown optimizer kind %d", (int)o->kind);
    QML_CHECK_ARG(isfinite(o->learning_rate) && o->learning_rate > 0,
                  "qml_optimizer_create: learning_rate %g is not a finite number > 0", o->learning_rate);
    QML_CHECK_ARG(isfinite(o->weight_decay) && o->weight_decay >= 0,
                  "qml_optimizer_create: weight_decay %g is not a finite number >= 0", o->weight_decay);
    /* Every field is checked whatever the kind: a NaN or out-of-range value
     * in a field the kind ignores is a caller's mistake, not a default. */
    QML_CHECK_ARG(o->beta1 >= 0 && o->beta1 < 1, "qml_optimizer_create: beta1 %g is not in [0, 1)", o->beta1);
    QML_CHECK_ARG(o->beta2 >= 0 && o->beta2 < 1, "qml_optimizer_create: beta2 %g is not in [0, 1)", o->beta2);
    QML_CHECK_ARG(isfinite(o->epsilon) && o->epsilon > 0, "qml_optimizer_create: epsilon %g is not a finite number > 0",
                  o->epsilon);
    QML_CHECK_ARG(o->momentum >= 0 && o->momentum < 1, "qml_optimizer_create: momentum %g is not in [0, 1)",
                  o->momentum);
    QML_CHECK_ARG(!o->nesterov || (o->kind == QML_OPTIMIZER_SGD && o->momentum > 0),
                  "qml_optimizer_create: Nesterov momentum needs the SGD kind and momentum > 0");
    return QML_OK;
}

const char *qml_optimizer_kind_name(qml_optimizer_kind kind)
{
    switch (kind) {
    case QML_OPTIMIZER_ADAM: return "adam";
    case QML_OPTIMIZER_SGD: return "sgd";
    default: return NULL;
    }
}

int qml_optimizer_create(qml_optimizer **out, size_t n_params, const qml_optimizer_options *options)
{
    QML_CHECK_NULL(out);
    QML_CHECK_ARG(n_params >= 1, "qml_optimizer_create: n_params is 0");
    QML_CHECK_ARG(n_params <= SIZE_MAX / (2 * sizeof(double)),
                  "qml_optimizer_create: n_params %zu is too large for the moments to be addressable", n_params);
    static const qml_optimizer_options defaults = QML_OPTIMIZER_OPTIONS_INIT;
    qml_optimizer_options o;
    int status = qml__options_copy(&o, sizeof o, options, &defaults, "qml_optimizer_create");
    if (!status)
        status = check_options(&o);
    if (status)
        return status;
    qml_optimizer *optimizer = qml__calloc(1, sizeof *optimizer);
    if (!optimizer)
        return qml__oom("an optimizer");
    optimizer->options = o;
    optimizer->n_params = n_params;
    optimizer->first = qml__calloc(n_params, sizeof(double));
    if (optimizer->first && o.kind == QML_OPTIMIZER_ADAM)
        optimizer->second = qml__calloc(n_params, sizeof(double));
    if (!optimizer->first || (o.kind == QML_OPTIMIZER_ADAM && !optimizer->second)) {
        qml_optimizer_free(optimizer);
        return qml__oom("optimizer moments");
    }
    *out = optimizer;
    qml__ok();
    return QML_OK;
}

void qml_optimizer_free(qml_optimizer *optimizer)
{
    if (!optimizer)
        return;
    qml__free(optimizer->first);
    qml__free(optimizer->second);
    qml__free(optimizer);
}

/* Adam, Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015,
 * Algorithm 1 with the bias-corrected moments:
 *   m_t = b1 m_{t-1} + (1 - b1) g_t,   v_t = b2 v_{t-1} + (1 - b2) g_t^2,
 *   theta_t = theta_{t-1} - lr (m_t / (1 - b1^t)) / (sqrt(v_t / (1 - b2^t)) + eps).
 * Weight decay is the coupled L2 form g_t + wd theta_{t-1} (PyTorch's Adam).
 *
 * Momentum in the form of PyTorch's torch.optim.SGD (no dampening), the
 * heavy ball of Polyak (1964); Nesterov's variant as reformulated by
 * Sutskever et al., ICML 2013 (and Bengio et al., 2013):
 *   b_t = mu b_{t-1} + g_t,   d_t = g_t + mu b_t (Nesterov) or b_t,
 *   theta_t = theta_{t-1} - lr d_t.
 * With mu = 0 this is plain gradient descent.
 *
 * One parameter's update, computed without writing: out[0] the parameter,
 * out[1] the first moment (Adam's m, SGD's velocity), out[2] Adam's v.
 * Returns whether all three are finite. */
static bool update_one(const qml_optimizer *opt, size_t k, double theta, double grad, double correction1,
                       double correction2, double out[3])
{
    const qml_optimizer_options *o = &opt->options;
    double g = grad + o->weight_decay * theta;
    if (o->kind == QML_OPTIMIZER_ADAM) {
        double m = o->beta1 * opt->first[k] + (1.0 - o->beta1) * g;
        double v = o->beta2 * opt->second[k] + (1.0 - o->beta2) * g * g;
        double m_hat = m / correction1;
        double v_hat = v / correction2;
        out[0] = theta - o->learning_rate * m_hat / (sqrt(v_hat) + o->epsilon);
        out[1] = m;
        out[2] = v;
    } else {
        double mu = o->momentum;
        double b = mu * opt->first[k] + g;
        double d = o->nesterov ? g + mu * b : b;
        out[0] = theta - o->learning_rate * d;
        out[1] = b;
        out[2] = 0.0;
    }
    return isfinite(out[0]) && isfinite(out[1]) && isfinite(out[2]);
}

int qml_optimizer_step(qml_optimizer *optimizer, double *params, const double *grad, size_t n)
{
    QML_CHECK_NULL(optimizer);
    QML_CHECK_NULL(params);
    QML_CHECK_NULL(grad);
    QML_CHECK_ARG(n == optimizer->n_params, "qml_optimizer_step: %zu parameters for an optimizer of %zu", n,
                  optimizer->n_params);
    QML_CHECK_ARG(params != grad, "qml_optimizer_step: params and grad are the same array");
    /* Check everything before touching anything: a failed step changes
     * neither the parameters nor the moments. */
    for (size_t k = 0; k < n; k++) {
        QML_CHECK_ARG(isfinite(grad[k]), "qml_optimizer_step: grad[%zu] = %g is not finite", k, grad[k]);
        QML_CHECK_ARG(isfinite(params[k]), "qml_optimizer_step: params[%zu] = %g is not finite", k, params[k]);
    }
    const qml_optimizer_options *o = &optimizer->options;
    double t = (double)(optimizer->steps + 1);
    double correction1 = o->kind == QML_OPTIMIZER_ADAM ? 1.0 - pow(o->beta1, t) : 1.0;
    double correction2 = o->kind == QML_OPTIMIZER_ADAM ? 1.0 - pow(o->beta2, t) : 1.0;
    /* Two passes over the same arithmetic: the first only checks that the
     * step stays finite (a learning rate of 1e300 must not hand back
     * infinities with success), the second writes. */
    double next[3];
    for (size_t k = 0; k < n; k++)
        if (!update_one(optimizer, k, params[k], grad[k], correction1, correction2, next))
            return qml__error(QML_ERR_OUT_OF_RANGE,
                              "qml_optimizer_step: the step overflows at parameter %zu (learning rate %g); "
                              "nothing was changed", k, o->learning_rate);
    for (size_t k = 0; k < n; k++) {
        update_one(optimizer, k, params[k], grad[k], correction1, correction2, next);
        params[k] = next[0];
        optimizer->first[k] = next[1];
        if (optimizer->second)
            optimizer->second[k] = next[2];
    }
    optimizer->steps++;
    qml__ok();
    return QML_OK;
}

int qml_optimizer_reset(qml_optimizer *optimizer)
{
    QML_CHECK_NULL(optimizer);
    optimizer->steps = 0;
    memset(optimizer->first, 0, optimizer->n_params * sizeof(double));
    if (optimizer->second)
        memset(optimizer->second, 0, optimizer->n_params * sizeof(double));
    qml__ok();
    return QML_OK;
}

int qml_optimizer_set_learning_rate(qml_optimizer *optimizer, double learning_rate)
{
    QML_CHECK_NULL(optimizer);
    QML_CHECK_ARG(isfinite(learning_rate) && learning_rate > 0,
                  "qml_optimizer_set_learning_rate: learning_rate %g is not a finite number > 0", learning_rate);
    optimizer->options.learning_rate = learning_rate;
    qml__ok();
    return QML_OK;
}

int qml_optimizer_options_get(const qml_optimizer *optimizer, qml_optimizer_options *options)
{
    QML_CHECK_NULL(optimizer);
    QML_CHECK_NULL(options);
    /* A caller compiled against an older, shorter struct gets its prefix. */
    size_t size = options->size;
    QML_CHECK_ARG(size >= sizeof(size_t),
                  "qml_optimizer_options_get: options->size is %zu; initialise with QML_OPTIMIZER_OPTIONS_INIT", size);
    size_t copy = size < sizeof *options ? size : sizeof *options;
    memcpy(options, &optimizer->options, copy);
    options->size = size;
    qml__ok();
    return QML_OK;
}

size_t qml_optimizer_n_params(const qml_optimizer *optimizer)
{
    return optimizer ? optimizer->n_params : 0;
}

uint64_t qml_optimizer_n_steps(const qml_optimizer *optimizer)
{
    return optimizer ? optimizer->steps : 0;
}

/* ---- minibatch order ------------------------------------------------------ */

void qml__permutation(size_t *indices, size_t n, struct qml_rng *rng)
{
    for (size_t i = 0; i < n; i++)
        indices[i] = i;
    /* Fisher-Yates (Durstenfeld's in-place form, Knuth TAOCP vol. 2,
     * Algorithm 3.4.2P): swap position i with a uniform j in [0, i]. */
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)qml__rng_below(rng, (uint64_t)i);
        size_t tmp = indices[i - 1];
        indices[i - 1] = indices[j];
        indices[j] = tmp;
    }
}

int qml_shuffle_indices(size_t *indices, size_t n, uint64_t seed, uint64_t epoch)
{
    QML_CHECK_NULL(indices);
    QML_CHECK_ARG(n >= 1, "qml_shuffle_indices: n is 0");
    struct qml_rng rng;
    qml__rng_init(&rng, seed, QML__STREAM_SHUFFLE + epoch);
    qml__permutation(indices, n, &rng);
    qml__ok();
    return QML_OK;
}
