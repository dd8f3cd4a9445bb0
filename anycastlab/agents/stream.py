"""Continuous probing for scenario timelines: one process, every client.

The round-based scapy engine (``prober``) costs tens of ms of CPU per round;
a timeline needs every client to probe every target every 100 ms for
minutes (world: 23 clients x 14 targets x 10/s = 3220 probes/s). This
engine opens one plain UDP socket *inside each client's namespace* (setns
into it, create the socket, the socket stays there) and drives them all
from one event loop in one process:

  * send times: ``time.time()`` just before ``sendto``; probes of a round
    are spread evenly over the interval (a burst would queue in the links'
    shaper and inflate the later probes' RTTs);
  * receive times: the kernel's (``SO_TIMESTAMPNS``), so a stream that
    waits for the CPU does not inflate RTT; the responder's own hold
    (``held_us`` in its reply) is subtracted (``responder.network_rtt``);
  * a probe with no answer within ``timeout`` is written as lost.

Rows have the same columns as the round engine's samples.csv; ``t`` is the
send time on the wall clock, the clock the runner's event log uses.

With DNS steering, an ``ipa`` slot carries a name instead of an address:
the client's next resolver in turn (``resolver``: ``resolvers`` per client
network) gives the address of its cached answer, and the probe goes there
(a probe with no valid answer is written as lost, with no address). G, every
P_k and U_p are probed by address: G's name never changes its answer (the
zone gives it an hour's TTL), and P_k, U_p are the CDN's own measurements. Files are flushed every 0.2 s: the steering loop reads them live.

Run by the runner as ``python -m anycastlab.agents.stream SPEC.json``; it probes
until its stdin closes (or ``max_s`` passes), then waits out the pending
probes and exits. Its sockets live only in the lab's client namespaces.
"""
from __future__ import annotations

import json
import os
import selectors
import socket
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

from ..model.samples import FIELDS
from .netns import enter, setns
from .resolver import Resolvers
from .responder import SO_TIMESTAMPNS, network_rtt, rx_time

def open_sockets(clients: dict[str, int], per_client: int = 1,
                 rcvbuf: int = 1 << 20) -> dict[str, list[socket.socket]]:
    """``per_client`` non-blocking UDP sockets per client, created inside its namespace."""
    socks: dict[str, list[socket.socket]] = {}
    own = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        for client, pid in clients.items():
            enter(f"/proc/{pid}/ns/net")
            socks[client] = []
            for _ in range(per_client):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
                s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                s.bind(("0.0.0.0", 0))
                s.setblocking(False)
                socks[client].append(s)
    finally:
        setns(own)
        os.close(own)
    return socks


