"""Userspace link-delay shaper (netem replacement) built on NFQUEUE.

The kernel here has no sch_netem, so each shaped interface gets an iptables
rule sending its egress packets to an NFQUEUE.  One shaper process, running in
the root namespace, binds every (netns, queue) pair: NFQUEUE state is per
network namespace and a netlink socket stays in the namespace it was created
in, so we setns() into the target, bind, and setns() back.  Packets are held
in a per-queue FIFO and accepted when due, driven by one epoll loop and a
timerfd (sub-millisecond wakeups).  Only verdicts are needed: COPY_META.

CLI: python -m anycastlab.agents.shaper --spec SPEC.json --control CTL.sock [--ready F]
Control (JSON lines on a Unix socket, one reply line each): ping, stats
[kernel], set {key, delay_ms} (applies to packets arriving from then on; FIFO
order is kept even when the delay is lowered), down/up {key} (down drops held
and new packets), add {key, netns_pid, queue, delay_ms}, vary {key, mean_ms,
sd_ms, tau_ms, loss, seed}, trace {key, n} (model/variability.py) and load {key, ms,
loss, seed} (model/load.py).  SIGTERM/SIGINT:
accept everything held, unbind, remove the socket and ready file, exit 0.
"""
from __future__ import annotations

import argparse
import errno
import gc
import json
import os
import resource
import select
import signal
import socket
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Any

from ..errors import ShaperError
from .netns import setns
from .schedule import (Lateness, Line, QueueSpec, Scheduler, check_delay, parse_queue, parse_vary,
                       trace_line, validate_spec)
from .timer import Timer

DEFAULT_MAX_LEN = 8192            # kernel queue length; held packets count toward it
DEFAULT_SOCK_LEN = 8 * 1024 * 1024  # netlink rcvbuf so bursts are not dropped
READ_BUDGET = 256                 # packets read per queue per loop turn (fairness)
MAX_LEAD = 0.5e-3                 # cap on the timer-lateness compensation
HEARTBEAT_S = 1e-3                # longest sleep: a later wake is the engine's own stall
_MAX_LINE = 1 << 16


class _Reader:
    """Socket stand-in for NetfilterQueue.run_socket() that reports EAGAIN after a budget.

    run(block=False) and run_socket() both loop until EAGAIN; under load that would
    starve the release timer, so we cap the packets handled per loop turn.
    """
    __slots__ = ("sock", "left", "overruns", "on_overrun")

    def __init__(self, fd: int, on_overrun: Any = lambda: None) -> None:
        self.on_overrun = on_overrun
        self.sock = socket.socket(fileno=os.dup(fd))  # own fd: closing it never hurts nfq
        self.left = 0
        self.overruns = 0

    def recv(self, n: int) -> bytes:
        if self.left <= 0:
            raise BlockingIOError(errno.EAGAIN, "read budget used")
        self.left -= 1
        try:
            return self.sock.recv(n, socket.MSG_DONTWAIT)
        except OSError as e:
            if e.errno == errno.ENOBUFS:  # netlink rcvbuf overflowed: kernel dropped packets
                self.overruns += 1
                self.on_overrun()
            raise


@dataclass
class _Bound:
    spec: QueueSpec
    line: Line
    nfq: Any
    reader: _Reader
    nsfd: int
    nsid: tuple[int, int]


class _Conn:
    __slots__ = ("sock", "inbuf", "outbuf")

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.inbuf, self.outbuf = sock, bytearray(), bytearray()


_IN, _OUT = select.EPOLLIN, select.EPOLLOUT


