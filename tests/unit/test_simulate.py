"""The route model (sim/) against the real lab: catchments, FIB hops and RTTs
of tiny and world recorded on a lab with link variability off
(tests/golden/sim/*-lab.json), the teaching exercises' answers, a cable
cut, ECMP ties, a 10,000-AS hierarchy, and the simulated report."""
from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from anycastlab.model.topology import AS, City, Link, Router, Settings, Topology
from anycastlab.sim.forward import simulate

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "sim"


def scheme(target: str) -> str:
    """The lab reference's target names (a bare provider id) as the model's."""
    return target if target == "global" or target.startswith("unicast:") else f"provider:{target}"


@pytest.fixture(scope="module")
def runs(tiny, world):
    """name -> (lab reference, simulation with exact replies)."""
    return {name: (json.loads((GOLDEN / f"{name}-lab.json").read_text()), simulate(topo, "exact"))
            for name, topo in (("tiny", tiny), ("world", world))}


def pairs(runs, name):
    ref, sim = runs[name]
    for c, per in ref["clients"].items():
        for t, lab in per.items():
            yield c, t, lab, sim.outcomes[c][scheme(t)]


@pytest.mark.parametrize("name", ["tiny", "world"])
def test_every_catchment_and_as_path_agrees_with_the_lab(runs, name):
    ref, sim = runs[name]
    seen = {(c, t) for c, t, _, _ in pairs(runs, name)}
    assert {t for _, t in seen} == set(ref["targets"])   # G, every P_k, every U_p
    assert {c for c, _ in seen} == set(sim.outcomes)     # every client
    bad = [(c, t, lab["pop"], o.pop) for c, t, lab, o in pairs(runs, name) if lab["pop"] != o.pop]
    assert not bad
    assert not [(c, t) for c, t, lab, o in pairs(runs, name) if lab["as_path"] != o.as_path]


@pytest.mark.parametrize("name", ["tiny", "world"])
def test_request_and_reply_hops_equal_the_lab_fibs(runs, name):
    for c, t, lab, o in pairs(runs, name):
        assert [list(h) for h in o.request.hops] == lab["request_hops"], (c, t)
        assert o.reply is not None and [list(h) for h in o.reply.hops] == lab["reply_hops"], (c, t)
        assert not o.request.ties and not o.reply.ties


@pytest.mark.parametrize("name", ["tiny", "world"])
def test_rtt_is_the_path_sum_and_within_tolerance_of_the_probe(runs, name):
    """The lab's probe RTT sits 0.05-0.33 ms above the path sum (the link
    engine's and the responder's own time); the model is the path sum."""
    for c, t, lab, o in pairs(runs, name):
        assert o.rtt_ms == pytest.approx(lab["path_sum_ms"], abs=1e-6), (c, t)
        assert abs(lab["rtt_ms"] - o.rtt_ms) <= max(0.5, 0.02 * lab["rtt_ms"]), (c, t)


def variant(write_topo, tiny_text: str, old: str, new: str):
    from anycastlab.model.topofile import load_topology

    assert old in tiny_text
    return load_topology(write_topo(tiny_text.replace(old, new).replace("name: tiny", "name: tinyx")))


@pytest.fixture(scope="module")
def tiny_text():
    return (Path(__file__).resolve().parents[2] / "topologies" / "tiny.yaml").read_text()


def test_teaching_exercise_b_peers_with_the_cdn(write_topo, tiny_text):
    """docs/teaching.md, exercise 1: B a peer of the CDN sends c2 to London."""
    topo = variant(write_topo, tiny_text, "{provider: trb, customer: cdn}", "{peers: [trb, cdn]}")
    o = simulate(topo).outcomes["c2"]["global"]
    assert o.pop == "lon" and o.as_path == [64700, 64600, 64512]
    assert "provider:trb" not in simulate(topo).targets


def test_teaching_a_customer_of_b_keeps_c2_in_new_york(write_topo, tiny_text):
    topo = variant(write_topo, tiny_text, "{peers: [tra, trb]}", "{provider: trb, customer: tra}")
    o = simulate(topo).outcomes["c2"]["global"]
    assert o.pop == "nyc" and o.as_path == [64700, 64512]


def test_cable_cut_moves_exactly_the_clients_the_lab_moved(world):
    """docs/teaching.md, exercise 2: with Singapore-Hong Kong cut, chkg1 and
    cseo1 move from Singapore to Tokyo for G, nobody else moves."""
    cut = {frozenset(("t1b-sin", "t1b-hkg")), frozenset(("rap-sin", "rap-hkg"))}
    links = [lk for lk in world.links if frozenset((lk.a, lk.b)) not in cut]   # indices (addresses) kept
    before, after = simulate(world), simulate(replace(world, links=links, _adj={}))
    moved = {c: (before.outcomes[c]["global"].pop, o["global"].pop) for c, o in after.outcomes.items()
             if o["global"].pop != before.outcomes[c]["global"].pop}
    assert moved == {"chkg1": ("sin", "tyo"), "cseo1": ("sin", "tyo")}


