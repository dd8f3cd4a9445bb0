"""Timeline maths on synthetic samples (no root): loss window, stability,
share movement, windowed steering, BGP log parsing, the report section."""
from __future__ import annotations

import json
from datetime import datetime

import pytest

from anycastlab.analysis import bgplog

from anycastlab.report import write as report
from anycastlab.report.schema import SCHEMA_VERSION, validate
from anycastlab.analysis import timeline as T
from anycastlab.model.settings import Steering
from anycastlab.analysis.runs import analyse_run

T0 = 1_800_000_000.0
I = 0.1  # probe interval


def g_rows(client, fn, start=-6.0, end=30.0):
    """G samples every 100 ms; fn(t) -> (rtt or None, pop)."""
    out, n = [], int(round((end - start) / I))
    for i in range(n):
        t = start + i * I
        rtt, pop = fn(round(t, 3))
        out.append({"t": T0 + t, "client": client, "target": "198.18.0.1", "scheme": "global",
                    "proto": "udp", "rtt_ms": rtt, "pop": pop})
    return out


def p_rows(client, k, fn, start=-6.0, end=30.0, offset=0.01):
    out, n = [], int(round((end - start) / I))
    for i in range(n):
        t = start + i * I + offset
        rtt, pop = fn(round(t - offset, 3))
        out.append({"t": T0 + t, "client": client, "target": f"198.18.{k}.1",
                    "scheme": f"provider:{k}", "proto": "udp", "rtt_ms": rtt, "pop": pop})
    return out


def cut_at_10(t):
    """Lost from 10.0 to 10.5 inclusive, then another PoP and 10 ms slower."""
    if t < 10:
        return 20.0, "nyc"
    if t <= 10.5:
        return None, None
    return 30.0, "lon"


def pts(rows):
    return [(r["t"] - T0, r["rtt_ms"], 0.0 if r["rtt_ms"] is not None else 1.0, r["pop"], None) for r in rows]


def test_loss_window_stability_and_pops():
    m = T.event_metrics(pts(g_rows("c1", cut_at_10)), 10.0, 30.0, -6.0)
    assert m["lost"] == 6                        # 10.0 .. 10.5
    assert m["first_lost_s"] == 0.0 and m["last_lost_s"] == 0.5 and m["loss_window_s"] == 0.5
    assert m["stable_s"] == 1.0 and m["stable_pop"] == "lon"   # the first clean 1 s bin
    assert m["before"] == {"pop": "nyc", "rtt_ms": 20.0, "loss": 0.0}
    assert m["after"]["pop"] == "lon" and m["after"]["rtt_ms"] == 30.0
    assert m["pop_changed"] and T.affected(m)


def test_untouched_client_is_stable_at_once_and_not_affected():
    m = T.event_metrics(pts(g_rows("c1", lambda t: (20.0, "nyc"))), 10.0, 30.0, -6.0)
    assert m["lost"] == 0 and m["loss_window_s"] == 0.0 and m["first_lost_s"] is None
    assert m["stable_s"] == 0.0 and not T.affected(m)


def test_one_rtt_blip_is_not_instability_but_a_lasting_shift_is():
    blip = T.event_metrics(pts(g_rows("c1", lambda t: (60.0 if t == 15.0 else 20.0, "nyc"))),
                           10.0, 30.0, -6.0)
    assert blip["stable_s"] == 0.0
    burst = T.event_metrics(pts(g_rows("c1", lambda t: (60.0 if 15.0 <= t < 16.0 else 20.0, "nyc"))),
                            10.0, 30.0, -6.0)
    assert burst["stable_s"] == 0.0  # one bin off: a burst of queueing
    shift = T.event_metrics(pts(g_rows("c1", lambda t: (60.0 if 15.0 <= t < 17.0 else 20.0, "nyc"))),
                            10.0, 30.0, -6.0)
    assert shift["stable_s"] == pytest.approx(7.0)


