"""The internet at AS level as flat arrays, built once and shared by every
prefix and every sweep configuration.

ASes are indexed in ASN order (so "lowest index" is "lowest ASN"). Each AS
has one router per city it is present in (routers sorted by AS, then city).
Two neighbouring ASes interconnect in every city they share, or else once,
between their two nearest cities: that is where traffic crosses, and what
hot-potato routing and the RTT estimate measure from.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..model.topology import EARTH_RADIUS_KM, FIBRE_KM_PER_MS, Settings

# what the neighbour is to us, the rank of its routes in Gao-Rexford
CUSTOMER, PEER, PROVIDER = 3, 2, 1
PAIR_CHUNK = 4_000_000   # pairs of routers examined at once for nearest cities
MATRIX_CITIES = 4096     # up to this many cities, distances come from a table (64 MB at most)


@dataclass
class Csr:
    """Adjacency in compressed sparse rows: the neighbours of i are idx[ptr[i]:ptr[i+1]]."""

    ptr: np.ndarray
    idx: np.ndarray

    @classmethod
    def build(cls, src: np.ndarray, dst: np.ndarray, n: int) -> "Csr":
        order = np.argsort(src, kind="stable")   # neighbour order is never relied on
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(src, minlength=n), out=ptr[1:])
        return cls(ptr, dst[order].astype(np.int32))

    def gather(self, nodes: np.ndarray) -> np.ndarray:
        """Every neighbour of every node in ``nodes`` (with repeats), in one vector op."""
        starts = self.ptr[nodes]
        counts = self.ptr[nodes + 1] - starts
        return self.idx[ranges(starts, counts)]

    def degree(self) -> np.ndarray:
        return np.diff(self.ptr)


def ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated aranges [s, s + c) for each (s, c), without a Python loop."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offs = np.cumsum(counts) - counts
    return np.repeat(starts - offs, counts) + np.arange(total, dtype=np.int64)


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=1)


def chord_km(xyz: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Great-circle km between cities a[i] and b[i] (exactly 0 for the same city)."""
    d = xyz[a] - xyz[b]
    c = np.sqrt(np.einsum("ij,ij->i", d, d))
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, c / 2.0))


def km_to_ms(km: np.ndarray, s: Settings) -> np.ndarray:
    """One-way latency of a line of ``km`` (model.topology.link_latency without the same-city case)."""
    return km * s.path_inflation / FIBRE_KM_PER_MS + s.per_hop_ms


@dataclass
class Interconnects:
    """Directed interconnects, sorted by (a, n, one-way ms, a's router):
    a learns routes from neighbour n over the line ra -> rn; rel is what n is to a."""

    a: np.ndarray
    n: np.ndarray
    ra: np.ndarray
    rn: np.ndarray
    rel: np.ndarray
    ms: np.ndarray
    aptr: np.ndarray   # CSR over a


