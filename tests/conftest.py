"""Shared fixtures and the test tiers: tests/unit (no root, no daemon),
tests/golden (rendered configs against golden files and the daemons' own
checkers), tests/lab (marker ``lab``: root, real namespaces and daemons;
skipped without root)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOPOLOGIES = ROOT / "topologies"
DATA = Path(__file__).resolve().parent / "data"


LAB_TIER = Path(__file__).resolve().parent / "lab"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tiers: everything under tests/lab/ is a lab test (root, real namespaces
    and daemons); tests/unit/ and tests/golden/ start no daemon."""
    for item in items:
        if LAB_TIER in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.lab)
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="lab test: needs root (run 'sudo make test')")
    for item in items:
        if "lab" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny():
    from anycastlab.model.topofile import load_topology

    return load_topology(TOPOLOGIES / "tiny.yaml")


@pytest.fixture(scope="session")
def world():
    from anycastlab.model.topofile import load_topology

    return load_topology(TOPOLOGIES / "world.yaml")


@pytest.fixture
def write_topo(tmp_path: Path):
    """Write a topology text to a file and return its path."""

    def _write(text: str, name: str = "topo.yaml") -> Path:
        p = tmp_path / name
        p.write_text(text)
        return p

    return _write


@pytest.fixture(scope="module")
def lab(tiny, tmp_path_factory):
    """A running tiny.yaml lab, one per test module (lab tests only)."""
    from anycastlab.lab.lab import Lab

    lab = Lab(tiny, runs_dir=tmp_path_factory.mktemp("runs"))
    lab.start()
    yield lab
    lab.stop()


@pytest.fixture(scope="session")
def bird_available() -> bool:
    return shutil.which("bird") is not None


@pytest.fixture
def plan(tiny):
    """tiny's address plan."""
    from anycastlab.model.addressing import plan_addresses

    return plan_addresses(tiny)
