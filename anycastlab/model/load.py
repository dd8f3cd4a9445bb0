"""Demand, capacity and the queueing a link adds as its utilisation rises.

The CDN's traffic is a load on the links it crosses. Every client network
has a demand (Gbit/s at the busy hour); every link direction a capacity.
Each steering window the lab computes the offered load on every link
direction (``offered``): a network's demand flows from the PoP that serves
it to the network along the return path (the download), and
``upstream_ratio`` of it along the forward path (requests and ACKs); the
fraction ``ipa_fraction`` of the demand is served through the provider
prefixes by the network's shares, the rest through the global prefix.

The utilisation rho = load / capacity of a direction then adds a queueing
delay and a loss (``effect``) by the textbook M/M/1/K queue (Kleinrock,
Queueing Systems vol. 1, 1975, sec. 3.6): a buffer of ``buffer_ms`` at the
link's rate holds K = buffer / s units of service s = burst / capacity.
The unit is a burst (``burst_kb``, 64 kB: TCP sends in window-sized
trains and NICs in TSO/GRO batches), which makes the aggregate as bursty
as measured traffic instead of the smooth Poisson packets of the textbook:

    P_n = (1 - rho) rho^n / (1 - rho^(K+1))       (n = 0 .. K)
    loss = P_K,   delay = (L / (rho (1 - P_K)) - 1) s,   L = sum n P_n

so the delay grows like s rho / (1 - rho) at moderate load, reaches half
the buffer at rho = 1 and tends to the full buffer beyond it, where the loss
tends to 1 - 1/rho (what exceeds the capacity is dropped). docs/topology.md
("Demand, capacity and load") gives the defaults and their sources.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Iterable, Literal, Mapping, Optional

from pydantic import BaseModel, ConfigDict, Field

# Gbit/s per direction when a link does not say (docs/topology.md)
CAPACITY_DEFAULTS = {"lan": 400.0, "access": 100.0, "interconnect": 100.0,
                     "long_haul": 400.0, "submarine": 400.0}
LinkClassName = Literal["lan", "access", "interconnect", "long_haul", "submarine"]
Capacity = Annotated[float, Field(gt=0, le=1e5)]
MIN_EFFECT_MS = 0.005   # below this (and no loss worth a probe) a line is left alone
MIN_EFFECT_LOSS = 1e-4


class LoadSettings(BaseModel):
    """The ``settings.load`` section of a topology file."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    gbps_per_million: float = Field(1.0, gt=0, le=1e6)   # demand of a metro, per million people
    default_demand_gbps: float = Field(1.0, gt=0, le=1e6)  # a client whose city has no population
    capacity_gbps: dict[LinkClassName, Capacity] = {}     # per link class, over CAPACITY_DEFAULTS
    buffer_ms: float = Field(50.0, gt=0, le=1000)
    burst_kb: float = Field(64.0, gt=0, le=1e6)
    upstream_ratio: float = Field(0.05, ge=0, le=1)

    def class_capacity(self, cls: str) -> float:
        return float(self.capacity_gbps.get(cls, CAPACITY_DEFAULTS[cls]))


@dataclass(frozen=True)
class Effect:
    """What a line's load adds: a queueing delay and a drop probability."""

    rho: float
    delay_ms: float
    loss: float

    @property
    def felt(self) -> bool:
        return self.delay_ms >= MIN_EFFECT_MS or self.loss >= MIN_EFFECT_LOSS


def service_ms(capacity_gbps: float, burst_kb: float) -> float:
    """Time to send one burst at the link's rate."""
    return burst_kb * 8e3 / (capacity_gbps * 1e9) * 1e3


