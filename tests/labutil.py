"""Helpers for lab tests: measuring RTT with iputils ping, walking the FIB,
and proving that nothing of a run is left on the machine."""
from __future__ import annotations

import re
import statistics
import subprocess
import time
from typing import Any, Callable

from anycastlab.lab.record import RunRecord, pids_in_netns, same_process

TIME_RE = re.compile(r"time=([\d.]+) ms")


def tolerance(expected_ms: float) -> float:
    """The fidelity bound the project promises: max(0.5 ms, 2 %)."""
    return max(0.5, 0.02 * expected_ms)


def ping_median(lab, node: str, dst: str, count: int = 7, src: str | None = None) -> float:
    argv = ["ping", "-n", "-c", str(count), "-i", "0.05", "-W", "2"]
    if src:
        argv += ["-I", src]
    out = lab.run(node, argv + [dst], check=False)
    times = [float(t) for t in TIME_RE.findall(out)]
    assert times, f"no reply from {dst} in {node}:\n{out}"
    return statistics.median(times)


def link_errors(lab, bound, count: int = 7, tries: int = 1) -> list[str]:
    """Every link whose ping RTT misses 2 x its one-way latency by more than
    ``bound(expected)``; a link misses only if ``tries`` measurements in a row do."""
    errors = []
    for node in lab.plan.nodes.values():
        for intf in node.interfaces:
            if intf.node > intf.peer_node:
                continue
            expected = 2 * intf.latency_ms
            for _ in range(tries):
                got = ping_median(lab, intf.node, intf.peer_ip, count=count)
                if abs(got - expected) <= bound(expected):
                    break
            else:
                errors.append(f"{intf.node}->{intf.peer_node}: {got:.3f} ms, expected {expected:.3f}")
    return errors


def fib_path(lab, start: str, dst_ip: str, limit: int = 32) -> list:
    """Interfaces a packet leaves through from ``start`` to ``dst_ip``, read
    from each node's kernel FIB (which BIRD filled): the path BIRD chose."""
    path, node = [], start
    for _ in range(limit):
        out = lab.run(node, ["ip", "-o", "route", "get", dst_ip])
        if out.startswith("local "):
            return path
        dev = re.search(r" dev (\S+)", out).group(1)
        intf = next(i for i in lab.plan.nodes[node].interfaces if i.name == dev)
        path.append(intf)
        node = intf.peer_node
    raise AssertionError(f"no path from {start} to {dst_ip} within {limit} hops: {path}")


def expected_rtt(lab, src_node: str, src_ip: str, dst_node: str, dst_ip: str) -> float:
    fwd = fib_path(lab, src_node, dst_ip)
    rev = fib_path(lab, dst_node, src_ip)
    assert fwd[-1].peer_node == dst_node and rev[-1].peer_node == src_node
    return sum(i.latency_ms for i in fwd) + sum(i.latency_ms for i in rev)


def leftovers(rec: RunRecord) -> list[str]:
    """Everything of a run still alive on this machine (should be empty)."""
    rec = RunRecord.load(rec.folder)
    left = [f"{d.name} pid {d.pid}" for d in rec.daemons() if d.alive()]
    left += [f"{s.name} pid {s.pid}" for s in rec.shells() if s.alive()]
    inodes = {v["netns_inode"] for v in rec.data["nodes"].values() if v.get("netns_inode")}
    left += [f"pid {p} inside a lab namespace" for p in pids_in_netns(inodes)]
    names = {i["name"] for v in rec.data["nodes"].values() for i in v["interfaces"]}
    root_links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    left += [f"interface {n} in the root namespace" for n in names
             if re.search(rf"^\d+: {re.escape(n)}[@:]", root_links, re.M)]
    return left


def owner_alive(rec: RunRecord) -> bool:
    return same_process(rec.data["owner_pid"], rec.data.get("owner_starttime"))


def wait_for(cond: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
