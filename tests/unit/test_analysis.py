"""Analysis on synthetic samples, against values computed by hand."""
from __future__ import annotations

import math

import pytest

from anycastlab.analysis.baseline import (Steering, allocate, analyse, analyse_client, floor_rtt, median,
                                 percentile, summarize, wan)
from anycastlab.report.schema import validate


def test_percentiles_by_hand():
    assert median([1, 2, 3, 4]) == 2.5
    assert percentile(range(1, 11), 90) == pytest.approx(9.1)   # rank 0.9*9 = 8.1 -> 9 + 0.1
    assert percentile([0, 100], 99) == pytest.approx(99.0)
    assert percentile([7], 90) == 7 and percentile([], 50) is None


def test_wan_by_hand():
    # pooled: 10 12 14 16 20 22 24 26 -> nominal (16+20)/2 = 18; A wins 4/4, B 0/4
    nominal, wins, scores = wan({"A": [10, 12, 14, 16], "B": [20, 22, 24, 26]})
    assert nominal == 18 and wins == {"A": 1.0, "B": 0.0} and scores == {"A": 0.5, "B": -0.5}
    # a lost sample (None) never wins but counts in the denominator
    nominal, wins, scores = wan({"A": [10, None, 30], "B": [20]})
    assert nominal == 20 and wins["A"] == pytest.approx(1 / 3) and scores["B"] == -0.5


def test_allocate_cap_and_floor_by_hand():
    s = Steering(cap=0.9, floor=0.02, bias=2)
    # top A gets the cap; B keeps its floor plus the rest: 1 - 0.9 - 0.02 = 0.08
    assert allocate({"A": 0.5, "B": -0.5}, s) == {"A": 0.9, "B": 0.1}
    # rest = 1 - 0.9 - 2 * 0.02 = 0.06, split by wins^2: B (0.5^2) all of it, C (0) none
    sh = allocate({"A": 0.5, "B": 0.0, "C": -0.5}, s)
    assert sh == {"A": pytest.approx(0.9), "B": pytest.approx(0.08), "C": pytest.approx(0.02)}
    # equal WAN scores: the lower median RTT is the top provider
    assert allocate({"A": 0.5, "B": 0.5}, s, {"A": 64.0, "B": 44.0}) == {"A": 0.1, "B": 0.9}
    assert allocate({"A": 0.3}, s) == {"A": 1.0}
    assert allocate({}, s) == {}
    # equal scores: equal shares; impossible floor adapts to 1/n
    assert allocate({"A": 0.25, "B": 0.25}, Steering(bias=1)) == {"A": 0.5, "B": 0.5}
    assert allocate({"A": 0.5, "B": -0.5}, Steering(floor=0.6)) == {"A": 0.5, "B": 0.5}


def test_allocate_by_the_seed_no_floor_and_a_threshold_by_hand():
    s = Steering()  # cap 0.9, floor 0, threshold 0.1, bias 2
    # B never wins, but nobody else does either: the runner-up takes the rest (never all-in)
    assert allocate({"A": 0.5, "B": -0.5}, s) == {"A": 0.9, "B": 0.1}
    # C wins 5 % of the time (< 0.1): no share at all; B wins half the time: all the rest
    assert allocate({"A": 0.5, "B": 0.0, "C": -0.45}, s) == {"A": 0.9, "B": 0.1}
    # two eligible others: the rest 0.1 by wins^2 (0.8^2 = 0.64, 0.5^2 = 0.25)
    sh = allocate({"A": 0.5, "B": 0.3, "C": 0.0}, s)
    assert sh == {"A": 0.9, "B": pytest.approx(0.1 * 0.64 / 0.89, abs=1e-6),
                  "C": pytest.approx(0.1 * 0.25 / 0.89, abs=1e-6)}
    # no other eligible: the runner-up is the next by WAN score, then by median RTT
    assert allocate({"A": 0.5, "B": -0.5, "C": -0.5}, s, {"A": 5.0, "B": 50.0, "C": 20.0}) == \
        {"A": 0.9, "C": 0.1}
    # the share model before the seed's ranking: floor 0.02, threshold 0 (every provider kept)
    old = Steering(cap=0.9, floor=0.02, bias=2, threshold=0.0)
    assert allocate({"A": 0.5, "B": 0.0, "C": -0.45}, old) == pytest.approx(
        {"A": 0.9, "B": 0.02 + 0.06 * 0.25 / (0.25 + 0.0025), "C": 0.02 + 0.06 * 0.0025 / 0.2525}, abs=1e-6)
    # all-in: cap 1, floor 0
    assert allocate({"A": 0.5, "B": 0.3}, Steering(cap=1.0)) == {"A": 1.0}


@pytest.mark.parametrize("cap", [0.7, 0.3])
@pytest.mark.parametrize("scores", [
    {"a": 0.5, "b": 0.5, "c": -0.5, "d": 0.4}, {"a": 0.49, "b": -0.2, "c": -0.3, "d": -0.5, "e": -0.5},
    {"a": -0.5, "b": -0.5, "c": 0.0, "d": 0.5}, {"a": 0.1, "b": 0.0, "c": 0.2, "d": 0.15}])
