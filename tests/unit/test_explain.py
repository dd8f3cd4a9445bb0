"""Parsing BIRD's route output and naming the decision step, on captured text."""
from __future__ import annotations

from anycastlab.measure.explain import Route, deciding_step, parse_routes

SHOW = """Table master4:
198.18.0.0/24        unicast [ibgp_trb_nyc 2026-11-24 16:56:43 from 10.3.1.1] * (100/419) [AS64512i]
\tvia 100.64.0.5 on trb-lon-e0
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path: 64512
\tBGP.next_hop: 10.3.1.1
\tBGP.local_pref: 300
\tBGP.large_community: (64700, 1, 1)
                     unicast [ebgp_tra_lon 2026-11-24 16:56:36] (100) [AS64512i]
\tvia 100.64.0.25 on trb-lon-e1
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path: 64600 64512
\tBGP.next_hop: 100.64.0.25
\tBGP.local_pref: 200
\tBGP.large_community: (64600, 1, 1) (64700, 1, 2)
\tBGP.otc: 64600
"""


UNREACHABLE = """Table master4:
198.18.0.0/24        unicast [ebgp_cdn_lon 2026-11-24 16:56:43] * (100) [AS64512i]
	via 100.64.0.13 on tra-lon-e1
	BGP.as_path: 64512
	BGP.local_pref: 300
                     unreachable [ibgp_tra_nyc 2026-11-24 16:56:36 from 10.2.1.1] (100/-) [AS64512i]
	BGP.as_path: 64700 64512
	BGP.local_pref: 100
"""


def test_unreachable_candidate_is_parsed_as_its_own_route():
    best, other = parse_routes(UNREACHABLE)
    assert best.reachable and best.local_pref == 300 and best.as_path == [64512]
    assert not other.reachable and other.local_pref == 100 and other.igp_metric is None
    assert deciding_step(best, other, "1", "2") == "next hop unreachable"


def test_parse_routes():
    best, other = parse_routes(SHOW)
    assert best.best and not other.best
    assert (best.proto, best.kind, best.igp_metric, best.from_addr) == ("ibgp_trb_nyc", "iBGP", 419, "10.3.1.1")
    assert (best.via, best.iface, best.as_path, best.local_pref) == ("100.64.0.5", "trb-lon-e0", [64512], 300)
    assert best.relation(64700) == "customer" and other.relation(64700) == "peer"
    assert other.as_path == [64600, 64512] and other.kind == "eBGP"


def r(**kw) -> Route:
    base = dict(proto="ebgp_x_a", best=False, igp_metric=None, from_addr=None, as_path=[1, 2],
                local_pref=100)
    base.update(kw)
    return Route(**base)


def test_decision_steps_in_bird_order():
    assert deciding_step(r(local_pref=300), r(local_pref=200), "1", "2").startswith("local preference")
    assert deciding_step(r(as_path=[1]), r(as_path=[3, 1]), "1", "2").startswith("AS-path length")
    assert deciding_step(r(), r(origin="Incomplete"), "1", "2").startswith("origin")
    assert deciding_step(r(med=10), r(med=20), "1", "2").startswith("MED")
    assert deciding_step(r(), r(proto="ibgp_y_b"), "1", "2") == "eBGP over iBGP"
    ibgp = dict(proto="ibgp_y_b")
    assert "hot potato" in deciding_step(r(igp_metric=10, **ibgp), r(igp_metric=90, **ibgp), "1", "2")
    assert deciding_step(r(), r(), "10.0.0.1", "10.0.0.2").startswith("router id")
