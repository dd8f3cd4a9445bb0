#!/usr/bin/env python3
"""Soak: back-to-back scenario runs must leave nothing behind and grow nothing.

Runs a scenario (cable-cut by default) N times in a row, each as the user
would (``anycastlab scenario``, its own process), and after each run takes
a snapshot of the machine: processes, network namespaces, interfaces and
iptables rules of the root namespace, open files (system-wide) and
available memory. The first snapshot is taken before any run. Growth is
the last snapshot minus the first; a run that leaves something behind shows
as a step in the table. The verdict counts the lab's own processes (BIRD,
ExaBGP, PowerDNS, anycastlab's agents, node shells, by command line); the
machine's total moves with whatever else runs and is shown for reference. Not part of ``make test`` (ten cable-cut runs take
about 25 minutes on 2 cores). Needs root.

    .venv/bin/python bench/soak.py [--runs 10] [--scenario cable-cut] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
LAB_WORDS = ("bird", "exabgp", "pdns_server", "anycastlab", "mininet:")  # what a lab runs


def lab_process(pid: str) -> bool:
    """A process of a lab (a daemon, an agent, a node shell), by its command line."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return any(w in cmd for w in LAB_WORDS) and "bench/soak.py" not in cmd


def snapshot() -> dict[str, int]:
    """What a leaking lab would leave: counts on this machine right now."""
    pids = [p for p in os.listdir("/proc") if p.isdigit()]
    netns = set()
    for p in pids:
        try:
            netns.add(os.stat(f"/proc/{p}/ns/net").st_ino)
        except OSError:
            continue
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    files = int(Path("/proc/sys/fs/file-nr").read_text().split()[0])
    mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemAvailable:"))
    return {"processes": len(pids), "lab_processes": sum(1 for p in pids if lab_process(p)),
            "netns": len(netns), "root_interfaces": len(links.splitlines()),
            "root_iptables_rules": sum(1 for r in rules.splitlines() if r.startswith("-A")),
            "open_files": files, "mem_available_mib": mem // 1024}


def settle(before: dict[str, int], timeout: float = 20.0) -> dict[str, int]:
    """A snapshot once the process count stops falling (the last run's teardown
    may still be reaping), at most ``timeout`` seconds."""
    end, snap = time.monotonic() + timeout, snapshot()
    while time.monotonic() < end and snap["lab_processes"] > before["lab_processes"]:
        time.sleep(0.5)
        snap = snapshot()
    return snap


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--scenario", default="cable-cut")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "soak.json"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("soak needs root (it runs labs): sudo .venv/bin/python bench/soak.py", file=sys.stderr)
        return 2
    first = snapshot()
    rows: list[dict[str, Any]] = [{"run": 0, "seconds": 0.0, "rc": 0, **first}]
    print(f"{'run':>3} {'s':>6} {'rc':>3} " + " ".join(f"{k:>18}" for k in first), flush=True)
    print(f"{0:>3} {0:>6} {0:>3} " + " ".join(f"{v:>18}" for v in first.values()), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(1, args.runs + 1):
            t0 = time.monotonic()
            res = subprocess.run([sys.executable, "-m", "anycastlab.cli", "scenario", args.scenario,
                                  "--out", str(Path(tmp) / f"run{i}"), "--runs-dir", str(Path(tmp) / "runs")],
                                 cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            snap = settle(first)
            rows.append({"run": i, "seconds": round(time.monotonic() - t0, 1), "rc": res.returncode, **snap})
            print(f"{i:>3} {rows[-1]['seconds']:>6} {res.returncode:>3} "
                  + " ".join(f"{v:>18}" for v in snap.values()), flush=True)
            if res.returncode != 0:
                print(res.stderr[-2000:], file=sys.stderr)
    last = rows[-1]
    growth = {k: last[k] - first[k] for k in first}
    ok = (all(r["rc"] == 0 for r in rows) and growth["lab_processes"] <= 0 and growth["netns"] <= 0
          and growth["root_interfaces"] <= 0 and growth["root_iptables_rules"] <= 0
          and -growth["mem_available_mib"] <= 100)
    result = {"scenario": args.scenario, "runs": args.runs, "rows": rows, "growth": growth, "ok": ok}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"growth after {args.runs} runs: {growth}; {'ok' if ok else 'LEAK'}; written {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
