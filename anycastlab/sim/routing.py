"""The router-level route model: every router's BGP best route for one
prefix, with the semantics of the rendered BIRD configs (config/bird.py,
bird.conf.j2) and of what each PoP's speaker announces, computed without a
lab.

Per prefix, one propagation over the routers' sessions to a fixed point,
in the order of BIRD's preference (a priority queue, Dijkstra-like: under
Gao-Rexford a route only gets worse as it travels, so nearly every router
settles the first time it is looked at). A router's candidates are what
its neighbours' best routes export to it:

- eBGP: import sets local preference and tag by relationship
  (model/policy.POLICY); a path holding our own ASN is dropped. Export:
  to customers everything, to peers and providers own and customer routes
  only (valley-free); a CDN router also sends a speaker route to the
  neighbour ASes its export-to tags name. Never back to the session it came
  from.
- iBGP (full mesh per connected group of an AS, next hop self on
  loopbacks): only eBGP-learned or originated routes are sent; the route
  keeps its local preference and tag; its IGP cost is the OSPF distance to
  the sender's loopback (the loopback stub costs 0 in BIRD's router LSA).
- the speaker: the PoP's service prefixes over iBGP (local pref 100, empty
  AS path), never re-advertised over iBGP.

Selection (model/decision.py names the step): the static origin route
beats BGP (protocol preference 200 > 100); then local preference, AS-path
length, origin, eBGP over iBGP, IGP cost, the neighbour's router id, the
neighbour's address. MED is never set, every origin is IGP.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Optional

from ..errors import InputError
from ..model.addressing import AddressPlan, edge_host_name, plan_addresses
from ..model.policy import POLICY, ospf_cost
from ..model.topology import Topology

Key = tuple  # the decision as a sortable tuple: smaller is better
STATIC, SPEAKER, EBGP, IBGP = "static", "speaker", "eBGP", "iBGP"


def ip_key(addr: str) -> tuple[int, ...]:
    """An address as a sortable tuple (numeric order, as BIRD compares
    router ids and neighbour addresses)."""
    return tuple(int(x) for x in addr.split("."))


@dataclass(frozen=True)
class Route:
    """One candidate route at a router. ``frm``: the neighbour router it
    came from (-1: the speaker or the static origin); ``tag``: where it
    entered the AS (0 own, 1 customer, 2 peer, 3 provider; None: speaker)."""

    kind: str
    frm: int
    as_path: tuple[int, ...]
    local_pref: int
    tag: Optional[int]
    igp_metric: Optional[int]
    rid: tuple[int, ...]
    addr: tuple[int, ...]
    export_to: frozenset[int] = frozenset()
    key: Key = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        pref = 200 if self.kind == STATIC else 100
        object.__setattr__(self, "key", (-pref, -self.local_pref, len(self.as_path), 0, self.internal,
                                         self.igp_metric or 0, self.rid, self.addr))

    @property
    def internal(self) -> bool:
        return self.kind in (IBGP, SPEAKER)

    # model.decision.RouteAttrs
    origin = "IGP"
    med = None
    reachable = True


@dataclass
class Session:
    """What router ``to`` receives from neighbour ``nbr`` (a session seen
    from its receiving end)."""

    nbr: int
    kind: str                # eBGP or iBGP
    local_pref: int          # eBGP: by relationship; iBGP: carried
    tag: int                 # eBGP: by relationship
    export_all: bool         # eBGP: the receiver is the sender's customer
    rid: tuple[int, ...]     # the sender's router id
    addr: tuple[int, ...]    # the sender's address on this session
    igp: Optional[int]       # iBGP: OSPF distance to the sender's loopback


@dataclass
class Router:
    name: str
    asid: str
    asn: int
    city: str
    rid: str
    cdn: bool
    sessions: list[Session] = field(default_factory=list)   # what it receives, per neighbour
    out: list[tuple[int, Session]] = field(default_factory=list)  # who receives from it, how


@dataclass
class Net:
    """The routers and their sessions, OSPF distances and first hops."""

    topo: Topology
    plan: AddressPlan
    routers: list[Router]
    index: dict[str, int]
    dist: dict[tuple[int, int], int]            # (a, b) in one OSPF area -> cost
    first_hops: dict[tuple[int, int], list[int]]  # (a, b) -> a's next routers towards b (ECMP)
    latency: dict[tuple[str, str], float]        # (node, next node) -> one-way ms leaving node
    gateway: dict[str, str]                      # host -> its router (the default route)

    def name(self, i: int) -> str:
        return self.routers[i].name


def build(topo: Topology, plan: Optional[AddressPlan] = None) -> Net:
    """The model of every router's sessions from the topology and its plan."""
    plan = plan or plan_addresses(topo)
    nodes = plan.routers()
    index = {n.name: i for i, n in enumerate(nodes)}
    cdn = topo.cdn.id
    routers = [Router(n.name, n.asid, topo.ases[n.asid].asn, n.city, n.loopback or "",
                      n.asid == cdn) for n in nodes]
    dist, first = ospf(topo, plan, index)
    count: dict[str, int] = {}
    for r in routers:
        count[r.asid] = count.get(r.asid, 0) + 1
    groups = {a: [g for g in topo.ibgp_groups(a) if len(g) > 1] for a, k in count.items() if k > 1}
    for i, n in enumerate(nodes):
        me = routers[i]
        for intf in n.interfaces:
            j = index.get(intf.peer_node)
            if j is None or routers[j].asid == me.asid:
                continue
            _, tag, pref = POLICY[topo.relation(me.asid, routers[j].asid)]
            export_all = topo.relation(routers[j].asid, me.asid) == "customer"
            s = Session(j, EBGP, pref, tag, export_all, ip_key(routers[j].rid), ip_key(intf.peer_ip), None)
            me.sessions.append(s)
            routers[j].out.append((i, s))
        for group in groups.get(me.asid, []):
            if n.name in group:
                for other in group:
                    j = index[other]
                    if j != i:
                        rid = ip_key(routers[j].rid)
                        s = Session(j, IBGP, 0, 0, False, rid, rid, dist[(i, j)])
                        me.sessions.append(s)
                        routers[j].out.append((i, s))
    latency = {(i.node, i.peer_node): i.latency_ms for n in plan.nodes.values() for i in n.interfaces}
    gateway = {h.name: h.interfaces[0].peer_node for h in plan.hosts()}
    return Net(topo, plan, routers, index, dist, first, latency, gateway)


