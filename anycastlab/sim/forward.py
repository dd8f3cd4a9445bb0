"""The data plane of the route model: a request from a client's host to a
service address, hop by hop through the routers' FIBs, to the PoP's edge
host, and the reply from there back to the host, as the kernels forward
them (the PoPs' return tables included); RTT is the sum of the one-way
latencies of both walks' hops (each hop leaves through an interface whose
``latency_ms`` the address plan gives).

Routes come from sim/routing.py: one propagation per service prefix, and
one per client site prefix for the replies (``returns="exact"``); with
``returns="symmetric"`` a reply is assumed to retrace its request (the
reply hops are then the request's reversed, and say so).

Ties the kernel breaks and the model cannot: an iBGP route whose exit is
reached over several equal-cost OSPF paths gets every first hop (BIRD's
OSPF does ECMP by default) and the kernel hashes each flow onto one. The
model takes the first in BIRD's order (lowest gateway address: the one
``birdc`` lists first) and notes the tie.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Optional

from ..model.addressing import client_host_name, client_router_name, edge_host_name
from ..model.policy import return_interfaces
from .routing import EBGP, IBGP, SPEAKER, STATIC, Net, Origin, Route, build, propagate, service_origins

MAX_HOPS = 64
RETURNS = ("exact", "symmetric", "auto")
AUTO_EXACT_LIMIT = 1_000_000   # auto: exact replies up to this many clients x routers (~20 s)
Tail = tuple[list[tuple[str, str]], str, float, list[str]]   # hops, end, ms, ties


@dataclass
class Walk:
    """One packet's way: ``hops`` [(node, next node)], ``end`` the node it was
    delivered to ('' if dropped), ``ms`` the one-way latency, ``ties`` the
    equal-cost choices the kernel would hash."""

    hops: list[tuple[str, str]] = field(default_factory=list)
    end: str = ""
    ms: float = 0.0
    ties: list[str] = field(default_factory=list)
    symmetric: bool = False   # a reply assumed to retrace the request (``hops`` left empty)


@dataclass
class Outcome:
    """A client and one target: the PoP, both walks, the RTT, the client
    router's AS path."""

    pop: Optional[str]
    request: Walk
    reply: Optional[Walk]
    rtt_ms: Optional[float]
    as_path: list[int]


@dataclass
class Simulation:
    net: Net
    targets: list[str]                           # global, provider:<k>, unicast:<pop>
    routes: dict[str, list[Optional[Route]]]     # target or client -> best route per router
    origins: dict[str, list[Origin]]
    outcomes: dict[str, dict[str, Outcome]]      # client -> target -> outcome
    returns: str                                 # exact | symmetric
    timings: dict[str, float]


def next_router(net: Net, r: int, best: Route) -> tuple[Optional[int], list[int]]:
    """The router a packet goes on to from ``r`` by its best route, and the
    equal-cost alternatives (more than one: an ECMP tie)."""
    if best.kind == EBGP:
        return best.frm, [best.frm]
    if best.kind == IBGP:
        hops = net.first_hops.get((r, best.frm), [])
        return (hops[0] if hops else None), hops
    return None, []


class Walker:
    """Walks through one prefix's FIBs. ``local``: router -> the host a
    speaker or static route delivers to; ``source``: router -> the next node
    a source rule forces (the PoPs' return tables). The way on from a router
    does not depend on where a packet came from, so the rest of a walk from
    each router is kept and shared by every later walk that passes it."""

    def __init__(self, net: Net, routes: list[Optional[Route]], local: dict[int, str],
                 source: Optional[dict[int, str]] = None) -> None:
        self.net, self.routes, self.local, self.source = net, routes, local, source or {}
        self.memo: dict[int, Tail] = {}

    def step(self, r: int) -> tuple[Optional[str], list[str]]:
        """The next node from router ``r``, and the tie it broke (if any)."""
        if r in self.source:
            return self.source[r], []
        best = self.routes[r]
        if best is None:
            return None, []
        if best.kind in (SPEAKER, STATIC):
            return self.local[r], []
        j, alts = next_router(self.net, r, best)
        if j is None:
            return None, []
        if len(alts) == 1:
            return self.net.name(j), []
        names = ", ".join(self.net.name(a) for a in alts)
        return self.net.name(j), [f"{self.net.name(r)}: equal-cost OSPF next hops {names}"]

    def rest(self, r: int) -> Tail:
        """(hops, end, ms, ties) from router ``r`` on; end '' when dropped."""
        net, trail, seen = self.net, [], set()
        tail: Tail = ([], "", 0.0, [])
        cur = r
        while len(trail) < MAX_HOPS:
            if cur in self.memo:
                tail = self.memo[cur]
                break
            if cur in seen:   # a forwarding loop: the packet dies of its TTL
                break
            seen.add(cur)
            nxt, tie = self.step(cur)
            if nxt is None:
                break
            trail.append((cur, nxt, tie))
            if nxt not in net.index:   # a host: delivered
                tail = ([], nxt, 0.0, [])
                break
            cur = net.index[nxt]
        hops, end, ms, ties = tail
        for a, b, tie in reversed(trail):
            name = net.name(a)
            hops, ms, ties = [(name, b)] + hops, net.latency[(name, b)] + ms, tie + ties
            self.memo[a] = (hops, end, ms, ties)
        return self.memo.get(r, tail)

    def walk(self, host: str) -> Walk:
        """From a host: its default route to its router, then the FIBs."""
        router = self.net.gateway[host]
        hops, end, ms, ties = self.rest(self.net.index[router])
        return Walk([(host, router)] + hops, end, round(self.net.latency[(host, router)] + ms, 6), list(ties))


