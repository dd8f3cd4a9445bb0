/* linkd: the lab's native link engine (userspace netem on NFQUEUE).
 *
 * Same job and control protocol as anycastlab/agents/shaper.py, built for
 * headroom: every shaped interface's egress goes to an NFQUEUE in its node's
 * namespace; linkd binds each (netns, queue) from the root namespace
 * (setns in, open the netlink socket, setns back: the socket keeps its
 * namespace), holds each packet of a line in a FIFO until arrival + delay,
 * then accepts everything due with one batched verdict per queue (a line's
 * packets are released in id order, so "accept all ids <= n" is exact).
 *
 * Keeping time: it runs under SCHED_FIFO (--rt PRIO) ahead of the daemons,
 * probes and whatever else shares the machine, sleeps in epoll_pwait2 with a
 * timeout (a timer is armed only when there is nothing to read), and measures itself: the lateness of every release
 * (actual - scheduled) goes into a per-second histogram written as one line
 * of the health file (--health FILE):
 *   t_s,packets,late_p50_us,late_p99_us,late_max_us,kernel_drops,held_max,stall_max_us
 * kernel_drops counts netlink overruns (ENOBUFS: the kernel dropped packets
 * because linkd did not read fast enough). stall_max_us is the longest the
 * engine itself ran late: it wakes at least every HEARTBEAT_NS, and a wake
 * (or a busy loop turn) that comes later than due means packets waited in
 * the kernel unread; a stopped or starved engine shows here even when no
 * packet was held at the time.
 *
 * Control: JSON lines on a Unix socket, one reply line each:
 *   {"op":"ping"} {"op":"stats","kernel":bool} {"op":"set","key":K,"delay_ms":X}
 *   {"op":"down"|"up","key":K} {"op":"add","key":K,"netns_pid":P,"queue":Q,"delay_ms":X}
 *   {"op":"vary","key":K,"mean_ms":M,"sd_ms":S,"tau_ms":T,"loss":L,"seed":N}  (vary.h; also
 *   a "vary" object in a spec entry) and {"op":"trace","key":K,"n":N}: the first N grid
 *   values of the line's queueing delay for its seed, as the engine computes them.
 *   {"op":"load","key":K,"ms":M,"loss":L,"seed":N}: the load model's extra delay and drop
 *   probability (model/load.py), on top of the rest; the process is not restarted.
 * SIGTERM/SIGINT: accept everything held, unbind, remove socket and ready file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "json.h"
#include "vary.h"

#define MAX_LINES 16384          /* link directions: a 1,000-router lab has about 5,000 */
#define READ_BUDGET 32           /* packets read per queue per loop turn: a quiet line waits for few */
#define BATCH 16                 /* netlink messages per recvmmsg */
#define MAX_LEN 8192             /* kernel queue length */
#define SOCK_LEN (8 << 20)       /* netlink receive buffer */
#define HIST_FINE 2000           /* 1 us buckets up to 2 ms ... */
#define HIST_COARSE 1000         /* ... then 1 ms buckets up to 1 s */

typedef struct { uint64_t rel, key; uint32_t id; } held_t;

enum { K_LINE = 1, K_CONN, K_FD };  /* what an epoll event's pointer points at */

typedef struct {
    int kind;                       /* K_LINE */
    char key[64];
    int netns_pid, queue, nsfd;
    uint64_t delay_ns, last_rel;
    uint64_t drained;               /* when a read last found the queue empty */
    int down;                       /* set by the control thread, read by the owner */
    int flush;                      /* down requested: the owner drops what it holds */
    int worker;                     /* the thread that owns the line (its heap, its epoll) */
    held_t *ring; size_t cap, head, len;
    struct nfq_handle *h; struct nfq_q_handle *qh; int fd;
    uint64_t passed, dropped, overruns;
    int scheduled;                  /* its head is in the heap */
    vary_t vary;                    /* queueing delay and random loss (vary.h) */
    load_t load;                    /* the load model's delay and loss (vary.h) */
} line_t;

static int nlines, nworkers = 1, stopping;

typedef struct { int kind; int fd; char in[65536]; size_t inlen; char *out; size_t outlen; } conn_t;

#define MAX_WORKERS 8
/* Workers (--threads N, default 1): each owns a share of the lines
 * with its own epoll, timer, release heap and health histogram (the
 * __thread variables below); the kernel forwards released packets inside
 * the verdict calls, so sharding spreads that work too. Worker 0 also
 * serves the control socket and signals. */
static line_t *lines[MAX_LINES];
static int eps[MAX_WORKERS], evfds[MAX_WORKERS];
static uint64_t t_origin;          /* monotonic start: every worker's seconds align on it */
static double wall_origin;         /* the wall clock at t_origin */
static pthread_mutex_t health_mu = PTHREAD_MUTEX_INITIALIZER;
/* release heap: at most one entry per line (its head), earliest first */
typedef struct { uint64_t rel; line_t *l; } hent_t;
static __thread hent_t heap[MAX_LINES + 1];
static __thread int nheap, me;
static int tag_signal = K_FD, tag_listen = K_FD, tag_wake = K_FD;
static __thread int ep;
static int sfd, lfd = -1, home_ns;
static const char *control_path, *ready_path;
static FILE *health;
/* per-second health, per worker */
static __thread uint32_t hist[HIST_FINE + HIST_COARSE + 1];
static __thread uint64_t sec_packets, sec_overruns, sec_late_max, sec_start, held_max, stall_max;
/* Waking from an idle epoll_wait takes tens of microseconds on a VM. lead_ns
 * tracks that latency (EWMA of observed timer lateness): the timer is armed
 * lead_ns early, so releases leave on time; a packet read right after such a wake arrived
 * about that long ago, so its stamp is moved back by wake_bias. */
