"""``anycastlab exec``: run a command inside a node of the running lab (root).

Module named after the verb; import it as ``from . import exec as exec_``
so the builtin stays visible where that matters.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..errors import EnvironmentProblem, InputError
from .common import add_runs_dir


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``exec``."""
    sp = subparsers.add_parser("exec", help="run a command inside a node of the running lab (root)",
                               description="Options (--run, --runs-dir) go before NODE; everything "
                                           "after NODE is the command.")
    sp.add_argument("node")
    sp.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD ARGS... (default: bash)")
    sp.add_argument("--run", help="run id (default: the newest running lab)")
    add_runs_dir(sp)
    sp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Find the node's shell in the run record and exec into its namespaces (never returns)."""
    from ..lab.record import find_running, same_process

    if os.geteuid() != 0:
        raise EnvironmentProblem("'anycastlab exec' needs root to enter a namespace", fix="use sudo")
    rec = find_running(Path(args.runs_dir), args.run)
    if rec is None:
        raise InputError("no running lab found" + (f" with id {args.run}" if args.run else ""),
                         fix="start one with 'anycastlab up TOPOLOGY --hold' in another shell")
    node = rec.data["nodes"].get(args.node)
    if node is None:
        raise InputError(f"unknown node '{args.node}' in lab {rec.id}", key="NODE",
                         fix=f"use one of: {', '.join(sorted(rec.data['nodes']))}")
    if not same_process(node["shell_pid"], node.get("shell_starttime")):
        raise InputError(f"node '{args.node}' is not running", fix="is the lab being torn down?")
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    cmd = birdc_in_node(rec.folder / args.node, args.node, cmd or ["bash"])
    os.execvp("mnexec", ["mnexec", "-a", str(node["shell_pid"]), *cmd])
    return 0  # not reached


def birdc_in_node(node_dir: Path, node: str, cmd: list[str]) -> list[str]:
    """Point a bare 'birdc' at the node's own BIRD socket (chdir into its folder); else cmd unchanged."""
    if cmd[0] == "birdc" and "-s" not in cmd:
        if not (node_dir / "bird.ctl").exists():
            raise InputError(f"'{node}' runs no BIRD (it is a host)", key="NODE",
                             fix="run birdc on a router, e.g. its gateway router")
        # BIRD's socket path is relative to the node's folder (see Lab._start_birds)
        os.chdir(node_dir)
        cmd = ["birdc", "-s", "bird.ctl", *cmd[1:]]
    return cmd
