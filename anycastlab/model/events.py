"""Events that change a running lab: the vocabulary of scenario timelines.

One class per event kind, registered in ``KINDS`` by its names: each
resolves its raw YAML against the topology first (pure, no root; an
EventError names the bad key) and applies a resolved Event to a lab later
(through the lab's public methods, so this module imports no lab code).
Adding a kind is one class here. Kinds:

  cut / restore        links: [[a, b], ...]  or  between: [city, city]
                       (every inter-city link between the two cities: a cable route)
  latency              link: [a, b], one_way_ms: X | nominal  (congestion or a
                       reroute; 'nominal' restores the topology's latency)
  congest / decongest  link: [a, b], and for congest any of mean_ms, sd_ms, tau_ms,
                       loss: the link's queueing delay and loss while it lasts
                       (model/variability.py); decongest: back to the topology's
  pop-down / pop-up    pop: <city>, mode: withdraw | responder
                       (the speaker withdraws everything, or the responder dies
                       and the health check must notice)
  provider-down / -up  provider: <as id>: every session CDN <-> provider drops
  depeer / repeer      ases: [a, b]: the peering sessions between two ASes close
  dns-down / dns-up    the CDN's PowerDNS servers (every PoP's, or the unicast
                       one) stop / start again (clients' queries time out;
                       they keep answers while the TTL allows)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Optional

from ..errors import InputError
from .suggest import did_you_mean
from .topology import Topology
from .variability import Variability


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
    variability: Optional[Variability] = None
    label: str = ""


@dataclass
class EventError:
    message: str
    key: str
    fix: str


class Kind:
    """One family of events (a pair such as cut/restore shares its class)."""

    names: ClassVar[tuple[str, ...]] = ()
    keys: ClassVar[frozenset[str]] = frozenset()  # beyond kind and at_s
    needs: ClassVar[Optional[str]] = None           # 'dns': only with DNS steering
    moves_routes: ClassVar[bool] = False             # may change routes (the load model re-reads paths)

    def resolve(self, kind: str, at: float, raw: dict[str, Any], topo: Topology,
                providers: list[str]) -> Event | EventError:
        raise NotImplementedError

    def apply(self, lab: Any, ev: Event) -> None:
        raise NotImplementedError


class LinkKind(Kind):
    names = ("cut", "restore")
    moves_routes = True
    keys = frozenset({"links", "between"})

    def resolve(self, kind, at, raw, topo, providers):  # type: ignore[no-untyped-def]
        if "between" in raw:
            cities = raw["between"]
            if not (isinstance(cities, list) and len(cities) == 2 and all(isinstance(c, str) for c in cities)):
                return EventError("'between' takes two city ids", "between", "e.g. between: [nyc, lon]")
            for c in cities:
                if c not in topo.cities:
                    return EventError(f"unknown city '{c}'", "between", f"use one of: {', '.join(topo.cities)}")
            pairs = [(lk.a, lk.b) for lk in topo.links
                     if {topo.routers[lk.a].city, topo.routers[lk.b].city} == set(cities)
                     and cities[0] != cities[1]]
            if not pairs:
                return EventError(f"no link runs between {cities[0]} and {cities[1]}", "between",
                                  "pick two cities joined by at least one link ('anycastlab check')")
            label = f"{kind} {cities[0]}–{cities[1]} ({len(pairs)} links)"
        else:
            links = raw.get("links")
            if not (isinstance(links, list) and links and all(isinstance(x, list) and len(x) == 2
                                                              for x in links)):
                return EventError(f"{kind} needs 'links: [[a, b], ...]' or 'between: [city, city]'",
                                  "links", "name the links to cut")
            pairs = [(str(a), str(b)) for a, b in links]
            label = f"{kind} {', '.join(f'{a}–{b}' for a, b in pairs)}"
        bad = unknown_link(topo, pairs, "links")
        return bad or Event(kind, at, links=tuple(pairs), label=label)

    def apply(self, lab, ev):  # type: ignore[no-untyped-def]
        for a, b in ev.links:
            (lab.link_down if ev.kind == "cut" else lab.link_up)(a, b)


def one_link(kind: str, raw: dict[str, Any], topo: Topology) -> tuple[str, str] | EventError:
    """The 'link: [a, b]' of an event that acts on one link."""
    link = raw.get("link")
    if not (isinstance(link, list) and len(link) == 2):
        return EventError(f"{kind} needs 'link: [router, router]'", "link", "name the link's ends")
    pair = (str(link[0]), str(link[1]))
    return unknown_link(topo, [pair], "link") or pair


class LatencyKind(Kind):
    names = ("latency",)
    keys = frozenset({"link", "one_way_ms"})

    def resolve(self, kind, at, raw, topo, providers):  # type: ignore[no-untyped-def]
        pair = one_link(kind, raw, topo)
        if isinstance(pair, EventError):
            return pair
        ms = raw.get("one_way_ms")
        if ms == "nominal":  # back to what the topology says
            ms = next(x.latency_ms for x in topo.links if {x.a, x.b} == set(pair))
        if isinstance(ms, bool) or not isinstance(ms, (int, float)) or not 0 <= ms <= 1000:
            return EventError(f"latency needs 'one_way_ms' from 0 to 1000 (or 'nominal'), not {ms!r}",
                              "one_way_ms", "give the new one-way latency in ms, or 'nominal' for the "
                              "topology's (1000 ms one way is beyond any path on earth)")
        return Event(kind, at, links=(pair,), one_way_ms=ms,
                     label=f"latency {pair[0]}–{pair[1]} = {ms} ms")

    def apply(self, lab, ev):  # type: ignore[no-untyped-def]
        a, b = ev.links[0]
        lab.set_latency(a, b, float(ev.one_way_ms or 0))


class CongestKind(Kind):
    names = ("congest", "decongest")
    keys = frozenset({"link", "mean_ms", "sd_ms", "tau_ms", "loss"})

    def resolve(self, kind, at, raw, topo, providers):  # type: ignore[no-untyped-def]
        pair = one_link(kind, raw, topo)
        if isinstance(pair, EventError):
            return pair
        fields = {k: raw[k] for k in ("mean_ms", "sd_ms", "tau_ms", "loss") if k in raw}
        if kind == "decongest":
            if fields:
                return EventError("decongest takes only 'link'", sorted(fields)[0],
                                  "it restores the topology's variability")
            return Event(kind, at, links=(pair,), label=f"decongest {pair[0]}–{pair[1]}")
        if not fields:
            return EventError("congest needs mean_ms, loss or both", "mean_ms",
                              "e.g. {kind: congest, link: [a, b], mean_ms: 20, sd_ms: 10, loss: 0.01}")
        try:
            v = Variability(**fields)
        except ValueError as e:
            msg = str(e).splitlines()
            key = next((k for k in fields if any(k in line for line in msg)), sorted(fields)[0])
            return EventError(f"bad congestion: {msg[-1].strip() if msg else e}", key,
                              "mean_ms, sd_ms 0 to 1000 (sd_ms needs mean_ms), tau_ms 1 to 600000, loss 0 to 0.5")
        what = ", ".join(f"{k} {fields[k]}" for k in fields)
        return Event(kind, at, links=(pair,), variability=v, label=f"congest {pair[0]}–{pair[1]} ({what})")

    def apply(self, lab, ev):  # type: ignore[no-untyped-def]
        a, b = ev.links[0]
        lab.set_variability(a, b, ev.variability)


class PopKind(Kind):
    names = ("pop-down", "pop-up")
    moves_routes = True
    keys = frozenset({"pop", "mode"})
    MODES = ("withdraw", "responder")

    def resolve(self, kind, at, raw, topo, providers):  # type: ignore[no-untyped-def]
        pop, mode = raw.get("pop"), raw.get("mode", "withdraw")
        if pop not in topo.cdn.cities:
            return EventError(f"unknown PoP '{pop}'", "pop", f"use one of: {', '.join(topo.cdn.cities)}")
        if mode not in self.MODES:
            return EventError(f"unknown mode '{mode}'", "mode", "use 'withdraw' or 'responder'")
        return Event(kind, at, pop=pop, mode=mode, label=f"{kind} {pop} ({mode})")

    def apply(self, lab, ev):  # type: ignore[no-untyped-def]
        up = ev.kind == "pop-up"
        if ev.mode == "responder":
            (lab.start_responder if up else lab.stop_responder)(ev.pop)
        else:
            sp = lab.speaker(ev.pop)
            (sp.announce if up else sp.withdraw)("all")


class ProviderKind(Kind):
    names = ("provider-down", "provider-up")
    moves_routes = True
    keys = frozenset({"provider"})

    def resolve(self, kind, at, raw, topo, providers):  # type: ignore[no-untyped-def]
        k = raw.get("provider")
        if k not in providers:
            return EventError(f"'{k}' is not a provider of the CDN", "provider",
                              f"use one of: {', '.join(providers)}")
        return Event(kind, at, provider=k, label=f"{kind} {k}")

    def apply(self, lab, ev):  # type: ignore[no-untyped-def]
        set_sessions(lab, sessions_between(lab, lab.topo.cdn.id, ev.provider), ev.kind == "provider-up")


class PeeringKind(Kind):
    names = ("depeer", "repeer")
    moves_routes = True
    keys = frozenset({"ases"})

    def resolve(self, kind, at, raw, topo, providers):  # type: ignore[no-untyped-def]
        ases = raw.get("ases")
        if not (isinstance(ases, list) and len(ases) == 2
                and all(isinstance(a, str) and a in topo.ases for a in ases)):
            return EventError(f"{kind} needs 'ases: [a, b]' with two AS ids", "ases",
                              f"AS ids: {', '.join(topo.ases)}")
        if topo.rels.get((ases[0], ases[1])) != "peer":
            return EventError(f"'{ases[0]}' and '{ases[1]}' do not peer", "ases",
                              "depeer closes a peering: name two ASes with a 'peers' relationship")
        return Event(kind, at, ases=(ases[0], ases[1]), label=f"{kind} {ases[0]}–{ases[1]}")

    def apply(self, lab, ev):  # type: ignore[no-untyped-def]
        set_sessions(lab, sessions_between(lab, *ev.ases), ev.kind == "repeer")


class DnsKind(Kind):
    names = ("dns-down", "dns-up")
    needs = "dns"

    def resolve(self, kind, at, raw, topo, providers):  # type: ignore[no-untyped-def]
        return Event(kind, at, label=kind)

    def apply(self, lab, ev):  # type: ignore[no-untyped-def]
        (lab.start_dns if ev.kind == "dns-up" else lab.stop_dns)()


REGISTRY: dict[str, Kind] = {n: k for cls in (LinkKind, LatencyKind, CongestKind, PopKind, ProviderKind,
                                              PeeringKind, DnsKind)
                             for k in (cls(),) for n in cls.names}
KINDS = tuple(REGISTRY)


def unknown_link(topo: Topology, pairs: list[tuple[str, str]], key: str) -> Optional[EventError]:
    existing = {frozenset((lk.a, lk.b)) for lk in topo.links}
    for a, b in pairs:
        if frozenset((a, b)) not in existing:
            return EventError(f"no link between '{a}' and '{b}'", key,
                              "see 'anycastlab check TOPOLOGY' for the links")
    return None


def resolve(raw: dict[str, Any], topo: Topology, providers: list[str]) -> Event | EventError:
    """Check one event against the topology; an EventError names the bad key."""
    kind, at = raw.get("kind"), raw.get("at_s", 0)
    if not isinstance(kind, str) or kind not in REGISTRY:
        hint = did_you_mean(kind, KINDS) if isinstance(kind, str) else ""
        return EventError(f"unknown event kind {kind!r}{hint}", "kind", f"use one of: {', '.join(KINDS)}")
    k = REGISTRY[kind]
    allowed = {"kind", "at_s"} | k.keys
    extra = sorted(str(k) for k in set(raw) - allowed)
    if extra:
        return EventError(f"unknown key '{extra[0]}' for {kind}{did_you_mean(extra[0], allowed)}",
                          extra[0], f"allowed keys: {', '.join(sorted(allowed))}")
    if isinstance(at, bool) or not isinstance(at, (int, float)) or not 0 <= at < float("inf"):
        return EventError(f"at_s must be a number of seconds >= 0, not {at!r}", "at_s",
                          "give the offset from the start of the phase")
    try:
        return k.resolve(kind, float(at), raw, topo, providers)
    except (TypeError, ValueError, AttributeError, KeyError) as e:  # a shape no check above foresaw
        return EventError(f"malformed {kind} event ({type(e).__name__}: {e})", kind,
                          "see docs/scenarios.md for the keys of each event kind and their types")


def needs(kind: str) -> Optional[str]:
    """What an event kind needs beyond a lab (e.g. 'dns': DNS steering on)."""
    return REGISTRY[kind].needs


def moves_routes(kind: str) -> bool:
    """Whether an event of this kind may change which paths traffic takes."""
    return REGISTRY[kind].moves_routes


def apply(lab: Any, ev: Event) -> None:
    """Carry out one event on a running lab, then tell its listeners (the live view)."""
    REGISTRY[ev.kind].apply(lab, ev)
    for listener in list(getattr(lab, "event_listeners", [])):
        listener(ev.label)


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


def set_sessions(lab: Any, sessions: list[tuple[str, str]], up: bool) -> None:
    for router, proto in sessions:
        reply = lab.birdc(router).command(f"{'enable' if up else 'disable'} {proto}")
        if "not found" in reply.lower():
            raise InputError(f"{router} has no protocol {proto}")
