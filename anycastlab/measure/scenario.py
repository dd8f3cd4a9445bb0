"""Run a scenario end to end: lab up, probe, analyse, report, tear down."""
from __future__ import annotations

import shutil
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Optional

from ..analysis import baseline as analysis
from ..analysis import health
from ..errors import LabError
from ..lab.lab import Lab
from ..lab.links import HEALTH_FILE
from ..lab.record import DEFAULT_RUNS_DIR, cpu_by_kind
from ..lab.watch import DaemonWatch
from ..model.samples import read_dns, read_health, read_samples
from ..model.scenario import Scenario
from ..report import write as report
from ..report.schema import SCHEMA_VERSION
from ..analysis.load import summarize as summarize_load
from .load import LoadModel
from .rounds import run_probes
from .stream import Stream

Progress = Callable[[str, int, int], None]


def default_out(scn: Scenario) -> Path:
    return Path("results") / f"{scn.name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def run_scenario(scn: Scenario, out: Path, *, runs_dir: Path = DEFAULT_RUNS_DIR,
                 progress: Optional[Progress] = None, lab: Optional[Lab] = None,
                 on_fault: Callable[[dict[str, Any]], None] = lambda f: None,
                 on_up: Optional[Callable[[Lab], Callable[[], None]]] = None
                 ) -> tuple[dict[str, Any], dict[str, Path]]:
    """Returns the report data and the paths of the files written into ``out``.

    With ``lab`` given (already up, same topology) it probes that lab and
    leaves it up; otherwise it brings its own up and tears it down.
    ``on_up(lab)`` runs once the lab is up (the live view) and returns what
    to call before the lab goes down."""
    t0 = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    topo = scn.topology
    # the run keeps its own copy: re-analysis must not depend on a file that may change
    shutil.copyfile(topo.path, out / "topology.yaml")  # type: ignore[arg-type]
    own = lab is None
    watch: Optional[DaemonWatch] = None
    if lab is None:
        lab = Lab(topo, runs_dir=runs_dir, links=scn.links, progress=progress or (lambda *a: None),
                  dns_settings=scn.dns, seed=scn.seed, variability=scn.variability)
        lab.start()
    on_down: Callable[[], None] = lambda: None
    try:
        if on_up is not None:
            on_down = on_up(lab)
        t_up = time.monotonic() - t0
        assert lab.record is not None
        cpu0, own0, wall0 = cpu_by_kind(lab.record.daemons()), time.process_time(), time.time()
        watch = DaemonWatch(lab.record, lab.expected_exits, on_fault).start()
        load = LoadModel(lab, scn.load) if scn.load is not None else None
        if load is not None:
            if progress:
                progress("reading the routed paths", 0, 1)
            load.read_paths()
            if progress:
                progress("reading the routed paths", 1, 1)
        if scn.timeline:
            from .timeline import run_timeline

            rows, stats, extra = run_timeline(lab, scn, out, progress, load)
        else:
            if load is not None:
                rank_then_load(lab, scn, out, load, progress)
            rows, stats = run_probes(lab, scn.probes, out / "samples.csv", progress)
            extra = {}
            if scn.dns is not None and lab.zone is not None:
                rows, dns_stats = rest_dns(lab, scn, out, rows, progress, load)
                stats.update(dns_stats)
        wall1 = time.time()
        watch.stop()
        faults = [{**f, "t_s": round(f["t"] - extra.get("t0", wall0), 3)} for f in watch.faults]
        cpu = cpu_section(cpu0, cpu_by_kind(lab.record.daemons()), time.process_time() - own0,
                          wall1 - wall0, stats.pop("stream_cpu_s", None))
        health = health_section(lab, out, wall0, wall1, extra.get("t0", wall0))
        backend, run_id = lab.record.data["link_backend"], lab.record.id
    finally:
        if watch is not None:
            watch.stop()  # before tear-down: stopping the daemons is no fault
        on_down()
        if own:
            lab.stop()
    providers = list(lab.plan.services.provider_prefixes)
    if scn.timeline:
        from ..analysis.runs import analyse_timeline

        if progress:
            progress("analysing", 0, 1)
        phases, timeline = analyse_timeline(scn, rows, providers, extra)
        if extra.get("steering_log") is not None:  # the shares in force, window by window
            timeline.setdefault("steering_log", extra["steering_log"])
    else:  # the report's IPA model with the headroom the run applied (on the paths it recorded)
        net = load.network(walk=False) if load is not None and load.paths else None
        phases = [{"name": "baseline", **analysis.analyse(topo, providers, rows, scn.steering, net)}]
        timeline = None
    dns_rows = read_dns(out / "dns.csv") if (out / "dns.csv").exists() else []
    data = {
        "schema_version": SCHEMA_VERSION, "scenario": scn.name, "topology": topo.name,
        "description": scn.description,
        "scenario_file": str(scn.path), "topology_file": "topology.yaml",
        "topology_source": str(topo.path), "link_backend": backend, "schemes": scn.schemes,
        "lab_run": run_id, "created": datetime.now().isoformat(timespec="seconds"),
        "providers": providers, "pops": list(topo.cdn.cities),
        "probes": asdict(scn.probes), "steering": asdict(scn.steering),
        "probe_stats": stats, "phases": phases,
        "dns": dns_section(scn.dns if lab.zone is not None else None, lab.plan, dns_rows,
                           lab.zone.history if lab.zone is not None else None),
        "timing": {"up_s": round(t_up, 2), "probe_s": stats["seconds"]},
        "health": health, "cpu": cpu,
        "variability": lab.record.data.get("variability", {"seed": None, "applied": False, "lines": 0}),
        "faults": faults,
        "load": load_section(load, extra.get("t0")),
    }
    if timeline is not None:
        data["timeline"] = timeline
    data["timing"]["total_s"] = round(time.monotonic() - t0, 2)
    paths = report.write(out, data, topo)
    return data, paths


