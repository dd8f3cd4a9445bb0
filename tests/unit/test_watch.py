"""DaemonWatch on real processes (sleeps standing in for daemons; no root):
a death is reported once within a second, named; a daemon stopped on
purpose and the runner's own agents are not faults."""
from __future__ import annotations

import subprocess
import time

from anycastlab.lab.record import ProcEntry, RunRecord
from anycastlab.lab.watch import DaemonWatch


def test_a_dead_daemon_is_reported_once_within_a_second(tmp_path):
    procs = {name: subprocess.Popen(["sleep", "60"]) for name in ("bird", "responder", "stream", "pdns")}
    rec = RunRecord(tmp_path, {"daemons": [ProcEntry.of(n, p.pid, f"node-{n}").__dict__ for n, p in procs.items()]})
    seen = []
    expected = {procs["pdns"].pid}  # stopped on purpose (a DNS outage)
    try:
        with DaemonWatch(rec, expected, seen.append, period=0.05) as watch:
            t0 = time.monotonic()
            for n in ("bird", "stream", "pdns"):
                procs[n].kill()
                procs[n].wait()
            while not seen and time.monotonic() - t0 < 5:
                time.sleep(0.01)
            delay = time.monotonic() - t0
            time.sleep(0.2)
        assert delay < 1.0
        assert [(f["name"], f["node"], f["pid"]) for f in watch.faults] == [
            ("bird", "node-bird", procs["bird"].pid)]
        assert seen == watch.faults and watch.faults[0]["t"] > 0
    finally:
        for p in procs.values():
            p.kill()
            p.wait()
