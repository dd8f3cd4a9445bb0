"""``anycastlab scenario``: run a scenario end to end (lab up, probe, analyse,
write the report) and print its tables (root)."""
from __future__ import annotations

import argparse
from pathlib import Path

from rich.markup import escape

from .common import (
    RichProgress,
    add_live,
    add_runs_dir,
    add_variability,
    check_port_free,
    err,
    out,
    print_events,
    print_phase_tables,
    sigterm_as_interrupt,
    start_live,
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``scenario``."""
    sp = subparsers.add_parser("scenario", help="run a scenario: lab up, probe, analyse, report (root)")
    sp.add_argument("scenario", help="a file, or a name in scenarios/ (e.g. baseline)")
    sp.add_argument("--out", help="report folder (default: results/<name>-<timestamp>/)")
    sp.add_argument("--topology", help="run the scenario on another topology (name or path)")
    sp.add_argument("--steering", choices=["dns", "model"],
                    help="dns: PowerDNS answers steer the clients; model: IPA from the share "
                         "model, no DNS (default: the scenario's steering.mode, dns)")
    sp.add_argument("--ttl", type=int, help="TTL of the steering names in seconds "
                                            "(default: the scenario's dns.ttl_s, 10)")
    add_variability(sp)
    sp.add_argument("--no-load", dest="load", action="store_false", default=None,
                    help="no load model: the links carry no modelled traffic (docs/topology.md)")
    add_live(sp)
    add_runs_dir(sp)
    sp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load and check the scenario before asking for root, then run it and summarise."""
    from ..analysis.health import headline
    from ..lab.nodes import require_root
    from ..measure.scenario import default_out, run_scenario
    from ..report.write import fault_lines, load_line, variability_line
    from ..model.scenario import load_scenario

    scn = load_scenario(args.scenario, args.topology, steering=args.steering, ttl=args.ttl,
                        seed=args.seed, variability=args.variability, load=args.load)
    if args.live is not None:
        check_port_free(args.live)
    require_root("'anycastlab scenario'")
    sigterm_as_interrupt()
    outdir = Path(args.out) if args.out else default_out(scn)
    err.print(f"scenario [bold]{scn.name}[/bold] on {scn.topology.name} → {escape(str(outdir))}")
    with RichProgress(err) as progress:
        data, paths = run_scenario(scn, outdir, runs_dir=Path(args.runs_dir), progress=progress,
                                   on_up=(lambda lab: start_live(lab, args.live)) if args.live is not None
                                   else None,
                                   on_fault=lambda f: err.print(
                                       f"daemon died: {f['name']} on {f['node'] or 'the root namespace'} "
                                       f"(pid {f['pid']}); the run goes on and the report says so",
                                       style="bold red", markup=False))
    print_phase_tables(data, lambda phase: f"{scn.name} on {scn.topology.name}: {phase['name']} "
                                           f"({len(phase['clients'])} client networks; RTT in ms)")
    if data.get("timeline"):
        print_events(data)
    st = data["probe_stats"]
    out.print(f"{st['probes']} probes ({st['lost']} lost) in {st['seconds']} s; "
              f"{data['timing']['total_s']} s end to end")
    d = data["dns"]
    if d["mode"] == "dns":
        r = d["resolutions"]
        dist = (r.get("distance") or {}).get("median")
        out.print(f"DNS steering (TTL {d['settings']['ttl_s']} s, {d['settings'].get('server', 'unicast')}): "
                  f"{r['queries']} resolutions, {r['failed']} failed; median reply {r['reply_ms']['median']} ms"
                  + ("" if dist is None else f"; answered vs intended shares: median distance {dist:.3f}"),
                  markup=False)
    else:
        out.print("IPA from the share model (no DNS)")
    out.print(variability_line(data), markup=False)
    out.print(load_line(data), markup=False)
    for line in fault_lines(data):
        if line:
            out.print(line.replace("**", ""), style="bold red", markup=False)
    h = data.get("health")
    out.print(headline(h), style="bold red" if h and h.get("late_seconds") else None, markup=False)
    out.print(f"report: {paths['md']}  (also {paths['html'].name}, report.json, samples.csv, plots)",
              markup=False)
    return 0
