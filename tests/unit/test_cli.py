"""The command line: exit codes, messages, no tracebacks."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from anycastlab import cli

from conftest import ROOT, TOPOLOGIES


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "anycastlab.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, env={**os.environ, **(env or {})}, timeout=120)


def test_check_prints_counts_and_latency_table():
    res = run("check", "tiny")
    assert res.returncode == 0, res.stderr
    assert "9 routers" in res.stdout and "41.877" in res.stdout


def test_check_json():
    res = run("check", str(TOPOLOGIES / "world.yaml"), "--json")
    data = json.loads(res.stdout)
    assert data["counts"]["pops"] >= 6 and len(data["links"]) == data["counts"]["links"]


def test_bad_input_exit_2_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((TOPOLOGIES / "tiny.yaml").read_text().replace("asn: 65002", "asn: 65001"))
    res = run("check", str(bad))
    assert res.returncode == 2
    assert "duplicate ASN 65001" in res.stderr and "fix:" in res.stderr
    assert "Traceback" not in res.stderr


def test_missing_file_exit_2():
    res = run("check", "no-such-topology")
    assert res.returncode == 2 and "not found" in res.stderr


def test_render_writes_configs(tmp_path):
    res = run("render", "tiny", "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "tra-lon" / "bird.conf").is_file()
    assert json.loads((tmp_path / "addresses.json").read_text())["h-c1"]["kind"] == "host"


def test_up_without_root(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    code = cli.main(["up", "tiny", "--runs-dir", str(tmp_path)])
    assert code == 2
    assert "needs root" in capsys.readouterr().err and not list(tmp_path.iterdir())


def test_bird_missing_render(monkeypatch, tmp_path, capsys):
    from anycastlab.config import bird

    monkeypatch.setattr(bird.shutil, "which", lambda name: None)
    monkeypatch.setattr(bird, "Path", lambda p: tmp_path / "absent")
    code = cli.main(["render", "tiny", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "'bird' binary" in err and "make setup" in err


def test_bird_missing_lab(monkeypatch, tmp_path, tiny):
    from anycastlab.config import bird
    from anycastlab.lab import lab

    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(bird.shutil, "which", lambda name: None)
    monkeypatch.setattr(bird, "Path", lambda p: tmp_path / "absent")
    with pytest.raises(Exception) as info:
        lab.Lab(tiny, runs_dir=tmp_path / "runs").start()
    assert "bird" in str(info.value) and "make setup" in str(info.value)
    assert not (tmp_path / "runs").exists(), "nothing may be left behind"


def test_exec_without_lab(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    code = cli.main(["exec", "--runs-dir", str(tmp_path), "tra-lon", "--", "true"])
    assert code == 2 and "no running lab" in capsys.readouterr().err


def test_check_a_scenario_prints_its_timeline():
    res = run("check", "cable-cut")
    assert res.returncode == 0, res.stderr
    assert "valid scenario on world" in res.stdout and "cut sin–hkg (2 links)" in res.stdout
    data = json.loads(run("check", "cable-cut", "--json").stdout)
    assert data["duration_s"] == 60 and [p["name"] for p in data["phases"]] == ["before", "cut", "restored"]


def test_check_a_broken_scenario_names_the_key(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text((ROOT / "scenarios" / "cable-cut.yaml").read_text().replace("between: [sin, hkg]",
                                                                            "between: [sin, atlantis]", 1))
    res = run("check", str(p))
    assert res.returncode == 2 and "unknown city 'atlantis'" in res.stderr
    assert "timeline[1].events[0].between" in res.stderr and "Traceback" not in res.stderr


def test_index_without_reports_is_an_input_error(tmp_path):
    res = run("index", str(tmp_path))
    assert res.returncode == 2 and "no reports found" in res.stderr


def test_paths_are_printed_as_they_are_not_as_markup(tmp_path):
    folder = tmp_path / "a["
    folder.mkdir()
    topo = folder / "tiny[v2].yaml"
    topo.write_text((TOPOLOGIES / "tiny.yaml").read_text())
    res = run("check", str(topo))
    assert res.returncode == 0, res.stderr
    assert f"({topo}): valid" in res.stdout.replace("\n", "")
    res = run("render", str(topo), "--out", str(folder / "cfg[1]"))
    assert res.returncode == 0, res.stderr
    assert str(folder / "cfg[1]") in res.stdout.replace("\n", "")


def test_a_file_of_another_kind_is_named_for_what_it_is(tmp_path):
    """A misspelt key does not turn a scenario into a topology; a report.json or a
    scenario given where a topology belongs is called what it is."""
    misspelt = tmp_path / "cut.yaml"
    misspelt.write_text((ROOT / "scenarios" / "cable-cut.yaml").read_text().replace("topology: world",
                                                                                     "topolgy: world"))
    res = run("check", str(misspelt))
    assert res.returncode == 2 and "did you mean 'topology'" in res.stderr and "cities" not in res.stderr
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"schema_version": 3, "scenario": "x", "phases": [], "providers": []}))
    res = run("check", str(report))
    assert res.returncode == 2 and "this is a run's report.json, not a topology" in res.stderr
    res = run("render", str(ROOT / "scenarios" / "cable-cut.yaml"), "--out", str(tmp_path / "r"))
    assert res.returncode == 2 and "this is a scenario, not a topology" in res.stderr
    assert "topology: world" in res.stderr and not (tmp_path / "r").exists()
    assert "Traceback" not in res.stderr


def test_index_leaves_out_broken_reports_and_says_so(tmp_path):
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "report.json").write_text('{"schema_version": 3, "scen')
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "report.json").write_text('{"foo": 1}')
    res = run("index", str(tmp_path))
    assert res.returncode == 2 and "no reports found (2 unreadable" in res.stderr
    assert "Traceback" not in res.stderr


def test_status_and_clean_with_a_broken_lab_json(tmp_path):
    folder = tmp_path / "20261130-000000-tiny-dead"
    folder.mkdir()
    (folder / "lab.json").write_text('{"status": "up"}')
    res = run("status", "--runs-dir", str(tmp_path))
    assert res.returncode == 0 and "unreadable record" in res.stdout and "Traceback" not in res.stderr
    res = run("clean", "--runs-dir", str(tmp_path))
    assert res.returncode == 0 and "left alone" in res.stdout and "Traceback" not in res.stderr
    assert (folder / "lab.json").exists()


def test_report_on_a_run_without_samples_changes_nothing(tmp_path):
    from conftest import DATA

    (tmp_path / "report.json").write_text((DATA / "report-a.json").read_text())
    (tmp_path / "topology.yaml").write_text((TOPOLOGIES / "tiny.yaml").read_text())
    (tmp_path / "samples.csv").write_text("t,client,target,scheme,proto,rtt_ms,lost,pop\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    res = run("report", str(tmp_path), "--cap", "0.8")
    assert res.returncode == 2 and "holds no samples" in res.stderr and "Traceback" not in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no report.original.json left behind


def test_a_topology_name_given_as_a_scenario_says_so():
    res = run("scenario", "tiny")
    assert res.returncode == 2 and "'tiny' is a topology, not a scenario" in res.stderr
    assert "--topology tiny" in res.stderr and "Traceback" not in res.stderr


def test_names_work_from_any_folder(tmp_path):
    """'check cable-cut' (a scenario by name) and 'check tiny' from outside the project."""
    for name, said in (("cable-cut", "valid scenario on world"), ("tiny", "valid")):
        res = subprocess.run([sys.executable, "-m", "anycastlab.cli", "check", name], capture_output=True,
                             text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
        assert res.returncode == 0 and said in res.stdout, res.stderr


def test_demo_refuses_a_topology_it_has_no_lesson_for_before_building_anything(tmp_path):
    other = tmp_path / "mine.yaml"
    other.write_text((TOPOLOGIES / "tiny.yaml").read_text().replace("name: tiny", "name: mine"))
    res = run("demo", str(other), "--runs-dir", str(tmp_path / "runs"), "--out", str(tmp_path / "out"))
    assert res.returncode == 2, res.stderr
    assert "no demo for the topology 'mine'" in res.stderr and "tiny, world" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "runs").exists() and not (tmp_path / "out").exists()