def ospf(topo: Topology, plan: AddressPlan, index: dict[str, int]
         ) -> tuple[dict[tuple[int, int], int], dict[tuple[int, int], list[int]]]:
    """Shortest OSPF distances inside every iBGP group (cost =
    ``ospf_cost(latency)`` per link direction) and the first hops of every
    equal-cost path (BIRD's OSPF does ECMP by default, up to 16 next hops)."""
    dist: dict[tuple[int, int], int] = {}
    first: dict[tuple[int, int], list[int]] = {}
    adj: dict[int, list[tuple[int, int]]] = {}
    gateway: dict[tuple[int, int], tuple[int, ...]] = {}
    for name, i in index.items():
        node = plan.nodes[name]
        adj[i] = []
        for f in node.interfaces:
            if f.peer_node in index and plan.nodes[f.peer_node].asid == node.asid:
                adj[i].append((index[f.peer_node], ospf_cost(f.latency_ms)))
                gateway[(i, index[f.peer_node])] = ip_key(f.peer_ip)
    for src in index.values():
        if not adj[src]:
            continue
        d = {src: 0}
        hops: dict[int, set[int]] = {src: set()}
        heap = [(0, src)]
        done: set[int] = set()
        while heap:
            du, u = heapq.heappop(heap)
            if u in done:
                continue
            done.add(u)
            for v, c in adj[u]:
                nd = du + c
                via = {v} if u == src else hops[u]
                if v not in d or nd < d[v]:
                    d[v], hops[v] = nd, set(via)
                    heapq.heappush(heap, (nd, v))
                elif nd == d[v]:
                    hops[v] |= via
        for v, dv in d.items():
            dist[(src, v)] = dv
            # BIRD lists a multipath route's next hops by gateway address
            first[(src, v)] = sorted(hops[v], key=lambda h: gateway[(src, h)])
    return dist, first


@dataclass
class Origin:
    """Where a prefix enters BGP: a speaker's announcement (``export_to``:
    the ASNs its tags name) or a router's static origin route."""

    router: int
    kind: str                 # SPEAKER or STATIC
    rid: tuple[int, ...] = ()
    export_to: frozenset[int] = frozenset()