def return_tables(net: Net) -> dict[str, dict[int, str]]:
    """Provider k -> {PoP router: k's router}: where replies sourced from P_k
    leave each PoP that has k (the interface config/bird.py renders into the
    return table, model/policy.return_interfaces)."""
    out: dict[str, dict[int, str]] = {}
    for p in net.topo.cdn.cities:
        node = net.plan.nodes[f"{net.topo.cdn.id}-{p}"]
        for k, intf in return_interfaces(net.plan, node):
            out.setdefault(k, {})[net.index[node.name]] = intf.peer_node
    return out


def targets_of(net: Net) -> list[str]:
    """Every service prefix a client may be sent to: G, each P_k, each U_p."""
    sv = net.plan.services
    return (["global"] + [f"provider:{k}" for k in sv.provider_prefixes]
            + [f"unicast:{p}" for p in net.topo.cdn.cities])


def simulate(topo: Any, returns: str = "auto", clients: Optional[list[str]] = None) -> Simulation:
    """Catchment, both walks and the RTT of every client (or of ``clients``)
    to G, every P_k and every U_p."""
    t0 = time.perf_counter()
    net = build(topo)
    cdn = topo.cdn
    targets = targets_of(net)
    names = clients if clients is not None else [a.id for a in topo.clients()]
    if returns == "auto":
        returns = "exact" if len(names) * len(net.routers) <= AUTO_EXACT_LIMIT else "symmetric"
    t1 = time.perf_counter()
    routes: dict[str, list[Optional[Route]]] = {}
    origins: dict[str, list[Origin]] = {}
    for t in targets:
        origins[t] = service_origins(net, t)
        routes[t] = propagate(net, origins[t])
    t2 = time.perf_counter()
    if returns == "exact":
        for c in names:
            origins[c] = [Origin(net.index[client_router_name(topo.ases[c])], STATIC)]
            routes[c] = propagate(net, origins[c])
    t3 = time.perf_counter()
    edge = {net.index[f"{cdn.id}-{p}"]: edge_host_name(p) for p in cdn.cities}
    walkers = {t: Walker(net, routes[t], {o.router: edge[o.router] for o in origins[t]}) for t in targets}
    ret = return_tables(net)
    outcomes: dict[str, dict[str, Outcome]] = {}
    for c in names:
        host = client_host_name(c)
        router = net.index[client_router_name(topo.ases[c])]
        back: dict[Optional[str], Walker] = {}
        outcomes[c] = {}
        for t in targets:
            req = walkers[t].walk(host)
            best = routes[t][router]
            out = outcomes[c][t] = Outcome(None, req, None, None, list(best.as_path) if best else [])
            if not req.end.startswith(edge_host_name("")):
                continue
            out.pop = req.end[len(edge_host_name("")):]
            if returns == "exact":
                k = t.split(":", 1)[1] if t.startswith("provider:") else None
                if k not in back:
                    back[k] = Walker(net, routes[c], {router: host}, ret.get(k) if k else None)
                out.reply = back[k].walk(req.end)
                if out.reply.end != host:
                    continue
            else:
                out.reply = Walk([], host, req.ms, [], True)   # the request's hops, reversed
            out.rtt_ms = round(req.ms + out.reply.ms, 6)
    t4 = time.perf_counter()
    return Simulation(net, targets, routes, origins, outcomes, returns,
                      {"build_s": t1 - t0, "service_prefixes_s": t2 - t1, "client_prefixes_s": t3 - t2,
                       "walks_s": t4 - t3, "total_s": t4 - t0})
