"""Walking a packet hop by hop through routing tables: one walker for
whoever can answer "what does node N do with a packet to D".

The answers come from a *route reader*: the lab's kernels over netlink
(lab/routes.py), or any object with the same ``get``. The walker itself is
pure: it follows the answers through the address plan's interfaces. Three
users share it: the load model's paths (measure/paths.py), the lab's
readiness check (every client reaches every service it should, and the
answer gets home: lab/bird.py) and the tests.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional, Protocol

from .addressing import AddressPlan, client_host_name, edge_host_name
from .load import Hop

MAX_HOPS = 40
Answer = tuple[str, Optional[str]]      # (unicast | local | none, the device it leaves by)


class RouteSource(Protocol):
    """What a walk asks at each node."""

    def get(self, node: str, dst: str, src: Optional[str] = None,
            iif: Optional[str] = None) -> Answer: ...


@dataclass
class Walk:
    """One packet: from ``start`` to ``dst`` (looked up as a forwarded packet
    of ``src`` when given); ``hops`` it crossed; ``end`` the node where
    ``dst`` is local, "" if it never got there."""

    start: str
    dst: str
    src: Optional[str] = None
    hops: list[Hop] = field(default_factory=list)
    end: str = ""


def walk(reader: RouteSource, plan: AddressPlan, w: Walk, cache: Optional[dict] = None) -> Walk:
    """Follow one packet from ``w.start`` hop by hop; ``cache`` keeps answers
    across the walks of one reading (many paths share hops)."""
    node, iif = w.start, None
    cache = {} if cache is None else cache
    for _ in range(MAX_HOPS):
        key = (node, w.dst, w.src, iif if w.src else None)
        if key not in cache:
            cache[key] = reader.get(node, w.dst, w.src, iif if w.src else None)
        kind, dev = cache[key]
        if kind == "local":
            w.end = node
            return w
        intf = next((i for i in plan.nodes[node].interfaces if i.name == dev), None)
        if kind != "unicast" or intf is None:
            return w
        w.hops.append((node, intf.peer_node))
        iif = plan.interface(intf.peer_node, node).name
        node = intf.peer_node
    return w


def service_path(reader: RouteSource, plan: AddressPlan, client: str, addr: str,
                 cache: Optional[dict] = None) -> tuple[Walk, Optional[Walk]]:
    """A request from ``client``'s host to a service address and, if it
    reached a PoP's edge host, the answer from there (the service address
    as source) back to the host."""
    host = client_host_name(client)
    fwd = walk(reader, plan, Walk(host, addr), cache)
    if not fwd.end.startswith(edge_host_name("")):
        return fwd, None
    back = walk(reader, plan, Walk(fwd.end, plan.nodes[host].interfaces[0].ip, src=addr), cache)
    return fwd, back


def service_paths(reader: RouteSource, plan: AddressPlan, clients: Iterable[str],
                  targets: dict[str, str]) -> dict[tuple[str, str], tuple[list[Hop], list[Hop]]]:
    """(client, target) -> (request hops, answer hops) for every service
    address in ``targets`` (target name -> address) that the client reaches
    and whose answer gets home; pairs that do not are absent."""
    out: dict[tuple[str, str], tuple[list[Hop], list[Hop]]] = {}
    cache: dict = {}
    for c in clients:
        for t, addr in targets.items():
            fwd, back = service_path(reader, plan, c, addr, cache)
            if back is not None and back.end == client_host_name(c):
                out[(c, t)] = (fwd.hops, back.hops)
    return out


def describe_failure(fwd: Walk, back: Optional[Walk]) -> str:
    """Where a service path broke, for a message: the last node reached."""
    if back is None:
        last = fwd.hops[-1][1] if fwd.hops else fwd.start
        return f"the request stops at {last}"
    last = back.hops[-1][1] if back.hops else back.start
    return f"the answer from {back.start} stops at {last}"
