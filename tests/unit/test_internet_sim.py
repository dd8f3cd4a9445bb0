"""The AS-level route model on graphs small enough to check by hand
(preference order, valley-free export, tie-break, hot potato, P_k only via
k, the RTT estimate), against the plain reference implementation on random
graphs, and on a 10,000-AS synthetic internet. No timing: bench/sim_bench.py."""
from __future__ import annotations

from typing import Optional

import numpy as np
import pytest

from anycastlab.model.topology import FIBRE_KM_PER_MS, Settings, great_circle_km
from anycastlab.sim import internet, internet_ref
from anycastlab.sim.caida import CdnSpec, Pop, Presences, Relationships
from anycastlab.sim.internet_build import build_graph
from anycastlab.sim.internet_graph import CUSTOMER, PEER, PROVIDER, InternetGraph
from anycastlab.sim.internet_synth import synthetic

COORD = {"a": (0.0, 0.0), "b": (0.0, 10.0), "c": (0.0, 20.0), "d": (0.0, 30.0)}
CDN = 100


def world(p2c: list[tuple[int, int]], p2p: list[tuple[int, int]] = (),  # type: ignore[assignment]
          where: Optional[dict[int, list[str]]] = None, pops: Optional[dict[str, list[int]]] = None
          ) -> InternetGraph:
    """A graph from lists: p2c as (provider, customer); every AS in city 'a' unless ``where`` says."""
    where = where or {}
    rels = Relationships(np.array(p2c, dtype=np.int64).reshape(-1, 2), np.array(p2p, dtype=np.int64).reshape(-1, 2))
    ids = list(COORD)
    asn, city = [], []
    for a in rels.asns().tolist():
        for c in where.get(a, ["a"]):
            asn.append(a)
            city.append(ids.index(c))
    pres = Presences(np.array(asn), np.array(city, dtype=np.int32), np.ones(len(asn)), ids,
                     np.array([COORD[c][0] for c in ids]), np.array([COORD[c][1] for c in ids]))
    spec = CdnSpec(CDN, [Pop(c, None, None, tuple(ks)) for c, ks in (pops or {"a": [1]}).items()])
    return build_graph(rels, pres, spec)


def routes(g: InternetGraph, name: str = "global") -> internet.PrefixRoutes:
    return internet.route(g, name, internet.service_prefixes(g)[name])


def router(g: InternetGraph, asn: int, city: str = "a") -> int:
    i = g.index_of(asn)
    rs = range(g.as_rptr[i], g.as_rptr[i + 1])
    return next(r for r in rs if g.city_ids[g.r_city[r]] == city)


def as_route(g: InternetGraph, r: internet.PrefixRoutes, asn: int) -> tuple[int, int, Optional[int]]:
    """(class, length, next-hop ASN) of an AS."""
    i = g.index_of(asn)
    nxt = int(r.as_next[i])
    return int(r.as_cls[i]), int(r.as_len[i]), (int(g.asns[nxt]) if nxt >= 0 else None)


def test_customer_route_wins_over_a_shorter_peer_route() -> None:
    g = world([(20, 21), (21, 22), (22, 1)], [(20, 1)])
    r = routes(g)
    assert as_route(g, r, 1) == (CUSTOMER, 1, CDN)
    assert as_route(g, r, 22) == (CUSTOMER, 2, 1)
    assert as_route(g, r, 20) == (CUSTOMER, 4, 21)   # not the peer route of length 2


def test_peer_route_wins_over_a_shorter_provider_route() -> None:
    g = world([(32, 1), (1, 30)], [(30, 32)])
    r = routes(g)
    assert as_route(g, r, 32) == (CUSTOMER, 2, 1)
    assert as_route(g, r, 30) == (PEER, 3, 32)       # not the provider route of length 2 via 1


def test_valley_free_export_leaves_some_ases_without_a_route() -> None:
    # 41 hears the prefix from its peer 1: it tells its customer 44, not its peer 40 nor its provider 45
    g = world([(45, 41), (41, 44), (40, 46)], [(41, 1), (40, 41)])
    r = routes(g)
    assert as_route(g, r, 41) == (PEER, 2, 1)
    assert as_route(g, r, 44) == (PROVIDER, 3, 41)
    for asn in (40, 45, 46):
        assert as_route(g, r, asn) == (0, int(internet.NONE), None)
        assert r.r_pop[router(g, asn)] == -1 and np.isnan(r.r_rtt[router(g, asn)])
    assert r.r_pop[router(g, 44)] == 0


def test_ties_go_to_the_lowest_neighbour_asn_not_the_shorter_line() -> None:
    # 50 (city a) has two equally good providers: 52 beside it, 51 far away in d
    g = world([(51, 1), (52, 1), (51, 50), (52, 50)], where={51: ["d"], 1: ["a", "d"]})
    r = routes(g)
    assert as_route(g, r, 50) == (PROVIDER, 3, 51)
    assert internet.path_of(g, r, router(g, 50)) == [(50, "a"), (51, "d"), (1, "d"), (1, "a"), (CDN, "a")]


