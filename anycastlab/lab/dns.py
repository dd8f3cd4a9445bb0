"""The CDN's PowerDNS server in the lab's DNS node: start, stop, ready,
publish a zone and reload it live (``pdns_control bind-reload-now``: no
restart, no dropped query). The text it serves comes from
``config.powerdns``."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Optional

from ..config.powerdns import ZONE_FILE, Shares, render_zone, write_config
from ..errors import EnvironmentProblem, LabError
from ..model.addressing import DNS_HOST, AddressPlan
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


class Zone:
    """The zone file of one server folder and its serial; publishing a new
    version reloads the running server and says how that went."""

    def __init__(self, folder: Path, plan: AddressPlan, topology: str, ttl: int) -> None:
        self.folder, self.plan, self.topology, self.ttl = folder, plan, topology, int(ttl)
        self.serial = 0
        self.shares: Shares = {}

    def write(self, shares: Shares) -> None:
        """Render the next serial and swap it in (a reader never sees half a file)."""
        self.serial += 1
        self.shares = {c: dict(v) for c, v in shares.items()}
        tmp = self.folder / f".{ZONE_FILE}.tmp"
        tmp.write_text(render_zone(self.plan, self.topology, self.shares, self.serial, self.ttl))
        os.replace(tmp, self.folder / ZONE_FILE)

    def reload(self) -> None:
        """Have the running server re-read the zone; raises LabError if it cannot."""
        try:
            res = subprocess.run(["pdns_control", "--config-dir=.", "--socket-dir=.",
                                  "bind-reload-now", ZONE], cwd=self.folder, capture_output=True,
                                 text=True, timeout=5)
        except subprocess.TimeoutExpired:
            raise LabError("PowerDNS did not answer its control socket within 5 s",
                           file=self.folder / "pdns.out") from None
        if res.returncode != 0 or "parsed into memory" not in res.stdout:
            raise LabError(f"PowerDNS did not reload {ZONE}: "
                           f"{(res.stdout + res.stderr).strip()[:300]}",
                           file=self.folder / "pdns.out", fix="see the server's log there")

    def publish(self, shares: Shares) -> dict[str, Any]:
        """Write and reload; returns the log entry (times on the wall clock).
        A server that is down (a scenario stopped it) is recorded, not fatal:
        it reads the newest zone when it starts again."""
        t = time.time()
        self.write(shares)
        entry: dict[str, Any] = {"serial": self.serial, "t_written": round(time.time(), 6)}
        try:
            self.reload()
            entry.update({"ok": True, "t_reloaded": round(time.time(), 6)})
        except LabError as exc:
            entry.update({"ok": False, "t_reloaded": None, "error": exc.message})
        entry["reload_ms"] = round((time.time() - t) * 1000, 2)
        return entry


def query_address(lab: LabBase, node: str, name: str, timeout: float = 1.0) -> Optional[str]:
    """One A query with ``dig`` from a node (readiness checks, ``anycastlab exec``)."""
    res = lab.exec(node, ["dig", "+short", f"+time={max(1, int(timeout))}", "+tries=1",
                          f"@{lab.plan.services.dns_address}", name, "A"], timeout=timeout + 5)
    lines = [x for x in res.stdout.split() if x and not x.startswith(";")]
    return lines[0] if res.returncode == 0 and lines else None


class Dns:
    """The lab's PowerDNS: start (writing config and a first zone), stop, and
    the zone that the steering loop publishes."""

    def __init__(self, lab: LabBase, settings: Optional[DnsSettings]) -> None:
        self.lab, self.settings = lab, settings
        self.zone: Optional[Zone] = None

    def start(self) -> None:
        """Start (or restart) PowerDNS in the DNS node; wait until it answers.

        The first start writes its config and a zone without shares (every
        client gets every provider alike until the steering loop publishes);
        a restart serves the newest zone published meanwhile."""
        lab = self.lab
        assert lab.record is not None and self.settings is not None
        d = lab.record.node_dir(DNS_HOST)
        if self.zone is None:
            write_config(d, lab.plan, lab.record.id)
            self.zone = Zone(d, lab.plan, lab.topo.name, self.settings.ttl_s)
            self.zone.write({})
        log = d / "pdns.out"
        start = log.stat().st_size if log.exists() else 0
        p = lab.spawn("pdns", DNS_HOST, server_command())
        g = lab.plan.services.address(lab.plan.services.global_prefix)
        # its log says when it is ready (so the first query is not sent into
        # the void, costing dig's 1 s timeout); the query then confirms it.
        # The log line is a hint only: after LOG_HINT_S the queries alone decide.
        hint = time.monotonic() + LOG_HINT_S
        while (b"ready to distribute" not in log.read_bytes()[start:]
               and time.monotonic() < hint and p.poll() is None):
            time.sleep(0.01)
        wait_until_ready(lambda: query_address(lab, DNS_HOST, NAMES["global"]) == g, p,
                         "PowerDNS in the DNS node", log, timeout=20)

    def stop(self) -> None:
        """Stop PowerDNS (a scenario's DNS outage); clients' queries then fail."""
        self.lab.stop_daemon("pdns", DNS_HOST)
