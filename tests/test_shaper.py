"""Tests for anycastlab.agents.shaper.

Pure parts (spec validation, iptables argv, scheduler, control handling, the
CLI with no queues) run without root.  The `lab` test builds two namespaces
and needs root; it is skipped otherwise.
"""
from __future__ import annotations

import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Iterator

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from anycastlab.agents.shaper import (  # noqa: E402
    Line, QueueSpec, Scheduler, Shaper, _Bound, validate_spec,
)
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


def wait_for(cond: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


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


@pytest.mark.parametrize("msg, match", [
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


# ------------------------------------------------------------------ CLI + client
def _start(tmp_path: Path, spec: dict, capture: bool = True
           ) -> tuple[subprocess.Popen, Path, Path]:
    """Run the shaper CLI; capture=False logs to tmp_path/shaper.log (no pipe to fill)."""
    spec_path, ctl, ready = tmp_path / "spec.json", tmp_path / "ctl.sock", tmp_path / "ready"
    spec_path.write_text(json.dumps(spec))
    out: Any = subprocess.PIPE
    if not capture:
        out = open(tmp_path / "shaper.log", "w")
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "anycastlab.agents.shaper", "--spec", str(spec_path),
             "--control", str(ctl), "--ready", str(ready)],
            cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)),
            stdout=out, stderr=subprocess.STDOUT if not capture else subprocess.PIPE, text=True)
    finally:
        if not capture:
            out.close()
    return proc, ctl, ready


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=10)


def test_cli_control_socket_without_queues(tmp_path: Path) -> None:
    proc, ctl, ready = _start(tmp_path, {"queues": []})
    try:
        wait_for(lambda: ready.exists() or proc.poll() is not None, what="ready file")
        assert proc.poll() is None, proc.communicate()
        assert int(ready.read_text()) == proc.pid
        client = ShaperClient(str(ctl))
        client.ping()
        assert client.stats() == {}
        with pytest.raises(ShaperError, match="unknown key 'x'"):
            client.set_delay("x", 5)
        with pytest.raises(ShaperError, match="'z'"):
            client.add("z", 4194305, 1, 5.0)
        with pytest.raises(ShaperError, match="bad JSON"):
            import socket
            with socket.socket(socket.AF_UNIX) as s:  # raw garbage gets an error reply
                s.connect(str(ctl))
                s.sendall(b"{not json\n")
                reply = json.loads(s.makefile().readline())
                raise ShaperError(reply["error"])
        client.ping()  # still alive after all that
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert not ctl.exists() and not ready.exists()
    finally:
        _stop(proc)


def test_cli_bind_failure_names_key(tmp_path: Path) -> None:
    spec = {"queues": [{"key": "ghost-link", "netns_pid": 4194305, "queue": 1, "delay_ms": 1}]}
    proc, _, ready = _start(tmp_path, spec)
    try:
        _, err = proc.communicate(timeout=20)
        assert proc.returncode != 0 and not ready.exists()
        assert len(err.strip().splitlines()) == 1 and "ghost-link" in err
    finally:
        _stop(proc)


def test_cli_bad_spec(tmp_path: Path) -> None:
    proc, _, _ = _start(tmp_path, {"queues": [{"key": "dup", "netns_pid": 5, "queue": 1},
                                              {"key": "dup", "netns_pid": 6, "queue": 1}]})
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 2 and "dup" in err


def test_client_connection_error(tmp_path: Path) -> None:
    with pytest.raises(ShaperError, match="cannot talk"):
        ShaperClient(str(tmp_path / "missing.sock"), timeout=1).ping()


# ------------------------------------------------------------------ lab (root)
def _run(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=30).stdout


