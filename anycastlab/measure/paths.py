"""The routed paths of the CDN's traffic, read from the lab's FIBs.

The load model (model/load.py) needs, for every client network and every
service prefix (global and each provider's), the link directions a request
crosses to the PoP that BGP picks and those the answer crosses back (from
that PoP's edge with the service address as source, as the kernel routes
it: the PoPs' return tables included). Nothing is predicted: each hop is the
kernel's own route lookup in the node's namespace (lab/routes.py, the
question ``ip route get`` asks), followed by the one walker in
model/paths.py.
"""
from __future__ import annotations

from typing import Any

from ..model.load import Hop
from ..model.paths import Walk, service_paths as walk_service_paths, walk

__all__ = ["Walk", "walk", "service_paths"]


def service_paths(lab: Any, clients: list[str], targets: dict[str, str]
                  ) -> dict[tuple[str, str], tuple[list[Hop], list[Hop]]]:
    """(client, target) -> (request hops, answer hops) for every service
    address in ``targets`` (target name -> address) that the client reaches
    and whose answer gets home, read from the lab's kernels now."""
    with lab.routes() as reader:
        return walk_service_paths(reader, lab.plan, clients, targets)
