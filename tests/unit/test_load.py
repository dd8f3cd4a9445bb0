"""The load model (model/load.py, analysis/load.py, measure/paths.py's parser):
the M/M/1/K curve against a direct sum, demands, flows along paths, the
file fields and their refusals, and the summary of a load log."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from anycastlab.analysis.load import headline, summarize
from anycastlab.errors import InputError, TopologyError
from anycastlab.measure.paths import Walk, walk
from anycastlab.model.load import (
    LoadSettings,
    client_demand,
    demand_flows,
    effect,
    mm1k,
    offered,
    service_ms,
)
from anycastlab.model.topofile import load_topology
from anycastlab.model.variability import LoadDraw

REPO = Path(__file__).resolve().parents[2]


def direct(rho: float, k: int) -> tuple[float, float]:
    """L and P_K of M/M/1/K by summing the stationary distribution."""
    w = [rho ** n for n in range(k + 1)]
    z = sum(w)
    return sum(n * x for n, x in enumerate(w)) / z, w[-1] / z


@pytest.mark.parametrize("rho", [0.1, 0.5, 0.9, 0.99, 1.0, 1.01, 1.3, 3.0])
@pytest.mark.parametrize("k", [1, 5, 50, 400])
def test_mm1k_closed_form_equals_the_direct_sum(rho: float, k: int) -> None:
    n, pk = mm1k(rho, k)
    dn, dpk = direct(rho, k)
    assert n == pytest.approx(dn, rel=1e-6, abs=1e-9)
    assert pk == pytest.approx(dpk, rel=1e-6, abs=1e-12)


def test_the_curve_is_the_documented_one() -> None:
    s = LoadSettings()  # 64 kB bursts, 50 ms buffer
    svc = service_ms(10.0, 64.0)
    assert svc == pytest.approx(0.0512)
    k = int(50.0 / svc)
    for rho in (0.3, 0.8, 0.95, 1.0, 1.2):
        e = effect(rho * 10.0, 10.0, s)
        n, pk = direct(rho, k)
        assert e.delay_ms == pytest.approx((n / (rho * (1 - pk)) - 1) * svc, rel=1e-6)
        assert e.loss == pytest.approx(pk, rel=1e-6, abs=1e-12)
        assert e.rho == pytest.approx(rho)
    # moderate load: about s rho / (1 - rho); a full link: half the buffer
    assert effect(8.0, 10.0, s).delay_ms == pytest.approx(svc * 0.8 / 0.2, rel=1e-3)
    assert effect(10.0, 10.0, s).delay_ms == pytest.approx(25.0, rel=1e-2)


def test_beyond_capacity_the_excess_is_lost_and_the_buffer_full() -> None:
    s = LoadSettings()
    for rho in (1.5, 2.0, 4.0):
        e = effect(rho * 40.0, 40.0, s)
        assert e.loss == pytest.approx(1 - 1 / rho, rel=1e-3)
        assert e.delay_ms == pytest.approx(s.buffer_ms, rel=1e-2)
    assert effect(0.0, 40.0, s).delay_ms == 0.0 and not effect(0.0, 40.0, s).felt
    assert not effect(1.0, 100.0, s).felt  # 1 % of a port: nothing a probe could see
    with pytest.raises(ValueError):
        effect(1.0, 0.0, s)


def test_delay_and_loss_never_fall_as_the_load_rises() -> None:
    s = LoadSettings()
    prev = effect(0.0, 10.0, s)
    for i in range(1, 400):
        e = effect(i * 0.05, 10.0, s)
        assert e.delay_ms >= prev.delay_ms - 1e-9 and e.loss >= prev.loss - 1e-12
        assert math.isfinite(e.delay_ms) and 0 <= e.loss <= 1
        prev = e


def test_demand_comes_from_the_file_the_population_or_the_default() -> None:
    s = LoadSettings(gbps_per_million=2.0, default_demand_gbps=0.5)
    assert client_demand(7.0, 10.0, s) == (7.0, "file")
    assert client_demand(None, 10.0, s) == (20.0, "population")
    assert client_demand(None, 10.0, s, sharing=2) == (10.0, "population")
    assert client_demand(None, None, s) == (0.5, "default")


def test_world_demands_follow_metro_populations_and_share_a_city() -> None:
    topo = load_topology(REPO / "topologies" / "world.yaml")
    d = {a.id: a for a in topo.clients()}
    assert d["ctyo1"].demand_gbps == pytest.approx(37.4) and d["ctyo1"].demand_source == "population"
    assert d["cnyc1"].demand_gbps == pytest.approx(d["cnyc2"].demand_gbps) == pytest.approx(9.4)
    ports = {(lk.a, lk.b): lk.capacity_gbps for lk in topo.links if lk.a.startswith("cdn-")}
    assert ports[("cdn-syd", "t1b-syd")] == 10 and ports[("cdn-tyo", "t1a-tyo")] == 100
    assert all(lk.capacity_gbps > 0 for lk in topo.links)


def test_flows_follow_the_shares_and_split_until_measured() -> None:
    paths = {("c", "global"): ([("h", "r"), ("r", "p1")], [("p1", "r"), ("r", "h")]),
             ("c", "a"): ([("h", "r"), ("r", "p1")], [("p1", "r"), ("r", "h")]),
             ("c", "b"): ([("h", "r"), ("r", "p2")], [("p2", "r"), ("r", "h")])}
    flows = demand_flows({"c": 10.0}, {"c": {"a": 0.9, "b": 0.1}}, paths, 0.5, 0.0, ["a", "b"])
    load = offered((r, h) for r, h, _ in flows)
    assert load[("p1", "r")] == pytest.approx(5.0 + 4.5) and load[("p2", "r")] == pytest.approx(0.5)
    assert load[("r", "h")] == pytest.approx(10.0)
    assert ("h", "r") not in load  # no upstream traffic asked for
    up = offered((r, h) for r, h, _ in demand_flows({"c": 10.0}, {}, paths, 1.0, 0.1, ["a", "b"]))
    assert up[("p2", "r")] == pytest.approx(5.0) and up[("r", "p2")] == pytest.approx(0.5)
    # a target without a path carries nothing and does not fail
    some = demand_flows({"c": 10.0}, {"c": {"a": 0.5, "b": 0.5}}, {("c", "a"): paths[("c", "a")]},
                        1.0, 0.0, ["a", "b"])
    assert sum(r for r, _, _ in some) == pytest.approx(5.0)


BAD = [
    ("cities", "population_m: 0", "cities[0].population_m"),
    ("cities", "population_m: -3", "cities[0].population_m"),
    ("links", "capacity_gbps: 0", "links[0].capacity_gbps"),
    ("links", "capacity_gbps: .inf", "links[0].capacity_gbps"),
    ("settings", "load: {buffer_ms: .nan}", "settings.load.buffer_ms"),
    ("settings", "load: {capacity_gbps: {access: 0}}", "settings.load.capacity_gbps.access"),
    ("settings", "load: {capacity_gbps: {acess: 10}}", "settings.load.capacity_gbps.acess"),
    ("ases", "demand_gbps: -1", "ases[2].demand_gbps"),
]


@pytest.mark.parametrize("where,text,key", BAD)
def test_bad_demand_and_capacity_values_are_refused_with_their_key(tmp_path: Path, where: str,
                                                                   text: str, key: str) -> None:
    body = {
        "cities": "cities:\n  - {id: nyc, name: N, lat: 40, lon: -74, %s}\n",
        "links": "links:\n  - {a: cdn-nyc, b: tra-nyc, %s}\n  - [c1-nyc, tra-nyc]\n",
        "settings": "settings: {%s}\n",
        "ases": "",
    }
    cities = body["cities"] % text if where == "cities" else "cities:\n  - {id: nyc, name: N, lat: 40, lon: -74}\n"
    client = "{id: c1, asn: 65001, name: C, role: client, cities: [nyc]%s}" % (", " + text if where == "ases" else "")
    links = body["links"] % text if where == "links" else "links:\n  - [cdn-nyc, tra-nyc]\n  - [c1-nyc, tra-nyc]\n"
    doc = ("name: t\n" + (body["settings"] % text if where == "settings" else "") + cities
           + "ases:\n  - {id: cdn, asn: 64512, name: D, role: cdn, cities: [nyc]}\n"
           "  - {id: tra, asn: 64600, name: A, role: transit, cities: [nyc]}\n"
           f"  - {client}\n"
           "relationships:\n  - {provider: tra, customer: cdn}\n  - {provider: tra, customer: c1}\n"
           + links)
    f = tmp_path / "t.yaml"
    f.write_text(doc)
    with pytest.raises(InputError) as e:
        load_topology(f)
    text_of = str(e.value) + " " + " ".join(str(x) for x in getattr(e.value, "errors", []) or [])
    assert key.split(".")[-1] in text_of and str(f) in (e.value.file and str(e.value.file) or "")


def test_only_clients_have_a_demand(tmp_path: Path) -> None:
    f = tmp_path / "t.yaml"
    f.write_text("name: t\ncities: [{id: nyc, name: N, lat: 40, lon: -74}]\n"
                 "ases:\n  - {id: cdn, asn: 64512, name: D, role: cdn, cities: [nyc], demand_gbps: 3}\n"
                 "  - {id: tra, asn: 64600, name: A, role: transit, cities: [nyc]}\n"
                 "relationships: [{provider: tra, customer: cdn}]\nlinks: [[cdn-nyc, tra-nyc]]\n")
    with pytest.raises(TopologyError, match="only client networks have a demand"):
        load_topology(f)


def test_the_load_draws_are_seeded_and_keep_their_stream() -> None:
    a, b = LoadDraw(2.0, 0.3, 7, "r1-e0"), LoadDraw(2.0, 0.3, 7, "r1-e0")
    first = [a.lose() for _ in range(2000)]
    assert first == [b.lose() for _ in range(2000)]
    assert 0.25 < a.shed / 2000 < 0.35 and a.ns == 2_000_000
    a.update(LoadDraw(0.0, 0.0, 7, "r1-e0"))
    assert not any(a.lose() for _ in range(100)) and a.ns == 0
    with pytest.raises(ValueError):
        LoadDraw(2000.0, 0.0, 1, "k")
    with pytest.raises(ValueError):
        LoadDraw(1.0, 1.5, 1, "k")


class FakeReader:
    """A FIB per node: (dst, src, iif) -> (kind, device), None matching anything."""

    def __init__(self, fib: dict) -> None:
        self.fib, self.asked = fib, []

    def get(self, node, dst, src=None, iif=None):
        self.asked.append((node, dst, src, iif))
        for (d, s, i), ans in self.fib.get(node, {}).items():
            if d == dst and s in (None, src) and i in (None, iif):
                return ans
        return "none", None


def _plan():
    from types import SimpleNamespace as NS

    def intf(node, name, peer, peer_name):
        return NS(node=node, name=name, peer_node=peer, peer_intf=peer_name)
    links = [("h", "h-e0", "r", "r-e0"), ("r", "r-e1", "e", "e-e0")]
    nodes: dict = {}
    for a, an, b, bn in links:
        nodes.setdefault(a, []).append(intf(a, an, b, bn))
        nodes.setdefault(b, []).append(intf(b, bn, a, an))
    plan = NS(nodes={n: NS(interfaces=v) for n, v in nodes.items()})
    plan.interface = lambda a, b: next(i for i in plan.nodes[a].interfaces if i.peer_node == b)
    return plan


def test_a_walk_follows_the_fibs_and_passes_the_arrival_interface():
    plan = _plan()
    reader = FakeReader({"h": {("S", None, None): ("unicast", "h-e0"), ("C", "S", None): ("local", None)},
                         "r": {("S", None, None): ("unicast", "r-e1"), ("C", "S", "r-e1"): ("unicast", "r-e0")},
                         "e": {("S", None, None): ("local", None), ("C", "S", None): ("unicast", "e-e0")}})
    fwd = walk(reader, plan, Walk("h", "S"))
    assert fwd.hops == [("h", "r"), ("r", "e")] and fwd.end == "e"
    back = walk(reader, plan, Walk("e", "C", src="S"))
    assert back.hops == [("e", "r"), ("r", "h")] and back.end == "h"
    assert ("r", "C", "S", "r-e1") in reader.asked  # looked up as a packet forwarded in from e
    lost = walk(FakeReader({"h": {("S", None, None): ("unicast", "h-e0")}}), plan, Walk("h", "S"))
    assert lost.end == "" and lost.hops == [("h", "r")]


def test_the_summary_counts_windows_in_effect_and_names_hot_links() -> None:
    sec = {"ipa_fraction": 0.5, "demand_gbps": {"c": 10.0}, "capacity_gbps": {"a>b": 10.0, "b>c": 100.0},
           "log": [{"t_s": -3.0, "label": "window", "links": {"a>b": [5.0, 2.0, 0.5, 0.05, 0.0]}},
                   {"t_s": 5.0, "label": "window", "links": {"a>b": [9.0, 6.0, 0.9, 0.46, 0.0],
                                                             "b>c": [9.0, 6.0, 0.09, 0.0, 0.0]}},
                   {"t_s": 10.0, "label": "window", "links": {"a>b": [7.0, 4.0, 0.7, 0.17, 0.0]}}]}
    s = summarize(sec, since_s=0.0)
    assert s is not None and s["applications"] == 2
    ab = next(r for r in s["links"] if r["link"] == "a>b")
    assert ab["peak_rho"] == 0.9 and ab["mean_rho"] == pytest.approx(0.8) and ab["ipa_part"] == pytest.approx(10 / 16)
    bc = next(r for r in s["links"] if r["link"] == "b>c")
    assert bc["mean_gbps"] == pytest.approx(4.5)  # carried nothing in one of the two windows
    assert s["hot"] == ["a>b"] and s["links"][0]["link"] == "a>b"
    assert "a>b at 90 %" in headline(s) and "1 ran hot" in headline(s)
    assert summarize(None) is None and "none modelled" in headline(None)
    # at rest (no clock): every application
    assert summarize(sec)["applications"] == 3  # type: ignore[index]
