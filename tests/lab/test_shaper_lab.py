"""Tests for anycastlab.agents.shaper.

The engine as a process: its command line, bind failures, and a real delay
between two namespaces (root).
"""
from __future__ import annotations

import json
import os
import re
import signal
import statistics
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from anycastlab.errors import ShaperError  # noqa: E402
from anycastlab.lab.links import ShaperClient, iptables_rule_args  # noqa: E402
from labutil import wait_for  # noqa: E402


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
