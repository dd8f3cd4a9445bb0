"""Tests for anycastlab.agents.shaper.

Pure parts: spec validation, iptables argv, scheduler, control handling,
the client's error. The engine as a process is in tests/lab/test_shaper_lab.py.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from anycastlab.agents.schedule import Line, QueueSpec, Scheduler, validate_spec  # noqa: E402
from anycastlab.agents.shaper import Shaper, _Bound  # noqa: E402
from anycastlab.errors import ShaperError  # noqa: E402
from anycastlab.lab.links import ShaperClient, iptables_rule_args  # noqa: E402


class FakePacket:
    """Records the verdict so scheduler tests need no kernel."""

    def __init__(self, n: int, log: list) -> None:
        self.n, self.log, self.verdict = n, log, None

    def accept(self) -> None:
        assert self.verdict is None
        self.verdict = "accept"
        self.log.append(self.n)

    def drop(self) -> None:
        assert self.verdict is None
        self.verdict = "drop"


# ------------------------------------------------------------------ pure helpers
def test_iptables_rule_args() -> None:
    assert iptables_rule_args("eth1", 3) == [
        "iptables", "-t", "mangle", "-A", "POSTROUTING", "-o", "eth1",
        "-j", "NFQUEUE", "--queue-num", "3"]
    assert iptables_rule_args("eth1", 3, "-D")[3] == "-D"
    assert iptables_rule_args("eth1", 3, bypass=True)[-1] == "--queue-bypass"
    for bad in [("eth1", 3, "-I"), ("", 1), ("a" * 16, 1), ("eth 1", 1), ("eth1", -1),
                ("eth1", 70000), ("eth1", True)]:
        with pytest.raises(ValueError):
            iptables_rule_args(*bad)


def test_validate_spec_ok() -> None:
    specs = validate_spec({"queues": [
        {"key": "x", "netns_pid": 10, "queue": 1, "delay_ms": 2.5},
        {"key": "y", "netns_pid": 10, "queue": 2, "delay_ms": 0},
        {"key": "z", "netns_pid": 11, "queue": 1, "delay_ms": 7}]})
    assert specs[0] == QueueSpec("x", 10, 1, 2.5)
    assert [s.key for s in specs] == ["x", "y", "z"]
    assert validate_spec({"queues": []}) == []


@pytest.mark.parametrize("queues, match", [
    ([{"key": "a", "netns_pid": 1, "queue": 1, "delay_ms": 1},
      {"key": "a", "netns_pid": 2, "queue": 1, "delay_ms": 1}], "duplicate key 'a'"),
    ([{"key": "neg", "netns_pid": 1, "queue": 1, "delay_ms": -1}], "'neg'.*negative"),
    ([{"key": "a", "netns_pid": 1, "queue": 4, "delay_ms": 1},
      {"key": "b", "netns_pid": 1, "queue": 4, "delay_ms": 1}], "'b'.*already used by 'a'"),
    ([{"key": "nan", "netns_pid": 1, "queue": 1, "delay_ms": float("nan")}], "'nan'"),
    ([{"key": "s", "netns_pid": 1, "queue": 1, "delay_ms": "5"}], "'s'"),
    ([{"key": "p", "netns_pid": 0, "queue": 1, "delay_ms": 1}], "'p'.*netns_pid"),
    ([{"key": "q", "netns_pid": 1, "queue": 65536, "delay_ms": 1}], "'q'.*queue"),
    ([{"netns_pid": 1, "queue": 1}], "key"),
    ("nope", "queues"),
])
def test_validate_spec_rejects(queues: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        validate_spec({"queues": queues})


# ------------------------------------------------------------------ scheduler
def test_fifo_and_release_times() -> None:
    sched, line, log = Scheduler(), Line("k", 10.0), []
    pkts = [FakePacket(i, log) for i in range(5)]
    for i, p in enumerate(pkts):
        sched.offer(line, p, 100.0 + i * 0.001)
    assert sched.next_deadline() == pytest.approx(100.010)
    assert sched.release_due(100.0095) == 0
    assert sched.release_due(100.0125) == 3
    assert log == [0, 1, 2]
    assert sched.release_due(101.0) == 2
    assert log == [0, 1, 2, 3, 4] and line.passed == 5 and not line.held
    assert sched.next_deadline() is None


def test_zero_delay_accepts_at_once_but_keeps_order() -> None:
    sched, line, log = Scheduler(), Line("k", 0.0), []
    sched.offer(line, FakePacket(0, log), 1.0)
    assert log == [0] and sched.next_deadline() is None
    line.delay_s = 0.050
    sched.offer(line, FakePacket(1, log), 2.0)
    line.delay_s = 0.0  # held packet 1 must still leave before packet 2
    sched.offer(line, FakePacket(2, log), 2.001)
    assert log == [0]
    sched.release_due(2.001)
    assert log == [0]
    sched.release_due(2.050)
    assert log == [0, 1, 2]


def test_lowering_delay_never_reorders() -> None:
    sched, line, log = Scheduler(), Line("k", 100.0), []
    sched.offer(line, FakePacket(0, log), 0.0)
    line.delay_s = 0.001
    sched.offer(line, FakePacket(1, log), 0.010)  # would be due at 0.011 < 0.100
    sched.release_due(0.05)
    assert log == []
    sched.release_due(0.1)
    assert log == [0, 1]


def test_lines_are_independent() -> None:
    sched, log = Scheduler(), []
    slow, fast = Line("slow", 50.0), Line("fast", 5.0)
    sched.offer(slow, FakePacket(0, log), 0.0)
    sched.offer(fast, FakePacket(1, log), 0.0)
    sched.offer(fast, FakePacket(2, log), 0.001)
    sched.release_due(0.0065)
    assert log == [1, 2]
    sched.release_due(0.05)
    assert log == [1, 2, 0]


def test_down_drops_held_and_new_up_restores() -> None:
    sched, line, log = Scheduler(), Line("k", 10.0), []
    held = [FakePacket(i, log) for i in range(3)]
    for p in held:
        sched.offer(line, p, 0.0)
    Scheduler.set_down(line, True)
    assert [p.verdict for p in held] == ["drop"] * 3 and line.dropped == 3
    late = FakePacket(9, log)
    sched.offer(line, late, 0.001)
    assert late.verdict == "drop" and line.dropped == 4
    sched.release_due(1.0)  # the stale heap entry is harmless
    Scheduler.set_down(line, False)
    sched.offer(line, FakePacket(5, log), 2.0)
    sched.release_due(2.0101)
    assert log == [5] and line.passed == 1


def test_flush_accepts_everything() -> None:
    sched, log = Scheduler(), []
    a, b = Line("a", 10.0), Line("b", 1000.0)
    for i in range(3):
        sched.offer(a, FakePacket(i, log), 0.0)
        sched.offer(b, FakePacket(10 + i, log), 0.0)
    sched.flush([a, b])
    assert log == [0, 1, 2, 10, 11, 12]
    assert sched.next_deadline() is None and a.passed == 3 and b.passed == 3


# ------------------------------------------------------------------ control handling
@pytest.fixture
def shaper() -> Iterator[Shaper]:
    sh = Shaper()
    line = Line("k", 4.0)
    sh.queues["k"] = _Bound(QueueSpec("k", 1, 3, 4.0), line, None,
                            SimpleNamespace(overruns=0), -1, (0, 0))  # type: ignore[arg-type]
    try:
        yield sh
    finally:
        sh.queues.clear()  # the fake queue has nothing to unbind
        sh.close()


def test_handle_ops(shaper: Shaper) -> None:
    assert shaper.handle({"op": "ping"}) == {"ok": True}
    assert shaper.handle({"op": "set", "key": "k", "delay_ms": 12.5}) == {"ok": True}
    st = shaper.handle({"op": "stats"})
    assert st["ok"] and st["queues"]["k"]["delay_ms"] == pytest.approx(12.5)
    assert set(st["queues"]["k"]) >= {"delay_ms", "passed", "dropped", "held"}
    assert shaper.handle({"op": "down", "key": "k"}) == {"ok": True}
    assert shaper.queues["k"].line.down
    assert shaper.handle({"op": "up", "key": "k"}) == {"ok": True}
    assert not shaper.queues["k"].line.down


def test_the_load_op_adds_delay_and_sheds_without_restarting_the_queue(shaper: Shaper) -> None:
    line = shaper.queues["k"].line
    assert shaper.handle({"op": "vary", "key": "k", "mean_ms": 2.0, "sd_ms": 1.0, "seed": 3})["ok"]
    process = line.vary
    assert shaper.handle({"op": "load", "key": "k", "ms": 3.0, "loss": 0.0, "seed": 3}) == {"ok": True}
    assert line.vary is process  # the queueing process runs on
    sched, log = Scheduler(), []
    line.vary = None
    sched.offer(line, FakePacket(0, log), 10.0)
    assert sched.next_deadline() == pytest.approx(10.0 + 0.004 + 0.003)
    assert shaper.handle({"op": "load", "key": "k", "ms": 0.0, "loss": 0.5, "seed": 3})["ok"]
    pkts = [FakePacket(i, log) for i in range(400)]
    for p in pkts:
        sched.offer(line, p, 10.0)
    st = shaper.handle({"op": "stats"})["queues"]["k"]
    assert 150 < st["shed"] < 250 and st["load_ms"] == 0.0
    assert sum(p.verdict == "drop" for p in pkts) == st["shed"]


@pytest.mark.parametrize("msg, match", [
    ({"op": "load", "key": "k", "ms": -1}, "ms: 0 to 1000"),
    ({"op": "load", "key": "k", "ms": 1, "loss": 1.5}, "loss: 0 to 1"),
    ({"op": "load", "key": "k", "ms": 1, "seed": "x"}, "seed"),
    ({"op": "set", "key": "nope", "delay_ms": 1}, "unknown key"),
    ({"op": "down"}, "unknown key"),
    ({"op": "set", "key": "k", "delay_ms": -3}, "negative"),
    ({"op": "set", "key": "k"}, "delay_ms"),
    ({"op": "frobnicate"}, "unknown op"),
    (["op", "ping"], "object"),
    ({"op": "add", "key": "k", "netns_pid": 1, "queue": 9, "delay_ms": 1}, "already bound"),
    ({"op": "add", "key": "new", "netns_pid": 4194305, "queue": 9, "delay_ms": 1},
     "'new'.*netns"),
])
def test_handle_errors(shaper: Shaper, msg: Any, match: str) -> None:
    reply = shaper.handle(msg)
    assert reply["ok"] is False and re.search(match, reply["error"]), reply


def test_client_connection_error(tmp_path: Path) -> None:
    with pytest.raises(ShaperError, match="cannot talk"):
        ShaperClient(str(tmp_path / "missing.sock"), timeout=1).ping()


