"""Rendered BIRD configs: golden files for tiny, BIRD's own parser for world,
and the Gao–Rexford policy facts the template must encode."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from anycastlab.model.addressing import plan_addresses
from anycastlab.config.bird import POLICY, check_config, ospf_cost, render_all, render_router, router_context

GOLDEN = Path(__file__).parent / "tiny"


def test_tiny_matches_golden_files(tiny, tmp_path):
    """Set UPDATE_GOLDEN=1 to rewrite them after an intended change (then review the diff)."""
    plan = plan_addresses(tiny)
    paths = render_all(tiny, plan, tmp_path)
    assert set(paths) == {r for r in tiny.routers}
    for router, path in paths.items():
        golden = GOLDEN / router / "bird.conf"
        if os.environ.get("UPDATE_GOLDEN"):
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(path.read_text())
        assert path.read_text() == golden.read_text(), f"{router} differs from {golden}"


@pytest.mark.parametrize("name", ["tiny", "world"])
def test_every_config_accepted_by_bird(name, tmp_path, bird_available, request):
    if not bird_available:
        pytest.skip("bird is not installed (make setup)")
    topo = request.getfixturevalue(name)
    for path in render_all(topo, plan_addresses(topo), tmp_path).values():
        check_config(path)


def test_policy_table_is_gao_rexford():
    prefs = {rel: p for rel, (_, _, p) in POLICY.items()}
    assert prefs["customer"] > prefs["peer"] > prefs["provider"]
    # BIRD role names are ours, seen from our side of the session
    assert POLICY["provider"][0] == "customer" and POLICY["customer"][0] == "provider"


def test_export_rules_per_relationship(tiny):
    plan = plan_addresses(tiny)
    ctx = router_context(tiny, plan, plan.nodes["tra-lon"])
    by_peer = {s["peer"]: s for s in ctx["ebgp"]}
    assert by_peer["cdn-lon"]["export_all"] and by_peer["cdn-lon"]["local_pref"] == 300
    assert not by_peer["trb-lon"]["export_all"] and by_peer["trb-lon"]["role"] == "peer"
    c3 = router_context(tiny, plan, plan.nodes["c3-lon"])
    assert all(not s["export_all"] and s["role"] == "customer" for s in c3["ebgp"])
    text = render_router(tiny, plan, plan.nodes["c3-lon"])
    # a multi-homed client exports only its own and its customers' routes
    assert text.count("export where own_or_customer();") == 2


def test_ospf_and_ibgp_only_inside_connected_ases(tiny):
    plan = plan_addresses(tiny)
    ctx = router_context(tiny, plan, plan.nodes["tra-nyc"])
    assert [s["peer"] for s in ctx["ibgp"]] == ["tra-lon"]
    assert ctx["ospf_interfaces"][0]["cost"] == ospf_cost(41.877) == 419
    cdn = router_context(tiny, plan, plan.nodes["cdn-nyc"])
    assert cdn["ibgp"] == [] and cdn["ospf_interfaces"] == []
    assert "protocol ospf" not in render_router(tiny, plan, plan.nodes["cdn-nyc"])


def test_template_has_no_leftover_markup(world):
    plan = plan_addresses(world)
    for node in plan.routers():
        text = render_router(world, plan, node)
        assert not re.search(r"{{|}}|{%|%}", text)


def test_bring_up_config_keeps_bgp_out_of_the_kernel_and_differs_only_there(tiny):
    """lab/bird.py starts every BIRD with BGP's routes kept out of the kernel
    and rewrites the config (the golden one) once the RIBs have converged."""
    from anycastlab.config.bird import render_router
    from anycastlab.model.addressing import plan_addresses

    plan = plan_addresses(tiny)
    node = plan.nodes["tra-nyc"]
    final, early = render_router(tiny, plan, node), render_router(tiny, plan, node, fib_bgp=False)
    assert "export where source ~ [ RTS_BGP, RTS_OSPF, RTS_OSPF_IA ];" in final
    assert "export where source ~ [ RTS_OSPF, RTS_OSPF_IA ];" in early and "RTS_BGP, RTS_OSPF" not in early
    extra = [ln for ln in early.splitlines() if ln not in final.splitlines()]
    assert all(ln.strip().startswith(("#", "export where source ~ [ RTS_OSPF")) for ln in extra)
