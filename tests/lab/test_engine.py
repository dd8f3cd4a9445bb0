"""The link engine on a tiny lab: delays within max(0.2 ms, 1 %), an
unrelated path keeps its delay under a 20k packets/s load elsewhere, and a
stall of the engine is caught by its health record."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from labutil import fib_path, link_errors, ping_median

from anycastlab.analysis import health
from anycastlab.lab.links import HEALTH_FILE, native_engine
from anycastlab.model.addressing import client_host_name
from anycastlab.model.samples import read_health


def strict(expected_ms: float) -> float:
    """The engine's fidelity target at rest: max(0.2 ms, 1 %)."""
    return max(0.2, 0.01 * expected_ms)


def under_load(expected_ms: float) -> float:
    """Under 20k packets/s elsewhere: max(1.5 ms, 5 %). Measured on 2 cores: typically
    +0.25 ms per RTT with the native engine (the kernel forwards released packets
    inside the verdict calls, and arrivals wait meanwhile), up to +1.3 ms when the
    whole suite runs; +7 to +54 ms with the Python engine. A miss is accepted only
    if the health record flagged that time: the lab keeps time or says so."""
    return max(1.5, 0.05 * expected_ms)


def engine_pid(lab) -> int:
    return next(d.pid for d in lab.record.daemons() if d.name == "shaper")


def test_native_engine_runs_ahead_of_everything(lab):
    if lab.record.data["link_backend"] != "userspace":
        pytest.skip("the kernel applies the delays (netem)")
    if native_engine() is None:
        pytest.skip("the native engine is not built here ('make setup' builds it)")
    assert lab.record.data["link_engine"] == "native"
    assert lab.record.data["link_scheduling"].startswith("SCHED_FIFO")
    pid = engine_pid(lab)
    threads = [int(x) for x in os.listdir(f"/proc/{pid}/task")]
    assert threads and all(os.sched_getscheduler(tid) == os.SCHED_FIFO for tid in threads)


def test_every_link_within_a_fifth_of_a_millisecond(lab):
    # a link misses only if two medians of 9 pings in a row miss: one can meet a burst
    # of the lab's own start-up work (BGP, health checks)
    errors = link_errors(lab, strict, count=9, tries=2)
    assert not errors, errors


LOAD = """
import socket, sys, time
dst, rate, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
payload, sent, t0 = b"x" * 64, 0, time.monotonic()
while (el := time.monotonic() - t0) < secs:
    due = int(el * rate)
    while sent < due:
        s.sendto(payload, (dst, 9)); sent += 1
    time.sleep(0.001)
print(sent)
"""


def test_unrelated_path_keeps_its_delay_under_load(lab):
    if lab.record.data.get("link_engine") == "python":
        pytest.skip("the Python engine does not hold delays under load (docs/lab.md): +7 to +54 ms")
    src, dst = client_host_name("c1"), client_host_name("c2")
    dst_ip = lab.plan.nodes[dst].interfaces[0].ip
    loaded = {frozenset((i.node, i.peer_node)) for i in fib_path(lab, src, dst_ip)}
    quiet = [i for n in lab.plan.nodes.values() for i in n.interfaces
             if i.node < i.peer_node and frozenset((i.node, i.peer_node)) not in loaded]
    assert quiet, "tiny has a link off the loaded path"
    t_load = time.time()
    load = subprocess.Popen(["mnexec", "-a", str(lab.netns_pid(src)), sys.executable, "-c", LOAD,
                             dst_ip, "20000", "6"], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)  # the load is flowing (it runs for 6 s)
        errors = []
        for intf in quiet[:4]:
            expected = 2 * intf.latency_ms
            got = ping_median(lab, intf.node, intf.peer_ip, count=9)
            if abs(got - expected) > under_load(expected):
                errors.append(f"{intf.node}->{intf.peer_node}: {got:.3f} ms, expected {expected:.3f}")
    finally:
        sent = int(load.communicate(timeout=30)[0] or 0)
    assert sent >= 20000 * 6 * 0.9, f"the load generator offered only {sent} packets"
    if errors:
        h = health.summarize(read_health(lab.record.folder / HEALTH_FILE), t_load, time.time(),
                             engine="x", scheduling="x")
        assert h["late_seconds"], (errors, "and the health record flagged nothing", h["bins"])


def stall_once(lab) -> tuple[dict, list[dict]]:
    """Ping for 5 s, SIGSTOP the engine for 200 ms after 2.2 s; the health
    summary around the stall and the rows of the seconds before it."""
    intf = lab.plan.nodes[client_host_name("c1")].interfaces[0]
    pinger = subprocess.Popen(["mnexec", "-a", str(lab.netns_pid(intf.node)), "ping", "-n", "-q",
                               "-i", "0.01", "-w", "5", intf.peer_ip], stdout=subprocess.DEVNULL)
    t_ping = time.time()
    pid = engine_pid(lab)
    try:
        time.sleep(2.2)
        t_stall = time.time()
        os.kill(pid, signal.SIGSTOP)
        time.sleep(0.2)
    finally:
        os.kill(pid, signal.SIGCONT)
    pinger.wait(timeout=10)
    path = lab.record.folder / HEALTH_FILE
    deadline = time.monotonic() + 5
    while True:  # the engine writes the stalled second's row once that second is over
        h = health.summarize(read_health(path), t_stall - 2, t_stall + 2, engine="x", scheduling="x")
        if h["late_seconds"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    before = [r for r in read_health(path) if t_ping + 0.05 < r["t_s"] and r["t_s"] + 1.0 < t_stall]
    return h, before


def test_a_stall_of_the_engine_is_flagged(lab):
    if lab.record.data["link_backend"] != "userspace":
        pytest.skip("the kernel applies the delays (netem)")
    for attempt in range(2):  # a VM can pause us for a millisecond on its own: a real flag, once
        h, before = stall_once(lab)
        assert h["late_seconds"] >= 1, h["bins"]
        assert h["worst_stall_ms"] >= 150, h["bins"]  # held packets or not, the stall shows
        if before and not any(health.late(r) for r in before):
            break
    assert before and not any(health.late(r) for r in before), before  # only the stall is flagged