@pytest.fixture
def netpair(tmp_path: Path) -> Iterator[SimpleNamespace]:
    """Namespaces a <-> b over a veth with NFQUEUE rules on both egresses; a shaper
    serving a's queue (5 ms).  Always torn down, also when the test fails."""
    tag = f"acl-test-{os.getpid()}"
    ns_a, ns_b = f"{tag}-a", f"{tag}-b"
    made: list[str] = []
    procs: list[subprocess.Popen] = []
    try:
        for ns in (ns_a, ns_b):
            _run("ip", "netns", "add", ns)
            made.append(ns)
        # created directly inside the namespaces: never visible in the root netns
        _run("ip", "link", "add", "acl-t-a", "netns", ns_a, "type", "veth",
             "peer", "name", "acl-t-b", "netns", ns_b)
        pids = {}
        for ns, dev, ip in ((ns_a, "acl-t-a", "10.99.1.1"), (ns_b, "acl-t-b", "10.99.1.2")):
            _run("ip", "-n", ns, "addr", "add", f"{ip}/30", "dev", dev)
            _run("ip", "-n", ns, "link", "set", dev, "up")
            _run("ip", "netns", "exec", ns, *iptables_rule_args(dev, 5))
            holder = subprocess.Popen(["ip", "netns", "exec", ns, "sleep", "1000000"])
            procs.append(holder)
            want = os.stat(f"/run/netns/{ns}").st_ino
            wait_for(lambda: os.stat(f"/proc/{holder.pid}/ns/net").st_ino == want,
                     what=f"holder in {ns}")
            pids[ns] = holder.pid
        # only a's queue at start: the test binds b's with the "add" op
        spec = {"queues": [{"key": "a", "netns_pid": pids[ns_a], "queue": 5, "delay_ms": 5}]}
        shaper, ctl, ready = _start(tmp_path, spec, capture=False)
        procs.append(shaper)
        wait_for(lambda: ready.exists() or shaper.poll() is not None, what="shaper ready")
        assert shaper.poll() is None, (tmp_path / "shaper.log").read_text()
        yield SimpleNamespace(ns_a=ns_a, dst="10.99.1.2", client=ShaperClient(str(ctl)),
                              shaper=shaper, pid_b=pids[ns_b])
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], check=False)


def _ping(ns: str, dst: str, count: int, wait_s: float = 2) -> list[float]:
    out = subprocess.run(["ip", "netns", "exec", ns, "ping", "-n", "-c", str(count), "-i", "0.05",
                          "-W", str(wait_s), dst], capture_output=True, text=True, timeout=60)
    return [float(x) for x in re.findall(r"time=([\d.]+) ms", out.stdout)]


def _assert_rtt(rtts: list[float], want: float) -> None:
    assert len(rtts) >= 8, rtts
    tol = max(0.5, 0.02 * want)
    assert abs(statistics.median(rtts) - want) <= tol, (want, rtts)


@pytest.mark.lab
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces")
def test_lab_delay_set_down_up(netpair: SimpleNamespace) -> None:
    ns, dst, client = netpair.ns_a, netpair.dst, netpair.client
    client.add("b", netpair.pid_b, 5, 5.0)
    with pytest.raises(ShaperError, match="same netns and queue"):
        client.add("b2", netpair.pid_b, 5, 1.0)
    _assert_rtt(_ping(ns, dst, 10), 10.0)
    client.set_delay("a", 15)
    _assert_rtt(_ping(ns, dst, 10), 20.0)
    client.set_down("a", True)
    dropped = client.stats()["a"]["dropped"]
    assert _ping(ns, dst, 3, wait_s=1) == []
    assert client.stats()["a"]["dropped"] >= dropped + 3
    client.set_down("a", False)
    wait_for(lambda: _ping(ns, dst, 1, wait_s=1), what="link back up")
    _assert_rtt(_ping(ns, dst, 10), 20.0)
    st = client.stats(kernel=True)
    assert st["a"]["kernel"]["queue_dropped"] == 0 and st["b"]["held"] == 0
    netpair.shaper.send_signal(signal.SIGTERM)
    assert netpair.shaper.wait(10) == 0
