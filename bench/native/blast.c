/* Paced UDP sender for bench/shaper_bench.py: RATE packets/s for SECONDS to
 * DST:PORT, in sendmmsg batches every 100 us, so the generator itself can
 * offer more than the engine under test forwards. Payload: sender id (2 B,
 * network order) and sequence number (4 B). Prints
 * {"sent": N, "errors": E, "elapsed": S} as JSON. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
    if (argc != 6) { fprintf(stderr, "usage: blast DST PORT RATE SECONDS ID\n"); return 2; }
    double rate = atof(argv[3]), secs = atof(argv[4]);
    uint16_t id = (uint16_t)atoi(argv[5]);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    int big = 64 << 20;
    setsockopt(s, SOL_SOCKET, 32 /* SO_SNDBUFFORCE */, &big, sizeof big);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    inet_pton(AF_INET, argv[1], &a.sin_addr);
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("connect"); return 1; }
    static char pay[BATCH][32];
    struct iovec iov[BATCH];
    struct mmsghdr m[BATCH];
    uint64_t total = (uint64_t)(rate * secs), sent = 0, errors = 0;
    double t0 = now();
    while (sent < total) {
        uint64_t due = (uint64_t)((now() - t0) * rate) + 1;
        if (due > total) due = total;
        if (due <= sent) { struct timespec ts = {0, 100000}; nanosleep(&ts, NULL); continue; }
        while (sent < due) {
            int n = (int)(due - sent < BATCH ? due - sent : BATCH);
            for (int i = 0; i < n; i++) {
                uint16_t nid = htons(id); uint32_t seq = htonl((uint32_t)(sent + (uint64_t)i));
                memcpy(pay[i], &nid, 2); memcpy(pay[i] + 2, &seq, 4);
                iov[i] = (struct iovec){pay[i], sizeof pay[i]};
                m[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
            }
            int k = sendmmsg(s, m, (unsigned)n, 0);
            if (k < 0) { errors += (uint64_t)n; k = n; }
            sent += (uint64_t)k;
        }
    }
    printf("{\"sent\": %llu, \"errors\": %llu, \"elapsed\": %.6f}\n", (unsigned long long)sent,
           (unsigned long long)errors, now() - t0);
    return 0;
}
