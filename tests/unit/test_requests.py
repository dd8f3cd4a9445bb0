"""The summary over requests (analysis/requests.py), checked by hand."""
from __future__ import annotations

import pytest

from anycastlab.analysis.requests import client_requests, headline, summarize, weighted_percentile


def test_weighted_percentile_is_the_inverse_of_the_weighted_cdf():
    pairs = [(10.0, 1.0), (20.0, 1.0), (30.0, 2.0)]   # cumulative weights 1, 2, 4 of 4
    assert weighted_percentile(pairs, 25) == 10.0
    assert weighted_percentile(pairs, 26) == 20.0
    assert weighted_percentile(pairs, 50) == 20.0
    assert weighted_percentile(pairs, 51) == 30.0
    assert weighted_percentile(pairs, 100) == 30.0
    assert weighted_percentile([], 50) is None and weighted_percentile([(1.0, 0.0)], 50) is None
    # equal weights: the lower median, like the over-networks figure of an odd count
    assert weighted_percentile([(x, 1.0) for x in (5.0, 1.0, 3.0)], 50) == 3.0


def row(scheme, rtt, pop):
    return {"scheme": scheme, "proto": "udp", "rtt_ms": rtt, "pop": pop}


def entry(shares, oracle="a", best="nyc", floor=2.0):
    return {"ipa_model": {"shares": shares}, "oracle": {"provider": oracle},
            "optimal": {"pop": best}, "floor_rtt_ms": floor}


def test_a_networks_requests_weigh_its_demand_split_by_shares():
    rows = [row("global", 10.0, "nyc"), row("global", 12.0, "nyc"),
            row("provider:a", 11.0, "nyc"), row("provider:a", 13.0, "nyc"), row("provider:a", None, ""),
            row("provider:b", 50.0, "lon"), row("unicast:nyc", 9.0, "nyc"),
            {"scheme": "global", "proto": "icmp", "rtt_ms": 1.0, "pop": ""}]
    req = client_requests(rows, entry({"a": 0.75, "b": 0.25}), demand=8.0)
    assert req["global"] == [(10.0, "nyc", 4.0), (12.0, "nyc", 4.0)]        # ICMP is no request
    assert req["ipa_model"] == [(11.0, "nyc", 2.0), (13.0, "nyc", 2.0), (None, None, 2.0), (50.0, "lon", 2.0)]
    assert req["ipa"] == req["ipa_model"]                                     # no DNS rows: the model
    assert req["oracle"] == [(11.0, "nyc", 8 / 3), (13.0, "nyc", 8 / 3), (None, None, 8 / 3)]
    assert req["optimal"] == [(9.0, "nyc", 8.0)] and req["floor"] == [(2.0, None, 8.0)]
    for reqs in req.values():
        assert sum(w for _, _, w in reqs) == pytest.approx(8.0)
    dns = client_requests(rows + [row("ipa", 30.0, "lon")], entry({"a": 1.0}), demand=8.0)
    assert dns["ipa"] == [(30.0, "lon", 8.0)]


def test_big_networks_weigh_more_and_loss_and_off_optimal_are_shares_of_traffic():
    per = {"big": {"global": [(10.0, "nyc", 3.0), (None, None, 1.0)]},   # demand 4, a quarter lost
           "small": {"global": [(100.0, "lon", 1.0)]}}                   # demand 1, off its optimal
    s = summarize(per, {"big": "nyc", "small": "nyc"})["global"]
    # answered weights: 10 ms x 3, 100 ms x 1 -> median 10, p90 100, mean 32.5
    assert s["median_rtt_ms"] == 10.0 and s["p90_rtt_ms"] == 100.0 and s["mean_rtt_ms"] == 32.5
    assert s["lost_share"] == pytest.approx(0.2) and s["off_optimal_share"] == pytest.approx(0.25)
    assert s["demand_gbps"] == 5.0
    # the median over networks would be 55 (10 and 100): requests say 10
    assert headline({"requests": s})["median_rtt_ms"] == 10.0
    old = {"median_rtt_ms": 55.0, "p90_rtt_ms": 1, "p99_rtt_ms": 1, "mean_rtt_ms": 1, "suboptimal_share": 0.5}
    assert headline(old)["median_rtt_ms"] == 55.0 and headline(old)["off_optimal_share"] == 0.5


def test_the_wan_table_shows_wins_shares_and_rtt_per_provider():
    from anycastlab.report.tables import wan_head, wan_rows

    phase = {"clients": {"c1": {"demand_gbps": 9.4, "nominal_rtt_ms": 20.0, "wins": {"a": 0.9, "b": 0.1},
                                "ipa": {"shares": {}}, "ipa_model": {"shares": {"a": 0.9, "b": 0.1}},
                                "providers": {"a": {"rtt_ms": 12.0}, "b": {"rtt_ms": 31.5}}}}}
    assert wan_head(["a", "b"])[:3] == ["client", "demand Gbit/s", "nominal ms"]
    assert wan_rows(phase, ["a", "b", "c"]) == [["c1", "9.4", "20.0", "90% / 90% / 12.0", "10% / 10% / 31.5", "–"]]


def test_the_opening_paragraph_is_computed_from_the_data():
    from anycastlab.report.narrative import paragraph

    def net(g, i, top="a", answers=None, pop="nyc"):
        return {"global": {"rtt_ms": g, "pop": pop}, "providers": {"a": {"rtt_ms": i, "pop": "lon"}},
                "ipa": {"rtt_ms": i, "shares": {top: 0.9, "b": 0.1}, "answers": answers or {}, "lost": 0}}
    phase = {"summary": {"global": {"requests": {"median_rtt_ms": 40.0, "p90_rtt_ms": 90.0}},
                         "ipa": {"requests": {"median_rtt_ms": 30.0, "p90_rtt_ms": 80.0}}},
             "clients": {"fast": net(50.0, 20.0), "same": net(10.0, 10.4),
                         "slow": net(10.0, 60.0, answers={"b": 0.8, "a": 0.2})}}
    text = paragraph(phase)
    assert text.startswith("IPA's median request took 30.0 ms against global anycast's 40.0 ms (lower;")
    assert "faster for 1 of 3 client networks, most for fast (30.0 ms faster, via a)" in text
    assert "slower for 1: most for slow (+50.0 ms), where DNS answered b for 80% of its probes" in text
    assert "1 network sees no difference beyond 1 ms." in text
    phase["clients"]["slow"]["ipa"]["answers"] = {}
    assert "its favoured provider a reaches lon in 60.0 ms, global anycast nyc in 10.0 ms" in paragraph(phase)
