"""``anycastlab render``: write every BIRD config of a topology (no root needed)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.markup import escape

from ..errors import InputError
from .common import load_topology_arg, out


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``render``."""
    sp = subparsers.add_parser("render", help="write every BIRD config of a topology (no root needed)")
    sp.add_argument("topology")
    sp.add_argument("--out", required=True, help="output folder")
    sp.add_argument("--no-check", dest="check", action="store_false",
                    help="skip 'bird -p -c' on each config")
    sp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Render the configs plus addresses.json, optionally letting 'bird -p' check each."""
    from ..config.bird import check_config, render_all
    from ..model.addressing import plan_addresses

    topo = load_topology_arg(args.topology)
    plan = plan_addresses(topo)
    outdir = Path(args.out)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        paths = render_all(topo, plan, outdir)
    except OSError as exc:
        raise InputError(f"cannot write into the output folder: {exc.strerror}", file=outdir,
                         key="--out", fix="choose a folder you can write to") from None
    (outdir / "addresses.json").write_text(json.dumps(
        {n.name: {"kind": n.kind, "as": n.asid, "loopback": n.loopback, "site_prefix": n.site_prefix,
                  "interfaces": {i.name: i.cidr for i in n.interfaces}} for n in plan.nodes.values()},
        indent=2) + "\n")
    if args.check:
        for p in paths.values():
            check_config(p)
    out.print(f"rendered {len(paths)} BIRD configs into {escape(str(outdir))}"
              + (" (each accepted by 'bird -p')" if args.check else ""))
    return 0