def noisy(base, pop, seed, loss=0.0):
    """A settled route seen through varying links: log-normal queueing (mean 2 ms,
    sd 2 ms) correlated over ~3 probes, and random loss."""
    import math
    import random

    rnd = random.Random(seed)
    state = {"x": 0.0}

    def fn(t):
        state["x"] = 0.7 * state["x"] + math.sqrt(1 - 0.49) * rnd.gauss(0, 1)
        if rnd.random() < loss:
            return None, None
        b = base(t) if callable(base) else base
        if b is None:
            return None, None
        return b + math.exp(math.log(2 / math.sqrt(2)) + math.sqrt(math.log(2)) * state["x"]), (
            pop(t) if callable(pop) else pop)
    return fn


@pytest.mark.parametrize("seed", range(5))
def test_noise_and_background_loss_are_not_an_event(seed):
    m = T.event_metrics(pts(g_rows("c1", noisy(20.0, "nyc", seed, loss=0.02))), 10.0, 30.0, -6.0)
    assert m["stable_s"] == 0.0 and m["loss_window_s"] == 0.0 and m["first_lost_s"] is None
    assert m["lost"] > 0 and not T.affected({**m, "lost": 0})


@pytest.mark.parametrize("seed", range(5))
def test_a_cut_is_found_through_the_noise(seed):
    base = lambda t: None if 10 <= t <= 10.5 else (20.0 if t < 10 else 30.0)  # noqa: E731
    pop = lambda t: "nyc" if t < 10 else "lon"  # noqa: E731
    m = T.event_metrics(pts(g_rows("c1", noisy(base, pop, seed, loss=0.02))), 10.0, 30.0, -6.0)
    assert m["stable_s"] == 1.0 and m["stable_pop"] == "lon"
    assert 0.0 <= m["first_lost_s"] <= 0.1 and 0.4 <= m["last_lost_s"] <= 1.0


def test_never_stable_and_never_answering():
    down = T.event_metrics(pts(g_rows("c1", lambda t: (None, None) if t >= 10 else (20.0, "nyc"))),
                           10.0, 30.0, -6.0)
    assert down["stable_s"] is None and down["after"]["rtt_ms"] is None
    assert down["lost"] == 190  # 10.0 .. 28.9: the last second is the guard before the end


def test_next_event_in_flight_is_left_to_it():
    # the next event at 20 s slows probes sent at 19.9 s: not this event's instability
    m = T.event_metrics(pts(g_rows("c1", lambda t: (80.0 if t >= 19.9 else 20.0, "nyc"))),
                        10.0, 20.0, -6.0)
    assert m["stable_s"] == 0.0


def steering_case():
    """Provider a (10 ms) is best until it dies at 10 s; b (20 ms) survives."""
    rows = p_rows("c1", "a", lambda t: (10.0, "nyc") if t < 10 else (None, None))
    rows += p_rows("c1", "b", lambda t: (20.0, "lon"), offset=0.03)
    return rows


def test_windows_shares_and_ipa_loss():
    per = T.split(steering_case(), T0)["c1"]
    st = Steering(cap=0.9, floor=0.02, bias=2, window_s=5)
    wins = T.window_shares(per, ["a", "b"], -5.0, 30.0, st, 5.0)
    assert T.shares_at(wins, 9.9) == {"a": 0.9, "b": 0.1}
    assert T.shares_at(wins, 15.0) == {"b": 1.0}       # a never answered in [10, 15)
    mv = T.share_move(wins, 10.0, 30.0)
    assert mv["shares_moved_s"] == 5.0 and mv["shares_after"] == {"b": 1.0}
    p = T.points(per, ["a", "b"], [], wins, I)["ipa"]
    m = T.event_metrics(p, 10.0, 30.0, -5.0)
    assert m["lost"] == pytest.approx(0.9 * 50)         # 90 % of 50 rounds until the window ends
    assert m["loss_window_s"] == pytest.approx(4.9, abs=0.02)
    assert m["stable_s"] == pytest.approx(5.0, abs=0.02) and m["stable_pop"] == "lon"
    before = [x for x in p if 5 <= x[0] < 10]
    assert all(x[1] == pytest.approx(0.9 * 10 + 0.1 * 20) for x in before)


