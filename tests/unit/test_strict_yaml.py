"""Strict YAML: what PyYAML would accept silently or choke on is refused with
the file, the line and a fix (duplicate keys, infinite numbers, nesting,
alias bombs, size)."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from anycastlab.errors import InputError
from anycastlab.model import yamlsource
from anycastlab.model.scenario import load_scenario
from anycastlab.model.topofile import load_topology

from conftest import ROOT, TOPOLOGIES

TINY = (TOPOLOGIES / "tiny.yaml").read_text()


def refused(path, loader=load_topology) -> InputError:
    with pytest.raises(InputError) as info:
        loader(str(path))
    return info.value


def test_duplicate_key_names_both_lines(tmp_path):
    f = tmp_path / "dup.yaml"
    f.write_text(TINY.replace("lat: 40.7128", "lat: 40.7128, lat: 10.0", 1))
    err = refused(f)
    assert "key 'lat' appears twice" in str(err) and err.line is not None and err.fix


def test_duplicate_top_level_key_in_scenario(tmp_path):
    f = tmp_path / "twice.yaml"
    f.write_text("name: x\ntopology: tiny\ntimeline:\n  - {name: a, duration_s: 5}\n"
                 "timeline:\n  - {name: b, duration_s: 5}\n")
    err = refused(f, load_scenario)
    assert "'timeline' appears twice" in str(err) and err.line == 5


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", ".NaN"])
def test_non_finite_numbers_refused(tmp_path, value):
    f = tmp_path / "inf.yaml"
    f.write_text(re.sub(r"lat: [-0-9.]+", f"lat: {value}", TINY, count=1))
    err = refused(f)
    assert "not a finite number" in str(err) and err.key == "cities[0].lat"


def test_nan_event_time_refused(tmp_path):
    f = tmp_path / "nan.yaml"
    f.write_text("name: x\ntopology: tiny\ntimeline:\n  - {name: a, duration_s: 5, events: "
                 "[{kind: cut, at_s: .nan, between: [nyc, lon]}]}\n")
    err = refused(f, load_scenario)
    assert "not a finite number" in str(err) and err.line == 4


def test_deep_nesting_refused(tmp_path):
    f = tmp_path / "deep.yaml"
    f.write_text("name: x\ncities: " + "[" * 3000 + "]" * 3000 + "\n")
    assert "nested more than" in str(refused(f))


def test_alias_bomb_refused(tmp_path):
    lines = ["name: x", "topology: tiny", "a: &a [x, x, x, x, x, x, x, x, x]"]
    for new, old in zip("bcdefghi", "abcdefgh"):
        lines.append(f"{new}: &{new} [" + ", ".join([f"*{old}"] * 9) + "]")
    f = tmp_path / "bomb.yaml"
    f.write_text("\n".join(lines) + "\n")
    assert "expands to more than" in str(refused(f, load_scenario))


def test_aliases_in_reason_still_work(tmp_path):
    f = tmp_path / "alias.yaml"
    f.write_text("name: x\ntopology: tiny\nprobes: &p {count: 3}\ntimeline:\n"
                 "  - {name: a, duration_s: 5, events: [{kind: cut, at_s: 1, between: [nyc, lon]}]}\n")
    assert load_scenario(str(f)).name == "x"


def test_oversized_file_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(yamlsource, "MAX_BYTES", 1000)
    f = tmp_path / "big.yaml"
    f.write_text(TINY)
    assert "reads at most" in str(refused(f))


@pytest.mark.parametrize("body", [b"name: x\nname: y\n", b"name: x\nlat: .inf\n",
                                  b"a: " + b"[" * 3000 + b"]" * 3000 + b"\n",
                                  "name: caf\u00e9\n".encode("latin-1"), "name: x\n".encode("utf-16")])
def test_cli_check_exit_2_without_traceback(tmp_path, body):
    f = tmp_path / "bad.yaml"
    f.write_bytes(body)
    res = subprocess.run([sys.executable, "-m", "anycastlab.cli", "check", str(f)], capture_output=True,
                         text=True, cwd=ROOT, timeout=60)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr and "fix:" in res.stderr and "bad.yaml" in res.stderr


def test_check_parses_a_file_once(monkeypatch):
    """check sniffs the kind of a file, then loads it: one parse of each file."""
    import yaml as _yaml

    from anycastlab.model.scenario import is_scenario_file, load_scenario
    from conftest import ROOT

    parsed: list[str] = []
    orig = _yaml.SafeLoader.get_single_node

    def counting(self):  # type: ignore[no-untyped-def]
        parsed.append(str(getattr(self, "name", "?")))
        return orig(self)

    monkeypatch.setattr(_yaml.SafeLoader, "get_single_node", counting)
    path = str(ROOT / "scenarios" / "flap.yaml")
    assert is_scenario_file(path)
    load_scenario(path)
    assert len(parsed) == 2  # the scenario once, its topology once
