#!/usr/bin/env python3
"""Event fidelity: through a scenario's events, do the clients an event never
touches keep the RTT they had? Needs root.

Brings up the scenario's topology, walks every client's forward and return
path to every target through the kernel FIBs (as bench/path_fidelity.py
does), runs the scenario on that lab, then applies the scenario's cuts once
more and walks again after BGP has settled. A (client, target) is
*untouched* when neither walk crosses a cut link and both walks are equal.
For those it reports, per event:

- before the first event, the median RTT against the configured path sum
  (target: within max(0.2 ms, 1 %));
- after each event, every 1 s bin's median against the pre-event median
  (target: within max(1 ms, 5 %)), and whether the run's health record
  flagged the bins that missed (an unflagged miss is an emulator artifact
  shown as an internet result: the worst outcome).

It also reports "stable after" for the clients that moved. ``--busy N`` runs
N busy processes at normal priority beside the lab for the whole scenario (a
user's other work); they are ended by their PIDs.

    .venv/bin/python bench/event_fidelity.py [--scenario cable-cut] [--busy 2] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from path_fidelity import walk  # noqa: E402

from anycastlab.errors import LabError  # noqa: E402
from anycastlab.lab.lab import Lab  # noqa: E402
from anycastlab.measure.scenario import run_scenario  # noqa: E402
from anycastlab.model import events  # noqa: E402
from anycastlab.model.addressing import client_host_name, edge_host_name  # noqa: E402
from anycastlab.model.samples import read_samples  # noqa: E402
from anycastlab.model.scenario import load_scenario  # noqa: E402

Pair = tuple[str, str]  # (client, scheme)


def walk_all(lab: Lab) -> dict[Pair, dict[str, Any]]:
    """Every (client, scheme target): PoP reached, links crossed both ways, path sum."""
    targets = lab.plan.services.scheme_targets()
    clients = sorted(a.id for a in lab.topo.clients())

    def one(pair: Pair) -> dict[str, Any]:
        try:
            return reach(pair)
        except (LabError, RuntimeError, StopIteration):  # no route (yet): never "untouched"
            return {"pop": None, "links": [], "expected_ms": None}

    def reach(pair: Pair) -> dict[str, Any]:
        client, scheme = pair
        host = client_host_name(client)
        addr = targets[scheme]
        fwd = walk(lab, host, addr)
        edge = fwd[-1].peer_node
        pop = next(p for p in lab.topo.cdn.cities if edge_host_name(p) == edge)
        ret = walk(lab, edge, lab.plan.nodes[host].interfaces[0].ip, src=addr)
        links = sorted({"|".join(sorted((i.node, i.peer_node))) for i in fwd + ret})
        return {"pop": pop, "links": links, "hops": len(fwd) + len(ret),
                "expected_ms": sum(i.latency_ms for i in fwd) + sum(i.latency_ms for i in ret)}

    pairs = [(c, s) for c in clients for s in targets]
    with ThreadPoolExecutor(8) as pool:
        return dict(zip(pairs, pool.map(one, pairs)))


def settled_walk(lab: Lab, limit_s: float = 90.0) -> dict[Pair, dict[str, Any]]:
    """Walk until two walks in a row agree (BGP has settled), or give up at limit_s."""
    prev, t_end = walk_all(lab), time.monotonic() + limit_s
    while time.monotonic() < t_end:
        time.sleep(3)
        cur = walk_all(lab)
        if cur == prev:
            return cur
        prev = cur
    return prev


def bins_after(samples: list[tuple[float, float | None]], t_e: float, t_end: float) -> list[tuple[float, float | None, int]]:
    """(bin start, median RTT or None, lost) of each 1 s bin from t_e to t_end."""
    out = []
    t = t_e
    while t + 1.0 <= t_end + 1e-9:
        got = [r for (ts, r) in samples if t <= ts < t + 1.0]
        rtts = [r for r in got if r is not None]
        out.append((t, statistics.median(rtts) if rtts else None, len(got) - len(rtts)))
        t += 1.0
    return out


def at_rest(errs: list[tuple[float, float, int]]) -> dict[str, Any]:
    """Measured minus configured path sum, per pair, before the first event;
    the fit err = fixed + per_hop * links crossed (both ways) tells the cost
    at the ends (probe, responder) from the cost of each shaped hop."""
    a = sorted(abs(e) for e, _, _ in errs)
    fit = statistics.linear_regression([h for _, _, h in errs], [e for e, _, _ in errs])
    return {"pairs": len(errs), "within_0.2ms_1pct": sum(abs(e) <= max(0.2, 0.01 * x) for e, x, _ in errs),
            "median_err_ms": round(statistics.median(e for e, _, _ in errs), 3),
            "fit_fixed_ms": round(fit.intercept, 3), "fit_per_hop_ms": round(fit.slope, 4),
            "median_abs_err_ms": round(statistics.median(a), 3),
            "p99_abs_err_ms": round(a[int(0.99 * (len(a) - 1))], 3), "max_abs_err_ms": round(a[-1], 3)}


def analyse(out: Path, before: dict[Pair, dict[str, Any]], after: dict[Pair, dict[str, Any]],
            cut: set[str]) -> dict[str, Any]:
    data = json.loads((out / "report.json").read_text())
    tl = data["timeline"]
    t0 = tl["t0"]
    late = [(b["t_s"], b["t_s"] + 1.0) for b in (data.get("health") or {}).get("bins", []) if b["late"]]
    untouched = sorted(p for p in before if before[p]["pop"] and before[p] == after.get(p)
                       and not cut & set(before[p]["links"]))
    per: dict[Pair, list[tuple[float, float | None]]] = {}
    for r in read_samples(out / "samples.csv"):
        if r["proto"] == "udp":
            per.setdefault((r["client"], r["scheme"]), []).append((r["t"] - t0, r["rtt_ms"]))
    evs = tl["events"]
    first = evs[0]["t_s"] if evs else tl["end_s"]
    # at rest, before the first event: the link engine's own target
    rest = []
    for p, d in before.items():
        if d["expected_ms"] is None:
            continue
        v = [r for (t, r) in per.get(p, []) if 0 <= t < first and r is not None]
        if v:
            got = statistics.median(v)
            rest.append((got - d["expected_ms"], d["expected_ms"], d["hops"]))
    result: dict[str, Any] = {
        "pairs": len(before), "untouched_pairs": len(untouched),
        "health": {k: data["health"].get(k) for k in ("late_seconds", "seconds", "worst_p99_ms",
                                                        "worst_stall_ms", "kernel_drops")},
        "cpu": (data.get("cpu") or {}).get("core_share"),
        "at_rest": at_rest(rest), "events": []}
    for k, e in enumerate(evs):
        t_e = e["t_s"]
        t_next = evs[k + 1]["t_s"] if k + 1 < len(evs) else tl["end_s"]
        t_prev = evs[k - 1]["t_s"] if k else 0.0
        n_bins = off = unflagged = lost_bins = 0
        worst = 0.0
        for p in untouched:
            s = per.get(p, [])
            ref_v = [r for (t, r) in s if max(t_prev, t_e - 10) <= t < t_e and r is not None]
            if not ref_v:
                continue
            ref = statistics.median(ref_v)
            for (tb, med, lost) in bins_after(s, t_e, t_next):
                n_bins += 1
                bad = med is None or abs(med - ref) > max(1.0, 0.05 * ref) or lost > 0
                if med is not None:
                    worst = max(worst, abs(med - ref))
                lost_bins += lost > 0
                if bad:
                    off += 1
                    if not any(a < tb + 1.0 and tb < b for a, b in late):
                        unflagged += 1
        stable = {s: {k2: v for k2, v in sm.items() if k2 in ("stable_s", "not_stable", "pop_changed")}
                  for s, sm in e["summary"].items()}
        result["events"].append({"label": e["label"], "t_s": t_e, "bins": n_bins, "off": off,
                                 "off_unflagged": unflagged, "bins_with_loss": lost_bins,
                                 "worst_ms": round(worst, 3), "moved_clients": stable})
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default="cable-cut")
    ap.add_argument("--busy", type=int, default=0, help="busy processes at normal priority beside the lab")
    ap.add_argument("--out", default=None, help="JSON result (default bench/results/event_fidelity[-busyN].json)")
    ap.add_argument("--variability", action="store_true",
                    help="keep the topology's link variability on: then only the engine's health and "
                         "CPU mean anything (the bins of untouched pairs vary by design)")
    ap.add_argument("--load", action="store_true",
                    help="keep the load model on: its queues are modelled delay, not engine error, so "
                         "untouched pairs on loaded links then read as off (docs/topology.md)")
    args = ap.parse_args()
    scn = load_scenario(args.scenario, variability=args.variability, load=args.load)
    cuts = [ev for ph in scn.timeline for ev in ph.events if ev.kind == "cut"]
    if not cuts:
        print(f"{args.scenario} cuts no link: nothing to compare", file=sys.stderr)
        return 2
    cut_links = {"|".join(sorted(pair)) for ev in cuts for pair in ev.links}
    tag = ((f"-busy{args.busy}" if args.busy else "") + ("-variability" if args.variability else "")
           + ("-load" if args.load else ""))
    dest = Path(args.out or REPO / "bench" / "results" / f"event_fidelity{tag}.json")
    busy: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        with Lab(scn.topology, runs_dir=Path(tmp), links=scn.links, dns_settings=scn.dns,
                 seed=scn.seed, variability=scn.variability) as lab:
            print(f"walking every path at rest ({args.scenario} on {scn.topology.name})", flush=True)
            before = walk_all(lab)
            busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
            try:
                print(f"running {args.scenario}" + (f" beside {args.busy} busy processes" if busy else ""),
                      flush=True)
                run_scenario(scn, out, lab=lab)
            finally:
                for b in busy:
                    b.terminate()
                    b.wait()
            print("cutting again and walking every path once BGP has settled", flush=True)
            for ev in cuts:
                events.apply(lab, ev)
            after = settled_walk(lab)
        result = analyse(out, before, after, cut_links)
    result.update({"scenario": args.scenario, "busy_processes": args.busy, "variability": args.variability,
                   "load": args.load})
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "events"}))
    for e in result["events"]:
        print(f"  {e['label']}: {e['off']} of {e['bins']} bins of untouched pairs off "
              f"max(1 ms, 5 %) ({e['off_unflagged']} unflagged, {e['bins_with_loss']} with loss), "
              f"worst {e['worst_ms']} ms")
    print(f"wrote {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
