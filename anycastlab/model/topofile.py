"""The topology file format: its shape (pydantic specs: unknown keys,
types, ranges) and its meaning (references resolve, every client has a
provider and reaches a PoP by a valley-free path, ...), checked in one pass
that reports every error with file, line, key path and fix."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

from pydantic import Field, ValidationError, field_validator

from ..errors import TopologyError
from .files import wrong_kind
from .suggest import ErrorList, did_you_mean
from .variability import Variability
from .topology import (
    AS,
    DISPLAY_NAME,
    ID_AS,
    ID_CITY,
    MAX_NODE_NAME,
    RESERVED_AS_IDS,
    TOPO_FIXES,
    TOPO_NAME,
    City,
    Link,
    LinkClass,
    Rel,
    Role,
    Router,
    Settings,
    StrictModel,
    Topology,
    link_latency,
)
from .addressing import plan_limits
from .load import client_demand
from .yamlsource import Salvage, YamlSource, salvage, shape_errors


class CitySpec(StrictModel):
    id: str = Field(pattern=ID_CITY)
    name: str = Field(pattern=DISPLAY_NAME)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    population_m: Optional[float] = Field(None, gt=0, le=100)  # metro, millions


class ASSpec(StrictModel):
    id: str = Field(pattern=ID_AS)
    asn: int = Field(ge=1, le=4294967294)
    name: str = Field(pattern=DISPLAY_NAME)
    role: Role
    cities: list[str] = Field(min_length=1)
    demand_gbps: Optional[float] = Field(None, gt=0, le=1e6)  # clients only


class RelSpec(StrictModel):
    provider: Optional[str] = None
    customer: Optional[str] = None
    peers: Optional[list[str]] = Field(None, min_length=2, max_length=2)


class LinkSpec(StrictModel):
    a: str
    b: str
    latency_ms: Optional[float] = Field(None, ge=0.0, le=1000.0)  # one way; the earth is 133 ms round
    cls: Optional[LinkClass] = Field(None, alias="class")
    variability: Optional[Variability] = None
    capacity_gbps: Optional[float] = Field(None, gt=0, le=1e5)

    @classmethod
    def coerce(cls, v: Any) -> Any:
        if isinstance(v, list) and len(v) == 2:
            return {"a": v[0], "b": v[1]}
        return v


class TopologySpec(StrictModel):
    name: str = Field(pattern=TOPO_NAME)
    description: str = Field("", pattern=r"^[^\x00-\x09\x0b-\x1f]*$")
    settings: Settings = Settings()
    cities: list[CitySpec] = Field(min_length=1)
    ases: list[ASSpec] = Field(min_length=1)
    relationships: list[RelSpec] = []
    links: list[LinkSpec] = []

    @field_validator("links", mode="before")
    @classmethod
    def _links(cls, v: Any) -> Any:
        return [LinkSpec.coerce(x) for x in v] if isinstance(v, list) else v


def load_topology(path: str | Path) -> Topology:
    """Read, validate and resolve a topology file, reporting every error found.

    Shape errors do not stop the reference checks on the parts that are
    fine, so one run lists a misspelt key and an unknown city together.
    """
    src = YamlSource.load(path, "topology")
    other = wrong_kind(src.data, "topology")
    if other:
        raise TopologyError(other[0], file=src.path, fix=other[1])
    errs = ErrorList(src, TopologyError)
    try:
        spec = TopologySpec.model_validate(src.data)
        lost = Salvage()
    except ValidationError as exc:
        errs.extend(shape_errors(src, exc, TopologyError, TOPO_FIXES, "docs/topology.md",
                                 TopologySpec))
        spec, lost = salvage(TopologySpec, src.data, exc)
    topo = build_topology(spec, src, lost, errs)
    errs.raise_if_any()
    return topo


def build_topology(spec: TopologySpec, src: YamlSource, lost: Optional[Salvage] = None,
                   errs: Optional[ErrorList] = None) -> Topology:
    """Resolve references and check the meaning of a spec; raise every error found.

    ``lost`` names the entries that failed the shape check (None in the
    spec's lists): references to them are skipped, as are the whole-graph
    checks once anything failed, since those would only repeat the damage.
    """
    lost, errs = lost or Salvage(), errs if errs is not None else ErrorList(src, TopologyError)
    fail = errs.add
    cities: dict[str, City] = {}
    for i, c in enumerate(spec.cities):
        if c is None:
            continue
        if c.id in cities:
            fail(f"duplicate city id '{c.id}'", ("cities", i, "id"), "give each city a unique id")
            continue
        cities[c.id] = City(c.id, c.name, c.lat, c.lon, c.population_m)

    ases: dict[str, AS] = {}
    asns: dict[int, str] = {}
    routers: dict[str, Router] = {}
    for i, a in enumerate(spec.ases):
        if a is None:
            continue
        if a.id in ases:
            fail(f"duplicate AS id '{a.id}'", ("ases", i, "id"), "give each AS a unique id")
            lost.ids.update(f"{a.id}-{c}" for c in a.cities)  # its routers: reported here
            continue
        if a.id in RESERVED_AS_IDS:
            fail(f"AS id '{a.id}' is reserved (hosts are named 'h-<client>' and 'e-<city>')",
                 ("ases", i, "id"), "pick another id")
            lost.ids.add(a.id)  # reported: links and relationships to it are not
            continue
        if a.asn in asns:
            fail(f"duplicate ASN {a.asn} (already used by '{asns[a.asn]}')",
                 ("ases", i, "asn"), "give each AS its own number")
        if a.role == "client" and len(a.cities) != 1:
            fail(f"client AS '{a.id}' lists {len(a.cities)} cities; a client network "
                 "sits in exactly one city", ("ases", i, "cities"),
                 "list one city, or model each site as its own client AS")
        for j, cid in enumerate(a.cities):
            name = f"{a.id}-{cid}"
            if cid not in cities:
                lost.ids.add(name)
                if not lost.unsure(cid, "cities"):
                    fail(f"unknown city '{cid}'{did_you_mean(cid, cities)}",
                         ("ases", i, "cities", j),
                         f"use one of: {', '.join(cities)}; or add it under 'cities'")
            elif name in routers:
                fail(f"city '{cid}' listed twice for AS '{a.id}'", ("ases", i, "cities", j),
                     "list each city once")
            elif len(name) > MAX_NODE_NAME:
                lost.ids.add(name)
                fail(f"router name '{name}' is longer than {MAX_NODE_NAME} characters "
                     "(Linux limits interface names)", ("ases", i, "id"),
                     "shorten the AS id or the city id")
            else:
                routers[name] = Router(name, a.id, cid, len(routers))
        if a.demand_gbps is not None and a.role != "client":
            fail(f"AS '{a.id}' is a {a.role}, and only client networks have a demand",
                 ("ases", i, "demand_gbps"), "remove demand_gbps, or make the AS a client")
        demand, source = 0.0, ""
        if a.role == "client":
            home = cities.get(a.cities[0])
            sharing = sum(1 for b in spec.ases if b is not None and b.role == "client"
                          and b.cities[:1] == a.cities[:1] and b.demand_gbps is None) or 1
            demand, source = client_demand(a.demand_gbps, home.population_m if home else None,
                                           spec.settings.load, sharing)
        ases[a.id] = AS(a.id, a.asn, a.name, a.role, tuple(a.cities), i + 1, demand, source)
        asns[a.asn] = a.id

    cdns = [a for a in ases.values() if a.role == "cdn"]
    if len(cdns) != 1 and not (lost.failed and len(cdns) == 0):
        fail(f"found {len(cdns)} ASes with role 'cdn'; exactly one is needed", ("ases",),
             "mark the CDN's AS with 'role: cdn' (and only that one)")

    rels = _relationships(spec, ases, lost, errs)
    links = _links(spec, routers, rels, ases, cities, lost, errs)
    topo = Topology(spec.name, spec.description, spec.settings, cities, ases, routers, links,
                    rels, src.path)
    if not errs and not lost.failed:
        _check_meaning(topo, spec, fail)
    errs.raise_if_any()
    return topo




def provider_cycle(topo: Topology) -> list[str]:
    """ASes that are each other's providers around a circle (longer than two:
    two ASes cannot be each other's provider at all), or []."""
    customers: dict[str, list[str]] = {}
    for (us, them), rel in topo.rels.items():
        if rel == "customer":
            customers.setdefault(us, []).append(them)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(a: str) -> list[str]:
        state[a] = 1
        path.append(a)
        for c in sorted(customers.get(a, [])):
            if state.get(c) == 1:
                return path[path.index(c):]
            if c not in state:
                found = visit(c)
                if found:
                    return found
        path.pop()
        state[a] = 2
        return []

    for a in sorted(topo.ases):
        if a not in state:
            found = visit(a)
            if found:
                return found
    return []


def _relationships(spec: TopologySpec, ases: dict[str, AS], lost: Salvage,
                   errs: ErrorList) -> dict[tuple[str, str], Rel]:
    """Business relationships, both directions; a bad entry marks the section lost."""
    fail, before = errs.add, len(errs)
    rels: dict[tuple[str, str], Rel] = {}
    for i, r in enumerate(spec.relationships):
        loc: tuple = ("relationships", i)
        if r is None:
            continue
        if r.peers is not None:
            if r.provider or r.customer:
                fail("a relationship is either 'peers: [a, b]' or 'provider:'/'customer:'",
                     loc, "split it into two entries")
                continue
            pairs = [(r.peers[0], r.peers[1], "peer"), (r.peers[1], r.peers[0], "peer")]
            names = [(r.peers[0], loc + ("peers", 0)), (r.peers[1], loc + ("peers", 1))]
        else:
            if not (r.provider and r.customer):
                fail("a relationship needs both 'provider' and 'customer' (or 'peers')",
                     loc, "write {provider: X, customer: Y} or {peers: [X, Y]}")
                continue
            pairs = [(r.customer, r.provider, "provider"), (r.provider, r.customer, "customer")]
            names = [(r.provider, loc + ("provider",)), (r.customer, loc + ("customer",))]
        unknown = [(n, nloc) for n, nloc in names if n not in ases]
        for n, nloc in unknown:
            if not lost.unsure(n, "ases"):
                fail(f"unknown AS '{n}'{did_you_mean(n, ases)}", nloc,
                     f"use one of: {', '.join(ases)}")
        if unknown:
            lost.sections.add("relationships")
            continue
        if names[0][0] == names[1][0]:
            fail(f"AS '{names[0][0]}' cannot have a relationship with itself", loc,
                 "name two different ASes")
            continue
        if (pairs[0][0], pairs[0][1]) in rels:
            fail(f"ASes '{pairs[0][0]}' and '{pairs[0][1]}' already have a relationship",
                 loc, "keep one relationship per pair of ASes")
            continue
        for us, them, rel in pairs:
            rels[(us, them)] = rel  # type: ignore[assignment]
    if len(errs) > before:  # a missing relationship would make "link without one" noise
        lost.sections.add("relationships")
    return rels


def _links(spec: TopologySpec, routers: dict[str, Router], rels: dict[tuple[str, str], Rel],
           ases: dict[str, AS], cities: dict[str, City], lost: Salvage,
           errs: ErrorList) -> list[Link]:
    """Links between known routers, with their latency; bad ones are reported and left out."""
    fail = errs.add
    links: list[Link] = []
    seen_pairs: set[frozenset[str]] = set()
    for i, lk in enumerate(spec.links):
        loc: tuple = ("links", i)
        if lk is None:
            continue
        bad = [(end, getattr(lk, end)) for end in ("a", "b") if getattr(lk, end) not in routers]
        for end, rname in bad:
            asid, _, cid = rname.partition("-")
            owner = ases.get(asid)
            if rname in lost.ids or lost.unsure(asid, "ases") or lost.unsure(cid, "cities") or (
                    owner and cid in cities and any(c not in cities for c in owner.cities)):
                continue  # its AS or city entry is broken (say, a misspelt city): reported
            maybe = [*routers, *(n for n in lost.ids if "-" in n)]
            fail(f"unknown router '{rname}'{did_you_mean(rname, maybe)}", loc + (end,),
                 "routers are named '<as id>-<city id>' for each city an AS lists")
        if bad:
            continue
        if lk.a == lk.b:
            fail(f"link from '{lk.a}' to itself", loc, "join two different routers")
            continue
        pair = frozenset((lk.a, lk.b))
        if pair in seen_pairs:
            fail(f"duplicate link {lk.a} -- {lk.b}", loc, "remove the second one")
            continue
        seen_pairs.add(pair)
        ra, rb = routers[lk.a], routers[lk.b]
        if ra.asid != rb.asid:
            if (ra.asid, rb.asid) not in rels:
                if "relationships" not in lost.sections:
                    fail(f"link joins ASes '{ra.asid}' and '{rb.asid}' which have no "
                         "relationship", loc,
                         "add {provider: X, customer: Y} or {peers: [X, Y]} under 'relationships'")
                continue
        elif ases[ra.asid].role == "cdn":
            fail("links between CDN PoPs are not modelled: each PoP is an island that "
                 "announces on its own", loc, "remove the link")
            continue
        if lk.latency_ms is not None:
            lat, over = float(lk.latency_ms), True
        else:
            lat, over = link_latency(spec.settings, cities[ra.city], cities[rb.city]), False
        cls = lk.cls or link_class(ases[ra.asid].role, ases[rb.asid].role, ra.asid == rb.asid)
        var = spec.settings.class_variability(cls).merged(lk.variability)
        cap = lk.capacity_gbps if lk.capacity_gbps is not None else spec.settings.load.class_capacity(cls)
        links.append(Link(lk.a, lk.b, lat, i, over, cls, var, float(cap)))
    return links


def link_class(role_a: str, role_b: str, same_as: bool) -> str:
    """The class a link has unless the file names one (docs/topology.md)."""
    if same_as:
        return "long_haul"
    return "access" if "client" in (role_a, role_b) else "interconnect"


def _check_meaning(topo: Topology, spec: TopologySpec, fail: Callable[..., Any]) -> None:
    """Checks that need the whole graph: connectivity and reachability.

    Run only on a topology without other errors; a problem that explains
    another (no provider, so no route to the CDN) is reported alone.
    """
    as_loc = {a.id: ("ases", i) for i, a in enumerate(spec.ases)}
    cycle = provider_cycle(topo)
    if cycle:
        fail("provider relationships go round in a circle: " + " -> ".join(cycle + cycle[:1])
             + " (each is the provider of the next)", as_loc[cycle[0]],
             "a provider hierarchy has a top: make one of these a peer, or drop a relationship")
    for a in topo.ases.values():
        routers = topo.routers_of(a.id)
        for r in routers:
            n = len(topo.links_of(r.name)) + 2  # its links, plus a LAN host and the DNS host at most
            name = f"{r.name}-e{n - 1}"
            if len(name) > 15:
                fail(f"router '{r.name}' has {n - 2} links: its interface names ('{name}') would pass "
                     "Linux's 15 characters", as_loc[a.id], "use shorter AS or city ids, or fewer links")
    for key, msg, fix in plan_limits(topo):  # model/addressing.py: the plan's own limits
        fail(msg, ("links",) if key == "links" else ("ases",), fix)
    linked_pairs = {(topo.routers[lk.a].asid, topo.routers[lk.b].asid) for lk in topo.links}
    linked_pairs |= {(b, a) for a, b in linked_pairs}
    for (us, them), rel in topo.rels.items():
        if (us, them) not in linked_pairs and us < them:
            fail(f"ASes '{us}' and '{them}' have a relationship but no link",
                 as_loc[us], f"add a link between a router of '{us}' and one of '{them}'")
    stranded: set[str] = set()  # clients without a provider: unreachable for that reason
    for a in topo.ases.values():
        if a.role == "transit" and len(topo.ibgp_groups(a.id)) > 1:
            parts = " | ".join(",".join(g) for g in topo.ibgp_groups(a.id))
            fail(f"transit AS '{a.id}' is split into disconnected parts: {parts}",
                 as_loc[a.id], "add backbone links so its routers form one network")
        if a.role == "client" and not topo.providers_of(a.id):
            stranded.add(a.id)
            fail(f"client AS '{a.id}' has no provider", as_loc[a.id],
                 f"add {{provider: <transit>, customer: {a.id}}} under 'relationships'")
        if a.role != "client":
            for r in topo.routers_of(a.id):
                if not topo.links_of(r.name):
                    fail(f"router '{r.name}' has no links", as_loc[a.id],
                         "link it to another router or drop the city from the AS")
    cdn = topo.cdn
    if not any(topo.links_of(r.name) for r in topo.routers_of(cdn.id)):
        fail(f"the CDN '{cdn.id}' has no PoP connected to any provider", as_loc[cdn.id],
             "link at least one PoP router to a transit router in its city")
    if not topo.providers_of(cdn.id):
        fail(f"the CDN '{cdn.id}' buys transit from nobody", as_loc[cdn.id],
             f"add {{provider: <transit>, customer: {cdn.id}}} under 'relationships'")
        return  # no client can reach it: saying so for each would be noise
    # a valley-free path read backwards is valley-free: one search from the CDN
    # answers for every client (one per client is quadratic at 10,000 ASes)
    reaches_cdn = topo.valley_free_reach(cdn.id)
    for a in topo.clients():
        if a.id not in stranded and a.id not in reaches_cdn:
            fail(f"client AS '{a.id}' cannot reach any CDN PoP by a valley-free path "
                 "(routing policy would hide the CDN from it)", as_loc[a.id],
                 "give it (or one of its providers) a provider or peer that reaches the CDN")