def test_dns_steered_ipa_is_judged_per_provider_prefix():
    """A client whose DNS answers alternate between two providers at 10 and
    20 ms is stable once each prefix is: the mix is steering, not a route
    settling. Provider b's route moves at 10 s (lost until 10.5 s, then lon)."""
    rows = p_rows("c1", "a", lambda t: (10.0, "nyc"))
    rows += p_rows("c1", "b", lambda t: (20.0, "ash") if t < 10 else (None, None) if t <= 10.5
                   else (30.0, "lon"), offset=0.03)
    n = int(round(36.0 / I))
    for i in range(n):  # the DNS-steered probe: a on even rounds, b on odd ones
        t = round(-6.0 + i * I, 3)
        k = "a" if i % 2 == 0 else "b"
        src = next(r for r in rows if r["scheme"] == f"provider:{k}" and abs(r["t"] - T0 - t) < 0.05)
        rows.append({"t": T0 + t + 0.05, "client": "c1", "target": f"198.18.{k}.1", "scheme": "ipa",
                     "proto": "udp", "rtt_ms": src["rtt_ms"], "pop": src["pop"]})
    per = T.split(rows, T0)["c1"]
    assert {s[3] for s in per["ipa"]} == {"a", "b"}
    ipa = T.as_points(per["ipa"])
    routes = {k: T.as_points(per[f"provider:{k}"]) for k in ("a", "b")}
    m = T.event_metrics(ipa, 10.0, 30.0, -6.0, routes)
    assert m["stable_s"] == 1.0   # the first 1 s bin after b's loss


def test_a_window_without_answers_keeps_the_last_shares():
    rows = p_rows("c1", "a", lambda t: (10.0, "nyc") if t < 10 else (None, None))
    per = T.split(rows, T0)["c1"]
    wins = T.window_shares(per, ["a"], -5.0, 30.0, Steering(), 5.0)
    assert T.shares_at(wins, 25.0) == {"a": 1.0}


def test_bgp_log_lines():
    text = "\n".join([
        "2026-11-24 18:31:13.165 <TRACE> ebgp_cdn_nyc.ipv4 > removed [replaced] 198.18.0.0/24 0L 12G unicast",
        "2026-11-24 18:31:13.165 <TRACE> fib.ipv4 < replaced 198.18.0.0/24 0L 14G unicast",
        "2026-11-24 18:31:13.165 <TRACE> ebgp_trb_nyc.ipv4 < replaced 198.18.0.0/24 0L 14G unicast",
        "2026-11-24 18:31:13.300 <TRACE> ibgp_tra_lon.ipv4 > added 198.18.0.0/24 0L 12G unicast",
        "2026-11-24 18:31:13.900 <TRACE> fib.ipv4 < added 198.18.1.0/24 0L 14G unicast",
        "2026-11-24 18:31:14.000 <TRACE> fib.ipv4 < added 10.1.1.0/24 0L 14G unicast",
        "2026-11-24 18:31:14.000 <TRACE> ebgp_cdn_nyc: State changed to down",
    ])
    ch = bgplog.parse_log(text, "r1", {"198.18.0.0/24", "198.18.1.0/24"})
    assert [(c.kind, c.prefix) for c in ch] == [("update", "198.18.0.0/24"), ("best", "198.18.0.0/24"),
                                                ("update", "198.18.0.0/24"), ("best", "198.18.1.0/24")]
    t = datetime.strptime("2026-11-24 18:31:13.000", "%Y-%m-%d %H:%M:%S.%f").timestamp()
    s = bgplog.settle(ch, t, t + 10, {"198.18.0.0/24": "global", "198.18.1.0/24": "provider:tra"})
    assert s["global"] == {"settle_s": 0.165, "best_path_changes": 1, "routers_changed": 1, "updates": 2}
    assert s["provider:tra"]["settle_s"] == 0.9
    assert bgplog.service_prefixes({"global": "198.18.0.1"}) == {"198.18.0.0/24": "global"}


