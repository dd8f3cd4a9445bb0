"""Scenario files: parsing and rejection, without root."""
from __future__ import annotations

import pytest

from anycastlab.scenario import ScenarioError, load_scenario

from conftest import ROOT

BASELINE = (ROOT / "scenarios" / "baseline.yaml").read_text()


def test_baseline_loads():
    scn = load_scenario("baseline")
    assert scn.topology.name == "world" and scn.probes.count == 10
    assert scn.steering.cap == 0.9 and scn.steering.floor == 0.02
    assert load_scenario("baseline", "tiny").topology.name == "tiny"


@pytest.mark.parametrize("change, fragment, key", [
    (("probes:", "probes:\n  burst: 3"), "unknown key 'burst'", "probes.burst"),
    (("topology: world", "topology: atlantis"), "topology 'atlantis' not found", "topology"),
    (("count: 10 ", "count: 0 "), "greater than or equal to 1", "probes.count"),
    (("cap: 0.9 ", "cap: 1.5 "), "less than or equal to 1", "steering.cap"),
    (("name: baseline", "name: base line"), "should match pattern", "name"),
])
def test_rejections_name_file_key_and_fix(tmp_path, change, fragment, key):
    p = tmp_path / "s.yaml"
    p.write_text(BASELINE.replace(*change))
    with pytest.raises(ScenarioError) as info:
        load_scenario(str(p))
    err = info.value
    assert fragment in str(err) and err.key == key and err.fix and err.file == str(p)
    assert err.line is not None


def test_missing_scenario():
    with pytest.raises(Exception, match="not found"):
        load_scenario("no-such-scenario")
