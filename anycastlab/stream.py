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
  * receive times: ``time.time()`` as ``recv`` returns. Not the kernel's
    ``SO_TIMESTAMPNS``: measured here, a reply's skb keeps the timestamp of
    an earlier hop across the veth pairs, before the userspace shaper
    delayed it, and RTTs came out below the physical floor;
  * a probe with no answer within ``timeout`` is written as lost.

Rows have the same columns as the round engine's samples.csv; ``t`` is the
send time on the wall clock, the clock the runner's event log uses.

Run by the runner as ``python -m anycastlab.stream SPEC.json``; it probes
until its stdin closes (or ``max_s`` passes), then waits out the pending
probes and exits. Its sockets live only in the lab's client namespaces.
"""
from __future__ import annotations

import json
import os
import selectors
import socket
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

from .errors import LabError
from .probes import FIELDS
from .shaper import _setns as setns



def _enter(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        setns(fd)
    finally:
        os.close(fd)


def open_sockets(clients: dict[str, int]) -> dict[str, socket.socket]:
    """One non-blocking UDP socket per client, created inside its namespace."""
    socks = {}
    for client, pid in clients.items():
        _enter(f"/proc/{pid}/ns/net")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.bind(("0.0.0.0", 0))
        s.setblocking(False)
        socks[client] = s
    return socks


def run(spec: dict[str, Any], stop_fd: int | None = None) -> dict[str, int]:
    """Probe until ``stop_fd`` reports EOF or ``max_s`` passes; write the CSV."""
    clients: dict[str, int] = spec["clients"]
    targets: list[dict[str, str]] = spec["targets"]
    interval, timeout = float(spec["interval"]), float(spec["timeout"])
    port = int(spec.get("port", 7777))
    socks = open_sockets(clients)
    sel = selectors.DefaultSelector()
    for client, s in socks.items():
        sel.register(s, selectors.EVENT_READ, client)
    if stop_fd is not None:
        sel.register(stop_fd, selectors.EVENT_READ, None)
    out = open(spec["out"], "w", buffering=1 << 16)
    out.write(",".join(FIELDS) + "\n")
    names = sorted(clients)
    # one slot per (client, target), spread over the interval
    slots = [(c, i) for i, _ in enumerate(targets) for c in names]
    step = interval / max(1, len(slots))
    pending: dict[tuple[str, str], tuple[float, int]] = {}  # (client, token) -> (t_send, target)
    expiry: deque[tuple[float, str, str]] = deque()  # in send order, so deadlines are sorted
    counts = {"sent": 0, "answered": 0, "lost": 0}
    t_start = time.time()
    stop_at = t_start + float(spec.get("max_s", 3600))
    seq, slot = 0, 0
    next_send = time.monotonic()
    sending = True
    ready = spec.get("ready")
    if ready:
        Path(ready).write_text(f"{t_start:.6f}\n")

    def write(t: float, client: str, ti: int, rtt: float | None, pop: str | None) -> None:
        tg = targets[ti]
        out.write(f"{t:.6f},{client},{tg['addr']},{tg['name']},udp,"
                  f"{'' if rtt is None else f'{rtt:.3f}'},{int(rtt is None)},{pop or ''}\n")

    while sending or pending:
        now_m = time.monotonic()
        if sending:
            while next_send <= now_m:
                client, ti = slots[slot]
                token = f"{seq}.{ti}"
                t = time.time()
                try:
                    socks[client].sendto(b'{"token":"%s"}' % token.encode(), (targets[ti]["addr"], port))
                except OSError:
                    pass  # no route right now (a cut): the probe is simply lost
                pending[(client, token)] = (t, ti)
                expiry.append((t + timeout, client, token))
                counts["sent"] += 1
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
            client = key.data
            s = socks[client]
            while True:
                try:
                    data = s.recv(2048)
                    t_rx = time.time()
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
                t_send, ti = hit
                write(t_send, client, ti, (t_rx - t_send) * 1000, reply.get("pop"))
                counts["answered"] += 1
        now = time.time()
        while expiry and expiry[0][0] <= now:
            _, client, token = expiry.popleft()
            hit = pending.pop((client, token), None)
            if hit is not None:
                write(hit[0], client, hit[1], None, None)
                counts["lost"] += 1
        if not sending and not pending:
            break
    out.close()
    return counts


class Stream:
    """The runner's handle on a running stream process (recorded in the lab's run)."""

    def __init__(self, lab: Any, out: Path, interval: float, timeout: float,
                 clients: list[str] | None = None, max_s: float = 3600) -> None:
        from .addressing import client_host_name
        from .probes import targets
        from .runrecord import ProcEntry

        assert lab.record is not None
        names = clients or [a.id for a in lab.topo.clients()]
        folder = lab.record.folder
        self.ready = folder / "stream.ready"
        self.ready.unlink(missing_ok=True)
        spec = {"clients": {c: lab.netns_pid(client_host_name(c)) for c in names},
                "targets": targets(lab.plan), "interval": interval, "timeout": timeout,
                "out": str(out.resolve()), "max_s": max_s, "ready": str(self.ready)}
        (folder / "stream.json").write_text(json.dumps(spec, indent=1))
        cmd = [sys.executable, "-m", "anycastlab.stream", str(folder / "stream.json")]
        self.log = folder / "stream.out"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=log,
                                         stderr=subprocess.STDOUT,
                                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
        lab.record.add_daemon(ProcEntry.of("stream", self.proc.pid, None, cmd))
        deadline = time.monotonic() + 20
        while not self.ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise LabError("the probe stream did not start", file=self.log, fix="see that log")
            time.sleep(0.02)
        self.t_start = float(self.ready.read_text())

    def stop(self, timeout: float) -> dict[str, int]:
        """Stop sending, let pending probes answer or expire; return the counts."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=timeout + 10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise LabError("the probe stream did not stop", file=self.log) from None
        text = self.log.read_text().strip().splitlines()
        if self.proc.returncode != 0 or not text:
            raise LabError(f"the probe stream failed (exit {self.proc.returncode})", file=self.log,
                           fix="see that log")
        return json.loads(text[-1])


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text())
    counts = run(spec, stop_fd=sys.stdin.fileno())
    print(json.dumps(counts), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
