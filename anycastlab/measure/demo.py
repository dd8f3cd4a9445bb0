"""A narrated lesson on a running lab (``anycastlab demo``): anycast, BGP's
choice and why, the per-provider prefixes, DNS steering by real answers, a
cable cut watched live, and a report at the end.

Each step is a title, a paragraph, the commands a student can type to see it
themselves, and an action on the lab that returns the lines to show. The
command line (cli/demo.py) prints them and waits for Enter; nothing here
prints or waits, so a test runs the same steps with ``--auto``. Everything
shown is measured on the lab (probes, BIRD's routes, PowerDNS's answers):
no step prints a prepared result.
"""
from __future__ import annotations

import json
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from ..errors import InputError
from ..model import events
from ..model.addressing import client_host_name, provider_addresses
from ..model.samples import read_samples
from ..model.settings import NAMES, ProbeSettings
from . import catchment, explain

# the cable each demo cuts (the topology's own long-haul links between two cities)
CABLES = {"tiny": ("nyc", "lon"), "world": ("sin", "hkg")}
WATCH_S = 8.0   # how long the stream watches the clients after a cut or a restore

INTRO = ("Anycast: many servers (PoPs) announce the same IP prefix with BGP, and each "
         "network's routers pick one route by business policy and AS-path length, not by "
         "latency. A client reaches whichever PoP its routes lead to. Global anycast "
         "announces one prefix G from every PoP and lets BGP choose. Individual Provider "
         "Anycast gives each transit provider k its own prefix P_k, announced only to k, and "
         "lets DNS hand each client network the provider that measured best for it.")


@dataclass
class Step:
    title: str
    text: str
    commands: list[str]
    action: Callable[[], list[str]]


