#!/usr/bin/env python3
"""Scale: bring-up of world, the 30-AS hierarchy (against IPMininet in the
same run when it is installed) and a generated ~1,000-router internet, with
the phases, the memory they take and tear-down; then simulation timings
(router-level on tiny, world and a generated topology; the AS-level model
at 10,000 and 75,000 ASes through bench/sim_bench.py).

Needs root for the bring-ups. Not a test: it never fails a build; it prints
a table and writes bench/results/scale.json.

    sudo .venv/bin/python bench/scale.py [--runs 3] [--quick] [--skip-1000]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from anycastlab.lab.lab import Lab  # noqa: E402
from anycastlab.model.topofile import load_topology  # noqa: E402
from shapes import topology_yaml  # noqa: E402

RESULTS = REPO / "bench" / "results"
TARGETS = {"world_s": 4.0, "hier30_vs_ipmininet": 0.25, "gen1000_s": 60.0, "gen1000_gib": 4.0,
           "as75k_s": 60.0}
IPMN = REPO / "bench" / ".ipmn" / "bin" / "python"   # IPMininet's own venv (bench/ipmininet_bench.py)


def pss_mib(pids: list[int]) -> float:
    """Proportional set size of these processes (shared pages split fairly)."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return round(total / 1024, 1)


def mem_available_mib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one_bring_up(path: Path, timeout: float) -> dict[str, Any]:
    """Build, converge, measure memory, tear down; phase times from the progress."""
    topo = load_topology(path)
    phases: dict[str, float] = {}
    t0 = time.monotonic()

    def progress(step: str, done: int, total: int) -> None:
        if done >= total:
            phases[step] = round(time.monotonic() - t0, 2)

    before = mem_available_mib()
    lab = Lab(topo, runs_dir=REPO / "runs" / "bench", variability=False, progress=progress,
              converge_timeout=timeout)
    row: dict[str, Any] = {"routers": len(lab.plan.routers()), "nodes": len(lab.plan.nodes),
                           "links": len(topo.links)}
    try:
        lab.start()
        row["up_s"] = round(time.monotonic() - t0, 2)
        assert lab.record is not None
        pids = [d.pid for d in lab.record.daemons()] + [s.pid for s in lab.record.shells()] + [os.getpid()]
        row["pss_mib"] = pss_mib(pids)
        row["mem_used_mib"] = round(before - mem_available_mib(), 1)
        row["bird_pss_mib"] = pss_mib([d.pid for d in lab.record.daemons() if d.name == "bird"])
    except Exception as e:  # noqa: BLE001 - a benchmark reports, it does not fail
        row["error"] = str(e).splitlines()[0][:200]
    finally:
        t1 = time.monotonic()
        lab.stop()
        row["teardown_s"] = round(time.monotonic() - t1, 2)
    row["phases_s"] = phases
    return row


def ipmininet(n: int, runs: int) -> Optional[dict[str, Any]]:
    """IPMininet on the same hierarchy (its own venv), or None when absent."""
    script = REPO / "bench" / "ipmininet_bench.py"
    if not IPMN.exists() or not script.exists():
        return None
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "ipmn.json"
        res = subprocess.run([str(IPMN), str(script), "--ases", str(n), "--runs", str(runs),
                              "--json", str(out)], cwd=REPO)
        return json.loads(out.read_text()) if res.returncode == 0 and out.exists() else None


def bring_ups(runs: int, skip_1000: bool, timeout: float) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="anycastlab-scale-"))
    hier30 = work / "hier30.yaml"
    hier30.write_text(topology_yaml(30))
    cases = {"world": REPO / "topologies" / "world.yaml", "hier30": hier30}
    if not skip_1000:
        gen = work / "gen1000.yaml"
        subprocess.run([sys.executable, "-m", "anycastlab.cli", "generate", "--routers", "1000",
                        "--seed", "1", "--out", str(gen)], cwd=REPO, check=True, capture_output=True)
        cases["gen1000"] = gen
    out: dict[str, Any] = {}
    for name, path in cases.items():
        reps = 1 if name == "gen1000" else runs
        rows = []
        for k in range(reps):
            if name == "hier30":   # alternate with IPMininet, run by run
                ip = ipmininet(30, 1)
                if ip:
                    out.setdefault("ipmininet30", []).append(ip["median_s"])
            rows.append(one_bring_up(path, timeout))
            r = rows[-1]
            print(f"  {name}: run {k + 1}/{reps}: " + (f"up and converged in {r['up_s']} s, "
                  f"{r['pss_mib']} MiB PSS" if "up_s" in r else f"failed: {r.get('error')}")
                  + f"; tear-down {r['teardown_s']} s", flush=True)
        ups = [r["up_s"] for r in rows if "up_s" in r]
        out[name] = {"rows": rows, "median_s": round(statistics.median(ups), 2) if ups else None}
    return out


