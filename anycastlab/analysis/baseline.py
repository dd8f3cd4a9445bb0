"""From raw probe samples to the comparison of schemes. Pure functions.

Per client network:
  global   median RTT and PoP reached through G;
  provider median RTT and PoP through each P_k;
  WAN      "Wins Above Nominal": nominal = median of all of the client's
           provider samples pooled; wins_k = fraction of P_k's samples below
           nominal (a lost sample never wins); score_k = wins_k - 0.5;
  IPA      traffic shares biased toward the top WAN provider (ties broken
           by median RTT), never all-in (see ``allocate``). With DNS
           steering: the median RTT of the client's probes to the addresses
           PowerDNS answered; ``ipa_model`` (always): share-weighted median
           RTTs of the providers;
  all_in   the share model with cap 1: all traffic to the top WAN provider
           (what "never all-in" avoids; same samples, model only);
  oracle   the best single provider prefix;
  optimal  the lowest-RTT unicast PoP prefix U_p;
  floor    2 x great-circle distance to the nearest PoP at 200 km/ms.
docs/analysis.md has the definitions with a worked example.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import replace
from typing import Any, Iterable, Optional

from . import requests
from ..model.headroom import Network, Rank, apply_headroom
from ..model.schemes import KEYS
from ..model.schemes import get as get_scheme
from ..model.settings import Steering
from ..model.topology import FIBRE_KM_PER_MS, Topology, great_circle_km


def percentile(values: Iterable[float], q: float) -> Optional[float]:
    """Linear interpolation between closest ranks (numpy's default)."""
    v = sorted(values)
    if not v:
        return None
    pos = (len(v) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def median(values: Iterable[float]) -> Optional[float]:
    return percentile(values, 50)


def mode(values: Iterable[Optional[str]]) -> Optional[str]:
    c = Counter(v for v in values if v is not None)
    return c.most_common(1)[0][0] if c else None


def wan(samples: dict[str, list[Optional[float]]]) -> tuple[Optional[float], dict[str, float], dict[str, float]]:
    """Nominal, wins and WAN score per provider; None samples are losses."""
    pooled = [x for xs in samples.values() for x in xs if x is not None]
    nominal = median(pooled)
    wins, scores = {}, {}
    for k, xs in samples.items():
        if not xs or nominal is None:
            continue
        w = sum(1 for x in xs if x is not None and x < nominal) / len(xs)
        wins[k] = w
        scores[k] = round(w - 0.5, 6)
    return nominal, wins, scores


def allocate(scores: dict[str, float], steering: Steering = Steering(),
             rtts: Optional[dict[str, float]] = None) -> dict[str, float]:
    """Traffic shares: biased toward the top WAN provider, never all-in.

    As the post puts it: find the provider most likely to beat the network's
    typical RTT and bias traffic toward it. Providers are ranked by WAN score
    (ties broken by median RTT; exact ties share the top). The top gets
    ``cap``. The rest goes to the other providers that win at least
    ``threshold`` of the time (wins = score + 0.5), in proportion to
    wins^bias; a provider that rarely wins gets nothing, unless no other
    provider wins that often: then the runner-up takes the rest, so the
    network is never all-in. Measurement needs no share (every client
    probes every provider prefix), so ``floor`` is 0 by default; set, every
    other provider keeps it (the share model before the seed's ranking:
    ``floor 0.02, threshold 0``). With one provider it takes everything;
    cap and floor adapt when n makes them impossible (floor <= 1/n <= cap).
    """
    ks = sorted(scores)
    n = len(ks)
    if n == 0:
        return {}
    rtt = rtts or {}
    key = {k: (-scores[k], rtt.get(k, math.inf)) for k in ks}
    best = min(key.values())
    top = [k for k in ks if key[k] == best]
    others = sorted((k for k in ks if key[k] != best), key=lambda k: key[k])
    floor = min(steering.floor, 1.0 / n)
    cap = max(steering.cap, 1.0 / n)
    reserve = floor * len(others)
    top_total = min(cap * len(top), 1.0 - reserve)
    share = {k: top_total / len(top) for k in top}
    rest = max(0.0, 1.0 - top_total - reserve)
    wins = {k: max(0.0, scores[k] + 0.5) for k in others}
    eligible = [k for k in others if wins[k] >= steering.threshold] or others[:1]
    w = {k: wins[k] ** steering.bias for k in eligible}
    wsum = sum(w.values())
    for k in others:  # all-zero weights: the rest is split equally among the eligible
        part = (w[k] / wsum if wsum > 0 else 1.0 / len(eligible)) if k in w else 0.0
        share[k] = floor + rest * part
    # a low cap binds the others too: water-fill the excess to those below it
    for _ in range(n):
        over = [k for k in ks if share[k] > cap + 1e-12]
        if not over:
            break
        excess = sum(share[k] - cap for k in over)
        for k in over:
            share[k] = cap
        room = [k for k in ks if share[k] < cap - 1e-12]
        for k in room:
            share[k] += excess / len(room)
    return {k: round(v, 6) for k, v in share.items() if v > 0 or floor > 0}


def floor_rtt(topo: Topology, city: str) -> float:
    """Physical floor: RTT over a straight fibre to the nearest PoP."""
    c = topo.cities[city]
    km = min(great_circle_km(c.lat, c.lon, topo.cities[p].lat, topo.cities[p].lon)
             for p in topo.cdn.cities)
    return round(2 * km / FIBRE_KM_PER_MS, 3)


def _r(x: Optional[float]) -> Optional[float]:
    return None if x is None else round(x, 3)


def iqr(values: Iterable[float]) -> Optional[float]:
    """Interquartile range: how much the RTT a client saw varied (links' variability)."""
    v = list(values)
    if len(v) < 4:
        return None
    hi, lo = percentile(v, 75), percentile(v, 25)
    return _r(hi - lo) if hi is not None and lo is not None else None


def measured_ipa(rows: list[dict[str, Any]], addr_provider: dict[str, str],
                 shares: dict[str, float], prov: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """IPA as the client experienced it: its probes to the addresses DNS
    answered (``ipa`` rows; an unresolved probe has no address and is lost).
    ``answers``: the fraction of those probes that went to each provider."""
    got = Counter(addr_provider.get(r["target"], "?") for r in rows if r["target"])
    n = sum(got.values())
    answers = {k: round(v / n, 6) for k, v in sorted(got.items())} if n else {}
    pops = {k: mode(r["pop"] for r in rows if addr_provider.get(r["target"]) == k) or prov.get(k, {}).get("pop")
            for k in answers}
    return {"source": "dns", "shares": shares, "answers": answers,
            "rtt_ms": _r(median(r["rtt_ms"] for r in rows if r["rtt_ms"] is not None)),
            "iqr_ms": iqr(r["rtt_ms"] for r in rows if r["rtt_ms"] is not None),
            "pop": mode(r["pop"] for r in rows), "pops": pops, "probes": len(rows),
            "lost": sum(1 for r in rows if r["rtt_ms"] is None),
            "unresolved": sum(1 for r in rows if not r["target"])}


def share_model(shares: dict[str, float], prov: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A share model's entry: share-weighted median RTT, the top provider's PoP."""
    ipa_rtt = sum(shares[k] * prov[k]["rtt_ms"] for k in shares) if shares else None
    main_k = max(shares, key=lambda k: (shares[k], -prov[k]["rtt_ms"])) if shares else None
    return {"source": "model", "shares": shares, "rtt_ms": _r(ipa_rtt),
            "pop": prov[main_k]["pop"] if main_k else None,
            "pops": {k: prov[k]["pop"] for k in shares}}


def analyse_client(rows: list[dict[str, Any]], providers: list[str], pops: list[str],
                   floor_ms: float, steering: Steering,
                   addr_provider: Optional[dict[str, str]] = None) -> dict[str, Any]:
    """One client's entry of report.json from its samples (UDP: RTT and PoP).

    ``ipa`` comes from the client's probes to its DNS answers when the run
    had DNS steering (``addr_provider`` maps P_k's address to k), else from
    the share model; ``ipa_model`` is always the share model."""
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by[(r["scheme"], r["proto"])].append(r)  # type: ignore[index]

    def stat(scheme: str) -> dict[str, Any]:
        udp = by.get((scheme, "udp"), [])  # type: ignore[call-overload]
        icmp = by.get((scheme, "icmp"), [])  # type: ignore[call-overload]
        rtts = [r["rtt_ms"] for r in udp if r["rtt_ms"] is not None]
        return {"rtt_ms": _r(median(rtts)), "iqr_ms": iqr(rtts), "pop": mode(r["pop"] for r in udp),
                "icmp_rtt_ms": _r(median(r["rtt_ms"] for r in icmp if r["rtt_ms"] is not None)),
                "samples": len(udp) + len(icmp),
                "lost": sum(1 for r in udp + icmp if r["rtt_ms"] is None)}

    prov = {k: stat(f"provider:{k}") for k in providers}
    samples = {k: [r["rtt_ms"] for r in by.get((f"provider:{k}", "udp"), [])]  # type: ignore[call-overload]
               for k in providers}
    nominal, wins, scores = wan({k: v for k, v in samples.items() if v})
    shares = allocate({k: s for k, s in scores.items() if prov[k]["rtt_ms"] is not None}, steering,
                      {k: v["rtt_ms"] for k, v in prov.items() if v["rtt_ms"] is not None})
    reachable = {k: v for k, v in prov.items() if v["rtt_ms"] is not None}
    oracle_k = min(reachable, key=lambda k: reachable[k]["rtt_ms"]) if reachable else None
    uni = {p: stat(f"unicast:{p}") for p in pops}
    uni_ok = {p: v for p, v in uni.items() if v["rtt_ms"] is not None}
    opt_p = min(uni_ok, key=lambda p: uni_ok[p]["rtt_ms"]) if uni_ok else None
    model = share_model(shares, prov)
    all_in = share_model(allocate({k: s for k, s in scores.items() if k in reachable},
                                  replace(steering, cap=1.0, floor=0.0),
                                  {k: v["rtt_ms"] for k, v in reachable.items()}), prov)
    dns_rows = by.get(("ipa", "udp"), [])  # type: ignore[call-overload]
    return {
        "global": stat("global"),
        "providers": prov,
        "wan": scores, "wins": {k: round(v, 6) for k, v in wins.items()},
        "nominal_rtt_ms": _r(nominal),
        "ipa": measured_ipa(dns_rows, addr_provider or {}, shares, prov) if dns_rows else model,
        "ipa_model": model,
        "all_in": all_in,
        "oracle": {"provider": oracle_k, "rtt_ms": reachable[oracle_k]["rtt_ms"] if oracle_k else None,
                   "pop": reachable[oracle_k]["pop"] if oracle_k else None},
        "optimal": {"rtt_ms": uni_ok[opt_p]["rtt_ms"] if opt_p else None, "pop": opt_p},
        "unicast": {p: {"rtt_ms": v["rtt_ms"], "lost": v["lost"]} for p, v in uni.items()},
        "floor_rtt_ms": floor_ms,
    }


def summarize(clients: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Distribution over clients, per scheme, and how far from optimal."""
    out = {}
    schemes = list(KEYS)
    if not any(c["ipa"].get("source") == "dns" for c in clients.values()):
        schemes.remove("ipa_model")  # the same figures as ipa
    for scheme in schemes:
        rtts, infl, off, traffic_off, unreachable, spread = [], [], [], [], 0, []
        for c in clients.values():
            measured = get_scheme(scheme).measured
            rtt = c[scheme]["rtt_ms"] if measured else c["floor_rtt_ms"]
            if measured and c[scheme].get("iqr_ms") is not None:
                spread.append(c[scheme]["iqr_ms"])
            opt = c["optimal"]
            if rtt is None:
                unreachable += 1
                continue
            rtts.append(rtt)
            if opt["rtt_ms"] is not None and measured:
                infl.append(rtt - opt["rtt_ms"])
            if opt["pop"] is None or not measured:
                continue
            # a client is "at" the PoP of its scheme (for IPA: of its top provider)
            off.append(1.0 if c[scheme]["pop"] != opt["pop"] else 0.0)
            if get_scheme(scheme).family == "ipa":  # and the share of its traffic that lands elsewhere
                x = c[scheme]
                sh = x.get("answers") or x["shares"]
                traffic_off.append(sum(s for k, s in sh.items() if x["pops"].get(k) != opt["pop"]))
        out[scheme] = {
            "clients": len(rtts), "unreachable_clients": unreachable,
            "suboptimal_traffic_share": _r(sum(traffic_off) / len(traffic_off)) if traffic_off else None,
            "median_rtt_ms": _r(median(rtts)), "p90_rtt_ms": _r(percentile(rtts, 90)),
            "p99_rtt_ms": _r(percentile(rtts, 99)),
            "mean_rtt_ms": _r(sum(rtts) / len(rtts)) if rtts else None,
            "suboptimal_share": _r(sum(off) / len(off)) if off else None,
            "inflation_median_ms": _r(median(infl)), "inflation_p90_ms": _r(percentile(infl, 90)),
            "iqr_median_ms": _r(median(spread)),
        }
    return out


def analyse(topo: Topology, providers: list[str], rows: list[dict[str, Any]],
            steering: Steering = Steering(), net: Optional[Network] = None) -> dict[str, Any]:
    """The ``clients`` and ``summary`` of one phase; with ``net`` (the load
    model's paths, demand and capacities) and ``steering.headroom`` > 0 the
    IPA shares keep the CDN ports under the headroom (``headroom``), and the
    phase gets a ``headroom`` record of what moved."""
    from ..model.addressing import plan_addresses, provider_addresses

    per: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        per[r["client"]].append(r)
    addr_provider = {a: k for k, a in provider_addresses(plan_addresses(topo)).items()}
    clients, reqs = {}, {}
    for a in topo.clients():
        clients[a.id] = analyse_client(per.get(a.id, []), providers, list(topo.cdn.cities),
                                       floor_rtt(topo, a.cities[0]), steering, addr_provider)
        clients[a.id]["city"] = a.cities[0]
        clients[a.id]["demand_gbps"] = round(a.demand_gbps, 3)
    out: dict[str, Any] = {"clients": clients}
    if net is not None and steering.headroom > 0:
        out["headroom"] = headroom(clients, net, steering)
    for a in topo.clients():
        reqs[a.id] = requests.client_requests(per.get(a.id, []), clients[a.id], a.demand_gbps)
    summary = summarize(clients)
    over = requests.summarize(reqs, {c: v["optimal"]["pop"] for c, v in clients.items()})
    for scheme, v in summary.items():
        v["requests"] = over.get(scheme)
    out["summary"] = summary
    return out


def ranks(clients: dict[str, dict[str, Any]]) -> dict[str, Rank]:
    """Each client's WAN ranking over the providers it reached (scores, median RTTs)."""
    out = {}
    for c, v in clients.items():
        rtts = {k: p["rtt_ms"] for k, p in v["providers"].items() if p["rtt_ms"] is not None}
        out[c] = Rank({k: s for k, s in v["wan"].items() if k in rtts}, rtts)
    return out


def headroom(clients: dict[str, dict[str, Any]], net: Network, steering: Steering) -> dict[str, Any]:
    """Apply the capacity headroom (model/headroom.py) to the clients' model
    shares in place; the ranked shares stay beside them as ``ranked_shares``."""
    ranked = {c: v["ipa_model"]["shares"] for c, v in clients.items() if v["ipa_model"]["shares"]}
    res = apply_headroom(ranked, ranks(clients), net, steering)
    for c in res.changed(ranked):
        v = clients[c]
        model = share_model(res.shares[c], v["providers"])
        model["ranked_shares"] = ranked[c]
        if v["ipa"] is v["ipa_model"]:
            v["ipa"] = model
        else:  # DNS: the zone held the published shares
            v["ipa"]["shares"] = res.shares[c]
        v["ipa_model"] = model
    return res.record(ranked)
