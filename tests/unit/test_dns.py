"""DNS steering without root or daemon: the steering loop (its zone log and a
dead server) and the DNS chain analysis."""
from __future__ import annotations

from pathlib import Path


from anycastlab.config import powerdns
from anycastlab.lab import dns as labdns
from anycastlab.model.settings import Steering
from anycastlab.analysis.dns import event_timing, stage_summary
from anycastlab.measure.steering import SteeringLoop
from anycastlab.analysis.timeline import rank

GOLDEN = Path(__file__).parent / "golden" / "dns" / "cdn.lab.zone"
SHARES = {"c1": {"tra": 0.9, "trb": 0.1}, "c2": {"trb": 1.0}, "c3": {"tra": 0.333334, "trb": 0.666666}}


def test_steering_loop_ranks_like_the_model_and_survives_a_dead_server(plan, tmp_path):
    """Its zone log carries the same shares timeline.rank gives; with no
    server to reload, the failure is logged and the loop goes on."""
    samples = tmp_path / "samples.csv"
    rows = ["t,client,target,scheme,proto,rtt_ms,lost,pop"]
    t0 = 1000.0
    for i in range(20):  # window [-2, 0): tra fast, trb slow and lossy
        t = t0 - 2 + i * 0.1
        rows.append(f"{t},c1,198.18.1.1,provider:tra,udp,{3 + i % 3},0,nyc")
        rows.append(f"{t},c1,198.18.2.1,provider:trb,udp,{'' if i % 4 == 0 else 9},{int(i % 4 == 0)},"
                    f"{'' if i % 4 == 0 else 'lon'}")
    samples.write_text("\n".join(rows) + "\n")
    powerdns.write_config(tmp_path, plan, "test")
    zone = labdns.Zone([tmp_path], plan, "tiny", 10)
    st = Steering(window_s=2)
    loop = SteeringLoop(zone, samples, ["tra", "trb"], st, t0, -2.0, 0.0)
    loop.step()
    (entry,) = loop.log
    expect = rank({"tra": [3 + i % 3 for i in range(20)],
                   "trb": [None if i % 4 == 0 else 9 for i in range(20)]}, st)[0]
    assert entry["shares"] == {"c1": expect} and entry["window"] == [-2.0, 0.0]
    assert entry["ok"] is False and "reload" in entry["error"]
    assert "pickwrandom" in (tmp_path / powerdns.ZONE_FILE).read_text()  # the zone was written anyway


def test_dns_chain_splits_recovery():
    log = [{"window": [-5, 0], "t_ranked_s": 1.8, "t_reloaded_s": 1.81, "ok": True, "serial": 2,
            "shares": {"c1": {"tra": 0.9, "trb": 0.1}}},
           {"window": [0, 5], "t_ranked_s": 6.8, "t_reloaded_s": 6.81, "ok": True, "serial": 3,
            "shares": {"c1": {"tra": 0.9, "trb": 0.1}}},
           {"window": [5, 10], "t_ranked_s": 11.8, "t_reloaded_s": 11.81, "ok": True, "serial": 4,
            "shares": {"c1": {"tra": 0.1, "trb": 0.9}}}]
    answers = [(0.5, "198.18.1.1"), (9.5, "198.18.1.1"), (19.5, "198.18.2.1")]
    t = event_timing("c1", 7.0, 30.0, log, answers, recovered_s=12.6)
    assert t == {"window_end_s": 3.0, "ranked_s": 4.8, "zone_s": 4.81, "answer_s": 12.5,
                 "recovered_s": 12.6}
    assert stage_summary({"c1": t, "c2": {**t, "zone_s": None}})["clients"] == 1
    none = event_timing("c1", 7.0, 30.0, log[:2], answers, None)
    assert none["zone_s"] is None and none["answer_s"] == 12.5  # the first new answer after the event
