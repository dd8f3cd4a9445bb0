"""compare on two fixture reports (tests/data/report-{a,b}.json): in B the
London client's global route moved to New York (6 -> 45 ms)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from anycastlab.report.compare import compare
from anycastlab.report.schema import load_report
from anycastlab.errors import InputError

from conftest import DATA, ROOT


def test_compare_fixture_reports():
    res = compare(load_report(str(DATA / "report-a.json")), load_report(str(DATA / "report-b.json")))
    c1 = res["clients"]["c1"]
    assert c1["changed"] and c1["global"]["pop_a"] == "lon" and c1["global"]["pop_b"] == "nyc"
    assert c1["global"]["delta"] == 39
    assert not res["clients"]["c2"]["changed"]
    g = res["summary"]["global"]
    # medians over (c1, c2): A = (6 + 11) / 2, B = (45 + 11) / 2
    assert g["median_rtt_ms"]["a"] == 8.5 and g["median_rtt_ms"]["b"] == 28 and g["median_rtt_ms"]["delta"] == 19.5
    assert res["summary"]["optimal"]["median_rtt_ms"]["delta"] == 0


def test_compare_cli_table_and_json():
    args = [sys.executable, "-m", "anycastlab.cli", "compare", str(DATA / "report-a.json"), str(DATA)]
    res = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 2 and "no report.json" in res.stderr  # DATA is a folder without one
    args[-1] = str(DATA / "report-b.json")
    res = subprocess.run(args + ["--json"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0 and json.loads(res.stdout)["clients"]["c1"]["changed"]
    res = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env={"COLUMNS": "160"})
    assert res.returncode == 0 and "c1" in res.stdout and "+39.0" in res.stdout


def test_compare_rejects_a_non_report(tmp_path):
    bad = tmp_path / "report.json"
    bad.write_text('{"scenario": "x"}')
    with pytest.raises(InputError, match="not a valid anycastlab report"):
        load_report(str(tmp_path))
