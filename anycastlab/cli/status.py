"""``anycastlab status``: list run folders and their state (no root)."""
from __future__ import annotations

import argparse
from pathlib import Path

from rich.table import Table

from .common import add_runs_dir, out


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``status``."""
    sp = subparsers.add_parser("status", help="list run folders and their state")
    add_runs_dir(sp)
    sp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """One row per run record: status, link backend, whether its owner still lives."""
    from ..lab.record import broken_runs, list_runs

    table = Table(title=f"runs in {args.runs_dir}")
    for col in ("run", "status", "backend", "owner"):
        table.add_column(col)
    for rec in list_runs(Path(args.runs_dir)):
        table.add_row(rec.id, str(rec.data.get("status")), str(rec.data.get("link_backend")),
                      "alive" if rec.owner_alive() else "gone")
    out.print(table)
    for folder, why in broken_runs(Path(args.runs_dir)):
        out.print(f"{folder.name}: unreadable record ({why}); 'anycastlab clean' leaves it alone", markup=False)
    return 0
