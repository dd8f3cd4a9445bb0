"""BIRD 2: configuration contexts, rendering and the daemon's own check.

All routing logic lives here in Python (who peers with whom, which role,
which local preference); the template only loops and prints.
"""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import EnvironmentProblem, InputError, LabError
from ..model.addressing import AddressPlan, Node, edge_host_name
from ..model.policy import POLICY, ospf_cost, return_interfaces
from ..model.topology import Topology
from .render import render_template


@dataclass(frozen=True)
class Timers:
    """Short timers so a lab converges in seconds, not minutes."""

    connect_retry: int = 2
    error_wait_max: int = 5
    hold: int = 6
    keepalive: int = 2


def proto_name(prefix: str, peer: str) -> str:
    return f"{prefix}_{peer.replace('-', '_')}"


RETURN_TABLE_BASE = 100  # kernel table of the i-th provider's return path: 100 + i
EXPORT_TO = 100  # large community (CDN ASN, EXPORT_TO, neighbour ASN): "export there"


def return_tables(topo: Topology, plan: AddressPlan, node: Node) -> list[dict[str, Any]]:
    """Per-provider return paths at a PoP border router.

    Replies sourced from P_k must leave through provider k, as a per-provider
    deployment would: an ``ip rule from P_k`` (set by the Lab) selects a table
    whose default route points at provider k's router, kept by BIRD so it
    follows the link's state.
    """
    if topo.ases[node.asid].role != "cdn" or node.kind != "router":
        return []
    out = []
    providers = list(plan.services.provider_prefixes)
    for k, intf in return_interfaces(plan, node):
        idx = providers.index(k) + 1
        out.append({"name": f"ret_{k}", "provider": k, "prefix": plan.services.provider_prefixes[k],
                    "gateway": intf.peer_ip, "kernel_table": RETURN_TABLE_BASE + idx,
                    "priority": 1000 + idx})
    return out


def speaker_session(topo: Topology, plan: AddressPlan, node: Node) -> dict[str, Any] | None:
    """The iBGP session from a PoP border router to its edge host's ExaBGP."""
    if topo.ases[node.asid].role != "cdn":
        return None
    lan = next(i for i in node.interfaces if i.peer_node == edge_host_name(node.city))
    return {"name": "speaker", "host": lan.peer_node, "local": lan.ip, "neighbor": lan.peer_ip}


def router_context(topo: Topology, plan: AddressPlan, node: Node,
                   timers: Timers = Timers()) -> dict[str, Any]:
    """Everything the template prints for one router."""
    me = topo.ases[node.asid]
    is_cdn = me.role == "cdn"
    ospf, ebgp = [], []
    for intf in node.interfaces:
        peer = plan.nodes[intf.peer_node]
        if peer.kind != "router":
            continue
        if peer.asid == node.asid:
            ospf.append({"name": intf.name, "cost": ospf_cost(intf.latency_ms),
                         "peer": peer.name, "latency_ms": intf.latency_ms})
            continue
        rel = topo.relation(node.asid, peer.asid)
        role, tag, pref = POLICY[rel]
        ebgp.append({"name": proto_name("ebgp", peer.name), "peer": peer.name,
                     "relation": rel, "local_ip": intf.ip, "neighbor_ip": intf.peer_ip,
                     "peer_asn": topo.ases[peer.asid].asn, "role": role, "tag": tag,
                     "local_pref": pref, "export_all": rel == "customer",
                     "export_tag": topo.ases[peer.asid].asn if is_cdn else None})
    ibgp = []
    for group in topo.ibgp_groups(node.asid):
        if node.name in group:
            ibgp = [{"name": proto_name("ibgp", other), "peer": other,
                     "neighbor": plan.nodes[other].loopback}
                    for other in group if other != node.name]
    return {
        "node": node.name, "asn": me.asn, "as_name": me.name,
        "city": topo.cities[node.city].name, "topology": topo.name,
        "router_id": node.loopback, "originate": [node.site_prefix],
        "ospf_interfaces": ospf if ibgp else [], "ibgp": ibgp, "ebgp": ebgp,
        "timers": timers, "speaker": speaker_session(topo, plan, node),
        "export_to": EXPORT_TO, "return_tables": return_tables(topo, plan, node),
    }


def render_router(topo: Topology, plan: AddressPlan, node: Node, fib_bgp: bool = True) -> str:
    """A router's bird.conf. ``fib_bgp=False`` keeps BGP's routes out of the
    kernel: the lab's bring-up writes them once every RIB has converged
    (lab/bird.py)."""
    return render_template("bird.conf.j2", {**router_context(topo, plan, node), "fib_bgp": fib_bgp})


def render_all(topo: Topology, plan: AddressPlan, out: Path) -> dict[str, Path]:
    """Write ``out/<router>/bird.conf`` for every router; returns the paths."""
    paths = {}
    for node in plan.routers():
        d = out / node.name
        d.mkdir(parents=True, exist_ok=True)
        p = d / "bird.conf"
        p.write_text(render_router(topo, plan, node), encoding="utf-8")
        paths[node.name] = p
    return paths


def bird_binary() -> str:
    path = shutil.which("bird") or ("/usr/sbin/bird" if Path("/usr/sbin/bird").exists() else None)
    if not path:
        raise EnvironmentProblem("the 'bird' binary (BIRD 2) is not installed",
                                 fix="run 'sudo make setup' (installs the Debian package bird2)")
    return path


def check_config(path: Path) -> None:
    """Parse a config with ``bird -p -c``; raise LabError with BIRD's message.

    BIRD runs in the config's folder (as in the lab, where its socket and
    pid file are relative), so the path it is given is absolute: a relative
    one would be resolved twice."""
    path = Path(path).resolve()
    res = subprocess.run([bird_binary(), "-p", "-c", str(path)], capture_output=True,
                         text=True, cwd=path.parent, timeout=30)
    if res.returncode != 0 and "Unable to open configuration file" in res.stderr:
        raise InputError(f"BIRD could not read the rendered config: {res.stderr.strip()}",
                         file=path, fix="check that the output folder is readable and still there")
    if res.returncode != 0:
        raise LabError(f"BIRD rejected the rendered config: {res.stderr.strip()}",
                       file=path, fix="this is a bug in anycastlab's template; please report it")
