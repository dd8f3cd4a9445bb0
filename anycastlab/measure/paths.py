"""The routed paths of the CDN's traffic, read from the lab's FIBs.

The load model (model/load.py) needs, for every client network and every
service prefix (global and each provider's), the link directions a request
crosses to the PoP that BGP picks and those the answer crosses back (from
that PoP's edge with the service address as source, as the kernel routes
it: the PoPs' return tables included). Nothing is predicted: each hop is the
kernel's own route lookup in the node's namespace (lab/routes.py, the
question ``ip route get`` asks), hop by hop.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from ..model.addressing import client_host_name, edge_host_name
from ..model.load import Hop

MAX_HOPS = 40


@dataclass
class Walk:
    start: str
    dst: str
    src: Optional[str] = None   # set: looked up as a forwarded packet of that source
    hops: list[Hop] = field(default_factory=list)
    end: str = ""               # the node where dst is local; "" if it never got there


def walk(reader: Any, plan: Any, w: Walk, cache: Optional[dict] = None) -> Walk:
    """Follow one packet from ``w.start`` hop by hop through the FIBs; ``cache``
    keeps answers across walks of one reading (many paths share hops)."""
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


def service_paths(lab: Any, clients: list[str], targets: dict[str, str]
                  ) -> dict[tuple[str, str], tuple[list[Hop], list[Hop]]]:
    """(client, target) -> (request hops, answer hops) for every service
    address in ``targets`` (target name -> address) that the client reaches.
    The answer leaves the PoP's edge host the request arrived at."""
    out: dict[tuple[str, str], tuple[list[Hop], list[Hop]]] = {}
    cache: dict[tuple, tuple[str, Optional[str]]] = {}
    with lab.routes() as reader:
        for c in clients:
            host = client_host_name(c)
            for t, addr in targets.items():
                fwd = walk(reader, lab.plan, Walk(host, addr), cache)
                if not fwd.end.startswith(edge_host_name("")):
                    continue
                back = walk(reader, lab.plan, Walk(fwd.end, lab.plan.nodes[host].interfaces[0].ip, src=addr),
                            cache)
                if back.end == host:
                    out[(c, t)] = (fwd.hops, back.hops)
    return out
