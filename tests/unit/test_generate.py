"""``anycastlab generate``: the generated internet is a valid topology (it
passes load_topology at lab sizes, and the same rules checked in linear time
at 10,000 ASes), the same seed gives the same bytes, every client reaches the
CDN valley-free, the role mix has its shape, bad arguments are typed errors
with a fix, and the CAIDA files say the same internet."""
from __future__ import annotations

import argparse
import csv
import io
import re
from collections import Counter, defaultdict

import pytest
import yaml

from anycastlab.cli import generate as cli_generate
from anycastlab.errors import InputError
from anycastlab.model.cities import table
from anycastlab.model.generate import GenParams, Internet, for_routers, generate, self_check, to_yaml
from anycastlab.model.generate_caida import as_rel_text, caida_paths, cdn_text, cities_text, write_caida
from anycastlab.model.topofile import load_topology
from anycastlab.model.topology import ID_AS, ID_CITY, MAX_NODE_NAME


def write(tmp_path, net: Internet):
    path = tmp_path / f"{net.params.name}.yaml"
    path.write_text(to_yaml(net), encoding="utf-8")
    return path


@pytest.mark.parametrize("ases,seed", [(6, 1), (10, 1), (10, 2), (30, 3), (100, 4), (180, 5), (650, 6)])
def test_generated_files_pass_the_loader(tmp_path, ases, seed):
    net = generate(GenParams(ases=ases, seed=seed))
    topo = load_topology(write(tmp_path, net))  # every rule of topofile.py, valley-free reach included
    assert len(topo.ases) == ases and len(topo.routers) == net.routers
    cdn = topo.cdn  # load_topology checked every client's valley-free reach; once more, plainly:
    assert ases > 100 or all(cdn.id in topo.valley_free_reach(c.id) for c in topo.clients())
    assert list(cdn.cities) == list(net.pops)
    # demand is the city's population shared by its client networks
    per_city = Counter(c.cities[0] for c in topo.clients())
    for c in topo.clients():
        city = topo.cities[c.cities[0]]
        assert c.demand_source == "population"
        assert c.demand_gbps == pytest.approx(city.population_m / per_city[city.id])


@pytest.mark.parametrize("kwargs", [
    {"regional_cities": 1, "tier1_cities": 2, "pop_providers": 1, "pops": 2},
    {"tier1": 16, "tier1_cities": 40, "regional_cities": 8, "pops": 30, "pop_providers": 8},
])
def test_extreme_parameters_pass_the_loader(tmp_path, kwargs):
    net = generate(GenParams(ases=90, seed=2, **kwargs))
    load_topology(write(tmp_path, net))


def test_same_seed_same_bytes_other_seed_other_file():
    a = to_yaml(generate(GenParams(ases=300, seed=11)))
    assert a == to_yaml(generate(GenParams(ases=300, seed=11)))
    assert a != to_yaml(generate(GenParams(ases=300, seed=12)))


