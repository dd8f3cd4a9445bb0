"""The world-city table behind ``anycastlab generate``, the geometry the
generator needs (distances, backbones as minimum spanning trees, spread
picks), its seeded draws and the networks' names.

The table (``data/cities.csv``, 218 cities) was written by hand: real major
cities with their coordinates, metro population in millions (the demand
proxy), region (where a regional carrier stays), landmass (a link between
two landmasses is a submarine cable) and whether the city is an
interconnection hub (where tier-1s and CDN PoPs usually are).
"""
from __future__ import annotations

import bisect
import csv
import functools
import math
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .topology import ID_CITY, great_circle_km

DATA = Path(__file__).resolve().parent / "data" / "cities.csv"
REGIONS = {"na": "North America", "sa": "South America", "eu": "Europe", "af": "Africa",
           "me": "Middle East", "as": "Asia", "oc": "Oceania"}
# every tier-1 is in the first of these (by its size, the first third of its
# cities comes from here, in this order): the global meeting points, so any
# two tier-1s share cities to peer in
CORE = ("ash", "lon", "sin", "fra", "lax", "tyo", "nyc", "ams", "hkg", "sjc", "par", "mia")
# names of the generated networks: a tier-1 each; "<home city> <word>" for the others
T1_NAMES = ("Atlas Global", "Meridian Telecom", "Polaris Networks", "Zenith Carrier", "Aurora Backbone",
            "Orion Transit", "Vega Communications", "Helios Fibre", "Titan Crossing", "Nimbus Global",
            "Equator Networks", "Boreal Telecom", "Cobalt Backbone", "Summit Global", "Pioneer Transit",
            "Horizon Carrier")
REG_WORDS = ("Fibre", "Transit", "Carrier", "Networks", "Telecom", "Backbone")
CLIENT_WORDS = ("Cable", "Broadband", "Fibre", "Mobile", "University", "Hosting", "Enterprise", "Telecom")


@dataclass(frozen=True)
class CityRow:
    id: str
    name: str
    country: str
    region: str
    land: str
    hub: bool
    lat: float
    lon: float
    population_m: float
    lat_text: str  # as written in the table, so the output repeats it byte for byte
    lon_text: str
    pop_text: str


@functools.lru_cache(maxsize=1)
def table() -> dict[str, CityRow]:
    """Every city of the table by id, in table order."""
    rows: dict[str, CityRow] = {}
    with DATA.open(encoding="utf-8", newline="") as f:
        for rec in csv.DictReader(line for line in f if not line.startswith("#")):
            row = CityRow(rec["id"], rec["name"], rec["country"], rec["region"], rec["land"],
                          rec["hub"] == "1", float(rec["lat"]), float(rec["lon"]),
                          float(rec["population_m"]), rec["lat"], rec["lon"], rec["population_m"])
            assert re.match(ID_CITY, row.id) and row.id not in rows, row.id
            assert row.region in REGIONS and 0 < row.population_m <= 100, row.id
            rows[row.id] = row
    assert all(c in rows and rows[c].hub for c in CORE)
    return rows


def km(a: CityRow, b: CityRow) -> float:
    return great_circle_km(a.lat, a.lon, b.lat, b.lon)


def submarine(a: CityRow, b: CityRow) -> bool:
    """A link between two landmasses crosses the sea."""
    return a.land != b.land


