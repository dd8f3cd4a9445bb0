"""What the load model did to the links (the ``load`` section of report.json).

The run's load log holds, for each application (every steering window of a
timeline; the start and the DNS stage at rest), each loaded link
direction's offered load, its IPA part, the utilisation and the delay and
loss the queue added. This module sums it up per link direction, over the
applications in effect while the run measured: mean and peak utilisation,
peak delay and loss, the share of the load that was IPA's, and the links
that ran hot (peak utilisation at or above ``HOT``).
"""
from __future__ import annotations

from typing import Any, Optional

HOT = 0.8   # utilisation from which a link direction counts as hot: M/M/1 delay rises steeply above it


def summarize(section: Optional[dict[str, Any]], since_s: Optional[float] = None) -> Optional[dict[str, Any]]:
    """Per link direction over the applications from ``since_s`` on (None: all)."""
    if not section:
        return None
    log = [e for e in section.get("log", [])
           if since_s is None or e.get("t_s") is None or e["t_s"] >= since_s - 1e-9]
    if not log:
        return {"links": [], "hot": [], "applications": 0, "demand_gbps": _total(section)}
    per: dict[str, list[list[float]]] = {}
    for e in log:
        for link, v in e["links"].items():
            per.setdefault(link, []).append(v)
    n = len(log)
    rows = []
    cap = section.get("capacity_gbps", {})
    for link, vs in per.items():
        gbps = [v[0] for v in vs] + [0.0] * (n - len(vs))  # windows it carried nothing
        rhos = [v[2] for v in vs] + [0.0] * (n - len(vs))
        ipa = sum(v[1] for v in vs)
        a, _, b = link.partition(">")
        rows.append({"link": link, "from": a, "to": b, "capacity_gbps": cap.get(link),
                     "mean_gbps": round(sum(gbps) / n, 3), "peak_gbps": round(max(gbps), 3),
                     "mean_rho": round(sum(rhos) / n, 4), "peak_rho": round(max(rhos), 4),
                     "peak_delay_ms": round(max(v[3] for v in vs), 3),
                     "peak_loss": round(max(v[4] for v in vs), 5),
                     "ipa_part": round(ipa / sum(v[0] for v in vs), 3) if sum(v[0] for v in vs) > 0 else 0.0})
    rows.sort(key=lambda r: (-r["peak_rho"], r["link"]))
    return {"applications": n, "demand_gbps": _total(section),
            "ipa_fraction": section.get("ipa_fraction"), "links": rows,
            "hot": [r["link"] for r in rows if r["peak_rho"] >= HOT],
            "lossy": [r["link"] for r in rows if r["peak_loss"] > 0.001]}


def _total(section: dict[str, Any]) -> float:
    return round(sum(section.get("demand_gbps", {}).values()), 3)


def headline(summary: Optional[dict[str, Any]]) -> str:
    """One line for the terminal and the report's top."""
    if summary is None:
        return "Load: none modelled (--no-load, or load: false in the scenario)."
    rows = summary["links"]
    if not rows:
        return f"Load: {summary['demand_gbps']:g} Gbit/s of demand, nothing applied."
    top = rows[0]
    hot = summary["hot"]
    return (f"Load: {summary['demand_gbps']:g} Gbit/s of demand ({(summary.get('ipa_fraction') or 0) * 100:.0f} % "
            f"under IPA) on {len(rows)} link directions; busiest {top['link']} at "
            f"{top['peak_rho'] * 100:.0f} % (peak +{top['peak_delay_ms']:g} ms, loss {top['peak_loss'] * 100:.2f} %); "
            + (f"{len(hot)} ran hot (>= {HOT * 100:.0f} %): {', '.join(hot[:6])}"
               + (" ..." if len(hot) > 6 else "") if hot else f"none ran hot (>= {HOT * 100:.0f} %)") + ".")
