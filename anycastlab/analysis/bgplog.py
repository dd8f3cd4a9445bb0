"""BGP activity from BIRD's own logs: best-path changes and updates, in time.

Every router logs with ``debug protocols { states, routes }`` and
millisecond timestamps (see templates/bird.conf.j2). In BIRD 2 a line
``<proto>.ipv4 > added ...`` is a route *imported* from that protocol, and
``<proto>.ipv4 < added ...`` one *exported* to it. Hence:

  * a best-path change on a router = an export to its kernel protocol
    ``fib`` (added / replaced / removed) of that prefix;
  * a BGP update seen = an import line of an ``ebgp_*`` / ``ibgp_*``
    protocol for that prefix (accepted, withdrawn or filtered alike).

Reading logs instead of polling ``birdc`` costs the routers nothing during
the run and keeps the exact times at which BIRD acted.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterable, Optional

LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) <TRACE> (\S+?)\.ipv4 ([<>]) "
                  r"(\w+(?: \w+)?)(?: \[\w+\])? (\d+\.\d+\.\d+\.\d+/\d+)")


@dataclass(frozen=True)
class Change:
    t: float        # wall clock, seconds since the epoch
    router: str
    prefix: str
    kind: str       # "best" (best path changed) or "update" (BGP update received)


def parse_log(text: str, router: str, prefixes: Optional[set[str]] = None,
              since: float = 0.0) -> list[Change]:
    """Best-path changes and BGP updates in one router's bird.log."""
    out = []
    for line in text.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        stamp, proto, way, _what, prefix = m.groups()
        if prefixes is not None and prefix not in prefixes:
            continue
        if proto == "fib" and way == "<":
            kind = "best"
        elif proto.startswith(("ebgp_", "ibgp_")) and way == ">":
            kind = "update"
        else:
            continue
        t = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()
        if t >= since:
            out.append(Change(t, router, prefix, kind))
    return out


def read_logs(folder: Path, routers: Iterable[str], prefixes: Optional[set[str]] = None,
              since: float = 0.0) -> list[Change]:
    """Every router's changes, sorted by time (missing logs are skipped)."""
    out: list[Change] = []
    for r in routers:
        p = folder / r / "bird.log"
        if p.is_file():
            out += parse_log(p.read_text(errors="replace"), r, prefixes, since)
    return sorted(out, key=lambda c: c.t)


def service_prefixes(names: dict[str, str]) -> dict[str, str]:
    """{prefix: scheme name} from the plan's {scheme name: service address}."""
    return {str(ipaddress.ip_network(f"{a}/24", strict=False)): n for n, a in names.items()}


def settle(changes: list[Change], t_event: float, t_end: float,
           prefix_names: dict[str, str]) -> dict[str, dict[str, object]]:
    """Per scheme target: seconds from the event to the last best-path change
    on any router (None: nothing changed), best-path changes, routers whose
    best path changed, and BGP updates received, all within [t_event, t_end)."""
    out: dict[str, dict[str, object]] = {}
    for prefix, name in prefix_names.items():
        mine = [c for c in changes if c.prefix == prefix and t_event <= c.t < t_end]
        best = [c for c in mine if c.kind == "best"]
        out[name] = {
            "settle_s": round(max(c.t for c in best) - t_event, 3) if best else None,
            "best_path_changes": len(best),
            "routers_changed": len({c.router for c in best}),
            "updates": sum(1 for c in mine if c.kind == "update"),
        }
    return out
