"""The capacity headroom wired into the lab side, without a lab: the load
model on tiny's address plan with paths laid by hand, the live steering
loop between ranking and publication, the steering log the timeline
analysis reads, and a re-analysis at rest with another --headroom.

On tiny, c3 (London) reaches P_tra and G from the London PoP through the
port cdn-lon > tra-lon, and P_trb from New York through cdn-nyc > trb-nyc.
That London port is set to 1 Gbit/s: c3's demand is 1, half of it global
(0.5), so a share of 0.9 on tra puts 0.95 Gbit/s on it: 95 %.
"""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from anycastlab.analysis import baseline
from anycastlab.analysis import timeline as T
from anycastlab.errors import InputError
from anycastlab.measure.load import LoadModel
from anycastlab.measure.steering import SteeringLoop
from anycastlab.model.addressing import plan_addresses
from anycastlab.model.headroom import Rank, apply_headroom, network_from_section
from anycastlab.model.settings import Load, Steering
from anycastlab.report import write as report
from anycastlab.report.reanalyse import merged_steering, reanalyse
from anycastlab.report.schema import SCHEMA_VERSION, validate

from conftest import TOPOLOGIES

LON = ("cdn-lon", "tra-lon")


def down(*nodes: str) -> tuple[list, list]:
    hops = list(zip(nodes[:-1], nodes[1:]))
    return [(b, a) for a, b in reversed(hops)], hops


def load_model(tiny) -> LoadModel:
    lab = SimpleNamespace(topo=tiny, plan=plan_addresses(tiny), set_load=lambda m: len(m))
    load = LoadModel(lab, Load(0.5))
    load.paths = {("c3", "global"): down("e-lon", "cdn-lon", "tra-lon", "c3-lon", "h-c3"),
                  ("c3", "tra"): down("e-lon", "cdn-lon", "tra-lon", "c3-lon", "h-c3"),
                  ("c3", "trb"): down("e-nyc", "cdn-nyc", "trb-nyc", "trb-lon", "c3-lon", "h-c3")}
    load.rewalk = 0
    load.capacity[LON] = 1.0
    return load


def test_the_load_model_steers_logs_and_records_its_paths(tiny) -> None:
    load = load_model(tiny)
    assert ("cdn-nyc", "trb-nyc") in set(load.network(walk=False).ports()) and LON in load.network().ports()
    ranked = {"c3": {"tra": 0.9, "trb": 0.1}}
    res = load.steer(ranked, {"c3": Rank({"tra": 0.5, "trb": 0.3})}, Steering(), "at rest")
    # 0.15 Gbit/s over 0.8 x 1; a share of c3's IPA is 0.5 Gbit/s on the port: 0.3 moves to trb
    assert res.shares == {"c3": {"tra": 0.6, "trb": 0.4}}
    (h,) = load.headroom_log
    assert h["label"] == "at rest" and h["over"] == {"cdn-lon>tra-lon": 0.95} and h["ranked"] == ranked
    entry = load.apply(res.shares, "at rest")
    assert entry["links"]["cdn-lon>tra-lon"][:3] == [0.8, 0.3, 0.8] and entry["walked"] is False
    sec = load.section()
    assert sec["paths"]["c3>trb"][1] == ["e-nyc", "cdn-nyc", "trb-nyc", "trb-lon", "c3-lon", "h-c3"]
    assert sec["cdn_nodes"] == ["cdn-lon", "cdn-nyc", "dns", "e-lon", "e-nyc"]
    # what report.json keeps gives the same rule again (re-analysis at rest)
    net = network_from_section(json.loads(json.dumps(sec)), ["tra", "trb"])
    assert apply_headroom(ranked, {"c3": Rank({"tra": 0.5, "trb": 0.3})}, net, Steering()).shares == res.shares
    assert network_from_section({"log": []}, ["tra"]) is None


def csv_rows(t0: float) -> list[str]:
    """Window [-2, 0) for c3: tra 3-5 ms, trb 4-6 ms."""
    rows = ["t,client,target,scheme,proto,rtt_ms,lost,pop"]
    for i in range(20):
        t = t0 - 2 + i * 0.1
        rows.append(f"{t},c3,198.18.1.1,provider:tra,udp,{3 + i % 3},0,lon")
        rows.append(f"{t},c3,198.18.2.1,provider:trb,udp,{4 + i % 3},0,nyc")
    return rows


def test_the_loop_publishes_the_adjusted_shares_and_logs_both(tiny, tmp_path: Path) -> None:
    samples = tmp_path / "samples.csv"
    t0 = 1000.0
    samples.write_text("\n".join(csv_rows(t0)) + "\n")
    load, st = load_model(tiny), Steering(window_s=2)
    got: list = []
    loop = SteeringLoop(None, samples, ["tra", "trb"], st, t0, -2.0, 0.0,
                        on_shares=lambda sh, label: got.append((dict(sh), label)),
                        adjust=lambda sh, rk, label: load.steer(sh, rk, st, label))
    loop.step()
    r = T.rank({"tra": [3 + i % 3 for i in range(20)], "trb": [4 + i % 3 for i in range(20)]}, st)
    assert r.shares == {"tra": 0.9, "trb": 0.1} and loop.ranks["c3"].order == ["tra", "trb"]
    (e,) = loop.steering_log
    assert e["window"] == [-2.0, 0.0] and e["shares"] == {"c3": {"tra": 0.6, "trb": 0.4}}
    assert e["ranked"] == {"c3": {"tra": 0.9, "trb": 0.1}} and e["moves"][0]["to"] == "trb"
    assert got == [({"c3": {"tra": 0.6, "trb": 0.4}}, "window -2-0 s")]   # the load got the published ones
    assert loop.log == [] and loop.shares == {"c3": r.shares}   # no zone; the ranked ones carry on

    def broken(sh, rk, label):
        raise RuntimeError("no paths")
    loop2 = SteeringLoop(None, samples, ["tra", "trb"], st, t0, -2.0, 0.0, adjust=broken)
    loop2.step()
    assert loop2.steering_log[0]["shares"] == {"c3": r.shares} and "headroom" in loop2.errors[0]