static __thread uint64_t lead_ns = 50000, wake_bias;
/* Arrival stamps. A packet read now arrived some time after its queue was
 * last found empty and after the engine last woke (it would have woken for
 * it otherwise): when the engine is busy, packets wait in the kernel for up
 * to a turn. Stamping them all "now" adds that wait to every hop of every
 * path; the batch is spread instead over the window it arrived in, in FIFO
 * order, so the wait averages out (an unbiased estimate, not a bias). */
static __thread uint64_t t_woke, stamp;
#define HEARTBEAT_NS 1000000ull   /* wake at least every 1 ms, to see our own stalls */
#define LEAD_MIN 10000ull
#define LEAD_MAX 300000ull

static uint64_t now_ns(void) {
    struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ carried schedule
 * A packet forwarded through several shaped interfaces should leave hop n at
 * (its scheduled departure from hop n-1) + delay_n: routers forward in ~0 on
 * the modelled internet. Stamping its arrival at hop n instead adds the
 * engine's own turn-around (verdict, in-kernel forwarding, the next read:
 * tens of microseconds on a VM) to every hop, and the error grows with path
 * length. So every release files (packet key -> scheduled release) here, and
 * an arrival that matches a release of the last CARRY_NS starts from that
 * scheduled time. The key hashes the IPv4 header minus TTL and checksum plus
 * the first 8 bytes of the transport header (ports, and ICMP id/seq, TCP seq
 * or UDP length/checksum), which do not change between hops. */
#define CARRY_SIZE 8192          /* power of two; open addressing, overwrite on collision */
#define CARRY_NS 5000000ull      /* a match older than this is another packet */
#define COPY_LEN 80              /* bytes of each packet the kernel copies to us */
typedef struct { uint64_t key, sched, t_rel; } carry_t;
static carry_t carry[CARRY_SIZE];
static pthread_mutex_t carry_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t carried, carry_misses;

static uint64_t packet_key(const unsigned char *p, int len) {
    if (len < 20 || (p[0] >> 4) != 4) return 0;
    int ihl = (p[0] & 15) * 4;
    if (ihl < 20 || len < ihl) return 0;
    uint64_t h = 1469598103934665603ull;   /* FNV-1a */
    for (int i = 0; i < ihl; i++) {
        if (i == 8 || i == 10 || i == 11) continue;   /* TTL, header checksum */
        h = (h ^ p[i]) * 1099511628211ull;
    }
    for (int i = ihl; i < ihl + 8 && i < len; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h ? h : 1;
}

static void carry_put(uint64_t key, uint64_t sched, uint64_t now) {
    if (!key) return;
    carry_t *c = &carry[key & (CARRY_SIZE - 1)];
    if (nworkers > 1) pthread_mutex_lock(&carry_mu);
    *c = (carry_t){key, sched, now};
    if (nworkers > 1) pthread_mutex_unlock(&carry_mu);
}

/* The scheduled departure of this packet from its previous hop, or `now`
 * (its arrival stamp) when it has none: the first shaped hop of its path. */
static uint64_t carry_take(uint64_t key, uint64_t now) {
    if (!key) return now;
    uint64_t got = now;
    carry_t *c = &carry[key & (CARRY_SIZE - 1)];
    if (nworkers > 1) pthread_mutex_lock(&carry_mu);
    if (c->key == key && now + CARRY_NS > c->t_rel && now < c->t_rel + CARRY_NS) {
        got = c->sched; c->key = 0; carried++;
    } else carry_misses++;
    if (nworkers > 1) pthread_mutex_unlock(&carry_mu);
    return got;
}

static void die(const char *fmt, ...) {
    va_list ap; va_start(ap, fmt);
    fprintf(stderr, "linkd: "); vfprintf(stderr, fmt, ap); fprintf(stderr, "\n");
    va_end(ap); exit(1);
}

/* ------------------------------------------------------------ health */
static void note_late(uint64_t late_ns) {
    uint64_t us = late_ns / 1000;
    size_t b = us < HIST_FINE ? us : HIST_FINE + (us - HIST_FINE) / 1000;
    if (b > HIST_FINE + HIST_COARSE) b = HIST_FINE + HIST_COARSE;
    hist[b]++;
    sec_packets++;
    if (us > sec_late_max) sec_late_max = us;
}

static uint64_t hist_q(double q) {
    uint64_t want = (uint64_t)ceil(q * (double)sec_packets), seen = 0;
    if (want == 0) want = 1;
    for (size_t b = 0; b <= HIST_FINE + HIST_COARSE; b++) {
        seen += hist[b];
        if (seen >= want) return b < HIST_FINE ? b : HIST_FINE + (b - HIST_FINE) * 1000;
    }
    return sec_late_max;
}

static void health_tick(uint64_t now, int force) {
    if (!force && now - sec_start < 1000000000ull) return;
    if (health && (sec_packets || stall_max || sec_overruns || me == 0)) {
        /* every worker's row for a second carries the same t_s: the analysis merges them */
        double t = wall_origin + (double)(sec_start - t_origin) / 1e9;
        pthread_mutex_lock(&health_mu);
        fprintf(health, "%.3f,%llu,%llu,%llu,%llu,%llu,%llu,%llu\n", t,
                (unsigned long long)sec_packets,
                (unsigned long long)(sec_packets ? hist_q(0.5) : 0),
                (unsigned long long)(sec_packets ? hist_q(0.99) : 0),
                (unsigned long long)sec_late_max, (unsigned long long)sec_overruns,
                (unsigned long long)held_max, (unsigned long long)(stall_max / 1000));
        fflush(health);
        pthread_mutex_unlock(&health_mu);
    }
    memset(hist, 0, sizeof hist);
    sec_packets = sec_overruns = sec_late_max = held_max = stall_max = 0;
    sec_start += (now - sec_start) / 1000000000ull * 1000000000ull;  /* skip seconds a stall swallowed */
}

/* ------------------------------------------------------------ lines */
static line_t *find(const char *key) {
    for (int i = 0; i < nlines; i++) if (!strcmp(lines[i]->key, key)) return lines[i];
    return NULL;
}

static void heap_push(uint64_t rel, line_t *l) {
    int i = nheap++;
    while (i > 0 && heap[(i - 1) / 2].rel > rel) { heap[i] = heap[(i - 1) / 2]; i = (i - 1) / 2; }
    heap[i] = (hent_t){rel, l};
    l->scheduled = 1;
}

static hent_t heap_pop(void) {
    hent_t top = heap[0], last = heap[--nheap];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= nheap) break;
        if (c + 1 < nheap && heap[c + 1].rel < heap[c].rel) c++;
        if (heap[c].rel >= last.rel) break;
        heap[i] = heap[c]; i = c;
    }
    heap[i] = last;
    top.l->scheduled = 0;
    return top;
}

