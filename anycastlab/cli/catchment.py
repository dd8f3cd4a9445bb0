"""``anycastlab catchment``: which PoP answers each client for G and each P_k
(root). Attaches to a running lab of the topology, or brings one up for the
measurement and tears it down again."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.table import Table

from .common import (
    RichProgress,
    add_links,
    add_runs_dir,
    add_variability,
    err,
    lab_for,
    load_topology_arg,
    out,
    sigterm_as_interrupt,
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``catchment``."""
    sp = subparsers.add_parser("catchment", help="which PoP answers each client for G and each P_k (root)")
    sp.add_argument("topology")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--unicast", action="store_true", help="also probe every PoP's unicast prefix")
    add_links(sp)
    add_variability(sp)
    sp.add_argument("--run", help="attach to this running lab (default: a running one of this topology)")
    add_runs_dir(sp)
    sp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Measure, then print one row per client (or JSON)."""
    from ..lab.lab import Lab
    from ..lab.nodes import require_root
    from ..measure import catchment

    topo = load_topology_arg(args.topology)
    require_root("'anycastlab catchment'")
    lab = lab_for(args, topo.name)
    owned = lab is None
    if owned:
        sigterm_as_interrupt()
        with RichProgress(err) as progress:
            lab = Lab(topo, runs_dir=Path(args.runs_dir), links=args.links, progress=progress,
                      seed=1 if args.seed is None else args.seed, variability=args.variability is not False)
            lab.start()
    else:
        err.print(f"attached to running lab {lab.record.id}")
    try:
        rows = catchment.measure(lab, include_unicast=args.unicast)
    finally:
        if owned:
            lab.stop()
    if args.json:
        print(json.dumps({"topology": topo.name, "run": lab.record.id, "clients": rows}, indent=2))
        return 0
    providers = list(lab.plan.services.provider_prefixes)
    ref_label = "lowest-RTT PoP" if args.unicast else "nearest PoP"
    table = Table(title=f"catchment on {topo.name}: the PoP whose responder answered")
    for col in ("client", "city", ref_label, "G", "G: AS path at client",
                *[f"P_{k}" for k in providers]):
        table.add_column(col)

    def cell(v: dict) -> str:
        if v["pop"] is None:
            return "[red]lost[/red]"
        return f"{v['pop']} {v['rtt_ms']:.0f}ms" if args.unicast else v["pop"]

    far = 0
    for r in rows:
        ref = catchment.reference_pop(r)
        g = r["schemes"]["global"]
        off = g["pop"] is not None and g["pop"] != ref
        far += off
        best = catchment.best_unicast(r)
        table.add_row(r["client"], r["city"], f"{ref} {best[1]:.0f}ms" if best else ref,
                      cell(g) + (" [yellow]≠[/yellow]" if off else ""),
                      " ".join(map(str, g["as_path"])),
                      *[cell(r["schemes"][k]) for k in providers])
    out.print(table)
    out.print(f"global anycast sends {far}/{len(rows)} clients to a PoP other than their "
              f"{ref_label} (≠)")
    return 0
