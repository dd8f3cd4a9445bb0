"""The ``anycastlab`` command line.

The only place where library errors become messages and exit codes:
2 for bad input or a missing prerequisite, 3 for a lab failure, 130 for
Ctrl-C. No tracebacks for errors the library raised on purpose.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

from rich.console import Console
from rich.table import Table

from ..errors import AnycastlabError, EnvironmentProblem, InputError
from ..lab.record import DEFAULT_RUNS_DIR

out = Console()
err = Console(stderr=True)


def _topology(path: str):  # type: ignore[no-untyped-def]
    from ..model.topology import load_topology

    return load_topology(resolve_file(path, "topologies"))


def resolve_file(name: str, folder: str) -> Path:
    """Accept a path, or a bare name looked up in the given top-level folder."""
    p = Path(name)
    if p.exists() or p.suffix or "/" in name:
        return p
    for base in (Path.cwd(), Path(__file__).resolve().parents[2]):
        cand = base / folder / f"{name}.yaml"
        if cand.exists():
            return cand
    return p


class RichProgress:
    """Progress bars for the long steps of bringing a lab up."""

    def __init__(self, console: Console) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(TextColumn("{task.description:<18}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                                 transient=False)
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> "RichProgress":
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, step: str, done: int, total: int) -> None:
        if step not in self.tasks:
            self.tasks[step] = self.progress.add_task(step, total=total)
        self.progress.update(self.tasks[step], completed=done, total=total)


# -- commands ---------------------------------------------------------------
def _is_scenario(ref: str) -> bool:
    """A scenario file (it names a topology) rather than a topology (it has cities)."""
    import yaml

    p = Path(ref)
    if not (p.is_file() or (Path("scenarios") / f"{ref}.yaml").is_file()):
        return False
    try:
        from ..model.scenario import resolve_scenario

        data = yaml.safe_load(resolve_scenario(ref).read_text())
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and "topology" in data and "cities" not in data


def check_scenario(args: argparse.Namespace) -> int:
    from ..model.scenario import load_scenario

    scn = load_scenario(args.topology)
    if args.json:
        print(json.dumps({"scenario": scn.name, "file": str(scn.path), "topology": scn.topology.name,
                          "duration_s": scn.duration_s,
                          "phases": [{"name": p.name, "duration_s": p.duration_s,
                                      "events": [{"at_s": e.at_s, "label": e.label} for e in p.events]}
                                     for p in scn.timeline]}, indent=2))
        return 0
    out.print(f"[bold]{scn.name}[/bold] ({scn.path}): valid scenario on {scn.topology.name}")
    if scn.timeline:
        offset = 0.0
        for p in scn.timeline:
            evs = "; ".join(f"+{e.at_s:g} s {e.label}" for e in p.events) or "no events"
            out.print(f"  {offset:>6g} s  {p.name} ({p.duration_s:g} s): {evs}")
            offset += p.duration_s
        out.print(f"  {scn.duration_s:g} s of timeline, probes every {scn.probes.interval_s:g} s, "
                  f"steering window {scn.steering.window_s:g} s")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from ..model.addressing import plan_addresses
    from ..model.topology import latency_table

    if _is_scenario(args.topology):
        return check_scenario(args)
    topo = _topology(args.topology)
    plan = plan_addresses(topo)
    roles = {r: sum(1 for a in topo.ases.values() if a.role == r) for r in ("cdn", "transit", "client")}
    counts = {"cities": len(topo.cities), "ases": len(topo.ases), **{f"{k}_ases": v for k, v in roles.items()},
              "routers": len(topo.routers), "hosts": len(plan.hosts()), "links": len(topo.links),
              "pops": len(topo.cdn.cities), "cdn_providers": len(topo.providers_of(topo.cdn.id))}
    rows = latency_table(topo)
    if args.json:
        print(json.dumps({"topology": topo.name, "file": str(topo.path), "counts": counts,
                          "settings": topo.settings.model_dump(), "links": rows,
                          "services": plan.services.__dict__}, indent=2))
        return 0
    out.print(f"[bold]{topo.name}[/bold] ({topo.path}): valid")
    out.print("  " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items()))
    s = topo.settings
    out.print(f"  latency model: great-circle km × {s.path_inflation} / 200 km/ms + {s.per_hop_ms} ms "
              f"per inter-city link; {s.intra_city_ms} ms within a city; {s.lan_ms} ms LAN")
    table = Table(title="links (one-way latency, each direction)")
    for col in ("a", "b", "kind", "km", "one-way ms"):
        table.add_column(col, justify="right" if col in ("km", "one-way ms") else "left")
    for r in rows:
        table.add_row(r["a"], r["b"], r["kind"], f"{r['km']:.0f}",
                      f"{r['one_way_ms']:.3f}" + (" (set)" if r["override"] else ""))
    out.print(table)
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from ..config.bird import check_config, render_all
    from ..model.addressing import plan_addresses

    topo = _topology(args.topology)
    plan = plan_addresses(topo)
    outdir = Path(args.out)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        paths = render_all(topo, plan, outdir)
    except OSError as exc:
        raise InputError(f"cannot write into the output folder: {exc.strerror}", file=outdir,
                         key="--out", fix="choose a folder you can write to") from None
    (outdir / "addresses.json").write_text(json.dumps(
        {n.name: {"kind": n.kind, "as": n.asid, "loopback": n.loopback, "site_prefix": n.site_prefix,
                  "interfaces": {i.name: i.cidr for i in n.interfaces}} for n in plan.nodes.values()},
        indent=2) + "\n")
    if args.check:
        for p in paths.values():
            check_config(p)
    out.print(f"rendered {len(paths)} BIRD configs into {outdir}"
              + (" (each accepted by 'bird -p')" if args.check else ""))
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from ..lab.lab import Lab, require_root

    topo = _topology(args.topology)
    require_root("'anycastlab up'")
    _sigterm_as_interrupt()
    with RichProgress(err) as progress:
        lab = Lab(topo, runs_dir=Path(args.runs_dir), links=args.links, progress=progress,
                  converge_timeout=args.timeout)
        lab.start()
    try:
        _summary(lab)
        if args.cli:
            from mininet.cli import CLI

            class LabCLI(CLI):
                # node names contain '-' (tra-lon, h-c2); cmd.Cmd would cut them at it
                identchars = CLI.identchars + "-"

            from mininet.log import setLogLevel

            setLogLevel("output")  # the CLI prints command output at this level
            LabCLI(lab.net)
        elif args.hold:
            out.print(f"holding the lab up; 'anycastlab exec NODE -- CMD' from another shell; "
                      f"Ctrl-C or SIGTERM (pid {os.getpid()}) to tear down")
            while True:
                signal.pause()
    except KeyboardInterrupt:
        err.print("interrupted: tearing down")
    finally:
        lab.stop()
        out.print(f"lab torn down (run folder {lab.record.folder if lab.record else '-'})")
    return 0


def _summary(lab: Any) -> None:
    rec = lab.record
    table = Table(title=f"lab {rec.id} is up")
    table.add_column("item")
    table.add_column("value")
    table.add_row("topology", f"{lab.topo.name} ({lab.topo.path})")
    table.add_row("nodes", f"{len(lab.plan.routers())} routers, {len(lab.plan.hosts())} hosts")
    table.add_row("links", str(len(lab.topo.links)))
    table.add_row("link backend", rec.data["link_backend"])
    table.add_row("up and converged in", f"{lab.converge_seconds} s")
    table.add_row("run folder", str(rec.folder))
    out.print(table)


def cmd_exec(args: argparse.Namespace) -> int:
    from ..lab.record import find_running, same_process

    if os.geteuid() != 0:
        raise EnvironmentProblem("'anycastlab exec' needs root to enter a namespace", fix="use sudo")
    rec = find_running(Path(args.runs_dir), args.run)
    if rec is None:
        raise InputError("no running lab found" + (f" with id {args.run}" if args.run else ""),
                         fix="start one with 'anycastlab up TOPOLOGY --hold' in another shell")
    node = rec.data["nodes"].get(args.node)
    if node is None:
        raise InputError(f"unknown node '{args.node}' in lab {rec.id}", key="NODE",
                         fix=f"use one of: {', '.join(sorted(rec.data['nodes']))}")
    if not same_process(node["shell_pid"], node.get("shell_starttime")):
        raise InputError(f"node '{args.node}' is not running", fix="is the lab being torn down?")
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    cmd = cmd or ["bash"]
    if cmd[0] == "birdc" and "-s" not in cmd:
        if not (rec.folder / args.node / "bird.ctl").exists():
            raise InputError(f"'{args.node}' runs no BIRD (it is a host)", key="NODE",
                             fix="run birdc on a router, e.g. its gateway router")
        # BIRD's socket path is relative to the node's folder (see Lab._start_birds)
        os.chdir(rec.folder / args.node)
        cmd = ["birdc", "-s", "bird.ctl", *cmd[1:]]
    os.execvp("mnexec", ["mnexec", "-a", str(node["shell_pid"]), *cmd])
    return 0  # not reached


def cmd_clean(args: argparse.Namespace) -> int:
    from ..lab.record import clean_run, list_runs

    runs = list_runs(Path(args.runs_dir))
    acted = 0
    for rec in runs:
        status = rec.data.get("status")
        if status in ("cleaned", "stopped"):
            continue
        if rec.owner_alive():
            out.print(f"{rec.id}: still owned by a live process (pid {rec.data['owner_pid']}); left alone")
            continue
        if os.geteuid() != 0:
            raise EnvironmentProblem("'anycastlab clean' needs root to stop lab processes", fix="use sudo")
        done = clean_run(rec)
        acted += 1
        out.print(f"{rec.id}: cleaned" + ("".join(f"\n  {d}" for d in done) if done else " (nothing left)"))
    if not acted:
        out.print("nothing to clean")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from ..lab.record import list_runs

    table = Table(title=f"runs in {args.runs_dir}")
    for col in ("run", "status", "backend", "owner"):
        table.add_column(col)
    for rec in list_runs(Path(args.runs_dir)):
        table.add_row(rec.id, str(rec.data.get("status")), str(rec.data.get("link_backend")),
                      "alive" if rec.owner_alive() else "gone")
    out.print(table)
    return 0


def _lab_for(args: argparse.Namespace, topo_name: Optional[str]):  # type: ignore[no-untyped-def]
    """Attach to a running lab (of that topology, if given), or None."""
    from ..lab.lab import Lab
    from ..lab.record import list_runs

    for rec in reversed(list_runs(Path(args.runs_dir))):
        if args.run and rec.id != args.run:
            continue
        if rec.data.get("status") == "up" and rec.owner_alive():
            if topo_name is None or rec.data.get("topology") == topo_name:
                return Lab.attach(rec)
    return None


def cmd_catchment(args: argparse.Namespace) -> int:
    from ..lab.lab import Lab, require_root
    from ..measure import catchment

    topo = _topology(args.topology)
    require_root("'anycastlab catchment'")
    lab = _lab_for(args, topo.name)
    owned = lab is None
    if owned:
        _sigterm_as_interrupt()
        with RichProgress(err) as progress:
            lab = Lab(topo, runs_dir=Path(args.runs_dir), links=args.links, progress=progress)
            lab.start()
    else:
        err.print(f"attached to running lab {lab.record.id}")
    try:
        rows = catchment.measure(lab, include_unicast=args.unicast)
    finally:
        if owned:
            lab.stop()
    if args.json:
        print(json.dumps({"topology": topo.name, "run": lab.record.id, "clients": rows}, indent=2))
        return 0
    providers = list(lab.plan.services.provider_prefixes)
    ref_label = "lowest-RTT PoP" if args.unicast else "nearest PoP"
    table = Table(title=f"catchment on {topo.name}: the PoP whose responder answered")
    for col in ("client", "city", ref_label, "G", "G: AS path at client",
                *[f"P_{k}" for k in providers]):
        table.add_column(col)

    def cell(v: dict) -> str:
        if v["pop"] is None:
            return "[red]lost[/red]"
        return f"{v['pop']} {v['rtt_ms']:.0f}ms" if args.unicast else v["pop"]

    far = 0
    for r in rows:
        ref = catchment.reference_pop(r)
        g = r["schemes"]["global"]
        off = g["pop"] is not None and g["pop"] != ref
        far += off
        best = catchment.best_unicast(r)
        table.add_row(r["client"], r["city"], f"{ref} {best[1]:.0f}ms" if best else ref,
                      cell(g) + (" [yellow]≠[/yellow]" if off else ""),
                      " ".join(map(str, g["as_path"])),
                      *[cell(r["schemes"][k]) for k in providers])
    out.print(table)
    out.print(f"global anycast sends {far}/{len(rows)} clients to a PoP other than their "
              f"{ref_label} (≠)")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from ..measure import explain

    if os.geteuid() != 0:
        raise EnvironmentProblem("'anycastlab explain' reads the running BIRDs and needs root",
                                 fix="use sudo")
    lab = _lab_for(args, None)
    if lab is None:
        raise InputError("no running lab found",
                         fix="start one with 'anycastlab up TOPOLOGY --hold' in another shell")
    router = _client_router(lab, args.client)
    addr = _target(lab, args.prefix)
    hops = explain.walk(lab, router, addr)
    if args.json:
        print(json.dumps({"client": args.client, "target": addr, "hops": explain.as_dicts(hops)},
                         indent=2))
        return 0
    out.print(f"[bold]why {router} reaches {addr} where it does[/bold] (lab {lab.record.id})")
    for i, h in enumerate(hops, 1):
        out.print(f"\n[bold]{i}. {h.router}[/bold]  AS{h.asn} {h.as_name}, {h.city}")
        if not h.candidates:
            out.print("   [red]no route[/red]")
        for c in h.candidates:
            star = "[green]*[/green]" if c["best"] else " "
            path = " ".join(map(str, c["as_path"])) or "(originated here)"
            igp = f", IGP cost {c['igp_cost']}" if c["igp_cost"] is not None else ""
            why = "best" if c["best"] else f"loses on {c['lost_on']}"
            out.print(f"  {star} via {c['via']:<9} {c['session']:<7} AS path {path:<24} "
                      f"local-pref {c['local_pref']} ({c['learned_from']}){igp}  → {why}")
        if h.next_router:
            out.print(f"    packets go on to {h.next_router}")
        if h.pop:
            out.print(f"\n[bold green]→ answered by PoP {h.pop}[/bold green] "
                      f"({lab.topo.cities[h.pop].name})")
    return 0


def _client_router(lab, name: str) -> str:  # type: ignore[no-untyped-def]
    if name in lab.plan.nodes and lab.plan.nodes[name].kind == "router":
        return name
    asid = name[2:] if name.startswith("h-") else name
    if asid in lab.topo.ases:
        return f"{asid}-{lab.topo.ases[asid].cities[0]}"
    raise InputError(f"unknown client '{name}'", key="CLIENT",
                     fix=f"use a client AS id, e.g. {', '.join(a.id for a in lab.topo.clients()[:5])}")


def _target(lab, text: str) -> str:  # type: ignore[no-untyped-def]
    import ipaddress

    sv = lab.plan.services
    named = {"global": sv.global_prefix, "g": sv.global_prefix,
             **{k: p for k, p in sv.provider_prefixes.items()},
             **{f"unicast:{c}": p for c, p in sv.pop_prefixes.items()}}
    if text in named:
        return sv.address(named[text])
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InputError(f"'{text}' is neither an address, a prefix nor a scheme name", key="PREFIX",
                         fix=f"use an address or one of: {', '.join(named)}") from None
    return str(net.network_address + (1 if net.prefixlen < 32 else 0))


def cmd_scenario(args: argparse.Namespace) -> int:
    from ..lab.lab import require_root
    from ..measure.scenario import default_out, run_scenario
    from ..model.scenario import load_scenario
    from ..report.write import SUMMARY_HEAD_SHORT, summary_rows

    scn = load_scenario(args.scenario, args.topology, steering=args.steering, ttl=args.ttl)
    require_root("'anycastlab scenario'")
    _sigterm_as_interrupt()
    outdir = Path(args.out) if args.out else default_out(scn)
    err.print(f"scenario [bold]{scn.name}[/bold] on {scn.topology.name} → {outdir}")
    with RichProgress(err) as progress:
        data, paths = run_scenario(scn, outdir, runs_dir=Path(args.runs_dir), progress=progress)
    for phase in data["phases"]:
        table = Table(title=f"{scn.name} on {scn.topology.name}: {phase['name']} "
                            f"({len(phase['clients'])} client networks; RTT in ms)")
        for h in SUMMARY_HEAD_SHORT:
            table.add_column(h, justify="left" if h == "scheme" else "right")
        for row in summary_rows(phase, short=True, schemes=data["schemes"]):
            table.add_row(*row)
        out.print(table)
    if data.get("timeline"):
        print_events(data)
    st = data["probe_stats"]
    out.print(f"{st['probes']} probes ({st['lost']} lost) in {st['seconds']} s; "
              f"{data['timing']['total_s']} s end to end")
    d = data["dns"]
    if d["mode"] == "dns":
        r = d["resolutions"]
        out.print(f"DNS steering (TTL {d['settings']['ttl_s']} s): {r['queries']} resolutions, "
                  f"{r['failed']} failed; median reply {r['reply_ms']['median']} ms")
    else:
        out.print("IPA from the share model (no DNS)")
    out.print(f"report: {paths['md']}  (also {paths['html'].name}, report.json, samples.csv, plots)")
    return 0


def print_events(data: dict) -> None:
    """The events table of a timeline run (median / worst client)."""
    from ..report.write import EVENT_HEAD, event_rows

    table = Table(title=f"{data['scenario']}: events (seconds from each event; median / worst client)")
    keep = [0, 1, 2, 3, 6, 8, 9, 10, 11, 13]
    for i in keep:
        table.add_column(EVENT_HEAD[i], justify="left" if i in (2, 6) else "right")
    for row in event_rows(data["timeline"]):
        table.add_row(*[row[i] for i in keep])
    out.print(table)


def cmd_index(args: argparse.Namespace) -> int:
    from ..report.index import write_index

    path = write_index(Path(args.folder))
    out.print(f"index: {path}  (also index.md)")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from ..measure.scenario import reanalyse
    from ..model.settings import Steering
    from ..report.write import SUMMARY_HEAD_SHORT, summary_rows

    folder = Path(args.run)
    if not (folder / "samples.csv").is_file():
        raise InputError("no samples.csv in that folder", file=folder,
                         fix="give a folder written by 'anycastlab scenario'")
    steering = None
    if any(v is not None for v in (args.cap, args.floor, args.bias, args.window)):
        from ..model.scenario import check_steering
        from ..report.compare import load_report

        base = Steering(**load_report(str(folder))["steering"])
        s = replace(base, **{k: v for k, v in (("cap", args.cap), ("floor", args.floor),
                                               ("bias", args.bias), ("window_s", args.window))
                             if v is not None})
        steering = check_steering(s.cap, s.floor, s.bias, s.window_s)
    clients = None
    if args.clients is not None:
        from ..report.compare import load_report

        known = set(load_report(str(folder))["phases"][0]["clients"])
        clients = [c for c in args.clients.split(",") if c]
        bad = [c for c in clients if c not in known]
        if bad:
            raise InputError(f"unknown client '{bad[0]}'", key="--clients",
                             fix=f"use client AS ids of this run: {', '.join(sorted(known))}")
    data, paths = reanalyse(folder, steering, clients)
    for phase in data["phases"]:
        table = Table(title=f"{data['scenario']} on {data['topology']}: {phase['name']} "
                            "(re-analysed; RTT in ms)")
        for h in SUMMARY_HEAD_SHORT:
            table.add_column(h, justify="left" if h == "scheme" else "right")
        for row in summary_rows(phase, short=True, schemes=data["schemes"]):
            table.add_row(*row)
        out.print(table)
    if data.get("timeline"):
        print_events(data)
    out.print(f"report rewritten: {paths['md']}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from ..report.compare import compare, load_report

    res = compare(load_report(args.run_a), load_report(args.run_b))
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    table = Table(title=f"summary: A = {res['a']['report']}\n          B = {res['b']['report']}")
    for col in ("scheme", "median A", "median B", "Δ", "p90 A", "p90 B", "Δ", "off-optimal A", "B"):
        table.add_column(col, justify="left" if col == "scheme" else "right")

    def f(x: Any, pct: bool = False) -> str:
        return "–" if x is None else (f"{x:.0%}" if pct else f"{x:.1f}")

    for scheme, m in res["summary"].items():
        table.add_row(scheme, f(m["median_rtt_ms"]["a"]), f(m["median_rtt_ms"]["b"]),
                      _delta(m["median_rtt_ms"]["delta"]), f(m["p90_rtt_ms"]["a"]),
                      f(m["p90_rtt_ms"]["b"]), _delta(m["p90_rtt_ms"]["delta"]),
                      f(m["suboptimal_share"]["a"], True), f(m["suboptimal_share"]["b"], True))
    out.print(table)
    changed = {c: r for c, r in res["clients"].items() if r.get("changed") or r.get("only_in")}
    t2 = Table(title=f"client networks that changed ({len(changed)} of {len(res['clients'])})")
    for col in ("client", "global A → B", "Δ ms", "IPA A → B ms", "Δ ms"):
        t2.add_column(col)
    for c, r in changed.items():
        if r.get("only_in"):
            t2.add_row(c, f"only in {r['only_in'].upper()}", "", "", "")
            continue
        g, i = r["global"], r["ipa"]
        t2.add_row(c, f"{f(g['rtt_a'])} ({g['pop_a']}) → {f(g['rtt_b'])} ({g['pop_b']})",
                   _delta(g["delta"]), f"{f(i['rtt_a'])} → {f(i['rtt_b'])}", _delta(i["delta"]))
    out.print(t2)
    return 0


def _delta(x: Optional[float]) -> str:
    if x is None:
        return "–"
    color = "green" if x < -0.5 else "red" if x > 0.5 else "white"
    return f"[{color}]{x:+.1f}[/{color}]"


def _sigterm_as_interrupt() -> None:
    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


# -- parser -----------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="anycastlab", description="An emulated internet for "
                                "comparing global anycast with Individual Provider Anycast.")
    sub = p.add_subparsers(dest="command", required=True)

    def runs_opt(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--runs-dir", default=str(DEFAULT_RUNS_DIR),
                        help="where run folders live (default: %(default)s, or $ANYCASTLAB_RUNS)")

    sp = sub.add_parser("check", help="validate a topology (counts, link latencies) or a scenario file")
    sp.add_argument("topology", help="a file, or a name in topologies/ (e.g. tiny)")
    sp.add_argument("--json", action="store_true", help="machine-readable output")
    sp.set_defaults(func=cmd_check)

    sp = sub.add_parser("render", help="write every BIRD config of a topology (no root needed)")
    sp.add_argument("topology")
    sp.add_argument("--out", required=True, help="output folder")
    sp.add_argument("--no-check", dest="check", action="store_false",
                    help="skip 'bird -p -c' on each config")
    sp.set_defaults(func=cmd_render)

    sp = sub.add_parser("up", help="build the lab, converge, print a summary (root)")
    sp.add_argument("topology")
    mode = sp.add_mutually_exclusive_group()
    mode.add_argument("--cli", action="store_true", help="open the Mininet CLI, tear down on exit")
    mode.add_argument("--hold", action="store_true", help="stay up until Ctrl-C / SIGTERM")
    sp.add_argument("--links", default="auto", choices=["auto", "netem", "userspace"],
                    help="link delay backend (default: auto)")
    sp.add_argument("--timeout", type=float, default=120.0, help="convergence timeout, seconds")
    runs_opt(sp)
    sp.set_defaults(func=cmd_up)

    sp = sub.add_parser("exec", help="run a command inside a node of the running lab (root)",
                        description="Options (--run, --runs-dir) go before NODE; everything "
                                    "after NODE is the command.")
    sp.add_argument("node")
    sp.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD ARGS... (default: bash)")
    sp.add_argument("--run", help="run id (default: the newest running lab)")
    runs_opt(sp)
    sp.set_defaults(func=cmd_exec)

    sp = sub.add_parser("catchment", help="which PoP answers each client for G and each P_k (root)")
    sp.add_argument("topology")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--unicast", action="store_true", help="also probe every PoP's unicast prefix")
    sp.add_argument("--links", default="auto", choices=["auto", "netem", "userspace"])
    sp.add_argument("--run", help="attach to this running lab (default: a running one of this topology)")
    runs_opt(sp)
    sp.set_defaults(func=cmd_catchment)

    sp = sub.add_parser("explain", help="why a client lands where it does, hop by hop (root)")
    sp.add_argument("client", help="client AS id (e.g. c2), its router or its host")
    sp.add_argument("prefix", help="address, prefix, or 'global', a provider id, 'unicast:<pop>'")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--run", help="run id (default: the newest running lab)")
    runs_opt(sp)
    sp.set_defaults(func=cmd_explain)

    sp = sub.add_parser("scenario", help="run a scenario: lab up, probe, analyse, report (root)")
    sp.add_argument("scenario", help="a file, or a name in scenarios/ (e.g. baseline)")
    sp.add_argument("--out", help="report folder (default: results/<name>-<timestamp>/)")
    sp.add_argument("--topology", help="run the scenario on another topology (name or path)")
    sp.add_argument("--steering", choices=["dns", "model"],
                    help="dns: PowerDNS answers steer the clients; model: IPA from the share "
                         "model, no DNS (default: the scenario's steering.mode, dns)")
    sp.add_argument("--ttl", type=int, help="TTL of the steering names in seconds "
                                            "(default: the scenario's dns.ttl_s, 10)")
    runs_opt(sp)
    sp.set_defaults(func=cmd_scenario)

    sp = sub.add_parser("report", help="re-analyse a run folder from its samples (no lab, no root)")
    sp.add_argument("run", help="a folder written by 'anycastlab scenario'")
    sp.add_argument("--cap", type=float, help="IPA: share of the top provider (default: as run)")
    sp.add_argument("--floor", type=float, help="IPA: share every other provider keeps")
    sp.add_argument("--bias", type=float, help="IPA: exponent on wins for the others' split")
    sp.add_argument("--window", type=float, help="timelines: steering window in seconds")
    sp.add_argument("--clients", help="clients drawn in the time plots, comma-separated")
    sp.set_defaults(func=cmd_report)

    sp = sub.add_parser("index", help="write an index page linking every report in a folder")
    sp.add_argument("folder", help="e.g. results/scenarios (what 'make scenarios' fills)")
    sp.set_defaults(func=cmd_index)

    sp = sub.add_parser("compare", help="what changed between two reports")
    sp.add_argument("run_a", help="run folder or report.json")
    sp.add_argument("run_b", help="run folder or report.json")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_compare)

    sp = sub.add_parser("clean", help="remove what dead runs left behind, from their records")
    runs_opt(sp)
    sp.set_defaults(func=cmd_clean)

    sp = sub.add_parser("status", help="list run folders and their state")
    runs_opt(sp)
    sp.set_defaults(func=cmd_status)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except AnycastlabError as exc:
        from rich.markup import escape

        err.print(f"[bold red]error:[/bold red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
