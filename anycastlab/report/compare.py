"""What changed between two reports: summary per scheme and per client."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

from ..errors import InputError
from .write import validate

METRICS = ("median_rtt_ms", "p90_rtt_ms", "p99_rtt_ms", "mean_rtt_ms", "suboptimal_share")


def load_report(ref: str) -> dict[str, Any]:
    p = Path(ref)
    if p.is_dir():
        p = p / "report.json"
    if not p.is_file():
        raise InputError("no report.json there", file=p,
                         fix="give a run folder written by 'anycastlab scenario' or its report.json")
    try:
        data = json.loads(p.read_text())
        validate(data)
    except (ValueError, OSError) as exc:
        raise InputError(f"not a valid anycastlab report: {str(exc)[:300]}", file=p,
                         fix="regenerate it with 'anycastlab scenario'") from None
    data["_path"] = str(p)
    return data


def _d(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return None if a is None or b is None else round(b - a, 3)


def compare(a: dict[str, Any], b: dict[str, Any], phase: int = 0) -> dict[str, Any]:
    pa, pb = a["phases"][min(phase, len(a["phases"]) - 1)], b["phases"][min(phase, len(b["phases"]) - 1)]
    summary = {}
    for scheme, sa in pa["summary"].items():
        sb = pb["summary"].get(scheme, {})
        summary[scheme] = {m: {"a": sa.get(m), "b": sb.get(m), "delta": _d(sa.get(m), sb.get(m))}
                           for m in METRICS}
    clients = {}
    for cid in sorted(set(pa["clients"]) | set(pb["clients"])):
        ca, cb = pa["clients"].get(cid), pb["clients"].get(cid)
        if ca is None or cb is None:
            clients[cid] = {"only_in": "a" if cb is None else "b"}
            continue
        row = {}
        for scheme in ("global", "ipa", "oracle", "optimal"):
            ra, rb = ca[scheme], cb[scheme]
            row[scheme] = {"rtt_a": ra["rtt_ms"], "rtt_b": rb["rtt_ms"],
                           "delta": _d(ra["rtt_ms"], rb["rtt_ms"]),
                           "pop_a": ra.get("pop"), "pop_b": rb.get("pop")}
        row["ipa"]["shares_a"], row["ipa"]["shares_b"] = ca["ipa"]["shares"], cb["ipa"]["shares"]
        row["changed"] = any(row[s]["pop_a"] != row[s]["pop_b"] or abs(row[s]["delta"] or 0) > 1.0
                             for s in ("global", "ipa", "oracle", "optimal"))
        clients[cid] = row
    return {"a": {"report": a["_path"], "scenario": a["scenario"], "topology": a["topology"],
                  "phase": pa["name"]},
            "b": {"report": b["_path"], "scenario": b["scenario"], "topology": b["topology"],
                  "phase": pb["name"]},
            "summary": summary, "clients": clients}
