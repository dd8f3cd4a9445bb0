"""The baseline scenario as root on tiny.yaml: every report file, RTTs that
agree with iputils ping, PoPs that agree with the responder, lost probes
counted."""
from __future__ import annotations

import json
import time

import pytest

from anycastlab.measure import catchment
from anycastlab.measure.rounds import run_probes
from anycastlab.model.settings import ProbeSettings
from anycastlab.model.samples import read_samples
from anycastlab.report.schema import validate
from anycastlab.measure.scenario import run_scenario
from anycastlab.model.scenario import load_scenario

from labutil import ping_median, tolerance

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def baseline(lab, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    data, paths = run_scenario(load_scenario("baseline", "tiny"), out, lab=lab)
    return data, paths, out


def test_every_file_is_written(baseline):
    data, paths, out = baseline
    for name in ("report.json", "report.md", "report.html", "rtt-cdf.png", "map.png", "wan.png",
                 "load.png", "samples.csv", "samples-ranking.csv"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    validate(json.loads((out / "report.json").read_text()))
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4  # self-contained
    # the load model ran: paths read before the probes, one step from the ranking rounds, one for DNS
    load = data["load"]
    assert [e["walked"] for e in load["log"]] == [False, False] and not load["errors"]
    assert load["summary"]["applications"] == 2 and load["summary"]["links"]
    assert all(not e["unrouted"] for e in load["log"])
    assert "Load on the links" in (out / "report.md").read_text()
    rows = read_samples(out / "samples.csv")
    # 3 clients x (G + 2 P_k + 2 U_p) x 10 rounds x (udp + icmp)
    measured = [r for r in rows if r["scheme"] != "ipa"]
    assert len(measured) == data["probe_stats"]["probes"] == 3 * 5 * 10 * 2
    # then the DNS stage: every client probes where its answers point
    ipa = [r for r in rows if r["scheme"] == "ipa"]
    assert len(ipa) == data["probe_stats"]["dns_stage_probes"] > 0


def test_baseline_ipa_comes_from_real_dns_answers(baseline):
    """IPA = the clients' probes to the addresses PowerDNS answered, drawn
    only from each client's own allocation; the share model stays beside it."""
    from anycastlab.analysis.baseline import median
    from anycastlab.model.samples import read_dns

    data, _, out = baseline
    assert data["dns"]["mode"] == "dns" and data["dns"]["resolutions"]["failed"] == 0
    rows = read_samples(out / "samples.csv")
    answers = read_dns(out / "dns.csv")
    addr = {f"198.18.{i}.1": k for i, k in enumerate(data["providers"], start=1)}
    for cid, c in data["phases"][0]["clients"].items():
        ipa, model = c["ipa"], c["ipa_model"]
        assert ipa["source"] == "dns" and model["source"] == "model"
        assert ipa["shares"] == model["shares"]  # what the zone was told
        got = {addr[a["answer"]] for a in answers if a["client"] == cid and a["status"] == "ok"}
        assert got and got <= {k for k, v in ipa["shares"].items() if v > 0}
        mine = [r for r in rows if r["client"] == cid and r["scheme"] == "ipa"]
        assert {addr[r["target"]] for r in mine if r["target"]} <= got
        assert ipa["rtt_ms"] == round(median(r["rtt_ms"] for r in mine if r["rtt_ms"] is not None), 3)


def test_global_rtt_agrees_with_ping(lab, baseline):
    data = baseline[0]
    g = lab.plan.services.address(lab.plan.services.global_prefix)
    bad = []
    for cid, c in data["phases"][0]["clients"].items():
        ping = ping_median(lab, f"h-{cid}", g, count=9)
        if abs(c["global"]["rtt_ms"] - ping) > tolerance(ping):
            bad.append(f"{cid}: report {c['global']['rtt_ms']} ms, ping {ping} ms")
    assert not bad, bad


def test_report_pop_agrees_with_responder(lab, baseline):
    data = baseline[0]
    rows = {r["client"]: r for r in catchment.measure(lab)}
    for cid, c in data["phases"][0]["clients"].items():
        assert c["global"]["pop"] == rows[cid]["schemes"]["global"]["pop"]
        for k in data["providers"]:
            assert c["providers"][k]["pop"] == rows[cid]["schemes"][k]["pop"]


def test_lost_probes_are_counted(lab, tmp_path):
    lab.speaker("nyc").withdraw("provider:trb")  # trb is only at nyc: P_trb unreachable
    try:
        sv = lab.plan.services
        gone = sv.provider_prefixes["trb"]
        deadline = time.monotonic() + 10
        while gone in lab.birdc("c1-nyc").command(f"show route for {sv.address(gone)}") and \
                time.monotonic() < deadline:
            time.sleep(0.1)
        rows, stats = run_probes(lab, ProbeSettings(count=3, interval_s=0.1, timeout_s=0.5),
                                 tmp_path / "s.csv", clients=["c1"])
    finally:
        lab.speaker("nyc").announce("provider:trb")
    trb = [r for r in rows if r["scheme"] == "provider:trb"]
    assert len(trb) == 6 and all(r["rtt_ms"] is None for r in trb)
    assert stats["lost"] == 6 and stats["probes"] == 3 * 5 * 2  # G, 2 P_k, 2 U_p; udp + icmp
    assert sum(1 for r in read_samples(tmp_path / "s.csv") if r["rtt_ms"] is None) == 6
