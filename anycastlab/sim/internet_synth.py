"""A seeded CAIDA-like internet for tests and benchmarks, with no file:
a tier-1 clique, transit tiers whose providers are drawn by size
(preferential attachment), stubs buying from transit in their own city
mostly, peering at shared cities (IXPs) with heavy-tailed appetite, and a
CDN with PoPs in the largest cities. About 1.5 % transit, ~2 providers per
stub and ~4 peer links per AS, as in CAIDA's serial-2 snapshots."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from .caida import CdnSpec, Pop, Presences, Relationships, write_presences, write_relationships


def synthetic(n_as: int = 75_000, seed: int = 1, n_cities: int = 300, n_pops: int = 20,
              n_providers: int = 10, peers_per_as: float = 4.8, transit_share: float = 0.015
              ) -> tuple[Relationships, Presences, CdnSpec]:
    """Relationships, presences and a CDN spec, the same for the same arguments."""
    rng = np.random.default_rng(seed)
    lat = rng.uniform(-40, 60, n_cities)
    lon = rng.uniform(-125, 145, n_cities)
    people = np.minimum(40.0, 0.3 + rng.pareto(1.2, n_cities))
    w_city = people / people.sum()
    n_t1 = 15
    n_tr = max(n_t1 + 3, round(n_as * transit_share))
    n_t2 = max(2, (n_tr - n_t1) // 5)
    tier = np.full(n_as, 3, dtype=np.int8)   # 0 tier-1, 1 tier-2, 2 tier-3, 3 stub
    tier[:n_t1], tier[n_t1:n_t1 + n_t2], tier[n_t1 + n_t2:n_tr] = 0, 1, 2
    size = 1.0 + rng.pareto(1.1, n_as)       # appetite for customers and peers: heavy-tailed
    size[:n_t1] *= 50
    # cities: transit ASes in many (weighted by people), stubs in one, a few in two
    spread = {0: (40, 80), 1: (8, 30), 2: (1, 5)}
    w_hub = people ** 2 / (people ** 2).sum()   # carriers favour the big hubs
    pres_as, pres_city = [], []
    for i in range(n_tr):
        lo, hi = spread[int(tier[i])]
        k = int(rng.integers(lo, hi + 1))
        cs = rng.choice(n_cities, size=min(k, n_cities), replace=False, p=w_hub if tier[i] < 2 else w_city)
        pres_as.append(np.full(len(cs), i)), pres_city.append(cs)
    stubs = np.arange(n_tr, n_as)
    home = rng.choice(n_cities, size=len(stubs), p=w_city)
    second = rng.random(len(stubs)) < 0.1
    pres_as += [stubs, stubs[second]]
    pres_city += [home, rng.choice(n_cities, size=int(second.sum()), p=w_city)]
    p_as, p_city = np.concatenate(pres_as), np.concatenate(pres_city)
    key = np.unique(p_as.astype(np.int64) * n_cities + p_city)
    p_as, p_city = key // n_cities, key % n_cities
    # provider links: transit from higher tiers (a DAG), stubs mostly from transit in their city
    pc: list[tuple[int, int]] = []
    for i in range(n_t1, n_tr):
        pool = np.arange(0, i)
        w = size[pool] * np.where(tier[pool] < tier[i], 1.0, 0.2)
        k = min(len(pool), int(rng.integers(1, 4)))
        pc += [(int(p), i) for p in rng.choice(pool, size=k, replace=False, p=w / w.sum())]
    n_up = rng.choice([1, 2, 3], size=len(stubs), p=[0.25, 0.45, 0.3])
    cust = np.repeat(stubs, n_up)
    prov = _local_choice(rng, p_as, p_city, size, tier, cust, home[cust - n_tr], n_cities, n_tr)
    p2c = np.unique(np.concatenate([np.array(pc, dtype=np.int64).reshape(-1, 2),
                                    np.stack([prov, cust], axis=1)]), axis=0)
    # peering: the tier-1 clique, transit pairs, and pairs present in one city (IXPs)
    t1 = np.array([(a, b) for a in range(n_t1) for b in range(a + 1, n_t1)], dtype=np.int64)
    n_ixp = int(n_as * peers_per_as)
    appetite = (1.0 + rng.pareto(1.5, n_as))[p_as] * np.where(tier[p_as] == 3, 1.0, 4.0)
    order = np.lexsort((p_as, p_city))
    cum = np.cumsum(appetite[order])
    c_start = np.searchsorted(p_city[order], np.arange(n_cities))
    c_end = np.searchsorted(p_city[order], np.arange(n_cities), side="right")
    c_w = np.array([cum[e - 1] - (cum[s - 1] if s else 0.0) if e > s else 0.0
                    for s, e in zip(c_start, c_end)])
    cities = rng.choice(n_cities, size=n_ixp, p=c_w / c_w.sum())
    base = np.where(c_start[cities] > 0, cum[np.maximum(c_start[cities] - 1, 0)], 0.0)
    pick = lambda: order[np.minimum(np.searchsorted(cum, base + rng.random(n_ixp) * c_w[cities],
                                                    side="right"), c_end[cities] - 1)]
    pa, pb = p_as[pick()], p_as[pick()]
    pp = np.concatenate([t1, np.stack([pa, pb], axis=1)])
    pp = np.unique(np.sort(pp, axis=1), axis=0)
    pp = pp[pp[:, 0] != pp[:, 1]]
    pc_keys = np.unique(np.sort(p2c, axis=1) @ np.array([n_as, 1]))
    pp = pp[~np.isin(pp @ np.array([n_as, 1]), pc_keys)]
    # ASNs: a random spread, so ASN order is not tier order
    asn_of = np.sort(rng.choice(np.arange(1, 8 * n_as), size=n_as, replace=False))
    asn_of = asn_of[rng.permutation(n_as)]
    city_ids = [f"c{i:03d}" for i in range(n_cities)]
    rels = Relationships(asn_of[p2c], asn_of[pp])
    pres = Presences(asn_of[p_as], p_city.astype(np.int32), np.round(people[p_city], 3), city_ids,
                     np.round(lat, 4), np.round(lon, 4))
    cdn = _cdn(rng, int(asn_of.max()) + 1, people, city_ids, lat, lon, p_as, p_city, size, tier,
               asn_of, n_pops, n_providers)
    return rels, pres, cdn


def _local_choice(rng: np.random.Generator, p_as: np.ndarray, p_city: np.ndarray, size: np.ndarray,
                  tier: np.ndarray, cust: np.ndarray, city: np.ndarray, n_cities: int, n_tr: int
                  ) -> np.ndarray:
    """A provider per entry of ``cust``: 70 % a transit AS present in its city
    (by size), else any transit AS by size."""
    tr = p_as < n_tr
    t_as, t_city = p_as[tr], p_city[tr]
    order = np.argsort(t_city, kind="stable")
    t_as, t_city = t_as[order], t_city[order]
    cum = np.cumsum(size[t_as])
    lo = np.searchsorted(t_city, city)
    hi = np.searchsorted(t_city, city, side="right")
    base = np.where(lo > 0, cum[np.maximum(lo - 1, 0)], 0.0)
    span = np.where(hi > lo, cum[np.maximum(hi - 1, 0)] - base, 0.0)
    local = t_as[np.minimum(np.searchsorted(cum, base + rng.random(len(cust)) * span, side="right"),
                            np.maximum(hi - 1, 0))]
    w = size[:n_tr] * np.where(tier[:n_tr] == 0, 0.3, 1.0)
    anyone = rng.choice(n_tr, size=len(cust), p=w / w.sum())
    return np.where((hi > lo) & (rng.random(len(cust)) < 0.7), local, anyone)


def _cdn(rng: np.random.Generator, asn: int, people: np.ndarray, city_ids: list[str], lat: np.ndarray,
         lon: np.ndarray, p_as: np.ndarray, p_city: np.ndarray, size: np.ndarray, tier: np.ndarray,
         asn_of: np.ndarray, n_pops: int, n_providers: int) -> CdnSpec:
    """PoPs in the largest cities; providers: the largest transit ASes; each
    PoP buys from the providers present in its city (at least one)."""
    big = np.argsort(-people, kind="stable")[:n_pops]
    present = {int(c): set(p_as[p_city == c].tolist()) for c in big}
    transit = np.flatnonzero(tier < 2)
    at_pops = np.array([sum(int(t) in present[int(c)] for c in big) for t in transit])
    provs = transit[np.lexsort((-size[transit], -at_pops))[:n_providers]]
    pops = []
    for j, c in enumerate(big.tolist()):
        mine = [int(k) for k in provs if int(k) in present[c]][:6]
        if not mine:
            mine = [int(provs[j % len(provs)])]
        pops.append(Pop(city_ids[c], float(round(lat[c], 4)), float(round(lon[c], 4)),
                        tuple(int(asn_of[k]) for k in mine)))
    used = {k for p in pops for k in p.providers}
    for j, k in enumerate(int(asn_of[k]) for k in provs):   # every provider at one PoP at least
        if k not in used:
            p = pops[j % len(pops)]
            pops[j % len(pops)] = Pop(p.city, p.lat, p.lon, p.providers + (k,))
    return CdnSpec(asn, pops)


def write_files(folder: str | Path, rels: Relationships, pres: Presences, cdn: CdnSpec
                ) -> tuple[Path, Path, Path]:
    """The three input files (relationships.txt, cities.csv, cdn.yaml) in ``folder``."""
    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    paths = d / "relationships.txt", d / "cities.csv", d / "cdn.yaml"
    with open(paths[0], "w") as f:
        write_relationships(rels, f)
    with open(paths[1], "w") as f:
        write_presences(pres, f)
    doc = {"asn": cdn.asn, "pops": [{"city": p.city, "lat": p.lat, "lon": p.lon,
                                     "providers": list(p.providers)} for p in cdn.pops]}
    paths[2].write_text(yaml.safe_dump(doc, sort_keys=False, default_flow_style=None))
    return paths
