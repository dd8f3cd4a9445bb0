"""The simulated RTTs through the lab's own analysis and report.

Each client x target becomes a few identical rows shaped like
``samples.csv`` (model/samples.py; UDP with the PoP, ICMP without, as the
probe rounds write them), and those rows go through exactly what a lab run
uses: analysis/baseline.py ``analyse`` (WAN, IPA shares by the share model
(there is no DNS), all-in, oracle, optimal, floor, the summaries over
requests) and report/write.py. Only the numbers' origin differs, and the
report says so: top-level ``"simulated": true``, ``link_backend
"simulated"``, a line in report.md's opening, and a ``simulated`` column in
samples.csv (which ``read_samples`` ignores, so ``anycastlab report DIR``
re-analyses a simulated run like a measured one).
"""
from __future__ import annotations

import csv
import shutil
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

from ..analysis.baseline import analyse, analyse_client, floor_rtt
from ..model.samples import FIELDS
from ..model.settings import Steering
from ..report import write as report_write
from ..report.schema import SCHEMA_VERSION
from .forward import Simulation

ROWS = 5   # identical rows per client x target: enough for every median and the WAN pool
SCHEMES = ["global", "ipa", "oracle", "optimal", "floor"]


def sample_rows(sim: Simulation, rows: int = ROWS) -> list[dict[str, Any]]:
    """The rows a lab's probe rounds would have written if every probe saw
    the propagation delay alone: per client, round and target, UDP (with the
    PoP) and ICMP (without). An unreachable target gives lost rows."""
    sv = sim.net.plan.services
    addr = sv.scheme_targets()
    out = []
    for c, per in sim.outcomes.items():
        for i in range(rows):
            for t in sim.targets:
                o = per[t]
                lost = o.rtt_ms is None
                for proto in ("udp", "icmp"):
                    out.append({"t": float(i), "client": c, "target": addr[t], "scheme": t, "proto": proto,
                                "rtt_ms": None if lost else round(o.rtt_ms, 3),  # type: ignore[arg-type]
                                "lost": 1 if lost else 0,
                                "pop": o.pop if proto == "udp" and not lost else None})
    return out


def phase(sim: Simulation, rows: list[dict[str, Any]], steering: Steering) -> dict[str, Any]:
    """The one phase at rest, as the lab's analysis computes it from these rows."""
    providers = list(sim.net.plan.services.provider_prefixes)
    return {"name": "baseline", "simulated": True, **analyse(sim.net.topo, providers, rows, steering)}


def client_entries(sim: Simulation, rows: list[dict[str, Any]], steering: Steering
                   ) -> dict[str, dict[str, Any]]:
    """Each client's analysis entry alone (``analyse_client``, the function
    ``analyse`` calls per client): for the terminal table, also on topologies
    too large for the report's address plan."""
    topo = sim.net.topo
    per: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        per.setdefault(r["client"], []).append(r)
    providers = list(sim.net.plan.services.provider_prefixes)
    return {c: analyse_client(per.get(c, []), providers, list(topo.cdn.cities),
                              floor_rtt(topo, topo.ases[c].cities[0]), steering)
            for c in sim.outcomes}


def write_samples(path: Path, rows: list[dict[str, Any]]) -> None:
    """samples.csv with one more column, ``simulated`` = 1 on every row."""
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS + ["simulated"])
        w.writeheader()
        for r in rows:
            w.writerow({**{k: ("" if r.get(k) is None else r[k]) for k in FIELDS}, "simulated": 1})


def report_data(sim: Simulation, ph: dict[str, Any], steering: Steering, seconds: float) -> dict[str, Any]:
    """report.json for a simulation: the report schema with the same keys for
    clients, PoPs and providers as a lab run's, marked simulated."""
    topo = sim.net.topo
    symmetric = sorted({c for c, per in sim.outcomes.items()
                        for o in per.values() if o.reply is not None and o.reply.symmetric})
    ties = sorted({t for per in sim.outcomes.values() for o in per.values()
                   for t in o.request.ties + (o.reply.ties if o.reply else [])})
    return {
        "schema_version": SCHEMA_VERSION, "simulated": True, "scenario": "simulation",
        "topology": topo.name, "description": f"{topo.description} (simulated: route model, no lab)",
        "topology_file": "topology.yaml", "topology_source": str(topo.path) if topo.path else None,
        "link_backend": "simulated", "schemes": SCHEMES, "lab_run": None,
        "created": datetime.now().isoformat(timespec="seconds"),
        "providers": list(sim.net.plan.services.provider_prefixes), "pops": list(topo.cdn.cities),
        "probes": {"count": ROWS}, "steering": asdict(steering),
        "probe_stats": {"simulated_rows": ROWS}, "phases": [ph], "dns": {"mode": "model"},
        "timing": {"total_s": round(seconds, 3), **{k: round(v, 4) for k, v in sim.timings.items()}},
        "health": {"measured": False, "engine": "route model", "late_seconds": 0},
        "variability": {"seed": None, "applied": False, "lines": 0}, "faults": [], "load": None,
        "simulation": {"returns": sim.returns, "symmetric_return_clients": symmetric,
                       "ecmp_ties": ties, "routers": len(sim.net.routers)},
    }


def write_report(sim: Simulation, out: Path, steering: Steering = Steering(),
                 rows: int = ROWS) -> tuple[dict[str, Any], dict[str, Path]]:
    """report.json, report.md (+ html, plots) and samples.csv into ``out``."""
    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    topo = sim.net.topo
    if topo.path is not None and Path(topo.path).exists():  # re-analysis reads the run's own copy
        shutil.copyfile(topo.path, out / "topology.yaml")
    samples = sample_rows(sim, rows)
    write_samples(out / "samples.csv", samples)
    ph = phase(sim, samples, steering)
    data = report_data(sim, ph, steering, sim.timings["total_s"] + time.perf_counter() - t0)
    paths = report_write.write(out, data, topo)
    paths["samples"] = out / "samples.csv"
    return data, paths


def table_rows(sim: Simulation, entries: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The terminal table: per client its nearest PoP, G's PoP and RTT, each
    P_k's, and the IPA shares."""
    topo = sim.net.topo
    out = []
    for c, per in sim.outcomes.items():
        city = topo.ases[c].cities[0]
        out.append({"client": c, "city": city, "nearest_pop": nearest_pop(topo, city),
                    "global": (per["global"].pop, per["global"].rtt_ms),
                    "providers": {t.split(":", 1)[1]: (o.pop, o.rtt_ms) for t, o in per.items()
                                  if t.startswith("provider:")},
                    "shares": entries[c]["ipa"]["shares"], "ipa_rtt_ms": entries[c]["ipa"]["rtt_ms"],
                    "symmetric": any(o.reply is not None and o.reply.symmetric for o in per.values())})
    return out


def nearest_pop(topo: Any, city: str) -> Optional[str]:
    """The geographically nearest PoP (great circle), as catchment's reference."""
    from ..model.topology import great_circle_km

    c = topo.cities[city]
    return min(topo.cdn.cities, key=lambda p: great_circle_km(c.lat, c.lon, topo.cities[p].lat,
                                                              topo.cities[p].lon))