static void push(line_t *l, uint64_t rel, uint64_t key, uint32_t id) {
    if (l->len == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 256;
        held_t *r = malloc(nc * sizeof *r);
        if (!r) die("out of memory");
        for (size_t i = 0; i < l->len; i++) r[i] = l->ring[(l->head + i) % l->cap];
        free(l->ring); l->ring = r; l->cap = nc; l->head = 0;
    }
    l->ring[(l->head + l->len) % l->cap] = (held_t){rel, key, id};
    l->len++;
    if (l->len > held_max) held_max = l->len;
    if (!l->scheduled) heap_push(rel, l);
}

/* Accept every held packet due by `upto`; one batched verdict per line. */
static void drop_held(line_t *l);

static void release(line_t *l, uint64_t upto, uint64_t now) {
    uint32_t last = 0; int any = 0;
    if (__atomic_load_n(&l->down, __ATOMIC_ACQUIRE)) { drop_held(l); return; }
    while (l->len && l->ring[l->head].rel <= upto) {
        held_t *p = &l->ring[l->head];
        note_late(now > p->rel ? now - p->rel : 0);
        carry_put(p->key, p->rel, now);   /* before the verdict: the kernel forwards inside it */
        last = p->id; any = 1;
        l->head = (l->head + 1) % l->cap; l->len--; l->passed++;
    }
    if (any) nfq_set_verdict_batch(l->qh, last, NF_ACCEPT);
}

/* Release what is due on every line whose head is due; reschedule the rest.
 * Each verdict forwards its packets inside the call, so the clock is read
 * again for every line: the later lines of a turn leave later. */
static void release_due(uint64_t now) {
    while (nheap && heap[0].rel <= now) {
        line_t *l = heap_pop().l;
        release(l, now, now);
        if (l->len) heap_push(l->ring[l->head].rel, l);
        now = now_ns();
    }
}

static void unschedule(line_t *l) {
    /* rare (a link going down): rebuild the heap without the line's entry */
    hent_t keep[MAX_LINES]; int n = 0;
    while (nheap) { hent_t e = heap_pop(); if (e.l != l) keep[n++] = e; }
    for (int i = 0; i < n; i++) heap_push(keep[i].rel, keep[i].l);
    l->scheduled = 0;
}

