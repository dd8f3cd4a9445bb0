"""Re-analysis of a saved run: its samples, DNS answers and logs through the
analysis again (e.g. with other steering parameters) and the report
rewritten. Needs no lab, no root and no daemon."""
from __future__ import annotations

import shutil
from dataclasses import asdict, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

from ..analysis import baseline as analysis
from ..errors import InputError
from ..model.samples import read_dns, read_samples
from ..model.headroom import network_from_section
from ..model.settings import Steering
from ..model.topofile import load_topology
from . import write as report


def reanalyse(folder: Path, steering: Optional[Steering] = None,
              plot_clients: Optional[list[str]] = None) -> tuple[dict[str, Any], dict[str, Path]]:
    """Recompute a run's analysis and report from its samples.csv, e.g. with
    other steering parameters; no lab needed."""
    from .schema import load_report

    data = load_report(str(folder))
    data.pop("_path", None)
    topo = load_topology(folder / data["topology_file"])
    st = steering or as_run(data["steering"])
    if data.get("timeline"):  # the headroom needs each window's paths: a timeline keeps the run's
        st = replace(st, headroom=as_run(data["steering"]).headroom)
    overridden = asdict(st) != asdict(as_run(data["steering"]))
    rows = read_samples(folder / "samples.csv")
    if not rows:
        raise InputError("samples.csv holds no samples: there is nothing to analyse again",
                         file=folder / "samples.csv", fix="the report stays as the run wrote it; "
                         "run the scenario again to measure")
    dns_rows = read_dns(folder / "dns.csv") if (folder / "dns.csv").exists() else []
    if data.get("timeline"):
        from ..analysis.runs import reanalyse_timeline

        live = data["timeline"].get("steering_log")
        if overridden:  # other steering: shares recomputed from the samples, not the ones the run published
            data["timeline"].pop("steering_log", None)
        phases, data["timeline"] = reanalyse_timeline(data, topo, rows, st, plot_clients, dns_rows)
        if live is not None:
            data["timeline"]["steering_log"] = live
    else:  # at rest the headroom is applied on the paths the run recorded (model/headroom.py)
        net = network_from_section(data.get("load"), data["providers"])
        phases = [{"name": data["phases"][0]["name"],
                   **analysis.analyse(topo, data["providers"], rows, st, net)}]
    data.update({"steering": asdict(st), "phases": phases,
                 "reanalysed": datetime.now().isoformat(timespec="seconds")})
    original = folder / "report.original.json"
    if not original.exists():  # keep what the run itself concluded; only once the new one is ready
        shutil.copyfile(folder / "report.json", original)
    return data, report.write(folder, data, topo)


def as_run(saved: dict[str, Any]) -> Steering:
    """The steering a run used; runs from before the threshold or the
    headroom had none (0)."""
    return Steering(**{"threshold": 0.0, "headroom": 0.0, **saved})


def merged_steering(folder: Path, cap: Optional[float], floor: Optional[float],
                    bias: Optional[float], window_s: Optional[float],
                    threshold: Optional[float] = None, headroom: Optional[float] = None) -> Any:
    """The run's own steering with the given overrides applied and checked; None if none given."""
    if all(v is None for v in (cap, floor, bias, window_s, threshold, headroom)):
        return None
    from ..model.scenario import check_steering
    from ..report.schema import load_report

    base = as_run(load_report(str(folder))["steering"])
    s = replace(base, **{k: v for k, v in (("cap", cap), ("floor", floor), ("bias", bias),
                                           ("window_s", window_s), ("threshold", threshold))
                         if v is not None})
    checked = check_steering(s.cap, s.floor, s.bias, s.window_s, s.threshold)
    h = base.headroom if headroom is None else headroom
    if not 0.0 <= h <= 10.0:
        raise InputError(f"headroom {h} is out of range", key="--headroom",
                         fix="a CDN port utilisation between 0 (off) and 10; the default is 0.8")
    return replace(checked, headroom=h)


def plotted_clients(folder: Path, spec: Optional[str]) -> Optional[list[str]]:
    """The --clients list, each checked against the run's client networks; None if not given."""
    if spec is None:
        return None
    from ..report.schema import load_report

    known = set(load_report(str(folder))["phases"][0]["clients"])
    clients = [c for c in spec.split(",") if c]
    bad = [c for c in clients if c not in known]
    if bad:
        raise InputError(f"unknown client '{bad[0]}'", key="--clients",
                         fix=f"use client AS ids of this run: {', '.join(sorted(known))}")
    return clients
