"""What the live view shows, kept up to date from measurements.

The state is fed by the live probe stream's rows (every client probes G,
every P_k and every U_p once a second: the PoP that answered and the RTT),
by the lab's events as they are applied, and by the link engine's health
record. ``snapshot`` is the JSON the page polls (``/api/state``); it holds
nothing computed from the topology beyond names and coordinates: the PoP a
client is shown at is the PoP whose responder answered its last probe.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Optional

HISTORY_S = 120.0   # RTT points kept per client and scheme
LATE_US = 1000      # a health row with p99 lateness or a stall above this is late (analysis/health.py)


class LiveState:
    def __init__(self, topo: Any, providers: list[str]) -> None:
        self.lock = threading.Lock()
        self.t0 = time.time()
        self.topology = topo.name
        self.providers = providers
        self.schemes = ["global", *[f"provider:{k}" for k in providers]]
        self.cities = {c.id: {"name": c.name, "lat": c.lat, "lon": c.lon} for c in topo.cities.values()}
        self.pops = list(topo.cdn.cities)
        self.clients: dict[str, dict[str, Any]] = {
            a.id: {"name": a.name, "city": a.cities[0], "schemes": {}} for a in topo.clients()}
        self.history: dict[tuple[str, str], deque] = {}
        self.events: list[dict[str, Any]] = []
        self.health: dict[str, Any] = {"measured": False, "late_seconds": 0, "last": None}
        self.rows = 0

    def sample(self, t: float, client: str, scheme: str, rtt_ms: Optional[float], pop: Optional[str]) -> None:
        """One probe's outcome (lost: rtt_ms None)."""
        if client not in self.clients or scheme not in self.schemes:
            return
        with self.lock:
            self.rows += 1
            cur = self.clients[client]["schemes"].setdefault(scheme, {"pop": None, "rtt_ms": None, "t": 0.0,
                                                                     "lost": 0})
            if t < cur["t"]:
                return  # an older probe answered late: the newest one stands
            cur["t"] = t
            if rtt_ms is None:
                cur["lost"] += 1
                cur["pop"], cur["rtt_ms"] = None, None
            else:
                cur["pop"], cur["rtt_ms"] = pop, round(rtt_ms, 2)
            h = self.history.setdefault((client, scheme), deque())
            h.append((round(t - self.t0, 2), None if rtt_ms is None else round(rtt_ms, 2)))
            while h and h[0][0] < t - self.t0 - HISTORY_S:
                h.popleft()

    def event(self, label: str, t: Optional[float] = None) -> None:
        with self.lock:
            self.events.append({"t_s": round((t or time.time()) - self.t0, 2), "label": label})

    def health_row(self, row: dict[str, Any]) -> None:
        """One second of the link engine's health record."""
        late = row["late_p99_us"] > LATE_US or row["stall_max_us"] > LATE_US or row["kernel_drops"] > 0
        with self.lock:
            self.health["measured"] = True
            self.health["late_seconds"] += int(late)
            self.health["last"] = {"late": late, "p99_ms": row["late_p99_us"] / 1000,
                                   "stall_ms": row["stall_max_us"] / 1000, "packets": row["packets"]}

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "topology": self.topology, "t_s": round(time.time() - self.t0, 2),
                "providers": self.providers, "schemes": self.schemes, "pops": self.pops,
                "cities": self.cities, "rows": self.rows,
                "clients": {c: {"name": v["name"], "city": v["city"],
                                "schemes": {s: {k: x[k] for k in ("pop", "rtt_ms", "lost")}
                                            for s, x in v["schemes"].items()}}
                            for c, v in self.clients.items()},
                "history": {f"{c}|{s}": list(h) for (c, s), h in self.history.items()},
                "events": list(self.events), "health": dict(self.health),
            }