class Lesson:
    """The steps of the lesson on one running lab; ``out`` receives the report."""

    def __init__(self, lab: Any, out: Path, progress: Optional[Callable[[str, int, int], None]] = None) -> None:
        name = lab.topo.name
        if name not in CABLES:
            raise InputError(f"there is no demo for the topology '{name}'", key="topology",
                             fix=f"use one of: {', '.join(CABLES)}")
        self.lab, self.out, self.progress = lab, out, progress
        self.rows: list[dict[str, Any]] = []
        self.cable = CABLES[name]
        self.names = {"client": "c1", "pop": lab.topo.cdn.cities[0]}  # fills the commands shown
        self.steps = self._steps()

    def _steps(self) -> list[Step]:
        n, t = self.lab.topo.name, self.lab.topo.name
        a, b = self.cable
        return [
            Step("Anycast in one paragraph", INTRO, [], lambda: []),
            Step("Where BGP sends each client (global anycast G)",
                 "Every client probes G; the PoP that answers is where BGP sent it. '≠' marks a "
                 "client that does not reach its nearest PoP.",
                 [f"sudo .venv/bin/anycastlab up {t} --hold   (in another shell)",
                  f"sudo .venv/bin/anycastlab catchment {t}"], self.show_catchment),
            Step("Why: BGP's decision, router by router",
                 "The explain walk reads each router's BGP routes for G from BIRD and names the "
                 "step of BGP's decision that picked the best one.",
                 ["sudo .venv/bin/anycastlab explain {client} global",
                  "sudo .venv/bin/anycastlab explain {client} unicast:{pop}"], self.show_explain),
            Step("One prefix per provider (Individual Provider Anycast)",
                 "Each provider k carries its own prefix P_k from the PoPs that buy from it; the "
                 "same client can land at different PoPs through different providers.",
                 [f"sudo .venv/bin/anycastlab catchment {t} --json"], self.show_providers),
            Step("DNS steering by real answers",
                 "Probe rounds rank each network's providers (Wins Above Nominal); PowerDNS at "
                 "every PoP gets the shares and answers the IPA name by a weighted draw. Each "
                 "client asks 20 times: the answers follow the shares.",
                 [f"sudo .venv/bin/anycastlab exec h-{{client}} -- dig +nsid @{self.lab.dns.address} "
                  f"{NAMES['ipa']}"], self.show_dns),
            Step(f"Cut the cable between {a} and {b} and watch",
                 f"Every long-haul link between {a} and {b} goes down. The probe stream watches "
                 f"every client for {WATCH_S:g} s: who moves to another PoP, and how many probes "
                 "to G are lost while BGP converges.",
                 [f"sudo .venv/bin/anycastlab scenario cable-cut   (world: Singapore–Hong Kong)"],
                 self.cut),
            Step("Restore the cable", "The links come back and BGP moves the clients back.",
                 [], self.restore),
            Step("The report", "A baseline measurement on this lab, written as a report "
                 "(report.md, report.html, plots).",
                 [f"sudo .venv/bin/anycastlab scenario baseline --topology {n}"], self.report),
        ]

    # -- the actions ---------------------------------------------------------
    def show_catchment(self) -> list[str]:
        self.rows = catchment.measure(self.lab)
        lines = []
        for r in self.rows:
            g = r["schemes"]["global"]
            ref = catchment.reference_pop(r)
            mark = "" if g["pop"] == ref else f"   ≠ nearest PoP is {ref}"
            lines.append(f"{r['client']:<8} in {r['city']}: G answered by {g['pop'] or 'nobody (lost)'}"
                         f" (AS path {' '.join(map(str, g['as_path']))}){mark}")
        far = sum(1 for r in self.rows if r["schemes"]["global"]["pop"] != catchment.reference_pop(r))
        lines.append(f"{far} of {len(self.rows)} clients do not reach their nearest PoP through G.")
        return lines

    def surprising(self) -> str:
        """The client the lesson explains: the first that misses its nearest PoP (else the first)."""
        rows = self.rows or catchment.measure(self.lab)
        off = [r for r in rows if r["schemes"]["global"]["pop"] != catchment.reference_pop(r)]
        return (off or rows)[0]["client"]

    def show_explain(self) -> list[str]:
        c = self.surprising()
        row = next((r for r in self.rows if r["client"] == c), None)
        self.names = {"client": c, "pop": catchment.reference_pop(row) if row else self.names["pop"]}
        router = explain.client_router(self.lab, c)
        addr = explain.target_address(self.lab, "global")
        lines = [f"why {c} ({router}) reaches G ({addr}) where it does:"]
        for h in explain.walk(self.lab, router, addr):
            best = next((x for x in h.candidates if x["best"]), None)
            losers = [x for x in h.candidates if not x["best"]]
            if best is None:
                lines.append(f"  {h.router}: no route")
                continue
            why = "; ".join(f"via {x['via']} loses on {x['lost_on']}" for x in losers) or "the only route"
            lines.append(f"  {h.router}: best via {best['via']} (AS path "
                         f"{' '.join(map(str, best['as_path'])) or 'originated here'}); {why}")
            if h.pop:
                lines.append(f"  → answered by PoP {h.pop}")
        return lines

    def show_providers(self) -> list[str]:
        rows = self.rows or catchment.measure(self.lab)
        provs = list(self.lab.plan.services.provider_prefixes)
        sv = self.lab.plan.services
        lines = [f"P_{k} = {sv.provider_prefixes[k]}" for k in provs]
        for r in rows:
            cells = ", ".join(f"P_{k} → {r['schemes'][k]['pop'] or 'lost'}" for k in provs)
            lines.append(f"{r['client']:<8} G → {r['schemes']['global']['pop']}; {cells}")
        return lines

    def show_dns(self) -> list[str]:
        from ..analysis import baseline as analysis
        from .rounds import run_probes

        lab = self.lab
        provs = list(lab.plan.services.provider_prefixes)
        rows, _ = run_probes(lab, ProbeSettings(count=5, interval_s=0.2, timeout_s=1.0),
                             self.out / "samples-demo-ranking.csv", self.progress)
        res = analysis.analyse(lab.topo, provs, rows)["clients"]
        shares = {c: v["ipa_model"]["shares"] for c, v in res.items() if v["ipa_model"]["shares"]}
        entry = lab.zone.publish(shares)
        lines = [f"zone serial {entry['serial']} published to {entry.get('servers', 1)} server(s) "
                 f"in {entry['reload_ms']:.0f} ms"]
        by_addr = {a: k for k, a in provider_addresses(lab.plan).items()}
        for c in sorted(shares)[:8]:
            argv = [sys.executable, "-m", "anycastlab.agents.resolver", lab.dns.address, NAMES["ipa"], "20"]
            got = json.loads(lab.run(client_host_name(c), argv, timeout=120))
            mix = Counter(by_addr.get(a, "failed") for a in got["answers"])
            want = ", ".join(f"{k} {s:.0%}" for k, s in sorted(shares[c].items(), key=lambda kv: -kv[1]))
            servers = ", ".join(sorted({s for s in got["servers"] if s}))
            lines.append(f"{c:<8} shares {want}; 20 answers: "
                         f"{', '.join(f'{k} {n}' for k, n in mix.most_common())} (server at {servers})")
        return lines

    def _watch(self, kind: str) -> list[str]:
        from .stream import Stream

        lab = self.lab
        a, b = self.cable
        before = {r["client"]: r["schemes"]["global"]["pop"] for r in (self.rows or catchment.measure(lab))}
        part = self.out / f"samples-demo-{kind}.csv"
        stream = Stream(lab, part, 0.1, 1.0, max_s=WATCH_S + 30)
        try:
            ev = events.resolve({"kind": kind, "between": [a, b]}, lab.topo, list(lab.plan.services.provider_prefixes))
            if isinstance(ev, events.EventError):
                raise InputError(ev.message, key=ev.key, fix=ev.fix)
            t_ev = time.time()
            events.apply(lab, ev)
            end = t_ev + WATCH_S
            while (left := end - time.time()) > 0:  # a watch of fixed length: what the students see
                if self.progress:
                    self.progress(f"watching the clients after the {kind}", int(WATCH_S - left), int(WATCH_S))
                time.sleep(min(0.5, left))
        finally:
            stream.stop(1.0)
        rows = [r for r in read_samples(part) if r["scheme"] == "global" and r["t"] >= t_ev]
        lost: dict[str, int] = defaultdict(int)
        last: dict[str, Optional[str]] = {}
        for r in sorted(rows, key=lambda r: r["t"]):
            if r["rtt_ms"] is None:
                lost[r["client"]] += 1
            else:
                last[r["client"]] = r["pop"]
        lines = [f"{kind} {a}–{b} ({len(ev.links)} links) at t = 0; {WATCH_S:g} s watched, "
                 f"probes to G every 0.1 s per client:"]
        for c in sorted(before):
            moved = "" if last.get(c) == before[c] else f" → now {last.get(c) or 'nothing'}"
            lines.append(f"{c:<8} G was {before[c]}{moved}; {lost[c]} probes lost "
                         f"({lost[c] * 0.1:.1f} s without service)")
        self.rows = []
        return lines

    def cut(self) -> list[str]:
        return self._watch("cut")

    def restore(self) -> list[str]:
        lines = self._watch("restore")
        t = time.time()
        self.lab.wait_converged(self.lab.converge_timeout)  # every session back, every route learnt
        lines.append(f"BGP converged again {WATCH_S + time.time() - t:.1f} s after the restore; now:")
        return lines + self.show_catchment()

    def report(self) -> list[str]:
        from ..model.scenario import load_scenario
        from .scenario import run_scenario

        scn = load_scenario("baseline", self.lab.topo.name)
        _, paths = run_scenario(scn, self.out, lab=self.lab, progress=self.progress)
        return [f"report: {paths['md']}", f"        {paths['html']} (open it in a browser)"]
