"""A timeline on tiny.yaml as root (tests/data/tiny-timeline.yaml, ~75 s):
a cable cut, a PoP outage, a provider outage and congestion, probed
continuously; the report's numbers are checked against the raw samples."""
from __future__ import annotations

import json

import pytest

from anycastlab.probes import read_samples
from anycastlab.report import validate
from anycastlab.runner import run_scenario
from anycastlab.scenario import load_scenario
from anycastlab.timeline import GUARD_S

from conftest import ROOT

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("timeline")
    scn = load_scenario(str(ROOT / "tests" / "data" / "tiny-timeline.yaml"))
    data, paths = run_scenario(scn, out)
    rows = read_samples(out / "samples.csv")
    return data, paths, rows


def event(data, kind, nth=0):
    return [e for e in data["timeline"]["events"] if e["kind"] == kind][nth]


def samples(data, rows, client, scheme, a, b):
    """Raw samples of a client and scheme between a and b on the event clock."""
    t0 = data["timeline"]["t0"]
    return sorted((r for r in rows if r["client"] == client and r["scheme"] == scheme
                   and r["proto"] == "udp" and a <= r["t"] - t0 < b), key=lambda r: r["t"])


def test_report_is_complete_and_valid(run):
    data, paths, rows = run
    validate(json.loads(paths["json"].read_text()))
    assert [p["name"] for p in data["phases"]] == ["before", "cut", "restored", "pop-out", "pop-back",
                                                   "provider-out", "provider-back", "congestion"]
    for name in ("rtt-time", "loss", "shares", "map-before", "map-cut"):
        assert paths[name].stat().st_size > 0
    # continuous: every client probed every target about every 100 ms
    per = len(samples(data, rows, "c1", "global", 0, data["timeline"]["end_s"]))
    assert per >= 0.9 * data["timeline"]["end_s"] / 0.1


def test_cut_loses_probes_for_a_measured_window_then_reroutes(run):
    data, _, rows = run
    ev = event(data, "cut")
    m = ev["clients"]["c2"]["global"]
    assert m["before"]["pop"] == "nyc"               # B carries c2 to New York over its cable
    assert m["lost"] > 0 and 0 <= m["loss_window_s"] < 5
    assert m["stable_s"] is not None and m["after"]["pop"] == "lon"
    # the report agrees with the raw samples
    te = ev["t_s"]
    raw = samples(data, rows, "c2", "global", te, te + ev["span_s"] - GUARD_S)
    lost = [r["t"] - data["timeline"]["t0"] - te for r in raw if r["rtt_ms"] is None]
    assert len(lost) == m["lost"]
    assert m["first_lost_s"] == pytest.approx(lost[0], abs=1e-3)
    assert m["last_lost_s"] == pytest.approx(lost[-1], abs=1e-3)
    assert all(r["pop"] == "lon" for r in raw if r["t"] - data["timeline"]["t0"] - te > m["stable_s"])
    assert ev["bgp"]["updates"] > 0 and ev["bgp"]["settle_s"] is not None


def test_restore_brings_the_original_catchment_back(run):
    data, _, _ = run
    m = event(data, "restore")["clients"]["c2"]["global"]
    assert m["before"]["pop"] == "lon" and m["after"]["pop"] == "nyc"
    assert m["stable_s"] is not None


def test_pop_down_moves_clients_and_pop_up_returns_them(run):
    data, _, _ = run
    down = event(data, "pop-down")["clients"]["c3"]["global"]
    up = event(data, "pop-up")["clients"]["c3"]["global"]
    assert down["before"]["pop"] == "lon" and down["after"]["pop"] == "nyc"
    assert up["after"]["pop"] == "lon"


def test_provider_down_silences_p_k_only(run):
    data, _, rows = run
    ev = event(data, "provider-down")
    a, b = ev["t_s"] + 1.0, ev["t_s"] + ev["span_s"] - GUARD_S
    for c in ("c1", "c2", "c3"):
        assert all(r["rtt_ms"] is None for r in samples(data, rows, c, "provider:trb", a, b)), c
        for scheme in ("global", "provider:tra"):
            got = samples(data, rows, c, scheme, a, b)
            assert got and all(r["rtt_ms"] is not None for r in got), (c, scheme)
        # IPA lost the traffic it had on P_trb until the window moved it
        ipa = ev["clients"][c]["ipa"]
        assert ipa["lost"] > 0 and "trb" not in ipa["shares_after"]
        assert ipa["shares_moved_s"] is not None and ipa["shares_moved_s"] <= 2 * data["steering"]["window_s"]


def test_ipa_shares_move_away_from_a_provider_that_got_slower(run):
    data, _, _ = run
    ev = event(data, "latency")
    ipa, glob = ev["clients"]["c1"]["ipa"], ev["clients"]["c1"]["global"]
    top = lambda sh: max(sh, key=sh.get)  # noqa: E731
    assert top(ipa["shares_before"]) == "tra" and top(ipa["shares_after"]) == "trb"
    assert ipa["shares_moved_s"] <= 2 * data["steering"]["window_s"]
    assert ipa["after"]["rtt_ms"] < glob["after"]["rtt_ms"] - 20  # BGP stayed on the slow link
    assert ev["bgp"]["best_path_changes"] == 0                     # latency is invisible to BGP
