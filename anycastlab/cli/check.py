"""``anycastlab check``: validate a topology or a scenario file, no lab needed."""
from __future__ import annotations

import argparse
import json

from rich.table import Table

from rich.markup import escape

from .common import load_topology_arg, out


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``check``."""
    sp = subparsers.add_parser("check", help="validate a topology (counts, link latencies) or a scenario file")
    sp.add_argument("topology", help="a file, or a name in topologies/ (e.g. tiny)")
    sp.add_argument("--json", action="store_true", help="machine-readable output")
    sp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check whichever kind of file the argument names."""
    from ..model.scenario import is_scenario_file

    if is_scenario_file(args.topology):
        return check_scenario(args)
    return check_topology(args)


def check_scenario(args: argparse.Namespace) -> int:
    """Print a scenario's phases and events (or them as JSON)."""
    from ..model.scenario import load_scenario

    scn = load_scenario(args.topology)
    if args.json:
        print(json.dumps({"scenario": scn.name, "file": str(scn.path), "topology": scn.topology.name,
                          "duration_s": scn.duration_s,
                          "load": None if scn.load is None else {"ipa_fraction": scn.load.ipa_fraction},
                          "phases": [{"name": p.name, "duration_s": p.duration_s,
                                      "events": [{"at_s": e.at_s, "label": e.label} for e in p.events]}
                                     for p in scn.timeline]}, indent=2))
        return 0
    out.print(f"[bold]{scn.name}[/bold] ({escape(str(scn.path))}): valid scenario on {scn.topology.name}")
    out.print("  load: " + ("none (load: false)" if scn.load is None else
                            f"the CDN's demand on the links, {scn.load.ipa_fraction:.0%} of it under IPA, "
                            f"steering cap {scn.steering.cap:g}, floor {scn.steering.floor:g}"))
    if scn.timeline:
        offset = 0.0
        for p in scn.timeline:
            evs = "; ".join(f"+{e.at_s:g} s {e.label}" for e in p.events) or "no events"
            out.print(f"  {offset:>6g} s  {p.name} ({p.duration_s:g} s): {evs}")
            offset += p.duration_s
        out.print(f"  {scn.duration_s:g} s of timeline, probes every {scn.probes.interval_s:g} s, "
                  f"steering window {scn.steering.window_s:g} s")
    return 0


def check_topology(args: argparse.Namespace) -> int:
    """Print a topology's counts, latency model and per-link latencies (or them as JSON)."""
    from ..model.addressing import plan_addresses
    from ..model.topology import demand_table, latency_table

    topo = load_topology_arg(args.topology)
    plan = plan_addresses(topo)
    roles = {r: sum(1 for a in topo.ases.values() if a.role == r) for r in ("cdn", "transit", "client")}
    counts = {"cities": len(topo.cities), "ases": len(topo.ases), **{f"{k}_ases": v for k, v in roles.items()},
              "routers": len(topo.routers), "hosts": len(plan.hosts()), "links": len(topo.links),
              "pops": len(topo.cdn.cities), "cdn_providers": len(topo.providers_of(topo.cdn.id))}
    rows, demands = latency_table(topo), demand_table(topo)
    if args.json:
        print(json.dumps({"topology": topo.name, "file": str(topo.path), "counts": counts,
                          "settings": topo.settings.model_dump(), "links": rows, "demands": demands,
                          "services": plan.services.__dict__}, indent=2))
        return 0
    out.print(f"[bold]{topo.name}[/bold] ({escape(str(topo.path))}): valid")
    out.print("  " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items()))
    s = topo.settings
    out.print(f"  latency model: great-circle km × {s.path_inflation} / 200 km/ms + {s.per_hop_ms} ms "
              f"per inter-city link; {s.intra_city_ms} ms within a city; {s.lan_ms} ms LAN")
    varied = any(r["queue_mean_ms"] or r["loss"] for r in rows)
    out.print("  variability: " + ("queueing delay (log-normal, mean-reverting) and loss per link "
                                    "direction, see the table" if varied else "none (no queueing delay "
                                    "or loss: add settings.variability, docs/topology.md)"))
    ld = s.load
    out.print(f"  demand: {sum(d['demand_gbps'] for d in demands):g} Gbit/s over {len(demands)} client "
              f"networks ({ld.gbps_per_million:g} Gbit/s per million people where no demand_gbps is set); "
              f"queueing under load: M/M/1/K, {ld.burst_kb:g} kB bursts, {ld.buffer_ms:g} ms buffers")
    dt = Table(title="client demand (Gbit/s at the busy hour)")
    for col in ("client", "city", "population (M)", "Gbit/s", "from"):
        dt.add_column(col, justify="left" if col in ("client", "city", "from") else "right")
    for d in demands:
        pop = d["population_m"]
        dt.add_row(d["client"], d["city"], f"{pop:g}" if pop else "-", f"{d['demand_gbps']:g}", d["source"])
    out.print(dt)
    table = Table(title="links (one-way latency and capacity, each direction)")
    cols = ["a", "b", "kind", "class", "km", "one-way ms", "Gbit/s"] + (["queue mean/sd ms", "tau ms", "loss"]
                                                              if varied else [])
    for col in cols:
        table.add_column(col, justify="left" if col in ("a", "b", "kind", "class") else "right")
    for r in rows:
        cells = [r["a"], r["b"], r["kind"], r["class"], f"{r['km']:.0f}",
                 f"{r['one_way_ms']:.3f}" + (" (set)" if r["override"] else ""), f"{r['capacity_gbps']:g}"]
        if varied:
            on = r["queue_mean_ms"] > 0
            cells += [f"{r['queue_mean_ms']:g}/{r['queue_sd_ms']:g}" if on else "-",
                      f"{r['queue_tau_ms']:g}" if on else "-", f"{r['loss']:g}" if r["loss"] else "-"]
        table.add_row(*cells)
    out.print(table)
    return 0
