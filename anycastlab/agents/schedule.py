"""The link engine's pure half: its spec (which queue of which namespace,
what delay) and the scheduler that holds each packet of a line until due,
in FIFO order. No sockets, no kernel: unit-tested as is."""
from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from dataclasses import dataclass
from typing import Any, Optional

from ..model.variability import LoadDraw, QueueProcess, Variability, trace


@dataclass(frozen=True)
class QueueSpec:
    key: str
    netns_pid: int
    queue: int
    delay_ms: float
    vary: Optional[dict] = None  # {"mean_ms", "sd_ms", "tau_ms", "loss", "seed"}


def parse_vary(key: str, item: Any, t0_ns: int) -> QueueProcess:
    """A line's variability process from its control/spec object (model/variability.py)."""
    if not isinstance(item, dict):
        raise ValueError(f"queue {key!r}: vary must be an object")
    fields = {k: item[k] for k in ("mean_ms", "sd_ms", "tau_ms", "loss") if k in item}
    try:
        v = Variability(**fields)
    except ValueError as e:
        raise ValueError(f"queue {key!r}: bad variability: {e}") from None
    seed = item.get("seed", 1)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2 ** 53:
        raise ValueError(f"queue {key!r}: seed must be an int in 0..2^53")
    return QueueProcess(v, seed, key, t0_ns)


def trace_line(line: "Line", n: Any) -> list[float]:
    """The first n grid values of a line's queueing delay for its seed (the trace op)."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 100000:
        raise ValueError("trace needs n from 1 to 100000")
    v = line.vary
    return trace(v.v if v else Variability(), v.seed if v else 1, line.key, n)


def parse_queue(item: Any) -> QueueSpec:
    """Check one queue entry; errors name the key so the lab can point at the link."""
    if not isinstance(item, dict):
        raise ValueError(f"queue entry must be an object, got {item!r}")
    key = item.get("key")
    if not isinstance(key, str) or not key:
        raise ValueError(f"queue entry without a valid 'key': {item!r}")
    pid, queue, delay = item.get("netns_pid"), item.get("queue"), item.get("delay_ms", 0.0)
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        raise ValueError(f"queue {key!r}: netns_pid must be a positive int")
    if not isinstance(queue, int) or isinstance(queue, bool) or not 0 <= queue <= 65535:
        raise ValueError(f"queue {key!r}: queue must be an int in 0..65535")
    vary = item.get("vary")
    if vary is not None:
        parse_vary(key, vary, 0)  # refused here, before anything is bound
    return QueueSpec(key, pid, queue, check_delay(key, delay), vary)


def check_delay(key: str, delay: Any) -> float:
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not math.isfinite(delay):
        raise ValueError(f"queue {key!r}: delay_ms must be a finite number")
    if delay < 0:
        raise ValueError(f"queue {key!r}: negative delay_ms {delay}")
    return float(delay)


def validate_spec(data: dict) -> list[QueueSpec]:
    """Parse SPEC.json content; reject duplicate keys/(netns_pid, queue) and bad delays."""
    if not isinstance(data, dict) or not isinstance(data.get("queues", []), list):
        raise ValueError("spec must be an object with a 'queues' list")
    out: list[QueueSpec] = []
    keys: set[str] = set()
    pairs: dict[tuple[int, int], str] = {}
    for item in data.get("queues", []):
        q = parse_queue(item)
        if q.key in keys:
            raise ValueError(f"duplicate key {q.key!r}")
        if (q.netns_pid, q.queue) in pairs:
            raise ValueError(f"queue {q.key!r}: (netns_pid={q.netns_pid}, queue={q.queue}) "
                             f"already used by {pairs[(q.netns_pid, q.queue)]!r}")
        keys.add(q.key)
        pairs[(q.netns_pid, q.queue)] = q.key
        out.append(q)
    return out


class Line:
    """One shaped queue's state: delay, up/down, held FIFO of (release_time, packet)."""
    __slots__ = ("key", "delay_s", "down", "held", "last_release", "scheduled",
                 "passed", "dropped", "vary", "lost", "load")

    def __init__(self, key: str, delay_ms: float) -> None:
        self.key, self.delay_s, self.down = key, delay_ms / 1000.0, False
        self.held: deque[tuple[float, Any]] = deque()
        self.last_release, self.scheduled = 0.0, False
        self.passed = self.dropped = self.lost = 0
        self.vary: Optional[QueueProcess] = None
        self.load: Optional[LoadDraw] = None

    def stats(self) -> dict[str, Any]:
        """The line's half of the stats op (the engine adds its own fields)."""
        return {"delay_ms": self.delay_s * 1000.0, "passed": self.passed, "dropped": self.dropped,
                "held": len(self.held), "down": self.down, "lost": self.lost,
                "shed": self.load.shed if self.load else 0, "load_ms": self.load.ms if self.load else 0.0}

    def set_load(self, msg: dict) -> None:
        """The load op: {ms, loss, seed} (model/load.py)."""
        seed = msg.get("seed", 1)
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2 ** 53:
            raise ValueError(f"queue {self.key!r}: seed must be an int in 0..2^53")
        try:
            new = LoadDraw(msg.get("ms", 0.0), msg.get("loss", 0.0), seed, self.key)
        except ValueError as e:
            raise ValueError(f"queue {self.key!r}: {e}") from None
        if self.load is None:
            self.load = new
        else:
            self.load.update(new)


