/* vary.h: a line's queueing delay and random loss, the arithmetic of
 * anycastlab/model/variability.py to the last bit (a lab test compares the
 * two): a log-normal queueing delay driven by a unit Ornstein-Uhlenbeck
 * process on a grid of max(1 ms, tau / 20) from the moment the variability was set, normals
 * from splitmix64 of (line seed + counter) and Box-Muller; loss is a
 * Bernoulli draw per packet from a second stream. Counter-based, so a line's
 * sample path depends on the run's seed and the line's key only. */
#ifndef ANYCASTLAB_VARY_H
#define ANYCASTLAB_VARY_H
#include <math.h>
#include <stdint.h>

#define VARY_GRID_NS 1000000ull

typedef struct {
    int on;                 /* queueing delay (mean > 0) or loss > 0 */
    double mean_ms, sd_ms, tau_ms, loss;
    double mu, sigma, a, b, x;
    uint64_t seed, s, s_loss, t0, k, packets, lost, grid_ns;
} vary_t;

static uint64_t vary_splitmix64(uint64_t x) {
    uint64_t z = x + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t vary_fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static double vary_uniform(uint64_t s, uint64_t n) {
    return ((double)(vary_splitmix64(s + n) >> 11) + 0.5) / 9007199254740992.0;
}

static double vary_normal(uint64_t s, uint64_t k) {
    double u1 = vary_uniform(s, 2 * k), u2 = vary_uniform(s, 2 * k + 1);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* (Re)start a line's process at t0_ns; returns NULL or what is wrong. */
static const char *vary_set(vary_t *v, const char *key, double mean_ms, double sd_ms, double tau_ms,
                            double loss, uint64_t seed, uint64_t t0_ns) {
    if (!(mean_ms >= 0 && mean_ms <= 1000) || !(sd_ms >= 0 && sd_ms <= 1000)) return "mean_ms and sd_ms: 0 to 1000";
    if (sd_ms > 0 && mean_ms == 0) return "sd_ms > 0 needs mean_ms > 0";
    if (!(tau_ms >= 1 && tau_ms <= 600000)) return "tau_ms: 1 to 600000";
    if (!(loss >= 0 && loss <= 0.5)) return "loss: 0 to 0.5";
    vary_t n = {0};
    n.mean_ms = mean_ms; n.sd_ms = sd_ms; n.tau_ms = tau_ms; n.loss = loss;
    n.on = mean_ms > 0 || loss > 0;
    n.seed = seed;
    n.s = vary_splitmix64(seed ^ vary_fnv1a(key));
    n.s_loss = vary_splitmix64(n.s ^ 0x4C4F5353ull);
    if (mean_ms > 0) {
        n.sigma = sqrt(log(1.0 + (sd_ms / mean_ms) * (sd_ms / mean_ms)));
        n.mu = log(mean_ms) - n.sigma * n.sigma / 2;
    }
    uint64_t g = (uint64_t)(tau_ms * 1e6 / 20);
    n.grid_ns = g > VARY_GRID_NS ? g : VARY_GRID_NS;
    n.a = exp(-((double)n.grid_ns / 1e6) / tau_ms);
    n.b = sqrt(1.0 - n.a * n.a);
    n.x = vary_normal(n.s, 0);
    n.t0 = t0_ns;
    n.lost = v->lost;
    *v = n;
    return NULL;
}

/* The queueing delay (ms) of grid step k; steps forward only. */
static double vary_queue_ms_at(vary_t *v, uint64_t k) {
    if (v->mean_ms <= 0) return 0.0;
    while (v->k < k) { v->k++; v->x = v->a * v->x + v->b * vary_normal(v->s, v->k); }
    return exp(v->mu + v->sigma * v->x);
}

static uint64_t vary_queue_ns(vary_t *v, uint64_t now_ns) {
    if (v->mean_ms <= 0) return 0;
    uint64_t k = now_ns > v->t0 ? (now_ns - v->t0) / v->grid_ns : 0;
    return (uint64_t)(vary_queue_ms_at(v, k) * 1e6);
}

static int vary_lose(vary_t *v) {
    if (v->loss <= 0) return 0;
    v->packets++;
    if (vary_uniform(v->s_loss, v->packets) < v->loss) { v->lost++; return 1; }
    return 0;
}

/* The load model's share of a line (model/load.py): a constant extra
 * holding time and a drop probability, set each steering window without
 * restarting the queueing process; its drops come from a third stream. */
typedef struct {
    double ms, loss;
    uint64_t ns, s, packets, shed;
} load_t;

static const char *load_set(load_t *d, const char *key, double ms, double loss, uint64_t seed) {
    if (!(ms >= 0 && ms <= 1000)) return "ms: 0 to 1000";
    if (!(loss >= 0 && loss <= 1)) return "loss: 0 to 1";
    d->ms = ms; d->loss = loss; d->ns = (uint64_t)llround(ms * 1e6);
    d->s = vary_splitmix64(vary_splitmix64(seed ^ vary_fnv1a(key)) ^ 0x4C4F4144ull);
    return NULL;
}

static int load_shed(load_t *d) {
    if (d->loss <= 0) return 0;
    d->packets++;
    if (vary_uniform(d->s, d->packets) < d->loss) { d->shed++; return 1; }
    return 0;
}
#endif
