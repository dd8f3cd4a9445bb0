"""A timeline run's analysis from its samples and logs: per-phase results
(the baseline's schema), the timeline section (events, series, shares) and
the DNS chain. Pure: the run and a re-analysis of saved files both use it."""
from __future__ import annotations

from typing import Any, Optional

from ..model.settings import Steering
from . import baseline as analysis
from .timeline import Mark, most_affected
from .timeline import analyse as analyse_points


def phase_bounds(scn: Any) -> list[dict[str, Any]]:
    out, offset = [], 0.0
    for ph in scn.timeline:
        out.append({"name": ph.name, "start_s": offset, "end_s": offset + ph.duration_s,
                    "events": [e.label for e in ph.events]})
        offset += ph.duration_s
    return out


def analyse_run(topo: Any, providers: list[str], rows: list[dict[str, Any]],
                steering: Steering, interval: float, extra: dict[str, Any],
                bounds: list[dict[str, Any]], plot_clients: list[str], random_loss: bool = True
                ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per-phase analyses (the baseline report's schema) and the timeline
    section (events, series, shares). Needs no lab: ``reanalyse`` uses it."""
    t0 = extra["t0"]
    phases = []
    for b in bounds:
        sel = [r for r in rows if b["start_s"] <= r["t"] - t0 < b["end_s"]]
        phases.append({**b, **analysis.analyse(topo, providers, sel, steering)})
    marks = [Mark(e["t_s"], e["label"], e["kind"], e["phase"]) for e in extra["events"]]
    tl = analyse_points(rows, t0, bounds[-1]["end_s"], marks, providers, list(topo.cdn.cities),
                        steering, steering.window_s, interval, extra["warmup_s"], random_loss=random_loss,
                        live=extra.get("steering_log"))
    if extra.get("steering_log") is not None:  # the shares the live loop published, window by window
        tl["steering_log"] = extra["steering_log"]
    for ev, log, bgp in zip(tl["events"], extra["events"], extra["bgp"]):
        ev["planned_s"] = log["planned_s"]
        ev["applied_in_s"] = log["applied_in_s"]
        ev["bgp"] = bgp
    if "zone_log" in extra:
        _dns_chain(tl, extra)
    tl.update({"t0": t0, "warmup_s": extra["warmup_s"], "phases": bounds,
               "plot_clients": plot_clients or most_affected(tl["events"]),
               "plot_clients_chosen": plot_clients, "random_loss": random_loss,
               "event_log": extra["events"], "bgp": extra["bgp"]})
    return phases, tl


def _dns_chain(tl: dict[str, Any], extra: dict[str, Any]) -> None:
    """Per event and client: measurement, ranking, zone, answer, recovery."""
    from .dns import answers_by_client, event_timing, stage_summary

    answers = answers_by_client(extra["dns_rows"], extra["t0"])
    for ev in tl["events"]:
        per = {}
        for c, m in ev["clients"].items():
            if "ipa_model" in m:
                per[c] = m["dns"] = event_timing(c, ev["t_s"], ev["t_s"] + ev["span_s"],
                                                 extra["zone_log"], answers.get(c, []),
                                                 m["ipa"]["stable_s"])
        ev["dns_summary"] = stage_summary(per)
    tl.update({"zone_log": extra["zone_log"], "settle_s": extra["settle_s"],
               "steering_errors": extra.get("steering_errors", [])})


def analyse_timeline(scn: Any, rows: list[dict[str, Any]], providers: list[str],
                     extra: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    return analyse_run(scn.topology, providers, rows, scn.steering, scn.probes.interval_s, extra,
                       phase_bounds(scn), scn.plot_clients, scn.random_loss)


def reanalyse_timeline(data: dict[str, Any], topo: Any, rows: list[dict[str, Any]],
                       steering: Steering, plot_clients: Optional[list[str]] = None,
                       dns_rows: Optional[list[dict[str, Any]]] = None
                       ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Recompute phases and the timeline section of a saved run (BGP activity
    is kept: it came from the routers' logs during the run)."""
    old = data["timeline"]
    extra = {"t0": old["t0"], "warmup_s": old["warmup_s"], "events": old["event_log"],
             "bgp": old["bgp"]}
    if old.get("steering_log") is not None:
        extra["steering_log"] = old["steering_log"]
    if "zone_log" in old:
        extra.update({"zone_log": old["zone_log"], "settle_s": old["settle_s"],
                      "steering_errors": old.get("steering_errors", []), "dns_rows": dns_rows or []})
    bounds = [{k: p[k] for k in ("name", "start_s", "end_s", "events")} for p in old["phases"]]
    chosen = plot_clients if plot_clients is not None else old.get("plot_clients_chosen", [])
    return analyse_run(topo, data["providers"], rows, steering, old["interval_s"], extra, bounds, chosen,
                       old.get("random_loss", True))
