"""``anycastlab explain``: why a client lands where it does, hop by hop, read
from the BIRDs of the running lab (root)."""
from __future__ import annotations

import argparse
import json
import os

from ..errors import EnvironmentProblem, InputError
from .common import add_runs_dir, lab_for, out


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``explain``."""
    sp = subparsers.add_parser("explain", help="why a client lands where it does, hop by hop (root)")
    sp.add_argument("client", help="client AS id (e.g. c2), its router or its host")
    sp.add_argument("prefix", help="address, prefix, or 'global', a provider id, 'unicast:<pop>'")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--run", help="run id (default: the newest running lab)")
    add_runs_dir(sp)
    sp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Walk the best routes from the client's router to the target and print each hop's choice."""
    from ..measure import explain

    if os.geteuid() != 0:
        raise EnvironmentProblem("'anycastlab explain' reads the running BIRDs and needs root",
                                 fix="use sudo")
    lab = lab_for(args, None)
    if lab is None:
        raise InputError("no running lab found",
                         fix="start one with 'anycastlab up TOPOLOGY --hold' in another shell")
    from ..measure.explain import client_router, target_address

    router = client_router(lab, args.client)
    addr = target_address(lab, args.prefix)
    hops = explain.walk(lab, router, addr)
    if args.json:
        print(json.dumps({"client": args.client, "target": addr, "hops": explain.as_dicts(hops)},
                         indent=2))
        return 0
    out.print(f"[bold]why {router} reaches {addr} where it does[/bold] (lab {lab.record.id})")
    for i, h in enumerate(hops, 1):
        out.print(f"\n[bold]{i}. {h.router}[/bold]  AS{h.asn} {h.as_name}, {h.city}")
        if not h.candidates:
            out.print("   [red]no route[/red]")
        for c in h.candidates:
            star = "[green]*[/green]" if c["best"] else " "
            path = " ".join(map(str, c["as_path"])) or "(originated here)"
            igp = f", IGP cost {c['igp_cost']}" if c["igp_cost"] is not None else ""
            why = "best" if c["best"] else f"loses on {c['lost_on']}"
            out.print(f"  {star} via {c['via']:<9} {c['session']:<7} AS path {path:<24} "
                      f"local-pref {c['local_pref']} ({c['learned_from']}){igp}  → {why}")
        if h.next_router:
            out.print(f"    packets go on to {h.next_router}")
        if h.pop:
            out.print(f"\n[bold green]→ answered by PoP {h.pop}[/bold green] "
                      f"({lab.topo.cities[h.pop].name})")
    return 0