static void drop_held(line_t *l) {
    if (l->scheduled) unschedule(l);
    while (l->len) {
        nfq_set_verdict(l->qh, l->ring[l->head].id, NF_DROP, 0, NULL);
        l->head = (l->head + 1) % l->cap; l->len--; l->dropped++;
    }
    l->last_rel = 0;
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *m, struct nfq_data *nfa, void *data) {
    (void)m;
    line_t *l = data;
    struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
    if (!ph) return 0;
    uint32_t id = ntohl(ph->packet_id);
    if (__atomic_load_n(&l->down, __ATOMIC_ACQUIRE)) { nfq_set_verdict(qh, id, NF_DROP, 0, NULL); l->dropped++; return 0; }
    unsigned char *pkt = NULL;
    int plen = nfq_get_payload(nfa, &pkt);
    uint64_t key = plen > 0 ? packet_key(pkt, plen) : 0;
    uint64_t now = carry_take(key, stamp), delay = __atomic_load_n(&l->delay_ns, __ATOMIC_RELAXED);
    if (l->vary.on) {
        if (vary_lose(&l->vary)) { nfq_set_verdict(qh, id, NF_DROP, 0, NULL); return 0; }
        delay += vary_queue_ns(&l->vary, now);
    }
    if (l->load.ns || l->load.loss > 0) {
        if (load_shed(&l->load)) { nfq_set_verdict(qh, id, NF_DROP, 0, NULL); return 0; }
        delay += l->load.ns;
    }
    if (delay == 0 && l->len == 0) {
        carry_put(key, now, stamp);       /* a zero-delay hop passes the schedule on */
        nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL); l->passed++; note_late(0); return 0;
    }
    uint64_t rel = now + delay;
    if (rel < l->last_rel) rel = l->last_rel;   /* lowering a delay never reorders */
    l->last_rel = rel;
    push(l, rel, key, id);
    return 0;
}

static int setns_fd(int fd) { return setns(fd, CLONE_NEWNET); }

static double num_or(json_t *o, const char *k, double dflt) {
    json_t *v = json_get(o, k);
    return v && v->type == J_NUMBER ? v->num : dflt;
}

/* Set a line's variability from {"mean_ms","sd_ms","tau_ms","loss","seed"}. */
static const char *set_vary(line_t *l, json_t *o, char *err, size_t en) {
    const char *why = vary_set(&l->vary, l->key, num_or(o, "mean_ms", 0), num_or(o, "sd_ms", 0),
                               num_or(o, "tau_ms", 100), num_or(o, "loss", 0),
                               (uint64_t)num_or(o, "seed", 1), now_ns());
    if (!why) return NULL;
    snprintf(err, en, "queue '%s': %s", l->key, why);
    return err;
}

/* Bind (netns of pid, queue) as line `key`; returns an error text or NULL. */
static const char *bind_line(const char *key, int pid, int queue, double delay_ms, int worker,
                             char *err, size_t en) {
    if (nlines >= MAX_LINES) return "too many queues";
    if (strlen(key) == 0 || strlen(key) >= sizeof lines[0]->key) return "bad key";
    if (find(key)) { snprintf(err, en, "queue '%s': key already bound", key); return err; }
    if (!(delay_ms >= 0) || !isfinite(delay_ms)) { snprintf(err, en, "queue '%s': bad delay_ms", key); return err; }
    char path[64]; snprintf(path, sizeof path, "/proc/%d/ns/net", pid);
    int nsfd = open(path, O_RDONLY | O_CLOEXEC);
    if (nsfd < 0) { snprintf(err, en, "queue '%s': cannot open netns: %s", key, strerror(errno)); return err; }
    line_t *l = calloc(1, sizeof *l);
    l->kind = K_LINE;
    snprintf(l->key, sizeof l->key, "%s", key);
    l->netns_pid = pid; l->queue = queue; l->nsfd = nsfd;
    l->delay_ns = (uint64_t)llround(delay_ms * 1e6);
    if (setns_fd(nsfd) < 0) { snprintf(err, en, "queue '%s': setns: %s", key, strerror(errno)); goto fail; }
    l->h = nfq_open();
    const char *why = NULL;
    if (!l->h) why = "nfq_open";
    else if ((l->qh = nfq_create_queue(l->h, (uint16_t)queue, on_packet, l)) == NULL) why = "bind failed (not root, or queue taken?)";
    else if (nfq_set_mode(l->qh, NFQNL_COPY_PACKET, COPY_LEN) < 0) why = "set mode";
    else nfq_set_queue_maxlen(l->qh, MAX_LEN);
    if (setns_fd(home_ns) < 0) die("cannot return to own netns: %s", strerror(errno));
    if (why) { snprintf(err, en, "queue '%s' (netns_pid=%d, queue=%d): %s", key, pid, queue, why); goto fail; }
    nfnl_rcvbufsiz(nfq_nfnlh(l->h), SOCK_LEN);
    l->fd = nfq_fd(l->h);
    fcntl(l->fd, F_SETFL, fcntl(l->fd, F_GETFL) | O_NONBLOCK);
    l->worker = worker;
    lines[nlines] = l;
    __atomic_store_n(&nlines, nlines + 1, __ATOMIC_RELEASE);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = l};
    epoll_ctl(eps[worker], EPOLL_CTL_ADD, l->fd, &ev);
    return NULL;
fail:
    if (l->qh) nfq_destroy_queue(l->qh);
    if (l->h) nfq_close(l->h);
    close(nsfd); free(l);
    return err;
}

static void release_due(uint64_t now);

