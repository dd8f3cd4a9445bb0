"""Drive a scenario's timeline on a running lab, then analyse it.

The event clock: the probe stream starts first and warms up for one
steering window (plus a second), so shares are in effect at time 0; then
each phase runs for its duration and its events are applied at their
offsets. Each event's real application time (wall clock, relative to 0) is
what the metrics use, not the planned one.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Optional

from ..analysis import bgplog
from ..analysis.timeline import first_window_start
from ..model import events
from ..model.samples import read_dns, read_samples
from .steering import SteeringLoop
from .stream import Stream

Progress = Callable[[str, int, int], None]
SETTLE_EXTRA_S = 0.3   # after a probe's timeout: the stream's flush and housekeeping


def warmup_s(window_s: float, settle_s: float, ttl_s: Optional[float]) -> float:
    """Probe this long before time 0, so steering is in effect at 0: one
    window plus a second (share model); with DNS also the ranking delay and
    one TTL, so every client holds an answer from a measured zone."""
    return window_s + 1.0 + (settle_s + ttl_s if ttl_s is not None else 0.0)


def _wait_until(t: float, step: str, progress: Optional[Progress], base: float, total: float) -> None:
    """Sleep until wall time t (the schedule of the timeline), reporting progress."""
    while True:
        left = t - time.time()
        if progress:
            progress(step, int(min(total, max(0.0, time.time() - base))), int(total))
        if left <= 0:
            return
        time.sleep(min(left, 0.5))


def run_timeline(lab: Any, scn: Any, out: Any, progress: Optional[Progress] = None,
                 load: Any = None) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """Probe continuously through every phase, applying events on schedule.

    Returns the samples, probe stats and what analysis needs later (event
    log with real times, BGP activity per event)."""
    interval, timeout = scn.probes.interval_s, scn.probes.timeout_s
    dns = scn.dns if lab.zone is not None else None
    settle = timeout + SETTLE_EXTRA_S
    warmup = warmup_s(scn.steering.window_s, settle, dns.ttl_s if dns else None)
    total = scn.duration_s
    stream = Stream(lab, out / "samples.csv", interval, timeout, max_s=warmup + total + 120, dns=dns)
    t0 = stream.t_start + warmup
    log: list[dict[str, Any]] = []
    loop = None
    if load is not None:
        load.t0 = t0
    if dns is not None or load is not None:
        # the capacity headroom (model/headroom.py) between ranking and publication
        adjust = (lambda sh, rk, label: load.steer(sh, rk, scn.steering, label)) \
            if load is not None and scn.steering.headroom > 0 else None
        loop = SteeringLoop(lab.zone if dns is not None else None, out / "samples.csv",
                            list(lab.plan.services.provider_prefixes), scn.steering, t0,
                            first_window_start(warmup, scn.steering.window_s), settle,
                            on_shares=load.apply if load is not None else None, adjust=adjust).start()
    try:
        _wait_until(t0, "warming up the probes", progress, stream.t_start, warmup)
        offset = 0.0
        for ph in scn.timeline:
            step = f"phase {ph.name} ({ph.duration_s:g} s)"
            for ev in ph.events:
                _wait_until(t0 + offset + ev.at_s, step, progress, t0 + offset, ph.duration_s)
                t_apply = time.time()
                events.apply(lab, ev)
                if load is not None and events.moves_routes(ev.kind):
                    load.event_applied()
                log.append({"phase": ph.name, "planned_s": round(offset + ev.at_s, 3),
                            "t_s": round(t_apply - t0, 3),
                            "applied_in_s": round(time.time() - t_apply, 3),
                            "label": ev.label, "kind": ev.kind})
            offset += ph.duration_s
            _wait_until(t0 + offset, step, progress, t0 + offset - ph.duration_s, ph.duration_s)
    finally:
        zone_log = loop.stop() if loop is not None else []
        counts = stream.stop(timeout)
    rows = read_samples(out / "samples.csv")
    if progress:
        progress("reading BIRD logs", 0, 1)
    prefixes = bgplog.service_prefixes(lab.plan.services.scheme_targets())
    assert lab.record is not None
    changes = bgplog.read_logs(lab.record.folder, [r.name for r in lab.plan.routers()],
                               set(prefixes), since=t0 - warmup)
    bgp = []
    for i, e in enumerate(log):
        t_next = next((x["t_s"] for x in log[i + 1:] if x["t_s"] > e["t_s"]), total)
        # BIRD truncates its timestamps to the millisecond: a change caused by
        # the next event can be stamped up to 1 ms before it
        per = bgplog.settle(changes, t0 + e["t_s"] - 0.001, t0 + t_next - 0.002, prefixes)
        settled = [v["settle_s"] for v in per.values() if v["settle_s"] is not None]
        bgp.append({"settle_s": max(settled) if settled else None,
                    "best_path_changes": sum(int(v["best_path_changes"]) for v in per.values()),  # type: ignore[call-overload]
                    "updates": sum(int(v["updates"]) for v in per.values()),  # type: ignore[call-overload]
                    "prefixes": per})
    seconds = warmup + total
    stats = {"probes": len(rows), "expected": counts["sent"], "seconds": round(seconds, 2),
             "lost": sum(1 for r in rows if r["rtt_ms"] is None),
             "probes_per_s": round(len(rows) / seconds, 1), "mode": "stream",
             "interval_s": interval, "stream_cpu_s": stream.cpu_s}
    extra: dict[str, Any] = {"t0": t0, "warmup_s": warmup, "events": log, "bgp": bgp}
    if loop is not None:  # the shares in force, window by window (analysis/timeline.py uses them)
        extra.update({"steering_errors": loop.errors, "steering_log": loop.steering_log})
    if loop is not None and dns is not None:
        stats.update({k: v for k, v in counts.items() if k.startswith(("dns", "unresolved"))})
        extra.update({"zone_log": zone_log, "steering_errors": loop.errors,
                      "settle_s": settle, "dns_rows": read_dns(out / "dns.csv")})
    return rows, stats, extra


