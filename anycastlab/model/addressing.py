"""The address plan: deterministic addresses for every node and link.

Derived from the topology's file order alone, so the same file always gives
the same addresses (golden files, reproducible runs, reports that line up).
Two layouts of the site prefixes, chosen by size: *compact* while every AS
number fits an octet (up to 254 ASes, 254 routers per AS), so an address
names its AS; *wide* beyond that, numbering routers across the whole
topology (up to 65,535 routers, in any split over ASes).

    10.<as>.<site>.0/24   compact: router number <site> of AS number <as>
    10.<g/256>.<g%256>.0/24  wide: router number g (1, 2, ...) in file order;
                          either way originated in BGP by that router
      .1/32               the router's loopback (router id, iBGP endpoint)
      .128/25             LAN behind the router: router .129, host .130
      .64/26              the CDN's first PoP only: LAN of the DNS host
                          (router .65, host .66, the DNS service address)
    100.64.0.0/10         point-to-point link /30s, link i -> 100.64.0.0 + 4 i
    198.18.0.0/15         CDN service prefixes (reserved here, see ServicePlan)
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from typing import Any, Optional

from ..errors import TopologyError
from .topology import Topology
from .variability import Variability

LINK_BLOCK = ipaddress.ip_network("100.64.0.0/10")
COMPACT_MAX = 254      # compact layout: ASes, and routers per AS (one octet each)
MAX_ROUTERS = 65535    # wide layout: /24s in 10.0.0.0/8 (10.0.0.0/24 unused)
MAX_LINKS = LINK_BLOCK.num_addresses // 4
SERVICE_BLOCK = ipaddress.ip_network("198.18.0.0/15")


@dataclass(frozen=True)
class Interface:
    node: str
    name: str
    ip: str
    prefixlen: int
    peer_node: str
    peer_ip: str
    peer_intf: str
    latency_ms: float  # one-way delay applied when leaving through here
    link: Optional[int]  # topology link index; None for a LAN link
    vary: Optional[Variability] = None  # queueing delay and loss when leaving; None: none

    @property
    def cidr(self) -> str:
        return f"{self.ip}/{self.prefixlen}"


@dataclass
class Node:
    name: str
    kind: str  # "router" or "host"
    asid: str
    city: str
    loopback: Optional[str] = None
    site_prefix: Optional[str] = None
    lan_prefix: Optional[str] = None
    gateway: Optional[str] = None  # hosts: default route via this address
    interfaces: list[Interface] = field(default_factory=list)


@dataclass(frozen=True)
class ServicePlan:
    """CDN service prefixes, all from 198.18.0.0/15 (RFC 2544 space).

    global G: 198.18.0.0/24; per provider k (CDN's providers in file order,
    k = 1, 2, ...): 198.18.k.0/24; per PoP p (CDN cities in file order,
    p = 1, 2, ...): unicast 198.19.p.0/24; the authoritative DNS D:
    198.19.0.0/24, announced from every PoP like G (anycast DNS: a PowerDNS
    at every PoP's edge answers on D.1). Service address is .1 of each.
    ``pop_providers`` lists, per PoP city, the providers it has a link to.
    """

    global_prefix: str
    provider_prefixes: dict[str, str]
    pop_prefixes: dict[str, str]
    pop_providers: dict[str, list[str]]
    dns_address: str = ""  # the unicast DNS server (in the first PoP's site prefix)
    dns_prefix: str = "198.19.0.0/24"  # the anycast DNS service prefix D

    def dns_server(self, mode: str) -> str:
        """The address clients ask: D.1 (``anycast``) or the unicast server's."""
        return self.address(self.dns_prefix) if mode == "anycast" else self.dns_address

    @staticmethod
    def address(prefix: str) -> str:
        return str(ipaddress.ip_network(prefix).network_address + 1)

    def pop_announcements(self, pop: str) -> dict[str, tuple[str, list[str]]]:
        """What PoP ``pop`` announces: name -> (prefix, providers to export to).

        Names are ``global``, ``provider:<k>``, ``unicast`` and ``dns``. G goes
        to every provider of the PoP, P_k only to k, U_p and D to every
        provider of the PoP.
        """
        provs = self.pop_providers[pop]
        out = {"global": (self.global_prefix, list(provs))}
        for k in provs:
            out[f"provider:{k}"] = (self.provider_prefixes[k], [k])
        out["unicast"] = (self.pop_prefixes[pop], list(provs))
        out["dns"] = (self.dns_prefix, list(provs))
        return out

    def scheme_prefixes(self) -> dict[str, str]:
        """Every service prefix a client may probe: name -> prefix."""
        out = {"global": self.global_prefix}
        out.update({f"provider:{k}": p for k, p in self.provider_prefixes.items()})
        out.update({f"unicast:{c}": p for c, p in self.pop_prefixes.items()})
        return out

    def scheme_targets(self) -> dict[str, str]:
        """Every service address a client may probe: name -> address."""
        return {name: self.address(p) for name, p in self.scheme_prefixes().items()}


@dataclass
class AddressPlan:
    nodes: dict[str, Node]
    services: ServicePlan

    def routers(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.kind == "router"]

    def hosts(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.kind == "host"]

    def interface(self, node: str, peer: str) -> Interface:
        for intf in self.nodes[node].interfaces:
            if intf.peer_node == peer:
                return intf
        raise KeyError(f"{node} has no interface towards {peer}")


def router_name(asid: str, city: str) -> str:
    """An AS's router in a city (the topology names them so)."""
    return f"{asid}-{city}"


def client_router_name(a: Any) -> str:
    """A client network's router: its AS's first city (where its host hangs)."""
    return router_name(a.id, a.cities[0])


def client_host_name(asid: str) -> str:
    return f"h-{asid}"


def edge_host_name(city: str) -> str:
    """The PoP's edge host: ExaBGP speaker and anycast responder."""
    return f"e-{city}"


DNS_HOST = "dns"


def layout(topo: Topology) -> str:
    """``compact`` (10.<as>.<site>) when every AS number and site number fits
    an octet, else ``wide`` (routers numbered across the topology)."""
    per_as: dict[str, int] = {}
    for r in topo.routers.values():
        per_as[r.asid] = per_as.get(r.asid, 0) + 1
    fits = len(topo.ases) <= COMPACT_MAX and max(per_as.values(), default=0) <= COMPACT_MAX
    return "compact" if fits else "wide"


def plan_limits(topo: Topology) -> list[tuple[str, str, str]]:
    """What overflows the address plan: (key, message, fix); [] when it fits."""
    out = []
    if len(topo.routers) > MAX_ROUTERS:
        out.append(("routers", f"{len(topo.routers)} routers; the address plan holds {MAX_ROUTERS:,} "
                    "(one /24 each in 10.0.0.0/8)", "use fewer routers (generate a smaller topology)"))
    if len(topo.links) > MAX_LINKS:
        out.append(("links", f"{len(topo.links)} links; the address plan holds {MAX_LINKS:,} "
                    "(one /30 each in 100.64.0.0/10)", "use fewer links"))
    return out


def plan_addresses(topo: Topology) -> AddressPlan:
    """Assign every address; raises TopologyError when a block overflows."""
    for key, msg, fix in plan_limits(topo):
        raise TopologyError(msg, file=topo.path, key=key, fix=fix)
    wide = layout(topo) == "wide"
    nodes: dict[str, Node] = {}
    site_no: dict[str, int] = {}
    for g, r in enumerate(topo.routers.values(), start=1):
        a = topo.ases[r.asid]
        site_no[r.asid] = site_no.get(r.asid, 0) + 1
        base = f"10.{g >> 8}.{g & 255}" if wide else f"10.{a.index}.{site_no[r.asid]}"
        nodes[r.name] = Node(r.name, "router", r.asid, r.city, loopback=f"{base}.1",
                             site_prefix=f"{base}.0/24")
    counters = {name: 0 for name in nodes}

    def next_intf(node: str) -> str:
        n = counters.get(node, 0)
        counters[node] = n + 1
        return f"{node}-e{n}"

    base_int = int(LINK_BLOCK.network_address)
    for lk in topo.links:
        ip_a = str(ipaddress.ip_address(base_int + 4 * lk.index + 1))
        ip_b = str(ipaddress.ip_address(base_int + 4 * lk.index + 2))
        na, nb = next_intf(lk.a), next_intf(lk.b)
        vary = lk.variability if lk.variability.active else None
        nodes[lk.a].interfaces.append(Interface(lk.a, na, ip_a, 30, lk.b, ip_b, nb,
                                                lk.latency_ms, lk.index, vary))
        nodes[lk.b].interfaces.append(Interface(lk.b, nb, ip_b, 30, lk.a, ip_a, na,
                                                lk.latency_ms, lk.index, vary))

    for a in topo.clients():
        router = nodes[client_router_name(a)]
        _attach_host(nodes, router, client_host_name(a.id), topo.settings.lan_ms, next_intf)

    cdn = topo.cdn
    for city in cdn.cities:
        _attach_host(nodes, nodes[f"{cdn.id}-{city}"], edge_host_name(city),
                     topo.settings.lan_ms, next_intf)
    dns = _attach_dns_host(nodes, nodes[router_name(cdn.id, cdn.cities[0])], topo.settings.lan_ms,
                           next_intf)
    lan_vary = topo.settings.class_variability("lan")
    if lan_vary.active:  # host LANs: only when the file asks for it
        for node in nodes.values():
            node.interfaces = [replace(i, vary=lan_vary) if i.link is None else i
                               for i in node.interfaces]
    providers = sorted(topo.providers_of(cdn.id), key=lambda t: topo.ases[t].index)
    pop_providers = {}
    for city in cdn.cities:
        here = {nodes[i.peer_node].asid for i in nodes[f"{cdn.id}-{city}"].interfaces
                if nodes[i.peer_node].kind == "router"}
        pop_providers[city] = [k for k in providers if k in here]
    services = ServicePlan(
        global_prefix="198.18.0.0/24",
        provider_prefixes={k: f"198.18.{i}.0/24" for i, k in enumerate(providers, start=1)},
        pop_prefixes={c: f"198.19.{i}.0/24" for i, c in enumerate(cdn.cities, start=1)},
        pop_providers=pop_providers,
        dns_address=dns,
    )
    return AddressPlan(nodes, services)


def _attach_host(nodes: dict[str, Node], router: Node, host: str, lan_ms: float,
                 next_intf) -> None:  # type: ignore[no-untyped-def]
    """Put a host on the router's LAN (.129 router, .130 host)."""
    assert router.site_prefix
    base = router.site_prefix.rsplit(".", 1)[0]
    router.lan_prefix = f"{base}.128/25"
    ri, hi = next_intf(router.name), next_intf(host)
    nodes[host] = Node(host, "host", router.asid, router.city, gateway=f"{base}.129",
                       site_prefix=router.site_prefix, lan_prefix=router.lan_prefix)
    router.interfaces.append(Interface(router.name, ri, f"{base}.129", 25, host,
                                       f"{base}.130", hi, lan_ms, None))
    nodes[host].interfaces.append(Interface(host, hi, f"{base}.130", 25, router.name,
                                            f"{base}.129", ri, lan_ms, None))


def _attach_dns_host(nodes: dict[str, Node], router: Node, lan_ms: float,
                     next_intf) -> str:  # type: ignore[no-untyped-def]
    """The DNS host on its own LAN (.64/26) behind the first PoP's router.

    Its address lies inside the router's site prefix, which BGP carries to
    every client: the server is reachable by unicast, not by anycast.
    Returns the DNS service address."""
    assert router.site_prefix
    base = router.site_prefix.rsplit(".", 1)[0]
    ri, hi = next_intf(router.name), next_intf(DNS_HOST)
    nodes[DNS_HOST] = Node(DNS_HOST, "host", router.asid, router.city, gateway=f"{base}.65",
                           site_prefix=router.site_prefix, lan_prefix=f"{base}.64/26")
    router.interfaces.append(Interface(router.name, ri, f"{base}.65", 26, DNS_HOST,
                                       f"{base}.66", hi, lan_ms, None))
    nodes[DNS_HOST].interfaces.append(Interface(DNS_HOST, hi, f"{base}.66", 26, router.name,
                                                f"{base}.65", ri, lan_ms, None))
    return f"{base}.66"


def mac_addresses(plan: AddressPlan) -> dict[str, str]:
    """A MAC address per interface name, locally administered (02:...), numbered
    in plan order. The lab sets them on the veths and writes every
    point-to-point neighbour as a permanent entry: the kernel's ARP table is
    one table for all namespaces, capped (gc_thresh3, 1,024 by default, only
    settable in the root namespace), and a thousand-router lab would
    overflow it with learned entries; permanent ones are not counted."""
    out = {}
    for i, intf in enumerate(i for n in plan.nodes.values() for i in n.interfaces):
        out[intf.name] = "02:a1:" + ":".join(f"{b:02x}" for b in i.to_bytes(4, "big"))
    return out


def provider_addresses(plan: AddressPlan) -> dict[str, str]:
    sv = plan.services
    return {k: sv.address(p) for k, p in sv.provider_prefixes.items()}