def measured_shares(scn: Scenario, providers: list[str], rows: list[dict[str, Any]],
                    load: Optional[LoadModel] = None, label: str = "at rest: the DNS stage's shares"
                    ) -> dict[str, dict[str, float]]:
    """The shares these samples rank; with the load model, under the capacity
    headroom (``steering.headroom``), what moved noted in the load's headroom log."""
    net = load.network() if load is not None and scn.steering.headroom > 0 else None
    res = analysis.analyse(scn.topology, providers, rows, scn.steering, net)
    if load is not None and res.get("headroom"):
        load.note_headroom(res["headroom"], label)
    return {c: v["ipa_model"]["shares"] for c, v in res["clients"].items() if v["ipa_model"]["shares"]}


def rank_then_load(lab: Lab, scn: Scenario, out: Path, load: LoadModel,
                   progress: Optional[Progress]) -> None:
    """At rest with the load model: one steering step before measuring. A
    ranking pass of probe rounds on the idle links (samples-ranking.csv, not
    reported) gives the shares, under the capacity headroom; the traffic
    they send is on the links when the measured rounds start."""
    rows, _ = run_probes(lab, scn.probes, out / "samples-ranking.csv", progress)
    label = "at rest: shares of the ranking rounds"
    load.apply(measured_shares(scn, list(lab.plan.services.provider_prefixes), rows, load, label), label)


def load_section(load: Optional[LoadModel], t0: Optional[float]) -> Optional[dict[str, Any]]:
    """report.json's ``load``: the load log and its summary (analysis/load.py);
    a timeline's summary counts the applications from time 0 on."""
    if load is None:
        return None
    sec = load.section()
    sec["summary"] = summarize_load(sec, 0.0 if t0 is not None else None)
    return sec


