"""Emulation health: did the link engine keep time while a run measured?

The engine writes one row a second: how late its releases were (actual -
scheduled: p50, p99, max), the longest it was itself late to run (a stall:
packets then wait in the kernel unread), and how many packets the kernel
dropped because the engine did not read in time. A second whose p99
lateness or stall exceeds ``LATE_MS``, or that has kernel drops, is *late*: RTT and loss measured in it
describe the machine, not the emulated internet, and the report says so.
"""
from __future__ import annotations

from typing import Any, Optional

LATE_MS = 1.0


def late(row: dict[str, Any], threshold_ms: float = LATE_MS) -> bool:
    """Releases late at p99, the engine itself stalled, or the kernel dropped packets."""
    return (row["late_p99_us"] > threshold_ms * 1000 or row["stall_max_us"] > threshold_ms * 1000
            or row["kernel_drops"] > 0)


def merge(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row a second: the native engine's worker threads each write their
    own row for a second (same ``t_s``); counts add up, latenesses and
    stalls take the worst (a second is late if any worker was)."""
    out: dict[float, dict[str, Any]] = {}
    for r in rows:
        m = out.get(r["t_s"])
        if m is None:
            out[r["t_s"]] = dict(r)
            continue
        for k in ("packets", "kernel_drops"):
            m[k] += r[k]
        for k in ("late_p50_us", "late_p99_us", "late_max_us", "held_max", "stall_max_us"):
            m[k] = max(m[k], r[k])
    return [out[t] for t in sorted(out)]


def summarize(rows: list[dict[str, Any]], t_from: float, t_to: float, *, t0: float = 0.0,
              engine: str, scheduling: str, threshold_ms: float = LATE_MS) -> dict[str, Any]:
    """The report's ``health``: every second of [t_from, t_to) (wall clock),
    times given relative to ``t0`` (the event clock of a timeline, or the
    start of probing)."""
    sel = [r for r in merge(rows) if t_from - 1.0 < r["t_s"] < t_to]
    bins = [{"t_s": round(r["t_s"] - t0, 3), "packets": r["packets"],
             "p50_ms": r["late_p50_us"] / 1000, "p99_ms": r["late_p99_us"] / 1000,
             "max_ms": r["late_max_us"] / 1000, "stall_ms": r["stall_max_us"] / 1000,
             "kernel_drops": r["kernel_drops"],
             "late": late(r, threshold_ms)} for r in sel]
    late_bins = [b for b in bins if b["late"]]
    return {
        "measured": True, "engine": engine, "scheduling": scheduling, "threshold_ms": threshold_ms,
        "seconds": len(bins), "late_seconds": len(late_bins),
        "late_at_s": [b["t_s"] for b in late_bins],
        "packets": sum(b["packets"] for b in bins),
        "kernel_drops": sum(b["kernel_drops"] for b in bins),
        "worst_p99_ms": max((b["p99_ms"] for b in bins), default=None),
        "worst_max_ms": max((b["max_ms"] for b in bins), default=None),
        "worst_stall_ms": max((b["stall_ms"] for b in bins), default=None),
        "bins": bins,
    }


def unmeasured(engine: str) -> dict[str, Any]:
    """Health of a run whose delays the kernel applied (netem): nothing to measure."""
    return {"measured": False, "engine": engine, "late_seconds": 0}


def headline(h: Optional[dict[str, Any]]) -> str:
    """One line for the command line and the report."""
    if not h:
        return "emulation health: not recorded"
    if not h.get("measured"):
        return f"emulation health: delays applied by the {h['engine']} (not measured)"
    worst = h["worst_p99_ms"]
    text = (f"emulation health: {h['engine']} engine ({h['scheduling']}), {h['seconds']} s measured, "
            f"worst p99 lateness {worst:.3f} ms" if worst is not None else
            f"emulation health: {h['engine']} engine, no packets")
    if h["late_seconds"]:
        return (text + f"; LATE in {h['late_seconds']} s (lateness or stall > {h['threshold_ms']:g} ms, "
                f"or kernel drops; worst stall {h.get('worst_stall_ms') or 0:.1f} ms): RTT there "
                "reflects the machine, not the internet")
    return text + "; kept time in every second"