def run(spec: dict[str, Any], stop_fd: int | None = None) -> dict[str, int]:
    """Probe until ``stop_fd`` reports EOF or ``max_s`` passes; write the CSV."""
    clients: dict[str, int] = spec["clients"]
    targets: list[dict[str, str]] = spec["targets"]
    interval, timeout = float(spec["interval"]), float(spec["timeout"])
    port = int(spec.get("port", 7777))
    socks = {c: v[0] for c, v in open_sockets(clients).items()}
    sel = selectors.DefaultSelector()
    for client, s in socks.items():
        sel.register(s, selectors.EVENT_READ, client)
    res: Resolvers | None = None
    dns_out = None
    if spec.get("dns"):
        d = spec["dns"]
        dns_socks = open_sockets(clients, int(d.get("resolvers", 1)), rcvbuf=1 << 16)
        for client, ss in dns_socks.items():
            for r, s in enumerate(ss):
                sel.register(s, selectors.EVENT_READ, ("dns", client, r))
        dns_out = open(d["out"], "w", buffering=1 << 14)
        res = Resolvers(dns_socks, d["names"], d["server"], int(d.get("port", 53)),
                        float(d["timeout"]), float(d["prefetch"]), dns_out, seed=d.get("seed"))
    if stop_fd is not None:
        sel.register(stop_fd, selectors.EVENT_READ, None)
    out = open(spec["out"], "w", buffering=1 << 16)
    out.write(",".join(FIELDS) + "\n")
    names = sorted(clients)
    # one slot per (client, target), spread over the interval
    slots = [(c, i) for i, _ in enumerate(targets) for c in names]
    step = interval / max(1, len(slots))
    pending: dict[tuple[str, str], tuple[float, int, str, str]] = {}  # (client, token) -> (t, target, addr, resolver)
    expiry: deque[tuple[float, str, str]] = deque()  # in send order, so deadlines are sorted
    counts = {"sent": 0, "answered": 0, "lost": 0}
    t_start = time.time()
    stop_at = t_start + float(spec.get("max_s", 3600))
    seq, slot = 0, 0
    next_send = time.monotonic()
    sending = True
    ready = spec.get("ready")
    if res is not None:
        res.start(t_start, float(spec["dns"].get("spread_s", 0.0)))
    if ready:
        Path(ready).write_text(f"{t_start:.6f}\n")

    def write(t: float, client: str, ti: int, addr: str, rtt: float | None, pop: str | None,
              rsv: str = "") -> None:
        out.write(f"{t:.6f},{client},{addr},{targets[ti]['name']},udp,"
                  f"{'' if rtt is None else f'{rtt:.3f}'},{int(rtt is None)},{pop or ''},{rsv}\n")

    flushed = housekept = time.monotonic()

    while sending or pending:
        now_m = time.monotonic()
        if sending:
            while next_send <= now_m:
                client, ti = slots[slot]
                token = f"{seq}.{ti}"
                t = time.time()
                tg = targets[ti]
                addr = tg.get("addr") or res.address(client, tg["name"], t)  # type: ignore[union-attr]
                rsv = "" if tg.get("addr") else str(res.last)  # type: ignore[union-attr]
                if addr is None:  # no valid DNS answer: nowhere to send this probe
                    write(t, client, ti, "", None, None, rsv)
                    counts["sent"] += 1
                    counts["lost"] += 1
                elif addr:  # ("" : the client's first answer is on its way)
                    counts["sent"] += 1
                    try:
                        socks[client].sendto(b'{"token":"%s"}' % token.encode(), (addr, port))
                    except OSError:
                        pass  # no route right now (a cut): the probe is simply lost
                    pending[(client, token)] = (t, ti, addr, rsv)
                    expiry.append((t + timeout, client, token))
                slot += 1
                if slot == len(slots):
                    slot, seq = 0, seq + 1
                next_send += step
            if time.time() >= stop_at:
                sending = False
        wait = max(0.0, next_send - time.monotonic()) if sending else 0.05
        for key, _ in sel.select(timeout=wait):
            if key.data is None:  # the runner closed our stdin: stop sending
                if not os.read(stop_fd, 4096):  # type: ignore[arg-type]
                    sending = False
                    sel.unregister(stop_fd)  # type: ignore[arg-type]
                continue
            if isinstance(key.data, tuple):  # a DNS reply
                _, client, r = key.data
                try:
                    while True:
                        res.receive(client, r, key.fileobj.recv(4096), time.time())  # type: ignore[union-attr]
                except (BlockingIOError, InterruptedError, ConnectionError):
                    pass
                continue
            client = key.data
            s = socks[client]
            while True:
                try:
                    data, anc, _, _ = s.recvmsg(2048, 64)
                    t_rx = rx_time(anc)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break  # e.g. an ICMP error queued on the socket
                try:
                    reply = json.loads(data)
                    token = str(reply["token"])
                except (ValueError, KeyError, TypeError):
                    continue
                hit = pending.pop((client, token), None)
                if hit is None:
                    continue  # a late answer: that probe was already written as lost
                t_send, ti, addr, rsv = hit
                write(t_send, client, ti, addr, network_rtt(t_send, t_rx, reply) * 1000, reply.get("pop"), rsv)
                counts["answered"] += 1
        now = time.time()
        while expiry and expiry[0][0] <= now:
            _, client, token = expiry.popleft()
            hit = pending.pop((client, token), None)
            if hit is not None:
                write(hit[0], client, hit[1], hit[2], None, None, hit[3])
                counts["lost"] += 1
        now_m = time.monotonic()
        if now_m - housekept >= 0.05:
            housekept = now_m
            if res is not None:
                res.expire(now)
            if now_m - flushed >= 0.2:  # the steering loop reads these files live
                flushed = now_m
                out.flush()
                if dns_out is not None:
                    dns_out.flush()
        if not sending and not pending:
            break
    out.close()
    if res is not None and dns_out is not None:
        dns_out.close()
        counts.update(res.counts)
    return counts


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text())
    counts = run(spec, stop_fd=sys.stdin.fileno())
    print(json.dumps(counts), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
