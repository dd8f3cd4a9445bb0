"""The same route model written plainly: a path-vector iteration over Python
dicts until nothing changes, then each router's choice by an explicit sort.
Slow (seconds for a few thousand ASes) but obviously the documented rules;
the tests check internet.route against it and the benchmark times it as
the alternative to the array version."""
from __future__ import annotations

from typing import Optional

import numpy as np

from .internet_graph import CUSTOMER, PEER, PROVIDER, InternetGraph, km_to_ms

Route = tuple[int, int]   # (class, length); better = higher class, then shorter


def neighbours(g: InternetGraph) -> dict[int, list[tuple[int, int]]]:
    """AS -> [(neighbour, what the neighbour is to it)]."""
    out: dict[int, list[tuple[int, int]]] = {i: [] for i in range(g.n_as)}
    for a in range(g.n_as):
        for c in g.down.idx[g.down.ptr[a]:g.down.ptr[a + 1]]:
            out[a].append((int(c), CUSTOMER))
            out[int(c)].append((a, PROVIDER))
        for p in g.peer.idx[g.peer.ptr[a]:g.peer.ptr[a + 1]]:
            out[a].append((int(p), PEER))
    return out


def as_routes(g: InternetGraph, first: set[int]) -> dict[int, Route]:
    """Every AS's best (class, length), by repeating 'take the best exported
    offer' for every AS until a round changes nothing."""
    nb = neighbours(g)
    best: dict[int, Route] = {a: (CUSTOMER, 1) for a in first}
    changed = True
    while changed:
        changed = False
        for a in range(g.n_as):
            if a == g.cdn or a in first:
                continue
            offers = []
            for n, rel in nb[a]:
                r = best.get(n)
                # valley-free: n exports to a customer anything; to a peer or provider only customer routes
                if r is None or (rel != PROVIDER and r[0] != CUSTOMER):
                    continue
                offers.append((rel, r[1] + 1))
            if offers:
                pick = max(offers, key=lambda o: (o[0], -o[1]))
                if best.get(a) != pick:
                    best[a] = pick
                    changed = True
    return best


def route(g: InternetGraph, pairs: list[tuple[str, int]]) -> tuple[list[int], list[float]]:
    """PoP index (-1 none) and RTT (NaN none) of every router."""
    pop_i = {p: i for i, p in enumerate(g.pops)}
    direct = [(g.index_of(k), *g.attachment(pop_i[p], k), int(g.pop_router[pop_i[p]])) for p, k in pairs]
    first = {d[0] for d in direct}
    best = as_routes(g, first)
    nb = neighbours(g)
    cities = g.r_city
    all_c = np.arange(len(g.city_ids))
    km_m = g.km(np.repeat(all_c, len(all_c)), np.tile(all_c, len(all_c))).reshape(len(all_c), len(all_c))
    lines: dict[tuple[int, int], list[tuple[float, int, int]]] = {}
    for i in range(len(g.ic.a)):
        lines.setdefault((int(g.ic.a[i]), int(g.ic.n[i])), []).append(
            (float(g.ic.ms[i]), int(g.ic.ra[i]), int(g.ic.rn[i])))
    nxt: dict[int, Optional[tuple[int, float]]] = {}
    for r in range(g.n_routers):
        a = int(g.r_as[r])
        if a not in best:
            continue
        cls, ln = best[a]
        cands = []   # (neighbour ASN, line ms, near router, far router)
        if a in first:
            cands = [(int(g.asns[g.cdn]), ms, kr, pr) for k, kr, ms, pr in direct if k == a]
        for n, rel in nb[a]:
            r_n = best.get(n) if n != g.cdn else None
            if r_n is None or rel != cls or r_n[1] != ln - 1 or (rel != PROVIDER and r_n[0] != CUSTOMER):
                continue
            cands += [(int(g.asns[n]), ms, ra, rn) for ms, ra, rn in lines[(a, n)]]
        keyed = [(round(float(km_m[cities[r], cities[c[2]]]) * 100), c[0], float(np.float32(c[1])), c[2],
                  c[3], c[1]) for c in cands]
        k10, _, _, _, rn, ms = min(keyed)
        back = float(km_to_ms(np.float64(k10 / 100.0), g.settings)) if k10 > 0 else 0.0
        nxt[r] = (rn, back + float(ms))
    pops, rtts = [], []
    at_pop = {int(x): i for i, x in enumerate(g.pop_router)}
    for r in range(g.n_routers):
        if r in at_pop:
            pops.append(at_pop[r])
            rtts.append(4 * g.settings.lan_ms)
            continue
        total, cur = 0.0, r
        while cur in nxt and cur not in at_pop:
            step = nxt[cur]
            assert step is not None
            cur, total = step[0], total + step[1]
        ok = cur in at_pop
        pops.append(at_pop[cur] if ok else -1)
        rtts.append(2 * (total + 2 * g.settings.lan_ms) if ok else float("nan"))
    return pops, rtts
