"""Capacity headroom in IPA steering: no share may push a CDN port past a
utilisation limit (``Steering.headroom``, default 0.8).

WAN ranks each client network's providers on its own, so networks that
rank the same provider first all put ``cap`` of their IPA traffic on it and
can herd onto one port of the CDN (world: cdn-sao > rla-sao at 121 % when
two networks put 90 % on rla). This is the rule a CDN's traffic engineering
applies after ranking, as a pure function of the ranking and the load model
(model/load.py):

- a **CDN port** is a link direction (a, b) whose node a belongs to the
  CDN's AS and b does not: the port a download leaves the CDN by;
- its load is the load model's (``demand_flows``/``offered``): every
  network's demand, ``1 - ipa_fraction`` of it through the global prefix
  (not movable), the rest by the shares, plus ``upstream_ratio`` upstream;
- ports above ``limit`` x capacity are relieved one at a time, the most
  utilised first (ties by name). On a port, the IPA shares that cross it are
  taken in order of the WAN score their client gives up, smallest first:
  the score of the provider left minus the best score among the client's
  other providers; ties by client name, then provider. Each share moves to
  the client's other providers in WAN order (score, then median RTT, then
  name; allocate's order), only as much as the port needs, never lifting a
  provider above ``cap``, never filling another CDN port past the limit,
  never below ``floor``, and never onto a provider the ranking refuses a
  share (wins below ``threshold`` and holding none);
- what no provider has room for stays where it is; the port is then listed
  in ``unresolved`` with its utilisation.

``limit`` 0 switches the rule off (shares returned as given). Shares move
in steps of 1e-6 (the shares' rounding); moving more than a port needs
rounds up, room rounds down.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from .load import Hop, demand_flows, offered
from .settings import Steering

EPS = 1e-9
STEP = 1e-6   # shares are rounded to 6 decimals


@dataclass(frozen=True)
class Rank:
    """A client network's ranking: WAN score and median RTT per provider it reached."""

    scores: Mapping[str, float]
    rtts: Mapping[str, float] = field(default_factory=dict)

    @property
    def order(self) -> list[str]:
        return wan_order(self.scores, self.rtts)


def wan_order(scores: Mapping[str, float], rtts: Optional[Mapping[str, float]] = None) -> list[str]:
    """Providers best first: WAN score, then median RTT, then name (``allocate``'s order)."""
    rt = rtts or {}
    return sorted(scores, key=lambda k: (-scores[k], rt.get(k, math.inf), k))


@dataclass(frozen=True)
class Network:
    """What the load model knows: demand, routed paths, capacities, the CDN's nodes."""

    demand: Mapping[str, float]
    paths: Mapping[tuple[str, str], tuple[Sequence[Hop], Sequence[Hop]]]   # (fwd, return)
    capacity: Mapping[Hop, float]
    cdn_nodes: frozenset[str]
    ipa_fraction: float
    upstream_ratio: float
    providers: tuple[str, ...]

    def ports(self) -> list[Hop]:
        """Every CDN port: a link direction leaving the CDN's AS."""
        return sorted(h for h in self.capacity if h[0] in self.cdn_nodes and h[1] not in self.cdn_nodes)

    def unit(self, client: str, target: str, ports: set[Hop]) -> dict[Hop, float]:
        """Gbit/s a share of 1 of the client's IPA traffic puts on each port."""
        if (client, target) not in self.paths:
            return {}
        fwd, ret = self.paths[(client, target)]
        rate = self.demand.get(client, 0.0) * self.ipa_fraction
        out: dict[Hop, float] = {}
        for hops, r in ((ret, rate), (fwd, rate * self.upstream_ratio)):
            for h in hops:
                if h in ports and r > 0:
                    out[h] = out.get(h, 0.0) + r
        return out


