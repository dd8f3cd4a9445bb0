"""A timeline on tiny.yaml as root (tests/data/tiny-timeline.yaml, ~75 s):
a cable cut, a PoP outage, a provider outage and congestion, probed
continuously; the report's numbers are checked against the raw samples."""
from __future__ import annotations

import json

import pytest

from anycastlab.model.addressing import provider_addresses
from anycastlab.model.samples import read_samples
from anycastlab.model.samples import read_dns
from anycastlab.report.schema import validate
from anycastlab.measure.scenario import run_scenario
from anycastlab.model.scenario import load_scenario
from anycastlab.analysis.timeline import GUARD_S

from conftest import ROOT

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("timeline")
    scn = load_scenario(str(ROOT / "tests" / "data" / "tiny-timeline.yaml"))
    data, paths = run_scenario(scn, out)
    rows = read_samples(out / "samples.csv")
    return data, paths, rows


@pytest.fixture(scope="module")
def dns_rows(run):
    return read_dns(run[1]["json"].parent / "dns.csv")


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
    assert data["faults"] == []  # the PoP and DNS outages stop daemons on purpose: no fault
    assert [p["name"] for p in data["phases"]] == ["before", "cut", "restored", "pop-out", "pop-back",
                                                   "provider-out", "provider-back", "congestion",
                                                   "dns-out", "dns-back"]
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
        # the share model lost the traffic it had on P_trb until the window moved it
        ipa = ev["clients"][c]["ipa_model"]
        assert ipa["lost"] > 0 and "trb" not in ipa["shares_after"]
        assert ipa["shares_moved_s"] is not None and ipa["shares_moved_s"] <= 2 * data["steering"]["window_s"]
        # through DNS, a client loses exactly when its answer pointed at P_trb
        trb = [r for r in samples(data, rows, c, "ipa", a, b) if r["target"] == "198.18.2.1"]
        assert all(r["rtt_ms"] is None for r in trb)
        if trb:
            assert ev["clients"][c]["ipa"]["lost"] > 0


def test_ipa_shares_move_away_from_a_provider_that_got_slower(run):
    data, _, _ = run
    ev = event(data, "latency")
    ipa, glob = ev["clients"]["c1"]["ipa"], ev["clients"]["c1"]["global"]
    top = lambda sh: max(sh, key=sh.get)  # noqa: E731
    assert top(ipa["shares_before"]) == "tra" and top(ipa["shares_after"]) == "trb"
    assert ipa["shares_moved_s"] <= 2 * data["steering"]["window_s"]
    assert ipa["after"]["rtt_ms"] < glob["after"]["rtt_ms"] - 20  # BGP stayed on the slow link
    assert ev["bgp"]["best_path_changes"] == 0                     # latency is invisible to BGP


def test_ipa_probes_go_where_the_clients_dns_answers_point(run, dns_rows):
    """Every IPA probe targets the answer its resolver held at that moment
    (the network's resolvers take turns; the probe row names the one used)."""
    data, _, rows = run
    answers = sorted((r["t"] + r["rtt_ms"] / 1000, (r["client"], r["resolver"]), r["name"], r["answer"])
                     for r in dns_rows if r["status"] == "ok")
    assert {n for _, _, n, _ in answers} == {"ipa"}
    provs = set(provider_addresses_of(data).values())
    assert {a for _, _, n, a in answers if n == "ipa"} <= provs
    checked = 0
    for r in rows:
        if r["scheme"] != "ipa" or not r["target"]:
            continue
        held = [a for t, c, n, a in answers if c == (r["client"], r["resolver"]) and n == "ipa" and t <= r["t"]]
        assert held and held[-1] == r["target"], r
        checked += 1
    assert checked > 1000


def provider_addresses_of(data):
    from anycastlab.model.topofile import load_topology
    from anycastlab.model.addressing import plan_addresses

    return provider_addresses(plan_addresses(load_topology(data["topology_source"])))


def test_zone_is_republished_every_window_with_a_new_serial(run):
    data, _, _ = run
    log = data["timeline"]["zone_log"]
    assert [e["serial"] for e in log] == list(range(log[0]["serial"], log[0]["serial"] + len(log)))
    w = data["timeline"]["window_s"]
    assert all(abs((b["window"][1] - a["window"][1]) - w) < 1e-6 for a, b in zip(log, log[1:]))
    down, up = event(data, "dns-down")["t_s"], event(data, "dns-up")["t_s"]
    failed = [e for e in log if not e["ok"]]
    assert failed and all(down <= e["t_ranked_s"] <= up + 1 for e in failed)
    assert all(e["ok"] for e in log if not down <= e["t_ranked_s"] <= up + 1)


def test_dns_down_fails_resolutions_counts_them_and_clients_keep_answers_for_the_ttl(run, dns_rows):
    data, _, rows = run
    t0 = data["timeline"]["t0"]
    down = event(data, "dns-down")["t_s"]
    up = event(data, "dns-up")["t_s"] + event(data, "dns-up")["applied_in_s"]  # answering again
    ttl = data["dns"]["settings"]["ttl_s"]
    res = data["dns"]["resolutions"]
    fails = [r for r in dns_rows if r["status"] != "ok"]
    assert res["failed"] == len(fails) > 0 and res["by_status"]["timeout"] == len(fails)
    # only while the servers were down, or while BGP moves the anycast DNS
    # prefix after an event that moves routes (a cut, a PoP or a provider
    # going or coming back): a query in flight then (sent up to the 1 s
    # timeout before) or sent before the routers agree again is lost, as for
    # any anycast service
    moving = [e for e in data["timeline"]["events"]
              if e["kind"] in ("cut", "restore", "pop-down", "pop-up", "provider-down", "provider-up")]
    assert fails and any(down - 1.5 <= r["t"] - t0 <= up for r in fails)
    for r in fails:
        t = r["t"] - t0
        assert down - 1.5 <= t <= up or any(e["t_s"] - 1.0 <= t <= e["t_s"] + e["span_s"] for e in moving), r
    ipa = [r for r in rows if r["scheme"] == "ipa" and down <= r["t"] - t0 <= up]
    for c in ("c1", "c2", "c3"):
        got: dict[int, list] = {}  # resolver -> its ok answers (arrival, address), in order
        for r in dns_rows:
            if r["client"] == c and r["name"] == "ipa" and r["status"] == "ok":
                got.setdefault(r["resolver"], []).append((r["t"] + r["rtt_ms"] / 1000 - t0, r["answer"]))
        mine = [r for r in ipa if r["client"] == c]
        unresolved = [r for r in mine if not r["target"]]
        assert unresolved, c
        for r in mine:  # each resolver used its answer until its TTL ran out, not a moment longer
            t = r["t"] - t0
            held = [a for a in sorted(got.get(r["resolver"], [])) if a[0] <= t]
            if r["target"]:
                assert held and held[-1][1] == r["target"] and t <= held[-1][0] + ttl + 0.05, (r, held[-1:])
            else:
                assert not held or t >= held[-1][0] + ttl - 0.05, (r, held[-1:])
        assert max(r["t"] - t0 for r in unresolved) <= up + 2.5  # answers again soon after the servers are back
    m = event(data, "dns-down")["clients"]["c1"]["ipa"]
    assert m["lost"] > 0  # unresolved probes are lost traffic in the report