def test_allocate_properties(scores, cap):
    s = Steering(cap=cap, floor=0.05, bias=2)
    sh = allocate(scores, s)
    assert sum(sh.values()) == pytest.approx(1.0, abs=1e-5)
    assert all(0.05 - 1e-9 <= v <= cap + 1e-9 for v in sh.values()), sh  # cap binds everyone
    best = max(scores, key=scores.get)
    assert sh[best] == pytest.approx(max(sh.values()))  # biased toward the top WAN score


def rows(client, scheme, rtts, pop, proto="udp"):
    return [{"t": float(i), "client": client, "target": "x", "scheme": scheme, "proto": proto,
             "rtt_ms": r, "pop": pop if r is not None else None} for i, r in enumerate(rtts)]


def synthetic():
    r = []
    r += rows("c", "global", [80, 82, 84], "nyc")
    r += rows("c", "global", [81, 83], None, proto="icmp")
    r += rows("c", "provider:A", [10, 12, 14, 16], "lon")
    r += rows("c", "provider:B", [20, 22, 24, None], "nyc")
    r += rows("c", "unicast:lon", [9, 11, 13], "lon")
    r += rows("c", "unicast:nyc", [79, 81, 83], "nyc")
    return r


def test_analyse_client_by_hand():
    c = analyse_client(synthetic(), ["A", "B"], ["lon", "nyc"], 3.435, Steering(0.9, 0.02, 2))
    assert c["global"] == {"rtt_ms": 82, "iqr_ms": None, "pop": "nyc", "icmp_rtt_ms": 82, "samples": 5,
                           "lost": 0}  # 3 UDP samples: too few for an IQR
    assert c["providers"]["A"]["rtt_ms"] == 13 and c["providers"]["B"]["rtt_ms"] == 22
    assert c["providers"]["A"]["iqr_ms"] == 3.0  # 10 12 14 16: quartiles 11.5 and 14.5
    assert c["providers"]["B"]["lost"] == 1
    # pooled A+B answered: 10 12 14 16 20 22 24 -> nominal 16; A wins 3/4, B 0/4 (one lost)
    assert c["nominal_rtt_ms"] == 16 and c["wan"] == {"A": 0.25, "B": -0.5}
    # w = 0.75^2, 0 -> A = 0.98 -> cap 0.9; IPA RTT = 0.9*13 + 0.1*22 = 13.9
    assert c["ipa"]["shares"] == {"A": 0.9, "B": 0.1} and c["ipa"]["rtt_ms"] == pytest.approx(13.9)
    assert c["ipa"]["pop"] == "lon"
    assert c["oracle"] == {"provider": "A", "rtt_ms": 13, "pop": "lon"}
    assert c["optimal"] == {"rtt_ms": 11, "pop": "lon"}


def test_floor_by_hand(tiny):
    assert floor_rtt(tiny, "lon") == 0.0
    tiny.cities["par"] = type(tiny.cities["lon"])("par", "Paris", 48.8566, 2.3522)
    try:
        # Paris-London great circle 343.5 km: 2 * 343.5 / 200 = 3.435 ms
        assert floor_rtt(tiny, "par") == pytest.approx(3.435, abs=0.01)
    finally:
        del tiny.cities["par"]


def test_summary_and_schema(tiny):
    clients = {"c": {**analyse_client(synthetic(), ["A", "B"], ["lon", "nyc"], 3.0, Steering()),
                     "city": "lon"}}
    s = summarize(clients)
    assert s["global"]["median_rtt_ms"] == 82 and s["global"]["suboptimal_share"] == 1.0
    assert s["global"]["inflation_median_ms"] == 71
    assert s["ipa"]["suboptimal_share"] == 0.0  # its top provider A reaches lon, the optimal
    assert s["ipa"]["suboptimal_traffic_share"] == pytest.approx(0.1)  # B's share lands at nyc
    assert s["global"]["unreachable_clients"] == 0
    assert s["oracle"]["suboptimal_share"] == 0.0 and s["floor"]["median_rtt_ms"] == 3.0
    data = {"schema_version": 1, "scenario": "t", "topology": "tiny", "link_backend": "userspace",
            "created": "now", "providers": ["A", "B"], "pops": ["lon", "nyc"],
            "topology_file": "topology.yaml", "steering": {"cap": 0.9, "floor": 0.02, "bias": 2},
            "schemes": ["global", "ipa"],
            "phases": [{"name": "baseline", "clients": clients, "summary": s}]}
    validate(data)
    del data["phases"][0]["clients"]["c"]["optimal"]
    with pytest.raises(Exception, match="optimal"):
        validate(data)


def test_analyse_covers_every_client_even_without_samples(tiny):
    res = analyse(tiny, ["tra", "trb"], [])
    assert set(res["clients"]) == {"c1", "c2", "c3"}
    assert res["clients"]["c1"]["global"]["rtt_ms"] is None
    assert res["summary"]["global"]["clients"] == 0
    assert math.isclose(res["clients"]["c2"]["floor_rtt_ms"], 0.0)