@dataclass
class InternetGraph:
    asns: np.ndarray                  # int64 [N], sorted
    cdn: int                          # index of the CDN's AS
    up: Csr                           # providers of each AS
    down: Csr                         # customers of each AS
    peer: Csr                         # peers of each AS
    r_as: np.ndarray                  # int32 [R]: the AS of each router
    r_city: np.ndarray                # int32 [R]
    as_rptr: np.ndarray               # int64 [N + 1]: routers of AS i are as_rptr[i]:as_rptr[i + 1]
    demand: np.ndarray                # float64 [R]: client demand weight (0: not a client)
    city_ids: list[str]
    city_lat: np.ndarray
    city_lon: np.ndarray
    ic: Interconnects
    pops: list[str]                   # PoP city ids in spec order
    pop_router: np.ndarray            # int32 [P]
    providers: list[int]              # the CDN's providers (ASNs), k = 1, 2, ...
    pop_providers: dict[str, list[int]]
    settings: Settings = field(default_factory=Settings)
    notes: list[str] = field(default_factory=list)
    xyz: np.ndarray = field(init=False, repr=False)
    _attach: dict[tuple[int, int], tuple[int, float]] = field(init=False, repr=False)
    _km: Optional[np.ndarray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.xyz = unit_vectors(self.city_lat, self.city_lon)
        self._attach = {}
        n = len(self.city_ids)
        c = np.arange(n)
        self._km = (chord_km(self.xyz, np.repeat(c, n), np.tile(c, n)).astype(np.float32)
                    if n <= MATRIX_CITIES else None)

    def km(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Great-circle km between cities a[i] and b[i]: a table look-up up to
        MATRIX_CITIES cities (one gather instead of six), else computed."""
        if self._km is None:
            return chord_km(self.xyz, a, b).astype(np.float32)
        return self._km[a.astype(np.int64) * len(self.city_ids) + b]

    @property
    def n_as(self) -> int:
        return len(self.asns)

    @property
    def n_routers(self) -> int:
        return len(self.r_as)

    def index_of(self, asn: int) -> int:
        """The index of an ASN, or -1."""
        i = int(np.searchsorted(self.asns, asn))
        return i if i < len(self.asns) and int(self.asns[i]) == asn else -1

    def attachment(self, pop: int, asn: int) -> tuple[int, float]:
        """Where provider ``asn`` meets PoP ``pop``: its router nearest the PoP's
        city (ties: first city) and the line's one-way ms."""
        hit = self._attach.get((pop, asn))
        if hit is not None:
            return hit
        i = self.index_of(asn)
        rs = np.arange(self.as_rptr[i], self.as_rptr[i + 1])
        pc = self.r_city[self.pop_router[pop]]
        km = self.km(self.r_city[rs], np.full(len(rs), pc)).astype(np.float64)
        j = int(np.argmin(km))
        ms = self.settings.intra_city_ms if km[j] == 0 else float(km_to_ms(km[j], self.settings))
        self._attach[(pop, asn)] = (int(rs[j]), ms)
        return int(rs[j]), ms

    def summary(self) -> dict[str, int]:
        return {"ases": self.n_as, "routers": self.n_routers, "cities": len(self.city_ids),
                "provider_customer": int(len(self.down.idx)), "peer": int(len(self.peer.idx) // 2),
                "interconnects": int(len(self.ic.a) // 2), "clients": int((self.demand > 0).sum()),
                "pops": len(self.pops), "providers": len(self.providers)}


def build_interconnects(a: np.ndarray, b: np.ndarray, rel_b_to_a: np.ndarray, r_city: np.ndarray,
                        as_rptr: np.ndarray, n_cities: int, xyz: np.ndarray, s: Settings
                        ) -> Interconnects:
    """Interconnects of undirected AS links (a, b): every shared city, or else
    the nearest pair of cities; then both directions, sorted."""
    cnt = np.diff(as_rptr)
    rkey = np.repeat(np.arange(len(cnt), dtype=np.int64), cnt) * n_cities + r_city
    # shared cities: walk the side with fewer routers, look its cities up in the other
    small_a = cnt[a] <= cnt[b]
    s_as, o_as = np.where(small_a, a, b), np.where(small_a, b, a)
    edge = np.repeat(np.arange(len(a)), cnt[s_as])
    rs = ranges(as_rptr[s_as], cnt[s_as])
    want = o_as[edge].astype(np.int64) * n_cities + r_city[rs]
    pos = np.minimum(np.searchsorted(rkey, want), len(rkey) - 1)
    hit = rkey[pos] == want
    e_sh, r_s, r_o = edge[hit], rs[hit], pos[hit]
    sa = small_a[e_sh]
    ra_sh, rb_sh = np.where(sa, r_s, r_o), np.where(sa, r_o, r_s)
    ms_sh = np.full(len(e_sh), s.intra_city_ms)
    # no shared city: the nearest pair, in chunks of at most PAIR_CHUNK router pairs
    shared = np.zeros(len(a), dtype=bool)
    shared[e_sh] = True
    lone = np.flatnonzero(~shared)
    e_nl, ra_nl, rb_nl, km_nl = [], [], [], []
    csz = np.cumsum(cnt[a[lone]] * cnt[b[lone]])
    start = 0
    while start < len(lone):
        base = int(csz[start - 1]) if start else 0
        end = max(int(np.searchsorted(csz, base + PAIR_CHUNK, side="right")), start + 1)
        e, x, y, km = _nearest_pairs(lone[start:end], a, b, cnt, as_rptr, r_city, xyz)
        e_nl.append(e), ra_nl.append(x), rb_nl.append(y), km_nl.append(km)
        start = end
    cat = (lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dtype=dt))
    e_all = np.concatenate([e_sh, cat(e_nl, np.int64)])
    ra = np.concatenate([ra_sh, cat(ra_nl, np.int64)])
    rb = np.concatenate([rb_sh, cat(rb_nl, np.int64)])
    ms = np.concatenate([ms_sh, km_to_ms(cat(km_nl, np.float64), s)])
    n_as = len(cnt)
    inv = {CUSTOMER: PROVIDER, PROVIDER: CUSTOMER, PEER: PEER}
    rel_ab = rel_b_to_a[e_all]
    rel_ba = np.select([rel_ab == CUSTOMER, rel_ab == PROVIDER], [inv[CUSTOMER], inv[PROVIDER]], PEER)
    da = np.concatenate([a[e_all], b[e_all]])
    dn = np.concatenate([b[e_all], a[e_all]])
    dra, drn = np.concatenate([ra, rb]), np.concatenate([rb, ra])
    drel = np.concatenate([rel_ab, rel_ba]).astype(np.int8)
    dms = np.concatenate([ms, ms]).astype(np.float32)
    order = np.lexsort((dra, dms, da.astype(np.int64) * n_as + dn))
    aptr = np.zeros(n_as + 1, dtype=np.int64)
    np.cumsum(np.bincount(da, minlength=n_as), out=aptr[1:])
    return Interconnects(da[order].astype(np.int32), dn[order].astype(np.int32),
                         dra[order].astype(np.int32), drn[order].astype(np.int32), drel[order],
                         dms[order], aptr)


def _nearest_pairs(edges: np.ndarray, a: np.ndarray, b: np.ndarray, cnt: np.ndarray,
                   as_rptr: np.ndarray, r_city: np.ndarray, xyz: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each AS link in ``edges``: the pair of routers (one per side) whose
    cities are nearest; ties go to the lowest routers."""
    ea, eb = a[edges], b[edges]
    na, nb = cnt[ea], cnt[eb]
    size = na * nb
    which = np.repeat(np.arange(len(edges)), size)
    within = ranges(np.zeros(len(edges), dtype=np.int64), size)
    ra = as_rptr[ea][which] + within // nb[which]
    rb = as_rptr[eb][which] + within % nb[which]
    km = chord_km(xyz, r_city[ra], r_city[rb])
    # the minimum of each contiguous group, ties to the first
    starts = np.cumsum(size) - size
    best = np.minimum.reduceat(km, starts)
    is_best = km == np.repeat(best, size)
    first = np.flatnonzero(is_best)
    grp = which[first]
    keep = np.ones(len(first), dtype=bool)
    keep[1:] = grp[1:] != grp[:-1]
    first = first[keep]
    return edges, ra[first], rb[first], km[first]