def test_report_section_from_synthetic_run(tiny, tmp_path):
    rows = g_rows("c1", cut_at_10)
    for c in ("c2", "c3"):
        rows += g_rows(c, lambda t: (5.0, "lon"))
    for c in ("c1", "c2", "c3"):
        rows += [dict(r, client=c) for r in steering_case()]
    for r in rows:  # provider names of tiny
        r["scheme"] = r["scheme"].replace("provider:a", "provider:tra").replace("provider:b", "provider:trb")
    extra = {"t0": T0, "warmup_s": 6.0,
             "events": [{"phase": "cut", "planned_s": 10.0, "t_s": 10.0, "applied_in_s": 0.01,
                         "label": "cut x", "kind": "cut"}],
             "bgp": [{"settle_s": 0.5, "best_path_changes": 3, "updates": 7, "prefixes": {}}]}
    bounds = [{"name": "before", "start_s": 0.0, "end_s": 10.0, "events": []},
              {"name": "cut", "start_s": 10.0, "end_s": 30.0, "events": ["cut x"]}]
    phases, tl = analyse_run(tiny, ["tra", "trb"], rows, Steering(window_s=5), I, extra, bounds, [])
    ev = tl["events"][0]
    assert ev["clients"]["c1"]["global"]["lost"] == 6
    assert ev["summary"]["global"]["affected_clients"] == 1
    assert ev["summary"]["ipa"]["shares_moved_s"]["median"] == 5.0
    assert tl["plot_clients"][0] == "c1"
    assert [p["name"] for p in phases] == ["before", "cut"]
    assert phases[0]["clients"]["c1"]["global"]["pop"] == "nyc"
    assert phases[1]["clients"]["c1"]["global"]["pop"] == "lon"
    data = {"schema_version": SCHEMA_VERSION, "scenario": "synthetic", "topology": "tiny",
            "topology_file": "topology.yaml", "link_backend": "userspace", "created": "now",
            "providers": ["tra", "trb"], "pops": ["nyc", "lon"], "steering": {"cap": 0.9},
            "schemes": ["global", "ipa", "oracle", "optimal", "floor"], "phases": phases, "timeline": tl}
    paths = report.write(tmp_path, data, tiny)
    for name in ("rtt-time", "loss", "shares", "map-before", "map-cut"):
        assert paths[name].stat().st_size > 0, name
    md = paths["md"].read_text()
    assert "| 1 | 10.00 | cut x | 0.500 | 3 | 7 | global | 1 | 1 | 6 / 6 (c1) | 0.5 / 0.5 (c1)" in md
    validate(json.loads(paths["json"].read_text()))


def test_without_random_loss_every_lost_probe_is_the_events():
    """Two probes lost after a cut: on links that drop nothing at random that is
    the event's loss window; where links do drop at random, two in a bin are not."""
    fn = lambda t: (None, None) if t in (10.0, 10.1) else (20.0, "nyc")  # noqa: E731
    clean = T.event_metrics(pts(g_rows("c1", fn)), 10.0, 30.0, -6.0, random_loss=False)
    assert clean["first_lost_s"] == 0.0 and clean["last_lost_s"] == pytest.approx(0.1)
    assert clean["stable_s"] == 1.0
    lossy_links = T.event_metrics(pts(g_rows("c1", fn)), 10.0, 30.0, -6.0, random_loss=True)
    assert lossy_links["first_lost_s"] is None and lossy_links["lost"] == 2