def export(net: Net, best: Optional[Route], sender: int, to: int, s: Session) -> Optional[Route]:
    """What ``to`` holds from ``sender`` over session ``s`` (seen from
    ``to``), given the sender's best route; None when nothing is sent or the
    import drops it."""
    if best is None:
        return None
    src, dst = net.routers[sender], net.routers[to]
    if s.kind == IBGP:
        if best.kind not in (EBGP, STATIC):
            return None   # iBGP-learned and speaker routes are not re-advertised over iBGP
        lp = best.local_pref if best.kind == EBGP else 100
        return Route(IBGP, sender, best.as_path, lp, best.tag, s.igp, s.rid, s.addr, best.export_to)
    if best.kind == EBGP and best.frm == to:
        return None
    own_or_customer = best.tag in (0, 1)
    if not (s.export_all or own_or_customer
            or (src.cdn and best.kind == SPEAKER and dst.asn in best.export_to)):
        return None
    if dst.asn in best.as_path:
        return None
    return Route(EBGP, sender, (src.asn, *best.as_path), s.local_pref, s.tag, None, s.rid, s.addr)


def origin_route(o: Origin) -> Route:
    if o.kind == SPEAKER:
        return Route(SPEAKER, -1, (), 100, None, None, o.rid, o.rid, o.export_to)
    return Route(STATIC, -1, (), 100, 0, None, (), ())


def candidates(net: Net, best: list[Optional[Route]], r: int, origin: Optional[Route] = None
               ) -> list[Route]:
    """Every route router ``r`` holds for the prefix (its Adj-RIB-In after import)."""
    out = [origin] if origin is not None else []
    for s in net.routers[r].sessions:
        c = export(net, best[s.nbr], s.nbr, r, s)
        if c is not None:
            out.append(c)
    return out


WITHDRAW: Key = (-10**9,)   # a lost route is looked at before anything else


def propagate(net: Net, origins: list[Origin], max_rounds: int = 60) -> list[Optional[Route]]:
    """Every router's best route for one prefix, at BGP's fixed point: each
    router keeps what every neighbour sent it (its Adj-RIB-In) and picks
    again when that changes, routers taken in the order of the best route
    waiting for them."""
    n = len(net.routers)
    best: list[Optional[Route]] = [None] * n
    rib: list[dict[int, Route]] = [{} for _ in range(n)]
    fixed = {o.router: origin_route(o) for o in origins}
    pending: list[Optional[Key]] = [None] * n
    heap: list[tuple[Key, int]] = []
    budget = max_rounds * (n + sum(len(r.sessions) for r in net.routers))

    def push(sender: int) -> None:
        for to, s in net.routers[sender].out:
            if to in fixed:
                continue
            c = export(net, best[sender], sender, to, s)
            if c == rib[to].get(sender):
                continue
            if c is None:
                del rib[to][sender]
                k = WITHDRAW
            else:
                rib[to][sender] = c
                k = c.key
            if pending[to] is None or k < pending[to]:  # type: ignore[operator]
                pending[to] = k
                heapq.heappush(heap, (k, to))

    for r, route in fixed.items():
        best[r] = route
        push(r)
    while heap:
        k, r = heapq.heappop(heap)
        if pending[r] != k:
            continue
        pending[r] = None
        budget -= 1
        if budget < 0:
            raise InputError("BGP did not converge in the simulation (a policy dispute?)",
                             fix="check the topology's relationships for a provider cycle")
        new = min(rib[r].values(), key=lambda c: c.key) if rib[r] else None
        if new != best[r]:
            best[r] = new
            push(r)
    return best


def service_origins(net: Net, name: str) -> list[Origin]:
    """Who originates a service prefix: every PoP whose speaker announces
    ``name`` (``global``, ``provider:<k>``, ``unicast:<pop>``), with the
    ASNs its export-to tags name (ServicePlan.pop_announcements)."""
    sv, topo = net.plan.services, net.topo
    out = []
    for pop in topo.cdn.cities:
        anns = sv.pop_announcements(pop)
        want = "unicast" if name == f"unicast:{pop}" else name
        if want not in anns or (want == "unicast") != name.startswith("unicast:"):
            continue
        _, to = anns[want]
        edge = net.plan.nodes[edge_host_name(pop)].interfaces[0].ip
        out.append(Origin(net.index[f"{topo.cdn.id}-{pop}"], SPEAKER, ip_key(edge),
                          frozenset(topo.ases[k].asn for k in to)))
    return out


def prefix_of(net: Net, name: str) -> str:
    """A target name's prefix (``global``, ``provider:<k>``, ``unicast:<pop>``)."""
    sv = net.plan.services
    if name == "global":
        return sv.global_prefix
    kind, _, what = name.partition(":")
    return sv.provider_prefixes[what] if kind == "provider" else sv.pop_prefixes[what]
