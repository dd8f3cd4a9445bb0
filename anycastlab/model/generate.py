"""``anycastlab generate``: an internet-like topology of N ASes, seeded and valid
by construction. docs/topology.md ("Generated topologies") gives the shape with
its measured distributions; in short, all drawn from ``random.Random(seed)``:

* tier-1s ``t1``..: round(1 + log2(N/5)), 2 to 16; a full peering clique (up to
  4 shared cities a pair); ``tier1_cities`` each (4 + N/30, at most 20): the
  first third from cities.CORE (Ashburn, London, Singapore, ...), the rest hubs
  by sqrt(population), x3 in the home region (NA, EU, Asia in turn).
* regional carriers ``r1``..: 12 % of N; a home city by population^0.7, its
  gateway (the nearest tier-1 city: in its region, else GATEWAY_REGION, else
  anywhere), 2 to ``regional_cities`` (5) cities in all; 1/2/3 tier-1
  providers (30/45/25 %); same-region regionals sharing a city peer with
  probability min(1/2, 3 / (such regionals there - 1)).
* client networks ``c1``..: the rest; one city by population^0.8 among those
  with a carrier; 1/2/3 providers (50/35/15 %, fewer where fewer carriers are)
  by preferential attachment (weight (1 + customers), x2 for a regional); a
  carrier left without a customer gets one. Demand: population shared.
* the CDN ``cdn``: ``pops`` PoPs (N/10, 2 to 8) spread over hubs with a tier-1
  (sqrt(population + 4) x min(1, km to the nearest PoP / 4000)); 2 to
  ``pop_providers`` (3) providers at each, a tier-1 first; ports sized by
  world.yaml's rule.

Backbones are minimum spanning trees plus a few short extra links (submarine
between landmasses); links between ASes are in one city. ``self_check``
confirms in linear time what a size could break (valley-free reach, names).
About 1,000 routers: ``--ases 650`` (or ``--routers 1000``).
"""
from __future__ import annotations

import math
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from typing import Optional

from ..errors import InputError
from .cities import (CLIENT_WORDS, CORE, REG_WORDS, T1_NAMES, CityRow, backbone, between, by_population,
                     draw, km, nearest, pop_load, port_size, spread, submarine, table, wsample)
from .topology import MAX_NODE_NAME, TOPO_NAME

MIN_ASES, MAX_ASES, MAX_POPS, MAX_CDN_PROVIDERS = 6, 20000, 100, 200
POP_SPREAD_KM = 4000  # PoPs: a city nearer than this to a PoP counts for less
GATEWAY_REGION = {"af": "eu", "me": "eu", "sa": "na", "oc": "as", "na": "na", "eu": "eu", "as": "as"}


