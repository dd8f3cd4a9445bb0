"""``anycastlab sweep``: what-if configurations of the CDN (which PoPs announce
which prefix, which providers it buys from) scored on an internet-scale AS
graph, in parallel (docs/simulation.md). No root, no lab."""
from __future__ import annotations

import argparse
import time

from rich.table import Table

from .common import RichProgress, err, out


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``sweep``."""
    sp = subparsers.add_parser("sweep", help="score what-if CDN configurations on an AS graph "
                                             "(catchments, RTT; no root)")
    add_internet_files(sp)
    sp.add_argument("--spec", required=True, help="the sweep spec (YAML): configurations to compare")
    sp.add_argument("--workers", type=workers_arg, default=None,
                    help="parallel workers (default: every core; 1 runs in this process)")
    sp.add_argument("--ray", metavar="ADDRESS", default=None,
                    help="run on this Ray cluster (e.g. ray://head:10001 or auto); without it a local "
                         "Ray is used when Ray is installed, else a process pool")
    sp.add_argument("--out", help="write sweep.json and sweep.csv to this folder")
    sp.set_defaults(func=run)


def add_internet_files(sp: argparse.ArgumentParser) -> None:
    """--relationships, --cities, --cdn: the three files of the AS-level model."""
    sp.add_argument("--relationships", required=True,
                    help="AS relationships, CAIDA serial-2 (plain, .gz or .bz2)")
    sp.add_argument("--cities", required=True, help="AS-city CSV: asn,city,lat,lon,population_m")
    sp.add_argument("--cdn", required=True, help="the CDN spec (YAML): asn and pops with providers")


def workers_arg(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 1 <= v <= 1024:
        raise argparse.ArgumentTypeError(f"{v} is out of range (1 to 1024)")
    return v


def run(args: argparse.Namespace) -> int:
    """Load, run every configuration, print one row each, write the results."""
    from ..sim.internet_build import load_internet
    from ..sim.sweep import load_sweep, run_sweep, table_rows, write_sweep

    t0 = time.perf_counter()
    with RichProgress(err) as progress:
        g = load_internet(args.relationships, args.cities, args.cdn, progress)
        sweep = load_sweep(args.spec, g)
        t1 = time.perf_counter()
        results, backend = run_sweep(g, sweep, workers=args.workers, ray_address=args.ray,
                                     progress=progress)
    t2 = time.perf_counter()
    s = g.summary()
    err.print(f"{s['ases']} ASes, {s['routers']} AS-cities, {s['clients']} clients; "
              f"{len(sweep.configs)} configurations on {backend}"
              + (f" ({args.workers} workers)" if args.workers and backend != "serial" else ""))
    for note in g.notes:
        err.print(f"note: {note}")
    rows = table_rows(results)
    base = rows[0] if rows and rows[0]["name"] == "baseline" else None
    table = Table(title=f"sweep {sweep.name}: demand-weighted RTT (ms), median / p90")
    for col in ("configuration", "G", "IPA (best P_k)", *(["best unicast"] if sweep.unicast else []),
                "G reached", "Δ IPA p90 vs baseline", "s"):
        table.add_column(col, justify="left" if col == "configuration" else "right")
    for r in rows:
        delta = ""
        if base and r is not base and r["ipa_p90_ms"] is not None and base["ipa_p90_ms"] is not None:
            delta = f"{r['ipa_p90_ms'] - base['ipa_p90_ms']:+.1f}"
        table.add_row(r["name"], _pair(r, "global"), _pair(r, "ipa"),
                      *([_pair(r, "unicast")] if sweep.unicast else []),
                      "-" if r["global_reached"] is None else f"{r['global_reached']:.1%}", delta,
                      f"{r['seconds']:.1f}")
    out.print(table)
    out.print(f"load {t1 - t0:.1f} s, sweep {t2 - t1:.1f} s")
    if args.out:
        meta = {"backend": backend, "workers": args.workers, "seconds": {"load": round(t1 - t0, 3),
                                                                        "sweep": round(t2 - t1, 3)},
                "graph": s, "notes": g.notes}
        paths = write_sweep(sweep, results, meta, args.out)
        out.print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _pair(r: dict, what: str) -> str:
    m, p = r[f"{what}_median_ms"], r[f"{what}_p90_ms"]
    return "-" if m is None else f"{m:.1f} / {p:.1f}"