SQUARE = """
name: square
cities:
  - {id: aaa, name: A, lat: 0, lon: 0}
  - {id: bbb, name: B, lat: 0, lon: 10}
  - {id: ccc, name: C, lat: 10, lon: 0}
  - {id: ddd, name: D, lat: 10, lon: 10}
ases:
  - {id: cdn, asn: 64512, name: CDN, role: cdn, cities: [ddd]}
  - {id: tra, asn: 64600, name: T, role: transit, cities: [aaa, bbb, ccc, ddd]}
  - {id: c1, asn: 65001, name: C1, role: client, cities: [aaa]}
relationships:
  - {provider: tra, customer: cdn}
  - {provider: tra, customer: c1}
links:
  - {a: tra-aaa, b: tra-bbb, latency_ms: 5}
  - {a: tra-aaa, b: tra-ccc, latency_ms: 5}
  - {a: tra-bbb, b: tra-ddd, latency_ms: 5}
  - {a: tra-ccc, b: tra-ddd, latency_ms: 5}
  - [cdn-ddd, tra-ddd]
  - [c1-aaa, tra-aaa]
"""


def test_equal_cost_paths_are_flagged_and_broken_by_gateway_order(write_topo):
    from anycastlab.model.topofile import load_topology

    sim = simulate(load_topology(write_topo(SQUARE)))
    o = sim.outcomes["c1"]["global"]
    assert o.pop == "ddd"
    assert o.request.ties == ["tra-aaa: equal-cost OSPF next hops tra-bbb, tra-ccc"]
    assert ("tra-aaa", "tra-bbb") in o.request.hops   # the lower gateway address, as birdc lists it
    assert o.reply.ties == ["tra-ddd: equal-cost OSPF next hops tra-bbb, tra-ccc"]


