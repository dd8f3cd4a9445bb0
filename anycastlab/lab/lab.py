"""The Lab: the only part of anycastlab that touches the kernel.

It builds a Mininet network with no switches and no controller (one
namespace per router or host, veth links), shapes every link, starts BIRD
on every router and waits for BGP to converge. It is a context manager and
removes exactly what it created, using the run record (``lab.json``) that
it writes *before* relying on anything it starts.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Optional

from ..config import bird

from ..config import powerdns

from ..config import exabgp as speaker
from ..model.addressing import DNS_HOST, AddressPlan, Interface, Node, edge_host_name, plan_addresses
from .birdc import BirdClient, bgp_sessions, route_prefixes
from ..errors import ConvergenceTimeout, EnvironmentProblem, LabError
from .links import LinkBackend, choose_backend, make_backend
from .record import DEFAULT_RUNS_DIR, ProcEntry, RunRecord, clean_run, netns_inode, proc_starttime
from ..model.topology import Topology

Progress = Callable[[str, int, int], None]


def _quiet(step: str, done: int, total: int) -> None:
    pass


def require_root(what: str = "building a lab") -> None:
    if os.geteuid() != 0:
        raise EnvironmentProblem(f"{what} needs root (network namespaces, veth, iptables)",
                                 fix="run it with sudo, e.g. 'sudo .venv/bin/anycastlab up ...'")


def require_tools() -> None:
    bird.bird_binary()
    for tool, pkg in (("mnexec", "mininet"), ("ip", "iproute2"), ("iptables", "iptables")):
        if not shutil.which(tool):
            raise EnvironmentProblem(f"'{tool}' is not installed",
                                     fix=f"run 'sudo make setup' (installs the Debian package {pkg})")


class Lab:
    """A running emulated internet built from a Topology."""

    def __init__(self, topo: Topology, *, runs_dir: Path = DEFAULT_RUNS_DIR,
                 links: str = "auto", progress: Progress = _quiet,
                 converge_timeout: float = 120.0, timers: bird.Timers = bird.Timers(),
                 dns_settings: Optional[powerdns.DnsSettings] = powerdns.DnsSettings()) -> None:
        self.topo = topo
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
        self.birds: dict[str, subprocess.Popen] = {}
        self.procs: dict[str, subprocess.Popen] = {}  # "<kind>:<node>" -> responders, ExaBGP
        self.health = speaker.Health()
        self.converge_seconds: Optional[float] = None
        self.dns_settings = dns_settings  # None: no DNS server (IPA by the share model only)
        self.zone: Optional[powerdns.Zone] = None

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
            powerdns.pdns_binary()
        backend = choose_backend(self.requested_backend)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.record = RunRecord.create(self.runs_dir, self.topo.name)
        self.record.data.update({"link_backend": backend, "topology_file": str(self.topo.path)})
        self.record.save()
        t0 = time.monotonic()
        try:
            self._build_nodes()
            self._build_links()
            self._configure()
            self.backend = make_backend(backend, self)
            intfs = [i for n in self.plan.nodes.values() for i in n.interfaces]
            self.progress("shaping links", 0, 1)
            self.backend.start(intfs, self.record.folder, self.netns_pid, self.record.add_daemon)
            self.progress("shaping links", 1, 1)
            self._start_birds()
            self._start_pops()
            self.wait_converged(self.converge_timeout)
            if self.dns_settings is not None:
                self.progress("starting PowerDNS", 0, 1)
                self.start_dns()
                self.progress("starting PowerDNS", 1, 1)
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
        from ..model.topology import load_topology

        lab = cls(load_topology(rec.data["topology_file"]), runs_dir=rec.folder.parent)
        lab.record, lab.attached = rec, True
        lab.pids = {n: v["shell_pid"] for n, v in rec.data["nodes"].items()}
        lab.backend = make_backend(rec.data["link_backend"], lab)
        lab.backend.attach(rec.folder)
        return lab

    def stop(self) -> None:
        """Stop daemons, end every node; the namespaces and veths go with them."""
        if self.record is None or self.attached:
            return
        blocked = _block_signals()
        try:
            self._teardown()
        finally:
            if blocked:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})

    def _teardown(self) -> None:
        assert self.record is not None
        self.record.data["status"] = "stopping"
        self.record.save()
        if self.backend is not None:
            self.backend.stop()
        clean_run(self.record)
        for node in self.mn.values():
            try:
                node.cleanup()  # type: ignore[attr-defined]
            except Exception:
                pass
        for p in [*self.birds.values(), *self.procs.values()]:
            try:
                p.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
        self.record.data["status"] = "stopped"
        self.record.save()
        self.mn.clear()
        self.birds.clear()
        self.procs.clear()

    # -- building ----------------------------------------------------------
    def _build_nodes(self) -> None:
        from mininet.log import setLogLevel
        from mininet.net import Mininet
        from mininet.node import Host

        setLogLevel("error")
        assert self.record is not None
        # Mininet.init() would raise the *host's* sysctl limits (fixLimits);
        # the lab must not touch the root namespace, so mark it done.
        Mininet.inited = True
        self.net = Mininet(topo=None, build=False, controller=None, autoSetMacs=False,
                           waitConnected=False)
        total = len(self.plan.nodes)
        for i, node in enumerate(self.plan.nodes.values()):
            self.progress("creating nodes", i, total)
            h = self.net.addHost(node.name, cls=Host, ip=None)  # type: ignore[union-attr]
            self.mn[node.name] = h
            self.pids[node.name] = h.pid
            a = self.topo.ases[node.asid]
            self.record.data["nodes"][node.name] = {
                "kind": node.kind, "role": a.role, "as": a.id, "asn": a.asn, "city": node.city,
                "loopback": node.loopback, "site_prefix": node.site_prefix,
                "shell_pid": h.pid, "shell_starttime": proc_starttime(h.pid),
                "netns_inode": netns_inode(h.pid),
                "interfaces": [{"name": f.name, "ip": f.cidr, "peer": f.peer_node,
                                "one_way_ms": f.latency_ms} for f in node.interfaces],
            }
            self.record.save()  # before the next node: a SIGKILL must not lose a shell
        self.progress("creating nodes", total, total)

    def _build_links(self) -> None:
        from mininet.link import Link

        pairs = [(i, self.plan.interface(i.peer_node, i.node)) for n in self.plan.nodes.values()
                 for i in n.interfaces if i.node < i.peer_node]
        for k, (ia, ib) in enumerate(pairs):
            self.progress("creating links", k, len(pairs))
            link = Link(self.mn[ia.node], self.mn[ib.node], intfName1=ia.name, intfName2=ib.name)
            for mi, pi in ((link.intf1, ia), (link.intf2, ib)):
                mi.ip, mi.prefixLen = pi.ip, pi.prefixlen  # so Mininet's CLI knows them
        self.progress("creating links", len(pairs), len(pairs))

    def _configure(self) -> None:
        total = len(self.plan.nodes)
        for i, node in enumerate(self.plan.nodes.values()):
            self.progress("configuring nodes", i, total)
            self.run(node.name, ["sh", "-ec", node_script(node, self._extra_config(node))])
        self.progress("configuring nodes", total, total)

    def _extra_config(self, node: Node) -> list[str]:
        """PoP specifics: service addresses on the edge host, return-path rules."""
        if node.kind == "host" and node.name.startswith("e-"):
            return [f"ip addr add {a}/32 dev lo" for a in speaker.service_addresses(self.plan, node.city)]
        return [f"ip rule add from {t['prefix']} lookup {t['kernel_table']} priority {t['priority']}"
                for t in bird.return_tables(self.topo, self.plan, node)]

    def _start_pops(self) -> None:
        """On every edge host: the anycast responder, then ExaBGP."""
        pops = list(self.topo.cdn.cities)
        for i, pop in enumerate(pops):
            self.progress("starting PoPs", i, len(pops))
            self.start_responder(pop)
            self._start_speaker(pop)
        self.progress("starting PoPs", len(pops), len(pops))

    def _spawn(self, kind: str, node: str, cmd: list[str], env: Optional[dict] = None) -> subprocess.Popen:
        """Start a daemon inside a node, log to <node>/<kind>.out, record it."""
        assert self.record is not None
        d = self.record.node_dir(node)
        with open(d / f"{kind}.out", "ab") as out:
            p = self.mn[node].popen(cmd, cwd=str(d), stdout=out,  # type: ignore[attr-defined]
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env={**os.environ, **(env or {})})
        self.procs[f"{kind}:{node}"] = p
        self.record.add_daemon(ProcEntry.of(kind, p.pid, node, cmd))
        return p

    def start_responder(self, pop: str) -> None:
        """Start (or restart) the UDP responder of a PoP; wait until it is bound."""
        assert self.record is not None
        host = edge_host_name(pop)
        ready = self.record.node_dir(host) / "responder.ready"
        ready.unlink(missing_ok=True)
        p = self._spawn("responder", host, [sys.executable, "-m", "anycastlab.agents.responder",
                                            "--pop", pop, "--ready", ready.name,
                                            *speaker.service_addresses(self.plan, pop)],
                        env={"PYTHONPATH": str(Path(__file__).resolve().parents[2])})
        deadline = time.monotonic() + 20
        while not ready.exists():
            if p.poll() is not None or time.monotonic() > deadline:
                raise LabError(f"the responder on {host} did not start",
                               file=ready.parent / "responder.out", fix="see that log")
            time.sleep(0.02)

    def stop_responder(self, pop: str) -> None:
        """Kill a PoP's responder (its health check will then withdraw the PoP)."""
        from .record import stop_process

        p = self.procs.pop(f"responder:{edge_host_name(pop)}", None)
        if p is not None:
            stop_process(ProcEntry.of("responder", p.pid))
            p.wait(timeout=5)

    def start_dns(self) -> None:
        """Start (or restart) PowerDNS in the DNS node; wait until it answers.

        The first start writes its config and a zone without shares (every
        client gets every provider alike until the steering loop publishes);
        a restart serves the newest zone published meanwhile."""
        assert self.record is not None and self.dns_settings is not None
        d = self.record.node_dir(DNS_HOST)
        if self.zone is None:
            powerdns.write_config(d, self.plan, self.record.id)
            self.zone = powerdns.Zone(d, self.plan, self.topo.name, self.dns_settings.ttl_s)
            self.zone.write({})
        log = d / "pdns.out"
        start = log.stat().st_size if log.exists() else 0
        p = self._spawn("pdns", DNS_HOST, powerdns.server_command())
        g = self.plan.services.address(self.plan.services.global_prefix)
        deadline = time.monotonic() + 20
        # its log says when it is ready (so the first query is not sent into
        # the void, costing dig's 1 s timeout); the query then confirms it.
        # The log line is a hint only: after 3 s the queries alone decide.
        log_wait = time.monotonic() + 3
        while (b"ready to distribute" not in log.read_bytes()[start:]
               and time.monotonic() < log_wait and p.poll() is None):
            time.sleep(0.01)
        while powerdns.query_address(self, DNS_HOST, powerdns.NAMES["global"]) != g:
            if p.poll() is not None or time.monotonic() > deadline:
                raise LabError("PowerDNS did not start answering in the DNS node",
                               file=d / "pdns.out", fix="see that log")
            time.sleep(0.05)

    def stop_dns(self) -> None:
        """Stop PowerDNS (a scenario's DNS outage); clients' queries then fail."""
        from .record import stop_process

        p = self.procs.pop(f"pdns:{DNS_HOST}", None)
        if p is not None:
            stop_process(ProcEntry.of("pdns", p.pid))
            p.wait(timeout=5)

    def _start_speaker(self, pop: str) -> None:
        assert self.record is not None
        host = edge_host_name(pop)
        conf = speaker.write_speaker_files(self.topo, self.plan, pop, self.record.node_dir(host),
                                           self.health)
        self._spawn("exabgp", host, [speaker.exabgp_binary(), conf.name], env=speaker.exabgp_env())

    def speaker(self, pop: str) -> "speaker.SpeakerClient":
        assert self.record is not None
        return speaker.SpeakerClient(self.record.folder / edge_host_name(pop) / "speaker.sock")

    def _start_birds(self) -> None:
        assert self.record is not None
        binary = bird.bird_binary()
        routers = self.plan.routers()
        for i, node in enumerate(routers):
            self.progress("starting BIRD", i, len(routers))
            d = self.record.node_dir(node.name)
            (d / "bird.conf").write_text(bird.render_router(self.topo, self.plan, node))
            # relative paths: BIRD runs in the node's folder, and a Unix socket
            # path must stay short however deep the run folder is
            cmd = [binary, "-f", "-c", "bird.conf", "-s", "bird.ctl", "-P", "bird.pid"]
            with open(d / "bird.out", "wb") as out:
                p = self.mn[node.name].popen(cmd, cwd=str(d), stdout=out,  # type: ignore[attr-defined]
                                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            self.birds[node.name] = p
            self.record.add_daemon(ProcEntry.of("bird", p.pid, node.name, cmd))
        self.progress("starting BIRD", len(routers), len(routers))

    # -- convergence -------------------------------------------------------
    def expected_prefixes(self, router: str) -> set[str]:
        """Site prefixes a router must learn: those valley-free policy lets through."""
        me = self.plan.nodes[router]
        reach = self.topo.valley_free_reach(me.asid)
        out = set()
        for n in self.plan.routers():
            if n.asid == me.asid:
                continue
            role = self.topo.ases[n.asid].role
            if role == "cdn":
                nbrs = {self.plan.nodes[i.peer_node].asid for i in n.interfaces
                        if self.plan.nodes[i.peer_node].kind == "router"} - {n.asid}
                if nbrs & (reach | {me.asid}):
                    out.add(n.site_prefix)  # type: ignore[arg-type]
            elif n.asid in reach:
                out.add(n.site_prefix)  # type: ignore[arg-type]
        if self.topo.ases[me.asid].role != "cdn":
            sv = self.plan.services
            for pop, provs in sv.pop_providers.items():
                if set(provs) & (reach | {me.asid}):
                    out |= {sv.global_prefix, sv.pop_prefixes[pop]}
            out |= {p for k, p in sv.provider_prefixes.items() if k in reach or k == me.asid}
        return out

    def wait_converged(self, timeout: float) -> None:
        """Wait until every BGP session is Established and clients see every prefix."""
        routers = [n.name for n in self.plan.routers()]
        clients = [f"{a.id}-{a.cities[0]}" for a in self.topo.clients()]
        pending_sessions = set(routers)
        pending_routes = {c: self.expected_prefixes(c) for c in clients}
        stuck: dict[str, list[str]] = {}
        deadline = time.monotonic() + timeout
        total = len(routers) + len(clients)
        while True:
            for r in sorted(pending_sessions):
                sock = self.bird_socket(r)
                if not sock.exists():
                    stuck[r] = ["BIRD not answering yet"]
                    continue
                self._check_bird_alive(r)
                try:
                    sessions = bgp_sessions(BirdClient(sock))
                except LabError:
                    stuck[r] = ["BIRD not answering yet"]
                    continue
                bad = [f"{p.name} ({p.state} {p.info})".strip() for p in sessions
                       if p.info != "Established"]
                if bad:
                    stuck[r] = bad
                else:
                    pending_sessions.discard(r)
                    stuck.pop(r, None)
            if not pending_sessions:
                for c in list(pending_routes):
                    missing = pending_routes[c] - route_prefixes(BirdClient(self.bird_socket(c)))
                    if missing:
                        pending_routes[c] = missing
                    else:
                        del pending_routes[c]
            done = total - len(pending_sessions) - len(pending_routes)
            self.progress("converging", done, total)
            if not pending_sessions and not pending_routes:
                return
            if time.monotonic() > deadline:
                lines = [f"{r}: {', '.join(v[:4])}" for r, v in sorted(stuck.items())
                         if r in pending_sessions][:12]
                lines += [f"{c}: no route yet to {', '.join(sorted(m)[:4])}"
                          for c, m in sorted(pending_routes.items())][:12]
                raise ConvergenceTimeout(
                    f"BGP did not converge within {timeout:.0f} s. Stuck:\n    "
                    + "\n    ".join(lines),
                    fix="look at the BIRD logs in the run folder "
                        f"({self.record.folder if self.record else 'runs/'}/<router>/bird.log)")
            time.sleep(0.2)

    def _check_bird_alive(self, router: str) -> None:
        p = self.birds.get(router)
        if p is not None and p.poll() is not None:
            out = self.bird_socket(router).parent / "bird.out"
            text = out.read_text(errors="replace").strip() if out.exists() else ""
            raise LabError(f"BIRD on {router} exited with code {p.returncode}: {text[-300:]}",
                           file=out, fix="see the BIRD log in that folder")

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

    def link_down(self, a: str, b: str) -> None:
        """Cut a link: both ends go down, so both routers see it at once."""
        for intf in self._pair(a, b):
            self.run(intf.node, ["ip", "link", "set", "dev", intf.name, "down"])

    def link_up(self, a: str, b: str) -> None:
        for intf in self._pair(a, b):
            self.run(intf.node, ["ip", "link", "set", "dev", intf.name, "up"])


def _block_signals() -> bool:
    """Hold Ctrl-C/SIGTERM while tearing down, so tear-down runs to the end."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return False
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    return True


def node_script(node: Node, extra: Optional[list[str]] = None) -> str:
    """Shell commands that configure a node's namespace (one exec per node)."""
    lines = [
        "sysctl -qw net.ipv4.ip_forward=%d" % (1 if node.kind == "router" else 0),
        "sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0",
        "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1",
        "ip link set lo up",
    ]
    if node.loopback:
        lines.append(f"ip addr add {node.loopback}/32 dev lo")
    for i in node.interfaces:
        lines.append(f"sysctl -qw net.ipv6.conf.{i.name}.disable_ipv6=1")
        lines.append(f"ip addr add {i.cidr} dev {i.name}")
        lines.append(f"ip link set dev {i.name} up")
    if node.gateway:
        lines.append(f"ip route add default via {node.gateway}")
    return "\n".join(lines + (extra or []))
