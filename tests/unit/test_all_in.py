"""The all-in column (cap 1: all traffic to the top WAN provider), by hand:
per client, over requests, in the summary and in compare."""
from __future__ import annotations

import pytest

from anycastlab.analysis.baseline import analyse_client, summarize
from anycastlab.analysis.requests import client_requests
from anycastlab.analysis.requests import summarize as over_requests
from anycastlab.model.schemes import BY_KEY, COMPARED, KEYS
from anycastlab.model.settings import Steering
from anycastlab.report.compare import compare
from anycastlab.report.tables import summary_rows


def rows(client: str, scheme: str, rtts: list, pop: str) -> list[dict]:
    return [{"client": client, "scheme": scheme, "proto": "udp", "rtt_ms": x,
             "pop": pop if x is not None else "", "t": float(i), "target": ""} for i, x in enumerate(rtts)]


def samples() -> list[dict]:
    r = rows("c", "global", [80, 82, 84], "nyc")
    r += rows("c", "provider:A", [10, 12, 14, 16], "lon")
    r += rows("c", "provider:B", [20, 22, 24, None], "nyc")
    r += rows("c", "unicast:lon", [9, 11, 13], "lon")
    r += rows("c", "unicast:nyc", [79, 81, 83], "nyc")
    return r


def test_all_in_puts_everything_on_the_top_provider_by_hand() -> None:
    c = analyse_client(samples(), ["A", "B"], ["lon", "nyc"], 3.0, Steering())
    # nominal 16: A wins 3/4 (+0.25), B 0/4 (-0.5); IPA caps A at 0.9, all-in gives it all
    assert c["ipa_model"]["shares"] == {"A": 0.9, "B": 0.1}
    assert c["all_in"] == {"source": "model", "shares": {"A": 1.0}, "rtt_ms": 13.0, "pop": "lon",
                           "pops": {"A": "lon"}}
    # over requests: A's four probes, each a quarter of the demand (lost ones count as lost)
    req = client_requests(samples(), c, demand=8.0)
    assert req["all_in"] == [(10, "lon", 2.0), (12, "lon", 2.0), (14, "lon", 2.0), (16, "lon", 2.0)]
    s = over_requests({"c": req}, {"c": "lon"})
    # weights 2 each at 10 12 14 16: the median is the smallest reaching half: 12; p90 16; mean 13
    assert s["all_in"]["median_rtt_ms"] == 12 and s["all_in"]["p90_rtt_ms"] == 16
    assert s["all_in"]["mean_rtt_ms"] == 13 and s["all_in"]["off_optimal_share"] == 0.0
    # the IPA model keeps 10 % on B (20, 22, 24 and a loss): a tenth of the traffic at nyc
    assert s["ipa_model"]["off_optimal_share"] == pytest.approx(0.1 * 3 / 4 / (0.9 + 0.1 * 3 / 4), abs=1e-3)


def test_exact_ties_share_the_top_even_all_in() -> None:
    r = rows("c", "provider:A", [10, 12, 14, 16], "lon") + rows("c", "provider:B", [10, 12, 14, 16], "nyc")
    c = analyse_client(r, ["A", "B"], ["lon", "nyc"], 3.0, Steering())
    assert c["all_in"]["shares"] == {"A": 0.5, "B": 0.5} and c["all_in"]["rtt_ms"] == 13.0


def test_the_summary_and_the_tables_show_all_in_beside_ipa() -> None:
    c = {**analyse_client(samples(), ["A", "B"], ["lon", "nyc"], 3.0, Steering()), "city": "lon"}
    s = summarize({"c": c})
    assert s["all_in"]["median_rtt_ms"] == 13.0 and s["all_in"]["suboptimal_traffic_share"] == 0.0
    assert s["ipa"]["median_rtt_ms"] == pytest.approx(0.9 * 13 + 0.1 * 22)
    labels = [r[0] for r in summary_rows({"summary": s, "clients": {"c": c}}, short=True)]
    assert labels.index("IPA") < labels.index("all-in") < labels.index("oracle")
    assert "all_in" in KEYS and "all_in" not in COMPARED and BY_KEY["all_in"].family == "ipa"


def test_compare_shows_all_in_and_tolerates_a_report_without_it() -> None:
    c = {**analyse_client(samples(), ["A", "B"], ["lon", "nyc"], 3.0, Steering()), "city": "lon"}
    s = summarize({"c": c})
    new = {"_path": "b", "scenario": "s", "topology": "t", "phases": [{"name": "p", "clients": {"c": c},
                                                                      "summary": s}]}
    old_c = {k: v for k, v in c.items() if k != "all_in"}
    old = {"_path": "a", "scenario": "s", "topology": "t",
           "phases": [{"name": "p", "clients": {"c": old_c},
                       "summary": {k: v for k, v in s.items() if k != "all_in"}}]}
    res = compare(new, old)
    assert res["summary"]["all_in"]["median_rtt_ms"] == {"a": 13.0, "b": None, "delta": None}
    assert list(res["summary"])[:3] == ["global", "ipa", "all_in"]
