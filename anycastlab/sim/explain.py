"""Why a client lands where it does, computed: the hop-by-hop walk of
``anycastlab explain`` (measure/explain.py) on the route model instead of
the running BIRDs, in the same shape (``as_dicts``), so the two can be
compared hop by hop and candidate by candidate.

At each router: every candidate route the model gives it (what its
neighbours' best routes export to it), the best one, and for each other
the step of BIRD's decision it lost on (model/decision.deciding_step, the
function the lab's explain uses); then on to the router the best route's
first next hop names (for an iBGP route: the first equal-cost OSPF next hop
in BIRD's order, as ``birdc`` lists it), until a PoP border router that has
the prefix from its own speaker.
"""
from __future__ import annotations

from typing import Any, Optional

from ..errors import InputError
from ..model.addressing import client_router_name, edge_host_name
from ..model.decision import deciding_step
from .forward import Simulation, next_router
from .routing import EBGP, IBGP, SPEAKER, Net, Route, candidates, origin_route

REL = {0: "own", 1: "customer", 2: "peer", 3: "provider"}


def target_name(sim: Simulation, text: str) -> str:
    """The target a ``--prefix`` argument means: ``global`` (or ``g``), a
    provider id (or ``provider:<k>``), ``unicast:<pop>``."""
    t = {"g": "global"}.get(text, text)
    if t not in sim.targets and f"provider:{t}" in sim.targets:
        t = f"provider:{t}"
    if t not in sim.targets:
        names = ["global"] + [x.split(":", 1)[1] if x.startswith("provider:") else x for x in sim.targets[1:]]
        raise InputError(f"unknown prefix '{text}'", key="--prefix",
                         fix=f"use one of: {', '.join(names)}")
    return t


def client_router(net: Net, name: str) -> str:
    """The router a CLIENT argument means: a router as is, a client AS id or its host ``h-<id>``."""
    if name in net.index:
        return name
    asid = name[2:] if name.startswith("h-") else name
    a = net.topo.ases.get(asid)
    if a is not None and a.role == "client":
        return client_router_name(a)
    some = ", ".join(x.id for x in net.topo.clients()[:5])
    raise InputError(f"unknown client '{name}'", key="CLIENT",
                     fix=f"use a client AS id of {net.topo.name}, e.g. {some}")


def router_id(net: Net, r: int, route: Route) -> str:
    """The router id the lab's explain shows for a candidate: the
    neighbour's loopback, or the edge host's address for the speaker."""
    if route.kind == SPEAKER:
        return net.plan.nodes[edge_host_name(net.routers[r].city)].interfaces[0].ip
    return net.routers[route.frm].rid


def via(net: Net, r: int, route: Route) -> str:
    if route.kind == SPEAKER:
        return edge_host_name(net.routers[r].city)
    return net.name(route.frm)


def learned_from(route: Route) -> str:
    return "own" if route.tag is None else REL.get(route.tag, "?")


def hop(net: Net, r: int, cands: list[Route], best: Optional[Route]) -> dict[str, Any]:
    """One router of the walk, shaped like measure/explain.py's ``Hop``."""
    me = net.routers[r]
    a = net.topo.ases[me.asid]
    rows = []
    order = sorted(cands, key=lambda c: (c != best, c.key))
    for c in order:
        rows.append({
            "best": c == best, "via": via(net, r, c), "session": c.kind, "as_path": list(c.as_path),
            "local_pref": c.local_pref, "learned_from": learned_from(c),
            "igp_cost": c.igp_metric if c.kind == IBGP else None, "router_id": router_id(net, r, c),
            "lost_on": None if c == best or best is None else
            deciding_step(best, c, router_id(net, r, best), router_id(net, r, c)),
        })
    return {"router": me.name, "asn": me.asn, "as_name": a.name, "city": net.topo.cities[me.city].name,
            "candidates": rows, "next_router": None, "pop": None}


def walk(sim: Simulation, client: str, target: str, limit: int = 32) -> list[dict[str, Any]]:
    """Follow the best route for ``target`` from the client's router to a PoP."""
    net = sim.net
    target = target_name(sim, target)
    routes = sim.routes[target]
    fixed = {o.router: origin_route(o) for o in sim.origins[target]}
    name: Optional[str] = client_router(net, client)
    hops: list[dict[str, Any]] = []
    seen: set[str] = set()
    while name and name not in seen and len(hops) < limit:
        seen.add(name)
        r = net.index[name]
        best = routes[r]
        h = hop(net, r, candidates(net, routes, r, fixed.get(r)), best)
        hops.append(h)
        if best is None:
            break
        if best.kind == SPEAKER:
            h["pop"] = net.routers[r].city
            break
        j, _ = next_router(net, r, best) if best.kind in (EBGP, IBGP) else (None, [])
        h["next_router"] = net.name(j) if j is not None else None
        name = h["next_router"]
    return hops
