"""The README's make targets that need no root, run as a user would type
them: from the project's folder, relative paths, no terminal, no COLUMNS.

They run in a scratch folder that links the project's pieces (its
Makefile, scripts, package, topologies and .venv), so what they write
(build/) lands there and not in the checkout. `make render` once failed
on every machine: its relative --out reached `bird -p` from another
folder."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINKED = ("Makefile", "scripts", "anycastlab", "topologies", "scenarios", "pyproject.toml", ".venv",
          "README.md")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    if not (ROOT / ".venv" / "bin" / "anycastlab").exists():
        pytest.skip("needs 'make setup' first (.venv)")
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    d = tmp_path_factory.mktemp("checkout")
    for name in LINKED:
        (d / name).symlink_to(ROOT / name)
    return d


def make(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    return subprocess.run(["make", "--no-print-directory", *args], cwd=project, env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600)


def test_make_help_lists_the_targets(project: Path) -> None:
    res = make(project, "help")
    assert res.returncode == 0, res.stderr
    for target in ("scenario", "test", "test-unit", "test-stress", "check", "render", "bench", "clean"):
        assert f"make {target}" in res.stdout, target


@pytest.mark.parametrize("topo", ["tiny", "world"])
def test_make_check(project: Path, topo: str) -> None:
    res = make(project, "check", f"TOPO={topo}")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "valid" in res.stdout and "Traceback" not in res.stderr


@pytest.mark.parametrize("topo", ["tiny", "world"])
def test_make_render_writes_into_build(project: Path, topo: str) -> None:
    res = make(project, "render", f"TOPO={topo}")
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"into build/{topo} (each accepted by 'bird -p')" in res.stdout
    confs = list((project / "build" / topo).glob("*/bird.conf"))
    assert confs and (project / "build" / topo / "addresses.json").is_file()


def test_render_with_a_relative_out_from_any_folder(project: Path, tmp_path: Path) -> None:
    cli = str(project / ".venv" / "bin" / "anycastlab")
    res = subprocess.run([cli, "render", "tiny", "--out", "rt"], cwd=tmp_path, capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert (tmp_path / "rt" / "cdn-nyc" / "bird.conf").is_file()
