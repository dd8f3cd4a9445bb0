"""What changed between two reports: summary per scheme and per client."""
from __future__ import annotations

from typing import Any, Optional

from ..analysis.requests import headline
from ..model.schemes import COMPARED

METRICS = ("median_rtt_ms", "p90_rtt_ms", "p99_rtt_ms", "mean_rtt_ms", "off_optimal_share")


def _d(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return None if a is None or b is None else round(b - a, 3)


def compare(a: dict[str, Any], b: dict[str, Any], phase: int = 0) -> dict[str, Any]:
    pa, pb = a["phases"][min(phase, len(a["phases"]) - 1)], b["phases"][min(phase, len(b["phases"]) - 1)]
    summary = {}
    for scheme, ea in pa["summary"].items():  # over requests (analysis/requests.py)
        sa, sb = headline(ea), headline(pb["summary"].get(scheme, {}))
        summary[scheme] = {m: {"a": sa.get(m), "b": sb.get(m), "delta": _d(sa.get(m), sb.get(m))}
                           for m in METRICS}
    clients = {}
    for cid in sorted(set(pa["clients"]) | set(pb["clients"])):
        ca, cb = pa["clients"].get(cid), pb["clients"].get(cid)
        if ca is None or cb is None:
            clients[cid] = {"only_in": "a" if cb is None else "b"}
            continue
        row = {}
        for scheme in COMPARED:
            ra, rb = ca[scheme], cb[scheme]
            row[scheme] = {"rtt_a": ra["rtt_ms"], "rtt_b": rb["rtt_ms"],
                           "delta": _d(ra["rtt_ms"], rb["rtt_ms"]),
                           "pop_a": ra.get("pop"), "pop_b": rb.get("pop")}
        row["ipa"]["shares_a"], row["ipa"]["shares_b"] = ca["ipa"]["shares"], cb["ipa"]["shares"]
        row["changed"] = any(row[s]["pop_a"] != row[s]["pop_b"] or abs(row[s]["delta"] or 0) > 1.0
                             for s in COMPARED)
        clients[cid] = row
    return {"a": {"report": a["_path"], "scenario": a["scenario"], "topology": a["topology"],
                  "phase": pa["name"]},
            "b": {"report": b["_path"], "scenario": b["scenario"], "topology": b["topology"],
                  "phase": pb["name"]},
            "summary": summary, "clients": clients, "load": compare_load(a, b)}


def compare_load(a: dict[str, Any], b: dict[str, Any], threshold: float = 0.5) -> list[dict[str, Any]]:
    """Link directions at or above ``threshold`` utilisation in either run:
    peak utilisation, added delay and loss in A and in B (analysis/load.py)."""
    la = {r["link"]: r for r in ((a.get("load") or {}).get("summary") or {}).get("links", [])}
    lb = {r["link"]: r for r in ((b.get("load") or {}).get("summary") or {}).get("links", [])}
    rows = []
    for link in set(la) | set(lb):
        ra, rb = la.get(link, {}), lb.get(link, {})
        if max(ra.get("peak_rho", 0), rb.get("peak_rho", 0)) < threshold:
            continue
        rows.append({"link": link, **{f"{k}_{side}": r.get(k) for side, r in (("a", ra), ("b", rb))
                                      for k in ("peak_rho", "peak_delay_ms", "peak_loss")}})
    return sorted(rows, key=lambda r: -max(r["peak_rho_a"] or 0, r["peak_rho_b"] or 0))
