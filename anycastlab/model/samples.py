"""The run's sample files: their columns, and one reader that turns rows
back into typed values and names the line of a broken row.

``samples.csv``: one probe a row (lost probes have ``rtt_ms`` None).
``dns.csv``: one query a row (``ttl``, ``rtt_ms`` None without an answer).
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Callable, Optional

from ..errors import InputError

FIELDS = ["t", "client", "target", "scheme", "proto", "rtt_ms", "lost", "pop", "resolver"]  # resolver: IPA-by-DNS probes
DNS_FIELDS = ["t", "client", "name", "status", "answer", "ttl", "rtt_ms", "resolver", "server"]

Row = dict[str, Any]


def _text_or_none(v: str) -> Optional[str]:
    return v or None


def _sample(r: dict[str, str]) -> Row:
    row = {"t": float(r["t"]), "client": r["client"], "target": r["target"],
           "scheme": r["scheme"], "proto": r["proto"],
           "rtt_ms": None if r["lost"] == "1" else float(r["rtt_ms"]),
           "pop": _text_or_none(r["pop"])}
    if r.get("resolver"):  # only IPA probes through DNS have one (older files: no column)
        row["resolver"] = int(r["resolver"])
    return row


def _query(r: dict[str, str]) -> Row:
    return {"t": float(r["t"]), "client": r["client"], "name": r["name"],
            "status": r["status"], "answer": _text_or_none(r["answer"]),
            "ttl": int(r["ttl"]) if r["ttl"] else None,
            "rtt_ms": float(r["rtt_ms"]) if r["rtt_ms"] else None,
            # runs before resolvers had numbers and servers their NSID: one resolver, unnamed
            "resolver": int(r.get("resolver") or 0), "server": r.get("server") or None}


def read_rows(path: Path, convert: Callable[[dict[str, str]], Row], what: str) -> list[Row]:
    """Every row of a CSV through ``convert``; a row it cannot read raises
    InputError naming the file and line (a cut or hand-edited file)."""
    out = []
    with open(path, newline="") as f:
        for i, r in enumerate(csv.DictReader(f), start=2):
            try:
                out.append(convert(r))
            except (TypeError, ValueError, KeyError, AttributeError):
                raise InputError(f"a broken row in the {what}", file=path, line=i,
                                 fix="the file was cut or edited; re-run the scenario") from None
    return out


def read_samples(path: Path) -> list[Row]:
    """samples.csv back into rows."""
    return read_rows(path, _sample, "samples")


def read_dns(path: Path) -> list[Row]:
    """dns.csv back into rows."""
    return read_rows(path, _query, "DNS queries")


HEALTH_FIELDS = ["t_s", "packets", "late_p50_us", "late_p99_us", "late_max_us", "kernel_drops", "held_max",
                 "stall_max_us"]


def _health(r: dict[str, str]) -> Row:
    return {"t_s": float(r["t_s"]), **{k: int(r[k]) for k in HEALTH_FIELDS[1:]}}


def read_health(path: Path) -> list[Row]:
    """The link engine's health record (one row a second) back into rows."""
    return read_rows(path, _health, "link engine's health record")
