"""Catchment: which PoP answers each client, for G and for every P_k.

Measured with packets (a UDP probe to the responder, which names its PoP),
never computed; the AS path is read from the client router's BIRD.
"""
from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..model.addressing import client_host_name, client_router_name
from ..model.topology import great_circle_km
from .explain import parse_routes


def probe_from(lab: Any, host: str, targets: dict[str, str], timeout: float = 2.0,
               tries: int = 3, rounds: int = 1) -> dict[str, Any]:
    argv = [sys.executable, "-m", "anycastlab.agents.probe_once", "--timeout", str(timeout),
            "--tries", str(tries), "--rounds", str(rounds),
            *[f"{n}={a}" for n, a in targets.items()]]
    out = lab.run(host, argv)
    try:
        return json.loads(out)
    except ValueError:
        from ..errors import LabError

        raise LabError(f"the probe in {host} printed no result: {out[-200:]!r}") from None


def as_path(lab: Any, router: str, addr: str) -> list[int]:
    routes = parse_routes(lab.birdc(router).command(f"show route for {addr} all"))
    best = next((r for r in routes if r.best), None)
    return best.as_path if best else []


def nearest_pop(lab: Any, city: str) -> str:
    c = lab.topo.cities[city]
    return min(lab.topo.cdn.cities, key=lambda p: great_circle_km(
        c.lat, c.lon, lab.topo.cities[p].lat, lab.topo.cities[p].lon))


def measure(lab: Any, include_unicast: bool = False) -> list[dict[str, Any]]:
    """One row per client: PoP and AS path for G and each P_k (and U_p)."""
    sv = lab.plan.services
    targets = {"global": sv.address(sv.global_prefix)}
    targets.update({k: sv.address(p) for k, p in sv.provider_prefixes.items()})
    if include_unicast:
        targets.update({f"unicast:{c}": sv.address(p) for c, p in sv.pop_prefixes.items()})

    def one(client: Any) -> dict[str, Any]:
        router = client_router_name(client)
        res = probe_from(lab, client_host_name(client.id), targets,
                         rounds=5 if include_unicast else 1)
        schemes = {name: {**r, "as_path": as_path(lab, router, targets[name])}
                   for name, r in res.items()}
        return {"client": client.id, "name": client.name, "city": client.cities[0],
                "providers": lab.topo.providers_of(client.id),
                "nearest_pop": nearest_pop(lab, client.cities[0]), "schemes": schemes}

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, lab.topo.clients()))


def best_unicast(row: dict[str, Any]) -> tuple[str, float] | None:
    """The PoP with the lowest measured RTT over the unicast prefixes, if probed."""
    uni = {k.split(":", 1)[1]: v["rtt_ms"] for k, v in row["schemes"].items()
           if k.startswith("unicast:") and v["rtt_ms"] is not None}
    if not uni:
        return None
    pop = min(uni, key=uni.__getitem__)
    return pop, uni[pop]


def reference_pop(row: dict[str, Any]) -> str:
    """Lowest-RTT PoP when unicast was probed, else the geographically nearest."""
    best = best_unicast(row)
    return best[0] if best else row["nearest_pop"]
