"""Re-analysis of a saved run: its samples, DNS answers and logs through the
analysis again (e.g. with other steering parameters) and the report
rewritten. Needs no lab, no root and no daemon."""
from __future__ import annotations

import shutil
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

from ..analysis import baseline as analysis
from ..model.samples import read_dns, read_samples
from ..model.settings import Steering
from ..model.topology import load_topology
from . import write as report


def reanalyse(folder: Path, steering: Optional[Steering] = None,
              plot_clients: Optional[list[str]] = None) -> tuple[dict[str, Any], dict[str, Path]]:
    """Recompute a run's analysis and report from its samples.csv, e.g. with
    other steering parameters; no lab needed."""
    from .schema import load_report

    data = load_report(str(folder))
    data.pop("_path", None)
    original = folder / "report.original.json"
    if not original.exists():  # keep what the run itself concluded
        shutil.copyfile(folder / "report.json", original)
    topo = load_topology(folder / data["topology_file"])
    st = steering or Steering(**data["steering"])
    rows = read_samples(folder / "samples.csv")
    dns_rows = read_dns(folder / "dns.csv") if (folder / "dns.csv").exists() else []
    if data.get("timeline"):
        from .timeline import reanalyse_timeline

        phases, data["timeline"] = reanalyse_timeline(data, topo, rows, st, plot_clients, dns_rows)
    else:
        phases = [{"name": data["phases"][0]["name"],
                   **analysis.analyse(topo, data["providers"], rows, st)}]
    data.update({"steering": asdict(st), "phases": phases,
                 "reanalysed": datetime.now().isoformat(timespec="seconds")})
    return data, report.write(folder, data, topo)