def mm1k(rho: float, k: int) -> tuple[float, float]:
    """(L, P_K) of an M/M/1/K queue: mean number in the system and blocking."""
    if k < 1:
        raise ValueError("K must be at least 1")
    if rho <= 0:
        return 0.0, 0.0
    if abs(rho - 1.0) < 1e-9:
        return k / 2.0, 1.0 / (k + 1)
    if rho > 1.0:  # mirror: P_n(rho) = P_(K-n)(1/rho)
        l_mirror, _ = mm1k(1.0 / rho, k)
        r = 1.0 / rho
        return k - l_mirror, (1.0 - r) / (1.0 - r ** (k + 1))
    tail = rho ** (k + 1)
    return rho / (1.0 - rho) - (k + 1) * tail / (1.0 - tail), (1.0 - rho) * rho ** k / (1.0 - tail)


def effect(load_gbps: float, capacity_gbps: float, s: LoadSettings) -> Effect:
    """The queueing delay and loss of a link direction carrying ``load_gbps``."""
    if not capacity_gbps > 0:
        raise ValueError("capacity must be > 0")
    rho = max(0.0, load_gbps) / capacity_gbps
    svc = service_ms(capacity_gbps, s.burst_kb)
    k = max(1, int(s.buffer_ms / svc))
    if rho <= 0:
        return Effect(0.0, 0.0, 0.0)
    n, pk = mm1k(rho, k)
    delay = max(0.0, (n / (rho * (1.0 - pk)) - 1.0) * svc) if pk < 1.0 else s.buffer_ms
    return Effect(rho, min(delay, s.buffer_ms), min(1.0, pk))


def client_demand(explicit: Optional[float], population_m: Optional[float], s: LoadSettings,
                  sharing: int = 1) -> tuple[float, str]:
    """A client network's demand and where it comes from (for ``check``): its
    own ``demand_gbps``, else its city's population shared by the ``sharing``
    client networks of the city that set none, else the default."""
    if explicit is not None:
        return float(explicit), "file"
    if population_m is not None:
        return population_m * s.gbps_per_million / max(1, sharing), "population"
    return s.default_demand_gbps, "default"


Hop = tuple[str, str]   # (node, next node): one link direction


def offered(flows: Iterable[tuple[float, Iterable[Hop]]]) -> dict[Hop, float]:
    """Sum every flow's rate (Gbit/s) over the link directions it crosses."""
    load: dict[Hop, float] = {}
    for rate, hops in flows:
        if rate <= 0:
            continue
        for h in hops:
            load[h] = load.get(h, 0.0) + rate
    return load


def demand_flows(demand: Mapping[str, float], shares: Mapping[str, Mapping[str, float]],
                 paths: Mapping[tuple[str, str], tuple[list[Hop], list[Hop]]],
                 ipa_fraction: float, upstream_ratio: float, providers: list[str]
                 ) -> list[tuple[float, list[Hop], str]]:
    """Every (rate, hops, scheme) a window carries.

    ``paths[(client, target)]`` is (forward hops, return hops) with target
    "global" or a provider key. A network without shares yet splits its
    IPA part equally among the providers it has a path to."""
    out: list[tuple[float, list[Hop], str]] = []
    for c, d in demand.items():
        parts: list[tuple[str, float]] = [("global", d * (1.0 - ipa_fraction))]
        mine = shares.get(c) or {}
        reach = [k for k in providers if (c, k) in paths]
        if not mine and reach:
            mine = {k: 1.0 / len(reach) for k in reach}
        parts += [(k, d * ipa_fraction * w) for k, w in mine.items()]
        for target, rate in parts:
            if rate <= 0 or (c, target) not in paths:
                continue
            fwd, ret = paths[(c, target)]
            scheme = "global" if target == "global" else "ipa"
            out.append((rate, ret, scheme))
            if upstream_ratio > 0:
                out.append((rate * upstream_ratio, fwd, scheme))
    return out


def utilisation_table(load: Mapping[Hop, float], capacity: Mapping[Hop, float], s: LoadSettings
                      ) -> dict[Hop, Effect]:
    """The effect on every link direction that carries anything."""
    return {h: effect(g, capacity[h], s) for h, g in load.items() if h in capacity}