@dataclass
class Outcome:
    """The shares to publish and what the rule did."""

    shares: dict[str, dict[str, float]]
    limit: float
    moves: list[dict[str, Any]] = field(default_factory=list)
    over: dict[str, float] = field(default_factory=dict)        # port -> utilisation before
    unresolved: list[dict[str, Any]] = field(default_factory=list)

    def changed(self, ranked: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
        """The ranked shares of the clients whose shares the rule changed."""
        return {c: dict(ranked[c]) for c in sorted(ranked) if dict(ranked[c]) != self.shares.get(c)}

    def record(self, ranked: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
        """For logs and report.json: the limit, ports over it, moves, what stayed over."""
        return {"limit": self.limit, "over": self.over, "moves": self.moves,
                "unresolved": self.unresolved, "ranked": self.changed(ranked)}


def port_name(h: Hop) -> str:
    return f"{h[0]}>{h[1]}"


def port_load(shares: Mapping[str, Mapping[str, float]], net: Network, ports: list[Hop]) -> dict[Hop, float]:
    """Gbit/s on each port under these shares (the load model's flows)."""
    flows = demand_flows(net.demand, shares, net.paths, net.ipa_fraction, net.upstream_ratio,
                         list(net.providers))
    total = offered((r, h) for r, h, _ in flows)
    return {p: total.get(p, 0.0) for p in ports}


def _up(x: float) -> float:
    return math.ceil(x / STEP - 1e-6) * STEP


def _down(x: float) -> float:
    return math.floor(x / STEP + 1e-6) * STEP


def apply_headroom(shares: Mapping[str, Mapping[str, float]], ranks: Mapping[str, Rank],
                   net: Network, steering: Steering) -> Outcome:
    """Move IPA share off CDN ports above ``steering.headroom`` (see the module docstring)."""
    new = {c: dict(v) for c, v in shares.items()}
    limit = steering.headroom
    out = Outcome(new, limit)
    if limit <= 0:
        return out
    ports = net.ports()
    pset = set(ports)
    load = port_load(shares, net, ports)
    cap_of = {p: limit * net.capacity[p] for p in ports}

    def rho(p: Hop) -> float:
        return load[p] / net.capacity[p]

    over = sorted((p for p in ports if rho(p) > limit + EPS), key=lambda p: (-rho(p), p))
    out.over = {port_name(p): round(rho(p), 4) for p in over}
    units: dict[tuple[str, str], dict[Hop, float]] = {}

    def unit(c: str, k: str) -> dict[Hop, float]:
        if (c, k) not in units:
            units[(c, k)] = net.unit(c, k, pset)
        return units[(c, k)]

    def given_up(c: str, k: str) -> float:
        sc = ranks[c].scores if c in ranks else {}
        others = [sc[j] for j in sc if j != k and (c, j) in net.paths]
        return sc.get(k, 0.0) - max(others) if others and k in sc else 0.0

    for p in over:
        if rho(p) <= limit + EPS:
            continue  # an earlier port's moves relieved it
        cands = sorted(((c, k) for c in new for k, s in new[c].items() if s > 0 and unit(c, k).get(p, 0) > 0),
                       key=lambda ck: (given_up(*ck), ck[0], ck[1]))
        before = rho(p)
        for c, k in cands:
            rk = ranks.get(c, Rank({}))
            cap = max(steering.cap, 1.0 / max(1, len(rk.scores)))
            for j in rk.order:
                need = load[p] - cap_of[p]
                if need <= EPS * net.capacity[p]:
                    break
                if j == k or (c, j) not in net.paths:
                    continue
                if new[c].get(j, 0.0) <= 0 and rk.scores[j] + 0.5 < steering.threshold:
                    continue  # the ranking would refuse it a share
                relief = unit(c, k).get(p, 0.0) - unit(c, j).get(p, 0.0)
                if relief <= 0:
                    continue
                x = min(_up(need / relief), _down(new[c][k] - steering.floor), _down(cap - new[c].get(j, 0.0)))
                for q in set(unit(c, j)) | set(unit(c, k)):
                    inc = unit(c, j).get(q, 0.0) - unit(c, k).get(q, 0.0)
                    if inc > 0:
                        x = min(x, _down(max(0.0, cap_of[q] - load[q]) / inc))
                if x < STEP / 2:
                    continue
                p_before = rho(p)
                new[c][k] = round(new[c][k] - x, 6)
                new[c][j] = round(new[c].get(j, 0.0) + x, 6)
                for q in set(unit(c, j)) | set(unit(c, k)):
                    load[q] += x * (unit(c, j).get(q, 0.0) - unit(c, k).get(q, 0.0))
                out.moves.append({"port": port_name(p), "client": c, "from": k, "to": j,
                                  "share": round(x, 6), "gbps": round(x * relief, 3),
                                  "rho_before": round(p_before, 4), "rho_after": round(rho(p), 4),
                                  "to_ports": {port_name(q): round(rho(q), 4) for q in sorted(unit(c, j))
                                               if q != p}})
        if rho(p) > limit + EPS:
            out.unresolved.append({"port": port_name(p), "rho_before": round(before, 4),
                                   "rho_after": round(rho(p), 4),
                                   "why": "no other provider of the networks on it has room under "
                                          "the limit and the cap"})
    for c in new:
        new[c] = {k: v for k, v in new[c].items() if v > 0 or steering.floor > 0}
    return out


def network_from_section(section: Optional[Mapping[str, Any]], providers: Sequence[str]) -> Optional[Network]:
    """The Network a run recorded in report.json's ``load`` (demand, capacities,
    the CDN's nodes and the paths of its last reading); None for runs without
    the load model or from before paths were recorded."""
    if not section or not section.get("paths") or not section.get("cdn_nodes"):
        return None

    def hops(nodes: Sequence[str]) -> list[Hop]:
        return list(zip(nodes[:-1], nodes[1:]))

    paths = {}
    for key, (fwd, ret) in section["paths"].items():
        c, _, t = key.partition(">")
        paths[(c, t)] = (hops(fwd), hops(ret))
    capacity = {}
    for key, gbps in section.get("capacity_gbps", {}).items():
        a, _, b = key.partition(">")
        capacity[(a, b)] = float(gbps)
    return Network(dict(section.get("demand_gbps", {})), paths, capacity, frozenset(section["cdn_nodes"]),
                   float(section.get("ipa_fraction", 0.5)),
                   float((section.get("settings") or {}).get("upstream_ratio", 0.05)), tuple(providers))
