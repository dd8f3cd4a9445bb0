"""``anycastlab clean``: remove what dead runs left behind, from their records."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..errors import EnvironmentProblem
from .common import add_runs_dir, out


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``clean``."""
    sp = subparsers.add_parser("clean", help="remove what dead runs left behind, from their records")
    add_runs_dir(sp)
    sp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Clean every run whose owner is gone; root is only demanded once there is work to do."""
    from ..lab.record import broken_runs, clean_run, list_runs

    runs = list_runs(Path(args.runs_dir))
    acted = 0
    for rec in runs:
        status = rec.data.get("status")
        if status in ("cleaned", "stopped"):
            continue
        if rec.owner_alive():
            out.print(f"{rec.id}: still owned by a live process (pid {rec.data['owner_pid']}); left alone")
            continue
        if os.geteuid() != 0:
            raise EnvironmentProblem("'anycastlab clean' needs root to stop lab processes", fix="use sudo")
        done = clean_run(rec)
        acted += 1
        out.print(f"{rec.id}: cleaned" + ("".join(f"\n  {d}" for d in done) if done else " (nothing left)"))
    for folder, why in broken_runs(Path(args.runs_dir)):
        out.print(f"{folder.name}: left alone: {why}; without its record nothing says what that lab created "
                  "(its processes, if any, are not ours to guess)", markup=False)
    if not acted:
        out.print("nothing to clean")
    return 0
