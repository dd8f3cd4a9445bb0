"""``anycastlab simulate``: catchments, RTTs and the IPA result computed from
the topology by the route model (sim/), with no lab and no root; ``--out``
writes a report like a scenario's, marked simulated; ``--explain`` prints
the hop-by-hop walk of ``anycastlab explain``, computed."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from .common import err, load_topology_arg, out, print_phase_tables


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``simulate``."""
    sp = subparsers.add_parser("simulate", help="catchments, RTTs and IPA computed by the route model "
                               "(no lab, no root)")
    sp.add_argument("topology", nargs="?", help="a topology file or name (router-level model); or give "
                    "--relationships, --cities and --cdn for the AS-level model at internet scale")
    sp.add_argument("--relationships", help="AS relationships, CAIDA serial-2 (plain, .gz or .bz2)")
    sp.add_argument("--cities", help="AS-city CSV: asn,city,lat,lon,population_m")
    sp.add_argument("--cdn", help="the CDN spec (YAML): asn and pops with providers")
    sp.add_argument("--unicast", action="store_true",
                    help="AS-level model: the per-PoP unicast prefixes too")
    sp.add_argument("--out", help="write report.json, report.md, samples.csv (marked simulated) here")
    sp.add_argument("--explain", metavar="CLIENT", help="print why CLIENT lands where it does, hop by hop")
    sp.add_argument("--prefix", default="global",
                    help="with --explain: 'global', a provider id or 'unicast:<pop>' (default global)")
    sp.add_argument("--returns", choices=["exact", "symmetric", "auto"], default="auto",
                    help="reply paths: exact (one route propagation per client prefix), symmetric "
                         "(assume a reply retraces its request), auto (exact unless the topology is "
                         "large; default)")
    sp.add_argument("--json", action="store_true", help="print the catchments (or the walk) as JSON")
    sp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Simulate, then print the walk, the table, or write the report."""
    from ..model.settings import Steering
    from ..sim import explain, report
    from ..sim.forward import simulate

    internet = [args.relationships, args.cities, args.cdn]
    if any(internet) or not args.topology:
        return run_internet(args, internet)
    topo = load_topology_arg(args.topology)
    if args.explain:
        sim = simulate(topo, returns="symmetric", clients=[])
        target = explain.target_name(sim, args.prefix)
        hops = explain.walk(sim, args.explain, target)
        if args.json:
            print(json.dumps({"client": args.explain, "target": target, "simulated": True, "hops": hops},
                             indent=2))
        else:
            print_walk(topo, explain.client_router(sim.net, args.explain), target, hops)
        return 0
    sim = simulate(topo, returns=args.returns)
    if args.out:
        data, paths = report.write_report(sim, Path(args.out))
        print_phase_tables(data, lambda phase: f"simulated {topo.name}: RTT in ms (route model, no lab)")
        out.print(f"report (simulated, not measured): {escape(str(paths['md']))}")
        notes(sim)
        return 0
    rows = report.table_rows(sim, report.client_entries(sim, report.sample_rows(sim), Steering()))
    if args.json:
        print(json.dumps({"topology": topo.name, "simulated": True, "returns": sim.returns,
                          "clients": rows, "timings_s": sim.timings}, indent=2))
        return 0
    print_table(topo.name, list(sim.net.plan.services.provider_prefixes), rows)
    notes(sim)
    return 0


def cell(v: tuple) -> str:  # type: ignore[type-arg]
    pop, rtt = v
    return "[red]unreachable[/red]" if pop is None else f"{pop} {rtt:.1f}" if rtt is not None else f"{pop} ?"


def print_table(name: str, providers: list[str], rows: list[dict]) -> None:  # type: ignore[type-arg]
    table = Table(title=f"simulated catchment on {name}: PoP and RTT ms (route model, not measured)")
    for col in ("client", "nearest PoP", "G", *[f"P_{k}" for k in providers], "IPA shares", "IPA ms"):
        table.add_column(col)
    for r in rows:
        shares = " ".join(f"{k} {v:.0%}" for k, v in sorted(r["shares"].items(), key=lambda x: -x[1]))
        mark = "*" if r["symmetric"] else ""
        table.add_row(r["client"] + mark, r["nearest_pop"], cell(r["global"]),
                      *[cell(r["providers"][k]) for k in providers], shares or "–",
                      f"{r['ipa_rtt_ms']:.1f}" if r["ipa_rtt_ms"] is not None else "–")
    out.print(table)


def notes(sim) -> None:  # type: ignore[no-untyped-def]
    """Which RTTs assumed symmetric replies, the ECMP ties, the timings."""
    t = sim.timings
    if sim.returns == "symmetric":
        err.print("* every RTT here assumes the reply retraces its request (--returns symmetric; "
                  "exact needs one route propagation per client prefix)")
    ties = sorted({x for per in sim.outcomes.values() for o in per.values()
                   for x in o.request.ties + (o.reply.ties if o.reply else [])})
    for x in ties[:10]:
        err.print(f"ECMP tie (the kernel hashes each flow; the model took the first): {escape(x)}")
    err.print(f"{len(sim.net.routers)} routers, {len(sim.outcomes)} clients, {len(sim.targets)} service "
              f"prefixes; {t['total_s']:.2f} s (service prefixes {t['service_prefixes_s']:.2f} s, "
              f"client prefixes {t['client_prefixes_s']:.2f} s, walks {t['walks_s']:.2f} s)")


def print_walk(topo, router: str, target: str, hops: list[dict]) -> None:  # type: ignore[no-untyped-def,type-arg]
    """The walk in the shape of ``anycastlab explain``'s, computed."""
    out.print(f"[bold]why {router} reaches {target} where it does[/bold] (simulated: route model, no lab)")
    for i, h in enumerate(hops, 1):
        out.print(f"\n[bold]{i}. {h['router']}[/bold]  AS{h['asn']} {h['as_name']}, {h['city']}")
        if not h["candidates"]:
            out.print("   [red]no route[/red]")
        for c in h["candidates"]:
            star = "[green]*[/green]" if c["best"] else " "
            path = " ".join(map(str, c["as_path"])) or "(originated here)"
            igp = f", IGP cost {c['igp_cost']}" if c["igp_cost"] is not None else ""
            why = "best" if c["best"] else f"loses on {c['lost_on']}"
            out.print(f"  {star} via {c['via']:<9} {c['session']:<7} AS path {path:<24} "
                      f"local-pref {c['local_pref']} ({c['learned_from']}){igp}  → {why}")
        if h["next_router"]:
            out.print(f"    packets go on to {h['next_router']}")
        if h["pop"]:
            out.print(f"\n[bold green]→ answered by PoP {h['pop']}[/bold green] "
                      f"({topo.cities[h['pop']].name})")


def run_internet(args: argparse.Namespace, files: list) -> int:
    """The AS-level model (sim/internet.py) on three files, e.g. CAIDA's."""
    from ..errors import InputError
    from ..sim.internet import run_simulate
    from .sweep import RichProgress

    if args.topology or not all(files):
        raise InputError("give either a TOPOLOGY, or all three of --relationships, --cities and --cdn",
                         key="simulate",
                         fix="e.g. 'anycastlab simulate world', or 'anycastlab simulate --relationships "
                             "rel.txt --cities cities.csv --cdn cdn.yaml' (docs/simulation.md)")
    if args.explain or args.json:
        raise InputError("--explain and --json work on a topology, not on the AS-level model",
                         key="--explain", fix="drop the option, or give a topology file")
    run_simulate(*files, out=args.out, unicast=args.unicast, console=out, progress=RichProgress(err))
    return 0
