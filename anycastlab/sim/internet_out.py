"""What a simulated prefix set means in numbers (demand-weighted catchments
and RTT percentiles, IPA's best provider prefix per client) and where it
goes: summary.json, catchments.csv and a terminal table. Shared by
``anycastlab simulate`` and every configuration of a sweep."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import numpy as np

from .internet import PrefixRoutes
from .internet_graph import InternetGraph


def weighted_percentiles(values: np.ndarray, weights: np.ndarray, qs: tuple[float, ...]
                         ) -> list[Optional[float]]:
    """For each q, the smallest value whose cumulative weight reaches q % of
    the total (as analysis.requests.weighted_percentile, for arrays of 100k clients)."""
    ok = (weights > 0) & np.isfinite(values)
    v, w = values[ok], weights[ok]
    if not len(v):
        return [None for _ in qs]
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    want = cum[-1] * (np.array(qs) / 100.0 - 1e-12)
    return [float(x) for x in v[order][np.minimum(np.searchsorted(cum, want), len(v) - 1)]]


def rtt_stats(rtt: np.ndarray, demand: np.ndarray) -> dict[str, Optional[float]]:
    """Median and p90 over the clients reached, each weighted by its demand."""
    med, p90 = weighted_percentiles(rtt, demand, (50, 90))
    return {"median": None if med is None else round(med, 2), "p90": None if p90 is None else round(p90, 2)}


def prefix_summary(g: InternetGraph, r: PrefixRoutes, clients: np.ndarray) -> dict[str, Any]:
    """One prefix: reach, RTT percentiles and each PoP's clients and demand share."""
    dem = g.demand[clients]
    pop = r.r_pop[clients]
    total = float(dem.sum()) or 1.0
    ok = pop >= 0
    counts = np.bincount(pop[ok], minlength=len(g.pops))
    shares = np.bincount(pop[ok], weights=dem[ok], minlength=len(g.pops)) / total
    return {"clients": int(len(clients)), "reached_clients": int(ok.sum()),
            "reached_demand": round(float(dem[ok].sum()) / total, 4),
            "rtt_ms": rtt_stats(r.r_rtt[clients].astype(np.float64), dem),
            "pops": {p: {"clients": int(counts[i]), "demand_share": round(float(shares[i]), 4)}
                     for i, p in enumerate(g.pops) if counts[i]}}