def test_role_mix_and_shape():
    net = generate(GenParams(ases=1000, seed=1))
    kinds = Counter(a.kind for a in net.ases)
    assert kinds["cdn"] == 1 and 8 <= kinds["tier1"] <= 10 and kinds["regional"] == 120
    assert kinds["client"] == 1000 - 1 - kinds["tier1"] - 120
    providers, customers, peers = Counter(), Counter(), Counter()
    for kind, a, b in net.rels:
        if kind == "p2c":
            providers[b] += 1
            customers[a] += 1
        else:
            peers[a] += 1
            peers[b] += 1
    by_kind = defaultdict(list)
    for a in net.ases:
        by_kind[a.kind].append(a)
    t1s = [a.id for a in by_kind["tier1"]]
    assert all(providers[t] == 0 for t in t1s)  # transit-free ...
    assert all(peers[t] >= len(t1s) - 1 for t in t1s)  # ... and a clique
    assert all(1 <= providers[r.id] <= 3 for r in by_kind["regional"])
    assert all(customers[a.id] >= 1 for a in by_kind["tier1"] + by_kind["regional"])
    clients = by_kind["client"]
    assert all(len(c.cities) == 1 and 1 <= providers[c.id] <= 4 for c in clients)
    multihomed = sum(providers[c.id] > 1 for c in clients) / len(clients)
    assert 0.25 <= multihomed <= 0.6
    # preferential attachment: the busiest carrier has many times the median's customers
    counts = sorted(customers[a.id] for a in by_kind["regional"])
    assert counts[-1] >= 3 * counts[len(counts) // 2]
    assert len(net.pops) == 8 and all(1 <= len(p) <= 3 for p in net.pops.values())
    assert any(t in t1s for p in net.pops.values() for t in p)


def linear_check(net: Internet) -> None:
    """The rules of topofile.py that a size could break, checked without load_topology
    (the YAML reader takes at most 200,000 values: about 6,000 generated ASes)."""
    ases = {a.id: a for a in net.ases}
    assert len(ases) == len(net.ases) and len({a.asn for a in net.ases}) == len(net.ases)
    assert all(re.match(ID_AS, a.id) and a.id not in ("h", "e") for a in net.ases)
    assert all(re.match(ID_CITY, c.id) for c in net.cities)
    routers = {f"{a.id}-{c}" for a in net.ases for c in a.cities}
    assert all(len(r) <= MAX_NODE_NAME for r in routers)
    pairs = {frozenset((a, b)) for _, a, b in net.rels}
    assert len(pairs) == len(net.rels)
    linked, seen, intra = set(), set(), defaultdict(list)
    for lk in net.links:
        assert lk.a in routers and lk.b in routers and lk.a != lk.b
        assert frozenset((lk.a, lk.b)) not in seen
        seen.add(frozenset((lk.a, lk.b)))
        x, y = lk.a.split("-")[0], lk.b.split("-")[0]
        if x == y:
            assert ases[x].kind != "cdn"
            intra[x].append((lk.a, lk.b))
        else:
            assert frozenset((x, y)) in pairs
            linked.add(frozenset((x, y)))
    assert linked == pairs  # a link needs a relationship and a relationship a link
    for a in net.ases:  # carriers' backbones are connected
        if a.kind in ("tier1", "regional"):
            comp, todo = {f"{a.id}-{a.cities[0]}"}, [f"{a.id}-{a.cities[0]}"]
            adj = defaultdict(list)
            for u, v in intra[a.id]:
                adj[u].append(v)
                adj[v].append(u)
            while todo:
                for v in adj[todo.pop()]:
                    if v not in comp:
                        comp.add(v)
                        todo.append(v)
            assert len(comp) == len(a.cities), a.id
    assert self_check(net) == []


@pytest.mark.parametrize("ases", [2000, 10000])
def test_large_sizes_hold_the_rules(ases):
    linear_check(generate(GenParams(ases=ases, seed=3)))


def test_linear_check_agrees_with_the_loader_on_a_lab_size(tmp_path):
    net = generate(GenParams(ases=120, seed=9))
    linear_check(net)
    load_topology(write(tmp_path, net))


def test_self_check_finds_a_stranded_client():
    net = generate(GenParams(ases=40, seed=2))
    client = next(a.id for a in net.ases if a.kind == "client")
    net.rels = [r for r in net.rels if r[2] != client]
    assert any(client in p for p in self_check(net))


def test_routers_parameters():
    small = generate(GenParams(ases=650, seed=1, tier1_cities=8, regional_cities=2))
    big = generate(GenParams(ases=650, seed=1))
    assert small.routers < big.routers
    assert all(len(a.cities) == 8 for a in small.ases if a.kind == "tier1")
    assert all(len(a.cities) <= 2 for a in small.ases if a.kind == "regional")
    assert 950 <= big.routers <= 1050  # about 1,000 routers at 650 ASes
    p = for_routers(300, GenParams(ases=0, seed=1))
    assert generate(p).routers <= 300 < generate(GenParams(ases=p.ases + 20, seed=1)).routers


@pytest.mark.parametrize("kwargs,key", [
    ({"ases": 5}, "--ases"), ({"ases": 30000}, "--ases"), ({"ases": 50, "seed": -1}, "--seed"),
    ({"ases": 50, "pops": 0}, "--pops"), ({"ases": 10, "pops": 40}, "--pops"),
    ({"ases": 10, "tier1": 8}, "--tier1"), ({"ases": 50, "tier1_cities": 1}, "--tier1-cities"),
    ({"ases": 50, "regional_cities": 0}, "--regional-cities"),
    ({"ases": 50, "pop_providers": 9}, "--pop-providers"), ({"ases": 50, "name": "a b"}, "--name"),
])
def test_bad_arguments_are_input_errors_with_a_fix(kwargs, key):
    with pytest.raises(InputError) as info:
        generate(GenParams(**kwargs))
    assert info.value.key == key and info.value.fix and info.value.exit_code == 2


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    cli_generate.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["generate", *argv])
    return args.func(args)


