"""PowerDNS Authoritative: the CDN's steering names, one zone, reloaded live.

The zone ``cdn.lab`` (``templates/zone.j2``) has two names:

  global.cdn.lab   always the global anycast address G, with an hour's TTL
                   (its answer never changes, so the stream probes G directly:
                   global figures measure BGP alone);
  ipa.cdn.lab      a LUA record: per client subnet (``netmask``), a weighted
                   random pick (``pickwrandom``) among the provider addresses
                   P_k, weights = the client's IPA shares x 1,000,000 (shares
                   carry 6 decimals, so the weights are exact integers).

Clients query the server directly (no recursive resolver in the lab), so
the subnet PowerDNS sees is the client host's own. A subnet with no shares
yet (before the first measurement window) gets every provider alike.

The server (Debian's ``pdns_server`` with the bind backend) runs inside the
lab's DNS node only, with its config, zone and control socket in that
node's run folder. ``publish`` renders a new zone with the next serial,
swaps it in atomically and has the running server re-read it
(``pdns_control bind-reload-now``): no restart, no dropped query.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from ..model.addressing import AddressPlan, client_host_name
from ..errors import EnvironmentProblem, LabError
from .render import render_template

ZONE = "cdn.lab"
NAMES = {"global": f"global.{ZONE}", "ipa": f"ipa.{ZONE}"}
ZONE_FILE = f"{ZONE}.zone"
SCALE = 1_000_000
PORT = 53
GLOBAL_TTL = 3600  # G never changes: resolvers may keep it, as real global-anycast names let them

Shares = dict[str, dict[str, float]]  # client -> provider -> share


@dataclass(frozen=True)
class DnsSettings:
    """How clients meet DNS.

    ttl_s 10: the TTL of both names. Short, as CDN steering names are
    (tens of seconds), and short enough that a 30 s phase shows a reaction;
    a client keeps an answer for exactly this long.
    rest_s 20: at rest, how long clients resolve and probe their answers
    once the zone holds the measured shares (two TTLs: two or three
    answers per client).
    timeout_s 1: a query with no reply within this is a failed resolution;
    the client asks again at its next probe round.
    prefetch_s 1: a client re-asks this long before its answer expires, so
    a working server never leaves it without an answer.
    """

    ttl_s: int = 10
    rest_s: float = 20.0
    timeout_s: float = 1.0
    prefetch_s: float = 1.0


def pdns_binary() -> str:
    for tool in ("pdns_server", "pdns_control"):
        if not shutil.which(tool):
            raise EnvironmentProblem(f"PowerDNS '{tool}' is not installed",
                                     fix="run 'sudo make setup' (installs pdns-server and "
                                         "pdns-backend-bind), or run with '--steering model'")
    return shutil.which("pdns_server")  # type: ignore[return-value]


def weights(shares: dict[str, float], addresses: dict[str, str]) -> list[tuple[int, str]]:
    """(weight, address) per provider with a share above 0, in provider order."""
    out = []
    for k, addr in addresses.items():
        w = round(shares.get(k, 0.0) * SCALE)
        if w > 0:
            out.append((w, addr))
    return out


def lua_pick(ws: list[tuple[int, str]]) -> str:
    return "{" + ",".join(f"{{{w},'{a}'}}" for w, a in ws) + "}"


def provider_addresses(plan: AddressPlan) -> dict[str, str]:
    sv = plan.services
    return {k: sv.address(p) for k, p in sv.provider_prefixes.items()}


def client_subnet(plan: AddressPlan, client: str) -> str:
    return plan.nodes[client_host_name(client)].site_prefix  # type: ignore[return-value]


def render_zone(plan: AddressPlan, topology: str, shares: Shares, serial: int, ttl: int) -> str:
    addrs = provider_addresses(plan)
    clients = []
    for c in sorted(shares):
        ws = weights(shares[c], addrs)
        if ws:
            clients.append({"client": c, "subnet": client_subnet(plan, c), "pick": lua_pick(ws),
                            "shares": ", ".join(f"{k} {shares[c][k]:g}" for k in addrs
                                                if shares[c].get(k, 0) > 0)})
    return render_template("zone.j2", {
        "zone": ZONE, "topology": topology, "serial": serial, "ttl": int(ttl), "scale": SCALE,
        "global_ttl": GLOBAL_TTL,
        "dns_address": plan.services.dns_address,
        "global_address": plan.services.address(plan.services.global_prefix),
        "clients": clients, "default_pick": lua_pick([(1, a) for a in addrs.values()])})


def write_config(folder: Path, plan: AddressPlan, run: str, port: int = PORT,
                 address: Optional[str] = None) -> None:
    """pdns.conf and named.conf for a server in ``folder`` (its cwd);
    ``address``/``port`` default to the lab's DNS service address, port 53."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pdns.conf").write_text(render_template(
        "pdns.conf.j2", {"run": run, "address": address or plan.services.dns_address, "port": port}))
    (folder / "named.conf").write_text(render_template(
        "named.conf.j2", {"zone": ZONE, "zone_file": ZONE_FILE}))


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


def query_address(lab: Any, node: str, name: str, timeout: float = 1.0) -> Optional[str]:
    """One A query with ``dig`` from a node (readiness checks, ``anycastlab exec``)."""
    res = lab.exec(node, ["dig", "+short", f"+time={max(1, int(timeout))}", "+tries=1",
                          f"@{lab.plan.services.dns_address}", name, "A"], timeout=timeout + 5)
    lines = [x for x in res.stdout.split() if x and not x.startswith(";")]
    return lines[0] if res.returncode == 0 and lines else None
