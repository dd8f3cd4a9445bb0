"""Capacity headroom (model/headroom.py), every number worked out by hand.

One PoP x, three providers A, B, C, each with a CDN port cdn-x > <k>-x.
Two client networks of demand 10 Gbit/s; half of it (ipa_fraction 0.5)
goes by the shares, the other half through the global prefix, which leaves
by A's port. No upstream traffic unless a test says so. A share of 1 of a
network's IPA traffic is therefore 5 Gbit/s on its provider's port.
"""
from __future__ import annotations

from dataclasses import replace

import pytest

from anycastlab.analysis.baseline import analyse_client, headroom
from anycastlab.errors import InputError
from anycastlab.model.headroom import Network, Rank, apply_headroom, port_load, wan_order
from anycastlab.model.settings import Steering

PA, PB, PC = ("cdn-x", "a-x"), ("cdn-x", "b-x"), ("cdn-x", "c-x")


def path(k: str, client: str) -> tuple[list, list]:
    down = [("e-x", "cdn-x"), ("cdn-x", f"{k}-x"), (f"{k}-x", f"r-{client}"), (f"r-{client}", f"h-{client}")]
    return [(b, a) for a, b in reversed(down)], down


def net(cap_a: float = 20.0, cap_b: float = 10.0, cap_c: float = 10.0, reach: str = "abc",
        upstream: float = 0.0) -> Network:
    paths = {}
    for c in ("c1", "c2"):
        paths[(c, "global")] = path("a", c)
        for k in reach:
            paths[(c, k.upper())] = path(k, c)
    capacity = {PA: cap_a, PB: cap_b, PC: cap_c, ("e-x", "cdn-x"): 400.0,
                ("a-x", "cdn-x"): 20.0, ("b-x", "cdn-x"): 10.0, ("c-x", "cdn-x"): 10.0}
    return Network({"c1": 10.0, "c2": 10.0}, paths, capacity, frozenset({"cdn-x", "e-x"}), 0.5, upstream,
                   ("A", "B", "C"))


RANKS = {"c1": Rank({"A": 0.5, "B": 0.3, "C": -0.5}), "c2": Rank({"A": 0.5, "B": -0.5, "C": 0.4})}


def test_ports_are_the_directions_leaving_the_cdn() -> None:
    assert net().ports() == [PA, PB, PC]   # not e-x > cdn-x (inside the CDN), not a-x > cdn-x (inbound)


def test_the_port_over_the_limit_sheds_the_share_that_costs_least_wan() -> None:
    shares = {"c1": {"A": 0.9, "B": 0.1}, "c2": {"A": 0.9, "C": 0.1}}
    n = net()
    # A's port: global 5 + 5, IPA 0.9 x 5 twice = 19 Gbit/s of 20: 95 %; the limit 0.8 is 16
    assert port_load(shares, n, n.ports())[PA] == pytest.approx(19.0)
    res = apply_headroom(shares, RANKS, n, Steering())
    # c2 gives up 0.5 - 0.4 = 0.1 of WAN score by leaving A (c1 gives up 0.2): it moves first,
    # to C, its next provider: 3 Gbit/s needed / 5 per share = 0.6; C's port 0.5 + 3 = 3.5 of 10
    assert res.shares == {"c1": {"A": 0.9, "B": 0.1}, "c2": {"A": 0.3, "C": 0.7}}
    assert res.over == {"cdn-x>a-x": 0.95} and res.unresolved == []
    assert res.moves == [{"port": "cdn-x>a-x", "client": "c2", "from": "A", "to": "C", "share": 0.6,
                          "gbps": 3.0, "rho_before": 0.95, "rho_after": 0.8, "to_ports": {"cdn-x>c-x": 0.35}}]
    assert port_load(res.shares, n, n.ports())[PA] == pytest.approx(16.0)


def test_cap_and_threshold_bound_where_share_may_go() -> None:
    # cap 0.6: A 0.6 + 0.9 -> 10 + 3 + 4.5 = 17.5 Gbit/s (87.5 %), 1.5 over the limit
    shares = {"c1": {"A": 0.9, "B": 0.1}, "c2": {"A": 0.6, "C": 0.4}}
    res = apply_headroom(shares, RANKS, net(), Steering(cap=0.6))
    # c2 first: C may rise to the cap 0.6 only: 0.2 moves (1 Gbit/s); B wins 0 of c2's probes
    # (score -0.5, below the threshold 0.1) and has no share: refused. Then c1: 0.5 Gbit/s = 0.1 to B
    assert [(m["client"], m["from"], m["to"], m["share"]) for m in res.moves] == [
        ("c2", "A", "C", 0.2), ("c1", "A", "B", 0.1)]
    assert res.shares == {"c1": {"A": 0.8, "B": 0.2}, "c2": {"A": 0.4, "C": 0.6}}
    assert res.moves[-1]["rho_after"] == 0.8
    # with threshold 0 c2 may use B too, before c1 is touched (c2 comes first)
    res0 = apply_headroom(shares, RANKS, net(), Steering(cap=0.6, threshold=0.0))
    assert [(m["client"], m["to"], m["share"]) for m in res0.moves] == [("c2", "C", 0.2), ("c2", "B", 0.1)]