@dataclass(frozen=True)
class GenParams:
    """What the command line asks for; None: the default for this size."""

    ases: int
    seed: int = 1
    pops: Optional[int] = None
    name: Optional[str] = None
    tier1: Optional[int] = None
    tier1_cities: Optional[int] = None
    regional_cities: int = 5
    pop_providers: int = 3

    def resolved(self) -> "GenParams":
        """Every default filled in and every value checked (InputError naming the option, with a fix)."""
        n = self.ases
        _within(n, MIN_ASES, MAX_ASES, "--ases", "ASes (a CDN, 2 tier-1s, a regional and a client at least)")
        _within(self.seed, 0, 2 ** 63 - 1, "--seed", "as the seed")
        t1 = self.tier1 if self.tier1 is not None else min(16, max(2, round(1 + math.log2(n / 5))))
        _within(t1, 2, min(16, n - 3), "--tier1", f"tier-1s for {n} ASes (the CDN, a regional and a "
                "client need one AS each)")
        t1c = self.tier1_cities if self.tier1_cities is not None else min(20, 4 + n // 30)
        _within(t1c, 2, len(table()), "--tier1-cities", "cities (routers) per tier-1")
        _within(self.regional_cities, 1, 20, "--regional-cities", "cities (routers) at most per regional")
        pops = self.pops if self.pops is not None else min(8, max(2, n // 10))
        _within(pops, 1, MAX_POPS, "--pops", "PoPs")
        _within(self.pop_providers, 1, 8, "--pop-providers", "providers at most per PoP")
        name = self.name if self.name is not None else f"gen-{n}-s{self.seed}"
        if not re.match(TOPO_NAME, name):
            raise InputError(f"--name '{name}' is not a topology name", key="--name",
                             fix="use up to 40 letters, digits, '_', '.', '-', starting with a letter or digit")
        return replace(self, pops=pops, name=name, tier1=t1, tier1_cities=t1c)

    def options(self) -> str:
        """The command line that gives this file again."""
        return (f"--ases {self.ases} --seed {self.seed} --pops {self.pops} --tier1 {self.tier1} "
                f"--tier1-cities {self.tier1_cities} --regional-cities {self.regional_cities} "
                f"--pop-providers {self.pop_providers} --name {self.name}")


def _within(value: int, lo: int, hi: int, option: str, what: str) -> None:
    if not lo <= value <= hi:
        raise InputError(f"{option} {value} is out of range", key=option, fix=f"give {lo} to {hi} {what}")


@dataclass(frozen=True)
class GenAS:
    id: str
    asn: int
    name: str
    role: str  # cdn | transit | client (the file's roles)
    kind: str  # cdn | tier1 | regional | client
    cities: tuple[str, ...]


@dataclass(frozen=True)
class GenLink:
    a: str  # router names, "<as>-<city>"
    b: str
    submarine: bool = False
    capacity_gbps: Optional[float] = None


@dataclass
class Internet:
    """A generated topology: what the YAML and the CAIDA writers print."""

    params: GenParams
    cities: list[CityRow]  # those some AS is in, table order
    ases: list[GenAS]  # file order: CDN, tier-1s, regionals, clients
    rels: list[tuple[str, str, str]]  # ("p2c", provider, customer) or ("p2p", a, b)
    links: list[GenLink]
    pops: dict[str, list[str]]  # PoP city -> providers the CDN buys from there, in order
    demand: dict[str, float] = field(default_factory=dict)  # client -> Gbit/s (1 per million)

    @property
    def routers(self) -> int:
        return sum(len(a.cities) for a in self.ases)

    @property
    def description(self) -> str:
        n = {k: sum(1 for a in self.ases if a.kind == k) for k in ("tier1", "regional", "client")}
        return (f"generated: {len(self.ases)} ASes ({_n(n['tier1'], 'tier-1')}, "
                f"{_n(n['regional'], 'regional carrier')}, {_n(n['client'], 'client network')}), "
                f"{_n(len(self.pops), 'PoP')}, {self.routers} routers, seed {self.params.seed}")


def _n(count: int, what: str) -> str:
    return f"{count} {what}" + ("" if count == 1 else "s")


class _Builder:
    def __init__(self, p: GenParams) -> None:
        self.p, self.r, self.tab = p, random.Random(p.seed), table()
        self.order = {c: i for i, c in enumerate(self.tab)}
        self.ases: dict[str, GenAS] = {}
        self.rels: list[tuple[str, str, str]] = []
        self.links: list[GenLink] = []
        self.present: dict[str, list[str]] = defaultdict(list)  # city -> carriers there
        self.customers: Counter[str] = Counter()  # a carrier's customers (the CDN not counted)
        self.pops: dict[str, list[str]] = {}
        self.home: dict[str, str] = {}  # regional -> its home city (its gateway if it has one city)
        self.region: dict[str, str] = {}

    def add_as(self, aid: str, name: str, kind: str, cities: list[str]) -> GenAS:
        role = {"cdn": "cdn", "client": "client"}.get(kind, "transit")
        a = self.ases[aid] = GenAS(aid, 0, name, role, kind, tuple(cities))  # numbered at the end
        if role == "transit":
            for c in cities:
                self.present[c].append(aid)
        return a

    def link(self, a: str, ca: str, b: str, cb: str) -> None:
        self.links.append(GenLink(f"{a}-{ca}", f"{b}-{cb}", submarine(self.tab[ca], self.tab[cb])))

    def relate(self, kind: str, a: str, b: str, cities: list[str], most: int = 2) -> None:
        """A relationship and its links in (up to ``most`` of) the cities both are in."""
        self.rels.append((kind, a, b))
        self.customers[a] += kind == "p2c"  # (the CDN's contracts do not come through here)
        for c in cities[:most]:
            self.link(a, c, b, c)

    def shared(self, a: str, b: str) -> list[str]:
        there = set(self.ases[b].cities)
        return [c for c in self.ases[a].cities if c in there]

    def backbone(self, a: GenAS, extra: int) -> None:
        for x, y in backbone([self.tab[c] for c in a.cities], extra):
            self.link(a.id, x, a.id, y)

    def sorted_cities(self, ids) -> list[str]:  # type: ignore[no-untyped-def]
        return sorted(ids, key=self.order.__getitem__)

    def tier1s(self) -> None:
        p, hubs = self.p, [c for c in self.tab.values() if c.hub]
        assert p.tier1 is not None and p.tier1_cities is not None
        n = p.tier1_cities
        for i in range(p.tier1):
            home = ("na", "eu", "as")[i % 3]
            chosen = [self.tab[c] for c in CORE[:max(2, n // 3)]][:n]
            pool = [c for c in hubs if c not in chosen]
            if n > len(chosen) + len(pool):
                pool += [c for c in self.tab.values() if not c.hub]
            weights = [math.sqrt(c.population_m) * (3.0 if c.region == home else 1.0) for c in pool]
            cities = self.sorted_cities(c.id for c in chosen + wsample(self.r, pool, weights, n - len(chosen)))
            self.backbone(self.add_as(f"t{i + 1}", T1_NAMES[i], "tier1", cities), len(cities) // 3)
        t1s = list(self.ases)
        for i, a in enumerate(t1s):
            for b in t1s[i + 1:]:
                both = [self.tab[c] for c in self.shared(a, b)]
                pop = {c.id: math.sqrt(c.population_m + 4) for c in both}
                self.relate("p2p", a, b, [c.id for c in spread(both, 4, pop, 3000)], most=4)

    def regionals(self, count: int) -> None:
        r, cities = self.r, list(self.tab.values())
        t1_cities = self.sorted_cities(self.present)
        for i, home in enumerate(by_population(r, cities, 0.7, count)):
            aid, home_c = f"r{i + 1}", self.tab[home]
            self.region[aid] = home_c.region
            gate = (nearest(home_c, t1_cities, home_c.region)
                    or nearest(home_c, t1_cities, GATEWAY_REGION[home_c.region]) or nearest(home_c, t1_cities))
            assert gate is not None
            chosen = [gate] if self.p.regional_cities == 1 else list(dict.fromkeys([home, gate]))
            self.home[aid] = chosen[0]
            k = max(len(chosen), between(r, 2, self.p.regional_cities))
            near = [c for c in cities if c.region == home_c.region and c.id not in chosen]
            chosen += [c.id for c in wsample(r, near, [c.population_m / (1 + km(home_c, c) / 500)
                                                       for c in near], k - len(chosen))]
            words = REG_WORDS[int(r.random() * len(REG_WORDS))]
            a = self.add_as(aid, f"{home_c.name} {words}", "regional", self.sorted_cities(chosen))
            self.backbone(a, 1 if len(chosen) >= 4 else 0)
            t1s = sorted({t for c in chosen for t in self.present[c] if t.startswith("t")},
                         key=lambda t: int(t[1:]))
            ups = wsample(r, t1s, [len(self.shared(aid, t)) for t in t1s], draw(r, (0.3, 0.45, 0.25)))
            for t in sorted(ups, key=lambda t: int(t[1:])):
                self.relate("p2c", t, aid, self.shared(aid, t))
        decided: set[tuple[str, str]] = set()
        for city in self.sorted_cities(self.present):
            regs = [a for a in self.present[city] if a.startswith("r")]
            for region in sorted({self.region[a] for a in regs}):
                same = [a for a in regs if self.region[a] == region]
                q = min(0.5, 3 / max(1, len(same) - 1))
                for j, a in enumerate(same):
                    for b in same[j + 1:]:
                        if (a, b) not in decided:
                            decided.add((a, b))
                            if r.random() < q:
                                self.relate("p2p", a, b, [city] + [c for c in self.shared(a, b) if c != city])

    def clients(self, count: int) -> None:
        """Client networks, then a customer for every carrier left without one (so that a reader
        of the CAIDA files, taking ASes without customers for stubs, sees the same networks)."""
        r = self.r
        served = [self.tab[c] for c in self.sorted_cities(self.present)]
        homes, ups = by_population(r, served, 0.8, count), []
        for city in homes:
            here = self.present[city]
            weights = [(2.0 if a.startswith("r") else 1.0) * (1 + self.customers[a]) for a in here]
            ups.append(wsample(r, here, weights, draw(r, (0.5, 0.35, 0.15))))
            self.customers.update(ups[-1])
        at = defaultdict(list)
        for i, c in enumerate(homes):
            at[c].append(i)
        for t in [a for a in self.ases if not self.customers[a]]:
            mine = [i for c in self.ases[t].cities for i in at[c]]
            if mine:  # a client there buys from it too
                i = min(mine, key=lambda i: (len(ups[i]), i))
            else:  # a client moves in from the most crowded city
                movable = [i for i, c in enumerate(homes) if len(at[c]) > 1
                           and all(self.customers[u] > 1 for u in ups[i])]
                if not movable:
                    continue
                i = max(movable, key=lambda i: (len(at[homes[i]]), i))
                self.customers.subtract(ups[i])
                at[homes[i]].remove(i)
                homes[i], ups[i] = self.home.get(t, self.ases[t].cities[0]), []
                at[homes[i]].append(i)
            ups[i].append(t)
            self.customers[t] += 1
        for i, (city, provs) in enumerate(zip(homes, ups)):
            word = CLIENT_WORDS[int(r.random() * len(CLIENT_WORDS))]
            self.add_as(f"c{i + 1}", f"{self.tab[city].name} {word}" + (" (multihomed)" if len(provs) > 1
                                                                       else ""), "client", [city])
            for t in provs:
                self.rels.append(("p2c", t, f"c{i + 1}"))
                self.link(t, city, f"c{i + 1}", city)

    def cdn(self) -> None:
        """PoPs: hubs with a tier-1 first, then other cities with a tier-1, then any with a carrier."""
        p, r = self.p, self.r
        assert p.pops is not None
        weight = {c.id: math.sqrt(c.population_m + (4 if c.hub else 0)) for c in self.tab.values()}
        picked: list[CityRow] = []
        for tier in (lambda c, t1: c.hub and t1, lambda c, t1: t1, lambda c, t1: True):
            pool = [self.tab[c] for c in self.sorted_cities(self.present) if self.tab[c] not in picked
                    and tier(self.tab[c], any(a.startswith("t") for a in self.present[c]))]
            picked += spread(pool, p.pops - len(picked), weight, POP_SPREAD_KM, picked)
        if len(picked) < p.pops:
            raise InputError(f"--pops {p.pops}: only {len(picked)} cities have a carrier in a topology of "
                             f"{p.ases} ASes", key="--pops", fix=f"give at most {len(picked)} PoPs, or more ASes")
        mine: list[tuple[str, str, str]] = []
        for c in picked:
            here = self.present[c.id]
            t1s = [a for a in here if a.startswith("t")]
            first = [t1s[int(r.random() * len(t1s))]] if t1s else []
            left = [a for a in here if a not in first]
            if len(mine) >= MAX_CDN_PROVIDERS:  # a /24 each in 198.18.0.0/16 (addressing.py)
                left = [a for a in left if ("p2c", a, "cdn") in mine]
            hi = min(p.pop_providers, len(here))
            k = between(r, min(2, hi), hi)
            self.pops[c.id] = (first + wsample(r, left, [1.0 + self.customers[a] for a in left],
                                               k - len(first))) or here[:1]
            for t in self.pops[c.id]:
                if ("p2c", t, "cdn") not in mine:
                    mine.append(("p2c", t, "cdn"))
                self.link("cdn", c.id, t, c.id)
        self.add_as("cdn", "Example CDN", "cdn", list(self.pops))
        self.rels[:0] = mine  # the CDN's contracts first, as in world.yaml

    def port_sizes(self, demand: dict[str, float]) -> None:
        """The CDN's ports: each PoP's nearest clients' demand, split over its providers, +50 %."""
        load = pop_load(list(self.pops), [(self.ases[a].cities[0], d) for a, d in demand.items()])
        for i, lk in enumerate(self.links):
            if lk.a.startswith("cdn-"):
                city = lk.a[4:]
                self.links[i] = replace(lk, capacity_gbps=port_size(1.5 * load[city] / len(self.pops[city])))


SECTIONS = {"": "backbones: each carrier's own links between its cities", "tier1 tier1": "tier-1 peering",
            "cdn tier1": "the CDN's ports: transit bought at each PoP",
            "regional tier1": "regional carriers buying transit", "regional regional": "regional peering",
            "client": "client networks' access links"}


def _section(kinds: dict[str, str], lk: GenLink) -> str:
    """The part of the file a link goes in (the order of SECTIONS)."""
    a, b = lk.a.split("-")[0], lk.b.split("-")[0]
    key = "" if a == b else " ".join(sorted((kinds[a], kinds[b])))
    return "client" if "client" in key else "cdn tier1" if key == "cdn regional" else key


def generate(params: GenParams) -> Internet:
    """The topology ``params`` describe; InputError for a bad parameter."""
    p = params.resolved()
    assert p.tier1 is not None
    b = _Builder(p)
    regionals = min(max(1, round(0.12 * p.ases)), p.ases - 2 - p.tier1)
    b.tier1s()
    b.regionals(regionals)
    b.clients(p.ases - 1 - p.tier1 - regionals)
    b.cdn()
    order = ["cdn"] + [a for a in b.ases if a != "cdn"]
    first = 64512 if p.ases <= 1000 else 4200000000
    ases = [replace(b.ases[a], asn=first + i) for i, a in enumerate(order)]
    kinds = {a.id: a.kind for a in ases}
    share = Counter(a.cities[0] for a in ases if a.kind == "client")  # a city's demand, shared
    demand = {a.id: b.tab[a.cities[0]].population_m / share[a.cities[0]] for a in ases if a.kind == "client"}
    b.port_sizes(demand)
    links = sorted(b.links, key=lambda lk: list(SECTIONS).index(_section(kinds, lk)))
    used = {c for a in ases for c in a.cities}
    net = Internet(p, [c for c in b.tab.values() if c.id in used], ases, b.rels, links, b.pops, demand)
    problems = self_check(net)
    if problems:
        raise RuntimeError("anycastlab generate made an invalid topology (a bug): " + "; ".join(problems[:5]))
    return net


def for_routers(target: int, params: GenParams) -> GenParams:
    """The largest number of ASes whose topology has at most ``target`` routers
    (the other parameters as given)."""
    _within(target, 20, 50000, "--routers", "routers")
    lo, hi = MIN_ASES, MAX_ASES
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if generate(replace(params, ases=mid)).routers <= target else (lo, mid - 1)
    return replace(params, ases=lo)


def self_check(net: Internet) -> list[str]:
    """What topofile.py would refuse and a size could cause, in linear time:
    a client without a valley-free path to the CDN, a name too long for Linux."""
    providers, customers, peers = defaultdict(list), defaultdict(list), defaultdict(list)
    for kind, a, b in net.rels:
        if kind == "p2c":
            providers[b].append(a)
            customers[a].append(b)
        else:
            peers[a].append(b)
            peers[b].append(a)
    up = _closure({"cdn"}, providers)  # the CDN's prefix climbs to its providers' providers,
    cone = _closure(up | {q for u in up for q in peers[u]}, customers)  # crosses a peering, descends
    out = [f"client {a.id} cannot reach the CDN valley-free" for a in net.ases
           if a.kind == "client" and a.id not in cone]
    degree = Counter(x for lk in net.links for x in (lk.a, lk.b))
    for a in net.ases:
        for c in a.cities:
            name = f"{a.id}-{c}"
            if len(name) > MAX_NODE_NAME or len(f"{name}-e{degree[name] + 1}") > 15:
                out.append(f"router {name} with {degree[name]} links: name too long")
    return out


def _closure(start: set[str], step: dict[str, list[str]]) -> set[str]:
    seen, todo = set(start), list(start)
    while todo:
        for n in step[todo.pop()]:
            if n not in seen:
                seen.add(n)
                todo.append(n)
    return seen


def _q(text: str) -> str:
    return f'"{text}"'  # display names have no quotes or backslashes (topology.DISPLAY_NAME)


def to_yaml(net: Internet) -> str:
    """The topology file (the format of topologies/world.yaml), byte for byte the same per seed."""
    p = net.params
    kinds = {a.id: a.kind for a in net.ases}
    lines = [f"# {p.name}: an internet generated by 'anycastlab generate {p.options()}'",
             "# (the same options give this file byte for byte; docs/topology.md, \"Generated topologies\").",
             f"# {net.description}.",
             "# Cities: anycastlab/model/data/cities.csv (metro populations, rounded); a client",
             "# network's demand is its city's population shared by the city's client networks.",
             f"name: {p.name}", f"description: {_q(net.description)}",
             "settings:", "  variability: {}   # the documented per-class defaults (docs/topology.md)",
             "cities:"]
    lines += [f"  - {{id: {c.id}, name: {_q(c.name)}, lat: {c.lat_text}, lon: {c.lon_text}, "
              f"population_m: {c.pop_text}}}" for c in net.cities]
    lines.append("ases:")
    heads = {"cdn": "the CDN: PoPs without a backbone", "tier1": "tier-1s: transit-free, peering",
             "regional": "regional carriers", "client": "client networks, one city each"}
    for a in net.ases:
        if a.kind in heads:
            lines.append(f"  # {heads.pop(a.kind)}")
        lines.append(f"  - {{id: {a.id}, asn: {a.asn}, name: {_q(a.name)}, role: {a.role}, "
                     f"cities: [{', '.join(a.cities)}]}}")
    lines.append("relationships:")
    for kind, a, b in net.rels:
        lines.append(f"  - {{provider: {a}, customer: {b}}}" if kind == "p2c" else f"  - {{peers: [{a}, {b}]}}")
    lines.append("links:")
    section = None
    for lk in net.links:
        if _section(kinds, lk) != section:
            section = _section(kinds, lk)
            lines.append(f"  # {SECTIONS[section]}")
        extra = (", class: submarine" if lk.submarine else "") + (
            f", capacity_gbps: {lk.capacity_gbps:g}" if lk.capacity_gbps is not None else "")
        lines.append(f"  - {{a: {lk.a}, b: {lk.b}{extra}}}" if extra else f"  - [{lk.a}, {lk.b}]")
    return "\n".join(lines) + "\n"
