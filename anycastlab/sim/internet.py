"""The AS-level route model at internet scale: Gao–Rexford on an InternetGraph,
one prefix at a time, in whole-array numpy steps (docs/simulation.md).

Per prefix, from the (PoP, provider) pairs the CDN announces it to:

1. customer routes climb customer->provider links, breadth first, so each AS
   keeps the shortest (its length counts ASes up to and including the CDN);
2. an AS with no customer route takes a peer's customer route (one hop);
3. the rest descend provider->customer links from every AS that has a
   route, level by level in increasing length, so each keeps the shortest.

Class then length decide an AS's route; among the equally good ones each
router (AS-city) takes the interconnect nearest its own city (hot potato,
great-circle km as the IGP cost), then the lowest neighbour ASN, then the
shortest line. Following these next hops from a client's router ends at a
PoP; the RTT is twice the one-way sum of the lines and backbone stretches
on the way, priced as model.topology.link_latency prices a link.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from .internet_graph import CUSTOMER, PEER, PROVIDER, InternetGraph, km_to_ms, ranges

NONE = np.int16(32000)     # length of "no route"
Progress = Callable[[str, int, int], None]   # (step, done, total), as cli.common.RichProgress


@dataclass
class PrefixRoutes:
    """Every AS's route and every router's catchment for one prefix."""

    name: str
    as_len: np.ndarray     # int16 [N]: ASes on the path up to the CDN (NONE: no route)
    as_cls: np.ndarray     # int8 [N]: CUSTOMER / PEER / PROVIDER, 0 none, -1 the CDN
    as_next: np.ndarray    # int32 [N]: the AS-level next hop (lowest ASN), -1 none
    r_pop: np.ndarray      # int16 [R]: PoP index reached, -1 none
    r_rtt: np.ndarray      # float32 [R]: RTT estimate in ms (host LAN to PoP edge and back), NaN none
    r_next: np.ndarray     # int32 [R]: next router (in the next AS), -1 none (the CDN's routers too)
    r_exit: np.ndarray     # int32 [R]: the router of the same AS where traffic leaves (hot potato)

    def reached(self) -> np.ndarray:
        return self.r_pop >= 0


def origins(g: InternetGraph, pairs: list[tuple[str, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(provider AS index, its router, the PoP router) and the line's ms for
    each (PoP city, provider ASN) the CDN announces to."""
    pop_i = {p: i for i, p in enumerate(g.pops)}
    k_as, k_r, p_r, ms = [], [], [], []
    for pop, asn in pairs:
        r, m = g.attachment(pop_i[pop], asn)
        k_as.append(g.index_of(asn))
        k_r.append(r)
        p_r.append(int(g.pop_router[pop_i[pop]]))
        ms.append(m)
    return (np.array(k_as, dtype=np.int64), np.array(k_r, dtype=np.int64),
            np.column_stack([np.array(p_r, dtype=np.int64), np.array(ms, dtype=np.float64)])
            if pairs else np.zeros((0, 2)))


def route(g: InternetGraph, name: str, pairs: list[tuple[str, int]]) -> PrefixRoutes:
    """Best routes and catchments of a prefix announced to ``pairs`` = [(PoP, provider ASN)]."""
    k_as, k_r, pr_ms = origins(g, pairs)
    length, cls = as_routes(g, np.unique(k_as))
    cand = candidates(g, length, cls, k_as, k_r, pr_ms)
    as_next = np.full(g.n_as, -1, dtype=np.int32)
    first = np.flatnonzero(np.r_[True, cand.a[1:] != cand.a[:-1]]) if len(cand.a) else cand.a
    as_next[cand.a[first]] = cand.n[first]
    r_next, r_exit, cost = hot_potato(g, cand)
    r_pop, r_rtt = resolve(g, length, r_next, cost)
    return PrefixRoutes(name, length, cls, as_next, r_pop, r_rtt, r_next, r_exit)


