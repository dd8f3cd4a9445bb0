"""Scenario files: which topology, how to probe, how IPA steers.

    name: baseline
    description: "..."
    topology: world              # a name in topologies/ or a path (relative to this file)
    links: auto                  # optional link backend
    probes: {count: 10, interval_s: 0.2, timeout_s: 1.5, concurrency: 4}
    steering: {cap: 0.7, floor: 0.05, bias: 2, window_s: 5, mode: dns}
    dns: {ttl_s: 10, rest_s: 20}  # PowerDNS steering (docs/dns.md); mode model: no DNS
    timeline:                    # optional: phases and events (docs/scenarios.md)
      - {name: before, duration_s: 15}
      - name: cut
        duration_s: 30
        events: [{kind: cut, at_s: 0, between: [lon, nyc]}]
    plot_clients: [c1, c2]       # optional: clients drawn in the time plots

Errors name the file, line and key, like topology errors.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import InputError
from .events import Event, EventError
from .events import needs as event_needs
from .events import resolve as resolve_event
from .files import PROJECT, guess_kind, resolve_named, wrong_kind
from .schemes import SELECTABLE
from .settings import DnsSettings, Load, ProbeSettings, Steering
from .suggest import key_path
from .topofile import load_topology
from .topology import TOPO_NAME, Topology
from .yamlsource import YamlSource, shape_error


class ScenarioError(InputError):
    """The scenario file is wrong."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProbeSpec(_Strict):
    count: int = Field(10, ge=1, le=10000)
    # between rounds; default 0.2 s at rest, 0.1 s through a timeline
    interval_s: Optional[float] = Field(None, ge=0.02, le=60)
    timeout_s: float = Field(1.5, gt=0, le=30)
    concurrency: int = Field(4, ge=1, le=64)
    udp: bool = True
    icmp: bool = True

    @model_validator(mode="after")
    def _udp_needed(self) -> "ProbeSpec":
        if not self.udp:
            raise ValueError("udp must stay true: UDP probes to the responders give the PoP "
                             "and the RTTs the analysis uses (ICMP is the cross-check)")
        return self


class SteeringSpec(_Strict):
    cap: float = Field(0.9, gt=0, le=1)
    floor: float = Field(0.0, ge=0, lt=1)
    bias: float = Field(2.0, ge=0, le=10)
    window_s: float = Field(5.0, ge=0.5, le=600)
    threshold: float = Field(0.1, ge=0, le=1)   # wins a provider needs for a share (besides the top)
    headroom: float = Field(0.8, ge=0, le=10)   # CDN port utilisation IPA shares may not push past; 0: off
    # dns: PowerDNS answers steer the clients; model: IPA is the share model only
    mode: Literal["dns", "model"] = "dns"

    @model_validator(mode="after")
    def _floor_below_cap(self) -> "SteeringSpec":
        if self.floor > self.cap:
            raise ValueError(f"floor {self.floor} is above cap {self.cap}")
        return self


class DnsSpec(_Strict):
    ttl_s: int = Field(10, ge=1, le=3600)
    rest_s: float = Field(20.0, ge=1, le=3600)
    timeout_s: float = Field(1.0, gt=0, le=10)
    prefetch_s: float = Field(1.0, ge=0, le=60)
    resolvers: int = Field(32, ge=1, le=256)   # per client network (docs/dns.md)
    server: Literal["anycast", "unicast"] = "anycast"

    @model_validator(mode="after")
    def _prefetch_below_ttl(self) -> "DnsSpec":
        if self.prefetch_s >= self.ttl_s:
            raise ValueError(f"prefetch_s {self.prefetch_s} must be below ttl_s {self.ttl_s}")
        return self


SCHEMES = SELECTABLE


class PhaseSpec(_Strict):
    name: str = Field(pattern=TOPO_NAME)
    duration_s: float = Field(gt=0, le=3600)
    events: list[dict[str, Any]] = []


class LoadSpec(_Strict):
    """``load: false`` (no load model), ``load: true`` or ``{ipa_fraction: F}``."""

    enabled: bool = True
    ipa_fraction: float = Field(0.5, ge=0, le=1)

    @model_validator(mode="before")
    @classmethod
    def _from_bool(cls, v: Any) -> Any:
        return {"enabled": v} if isinstance(v, bool) else v


