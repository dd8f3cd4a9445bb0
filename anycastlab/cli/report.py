"""``anycastlab report``: re-analyse a run folder from its samples, optionally
with other steering parameters or plotted clients (no lab, no root)."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Optional

from ..errors import InputError
from .common import out, print_events, print_phase_tables


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``report``."""
    sp = subparsers.add_parser("report", help="re-analyse a run folder from its samples (no lab, no root)")
    sp.add_argument("run", help="a folder written by 'anycastlab scenario'")
    sp.add_argument("--cap", type=float, help="IPA: share of the top provider (default: as run)")
    sp.add_argument("--floor", type=float, help="IPA: share every other provider keeps")
    sp.add_argument("--bias", type=float, help="IPA: exponent on wins for the others' split")
    sp.add_argument("--window", type=float, help="timelines: steering window in seconds")
    sp.add_argument("--clients", help="clients drawn in the time plots, comma-separated")
    sp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Rewrite the run's report and print its summary tables."""
    from ..report.reanalyse import reanalyse

    folder = Path(args.run)
    if not (folder / "samples.csv").is_file():
        raise InputError("no samples.csv in that folder", file=folder,
                         fix="give a folder written by 'anycastlab scenario'")
    steering = merged_steering(folder, args.cap, args.floor, args.bias, args.window)
    clients = plotted_clients(folder, args.clients)
    data, paths = reanalyse(folder, steering, clients)
    print_phase_tables(data, lambda phase: f"{data['scenario']} on {data['topology']}: {phase['name']} "
                                           "(re-analysed; RTT in ms)")
    if data.get("timeline"):
        print_events(data)
    out.print(f"report rewritten: {paths['md']}")
    return 0


def merged_steering(folder: Path, cap: Optional[float], floor: Optional[float],
                    bias: Optional[float], window_s: Optional[float]) -> Any:
    """The run's own steering with the given overrides applied and checked; None if none given."""
    from dataclasses import replace

    from ..model.settings import Steering

    if all(v is None for v in (cap, floor, bias, window_s)):
        return None
    from ..model.scenario import check_steering
    from ..report.schema import load_report

    base = Steering(**load_report(str(folder))["steering"])
    s = replace(base, **{k: v for k, v in (("cap", cap), ("floor", floor),
                                           ("bias", bias), ("window_s", window_s))
                         if v is not None})
    return check_steering(s.cap, s.floor, s.bias, s.window_s)


def plotted_clients(folder: Path, spec: Optional[str]) -> Optional[list[str]]:
    """The --clients list, each checked against the run's client networks; None if not given."""
    if spec is None:
        return None
    from ..report.schema import load_report

    known = set(load_report(str(folder))["phases"][0]["clients"])
    clients = [c for c in spec.split(",") if c]
    bad = [c for c in clients if c not in known]
    if bad:
        raise InputError(f"unknown client '{bad[0]}'", key="--clients",
                         fix=f"use client AS ids of this run: {', '.join(sorted(known))}")
    return clients