/* Read up to READ_BUDGET packets, BATCH netlink messages per syscall
 * (recvmmsg), releasing what fell due after each batch: reading never holds
 * a release back by more than one batch. */
static void read_queue(line_t *l) {
    static __thread char bufs[BATCH][2048];
    static __thread struct mmsghdr msgs[BATCH];
    static __thread struct iovec iov[BATCH];
    for (int k = 0; k < READ_BUDGET; k += BATCH) {
        for (int i = 0; i < BATCH; i++) {
            iov[i] = (struct iovec){bufs[i], sizeof bufs[i]};
            msgs[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
        }
        int n = recvmmsg(l->fd, msgs, BATCH, MSG_DONTWAIT, NULL);
        if (n < 0) {
            if (errno == ENOBUFS) { l->overruns++; sec_overruns++; continue; }
            return;
        }
        uint64_t t_read = now_ns();
        uint64_t from = t_woke - wake_bias;            /* it woke us, or came while we worked */
        if (l->drained > from) from = l->drained;      /* after its queue was last empty */
        if (from > t_read) from = t_read;
        for (int i = 0; i < n; i++) {
            stamp = from + (uint64_t)((double)(t_read - from) * (i + 0.5) / n);
            nfq_handle_packet(l->h, bufs[i], (int)msgs[i].msg_len);
        }
        t_woke = t_read; wake_bias = 0;                /* the rest came after this read */
        if (n < BATCH) { l->drained = t_read; release_due(now_ns()); return; }
        release_due(now_ns());
    }
}

/* ------------------------------------------------------------ control */
static void kernel_stats(line_t *l, char *out, size_t n) {
    snprintf(out, n, "null");
    if (setns_fd(l->nsfd) < 0) return;
    FILE *f = fopen("/proc/thread-self/net/netfilter/nfnetlink_queue", "r");
    if (setns_fd(home_ns) < 0) die("cannot return to own netns");
    if (!f) return;
    unsigned long v[9];
    while (fscanf(f, "%lu %lu %lu %lu %lu %lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]) == 9)
        if ((int)v[0] == l->queue)
            snprintf(out, n, "{\"queue_total\": %lu, \"queue_dropped\": %lu, \"user_dropped\": %lu}", v[2], v[5], v[6]);
    fclose(f);
}

static char *handle(const char *text) {
    static char errbuf[512];
    json_t *m = json_parse(text);
    char *r = NULL;
    const char *err = NULL;
    if (!m || m->type != J_OBJECT) { err = m ? "request must be a JSON object" : "bad JSON"; goto out; }
    const char *op = json_str(json_get(m, "op"));
    if (!op) { err = "unknown op None"; goto out; }
    if (!strcmp(op, "ping")) { r = strdup("{\"ok\": true}"); goto out; }
    if (!strcmp(op, "stats")) {
        json_t *k = json_get(m, "kernel");
        int kern = k && k->type == J_TRUE;
        size_t cap = 256 + (size_t)nlines * 512, len = 0;
        r = malloc(cap);
        len += snprintf(r + len, cap - len, "{\"ok\": true, \"queues\": {");
        for (int i = 0; i < nlines; i++) {
            line_t *l = lines[i];
            char ks[160] = "";
            if (kern) { char kv[128]; kernel_stats(l, kv, sizeof kv); snprintf(ks, sizeof ks, ", \"kernel\": %s", kv); }
            len += snprintf(r + len, cap - len,
                "%s\"%s\": {\"delay_ms\": %.6f, \"passed\": %llu, \"dropped\": %llu, \"held\": %zu, "
                "\"down\": %s, \"netns_pid\": %d, \"queue\": %d, \"overruns\": %llu, \"lost\": %llu, \"shed\": %llu, \"load_ms\": %.6f%s}",
                i ? ", " : "", l->key, l->delay_ns / 1e6, (unsigned long long)l->passed,
                (unsigned long long)l->dropped, l->len, l->down ? "true" : "false", l->netns_pid,
                l->queue, (unsigned long long)l->overruns, (unsigned long long)l->vary.lost,
                (unsigned long long)l->load.shed, l->load.ms, ks);
        }
        snprintf(r + len, cap - len, "}, \"engine\": \"native\", \"carried\": %llu, \"carry_misses\": %llu}",
                 (unsigned long long)__atomic_load_n(&carried, __ATOMIC_RELAXED),
                 (unsigned long long)__atomic_load_n(&carry_misses, __ATOMIC_RELAXED));
        goto out;
    }
    if (!strcmp(op, "add")) {
        const char *key = json_str(json_get(m, "key"));
        json_t *p = json_get(m, "netns_pid"), *q = json_get(m, "queue"), *d = json_get(m, "delay_ms");
        if (!key || !p || p->type != J_NUMBER || !q || q->type != J_NUMBER) { err = "add needs key, netns_pid, queue"; goto out; }
        err = bind_line(key, (int)p->num, (int)q->num, d && d->type == J_NUMBER ? d->num : 0.0, me,
                        errbuf, sizeof errbuf);
        if (!err) r = strdup("{\"ok\": true}");
        goto out;
    }
    if (strcmp(op, "set") && strcmp(op, "down") && strcmp(op, "up") && strcmp(op, "vary") && strcmp(op, "trace")
        && strcmp(op, "load")) {
        snprintf(errbuf, sizeof errbuf, "unknown op '%s'", op); err = errbuf; goto out;
    }
    const char *key = json_str(json_get(m, "key"));
    line_t *l = key ? find(key) : NULL;
    if (!l) { snprintf(errbuf, sizeof errbuf, "unknown key '%s'", key ? key : "None"); err = errbuf; goto out; }
    if (!strcmp(op, "vary")) {
        err = set_vary(l, m, errbuf, sizeof errbuf);
        if (!err) r = strdup("{\"ok\": true}");
        goto out;
    }
    if (!strcmp(op, "load")) {
        const char *why = load_set(&l->load, l->key, num_or(m, "ms", 0), num_or(m, "loss", 0),
                                   (uint64_t)num_or(m, "seed", 1));
        if (why) { snprintf(errbuf, sizeof errbuf, "queue '%s': %s", l->key, why); err = errbuf; }
        else r = strdup("{\"ok\": true}");
        goto out;
    }
    if (!strcmp(op, "trace")) {
        long n = (long)num_or(m, "n", 0);
        if (n < 1 || n > 100000) { err = "trace needs n from 1 to 100000"; goto out; }
        vary_t t = {0};
        vary_set(&t, l->key, l->vary.mean_ms, l->vary.sd_ms, l->vary.tau_ms ? l->vary.tau_ms : 100,
                 l->vary.loss, l->vary.seed, 0);
        size_t cap = 64 + (size_t)n * 26, len = 0;
        r = malloc(cap);
        len += snprintf(r + len, cap - len, "{\"ok\": true, \"queue_ms\": [");
        for (long k = 0; k < n; k++)
            len += snprintf(r + len, cap - len, "%s%.17g", k ? ", " : "", vary_queue_ms_at(&t, (uint64_t)k));
        snprintf(r + len, cap - len, "]}");
        goto out;
    }
    if (!strcmp(op, "set")) {
        json_t *d = json_get(m, "delay_ms");
        if (!d || d->type != J_NUMBER || !(d->num >= 0) || !isfinite(d->num)) {
            snprintf(errbuf, sizeof errbuf, "queue '%s': delay_ms must be a finite number >= 0", key); err = errbuf; goto out;
        }
        __atomic_store_n(&l->delay_ns, (uint64_t)llround(d->num * 1e6), __ATOMIC_RELAXED);
    } else {
        int down = !strcmp(op, "down");
        __atomic_store_n(&l->down, down, __ATOMIC_RELEASE);
        if (down && l->worker == me) drop_held(l);
        else if (down) {  /* its owner drops what it holds at once */
            __atomic_store_n(&l->flush, 1, __ATOMIC_RELEASE);
            uint64_t one = 1; if (write(evfds[l->worker], &one, 8) < 0) {}
        }
    }
    r = strdup("{\"ok\": true}");
out:
    if (!r) {
        char esc[600]; json_escape(err, esc, sizeof esc);
        size_t n = strlen(esc) + 40; r = malloc(n);
        snprintf(r, n, "{\"ok\": false, \"error\": \"%s\"}", esc);
    }
    json_free(m);
    return r;
}

static void conn_close(conn_t *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd); free(c->out); free(c);
}

static void on_conn(conn_t *c, uint32_t events) {
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        ssize_t n = recv(c->fd, c->in + c->inlen, sizeof c->in - c->inlen - 1, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN)) { conn_close(c); return; }
        if (n > 0) c->inlen += (size_t)n;
        char *nl;
        while ((nl = memchr(c->in, '\n', c->inlen))) {
            *nl = 0;
            char *reply = handle(c->in);
            size_t rl = strlen(reply);
            c->out = realloc(c->out, c->outlen + rl + 1);
            memcpy(c->out + c->outlen, reply, rl); c->out[c->outlen + rl] = '\n';
            c->outlen += rl + 1; free(reply);
            size_t rest = c->inlen - (size_t)(nl + 1 - c->in);
            memmove(c->in, nl + 1, rest); c->inlen = rest;
        }
        if (c->inlen >= sizeof c->in - 1) { conn_close(c); return; }
    }
    if (c->outlen) {
        ssize_t n = send(c->fd, c->out, c->outlen, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN) { conn_close(c); return; }
        if (n > 0) { memmove(c->out, c->out + n, c->outlen - (size_t)n); c->outlen -= (size_t)n; }
    }
    struct epoll_event ev = {.events = EPOLLIN | (c->outlen ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void listen_on(const char *path) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path) die("control socket path too long: %s", path);
    strcpy(a.sun_path, path);
    int probe = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(probe, (struct sockaddr *)&a, sizeof a) == 0) die("control socket %s is in use by a live engine", path);
    close(probe);
    unlink(path);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 64) < 0) die("control socket %s: %s", path, strerror(errno));
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &tag_listen};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
}

