"""Re-analysing a saved timeline run (report/reanalyse.py): it runs at all,
keeps the steering log the live loop wrote, and a --headroom on a timeline
changes nothing (its paths moved with the events; only the live lab had
them)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

from anycastlab.analysis.runs import analyse_run
from anycastlab.model.samples import FIELDS
from anycastlab.model.settings import Steering
from anycastlab.report import write as report
from anycastlab.report.reanalyse import merged_steering, reanalyse
from anycastlab.report.schema import SCHEMA_VERSION

import pytest

from conftest import TOPOLOGIES

T0 = 1_800_000_000.0


@pytest.fixture(autouse=True)
def no_drawing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plots have their own tests; here they only need to exist (drawing is most of the time)."""
    from anycastlab.report import plots, timeplots

    def stub(*args: object, **kw: object) -> Path:
        out = next(a for a in args if isinstance(a, Path))
        out.write_bytes(b"")
        return out
    for mod, names in ((plots, ("cdf", "catchment_map", "wan_heatmap", "load_plot")),
                       (timeplots, ("rtt_over_time", "loss_strip", "shares_over_time"))):
        for n in names:
            monkeypatch.setattr(mod, n, stub)


def rows() -> list[dict]:
    out = []
    for c in ("c1", "c2", "c3"):
        for i in range(300):   # -6 .. 24 s every 0.1 s; tra dies at 10 s
            t = round(-6.0 + i * 0.1, 3)
            out.append({"t": T0 + t, "client": c, "target": "198.18.0.1", "scheme": "global", "proto": "udp",
                        "rtt_ms": 5.0, "pop": "lon"})
            a = 10.0 if t < 10 else None
            out.append({"t": T0 + t + 0.01, "client": c, "target": "198.18.1.1", "scheme": "provider:tra",
                        "proto": "udp", "rtt_ms": a, "pop": "nyc" if a else None})
            out.append({"t": T0 + t + 0.03, "client": c, "target": "198.18.2.1", "scheme": "provider:trb",
                        "proto": "udp", "rtt_ms": 20.0, "pop": "lon"})
    return out


def saved_run(tiny, folder: Path) -> None:
    rs = rows()
    with open(folder / "samples.csv", "w", newline="") as f:
        w = csv.DictWriter(f, FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in rs:
            w.writerow({**r, "rtt_ms": "" if r["rtt_ms"] is None else r["rtt_ms"],
                        "lost": int(r["rtt_ms"] is None), "pop": r["pop"] or ""})
    (folder / "topology.yaml").write_text((TOPOLOGIES / "tiny.yaml").read_text())
    log = [{"window": [b, b + 5.0], "t_s": b + 6.8, "shares": {c: {"tra": 0.5, "trb": 0.5} for c in ("c1", "c2", "c3")}}
           for b in (-10.0, -5.0, 0.0, 5.0, 10.0, 15.0)]
    extra = {"t0": T0, "warmup_s": 6.0, "steering_log": log,
             "events": [{"phase": "cut", "planned_s": 10.0, "t_s": 10.0, "applied_in_s": 0.01,
                         "label": "cut tra", "kind": "cut"}],
             "bgp": [{"settle_s": 0.5, "best_path_changes": 3, "updates": 7, "prefixes": {}}]}
    bounds = [{"name": "before", "start_s": 0.0, "end_s": 10.0, "events": []},
              {"name": "cut", "start_s": 10.0, "end_s": 24.0, "events": ["cut tra"]}]
    st = Steering(window_s=5)
    phases, tl = analyse_run(tiny, ["tra", "trb"], rs, st, 0.1, extra, bounds, [])
    tl["steering_log"] = log   # as measure/scenario.py records it
    data = {"schema_version": SCHEMA_VERSION, "scenario": "synthetic", "topology": "tiny",
            "topology_file": "topology.yaml", "link_backend": "userspace", "created": "now",
            "providers": ["tra", "trb"], "pops": ["nyc", "lon"],
            "steering": {"cap": 0.9, "floor": 0.0, "bias": 2.0, "window_s": 5.0, "threshold": 0.1, "headroom": 0.8},
            "schemes": ["global", "ipa", "oracle", "optimal", "floor"], "phases": phases, "timeline": tl}
    report.write(folder, data, tiny)


def test_a_timeline_is_reanalysed_and_keeps_its_steering_log(tiny, tmp_path: Path) -> None:
    saved_run(tiny, tmp_path)
    before = json.loads((tmp_path / "report.json").read_text())["timeline"]
    data, paths = reanalyse(tmp_path)
    assert data["timeline"]["steering_log"] == before["steering_log"]
    assert data["timeline"]["events"][0]["label"] == "cut tra" and paths["shares"].exists()
    # another cap: shares recomputed from the samples, the log kept beside them; a headroom
    # on a timeline is not re-applied (its paths moved with the events): the run's own stays
    data, _ = reanalyse(tmp_path, merged_steering(tmp_path, 0.8, None, None, None, None, 0.0))
    assert data["timeline"]["shares_source"] == "model" and data["timeline"]["steering_log"]
    assert data["steering"]["headroom"] == 0.8
    assert data["timeline"]["shares"]["c1"][2]["shares"] == {"tra": 0.8, "trb": 0.2}