def test_cli_writes_a_topology_and_refuses_caida_without_out(tmp_path, capsys):
    out = tmp_path / "g.yaml"
    assert run_cli("--ases", "20", "--seed", "4", "--out", str(out)) == 0
    assert out.read_text() == to_yaml(generate(GenParams(ases=20, seed=4)))
    assert "wrote" in capsys.readouterr().out
    assert run_cli("--ases", "12") == 0  # to standard output, the summary to standard error
    got = capsys.readouterr()
    assert got.out == to_yaml(generate(GenParams(ases=12))) and "12 ASes" in got.err
    with pytest.raises(InputError) as info:
        run_cli("--ases", "20", "--format", "caida")
    assert info.value.key == "--out" and "as-rel.txt" in (info.value.fix or "")
    with pytest.raises(InputError):
        run_cli("--ases", "20", "--out", str(tmp_path / "no" / "such" / "dir.yaml"))


# -- the CAIDA files, read back by a parser that knows only docs/topology.md ------------------
def parse_caida(rel: str, cities: str, cdn: str):
    p2c, p2p = set(), set()
    for line in rel.splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split("|")
        assert len(fields) in (3, 4)
        a, b, r = int(fields[0]), int(fields[1]), fields[2]
        (p2c if r == "-1" else p2p).add((a, b) if r == "-1" else (min(a, b), max(a, b)))
        assert r in ("-1", "0") and (r == "-1" or a < b)
    rows = list(csv.DictReader(io.StringIO(cities)))
    assert list(rows[0]) == ["asn", "city", "lat", "lon", "population_m"]
    where = defaultdict(list)
    for row in rows:
        where[int(row["asn"])].append((row["city"], float(row["lat"]), float(row["lon"]),
                                       float(row["population_m"])))
    spec = yaml.safe_load(cdn)
    assert set(spec) == {"asn", "name", "pops"}
    return p2c, p2p, where, spec


def test_caida_round_trip(tmp_path):
    net = generate(GenParams(ases=200, seed=6))
    p2c, p2p, where, spec = parse_caida(as_rel_text(net), cities_text(net), cdn_text(net))
    asn = {a.id: a.asn for a in net.ases}
    assert p2c == {(asn[a], asn[b]) for k, a, b in net.rels if k == "p2c"}
    assert p2p == {tuple(sorted((asn[a], asn[b]))) for k, a, b in net.rels if k == "p2p"}
    tab = table()
    for a in net.ases:
        assert [w[0] for w in where[a.asn]] == list(a.cities)
        assert all((lat, lon, pop) == (tab[c].lat, tab[c].lon, tab[c].population_m)
                   for c, lat, lon, pop in where[a.asn])
    assert spec["asn"] == asn["cdn"]
    assert [(p["city"], p["providers"]) for p in spec["pops"]] == \
        [(c, [asn[t] for t in provs]) for c, provs in net.pops.items()]
    # the CDN buys from each PoP provider in the relationships too
    assert {pr for p in spec["pops"] for pr in p["providers"]} == {a for a, b in p2c if b == spec["asn"]}
    paths = write_caida(net, tmp_path / "net.as-rel.txt")
    assert [p.name for p in paths] == ["net.as-rel.txt", "net.cities.csv", "net.cdn.yaml"]
    assert paths[0].read_text() == as_rel_text(net)


def test_caida_paths():
    assert [p.name for p in caida_paths("x/y.as-rel.txt")] == ["y.as-rel.txt", "y.cities.csv", "y.cdn.yaml"]
    assert [p.name for p in caida_paths("y.txt")] == ["y.txt", "y.cities.csv", "y.cdn.yaml"]
    assert [p.name for p in caida_paths("y")] == ["y", "y.cities.csv", "y.cdn.yaml"]


def test_caida_files_read_by_the_simulator(tmp_path):
    """Both sides of the format agree: the internet-scale model reads what the writer writes,
    with the same demand as the topology model."""
    sim = pytest.importorskip("anycastlab.sim.internet_build")
    net = generate(GenParams(ases=150, seed=8))
    rel, cities, cdn = write_caida(net, tmp_path / "g.as-rel.txt")
    g = sim.load_internet(rel, cities, cdn)
    assert len(g.asns) == len(net.ases)
    assert float(g.demand.sum()) == pytest.approx(sum(net.demand.values()))


def test_city_table():
    tab = table()
    assert len(tab) >= 150
    assert all(c.population_m > 0 and -90 <= c.lat <= 90 and -180 <= c.lon <= 180 for c in tab.values())
    assert tab["tyo"].population_m > 30 and tab["lon"].land != tab["nyc"].land
