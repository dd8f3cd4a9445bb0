"""``anycastlab demo [tiny|world]``: a narrated lesson in the terminal (root).

Brings a lab up, walks through the steps of ``measure/demo.py`` (each
printed with the commands a student can type, then Enter to go on; ``--auto``
runs without pauses) and tears the lab down at the end, on an error, or on
Ctrl-C at any step.
"""
from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from .common import RichProgress, add_runs_dir, err, load_topology_arg, out, sigterm_as_interrupt


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``demo``."""
    sp = subparsers.add_parser("demo", help="a narrated lesson on a live lab: anycast, BGP, IPA, "
                                            "DNS steering, a cable cut (root)")
    sp.add_argument("topology", nargs="?", default="tiny", help="tiny (default) or world")
    sp.add_argument("--auto", action="store_true", help="run every step without waiting for Enter")
    sp.add_argument("--out", help="report folder (default: results/demo-<topology>-<timestamp>/)")
    add_runs_dir(sp)
    sp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """The lesson, step by step; the lab is torn down whatever happens."""
    from ..lab.lab import Lab
    from ..lab.nodes import require_root
    from ..measure.demo import CABLES, Lesson
    from ..errors import InputError

    topo = load_topology_arg(args.topology)
    if topo.name not in CABLES:  # before root and before anything is built
        raise InputError(f"there is no demo for the topology '{topo.name}'", key="topology",
                         fix=f"use one of: {', '.join(CABLES)}")
    require_root("'anycastlab demo'")
    folder = Path(args.out or f"results/demo-{topo.name}-{datetime.now():%Y%m%d-%H%M%S}")
    folder.mkdir(parents=True, exist_ok=True)
    sigterm_as_interrupt()
    with RichProgress(err) as progress:
        lab = Lab(topo, runs_dir=Path(args.runs_dir), progress=progress)
        out.print(f"[bold]anycastlab demo on {topo.name}[/bold]: bringing the lab up "
                  f"({len(topo.routers)} routers)")
        lab.start()
    try:
        lesson = Lesson(lab, folder)
        for i, step in enumerate(lesson.steps, 1):
            out.rule(f"[bold]{i}/{len(lesson.steps)} {step.title}[/bold]")
            out.print(step.text)
            with RichProgress(err) as progress:
                lesson.progress = progress
                lines = step.action()
            for line in lines:
                out.print(line, markup=False, highlight=False)
            if step.commands:
                out.print("[dim]try it yourself:[/dim]")
                for c in step.commands:
                    out.print(f"  [cyan]{c.format(**lesson.names)}[/cyan]", highlight=False)
            if not args.auto and i < len(lesson.steps):
                try:
                    out.input("[dim]Enter for the next step, Ctrl-C to stop[/dim] ")
                except EOFError:  # no terminal to read from: go on as with --auto
                    args.auto = True
                    out.print()
    finally:
        lab.stop()
    out.print(f"[bold]the lab is down[/bold]; everything the lesson measured is in {folder}")
    return 0