class ScenarioSpec(_Strict):
    name: str = Field(pattern=TOPO_NAME)
    description: str = ""
    topology: str
    links: Literal["auto", "netem", "userspace"] = "auto"
    seed: int = Field(1, ge=0, le=2 ** 32 - 1)  # of the links' variability (docs/topology.md)
    variability: bool = True                    # false: the topology's variability is not applied
    load: LoadSpec = LoadSpec()                 # false: no load model (docs/topology.md)
    probes: ProbeSpec = ProbeSpec()
    steering: SteeringSpec = SteeringSpec()
    dns: DnsSpec = DnsSpec()
    schemes: list[Literal[SELECTABLE]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(SCHEMES), min_length=1)
    timeline: list[PhaseSpec] = []
    plot_clients: list[str] = []


@dataclass
class Scenario:
    name: str
    description: str
    path: Path
    topology: Topology
    links: str
    probes: ProbeSettings
    steering: Steering
    schemes: list[str]
    timeline: list[Phase] = field(default_factory=list)
    plot_clients: list[str] = field(default_factory=list)
    dns: Optional[DnsSettings] = DnsSettings()  # None: steering by the share model only
    seed: int = 1
    variability: bool = True
    load: Optional[Load] = Load()  # None: the links carry no modelled load

    @property
    def duration_s(self) -> float:
        return sum(p.duration_s for p in self.timeline)

    @property
    def random_loss(self) -> bool:
        """Whether any link drops packets at random in this run (its topology's
        variability or a 'congest' event): then a lost probe may be background,
        not an event's (analysis/stability.py)."""
        if not self.variability:
            return False
        t = self.topology
        return (any(lk.variability.loss > 0 for lk in t.links) or t.settings.class_variability("lan").loss > 0
                or any(ev.variability is not None and ev.variability.loss > 0
                       for ph in self.timeline for ev in ph.events))


@dataclass(frozen=True)
class Phase:
    name: str
    duration_s: float
    events: tuple[Event, ...]


def resolve_scenario(name: str) -> Path:
    """A path, or a bare name looked up in scenarios/."""
    return resolve_named(name, "scenario")


def _topology_path(ref: str, scenario_file: Path) -> Path:
    """A scenario's ``topology:``: a file relative to the scenario, or a name
    in the scenario's project (then the cwd's, then anycastlab's)."""
    p = Path(ref)
    if p.suffix:
        return p if p.is_absolute() else (scenario_file.parent / p)
    found = resolve_named(ref, "topology", near=scenario_file)
    return found if found.suffix else PROJECT / "topologies" / f"{ref}.yaml"


def is_scenario_file(ref: str) -> bool:
    """A scenario file (by its keys: files.guess_kind) rather than a topology.
    Parsed strictly, once: the load that follows reuses the parse."""
    p = resolve_scenario(ref)
    if not p.is_file():
        return False
    try:
        src = YamlSource.load(p, "file")
    except InputError:
        return False  # the topology loader will say what is wrong with it
    return guess_kind(src.data) == "scenario"