def backbone(cities: list[CityRow], extra: int) -> list[tuple[str, str]]:
    """An AS's own links: the minimum spanning tree of its cities by
    great-circle distance (Prim's, from the first city), plus up to ``extra``
    of the shortest other pairs for redundancy. Pairs in a stable order."""
    if len(cities) < 2:
        return []
    n = len(cities)
    d = [[km(a, b) for b in cities] for a in cities]
    inside, best, via = [True] + [False] * (n - 1), d[0][:], [0] * n
    edges: list[tuple[int, int]] = []
    for _ in range(n - 1):
        j = min((k for k in range(n) if not inside[k]), key=lambda k: (best[k], k))
        inside[j] = True
        edges.append((via[j], j))
        for k in range(n):
            if not inside[k] and d[j][k] < best[k]:
                best[k], via[k] = d[j][k], j
    have = {frozenset(e) for e in edges}
    others = sorted((d[i][j], i, j) for i in range(n) for j in range(i + 1, n)
                    if frozenset((i, j)) not in have)
    edges += [(i, j) for _, i, j in others[:extra]]
    return [(cities[i].id, cities[j].id) for i, j in edges]


def spread(cities: list[CityRow], k: int, weight: dict[str, float], scale_km: float,
           before: list[CityRow] = []) -> list[CityRow]:  # noqa: B006 (read only)
    """``k`` cities, each the one with the largest weight x min(1, distance to
    the nearest one already picked, or in ``before``, / scale_km): big places
    first, but not all in one corner of the world."""
    picked: list[CityRow] = []
    near = {c.id: min([scale_km] + [km(c, b) for b in before]) for c in cities}
    left = list(cities)
    while left and len(picked) < k:
        best = max(left, key=lambda c: (weight[c.id] * min(1.0, near[c.id] / scale_km), c.id))
        picked.append(best)
        left.remove(best)
        for c in left:
            near[c.id] = min(near[c.id], km(c, best))
    return picked


def nearest(home: CityRow, ids: list[str], within: Optional[str] = None) -> Optional[str]:
    """The city of ``ids`` nearest to ``home`` (in region ``within`` if given), or None."""
    tab = table()
    pool = [c for c in ids if within is None or tab[c].region == within]
    return min(pool, key=lambda c: (km(home, tab[c]), c)) if pool else None


# -- seeded draws: random.random() only, so a seed gives the same draws on any Python 3
def wsample(r: random.Random, items: list, weights: list[float], k: int) -> list:
    """``k`` distinct items, each drawn with probability proportional to its weight."""
    items, weights, out = list(items), list(weights), []
    while items and len(out) < k:
        x, acc = r.random() * sum(weights), 0.0
        for i, w in enumerate(weights):
            acc += w
            if x < acc or i == len(items) - 1:
                out.append(items.pop(i))
                weights.pop(i)
                break
    return out


def draw(r: random.Random, probs: tuple[float, ...]) -> int:
    """1 with probability probs[0], 2 with probs[1], ..."""
    x = r.random()
    for i, p in enumerate(probs):
        x -= p
        if x < 0:
            return i + 1
    return len(probs)


def between(r: random.Random, lo: int, hi: int) -> int:
    """A whole number from lo to hi, each as likely."""
    return min(hi, lo + int(r.random() * (hi - lo + 1)))


def by_population(r: random.Random, cities: list[CityRow], power: float, k: int) -> list[str]:
    """``k`` draws (with repetition) of cities, each by population^power."""
    cum, acc = [], 0.0
    for c in cities:
        acc += c.population_m ** power
        cum.append(acc)
    return [cities[min(bisect.bisect(cum, r.random() * acc), len(cities) - 1)].id for _ in range(k)]


def port_size(gbps: float) -> float:
    """The smallest common port size that carries ``gbps``: 10, 20, 40, 100, then hundreds."""
    size = next((s for s in (10, 20, 40, 100) if s >= gbps), 100 * math.ceil(gbps / 100))
    return float(min(size, 100000))


def pop_load(pops: list[str], demand: list[tuple[str, float]]) -> dict[str, float]:
    """The demand each PoP city serves when every (city, Gbit/s) goes to its nearest PoP."""
    load = dict.fromkeys(pops, 0.0)
    serves: dict[str, str] = {}
    for city, gbps in demand:
        if city not in serves:
            serves[city] = nearest(table()[city], pops) or pops[0]
        load[serves[city]] += gbps
    return load
