"""The schemes over requests: what the CDN's users see, not what the median
network sees.

"Shifting the overall RTT distribution to a lower median" is about
requests. Each probe of a client network stands for that network's requests
under a scheme; a network counts by its demand (model/load.py: metro
population or ``demand_gbps``), and within it each probe by the share of
traffic it represents:

  global, oracle, optimal   every probe of the network to that prefix alike;
  ipa (DNS)                 every probe to an address DNS answered alike (the
                            answers already follow the shares);
  ipa_model, all_in         a probe to P_k weighs share_k / (probes to P_k)
                            (all_in: the top provider's probes, share 1);
  floor                     the network's physical floor, once.

A network's weights sum to its demand. Percentiles are of the weighted
distribution of answered probes (``weighted_percentile``: the smallest RTT
whose cumulative weight reaches q % of the total); ``lost_share`` is the
weight of unanswered probes; ``off_optimal_share`` the weight of answered
probes that reached a PoP other than the network's lowest-RTT unicast PoP.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Optional

Request = tuple[Optional[float], Optional[str], float]   # (rtt or None if lost, PoP, weight)


def weighted_percentile(pairs: list[tuple[float, float]], q: float) -> Optional[float]:
    """Smallest value whose cumulative weight reaches q % of the total weight."""
    pts = sorted((v, w) for v, w in pairs if w > 0)
    total = sum(w for _, w in pts)
    if not pts or total <= 0:
        return None
    want, seen = total * q / 100.0, 0.0
    for v, w in pts:
        seen += w
        if seen >= want - 1e-12 * total:
            return v
    return pts[-1][0]


def client_requests(rows: list[dict[str, Any]], entry: dict[str, Any], demand: float
                    ) -> dict[str, list[Request]]:
    """One network's requests per scheme, weights summing to ``demand``."""
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["proto"] == "udp":
            by[r["scheme"]].append(r)

    def even(sel: list[dict[str, Any]]) -> list[Request]:
        return [(r["rtt_ms"], r["pop"] or None, demand / len(sel)) for r in sel]

    def shared(shares: dict[str, float]) -> list[Request]:
        res: list[Request] = []
        for k, share in shares.items():
            sel = by.get(f"provider:{k}", [])
            res += [(r["rtt_ms"], r["pop"] or None, demand * share / len(sel)) for r in sel]
        return res

    out: dict[str, list[Request]] = {"global": even(by.get("global", []))}
    model = shared(entry["ipa_model"]["shares"] or {})
    out["ipa_model"] = model
    if "all_in" in entry:
        out["all_in"] = shared(entry["all_in"]["shares"] or {})
    out["ipa"] = even(by["ipa"]) if by.get("ipa") else model
    oracle = entry["oracle"]["provider"]
    out["oracle"] = even(by.get(f"provider:{oracle}", [])) if oracle else []
    best = entry["optimal"]["pop"]
    out["optimal"] = even(by.get(f"unicast:{best}", [])) if best else []
    out["floor"] = [(entry["floor_rtt_ms"], None, demand)]
    return out


def summarize(per_client: dict[str, dict[str, list[Request]]], optimal_pop: dict[str, Optional[str]]
              ) -> dict[str, dict[str, Any]]:
    """Per scheme: weighted percentiles and mean over answered requests,
    the lost share and the share of traffic off the optimal PoP."""
    schemes: dict[str, list[tuple[str, Request]]] = defaultdict(list)
    for c, per in per_client.items():
        for scheme, reqs in per.items():
            schemes[scheme] += [(c, r) for r in reqs]
    out = {}
    for scheme, items in schemes.items():
        total = sum(w for _, (_, _, w) in items)
        ok = [(c, (x, p, w)) for c, (x, p, w) in items if x is not None]
        pairs = [(x, w) for _, (x, _, w) in ok]
        w_ok = sum(w for _, w in pairs)
        judged = [(w, p != optimal_pop.get(c)) for c, (_, p, w) in ok if p is not None and optimal_pop.get(c)]
        w_judged = sum(w for w, _ in judged)
        out[scheme] = {
            "median_rtt_ms": _r(weighted_percentile(pairs, 50)),
            "p90_rtt_ms": _r(weighted_percentile(pairs, 90)),
            "p99_rtt_ms": _r(weighted_percentile(pairs, 99)),
            "mean_rtt_ms": _r(sum(x * w for x, w in pairs) / w_ok) if w_ok > 0 else None,
            "lost_share": _r(1 - w_ok / total) if total > 0 else None,
            "off_optimal_share": _r(sum(w for w, off in judged if off) / w_judged) if w_judged > 0 else None,
            "demand_gbps": _r(total),
        }
    return out


def headline(entry: dict[str, Any]) -> dict[str, Any]:
    """A scheme's headline figures: over requests, or over networks in a
    report written before requests were weighted."""
    q = entry.get("requests")
    if q:
        return q
    return {"median_rtt_ms": entry.get("median_rtt_ms"), "p90_rtt_ms": entry.get("p90_rtt_ms"),
            "p99_rtt_ms": entry.get("p99_rtt_ms"), "mean_rtt_ms": entry.get("mean_rtt_ms"),
            "off_optimal_share": entry.get("suboptimal_share"), "lost_share": None}


def _r(x: Optional[float]) -> Optional[float]:
    return None if x is None else round(x, 3)


WEIGHTING = ("Percentiles are over requests: each client network counts by its demand (metro "
             "population or demand_gbps), and within it each probe by the share of traffic it "
             "stands for (IPA model: share / probes of that provider).")