def as_routes(g: InternetGraph, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gao–Rexford at AS level: the class and length of every AS's best route,
    given the ASes (``first``) that hear the prefix from the CDN itself."""
    n = g.n_as
    length = np.full(n, NONE, dtype=np.int16)
    cls = np.zeros(n, dtype=np.int8)
    length[g.cdn], cls[g.cdn] = 0, -1   # the CDN refuses its own prefix (its ASN is in the path)
    # 1. customer routes, climbing
    frontier, hop = first, 1
    length[frontier], cls[frontier] = hop, CUSTOMER
    while len(frontier):
        nb = fresh(g.up.gather(frontier), length == NONE)
        hop += 1
        length[nb], cls[nb] = hop, CUSTOMER
        frontier = nb
    # 2. one peer hop from an AS with a customer route
    pa, pb = peer_pairs(g)
    m = (cls[pb] == CUSTOMER) & (cls[pa] == 0)
    if m.any():
        np.minimum.at(length, pa[m], length[pb[m]] + 1)
        cls[pa[m]] = PEER
    # 3. provider routes, descending level by level
    top = int(length[cls > 0].max()) if (cls > 0).any() else 0
    level = 1
    while level <= top:
        frontier = np.flatnonzero((length == level) & (cls > 0))
        if len(frontier):
            nb = fresh(g.down.gather(frontier), cls == 0)
            if len(nb):
                length[nb], cls[nb] = level + 1, PROVIDER
                top = max(top, level + 1)
        level += 1
    return length, cls


def fresh(nb: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """The distinct ASes of ``nb`` that ``allowed`` lets in, sorted (a mask beats np.unique here)."""
    hit = np.zeros(len(allowed), dtype=bool)
    hit[nb] = True
    return np.flatnonzero(hit & allowed)


def peer_pairs(g: InternetGraph) -> tuple[np.ndarray, np.ndarray]:
    """Both directions of every peer link as (a, b): a may learn from b (cached on the graph)."""
    cached = getattr(g, "_peer_pairs", None)
    if cached is None:
        a = np.repeat(np.arange(g.n_as, dtype=np.int32), g.peer.degree())
        cached = (a, g.peer.idx)
        g.__dict__["_peer_pairs"] = cached
    return cached


@dataclass
class Candidates:
    """The interconnects that carry an equally best route, grouped by the
    learning AS ``a`` in tie-break order (neighbour ASN, line ms, router)."""

    a: np.ndarray
    n: np.ndarray
    ra: np.ndarray
    rn: np.ndarray
    ms: np.ndarray


def candidates(g: InternetGraph, length: np.ndarray, cls: np.ndarray, k_as: np.ndarray,
               k_r: np.ndarray, pr_ms: np.ndarray) -> Candidates:
    """Every interconnect a -> n over which n exports its best route to a
    (valley-free) and that route is as good as a's best: the class a gives
    it equals a's best class and n's path is one AS shorter."""
    ic = g.ic
    la, ln = length[ic.a], length[ic.n]
    cn = cls[ic.n]
    q = (cls[ic.a] == ic.rel) & (ln == la - 1) & ((cn == CUSTOMER) | ((ic.rel == PROVIDER) & (cn > 0)))
    q = np.flatnonzero(q)
    # the CDN's own lines: the providers it announces to, ordered by ms, near router, PoP
    o = (np.lexsort((pr_ms[:, 0], k_r, pr_ms[:, 1].astype(np.float32), k_as)) if len(k_as)
         else np.zeros(0, dtype=np.int64))
    a = np.concatenate([ic.a[q], k_as[o]])
    n = np.concatenate([ic.n[q], np.full(len(o), g.cdn)])
    ra = np.concatenate([ic.ra[q], k_r[o]])
    rn = np.concatenate([ic.rn[q], pr_ms[o, 0].astype(np.int64)])
    ms = np.concatenate([ic.ms[q], pr_ms[o, 1]])
    s = np.argsort(a, kind="stable")   # providers heard from the CDN have no other candidate
    return Candidates(a[s], n[s], ra[s], rn[s], ms[s])


def hot_potato(g: InternetGraph, c: Candidates) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each router's next router, exit router and the one-way ms to the next:
    the candidate of its AS whose near end is closest to the router's city
    (ties: candidate order)."""
    r_next = np.full(g.n_routers, -1, dtype=np.int32)
    r_exit = np.full(g.n_routers, -1, dtype=np.int32)
    cost = np.zeros(g.n_routers, dtype=np.float64)
    if not len(c.a):
        return r_next, r_exit, cost
    grp = np.flatnonzero(np.r_[True, c.a[1:] != c.a[:-1]])
    g_as = c.a[grp]
    g_cnt = np.diff(np.r_[grp, len(c.a)])
    g_r0 = g.as_rptr[g_as]
    g_rn = g.as_rptr[g_as + 1] - g_r0
    # every (router of a, candidate of a) pair, router-major so each router's pairs are contiguous
    size = g_rn * g_cnt
    which = np.repeat(np.arange(len(grp)), size)
    within = ranges(np.zeros(len(grp), dtype=np.int64), size)
    cnt_w = g_cnt[which]
    router = g_r0[which] + within // cnt_w
    cand = grp[which] + within % cnt_w
    km = g.km(g.r_city[router], g.r_city[c.ra[cand]])
    key = np.round(km.astype(np.float64) * 100).astype(np.int64) * len(c.a) + cand   # 10 m, then order
    starts = np.flatnonzero(within % cnt_w == 0)
    best = np.minimum.reduceat(key, starts)
    best_c = best % len(c.a)
    best_km = (best // len(c.a)) / 100.0
    rs = router[starts]
    r_next[rs] = c.rn[best_c]
    r_exit[rs] = c.ra[best_c]
    backbone = np.where(best_km > 0, km_to_ms(best_km, g.settings), 0.0)
    cost[rs] = backbone + c.ms[best_c]
    return r_next, r_exit, cost


def resolve(g: InternetGraph, length: np.ndarray, r_next: np.ndarray, cost: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """PoP and RTT of every router, nearest the CDN first (a router's next
    hop is one AS closer, so it is always settled before the router)."""
    r_len = length[g.r_as]
    r_pop = np.full(g.n_routers, -1, dtype=np.int16)
    one_way = np.full(g.n_routers, np.nan, dtype=np.float64)
    r_pop[g.pop_router] = np.arange(len(g.pops))
    one_way[g.pop_router] = 0.0
    order = np.argsort(r_len, kind="stable")
    bounds = np.searchsorted(r_len[order], np.arange(1, int(NONE) + 1))
    top = int(r_len[r_len < NONE].max()) if (r_len < NONE).any() else 0
    for lv in range(1, top + 1):
        idx = order[bounds[lv - 1]:bounds[lv]]
        idx = idx[r_next[idx] >= 0]
        nxt = r_next[idx]
        r_pop[idx] = r_pop[nxt]
        one_way[idx] = one_way[nxt] + cost[idx]
    lan = g.settings.lan_ms
    rtt = np.where(r_pop >= 0, 2.0 * (one_way + 2 * lan), np.nan).astype(np.float32)
    return r_pop, rtt


def path_of(g: InternetGraph, routes: PrefixRoutes, router: int) -> list[tuple[int, str]]:
    """The (ASN, city) hops from ``router`` to its PoP: each AS's entry and,
    where hot potato carries traffic elsewhere first, its exit."""
    def hop(r: int) -> tuple[int, str]:
        return int(g.asns[g.r_as[r]]), g.city_ids[g.r_city[r]]

    out, r = [hop(router)], router
    while routes.r_next[r] >= 0:
        if routes.r_exit[r] != r:
            out.append(hop(int(routes.r_exit[r])))
        r = int(routes.r_next[r])
        out.append(hop(r))
    return out


def service_prefixes(g: InternetGraph, unicast: bool = False,
                     pop_providers: Optional[dict[str, list[int]]] = None,
                     global_pops: Optional[list[str]] = None,
                     provider_pops: Optional[dict[int, list[str]]] = None
                     ) -> dict[str, list[tuple[str, int]]]:
    """What each service prefix is announced to, as ServicePlan.pop_announcements
    says: G to every provider at every PoP, P_k only to k (at every PoP that
    buys from k), U_p to the providers of PoP p. Names: ``global``,
    ``provider:<asn>``, ``unicast:<pop>``. The optional arguments are a sweep's
    changes: other PoP-provider links, the PoPs announcing G, the PoPs
    announcing each P_k."""
    links = pop_providers if pop_providers is not None else g.pop_providers
    active = [p for p in g.pops if links.get(p)]
    g_pops = set(global_pops) if global_pops is not None else set(active)
    out = {"global": [(p, k) for p in active if p in g_pops for k in links[p]]}
    providers = list(dict.fromkeys(k for p in active for k in links[p]))
    for k in providers:
        at = provider_pops.get(k) if provider_pops and k in provider_pops else None
        out[f"provider:{k}"] = [(p, k) for p in active if k in links[p] and (at is None or p in at)]
    if unicast:
        for p in active:
            out[f"unicast:{p}"] = [(p, k) for k in links[p]]
    return out


def simulate(g: InternetGraph, unicast: bool = False, progress: Optional[Progress] = None,
             prefixes: Optional[dict[str, list[tuple[str, int]]]] = None
             ) -> tuple[dict[str, PrefixRoutes], dict[str, float]]:
    """Route every service prefix (G, each P_k, with ``unicast`` each U_p);
    returns the routes and the seconds each took."""
    todo = prefixes if prefixes is not None else service_prefixes(g, unicast)
    routes: dict[str, PrefixRoutes] = {}
    secs: dict[str, float] = {}
    for i, (name, pairs) in enumerate(todo.items()):
        if progress:
            progress("routing", i, len(todo))
        t = time.perf_counter()
        routes[name] = route(g, name, pairs)
        secs[name] = round(time.perf_counter() - t, 4)
    if progress:
        progress("routing", len(todo), len(todo))
    return routes, secs


def run_simulate(relationships: str | Path, cities: str | Path, cdn: str | Path,
                 out: Optional[str | Path] = None, unicast: bool = False, console: Any = None,
                 progress: Optional[Progress] = None) -> dict[str, Any]:
    """``anycastlab simulate``: load the three files, route every prefix, print
    the catchments per PoP and the timings on ``console`` (a rich Console),
    write summary.json and catchments.csv to ``out``; returns the summary."""
    from .internet_build import load_internet
    from .internet_out import print_summary, summarise, write_outputs

    t0 = time.perf_counter()
    g = load_internet(relationships, cities, cdn, progress)
    t1 = time.perf_counter()
    prefixes = service_prefixes(g, unicast)
    routes, secs = simulate(g, unicast, progress, prefixes)
    summary: dict[str, Any] = {"files": {"relationships": str(relationships), "cities": str(cities),
                                         "cdn": str(cdn)},
                               "graph": g.summary(), "notes": g.notes}
    summary.update(summarise(g, routes))
    summary["announced"] = {n: [[p, k] for p, k in pairs] for n, pairs in prefixes.items()}
    summary["seconds"] = {"load": round(t1 - t0, 3), "routing": round(time.perf_counter() - t1, 3),
                          "prefixes": secs}
    if console is not None:
        gs = summary["graph"]
        console.print(f"{gs['ases']} ASes, {gs['routers']} AS-cities, {gs['provider_customer']} "
                      f"provider-customer and {gs['peer']} peer links, {gs['clients']} clients; "
                      f"{gs['pops']} PoPs, {gs['providers']} providers")
        for note in g.notes:
            console.print(f"note: {note}")
        print_summary(g, summary, console)
    if out is not None:
        paths = write_outputs(g, routes, summary, out)
        if console is not None:
            console.print("wrote " + ", ".join(str(p) for p in paths))
    return summary