/* ------------------------------------------------------------ main */
static uint64_t next_deadline(void) { return nheap ? heap[0].rel : 0; }

static void load_spec(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) die("bad spec %s: %s", path, strerror(errno));
    static char text[1 << 22];
    size_t n = fread(text, 1, sizeof text - 1, f); text[n] = 0; fclose(f);
    json_t *s = json_parse(text);
    json_t *qs = s ? json_get(s, "queues") : NULL;
    if (!qs || qs->type != J_ARRAY) die("bad spec %s: an object with a 'queues' list is needed", path);
    char err[512];
    for (json_t *q = qs->child; q; q = q->next) {
        const char *key = json_str(json_get(q, "key"));
        json_t *p = json_get(q, "netns_pid"), *qq = json_get(q, "queue"), *d = json_get(q, "delay_ms");
        if (!key || !p || p->type != J_NUMBER || !qq || qq->type != J_NUMBER) die("bad spec %s: queue entry needs key, netns_pid, queue", path);
        const char *e = bind_line(key, (int)p->num, (int)qq->num, d && d->type == J_NUMBER ? d->num : 0.0,
                                  nlines % nworkers, err, sizeof err);
        if (e) die("%s", e);
        json_t *v = json_get(q, "vary");
        if (v && v->type == J_OBJECT && (e = set_vary(lines[nlines - 1], v, err, sizeof err))) die("%s", e);
    }
    json_free(s);
}

