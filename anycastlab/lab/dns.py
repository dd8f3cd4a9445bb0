"""The CDN's authoritative DNS: PowerDNS at every PoP's edge on the anycast
DNS address (``dns.server: anycast``, the default) or one server in the
unicast DNS node. Start, stop, ready, publish a zone to every server and
reload them together (``pdns_control bind-reload-now``: no restart, no
dropped query). The text they serve comes from ``config.powerdns``."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Optional

from ..config.powerdns import ZONE_FILE, Shares, render_zone, write_config
from ..errors import EnvironmentProblem, LabError
from ..model.addressing import DNS_HOST, AddressPlan, edge_host_name
from ..model.settings import NAMES, ZONE, DnsSettings
from .base import LabBase
from .spawn import wait_until_ready

LOG_HINT_S = 3.0  # how long PowerDNS's own 'ready' log line is waited for before queries decide


def pdns_binary() -> str:
    for tool in ("pdns_server", "pdns_control"):
        if not shutil.which(tool):
            raise EnvironmentProblem(f"PowerDNS '{tool}' is not installed",
                                     fix="run 'sudo make setup' (installs pdns-server and "
                                         "pdns-backend-bind), or run with '--steering model'")
    return shutil.which("pdns_server")  # type: ignore[return-value]


def server_command() -> list[str]:
    """Run in the server's folder: every path in its config is relative."""
    return [pdns_binary(), "--config-dir=."]


def reload_server(folder: Path) -> None:
    """Have the server running in ``folder`` re-read the zone; LabError if it cannot."""
    try:
        res = subprocess.run(["pdns_control", "--config-dir=.", "--socket-dir=.",
                              "bind-reload-now", ZONE], cwd=folder, capture_output=True,
                             text=True, timeout=5)
    except subprocess.TimeoutExpired:
        raise LabError("PowerDNS did not answer its control socket within 5 s",
                       file=folder / "pdns.out") from None
    if res.returncode != 0 or "parsed into memory" not in res.stdout:
        raise LabError(f"PowerDNS did not reload {ZONE}: "
                       f"{(res.stdout + res.stderr).strip()[:300]}",
                       file=folder / "pdns.out", fix="see the server's log there")


class Zone:
    """The zone of every server (folder) and its serial; publishing a new
    version writes it to all of them and reloads them together, so the
    anycast servers differ for a few ms at most, and says how that went."""

    def __init__(self, folders: list[Path], plan: AddressPlan, topology: str, ttl: int,
                 ns_address: Optional[str] = None) -> None:
        self.folders, self.plan, self.topology, self.ttl = list(folders), plan, topology, int(ttl)
        self.ns_address = ns_address
        self.serial = 0
        self.shares: Shares = {}
        self.history: list[tuple[float, Shares]] = []  # (wall time reloaded, shares) per publication

    @property
    def folder(self) -> Path:
        """The first server's folder (where a message about the zone points)."""
        return self.folders[0]

    def write(self, shares: Shares) -> None:
        """Render the next serial and swap it in everywhere (a reader never sees half a file)."""
        self.serial += 1
        self.shares = {c: dict(v) for c, v in shares.items()}
        text = render_zone(self.plan, self.topology, self.shares, self.serial, self.ttl, self.ns_address)
        for folder in self.folders:
            tmp = folder / f".{ZONE_FILE}.tmp"
            tmp.write_text(text)
            os.replace(tmp, folder / ZONE_FILE)

    def reload(self) -> None:
        """Reload every server; raises LabError naming the first that could not."""
        errors = [e for e in self._reload_all() if e is not None]
        if errors:
            raise errors[0]

    def _reload_all(self) -> list[Optional[LabError]]:
        out: list[Optional[LabError]] = []
        for folder in self.folders:
            try:
                reload_server(folder)
                out.append(None)
            except LabError as exc:
                out.append(exc)
        return out

    def publish(self, shares: Shares) -> dict[str, Any]:
        """Write and reload; returns the log entry (times on the wall clock).
        A server that is down (a scenario stopped it, or its PoP) is
        recorded, not fatal: it reads the newest zone when it starts again.
        ``ok``: every server reloaded; ``reloaded``: how many did."""
        t = time.time()
        self.write(shares)
        entry: dict[str, Any] = {"serial": self.serial, "t_written": round(time.time(), 6)}
        errors = self._reload_all()
        failed = [(f, e) for f, e in zip(self.folders, errors) if e is not None]
        n_ok = len(self.folders) - len(failed)
        entry.update({"ok": not failed, "reloaded": n_ok, "servers": len(self.folders),
                      "t_reloaded": round(time.time(), 6) if n_ok else None})
        if failed:
            entry["error"] = "; ".join(f"{f.name if f.name != 'pdns' else f.parent.name}: {e.message}"
                                       for f, e in failed)
        entry["reload_ms"] = round((time.time() - t) * 1000, 2)
        if n_ok:
            self.history.append((entry["t_reloaded"], self.shares))
        return entry


def query_address(lab: LabBase, node: str, name: str, timeout: float = 1.0,
                  server: Optional[str] = None) -> Optional[str]:
    """One A query with ``dig`` from a node (readiness checks, ``anycastlab exec``)."""
    server = server or lab.plan.services.dns_address
    res = lab.exec(node, ["dig", "+short", f"+time={max(1, int(timeout))}", "+tries=1",
                          f"@{server}", name, "A"], timeout=timeout + 5)
    lines = [x for x in res.stdout.split() if x and not x.startswith(";")]
    return lines[0] if res.returncode == 0 and lines else None