def simulation(quick: bool) -> dict[str, Any]:
    """Router-level simulate (tiny, world, a generated 1,000-router and a
    6,000-AS file) and the AS-level model (bench/sim_bench.py)."""
    from anycastlab.sim.forward import simulate

    out: dict[str, Any] = {}
    work = Path(tempfile.mkdtemp(prefix="anycastlab-sim-"))
    files = {"tiny": REPO / "topologies" / "tiny.yaml", "world": REPO / "topologies" / "world.yaml"}
    for name, args in (("gen1000r", ["--routers", "1000"]), ("gen6000", ["--ases", "6000"])):
        if quick and name == "gen6000":
            continue
        f = work / f"{name}.yaml"
        subprocess.run([sys.executable, "-m", "anycastlab.cli", "generate", *args, "--seed", "1",
                        "--out", str(f)], cwd=REPO, check=True, capture_output=True)
        files[name] = f
    for name, f in files.items():
        t0 = time.perf_counter()
        topo = load_topology(f)
        t1 = time.perf_counter()
        sim = simulate(topo, "auto")
        t2 = time.perf_counter()
        out[name] = {"routers": len(topo.routers), "ases": len(topo.ases), "load_s": round(t1 - t0, 2),
                     "simulate_s": round(t2 - t1, 2), "returns": sim.returns}
        print(f"  simulate {name}: {len(topo.ases)} ASes, {len(topo.routers)} routers: load "
              f"{t1 - t0:.2f} s, simulate {t2 - t1:.2f} s (replies {sim.returns})", flush=True)
    import sim_bench

    sizes = ["10000"] if quick else ["10000", "75000"]
    out["as_level"] = sim_bench.main(["--sizes", *sizes, "--runs", "1" if quick else "3", "--no-ref"])
    return out


def report(r: dict[str, Any]) -> None:
    print("\n== anycastlab scale benchmark ==")
    print(f"{'bring-up (median)':28} {'routers':>8} {'up s':>7} {'target':>8} {'PSS MiB':>8} "
          f"{'mem MiB':>8} {'down s':>7}")
    for name, b in r["bring_up"].items():
        if not isinstance(b, dict) or "rows" not in b:
            continue
        row = b["rows"][-1]
        target = {"world": f"{TARGETS['world_s']} s", "gen1000": f"{TARGETS['gen1000_s']} s"}.get(name, "")
        print(f"{name:28} {row['routers']:>8} {str(b['median_s']):>7} {target:>8} "
              f"{row.get('pss_mib', '-'):>8} {row.get('mem_used_mib', '-'):>8} {row['teardown_s']:>7}")
        if "error" in row:
            print(f"{'':28} failed: {row['error']}")
    ip = r["bring_up"].get("ipmininet30")
    if ip:
        ratio = r["bring_up"]["hier30"]["median_s"] / statistics.median(ip)
        print(f"{'hier30 vs IPMininet':28} {'':>8} {ratio:>7.2f} {'<= 0.25':>8}   "
              f"(IPMininet median {statistics.median(ip):.2f} s, same run)")
    else:
        print(f"{'hier30 vs IPMininet':28} not measured: IPMininet is not installed "
              "(bench/ipmininet_bench.py says how)")
    s = r.get("simulation") or {}
    for name, v in s.items():
        if name != "as_level":
            print(f"simulate {name:19} {v['routers']:>8} routers, {v['ases']} ASes: "
                  f"{v['simulate_s']} s (+ {v['load_s']} s to load), replies {v['returns']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one run each, 10k only for the AS level")
    ap.add_argument("--skip-1000", action="store_true", help="skip the 1,000-router bring-up")
    ap.add_argument("--skip-sim", action="store_true")
    ap.add_argument("--timeout", type=float, default=600.0, help="convergence limit per bring-up, s")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench needs root: sudo .venv/bin/python bench/scale.py", file=sys.stderr)
        return 2
    result: dict[str, Any] = {"date": time.strftime("%Y-%m-%dT%H:%M:%S"), "targets": TARGETS,
                              "cores": os.cpu_count()}
    print("bring-up at scale", flush=True)
    result["bring_up"] = bring_ups(1 if args.quick else args.runs, args.skip_1000, args.timeout)
    if not args.skip_sim:
        print("simulation", flush=True)
        result["simulation"] = simulation(args.quick)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(result, indent=2) + "\n")
    report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
