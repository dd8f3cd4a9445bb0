"""The computed explain walk (sim/explain.py) against the lab's (the walks
recorded with measure/explain.py in tests/golden/sim/*-lab.json): the same
routers, the same candidates, the same best route and the same deciding
step at every hop; the teaching exercises' decisive steps; the CLI."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from anycastlab.sim import explain
from anycastlab.sim.forward import simulate

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "sim"
TINY = Path(__file__).resolve().parents[2] / "topologies" / "tiny.yaml"
HOP_KEYS = ("router", "asn", "as_name", "city", "next_router", "pop")


def by_via(hop):
    """A hop's candidates keyed by neighbour (BIRD lists the non-best ones in arrival order)."""
    return {c["via"]: c for c in hop["candidates"]}


@pytest.mark.parametrize("name", ["tiny", "world"])
def test_every_walk_names_the_labs_best_route_and_deciding_steps(request, name):
    ref = json.loads((GOLDEN / f"{name}-lab.json").read_text())
    sim = simulate(request.getfixturevalue(name), "symmetric", clients=[])
    walks = 0
    for client, per in ref["clients"].items():
        for target, v in per.items():
            if "explain" not in v:
                continue
            walks += 1
            mine = explain.walk(sim, client, target)
            assert [tuple(h[k] for k in HOP_KEYS) for h in mine] == \
                [tuple(h[k] for k in HOP_KEYS) for h in v["explain"]], (client, target)
            for m, lab in zip(mine, v["explain"]):
                assert by_via(m) == by_via(lab), (client, target, m["router"])
                assert m["candidates"][0]["best"]
    assert walks == len(ref["clients"]) * (1 + sum(1 for t in ref["targets"]
                                                   if t != "global" and not t.startswith("unicast:")))


def tiny_variant(write_topo, old: str, new: str):
    from anycastlab.model.topofile import load_topology

    text = TINY.read_text()
    assert old in text
    return simulate(load_topology(write_topo(text.replace(old, new))), clients=[])


def hop_at(hops, router):
    return next(h for h in hops if h["router"] == router)


def test_teaching_b_peers_with_the_cdn_decides_on_ebgp_over_ibgp(write_topo):
    """docs/teaching.md: 'via trb-nyc … loses on eBGP over iBGP'."""
    sim = tiny_variant(write_topo, "{provider: trb, customer: cdn}", "{peers: [trb, cdn]}")
    hops = explain.walk(sim, "c2", "global")
    assert by_via(hop_at(hops, "trb-lon"))["trb-nyc"]["lost_on"] == "eBGP over iBGP"
    assert hops[-1]["pop"] == "lon"


def test_teaching_a_customer_of_b_decides_on_as_path_length(write_topo):
    """docs/teaching.md: the route via A loses on 'AS-path length 1 < 2'."""
    sim = tiny_variant(write_topo, "{peers: [tra, trb]}", "{provider: trb, customer: tra}")
    hops = explain.walk(sim, "c2", "global")
    assert by_via(hop_at(hops, "trb-lon"))["tra-lon"]["lost_on"] == "AS-path length 1 < 2"
    assert hops[-1]["pop"] == "nyc"


def test_hot_potato_is_named_with_the_ospf_costs(world):
    sim = simulate(world, clients=[])
    steps = {c["lost_on"] for cl in ("cnyc1", "ctor1", "cchi1", "cmex1", "cseo1", "chkg1")
             for t in sim.targets if not t.startswith("unicast:")
             for h in explain.walk(sim, cl, t) for c in h["candidates"] if c["lost_on"]}
    assert any(s.endswith("(hot potato)") for s in steps), steps


def test_cli_explain_prints_the_walk_and_refuses_unknown_names(capsys):
    from anycastlab.cli.main import main

    assert main(["simulate", "tiny", "--explain", "c2"]) == 0
    text = capsys.readouterr().out
    assert "loses on local preference 300 > 200" in text and "answered by PoP nyc" in text
    assert main(["simulate", "tiny", "--explain", "h-c2", "--prefix", "tra", "--json"]) == 0
    walk = json.loads(capsys.readouterr().out)
    assert walk["simulated"] and walk["hops"][-1]["pop"] == "lon"
    assert main(["simulate", "tiny", "--explain", "c9"]) == 2
    assert "unknown client 'c9'" in capsys.readouterr().err
    assert main(["simulate", "tiny", "--explain", "c2", "--prefix", "trc"]) == 2
    err = capsys.readouterr().err
    assert "unknown prefix 'trc'" in err and "global, tra, trb, unicast:nyc" in err
