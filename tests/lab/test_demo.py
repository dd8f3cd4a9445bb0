"""``anycastlab demo tiny --auto``: the lesson runs end to end on a real lab,
shows what it measured (c2's detour through New York and why, the answers
DNS gave, the clients the cut moved) and leaves nothing behind; Ctrl-C in
the middle of a step tears the lab down too."""
from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from anycastlab.lab.record import list_runs
from conftest import ROOT
from labutil import leftovers

pytestmark = pytest.mark.lab


def test_demo_runs_every_step_and_leaves_nothing_behind(tmp_path):
    res = subprocess.run([sys.executable, "-m", "anycastlab.cli", "demo", "tiny", "--auto",
                          "--out", str(tmp_path / "out"), "--runs-dir", str(tmp_path / "runs")],
                         cwd=ROOT, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stdout + res.stderr
    text = " ".join(res.stdout.split())  # rich wraps lines
    assert "8/8 The report" in text
    assert "c2 in lon: G answered by nyc" in text and "≠ nearest PoP is lon" in text
    assert "why c2 (c2-lon) reaches G" in text and "→ answered by PoP nyc" in text
    assert "20 answers:" in text and "dig +nsid @198.19.0.1 ipa.cdn.lab" in text
    assert "G was nyc → now lon" in text          # the cut moved c2 to London
    assert "BGP converged again" in text
    assert (tmp_path / "out" / "report.md").exists() and (tmp_path / "out" / "report.html").exists()
    (rec,) = list_runs(tmp_path / "runs")
    assert rec.data["status"] in ("stopped", "cleaned")
    assert leftovers(rec) == []


def test_ctrl_c_during_a_step_tears_the_lab_down(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "anycastlab.cli", "demo", "tiny", "--auto",
                             "--out", str(tmp_path / "out"), "--runs-dir", str(tmp_path / "runs")],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            stdin=subprocess.DEVNULL)
    lines = []
    for line in proc.stdout:  # type: ignore[union-attr]
        lines.append(line)
        if "Cut the cable" in line:  # the stream is watching: interrupt mid-step
            break
    else:
        proc.wait()
        raise AssertionError("the demo never reached the cut:\n" + "".join(lines))
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, "".join(lines) + rest
    (rec,) = list_runs(tmp_path / "runs")
    assert leftovers(rec) == []
