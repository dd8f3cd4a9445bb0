"""From the three input files to one InternetGraph: cross-file checks (every
CDN provider is in the graph, every AS has a city), the routers, the
clients' demand and the interconnects."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..errors import InputError
from ..model.suggest import ErrorList
from .caida import CdnSpec, Presences, Relationships, read_cdn, read_presences, read_relationships
from .internet_graph import CUSTOMER, PEER, Csr, InternetGraph, build_interconnects, unit_vectors

Progress = Optional[Callable[[str, int, int], None]]


def load_internet(relationships: str | Path, cities: str | Path, cdn: str | Path,
                  progress: Progress = None) -> InternetGraph:
    """Read the three files and build the graph; errors name file, line and fix."""
    steps = ["relationships", "cities", "cdn", "graph"]
    tick = (lambda i: progress("load", i, len(steps))) if progress else (lambda i: None)
    tick(0)
    rels = read_relationships(relationships)
    tick(1)
    pres = read_presences(cities)
    tick(2)
    spec = read_cdn(cdn)
    tick(3)
    g = build_graph(rels, pres, spec)
    tick(4)
    return g


def build_graph(rels: Relationships, pres: Presences, cdn: CdnSpec) -> InternetGraph:
    """The graph of ``rels`` with routers where ``pres`` puts them and the CDN of ``cdn``.

    The CDN's own lines in ``rels`` are dropped: the spec says whom it buys
    from, PoP by PoP. Rows of ``pres`` for ASes not in the graph are ignored.
    """
    notes = list(rels.notes)
    p2c, p2p = rels.p2c, rels.p2p
    mine_pc = (p2c == cdn.asn).any(axis=1)
    mine_pp = (p2p == cdn.asn).any(axis=1)
    if mine_pc.any() or mine_pp.any():
        # the generator writes the CDN's provider links too: only a difference is worth a note
        as_customer = set(p2c[mine_pc & (p2c[:, 1] == cdn.asn), 0].tolist())
        other = int(mine_pp.sum() + (mine_pc & (p2c[:, 0] == cdn.asn)).sum())
        if other or as_customer != set(cdn.providers()):
            notes.append(f"{int(mine_pc.sum() + mine_pp.sum())} links of the CDN (AS{cdn.asn}) in the "
                         "relationships file ignored: the CDN spec says whom it buys from where")
        p2c, p2p = p2c[~mine_pc], p2p[~mine_pp]
    graph_asns = np.unique(np.concatenate([p2c.ravel(), p2p.ravel()]))
    errs = ErrorList(cdn.src)
    for i, pop in enumerate(cdn.pops):
        for j, k in enumerate(pop.providers):
            if not _has(graph_asns, k):
                errs.add(f"provider AS{k} of PoP '{pop.city}' is not in the relationships file "
                         f"({rels.path or 'the graph'})", ("pops", i, "providers", j),
                         "give a provider that appears in the relationships file")
    errs.raise_if_any()
    asns = np.union1d(graph_asns, [cdn.asn])
    n = len(asns)
    cdn_i = int(np.searchsorted(asns, cdn.asn))
    # presences: rows of graph ASes (not the CDN's: its PoPs are its cities)
    in_graph = np.isin(pres.asn, graph_asns)
    stray = int((~in_graph & (pres.asn != cdn.asn)).sum())   # the CDN's own rows are its PoPs
    if stray:
        notes.append(f"{stray} AS-city rows of ASes not in the relationships file ignored")
    p_as = np.searchsorted(asns, pres.asn[in_graph])
    p_city, p_pop = pres.city[in_graph], pres.population_m[in_graph]
    placed = np.zeros(n, dtype=bool)
    placed[p_as] = True
    placed[cdn_i] = True
    if not placed.all():
        lost = asns[~placed]
        shown = ", ".join(f"AS{int(x)}" for x in lost[:8]) + (", ..." if len(lost) > 8 else "")
        raise InputError(f"{len(lost)} ASes of the relationships file have no city: {shown}",
                         file=pres.path, fix="add a row 'asn,city,lat,lon,population_m' for each "
                                             "(an AS with no place cannot carry traffic anywhere)")
    city_ids, lat, lon, pop_city = _pop_cities(pres, cdn)
    # routers: one per AS-city, the CDN's at its PoPs; sorted by (AS, city)
    r_as = np.concatenate([p_as, np.full(len(cdn.pops), cdn_i)]).astype(np.int32)
    r_city = np.concatenate([p_city, pop_city]).astype(np.int32)
    r_pop = np.concatenate([p_pop, np.zeros(len(cdn.pops))])
    order = np.lexsort((r_city, r_as))
    r_as, r_city, r_pop = r_as[order], r_city[order], r_pop[order]
    as_rptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(r_as, minlength=n), out=as_rptr[1:])
    pc_a, pc_c = np.searchsorted(asns, p2c[:, 0]), np.searchsorted(asns, p2c[:, 1])
    pp_a, pp_b = np.searchsorted(asns, p2p[:, 0]), np.searchsorted(asns, p2p[:, 1])
    up = Csr.build(pc_c, pc_a, n)
    down = Csr.build(pc_a, pc_c, n)
    peer = Csr.build(np.concatenate([pp_a, pp_b]), np.concatenate([pp_b, pp_a]), n)
    demand = _demand(r_as, r_city, r_pop, down.degree(), cdn_i, len(city_ids), notes)
    ic = build_interconnects(np.concatenate([pc_a, pp_a]), np.concatenate([pc_c, pp_b]),
                             np.concatenate([np.full(len(pc_a), CUSTOMER), np.full(len(pp_a), PEER)]),
                             r_city, as_rptr, len(city_ids), unit_vectors(lat, lon), cdn.settings)
    rs = np.arange(as_rptr[cdn_i], as_rptr[cdn_i + 1])
    by_city = dict(zip(r_city[rs].tolist(), rs.tolist()))
    pop_router = np.array([by_city[int(c)] for c in pop_city], dtype=np.int32)
    return InternetGraph(asns, cdn_i, up, down, peer, r_as, r_city, as_rptr, demand, city_ids, lat, lon,
                         ic, [p.city for p in cdn.pops], pop_router, cdn.providers(),
                         {p.city: list(p.providers) for p in cdn.pops}, cdn.settings, notes)


def _has(sorted_arr: np.ndarray, v: int) -> bool:
    i = int(np.searchsorted(sorted_arr, v))
    return i < len(sorted_arr) and int(sorted_arr[i]) == v


def _pop_cities(pres: Presences, cdn: CdnSpec) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Cities of the table plus the PoPs' own; a PoP in a known city must sit where the table says."""
    ids = list(pres.city_ids)
    index = {c: i for i, c in enumerate(ids)}
    lat, lon = list(pres.lat), list(pres.lon)
    errs = ErrorList(cdn.src)
    pop_city = []
    for i, p in enumerate(cdn.pops):
        ci = index.get(p.city)
        if ci is None:
            if p.lat is None or p.lon is None:
                errs.add(f"PoP city '{p.city}' is not in the AS cities file and has no lat, lon",
                         ("pops", i, "city"), "add 'lat:' and 'lon:' to the PoP, or use a city id of "
                                              f"{pres.path or 'the AS cities file'}")
                pop_city.append(0)
                continue
            ci = index[p.city] = len(ids)
            ids.append(p.city)
            lat.append(p.lat)
            lon.append(p.lon)
        elif p.lat is not None and p.lon is not None and (
                abs(p.lat - lat[ci]) > 0.5 or abs(p.lon - lon[ci]) > 0.5):
            errs.add(f"PoP '{p.city}' at {p.lat}, {p.lon} but the AS cities file puts '{p.city}' at "
                     f"{lat[ci]:.4f}, {lon[ci]:.4f}", ("pops", i, "lat"),
                     "correct the coordinates, drop them, or use another city id")
        pop_city.append(ci)
    errs.raise_if_any()
    return ids, np.array(lat, dtype=np.float64), np.array(lon, dtype=np.float64), np.array(pop_city)


def _demand(r_as: np.ndarray, r_city: np.ndarray, r_pop: np.ndarray, n_customers: np.ndarray, cdn: int,
            n_cities: int, notes: list[str]) -> np.ndarray:
    """Client demand per router: a city's population shared by the stub ASes
    (no customer) present there, as the topology model shares a city among
    its client networks (model/load.py client_demand)."""
    client = (n_customers[r_as] == 0) & (r_as != cdn)
    per_city = np.bincount(r_city[client], minlength=n_cities)
    demand = np.where(client, r_pop / np.maximum(1, per_city[r_city]), 0.0)
    cities_with_pop = np.unique(r_city[r_pop > 0])
    orphan = np.setdiff1d(cities_with_pop, np.unique(r_city[client]))
    if len(orphan):
        notes.append(f"{len(orphan)} cities with people but no stub AS carry no demand")
    return demand
