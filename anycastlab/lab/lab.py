"""The Lab: the only part of anycastlab that touches the kernel.

It builds a Mininet network with no switches and no controller (one
namespace per router or host, veth links), shapes every link, starts BIRD
on every router and waits for BGP to converge. It is a context manager and
removes exactly what it created, using the run record (``lab.json``) that
it writes *before* relying on anything it starts.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from ..config import bird
from ..errors import LabError
from ..model.addressing import AddressPlan, Interface, plan_addresses
from ..model.variability import Variability
from ..model.settings import DnsSettings, Health
from ..model.topology import Topology
from .bird import Birds
from .birdc import BirdClient
from .dns import Dns, Zone, pdns_binary
from .links import LinkBackend, choose_backend, make_backend
from .nodes import (
    block_signals,
    build_links,
    build_nodes,
    configure,
    require_root,
    require_tools,
)
from .pops import Pops, SpeakerClient
from . import supervise
from .record import DEFAULT_RUNS_DIR, ProcEntry, RunRecord, clean_run, stop_process

if TYPE_CHECKING:
    from .routes import RouteReader

Progress = Callable[[str, int, int], None]


def _quiet(step: str, done: int, total: int) -> None:
    pass


class Lab:
    """A running emulated internet built from a Topology."""

    def __init__(self, topo: Topology, *, runs_dir: Path = DEFAULT_RUNS_DIR,
                 links: str = "auto", progress: Progress = _quiet,
                 converge_timeout: float = 120.0, timers: bird.Timers = bird.Timers(),
                 dns_settings: Optional[DnsSettings] = DnsSettings(), seed: int = 1,
                 variability: bool = True) -> None:
        self.topo = topo
        self.seed, self.variability = seed, variability  # of the links' queueing and loss
        self.loads: dict[str, tuple[Interface, tuple[float, float]]] = {}  # set_load's loaded lines
        self.plan: AddressPlan = plan_addresses(topo)
        self.runs_dir = runs_dir
        self.requested_backend = links
        self.progress = progress
        self.converge_timeout = converge_timeout
        self.timers = timers
        self.record: Optional[RunRecord] = None
        self.backend: Optional[LinkBackend] = None
        self.net = None
        self.mn: dict[str, object] = {}  # node name -> mininet Node
        self.pids: dict[str, int] = {}  # node name -> PID of its shell (its namespace)
        self.attached = False
        self.procs: dict[str, subprocess.Popen] = {}  # "<kind>:<node>" -> responders, ExaBGP, PowerDNS
        self.converge_seconds: Optional[float] = None
        self.expected_exits: set[int] = set()  # daemons stopped on purpose (a scenario's outage)
        self.dns_settings = dns_settings  # None: no DNS server (IPA by the share model only)
        # one service per daemon kind
        self.birds = Birds(self)
        self.pops = Pops(self, Health())
        self.dns_serving = False  # anycast DNS servers up: the routers' expected prefixes include D
        self.event_listeners: list[Callable[[str], None]] = []  # told each event's label as it is applied (live view)
        self.dns = Dns(self, dns_settings)

    # -- lifecycle ---------------------------------------------------------
    def __enter__(self) -> "Lab":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        require_root()
        require_tools()
        if self.dns_settings is not None:
            pdns_binary()
        backend = choose_backend(self.requested_backend)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.record = RunRecord.create(self.runs_dir, self.topo.name)
        self.record.data.update({"link_backend": backend, "topology_file": str(self.topo.path)})
        self.record.save()
        supervise.start(self.record)  # from here on the lab dies with this process
        t0 = time.monotonic()
        try:
            build_nodes(self)
            build_links(self)
            configure(self)
            self.backend = make_backend(backend, self)
            self.backend.seed = self.seed
            intfs = [i for n in self.plan.nodes.values() for i in n.interfaces]
            if not self.variability:
                intfs = [replace(i, vary=None) for i in intfs]
            self.record.data["variability"] = {
                "seed": self.seed, "applied": self.variability,
                "lines": sum(1 for i in intfs if i.vary is not None)}
            self.progress("shaping links", 0, 1)
            self.backend.start(intfs, self.record.folder, self.netns_pid, self.record.add_daemon)
            self.record.data.update({"link_engine": self.backend.engine,
                                     "link_scheduling": self.backend.scheduling})
            self.record.save()
            self.progress("shaping links", 1, 1)
            if self.dns_settings is not None:  # first: a server needs no BGP to answer on its own
                self.dns.start(routes=False)   # address, and a machine converging a thousand BIRDs
            self.birds.start()                 # starves it; the convergence wait includes D
            self.pops.start()
            self.wait_converged(self.converge_timeout)
            self.converge_seconds = round(time.monotonic() - t0, 2)
            self.record.data.update({"status": "up", "up_seconds": self.converge_seconds})
            self.record.save()
        except BaseException:
            self.stop()
            raise

    @classmethod
    def attach(cls, rec: RunRecord) -> "Lab":
        """A handle on a lab that another process owns (read, probe, control).

        ``stop()`` on it does nothing: only the owner tears its lab down.
        """
        from ..model.topofile import load_topology

        lab = cls(load_topology(rec.data["topology_file"]), runs_dir=rec.folder.parent)
        lab.record, lab.attached = rec, True
        lab.pids = {n: v["shell_pid"] for n, v in rec.data["nodes"].items()}
        lab.backend = make_backend(rec.data["link_backend"], lab)
        lab.backend.attach(rec.folder)
        vary = rec.data.get("variability") or {}
        lab.seed = lab.backend.seed = int(vary.get("seed", 1))
        lab.variability = bool(vary.get("applied", True))
        return lab

    def stop(self) -> None:
        """Stop daemons, end every node; the namespaces and veths go with them."""
        if self.record is None or self.attached:
            return
        blocked = block_signals()
        try:
            self._teardown()
        finally:
            if blocked:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})

    def _teardown(self) -> None:
        assert self.record is not None
        self.record.data["status"] = "stopping"
        self.record.save()
        supervise.stop(self.record)
        if self.backend is not None:
            self.backend.stop()
        clean_run(self.record)
        for node in self.mn.values():
            try:
                node.cleanup()  # type: ignore[attr-defined]
            except Exception:
                pass
        for p in [*self.birds.procs.values(), *self.procs.values()]:
            try:
                p.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
        self.record.data["status"] = "stopped"
        self.record.save()
        self.mn.clear()
        self.birds.procs.clear()
        self.procs.clear()


    def spawn(self, kind: str, node: str, cmd: list[str], env: Optional[dict] = None,
              cwd: Optional[Path] = None) -> subprocess.Popen:
        """Start a daemon inside a node, log to <cwd>/<kind>.out (cwd: the
        node's folder unless given), record it."""
        assert self.record is not None
        d = cwd or self.record.node_dir(node)
        d.mkdir(parents=True, exist_ok=True)
        with open(d / f"{kind}.out", "ab") as out:
            p = self.mn[node].popen(cmd, cwd=str(d), stdout=out,  # type: ignore[attr-defined]
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env={**os.environ, **(env or {})})
        self.procs[f"{kind}:{node}"] = p
        self.record.add_daemon(ProcEntry.of(kind, p.pid, node, cmd))
        return p

    def stop_daemon(self, kind: str, node: str) -> None:
        """Stop one daemon that ``spawn`` started (a scenario's outage), by its PID."""
        p = self.procs.pop(f"{kind}:{node}", None)
        if p is not None:
            self.expected_exits.add(p.pid)  # on purpose: not a fault (watch.py)
            stop_process(ProcEntry.of(kind, p.pid))
            p.wait(timeout=5)


    # -- services (each daemon kind in its module) ---------------------------
    @property
    def zone(self) -> Optional[Zone]:
        """The DNS zone the steering loop publishes (None without DNS)."""
        return self.dns.zone

    @property
    def health(self) -> Health:
        return self.pops.health

    def wait_converged(self, timeout: float) -> None:
        self.birds.wait_converged(timeout)

    def expected_prefixes(self, router: str) -> set[str]:
        return self.birds.expected_prefixes(router)

    def start_responder(self, pop: str) -> None:
        self.pops.start_responder(pop)

    def stop_responder(self, pop: str) -> None:
        self.pops.stop_responder(pop)

    def speaker(self, pop: str) -> SpeakerClient:
        return self.pops.speaker(pop)

    def start_dns(self) -> None:
        self.dns.start()

    def stop_dns(self) -> None:
        self.dns.stop()

    # -- access ------------------------------------------------------------
    def netns_pid(self, node: str) -> int:
        try:
            return self.pids[node]
        except KeyError:
            raise LabError(f"unknown node '{node}'",
                           fix=f"use one of: {', '.join(sorted(self.pids))}") from None

    def bird_socket(self, router: str) -> Path:
        assert self.record is not None
        return self.record.folder / router / "bird.ctl"

    def birdc(self, router: str) -> BirdClient:
        return BirdClient(self.bird_socket(router))

    def exec(self, node: str, argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
        """Run a command inside a node's namespace and wait for it."""
        try:
            return subprocess.run(["mnexec", "-a", str(self.netns_pid(node)), *argv],
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise LabError(f"command timed out after {timeout:.0f} s in {node}: "
                           f"{' '.join(argv)}") from None

    def run(self, node: str, argv: list[str], check: bool = True, timeout: float = 60) -> str:
        """Run a command inside a node's namespace; return its stdout."""
        res = self.exec(node, argv, timeout)
        if check and res.returncode != 0:
            raise LabError(f"command failed in {node} (exit {res.returncode}): "
                           f"{' '.join(argv)}: {res.stderr.strip()[:400]}")
        return res.stdout

    # -- link control (used by scenarios) ----------------------------------
    def _pair(self, a: str, b: str) -> tuple[Interface, Interface]:
        try:
            return self.plan.interface(a, b), self.plan.interface(b, a)
        except KeyError:
            raise LabError(f"no link between '{a}' and '{b}'",
                           fix="see 'anycastlab check' for the links of this topology") from None

    def set_latency(self, a: str, b: str, one_way_ms: float) -> None:
        """Set the one-way delay of the link a--b in both directions."""
        if one_way_ms < 0:
            raise LabError(f"negative latency {one_way_ms} ms", fix="use 0 or more")
        assert self.backend is not None
        for intf in self._pair(a, b):
            self.backend.set_delay(intf, one_way_ms)

    def set_variability(self, a: str, b: str, v: Optional[Variability]) -> None:
        """Give the link a--b this queueing delay and loss in both directions
        (None: what the topology says), each direction restarting its process."""
        assert self.backend is not None
        for intf in self._pair(a, b):
            want = v if v is not None else (intf.vary if self.variability else None)
            self.backend.set_variability(intf, want or Variability())

    def routes(self) -> "RouteReader":
        """Route lookups in the nodes' namespaces over netlink (lab/routes.py);
        use it in one thread, in a ``with`` block."""
        from .routes import RouteReader

        return RouteReader(self.netns_pid)

    def set_load(self, effects: dict[tuple[str, str], tuple[float, float]]) -> int:
        """Give each link direction (node, next node) the load model's queueing
        delay and loss (ms, loss); directions loaded before and absent now go
        back to none. Only lines whose figures changed are touched; returns
        how many were."""
        assert self.backend is not None
        want = {}
        for (a, b), v in effects.items():
            intf = self.plan.interface(a, b)
            want[intf.name] = (intf, v)
        for name in set(self.loads) - set(want):
            want[name] = (self.loads[name][0], (0.0, 0.0))
        changed = 0
        for name, (intf, (ms, loss)) in want.items():
            if name in self.loads and self.loads[name][1] == (ms, loss):
                continue
            self.backend.set_load(intf, ms, loss)
            changed += 1
            if ms or loss:
                self.loads[name] = (intf, (ms, loss))
            else:
                self.loads.pop(name, None)
        return changed

    def link_down(self, a: str, b: str) -> None:
        """Cut a link: both ends go down, so both routers see it at once."""
        for intf in self._pair(a, b):
            self.run(intf.node, ["ip", "link", "set", "dev", intf.name, "down"])

    def link_up(self, a: str, b: str) -> None:
        for intf in self._pair(a, b):
            self.run(intf.node, ["ip", "link", "set", "dev", intf.name, "up"])


