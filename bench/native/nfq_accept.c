/* The NFQUEUE ceiling for bench/shaper_bench.py: the least a userspace
 * engine can do, accept every packet at once (one verdict each), on the
 * queues of the namespaces given as PID:QUEUE. Speaks just enough of the
 * engines' control protocol (ping, stats) for the bench to drive it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static unsigned long passed[8];

static int cb(struct nfq_q_handle *qh, struct nfgenmsg *m, struct nfq_data *d, void *data) {
    (void)m;
    struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(d);
    if (ph) { nfq_set_verdict(qh, ntohl(ph->packet_id), NF_ACCEPT, 0, NULL); passed[(long)data]++; }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: nfq_accept CTL.sock READY PID:QUEUE...\n"); return 2; }
    int home = open("/proc/self/ns/net", O_RDONLY), nq = argc - 3;
    struct nfq_handle *h[8]; struct pollfd pf[9];
    for (int i = 0; i < nq && i < 8; i++) {
        int pid, q; sscanf(argv[3 + i], "%d:%d", &pid, &q);
        char p[64]; snprintf(p, sizeof p, "/proc/%d/ns/net", pid);
        int fd = open(p, O_RDONLY);
        setns(fd, CLONE_NEWNET);
        h[i] = nfq_open();
        struct nfq_q_handle *qh = nfq_create_queue(h[i], (uint16_t)q, cb, (void *)(long)i);
        if (!qh) { fprintf(stderr, "nfq_accept: bind %s failed\n", argv[3 + i]); return 1; }
        nfq_set_mode(qh, NFQNL_COPY_META, 0);
        nfq_set_queue_maxlen(qh, 8192);
        nfnl_rcvbufsiz(nfq_nfnlh(h[i]), 8 << 20);
        setns(home, CLONE_NEWNET);
        pf[i] = (struct pollfd){nfq_fd(h[i]), POLLIN, 0};
    }
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", argv[1]);
    unlink(argv[1]);
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 8) < 0) { perror("control"); return 1; }
    pf[nq] = (struct pollfd){l, POLLIN, 0};
    FILE *r = fopen(argv[2], "w"); fprintf(r, "%d\n", getpid()); fclose(r);
    signal(SIGTERM, SIG_DFL);
    char buf[4096];
    for (;;) {
        poll(pf, (nfds_t)nq + 1, -1);
        for (int i = 0; i < nq; i++)
            if (pf[i].revents) for (int k = 0; k < 64; k++) {
                ssize_t n = recv(pf[i].fd, buf, sizeof buf, MSG_DONTWAIT);
                if (n <= 0) break;
                nfq_handle_packet(h[i], buf, (int)n);
            }
        if (pf[nq].revents) {
            int c = accept(l, NULL, NULL);
            char req[512]; ssize_t n = read(c, req, sizeof req - 1);
            if (n > 0) {
                req[n] = 0;
                char out[512];
                if (strstr(req, "stats"))
                    snprintf(out, sizeof out, "{\"ok\": true, \"queues\": {\"a\": {\"passed\": %lu, \"overruns\": 0}, "
                             "\"b\": {\"passed\": %lu, \"overruns\": 0}}}\n", passed[0], passed[1]);
                else snprintf(out, sizeof out, "{\"ok\": true}\n");
                if (write(c, out, strlen(out)) < 0) {}
            }
            close(c);
        }
    }
}
