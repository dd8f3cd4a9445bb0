"""BGP's decision between two routes, as BIRD 2.0.12 takes it: one pure
function shared by the lab's explain (routes parsed from ``birdc``) and the
simulator (routes it computed), so both name the same deciding step.

BIRD 2.0.12's order (proto/bgp/attrs.c, ``bgp_rte_better``), for the
attributes this lab uses: resolvable next hop, local preference, AS-path
length, origin, MED (same neighbour AS), eBGP over iBGP, IGP cost, router
id, neighbour address. (Stale routes, AIGP and cluster lists never occur
here: no graceful restart, no route reflectors.)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Protocol, Sequence

# BGP's ORIGIN attribute as BIRD prints it -> its rank (lower wins)
ORIGIN = {"IGP": 0, "EGP": 1, "Incomplete": 2}


class RouteAttrs(Protocol):
    """What the decision reads of a route (measure/explain.py's ``Route`` and
    the simulator's ``Attrs`` both have it)."""

    @property
    def reachable(self) -> bool: ...
    @property
    def local_pref(self) -> int: ...
    @property
    def as_path(self) -> Sequence[int]: ...
    @property
    def origin(self) -> str: ...
    @property
    def med(self) -> Optional[int]: ...
    @property
    def internal(self) -> bool: ...
    @property
    def igp_metric(self) -> Optional[int]: ...


@dataclass(frozen=True)
class Attrs:
    """A route's attributes as plain values (``internal``: learned over iBGP
    or from the PoP's own speaker; ``igp_metric`` None for a direct session)."""

    local_pref: int
    as_path: tuple[int, ...]
    internal: bool = False
    igp_metric: Optional[int] = None
    origin: str = "IGP"
    med: Optional[int] = None
    reachable: bool = True


def deciding_step(best: RouteAttrs, other: RouteAttrs, rid_best: str, rid_other: str) -> str:
    """The first step of BIRD's BGP decision where ``best`` beats ``other``."""
    if best.reachable and not other.reachable:
        return "next hop unreachable"
    if best.local_pref != other.local_pref:
        return f"local preference {best.local_pref} > {other.local_pref}"
    if len(best.as_path) != len(other.as_path):
        return f"AS-path length {len(best.as_path)} < {len(other.as_path)}"
    if ORIGIN.get(best.origin, 2) != ORIGIN.get(other.origin, 2):
        return f"origin {best.origin} over {other.origin}"
    if list(best.as_path[:1]) == list(other.as_path[:1]) and (best.med or 0) != (other.med or 0):
        return f"MED {best.med or 0} < {other.med or 0}"
    if best.internal != other.internal:
        return "eBGP over iBGP"
    if (best.igp_metric or 0) != (other.igp_metric or 0):
        return f"IGP cost {best.igp_metric or 0} < {other.igp_metric or 0} (hot potato)"
    if rid_best != rid_other:
        return f"router id {rid_best} < {rid_other}"
    return "neighbour address (last tie-break)"