def best_of(routes: list[PrefixRoutes], clients: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per client the lowest RTT among ``routes`` and which one gave it (-1: none reached)."""
    if not routes:
        return np.full(len(clients), np.nan), np.full(len(clients), -1)
    m = np.stack([np.where(np.isnan(r.r_rtt[clients]), np.inf, r.r_rtt[clients]) for r in routes])
    which = np.argmin(m, axis=0)
    best = m[which, np.arange(len(clients))]
    return np.where(np.isinf(best), np.nan, best), np.where(np.isinf(best), -1, which)


def summarise(g: InternetGraph, routes: dict[str, PrefixRoutes]) -> dict[str, Any]:
    """Every prefix's summary, IPA with ideal steering (each client on its
    lowest-RTT provider prefix) and, with unicast prefixes, the best PoP."""
    clients = np.flatnonzero(g.demand > 0)
    dem = g.demand[clients]
    out: dict[str, Any] = {"prefixes": {n: prefix_summary(g, r, clients) for n, r in routes.items()}}
    prov = [n for n in routes if n.startswith("provider:")]
    rtt, which = best_of([routes[n] for n in prov], clients)
    if prov:
        share = np.bincount(which[which >= 0], weights=dem[which >= 0], minlength=len(prov)) / (dem.sum() or 1)
        out["ipa_best"] = {"rtt_ms": rtt_stats(rtt, dem),
                           "reached_demand": round(float(dem[which >= 0].sum() / (dem.sum() or 1)), 4),
                           "provider_share": {n.split(":", 1)[1]: round(float(s), 4)
                                              for n, s in zip(prov, share)}}
    uni = [routes[n] for n in routes if n.startswith("unicast:")]
    if uni:
        out["unicast_best"] = {"rtt_ms": rtt_stats(best_of(uni, clients)[0], dem)}
    return out


def catchment_columns(routes: dict[str, PrefixRoutes]) -> list[str]:
    return ["asn", "city", "demand"] + [f"{n}.{c}" for n in routes for c in ("pop", "rtt_ms")]


def write_catchments(g: InternetGraph, routes: dict[str, PrefixRoutes], path: Path) -> None:
    """catchments.csv: one row per client (AS-city), PoP and RTT per prefix ('' when not reached)."""
    clients = np.flatnonzero(g.demand > 0)
    cols = [g.asns[g.r_as[clients]].astype(str), np.array(g.city_ids, dtype=object)[g.r_city[clients]],
            np.char.mod("%.6g", g.demand[clients])]
    pops = np.array(g.pops + [""], dtype=object)
    for r in routes.values():
        p = r.r_pop[clients]
        cols.append(pops[np.where(p >= 0, p, len(g.pops))])
        rtt = r.r_rtt[clients]
        cols.append(np.where(np.isnan(rtt), "", np.char.mod("%.2f", np.nan_to_num(rtt))))
    with open(path, "w", encoding="utf-8") as f:
        f.write(",".join(catchment_columns(routes)) + "\n")
        for row in zip(*[c.tolist() for c in cols]):
            f.write(",".join(row) + "\n")


def write_outputs(g: InternetGraph, routes: dict[str, PrefixRoutes], summary: dict[str, Any],
                  out: str | Path) -> list[Path]:
    """summary.json and catchments.csv in ``out`` (created)."""
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    (d / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    write_catchments(g, routes, d / "catchments.csv")
    return [d / "summary.json", d / "catchments.csv"]


def print_summary(g: InternetGraph, summary: dict[str, Any], console: Any) -> None:
    """One row per prefix: clients reached, RTT median / p90, seconds, and its
    catchment as clients (demand share) per PoP, largest first."""
    from rich.table import Table

    pre = summary["prefixes"]
    secs = summary.get("seconds", {}).get("prefixes", {})
    t = Table(title="catchments: clients per PoP (demand share), RTT ms demand-weighted")
    for col, just in (("prefix", "left"), ("reached", "right"), ("RTT median / p90", "right"),
                      ("s", "right"), ("catchment", "left")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for n, p in pre.items():
        pops = sorted(p["pops"].items(), key=lambda kv: (-kv[1]["clients"], kv[0]))
        catch = ", ".join(f"{pop} {c['clients']} ({c['demand_share']:.0%})" for pop, c in pops)
        t.add_row(label(n), f"{p['reached_clients']}/{p['clients']}", _ms(p["rtt_ms"]),
                  f"{secs.get(n, 0):.2f}", catch)
    console.print(t)
    if "ipa_best" in summary and "global" in pre:
        console.print(f"IPA, each client on its best provider prefix: RTT median / p90 "
                      f"{_ms(summary['ipa_best']['rtt_ms'])} ms; global anycast "
                      f"{_ms(pre['global']['rtt_ms'])} ms")
    if "unicast_best" in summary:
        console.print(f"best unicast PoP per client: {_ms(summary['unicast_best']['rtt_ms'])} ms")
    s = summary.get("seconds", {})
    if s:
        console.print(f"load {s.get('load', 0):.2f} s, routing {s.get('routing', 0):.2f} s "
                      f"({len(secs)} prefixes)")


def label(name: str) -> str:
    """'provider:3356' -> 'P_3356', 'unicast:fra' -> 'U_fra', 'global' -> 'G'."""
    if name == "global":
        return "G"
    kind, _, what = name.partition(":")
    return {"provider": "P_", "unicast": "U_"}.get(kind, kind + ":") + what


def _ms(s: dict[str, Optional[float]]) -> str:
    f = (lambda v: "-" if v is None else f"{v:.1f}")
    return f"{f(s['median'])} / {f(s['p90'])}"
