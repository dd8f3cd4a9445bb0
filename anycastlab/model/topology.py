"""The topology model: cities, ASes, routers, links, business relationships,
the latency model and valley-free reachability.

A topology is pure data. ``load_topology`` reads a file through
``topofile.py``, which validates its shape and its meaning and names the
file, line, key path and a fix for every error.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from .load import LoadSettings
from .variability import DEFAULTS as VARIABILITY_DEFAULTS
from .variability import Variability

EARTH_RADIUS_KM = 6371.0
FIBRE_KM_PER_MS = 200.0  # light in fibre: about 2/3 of c
MAX_NODE_NAME = 11  # Linux interface names are 15 chars: "<node>-e<N>" must fit

ID_AS = r"^[a-z][a-z0-9]{0,5}$"
ID_CITY = r"^[a-z][a-z0-9]{1,3}$"
TOPO_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"  # goes into run folder names
DISPLAY_NAME = r'^[^"\\\x00-\x1f]{1,80}$'  # printed into daemon configs: no quotes, no newlines
RESERVED_AS_IDS = {"h", "e"}  # "h-<as>" and "e-<city>" name hosts; routers must not clash
TOPO_FIXES = {
    "string_pattern_mismatch": "ids are short lowercase names (AS ids 1-6 chars [a-z][a-z0-9]*, "
                               "city ids 2-4 chars); the topology name uses letters, digits, "
                               "'_', '.', '-'; names have no quotes or line breaks",
}

Role = Literal["cdn", "transit", "client"]
LinkClass = Literal["lan", "access", "interconnect", "long_haul", "submarine"]
Rel = Literal["customer", "peer", "provider"]  # what the *neighbour* is to us


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Settings(StrictModel):
    """Latency model knobs; defaults are documented in docs/topology.md."""

    path_inflation: float = Field(1.5, ge=1.0, le=5.0)
    per_hop_ms: float = Field(0.1, ge=0.0, le=100.0)
    intra_city_ms: float = Field(0.5, ge=0.0, le=100.0)
    lan_ms: float = Field(0.1, ge=0.0, le=100.0)
    # per link class; absent: no variability unless a link sets its own
    variability: Optional[dict[LinkClass, Variability]] = None
    # demand, capacity and the queueing curve (model/load.py, docs/topology.md)
    load: LoadSettings = LoadSettings()

    def class_variability(self, cls: str) -> Variability:
        """A class's variability: the documented default with this file's fields
        over it, when the file has a ``variability`` section; else none."""
        if self.variability is None:
            return Variability()
        return VARIABILITY_DEFAULTS[cls].merged(self.variability.get(cls))  # type: ignore[call-overload]


@dataclass(frozen=True)
class City:
    id: str
    name: str
    lat: float
    lon: float
    population_m: Optional[float] = None  # metro population, millions: the demand proxy


@dataclass(frozen=True)
class AS:
    id: str
    asn: int
    name: str
    role: str
    cities: tuple[str, ...]
    index: int  # 1-based position in the file; drives the address plan
    demand_gbps: float = 0.0  # clients: busy-hour demand on the CDN (model/load.py)
    demand_source: str = ""   # "file", "population" or "default"


@dataclass(frozen=True)
class Router:
    name: str
    asid: str
    city: str
    index: int  # position among all routers, file order


@dataclass(frozen=True)
class Link:
    a: str
    b: str
    latency_ms: float  # one way, each direction
    index: int
    overridden: bool = False
    cls: str = "long_haul"  # link class: decides its default variability
    variability: Variability = Variability()  # in each direction, independently
    capacity_gbps: float = 100.0  # in each direction

    @property
    def intra_as(self) -> bool:
        return self.a.split("-")[0] == self.b.split("-")[0]


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance on a sphere of radius 6371 km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass
class Topology:
    """A validated topology: the single source every later layer reads."""

    name: str
    description: str
    settings: Settings
    cities: dict[str, City]
    ases: dict[str, AS]
    routers: dict[str, Router]
    links: list[Link]
    rels: dict[tuple[str, str], Rel]  # (us, neighbour) -> what neighbour is
    path: Optional[Path] = None
    _adj: dict[str, list[Link]] = field(default_factory=dict, repr=False)
    _rel_index: Optional[tuple[int, dict[str, list[tuple[str, Rel]]]]] = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for r in self.routers:
            self._adj[r] = []
        for link in self.links:
            self._adj[link.a].append(link)
            self._adj[link.b].append(link)

    # -- queries -----------------------------------------------------------
    @property
    def cdn(self) -> AS:
        return next(a for a in self.ases.values() if a.role == "cdn")

    def routers_of(self, asid: str) -> list[Router]:
        return [r for r in self.routers.values() if r.asid == asid]

    def links_of(self, router: str) -> list[Link]:
        return self._adj[router]

    def relation(self, us: str, them: str) -> Rel:
        return self.rels[(us, them)]

    def neighbours(self, asid: str) -> list[tuple[str, Rel]]:
        """(neighbour, what it is to ``asid``) in file order; an index built once
        (and again if ``rels`` changed size), so queries stay linear on a
        topology of thousands of ASes."""
        if self._rel_index is None or self._rel_index[0] != len(self.rels):
            idx: dict[str, list[tuple[str, Rel]]] = {}
            for (u, t), r in self.rels.items():
                idx.setdefault(u, []).append((t, r))
            self._rel_index = (len(self.rels), idx)
        return self._rel_index[1].get(asid, [])

    def providers_of(self, asid: str) -> list[str]:
        return [t for t, r in self.neighbours(asid) if r == "provider"]

    def clients(self) -> list[AS]:
        return [a for a in self.ases.values() if a.role == "client"]

    def transits(self) -> list[AS]:
        return [a for a in self.ases.values() if a.role == "transit"]

    def ibgp_groups(self, asid: str) -> list[list[str]]:
        """Routers of an AS grouped by intra-AS connectivity (iBGP meshes)."""
        members = {r.name for r in self.routers_of(asid)}
        seen: set[str] = set()
        groups = []
        for r in sorted(members, key=lambda n: self.routers[n].index):
            if r in seen:
                continue
            comp, todo = [], [r]
            seen.add(r)
            while todo:
                cur = todo.pop()
                comp.append(cur)
                for link in self._adj[cur]:
                    other = link.b if link.a == cur else link.a
                    if other in members and other not in seen:
                        seen.add(other)
                        todo.append(other)
            groups.append(sorted(comp, key=lambda n: self.routers[n].index))
        return groups

    def distance_km(self, city_a: str, city_b: str) -> float:
        a, b = self.cities[city_a], self.cities[city_b]
        return great_circle_km(a.lat, a.lon, b.lat, b.lon)

    def valley_free_reach(self, src: str) -> set[str]:
        """ASes whose prefixes ``src`` can reach under Gao–Rexford export.

        A path climbs customer→provider links, crosses at most one peer link,
        then descends provider→customer links; that is exactly what
        valley-free export lets a route travel in reverse.
        """
        # state 0: still climbing; 1: crossed a peer or started descending
        start = (src, 0)
        seen = {start}
        queue = deque([start])
        while queue:
            asid, state = queue.popleft()
            for t, rel in self.neighbours(asid):
                if rel == "provider" and state == 0:
                    nxt = (t, 0)
                elif rel == "peer" and state == 0:
                    nxt = (t, 1)
                elif rel == "customer":
                    nxt = (t, 1)
                else:
                    continue
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        return {a for a, _ in seen} - {src}


def link_latency(settings: Settings, ca: City, cb: City) -> float:
    """One-way latency of a link between two cities, in ms.

    Same city: a fixed metro latency. Otherwise great-circle distance times
    the path-inflation factor (fibre never runs straight) at 200 km/ms, plus
    a fixed per-hop cost for the equipment at each end.
    """
    if ca.id == cb.id:
        return round(settings.intra_city_ms, 3)
    km = great_circle_km(ca.lat, ca.lon, cb.lat, cb.lon)
    return round(km * settings.path_inflation / FIBRE_KM_PER_MS + settings.per_hop_ms, 3)


def latency_table(topo: Topology) -> list[dict[str, Any]]:
    """Rows for `anycastlab check`: one per link, with distance and latency."""
    rows = []
    for lk in topo.links:
        ca, cb = topo.routers[lk.a].city, topo.routers[lk.b].city
        v = lk.variability
        rows.append({"a": lk.a, "b": lk.b, "km": round(topo.distance_km(ca, cb), 1),
                     "one_way_ms": lk.latency_ms, "override": lk.overridden,
                     "kind": "intra-AS" if lk.intra_as else _kind(topo, lk), "class": lk.cls,
                     "queue_mean_ms": v.mean_ms, "queue_sd_ms": v.sd_ms, "queue_tau_ms": v.tau_ms,
                     "loss": v.loss, "capacity_gbps": lk.capacity_gbps})
    return rows


def demand_table(topo: Topology) -> list[dict[str, Any]]:
    """Rows for `anycastlab check`: every client network's demand and its source."""
    return [{"client": a.id, "city": a.cities[0], "demand_gbps": round(a.demand_gbps, 3),
             "source": a.demand_source, "population_m": topo.cities[a.cities[0]].population_m}
            for a in topo.clients()]


def _kind(topo: Topology, lk: Link) -> str:
    rel = topo.relation(topo.routers[lk.a].asid, topo.routers[lk.b].asid)
    return {"provider": "customer→provider", "customer": "provider→customer",
            "peer": "peering"}[rel]
