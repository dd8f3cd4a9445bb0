#!/usr/bin/env python3
"""Path fidelity: does every client's measured RTT to every target equal the
delay configured along the paths BIRD chose? Needs root.

Brings up a topology (world by default), runs the probe rounds of the
baseline scenario from every client to G, every P_k and every U_p, and for
each (client, target) walks the forward path (client host to the PoP that
answered) and the return path (that PoP's edge host back to the client, from
the service address: the CDN's routers route replies by source) through each
node's kernel FIB, hop by hop, summing the one-way latency of every
interface left. Reports the error distribution and the share within
max(0.2 ms, 1 %) (the link engine's target) and max(0.5 ms, 2 %), for
both probe engines: the baseline's scapy rounds and the timelines' stream
(kernel receive timestamps), each measured against the same paths.

    .venv/bin/python bench/path_fidelity.py [--topology world] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from anycastlab.lab.lab import Lab  # noqa: E402
from anycastlab.measure.rounds import run_probes  # noqa: E402
from anycastlab.measure.stream import Stream  # noqa: E402
from anycastlab.model.samples import read_samples  # noqa: E402
from anycastlab.model.addressing import client_host_name, edge_host_name  # noqa: E402
from anycastlab.model.settings import ProbeSettings  # noqa: E402
from anycastlab.model.topofile import load_topology  # noqa: E402

DEV = re.compile(r" dev (\S+)")
STREAM_S = 10.0  # seconds of the probe stream (every client, every target, every 0.1 s)


def walk(lab: Lab, start: str, dst: str, src: str | None = None, limit: int = 40) -> list[Any]:
    """Interfaces a packet from ``start`` to ``dst`` leaves through, read from
    each node's FIB; with ``src`` the lookup is made as the kernel makes it for
    a forwarded packet of that source (iif = where it came in)."""
    path: list[Any] = []
    node, iif = start, None
    for _ in range(limit):
        argv = ["ip", "-o", "route", "get", dst]
        if src:
            argv += ["from", src] + (["iif", iif] if iif else [])
        out = lab.run(node, argv)
        if out.startswith("local "):
            return path
        dev = DEV.search(out).group(1)  # type: ignore[union-attr]
        intf = next(i for i in lab.plan.nodes[node].interfaces if i.name == dev)
        path.append(intf)
        iif = lab.plan.interface(intf.peer_node, node).name
        node = intf.peer_node
    raise RuntimeError(f"no path from {start} to {dst} within {limit} hops")


def expected_rtt(lab: Lab, client: str, addr: str, pop: str) -> float:
    host = client_host_name(client)
    client_ip = lab.plan.nodes[host].interfaces[0].ip
    fwd = walk(lab, host, addr)
    ret = walk(lab, edge_host_name(pop), client_ip, src=addr)
    return sum(i.latency_ms for i in fwd) + sum(i.latency_ms for i in ret)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--topology", default=str(REPO / "topologies" / "world.yaml"))
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "path_fidelity.json"))
    args = ap.parse_args()
    topo = load_topology(args.topology)
    with tempfile.TemporaryDirectory() as tmp, Lab(topo, runs_dir=Path(tmp), dns_settings=None,
                                                        variability=False) as lab:  # the engine's own error
        targets = lab.plan.services.scheme_targets()
        rows, _ = run_probes(lab, ProbeSettings(), Path(tmp) / "samples.csv")
        stream = Stream(lab, Path(tmp) / "stream.csv", 0.1, 1.5, max_s=STREAM_S + 30)
        time.sleep(STREAM_S)
        stream.stop(1.5)
        stream_rows = read_samples(Path(tmp) / "stream.csv")
        t0 = time.monotonic()
        want: dict[tuple[str, str, str], float] = {}
        keys = sorted({(r["client"], r["scheme"], r["pop"]) for r in rows + stream_rows
                       if r["rtt_ms"] is not None and r["pop"]})
        with ThreadPoolExecutor(8) as pool:
            for k, v in zip(keys, pool.map(lambda k: expected_rtt(lab, k[0], targets[k[1]], k[2]), keys)):
                want[k] = v
        walk_s = time.monotonic() - t0
        engine = lab.record.data.get("link_engine") if lab.record else None
    result = {"rounds": compare(rows, want, "udp"), "stream": compare(stream_rows, want, "udp")}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for name, (summary, res) in result.items():
        summary.update({"engine": engine, "walk_s": round(walk_s, 1)})
        print(name, json.dumps(summary))
        for r in sorted(res, key=lambda r: -abs(r["err_ms"]))[:3]:
            print(f"  worst: {r['client']} -> {r['target']} ({r['pop']}): {r['median_ms']} ms measured, "
                  f"{r['expected_ms']} ms configured")
    out.write_text(json.dumps({k: {"summary": s, "pairs": r} for k, (s, r) in result.items()}, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


def compare(rows: list[dict[str, Any]], want: dict[tuple[str, str, str], float], proto: str
            ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Median measured RTT per (client, target, PoP) against the configured path sum."""
    per: dict[tuple[str, str, str], list[float]] = {}
    for r in rows:
        if r["proto"] == proto and r["rtt_ms"] is not None and r["pop"]:
            per.setdefault((r["client"], r["scheme"], r["pop"]), []).append(r["rtt_ms"])
    res = []
    for k, v in sorted(per.items()):
        got = statistics.median(v)
        res.append({"client": k[0], "target": k[1], "pop": k[2], "expected_ms": round(want[k], 3),
                    "median_ms": round(got, 3), "err_ms": round(got - want[k], 3)})
    errs = [abs(r["err_ms"]) for r in res]
    tight = [r for r in res if abs(r["err_ms"]) <= max(0.2, 0.01 * r["expected_ms"])]
    loose = [r for r in res if abs(r["err_ms"]) <= max(0.5, 0.02 * r["expected_ms"])]
    summary = {"pairs": len(res),
               "median_err_ms": round(statistics.median(r["err_ms"] for r in res), 3),
               "median_abs_err_ms": round(statistics.median(errs), 3),
               "p99_abs_err_ms": round(sorted(errs)[int(0.99 * (len(errs) - 1))], 3),
               "max_abs_err_ms": round(max(errs), 3),
               "within_0.2ms_1pct": len(tight), "within_0.5ms_2pct": len(loose)}
    return summary, res


if __name__ == "__main__":
    sys.exit(main())