class Dns:
    """The lab's PowerDNS servers: start (writing config and a first zone),
    stop, and the zone that the steering loop publishes.

    Anycast (the default): one server per PoP, in the PoP's edge host
    (``e-<pop>/pdns/``), listening on the DNS service address D.1 that the
    PoP's speaker announces with its other prefixes (so a PoP withdrawn by
    its health check takes its DNS with it); the zone is the same
    everywhere. Unicast: one server in the ``dns`` node."""

    def __init__(self, lab: LabBase, settings: Optional[DnsSettings]) -> None:
        self.lab, self.settings = lab, settings
        self.zone: Optional[Zone] = None

    @property
    def anycast(self) -> bool:
        return self.settings is not None and self.settings.server == "anycast"

    @property
    def address(self) -> str:
        """The address clients ask."""
        return self.lab.plan.services.dns_server(self.settings.server if self.settings else "unicast")

    def servers(self) -> dict[str, str]:
        """Node -> server id (the PoP's city, or 'dns')."""
        if self.anycast:
            return {edge_host_name(p): p for p in self.lab.topo.cdn.cities}
        return {DNS_HOST: "dns"}

    def folder(self, node: str) -> Path:
        assert self.lab.record is not None
        d = self.lab.record.node_dir(node)
        return d / "pdns" if node != DNS_HOST else d

    def start(self, nodes: Optional[list[str]] = None, routes: bool = True) -> None:
        """Start (or restart) the servers (all, or those on ``nodes``); wait
        until each answers.

        The first start writes their configs and a zone without shares
        (every client gets every provider alike until the steering loop
        publishes); a restart serves the newest zone published meanwhile.
        ``routes=False``: do not wait for D's routes here (bring-up: the
        convergence wait that follows includes D)."""
        lab = self.lab
        assert lab.record is not None and self.settings is not None
        servers = self.servers()
        initial = self.zone is None   # bring-up, not a restart after an outage
        if self.zone is None:
            for node, sid in servers.items():
                write_config(self.folder(node), lab.plan, lab.record.id, address=self.address,
                             server_id=sid)
            self.zone = Zone([self.folder(n) for n in servers], lab.plan, lab.topo.name,
                             self.settings.ttl_s, ns_address=self.address)
            self.zone.write({})
        todo = [n for n in servers if nodes is None or n in nodes]
        started = {}
        for i, node in enumerate(todo):  # start them all, then wait: they come up in parallel
            log = self.folder(node) / "pdns.out"
            mark = log.stat().st_size if log.exists() else 0
            started[node] = (lab.spawn("pdns", node, server_command(), cwd=self.folder(node)), log, mark)
        g = lab.plan.services.address(lab.plan.services.global_prefix)
        for i, (node, (p, log, mark)) in enumerate(started.items()):
            lab.progress("starting PowerDNS", i, len(started))
            # its log says when it is ready (so the first query is not sent into
            # the void, costing dig's 1 s timeout); the query then confirms it.
            # The log line is a hint only: after LOG_HINT_S the queries alone decide.
            hint = time.monotonic() + LOG_HINT_S
            while (b"ready to distribute" not in log.read_bytes()[mark:]
                   and time.monotonic() < hint and p.poll() is None):
                time.sleep(0.01)
            wait_until_ready(lambda n=node: self.answers(n, g), p, f"PowerDNS in {node}", log, timeout=60)
        lab.progress("starting PowerDNS", len(started), len(started))
        if self.anycast:  # each PoP's speaker announces D once its server answers: wait until BGP has it
            lab.dns_serving = True
            if routes:
                self.wait_routes(timeout=30.0 if initial else 10.0, strict=initial)

    def answers(self, node: str, expected: str) -> bool:
        """Does the server in ``node`` answer with ``expected``? A check that
        itself times out (a loaded machine: a thousand BIRDs converging)
        only means not yet."""
        try:
            return query_address(self.lab, node, NAMES["global"], server=self.address) == expected
        except LabError:
            return False

    def wait_routes(self, timeout: float, strict: bool) -> bool:
        """Wait until every client router has a route to D (the speakers
        announce it once their server answers). At bring-up a miss is an
        error; after an outage (``dns-up`` in a timeline, where a cut may
        keep a client from every PoP) the run goes on after ``timeout``."""
        from ..model.addressing import client_router_name
        from .birdc import BirdClient

        lab = self.lab
        routers = [client_router_name(a) for a in lab.topo.clients()]
        prefix = lab.plan.services.dns_prefix
        deadline = time.monotonic() + timeout
        while True:
            missing = []
            for r in routers:
                try:
                    text = BirdClient(lab.bird_socket(r)).command(f"show route for {self.address}")
                except LabError:
                    text = ""
                if prefix not in text:
                    missing.append(r)
            if not missing:
                return True
            if time.monotonic() > deadline:
                if strict:
                    raise LabError(f"the anycast DNS prefix {prefix} did not reach {', '.join(missing[:5])} "
                                   f"within {timeout:g} s", fix="see the PoPs' speaker.log (dns health)")
                return False
            time.sleep(0.1)

    def stop(self, nodes: Optional[list[str]] = None) -> None:
        """Stop the servers (all: the CDN's DNS goes down; or those on
        ``nodes``); clients' queries to them then fail."""
        for node in self.servers():
            if nodes is None or node in nodes:
                self.lab.stop_daemon("pdns", node)
        if nodes is None or set(nodes) >= set(self.servers()):
            self.lab.dns_serving = False  # the speakers withdraw D: no router must have it
