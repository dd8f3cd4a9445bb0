"""Run a scenario end to end: lab up, probe, analyse, report, tear down."""
from __future__ import annotations

import shutil
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Optional

from . import analysis, report
from .lab import Lab
from .probes import run_probes
from .runrecord import DEFAULT_RUNS_DIR
from .scenario import Scenario
from .topology import load_topology

Progress = Callable[[str, int, int], None]


def default_out(scn: Scenario) -> Path:
    return Path("results") / f"{scn.name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def run_scenario(scn: Scenario, out: Path, *, runs_dir: Path = DEFAULT_RUNS_DIR,
                 progress: Optional[Progress] = None,
                 lab: Optional[Lab] = None) -> tuple[dict[str, Any], dict[str, Path]]:
    """Returns the report data and the paths of the files written into ``out``.

    With ``lab`` given (already up, same topology) it probes that lab and
    leaves it up; otherwise it brings its own up and tears it down.
    """
    t0 = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    topo = scn.topology
    # the run keeps its own copy: re-analysis must not depend on a file that may change
    shutil.copyfile(topo.path, out / "topology.yaml")  # type: ignore[arg-type]
    own = lab is None
    if lab is None:
        lab = Lab(topo, runs_dir=runs_dir, links=scn.links, progress=progress or (lambda *a: None))
        lab.start()
    try:
        t_up = time.monotonic() - t0
        if scn.timeline:
            from .timeline_run import run_timeline

            rows, stats, extra = run_timeline(lab, scn, out, progress)
        else:
            rows, stats = run_probes(lab, scn.probes, out / "samples.csv", progress)
            extra = {}
        assert lab.record is not None
        backend, run_id = lab.record.data["link_backend"], lab.record.id
    finally:
        if own:
            lab.stop()
    providers = list(lab.plan.services.provider_prefixes)
    if scn.timeline:
        from .timeline_run import analyse_timeline

        if progress:
            progress("analysing", 0, 1)
        phases, timeline = analyse_timeline(scn, rows, providers, extra)
    else:
        phases = [{"name": "baseline", **analysis.analyse(topo, providers, rows, scn.steering)}]
        timeline = None
    data = {
        "schema_version": report.SCHEMA_VERSION, "scenario": scn.name, "topology": topo.name,
        "description": scn.description,
        "scenario_file": str(scn.path), "topology_file": "topology.yaml",
        "topology_source": str(topo.path), "link_backend": backend, "schemes": scn.schemes,
        "lab_run": run_id, "created": datetime.now().isoformat(timespec="seconds"),
        "providers": providers, "pops": list(topo.cdn.cities),
        "probes": asdict(scn.probes), "steering": asdict(scn.steering),
        "probe_stats": stats, "phases": phases,
        "timing": {"up_s": round(t_up, 2), "probe_s": stats["seconds"]},
    }
    if timeline is not None:
        data["timeline"] = timeline
    data["timing"]["total_s"] = round(time.monotonic() - t0, 2)
    paths = report.write(out, data, topo)
    return data, paths


def reanalyse(folder: Path, steering: Optional[analysis.Steering] = None,
              plot_clients: Optional[list[str]] = None) -> tuple[dict[str, Any], dict[str, Path]]:
    """Recompute a run's analysis and report from its samples.csv, e.g. with
    other steering parameters; no lab needed."""
    from .compare import load_report
    from .probes import read_samples

    data = load_report(str(folder))
    data.pop("_path", None)
    original = folder / "report.original.json"
    if not original.exists():  # keep what the run itself concluded
        shutil.copyfile(folder / "report.json", original)
    topo = load_topology(folder / data["topology_file"])
    st = steering or analysis.Steering(**data["steering"])
    rows = read_samples(folder / "samples.csv")
    if data.get("timeline"):
        from .timeline_run import reanalyse_timeline

        phases, data["timeline"] = reanalyse_timeline(data, topo, rows, st, plot_clients)
    else:
        phases = [{"name": data["phases"][0]["name"],
                   **analysis.analyse(topo, data["providers"], rows, st)}]
    data.update({"steering": asdict(st), "phases": phases,
                 "reanalysed": datetime.now().isoformat(timespec="seconds")})
    return data, report.write(folder, data, topo)
