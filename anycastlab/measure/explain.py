"""Why a client lands where it does: BGP's decision, hop by hop, from the
running BIRDs.

Starting at the client's router, read every candidate route for the prefix
(``show route for X all``), name the decision step that made the best one
win over each other candidate (BIRD's order: local preference, AS-path
length, origin, MED, eBGP over iBGP, IGP cost, router id, neighbour
address), then follow the best route's next hop to the next router, until
a PoP border router that has the route from its own speaker.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from ..errors import InputError
from ..model.addressing import client_router_name, edge_host_name
from ..model.decision import ORIGIN, deciding_step  # noqa: F401  (shared with the simulator)

REL = {1: "customer", 2: "peer", 3: "provider", 0: "own"}

# "<prefix>  unicast [proto time from X] * (pref/igp) ...": the type may also be
# unreachable/blackhole/prohibit, the IGP field "-" or "?" (next hop not
# resolvable), and "s" marks a stale route.
HEAD = re.compile(r"^(?:(\S+/\d+)\s+)?\s*([a-z]+) \[(\S+) [^\]]*?(?: from (\S+))?\]"
                  r" (\*)?\s*\((\d+)s?(?:/([\d?-]+))?\)")


@dataclass
class Route:
    proto: str
    best: bool
    igp_metric: Optional[int]
    from_addr: Optional[str]
    reachable: bool = True
    via: Optional[str] = None
    iface: Optional[str] = None
    as_path: list[int] = field(default_factory=list)
    local_pref: int = 100
    origin: str = "IGP"
    med: Optional[int] = None
    communities: list[tuple[int, int, int]] = field(default_factory=list)

    @property
    def internal(self) -> bool:
        """Learned inside the AS (iBGP, or the PoP's own speaker over iBGP)."""
        return self.kind in ("iBGP", "speaker")

    @property
    def kind(self) -> str:
        if self.proto.startswith("ibgp_"):
            return "iBGP"
        if self.proto == "speaker":
            return "speaker"
        return "eBGP"

    def relation(self, asn: int) -> str:
        for a, b, c in self.communities:
            if a == asn and b == 1:
                return REL.get(c, "?")
        return "own" if self.kind == "speaker" else "?"


def parse_routes(text: str) -> list[Route]:
    """Parse ``show route for X all`` into candidate routes (best first as BIRD prints)."""
    routes: list[Route] = []
    for line in text.splitlines():
        m = HEAD.match(line)
        if m:
            igp = m.group(7)
            routes.append(Route(proto=m.group(3), best=bool(m.group(5)),
                                igp_metric=int(igp) if igp and igp.isdigit() else None,
                                from_addr=m.group(4),
                                reachable=m.group(2) == "unicast" and igp not in ("-", "?")))
            continue
        if not routes:
            continue
        r = routes[-1]
        s = line.strip()
        if s.startswith("via ") and r.via is None:
            parts = s.split()
            r.via = parts[1]
            r.iface = parts[3] if len(parts) > 3 else None
        elif s.startswith("BGP.as_path:"):
            r.as_path = [int(x) for x in s.split(":", 1)[1].split() if x.isdigit()]
        elif s.startswith("BGP.local_pref:"):
            r.local_pref = int(s.split(":", 1)[1])
        elif s.startswith("BGP.origin:"):
            r.origin = s.split(":", 1)[1].strip()
        elif s.startswith("BGP.med:"):
            r.med = int(s.split(":", 1)[1])
        elif s.startswith("BGP.large_community:"):
            r.communities = [tuple(int(x) for x in t.split(","))  # type: ignore[misc]
                             for t in re.findall(r"\((\d+, \d+, \d+)\)", s)]
    return routes


@dataclass
class Hop:
    router: str
    asn: int
    as_name: str
    city: str
    candidates: list[dict[str, Any]]
    next_router: Optional[str]
    pop: Optional[str] = None


def walk(lab: Any, router: str, prefix: str, limit: int = 32) -> list[Hop]:
    """Follow the best path for ``prefix`` from ``router`` to a PoP."""
    hops: list[Hop] = []
    seen = set()
    while router and router not in seen and len(hops) < limit:
        seen.add(router)
        node = lab.plan.nodes[router]
        a = lab.topo.ases[node.asid]
        routes = parse_routes(lab.birdc(router).command(f"show route for {prefix} all"))
        hop = Hop(router, a.asn, a.name, lab.topo.cities[node.city].name, [], None)
        hops.append(hop)
        if not routes:
            break
        best = next((r for r in routes if r.best), routes[0])
        rid = {id(r): _router_id(lab, router, r) for r in routes}
        for r in routes:
            hop.candidates.append({
                "best": r is best, "via": _neighbour(lab, router, r), "session": r.kind,
                "as_path": r.as_path, "local_pref": r.local_pref,
                "learned_from": r.relation(a.asn), "igp_cost": r.igp_metric,
                "router_id": rid[id(r)],
                "lost_on": None if r is best else deciding_step(best, r, rid[id(best)], rid[id(r)]),
            })
        if best.kind == "speaker":
            hop.pop = node.city
            break
        intf = next((i for i in node.interfaces if i.name == best.iface), None)
        hop.next_router = intf.peer_node if intf else None
        router = hop.next_router  # type: ignore[assignment]
    return hops


def _neighbour(lab: Any, router: str, r: Route) -> str:
    if r.kind == "speaker":
        return edge_host_name(lab.plan.nodes[router].city)
    name = r.proto.split("_", 1)[1] if "_" in r.proto else r.proto
    return name.replace("_", "-", 1) if name.count("_") else name


def _router_id(lab: Any, router: str, r: Route) -> str:
    if r.kind == "iBGP" and r.from_addr:
        return r.from_addr
    nb = _neighbour(lab, router, r)
    node = lab.plan.nodes.get(nb)
    if node is None:
        return "?"
    return node.loopback or node.interfaces[0].ip


def as_dicts(hops: list[Hop]) -> list[dict[str, Any]]:
    return [asdict(h) for h in hops]


def client_router(lab: Any, name: str) -> str:
    """The router a CLIENT argument means: a router name as is, else the first router of the AS (or host's AS)."""
    if name in lab.plan.nodes and lab.plan.nodes[name].kind == "router":
        return name
    asid = name[2:] if name.startswith("h-") else name
    if asid in lab.topo.ases:
        return client_router_name(lab.topo.ases[asid])
    raise InputError(f"unknown client '{name}'", key="CLIENT",
                     fix=f"use a client AS id, e.g. {', '.join(a.id for a in lab.topo.clients()[:5])}")


def target_address(lab: Any, text: str) -> str:
    """The address a PREFIX argument means: a scheme name's service address, or a prefix's first host."""
    import ipaddress

    sv = lab.plan.services
    named = {"global": sv.global_prefix, "g": sv.global_prefix,
             **{k: p for k, p in sv.provider_prefixes.items()},
             **{f"unicast:{c}": p for c, p in sv.pop_prefixes.items()}}
    if text in named:
        return sv.address(named[text])
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InputError(f"'{text}' is neither an address, a prefix nor a scheme name", key="PREFIX",
                         fix=f"use an address or one of: {', '.join(named)}") from None
    return str(net.network_address + (1 if net.prefixlen < 32 else 0))
