"""The live steering loop: measure, rank, publish the zone, every window.

While a timeline runs, a thread of the runner follows the probe stream's
``samples.csv`` as it grows. Windows are aligned on the event clock exactly
as the analysis aligns them (``timeline.analyse``). For the window
[b - w, b) it waits until b + ``settle_s`` (every probe of the window has
answered or timed out and the stream has flushed), ranks every client with
``timeline.rank`` (the function the model uses), renders the zone with the
new shares and has PowerDNS reload it. A client without any answer in the
window keeps its previous shares, as in the model.

With ``adjust`` (the load model's capacity headroom, model/headroom.py)
the ranked shares pass through it before anything sees them: the load
model and the zone get the adjusted ("published") shares.

Every window is one entry of the steering log (report.json's
``timeline.steering_log``, with or without DNS): the window, when the
shares took effect, the published shares, and what the headroom did (the
ranked shares of the clients it changed, its moves, the ports it could not
relieve). With DNS each publication is also one entry of the zone log: the
window, when the ranking was done, the serial, when the reload finished (or
why it failed), and the shares per client. Times are on the event clock
(0 = timeline start).
"""
from __future__ import annotations

import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Optional

from ..analysis.timeline import rank
from ..lab.dns import Zone
from ..model.headroom import Outcome, Rank
from ..model.settings import Steering

Shares = dict[str, dict[str, float]]
Adjust = Callable[[Shares, dict[str, Rank], str], Outcome]


class CsvTail:
    """The complete lines appended to a CSV file since the last read."""

    def __init__(self, path: Path) -> None:
        self.path, self.pos, self.partial, self.header = path, 0, "", True

    def lines(self) -> list[str]:
        try:
            with open(self.path) as f:
                f.seek(self.pos)
                chunk = f.read()
                self.pos = f.tell()
        except FileNotFoundError:
            return []
        text = self.partial + chunk
        *done, self.partial = text.split("\n")
        if self.header and done:
            done, self.header = done[1:], False
        return done


class SteeringLoop:
    """``zone`` None: no DNS (the share model alone), the shares still go to
    ``on_shares`` (the load model) every window; ``adjust`` turns the ranked
    shares into the published ones (the capacity headroom)."""

    def __init__(self, zone: Optional[Zone], samples: Path, providers: list[str], steering: Steering,
                 t0: float, first_window_start: float, settle_s: float,
                 on_shares: Optional[Callable[[Shares, str], Any]] = None,
                 adjust: Optional[Adjust] = None) -> None:
        self.on_shares, self.adjust = on_shares, adjust
        self.zone, self.tail, self.providers, self.steering = zone, CsvTail(samples), providers, steering
        self.t0, self.w = t0, steering.window_s
        self.next_end = first_window_start + self.w   # event clock
        self.settle_s = settle_s
        self.log: list[dict[str, Any]] = []            # zone publications (DNS)
        self.steering_log: list[dict[str, Any]] = []   # every window
        self.shares: Shares = {}                        # ranked, each client's latest
        self.ranks: dict[str, Rank] = {}
        self.errors: list[str] = []
        # client -> provider -> [(t, rtt or None)] not yet ranked
        self.buf: dict[str, dict[str, list[tuple[float, Optional[float]]]]] = defaultdict(lambda: defaultdict(list))
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="steering", daemon=True)

    def start(self) -> "SteeringLoop":
        self.thread.start()
        return self

    def stop(self) -> list[dict[str, Any]]:
        self._stop.set()
        self.thread.join(timeout=10)
        return self.log

    def _run(self) -> None:
        while not self._stop.wait(max(0.0, self.t0 + self.next_end + self.settle_s - time.time())):
            try:
                self.step()
            except Exception as exc:  # noqa: BLE001 - the run goes on; the report says why
                self.errors.append(f"window ending {self.next_end:g} s: {exc}")
            self.next_end += self.w

    def _read(self) -> None:
        for line in self.tail.lines():
            f = line.split(",")
            if len(f) < 7 or not f[3].startswith("provider:"):
                continue
            t = float(f[0]) - self.t0
            self.buf[f[1]][f[3][9:]].append((t, None if f[6] == "1" else float(f[5])))

    def step(self) -> None:
        """Rank the window that ended at ``next_end`` and publish the zone."""
        self._read()
        b, e = self.next_end - self.w, self.next_end
        for c, per in self.buf.items():
            samples = {k: [x for t, x in per.get(k, []) if b <= t < e] for k in self.providers}
            r = rank(samples, self.steering)
            if r.shares:
                self.shares[c] = r.shares
                self.ranks[c] = Rank({k: v for k, v in r.scores.items() if k in r.rtts}, r.rtts)
            for k in list(per):  # what is ranked is done with
                per[k] = [s for s in per[k] if s[0] >= e]
        label = f"window {b:g}-{e:g} s"
        published, record = self._adjust(label)
        t_ranked = time.time()
        self.steering_log.append({"window": [round(b, 3), round(e, 3)], "t_s": round(t_ranked - self.t0, 3),
                                  "shares": {c: dict(v) for c, v in sorted(published.items())},
                                  **record})
        if self.on_shares is not None:  # the load first: traffic follows the shares as they change
            try:
                self.on_shares(published, label)
            except Exception as exc:  # noqa: BLE001 - the zone is still published
                self.errors.append(f"load model, window ending {e:g} s: {exc}")
        if self.zone is None:
            return
        entry = self.zone.publish(published)
        self.log.append({"window": [round(b, 3), round(e, 3)],
                         "t_ranked_s": round(t_ranked - self.t0, 3),
                         "serial": entry["serial"], "ok": entry["ok"],
                         "t_reloaded_s": None if entry["t_reloaded"] is None
                         else round(entry["t_reloaded"] - self.t0, 3),
                         "reload_ms": entry["reload_ms"], "error": entry.get("error"),
                         "shares": {c: dict(v) for c, v in sorted(published.items())}})

    def _adjust(self, label: str) -> tuple[Shares, dict[str, Any]]:
        """The shares to publish, and the headroom's record (empty without one).
        If the headroom fails the ranked shares are published: steering goes on."""
        if self.adjust is None:
            return self.shares, {}
        try:
            res = self.adjust(self.shares, self.ranks, label)
        except Exception as exc:  # noqa: BLE001 - the report says why
            self.errors.append(f"headroom, {label}: {exc}")
            return self.shares, {}
        rec = res.record(self.shares)
        return res.shares, {k: rec[k] for k in ("ranked", "moves", "unresolved") if rec[k]}

