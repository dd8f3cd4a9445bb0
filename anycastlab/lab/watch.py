"""Daemon faults, noticed within a second.

A BIRD, ExaBGP, PowerDNS, responder or the link engine that dies in the
middle of a run would otherwise show up only as strange results: routes
withdrawn for no reason, a PoP answering nothing, every packet dropped.
``DaemonWatch`` looks at every daemon the run record lists four times a
second (PID and kernel start time, so a recycled PID is not mistaken for
the daemon; a zombie counts as dead). A daemon the lab stopped on purpose
(a scenario's PoP or DNS outage: ``Lab.stop_daemon``) is not a fault. Each
fault is reported once, through a callback, with the wall-clock time: the
runner prints it at once, and report.json, report.md and the CLI summary
carry it (docs/lab.md, "Daemon faults"). The run goes on, with the fact
recorded: the results after it describe a lab that lost a daemon.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

from .record import ProcEntry, RunRecord

PERIOD_S = 0.25
WATCHED = {"bird", "exabgp", "pdns", "responder", "shaper"}  # the lab's daemons; the runner's own
# agents (the probe stream) end when their work does, and the runner sees that itself


class DaemonWatch:
    """A thread that reports each recorded daemon's death once."""

    def __init__(self, record: RunRecord, expected: set[int],
                 on_fault: Callable[[dict[str, Any]], None] = lambda f: None, period: float = PERIOD_S) -> None:
        self.record, self.expected, self.on_fault, self.period = record, expected, on_fault, period
        self.faults: list[dict[str, Any]] = []
        self._seen: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="daemon-watch", daemon=True)

    def start(self) -> "DaemonWatch":
        self._thread.start()
        return self

    def __enter__(self) -> "DaemonWatch":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        self.check()  # a death in the last quarter second still counts

    def check(self) -> list[dict[str, Any]]:
        """One look at every recorded daemon; returns the new faults."""
        new = []
        for d in [ProcEntry(**x) for x in list(self.record.data.get("daemons", []))]:
            if d.name not in WATCHED or d.pid in self._seen or d.pid in self.expected:
                continue
            if not d.alive():
                self._seen.add(d.pid)
                fault = {"t": round(time.time(), 3), "name": d.name, "node": d.node, "pid": d.pid}
                self.faults.append(fault)
                new.append(fault)
                self.on_fault(fault)
        return new

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self.check()
