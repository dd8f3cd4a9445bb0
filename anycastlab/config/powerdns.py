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

This module writes text only (zone, pdns.conf, named.conf). The servers
(Debian's ``pdns_server`` with the bind backend) run at every PoP's edge on
the anycast DNS address (or in the unicast DNS node), started and reloaded
by ``lab/dns.py``; each names itself by ``server-id`` (NSID).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from ..model.addressing import AddressPlan, client_host_name, provider_addresses
from ..model.settings import DNS_PORT, ZONE
from .render import render_template

ZONE_FILE = f"{ZONE}.zone"
SCALE = 1_000_000
GLOBAL_TTL = 3600  # G never changes: resolvers may keep it, as real global-anycast names let them

Shares = dict[str, dict[str, float]]  # client -> provider -> share


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


def client_subnet(plan: AddressPlan, client: str) -> str:
    return plan.nodes[client_host_name(client)].site_prefix  # type: ignore[return-value]


def render_zone(plan: AddressPlan, topology: str, shares: Shares, serial: int, ttl: int,
                ns_address: Optional[str] = None) -> str:
    """``ns_address``: the address the zone names for its server (default:
    the unicast server's; the anycast DNS address when served from the PoPs)."""
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
        "dns_address": ns_address or plan.services.dns_address,
        "global_address": plan.services.address(plan.services.global_prefix),
        "clients": clients, "default_pick": lua_pick([(1, a) for a in addrs.values()])})


def write_config(folder: Path, plan: AddressPlan, run: str, port: int = DNS_PORT,
                 address: Optional[str] = None, server_id: str = "dns") -> None:
    """pdns.conf and named.conf for a server in ``folder`` (its cwd);
    ``address``/``port`` default to the unicast DNS address, port 53;
    ``server_id`` is what the server answers to NSID (the PoP's name)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pdns.conf").write_text(render_template(
        "pdns.conf.j2", {"run": run, "address": address or plan.services.dns_address, "port": port,
                         "server_id": server_id}))
    (folder / "named.conf").write_text(render_template(
        "named.conf.j2", {"zone": ZONE, "zone_file": ZONE_FILE}))


