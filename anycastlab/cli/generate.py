"""``anycastlab generate``: write an internet-like topology of N ASes (a
topology file, or CAIDA-style AS relationships), seeded; no lab needed."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rich.markup import escape

from ..errors import InputError
from .common import err, out


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``generate``."""
    sp = subparsers.add_parser("generate", help="write an internet-like topology of N ASes "
                               "(tier-1s, regional carriers, client networks, a CDN), seeded")
    size = sp.add_mutually_exclusive_group(required=True)
    size.add_argument("--ases", type=int, help="number of ASes, 6 to 20,000 (the CDN included)")
    size.add_argument("--routers", type=int,
                      help="instead of --ases: the most ASes whose topology has at most this many routers")
    sp.add_argument("--seed", type=int, default=1, help="the same seed, the same file (default 1)")
    sp.add_argument("--pops", type=int, help="the CDN's PoPs (default: N/10, 2 to 8)")
    sp.add_argument("--out", help="the file to write (default: the topology to standard output; "
                                  "caida: x.as-rel.txt, with x.cities.csv and x.cdn.yaml beside it)")
    sp.add_argument("--name", help="the topology's name (default gen-<N>-s<seed>)")
    sp.add_argument("--format", choices=["yaml", "caida"], default="yaml",
                    help="yaml: a topology file for check/up/scenario (default); caida: AS relationships "
                         "in CAIDA's serial-2 format, an AS-city table and the CDN's PoPs")
    sp.add_argument("--tier1", type=int, help="number of tier-1s (default round(1 + log2(N/5)), 2 to 16)")
    sp.add_argument("--tier1-cities", type=int,
                    help="cities, so routers, per tier-1 (default 4 + N/30, at most 20)")
    sp.add_argument("--regional-cities", type=int, default=5,
                    help="most cities, so routers, per regional carrier: each has 2 to this many (default 5)")
    sp.add_argument("--pop-providers", type=int, default=3,
                    help="most providers the CDN buys from at one PoP (default 3)")
    sp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Generate, write, and say what was written (to stderr when the topology goes to stdout)."""
    from ..model.generate import GenParams, for_routers, generate, to_yaml
    from ..model.generate_caida import write_caida

    if args.format == "caida" and not args.out:
        raise InputError("--format caida writes three files and needs a name for them", key="--out",
                         fix="add --out NAME.as-rel.txt (NAME.cities.csv and NAME.cdn.yaml go beside it)")
    start = time.monotonic()
    params = GenParams(ases=args.ases or 0, seed=args.seed, pops=args.pops, name=args.name,
                       tier1=args.tier1, tier1_cities=args.tier1_cities,
                       regional_cities=args.regional_cities, pop_providers=args.pop_providers)
    if args.routers is not None:
        params = for_routers(args.routers, params)
    net = generate(params)
    say = err if args.out is None else out
    try:
        if args.format == "caida":
            written = write_caida(net, args.out)
        elif args.out:
            Path(args.out).write_text(to_yaml(net), encoding="utf-8")
            written = [Path(args.out)]
        else:
            sys.stdout.write(to_yaml(net))
            written = []
    except OSError as exc:
        raise InputError(f"cannot write the output: {exc.strerror}", file=exc.filename or args.out,
                         key="--out", fix="choose a file in a folder you can write to") from None
    say.print(f"{escape(net.description)} ({time.monotonic() - start:.2f} s)", highlight=False)
    for path in written:
        say.print(f"  wrote {escape(str(path))}", highlight=False)
    return 0