def test_the_timeline_model_uses_the_published_shares_when_the_run_has_them() -> None:
    t0 = 1_800_000_000.0
    rows = []
    for i in range(300):   # -6 .. 24 s: a at 10 ms, b at 20 ms, every 0.1 s
        t = -6.0 + i * 0.1
        rows.append({"t": t0 + t + 0.01, "client": "c1", "target": "198.18.1.1", "scheme": "provider:a",
                     "proto": "udp", "rtt_ms": 10.0, "pop": "nyc"})
        rows.append({"t": t0 + t + 0.03, "client": "c1", "target": "198.18.2.1", "scheme": "provider:b",
                     "proto": "udp", "rtt_ms": 20.0, "pop": "lon"})
    log = [{"window": [-5.0, 0.0], "t_s": 1.8, "shares": {"c1": {"a": 0.5, "b": 0.5}}},
           {"window": [0.0, 5.0], "t_s": 6.8, "shares": {}}]
    args = (rows, t0, 24.0, [T.Mark(12.0, "x", "cut", "p")], ["a", "b"], [], Steering(window_s=5), 5.0, 0.1, 6.0)
    live = T.analyse(*args, live=log)
    assert live["shares_source"] == "live"
    assert live["shares"]["c1"] == [{"from": 1.8, "shares": {"a": 0.5, "b": 0.5}},
                                    {"from": 6.8, "shares": {"a": 0.5, "b": 0.5}}]   # kept when not ranked
    med = live["series"]["clients"]["c1"]["ipa"]["rtt_ms"]
    t = live["series"]["t"]
    assert med[t.index(3.0)] == 15.0            # half at 10 ms, half at 20 ms
    model = T.analyse(*args)                    # an old run: recomputed, a ranks top (0.9)
    assert model["shares_source"] == "model" and model["series"]["clients"]["c1"]["ipa"]["rtt_ms"][t.index(3.0)] == 11.0
    # the all-in column rides along: the top provider only
    assert model["series"]["clients"]["c1"]["all_in"]["rtt_ms"][t.index(3.0)] == 10.0


def rest_run(tiny, folder: Path) -> None:
    """A saved run at rest on tiny with the load section the lab would write."""
    lines = csv_rows(1000.0)
    lines += [f"{1000.0 - 2 + i * 0.1},c3,198.18.0.1,global,udp,{3 + i % 3},0,lon" for i in range(20)]
    (folder / "samples.csv").write_text("\n".join(lines) + "\n")
    (folder / "topology.yaml").write_text((TOPOLOGIES / "tiny.yaml").read_text())
    from anycastlab.model.samples import read_samples

    load = load_model(tiny)
    st = Steering()
    phase = baseline.analyse(tiny, ["tra", "trb"], read_samples(folder / "samples.csv"), st, load.network())
    data = {"schema_version": SCHEMA_VERSION, "scenario": "s", "topology": "tiny", "topology_file": "topology.yaml",
            "link_backend": "userspace", "created": "now", "providers": ["tra", "trb"], "pops": ["nyc", "lon"],
            "steering": {"cap": 0.9, "floor": 0.0, "bias": 2.0, "window_s": 5.0, "threshold": 0.1, "headroom": 0.8},
            "schemes": ["global", "ipa", "oracle", "optimal", "floor"], "load": load.section(),
            "phases": [{"name": "baseline", **phase}]}
    validate(data)
    report.write(folder, data, tiny)


def test_a_run_at_rest_is_reanalysed_with_another_headroom(tiny, tmp_path: Path) -> None:
    rest_run(tiny, tmp_path)
    first = json.loads((tmp_path / "report.json").read_text())["phases"][0]
    assert first["clients"]["c3"]["ipa_model"]["shares"] == {"tra": 0.6, "trb": 0.4}
    assert first["headroom"]["moves"][0]["port"] == "cdn-lon>tra-lon"
    md = (tmp_path / "report.md").read_text()
    assert "### Capacity headroom" in md and "| cdn-lon → tra-lon | c3 | tra → trb | 30.0% |" in md
    off = merged_steering(tmp_path, None, None, None, None, None, 0.0)
    data, _ = reanalyse(tmp_path, off)
    c3 = data["phases"][0]["clients"]["c3"]
    assert c3["ipa_model"]["shares"] == {"tra": 0.9, "trb": 0.1} and "headroom" not in data["phases"][0]
    assert data["steering"]["headroom"] == 0.0 and "Capacity headroom: off." in (tmp_path / "report.md").read_text()
    data, _ = reanalyse(tmp_path, merged_steering(tmp_path, None, None, None, None, None, 0.9))
    assert data["phases"][0]["headroom"]["moves"][0]["share"] == pytest.approx(0.1)   # 0.9 x 1: 0.05 over
    with pytest.raises(InputError, match="headroom"):
        merged_steering(tmp_path, None, None, None, None, None, -1.0)
