"""Events that change a running lab: the vocabulary of scenario timelines.

Each event is resolved against the topology first (``resolve``: pure, no
root, raises ScenarioError naming the key) and applied to a Lab later
(``apply``). Kinds:

  cut / restore        links: [[a, b], ...]  or  between: [city, city]
                       (every inter-city link between the two cities: a cable route)
  latency              link: [a, b], one_way_ms: X | nominal  (congestion or a
                       reroute; 'nominal' restores the topology's latency)
  pop-down / pop-up    pop: <city>, mode: withdraw | responder
                       (the speaker withdraws everything, or the responder dies
                       and the health check must notice)
  provider-down / -up  provider: <as id>: every session CDN <-> provider drops
  depeer / repeer      ases: [a, b]: the peering sessions between two ASes close
  dns-down / dns-up    the CDN's PowerDNS server stops / starts again (clients'
                       queries time out; they keep answers while the TTL allows)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ..errors import InputError
from .topology import Topology

KINDS = ("cut", "restore", "latency", "pop-down", "pop-up", "provider-down", "provider-up",
         "depeer", "repeer", "dns-down", "dns-up")


@dataclass(frozen=True)
class Event:
    kind: str
    at_s: float
    links: tuple[tuple[str, str], ...] = ()
    pop: Optional[str] = None
    mode: str = "withdraw"
    provider: Optional[str] = None
    ases: tuple[str, ...] = ()
    one_way_ms: Optional[float] = None
    label: str = ""


@dataclass
class EventError:
    message: str
    key: str
    fix: str


def _fail(message: str, key: str, fix: str) -> EventError:
    return EventError(message, key, fix)


def resolve(raw: dict[str, Any], topo: Topology, providers: list[str]) -> Event | EventError:
    """Check one event against the topology; an EventError names the bad key."""
    kind, at = raw.get("kind"), raw.get("at_s", 0)
    allowed = {"kind", "at_s", "links", "between", "link", "one_way_ms", "pop", "mode",
               "provider", "ases"}
    extra = set(raw) - allowed
    if extra:
        k = sorted(extra)[0]
        return _fail(f"unknown key '{k}'", k, f"allowed keys: {', '.join(sorted(allowed))}")
    if kind not in KINDS:
        return _fail(f"unknown event kind '{kind}'", "kind", f"use one of: {', '.join(KINDS)}")
    if not isinstance(at, (int, float)) or at < 0:
        return _fail(f"at_s must be a number of seconds >= 0, not {at!r}", "at_s",
                     "give the offset from the start of the phase")
    label = kind
    if kind in ("cut", "restore", "latency"):
        pairs: list[tuple[str, str]] = []
        if kind == "latency":
            link = raw.get("link")
            if not (isinstance(link, list) and len(link) == 2):
                return _fail("latency needs 'link: [router, router]'", "link", "name the link's ends")
            pairs = [(str(link[0]), str(link[1]))]
            ms = raw.get("one_way_ms")
            if ms == "nominal":  # back to what the topology says
                lk = next((x for x in topo.links if {x.a, x.b} == set(pairs[0])), None)
                if lk is not None:
                    ms = raw["one_way_ms"] = lk.latency_ms
            if not isinstance(ms, (int, float)) or ms < 0:
                return _fail("latency needs 'one_way_ms' >= 0 (or 'nominal')", "one_way_ms",
                             "give the new one-way latency in ms, or 'nominal' for the topology's")
        elif "between" in raw:
            cities = raw["between"]
            if not (isinstance(cities, list) and len(cities) == 2):
                return _fail("'between' takes two city ids", "between", "e.g. between: [nyc, lon]")
            for c in cities:
                if c not in topo.cities:
                    return _fail(f"unknown city '{c}'", "between", f"use one of: {', '.join(topo.cities)}")
            pairs = [(lk.a, lk.b) for lk in topo.links
                     if {topo.routers[lk.a].city, topo.routers[lk.b].city} == set(cities)
                     and cities[0] != cities[1]]
            if not pairs:
                return _fail(f"no link runs between {cities[0]} and {cities[1]}", "between",
                             "pick two cities joined by at least one link ('anycastlab check')")
            label = f"{kind} {cities[0]}–{cities[1]} ({len(pairs)} links)"
        else:
            links = raw.get("links")
            if not (isinstance(links, list) and links and all(isinstance(x, list) and len(x) == 2
                                                              for x in links)):
                return _fail(f"{kind} needs 'links: [[a, b], ...]' or 'between: [city, city]'",
                             "links", "name the links to cut")
            pairs = [(str(a), str(b)) for a, b in links]
        existing = {frozenset((lk.a, lk.b)) for lk in topo.links}
        for a, b in pairs:
            if frozenset((a, b)) not in existing:
                return _fail(f"no link between '{a}' and '{b}'", "links" if kind != "latency" else "link",
                             "see 'anycastlab check TOPOLOGY' for the links")
        if kind == "latency":
            label = f"latency {pairs[0][0]}–{pairs[0][1]} = {raw['one_way_ms']} ms"
        elif "between" not in raw:
            label = f"{kind} {', '.join(f'{a}–{b}' for a, b in pairs)}"
        return Event(kind, float(at), links=tuple(pairs), one_way_ms=raw.get("one_way_ms"),
                     label=label)
    if kind in ("pop-down", "pop-up"):
        pop, mode = raw.get("pop"), raw.get("mode", "withdraw")
        if pop not in topo.cdn.cities:
            return _fail(f"unknown PoP '{pop}'", "pop", f"use one of: {', '.join(topo.cdn.cities)}")
        if mode not in ("withdraw", "responder"):
            return _fail(f"unknown mode '{mode}'", "mode", "use 'withdraw' or 'responder'")
        return Event(kind, float(at), pop=pop, mode=mode, label=f"{kind} {pop} ({mode})")
    if kind in ("dns-down", "dns-up"):
        if set(raw) - {"kind", "at_s"}:
            k = sorted(set(raw) - {"kind", "at_s"})[0]
            return _fail(f"{kind} takes no '{k}'", k, "give only kind and at_s")
        return Event(kind, float(at), label=kind)
    if kind in ("provider-down", "provider-up"):
        k = raw.get("provider")
        if k not in providers:
            return _fail(f"'{k}' is not a provider of the CDN", "provider",
                         f"use one of: {', '.join(providers)}")
        return Event(kind, float(at), provider=k, label=f"{kind} {k}")
    ases = raw.get("ases")
    if not (isinstance(ases, list) and len(ases) == 2 and all(a in topo.ases for a in ases)):
        return _fail(f"{kind} needs 'ases: [a, b]' with two AS ids", "ases",
                     f"AS ids: {', '.join(topo.ases)}")
    if topo.rels.get((ases[0], ases[1])) != "peer":
        return _fail(f"'{ases[0]}' and '{ases[1]}' do not peer", "ases",
                     "depeer closes a peering: name two ASes with a 'peers' relationship")
    return Event(kind, float(at), ases=(ases[0], ases[1]), label=f"{kind} {ases[0]}–{ases[1]}")


def sessions_between(lab: Any, as_a: str, as_b: str) -> list[tuple[str, str]]:
    """(router, BIRD protocol) of every eBGP session between two ASes, both sides."""
    out = []
    for r in lab.plan.routers():
        if r.asid not in (as_a, as_b):
            continue
        other = as_b if r.asid == as_a else as_a
        for i in r.interfaces:
            peer = lab.plan.nodes[i.peer_node]
            if peer.kind == "router" and peer.asid == other:
                out.append((r.name, "ebgp_" + peer.name.replace("-", "_")))
    return out


def apply(lab: Any, ev: Event) -> None:
    """Carry out one event on a running lab."""
    if ev.kind in ("cut", "restore"):
        for a, b in ev.links:
            (lab.link_down if ev.kind == "cut" else lab.link_up)(a, b)
    elif ev.kind == "latency":
        a, b = ev.links[0]
        lab.set_latency(a, b, float(ev.one_way_ms or 0))
    elif ev.kind == "pop-down":
        if ev.mode == "responder":
            lab.stop_responder(ev.pop)
        else:
            lab.speaker(ev.pop).withdraw("all")
    elif ev.kind == "pop-up":
        if ev.mode == "responder":
            lab.start_responder(ev.pop)
        else:
            lab.speaker(ev.pop).announce("all")
    elif ev.kind in ("provider-down", "provider-up"):
        _set_sessions(lab, sessions_between(lab, lab.topo.cdn.id, ev.provider), ev.kind == "provider-up")
    elif ev.kind == "dns-down":
        lab.stop_dns()
    elif ev.kind == "dns-up":
        lab.start_dns()
    elif ev.kind in ("depeer", "repeer"):
        _set_sessions(lab, sessions_between(lab, *ev.ases), ev.kind == "repeer")


def _set_sessions(lab: Any, sessions: list[tuple[str, str]], up: bool) -> None:
    for router, proto in sessions:
        reply = lab.birdc(router).command(f"{'enable' if up else 'disable'} {proto}")
        if "not found" in reply.lower():
            raise InputError(f"{router} has no protocol {proto}")
