"""The routing policy's pure pieces, shared by the BIRD renderer
(config/bird.py) and the simulator (sim/), so both route by one rule:
local preference and tag by relationship, OSPF cost from latency, and the
interface each PoP's per-provider return path leaves through.
"""
from __future__ import annotations

from .addressing import AddressPlan, Interface, Node

# Relationship of the neighbour -> (BIRD local role, tag, local preference).
# Customers pay, so their routes win; peers are free; providers cost money.
POLICY = {
    "customer": ("provider", 1, 300),
    "peer": ("peer", 2, 200),
    "provider": ("customer", 3, 100),
}


def ospf_cost(latency_ms: float) -> int:
    """OSPF cost from one-way latency: units of 0.1 ms, at least 1."""
    return max(1, min(65535, round(latency_ms * 10)))


def return_interfaces(plan: AddressPlan, node: Node) -> list[tuple[str, Interface]]:
    """(provider k, the interface towards k) for each provider of a PoP
    border router, in ``pop_providers`` order: replies sourced from P_k
    leave the PoP through it (the first link to k when there are several)."""
    return [(k, next(i for i in node.interfaces if plan.nodes[i.peer_node].asid == k))
            for k in plan.services.pop_providers[node.city]]
