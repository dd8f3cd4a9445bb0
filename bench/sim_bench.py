#!/usr/bin/env python3
"""The internet-scale route model's speed: median of 3 for a 10k- and a
75k-AS synthetic internet (CAIDA-like: ~1.5 % transit, ~2 providers per
stub, ~4 peer links per AS, heavy-tailed degrees), 20 PoPs, 10 providers.

Times: generating the graph, writing and reading the three files, building
the arrays, each prefix (G, every P_k), their total (target: <= 60 s at
75k on 2 cores), two sweeps of 11 configurations serial vs on a 2-process
pool, and, at 10k, the plain-Python reference (sim/internet_ref.py) on G.
No root. Not a test: it never fails; it prints and writes
bench/results/sim.json.

    .venv/bin/python bench/sim_bench.py [--sizes 10000 75000] [--runs 3] [--no-ref]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from anycastlab.sim import internet, internet_ref, sweep  # noqa: E402
from anycastlab.sim.internet_build import build_graph, load_internet  # noqa: E402
from anycastlab.sim.internet_synth import synthetic, write_files  # noqa: E402

RESULTS = REPO / "bench" / "results"
TARGET_S = 60.0   # G and every P_k at 75k ASes on 2 cores


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    """Median seconds of ``runs`` calls, and the last result."""
    secs, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        secs.append(time.perf_counter() - t)
    return round(statistics.median(secs), 4), out


def bench_size(n: int, runs: int, ref: bool, workers: int) -> dict[str, Any]:
    """Every timing for one graph size."""
    res: dict[str, Any] = {"ases": n}
    res["generate_s"], (rels, pres, cdn) = timed(lambda: synthetic(n), runs)
    res["build_s"], g = timed(lambda: build_graph(rels, pres, cdn), runs)
    with tempfile.TemporaryDirectory() as d:
        paths = write_files(d, rels, pres, cdn)
        res["files_mb"] = round(sum(p.stat().st_size for p in paths) / 1e6, 1)
        res["load_files_s"], _ = timed(lambda: load_internet(*paths), runs)
    res["graph"] = g.summary()
    prefixes = internet.service_prefixes(g)
    per: dict[str, float] = {}
    for name, pairs in prefixes.items():
        per[name], _ = timed(lambda: internet.route(g, name, pairs), runs)
    res["prefix_s"] = per
    res["all_prefixes_s"], _ = timed(lambda: internet.simulate(g), runs)
    res["per_prefix_median_s"] = round(statistics.median(per.values()), 4)
    # two sweeps: dropping each provider leaves most P_k as they were (the route cache
    # serves them), random PoP subsets change every prefix
    sweeps = {"drop_each_provider": sweep.GenerateFile(drop_each_provider=True),
              "pop_subsets": sweep.GenerateFile(pop_subsets=sweep.SubsetFile(size=len(g.pops) // 2,
                                                                             count=11))}
    res["sweeps"] = {}
    for label, gen in sweeps.items():
        spec = sweep.Sweep(label, [sweep.Config("baseline")] + sweep.generated(g, gen))
        row: dict[str, Any] = {"configs": len(spec.configs)}
        for backend, w in (("serial", 1), ("pool", workers)):
            def go() -> Any:
                sweep.clear_cache()    # each run from cold, as a fresh process would
                return sweep.run_sweep(g, spec, workers=w, backend=backend)
            row[f"{backend}_s"], _ = timed(go, runs)
        res["sweeps"][label] = row
    if ref and n <= 20_000:
        res["reference_global_s"], _ = timed(lambda: internet_ref.route(g, prefixes["global"]), 1)
    return res


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 75_000])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-ref", dest="ref", action="store_false", help="skip the slow reference timing")
    ap.add_argument("--out", default=str(RESULTS / "sim.json"))
    a = ap.parse_args(argv)
    rows = [bench_size(n, a.runs, a.ref, a.workers) for n in a.sizes]
    print(f"{'ASes':>7} {'gen':>6} {'build':>6} {'load':>6} {'prefix':>7} {'G+P_k':>7} {'ref G':>7}"
          f"   (seconds, median of {a.runs}; prefix: median over G and the P_k)")
    for r in rows:
        print(f"{r['ases']:>7} {r['generate_s']:>6.2f} {r['build_s']:>6.2f} {r['load_files_s']:>6.2f} "
              f"{r['per_prefix_median_s']:>7.3f} {r['all_prefixes_s']:>7.3f} "
              f"{r.get('reference_global_s', float('nan')):>7.2f}")
    for r in rows:
        for label, sw in r["sweeps"].items():
            print(f"{r['ases']} ASes, sweep {label} ({sw['configs']} configurations): serial "
                  f"{sw['serial_s']:.2f} s, pool of {a.workers} {sw['pool_s']:.2f} s")
    for r in rows:
        per = ", ".join(f"{internet_label(k)} {v:.3f}" for k, v in r["prefix_s"].items())
        print(f"{r['ases']} ASes, each prefix: {per}")
        if r["ases"] >= 75_000:
            ok = r["all_prefixes_s"] <= TARGET_S
            print(f"G + every P_k at {r['ases']} ASes: {r['all_prefixes_s']:.2f} s "
                  f"({'within' if ok else 'OVER'} the {TARGET_S:.0f} s target)")
    doc = {"runs": a.runs, "workers": a.workers, "sizes": rows}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {a.out}")
    return doc


def internet_label(name: str) -> str:
    return "G" if name == "global" else name.replace("provider:", "P_")


if __name__ == "__main__":
    main()