static int rt_prio = 50;
static const char *sched_note = "SCHED_OTHER";

/* One worker: its lines' reads and releases; worker 0 also control and signals. */
static void *worker(void *arg) {
    me = (int)(long)arg;
    ep = eps[me];
    if (nworkers > 1) {  /* one worker per CPU: the kernel work of its releases stays there */
        cpu_set_t cs; CPU_ZERO(&cs); CPU_SET(me % (int)sysconf(_SC_NPROCESSORS_ONLN), &cs);
        pthread_setaffinity_np(pthread_self(), sizeof cs, &cs);
    }
    if (rt_prio > 0) {
        struct sched_param sp = {.sched_priority = rt_prio};
        if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) != 0) setpriority(PRIO_PROCESS, 0, -20);
    }
    sec_start = t_origin;
    struct epoll_event evs[256];
    uint64_t prev_wake = 0;
    while (!__atomic_load_n(&stopping, __ATOMIC_ACQUIRE)) {
        uint64_t now = now_ns();
        /* a turn's work (reads, releases, control) is also time no new packet was looked at */
        if (prev_wake && now - prev_wake > stall_max) stall_max = now - prev_wake;
        release_due(now);
        health_tick(now, 0);
        uint64_t d = next_deadline();
        /* wake at least once a second for the health line */
        uint64_t tick = sec_start + 1000000000ull, beat = now + HEARTBEAT_NS;
        uint64_t target = d && d < tick ? d : tick;
        /* sleep until one wake latency before the next release; no busy-polling: at the
           lab's load a real-time engine that spins meets the kernel's RT throttling */
        uint64_t when = target > now + lead_ns ? target - lead_ns : now + 1;
        uint64_t armed = when < beat ? when : beat;
        /* epoll_pwait2's own timeout, not a timerfd: it arms a timer only when there
           is nothing to read. Re-arming a timerfd every turn reprograms the timer
           hardware, an exit to the hypervisor on a VM: at cable-cut load that took a
           third of the engine's CPU (perf: do_timerfd_settime) */
        uint64_t t_sleep = now_ns();
        uint64_t wait = armed > t_sleep ? armed - t_sleep : 0;
        struct timespec to = {.tv_sec = (time_t)(wait / 1000000000ull), .tv_nsec = (long)(wait % 1000000000ull)};
        int n = epoll_pwait2(ep, evs, 256, &to, NULL);
        uint64_t t_wake = now_ns();
        prev_wake = t_wake;
        t_woke = t_wake;
        /* our own lateness: a sleep should end by its timeout */
        uint64_t due = armed > t_sleep ? armed : t_wake;
        if (t_wake > due + lead_ns && t_wake - due - lead_ns > stall_max) stall_max = t_wake - due - lead_ns;
        wake_bias = t_wake - t_sleep > 2000 ? (t_wake - t_sleep < lead_ns ? t_wake - t_sleep : lead_ns) : 0;
        if (n == 0 && armed > t_sleep && t_wake > armed) {   /* we really slept: learn the wake latency */
            uint64_t late = t_wake - armed;
            lead_ns = (lead_ns * 7 + late) / 8;
            if (lead_ns < LEAD_MIN) lead_ns = LEAD_MIN;
            if (lead_ns > LEAD_MAX) lead_ns = LEAD_MAX;
        }
        for (int k = 0; k < n; k++) {
            void *p = evs[k].data.ptr;
            if (p == &tag_wake) {  /* another thread asked: drop held packets of downed lines */
                uint64_t x; if (read(evfds[me], &x, 8) < 0) {}
                int nl = __atomic_load_n(&nlines, __ATOMIC_ACQUIRE);
                for (int i = 0; i < nl; i++)
                    if (lines[i]->worker == me && __atomic_exchange_n(&lines[i]->flush, 0, __ATOMIC_ACQ_REL))
                        drop_held(lines[i]);
            } else if (p == &tag_signal) {
                __atomic_store_n(&stopping, 1, __ATOMIC_RELEASE);
                for (int w = 1; w < nworkers; w++) { uint64_t one = 1; if (write(evfds[w], &one, 8) < 0) {} }
            } else if (p == &tag_listen) {
                int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (c >= 0) {
                    conn_t *cn = calloc(1, sizeof *cn); cn->kind = K_CONN; cn->fd = c;
                    struct epoll_event e2 = {.events = EPOLLIN, .data.ptr = cn};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &e2);
                }
            } else if (*(int *)p == K_LINE) read_queue(p);
            else on_conn(p, evs[k].events);
        }
    }
    if (health) health_tick(now_ns(), 1);
    return NULL;
}