class Shaper:
    """The shaper process: bound queues, control socket and the event loop."""

    def __init__(self, *, max_len: int = DEFAULT_MAX_LEN, sock_len: int = DEFAULT_SOCK_LEN,
                 budget: int = READ_BUDGET) -> None:
        self.max_len, self.sock_len, self.budget = max_len, sock_len, budget
        # 3 fds per queue: a big lab outgrows the usual soft limit of 1024
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        cap = 65536 if hard == resource.RLIM_INFINITY else hard
        if soft != resource.RLIM_INFINITY and soft < cap:
            resource.setrlimit(resource.RLIMIT_NOFILE, (cap, hard))
        self.sched = Scheduler()
        self.queues: dict[str, _Bound] = {}
        self._by_fd: dict[int, _Bound] = {}
        self._conns: dict[int, _Conn] = {}
        self._home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        self._ep = select.epoll()
        self._timer = Timer()
        self._ep.register(self._timer.fd, _IN)
        self._listen: socket.socket | None = None
        self.control_path: str | None = None
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._ep.register(self._wake_r, _IN)
        self.stopping = False
        # Wakeups from idle come late on VMs (~40 us after 0.5 ms, ~150 us after 10 ms
        # here), so we wake `lead` early and release what is due within `lead`;
        # lead tracks the observed lateness (EWMA).
        # The same latency delays our wakeup on packet arrival, so packets read right
        # after a sleep are stamped `bias` earlier.
        self.lead = 50e-6
        self.bias = 0.0
        self.late = Lateness(time.monotonic())  # the health record, one row a second
        self.health: Any = None                 # an open file, or None

    def _go_home(self) -> None:
        try:
            setns(self._home)
        except OSError as e:  # would leave us in a node's namespace: unrecoverable
            raise RuntimeError(f"cannot return to own netns: {e}") from e

    def bind(self, spec: QueueSpec) -> None:
        """Enter the target netns, bind NFQUEUE there (socket keeps that netns), come back."""
        from netfilterqueue import COPY_META, NetfilterQueue
        where = f"queue {spec.key!r} (netns_pid={spec.netns_pid}, queue={spec.queue})"
        if spec.key in self.queues:
            raise ShaperError(f"{where}: key already bound")
        try:
            nsfd = os.open(f"/proc/{spec.netns_pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as e:
            raise ShaperError(f"{where}: cannot open netns: {e.strerror}") from e
        st = os.fstat(nsfd)
        nsid = (st.st_dev, st.st_ino)
        for other in self.queues.values():
            if other.nsid == nsid and other.spec.queue == spec.queue:
                os.close(nsfd)
                raise ShaperError(f"{where}: same netns and queue as {other.spec.key!r}")
        line = Line(spec.key, spec.delay_ms)
        if spec.vary is not None:
            line.vary = parse_vary(spec.key, spec.vary, time.monotonic_ns())
        offer, mono = self.sched.offer, time.monotonic

        def callback(pkt: Any) -> None:
            offer(line, pkt, mono() - self.bias)

        try:
            setns(nsfd)
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    nfq = NetfilterQueue()
                    nfq.bind(spec.queue, callback, max_len=self.max_len, mode=COPY_META,
                             range=0, sock_len=self.sock_len)
            finally:
                self._go_home()
        except OSError as e:
            os.close(nsfd)
            raise ShaperError(f"{where}: bind failed: {e} (not root, or queue taken?)") from e
        for w in caught:
            print(f"shaper: {spec.key}: {w.message}", file=sys.stderr)
        b = _Bound(spec, line, nfq, _Reader(nfq.get_fd(), self._overrun), nsfd, nsid)
        self.queues[spec.key] = b
        self._by_fd[nfq.get_fd()] = b
        self._ep.register(nfq.get_fd(), _IN)

    def _overrun(self) -> None:
        self.late.drops += 1

    def listen(self, path: str) -> None:
        if os.path.exists(path):
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(path)
                raise ShaperError(f"control socket {path} is in use by a live shaper")
            except (ConnectionRefusedError, FileNotFoundError):
                os.unlink(path)  # stale leftover of a dead shaper
            finally:
                probe.close()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(64)
        s.setblocking(False)
        self._listen, self.control_path = s, path
        self._ep.register(s.fileno(), _IN)

    # ------------------------------------------------------------ control
    def handle(self, msg: Any) -> dict:
        """One control request -> one reply; never raises (a bad request is not a crash)."""
        try:
            if not isinstance(msg, dict):
                raise ValueError("request must be a JSON object")
            op = msg.get("op")
            if op == "ping":
                return {"ok": True}
            if op == "stats":
                return {"ok": True, "queues": self.stats(kernel=bool(msg.get("kernel")))}
            if op == "add":
                self.bind(parse_queue(msg))
                return {"ok": True}
            if op not in ("set", "down", "up", "vary", "trace", "load"):
                raise ValueError(f"unknown op {op!r}")
            key = msg.get("key")
            b = self.queues.get(key) if isinstance(key, str) else None
            if b is None:
                raise ValueError(f"unknown key {key!r}")
            if op == "vary":
                b.line.vary = parse_vary(key, msg, time.monotonic_ns())
            elif op == "load":
                b.line.set_load(msg)
            elif op == "trace":
                return {"ok": True, "queue_ms": trace_line(b.line, msg.get("n"))}
            elif op == "set":
                b.line.delay_s = check_delay(key, msg.get("delay_ms")) / 1000.0
            else:
                Scheduler.set_down(b.line, op == "down")
            return {"ok": True}
        except (ValueError, ShaperError) as e:
            return {"ok": False, "error": str(e)}
        except Exception as e:  # keep serving the other links
            return {"ok": False, "error": f"internal error: {type(e).__name__}: {e}"}

    def stats(self, kernel: bool = False) -> dict[str, dict]:
        out = {}
        for key, b in self.queues.items():
            out[key] = {**b.line.stats(), "netns_pid": b.spec.netns_pid, "queue": b.spec.queue,
                        "overruns": b.reader.overruns}
            if kernel:
                out[key]["kernel"] = self._kernel_stats(b)
        return out

    def _kernel_stats(self, b: _Bound) -> dict[str, int] | None:
        """Kernel-side drops (queue full / socket full) live in the node's /proc/net."""
        setns(b.nsfd)
        try:
            with open("/proc/thread-self/net/netfilter/nfnetlink_queue") as f:
                rows = [r.split() for r in f]
        finally:
            self._go_home()
        for r in rows:
            if int(r[0]) == b.spec.queue:
                return {"queue_total": int(r[2]), "queue_dropped": int(r[5]),
                        "user_dropped": int(r[6])}
        return None

    def _on_conn(self, fd: int, ev: int) -> None:
        c = self._conns[fd]
        eof = False
        if ev & ~_OUT:
            try:
                data = c.sock.recv(65536)
                eof = not data
                c.inbuf += data
            except BlockingIOError:
                pass
            except OSError:
                eof = True
            while b"\n" in c.inbuf:
                raw, _, rest = bytes(c.inbuf).partition(b"\n")
                c.inbuf[:] = rest
                if raw.strip():
                    try:
                        reply = self.handle(json.loads(raw))
                    except ValueError as e:
                        reply = {"ok": False, "error": f"bad JSON: {e}"}
                    c.outbuf += json.dumps(reply).encode() + b"\n"
            eof = eof or len(c.inbuf) > _MAX_LINE
        try:
            if c.outbuf:
                del c.outbuf[:c.sock.send(c.outbuf)]
        except BlockingIOError:
            pass
        except OSError:
            eof = True
        if eof:
            self._ep.unregister(fd)
            c.sock.close()
            del self._conns[fd]
        else:
            self._ep.modify(fd, _IN | (_OUT if c.outbuf else 0))

    # ------------------------------------------------------------ loop
    def serve(self) -> None:
        """Run until stop(): release due packets, sleep on epoll (timerfd wakes us)."""
        sched, timer, by_fd, budget = self.sched, self._timer, self._by_fd, self.budget
        mono, poll = time.monotonic, self._ep.poll
        lfd = self._listen.fileno() if self._listen else -1
        t_wake = 0.0
        while not self.stopping:
            now = mono()
            if t_wake:  # a turn's work is also time no new packet was looked at
                self.late.stall(now - t_wake)
            sched.release_due(now + self.lead, now, self.late)
            self._health_tick(now)
            deadline = sched.next_deadline()
            # wake at least every HEARTBEAT_S: a wake that comes late is our own stall
            beat = now + HEARTBEAT_S
            timer.arm(beat if deadline is None else min(deadline - self.lead, beat))
            t_sleep = mono()
            events = poll()
            t_wake = mono()
            if timer.armed is not None and t_wake > timer.armed + self.lead:
                self.late.stall(t_wake - timer.armed - self.lead)
            # A packet that woke us arrived ~one wake latency ago (same VM effect).
            self.bias = min(self.lead, t_wake - t_sleep)
            for fd, ev in events:
                b = by_fd.get(fd)
                if b is not None:
                    b.reader.left = budget
                    try:
                        b.nfq.run_socket(b.reader)
                    except OSError as e:
                        print(f"shaper: {b.spec.key}: recv: {e}", file=sys.stderr)
                elif fd == timer.fd:
                    target = timer.armed
                    timer.fired()
                    if target is not None and t_sleep < target:  # we really slept: learn
                        late = t_wake - target
                        self.lead = min(MAX_LEAD, max(0.0, self.lead + (late - self.lead) / 8))
                elif fd == lfd:
                    try:
                        conn, _ = self._listen.accept()
                    except BlockingIOError:
                        continue
                    conn.setblocking(False)
                    self._conns[conn.fileno()] = _Conn(conn)
                    self._ep.register(conn.fileno(), _IN)
                elif fd == self._wake_r:
                    while True:
                        try:
                            if not os.read(self._wake_r, 512):
                                break
                        except BlockingIOError:
                            break
                elif fd in self._conns:
                    self._on_conn(fd, ev)

    def _health_tick(self, now: float) -> None:
        row = self.late.tick(now, time.time())
        if row is not None and self.health is not None:
            self.health.write(",".join(str(x) for x in row) + "\n")
            self.health.flush()

    def open_health(self, path: str) -> None:
        self.health = open(path, "w")
        self.health.write(",".join(Lateness.FIELDS) + "\n")
        self.health.flush()

    def stop(self, *_: Any) -> None:
        """Signal-safe: only sets a flag; set_wakeup_fd makes epoll return."""
        self.stopping = True

    def close(self) -> None:
        """Read what the kernel already queued, accept all held, unbind, clean up."""
        for b in self.queues.values():
            b.reader.left = 100_000
            try:
                b.nfq.run_socket(b.reader)
            except OSError:
                pass
        self.sched.flush([b.line for b in self.queues.values()])
        for b in self.queues.values():
            b.nfq.unbind()
            b.reader.sock.close()
            os.close(b.nsfd)
        self.queues.clear()
        self._by_fd.clear()
        for c in self._conns.values():
            c.sock.close()
        self._conns.clear()
        if self._listen is not None:
            self._listen.close()
            self._listen = None
            try:
                os.unlink(self.control_path or "")
            except FileNotFoundError:
                pass
        self._ep.close()
        if self.health is not None:
            self.health.close()
        for fd in (self._timer.fd, self._wake_r, self._wake_w, self._home):
            os.close(fd)


# ---------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m anycastlab.agents.shaper",
                                 description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--spec", required=True, help="JSON: {queues: [{key, netns_pid, queue, delay_ms}]}")
    ap.add_argument("--control", required=True, help="Unix socket path for JSON-line control")
    ap.add_argument("--ready", help="file written (atomically, with our pid) once all queues are bound")
    ap.add_argument("--max-len", type=int, default=DEFAULT_MAX_LEN, help="kernel queue length")
    ap.add_argument("--health", help="CSV written once a second: release lateness and drops")
    args = ap.parse_args(argv)
    try:
        with open(args.spec) as f:
            specs = validate_spec(json.load(f))
    except (OSError, ValueError) as e:
        print(f"shaper: bad spec {args.spec}: {e}", file=sys.stderr)
        return 2
    shaper = Shaper(max_len=args.max_len)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, shaper.stop)
    signal.set_wakeup_fd(shaper._wake_w, warn_on_full_buffer=False)
    wrote_ready = False
    try:
        for spec in specs:
            shaper.bind(spec)
        shaper.listen(args.control)
        if args.health:
            shaper.open_health(args.health)
        if args.ready and not shaper.stopping:
            tmp = f"{args.ready}.tmp.{os.getpid()}"
            with open(tmp, "w") as f:
                f.write(f"{os.getpid()}\n")
            os.replace(tmp, args.ready)
            wrote_ready = True
        gc.collect()
        gc.freeze()  # startup objects need no rescans: shorter GC pauses under load
        shaper.serve()
    except (ShaperError, OSError) as e:
        print(f"shaper: {e}", file=sys.stderr)
        return 1
    finally:
        signal.set_wakeup_fd(-1)
        shaper.close()
        if wrote_ready:  # a stale ready file would name a dead (or reused) pid
            try:
                os.unlink(args.ready)
            except FileNotFoundError:
                pass
    return 0

if __name__ == "__main__":
    sys.exit(main())
