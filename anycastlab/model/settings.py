"""Settings of a run, as plain frozen dataclasses: probes, IPA steering, DNS,
the PoPs' health check, and the service ports and names.

They live here, not beside the code that uses them, because a scenario file
sets all of them and the model must not import the layers that run a lab.
"""
from __future__ import annotations

from dataclasses import dataclass

RESPONDER_PORT = 7777  # UDP port of the anycast responder on every PoP
DNS_PORT = 53
ZONE = "cdn.lab"
NAMES = {"global": f"global.{ZONE}", "ipa": f"ipa.{ZONE}"}  # the steering names clients resolve


@dataclass(frozen=True)
class ProbeSettings:
    count: int = 10          # rounds per client; each round probes every target once
    interval_s: float = 0.2  # between rounds
    timeout_s: float = 1.5   # wait for answers to a round (world's longest RTT is ~0.45 s)
    concurrency: int = 4     # clients probing at the same time (2 cores)
    udp: bool = True
    icmp: bool = True


@dataclass(frozen=True)
class Steering:
    """How IPA turns WAN scores into traffic shares (analysis/baseline.py, ``allocate``).

    cap 0.9: the top provider takes 90 % of a client network's traffic,
    never all of it (the post's "never all-in": if the favourite fails, at
    most 90 % is stranded, and the rest is known to work); threshold 0.1:
    the rest goes only to providers that beat the network's nominal RTT at
    least one time in ten (else to the runner-up alone), by wins^bias;
    bias 2 favours the near winners over a linear split; floor 0: every
    client probes every provider prefix, so no provider needs traffic to
    stay measured (the share model before the seed's ranking was cap 0.9,
    floor 0.02, threshold 0: 2 % on every provider, however far).
    headroom 0.8: no share may push a CDN port (a link direction leaving a
    CDN router for another AS) past 80 % utilisation, where the queueing
    delay of a loaded port climbs steeply (model/headroom.py; analysis/load.py
    calls 80 % hot); IPA share is moved to the client's next providers by
    WAN rank instead. 0 switches the rule off; 1 allows a port up to its
    capacity; above 1 (at most 10) only overloads beyond that are refused.
    It needs the load model (the routed paths, demand and capacities).
    """

    cap: float = 0.9
    floor: float = 0.0
    bias: float = 2.0
    window_s: float = 5.0   # through a timeline: shares recomputed from each window's samples
    threshold: float = 0.1
    headroom: float = 0.8

    def __post_init__(self) -> None:
        if not 0.0 <= self.headroom <= 10.0:  # also refuses NaN
            from ..errors import InputError

            raise InputError(f"headroom {self.headroom} is out of range", key="steering.headroom",
                             fix="give a utilisation between 0 (off) and 10; 0.8 is the default")


@dataclass(frozen=True)
class DnsSettings:
    """How clients meet DNS.

    ttl_s 10: the TTL of both names. Short, as CDN steering names are
    (tens of seconds), and short enough that a 30 s phase shows a reaction;
    a client keeps an answer for exactly this long.
    rest_s 20: at rest, how long clients resolve and probe their answers
    once the zone holds the measured shares (two TTLs: two or three
    answers per client).
    timeout_s 1: a query with no reply within this is a failed resolution;
    the client asks again at its next probe round.
    prefetch_s 1: a resolver re-asks this long before its answer expires
    (jittered over the last half of it), so a working server never leaves
    it without an answer.
    resolvers 32: each client network has this many resolvers (its users'
    caches), each a real DNS client with its own socket, TTL cache and
    draws; the network's IPA probes take their turns, so the answers it
    uses converge to the zone's shares (one resolver draws one answer per
    TTL: about 3 in a 20 s stage, 96 with 32).
    server "anycast": the zone is served by a PowerDNS at every PoP's edge
    on one DNS service address announced from every PoP, as real CDNs serve
    their names; "unicast": one server behind the first PoP's router.
    """

    ttl_s: int = 10
    rest_s: float = 20.0
    timeout_s: float = 1.0
    prefetch_s: float = 1.0
    resolvers: int = 32
    server: str = "anycast"


@dataclass(frozen=True)
class Load:
    """The CDN's traffic as load on the links (model/load.py).

    ipa_fraction 0.5: half of every network's demand is served under IPA
    (through the provider prefixes, by the network's shares), half under
    global anycast, as a CDN that runs both side by side does (Fastly serves
    PyPI through IPA and most of its other names through global anycast);
    both schemes' probes therefore ride the same load.
    """

    ipa_fraction: float = 0.5


@dataclass(frozen=True)
class Health:
    """Health check of the local responder, as ``exabgp healthcheck`` does it.

    Withdrawal happens at most ``fall * interval + timeout`` seconds after
    the responder stops answering (1.3 s with the defaults).
    """

    interval: float = 0.5
    timeout: float = 0.3
    fall: int = 2
    rise: int = 2