int main(int argc, char **argv) {
    const char *spec = NULL, *health_path = NULL;
    /* one worker by default: on 2 cores (cable-cut on world) two real-time workers
       took 1.46 cores against 0.89 for one and starved the probes; more cores may differ */
    nworkers = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--spec") && i + 1 < argc) spec = argv[++i];
        else if (!strcmp(argv[i], "--control") && i + 1 < argc) control_path = argv[++i];
        else if (!strcmp(argv[i], "--ready") && i + 1 < argc) ready_path = argv[++i];
        else if (!strcmp(argv[i], "--health") && i + 1 < argc) health_path = argv[++i];
        else if (!strcmp(argv[i], "--rt") && i + 1 < argc) rt_prio = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) nworkers = atoi(argv[++i]);
        else { fprintf(stderr, "usage: linkd --spec SPEC.json --control CTL.sock [--ready F] [--health F] [--rt PRIO|0] [--threads N]\n"); return 2; }
    }
    if (!spec || !control_path) { fprintf(stderr, "linkd: --spec and --control are required\n"); return 2; }
    if (nworkers < 1 || nworkers > MAX_WORKERS) { fprintf(stderr, "linkd: --threads takes 1 to %d\n", MAX_WORKERS); return 2; }
    struct rlimit rl; getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < rl.rlim_max) { rl.rlim_cur = rl.rlim_max > 65536 ? 65536 : rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }
    home_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    sigset_t ss; sigemptyset(&ss); sigaddset(&ss, SIGTERM); sigaddset(&ss, SIGINT);
    sigprocmask(SIG_BLOCK, &ss, NULL);   /* every thread inherits the mask; worker 0 reads the signalfd */
    sfd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
    for (int w = 0; w < nworkers; w++) {
        eps[w] = epoll_create1(EPOLL_CLOEXEC);
        evfds[w] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &tag_wake};
        epoll_ctl(eps[w], EPOLL_CTL_ADD, evfds[w], &ev);
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &tag_signal};
    epoll_ctl(eps[0], EPOLL_CTL_ADD, sfd, &ev);
    ep = eps[0];  /* the control socket lives with worker 0 */
    if (health_path && !(health = fopen(health_path, "w"))) die("health file %s: %s", health_path, strerror(errno));
    if (health) { fprintf(health, "t_s,packets,late_p50_us,late_p99_us,late_max_us,kernel_drops,held_max,stall_max_us\n"); fflush(health); }
    load_spec(spec);
    listen_on(control_path);
    if (rt_prio > 0) {  /* try it once here, to report what the workers will get */
        struct sched_param sp = {.sched_priority = rt_prio}, old = {0};
        int pol = sched_getscheduler(0);
        if (sched_setscheduler(0, SCHED_FIFO, &sp) == 0) { sched_note = "SCHED_FIFO"; sched_setscheduler(0, pol, &old); }
        else sched_note = "nice -20";
    }
    fprintf(stderr, "linkd: %d queues, %d worker thread(s), scheduling %s\n", nlines, nworkers, sched_note);
    struct timespec rt; clock_gettime(CLOCK_REALTIME, &rt);
    t_origin = now_ns();
    wall_origin = (double)rt.tv_sec + rt.tv_nsec / 1e9;
    pthread_t th[MAX_WORKERS];
    for (int w = 1; w < nworkers; w++) pthread_create(&th[w], NULL, worker, (void *)(long)w);
    if (ready_path) {
        char tmp[4096]; snprintf(tmp, sizeof tmp, "%s.tmp.%d", ready_path, getpid());
        FILE *f = fopen(tmp, "w");
        if (!f) die("ready file %s: %s", ready_path, strerror(errno));
        fprintf(f, "%d\n%s\n%d\n", getpid(), sched_note, nworkers); fclose(f);
        rename(tmp, ready_path);
    }
    worker((void *)0L);
    for (int w = 1; w < nworkers; w++) pthread_join(th[w], NULL);
    /* shutdown: read what is queued, accept all held, unbind */
    for (int i = 0; i < nlines; i++) {
        read_queue(lines[i]);
        release(lines[i], UINT64_MAX, now_ns());
        nfq_destroy_queue(lines[i]->qh);
        nfq_close(lines[i]->h);
        close(lines[i]->nsfd);
    }
    if (health) fclose(health);
    if (lfd >= 0) { close(lfd); unlink(control_path); }
    if (ready_path) unlink(ready_path);
    return 0;
}
