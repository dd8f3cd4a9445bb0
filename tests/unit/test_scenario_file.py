"""Scenario files: parsing and rejection, without root."""
from __future__ import annotations

import pytest

from anycastlab.model.scenario import ScenarioError, load_scenario

from conftest import ROOT

BASELINE = (ROOT / "scenarios" / "baseline.yaml").read_text()


def test_baseline_loads():
    scn = load_scenario("baseline")
    assert scn.topology.name == "world" and scn.probes.count == 10
    assert scn.steering.cap == 0.9 and scn.steering.floor == 0.0 and scn.steering.threshold == 0.1
    assert load_scenario("baseline", "tiny").topology.name == "tiny"


@pytest.mark.parametrize("change, fragment, key", [
    (("probes:", "probes:\n  burst: 3"), "unknown key 'burst'", "probes.burst"),
    (("topology: world", "topology: atlantis"), "topology 'atlantis' not found", "topology"),
    (("count: 10 ", "count: 0 "), "greater than or equal to 1", "probes.count"),
    (("cap: 0.9 ", "cap: 1.5 "), "less than or equal to 1", "steering.cap"),
    (("name: baseline", "name: base line"), "should match pattern", "name"),
    (("threshold: 0.1 ", "floor: 0.95\n  threshold: 0.1 "), "floor 0.95 is above cap 0.9", "steering"),
    (("threshold: 0.1 ", "threshold: 1.5 "), "less than or equal to 1", "steering.threshold"),
    (("concurrency: 4 ", "udp: false\n  concurrency: 4 "), "udp must stay true", "probes"),
    (("steering:", "schemes: [global, anycast]\nsteering:"), "Input should be", "schemes[1]"),
    (("steering:", "load: {ipa_fraction: 1.5}\nsteering:"), "less than or equal to 1", "load.ipa_fraction"),
])
def test_rejections_name_file_key_and_fix(tmp_path, change, fragment, key):
    p = tmp_path / "s.yaml"
    p.write_text(BASELINE.replace(*change))
    with pytest.raises(ScenarioError) as info:
        load_scenario(str(p))
    err = info.value
    assert fragment in str(err) and err.key == key and err.fix and err.file == str(p)
    assert err.line is not None


def test_load_is_on_unless_switched_off(tmp_path):
    assert load_scenario("baseline").load.ipa_fraction == 0.5
    assert load_scenario("baseline", load=False).load is None
    p = tmp_path / "s.yaml"
    p.write_text(BASELINE.replace("steering:", "load: false\nsteering:"))
    assert load_scenario(str(p)).load is None
    p.write_text(BASELINE.replace("steering:", "load: {ipa_fraction: 0.25}\nsteering:"))
    assert load_scenario(str(p)).load.ipa_fraction == 0.25
    p.write_text(BASELINE.replace("steering:", "load: {ipa_fraction: 0.25, enabled: false}\nsteering:"))
    assert load_scenario(str(p)).load is None
    allin = load_scenario("all-in")
    assert allin.steering.cap == 1.0 and allin.steering.floor == 0.0


def test_topology_option_takes_a_path_or_a_name(tmp_path):
    assert load_scenario("baseline", str(ROOT / "topologies" / "tiny.yaml")).topology.name == "tiny"
    with pytest.raises(ScenarioError) as info:
        load_scenario("baseline", "atlantis")
    assert info.value.key == "--topology"


def test_cli_steering_is_checked_like_the_file():
    from anycastlab.model.scenario import check_steering

    assert check_steering(0.8, 0.05, 1).cap == 0.8
    for bad in ((2, 0.02, 2), (0.9, -0.1, 2), (0.9, 0.02, -1), (0.3, 0.5, 2)):
        with pytest.raises(ScenarioError):
            check_steering(*bad)


def test_missing_scenario():
    with pytest.raises(Exception, match="not found"):
        load_scenario("no-such-scenario")


TIMELINE = BASELINE + """timeline:
  - {name: before, duration_s: 10}
  - name: during
    duration_s: 20
    events:
      - {at_s: 0, kind: cut, between: [lax, tyo]}
  - name: after
    duration_s: 10
    events:
      - {at_s: 0, kind: restore, between: [lax, tyo]}
"""


def test_timeline_parses(tmp_path):
    p = tmp_path / "t.yaml"
    p.write_text(TIMELINE)
    scn = load_scenario(str(p))
    assert [ph.name for ph in scn.timeline] == ["before", "during", "after"]
    cut = scn.timeline[1].events[0]
    assert cut.kind == "cut" and len(cut.links) >= 1


@pytest.mark.parametrize("change, fragment, key", [
    (("kind: cut", "kind: meteor"), "unknown event kind 'meteor'", "timeline[1].events[0].kind"),
    (("between: [lax, tyo]}\n  - name: after", "between: [lax, atl]}\n  - name: after"),
     "unknown city 'atl'", "timeline[1].events[0].between"),
    (("{at_s: 0, kind: restore", "{at_s: 12, kind: restore"), "outside phase 'after'",
     "timeline[2].events[0].at_s"),
    (("name: after", "name: before"), "duplicate phase name", "timeline[2].name"),
])
def test_timeline_rejections(tmp_path, change, fragment, key):
    p = tmp_path / "t.yaml"
    p.write_text(TIMELINE.replace(*change, 1))
    with pytest.raises(ScenarioError) as info:
        load_scenario(str(p))
    assert fragment in str(info.value) and info.value.key == key and info.value.line


def test_timeline_defaults_and_plot_clients(tmp_path):
    p = tmp_path / "t.yaml"
    text = TIMELINE.replace("  interval_s: 0.2\n", "")
    assert text != TIMELINE
    p.write_text(text)
    scn = load_scenario(str(p))
    assert scn.probes.interval_s == 0.1  # through a timeline: 100 ms per client per target
    assert scn.steering.window_s == 5.0
    assert scn.duration_s == sum(ph.duration_s for ph in scn.timeline)
    p.write_text(TIMELINE + "plot_clients: [cnyc1, nobody]\n")
    with pytest.raises(ScenarioError, match="unknown client 'nobody'") as info:
        load_scenario(str(p))
    assert info.value.key == "plot_clients[1]"
