"""The report's opening: what a reader came for, before any detail.

At rest that is the summary table of the one phase and its paragraph; for
a timeline, one row per phase (each scheme's median and p90), one line per
event (who lost probes, for how long, when it was stable again) and each
phase's paragraph. The key plots are chosen here too, so report.md and
report.html open with the same answer.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from ..analysis.requests import headline
from ..model.schemes import BY_KEY, KEYS
from .tables import SHORT, fmt


def phase_schemes(data: dict[str, Any]) -> list[str]:
    """The schemes of the phase headline: every computed one the report shows."""
    have = set(data["phases"][0]["summary"])
    return [k for k in KEYS if k in have and BY_KEY[k].family in data["schemes"]]


def phase_head(data: dict[str, Any]) -> list[str]:
    return ["phase", "seconds", "events"] + [f"{SHORT[k]} median / p90 ms" for k in phase_schemes(data)]


def phase_rows(data: dict[str, Any]) -> list[list[str]]:
    """One row per phase of a timeline: each scheme's median and p90 over
    requests, with the share lost when any was."""
    spans = {p["name"]: p for p in (data.get("timeline") or {}).get("phases", [])}
    rows = []
    for ph in data["phases"]:
        span = spans.get(ph["name"], ph)
        when = (f"{span['start_s']:g}–{span['end_s']:g}" if span.get("start_s") is not None else "–")
        cells = [ph["name"], when, "; ".join(span.get("events") or []) or "–"]
        for k in phase_schemes(data):
            h = headline(ph["summary"].get(k) or {})
            lost = h.get("lost_share")
            cells.append(f"{fmt(h.get('median_rtt_ms'))} / {fmt(h.get('p90_rtt_ms'))}"
                         + (f" ({lost:.1%} lost)" if lost else ""))
        rows.append(cells)
    return rows


OPENING = ("global", "ipa")   # the two schemes the opening compares per event; the events table has all


def event_lines(tl: Optional[dict[str, Any]]) -> list[str]:
    """One sentence per event: for global anycast and IPA, how many networks
    lost probes, the worst loss window and the worst time to stable."""
    out = []
    for i, ev in enumerate((tl or {}).get("events", [])):
        parts = []
        for s in (s for s in OPENING if s in ev["summary"]):
            sm = ev["summary"][s]
            never = sm.get("not_stable") or []
            parts.append(f"{SHORT[s]}: {sm['clients_losing']} of {sm['affected_clients']} affected networks "
                         f"lost probes, worst loss window {fmt(sm['loss_window_s']['worst'], '{:.2f}')} s, "
                         f"stable again after {fmt(sm['stable_s']['worst'], '{:.2f}')} s at worst"
                         + (f" ({len(never)} never)" if never else ""))
        out.append(f"Event {i + 1}, {ev['label']} at {ev['t_s']:.1f} s: " + "; ".join(parts) + ".")
    return out


def focus_phase(data: dict[str, Any]) -> dict[str, Any]:
    """The phase whose map and CDF open the report: the only one at rest;
    in a timeline the first one an event starts (the disruption), else the first."""
    phases = data["phases"]
    spans = {p["name"]: p for p in (data.get("timeline") or {}).get("phases", [])}
    return next((p for p in phases if (spans.get(p["name"]) or p).get("events")), phases[0])


def tag(data: dict[str, Any], phase: dict[str, Any]) -> str:
    """The file-name suffix of a phase's plots ('' when there is one phase)."""
    return "" if len(data["phases"]) == 1 else f"-{phase['name']}"


def key_stems(data: dict[str, Any]) -> list[str]:
    """File stems of the plots that open the report, in order: a timeline's
    story is its RTT over time, then the disrupted phase's map and CDF."""
    t = tag(data, focus_phase(data))
    return (["rtt-time"] if data.get("timeline") else []) + [f"map{t}", f"rtt-cdf{t}"]


def split_images(data: dict[str, Any], images: list[tuple[str, Path]]
                 ) -> tuple[list[tuple[str, Path]], list[tuple[str, Path]]]:
    """(key plots in opening order, the rest in their order); each image once."""
    stems = key_stems(data)
    by_stem = {p.stem: (label, p) for label, p in images}
    key = [by_stem[s] for s in stems if s in by_stem]
    rest = [(label, p) for label, p in images if p.stem not in stems]
    many = len(data["phases"]) > 1
    name = focus_phase(data)["name"]
    key = [(f"{label}: phase {name}" if many and p.stem != "rtt-time" else label, p) for label, p in key]
    return key, rest
