"""``anycastlab up``: build the lab, converge, print a summary, then hold or
open the Mininet CLI; always tears down on the way out (root)."""
from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path
from typing import Any

from rich.table import Table

from rich.markup import escape

from .common import (RichProgress, add_links, add_live, add_runs_dir, add_variability, check_port_free, err,
                     load_topology_arg, out, sigterm_as_interrupt, start_live)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``up``."""
    sp = subparsers.add_parser("up", help="build the lab, converge, print a summary (root)")
    sp.add_argument("topology")
    mode = sp.add_mutually_exclusive_group()
    mode.add_argument("--cli", action="store_true", help="open the Mininet CLI, tear down on exit")
    mode.add_argument("--hold", action="store_true", help="stay up until Ctrl-C / SIGTERM")
    add_links(sp)
    add_variability(sp)
    sp.add_argument("--timeout", type=float, default=120.0, help="convergence timeout, seconds")
    add_live(sp)
    add_runs_dir(sp)
    sp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Bring the lab up; whatever happens after start(), stop() runs."""
    from ..lab.lab import Lab
    from ..lab.nodes import require_root

    topo = load_topology_arg(args.topology)
    if args.live is not None:
        if args.cli:
            from ..errors import InputError

            raise InputError("--live goes with --hold, not --cli", key="--live",
                             fix="use 'anycastlab up TOPOLOGY --hold --live'")
        args.hold = True  # a live view of a lab that is torn down at once would show nothing
        check_port_free(args.live)
    require_root("'anycastlab up'")
    sigterm_as_interrupt()
    with RichProgress(err) as progress:
        lab = Lab(topo, runs_dir=Path(args.runs_dir), links=args.links, progress=progress,
                  converge_timeout=args.timeout, seed=1 if args.seed is None else args.seed,
                  variability=args.variability is not False)
        lab.start()
    stop_live = None
    try:
        print_summary(lab)
        if args.live is not None:
            stop_live = start_live(lab, args.live)
        if args.cli:
            open_mininet_cli(lab)
        elif args.hold:
            out.print(f"holding the lab up; 'anycastlab exec NODE -- CMD' from another shell; "
                      f"Ctrl-C or SIGTERM (pid {os.getpid()}) to tear down")
            while True:
                signal.pause()
    except KeyboardInterrupt:
        err.print("interrupted: tearing down")
    finally:
        if stop_live is not None:
            stop_live()
        lab.stop()
        out.print(f"lab torn down (run folder {lab.record.folder if lab.record else '-'})", markup=False)
    return 0


def open_mininet_cli(lab: Any) -> None:
    """Mininet's interactive CLI on the lab; returns when the user leaves it."""
    from mininet.cli import CLI

    class LabCLI(CLI):
        # node names contain '-' (tra-lon, h-c2); cmd.Cmd would cut them at it
        identchars = CLI.identchars + "-"

    from mininet.log import setLogLevel

    setLogLevel("output")  # the CLI prints command output at this level
    LabCLI(lab.net)


def print_summary(lab: Any) -> None:
    """What is up and where its run folder is."""
    rec = lab.record
    table = Table(title=f"lab {rec.id} is up")
    table.add_column("item")
    table.add_column("value")
    table.add_row("topology", f"{lab.topo.name} ({escape(str(lab.topo.path))})")
    table.add_row("nodes", f"{len(lab.plan.routers())} routers, {len(lab.plan.hosts())} hosts")
    table.add_row("links", str(len(lab.topo.links)))
    table.add_row("link backend", rec.data["link_backend"])
    v = rec.data.get("variability") or {}
    table.add_row("link variability", f"queueing delay and loss on {v['lines']} link directions, seed {v['seed']}"
                  if v.get("lines") else "none: constant delays")
    table.add_row("up and converged in", f"{lab.converge_seconds} s")
    table.add_row("run folder", escape(str(rec.folder)))
    out.print(table)