def rest_dns(lab: Lab, scn: Scenario, out: Path, rows: list[dict[str, Any]],
             progress: Optional[Progress], load: Optional[LoadModel] = None
             ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """At rest, IPA through DNS: publish the zone with the shares the
    measurements give, then every client resolves (honouring the TTL) and
    probes its answers for ``dns.rest_s``. Their rows join samples.csv.
    With the load model, the traffic follows the published shares."""
    assert scn.dns is not None and lab.zone is not None
    shares = measured_shares(scn, list(lab.plan.services.provider_prefixes), rows, load)
    if load is not None:
        load.apply(shares, "at rest: the DNS stage's shares")
    entry = lab.zone.publish(shares)
    if not entry["ok"]:
        raise LabError(f"the zone could not be published: {entry['error']}",
                       file=lab.zone.folder / "pdns.out", fix="see the PowerDNS log there")
    part = out / "samples-dns.csv"
    stream = Stream(lab, part, scn.probes.interval_s, scn.probes.timeout_s,
                    max_s=scn.dns.rest_s + 60, dns=scn.dns, measure=False)
    try:
        end = stream.t_start + scn.dns.rest_s
        while (left := end - time.time()) > 0:
            if progress:
                progress("clients resolving and probing their answers",
                         int(scn.dns.rest_s - left), int(scn.dns.rest_s))
            time.sleep(min(left, 0.5))
    finally:
        counts = stream.stop(scn.probes.timeout_s)
    more = read_samples(part)
    with open(out / "samples.csv", "a") as f, open(part) as g:
        f.writelines(g.readlines()[1:])
    part.unlink()
    stats = {k: v for k, v in counts.items() if k.startswith(("dns", "unresolved"))}
    stats.update({"dns_stage_s": scn.dns.rest_s, "dns_stage_probes": len(more),
                  "zone_serial": entry["serial"], "zone_reload_ms": entry["reload_ms"],
                  "stream_cpu_s": stream.cpu_s})
    return rows + more, stats


def dns_section(settings: Any, plan: Any, dns_rows: list[dict[str, Any]],
                history: Optional[list[tuple[float, dict[str, dict[str, float]]]]] = None
                ) -> dict[str, Any]:
    """report.json's ``dns``: how IPA was steered, by which servers, and what
    resolution did (``history``: the zone's publications, for answered vs
    intended shares)."""
    from ..analysis.dns import summary
    from ..model.addressing import provider_addresses
    from ..model.settings import NAMES

    if settings is None:
        return {"mode": "model"}
    addr_provider = {a: k for k, a in provider_addresses(plan).items()}
    return {"mode": "dns", "settings": asdict(settings), "names": NAMES,
            "server": plan.services.dns_server(settings.server),
            "servers": (list(plan.services.pop_prefixes) if settings.server == "anycast" else ["dns"]),
            "resolutions": summary(dns_rows, addr_provider, history)}


def health_section(lab: Lab, out: Path, wall0: float, wall1: float, t0: float) -> dict[str, Any]:
    """Did the link engine keep time while this run measured? (analysis/health.py).
    Its record is copied into the run folder (health.csv) beside the samples."""
    assert lab.record is not None
    engine = lab.record.data.get("link_engine", "kernel")
    src = lab.record.folder / HEALTH_FILE
    if engine == "kernel" or not src.exists():
        return health.unmeasured("kernel (netem)" if engine == "kernel" else engine)
    shutil.copyfile(src, out / "health.csv")
    return health.summarize(read_health(out / "health.csv"), wall0, wall1, t0=t0, engine=engine,
                            scheduling=lab.record.data.get("link_scheduling", "?"))


def cpu_section(before: dict[str, float], after: dict[str, float], runner_s: float, wall_s: float,
                stream_s: Optional[float]) -> dict[str, Any]:
    """CPU seconds per component while the run measured, and as a share of one core."""
    used = {k: after[k] - before.get(k, 0.0) for k in after}
    used["runner (this process: probes orchestration, steering loop)"] = runner_s
    if stream_s is not None:
        used["stream"] = stream_s
    return {"wall_s": round(wall_s, 2),
            "seconds": {k: round(v, 2) for k, v in sorted(used.items())},
            "core_share": {k: round(v / wall_s, 3) for k, v in sorted(used.items())} if wall_s > 0 else {}}