class Scheduler:
    """Pure timing core (no I/O, time passed in) so it is unit-testable with fake packets.

    Release times are forced monotonic per line, so lowering a delay never reorders
    packets in a queue; the heap holds at most one live entry per line (its head).
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Line]] = []
        self._seq = itertools.count()

    def offer(self, line: Line, pkt: Any, now: float) -> None:
        if line.down:
            pkt.drop()
            line.dropped += 1
            return
        held, delay = line.held, line.delay_s
        if line.vary is not None:
            if line.vary.lose():
                pkt.drop()
                line.lost += 1
                return
            delay += line.vary.queue_ns(int(now * 1e9)) / 1e9
        if line.load is not None:
            if line.load.lose():
                pkt.drop()
                return
            delay += line.load.ns / 1e9
        if delay <= 0.0 and not held:
            pkt.accept()
            line.passed += 1
            return
        rel = now + delay
        if rel < line.last_release:
            rel = line.last_release
        line.last_release = rel
        held.append((rel, pkt))
        if not line.scheduled:
            line.scheduled = True
            heapq.heappush(self._heap, (rel, next(self._seq), line))

    def release_due(self, upto: float, now: float | None = None,
                    late: "Lateness | None" = None) -> int:
        """Accept every held packet due by ``upto``; with ``late``, note each
        release's lateness (``now`` - scheduled; early releases count as 0)."""
        heap, total = self._heap, 0
        now = upto if now is None else now
        while heap and heap[0][0] <= upto:
            line = heapq.heappop(heap)[2]
            line.scheduled = False
            held, k = line.held, 0
            while held and held[0][0] <= upto:
                rel, pkt = held.popleft()
                pkt.accept()
                if late is not None:
                    late.note(now - rel)
                k += 1
            line.passed += k
            total += k
            if held:
                line.scheduled = True
                heapq.heappush(heap, (held[0][0], next(self._seq), line))
        return total

    def next_deadline(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    @staticmethod
    def set_down(line: Line, down: bool) -> None:
        """A cut link also loses what is in flight: drop the held packets now."""
        line.down = down
        if down:
            while line.held:
                line.held.popleft()[1].drop()
                line.dropped += 1
            line.last_release = 0.0

    def flush(self, lines: list[Line]) -> None:
        """Accept everything still held (shutdown), in per-line FIFO order."""
        for line in lines:
            while line.held:
                line.held.popleft()[1].accept()
                line.passed += 1
        self._heap.clear()
        for line in lines:
            line.scheduled = False


class Lateness:
    """Per-second lateness of releases (actual - scheduled), the engine's
    health record: one row a second with packets, p50/p99/max lateness in
    microseconds, kernel drops and the most packets held. Histogram of 1 us
    buckets up to 2 ms, then 1 ms buckets up to 1 s (the native engine keeps
    the same one, so both report alike)."""

    FINE, COARSE = 2000, 1000
    FIELDS = ["t_s", "packets", "late_p50_us", "late_p99_us", "late_max_us", "kernel_drops", "held_max",
              "stall_max_us"]

    def __init__(self, start: float) -> None:
        self.reset(start)

    def reset(self, start: float) -> None:
        """Start a new second at ``start``."""
        self.start = start
        self.hist = [0] * (self.FINE + self.COARSE + 1)
        self.packets = self.drops = self.late_max = self.held_max = self.stall_max = 0

    def note(self, late_s: float) -> None:
        us = max(0, round(late_s * 1e6))
        b = us if us < self.FINE else self.FINE + (us - self.FINE) // 1000
        self.hist[min(b, self.FINE + self.COARSE)] += 1
        self.packets += 1
        self.late_max = max(self.late_max, us)

    def stall(self, late_s: float) -> None:
        """The engine itself ran ``late_s`` late (a wake or loop turn after its due time)."""
        self.stall_max = max(self.stall_max, round(late_s * 1e6))

    def quantile(self, q: float) -> int:
        """Lateness (us, bucket floor) below which a fraction q of this second's releases fell."""
        want, seen = max(1, math.ceil(q * self.packets)), 0
        for b, n in enumerate(self.hist):
            seen += n
            if seen >= want:
                return b if b < self.FINE else self.FINE + (b - self.FINE) * 1000
        return self.late_max

    def tick(self, now: float, wall: float) -> list[Any] | None:
        """The finished second's row once a second has passed (wall clock t_s), else None."""
        if now - self.start < 1.0:
            return None
        row = [round(wall - (now - self.start), 3), self.packets,
               self.quantile(0.5) if self.packets else 0, self.quantile(0.99) if self.packets else 0,
               self.late_max, self.drops, self.held_max, self.stall_max]
        self.reset(now)
        return row
