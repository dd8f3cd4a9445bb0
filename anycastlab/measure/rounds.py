"""The probe engine: every client probes every service prefix, in parallel.

Each client runs ``anycastlab.agents.probe_rounds`` (scapy) inside its own namespace;
at most ``concurrency`` clients probe at once. Every probe becomes one row
of ``samples.csv`` in the run folder, lost ones included.
"""
from __future__ import annotations

import csv
import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Optional

from ..errors import LabError
from ..model.addressing import client_host_name
from ..model.samples import FIELDS
from ..model.settings import ProbeSettings


def targets(plan: Any) -> list[dict[str, str]]:
    """G, every P_k and every U_p with their service addresses."""
    return [{"name": n, "addr": a} for n, a in plan.services.scheme_targets().items()]


def probe_client(lab: Any, client: str, tgts: list[dict[str, str]], s: ProbeSettings) -> list[dict]:
    spec = {"client": client, "targets": tgts, "count": s.count, "interval": s.interval_s,
            "timeout": s.timeout_s, "udp": s.udp, "icmp": s.icmp}
    host = client_host_name(client)
    limit = 60 + s.count * (s.interval_s + s.timeout_s) * 2
    try:
        res = subprocess.run(["mnexec", "-a", str(lab.netns_pid(host)), sys.executable, "-m",
                              "anycastlab.agents.probe_rounds"], input=json.dumps(spec), capture_output=True,
                             text=True, timeout=limit)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError(f"the prober in {host} could not run: {exc}") from None
    if res.returncode != 0:
        raise LabError(f"the prober in {host} failed: {res.stderr.strip()[-400:]}")
    try:
        return [json.loads(line) for line in res.stdout.splitlines() if line.strip()]
    except ValueError:
        raise LabError(f"the prober in {host} printed something that is not JSON: "
                       f"{res.stdout[-200:]!r}") from None


def run_probes(lab: Any, settings: ProbeSettings, out: Path,
               progress: Optional[Callable[[str, int, int], None]] = None,
               clients: Optional[list[str]] = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Probe from every client; write ``out`` (CSV); return the rows and stats."""
    tgts = targets(lab.plan)
    names = clients or [a.id for a in lab.topo.clients()]
    rows: list[dict[str, Any]] = []
    lock = threading.Lock()
    done = 0
    total_probes = len(names) * len(tgts) * settings.count * (settings.udp + settings.icmp)
    if progress:
        progress("probing clients", 0, len(names))
    t0 = time.monotonic()

    def one(c: str) -> None:
        nonlocal done
        got = probe_client(lab, c, tgts, settings)
        with lock:
            rows.extend(got)
            done += 1
            if progress:
                progress("probing clients", done, len(names))

    with ThreadPoolExecutor(max(1, settings.concurrency)) as pool:
        for f in [pool.submit(one, c) for c in names]:
            f.result()
    elapsed = time.monotonic() - t0
    rows.sort(key=lambda r: (r["client"], r["t"]))
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        for r in rows:
            w.writerow({**r, "rtt_ms": "" if r["rtt_ms"] is None else r["rtt_ms"],
                        "lost": int(r["rtt_ms"] is None), "pop": r["pop"] or ""})
    stats = {"probes": len(rows), "expected": total_probes, "seconds": round(elapsed, 2),
             "lost": sum(1 for r in rows if r["rtt_ms"] is None),
             "probes_per_s": round(len(rows) / elapsed, 1) if elapsed else None}
    return rows, stats