def test_hot_potato_each_city_leaves_by_its_nearest_attachment() -> None:
    g = world([(1, 61), (1, 62), (1, 63)], where={1: ["a", "b", "c", "d"], 61: ["b"], 62: ["c"], 63: ["a", "d"]},
              pops={"a": [1], "d": [1]})
    r = routes(g)
    pop = lambda asn, city: g.pops[r.r_pop[router(g, asn, city)]]
    assert pop(61, "b") == "a" and pop(62, "c") == "d"
    assert pop(63, "a") == "a" and pop(63, "d") == "d"
    assert as_route(g, r, 63) == (PROVIDER, 2, 1)


def test_rtt_estimate_prices_lines_like_the_router_level_model() -> None:
    g = world([(1, 61)], where={1: ["a", "b"], 61: ["b"]})
    r = routes(g)
    s = Settings()
    km = great_circle_km(0, 0, 0, 10)
    backbone = km * s.path_inflation / FIBRE_KM_PER_MS + s.per_hop_ms
    one_way = s.lan_ms + s.intra_city_ms + backbone + s.intra_city_ms + s.lan_ms
    assert r.r_rtt[router(g, 61, "b")] == pytest.approx(2 * one_way, abs=1e-3)
    assert internet.path_of(g, r, router(g, 61, "b")) == [(61, "b"), (1, "b"), (1, "a"), (CDN, "a")]


def test_provider_prefix_travels_only_through_its_provider() -> None:
    # the CDN buys from 1 and 2 at a; 70 is a customer of 2 only, 71 of 1 only; 1 and 2 peer
    g = world([(1, 71), (2, 70)], [(1, 2)], pops={"a": [1, 2]})
    pre = internet.service_prefixes(g)
    assert pre == {"global": [("a", 1), ("a", 2)], "provider:1": [("a", 1)], "provider:2": [("a", 2)]}
    r1, r2 = routes(g, "provider:1"), routes(g, "provider:2")
    assert [a for a, _ in internet.path_of(g, r1, router(g, 70))] == [70, 2, 1, CDN]
    assert [a for a, _ in internet.path_of(g, r2, router(g, 71))] == [71, 1, 2, CDN]
    assert as_route(g, r1, 2) == (PEER, 2, 1)
    assert [a for a, _ in internet.path_of(g, routes(g), router(g, 70))] == [70, 2, CDN]


def test_sweep_changes_what_is_announced() -> None:
    g = world([(1, 71), (2, 70)], [(1, 2)], pops={"a": [1, 2], "b": [2]})
    links = {"a": [1], "b": [2, 1]}
    pre = internet.service_prefixes(g, unicast=True, pop_providers=links, global_pops=["b"],
                                    provider_pops={1: ["a"]})
    assert pre["global"] == [("b", 2), ("b", 1)]
    assert pre["provider:1"] == [("a", 1)] and pre["provider:2"] == [("b", 2)]
    assert pre["unicast:a"] == [("a", 1)] and pre["unicast:b"] == [("b", 2), ("b", 1)]


def test_interconnects_in_shared_cities_or_between_the_nearest() -> None:
    g = world([(1, 2), (1, 3)], where={1: ["a", "b", "c"], 2: ["b", "c", "d"], 3: ["d"]})
    ic = g.ic
    lines = {(int(g.asns[a]), int(g.asns[n]), g.city_ids[g.r_city[ra]], g.city_ids[g.r_city[rn]])
             for a, n, ra, rn in zip(ic.a, ic.n, ic.ra, ic.rn)}
    assert {x for x in lines if x[:2] == (1, 2)} == {(1, 2, "b", "b"), (1, 2, "c", "c")}
    assert {x for x in lines if x[:2] == (1, 3)} == {(1, 3, "c", "d")}
    assert (3, 1, "d", "c") in lines


@pytest.mark.parametrize("seed", range(8))
def test_matches_the_reference_on_random_graphs(seed: int) -> None:
    """Random relationships (cycles, islands, peers everywhere), several cities per AS."""
    rng = np.random.default_rng(seed)
    n, n_c = int(rng.integers(30, 120)), 4
    asns = rng.choice(np.arange(1, 5000), n, replace=False)
    e = rng.integers(0, n, (int(n * 1.8), 2))
    e = np.unique(np.sort(e[e[:, 0] != e[:, 1]], axis=1), axis=0)
    e = np.where(rng.random((len(e), 1)) < 0.5, e, e[:, ::-1])
    is_pc = rng.random(len(e)) < 0.6
    rels = Relationships(asns[e[is_pc]].astype(np.int64), asns[e[~is_pc]].astype(np.int64))
    present = rels.asns()
    where = {int(a): list(rng.choice(list(COORD), int(rng.integers(1, n_c + 1)), replace=False))
             for a in present}
    provs = [int(x) for x in rng.choice(present, 3, replace=False)]
    g = world(asns[e[is_pc]].tolist(), asns[e[~is_pc]].tolist(), where,
              pops={"a": provs[:2], "c": provs[1:]})
    for name, pairs in internet.service_prefixes(g, unicast=True).items():
        r = internet.route(g, name, pairs)
        pops, rtts = internet_ref.route(g, pairs)
        assert r.r_pop.tolist() == pops, name
        assert np.allclose(r.r_rtt, np.array(rtts), atol=1e-3, equal_nan=True), name


