"""``anycastlab index``: write an index page linking every report in a folder."""
from __future__ import annotations

import argparse
from pathlib import Path

from rich.markup import escape

from .common import out


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``index``."""
    sp = subparsers.add_parser("index", help="write an index page linking every report in a folder")
    sp.add_argument("folder", help="e.g. results/scenarios (what 'make scenarios' fills)")
    sp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write index.html and index.md; the library raises if there is nothing to index."""
    from ..report.index import write_index

    path, skipped = write_index(Path(args.folder))
    out.print(f"index: {escape(str(path))}  (also index.md)")
    for name, why in skipped:
        out.print(f"  left out {name}: {why}", markup=False)
    return 0