def hierarchy(n: int = 10_000, seed: int = 1) -> Topology:
    """Tier-1 clique with 8-city backbones, 400 single-router regionals, stubs, a 4-PoP CDN."""
    r = random.Random(seed)
    cities = {f"k{i}": City(f"k{i}", f"k{i}", -60 + (i // 10) * 25, -170 + (i % 10) * 35) for i in range(50)}
    ases, routers, links, rels = {}, {}, [], {}

    def add(asid, role, cs):
        ases[asid] = AS(asid, 64512 + len(ases), asid, role, tuple(cs), len(ases) + 1)
        routers.update({f"{asid}-{c}": Router(f"{asid}-{c}", asid, c, len(routers)) for c in cs})

    def link(a, b, rel=None):   # rel "provider": b's AS is a's provider
        links.append(Link(a, b, round(1 + r.random() * 30, 3), len(links)))
        x, y = a.split("-")[0], b.split("-")[0]
        if rel:
            rels[(x, y)], rels[(y, x)] = (rel, "customer") if rel == "provider" else (rel, rel)

    t1, regs = [f"t{i}" for i in range(5)], [f"r{i}" for i in range(400)]
    for t in t1:
        add(t, "transit", r.sample(sorted(cities), 8))
        for a, b in zip(ases[t].cities, ases[t].cities[1:]):
            link(f"{t}-{a}", f"{t}-{b}")
    for i, a in enumerate(t1):
        for b in t1[i + 1:]:
            link(f"{a}-{ases[a].cities[0]}", f"{b}-{ases[b].cities[0]}", "peer")
    for g in regs:
        add(g, "transit", [r.choice(sorted(cities))])
        for t in r.sample(t1, r.choice((1, 2))):
            link(f"{g}-{ases[g].cities[0]}", f"{t}-{r.choice(ases[t].cities)}", "provider")
    for a, b in zip(regs[::8], regs[1::8]):
        link(f"{a}-{ases[a].cities[0]}", f"{b}-{ases[b].cities[0]}", "peer")
    add("cdn", "cdn", ["k3", "k17", "k25", "k42"])
    for c in ases["cdn"].cities:
        for t in r.sample(t1, 2):
            link(f"cdn-{c}", f"{t}-{r.choice(ases[t].cities)}", "provider")
    for i in range(n - len(ases)):
        ups = r.sample(regs, r.choice((1, 1, 2))) + ([r.choice(t1)] if r.random() < 0.1 else [])
        add(f"s{i}", "client", [ases[ups[0]].cities[0]])
        for u in ups:
            link(f"s{i}-{ases[f's{i}'].cities[0]}", f"{u}-{r.choice(ases[u].cities)}", "provider")
    return Topology("synth", "synthetic hierarchy", Settings(), cities, ases, routers, links, rels)


def valley_free(topo: Topology, announced_to: set[str]) -> set[str]:
    """ASes with a valley-free path to a prefix the CDN announces to
    ``announced_to``: up through providers, across one peering, down."""
    nb: dict[tuple[str, str], list[str]] = {}
    for (u, t), rel in topo.rels.items():
        nb.setdefault((u, rel), []).append(t)

    def closure(start: set[str], rel: str) -> set[str]:
        seen, todo = set(start), list(start)
        while todo:
            for t in nb.get((todo.pop(), rel), []):
                if t not in seen:
                    seen.add(t)
                    todo.append(t)
        return seen

    up = closure(announced_to, "provider")
    return closure(up | {t for a in up for t in nb.get((a, "peer"), [])}, "customer")


def test_ten_thousand_ases_every_client_reaches_a_pop_where_a_valley_free_path_exists():
    topo = hierarchy()
    assert len(topo.ases) == 10_000
    sim = simulate(topo, "symmetric")
    assert sim.returns == "symmetric"
    cdn_providers = set(topo.providers_of("cdn"))
    for t in sim.targets:
        if t.startswith("unicast:"):
            continue
        want = valley_free(topo, cdn_providers if t == "global" else {t.split(":", 1)[1]})
        for c, per in sim.outcomes.items():
            o = per[t]
            assert (o.pop is not None) == (c in want), (c, t)
            if o.pop is not None:
                assert o.request.end == f"e-{o.pop}" and o.rtt_ms == pytest.approx(2 * o.request.ms)
                assert o.reply.symmetric


def test_auto_returns_are_exact_on_small_topologies(tiny):
    assert simulate(tiny).returns == "exact"


def test_simulated_report_goes_through_the_labs_analysis_and_says_it_is_simulated(tiny, tmp_path):
    from anycastlab.analysis.baseline import analyse
    from anycastlab.model.samples import read_samples
    from anycastlab.report.schema import load_report
    from anycastlab.sim.report import write_report

    data, paths = write_report(simulate(tiny), tmp_path)
    saved = load_report(str(tmp_path))   # the report schema holds
    assert saved["simulated"] is True and saved["link_backend"] == "simulated"
    assert saved["providers"] == ["tra", "trb"] and saved["pops"] == ["nyc", "lon"]
    assert set(saved["phases"][0]["clients"]) == {"c1", "c2", "c3"}
    md = paths["md"].read_text()
    assert "**Simulated, not measured**" in md.split("## In short")[0]
    assert "RTTs are simulated, not measured" in md
    rows = read_samples(tmp_path / "samples.csv")   # readable as a lab's, every row marked
    assert all(line.endswith(",1") for line in (tmp_path / "samples.csv").read_text().splitlines()[1:])
    again = analyse(tiny, ["tra", "trb"], rows)   # exactly what the lab's analysis makes of them
    assert again["clients"] == data["phases"][0]["clients"]
    c2 = data["phases"][0]["clients"]["c2"]
    assert c2["global"]["pop"] == "nyc" and c2["providers"]["tra"]["pop"] == "lon"
    assert c2["oracle"]["provider"] == "tra" and c2["optimal"]["pop"] == "lon"
    assert c2["ipa"]["source"] == "model" and c2["ipa"]["shares"] == {"tra": 0.9, "trb": 0.1}


def test_a_simulated_run_folder_can_be_reanalysed(tiny, tmp_path):
    from anycastlab.report.reanalyse import reanalyse
    from anycastlab.sim.report import write_report

    write_report(simulate(tiny), tmp_path)
    data, _ = reanalyse(tmp_path)
    assert data["simulated"] is True and data["phases"][0]["clients"]["c2"]["global"]["pop"] == "nyc"


def test_cli_table_report_and_errors(tmp_path, capsys):
    from anycastlab.cli.main import main

    assert main(["simulate", "tiny"]) == 0
    text = capsys.readouterr().out
    assert "simulated catchment on tiny" in text and "nyc 86.2" in text
    assert main(["simulate", "tiny", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows["simulated"] is True and rows["returns"] == "exact"
    assert {r["client"]: r["global"][0] for r in rows["clients"]} == {"c1": "nyc", "c2": "nyc", "c3": "lon"}
    assert main(["simulate", "tiny", "--out", str(tmp_path / "run")]) == 0
    assert (tmp_path / "run" / "report.json").exists() and (tmp_path / "run" / "samples.csv").exists()
    capsys.readouterr()
    assert main(["simulate", "nosuchtopology"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_the_decision_is_one_function_for_lab_and_model():
    from anycastlab.measure import explain as lab_explain
    from anycastlab.model import decision

    assert lab_explain.deciding_step is decision.deciding_step and lab_explain.ORIGIN is decision.ORIGIN