def test_destination_ports_keep_their_own_headroom() -> None:
    # C's port only 4 Gbit/s: limit 3.2, already 0.5 from c2 -> room 2.7 Gbit/s = 0.54 of c2's share
    shares = {"c1": {"A": 0.9, "B": 0.1}, "c2": {"A": 0.9, "C": 0.1}}
    res = apply_headroom(shares, RANKS, net(cap_c=4.0), Steering())
    assert res.moves[0]["to"] == "C" and res.moves[0]["share"] == 0.54
    assert res.moves[0]["to_ports"] == {"cdn-x>c-x": 0.8}
    # the rest (3 - 2.7 = 0.3 Gbit/s = 0.06) comes from c1, to B: 0.5 + 0.3 of 10
    assert res.moves[1] == {"port": "cdn-x>a-x", "client": "c1", "from": "A", "to": "B", "share": 0.06,
                            "gbps": 0.3, "rho_before": 0.815, "rho_after": 0.8, "to_ports": {"cdn-x>b-x": 0.08}}


def test_ties_go_by_name() -> None:
    ranks = {"c1": Rank({"A": 0.5, "B": 0.4}), "c2": Rank({"A": 0.5, "C": 0.4})}
    shares = {"c1": {"A": 0.9, "B": 0.1}, "c2": {"A": 0.9, "C": 0.1}}
    res = apply_headroom(shares, ranks, net(), Steering())
    # both give up 0.1 of WAN score: c1 first by name, and it alone suffices (0.6 to B)
    assert [(m["client"], m["to"], m["share"]) for m in res.moves] == [("c1", "B", 0.6)]
    # within a client, equal scores rank by median RTT, then by name
    assert wan_order({"B": 0.2, "A": 0.2, "C": 0.4}) == ["C", "A", "B"]
    assert wan_order({"B": 0.2, "A": 0.2}, {"A": 30.0, "B": 20.0}) == ["B", "A"]


def test_no_room_leaves_the_shares_and_says_so() -> None:
    shares = {"c1": {"A": 1.0}, "c2": {"A": 1.0}}
    ranks = {"c1": Rank({"A": 0.5}), "c2": Rank({"A": 0.5})}
    res = apply_headroom(shares, ranks, net(reach="a"), Steering())   # A is all they reach: 20 of 20
    assert res.shares == shares and res.moves == []
    assert res.unresolved == [{"port": "cdn-x>a-x", "rho_before": 1.0, "rho_after": 1.0,
                               "why": res.unresolved[0]["why"]}]


def test_global_traffic_is_not_moved_and_upstream_counts() -> None:
    # A's port at 12 Gbit/s: the global half alone (10) is over the limit 0.8 x 12 = 9.6
    shares = {"c1": {"A": 0.9, "B": 0.1}, "c2": {"A": 0.9, "C": 0.1}}
    res = apply_headroom(shares, RANKS, net(cap_a=12.0), Steering())
    # each network's next provider takes up to the cap (C stays refused to c1: below the threshold)
    assert res.shares == {"c1": {"A": 0.1, "B": 0.9}, "c2": {"A": 0.1, "C": 0.9}}
    assert res.unresolved[0]["rho_after"] == pytest.approx(11 / 12, abs=1e-4)   # 10 global + 2 x 0.5
    # upstream: requests of the downloads on a-x > cdn-x, not a CDN port: they change nothing here
    up = apply_headroom(shares, RANKS, net(upstream=0.05), Steering())
    assert up.shares == {"c1": {"A": 0.9, "B": 0.1}, "c2": {"A": 0.3, "C": 0.7}}


def test_the_switch_off_and_the_range() -> None:
    shares = {"c1": {"A": 0.9, "B": 0.1}, "c2": {"A": 0.9, "C": 0.1}}
    res = apply_headroom(shares, RANKS, net(), Steering(headroom=0.0))
    assert res.shares == shares and res.moves == [] and res.over == {}
    # 1: up to the capacity; 19 of 20 is under it
    assert apply_headroom(shares, RANKS, net(), Steering(headroom=1.0)).moves == []
    for bad in (-0.1, 11.0, float("nan")):
        with pytest.raises(InputError, match="headroom"):
            Steering(headroom=bad)


def test_the_analysis_applies_it_to_the_model_shares_and_keeps_the_ranked_ones() -> None:
    def rows(scheme: str, rtts: list, pop: str = "x") -> list[dict]:
        return [{"scheme": scheme, "proto": "udp", "rtt_ms": x, "pop": pop, "target": ""} for x in rtts]

    # c1: A 10 12 14 16, B 11 13 15 17, C 40: nominal 15 -> A wins 3/4 (+0.25), B 2/4 (0), C -0.5
    # -> A 0.9, B the rest (C below the threshold)
    r1 = rows("provider:A", [10, 12, 14, 16]) + rows("provider:B", [11, 13, 15, 17]) + rows("provider:C", [40] * 4)
    clients = {c: analyse_client(r1, ["A", "B", "C"], ["x"], 1.0, Steering()) for c in ("c1", "c2")}
    assert clients["c1"]["ipa_model"]["shares"] == {"A": 0.9, "B": 0.1}
    rec = headroom(clients, net(), Steering())
    # equal WAN loss (0.25): c1 first by name, 3 Gbit/s off A = 0.6 to B
    assert clients["c1"]["ipa_model"]["shares"] == {"A": 0.3, "B": 0.7}
    assert clients["c1"]["ipa_model"]["ranked_shares"] == {"A": 0.9, "B": 0.1}
    assert clients["c1"]["ipa"] is clients["c1"]["ipa_model"]
    assert clients["c1"]["ipa_model"]["rtt_ms"] == pytest.approx(0.3 * 13 + 0.7 * 14)
    assert clients["c2"]["ipa_model"]["shares"] == {"A": 0.9, "B": 0.1} and rec["ranked"] == {
        "c1": {"A": 0.9, "B": 0.1}}
    assert clients["c1"]["all_in"]["shares"] == {"A": 1.0}   # all-in is the herd: no headroom
    assert replace(Steering(), headroom=0.5).headroom == 0.5