def load_scenario(name: str, topology_override: Optional[str] = None, *,
                  steering: Optional[str] = None, ttl: Optional[int] = None,
                  seed: Optional[int] = None, variability: Optional[bool] = None,
                  load: Optional[bool] = None) -> Scenario:
    """``steering`` ("dns" or "model"), ``ttl``, ``seed`` and ``variability``
    override the file's steering.mode, dns.ttl_s, seed and variability (the
    command line's --steering, --ttl, --seed and --no-variability)."""
    path = resolve_scenario(name)
    if not path.exists() and resolve_named(name, "topology").exists():
        raise ScenarioError(f"'{name}' is a topology, not a scenario", key="scenario",
                            fix=f"run a scenario on it, e.g. 'anycastlab scenario baseline --topology {name}'; "
                                "the scenarios are in scenarios/")
    src = YamlSource.load(path, "scenario")
    other = wrong_kind(src.data, "scenario")
    if other:
        raise ScenarioError(other[0], file=src.path, fix=other[1])
    try:
        spec = ScenarioSpec.model_validate(src.data)
    except ValidationError as exc:
        raise shape_error(src, exc, ScenarioError, {}, "docs/scenarios.md", ScenarioSpec) from None
    if steering is not None:
        spec.steering.mode = steering  # type: ignore[assignment]
    if ttl is not None:
        if not 1 <= ttl <= 3600 or spec.dns.prefetch_s >= ttl:
            raise ScenarioError(f"TTL {ttl} s is out of range", key="--ttl",
                                fix=f"give 1 to 3600 s, above dns.prefetch_s ({spec.dns.prefetch_s:g} s)")
        spec.dns.ttl_s = ttl
    if topology_override:
        tpath = Path(topology_override)
        if not tpath.is_file():
            tpath = _topology_path(Path(topology_override).name if tpath.suffix else
                                   topology_override, PROJECT / "scenarios" / "x.yaml")
        if not tpath.exists():
            raise ScenarioError(f"topology '{topology_override}' not found", key="--topology",
                                fix="give a path or a name in topologies/ (e.g. world, tiny)")
    else:
        tpath = _topology_path(spec.topology, src.path)
        if not tpath.exists():
            raise ScenarioError(f"topology '{spec.topology}' not found (looked for {tpath})",
                                file=src.path, key="topology", line=src.line_of(("topology",)),
                                fix="name a file in topologies/ (e.g. world, tiny) or give a path")
    topo = load_topology(tpath)
    providers = sorted(topo.providers_of(topo.cdn.id), key=lambda t: topo.ases[t].index)
    timeline = _timeline(spec, src, topo, providers)
    clients = {a.id for a in topo.clients()}
    for i, c in enumerate(spec.plot_clients):
        if c not in clients:
            raise ScenarioError(f"unknown client '{c}'", file=src.path, key=f"plot_clients[{i}]",
                                line=src.line_of(("plot_clients", i)),
                                fix=f"use client AS ids of {topo.name}: {', '.join(sorted(clients))}")
    p = spec.probes
    s = spec.steering
    interval = p.interval_s if p.interval_s is not None else (0.1 if timeline else 0.2)
    d = spec.dns
    dns = DnsSettings(d.ttl_s, d.rest_s, d.timeout_s, d.prefetch_s, d.resolvers, d.server) if s.mode == "dns" else None
    if dns is None:
        for i, ph in enumerate(timeline):
            for j, ev in enumerate(ph.events):
                if event_needs(ev.kind) == "dns":
                    loc = ("timeline", i, "events", j, "kind")
                    raise ScenarioError(f"'{ev.kind}' needs DNS steering", file=src.path,
                                        key=key_path(loc), line=src.line_of(loc),
                                        fix="remove the event or set steering.mode: dns")
    return Scenario(spec.name, spec.description, src.path, topo, spec.links,
                    ProbeSettings(p.count, interval, p.timeout_s, p.concurrency, p.udp, p.icmp),
                    Steering(s.cap, s.floor, s.bias, s.window_s, s.threshold, s.headroom), list(spec.schemes),
                    timeline,
                    list(spec.plot_clients), dns, spec.seed if seed is None else seed,
                    spec.variability if variability is None else variability,
                    _load(spec.load) if load is None or load else None)


def _load(spec: LoadSpec) -> Optional[Load]:
    return Load(spec.ipa_fraction) if spec.enabled else None


def _timeline(spec: ScenarioSpec, src: YamlSource, topo: Topology,
              providers: list[str]) -> list[Phase]:
    """Resolve every event; reject unknown kinds, links, nodes and late events."""
    phases, names = [], set()
    for i, ph in enumerate(spec.timeline):
        loc = ("timeline", i)
        if ph.name in names:
            raise ScenarioError(f"duplicate phase name '{ph.name}'", file=src.path,
                                key=key_path(loc + ("name",)), line=src.line_of(loc + ("name",)),
                                fix="give each phase its own name")
        names.add(ph.name)
        events = []
        for j, raw in enumerate(ph.events):
            eloc = loc + ("events", j)
            ev = resolve_event(raw, topo, providers)
            if isinstance(ev, EventError):
                raise ScenarioError(ev.message, file=src.path, key=key_path(eloc + (ev.key,)),
                                    line=src.line_of(eloc + (ev.key,)), fix=ev.fix)
            if ev.at_s >= ph.duration_s:
                raise ScenarioError(f"event at {ev.at_s} s is outside phase '{ph.name}' "
                                    f"({ph.duration_s} s long)", file=src.path,
                                    key=key_path(eloc + ("at_s",)), line=src.line_of(eloc + ("at_s",)),
                                    fix="use an offset below the phase's duration_s")
            events.append(ev)
        phases.append(Phase(ph.name, ph.duration_s, tuple(sorted(events, key=lambda e: e.at_s))))
    return phases


def check_steering(cap: float, floor: float, bias: float, window_s: float = 5.0,
                   threshold: float = 0.1) -> Steering:
    """Validate steering values from the command line like a scenario file's."""
    try:
        s = SteeringSpec(cap=cap, floor=floor, bias=bias, window_s=window_s, threshold=threshold)
    except ValidationError as exc:
        e = exc.errors()[0]
        where = ".".join(str(x) for x in e["loc"]) or "steering"
        raise ScenarioError(f"{e['msg']}", key=f"--{where}" if where != "steering" else "--cap/--floor",
                            fix="cap in (0, 1], floor in [0, cap], bias in [0, 10], threshold in [0, 1]") from None
    return Steering(s.cap, s.floor, s.bias, s.window_s, s.threshold)
