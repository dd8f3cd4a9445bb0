"""The bring-up benchmark's hierarchy: IPMininet's benchmark shape.

Two tier-1 ASes that peer, then single-router ASes, each a customer of one
or two ASes created before it (preferential to transit), one of them the
CDN (a customer of both tier-1s). Every AS has one router, so the size is
the number of routers and the bring-up cost is per node, not OSPF's. The
same graph is written for anycastlab (a topology file) and, by
``ipmininet_bench.py``, for IPMininet, so the two are timed on one shape.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import yaml

WORLD = Path(__file__).resolve().parents[1] / "topologies" / "world.yaml"


def hierarchy(n: int, seed: int = 1) -> dict[str, Any]:
    """ASes (id, role, provider ids) and peerings of an n-AS hierarchy."""
    rng = random.Random(seed)
    ases = [{"id": "ta", "role": "transit", "providers": []},
            {"id": "tb", "role": "transit", "providers": []},
            {"id": "cdn", "role": "cdn", "providers": ["ta", "tb"]}]
    transit = ["ta", "tb"]
    for i in range(3, n):
        is_transit = i < max(3, n // 5)
        k = 2 if rng.random() < 0.4 else 1
        provs = rng.sample(transit, min(k, len(transit)))
        a = {"id": f"{'m' if is_transit else 's'}{i}", "role": "transit" if is_transit else "client",
             "providers": sorted(provs)}
        ases.append(a)
        if is_transit:
            transit.append(a["id"])
    return {"ases": ases, "peers": [("ta", "tb")]}


def topology_yaml(n: int, seed: int = 1) -> str:
    """The hierarchy as an anycastlab topology file (cities from world.yaml)."""
    shape = hierarchy(n, seed)
    cities = yaml.safe_load(WORLD.read_text())["cities"]
    city_of = {a["id"]: cities[i % len(cities)]["id"] for i, a in enumerate(shape["ases"])}
    used = [c for c in cities if c["id"] in set(city_of.values())]
    doc: dict[str, Any] = {
        "name": f"hier{n}", "description": f"{n}-AS hierarchy, one router per AS (bench)",
        "cities": used,
        "ases": [{"id": a["id"], "asn": 64600 + i, "name": a["id"].upper(), "role": a["role"],
                  "cities": [city_of[a["id"]]]} for i, a in enumerate(shape["ases"])],
        "relationships": [{"provider": p, "customer": a["id"]}
                          for a in shape["ases"] for p in a["providers"]]
        + [{"peers": list(pr)} for pr in shape["peers"]],
        "links": [[f"{p}-{city_of[p]}", f"{a['id']}-{city_of[a['id']]}"]
                  for a in shape["ases"] for p in a["providers"]]
        + [[f"{x}-{city_of[x]}", f"{y}-{city_of[y]}"] for x, y in shape["peers"]],
    }
    return yaml.safe_dump(doc, sort_keys=False)
