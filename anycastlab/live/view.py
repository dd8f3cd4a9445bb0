"""The live view of a running lab: a probe stream of its own, a thread that
follows it into ``LiveState``, and a local web server (``server.py``).

``anycastlab up … --hold --live [PORT]`` and ``anycastlab scenario …
--live [PORT]`` start one. It binds to 127.0.0.1 only. Its stream probes
every client's G, P_k and U_p once a second (``live.csv`` in the lab's run
folder), light beside a timeline's 10 per second, so the page shows where
each client's packets land now, measured, not predicted. Events reach it
through the lab's event listeners as they are applied; the link engine's
health record is read as it is written.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Optional

from ..lab.links import HEALTH_FILE
from ..measure.steering import CsvTail
from ..measure.stream import Stream
from ..model.samples import HEALTH_FIELDS
from .state import LiveState

DEFAULT_PORT = 8765
HOST = "127.0.0.1"   # never another interface: the page is for this machine's user only


class LiveView:
    def __init__(self, lab: Any, port: int = DEFAULT_PORT, interval_s: float = 1.0) -> None:
        assert lab.record is not None
        self.lab, self.port, self.interval = lab, port, interval_s
        self.state = LiveState(lab.topo, list(lab.plan.services.provider_prefixes))
        self.samples = lab.record.folder / "live.csv"
        self.stream: Optional[Stream] = None
        self.server: Any = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def start(self) -> "LiveView":
        """Start the stream, the follower and the server; returns when the page answers."""
        from .server import serve

        self.stream = Stream(self.lab, self.samples, self.interval, 1.0, max_s=24 * 3600,
                             measure=True, tag="live")
        self.lab.event_listeners.append(self.state.event)
        t = threading.Thread(target=self._follow, name="live-follow", daemon=True)
        t.start()
        self._threads.append(t)
        self.server = serve(self, HOST, self.port)
        return self

    def stop(self) -> None:
        """Stop the server, the follower and the stream (idempotent)."""
        self._stop.set()
        if self.server is not None:
            self.server.stop()
            self.server = None
        for t in self._threads:
            t.join(timeout=5)
        self._threads = []
        if self.state.event in self.lab.event_listeners:
            self.lab.event_listeners.remove(self.state.event)
        if self.stream is not None:
            try:
                self.stream.stop(1.0)
            except Exception:  # noqa: BLE001 - the lab is going down anyway; its record cleans up
                pass
            self.stream = None

    def _follow(self) -> None:
        """Feed the state from the stream's rows and the engine's health record."""
        tail = CsvTail(self.samples)
        health = CsvTail(Path(self.lab.record.folder) / HEALTH_FILE)
        while not self._stop.wait(0.25):
            for line in tail.lines():
                f = line.split(",")
                if len(f) < 8:
                    continue
                try:
                    rtt = None if f[6] == "1" else float(f[5])
                    self.state.sample(float(f[0]), f[1], f[3], rtt, f[7] or None)
                except ValueError:
                    continue
            for line in health.lines():
                f = line.split(",")
                if len(f) == len(HEALTH_FIELDS):
                    try:
                        self.state.health_row(dict(zip(HEALTH_FIELDS, (float(f[0]), *map(int, f[1:])))))
                    except ValueError:
                        continue

    def explain(self, client: str, target: str) -> dict[str, Any]:
        """BGP's decision, router by router, for a clicked client (read from the BIRDs now)."""
        from ..measure import explain

        router = explain.client_router(self.lab, client)
        addr = explain.target_address(self.lab, target)
        return {"client": client, "target": target, "address": addr,
                "t_s": round(time.time() - self.state.t0, 2),
                "hops": explain.as_dicts(explain.walk(self.lab, router, addr))}
