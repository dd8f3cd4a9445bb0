"""``anycastlab report``: re-analyse a run folder from its samples, optionally
with other steering parameters or plotted clients (no lab, no root)."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputError
from rich.markup import escape

from .common import out, print_events, print_phase_tables


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``report``."""
    sp = subparsers.add_parser("report", help="re-analyse a run folder from its samples (no lab, no root)")
    sp.add_argument("run", help="a folder written by 'anycastlab scenario'")
    sp.add_argument("--cap", type=float, help="IPA: share of the top provider (default: as run)")
    sp.add_argument("--floor", type=float, help="IPA: share every other provider keeps (default 0)")
    sp.add_argument("--threshold", type=float,
                    help="IPA: wins a provider needs for a share besides the top (default 0.1; "
                         "the older share model: --floor 0.02 --threshold 0)")
    sp.add_argument("--bias", type=float, help="IPA: exponent on wins for the others' split")
    sp.add_argument("--window", type=float, help="timelines: steering window in seconds")
    sp.add_argument("--headroom", type=float,
                    help="IPA: highest utilisation a share may push a CDN port to (default 0.8, 0 off); "
                         "applied at rest on the paths the run recorded; timelines need a live lab")
    sp.add_argument("--clients", help="clients drawn in the time plots, comma-separated")
    sp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Rewrite the run's report and print its summary tables."""
    from ..report.reanalyse import merged_steering, plotted_clients, reanalyse

    folder = Path(args.run)
    if not (folder / "samples.csv").is_file():
        raise InputError("no samples.csv in that folder", file=folder,
                         fix="give a folder written by 'anycastlab scenario'")
    steering = merged_steering(folder, args.cap, args.floor, args.bias, args.window, args.threshold,
                               args.headroom)
    clients = plotted_clients(folder, args.clients)
    data, paths = reanalyse(folder, steering, clients)
    print_phase_tables(data, lambda phase: f"{data['scenario']} on {data['topology']}: {phase['name']} "
                                           "(re-analysed; RTT in ms)")
    if data.get("timeline"):
        print_events(data)
    if args.headroom is not None and (data.get("timeline") or not (data.get("load") or {}).get("paths")):
        out.print("note: --headroom changed nothing: " + (
            "a timeline's paths move with its events and only the live lab knows them (its steering log "
            "keeps the shares it published)" if data.get("timeline") else
            "this run recorded no paths (run without the load model, or before paths were recorded)"))
    out.print(f"report rewritten: {escape(str(paths['md']))}")
    return 0


