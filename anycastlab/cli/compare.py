"""``anycastlab compare``: what changed between two reports (no lab, no root)."""
from __future__ import annotations

import argparse
import json
from typing import Any, Optional

from rich.table import Table

from .common import out


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``compare``."""
    sp = subparsers.add_parser("compare", help="what changed between two reports")
    sp.add_argument("run_a", help="run folder or report.json")
    sp.add_argument("run_b", help="run folder or report.json")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the per-scheme summary deltas, then the client networks that changed (or JSON)."""
    from ..report.compare import compare
    from ..report.schema import load_report

    res = compare(load_report(args.run_a), load_report(args.run_b))
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    table = Table(title=f"summary: A = {res['a']['report']}\n          B = {res['b']['report']}")
    for col in ("scheme", "median A", "median B", "Δ", "p90 A", "p90 B", "Δ", "off-optimal A", "B"):  # over requests
        table.add_column(col, justify="left" if col == "scheme" else "right")
    for scheme, m in res["summary"].items():
        table.add_row(scheme, _num(m["median_rtt_ms"]["a"]), _num(m["median_rtt_ms"]["b"]),
                      _delta(m["median_rtt_ms"]["delta"]), _num(m["p90_rtt_ms"]["a"]),
                      _num(m["p90_rtt_ms"]["b"]), _delta(m["p90_rtt_ms"]["delta"]),
                      _num(m["off_optimal_share"]["a"], True), _num(m["off_optimal_share"]["b"], True))
    out.print(table)
    changed = {c: r for c, r in res["clients"].items() if r.get("changed") or r.get("only_in")}
    t2 = Table(title=f"client networks that changed ({len(changed)} of {len(res['clients'])})")
    for col in ("client", "global A → B", "Δ ms", "IPA A → B ms", "Δ ms"):
        t2.add_column(col)
    for c, r in changed.items():
        if r.get("only_in"):
            t2.add_row(c, f"only in {r['only_in'].upper()}", "", "", "")
            continue
        g, i = r["global"], r["ipa"]
        t2.add_row(c, f"{_num(g['rtt_a'])} ({g['pop_a']}) → {_num(g['rtt_b'])} ({g['pop_b']})",
                   _delta(g["delta"]), f"{_num(i['rtt_a'])} → {_num(i['rtt_b'])}", _delta(i["delta"]))
    out.print(t2)
    if res["load"]:
        t3 = Table(title="link directions at 50 % or more in either run (peak over the run)")
        for col in ("link", "util. A", "util. B", "+ms A", "+ms B", "loss A", "loss B"):
            t3.add_column(col, justify="left" if col == "link" else "right")
        for r in res["load"]:
            t3.add_row(r["link"].replace(">", " → "), _num(r["peak_rho_a"], True), _num(r["peak_rho_b"], True),
                       _num(r["peak_delay_ms_a"]), _num(r["peak_delay_ms_b"]),
                       _num(r["peak_loss_a"], True), _num(r["peak_loss_b"], True))
        out.print(t3)
    return 0


def _num(x: Any, pct: bool = False) -> str:
    """A value to one decimal (or a percentage); '–' where one side has none."""
    return "–" if x is None else (f"{x:.0%}" if pct else f"{x:.1f}")


def _delta(x: Optional[float]) -> str:
    """A signed change, green when B is faster, red when slower."""
    if x is None:
        return "–"
    color = "green" if x < -0.5 else "red" if x > 0.5 else "white"
    return f"[{color}]{x:+.1f}[/{color}]"