def test_synthetic_10k_internet_reaches_everyone() -> None:
    g = build_graph(*synthetic(10_000, seed=3))
    s = g.summary()
    assert s["ases"] == 10_001 and s["clients"] > 9_000 and s["providers"] == 10
    got, secs = internet.simulate(g)
    assert set(got) == {"global", *(f"provider:{k}" for k in g.providers)} and set(secs) == set(got)
    clients = g.demand > 0
    for name, r in got.items():
        assert (r.r_pop[clients] >= 0).all(), name
        assert (r.r_rtt[clients] > 0).all() and np.nanmax(r.r_rtt) < 700, name
    # P_k lands only at PoPs that buy from k
    for k in g.providers:
        at = {g.pops[p] for p in np.unique(got[f"provider:{k}"].r_pop[clients])}
        assert at <= {p for p, ks in g.pop_providers.items() if k in ks}


def test_synthetic_graphs_are_seeded_and_caida_like() -> None:
    a, b = synthetic(3000, seed=5), synthetic(3000, seed=5)
    assert np.array_equal(a[0].p2c, b[0].p2c) and np.array_equal(a[0].p2p, b[0].p2p)
    rels, pres, cdn = synthetic(20_000, seed=2)
    n = len(rels.asns())
    customers = np.unique(rels.p2c[:, 1])
    providers = np.unique(rels.p2c[:, 0])
    assert n == 20_000 and len(customers) > 0.98 * n
    assert 0.01 < len(providers) / n < 0.03          # ~1.5 % transit
    assert 1.7 < len(rels.p2c) / n < 2.3 and 3 < len(rels.p2p) / n < 5
    deg = np.bincount(np.searchsorted(np.unique(rels.asns()), rels.p2c.ravel()))
    assert deg.max() > 50 * np.median(deg)           # heavy-tailed


def test_run_simulate_prints_and_writes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """What `anycastlab simulate --relationships --cities --cdn --out` does, on files
    shaped as `anycastlab generate --format caida` writes them (the CDN's own links
    and PoP rows included, both ignored quietly when they agree with the spec)."""
    import io
    import json

    from rich.console import Console

    (tmp_path / "x.as-rel.txt").write_text("# generated\n1|2|-1|gen\n1|64500|-1|gen\n3|64500|-1|gen\n"
                                           "1|3|0|gen\n3|4|-1|gen\n")
    (tmp_path / "x.cities.csv").write_text(
        "asn,city,lat,lon,population_m\n64500,a,0,0,1\n64500,d,0,30,1\n1,a,0,0,1\n1,b,0,10,2\n"
        "2,b,0,10,2\n3,d,0,30,1\n4,c,0,20,3\n")
    (tmp_path / "x.cdn.yaml").write_text('asn: 64500\nname: "Example CDN"\npops:\n'
                                         "  - {city: a, lat: 0, lon: 0, providers: [1]}\n"
                                         "  - {city: d, lat: 0, lon: 30, providers: [3]}\n")
    buf = io.StringIO()
    summary = internet.run_simulate(*(tmp_path / f"x.{s}" for s in ("as-rel.txt", "cities.csv", "cdn.yaml")),
                                    out=tmp_path / "out", unicast=True, console=Console(file=buf, width=160))
    text = buf.getvalue()
    assert "catchments" in text and "P_1" in text and "U_d" in text and "links of the CDN" not in text
    assert summary["graph"]["clients"] == 2
    assert summary["notes"] == ["2 cities with people but no stub AS carry no demand"]   # a and d
    assert summary["prefixes"]["provider:1"]["pops"] == {"a": {"clients": 2, "demand_share": 1.0}}
    assert summary["prefixes"]["global"]["pops"] == {"a": {"clients": 1, "demand_share": 0.4},
                                                     "d": {"clients": 1, "demand_share": 0.6}}
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["announced"]["provider:3"] == [["d", 3]]
    rows = (tmp_path / "out" / "catchments.csv").read_text().splitlines()
    assert rows[0].split(",")[:5] == ["asn", "city", "demand", "global.pop", "global.rtt_ms"]
    assert rows[1].startswith("2,b,2,a,") and rows[2].startswith("4,c,3,d,")
