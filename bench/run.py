#!/usr/bin/env python3
"""`make bench`: bring-up times, RTT fidelity and shaper throughput; then
bench/scale.py (bring-up at scale, simulation timings).

Benchmarks report medians and ratios against targets; they are not tests
and never fail a build. Needs root. Prints a table and writes
bench/results/foundation.json (plus shaper.json from shaper_bench.py).

    sudo .venv/bin/python bench/run.py [--runs 3] [--quick]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from anycastlab.lab.lab import Lab  # noqa: E402
from anycastlab.lab.links import kernel_has_netem  # noqa: E402
from anycastlab.model.topofile import load_topology  # noqa: E402

RESULTS = REPO / "bench" / "results"
TARGETS = {"world_up_s": 20.0, "shaper_pps": 50_000, "baseline_s": 90.0, "cable-cut_s": 120.0}
TIME_RE = re.compile(r"time=([\d.]+) ms")


def bound(expected: float) -> float:
    return max(0.5, 0.02 * expected)


def ping_pair(lab: Lab, intf: Any) -> dict[str, Any]:
    out = lab.run(intf.node, ["ping", "-n", "-c", "7", "-i", "0.05", "-W", "2", intf.peer_ip],
                  check=False)
    times = [float(t) for t in TIME_RE.findall(out)]
    expected = 2 * intf.latency_ms
    got = statistics.median(times) if times else float("nan")
    return {"a": intf.node, "b": intf.peer_node, "expected_ms": round(expected, 3),
            "median_ms": round(got, 3), "abs_err_ms": round(abs(got - expected), 3),
            "within_bound": bool(times) and abs(got - expected) <= bound(expected)}


def fidelity(lab: Lab) -> dict[str, Any]:
    """Ping every adjacent pair (8 at a time) and compare with 2 × one-way latency."""
    pairs = [i for n in lab.plan.nodes.values() for i in n.interfaces if i.node < i.peer_node]
    with ThreadPoolExecutor(8) as pool:
        rows = list(pool.map(lambda i: ping_pair(lab, i), pairs))
    errs = [r["abs_err_ms"] for r in rows]
    return {"pairs": len(rows), "median_abs_err_ms": round(statistics.median(errs), 3),
            "max_abs_err_ms": round(max(errs), 3),
            "within_bound": sum(r["within_bound"] for r in rows),
            "worst": sorted(rows, key=lambda r: -r["abs_err_ms"])[:5]}


def pop_convergence(lab: Lab) -> dict[str, Any]:
    """Withdraw G at each PoP in turn: seconds until every client it served
    answers from elsewhere, and after re-announcing, until all are back.
    Polled with probes from the clients (resolution: one poll, ~0.1-0.2 s)."""
    from anycastlab.measure import catchment

    g = lab.plan.services.address(lab.plan.services.global_prefix)
    base = {r["client"]: r["schemes"]["global"]["pop"] for r in catchment.measure(lab)}

    def pops(clients: list[str]) -> dict[str, Any]:
        with ThreadPoolExecutor(8) as pool:
            res = pool.map(lambda c: catchment.probe_from(lab, f"h-{c}", {"g": g}, timeout=0.5,
                                                          tries=1)["g"]["pop"], clients)
        return dict(zip(clients, res))

    def until(clients: list[str], ok: Any, limit: float = 30) -> float:
        t0 = time.monotonic()
        while not all(ok(c, p) for c, p in pops(clients).items()):
            if time.monotonic() - t0 > limit:
                return float("nan")
        return round(time.monotonic() - t0, 2)

    rows = []
    for pop in lab.topo.cdn.cities:
        clients = [c for c, p in base.items() if p == pop]
        if not clients:
            continue
        lab.speaker(pop).withdraw("global")
        away = until(clients, lambda c, p: p not in (None, pop))
        lab.speaker(pop).announce("global")
        back = until(clients, lambda c, p: p == base[c])
        rows.append({"pop": pop, "clients": len(clients), "withdraw_s": away, "announce_s": back})
        print(f"  G withdrawn at {pop}: {len(clients)} clients moved in {away} s; "
              f"re-announced: back in {back} s", flush=True)
    return {"per_pop": rows,
            "withdraw_median_s": round(statistics.median(r["withdraw_s"] for r in rows), 3),
            "withdraw_max_s": max(r["withdraw_s"] for r in rows),
            "announce_median_s": round(statistics.median(r["announce_s"] for r in rows), 3),
            "announce_max_s": max(r["announce_s"] for r in rows)}


def bring_up(name: str, runs: int, backend: str, measure: bool) -> dict[str, Any]:
    topo = load_topology(REPO / "topologies" / f"{name}.yaml")
    times, teardown, fid, conv = [], [], None, None
    for k in range(runs):
        lab = Lab(topo, runs_dir=REPO / "runs" / "bench", links=backend, variability=False)
        t0 = time.monotonic()
        try:
            lab.start()
            times.append(round(time.monotonic() - t0, 2))
            print(f"  {name} [{backend}] run {k + 1}/{runs}: up and converged in {times[-1]} s",
                  flush=True)
            if measure and k == runs - 1:
                fid = fidelity(lab)
                conv = pop_convergence(lab)
        finally:
            t1 = time.monotonic()
            lab.stop()
            teardown.append(round(time.monotonic() - t1, 2))
    return {"runs_s": times, "median_s": round(statistics.median(times), 2),
            "teardown_median_s": round(statistics.median(teardown), 2), "fidelity": fid,
            "pop_convergence": conv}


def scenario_run(name: str, runs: int) -> dict[str, Any]:
    """`anycastlab scenario NAME` end to end on world (a fresh process each time)."""
    times, pps = [], []
    for k in range(runs):
        out = REPO / "runs" / "bench" / f"{name}-{k}"
        t0 = time.monotonic()
        res = subprocess.run([sys.executable, "-m", "anycastlab.cli", "scenario", name,
                              "--out", str(out), "--runs-dir", str(REPO / "runs" / "bench")],
                             cwd=REPO, capture_output=True, text=True)
        if res.returncode != 0:
            print(res.stderr[-2000:], file=sys.stderr)
            raise SystemExit(f"{name} scenario failed")
        times.append(round(time.monotonic() - t0, 2))
        data = json.loads((out / "report.json").read_text())
        pps.append(data["probe_stats"]["probes_per_s"])
        print(f"  {name} on world run {k + 1}/{runs}: {times[-1]} s end to end, "
              f"{pps[-1]} probes/s", flush=True)
    res_: dict[str, Any] = {"runs_s": times, "median_s": round(statistics.median(times), 2),
                            "probes_per_s_median": statistics.median(pps),
                            "summary": data["phases"][0]["summary"],
                            "health": {k: v for k, v in (data.get("health") or {}).items() if k != "bins"},
                            "cpu": data.get("cpu")}
    if data.get("timeline"):  # the last run's event headlines
        res_["events"] = [{"label": e["label"], "t_s": e["t_s"], "bgp_settle_s": e["bgp"]["settle_s"],
                           "summary": e["summary"], "dns_summary": e.get("dns_summary")}
                          for e in data["timeline"]["events"]]
    return res_


def shaper(quick: bool) -> dict[str, Any] | None:
    out = RESULTS / "shaper.json"
    cmd = [sys.executable, str(REPO / "bench" / "shaper_bench.py"), "--out", str(out)]
    if quick:
        cmd.append("--quick")
    res = subprocess.run(cmd, cwd=REPO)
    if res.returncode != 0 or not out.exists():
        return None
    return json.loads(out.read_text())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="bring-ups per topology (median)")
    ap.add_argument("--quick", action="store_true", help="one run each, short shaper sweep")
    ap.add_argument("--skip-shaper", action="store_true")
    ap.add_argument("--skip-scenario", action="store_true")
    ap.add_argument("--skip-scale", action="store_true", help="skip bench/scale.py (bring-up at "
                    "scale, the 1,000-router lab, simulation timings)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench needs root: sudo make bench", file=sys.stderr)
        return 2
    runs = 1 if args.quick else args.runs
    backends = ["userspace"] + (["netem"] if kernel_has_netem() else [])
    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": {
            "cores": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version()},
        "targets": TARGETS, "netem_available": kernel_has_netem(), "bring_up": {}}
    for backend in backends:
        for name in ("tiny", "world"):
            print(f"bring-up: {name} with {backend} links", flush=True)
            result["bring_up"][f"{name}/{backend}"] = bring_up(name, runs, backend, measure=True)
    if not args.skip_scenario:
        for name in ("baseline", "cable-cut"):
            print(f"scenario {name} on world, end to end", flush=True)
            result[name] = scenario_run(name, runs)
    if not args.skip_shaper:
        print("shaper throughput (bench/shaper_bench.py)", flush=True)
        result["shaper"] = shaper(args.quick)
    print("path fidelity on world (bench/path_fidelity.py)", flush=True)
    result["path_fidelity"] = path_fidelity()
    if not args.skip_scenario:
        result["event_fidelity"] = {}
        for busy, vary in ((0, False), (2, False), (0, True)):
            print(f"event fidelity: cable-cut, {busy} busy processes beside"
                  f"{', links varying and loaded' if vary else ''} (bench/event_fidelity.py)", flush=True)
            result["event_fidelity"][f"busy{busy}" + ("-variability" if vary else "")] = \
                event_fidelity(busy, vary)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "foundation.json").write_text(json.dumps(result, indent=2) + "\n")
    report(result)
    if not args.skip_scale:  # its own table: bring-up at scale and simulation timings
        print("\nscale (bench/scale.py)", flush=True)
        subprocess.run([sys.executable, str(REPO / "bench" / "scale.py"),
                        *(["--quick"] if args.quick else ["--runs", str(runs)])], cwd=REPO)
    return 0


def path_fidelity() -> dict[str, Any] | None:
    out = RESULTS / "path_fidelity.json"
    res = subprocess.run([sys.executable, str(REPO / "bench" / "path_fidelity.py"), "--out", str(out)], cwd=REPO)
    if res.returncode != 0 or not out.exists():
        return None
    return {k: v["summary"] for k, v in json.loads(out.read_text()).items()}


def event_fidelity(busy: int, variability: bool = False) -> dict[str, Any] | None:
    out = RESULTS / f"event_fidelity-busy{busy}{'-variability' if variability else ''}.json"
    res = subprocess.run([sys.executable, str(REPO / "bench" / "event_fidelity.py"), "--busy", str(busy),
                          "--out", str(out), *(["--variability", "--load"] if variability else [])], cwd=REPO)
    if res.returncode != 0 or not out.exists():
        return None
    return json.loads(out.read_text())


def report(r: dict[str, Any]) -> None:
    print("\n== anycastlab foundation benchmark ==")
    print(f"{'what':44} {'value':>14} {'target':>10} {'ratio':>7}")
    for key, b in r["bring_up"].items():
        target = TARGETS["world_up_s"] if key.startswith("world") else None
        ratio = f"{b['median_s'] / target:.2f}" if target else ""
        print(f"{'up + converged, median, ' + key:44} {b['median_s']:>12} s "
              f"{(str(target) + ' s') if target else '':>10} {ratio:>7}")
        print(f"{'  teardown, median':44} {b['teardown_median_s']:>12} s")
        f = b["fidelity"]
        if f:
            print(f"{'  RTT fidelity: median |err| over ' + str(f['pairs']) + ' pairs':44} "
                  f"{f['median_abs_err_ms']:>11} ms")
            print(f"{'  RTT fidelity: max |err|':44} {f['max_abs_err_ms']:>11} ms")
            print(f"{'  pairs within max(0.5 ms, 2%)':44} {f['within_bound']:>9}/{f['pairs']}")
        c = b.get("pop_convergence")
        if c:
            print(f"{'  G withdrawn at a PoP: clients moved, median':44} {c['withdraw_median_s']:>12} s"
                  f"   (max {c['withdraw_max_s']} s)")
            print(f"{'  G re-announced: clients back, median':44} {c['announce_median_s']:>12} s"
                  f"   (max {c['announce_max_s']} s)")
    for name in ("baseline", "cable-cut"):
        b = r.get(name)
        if not b:
            continue
        t = TARGETS[f"{name}_s"]
        print(f"{name + ' scenario on world, end to end, median':44} {b['median_s']:>12} s "
              f"{str(t) + ' s':>10} {b['median_s'] / t:>7.2f}")
        print(f"{'  probes per second sustained, median':44} {b['probes_per_s_median']:>14}")
        h = b.get("health") or {}
        if h.get("measured"):
            print(f"{'  emulation health (last run)':44} {h['late_seconds']:>6} late of {h['seconds']} s; "
                  f"worst p99 {h['worst_p99_ms']} ms, worst stall {h.get('worst_stall_ms')} ms "
                  f"({h['engine']}, {h['scheduling']})")
        cpu = b.get("cpu") or {}
        for comp, share in (cpu.get("core_share") or {}).items():
            print(f"{'  CPU ' + comp[:38]:44} {share * 100:>12.1f} % of a core "
                  f"({cpu['seconds'][comp]} s in {cpu['wall_s']} s)")
        for e in b.get("events", []):
            for s in ("global", "ipa"):
                sm = e["summary"][s]
                print(f"{'  ' + e['label'][:26] + ' ' + s:44} loss window worst "
                      f"{sm['loss_window_s']['worst']} s, recovery median/worst "
                      f"{sm['stable_s']['median']}/{sm['stable_s']['worst']} s")
            d = e.get("dns_summary")
            if d and d["clients"]:  # the IPA chain for the clients whose zone entry moved
                w = d["recovered_s"]["worst_client"]
                print(f"{'  ' + e['label'][:26] + ' IPA via DNS':44} {d['clients']} zone moves; "
                      f"median window end {d['window_end_s']['median']} s, zone "
                      f"{d['zone_s']['median']} s, new answer {d['answer_s']['median']} s, "
                      f"IPA stable worst {d['recovered_s']['worst']} s ({w})")
    if not r["netem_available"]:
        print(f"{'netem backend':44} {'unavailable (no sch_netem)':>14}")
    s = r.get("shaper")
    if s:
        summ = s.get("summary", {})
        for engine in ("native", "python"):
            e = summ.get(engine)
            if e:
                pps = e["max_pps_below_1pct_loss_and_delay_ok"]
                print(f"{'link engine ' + engine + ': max packets/s, delay ok':44} {pps:>14} "
                      f"{TARGETS['shaper_pps']:>10} {pps / TARGETS['shaper_pps']:>7.2f}")
                print(f"{'  CPU per packet at that rate':44} {e['cpu_us_per_packet_at_max']!s:>11} us")
                print(f"{'  10 ms delay: median / max |RTT err|':44} {e['fidelity_10ms_median_abs_err_ms']:>8} / "
                      f"{e['fidelity_10ms_max_abs_err_ms']} ms")
        if summ.get("nfqueue_ceiling_pps"):
            print(f"{'NFQUEUE ceiling (accept-everything program)':44} {summ['nfqueue_ceiling_pps']:>14}")
            print(f"{'native engine / ceiling':44} {summ['native_share_of_ceiling']:>14}")
        if summ.get("native_vs_python_max_pps"):
            print(f"{'native / python max packets/s (same run)':44} {summ['native_vs_python_max_pps']:>14}")
    for probes, f in (r.get("path_fidelity") or {}).items():
        print(f"{'RTT vs configured path sum, world (' + probes + ')':44} median {f['median_err_ms']} ms, "
              f"p99 |err| {f['p99_abs_err_ms']} ms; {f['within_0.2ms_1pct']}/{f['pairs']} within "
              f"max(0.2 ms, 1 %), {f['within_0.5ms_2pct']}/{f['pairs']} within max(0.5 ms, 2 %)")
    for key, f in (r.get("event_fidelity") or {}).items():
        if not f:
            continue
        a, h = f["at_rest"], f["health"]
        what = f"cable-cut, {f['busy_processes']} busy beside" + (", links varying" if f.get("variability") else "") + (" and loaded" if f.get("load") else "")
        print(f"{what:44} {h['late_seconds']} late of {h['seconds']} s (worst p99 {h['worst_p99_ms']} ms, "
              f"stall {h['worst_stall_ms']} ms, {h['kernel_drops']} drops); engine "
              f"{f['cpu'].get('shaper')} core, stream {f['cpu'].get('stream')}")
        if f.get("variability"):
            continue  # RTTs vary by design: only health and CPU are the engine's
        print(f"{'  at rest':44} median {a['median_err_ms']} ms over the path sum ({a['fit_per_hop_ms']} ms "
              f"per hop), {a['within_0.2ms_1pct']}/{a['pairs']} within max(0.2 ms, 1 %)")
        for e in f["events"]:
            print(f"{'  untouched pairs after ' + e['label'][:22]:44} {e['off']}/{e['bins']} 1 s bins off "
                  f"max(1 ms, 5 %), {e['off_unflagged']} of them unflagged; worst {e['worst_ms']} ms")
    print(f"\nwritten: {RESULTS / 'foundation.json'}")


if __name__ == "__main__":
    sys.exit(main())
